/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The helper wire protocol: round trips, and the decoder against every kind of bad input.
 * The last part runs nh_call() against a scripted fake helper on a private socket. */

#include <glib.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "fdpass.h"
#include "protocol.h"

/* Raw message builder for inputs the encoder would never produce. */
typedef struct Msg {
        uint8_t buf[2 * NH_MESSAGE_MAX + 64];
        size_t len;
} Msg;

static void msg_header(Msg *m, uint32_t magic, uint16_t version, uint16_t verb, uint32_t seq) {
        memset(m, 0, sizeof *m);
        memcpy(m->buf, &magic, 4);
        memcpy(m->buf + 4, &version, 2);
        memcpy(m->buf + 6, &verb, 2);
        memcpy(m->buf + 8, &seq, 4);
        m->len = NH_HEADER_SIZE;
}

static void msg_init(Msg *m, uint16_t verb, uint32_t seq) {
        msg_header(m, NH_MAGIC, NH_VERSION, verb, seq);
}

static void msg_attr(Msg *m, uint16_t type, const void *data, uint16_t len) {
        size_t padded = (len + 3u) & ~3u;

        g_assert_cmpuint(m->len + 4 + padded, <=, sizeof m->buf);
        memcpy(m->buf + m->len, &type, 2);
        memcpy(m->buf + m->len + 2, &len, 2);
        if (len > 0)
                memcpy(m->buf + m->len + 4, data, len);
        m->len += 4 + padded;
}

static void msg_u32(Msg *m, uint16_t type, uint32_t v) {
        msg_attr(m, type, &v, 4);
}

static void msg_u8(Msg *m, uint16_t type, uint8_t v) {
        msg_attr(m, type, &v, 1);
}

static void msg_str(Msg *m, uint16_t type, const char *s) {
        msg_attr(m, type, s, strlen(s) + 1);
}

static void msg_finish(Msg *m) {
        uint32_t payload = m->len - NH_HEADER_SIZE;
        memcpy(m->buf + 12, &payload, 4);
}

/* Decode m, expect error `expected` and an error text containing `needle`. */
static void assert_decode_fails(const Msg *m, int expected, const char *needle) {
        char err[NH_ERROR_MESSAGE_MAX];
        NhRequest req;
        int r;

        r = nh_request_decode(m->buf, m->len, &req, err, sizeof err);
        if (r != expected || (needle && !strstr(err, needle)))
                g_error("decode returned %d (%s) \"%s\", expected %d (%s) containing \"%s\"", r,
                        g_strerror(-r), err, expected, g_strerror(-expected), needle ? needle : "");
}

static NhRequest decode_ok(const Msg *m) {
        char err[NH_ERROR_MESSAGE_MAX];
        NhRequest req;
        int r;

        r = nh_request_decode(m->buf, m->len, &req, err, sizeof err);
        if (r < 0)
                g_error("decode failed: %d %s", r, err);
        return req;
}

static NhRequest sample_bridge(void) {
        NhRequest req = { .verb = NH_VERB_BRIDGE_CREATE, .seq = 42 };
        NhBridgeCreate *b = &req.bridge_create;

        strcpy(b->ifname, "virbr1");
        b->has_mac = true;
        memcpy(b->mac, (uint8_t[]) { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc }, 6);
        b->mtu = 9000;
        b->stp = true;
        b->forward_delay = 15;
        b->n_addresses = 2;
        b->addresses[0] = (NhAddress) { .family = AF_INET, .prefixlen = 24, .address = { 10, 0, 0, 1 } };
        b->addresses[1] = (NhAddress) {
                .family = AF_INET6,
                .prefixlen = 64,
                .address = { 0xfd, 0, [15] = 1 },
        };
        return req;
}

static NhRequest sample_tap(void) {
        NhRequest req = { .verb = NH_VERB_TAP_CREATE, .seq = 7 };
        NhTapCreate *t = &req.tap_create;

        strcpy(t->ifname, "vnet12");
        t->has_mac = true;
        memcpy(t->mac, (uint8_t[]) { 0xfe, 0x54, 0x00, 1, 2, 3 }, 6);
        t->mtu = 1500;
        t->vnet_hdr = true;
        t->queues = 4;
        strcpy(t->bridge, "virbr1");
        return req;
}

static NhRequest sample_macvtap(void) {
        NhRequest req = { .verb = NH_VERB_MACVTAP_CREATE, .seq = 99 };
        NhMacvtapCreate *m = &req.macvtap_create;

        strcpy(m->ifname, "macvtap7");
        strcpy(m->lower, "eth0");
        m->mode = NH_MACVTAP_MODE_PASSTHROUGH;
        memcpy(m->mac, (uint8_t[]) { 0x52, 0x54, 0x00, 4, 5, 6 }, 6);
        m->mtu = 9000;
        m->vnet_hdr = true;
        m->queues = 3;
        m->noqueue = true;
        return req;
}

static NhRequest sample_vhost(void) {
        return (NhRequest) { .verb = NH_VERB_VHOST_OPEN, .seq = 1000, .vhost_open.queues = 2 };
}

/* A valid MACVTAP_CREATE prefix in raw form: IFNAME, LOWER, MACVTAP_MODE, MAC. */
static void msg_macvtap(Msg *m, uint32_t seq) {
        msg_init(m, NH_VERB_MACVTAP_CREATE, seq);
        msg_str(m, NH_ATTR_IFNAME, "macvtap0");
        msg_str(m, NH_ATTR_LOWER, "eth0");
        msg_u32(m, NH_ATTR_MACVTAP_MODE, NH_MACVTAP_MODE_BRIDGE);
        msg_attr(m, NH_ATTR_MAC, (uint8_t[]) { 0x52, 0x54, 0x00, 1, 2, 3 }, 6);
}

static NhRequest sample_scope(void) {
        NhRequest req = { .verb = NH_VERB_SCOPE_CREATE, .seq = 77 };

        req.scope_create.pid = 4242;
        strcpy(req.scope_create.unit, "virtbus-qemu-3-web\\x2d1.scope");
        strcpy(req.scope_create.machine, "qemu-3-web-1");
        for (unsigned i = 0; i < 16; i++)
                req.scope_create.uuid[i] = 0xa0 + i;
        return req;
}

static NhRequest sample_delete(void) {
        NhRequest req = { .verb = NH_VERB_LINK_DELETE, .seq = UINT32_MAX };

        strcpy(req.link_delete.ifname, "macvtap3");
        req.link_delete.kind = NH_LINK_MACVTAP;
        return req;
}

/* QoS requests. */

static QosHtbParams sample_htb(uint64_t rate) {
        return (QosHtbParams) {
                .rate = rate,
                .ceil = rate * 2,
                .burst = 262144,
                .cburst = 1600,
                .quantum = 85,
                .prio = 0,
        };
}

static NhRequest sample_qos_apply(void) {
        NhRequest req = { .verb = NH_VERB_QOS_APPLY_INTERFACE, .seq = 300 };
        NhQosApplyInterface *a = &req.qos_apply;

        strcpy(a->ifname, "vnet3");
        a->leaf = QOS_LEAF_SFQ;
        a->has_shape = true;
        a->shape = sample_htb(1000000);
        a->has_ifb = true;
        a->ifb = (QosHtbParams) {
                .rate = 500000, .ceil = 500000, .burst = 512000, .cburst = 512000, .quantum = 42,
        };
        return req;
}

static NhRequest sample_qos_bridge(void) {
        NhRequest req = { .verb = NH_VERB_QOS_BRIDGE_SETUP, .seq = 301 };
        NhQosBridgeSetup *b = &req.qos_bridge;

        strcpy(b->ifname, "virbr1");
        b->leaf = QOS_LEAF_PFIFO;
        b->has_hierarchy = true;
        b->root = sample_htb(1000000);
        b->def = sample_htb(700000);
        b->has_police = true;
        b->police = (QosPoliceParams) { .rate = 800000, .burst = 819200, .mtu = 65536 };
        return req;
}

static NhRequest sample_qos_floor_add(void) {
        NhRequest req = { .verb = NH_VERB_QOS_FLOOR_ADD, .seq = 302 };
        NhQosFloor *f = &req.qos_floor;

        strcpy(f->ifname, "virbr1");
        f->class_id = 0x1234;
        f->leaf = QOS_LEAF_PFIFO;
        f->shape = (QosHtbParams) {
                .rate = 200000, .ceil = 5000000, .burst = 1600, .cburst = 1600, .quantum = 17,
        };
        memcpy(f->mac, (uint8_t[]) { 0x52, 0x54, 0x00, 0xab, 0xcd, 0xef }, 6);
        f->has_default = true;
        f->def = sample_htb(800000);
        return req;
}

static NhRequest sample_qos_floor_remove(void) {
        NhRequest req = { .verb = NH_VERB_QOS_FLOOR_REMOVE, .seq = 303 };

        strcpy(req.qos_floor.ifname, "virbr1");
        req.qos_floor.class_id = QOS_CLASS_ID_MAX;
        return req;
}

static NhRequest sample_qos_default(void) {
        NhRequest req = { .verb = NH_VERB_QOS_DEFAULT_RATE, .seq = 304 };

        strcpy(req.qos_floor.ifname, "virbr1");
        req.qos_floor.has_default = true;
        req.qos_floor.def = sample_htb(UINT64_C(5000000000)); /* beyond 32 bits */
        return req;
}

static NhRequest sample_qos_clear(NhVerb verb, const char *ifname) {
        NhRequest req = { .verb = verb, .seq = 305 };

        strcpy(req.qos_clear.ifname, ifname);
        return req;
}

static NhRequest sample_qos_probe(void) {
        return (NhRequest) { .verb = NH_VERB_QOS_PROBE, .seq = 306 };
}

static Msg encode(const NhRequest *req) {
        Msg m = {};
        int r;

        r = nh_request_encode(req, m.buf, sizeof m.buf);
        g_assert_cmpint(r, >, 0);
        m.len = r;
        return m;
}

static void assert_request_equal(const NhRequest *a, const NhRequest *b) {
        g_assert_cmpint(a->verb, ==, b->verb);
        g_assert_cmpuint(a->seq, ==, b->seq);
        switch (a->verb) {
        case NH_VERB_BRIDGE_CREATE: {
                const NhBridgeCreate *x = &a->bridge_create, *y = &b->bridge_create;
                g_assert_cmpstr(x->ifname, ==, y->ifname);
                g_assert_cmpint(x->has_mac, ==, y->has_mac);
                if (x->has_mac)
                        g_assert_cmpmem(x->mac, 6, y->mac, 6);
                g_assert_cmpuint(x->mtu, ==, y->mtu);
                g_assert_cmpint(x->stp, ==, y->stp);
                g_assert_cmpuint(x->forward_delay, ==, y->forward_delay);
                g_assert_cmpuint(x->n_addresses, ==, y->n_addresses);
                g_assert_cmpmem(x->addresses, x->n_addresses * sizeof(NhAddress), y->addresses,
                                y->n_addresses * sizeof(NhAddress));
                break;
        }
        case NH_VERB_TAP_CREATE: {
                const NhTapCreate *x = &a->tap_create, *y = &b->tap_create;
                g_assert_cmpstr(x->ifname, ==, y->ifname);
                g_assert_cmpint(x->has_mac, ==, y->has_mac);
                if (x->has_mac)
                        g_assert_cmpmem(x->mac, 6, y->mac, 6);
                g_assert_cmpuint(x->mtu, ==, y->mtu);
                g_assert_cmpint(x->vnet_hdr, ==, y->vnet_hdr);
                g_assert_cmpuint(x->queues ?: 1, ==, y->queues ?: 1);
                g_assert_cmpstr(x->bridge, ==, y->bridge);
                g_assert_cmpint(x->noqueue, ==, y->noqueue);
                break;
        }
        case NH_VERB_MACVTAP_CREATE: {
                const NhMacvtapCreate *x = &a->macvtap_create, *y = &b->macvtap_create;
                g_assert_cmpstr(x->ifname, ==, y->ifname);
                g_assert_cmpstr(x->lower, ==, y->lower);
                g_assert_cmpint(x->mode, ==, y->mode);
                g_assert_cmpmem(x->mac, 6, y->mac, 6);
                g_assert_cmpuint(x->mtu, ==, y->mtu);
                g_assert_cmpint(x->vnet_hdr, ==, y->vnet_hdr);
                g_assert_cmpuint(x->queues ?: 1, ==, y->queues ?: 1);
                g_assert_cmpint(x->noqueue, ==, y->noqueue);
                break;
        }
        case NH_VERB_VHOST_OPEN:
                g_assert_cmpuint(a->vhost_open.queues, ==, b->vhost_open.queues);
                break;
        case NH_VERB_SCOPE_CREATE:
                g_assert_cmpuint(a->scope_create.pid, ==, b->scope_create.pid);
                g_assert_cmpstr(a->scope_create.unit, ==, b->scope_create.unit);
                g_assert_cmpstr(a->scope_create.machine, ==, b->scope_create.machine);
                g_assert_cmpmem(a->scope_create.uuid, 16, b->scope_create.uuid, 16);
                break;
        case NH_VERB_LINK_DELETE:
                g_assert_cmpstr(a->link_delete.ifname, ==, b->link_delete.ifname);
                g_assert_cmpint(a->link_delete.kind, ==, b->link_delete.kind);
                break;
        case NH_VERB_QOS_PROBE:
                break;
        case NH_VERB_QOS_APPLY_INTERFACE: {
                const NhQosApplyInterface *x = &a->qos_apply, *y = &b->qos_apply;
                g_assert_cmpstr(x->ifname, ==, y->ifname);
                g_assert_cmpint(x->leaf ?: QOS_LEAF_PFIFO, ==, y->leaf ?: QOS_LEAF_PFIFO);
                g_assert_cmpint(x->has_shape, ==, y->has_shape);
                if (x->has_shape)
                        g_assert_cmpmem(&x->shape, sizeof x->shape, &y->shape, sizeof y->shape);
                g_assert_cmpint(x->has_police, ==, y->has_police);
                if (x->has_police)
                        g_assert_cmpmem(&x->police, sizeof x->police, &y->police, sizeof y->police);
                g_assert_cmpint(x->has_ifb, ==, y->has_ifb);
                if (x->has_ifb)
                        g_assert_cmpmem(&x->ifb, sizeof x->ifb, &y->ifb, sizeof y->ifb);
                break;
        }
        case NH_VERB_QOS_CLEAR_INTERFACE:
        case NH_VERB_QOS_BRIDGE_TEARDOWN:
                g_assert_cmpstr(a->qos_clear.ifname, ==, b->qos_clear.ifname);
                break;
        case NH_VERB_QOS_BRIDGE_SETUP: {
                const NhQosBridgeSetup *x = &a->qos_bridge, *y = &b->qos_bridge;
                g_assert_cmpstr(x->ifname, ==, y->ifname);
                g_assert_cmpint(x->leaf ?: QOS_LEAF_PFIFO, ==, y->leaf ?: QOS_LEAF_PFIFO);
                g_assert_cmpint(x->has_hierarchy, ==, y->has_hierarchy);
                if (x->has_hierarchy) {
                        g_assert_cmpmem(&x->root, sizeof x->root, &y->root, sizeof y->root);
                        g_assert_cmpmem(&x->def, sizeof x->def, &y->def, sizeof y->def);
                }
                g_assert_cmpint(x->has_police, ==, y->has_police);
                if (x->has_police)
                        g_assert_cmpmem(&x->police, sizeof x->police, &y->police, sizeof y->police);
                g_assert_cmpint(x->has_ifb, ==, y->has_ifb);
                if (x->has_ifb)
                        g_assert_cmpmem(&x->ifb, sizeof x->ifb, &y->ifb, sizeof y->ifb);
                break;
        }
        case NH_VERB_QOS_FLOOR_ADD:
        case NH_VERB_QOS_FLOOR_REMOVE:
        case NH_VERB_QOS_DEFAULT_RATE: {
                const NhQosFloor *x = &a->qos_floor, *y = &b->qos_floor;
                g_assert_cmpstr(x->ifname, ==, y->ifname);
                if (a->verb != NH_VERB_QOS_DEFAULT_RATE)
                        g_assert_cmpuint(x->class_id, ==, y->class_id);
                if (a->verb == NH_VERB_QOS_FLOOR_ADD) {
                        g_assert_cmpint(x->leaf ?: QOS_LEAF_PFIFO, ==, y->leaf ?: QOS_LEAF_PFIFO);
                        g_assert_cmpmem(&x->shape, sizeof x->shape, &y->shape, sizeof y->shape);
                        g_assert_cmpmem(x->mac, 6, y->mac, 6);
                }
                g_assert_cmpint(x->has_default, ==, y->has_default);
                if (x->has_default)
                        g_assert_cmpmem(&x->def, sizeof x->def, &y->def, sizeof y->def);
                break;
        }
        default:
                g_assert_not_reached();
        }
}

static void test_roundtrip_bridge(void) {
        NhRequest req = sample_bridge(), out;
        Msg m;

        m = encode(&req);
        g_assert_cmpuint(m.len % 4, ==, 0);
        out = decode_ok(&m);
        assert_request_equal(&req, &out);

        /* Minimal: no MAC, no MTU, no addresses, STP off. */
        req = (NhRequest) { .verb = NH_VERB_BRIDGE_CREATE, .seq = 1 };
        strcpy(req.bridge_create.ifname, "b");
        m = encode(&req);
        out = decode_ok(&m);
        assert_request_equal(&req, &out);
        g_assert_false(out.bridge_create.has_mac);

        /* The maximum number of addresses. */
        req = sample_bridge();
        req.bridge_create.n_addresses = NH_ADDRESSES_MAX;
        for (unsigned i = 0; i < NH_ADDRESSES_MAX; i++)
                req.bridge_create.addresses[i] =
                        (NhAddress) { .family = AF_INET, .prefixlen = i, .address = { 192, 168, i, 1 } };
        m = encode(&req);
        out = decode_ok(&m);
        assert_request_equal(&req, &out);
}

static void test_roundtrip_tap(void) {
        NhRequest req = sample_tap(), out;
        Msg m;

        m = encode(&req);
        out = decode_ok(&m);
        assert_request_equal(&req, &out);

        /* Defaults: no bridge, queues absent = 1, no MAC/MTU. */
        req = (NhRequest) { .verb = NH_VERB_TAP_CREATE, .seq = 9 };
        strcpy(req.tap_create.ifname, "vnet0");
        m = encode(&req);
        out = decode_ok(&m);
        g_assert_cmpuint(out.tap_create.queues, ==, 1);
        g_assert_cmpstr(out.tap_create.bridge, ==, "");
        g_assert_false(out.tap_create.has_mac);
        g_assert_cmpuint(out.tap_create.mtu, ==, 0);

        req.tap_create.queues = NH_QUEUES_MAX;
        m = encode(&req);
        out = decode_ok(&m);
        g_assert_cmpuint(out.tap_create.queues, ==, NH_QUEUES_MAX);
        g_assert_false(out.tap_create.noqueue);

        req.tap_create.noqueue = true;
        m = encode(&req);
        out = decode_ok(&m);
        g_assert_true(out.tap_create.noqueue);
        assert_request_equal(&req, &out);

        /* Explicit 0 is accepted too. */
        Msg raw;
        msg_init(&raw, NH_VERB_TAP_CREATE, 3);
        msg_str(&raw, NH_ATTR_IFNAME, "vnet0");
        msg_u8(&raw, NH_ATTR_NOQUEUE, 0);
        msg_finish(&raw);
        out = decode_ok(&raw);
        g_assert_false(out.tap_create.noqueue);
}

/* Backward compatibility: a TAP_CREATE without NOQUEUE is byte for byte what it was before the
 * attribute existed, so helpers that predate it still accept it. */
static void test_tap_compat(void) {
        NhRequest req = sample_tap();
        Msg m = encode(&req), old;

        msg_init(&old, NH_VERB_TAP_CREATE, req.seq);
        msg_str(&old, NH_ATTR_IFNAME, "vnet12");
        msg_attr(&old, NH_ATTR_MAC, req.tap_create.mac, 6);
        msg_u32(&old, NH_ATTR_MTU, 1500);
        msg_u8(&old, NH_ATTR_VNET_HDR, 1);
        msg_u32(&old, NH_ATTR_QUEUES, 4);
        msg_str(&old, NH_ATTR_BRIDGE, "virbr1");
        msg_finish(&old);
        g_assert_cmpmem(m.buf, m.len, old.buf, old.len);

        /* With it: the same plus one attribute at the end. */
        req.tap_create.noqueue = true;
        m = encode(&req);
        msg_u8(&old, NH_ATTR_NOQUEUE, 1);
        msg_finish(&old);
        g_assert_cmpmem(m.buf, m.len, old.buf, old.len);

        /* The numbers of the original verbs and attributes never change. */
        g_assert_cmpint(NH_VERSION, ==, 1);
        g_assert_cmpint(NH_VERB_LINK_DELETE, ==, 3);
        g_assert_cmpint(NH_ATTR_N_FDS, ==, 14);
        g_assert_cmpint(NH_VERB_MACVTAP_CREATE, ==, 4);
        g_assert_cmpint(NH_VERB_VHOST_OPEN, ==, 5);
        g_assert_cmpint(NH_ATTR_NOQUEUE, ==, 15);
        g_assert_cmpint(NH_ATTR_LOWER, ==, 16);
        g_assert_cmpint(NH_ATTR_MACVTAP_MODE, ==, 17);
        g_assert_cmpint(NH_ATTR_NOQUEUE_APPLIED, ==, 18);
}

/* SCOPE_CREATE: only our scope names, only real pids, nothing else. */
static void test_scope(void) {
        static const char *const bad_units[] = {
                "virtbus-qemu-.scope",          /* nothing between prefix and suffix */
                "virtbus-qemu-1-a.service",     /* not a scope */
                "sshd.scope",                   /* not ours */
                "virtbus-qemu-1-a b.scope",     /* not a unit name character */
                "virtbus-qemu-1-../x.scope",
                "virtbus-qemu-1-a\n.scope",
        };
        NhRequest req = sample_scope(), out;
        Msg m;

        m = encode(&req);
        out = decode_ok(&m);
        assert_request_equal(&req, &out);
        g_assert_cmpint(NH_VERB_SCOPE_CREATE, ==, 14);
        g_assert_cmpstr(nh_verb_to_string(NH_VERB_SCOPE_CREATE), ==, "SCOPE_CREATE");

        for (size_t i = 0; i < G_N_ELEMENTS(bad_units); i++) {
                msg_init(&m, NH_VERB_SCOPE_CREATE, 1);
                msg_u32(&m, NH_ATTR_PID, 100);
                msg_str(&m, NH_ATTR_UNIT, bad_units[i]);
                msg_finish(&m);
                assert_decode_fails(&m, -EINVAL, "is not a scope name of the form virtbus-qemu-");
        }
        /* pid 0 and 1 are never a QEMU of ours; pids are positive ints */
        for (uint32_t pid = 0; pid < 2; pid++) {
                msg_init(&m, NH_VERB_SCOPE_CREATE, 1);
                msg_u32(&m, NH_ATTR_PID, pid);
                msg_str(&m, NH_ATTR_UNIT, "virtbus-qemu-1-a.scope");
                msg_finish(&m);
                assert_decode_fails(&m, -EINVAL, "PID");
        }
        msg_init(&m, NH_VERB_SCOPE_CREATE, 1);
        msg_u32(&m, NH_ATTR_PID, 0x80000000u);
        msg_str(&m, NH_ATTR_UNIT, "virtbus-qemu-1-a.scope");
        msg_finish(&m);
        assert_decode_fails(&m, -EINVAL, "PID");
        /* without a machine: nothing for machined */
        req.scope_create.machine[0] = 0;
        memset(req.scope_create.uuid, 0, sizeof req.scope_create.uuid);
        m = encode(&req);
        out = decode_ok(&m);
        assert_request_equal(&req, &out);
        /* machine names are host names; MACHINE and UUID come together */
        static const char *const bad_machines[] = { "", ".a", "a.", "a..b", "a_b", "a b", "qemu-1-\xc3\xbc" };
        for (size_t i = 0; i < G_N_ELEMENTS(bad_machines); i++) {
                msg_init(&m, NH_VERB_SCOPE_CREATE, 1);
                msg_u32(&m, NH_ATTR_PID, 100);
                msg_str(&m, NH_ATTR_UNIT, "virtbus-qemu-1-a.scope");
                msg_str(&m, NH_ATTR_MACHINE, bad_machines[i]);
                msg_attr(&m, NH_ATTR_UUID, (uint8_t[16]) { 1 }, 16);
                msg_finish(&m);
                assert_decode_fails(&m, -EINVAL, "is not a valid machine name");
        }
        msg_init(&m, NH_VERB_SCOPE_CREATE, 1);
        msg_u32(&m, NH_ATTR_PID, 100);
        msg_str(&m, NH_ATTR_UNIT, "virtbus-qemu-1-a.scope");
        msg_str(&m, NH_ATTR_MACHINE, "qemu-1-a");
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "MACHINE and UUID come together");
        msg_init(&m, NH_VERB_SCOPE_CREATE, 1);
        msg_u32(&m, NH_ATTR_PID, 100);
        msg_str(&m, NH_ATTR_UNIT, "virtbus-qemu-1-a.scope");
        msg_str(&m, NH_ATTR_MACHINE, "qemu-1-a");
        msg_attr(&m, NH_ATTR_UUID, (uint8_t[15]) { 1 }, 15);
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "UUID) has length 15, expected 16");

        /* both attributes are required, and nothing else is taken */
        msg_init(&m, NH_VERB_SCOPE_CREATE, 1);
        msg_u32(&m, NH_ATTR_PID, 100);
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "UNIT");
        msg_init(&m, NH_VERB_SCOPE_CREATE, 1);
        msg_u32(&m, NH_ATTR_PID, 100);
        msg_str(&m, NH_ATTR_UNIT, "virtbus-qemu-1-a.scope");
        msg_str(&m, NH_ATTR_IFNAME, "vnet0");
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "IFNAME");
}

static void test_roundtrip_macvtap(void) {
        NhRequest req = sample_macvtap(), out;
        Msg m;

        m = encode(&req);
        g_assert_cmpuint(m.len % 4, ==, 0);
        out = decode_ok(&m);
        assert_request_equal(&req, &out);

        for (NhMacvtapMode mode = NH_MACVTAP_MODE_VEPA; mode < _NH_MACVTAP_MODE_MAX; mode++) {
                req.macvtap_create.mode = mode;
                m = encode(&req);
                out = decode_ok(&m);
                g_assert_cmpint(out.macvtap_create.mode, ==, mode);
        }

        /* Defaults: queues absent = 1, MTU of the lower device, no vnet header, no noqueue. */
        req = (NhRequest) { .verb = NH_VERB_MACVTAP_CREATE, .seq = 5 };
        strcpy(req.macvtap_create.ifname, "macvtap0");
        strcpy(req.macvtap_create.lower, "e");
        req.macvtap_create.mode = NH_MACVTAP_MODE_VEPA;
        memcpy(req.macvtap_create.mac, (uint8_t[]) { 2, 0, 0, 0, 0, 1 }, 6);
        m = encode(&req);
        out = decode_ok(&m);
        assert_request_equal(&req, &out);
        g_assert_cmpuint(out.macvtap_create.queues, ==, 1);
        g_assert_cmpuint(out.macvtap_create.mtu, ==, 0);
        g_assert_false(out.macvtap_create.vnet_hdr);
        g_assert_false(out.macvtap_create.noqueue);

        req.macvtap_create.queues = NH_QUEUES_MAX;
        m = encode(&req);
        out = decode_ok(&m);
        g_assert_cmpuint(out.macvtap_create.queues, ==, NH_QUEUES_MAX);

        /* The minimal raw form: only the required attributes. */
        msg_macvtap(&m, 8);
        msg_finish(&m);
        out = decode_ok(&m);
        g_assert_cmpstr(out.macvtap_create.ifname, ==, "macvtap0");
        g_assert_cmpstr(out.macvtap_create.lower, ==, "eth0");
        g_assert_cmpint(out.macvtap_create.mode, ==, NH_MACVTAP_MODE_BRIDGE);
        g_assert_cmpuint(out.macvtap_create.queues, ==, 1);

        g_assert_cmpstr(nh_macvtap_mode_to_string(NH_MACVTAP_MODE_VEPA), ==, "vepa");
        g_assert_cmpstr(nh_macvtap_mode_to_string(NH_MACVTAP_MODE_BRIDGE), ==, "bridge");
        g_assert_cmpstr(nh_macvtap_mode_to_string(NH_MACVTAP_MODE_PRIVATE), ==, "private");
        g_assert_cmpstr(nh_macvtap_mode_to_string(NH_MACVTAP_MODE_PASSTHROUGH), ==, "passthrough");
        g_assert_null(nh_macvtap_mode_to_string(0));
        g_assert_null(nh_macvtap_mode_to_string(_NH_MACVTAP_MODE_MAX));
        g_assert_null(nh_macvtap_mode_to_string(1000));
}

static void test_roundtrip_vhost(void) {
        for (uint32_t q = 1; q <= NH_QUEUES_MAX; q++) {
                NhRequest req = sample_vhost(), out;
                Msg m;

                req.vhost_open.queues = q;
                m = encode(&req);
                /* header + QUEUES, nothing else */
                g_assert_cmpuint(m.len, ==, NH_HEADER_SIZE + 8);
                out = decode_ok(&m);
                assert_request_equal(&req, &out);
        }
}

static void test_roundtrip_delete(void) {
        for (NhLinkKind k = NH_LINK_BRIDGE; k < _NH_LINK_KIND_MAX; k++) {
                NhRequest req = sample_delete(), out;
                Msg m;

                req.link_delete.kind = k;
                m = encode(&req);
                out = decode_ok(&m);
                assert_request_equal(&req, &out);
        }
}

static void test_roundtrip_reply(void) {
        NhReply reply = { .seq = 5, .error = 0, .ifindex = 17, .n_fds = 4 }, out;
        uint8_t buf[NH_MESSAGE_MAX];
        char err[NH_ERROR_MESSAGE_MAX];
        int len;

        len = nh_reply_encode(&reply, buf, sizeof buf);
        g_assert_cmpint(len, >, 0);
        g_assert_cmpint(nh_reply_decode(buf, len, &out, err, sizeof err), ==, 0);
        g_assert_cmpuint(out.seq, ==, 5);
        g_assert_cmpuint(out.error, ==, 0);
        g_assert_cmpuint(out.ifindex, ==, 17);
        g_assert_cmpuint(out.n_fds, ==, 4);
        g_assert_cmpstr(out.message, ==, "");

        reply = (NhReply) { .seq = 6, .error = EPERM };
        strcpy(reply.message, "bridge br0 is not allowed by /etc/virtbus/nethelper.conf");
        len = nh_reply_encode(&reply, buf, sizeof buf);
        g_assert_cmpint(nh_reply_decode(buf, len, &out, err, sizeof err), ==, 0);
        g_assert_cmpuint(out.error, ==, EPERM);
        g_assert_cmpstr(out.message, ==, reply.message);

        /* noqueue outcome: absent unless reported, then 0 or 1; with error 0 the message is a
         * warning. */
        g_assert_false(out.has_noqueue_applied);
        reply = (NhReply) { .seq = 7, .ifindex = 3, .n_fds = 1, .has_noqueue_applied = true,
                            .noqueue_applied = true };
        len = nh_reply_encode(&reply, buf, sizeof buf);
        g_assert_cmpint(nh_reply_decode(buf, len, &out, err, sizeof err), ==, 0);
        g_assert_true(out.has_noqueue_applied);
        g_assert_true(out.noqueue_applied);
        reply.noqueue_applied = false;
        strcpy(reply.message, "root qdisc noqueue not applied to vnet0: Invalid argument");
        len = nh_reply_encode(&reply, buf, sizeof buf);
        g_assert_cmpint(nh_reply_decode(buf, len, &out, err, sizeof err), ==, 0);
        g_assert_cmpuint(out.error, ==, 0);
        g_assert_true(out.has_noqueue_applied);
        g_assert_false(out.noqueue_applied);
        g_assert_cmpstr(out.message, ==, reply.message);
        g_assert_cmpuint(out.ifindex, ==, 3);

        /* A message filling the whole array (not terminated) is cut, never refused. */
        memset(reply.message, 'x', sizeof reply.message);
        len = nh_reply_encode(&reply, buf, sizeof buf);
        g_assert_cmpint(nh_reply_decode(buf, len, &out, err, sizeof err), ==, 0);
        g_assert_cmpuint(strlen(out.message), ==, NH_ERROR_MESSAGE_MAX - 1);

        /* Truncated replies are refused at every length. */
        reply = (NhReply) { .seq = 1, .error = ENOENT, .ifindex = 3, .n_fds = 1 };
        strcpy(reply.message, "x");
        len = nh_reply_encode(&reply, buf, sizeof buf);
        for (int l = 0; l < len; l++)
                g_assert_cmpint(nh_reply_decode(buf, l, &out, err, sizeof err), <, 0);
}

static void test_reply_bad(void) {
        char err[NH_ERROR_MESSAGE_MAX];
        NhReply out;
        Msg m;

        /* A request is not a reply. */
        NhRequest req = sample_tap();
        m = encode(&req);
        g_assert_cmpint(nh_reply_decode(m.buf, m.len, &out, err, sizeof err), ==, -EOPNOTSUPP);

        /* ERRNO is required. */
        msg_init(&m, NH_VERB_REPLY, 1);
        msg_finish(&m);
        g_assert_cmpint(nh_reply_decode(m.buf, m.len, &out, err, sizeof err), ==, -EBADMSG);
        g_assert_nonnull(strstr(err, "missing attribute 11 (ERRNO)"));

        /* Request attributes are not allowed in a reply. */
        msg_init(&m, NH_VERB_REPLY, 1);
        msg_u32(&m, NH_ATTR_ERRNO, 0);
        msg_str(&m, NH_ATTR_IFNAME, "vnet0");
        msg_finish(&m);
        g_assert_cmpint(nh_reply_decode(m.buf, m.len, &out, err, sizeof err), ==, -EBADMSG);
        g_assert_nonnull(strstr(err, "attribute 1 (IFNAME) not allowed for verb REPLY"));

        /* Too many fds, unterminated error text, too long error text. */
        msg_init(&m, NH_VERB_REPLY, 1);
        msg_u32(&m, NH_ATTR_ERRNO, 0);
        msg_u32(&m, NH_ATTR_N_FDS, FDPASS_MAX + 1);
        msg_finish(&m);
        g_assert_cmpint(nh_reply_decode(m.buf, m.len, &out, err, sizeof err), ==, -EINVAL);

        msg_init(&m, NH_VERB_REPLY, 1);
        msg_u32(&m, NH_ATTR_ERRNO, 1);
        msg_attr(&m, NH_ATTR_ERROR, "abc", 3);
        msg_finish(&m);
        g_assert_cmpint(nh_reply_decode(m.buf, m.len, &out, err, sizeof err), ==, -EBADMSG);

        /* NOQUEUE_APPLIED: one byte, 0 or 1; the request's NOQUEUE has no place in a reply. */
        msg_init(&m, NH_VERB_REPLY, 1);
        msg_u32(&m, NH_ATTR_ERRNO, 0);
        msg_u8(&m, NH_ATTR_NOQUEUE_APPLIED, 2);
        msg_finish(&m);
        g_assert_cmpint(nh_reply_decode(m.buf, m.len, &out, err, sizeof err), ==, -EINVAL);
        g_assert_nonnull(strstr(err, "attribute 18 (NOQUEUE_APPLIED) value 2 is not 0 or 1"));

        msg_init(&m, NH_VERB_REPLY, 1);
        msg_u32(&m, NH_ATTR_ERRNO, 0);
        msg_u32(&m, NH_ATTR_NOQUEUE_APPLIED, 1);
        msg_finish(&m);
        g_assert_cmpint(nh_reply_decode(m.buf, m.len, &out, err, sizeof err), ==, -EBADMSG);

        msg_init(&m, NH_VERB_REPLY, 1);
        msg_u32(&m, NH_ATTR_ERRNO, 0);
        msg_u8(&m, NH_ATTR_NOQUEUE, 1);
        msg_finish(&m);
        g_assert_cmpint(nh_reply_decode(m.buf, m.len, &out, err, sizeof err), ==, -EBADMSG);
        g_assert_nonnull(strstr(err, "attribute 15 (NOQUEUE) not allowed for verb REPLY"));

        char long_text[NH_ERROR_MESSAGE_MAX + 10];
        memset(long_text, 'y', sizeof long_text - 1);
        long_text[sizeof long_text - 1] = 0;
        msg_init(&m, NH_VERB_REPLY, 1);
        msg_u32(&m, NH_ATTR_ERRNO, 1);
        msg_str(&m, NH_ATTR_ERROR, long_text);
        msg_finish(&m);
        g_assert_cmpint(nh_reply_decode(m.buf, m.len, &out, err, sizeof err), ==, -EINVAL);
}

static void test_encode_errors(void) {
        NhRequest req = sample_bridge();
        uint8_t small[24];

        g_assert_cmpint(nh_request_encode(&req, small, sizeof small), ==, -EMSGSIZE);
        g_assert_cmpint(nh_request_encode(&req, small, 4), ==, -EMSGSIZE);

        req.bridge_create.n_addresses = NH_ADDRESSES_MAX + 1;
        uint8_t buf[NH_MESSAGE_MAX];
        g_assert_cmpint(nh_request_encode(&req, buf, sizeof buf), ==, -EINVAL);

        req = sample_tap();
        memset(req.tap_create.ifname, 'a', sizeof req.tap_create.ifname); /* unterminated */
        g_assert_cmpint(nh_request_encode(&req, buf, sizeof buf), ==, -EINVAL);

        req = sample_macvtap();
        memset(req.macvtap_create.lower, 'e', sizeof req.macvtap_create.lower);
        g_assert_cmpint(nh_request_encode(&req, buf, sizeof buf), ==, -EINVAL);
        req = sample_macvtap();
        memset(req.macvtap_create.ifname, 'm', sizeof req.macvtap_create.ifname);
        g_assert_cmpint(nh_request_encode(&req, buf, sizeof buf), ==, -EINVAL);

        req = sample_tap();
        req.verb = 77;
        g_assert_cmpint(nh_request_encode(&req, buf, sizeof buf), ==, -EINVAL);
        req.verb = NH_VERB_REPLY;
        g_assert_cmpint(nh_request_encode(&req, buf, sizeof buf), ==, -EINVAL);
}

/* Every prefix of a valid message is refused, both as it is (payload length then disagrees
 * with the datagram) and with the header's payload length patched to match the cut. */
static void test_truncated(void) {
        const NhRequest reqs[] = { sample_bridge(),        sample_tap(),          sample_delete(),
                                   sample_macvtap(),       sample_vhost(),        sample_qos_apply(),
                                   sample_qos_bridge(),    sample_qos_floor_add(), sample_qos_floor_remove(),
                                   sample_qos_default(),
                                   sample_qos_clear(NH_VERB_QOS_CLEAR_INTERFACE, "macvtap1") };

        for (size_t i = 0; i < G_N_ELEMENTS(reqs); i++) {
                Msg full = encode(&reqs[i]);

                for (size_t l = 0; l < full.len; l++) {
                        Msg m = full;

                        m.len = l;
                        if (l < NH_HEADER_SIZE) {
                                assert_decode_fails(&m, -EBADMSG, "truncated header");
                                continue;
                        }
                        assert_decode_fails(&m, -EBADMSG, "payload length");
                        msg_finish(&m);
                        {
                                char err[NH_ERROR_MESSAGE_MAX];
                                NhRequest out;
                                int r = nh_request_decode(m.buf, m.len, &out, err, sizeof err);

                                /* A cut exactly between attributes can still be a complete (shorter)
                                 * request; anything else must fail. */
                                if (r == 0)
                                        g_assert_cmpuint(out.seq, ==, reqs[i].seq);
                                else
                                        g_assert_true(r == -EBADMSG || r == -EINVAL);
                        }
                }
        }

        /* The exact message from the spec. */
        NhRequest req = sample_bridge();
        Msg m = encode(&req);
        /* IFNAME(4+8) MAC(4+8) MTU(4+4) at 16..44: cut inside the MTU attribute's value */
        m.len = 16 + 12 + 12 + 6;
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "truncated attribute at offset 40");
}

static void test_oversized(void) {
        Msg m;
        char err[NH_ERROR_MESSAGE_MAX];
        NhRequest out;

        msg_init(&m, NH_VERB_TAP_CREATE, 1234);
        msg_str(&m, NH_ATTR_IFNAME, "vnet0");
        while (m.len <= NH_MESSAGE_MAX)
                msg_u32(&m, NH_ATTR_MTU, 1500);
        msg_finish(&m);
        g_assert_cmpint(nh_request_decode(m.buf, m.len, &out, err, sizeof err), ==, -EMSGSIZE);
        g_assert_cmpuint(out.seq, ==, 1234); /* so the error reply can carry it */
        g_assert_nonnull(strstr(err, "exceeds"));
}

static void test_bad_header(void) {
        Msg m;
        char err[NH_ERROR_MESSAGE_MAX];
        NhRequest out;

        msg_header(&m, 0x12345678, NH_VERSION, NH_VERB_LINK_DELETE, 99);
        msg_finish(&m);
        g_assert_cmpint(nh_request_decode(m.buf, m.len, &out, err, sizeof err), ==, -EPROTO);
        g_assert_cmpuint(out.seq, ==, 99);
        g_assert_nonnull(strstr(err, "bad magic"));

        msg_header(&m, NH_MAGIC, NH_VERSION + 1, NH_VERB_LINK_DELETE, 99);
        msg_finish(&m);
        g_assert_cmpint(nh_request_decode(m.buf, m.len, &out, err, sizeof err), ==, -EPROTO);
        g_assert_nonnull(strstr(err, "version"));

        /* Payload length larger / smaller than what arrived. */
        msg_init(&m, NH_VERB_LINK_DELETE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "vnet0");
        msg_u32(&m, NH_ATTR_LINK_KIND, NH_LINK_TAP);
        msg_finish(&m);
        m.len += 4;
        assert_decode_fails(&m, -EBADMSG, "payload length");
        m.len -= 8;
        assert_decode_fails(&m, -EBADMSG, "payload length");

        /* NULL and empty input. */
        g_assert_cmpint(nh_request_decode(NULL, 0, &out, err, sizeof err), ==, -EBADMSG);
        g_assert_cmpint(nh_request_decode(m.buf, 0, &out, NULL, 0), ==, -EBADMSG);
}

static void test_unknown_verb(void) {
        Msg m;

        msg_init(&m, 99, 1);
        msg_str(&m, NH_ATTR_IFNAME, "vnet0");
        msg_finish(&m);
        assert_decode_fails(&m, -EOPNOTSUPP, "unknown verb 99");

        msg_init(&m, NH_VERB_REPLY, 1);
        msg_u32(&m, NH_ATTR_ERRNO, 0);
        msg_finish(&m);
        assert_decode_fails(&m, -EOPNOTSUPP, "unknown verb 0");

        g_assert_cmpstr(nh_verb_to_string(NH_VERB_TAP_CREATE), ==, "TAP_CREATE");
        g_assert_cmpstr(nh_verb_to_string(NH_VERB_BRIDGE_CREATE), ==, "BRIDGE_CREATE");
        g_assert_cmpstr(nh_verb_to_string(NH_VERB_LINK_DELETE), ==, "LINK_DELETE");
        g_assert_cmpstr(nh_verb_to_string(NH_VERB_MACVTAP_CREATE), ==, "MACVTAP_CREATE");
        g_assert_cmpstr(nh_verb_to_string(NH_VERB_VHOST_OPEN), ==, "VHOST_OPEN");
        g_assert_null(nh_verb_to_string(_NH_VERB_MAX));
        g_assert_null(nh_verb_to_string(1000));
}

static void test_bad_attributes(void) {
        Msg m;

        /* unknown type */
        msg_init(&m, NH_VERB_TAP_CREATE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "vnet0");
        msg_u32(&m, 99, 1);
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "unknown attribute 99 at offset 28");

        msg_init(&m, NH_VERB_TAP_CREATE, 1);
        msg_attr(&m, NH_ATTR_UNSPEC, NULL, 0);
        msg_str(&m, NH_ATTR_IFNAME, "vnet0");
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "unknown attribute 0");

        /* valid attribute, wrong verb */
        msg_init(&m, NH_VERB_BRIDGE_CREATE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "virbr0");
        msg_str(&m, NH_ATTR_BRIDGE, "br0");
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "attribute 7 (BRIDGE) not allowed for verb BRIDGE_CREATE");

        msg_init(&m, NH_VERB_TAP_CREATE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "vnet0");
        msg_u8(&m, NH_ATTR_STP, 1);
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "attribute 4 (STP) not allowed for verb TAP_CREATE");

        msg_init(&m, NH_VERB_LINK_DELETE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "vnet0");
        msg_u32(&m, NH_ATTR_LINK_KIND, NH_LINK_TAP);
        msg_u32(&m, NH_ATTR_ERRNO, 0);
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "attribute 11 (ERRNO) not allowed for verb LINK_DELETE");

        /* the new attributes only where they belong */
        static const struct {
                uint16_t verb, type;
                const char *name;
        } misplaced[] = {
                { NH_VERB_BRIDGE_CREATE, NH_ATTR_NOQUEUE, "NOQUEUE" },
                { NH_VERB_LINK_DELETE, NH_ATTR_NOQUEUE, "NOQUEUE" },
                { NH_VERB_VHOST_OPEN, NH_ATTR_NOQUEUE, "NOQUEUE" },
                { NH_VERB_TAP_CREATE, NH_ATTR_LOWER, "LOWER" },
                { NH_VERB_BRIDGE_CREATE, NH_ATTR_LOWER, "LOWER" },
                { NH_VERB_TAP_CREATE, NH_ATTR_MACVTAP_MODE, "MACVTAP_MODE" },
                { NH_VERB_LINK_DELETE, NH_ATTR_MACVTAP_MODE, "MACVTAP_MODE" },
                { NH_VERB_TAP_CREATE, NH_ATTR_NOQUEUE_APPLIED, "NOQUEUE_APPLIED" },
                { NH_VERB_MACVTAP_CREATE, NH_ATTR_NOQUEUE_APPLIED, "NOQUEUE_APPLIED" },
                { NH_VERB_MACVTAP_CREATE, NH_ATTR_BRIDGE, "BRIDGE" },
                { NH_VERB_MACVTAP_CREATE, NH_ATTR_STP, "STP" },
                { NH_VERB_MACVTAP_CREATE, NH_ATTR_ADDRESS, "ADDRESS" },
                { NH_VERB_MACVTAP_CREATE, NH_ATTR_LINK_KIND, "LINK_KIND" },
                { NH_VERB_MACVTAP_CREATE, NH_ATTR_ERRNO, "ERRNO" },
                { NH_VERB_VHOST_OPEN, NH_ATTR_IFNAME, "IFNAME" },
                { NH_VERB_VHOST_OPEN, NH_ATTR_MAC, "MAC" },
                { NH_VERB_VHOST_OPEN, NH_ATTR_VNET_HDR, "VNET_HDR" },
                { NH_VERB_VHOST_OPEN, NH_ATTR_N_FDS, "N_FDS" },
        };
        for (size_t i = 0; i < G_N_ELEMENTS(misplaced); i++) {
                g_autofree char *needle = g_strdup_printf("attribute %u (%s) not allowed for verb %s",
                                                          misplaced[i].type, misplaced[i].name,
                                                          nh_verb_to_string(misplaced[i].verb));

                msg_init(&m, misplaced[i].verb, 1);
                msg_u8(&m, misplaced[i].type, 1);
                msg_finish(&m);
                assert_decode_fails(&m, -EBADMSG, needle);
        }

        /* duplicates */
        msg_macvtap(&m, 1);
        msg_str(&m, NH_ATTR_LOWER, "eth1");
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "duplicate attribute 16 (LOWER)");
        msg_macvtap(&m, 1);
        msg_u8(&m, NH_ATTR_NOQUEUE, 1);
        msg_u8(&m, NH_ATTR_NOQUEUE, 1);
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "duplicate attribute 15 (NOQUEUE)");
        msg_init(&m, NH_VERB_VHOST_OPEN, 1);
        msg_u32(&m, NH_ATTR_QUEUES, 1);
        msg_u32(&m, NH_ATTR_QUEUES, 1);
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "duplicate attribute 9 (QUEUES)");

        msg_init(&m, NH_VERB_TAP_CREATE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "vnet0");
        msg_str(&m, NH_ATTR_IFNAME, "vnet1");
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "duplicate attribute 1 (IFNAME)");

        msg_init(&m, NH_VERB_TAP_CREATE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "vnet0");
        msg_u32(&m, NH_ATTR_QUEUES, 2);
        msg_u32(&m, NH_ATTR_QUEUES, 2);
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "duplicate attribute 9 (QUEUES)");

        /* ADDRESS may repeat, up to the limit */
        NhAddress a = { .family = AF_INET, .prefixlen = 8, .address = { 10, 0, 0, 1 } };
        msg_init(&m, NH_VERB_BRIDGE_CREATE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "virbr0");
        for (int i = 0; i < NH_ADDRESSES_MAX; i++)
                msg_attr(&m, NH_ATTR_ADDRESS, &a, sizeof a);
        msg_finish(&m);
        NhRequest out = decode_ok(&m);
        g_assert_cmpuint(out.bridge_create.n_addresses, ==, NH_ADDRESSES_MAX);
        msg_attr(&m, NH_ATTR_ADDRESS, &a, sizeof a);
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "more than 16 attributes 6 (ADDRESS)");

        /* missing required attributes */
        msg_init(&m, NH_VERB_TAP_CREATE, 1);
        msg_u32(&m, NH_ATTR_QUEUES, 2);
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "missing attribute 1 (IFNAME) for verb TAP_CREATE");

        msg_init(&m, NH_VERB_LINK_DELETE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "vnet0");
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "missing attribute 10 (LINK_KIND) for verb LINK_DELETE");

        /* MACVTAP_CREATE needs IFNAME, LOWER, MACVTAP_MODE and MAC; VHOST_OPEN needs QUEUES. */
        static const struct {
                uint16_t skip;
                const char *needle;
        } required[] = {
                { NH_ATTR_IFNAME, "missing attribute 1 (IFNAME) for verb MACVTAP_CREATE" },
                { NH_ATTR_LOWER, "missing attribute 16 (LOWER) for verb MACVTAP_CREATE" },
                { NH_ATTR_MACVTAP_MODE, "missing attribute 17 (MACVTAP_MODE) for verb MACVTAP_CREATE" },
                { NH_ATTR_MAC, "missing attribute 2 (MAC) for verb MACVTAP_CREATE" },
        };
        for (size_t i = 0; i < G_N_ELEMENTS(required); i++) {
                msg_init(&m, NH_VERB_MACVTAP_CREATE, 1);
                if (required[i].skip != NH_ATTR_IFNAME)
                        msg_str(&m, NH_ATTR_IFNAME, "macvtap0");
                if (required[i].skip != NH_ATTR_LOWER)
                        msg_str(&m, NH_ATTR_LOWER, "eth0");
                if (required[i].skip != NH_ATTR_MACVTAP_MODE)
                        msg_u32(&m, NH_ATTR_MACVTAP_MODE, NH_MACVTAP_MODE_VEPA);
                if (required[i].skip != NH_ATTR_MAC)
                        msg_attr(&m, NH_ATTR_MAC, (uint8_t[]) { 0x52, 0x54, 0, 1, 2, 3 }, 6);
                msg_u32(&m, NH_ATTR_QUEUES, 2);
                msg_finish(&m);
                assert_decode_fails(&m, -EBADMSG, required[i].needle);
        }
        msg_init(&m, NH_VERB_VHOST_OPEN, 1);
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "missing attribute 9 (QUEUES) for verb VHOST_OPEN");

        /* attribute length beyond the message */
        msg_init(&m, NH_VERB_TAP_CREATE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "vnet0");
        {
                uint16_t t = NH_ATTR_MTU, l = 0xffff;
                memcpy(m.buf + m.len, &t, 2);
                memcpy(m.buf + m.len + 2, &l, 2);
                m.len += 8;
        }
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "truncated attribute at offset 28");

        /* non-zero padding */
        msg_init(&m, NH_VERB_TAP_CREATE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "vnet0");
        m.buf[m.len - 1] = 0xff;
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "non-zero padding");

        /* dangling bytes shorter than an attribute header */
        msg_init(&m, NH_VERB_TAP_CREATE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "vnet0");
        m.len += 2;
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "truncated attribute at offset 28");
}

static void test_strings(void) {
        Msg m;

        /* unterminated */
        msg_init(&m, NH_VERB_TAP_CREATE, 1);
        msg_attr(&m, NH_ATTR_IFNAME, "vnet0", 5);
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "attribute 1 (IFNAME) is not a NUL-terminated string");

        /* embedded NUL */
        msg_init(&m, NH_VERB_TAP_CREATE, 1);
        msg_attr(&m, NH_ATTR_IFNAME, "vn\0et0", 7);
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "NUL-terminated");

        /* empty attribute and empty string */
        msg_init(&m, NH_VERB_TAP_CREATE, 1);
        msg_attr(&m, NH_ATTR_IFNAME, NULL, 0);
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "NUL-terminated");

        msg_init(&m, NH_VERB_TAP_CREATE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "");
        msg_finish(&m);
        assert_decode_fails(&m, -EINVAL, "invalid interface name");

        /* bridge attribute gets the same treatment */
        msg_init(&m, NH_VERB_TAP_CREATE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "vnet0");
        msg_attr(&m, NH_ATTR_BRIDGE, "br0", 3);
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "attribute 7 (BRIDGE) is not a NUL-terminated string");
}

static void test_bad_ifnames(void) {
        static const char *const bad[] = {
                "a/b", "..", ".", "a b", " lead", "tab\tx", "a:b", "%d", "0123456789abcdef",
                "waytoolonginterfacename", "\x01", "\x7f", "nl\n", "../etc",
        };

        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                Msg m;

                msg_init(&m, NH_VERB_LINK_DELETE, 1);
                msg_str(&m, NH_ATTR_IFNAME, bad[i]);
                msg_u32(&m, NH_ATTR_LINK_KIND, NH_LINK_TAP);
                msg_finish(&m);
                assert_decode_fails(&m, -EINVAL, "attribute 1 (IFNAME)");

                msg_init(&m, NH_VERB_TAP_CREATE, 1);
                msg_str(&m, NH_ATTR_IFNAME, "vnet0");
                msg_str(&m, NH_ATTR_BRIDGE, bad[i]);
                msg_finish(&m);
                assert_decode_fails(&m, -EINVAL, "attribute 7 (BRIDGE)");
        }

        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                Msg m;

                msg_init(&m, NH_VERB_MACVTAP_CREATE, 1);
                msg_str(&m, NH_ATTR_IFNAME, "macvtap0");
                msg_str(&m, NH_ATTR_LOWER, bad[i]);
                msg_u32(&m, NH_ATTR_MACVTAP_MODE, NH_MACVTAP_MODE_VEPA);
                msg_attr(&m, NH_ATTR_MAC, (uint8_t[]) { 0x52, 0x54, 0, 1, 2, 3 }, 6);
                msg_finish(&m);
                assert_decode_fails(&m, -EINVAL, "attribute 16 (LOWER)");
        }

        /* Control characters are escaped in the error text. */
        Msg m;
        char err[NH_ERROR_MESSAGE_MAX];
        NhRequest out;
        msg_init(&m, NH_VERB_LINK_DELETE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "a\nb");
        msg_u32(&m, NH_ATTR_LINK_KIND, NH_LINK_TAP);
        msg_finish(&m);
        g_assert_cmpint(nh_request_decode(m.buf, m.len, &out, err, sizeof err), ==, -EINVAL);
        g_assert_nonnull(strstr(err, "a\\x0ab"));
        g_assert_null(strchr(err, '\n'));

        /* 15 characters is the maximum and fine. */
        msg_init(&m, NH_VERB_LINK_DELETE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "vnet56789abcdef");
        msg_u32(&m, NH_ATTR_LINK_KIND, NH_LINK_TAP);
        msg_finish(&m);
        out = decode_ok(&m);
        g_assert_cmpstr(out.link_delete.ifname, ==, "vnet56789abcdef");
}

static void test_ranges(void) {
        static const struct {
                uint16_t verb, type;
                uint32_t value;
                int ok;
        } cases[] = {
                { NH_VERB_BRIDGE_CREATE, NH_ATTR_MTU, 0, false },
                { NH_VERB_BRIDGE_CREATE, NH_ATTR_MTU, 67, false },
                { NH_VERB_BRIDGE_CREATE, NH_ATTR_MTU, 68, true },
                { NH_VERB_BRIDGE_CREATE, NH_ATTR_MTU, 65535, true },
                { NH_VERB_BRIDGE_CREATE, NH_ATTR_MTU, 65536, false },
                { NH_VERB_BRIDGE_CREATE, NH_ATTR_MTU, UINT32_MAX, false },
                { NH_VERB_TAP_CREATE, NH_ATTR_MTU, 67, false },
                { NH_VERB_TAP_CREATE, NH_ATTR_MTU, 1500, true },
                { NH_VERB_BRIDGE_CREATE, NH_ATTR_FORWARD_DELAY, 0, true },
                { NH_VERB_BRIDGE_CREATE, NH_ATTR_FORWARD_DELAY, 30, true },
                { NH_VERB_BRIDGE_CREATE, NH_ATTR_FORWARD_DELAY, 31, false },
                { NH_VERB_TAP_CREATE, NH_ATTR_QUEUES, 0, false },
                { NH_VERB_TAP_CREATE, NH_ATTR_QUEUES, 1, true },
                { NH_VERB_TAP_CREATE, NH_ATTR_QUEUES, NH_QUEUES_MAX, true },
                { NH_VERB_TAP_CREATE, NH_ATTR_QUEUES, NH_QUEUES_MAX + 1, false },
                { NH_VERB_LINK_DELETE, NH_ATTR_LINK_KIND, 0, false },
                { NH_VERB_LINK_DELETE, NH_ATTR_LINK_KIND, NH_LINK_BRIDGE, true },
                { NH_VERB_LINK_DELETE, NH_ATTR_LINK_KIND, NH_LINK_MACVTAP, true },
                { NH_VERB_LINK_DELETE, NH_ATTR_LINK_KIND, _NH_LINK_KIND_MAX, false },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                Msg m;

                msg_init(&m, cases[i].verb, 1);
                msg_str(&m, NH_ATTR_IFNAME, cases[i].verb == NH_VERB_BRIDGE_CREATE ? "virbr0" : "vnet0");
                if (cases[i].verb == NH_VERB_LINK_DELETE)
                        msg_u32(&m, NH_ATTR_LINK_KIND, cases[i].value);
                else
                        msg_u32(&m, cases[i].type, cases[i].value);
                msg_finish(&m);
                if (cases[i].ok)
                        decode_ok(&m);
                else
                        assert_decode_fails(&m, -EINVAL, "out of range");
        }

        /* MACVTAP_CREATE and VHOST_OPEN. */
        static const struct {
                uint16_t verb, type;
                uint32_t value;
                int ok;
        } new_cases[] = {
                { NH_VERB_MACVTAP_CREATE, NH_ATTR_MACVTAP_MODE, 0, false },
                { NH_VERB_MACVTAP_CREATE, NH_ATTR_MACVTAP_MODE, NH_MACVTAP_MODE_VEPA, true },
                { NH_VERB_MACVTAP_CREATE, NH_ATTR_MACVTAP_MODE, NH_MACVTAP_MODE_PASSTHROUGH, true },
                { NH_VERB_MACVTAP_CREATE, NH_ATTR_MACVTAP_MODE, _NH_MACVTAP_MODE_MAX, false },
                { NH_VERB_MACVTAP_CREATE, NH_ATTR_MACVTAP_MODE, 8, false }, /* the kernel's PASSTHRU bit */
                { NH_VERB_MACVTAP_CREATE, NH_ATTR_MACVTAP_MODE, UINT32_MAX, false },
                { NH_VERB_MACVTAP_CREATE, NH_ATTR_QUEUES, 0, false },
                { NH_VERB_MACVTAP_CREATE, NH_ATTR_QUEUES, 1, true },
                { NH_VERB_MACVTAP_CREATE, NH_ATTR_QUEUES, NH_QUEUES_MAX, true },
                { NH_VERB_MACVTAP_CREATE, NH_ATTR_QUEUES, NH_QUEUES_MAX + 1, false },
                { NH_VERB_MACVTAP_CREATE, NH_ATTR_MTU, 67, false },
                { NH_VERB_MACVTAP_CREATE, NH_ATTR_MTU, 68, true },
                { NH_VERB_MACVTAP_CREATE, NH_ATTR_MTU, 65535, true },
                { NH_VERB_MACVTAP_CREATE, NH_ATTR_MTU, 65536, false },
                { NH_VERB_VHOST_OPEN, NH_ATTR_QUEUES, 0, false },
                { NH_VERB_VHOST_OPEN, NH_ATTR_QUEUES, 1, true },
                { NH_VERB_VHOST_OPEN, NH_ATTR_QUEUES, NH_QUEUES_MAX, true },
                { NH_VERB_VHOST_OPEN, NH_ATTR_QUEUES, NH_QUEUES_MAX + 1, false },
                { NH_VERB_VHOST_OPEN, NH_ATTR_QUEUES, UINT32_MAX, false },
        };
        for (size_t i = 0; i < G_N_ELEMENTS(new_cases); i++) {
                Msg m;

                if (new_cases[i].verb == NH_VERB_VHOST_OPEN)
                        msg_init(&m, NH_VERB_VHOST_OPEN, 1);
                else {
                        msg_init(&m, NH_VERB_MACVTAP_CREATE, 1);
                        msg_str(&m, NH_ATTR_IFNAME, "macvtap0");
                        msg_str(&m, NH_ATTR_LOWER, "eth0");
                        if (new_cases[i].type != NH_ATTR_MACVTAP_MODE)
                                msg_u32(&m, NH_ATTR_MACVTAP_MODE, NH_MACVTAP_MODE_BRIDGE);
                        msg_attr(&m, NH_ATTR_MAC, (uint8_t[]) { 0x52, 0x54, 0, 1, 2, 3 }, 6);
                }
                msg_u32(&m, new_cases[i].type, new_cases[i].value);
                msg_finish(&m);
                if (new_cases[i].ok)
                        decode_ok(&m);
                else
                        assert_decode_fails(&m, -EINVAL, "out of range");
        }

        /* Booleans are 0 or 1, one byte. */
        Msg m;
        msg_init(&m, NH_VERB_BRIDGE_CREATE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "virbr0");
        msg_u8(&m, NH_ATTR_STP, 2);
        msg_finish(&m);
        assert_decode_fails(&m, -EINVAL, "attribute 4 (STP) value 2 is not 0 or 1");

        msg_init(&m, NH_VERB_TAP_CREATE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "vnet0");
        msg_u32(&m, NH_ATTR_VNET_HDR, 1);
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "attribute 8 (VNET_HDR) has length 4, expected 1");

        msg_init(&m, NH_VERB_TAP_CREATE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "vnet0");
        msg_u8(&m, NH_ATTR_NOQUEUE, 2);
        msg_finish(&m);
        assert_decode_fails(&m, -EINVAL, "attribute 15 (NOQUEUE) value 2 is not 0 or 1");

        msg_macvtap(&m, 1);
        msg_u8(&m, NH_ATTR_NOQUEUE, 0xff);
        msg_finish(&m);
        assert_decode_fails(&m, -EINVAL, "attribute 15 (NOQUEUE) value 255 is not 0 or 1");

        msg_macvtap(&m, 1);
        msg_u32(&m, NH_ATTR_NOQUEUE, 1);
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "attribute 15 (NOQUEUE) has length 4, expected 1");

        msg_macvtap(&m, 1);
        msg_u8(&m, NH_ATTR_VNET_HDR, 3);
        msg_finish(&m);
        assert_decode_fails(&m, -EINVAL, "attribute 8 (VNET_HDR) value 3 is not 0 or 1");

        msg_macvtap(&m, 1);
        msg_attr(&m, NH_ATTR_NOQUEUE, NULL, 0);
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "attribute 15 (NOQUEUE) has length 0, expected 1");

        /* The macvtap mode is a u32; the guest's MAC is unicast. */
        msg_init(&m, NH_VERB_MACVTAP_CREATE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "macvtap0");
        msg_str(&m, NH_ATTR_LOWER, "eth0");
        msg_u8(&m, NH_ATTR_MACVTAP_MODE, NH_MACVTAP_MODE_BRIDGE);
        msg_attr(&m, NH_ATTR_MAC, (uint8_t[]) { 0x52, 0x54, 0, 1, 2, 3 }, 6);
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "attribute 17 (MACVTAP_MODE) has length 1, expected 4");

        msg_init(&m, NH_VERB_MACVTAP_CREATE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "macvtap0");
        msg_str(&m, NH_ATTR_LOWER, "eth0");
        msg_u32(&m, NH_ATTR_MACVTAP_MODE, NH_MACVTAP_MODE_BRIDGE);
        msg_attr(&m, NH_ATTR_MAC, (uint8_t[]) { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 6);
        msg_finish(&m);
        assert_decode_fails(&m, -EINVAL, "ff:ff:ff:ff:ff:ff is not a unicast address");

        msg_init(&m, NH_VERB_MACVTAP_CREATE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "macvtap0");
        msg_str(&m, NH_ATTR_LOWER, "eth0");
        msg_u32(&m, NH_ATTR_MACVTAP_MODE, NH_MACVTAP_MODE_BRIDGE);
        msg_attr(&m, NH_ATTR_MAC, (uint8_t[6]) {}, 6);
        msg_finish(&m);
        assert_decode_fails(&m, -EINVAL, "not a unicast address");

        msg_init(&m, NH_VERB_VHOST_OPEN, 1);
        msg_attr(&m, NH_ATTR_QUEUES, (uint16_t[]) { 1 }, 2);
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "attribute 9 (QUEUES) has length 2, expected 4");

        /* Integers have exactly 4 bytes. */
        msg_init(&m, NH_VERB_TAP_CREATE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "vnet0");
        msg_attr(&m, NH_ATTR_MTU, (uint16_t[]) { 1500 }, 2);
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "attribute 3 (MTU) has length 2, expected 4");

        msg_init(&m, NH_VERB_TAP_CREATE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "vnet0");
        msg_attr(&m, NH_ATTR_QUEUES, (uint64_t[]) { 2 }, 8);
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "attribute 9 (QUEUES) has length 8, expected 4");

        /* MAC: 6 bytes, unicast. */
        msg_init(&m, NH_VERB_TAP_CREATE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "vnet0");
        msg_attr(&m, NH_ATTR_MAC, (uint8_t[]) { 0x52, 0x54, 0, 1, 2 }, 5);
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "attribute 2 (MAC) has length 5, expected 6");

        msg_init(&m, NH_VERB_TAP_CREATE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "vnet0");
        msg_attr(&m, NH_ATTR_MAC, (uint8_t[]) { 0x01, 0x00, 0x5e, 1, 2, 3 }, 6);
        msg_finish(&m);
        assert_decode_fails(&m, -EINVAL, "01:00:5e:01:02:03 is not a unicast address");

        msg_init(&m, NH_VERB_TAP_CREATE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "vnet0");
        msg_attr(&m, NH_ATTR_MAC, (uint8_t[6]) {}, 6);
        msg_finish(&m);
        assert_decode_fails(&m, -EINVAL, "not a unicast address");
}

static void test_addresses(void) {
        static const struct {
                NhAddress a;
                int expected;
                const char *needle;
        } cases[] = {
                { { .family = AF_INET, .prefixlen = 32, .address = { 1, 2, 3, 4 } }, 0, NULL },
                { { .family = AF_INET, .prefixlen = 33 }, -EINVAL, "prefix length 33 exceeds 32" },
                { { .family = AF_INET6, .prefixlen = 128 }, 0, NULL },
                { { .family = AF_INET6, .prefixlen = 129 }, -EINVAL, "prefix length 129 exceeds 128" },
                { { .family = AF_UNIX, .prefixlen = 8 }, -EINVAL, "unsupported address family 1" },
                { { .family = 0 }, -EINVAL, "unsupported address family 0" },
                { { .family = AF_INET, .prefixlen = 8, .reserved = { 1 } }, -EBADMSG, "reserved" },
                { { .family = AF_INET, .prefixlen = 8, .address = { 10, 0, 0, 1, 9 } },
                  -EBADMSG,
                  "reserved" },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                Msg m;

                msg_init(&m, NH_VERB_BRIDGE_CREATE, 1);
                msg_str(&m, NH_ATTR_IFNAME, "virbr0");
                msg_attr(&m, NH_ATTR_ADDRESS, &cases[i].a, sizeof cases[i].a);
                msg_finish(&m);
                if (cases[i].expected == 0)
                        decode_ok(&m);
                else
                        assert_decode_fails(&m, cases[i].expected, cases[i].needle);
        }

        Msg m;
        msg_init(&m, NH_VERB_BRIDGE_CREATE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "virbr0");
        msg_attr(&m, NH_ATTR_ADDRESS, &cases[0].a, sizeof cases[0].a - 1);
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "attribute 6 (ADDRESS) has length 19, expected 20");
}

/* Property over random input: decoding never crashes or reads out of bounds (run under ASan
 * to check the latter), and whatever it accepts re-encodes to a message that decodes equally. */
static void check_random_input(const uint8_t *buf, size_t len) {
        char err[NH_ERROR_MESSAGE_MAX];
        NhRequest req, again;
        NhReply reply;
        uint8_t copy[NH_MESSAGE_MAX + 64];
        int r, l;

        /* Decode from an exact-size heap copy so ASan catches any overread. */
        g_autofree uint8_t *exact = g_memdup2(buf, len ? len : 1);

        r = nh_request_decode(exact, len, &req, err, sizeof err);
        g_assert_cmpuint(strnlen(err, sizeof err), <, sizeof err);
        if (r == 0) {
                l = nh_request_encode(&req, copy, sizeof copy);
                g_assert_cmpint(l, >, 0);
                g_assert_cmpint(nh_request_decode(copy, l, &again, err, sizeof err), ==, 0);
                assert_request_equal(&req, &again);
        } else
                g_assert_true(r == -EBADMSG || r == -EPROTO || r == -EMSGSIZE || r == -EOPNOTSUPP ||
                              r == -EINVAL);
        (void) nh_reply_decode(exact, len, &reply, err, sizeof err);
        g_assert_cmpuint(strnlen(reply.message, sizeof reply.message), <, sizeof reply.message);
}

static void test_random_garbage(void) {
        g_autoptr(GRand) rand = g_rand_new_with_seed(0x5eed);
        const NhRequest samples[] = {
                sample_bridge(),         sample_tap(),           sample_delete(),
                sample_macvtap(),        sample_vhost(),         sample_qos_apply(),
                sample_qos_bridge(),     sample_qos_floor_add(), sample_qos_floor_remove(),
                sample_qos_default(),    sample_qos_probe(),
                sample_qos_clear(NH_VERB_QOS_BRIDGE_TEARDOWN, "virbr9"),
                sample_scope(),
        };
        uint8_t buf[NH_MESSAGE_MAX + 64];
        unsigned accepted = 0;

        for (unsigned iter = 0; iter < 30000; iter++) {
                unsigned mode = iter % 3;
                size_t len;

                if (mode == 0) {
                        /* pure noise, sometimes with a valid header */
                        len = g_rand_int_range(rand, 0, sizeof buf);
                        for (size_t i = 0; i < len; i++)
                                buf[i] = g_rand_int(rand);
                        if (len >= NH_HEADER_SIZE && g_rand_boolean(rand)) {
                                uint32_t magic = NH_MAGIC, payload = len - NH_HEADER_SIZE;
                                uint16_t version = NH_VERSION;
                                uint16_t verb = g_rand_int_range(rand, 0, _NH_VERB_MAX + 2);

                                memcpy(buf, &magic, 4);
                                memcpy(buf + 4, &version, 2);
                                memcpy(buf + 6, &verb, 2);
                                memcpy(buf + 12, &payload, 4);
                        }
                } else if (mode == 1) {
                        /* a valid message with a few bytes flipped */
                        Msg m = encode(&samples[g_rand_int_range(rand, 0, G_N_ELEMENTS(samples))]);
                        unsigned flips = g_rand_int_range(rand, 1, 4);

                        for (unsigned f = 0; f < flips; f++)
                                m.buf[g_rand_int_range(rand, 0, m.len)] ^=
                                        1u << g_rand_int_range(rand, 0, 8);
                        len = m.len;
                        memcpy(buf, m.buf, len);
                } else {
                        /* a soup of well-framed attributes with random types, lengths and values */
                        Msg m;

                        msg_init(&m, g_rand_int_range(rand, 0, _NH_VERB_MAX + 2), g_rand_int(rand));
                        while (m.len < NH_MESSAGE_MAX - 64 && g_rand_int_range(rand, 0, 8) != 0) {
                                uint8_t v[24];
                                uint16_t alen = g_rand_int_range(rand, 0, sizeof v);

                                for (size_t i = 0; i < alen; i++)
                                        v[i] = g_rand_boolean(rand) ? g_rand_int(rand)
                                                                    : (guint32) g_rand_int_range(rand, 0, 3);
                                msg_attr(&m, g_rand_int_range(rand, 0, _NH_ATTR_MAX + 2), v, alen);
                        }
                        msg_finish(&m);
                        len = m.len;
                        memcpy(buf, m.buf, len);
                }
                check_random_input(buf, len);
                accepted += nh_request_decode(buf, len, &(NhRequest) {}, NULL, 0) == 0;
        }
        g_test_message("random inputs accepted: %u of 30000", accepted);
}

/* nh_call() against a scripted server. */

typedef enum FakeMode {
        FAKE_OK_WITH_FDS,
        FAKE_WRONG_SEQ,
        FAKE_FD_COUNT_MISMATCH,
        FAKE_GARBAGE,
        FAKE_SILENT,
        FAKE_REFUSE_PEER,
        FAKE_REFUSE_PEER_LATE,
        FAKE_HANG_UP,
} FakeMode;

typedef struct Fake {
        int listen_fd;
        FakeMode mode;
        char *path;
        char *dir;
} Fake;

static gpointer fake_server(gpointer userdata) {
        Fake *f = userdata;
        uint8_t buf[NH_MESSAGE_MAX];
        char err[NH_ERROR_MESSAGE_MAX];
        NhRequest req = {};
        NhReply reply = {};
        int fds[2] = { -1, -1 };
        size_t n_fds = 0;
        ssize_t n;
        int c, len;

        c = accept4(f->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        g_assert_cmpint(c, >=, 0);

        if (f->mode == FAKE_REFUSE_PEER || f->mode == FAKE_REFUSE_PEER_LATE) {
                /* LATE: the request is in our queue when we hang up, so the client first sees
                 * ECONNRESET and must still find the reply. */
                if (f->mode == FAKE_REFUSE_PEER_LATE)
                        g_usleep(200 * 1000);
                reply = (NhReply) { .seq = 0, .error = EPERM };
                strcpy(reply.message, "peer uid 65534 is not allowed to use the helper");
                len = nh_reply_encode(&reply, buf, sizeof buf);
                g_assert_cmpint(send_with_fds(c, buf, len, NULL, 0), ==, len);
                close(c);
                return NULL;
        }

        n = recv_with_fds(c, buf, sizeof buf, NULL, 0, NULL);
        g_assert_cmpint(n, >, 0);
        g_assert_cmpint(nh_request_decode(buf, n, &req, err, sizeof err), ==, 0);

        switch (f->mode) {
        case FAKE_SILENT: {
                struct pollfd p = { .fd = c, .events = POLLIN };
                (void) poll(&p, 1, 5000); /* until the client gives up and closes */
                close(c);
                return NULL;
        }
        case FAKE_HANG_UP:
                close(c);
                return NULL;
        case FAKE_GARBAGE:
                memset(buf, 0xab, 64);
                g_assert_cmpint(send_with_fds(c, buf, 64, NULL, 0), ==, 64);
                close(c);
                return NULL;
        default:
                break;
        }

        reply = (NhReply) { .seq = req.seq, .ifindex = 7, .n_fds = 2 };
        if (f->mode == FAKE_WRONG_SEQ)
                reply.seq++;
        fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        fds[1] = open("/dev/zero", O_RDONLY | O_CLOEXEC);
        n_fds = f->mode == FAKE_FD_COUNT_MISMATCH ? 1 : 2;
        len = nh_reply_encode(&reply, buf, sizeof buf);
        g_assert_cmpint(send_with_fds(c, buf, len, fds, n_fds), ==, len);
        close(fds[0]);
        close(fds[1]);
        close(c);
        return NULL;
}

static void fake_start(Fake *f, FakeMode mode, GThread **thread) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        g_autoptr(GError) error = NULL;

        f->mode = mode;
        f->dir = g_dir_make_tmp("test-protocol-XXXXXX", &error);
        g_assert_no_error(error);
        f->path = g_build_filename(f->dir, "sock", NULL);
        g_strlcpy(sa.sun_path, f->path, sizeof sa.sun_path);
        f->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        g_assert_cmpint(f->listen_fd, >=, 0);
        g_assert_cmpint(bind(f->listen_fd, (struct sockaddr *) &sa, sizeof sa), ==, 0);
        g_assert_cmpint(listen(f->listen_fd, 4), ==, 0);
        *thread = g_thread_new("fake-helper", fake_server, f);
}

static void fake_stop(Fake *f, GThread *thread) {
        g_thread_join(thread);
        close(f->listen_fd);
        g_unlink(f->path);
        g_rmdir(f->dir);
        g_free(f->path);
        g_free(f->dir);
}

static int fd_count(void) {
        g_autoptr(GDir) d = g_dir_open("/proc/self/fd", 0, NULL);
        int n = 0;

        g_assert_nonnull(d);
        while (g_dir_read_name(d))
                n++;
        return n;
}

static int run_client(FakeMode mode, NhReply *reply, int *fds, size_t max_fds, size_t *n_fds, int timeout) {
        NhRequest req = sample_tap();
        GThread *thread;
        Fake f = {};
        int r;

        fake_start(&f, mode, &thread);
        r = nh_call(f.path, &req, timeout, reply, fds, max_fds, n_fds);
        fake_stop(&f, thread);
        return r;
}

static void test_client(void) {
        NhReply reply;
        int fds[4] = { -1, -1, -1, -1 };
        size_t n_fds = 99;
        int before = fd_count(), r;
        struct stat st;

        r = run_client(FAKE_OK_WITH_FDS, &reply, fds, G_N_ELEMENTS(fds), &n_fds, 5000);
        g_assert_cmpint(r, ==, 0);
        g_assert_cmpuint(reply.error, ==, 0);
        g_assert_cmpuint(reply.ifindex, ==, 7);
        g_assert_cmpuint(n_fds, ==, 2);
        g_assert_cmpint(fstat(fds[0], &st), ==, 0);
        g_assert_true(S_ISCHR(st.st_mode));
        g_assert_cmpint(fcntl(fds[1], F_GETFD), ==, FD_CLOEXEC);
        close(fds[0]);
        close(fds[1]);

        /* Fewer slots than fds: the extra one is closed, not leaked. */
        r = run_client(FAKE_OK_WITH_FDS, &reply, fds, 1, &n_fds, 5000);
        g_assert_cmpint(r, ==, 0);
        g_assert_cmpuint(n_fds, ==, 1);
        close(fds[0]);

        g_assert_cmpint(run_client(FAKE_WRONG_SEQ, &reply, fds, 4, &n_fds, 5000), ==, -EBADMSG);
        g_assert_cmpuint(n_fds, ==, 0);
        g_assert_cmpint(run_client(FAKE_FD_COUNT_MISMATCH, &reply, fds, 4, &n_fds, 5000), ==, -EBADMSG);
        g_assert_cmpint(run_client(FAKE_GARBAGE, &reply, fds, 4, &n_fds, 5000), ==, -EPROTO);
        g_assert_cmpint(run_client(FAKE_SILENT, &reply, fds, 4, &n_fds, 300), ==, -ETIMEDOUT);
        g_assert_cmpint(run_client(FAKE_HANG_UP, &reply, fds, 4, &n_fds, 5000), ==, -ECONNRESET);

        /* A connection-level refusal (seq 0) is an answer, not garbage. */
        r = run_client(FAKE_REFUSE_PEER, &reply, fds, 4, &n_fds, 5000);
        g_assert_cmpint(r, ==, 0);
        g_assert_cmpuint(reply.error, ==, EPERM);
        g_assert_cmpstr(reply.message, ==, "peer uid 65534 is not allowed to use the helper");
        r = run_client(FAKE_REFUSE_PEER_LATE, &reply, fds, 4, &n_fds, 5000);
        g_assert_cmpint(r, ==, 0);
        g_assert_cmpuint(reply.error, ==, EPERM);

        g_assert_cmpint(fd_count(), ==, before);

        /* No helper listening. */
        NhRequest req = sample_tap();
        g_assert_cmpint(nh_call("/nonexistent/virtbus/nethelper.sock", &req, 100, &reply, NULL, 0, NULL), ==,
                        -ENOENT);
        g_assert_cmpint(nh_call("/", &req, 100, &reply, NULL, 0, NULL), <, 0);
}

/* QoS verbs. */

static void assert_roundtrip(const NhRequest *req) {
        Msg m = encode(req);
        NhRequest out;

        g_assert_cmpuint(m.len % 4, ==, 0);
        out = decode_ok(&m);
        assert_request_equal(req, &out);
}

static void test_roundtrip_qos(void) {
        NhRequest req;
        Msg a, b;

        assert_roundtrip(&(NhRequest) { .verb = NH_VERB_QOS_PROBE, .seq = 1 });
        req = sample_qos_apply();
        assert_roundtrip(&req);
        req.qos_apply.has_ifb = false;
        req.qos_apply.has_police = true;
        req.qos_apply.police = (QosPoliceParams) { .rate = 1, .burst = 1, .mtu = 1 };
        assert_roundtrip(&req);
        /* Nothing but the name: back to noqueue, no ingress. */
        req = (NhRequest) { .verb = NH_VERB_QOS_APPLY_INTERFACE, .seq = 2 };
        strcpy(req.qos_apply.ifname, "macvtap0");
        assert_roundtrip(&req);

        req = sample_qos_bridge();
        assert_roundtrip(&req);
        req.qos_bridge.has_hierarchy = false;
        req.qos_bridge.has_police = false;
        req.qos_bridge.has_ifb = true;
        req.qos_bridge.ifb = sample_htb(1);
        assert_roundtrip(&req);

        req = sample_qos_floor_add();
        assert_roundtrip(&req);
        req.qos_floor.has_default = false;
        req.qos_floor.leaf = QOS_LEAF_SFQ;
        assert_roundtrip(&req);
        req = sample_qos_floor_remove();
        assert_roundtrip(&req);
        req.qos_floor.has_default = true;
        req.qos_floor.def = sample_htb(3);
        assert_roundtrip(&req);
        req = sample_qos_default();
        assert_roundtrip(&req);
        req = sample_qos_clear(NH_VERB_QOS_CLEAR_INTERFACE, "vnet0");
        assert_roundtrip(&req);
        req = sample_qos_clear(NH_VERB_QOS_BRIDGE_TEARDOWN, "br-lan");
        assert_roundtrip(&req);

        /* The default leaf (pfifo) has one encoding: the attribute left out. */
        req = sample_qos_floor_add();
        req.qos_floor.leaf = QOS_LEAF_PFIFO;
        a = encode(&req);
        req.qos_floor.leaf = 0;
        b = encode(&req);
        g_assert_cmpmem(a.buf, a.len, b.buf, b.len);
        g_assert_cmpint(decode_ok(&a).qos_floor.leaf, ==, QOS_LEAF_PFIFO);
}

/* The wire format is a contract between helper and daemon versions: numbers and layouts pinned. */
static void test_qos_wire(void) {
        NhRequest req = sample_qos_default(), out;
        QosHtbParams p = sample_htb(UINT64_C(5000000000));
        uint8_t raw[40] = {};
        Msg m;

        g_assert_cmpint(NH_VERB_QOS_PROBE, ==, 6);
        g_assert_cmpint(NH_VERB_QOS_APPLY_INTERFACE, ==, 7);
        g_assert_cmpint(NH_VERB_QOS_CLEAR_INTERFACE, ==, 8);
        g_assert_cmpint(NH_VERB_QOS_BRIDGE_SETUP, ==, 9);
        g_assert_cmpint(NH_VERB_QOS_BRIDGE_TEARDOWN, ==, 10);
        g_assert_cmpint(NH_VERB_QOS_FLOOR_ADD, ==, 11);
        g_assert_cmpint(NH_VERB_QOS_FLOOR_REMOVE, ==, 12);
        g_assert_cmpint(NH_VERB_QOS_DEFAULT_RATE, ==, 13);
        g_assert_cmpint(NH_ATTR_QOS_CAPS, ==, 19);
        g_assert_cmpint(NH_ATTR_QOS_LEAF, ==, 20);
        g_assert_cmpint(NH_ATTR_QOS_SHAPE, ==, 21);
        g_assert_cmpint(NH_ATTR_QOS_POLICE, ==, 22);
        g_assert_cmpint(NH_ATTR_QOS_IFB, ==, 23);
        g_assert_cmpint(NH_ATTR_QOS_ROOT, ==, 24);
        g_assert_cmpint(NH_ATTR_QOS_DEFAULT, ==, 25);
        g_assert_cmpint(NH_ATTR_CLASS_ID, ==, 26);
        g_assert_cmpint(NH_LINK_IFB, ==, 4);
        g_assert_cmpint(QOS_LEAF_PFIFO, ==, 1);
        g_assert_cmpint(QOS_LEAF_SFQ, ==, 2);
        g_assert_cmpint(QOS_CAP_HTB, ==, 1);
        g_assert_cmpint(QOS_CAP_IFB, ==, 64);

        /* QosHtbParams: u64 rate, ceil, burst, cburst, u32 quantum, prio, host byte order. */
        memcpy(raw + 0, &p.rate, 8);
        memcpy(raw + 8, &p.ceil, 8);
        memcpy(raw + 16, &p.burst, 8);
        memcpy(raw + 24, &p.cburst, 8);
        memcpy(raw + 32, &p.quantum, 4);
        memcpy(raw + 36, &p.prio, 4);
        msg_init(&m, NH_VERB_QOS_DEFAULT_RATE, req.seq);
        msg_str(&m, NH_ATTR_IFNAME, "virbr1");
        msg_attr(&m, NH_ATTR_QOS_DEFAULT, raw, sizeof raw);
        msg_finish(&m);
        {
                Msg e = encode(&req);

                g_assert_cmpmem(e.buf, e.len, m.buf, m.len);
        }
        out = decode_ok(&m);
        assert_request_equal(&req, &out);

        /* QosPoliceParams: u64 rate, burst, u32 mtu, reserved. */
        {
                QosPoliceParams pol = { .rate = 800000, .burst = 819200, .mtu = 65536 };
                uint8_t praw[24] = {};

                memcpy(praw, &pol.rate, 8);
                memcpy(praw + 8, &pol.burst, 8);
                memcpy(praw + 16, &pol.mtu, 4);
                g_assert_cmpmem(&pol, sizeof pol, praw, sizeof praw);
        }

        g_assert_cmpstr(nh_verb_to_string(NH_VERB_QOS_PROBE), ==, "QOS_PROBE");
        g_assert_cmpstr(nh_verb_to_string(NH_VERB_QOS_FLOOR_ADD), ==, "QOS_FLOOR_ADD");
        g_assert_cmpstr(nh_verb_to_string(NH_VERB_QOS_DEFAULT_RATE), ==, "QOS_DEFAULT_RATE");
}

static void msg_htb(Msg *m, uint16_t type, QosHtbParams p) {
        msg_attr(m, type, &p, sizeof p);
}

static void msg_floor_add(Msg *m) {
        msg_init(m, NH_VERB_QOS_FLOOR_ADD, 1);
        msg_str(m, NH_ATTR_IFNAME, "virbr1");
        msg_u32(m, NH_ATTR_CLASS_ID, 3);
        msg_htb(m, NH_ATTR_QOS_SHAPE, sample_htb(1000));
        msg_attr(m, NH_ATTR_MAC, (uint8_t[]) { 0x52, 0x54, 0x00, 1, 2, 3 }, 6);
}

static void test_qos_bad(void) {
        static const struct {
                QosHtbParams p;
                const char *needle;
        } bad_htb[] = {
                { { .rate = 0, .ceil = 1, .burst = 1, .cburst = 1, .quantum = 1 }, "rate 0 out of range" },
                { { .rate = 2, .ceil = 1, .burst = 1, .cburst = 1, .quantum = 1 },
                  "ceil 1 out of range 2.." },
                { { .rate = QOS_RATE_MAX + 1, .ceil = QOS_RATE_MAX + 1, .burst = 1, .cburst = 1,
                    .quantum = 1 },
                  "rate 4398046510081 out of range" },
                { { .rate = 1, .ceil = QOS_RATE_MAX + 1, .burst = 1, .cburst = 1, .quantum = 1 }, "ceil" },
                { { .rate = 1, .ceil = 1, .burst = 0, .cburst = 1, .quantum = 1 }, "burst 0 out of range" },
                { { .rate = 1, .ceil = 1, .burst = QOS_BURST_MAX + 1, .cburst = 1, .quantum = 1 }, "burst" },
                { { .rate = 1, .ceil = 1, .burst = 1, .cburst = 0, .quantum = 1 }, "cburst 0 out of range" },
                { { .rate = 1, .ceil = 1, .burst = 1, .cburst = 1, .quantum = 0 }, "quantum 0" },
                { { .rate = 1, .ceil = 1, .burst = 1, .cburst = 1, .quantum = 1, .prio = 8 }, "prio 8" },
                { { .rate = UINT64_MAX, .ceil = UINT64_MAX, .burst = UINT64_MAX, .cburst = UINT64_MAX,
                    .quantum = UINT32_MAX, .prio = UINT32_MAX },
                  "out of range" },
        };
        static const struct {
                QosPoliceParams p;
                const char *needle;
        } bad_police[] = {
                { { .rate = 0, .burst = 1, .mtu = 1 }, "rate 0" },
                { { .rate = 1, .burst = 0, .mtu = 1 }, "burst 0" },
                { { .rate = 1, .burst = 1, .mtu = 0 }, "mtu 0" },
                { { .rate = 1, .burst = 1, .mtu = 65537 }, "mtu 65537" },
                { { .rate = 1, .burst = 1, .mtu = 1500, .reserved = 1 }, "reserved" },
        };
        Msg m;

        for (size_t i = 0; i < G_N_ELEMENTS(bad_htb); i++) {
                static const uint16_t attrs[] = { NH_ATTR_QOS_SHAPE, NH_ATTR_QOS_IFB };

                for (size_t a = 0; a < G_N_ELEMENTS(attrs); a++) {
                        msg_init(&m, NH_VERB_QOS_APPLY_INTERFACE, 1);
                        msg_str(&m, NH_ATTR_IFNAME, "vnet0");
                        msg_htb(&m, attrs[a], bad_htb[i].p);
                        msg_finish(&m);
                        assert_decode_fails(&m, -EINVAL, bad_htb[i].needle);
                }
                /* and wherever else the struct goes */
                msg_init(&m, NH_VERB_QOS_DEFAULT_RATE, 1);
                msg_str(&m, NH_ATTR_IFNAME, "virbr0");
                msg_htb(&m, NH_ATTR_QOS_DEFAULT, bad_htb[i].p);
                msg_finish(&m);
                assert_decode_fails(&m, -EINVAL, "attribute 25 (QOS_DEFAULT)");
                msg_init(&m, NH_VERB_QOS_BRIDGE_SETUP, 1);
                msg_str(&m, NH_ATTR_IFNAME, "virbr0");
                msg_htb(&m, NH_ATTR_QOS_ROOT, bad_htb[i].p);
                msg_htb(&m, NH_ATTR_QOS_DEFAULT, sample_htb(5));
                msg_finish(&m);
                assert_decode_fails(&m, -EINVAL, "attribute 24 (QOS_ROOT)");
        }
        for (size_t i = 0; i < G_N_ELEMENTS(bad_police); i++) {
                msg_init(&m, NH_VERB_QOS_BRIDGE_SETUP, 1);
                msg_str(&m, NH_ATTR_IFNAME, "virbr0");
                msg_attr(&m, NH_ATTR_QOS_POLICE, &bad_police[i].p, sizeof bad_police[i].p);
                msg_finish(&m);
                assert_decode_fails(&m, -EINVAL, bad_police[i].needle);
        }

        /* Struct attributes have exactly their size. */
        for (unsigned len = 0; len < 48; len += 1) {
                uint8_t zeros[48] = {};

                if (len == sizeof(QosHtbParams))
                        continue;
                msg_init(&m, NH_VERB_QOS_APPLY_INTERFACE, 1);
                msg_str(&m, NH_ATTR_IFNAME, "vnet0");
                msg_attr(&m, NH_ATTR_QOS_SHAPE, zeros, len);
                msg_finish(&m);
                assert_decode_fails(&m, -EBADMSG, "expected 40");
        }
        msg_init(&m, NH_VERB_QOS_APPLY_INTERFACE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "vnet0");
        msg_attr(&m, NH_ATTR_QOS_POLICE, (uint8_t[40]) {}, 23);
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "attribute 22 (QOS_POLICE) has length 23, expected 24");

        /* Police and IFB are two ways of the same thing. */
        msg_init(&m, NH_VERB_QOS_APPLY_INTERFACE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "vnet0");
        msg_attr(&m, NH_ATTR_QOS_POLICE, &(QosPoliceParams) { .rate = 1, .burst = 1, .mtu = 1 },
                 sizeof(QosPoliceParams));
        msg_htb(&m, NH_ATTR_QOS_IFB, sample_htb(1));
        msg_finish(&m);
        assert_decode_fails(&m, -EINVAL, "exclude each other");

        /* The hierarchy is both classes or none. */
        msg_init(&m, NH_VERB_QOS_BRIDGE_SETUP, 1);
        msg_str(&m, NH_ATTR_IFNAME, "virbr0");
        msg_htb(&m, NH_ATTR_QOS_ROOT, sample_htb(1));
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "go together");
        msg_init(&m, NH_VERB_QOS_BRIDGE_SETUP, 1);
        msg_str(&m, NH_ATTR_IFNAME, "virbr0");
        msg_htb(&m, NH_ATTR_QOS_DEFAULT, sample_htb(1));
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "go together");

        /* Leaf kinds. */
        static const uint32_t bad_leaf[] = { 0, 3, 77, UINT32_MAX };
        for (size_t i = 0; i < G_N_ELEMENTS(bad_leaf); i++) {
                msg_floor_add(&m);
                msg_u32(&m, NH_ATTR_QOS_LEAF, bad_leaf[i]);
                msg_finish(&m);
                assert_decode_fails(&m, -EINVAL, "attribute 20 (QOS_LEAF) value");
        }
        msg_floor_add(&m);
        msg_u8(&m, NH_ATTR_QOS_LEAF, 1);
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "has length 1, expected 4");

        /* Class ids: 3..0xfffe. */
        static const struct {
                uint32_t id;
                bool ok;
        } ids[] = { { 0, false },      { 1, false },       { 2, false },      { 3, true },
                    { 0xfffe, true },  { 0xffff, false },  { 0x10000, false }, { UINT32_MAX, false } };
        for (size_t i = 0; i < G_N_ELEMENTS(ids); i++) {
                static const uint16_t verbs[] = { NH_VERB_QOS_FLOOR_ADD, NH_VERB_QOS_FLOOR_REMOVE };

                for (size_t v = 0; v < G_N_ELEMENTS(verbs); v++) {
                        msg_init(&m, verbs[v], 1);
                        msg_str(&m, NH_ATTR_IFNAME, "virbr1");
                        msg_u32(&m, NH_ATTR_CLASS_ID, ids[i].id);
                        if (verbs[v] == NH_VERB_QOS_FLOOR_ADD) {
                                msg_htb(&m, NH_ATTR_QOS_SHAPE, sample_htb(1000));
                                msg_attr(&m, NH_ATTR_MAC, (uint8_t[]) { 0x52, 0x54, 0x00, 1, 2, 3 }, 6);
                        }
                        msg_finish(&m);
                        if (ids[i].ok)
                                g_assert_cmpuint(decode_ok(&m).qos_floor.class_id, ==, ids[i].id);
                        else
                                assert_decode_fails(&m, -EINVAL, "attribute 26 (CLASS_ID) value");
                }
        }

        /* Required attributes. */
        msg_init(&m, NH_VERB_QOS_FLOOR_ADD, 1);
        msg_str(&m, NH_ATTR_IFNAME, "virbr1");
        msg_u32(&m, NH_ATTR_CLASS_ID, 3);
        msg_htb(&m, NH_ATTR_QOS_SHAPE, sample_htb(1000));
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "missing attribute 2 (MAC) for verb QOS_FLOOR_ADD");
        msg_init(&m, NH_VERB_QOS_FLOOR_ADD, 1);
        msg_str(&m, NH_ATTR_IFNAME, "virbr1");
        msg_u32(&m, NH_ATTR_CLASS_ID, 3);
        msg_attr(&m, NH_ATTR_MAC, (uint8_t[]) { 0x52, 0x54, 0x00, 1, 2, 3 }, 6);
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "missing attribute 21 (QOS_SHAPE)");
        msg_init(&m, NH_VERB_QOS_FLOOR_REMOVE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "virbr1");
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "missing attribute 26 (CLASS_ID) for verb QOS_FLOOR_REMOVE");
        msg_init(&m, NH_VERB_QOS_DEFAULT_RATE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "virbr1");
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "missing attribute 25 (QOS_DEFAULT) for verb QOS_DEFAULT_RATE");
        msg_init(&m, NH_VERB_QOS_APPLY_INTERFACE, 1);
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "missing attribute 1 (IFNAME) for verb QOS_APPLY_INTERFACE");
        msg_init(&m, NH_VERB_QOS_BRIDGE_TEARDOWN, 1);
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "missing attribute 1 (IFNAME)");

        /* The guest's MAC must be one a guest can have. */
        msg_init(&m, NH_VERB_QOS_FLOOR_ADD, 1);
        msg_str(&m, NH_ATTR_IFNAME, "virbr1");
        msg_u32(&m, NH_ATTR_CLASS_ID, 3);
        msg_htb(&m, NH_ATTR_QOS_SHAPE, sample_htb(1000));
        msg_attr(&m, NH_ATTR_MAC, (uint8_t[]) { 0x01, 0x00, 0x5e, 0, 0, 1 }, 6);
        msg_finish(&m);
        assert_decode_fails(&m, -EINVAL, "01:00:5e:00:00:01 is not a unicast address");

        /* Attributes stay with their verbs, old and new. */
        static const struct {
                uint16_t verb, attr;
                const char *needle;
        } misplaced[] = {
                { NH_VERB_QOS_PROBE, NH_ATTR_IFNAME, "attribute 1 (IFNAME) not allowed for verb QOS_PROBE" },
                { NH_VERB_QOS_APPLY_INTERFACE, NH_ATTR_CLASS_ID, "attribute 26 (CLASS_ID) not allowed" },
                { NH_VERB_QOS_APPLY_INTERFACE, NH_ATTR_QOS_ROOT, "attribute 24 (QOS_ROOT) not allowed" },
                { NH_VERB_QOS_CLEAR_INTERFACE, NH_ATTR_QOS_SHAPE, "attribute 21 (QOS_SHAPE) not allowed" },
                { NH_VERB_QOS_FLOOR_REMOVE, NH_ATTR_MAC, "attribute 2 (MAC) not allowed" },
                { NH_VERB_QOS_FLOOR_REMOVE, NH_ATTR_QOS_SHAPE, "not allowed for verb QOS_FLOOR_REMOVE" },
                { NH_VERB_QOS_DEFAULT_RATE, NH_ATTR_CLASS_ID, "not allowed for verb QOS_DEFAULT_RATE" },
                { NH_VERB_QOS_BRIDGE_SETUP, NH_ATTR_QOS_SHAPE, "not allowed for verb QOS_BRIDGE_SETUP" },
                { NH_VERB_TAP_CREATE, NH_ATTR_QOS_SHAPE,
                  "attribute 21 (QOS_SHAPE) not allowed for verb TAP_CREATE" },
                { NH_VERB_LINK_DELETE, NH_ATTR_CLASS_ID, "not allowed for verb LINK_DELETE" },
                { NH_VERB_BRIDGE_CREATE, NH_ATTR_QOS_ROOT, "not allowed for verb BRIDGE_CREATE" },
                { NH_VERB_QOS_APPLY_INTERFACE, NH_ATTR_QOS_CAPS, "attribute 19 (QOS_CAPS) not allowed" },
        };
        for (size_t i = 0; i < G_N_ELEMENTS(misplaced); i++) {
                msg_init(&m, misplaced[i].verb, 1);
                if (misplaced[i].attr != NH_ATTR_IFNAME && misplaced[i].verb != NH_VERB_QOS_PROBE)
                        msg_str(&m, NH_ATTR_IFNAME, "vnet0");
                msg_u32(&m, misplaced[i].attr, 3);
                msg_finish(&m);
                assert_decode_fails(&m, -EBADMSG, misplaced[i].needle);
        }

        /* Duplicates. */
        msg_floor_add(&m);
        msg_htb(&m, NH_ATTR_QOS_SHAPE, sample_htb(1000));
        msg_finish(&m);
        assert_decode_fails(&m, -EBADMSG, "duplicate attribute 21 (QOS_SHAPE)");

        /* Names. */
        msg_init(&m, NH_VERB_QOS_CLEAR_INTERFACE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "vnet/0");
        msg_finish(&m);
        assert_decode_fails(&m, -EINVAL, "invalid interface name \"vnet/0\"");
        msg_init(&m, NH_VERB_QOS_BRIDGE_SETUP, 1);
        msg_str(&m, NH_ATTR_IFNAME, "virbr0123456789ab");
        msg_finish(&m);
        assert_decode_fails(&m, -EINVAL, "longer than 15 characters");

        /* LINK_DELETE knows IFBs now. */
        msg_init(&m, NH_VERB_LINK_DELETE, 1);
        msg_str(&m, NH_ATTR_IFNAME, "vbifb12");
        msg_u32(&m, NH_ATTR_LINK_KIND, NH_LINK_IFB);
        msg_finish(&m);
        g_assert_cmpint(decode_ok(&m).link_delete.kind, ==, NH_LINK_IFB);

        /* The encoder refuses what the decoder would. */
        uint8_t buf[NH_MESSAGE_MAX];
        NhRequest req = sample_qos_default();
        req.qos_floor.has_default = false;
        g_assert_cmpint(nh_request_encode(&req, buf, sizeof buf), ==, -EINVAL);
        req = sample_qos_apply();
        req.qos_apply.has_police = true;
        g_assert_cmpint(nh_request_encode(&req, buf, sizeof buf), ==, -EINVAL);
        req = sample_qos_bridge();
        req.qos_bridge.has_ifb = true;
        g_assert_cmpint(nh_request_encode(&req, buf, sizeof buf), ==, -EINVAL);
        req = sample_qos_floor_add();
        memset(req.qos_floor.ifname, 'b', sizeof req.qos_floor.ifname);
        g_assert_cmpint(nh_request_encode(&req, buf, sizeof buf), ==, -EINVAL);
}

static void test_reply_qos_caps(void) {
        NhReply reply = { .seq = 9, .has_qos_caps = true, .qos_caps = QOS_CAP_HTB | QOS_CAP_IFB }, out;
        uint8_t buf[NH_MESSAGE_MAX];
        char err[NH_ERROR_MESSAGE_MAX];
        int len;
        Msg m;

        len = nh_reply_encode(&reply, buf, sizeof buf);
        g_assert_cmpint(nh_reply_decode(buf, len, &out, err, sizeof err), ==, 0);
        g_assert_true(out.has_qos_caps);
        g_assert_cmpuint(out.qos_caps, ==, QOS_CAP_HTB | QOS_CAP_IFB);

        /* No capabilities at all is an answer too. */
        reply.qos_caps = 0;
        len = nh_reply_encode(&reply, buf, sizeof buf);
        g_assert_cmpint(nh_reply_decode(buf, len, &out, err, sizeof err), ==, 0);
        g_assert_true(out.has_qos_caps);
        g_assert_cmpuint(out.qos_caps, ==, 0);

        /* Absent unless sent. */
        reply.has_qos_caps = false;
        len = nh_reply_encode(&reply, buf, sizeof buf);
        g_assert_cmpint(nh_reply_decode(buf, len, &out, err, sizeof err), ==, 0);
        g_assert_false(out.has_qos_caps);

        /* Bits nobody defined. */
        msg_init(&m, NH_VERB_REPLY, 1);
        msg_u32(&m, NH_ATTR_ERRNO, 0);
        msg_u32(&m, NH_ATTR_QOS_CAPS, _QOS_CAP_ALL + 1);
        msg_finish(&m);
        g_assert_cmpint(nh_reply_decode(m.buf, m.len, &out, err, sizeof err), ==, -EINVAL);
        g_assert_nonnull(strstr(err, "attribute 19 (QOS_CAPS) value 128 out of range"));
        msg_init(&m, NH_VERB_REPLY, 1);
        msg_u32(&m, NH_ATTR_ERRNO, 0);
        msg_u8(&m, NH_ATTR_QOS_CAPS, 1);
        msg_finish(&m);
        g_assert_cmpint(nh_reply_decode(m.buf, m.len, &out, err, sizeof err), ==, -EBADMSG);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        g_test_add_func("/protocol/roundtrip/bridge", test_roundtrip_bridge);
        g_test_add_func("/protocol/roundtrip/tap", test_roundtrip_tap);
        g_test_add_func("/protocol/roundtrip/delete", test_roundtrip_delete);
        g_test_add_func("/protocol/roundtrip/macvtap", test_roundtrip_macvtap);
        g_test_add_func("/protocol/roundtrip/vhost", test_roundtrip_vhost);
        g_test_add_func("/protocol/compat/tap", test_tap_compat);
        g_test_add_func("/protocol/roundtrip/reply", test_roundtrip_reply);
        g_test_add_func("/protocol/reply/bad", test_reply_bad);
        g_test_add_func("/protocol/encode/errors", test_encode_errors);
        g_test_add_func("/protocol/decode/truncated", test_truncated);
        g_test_add_func("/protocol/decode/oversized", test_oversized);
        g_test_add_func("/protocol/decode/bad-header", test_bad_header);
        g_test_add_func("/protocol/decode/unknown-verb", test_unknown_verb);
        g_test_add_func("/protocol/decode/bad-attributes", test_bad_attributes);
        g_test_add_func("/protocol/decode/strings", test_strings);
        g_test_add_func("/protocol/decode/bad-ifnames", test_bad_ifnames);
        g_test_add_func("/protocol/decode/ranges", test_ranges);
        g_test_add_func("/protocol/decode/addresses", test_addresses);
        g_test_add_func("/protocol/decode/random-garbage", test_random_garbage);
        g_test_add_func("/protocol/roundtrip/qos", test_roundtrip_qos);
        g_test_add_func("/protocol/qos/wire", test_qos_wire);
        g_test_add_func("/protocol/qos/bad", test_qos_bad);
        g_test_add_func("/protocol/qos/reply-caps", test_reply_qos_caps);
        g_test_add_func("/protocol/client", test_client);
        g_test_add_func("/protocol/scope", test_scope);

        return g_test_run();
}
