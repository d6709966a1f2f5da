/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The QEMU command line for a domain: a pure function of the definition, the binary's
 * capabilities and what the daemon prepared for this start (QemuRuntime). Golden tests:
 * tests/data/qemuxml/NAME.xml → NAME.args. */

#include <stddef.h>

#include "domain-conf.h"
#include "macro.h"
#include "qemu-caps.h"

/* What the daemon prepared for one interface (def->nets[i] ↔ QemuRuntime.nets[i]). */
typedef struct QemuRuntimeNet {
        /* QEMU's device id, "net0"…, and "host" + alias is the netdev's. The daemon assigns it
         * (libvirt's scheme: "net" + index, or the user's "ua-…" alias) and puts it into the
         * live XML as <alias name=…/>. */
        const char *alias;
        /* File descriptor numbers as QEMU will see them: the daemon opens the tap/macvtap and
         * /dev/vhost-net (through the helper) and lets the QEMU process inherit them under these
         * numbers. One tap fd per queue (max(queues, 1)); vhost fds: none (userspace virtio-net)
         * or one per tap fd. vhost is used exactly when there are vhost fds. */
        const int *tap_fds;
        size_t n_tap_fds;
        const int *vhost_fds;
        size_t n_vhost_fds;
} QemuRuntimeNet;

typedef struct QemuRuntime {
        /* QMP: QEMU listens on this unix socket (it creates it; the daemon connects once it
         * appears). The path is on the command line, which is how a restarted daemon tells its
         * QEMUs apart from others. */
        const char *qmp_socket;
        /* Optional: serial port 0, when it is a pty, also writes everything to this file, so the
         * console is kept while nobody is attached (type='file' ports log to their own path). */
        const char *serial_log;
        const QemuRuntimeNet *nets;
        size_t n_nets;
} QemuRuntime;

/* Builds argv (NULL-terminated, argv[0] = the emulator: def's <emulator>, else caps->binary).
 * Errors, with *ret_error set to a complete message:
 *   -EOPNOTSUPP  "unsupported configuration: …": the binary lacks a device or property the
 *                definition needs (e.g. "virtio-net-pci 'tx' option not supported with this QEMU
 *                binary"), KVM requested but unavailable, vhost-net requested but no vhost fds.
 *   -EINVAL      "internal error: …": the runtime does not match the definition.
 * Call domain_def_fill_defaults() and domain_def_check_runnable() first. */
int qemu_build_command_line(const DomainDef *def, const QemuCaps *caps, const QemuRuntime *rt,
                            char ***ret_argv, char **ret_error);

char **qemu_argv_free(char **argv);
DEFINE_TRIVIAL_CLEANUP_FUNC(char **, qemu_argv_free);
