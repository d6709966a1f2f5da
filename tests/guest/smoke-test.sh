#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Smoke test of the e2e test guest, without virtbus: boots it directly with
# qemu-system-x86_64 (TCG) inside a private network, mount and PID namespace
# (the host's network is never touched; every QEMU dies with the namespace).
#
#   tests/guest/smoke-test.sh [GUEST_DIR]     (root; GUEST_DIR is built if needed)
#
# Proves: link up + ping through a tap on a bridge, print-net, MTU 9000 with an
# unfragmented 8972-byte ping (and that a fragmented one is detected), MTU from
# virtio host_mtu, VLAN tagging between two guests (tags seen on the wire),
# multicast between two guests, UDP/TCP guest→host and UDP host→guest with vbnet,
# the ACPI power button (QMP system_powerdown) powering the guest off, and both
# kernels (vmlinux and the stock vmlinuz) booting. Prints the boot times.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
gdir=${1:-${VB_GUEST_DIR:-/tmp/virtbus-test-guest}}

if [ "${VB_SMOKE_INNER:-}" != 1 ]; then
        [ "$(id -u)" = 0 ] || { echo "smoke-test: must run as root (namespaces, taps)" >&2; exit 1; }
        "$here/build-guest.sh" "$gdir"
        gdir=$(cd "$gdir" && pwd)
        exec unshare --net --mount --pid --fork --mount-proc -- env VB_SMOKE_INNER=1 "$0" "$gdir"
fi

mount --make-rprivate /
mount -t sysfs sysfs /sys       # this namespace's devices, not the host's
work=$(mktemp -d /tmp/vb-smoke.XXXXXX)
fails=0
keep=${VB_SMOKE_KEEP:-}
cleanup() {
        if [ $fails != 0 ] || [ -n "$keep" ]; then
                echo "smoke-test: logs kept in $work" >&2
        else
                rm -rf "$work"
        fi
}
trap cleanup EXIT

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
pass() { echo "PASS  $*"; }
fail() { echo "FAIL  $*"; fails=$((fails + 1)); }
check() { # DESCRIPTION GUEST ERE: the guest's console log has a line matching ERE (CRs dropped)
        if tr -d '\r' <"$work/$2.log" | grep -qE "$3"; then pass "$1"; else fail "$1 (no /$3/ in $2.log)"; fi
}

declare -A qpid qstart
# start_guest NAME KERNEL CMDLINE QEMU-NET-ARGS...
start_guest() {
        local name=$1 kernel=$2 cmdline=$3
        shift 3
        qstart[$name]=$(now)
        qemu-system-x86_64 -accel tcg -nodefaults -no-reboot -display none -m 256 \
                -kernel "$kernel" -initrd "$gdir/initrd.img" \
                -append "console=ttyS0 quiet $cmdline" \
                -serial "file:$work/$name.log" \
                -qmp "unix:$work/$name.qmp,server=on,wait=off" \
                "$@" >"$work/$name.qemu.log" 2>&1 &
        qpid[$name]=$!
}
# tap_nic INDEX TAP MAC [DEVICE-OPTIONS]: QEMU args for a virtio NIC on a tap
tap_nic() {
        echo "-netdev tap,id=n$1,ifname=$2,script=no,downscript=no"
        echo "-device virtio-net-pci,netdev=n$1,mac=$3${4:+,$4}"
}
# wait_log NAME ERE TIMEOUT: waits for a console line; sets $found_at (s since start)
wait_log() {
        local deadline=$(($(date +%s) + $3))
        while ! grep -qE "$2" "$work/$1.log" 2>/dev/null; do
                if [ "$(date +%s)" -ge $deadline ] || ! kill -0 "${qpid[$1]}" 2>/dev/null; then
                        grep -qE "$2" "$work/$1.log" 2>/dev/null && break
                        found_at=
                        return 1
                fi
                sleep 0.05
        done
        found_at=$(since "${qstart[$1]}")
}
# wait_exit NAME TIMEOUT: waits for QEMU to exit; sets $exit_code ("timeout" if it did not)
wait_exit() {
        local deadline=$(($(date +%s) + $2))
        while kill -0 "${qpid[$1]}" 2>/dev/null; do
                if [ "$(date +%s)" -ge $deadline ]; then
                        exit_code=timeout
                        return 1
                fi
                sleep 0.05
        done
        exit_code=0
        wait "${qpid[$1]}" || exit_code=$?
}
expect_exit0() {
        if [ "$exit_code" = 0 ]; then
                pass "$1 powered off, QEMU exited 0"
        else
                fail "$1 QEMU exit: $exit_code"
        fi
}
qmp() { # NAME COMMAND
        /usr/bin/python3 - "$work/$1.qmp" "$2" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.readline()
for cmd in ("qmp_capabilities", sys.argv[2]):
    f.write(json.dumps({"execute": cmd}) + "\n")
    f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r:
            break
        if "error" in r:
            sys.exit("QMP %s: %s" % (cmd, r["error"]))
EOF
}

# Host side: br0 (MTU 1500) 10.0.0.1/24, br9 (MTU 9000) 10.0.9.1/24.
ip link set lo up
ip link add br0 type bridge forward_delay 0
ip link add br9 type bridge forward_delay 0
ip link set br9 mtu 9000
ip addr add 10.0.0.1/24 dev br0
ip addr add 10.0.9.1/24 dev br9
for t in tap0:br0 tap1:br9 tap2:br0 tap3:br9 tap4:br0; do
        ip tuntap add "${t%%:*}" mode tap
        [ "${t#*:}" = br9 ] && ip link set "${t%%:*}" mtu 9000
        ip link set "${t%%:*}" master "${t#*:}" up
done
ip link set br0 up
ip link set br9 up

# Host receivers for the guests' UDP/TCP senders.
"$gdir/vbnet" udp-recv 5001 120 >"$work/host-udp-recv.log" &
"$gdir/vbnet" tcp-recv 5002 120 >"$work/host-tcp-recv.log" &

# Counts frames with an 802.1Q tag (VID 100) that the guest g3 sends into tap3.
# The kernel moves the tag into packet metadata: read it from PACKET_AUXDATA.
cat >"$work/vlan-sniff.py" <<'EOF'
import socket, struct, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind((sys.argv[1], 0))
s.setsockopt(263, 8, 1)  # SOL_PACKET, PACKET_AUXDATA
s.settimeout(0.5)
tagged, end = {}, time.time() + float(sys.argv[2])
while time.time() < end:
    try:
        data, anc, _, addr = s.recvmsg(65536, 4096)
    except socket.timeout:
        continue
    if addr[2] == socket.PACKET_OUTGOING:
        continue
    for level, kind, val in anc:
        if level == 263 and kind == 8:
            status, _, _, _, _, tci, tpid = struct.unpack("IIIHHHH", val[:20])
            if status & 0x10:  # TP_STATUS_VLAN_VALID
                tagged[tci & 0xfff] = tagged.get(tci & 0xfff, 0) + 1
print("tagged-frames " + " ".join("vid%d=%d" % kv for kv in sorted(tagged.items())))
EOF

vmlinux=$gdir/vmlinux
vmlinuz=$gdir/vmlinuz

echo "== g1: eth0 on br0, print-net + ping (vmlinux) | g2: MTU 9000 + VLANs + 2 NICs"
start_guest g1 "$vmlinux" "vb.ip=10.0.0.2/24 vb.action=print-net,ping:10.0.0.1" \
        $(tap_nic 0 tap0 52:54:00:00:00:02)
start_guest g2 "$vmlinux" "vb.mtu=9000 vb.ip=10.0.9.2/24 vb.vlan=100:10.0.100.2/24 vb.ip1=10.0.0.3/24 \
vb.action=print-net,ping-df:10.0.9.1:8972,ping-df:10.0.0.1:8972,mcast-recv:239.1.2.3:5000:60,\
udp-recv:5003:60,wait-poweroff" \
        $(tap_nic 0 tap1 52:54:00:00:09:02) $(tap_nic 1 tap2 52:54:00:00:00:03)

if wait_log g1 '^VB-DONE' 90; then
        g1_done=$found_at
        pass "g1 reached VB-DONE ${g1_done}s after QEMU started (vmlinux, ping action)"
else
        fail "g1 did not reach VB-DONE"
fi
wait_exit g1 20 || true
expect_exit0 g1
check "g1 ping 10.0.0.1 ok" g1 '^VB-RESULT ping ok 10\.0\.0\.1 received=3/3'
check "g1 print-net: eth0 MAC, MTU 1500, link up, virtio_net" g1 \
        '^VB-RESULT net eth0 mac=52:54:00:00:00:02 mtu=1500 operstate=up carrier=1 driver=virtio_net'
check "g1 print-net: address on eth0" g1 '^VB-RESULT ip-addr eth0 10\.0\.0\.2/24'

echo "== g3: VLAN partner of g2 (MTU 9000 from host_mtu), multicast, UDP/TCP to the host"
if wait_log g2 '^VB-RESULT mcast-recv listening' 90; then
        pass "g2 ready and listening to 239.1.2.3:5000 after ${found_at}s"
else
        fail "g2 never listened to the multicast group"
fi
/usr/bin/python3 "$work/vlan-sniff.py" tap3 25 >"$work/vlan-sniff.log" 2>&1 &
sniff=$!
start_guest g3 "$vmlinux" "vb.ip=10.0.9.3/24 vb.vlan=100:10.0.100.3/24 \
vb.action=print-net,ping:10.0.100.2,mcast-send:239.1.2.3:5000:2,udp-send:10.0.9.1:5001:2,\
tcp-send:10.0.9.1:5002:2" \
        $(tap_nic 0 tap3 52:54:00:00:09:03 host_mtu=9000)
wait_log g3 '^VB-DONE' 120 || fail "g3 did not reach VB-DONE"
wait_exit g3 20 || true
expect_exit0 g3

check "g2 print-net: eth0 MTU 9000 (vb.mtu)" g2 \
        '^VB-RESULT net eth0 mac=52:54:00:00:09:02 mtu=9000 operstate=up'
check "g2 print-net: eth1 is the second NIC" g2 \
        '^VB-RESULT net eth1 mac=52:54:00:00:00:03 mtu=1500 operstate=up'
check "g2 print-net: VLAN device eth0.100 up" g2 \
        '^VB-RESULT net eth0\.100 mac=52:54:00:00:09:02 mtu=9000 operstate=up'
check "g2 print-net: addresses (eth0, eth0.100, eth1)" g2 '^VB-RESULT ip-addr eth0\.100 10\.0\.100\.2/24'
check "g2 ping-df 8972 bytes over MTU 9000: ok, nothing fragmented" g2 \
        '^VB-RESULT ping-df ok 10\.0\.9\.1 received=3/3 size=8972 fragcreates=0 fragfails=0 reasmreqds=0'
check "g2 ping-df 8972 bytes over MTU 1500: fail, fragmentation detected" g2 \
        '^VB-RESULT ping-df fail 10\.0\.0\.1 received=3/3 size=8972 fragcreates=[1-9]'
check "g3 print-net: MTU 9000 from virtio host_mtu" g3 \
        '^VB-RESULT net eth0 mac=52:54:00:00:09:03 mtu=9000 operstate=up'
check "g3 ping over VLAN 100 to g2 ok" g3 '^VB-RESULT ping ok 10\.0\.100\.2 received=3/3'
check "g3 mcast-send ok" g3 '^VB-RESULT mcast-send ok'
check "g2 mcast-recv got the group's datagrams" g2 '^VB-RESULT mcast-recv ok bytes=[0-9]+ packets=[1-9]'
check "g3 udp-send to host ok" g3 '^VB-RESULT udp-send ok'
check "g3 tcp-send to host ok" g3 '^VB-RESULT tcp-send ok'
wait "$sniff" || true
if grep -qE 'vid100=[1-9]' "$work/vlan-sniff.log"; then
        pass "frames from g3 carried 802.1Q VID 100 on tap3 ($(cat "$work/vlan-sniff.log"))"
else
        fail "no VID 100 frames seen on tap3: $(cat "$work/vlan-sniff.log")"
fi

echo "== host → g2 UDP, then ACPI power button (QMP system_powerdown) on g2"
if wait_log g2 '^VB-RESULT udp-recv listening' 30; then
        "$gdir/vbnet" udp-send 10.0.0.3 5003 2 >"$work/host-udp-send.log"
        wait_log g2 '^VB-RESULT udp-recv (ok|fail)' 30 || true
fi
check "g2 udp-recv from host ok" g2 '^VB-RESULT udp-recv ok bytes=[0-9]+ packets=[1-9]'
if wait_log g2 '^VB-RESULT wait-poweroff waiting' 30; then
        t=$(now)
        qmp g2 system_powerdown
        if wait_exit g2 20; then
                pass "g2 powered off $(since "$t")s after system_powerdown (QEMU exit $exit_code)"
        else
                fail "g2 still running 20 s after system_powerdown"
        fi
        check "g2 saw the power button" g2 '^VB-RESULT power-button'
else
        fail "g2 never reached wait-poweroff"
fi

for f in udp tcp; do
        line=$(grep -E "^VB-RESULT $f-recv (ok|fail)" "$work/host-$f-recv.log" 2>/dev/null || true)
        case $line in
        *" ok "*) pass "host $f-recv from g3: ${line#VB-RESULT }" ;;
        *) fail "host $f-recv: ${line:-no result yet}" ;;
        esac
done

echo "== g4: the stock vmlinuz (bzImage); gateway, ping count/size, sleep, paced UDP, TCP host → guest"
"$gdir/vbnet" udp-recv 5004 120 >"$work/host-udp-recv-paced.log" &
start_guest g4 "$vmlinuz" "vb.ip=10.0.0.4/24 vb.gw=10.0.0.1 \
vb.action=ping:10.0.0.1:2:1000,print-net,sleep:1,udp-send:10.0.0.1:5004:3:500,tcp-recv:5005:60" \
        $(tap_nic 0 tap4 52:54:00:00:00:04)
if wait_log g4 '^VB-RESULT ping ' 120; then
        pass "g4 (vmlinuz) reported its ping ${found_at}s after QEMU started"
else
        fail "g4 did not ping"
fi
check "g4 ping 10.0.0.1 ok, 2 packets of 1000 bytes" g4 \
        '^VB-RESULT ping ok 10\.0\.0\.1 received=2/2 size=1000$'
if wait_log g4 '^VB-RESULT tcp-recv listening' 60; then
        "$gdir/vbnet" tcp-send 10.0.0.4 5005 2 >"$work/host-tcp-send.log"
fi
wait_log g4 '^VB-DONE' 60 || fail "g4 did not reach VB-DONE"
wait_exit g4 20 || true
expect_exit0 g4
check "g4 print-net: default route via vb.gw" g4 '^VB-RESULT route default via 10\.0\.0\.1 dev eth0'
check "g4 sleep" g4 '^VB-RESULT sleep done 1$'
check "g4 udp-send paced at 500 KiB/s" g4 \
        '^VB-RESULT udp-send ok bytes=[0-9]+ packets=[0-9]+ seconds=[0-9.]+ kibps=(4[5-9][0-9]|5[0-4][0-9])\.'
line=$(grep -E '^VB-RESULT udp-recv (ok|fail)' "$work/host-udp-recv-paced.log" 2>/dev/null || true)
rate=$(echo "$line" | sed -n 's/.* kibps=\([0-9]*\).*/\1/p')
if [ -n "$rate" ] && [ "$rate" -ge 400 ] && [ "$rate" -le 600 ]; then
        pass "host received g4's paced UDP at ${rate} KiB/s (400-600 expected)"
else
        fail "host udp-recv of the paced stream: ${line:-nothing}"
fi
check "g4 tcp-recv from host" g4 '^VB-RESULT tcp-recv ok bytes=[1-9]'

for g in g1 g2 g3 g4; do
        if grep -qE '^VB-RESULT (modules|net) fail' "$work/$g.log"; then
                fail "$g: $(grep -E '^VB-RESULT (modules|net) fail' "$work/$g.log")"
        fi
done
echo "== $( [ $fails = 0 ] && echo "all passed" || echo "$fails FAILED")"
if [ $fails != 0 ]; then
        for g in g1 g2 g3 g4; do
                echo "--- $g.log"
                cat "$work/$g.log" 2>/dev/null || true
                cat "$work/$g.qemu.log" 2>/dev/null || true
        done
        exit 1
fi
