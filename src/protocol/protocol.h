/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The virtbus-nethelper wire protocol, shared by the daemon (client) and the helper (server).
 *
 * Transport: AF_UNIX SOCK_SEQPACKET; one request datagram → one reply datagram; fds travel
 * with the reply as SCM_RIGHTS. A message is a fixed header followed by attributes:
 *
 *   header  : u32 magic 'VBNH' | u16 version | u16 verb | u32 seq | u32 payload length
 *   attr    : u16 type | u16 value length | value, padded with zeros to 4 bytes
 *
 * All integers are in host byte order (both ends are on the same host). A request is at
 * most NH_MESSAGE_MAX bytes; anything larger, truncated, with unknown/duplicate attributes,
 * out-of-range values or a wrong magic/version is refused with an error reply that names
 * the problem.
 *
 * Compatibility: verbs and attributes are only ever appended. A request without the newer optional
 * attributes means what it meant before they existed; a helper that predates a verb or attribute
 * refuses it by name ("unknown verb", "unknown attribute"), so the daemon can tell. */

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qos-layout.h"
#include "unit-name.h"

#define NH_MAGIC 0x484e4256u /* "VBNH" in memory on little-endian hosts */
#define NH_VERSION 1
#define NH_MESSAGE_MAX 4096
#define NH_HEADER_SIZE 16
#define NH_ADDRESSES_MAX 16
#define NH_QUEUES_MAX 8 /* queues per interface: one tap, macvtap or vhost-net fd each */
#define NH_ERROR_MESSAGE_MAX 256

typedef enum NhVerb {
        NH_VERB_REPLY = 0,
        NH_VERB_BRIDGE_CREATE = 1,  /* create + configure + address + up; marks it as ours */
        NH_VERB_TAP_CREATE = 2,     /* create tap, set MAC/MTU, attach, up → queue fds */
        NH_VERB_LINK_DELETE = 3,    /* delete one of our links (kind must match) */
        NH_VERB_MACVTAP_CREATE = 4, /* macvtap on an allowed lower device, up → /dev/tapN fds */
        NH_VERB_VHOST_OPEN = 5,     /* open /dev/vhost-net once per queue → fds */
        /* QoS (qos-layout.h has the kernel objects). The daemon computes every parameter and
         * allocates class ids; the helper only checks and carries them out. Each verb states the
         * whole desired state of what it names, so repeating a request is harmless: that is how
         * the daemon recovers after a crash. */
        NH_VERB_QOS_PROBE = 6,           /* → QOS_CAPS: what the kernel offers */
        NH_VERB_QOS_APPLY_INTERFACE = 7, /* shaping of a tap/macvtap: egress HTB, ingress police/IFB */
        NH_VERB_QOS_CLEAR_INTERFACE = 8, /* back to noqueue, no ingress qdisc, IFB deleted */
        NH_VERB_QOS_BRIDGE_SETUP = 9,    /* a bridge's HTB hierarchy + u32 MAC table, ingress */
        NH_VERB_QOS_BRIDGE_TEARDOWN = 10, /* the bridge's qdiscs back to the defaults, IFB deleted */
        NH_VERB_QOS_FLOOR_ADD = 11,      /* class 1:ID + leaf + MAC filter; then 1:2's new rate */
        NH_VERB_QOS_FLOOR_REMOVE = 12,   /* filter, leaf, class 1:ID gone; then 1:2's new rate */
        NH_VERB_QOS_DEFAULT_RATE = 13,   /* change class 1:2 */
        NH_VERB_SCOPE_CREATE = 14,       /* a child process of the caller into a new transient scope */
        _NH_VERB_MAX,
} NhVerb;

typedef enum NhAttr {
        NH_ATTR_UNSPEC = 0,
        NH_ATTR_IFNAME = 1,           /* string, NUL included, 1..15 chars */
        NH_ATTR_MAC = 2,              /* 6 bytes */
        NH_ATTR_MTU = 3,              /* u32, 68..65535 */
        NH_ATTR_STP = 4,              /* u8 0/1 */
        NH_ATTR_FORWARD_DELAY = 5,    /* u32 seconds, 0..30 */
        NH_ATTR_ADDRESS = 6,          /* NhAddress (20 bytes), repeated up to NH_ADDRESSES_MAX */
        NH_ATTR_BRIDGE = 7,           /* string: bridge to attach to */
        NH_ATTR_VNET_HDR = 8,         /* u8 0/1 */
        NH_ATTR_QUEUES = 9,           /* u32, 1..NH_QUEUES_MAX */
        NH_ATTR_LINK_KIND = 10,       /* u32 NhLinkKind */
        NH_ATTR_ERRNO = 11,           /* reply: u32 positive errno, 0 = success */
        NH_ATTR_ERROR = 12,           /* reply: string, human-readable reason (a warning if ERRNO is 0) */
        NH_ATTR_IFINDEX = 13,         /* reply: u32 */
        NH_ATTR_N_FDS = 14,           /* reply: u32, fds attached with SCM_RIGHTS */
        NH_ATTR_NOQUEUE = 15,         /* u8 0/1: replace the new device's root qdisc with noqueue */
        NH_ATTR_LOWER = 16,           /* string: the device a macvtap sits on */
        NH_ATTR_MACVTAP_MODE = 17,    /* u32 NhMacvtapMode */
        NH_ATTR_NOQUEUE_APPLIED = 18, /* reply: u8 0/1, present when NOQUEUE was requested */
        NH_ATTR_QOS_CAPS = 19,        /* reply: u32 QosCap bits */
        NH_ATTR_QOS_LEAF = 20,        /* u32 QosLeaf, default pfifo */
        NH_ATTR_QOS_SHAPE = 21,       /* QosHtbParams (40 bytes): class 1:1 of a device, 1:ID of a floor */
        NH_ATTR_QOS_POLICE = 22,      /* QosPoliceParams (24 bytes): ingress policing */
        NH_ATTR_QOS_IFB = 23,         /* QosHtbParams: ingress redirected to the device's IFB, shaped */
        NH_ATTR_QOS_ROOT = 24,        /* QosHtbParams: a bridge's class 1:1 */
        NH_ATTR_QOS_DEFAULT = 25,     /* QosHtbParams: a bridge's class 1:2 */
        NH_ATTR_CLASS_ID = 26,        /* u32 QOS_CLASS_ID_MIN..QOS_CLASS_ID_MAX */
        NH_ATTR_PID = 27,             /* u32 > 1 */
        NH_ATTR_UNIT = 28,            /* string: a unit name, see qemu_scope_name_valid() */
        NH_ATTR_MACHINE = 29,         /* string: a machine name, see machine_name_valid() */
        NH_ATTR_UUID = 30,            /* 16 bytes */
        _NH_ATTR_MAX,
} NhAttr;

typedef enum NhLinkKind {
        NH_LINK_BRIDGE = 1,
        NH_LINK_TAP = 2,
        NH_LINK_MACVTAP = 3,
        NH_LINK_IFB = 4, /* an IFB of ours ("vbifb…"), e.g. left behind by a crash */
        _NH_LINK_KIND_MAX,
} NhLinkKind;

/* libvirt's <source mode='…'/> names, in libvirt's order (not the kernel's MACVLAN_MODE_* bits). */
typedef enum NhMacvtapMode {
        NH_MACVTAP_MODE_VEPA = 1,
        NH_MACVTAP_MODE_BRIDGE = 2,
        NH_MACVTAP_MODE_PRIVATE = 3,
        NH_MACVTAP_MODE_PASSTHROUGH = 4, /* one guest per lower device; its MAC becomes the lower's */
        _NH_MACVTAP_MODE_MAX,
} NhMacvtapMode;

typedef struct NhAddress {
        uint8_t family; /* AF_INET / AF_INET6 */
        uint8_t prefixlen;
        uint8_t reserved[2];
        uint8_t address[16]; /* IPv4 in the first 4 bytes */
} NhAddress;

typedef struct NhBridgeCreate {
        char ifname[IFNAMSIZ];
        bool has_mac;
        uint8_t mac[6];
        uint32_t mtu; /* 0 = kernel default */
        bool stp;
        uint32_t forward_delay;
        NhAddress addresses[NH_ADDRESSES_MAX];
        size_t n_addresses;
} NhBridgeCreate;

typedef struct NhTapCreate {
        char ifname[IFNAMSIZ]; /* must start with "vnet" */
        bool has_mac;
        uint8_t mac[6];        /* host-side MAC */
        uint32_t mtu;          /* 0 = the bridge's / kernel default */
        bool vnet_hdr;
        uint32_t queues;       /* 1 = single queue; >1 = IFF_MULTI_QUEUE, one fd per queue */
        char bridge[IFNAMSIZ]; /* "" = do not attach */
        bool noqueue;          /* root qdisc noqueue once it is up (best effort, see NhReply) */
} NhTapCreate;

typedef struct NhMacvtapCreate {
        char ifname[IFNAMSIZ]; /* must start with "macvtap" */
        char lower[IFNAMSIZ];  /* must exist, be allowed by the ACL, not be a tap/macvtap/macvlan
                                * or a bridge virtbus manages */
        NhMacvtapMode mode;
        uint8_t mac[6];        /* the guest's MAC (required) */
        uint32_t mtu;          /* 0 = the lower device's */
        bool vnet_hdr;
        uint32_t queues;       /* the char device is opened once per queue */
        bool noqueue;
} NhMacvtapCreate;

typedef struct NhVhostOpen {
        uint32_t queues; /* one /dev/vhost-net fd per queue, 1..NH_QUEUES_MAX (required) */
} NhVhostOpen;

/* QOS_APPLY_INTERFACE: the complete shaping of a tap ("vnet…") or macvtap ("macvtap…"). What is
 * absent is removed: no SHAPE → root qdisc back to noqueue; neither POLICE nor IFB → no ingress
 * qdisc and no IFB. Present parts are created, or changed in place when they exist. */
typedef struct NhQosApplyInterface {
        char ifname[IFNAMSIZ];
        QosLeaf leaf;
        bool has_shape;
        QosHtbParams shape;     /* egress: "htb 1: default 1", class 1:1, leaf 2: */
        bool has_police;
        QosPoliceParams police; /* ingress: u32 match-all + police */
        bool has_ifb;
        QosHtbParams ifb;       /* ingress: u32 match-all + mirred to "vbifb<ifindex>", shaped there */
} NhQosApplyInterface;

/* QOS_CLEAR_INTERFACE, QOS_BRIDGE_TEARDOWN */
typedef struct NhQosClear {
        char ifname[IFNAMSIZ];
} NhQosClear;

/* QOS_BRIDGE_SETUP: a bridge virtbus manages or the ACL allows. ROOT and DEFAULT come together
 * (the hierarchy: "htb 1: default 2", 1:1, 1:2 + leaf 2:, the u32 MAC table); POLICE or IFB for
 * the network's outbound bandwidth. Absent parts are removed, existing floor classes are kept. */
typedef struct NhQosBridgeSetup {
        char ifname[IFNAMSIZ];
        QosLeaf leaf;
        bool has_hierarchy;
        QosHtbParams root;
        QosHtbParams def;
        bool has_police;
        QosPoliceParams police;
        bool has_ifb;
        QosHtbParams ifb;
} NhQosBridgeSetup;

/* QOS_FLOOR_ADD, QOS_FLOOR_REMOVE, QOS_DEFAULT_RATE on a bridge set up with a hierarchy. */
typedef struct NhQosFloor {
        char ifname[IFNAMSIZ];
        uint32_t class_id;   /* FLOOR_ADD/REMOVE: QOS_CLASS_ID_MIN..QOS_CLASS_ID_MAX */
        QosLeaf leaf;        /* FLOOR_ADD */
        QosHtbParams shape;  /* FLOOR_ADD: class 1:ID (parent 1:1) */
        uint8_t mac[6];      /* FLOOR_ADD: the guest's MAC; its frames go to 1:ID */
        bool has_default;    /* required for DEFAULT_RATE */
        QosHtbParams def;    /* class 1:2, changed after the floor class is added / removed */
} NhQosFloor;

typedef struct NhLinkDelete {
        char ifname[IFNAMSIZ];
        NhLinkKind kind;
} NhLinkDelete;

/* SCOPE_CREATE: on a systemd host, QEMU must leave virtbusd.service's cgroup, or a restart of the
 * service kills every guest. The helper asks systemd for a transient scope in machine.slice
 * holding pid, which must be a child of the caller running as the caller's user. */
typedef struct NhScopeCreate {
        uint32_t pid;
        char unit[UNIT_NAME_MAX + 1];
        /* Optional: also register the guest with systemd-machined (when it is installed) under
         * this name and UUID, for machinectl. */
        char machine[MACHINE_NAME_MAX + 1]; /* "" = do not register */
        uint8_t uuid[16];
} NhScopeCreate;

typedef struct NhRequest {
        NhVerb verb;
        uint32_t seq;
        union {
                NhBridgeCreate bridge_create;
                NhTapCreate tap_create;
                NhLinkDelete link_delete;
                NhMacvtapCreate macvtap_create;
                NhVhostOpen vhost_open;
                NhQosApplyInterface qos_apply;
                NhQosClear qos_clear;
                NhQosBridgeSetup qos_bridge;
                NhQosFloor qos_floor;
                NhScopeCreate scope_create;
        };
} NhRequest;

typedef struct NhReply {
        uint32_t seq;
        uint32_t error; /* positive errno; 0 = success */
        char message[NH_ERROR_MESSAGE_MAX];
        uint32_t ifindex;
        uint32_t n_fds;
        /* Set when NOQUEUE was requested and the device was created. noqueue is an optimisation:
         * when the kernel refuses it the request still succeeds, with noqueue_applied false and
         * the reason in message (a warning with error 0). */
        bool has_noqueue_applied;
        bool noqueue_applied;
        bool has_qos_caps; /* QOS_PROBE */
        uint32_t qos_caps;
} NhReply;

/* Encode into buf (size bytes); returns the length or -EMSGSIZE/-EINVAL. */
int nh_request_encode(const NhRequest *req, uint8_t *buf, size_t size);
/* Decode and validate. On error returns -EBADMSG (malformed), -EPROTO (bad magic/version),
 * -EMSGSIZE (too large), -EOPNOTSUPP (unknown verb) or -EINVAL (out of range values), and
 * writes a reason into err[err_size]. ret->seq is filled whenever the header was readable,
 * so the error reply can carry it. */
int nh_request_decode(const uint8_t *buf, size_t len, NhRequest *ret, char *err, size_t err_size);

int nh_reply_encode(const NhReply *reply, uint8_t *buf, size_t size);
int nh_reply_decode(const uint8_t *buf, size_t len, NhReply *ret, char *err, size_t err_size);

const char *nh_verb_to_string(NhVerb v);
/* "vepa", "bridge", "private", "passthrough" (libvirt's names); NULL when out of range. */
const char *nh_macvtap_mode_to_string(NhMacvtapMode m);

/* Client side: connect to the helper socket, send req, wait (at most timeout_ms) for the reply,
 * take up to max_fds fds. Returns 0 when the helper answered (reply->error may still be set),
 * or -errno when it could not be reached or answered garbage. A reply with seq 0 and an error
 * is the helper refusing the connection itself (peer uid not allowed, too many connections),
 * sent before any request was read; nh_call() takes it as the answer. */
int nh_call(const char *socket_path, const NhRequest *req, int timeout_ms, NhReply *reply, int *fds,
            size_t max_fds, size_t *n_fds);
