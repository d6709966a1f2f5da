#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# h: virtbusd's journal entries carry the object they concern, so an administrator finds a
# network's or a domain's messages with a journal match.
#   check-h.sh names    VIRTBUS_NETWORK=NAME, VIRTBUS_DOMAIN=NAME, VIRTBUS_IFNAME=BRIDGE
#   check-h.sh uuids    VIRTBUS_NETWORK_UUID=UUID, VIRTBUS_DOMAIN_UUID=UUID
. /usr/local/lib/virtbus-test/lib.sh

MODE=${1:?usage: check-h.sh names|uuids}
case $MODE in
names) NET=sh-h BRIDGE=vbtesth0 DOM=vm-h UUID_PREFIX=7a1c3e5f-2b4d-4c6e-8f0a-1b2c3d4e5f6 ;;
uuids) NET=sh-hu BRIDGE=vbtesth1 DOM=vm-hu UUID_PREFIX=7a1c3e5f-2b4d-4c6e-8f0a-1b2c3d4e5f7 ;;
*) fail "unknown mode $MODE" ;;
esac
NET_UUID=${UUID_PREFIX}0 DOM_UUID=${UUID_PREFIX}1
FIELDS=MESSAGE,VIRTBUS_NETWORK,VIRTBUS_NETWORK_UUID,VIRTBUS_DOMAIN,VIRTBUS_DOMAIN_UUID,VIRTBUS_IFNAME
JOURNAL_WAIT=10 # s: the daemon's stdout reaches the journal asynchronously

cleanup() {
        cleanup_domain "$DOM"
        cleanup_network "$NET"
}
trap cleanup EXIT

# Entries of this boot from virtbusd matching FIELD=VALUE.
entries() { journalctl -b --no-pager -q _SYSTEMD_UNIT=virtbusd.service "$@"; }
found() { [ -n "$(entries "$@" -o cat)" ]; }
# -o verbose, shortened: "--" for each entry's header, then its fields.
fields() { sed -n -e 's/^[^ ].*/  --/p' -e 's/^ *\(MESSAGE\|VIRTBUS_[A-Z_]*\|_SYSTEMD_UNIT\)=/    &/p'; }
found_any() { [ -n "$(journalctl -b --no-pager -q "$@" -o cat)" ]; }

# assert_match FIELD=VALUE WHAT: at least one entry, shown with its VIRTBUS_* fields.
assert_match() {
        wait_until $JOURNAL_WAIT found "$1" || fail "journalctl $1 finds nothing ($2)"
        say "journalctl $1:"
        entries "$1" -o verbose --output-fields=$FIELDS | fields
        say "ok: journalctl $1 finds $2"
}

net=$(obj_path NetworkDefineXML s "$(network_xml "$NET" "$BRIDGE" "$NET_UUID")")
net_call "$net" Create
obj_path DomainDefineXML s "$(plain_domain_xml "$DOM" "$DOM_UUID")" >/dev/null
journalctl --sync 2>/dev/null || true

if [ "$MODE" = uuids ]; then
        assert_match "VIRTBUS_NETWORK_UUID=$NET_UUID" "the messages about network $NET"
        ok "those entries name the network too" found "VIRTBUS_NETWORK_UUID=$NET_UUID" "VIRTBUS_NETWORK=$NET"
        assert_match "VIRTBUS_DOMAIN_UUID=$DOM_UUID" "the messages about domain $DOM"
        ok "those entries name the domain too" found "VIRTBUS_DOMAIN_UUID=$DOM_UUID" "VIRTBUS_DOMAIN=$DOM"
        exit 0
fi

assert_match "VIRTBUS_NETWORK=$NET" "the messages about network $NET"
ok "one of them says the network started" \
        bash -c "journalctl -b -q _SYSTEMD_UNIT=virtbusd.service VIRTBUS_NETWORK=$NET -o cat | grep -i $NET | grep -qi start"
assert_match "VIRTBUS_DOMAIN=$DOM" "the messages about domain $DOM"
ok "one of them says the domain was defined" \
        bash -c "journalctl -b -q _SYSTEMD_UNIT=virtbusd.service VIRTBUS_DOMAIN=$DOM -o cat | grep -i $DOM | grep -qi defined"
# The helper names the links it works on: VIRTBUS_IFNAME= finds the bridge's creation.
wait_until $JOURNAL_WAIT found_any "VIRTBUS_IFNAME=$BRIDGE" || fail "journalctl VIRTBUS_IFNAME=$BRIDGE finds nothing"
say "journalctl VIRTBUS_IFNAME=$BRIDGE:"
journalctl -b --no-pager -q "VIRTBUS_IFNAME=$BRIDGE" -o verbose --output-fields=$FIELDS,_SYSTEMD_UNIT |
        fields
ok "one of them is the helper's BRIDGE_CREATE $BRIDGE" bash -c \
        "journalctl -b -q VIRTBUS_IFNAME=$BRIDGE _SYSTEMD_UNIT=virtbus-nethelper.service -o cat | grep -q 'BRIDGE_CREATE $BRIDGE'"
# Where virtbusd's own entries about the network carry VIRTBUS_IFNAME, it is the bridge.
ifnames=$(entries "VIRTBUS_NETWORK=$NET" -o verbose --output-fields=VIRTBUS_IFNAME |
          sed -n 's/^ *VIRTBUS_IFNAME=//p' | sort -u)
[ -z "$ifnames" ] || ok "VIRTBUS_IFNAME of network $NET's entries is $BRIDGE (got: ${ifnames//$'\n'/ })" \
        [ "$ifnames" = "$BRIDGE" ]
