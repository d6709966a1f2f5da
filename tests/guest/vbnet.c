/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vbnet — tiny traffic tool for the virtbus e2e test guest (and the host side
 * of the same tests). Built statically by build-guest.sh and put into the
 * guest's initramfs as /bin/vbnet; the same binary runs on the host.
 *
 * The guest's busybox nc has no UDP mode and busybox has no way to join an
 * IP multicast group, hence this helper. IPv4 only.
 *
 *   vbnet udp-send   ADDR  PORT SECONDS [RATE_KIBPS [SIZE]]
 *   vbnet udp-recv         PORT SECONDS
 *   vbnet tcp-send   ADDR  PORT SECONDS [RATE_KIBPS]
 *   vbnet tcp-recv         PORT SECONDS
 *   vbnet mcast-send GROUP PORT SECONDS [IFACE]
 *   vbnet mcast-recv GROUP PORT SECONDS [IFACE]
 *
 * RATE_KIBPS 0 (default) = as fast as possible. Receivers stop SECONDS after
 * they start listening, or 1 s after the last datagram/byte once data has
 * arrived (TCP: at EOF). Every report line starts with "VB-RESULT ":
 *   VB-RESULT <action> listening ...               (receivers, once ready)
 *   VB-RESULT <action> ok|fail bytes=N packets=N seconds=S kibps=R [error=...]
 * For receivers seconds/kibps are measured from the first to the last
 * datagram/byte; for senders over the whole sending time. A receiver is "ok"
 * when it got at least one datagram/byte, a sender when it sent any.
 * Exit status: 0 ok, 1 fail, 2 usage.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *action;

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
        double d = t - now();
        if (d > 0) {
                struct timespec ts = { (time_t) d, (long) ((d - (time_t) d) * 1e9) };
                nanosleep(&ts, NULL);
        }
}

static int usage(void)
{
        fprintf(stderr,
                "usage: vbnet udp-send ADDR PORT SECONDS [RATE_KIBPS [SIZE]]\n"
                "       vbnet udp-recv PORT SECONDS\n"
                "       vbnet tcp-send ADDR PORT SECONDS [RATE_KIBPS]\n"
                "       vbnet tcp-recv PORT SECONDS\n"
                "       vbnet mcast-send GROUP PORT SECONDS [IFACE]\n"
                "       vbnet mcast-recv GROUP PORT SECONDS [IFACE]\n");
        return 2;
}

static int report(int ok, uint64_t bytes, uint64_t packets, double secs, const char *err)
{
        double kibps = secs > 0 ? bytes / 1024.0 / secs : 0;
        printf("VB-RESULT %s %s bytes=%llu packets=%llu seconds=%.3f kibps=%.1f%s%s\n",
               action, ok ? "ok" : "fail", (unsigned long long) bytes,
               (unsigned long long) packets, secs, kibps, err ? " error=" : "", err ? err : "");
        fflush(stdout);
        return ok ? 0 : 1;
}

static int fail(const char *what)
{
        char buf[160];
        snprintf(buf, sizeof buf, "%s:%s", what, strerror(errno));
        for (char *p = buf; *p; p++)
                if (*p == ' ')
                        *p = '_';
        return report(0, 0, 0, 0, buf);
}

static int parse_addr(const char *s, const char *port, struct sockaddr_in *sa)
{
        char *end;
        long p = strtol(port, &end, 10);
        memset(sa, 0, sizeof *sa);
        sa->sin_family = AF_INET;
        if (*end || p < 0 || p > 65535)
                return -1;
        sa->sin_port = htons((uint16_t) p);
        if (!s)
                sa->sin_addr.s_addr = htonl(INADDR_ANY);
        else if (inet_pton(AF_INET, s, &sa->sin_addr) != 1)
                return -1;
        return 0;
}

/* Paced sending: returns how long to wait before `bytes` may be sent. */
static void pace(double start, uint64_t sent, double rate_kibps)
{
        if (rate_kibps > 0)
                sleep_until(start + sent / (rate_kibps * 1024.0));
}

static int udp_send(const char *addr, const char *port, double secs, double rate, size_t size)
{
        struct sockaddr_in sa;
        static char buf[65536];
        uint64_t bytes = 0, packets = 0;
        if (parse_addr(addr, port, &sa) < 0 || size < 1 || size > 65507)
                return usage();
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        if (fd < 0)
                return fail("socket");
        memset(buf, 'v', size);
        double start = now(), end = start + secs;
        while (now() < end) {
                pace(start, bytes, rate);
                if (sendto(fd, buf, size, 0, (struct sockaddr *) &sa, sizeof sa) < 0) {
                        if (errno == ENOBUFS || errno == EAGAIN || errno == ECONNREFUSED ||
                            errno == EINTR) {
                                usleep(200);
                                continue;
                        }
                        return fail("sendto");
                }
                bytes += size;
                packets++;
        }
        return report(packets > 0, bytes, packets, now() - start, NULL);
}

/* Receives datagrams on fd until the deadline, or 1 s idle after the first. */
static int dgram_recv(int fd, double secs)
{
        static char buf[65536];
        uint64_t bytes = 0, packets = 0;
        double deadline = now() + secs, first = 0, last = 0;
        for (;;) {
                double t = now(), until = deadline;
                if (packets && last + 1.0 < deadline)
                        until = last + 1.0;
                if (t >= until)
                        break;
                struct pollfd pfd = { fd, POLLIN, 0 };
                int r = poll(&pfd, 1, (int) ((until - t) * 1000) + 1);
                if (r < 0 && errno != EINTR)
                        return fail("poll");
                if (r <= 0)
                        continue;
                ssize_t n;
                while ((n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) >= 0) {
                        last = now();
                        if (!packets)
                                first = last;
                        bytes += n;
                        packets++;
                }
        }
        return report(packets > 0, bytes, packets, last - first, packets ? NULL : "nothing_received");
}

static int udp_recv(const char *port, double secs)
{
        struct sockaddr_in sa;
        int one = 1, rcvbuf = 4 << 20;
        if (parse_addr(NULL, port, &sa) < 0)
                return usage();
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        if (fd < 0)
                return fail("socket");
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return fail("bind");
        printf("VB-RESULT %s listening port=%s\n", action, port);
        fflush(stdout);
        return dgram_recv(fd, secs);
}

static int ifindex_of(const char *iface)
{
        unsigned idx = if_nametoindex(iface);
        if (!idx) {
                errno = ENODEV;
                return -1;
        }
        return (int) idx;
}

static int mcast_send(const char *group, const char *port, double secs, const char *iface)
{
        struct sockaddr_in sa;
        unsigned char ttl = 1, loop = 0;
        uint64_t bytes = 0, packets = 0;
        if (parse_addr(group, port, &sa) < 0 || !IN_MULTICAST(ntohl(sa.sin_addr.s_addr)))
                return usage();
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        if (fd < 0)
                return fail("socket");
        struct ip_mreqn mr = { .imr_ifindex = ifindex_of(iface) };
        if (mr.imr_ifindex < 0)
                return fail(iface);
        if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &mr, sizeof mr) < 0)
                return fail("IP_MULTICAST_IF");
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop);
        double start = now(), end = start + secs;
        while (now() < end) {
                char msg[64];
                int len = snprintf(msg, sizeof msg, "vbnet mcast %llu", (unsigned long long) packets);
                if (sendto(fd, msg, len, 0, (struct sockaddr *) &sa, sizeof sa) < 0) {
                        if (errno != ENOBUFS && errno != EAGAIN && errno != EINTR)
                                return fail("sendto");
                } else {
                        bytes += len;
                        packets++;
                }
                sleep_until(start + packets * 0.1);
        }
        return report(packets > 0, bytes, packets, now() - start, NULL);
}

static int mcast_recv(const char *group, const char *port, double secs, const char *iface)
{
        struct sockaddr_in sa;
        int one = 1;
        if (parse_addr(group, port, &sa) < 0 || !IN_MULTICAST(ntohl(sa.sin_addr.s_addr)))
                return usage();
        int fd = socket(AF_INET, SOCK_DGRAM, 0);
        if (fd < 0)
                return fail("socket");
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        /* Bound to the group address: only datagrams sent to the group arrive. */
        if (bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                return fail("bind");
        struct ip_mreqn mr = { .imr_multiaddr = sa.sin_addr, .imr_ifindex = ifindex_of(iface) };
        if (mr.imr_ifindex < 0)
                return fail(iface);
        if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof mr) < 0)
                return fail("IP_ADD_MEMBERSHIP");
        printf("VB-RESULT %s listening group=%s port=%s iface=%s\n", action, group, port, iface);
        fflush(stdout);
        return dgram_recv(fd, secs);
}

static int tcp_send(const char *addr, const char *port, double secs, double rate)
{
        struct sockaddr_in sa;
        static char buf[65536];
        uint64_t bytes = 0, packets = 0;
        if (parse_addr(addr, port, &sa) < 0)
                return usage();
        double deadline = now() + secs;
        int fd;
        /* The receiver may not be listening yet: retry until the deadline. */
        for (;;) {
                fd = socket(AF_INET, SOCK_STREAM, 0);
                if (fd < 0)
                        return fail("socket");
                if (connect(fd, (struct sockaddr *) &sa, sizeof sa) == 0)
                        break;
                int e = errno;
                close(fd);
                errno = e;
                if ((e != ECONNREFUSED && e != ENETUNREACH && e != EHOSTUNREACH) || now() >= deadline)
                        return fail("connect");
                usleep(100000);
        }
        memset(buf, 'v', sizeof buf);
        double start = now(), end = start + secs;
        while (now() < end) {
                size_t chunk = rate > 0 ? 1024 : sizeof buf;
                pace(start, bytes, rate);
                struct pollfd pfd = { fd, POLLOUT, 0 };
                int r = poll(&pfd, 1, (int) ((end - now()) * 1000) + 1);
                if (r <= 0)
                        continue;
                ssize_t n = send(fd, buf, chunk, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                continue;
                        return fail("send");
                }
                bytes += n;
                packets++;
        }
        double elapsed = now() - start;
        shutdown(fd, SHUT_WR);
        close(fd);
        return report(bytes > 0, bytes, packets, elapsed, NULL);
}

static int tcp_recv(const char *port, double secs)
{
        struct sockaddr_in sa;
        static char buf[65536];
        int one = 1;
        uint64_t bytes = 0, packets = 0;
        if (parse_addr(NULL, port, &sa) < 0)
                return usage();
        int lfd = socket(AF_INET, SOCK_STREAM, 0);
        if (lfd < 0)
                return fail("socket");
        setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(lfd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(lfd, 1) < 0)
                return fail("bind");
        printf("VB-RESULT %s listening port=%s\n", action, port);
        fflush(stdout);
        double deadline = now() + secs, first = 0, last = 0;
        struct pollfd pfd = { lfd, POLLIN, 0 };
        if (poll(&pfd, 1, (int) (secs * 1000)) <= 0)
                return report(0, 0, 0, 0, "no_connection");
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
                return fail("accept");
        for (;;) {
                double t = now();
                if (t >= deadline)
                        break;
                pfd = (struct pollfd) { fd, POLLIN, 0 };
                if (poll(&pfd, 1, (int) ((deadline - t) * 1000) + 1) <= 0)
                        continue;
                ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
                if (n < 0 && (errno == EAGAIN || errno == EINTR))
                        continue;
                if (n <= 0)
                        break;
                last = now();
                if (!bytes)
                        first = last;
                bytes += n;
                packets++;
        }
        close(fd);
        return report(bytes > 0, bytes, packets, last - first, bytes ? NULL : "nothing_received");
}

static int num(const char *s, double *out)
{
        char *end;
        *out = strtod(s, &end);
        return *end || *out < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
        double secs, rate = 0, size = 1400;
        if (argc < 2)
                return usage();
        action = argv[1];
        setvbuf(stdout, NULL, _IOLBF, 0);
        if (!strcmp(action, "udp-send") && argc >= 5 && argc <= 7) {
                if (num(argv[4], &secs) || (argc > 5 && num(argv[5], &rate)) ||
                    (argc > 6 && num(argv[6], &size)))
                        return usage();
                return udp_send(argv[2], argv[3], secs, rate, (size_t) size);
        }
        if (!strcmp(action, "udp-recv") && argc == 4) {
                if (num(argv[3], &secs))
                        return usage();
                return udp_recv(argv[2], secs);
        }
        if (!strcmp(action, "tcp-send") && argc >= 5 && argc <= 6) {
                if (num(argv[4], &secs) || (argc > 5 && num(argv[5], &rate)))
                        return usage();
                return tcp_send(argv[2], argv[3], secs, rate);
        }
        if (!strcmp(action, "tcp-recv") && argc == 4) {
                if (num(argv[3], &secs))
                        return usage();
                return tcp_recv(argv[2], secs);
        }
        if (!strcmp(action, "mcast-send") && argc >= 5 && argc <= 6) {
                if (num(argv[4], &secs))
                        return usage();
                return mcast_send(argv[2], argv[3], secs, argc > 5 ? argv[5] : "eth0");
        }
        if (!strcmp(action, "mcast-recv") && argc >= 5 && argc <= 6) {
                if (num(argv[4], &secs))
                        return usage();
                return mcast_recv(argv[2], argv[3], secs, argc > 5 ? argv[5] : "eth0");
        }
        return usage();
}
