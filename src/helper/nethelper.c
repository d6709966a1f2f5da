/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* virtbus-nethelper: the only privileged piece of virtbus. It listens on a SOCK_SEQPACKET socket
 * (socket-activated, or bound itself with --socket), keeps nothing but CAP_NET_ADMIN, answers
 * each validated request with one reply (plus tap, macvtap or vhost-net fds) and exits when idle. */

#include <cap-ng.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "acl.h"
#include "fdpass.h"
#include "handlers.h"
#include "scope.h"
#include "log.h"
#include "macro.h"
#include "protocol.h"

#define ALLOWED_UIDS_MAX 16
/* The daemon makes one short connection per request; anything beyond this is misbehaviour. */
#define CONNECTIONS_MAX 64
#define USEC_PER_SEC UINT64_C(1000000)

typedef struct Server Server;

typedef struct Connection {
        Server *server;
        int fd;
        uid_t uid;
        pid_t pid;
        sd_event_source *source;
        struct Connection *prev, *next;
} Connection;

struct Server {
        sd_event *event;
        int listen_fd;
        sd_event_source *listen_source;
        sd_event_source *idle_source;
        uint64_t idle_usec; /* 0 = never exit */
        const char *acl_path;
        uid_t allowed_uids[ALLOWED_UIDS_MAX];
        size_t n_allowed_uids;
        Connection *connections;
        size_t n_connections;
};

/* Command line */
static const char *arg_socket = NULL;
static mode_t arg_socket_mode = 0600;
static const char *arg_acl = NETHELPER_ACL_FILE;
static uint64_t arg_idle_timeout_usec = 30 * USEC_PER_SEC;
static uid_t arg_allow_uids[ALLOWED_UIDS_MAX];
static size_t arg_n_allow_uids = 0;

static Connection *connection_free(Connection *c) {
        Server *s;

        if (!c)
                return NULL;
        s = c->server;
        sd_event_source_disable_unref(c->source);
        safe_close(c->fd);
        if (c->prev)
                c->prev->next = c->next;
        else
                s->connections = c->next;
        if (c->next)
                c->next->prev = c->prev;
        s->n_connections--;
        return mfree(c);
}

static void server_done(Server *s) {
        while (s->connections)
                connection_free(s->connections);
        sd_event_source_disable_unref(s->listen_source);
        sd_event_source_disable_unref(s->idle_source);
        s->listen_fd = safe_close(s->listen_fd);
        sd_event_unref(s->event);
}

static void server_bump_idle(Server *s) {
        uint64_t now;

        if (!s->idle_source)
                return;
        if (sd_event_now(s->event, CLOCK_MONOTONIC, &now) < 0)
                return;
        (void) sd_event_source_set_time(s->idle_source, now + s->idle_usec);
        (void) sd_event_source_set_enabled(s->idle_source, SD_EVENT_ONESHOT);
}

static int on_idle(sd_event_source *source, uint64_t usec, void *userdata) {
        Server *s = userdata;

        if (s->n_connections > 0) {
                server_bump_idle(s);
                return 0;
        }
        log_debug("Idle for %" PRIu64 " s, exiting.", s->idle_usec / USEC_PER_SEC);
        return sd_event_exit(s->event, 0);
}

static bool uid_allowed(const Server *s, uid_t uid) {
        for (size_t i = 0; i < s->n_allowed_uids; i++)
                if (s->allowed_uids[i] == uid)
                        return true;
        return false;
}

static int send_reply(int fd, const NhReply *reply, const int *fds, size_t n_fds) {
        uint8_t buf[NH_MESSAGE_MAX];
        ssize_t n;
        int len;

        len = nh_reply_encode(reply, buf, sizeof buf);
        if (len < 0)
                return len;
        n = send_with_fds(fd, buf, len, fds, n_fds);
        if (n < 0)
                return (int) n;
        return 0;
}

/* The interface a request acts on; NULL for requests about no interface. */
static const char *request_ifname(const NhRequest *req) {
        switch (req->verb) {
        case NH_VERB_BRIDGE_CREATE:
                return req->bridge_create.ifname;
        case NH_VERB_TAP_CREATE:
                return req->tap_create.ifname;
        case NH_VERB_LINK_DELETE:
                return req->link_delete.ifname;
        case NH_VERB_MACVTAP_CREATE:
                return req->macvtap_create.ifname;
        case NH_VERB_QOS_APPLY_INTERFACE:
                return req->qos_apply.ifname;
        case NH_VERB_QOS_CLEAR_INTERFACE:
        case NH_VERB_QOS_BRIDGE_TEARDOWN:
                return req->qos_clear.ifname;
        case NH_VERB_QOS_BRIDGE_SETUP:
                return req->qos_bridge.ifname;
        case NH_VERB_QOS_FLOOR_ADD:
        case NH_VERB_QOS_FLOOR_REMOVE:
        case NH_VERB_QOS_DEFAULT_RATE:
                return req->qos_floor.ifname;
        default:
                return NULL;
        }
}

static void log_request(const Connection *c, const NhRequest *req, const NhReply *reply) {
        const char *verb = strna(nh_verb_to_string(req->verb));
        const char *ifname = request_ifname(req);
        int level = reply->error == 0 ? LOG_INFO : LOG_WARNING;
        char text[NH_ERROR_MESSAGE_MAX + 128], caps[QOS_CAPS_STR_MAX + 16] = "";

        if (reply->has_qos_caps) {
                char s[QOS_CAPS_STR_MAX];

                snprintf(caps, sizeof caps, ", QoS: %s", qos_caps_format(reply->qos_caps, s));
        }
        if (req->verb == NH_VERB_SCOPE_CREATE && reply->error == 0)
                snprintf(text, sizeof text, "%s: pid %u now in %s, for uid %u", verb, req->scope_create.pid,
                         req->scope_create.unit, (unsigned) c->uid);
        else if (reply->error == 0)
                snprintf(text, sizeof text, "%s%s%s: ok (ifindex %u, %u fds%s%s) for uid %u", verb,
                         ifname ? " " : "", strempty(ifname), reply->ifindex, reply->n_fds,
                         !reply->has_noqueue_applied ? ""
                         : reply->noqueue_applied    ? ", noqueue"
                                                     : ", noqueue refused",
                         caps, (unsigned) c->uid);
        else
                snprintf(text, sizeof text, "%s%s%s: %s (%s) for uid %u", verb, ifname ? " " : "",
                         strempty(ifname), reply->message, strerror((int) reply->error), (unsigned) c->uid);
        if (ifname)
                log_ifname(level, (int) reply->error, ifname, "%s", text);
        else
                log_full_errno(level, (int) reply->error, "%s", text);
}

/* One datagram in, one reply out. Returns < 0 only when the connection must be closed. */
static int connection_process(Connection *c) {
        _cleanup_(acl_freep) Acl *acl = NULL;
        _cleanup_free_ char *acl_error = NULL;
        uint8_t buf[NH_MESSAGE_MAX];
        int received[FDPASS_MAX], fds[NH_QUEUES_MAX];
        size_t n_received = 0, n_fds = 0;
        char err[NH_ERROR_MESSAGE_MAX - sizeof "malformed request: "];
        NhRequest req = {};
        NhReply reply = {};
        ssize_t n;
        int r;

        n = recv_with_fds(c->fd, buf, sizeof buf, received, ELEMENTSOF(received), &n_received);
        /* We never take fds from a client: whatever came along is closed unseen. */
        close_many(received, n_received);
        if (n == -EAGAIN || n == -EINTR)
                return 0;
        if (n == -EMSGSIZE) {
                /* The buffer holds the first NH_MESSAGE_MAX bytes: enough to answer with the seq. */
                (void) nh_request_decode(buf, sizeof buf, &req, err, sizeof err);
                reply = (NhReply) { .seq = req.seq, .error = EMSGSIZE };
                snprintf(reply.message, sizeof reply.message, "message exceeds the maximum of %d bytes",
                         NH_MESSAGE_MAX);
                log_warning("Refusing request from uid %u: %s", (unsigned) c->uid, reply.message);
                return send_reply(c->fd, &reply, NULL, 0);
        }
        if (n < 0)
                return log_debug_errno((int) n, "Receiving from uid %u failed: %m", (unsigned) c->uid);
        if (n == 0)
                return -ECONNRESET; /* EOF (an empty datagram is indistinguishable, and garbage anyway) */

        r = nh_request_decode(buf, n, &req, err, sizeof err);
        if (r < 0) {
                reply = (NhReply) { .seq = req.seq, .error = -r };
                snprintf(reply.message, sizeof reply.message, "malformed request: %s", err);
                log_warning_errno(r, "Refusing request from uid %u: %s", (unsigned) c->uid, err);
                return send_reply(c->fd, &reply, NULL, 0);
        }

        /* Re-read per request: cheap, and an admin's edit applies to the next request without
         * restarting anything. A broken file makes ACL decisions fail closed. */
        r = acl_load(c->server->acl_path, &acl, &acl_error);
        if (r < 0) {
                log_error_errno(r, "Cannot load ACL: %s", strna(acl_error));
                acl = acl_new_failed(c->server->acl_path, acl_error); /* NULL on OOM: fails closed too */
        }

        reply = (NhReply) { .seq = req.seq };
        if (req.verb == NH_VERB_SCOPE_CREATE) /* about the peer's own process, not the network */
                (void) nethelper_scope_create(&req.scope_create, c->pid, c->uid, &reply);
        else
                (void) nethelper_handle(acl, &req, &reply, fds, &n_fds);
        log_request(c, &req, &reply);

        r = send_reply(c->fd, &reply, fds, n_fds);
        /* Our copies go in any case: the client holds its own now, or the tap dies with them. */
        close_many(fds, n_fds);
        if (r < 0)
                return log_debug_errno(r, "Sending reply to uid %u failed: %m", (unsigned) c->uid);
        return 0;
}

static int on_connection_io(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Connection *c = userdata;
        Server *s = c->server;
        int r = 0;

        server_bump_idle(s);
        if (revents & EPOLLIN)
                r = connection_process(c);
        else if (revents & (EPOLLHUP | EPOLLERR))
                r = -ECONNRESET;
        if (r < 0) {
                log_debug("Connection from uid %u pid %d closed.", (unsigned) c->uid, (int) c->pid);
                connection_free(c);
        }
        return 0;
}

/* Closing with unread requests makes the peer's next read fail with ECONNRESET before it sees our
 * reply; read a bounded number of them away first. */
static void drain(int fd) {
        for (unsigned i = 0; i < 16; i++) {
                uint8_t buf[NH_HEADER_SIZE];
                int received[FDPASS_MAX];
                size_t n_received = 0;
                ssize_t n;

                n = recv_with_fds(fd, buf, sizeof buf, received, ELEMENTSOF(received), &n_received);
                close_many(received, n_received);
                if (n < 0 && n != -EMSGSIZE)
                        break;
                if (n == 0)
                        break;
        }
}

_printf_(3, 4) static void refuse(int fd, int error, const char *format, ...) {
        NhReply reply = { .seq = 0, .error = error };
        va_list ap;

        va_start(ap, format);
        vsnprintf(reply.message, sizeof reply.message, format, ap);
        va_end(ap);
        (void) send_reply(fd, &reply, NULL, 0);
        drain(fd);
}

static int on_accept(sd_event_source *source, int fd, uint32_t revents, void *userdata) {
        Server *s = userdata;
        _cleanup_close_ int cfd = -EBADF;
        struct ucred cred = {};
        socklen_t l = sizeof cred;
        Connection *c;
        int r;

        server_bump_idle(s);
        cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd < 0) {
                /* The peer may have given up already; nothing to do about it. */
                if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                        log_warning_errno(errno, "accept() failed: %m");
                return 0;
        }
        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &l) < 0 || l != sizeof cred) {
                log_warning_errno(errno, "Cannot read the peer's credentials: %m");
                return 0;
        }
        /* Refusals carry seq 0: no request has been read yet (nh_call() accepts that). */
        if (!uid_allowed(s, cred.uid)) {
                refuse(cfd, EPERM, "peer uid %u is not allowed to use the helper", (unsigned) cred.uid);
                log_warning("Refusing connection from uid %u pid %d: not an allowed peer.",
                            (unsigned) cred.uid, (int) cred.pid);
                return 0;
        }
        if (s->n_connections >= CONNECTIONS_MAX) {
                refuse(cfd, EBUSY, "too many connections (%d)", CONNECTIONS_MAX);
                log_warning("Refusing connection from uid %u pid %d: too many connections.",
                            (unsigned) cred.uid, (int) cred.pid);
                return 0;
        }

        c = calloc(1, sizeof *c);
        if (!c) {
                log_oom();
                return 0;
        }
        *c = (Connection) { .server = s, .fd = cfd, .uid = cred.uid, .pid = cred.pid };
        r = sd_event_add_io(s->event, &c->source, cfd, EPOLLIN | EPOLLRDHUP, on_connection_io, c);
        if (r < 0) {
                log_warning_errno(r, "Cannot watch the connection: %m");
                free(c);
                return 0;
        }
        TAKE_FD(cfd);
        c->next = s->connections;
        if (c->next)
                c->next->prev = c;
        s->connections = c;
        s->n_connections++;
        log_debug("Connection from uid %u pid %d.", (unsigned) cred.uid, (int) cred.pid);
        return 0;
}

static int listen_socket(const char *path, mode_t mode) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        struct stat st;
        mode_t old;
        int r;

        if (strlen(path) >= sizeof sa.sun_path)
                return log_error_errno(ENAMETOOLONG, "Socket path %s is too long.", path);
        strcpy(sa.sun_path, path);

        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return log_error_errno(errno, "Cannot create socket: %m");
        /* Replace a stale socket from an earlier run, but never any other kind of file. */
        if (lstat(path, &st) >= 0 && S_ISSOCK(st.st_mode))
                (void) unlink(path);
        /* Create it with no access for others at all, then widen it if asked: no window in
         * which a wrong peer could connect. */
        old = umask(0177);
        r = bind(fd, (struct sockaddr *) &sa, sizeof sa);
        umask(old);
        if (r < 0)
                return log_error_errno(errno, "Cannot bind %s: %m", path);
        if (chmod(path, mode) < 0)
                return log_error_errno(errno, "Cannot chmod %s: %m", path);
        if (listen(fd, SOMAXCONN) < 0)
                return log_error_errno(errno, "Cannot listen on %s: %m", path);
        return TAKE_FD(fd);
}

static int activated_socket(void) {
        int n, fd, r;

        n = sd_listen_fds(1);
        if (n < 0)
                return log_error_errno(n, "Cannot read the passed sockets: %m");
        if (n != 1)
                return log_error_errno(EINVAL,
                                       "Expected exactly one socket-activated socket, got %d "
                                       "(use --socket PATH without socket activation).",
                                       n);
        fd = SD_LISTEN_FDS_START;
        r = sd_is_socket(fd, AF_UNIX, SOCK_SEQPACKET, 1);
        if (r < 0)
                return log_error_errno(r, "Cannot check the passed socket: %m");
        if (r == 0)
                return log_error_errno(EINVAL,
                                       "The passed fd is not a listening AF_UNIX SOCK_SEQPACKET socket.");
        if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
                return log_error_errno(errno, "Cannot make the socket non-blocking: %m");
        return fd;
}

static int last_cap(void) {
        int i = CAP_LAST_CAP;

        /* The running kernel may know more capabilities than our headers. */
        while (prctl(PR_CAPBSET_READ, (unsigned long) i + 1, 0, 0, 0) >= 0)
                i++;
        return i;
}

/* Keep CAP_NET_ADMIN only: effective, permitted, bounding; nothing inheritable or ambient.
 * libcap-ng's apply skips the bounding set silently when CAP_SETPCAP is missing, so the result is
 * checked against the kernel instead of trusted. */
static int drop_capabilities(void) {
        bool net_admin, setpcap;
        unsigned n_bounding = 0;
        int top = last_cap(), r;

        /* Never gaining privileges through exec (we never exec anyway) also makes a bounding set we
         * cannot shrink harmless: it only limits what an exec could regain. */
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return log_error_errno(errno, "Cannot set PR_SET_NO_NEW_PRIVS: %m");

        capng_clear(CAPNG_SELECT_ALL);
        if (capng_get_caps_process() < 0)
                return log_error_errno(EIO, "Cannot read the process capabilities.");
        net_admin = capng_have_capability(CAPNG_PERMITTED, CAP_NET_ADMIN);
        setpcap = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);

        /* SELECT_ALL rather than SELECT_BOTH: the ambient set must be emptied as well, or an
         * inherited ambient capability would survive. */
        capng_clear(CAPNG_SELECT_ALL);
        if (net_admin)
                capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
                             CAP_NET_ADMIN);
        /* Without CAP_SETPCAP the bounding set cannot shrink (libcap-ng would warn on stderr for
         * nothing): leave it out, the check below handles it. */
        r = capng_apply(setpcap ? CAPNG_SELECT_ALL : CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT);
        if (r < 0)
                log_debug("capng_apply() returned %d, verifying the result.", r);

        capng_clear(CAPNG_SELECT_ALL);
        if (capng_get_caps_process() < 0)
                return log_error_errno(EIO, "Cannot read the process capabilities.");
        for (int i = 0; i <= top; i++) {
                if (i == CAP_NET_ADMIN)
                        continue;
                if (capng_have_capability(CAPNG_EFFECTIVE, i) || capng_have_capability(CAPNG_PERMITTED, i) ||
                    capng_have_capability(CAPNG_INHERITABLE, i))
                        return log_error_errno(EPERM, "Failed to drop capability %d.", i);
                if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, (unsigned long) i, 0, 0) > 0)
                        return log_error_errno(EPERM, "Capability %d is still in the ambient set.", i);
                if (prctl(PR_CAPBSET_READ, (unsigned long) i, 0, 0, 0) > 0)
                        n_bounding++;
        }
        if (n_bounding > 0) {
                /* With CAP_SETPCAP the drop must have worked; without it (e.g. a unit's own
                 * CapabilityBoundingSet=) it could not, and no-new-privileges covers it. */
                if (setpcap)
                        return log_error_errno(EPERM, "%u capabilities are still in the bounding set.",
                                               n_bounding);
                log_notice("Cannot shrink the bounding set without CAP_SETPCAP (%u extra capabilities), "
                           "relying on no-new-privileges.",
                           n_bounding);
        }
        if (net_admin && !capng_have_capability(CAPNG_EFFECTIVE, CAP_NET_ADMIN))
                return log_error_errno(EPERM, "Lost CAP_NET_ADMIN while dropping capabilities.");
        if (!net_admin)
                log_warning("Running without CAP_NET_ADMIN: every request that changes a device will fail.");
        log_debug("Capabilities reduced to %s.", net_admin ? "CAP_NET_ADMIN" : "none");
        return 0;
}

static int parse_uid(const char *s, uid_t *ret) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end || s[0] == '-' || v >= (uid_t) -1)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int parse_log_level(const char *s) {
        static const char *const names[] = {
                "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
        };

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(s, names[i]))
                        return (int) i;
        if (streq(s, "error"))
                return LOG_ERR;
        if (streq(s, "warn"))
                return LOG_WARNING;
        if (s[0] >= '0' && s[0] <= '7' && s[1] == 0)
                return s[0] - '0';
        return -EINVAL;
}

static void help(void) {
        printf("Usage: %s [OPTIONS]\n\n"
               "Privileged network helper for virtbusd: creates bridges, taps and macvtaps and opens\n"
               "vhost-net on request.\n\n"
               "  --socket PATH          Bind and listen on PATH instead of a socket-activated socket\n"
               "  --socket-mode OCTAL    Access mode of the --socket PATH (default 0600)\n"
               "  --acl FILE             ACL of bridges and macvtap lower devices (default %s)\n"
               "  --idle-timeout SECS    Exit after SECS without activity, 0 = never (default 30)\n"
               "  --allow-uid UID        Accept requests from UID as well (besides root and %s)\n"
               "  --log-level LEVEL      debug, info, notice, warning, err, ... (default info)\n"
               "  --help                 Show this help\n"
               "  --version              Show the version\n",
               program_invocation_short_name, NETHELPER_ACL_FILE, VIRTBUS_USER);
}

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_SOCKET = 0x100,
                ARG_SOCKET_MODE,
                ARG_ACL,
                ARG_IDLE_TIMEOUT,
                ARG_ALLOW_UID,
                ARG_LOG_LEVEL,
                ARG_HELP,
                ARG_VERSION,
        };
        static const struct option options[] = {
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "socket-mode", required_argument, NULL, ARG_SOCKET_MODE },
                { "acl", required_argument, NULL, ARG_ACL },
                { "idle-timeout", required_argument, NULL, ARG_IDLE_TIMEOUT },
                { "allow-uid", required_argument, NULL, ARG_ALLOW_UID },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "help", no_argument, NULL, ARG_HELP },
                { "version", no_argument, NULL, ARG_VERSION },
                {},
        };
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                char *end;
                unsigned long v;
                int l;

                switch (c) {
                case ARG_SOCKET:
                        if (optarg[0] != '/')
                                return log_error_errno(EINVAL, "--socket needs an absolute path.");
                        arg_socket = optarg;
                        break;
                case ARG_SOCKET_MODE:
                        errno = 0;
                        v = strtoul(optarg, &end, 8);
                        if (errno != 0 || end == optarg || *end || v > 07777)
                                return log_error_errno(EINVAL, "Invalid --socket-mode: %s", optarg);
                        arg_socket_mode = v;
                        break;
                case ARG_ACL:
                        arg_acl = optarg;
                        break;
                case ARG_IDLE_TIMEOUT:
                        errno = 0;
                        v = strtoul(optarg, &end, 10);
                        if (errno != 0 || end == optarg || *end || optarg[0] == '-' || v > 365UL * 24 * 3600)
                                return log_error_errno(EINVAL, "Invalid --idle-timeout: %s", optarg);
                        arg_idle_timeout_usec = v * USEC_PER_SEC;
                        break;
                case ARG_ALLOW_UID:
                        if (arg_n_allow_uids >= ELEMENTSOF(arg_allow_uids) - 2)
                                return log_error_errno(E2BIG, "Too many --allow-uid options.");
                        if (parse_uid(optarg, &arg_allow_uids[arg_n_allow_uids]) < 0)
                                return log_error_errno(EINVAL, "Invalid --allow-uid: %s", optarg);
                        arg_n_allow_uids++;
                        break;
                case ARG_LOG_LEVEL:
                        l = parse_log_level(optarg);
                        if (l < 0)
                                return log_error_errno(EINVAL, "Invalid --log-level: %s", optarg);
                        log_set_max_level(l);
                        break;
                case ARG_HELP:
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("virtbus-nethelper %s\n", PACKAGE_VERSION);
                        return 0;
                default:
                        return -EINVAL;
                }
        }
        if (optind < argc)
                return log_error_errno(EINVAL, "Unexpected argument: %s", argv[optind]);
        return 1;
}

static void server_allow_uids(Server *s) {
        struct passwd *pw;

        s->allowed_uids[s->n_allowed_uids++] = 0;
        /* The daemon's user may not exist (yet) on a test machine; then only root and
         * --allow-uid are accepted. */
        errno = 0;
        pw = getpwnam(VIRTBUS_USER);
        if (pw)
                s->allowed_uids[s->n_allowed_uids++] = pw->pw_uid;
        else
                log_debug("User %s does not exist, not accepting it as a peer.", VIRTBUS_USER);
        for (size_t i = 0; i < arg_n_allow_uids; i++)
                s->allowed_uids[s->n_allowed_uids++] = arg_allow_uids[i];
}

int main(int argc, char *argv[]) {
        _cleanup_(server_done) Server s = { .listen_fd = -EBADF };
        _cleanup_(acl_freep) Acl *acl = NULL;
        _cleanup_free_ char *acl_error = NULL;
        sigset_t mask;
        int r;

        log_set_ident("virtbus-nethelper");
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        server_allow_uids(&s);
        s.acl_path = arg_acl;
        s.idle_usec = arg_idle_timeout_usec;

        s.listen_fd = arg_socket ? listen_socket(arg_socket, arg_socket_mode) : activated_socket();
        if (s.listen_fd < 0)
                return EXIT_FAILURE;

        r = drop_capabilities();
        if (r < 0)
                return EXIT_FAILURE;

        /* Checked once up front so a broken file shows in the log at start; requests re-read it. */
        r = acl_load(s.acl_path, &acl, &acl_error);
        if (r < 0)
                log_error_errno(r, "Cannot load ACL: %s (bridge decisions will be refused until fixed)",
                                strna(acl_error));
        else
                log_debug("ACL %s: %zu rules.", s.acl_path, acl_n_rules(acl));

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        r = sd_event_default(&s.event);
        if (r < 0) {
                log_error_errno(r, "Cannot create the event loop: %m");
                return EXIT_FAILURE;
        }
        r = sd_event_add_signal(s.event, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(s.event, NULL, SIGINT, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_io(s.event, &s.listen_source, s.listen_fd, EPOLLIN, on_accept, &s);
        if (r >= 0 && s.idle_usec > 0)
                r = sd_event_add_time(s.event, &s.idle_source, CLOCK_MONOTONIC, 0, USEC_PER_SEC / 10,
                                      on_idle, &s);
        if (r < 0) {
                log_error_errno(r, "Cannot set up the event loop: %m");
                return EXIT_FAILURE;
        }
        server_bump_idle(&s);

        log_debug("Listening (idle timeout %" PRIu64 " s).", s.idle_usec / USEC_PER_SEC);
        r = sd_event_loop(s.event);
        if (r < 0) {
                log_error_errno(r, "Event loop failed: %m");
                return EXIT_FAILURE;
        }
        return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
