/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Running QEMU for a domain: spawn (no shell, -S, fds inherited by number), QMP (cont, events,
 * powerdown, stop/cont/reset), watching the process (as its parent, or through a pidfd after
 * a daemon restart) and tearing down when it goes. */

#include <systemd/sd-bus.h>

typedef struct Domain Domain;

/* Start d: answers `call` (when not NULL) once the guest runs — with the object path when
 * reply_path is set, empty otherwise — or with the error if it never does. Returns <0 (and
 * sets error, nothing left behind) when the start fails before QEMU was spawned. */
int domain_process_start(Domain *d, sd_bus_message *call, bool reply_path, sd_bus_error *error);
/* After a daemon restart: watch d->pid and reconnect to d->qmp_socket. */
int domain_process_reconnect(Domain *d);
/* SIGTERM, then SIGKILL after a grace period; `call` is answered when the process is gone. */
int domain_process_destroy(Domain *d, sd_bus_message *call, sd_bus_error *error);
/* ACPI power button; with reboot, the guest's shutdown becomes a reset. */
int domain_process_shutdown(Domain *d, bool reboot, sd_bus_error *error);
/* "stop", "cont" or "system_reset", answering call when QEMU did it. */
int domain_process_qmp_simple(Domain *d, const char *command, sd_bus_message *call, sd_bus_error *error);
/* Drop our handles on the process (QMP, watches); the process itself is not touched. */
void domain_process_release(Domain *d);
/* Answer the method calls waiting for the domain to stop. */
void domain_answer_waiters(Domain *d);
