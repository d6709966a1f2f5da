/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The asynchronous QMP client: against a real QEMU (negotiation, commands, errors, events, fd
 * passing, quit → SHUTDOWN + disconnect), and against scripted fake servers for everything a real
 * QEMU would not do (bad greeting, refused negotiation, garbage, split and oversized lines,
 * out-of-order replies, timeouts, a server dying with commands pending, re-entrant unrefs). */

#include <glib.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "qmp.h"

#define SAFETY_TIMEOUT_USEC (60ULL * 1000000ULL)

typedef struct Reply {
        bool done;
        int error;
        char *result; /* formatted */
        char *error_class, *error_desc;
        unsigned order;
} Reply;

typedef struct Ctx {
        sd_event *event;
        QmpClient *qmp;
        GPtrArray *events;     /* "NAME" or "NAME DATA-JSON" */
        unsigned ready_calls, replies;
        bool disconnected;
        int disconnect_error;
        bool unref_on_event;
} Ctx;

static uint64_t now_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

static void on_reply(QmpClient *c, int error, const JsonValue *result, const char *cls, const char *desc,
                     void *userdata) {
        Reply *r = userdata;

        g_assert_false(r->done); /* exactly one callback per command */
        r->done = true;
        r->error = error;
        if (result)
                g_assert_cmpint(json_format(result, &r->result), ==, 0);
        if (error == 0)
                g_assert_nonnull(result);
        if (error == -EIO) {
                g_assert_nonnull(cls);
                g_assert_nonnull(desc);
        }
        r->error_class = g_strdup(cls);
        r->error_desc = g_strdup(desc);
}

/* The synchronous helpers refuse to run the loop from inside its own dispatch. */
static void on_reply_nested(QmpClient *c, int error, const JsonValue *result, const char *cls, const char *desc,
                            void *userdata) {
        Reply *r = userdata;

        r->done = true;
        r->error = qmp_execute_sync(c, "query-status", NULL, 0, NULL, NULL, NULL);
        g_assert_cmpint(qmp_wait_ready(c), ==, -EBUSY);
        g_assert_true(qmp_is_ready(c)); /* and leave the client alone */
}

static void reply_clear(Reply *r) {
        free(r->result);
        g_free(r->error_class);
        g_free(r->error_desc);
        *r = (Reply) {};
}

static void on_event(QmpClient *c, const char *event, const JsonValue *data, uint64_t ts, void *userdata) {
        Ctx *x = userdata;
        _cleanup_free_ char *d = NULL;

        if (data)
                g_assert_cmpint(json_format(data, &d), ==, 0);
        g_ptr_array_add(x->events, d ? g_strdup_printf("%s %s", event, d) : g_strdup(event));
        if (x->unref_on_event)
                x->qmp = qmp_client_unref(x->qmp);
}

static void on_ready(QmpClient *c, void *userdata) {
        Ctx *x = userdata;

        x->ready_calls++;
}

static void on_disconnect(QmpClient *c, int error, void *userdata) {
        Ctx *x = userdata;

        g_assert_false(x->disconnected);
        x->disconnected = true;
        x->disconnect_error = error;
}

static void ctx_init(Ctx *x) {
        *x = (Ctx) {};
        g_assert_cmpint(sd_event_new(&x->event), >=, 0);
        x->events = g_ptr_array_new_with_free_func(g_free);
}

static void ctx_attach(Ctx *x) {
        qmp_set_event_handler(x->qmp, on_event, x);
        qmp_set_ready_handler(x->qmp, on_ready, x);
        qmp_set_disconnect_handler(x->qmp, on_disconnect, x);
}

static void ctx_done(Ctx *x) {
        x->qmp = qmp_client_unref(x->qmp);
        x->event = sd_event_unref(x->event);
        g_ptr_array_unref(x->events);
}

/* Run the loop until *flag, with a safety net so that a bug fails instead of hanging. */
static void run_until(Ctx *x, const bool *flag) {
        uint64_t deadline = now_usec() + SAFETY_TIMEOUT_USEC;

        while (!*flag) {
                g_assert_cmpint(sd_event_run(x->event, 100000), >=, 0);
                if (now_usec() > deadline)
                        g_error("timed out waiting in the event loop");
        }
}

static bool has_event(Ctx *x, const char *prefix) {
        for (guint i = 0; i < x->events->len; i++)
                if (g_str_has_prefix(g_ptr_array_index(x->events, i), prefix))
                        return true;
        return false;
}

static void run_until_event(Ctx *x, const char *prefix) {
        uint64_t deadline = now_usec() + SAFETY_TIMEOUT_USEC;

        while (!has_event(x, prefix)) {
                g_assert_cmpint(sd_event_run(x->event, 100000), >=, 0);
                if (now_usec() > deadline)
                        g_error("timed out waiting for event %s", prefix);
        }
}

static void run_for(Ctx *x, uint64_t usec) {
        uint64_t end = now_usec() + usec;

        while (now_usec() < end)
                g_assert_cmpint(sd_event_run(x->event, end - now_usec()), >=, 0);
}

static void reap(pid_t pid) {
        int status;

        for (unsigned i = 0; i < 1000; i++) {
                pid_t r = waitpid(pid, &status, WNOHANG);

                g_assert_cmpint(r, >=, 0);
                if (r == pid)
                        return;
                g_usleep(10000);
        }
        kill(pid, SIGKILL);
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_error("process %d did not exit", (int) pid);
}

/* ---------------------------------------------------------------------------------------------- */
/* Real QEMU */

static pid_t spawn_qemu(const char *sock) {
        g_autofree char *qmp = g_strdup_printf("unix:%s,server=on,wait=off", sock);
        const char *argv[] = {
                "qemu-system-x86_64", "-S", "-no-user-config", "-nodefaults", "-nographic", "-machine",
                "none,accel=tcg", "-qmp", qmp, NULL,
        };
        g_autoptr(GError) error = NULL;
        GPid pid;

        g_assert_true(g_spawn_async(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD |
                                    G_SPAWN_STDIN_FROM_DEV_NULL, NULL, NULL, &pid, &error));
        g_assert_no_error(error);
        return pid;
}

static void test_real_qemu(void) {
        g_autofree char *dir = g_dir_make_tmp("test-qmp-XXXXXX", NULL);
        g_autofree char *sock = g_build_filename(dir, "qmp.sock", NULL);
        _cleanup_(json_freep) JsonValue *args = NULL, *res = NULL;
        Reply status = {}, unknown = {}, props = {}, schema = {}, r = {};
        _cleanup_free_ char *cls = NULL, *desc = NULL;
        int pipefd[2];
        Ctx x;
        pid_t pid;

        ctx_init(&x);

        /* Connect first: the socket does not exist yet, the client retries. Queue a command at once. */
        g_assert_cmpint(qmp_connect(x.event, sock, &x.qmp), ==, 0);
        ctx_attach(&x);
        g_assert_false(qmp_is_ready(x.qmp));
        g_assert_cmpint(qmp_execute(x.qmp, "query-status", NULL, on_reply, &status), ==, 0);
        run_for(&x, 50000);
        g_assert_false(status.done);
        pid = spawn_qemu(sock);

        run_until(&x, &status.done);
        g_assert_cmpuint(x.ready_calls, ==, 1);
        g_assert_true(qmp_is_ready(x.qmp));
        g_assert_cmpuint(qmp_get_qemu_version(x.qmp), >=, 7002000);
        g_assert_cmpint(status.error, ==, 0);
        g_assert_nonnull(strstr(status.result, "\"status\":\"prelaunch\""));

        g_assert_cmpint(qmp_execute(x.qmp, "query-status", NULL, on_reply_nested, &r), ==, 0);
        run_until(&x, &r.done);
        g_assert_cmpint(r.error, ==, -EBUSY);
        reply_clear(&r);

        /* QEMU's errors come back with their class. */
        g_assert_cmpint(qmp_execute(x.qmp, "no-such-command", NULL, on_reply, &unknown), ==, 0);
        args = json_new_object();
        g_assert_cmpint(json_object_set_string(args, "typename", "virtio-net-pci"), ==, 0);
        g_assert_cmpint(qmp_execute(x.qmp, "device-list-properties", args, on_reply, &props), ==, 0);
        g_assert_cmpint(qmp_execute(x.qmp, "query-qmp-schema", NULL, on_reply, &schema), ==, 0); /* ~200 KiB */
        run_until(&x, &schema.done);
        g_assert_true(unknown.done && props.done);
        g_assert_cmpint(unknown.error, ==, -EIO);
        g_assert_cmpstr(unknown.error_class, ==, "CommandNotFound");
        g_assert_cmpint(props.error, ==, 0);
        g_assert_nonnull(strstr(props.result, "{\"name\":\"tx\""));
        g_assert_cmpint(schema.error, ==, 0);
        g_assert_cmpuint(strlen(schema.result), >, 100000);

        /* stop/cont → STOP/RESUME events. */
        g_assert_cmpint(qmp_execute(x.qmp, "cont", NULL, on_reply, &r), ==, 0);
        run_until_event(&x, "RESUME");
        run_until(&x, &r.done);
        g_assert_cmpint(r.error, ==, 0);
        reply_clear(&r);
        g_assert_cmpint(qmp_execute(x.qmp, "stop", NULL, NULL, NULL), ==, 0); /* fire and forget */
        run_until_event(&x, "STOP");

        /* Synchronous helper on our private loop. */
        g_assert_cmpint(qmp_execute_sync(x.qmp, "query-status", NULL, 0, &res, NULL, NULL), ==, 0);
        g_assert_cmpstr(json_object_get_string(res, "status"), ==, "paused");
        g_assert_cmpint(qmp_execute_sync(x.qmp, "nope", NULL, 0, NULL, &cls, &desc), ==, -EIO);
        g_assert_cmpstr(cls, ==, "CommandNotFound");
        g_assert_nonnull(desc);

        /* An fd travels with its command: getfd names it, closefd finds it (fails for unknown names). */
        g_assert_cmpint(pipe2(pipefd, O_CLOEXEC), ==, 0);
        json_free(args);
        args = json_new_object();
        g_assert_cmpint(json_object_set_string(args, "fdname", "testfd"), ==, 0);
        g_assert_cmpint(qmp_execute_full(x.qmp, "getfd", args, pipefd[0], 0, on_reply, &r), ==, 0);
        close(pipefd[0]); /* the client keeps its own duplicate until sent */
        run_until(&x, &r.done);
        g_assert_cmpint(r.error, ==, 0);
        reply_clear(&r);
        g_assert_cmpint(qmp_execute_sync(x.qmp, "closefd", args, 0, NULL, NULL, NULL), ==, 0);
        g_assert_cmpint(qmp_execute_sync(x.qmp, "closefd", args, 0, NULL, NULL, NULL), ==, -EIO);
        close(pipefd[1]);

        /* system_powerdown → POWERDOWN (no guest OS here to act on it). */
        g_assert_cmpint(qmp_execute(x.qmp, "system_powerdown", NULL, NULL, NULL), ==, 0);
        run_until_event(&x, "POWERDOWN");

        /* quit → SHUTDOWN with its data, then the connection closes: disconnect with error 0. */
        g_assert_cmpint(qmp_execute(x.qmp, "quit", NULL, on_reply, &r), ==, 0);
        run_until(&x, &x.disconnected);
        g_assert_cmpint(x.disconnect_error, ==, 0);
        g_assert_true(r.done);
        g_assert_true(r.error == 0 || r.error == -ECONNRESET);
        g_assert_true(has_event(&x, "SHUTDOWN {\"guest\":false,\"reason\":\"host-qmp-quit\"}"));
        g_assert_true(qmp_is_closed(x.qmp));
        g_assert_cmpint(qmp_execute(x.qmp, "query-status", NULL, on_reply, &status), ==, -ENOTCONN);
        reap(pid);

        reply_clear(&status);
        reply_clear(&unknown);
        reply_clear(&props);
        reply_clear(&schema);
        reply_clear(&r);
        ctx_done(&x);
        (void) unlink(sock); /* QEMU removes it when it quits */
        g_assert_cmpint(rmdir(dir), ==, 0);
}

/* QEMU killed while commands are pending: they fail with -ECONNRESET, then the disconnect. */
static void test_real_qemu_killed(void) {
        g_autofree char *dir = g_dir_make_tmp("test-qmp-XXXXXX", NULL);
        g_autofree char *sock = g_build_filename(dir, "qmp.sock", NULL);
        Reply r = {};
        Ctx x;
        pid_t pid;

        ctx_init(&x);
        pid = spawn_qemu(sock);
        g_assert_cmpint(qmp_connect(x.event, sock, &x.qmp), ==, 0);
        ctx_attach(&x);
        g_assert_cmpint(qmp_wait_ready(x.qmp), ==, 0);
        g_assert_cmpint(kill(pid, SIGSTOP), ==, 0); /* it cannot answer */
        g_assert_cmpint(qmp_execute(x.qmp, "query-status", NULL, on_reply, &r), ==, 0);
        run_for(&x, 100000);
        g_assert_false(r.done);
        g_assert_cmpint(kill(pid, SIGKILL), ==, 0);
        run_until(&x, &x.disconnected);
        g_assert_true(r.done);
        g_assert_cmpint(r.error, ==, -ECONNRESET);
        g_assert_cmpint(x.disconnect_error, ==, 0);
        reap(pid);
        reply_clear(&r);
        ctx_done(&x);
        (void) unlink(sock);
        g_assert_cmpint(rmdir(dir), ==, 0);
}

/* ---------------------------------------------------------------------------------------------- */
/* Scripted fake servers */

typedef enum StepOp {
        SEND,      /* text + "\r\n" */
        SEND_RAW,  /* text as is, one byte per write */
        SEND_BIG,  /* QMP_LINE_MAX + 1 bytes without a newline */
        EXPECT,    /* read one line; it must contain text */
        SLEEP,     /* text = milliseconds */
        CLOSE,
} StepOp;

typedef struct Step {
        StepOp op;
        const char *text;
} Step;

#define GREETING "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 3, \"minor\": 1, \"major\": 9}, \"package\": \"\"}, \"capabilities\": []}}"

_noreturn_ static void server_fail(const char *what, const char *detail) {
        fprintf(stderr, "fake server: %s: %s\n", what, detail);
        _exit(2);
}

static void server_read_line(int fd, char *buf, size_t size) {
        size_t n = 0;

        for (;;) {
                ssize_t k = read(fd, buf + n, 1);

                if (k <= 0)
                        server_fail("read", k == 0 ? "EOF" : strerror(errno));
                if (buf[n] == '\n') {
                        buf[n] = 0;
                        return;
                }
                if (++n >= size - 1)
                        server_fail("read", "line too long");
        }
}

static void server_write(int fd, const char *p, size_t n) {
        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k <= 0)
                        server_fail("write", strerror(errno));
                p += k;
                n -= (size_t) k;
        }
}

/* Listen at `path` (before forking, so that the client never races the bind), serve one client
 * with the script, then wait for the client to hang up. Exit status 0 = every EXPECT matched. */
static pid_t fake_server(const char *path, const Step *steps) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int lfd;
        pid_t pid;

        g_assert_cmpuint(strlen(path), <, sizeof sa.sun_path);
        strcpy(sa.sun_path, path);
        lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        g_assert_cmpint(lfd, >=, 0);
        g_assert_cmpint(bind(lfd, (struct sockaddr *) &sa, sizeof sa), ==, 0);
        g_assert_cmpint(listen(lfd, 1), ==, 0);

        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                char line[4096];
                int fd;

                alarm(30);
                signal(SIGPIPE, SIG_IGN);
                fd = accept(lfd, NULL, NULL);
                if (fd < 0)
                        server_fail("accept", strerror(errno));
                for (const Step *s = steps;; s++) {
                        switch (s->op) {
                        case SEND:
                                server_write(fd, s->text, strlen(s->text));
                                server_write(fd, "\r\n", 2);
                                break;
                        case SEND_RAW:
                                for (const char *p = s->text; *p; p++) {
                                        server_write(fd, p, 1);
                                        usleep(200);
                                }
                                break;
                        case SEND_BIG: {
                                size_t n = QMP_LINE_MAX + 1;
                                char *big = malloc(n);

                                memset(big, ' ', n);
                                big[0] = '{';
                                server_write(fd, big, n);
                                free(big);
                                break;
                        }
                        case EXPECT:
                                server_read_line(fd, line, sizeof line);
                                if (!strstr(line, s->text))
                                        server_fail(s->text, line);
                                break;
                        case SLEEP:
                                usleep((useconds_t) atoi(s->text) * 1000);
                                break;
                        case CLOSE:
                                close(fd);
                                _exit(0);
                        }
                        if (s->op == CLOSE)
                                break;
                }
        }
        close(lfd);
        return pid;
}

static void server_check(pid_t pid) {
        int status;

        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
}

typedef struct Fixture {
        char *dir, *sock;
} Fixture;

static void fixture_init(Fixture *f) {
        f->dir = g_dir_make_tmp("test-qmp-XXXXXX", NULL);
        f->sock = g_build_filename(f->dir, "qmp.sock", NULL);
}

static void fixture_done(Fixture *f) {
        (void) unlink(f->sock);
        g_assert_cmpint(rmdir(f->dir), ==, 0);
        g_free(f->dir);
        g_free(f->sock);
}

static void test_not_qmp(void) {
        static const Step steps[] = { { SEND, "{\"hello\": 1}" }, { CLOSE } };
        Fixture f;
        Reply r = {};
        Ctx x;
        pid_t pid;

        fixture_init(&f);
        ctx_init(&x);
        pid = fake_server(f.sock, steps);
        g_assert_cmpint(qmp_connect(x.event, f.sock, &x.qmp), ==, 0);
        ctx_attach(&x);
        g_assert_cmpint(qmp_execute(x.qmp, "query-status", NULL, on_reply, &r), ==, 0);
        run_until(&x, &x.disconnected);
        g_assert_cmpint(x.disconnect_error, ==, -EPROTO);
        g_assert_true(r.done);
        g_assert_cmpint(r.error, ==, -ECONNRESET);
        g_assert_cmpuint(x.ready_calls, ==, 0);
        g_assert_cmpint(qmp_wait_ready(x.qmp), ==, -EPROTO);
        server_check(pid);
        reply_clear(&r);
        ctx_done(&x);
        fixture_done(&f);
}

static void test_negotiation_refused(void) {
        static const Step steps[] = {
                { SEND, GREETING },
                { EXPECT, "{\"execute\":\"qmp_capabilities\",\"id\":1}" },
                { SEND, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"no\"}, \"id\": 1}" },
                { CLOSE },
        };
        Fixture f;
        Ctx x;
        pid_t pid;

        fixture_init(&f);
        ctx_init(&x);
        pid = fake_server(f.sock, steps);
        g_assert_cmpint(qmp_connect(x.event, f.sock, &x.qmp), ==, 0);
        ctx_attach(&x);
        g_assert_cmpint(qmp_wait_ready(x.qmp), ==, -EPROTO);
        g_assert_true(x.disconnected);
        server_check(pid);
        ctx_done(&x);
        fixture_done(&f);
}

static void test_protocol_robustness(void) {
        static const Step steps[] = {
                { SEND_RAW, GREETING "\r\n" }, /* byte by byte */
                { EXPECT, "qmp_capabilities" },
                { SEND, "{\"return\": {}, \"id\": 1}" },
                { EXPECT, "{\"execute\":\"first\",\"arguments\":{\"a\":\"x\\\"y\",\"n\":[1,2.5]},\"id\":2}" },
                { EXPECT, "{\"execute\":\"second\",\"id\":3}" },
                { SEND, "this is not json" },
                { SEND, "[1, 2]" },
                { SEND, "" },
                { SEND, "{\"error\": {\"class\": \"GenericError\", \"desc\": \"JSON parse error\"}}" },
                { SEND, "{\"return\": {}, \"id\": 77}" },
                { SEND, "{\"something\": \"else\"}" },
                { SEND, "{\"timestamp\": {\"seconds\": 10, \"microseconds\": 5}, \"event\": \"RESET\"}" },
                { SEND, "{\"event\": \"RTC_CHANGE\", \"data\": {\"offset\": -1}}" },
                /* out of order, and two messages in one write */
                { SEND, "{\"return\": {\"second\": true}, \"id\": 3}\r\n{\"error\": {\"class\": \"DeviceNotFound\", "
                        "\"desc\": \"Device 'x' not found\"}, \"id\": 2}" },
                { EXPECT, "{\"execute\":\"third\",\"id\":4}" },
                { CLOSE }, /* with "third" pending */
        };
        _cleanup_(json_freep) JsonValue *args = NULL;
        Reply first = {}, second = {}, third = {};
        Fixture f;
        Ctx x;
        pid_t pid;

        fixture_init(&f);
        ctx_init(&x);
        pid = fake_server(f.sock, steps);
        g_assert_cmpint(qmp_connect(x.event, f.sock, &x.qmp), ==, 0);
        ctx_attach(&x);

        args = json_new_object();
        g_assert_cmpint(json_object_set_string(args, "a", "x\"y"), ==, 0);
        g_assert_cmpint(json_object_set(args, "n", json_new_array()), ==, 0);
        g_assert_cmpint(json_array_append(json_object_get(args, "n"), json_new_integer(1)), ==, 0);
        g_assert_cmpint(json_array_append(json_object_get(args, "n"), json_new_real(2.5)), ==, 0);
        g_assert_cmpint(qmp_execute(x.qmp, "first", args, on_reply, &first), ==, 0);
        g_assert_cmpint(qmp_execute(x.qmp, "second", NULL, on_reply, &second), ==, 0);
        /* Arguments must be an object. */
        g_assert_cmpint(qmp_execute(x.qmp, "bad", json_object_get(args, "n"), on_reply, &third), ==, -EINVAL);
        g_assert_cmpint(qmp_execute(x.qmp, "", NULL, on_reply, &third), ==, -EINVAL);

        run_until(&x, &first.done);
        g_assert_cmpuint(qmp_get_qemu_version(x.qmp), ==, 9001003);
        g_assert_true(second.done);
        g_assert_cmpint(second.error, ==, 0);
        g_assert_cmpstr(second.result, ==, "{\"second\":true}");
        g_assert_cmpint(first.error, ==, -EIO);
        g_assert_cmpstr(first.error_class, ==, "DeviceNotFound");
        g_assert_cmpstr(first.error_desc, ==, "Device 'x' not found");
        g_assert_cmpuint(x.events->len, ==, 2);
        g_assert_cmpstr(g_ptr_array_index(x.events, 0), ==, "RESET");
        g_assert_cmpstr(g_ptr_array_index(x.events, 1), ==, "RTC_CHANGE {\"offset\":-1}");

        g_assert_cmpint(qmp_execute(x.qmp, "third", NULL, on_reply, &third), ==, 0);
        run_until(&x, &x.disconnected);
        g_assert_cmpint(x.disconnect_error, ==, 0);
        g_assert_true(third.done);
        g_assert_cmpint(third.error, ==, -ECONNRESET);
        server_check(pid);

        reply_clear(&first);
        reply_clear(&second);
        reply_clear(&third);
        ctx_done(&x);
        fixture_done(&f);
}

static void test_oversized_line(void) {
        static const Step steps[] = {
                { SEND, GREETING },
                { EXPECT, "qmp_capabilities" },
                { SEND, "{\"return\": {}, \"id\": 1}" },
                { SEND_BIG },
                { SLEEP, "5000" }, /* the client must hang up on its own */
                { CLOSE },
        };
        Fixture f;
        Ctx x;
        pid_t pid;

        fixture_init(&f);
        ctx_init(&x);
        pid = fake_server(f.sock, steps);
        g_assert_cmpint(qmp_connect(x.event, f.sock, &x.qmp), ==, 0);
        ctx_attach(&x);
        g_assert_cmpint(qmp_wait_ready(x.qmp), ==, 0);
        run_until(&x, &x.disconnected);
        g_assert_cmpint(x.disconnect_error, ==, -EMSGSIZE);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        ctx_done(&x);
        fixture_done(&f);
}

static void test_command_timeout(void) {
        static const Step steps[] = {
                { SEND, GREETING },
                { EXPECT, "qmp_capabilities" },
                { SEND, "{\"return\": {}, \"id\": 1}" },
                { EXPECT, "\"execute\":\"slow\",\"id\":2" },
                /* The client sends "fast" only after "slow" timed out: no race with the timer. */
                { EXPECT, "\"execute\":\"fast\",\"id\":3" },
                { SEND, "{\"return\": {\"late\": 1}, \"id\": 2}" }, /* dropped */
                { SEND, "{\"return\": {\"fast\": 1}, \"id\": 3}" },
                { EXPECT, "\"execute\":\"forever\",\"id\":4" },
                { SLEEP, "10000" },
                { CLOSE },
        };
        Reply slow = {}, fast = {}, forever = {};
        Fixture f;
        Ctx x;
        pid_t pid;

        fixture_init(&f);
        ctx_init(&x);
        pid = fake_server(f.sock, steps);
        g_assert_cmpint(qmp_connect(x.event, f.sock, &x.qmp), ==, 0);
        ctx_attach(&x);
        g_assert_cmpint(qmp_execute_full(x.qmp, "slow", NULL, -1, 100000, on_reply, &slow), ==, 0);
        run_until(&x, &slow.done);
        g_assert_cmpint(slow.error, ==, -ETIMEDOUT);
        g_assert_cmpint(qmp_execute(x.qmp, "fast", NULL, on_reply, &fast), ==, 0);
        run_until(&x, &fast.done); /* the late reply to "slow" came first and was dropped */
        g_assert_cmpint(fast.error, ==, 0);
        g_assert_cmpstr(fast.result, ==, "{\"fast\":1}");

        /* Dropping the last reference with a command pending: -ECANCELED, no disconnect callback. */
        g_assert_cmpint(qmp_execute(x.qmp, "forever", NULL, on_reply, &forever), ==, 0);
        run_for(&x, 100000);
        g_assert_false(forever.done);
        x.qmp = qmp_client_unref(x.qmp);
        g_assert_true(forever.done);
        g_assert_cmpint(forever.error, ==, -ECANCELED);
        g_assert_false(x.disconnected);

        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        reply_clear(&slow);
        reply_clear(&fast);
        reply_clear(&forever);
        ctx_done(&x);
        fixture_done(&f);
}

/* The owner drops the client from inside its own event callback, with more input buffered. */
static void test_unref_in_callback(void) {
        static const Step steps[] = {
                { SEND, GREETING },
                { EXPECT, "qmp_capabilities" },
                { SEND, "{\"return\": {}, \"id\": 1}\r\n{\"event\": \"STOP\"}\r\n{\"event\": \"RESUME\"}\r\n"
                        "{\"return\": {}, \"id\": 2}" },
                { SLEEP, "200" },
                { CLOSE },
        };
        Reply r = {};
        Fixture f;
        Ctx x;
        pid_t pid;

        fixture_init(&f);
        ctx_init(&x);
        pid = fake_server(f.sock, steps);
        g_assert_cmpint(qmp_connect(x.event, f.sock, &x.qmp), ==, 0);
        ctx_attach(&x);
        g_assert_cmpint(qmp_execute(x.qmp, "pending", NULL, on_reply, &r), ==, 0);
        x.unref_on_event = true;
        run_until(&x, &r.done);
        g_assert_null(x.qmp);
        g_assert_cmpint(r.error, ==, -ECANCELED);
        g_assert_cmpuint(x.events->len, ==, 1); /* processing stopped with the client */
        g_assert_false(x.disconnected);
        run_for(&x, 300000);                    /* nothing fires on freed memory (ASan) */
        server_check(pid);
        reply_clear(&r);
        ctx_done(&x);
        fixture_done(&f);
}

static void test_connect_errors(void) {
        g_autofree char *dir = g_dir_make_tmp("test-qmp-XXXXXX", NULL);
        g_autofree char *sock = g_build_filename(dir, "never.sock", NULL);
        g_autofree char *file = g_build_filename(dir, "file", NULL);
        g_autofree char *below_file = g_build_filename(dir, "file", "qmp.sock", NULL);
        g_autofree char *longpath = g_strnfill(200, 'x');
        QmpClient *c = NULL;
        Reply r = {};
        uint64_t t0;
        Ctx x;

        ctx_init(&x);

        /* Never appears: bounded by the timeout; queued commands fail. */
        t0 = now_usec();
        g_assert_cmpint(qmp_connect_full(x.event, sock, 300000, &x.qmp), ==, 0);
        ctx_attach(&x);
        g_assert_cmpint(qmp_execute(x.qmp, "query-status", NULL, on_reply, &r), ==, 0);
        run_until(&x, &x.disconnected);
        g_assert_cmpint(x.disconnect_error, ==, -ETIMEDOUT);
        g_assert_cmpuint(now_usec() - t0, >=, 300000);
        g_assert_true(r.done);
        g_assert_cmpint(r.error, ==, -ECONNRESET);
        reply_clear(&r);
        x.qmp = qmp_client_unref(x.qmp);

        /* Not retryable: fails at once. */
        g_assert_true(g_file_set_contents(file, "x", 1, NULL));
        g_assert_cmpint(qmp_connect(x.event, below_file, &c), ==, -ENOTDIR);
        g_assert_null(c);
        g_assert_cmpint(qmp_connect(x.event, longpath, &c), ==, -ENAMETOOLONG);
        g_assert_cmpint(qmp_connect(NULL, sock, &c), ==, -EINVAL);

        ctx_done(&x);
        g_assert_cmpint(unlink(file), ==, 0);
        g_assert_cmpint(rmdir(dir), ==, 0);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/qmp/real-qemu", test_real_qemu);
        g_test_add_func("/qmp/real-qemu-killed", test_real_qemu_killed);
        g_test_add_func("/qmp/not-qmp", test_not_qmp);
        g_test_add_func("/qmp/negotiation-refused", test_negotiation_refused);
        g_test_add_func("/qmp/protocol-robustness", test_protocol_robustness);
        g_test_add_func("/qmp/oversized-line", test_oversized_line);
        g_test_add_func("/qmp/command-timeout", test_command_timeout);
        g_test_add_func("/qmp/unref-in-callback", test_unref_in_callback);
        g_test_add_func("/qmp/connect-errors", test_connect_errors);
        return g_test_run();
}
