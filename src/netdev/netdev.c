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
#include <linux/if_link.h>
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

int netdev_bridge_create(const char *ifname, const EtherAddr *mac, uint32_t mtu, bool stp,
                         uint32_t forward_delay) {
        _cleanup_(rtnl_close) Rtnl n = {};
        _cleanup_(rtnl_link_putp) struct rtnl_link *link = NULL;
        struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
        struct nl_msg *msg;
        struct nlattr *linkinfo, *data;
        int r, ifindex;

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

        r = get_link(&n, 0, ifname, &link);
        if (r < 0)
                return r;
        ifindex = rtnl_link_get_ifindex(link);
        /* IFLA_IFALIAS is ignored on creation, so the marker is a second step; a bridge that
         * cannot be marked must not survive, or nobody could ever delete it through us. */
        r = link_set_alias(&n, ifindex, NETDEV_VIRTBUS_ALIAS);
        if (r < 0) {
                _cleanup_(rtnl_link_putp) struct rtnl_link *del = rtnl_link_alloc();

                if (del) {
                        rtnl_link_set_ifindex(del, ifindex);
                        (void) rtnl_link_delete(n.sk, del);
                }
                return r;
        }
        return 0;

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

int netdev_tap_create(const char *ifname, bool vnet_hdr, unsigned queues, int *fds) {
        struct ifreq ifr = {};
        unsigned opened = 0;
        int r;

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

                fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NOCTTY);
                if (fd < 0) {
                        r = -errno;
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
