/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Encoding and strict validation of helper messages. The decoder is the helper's first line of
 * defence: it reads only within [buf, buf+len), checks every length before using it, and
 * accepts exactly one encoding per request (no unknown, duplicate or misplaced attributes, zero
 * padding) so that the handlers can trust the resulting structs. */

#include <limits.h>
#include <stdarg.h>
#include <sys/socket.h>

#include "ether.h"
#include "fdpass.h"
#include "ifname.h"
#include "macro.h"
#include "protocol.h"

#define NH_ALIGN(l) (((l) + 3u) & ~3u)
#define NH_ATTR_HEADER_SIZE 4u

static const char *const verb_table[_NH_VERB_MAX] = {
        [NH_VERB_REPLY] = "REPLY",
        [NH_VERB_BRIDGE_CREATE] = "BRIDGE_CREATE",
        [NH_VERB_TAP_CREATE] = "TAP_CREATE",
        [NH_VERB_LINK_DELETE] = "LINK_DELETE",
        [NH_VERB_MACVTAP_CREATE] = "MACVTAP_CREATE",
        [NH_VERB_VHOST_OPEN] = "VHOST_OPEN",
        [NH_VERB_QOS_PROBE] = "QOS_PROBE",
        [NH_VERB_QOS_APPLY_INTERFACE] = "QOS_APPLY_INTERFACE",
        [NH_VERB_QOS_CLEAR_INTERFACE] = "QOS_CLEAR_INTERFACE",
        [NH_VERB_QOS_BRIDGE_SETUP] = "QOS_BRIDGE_SETUP",
        [NH_VERB_QOS_BRIDGE_TEARDOWN] = "QOS_BRIDGE_TEARDOWN",
        [NH_VERB_QOS_FLOOR_ADD] = "QOS_FLOOR_ADD",
        [NH_VERB_QOS_FLOOR_REMOVE] = "QOS_FLOOR_REMOVE",
        [NH_VERB_QOS_DEFAULT_RATE] = "QOS_DEFAULT_RATE",
        [NH_VERB_SCOPE_CREATE] = "SCOPE_CREATE",
};

static const char *const attr_table[_NH_ATTR_MAX] = {
        [NH_ATTR_UNSPEC] = "UNSPEC",
        [NH_ATTR_IFNAME] = "IFNAME",
        [NH_ATTR_MAC] = "MAC",
        [NH_ATTR_MTU] = "MTU",
        [NH_ATTR_STP] = "STP",
        [NH_ATTR_FORWARD_DELAY] = "FORWARD_DELAY",
        [NH_ATTR_ADDRESS] = "ADDRESS",
        [NH_ATTR_BRIDGE] = "BRIDGE",
        [NH_ATTR_VNET_HDR] = "VNET_HDR",
        [NH_ATTR_QUEUES] = "QUEUES",
        [NH_ATTR_LINK_KIND] = "LINK_KIND",
        [NH_ATTR_ERRNO] = "ERRNO",
        [NH_ATTR_ERROR] = "ERROR",
        [NH_ATTR_IFINDEX] = "IFINDEX",
        [NH_ATTR_N_FDS] = "N_FDS",
        [NH_ATTR_NOQUEUE] = "NOQUEUE",
        [NH_ATTR_LOWER] = "LOWER",
        [NH_ATTR_MACVTAP_MODE] = "MACVTAP_MODE",
        [NH_ATTR_NOQUEUE_APPLIED] = "NOQUEUE_APPLIED",
        [NH_ATTR_QOS_CAPS] = "QOS_CAPS",
        [NH_ATTR_QOS_LEAF] = "QOS_LEAF",
        [NH_ATTR_QOS_SHAPE] = "QOS_SHAPE",
        [NH_ATTR_QOS_POLICE] = "QOS_POLICE",
        [NH_ATTR_QOS_IFB] = "QOS_IFB",
        [NH_ATTR_QOS_ROOT] = "QOS_ROOT",
        [NH_ATTR_QOS_DEFAULT] = "QOS_DEFAULT",
        [NH_ATTR_CLASS_ID] = "CLASS_ID",
        [NH_ATTR_PID] = "PID",
        [NH_ATTR_UNIT] = "UNIT",
        [NH_ATTR_MACHINE] = "MACHINE",
        [NH_ATTR_UUID] = "UUID",
};

static const char *const macvtap_mode_table[_NH_MACVTAP_MODE_MAX] = {
        [NH_MACVTAP_MODE_VEPA] = "vepa",
        [NH_MACVTAP_MODE_BRIDGE] = "bridge",
        [NH_MACVTAP_MODE_PRIVATE] = "private",
        [NH_MACVTAP_MODE_PASSTHROUGH] = "passthrough",
};

/* Attribute sets are bitmasks of 1u << type. */
_Static_assert(_NH_ATTR_MAX <= 32, "attribute types must fit a 32-bit mask");
/* They travel as they are in memory: no padding, fixed sizes. */
_Static_assert(sizeof(QosHtbParams) == 40, "QosHtbParams is 40 bytes on the wire");
_Static_assert(sizeof(QosPoliceParams) == 24, "QosPoliceParams is 24 bytes on the wire");

/* Which attributes each verb takes; everything else is refused by name. */
static const uint32_t verb_allowed[_NH_VERB_MAX] = {
        [NH_VERB_REPLY] = 1u << NH_ATTR_ERRNO | 1u << NH_ATTR_ERROR | 1u << NH_ATTR_IFINDEX |
                          1u << NH_ATTR_N_FDS | 1u << NH_ATTR_NOQUEUE_APPLIED | 1u << NH_ATTR_QOS_CAPS,
        [NH_VERB_BRIDGE_CREATE] = 1u << NH_ATTR_IFNAME | 1u << NH_ATTR_MAC | 1u << NH_ATTR_MTU |
                                  1u << NH_ATTR_STP | 1u << NH_ATTR_FORWARD_DELAY | 1u << NH_ATTR_ADDRESS,
        [NH_VERB_TAP_CREATE] = 1u << NH_ATTR_IFNAME | 1u << NH_ATTR_MAC | 1u << NH_ATTR_MTU |
                               1u << NH_ATTR_VNET_HDR | 1u << NH_ATTR_QUEUES | 1u << NH_ATTR_BRIDGE |
                               1u << NH_ATTR_NOQUEUE,
        [NH_VERB_LINK_DELETE] = 1u << NH_ATTR_IFNAME | 1u << NH_ATTR_LINK_KIND,
        [NH_VERB_MACVTAP_CREATE] = 1u << NH_ATTR_IFNAME | 1u << NH_ATTR_LOWER | 1u << NH_ATTR_MACVTAP_MODE |
                                   1u << NH_ATTR_MAC | 1u << NH_ATTR_MTU | 1u << NH_ATTR_VNET_HDR |
                                   1u << NH_ATTR_QUEUES | 1u << NH_ATTR_NOQUEUE,
        [NH_VERB_VHOST_OPEN] = 1u << NH_ATTR_QUEUES,
        [NH_VERB_QOS_PROBE] = 0,
        [NH_VERB_QOS_APPLY_INTERFACE] = 1u << NH_ATTR_IFNAME | 1u << NH_ATTR_QOS_LEAF |
                                        1u << NH_ATTR_QOS_SHAPE | 1u << NH_ATTR_QOS_POLICE |
                                        1u << NH_ATTR_QOS_IFB,
        [NH_VERB_QOS_CLEAR_INTERFACE] = 1u << NH_ATTR_IFNAME,
        [NH_VERB_QOS_BRIDGE_SETUP] = 1u << NH_ATTR_IFNAME | 1u << NH_ATTR_QOS_LEAF | 1u << NH_ATTR_QOS_ROOT |
                                     1u << NH_ATTR_QOS_DEFAULT | 1u << NH_ATTR_QOS_POLICE |
                                     1u << NH_ATTR_QOS_IFB,
        [NH_VERB_QOS_BRIDGE_TEARDOWN] = 1u << NH_ATTR_IFNAME,
        [NH_VERB_QOS_FLOOR_ADD] = 1u << NH_ATTR_IFNAME | 1u << NH_ATTR_CLASS_ID | 1u << NH_ATTR_QOS_LEAF |
                                  1u << NH_ATTR_QOS_SHAPE | 1u << NH_ATTR_MAC | 1u << NH_ATTR_QOS_DEFAULT,
        [NH_VERB_QOS_FLOOR_REMOVE] = 1u << NH_ATTR_IFNAME | 1u << NH_ATTR_CLASS_ID |
                                     1u << NH_ATTR_QOS_DEFAULT,
        [NH_VERB_QOS_DEFAULT_RATE] = 1u << NH_ATTR_IFNAME | 1u << NH_ATTR_QOS_DEFAULT,
        [NH_VERB_SCOPE_CREATE] = 1u << NH_ATTR_PID | 1u << NH_ATTR_UNIT | 1u << NH_ATTR_MACHINE | 1u << NH_ATTR_UUID,
};

static const uint32_t verb_required[_NH_VERB_MAX] = {
        [NH_VERB_REPLY] = 1u << NH_ATTR_ERRNO,
        [NH_VERB_BRIDGE_CREATE] = 1u << NH_ATTR_IFNAME,
        [NH_VERB_TAP_CREATE] = 1u << NH_ATTR_IFNAME,
        [NH_VERB_LINK_DELETE] = 1u << NH_ATTR_IFNAME | 1u << NH_ATTR_LINK_KIND,
        /* The guest's MAC is what the macvtap exists for: no kernel-chosen default. */
        [NH_VERB_MACVTAP_CREATE] = 1u << NH_ATTR_IFNAME | 1u << NH_ATTR_LOWER | 1u << NH_ATTR_MACVTAP_MODE |
                                   1u << NH_ATTR_MAC,
        [NH_VERB_VHOST_OPEN] = 1u << NH_ATTR_QUEUES,
        [NH_VERB_QOS_APPLY_INTERFACE] = 1u << NH_ATTR_IFNAME,
        [NH_VERB_QOS_CLEAR_INTERFACE] = 1u << NH_ATTR_IFNAME,
        [NH_VERB_QOS_BRIDGE_SETUP] = 1u << NH_ATTR_IFNAME,
        [NH_VERB_QOS_BRIDGE_TEARDOWN] = 1u << NH_ATTR_IFNAME,
        [NH_VERB_QOS_FLOOR_ADD] = 1u << NH_ATTR_IFNAME | 1u << NH_ATTR_CLASS_ID | 1u << NH_ATTR_QOS_SHAPE |
                                  1u << NH_ATTR_MAC,
        [NH_VERB_QOS_FLOOR_REMOVE] = 1u << NH_ATTR_IFNAME | 1u << NH_ATTR_CLASS_ID,
        [NH_VERB_QOS_DEFAULT_RATE] = 1u << NH_ATTR_IFNAME | 1u << NH_ATTR_QOS_DEFAULT,
        [NH_VERB_SCOPE_CREATE] = 1u << NH_ATTR_PID | 1u << NH_ATTR_UNIT,
};

const char *nh_verb_to_string(NhVerb v) {
        if ((unsigned) v >= _NH_VERB_MAX)
                return NULL;
        return verb_table[v];
}

const char *nh_macvtap_mode_to_string(NhMacvtapMode m) {
        if ((unsigned) m >= _NH_MACVTAP_MODE_MAX)
                return NULL;
        return macvtap_mode_table[m];
}

static const char *attr_to_string(unsigned a) {
        return a < _NH_ATTR_MAX ? attr_table[a] : "?";
}

_printf_(3, 4) static int set_error(char *err, size_t err_size, const char *format, ...) {
        va_list ap;

        if (!err || err_size == 0)
                return 0;
        va_start(ap, format);
        vsnprintf(err, err_size, format, ap);
        va_end(ap);
        return 0;
}

/* Untrusted bytes go into error messages only escaped, so a hostile name cannot forge log lines. */
static const char *escape_bytes(const uint8_t *p, size_t n, char *buf, size_t size) {
        size_t j = 0;

        for (size_t i = 0; i < n && p[i] != 0 && j + 5 < size; i++) {
                if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\' && p[i] != '"')
                        buf[j++] = p[i];
                else
                        j += snprintf(buf + j, size - j, "\\x%02x", p[i]);
        }
        buf[j] = 0;
        return buf;
}

/* Encoding */

typedef struct Writer {
        uint8_t *buf;
        size_t size;
        size_t off;
} Writer;

static int put_attr(Writer *w, uint16_t type, const void *data, size_t len) {
        size_t total;
        uint16_t l16;

        if (len > UINT16_MAX - NH_ATTR_HEADER_SIZE)
                return -EMSGSIZE;
        total = NH_ATTR_HEADER_SIZE + NH_ALIGN(len);
        if (total > w->size - w->off)
                return -EMSGSIZE;
        l16 = len;
        memcpy(w->buf + w->off, &type, 2);
        memcpy(w->buf + w->off + 2, &l16, 2);
        if (len > 0)
                memcpy(w->buf + w->off + NH_ATTR_HEADER_SIZE, data, len);
        memset(w->buf + w->off + NH_ATTR_HEADER_SIZE + len, 0, NH_ALIGN(len) - len);
        w->off += total;
        return 0;
}

static int put_u32(Writer *w, uint16_t type, uint32_t v) {
        return put_attr(w, type, &v, sizeof v);
}

static int put_u8(Writer *w, uint16_t type, uint8_t v) {
        return put_attr(w, type, &v, sizeof v);
}

/* A fixed char array must hold a terminated string; encode it with its NUL. */
static int put_string(Writer *w, uint16_t type, const char *s, size_t max) {
        size_t l = strnlen(s, max);

        if (l >= max)
                return -EINVAL;
        return put_attr(w, type, s, l + 1);
}

static int writer_init(Writer *w, uint8_t *buf, size_t size, uint16_t verb, uint32_t seq) {
        uint32_t magic = NH_MAGIC;
        uint16_t version = NH_VERSION;

        if (!buf || size < NH_HEADER_SIZE)
                return -EMSGSIZE;
        *w = (Writer) { .buf = buf, .size = MIN(size, (size_t) NH_MESSAGE_MAX), .off = NH_HEADER_SIZE };
        memcpy(buf, &magic, 4);
        memcpy(buf + 4, &version, 2);
        memcpy(buf + 6, &verb, 2);
        memcpy(buf + 8, &seq, 4);
        return 0;
}

static int writer_finish(Writer *w) {
        uint32_t payload = w->off - NH_HEADER_SIZE;

        memcpy(w->buf + 12, &payload, 4);
        return (int) w->off;
}

static int encode_bridge_create(Writer *w, const NhBridgeCreate *b) {
        int r;

        if (b->n_addresses > NH_ADDRESSES_MAX)
                return -EINVAL;
        r = put_string(w, NH_ATTR_IFNAME, b->ifname, sizeof b->ifname);
        if (r < 0)
                return r;
        if (b->has_mac) {
                r = put_attr(w, NH_ATTR_MAC, b->mac, sizeof b->mac);
                if (r < 0)
                        return r;
        }
        if (b->mtu != 0) {
                r = put_u32(w, NH_ATTR_MTU, b->mtu);
                if (r < 0)
                        return r;
        }
        r = put_u8(w, NH_ATTR_STP, b->stp);
        if (r < 0)
                return r;
        r = put_u32(w, NH_ATTR_FORWARD_DELAY, b->forward_delay);
        if (r < 0)
                return r;
        for (size_t i = 0; i < b->n_addresses; i++) {
                r = put_attr(w, NH_ATTR_ADDRESS, &b->addresses[i], sizeof(NhAddress));
                if (r < 0)
                        return r;
        }
        return 0;
}

static int encode_tap_create(Writer *w, const NhTapCreate *t) {
        int r;

        r = put_string(w, NH_ATTR_IFNAME, t->ifname, sizeof t->ifname);
        if (r < 0)
                return r;
        if (t->has_mac) {
                r = put_attr(w, NH_ATTR_MAC, t->mac, sizeof t->mac);
                if (r < 0)
                        return r;
        }
        if (t->mtu != 0) {
                r = put_u32(w, NH_ATTR_MTU, t->mtu);
                if (r < 0)
                        return r;
        }
        r = put_u8(w, NH_ATTR_VNET_HDR, t->vnet_hdr);
        if (r < 0)
                return r;
        if (t->queues != 0) { /* absent means 1 */
                r = put_u32(w, NH_ATTR_QUEUES, t->queues);
                if (r < 0)
                        return r;
        }
        if (strnlen(t->bridge, sizeof t->bridge) > 0) {
                r = put_string(w, NH_ATTR_BRIDGE, t->bridge, sizeof t->bridge);
                if (r < 0)
                        return r;
        }
        /* Only when set: a request without it stays readable by helpers that predate it. */
        if (t->noqueue) {
                r = put_u8(w, NH_ATTR_NOQUEUE, 1);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int encode_macvtap_create(Writer *w, const NhMacvtapCreate *m) {
        int r;

        r = put_string(w, NH_ATTR_IFNAME, m->ifname, sizeof m->ifname);
        if (r < 0)
                return r;
        r = put_string(w, NH_ATTR_LOWER, m->lower, sizeof m->lower);
        if (r < 0)
                return r;
        r = put_u32(w, NH_ATTR_MACVTAP_MODE, m->mode);
        if (r < 0)
                return r;
        r = put_attr(w, NH_ATTR_MAC, m->mac, sizeof m->mac);
        if (r < 0)
                return r;
        if (m->mtu != 0) {
                r = put_u32(w, NH_ATTR_MTU, m->mtu);
                if (r < 0)
                        return r;
        }
        r = put_u8(w, NH_ATTR_VNET_HDR, m->vnet_hdr);
        if (r < 0)
                return r;
        if (m->queues != 0) { /* absent means 1 */
                r = put_u32(w, NH_ATTR_QUEUES, m->queues);
                if (r < 0)
                        return r;
        }
        return put_u8(w, NH_ATTR_NOQUEUE, m->noqueue);
}

static int encode_vhost_open(Writer *w, const NhVhostOpen *v) {
        return put_u32(w, NH_ATTR_QUEUES, v->queues);
}

static int encode_link_delete(Writer *w, const NhLinkDelete *d) {
        int r;

        r = put_string(w, NH_ATTR_IFNAME, d->ifname, sizeof d->ifname);
        if (r < 0)
                return r;
        return put_u32(w, NH_ATTR_LINK_KIND, d->kind);
}

/* Leaf kind: only when not the default, so that the default has one encoding. */
static int put_leaf(Writer *w, QosLeaf leaf) {
        if (leaf == 0 || leaf == QOS_LEAF_PFIFO)
                return 0;
        return put_u32(w, NH_ATTR_QOS_LEAF, leaf);
}

static int encode_qos_apply(Writer *w, const NhQosApplyInterface *a) {
        int r;

        if (a->has_police && a->has_ifb)
                return -EINVAL;
        r = put_string(w, NH_ATTR_IFNAME, a->ifname, sizeof a->ifname);
        if (r < 0)
                return r;
        r = put_leaf(w, a->leaf);
        if (r >= 0 && a->has_shape)
                r = put_attr(w, NH_ATTR_QOS_SHAPE, &a->shape, sizeof a->shape);
        if (r >= 0 && a->has_police)
                r = put_attr(w, NH_ATTR_QOS_POLICE, &a->police, sizeof a->police);
        if (r >= 0 && a->has_ifb)
                r = put_attr(w, NH_ATTR_QOS_IFB, &a->ifb, sizeof a->ifb);
        return r;
}

static int encode_qos_clear(Writer *w, const NhQosClear *c) {
        return put_string(w, NH_ATTR_IFNAME, c->ifname, sizeof c->ifname);
}

static int encode_qos_bridge(Writer *w, const NhQosBridgeSetup *b) {
        int r;

        if (b->has_police && b->has_ifb)
                return -EINVAL;
        r = put_string(w, NH_ATTR_IFNAME, b->ifname, sizeof b->ifname);
        if (r < 0)
                return r;
        r = put_leaf(w, b->leaf);
        if (r >= 0 && b->has_hierarchy)
                r = put_attr(w, NH_ATTR_QOS_ROOT, &b->root, sizeof b->root);
        if (r >= 0 && b->has_hierarchy)
                r = put_attr(w, NH_ATTR_QOS_DEFAULT, &b->def, sizeof b->def);
        if (r >= 0 && b->has_police)
                r = put_attr(w, NH_ATTR_QOS_POLICE, &b->police, sizeof b->police);
        if (r >= 0 && b->has_ifb)
                r = put_attr(w, NH_ATTR_QOS_IFB, &b->ifb, sizeof b->ifb);
        return r;
}

static int encode_scope_create(Writer *w, const NhScopeCreate *c) {
        int r;

        r = put_u32(w, NH_ATTR_PID, c->pid);
        if (r < 0)
                return r;
        r = put_string(w, NH_ATTR_UNIT, c->unit, sizeof c->unit);
        if (r < 0 || c->machine[0] == 0)
                return r;
        r = put_string(w, NH_ATTR_MACHINE, c->machine, sizeof c->machine);
        if (r < 0)
                return r;
        return put_attr(w, NH_ATTR_UUID, c->uuid, sizeof c->uuid);
}

static int encode_qos_floor(Writer *w, NhVerb verb, const NhQosFloor *f) {
        int r;

        r = put_string(w, NH_ATTR_IFNAME, f->ifname, sizeof f->ifname);
        if (r < 0)
                return r;
        if (verb != NH_VERB_QOS_DEFAULT_RATE) {
                r = put_u32(w, NH_ATTR_CLASS_ID, f->class_id);
                if (r < 0)
                        return r;
        }
        if (verb == NH_VERB_QOS_FLOOR_ADD) {
                r = put_leaf(w, f->leaf);
                if (r >= 0)
                        r = put_attr(w, NH_ATTR_QOS_SHAPE, &f->shape, sizeof f->shape);
                if (r >= 0)
                        r = put_attr(w, NH_ATTR_MAC, f->mac, sizeof f->mac);
                if (r < 0)
                        return r;
        }
        if (verb == NH_VERB_QOS_DEFAULT_RATE && !f->has_default)
                return -EINVAL;
        if (f->has_default)
                return put_attr(w, NH_ATTR_QOS_DEFAULT, &f->def, sizeof f->def);
        return 0;
}

int nh_request_encode(const NhRequest *req, uint8_t *buf, size_t size) {
        Writer w;
        int r;

        if (!req)
                return -EINVAL;
        r = writer_init(&w, buf, size, req->verb, req->seq);
        if (r < 0)
                return r;

        switch (req->verb) {
        case NH_VERB_BRIDGE_CREATE:
                r = encode_bridge_create(&w, &req->bridge_create);
                break;
        case NH_VERB_TAP_CREATE:
                r = encode_tap_create(&w, &req->tap_create);
                break;
        case NH_VERB_LINK_DELETE:
                r = encode_link_delete(&w, &req->link_delete);
                break;
        case NH_VERB_MACVTAP_CREATE:
                r = encode_macvtap_create(&w, &req->macvtap_create);
                break;
        case NH_VERB_VHOST_OPEN:
                r = encode_vhost_open(&w, &req->vhost_open);
                break;
        case NH_VERB_QOS_PROBE:
                r = 0;
                break;
        case NH_VERB_QOS_APPLY_INTERFACE:
                r = encode_qos_apply(&w, &req->qos_apply);
                break;
        case NH_VERB_QOS_CLEAR_INTERFACE:
        case NH_VERB_QOS_BRIDGE_TEARDOWN:
                r = encode_qos_clear(&w, &req->qos_clear);
                break;
        case NH_VERB_QOS_BRIDGE_SETUP:
                r = encode_qos_bridge(&w, &req->qos_bridge);
                break;
        case NH_VERB_QOS_FLOOR_ADD:
        case NH_VERB_QOS_FLOOR_REMOVE:
        case NH_VERB_QOS_DEFAULT_RATE:
                r = encode_qos_floor(&w, req->verb, &req->qos_floor);
                break;
        case NH_VERB_SCOPE_CREATE:
                r = encode_scope_create(&w, &req->scope_create);
                break;
        default:
                return -EINVAL;
        }
        if (r < 0)
                return r;
        return writer_finish(&w);
}

int nh_reply_encode(const NhReply *reply, uint8_t *buf, size_t size) {
        size_t l;
        Writer w;
        int r;

        if (!reply)
                return -EINVAL;
        r = writer_init(&w, buf, size, NH_VERB_REPLY, reply->seq);
        if (r < 0)
                return r;

        r = put_u32(&w, NH_ATTR_ERRNO, reply->error);
        if (r < 0)
                return r;
        /* An over-long message is cut, not refused: the error itself must always get through. */
        l = strnlen(reply->message, sizeof reply->message - 1);
        if (l > 0) {
                char m[NH_ERROR_MESSAGE_MAX];

                memcpy(m, reply->message, l);
                m[l] = 0;
                r = put_attr(&w, NH_ATTR_ERROR, m, l + 1);
                if (r < 0)
                        return r;
        }
        if (reply->ifindex != 0) {
                r = put_u32(&w, NH_ATTR_IFINDEX, reply->ifindex);
                if (r < 0)
                        return r;
        }
        if (reply->n_fds != 0) {
                r = put_u32(&w, NH_ATTR_N_FDS, reply->n_fds);
                if (r < 0)
                        return r;
        }
        if (reply->has_noqueue_applied) {
                r = put_u8(&w, NH_ATTR_NOQUEUE_APPLIED, reply->noqueue_applied);
                if (r < 0)
                        return r;
        }
        if (reply->has_qos_caps) {
                r = put_u32(&w, NH_ATTR_QOS_CAPS, reply->qos_caps);
                if (r < 0)
                        return r;
        }
        return writer_finish(&w);
}

/* Decoding */

typedef struct Attr {
        uint16_t len;
        const uint8_t *data; /* points into the caller's buffer */
} Attr;

typedef struct Parsed {
        uint16_t verb;
        uint32_t seq;
        uint32_t seen; /* bitmask of attribute types */
        Attr attrs[_NH_ATTR_MAX];
        NhAddress addresses[NH_ADDRESSES_MAX];
        size_t n_addresses;
} Parsed;

static int parse_header(const uint8_t *buf, size_t len, Parsed *p, char *err, size_t err_size) {
        uint32_t magic, payload;
        uint16_t version;

        if (!buf || len < NH_HEADER_SIZE) {
                set_error(err, err_size, "truncated header: %zu bytes, need %d", buf ? len : 0,
                          NH_HEADER_SIZE);
                return -EBADMSG;
        }
        memcpy(&magic, buf, 4);
        memcpy(&version, buf + 4, 2);
        memcpy(&p->verb, buf + 6, 2);
        memcpy(&p->seq, buf + 8, 4);
        memcpy(&payload, buf + 12, 4);

        if (len > NH_MESSAGE_MAX) {
                set_error(err, err_size, "message of %zu bytes exceeds the maximum of %d bytes", len,
                          NH_MESSAGE_MAX);
                return -EMSGSIZE;
        }
        if (magic != NH_MAGIC) {
                set_error(err, err_size, "bad magic 0x%08x", magic);
                return -EPROTO;
        }
        if (version != NH_VERSION) {
                set_error(err, err_size, "unsupported protocol version %u (expected %d)", version,
                          NH_VERSION);
                return -EPROTO;
        }
        if (payload != len - NH_HEADER_SIZE) {
                set_error(err, err_size, "payload length %u does not match the %zu bytes received", payload,
                          len - NH_HEADER_SIZE);
                return -EBADMSG;
        }
        return 0;
}

/* Split the payload into attributes, checking bounds, padding, allowed set and duplicates. */
static int parse_attrs(const uint8_t *buf, size_t len, Parsed *p, char *err, size_t err_size) {
        const char *verb = nh_verb_to_string(p->verb);
        size_t off = NH_HEADER_SIZE;

        while (off < len) {
                size_t remaining = len - off, padded;
                uint16_t type, alen;

                if (remaining < NH_ATTR_HEADER_SIZE) {
                        set_error(err, err_size, "truncated attribute at offset %zu", off);
                        return -EBADMSG;
                }
                memcpy(&type, buf + off, 2);
                memcpy(&alen, buf + off + 2, 2);
                padded = NH_ALIGN((size_t) alen);
                if (padded > remaining - NH_ATTR_HEADER_SIZE) {
                        set_error(err, err_size, "truncated attribute at offset %zu", off);
                        return -EBADMSG;
                }
                for (size_t i = alen; i < padded; i++)
                        if (buf[off + NH_ATTR_HEADER_SIZE + i] != 0) {
                                set_error(err, err_size, "non-zero padding in attribute at offset %zu", off);
                                return -EBADMSG;
                        }

                if (type == NH_ATTR_UNSPEC || type >= _NH_ATTR_MAX) {
                        set_error(err, err_size, "unknown attribute %u at offset %zu", type, off);
                        return -EBADMSG;
                }
                if (!(verb_allowed[p->verb] & (1u << type))) {
                        set_error(err, err_size, "attribute %u (%s) not allowed for verb %s", type,
                                  attr_to_string(type), verb);
                        return -EBADMSG;
                }

                if (type == NH_ATTR_ADDRESS) {
                        if (p->n_addresses >= NH_ADDRESSES_MAX) {
                                set_error(err, err_size, "more than %d attributes %u (ADDRESS)",
                                          NH_ADDRESSES_MAX, type);
                                return -EBADMSG;
                        }
                        if (alen != sizeof(NhAddress)) {
                                set_error(err, err_size,
                                          "attribute %u (ADDRESS) has length %u, expected %zu", type, alen,
                                          sizeof(NhAddress));
                                return -EBADMSG;
                        }
                        memcpy(&p->addresses[p->n_addresses++], buf + off + NH_ATTR_HEADER_SIZE,
                               sizeof(NhAddress));
                } else {
                        if (p->seen & (1u << type)) {
                                set_error(err, err_size, "duplicate attribute %u (%s) at offset %zu", type,
                                          attr_to_string(type), off);
                                return -EBADMSG;
                        }
                        p->attrs[type] = (Attr) { .len = alen, .data = buf + off + NH_ATTR_HEADER_SIZE };
                }
                p->seen |= 1u << type;
                off += NH_ATTR_HEADER_SIZE + padded;
        }

        for (unsigned t = 1; t < _NH_ATTR_MAX; t++)
                if ((verb_required[p->verb] & (1u << t)) && !(p->seen & (1u << t))) {
                        set_error(err, err_size, "missing attribute %u (%s) for verb %s", t,
                                  attr_to_string(t), verb);
                        return -EBADMSG;
                }
        return 0;
}

static bool has_attr(const Parsed *p, NhAttr type) {
        return p->seen & (1u << type);
}

static int get_u32(const Parsed *p, NhAttr type, uint32_t *ret, char *err, size_t err_size) {
        const Attr *a = &p->attrs[type];

        if (a->len != sizeof(uint32_t)) {
                set_error(err, err_size, "attribute %u (%s) has length %u, expected 4", type,
                          attr_to_string(type), a->len);
                return -EBADMSG;
        }
        memcpy(ret, a->data, sizeof(uint32_t));
        return 0;
}

static int get_u32_range(const Parsed *p, NhAttr type, uint32_t min, uint32_t max, uint32_t *ret, char *err,
                         size_t err_size) {
        uint32_t v;
        int r;

        r = get_u32(p, type, &v, err, err_size);
        if (r < 0)
                return r;
        if (v < min || v > max) {
                set_error(err, err_size, "attribute %u (%s) value %u out of range %u..%u", type,
                          attr_to_string(type), v, min, max);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

static int get_bool(const Parsed *p, NhAttr type, bool *ret, char *err, size_t err_size) {
        const Attr *a = &p->attrs[type];

        if (a->len != 1) {
                set_error(err, err_size, "attribute %u (%s) has length %u, expected 1", type,
                          attr_to_string(type), a->len);
                return -EBADMSG;
        }
        if (a->data[0] > 1) {
                set_error(err, err_size, "attribute %u (%s) value %u is not 0 or 1", type,
                          attr_to_string(type), a->data[0]);
                return -EINVAL;
        }
        *ret = a->data[0];
        return 0;
}

/* A string attribute carries exactly one terminating NUL, as its last byte. */
static int get_string(const Parsed *p, NhAttr type, size_t max, const char **ret, char *err,
                      size_t err_size) {
        const Attr *a = &p->attrs[type];

        if (a->len == 0 || a->data[a->len - 1] != 0 || memchr(a->data, 0, a->len) != a->data + a->len - 1) {
                set_error(err, err_size, "attribute %u (%s) is not a NUL-terminated string", type,
                          attr_to_string(type));
                return -EBADMSG;
        }
        if (a->len > max) {
                set_error(err, err_size, "attribute %u (%s) is too long (%u bytes, maximum %zu)", type,
                          attr_to_string(type), a->len, max);
                return -EINVAL;
        }
        *ret = (const char *) a->data;
        return 0;
}

static int get_ifname(const Parsed *p, NhAttr type, char ret[static IFNAMSIZ], char *err, size_t err_size) {
        const Attr *a = &p->attrs[type];
        const char *s;
        char e[4 * IFNAMSIZ + 8];
        int r;

        r = get_string(p, type, UINT16_MAX, &s, err, err_size);
        if (r < 0)
                return r;
        if (a->len > IFNAMSIZ) {
                set_error(err, err_size,
                          "attribute %u (%s): interface name \"%s...\" is longer than %d characters", type,
                          attr_to_string(type), escape_bytes(a->data, IFNAMSIZ - 1, e, sizeof e),
                          IFNAMSIZ - 1);
                return -EINVAL;
        }
        if (!ifname_valid(s)) {
                set_error(err, err_size, "attribute %u (%s): invalid interface name \"%s\"", type,
                          attr_to_string(type), escape_bytes(a->data, a->len, e, sizeof e));
                return -EINVAL;
        }
        memcpy(ret, s, a->len);
        return 0;
}

static int get_mac(const Parsed *p, uint8_t ret[static 6], char *err, size_t err_size) {
        const Attr *a = &p->attrs[NH_ATTR_MAC];
        EtherAddr m;
        char s[ETHER_ADDR_STR_MAX];

        if (a->len != 6) {
                set_error(err, err_size, "attribute %u (MAC) has length %u, expected 6", NH_ATTR_MAC,
                          a->len);
                return -EBADMSG;
        }
        memcpy(m.bytes, a->data, 6);
        /* The kernel would refuse these for an Ethernet device anyway; say why up front. */
        if (ether_addr_is_null(&m) || ether_addr_is_multicast(&m)) {
                set_error(err, err_size, "attribute %u (MAC): %s is not a unicast address", NH_ATTR_MAC,
                          ether_addr_format(&m, s));
                return -EINVAL;
        }
        memcpy(ret, a->data, 6);
        return 0;
}

static int check_address(const NhAddress *a, size_t i, char *err, size_t err_size) {
        static const uint8_t zero[16] = {};
        unsigned max;
        size_t used;

        if (a->family == AF_INET) {
                max = 32;
                used = 4;
        } else if (a->family == AF_INET6) {
                max = 128;
                used = 16;
        } else {
                set_error(err, err_size, "address %zu: unsupported address family %u", i, a->family);
                return -EINVAL;
        }
        if (a->prefixlen > max) {
                set_error(err, err_size, "address %zu: prefix length %u exceeds %u", i, a->prefixlen, max);
                return -EINVAL;
        }
        /* One encoding per address: unused bytes must be zero. */
        if (memcmp(a->reserved, zero, sizeof a->reserved) != 0 ||
            memcmp(a->address + used, zero, sizeof a->address - used) != 0) {
                set_error(err, err_size, "address %zu: non-zero reserved bytes", i);
                return -EBADMSG;
        }
        return 0;
}

static int decode_bridge_create(const Parsed *p, NhBridgeCreate *b, char *err, size_t err_size) {
        int r;

        r = get_ifname(p, NH_ATTR_IFNAME, b->ifname, err, err_size);
        if (r < 0)
                return r;
        if (has_attr(p, NH_ATTR_MAC)) {
                r = get_mac(p, b->mac, err, err_size);
                if (r < 0)
                        return r;
                b->has_mac = true;
        }
        if (has_attr(p, NH_ATTR_MTU)) {
                r = get_u32_range(p, NH_ATTR_MTU, 68, 65535, &b->mtu, err, err_size);
                if (r < 0)
                        return r;
        }
        if (has_attr(p, NH_ATTR_STP)) {
                r = get_bool(p, NH_ATTR_STP, &b->stp, err, err_size);
                if (r < 0)
                        return r;
        }
        if (has_attr(p, NH_ATTR_FORWARD_DELAY)) {
                r = get_u32_range(p, NH_ATTR_FORWARD_DELAY, 0, 30, &b->forward_delay, err, err_size);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < p->n_addresses; i++) {
                r = check_address(&p->addresses[i], i, err, err_size);
                if (r < 0)
                        return r;
                b->addresses[i] = p->addresses[i];
        }
        b->n_addresses = p->n_addresses;
        return 0;
}

static int decode_tap_create(const Parsed *p, NhTapCreate *t, char *err, size_t err_size) {
        int r;

        r = get_ifname(p, NH_ATTR_IFNAME, t->ifname, err, err_size);
        if (r < 0)
                return r;
        if (has_attr(p, NH_ATTR_MAC)) {
                r = get_mac(p, t->mac, err, err_size);
                if (r < 0)
                        return r;
                t->has_mac = true;
        }
        if (has_attr(p, NH_ATTR_MTU)) {
                r = get_u32_range(p, NH_ATTR_MTU, 68, 65535, &t->mtu, err, err_size);
                if (r < 0)
                        return r;
        }
        if (has_attr(p, NH_ATTR_VNET_HDR)) {
                r = get_bool(p, NH_ATTR_VNET_HDR, &t->vnet_hdr, err, err_size);
                if (r < 0)
                        return r;
        }
        t->queues = 1;
        if (has_attr(p, NH_ATTR_QUEUES)) {
                r = get_u32_range(p, NH_ATTR_QUEUES, 1, NH_QUEUES_MAX, &t->queues, err, err_size);
                if (r < 0)
                        return r;
        }
        if (has_attr(p, NH_ATTR_BRIDGE)) {
                r = get_ifname(p, NH_ATTR_BRIDGE, t->bridge, err, err_size);
                if (r < 0)
                        return r;
        }
        if (has_attr(p, NH_ATTR_NOQUEUE)) {
                r = get_bool(p, NH_ATTR_NOQUEUE, &t->noqueue, err, err_size);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int decode_macvtap_create(const Parsed *p, NhMacvtapCreate *m, char *err, size_t err_size) {
        uint32_t mode;
        int r;

        r = get_ifname(p, NH_ATTR_IFNAME, m->ifname, err, err_size);
        if (r < 0)
                return r;
        r = get_ifname(p, NH_ATTR_LOWER, m->lower, err, err_size);
        if (r < 0)
                return r;
        r = get_u32_range(p, NH_ATTR_MACVTAP_MODE, 1, _NH_MACVTAP_MODE_MAX - 1, &mode, err, err_size);
        if (r < 0)
                return r;
        m->mode = mode;
        r = get_mac(p, m->mac, err, err_size);
        if (r < 0)
                return r;
        if (has_attr(p, NH_ATTR_MTU)) {
                r = get_u32_range(p, NH_ATTR_MTU, 68, 65535, &m->mtu, err, err_size);
                if (r < 0)
                        return r;
        }
        if (has_attr(p, NH_ATTR_VNET_HDR)) {
                r = get_bool(p, NH_ATTR_VNET_HDR, &m->vnet_hdr, err, err_size);
                if (r < 0)
                        return r;
        }
        m->queues = 1;
        if (has_attr(p, NH_ATTR_QUEUES)) {
                r = get_u32_range(p, NH_ATTR_QUEUES, 1, NH_QUEUES_MAX, &m->queues, err, err_size);
                if (r < 0)
                        return r;
        }
        if (has_attr(p, NH_ATTR_NOQUEUE)) {
                r = get_bool(p, NH_ATTR_NOQUEUE, &m->noqueue, err, err_size);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int decode_vhost_open(const Parsed *p, NhVhostOpen *v, char *err, size_t err_size) {
        return get_u32_range(p, NH_ATTR_QUEUES, 1, NH_QUEUES_MAX, &v->queues, err, err_size);
}

static int get_htb_params(const Parsed *p, NhAttr type, QosHtbParams *ret, char *err, size_t err_size) {
        const Attr *a = &p->attrs[type];
        char e[NH_ERROR_MESSAGE_MAX];

        if (a->len != sizeof(QosHtbParams)) {
                set_error(err, err_size, "attribute %u (%s) has length %u, expected %zu", type,
                          attr_to_string(type), a->len, sizeof(QosHtbParams));
                return -EBADMSG;
        }
        memcpy(ret, a->data, sizeof *ret);
        if (qos_htb_params_check(ret, e, sizeof e) < 0) {
                set_error(err, err_size, "attribute %u (%s): %s", type, attr_to_string(type), e);
                return -EINVAL;
        }
        return 0;
}

static int get_police_params(const Parsed *p, QosPoliceParams *ret, char *err, size_t err_size) {
        const Attr *a = &p->attrs[NH_ATTR_QOS_POLICE];
        char e[NH_ERROR_MESSAGE_MAX];

        if (a->len != sizeof(QosPoliceParams)) {
                set_error(err, err_size, "attribute %u (QOS_POLICE) has length %u, expected %zu",
                          NH_ATTR_QOS_POLICE, a->len, sizeof(QosPoliceParams));
                return -EBADMSG;
        }
        memcpy(ret, a->data, sizeof *ret);
        if (qos_police_params_check(ret, e, sizeof e) < 0) {
                set_error(err, err_size, "attribute %u (QOS_POLICE): %s", NH_ATTR_QOS_POLICE, e);
                return -EINVAL;
        }
        return 0;
}

static int get_leaf(const Parsed *p, QosLeaf *ret, char *err, size_t err_size) {
        uint32_t v = QOS_LEAF_PFIFO;
        int r;

        if (has_attr(p, NH_ATTR_QOS_LEAF)) {
                r = get_u32_range(p, NH_ATTR_QOS_LEAF, 1, _QOS_LEAF_MAX - 1, &v, err, err_size);
                if (r < 0)
                        return r;
        }
        *ret = v;
        return 0;
}

/* POLICE and IFB are two ways of doing the same thing: one at most. */
static int get_ingress(const Parsed *p, bool *has_police, QosPoliceParams *police, bool *has_ifb,
                       QosHtbParams *ifb, char *err, size_t err_size) {
        int r;

        if (has_attr(p, NH_ATTR_QOS_POLICE) && has_attr(p, NH_ATTR_QOS_IFB)) {
                set_error(err, err_size, "attributes %u (QOS_POLICE) and %u (QOS_IFB) exclude each other",
                          NH_ATTR_QOS_POLICE, NH_ATTR_QOS_IFB);
                return -EINVAL;
        }
        if (has_attr(p, NH_ATTR_QOS_POLICE)) {
                r = get_police_params(p, police, err, err_size);
                if (r < 0)
                        return r;
                *has_police = true;
        }
        if (has_attr(p, NH_ATTR_QOS_IFB)) {
                r = get_htb_params(p, NH_ATTR_QOS_IFB, ifb, err, err_size);
                if (r < 0)
                        return r;
                *has_ifb = true;
        }
        return 0;
}

static int decode_qos_apply(const Parsed *p, NhQosApplyInterface *a, char *err, size_t err_size) {
        int r;

        r = get_ifname(p, NH_ATTR_IFNAME, a->ifname, err, err_size);
        if (r < 0)
                return r;
        r = get_leaf(p, &a->leaf, err, err_size);
        if (r < 0)
                return r;
        if (has_attr(p, NH_ATTR_QOS_SHAPE)) {
                r = get_htb_params(p, NH_ATTR_QOS_SHAPE, &a->shape, err, err_size);
                if (r < 0)
                        return r;
                a->has_shape = true;
        }
        return get_ingress(p, &a->has_police, &a->police, &a->has_ifb, &a->ifb, err, err_size);
}

static int decode_qos_clear(const Parsed *p, NhQosClear *c, char *err, size_t err_size) {
        return get_ifname(p, NH_ATTR_IFNAME, c->ifname, err, err_size);
}

static int decode_qos_bridge(const Parsed *p, NhQosBridgeSetup *b, char *err, size_t err_size) {
        int r;

        r = get_ifname(p, NH_ATTR_IFNAME, b->ifname, err, err_size);
        if (r < 0)
                return r;
        r = get_leaf(p, &b->leaf, err, err_size);
        if (r < 0)
                return r;
        if (has_attr(p, NH_ATTR_QOS_ROOT) != has_attr(p, NH_ATTR_QOS_DEFAULT)) {
                set_error(err, err_size, "attributes %u (QOS_ROOT) and %u (QOS_DEFAULT) go together",
                          NH_ATTR_QOS_ROOT, NH_ATTR_QOS_DEFAULT);
                return -EBADMSG;
        }
        if (has_attr(p, NH_ATTR_QOS_ROOT)) {
                r = get_htb_params(p, NH_ATTR_QOS_ROOT, &b->root, err, err_size);
                if (r < 0)
                        return r;
                r = get_htb_params(p, NH_ATTR_QOS_DEFAULT, &b->def, err, err_size);
                if (r < 0)
                        return r;
                b->has_hierarchy = true;
        }
        return get_ingress(p, &b->has_police, &b->police, &b->has_ifb, &b->ifb, err, err_size);
}

static int decode_scope_create(const Parsed *p, NhScopeCreate *c, char *err, size_t err_size) {
        const Attr *a = &p->attrs[NH_ATTR_UNIT];
        const char *unit, *machine;
        char e[4 * sizeof c->unit + 8];
        int r;

        /* pid 1 is init: never ours to move */
        r = get_u32_range(p, NH_ATTR_PID, 2, INT32_MAX, &c->pid, err, err_size);
        if (r < 0)
                return r;
        r = get_string(p, NH_ATTR_UNIT, sizeof c->unit, &unit, err, err_size);
        if (r < 0)
                return r;
        if (!qemu_scope_name_valid(unit)) {
                set_error(err, err_size,
                          "attribute %u (UNIT): \"%s\" is not a scope name of the form "
                          QEMU_SCOPE_PREFIX "…" QEMU_SCOPE_SUFFIX, NH_ATTR_UNIT,
                          escape_bytes(a->data, a->len, e, sizeof e));
                return -EINVAL;
        }
        strcpy(c->unit, unit);

        if (has_attr(p, NH_ATTR_MACHINE) != has_attr(p, NH_ATTR_UUID)) {
                set_error(err, err_size, "attributes MACHINE and UUID come together");
                return -EBADMSG;
        }
        if (!has_attr(p, NH_ATTR_MACHINE))
                return 0;
        a = &p->attrs[NH_ATTR_MACHINE];
        r = get_string(p, NH_ATTR_MACHINE, sizeof c->machine, &machine, err, err_size);
        if (r < 0)
                return r;
        if (!machine_name_valid(machine)) {
                set_error(err, err_size, "attribute %u (MACHINE): \"%s\" is not a valid machine name",
                          NH_ATTR_MACHINE, escape_bytes(a->data, a->len, e, sizeof e));
                return -EINVAL;
        }
        strcpy(c->machine, machine);
        a = &p->attrs[NH_ATTR_UUID];
        if (a->len != sizeof c->uuid) {
                set_error(err, err_size, "attribute %u (UUID) has length %u, expected %zu", NH_ATTR_UUID, a->len,
                          sizeof c->uuid);
                return -EBADMSG;
        }
        memcpy(c->uuid, a->data, sizeof c->uuid);
        return 0;
}

static int decode_qos_floor(const Parsed *p, NhQosFloor *f, char *err, size_t err_size) {
        int r;

        r = get_ifname(p, NH_ATTR_IFNAME, f->ifname, err, err_size);
        if (r < 0)
                return r;
        if (p->verb != NH_VERB_QOS_DEFAULT_RATE) {
                r = get_u32_range(p, NH_ATTR_CLASS_ID, QOS_CLASS_ID_MIN, QOS_CLASS_ID_MAX, &f->class_id, err,
                                  err_size);
                if (r < 0)
                        return r;
        }
        if (p->verb == NH_VERB_QOS_FLOOR_ADD) {
                r = get_leaf(p, &f->leaf, err, err_size);
                if (r < 0)
                        return r;
                r = get_htb_params(p, NH_ATTR_QOS_SHAPE, &f->shape, err, err_size);
                if (r < 0)
                        return r;
                r = get_mac(p, f->mac, err, err_size);
                if (r < 0)
                        return r;
        }
        if (has_attr(p, NH_ATTR_QOS_DEFAULT)) {
                r = get_htb_params(p, NH_ATTR_QOS_DEFAULT, &f->def, err, err_size);
                if (r < 0)
                        return r;
                f->has_default = true;
        }
        return 0;
}

static int decode_link_delete(const Parsed *p, NhLinkDelete *d, char *err, size_t err_size) {
        uint32_t kind;
        int r;

        r = get_ifname(p, NH_ATTR_IFNAME, d->ifname, err, err_size);
        if (r < 0)
                return r;
        r = get_u32_range(p, NH_ATTR_LINK_KIND, 1, _NH_LINK_KIND_MAX - 1, &kind, err, err_size);
        if (r < 0)
                return r;
        d->kind = kind;
        return 0;
}

int nh_request_decode(const uint8_t *buf, size_t len, NhRequest *ret, char *err, size_t err_size) {
        _cleanup_free_ Parsed *p = NULL;
        NhRequest req = {};
        int r;

        set_error(err, err_size, "%s", "");
        if (!ret)
                return -EINVAL;
        *ret = (NhRequest) {};

        p = calloc(1, sizeof *p);
        if (!p) {
                set_error(err, err_size, "out of memory");
                return -ENOMEM;
        }
        r = parse_header(buf, len, p, err, err_size);
        if (len >= NH_HEADER_SIZE && buf) {
                ret->seq = p->seq;
                ret->verb = p->verb;
        }
        if (r < 0)
                return r;
        if (p->verb == NH_VERB_REPLY || p->verb >= _NH_VERB_MAX) {
                set_error(err, err_size, "unknown verb %u", p->verb);
                return -EOPNOTSUPP;
        }
        r = parse_attrs(buf, len, p, err, err_size);
        if (r < 0)
                return r;

        req.verb = p->verb;
        req.seq = p->seq;
        switch (p->verb) {
        case NH_VERB_BRIDGE_CREATE:
                r = decode_bridge_create(p, &req.bridge_create, err, err_size);
                break;
        case NH_VERB_TAP_CREATE:
                r = decode_tap_create(p, &req.tap_create, err, err_size);
                break;
        case NH_VERB_LINK_DELETE:
                r = decode_link_delete(p, &req.link_delete, err, err_size);
                break;
        case NH_VERB_MACVTAP_CREATE:
                r = decode_macvtap_create(p, &req.macvtap_create, err, err_size);
                break;
        case NH_VERB_VHOST_OPEN:
                r = decode_vhost_open(p, &req.vhost_open, err, err_size);
                break;
        case NH_VERB_QOS_PROBE:
                r = 0;
                break;
        case NH_VERB_QOS_APPLY_INTERFACE:
                r = decode_qos_apply(p, &req.qos_apply, err, err_size);
                break;
        case NH_VERB_QOS_CLEAR_INTERFACE:
        case NH_VERB_QOS_BRIDGE_TEARDOWN:
                r = decode_qos_clear(p, &req.qos_clear, err, err_size);
                break;
        case NH_VERB_QOS_BRIDGE_SETUP:
                r = decode_qos_bridge(p, &req.qos_bridge, err, err_size);
                break;
        case NH_VERB_QOS_FLOOR_ADD:
        case NH_VERB_QOS_FLOOR_REMOVE:
        case NH_VERB_QOS_DEFAULT_RATE:
                r = decode_qos_floor(p, &req.qos_floor, err, err_size);
                break;
        case NH_VERB_SCOPE_CREATE:
                r = decode_scope_create(p, &req.scope_create, err, err_size);
                break;
        default:
                r = -EOPNOTSUPP;
        }
        if (r < 0)
                return r;
        *ret = req;
        return 0;
}

int nh_reply_decode(const uint8_t *buf, size_t len, NhReply *ret, char *err, size_t err_size) {
        _cleanup_free_ Parsed *p = NULL;
        NhReply reply = {};
        int r;

        set_error(err, err_size, "%s", "");
        if (!ret)
                return -EINVAL;
        *ret = (NhReply) {};

        p = calloc(1, sizeof *p);
        if (!p) {
                set_error(err, err_size, "out of memory");
                return -ENOMEM;
        }
        r = parse_header(buf, len, p, err, err_size);
        if (len >= NH_HEADER_SIZE && buf)
                ret->seq = p->seq;
        if (r < 0)
                return r;
        if (p->verb != NH_VERB_REPLY) {
                set_error(err, err_size, "expected a reply, got verb %u", p->verb);
                return -EOPNOTSUPP;
        }
        r = parse_attrs(buf, len, p, err, err_size);
        if (r < 0)
                return r;

        reply.seq = p->seq;
        r = get_u32_range(p, NH_ATTR_ERRNO, 0, 4095, &reply.error, err, err_size);
        if (r < 0)
                return r;
        if (has_attr(p, NH_ATTR_ERROR)) {
                const char *m;

                r = get_string(p, NH_ATTR_ERROR, NH_ERROR_MESSAGE_MAX, &m, err, err_size);
                if (r < 0)
                        return r;
                memcpy(reply.message, m, p->attrs[NH_ATTR_ERROR].len);
        }
        if (has_attr(p, NH_ATTR_IFINDEX)) {
                r = get_u32_range(p, NH_ATTR_IFINDEX, 1, INT_MAX, &reply.ifindex, err, err_size);
                if (r < 0)
                        return r;
        }
        if (has_attr(p, NH_ATTR_N_FDS)) {
                r = get_u32_range(p, NH_ATTR_N_FDS, 1, FDPASS_MAX, &reply.n_fds, err, err_size);
                if (r < 0)
                        return r;
        }
        if (has_attr(p, NH_ATTR_NOQUEUE_APPLIED)) {
                r = get_bool(p, NH_ATTR_NOQUEUE_APPLIED, &reply.noqueue_applied, err, err_size);
                if (r < 0)
                        return r;
                reply.has_noqueue_applied = true;
        }
        if (has_attr(p, NH_ATTR_QOS_CAPS)) {
                r = get_u32_range(p, NH_ATTR_QOS_CAPS, 0, _QOS_CAP_ALL, &reply.qos_caps, err, err_size);
                if (r < 0)
                        return r;
                reply.has_qos_caps = true;
        }
        *ret = reply;
        return 0;
}
