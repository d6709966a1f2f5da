/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "ether.h"
#include "handlers.h"
#include "ifname.h"
#include "log.h"
#include "macro.h"
#include "netdev.h"
#include "qos-handlers.h"

#define WHY_MAX (64 + TC_WHY_EXTACK)
#define TC_WHY_EXTACK 256
#define HANDLE_STR_MAX 16

/* What a request created, so that a failure can remove it again. Changes to objects that existed
 * before are not rolled back: the daemon repeats its last good request for that. */
typedef struct Undo {
        int ifindex;
        const char *ifname;
        bool bridge;          /* a created root goes (bridge default: noqueue), else noqueue comes back */
        bool root_created;
        bool ingress_created;
        int ifb_created;      /* ifindex */
        uint32_t class_created;
        uint32_t filter_created;
} Undo;

/* strerror, plus the kernel's own explanation when it gave one. */
static const char *why(int r, char buf[static WHY_MAX]) {
        const char *k = netdev_tc_error();

        if (isempty(k))
                snprintf(buf, WHY_MAX, "%s", strerror(r < 0 ? -r : r));
        else
                snprintf(buf, WHY_MAX, "%s (%s)", strerror(r < 0 ? -r : r), k);
        return buf;
}

/* tc's notation: "1:2", "1:" */
static const char *handle_str(uint32_t h, char buf[static HANDLE_STR_MAX]) {
        if (QOS_HANDLE_MIN(h) == 0)
                snprintf(buf, HANDLE_STR_MAX, "%x:", QOS_HANDLE_MAJ(h));
        else
                snprintf(buf, HANDLE_STR_MAX, "%x:%x", QOS_HANDLE_MAJ(h), QOS_HANDLE_MIN(h));
        return buf;
}

static bool is_ours(const NetdevLink *l) {
        return streq(l->alias, NETDEV_VIRTBUS_ALIAS);
}

static const char *acl_unusable(const Acl *acl) {
        if (!acl)
                return "no ACL";
        return acl_load_error(acl);
}

static const char *acl_name(const Acl *acl) {
        return acl_path(acl) ?: NETHELPER_ACL_FILE;
}

/* Devices */

/* Taps and macvtaps virtbus created: by prefix, and the kind must agree with it. */
static int check_interface(const char *ifname, NetdevLink *ret, NhReply *reply) {
        const char *kind, *what;
        int r;

        if (startswith(ifname, VIRTBUS_TAP_PREFIX)) {
                kind = "tun";
                what = "tap";
        } else if (startswith(ifname, VIRTBUS_MACVTAP_PREFIX)) {
                kind = "macvtap";
                what = "macvtap";
        } else
                return reply_error(reply, EPERM,
                                   "%s is not a virtbus tap or macvtap (the name does not start with \"%s\" "
                                   "or \"%s\")",
                                   ifname, VIRTBUS_TAP_PREFIX, VIRTBUS_MACVTAP_PREFIX);

        r = netdev_link_lookup(ifname, ret);
        if (r == -ENODEV)
                return reply_error(reply, ENODEV, "link %s does not exist", ifname);
        if (r < 0)
                return reply_error(reply, r, "cannot look up %s: %s", ifname, strerror(-r));
        if (!streq(ret->kind, kind))
                return reply_error(reply, EPERM,
                                   "link %s is not a %s (kind %s), refusing to touch its qdiscs", ifname,
                                   what, isempty(ret->kind) ? "none" : ret->kind);
        return 0;
}

/* Bridges virtbus created or the ACL allows; a deny rule always wins, as for taps joining them. */
static int check_bridge(const Acl *acl, const char *ifname, NetdevLink *ret, NhReply *reply) {
        int r;

        r = netdev_link_lookup(ifname, ret);
        if (r == -ENODEV)
                return reply_error(reply, ENODEV, "bridge %s does not exist", ifname);
        if (r < 0)
                return reply_error(reply, r, "cannot look up bridge %s: %s", ifname, strerror(-r));
        if (!streq(ret->kind, "bridge"))
                return reply_error(reply, EPERM, "%s is not a bridge, refusing to touch its qdiscs", ifname);
        if (acl_unusable(acl))
                return reply_error(reply, EPERM, "cannot change the qdiscs of bridge %s: ACL not usable: %s",
                                   ifname, acl_unusable(acl));
        if (acl_denies(acl, ifname))
                return reply_error(reply, EPERM, "bridge %s is denied by %s", ifname, acl_name(acl));
        if (!is_ours(ret) && !acl_allows(acl, ifname))
                return reply_error(reply, EPERM, "bridge %s is not allowed by %s", ifname, acl_name(acl));
        return 0;
}

/* The IFB of device ifindex: 1 when it exists and is ours, 0 when there is none; an error when
 * something else carries the name (never touched, never deleted). */
static int find_ifb(int ifindex, char name[static IFNAMSIZ], NetdevLink *ret, NhReply *reply) {
        int r;

        r = qos_ifb_name(ifindex, name);
        if (r < 0)
                return reply_error(reply, r, "no IFB name for ifindex %d", ifindex);
        r = netdev_link_lookup(name, ret);
        if (r == -ENODEV)
                return 0;
        if (r < 0)
                return reply_error(reply, r, "cannot look up %s: %s", name, strerror(-r));
        if (!streq(ret->kind, "ifb") || !is_ours(ret))
                return reply_error(reply, EEXIST,
                                   "a link named %s exists and is not an IFB of virtbus (kind %s)", name,
                                   isempty(ret->kind) ? "none" : ret->kind);
        return 1;
}

int nethelper_qos_delete_ifb(int ifindex) {
        char name[IFNAMSIZ];
        NetdevLink l;
        NhReply dummy = {};
        int r;

        r = find_ifb(ifindex, name, &l, &dummy);
        if (r <= 0)
                return r;
        r = netdev_link_delete(l.ifindex);
        if (r < 0 && r != -ENODEV)
                return log_warning_errno(r, "Failed to delete %s: %m", name);
        return 1;
}

/* Building blocks */

static const NetdevQdisc *qdisc_at(const NetdevQdisc *q, size_t n, uint32_t parent) {
        for (size_t i = 0; i < n; i++)
                if (q[i].parent == parent)
                        return &q[i];
        return NULL;
}

static int list_qdiscs(int ifindex, const char *ifname, NetdevQdisc **ret, size_t *ret_n, NhReply *reply) {
        int r = netdev_qdisc_list(ifindex, ret, ret_n);

        if (r < 0)
                return reply_error(reply, r, "cannot list the qdiscs of %s: %s", ifname, strerror(-r));
        return 0;
}

/* "htb 1: default defcls" at the root: kept when it is there (HTB cannot change its default class
 * in place), else put in place of whatever is there. */
static int ensure_htb_root(int ifindex, const char *ifname, uint32_t defcls, bool *created, NhReply *reply) {
        _cleanup_free_ NetdevQdisc *q = NULL;
        const NetdevQdisc *root;
        char w[WHY_MAX];
        size_t n = 0;
        int r;

        *created = false;
        r = list_qdiscs(ifindex, ifname, &q, &n, reply);
        if (r < 0)
                return r;
        root = qdisc_at(q, n, QOS_TC_H_ROOT);
        if (root && streq(root->kind, "htb") && root->handle == QOS_ROOT_QDISC) {
                if (root->htb_defcls == defcls)
                        return 0;
                /* Someone else's HTB with our handle: a replacement would be taken for a change. */
                r = netdev_qdisc_delete(ifindex, QOS_TC_H_ROOT, QOS_ROOT_QDISC, "htb");
                if (r < 0 && r != -ENOENT)
                        return reply_error(reply, r, "failed to remove the root qdisc of %s: %s", ifname,
                                           why(r, w));
        }
        r = netdev_qdisc_add_htb(ifindex, QOS_TC_H_ROOT, QOS_ROOT_QDISC, defcls, QOS_R2Q);
        if (r < 0)
                return reply_error(reply, r, "failed to make htb the root qdisc of %s: %s", ifname,
                                   why(r, w));
        *created = true;
        return 0;
}

/* Creates the class, or changes it when it exists. */
static int ensure_class(int ifindex, const char *ifname, uint32_t parent, uint32_t classid,
                        const QosHtbParams *p, bool *created, NhReply *reply) {
        char w[WHY_MAX], h[HANDLE_STR_MAX];
        int r;

        *created = false;
        r = netdev_htb_class_set(ifindex, parent, classid, p, NETDEV_TC_CREATE);
        if (r == -EEXIST)
                r = netdev_htb_class_set(ifindex, parent, classid, p, NETDEV_TC_CHANGE);
        else if (r >= 0)
                *created = true;
        if (r < 0)
                return reply_error(reply, r, "failed to set class %s on %s: %s", handle_str(classid, h),
                                   ifname, why(r, w));
        return 0;
}

/* The leaf qdisc under class parent: kept when it is the one asked for, else replaced. */
static int ensure_leaf(int ifindex, const char *ifname, uint32_t parent, uint32_t handle, QosLeaf leaf,
                       NhReply *reply) {
        NetdevQdisc q;
        const NetdevQdisc *cur = NULL;
        const char *kind = qos_leaf_to_string(leaf);
        char w[WHY_MAX], h[HANDLE_STR_MAX], p[HANDLE_STR_MAX];
        int r;

        if (!kind)
                return reply_error(reply, EINVAL, "unknown leaf qdisc kind %u", (unsigned) leaf);
        /* The class' qdisc alone, not a dump of all. The kernel shows none where a dump shows none:
         * no such class, an inner class (ENOENT), a qdisc a dump leaves out (EINVAL). */
        r = netdev_qdisc_get(ifindex, parent, &q);
        if (r >= 0)
                cur = &q;
        else if (r != -ENOENT && r != -EINVAL)
                return reply_error(reply, r, "cannot read the qdisc of class %s of %s: %s",
                                   handle_str(parent, p), ifname, strerror(-r));
        if (cur && cur->handle == handle && streq(cur->kind, kind) &&
            (leaf == QOS_LEAF_SFQ ? cur->sfq_perturb == QOS_SFQ_PERTURB : cur->limit == QOS_LEAF_FIFO_LIMIT))
                return 0;
        /* A qdisc cannot change its kind in place. */
        if (cur && cur->handle != 0) {
                r = netdev_qdisc_delete(ifindex, parent, cur->handle, NULL);
                if (r < 0 && r != -ENOENT)
                        return reply_error(reply, r, "failed to remove qdisc %s from class %s of %s: %s",
                                           handle_str(cur->handle, h), handle_str(parent, p), ifname,
                                           why(r, w));
        }
        if (leaf == QOS_LEAF_SFQ)
                r = netdev_qdisc_add_sfq(ifindex, parent, handle, QOS_SFQ_PERTURB);
        else
                r = netdev_qdisc_add_pfifo(ifindex, parent, handle, QOS_LEAF_FIFO_LIMIT);
        if (r < 0)
                return reply_error(reply, r, "failed to add %s qdisc %s to class %s of %s: %s", kind,
                                   handle_str(handle, h), handle_str(parent, p), ifname, why(r, w));
        return 0;
}

/* A root HTB with one class 1:1 (default 1) and its leaf: a tap's, macvtap's or IFB's shaping. */
static int ensure_device_tree(int ifindex, const char *ifname, const QosHtbParams *p, QosLeaf leaf,
                              bool *root_created, NhReply *reply) {
        bool created;
        int r;

        r = ensure_htb_root(ifindex, ifname, QOS_DEVICE_DEFCLS, root_created, reply);
        if (r < 0)
                return r;
        r = ensure_class(ifindex, ifname, QOS_ROOT_QDISC, QOS_ROOT_CLASS, p, &created, reply);
        if (r < 0)
                return r;
        return ensure_leaf(ifindex, ifname, QOS_ROOT_CLASS, QOS_LEAF_QDISC, leaf, reply);
}

/* Back to noqueue (taps and macvtaps), which the daemon asks for on every device it creates. As
 * there, a kernel that refuses it is no failure: the root goes, the device's default comes back. */
static void restore_noqueue(int ifindex, const char *ifname, NhReply *reply) {
        char w[WHY_MAX];
        int r;

        r = netdev_qdisc_set_root_noqueue(ifindex);
        reply->has_noqueue_applied = true;
        reply->noqueue_applied = r >= 0;
        if (r >= 0)
                return;
        log_warning_errno(r, "Cannot make noqueue the root qdisc of %s: %m", ifname);
        snprintf(reply->message, sizeof reply->message, "root qdisc noqueue not applied to %s: %s", ifname,
                 why(r, w));
        r = netdev_qdisc_delete(ifindex, QOS_TC_H_ROOT, QOS_ROOT_QDISC, "htb");
        if (r < 0 && r != -ENOENT)
                log_warning_errno(r, "Cannot remove the root qdisc of %s: %m", ifname);
}

static bool root_is_ours(int ifindex) {
        _cleanup_free_ NetdevQdisc *q = NULL;
        const NetdevQdisc *root;
        size_t n = 0;

        if (netdev_qdisc_list(ifindex, &q, &n) < 0)
                return false;
        root = qdisc_at(q, n, QOS_TC_H_ROOT);
        return root && streq(root->kind, "htb") && root->handle == QOS_ROOT_QDISC;
}

static int remove_ingress(int ifindex, const char *ifname, NhReply *reply) {
        char w[WHY_MAX], name[IFNAMSIZ];
        NetdevLink ifb;
        int r;

        r = netdev_qdisc_delete(ifindex, QOS_TC_H_INGRESS, QOS_INGRESS_QDISC, "ingress");
        if (r < 0 && r != -ENOENT && r != -EINVAL)
                return reply_error(reply, r, "failed to remove the ingress qdisc of %s: %s", ifname,
                                   why(r, w));
        r = find_ifb(ifindex, name, &ifb, reply);
        if (r <= 0)
                return r;
        r = netdev_link_delete(ifb.ifindex);
        if (r < 0 && r != -ENODEV)
                return reply_error(reply, r, "failed to delete %s: %s", name, strerror(-r));
        return 0;
}

/* The ingress side: a match-all u32 filter on the ingress qdisc that polices, or redirects to the
 * device's IFB, shaped like a device. Neither asked for: no ingress qdisc, no IFB. */
static int apply_ingress(const NetdevLink *dev, const QosPoliceParams *police, const QosHtbParams *ifb,
                         QosLeaf leaf, Undo *undo, NhReply *reply) {
        _cleanup_free_ NetdevQdisc *q = NULL;
        char name[IFNAMSIZ], w[WHY_MAX];
        NetdevLink ifb_link = {};
        NetdevU32 u;
        bool have_ingress = false;
        size_t n = 0;
        int r, have_ifb;

        if (!police && !ifb)
                return remove_ingress(dev->ifindex, dev->name, reply);

        have_ifb = find_ifb(dev->ifindex, name, &ifb_link, reply);
        if (have_ifb < 0)
                return have_ifb;

        if (ifb) {
                bool root_created;

                if (!have_ifb) {
                        r = netdev_ifb_create(name);
                        if (r < 0)
                                return reply_error(reply, r, "failed to create IFB %s for %s: %s", name,
                                                   dev->name, why(r, w));
                        r = netdev_link_lookup(name, &ifb_link);
                        if (r < 0)
                                return reply_error(reply, r, "IFB %s vanished after creation: %s", name,
                                                   strerror(-r));
                        undo->ifb_created = ifb_link.ifindex;
                }
                r = ensure_device_tree(ifb_link.ifindex, name, ifb, leaf, &root_created, reply);
                if (r < 0)
                        return r;
                r = netdev_link_set_up(ifb_link.ifindex);
                if (r < 0)
                        return reply_error(reply, r, "failed to bring %s up: %s", name, strerror(-r));
        }

        r = list_qdiscs(dev->ifindex, dev->name, &q, &n, reply);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                if (q[i].parent == QOS_TC_H_INGRESS && streq(q[i].kind, "ingress"))
                        have_ingress = true;
        if (!have_ingress) {
                r = netdev_qdisc_add_ingress(dev->ifindex);
                if (r < 0)
                        return reply_error(reply, r, "failed to add the ingress qdisc to %s: %s", dev->name,
                                           why(r, w));
                undo->ingress_created = true;
        }

        /* libvirt: "filter add … parent ffff: protocol all u32 match u32 0 0 police … flowid :1";
         * the same node is changed in place when switching between police and redirect. */
        u = (NetdevU32) { .terminal = true, .classid = QOS_INGRESS_FLOWID };
        if (ifb)
                u.action = (NetdevAction) {
                        .kind = NETDEV_ACTION_MIRRED,
                        .mirred_ifindex = ifb_link.ifindex,
                };
        else
                u.action = (NetdevAction) { .kind = NETDEV_ACTION_POLICE, .police = *police };
        r = netdev_u32_add(dev->ifindex, QOS_INGRESS_QDISC, QOS_INGRESS_FILTER_PRIO, QOS_ETH_P_ALL,
                           QOS_U32_HANDLE(QOS_U32_ROOT_HTID, 0, 1), &u, false);
        if (r < 0)
                return reply_error(reply, r, "failed to add the %s filter to the ingress of %s: %s",
                                   ifb ? "redirecting" : "policing", dev->name, why(r, w));

        /* Policing now: an IFB from an earlier redirect has nothing to do any more. */
        if (!ifb && have_ifb) {
                r = netdev_link_delete(ifb_link.ifindex);
                if (r < 0 && r != -ENODEV)
                        return reply_error(reply, r, "failed to delete %s: %s", name, strerror(-r));
        }
        return 0;
}

static void undo_run(const Undo *u) {
        int r;

        if (u->filter_created != 0) {
                r = netdev_filter_delete(u->ifindex, QOS_ROOT_QDISC, QOS_FLOOR_FILTER_PRIO, QOS_ETH_P_ALL,
                                         "u32", u->filter_created);
                if (r < 0)
                        log_warning_errno(r, "Failed to remove filter %x of %s while undoing: %m",
                                          u->filter_created, u->ifname);
        }
        if (u->class_created != 0) {
                r = netdev_class_delete(u->ifindex, u->class_created);
                if (r < 0)
                        log_warning_errno(r, "Failed to remove class %x of %s while undoing: %m",
                                          u->class_created, u->ifname);
        }
        if (u->ingress_created) {
                r = netdev_qdisc_delete(u->ifindex, QOS_TC_H_INGRESS, QOS_INGRESS_QDISC, "ingress");
                if (r < 0)
                        log_warning_errno(r, "Failed to remove the ingress qdisc of %s while undoing: %m",
                                          u->ifname);
        }
        if (u->ifb_created > 0) {
                r = netdev_link_delete(u->ifb_created);
                if (r < 0)
                        log_warning_errno(r, "Failed to delete the IFB of %s while undoing: %m", u->ifname);
        }
        if (u->root_created) {
                if (!u->bridge && netdev_qdisc_set_root_noqueue(u->ifindex) >= 0)
                        return;
                r = netdev_qdisc_delete(u->ifindex, QOS_TC_H_ROOT, QOS_ROOT_QDISC, "htb");
                if (r < 0)
                        log_warning_errno(r, "Failed to remove the root qdisc of %s while undoing: %m",
                                          u->ifname);
        }
}

/* Verbs */

static int handle_probe(NhReply *reply) {
        char w[WHY_MAX], s[QOS_CAPS_STR_MAX];
        unsigned caps = 0;
        int r;

        r = netdev_qos_probe(&caps);
        if (r == -EEXIST)
                return reply_error(reply, EEXIST, "cannot probe: a link named %s exists and is not ours",
                                   QOS_PROBE_IFNAME);
        if (r < 0)
                return reply_error(reply, r, "cannot probe the kernel's QoS features: %s", why(r, w));
        reply->has_qos_caps = true;
        reply->qos_caps = caps;
        log_debug("QoS features of the kernel: %s", qos_caps_format(caps, s));
        return 0;
}

static int handle_apply_interface(const NhQosApplyInterface *a, NhReply *reply) {
        NetdevLink dev;
        Undo undo = {};
        int r;

        r = check_interface(a->ifname, &dev, reply);
        if (r < 0)
                return r;
        undo = (Undo) { .ifindex = dev.ifindex, .ifname = a->ifname };

        if (a->has_shape) {
                r = ensure_device_tree(dev.ifindex, a->ifname, &a->shape, a->leaf, &undo.root_created,
                                       reply);
                if (r < 0)
                        goto fail;
        } else if (root_is_ours(dev.ifindex))
                restore_noqueue(dev.ifindex, a->ifname, reply);

        r = apply_ingress(&dev, a->has_police ? &a->police : NULL, a->has_ifb ? &a->ifb : NULL, a->leaf,
                          &undo, reply);
        if (r < 0)
                goto fail;
        reply->ifindex = dev.ifindex;
        return 0;

fail:
        undo_run(&undo);
        return -(int) reply->error;
}

static int handle_clear_interface(const NhQosClear *c, NhReply *reply) {
        NetdevLink dev;
        int r;

        r = check_interface(c->ifname, &dev, reply);
        if (r < 0)
                return r;
        if (root_is_ours(dev.ifindex))
                restore_noqueue(dev.ifindex, c->ifname, reply);
        r = remove_ingress(dev.ifindex, c->ifname, reply);
        if (r < 0)
                return r;
        reply->ifindex = dev.ifindex;
        return 0;
}

static bool is_mac_table(const NetdevFilter *f) {
        return streq(f->kind, "u32") && f->prio == QOS_FLOOR_FILTER_PRIO && f->protocol == QOS_ETH_P_ALL &&
               f->handle == QOS_MAC_TABLE;
}

/* The u32 MAC table "1:" (256 buckets) and the node in the root table that hashes into it. */
static int ensure_mac_table(const NetdevLink *br, NhReply *reply) {
        _cleanup_free_ NetdevFilter *f = NULL;
        const uint32_t link_handle = QOS_U32_HANDLE(QOS_U32_ROOT_HTID, 0, QOS_MAC_LINK_NODE);
        const uint32_t standin_handle = QOS_U32_HANDLE(QOS_U32_ROOT_HTID, 0, QOS_MAC_LINK_NODE + 1);
        bool have_table = false, have_link = false, wrong_link = false;
        char w[WHY_MAX];
        NetdevU32 u;
        size_t n = 0;
        int r;

        r = netdev_filter_list(br->ifindex, QOS_ROOT_QDISC, &f, &n);
        if (r < 0)
                return reply_error(reply, r, "cannot list the filters of %s: %s", br->name, strerror(-r));
        for (size_t i = 0; i < n; i++) {
                if (is_mac_table(&f[i])) {
                        if (f[i].u32.divisor != QOS_MAC_TABLE_BUCKETS)
                                return reply_error(reply, EEXIST,
                                                   "bridge %s has a u32 table 1: of %u buckets", br->name,
                                                   f[i].u32.divisor);
                        have_table = true;
                } else if (streq(f[i].kind, "u32") && f[i].prio == QOS_FLOOR_FILTER_PRIO &&
                           f[i].handle == link_handle) {
                        have_link = f[i].u32.link == QOS_MAC_TABLE && f[i].u32.hmask == QOS_MAC_HASH_MASK &&
                                    f[i].u32.hoff == QOS_MAC_HASH_OFFSET && f[i].u32.n_keys == 1 &&
                                    f[i].u32.keys[0].mask == 0;
                        wrong_link = !have_link;
                }
        }

        if (!have_table) {
                u = (NetdevU32) { .divisor = QOS_MAC_TABLE_BUCKETS };
                r = netdev_u32_add(br->ifindex, QOS_ROOT_QDISC, QOS_FLOOR_FILTER_PRIO, QOS_ETH_P_ALL,
                                   QOS_MAC_TABLE, &u, true);
                if (r < 0)
                        return reply_error(reply, r, "failed to add the u32 MAC table to %s: %s", br->name,
                                           why(r, w));
        }
        if (have_link)
                return 0;

        u = (NetdevU32) {
                .link = QOS_MAC_TABLE,
                .hmask = QOS_MAC_HASH_MASK,
                .hoff = QOS_MAC_HASH_OFFSET,
        };
        if (wrong_link) {
                /* A node's selector cannot be changed in place, and deleting the last node of a u32
                 * instance deletes the instance with all its tables: a stand-in keeps it alive while
                 * the node is replaced, and keeps frames hashed meanwhile. */
                r = netdev_u32_add(br->ifindex, QOS_ROOT_QDISC, QOS_FLOOR_FILTER_PRIO, QOS_ETH_P_ALL,
                                   standin_handle, &u, false);
                if (r >= 0)
                        r = netdev_filter_delete(br->ifindex, QOS_ROOT_QDISC, QOS_FLOOR_FILTER_PRIO,
                                                 QOS_ETH_P_ALL, "u32", link_handle);
                if (r < 0)
                        return reply_error(reply, r, "failed to replace the u32 filter 800::1 of %s: %s",
                                           br->name, why(r, w));
        }
        r = netdev_u32_add(br->ifindex, QOS_ROOT_QDISC, QOS_FLOOR_FILTER_PRIO, QOS_ETH_P_ALL, link_handle,
                           &u, true);
        if (r < 0)
                return reply_error(reply, r, "failed to add the u32 hashing filter to %s: %s", br->name,
                                   why(r, w));
        if (wrong_link) {
                r = netdev_filter_delete(br->ifindex, QOS_ROOT_QDISC, QOS_FLOOR_FILTER_PRIO, QOS_ETH_P_ALL,
                                         "u32", standin_handle);
                if (r < 0 && r != -ENOENT)
                        return reply_error(reply, r, "failed to remove the u32 filter 800::%x of %s: %s",
                                           QOS_MAC_LINK_NODE + 1, br->name, why(r, w));
        }
        return 0;
}

static int handle_bridge_setup(const Acl *acl, const NhQosBridgeSetup *b, NhReply *reply) {
        NetdevLink br;
        Undo undo;
        bool created;
        char w[WHY_MAX];
        int r;

        r = check_bridge(acl, b->ifname, &br, reply);
        if (r < 0)
                return r;
        undo = (Undo) { .ifindex = br.ifindex, .ifname = b->ifname, .bridge = true };

        if (b->has_hierarchy) {
                r = ensure_htb_root(br.ifindex, b->ifname, QOS_BRIDGE_DEFCLS, &undo.root_created, reply);
                if (r >= 0)
                        r = ensure_class(br.ifindex, b->ifname, QOS_ROOT_QDISC, QOS_ROOT_CLASS, &b->root,
                                         &created, reply);
                if (r >= 0)
                        r = ensure_class(br.ifindex, b->ifname, QOS_ROOT_CLASS, QOS_DEFAULT_CLASS, &b->def,
                                         &created, reply);
                if (r >= 0)
                        r = ensure_leaf(br.ifindex, b->ifname, QOS_DEFAULT_CLASS, QOS_LEAF_QDISC, b->leaf,
                                        reply);
                if (r >= 0)
                        r = ensure_mac_table(&br, reply);
                if (r < 0)
                        goto fail;
        } else if (root_is_ours(br.ifindex)) {
                /* The bridge's own default (noqueue) comes back; floor classes go with the root. */
                r = netdev_qdisc_delete(br.ifindex, QOS_TC_H_ROOT, QOS_ROOT_QDISC, "htb");
                if (r < 0 && r != -ENOENT)
                        return reply_error(reply, r, "failed to remove the root qdisc of %s: %s", b->ifname,
                                           why(r, w));
        }

        r = apply_ingress(&br, b->has_police ? &b->police : NULL, b->has_ifb ? &b->ifb : NULL, b->leaf,
                          &undo, reply);
        if (r < 0)
                goto fail;
        reply->ifindex = br.ifindex;
        return 0;

fail:
        undo_run(&undo);
        return -(int) reply->error;
}

static int handle_bridge_teardown(const Acl *acl, const NhQosClear *c, NhReply *reply) {
        NetdevLink br;
        char w[WHY_MAX];
        int r;

        r = check_bridge(acl, c->ifname, &br, reply);
        if (r < 0)
                return r;
        if (root_is_ours(br.ifindex)) {
                r = netdev_qdisc_delete(br.ifindex, QOS_TC_H_ROOT, QOS_ROOT_QDISC, "htb");
                if (r < 0 && r != -ENOENT)
                        return reply_error(reply, r, "failed to remove the root qdisc of %s: %s", c->ifname,
                                           why(r, w));
        }
        r = remove_ingress(br.ifindex, c->ifname, reply);
        if (r < 0)
                return r;
        reply->ifindex = br.ifindex;
        return 0;
}

/* Floor operations need the hierarchy BRIDGE_SETUP made. */
static int check_hierarchy(const NetdevLink *br, NhReply *reply) {
        NetdevQdisc root;
        int r;

        /* The root qdisc alone, not a dump of all (one leaf per floor). What a dump leaves out (the
         * noop qdisc of a link never up) the kernel does not show either: EINVAL. */
        r = netdev_qdisc_get(br->ifindex, QOS_TC_H_ROOT, &root);
        if (r < 0 && r != -ENOENT && r != -EINVAL)
                return reply_error(reply, r, "cannot read the root qdisc of %s: %s", br->name, strerror(-r));
        if (r < 0 || !streq(root.kind, "htb") || root.handle != QOS_ROOT_QDISC ||
            root.htb_defcls != QOS_BRIDGE_DEFCLS)
                return reply_error(reply, ENOENT,
                                   "bridge %s has no QoS hierarchy (root qdisc htb 1: default 2); "
                                   "its network needs an inbound average",
                                   br->name);
        return 0;
}

static int set_default_class(const NetdevLink *br, const QosHtbParams *def, NhReply *reply) {
        char w[WHY_MAX];
        int r;

        r = netdev_htb_class_set(br->ifindex, QOS_ROOT_CLASS, QOS_DEFAULT_CLASS, def, NETDEV_TC_CHANGE);
        if (r == -ENOENT)
                return reply_error(reply, ENOENT, "bridge %s has no default class 1:2", br->name);
        if (r < 0)
                return reply_error(reply, r, "failed to change class 1:2 of %s: %s", br->name, why(r, w));
        return 0;
}

/* The floor filters of bridges.
 *
 * FLOOR_ADD needs the u32 nodes of one bucket of the MAC table (the free node numbers, the node the
 * MAC may have already) and the nodes that match its MAC or point to its class wherever they are;
 * FLOOR_REMOVE the nodes pointing to its class (it is not told the MAC). The kernel looks a node up
 * by its handle, not by class, MAC or bucket: only a dump of all filters tells, and that dump
 * carries one node per floor. So the helper keeps a copy of the u32 nodes at 1: of each bridge it
 * was asked about: one dump the first time, then the kernel's notifications, read at the start of
 * each request, keep it current node by node. What they cannot tell node by node (a classifier
 * instance, a u32 table or a chain gone, the root qdisc or the link gone, notifications lost) drops
 * the copy, and the next request dumps again. Without notifications (their socket failed) every
 * request dumps, as it always did. Only u32 nodes are copied, not tables or classifier instances:
 * the kernel deletes those along with the last node, without a notification of their own. */

enum {
        FLOOR_IDX_KEY,    /* chain, prio, handle: what identifies a node */
        FLOOR_IDX_CLASS,  /* classid */
        FLOOR_IDX_BUCKET, /* table and bucket (the handle without its node number) */
        FLOOR_IDX_MAC,    /* the MAC of a floor filter's keys (only nodes that have one) */
        _FLOOR_IDX_MAX,
};

typedef struct FloorNode {
        uint32_t chain, handle, classid;
        uint16_t prio, protocol;
        bool terminal, is_mac;
        uint8_t mac[6];
        uint32_t next[_FLOOR_IDX_MAX]; /* slot + 1 of the next node in the same hash chain, 0: none */
} FloorNode;

typedef struct FloorView {
        int ifindex;
        uint32_t parent;
        bool cached; /* kept in floor_mirror, else freed after the request */
        FloorNode *slots;
        uint32_t n_slots, n_alloc, n_nodes;
        uint32_t free_slot;                 /* slot + 1 of a free slot (they chain through next[KEY]) */
        uint32_t *heads[_FLOOR_IDX_MAX];    /* slot + 1 of the first node of each hash chain */
        uint32_t n_heads;                   /* a power of two */
        struct FloorView *next;
} FloorView;

typedef struct FloorMirror {
        NetdevTcMonitor *monitor;
        bool no_monitor; /* it failed: dump every time */
        FloorView *views;
} FloorMirror;

static FloorMirror floor_mirror;

#define FLOOR_VIEW_HEADS_MIN 64u

static uint32_t hash64(uint64_t x) {
        x ^= x >> 33;
        x *= UINT64_C(0xff51afd7ed558ccd);
        x ^= x >> 33;
        x *= UINT64_C(0xc4ceb9fe1a85ec53);
        x ^= x >> 33;
        return (uint32_t) x;
}

static uint32_t mac_hash(const uint8_t mac[static 6]) {
        uint64_t x = 0;

        memcpy(&x, mac, 6);
        return hash64(x);
}

static uint32_t key_hash(uint32_t chain, uint16_t prio, uint32_t handle) {
        return hash64(((uint64_t) chain << 48) ^ ((uint64_t) prio << 32) ^ handle);
}

static uint32_t bucket_hash(uint32_t handle) {
        return hash64(handle & ~QOS_U32_NODE_MAX);
}

static uint32_t class_hash(uint32_t classid) {
        return hash64(classid);
}

static uint32_t node_hash(const FloorNode *x, unsigned idx) {
        switch (idx) {
        case FLOOR_IDX_KEY:
                return key_hash(x->chain, x->prio, x->handle);
        case FLOOR_IDX_CLASS:
                return class_hash(x->classid);
        case FLOOR_IDX_BUCKET:
                return bucket_hash(x->handle);
        default:
                return mac_hash(x->mac);
        }
}

static bool node_indexed(const FloorNode *x, unsigned idx) {
        return idx != FLOOR_IDX_MAC || x->is_mac;
}

/* The first node of the hash chain of h in index idx (then x->next[idx]), NULL at the end. */
static FloorNode *view_first(const FloorView *v, unsigned idx, uint32_t h) {
        uint32_t s = v->heads[idx][h & (v->n_heads - 1)];
        return s ? &v->slots[s - 1] : NULL;
}

static FloorNode *view_next(const FloorView *v, const FloorNode *x, unsigned idx) {
        return x->next[idx] ? &v->slots[x->next[idx] - 1] : NULL;
}

static uint32_t view_slot(const FloorView *v, const FloorNode *x) {
        return (uint32_t) (x - v->slots) + 1;
}

static void view_link(FloorView *v, FloorNode *x) {
        for (unsigned idx = 0; idx < _FLOOR_IDX_MAX; idx++) {
                uint32_t *head = &v->heads[idx][node_hash(x, idx) & (v->n_heads - 1)];

                if (!node_indexed(x, idx))
                        continue;
                x->next[idx] = *head;
                *head = view_slot(v, x);
        }
}

static void view_unlink(FloorView *v, FloorNode *x) {
        uint32_t s = view_slot(v, x);

        for (unsigned idx = 0; idx < _FLOOR_IDX_MAX; idx++) {
                uint32_t *p = &v->heads[idx][node_hash(x, idx) & (v->n_heads - 1)];

                if (!node_indexed(x, idx))
                        continue;
                while (*p != 0 && *p != s)
                        p = &v->slots[*p - 1].next[idx];
                if (*p == s)
                        *p = x->next[idx];
        }
}

static int view_rehash(FloorView *v, uint32_t n_heads) {
        uint32_t *heads[_FLOOR_IDX_MAX] = {};

        for (unsigned idx = 0; idx < _FLOOR_IDX_MAX; idx++) {
                heads[idx] = new0(uint32_t, n_heads);
                if (!heads[idx]) {
                        for (unsigned j = 0; j < idx; j++)
                                free(heads[j]);
                        return -ENOMEM;
                }
        }
        for (unsigned idx = 0; idx < _FLOOR_IDX_MAX; idx++) {
                free(v->heads[idx]);
                v->heads[idx] = heads[idx];
        }
        v->n_heads = n_heads;
        /* Free slots have handle 0 (node 0): never a node of ours. */
        for (uint32_t s = 0; s < v->n_slots; s++)
                if (QOS_U32_NODE(v->slots[s].handle) != 0)
                        view_link(v, &v->slots[s]);
        return 0;
}

static FloorView *view_free(FloorView *v) {
        if (!v)
                return NULL;
        for (unsigned idx = 0; idx < _FLOOR_IDX_MAX; idx++)
                free(v->heads[idx]);
        free(v->slots);
        free(v);
        return NULL;
}

static FloorView *view_new(int ifindex, uint32_t parent) {
        FloorView *v = new0(FloorView, 1);

        if (!v)
                return NULL;
        v->ifindex = ifindex;
        v->parent = parent;
        if (view_rehash(v, FLOOR_VIEW_HEADS_MIN) < 0)
                return view_free(v);
        return v;
}

static FloorNode *view_find(const FloorView *v, uint32_t chain, uint16_t prio, uint32_t handle) {
        for (FloorNode *x = view_first(v, FLOOR_IDX_KEY, key_hash(chain, prio, handle)); x;
             x = view_next(v, x, FLOOR_IDX_KEY))
                if (x->chain == chain && x->prio == prio && x->handle == handle)
                        return x;
        return NULL;
}

static void view_del(FloorView *v, uint32_t chain, const NetdevFilter *f) {
        FloorNode *x = view_find(v, chain, f->prio, f->handle);

        if (!x)
                return;
        view_unlink(v, x);
        *x = (FloorNode) { .next[FLOOR_IDX_KEY] = v->free_slot };
        v->free_slot = view_slot(v, x);
        v->n_nodes--;
}

/* A u32 node added or changed; anything else is not kept. */
static int view_put(FloorView *v, uint32_t chain, const NetdevFilter *f) {
        FloorNode *x;

        if (!streq(f->kind, "u32") || QOS_U32_NODE(f->handle) == 0)
                return 0;
        view_del(v, chain, f);
        if (v->n_nodes >= v->n_heads && view_rehash(v, v->n_heads * 2) < 0)
                return -ENOMEM;
        if (v->free_slot != 0) {
                x = &v->slots[v->free_slot - 1];
                v->free_slot = x->next[FLOOR_IDX_KEY];
        } else {
                if (v->n_slots == v->n_alloc) {
                        uint32_t n = MAX(v->n_alloc * 2, FLOOR_VIEW_HEADS_MIN);
                        FloorNode *slots = reallocarray(v->slots, n, sizeof *slots);

                        if (!slots)
                                return -ENOMEM;
                        v->slots = slots;
                        v->n_alloc = n;
                }
                x = &v->slots[v->n_slots++];
        }
        *x = (FloorNode) {
                .chain = chain,
                .handle = f->handle,
                .classid = f->u32.classid,
                .prio = f->prio,
                .protocol = f->protocol,
                .terminal = f->u32.terminal,
        };
        x->is_mac = qos_mac_from_keys(f->u32.keys, f->u32.n_keys, x->mac);
        view_link(v, x);
        v->n_nodes++;
        return 0;
}

static void mirror_drop(FloorView **p) {
        FloorView *v = *p;

        *p = v->next;
        view_free(v);
}

static void mirror_drop_all(FloorMirror *m) {
        while (m->views)
                mirror_drop(&m->views);
}

static void mirror_event(const NetdevTcEvent *e, void *userdata) {
        FloorMirror *m = userdata;

        if (e->type == NETDEV_TC_EVENT_LOST) {
                mirror_drop_all(m);
                return;
        }
        for (FloorView **p = &m->views; *p;) {
                FloorView *v = *p;
                bool drop = false;

                if (v->ifindex != e->ifindex) {
                        p = &v->next;
                        continue;
                }
                switch (e->type) {
                case NETDEV_TC_EVENT_FILTER_NEW:
                        drop = e->parent == v->parent && view_put(v, e->chain, &e->filter) < 0;
                        break;
                case NETDEV_TC_EVENT_FILTER_DEL:
                        if (e->parent != v->parent)
                                break;
                        /* A whole instance, chain or u32 table (with its nodes), or a node. */
                        if (QOS_U32_NODE(e->filter.handle) == 0)
                                drop = true;
                        else if (streq(e->filter.kind, "u32"))
                                view_del(v, e->chain, &e->filter);
                        break;
                case NETDEV_TC_EVENT_CHAIN_DEL:
                        drop = e->parent == v->parent;
                        break;
                case NETDEV_TC_EVENT_QDISC_DEL:
                        /* The qdisc the filters are attached to (qdisc handles are unique on a link). */
                        drop = e->handle == QOS_HANDLE(QOS_HANDLE_MAJ(v->parent), 0);
                        break;
                default:
                        drop = true;
                        break;
                }
                if (drop)
                        mirror_drop(p);
                else
                        p = &v->next;
        }
}

static void floor_view_release(FloorView *v) {
        if (v && !v->cached)
                view_free(v);
}

/* The u32 nodes at 1: of the bridge as they are now. Release it before the next request. */
static int floor_view_get(const NetdevLink *br, FloorView **ret, NhReply *reply) {
        _cleanup_free_ NetdevChainFilter *f = NULL;
        FloorMirror *m = &floor_mirror;
        FloorView *v;
        size_t n = 0;
        int r;

        if (!m->monitor && !m->no_monitor) {
                r = netdev_tc_monitor_new(&m->monitor);
                if (r < 0) {
                        log_warning_errno(r, "Cannot follow the kernel's tc notifications, every floor "
                                             "request will read all filters of its bridge: %m");
                        m->no_monitor = true;
                }
        }
        if (m->monitor) {
                r = netdev_tc_monitor_drain(m->monitor, mirror_event, m);
                if (r < 0) {
                        log_warning_errno(r, "Cannot read the kernel's tc notifications any more, every "
                                             "floor request will read all filters of its bridge: %m");
                        m->monitor = netdev_tc_monitor_free(m->monitor);
                        m->no_monitor = true;
                        mirror_drop_all(m);
                }
        }
        for (v = m->views; v; v = v->next)
                if (v->ifindex == br->ifindex && v->parent == QOS_ROOT_QDISC) {
                        *ret = v;
                        return 0;
                }

        /* Changes from now on are in the notifications the next request reads: applied to this
         * dump they end where the kernel is, node by node. */
        r = netdev_filter_list_chains(br->ifindex, QOS_ROOT_QDISC, &f, &n);
        if (r < 0)
                return reply_error(reply, r, "cannot list the filters of %s: %s", br->name, strerror(-r));
        v = view_new(br->ifindex, QOS_ROOT_QDISC);
        if (!v)
                return reply_error(reply, ENOMEM, "out of memory");
        for (size_t i = 0; i < n; i++)
                if (view_put(v, f[i].chain, &f[i].filter) < 0) {
                        view_free(v);
                        return reply_error(reply, ENOMEM, "out of memory");
                }
        if (m->monitor) {
                v->cached = true;
                v->next = m->views;
                m->views = v;
        }
        *ret = v;
        return 0;
}

/* A node of the MAC table at the floor filters' priority, matching every protocol. */
static bool is_floor_node(const FloorNode *x) {
        return x->prio == QOS_FLOOR_FILTER_PRIO && x->protocol == QOS_ETH_P_ALL &&
               QOS_U32_HTID(x->handle) == QOS_MAC_TABLE_HTID && QOS_U32_NODE(x->handle) != 0;
}

/* The order of a filter dump, for the nodes of one table: the first of several is the one a dump
 * showed first. */
static bool dumped_before(const FloorNode *a, const FloorNode *b) {
        return a->handle != b->handle ? a->handle < b->handle : a->chain < b->chain;
}

/* The MAC table 1: with its 256 buckets, read by handle. */
static int check_mac_table(const NetdevLink *br, NhReply *reply) {
        NetdevFilter t;
        int r;

        r = netdev_filter_get(br->ifindex, QOS_ROOT_QDISC, QOS_FLOOR_FILTER_PRIO, QOS_ETH_P_ALL, "u32",
                              QOS_MAC_TABLE, &t);
        /* ENOENT: no such table or no instance at that priority; EINVAL: one of another kind or
         * protocol there, or no qdisc 1: */
        if (r == -ENOENT || r == -EINVAL ||
            (r >= 0 && (t.handle != QOS_MAC_TABLE || t.u32.divisor != QOS_MAC_TABLE_BUCKETS)))
                return reply_error(reply, ENOENT, "bridge %s has no u32 MAC table 1:", br->name);
        if (r < 0)
                return reply_error(reply, r, "cannot read the u32 MAC table of %s: %s", br->name,
                                   strerror(-r));
        return 0;
}

/* What FLOOR_ADD finds among the floor nodes (is_floor_node()) of a bridge, from its copy of them:
 * the MAC's bucket, the MAC's nodes and the class' nodes, never all of them. */
typedef struct FloorScan {
        uint32_t other_class; /* a node of another class matches the MAC (the first a dump shows) */
        uint32_t keep;        /* the MAC's node of the class in its bucket: a repeated request */
        uint32_t *stale;      /* the other nodes of the class: the MAC changed */
        size_t n_stale;
        uint64_t used[(QOS_U32_NODE_MAX + 1) / 64]; /* node numbers taken in the MAC's bucket */
} FloorScan;

static int floor_scan(const FloorView *v, uint32_t classid, const uint8_t mac[static 6], FloorScan *ret) {
        const unsigned bucket = qos_mac_bucket(mac);
        const uint32_t bucket_handle = QOS_U32_HANDLE(QOS_MAC_TABLE_HTID, bucket, 0);
        const FloorNode *other = NULL, *keep = NULL;
        size_t n = 0;

        *ret = (FloorScan) {};
        for (const FloorNode *x = view_first(v, FLOOR_IDX_MAC, mac_hash(mac)); x;
             x = view_next(v, x, FLOOR_IDX_MAC))
                if (is_floor_node(x) && x->is_mac && memcmp(x->mac, mac, 6) == 0 &&
                    x->classid != classid && (!other || dumped_before(x, other)))
                        other = x;
        if (other) {
                ret->other_class = other->classid;
                return 0;
        }

        for (const FloorNode *x = view_first(v, FLOOR_IDX_BUCKET, bucket_hash(bucket_handle)); x;
             x = view_next(v, x, FLOOR_IDX_BUCKET)) {
                if (!is_floor_node(x) || QOS_U32_BUCKET(x->handle) != bucket)
                        continue;
                ret->used[QOS_U32_NODE(x->handle) / 64] |= UINT64_C(1) << (QOS_U32_NODE(x->handle) % 64);
                if (x->classid == classid && x->is_mac && memcmp(x->mac, mac, 6) == 0 && x->terminal &&
                    (!keep || dumped_before(x, keep)))
                        keep = x;
        }
        ret->keep = keep ? keep->handle : 0;

        for (const FloorNode *x = view_first(v, FLOOR_IDX_CLASS, class_hash(classid)); x;
             x = view_next(v, x, FLOOR_IDX_CLASS))
                n++;
        ret->stale = new0(uint32_t, n + 1);
        if (!ret->stale)
                return -ENOMEM;
        for (const FloorNode *x = view_first(v, FLOOR_IDX_CLASS, class_hash(classid)); x;
             x = view_next(v, x, FLOOR_IDX_CLASS))
                if (is_floor_node(x) && x->classid == classid && x != keep)
                        ret->stale[ret->n_stale++] = x->handle;
        return 0;
}

static int handle_floor_add(const Acl *acl, const NhQosFloor *f, NhReply *reply) {
        _cleanup_free_ uint32_t *stale = NULL;
        const uint32_t classid = QOS_FLOOR_CLASS(f->class_id);
        const unsigned bucket = qos_mac_bucket(f->mac);
        char m[ETHER_ADDR_STR_MAX], w[WHY_MAX], h[HANDLE_STR_MAX];
        size_t n_stale = 0;
        uint32_t keep = 0, node = 0;
        bool created;
        FloorScan scan;
        FloorView *view;
        EtherAddr mac;
        NetdevLink br;
        NetdevU32 u;
        Undo undo;
        int r;

        memcpy(mac.bytes, f->mac, sizeof mac.bytes);
        ether_addr_format(&mac, m);
        r = check_bridge(acl, f->ifname, &br, reply);
        if (r < 0)
                return r;
        r = check_hierarchy(&br, reply);
        if (r < 0)
                return r;
        undo = (Undo) { .ifindex = br.ifindex, .ifname = f->ifname, .bridge = true };

        r = floor_view_get(&br, &view, reply);
        if (r < 0)
                return r;
        r = floor_scan(view, classid, f->mac, &scan);
        floor_view_release(view);
        if (r < 0)
                return reply_error(reply, r, "out of memory");
        stale = scan.stale;
        n_stale = scan.n_stale;
        keep = scan.keep;
        if (scan.other_class != 0)
                return reply_error(reply, EEXIST, "frames to %s already go to class %s on bridge %s", m,
                                   handle_str(scan.other_class, h), f->ifname);
        r = check_mac_table(&br, reply);
        if (r < 0)
                return r;

        r = ensure_class(br.ifindex, f->ifname, QOS_ROOT_CLASS, classid, &f->shape, &created, reply);
        if (r < 0)
                return r;
        if (created)
                undo.class_created = classid;
        r = ensure_leaf(br.ifindex, f->ifname, classid, QOS_FLOOR_LEAF(f->class_id), f->leaf, reply);
        if (r < 0)
                goto fail;

        if (keep == 0) {
                /* The lowest node free in the MAC's bucket; node 0 names the bucket itself. */
                for (uint32_t i = 1; i <= QOS_U32_NODE_MAX && node == 0; i++)
                        if (!(scan.used[i / 64] & (UINT64_C(1) << (i % 64))))
                                node = i;
                if (node == 0) {
                        reply_error(reply, ENOSPC, "bucket %02x of the u32 MAC table of %s is full", bucket,
                                    f->ifname);
                        goto fail;
                }
                u = (NetdevU32) {
                        .hash = qos_mac_bucket_table(f->mac),
                        .terminal = true,
                        .classid = classid,
                        .n_keys = QOS_MAC_KEYS,
                };
                qos_mac_keys(f->mac, u.keys);
                r = netdev_u32_add(br.ifindex, QOS_ROOT_QDISC, QOS_FLOOR_FILTER_PRIO, QOS_ETH_P_ALL,
                                   QOS_U32_HANDLE(QOS_MAC_TABLE_HTID, bucket, node), &u, true);
                if (r < 0) {
                        reply_error(reply, r, "failed to add the filter for %s to %s: %s", m, f->ifname,
                                    why(r, w));
                        goto fail;
                }
                undo.filter_created = QOS_U32_HANDLE(QOS_MAC_TABLE_HTID, bucket, node);
        }

        if (f->has_default) {
                r = set_default_class(&br, &f->def, reply);
                if (r < 0)
                        goto fail;
        }

        /* Only now that the new filter is in place: no moment in which the class gets nothing. */
        for (size_t i = 0; i < n_stale; i++) {
                r = netdev_filter_delete(br.ifindex, QOS_ROOT_QDISC, QOS_FLOOR_FILTER_PRIO, QOS_ETH_P_ALL,
                                         "u32", stale[i]);
                if (r < 0 && r != -ENOENT)
                        log_warning_errno(r, "Failed to remove the old filter %x for class %s of %s: %m",
                                          stale[i], handle_str(classid, h), f->ifname);
        }
        reply->ifindex = br.ifindex;
        return 0;

fail:
        undo_run(&undo);
        return -(int) reply->error;
}

typedef struct FloorFilter {
        uint32_t chain, handle;
        uint16_t protocol;
} FloorFilter;

static int floor_filter_compare(const void *a, const void *b) {
        const FloorFilter *x = a, *y = b;

        if (x->handle != y->handle)
                return x->handle < y->handle ? -1 : 1;
        return x->chain < y->chain ? -1 : x->chain > y->chain;
}

static int handle_floor_remove(const Acl *acl, const NhQosFloor *f, NhReply *reply) {
        _cleanup_free_ FloorFilter *filters = NULL;
        const uint32_t classid = QOS_FLOOR_CLASS(f->class_id);
        char w[WHY_MAX], h[HANDLE_STR_MAX];
        FloorView *view;
        NetdevLink br;
        size_t n = 0;
        int r;

        r = check_bridge(acl, f->ifname, &br, reply);
        if (r < 0)
                return r;

        /* Filters first: the kernel keeps a class that filters point to. Every u32 node at 1: with
         * the class' flowid, whatever its table or protocol, from the bridge's copy of them. */
        r = floor_view_get(&br, &view, reply);
        if (r < 0)
                return r;
        for (const FloorNode *x = view_first(view, FLOOR_IDX_CLASS, class_hash(classid)); x;
             x = view_next(view, x, FLOOR_IDX_CLASS))
                n++;
        filters = new0(FloorFilter, n + 1);
        n = 0;
        if (filters)
                for (const FloorNode *x = view_first(view, FLOOR_IDX_CLASS, class_hash(classid)); x;
                     x = view_next(view, x, FLOOR_IDX_CLASS))
                        if (x->prio == QOS_FLOOR_FILTER_PRIO && x->classid == classid)
                                filters[n++] = (FloorFilter) {
                                        .chain = x->chain, .handle = x->handle, .protocol = x->protocol,
                                };
        floor_view_release(view);
        if (!filters)
                return reply_error(reply, ENOMEM, "out of memory");
        /* In the order of a dump: it decides which go when one cannot. */
        qsort(filters, n, sizeof *filters, floor_filter_compare);
        for (size_t i = 0; i < n; i++) {
                r = netdev_filter_delete(br.ifindex, QOS_ROOT_QDISC, QOS_FLOOR_FILTER_PRIO,
                                         filters[i].protocol, "u32", filters[i].handle);
                if (r < 0 && r != -ENOENT)
                        return reply_error(reply, r, "failed to remove filter %x:%x:%x of %s: %s",
                                           QOS_U32_HTID(filters[i].handle),
                                           QOS_U32_BUCKET(filters[i].handle),
                                           QOS_U32_NODE(filters[i].handle), f->ifname, why(r, w));
        }

        /* The leaf qdisc goes with its class. */
        r = netdev_class_delete(br.ifindex, classid);
        if (r < 0 && r != -ENOENT)
                return reply_error(reply, r, "failed to remove class %s of %s: %s", handle_str(classid, h),
                                   f->ifname, why(r, w));

        if (f->has_default) {
                r = set_default_class(&br, &f->def, reply);
                if (r < 0)
                        return r;
        }
        reply->ifindex = br.ifindex;
        return 0;
}

static int handle_default_rate(const Acl *acl, const NhQosFloor *f, NhReply *reply) {
        NetdevLink br;
        int r;

        r = check_bridge(acl, f->ifname, &br, reply);
        if (r < 0)
                return r;
        r = set_default_class(&br, &f->def, reply);
        if (r < 0)
                return r;
        reply->ifindex = br.ifindex;
        return 0;
}

int nethelper_handle_qos(const Acl *acl, const NhRequest *req, NhReply *reply) {
        switch (req->verb) {
        case NH_VERB_QOS_PROBE:
                return handle_probe(reply);
        case NH_VERB_QOS_APPLY_INTERFACE:
                return handle_apply_interface(&req->qos_apply, reply);
        case NH_VERB_QOS_CLEAR_INTERFACE:
                return handle_clear_interface(&req->qos_clear, reply);
        case NH_VERB_QOS_BRIDGE_SETUP:
                return handle_bridge_setup(acl, &req->qos_bridge, reply);
        case NH_VERB_QOS_BRIDGE_TEARDOWN:
                return handle_bridge_teardown(acl, &req->qos_clear, reply);
        case NH_VERB_QOS_FLOOR_ADD:
                return handle_floor_add(acl, &req->qos_floor, reply);
        case NH_VERB_QOS_FLOOR_REMOVE:
                return handle_floor_remove(acl, &req->qos_floor, reply);
        case NH_VERB_QOS_DEFAULT_RATE:
                return handle_default_rate(acl, &req->qos_floor, reply);
        default:
                return reply_error(reply, EOPNOTSUPP, "unknown verb %u", (unsigned) req->verb);
        }
}
