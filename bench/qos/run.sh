#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# bench/qos: virtbus' floor QoS (helper + netlink, u32 MAC hash table) side by side with the
# libvirt-style tc process sequence (linear u32 list) on one bridge each, with 10, 100 and 1000
# floor interfaces: plug/unplug latency and classification throughput. Prints one markdown table.
#
#   bench/qos/run.sh            full run (about a minute on a 2-vCPU machine)
#   bench/qos/run.sh --quick    about 15 s, fewer repetitions
#   bench/qos/run.sh --help     the driver's options (--sizes, --reps, --tput-reps, --frames, …)
#
# Needs root, tc (iproute2) and a configured build directory (BUILD_DIR, default ./build). Runs in
# a private network namespace of its own: the host's network is never touched.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD_DIR:-$root/build}

if [ "$(id -u)" != 0 ]; then
        echo "run.sh: needs root (network namespace, the helper, tc)" >&2
        exit 1
fi
if [ ! -f "$build/build.ninja" ]; then
        echo "run.sh: no configured build in $build (meson setup build), or set BUILD_DIR" >&2
        exit 1
fi
tc=$(command -v tc || true)
if [ -z "$tc" ]; then
        echo "run.sh: tc (iproute2) not found: it is the libvirt-style baseline" >&2
        exit 1
fi

# The helper and the libraries the driver links against, from the project's build.
ninja -C "$build" src/helper/virtbus-nethelper src/protocol/libprotocol.a src/conf/libconf.a \
        src/netdev/libnetdev.a src/shared/libshared.a >/dev/null

if ninja -C "$build" -t query bench/qos/qos-bench >/dev/null 2>&1; then
        # meson.build has subdir('bench/qos')
        ninja -C "$build" bench/qos/qos-bench >/dev/null
        bench=$build/bench/qos/qos-bench
else
        out=$(mktemp -d /tmp/qos-bench-build-XXXXXX)
        trap 'rm -rf "$out"' EXIT
        bench=$out/qos-bench
        pkgs="libsystemd libxml-2.0 libnl-3.0 libnl-route-3.0"
        # shellcheck disable=SC2046,SC2086 # word-split pkg-config output and the package list
        ${CC:-cc} -std=gnu11 -O2 -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
                -D_GNU_SOURCE -DGETTEXT_PACKAGE='"virtbus"' -include "$build/config.h" -I"$build" \
                -I"$root/src" -I"$root/src/shared" -I"$root/src/protocol" -I"$root/src/conf" \
                -I"$root/src/netdev" $(pkg-config --cflags $pkgs) \
                "$root/bench/qos/qos-bench.c" -o "$bench" \
                "$build/src/protocol/libprotocol.a" "$build/src/conf/libconf.a" \
                "$build/src/netdev/libnetdev.a" "$build/src/shared/libshared.a" \
                $(pkg-config --libs $pkgs)
fi

"$bench" --helper "$build/src/helper/virtbus-nethelper" --tc "$tc" "$@"
