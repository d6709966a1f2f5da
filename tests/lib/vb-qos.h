/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* QoS checks for tests inside tests/lib/sandbox: the kernel's view of a device (qdiscs, HTB
 * classes, u32 filters, dumped through src/netdev) compared with what src/conf/qos-plan.h says
 * a <bandwidth> stands for, the helper reached directly ($VIRTBUS_HELPER_SOCKET), and the
 * daemon's QoS books in its status files. */

#include <glib.h>

#include "bitmap.h"
#include "netdev.h"
#include "protocol.h"
#include "qos-plan.h"

typedef struct VbTree {
        NetdevQdisc *qdiscs;
        size_t n_qdiscs;
        NetdevClass *classes;
        size_t n_classes;
        NetdevFilter *root_filters; /* parent 1: */
        size_t n_root_filters;
        NetdevFilter *ingress_filters; /* parent ffff: */
        size_t n_ingress_filters;
} VbTree;

VbTree vb_tree_dump(const char *ifname);
void vb_tree_done(VbTree *t);
const NetdevQdisc *vb_tree_qdisc(const VbTree *t, uint32_t parent);
const NetdevClass *vb_tree_class(const VbTree *t, uint32_t handle);

/* One request to the helper, as the daemon would send it; asserts that it answered. */
NhReply vb_helper_call(NhRequest *req);
/* QOS_PROBE */
unsigned vb_qos_caps(void);

static inline BandwidthRate vb_rate(uint64_t average, uint64_t peak, uint64_t burst, uint64_t floor) {
        return (BandwidthRate) { .set = true, .average = average, .peak = peak, .burst = burst, .floor = floor };
}

/* A tap's or macvtap's shaping is exactly plan p (egress HTB, ingress police or IFB with its tree). */
void vb_assert_device_qos(const char *ifname, const QosDevicePlan *p);
/* No shaping at all: root qdisc noqueue (or none), no classes, no ingress qdisc, no IFB. */
void vb_assert_no_qos(const char *ifname);

/* A floor as the daemon should have plugged it. */
typedef struct VbFloor {
        uint16_t class_id;
        EtherAddr mac;
        BandwidthRate inbound; /* of the interface; floor > 0 */
} VbFloor;

/* The bridge of a network with bandwidth net: hierarchy and ingress as qos_plan_bridge() says
 * for the floors given, and exactly these floor classes (class + leaf + one filter in the MAC's
 * bucket matching the whole MAC), the default class at net average − Σ floors. */
void vb_assert_bridge_qos(const char *bridge, const Bandwidth *net, const VbFloor *floors, size_t n);
/* Neither a hierarchy of ours nor an ingress qdisc on the bridge. */
void vb_assert_bridge_no_qos(const char *bridge);

/* The ids of the floor classes (1:X, X ≥ 3) and of the classes floor filters point to, sorted. */
GArray *vb_floor_class_ids(const char *bridge);
GArray *vb_floor_filter_ids(const char *bridge);
/* The default class 1:2's rate, bytes/s (0 when there is none). */
uint64_t vb_default_class_rate(const char *bridge);

/* $VIRTBUS_STATE_DIR/network/NAME.status.xml: FALSE when there is none. */
gboolean vb_network_status(const char *name, ClassIdBitmap *ret_ids, uint64_t *ret_sum);

/* The <class alias network id floor> records of $VIRTBUS_RUNTIME_DIR/qemu/NAME.status.xml. */
typedef struct VbClassRecord {
        char alias[32];
        char network[64];
        unsigned id;
        uint64_t floor;
} VbClassRecord;
/* FALSE when the domain has no status file. */
gboolean vb_domain_class_records(const char *domain, GArray **ret);

/* The floor MAC of a live domain XML's interface (its <mac address>), by index. */
EtherAddr vb_xml_mac(const char *xml, guint index);
