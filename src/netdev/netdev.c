/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Links, addresses, qdiscs, taps and macvtaps through libnl-route-3, and the character devices
 * /dev/net/tun, /dev/tapN and /dev/vhost-net. Each call opens its own
 * rtnetlink socket: calls are rare (one per device change), and a private socket means no
 * shared state, no sequence-number confusion and nothing to reconnect. */

#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/pkt_sched.h>
#include <net/if.h>
#include <netlink/netlink.h>
#include <netlink/route/addr.h>
#include <netlink/route/link.h>
#include <netlink/route/link/macvlan.h>
#include <netlink/route/link/macvtap.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/tc.h>
#include <netlink/route/class.h>
#include <netlink/route/classifier.h>
#include <netlink/route/action.h>
#include <netlink/route/act/mirred.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/link/veth.h>
#include <netlink/route/qdisc/fifo.h>
#include <netlink/route/qdisc/htb.h>
#include <netlink/route/qdisc/sfq.h>
#include <linux/gen_stats.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/pkt_cls.h>
#include <linux/filter.h>
#include <linux/tc_act/tc_mirred.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "fileio.h"
#include "ifname.h"
#include "macro.h"
#include "netdev.h"

/* The misc device numbers the kernel reserves for vhost-net (admin-guide/devices.txt). */
#define VHOST_NET_MAJOR 10
#define VHOST_NET_MINOR 238
/* How long to wait for udev to create /dev/tapN (devtmpfs has it before RTM_NEWLINK returns). */
#define MACVTAP_NODE_WAIT_MS 1000
#define MACVTAP_NODE_POLL_MS 10

typedef struct Rtnl {
        struct nl_sock *sk;
        int syserr; /* the kernel's errno from the last NLMSG_ERROR, 0 when none */
} Rtnl;

DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_link *, rtnl_link_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_addr *, rtnl_addr_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_addr *, nl_addr_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_cache *, nl_cache_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_msg *, nlmsg_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct nl_cb *, nl_cb_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_qdisc *, rtnl_qdisc_put);

static void rtnl_close(Rtnl *n) {
        if (n->sk)
                nl_socket_free(n->sk);
        n->sk = NULL;
}

/* libnl folds kernel errors into its own codes (ENODEV and ENOENT both become
 * NLE_OBJ_NOTFOUND, ...); keep the kernel's errno for callers and their messages. */
static int error_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *userdata) {
        int *syserr = userdata;

        *syserr = e->error < 0 ? -e->error : e->error;
        return NL_STOP;
}

static int nlerr_to_errno(int nlerr) {
        static const int table[] = {
                [NLE_FAILURE] = EIO,
                [NLE_INTR] = EINTR,
                [NLE_BAD_SOCK] = EBADF,
                [NLE_AGAIN] = EAGAIN,
                [NLE_NOMEM] = ENOMEM,
                [NLE_EXIST] = EEXIST,
                [NLE_INVAL] = EINVAL,
                [NLE_RANGE] = ERANGE,
                [NLE_MSGSIZE] = EMSGSIZE,
                [NLE_OPNOTSUPP] = EOPNOTSUPP,
                [NLE_AF_NOSUPPORT] = EAFNOSUPPORT,
                [NLE_OBJ_NOTFOUND] = ENODEV,
                [NLE_NOADDR] = EADDRNOTAVAIL,
                [NLE_MSG_TRUNC] = EMSGSIZE,
                [NLE_BUSY] = EBUSY,
                [NLE_NOACCESS] = EACCES,
                [NLE_PERM] = EPERM,
                [NLE_NODEV] = ENODEV,
        };
        int e = nlerr < 0 ? -nlerr : nlerr;

        if (e == 0)
                return 0;
        if ((size_t) e < ELEMENTSOF(table) && table[e] != 0)
                return -table[e];
        return -EIO;
}

static int rtnl_result(Rtnl *n, int nlerr) {
        int syserr = n->syserr;

        n->syserr = 0;
        if (nlerr >= 0)
                return 0;
        if (syserr > 0)
                return -syserr;
        return nlerr_to_errno(nlerr);
}

static int rtnl_open(Rtnl *n) {
        int r;

        *n = (Rtnl) {};
        n->sk = nl_socket_alloc();
        if (!n->sk)
                return -ENOMEM;
        r = nl_connect(n->sk, NETLINK_ROUTE);
        if (r < 0) {
                rtnl_close(n);
                return nlerr_to_errno(r);
        }
        r = nl_socket_modify_err_cb(n->sk, NL_CB_CUSTOM, error_cb, &n->syserr);
        if (r < 0) {
                rtnl_close(n);
                return nlerr_to_errno(r);
        }
        return 0;
}

static int get_link(Rtnl *n, int ifindex, const char *ifname, struct rtnl_link **ret) {
        int r;

        r = rtnl_link_get_kernel(n->sk, ifindex, ifname, ret);
        return rtnl_result(n, r);
}

int netdev_link_lookup(const char *ifname, NetdevLink *ret) {
        _cleanup_(rtnl_close) Rtnl n = {};
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;
        struct nl_addr *addr;
        const char *s;
        NetdevLink l = {};
        int r;

        if (!ifname_valid(ifname))
                return -EINVAL;
        r = rtnl_open(&n);
        if (r < 0)
                return r;
        r = get_link(&n, 0, ifname, &link);
        if (r < 0)
                return r;

        l.ifindex = rtnl_link_get_ifindex(link);
        snprintf(l.name, sizeof l.name, "%s", strempty(rtnl_link_get_name(link)));
        snprintf(l.kind, sizeof l.kind, "%s", strempty(rtnl_link_get_type(link)));
        addr = rtnl_link_get_addr(link);
        if (addr && nl_addr_get_len(addr) == sizeof l.mac.bytes)
                memcpy(l.mac.bytes, nl_addr_get_binary_addr(addr), sizeof l.mac.bytes);
        l.mtu = rtnl_link_get_mtu(link);
        l.up = rtnl_link_get_flags(link) & IFF_UP;
        l.master = rtnl_link_get_master(link);
        s = rtnl_link_get_ifalias(link);
        snprintf(l.alias, sizeof l.alias, "%s", strempty(s));
        l.arptype = rtnl_link_get_arptype(link);

        if (ret)
                *ret = l;
        return 0;
}

bool netdev_link_exists(const char *ifname) {
        return netdev_link_lookup(ifname, NULL) >= 0;
}

int netdev_link_addresses(int ifindex, NetdevAddress **ret, size_t *ret_n) {
        _cleanup_(rtnl_close) Rtnl n = {};
        _cleanup_(nl_cache_freep) struct nl_cache *cache = NULL;
        _cleanup_free_ NetdevAddress *list = NULL;
        size_t count = 0;
        int r;

        if (ifindex <= 0 || !ret || !ret_n)
                return -EINVAL;
        r = rtnl_open(&n);
        if (r < 0)
                return r;
        r = rtnl_addr_alloc_cache(n.sk, &cache);
        r = rtnl_result(&n, r);
        if (r < 0)
                return r;

        for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
                struct rtnl_addr *a = (struct rtnl_addr *) o;
                struct nl_addr *local = rtnl_addr_get_local(a);
                NetdevAddress *nl;
                unsigned len;

                if (rtnl_addr_get_ifindex(a) != ifindex || !local)
                        continue;
                len = nl_addr_get_len(local);
                if (len > sizeof nl->address)
                        continue;
                nl = reallocarray(list, count + 1, sizeof *list);
                if (!nl)
                        return -ENOMEM;
                list = nl;
                list[count] = (NetdevAddress) {
                        .family = rtnl_addr_get_family(a),
                        .prefixlen = rtnl_addr_get_prefixlen(a),
                };
                memcpy(list[count].address, nl_addr_get_binary_addr(local), len);
                count++;
        }

        *ret = TAKE_PTR(list);
        *ret_n = count;
        return 0;
}

static int bridge_info_cb(struct nl_msg *msg, void *userdata) {
        static struct nla_policy info_policy[IFLA_INFO_MAX + 1] = {
                [IFLA_INFO_KIND] = { .type = NLA_STRING },
                [IFLA_INFO_DATA] = { .type = NLA_NESTED },
        };
        static struct nla_policy br_policy[IFLA_BR_MAX + 1] = {
                [IFLA_BR_FORWARD_DELAY] = { .type = NLA_U32 },
                [IFLA_BR_STP_STATE] = { .type = NLA_U32 },
        };
        struct nlattr *tb[IFLA_MAX + 1], *li[IFLA_INFO_MAX + 1], *br[IFLA_BR_MAX + 1];
        int64_t *out = userdata; /* [0] = stp, [1] = forward delay in clock_t; -1 = unknown */

        if (nlmsg_hdr(msg)->nlmsg_type != RTM_NEWLINK)
                return NL_SKIP;
        if (nlmsg_parse(nlmsg_hdr(msg), sizeof(struct ifinfomsg), tb, IFLA_MAX, NULL) < 0 ||
            !tb[IFLA_LINKINFO])
                return NL_SKIP;
        if (nla_parse_nested(li, IFLA_INFO_MAX, tb[IFLA_LINKINFO], info_policy) < 0 || !li[IFLA_INFO_KIND] ||
            !streq(nla_get_string(li[IFLA_INFO_KIND]), "bridge") || !li[IFLA_INFO_DATA])
                return NL_SKIP;
        if (nla_parse_nested(br, IFLA_BR_MAX, li[IFLA_INFO_DATA], br_policy) < 0)
                return NL_SKIP;
        if (br[IFLA_BR_STP_STATE])
                out[0] = nla_get_u32(br[IFLA_BR_STP_STATE]);
        if (br[IFLA_BR_FORWARD_DELAY])
                out[1] = nla_get_u32(br[IFLA_BR_FORWARD_DELAY]);
        return NL_OK;
}

static long clock_ticks(void) {
        long t = sysconf(_SC_CLK_TCK); /* the kernel's USER_HZ, the unit of IFLA_BR_*_DELAY */
        return t > 0 ? t : 100;
}

int netdev_bridge_get(const char *ifname, bool *ret_stp, uint32_t *ret_forward_delay) {
        _cleanup_(rtnl_close) Rtnl n = {};
        _cleanup_(nlmsg_freep) struct nl_msg *msg = NULL;
        _cleanup_(nl_cb_putp) struct nl_cb *socket_cb = NULL, *cb = NULL;
        int64_t info[2] = { -1, -1 };
        int r;

        if (!ifname_valid(ifname))
                return -EINVAL;
        r = rtnl_open(&n);
        if (r < 0)
                return r;
        /* libnl 3.7 does not parse the bridge's IFLA_INFO_DATA: read the raw answer. */
        r = rtnl_link_build_get_request(0, ifname, &msg);
        if (r < 0)
                return nlerr_to_errno(r);
        r = nl_send_auto(n.sk, msg);
        if (r < 0)
                return nlerr_to_errno(r);
        socket_cb = nl_socket_get_cb(n.sk); /* carries error_cb */
        cb = socket_cb ? nl_cb_clone(socket_cb) : NULL;
        if (!cb)
                return -ENOMEM;
        r = nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, bridge_info_cb, info);
        if (r < 0)
                return nlerr_to_errno(r);
        r = nl_recvmsgs(n.sk, cb);
        r = rtnl_result(&n, r);
        if (r < 0)
                return r;
        r = nl_wait_for_ack(n.sk);
        r = rtnl_result(&n, r);
        if (r < 0)
                return r;

        if (info[0] < 0 || info[1] < 0)
                return -EMEDIUMTYPE; /* not a bridge */
        if (ret_stp)
                *ret_stp = info[0] != 0;
        if (ret_forward_delay)
                *ret_forward_delay = (uint32_t) (info[1] / clock_ticks());
        return 0;
}

static int link_change(Rtnl *n, int ifindex, struct rtnl_link *changes) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *orig = NULL;
        int r;

        orig = rtnl_link_alloc();
        if (!orig)
                return -ENOMEM;
        rtnl_link_set_ifindex(orig, ifindex);
        r = rtnl_link_change(n->sk, orig, changes, 0);
        return rtnl_result(n, r);
}

static int link_set_alias(Rtnl *n, int ifindex, const char *alias) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *changes = NULL;

        changes = rtnl_link_alloc();
        if (!changes)
                return -ENOMEM;
        rtnl_link_set_ifalias(changes, alias);
        return link_change(n, ifindex, changes);
}

/* Marks the link just created as ours. IFLA_IFALIAS is ignored on creation, so the marker is a
 * second step; a link that cannot be marked must not survive, or nobody could ever delete it
 * through us (and it could not be told from one someone else named like ours). */
static int mark_created_link(Rtnl *n, const char *ifname) {
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;
        int r, ifindex;

        r = get_link(n, 0, ifname, &link);
        if (r < 0)
                return r;
        ifindex = rtnl_link_get_ifindex(link);
        r = link_set_alias(n, ifindex, NETDEV_VIRTBUS_ALIAS);
        if (r < 0) {
                _cleanup_(rtnl_link_putp) struct rtnl_link *del = rtnl_link_alloc();

                if (del) {
                        rtnl_link_set_ifindex(del, ifindex);
                        (void) rtnl_link_delete(n->sk, del);
                }
                return r;
        }
        return 0;
}

int netdev_bridge_create(const char *ifname, const EtherAddr *mac, uint32_t mtu, bool stp,
                         uint32_t forward_delay) {
        _cleanup_(rtnl_close) Rtnl n = {};
        struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
        struct nl_msg *msg;
        struct nlattr *linkinfo, *data;
        int r;

        if (!ifname_valid(ifname))
                return -EINVAL;
        r = rtnl_open(&n);
        if (r < 0)
                return r;

        /* libnl 3.7 has no setters for IFLA_BR_*: build the RTM_NEWLINK by hand. NLM_F_EXCL makes
         * the kernel refuse an existing name, so we can never "create" someone else's bridge. */
        msg = nlmsg_alloc_simple(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        if (!msg)
                return -ENOMEM;
        if (nlmsg_append(msg, &ifi, sizeof ifi, NLMSG_ALIGNTO) < 0 ||
            nla_put_string(msg, IFLA_IFNAME, ifname) < 0 ||
            (mac && nla_put(msg, IFLA_ADDRESS, sizeof mac->bytes, mac->bytes) < 0) ||
            (mtu > 0 && nla_put_u32(msg, IFLA_MTU, mtu) < 0))
                goto overflow;
        linkinfo = nla_nest_start(msg, IFLA_LINKINFO);
        if (!linkinfo || nla_put_string(msg, IFLA_INFO_KIND, "bridge") < 0)
                goto overflow;
        data = nla_nest_start(msg, IFLA_INFO_DATA);
        /* The kernel applies FORWARD_DELAY before STP_STATE; with STP on it clamps the delay to
         * the 802.1D range 2..30 s. */
        if (!data || nla_put_u32(msg, IFLA_BR_FORWARD_DELAY, forward_delay * clock_ticks()) < 0 ||
            nla_put_u32(msg, IFLA_BR_STP_STATE, stp) < 0)
                goto overflow;
        nla_nest_end(msg, data);
        nla_nest_end(msg, linkinfo);

        r = nl_send_sync(n.sk, msg); /* frees msg */
        r = rtnl_result(&n, r);
        if (r < 0)
                return r;

        return mark_created_link(&n, ifname);

overflow:
        nlmsg_free(msg);
        return -EMSGSIZE;
}

int netdev_address_add(int ifindex, const NetdevAddress *a) {
        _cleanup_(rtnl_close) Rtnl n = {};
        _cleanup_(rtnl_addr_putp) struct rtnl_addr *addr = NULL;
        _cleanup_(nl_addr_putp) struct nl_addr *local = NULL, *brd = NULL;
        size_t len;
        int r;

        if (ifindex <= 0 || !a)
                return -EINVAL;
        if (a->family == AF_INET && a->prefixlen <= 32)
                len = 4;
        else if (a->family == AF_INET6 && a->prefixlen <= 128)
                len = 16;
        else
                return -EINVAL;

        r = rtnl_open(&n);
        if (r < 0)
                return r;
        addr = rtnl_addr_alloc();
        local = nl_addr_build(a->family, a->address, len);
        if (!addr || !local)
                return -ENOMEM;
        nl_addr_set_prefixlen(local, a->prefixlen);
        rtnl_addr_set_ifindex(addr, ifindex);
        rtnl_addr_set_family(addr, a->family);
        r = rtnl_addr_set_local(addr, local);
        if (r < 0)
                return nlerr_to_errno(r);

        /* Like libvirt (and `ip addr add … brd +`): IPv4 networks get their broadcast address. */
        if (a->family == AF_INET && a->prefixlen < 31) {
                uint8_t b[4];
                uint32_t v, mask = a->prefixlen == 0 ? 0 : UINT32_MAX << (32 - a->prefixlen);

                v = (uint32_t) a->address[0] << 24 | (uint32_t) a->address[1] << 16 |
                    (uint32_t) a->address[2] << 8 | a->address[3];
                v |= ~mask;
                b[0] = v >> 24, b[1] = v >> 16, b[2] = v >> 8, b[3] = v;
                brd = nl_addr_build(AF_INET, b, sizeof b);
                if (!brd)
                        return -ENOMEM;
                r = rtnl_addr_set_broadcast(addr, brd);
                if (r < 0)
                        return nlerr_to_errno(r);
        }

        r = rtnl_addr_add(n.sk, addr, NLM_F_EXCL);
        return rtnl_result(&n, r);
}

int netdev_link_set_up(int ifindex) {
        _cleanup_(rtnl_close) Rtnl n = {};
        _cleanup_(rtnl_link_putp) struct rtnl_link *changes = NULL;
        int r;

        if (ifindex <= 0)
                return -EINVAL;
        r = rtnl_open(&n);
        if (r < 0)
                return r;
        changes = rtnl_link_alloc();
        if (!changes)
                return -ENOMEM;
        rtnl_link_set_flags(changes, IFF_UP);
        return link_change(&n, ifindex, changes);
}

int netdev_link_set_master(int ifindex, int master_ifindex) {
        _cleanup_(rtnl_close) Rtnl n = {};
        _cleanup_(rtnl_link_putp) struct rtnl_link *changes = NULL;
        int r;

        if (ifindex <= 0 || master_ifindex < 0)
                return -EINVAL;
        r = rtnl_open(&n);
        if (r < 0)
                return r;
        changes = rtnl_link_alloc();
        if (!changes)
                return -ENOMEM;
        rtnl_link_set_master(changes, master_ifindex);
        return link_change(&n, ifindex, changes);
}

int netdev_link_set_mac(int ifindex, const EtherAddr *mac) {
        _cleanup_(rtnl_close) Rtnl n = {};
        _cleanup_(rtnl_link_putp) struct rtnl_link *changes = NULL;
        _cleanup_(nl_addr_putp) struct nl_addr *addr = NULL;
        int r;

        if (ifindex <= 0 || !mac)
                return -EINVAL;
        r = rtnl_open(&n);
        if (r < 0)
                return r;
        changes = rtnl_link_alloc();
        addr = nl_addr_build(AF_LLC, mac->bytes, sizeof mac->bytes);
        if (!changes || !addr)
                return -ENOMEM;
        rtnl_link_set_addr(changes, addr);
        return link_change(&n, ifindex, changes);
}

int netdev_link_set_mtu(int ifindex, uint32_t mtu) {
        _cleanup_(rtnl_close) Rtnl n = {};
        _cleanup_(rtnl_link_putp) struct rtnl_link *changes = NULL;
        int r;

        if (ifindex <= 0 || mtu == 0)
                return -EINVAL;
        r = rtnl_open(&n);
        if (r < 0)
                return r;
        changes = rtnl_link_alloc();
        if (!changes)
                return -ENOMEM;
        rtnl_link_set_mtu(changes, mtu);
        return link_change(&n, ifindex, changes);
}

int netdev_link_delete(int ifindex) {
        _cleanup_(rtnl_close) Rtnl n = {};
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;
        int r;

        if (ifindex <= 0)
                return -EINVAL;
        r = rtnl_open(&n);
        if (r < 0)
                return r;
        link = rtnl_link_alloc();
        if (!link)
                return -ENOMEM;
        rtnl_link_set_ifindex(link, ifindex);
        r = rtnl_link_delete(n.sk, link);
        return rtnl_result(&n, r);
}

int netdev_tap_create(const char *ifname, bool vnet_hdr, unsigned queues, int *fds, bool *ret_open_failed) {
        struct ifreq ifr = {};
        unsigned opened = 0;
        int r;

        *ret_open_failed = false;
        if (!ifname_valid(ifname) || queues == 0 || !fds)
                return -EINVAL;
        /* TUNSETIFF on an existing persistent tap attaches to it instead of failing: refuse
         * names in use so that a request can never hijack someone else's device. */
        r = netdev_link_lookup(ifname, NULL);
        if (r >= 0)
                return -EEXIST;
        if (r != -ENODEV)
                return r;

        ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
        if (vnet_hdr)
                ifr.ifr_flags |= IFF_VNET_HDR;
        if (queues > 1)
                ifr.ifr_flags |= IFF_MULTI_QUEUE;
        strncpy(ifr.ifr_name, ifname, sizeof ifr.ifr_name - 1);

        for (; opened < queues; opened++) {
                _cleanup_close_ int fd = -EBADF;
                struct ifreq q = ifr;

                fd = open(NETDEV_TUN_PATH, O_RDWR | O_CLOEXEC | O_NOCTTY);
                if (fd < 0) {
                        r = -errno;
                        *ret_open_failed = true;
                        goto fail;
                }
                if (ioctl(fd, TUNSETIFF, &q) < 0) {
                        r = -errno;
                        goto fail;
                }
                fds[opened] = TAKE_FD(fd);
        }
        return 0;

fail:
        /* The tap is not persistent: closing every queue makes the kernel remove it. */
        for (unsigned i = 0; i < opened; i++)
                fds[i] = safe_close(fds[i]);
        return r;
}

/* libnl's macvtap/macvlan getters abort on other links: check the kind first. */
static bool link_to_macvlan(struct rtnl_link *link, NetdevMacvlan *ret) {
        NetdevMacvlan m = {};
        struct nl_addr *addr;

        if (rtnl_link_is_macvtap(link)) {
                snprintf(m.kind, sizeof m.kind, "macvtap");
                m.mode = rtnl_link_macvtap_get_mode(link);
        } else if (rtnl_link_is_macvlan(link)) {
                snprintf(m.kind, sizeof m.kind, "macvlan");
                m.mode = rtnl_link_macvlan_get_mode(link);
        } else
                return false;

        m.ifindex = rtnl_link_get_ifindex(link);
        snprintf(m.name, sizeof m.name, "%s", strempty(rtnl_link_get_name(link)));
        m.lower = rtnl_link_get_link(link);
        addr = rtnl_link_get_addr(link);
        if (addr && nl_addr_get_len(addr) == sizeof m.mac.bytes)
                memcpy(m.mac.bytes, nl_addr_get_binary_addr(addr), sizeof m.mac.bytes);
        *ret = m;
        return true;
}

int netdev_macvlan_get(const char *ifname, NetdevMacvlan *ret) {
        _cleanup_(rtnl_close) Rtnl n = {};
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;
        NetdevMacvlan m;
        int r;

        if (!ifname_valid(ifname))
                return -EINVAL;
        r = rtnl_open(&n);
        if (r < 0)
                return r;
        r = get_link(&n, 0, ifname, &link);
        if (r < 0)
                return r;
        if (!link_to_macvlan(link, &m))
                return -EMEDIUMTYPE;
        if (ret)
                *ret = m;
        return 0;
}

int netdev_macvlan_uppers(int lower_ifindex, NetdevMacvlan **ret, size_t *ret_n) {
        _cleanup_(rtnl_close) Rtnl n = {};
        _cleanup_(nl_cache_freep) struct nl_cache *cache = NULL;
        _cleanup_free_ NetdevMacvlan *list = NULL;
        size_t count = 0;
        int r;

        if (lower_ifindex <= 0 || !ret || !ret_n)
                return -EINVAL;
        r = rtnl_open(&n);
        if (r < 0)
                return r;
        r = rtnl_link_alloc_cache(n.sk, AF_UNSPEC, &cache);
        r = rtnl_result(&n, r);
        if (r < 0)
                return r;

        for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
                struct rtnl_link *link = (struct rtnl_link *) o;
                NetdevMacvlan m, *nl;
                int32_t nsid;

                if (!link_to_macvlan(link, &m) || m.lower != lower_ifindex)
                        continue;
                /* IFLA_LINK is then an ifindex in another namespace, not our lower device. */
                if (rtnl_link_get_link_netnsid(link, &nsid) == 0)
                        continue;
                nl = reallocarray(list, count + 1, sizeof *list);
                if (!nl)
                        return -ENOMEM;
                list = nl;
                list[count++] = m;
        }

        *ret = TAKE_PTR(list);
        *ret_n = count;
        return 0;
}

int netdev_qdisc_get_root_kind(int ifindex, char kind[static NETDEV_QDISC_KIND_MAX]) {
        _cleanup_(rtnl_close) Rtnl n = {};
        _cleanup_(nl_cache_freep) struct nl_cache *cache = NULL;
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;
        const char *s;
        int r;

        if (ifindex <= 0 || !kind)
                return -EINVAL;
        r = rtnl_open(&n);
        if (r < 0)
                return r;
        r = rtnl_qdisc_alloc_cache(n.sk, &cache);
        r = rtnl_result(&n, r);
        if (r < 0)
                return r;
        for (struct nl_object *o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
                struct rtnl_tc *tc = TC_CAST(o);

                if (rtnl_tc_get_ifindex(tc) != ifindex || rtnl_tc_get_parent(tc) != TC_H_ROOT)
                        continue;
                s = rtnl_tc_get_kind(tc);
                if (isempty(s))
                        break;
                snprintf(kind, NETDEV_QDISC_KIND_MAX, "%s", s);
                return 0;
        }

        /* Dumps leave out the kernel's built-in root qdiscs (noop while a device is down);
         * IFLA_QDISC names whatever is attached. */
        r = get_link(&n, ifindex, NULL, &link);
        if (r < 0)
                return r;
        s = rtnl_link_get_qdisc(link);
        if (isempty(s))
                return -ENOENT;
        snprintf(kind, NETDEV_QDISC_KIND_MAX, "%s", s);
        return 0;
}

int netdev_qdisc_set_root_noqueue(int ifindex) {
        _cleanup_(rtnl_close) Rtnl n = {};
        _cleanup_(rtnl_qdisc_putp) struct rtnl_qdisc *qdisc = NULL;
        int r;

        if (ifindex <= 0)
                return -EINVAL;
        r = rtnl_open(&n);
        if (r < 0)
                return r;
        qdisc = rtnl_qdisc_alloc();
        if (!qdisc)
                return -ENOMEM;
        rtnl_tc_set_ifindex(TC_CAST(qdisc), ifindex);
        rtnl_tc_set_parent(TC_CAST(qdisc), TC_H_ROOT);
        rtnl_tc_set_handle(TC_CAST(qdisc), 0); /* the kernel picks one */
        /* libnl has no module for noqueue; it takes any kind and sends TCA_KIND alone, which is
         * all noqueue needs. */
        r = rtnl_tc_set_kind(TC_CAST(qdisc), "noqueue");
        if (r < 0)
                return nlerr_to_errno(r);
        r = rtnl_qdisc_add(n.sk, qdisc, NLM_F_CREATE | NLM_F_REPLACE);
        return rtnl_result(&n, r);
}

int netdev_macvtap_create(const char *ifname, int lower_ifindex, uint32_t mode, const EtherAddr *mac,
                          uint32_t mtu) {
        _cleanup_(rtnl_close) Rtnl n = {};
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;
        _cleanup_(nl_addr_putp) struct nl_addr *addr = NULL;
        int r;

        if (!ifname_valid(ifname) || lower_ifindex <= 0 || !mac)
                return -EINVAL;
        r = rtnl_open(&n);
        if (r < 0)
                return r;
        link = rtnl_link_macvtap_alloc();
        addr = nl_addr_build(AF_LLC, mac->bytes, sizeof mac->bytes);
        if (!link || !addr)
                return -ENOMEM;
        rtnl_link_set_name(link, ifname);
        rtnl_link_set_link(link, lower_ifindex);
        rtnl_link_set_addr(link, addr);
        if (mtu > 0)
                rtnl_link_set_mtu(link, mtu);
        r = rtnl_link_macvtap_set_mode(link, mode);
        if (r < 0)
                return nlerr_to_errno(r);
        /* libnl adds no flags of its own. NLM_F_EXCL: an existing link of that name is an error,
         * never reused. */
        r = rtnl_link_add(n.sk, link, NLM_F_CREATE | NLM_F_EXCL);
        return rtnl_result(&n, r);
}

int netdev_macvtap_devnum(const char *ifname, int ifindex, dev_t *ret) {
        _cleanup_free_ char *path = NULL, *content = NULL;
        unsigned major_nr, minor_nr;
        int consumed = 0, r;

        if (!ifname_valid(ifname) || ifindex <= 0 || !ret)
                return -EINVAL;
        if (asprintf(&path, "/sys/class/net/%s/macvtap/tap%d/dev", ifname, ifindex) < 0)
                return -ENOMEM;
        r = read_full_file(path, 4096, &content, NULL);
        if (r < 0)
                return r;
        if (sscanf(content, "%u:%u%n", &major_nr, &minor_nr, &consumed) != 2 ||
            !streq(content + consumed, "\n"))
                return -EBADMSG;
        *ret = makedev(major_nr, minor_nr);
        return 0;
}

static bool is_char_device(const struct stat *st, dev_t devnum) {
        return S_ISCHR(st->st_mode) && st->st_rdev == devnum;
}

/* 0 when path is the character device devnum, -ENOENT when it does not exist (yet),
 * -EMEDIUMTYPE when it is something else. */
static int check_node(const char *path, dev_t devnum) {
        struct stat st;

        if (lstat(path, &st) < 0)
                return -errno;
        return is_char_device(&st, devnum) ? 0 : -EMEDIUMTYPE;
}

static int wait_for_node(const char *path, dev_t devnum) {
        for (unsigned waited = 0;; waited += MACVTAP_NODE_POLL_MS) {
                int r = check_node(path, devnum);

                if (r != -ENOENT || waited >= MACVTAP_NODE_WAIT_MS)
                        return r;
                (void) nanosleep(&(struct timespec) { .tv_nsec = MACVTAP_NODE_POLL_MS * 1000000L }, NULL);
        }
}

int netdev_macvtap_open(int ifindex, dev_t devnum, unsigned queues, bool vnet_hdr, bool may_mknod,
                        int *fds) {
        char path[64];
        bool created = false;
        unsigned opened = 0;
        int r;

        if (ifindex <= 0 || queues == 0 || !fds)
                return -EINVAL;
        snprintf(path, sizeof path, "/dev/tap%d", ifindex);

        /* ifindexes are per network namespace but /dev is not: /dev/tapN may be another
         * namespace's macvtap. Opening it would add a queue to someone else's device, so the
         * node is checked before it is opened, and the fd again after. */
        r = wait_for_node(path, devnum);
        if (r == -ENOENT && may_mknod) {
                if (mknod(path, S_IFCHR | 0600, devnum) >= 0) {
                        created = true;
                        r = 0;
                } else if (errno == EEXIST) /* udev was just slower than our patience */
                        r = check_node(path, devnum);
                else
                        return -errno;
        }
        if (r < 0)
                return r;

        for (; opened < queues; opened++) {
                _cleanup_close_ int fd = -EBADF;
                struct ifreq ifr = {};
                struct stat st;

                /* Every open of a macvtap's character device is one more queue. */
                fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
                if (fd < 0) {
                        r = -errno;
                        goto fail;
                }
                if (fstat(fd, &st) < 0) {
                        r = -errno;
                        goto fail;
                }
                if (!is_char_device(&st, devnum)) {
                        r = -EMEDIUMTYPE;
                        goto fail;
                }
                /* A macvtap queue starts with IFF_VNET_HDR set; TUNSETIFF on it (name ignored)
                 * changes only IFF_VNET_HDR and IFF_MULTI_QUEUE, so say what we want either way. */
                ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
                if (vnet_hdr)
                        ifr.ifr_flags |= IFF_VNET_HDR;
                if (queues > 1)
                        ifr.ifr_flags |= IFF_MULTI_QUEUE;
                if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
                        r = -errno;
                        goto fail;
                }
                fds[opened] = TAKE_FD(fd);
        }
        /* Our node would go stale when the macvtap goes (nothing removes it), and its number could
         * then name a later macvtap: the open fds are all we need. */
        if (created)
                (void) unlink(path);
        return 0;

fail:
        for (unsigned i = 0; i < opened; i++)
                fds[i] = safe_close(fds[i]);
        if (created)
                (void) unlink(path);
        return r;
}

int netdev_vhost_open(unsigned queues, int *fds) {
        unsigned opened = 0;
        int r;

        if (queues == 0 || !fds)
                return -EINVAL;
        for (; opened < queues; opened++) {
                _cleanup_close_ int fd = -EBADF;
                struct stat st;

                fd = open(NETDEV_VHOST_NET_PATH, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
                if (fd < 0) {
                        r = -errno;
                        goto fail;
                }
                if (fstat(fd, &st) < 0) {
                        r = -errno;
                        goto fail;
                }
                if (!is_char_device(&st, makedev(VHOST_NET_MAJOR, VHOST_NET_MINOR))) {
                        r = -EMEDIUMTYPE;
                        goto fail;
                }
                fds[opened] = TAKE_FD(fd);
        }
        return 0;

fail:
        for (unsigned i = 0; i < opened; i++)
                fds[i] = safe_close(fds[i]);
        return r;
}

/* Traffic control. Qdiscs, u32 filters with mirred and IFB links go through libnl's objects. HTB
 * classes and police actions are built by hand: libnl rounds a burst through whole microseconds
 * (1600 bytes at 1 Gbit/s is 12.8 µs) and has no police action, and the kernel needs neither the
 * rate tables libnl would add to HTB classes (their link layer is set) nor anything else. */

DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_class *, rtnl_class_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_cls *, rtnl_cls_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct rtnl_act *, rtnl_act_put);

#define TC_EXTACK_MAX 256
static __thread char tc_extack[TC_EXTACK_MAX];

const char *netdev_tc_error(void) {
        return tc_extack;
}

/* As error_cb, and keeps the kernel's extended ack message (NLMSGERR_ATTR_MSG). */
static int tc_error_cb(struct sockaddr_nl *nla, struct nlmsgerr *e, void *userdata) {
        Rtnl *n = userdata;
        const struct nlmsghdr *h = (const struct nlmsghdr *) ((const uint8_t *) e - NLMSG_HDRLEN);
        size_t off = sizeof *e, total = h->nlmsg_len >= NLMSG_HDRLEN ? h->nlmsg_len - NLMSG_HDRLEN : 0;
        struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];

        n->syserr = e->error < 0 ? -e->error : e->error;
        tc_extack[0] = 0;
        if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
                return NL_STOP;
        /* The TLVs follow the echoed request, or only its header when the kernel capped it. */
        if (!(h->nlmsg_flags & NLM_F_CAPPED) && e->msg.nlmsg_len >= NLMSG_HDRLEN)
                off += NLMSG_ALIGN(e->msg.nlmsg_len - NLMSG_HDRLEN);
        if (off >= total)
                return NL_STOP;
        if (nla_parse(tb, NLMSGERR_ATTR_MAX, (struct nlattr *) ((uint8_t *) e + off), (int) (total - off),
                      NULL) < 0)
                return NL_STOP;
        if (tb[NLMSGERR_ATTR_MSG])
                nla_strlcpy(tc_extack, tb[NLMSGERR_ATTR_MSG], sizeof tc_extack);
        return NL_STOP;
}

static int tc_open(Rtnl *n) {
        int one = 1, r;

        tc_extack[0] = 0;
        r = rtnl_open(n);
        if (r < 0)
                return r;
        /* Best effort: without it errors just come without the kernel's explanation. */
        (void) setsockopt(nl_socket_get_fd(n->sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
        r = nl_socket_modify_err_cb(n->sk, NL_CB_CUSTOM, tc_error_cb, n);
        if (r < 0) {
                rtnl_close(n);
                return nlerr_to_errno(r);
        }
        return 0;
}

static struct nl_msg *tc_msg_new(int type, int flags, int ifindex, uint32_t parent, uint32_t handle,
                                 uint32_t info) {
        struct tcmsg t = {
                .tcm_family = AF_UNSPEC,
                .tcm_ifindex = ifindex,
                .tcm_parent = parent,
                .tcm_handle = handle,
                .tcm_info = info,
        };
        struct nl_msg *msg = nlmsg_alloc_simple(type, flags);

        if (!msg)
                return NULL;
        if (nlmsg_append(msg, &t, sizeof t, NLMSG_ALIGNTO) < 0) {
                nlmsg_free(msg);
                return NULL;
        }
        return msg;
}

/* Sends and waits for the ack; frees msg. */
static int tc_send(Rtnl *n, struct nl_msg *msg) {
        int r = nl_send_sync(n->sk, msg);
        return rtnl_result(n, r);
}

/* Dumps */

typedef struct TcDump {
        int type; /* the RTM_NEW* the kernel answers with */
        int ifindex;
        size_t size;
        void *items;
        size_t n;
        int error;
        void (*parse)(const struct tcmsg *t, struct nlattr **tb, void *item);
} TcDump;

static void parse_stats(struct nlattr **tb, NetdevTcStats *s) {
        struct nlattr *st[TCA_STATS_MAX + 1];

        if (!tb[TCA_STATS2] || nla_parse_nested(st, TCA_STATS_MAX, tb[TCA_STATS2], NULL) < 0)
                return;
        if (st[TCA_STATS_BASIC] && nla_len(st[TCA_STATS_BASIC]) >= (int) sizeof(struct gnet_stats_basic)) {
                struct gnet_stats_basic b;

                memcpy(&b, nla_data(st[TCA_STATS_BASIC]), sizeof b);
                s->bytes = b.bytes;
                s->packets = b.packets;
        }
        if (st[TCA_STATS_PKT64] && nla_len(st[TCA_STATS_PKT64]) >= (int) sizeof(uint64_t))
                memcpy(&s->packets, nla_data(st[TCA_STATS_PKT64]), sizeof s->packets);
        if (st[TCA_STATS_QUEUE] && nla_len(st[TCA_STATS_QUEUE]) >= (int) sizeof(struct gnet_stats_queue)) {
                struct gnet_stats_queue q;

                memcpy(&q, nla_data(st[TCA_STATS_QUEUE]), sizeof q);
                s->drops = q.drops;
                s->overlimits = q.overlimits;
                s->requeues = q.requeues;
                s->qlen = q.qlen;
                s->backlog = q.backlog;
        }
}

static void parse_kind(struct nlattr **tb, char kind[static NETDEV_QDISC_KIND_MAX]) {
        if (tb[TCA_KIND])
                nla_strlcpy(kind, tb[TCA_KIND], NETDEV_QDISC_KIND_MAX);
}

static void parse_qdisc(const struct tcmsg *t, struct nlattr **tb, void *item) {
        NetdevQdisc *q = item;
        struct nlattr *o = tb[TCA_OPTIONS];

        q->ifindex = t->tcm_ifindex;
        q->handle = t->tcm_handle;
        q->parent = t->tcm_parent;
        parse_kind(tb, q->kind);
        parse_stats(tb, &q->stats);
        if (!o)
                return;

        if (streq(q->kind, "htb")) {
                struct nlattr *ho[TCA_HTB_MAX + 1];

                if (nla_parse_nested(ho, TCA_HTB_MAX, o, NULL) >= 0 && ho[TCA_HTB_INIT] &&
                    nla_len(ho[TCA_HTB_INIT]) >= (int) sizeof(struct tc_htb_glob)) {
                        struct tc_htb_glob g;

                        memcpy(&g, nla_data(ho[TCA_HTB_INIT]), sizeof g);
                        q->htb_defcls = g.defcls;
                        q->htb_r2q = g.rate2quantum;
                }
        } else if ((streq(q->kind, "pfifo") || streq(q->kind, "bfifo")) &&
                   nla_len(o) >= (int) sizeof(struct tc_fifo_qopt)) {
                struct tc_fifo_qopt f;

                memcpy(&f, nla_data(o), sizeof f);
                q->limit = f.limit;
        } else if (streq(q->kind, "sfq") && nla_len(o) >= (int) sizeof(struct tc_sfq_qopt)) {
                struct tc_sfq_qopt f;

                memcpy(&f, nla_data(o), sizeof f);
                q->limit = f.limit;
                q->sfq_perturb = f.perturb_period;
        }
}

static void parse_class(const struct tcmsg *t, struct nlattr **tb, void *item) {
        NetdevClass *c = item;
        struct nlattr *ho[TCA_HTB_MAX + 1];
        struct tc_htb_opt opt;
        uint64_t v;

        c->ifindex = t->tcm_ifindex;
        c->handle = t->tcm_handle;
        c->parent = t->tcm_parent;
        c->leaf = t->tcm_info;
        parse_kind(tb, c->kind);
        parse_stats(tb, &c->stats);
        if (!streq(c->kind, "htb") || !tb[TCA_OPTIONS])
                return;
        if (nla_parse_nested(ho, TCA_HTB_MAX, tb[TCA_OPTIONS], NULL) < 0 || !ho[TCA_HTB_PARMS] ||
            nla_len(ho[TCA_HTB_PARMS]) < (int) sizeof opt)
                return;
        memcpy(&opt, nla_data(ho[TCA_HTB_PARMS]), sizeof opt);
        c->htb.rate = opt.rate.rate;
        c->htb.ceil = opt.ceil.rate;
        if (ho[TCA_HTB_RATE64] && nla_len(ho[TCA_HTB_RATE64]) >= (int) sizeof v) {
                memcpy(&v, nla_data(ho[TCA_HTB_RATE64]), sizeof v);
                c->htb.rate = v;
        }
        if (ho[TCA_HTB_CEIL64] && nla_len(ho[TCA_HTB_CEIL64]) >= (int) sizeof v) {
                memcpy(&v, nla_data(ho[TCA_HTB_CEIL64]), sizeof v);
                c->htb.ceil = v;
        }
        c->htb.burst = qos_ticks_to_burst(opt.buffer, c->htb.rate);
        c->htb.cburst = qos_ticks_to_burst(opt.cbuffer, c->htb.ceil);
        c->htb.quantum = opt.quantum;
        c->htb.prio = opt.prio;
        c->htb_level = opt.level;
}

static void parse_action(struct nlattr *list, NetdevAction *a) {
        struct nlattr *at[TCA_ACT_MAX + 1], *o[TCA_POLICE_MAX + 1 > TCA_MIRRED_MAX + 1 ? TCA_POLICE_MAX + 1
                                                                                      : TCA_MIRRED_MAX + 1];
        struct nlattr *first = NULL, *pos;
        char kind[NETDEV_QDISC_KIND_MAX] = "";
        unsigned n = 0;
        int rem;

        nla_for_each_nested(pos, list, rem) {
                if (!first)
                        first = pos;
                n++;
        }
        if (n == 0)
                return;
        a->kind = NETDEV_ACTION_OTHER;
        if (n > 1 || nla_parse_nested(at, TCA_ACT_MAX, first, NULL) < 0 || !at[TCA_ACT_KIND])
                return;
        nla_strlcpy(kind, at[TCA_ACT_KIND], sizeof kind);

        if (streq(kind, "mirred") && at[TCA_ACT_OPTIONS] &&
            nla_parse_nested(o, TCA_MIRRED_MAX, at[TCA_ACT_OPTIONS], NULL) >= 0 && o[TCA_MIRRED_PARMS] &&
            nla_len(o[TCA_MIRRED_PARMS]) >= (int) sizeof(struct tc_mirred)) {
                struct tc_mirred m;

                memcpy(&m, nla_data(o[TCA_MIRRED_PARMS]), sizeof m);
                a->kind = NETDEV_ACTION_MIRRED;
                a->mirred_ifindex = m.ifindex;
                a->mirred_eaction = m.eaction;
                a->verdict = m.action;
        } else if (streq(kind, "police") && at[TCA_ACT_OPTIONS] &&
                   nla_parse_nested(o, TCA_POLICE_MAX, at[TCA_ACT_OPTIONS], NULL) >= 0 &&
                   o[TCA_POLICE_TBF] && nla_len(o[TCA_POLICE_TBF]) >= (int) sizeof(struct tc_police)) {
                struct tc_police p;
                uint64_t rate;

                memcpy(&p, nla_data(o[TCA_POLICE_TBF]), sizeof p);
                rate = p.rate.rate;
                if (o[TCA_POLICE_RATE64] && nla_len(o[TCA_POLICE_RATE64]) >= (int) sizeof rate)
                        memcpy(&rate, nla_data(o[TCA_POLICE_RATE64]), sizeof rate);
                a->kind = NETDEV_ACTION_POLICE;
                a->verdict = p.action;
                a->police = (QosPoliceParams) {
                        .rate = rate,
                        .burst = qos_ticks_to_burst(p.burst, rate),
                        .mtu = p.mtu,
                };
        }
}

static void parse_u32(struct nlattr *opts, NetdevU32 *u) {
        struct nlattr *o[TCA_U32_MAX + 1];

        if (nla_parse_nested(o, TCA_U32_MAX, opts, NULL) < 0)
                return;
        if (o[TCA_U32_DIVISOR])
                u->divisor = nla_get_u32(o[TCA_U32_DIVISOR]);
        if (o[TCA_U32_HASH])
                u->hash = nla_get_u32(o[TCA_U32_HASH]);
        if (o[TCA_U32_LINK])
                u->link = nla_get_u32(o[TCA_U32_LINK]);
        if (o[TCA_U32_CLASSID])
                u->classid = nla_get_u32(o[TCA_U32_CLASSID]);
        if (o[TCA_U32_SEL] && nla_len(o[TCA_U32_SEL]) >= (int) sizeof(struct tc_u32_sel)) {
                const struct tc_u32_sel *sel = nla_data(o[TCA_U32_SEL]);
                size_t avail = (nla_len(o[TCA_U32_SEL]) - sizeof *sel) / sizeof(struct tc_u32_key);
                size_t n = MIN((size_t) sel->nkeys, MIN(avail, (size_t) NETDEV_U32_KEYS_MAX));

                u->terminal = sel->flags & TC_U32_TERMINAL;
                u->hmask = ntohl(sel->hmask);
                u->hoff = sel->hoff;
                u->n_keys = sel->nkeys;
                for (size_t i = 0; i < n; i++) {
                        struct tc_u32_key k;

                        memcpy(&k, (const uint8_t *) sel + sizeof *sel + i * sizeof k, sizeof k);
                        u->keys[i] = (QosU32Key) {
                                .val = ntohl(k.val),
                                .mask = ntohl(k.mask),
                                .off = k.off,
                        };
                }
        }
        if (o[TCA_U32_ACT])
                parse_action(o[TCA_U32_ACT], &u->action);
}

static void parse_filter(const struct tcmsg *t, struct nlattr **tb, void *item) {
        NetdevFilter *f = item;

        f->ifindex = t->tcm_ifindex;
        f->handle = t->tcm_handle;
        f->parent = t->tcm_parent;
        f->prio = TC_H_MAJ(t->tcm_info) >> 16;
        f->protocol = ntohs(TC_H_MIN(t->tcm_info));
        parse_kind(tb, f->kind);
        if (streq(f->kind, "u32") && tb[TCA_OPTIONS])
                parse_u32(tb[TCA_OPTIONS], &f->u32);
}

static int dump_cb(struct nl_msg *msg, void *userdata) {
        TcDump *d = userdata;
        struct nlmsghdr *h = nlmsg_hdr(msg);
        struct nlattr *tb[TCA_MAX + 1];
        const struct tcmsg *t;
        void *items;

        if (h->nlmsg_type != d->type || nlmsg_parse(h, sizeof *t, tb, TCA_MAX, NULL) < 0)
                return NL_SKIP;
        t = nlmsg_data(h);
        if (t->tcm_ifindex != d->ifindex)
                return NL_SKIP;
        items = reallocarray(d->items, d->n + 1, d->size);
        if (!items) {
                d->error = -ENOMEM;
                return NL_STOP;
        }
        d->items = items;
        memset((uint8_t *) items + d->n * d->size, 0, d->size);
        d->parse(t, tb, (uint8_t *) items + d->n * d->size);
        d->n++;
        return NL_OK;
}

static int tc_dump(int get_type, uint32_t parent, TcDump *d, void **ret, size_t *ret_n) {
        _cleanup_(rtnl_close) Rtnl n = {};
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;
        _cleanup_(nl_cb_putp) struct nl_cb *cb = NULL;
        struct nl_cb *socket_cb;
        struct tcmsg t = { .tcm_family = AF_UNSPEC, .tcm_ifindex = d->ifindex, .tcm_parent = parent };
        int r;

        if (d->ifindex <= 0 || !ret || !ret_n)
                return -EINVAL;
        r = tc_open(&n);
        if (r < 0)
                return r;
        /* An unknown ifindex dumps nothing at all; say so instead. */
        r = get_link(&n, d->ifindex, NULL, &link);
        if (r < 0)
                return r;

        r = nl_send_simple(n.sk, get_type, NLM_F_DUMP, &t, sizeof t);
        if (r < 0)
                return nlerr_to_errno(r);
        socket_cb = nl_socket_get_cb(n.sk);
        cb = socket_cb ? nl_cb_clone(socket_cb) : NULL;
        nl_cb_put(socket_cb);
        if (!cb)
                return -ENOMEM;
        r = nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, dump_cb, d);
        if (r < 0)
                return nlerr_to_errno(r);
        r = nl_recvmsgs(n.sk, cb);
        r = rtnl_result(&n, r);
        if (r >= 0 && d->error < 0)
                r = d->error;
        if (r < 0) {
                d->items = mfree(d->items);
                return r;
        }
        *ret = d->items;
        *ret_n = d->n;
        return 0;
}

int netdev_qdisc_list(int ifindex, NetdevQdisc **ret, size_t *ret_n) {
        TcDump d = {
                .type = RTM_NEWQDISC, .ifindex = ifindex, .size = sizeof(NetdevQdisc), .parse = parse_qdisc,
        };

        return tc_dump(RTM_GETQDISC, 0, &d, (void **) ret, ret_n);
}

int netdev_class_list(int ifindex, NetdevClass **ret, size_t *ret_n) {
        TcDump d = {
                .type = RTM_NEWTCLASS, .ifindex = ifindex, .size = sizeof(NetdevClass), .parse = parse_class,
        };

        return tc_dump(RTM_GETTCLASS, 0, &d, (void **) ret, ret_n);
}

int netdev_filter_list(int ifindex, uint32_t parent, NetdevFilter **ret, size_t *ret_n) {
        TcDump d = {
                .type = RTM_NEWTFILTER,
                .ifindex = ifindex,
                .size = sizeof(NetdevFilter),
                .parse = parse_filter,
        };

        return tc_dump(RTM_GETTFILTER, parent, &d, (void **) ret, ret_n);
}

/* Qdiscs */

typedef int (*QdiscConfigure)(struct rtnl_qdisc *q, uint32_t a, uint32_t b);

static int qdisc_add(int ifindex, uint32_t parent, uint32_t handle, const char *kind,
                     QdiscConfigure configure, uint32_t a, uint32_t b) {
        _cleanup_(rtnl_close) Rtnl n = {};
        _cleanup_(rtnl_qdisc_putp) struct rtnl_qdisc *q = NULL;
        int r;

        if (ifindex <= 0)
                return -EINVAL;
        r = tc_open(&n);
        if (r < 0)
                return r;
        q = rtnl_qdisc_alloc();
        if (!q)
                return -ENOMEM;
        rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
        rtnl_tc_set_parent(TC_CAST(q), parent);
        rtnl_tc_set_handle(TC_CAST(q), handle);
        r = rtnl_tc_set_kind(TC_CAST(q), kind);
        if (r < 0)
                return nlerr_to_errno(r);
        if (configure) {
                r = configure(q, a, b);
                if (r < 0)
                        return nlerr_to_errno(r);
        }
        r = rtnl_qdisc_add(n.sk, q, NLM_F_CREATE | NLM_F_REPLACE);
        return rtnl_result(&n, r);
}

static int configure_htb(struct rtnl_qdisc *q, uint32_t defcls, uint32_t r2q) {
        int r = rtnl_htb_set_defcls(q, defcls);
        return r < 0 ? r : rtnl_htb_set_rate2quantum(q, r2q);
}

static int configure_pfifo(struct rtnl_qdisc *q, uint32_t limit, uint32_t unused) {
        return rtnl_qdisc_fifo_set_limit(q, limit);
}

static int configure_sfq(struct rtnl_qdisc *q, uint32_t perturb, uint32_t unused) {
        rtnl_sfq_set_perturb(q, perturb);
        return 0;
}

int netdev_qdisc_add_htb(int ifindex, uint32_t parent, uint32_t handle, uint32_t defcls, uint32_t r2q) {
        return qdisc_add(ifindex, parent, handle, "htb", configure_htb, defcls, r2q);
}

int netdev_qdisc_add_pfifo(int ifindex, uint32_t parent, uint32_t handle, uint32_t limit) {
        return qdisc_add(ifindex, parent, handle, "pfifo", configure_pfifo, limit, 0);
}

int netdev_qdisc_add_sfq(int ifindex, uint32_t parent, uint32_t handle, uint32_t perturb) {
        return qdisc_add(ifindex, parent, handle, "sfq", configure_sfq, perturb, 0);
}

int netdev_qdisc_add_ingress(int ifindex) {
        /* libnl has no module for ingress: TCA_KIND alone is all it takes. */
        return qdisc_add(ifindex, QOS_TC_H_INGRESS, QOS_INGRESS_QDISC, "ingress", NULL, 0, 0);
}

int netdev_qdisc_delete(int ifindex, uint32_t parent, uint32_t handle, const char *kind) {
        _cleanup_(rtnl_close) Rtnl n = {};
        _cleanup_(rtnl_qdisc_putp) struct rtnl_qdisc *q = NULL;
        int r;

        if (ifindex <= 0)
                return -EINVAL;
        r = tc_open(&n);
        if (r < 0)
                return r;
        q = rtnl_qdisc_alloc();
        if (!q)
                return -ENOMEM;
        rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
        rtnl_tc_set_parent(TC_CAST(q), parent);
        rtnl_tc_set_handle(TC_CAST(q), handle);
        if (kind) {
                r = rtnl_tc_set_kind(TC_CAST(q), kind);
                if (r < 0)
                        return nlerr_to_errno(r);
        }
        r = rtnl_qdisc_delete(n.sk, q);
        return rtnl_result(&n, r);
}

/* HTB classes */

static struct tc_ratespec ratespec(uint64_t rate) {
        return (struct tc_ratespec) {
                .rate = rate > UINT32_MAX ? UINT32_MAX : (uint32_t) rate,
                /* A known link layer tells the kernel not to look for a rate table. */
                .linklayer = TC_LINKLAYER_ETHERNET,
                .cell_align = -1,
        };
}

int netdev_htb_class_set(int ifindex, uint32_t parent, uint32_t classid, const QosHtbParams *p,
                         NetdevTcMode mode) {
        _cleanup_(rtnl_close) Rtnl n = {};
        struct tc_htb_opt opt = {};
        struct nl_msg *msg;
        struct nlattr *opts;
        int flags, r;

        if (ifindex <= 0 || !p || p->rate == 0 || p->ceil < p->rate || QOS_HANDLE_MIN(classid) == 0)
                return -EINVAL;
        flags = mode == NETDEV_TC_CHANGE ? 0 : NLM_F_CREATE | (mode == NETDEV_TC_CREATE ? NLM_F_EXCL : 0);
        r = tc_open(&n);
        if (r < 0)
                return r;

        opt.rate = ratespec(p->rate);
        opt.ceil = ratespec(p->ceil);
        opt.buffer = qos_burst_to_ticks(p->burst, p->rate);
        opt.cbuffer = qos_burst_to_ticks(p->cburst, p->ceil);
        opt.quantum = p->quantum;
        opt.prio = p->prio;

        msg = tc_msg_new(RTM_NEWTCLASS, flags, ifindex, parent, classid, 0);
        if (!msg)
                return -ENOMEM;
        if (nla_put_string(msg, TCA_KIND, "htb") < 0 || !(opts = nla_nest_start(msg, TCA_OPTIONS)) ||
            nla_put(msg, TCA_HTB_PARMS, sizeof opt, &opt) < 0 ||
            (p->rate > UINT32_MAX && nla_put_u64(msg, TCA_HTB_RATE64, p->rate) < 0) ||
            (p->ceil > UINT32_MAX && nla_put_u64(msg, TCA_HTB_CEIL64, p->ceil) < 0)) {
                nlmsg_free(msg);
                return -EMSGSIZE;
        }
        nla_nest_end(msg, opts);
        return tc_send(&n, msg);
}

int netdev_class_delete(int ifindex, uint32_t classid) {
        _cleanup_(rtnl_close) Rtnl n = {};
        _cleanup_(rtnl_class_putp) struct rtnl_class *c = NULL;
        int r;

        if (ifindex <= 0)
                return -EINVAL;
        r = tc_open(&n);
        if (r < 0)
                return r;
        c = rtnl_class_alloc();
        if (!c)
                return -ENOMEM;
        rtnl_tc_set_ifindex(TC_CAST(c), ifindex);
        rtnl_tc_set_handle(TC_CAST(c), classid);
        r = rtnl_class_delete(n.sk, c);
        return rtnl_result(&n, r);
}

/* u32 */

static uint32_t tc_info(uint16_t prio, uint16_t protocol) {
        return ((uint32_t) prio << 16) | htons(protocol);
}

/* libnl has no police action: the whole filter by hand. The kernel wants a rate table with a
 * policer; the link layer is set, so only its shape matters, not its numbers. */
static int u32_add_police(Rtnl *n, int flags, int ifindex, uint32_t parent, uint16_t prio, uint16_t protocol,
                          uint32_t handle, const NetdevU32 *u) {
        const QosPoliceParams *pp = &u->action.police;
        struct {
                struct tc_u32_sel sel;
                struct tc_u32_key keys[NETDEV_U32_KEYS_MAX];
        } sel = {};
        size_t n_keys = MAX(u->n_keys, (size_t) 1);
        struct tc_police police = {
                .action = TC_ACT_SHOT,
                .burst = qos_burst_to_ticks(pp->burst, pp->rate),
                .mtu = pp->mtu,
                .rate = ratespec(pp->rate),
        };
        uint32_t rtab[256];
        struct nlattr *opts, *acts, *act, *aopts;
        struct nl_msg *msg;

        while ((police.mtu >> police.rate.cell_log) > 255)
                police.rate.cell_log++;
        for (unsigned i = 0; i < ELEMENTSOF(rtab); i++)
                rtab[i] = qos_burst_to_ticks((uint64_t) (i + 1) << police.rate.cell_log, pp->rate);

        sel.sel.flags = u->terminal ? TC_U32_TERMINAL : 0;
        sel.sel.nkeys = n_keys;
        for (size_t i = 0; i < u->n_keys; i++)
                sel.keys[i] = (struct tc_u32_key) {
                        .val = htonl(u->keys[i].val & u->keys[i].mask),
                        .mask = htonl(u->keys[i].mask),
                        .off = u->keys[i].off,
                };

        msg = tc_msg_new(RTM_NEWTFILTER, flags, ifindex, parent, handle, tc_info(prio, protocol));
        if (!msg)
                return -ENOMEM;
        if (nla_put_string(msg, TCA_KIND, "u32") < 0 || !(opts = nla_nest_start(msg, TCA_OPTIONS)) ||
            (u->hash != 0 && nla_put_u32(msg, TCA_U32_HASH, u->hash) < 0) ||
            (u->classid != 0 && nla_put_u32(msg, TCA_U32_CLASSID, u->classid) < 0) ||
            nla_put(msg, TCA_U32_SEL, sizeof sel.sel + n_keys * sizeof(struct tc_u32_key), &sel) < 0 ||
            !(acts = nla_nest_start(msg, TCA_U32_ACT)) || !(act = nla_nest_start(msg, 1)) ||
            nla_put_string(msg, TCA_ACT_KIND, "police") < 0 ||
            !(aopts = nla_nest_start(msg, TCA_ACT_OPTIONS)) ||
            nla_put(msg, TCA_POLICE_TBF, sizeof police, &police) < 0 ||
            nla_put(msg, TCA_POLICE_RATE, sizeof rtab, rtab) < 0 ||
            (pp->rate > UINT32_MAX && nla_put_u64(msg, TCA_POLICE_RATE64, pp->rate) < 0)) {
                nlmsg_free(msg);
                return -EMSGSIZE;
        }
        nla_nest_end(msg, aopts);
        nla_nest_end(msg, act);
        nla_nest_end(msg, acts);
        nla_nest_end(msg, opts);
        return tc_send(n, msg);
}

int netdev_u32_add(int ifindex, uint32_t parent, uint16_t prio, uint16_t protocol, uint32_t handle,
                   const NetdevU32 *u, bool exclusive) {
        _cleanup_(rtnl_close) Rtnl n = {};
        _cleanup_(rtnl_cls_putp) struct rtnl_cls *cls = NULL;
        int flags = NLM_F_CREATE | (exclusive ? NLM_F_EXCL : 0), r;

        if (ifindex <= 0 || !u || prio == 0 || u->n_keys > NETDEV_U32_KEYS_MAX)
                return -EINVAL;
        r = tc_open(&n);
        if (r < 0)
                return r;
        if (u->action.kind == NETDEV_ACTION_POLICE)
                return u32_add_police(&n, flags, ifindex, parent, prio, protocol, handle, u);
        if (u->action.kind != NETDEV_ACTION_NONE && u->action.kind != NETDEV_ACTION_MIRRED)
                return -EOPNOTSUPP;

        cls = rtnl_cls_alloc();
        if (!cls)
                return -ENOMEM;
        rtnl_tc_set_ifindex(TC_CAST(cls), ifindex);
        rtnl_tc_set_parent(TC_CAST(cls), parent);
        rtnl_tc_set_handle(TC_CAST(cls), handle);
        rtnl_cls_set_prio(cls, prio);
        rtnl_cls_set_protocol(cls, protocol);
        r = rtnl_tc_set_kind(TC_CAST(cls), "u32");
        if (r < 0)
                return nlerr_to_errno(r);

        if (u->divisor > 0) {
                /* A hash table is its divisor and nothing else. */
                r = rtnl_u32_set_divisor(cls, u->divisor);
                if (r < 0)
                        return nlerr_to_errno(r);
        } else {
                if (u->hash != 0 && (r = rtnl_u32_set_hashtable(cls, u->hash)) < 0)
                        return nlerr_to_errno(r);
                if (u->link != 0) {
                        r = rtnl_u32_set_link(cls, u->link);
                        if (r >= 0)
                                r = rtnl_u32_set_hashmask(cls, u->hmask, (uint32_t) u->hoff);
                        if (r < 0)
                                return nlerr_to_errno(r);
                }
                /* A selector must be there; "match u32 0 0 at 0" matches everything. */
                if (u->n_keys == 0 && (r = rtnl_u32_add_key(cls, 0, 0, 0, 0)) < 0)
                        return nlerr_to_errno(r);
                for (size_t i = 0; i < u->n_keys; i++) {
                        r = rtnl_u32_add_key(cls, htonl(u->keys[i].val), htonl(u->keys[i].mask),
                                             u->keys[i].off, 0);
                        if (r < 0)
                                return nlerr_to_errno(r);
                }
                if (u->terminal && (r = rtnl_u32_set_cls_terminal(cls)) < 0)
                        return nlerr_to_errno(r);
                if (u->classid != 0 && (r = rtnl_u32_set_classid(cls, u->classid)) < 0)
                        return nlerr_to_errno(r);
                if (u->action.kind == NETDEV_ACTION_MIRRED) {
                        _cleanup_(rtnl_act_putp) struct rtnl_act *act = rtnl_act_alloc();

                        if (!act)
                                return -ENOMEM;
                        r = rtnl_tc_set_kind(TC_CAST(act), "mirred");
                        if (r >= 0)
                                r = rtnl_mirred_set_action(act, TCA_EGRESS_REDIR);
                        if (r >= 0)
                                r = rtnl_mirred_set_policy(act, TC_ACT_STOLEN);
                        if (r >= 0)
                                r = rtnl_mirred_set_ifindex(act, u->action.mirred_ifindex);
                        if (r >= 0)
                                r = rtnl_u32_add_action(cls, act); /* takes its own reference */
                        if (r < 0)
                                return nlerr_to_errno(r);
                }
        }

        r = rtnl_cls_add(n.sk, cls, flags);
        return rtnl_result(&n, r);
}

int netdev_filter_delete(int ifindex, uint32_t parent, uint16_t prio, uint16_t protocol, const char *kind,
                         uint32_t handle) {
        _cleanup_(rtnl_close) Rtnl n = {};
        struct nl_msg *msg;
        int r;

        if (ifindex <= 0 || prio == 0)
                return -EINVAL;
        r = tc_open(&n);
        if (r < 0)
                return r;
        /* By hand: libnl would send u32 options along, which a deletion has no use for. */
        msg = tc_msg_new(RTM_DELTFILTER, 0, ifindex, parent, handle, tc_info(prio, protocol));
        if (!msg)
                return -ENOMEM;
        if (kind && nla_put_string(msg, TCA_KIND, kind) < 0) {
                nlmsg_free(msg);
                return -EMSGSIZE;
        }
        return tc_send(&n, msg);
}

/* IFB */

int netdev_ifb_create(const char *ifname) {
        _cleanup_(rtnl_close) Rtnl n = {};
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;
        int r;

        if (!ifname_valid(ifname))
                return -EINVAL;
        r = tc_open(&n);
        if (r < 0)
                return r;
        link = rtnl_link_alloc();
        if (!link)
                return -ENOMEM;
        rtnl_link_set_name(link, ifname);
        r = rtnl_link_set_type(link, "ifb");
        if (r < 0)
                return nlerr_to_errno(r);
        r = rtnl_link_add(n.sk, link, NLM_F_CREATE | NLM_F_EXCL);
        r = rtnl_result(&n, r);
        if (r < 0)
                return r;

        return mark_created_link(&n, ifname);
}

/* Probe */

/* Errors that say something about us (no privilege, no memory), not about the kernel's features. */
static bool probe_fatal(int r) {
        return r == -EPERM || r == -EACCES || r == -ENOMEM || r == -ENOBUFS;
}

static int probe_scratch_link(bool *ret_ifb) {
        _cleanup_(rtnl_close) Rtnl n = {};
        NetdevLink l;
        int r;

        /* A crashed probe may have left its link behind: ours by name, kind and marker. */
        r = netdev_link_lookup(QOS_PROBE_IFNAME, &l);
        if (r >= 0) {
                if ((!streq(l.kind, "ifb") && !streq(l.kind, "veth")) ||
                    !streq(l.alias, NETDEV_VIRTBUS_ALIAS))
                        return -EEXIST;
                r = netdev_link_delete(l.ifindex);
                if (r < 0)
                        return r;
        } else if (r != -ENODEV)
                return r;

        r = netdev_ifb_create(QOS_PROBE_IFNAME);
        if (r >= 0) {
                *ret_ifb = true;
                return netdev_link_lookup(QOS_PROBE_IFNAME, &l) < 0 ? -ENODEV : l.ifindex;
        }
        if (probe_fatal(r) || r == -EEXIST)
                return r;

        /* No ifb: a veth pair will do as scratch (this kernel has no dummy links). */
        *ret_ifb = false;
        r = tc_open(&n);
        if (r < 0)
                return r;
        r = rtnl_link_veth_add(n.sk, QOS_PROBE_IFNAME, QOS_PROBE_IFNAME "p", getpid());
        r = rtnl_result(&n, r);
        if (r < 0)
                return r;
        r = netdev_link_lookup(QOS_PROBE_IFNAME, &l);
        if (r < 0)
                return r;
        r = link_set_alias(&n, l.ifindex, NETDEV_VIRTBUS_ALIAS);
        if (r < 0) {
                (void) netdev_link_delete(l.ifindex);
                return r;
        }
        return l.ifindex;
}

/* 1 when the kernel took it, 0 when it did not, or a fatal -errno. */
static int probe_result(int r) {
        if (r >= 0)
                return 1;
        if (probe_fatal(r))
                return r;
        /* An unknown qdisc kind, classifier or action: ENOENT, EINVAL or EOPNOTSUPP. */
        return 0;
}

int netdev_qos_probe(unsigned *ret_caps) {
        static const QosHtbParams htb = {
                .rate = 125000, .ceil = 125000, .burst = 1600, .cburst = 1600, .quantum = 1500,
        };
        unsigned caps = 0;
        bool ifb = false;
        NetdevU32 u;
        int ifindex, r;

        if (!ret_caps)
                return -EINVAL;
        ifindex = probe_scratch_link(&ifb);
        if (ifindex < 0)
                return ifindex;
        if (ifb)
                caps |= QOS_CAP_IFB;

        r = probe_result(
                netdev_qdisc_add_htb(ifindex, QOS_TC_H_ROOT, QOS_ROOT_QDISC, QOS_DEVICE_DEFCLS, QOS_R2Q));
        if (r < 0)
                goto finish;
        if (r > 0) {
                caps |= QOS_CAP_HTB;
                r = netdev_htb_class_set(ifindex, QOS_ROOT_QDISC, QOS_ROOT_CLASS, &htb, NETDEV_TC_CREATE);
                if (r < 0)
                        goto finish; /* htb without classes: something else is wrong */
                r = probe_result(
                        netdev_qdisc_add_sfq(ifindex, QOS_ROOT_CLASS, QOS_LEAF_QDISC, QOS_SFQ_PERTURB));
        } else
                r = probe_result(
                        netdev_qdisc_add_sfq(ifindex, QOS_TC_H_ROOT, QOS_ROOT_QDISC, QOS_SFQ_PERTURB));
        if (r < 0)
                goto finish;
        if (r > 0)
                caps |= QOS_CAP_SFQ;

        r = probe_result(netdev_qdisc_add_ingress(ifindex));
        if (r <= 0)
                goto finish;
        caps |= QOS_CAP_INGRESS;

        u = (NetdevU32) { .terminal = true, .classid = QOS_INGRESS_FLOWID };
        r = probe_result(netdev_u32_add(ifindex, QOS_INGRESS_QDISC, 1, QOS_ETH_P_ALL, 0, &u, true));
        if (r <= 0)
                goto finish;
        caps |= QOS_CAP_U32;

        u.action = (NetdevAction) { .kind = NETDEV_ACTION_MIRRED, .mirred_ifindex = ifindex };
        r = probe_result(netdev_u32_add(ifindex, QOS_INGRESS_QDISC, 2, QOS_ETH_P_ALL, 0, &u, true));
        if (r < 0)
                goto finish;
        if (r > 0)
                caps |= QOS_CAP_MIRRED;

        u.action = (NetdevAction) {
                .kind = NETDEV_ACTION_POLICE,
                .police = { .rate = 125000, .burst = 125000, .mtu = QOS_POLICE_MTU },
        };
        r = probe_result(netdev_u32_add(ifindex, QOS_INGRESS_QDISC, 3, QOS_ETH_P_ALL, 0, &u, true));
        if (r > 0)
                caps |= QOS_CAP_POLICE;

finish:
        /* Deleting the link takes every qdisc, class and filter with it (and the veth's peer). */
        (void) netdev_link_delete(ifindex);
        if (r < 0)
                return r;
        *ret_caps = caps;
        return 0;
}

/* Targeted reads: one RTM_GET* request without NLM_F_DUMP, which the kernel answers with the one
 * object it names (or an error), then the ack. What they cost does not depend on how many other
 * qdiscs or filters the link has, unlike the dumps above. */

static int get_ack_cb(struct nl_msg *msg, void *userdata) {
        bool *acked = userdata;

        *acked = true;
        return NL_STOP;
}

/* d->items gets the object (malloc'ed), -ENOENT when the kernel sent none. */
static int tc_get(int get_type, uint32_t parent, uint32_t handle, uint32_t info, const char *kind,
                  TcDump *d) {
        _cleanup_(rtnl_close) Rtnl n = {};
        _cleanup_(nlmsg_freep) struct nl_msg *msg = NULL;
        _cleanup_(nl_cb_putp) struct nl_cb *cb = NULL;
        struct nl_cb *socket_cb;
        bool acked = false;
        int r;

        if (d->ifindex <= 0)
                return -EINVAL;
        r = tc_open(&n);
        if (r < 0)
                return r;
        /* NLM_F_ECHO: the kernel answers some gets (qdiscs, classes) as it announces a change, to
         * the RTNLGRP_TC listeners, and to the requester only when it asks for an echo. */
        msg = tc_msg_new(get_type, NLM_F_ECHO, d->ifindex, parent, handle, info);
        if (!msg)
                return -ENOMEM;
        if (kind && nla_put_string(msg, TCA_KIND, kind) < 0)
                return -EMSGSIZE;
        r = nl_send_auto(n.sk, msg); /* NLM_F_REQUEST | NLM_F_ACK */
        if (r < 0)
                return nlerr_to_errno(r);

        socket_cb = nl_socket_get_cb(n.sk);
        cb = socket_cb ? nl_cb_clone(socket_cb) : NULL;
        nl_cb_put(socket_cb);
        if (!cb)
                return -ENOMEM;
        if (nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, dump_cb, d) < 0 ||
            nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, get_ack_cb, &acked) < 0)
                return -ENOMEM;
        /* The object and the ack come in two datagrams. */
        do
                r = nl_recvmsgs(n.sk, cb);
        while (r >= 0 && !acked && d->error == 0);
        r = rtnl_result(&n, r);
        if (r >= 0 && d->error < 0)
                r = d->error;
        if (r >= 0 && d->n == 0)
                r = -ENOENT;
        if (r < 0)
                d->items = mfree(d->items);
        return r;
}

int netdev_qdisc_get(int ifindex, uint32_t parent, NetdevQdisc *ret) {
        TcDump d = {
                .type = RTM_NEWQDISC, .ifindex = ifindex, .size = sizeof(NetdevQdisc), .parse = parse_qdisc,
        };
        int r;

        if (!ret)
                return -EINVAL;
        r = tc_get(RTM_GETQDISC, parent, 0, 0, NULL, &d);
        if (r < 0)
                return r;
        *ret = *(NetdevQdisc *) d.items;
        free(d.items);
        return 0;
}

int netdev_filter_get(int ifindex, uint32_t parent, uint16_t prio, uint16_t protocol, const char *kind,
                      uint32_t handle, NetdevFilter *ret) {
        TcDump d = {
                .type = RTM_NEWTFILTER,
                .ifindex = ifindex,
                .size = sizeof(NetdevFilter),
                .parse = parse_filter,
        };
        int r;

        if (!ret || prio == 0)
                return -EINVAL;
        r = tc_get(RTM_GETTFILTER, parent, handle, tc_info(prio, protocol), kind, &d);
        if (r < 0)
                return r;
        *ret = *(NetdevFilter *) d.items;
        free(d.items);
        return 0;
}

static uint32_t parse_chain(struct nlattr **tb) {
        if (!tb[TCA_CHAIN] || nla_len(tb[TCA_CHAIN]) < (int) sizeof(uint32_t))
                return 0;
        return nla_get_u32(tb[TCA_CHAIN]);
}

static void parse_chain_filter(const struct tcmsg *t, struct nlattr **tb, void *item) {
        NetdevChainFilter *f = item;

        f->chain = parse_chain(tb);
        parse_filter(t, tb, &f->filter);
}

int netdev_filter_list_chains(int ifindex, uint32_t parent, NetdevChainFilter **ret, size_t *ret_n) {
        TcDump d = {
                .type = RTM_NEWTFILTER,
                .ifindex = ifindex,
                .size = sizeof(NetdevChainFilter),
                .parse = parse_chain_filter,
        };

        return tc_dump(RTM_GETTFILTER, parent, &d, (void **) ret, ret_n);
}

/* Notifications */

/* Room for notifications that pile up between two requests (the helper reads them only then):
 * past it the kernel drops them and says so (ENOBUFS), and everything learnt from them goes. */
#define TC_MONITOR_RCVBUF (4 * 1024 * 1024)
#define TC_MONITOR_BUF (64 * 1024)

struct NetdevTcMonitor {
        int fd;
        uint8_t *buf;
};

NetdevTcMonitor *netdev_tc_monitor_free(NetdevTcMonitor *m) {
        if (!m)
                return NULL;
        safe_close(m->fd);
        free(m->buf);
        free(m);
        return NULL;
}

/* Only what the monitor reports gets queued: new links, qdiscs and classes (a few per change,
 * many on a busy host) stay in the kernel. Each notification is an skb of its own; the classic BPF
 * loads the 16-bit nlmsg_type in network byte order. */
static const struct sock_filter monitor_filter[] = {
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, offsetof(struct nlmsghdr, nlmsg_type)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 5, 0), /* htons(RTM_DELLINK), set at run time */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 4, 0), /* RTM_NEWTFILTER */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 3, 0), /* RTM_DELTFILTER */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 2, 0), /* RTM_DELQDISC */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0), /* RTM_DELCHAIN */
        BPF_STMT(BPF_RET | BPF_K, 0),
        BPF_STMT(BPF_RET | BPF_K, UINT32_MAX),
};

static void monitor_attach_filter(int fd) {
        static const uint16_t types[] = {
                RTM_DELLINK, RTM_NEWTFILTER, RTM_DELTFILTER, RTM_DELQDISC, RTM_DELCHAIN,
        };
        struct sock_filter code[ELEMENTSOF(monitor_filter)];
        struct sock_fprog prog = { .len = ELEMENTSOF(code), .filter = code };

        memcpy(code, monitor_filter, sizeof code);
        for (size_t i = 0; i < ELEMENTSOF(types); i++)
                code[1 + i].k = htons(types[i]);
        /* Best effort: without it the monitor just reads and skips more. */
        (void) setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
}

int netdev_tc_monitor_new(NetdevTcMonitor **ret) {
        static const int groups[] = { RTNLGRP_TC, RTNLGRP_LINK };
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
        NetdevTcMonitor *m;
        int size = TC_MONITOR_RCVBUF, r;

        if (!ret)
                return -EINVAL;
        m = new0(NetdevTcMonitor, 1);
        if (!m)
                return -ENOMEM;
        m->fd = -EBADF;
        m->buf = malloc(TC_MONITOR_BUF);
        if (!m->buf) {
                netdev_tc_monitor_free(m);
                return -ENOMEM;
        }
        m->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
        if (m->fd < 0)
                goto fail;
        monitor_attach_filter(m->fd);
        if (bind(m->fd, (struct sockaddr *) &sa, sizeof sa) < 0)
                goto fail;
        for (size_t i = 0; i < ELEMENTSOF(groups); i++)
                if (setsockopt(m->fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &groups[i], sizeof groups[i]) < 0)
                        goto fail;
        /* Beyond rmem_max with CAP_NET_ADMIN; else what rmem_max allows. */
        if (setsockopt(m->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) < 0)
                (void) setsockopt(m->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
        *ret = m;
        return 0;

fail:
        r = -errno;
        netdev_tc_monitor_free(m);
        return r;
}

static void monitor_tc_message(const struct nlmsghdr *h, NetdevTcEventFunc cb, void *userdata) {
        struct nlattr *tb[TCA_MAX + 1];
        const struct tcmsg *t;
        NetdevTcEvent e = {};

        if (h->nlmsg_type != RTM_NEWTFILTER && h->nlmsg_type != RTM_DELTFILTER &&
            h->nlmsg_type != RTM_DELQDISC && h->nlmsg_type != RTM_DELCHAIN)
                return;
        if (nlmsg_parse((struct nlmsghdr *) h, sizeof *t, tb, TCA_MAX, NULL) < 0) {
                /* Something about tc that cannot be read: nothing can be trusted any more. */
                cb(&(NetdevTcEvent) { .type = NETDEV_TC_EVENT_LOST }, userdata);
                return;
        }
        t = nlmsg_data(h);
        e.ifindex = t->tcm_ifindex;
        e.parent = t->tcm_parent;
        e.handle = t->tcm_handle;
        e.chain = parse_chain(tb);
        switch (h->nlmsg_type) {
        case RTM_NEWTFILTER:
        case RTM_DELTFILTER:
                e.type = h->nlmsg_type == RTM_NEWTFILTER ? NETDEV_TC_EVENT_FILTER_NEW
                                                         : NETDEV_TC_EVENT_FILTER_DEL;
                parse_filter(t, tb, &e.filter);
                break;
        case RTM_DELQDISC:
                e.type = NETDEV_TC_EVENT_QDISC_DEL;
                break;
        default:
                e.type = NETDEV_TC_EVENT_CHAIN_DEL;
                break;
        }
        cb(&e, userdata);
}

static void monitor_message(const struct nlmsghdr *h, NetdevTcEventFunc cb, void *userdata) {
        switch (h->nlmsg_type) {
        case RTM_DELLINK: {
                const struct ifinfomsg *ifi = NLMSG_DATA(h);

                if (h->nlmsg_len < NLMSG_LENGTH(sizeof *ifi))
                        cb(&(NetdevTcEvent) { .type = NETDEV_TC_EVENT_LOST }, userdata);
                else
                        cb(&(NetdevTcEvent) { .type = NETDEV_TC_EVENT_LINK_DEL, .ifindex = ifi->ifi_index },
                           userdata);
                break;
        }
        case RTM_NEWTFILTER:
        case RTM_DELTFILTER:
        case RTM_DELQDISC:
        case RTM_DELCHAIN:
                if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct tcmsg)))
                        cb(&(NetdevTcEvent) { .type = NETDEV_TC_EVENT_LOST }, userdata);
                else
                        monitor_tc_message(h, cb, userdata);
                break;
        case NLMSG_OVERRUN:
                cb(&(NetdevTcEvent) { .type = NETDEV_TC_EVENT_LOST }, userdata);
                break;
        default:
                break;
        }
}

int netdev_tc_monitor_drain(NetdevTcMonitor *m, NetdevTcEventFunc cb, void *userdata) {
        if (!m || !cb)
                return -EINVAL;
        for (;;) {
                struct sockaddr_nl sa = {};
                socklen_t salen = sizeof sa;
                const struct nlmsghdr *h;
                ssize_t n;
                int left;

                n = recvfrom(m->fd, m->buf, TC_MONITOR_BUF, MSG_DONTWAIT | MSG_TRUNC,
                             (struct sockaddr *) &sa, &salen);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                return 0;
                        if (errno == ENOBUFS) {
                                /* The kernel dropped some: the socket goes on with the next ones. */
                                cb(&(NetdevTcEvent) { .type = NETDEV_TC_EVENT_LOST }, userdata);
                                continue;
                        }
                        return -errno;
                }
                if (sa.nl_pid != 0) /* only the kernel speaks for the kernel */
                        continue;
                if ((size_t) n > TC_MONITOR_BUF) {
                        /* Cut short: a link's message can be that big, a tc one of ours cannot. What is
                         * in the buffer is the beginning of one message. */
                        h = (const struct nlmsghdr *) m->buf;
                        if (h->nlmsg_type == RTM_NEWLINK)
                                continue;
                        if (h->nlmsg_type == RTM_DELLINK)
                                monitor_message(h, cb, userdata);
                        else
                                cb(&(NetdevTcEvent) { .type = NETDEV_TC_EVENT_LOST }, userdata);
                        continue;
                }
                left = (int) n;
                for (h = (const struct nlmsghdr *) m->buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left))
                        monitor_message(h, cb, userdata);
        }
}
