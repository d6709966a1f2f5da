#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# The systemd-host suite: virtbus installed as README.md's "Installing on a systemd host" says,
# on a Debian 12 system booted with systemd-nspawn, checked with real units, bus and socket
# activation, polkit, DeviceAllow=, transient scopes and systemd-analyze security. TAP output.
# How and why the container is run this way: ../shared/design/systemd-host-testing.md.
#
#   tests/systemd-host/run.sh SOURCE_ROOT BUILD_ROOT      (as root)
#
# For working on the checks: SYSTEMD_HOST_CHECKS="a e" runs only those (the others are reported
# as skipped); SYSTEMD_HOST_HOLD=1 keeps the container until a file named in the output is removed.
#
# Cached in BUILD_ROOT/systemd-host/: rootfs-HASH (mmdebstrap minbase plus ./packages; HASH is
# that file's), build (meson, --prefix=/usr). Each run boots an overlay of the rootfs in
# run.XXXXXX (upper, work, merged) and removes it at exit, with the container, its mounts and
# cgroups. Not --volatile=overlay: that discards the writes at every container exit, and check c
# needs them across a reboot.
set -euo pipefail

[ $# -eq 2 ] || { echo "usage: $0 SOURCE_ROOT BUILD_ROOT" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(realpath "$1")
build_root=$(realpath -m "$2")
top=$build_root/systemd-host
guest_dir=$build_root/tests/guest
# The host's own archive configuration (snapshot-pinned here): deb822 as on Debian 12 cloud
# images, else the classic one-line format of other installs.
sources=/etc/apt/sources.list.d/debian.sources
[ -f "$sources" ] || sources=/etc/apt/sources.list
machine=vbhost$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
cgroup=virtbus-systemd-host-$machine
# nspawn runs in a cgroup of its own on each hierarchy systemd uses: the v1 name=systemd and
# the cgroup2 of a hybrid host (like ours), or the one cgroup2 of a unified host.
if [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ]; then
        cg_roots=(/sys/fs/cgroup)
else
        cg_roots=(/sys/fs/cgroup/systemd /sys/fs/cgroup/unified)
fi
# SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 plus CAP_BPF and bpf() let systemd in the container attach
# device (DeviceAllow=) programs; without them DeviceAllow= is silently not enforced here.
nspawn_args=(-b -M "$machine" --register=no --keep-unit --console=pipe --private-network
             --capability=CAP_BPF --system-call-filter=bpf)
test_lib=/usr/local/lib/virtbus-test

PLAN=17
n=0
broken=     # set when the container is unusable: later steps fail without running
run=        # this run's directory; merged=$run/merged is the container's root
nspawn_pid=
leader=

# --- TAP ---------------------------------------------------------------------------------------

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
diag() { sed 's/^/# /'; }

# tap_result RC DESCRIPTION SECONDS LOG: one TAP line, then the log as diagnostics.
tap_result() {
        n=$((n + 1))
        if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fi
        [ ! -s "$4" ] || diag <"$4"
        echo "# time: $3 s"
}

# run_step subshell|here DESCRIPTION FUNCTION ARGS...: one TAP line for the function.
# "subshell": in a subshell with errexit in force (a background job, so no surrounding "if" or
# "||" disables it). "here": in this shell, for functions that keep state (the container's pids);
# they check every command themselves.
run_step() {
        local mode=$1 desc=$2 log=$top/.step.log t rc=0
        shift 2
        t=$(now)
        if [ -n "$broken" ]; then
                echo "not run: $broken" >"$log"
                rc=1
        elif [ "$mode" = subshell ]; then
                ( "$@" ) >"$log" 2>&1 </dev/null &
                wait $! || rc=$?
        else
                "$@" >"$log" 2>&1 </dev/null || rc=$?
        fi
        tap_result $rc "$desc" "$(since "$t")" "$log"
        rm -f "$log"
        return $rc
}
step() { run_step subshell "$@"; }
step_here() { run_step here "$@"; }

# SYSTEMD_HOST_CHECKS (development only): a check whose letter is not listed is skipped.
not_selected() {
        [ -n "${SYSTEMD_HOST_CHECKS:-}" ] && [[ " $SYSTEMD_HOST_CHECKS " != *" ${1%%:*} "* ]] || return 1
        n=$((n + 1))
        echo "ok $n - $1 # SKIP not in SYSTEMD_HOST_CHECKS"
}

# check DESCRIPTION SCRIPT [ARG]: a check-*.sh as a unit inside the container (in its cgroup and
# under its seccomp filter, unlike plain nsenter); on failure also the journal's tail.
check() {
        local desc=$1 script=$2 arg=${3:-} log=$top/.check.log t rc=0
        ! not_selected "$desc" || return 0
        t=$(now)
        if [ -n "$broken" ]; then
                echo "not run: $broken" >"$log"
                rc=1
        else
                in_container systemd-run --wait --pipe -q --collect -p RuntimeMaxSec=900 \
                        --unit="vbcheck-${script%.sh}${arg:+-$arg}" "$test_lib/$script" ${arg:+"$arg"} \
                        </dev/null >"$log" 2>&1 || rc=$?
                if [ $rc != 0 ]; then
                        echo "--- journalctl -b (last 200 lines)"
                        in_container journalctl -b --no-pager -n 200 2>&1 || true
                fi >>"$log"
        fi
        tap_result $rc "$desc" "$(since "$t")" "$log"
        rm -f "$log"
}

# --- host -------------------------------------------------------------------------------------

print_limits() {
        local pid1 cgfs capeff
        pid1=$(cat /proc/1/comm)
        cgfs=$(stat -fc %T /sys/fs/cgroup)
        capeff=$(sed -n 's/^CapEff:[[:space:]]*//p' /proc/self/status)
        cat <<EOF | diag
Limits of this suite on this host (PID 1: $pid1; /sys/fs/cgroup: $cgfs):
 - the container gets a cgroup2 tree without controllers when the host has its controllers on
   cgroup v1 (hybrid): MemoryMax=, CPUQuota=, TasksMax= are not enforced; DeviceAllow= is (BPF)
 - raised rlimits (LimitNOFILE= ...) are silently clamped without CAP_SYS_RESOURCE
   (this shell: $( [ $(( 0x$capeff >> 24 & 1 )) = 1 ] && echo has it || echo lacks it))
 - the host has no machined (its PID 1 is not systemd): the container is driven with nsenter +
   systemd-run; inside the container machined runs (check e)
 - guests are TCG only; the boot step reports /dev/kvm and /dev/vhost-net in the container
EOF
}

# Leftovers of runs that were killed (SIGKILL: no EXIT trap): the run directories whose lock
# nobody holds, their containers, mounts and the empty cgroups.
remove_stale_runs() {
        local d h pid
        for d in "$top"/run.*; do
                [ -d "$d" ] || continue
                exec 7<>"$d/.lock" || continue
                if flock -n 7; then
                        echo "removing the leftovers of $d"
                        pid=$(cat "$d/nspawn.pid" 2>/dev/null || true)
                        if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = systemd-nspawn ]; then
                                kill -TERM "$pid" 2>/dev/null || true
                                for _ in $(seq 300); do [ -e "/proc/$pid" ] || break; sleep 0.1; done
                                kill -KILL "$pid" 2>/dev/null || true
                        fi
                        ! mountpoint -q "$d/merged" || umount "$d/merged" || true
                        mountpoint -q "$d/merged" || rm -rf "$d"
                fi
                exec 7>&-
        done
        for h in "${cg_roots[@]}"; do
                find "$h" -maxdepth 1 -name 'virtbus-systemd-host-*' -type d 2>/dev/null |
                        while read -r d; do find "$d" -depth -type d -exec rmdir {} + 2>/dev/null || true; done
        done
        remove_nspawn_dirs
}

package_list() { grep -v '^[[:space:]]*#' "$here/packages" | grep -v '^[[:space:]]*$' | paste -sd,; }

# The cached rootfs for ./packages: built into a temporary directory and renamed, under an
# exclusive lock; the lock is then held shared until this run ends (no one removes it meanwhile).
build_rootfs() {
        local hash tmp d
        command -v mmdebstrap >/dev/null || { echo "mmdebstrap is missing (tools/install-deps installs it)"; exit 1; }
        grep -Eqs '^[[:space:]]*(deb |Types:.*deb)' "$sources" ||
                { echo "no Debian archive in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"; exit 1; }
        hash=$(sha256sum "$here/packages" | cut -c1-12)
        flock -x 8
        if [ ! -d "$top/rootfs-$hash" ]; then
                rm -rf "$top"/rootfs-*.tmp.*
                tmp=$(mktemp -d "$top/rootfs-$hash.tmp.XXXXXX")
                echo "mmdebstrap --variant=minbase --include=$(package_list) bookworm ROOTFS $sources"
                mmdebstrap --variant=minbase --include="$(package_list)" bookworm "$tmp" "$sources" \
                        >"$tmp.log" 2>&1 || { tail -n 30 "$tmp.log"; rm -rf "$tmp" "$tmp.log"; exit 1; }
                rm -f "$tmp.log"
                chmod 0755 "$tmp" # mktemp made it 0700
                mv -T "$tmp" "$top/rootfs-$hash"
                echo "built $top/rootfs-$hash ($(du -sh "$top/rootfs-$hash" | cut -f1))"
        else
                echo "cached: $top/rootfs-$hash"
        fi
        for d in "$top"/rootfs-*; do
                [ "$d" = "$top/rootfs-$hash" ] || { echo "removing $d"; rm -rf "$d"; }
        done
        flock -s 8
}
rootfs_dir() { echo "$top/rootfs-$(sha256sum "$here/packages" | cut -c1-12)"; }

# README's build step, in a build directory of its own (cached).
build_virtbus() {
        local b=$top/build opts=(--prefix=/usr --sysconfdir=/etc --localstatedir=/var -Dtests=false)
        [ "$(cat "$top/build.source" 2>/dev/null)" = "$src" ] || rm -rf "$b"
        if ! { [ -f "$b/build.ninja" ] && meson setup --reconfigure "$b" "$src" "${opts[@]}" >"$top/build.log" 2>&1; }
        then
                rm -rf "$b"
                meson setup "$b" "$src" "${opts[@]}" >"$top/build.log" 2>&1 || { tail -n 40 "$top/build.log"; exit 1; }
        fi
        echo "$src" >"$top/build.source"
        echo "meson setup ${opts[*]}: ok"
        meson compile -C "$b" >>"$top/build.log" 2>&1 || { tail -n 40 "$top/build.log"; exit 1; }
        echo "meson compile: ok"
}

# --- the container ------------------------------------------------------------------------------

# Without the lock fds: a client that outlives a killed run must not keep its run "in use".
in_container() { nsenter -t "$leader" -a "$@" 8>&- 9>&-; }

# The test fixtures (not the product): hostname, users, the TCG guest, the check scripts.
prepare_tree() {
        local m=$run/merged
        echo "$machine" >"$m/etc/hostname" # mmdebstrap copied the host's
        chroot "$m" groupadd virtbus-admins
        chroot "$m" useradd alice
        chroot "$m" useradd bob
        chroot "$m" useradd -G virtbus-admins carol
        "$src/tests/guest/build-guest.sh" "$guest_dir"
        install -d -m 0755 "$m/var/lib/virtbus-test/guest"
        install -m 0644 "$guest_dir/vmlinux" "$guest_dir/initrd.img" "$m/var/lib/virtbus-test/guest/"
        install -d -m 0755 "$m$test_lib"
        install -m 0644 "$here/lib.sh" "$m$test_lib/"
        install -m 0755 "$here"/check-*.sh "$m$test_lib/"
        echo "fixtures: users alice bob carol (virtbus-admins), guest in /var/lib/virtbus-test/guest, checks in $test_lib"
}

mount_overlay() {
        local lower
        lower=$(rootfs_dir)
        run=$(mktemp -d "$top/run.XXXXXX") || return 1
        # held while this script runs: remove_stale_runs leaves the directory alone
        exec 9<>"$run/.lock" && flock 9 || return 1
        mkdir "$run/upper" "$run/work" "$run/merged" || return 1
        mount -t overlay overlay -o "lowerdir=$lower,upperdir=$run/upper,workdir=$run/work" "$run/merged"
}

proc_exited() { [ ! -e "/proc/$1" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }

start_nspawn() {
        local h
        for h in "${cg_roots[@]}"; do mkdir -p "$h/$cgroup"; done
        # In the dedicated cgroup, so that the payload/ and supervisor/ cgroups nspawn leaves
        # behind can be removed; setsid keeps the terminal's signals away from it.
        CG_DIRS="${cg_roots[*]/%//$cgroup}" SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=1 setsid sh -c '
                for d in $CG_DIRS; do echo $$ >"$d/cgroup.procs"; done
                exec systemd-nspawn "$@"' nspawn -D "$run/merged" "${nspawn_args[@]}" \
                </dev/null >>"$run/nspawn.log" 2>&1 8>&- 9>&- &
        nspawn_pid=$!
        echo "$nspawn_pid" >"$run/nspawn.pid" # for remove_stale_runs, should this script be killed
        leader=
        for _ in $(seq 400); do
                leader=$(pgrep -P "$nspawn_pid" -x systemd) && break
                proc_exited "$nspawn_pid" && break
                sleep 0.05
        done
        [ -n "$leader" ] || { echo "no container PID 1"; tail -n 30 "$run/nspawn.log"; return 1; }
        echo "systemd-nspawn pid $nspawn_pid, container PID 1 is $leader"
}

# is-system-running --wait fails with "Failed to connect to bus" for the first moments.
wait_running() {
        local st end=$((SECONDS + 120))
        until st=$(in_container systemctl is-system-running --wait 2>/dev/null); do
                case $st in degraded | maintenance | stopping) break ;; esac
                [ $SECONDS -lt $end ] || { echo "the container did not finish booting: '$st'"; return 1; }
                sleep 0.05
        done
        echo "system state: $st"
}

report_devices() {
        local d
        for d in /dev/kvm /dev/vhost-net /dev/net/tun; do
                in_container test -c $d && echo "in the container: $d present" || echo "in the container: $d absent"
        done
}

boot_container() { start_nspawn && wait_running && report_devices; }

# README's install steps: meson install into the running system's root, then inside it.
install_virtbus() {
        local c
        meson install -C "$top/build" --no-rebuild --destdir "$run/merged"
        for c in "systemd-sysusers virtbus.conf" "systemctl daemon-reload" "systemctl reload dbus" \
                 "systemctl enable --now virtbus-nethelper.socket"; do
                echo "# $c"
                # shellcheck disable=SC2086 # one README line, split into its words
                in_container $c
        done
}

# systemctl reboot inside; nspawn exits with 133 for a container reboot, then boots it again
# from the same overlay.
reboot_container() {
        local rc=0
        in_container systemctl reboot
        for _ in $(seq 600); do proc_exited "$nspawn_pid" && break; sleep 0.1; done
        proc_exited "$nspawn_pid" || { echo "the container did not stop within 60 s"; return 1; }
        wait "$nspawn_pid" || rc=$?
        nspawn_pid=
        echo "systemd-nspawn exited with $rc"
        [ $rc = 133 ] || { tail -n 30 "$run/nspawn.log"; return 1; }
        remove_cgroup
        start_nspawn && wait_running
}

# --- teardown ------------------------------------------------------------------------------------

stop_container() {
        [ -n "$nspawn_pid" ] || return 0
        # SIGTERM to nspawn halts the container cleanly; a second one is immediate
        kill -TERM "$nspawn_pid" 2>/dev/null || true
        for _ in $(seq 300); do proc_exited "$nspawn_pid" && break; sleep 0.1; done
        proc_exited "$nspawn_pid" || { echo "systemd-nspawn ignored SIGTERM: killing it"; kill -KILL "$nspawn_pid"; }
        wait "$nspawn_pid" 2>/dev/null || true
        nspawn_pid=
}

remove_cgroup() {
        local h
        for h in "${cg_roots[@]}"; do
                [ ! -d "$h/$cgroup" ] || find "$h/$cgroup" -depth -type d -exec rmdir {} + 2>/dev/null || true
        done
}

# nspawn leaves these behind when /run is not a tmpfs; remove them once empty.
remove_nspawn_dirs() {
        rmdir /run/systemd/nspawn/locks /run/systemd/nspawn/propagate /run/systemd/nspawn 2>/dev/null || true
}

teardown() {
        stop_container
        if [ -n "$run" ]; then
                ! mountpoint -q "$run/merged" || umount "$run/merged" || umount -l "$run/merged"
                rm -rf "$run"
        fi
        remove_cgroup
        remove_nspawn_dirs
}

# SYSTEMD_HOST_HOLD=1: time to look around in the container before it goes.
hold() {
        [ -n "${SYSTEMD_HOST_HOLD:-}" ] && [ -n "$leader" ] || return 0
        touch "$run/hold"
        echo "# holding: nsenter -t $leader -a bash   (rm $run/hold to continue)"
        while [ -e "$run/hold" ]; do sleep 1; done
}

teardown_and_verify() { teardown && verify_clean; }

# Fails when anything of this run is still there.
verify_clean() {
        local left=0 h p
        if pgrep -f -- "systemd-nspawn .*-M $machine" >/dev/null; then echo "an nspawn process is left"; left=1; fi
        for p in $(pgrep qemu-system || true); do
                if grep -q "$cgroup" "/proc/$p/cgroup" 2>/dev/null; then echo "QEMU $p is left"; left=1; fi
        done
        if [ -n "$run" ] && grep -qF " $run/" /proc/self/mountinfo; then echo "mounts under $run are left"; left=1; fi
        if [ -n "$run" ] && [ -e "$run" ]; then echo "$run is left"; left=1; fi
        for h in "${cg_roots[@]}"; do
                if [ -d "$h/$cgroup" ]; then echo "cgroup $h/$cgroup is left"; left=1; fi
        done
        if ip -o link show | grep -q ': ve-'; then echo "a ve-* veth is left"; ip -o link show | grep ': ve-'; left=1; fi
        if ip -o link show | grep -q ': vbtest'; then echo "a test bridge reached the host"; left=1; fi
        [ -e "/run/systemd/nspawn/propagate/$machine" ] && { echo "/run/systemd/nspawn/propagate/$machine is left"; left=1; }
        [ $left = 0 ] && echo "nothing left: no nspawn or QEMU process, mount, cgroup, veth or run directory"
        return $left
}

# --- main --------------------------------------------------------------------------------------

main() {
        local t0
        t0=$(now)
        [ "$(id -u)" = 0 ] || { printf '1..1\nnot ok 1 - run.sh must run as root\n'; exit 1; }
        mkdir -p "$top"
        echo "1..$PLAN"
        print_limits
        exec 8<>"$top/.rootfs.lock"
        remove_stale_runs 2>&1 | diag
        trap teardown EXIT
        trap 'exit 130' INT # so that the EXIT trap runs
        trap 'exit 143' TERM

        step "rootfs: mmdebstrap Debian 12 minbase + tests/systemd-host/packages (cached)" build_rootfs ||
                broken="no rootfs"
        step "build: meson setup --prefix=/usr -Dtests=false, meson compile" build_virtbus ||
                broken=${broken:-"the build failed"}
        [ -n "$broken" ] || mount_overlay || broken="cannot mount the overlay"
        step "fixtures: hostname, users, the TCG guest, the checks (in the overlay)" prepare_tree ||
                broken=${broken:-"the fixtures failed"}
        step_here "boot: systemd-nspawn -b (cgroup2, CAP_BPF, bpf()) reaches a running system" boot_container ||
                broken=${broken:-"the container did not boot"}
        step "install: meson install --destdir, sysusers, daemon-reload, reload dbus, enable the socket" \
                install_virtbus || broken=${broken:-"the install failed"}

        check "a: clean boot; virtbusd is bus-activated, runs as virtbus with no capability" check-a.sh
        check "b: nethelper socket-activated with CAP_NET_ADMIN only, exits when idle; DeviceAllow= enforced" check-b.sh
        check "d: polkit for non-root users: denied without rules; the shipped example rules grant" check-d.sh
        check "f: systemd-analyze security: virtbusd <= 2.0, virtbus-nethelper <= 3.5" check-f.sh
        check "g: virtbusd exits when idle (timeout shortened to 5 s), state intact on the next call" check-g.sh
        check "h: journalctl VIRTBUS_NETWORK=NAME / VIRTBUS_DOMAIN=NAME find an object's messages" check-h.sh names
        check "h: journalctl VIRTBUS_NETWORK_UUID= / VIRTBUS_DOMAIN_UUID= find them by UUID" check-h.sh uuids
        check "e: a TCG guest runs in its own scope, survives virtbusd restart and SIGKILL, powers off" check-e.sh
        check "c: a started network's bridge exists; an autostart network survives a virtbusd restart; a guest is left running" check-c-before.sh
        not_selected "c: the container reboots (systemctl reboot, nspawn exit 133) and boots again" ||
                step_here "c: the container reboots (systemctl reboot, nspawn exit 133) and boots again" \
                reboot_container || broken=${broken:-"the container did not come back after the reboot"}
        check "c: the guest got its power button at the host's shutdown; after the reboot the first call starts virtbusd and the autostart network again" check-c-after.sh

        hold
        broken=
        step_here "cleanup: no nspawn or QEMU process, mount, cgroup, veth or run directory left" \
                teardown_and_verify || true
        [ $n = $PLAN ] || echo "# internal error: $n results for a plan of $PLAN"
        echo "# suite wall time: $(since "$t0") s"
}

main
