/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-login.h>

#include "fileio.h"
#include "handlers.h"
#include "log.h"
#include "macro.h"
#include "scope.h"

#define SCOPE_START_TIMEOUT_USEC (30ULL * 1000 * 1000)
/* machined may be bus-activated for it; the daemon waits for both (SCOPE_TIMEOUT_MS) */
#define REGISTER_MACHINE_TIMEOUT_USEC (10ULL * 1000 * 1000)

/* The first number of "Key:\t..." in /proc/PID/status. */
static int status_number(const char *status, const char *key, long *ret) {
        size_t n = strlen(key);

        for (const char *l = status; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
                if (strncmp(l, key, n) == 0 && l[n] == ':') {
                        char *end;

                        errno = 0;
                        *ret = strtol(l + n + 1, &end, 10);
                        if (errno != 0 || end == l + n + 1)
                                return -EBADMSG;
                        return 0;
                }
        return -ENOENT;
}

static int check_child(uint32_t pid, pid_t peer_pid, uid_t peer_uid, NhReply *reply) {
        _cleanup_free_ char *status = NULL;
        char path[64];
        long ppid, uid;
        int r;

        snprintf(path, sizeof path, "/proc/%u/status", pid);
        r = read_full_file(path, 64 * 1024, &status, NULL);
        if (r == -ENOENT)
                return reply_error(reply, ESRCH, "process %u does not exist", pid);
        if (r < 0)
                return reply_error(reply, r, "cannot read %s: %s", path, strerror(-r));
        if (status_number(status, "PPid", &ppid) < 0 || status_number(status, "Uid", &uid) < 0)
                return reply_error(reply, EIO, "cannot parse %s", path);
        /* A zombie's parent is still the caller: the daemon does not reap while it waits for us. */
        if (ppid != peer_pid)
                return reply_error(reply, EPERM, "process %u is not a child of the caller (pid %d)", pid,
                                   (int) peer_pid);
        if (uid != (long) peer_uid)
                return reply_error(reply, EPERM, "process %u does not run as the caller's user %u", pid,
                                   (unsigned) peer_uid);
        return 0;
}

typedef struct JobWait {
        const char *unit;
        char result[32];
        bool done;
} JobWait;

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        JobWait *w = userdata;
        const char *path, *unit, *result;
        uint32_t id;

        if (sd_bus_message_read(m, "uoss", &id, &path, &unit, &result) < 0)
                return 0;
        /* Matched by unit, not job path: the signal may come before the reply that names the job. */
        if (strcmp(unit, w->unit) == 0) {
                snprintf(w->result, sizeof w->result, "%s", result);
                w->done = true;
        }
        return 0;
}

static int start_scope(sd_bus *bus, const NhScopeCreate *req, const char *daemon_unit, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                           "org.freedesktop.systemd1.Manager", "StartTransientUnit");
        if (r < 0)
                return r;
        /* "fail": a scope of that name already queued or running is an error, never merged. */
        r = sd_bus_message_append(m, "ss", req->unit, "fail");
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', "(sv)");
        if (r >= 0)
                r = sd_bus_message_append(m, "(sv)(sv)(sv)(sv)",
                                          "Description", "s", "virtbus QEMU guest",
                                          "Slice", "s", "machine.slice",
                                          /* gone once QEMU has exited, whatever its exit code */
                                          "CollectMode", "s", "inactive-or-failed",
                                          "PIDs", "au", 1, req->pid);
        /* Before= the daemon's unit: stop jobs run in the reverse order, so when the host shuts
         * down the scope is stopped after the daemon, which presses the guests' power buttons
         * while it stops (host-shutdown.c). */
        if (r >= 0 && daemon_unit)
                r = sd_bus_message_append(m, "(sv)", "Before", "as", 1, daemon_unit);
        if (r >= 0)
                r = sd_bus_message_close_container(m);
        if (r >= 0)
                r = sd_bus_message_append(m, "a(sa(sv))", 0);
        if (r < 0)
                return r;
        return sd_bus_call(bus, m, SCOPE_START_TIMEOUT_USEC, error, &reply);
}

/* Whether /proc/PID/cgroup puts pid in the scope (any hierarchy line ending in "/UNIT"). */
static bool in_scope(uint32_t pid, const char *unit) {
        _cleanup_free_ char *cgroup = NULL;
        char path[64];
        size_t n = strlen(unit);

        snprintf(path, sizeof path, "/proc/%u/cgroup", pid);
        if (read_full_file(path, 64 * 1024, &cgroup, NULL) < 0)
                return false;
        for (char *l = strtok(cgroup, "\n"); l; l = strtok(NULL, "\n")) {
                size_t k = strlen(l);

                if (k > n && l[k - n - 1] == '/' && strcmp(l + k - n, unit) == 0)
                        return true;
        }
        return false;
}

/* RegisterMachine: machined takes the scope the leader is in as the machine's unit and drops the
 * registration when that unit goes. Without machined installed this is skipped, quietly. */
static void register_machine(sd_bus *bus, const NhScopeCreate *req, NhReply *reply) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *answer = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, "org.freedesktop.machine1", "/org/freedesktop/machine1",
                                           "org.freedesktop.machine1.Manager", "RegisterMachine");
        if (r >= 0)
                r = sd_bus_message_append(m, "s", req->machine);
        if (r >= 0)
                r = sd_bus_message_append_array(m, 'y', req->uuid, sizeof req->uuid);
        if (r >= 0)
                r = sd_bus_message_append(m, "ssus", "virtbus", "vm", req->pid, "");
        if (r >= 0)
                r = sd_bus_call(bus, m, REGISTER_MACHINE_TIMEOUT_USEC, &error, &answer);
        if (r >= 0)
                log_debug("Registered machine %s (pid %u) with systemd-machined.", req->machine, req->pid);
        else if (sd_bus_error_has_names(&error, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                log_debug("systemd-machined is not available, machine %s not registered.", req->machine);
        else
                /* The guest runs all the same: a warning in the reply, not a failure. */
                snprintf(reply->message, sizeof reply->message, "cannot register machine %s with systemd-machined: %s",
                         req->machine, error.message ?: strerror(-r));
        sd_bus_error_free(&error);
}

int nethelper_scope_create(const NhScopeCreate *req, pid_t peer_pid, uid_t peer_uid, NhReply *reply) {
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        _cleanup_(sd_bus_slot_unrefp) sd_bus_slot *slot = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        JobWait wait = { .unit = req->unit };
        _cleanup_free_ char *peer_unit = NULL;
        uint64_t deadline;
        int r;

        r = check_child(req->pid, peer_pid, peer_uid, reply);
        if (r < 0)
                return r;

        r = sd_bus_open_system(&bus);
        if (r < 0)
                return reply_error(reply, r, "cannot connect to the system bus to create scope %s: %s", req->unit,
                                   strerror(-r));
        /* Subscribe before the call, or the job may finish unseen. */
        r = sd_bus_match_signal(bus, &slot, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                "org.freedesktop.systemd1.Manager", "JobRemoved", on_job_removed, &wait);
        if (r < 0)
                return reply_error(reply, r, "cannot watch systemd's jobs: %s", strerror(-r));

        /* The daemon's own unit, e.g. virtbusd.service; none when it was started by hand. */
        if (sd_pid_get_unit(peer_pid, &peer_unit) < 0 || !endswith(peer_unit, ".service"))
                peer_unit = mfree(peer_unit);
        deadline = now_monotonic_usec() + SCOPE_START_TIMEOUT_USEC; /* the call and the job together */
        r = start_scope(bus, req, peer_unit, &error);
        if (r < 0) {
                r = reply_error(reply, r, "systemd did not create scope %s: %s", req->unit,
                                error.message ?: strerror(-r));
                sd_bus_error_free(&error);
                return r;
        }

        while (!wait.done) {
                uint64_t now = now_monotonic_usec();

                if (now >= deadline)
                        return reply_error(reply, ETIMEDOUT, "systemd did not start scope %s in time", req->unit);
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        return reply_error(reply, r, "lost the system bus while starting scope %s: %s", req->unit,
                                           strerror(-r));
                if (r > 0)
                        continue;
                r = sd_bus_wait(bus, deadline - now);
                if (r < 0 && r != -EINTR)
                        return reply_error(reply, r, "lost the system bus while starting scope %s: %s", req->unit,
                                           strerror(-r));
        }
        if (strcmp(wait.result, "done") != 0)
                return reply_error(reply, EIO, "systemd's start job for scope %s ended with \"%s\"", req->unit,
                                   wait.result);
        if (!in_scope(req->pid, req->unit))
                return reply_error(reply, EIO, "process %u is not in scope %s after its start", req->pid, req->unit);
        if (req->machine[0])
                register_machine(bus, req, reply);
        return 0;
}
