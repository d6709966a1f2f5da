/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fake-qemu-no-tx: a QEMU whose virtio-net-pci has no 'tx' property.
 *
 * Used as <emulator> (or as the probed binary) wherever a test needs a QEMU that lacks
 * virtio-net-pci's tx= option. It runs the real qemu-system-x86_64 (or $VIRTBUS_REAL_QEMU) with
 * all its arguments, in the same process (so the pid, exit status, signals and inherited fds the
 * caller sees are QEMU's), except that the QMP socket is moved to PATH.fake-inner. A forked proxy
 * listens on the original PATH and relays every byte (and SCM_RIGHTS fds) both ways, but rewrites
 * replies to `device-list-properties` for virtio-net-pci so that the element named "tx" is gone.
 * It dies with QEMU (PR_SET_PDEATHSIG).
 *
 * Recognized QMP options: `-qmp unix:PATH,server=on,wait=off` (or `,server,nowait`), and
 * `-chardev socket,id=ID,path=PATH,server=on,…` with `-mon chardev=ID,mode=control`. Without one,
 * it simply execs the real QEMU. Clients must end each command with a newline (ours do).
 * Test knob: VIRTBUS_FAKE_QEMU_HIDE_DEVICES="dev1,dev2" answers DeviceNotFound for those devices. */

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>

#include "json.h"
#include "macro.h"

#define INNER_SUFFIX ".fake-inner"
#define LINE_MAX_BYTES (16U * 1024U * 1024U)
#define FDS_MAX 32

static const char *arg0 = "fake-qemu-no-tx";

_printf_(1, 2) static void warn(const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "%s: ", arg0);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

/* ---------------------------------------------------------------------------------------------- */
/* QEMU option strings: "a,b=c" with ",," for a literal comma. */

static char **opts_split(const char *s, size_t *ret_n) {
        char **v = NULL, *cur;
        size_t n = 0, l = 0;

        cur = malloc(strlen(s) + 1);
        if (!cur)
                return NULL;
        for (const char *p = s;; p++) {
                if (*p == ',' && p[1] == ',') {
                        cur[l++] = ',';
                        p++;
                        continue;
                }
                if (*p == ',' || *p == 0) {
                        char **nv = realloc(v, (n + 2) * sizeof(char *));

                        if (!nv)
                                abort();
                        v = nv;
                        cur[l] = 0;
                        v[n++] = strdup(cur);
                        v[n] = NULL;
                        l = 0;
                        if (*p == 0)
                                break;
                        continue;
                }
                cur[l++] = *p;
        }
        free(cur);
        *ret_n = n;
        return v;
}

static char *opts_join(char **v, size_t n) {
        size_t len = 1;
        char *s, *q;

        for (size_t i = 0; i < n; i++)
                len += 2 * strlen(v[i]) + 1;
        s = q = malloc(len);
        if (!s)
                abort();
        for (size_t i = 0; i < n; i++) {
                if (i > 0)
                        *q++ = ',';
                for (const char *p = v[i]; *p; p++) {
                        *q++ = *p;
                        if (*p == ',')
                                *q++ = ',';
                }
        }
        *q = 0;
        return s;
}

static void opts_free(char **v) {
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

static bool opt_is_server(char **v, size_t n) {
        for (size_t i = 1; i < n; i++)
                if (streq(v[i], "server") || streq(v[i], "server=on") || streq(v[i], "server=yes"))
                        return true;
        return false;
}

static bool is_opt(const char *arg, const char *name) {
        if (arg[0] != '-')
                return false;
        arg += arg[1] == '-' ? 2 : 1;
        return streq(arg, name);
}

/* Find the QMP server socket; rewrite its argument in argv to the inner path. Returns the path. */
static char *rewrite_qmp_socket(int argc, char **argv) {
        /* -qmp unix:PATH,server… */
        for (int i = 1; i + 1 < argc; i++) {
                size_t n;
                char **v;

                if (!is_opt(argv[i], "qmp") || !startswith(argv[i + 1], "unix:"))
                        continue;
                v = opts_split(argv[i + 1], &n);
                if (v && opt_is_server(v, n)) {
                        char *path = strdup(v[0] + strlen("unix:"));

                        free(v[0]);
                        if (asprintf(&v[0], "unix:%s" INNER_SUFFIX, path) < 0)
                                abort();
                        argv[i + 1] = opts_join(v, n);
                        opts_free(v);
                        return path;
                }
                opts_free(v);
        }

        /* -mon chardev=ID,mode=control + -chardev socket,id=ID,path=PATH,server… */
        for (int i = 1; i + 1 < argc; i++) {
                char **m, *id = NULL;
                bool control = false;
                size_t n;

                if (!is_opt(argv[i], "mon"))
                        continue;
                m = opts_split(argv[i + 1], &n);
                for (size_t k = 0; m && k < n; k++) {
                        if (startswith(m[k], "chardev="))
                                id = m[k] + strlen("chardev=");
                        else if (streq(m[k], "mode=control"))
                                control = true;
                }
                for (int j = 1; id && control && j + 1 < argc; j++) {
                        char **c;
                        ssize_t path_at = -1;
                        bool match = false;

                        if (!is_opt(argv[j], "chardev") || !startswith(argv[j + 1], "socket"))
                                continue;
                        c = opts_split(argv[j + 1], &n);
                        for (size_t k = 0; c && k < n; k++) {
                                if (startswith(c[k], "id=") && streq(c[k] + 3, id))
                                        match = true;
                                else if (startswith(c[k], "path="))
                                        path_at = (ssize_t) k;
                        }
                        if (match && path_at >= 0 && opt_is_server(c, n)) {
                                char *path = strdup(c[path_at] + strlen("path="));

                                free(c[path_at]);
                                if (asprintf(&c[path_at], "path=%s" INNER_SUFFIX, path) < 0)
                                        abort();
                                argv[j + 1] = opts_join(c, n);
                                opts_free(c);
                                opts_free(m);
                                return path;
                        }
                        opts_free(c);
                }
                opts_free(m);
        }
        return NULL;
}

/* ---------------------------------------------------------------------------------------------- */
/* The proxy */

typedef struct Expect {
        struct Expect *next;
        const char *hide; /* this is device-list-properties for a device whose reply gets rewritten */
        bool filter_tx;
} Expect;

typedef struct Proxy {
        int client, inner;
        char *cbuf, *ibuf;
        size_t clen, ilen;
        Expect *head, *tail;
        char **hidden; /* VIRTBUS_FAKE_QEMU_HIDE_DEVICES */
        size_t n_hidden;
} Proxy;

static int write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = send(fd, p, n, MSG_NOSIGNAL);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

static void expect_push(Proxy *x, const char *line, size_t len) {
        _cleanup_(json_freep) JsonValue *v = NULL;
        Expect *e = calloc(1, sizeof(Expect));
        const char *cmd, *type;

        if (!e)
                abort();
        /* Every client message gets exactly one reply (an unparsable one gets an error reply). */
        if (json_parse(line, len, &v, NULL) >= 0) {
                cmd = json_object_get_string(v, "execute");
                type = json_object_get_string(json_object_get(v, "arguments"), "typename");
                if (streq_ptr(cmd, "device-list-properties") && type) {
                        e->filter_tx = streq(type, "virtio-net-pci");
                        for (size_t i = 0; i < x->n_hidden; i++)
                                if (streq(x->hidden[i], type))
                                        e->hide = x->hidden[i];
                }
        }
        if (x->tail)
                x->tail->next = e;
        else
                x->head = e;
        x->tail = e;
}

static Expect *expect_pop(Proxy *x) {
        Expect *e = x->head;

        if (e) {
                x->head = e->next;
                if (!x->head)
                        x->tail = NULL;
        }
        return e;
}

/* One line from QEMU (without its "\r\n"): forward it, rewritten if it answers a watched command. */
static int relay_reply_line(Proxy *x, const char *line, size_t len) {
        _cleanup_(json_freep) JsonValue *v = NULL;
        _cleanup_free_ char *text = NULL;
        _cleanup_free_ Expect *e = NULL;
        JsonValue *ret;
        int r;

        if (json_parse(line, len, &v, NULL) < 0 || (!json_object_get(v, "return") && !json_object_get(v, "error")))
                goto verbatim; /* greeting, event, or something we do not understand */

        e = expect_pop(x);
        if (!e || (!e->filter_tx && !e->hide))
                goto verbatim;

        if (e->hide) {
                JsonValue *id = json_object_steal(v, "id"), *err = json_new_object();
                char *desc = NULL;

                json_free(json_object_steal(v, "return"));
                json_free(json_object_steal(v, "error"));
                if (asprintf(&desc, "Device '%s' not found", e->hide) < 0)
                        abort();
                json_object_set_string(err, "class", "DeviceNotFound");
                json_object_set_string(err, "desc", desc);
                free(desc);
                json_object_set(v, "error", err);
                if (id)
                        json_object_set(v, "id", id);
        } else {
                ret = json_object_get(v, "return");
                for (size_t i = json_array_size(ret); i > 0; i--)
                        if (streq_ptr(json_object_get_string(json_array_get(ret, i - 1), "name"), "tx"))
                                json_free(json_array_steal(ret, i - 1));
        }

        r = json_format(v, &text);
        if (r < 0)
                goto verbatim;
        r = write_all(x->client, text, strlen(text));
        return r < 0 ? r : write_all(x->client, "\r\n", 2);

verbatim:
        r = write_all(x->client, line, len);
        return r < 0 ? r : write_all(x->client, "\r\n", 2);
}

/* Append n bytes to a line buffer and hand complete lines to `handle`; a line longer than the bound
 * is passed through unprocessed. */
static int take_lines(Proxy *x, char **buf, size_t *len, const char *data, size_t n, bool from_client) {
        char *b = realloc(*buf, *len + n + 1);
        size_t start = 0;

        if (!b)
                return -ENOMEM;
        *buf = b;
        memcpy(b + *len, data, n);
        *len += n;

        for (;;) {
                char *nl = memchr(b + start, '\n', *len - start);
                size_t l;

                if (!nl)
                        break;
                l = (size_t) (nl - (b + start));
                if (from_client)
                        expect_push(x, b + start, l);
                else {
                        size_t t = l;
                        int r;

                        if (t > 0 && b[start + t - 1] == '\r')
                                t--;
                        r = relay_reply_line(x, b + start, t);
                        if (r < 0)
                                return r;
                }
                start += l + 1;
        }
        memmove(b, b + start, *len - start);
        *len -= start;
        if (*len > LINE_MAX_BYTES) {
                if (!from_client) {
                        int r = write_all(x->client, b, *len);
                        if (r < 0)
                                return r;
                }
                *len = 0;
        }
        return 0;
}

/* Client → QEMU: bytes unchanged, fds along; and remember which reply to rewrite. */
static int pump_client(Proxy *x) {
        char data[65536];
        union {
                struct cmsghdr align;
                uint8_t buf[CMSG_SPACE(sizeof(int) * FDS_MAX)];
        } control = {};
        struct iovec iov = { .iov_base = data, .iov_len = sizeof data };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof control.buf,
        };
        struct msghdr out = {};
        ssize_t n;
        int r = 0;

        n = recvmsg(x->client, &mh, MSG_CMSG_CLOEXEC);
        if (n < 0)
                return errno == EINTR || errno == EAGAIN ? 0 : -errno;
        if (n == 0)
                return -ECONNRESET;

        iov.iov_len = (size_t) n;
        out.msg_iov = &iov;
        out.msg_iovlen = 1;
        if (mh.msg_controllen > 0) {
                out.msg_control = mh.msg_control;
                out.msg_controllen = mh.msg_controllen;
        }
        for (;;) {
                ssize_t k = sendmsg(x->inner, &out, MSG_NOSIGNAL);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0)
                        return -errno;
                if ((size_t) k < iov.iov_len)
                        r = write_all(x->inner, data + k, iov.iov_len - (size_t) k);
                else
                        r = 0;
                break;
        }
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                        for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
                                int fd;

                                memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
                                close(fd);
                        }
        if (r < 0)
                return r;
        return take_lines(x, &x->cbuf, &x->clen, data, (size_t) n, true);
}

static int pump_inner(Proxy *x) {
        char data[65536];
        ssize_t n;

        n = read(x->inner, data, sizeof data);
        if (n < 0)
                return errno == EINTR || errno == EAGAIN ? 0 : -errno;
        if (n == 0)
                return -ECONNRESET;
        return take_lines(x, &x->ibuf, &x->ilen, data, (size_t) n, false);
}

static int connect_inner(const char *path, pid_t qemu) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };

        if (strlen(path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        for (;;) {
                int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

                if (fd < 0)
                        return -errno;
                if (connect(fd, (struct sockaddr *) &sa, sizeof sa) >= 0)
                        return fd;
                close(fd);
                if (errno != ENOENT && errno != ECONNREFUSED && errno != EAGAIN)
                        return -errno;
                if (getppid() != qemu)
                        return -ESRCH; /* QEMU is gone */
                (void) nanosleep(&(struct timespec) { .tv_nsec = 10 * 1000 * 1000 }, NULL);
        }
}

_noreturn_ static void run_proxy(int listen_fd, const char *inner_path, pid_t qemu) {
        Proxy x = { .client = -1, .inner = -1 };
        const char *hide = getenv("VIRTBUS_FAKE_QEMU_HIDE_DEVICES");

        if (!isempty(hide))
                x.hidden = opts_split(hide, &x.n_hidden);

        for (;;) {
                int r = 0;

                x.client = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
                if (x.client < 0) {
                        if (errno == EINTR)
                                continue;
                        _exit(EXIT_FAILURE);
                }
                x.inner = connect_inner(inner_path, qemu);
                if (x.inner < 0)
                        _exit(EXIT_SUCCESS);

                while (r >= 0) {
                        struct pollfd p[2] = {
                                { .fd = x.client, .events = POLLIN },
                                { .fd = x.inner, .events = POLLIN },
                        };

                        if (poll(p, 2, -1) < 0) {
                                if (errno == EINTR)
                                        continue;
                                _exit(EXIT_FAILURE);
                        }
                        if (p[0].revents)
                                r = pump_client(&x);
                        if (r >= 0 && p[1].revents)
                                r = pump_inner(&x);
                }

                /* One client at a time, like QEMU; the next one gets a fresh QEMU connection. */
                close(x.client);
                close(x.inner);
                x.clen = x.ilen = 0;
                while (x.head)
                        free(expect_pop(&x));
        }
}

int main(int argc, char *argv[]) {
        const char *real = getenv("VIRTBUS_REAL_QEMU");
        _cleanup_free_ char *inner = NULL;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        char *path;
        pid_t qemu = getpid(), pid;
        int fd;

        arg0 = argv[0];
        if (isempty(real))
                real = "qemu-system-x86_64";
        argv[0] = (char *) real;

        path = rewrite_qmp_socket(argc, argv);
        if (!path) {
                execvp(real, argv);
                warn("cannot execute %s: %s", real, strerror(errno));
                return 127;
        }
        if (asprintf(&inner, "%s" INNER_SUFFIX, path) < 0 || strlen(inner) >= sizeof sa.sun_path) {
                warn("QMP socket path too long: %s", path);
                return 1;
        }

        /* Listen before QEMU starts: a client connecting early simply waits for the greeting. */
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        (void) unlink(path);
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(fd, 4) < 0) {
                warn("cannot listen on %s: %s", path, strerror(errno));
                return 1;
        }

        pid = fork();
        if (pid < 0) {
                warn("fork: %s", strerror(errno));
                return 1;
        }
        if (pid == 0) {
                /* The proxy: dies with QEMU; holds none of QEMU's fds (taps etc.). */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != qemu)
                        _exit(EXIT_FAILURE);
                if (dup2(fd, 3) < 0)
                        _exit(EXIT_FAILURE);
                (void) close_range(4, ~0U, 0);
                (void) signal(SIGPIPE, SIG_IGN);
                run_proxy(3, inner, qemu);
        }

        /* This process becomes QEMU. */
        close(fd);
        execvp(real, argv);
        warn("cannot execute %s: %s", real, strerror(errno));
        return 127;
}
