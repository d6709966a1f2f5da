/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <getopt.h>
#include <inttypes.h>

#include "i18n.h"
#include "log.h"
#include "manager.h"

static void help(void) {
        printf(_("%s [OPTIONS...]\n\n"
                 "Manages QEMU domains and virtual networks; serves org.libvirt on the system bus.\n\n"
                 "  -h --help                 Show this help\n"
                 "     --version             Show the version\n"
                 "     --log-level=LEVEL     debug, info, notice, warning or err\n"
                 "     --idle-timeout=SEC    Exit after SEC seconds without calls (0: never)\n"
                 "     --shutdown-timeout=SEC\n"
                 "                           When the host shuts down, wait up to SEC seconds for\n"
                 "                           guests to power off (0: do not; default 120)\n"
                 "     --state-dir=DIR       Persistent state (default $STATE_DIRECTORY or /var/lib/virtbus)\n"
                 "     --runtime-dir=DIR     Runtime state (default $RUNTIME_DIRECTORY or /run/virtbus)\n"),
               program_invocation_short_name);
}

static int parse_level(const char *s) {
        static const char *const names[] = { "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug" };

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(s, names[i]))
                        return (int) i;
        return -EINVAL;
}

/* Whole seconds, at most UINT32_MAX, into microseconds. */
static int parse_seconds(const char *s, uint64_t *ret) {
        unsigned long long v;
        char *end;

        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || *end || end == s || *s == '-' || v > UINT32_MAX)
                return -EINVAL;
        *ret = v * UINT64_C(1000000);
        return 0;
}

int main(int argc, char *argv[]) {
        enum { ARG_VERSION = 0x100, ARG_LOG_LEVEL, ARG_IDLE, ARG_SHUTDOWN, ARG_STATE, ARG_RUNTIME };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "idle-timeout", required_argument, NULL, ARG_IDLE },
                { "shutdown-timeout", required_argument, NULL, ARG_SHUTDOWN },
                { "state-dir", required_argument, NULL, ARG_STATE },
                { "runtime-dir", required_argument, NULL, ARG_RUNTIME },
                {}
        };
        _cleanup_(manager_freep) Manager *m = NULL;
        const char *state_dir = NULL, *runtime_dir = NULL;
        uint64_t idle = 0, shutdown_timeout = 0;
        bool has_shutdown_timeout = false;
        int c, r;

        i18n_init();
        log_set_ident("virtbusd");

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("virtbusd %s\n", PACKAGE_VERSION);
                        return 0;
                case ARG_LOG_LEVEL:
                        r = parse_level(optarg);
                        if (r < 0) {
                                log_error("Unknown log level '%s'.", optarg);
                                return 2;
                        }
                        log_set_max_level(r);
                        break;
                case ARG_IDLE:
                        if (parse_seconds(optarg, &idle) < 0) {
                                log_error("Invalid idle timeout '%s'.", optarg);
                                return 2;
                        }
                        break;
                case ARG_SHUTDOWN:
                        if (parse_seconds(optarg, &shutdown_timeout) < 0) {
                                log_error("Invalid shutdown timeout '%s'.", optarg);
                                return 2;
                        }
                        has_shutdown_timeout = true;
                        break;
                case ARG_STATE:
                        state_dir = optarg;
                        break;
                case ARG_RUNTIME:
                        runtime_dir = optarg;
                        break;
                default:
                        return 2;
                }
        if (optind < argc) {
                log_error("This program takes no arguments.");
                return 2;
        }

        r = manager_new(&m);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate manager: %m"), 1;
        m->idle_timeout_usec = idle;
        if (has_shutdown_timeout)
                m->shutdown_timeout_usec = shutdown_timeout;
        r = manager_set_dirs(m, state_dir, runtime_dir);
        if (r < 0)
                return log_oom(), 1;
        r = manager_startup(m);
        if (r < 0)
                return 1;
        r = manager_run(m);
        return r < 0 ? 1 : 0;
}
