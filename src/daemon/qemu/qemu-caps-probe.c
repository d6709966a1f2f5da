/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "fileio.h"
#include "log.h"
#include "qemu-caps-probe.h"
#include "qmp.h"

extern char **environ;

#define PROBE_COMMAND_TIMEOUT_USEC (10ULL * 1000000ULL)
#define PROBE_REAP_TIMEOUT_MSEC 5000
#define PROBE_LOG_MAX 4096
#define CACHE_NAME_MAX 200

/* Everything one probe run owns; torn down in any state by probe_done(). */
typedef struct Probe {
        const char *binary;
        char *dir, *socket_path, *log_path;
        pid_t pid;
        int pidfd;
        sd_event *event;
        sd_event_source *exit_source, *timeout_source;
        QmpClient *qmp;
        bool exited, timed_out;
} Probe;

/* Has QEMU exited within the grace period? */
static bool probe_wait_exit(Probe *p) {
        if (p->exited)
                return true;
        if (p->pidfd >= 0) {
                struct pollfd pfd = { .fd = p->pidfd, .events = POLLIN };

                return poll(&pfd, 1, PROBE_REAP_TIMEOUT_MSEC) > 0;
        }
        for (unsigned i = 0; i < PROBE_REAP_TIMEOUT_MSEC / 10; i++) {
                siginfo_t si = {};

                if (waitid(P_PID, (id_t) p->pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0)
                        return errno == ECHILD;
                if (si.si_pid == p->pid)
                        return true;
                (void) usleep(10000);
        }
        return false;
}

/* graceful: after "quit", QEMU gets PROBE_REAP_TIMEOUT_MSEC to exit by itself; else SIGKILL now. */
static void probe_reap(Probe *p, bool graceful) {
        int status;

        if (p->pid <= 0)
                return;
        if (!graceful || !probe_wait_exit(p)) {
                log_debug("Probe of %s: killing QEMU (pid %d).", p->binary, (int) p->pid);
                (void) kill(p->pid, SIGKILL);
        }
        while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
                ;
        p->pid = 0;
}

static void probe_done(Probe *p) {
        p->qmp = qmp_client_unref(p->qmp);
        probe_reap(p, false); /* still there only on failure */
        p->exit_source = sd_event_source_disable_unref(p->exit_source);
        p->timeout_source = sd_event_source_disable_unref(p->timeout_source);
        p->event = sd_event_unref(p->event);
        p->pidfd = safe_close(p->pidfd);
        if (p->socket_path)
                (void) unlink(p->socket_path);
        if (p->log_path)
                (void) unlink(p->log_path);
        if (p->dir)
                (void) rmdir(p->dir);
        free(p->dir);
        free(p->socket_path);
        free(p->log_path);
}

static int make_private_dir(char **ret) {
        const char *tmp = getenv("TMPDIR");
        char *d;

        /* sun_path is 108 bytes: a long $TMPDIR falls back to /tmp. */
        if (isempty(tmp) || tmp[0] != '/' || strlen(tmp) > 64)
                tmp = "/tmp";
        if (asprintf(&d, "%s/virtbus-probe-XXXXXX", tmp) < 0)
                return -ENOMEM;
        if (!mkdtemp(d)) {
                int r = -errno;

                free(d);
                return r;
        }
        *ret = d;
        return 0;
}

/* QEMU option values escape ',' by doubling it. */
static char *qemu_opt_escape(const char *s) {
        size_t n = 0;
        char *e, *q;

        for (const char *p = s; *p; p++)
                n += *p == ',' ? 2 : 1;
        e = q = malloc(n + 1);
        if (!e)
                return NULL;
        for (const char *p = s; *p; p++) {
                *q++ = *p;
                if (*p == ',')
                        *q++ = ',';
        }
        *q = 0;
        return e;
}

static int probe_spawn(Probe *p) {
        _cleanup_free_ char *esc = NULL, *qmp_arg = NULL;
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t mask;
        int r;

        esc = qemu_opt_escape(p->socket_path);
        if (!esc || asprintf(&qmp_arg, "unix:%s,server=on,wait=off", esc) < 0)
                return -ENOMEM;

        char *argv[] = {
                (char *) p->binary, (char *) "-S", (char *) "-no-user-config", (char *) "-nodefaults",
                (char *) "-nographic", (char *) "-machine", (char *) "none,accel=tcg", (char *) "-qmp", qmp_arg, NULL,
        };

        r = posix_spawn_file_actions_init(&fa);
        if (r != 0)
                return -r;
        r = posix_spawnattr_init(&attr);
        if (r != 0) {
                posix_spawn_file_actions_destroy(&fa);
                return -r;
        }

        /* stdin from /dev/null, stdout+stderr into the log, nothing else inherited. The daemon
         * blocks signals for sd-event: the child must start with a clean mask and dispositions. */
        sigemptyset(&mask);
        r = posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        if (r == 0)
                r = posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, p->log_path, O_WRONLY | O_CREAT | O_TRUNC,
                                                     0600);
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
        if (r == 0)
                r = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
        if (r == 0)
                r = posix_spawnattr_setsigmask(&attr, &mask);
        if (r == 0) {
                sigset_t all;

                sigfillset(&all);
                r = posix_spawnattr_setsigdefault(&attr, &all);
        }
        if (r == 0)
                r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        if (r == 0)
                r = posix_spawn(&p->pid, p->binary, &fa, &attr, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        if (r != 0) {
                p->pid = 0;
                return -r;
        }

        /* A pidfd tells us at once when QEMU dies early (bad binary, bad options) — without
         * SIGCHLD, which belongs to the daemon's loop. */
        p->pidfd = (int) syscall(SYS_pidfd_open, p->pid, 0);
        if (p->pidfd < 0)
                log_debug_errno(errno, "pidfd_open() failed, relying on timeouts: %m");
        return 0;
}

static void probe_log_output(Probe *p, int error, const char *what) {
        char buf[PROBE_LOG_MAX + 1];
        _cleanup_close_ int fd = -EBADF;
        ssize_t n = 0;

        fd = open(p->log_path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0)
                n = read(fd, buf, PROBE_LOG_MAX);
        if (n < 0)
                n = 0;
        buf[n] = 0;
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
                buf[--n] = 0;
        log_error_errno(error, "Failed to probe the capabilities of %s: %s%s%s", p->binary, what,
                        n > 0 ? ": QEMU said: " : "", buf);
}

static int on_child_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Probe *p = userdata;

        p->exited = true;
        p->exit_source = sd_event_source_disable_unref(p->exit_source);
        /* Wakes up whatever synchronous QMP call is waiting: it returns -ECANCELED. */
        qmp_client_close(p->qmp);
        return 0;
}

static int on_probe_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Probe *p = userdata;

        p->timed_out = true;
        qmp_client_close(p->qmp);
        return 0;
}

/* Map a failed QMP call to the probe's error, distinguishing early exit and the global timeout. */
static int probe_fail(Probe *p, int r, const char *what) {
        if (p->timed_out) {
                probe_log_output(p, ETIMEDOUT, "no answer in time");
                return -ETIMEDOUT;
        }
        if (p->exited || r == -ECONNRESET) {
                probe_log_output(p, EPROTO, "QEMU exited prematurely");
                return -EPROTO;
        }
        probe_log_output(p, r, what);
        return r == -EIO ? -EPROTO : r;
}

static int probe_device(Probe *p, const char *name, QemuCaps *caps) {
        _cleanup_(json_freep) JsonValue *args = NULL, *props = NULL;
        _cleanup_free_ char *cls = NULL, *desc = NULL;
        QemuCapsDevice *d;
        size_t n;
        int r;

        args = json_new_object();
        if (!args)
                return -ENOMEM;
        r = json_object_set_string(args, "typename", name);
        if (r < 0)
                return r;
        r = qmp_execute_sync(p->qmp, "device-list-properties", args, PROBE_COMMAND_TIMEOUT_USEC, &props, &cls,
                             &desc);
        if (r == -EIO) {
                /* DeviceNotFound (or any refusal): this binary simply lacks the device. */
                log_debug("Probe of %s: no device %s (%s: %s)", p->binary, name, strna(cls), strna(desc));
                return 0;
        }
        if (r < 0)
                return probe_fail(p, r, "device-list-properties");
        if (!json_is_type(props, JSON_ARRAY))
                return probe_fail(p, -EPROTO, "device-list-properties did not return a list");

        d = reallocarray(caps->devices, caps->n_devices + 1, sizeof(QemuCapsDevice));
        if (!d)
                return -ENOMEM;
        caps->devices = d;
        d = &caps->devices[caps->n_devices];
        *d = (QemuCapsDevice) {};
        d->name = strdup(name);
        n = json_array_size(props);
        d->props = calloc(n + 1, sizeof(char *));
        if (!d->name || !d->props) {
                free(d->name);
                free(d->props);
                return -ENOMEM;
        }
        caps->n_devices++;

        for (size_t i = 0; i < n; i++) {
                const char *prop = json_object_get_string(json_array_get(props, i), "name");

                if (isempty(prop))
                        continue;
                d->props[d->n_props] = strdup(prop);
                if (!d->props[d->n_props])
                        return -ENOMEM;
                d->n_props++;
        }
        return 0;
}

static int probe_run(Probe *p, QemuCaps *caps) {
        _cleanup_(json_freep) JsonValue *version = NULL, *kvm = NULL;
        JsonValue *q;
        int64_t major, minor, micro;
        bool present = false;
        int r;

        r = qmp_connect_full(p->event, p->socket_path, QEMU_CAPS_PROBE_TIMEOUT_USEC, &p->qmp);
        if (r < 0)
                return log_error_errno(r, "Failed to connect to QMP of %s: %m", p->binary);
        r = qmp_wait_ready(p->qmp);
        if (r < 0)
                return probe_fail(p, r, "QMP negotiation");

        r = qmp_execute_sync(p->qmp, "query-version", NULL, PROBE_COMMAND_TIMEOUT_USEC, &version, NULL, NULL);
        if (r < 0)
                return probe_fail(p, r, "query-version");
        q = json_object_get(version, "qemu");
        if (json_object_get_integer(q, "major", &major) < 0 || json_object_get_integer(q, "minor", &minor) < 0 ||
            json_object_get_integer(q, "micro", &micro) < 0 || major < 0 || major > 1000000 || minor < 0 ||
            minor > 999 || micro < 0 || micro > 999)
                return probe_fail(p, -EPROTO, "query-version returned no valid version");
        caps->version = (uint64_t) major * 1000000 + (uint64_t) minor * 1000 + (uint64_t) micro;

        r = qmp_execute_sync(p->qmp, "query-kvm", NULL, PROBE_COMMAND_TIMEOUT_USEC, &kvm, NULL, NULL);
        if (r < 0 && r != -EIO)
                return probe_fail(p, r, "query-kvm");
        if (r >= 0)
                (void) json_object_get_boolean(kvm, "present", &present);
        caps->kvm = present;

        for (size_t i = 0; qemu_caps_probed_devices[i]; i++) {
                r = probe_device(p, qemu_caps_probed_devices[i], caps);
                if (r < 0)
                        return r;
        }

        /* QEMU may close the socket before its reply to "quit" gets out: either is success. */
        r = qmp_execute_sync(p->qmp, "quit", NULL, PROBE_COMMAND_TIMEOUT_USEC, NULL, NULL, NULL);
        if (r < 0 && r != -ECONNRESET && r != -ECANCELED)
                log_debug_errno(r, "Probe of %s: quit failed, QEMU will be killed: %m", p->binary);
        p->qmp = qmp_client_unref(p->qmp);
        probe_reap(p, true);
        return 0;
}

int qemu_caps_probe(const char *binary, QemuCaps **ret) {
        _cleanup_(qemu_caps_freep) QemuCaps *caps = NULL;
        _cleanup_(probe_done) Probe p = {
                .binary = binary,
                .pidfd = -EBADF,
        };
        struct stat st;
        int r;

        if (!binary || binary[0] != '/' || !ret)
                return -EINVAL;

        /* The cache key is taken before the run: a binary replaced meanwhile makes the entry stale. */
        if (stat(binary, &st) < 0)
                return log_error_errno(errno, "Cannot probe QEMU binary %s: %m", binary);
        if (!S_ISREG(st.st_mode))
                return log_error_errno(EACCES, "Cannot probe QEMU binary %s: not a regular file", binary);

        caps = calloc(1, sizeof(QemuCaps));
        if (!caps)
                return -ENOMEM;
        caps->binary = strdup(binary);
        if (!caps->binary)
                return -ENOMEM;
        caps->mtime_ns = (int64_t) st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
        caps->size = (uint64_t) st.st_size;

        r = make_private_dir(&p.dir);
        if (r < 0)
                return log_error_errno(r, "Failed to create a temporary directory for probing %s: %m", binary);
        if (asprintf(&p.socket_path, "%s/qmp.sock", p.dir) < 0 || asprintf(&p.log_path, "%s/qemu.log", p.dir) < 0)
                return -ENOMEM;

        r = sd_event_new(&p.event);
        if (r < 0)
                return r;
        r = sd_event_add_time_relative(p.event, &p.timeout_source, CLOCK_MONOTONIC, QEMU_CAPS_PROBE_TIMEOUT_USEC, 0,
                                       on_probe_timeout, &p);
        if (r < 0)
                return r;

        log_debug("Probing the capabilities of %s", binary);
        r = probe_spawn(&p);
        if (r < 0)
                return log_error_errno(r, "Failed to run %s: %m", binary);
        if (p.pidfd >= 0) {
                r = sd_event_add_io(p.event, &p.exit_source, p.pidfd, EPOLLIN, on_child_exit, &p);
                if (r < 0)
                        return r;
        }

        r = probe_run(&p, caps);
        if (r < 0)
                return r;

        log_debug("Probed %s: version %" PRIu64 ", %zu devices", binary, caps->version, caps->n_devices);
        *ret = TAKE_PTR(caps);
        return 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* Cache */

static uint64_t fnv1a64(const char *s) {
        uint64_t h = 0xcbf29ce484222325ULL;

        for (; *s; s++) {
                h ^= (uint8_t) *s;
                h *= 0x100000001b3ULL;
        }
        return h;
}

char *qemu_caps_cache_path(const char *cache_dir, const char *binary) {
        _cleanup_free_ char *name = NULL;
        size_t n = 0;
        char *path;

        if (!cache_dir || !binary)
                return NULL;

        name = malloc(strlen(binary) * 3 + 1);
        if (!name)
                return NULL;
        for (const char *c = binary; *c; c++) {
                if (isascii(*c) && (isalnum(*c) || *c == '.' || *c == '-'))
                        name[n++] = *c;
                else
                        n += (size_t) sprintf(name + n, "_%02x", (unsigned) (uint8_t) *c);
        }
        name[n] = 0;

        /* The name is unique for the path (injective escaping); a hash only for paths too long for a
         * file name — a collision then just reads as a stale entry (the file records its binary). */
        if (n > CACHE_NAME_MAX)
                snprintf(name, CACHE_NAME_MAX, "hash-%016" PRIx64, fnv1a64(binary));

        if (asprintf(&path, "%s/%s.xml", cache_dir, name) < 0)
                return NULL;
        return path;
}

static int binary_key(const char *binary, int64_t *ret_mtime_ns, uint64_t *ret_size) {
        struct stat st;

        if (stat(binary, &st) < 0)
                return -errno;
        *ret_mtime_ns = (int64_t) st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
        *ret_size = (uint64_t) st.st_size;
        return 0;
}

int qemu_caps_cache_lookup(const char *cache_dir, const char *binary, QemuCaps **ret) {
        _cleanup_(qemu_caps_freep) QemuCaps *caps = NULL;
        _cleanup_free_ char *path = NULL, *text = NULL, *error = NULL;
        int64_t mtime_ns;
        uint64_t size;
        int r;

        if (!cache_dir || !binary || !ret)
                return -EINVAL;
        path = qemu_caps_cache_path(cache_dir, binary);
        if (!path)
                return -ENOMEM;

        r = read_full_file(path, QEMU_CAPS_CACHE_FILE_MAX, &text, NULL);
        if (r == -ENOENT)
                return -ENOENT;
        if (r < 0) {
                log_warning_errno(r, "Ignoring unreadable QEMU capability cache %s: %m", path);
                return -EBADMSG;
        }
        r = qemu_caps_parse(text, &caps, &error);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                log_warning("Ignoring corrupt QEMU capability cache %s: %s", path, strna(error));
                return -EBADMSG;
        }

        if (!streq_ptr(caps->binary, binary)) {
                log_debug("QEMU capability cache %s is for %s, not %s.", path, caps->binary, binary);
                return -ENOENT;
        }
        r = binary_key(binary, &mtime_ns, &size);
        if (r < 0)
                return r == -ENOENT ? -ENOENT : log_debug_errno(r, "Cannot stat %s: %m", binary);
        if (mtime_ns != caps->mtime_ns || size != caps->size) {
                log_debug("QEMU capability cache %s is stale: %s changed.", path, binary);
                return -ENOENT;
        }

        *ret = TAKE_PTR(caps);
        return 0;
}

int qemu_caps_cache_store(const char *cache_dir, const QemuCaps *caps) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        int r;

        if (!cache_dir || !caps || !caps->binary)
                return -EINVAL;
        path = qemu_caps_cache_path(cache_dir, caps->binary);
        if (!path)
                return -ENOMEM;
        text = qemu_caps_format(caps);
        if (!text)
                return -ENOMEM;

        r = mkdir_p(cache_dir, 0755);
        if (r < 0)
                return log_warning_errno(r, "Failed to create %s: %m", cache_dir);
        r = write_file_atomic(path, text, strlen(text), 0644);
        if (r < 0)
                return log_warning_errno(r, "Failed to write QEMU capability cache %s: %m", path);
        return 0;
}

/* `name` in $PATH, as an absolute path. */
static int find_in_path(const char *name, char **ret) {
        const char *path = getenv("PATH");
        _cleanup_free_ char *copy = NULL;
        char *saveptr = NULL;

        copy = strdup(isempty(path) ? "/usr/local/bin:/usr/bin:/bin" : path);
        if (!copy)
                return -ENOMEM;
        for (char *dir = strtok_r(copy, ":", &saveptr); dir; dir = strtok_r(NULL, ":", &saveptr)) {
                char *candidate;
                struct stat st;

                if (dir[0] != '/')
                        continue; /* relative PATH entries make no sense for a service */
                if (asprintf(&candidate, "%s/%s", dir, name) < 0)
                        return -ENOMEM;
                if (stat(candidate, &st) >= 0 && S_ISREG(st.st_mode) && access(candidate, X_OK) >= 0) {
                        *ret = candidate;
                        return 0;
                }
                free(candidate);
        }
        return -ENOENT;
}

int qemu_caps_get(const char *cache_dir, const char *binary, QemuCaps **ret) {
        _cleanup_(qemu_caps_freep) QemuCaps *caps = NULL;
        _cleanup_free_ char *resolved = NULL;
        int r;

        if (isempty(binary) || !ret)
                return -EINVAL;
        if (binary[0] != '/') {
                if (strchr(binary, '/'))
                        return log_error_errno(EINVAL, "QEMU binary path %s is relative.", binary);
                r = find_in_path(binary, &resolved);
                if (r < 0)
                        return log_error_errno(r, "Cannot find %s in $PATH: %m", binary);
                binary = resolved;
        }

        if (cache_dir) {
                r = qemu_caps_cache_lookup(cache_dir, binary, &caps);
                if (r >= 0) {
                        log_debug("QEMU capabilities of %s from the cache.", binary);
                        *ret = TAKE_PTR(caps);
                        return 0;
                }
                if (r == -ENOMEM)
                        return r;
                /* Missing, stale or corrupt (already logged): probe again. */
        }

        r = qemu_caps_probe(binary, &caps);
        if (r < 0)
                return r;
        if (cache_dir)
                (void) qemu_caps_cache_store(cache_dir, caps);

        *ret = TAKE_PTR(caps);
        return 0;
}
