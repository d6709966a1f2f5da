/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "macro.h"

typedef struct Network Network;
typedef struct Domain Domain;
typedef struct PolkitRegistry PolkitRegistry;

/* The one owner of all daemon state: the bus, the event loop and the objects. */
typedef struct Manager {
        sd_event *event;
        sd_bus *bus;
        PolkitRegistry *polkit; /* authorization of non-root callers */
        sd_event_source *idle_timer;
        uint64_t idle_timeout_usec; /* 0: never exit when idle */

        char *state_dir;     /* $STATE_DIRECTORY */
        char *runtime_dir;   /* $RUNTIME_DIRECTORY */
        char *network_dir;   /* $STATE_DIRECTORY/network */
        char *autostart_dir; /* $STATE_DIRECTORY/network/autostart */
        char *helper_socket; /* $RUNTIME_DIRECTORY/nethelper.sock */
        char *domain_dir;    /* $STATE_DIRECTORY/qemu: persistent domain configs */
        char *domain_autostart_dir;
        char *qemu_runtime_dir; /* $RUNTIME_DIRECTORY/qemu: status files, QMP sockets */
        char *qemu_cache_dir;   /* $STATE_DIRECTORY/cache/qemu: capabilities */
        char *qemu_log_dir;     /* $STATE_DIRECTORY/log/qemu: QEMU's stderr and serial logs */

        Network *networks; /* linked list */
        Domain *domains;   /* linked list */
        int next_domain_id;

        uint64_t qemu_version; /* libvirt encoding, probed once; 0 unknown */
        bool qemu_version_probed;

        unsigned qos_caps;     /* QosCap bits of the kernel (QOS_PROBE), once known */
        bool qos_caps_known;

        /* Booted with systemd: each QEMU goes into a transient scope of its own (the helper
         * asks systemd), so that it survives a stop or restart of virtbusd.service. */
        bool use_scopes;
        /* Host shutdown (host-shutdown.c): how long to wait for guests to power off (0: not at
         * all); the timer exists while that wait is on. */
        uint64_t shutdown_timeout_usec;
        sd_event_source *host_shutdown_timer;
} Manager;

int manager_new(Manager **ret);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

int manager_set_dirs(Manager *m, const char *state_dir, const char *runtime_dir);
int manager_startup(Manager *m);
int manager_run(Manager *m);

/* Called on every incoming method call: postpones the idle exit. */
void manager_bump_idle(Manager *m);

#define CONNECT_PATH "/org/libvirt/QEMU"
#define NETWORK_PATH_PREFIX "/org/libvirt/QEMU/network"
#define DOMAIN_PATH_PREFIX "/org/libvirt/QEMU/domain"
