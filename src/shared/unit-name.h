/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* Each QEMU runs in a transient scope of its own, "virtbus-qemu-<id>-<escaped name>.scope" in
 * machine.slice, so that it outlives a restart of virtbusd.service. */
#define QEMU_SCOPE_PREFIX "virtbus-qemu-"
#define QEMU_SCOPE_SUFFIX ".scope"
#define UNIT_NAME_MAX 255 /* systemd's limit, suffix included */

/* The scope's name for domain id and name: the name is escaped as systemd-escape does ("-" and
 * everything outside [A-Za-z0-9:_.] become \xNN, a leading "." too) and cut, on an escape
 * boundary, so that the whole stays within UNIT_NAME_MAX; the id keeps cut names unique.
 * Returns NULL on OOM. */
char *qemu_scope_name(unsigned id, const char *domain_name);

/* What the helper accepts: QEMU_SCOPE_PREFIX, at least one more character, QEMU_SCOPE_SUFFIX,
 * only unit name characters ([A-Za-z0-9:_.\-]), at most UNIT_NAME_MAX characters. */
bool qemu_scope_name_valid(const char *s);

/* The name systemd-machined shows for a guest ("machinectl list"): "qemu-<id>-<name>" as libvirt
 * does, with the domain name reduced to what a host name may hold (letters, digits, "-", single
 * inner dots) and the whole cut to MACHINE_NAME_MAX. Returns NULL on OOM. */
#define MACHINE_NAME_MAX 64
char *qemu_machine_name(unsigned id, const char *domain_name);
/* 1..MACHINE_NAME_MAX of [A-Za-z0-9-.], no leading or trailing dot, no empty label. */
bool machine_name_valid(const char *s);
