#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Checks the generated systemd units with "systemd-analyze verify", then
# asserts their "systemd-analyze security" exposure: at most 2.0 for virtbusd.service and
# 3.5 for virtbus-nethelper.service (issue 6).
#
# usage: verify-units.sh --man-dir DIR [--bin BUILT_BINARY]... UNIT_FILE...
#
# The units name their installed binaries (/usr/sbin/virtbusd, ...), which
# need not exist on the test machine; verify requires every Exec*= command
# to be executable, so a copy of each unit is checked with the command
# replaced by the binary of the same name from the build tree (--bin). A
# command with no matching --bin is left alone and must exist as written.
# Man pages named by Documentation=man:NAME(SECTION) must exist as
# DIR/NAME.SECTION (checked here instead of by verify, which needs man-db).
# Runs without a systemd PID 1 and without the units' users existing.

set -euo pipefail

man_dir=
bins=()
units=()
while [ $# -gt 0 ]; do
        case "$1" in
        --man-dir) man_dir=$2; shift 2 ;;
        --bin) bins+=("$2"); shift 2 ;;
        -*) echo "unknown option $1" >&2; exit 2 ;;
        *) units+=("$1"); shift ;;
        esac
done
if [ ${#units[@]} -eq 0 ] || [ -z "$man_dir" ]; then
        echo "usage: $0 --man-dir DIR [--bin BINARY]... UNIT..." >&2
        exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
err() {
        echo "FAIL: $*"
        fail=1
}

names=()
for u in "${units[@]}"; do
        names+=("$(basename "$u")")
done

for u in "${units[@]}"; do
        name=$(basename "$u")
        if grep -n '@[A-Za-z_]*@' "$u"; then
                err "$name: placeholder left unsubstituted"
        fi

        cp "$u" "$tmp/$name"
        while IFS= read -r line; do
                # Exec*=[prefixes]PATH ARGS: the path must be absolute.
                cmd=$(printf '%s\n' "$line" | sed -E 's/^Exec[A-Za-z]*=[-@:+!]*//; s/[[:space:]].*//')
                case "$cmd" in
                /*) ;;
                *) err "$name: '$line': command is not an absolute path" ;;
                esac
                for b in "${bins[@]}"; do
                        if [ "$(basename "$cmd")" = "$(basename "$b")" ]; then
                                sed -i -E "s#^(Exec[A-Za-z]*=[-@:+!]*)$cmd([[:space:]]|\$)#\1$(realpath "$b")\2#" \
                                        "$tmp/$name"
                        fi
                done
        done < <(grep -E '^Exec[A-Za-z]*=' "$u" || true)

        for page in $(sed -n 's/^Documentation=//p' "$u"); do
                case "$page" in
                man:*\(*\))
                        p=${page#man:}
                        f="$man_dir/${p%%(*}.$(echo "$p" | sed 's/.*(\(.*\))/\1/')"
                        [ -f "$f" ] || err "$name: $page: no $f"
                        ;;
                esac
        done

        # verify ignores a missing Requires=/Wants= target, so check that
        # every virtbus unit referred to is one of ours.
        for ref in $(sed -nE 's/^(Wants|Requires|Requisite|BindsTo|PartOf|After|Before|Also)=//p' "$u" |
                     tr ' ' '\n' | grep '^virtbus' || true); do
                case " ${names[*]} " in
                *" $ref "*) ;;
                *) err "$name: refers to $ref, which is not among the units checked" ;;
                esac
        done
done

echo "== systemd-analyze verify"
# --recursive-errors=no: fail on problems in these units, not in the host's
# units they pull in (dbus.socket, sysinit.target, ...).
set +e
out=$(cd "$tmp" && systemd-analyze verify --man=no --recursive-errors=no "${names[@]}" 2>&1)
rc=$?
set -e
[ -z "$out" ] || printf '%s\n' "$out"
if [ $rc -ne 0 ]; then
        err "systemd-analyze verify exited with $rc"
elif printf '%s\n' "$out" | grep -q -e "$tmp" -e virtbus; then
        err "systemd-analyze verify warned about our units"
else
        echo "ok: ${names[*]}"
fi

echo "== systemd-analyze security (exposure, asserted)"
for name in "${names[@]}"; do
        case "$name" in
        *.service) ;;
        *) continue ;;
        esac
        set +e
        out=$(cd "$tmp" && SYSTEMD_COLORS=0 systemd-analyze security --offline=true --no-pager "$name" 2>&1)
        rc=$?
        set -e
        if [ $rc -ne 0 ]; then
                printf '%s\n' "$out"
                err "systemd-analyze security failed on $name ($rc)"
                continue
        fi
        printf '%s\n' "$out" | grep '^✗' || true
        level=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
        if [ -z "$level" ]; then
                err "no exposure level printed for $name"
                continue
        fi
        case "$name" in
        virtbusd.service) max=2.0 ;;
        virtbus-nethelper.service) max=3.5 ;;
        *) max=10 ;;
        esac
        echo "exposure $name: $level (at most $max)"
        awk -v l="$level" -v m="$max" 'BEGIN { exit !(l <= m) }' || err "exposure of $name is $level, above $max"
done

exit $fail
