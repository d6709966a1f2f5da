/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "domain-driver.h"
#include "domain-net.h"
#include "domain-process.h"
#include "domain-status.h"
#include "errors.h"
#include "fdpass.h"
#include "fileio.h"
#include "i18n.h"
#include "log.h"
#include "qemu-caps-probe.h"
#include "qemu-command.h"
#include "qmp.h"
#include "unit-name.h"

#define KILL_GRACE_USEC (5ULL * 1000000ULL)
#define LOG_TAIL_MAX 1024

#define log_domain(level, error, d, ...) \
        log_domain_def(level, error, domain_current_def(d), __VA_ARGS__)

/* The helper waits up to 30 s for systemd's start job, then up to 10 s for machined (which may
 * be bus-activated first). */
#define SCOPE_TIMEOUT_MS (45 * 1000)

static void on_qmp_event(QmpClient *c, const char *event, const JsonValue *data, uint64_t ts, void *userdata);
static void on_qmp_disconnect(QmpClient *c, int error, void *userdata);

/* The last lines QEMU wrote to its log: the reason a start failed, for the user. */
static char *log_tail(Domain *d) {
        _cleanup_free_ char *path = path_join3(d->manager->qemu_log_dir, domain_current_def(d)->name, ".log");
        _cleanup_free_ char *content = NULL;
        size_t size = 0;
        char *p;

        if (!path || read_full_file(path, 16 * 1024 * 1024, &content, &size) < 0 || size == 0)
                return strdup("");
        while (size > 0 && (content[size - 1] == '\n' || content[size - 1] == '\r'))
                content[--size] = 0;
        p = size > LOG_TAIL_MAX ? content + size - LOG_TAIL_MAX : content;
        /* last line only: QEMU's error */
        if (strrchr(p, '\n'))
                p = strrchr(p, '\n') + 1;
        return strdup(p);
}

void domain_answer_waiters(Domain *d) {
        for (size_t i = 0; i < d->n_waiters; i++) {
                (void) sd_bus_reply_method_return(d->waiters[i], NULL);
                sd_bus_message_unref(d->waiters[i]);
        }
        d->waiters = mfree(d->waiters);
        d->n_waiters = 0;
}

static int add_waiter(Domain *d, sd_bus_message *call) {
        sd_bus_message **w = reallocarray(d->waiters, d->n_waiters + 1, sizeof *w);

        if (!w)
                return -ENOMEM;
        d->waiters = w;
        d->waiters[d->n_waiters++] = sd_bus_message_ref(call);
        return 0;
}

void domain_process_release(Domain *d) {
        if (d->qmp) {
                qmp_client_close(d->qmp);
                d->qmp = qmp_client_unref(d->qmp);
        }
        d->pid_source = sd_event_source_disable_unref(d->pid_source);
        d->kill_timer = sd_event_source_disable_unref(d->kill_timer);
        d->pidfd = safe_close(d->pidfd);
}

static void reply_start(Domain *d, const sd_bus_error *error) {
        sd_bus_message *call = TAKE_PTR(d->start_call);

        d->starting = false;
        if (!call)
                return;
        if (error)
                (void) sd_bus_reply_method_error(call, error);
        else if (d->start_reply_path)
                (void) sd_bus_reply_method_return(call, "o", d->path);
        else
                (void) sd_bus_reply_method_return(call, NULL);
        sd_bus_message_unref(call);
}

/* The start failed after QEMU was spawned: tell the caller, make sure QEMU is gone, clean up.
 * May free d. */
static void start_failed(Domain *d, const char *why) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        _cleanup_free_ char *tail = log_tail(d);

        libvirt_error_setf(&error, EIO, _("operation failed: domain '%s' did not start: %s%s%s"),
                           domain_current_def(d)->name, why, isempty(tail) ? "" : ": ", strempty(tail));
        log_domain(LOG_ERR, 0, d, "%s", error.message);
        reply_start(d, &error);
        if (d->pid > 0)
                (void) kill(d->pid, SIGKILL);
        domain_process_gone(d, DOMAIN_SHUTOFF_FAILED, DOMAIN_EVENT_STOPPED_FAILED);
}

static void process_exited(Domain *d, const char *how) {
        int reason, detail;

        log_domain(LOG_INFO, 0, d, "QEMU of domain %s (pid %d) %s.", domain_current_def(d)->name, (int) d->pid, how);
        d->pid = 0;
        if (d->starting && !d->stopping) {
                start_failed(d, "QEMU exited");
                return;
        }
        if (d->starting) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                libvirt_error_setf(&error, ECANCELED, _("operation failed: domain '%s' was destroyed while starting"),
                                   domain_current_def(d)->name);
                reply_start(d, &error);
        }
        if (d->stopping) {
                reason = d->stop_reason;
                detail = reason == DOMAIN_SHUTOFF_DESTROYED ? DOMAIN_EVENT_STOPPED_DESTROYED : DOMAIN_EVENT_STOPPED_SHUTDOWN;
        } else if (d->guest_shutdown) {
                reason = DOMAIN_SHUTOFF_SHUTDOWN;
                detail = DOMAIN_EVENT_STOPPED_SHUTDOWN;
        } else {
                reason = DOMAIN_SHUTOFF_CRASHED;
                detail = DOMAIN_EVENT_STOPPED_FAILED;
        }
        domain_process_gone(d, reason, detail);
}

static int on_child_exit(sd_event_source *s, const siginfo_t *si, void *userdata) {
        Domain *d = userdata;
        char how[64];

        if (si->si_code == CLD_EXITED)
                snprintf(how, sizeof how, "exited with status %d", si->si_status);
        else
                snprintf(how, sizeof how, "was killed by signal %d", si->si_status);
        process_exited(d, how);
        return 0;
}

static int on_pidfd(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        process_exited(userdata, "exited");
        return 0;
}

static int on_kill_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Domain *d = userdata;

        if (d->pid > 0) {
                log_domain(LOG_WARNING, 0, d, "QEMU of domain %s ignored SIGTERM, killing it.", domain_current_def(d)->name);
                (void) kill(d->pid, SIGKILL);
        }
        return 0;
}

static int watch_adopted_pid(Domain *d) {
        int fd, r;

        fd = (int) syscall(SYS_pidfd_open, d->pid, 0);
        if (fd < 0)
                return -errno;
        d->pidfd = fd;
        r = sd_event_add_io(d->manager->event, &d->pid_source, fd, EPOLLIN, on_pidfd, d);
        return r < 0 ? r : 0;
}

static void on_cont(QmpClient *c, int error, const JsonValue *result, const char *error_class, const char *error_desc,
                    void *userdata) {
        Domain *d = userdata;
        _cleanup_free_ char *why = NULL;

        if (error == -ECANCELED)
                return; /* we closed the client: whoever did that handles the domain */
        if (error < 0) {
                if (asprintf(&why, "cannot start its CPUs: %s", error_desc ?: strerror(-error)) < 0)
                        why = NULL;
                start_failed(d, why ?: "cannot start its CPUs");
                return;
        }
        domain_set_state(d, DOMAIN_STATE_RUNNING, DOMAIN_RUNNING_BOOTED);
        d->announced = true;
        (void) domain_save_status(d);
        log_domain(LOG_INFO, 0, d, "Domain %s started (pid %d).", d->live->name, (int) d->pid);
        (void) domain_emit_event(d, DOMAIN_EVENT_STARTED, DOMAIN_EVENT_STARTED_BOOTED);
        reply_start(d, NULL);
}

static int qmp_attach(Domain *d) {
        int r;

        r = qmp_connect(d->manager->event, d->qmp_socket, &d->qmp);
        if (r < 0)
                return r;
        qmp_set_event_handler(d->qmp, on_qmp_event, d);
        qmp_set_disconnect_handler(d->qmp, on_qmp_disconnect, d);
        return 0;
}

static void on_qmp_disconnect(QmpClient *c, int error, void *userdata) {
        Domain *d = userdata;

        /* QEMU closes QMP as it exits; the process watch reports the exit itself. A QMP that
         * never came up while starting is a failed start. */
        if (d->starting && d->pid > 0) {
                start_failed(d, error == -ETIMEDOUT ? "its QMP socket did not answer" : "its QMP connection failed");
                return;
        }
        log_domain(LOG_DEBUG, error, d, "QMP connection of domain %s closed.", domain_current_def(d)->name);
}

static void on_reset_done(QmpClient *c, int error, const JsonValue *result, const char *error_class,
                          const char *error_desc, void *userdata) {
        Domain *d = userdata;

        if (error == -ECANCELED)
                return;
        if (error < 0) {
                log_domain(LOG_ERR, error, d, "Reboot of domain %s failed: %s", domain_current_def(d)->name,
                           strna(error_desc));
                return;
        }
        (void) qmp_execute(d->qmp, "cont", NULL, NULL, NULL);
}

static void on_qmp_event(QmpClient *c, const char *event, const JsonValue *data, uint64_t ts, void *userdata) {
        Domain *d = userdata;

        if (!d->live)
                return;
        if (streq(event, "STOP")) {
                if (d->starting || d->state != DOMAIN_STATE_RUNNING)
                        return;
                domain_set_state(d, DOMAIN_STATE_PAUSED, DOMAIN_PAUSED_USER);
                (void) domain_save_status(d);
                (void) domain_emit_event(d, DOMAIN_EVENT_SUSPENDED, DOMAIN_EVENT_SUSPENDED_PAUSED);
        } else if (streq(event, "RESUME")) {
                if (d->starting || d->state != DOMAIN_STATE_PAUSED)
                        return;
                domain_set_state(d, DOMAIN_STATE_RUNNING, DOMAIN_RUNNING_UNPAUSED);
                (void) domain_save_status(d);
                (void) domain_emit_event(d, DOMAIN_EVENT_RESUMED, DOMAIN_EVENT_RESUMED_UNPAUSED);
        } else if (streq(event, "SHUTDOWN")) {
                const JsonValue *guest = data ? json_object_get(data, "guest") : NULL;
                bool by_guest = guest && json_is_type(guest, JSON_BOOLEAN) && json_boolean(guest);

                if (d->stopping)
                        return; /* our own SIGTERM: Destroy reports the stop */
                if (d->fake_reboot) {
                        /* Reboot(): the guest shut down on the power button; start it again */
                        d->fake_reboot = false;
                        (void) qmp_execute(d->qmp, "system_reset", NULL, on_reset_done, d);
                        return;
                }
                d->guest_shutdown = true;
                domain_set_state(d, DOMAIN_STATE_SHUTDOWN, DOMAIN_SHUTDOWN_USER);
                (void) domain_emit_event(d, DOMAIN_EVENT_SHUTDOWN,
                                         by_guest ? DOMAIN_EVENT_SHUTDOWN_GUEST : DOMAIN_EVENT_SHUTDOWN_HOST);
                /* -no-shutdown kept QEMU around so that we see this; now let it go */
                (void) qmp_execute(d->qmp, "quit", NULL, NULL, NULL);
        }
}

/* fork + exec without a shell. The child keeps exactly stdio and `keep` fds (under the same
 * numbers the command line names), runs in its own session and outlives the daemon. */
static int spawn_qemu(char **argv, const int *keep, size_t n_keep, const char *log_path, pid_t *ret) {
        _cleanup_close_ int logfd = -EBADF;
        pid_t pid;

        logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOCTTY, 0600);
        if (logfd < 0)
                return -errno;

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                sigset_t none;
                int nullfd;

                sigemptyset(&none);
                (void) sigprocmask(SIG_SETMASK, &none, NULL); /* the daemon blocks SIGTERM for sd-event */
                (void) setsid();
                nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
                if (nullfd < 0 || dup2(nullfd, STDIN_FILENO) < 0 || dup2(logfd, STDOUT_FILENO) < 0 ||
                    dup2(logfd, STDERR_FILENO) < 0)
                        _exit(126);
                if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
                        _exit(126);
                for (size_t i = 0; i < n_keep; i++)
                        if (fcntl(keep[i], F_SETFD, 0) < 0)
                                _exit(126);
                execvp(argv[0], argv);
                dprintf(STDERR_FILENO, "virtbusd: cannot execute %s: %m\n", argv[0]);
                _exit(127);
        }
        *ret = pid;
        return 0;
}

/* QEMU into "virtbus-qemu-ID-NAME.scope" (machine.slice), done by the helper: our user may not
 * ask systemd for that. The child cannot be reaped meanwhile: we are blocked here. */
static int move_to_scope(Domain *d, pid_t pid, sd_bus_error *error) {
        _cleanup_free_ char *unit = qemu_scope_name(d->live->id, d->live->name),
                            *machine = qemu_machine_name(d->live->id, d->live->name);
        NhRequest req = { .verb = NH_VERB_SCOPE_CREATE };
        NhReply reply;
        int r;

        if (!unit || !machine)
                return -ENOMEM;
        req.scope_create.pid = pid;
        snprintf(req.scope_create.unit, sizeof req.scope_create.unit, "%s", unit);
        /* also listed by machinectl where systemd-machined runs */
        snprintf(req.scope_create.machine, sizeof req.scope_create.machine, "%s", machine);
        memcpy(req.scope_create.uuid, d->live->uuid.bytes, sizeof req.scope_create.uuid);
        r = nh_call(d->manager->helper_socket, &req, SCOPE_TIMEOUT_MS, &reply, NULL, 0, NULL);
        if (r < 0)
                return libvirt_error_setf(error, r,
                                          _("operation failed: cannot place QEMU in scope %s: network helper unreachable: %s"),
                                          unit, strerror(-r));
        if (reply.error != 0)
                return libvirt_error_setf(error, -(int) reply.error,
                                          _("operation failed: cannot place QEMU in its own scope: %s"), reply.message);
        if (reply.message[0])
                log_domain(LOG_WARNING, 0, d, "Domain %s: %s", d->live->name, reply.message);
        log_domain(LOG_INFO, 0, d, "QEMU of domain %s (pid %d) runs in %s.", d->live->name, (int) pid, unit);
        return 0;
}

static int copy_def(const DomainDef *def, DomainDef **ret) {
        _cleanup_free_ char *xml = domain_def_format(def, DOMAIN_FORMAT_INACTIVE), *err = NULL;
        int r;

        if (!xml)
                return -ENOMEM;
        r = domain_def_parse(xml, 0, ret, &err);
        if (r < 0)
                return log_error_errno(r, "Failed to copy domain definition: %s", strna(err));
        return 0;
}

/* Undo a start that failed before QEMU ran: as if it had never been tried (libvirt keeps the
 * shut-off reason of a domain whose start failed). */
static void abort_start(Domain *d, DomainNetFds *fds, int old_reason) {
        if (fds)
                domain_net_fds_close(fds, d->live->n_nets);
        domain_net_release(d);
        (void) domain_remove_status(d);
        d->live = domain_def_free(d->live);
        d->floors = mfree(d->floors);
        d->qmp_socket = mfree(d->qmp_socket);
        domain_set_state(d, DOMAIN_STATE_SHUTOFF, old_reason);
}

int domain_process_start(Domain *d, sd_bus_message *call, bool reply_path, sd_bus_error *error) {
        Manager *m = d->manager;
        _cleanup_(qemu_caps_freep) QemuCaps *caps = NULL;
        _cleanup_(qemu_argv_freep) char **argv = NULL;
        _cleanup_free_ char *err = NULL, *log_path = NULL, *serial_log = NULL;
        _cleanup_free_ DomainNetFds *fds = NULL;
        _cleanup_free_ QemuRuntimeNet *rt_nets = NULL;
        _cleanup_free_ int *keep = NULL;
        const char *emulator;
        DomainDef *live;
        QemuRuntime rt = {};
        size_t n_keep = 0;
        int old_reason = d->reason;
        pid_t pid;
        int r;

        r = domain_def_check_runnable(d->config, &err);
        if (r < 0)
                return libvirt_error_setf(error, r, "%s", strna(err));

        emulator = d->config->emulator ?: "qemu-system-x86_64";
        r = qemu_caps_get(m->qemu_cache_dir, emulator, &caps);
        if (r < 0)
                return libvirt_error_setf(error, r, _("operation failed: cannot probe QEMU binary '%s': %s"), emulator,
                                          strerror(-r));

        r = copy_def(d->config, &live);
        if (r < 0)
                return libvirt_error_setf(error, r, _("operation failed: cannot copy definition of domain '%s'"),
                                          d->config->name);
        live->id = m->next_domain_id++;
        d->live = live;
        d->floors = new0(DomainNetFloor, MAX(live->n_nets, 1u));
        d->qmp_socket = path_join3(m->qemu_runtime_dir, live->name, ".qmp");
        log_path = path_join3(m->qemu_log_dir, live->name, ".log");
        serial_log = path_join3(m->qemu_log_dir, live->name, ".serial.log");
        fds = calloc(MAX(live->n_nets, 1u), sizeof *fds);
        rt_nets = calloc(MAX(live->n_nets, 1u), sizeof *rt_nets);
        keep = calloc(MAX(live->n_nets, 1u) * 2 * NH_QUEUES_MAX, sizeof *keep);
        if (!d->floors || !d->qmp_socket || !log_path || !serial_log || !fds || !rt_nets || !keep) {
                abort_start(d, NULL, old_reason);
                return -ENOMEM;
        }

        r = domain_net_assign_names(d, error);
        if (r < 0) {
                abort_start(d, NULL, old_reason);
                return r;
        }
        /* Names first, on disk, then devices: a crash in between leaves a status file that
         * says which devices to clean up. */
        d->pid = 0;
        r = mkdir_p(m->qemu_runtime_dir, 0700);
        if (r >= 0)
                r = mkdir_p(m->qemu_log_dir, 0700);
        if (r >= 0)
                r = domain_save_status(d);
        if (r < 0) {
                abort_start(d, NULL, old_reason);
                return libvirt_error_setf(error, r, _("operation failed: cannot write status of domain '%s': %s"),
                                          d->config->name, strerror(-r));
        }

        r = domain_net_create(d, fds, error);
        if (r < 0) {
                abort_start(d, NULL, old_reason);
                return r;
        }

        for (size_t i = 0; i < live->n_nets; i++) {
                rt_nets[i] = (QemuRuntimeNet) {
                        .alias = live->nets[i].alias,
                        .tap_fds = fds[i].tap_fds,
                        .n_tap_fds = fds[i].n_tap_fds,
                        .vhost_fds = fds[i].vhost_fds,
                        .n_vhost_fds = fds[i].n_vhost_fds,
                };
                for (size_t k = 0; k < fds[i].n_tap_fds; k++)
                        keep[n_keep++] = fds[i].tap_fds[k];
                for (size_t k = 0; k < fds[i].n_vhost_fds; k++)
                        keep[n_keep++] = fds[i].vhost_fds[k];
        }
        rt = (QemuRuntime) {
                .qmp_socket = d->qmp_socket,
                .serial_log = serial_log,
                .nets = rt_nets,
                .n_nets = live->n_nets,
        };
        r = qemu_build_command_line(live, caps, &rt, &argv, &err);
        if (r < 0) {
                abort_start(d, fds, old_reason);
                return libvirt_error_setf(error, r, "%s", strna(err));
        }

        (void) unlink(d->qmp_socket);
        r = spawn_qemu(argv, keep, n_keep, log_path, &pid);
        domain_net_fds_close(fds, live->n_nets); /* QEMU has its own copies now */
        if (r < 0) {
                abort_start(d, NULL, old_reason);
                return libvirt_error_setf(error, r, _("operation failed: cannot spawn %s: %s"), argv[0], strerror(-r));
        }
        if (m->use_scopes) {
                r = move_to_scope(d, pid, error);
                if (r < 0) {
                        (void) kill(pid, SIGKILL);
                        (void) waitpid(pid, NULL, 0);
                        abort_start(d, NULL, old_reason);
                        return r;
                }
        }
        d->pid = pid;
        d->is_child = true;
        d->starting = true;
        d->stopping = d->guest_shutdown = d->fake_reboot = d->announced = false;
        domain_set_state(d, DOMAIN_STATE_PAUSED, DOMAIN_PAUSED_USER); /* -S: not running yet */
        (void) domain_save_status(d);

        r = sd_event_add_child(m->event, &d->pid_source, pid, WEXITED, on_child_exit, d);
        if (r >= 0)
                r = qmp_attach(d);
        if (r >= 0)
                r = qmp_execute(d->qmp, "cont", NULL, on_cont, d);
        if (r < 0) {
                (void) kill(pid, SIGKILL);
                (void) waitpid(pid, NULL, 0);
                d->pid = 0;
                domain_process_release(d);
                abort_start(d, NULL, old_reason);
                d->starting = false;
                return libvirt_error_setf(error, r, _("operation failed: cannot watch QEMU: %s"), strerror(-r));
        }
        if (call)
                d->start_call = sd_bus_message_ref(call);
        d->start_reply_path = reply_path;
        log_domain(LOG_DEBUG, 0, d, "Spawned QEMU for domain %s as pid %d.", live->name, (int) pid);
        return 0;
}

static void on_query_status(QmpClient *c, int error, const JsonValue *result, const char *error_class,
                            const char *error_desc, void *userdata) {
        Domain *d = userdata;
        const JsonValue *running;

        if (error < 0 || !d->live)
                return;
        running = json_object_get(result, "running");
        if (!running || !json_is_type(running, JSON_BOOLEAN))
                return;
        /* The guest powered off while we were away: -no-shutdown kept QEMU and its SHUTDOWN event
         * went to nobody. Finish the shutdown as on_qmp_event() would have (libvirt does too). */
        if (streq_ptr(json_object_get_string(result, "status"), "shutdown") && !json_boolean(running)) {
                d->guest_shutdown = true;
                domain_set_state(d, DOMAIN_STATE_SHUTDOWN, DOMAIN_SHUTDOWN_USER);
                (void) domain_save_status(d);
                (void) qmp_execute(d->qmp, "quit", NULL, NULL, NULL);
                return;
        }
        /* The previous daemon spawned QEMU but went away before "cont": every device was made
         * before the spawn, so finish the start it had begun (autostart would otherwise skip a
         * domain that looks active but never ran). */
        if (streq_ptr(json_object_get_string(result, "status"), "prelaunch") && !json_boolean(running)) {
                d->starting = true;
                d->announced = false;
                if (qmp_execute(d->qmp, "cont", NULL, on_cont, d) < 0)
                        start_failed(d, "cannot continue it after a daemon restart");
                return;
        }
        /* what happened while we were away */
        if (json_boolean(running) && d->state != DOMAIN_STATE_RUNNING)
                domain_set_state(d, DOMAIN_STATE_RUNNING, DOMAIN_RUNNING_UNPAUSED);
        else if (!json_boolean(running) && d->state == DOMAIN_STATE_RUNNING)
                domain_set_state(d, DOMAIN_STATE_PAUSED, DOMAIN_PAUSED_USER);
        (void) domain_save_status(d);
}

int domain_process_reconnect(Domain *d) {
        int r;

        d->is_child = false;
        d->announced = true;
        r = watch_adopted_pid(d);
        if (r < 0)
                return r;
        r = qmp_attach(d);
        if (r < 0)
                return r;
        return qmp_execute(d->qmp, "query-status", NULL, on_query_status, d);
}

static int require_running(Domain *d, sd_bus_error *error) {
        if (!domain_is_active(d) || d->pid <= 0)
                return libvirt_error_setf(error, EINVAL, _("Requested operation is not valid: domain '%s' is not running"),
                                          domain_current_def(d)->name);
        if (d->starting)
                return libvirt_error_setf(error, EBUSY, _("Requested operation is not valid: domain '%s' is still starting"),
                                          domain_current_def(d)->name);
        return 0;
}

int domain_process_destroy(Domain *d, sd_bus_message *call, sd_bus_error *error) {
        uint64_t now;
        int r;

        /* unlike the other operations, a start in progress may be cut short */
        if (!domain_is_active(d) || d->pid <= 0)
                return libvirt_error_setf(error, EINVAL, _("Requested operation is not valid: domain '%s' is not running"),
                                          domain_current_def(d)->name);
        r = add_waiter(d, call);
        if (r < 0)
                return r;
        if (d->stopping && d->stop_reason == DOMAIN_SHUTOFF_DESTROYED)
                return 1; /* already on its way */
        d->stopping = true;
        d->stop_reason = DOMAIN_SHUTOFF_DESTROYED;
        if (kill(d->pid, SIGTERM) < 0 && errno != ESRCH)
                return libvirt_error_setf(error, errno, _("operation failed: cannot stop domain '%s': %m"),
                                          domain_current_def(d)->name);
        r = sd_event_now(d->manager->event, CLOCK_MONOTONIC, &now);
        if (r >= 0)
                r = sd_event_add_time(d->manager->event, &d->kill_timer, CLOCK_MONOTONIC, now + KILL_GRACE_USEC, 0,
                                      on_kill_timer, d);
        if (r < 0)
                (void) kill(d->pid, SIGKILL);
        return 1; /* answered when the process is gone */
}

int domain_process_shutdown(Domain *d, bool reboot, sd_bus_error *error) {
        int r;

        r = require_running(d, error);
        if (r < 0)
                return r;
        if (reboot)
                d->fake_reboot = true;
        r = qmp_execute(d->qmp, "system_powerdown", NULL, NULL, NULL);
        if (r < 0)
                return libvirt_error_setf(error, r, _("operation failed: cannot send the power button to domain '%s': %s"),
                                          domain_current_def(d)->name, strerror(-r));
        return 0;
}

typedef struct SimpleCall {
        sd_bus_message *call;
        char *command;
} SimpleCall;

static void on_simple_reply(QmpClient *c, int error, const JsonValue *result, const char *error_class,
                            const char *error_desc, void *userdata) {
        SimpleCall *sc = userdata;

        if (error < 0)
                (void) sd_bus_reply_method_errorf(sc->call, LIBVIRT_ERROR, _("operation failed: %s: %s"), sc->command,
                                                  error_desc ?: strerror(-error));
        else
                (void) sd_bus_reply_method_return(sc->call, NULL);
        sd_bus_message_unref(sc->call);
        free(sc->command);
        free(sc);
}

int domain_process_qmp_simple(Domain *d, const char *command, sd_bus_message *call, sd_bus_error *error) {
        SimpleCall *sc;
        int r;

        r = require_running(d, error);
        if (r < 0)
                return r;
        if (streq(command, "stop") && d->state == DOMAIN_STATE_PAUSED)
                return sd_bus_reply_method_return(call, NULL); /* libvirt: suspending a paused domain is a no-op */
        if (streq(command, "cont") && d->state != DOMAIN_STATE_PAUSED)
                return libvirt_error_setf(error, EINVAL, _("Requested operation is not valid: domain '%s' is not paused"),
                                          domain_current_def(d)->name);

        sc = new0(SimpleCall, 1);
        if (!sc)
                return -ENOMEM;
        sc->call = sd_bus_message_ref(call);
        sc->command = strdup(command);
        r = sc->command ? qmp_execute(d->qmp, command, NULL, on_simple_reply, sc) : -ENOMEM;
        if (r < 0) {
                sd_bus_message_unref(sc->call);
                free(sc->command);
                free(sc);
                return libvirt_error_setf(error, r, _("operation failed: %s: %s"), command, strerror(-r));
        }
        return 1;
}
