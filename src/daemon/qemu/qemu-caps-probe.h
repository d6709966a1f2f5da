/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The edge of qemu-caps: run a QEMU binary once to learn what it can do, and cache the result
 * under $STATE_DIRECTORY/cache/qemu/ keyed by binary path + mtime + size. */

#include "qemu-caps.h"

#define QEMU_CAPS_PROBE_TIMEOUT_USEC (20ULL * 1000000ULL) /* the whole probe, spawn to quit (~0.3 s normally) */
#define QEMU_CAPS_CACHE_FILE_MAX (1024U * 1024U)

/* Spawn `BINARY -S -no-user-config -nodefaults -nographic -machine none,accel=tcg -qmp unix:…`
 * (no shell, no inherited fds, signal mask and dispositions reset, stdin /dev/null, output kept in
 * a private temp dir for the error message), then over QMP: query-version, query-kvm and
 * device-list-properties for each of qemu_caps_probed_devices (a device QEMU does not know is
 * left out), quit, reap. Runs its own private event loop: it blocks its caller for at most
 * QEMU_CAPS_PROBE_TIMEOUT_USEC, and never touches the caller's loop or SIGCHLD handling.
 * `binary` must be an absolute path. Fills binary, mtime_ns, size from stat() taken before the
 * run. -ENOENT/-EACCES when the binary cannot be run, -ETIMEDOUT, -EPROTO for a QMP failure. */
int qemu_caps_probe(const char *binary, QemuCaps **ret);

/* The cache file for `binary` in `cache_dir` (allocated): its path with every byte outside
 * [A-Za-z0-9.-] escaped as _XX, or a hash for very long paths; ".xml". */
char *qemu_caps_cache_path(const char *cache_dir, const char *binary);

/* -ENOENT when there is no cache file or its key (binary path, mtime, size) no longer matches the
 * binary on disk; -EBADMSG (logged) when the file is corrupt. */
int qemu_caps_cache_lookup(const char *cache_dir, const char *binary, QemuCaps **ret);
/* Atomic write; creates cache_dir (0755) if needed. */
int qemu_caps_cache_store(const char *cache_dir, const QemuCaps *caps);

/* Cached capabilities of `binary` (absolute, or a name looked up in $PATH), probing and storing
 * them when the cache misses, is stale or corrupt. cache_dir may be NULL: no caching. A failure to
 * store is logged, not fatal. */
int qemu_caps_get(const char *cache_dir, const char *binary, QemuCaps **ret);
