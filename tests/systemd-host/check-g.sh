#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# g: with no client and no running guest virtbusd exits when idle, and the next call brings it
# back with every persistent object intact. The idle timeout is shortened for the test.
. /usr/local/lib/virtbus-test/lib.sh

NET=sh-g BRIDGE=vbtestg0 DOM=vm-g
NET_UUID=5e0a4b1e-7c59-4f3a-9d2e-6b1f0c8a7d01 DOM_UUID=5e0a4b1e-7c59-4f3a-9d2e-6b1f0c8a7d02
UNIT=virtbusd.service
DROPIN_DIR=/run/systemd/system/$UNIT.d
DROPIN=$DROPIN_DIR/50-test-idle.conf
IDLE=5        # s, for the test
EXIT_WAIT=20  # s

cleanup() {
        cleanup_domain $DOM
        cleanup_network $NET
        rm -f "$DROPIN"
        rmdir "$DROPIN_DIR" 2>/dev/null || true
        systemctl daemon-reload
        # the running daemon still has the short timeout: the next call starts the real one
        systemctl stop $UNIT
}
trap cleanup EXIT

# The installed ExecStart= with --idle-timeout=$IDLE instead of the unit's value.
write_dropin() {
        local exec
        exec=$(systemctl cat $UNIT | sed -n 's/^ExecStart=//p' | tail -n1)
        [ -n "$exec" ] || fail "no ExecStart= in $UNIT"
        exec=$(sed -E "s/ *--idle-timeout=[0-9]+//" <<<"$exec")
        mkdir -p "$DROPIN_DIR"
        printf '# systemd-host test: a shorter idle timeout\n[Service]\nExecStart=\nExecStart=%s --idle-timeout=%s\n' \
                "$exec" $IDLE >"$DROPIN"
        cat "$DROPIN"
        systemctl daemon-reload
}

# One line per object: what must survive the idle exit.
snapshot() {
        local n d
        n=$(obj_path NetworkLookupByName s $NET) && d=$(obj_path DomainLookupByName s $DOM) || return 1
        printf '%s uuid=%s active=%s autostart=%s persistent=%s\n' "$n" \
                "$(get_prop "$n" org.libvirt.Network UUID)" "$(get_prop "$n" org.libvirt.Network Active)" \
                "$(get_prop "$n" org.libvirt.Network Autostart)" "$(get_prop "$n" org.libvirt.Network Persistent)"
        printf '%s uuid=%s active=%s persistent=%s\n' "$d" \
                "$(get_prop "$d" org.libvirt.Domain UUID)" "$(get_prop "$d" org.libvirt.Domain Active)" \
                "$(get_prop "$d" org.libvirt.Domain Persistent)"
}

say "TEST SHORTENING: virtbusd's idle timeout is ${IDLE} s here (the installed unit says 120 s)"
write_dropin
systemctl stop $UNIT # a running daemon keeps its old timeout

net=$(obj_path NetworkDefineXML s "$(network_xml $NET $BRIDGE $NET_UUID)")
net_call "$net" Create
set_prop "$net" org.libvirt.Network Autostart b true
obj_path DomainDefineXML s "$(plain_domain_xml $DOM $DOM_UUID)" >/dev/null
before=$(snapshot)
printf '%s\n' "$before"
ok "the snapshot has both UUIDs" bash -c "grep -q uuid=$NET_UUID <<<'$before' && grep -q uuid=$DOM_UUID <<<'$before'"
ifindex=$(ifindex_of $BRIDGE)
ok "virtbusd is active after the calls" unit_is $UNIT active
pid=$(main_pid $UNIT)
ok "virtbusd runs with --idle-timeout=$IDLE" grep -q -- "--idle-timeout=$IDLE" "/proc/$pid/cmdline"

t=$SECONDS
ok "virtbusd exits within $EXIT_WAIT s without clients" wait_until $EXIT_WAIT unit_inactive $UNIT
say "virtbusd exited $((SECONDS - t)) s after the last call (result: $(systemctl show -P Result $UNIT))"
ok "it exited cleanly (Result=success)" [ "$(systemctl show -P Result $UNIT)" = success ]

after=$(snapshot)
ok "virtbusd was activated again by the call" unit_is $UNIT active
printf '%s\n' "$after"
ok "names, UUIDs, autostart and the active network are intact" [ "$after" = "$before" ]
ok "the bridge $BRIDGE was kept (ifindex $ifindex)" [ "$(ifindex_of $BRIDGE)" = "$ifindex" ]
