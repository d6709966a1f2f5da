/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The network XML model (libvirt's format, the subset in design/networking.md): parse, validate,
 * format. Pure: no I/O, no randomness except in network_def_fill_defaults(). */

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include "bandwidth.h"
#include "bitmap.h"
#include "ether.h"
#include "macro.h"
#include "uuid-util.h"

#define NETWORK_NAME_MAX 50
#define NETWORK_IPS_MAX 16

typedef enum NetworkForwardMode {
        NETWORK_FORWARD_NONE,   /* isolated: we create the bridge */
        NETWORK_FORWARD_BRIDGE, /* attach to an existing bridge, never create/delete it */
        _NETWORK_FORWARD_MAX,
} NetworkForwardMode;

typedef struct NetworkIP {
        int family; /* AF_INET or AF_INET6 */
        union {
                struct in_addr in;
                struct in6_addr in6;
        } address;
        unsigned prefix;
        bool netmask_given; /* formatted back as netmask='…' (IPv4) instead of prefix='…' */
} NetworkIP;

typedef struct NetworkDef {
        char *name;
        Uuid uuid;
        bool has_uuid;
        char *bridge;      /* NULL: to be picked by the driver (virbrN) */
        int stp;           /* -1 unset (libvirt default on), 0 off, 1 on */
        int delay;         /* forward delay in seconds, -1 unset (0) */
        EtherAddr mac;
        bool has_mac;
        uint32_t mtu;      /* 0: unset */
        NetworkForwardMode forward;
        NetworkIP ips[NETWORK_IPS_MAX];
        size_t n_ips;
        Bandwidth bandwidth;
} NetworkDef;

/* Parse + validate. On failure returns a negative errno and sets *ret_error to a message in
 * libvirt's style, complete and ready for a user:
 *   -EBADMSG     "XML error: …"             (malformed document, bad values)
 *   -EOPNOTSUPP  "unsupported configuration: …" (valid libvirt XML that virtbus cannot do)
 * Elements and attributes virtbus does not know are rejected with a message naming them. */
int network_def_parse(const char *xml, NetworkDef **ret, char **ret_error);

/* Canonical libvirt-style XML (2-space indent, single quotes, trailing newline). */
char *network_def_format(const NetworkDef *def);

/* Generate what the user left out and libvirt generates at define time: UUID, bridge MAC. */
int network_def_fill_defaults(NetworkDef *def);

NetworkDef *network_def_free(NetworkDef *def);
DEFINE_TRIVIAL_CLEANUP_FUNC(NetworkDef *, network_def_free);

bool network_name_valid(const char *name);

const char *network_forward_mode_to_string(NetworkForwardMode m);

/* The runtime status of an active network, $STATE_DIRECTORY/network/NAME.status.xml:
 * the live definition plus what the driver did (did it create the bridge?) and the QoS floor
 * bookkeeping, in libvirt's format:
 *
 *   <networkstatus bridgeCreated='yes'>
 *     <class_id bitmap='0-2,5'/>      the HTB class ids in use on the bridge (0-2 always are)
 *     <floor sum='1500'/>             the floors plugged, KiB/s
 *     <network>…</network>
 *   </networkstatus>
 *
 * Both QoS elements are optional when parsing (a status file from before floors existed means
 * nothing is allocated) and always written. */
typedef struct NetworkStatus {
        NetworkDef *def;
        bool bridge_created;
        ClassIdBitmap class_ids;
        uint64_t floor_sum;
} NetworkStatus;

int network_status_parse(const char *xml, NetworkStatus **ret, char **ret_error);
char *network_status_format(const NetworkStatus *st);
NetworkStatus *network_status_free(NetworkStatus *st);
DEFINE_TRIVIAL_CLEANUP_FUNC(NetworkStatus *, network_status_free);
