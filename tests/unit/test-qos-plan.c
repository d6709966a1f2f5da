/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The QoS arithmetic (rates, ceil, burst, quantum as libvirt gives them to tc), the plans for taps,
 * macvtaps and bridges under every capability set, admission control, and the u32 MAC hash
 * table: a model of the kernel's u32 lookup shows that it puts exactly the frames libvirt's linear
 * filter list puts into a floor class there (and more: every ethertype), visiting a constant
 * number of nodes per frame. */

#include <glib.h>

#include "qos-plan.h"

/* This development kernel: no sfq, no act_police (networking.md, "Kernel features"). */
#define CAPS_HERE (QOS_CAP_HTB | QOS_CAP_INGRESS | QOS_CAP_U32 | QOS_CAP_MIRRED | QOS_CAP_IFB)
#define CAPS_FULL ((unsigned) _QOS_CAP_ALL)

static BandwidthRate rate(uint64_t average, uint64_t peak, uint64_t burst, uint64_t floor) {
        return (BandwidthRate) {
                .set = true, .average = average, .peak = peak, .burst = burst, .floor = floor,
        };
}

static void assert_htb(const QosHtbParams *p, uint64_t r, uint64_t ceil, uint64_t burst, uint64_t cburst,
                       uint32_t quantum) {
        g_assert_cmpuint(p->rate, ==, r);
        g_assert_cmpuint(p->ceil, ==, ceil);
        g_assert_cmpuint(p->burst, ==, burst);
        g_assert_cmpuint(p->cburst, ==, cburst);
        g_assert_cmpuint(p->quantum, ==, quantum);
        g_assert_cmpuint(p->prio, ==, 0);
        g_assert_cmpint(qos_htb_params_check(p, NULL, 0), ==, 0);
}

static void test_units(void) {
        /* libvirt hands the XML numbers to tc as "kbps" (1000 bytes/s) and "kb" (1024 bytes). */
        g_assert_cmpuint(qos_rate_bytes(1000), ==, 1000000);
        g_assert_cmpuint(qos_rate_bytes(UINT32_MAX), ==, UINT64_C(4294967295000));
        g_assert_cmpuint(qos_rate_bytes(UINT32_MAX), <=, QOS_RATE_MAX);
        g_assert_cmpuint(qos_burst_bytes(256), ==, 262144);
        g_assert_cmpuint(qos_burst_bytes(UINT32_MAX), ==, QOS_BURST_MAX);

        /* tc's default burst: rate/HZ + 1600 with HZ = 10^9. */
        g_assert_cmpuint(qos_default_burst(1000000), ==, 1600);
        g_assert_cmpuint(qos_default_burst(5000000000), ==, 1605);

        /* libvirt's quantum: average·1024/8/1500, at least 1. */
        g_assert_cmpuint(qos_quantum(1000), ==, 85);
        g_assert_cmpuint(qos_quantum(2000), ==, 170);
        g_assert_cmpuint(qos_quantum(11), ==, 1);
        g_assert_cmpuint(qos_quantum(12), ==, 1);
        g_assert_cmpuint(qos_quantum(1), ==, 1);
        g_assert_cmpuint(qos_quantum(0), ==, 1);
        g_assert_cmpuint(qos_quantum(UINT32_MAX), ==, 366503875);
}

static void test_ticks(void) {
        /* 1600 bytes at 1 MB/s take 1.6 ms = 25000 ticks of 64 ns */
        g_assert_cmpuint(qos_burst_to_ticks(1600, 1000000), ==, 25000);
        g_assert_cmpuint(qos_ticks_to_burst(25000, 1000000), ==, 1600);
        /* rounded up, never 0 */
        g_assert_cmpuint(qos_burst_to_ticks(1, 1000000000000), ==, 1);
        g_assert_cmpuint(qos_burst_to_ticks(1601, 1000000), ==, 25016);
        /* clamped to 32 bits */
        g_assert_cmpuint(qos_burst_to_ticks(QOS_BURST_MAX, 1000), ==, UINT32_MAX);
        g_assert_cmpuint(qos_burst_to_ticks(100, 0), ==, 0);

        /* Round trips lose at most a tick's worth. */
        g_autoptr(GRand) rand = g_rand_new_with_seed(0x71c);
        for (unsigned i = 0; i < 10000; i++) {
                uint64_t r = (uint64_t) g_rand_int_range(rand, 1, G_MAXINT32) *
                             (uint64_t) g_rand_int_range(rand, 1, 2000);
                uint64_t b = (uint64_t) g_rand_int_range(rand, 1, G_MAXINT32);
                uint32_t t = qos_burst_to_ticks(b, r);
                uint64_t back;

                if (t == UINT32_MAX)
                        continue;
                back = qos_ticks_to_burst(t, r);
                g_assert_cmpuint(back, >=, b);
                g_assert_true(qos_burst_equal(b, back, r));
        }
        g_assert_false(qos_burst_equal(1600, 3200, 1000000));
        g_assert_true(qos_burst_equal(3000, 3072, 6000000000)); /* one tick at 6 GB/s is 384 bytes */
}

static void test_layout_helpers(void) {
        const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xe5 };
        QosU32Key keys[QOS_MAC_KEYS], swapped[QOS_MAC_KEYS];
        uint8_t back[6];
        char name[IFNAMSIZ], caps[QOS_CAPS_STR_MAX];
        QosHtbParams p;
        QosPoliceParams pol;
        char err[128];

        qos_mac_keys(mac, keys);
        /* libvirt: "match u16 0x5254 0xffff at -14", "match u32 0x00abcde5 0xffffffff at -12" */
        g_assert_cmphex(keys[0].val, ==, 0x5254);
        g_assert_cmphex(keys[0].mask, ==, 0x0000ffff);
        g_assert_cmpint(keys[0].off, ==, -16);
        g_assert_cmphex(keys[1].val, ==, 0x00abcde5);
        g_assert_cmphex(keys[1].mask, ==, 0xffffffff);
        g_assert_cmpint(keys[1].off, ==, -12);
        g_assert_cmpuint(qos_mac_bucket(mac), ==, 0xe5);
        g_assert_cmphex(qos_mac_bucket_table(mac), ==, 0x001e5000);

        g_assert_true(qos_mac_from_keys(keys, 2, back));
        g_assert_cmpmem(back, 6, mac, 6);
        swapped[0] = keys[1];
        swapped[1] = keys[0];
        g_assert_true(qos_mac_from_keys(swapped, 2, back));
        g_assert_cmpmem(back, 6, mac, 6);
        g_assert_false(qos_mac_from_keys(keys, 1, back));
        g_assert_false(qos_mac_from_keys(NULL, 2, back));
        swapped[0] = keys[0];
        swapped[1] = keys[0];
        g_assert_false(qos_mac_from_keys(swapped, 2, back));
        swapped[1] = keys[1];
        swapped[1].off = -8;
        g_assert_false(qos_mac_from_keys(swapped, 2, back));

        g_assert_cmpint(qos_ifb_name(12, name), ==, 0);
        g_assert_cmpstr(name, ==, "vbifb12");
        g_assert_cmpint(qos_ifb_name(G_MAXINT, name), ==, 0);
        g_assert_cmpstr(name, ==, "vbifb2147483647");
        g_assert_cmpint(qos_ifb_name(0, name), ==, -EINVAL);
        g_assert_cmpint(qos_ifb_name(-1, name), ==, -EINVAL);

        g_assert_cmpstr(qos_caps_format(0, caps), ==, "none");
        g_assert_cmpstr(qos_caps_format(CAPS_HERE, caps), ==, "htb ingress u32 mirred ifb");
        g_assert_cmpstr(qos_caps_format(CAPS_FULL, caps), ==, "htb sfq ingress u32 mirred police ifb");
        g_assert_cmpstr(qos_leaf_to_string(QOS_LEAF_PFIFO), ==, "pfifo");
        g_assert_cmpstr(qos_leaf_to_string(QOS_LEAF_SFQ), ==, "sfq");
        g_assert_null(qos_leaf_to_string(0));

        p = (QosHtbParams) { .rate = 1, .ceil = 1, .burst = 1, .cburst = 1, .quantum = 1, .prio = 7 };
        g_assert_cmpint(qos_htb_params_check(&p, err, sizeof err), ==, 0);
        p.rate = 0;
        g_assert_cmpint(qos_htb_params_check(&p, err, sizeof err), ==, -EINVAL);
        g_assert_nonnull(strstr(err, "rate 0 out of range"));
        p.rate = 2;
        g_assert_cmpint(qos_htb_params_check(&p, err, sizeof err), ==, -EINVAL);
        g_assert_nonnull(strstr(err, "ceil 1 out of range 2.."));
        p.ceil = QOS_RATE_MAX + 1;
        g_assert_cmpint(qos_htb_params_check(&p, err, sizeof err), ==, -EINVAL);
        p.ceil = 2;
        p.prio = 8;
        g_assert_cmpint(qos_htb_params_check(&p, err, sizeof err), ==, -EINVAL);
        g_assert_nonnull(strstr(err, "prio 8"));
        p.prio = 0;
        p.quantum = 0;
        g_assert_cmpint(qos_htb_params_check(&p, err, sizeof err), ==, -EINVAL);
        p.quantum = 1;
        p.cburst = 0;
        g_assert_cmpint(qos_htb_params_check(&p, err, sizeof err), ==, -EINVAL);
        g_assert_nonnull(strstr(err, "cburst 0"));

        pol = (QosPoliceParams) { .rate = 1, .burst = 1, .mtu = QOS_POLICE_MTU };
        g_assert_cmpint(qos_police_params_check(&pol, err, sizeof err), ==, 0);
        pol.mtu = QOS_POLICE_MTU + 1;
        g_assert_cmpint(qos_police_params_check(&pol, err, sizeof err), ==, -EINVAL);
        pol.mtu = 1500;
        pol.reserved = 1;
        g_assert_cmpint(qos_police_params_check(&pol, err, sizeof err), ==, -EINVAL);
        g_assert_nonnull(strstr(err, "reserved"));
}

static void test_capability_choice(void) {
        g_assert_cmpint(qos_leaf_for(CAPS_HERE), ==, QOS_LEAF_PFIFO);
        g_assert_cmpint(qos_leaf_for(CAPS_FULL), ==, QOS_LEAF_SFQ);
        g_assert_cmpint(qos_ingress_mode_for(CAPS_HERE), ==, QOS_INGRESS_IFB);
        g_assert_cmpint(qos_ingress_mode_for(CAPS_FULL), ==, QOS_INGRESS_POLICE);
        g_assert_cmpint(qos_ingress_mode_for(CAPS_HERE & ~QOS_CAP_IFB), ==, QOS_INGRESS_NONE);
        g_assert_cmpint(qos_ingress_mode_for(CAPS_HERE & ~QOS_CAP_MIRRED), ==, QOS_INGRESS_NONE);
        g_assert_cmpint(qos_ingress_mode_for(CAPS_FULL & ~QOS_CAP_U32), ==, QOS_INGRESS_NONE);
        g_assert_cmpint(qos_ingress_mode_for(CAPS_FULL & ~QOS_CAP_INGRESS), ==, QOS_INGRESS_NONE);
        g_assert_cmpint(qos_ingress_mode_for(QOS_CAP_INGRESS | QOS_CAP_U32 | QOS_CAP_POLICE), ==,
                        QOS_INGRESS_POLICE);
}

static void test_plan_tap(void) {
        Bandwidth bw = {
                .inbound = rate(1000, 2000, 256, 0),
                .outbound = rate(500, 0, 0, 0),
        };
        g_autofree char *error = NULL;
        QosDevicePlan p;

        /* This kernel: pfifo leaf, outbound shaped on an IFB. */
        g_assert_cmpint(qos_plan_device(&bw, QOS_DEVICE_TAP, CAPS_HERE, &p, &error), ==, 0);
        g_assert_cmpint(p.leaf, ==, QOS_LEAF_PFIFO);
        g_assert_true(p.egress);
        /* tc class add … rate 1000kbps ceil 2000kbps burst 256kb quantum 85 */
        assert_htb(&p.egress_class, 1000000, 2000000, 262144, 1600, 85);
        g_assert_cmpint(p.ingress.mode, ==, QOS_INGRESS_IFB);
        /* the policer's bucket without a burst: AVG kb */
        assert_htb(&p.ingress.ifb_class, 500000, 500000, 512000, 512000, 42);
        g_assert_cmpuint(p.ingress.police.rate, ==, 0);

        /* A full kernel: sfq leaf, policing. */
        g_assert_cmpint(qos_plan_device(&bw, QOS_DEVICE_TAP, CAPS_FULL, &p, &error), ==, 0);
        g_assert_cmpint(p.leaf, ==, QOS_LEAF_SFQ);
        assert_htb(&p.egress_class, 1000000, 2000000, 262144, 1600, 85);
        g_assert_cmpint(p.ingress.mode, ==, QOS_INGRESS_POLICE);
        g_assert_cmpuint(p.ingress.police.rate, ==, 500000);
        g_assert_cmpuint(p.ingress.police.burst, ==, 512000);
        g_assert_cmpuint(p.ingress.police.mtu, ==, 65536);
        g_assert_cmpint(qos_police_params_check(&p.ingress.police, NULL, 0), ==, 0);
        g_assert_cmpuint(p.ingress.ifb_class.rate, ==, 0);

        /* No peak: ceil = rate; no burst: tc's default. */
        bw = (Bandwidth) { .inbound = rate(4000, 0, 0, 0) };
        g_assert_cmpint(qos_plan_device(&bw, QOS_DEVICE_TAP, CAPS_HERE, &p, &error), ==, 0);
        assert_htb(&p.egress_class, 4000000, 4000000, 1600, 1600, 341);
        g_assert_cmpint(p.ingress.mode, ==, QOS_INGRESS_NONE);

        /* Outbound with an explicit burst; a big average is capped at UINT_MAX/1024 kb. */
        bw = (Bandwidth) { .outbound = rate(5000000, 0, 0, 0) };
        g_assert_cmpint(qos_plan_device(&bw, QOS_DEVICE_TAP, CAPS_FULL, &p, &error), ==, 0);
        g_assert_false(p.egress);
        g_assert_cmpuint(p.ingress.police.burst, ==, (uint64_t) (UINT32_MAX / 1024) * 1024);
        bw = (Bandwidth) { .outbound = rate(100, 0, 64, 0) };
        g_assert_cmpint(qos_plan_device(&bw, QOS_DEVICE_TAP, CAPS_FULL, &p, &error), ==, 0);
        g_assert_cmpuint(p.ingress.police.burst, ==, 65536);

        /* A floor alone shapes nothing on the tap (the bridge does that). */
        bw = (Bandwidth) { .inbound = rate(0, 0, 0, 300) };
        g_assert_cmpint(qos_plan_device(&bw, QOS_DEVICE_TAP, CAPS_HERE, &p, &error), ==, 0);
        g_assert_false(p.egress);
        g_assert_cmpint(p.ingress.mode, ==, QOS_INGRESS_NONE);

        /* Nothing at all. */
        bw = (Bandwidth) {};
        g_assert_cmpint(qos_plan_device(&bw, QOS_DEVICE_TAP, CAPS_HERE, &p, &error), ==, 0);
        g_assert_false(p.egress);
        g_assert_cmpint(p.ingress.mode, ==, QOS_INGRESS_NONE);

        g_assert_cmpint(qos_plan_device(&bw, QOS_DEVICE_BRIDGE, CAPS_HERE, &p, &error), ==, -EINVAL);
}

static void test_plan_macvtap(void) {
        /* A macvtap's egress is what the guest sends: the directions swap. */
        Bandwidth bw = {
                .inbound = rate(1000, 2000, 256, 0),
                .outbound = rate(3000, 6000, 0, 0),
        };
        g_autofree char *error = NULL;
        QosDevicePlan p;

        g_assert_cmpint(qos_plan_device(&bw, QOS_DEVICE_MACVTAP, CAPS_HERE, &p, &error), ==, 0);
        g_assert_true(p.egress);
        assert_htb(&p.egress_class, 3000000, 6000000, 1600, 1600, 256);
        g_assert_cmpint(p.ingress.mode, ==, QOS_INGRESS_IFB);
        /* policing has no peak: the inbound average with its burst */
        assert_htb(&p.ingress.ifb_class, 1000000, 1000000, 262144, 262144, 85);

        g_assert_cmpint(qos_plan_device(&bw, QOS_DEVICE_MACVTAP, CAPS_FULL, &p, &error), ==, 0);
        g_assert_cmpint(p.ingress.mode, ==, QOS_INGRESS_POLICE);
        g_assert_cmpuint(p.ingress.police.rate, ==, 1000000);
        g_assert_cmpuint(p.ingress.police.burst, ==, 262144);
}

static void test_plan_unsupported(void) {
        Bandwidth bw = { .inbound = rate(1000, 0, 0, 0), .outbound = rate(1000, 0, 0, 0) };
        QosDevicePlan p;
        QosBridgePlan b;

        {
                g_autofree char *error = NULL;

                g_assert_cmpint(qos_plan_device(&bw, QOS_DEVICE_TAP, CAPS_HERE & ~QOS_CAP_HTB, &p, &error),
                                ==, -EOPNOTSUPP);
                g_assert_nonnull(strstr(error, "unsupported configuration: inbound bandwidth needs the"));
        }
        {
                g_autofree char *error = NULL;

                g_assert_cmpint(qos_plan_device(&bw, QOS_DEVICE_TAP, CAPS_HERE & ~QOS_CAP_IFB, &p, &error),
                                ==, -EOPNOTSUPP);
                g_assert_nonnull(strstr(error, "outbound bandwidth needs the ingress qdisc"));
                g_assert_nonnull(strstr(error, "the kernel has: htb ingress u32 mirred"));
        }
        {
                g_autofree char *error = NULL;

                g_assert_cmpint(qos_plan_device(&bw, QOS_DEVICE_MACVTAP, QOS_CAP_HTB, &p, &error), ==,
                                -EOPNOTSUPP);
                g_assert_nonnull(strstr(error, "inbound bandwidth needs the ingress qdisc"));
        }
        {
                g_autofree char *error = NULL;

                g_assert_cmpint(qos_plan_bridge(&bw, 0, CAPS_HERE & ~QOS_CAP_U32, &b, &error), ==,
                                -EOPNOTSUPP);
                g_assert_nonnull(strstr(error, "needs the htb qdisc and the u32 classifier"));
        }
        /* No error text wanted: still the error. */
        g_assert_cmpint(qos_plan_device(&bw, QOS_DEVICE_TAP, 0, &p, NULL), ==, -EOPNOTSUPP);
}

static void test_plan_bridge(void) {
        Bandwidth net = { .inbound = rate(1000, 5000, 1024, 0), .outbound = rate(800, 0, 0, 0) };
        g_autofree char *error = NULL;
        QosBridgePlan b;

        g_assert_cmpint(qos_plan_bridge(&net, 0, CAPS_HERE, &b, &error), ==, 0);
        g_assert_true(b.hierarchy);
        g_assert_cmpint(b.leaf, ==, QOS_LEAF_PFIFO);
        /* 1:1 rate AVG ceil PEAK quantum Q, no burst */
        assert_htb(&b.root_class, 1000000, 5000000, 1600, 1600, 85);
        /* 1:2 rate AVG ceil PEAK burst BURST quantum Q */
        assert_htb(&b.default_class, 1000000, 5000000, 1048576, 1600, 85);
        g_assert_cmpint(b.ingress.mode, ==, QOS_INGRESS_IFB);
        assert_htb(&b.ingress.ifb_class, 800000, 800000, 819200, 819200, 68);

        /* Floors plugged: 1:2 gets what they leave (of the average, not the peak). */
        g_assert_cmpint(qos_plan_bridge(&net, 300, CAPS_FULL, &b, &error), ==, 0);
        g_assert_cmpint(b.leaf, ==, QOS_LEAF_SFQ);
        assert_htb(&b.default_class, 700000, 5000000, 1048576, 1600, 85);
        g_assert_cmpint(b.ingress.mode, ==, QOS_INGRESS_POLICE);

        /* Outbound only: no hierarchy. */
        net = (Bandwidth) { .outbound = rate(800, 0, 0, 0) };
        g_assert_cmpint(qos_plan_bridge(&net, 0, CAPS_HERE, &b, &error), ==, 0);
        g_assert_false(b.hierarchy);
        g_assert_cmpint(b.ingress.mode, ==, QOS_INGRESS_IFB);
}

static void test_default_class(void) {
        BandwidthRate in = rate(1000, 0, 0, 0);
        QosHtbParams d;

        qos_plan_default_class(&in, 0, &d);
        assert_htb(&d, 1000000, 1000000, 1600, 1600, 85);
        qos_plan_default_class(&in, 999, &d);
        assert_htb(&d, 1000, 1000000, 1600, 1600, 85);
        /* never below 1 KiB/s, also when the floors took all (or more, which admission refuses) */
        qos_plan_default_class(&in, 1000, &d);
        g_assert_cmpuint(d.rate, ==, 1000);
        qos_plan_default_class(&in, 5000, &d);
        g_assert_cmpuint(d.rate, ==, 1000);
        g_assert_cmpuint(d.ceil, ==, 1000000);

        in = rate(1000, 3000, 10, 0);
        qos_plan_default_class(&in, 400, &d);
        assert_htb(&d, 600000, 3000000, 10240, 1600, 85);
}

static void test_plan_floor(void) {
        const EtherAddr mac = { { 0x52, 0x54, 0x00, 0x01, 0x02, 0x03 } };
        BandwidthRate net = rate(1000, 5000, 0, 0), iface = rate(0, 0, 0, 200);
        QosFloorPlan f;

        g_assert_cmpint(qos_plan_floor(&net, &iface, 3, &mac, &f), ==, 0);
        g_assert_cmpuint(f.class_id, ==, 3);
        /* rate FLOOR ceil NETPEAK, quantum from the floor when there is no average */
        assert_htb(&f.class_params, 200000, 5000000, 1600, 1600, 17);
        g_assert_cmphex(f.table, ==, QOS_U32_HANDLE(1, 0x03, 0));
        g_assert_cmphex(f.keys[0].val, ==, 0x5254);
        g_assert_cmphex(f.keys[1].val, ==, 0x00010203);

        iface = rate(2000, 0, 0, 200);
        net = rate(1000, 0, 0, 0);
        g_assert_cmpint(qos_plan_floor(&net, &iface, 0xfffe, &mac, &f), ==, 0);
        assert_htb(&f.class_params, 200000, 1000000, 1600, 1600, 170);

        /* ceil never below the rate */
        iface = rate(0, 0, 0, 2000);
        g_assert_cmpint(qos_plan_floor(&net, &iface, 3, &mac, &f), ==, 0);
        g_assert_cmpuint(f.class_params.ceil, ==, f.class_params.rate);

        g_assert_cmpint(qos_plan_floor(&net, &iface, 2, &mac, &f), ==, -ERANGE);
        g_assert_cmpint(qos_plan_floor(&net, &iface, 0xffff, &mac, &f), ==, -ERANGE);
        iface = rate(1000, 0, 0, 0);
        g_assert_cmpint(qos_plan_floor(&net, &iface, 3, &mac, &f), ==, -EINVAL);
        net = (BandwidthRate) {};
        iface = rate(0, 0, 0, 100);
        g_assert_cmpint(qos_plan_floor(&net, &iface, 3, &mac, &f), ==, -EINVAL);
}

static void test_admission(void) {
        const EtherAddr mac = { { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc } };
        BandwidthRate net = rate(1000, 5000, 0, 0);

        g_assert_cmpint(qos_admission_check("lan", "virbr1", &mac, &net, 0, 0, 1000, NULL), ==, 0);
        g_assert_cmpint(qos_admission_check("lan", "virbr1", &mac, &net, 700, 0, 300, NULL), ==, 0);
        g_assert_cmpint(qos_admission_check("lan", "virbr1", &mac, &net, 1000, 0, 0, NULL), ==, 0);
        /* a live change replaces the interface's own floor */
        g_assert_cmpint(qos_admission_check("lan", "virbr1", &mac, &net, 1000, 400, 400, NULL), ==, 0);
        g_assert_cmpint(qos_admission_check("lan", "virbr1", &mac, &net, 1000, 400, 100, NULL), ==, 0);

        {
                g_autofree char *error = NULL;

                /* libvirt would admit up to the peak (5000); 1:1 cannot borrow, so virtbus stops at 1000 */
                g_assert_cmpint(qos_admission_check("lan", "virbr1", &mac, &net, 700, 0, 500, &error), ==,
                                -ENOSPC);
                g_assert_cmpstr(error, ==,
                                "Requested operation is not valid: Cannot plug '52:54:00:aa:bb:cc' "
                                "interface into 'virbr1' because new combined inbound floor=1200 would "
                                "overcommit average=1000 on network 'lan': the interface requests "
                                "floor=500 KiB/s and only 300 KiB/s are left");
        }
        {
                g_autofree char *error = NULL;

                g_assert_cmpint(qos_admission_check("lan", "virbr1", &mac, &net, 1000, 400, 401, &error), ==,
                                -ENOSPC);
                g_assert_nonnull(strstr(error, "floor=1001 would overcommit average=1000"));
                g_assert_nonnull(strstr(error, "requests floor=401 KiB/s and only 400 KiB/s are left"));
        }
        {
                g_autofree char *error = NULL;

                BandwidthRate none = {};

                g_assert_cmpint(qos_admission_check("lan", "virbr1", &mac, &none, 0, 0, 10, &error), ==,
                                -EOPNOTSUPP);
                g_assert_cmpstr(error, ==,
                                "unsupported configuration: Bridge 'virbr1' has no QoS set, therefore "
                                "unable to set 'floor' on '52:54:00:aa:bb:cc'");
        }
        /* no floor asked: nothing to check even without QoS */
        g_assert_cmpint(qos_admission_check("lan", "virbr1", &mac, &(BandwidthRate) {}, 0, 0, 0, NULL), ==,
                        0);
}

/* A model of the kernel's u32 classifier (net/sched/cls_u32.c semantics: keys compare the 32-bit
 * big-endian word at network header + off; a node with a link hashes hoff/hmask into the linked
 * table; the first terminal match wins), fed with the filters each side installs. */

typedef struct Node {
        QosU32Key keys[4];
        size_t n_keys;
        int link;        /* table index, -1 = none */
        uint32_t hmask;
        int32_t hoff;
        uint32_t classid;
} Node;

typedef struct Table {
        GArray *buckets[QOS_MAC_TABLE_BUCKETS]; /* of Node */
        unsigned divisor;
} Table;

typedef struct Model {
        Table tables[2]; /* 0: root, 1: ours */
} Model;

static void model_init(Model *m) {
        memset(m, 0, sizeof *m);
        for (size_t t = 0; t < G_N_ELEMENTS(m->tables); t++)
                for (size_t b = 0; b < QOS_MAC_TABLE_BUCKETS; b++)
                        m->tables[t].buckets[b] = g_array_new(false, true, sizeof(Node));
        m->tables[0].divisor = 1;
        m->tables[1].divisor = QOS_MAC_TABLE_BUCKETS;
}

static void model_done(Model *m) {
        for (size_t t = 0; t < G_N_ELEMENTS(m->tables); t++)
                for (size_t b = 0; b < QOS_MAC_TABLE_BUCKETS; b++)
                        g_array_unref(m->tables[t].buckets[b]);
}

/* A frame leaving the bridge: the Ethernet header right before the network header at offset 16
 * (two bytes of headroom before it, which the -16 key reads). */
typedef struct Frame {
        uint8_t data[64];
} Frame;
#define NETWORK_OFFSET 16

static Frame frame(const uint8_t dst[6], uint16_t ethertype) {
        Frame f = {};

        f.data[0] = 0xa5; /* headroom garbage: masked out */
        f.data[1] = 0x5a;
        memcpy(f.data + 2, dst, 6);
        memcpy(f.data + 8, (uint8_t[]) { 0x52, 0x54, 0x00, 0xff, 0xff, 0xff }, 6);
        f.data[14] = ethertype >> 8;
        f.data[15] = ethertype;
        return f;
}

static uint32_t word_at(const Frame *f, int32_t off) {
        const uint8_t *p = f->data + NETWORK_OFFSET + off;

        g_assert_cmpint(NETWORK_OFFSET + off, >=, 0);
        return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* Returns the class (0 = none: the default class) and counts the nodes whose keys were compared. */
static uint32_t model_classify(const Model *m, const Frame *f, unsigned *visited) {
        const Table *t = &m->tables[0];
        unsigned bucket = 0;

        for (unsigned depth = 0; depth < 4; depth++) {
                GArray *nodes = t->buckets[bucket];
                const Table *next = NULL;

                for (guint i = 0; i < nodes->len && !next; i++) {
                        const Node *n = &g_array_index(nodes, Node, i);
                        bool match = true;

                        (*visited)++;
                        for (size_t k = 0; k < n->n_keys && match; k++)
                                match = (word_at(f, n->keys[k].off) & n->keys[k].mask) == n->keys[k].val;
                        if (!match)
                                continue;
                        if (n->link >= 0) {
                                next = &m->tables[n->link];
                                bucket = (word_at(f, n->hoff) & n->hmask) >> __builtin_ctz(n->hmask);
                                bucket &= next->divisor - 1;
                        } else
                                return n->classid;
                }
                if (!next)
                        return 0;
                t = next;
        }
        g_assert_not_reached();
}

typedef struct Guest {
        uint8_t mac[6];
        uint16_t class_id;
} Guest;

/* What virtbus installs: 800::1 matches all and hashes dst MAC byte 5 into 1:, each guest one node in
 * its bucket with the keys qos_mac_keys() gives. */
static void model_virtbus(Model *m, const Guest *g, size_t n) {
        Node link = {
                .n_keys = 1,
                .keys = { { .val = 0, .mask = 0, .off = 0 } },
                .link = 1,
                .hmask = QOS_MAC_HASH_MASK,
                .hoff = QOS_MAC_HASH_OFFSET,
        };

        g_array_append_val(m->tables[0].buckets[0], link);
        for (size_t i = 0; i < n; i++) {
                Node node = {
                        .n_keys = QOS_MAC_KEYS,
                        .link = -1,
                        .classid = QOS_FLOOR_CLASS(g[i].class_id),
                };

                qos_mac_keys(g[i].mac, node.keys);
                g_array_append_val(m->tables[1].buckets[qos_mac_bucket(g[i].mac)], node);
        }
}

/* What libvirt installs (libvirt-qos-reference.md): one list in the root table, per guest
 * "match u16 0x0800 0xffff at -2", "match u32 M2..M5 at -12", "match u16 M0M1 at -14". */
static void model_libvirt(Model *m, const Guest *g, size_t n) {
        for (size_t i = 0; i < n; i++) {
                const uint8_t *a = g[i].mac;
                Node node = {
                        .n_keys = 3,
                        .keys = {
                                { .val = 0x0800, .mask = 0x0000ffff, .off = -4 },
                                { .val = (uint32_t) a[2] << 24 | (uint32_t) a[3] << 16 |
                                         (uint32_t) a[4] << 8 | a[5],
                                  .mask = 0xffffffff,
                                  .off = -12 },
                                { .val = (uint32_t) a[0] << 8 | a[1], .mask = 0x0000ffff, .off = -16 },
                        },
                        .link = -1,
                        .classid = QOS_FLOOR_CLASS(g[i].class_id),
                };

                g_array_append_val(m->tables[0].buckets[0], node);
        }
}

static void random_guests(GRand *rand, Guest *g, size_t n) {
        for (size_t i = 0; i < n; i++) {
                bool unique;

                do {
                        /* libvirt-style 52:54:00:xx:xx:xx, sometimes sharing the last byte on purpose */
                        g[i].mac[0] = 0x52;
                        g[i].mac[1] = 0x54;
                        g[i].mac[2] = 0x00;
                        for (size_t b = 3; b < 6; b++)
                                g[i].mac[b] = g_rand_int_range(rand, 0, 256);
                        if (i > 0 && g_rand_int_range(rand, 0, 8) == 0)
                                g[i].mac[5] = g[i - 1].mac[5];
                        unique = true;
                        for (size_t j = 0; j < i; j++)
                                unique = unique && memcmp(g[i].mac, g[j].mac, 6) != 0;
                } while (!unique);
                g[i].class_id = QOS_CLASS_ID_MIN + i;
        }
}

static void test_u32_equivalence(void) {
        g_autoptr(GRand) rand = g_rand_new_with_seed(0x32);
        static const size_t sizes[] = { 1, 10, 100, 1000 };
        static const uint16_t ethertypes[] = { 0x0800, 0x86dd, 0x0806, 0x8100 };

        for (size_t s = 0; s < G_N_ELEMENTS(sizes); s++) {
                size_t n = sizes[s];
                g_autofree Guest *guests = g_new0(Guest, n);
                Model ours, libvirt;
                unsigned max_ours = 0, max_libvirt = 0;
                uint64_t sum_ours = 0, sum_libvirt = 0, frames = 0;

                random_guests(rand, guests, n);
                model_init(&ours);
                model_init(&libvirt);
                model_virtbus(&ours, guests, n);
                model_libvirt(&libvirt, guests, n);

                for (size_t i = 0; i < n + 50; i++) {
                        uint8_t dst[6];
                        uint32_t expected = 0;

                        if (i < n) {
                                memcpy(dst, guests[i].mac, 6);
                                expected = QOS_FLOOR_CLASS(guests[i].class_id);
                        } else {
                                /* not a floor guest: random, near misses, broadcast */
                                for (size_t b = 0; b < 6; b++)
                                        dst[b] = g_rand_int_range(rand, 0, 256);
                                if (i % 3 == 0 && n > 0) {
                                        memcpy(dst, guests[g_rand_int_range(rand, 0, n)].mac, 6);
                                        unsigned byte = g_rand_int_range(rand, 0, 6);

                                        dst[byte] ^= 1u << g_rand_int_range(rand, 0, 8);
                                }
                                if (i % 7 == 0)
                                        memset(dst, 0xff, 6);
                                for (size_t j = 0; j < n; j++)
                                        if (memcmp(dst, guests[j].mac, 6) == 0)
                                                expected = QOS_FLOOR_CLASS(guests[j].class_id);
                        }

                        for (size_t e = 0; e < G_N_ELEMENTS(ethertypes); e++) {
                                Frame f = frame(dst, ethertypes[e]);
                                unsigned v_ours = 0, v_libvirt = 0;
                                uint32_t c_ours = model_classify(&ours, &f, &v_ours);
                                uint32_t c_libvirt = model_classify(&libvirt, &f, &v_libvirt);

                                /* The same class wherever libvirt classifies at all (IPv4); virtbus
                                 * also for every other ethertype. */
                                if (ethertypes[e] == 0x0800)
                                        g_assert_cmphex(c_ours, ==, c_libvirt);
                                else
                                        g_assert_cmphex(c_libvirt, ==, 0);
                                g_assert_cmphex(c_ours, ==, expected);

                                max_ours = MAX(max_ours, v_ours);
                                max_libvirt = MAX(max_libvirt, v_libvirt);
                                sum_ours += v_ours;
                                sum_libvirt += v_libvirt;
                                frames++;
                        }
                }

                g_test_message("%zu floor interfaces: nodes visited per frame: virtbus mean %.2f max %u, "
                               "libvirt mean %.2f max %u",
                               n, (double) sum_ours / frames, max_ours, (double) sum_libvirt / frames,
                               max_libvirt);
                /* libvirt walks the whole list for every frame it does not classify */
                g_assert_cmpuint(max_libvirt, ==, n);
                /* virtbus: the root node plus one bucket, whose length is set by MACs sharing a last
                 * byte, not by n (1000 random MACs in 256 buckets: expected ~4, here with forced
                 * collisions still far below 20). */
                g_assert_cmpuint(max_ours, <=, 20);
                if (n >= 100)
                        g_assert_cmpfloat((double) sum_ours / frames, <, (double) sum_libvirt / frames / 10);

                model_done(&ours);
                model_done(&libvirt);
        }
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/qos-plan/units", test_units);
        g_test_add_func("/qos-plan/ticks", test_ticks);
        g_test_add_func("/qos-plan/layout-helpers", test_layout_helpers);
        g_test_add_func("/qos-plan/capability-choice", test_capability_choice);
        g_test_add_func("/qos-plan/tap", test_plan_tap);
        g_test_add_func("/qos-plan/macvtap", test_plan_macvtap);
        g_test_add_func("/qos-plan/unsupported", test_plan_unsupported);
        g_test_add_func("/qos-plan/bridge", test_plan_bridge);
        g_test_add_func("/qos-plan/default-class", test_default_class);
        g_test_add_func("/qos-plan/floor", test_plan_floor);
        g_test_add_func("/qos-plan/admission", test_admission);
        g_test_add_func("/qos-plan/u32-equivalence", test_u32_equivalence);
        return g_test_run();
}
