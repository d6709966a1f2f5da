/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Kernel network device operations through libnl-route-3 (rtnetlink) and, for taps,
 * /dev/net/tun, /dev/tapN and /dev/vhost-net. Lookups work unprivileged (the daemon uses them);
 * changes need CAP_NET_ADMIN (only the helper calls them). All functions return 0 or -errno. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "ether.h"

/* Bridges created by virtbus carry this IFLA_IFALIAS so that a stateless helper can tell
 * them from bridges it must not delete. */
#define NETDEV_VIRTBUS_ALIAS "virtbus-managed"

typedef struct NetdevLink {
        int ifindex;
        char name[16];
        char kind[16];    /* "bridge", "tun", "macvtap", "veth", … ("" when none) */
        EtherAddr mac;
        uint32_t mtu;
        bool up;          /* IFF_UP */
        int master;       /* ifindex of the master (bridge), 0 when none */
        char alias[64];   /* IFLA_IFALIAS, "" when none */
        unsigned arptype; /* ARPHRD_ETHER, ARPHRD_LOOPBACK, … */
} NetdevLink;

/* A macvtap or macvlan link, as the kernel reports it. */
typedef struct NetdevMacvlan {
        int ifindex;
        char name[16];
        char kind[16];  /* "macvtap" or "macvlan" */
        uint32_t mode;  /* MACVLAN_MODE_* (linux/if_link.h) */
        int lower;      /* ifindex of the lower device (IFLA_LINK) */
        EtherAddr mac;
} NetdevMacvlan;

#define NETDEV_QDISC_KIND_MAX 16
#define NETDEV_VHOST_NET_PATH "/dev/vhost-net"

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
/* -EMEDIUMTYPE when ifname is neither a macvtap nor a macvlan. */
int netdev_macvlan_get(const char *ifname, NetdevMacvlan *ret);
/* The macvtap and macvlan links of this namespace sitting on lower_ifindex; *ret is malloc'ed. */
int netdev_macvlan_uppers(int lower_ifindex, NetdevMacvlan **ret, size_t *ret_n);
/* The kind of a link's root qdisc ("noqueue", "pfifo_fast", "mq", "htb", …); -ENOENT when the
 * kernel reports none. */
int netdev_qdisc_get_root_kind(int ifindex, char kind[static NETDEV_QDISC_KIND_MAX]);
/* The macvtap's character device number, from /sys/class/net/IFNAME/macvtap/tapIFINDEX/dev.
 * sysfs shows the network namespace it was mounted in. */
int netdev_macvtap_devnum(const char *ifname, int ifindex, dev_t *ret);

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
/* Replace the root qdisc with noqueue (RTM_NEWQDISC, NLM_F_CREATE|NLM_F_REPLACE). */
int netdev_qdisc_set_root_noqueue(int ifindex);
/* A macvtap on lower_ifindex in MACVLAN_MODE_* mode, with mac and (if not 0) mtu; it stays down.
 * -EEXIST if a link of that name exists. In passthrough mode the kernel gives it the lower
 * device's MAC instead of mac. */
int netdev_macvtap_create(const char *ifname, int lower_ifindex, uint32_t mode, const EtherAddr *mac,
                          uint32_t mtu);
/* Open /dev/tapIFINDEX `queues` times (one queue each) and set IFF_TAP|IFF_NO_PI[|IFF_VNET_HDR]
 * [|IFF_MULTI_QUEUE] on every fd. Waits up to a second for the node; if it never appears and
 * may_mknod, creates it from devnum for as long as it takes to open it, else -ENOENT. A node
 * that is not the character device devnum is never opened: -EMEDIUMTYPE. */
int netdev_macvtap_open(int ifindex, dev_t devnum, unsigned queues, bool vnet_hdr, bool may_mknod, int *fds);
/* Open /dev/vhost-net `queues` times. -ENOENT when it does not exist, -EMEDIUMTYPE when it is not
 * the vhost-net character device. */
int netdev_vhost_open(unsigned queues, int *fds);
