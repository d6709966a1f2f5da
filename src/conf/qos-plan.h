/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* From <bandwidth> (libvirt units) to the kernel objects that implement it: pure arithmetic, no
 * I/O. The daemon computes a plan, sends it to the helper (protocol.h), and compares what the
 * kernel reports (netdev dumps) against the same plan when it reconciles.
 *
 * Units, as libvirt hands them to tc: average/peak/floor are "kbps" to tc, i.e. 1000 bytes/s
 * per unit (QOS_RATE_UNIT); burst is "kb", 1024 bytes per unit (QOS_BURST_UNIT). Defaults are
 * tc's: a burst not given is rate/HZ + 1600 bytes (HZ = 10^9 on every kernel with high-resolution
 * timers, as /proc/net/psched says); the quantum is libvirt's: average·1024/8/1500, at least 1. */

#include <stdbool.h>
#include <stdint.h>

#include "bandwidth.h"
#include "ether.h"
#include "qos-layout.h"

#define QOS_RATE_UNIT 1000u     /* bytes/s per KiB/s of the XML (tc's "kbps") */
#define QOS_BURST_UNIT 1024u    /* bytes per KiB of the XML (tc's "kb") */
#define QOS_DEFAULT_BURST_MTU 1600u
#define QOS_PSCHED_HZ UINT64_C(1000000000)
#define QOS_QUANTUM_MTU 1500u
#define QOS_DEFAULT_RATE_MIN 1u /* KiB/s: the default class 1:2 never drops below */

/* Which device of a guest interface, and hence which direction is which: a tap's egress carries
 * the traffic *to* the guest (inbound), a macvtap's egress the traffic *from* it (outbound: the
 * guest writes into the macvtap, whose transmit path leads to the lower device). A bridge is like
 * a tap: its egress is what the host sends into the network. */
typedef enum QosDevice {
        QOS_DEVICE_TAP,
        QOS_DEVICE_MACVTAP,
        QOS_DEVICE_BRIDGE,
} QosDevice;

typedef enum QosIngressMode {
        QOS_INGRESS_NONE = 0,
        QOS_INGRESS_POLICE,  /* u32 match-all + act_police on the ingress qdisc */
        QOS_INGRESS_IFB,     /* u32 match-all + mirred redirect to an IFB, HTB there */
} QosIngressMode;

/* The ingress side of a device: policing where the kernel has act_police, else shaping on an IFB
 * with the same rate and bucket. */
typedef struct QosIngressPlan {
        QosIngressMode mode;
        QosPoliceParams police; /* QOS_INGRESS_POLICE */
        QosHtbParams ifb_class; /* QOS_INGRESS_IFB: class 1:1 under "htb 1: default 1" on the IFB */
} QosIngressPlan;

/* A tap's or macvtap's shaping. */
typedef struct QosDevicePlan {
        QosLeaf leaf;            /* the leaf qdisc under every HTB class of this plan */
        bool egress;             /* root "htb 1: default 1", class 1:1, leaf 2: */
        QosHtbParams egress_class;
        QosIngressPlan ingress;
} QosDevicePlan;

/* A network's bridge. */
typedef struct QosBridgePlan {
        QosLeaf leaf;
        bool hierarchy;             /* inbound average: root "htb 1: default 2", 1:1, 1:2 + leaf 2:,
                                     * and the u32 MAC hash table for floor classes */
        QosHtbParams root_class;    /* 1:1: the network's rate */
        QosHtbParams default_class; /* 1:2: what the floors leave */
        QosIngressPlan ingress;     /* outbound bandwidth of the network */
} QosBridgePlan;

/* A floor interface's class on the bridge. */
typedef struct QosFloorPlan {
        uint16_t class_id;        /* QOS_CLASS_ID_MIN..QOS_CLASS_ID_MAX */
        QosHtbParams class_params; /* class 1:ID, parent 1:1 */
        EtherAddr mac;            /* frames to this destination MAC go to 1:ID */
        uint32_t table;           /* TCA_U32_HASH of the bucket the filter sits in */
        QosU32Key keys[QOS_MAC_KEYS];
} QosFloorPlan;

/* Conversions and tc's / libvirt's defaults. */
uint64_t qos_rate_bytes(uint64_t kib_per_sec);
uint64_t qos_burst_bytes(uint64_t kib);
uint64_t qos_default_burst(uint64_t rate_bytes);
uint32_t qos_quantum(uint64_t average_kib_per_sec);

/* The leaf qdisc and ingress mode the probed capabilities allow. */
QosLeaf qos_leaf_for(unsigned caps);
QosIngressMode qos_ingress_mode_for(unsigned caps);

/* Plan for a tap (inbound = egress) or macvtap (inbound = ingress). An interface with no average
 * in a direction gets nothing in that direction (a floor alone shapes nothing on the tap).
 * -EOPNOTSUPP, with a message naming what the kernel lacks, when caps cannot implement it. */
int qos_plan_device(const Bandwidth *bw, QosDevice device, unsigned caps, QosDevicePlan *ret,
                    char **ret_error);
/* Plan for a network's bridge, with floor_sum KiB/s of floors plugged. */
int qos_plan_bridge(const Bandwidth *net, uint64_t floor_sum, unsigned caps, QosBridgePlan *ret,
                    char **ret_error);
/* The bridge's default class 1:2: rate = average − floor_sum (never below 1 KiB/s), ceil = peak
 * (else average), the network's burst. net_inbound must have an average. */
void qos_plan_default_class(const BandwidthRate *net_inbound, uint64_t floor_sum, QosHtbParams *ret);
/* The class of an interface with floor: rate = floor, ceil = the network's peak (else average),
 * quantum from the interface's inbound average (else its floor). */
int qos_plan_floor(const BandwidthRate *net_inbound, const BandwidthRate *iface_inbound, uint16_t class_id,
                   const EtherAddr *mac, QosFloorPlan *ret);

/* Admission control for a floor on network `network` (bridge `bridge`) for the interface with
 * MAC `mac`: floor_sum KiB/s are plugged, of which old_floor belong to this interface (0 for a new
 * one), and it asks for new_floor. 0 when Σ floors stays within the network's inbound average;
 * -EOPNOTSUPP when the network has no inbound average (libvirt's "has no QoS set" error),
 * -ENOSPC when it would overcommit; *ret_error names the network, the numbers and what is left. */
int qos_admission_check(const char *network, const char *bridge, const EtherAddr *mac,
                        const BandwidthRate *net_inbound, uint64_t floor_sum, uint64_t old_floor,
                        uint64_t new_floor, char **ret_error);
