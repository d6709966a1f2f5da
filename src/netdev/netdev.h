/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Kernel network device operations through libnl-route-3 (rtnetlink) and, for taps,
 * /dev/net/tun, /dev/tapN and /dev/vhost-net. Lookups work unprivileged (the daemon uses them);
 * changes need CAP_NET_ADMIN (only the helper calls them). All functions return 0 or -errno. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "ether.h"

/* Bridges created by virtbus carry this IFLA_IFALIAS so that a stateless helper can tell
 * them from bridges it must not delete. */
#define NETDEV_VIRTBUS_ALIAS "virtbus-managed"

typedef struct NetdevLink {
        int ifindex;
        char name[16];
        char kind[16];    /* "bridge", "tun", "macvtap", "veth", … ("" when none) */
        EtherAddr mac;
        uint32_t mtu;
        bool up;          /* IFF_UP */
        int master;       /* ifindex of the master (bridge), 0 when none */
        char alias[64];   /* IFLA_IFALIAS, "" when none */
        unsigned arptype; /* ARPHRD_ETHER, ARPHRD_LOOPBACK, … */
} NetdevLink;

/* A macvtap or macvlan link, as the kernel reports it. */
typedef struct NetdevMacvlan {
        int ifindex;
        char name[16];
        char kind[16];  /* "macvtap" or "macvlan" */
        uint32_t mode;  /* MACVLAN_MODE_* (linux/if_link.h) */
        int lower;      /* ifindex of the lower device (IFLA_LINK) */
        EtherAddr mac;
} NetdevMacvlan;

#define NETDEV_QDISC_KIND_MAX 16
#define NETDEV_VHOST_NET_PATH "/dev/vhost-net"
#define NETDEV_TUN_PATH "/dev/net/tun"

typedef struct NetdevAddress {
        int family;
        uint8_t address[16];
        unsigned prefixlen;
} NetdevAddress;

/* -ENODEV when there is no such link. */
int netdev_link_lookup(const char *ifname, NetdevLink *ret);
bool netdev_link_exists(const char *ifname);
/* Addresses on a link; *ret is malloc'ed. */
int netdev_link_addresses(int ifindex, NetdevAddress **ret, size_t *ret_n);
/* Bridge attributes read back from IFLA_LINKINFO (STP state and forward delay in seconds). */
int netdev_bridge_get(const char *ifname, bool *ret_stp, uint32_t *ret_forward_delay);
/* -EMEDIUMTYPE when ifname is neither a macvtap nor a macvlan. */
int netdev_macvlan_get(const char *ifname, NetdevMacvlan *ret);
/* The macvtap and macvlan links of this namespace sitting on lower_ifindex; *ret is malloc'ed. */
int netdev_macvlan_uppers(int lower_ifindex, NetdevMacvlan **ret, size_t *ret_n);
/* The kind of a link's root qdisc ("noqueue", "pfifo_fast", "mq", "htb", …); -ENOENT when the
 * kernel reports none. */
int netdev_qdisc_get_root_kind(int ifindex, char kind[static NETDEV_QDISC_KIND_MAX]);
/* The macvtap's character device number, from /sys/class/net/IFNAME/macvtap/tapIFINDEX/dev.
 * sysfs shows the network namespace it was mounted in. */
int netdev_macvtap_devnum(const char *ifname, int ifindex, dev_t *ret);

/* Privileged operations (helper). */
int netdev_bridge_create(const char *ifname, const EtherAddr *mac, uint32_t mtu, bool stp,
                         uint32_t forward_delay);
int netdev_address_add(int ifindex, const NetdevAddress *a);
int netdev_link_set_up(int ifindex);
int netdev_link_set_master(int ifindex, int master_ifindex);
int netdev_link_set_mac(int ifindex, const EtherAddr *mac);
int netdev_link_set_mtu(int ifindex, uint32_t mtu);
int netdev_link_delete(int ifindex);
/* Open /dev/net/tun `queues` times for one tap (IFF_TAP|IFF_NO_PI[|IFF_VNET_HDR][|IFF_MULTI_QUEUE]);
 * fds[] receives one fd per queue. Fails with -EEXIST if a link of that name exists. On failure
 * *ret_open_failed says whether /dev/net/tun itself could not be opened (a device policy, no tun
 * module) rather than the kernel refusing the tap. */
int netdev_tap_create(const char *ifname, bool vnet_hdr, unsigned queues, int *fds, bool *ret_open_failed);
/* Replace the root qdisc with noqueue (RTM_NEWQDISC, NLM_F_CREATE|NLM_F_REPLACE). */
int netdev_qdisc_set_root_noqueue(int ifindex);
/* A macvtap on lower_ifindex in MACVLAN_MODE_* mode, with mac and (if not 0) mtu; it stays down.
 * -EEXIST if a link of that name exists. In passthrough mode the kernel gives it the lower
 * device's MAC instead of mac. */
int netdev_macvtap_create(const char *ifname, int lower_ifindex, uint32_t mode, const EtherAddr *mac,
                          uint32_t mtu);
/* Open /dev/tapIFINDEX `queues` times (one queue each) and set IFF_TAP|IFF_NO_PI[|IFF_VNET_HDR]
 * [|IFF_MULTI_QUEUE] on every fd. Waits up to a second for the node; if it never appears and
 * may_mknod, creates it from devnum for as long as it takes to open it, else -ENOENT. A node
 * that is not the character device devnum is never opened: -EMEDIUMTYPE. */
int netdev_macvtap_open(int ifindex, dev_t devnum, unsigned queues, bool vnet_hdr, bool may_mknod, int *fds);
/* Open /dev/vhost-net `queues` times. -ENOENT when it does not exist, -EMEDIUMTYPE when it is not
 * the vhost-net character device. */
int netdev_vhost_open(unsigned queues, int *fds);

/* Traffic control (qdiscs, HTB classes, u32 filters and their actions), the IFB devices ingress
 * shaping goes through, and the probe of what the kernel offers. Handles are tc handles
 * (QOS_HANDLE() in qos-layout.h, which also has the layout virtbus builds from these). The dumps
 * work unprivileged: the daemon compares them with its plan when it reconciles. */

#include "qos-layout.h"

typedef struct NetdevTcStats {
        uint64_t bytes, packets; /* sent (dequeued) */
        uint32_t drops, overlimits, requeues, qlen, backlog;
} NetdevTcStats;

typedef struct NetdevQdisc {
        int ifindex;
        uint32_t handle, parent;
        char kind[NETDEV_QDISC_KIND_MAX];
        uint32_t htb_defcls, htb_r2q; /* htb */
        uint32_t limit;               /* pfifo, bfifo, sfq */
        uint32_t sfq_perturb;         /* sfq, seconds */
        NetdevTcStats stats;
} NetdevQdisc;

typedef struct NetdevClass {
        int ifindex;
        uint32_t handle, parent;
        uint32_t leaf; /* handle of the qdisc attached to it, 0 when none is reported */
        char kind[NETDEV_QDISC_KIND_MAX];
        QosHtbParams htb; /* htb; bursts converted back from the kernel's ticks (qos_burst_equal()).
                           * HTB changes quantum and prio of leaf classes only: compare them only
                           * where htb_level is 0. */
        uint32_t htb_level;
        NetdevTcStats stats;
} NetdevClass;

typedef enum NetdevActionKind {
        NETDEV_ACTION_NONE = 0,
        NETDEV_ACTION_MIRRED, /* egress redirect (TCA_EGRESS_REDIR) to mirred_ifindex */
        NETDEV_ACTION_POLICE,
        NETDEV_ACTION_OTHER,  /* dumps: something else, or more than one action */
} NetdevActionKind;

typedef struct NetdevAction {
        NetdevActionKind kind;
        int mirred_ifindex;
        int mirred_eaction; /* TCA_EGRESS_REDIR, … (dumps) */
        int verdict;        /* dumps: mirred's or police's (exceed) TC_ACT_* */
        QosPoliceParams police;
} NetdevAction;

#define NETDEV_U32_KEYS_MAX 16

/* One u32 node or hash table. Keys in host byte order; a node without keys matches everything. */
typedef struct NetdevU32 {
        uint32_t divisor;   /* > 0: this is a hash table of that many buckets (nothing else is set) */
        uint32_t hash;      /* table and bucket the node is (to be) in, TCA_U32_HASH; 0 = root table */
        uint32_t link;      /* table to continue in, 0 = none; the bucket is picked by hmask/hoff */
        uint32_t hmask;
        int32_t hoff;
        uint32_t classid;   /* 0 = none */
        bool terminal;      /* TC_U32_TERMINAL: a match ends the lookup (needed for classid/actions) */
        size_t n_keys;      /* dumps: the kernel's count, even beyond NETDEV_U32_KEYS_MAX */
        QosU32Key keys[NETDEV_U32_KEYS_MAX];
        NetdevAction action;
} NetdevU32;

typedef struct NetdevFilter {
        int ifindex;
        uint32_t parent, handle; /* handle 0: the entry for the classifier instance itself */
        uint16_t prio, protocol; /* protocol: ETH_P_* in host byte order */
        char kind[NETDEV_QDISC_KIND_MAX];
        NetdevU32 u32;           /* kind "u32" */
} NetdevFilter;

/* Dumps; *ret is malloc'ed (NULL with *ret_n 0 when there is nothing). -ENODEV for a missing link.
 * Filters are those attached at parent (a qdisc "1:", a class "1:2", or QOS_INGRESS_QDISC). */
int netdev_qdisc_list(int ifindex, NetdevQdisc **ret, size_t *ret_n);
int netdev_class_list(int ifindex, NetdevClass **ret, size_t *ret_n);
int netdev_filter_list(int ifindex, uint32_t parent, NetdevFilter **ret, size_t *ret_n);
/* The kernel's extended ack message of the last failed tc/IFB operation of this thread ("" when it
 * gave none): a reason a user can act on, for error messages. */
const char *netdev_tc_error(void);

/* Privileged operations. Qdiscs are added with NLM_F_CREATE|NLM_F_REPLACE: whatever sits at parent
 * is replaced; an existing qdisc with that handle and kind is changed where the kind allows. */
int netdev_qdisc_add_htb(int ifindex, uint32_t parent, uint32_t handle, uint32_t defcls, uint32_t r2q);
int netdev_qdisc_add_pfifo(int ifindex, uint32_t parent, uint32_t handle, uint32_t limit);
int netdev_qdisc_add_sfq(int ifindex, uint32_t parent, uint32_t handle, uint32_t perturb);
int netdev_qdisc_add_ingress(int ifindex);
/* -ENOENT when there is no such qdisc; with kind set, only a qdisc of that kind is deleted. */
int netdev_qdisc_delete(int ifindex, uint32_t parent, uint32_t handle, const char *kind);

typedef enum NetdevTcMode {
        NETDEV_TC_CREATE_OR_CHANGE,
        NETDEV_TC_CREATE, /* -EEXIST when it exists */
        NETDEV_TC_CHANGE, /* -ENOENT when it does not */
} NetdevTcMode;

int netdev_htb_class_set(int ifindex, uint32_t parent, uint32_t classid, const QosHtbParams *p,
                         NetdevTcMode mode);
int netdev_class_delete(int ifindex, uint32_t classid);

/* A u32 node (or hash table, with divisor) at parent/prio/protocol; handle: the table id for a
 * hash table, else the node's handle (its table part may be 0: u->hash says where), 0 to let the
 * kernel pick. exclusive: -EEXIST when that handle exists, else it is changed. */
int netdev_u32_add(int ifindex, uint32_t parent, uint16_t prio, uint16_t protocol, uint32_t handle,
                   const NetdevU32 *u, bool exclusive);
/* One node (full handle), or with handle 0 every filter of that priority and protocol. */
int netdev_filter_delete(int ifindex, uint32_t parent, uint16_t prio, uint16_t protocol, const char *kind,
                         uint32_t handle);

/* An IFB link (down, with the virtbus alias marker); -EEXIST if a link of that name exists. */
int netdev_ifb_create(const char *ifname);

/* What the kernel offers for QoS (QosCap bits), found by creating each object on a scratch link
 * (QOS_PROBE_IFNAME: an IFB, or a veth pair where there is no ifb) that is deleted again. */
int netdev_qos_probe(unsigned *ret_caps);

/* Targeted reads: one object, named by where it is, at a cost that does not grow with the number
 * of other qdiscs or filters (the kernel looks it up instead of walking everything, as for a dump).
 * -ENOENT when there is none, -ENODEV for a missing link.
 * netdev_qdisc_get(): the qdisc at parent (QOS_TC_H_ROOT, QOS_TC_H_INGRESS, or a class: its leaf);
 * -EINVAL for one a dump leaves out too (the noop qdisc of a link never up, hidden ones). The
 * kernel answers it the way it announces a change: other RTNLGRP_TC listeners see it as well.
 * netdev_filter_get(): one filter of chain 0 at parent/prio/protocol (kind, when set, must match;
 * the kernel says -EINVAL when it does not, when prio has another protocol there, or when there is
 * no qdisc at parent); for u32 a node's full handle, or a hash table's (node 0). */
int netdev_qdisc_get(int ifindex, uint32_t parent, NetdevQdisc *ret);
int netdev_filter_get(int ifindex, uint32_t parent, uint16_t prio, uint16_t protocol, const char *kind,
                      uint32_t handle, NetdevFilter *ret);

/* netdev_filter_list(), with the chain each filter is in. */
typedef struct NetdevChainFilter {
        uint32_t chain;
        NetdevFilter filter;
} NetdevChainFilter;
int netdev_filter_list_chains(int ifindex, uint32_t parent, NetdevChainFilter **ret, size_t *ret_n);

/* The kernel's notifications of tc changes (RTNLGRP_TC) and of links going (RTNLGRP_LINK), for a
 * copy of kernel state kept current without dumping it again. Events that take more along than
 * they name (a whole classifier instance, a u32 table, a chain, a qdisc, a link) are reported as
 * such: what went with them is for the reader to drop. */
typedef enum NetdevTcEventType {
        NETDEV_TC_EVENT_FILTER_NEW, /* ifindex, parent, chain, filter: added or changed */
        NETDEV_TC_EVENT_FILTER_DEL, /* ifindex, parent, chain, filter: deleted. Handle 0: the whole
                                     * classifier instance (prio) or chain; a u32 table: its nodes too */
        NETDEV_TC_EVENT_CHAIN_DEL,  /* ifindex, parent, chain: a filter chain and its filters */
        NETDEV_TC_EVENT_QDISC_DEL,  /* ifindex, parent, handle: a qdisc, with the filters at it and at
                                     * its classes */
        NETDEV_TC_EVENT_LINK_DEL,   /* ifindex: a link gone (or moved to another namespace), all of it */
        NETDEV_TC_EVENT_LOST,       /* notifications were lost or unreadable: forget what they told */
} NetdevTcEventType;

typedef struct NetdevTcEvent {
        NetdevTcEventType type;
        int ifindex;
        uint32_t parent, handle, chain;
        NetdevFilter filter; /* FILTER_* */
} NetdevTcEvent;

typedef struct NetdevTcMonitor NetdevTcMonitor;
typedef void (*NetdevTcEventFunc)(const NetdevTcEvent *e, void *userdata);

/* Subscribes at once: every change from then on is reported by the next drain. */
int netdev_tc_monitor_new(NetdevTcMonitor **ret);
NetdevTcMonitor *netdev_tc_monitor_free(NetdevTcMonitor *m);
/* Calls cb for each notification received since the last drain, in the kernel's order; does not
 * wait for more. A negative errno when the socket failed (the caller should give it up). */
int netdev_tc_monitor_drain(NetdevTcMonitor *m, NetdevTcEventFunc cb, void *userdata);
