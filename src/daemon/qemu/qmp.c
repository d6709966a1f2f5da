/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "log.h"
#include "qmp.h"

#define QMP_RETRY_MIN_USEC 5000ULL     /* first connect retry; doubles up to … */
#define QMP_RETRY_MAX_USEC 100000ULL
#define QMP_READ_CHUNK (64U * 1024U)
#define QMP_READS_PER_DISPATCH 16      /* let other sources run while QEMU floods us */

typedef enum QmpState {
        QMP_CONNECTING,  /* socket not there yet, or connect() in progress */
        QMP_GREETING,    /* connected, waiting for {"QMP": …} */
        QMP_NEGOTIATING, /* qmp_capabilities sent */
        QMP_READY,
        QMP_CLOSED,
} QmpState;

typedef struct OutMsg {
        struct OutMsg *next;
        char *data;
        size_t len, done;
        int fd; /* sent with the message's first byte */
} OutMsg;

typedef struct Pending {
        struct Pending *next;
        QmpClient *client;
        uint64_t id;
        char *command;
        OutMsg *unsent; /* queued before negotiation finished */
        sd_event_source *timer;
        qmp_reply_handler_t handler;
        void *userdata;
} Pending;

struct QmpClient {
        unsigned n_ref;
        sd_event *event;
        char *path;
        int fd;
        QmpState state;
        int close_error;
        bool connect_in_progress;

        sd_event_source *io, *retry_timer, *deadline_timer;
        uint64_t retry_usec;

        uint64_t version;
        uint64_t next_id;
        uint64_t negotiate_id;

        Pending *pending;
        OutMsg *out_head, *out_tail;

        char *rbuf;
        size_t rlen, ralloc, scanned;

        qmp_event_handler_t event_handler;
        void *event_userdata;
        qmp_ready_handler_t ready_handler;
        void *ready_userdata;
        qmp_disconnect_handler_t disconnect_handler;
        void *disconnect_userdata;
};

static OutMsg *out_msg_free(OutMsg *m) {
        if (!m)
                return NULL;
        safe_close(m->fd);
        free(m->data);
        return mfree(m);
}

static Pending *pending_free(Pending *p) {
        if (!p)
                return NULL;
        sd_event_source_disable_unref(p->timer);
        out_msg_free(p->unsent);
        free(p->command);
        return mfree(p);
}

static void pending_unlink(QmpClient *c, Pending *p) {
        for (Pending **i = &c->pending; *i; i = &(*i)->next)
                if (*i == p) {
                        *i = p->next;
                        p->next = NULL;
                        return;
                }
}

static void out_enqueue(QmpClient *c, OutMsg *m) {
        m->next = NULL;
        if (c->out_tail)
                c->out_tail->next = m;
        else
                c->out_head = m;
        c->out_tail = m;
}

static void update_io_events(QmpClient *c) {
        uint32_t events = EPOLLIN;

        if (!c->io)
                return;
        if (c->connect_in_progress)
                events = EPOLLOUT;
        else if (c->out_head)
                events |= EPOLLOUT;
        (void) sd_event_source_set_io_events(c->io, events);
}

/* Close the socket and fail what is pending with `pending_error`. No user callback other than the
 * pending ones. */
static void client_shutdown(QmpClient *c, int pending_error) {
        Pending *list;

        if (c->state == QMP_CLOSED)
                return;
        c->state = QMP_CLOSED;

        c->io = sd_event_source_disable_unref(c->io);
        c->retry_timer = sd_event_source_disable_unref(c->retry_timer);
        c->deadline_timer = sd_event_source_disable_unref(c->deadline_timer);
        c->fd = safe_close(c->fd);
        while (c->out_head) {
                OutMsg *m = c->out_head;

                c->out_head = m->next;
                out_msg_free(m);
        }
        c->out_tail = NULL;
        c->rbuf = mfree(c->rbuf);
        c->rlen = c->ralloc = c->scanned = 0;

        /* Detach first: a callback may call qmp_execute() (which now fails) or drop the client. */
        list = TAKE_PTR(c->pending);
        while (list) {
                Pending *p = list;

                list = p->next;
                p->timer = sd_event_source_disable_unref(p->timer);
                if (p->handler)
                        p->handler(c, pending_error, NULL, NULL, NULL, p->userdata);
                pending_free(p);
        }
}

/* The connection is lost: fail pending commands, then tell the owner, once. */
static void client_fail(QmpClient *c, int error) {
        if (c->state == QMP_CLOSED)
                return;
        if (error < 0)
                log_debug_errno(error, "QMP %s: connection failed: %m", c->path);
        else
                log_debug("QMP %s: QEMU closed the connection.", c->path);
        c->close_error = error;
        qmp_client_ref(c);
        client_shutdown(c, -ECONNRESET);
        if (c->disconnect_handler)
                c->disconnect_handler(c, error, c->disconnect_userdata);
        qmp_client_unref(c);
}

static void client_free(QmpClient *c) {
        client_shutdown(c, -ECANCELED);
        sd_event_unref(c->event);
        free(c->path);
        free(c);
}

QmpClient *qmp_client_ref(QmpClient *c) {
        if (c)
                c->n_ref++;
        return c;
}

QmpClient *qmp_client_unref(QmpClient *c) {
        if (!c)
                return NULL;
        if (--c->n_ref > 0)
                return NULL;
        /* Pending callbacks (-ECANCELED) run with a temporary reference, so that a callback taking
         * and dropping one of its own cannot free the client under us. */
        c->n_ref = 1;
        client_shutdown(c, -ECANCELED);
        if (--c->n_ref == 0)
                client_free(c);
        return NULL;
}

void qmp_client_close(QmpClient *c) {
        if (!c)
                return;
        qmp_client_ref(c);
        client_shutdown(c, -ECANCELED);
        qmp_client_unref(c);
}

/* ---------------------------------------------------------------------------------------------- */
/* Output */

static int do_write(QmpClient *c) {
        while (c->out_head) {
                OutMsg *m = c->out_head;
                struct iovec iov = {
                        .iov_base = m->data + m->done,
                        .iov_len = m->len - m->done,
                };
                union {
                        struct cmsghdr cmsghdr;
                        uint8_t buf[CMSG_SPACE(sizeof(int))];
                } control = {};
                struct msghdr mh = {
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                };
                ssize_t n;

                if (m->fd >= 0 && m->done == 0) {
                        struct cmsghdr *cmsg;

                        mh.msg_control = &control;
                        mh.msg_controllen = sizeof control.buf;
                        cmsg = CMSG_FIRSTHDR(&mh);
                        cmsg->cmsg_level = SOL_SOCKET;
                        cmsg->cmsg_type = SCM_RIGHTS;
                        cmsg->cmsg_len = CMSG_LEN(sizeof(int));
                        memcpy(CMSG_DATA(cmsg), &m->fd, sizeof(int));
                }

                n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        return -errno;
                }
                if (n > 0)
                        m->fd = safe_close(m->fd); /* delivered with the first byte */
                m->done += (size_t) n;
                if (m->done >= m->len) {
                        c->out_head = m->next;
                        if (!c->out_head)
                                c->out_tail = NULL;
                        out_msg_free(m);
                }
        }
        update_io_events(c);
        return 0;
}

static int build_command(QmpClient *c, const char *command, const JsonValue *arguments, uint64_t id, int fd,
                         OutMsg **ret) {
        _cleanup_(json_freep) JsonValue *msg = NULL;
        _cleanup_free_ char *text = NULL;
        OutMsg *m;
        size_t len;
        int r;

        msg = json_new_object();
        if (!msg)
                return -ENOMEM;
        r = json_object_set_string(msg, "execute", command);
        if (r < 0)
                return r;
        if (arguments) {
                r = json_object_set(msg, "arguments", json_copy(arguments));
                if (r < 0)
                        return r;
        }
        r = json_object_set_integer(msg, "id", (int64_t) id);
        if (r < 0)
                return r;
        r = json_format(msg, &text);
        if (r < 0)
                return r;

        /* QEMU reads a JSON stream; the line break keeps its parser from waiting for more. */
        len = strlen(text);
        m = calloc(1, sizeof(OutMsg));
        if (!m)
                return -ENOMEM;
        m->fd = -EBADF;
        m->data = realloc(text, len + 3);
        if (!m->data) {
                free(m);
                return -ENOMEM;
        }
        text = NULL;
        memcpy(m->data + len, "\r\n", 3);
        m->len = len + 2;
        if (fd >= 0) {
                m->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
                if (m->fd < 0) {
                        r = -errno;
                        out_msg_free(m);
                        return r;
                }
        }
        *ret = m;
        return 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* Input */

static void handle_greeting(QmpClient *c, JsonValue *msg) {
        JsonValue *qmp = json_object_get(msg, "QMP"), *v;
        OutMsg *m = NULL;
        int64_t major = 0, minor = 0, micro = 0;
        int r;

        if (!json_is_type(qmp, JSON_OBJECT)) {
                log_warning("QMP %s: expected a QMP greeting, got something else.", c->path);
                return client_fail(c, -EPROTO);
        }
        v = json_object_get(json_object_get(qmp, "version"), "qemu");
        if (json_object_get_integer(v, "major", &major) >= 0 && json_object_get_integer(v, "minor", &minor) >= 0 &&
            json_object_get_integer(v, "micro", &micro) >= 0 && major >= 0 && minor >= 0 && minor <= 999 &&
            micro >= 0 && micro <= 999 && major <= 1000000)
                c->version = (uint64_t) major * 1000000 + (uint64_t) minor * 1000 + (uint64_t) micro;

        r = build_command(c, "qmp_capabilities", NULL, c->negotiate_id, -EBADF, &m);
        if (r < 0)
                return client_fail(c, r);
        out_enqueue(c, m);
        c->state = QMP_NEGOTIATING;
        update_io_events(c);
}

static void handle_negotiated(QmpClient *c, JsonValue *msg) {
        if (!json_object_get(msg, "return")) {
                log_warning("QMP %s: QEMU refused capabilities negotiation: %s", c->path,
                            strna(json_object_get_string(json_object_get(msg, "error"), "desc")));
                return client_fail(c, -EPROTO);
        }

        c->state = QMP_READY;
        c->deadline_timer = sd_event_source_disable_unref(c->deadline_timer);
        /* Send what was queued while connecting, in order. */
        for (Pending *p = c->pending; p; p = p->next)
                if (p->unsent)
                        out_enqueue(c, TAKE_PTR(p->unsent));
        update_io_events(c);
        log_debug("QMP %s: ready.", c->path);
        if (c->ready_handler)
                c->ready_handler(c, c->ready_userdata);
}

static void handle_event(QmpClient *c, const char *name, JsonValue *msg) {
        JsonValue *ts = json_object_get(msg, "timestamp");
        int64_t sec = 0, usec = 0;
        uint64_t t = 0;

        if (json_object_get_integer(ts, "seconds", &sec) >= 0 && json_object_get_integer(ts, "microseconds", &usec) >= 0 &&
            sec >= 0 && usec >= 0 && (uint64_t) sec < UINT64_MAX / 1000000 - 1)
                t = (uint64_t) sec * 1000000 + (uint64_t) usec;

        log_debug("QMP %s: event %s", c->path, name);
        if (c->event_handler)
                c->event_handler(c, name, json_object_get(msg, "data"), t, c->event_userdata);
}

static void handle_reply(QmpClient *c, JsonValue *msg) {
        JsonValue *ret = json_object_get(msg, "return"), *err = json_object_get(msg, "error");
        int64_t id;
        Pending *p;

        if (json_object_get_integer(msg, "id", &id) < 0 || id < 0) {
                /* QEMU answers a message it could not parse without an id. */
                log_warning("QMP %s: reply without our id: %s", c->path,
                            strna(json_object_get_string(err, "desc")));
                return;
        }

        if (c->state == QMP_NEGOTIATING && (uint64_t) id == c->negotiate_id)
                return handle_negotiated(c, msg);

        for (p = c->pending; p; p = p->next)
                if (p->id == (uint64_t) id)
                        break;
        if (!p) {
                log_debug("QMP %s: dropping reply to unknown (timed out?) command id %" PRIi64, c->path, id);
                return;
        }
        pending_unlink(c, p);
        p->timer = sd_event_source_disable_unref(p->timer);

        if (p->handler) {
                if (ret)
                        p->handler(c, 0, ret, NULL, NULL, p->userdata);
                else {
                        const char *cls = json_object_get_string(err, "class"), *desc = json_object_get_string(err, "desc");

                        p->handler(c, -EIO, NULL, cls ?: "GenericError", desc ?: "unknown error", p->userdata);
                }
        }
        pending_free(p);
}

static void handle_line(QmpClient *c, char *line, size_t len) {
        _cleanup_(json_freep) JsonValue *msg = NULL;
        const char *event;
        size_t off = 0;
        int r;

        while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
                len--;
        if (len == 0)
                return;

        r = json_parse(line, len, &msg, &off);
        if (r < 0 || !json_is_type(msg, JSON_OBJECT)) {
                if (c->state == QMP_GREETING)
                        return client_fail(c, -EPROTO);
                /* A bad line is logged and dropped: a running guest must not lose its monitor over it. */
                log_warning_errno(r < 0 ? r : -EINVAL, "QMP %s: ignoring invalid message (at byte %zu): %m",
                                  c->path, off);
                return;
        }

        if (c->state == QMP_GREETING)
                return handle_greeting(c, msg);

        event = json_object_get_string(msg, "event");
        if (event)
                return handle_event(c, event, msg);
        if (json_object_get(msg, "return") || json_is_type(json_object_get(msg, "error"), JSON_OBJECT))
                return handle_reply(c, msg);
        log_debug("QMP %s: ignoring message that is neither event nor reply.", c->path);
}

/* Split the buffer into lines and handle them; stop as soon as the client gets closed. */
static int process_input(QmpClient *c) {
        size_t start = 0;

        for (;;) {
                char *nl = memchr(c->rbuf + c->scanned, '\n', c->rlen - c->scanned);
                size_t end;

                if (!nl) {
                        c->scanned = c->rlen;
                        break;
                }
                end = (size_t) (nl - c->rbuf);
                handle_line(c, c->rbuf + start, end - start);
                /* Closed, or the owner dropped its last reference in a callback (on_io holds the
                 * only one left): deliver nothing more. */
                if (c->state == QMP_CLOSED || c->n_ref <= 1)
                        return 0;
                start = c->scanned = end + 1;
        }

        if (start > 0) {
                memmove(c->rbuf, c->rbuf + start, c->rlen - start);
                c->rlen -= start;
                c->scanned -= start;
        }
        if (c->rlen > QMP_LINE_MAX) {
                log_warning("QMP %s: message larger than %u bytes.", c->path, QMP_LINE_MAX);
                return -EMSGSIZE;
        }
        return 0;
}

static int do_read(QmpClient *c) {
        for (unsigned i = 0; i < QMP_READS_PER_DISPATCH && c->state != QMP_CLOSED && c->n_ref > 1; i++) {
                ssize_t n;
                int r;

                if (c->ralloc - c->rlen < QMP_READ_CHUNK) {
                        /* Geometric growth, bounded by the line limit (checked after each read). */
                        size_t want = MIN(MAX(c->rlen + QMP_READ_CHUNK, c->ralloc * 2),
                                          (size_t) QMP_LINE_MAX + QMP_READ_CHUNK + 1);
                        char *b = realloc(c->rbuf, want);

                        if (!b)
                                return -ENOMEM;
                        c->rbuf = b;
                        c->ralloc = want;
                }
                n = read(c->fd, c->rbuf + c->rlen, c->ralloc - c->rlen);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        if (errno == ECONNRESET)
                                return 1; /* QEMU's quit may reset rather than close */
                        return -errno;
                }
                if (n == 0)
                        return 1; /* EOF */
                c->rlen += (size_t) n;
                r = process_input(c);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---------------------------------------------------------------------------------------------- */
/* Connecting */

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata);

static bool connect_error_is_transient(int error) {
        /* Not there yet / bound but not yet listening (or a stale socket of a dead QEMU) / backlog full. */
        return error == ENOENT || error == ECONNREFUSED || error == EAGAIN;
}

static void connected(QmpClient *c) {
        c->connect_in_progress = false;
        c->state = QMP_GREETING;
        c->retry_timer = sd_event_source_disable_unref(c->retry_timer);
        update_io_events(c);
        log_debug("QMP %s: connected.", c->path);
}

/* 1: connected (or in progress), 0: try again later, <0: give up. */
static int try_connect(QmpClient *c) {
        union {
                struct sockaddr sa;
                struct sockaddr_un un;
        } addr = { .un.sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        int r;

        memcpy(addr.un.sun_path, c->path, strlen(c->path) + 1); /* length checked in qmp_connect_full() */

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, &addr.sa, sizeof addr.un) < 0) {
                if (errno == EINPROGRESS)
                        c->connect_in_progress = true;
                else if (connect_error_is_transient(errno))
                        return 0;
                else
                        return -errno;
        }

        c->io = sd_event_source_disable_unref(c->io);
        r = sd_event_add_io(c->event, &c->io, fd, EPOLLIN, on_io, c);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(c->io, "qmp-io");
        c->fd = TAKE_FD(fd);
        if (c->connect_in_progress)
                update_io_events(c);
        else
                connected(c);
        return 1;
}

static int schedule_retry(QmpClient *c) {
        int r;

        c->retry_usec = c->retry_usec ? MIN(c->retry_usec * 2, QMP_RETRY_MAX_USEC) : QMP_RETRY_MIN_USEC;
        if (c->retry_timer) {
                r = sd_event_source_set_time_relative(c->retry_timer, c->retry_usec);
                if (r < 0)
                        return r;
                return sd_event_source_set_enabled(c->retry_timer, SD_EVENT_ONESHOT);
        }
        return 0; /* created by the caller */
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata) {
        QmpClient *c = userdata;
        int r;

        r = try_connect(c);
        if (r == 0)
                r = schedule_retry(c);
        if (r < 0)
                client_fail(c, r);
        return 0;
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        QmpClient *c = userdata;

        log_debug("QMP %s: not ready within the timeout.", c->path);
        client_fail(c, -ETIMEDOUT);
        return 0;
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        _cleanup_(qmp_client_unrefp) QmpClient *c = qmp_client_ref(userdata);
        int r;

        if (c->connect_in_progress) {
                int error = 0;
                socklen_t sl = sizeof error;

                if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &sl) < 0)
                        error = errno;
                if (error == 0) {
                        connected(c);
                        return 0;
                }
                c->connect_in_progress = false;
                c->io = sd_event_source_disable_unref(c->io);
                c->fd = safe_close(c->fd);
                if (!connect_error_is_transient(error)) {
                        client_fail(c, -error);
                        return 0;
                }
                c->retry_timer = sd_event_source_disable_unref(c->retry_timer);
                r = sd_event_add_time_relative(c->event, &c->retry_timer, CLOCK_MONOTONIC, QMP_RETRY_MIN_USEC, 0,
                                               on_retry, c);
                if (r < 0)
                        client_fail(c, r);
                return 0;
        }

        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                r = do_read(c);
                if (c->n_ref <= 1)
                        return 0; /* abandoned by its owner: our unref frees it */
                if (r != 0) {
                        client_fail(c, r > 0 ? 0 : r);
                        return 0;
                }
        }
        if (c->state != QMP_CLOSED && (revents & EPOLLOUT)) {
                r = do_write(c);
                if (r < 0)
                        client_fail(c, r == -EPIPE || r == -ECONNRESET ? 0 : r);
        }
        return 0;
}

int qmp_connect_full(sd_event *event, const char *socket_path, uint64_t timeout_usec, QmpClient **ret) {
        _cleanup_(qmp_client_unrefp) QmpClient *c = NULL;
        int r;

        if (!event || !socket_path || !ret)
                return -EINVAL;
        if (strlen(socket_path) >= sizeof(((struct sockaddr_un *) NULL)->sun_path))
                return -ENAMETOOLONG;
        if (timeout_usec == 0)
                timeout_usec = QMP_CONNECT_TIMEOUT_USEC;

        c = calloc(1, sizeof(QmpClient));
        if (!c)
                return -ENOMEM;
        c->n_ref = 1;
        c->fd = -EBADF;
        c->negotiate_id = 1; /* qmp_capabilities is always id 1, whatever gets queued before it */
        c->next_id = 2;
        c->state = QMP_CONNECTING;
        c->event = sd_event_ref(event);
        c->path = strdup(socket_path);
        if (!c->path)
                return -ENOMEM;

        r = sd_event_add_time_relative(event, &c->deadline_timer, CLOCK_MONOTONIC, timeout_usec, 0, on_deadline, c);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(c->deadline_timer, "qmp-deadline");

        r = try_connect(c);
        if (r < 0)
                return log_debug_errno(r, "QMP %s: cannot connect: %m", socket_path);
        if (r == 0) {
                c->retry_usec = QMP_RETRY_MIN_USEC;
                r = sd_event_add_time_relative(event, &c->retry_timer, CLOCK_MONOTONIC, c->retry_usec, 0, on_retry, c);
                if (r < 0)
                        return r;
                (void) sd_event_source_set_description(c->retry_timer, "qmp-connect-retry");
        }

        *ret = TAKE_PTR(c);
        return 0;
}

int qmp_connect(sd_event *event, const char *socket_path, QmpClient **ret) {
        return qmp_connect_full(event, socket_path, 0, ret);
}

/* ---------------------------------------------------------------------------------------------- */
/* Commands */

static int on_command_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        Pending *p = userdata;
        _cleanup_(qmp_client_unrefp) QmpClient *c = qmp_client_ref(p->client);

        log_debug("QMP %s: command '%s' timed out.", c->path, p->command);
        pending_unlink(c, p);
        p->timer = sd_event_source_disable_unref(p->timer);
        if (p->handler)
                p->handler(c, -ETIMEDOUT, NULL, NULL, NULL, p->userdata);
        pending_free(p);
        return 0;
}

int qmp_execute_full(QmpClient *c, const char *command, const JsonValue *arguments, int fd, uint64_t timeout_usec,
                     qmp_reply_handler_t handler, void *userdata) {
        Pending *p, **tail;
        OutMsg *m = NULL;
        int r;

        if (!c || isempty(command))
                return -EINVAL;
        if (arguments && !json_is_type(arguments, JSON_OBJECT))
                return -EINVAL;
        if (c->state == QMP_CLOSED)
                return -ENOTCONN;
        if (timeout_usec == 0)
                timeout_usec = QMP_COMMAND_TIMEOUT_USEC;

        p = calloc(1, sizeof(Pending));
        if (!p)
                return -ENOMEM;
        p->client = c;
        p->id = c->next_id++;
        p->handler = handler;
        p->userdata = userdata;
        p->command = strdup(command);
        if (!p->command) {
                pending_free(p);
                return -ENOMEM;
        }
        r = build_command(c, command, arguments, p->id, fd, &m);
        if (r < 0) {
                pending_free(p);
                return r;
        }
        r = sd_event_add_time_relative(c->event, &p->timer, CLOCK_MONOTONIC, timeout_usec, 0, on_command_timeout, p);
        if (r < 0) {
                out_msg_free(m);
                pending_free(p);
                return r;
        }
        (void) sd_event_source_set_description(p->timer, "qmp-command-timeout");

        for (tail = &c->pending; *tail; tail = &(*tail)->next)
                ;
        *tail = p;

        if (c->state == QMP_READY) {
                out_enqueue(c, m);
                update_io_events(c);
        } else
                p->unsent = m;
        log_debug("QMP %s: → %s (id %" PRIu64 ")", c->path, command, p->id);
        return 0;
}

int qmp_execute(QmpClient *c, const char *command, const JsonValue *arguments, qmp_reply_handler_t handler,
                void *userdata) {
        return qmp_execute_full(c, command, arguments, -EBADF, 0, handler, userdata);
}

void qmp_set_event_handler(QmpClient *c, qmp_event_handler_t handler, void *userdata) {
        c->event_handler = handler;
        c->event_userdata = userdata;
}

void qmp_set_ready_handler(QmpClient *c, qmp_ready_handler_t handler, void *userdata) {
        c->ready_handler = handler;
        c->ready_userdata = userdata;
}

void qmp_set_disconnect_handler(QmpClient *c, qmp_disconnect_handler_t handler, void *userdata) {
        c->disconnect_handler = handler;
        c->disconnect_userdata = userdata;
}

bool qmp_is_ready(const QmpClient *c) {
        return c && c->state == QMP_READY;
}

bool qmp_is_closed(const QmpClient *c) {
        return !c || c->state == QMP_CLOSED;
}

uint64_t qmp_get_qemu_version(const QmpClient *c) {
        return c ? c->version : 0;
}

const char *qmp_get_socket_path(const QmpClient *c) {
        return c ? c->path : NULL;
}

/* ---------------------------------------------------------------------------------------------- */
/* Synchronous helpers for private loops */

int qmp_wait_ready(QmpClient *c) {
        _cleanup_(qmp_client_unrefp) _unused_ QmpClient *ref = qmp_client_ref(c);
        int r;

        if (!c)
                return -EINVAL;
        if (sd_event_get_state(c->event) == SD_EVENT_RUNNING)
                return -EBUSY; /* called from a callback of this very loop */
        /* The deadline timer guarantees that this ends. */
        while (c->state != QMP_READY && c->state != QMP_CLOSED) {
                r = sd_event_run(c->event, UINT64_MAX);
                if (r < 0)
                        return r;
        }
        if (c->state == QMP_READY)
                return 0;
        return c->close_error < 0 ? c->close_error : -ECONNRESET;
}

typedef struct SyncReply {
        bool done;
        int error;
        JsonValue *result;
        char *error_class, *error_desc;
} SyncReply;

static void sync_reply(QmpClient *c, int error, const JsonValue *result, const char *error_class,
                       const char *error_desc, void *userdata) {
        SyncReply *s = userdata;

        s->done = true;
        s->error = error;
        if (result) {
                s->result = json_copy(result);
                if (!s->result)
                        s->error = -ENOMEM;
        }
        if (error_class)
                s->error_class = strdup(error_class);
        if (error_desc)
                s->error_desc = strdup(error_desc);
}

int qmp_execute_sync(QmpClient *c, const char *command, const JsonValue *arguments, uint64_t timeout_usec,
                     JsonValue **ret_result, char **ret_error_class, char **ret_error_desc) {
        _cleanup_(qmp_client_unrefp) _unused_ QmpClient *ref = qmp_client_ref(c);
        SyncReply s = {};
        int r;

        if (!c)
                return -EINVAL;
        if (sd_event_get_state(c->event) == SD_EVENT_RUNNING)
                return -EBUSY; /* called from a callback of this very loop */
        r = qmp_execute_full(c, command, arguments, -EBADF, timeout_usec, sync_reply, &s);
        if (r < 0)
                return r;
        /* The command's own timeout guarantees that the callback comes. */
        while (!s.done) {
                r = sd_event_run(c->event, UINT64_MAX);
                if (r < 0) {
                        /* The loop is unusable: cancel so that the callback cannot run later on a dead `s`. */
                        qmp_client_close(c);
                        break;
                }
        }
        if (r >= 0)
                r = s.error;

        if (ret_result)
                *ret_result = TAKE_PTR(s.result);
        if (ret_error_class)
                *ret_error_class = TAKE_PTR(s.error_class);
        if (ret_error_desc)
                *ret_error_desc = TAKE_PTR(s.error_desc);
        json_free(s.result);
        free(s.error_class);
        free(s.error_desc);
        return r;
}
