/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's side of the helper protocol: one connection per call, so a helper that exits
 * when idle (or is restarted) is never a problem for the caller. */

#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>

#include "fdpass.h"
#include "macro.h"
#include "protocol.h"

static uint64_t now_ms(void) {
        return now_monotonic_usec() / 1000;
}

static int wait_readable(int fd, int timeout_ms) {
        uint64_t deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : 0;

        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int left = -1, n;

                if (timeout_ms >= 0) {
                        uint64_t t = now_ms();
                        left = t >= deadline ? 0 : (int) (deadline - t);
                }
                n = poll(&p, 1, left);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        return -ETIMEDOUT;
                /* POLLHUP with a queued reply is still readable; recv tells the difference. */
                return 0;
        }
}

int nh_call(const char *socket_path, const NhRequest *req, int timeout_ms, NhReply *reply, int *fds,
            size_t max_fds, size_t *n_fds) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ uint8_t *buf = NULL;
        int received[FDPASS_MAX];
        size_t n_received = 0;
        char err[NH_ERROR_MESSAGE_MAX];
        ssize_t n;
        int len, r;

        if (!socket_path || !req || !reply || (max_fds > 0 && !fds))
                return -EINVAL;
        if (strlen(socket_path) >= sizeof sa.sun_path)
                return -ENAMETOOLONG;
        if (n_fds)
                *n_fds = 0;

        buf = malloc(NH_MESSAGE_MAX);
        if (!buf)
                return -ENOMEM;
        len = nh_request_encode(req, buf, NH_MESSAGE_MAX);
        if (len < 0)
                return len;

        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        /* connect() and send() block while the helper's backlog or queue is full: bound them too. */
        if (timeout_ms >= 0) {
                struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };

                if (tv.tv_sec == 0 && tv.tv_usec == 0)
                        tv.tv_usec = 1; /* zero would mean "no timeout" */
                if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) < 0)
                        return -errno;
        }
        strcpy(sa.sun_path, socket_path);
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return errno == EAGAIN ? -ETIMEDOUT : -errno;

        n = send_with_fds(fd, buf, len, NULL, 0);
        /* A helper that refuses us (peer check) answers and hangs up right after accept(); its
         * error reply may already sit in our queue even though sending failed. */
        if (n < 0 && n != -EPIPE && n != -ECONNRESET)
                return (int) n;
        r = wait_readable(fd, n < 0 ? 0 : timeout_ms);
        if (r < 0)
                return n < 0 ? (int) n : r;

        n = recv_with_fds(fd, buf, NH_MESSAGE_MAX, received, ELEMENTSOF(received), &n_received);
        /* A peer closing with our request unread reports ECONNRESET first, ahead of the reply it
         * queued before closing; the second read returns that reply (or EOF, never blocks). */
        if (n == -ECONNRESET)
                n = recv_with_fds(fd, buf, NH_MESSAGE_MAX, received, ELEMENTSOF(received), &n_received);
        if (n < 0)
                return (int) n;
        if (n == 0)
                return -ECONNRESET; /* the helper hung up without answering */

        r = nh_reply_decode(buf, n, reply, err, sizeof err);
        if (r < 0) {
                close_many(received, n_received);
                *reply = (NhReply) {};
                return r;
        }
        /* seq 0 with an error is a connection-level refusal sent before any request was read. */
        if (reply->seq != req->seq && !(reply->seq == 0 && reply->error != 0)) {
                close_many(received, n_received);
                return -EBADMSG;
        }
        if (reply->n_fds != n_received) {
                close_many(received, n_received);
                return -EBADMSG;
        }

        for (size_t i = 0; i < n_received; i++) {
                if (i < max_fds)
                        fds[i] = received[i];
                else
                        safe_close(received[i]);
        }
        if (n_fds)
                *n_fds = MIN(n_received, max_fds);
        return 0;
}
