/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Networks: their lifetime (define, start, stop, undefine, autostart), their files under
 * $STATE_DIRECTORY/network and the bridge work they ask the helper for. Not bus-facing:
 * network.c exports these objects; errors are reported as org.libvirt.Error texts. */

#include <systemd/sd-bus.h>

#include "bitmap.h"
#include "manager.h"
#include "network-conf.h"

/* libvirt's virNetworkEventLifecycleType */
enum {
        NETWORK_EVENT_DEFINED = 0,
        NETWORK_EVENT_UNDEFINED = 1,
        NETWORK_EVENT_STARTED = 2,
        NETWORK_EVENT_STOPPED = 3,
};

struct Network {
        Manager *manager;
        NetworkDef *config;  /* persistent definition; NULL for a transient network */
        NetworkDef *live;    /* the running definition; NULL while inactive */
        bool bridge_created; /* we created live->bridge and delete it on stop */
        bool autostart;
        char *path;          /* D-Bus object path */

        /* QoS floors while active (qos-driver.h), persisted in the status file */
        ClassIdBitmap class_ids; /* HTB class ids in use on the bridge */
        uint64_t floor_sum;      /* KiB/s of floors plugged */

        Network *next;
};

static inline bool network_is_active(const Network *n) {
        return n->live;
}
static inline bool network_is_persistent(const Network *n) {
        return n->config;
}
/* The definition that describes the network now: live when running, else the config. */
static inline const NetworkDef *network_current_def(const Network *n) {
        return n->live ?: n->config;
}

Network *network_free(Network *n);
Network *manager_find_network_by_name(Manager *m, const char *name);
Network *manager_find_network_by_uuid(Manager *m, const Uuid *uuid);
Network *manager_find_network_by_path(Manager *m, const char *path);

/* Load configs and status files; reconcile status with the kernel. */
int network_driver_load(Manager *m);
/* Start every inactive autostart network (errors are logged, not fatal). */
void network_driver_autostart(Manager *m);

int network_define_xml(Manager *m, const char *xml, Network **ret, sd_bus_error *error);
int network_create_xml(Manager *m, const char *xml, Network **ret, sd_bus_error *error);
int network_start(Network *n, sd_bus_error *error);
/* May free n (a transient network disappears when it stops). */
int network_stop(Network *n, sd_bus_error *error);
/* May free n. */
int network_undefine(Network *n, sd_bus_error *error);
int network_set_autostart(Network *n, bool autostart, sd_bus_error *error);
/* Live and/or persistent change of a network's <bandwidth> (org.virtbus.Network1.SetBandwidth). */
int network_set_bandwidth(Network *n, const Bandwidth *live, const Bandwidth *config, sd_bus_error *error);

/* Writes $STATE_DIRECTORY/network/NAME.status.xml of an active network (atomically). */
int network_save_status(Network *n);
