#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# f: the installed units are well sandboxed by systemd's own measure: the "Overall exposure
# level" of systemd-analyze security (0 = fully sandboxed, 10 = not at all).
. /usr/local/lib/virtbus-test/lib.sh

exposure() { # UNIT
        systemd-analyze security --no-pager "$1" | tee "/tmp/security-$1.txt" |
                sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
}
at_most() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

check_unit() { # UNIT LIMIT
        local score
        score=$(exposure "$1")
        [ -n "$score" ] || { cat "/tmp/security-$1.txt"; fail "no exposure level for $1"; }
        say "exposure level of $1: $score (limit $2)"
        if ! at_most "$score" "$2"; then
                grep '✗' "/tmp/security-$1.txt" || true
                fail "$1 scores $score > $2"
        fi
        say "ok: $1 scores $score <= $2"
}

check_unit virtbusd.service 2.0
check_unit virtbus-nethelper.service 3.5
