/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <signal.h>
#include <systemd/sd-daemon.h>

#include "connect.h"
#include "domain-driver.h"
#include "domain.h"
#include "fileio.h"
#include "host-shutdown.h"
#include "log.h"
#include "manager.h"
#include "network-driver.h"
#include "network.h"
#include "network1.h"
#include "polkit.h"
#include "properties.h"
#include "qos-driver.h"

#define BUS_NAME "org.libvirt"

int manager_new(Manager **ret) {
        _cleanup_(manager_freep) Manager *m = calloc(1, sizeof *m);
        int r;

        if (!m)
                return -ENOMEM;
        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        while (m->domains) {
                Domain *d = m->domains;
                m->domains = d->next;
                domain_free(d); /* guests keep running: only our handles go */
        }
        while (m->networks) {
                Network *n = m->networks;
                m->networks = n->next;
                network_free(n);
        }
        sd_event_source_unref(m->idle_timer);
        sd_event_source_unref(m->host_shutdown_timer);
        polkit_registry_free(m->polkit);
        sd_bus_flush_close_unref(m->bus);
        sd_event_unref(m->event);
        free(m->state_dir);
        free(m->runtime_dir);
        free(m->network_dir);
        free(m->autostart_dir);
        free(m->helper_socket);
        free(m->domain_dir);
        free(m->domain_autostart_dir);
        free(m->qemu_runtime_dir);
        free(m->qemu_cache_dir);
        free(m->qemu_log_dir);
        return mfree(m);
}

/* $STATE_DIRECTORY may list several directories separated by ':'; the first is ours. */
static char *first_dir(const char *env, const char *fallback) {
        const char *e = getenv(env);

        if (isempty(e))
                return strdup(fallback);
        return strndup(e, strcspn(e, ":"));
}

int manager_set_dirs(Manager *m, const char *state_dir, const char *runtime_dir) {
        m->state_dir = state_dir ? strdup(state_dir) : first_dir("STATE_DIRECTORY", "/var/lib/virtbus");
        m->runtime_dir = runtime_dir ? strdup(runtime_dir) : first_dir("RUNTIME_DIRECTORY", "/run/virtbus");
        if (!m->state_dir || !m->runtime_dir)
                return -ENOMEM;
        m->network_dir = path_join3(m->state_dir, "network", NULL);
        m->autostart_dir = path_join3(m->state_dir, "network/autostart", NULL);
        m->helper_socket = path_join3(m->runtime_dir, "nethelper.sock", NULL);
        m->use_scopes = sd_booted() > 0;
        m->domain_dir = path_join3(m->state_dir, "qemu", NULL);
        m->domain_autostart_dir = path_join3(m->state_dir, "qemu/autostart", NULL);
        m->qemu_runtime_dir = path_join3(m->runtime_dir, "qemu", NULL);
        m->qemu_cache_dir = path_join3(m->state_dir, "cache/qemu", NULL);
        m->qemu_log_dir = path_join3(m->state_dir, "log/qemu", NULL);
        if (!m->network_dir || !m->autostart_dir || !m->helper_socket || !m->domain_dir ||
            !m->domain_autostart_dir || !m->qemu_runtime_dir || !m->qemu_cache_dir || !m->qemu_log_dir)
                return -ENOMEM;
        m->next_domain_id = 1;
        m->shutdown_timeout_usec = 120 * UINT64_C(1000000);
        return 0;
}

static int idle_timer_handler(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        /* Networks live on in the kernel without us, but running guests need us watching them. */
        if (manager_count_active_domains(m) > 0) {
                manager_bump_idle(m);
                return 0;
        }
        log_info("Idle for %" PRIu64 "s, exiting.", m->idle_timeout_usec / 1000000);
        return sd_event_exit(m->event, 0);
}

void manager_bump_idle(Manager *m) {
        uint64_t now;

        if (!m->idle_timer)
                return;
        if (sd_event_now(m->event, CLOCK_MONOTONIC, &now) < 0)
                return;
        (void) sd_event_source_set_time(m->idle_timer, now + m->idle_timeout_usec);
        (void) sd_event_source_set_enabled(m->idle_timer, SD_EVENT_ONESHOT);
}

static int signal_handler(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        /* The host going down: give the guests their power button first (a second signal during
         * that wait ends it). */
        if (si->ssi_signo == SIGTERM && host_shutdown_begin(m))
                return 0;
        log_info("Received %s, exiting.", strsignal(si->ssi_signo));
        return sd_event_exit(m->event, 0);
}

static int manager_connect_bus(Manager *m) {
        int r;

        /* Honours DBUS_SYSTEM_BUS_ADDRESS, so tests and the sandbox can use a private bus. */
        r = sd_bus_open_system(&m->bus);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to the system bus: %m");
        (void) sd_bus_set_description(m->bus, "virtbusd");
        r = sd_bus_set_exit_on_disconnect(m->bus, true);
        if (r < 0)
                return r;
        r = sd_bus_attach_event(m->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Failed to attach bus to event loop: %m");

        r = polkit_registry_new(m->bus, &m->polkit);
        if (r < 0)
                return log_error_errno(r, "Failed to set up authorization: %m");

        r = sd_bus_add_object_vtable(m->bus, NULL, CONNECT_PATH, "org.libvirt.Connect", connect_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register %s: %m", CONNECT_PATH);
        r = sd_bus_add_fallback_vtable(m->bus, NULL, NETWORK_PATH_PREFIX, "org.libvirt.Network", network_vtable,
                                       network_object_find, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register network objects: %m");
        r = sd_bus_add_fallback_vtable(m->bus, NULL, NETWORK_PATH_PREFIX, "org.virtbus.Network1", network1_vtable,
                                       network_object_find, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register network objects: %m");
        r = sd_bus_add_node_enumerator(m->bus, NULL, NETWORK_PATH_PREFIX, network_node_enumerator, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register network enumerator: %m");
        r = sd_bus_add_fallback_vtable(m->bus, NULL, DOMAIN_PATH_PREFIX, "org.libvirt.Domain", domain_vtable,
                                       domain_object_find, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register domain objects: %m");
        r = sd_bus_add_node_enumerator(m->bus, NULL, DOMAIN_PATH_PREFIX, domain_node_enumerator, m);
        if (r < 0)
                return log_error_errno(r, "Failed to register domain enumerator: %m");
        r = properties_install_libvirt_getall(m);
        if (r < 0)
                return log_error_errno(r, "Failed to install the GetAll filter: %m");
        return 0;
}

int manager_startup(Manager *m) {
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGCHLD); /* sd-event watches our QEMU children */
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");
        r = sd_event_add_signal(m->event, NULL, SIGTERM, signal_handler, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, signal_handler, m);
        if (r < 0)
                return log_error_errno(r, "Failed to install signal handlers: %m");

        r = mkdir_p(m->state_dir, 0755);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", m->state_dir);

        r = manager_connect_bus(m);
        if (r < 0)
                return r;

        /* Objects first, the name last: a client that sees the name can use every object. */
        r = network_driver_load(m);
        if (r < 0)
                return r;
        r = domain_driver_load(m);
        if (r < 0)
                return r;
        /* Books and kernel agree before anything new is started. */
        qos_reconcile(m);
        network_driver_autostart(m);
        domain_driver_autostart(m); /* after networks: guests need their bridges */

        r = sd_bus_request_name(m->bus, BUS_NAME, 0);
        if (r < 0)
                return log_error_errno(r, "Failed to acquire bus name %s: %m", BUS_NAME);

        if (m->idle_timeout_usec > 0) {
                r = sd_event_add_time_relative(m->event, &m->idle_timer, CLOCK_MONOTONIC, m->idle_timeout_usec, 0,
                                               idle_timer_handler, m);
                if (r < 0)
                        return log_error_errno(r, "Failed to set up idle timer: %m");
        }

        (void) sd_notify(false, "READY=1\nSTATUS=Serving org.libvirt.");
        log_info("virtbusd %s ready (state %s, runtime %s).", PACKAGE_VERSION, m->state_dir, m->runtime_dir);
        return 0;
}

int manager_run(Manager *m) {
        int r;

        r = sd_event_loop(m->event);
        (void) sd_notify(false, "STOPPING=1");
        return r;
}
