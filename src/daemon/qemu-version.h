/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

/* "8.2.1" → 8002001, libvirt's major*1000000 + minor*1000 + micro. */
int libvirt_version_parse(const char *s, uint64_t *ret);

/* Run `BINARY --version` (default: qemu-system-x86_64 from PATH), without a shell, and encode
 * the version it prints. -ENOENT when there is no QEMU. */
int qemu_probe_version(const char *binary, uint64_t *ret);
