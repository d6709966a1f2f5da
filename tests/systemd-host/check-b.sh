#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# b: virtbus-nethelper is socket-activated, keeps CAP_NET_ADMIN only, exits when idle, and its
# DeviceAllow= list is what lets it create taps: without /dev/net/tun a guest cannot start.
. /usr/local/lib/virtbus-test/lib.sh

NET=sh-b BRIDGE=vbtestb0 DOM=vm-b
HELPER=virtbus-nethelper.service
DROPIN_DIR=/run/systemd/system/$HELPER.d
DROPIN=$DROPIN_DIR/50-test-no-tun.conf
IDLE_WAIT=45 # s: the helper's default idle timeout is 30 s

cleanup() {
        rm -f "$DROPIN"
        rmdir "$DROPIN_DIR" 2>/dev/null || true
        systemctl daemon-reload
        cleanup_domain "$DOM"
        cleanup_network "$NET"
}
trap cleanup EXIT

# Waits for the helper to exit by itself; prints how long that took.
wait_helper_idle() {
        local start=$SECONDS
        wait_until $IDLE_WAIT unit_inactive $HELPER || fail "$HELPER still $(unit_state $HELPER) after ${IDLE_WAIT} s"
        say "ok: $HELPER exited when idle (after $((SECONDS - start)) s of waiting)"
}

# The installed unit's DeviceAllow= lines without /dev/net/tun, after a reset.
write_dropin_without_tun() {
        mkdir -p "$DROPIN_DIR"
        {
                echo "# systemd-host test: the helper's device list without /dev/net/tun"
                echo "[Service]"
                echo "DeviceAllow="
                systemctl cat $HELPER | grep '^DeviceAllow=' | grep -v '/dev/net/tun'
        } >"$DROPIN"
        cat "$DROPIN"
        systemctl daemon-reload
}

ok "virtbus-nethelper.socket is listening" unit_is virtbus-nethelper.socket active
ok "/run/virtbus/nethelper.sock is a socket" [ -S /run/virtbus/nethelper.sock ]
say "listening: $(systemctl show -P Listen virtbus-nethelper.socket)"
# check-a.sh asserted that neither the first call nor virtbusd's start started the helper.
ok "$HELPER is inactive" unit_inactive $HELPER

say "starting network $NET (bridge $BRIDGE): the helper creates the bridge"
net=$(obj_path NetworkCreateXML s "$(network_xml $NET $BRIDGE)")
ok "the bridge $BRIDGE exists" is_bridge $BRIDGE
ok "$HELPER was socket-activated" unit_is $HELPER active
pid=$(main_pid $HELPER)
say "$HELPER: pid $pid"
caps_of "$pid"
for c in CapEff CapPrm CapBnd; do
        ok "helper $c is CAP_NET_ADMIN only (0x1000)" cap_is "$pid" $c 0000000000001000
done
ok "helper CapAmb is empty" cap_is "$pid" CapAmb 0000000000000000
wait_helper_idle

say "DeviceAllow= without /dev/net/tun, as a drop-in in $DROPIN_DIR"
write_dropin_without_tun
ok "$HELPER's DeviceAllow= has no /dev/net/tun" \
        bash -c "! systemctl show -p DeviceAllow $HELPER | grep -q /dev/net/tun"
ok "$HELPER is not running (the next start uses the drop-in)" unit_inactive $HELPER
dom=$(obj_path DomainDefineXML s "$(guest_xml $DOM $NET 'vb.action=wait-poweroff')")
if err=$(dom_call "$dom" Create u 0 2>&1); then
        fail "domain $DOM started although the helper may not open /dev/net/tun"
fi
say "Create failed as expected: $err"
# The helper opens /dev/net/tun to create the tap; the message names the tap and the device.
ok "the error names the tap and /dev/net/tun" grep -Eq 'tap .*/dev/net/tun' <<<"$err"
ok "the error says the operation was not permitted" grep -Eqi 'not permitted|permission denied|EPERM' <<<"$err"
ok "domain $DOM is not active" [ "$(get_prop "$dom" org.libvirt.Domain Active)" = false ]

say "removing the drop-in; restarting the helper with the installed unit"
rm -f "$DROPIN"
systemctl daemon-reload
systemctl stop $HELPER
ok "$HELPER's DeviceAllow= has /dev/net/tun again" \
        bash -c "systemctl show -p DeviceAllow $HELPER | grep -q /dev/net/tun"
dom_call "$dom" Create u 0
ok "domain $DOM is active" [ "$(get_prop "$dom" org.libvirt.Domain Active)" = true ]
dom_call "$dom" Destroy u 0
ok "domain $DOM is inactive after Destroy" [ "$(get_prop "$dom" org.libvirt.Domain Active)" = false ]
dom_call "$dom" Undefine u 0
net_call "$net" Destroy
ok "the bridge $BRIDGE is gone" link_gone $BRIDGE
