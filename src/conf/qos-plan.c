/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>

#include "conf-util.h"
#include "qos-plan.h"

uint64_t qos_rate_bytes(uint64_t kib_per_sec) {
        return kib_per_sec * QOS_RATE_UNIT;
}

uint64_t qos_burst_bytes(uint64_t kib) {
        return kib * QOS_BURST_UNIT;
}

uint64_t qos_default_burst(uint64_t rate_bytes) {
        return rate_bytes / QOS_PSCHED_HZ + QOS_DEFAULT_BURST_MTU;
}

uint32_t qos_quantum(uint64_t average_kib_per_sec) {
        /* libvirt's "optimal quantum": HTB advises one MTU for small rates, and the r2q default
         * would give a quantum below that for anything under ~15 Mbit/s. */
        uint64_t q = average_kib_per_sec * 1024 / 8 / QOS_QUANTUM_MTU;

        if (q == 0)
                return 1;
        return q > UINT32_MAX ? UINT32_MAX : (uint32_t) q;
}

QosLeaf qos_leaf_for(unsigned caps) {
        return caps & QOS_CAP_SFQ ? QOS_LEAF_SFQ : QOS_LEAF_PFIFO;
}

QosIngressMode qos_ingress_mode_for(unsigned caps) {
        const unsigned base = QOS_CAP_INGRESS | QOS_CAP_U32;

        if ((caps & (base | QOS_CAP_POLICE)) == (base | QOS_CAP_POLICE))
                return QOS_INGRESS_POLICE;
        if ((caps & (base | QOS_CAP_MIRRED | QOS_CAP_IFB | QOS_CAP_HTB)) ==
            (base | QOS_CAP_MIRRED | QOS_CAP_IFB | QOS_CAP_HTB))
                return QOS_INGRESS_IFB;
        return QOS_INGRESS_NONE;
}

static bool has_average(const BandwidthRate *r) {
        return r && r->set && r->average > 0;
}

/* rate = average, ceil = peak (else average), burst as given (else tc's default), cburst tc's
 * default: what `tc class add … htb rate AVGkbps [ceil PEAKkbps] [burst BURSTkb] quantum Q` sets. */
static QosHtbParams shaping_class(const BandwidthRate *r) {
        QosHtbParams p = {
                .rate = qos_rate_bytes(r->average),
                .ceil = qos_rate_bytes(r->peak > 0 ? r->peak : r->average),
                .quantum = qos_quantum(r->average),
        };

        p.burst = r->burst > 0 ? qos_burst_bytes(r->burst) : qos_default_burst(p.rate);
        p.cburst = qos_default_burst(p.ceil);
        return p;
}

static int plan_ingress(const BandwidthRate *r, unsigned caps, const char *what, QosIngressPlan *ret,
                        char **ret_error) {
        QosIngressPlan p = {};
        char s[QOS_CAPS_STR_MAX];

        if (!has_average(r)) {
                *ret = p;
                return 0;
        }

        p.mode = qos_ingress_mode_for(caps);
        if (p.mode == QOS_INGRESS_NONE)
                return unsupported_error(ret_error,
                                         _("%s bandwidth needs the ingress qdisc, the u32 classifier and "
                                           "either act_police or ifb with act_mirred and htb; "
                                           "the kernel has: %s"),
                                         what, qos_caps_format(caps, s));

        /* libvirt: "police rate AVGkbps burst BURSTkb mtu 64kb drop", with a burst of AVG kb (at
         * most UINT_MAX/1024) when none is given. */
        p.police = (QosPoliceParams) {
                .rate = qos_rate_bytes(r->average),
                .burst = qos_burst_bytes(r->burst > 0 ? r->burst
                                                      : MIN(r->average, (uint64_t) UINT32_MAX / 1024)),
                .mtu = QOS_POLICE_MTU,
        };
        /* The same bucket as an HTB class that cannot borrow: what the policer would let through
         * is what the IFB lets through, only queued instead of dropped. */
        p.ifb_class = (QosHtbParams) {
                .rate = p.police.rate,
                .ceil = p.police.rate,
                .burst = p.police.burst,
                .cburst = p.police.burst,
                .quantum = qos_quantum(r->average),
        };
        if (p.mode != QOS_INGRESS_IFB)
                p.ifb_class = (QosHtbParams) {};
        if (p.mode != QOS_INGRESS_POLICE)
                p.police = (QosPoliceParams) {};
        *ret = p;
        return 0;
}

int qos_plan_device(const Bandwidth *bw, QosDevice device, unsigned caps, QosDevicePlan *ret,
                    char **ret_error) {
        const BandwidthRate *egress, *ingress;
        const char *egress_what, *ingress_what;
        QosDevicePlan p = { .leaf = qos_leaf_for(caps) };
        int r;

        if (!bw || !ret || device == QOS_DEVICE_BRIDGE)
                return -EINVAL;

        if (device == QOS_DEVICE_MACVTAP) {
                egress = &bw->outbound;
                ingress = &bw->inbound;
                egress_what = _("outbound");
                ingress_what = _("inbound");
        } else {
                egress = &bw->inbound;
                ingress = &bw->outbound;
                egress_what = _("inbound");
                ingress_what = _("outbound");
        }

        if (has_average(egress)) {
                if (!(caps & QOS_CAP_HTB))
                        return unsupported_error(ret_error, _("%s bandwidth needs the htb qdisc, which the "
                                                              "kernel does not have"),
                                                 egress_what);
                p.egress = true;
                p.egress_class = shaping_class(egress);
        }

        r = plan_ingress(ingress, caps, ingress_what, &p.ingress, ret_error);
        if (r < 0)
                return r;

        *ret = p;
        return 0;
}

void qos_plan_default_class(const BandwidthRate *net_inbound, uint64_t floor_sum, QosHtbParams *ret) {
        uint64_t avg = net_inbound->average, left;
        QosHtbParams p;

        left = avg > floor_sum ? avg - floor_sum : 0;
        left = MAX(left, (uint64_t) QOS_DEFAULT_RATE_MIN);

        p = shaping_class(net_inbound);
        p.rate = qos_rate_bytes(left);
        if (net_inbound->burst == 0)
                p.burst = qos_default_burst(p.rate);
        *ret = p;
}

int qos_plan_bridge(const Bandwidth *net, uint64_t floor_sum, unsigned caps, QosBridgePlan *ret,
                    char **ret_error) {
        QosBridgePlan p = { .leaf = qos_leaf_for(caps) };
        char s[QOS_CAPS_STR_MAX];
        int r;

        if (!net || !ret)
                return -EINVAL;

        if (has_average(&net->inbound)) {
                if ((caps & (QOS_CAP_HTB | QOS_CAP_U32)) != (QOS_CAP_HTB | QOS_CAP_U32))
                        return unsupported_error(ret_error,
                                                 _("inbound bandwidth of a network needs the htb qdisc and "
                                                   "the u32 classifier; the kernel has: %s"),
                                                 qos_caps_format(caps, s));
                p.hierarchy = true;
                /* libvirt: "class add … classid 1:1 htb rate AVGkbps ceil (PEAK|AVG)kbps quantum Q":
                 * no burst on the root class. */
                p.root_class = shaping_class(&net->inbound);
                p.root_class.burst = qos_default_burst(p.root_class.rate);
                qos_plan_default_class(&net->inbound, floor_sum, &p.default_class);
        }

        r = plan_ingress(&net->outbound, caps, _("outbound"), &p.ingress, ret_error);
        if (r < 0)
                return r;

        *ret = p;
        return 0;
}

int qos_plan_floor(const BandwidthRate *net_inbound, const BandwidthRate *iface_inbound, uint16_t class_id,
                   const EtherAddr *mac, QosFloorPlan *ret) {
        QosFloorPlan p = { .class_id = class_id };

        if (!has_average(net_inbound) || !iface_inbound || !iface_inbound->set ||
            iface_inbound->floor == 0 || !mac || !ret)
                return -EINVAL;
        if (class_id < QOS_CLASS_ID_MIN || class_id > QOS_CLASS_ID_MAX)
                return -ERANGE;

        /* libvirt: "class add … parent 1:1 classid 1:ID htb rate FLOORkbps ceil (NETPEAK|NETAVG)kbps
         * quantum Q" — no burst. */
        p.class_params.rate = qos_rate_bytes(iface_inbound->floor);
        p.class_params.ceil =
                qos_rate_bytes(net_inbound->peak > 0 ? net_inbound->peak : net_inbound->average);
        p.class_params.ceil = MAX(p.class_params.ceil, p.class_params.rate);
        p.class_params.burst = qos_default_burst(p.class_params.rate);
        p.class_params.cburst = qos_default_burst(p.class_params.ceil);
        p.class_params.quantum = qos_quantum(iface_inbound->average > 0 ? iface_inbound->average
                                                                        : iface_inbound->floor);
        p.mac = *mac;
        p.table = qos_mac_bucket_table(mac->bytes);
        qos_mac_keys(mac->bytes, p.keys);
        *ret = p;
        return 0;
}

int qos_admission_check(const char *network, const char *bridge, const EtherAddr *mac,
                        const BandwidthRate *net_inbound, uint64_t floor_sum, uint64_t old_floor,
                        uint64_t new_floor, char **ret_error) {
        char m[ETHER_ADDR_STR_MAX] = "?";
        uint64_t others, sum, left;

        if (mac)
                ether_addr_format(mac, m);
        if (new_floor == 0)
                return 0;
        if (!has_average(net_inbound))
                return unsupported_error(
                        ret_error, _("Bridge '%s' has no QoS set, therefore unable to set 'floor' on '%s'"),
                        strna(bridge), m);

        others = floor_sum > old_floor ? floor_sum - old_floor : 0;
        sum = others + new_floor;
        if (sum <= net_inbound->average)
                return 0;

        left = net_inbound->average > others ? net_inbound->average - others : 0;
        /* libvirt's message, checked against the average (networking.md says why), plus the numbers
         * a user needs to fix it. */
        return conf_error(ret_error, -ENOSPC, _("Requested operation is not valid: "),
                          _("Cannot plug '%s' interface into '%s' because new combined inbound "
                            "floor=%" PRIu64 " would overcommit average=%" PRIu64 " on network '%s': the "
                            "interface requests floor=%" PRIu64 " KiB/s and only %" PRIu64
                            " KiB/s are left"),
                          m, strna(bridge), sum, net_inbound->average, strna(network), new_floor, left);
}
