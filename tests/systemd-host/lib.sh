# SPDX-License-Identifier: LGPL-2.1-or-later
# shellcheck shell=bash
# Shared by the check-*.sh scripts of the systemd-host suite. They run inside the booted test
# container as transient units (systemd-run --wait --pipe), as root, on the container's system
# bus. Each check says what it asserts and exits non-zero at the first failed assertion.
set -euo pipefail

GUEST_DIR=/var/lib/virtbus-test/guest
CONNECT=(org.libvirt /org/libvirt/QEMU org.libvirt.Connect)

say() { printf '%s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; exit 1; }
# ok CONDITION-DESCRIPTION COMMAND...: runs the command, fails the check with the description.
ok() { local what=$1; shift; if "$@"; then say "ok: $what"; else fail "$what"; fi; }

# --- waiting -----------------------------------------------------------------------------------

# wait_until SECONDS COMMAND...: polls COMMAND every 0.2 s; false when it never succeeded.
wait_until() {
        local end=$((SECONDS + $1)); shift
        until "$@"; do
                [ $SECONDS -lt $end ] || return 1
                sleep 0.2
        done
}

unit_state() { systemctl show -P ActiveState "$1"; }
unit_is() { [ "$(unit_state "$1")" = "$2" ]; }
unit_inactive() { case $(unit_state "$1") in inactive | failed) return 0 ;; *) return 1 ;; esac; }
main_pid() { systemctl show -P MainPID "$1"; }

# --- the bus -----------------------------------------------------------------------------------

# First object path (or string) of a busctl reply line such as: o "/org/libvirt/QEMU/network/_…"
reply_value() { sed -n 's/^[a-z]* "\(.*\)"$/\1/p'; }

connect_call() { busctl call "${CONNECT[@]}" "$@"; }
# obj_path METHOD ARGS...: a Connect method returning an object path.
obj_path() {
        local out
        out=$(connect_call "$@") || { echo "FAIL: Connect.$1 failed" >&2; return 1; }
        printf '%s\n' "$out" | reply_value
}
get_prop() { busctl get-property org.libvirt "$1" "$2" "$3" | sed 's/^[a-z]* //; s/^"\(.*\)"$/\1/'; }
set_prop() { busctl set-property org.libvirt "$@"; }
net_call() { busctl call org.libvirt "$1" org.libvirt.Network "${@:2}"; }
dom_call() { busctl call org.libvirt "$1" org.libvirt.Domain "${@:2}"; }

network_xml() { # NAME BRIDGE [UUID] [IPv4 address/24]
        printf "<network><name>%s</name>%s<bridge name='%s'/>%s</network>" "$1" \
                "${3:+<uuid>$3</uuid>}" "$2" "${4:+<ip address='$4' prefix='24'/>}"
}
# A guest of tests/guest on network NET, guest command line CMDLINE, console in SERIAL (if any).
guest_xml() { # NAME NET CMDLINE [SERIAL]
        printf "<domain type='qemu'><name>%s</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>" "$1"
        printf "<os><type>hvm</type><kernel>%s/vmlinux</kernel><initrd>%s/initrd.img</initrd>" "$GUEST_DIR" "$GUEST_DIR"
        printf "<cmdline>console=ttyS0 quiet %s</cmdline></os><devices>" "$3"
        printf "<interface type='network'><source network='%s'/><model type='virtio'/></interface>" "$2"
        [ -z "${4:-}" ] || printf "<serial type='file'><source path='%s'/></serial>" "$4"
        printf "</devices></domain>"
}
# A domain that is only defined, never started (no devices).
plain_domain_xml() { # NAME [UUID]
        printf "<domain type='qemu'><name>%s</name>%s<memory unit='MiB'>64</memory>" "$1" "${2:+<uuid>$2</uuid>}"
        printf "<os><type>hvm</type></os></domain>"
}

# Best-effort removal of what a check made, for its EXIT trap: the next check must start clean.
cleanup_network() { # NAME
        local p
        p=$(obj_path NetworkLookupByName s "$1" 2>/dev/null) || return 0
        net_call "$p" Destroy >/dev/null 2>&1 || true
        net_call "$p" Undefine >/dev/null 2>&1 || true
}
cleanup_domain() { # NAME
        local p
        p=$(obj_path DomainLookupByName s "$1" 2>/dev/null) || return 0
        dom_call "$p" Destroy u 0 >/dev/null 2>&1 || true
        dom_call "$p" Undefine u 0 >/dev/null 2>&1 || true
}

# --- processes and links -----------------------------------------------------------------------

# The capability sets of PID, one "CapXxx: hex" per line.
caps_of() { grep '^Cap' "/proc/$1/status"; }
cap_is() { [ "$(sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status")" = "$3" ]; }
uids_of() { sed -n 's/^Uid:[[:space:]]*//p' "/proc/$1/status" | tr -s '[:space:]' ' ' | sed 's/ $//'; }

link_exists() { ip link show dev "$1" >/dev/null 2>&1; }
link_gone() { ! link_exists "$1"; }
ifindex_of() { cat "/sys/class/net/$1/ifindex"; }
is_bridge() { ip -d link show dev "$1" 2>/dev/null | grep -q '^ *bridge '; }
