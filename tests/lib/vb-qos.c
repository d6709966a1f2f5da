/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <linux/pkt_cls.h>
#include <linux/tc_act/tc_mirred.h>
#include <net/ethernet.h>
#include <string.h>

#include "network-conf.h"
#include "vb-qos.h"

static uint32_t next_seq = 1;

/* ---- dumps ---- */

static NetdevLink lookup(const char *name) {
        NetdevLink l;
        int r = netdev_link_lookup(name, &l);

        if (r < 0)
                g_error("lookup of %s failed: %s", name, g_strerror(-r));
        return l;
}

VbTree vb_tree_dump(const char *ifname) {
        int ifindex = lookup(ifname).ifindex;
        VbTree t = {};

        g_assert_cmpint(netdev_qdisc_list(ifindex, &t.qdiscs, &t.n_qdiscs), ==, 0);
        g_assert_cmpint(netdev_class_list(ifindex, &t.classes, &t.n_classes), ==, 0);
        g_assert_cmpint(netdev_filter_list(ifindex, QOS_ROOT_QDISC, &t.root_filters, &t.n_root_filters), ==, 0);
        g_assert_cmpint(netdev_filter_list(ifindex, QOS_INGRESS_QDISC, &t.ingress_filters, &t.n_ingress_filters), ==,
                        0);
        return t;
}

void vb_tree_done(VbTree *t) {
        free(t->qdiscs);
        free(t->classes);
        free(t->root_filters);
        free(t->ingress_filters);
        *t = (VbTree) {};
}

const NetdevQdisc *vb_tree_qdisc(const VbTree *t, uint32_t parent) {
        for (size_t i = 0; i < t->n_qdiscs; i++)
                if (t->qdiscs[i].parent == parent)
                        return &t->qdiscs[i];
        return NULL;
}

const NetdevClass *vb_tree_class(const VbTree *t, uint32_t handle) {
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

/* ---- the helper ---- */

NhReply vb_helper_call(NhRequest *req) {
        const char *socket = g_getenv("VIRTBUS_HELPER_SOCKET");
        NhReply reply;

        g_assert_nonnull(socket);
        req->seq = next_seq++;
        g_assert_cmpint(nh_call(socket, req, 10000, &reply, NULL, 0, NULL), ==, 0);
        return reply;
}

unsigned vb_qos_caps(void) {
        static unsigned caps;
        static gboolean known;

        if (!known) {
                NhRequest req = { .verb = NH_VERB_QOS_PROBE };
                NhReply reply = vb_helper_call(&req);

                if (reply.error != 0)
                        g_error("QOS_PROBE failed: %s", reply.message);
                g_assert_true(reply.has_qos_caps);
                caps = reply.qos_caps;
                known = TRUE;
        }
        return caps;
}

/* ---- devices ---- */

static void assert_class(const VbTree *t, uint32_t handle, uint32_t parent, const QosHtbParams *p) {
        const NetdevClass *c = vb_tree_class(t, handle);

        if (!c)
                g_error("no class %x:%x", QOS_HANDLE_MAJ(handle), QOS_HANDLE_MIN(handle));
        g_assert_cmpstr(c->kind, ==, "htb");
        g_assert_cmphex(c->parent, ==, parent);
        if (c->htb.rate != p->rate || c->htb.ceil != p->ceil)
                g_error("class %x:%x: rate %" G_GUINT64_FORMAT " ceil %" G_GUINT64_FORMAT ", expected %" G_GUINT64_FORMAT
                        " and %" G_GUINT64_FORMAT,
                        QOS_HANDLE_MAJ(handle), QOS_HANDLE_MIN(handle), c->htb.rate, c->htb.ceil, p->rate, p->ceil);
        if (!qos_burst_equal(c->htb.burst, p->burst, p->rate))
                g_error("class %x: burst %" G_GUINT64_FORMAT ", expected %" G_GUINT64_FORMAT, handle, c->htb.burst,
                        p->burst);
        if (!qos_burst_equal(c->htb.cburst, p->cburst, p->ceil))
                g_error("class %x: cburst %" G_GUINT64_FORMAT ", expected %" G_GUINT64_FORMAT, handle, c->htb.cburst,
                        p->cburst);
        if (c->htb_level == 0) {
                g_assert_cmpuint(c->htb.quantum, ==, p->quantum);
                g_assert_cmpuint(c->htb.prio, ==, p->prio);
        }
}

static void assert_leaf(const VbTree *t, uint32_t parent, uint32_t handle, QosLeaf leaf) {
        const NetdevQdisc *q = vb_tree_qdisc(t, parent);

        if (!q)
                g_error("no leaf qdisc under %x", parent);
        g_assert_cmphex(q->handle, ==, handle);
        g_assert_cmpstr(q->kind, ==, qos_leaf_to_string(leaf));
        if (leaf == QOS_LEAF_PFIFO)
                g_assert_cmpuint(q->limit, ==, QOS_LEAF_FIFO_LIMIT);
        else
                g_assert_cmpuint(q->sfq_perturb, ==, QOS_SFQ_PERTURB);
}

static void assert_htb_root(const VbTree *t, uint32_t defcls) {
        const NetdevQdisc *q = vb_tree_qdisc(t, QOS_TC_H_ROOT);

        g_assert_nonnull(q);
        g_assert_cmpstr(q->kind, ==, "htb");
        g_assert_cmphex(q->handle, ==, QOS_ROOT_QDISC);
        g_assert_cmpuint(q->htb_defcls, ==, defcls);
        g_assert_cmpuint(q->htb_r2q, ==, QOS_R2Q);
}

static void assert_no_root(const VbTree *t) {
        const NetdevQdisc *q = vb_tree_qdisc(t, QOS_TC_H_ROOT);

        if (q && !g_str_equal(q->kind, "noqueue"))
                g_error("root qdisc %s, expected noqueue or none", q->kind);
        g_assert_cmpuint(t->n_classes, ==, 0);
}

static char *ifb_of(const char *dev) {
        char name[IFNAMSIZ];

        g_assert_cmpint(qos_ifb_name(lookup(dev).ifindex, name), ==, 0);
        return g_strdup(name);
}

/* "htb 1: default 1", 1:1 with p, leaf 2: */
static void assert_device_tree(const char *name, const QosHtbParams *p, QosLeaf leaf) {
        VbTree t = vb_tree_dump(name);

        assert_htb_root(&t, QOS_DEVICE_DEFCLS);
        g_assert_cmpuint(t.n_classes, ==, 1);
        assert_class(&t, QOS_ROOT_CLASS, QOS_TC_H_ROOT, p);
        assert_leaf(&t, QOS_ROOT_CLASS, QOS_LEAF_QDISC, leaf);
        g_assert_cmpuint(t.n_root_filters, ==, 0);
        vb_tree_done(&t);
}

static void assert_ingress(const char *dev, const VbTree *t, const QosIngressPlan *p, QosLeaf leaf) {
        const NetdevQdisc *q = vb_tree_qdisc(t, QOS_TC_H_INGRESS);
        g_autofree char *ifb = ifb_of(dev);
        const NetdevFilter *f;

        if (p->mode == QOS_INGRESS_NONE) {
                g_assert_null(q);
                g_assert_cmpuint(t->n_ingress_filters, ==, 0);
                g_assert_false(netdev_link_exists(ifb));
                return;
        }
        g_assert_nonnull(q);
        g_assert_cmpstr(q->kind, ==, "ingress");
        f = find_filter(t->ingress_filters, t->n_ingress_filters, QOS_U32_HANDLE(0x800, 0, 1));
        g_assert_nonnull(f);
        g_assert_cmpuint(f->prio, ==, QOS_INGRESS_FILTER_PRIO);
        g_assert_cmphex(f->protocol, ==, ETH_P_ALL);
        g_assert_true(f->u32.terminal);
        g_assert_cmpuint(f->u32.n_keys, ==, 1);
        g_assert_cmphex(f->u32.keys[0].mask, ==, 0);
        if (p->mode == QOS_INGRESS_POLICE) {
                g_assert_cmpint(f->u32.action.kind, ==, NETDEV_ACTION_POLICE);
                g_assert_cmpuint(f->u32.action.police.rate, ==, p->police.rate);
                g_assert_false(netdev_link_exists(ifb));
        } else {
                NetdevLink l = lookup(ifb);

                g_assert_cmpint(f->u32.action.kind, ==, NETDEV_ACTION_MIRRED);
                g_assert_cmpint(f->u32.action.mirred_ifindex, ==, l.ifindex);
                g_assert_cmpint(f->u32.action.mirred_eaction, ==, TCA_EGRESS_REDIR);
                g_assert_cmpstr(l.kind, ==, "ifb");
                g_assert_true(l.up);
                g_assert_cmpstr(l.alias, ==, NETDEV_VIRTBUS_ALIAS);
                assert_device_tree(ifb, &p->ifb_class, leaf);
        }
}

void vb_assert_device_qos(const char *ifname, const QosDevicePlan *p) {
        VbTree t = vb_tree_dump(ifname);

        if (p->egress) {
                vb_tree_done(&t);
                assert_device_tree(ifname, &p->egress_class, p->leaf);
                t = vb_tree_dump(ifname);
        } else
                assert_no_root(&t);
        assert_ingress(ifname, &t, &p->ingress, p->leaf);
        vb_tree_done(&t);
}

void vb_assert_no_qos(const char *ifname) {
        QosDevicePlan none = {};

        vb_assert_device_qos(ifname, &none);
}

/* ---- bridges ---- */

void vb_assert_bridge_qos(const char *bridge, const Bandwidth *net, const VbFloor *floors, size_t n) {
        g_autofree char *error = NULL;
        QosBridgePlan p;
        uint64_t sum = 0;
        VbTree t;
        size_t nodes = 0;
        const NetdevFilter *f;

        for (size_t i = 0; i < n; i++)
                sum += floors[i].inbound.floor;
        if (qos_plan_bridge(net, sum, vb_qos_caps(), &p, &error) < 0)
                g_error("plan: %s", error);
        t = vb_tree_dump(bridge);
        assert_ingress(bridge, &t, &p.ingress, p.leaf);
        if (!p.hierarchy) {
                g_assert_cmpuint(n, ==, 0);
                assert_no_root(&t);
                vb_tree_done(&t);
                return;
        }

        assert_htb_root(&t, QOS_BRIDGE_DEFCLS);
        assert_class(&t, QOS_ROOT_CLASS, QOS_TC_H_ROOT, &p.root_class);
        assert_class(&t, QOS_DEFAULT_CLASS, QOS_ROOT_CLASS, &p.default_class);
        assert_leaf(&t, QOS_DEFAULT_CLASS, QOS_LEAF_QDISC, p.leaf);
        g_assert_cmpuint(t.n_classes, ==, 2 + n);

        f = find_filter(t.root_filters, t.n_root_filters, QOS_MAC_TABLE);
        g_assert_nonnull(f);
        g_assert_cmpuint(f->u32.divisor, ==, QOS_MAC_TABLE_BUCKETS);
        f = find_filter(t.root_filters, t.n_root_filters, QOS_U32_HANDLE(0x800, 0, QOS_MAC_LINK_NODE));
        g_assert_nonnull(f);
        g_assert_cmphex(f->u32.link, ==, QOS_MAC_TABLE);
        g_assert_cmphex(f->u32.hmask, ==, QOS_MAC_HASH_MASK);
        g_assert_cmpint(f->u32.hoff, ==, QOS_MAC_HASH_OFFSET);
        for (size_t i = 0; i < t.n_root_filters; i++)
                nodes += QOS_U32_HTID(t.root_filters[i].handle) == QOS_MAC_TABLE_HTID &&
                         QOS_U32_NODE(t.root_filters[i].handle) != 0;
        g_assert_cmpuint(t.n_root_filters, ==, 4 + n); /* 0, 800:, 1:, 800::1, one node per floor */
        g_assert_cmpuint(nodes, ==, n);

        for (size_t i = 0; i < n; i++) {
                const NetdevFilter *node = NULL;
                QosU32Key keys[QOS_MAC_KEYS];
                QosFloorPlan fp;

                g_assert_cmpint(qos_plan_floor(&net->inbound, &floors[i].inbound, floors[i].class_id, &floors[i].mac,
                                               &fp),
                                ==, 0);
                assert_class(&t, QOS_FLOOR_CLASS(floors[i].class_id), QOS_ROOT_CLASS, &fp.class_params);
                assert_leaf(&t, QOS_FLOOR_CLASS(floors[i].class_id), QOS_FLOOR_LEAF(floors[i].class_id), p.leaf);
                for (size_t j = 0; j < t.n_root_filters; j++)
                        if (t.root_filters[j].u32.classid == QOS_FLOOR_CLASS(floors[i].class_id)) {
                                g_assert_null(node);
                                node = &t.root_filters[j];
                        }
                if (!node)
                        g_error("no filter for class 1:%x", floors[i].class_id);
                g_assert_cmpuint(QOS_U32_BUCKET(node->handle), ==, floors[i].mac.bytes[5]);
                g_assert_true(node->u32.terminal);
                g_assert_cmpuint(node->u32.n_keys, ==, QOS_MAC_KEYS);
                qos_mac_keys(floors[i].mac.bytes, keys);
                g_assert_cmpmem(node->u32.keys, sizeof keys, keys, sizeof keys);
        }
        vb_tree_done(&t);
}

void vb_assert_bridge_no_qos(const char *bridge) {
        VbTree t = vb_tree_dump(bridge);
        const NetdevQdisc *root = vb_tree_qdisc(&t, QOS_TC_H_ROOT);

        g_assert_false(root && g_str_equal(root->kind, "htb"));
        g_assert_cmpuint(t.n_classes, ==, 0);
        g_assert_null(vb_tree_qdisc(&t, QOS_TC_H_INGRESS));
        vb_tree_done(&t);
}

static int cmp_uint(gconstpointer a, gconstpointer b) {
        guint x = *(const guint *) a, y = *(const guint *) b;

        return x < y ? -1 : x > y;
}

GArray *vb_floor_class_ids(const char *bridge) {
        GArray *ids = g_array_new(FALSE, FALSE, sizeof(guint));
        VbTree t = vb_tree_dump(bridge);

        for (size_t i = 0; i < t.n_classes; i++) {
                guint id = QOS_HANDLE_MIN(t.classes[i].handle);

                if (QOS_HANDLE_MAJ(t.classes[i].handle) == 1 && id >= QOS_CLASS_ID_MIN)
                        g_array_append_val(ids, id);
        }
        vb_tree_done(&t);
        g_array_sort(ids, cmp_uint);
        return ids;
}

GArray *vb_floor_filter_ids(const char *bridge) {
        GArray *ids = g_array_new(FALSE, FALSE, sizeof(guint));
        VbTree t = vb_tree_dump(bridge);

        for (size_t i = 0; i < t.n_root_filters; i++) {
                const NetdevFilter *f = &t.root_filters[i];
                guint id = QOS_HANDLE_MIN(f->u32.classid);

                if (QOS_U32_HTID(f->handle) == QOS_MAC_TABLE_HTID && QOS_U32_NODE(f->handle) != 0)
                        g_array_append_val(ids, id);
        }
        vb_tree_done(&t);
        g_array_sort(ids, cmp_uint);
        return ids;
}

uint64_t vb_default_class_rate(const char *bridge) {
        VbTree t = vb_tree_dump(bridge);
        const NetdevClass *c = vb_tree_class(&t, QOS_DEFAULT_CLASS);
        uint64_t rate = c ? c->htb.rate : 0;

        vb_tree_done(&t);
        return rate;
}

/* ---- status files ---- */

gboolean vb_network_status(const char *name, ClassIdBitmap *ret_ids, uint64_t *ret_sum) {
        g_autofree char *path = g_strdup_printf("%s/network/%s.status.xml", g_getenv("VIRTBUS_STATE_DIR"), name);
        g_autofree char *xml = NULL, *error = NULL;
        NetworkStatus *st = NULL;

        if (!g_file_get_contents(path, &xml, NULL, NULL))
                return FALSE;
        if (network_status_parse(xml, &st, &error) < 0)
                g_error("%s: %s", path, error);
        if (ret_ids)
                *ret_ids = st->class_ids;
        if (ret_sum)
                *ret_sum = st->floor_sum;
        network_status_free(st);
        return TRUE;
}

gboolean vb_domain_class_records(const char *domain, GArray **ret) {
        g_autofree char *path = g_strdup_printf("%s/qemu/%s.status.xml", g_getenv("VIRTBUS_RUNTIME_DIR"), domain);
        g_autoptr(GRegex) re =
                g_regex_new("<class alias='([^']*)' network='([^']*)' id='([0-9]+)' floor='([0-9]+)'/>", 0, 0, NULL);
        g_autoptr(GMatchInfo) mi = NULL;
        g_autofree char *xml = NULL;
        GArray *a;

        if (!g_file_get_contents(path, &xml, NULL, NULL))
                return FALSE;
        if (!ret)
                return TRUE;
        a = g_array_new(FALSE, TRUE, sizeof(VbClassRecord));
        for (g_regex_match(re, xml, 0, &mi); g_match_info_matches(mi); g_match_info_next(mi, NULL)) {
                g_autofree char *alias = g_match_info_fetch(mi, 1), *network = g_match_info_fetch(mi, 2);
                g_autofree char *id = g_match_info_fetch(mi, 3), *floor = g_match_info_fetch(mi, 4);
                VbClassRecord r = {};

                g_strlcpy(r.alias, alias, sizeof r.alias);
                g_strlcpy(r.network, network, sizeof r.network);
                r.id = (unsigned) g_ascii_strtoull(id, NULL, 10);
                r.floor = g_ascii_strtoull(floor, NULL, 10);
                g_array_append_val(a, r);
        }
        *ret = a;
        return TRUE;
}

EtherAddr vb_xml_mac(const char *xml, guint index) {
        g_autoptr(GRegex) re = g_regex_new("<mac address='([0-9a-f:]+)'/>", 0, 0, NULL);
        g_autoptr(GMatchInfo) mi = NULL;
        EtherAddr mac = {};
        guint i = 0;

        for (g_regex_match(re, xml, 0, &mi); g_match_info_matches(mi); g_match_info_next(mi, NULL), i++)
                if (i == index) {
                        g_autofree char *s = g_match_info_fetch(mi, 1);

                        g_assert_cmpint(ether_addr_parse(s, &mac), ==, 0);
                        return mac;
                }
        g_error("no <mac address> #%u in:\n%s", index, xml);
}
