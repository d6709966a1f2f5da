/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* QoS through the real helper (VIRTBUS_NETHELPER) in a private network namespace: every QOS_* verb,
 * followed each time by a dump of qdiscs, classes and filters through netdev.h, compared with the
 * tree qos-plan.h says the request stands for. Then real frames through a bridge prove that the
 * u32 MAC hash table sends each destination MAC, whatever its ethertype, into its own class.
 * Needs root; never touches the host's network namespace. */

#include <arpa/inet.h>
#include <glib.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <grp.h>
#include <linux/if_packet.h>
#include <linux/pkt_cls.h>
#include <linux/tc_act/tc_mirred.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>
#include <netlink/route/link/veth.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "netdev.h"
#include "protocol.h"
#include "qos-plan.h"

typedef struct Helper {
        pid_t pid;
        char *dir;
        char *socket;
        char *acl;
} Helper;

static uint32_t next_seq = 1;
static unsigned caps; /* what the probe found, for the plans */

/* Helper process */

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

static void helper_start(Helper *h, const char *acl) {
        const char *exe = g_getenv("VIRTBUS_NETHELPER");
        g_autoptr(GError) error = NULL;

        g_assert_nonnull(exe);
        h->dir = g_dir_make_tmp("test-qos-XXXXXX", &error);
        g_assert_no_error(error);
        h->socket = g_build_filename(h->dir, "nethelper.sock", NULL);
        h->acl = g_build_filename(h->dir, "nethelper.conf", NULL);
        g_file_set_contents(h->acl, acl, -1, &error);
        g_assert_no_error(error);

        h->pid = fork();
        g_assert_cmpint(h->pid, >=, 0);
        if (h->pid == 0) {
                char *argv[] = {
                        (char *) exe, "--socket", h->socket, "--acl", h->acl, "--idle-timeout", "0",
                        "--log-level", "debug", NULL,
                };
                /* A failed assertion ends the test without helper_stop(): take the helper along. */
                (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
                execv(argv[0], argv);
                _exit(127);
        }
        for (int i = 0; i < 250 && !can_connect(h->socket); i++)
                g_usleep(20 * 1000);
        g_assert_true(can_connect(h->socket));
}

static void helper_stop(Helper *h) {
        int status;

        g_assert_cmpint(kill(h->pid, SIGTERM), ==, 0);
        g_assert_cmpint(waitpid(h->pid, &status, 0), ==, h->pid);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
        g_unlink(h->socket);
        g_unlink(h->acl);
        g_rmdir(h->dir);
        g_free(h->socket);
        g_free(h->acl);
        g_free(h->dir);
        *h = (Helper) {};
}

static NhReply call_ok(const Helper *h, NhRequest *req, int *fds, size_t max_fds) {
        NhReply reply;
        size_t n_fds = 0;

        req->seq = next_seq++;
        g_assert_cmpint(nh_call(h->socket, req, 10000, &reply, fds, max_fds, &n_fds), ==, 0);
        if (reply.error != 0)
                g_error("%s failed: %s (%s)", nh_verb_to_string(req->verb), reply.message,
                        g_strerror(reply.error));
        return reply;
}

static void call_fails(const Helper *h, NhRequest *req, int error, const char *needle) {
        NhReply reply;

        req->seq = next_seq++;
        g_assert_cmpint(nh_call(h->socket, req, 10000, &reply, NULL, 0, NULL), ==, 0);
        if ((int) reply.error != error || !strstr(reply.message, needle))
                g_error("%s: got %d \"%s\", expected %d (%s) containing \"%s\"",
                        nh_verb_to_string(req->verb), reply.error, reply.message, error, g_strerror(error),
                        needle);
}

/* Every plan below is made for what the kernel offers (the probe test checks the probe itself). */
static void learn_caps(const Helper *h) {
        NhRequest req = { .verb = NH_VERB_QOS_PROBE };
        NhReply reply = call_ok(h, &req, NULL, 0);

        g_assert_true(reply.has_qos_caps);
        caps = reply.qos_caps;
}

/* Links */

static NetdevLink lookup(const char *name) {
        NetdevLink l;
        int r = netdev_link_lookup(name, &l);

        if (r < 0)
                g_error("lookup of %s failed: %s", name, g_strerror(-r));
        return l;
}

static void assert_no_links_left(void) {
        struct if_nameindex *l = if_nameindex();

        g_assert_nonnull(l);
        for (struct if_nameindex *i = l; i->if_index; i++)
                if (!g_str_equal(i->if_name, "lo"))
                        g_error("link %s left behind", i->if_name);
        if_freenameindex(l);
}

static void assert_link_vanishes(const char *name) {
        for (int i = 0; i < 100 && netdev_link_exists(name); i++)
                g_usleep(20 * 1000);
        g_assert_false(netdev_link_exists(name));
}

static void create_veth(const char *name, const char *peer) {
        struct nl_sock *sk = nl_socket_alloc();

        g_assert_nonnull(sk);
        g_assert_cmpint(nl_connect(sk, NETLINK_ROUTE), ==, 0);
        g_assert_cmpint(rtnl_link_veth_add(sk, name, peer, getpid()), ==, 0);
        nl_socket_free(sk);
        g_assert_cmpint(netdev_link_set_up(lookup(name).ifindex), ==, 0);
        g_assert_cmpint(netdev_link_set_up(lookup(peer).ifindex), ==, 0);
}

static void create_foreign_bridge(const char *name) {
        struct nl_sock *sk = nl_socket_alloc();

        g_assert_nonnull(sk);
        g_assert_cmpint(nl_connect(sk, NETLINK_ROUTE), ==, 0);
        g_assert_cmpint(rtnl_link_bridge_add(sk, name), ==, 0);
        nl_socket_free(sk);
}

static void delete_link(const char *name) {
        g_assert_cmpint(netdev_link_delete(lookup(name).ifindex), ==, 0);
        assert_link_vanishes(name);
}

static int tap_create(const Helper *h, const char *name, const char *bridge) {
        NhRequest req = { .verb = NH_VERB_TAP_CREATE };
        int fd = -1;

        g_strlcpy(req.tap_create.ifname, name, sizeof req.tap_create.ifname);
        g_strlcpy(req.tap_create.bridge, bridge ? bridge : "", sizeof req.tap_create.bridge);
        req.tap_create.queues = 1;
        req.tap_create.noqueue = true;
        call_ok(h, &req, &fd, 1);
        g_assert_cmpint(fd, >=, 0);
        return fd;
}

static void bridge_create(const Helper *h, const char *name) {
        NhRequest req = { .verb = NH_VERB_BRIDGE_CREATE };

        g_strlcpy(req.bridge_create.ifname, name, sizeof req.bridge_create.ifname);
        call_ok(h, &req, NULL, 0);
}

static void link_delete(const Helper *h, const char *name, NhLinkKind kind) {
        NhRequest req = { .verb = NH_VERB_LINK_DELETE };

        g_strlcpy(req.link_delete.ifname, name, sizeof req.link_delete.ifname);
        req.link_delete.kind = kind;
        call_ok(h, &req, NULL, 0);
        assert_link_vanishes(name);
}

static char *ifb_of(const char *dev) {
        char name[IFNAMSIZ];

        g_assert_cmpint(qos_ifb_name(lookup(dev).ifindex, name), ==, 0);
        return g_strdup(name);
}

/* Dumps and the expected tree */

typedef struct Tree {
        NetdevQdisc *qdiscs;
        size_t n_qdiscs;
        NetdevClass *classes;
        size_t n_classes;
        NetdevFilter *root_filters;
        size_t n_root_filters;
        NetdevFilter *ingress_filters;
        size_t n_ingress_filters;
} Tree;

static void tree_done(Tree *t) {
        free(t->qdiscs);
        free(t->classes);
        free(t->root_filters);
        free(t->ingress_filters);
        *t = (Tree) {};
}

static Tree dump(const char *name) {
        int ifindex = lookup(name).ifindex;
        Tree t = {};

        g_assert_cmpint(netdev_qdisc_list(ifindex, &t.qdiscs, &t.n_qdiscs), ==, 0);
        g_assert_cmpint(netdev_class_list(ifindex, &t.classes, &t.n_classes), ==, 0);
        g_assert_cmpint(netdev_filter_list(ifindex, QOS_ROOT_QDISC, &t.root_filters, &t.n_root_filters), ==,
                        0);
        g_assert_cmpint(netdev_filter_list(ifindex, QOS_INGRESS_QDISC, &t.ingress_filters,
                                           &t.n_ingress_filters),
                        ==, 0);
        return t;
}

static const NetdevQdisc *find_qdisc(const Tree *t, uint32_t parent) {
        for (size_t i = 0; i < t->n_qdiscs; i++)
                if (t->qdiscs[i].parent == parent)
                        return &t->qdiscs[i];
        return NULL;
}

static const NetdevClass *find_class(const Tree *t, uint32_t handle) {
        for (size_t i = 0; i < t->n_classes; i++)
                if (t->classes[i].handle == handle)
                        return &t->classes[i];
        return NULL;
}

static const NetdevFilter *find_filter(const NetdevFilter *f, size_t n, uint32_t handle) {
        for (size_t i = 0; i < n; i++)
                if (f[i].handle == handle)
                        return &f[i];
        return NULL;
}

static void assert_root_qdisc(const Tree *t, const char *kind) {
        const NetdevQdisc *q = find_qdisc(t, QOS_TC_H_ROOT);

        if (!kind) {
                /* the device's default: noqueue (asked for) or nothing reported */
                g_assert_true(!q || g_str_equal(q->kind, "noqueue"));
                return;
        }
        g_assert_nonnull(q);
        g_assert_cmpstr(q->kind, ==, kind);
}

static void assert_htb_root(const Tree *t, uint32_t defcls) {
        const NetdevQdisc *q = find_qdisc(t, QOS_TC_H_ROOT);

        g_assert_nonnull(q);
        g_assert_cmpstr(q->kind, ==, "htb");
        g_assert_cmphex(q->handle, ==, QOS_ROOT_QDISC);
        g_assert_cmpuint(q->htb_defcls, ==, defcls);
        g_assert_cmpuint(q->htb_r2q, ==, QOS_R2Q);
}

static void assert_leaf(const Tree *t, uint32_t parent, uint32_t handle, QosLeaf leaf) {
        const NetdevQdisc *q = find_qdisc(t, parent);

        if (!q)
                g_error("no leaf qdisc under %x", parent);
        g_assert_cmphex(q->handle, ==, handle);
        g_assert_cmpstr(q->kind, ==, qos_leaf_to_string(leaf));
        if (leaf == QOS_LEAF_PFIFO)
                g_assert_cmpuint(q->limit, ==, QOS_LEAF_FIFO_LIMIT);
        else
                g_assert_cmpuint(q->sfq_perturb, ==, QOS_SFQ_PERTURB);
}

static void assert_class(const Tree *t, uint32_t handle, uint32_t parent, const QosHtbParams *p) {
        const NetdevClass *c = find_class(t, handle);

        if (!c)
                g_error("no class %x:%x", QOS_HANDLE_MAJ(handle), QOS_HANDLE_MIN(handle));
        g_assert_cmpstr(c->kind, ==, "htb");
        g_assert_cmphex(c->parent, ==, parent);
        g_assert_cmpuint(c->htb.rate, ==, p->rate);
        g_assert_cmpuint(c->htb.ceil, ==, p->ceil);
        if (!qos_burst_equal(c->htb.burst, p->burst, p->rate))
                g_error("class %x: burst %" G_GUINT64_FORMAT ", expected %" G_GUINT64_FORMAT, handle,
                        c->htb.burst, p->burst);
        if (!qos_burst_equal(c->htb.cburst, p->cburst, p->ceil))
                g_error("class %x: cburst %" G_GUINT64_FORMAT ", expected %" G_GUINT64_FORMAT, handle,
                        c->htb.cburst, p->cburst);
        /* HTB sets quantum and prio of leaf classes only: an inner class (1:1 once it has children)
         * keeps what it had when it was created, and has no use for them. */
        if (c->htb_level == 0) {
                g_assert_cmpuint(c->htb.quantum, ==, p->quantum);
                g_assert_cmpuint(c->htb.prio, ==, p->prio);
        }
}

static size_t count_kind(const Tree *t, const char *kind) {
        size_t n = 0;

        for (size_t i = 0; i < t->n_qdiscs; i++)
                n += g_str_equal(t->qdiscs[i].kind, kind);
        return n;
}

/* The ingress side: qdisc, the match-all filter 800::1 and its action. */
static void assert_ingress(const Tree *t, NetdevActionKind kind, int mirred_ifindex) {
        const NetdevQdisc *q = find_qdisc(t, QOS_TC_H_INGRESS);
        const NetdevFilter *f;

        if (kind == NETDEV_ACTION_NONE) {
                g_assert_null(q);
                g_assert_cmpuint(t->n_ingress_filters, ==, 0);
                return;
        }
        g_assert_nonnull(q);
        g_assert_cmpstr(q->kind, ==, "ingress");
        g_assert_cmphex(q->handle, ==, QOS_INGRESS_QDISC);
        /* the classifier itself, the root table 800:, and our node */
        g_assert_cmpuint(t->n_ingress_filters, ==, 3);
        f = find_filter(t->ingress_filters, t->n_ingress_filters, QOS_U32_HANDLE(0x800, 0, 1));
        g_assert_nonnull(f);
        g_assert_cmpstr(f->kind, ==, "u32");
        g_assert_cmpuint(f->prio, ==, QOS_INGRESS_FILTER_PRIO);
        g_assert_cmphex(f->protocol, ==, ETH_P_ALL);
        g_assert_true(f->u32.terminal);
        g_assert_cmphex(f->u32.classid, ==, QOS_INGRESS_FLOWID);
        g_assert_cmpuint(f->u32.n_keys, ==, 1);
        g_assert_cmphex(f->u32.keys[0].mask, ==, 0); /* match u32 0 0 */
        g_assert_cmpint(f->u32.action.kind, ==, kind);
        if (kind == NETDEV_ACTION_MIRRED) {
                g_assert_cmpint(f->u32.action.mirred_ifindex, ==, mirred_ifindex);
                g_assert_cmpint(f->u32.action.mirred_eaction, ==, TCA_EGRESS_REDIR);
                g_assert_cmpint(f->u32.action.verdict, ==, TC_ACT_STOLEN);
        }
}

/* A device shaped as "htb 1: default 1", 1:1 with p, leaf 2:. */
static void assert_device_tree(const char *name, const QosHtbParams *p, QosLeaf leaf) {
        Tree t = dump(name);

        assert_htb_root(&t, QOS_DEVICE_DEFCLS);
        g_assert_cmpuint(t.n_classes, ==, 1);
        assert_class(&t, QOS_ROOT_CLASS, QOS_TC_H_ROOT, p);
        assert_leaf(&t, QOS_ROOT_CLASS, QOS_LEAF_QDISC, leaf);
        g_assert_cmpuint(t.n_root_filters, ==, 0);
        tree_done(&t);
}

static void assert_ifb(const char *dev, const QosHtbParams *p, QosLeaf leaf) {
        g_autofree char *name = ifb_of(dev);
        NetdevLink l = lookup(name);

        g_assert_cmpstr(l.kind, ==, "ifb");
        g_assert_true(l.up);
        g_assert_cmpstr(l.alias, ==, NETDEV_VIRTBUS_ALIAS);
        assert_device_tree(name, p, leaf);
}

static void assert_no_qos(const char *name) {
        g_autofree char *ifb = ifb_of(name);
        Tree t = dump(name);

        assert_root_qdisc(&t, NULL);
        g_assert_cmpuint(count_kind(&t, "htb"), ==, 0);
        g_assert_cmpuint(t.n_classes, ==, 0);
        g_assert_cmpuint(t.n_root_filters, ==, 0);
        assert_ingress(&t, NETDEV_ACTION_NONE, 0);
        g_assert_false(netdev_link_exists(ifb));
        tree_done(&t);
}

/* Requests from plans */

static NhRequest apply_request(const char *ifname, const QosDevicePlan *p) {
        NhRequest req = { .verb = NH_VERB_QOS_APPLY_INTERFACE };
        NhQosApplyInterface *a = &req.qos_apply;

        g_strlcpy(a->ifname, ifname, sizeof a->ifname);
        a->leaf = p->leaf;
        a->has_shape = p->egress;
        a->shape = p->egress_class;
        a->has_police = p->ingress.mode == QOS_INGRESS_POLICE;
        a->police = p->ingress.police;
        a->has_ifb = p->ingress.mode == QOS_INGRESS_IFB;
        a->ifb = p->ingress.ifb_class;
        return req;
}

static QosDevicePlan device_plan(const Bandwidth *bw, QosDevice device) {
        g_autofree char *error = NULL;
        QosDevicePlan p;

        if (qos_plan_device(bw, device, caps, &p, &error) < 0)
                g_error("plan: %s", error);
        return p;
}

static NhRequest bridge_request(const char *ifname, const QosBridgePlan *p) {
        NhRequest req = { .verb = NH_VERB_QOS_BRIDGE_SETUP };
        NhQosBridgeSetup *b = &req.qos_bridge;

        g_strlcpy(b->ifname, ifname, sizeof b->ifname);
        b->leaf = p->leaf;
        b->has_hierarchy = p->hierarchy;
        b->root = p->root_class;
        b->def = p->default_class;
        b->has_police = p->ingress.mode == QOS_INGRESS_POLICE;
        b->police = p->ingress.police;
        b->has_ifb = p->ingress.mode == QOS_INGRESS_IFB;
        b->ifb = p->ingress.ifb_class;
        return req;
}

static QosBridgePlan bridge_plan(const Bandwidth *net, uint64_t floor_sum) {
        g_autofree char *error = NULL;
        QosBridgePlan p;

        if (qos_plan_bridge(net, floor_sum, caps, &p, &error) < 0)
                g_error("plan: %s", error);
        return p;
}

static NhRequest simple_request(NhVerb verb, const char *ifname) {
        NhRequest req = { .verb = verb };

        g_strlcpy(req.qos_clear.ifname, ifname, sizeof req.qos_clear.ifname);
        return req;
}

static BandwidthRate rate(uint64_t average, uint64_t peak, uint64_t burst, uint64_t floor) {
        return (BandwidthRate) {
                .set = true, .average = average, .peak = peak, .burst = burst, .floor = floor,
        };
}

/* The probe, checked against the kernel itself. */

/* /proc/config.gz, uncompressed; NULL when the kernel does not offer it. */
static char *read_kernel_config(void) {
        g_autoptr(GFile) file = g_file_new_for_path("/proc/config.gz");
        g_autoptr(GFileInputStream) in = g_file_read(file, NULL, NULL);
        g_autoptr(GZlibDecompressor) z = NULL;
        g_autoptr(GInputStream) cin = NULL;
        g_autoptr(GOutputStream) out = NULL;

        if (!in)
                return NULL;
        z = g_zlib_decompressor_new(G_ZLIB_COMPRESSOR_FORMAT_GZIP);
        cin = g_converter_input_stream_new(G_INPUT_STREAM(in), G_CONVERTER(z));
        out = g_memory_output_stream_new_resizable();
        if (g_output_stream_splice(out, cin, G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE, NULL, NULL) < 0 ||
            !g_output_stream_write_all(out, "", 1, NULL, NULL, NULL) ||
            !g_output_stream_close(out, NULL, NULL))
                return NULL;
        return g_memory_output_stream_steal_data(G_MEMORY_OUTPUT_STREAM(out));
}

/* 'y', 'm' or 0 ("is not set", or not mentioned) for CONFIG_name. */
static char kernel_config(const char *config, const char *name) {
        g_autofree char *want = g_strdup_printf("\nCONFIG_%s=", name);
        const char *p = strstr(config, want);

        return p ? p[strlen(want)] : 0;
}

static void test_probe(void) {
        static const struct {
                unsigned cap;
                const char *config;
        } features[] = {
                { QOS_CAP_HTB, "NET_SCH_HTB" },   { QOS_CAP_SFQ, "NET_SCH_SFQ" },
                { QOS_CAP_INGRESS, "NET_SCH_INGRESS" }, { QOS_CAP_U32, "NET_CLS_U32" },
                { QOS_CAP_MIRRED, "NET_ACT_MIRRED" },   { QOS_CAP_POLICE, "NET_ACT_POLICE" },
                { QOS_CAP_IFB, "IFB" },
        };
        NhRequest req = { .verb = NH_VERB_QOS_PROBE };
        g_autofree char *config = NULL;
        char s[QOS_CAPS_STR_MAX];
        NhReply reply;
        Helper h = {};
        unsigned direct = 0;
        int ifindex, r;

        helper_start(&h, "");
        reply = call_ok(&h, &req, NULL, 0);
        g_assert_true(reply.has_qos_caps);
        caps = reply.qos_caps;
        g_test_message("QoS features found by the probe: %s", qos_caps_format(caps, s));
        g_assert_false(netdev_link_exists(QOS_PROBE_IFNAME));
        /* Probing again gives the same answer. */
        g_assert_cmpuint(call_ok(&h, &req, NULL, 0).qos_caps, ==, caps);

        /* virtbus' QoS needs these everywhere. */
        g_assert_cmpuint(caps & (QOS_CAP_HTB | QOS_CAP_INGRESS | QOS_CAP_U32), ==,
                         QOS_CAP_HTB | QOS_CAP_INGRESS | QOS_CAP_U32);

        /* The same objects tried directly on a veth of our own. */
        create_veth("vbq0", "vbq1");
        ifindex = lookup("vbq0").ifindex;
        if (netdev_qdisc_add_htb(ifindex, QOS_TC_H_ROOT, QOS_ROOT_QDISC, 1, QOS_R2Q) >= 0)
                direct |= QOS_CAP_HTB;
        if (netdev_qdisc_add_sfq(ifindex, QOS_TC_H_ROOT, QOS_ROOT_QDISC, QOS_SFQ_PERTURB) >= 0)
                direct |= QOS_CAP_SFQ;
        if (netdev_qdisc_add_ingress(ifindex) >= 0) {
                NetdevU32 u = { .terminal = true, .classid = 1 };

                direct |= QOS_CAP_INGRESS;
                if (netdev_u32_add(ifindex, QOS_INGRESS_QDISC, 1, ETH_P_ALL, 0, &u, true) >= 0)
                        direct |= QOS_CAP_U32;
                u.action = (NetdevAction) { .kind = NETDEV_ACTION_MIRRED, .mirred_ifindex = ifindex };
                if (netdev_u32_add(ifindex, QOS_INGRESS_QDISC, 2, ETH_P_ALL, 0, &u, true) >= 0)
                        direct |= QOS_CAP_MIRRED;
                u.action = (NetdevAction) {
                        .kind = NETDEV_ACTION_POLICE,
                        .police = { .rate = 1000000, .burst = 100000, .mtu = QOS_POLICE_MTU },
                };
                r = netdev_u32_add(ifindex, QOS_INGRESS_QDISC, 3, ETH_P_ALL, 0, &u, true);
                if (r >= 0)
                        direct |= QOS_CAP_POLICE;
                else
                        g_test_message("police refused: %s (%s)", g_strerror(-r), netdev_tc_error());
        }
        if (netdev_ifb_create("vbqifb") >= 0) {
                direct |= QOS_CAP_IFB;
                delete_link("vbqifb");
        }
        delete_link("vbq0");
        g_assert_cmpuint(caps, ==, direct);

        /* And against the kernel's configuration, where it says: built in, or not there at all. */
        config = read_kernel_config();
        for (size_t i = 0; config && i < G_N_ELEMENTS(features); i++) {
                char v = kernel_config(config, features[i].config);

                if (v == 'y')
                        g_assert_cmpuint(caps & features[i].cap, !=, 0);
                else if (v == 0)
                        g_assert_cmpuint(caps & features[i].cap, ==, 0);
        }
        g_test_message("kernel configuration %s", config ? "checked" : "not available");

        /* The plan this machine gets. */
        g_test_message("leaf qdisc: %s, ingress: %s", qos_leaf_to_string(qos_leaf_for(caps)),
                       qos_ingress_mode_for(caps) == QOS_INGRESS_POLICE ? "police"
                       : qos_ingress_mode_for(caps) == QOS_INGRESS_IFB  ? "ifb"
                                                                        : "none");
        g_assert_cmpint(qos_leaf_for(caps), ==, caps & QOS_CAP_SFQ ? QOS_LEAF_SFQ : QOS_LEAF_PFIFO);
        g_assert_cmpint(qos_ingress_mode_for(caps), !=, QOS_INGRESS_NONE);

        helper_stop(&h);
        assert_no_links_left();
}

/* Taps */

static void test_interface(void) {
        Bandwidth bw = { .inbound = rate(1000, 2000, 256, 0), .outbound = rate(500, 0, 0, 0) };
        QosDevicePlan p;
        g_autofree char *ifb = NULL;
        NhRequest req;
        NhReply reply;
        Helper h = {};
        int fd, ifb_index;
        Tree t;

        helper_start(&h, "");
        learn_caps(&h);
        p = device_plan(&bw, QOS_DEVICE_TAP);
        fd = tap_create(&h, "vnet0", NULL);
        ifb = ifb_of("vnet0");
        assert_no_qos("vnet0");

        /* Both directions: egress HTB replaces noqueue, ingress redirected to the IFB. */
        req = apply_request("vnet0", &p);
        reply = call_ok(&h, &req, NULL, 0);
        g_assert_cmpint(reply.ifindex, ==, lookup("vnet0").ifindex);
        assert_device_tree("vnet0", &p.egress_class, p.leaf);
        t = dump("vnet0");
        if (p.ingress.mode == QOS_INGRESS_IFB) {
                ifb_index = lookup(ifb).ifindex;
                assert_ingress(&t, NETDEV_ACTION_MIRRED, ifb_index);
                assert_ifb("vnet0", &p.ingress.ifb_class, p.leaf);
        } else {
                ifb_index = 0;
                assert_ingress(&t, NETDEV_ACTION_POLICE, 0);
                g_assert_false(netdev_link_exists(ifb));
        }
        tree_done(&t);

        /* The same request again changes nothing. */
        call_ok(&h, &req, NULL, 0);
        assert_device_tree("vnet0", &p.egress_class, p.leaf);
        if (ifb_index > 0)
                g_assert_cmpint(lookup(ifb).ifindex, ==, ifb_index);

        /* New rates: the same objects, changed in place (the IFB is not re-created). */
        bw = (Bandwidth) { .inbound = rate(3000, 0, 0, 0), .outbound = rate(700, 0, 100, 0) };
        p = device_plan(&bw, QOS_DEVICE_TAP);
        req = apply_request("vnet0", &p);
        call_ok(&h, &req, NULL, 0);
        assert_device_tree("vnet0", &p.egress_class, p.leaf);
        if (ifb_index > 0) {
                g_assert_cmpint(lookup(ifb).ifindex, ==, ifb_index);
                assert_ifb("vnet0", &p.ingress.ifb_class, p.leaf);
        }

        /* Inbound only: the ingress side and the IFB go. */
        bw = (Bandwidth) { .inbound = rate(3000, 0, 0, 0) };
        p = device_plan(&bw, QOS_DEVICE_TAP);
        req = apply_request("vnet0", &p);
        call_ok(&h, &req, NULL, 0);
        assert_device_tree("vnet0", &p.egress_class, p.leaf);
        t = dump("vnet0");
        assert_ingress(&t, NETDEV_ACTION_NONE, 0);
        tree_done(&t);
        g_assert_false(netdev_link_exists(ifb));

        /* Outbound only: noqueue comes back at the root. */
        bw = (Bandwidth) { .outbound = rate(900, 0, 0, 0) };
        p = device_plan(&bw, QOS_DEVICE_TAP);
        req = apply_request("vnet0", &p);
        reply = call_ok(&h, &req, NULL, 0);
        g_assert_true(reply.has_noqueue_applied);
        g_assert_true(reply.noqueue_applied);
        t = dump("vnet0");
        assert_root_qdisc(&t, "noqueue");
        g_assert_cmpuint(t.n_classes, ==, 0);
        assert_ingress(&t, p.ingress.mode == QOS_INGRESS_IFB ? NETDEV_ACTION_MIRRED : NETDEV_ACTION_POLICE,
                       p.ingress.mode == QOS_INGRESS_IFB ? lookup(ifb).ifindex : 0);
        tree_done(&t);

        /* Cleared: as created. */
        req = simple_request(NH_VERB_QOS_CLEAR_INTERFACE, "vnet0");
        call_ok(&h, &req, NULL, 0);
        assert_no_qos("vnet0");
        /* Clearing what is clear is fine. */
        call_ok(&h, &req, NULL, 0);

        /* What the kernel lacks fails, and leaves nothing behind. */
        bw = (Bandwidth) { .inbound = rate(1000, 0, 0, 0), .outbound = rate(1000, 0, 0, 0) };
        p = device_plan(&bw, QOS_DEVICE_TAP);
        if (!(caps & QOS_CAP_SFQ)) {
                req = apply_request("vnet0", &p);
                req.qos_apply.leaf = QOS_LEAF_SFQ;
                call_fails(&h, &req, ENOENT, "failed to add sfq qdisc 2: to class 1:1 of vnet0");
                assert_no_qos("vnet0");
        }
        if (!(caps & QOS_CAP_POLICE)) {
                QosDevicePlan police = p;

                police.ingress.mode = QOS_INGRESS_POLICE;
                police.ingress.police = (QosPoliceParams) {
                        .rate = 1000000,
                        .burst = 1024000,
                        .mtu = 65536,
                };
                req = apply_request("vnet0", &police);
                call_fails(&h, &req, ENOENT, "failed to add the policing filter to the ingress of vnet0");
                assert_no_qos("vnet0");
        }

        /* Deleting the tap takes its IFB along. */
        req = apply_request("vnet0", &p);
        call_ok(&h, &req, NULL, 0);
        link_delete(&h, "vnet0", NH_LINK_TAP);
        close(fd);
        g_assert_false(netdev_link_exists(ifb));

        helper_stop(&h);
        assert_no_links_left();
}

static void test_interface_refusals(void) {
        Bandwidth bw = { .inbound = rate(1000, 0, 0, 0), .outbound = rate(1000, 0, 0, 0) };
        QosDevicePlan p;
        g_autofree char *ifb = NULL;
        NhRequest req;
        Helper h = {};
        int fd;

        helper_start(&h, "");
        learn_caps(&h);
        p = device_plan(&bw, QOS_DEVICE_TAP);
        create_veth("vnetx", "macvtapx");

        req = apply_request("eth0", &p);
        call_fails(&h, &req, EPERM, "eth0 is not a virtbus tap or macvtap");
        req = apply_request("vnet9", &p);
        call_fails(&h, &req, ENODEV, "link vnet9 does not exist");
        req = apply_request("vnetx", &p);
        call_fails(&h, &req, EPERM, "link vnetx is not a tap (kind veth)");
        req = apply_request("macvtapx", &p);
        call_fails(&h, &req, EPERM, "link macvtapx is not a macvtap (kind veth)");
        req = simple_request(NH_VERB_QOS_CLEAR_INTERFACE, "vnetx");
        call_fails(&h, &req, EPERM, "is not a tap");
        assert_no_qos("vnetx");

        /* A link that merely carries the IFB's name is never used (nor deleted). */
        fd = tap_create(&h, "vnet0", NULL);
        ifb = ifb_of("vnet0");
        create_veth(ifb, "vbpeer");
        if (p.ingress.mode == QOS_INGRESS_IFB) {
                req = apply_request("vnet0", &p);
                call_fails(&h, &req, EEXIST, "is not an IFB of virtbus (kind veth)");
                Tree t = dump("vnet0");

                assert_root_qdisc(&t, NULL);
                g_assert_cmpuint(t.n_classes, ==, 0);
                assert_ingress(&t, NETDEV_ACTION_NONE, 0);
                tree_done(&t);
        }
        req = simple_request(NH_VERB_QOS_CLEAR_INTERFACE, "vnet0");
        call_fails(&h, &req, EEXIST, "is not an IFB of virtbus");
        g_assert_true(netdev_link_exists(ifb));
        /* nor deleted through LINK_DELETE */
        {
                NhRequest del = { .verb = NH_VERB_LINK_DELETE, .link_delete.kind = NH_LINK_IFB };

                g_strlcpy(del.link_delete.ifname, ifb, sizeof del.link_delete.ifname);
                call_fails(&h, &del, EPERM, "is not a IFB (kind veth)");
                g_strlcpy(del.link_delete.ifname, "vnet0", sizeof del.link_delete.ifname);
                call_fails(&h, &del, EPERM, "vnet0 is not a virtbus IFB");
        }
        delete_link(ifb);

        link_delete(&h, "vnet0", NH_LINK_TAP);
        close(fd);
        delete_link("vnetx");
        helper_stop(&h);
        assert_no_links_left();
}

static void test_macvtap(void) {
        /* A macvtap's egress carries what the guest sends: outbound shapes there. */
        Bandwidth bw = { .inbound = rate(1000, 0, 128, 0), .outbound = rate(3000, 6000, 0, 0) };
        QosDevicePlan p;
        NhRequest req = { .verb = NH_VERB_MACVTAP_CREATE };
        NhMacvtapCreate *m = &req.macvtap_create;
        g_autofree char *ifb = NULL;
        Helper h = {};
        int fd = -1;
        Tree t;

        helper_start(&h, "allow vbeth*\n");
        learn_caps(&h);
        p = device_plan(&bw, QOS_DEVICE_MACVTAP);
        g_assert_cmpuint(p.egress_class.rate, ==, 3000000);
        create_veth("vbeth0", "vbeth1");
        g_strlcpy(m->ifname, "macvtap0", sizeof m->ifname);
        g_strlcpy(m->lower, "vbeth0", sizeof m->lower);
        m->mode = NH_MACVTAP_MODE_BRIDGE;
        memcpy(m->mac, (uint8_t[]) { 0x52, 0x54, 0x00, 0x00, 0x88, 0x01 }, 6);
        m->queues = 1;
        m->noqueue = true;
        call_ok(&h, &req, &fd, 1);
        ifb = ifb_of("macvtap0");

        req = apply_request("macvtap0", &p);
        call_ok(&h, &req, NULL, 0);
        assert_device_tree("macvtap0", &p.egress_class, p.leaf);
        t = dump("macvtap0");
        if (p.ingress.mode == QOS_INGRESS_IFB) {
                assert_ingress(&t, NETDEV_ACTION_MIRRED, lookup(ifb).ifindex);
                g_assert_cmpuint(p.ingress.ifb_class.rate, ==, 1000000);
                assert_ifb("macvtap0", &p.ingress.ifb_class, p.leaf);
        } else
                assert_ingress(&t, NETDEV_ACTION_POLICE, 0);
        tree_done(&t);

        req = simple_request(NH_VERB_QOS_CLEAR_INTERFACE, "macvtap0");
        call_ok(&h, &req, NULL, 0);
        assert_no_qos("macvtap0");

        req = apply_request("macvtap0", &p);
        call_ok(&h, &req, NULL, 0);
        link_delete(&h, "macvtap0", NH_LINK_MACVTAP);
        close(fd);
        g_assert_false(netdev_link_exists(ifb));
        delete_link("vbeth0");
        helper_stop(&h);
        assert_no_links_left();
}

/* Bridges */

static NhRequest floor_add_request(const char *bridge, uint16_t class_id, const QosFloorPlan *f,
                                   QosLeaf leaf, const QosHtbParams *def) {
        NhRequest req = { .verb = NH_VERB_QOS_FLOOR_ADD };
        NhQosFloor *x = &req.qos_floor;

        g_strlcpy(x->ifname, bridge, sizeof x->ifname);
        x->class_id = class_id;
        x->leaf = leaf;
        x->shape = f->class_params;
        memcpy(x->mac, f->mac.bytes, 6);
        x->has_default = def != NULL;
        if (def)
                x->def = *def;
        return req;
}

static NhRequest floor_remove_request(const char *bridge, uint16_t class_id, const QosHtbParams *def) {
        NhRequest req = { .verb = NH_VERB_QOS_FLOOR_REMOVE };

        g_strlcpy(req.qos_floor.ifname, bridge, sizeof req.qos_floor.ifname);
        req.qos_floor.class_id = class_id;
        req.qos_floor.has_default = def != NULL;
        if (def)
                req.qos_floor.def = *def;
        return req;
}

typedef struct Floor {
        uint16_t class_id;
        EtherAddr mac;
        uint64_t floor;
        uint32_t handle; /* the filter's, once known */
} Floor;

/* The bridge's tree: hierarchy, the MAC table and exactly these floors. */
static void assert_bridge_tree(const char *name, const QosBridgePlan *p, const Floor *floors, size_t n) {
        Tree t = dump(name);
        const NetdevFilter *f;
        size_t nodes = 0;

        assert_htb_root(&t, QOS_BRIDGE_DEFCLS);
        assert_class(&t, QOS_ROOT_CLASS, QOS_TC_H_ROOT, &p->root_class);
        assert_class(&t, QOS_DEFAULT_CLASS, QOS_ROOT_CLASS, &p->default_class);
        assert_leaf(&t, QOS_DEFAULT_CLASS, QOS_LEAF_QDISC, p->leaf);
        g_assert_cmpuint(t.n_classes, ==, 2 + n);

        /* The classifier instance, the root table, the MAC table, the hashing node. */
        f = find_filter(t.root_filters, t.n_root_filters, QOS_U32_HANDLE(0x800, 0, 0));
        g_assert_nonnull(f);
        g_assert_cmpuint(f->u32.divisor, ==, 1);
        f = find_filter(t.root_filters, t.n_root_filters, QOS_MAC_TABLE);
        g_assert_nonnull(f);
        g_assert_cmpuint(f->u32.divisor, ==, QOS_MAC_TABLE_BUCKETS);
        f = find_filter(t.root_filters, t.n_root_filters, QOS_U32_HANDLE(0x800, 0, QOS_MAC_LINK_NODE));
        g_assert_nonnull(f);
        g_assert_cmphex(f->u32.link, ==, QOS_MAC_TABLE);
        g_assert_cmphex(f->u32.hmask, ==, QOS_MAC_HASH_MASK);
        g_assert_cmpint(f->u32.hoff, ==, QOS_MAC_HASH_OFFSET);
        g_assert_cmpuint(f->u32.n_keys, ==, 1);
        g_assert_cmphex(f->u32.keys[0].mask, ==, 0);
        g_assert_cmphex(f->u32.classid, ==, 0);
        for (size_t i = 0; i < t.n_root_filters; i++) {
                g_assert_cmpstr(t.root_filters[i].kind, ==, "u32");
                g_assert_cmpuint(t.root_filters[i].prio, ==, QOS_FLOOR_FILTER_PRIO);
                g_assert_cmphex(t.root_filters[i].protocol, ==, ETH_P_ALL);
                nodes += QOS_U32_HTID(t.root_filters[i].handle) == QOS_MAC_TABLE_HTID &&
                         QOS_U32_NODE(t.root_filters[i].handle) != 0;
        }
        /* 0, 800:, 1:, 800::1, and one node per floor */
        g_assert_cmpuint(t.n_root_filters, ==, 4 + n);
        g_assert_cmpuint(nodes, ==, n);

        for (size_t i = 0; i < n; i++) {
                const NetdevFilter *node = NULL;
                QosU32Key keys[QOS_MAC_KEYS];

                for (size_t j = 0; j < t.n_root_filters; j++)
                        if (t.root_filters[j].u32.classid == QOS_FLOOR_CLASS(floors[i].class_id)) {
                                g_assert_null(node); /* exactly one filter per class */
                                node = &t.root_filters[j];
                        }
                if (!node)
                        g_error("no filter for class 1:%x", floors[i].class_id);
                /* in the bucket of its MAC's last byte, matching the whole MAC */
                g_assert_cmpuint(QOS_U32_HTID(node->handle), ==, QOS_MAC_TABLE_HTID);
                g_assert_cmpuint(QOS_U32_BUCKET(node->handle), ==, floors[i].mac.bytes[5]);
                g_assert_cmphex(node->u32.hash, ==, qos_mac_bucket_table(floors[i].mac.bytes));
                g_assert_true(node->u32.terminal);
                g_assert_cmpuint(node->u32.n_keys, ==, QOS_MAC_KEYS);
                qos_mac_keys(floors[i].mac.bytes, keys);
                g_assert_cmpmem(node->u32.keys, sizeof keys, keys, sizeof keys);
                if (floors[i].handle != 0)
                        g_assert_cmphex(node->handle, ==, floors[i].handle);

                g_assert_nonnull(find_class(&t, QOS_FLOOR_CLASS(floors[i].class_id)));
                g_assert_cmphex(find_class(&t, QOS_FLOOR_CLASS(floors[i].class_id))->parent, ==,
                                QOS_ROOT_CLASS);
                g_assert_cmpuint(find_class(&t, QOS_FLOOR_CLASS(floors[i].class_id))->htb.rate, ==,
                                 qos_rate_bytes(floors[i].floor));
                assert_leaf(&t, QOS_FLOOR_CLASS(floors[i].class_id), QOS_FLOOR_LEAF(floors[i].class_id),
                            p->leaf);
        }
        tree_done(&t);
}

/* The daemon reconciles with dumps it makes as an unprivileged user: they must show the same. */
static void assert_dump_unprivileged(const char *name) {
        Tree t = dump(name);
        pid_t pid;
        int status;

        pid = fork();
        g_assert_cmpint(pid, >=, 0);
        if (pid == 0) {
                Tree u = {};
                int ifindex = lookup(name).ifindex;

                if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
                    setresuid(65534, 65534, 65534) < 0)
                        _exit(99);
                if (netdev_qdisc_list(ifindex, &u.qdiscs, &u.n_qdiscs) < 0 ||
                    netdev_class_list(ifindex, &u.classes, &u.n_classes) < 0 ||
                    netdev_filter_list(ifindex, QOS_ROOT_QDISC, &u.root_filters, &u.n_root_filters) < 0 ||
                    netdev_filter_list(ifindex, QOS_INGRESS_QDISC, &u.ingress_filters,
                                       &u.n_ingress_filters) < 0)
                        _exit(1);
                if (u.n_qdiscs != t.n_qdiscs || u.n_classes != t.n_classes ||
                    u.n_root_filters != t.n_root_filters || u.n_ingress_filters != t.n_ingress_filters)
                        _exit(2);
                for (size_t i = 0; i < t.n_root_filters; i++)
                        if (memcmp(&u.root_filters[i].u32, &t.root_filters[i].u32, sizeof(NetdevU32)) != 0)
                                _exit(3);
                for (size_t i = 0; i < t.n_classes; i++)
                        if (memcmp(&u.classes[i].htb, &t.classes[i].htb, sizeof(QosHtbParams)) != 0)
                                _exit(4);
                _exit(0);
        }
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
        tree_done(&t);
}

static QosFloorPlan floor_plan(const Bandwidth *net, Floor *f) {
        BandwidthRate in = rate(0, 0, 0, f->floor);
        QosFloorPlan p;

        g_assert_cmpint(qos_plan_floor(&net->inbound, &in, f->class_id, &f->mac, &p), ==, 0);
        return p;
}

static uint64_t floor_sum(const Floor *floors, size_t n) {
        uint64_t s = 0;

        for (size_t i = 0; i < n; i++)
                s += floors[i].floor;
        return s;
}

static uint32_t filter_handle_of(const char *bridge, uint16_t class_id) {
        Tree t = dump(bridge);
        uint32_t h = 0;

        for (size_t i = 0; i < t.n_root_filters; i++)
                if (t.root_filters[i].u32.classid == QOS_FLOOR_CLASS(class_id))
                        h = t.root_filters[i].handle;
        tree_done(&t);
        return h;
}

static void test_bridge(void) {
        Bandwidth net = { .inbound = rate(1000, 5000, 1024, 0), .outbound = rate(800, 0, 0, 0) };
        QosBridgePlan p;
        /* Two MACs share their last byte: one bucket, two nodes. */
        Floor floors[] = {
                { .class_id = 3, .mac = { { 0x52, 0x54, 0x00, 0x11, 0x22, 0xe5 } }, .floor = 200 },
                { .class_id = 4, .mac = { { 0x52, 0x54, 0x00, 0x33, 0x44, 0xe5 } }, .floor = 300 },
                { .class_id = 0x105, .mac = { { 0x52, 0x54, 0x00, 0x55, 0x66, 0x07 } }, .floor = 100 },
        };
        g_autofree char *ifb = NULL;
        QosHtbParams def;
        QosFloorPlan fp;
        NhRequest req;
        Helper h = {};
        Tree t;

        helper_start(&h, "");
        learn_caps(&h);
        p = bridge_plan(&net, 0);
        bridge_create(&h, "vbbr0");
        ifb = ifb_of("vbbr0");

        req = bridge_request("vbbr0", &p);
        call_ok(&h, &req, NULL, 0);
        assert_bridge_tree("vbbr0", &p, NULL, 0);
        t = dump("vbbr0");
        assert_ingress(&t, p.ingress.mode == QOS_INGRESS_IFB ? NETDEV_ACTION_MIRRED : NETDEV_ACTION_POLICE,
                       p.ingress.mode == QOS_INGRESS_IFB ? lookup(ifb).ifindex : 0);
        tree_done(&t);
        if (p.ingress.mode == QOS_INGRESS_IFB)
                assert_ifb("vbbr0", &p.ingress.ifb_class, p.leaf);

        /* Plug three floors; 1:2 follows the sum. */
        for (size_t i = 0; i < G_N_ELEMENTS(floors); i++) {
                fp = floor_plan(&net, &floors[i]);
                qos_plan_default_class(&net.inbound, floor_sum(floors, i + 1), &def);
                req = floor_add_request("vbbr0", floors[i].class_id, &fp, p.leaf, &def);
                call_ok(&h, &req, NULL, 0);
                p = bridge_plan(&net, floor_sum(floors, i + 1));
                assert_bridge_tree("vbbr0", &p, floors, i + 1);
        }
        g_assert_cmphex(filter_handle_of("vbbr0", 3), ==, QOS_U32_HANDLE(1, 0xe5, 1));
        g_assert_cmphex(filter_handle_of("vbbr0", 4), ==, QOS_U32_HANDLE(1, 0xe5, 2));
        g_assert_cmphex(filter_handle_of("vbbr0", 0x105), ==, QOS_U32_HANDLE(1, 0x07, 1));
        g_assert_cmpuint(p.default_class.rate, ==, 400000);
        {
                Tree c = dump("vbbr0");

                /* class and leaf handles in tc's hex: 1:105 and 105: */
                g_assert_nonnull(find_class(&c, 0x00010105));
                g_assert_cmphex(find_qdisc(&c, 0x00010105)->handle, ==, 0x01050000);
                tree_done(&c);
        }
        for (size_t i = 0; i < G_N_ELEMENTS(floors); i++)
                floors[i].handle = filter_handle_of("vbbr0", floors[i].class_id);
        assert_dump_unprivileged("vbbr0");
        if (p.ingress.mode == QOS_INGRESS_IFB)
                assert_dump_unprivileged(ifb);

        /* Repeating a plug (as after a crash) duplicates nothing. */
        fp = floor_plan(&net, &floors[1]);
        req = floor_add_request("vbbr0", floors[1].class_id, &fp, p.leaf, &p.default_class);
        call_ok(&h, &req, NULL, 0);
        assert_bridge_tree("vbbr0", &p, floors, G_N_ELEMENTS(floors));

        /* Another class for a MAC that already has one: refused, nothing changes. */
        {
                Floor dup = { .class_id = 6, .mac = floors[0].mac, .floor = 10 };

                fp = floor_plan(&net, &dup);
                req = floor_add_request("vbbr0", 6, &fp, p.leaf, NULL);
                call_fails(&h, &req, EEXIST,
                           "frames to 52:54:00:11:22:e5 already go to class 1:3 on bridge vbbr0");
                assert_bridge_tree("vbbr0", &p, floors, G_N_ELEMENTS(floors));
        }

        /* A MAC change moves the filter to the new MAC's bucket. */
        floors[1].mac.bytes[5] = 0x42;
        floors[1].handle = 0;
        fp = floor_plan(&net, &floors[1]);
        req = floor_add_request("vbbr0", floors[1].class_id, &fp, p.leaf, NULL);
        call_ok(&h, &req, NULL, 0);
        assert_bridge_tree("vbbr0", &p, floors, G_N_ELEMENTS(floors));
        g_assert_cmphex(filter_handle_of("vbbr0", 4), ==, QOS_U32_HANDLE(1, 0x42, 1));

        /* The same bridge set up again (new network rates): classes change, floors stay. */
        net.inbound = rate(2000, 0, 0, 0);
        p = bridge_plan(&net, floor_sum(floors, G_N_ELEMENTS(floors)));
        req = bridge_request("vbbr0", &p);
        call_ok(&h, &req, NULL, 0);
        assert_bridge_tree("vbbr0", &p, floors, G_N_ELEMENTS(floors));

        /* Unplug: filter, leaf, class gone; 1:2 back up. Twice is fine. */
        p = bridge_plan(&net, floor_sum(floors + 1, 2));
        req = floor_remove_request("vbbr0", 3, &p.default_class);
        call_ok(&h, &req, NULL, 0);
        assert_bridge_tree("vbbr0", &p, floors + 1, 2);
        call_ok(&h, &req, NULL, 0);
        assert_bridge_tree("vbbr0", &p, floors + 1, 2);

        /* The default class on its own. */
        p.default_class.rate = 123000;
        req = (NhRequest) { .verb = NH_VERB_QOS_DEFAULT_RATE };
        g_strlcpy(req.qos_floor.ifname, "vbbr0", sizeof req.qos_floor.ifname);
        req.qos_floor.has_default = true;
        req.qos_floor.def = p.default_class;
        call_ok(&h, &req, NULL, 0);
        assert_bridge_tree("vbbr0", &p, floors + 1, 2);

        /* Torn down: the bridge's defaults, no IFB. */
        req = simple_request(NH_VERB_QOS_BRIDGE_TEARDOWN, "vbbr0");
        call_ok(&h, &req, NULL, 0);
        assert_no_qos("vbbr0");
        call_ok(&h, &req, NULL, 0);
        /* Unplugging what went with the bridge's hierarchy is fine (a daemon recovering does that). */
        req = floor_remove_request("vbbr0", 4, NULL);
        call_ok(&h, &req, NULL, 0);
        assert_no_qos("vbbr0");

        /* Floors need the hierarchy. */
        fp = floor_plan(&net, &floors[0]);
        req = floor_add_request("vbbr0", 3, &fp, p.leaf, NULL);
        call_fails(&h, &req, ENOENT, "bridge vbbr0 has no QoS hierarchy");
        req = (NhRequest) { .verb = NH_VERB_QOS_DEFAULT_RATE };
        g_strlcpy(req.qos_floor.ifname, "vbbr0", sizeof req.qos_floor.ifname);
        req.qos_floor.has_default = true;
        req.qos_floor.def = p.default_class;
        call_fails(&h, &req, ENOENT, "bridge vbbr0 has no default class 1:2");
        assert_no_qos("vbbr0");

        /* Outbound only: no hierarchy, but the ingress side. */
        net = (Bandwidth) { .outbound = rate(800, 0, 0, 0) };
        p = bridge_plan(&net, 0);
        req = bridge_request("vbbr0", &p);
        call_ok(&h, &req, NULL, 0);
        t = dump("vbbr0");
        assert_root_qdisc(&t, NULL);
        g_assert_cmpuint(t.n_classes, ==, 0);
        g_assert_nonnull(find_qdisc(&t, QOS_TC_H_INGRESS));
        tree_done(&t);

        link_delete(&h, "vbbr0", NH_LINK_BRIDGE);
        g_assert_false(netdev_link_exists(ifb));
        helper_stop(&h);
        assert_no_links_left();
}

static void test_bridge_refusals(void) {
        Bandwidth net = { .inbound = rate(1000, 0, 0, 0) };
        QosBridgePlan p;
        NhRequest req;
        Helper h = {};

        helper_start(&h, "allow vbok*\ndeny vbno*\n");
        learn_caps(&h);
        p = bridge_plan(&net, 0);
        create_foreign_bridge("vbforeign");
        create_foreign_bridge("vbok0");
        create_foreign_bridge("vbno0");
        create_veth("vbveth0", "vbveth1");

        req = bridge_request("vbforeign", &p);
        call_fails(&h, &req, EPERM, "bridge vbforeign is not allowed by");
        req = bridge_request("vbno0", &p);
        call_fails(&h, &req, EPERM, "bridge vbno0 is denied by");
        req = bridge_request("vbveth0", &p);
        call_fails(&h, &req, EPERM, "vbveth0 is not a bridge");
        req = bridge_request("vbnone", &p);
        call_fails(&h, &req, ENODEV, "bridge vbnone does not exist");
        req = simple_request(NH_VERB_QOS_BRIDGE_TEARDOWN, "vbforeign");
        call_fails(&h, &req, EPERM, "is not allowed");
        req = floor_remove_request("vbno0", 3, NULL);
        call_fails(&h, &req, EPERM, "denied");
        assert_no_qos("vbforeign");

        /* The admin's bridge, allowed by the ACL. */
        req = bridge_request("vbok0", &p);
        call_ok(&h, &req, NULL, 0);
        assert_bridge_tree("vbok0", &p, NULL, 0);
        req = simple_request(NH_VERB_QOS_BRIDGE_TEARDOWN, "vbok0");
        call_ok(&h, &req, NULL, 0);
        assert_no_qos("vbok0");

        /* Floor on the bridge's own hash table gone missing: refused, nothing created. */
        req = bridge_request("vbok0", &p);
        call_ok(&h, &req, NULL, 0);
        g_assert_cmpint(netdev_filter_delete(lookup("vbok0").ifindex, QOS_ROOT_QDISC, QOS_FLOOR_FILTER_PRIO,
                                             ETH_P_ALL, "u32", 0),
                        ==, 0);
        {
                Floor f = { .class_id = 3, .mac = { { 0x52, 0x54, 0x00, 1, 2, 3 } }, .floor = 100 };
                QosFloorPlan fp = floor_plan(&net, &f);
                Tree t;

                req = floor_add_request("vbok0", 3, &fp, p.leaf, NULL);
                call_fails(&h, &req, ENOENT, "bridge vbok0 has no u32 MAC table 1:");
                t = dump("vbok0");
                g_assert_null(find_class(&t, QOS_FLOOR_CLASS(3)));
                tree_done(&t);
                /* setting the bridge up again repairs it */
                req = bridge_request("vbok0", &p);
                call_ok(&h, &req, NULL, 0);
                assert_bridge_tree("vbok0", &p, NULL, 0);
                /* Also a hashing node that hashes on something else, with a floor in the table
                 * (deleting the last node of a u32 instance would take the table along). */
                {
                        int ifindex = lookup("vbok0").ifindex;
                        NetdevU32 u = { .divisor = QOS_MAC_TABLE_BUCKETS };

                        g_assert_cmpint(netdev_filter_delete(ifindex, QOS_ROOT_QDISC, QOS_FLOOR_FILTER_PRIO,
                                                             ETH_P_ALL, "u32", 0),
                                        ==, 0);
                        g_assert_cmpint(netdev_u32_add(ifindex, QOS_ROOT_QDISC, QOS_FLOOR_FILTER_PRIO,
                                                       ETH_P_ALL, QOS_MAC_TABLE, &u, true),
                                        ==, 0);
                        u = (NetdevU32) { .link = QOS_MAC_TABLE, .hmask = 0xff00, .hoff = -12 };
                        g_assert_cmpint(netdev_u32_add(ifindex, QOS_ROOT_QDISC, QOS_FLOOR_FILTER_PRIO,
                                                       ETH_P_ALL, QOS_U32_HANDLE(0x800, 0, 1), &u, true),
                                        ==, 0);
                        req = floor_add_request("vbok0", 3, &fp, p.leaf, NULL);
                        call_ok(&h, &req, NULL, 0);
                        req = bridge_request("vbok0", &p);
                        call_ok(&h, &req, NULL, 0);
                        assert_bridge_tree("vbok0", &p, &f, 1);
                        req = floor_remove_request("vbok0", 3, NULL);
                        call_ok(&h, &req, NULL, 0);
                        assert_bridge_tree("vbok0", &p, NULL, 0);
                }
                req = floor_add_request("vbok0", 3, &fp, p.leaf, NULL);
                call_ok(&h, &req, NULL, 0);
                assert_bridge_tree("vbok0", &p, &f, 1);
        }

        delete_link("vbforeign");
        delete_link("vbok0");
        delete_link("vbno0");
        delete_link("vbveth0");
        helper_stop(&h);
        assert_no_links_left();
}

/* The helper keeps a copy of a bridge's floor filters between requests, current through the
 * kernel's notifications: changes made behind its back must count as if it had dumped the filters. */

static void add_foreign_node(const char *bridge, uint32_t handle, const EtherAddr *mac, uint16_t class_id) {
        NetdevU32 u = {
                .hash = qos_mac_bucket_table(mac->bytes),
                .terminal = true,
                .classid = QOS_FLOOR_CLASS(class_id),
                .n_keys = QOS_MAC_KEYS,
        };

        qos_mac_keys(mac->bytes, u.keys);
        g_assert_cmpint(netdev_u32_add(lookup(bridge).ifindex, QOS_ROOT_QDISC, QOS_FLOOR_FILTER_PRIO,
                                       ETH_P_ALL, handle, &u, true),
                        ==, 0);
}

static void delete_node(const char *bridge, uint32_t handle) {
        g_assert_cmpint(netdev_filter_delete(lookup(bridge).ifindex, QOS_ROOT_QDISC, QOS_FLOOR_FILTER_PRIO,
                                             ETH_P_ALL, "u32", handle),
                        ==, 0);
}

/* Plugs f into vbbr2, where the floors then add up to sum; *p: the bridge's plan for that sum. */
static void plug(const Helper *h, const Bandwidth *net, Floor *f, uint64_t sum, QosBridgePlan *p) {
        QosFloorPlan fp = floor_plan(net, f);
        QosHtbParams def;
        NhRequest req;

        qos_plan_default_class(&net->inbound, sum, &def);
        req = floor_add_request("vbbr2", f->class_id, &fp, p->leaf, &def);
        call_ok(h, &req, NULL, 0);
        *p = bridge_plan(net, sum);
}

static void test_bridge_changed_behind_back(void) {
        Bandwidth net = { .inbound = rate(1000, 0, 0, 0) };
        Floor floors[] = {
                { .class_id = 3, .mac = { { 0x52, 0x54, 0x00, 0x11, 0x22, 0xe5 } }, .floor = 200 },
                { .class_id = 4, .mac = { { 0x52, 0x54, 0x00, 0x33, 0x44, 0x07 } }, .floor = 100 },
                { .class_id = 5, .mac = { { 0x52, 0x54, 0x00, 0x55, 0x66, 0xe5 } }, .floor = 50 },
        };
        const EtherAddr other = { { 0x52, 0x54, 0x00, 0x77, 0x88, 0x33 } };
        QosBridgePlan p;
        NhRequest req;
        Helper h = {};

        helper_start(&h, "");
        learn_caps(&h);
        p = bridge_plan(&net, 0);
        bridge_create(&h, "vbbr2");
        req = bridge_request("vbbr2", &p);
        call_ok(&h, &req, NULL, 0);
        plug(&h, &net, &floors[0], floor_sum(floors, 1), &p);
        plug(&h, &net, &floors[1], floor_sum(floors, 2), &p);
        assert_bridge_tree("vbbr2", &p, floors, 2);

        /* Someone else sends the third MAC to class 1:9: refused as if the helper had dumped. */
        add_foreign_node("vbbr2", QOS_U32_HANDLE(1, 0xe5, 2), &floors[2].mac, 9);
        {
                QosFloorPlan fp = floor_plan(&net, &floors[2]);

                req = floor_add_request("vbbr2", floors[2].class_id, &fp, p.leaf, NULL);
                call_fails(&h, &req, EEXIST, "frames to 52:54:00:55:66:e5 already go to class 1:9");
        }
        /* Gone again: the MAC gets the node number it freed. */
        delete_node("vbbr2", QOS_U32_HANDLE(1, 0xe5, 2));
        plug(&h, &net, &floors[2], floor_sum(floors, 3), &p);
        assert_bridge_tree("vbbr2", &p, floors, 3);
        g_assert_cmphex(filter_handle_of("vbbr2", 5), ==, QOS_U32_HANDLE(1, 0xe5, 2));

        /* A class' node deleted behind the helper's back: a repeated plug puts it back. */
        delete_node("vbbr2", QOS_U32_HANDLE(1, 0xe5, 1));
        plug(&h, &net, &floors[0], floor_sum(floors, 3), &p);
        assert_bridge_tree("vbbr2", &p, floors, 3);
        g_assert_cmphex(filter_handle_of("vbbr2", 3), ==, QOS_U32_HANDLE(1, 0xe5, 1));

        /* A second node for class 1:4 in another bucket: a plug of 1:4 removes it, and so does an
         * unplug (the kernel refuses to delete a class a filter still points to). */
        add_foreign_node("vbbr2", QOS_U32_HANDLE(1, 0x33, 1), &other, 4);
        plug(&h, &net, &floors[1], floor_sum(floors, 3), &p);
        assert_bridge_tree("vbbr2", &p, floors, 3);
        add_foreign_node("vbbr2", QOS_U32_HANDLE(1, 0x33, 7), &other, 4);
        p = bridge_plan(&net, floor_sum(floors, 1) + floors[2].floor);
        req = floor_remove_request("vbbr2", 4, &p.default_class);
        call_ok(&h, &req, NULL, 0);
        {
                Floor left[] = { floors[0], floors[2] };

                assert_bridge_tree("vbbr2", &p, left, 2);
        }

        /* The root qdisc replaced behind the helper's back, with every filter: it starts over. */
        g_assert_cmpint(netdev_qdisc_delete(lookup("vbbr2").ifindex, QOS_TC_H_ROOT, QOS_ROOT_QDISC, "htb"),
                        ==, 0);
        p = bridge_plan(&net, 0);
        req = bridge_request("vbbr2", &p);
        call_ok(&h, &req, NULL, 0);
        plug(&h, &net, &floors[2], floors[2].floor, &p);
        assert_bridge_tree("vbbr2", &p, &floors[2], 1);
        g_assert_cmphex(filter_handle_of("vbbr2", 5), ==, QOS_U32_HANDLE(1, 0xe5, 1));

        link_delete(&h, "vbbr2", NH_LINK_BRIDGE);
        helper_stop(&h);
        assert_no_links_left();
}

/* Traffic: frames the host sends into the bridge pass its root qdisc; the MAC table must put each
 * into the class of its destination MAC, every ethertype, and the rest into 1:2. */

static void send_frames(int sk, int ifindex, const EtherAddr *dst, uint16_t ethertype, unsigned n,
                        size_t len) {
        struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_ifindex = ifindex, .sll_halen = ETH_ALEN };
        uint8_t frame[1514] = {};

        g_assert_cmpuint(len, <=, sizeof frame);
        memcpy(sa.sll_addr, dst->bytes, ETH_ALEN);
        memcpy(frame, dst->bytes, ETH_ALEN);
        memcpy(frame + ETH_ALEN, (uint8_t[]) { 0x52, 0x54, 0x00, 0xfe, 0xfe, 0xfe }, ETH_ALEN);
        frame[12] = ethertype >> 8;
        frame[13] = ethertype & 0xff;
        for (unsigned i = 0; i < n; i++)
                g_assert_cmpint(sendto(sk, frame, len, 0, (struct sockaddr *) &sa, sizeof sa), ==,
                                (ssize_t) len);
}

static NetdevTcStats class_stats(const char *bridge, uint32_t classid) {
        Tree t = dump(bridge);
        const NetdevClass *c = find_class(&t, classid);
        NetdevTcStats s;

        g_assert_nonnull(c);
        s = c->stats;
        tree_done(&t);
        return s;
}

static void wait_packets(const char *bridge, uint32_t classid, uint64_t want) {
        for (int i = 0; i < 200; i++) {
                if (class_stats(bridge, classid).packets >= want)
                        break;
                g_usleep(10 * 1000);
        }
}

static void test_traffic(void) {
        /* Rates far above what the test sends: nothing waits or drops, every frame is counted. */
        Bandwidth net = { .inbound = rate(100000, 0, 0, 0) };
        Floor floors[] = {
                { .class_id = 3, .mac = { { 0x52, 0x54, 0x00, 0x0a, 0x0b, 0x0c } }, .floor = 10000 },
                { .class_id = 4, .mac = { { 0x52, 0x54, 0x00, 0x0d, 0x0e, 0x0c } }, .floor = 20000 },
        };
        const EtherAddr other = { { 0x52, 0x54, 0x00, 0x99, 0x99, 0x0c } }; /* same bucket, no class */
        QosBridgePlan p;
        NetdevTcStats a, b, d0, d;
        NhRequest req;
        Helper h = {};
        int fd, sk, ifindex;

        helper_start(&h, "");
        learn_caps(&h);
        p = bridge_plan(&net, floor_sum(floors, 2));
        bridge_create(&h, "vbbr1");
        /* A port with carrier, or the bridge has none and its qdisc is not even used. */
        fd = tap_create(&h, "vnet1", "vbbr1");
        req = bridge_request("vbbr1", &p);
        call_ok(&h, &req, NULL, 0);
        for (size_t i = 0; i < G_N_ELEMENTS(floors); i++) {
                QosFloorPlan fp = floor_plan(&net, &floors[i]);

                req = floor_add_request("vbbr1", floors[i].class_id, &fp, p.leaf, &p.default_class);
                call_ok(&h, &req, NULL, 0);
        }
        assert_bridge_tree("vbbr1", &p, floors, 2);
        for (int i = 0; i < 100 && !lookup("vbbr1").up; i++)
                g_usleep(10 * 1000);

        ifindex = lookup("vbbr1").ifindex;
        sk = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
        g_assert_cmpint(sk, >=, 0);
        d0 = class_stats("vbbr1", QOS_DEFAULT_CLASS);

        /* To A: IPv4, IPv6, ARP and an experimental ethertype; to B: IPv6 only; to a MAC in the same
         * bucket without a class and to broadcast: the default class. */
        send_frames(sk, ifindex, &floors[0].mac, 0x0800, 20, 100);
        send_frames(sk, ifindex, &floors[0].mac, 0x86dd, 10, 200);
        send_frames(sk, ifindex, &floors[0].mac, 0x0806, 5, 60);
        send_frames(sk, ifindex, &floors[0].mac, 0x88b5, 5, 1514);
        send_frames(sk, ifindex, &floors[1].mac, 0x86dd, 30, 300);
        send_frames(sk, ifindex, &other, 0x0800, 7, 100);
        send_frames(sk, ifindex, &(EtherAddr) { { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } }, 0x0806, 3, 60);
        close(sk);

        wait_packets("vbbr1", QOS_FLOOR_CLASS(3), 40);
        wait_packets("vbbr1", QOS_FLOOR_CLASS(4), 30);
        wait_packets("vbbr1", QOS_DEFAULT_CLASS, d0.packets + 10);
        a = class_stats("vbbr1", QOS_FLOOR_CLASS(3));
        b = class_stats("vbbr1", QOS_FLOOR_CLASS(4));
        d = class_stats("vbbr1", QOS_DEFAULT_CLASS);
        g_test_message("class 1:3: %" G_GUINT64_FORMAT " packets %" G_GUINT64_FORMAT " bytes; "
                       "1:4: %" G_GUINT64_FORMAT " packets %" G_GUINT64_FORMAT " bytes; "
                       "1:2: +%" G_GUINT64_FORMAT " packets",
                       a.packets, a.bytes, b.packets, b.bytes, d.packets - d0.packets);
        g_assert_cmpuint(a.packets, ==, 40);
        g_assert_cmpuint(a.bytes, ==, 20 * 100 + 10 * 200 + 5 * 60 + 5 * 1514);
        g_assert_cmpuint(b.packets, ==, 30);
        g_assert_cmpuint(b.bytes, ==, 30 * 300);
        g_assert_cmpuint(a.drops + b.drops, ==, 0);
        /* the host may send its own (IPv6 neighbour discovery, …): at least ours */
        g_assert_cmpuint(d.packets - d0.packets, >=, 10);

        /* Unplugged, A's frames fall into 1:2 again. */
        req = floor_remove_request("vbbr1", 3, NULL);
        call_ok(&h, &req, NULL, 0);
        d0 = class_stats("vbbr1", QOS_DEFAULT_CLASS);
        sk = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
        g_assert_cmpint(sk, >=, 0);
        send_frames(sk, ifindex, &floors[0].mac, 0x0800, 25, 100);
        close(sk);
        wait_packets("vbbr1", QOS_DEFAULT_CLASS, d0.packets + 25);
        g_assert_cmpuint(class_stats("vbbr1", QOS_DEFAULT_CLASS).packets - d0.packets, >=, 25);
        g_assert_cmpuint(class_stats("vbbr1", QOS_FLOOR_CLASS(4)).packets, ==, 30);

        link_delete(&h, "vnet1", NH_LINK_TAP);
        close(fd);
        link_delete(&h, "vbbr1", NH_LINK_BRIDGE);
        helper_stop(&h);
        assert_no_links_left();
}

static void test_needs_root(void) {
        g_test_skip("needs root and unshare(CLONE_NEWNET); CI runs as root");
}

int main(int argc, char *argv[]) {
        int lo;

        g_test_init(&argc, &argv, NULL);

        if (geteuid() != 0) {
                g_test_add_func("/qos-netlink/needs-root", test_needs_root);
                return g_test_run();
        }
        if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
                g_error("unshare(CLONE_NEWNET|CLONE_NEWNS) failed: %s", g_strerror(errno));
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                g_error("mounting a private sysfs failed: %s", g_strerror(errno));
        lo = if_nametoindex("lo");
        g_assert_cmpint(lo, >, 0);
        g_assert_cmpint(netdev_link_set_up(lo), ==, 0);
        assert_no_links_left();

        /* The probe runs first: every plan below is made for what it found. */
        g_test_add_func("/qos-netlink/probe", test_probe);
        g_test_add_func("/qos-netlink/interface", test_interface);
        g_test_add_func("/qos-netlink/interface-refusals", test_interface_refusals);
        g_test_add_func("/qos-netlink/macvtap", test_macvtap);
        g_test_add_func("/qos-netlink/bridge", test_bridge);
        g_test_add_func("/qos-netlink/bridge-refusals", test_bridge_refusals);
        g_test_add_func("/qos-netlink/bridge-changed-behind-back", test_bridge_changed_behind_back);
        g_test_add_func("/qos-netlink/traffic", test_traffic);

        return g_test_run();
}
