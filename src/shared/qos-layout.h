/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The kernel objects virtbus' QoS is made of: tc handles, filter priorities, the u32 MAC hash
 * table, device names, and the parameter structs that travel from the plan (src/conf/qos-plan.h)
 * through the helper protocol to netlink (src/netdev). The daemon's plan, the helper and the
 * daemon's reconciliation all agree on the layout because it is written down once, here.
 *
 * The layout follows libvirt's (libvirt-qos-reference.md), so `tc -s class show` looks familiar:
 *
 *   tap/macvtap/IFB egress:  qdisc htb 1: root default 1
 *                              class 1:1 (the interface's rate)  qdisc LEAF 2: parent 1:1
 *   bridge egress:           qdisc htb 1: root default 2
 *                              class 1:1 (the network's rate)
 *                                class 1:2 (interfaces without floor)  qdisc LEAF 2: parent 1:2
 *                                class 1:ID (one per floor)            qdisc LEAF ID: parent 1:ID
 *                            filter parent 1: prio 2 protocol all u32:
 *                              800::1   match-all, hash on dst MAC byte 5 → table 1: (256 buckets)
 *                              1:B:N    dst MAC == guest MAC → 1:ID   (B = the MAC's last byte)
 *   ingress (any device):    qdisc ingress ffff:
 *                              filter parent ffff: prio 1 protocol all u32 match-all → police, or
 *                              mirred egress redirect to the IFB "vbifb<ifindex>" shaped as above */

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* tc handles: major in the upper 16 bits, minor in the lower ("1:2" = 0x00010002). */
#define QOS_HANDLE(maj, min) ((uint32_t) (((uint32_t) (maj) << 16) | ((uint32_t) (min) & 0xffffu)))
#define QOS_HANDLE_MAJ(h) ((uint32_t) (h) >> 16)
#define QOS_HANDLE_MIN(h) ((uint32_t) (h) & 0xffffu)

#define QOS_ROOT_QDISC QOS_HANDLE(1, 0)    /* "1:" */
#define QOS_ROOT_CLASS QOS_HANDLE(1, 1)    /* "1:1": the device's or the network's rate */
#define QOS_DEFAULT_CLASS QOS_HANDLE(1, 2) /* "1:2": a bridge's class for interfaces without floor */
#define QOS_LEAF_QDISC QOS_HANDLE(2, 0)    /* "2:": the leaf under 1:1 (device) or 1:2 (bridge) */
#define QOS_FLOOR_CLASS(id) QOS_HANDLE(1, id)
#define QOS_FLOOR_LEAF(id) QOS_HANDLE(id, 0)
#define QOS_INGRESS_QDISC QOS_HANDLE(0xffff, 0) /* "ffff:" */
#define QOS_TC_H_ROOT 0xffffffffu               /* TC_H_ROOT */
#define QOS_TC_H_INGRESS 0xfffffff1u            /* TC_H_INGRESS: the parent of the ingress qdisc */

#define QOS_DEVICE_DEFCLS 1 /* taps, macvtaps and IFBs: everything goes to 1:1 */
#define QOS_BRIDGE_DEFCLS 2 /* bridges: unclassified frames go to 1:2 */
#define QOS_R2Q 10          /* HTB's (and tc's) default rate-to-quantum divisor */

/* Class ids of floor classes. 1 and 2 are the root and default classes; 0xffff is reserved too:
 * the leaf qdisc of class 1:ffff would need the handle ffff:, which is the ingress qdisc's. */
#define QOS_CLASS_ID_MIN 3u
#define QOS_CLASS_ID_MAX 0xfffeu

/* Leaf qdiscs. sfq as libvirt uses it where the kernel has it; else pfifo, the qdisc HTB attaches
 * by itself, but created explicitly with a limit: the implicit one takes the device's
 * tx_queue_len, which is 32 on an IFB and may be 0 on a bridge. */
typedef enum QosLeaf {
        QOS_LEAF_PFIFO = 1,
        QOS_LEAF_SFQ = 2,
        _QOS_LEAF_MAX,
} QosLeaf;
#define QOS_LEAF_FIFO_LIMIT 1000 /* packets: Linux' default txqueuelen */
#define QOS_SFQ_PERTURB 10       /* seconds, as libvirt */

/* Filters. */
#define QOS_ETH_P_ALL 0x0003u        /* ETH_P_ALL: floor filters match every ethertype */
#define QOS_FLOOR_FILTER_PRIO 2      /* libvirt's priority for the floor filters */
#define QOS_INGRESS_FILTER_PRIO 1
#define QOS_INGRESS_FLOWID 1u        /* ":1", as libvirt's "flowid :1" */
#define QOS_U32_HANDLE(htid, bucket, node) \
        ((uint32_t) (((uint32_t) (htid) << 20) | ((uint32_t) (bucket) << 12) | (uint32_t) (node)))
#define QOS_U32_HTID(h) ((uint32_t) (h) >> 20)
#define QOS_U32_BUCKET(h) (((uint32_t) (h) >> 12) & 0xffu)
#define QOS_U32_NODE(h) ((uint32_t) (h) & 0xfffu)
#define QOS_U32_NODE_MAX 0xfffu
#define QOS_U32_ROOT_HTID 0x800u     /* the table the kernel creates with the first u32 filter */
#define QOS_MAC_TABLE_HTID 1u        /* our hash table "1:" */
#define QOS_MAC_TABLE QOS_U32_HANDLE(QOS_MAC_TABLE_HTID, 0, 0)
#define QOS_MAC_TABLE_BUCKETS 256u
#define QOS_MAC_LINK_NODE 1u         /* the node in the root table that hashes into 1: ("800::1") */
/* u32 offsets are relative to the network header; on a bridge's egress the Ethernet header sits
 * right before it, so the destination MAC is bytes -14..-9. Keys are aligned 32-bit words. */
#define QOS_MAC_HASH_OFFSET (-12)    /* the word holding destination MAC bytes 2..5 */
#define QOS_MAC_HASH_MASK 0x000000ffu /* its last byte, destination MAC byte 5, picks the bucket */
#define QOS_MAC_KEYS 2

/* Devices. */
#define QOS_IFB_PREFIX "vbifb"         /* + the ifindex of the device whose ingress it shapes */
#define QOS_PROBE_IFNAME "vbqosprobe"  /* the helper's scratch link for the capability probe */
#define QOS_POLICE_MTU 65536u          /* libvirt's "mtu 64kb" */

/* Upper bounds of what the plan can produce from <bandwidth> (values up to 2^32-1 KiB/s, KiB). */
#define QOS_RATE_MAX (UINT64_C(0xffffffff) * 1024) /* bytes/s */
#define QOS_BURST_MAX (UINT64_C(0xffffffff) * 1024) /* bytes */

/* What the kernel offers, found by the helper's probe (netdev_qos_probe()). */
typedef enum QosCap {
        QOS_CAP_HTB = 1u << 0,
        QOS_CAP_SFQ = 1u << 1,
        QOS_CAP_INGRESS = 1u << 2,
        QOS_CAP_U32 = 1u << 3,
        QOS_CAP_MIRRED = 1u << 4,
        QOS_CAP_POLICE = 1u << 5,
        QOS_CAP_IFB = 1u << 6,
        _QOS_CAP_ALL = (1u << 7) - 1,
} QosCap;
#define QOS_CAPS_STR_MAX 64

/* One HTB class. Rates in bytes/s, bursts in bytes, quantum in bytes. Fixed layout: it travels
 * over the helper protocol as is. */
typedef struct QosHtbParams {
        uint64_t rate;   /* 1..QOS_RATE_MAX */
        uint64_t ceil;   /* rate..QOS_RATE_MAX */
        uint64_t burst;  /* 1..QOS_BURST_MAX */
        uint64_t cburst; /* 1..QOS_BURST_MAX */
        uint32_t quantum; /* >= 1 */
        uint32_t prio;   /* 0..7 */
} QosHtbParams;

/* Ingress policing (act_police): drop what exceeds rate with a bucket of burst bytes. */
typedef struct QosPoliceParams {
        uint64_t rate;  /* 1..QOS_RATE_MAX bytes/s */
        uint64_t burst; /* 1..QOS_BURST_MAX bytes */
        uint32_t mtu;   /* 1..65536 bytes */
        uint32_t reserved; /* 0 */
} QosPoliceParams;

/* One u32 key: (word at off & mask) == val, in host byte order; off relative to the network
 * header, a multiple of 4. */
typedef struct QosU32Key {
        uint32_t val;
        uint32_t mask;
        int32_t off;
} QosU32Key;

/* The keys matching destination MAC mac exactly (bytes 0..1 in the word at -16, 2..5 at -12, as
 * libvirt's "match u16 … at -14" / "match u32 … at -12"), and the bucket of 1: it belongs in. */
void qos_mac_keys(const uint8_t mac[static 6], QosU32Key ret[static QOS_MAC_KEYS]);
unsigned qos_mac_bucket(const uint8_t mac[static 6]);
/* The TCA_U32_HASH value addressing that bucket. */
uint32_t qos_mac_bucket_table(const uint8_t mac[static 6]);
/* The MAC a floor filter with these keys matches; false when the keys are not such a filter. */
bool qos_mac_from_keys(const QosU32Key *keys, size_t n_keys, uint8_t ret[static 6]);

/* HTB keeps bursts as the time it takes to send them at the class' rate, in psched ticks
 * (64 ns). Rounded up, at least one tick, clamped to the 32 bits the kernel has. */
uint32_t qos_burst_to_ticks(uint64_t bytes, uint64_t rate);
uint64_t qos_ticks_to_burst(uint32_t ticks, uint64_t rate);
/* True when the two bursts are the same at the kernel's resolution (one tick at rate). */
bool qos_burst_equal(uint64_t a, uint64_t b, uint64_t rate);

/* "vbifb" + ifindex; -EINVAL for ifindex <= 0. */
int qos_ifb_name(int ifindex, char ret[static IFNAMSIZ]);
/* "htb sfq ingress …" of the capabilities set, "none" when empty. */
const char *qos_caps_format(unsigned caps, char buf[static QOS_CAPS_STR_MAX]);
const char *qos_leaf_to_string(QosLeaf leaf);

/* Range checks of the structs above, as the helper applies them to requests; on failure a reason
 * goes into err. */
int qos_htb_params_check(const QosHtbParams *p, char *err, size_t err_size);
int qos_police_params_check(const QosPoliceParams *p, char *err, size_t err_size);
