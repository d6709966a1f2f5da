#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# a: the host boots cleanly with virtbus installed; virtbusd is started by the bus on the first
# call and runs as its own user without any capability.
. /usr/local/lib/virtbus-test/lib.sh

ok "the system is running" [ "$(systemctl is-system-running)" = running ]
failed=$(systemctl --failed --no-legend --plain)
[ -z "$failed" ] || fail "failed units: $failed"
say "ok: no failed unit"

ok "virtbusd.service is inactive before the first call" unit_inactive virtbusd.service
ok "virtbus-nethelper.service is inactive before the first call" unit_inactive virtbus-nethelper.service

say "calling ListNetworks as root (bus activation)"
connect_call ListNetworks u 0
ok "virtbusd.service is active after the call" unit_is virtbusd.service active

pid=$(main_pid virtbusd.service)
[ "$pid" -gt 0 ] || fail "virtbusd has no MainPID"
uid=$(id -u virtbus)
say "virtbusd: pid $pid, Uid: $(uids_of "$pid")"
caps_of "$pid"
ok "virtbusd runs as user virtbus (real, effective, saved, fs uid $uid)" \
        [ "$(uids_of "$pid")" = "$uid $uid $uid $uid" ]
for c in CapInh CapPrm CapEff CapBnd CapAmb; do
        ok "virtbusd $c is empty" cap_is "$pid" $c 0000000000000000
done
# Nothing network-related was asked: the privileged helper has no reason to run.
ok "virtbus-nethelper.service is still inactive (only its socket listens)" unit_inactive virtbus-nethelper.service
