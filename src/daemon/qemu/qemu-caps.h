/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What one QEMU binary can do, probed once through QMP and cached under
 * $STATE_DIRECTORY/cache/qemu/ keyed by binary path + mtime + size. The command-line builder
 * only reads this struct (pure); probing and caching live in qemu-caps-probe.c. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"

typedef struct QemuCapsDevice {
        char *name;    /* "virtio-net-pci" */
        char **props;  /* NULL-terminated property names from device-list-properties */
        size_t n_props;
} QemuCapsDevice;

typedef struct QemuCaps {
        char *binary;      /* absolute path */
        int64_t mtime_ns;  /* cache key with binary and size */
        uint64_t size;
        uint64_t version;  /* libvirt encoding: major*1000000 + minor*1000 + micro */
        bool kvm;          /* query-kvm present (we still default to TCG, see testing.md) */
        QemuCapsDevice *devices;
        size_t n_devices;
} QemuCaps;

/* The devices whose properties are probed. */
extern const char *const qemu_caps_probed_devices[];

bool qemu_caps_has_device(const QemuCaps *caps, const char *device);
bool qemu_caps_has_device_prop(const QemuCaps *caps, const char *device, const char *prop);

/* Cache file format (XML) — pure, for the cache and for test fixtures in tests/data/qemucaps/. */
int qemu_caps_parse(const char *xml, QemuCaps **ret, char **ret_error);
char *qemu_caps_format(const QemuCaps *caps);

QemuCaps *qemu_caps_free(QemuCaps *caps);
DEFINE_TRIVIAL_CLEANUP_FUNC(QemuCaps *, qemu_caps_free);
