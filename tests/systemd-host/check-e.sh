#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# e: a TCG guest started over D-Bus runs in a transient scope of its own in machine.slice
# (virtbus-qemu-ID-NAME.scope), so it survives a restart and a SIGKILL of virtbusd, and the
# ACPI power button then stops it cleanly: no QEMU, no scope, no tap left.
. /usr/local/lib/virtbus-test/lib.sh

NET=sh-e BRIDGE=vbteste0 DOM=vm-e
SERIAL=/run/virtbus/vbtest-$DOM.serial
BOOT_WAIT=90 # s: the guest's acpid runs after ~3-6 s under TCG; more when the machine is busy
STOP_WAIT=60 # s

cleanup() {
        cleanup_domain $DOM
        cleanup_network $NET
        rm -f "$SERIAL"
}
trap cleanup EXIT

qemu_pid() { sed -n "s/.* pid='\([0-9]*\)'.*/\1/p" "/run/virtbus/qemu/$DOM.status.xml"; }
start_time() { awk '{print $22}' "/proc/$1/stat" 2>/dev/null; }
same_process() { [ "$(start_time "$1")" = "$2" ]; }
gone() { [ ! -e "/proc/$1" ]; }
scopes() { systemctl list-units --all --no-legend --plain 'virtbus-qemu-*'; }
no_scope() { [ -z "$(scopes)" ]; }
console_has() { grep -q "$1" "$SERIAL" 2>/dev/null; }
domain_active() { [ "$(get_prop "$(obj_path DomainLookupByName s $DOM)" org.libvirt.Domain Active)" = true ]; }
restarted() { [ "$(systemctl show -P NRestarts virtbusd.service)" -gt "$1" ] && unit_is virtbusd.service active; }
listed_active() { connect_call ListDomains u 1 | grep -q "\"$dom\""; } # 1: VIR_CONNECT_LIST_DOMAINS_ACTIVE

assert_qemu_survived() { # WHAT
        ok "QEMU (pid $pid) still runs after $1" same_process "$pid" "$start"
        ok "domain $DOM is listed as active after $1" listed_active
        ok "domain $DOM is Active after $1" domain_active
}

obj_path NetworkCreateXML s "$(network_xml $NET $BRIDGE '' 10.98.0.1)" >/dev/null
dom=$(obj_path DomainCreateXML su "$(guest_xml $DOM $NET 'vb.ip=10.98.0.2/24 vb.action=wait-poweroff' "$SERIAL")" 0)
id=$(get_prop "$dom" org.libvirt.Domain Id)
pid=$(qemu_pid)
[ -n "$pid" ] || fail "no pid in /run/virtbus/qemu/$DOM.status.xml"
start=$(start_time "$pid")
ok "pid $pid is QEMU running as virtbus" \
        [ "$(cat "/proc/$pid/comm") $(uids_of "$pid")" = "qemu-system-x86 $(id -u virtbus) $(id -u virtbus) $(id -u virtbus) $(id -u virtbus)" ]
tap=$(ip -o link show master $BRIDGE | awk -F': ' '{print $2}' | cut -d@ -f1)
say "domain $DOM: id $id, QEMU pid $pid, tap ${tap:-none}"
say "QEMU's cgroup: $(cat "/proc/$pid/cgroup")"
scope="virtbus-qemu-$id-$(systemd-escape "$DOM").scope"
ok "QEMU runs in /machine.slice/$scope" grep -qxF "0::/machine.slice/$scope" "/proc/$pid/cgroup"
ok "QEMU is not in virtbusd.service" bash -c "! grep -q virtbusd.service /proc/$pid/cgroup"
ok "$scope is a transient unit in machine.slice" \
        [ "$(systemctl show -P Transient "$scope") $(systemctl show -P Slice "$scope")" = "yes machine.slice" ]
ok "the guest's tap is on $BRIDGE" [ -n "$tap" ]
machine="qemu-$id-$DOM"
uuid=$(get_prop "$dom" org.libvirt.Domain UUID)
say "machinectl: $(machinectl list --no-legend | grep "^$machine " || true)"
machine_prop() { machinectl show "$machine" -p "$1" --value; }
ok "machined knows $machine: a vm of service virtbus" [ "$(machine_prop Class) $(machine_prop Service)" = "vm virtbus" ]
ok "$machine is $scope, leader $pid" [ "$(machine_prop Unit) $(machine_prop Leader)" = "$scope $pid" ]
ok "$machine has the domain's UUID $uuid" [ "$(machine_prop Id)" = "${uuid//-/}" ]

systemctl restart virtbusd.service
assert_qemu_survived "systemctl restart virtbusd"

restarts=$(systemctl show -P NRestarts virtbusd.service)
systemctl kill -s KILL virtbusd.service
say "virtbusd killed; waiting for Restart=on-failure"
ok "systemd restarts virtbusd (Restart=on-failure)" wait_until 15 restarted "$restarts"
assert_qemu_survived "systemctl kill -s KILL virtbusd"

wait_until $BOOT_WAIT console_has '^VB-RESULT wait-poweroff waiting' ||
        fail "the guest did not reach wait-poweroff: $(cat "$SERIAL" 2>/dev/null)"
say "guest ready; Shutdown (ACPI power button)"
t=$SECONDS
dom_call "$dom" Shutdown u 0
ok "QEMU exits within $STOP_WAIT s" wait_until $STOP_WAIT gone "$pid"
say "the guest powered off after $((SECONDS - t)) s"
ok "the console shows the power button" console_has '^VB-RESULT power-button'
ok "no virtbus-qemu-* scope is left" wait_until 5 no_scope
ok "machined no longer lists $machine" wait_until 5 bash -c "! machinectl show $machine >/dev/null 2>&1"
ok "the tap $tap is gone" wait_until 5 link_gone "$tap"
ok "the transient domain $DOM is gone" bash -c "! busctl call ${CONNECT[*]} DomainLookupByName s $DOM >/dev/null 2>&1"
