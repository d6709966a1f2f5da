/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Kernel network device operations through libnl-route-3 (rtnetlink) and, for taps,
 * /dev/net/tun. Lookups work unprivileged (the daemon uses them); changes need
 * CAP_NET_ADMIN (only the helper calls them). All functions return 0 or -errno. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ether.h"

/* Bridges created by virtbus carry this IFLA_IFALIAS so that a stateless helper can tell
 * them from bridges it must not delete. */
#define NETDEV_VIRTBUS_ALIAS "virtbus-managed"

typedef struct NetdevLink {
        int ifindex;
        char name[16];
        char kind[16];   /* "bridge", "tun", "macvtap", "veth", … ("" when none) */
        EtherAddr mac;
        uint32_t mtu;
        bool up;         /* IFF_UP */
        int master;      /* ifindex of the master (bridge), 0 when none */
        char alias[64];  /* IFLA_IFALIAS, "" when none */
} NetdevLink;

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
 * fds[] receives one fd per queue. Fails with -EEXIST if a link of that name exists. */
int netdev_tap_create(const char *ifname, bool vnet_hdr, unsigned queues, int *fds);
