/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>

#include "domain-driver.h"
#include "domain-process.h"
#include "domain.h"
#include "host-shutdown.h"
#include "log.h"

/* "stopping" while shutdown.target (poweroff, reboot, halt, kexec) is on its way. */
static bool host_is_stopping(Manager *m) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *state = NULL;
        int r;

        r = sd_bus_get_property_string(m->bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                       "org.freedesktop.systemd1.Manager", "SystemState", &error, &state);
        if (r < 0) {
                log_debug("Cannot read systemd's SystemState: %s", error.message ?: strerror(-r));
                sd_bus_error_free(&error);
                return false;
        }
        return streq(state, "stopping");
}

static int on_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        log_warning("%zu guest(s) still running after %" PRIu64 " s; leaving them to systemd.",
                    manager_count_running_guests(m), m->shutdown_timeout_usec / 1000000);
        return sd_event_exit(m->event, 0);
}

bool host_shutdown_begin(Manager *m) {
        size_t pressed = 0;
        int r;

        /* the timer exists once the wait is on: a second SIGTERM ends it */
        if (m->host_shutdown_timer || !m->use_scopes || m->shutdown_timeout_usec == 0 ||
            manager_count_running_guests(m) == 0 || !host_is_stopping(m))
                return false;

        for (Domain *d = m->domains; d; d = d->next) {
                sd_bus_error error = SD_BUS_ERROR_NULL;

                if (!domain_is_active(d) || d->pid <= 0)
                        continue;
                /* A paused guest cannot act on the button: systemd stops it with its scope. */
                if (d->state != DOMAIN_STATE_RUNNING) {
                        log_domain_def(LOG_NOTICE, 0, domain_current_def(d),
                                       "Host shutdown: domain %s is not running, leaving it to systemd.",
                                       domain_current_def(d)->name);
                        continue;
                }
                r = domain_process_shutdown(d, false, &error);
                if (r < 0)
                        log_domain_def(LOG_WARNING, r, domain_current_def(d), "Host shutdown: %s", error.message);
                else {
                        log_domain_def(LOG_NOTICE, 0, domain_current_def(d),
                                       "Host shutdown: pressed the power button of domain %s.",
                                       domain_current_def(d)->name);
                        pressed++;
                }
                sd_bus_error_free(&error);
        }
        if (pressed == 0)
                return false;

        r = sd_event_add_time_relative(m->event, &m->host_shutdown_timer, CLOCK_MONOTONIC, m->shutdown_timeout_usec,
                                       0, on_timeout, m);
        if (r < 0) {
                log_warning_errno(r, "Cannot arm the host shutdown timer: %m");
                return false;
        }
        log_info("Host shutdown: waiting up to %" PRIu64 " s for %zu guest(s) to power off.",
                 m->shutdown_timeout_usec / 1000000, pressed);
        return true;
}

void host_shutdown_domain_gone(Manager *m) {
        if (m->host_shutdown_timer && manager_count_running_guests(m) == 0) {
                log_info("Host shutdown: every guest has powered off.");
                (void) sd_event_exit(m->event, 0);
        }
}
