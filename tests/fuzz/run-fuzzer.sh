#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Runs one libFuzzer target for RUNS inputs, starting from the seed directories. Inputs that
# find new paths go to a temporary directory, never into the source tree; a crashing input is
# kept as $FUZZ_ARTIFACT_DIR/NAME-crash-… (default: fuzz-artifacts/ in the current directory).
#   run-fuzzer.sh FUZZER RUNS SEED_DIR...
set -euo pipefail

fuzzer=$1 runs=$2
shift 2
name=$(basename "$fuzzer")
artifacts=${FUZZ_ARTIFACT_DIR:-$PWD/fuzz-artifacts}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$artifacts"

# -seed: the same run every time; -timeout: a hang is a bug too; -max_len: room beyond the seeds
# (the XML documents are up to a few KiB, a helper datagram at most 4 KiB).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
exec "$fuzzer" -runs="$runs" -seed=1 -timeout=10 -max_len=16384 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$artifacts/$name-" "$work" "$@"
