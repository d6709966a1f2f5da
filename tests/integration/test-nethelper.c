/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* virtbus-nethelper end to end: the real helper binary (VIRTBUS_NETHELPER) in a private network
 * namespace, driven through nh_call() and raw datagrams, checked through netdev.h lookups and
 * the tap, macvtap and vhost-net fds it returns. Needs root; never touches the host's network
 * namespace. A private mount namespace with its own sysfs shows our namespace's devices under
 * /sys/class/net, as the helper's macvtap code needs. */

#include <arpa/inet.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "fdpass.h"
#include "netdev.h"
#include "protocol.h"

#define NOBODY 65534

typedef struct Helper {
        pid_t pid;
        char *dir;
        char *socket;
        char *acl;
} Helper;

static uint32_t next_seq = 1;
/* Run in the helper's process before exec, when set. */
static void (*helper_child_setup)(void) = NULL;

static void write_acl(Helper *h, const char *content) {
        g_autoptr(GError) error = NULL;

        g_file_set_contents(h->acl, content, -1, &error);
        g_assert_no_error(error);
        g_assert_cmpint(chmod(h->acl, 0644), ==, 0);
}

static bool can_connect(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd, r;

        g_strlcpy(sa.sun_path, path, sizeof sa.sun_path);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        g_assert_cmpint(fd, >=, 0);
        r = connect(fd, (struct sockaddr *) &sa, sizeof sa);
        close(fd);
        return r == 0;
}

/* Wait up to timeout_ms for pid to exit; returns its wait status, or -1 if it is still running. */
static int wait_exit(pid_t pid, int timeout_ms) {
        for (int waited = 0;; waited += 20) {
                int status;
                pid_t r = waitpid(pid, &status, WNOHANG);

                g_assert_cmpint(r, >=, 0);
                if (r == pid)
                        return status;
                if (waited >= timeout_ms)
                        return -1;
                g_usleep(20 * 1000);
        }
}

static void helper_prepare(Helper *h, const char *acl_content) {
        g_autoptr(GError) error = NULL;

        h->dir = g_dir_make_tmp("test-nethelper-XXXXXX", &error);
        g_assert_no_error(error);
        /* nobody must reach the socket to be refused by the helper, not by the file system. */
        g_assert_cmpint(chmod(h->dir, 0755), ==, 0);
        h->socket = g_build_filename(h->dir, "nethelper.sock", NULL);
        h->acl = g_build_filename(h->dir, "nethelper.conf", NULL);
        if (acl_content)
                write_acl(h, acl_content);
}

static void helper_exec(char **argv) {
        execv(argv[0], argv);
        _exit(127);
}

/* Start the helper binding its own socket; extra = one more option pair or NULL. */
static void helper_start_full(Helper *h, const char *acl_content, const char *idle, const char *extra,
                              const char *extra_value) {
        const char *exe = g_getenv("VIRTBUS_NETHELPER");

        g_assert_nonnull(exe);
        helper_prepare(h, acl_content);

        h->pid = fork();
        g_assert_cmpint(h->pid, >=, 0);
        if (h->pid == 0) {
                char *argv[] = {
                        (char *) exe,
                        "--socket", h->socket,
                        "--socket-mode", "0666",
                        "--acl", h->acl,
                        "--idle-timeout", (char *) idle,
                        "--log-level", "debug",
                        (char *) extra, (char *) extra_value, /* may be NULL: ends the list early */
                        NULL,
                };
                if (helper_child_setup)
                        helper_child_setup();
                helper_exec(argv);
        }
        for (int i = 0; i < 250 && !can_connect(h->socket); i++) {
                g_assert_cmpint(wait_exit(h->pid, 0), ==, -1);
                g_usleep(20 * 1000);
        }
        g_assert_true(can_connect(h->socket));
}

static void helper_start(Helper *h, const char *acl_content) {
        helper_start_full(h, acl_content, "2", NULL, NULL);
}

static void helper_stop(Helper *h) {
        if (h->pid > 0) {
                int status = wait_exit(h->pid, 0);

                if (status == -1) {
                        g_assert_cmpint(kill(h->pid, SIGTERM), ==, 0);
                        status = wait_exit(h->pid, 5000);
                }
                /* Clean exit either way: idle timeout or SIGTERM. */
                g_assert_true(WIFEXITED(status));
                g_assert_cmpint(WEXITSTATUS(status), ==, 0);
        }
        g_unlink(h->socket);
        g_unlink(h->acl);
        g_rmdir(h->dir);
        g_free(h->socket);
        g_free(h->acl);
        g_free(h->dir);
        *h = (Helper) {};
}

/* Nothing but lo may be left in the namespace after a test. */
static void assert_no_links_left(void) {
        struct if_nameindex *l = if_nameindex();

        g_assert_nonnull(l);
        for (struct if_nameindex *i = l; i->if_index; i++)
                if (!g_str_equal(i->if_name, "lo"))
                        g_error("link %s left behind", i->if_name);
        if_freenameindex(l);
}

static int call(const Helper *h, NhRequest *req, NhReply *reply, int *fds, size_t max_fds, size_t *n_fds) {
        req->seq = next_seq++;
        return nh_call(h->socket, req, 10000, reply, fds, max_fds, n_fds);
}

static NhReply call_ok(const Helper *h, NhRequest *req, int *fds, size_t max_fds, size_t *n_fds) {
        NhReply reply;
        int r = call(h, req, &reply, fds, max_fds, n_fds);

        g_assert_cmpint(r, ==, 0);
        if (reply.error != 0)
                g_error("%s failed: %s (%s)", nh_verb_to_string(req->verb), reply.message,
                        g_strerror(reply.error));
        return reply;
}

static void call_fails(const Helper *h, NhRequest *req, int error, const char *needle) {
        NhReply reply;
        int fds[NH_QUEUES_MAX];
        size_t n_fds = 0;
        int r = call(h, req, &reply, fds, G_N_ELEMENTS(fds), &n_fds);

        g_assert_cmpint(r, ==, 0);
        if ((int) reply.error != error || !strstr(reply.message, needle))
                g_error("%s: got %d \"%s\", expected %d (%s) containing \"%s\"",
                        nh_verb_to_string(req->verb), reply.error, reply.message, error, g_strerror(error),
                        needle);
        g_assert_cmpuint(n_fds, ==, 0);
}

static NhRequest bridge_request(const char *name) {
        NhRequest req = { .verb = NH_VERB_BRIDGE_CREATE };

        g_strlcpy(req.bridge_create.ifname, name, sizeof req.bridge_create.ifname);
        return req;
}

static NhRequest tap_request(const char *name, const char *bridge, unsigned queues) {
        NhRequest req = { .verb = NH_VERB_TAP_CREATE };

        g_strlcpy(req.tap_create.ifname, name, sizeof req.tap_create.ifname);
        g_strlcpy(req.tap_create.bridge, bridge ? bridge : "", sizeof req.tap_create.bridge);
        req.tap_create.queues = queues;
        req.tap_create.vnet_hdr = true;
        return req;
}

static NhRequest delete_request(const char *name, NhLinkKind kind) {
        NhRequest req = { .verb = NH_VERB_LINK_DELETE };

        g_strlcpy(req.link_delete.ifname, name, sizeof req.link_delete.ifname);
        req.link_delete.kind = kind;
        return req;
}

static void delete_ok(const Helper *h, const char *name, NhLinkKind kind) {
        NhRequest req = delete_request(name, kind);

        call_ok(h, &req, NULL, 0, NULL);
        g_assert_false(netdev_link_exists(name));
}

static void assert_link_vanishes(const char *name) {
        for (int i = 0; i < 100 && netdev_link_exists(name); i++)
                g_usleep(20 * 1000);
        g_assert_false(netdev_link_exists(name));
}

static NetdevLink lookup(const char *name) {
        NetdevLink l;
        int r = netdev_link_lookup(name, &l);

        if (r < 0)
                g_error("lookup of %s failed: %s", name, g_strerror(-r));
        return l;
}

/* A bridge created behind virtbus' back: no alias marker. */
static void create_foreign_bridge(const char *name) {
        struct nl_sock *sk = nl_socket_alloc();

        g_assert_nonnull(sk);
        g_assert_cmpint(nl_connect(sk, NETLINK_ROUTE), ==, 0);
        g_assert_cmpint(rtnl_link_bridge_add(sk, name), ==, 0);
        nl_socket_free(sk);
        g_assert_cmpstr(lookup(name).alias, ==, "");
}

static bool has_address(int ifindex, int family, const char *text, unsigned prefixlen) {
        g_autofree NetdevAddress *list = NULL;
        uint8_t want[16] = {};
        size_t n = 0;

        g_assert_cmpint(inet_pton(family, text, want), ==, 1);
        g_assert_cmpint(netdev_link_addresses(ifindex, &list, &n), ==, 0);
        for (size_t i = 0; i < n; i++)
                if (list[i].family == family && list[i].prefixlen == prefixlen &&
                    memcmp(list[i].address, want, family == AF_INET ? 4 : 16) == 0)
                        return true;
        return false;
}

static void assert_tap_fd(int fd, const char *name, bool multi_queue) {
        struct ifreq ifr = {};
        struct stat st;

        g_assert_cmpint(fstat(fd, &st), ==, 0);
        g_assert_true(S_ISCHR(st.st_mode)); /* /dev/net/tun */
        g_assert_cmpint(ioctl(fd, TUNGETIFF, &ifr), ==, 0);
        g_assert_cmpstr(ifr.ifr_name, ==, name);
        g_assert_cmphex(ifr.ifr_flags & (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR), ==,
                        IFF_TAP | IFF_NO_PI | IFF_VNET_HDR);
        g_assert_cmpint(!!(ifr.ifr_flags & IFF_MULTI_QUEUE), ==, multi_queue);
}

static void test_bridge(void) {
        Helper h = {};
        NhRequest req;
        NhReply reply;
        NetdevLink l;
        bool stp;
        uint32_t delay;
        char mac[ETHER_ADDR_STR_MAX];

        helper_start(&h, "");

        req = bridge_request("vbtest0");
        req.bridge_create.has_mac = true;
        memcpy(req.bridge_create.mac, (uint8_t[]) { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 }, 6);
        req.bridge_create.mtu = 9000;
        req.bridge_create.stp = true;
        req.bridge_create.forward_delay = 4;
        req.bridge_create.n_addresses = 2;
        req.bridge_create.addresses[0] = (NhAddress) { .family = AF_INET, .prefixlen = 24 };
        inet_pton(AF_INET, "10.77.0.1", req.bridge_create.addresses[0].address);
        req.bridge_create.addresses[1] = (NhAddress) { .family = AF_INET6, .prefixlen = 64 };
        inet_pton(AF_INET6, "fd00:77::1", req.bridge_create.addresses[1].address);
        reply = call_ok(&h, &req, NULL, 0, NULL);

        l = lookup("vbtest0");
        g_assert_cmpint(l.ifindex, ==, (int) reply.ifindex);
        g_assert_cmpstr(l.kind, ==, "bridge");
        g_assert_cmpstr(ether_addr_format(&l.mac, mac), ==, "52:54:00:12:34:56");
        g_assert_cmpuint(l.mtu, ==, 9000);
        g_assert_true(l.up);
        g_assert_cmpstr(l.alias, ==, NETDEV_VIRTBUS_ALIAS);
        g_assert_cmpint(netdev_bridge_get("vbtest0", &stp, &delay), ==, 0);
        g_assert_true(stp);
        g_assert_cmpuint(delay, ==, 4);
        g_assert_true(has_address(l.ifindex, AF_INET, "10.77.0.1", 24));
        g_assert_true(has_address(l.ifindex, AF_INET6, "fd00:77::1", 64));

        /* Exists already: refused, and the existing one is untouched. */
        req = bridge_request("vbtest0");
        call_fails(&h, &req, EEXIST, "bridge vbtest0 already exists");
        g_assert_cmpuint(lookup("vbtest0").mtu, ==, 9000);

        /* Defaults: STP off, no delay, kernel MTU and a kernel MAC. */
        req = bridge_request("vbtest1");
        call_ok(&h, &req, NULL, 0, NULL);
        g_assert_cmpint(netdev_bridge_get("vbtest1", &stp, &delay), ==, 0);
        g_assert_false(stp);
        g_assert_cmpuint(delay, ==, 0);
        g_assert_cmpuint(lookup("vbtest1").mtu, ==, 1500);

        /* A failing step (address already on another link is fine for the kernel, so use a
         * duplicate address on the same bridge) undoes the creation. */
        req = bridge_request("vbtest2");
        req.bridge_create.n_addresses = 2;
        req.bridge_create.addresses[0] = (NhAddress) { .family = AF_INET, .prefixlen = 24 };
        inet_pton(AF_INET, "10.78.0.1", req.bridge_create.addresses[0].address);
        req.bridge_create.addresses[1] = req.bridge_create.addresses[0];
        call_fails(&h, &req, EEXIST, "failed to add address 10.78.0.1/24 to bridge vbtest2");
        g_assert_false(netdev_link_exists("vbtest2"));

        delete_ok(&h, "vbtest0", NH_LINK_BRIDGE);
        delete_ok(&h, "vbtest1", NH_LINK_BRIDGE);
        req = delete_request("vbtest0", NH_LINK_BRIDGE);
        call_fails(&h, &req, ENODEV, "link vbtest0 does not exist");

        helper_stop(&h);
        assert_no_links_left();
}

static void test_tap(void) {
        Helper h = {};
        NhRequest req;
        NhReply reply;
        NetdevLink br, l;
        int fds[NH_QUEUES_MAX];
        size_t n_fds = 0;
        char mac[ETHER_ADDR_STR_MAX];

        /* Empty ACL: virtbus' own bridges need no entry. */
        helper_start(&h, "");
        req = bridge_request("vbtest0");
        req.bridge_create.mtu = 1400;
        call_ok(&h, &req, NULL, 0, NULL);
        br = lookup("vbtest0");

        req = tap_request("vnet0", "vbtest0", 1);
        req.tap_create.has_mac = true;
        memcpy(req.tap_create.mac, (uint8_t[]) { 0xfe, 0x54, 0x00, 0xaa, 0xbb, 0xcc }, 6);
        reply = call_ok(&h, &req, fds, G_N_ELEMENTS(fds), &n_fds);
        g_assert_cmpuint(n_fds, ==, 1);
        g_assert_cmpuint(reply.n_fds, ==, 1);
        assert_tap_fd(fds[0], "vnet0", false);
        l = lookup("vnet0");
        g_assert_cmpint(l.ifindex, ==, (int) reply.ifindex);
        g_assert_cmpstr(l.kind, ==, "tun");
        g_assert_cmpint(l.master, ==, br.ifindex);
        g_assert_true(l.up);
        g_assert_cmpstr(ether_addr_format(&l.mac, mac), ==, "fe:54:00:aa:bb:cc");
        g_assert_cmpuint(l.mtu, ==, 1400); /* follows the bridge */
        g_assert_cmpuint(lookup("vbtest0").mtu, ==, 1400);

        /* Multiqueue: one fd per queue, all on the same tap. */
        int mq[NH_QUEUES_MAX];
        size_t n_mq = 0;
        req = tap_request("vnet1", "vbtest0", 4);
        req.tap_create.mtu = 1300;
        call_ok(&h, &req, mq, G_N_ELEMENTS(mq), &n_mq);
        g_assert_cmpuint(n_mq, ==, 4);
        for (size_t i = 0; i < n_mq; i++)
                assert_tap_fd(mq[i], "vnet1", true);
        g_assert_cmpuint(lookup("vnet1").mtu, ==, 1300);
        g_assert_cmpint(lookup("vnet1").master, ==, br.ifindex);

        /* No bridge. */
        int lone;
        size_t n_lone = 0;
        req = tap_request("vnet2", NULL, 1);
        call_ok(&h, &req, &lone, 1, &n_lone);
        g_assert_cmpuint(n_lone, ==, 1);
        g_assert_cmpint(lookup("vnet2").master, ==, 0);
        g_assert_true(lookup("vnet2").up);

        /* Refusals. */
        req = tap_request("tap0", "vbtest0", 1);
        call_fails(&h, &req, EPERM, "tap name tap0 does not start with \"vnet\"");
        req = tap_request("vnet0", "vbtest0", 1);
        call_fails(&h, &req, EEXIST, "link vnet0 already exists");
        req = tap_request("vnet3", "nosuchbr", 1);
        call_fails(&h, &req, ENODEV, "bridge nosuchbr does not exist");
        req = tap_request("vnet3", "vnet2", 1);
        call_fails(&h, &req, EPERM, "vnet2 is not a bridge");
        req = tap_request("vnet3", "lo", 1);
        call_fails(&h, &req, EPERM, "lo is not a bridge");
        g_assert_false(netdev_link_exists("vnet3"));

        /* Delete rules: name prefix and kind must match. */
        req = delete_request("vnet1", NH_LINK_BRIDGE);
        call_fails(&h, &req, EPERM, "link vnet1 is not a bridge (kind tun)");
        req = delete_request("vnet1", NH_LINK_MACVTAP);
        call_fails(&h, &req, EPERM, "vnet1 is not a virtbus macvtap");
        req = delete_request("vbtest0", NH_LINK_TAP);
        call_fails(&h, &req, EPERM, "vbtest0 is not a virtbus tap");
        req = delete_request("lo", NH_LINK_BRIDGE);
        call_fails(&h, &req, EPERM, "link lo is not a bridge");
        req = delete_request("vnet9", NH_LINK_TAP);
        call_fails(&h, &req, ENODEV, "link vnet9 does not exist");

        /* Deleting works while the fds are still open... */
        delete_ok(&h, "vnet0", NH_LINK_TAP);
        delete_ok(&h, "vnet1", NH_LINK_TAP);
        close(fds[0]);
        for (size_t i = 0; i < n_mq; i++)
                close(mq[i]);
        /* ... and a tap whose fds are all closed disappears by itself. */
        close(lone);
        assert_link_vanishes("vnet2");

        delete_ok(&h, "vbtest0", NH_LINK_BRIDGE);
        helper_stop(&h);
        assert_no_links_left();
}

static void test_foreign_bridge(void) {
        Helper h = {};
        NhRequest req;
        int fds[NH_QUEUES_MAX];
        size_t n_fds = 0;
        g_autofree char *not_allowed = NULL;

        create_foreign_bridge("foreignbr");
        helper_start(&h, "# nothing allowed\n");
        not_allowed = g_strdup_printf("bridge foreignbr is not allowed by %s", h.acl);

        req = tap_request("vnet5", "foreignbr", 1);
        call_fails(&h, &req, EPERM, not_allowed);
        g_assert_false(netdev_link_exists("vnet5"));
        req = delete_request("foreignbr", NH_LINK_BRIDGE);
        call_fails(&h, &req, EPERM, "bridge foreignbr was not created by virtbus");
        req = bridge_request("foreignbr");
        call_fails(&h, &req, EEXIST, "bridge foreignbr already exists");
        g_assert_cmpstr(lookup("foreignbr").alias, ==, "");

        /* The ACL is re-read per request: no restart needed. */
        write_acl(&h, "allow foreignbr\n");
        req = tap_request("vnet5", "foreignbr", 1);
        call_ok(&h, &req, fds, G_N_ELEMENTS(fds), &n_fds);
        g_assert_cmpint(lookup("vnet5").master, ==, lookup("foreignbr").ifindex);
        /* Allowed to attach is not allowed to delete. */
        req = delete_request("foreignbr", NH_LINK_BRIDGE);
        call_fails(&h, &req, EPERM, "bridge foreignbr was not created by virtbus");
        g_assert_true(netdev_link_exists("foreignbr"));
        delete_ok(&h, "vnet5", NH_LINK_TAP);
        close(fds[0]);

        /* Globs; deny beats allow. */
        write_acl(&h, "allow foreign*\ndeny foreignbr\n");
        req = tap_request("vnet5", "foreignbr", 1);
        call_fails(&h, &req, EPERM, "bridge foreignbr is denied by");
        write_acl(&h, "allow all\ndeny vbden*\n");
        req = bridge_request("vbdenied");
        call_fails(&h, &req, EPERM, "bridge vbdenied is denied by");
        g_assert_false(netdev_link_exists("vbdenied"));

        /* A broken ACL fails closed for bridge decisions, but our own taps can still go. */
        req = tap_request("vnet6", NULL, 1);
        call_ok(&h, &req, fds, G_N_ELEMENTS(fds), &n_fds);
        write_acl(&h, "allow foreignbr\nbogus line\n");
        req = tap_request("vnet5", "foreignbr", 1);
        g_autofree char *broken = g_strdup_printf("ACL not usable: %s:2: unknown directive 'bogus'", h.acl);
        call_fails(&h, &req, EPERM, broken);
        req = bridge_request("vbtest9");
        call_fails(&h, &req, EPERM, broken);
        g_assert_false(netdev_link_exists("vbtest9"));
        delete_ok(&h, "vnet6", NH_LINK_TAP);
        close(fds[0]);

        /* A missing ACL file is an empty one: only virtbus' own bridges. */
        g_assert_cmpint(g_unlink(h.acl), ==, 0);
        req = tap_request("vnet5", "foreignbr", 1);
        call_fails(&h, &req, EPERM, "is not allowed by");

        helper_stop(&h);
        g_assert_cmpint(netdev_link_delete(lookup("foreignbr").ifindex), ==, 0);
        assert_no_links_left();
}

static int raw_connect(const Helper *h);

/* In a child as nobody: one request; returns the reply's errno (or 100 + -r when nh_call failed). */
static int call_as_nobody(const Helper *h, const char *expect_message) {
        pid_t pid = fork();
        int status;

        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                NhRequest req = delete_request("vnet7", NH_LINK_TAP);
                NhReply reply;
                int r;

                if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
                    setresuid(NOBODY, NOBODY, NOBODY) < 0)
                        _exit(99);
                req.seq = 4242;
                r = nh_call(h->socket, &req, 5000, &reply, NULL, 0, NULL);
                if (r < 0)
                        _exit(100 + (-r > 150 ? 150 : -r));
                if (expect_message && !strstr(reply.message, expect_message))
                        _exit(98);
                _exit(reply.error);
        }
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

/* The daemon reads links and addresses without any privilege. */
static void test_unprivileged_lookups(void) {
        Helper h = {};
        NhRequest req;
        pid_t pid;
        int status;

        helper_start(&h, "");
        req = bridge_request("vbtest0");
        req.bridge_create.stp = true;
        req.bridge_create.forward_delay = 5;
        req.bridge_create.n_addresses = 1;
        req.bridge_create.addresses[0] = (NhAddress) { .family = AF_INET, .prefixlen = 16 };
        inet_pton(AF_INET, "10.79.0.1", req.bridge_create.addresses[0].address);
        call_ok(&h, &req, NULL, 0, NULL);

        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                NetdevLink l;
                bool stp = false;
                uint32_t delay = 0;
                char kind[NETDEV_QDISC_KIND_MAX];

                if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
                    setresuid(NOBODY, NOBODY, NOBODY) < 0)
                        _exit(99);
                if (netdev_link_lookup("vbtest0", &l) < 0 || !g_str_equal(l.alias, NETDEV_VIRTBUS_ALIAS))
                        _exit(1);
                if (!has_address(l.ifindex, AF_INET, "10.79.0.1", 16))
                        _exit(2);
                if (netdev_bridge_get("vbtest0", &stp, &delay) < 0 || !stp || delay != 5)
                        _exit(3);
                if (netdev_link_lookup("nosuchlink", &l) != -ENODEV || netdev_link_exists("nosuchlink"))
                        _exit(4);
                if (netdev_qdisc_get_root_kind(if_nametoindex("lo"), kind) < 0 ||
                    !g_str_equal(kind, "noqueue"))
                        _exit(6);
                if (netdev_macvlan_get("vbtest0", NULL) != -EMEDIUMTYPE)
                        _exit(7);
                /* ... and cannot change anything. */
                if (netdev_link_set_mtu(l.ifindex, 1400) != -EPERM)
                        _exit(5);
                _exit(0);
        }
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
        g_assert_cmpint(netdev_bridge_get("lo", NULL, NULL), ==, -EMEDIUMTYPE);

        delete_ok(&h, "vbtest0", NH_LINK_BRIDGE);
        helper_stop(&h);
        assert_no_links_left();
}

static void test_peer_uid(void) {
        Helper h = {};
        NhRequest req;

        helper_start(&h, "");
        g_assert_cmpint(call_as_nobody(&h, "peer uid 65534 is not allowed to use the helper"), ==, EPERM);
        /* Root is still served afterwards. */
        req = delete_request("vnet7", NH_LINK_TAP);
        call_fails(&h, &req, ENODEV, "link vnet7 does not exist");

        /* Connections are capped: the one beyond the limit is refused, the others keep working. */
        int conns[64];
        for (size_t i = 0; i < G_N_ELEMENTS(conns); i++)
                conns[i] = raw_connect(&h);
        g_usleep(200 * 1000); /* let the helper accept them all */
        req = delete_request("vnet7", NH_LINK_TAP);
        call_fails(&h, &req, EBUSY, "too many connections");
        for (size_t i = 0; i < G_N_ELEMENTS(conns); i++)
                close(conns[i]);
        g_usleep(200 * 1000);
        req = delete_request("vnet7", NH_LINK_TAP);
        call_fails(&h, &req, ENODEV, "link vnet7 does not exist");
        helper_stop(&h);

        /* --allow-uid admits that uid: the request reaches the handler. */
        helper_start_full(&h, "", "2", "--allow-uid", "65534");
        g_assert_cmpint(call_as_nobody(&h, "link vnet7 does not exist"), ==, ENODEV);
        helper_stop(&h);
        assert_no_links_left();
}

static int raw_connect(const Helper *h) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

        g_assert_cmpint(fd, >=, 0);
        g_strlcpy(sa.sun_path, h->socket, sizeof sa.sun_path);
        g_assert_cmpint(connect(fd, (struct sockaddr *) &sa, sizeof sa), ==, 0);
        return fd;
}

/* Send raw bytes (with optional fds), return the decoded reply; fds of the reply into fds[]. */
static NhReply raw_exchange(int fd, const void *buf, size_t len, const int *send_fds, size_t n_send,
                            int *fds, size_t *n_fds) {
        uint8_t in[NH_MESSAGE_MAX];
        char err[NH_ERROR_MESSAGE_MAX];
        int got[FDPASS_MAX];
        size_t n_got = 0;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        NhReply reply;
        ssize_t n;

        g_assert_cmpint(send_with_fds(fd, buf, len, send_fds, n_send), ==, (ssize_t) len);
        g_assert_cmpint(poll(&p, 1, 10000), ==, 1);
        n = recv_with_fds(fd, in, sizeof in, got, G_N_ELEMENTS(got), &n_got);
        g_assert_cmpint(n, >, 0);
        if (nh_reply_decode(in, n, &reply, err, sizeof err) < 0)
                g_error("bad reply: %s", err);
        g_assert_cmpuint(n_got, ==, reply.n_fds);
        if (fds)
                memcpy(fds, got, n_got * sizeof(int));
        else
                for (size_t i = 0; i < n_got; i++)
                        close(got[i]);
        if (n_fds)
                *n_fds = n_got;
        return reply;
}

static void test_malformed(void) {
        Helper h = {};
        uint8_t buf[8192], good[NH_MESSAGE_MAX];
        NhRequest req;
        NhReply reply;
        int fd, len, fds[NH_QUEUES_MAX];
        size_t n_fds;

        helper_start(&h, "");
        fd = raw_connect(&h);

        /* garbage */
        memset(buf, 0x5a, 100);
        reply = raw_exchange(fd, buf, 100, NULL, 0, NULL, NULL);
        g_assert_cmpuint(reply.error, ==, EPROTO);
        g_assert_nonnull(strstr(reply.message, "malformed request: bad magic"));

        /* 8 KiB, with a valid header announcing it */
        req = tap_request("vnet0", NULL, 1);
        req.seq = 31337;
        len = nh_request_encode(&req, buf, NH_MESSAGE_MAX);
        g_assert_cmpint(len, >, 0);
        memset(buf + len, 0, sizeof buf - len);
        {
                uint32_t payload = sizeof buf - NH_HEADER_SIZE;
                memcpy(buf + 12, &payload, 4);
        }
        reply = raw_exchange(fd, buf, sizeof buf, NULL, 0, NULL, NULL);
        g_assert_cmpuint(reply.error, ==, EMSGSIZE);
        g_assert_cmpuint(reply.seq, ==, 31337);

        /* truncated: a valid request cut short */
        req = tap_request("vnet0", "vbtest0", 2);
        req.seq = 77;
        len = nh_request_encode(&req, good, sizeof good);
        for (int cut = 1; cut < len; cut += 5) {
                reply = raw_exchange(fd, good, cut, NULL, 0, NULL, NULL);
                g_assert_cmpuint(reply.error, !=, 0);
                g_assert_nonnull(strstr(reply.message, "malformed request"));
                if (cut >= NH_HEADER_SIZE)
                        g_assert_cmpuint(reply.seq, ==, 77);
        }

        /* a too short datagram, a bad interface name, a bad value */
        reply = raw_exchange(fd, good, 3, NULL, 0, NULL, NULL);
        g_assert_cmpuint(reply.error, ==, EBADMSG);
        req = tap_request("vnet0", NULL, 1);
        strcpy(req.tap_create.ifname, "../x");
        len = nh_request_encode(&req, good, sizeof good);
        reply = raw_exchange(fd, good, len, NULL, 0, NULL, NULL);
        g_assert_cmpuint(reply.error, ==, EINVAL);
        g_assert_nonnull(strstr(reply.message, "invalid interface name"));
        req = tap_request("vnet0", NULL, NH_QUEUES_MAX + 1);
        len = nh_request_encode(&req, good, sizeof good);
        reply = raw_exchange(fd, good, len, NULL, 0, NULL, NULL);
        g_assert_cmpuint(reply.error, ==, EINVAL);
        g_assert_nonnull(strstr(reply.message, "out of range"));

        /* fds sent to the helper are dropped, never used */
        {
                int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
                req = delete_request("vnet9", NH_LINK_TAP);
                len = nh_request_encode(&req, good, sizeof good);
                reply = raw_exchange(fd, good, len, &devnull, 1, NULL, NULL);
                g_assert_cmpuint(reply.error, ==, ENODEV);
                close(devnull);
        }

        /* After all that, the same connection still works. */
        req = tap_request("vnet0", NULL, 2);
        req.seq = 5;
        len = nh_request_encode(&req, good, sizeof good);
        reply = raw_exchange(fd, good, len, NULL, 0, fds, &n_fds);
        g_assert_cmpuint(reply.error, ==, 0);
        g_assert_cmpuint(reply.seq, ==, 5);
        g_assert_cmpuint(n_fds, ==, 2);
        assert_tap_fd(fds[0], "vnet0", true);
        close(fds[0]);
        close(fds[1]);
        /* The helper closes its copies right after sending: the tap goes once both are gone. */
        assert_link_vanishes("vnet0");

        close(fd);
        g_assert_cmpint(wait_exit(h.pid, 0), ==, -1); /* still running */
        helper_stop(&h);
        assert_no_links_left();
}

static char *root_qdisc(int ifindex) {
        char kind[NETDEV_QDISC_KIND_MAX];
        int r = netdev_qdisc_get_root_kind(ifindex, kind);

        if (r < 0)
                g_error("reading the root qdisc of ifindex %d failed: %s", ifindex, g_strerror(-r));
        return g_strdup(kind);
}

static void test_tap_noqueue(void) {
        Helper h = {};
        NhRequest req;
        NhReply reply;
        int fds[4][NH_QUEUES_MAX];
        size_t n_fds[4] = {};
        g_autofree char *q0 = NULL, *q1 = NULL, *q2 = NULL, *q3 = NULL;

        helper_start(&h, "");

        req = tap_request("vnet0", NULL, 1);
        req.tap_create.noqueue = true;
        reply = call_ok(&h, &req, fds[0], NH_QUEUES_MAX, &n_fds[0]);
        g_assert_true(reply.has_noqueue_applied);
        g_assert_true(reply.noqueue_applied);
        g_assert_cmpstr(reply.message, ==, "");
        q0 = root_qdisc(reply.ifindex);
        g_assert_cmpstr(q0, ==, "noqueue");

        /* Without the flag the kernel's default stays, and the reply says nothing about it. */
        req = tap_request("vnet1", NULL, 1);
        reply = call_ok(&h, &req, fds[1], NH_QUEUES_MAX, &n_fds[1]);
        g_assert_false(reply.has_noqueue_applied);
        q1 = root_qdisc(reply.ifindex);
        g_assert_cmpstr(q1, !=, "noqueue");
        g_assert_cmpstr(q1, !=, "");
        g_test_message("default root qdisc of a tap on this kernel: %s", q1);

        /* Multiqueue: noqueue replaces mq and its per-queue children. */
        req = tap_request("vnet2", NULL, 4);
        req.tap_create.noqueue = true;
        reply = call_ok(&h, &req, fds[2], NH_QUEUES_MAX, &n_fds[2]);
        g_assert_true(reply.noqueue_applied);
        q2 = root_qdisc(reply.ifindex);
        g_assert_cmpstr(q2, ==, "noqueue");
        req = tap_request("vnet3", NULL, 4);
        reply = call_ok(&h, &req, fds[3], NH_QUEUES_MAX, &n_fds[3]);
        q3 = root_qdisc(reply.ifindex);
        g_assert_cmpstr(q3, ==, "mq");

        for (size_t i = 0; i < G_N_ELEMENTS(fds); i++)
                for (size_t j = 0; j < n_fds[i]; j++)
                        close(fds[i][j]);
        assert_link_vanishes("vnet0");
        assert_link_vanishes("vnet1");
        assert_link_vanishes("vnet2");
        assert_link_vanishes("vnet3");
        helper_stop(&h);
        assert_no_links_left();
}

/* A veth pair, both ends up: the stand-in for a NIC (this kernel has no dummy links). */
static void create_veth(const char *name, const char *peer) {
        struct nl_sock *sk = nl_socket_alloc();

        g_assert_nonnull(sk);
        g_assert_cmpint(nl_connect(sk, NETLINK_ROUTE), ==, 0);
        g_assert_cmpint(rtnl_link_veth_add(sk, name, peer, getpid()), ==, 0);
        nl_socket_free(sk);
        g_assert_cmpint(netdev_link_set_up(lookup(name).ifindex), ==, 0);
        g_assert_cmpint(netdev_link_set_up(lookup(peer).ifindex), ==, 0);
}

static NhRequest macvtap_request(const char *name, const char *lower, NhMacvtapMode mode, uint8_t mac_last) {
        NhRequest req = { .verb = NH_VERB_MACVTAP_CREATE };
        NhMacvtapCreate *m = &req.macvtap_create;

        g_strlcpy(m->ifname, name, sizeof m->ifname);
        g_strlcpy(m->lower, lower, sizeof m->lower);
        m->mode = mode;
        memcpy(m->mac, (uint8_t[]) { 0x52, 0x54, 0x00, 0x00, 0x77, mac_last }, 6);
        m->vnet_hdr = true;
        m->queues = 1;
        m->noqueue = true;
        return req;
}

/* The macvtap's character device as sysfs (of our namespace) has it. */
static dev_t sysfs_devnum(const char *name, int ifindex) {
        g_autofree char *path = g_strdup_printf("/sys/class/net/%s/macvtap/tap%d/dev", name, ifindex);
        g_autofree char *content = NULL;
        g_autoptr(GError) error = NULL;
        unsigned maj, min;

        g_file_get_contents(path, &content, NULL, &error);
        g_assert_no_error(error);
        g_assert_cmpint(sscanf(content, "%u:%u", &maj, &min), ==, 2);
        return makedev(maj, min);
}

static void assert_macvtap_fd(int fd, const char *name, int ifindex, bool vnet_hdr, bool multi_queue) {
        struct ifreq ifr = {};
        struct stat st;

        g_assert_cmpint(fstat(fd, &st), ==, 0);
        g_assert_true(S_ISCHR(st.st_mode));
        g_assert_cmpuint(st.st_rdev, ==, sysfs_devnum(name, ifindex));
        g_assert_cmpint(ioctl(fd, TUNGETIFF, &ifr), ==, 0);
        g_assert_cmpstr(ifr.ifr_name, ==, name);
        g_assert_cmphex(ifr.ifr_flags & (IFF_TAP | IFF_NO_PI), ==, IFF_TAP | IFF_NO_PI);
        g_assert_cmpint(!!(ifr.ifr_flags & IFF_VNET_HDR), ==, vnet_hdr);
        g_assert_cmpint(!!(ifr.ifr_flags & IFF_MULTI_QUEUE), ==, multi_queue);
}

static void assert_macvtap(const char *name, const NhReply *reply, const char *lower, uint32_t kernel_mode,
                           const char *mac) {
        NetdevMacvlan m;
        NetdevLink l = lookup(name);
        char s[ETHER_ADDR_STR_MAX];
        g_autofree char *qdisc = NULL;

        g_assert_cmpint(l.ifindex, ==, (int) reply->ifindex);
        g_assert_cmpstr(l.kind, ==, "macvtap");
        g_assert_true(l.up);
        g_assert_cmpstr(ether_addr_format(&l.mac, s), ==, mac);
        g_assert_cmpint(netdev_macvlan_get(name, &m), ==, 0);
        g_assert_cmpstr(m.kind, ==, "macvtap");
        g_assert_cmpuint(m.mode, ==, kernel_mode);
        g_assert_cmpint(m.lower, ==, lookup(lower).ifindex);
        g_assert_true(reply->has_noqueue_applied);
        g_assert_true(reply->noqueue_applied);
        qdisc = root_qdisc(l.ifindex);
        g_assert_cmpstr(qdisc, ==, "noqueue");
}

#define TEST_ETHERTYPE 0x88b5 /* IEEE 802 local experimental */

/* A frame sent into the lower device's peer for the macvtap's MAC comes out of the macvtap fd. */
static void assert_frame_arrives(const char *peer, const char *macvtap, int fd) {
        struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_halen = ETH_ALEN };
        uint8_t frame[64] = {}, buf[2048];
        NetdevLink dst = lookup(macvtap);
        int sk, hdr = 0;

        sk = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
        g_assert_cmpint(sk, >=, 0);
        sa.sll_ifindex = lookup(peer).ifindex;
        memcpy(sa.sll_addr, dst.mac.bytes, ETH_ALEN);
        memcpy(frame, dst.mac.bytes, ETH_ALEN);
        memcpy(frame + ETH_ALEN, lookup(peer).mac.bytes, ETH_ALEN);
        frame[12] = TEST_ETHERTYPE >> 8;
        frame[13] = TEST_ETHERTYPE & 0xff;
        memcpy(frame + 14, "virtbus", 7);
        g_assert_cmpint(sendto(sk, frame, sizeof frame, 0, (struct sockaddr *) &sa, sizeof sa), ==,
                        sizeof frame);
        close(sk);

        /* With IFF_VNET_HDR every frame comes after a virtio-net header. */
        {
                struct ifreq ifr = {};

                g_assert_cmpint(ioctl(fd, TUNGETIFF, &ifr), ==, 0);
                if (ifr.ifr_flags & IFF_VNET_HDR)
                        g_assert_cmpint(ioctl(fd, TUNGETVNETHDRSZ, &hdr), ==, 0);
        }
        /* Other traffic (IPv6 router solicitations, …) may come first. */
        for (int i = 0; i < 50; i++) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                ssize_t n;

                g_assert_cmpint(poll(&p, 1, 2000), ==, 1);
                n = read(fd, buf, sizeof buf);
                g_assert_cmpint(n, >, 0);
                if (n >= hdr + 21 && memcmp(buf + hdr, frame, 21) == 0)
                        return;
        }
        g_error("the test frame never arrived on %s", macvtap);
}

static void test_macvtap(void) {
        Helper h = {};
        NhRequest req;
        NhReply reply;
        int fds[4][NH_QUEUES_MAX];
        size_t n_fds[4] = {};
        NetdevLink orig_lower;
        char s[ETHER_ADDR_STR_MAX];
        g_autofree char *not_allowed = NULL, *denied = NULL, *broken = NULL;

        create_veth("vbeth0", "vbeth1");
        create_veth("vbeth2", "vbeth3");
        helper_start(&h, "allow vbeth0\nallow vbeth2\n");

        /* bridge, vepa, private on one lower device; one with two queues and no vnet header. */
        req = macvtap_request("macvtap0", "vbeth0", NH_MACVTAP_MODE_BRIDGE, 0x10);
        reply = call_ok(&h, &req, fds[0], NH_QUEUES_MAX, &n_fds[0]);
        g_assert_cmpuint(n_fds[0], ==, 1);
        assert_macvtap("macvtap0", &reply, "vbeth0", MACVLAN_MODE_BRIDGE, "52:54:00:00:77:10");
        assert_macvtap_fd(fds[0][0], "macvtap0", reply.ifindex, true, false);

        req = macvtap_request("macvtap1", "vbeth0", NH_MACVTAP_MODE_VEPA, 0x11);
        req.macvtap_create.queues = 2;
        req.macvtap_create.vnet_hdr = false;
        req.macvtap_create.mtu = 1400;
        reply = call_ok(&h, &req, fds[1], NH_QUEUES_MAX, &n_fds[1]);
        g_assert_cmpuint(n_fds[1], ==, 2);
        assert_macvtap("macvtap1", &reply, "vbeth0", MACVLAN_MODE_VEPA, "52:54:00:00:77:11");
        g_assert_cmpuint(lookup("macvtap1").mtu, ==, 1400);
        for (size_t i = 0; i < n_fds[1]; i++)
                assert_macvtap_fd(fds[1][i], "macvtap1", reply.ifindex, false, true);
        assert_frame_arrives("vbeth1", "macvtap1", fds[1][0]);

        req = macvtap_request("macvtap2", "vbeth0", NH_MACVTAP_MODE_PRIVATE, 0x12);
        reply = call_ok(&h, &req, fds[2], NH_QUEUES_MAX, &n_fds[2]);
        assert_macvtap("macvtap2", &reply, "vbeth0", MACVLAN_MODE_PRIVATE, "52:54:00:00:77:12");
        assert_macvtap_fd(fds[2][0], "macvtap2", reply.ifindex, true, false);
        g_assert_cmpuint(lookup("macvtap2").mtu, ==, 1500); /* the lower device's */

        /* Without NOQUEUE the default stays. */
        req = macvtap_request("macvtap5", "vbeth0", NH_MACVTAP_MODE_BRIDGE, 0x15);
        req.macvtap_create.noqueue = false;
        {
                int fd;
                size_t n = 0;
                g_autofree char *q = NULL;

                reply = call_ok(&h, &req, &fd, 1, &n);
                g_assert_false(reply.has_noqueue_applied);
                q = root_qdisc(reply.ifindex);
                g_assert_cmpstr(q, !=, "noqueue");
                delete_ok(&h, "macvtap5", NH_LINK_MACVTAP);
                close(fd);
        }

        /* passthrough: the lower device to itself, with the guest's MAC. */
        orig_lower = lookup("vbeth2");
        req = macvtap_request("macvtap3", "vbeth2", NH_MACVTAP_MODE_PASSTHROUGH, 0x13);
        reply = call_ok(&h, &req, fds[3], NH_QUEUES_MAX, &n_fds[3]);
        assert_macvtap("macvtap3", &reply, "vbeth2", MACVLAN_MODE_PASSTHRU, "52:54:00:00:77:13");
        assert_macvtap_fd(fds[3][0], "macvtap3", reply.ifindex, true, false);
        {
                NetdevLink l = lookup("vbeth2");
                g_assert_cmpstr(ether_addr_format(&l.mac, s), ==, "52:54:00:00:77:13");
        }
        assert_frame_arrives("vbeth3", "macvtap3", fds[3][0]);

        /* One guest per lower device in passthrough mode, either way round. */
        req = macvtap_request("macvtap4", "vbeth2", NH_MACVTAP_MODE_PASSTHROUGH, 0x14);
        call_fails(&h, &req, EBUSY, "lower device vbeth2 is already used by macvtap3 in passthrough mode");
        req = macvtap_request("macvtap4", "vbeth2", NH_MACVTAP_MODE_BRIDGE, 0x14);
        call_fails(&h, &req, EBUSY, "lower device vbeth2 is already used by macvtap3 in passthrough mode");
        req = macvtap_request("macvtap4", "vbeth0", NH_MACVTAP_MODE_PASSTHROUGH, 0x14);
        call_fails(&h, &req, EBUSY, "passthrough mode needs it to itself");

        /* Names, lower devices, values. */
        req = macvtap_request("mvtap4", "vbeth0", NH_MACVTAP_MODE_BRIDGE, 0x14);
        call_fails(&h, &req, EPERM, "macvtap name mvtap4 does not start with \"macvtap\"");
        req = macvtap_request("macvtap0", "vbeth0", NH_MACVTAP_MODE_BRIDGE, 0x14);
        call_fails(&h, &req, EEXIST, "link macvtap0 already exists");
        not_allowed = g_strdup_printf("lower device vbeth1 is not allowed by %s", h.acl);
        req = macvtap_request("macvtap4", "vbeth1", NH_MACVTAP_MODE_BRIDGE, 0x14);
        call_fails(&h, &req, EPERM, not_allowed);
        req = macvtap_request("macvtap4", "nosuchdev", NH_MACVTAP_MODE_BRIDGE, 0x14);
        call_fails(&h, &req, ENODEV, "lower device nosuchdev does not exist");
        req = macvtap_request("macvtap4", "lo", NH_MACVTAP_MODE_BRIDGE, 0x14);
        call_fails(&h, &req, EPERM, "lower device lo is not an Ethernet device");
        req = macvtap_request("macvtap4", "macvtap0", NH_MACVTAP_MODE_BRIDGE, 0x14);
        call_fails(&h, &req, EPERM, "lower device macvtap0 is itself a macvtap");
        req = macvtap_request("macvtap4", "vbeth0", NH_MACVTAP_MODE_BRIDGE, 0x14);
        req.macvtap_create.mtu = 9000;
        call_fails(&h, &req, EINVAL, "MTU 9000 of macvtap4 exceeds the MTU 1500 of lower device vbeth0");
        req = macvtap_request("macvtap4", "vbeth0", NH_MACVTAP_MODE_BRIDGE, 0x10);
        call_fails(&h, &req, EADDRINUSE,
                   "MAC 52:54:00:00:77:10 is already used by macvtap0 on lower device vbeth0");
        req = macvtap_request("macvtap4", "vbeth0", NH_MACVTAP_MODE_BRIDGE, 0x14);
        memcpy(req.macvtap_create.mac, lookup("vbeth0").mac.bytes, 6);
        call_fails(&h, &req, EADDRINUSE, "is the address of lower device vbeth0 itself");

        /* virtbus' own devices are never lower devices, whatever the ACL says; an admin's bridge
         * is one like any other. */
        write_acl(&h, "allow all\n");
        req = bridge_request("vbtest0");
        call_ok(&h, &req, NULL, 0, NULL);
        req = macvtap_request("macvtap4", "vbtest0", NH_MACVTAP_MODE_BRIDGE, 0x14);
        call_fails(&h, &req, EPERM, "lower device vbtest0 is a bridge virtbus manages for a network");
        {
                int tapfd;
                size_t n = 0;

                req = tap_request("vnet0", NULL, 1);
                call_ok(&h, &req, &tapfd, 1, &n);
                req = macvtap_request("macvtap4", "vnet0", NH_MACVTAP_MODE_BRIDGE, 0x14);
                call_fails(&h, &req, EPERM, "lower device vnet0 is a tap");
                close(tapfd);
                assert_link_vanishes("vnet0");
        }
        create_foreign_bridge("foreignbr");
        g_assert_cmpint(netdev_link_set_up(lookup("foreignbr").ifindex), ==, 0);
        {
                int fd;
                size_t n = 0;

                req = macvtap_request("macvtap4", "foreignbr", NH_MACVTAP_MODE_BRIDGE, 0x14);
                reply = call_ok(&h, &req, &fd, 1, &n);
                assert_macvtap("macvtap4", &reply, "foreignbr", MACVLAN_MODE_BRIDGE, "52:54:00:00:77:14");
                delete_ok(&h, "macvtap4", NH_LINK_MACVTAP);
                close(fd);
        }
        write_acl(&h, "allow vbeth*\ndeny vbeth1\n");
        denied = g_strdup_printf("lower device vbeth1 is denied by %s", h.acl);
        req = macvtap_request("macvtap4", "vbeth1", NH_MACVTAP_MODE_BRIDGE, 0x14);
        call_fails(&h, &req, EPERM, denied);
        write_acl(&h, "allow vbeth0\nbogus\n");
        broken = g_strdup_printf("ACL not usable: %s:2: unknown directive 'bogus'", h.acl);
        req = macvtap_request("macvtap4", "vbeth0", NH_MACVTAP_MODE_BRIDGE, 0x14);
        call_fails(&h, &req, EPERM, broken);
        g_assert_false(netdev_link_exists("macvtap4"));

        /* Deletion: name prefix and kind must match; fds may still be open. */
        req = delete_request("macvtap0", NH_LINK_TAP);
        call_fails(&h, &req, EPERM, "macvtap0 is not a virtbus tap");
        req = delete_request("vbeth0", NH_LINK_MACVTAP);
        call_fails(&h, &req, EPERM, "vbeth0 is not a virtbus macvtap");
        delete_ok(&h, "macvtap0", NH_LINK_MACVTAP);
        delete_ok(&h, "macvtap1", NH_LINK_MACVTAP);
        delete_ok(&h, "macvtap2", NH_LINK_MACVTAP);
        delete_ok(&h, "macvtap3", NH_LINK_MACVTAP);
        req = delete_request("macvtap3", NH_LINK_MACVTAP);
        call_fails(&h, &req, ENODEV, "link macvtap3 does not exist");
        /* The kernel gave the passthrough lower device its own MAC back. */
        g_assert_cmpmem(lookup("vbeth2").mac.bytes, 6, orig_lower.mac.bytes, 6);
        for (size_t i = 0; i < G_N_ELEMENTS(fds); i++)
                for (size_t j = 0; j < n_fds[i]; j++)
                        close(fds[i][j]);

        delete_ok(&h, "vbtest0", NH_LINK_BRIDGE);
        helper_stop(&h);
        g_assert_cmpint(netdev_link_delete(lookup("foreignbr").ifindex), ==, 0);
        g_assert_cmpint(netdev_link_delete(lookup("vbeth0").ifindex), ==, 0);
        g_assert_cmpint(netdev_link_delete(lookup("vbeth2").ifindex), ==, 0);
        assert_no_links_left();
}

/* A /dev of the helper's own: an empty tmpfs (no udev, no devtmpfs), or one where /dev/tapN and
 * /dev/vhost-net are all /dev/null's device number (as when another namespace's macvtap has
 * the same ifindex). Runs in the helper's child: only the helper sees it. */
static void private_dev(bool decoys) {
        if (unshare(CLONE_NEWNS) < 0 || mount("tmpfs", "/dev", "tmpfs", MS_NOSUID, "mode=0755") < 0)
                _exit(126);
        if (!decoys)
                return;
        for (int i = 1; i <= 64; i++) {
                char path[32];

                snprintf(path, sizeof path, "/dev/tap%d", i);
                if (mknod(path, S_IFCHR | 0600, makedev(1, 3)) < 0)
                        _exit(126);
        }
        if (mknod(NETDEV_VHOST_NET_PATH, S_IFCHR | 0600, makedev(1, 3)) < 0)
                _exit(126);
}

static void empty_dev(void) {
        private_dev(false);
}

static void decoy_dev(void) {
        private_dev(true);
}

/* Failures after the macvtap exists undo it; a wrong device is never handed out. */
static void test_macvtap_device_node(void) {
        Helper h = {};
        NhRequest req, vhost = { .verb = NH_VERB_VHOST_OPEN, .vhost_open.queues = 1 };
        gint64 start;

        create_veth("vbeth0", "vbeth1");

        helper_child_setup = empty_dev;
        helper_start(&h, "allow vbeth0\n");
        helper_child_setup = NULL;
        req = macvtap_request("macvtap0", "vbeth0", NH_MACVTAP_MODE_BRIDGE, 0x20);
        start = g_get_monotonic_time();
        call_fails(&h, &req, ENOENT, "did not appear (and the helper lacks CAP_MKNOD to create it)");
        g_assert_cmpint(g_get_monotonic_time() - start, >=, G_USEC_PER_SEC); /* it waited */
        g_assert_false(netdev_link_exists("macvtap0"));
        call_fails(&h, &vhost, ENOENT, NETDEV_VHOST_NET_PATH " is not available");
        helper_stop(&h);

        helper_child_setup = decoy_dev;
        helper_start(&h, "allow vbeth0\n");
        helper_child_setup = NULL;
        req = macvtap_request("macvtap0", "vbeth0", NH_MACVTAP_MODE_BRIDGE, 0x20);
        req.macvtap_create.queues = 3;
        call_fails(&h, &req, EEXIST, "is not the character device");
        g_assert_false(netdev_link_exists("macvtap0"));
        call_fails(&h, &vhost, EPERM, NETDEV_VHOST_NET_PATH " is not the vhost-net character device");
        helper_stop(&h);

        g_assert_cmpint(netdev_link_delete(lookup("vbeth0").ifindex), ==, 0);
        assert_no_links_left();
}

/* This machine has no vhost-net: the refusal is tested for real there, the fds where it exists.
 * (The daemon's command-line tests cover how the fds are used.) */
static pid_t spawn_sleeper(uid_t uid) {
        pid_t pid = fork();

        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                if (uid != getuid() && setresuid(uid, uid, uid) < 0)
                        _exit(1);
                pause();
                _exit(0);
        }
        return pid;
}

static void reap(pid_t pid) {
        g_assert_cmpint(kill(pid, SIGKILL), ==, 0);
        g_assert_cmpint(waitpid(pid, NULL, 0), ==, pid);
}

/* SCOPE_CREATE moves only the caller's own children running as the caller's user. The systemd
 * side is proven by tests/systemd-host; here the bus is absent on purpose. */
static void test_scope_refusals(void) {
        NhRequest req = { .verb = NH_VERB_SCOPE_CREATE };
        Helper h = {};
        pid_t child, other;
        char text[128];

        g_setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/system_bus_socket", TRUE);
        helper_start(&h, "");
        strcpy(req.scope_create.unit, "virtbus-qemu-1-test.scope");

        /* not our child: our parent */
        req.scope_create.pid = getppid();
        snprintf(text, sizeof text, "process %d is not a child of the caller", (int) getppid());
        call_fails(&h, &req, EPERM, text);
        /* no such process */
        req.scope_create.pid = 0x7ffffff0;
        call_fails(&h, &req, ESRCH, "process 2147483632 does not exist");
        /* our child, but running as another user */
        other = spawn_sleeper(65534);
        req.scope_create.pid = other;
        for (int i = 0; i < 200; i++) { /* until the child has dropped to uid 65534 */
                g_autofree char *status = NULL, *path = g_strdup_printf("/proc/%d/status", (int) other);

                g_assert_true(g_file_get_contents(path, &status, NULL, NULL));
                if (strstr(status, "\nUid:\t65534"))
                        break;
                g_usleep(10000);
        }
        call_fails(&h, &req, EPERM, "does not run as the caller's user 0");
        reap(other);
        /* our child as our user: the checks pass and the helper goes to the bus, which is not there */
        child = spawn_sleeper(getuid());
        req.scope_create.pid = child;
        call_fails(&h, &req, ENOENT, "cannot connect to the system bus to create scope virtbus-qemu-1-test.scope");
        reap(child);
        helper_stop(&h);
        g_unsetenv("DBUS_SYSTEM_BUS_ADDRESS");
}

static void test_vhost(void) {
        Helper h = {};
        NhRequest req = { .verb = NH_VERB_VHOST_OPEN, .vhost_open.queues = 2 };
        uint8_t buf[NH_MESSAGE_MAX];
        NhReply reply;
        int fd, len;

        helper_start(&h, "");
        if (access(NETDEV_VHOST_NET_PATH, F_OK) == 0) {
                int fds[NH_QUEUES_MAX];
                size_t n_fds = 0;
                struct stat st;

                reply = call_ok(&h, &req, fds, G_N_ELEMENTS(fds), &n_fds);
                g_assert_cmpuint(n_fds, ==, 2);
                g_assert_cmpuint(reply.ifindex, ==, 0);
                for (size_t i = 0; i < n_fds; i++) {
                        g_assert_cmpint(fstat(fds[i], &st), ==, 0);
                        g_assert_true(S_ISCHR(st.st_mode));
                        g_assert_cmpuint(major(st.st_rdev), ==, 10);
                        g_assert_cmpuint(minor(st.st_rdev), ==, 238);
                        close(fds[i]);
                }
        } else {
                g_test_message(NETDEV_VHOST_NET_PATH " is absent: testing the refusal");
                call_fails(&h, &req, ENOENT, NETDEV_VHOST_NET_PATH " is not available");
        }

        /* Out of range: refused before anything is opened. */
        fd = raw_connect(&h);
        req.vhost_open.queues = NH_QUEUES_MAX + 1;
        len = nh_request_encode(&req, buf, sizeof buf);
        reply = raw_exchange(fd, buf, len, NULL, 0, NULL, NULL);
        g_assert_cmpuint(reply.error, ==, EINVAL);
        g_assert_nonnull(strstr(reply.message, "attribute 9 (QUEUES) value 9 out of range 1..8"));
        close(fd);
        helper_stop(&h);
}

static void test_idle_exit(void) {
        Helper h = {};
        int status, fd;
        gint64 start;

        helper_start(&h, "");
        /* An open connection keeps it alive past the timeout... */
        fd = raw_connect(&h);
        g_usleep(3 * G_USEC_PER_SEC);
        g_assert_cmpint(wait_exit(h.pid, 0), ==, -1);
        /* ... and once it is gone the helper exits by itself, cleanly. */
        close(fd);
        start = g_get_monotonic_time();
        status = wait_exit(h.pid, 10000);
        g_assert_cmpint(status, !=, -1);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
        g_assert_cmpint(g_get_monotonic_time() - start, >=, 1 * G_USEC_PER_SEC);
        h.pid = 0;
        helper_stop(&h);

        /* --idle-timeout 0: never. */
        helper_start_full(&h, "", "0", NULL, NULL);
        g_usleep(2500 * 1000);
        g_assert_cmpint(wait_exit(h.pid, 0), ==, -1);
        helper_stop(&h);
}

/* Like systemd: the listening socket arrives as fd 3 with LISTEN_FDS/LISTEN_PID. */
static pid_t start_activated(const Helper *h, int type) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        const char *exe = g_getenv("VIRTBUS_NETHELPER");
        int fd;
        pid_t pid;

        fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
        g_assert_cmpint(fd, >=, 0);
        g_strlcpy(sa.sun_path, h->socket, sizeof sa.sun_path);
        g_assert_cmpint(bind(fd, (struct sockaddr *) &sa, sizeof sa), ==, 0);
        g_assert_cmpint(listen(fd, 8), ==, 0);

        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                char pidstr[32];
                char *argv[] = { (char *) exe, "--acl", h->acl, "--idle-timeout", "2", NULL };

                /* dup2() clears FD_CLOEXEC, except when fd already is 3 */
                if (fd == 3 ? fcntl(fd, F_SETFD, 0) < 0 : dup2(fd, 3) < 0)
                        _exit(126);
                snprintf(pidstr, sizeof pidstr, "%d", (int) getpid());
                setenv("LISTEN_FDS", "1", 1);
                setenv("LISTEN_PID", pidstr, 1);
                helper_exec(argv);
        }
        close(fd);
        return pid;
}

static void test_socket_activation(void) {
        Helper h = {};
        NhRequest req;
        int status;

        helper_prepare(&h, "");
        h.pid = start_activated(&h, SOCK_SEQPACKET);
        req = delete_request("vnet8", NH_LINK_TAP);
        call_fails(&h, &req, ENODEV, "link vnet8 does not exist");
        helper_stop(&h);

        /* A stream socket is not ours to serve. */
        helper_prepare(&h, "");
        h.pid = start_activated(&h, SOCK_STREAM);
        status = wait_exit(h.pid, 5000);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), !=, 0);
        h.pid = 0;
        helper_stop(&h);

        /* Neither --socket nor a passed socket. */
        pid_t pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                char *argv[] = { (char *) g_getenv("VIRTBUS_NETHELPER"), NULL };
                unsetenv("LISTEN_FDS");
                helper_exec(argv);
        }
        status = wait_exit(pid, 5000);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 1);
}

static void test_capabilities(void) {
        Helper h = {};
        g_autofree char *path = NULL, *status = NULL;
        g_autoptr(GError) error = NULL;

        helper_start(&h, "");
        path = g_strdup_printf("/proc/%d/status", (int) h.pid);
        g_file_get_contents(path, &status, NULL, &error);
        g_assert_no_error(error);
        /* CAP_NET_ADMIN is bit 12. */
        g_assert_nonnull(strstr(status, "CapPrm:\t0000000000001000\n"));
        g_assert_nonnull(strstr(status, "CapEff:\t0000000000001000\n"));
        g_assert_nonnull(strstr(status, "CapBnd:\t0000000000001000\n"));
        g_assert_nonnull(strstr(status, "CapInh:\t0000000000000000\n"));
        g_assert_nonnull(strstr(status, "CapAmb:\t0000000000000000\n"));
        g_assert_nonnull(strstr(status, "NoNewPrivs:\t1\n"));
        helper_stop(&h);
}

static void test_cli(void) {
        const char *exe = g_getenv("VIRTBUS_NETHELPER");
        g_autofree char *out = NULL;
        int status;
        g_autoptr(GError) error = NULL;
        const char *bad[][3] = {
                { "--idle-timeout", "-1", NULL }, { "--idle-timeout", "x", NULL },
                { "--allow-uid", "abc", NULL },   { "--log-level", "loud", NULL },
                { "--socket", "relative", NULL }, { "--socket-mode", "999", NULL },
                { "--bogus", NULL, NULL },        { "extra-argument", NULL, NULL },
        };

        g_spawn_sync(NULL, (char *[]) { (char *) exe, "--help", NULL }, NULL, 0, NULL, NULL, &out, NULL,
                     &status, &error);
        g_assert_no_error(error);
        g_assert_true(g_spawn_check_wait_status(status, NULL));
        g_assert_nonnull(strstr(out, "--idle-timeout"));
        g_clear_pointer(&out, g_free);
        g_spawn_sync(NULL, (char *[]) { (char *) exe, "--version", NULL }, NULL, 0, NULL, NULL, &out, NULL,
                     &status, &error);
        g_assert_no_error(error);
        g_assert_true(g_str_has_prefix(out, "virtbus-nethelper "));

        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                char *argv[] = { (char *) exe, (char *) bad[i][0], (char *) bad[i][1], NULL };

                g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status,
                             &error);
                g_assert_no_error(error);
                g_assert_true(WIFEXITED(status));
                g_assert_cmpint(WEXITSTATUS(status), ==, 1);
        }
}

static void test_needs_root(void) {
        g_test_skip("needs root and unshare(CLONE_NEWNET); CI runs as root");
}

int main(int argc, char *argv[]) {
        int lo;

        g_test_init(&argc, &argv, NULL);

        if (geteuid() != 0) {
                g_test_add_func("/nethelper/needs-root", test_needs_root);
                return g_test_run();
        }
        /* Everything below, helper included, lives in a network namespace of its own, with a sysfs
         * that shows it (sysfs shows the namespace it was mounted in). */
        if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
                g_error("unshare(CLONE_NEWNET|CLONE_NEWNS) failed: %s", g_strerror(errno));
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                g_error("mounting a private sysfs failed: %s", g_strerror(errno));
        lo = if_nametoindex("lo");
        g_assert_cmpint(lo, >, 0);
        g_assert_cmpint(netdev_link_set_up(lo), ==, 0);
        assert_no_links_left();

        g_test_add_func("/nethelper/cli", test_cli);
        g_test_add_func("/nethelper/capabilities", test_capabilities);
        g_test_add_func("/nethelper/bridge", test_bridge);
        g_test_add_func("/nethelper/tap", test_tap);
        g_test_add_func("/nethelper/foreign-bridge", test_foreign_bridge);
        g_test_add_func("/nethelper/unprivileged-lookups", test_unprivileged_lookups);
        g_test_add_func("/nethelper/peer-uid", test_peer_uid);
        g_test_add_func("/nethelper/malformed", test_malformed);
        g_test_add_func("/nethelper/tap-noqueue", test_tap_noqueue);
        g_test_add_func("/nethelper/macvtap", test_macvtap);
        g_test_add_func("/nethelper/macvtap-device-node", test_macvtap_device_node);
        g_test_add_func("/nethelper/vhost", test_vhost);
        g_test_add_func("/nethelper/scope-refusals", test_scope_refusals);
        g_test_add_func("/nethelper/socket-activation", test_socket_activation);
        g_test_add_func("/nethelper/idle-exit", test_idle_exit);

        return g_test_run();
}
