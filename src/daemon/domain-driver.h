/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Domains: their lifetime (define, start, stop, undefine, autostart), their files
 * ($STATE_DIRECTORY/qemu/NAME.xml, $RUNTIME_DIRECTORY/qemu/NAME.status.xml) and the state
 * machine driven by QEMU's QMP events. domain.c exports these objects on the bus;
 * domain-process.c runs QEMU; domain-net.c asks the helper for the guests' network devices. */

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "domain-conf.h"
#include "manager.h"

/* virDomainState */
typedef enum DomainState {
        DOMAIN_STATE_NOSTATE = 0,
        DOMAIN_STATE_RUNNING = 1,
        DOMAIN_STATE_BLOCKED = 2,
        DOMAIN_STATE_PAUSED = 3,
        DOMAIN_STATE_SHUTDOWN = 4,
        DOMAIN_STATE_SHUTOFF = 5,
        DOMAIN_STATE_CRASHED = 6,
        DOMAIN_STATE_PMSUSPENDED = 7,
} DomainState;

/* Reasons (virDomainRunningReason, virDomainPausedReason, virDomainShutoffReason …) we use. */
enum {
        DOMAIN_RUNNING_BOOTED = 1,
        DOMAIN_RUNNING_UNPAUSED = 3,
        DOMAIN_PAUSED_USER = 2,
        DOMAIN_PAUSED_SHUTTING_DOWN = 8,
        DOMAIN_SHUTDOWN_USER = 1,
        DOMAIN_SHUTOFF_UNKNOWN = 0,
        DOMAIN_SHUTOFF_SHUTDOWN = 1,
        DOMAIN_SHUTOFF_DESTROYED = 2,
        DOMAIN_SHUTOFF_CRASHED = 3,
        DOMAIN_SHUTOFF_FAILED = 6,
};

/* virDomainEventType and details */
enum {
        DOMAIN_EVENT_DEFINED = 0,
        DOMAIN_EVENT_UNDEFINED = 1,
        DOMAIN_EVENT_STARTED = 2,
        DOMAIN_EVENT_SUSPENDED = 3,
        DOMAIN_EVENT_RESUMED = 4,
        DOMAIN_EVENT_STOPPED = 5,
        DOMAIN_EVENT_SHUTDOWN = 6,
        DOMAIN_EVENT_CRASHED = 8,

        DOMAIN_EVENT_DEFINED_ADDED = 0,
        DOMAIN_EVENT_DEFINED_UPDATED = 1,
        DOMAIN_EVENT_UNDEFINED_REMOVED = 0,
        DOMAIN_EVENT_STARTED_BOOTED = 0,
        DOMAIN_EVENT_SUSPENDED_PAUSED = 0,
        DOMAIN_EVENT_RESUMED_UNPAUSED = 0,
        DOMAIN_EVENT_STOPPED_SHUTDOWN = 0,
        DOMAIN_EVENT_STOPPED_DESTROYED = 1,
        DOMAIN_EVENT_STOPPED_CRASHED = 2,
        DOMAIN_EVENT_STOPPED_FAILED = 5,
        DOMAIN_EVENT_SHUTDOWN_FINISHED = 0,
        DOMAIN_EVENT_SHUTDOWN_GUEST = 1,
        DOMAIN_EVENT_SHUTDOWN_HOST = 2,
};

typedef struct QmpClient QmpClient;
typedef struct Domain Domain;

/* The floor of a running interface of type 'network' while it is plugged into its network's
 * bridge: class 1:class_id there, and floor KiB/s counted in the network's floor sum. Kept in
 * the domain status (alias ↔ class id) so that an unplug after a restart releases the right id. */
typedef struct DomainNetFloor {
        uint16_t class_id; /* 0: nothing plugged */
        uint64_t floor;
} DomainNetFloor;

struct Domain {
        Manager *manager;
        DomainDef *config;    /* persistent definition; NULL for a transient domain */
        DomainDef *live;      /* the running definition (aliases, ifnames, id); NULL when shut off */
        DomainNetFloor *floors; /* while active: one per live->nets[] (qos-driver.c) */
        bool autostart;
        char *path;           /* D-Bus object path */

        DomainState state;
        int reason;

        /* while running */
        pid_t pid;
        bool is_child;        /* spawned by this daemon (else adopted after a restart) */
        int pidfd;
        sd_event_source *pid_source;
        QmpClient *qmp;
        char *qmp_socket;
        bool starting;        /* spawned, "cont" not answered yet */
        sd_bus_message *start_call; /* answered when the start is done */
        bool start_reply_path;
        bool announced;       /* STARTED was emitted: a stop emits STOPPED */
        bool guest_shutdown;  /* QEMU reported SHUTDOWN: its exit is a clean shutdown */
        bool stopping;        /* Destroy in progress: the exit is expected */
        int stop_reason;      /* DOMAIN_SHUTOFF_* to report when the process goes */
        bool fake_reboot;     /* Reboot: reset instead of quitting on the guest's SHUTDOWN */
        sd_event_source *kill_timer;
        sd_bus_message **waiters; /* method calls answered when the process is gone */
        size_t n_waiters;

        Domain *next;
};

static inline bool domain_is_active(const Domain *d) {
        return d->live;
}
static inline bool domain_is_persistent(const Domain *d) {
        return d->config;
}
static inline const DomainDef *domain_current_def(const Domain *d) {
        return d->live ?: d->config;
}

Domain *domain_free(Domain *d);
Domain *manager_find_domain_by_name(Manager *m, const char *name);
Domain *manager_find_domain_by_uuid(Manager *m, const Uuid *uuid);
Domain *manager_find_domain_by_id(Manager *m, int id);
Domain *manager_find_domain_by_path(Manager *m, const char *path);
size_t manager_count_active_domains(Manager *m);
/* Active with a QEMU process (not still before its spawn). */
size_t manager_count_running_guests(Manager *m);

int domain_driver_load(Manager *m);
void domain_driver_autostart(Manager *m);

int domain_define_xml(Manager *m, const char *xml, Domain **ret, sd_bus_error *error);
int domain_undefine(Domain *d, sd_bus_error *error);
int domain_set_autostart(Domain *d, bool autostart, sd_bus_error *error);
/* Answers call (when set) once the guest runs or failed: see domain_process_start(). */
int domain_start(Domain *d, sd_bus_message *call, bool reply_path, sd_bus_error *error);
int domain_create_xml(Manager *m, const char *xml, sd_bus_message *call, sd_bus_error *error);

/* SetInterfaceParameters: the bandwidth of live interface live_i and/or persistent interface
 * config_i (SIZE_MAX: not affected), already checked. The live change re-programs the kernel
 * (qos_interface_update()); the persistent one is saved. */
int domain_set_interface_bandwidth(Domain *d, size_t live_i, const Bandwidth *live, size_t config_i,
                                   const Bandwidth *config, sd_bus_error *error);

/* Saves the live definition + process data to $RUNTIME_DIRECTORY/qemu/NAME.status.xml. */
int domain_save_status(Domain *d);
/* The process is gone (or never came up): release everything, emit STOPPED, answer waiters.
 * May free d (transient domains disappear). */
void domain_process_gone(Domain *d, int shutoff_reason, int event_detail);

void domain_set_state(Domain *d, DomainState state, int reason);
int domain_emit_event(Domain *d, int event, int detail);
