/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A guest's network devices: taps on bridges, macvtaps on host devices, vhost-net fds — all
 * made by virtbus-nethelper and handed to QEMU as inherited fds. */

#include <systemd/sd-bus.h>

#include "protocol.h"

typedef struct Domain Domain;

typedef struct DomainNetFds {
        int tap_fds[NH_QUEUES_MAX];
        size_t n_tap_fds;
        int vhost_fds[NH_QUEUES_MAX];
        size_t n_vhost_fds;
} DomainNetFds;

/* Pick alias and ifname for every interface of d->live (writes them into d->live). Pure
 * choices, no devices yet, so the status file can name them before they exist. */
int domain_net_assign_names(Domain *d, sd_bus_error *error);
/* Create the devices of d->live; fds[] has d->live->n_nets entries. On failure everything
 * made so far is deleted again. */
int domain_net_create(Domain *d, DomainNetFds *fds, sd_bus_error *error);
void domain_net_fds_close(DomainNetFds *fds, size_t n);
/* Delete the devices d->live names (best effort; gone already is fine). */
void domain_net_release(Domain *d);
