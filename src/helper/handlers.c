/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <cap-ng.h>
#include <linux/capability.h>
#include <linux/if_link.h>
#include <net/if_arp.h>
#include <stdarg.h>
#include <sys/sysmacros.h>

#include "fdpass.h"
#include "handlers.h"
#include "ifname.h"
#include "log.h"
#include "macro.h"
#include "netdev.h"
#include "qos-handlers.h"

int reply_error(NhReply *reply, int error, const char *format, ...) {
        va_list ap;

        error = error < 0 ? -error : error;
        if (error == 0)
                error = EIO;
        reply->error = error;
        reply->ifindex = 0;
        reply->n_fds = 0;
        reply->has_noqueue_applied = reply->noqueue_applied = false;
        reply->has_qos_caps = false;
        va_start(ap, format);
        vsnprintf(reply->message, sizeof reply->message, format, ap);
        va_end(ap);
        return -error;
}

static const char *acl_name(const Acl *acl) {
        return acl_path(acl) ?: NETHELPER_ACL_FILE;
}

static const char *acl_unusable(const Acl *acl) {
        if (!acl)
                return "no ACL";
        return acl_load_error(acl);
}

static bool is_ours(const NetdevLink *l) {
        return streq(l->alias, NETDEV_VIRTBUS_ALIAS);
}

static int delete_quietly(int ifindex, const char *ifname) {
        int r;

        if (ifindex <= 0)
                return 0;
        r = netdev_link_delete(ifindex);
        if (r < 0)
                log_warning_errno(r, "Failed to delete %s while undoing a failed request: %m", ifname);
        return r;
}

/* noqueue is an optimisation (the guest already queued its packets): a kernel that refuses it
 * leaves the default qdisc and the request still succeeds, with the reason in the reply. */
static void apply_noqueue(int ifindex, const char *ifname, NhReply *reply) {
        int r;

        r = netdev_qdisc_set_root_noqueue(ifindex);
        reply->has_noqueue_applied = true;
        reply->noqueue_applied = r >= 0;
        if (r < 0) {
                log_warning_errno(r, "Cannot make noqueue the root qdisc of %s, keeping the default: %m",
                                  ifname);
                snprintf(reply->message, sizeof reply->message, "root qdisc noqueue not applied to %s: %s",
                         ifname, strerror(-r));
        }
}

static int handle_bridge_create(const Acl *acl, const NhBridgeCreate *b, NhReply *reply) {
        NetdevLink link;
        EtherAddr mac;
        int r;

        if (acl_unusable(acl))
                return reply_error(reply, EPERM, "cannot create bridge %s: ACL not usable: %s", b->ifname,
                                   acl_unusable(acl));
        /* Names the admin reserved (e.g. "deny br0") are never created, even if free. */
        if (acl_denies(acl, b->ifname))
                return reply_error(reply, EPERM, "bridge %s is denied by %s", b->ifname, acl_name(acl));

        r = netdev_link_lookup(b->ifname, &link);
        if (r >= 0) {
                if (streq(link.kind, "bridge"))
                        return reply_error(reply, EEXIST, "bridge %s already exists", b->ifname);
                return reply_error(reply, EEXIST, "a link named %s already exists (kind %s)", b->ifname,
                                   isempty(link.kind) ? "none" : link.kind);
        }
        if (r != -ENODEV)
                return reply_error(reply, r, "cannot look up %s: %s", b->ifname, strerror(-r));

        memcpy(mac.bytes, b->mac, sizeof mac.bytes);
        r = netdev_bridge_create(b->ifname, b->has_mac ? &mac : NULL, b->mtu, b->stp, b->forward_delay);
        if (r == -EEXIST) /* lost a race: not ours, so not ours to clean up either */
                return reply_error(reply, EEXIST, "bridge %s already exists", b->ifname);
        if (r < 0)
                return reply_error(reply, r, "failed to create bridge %s: %s", b->ifname, strerror(-r));

        /* From here on the bridge is ours: any failure deletes it again. */
        r = netdev_link_lookup(b->ifname, &link);
        if (r < 0)
                return reply_error(reply, r, "bridge %s vanished after creation: %s", b->ifname,
                                   strerror(-r));

        for (size_t i = 0; i < b->n_addresses; i++) {
                const NhAddress *a = &b->addresses[i];
                NetdevAddress na = { .family = a->family, .prefixlen = a->prefixlen };
                char s[INET6_ADDRSTRLEN] = "?";

                memcpy(na.address, a->address, sizeof na.address);
                r = netdev_address_add(link.ifindex, &na);
                if (r < 0) {
                        (void) inet_ntop(a->family, a->address, s, sizeof s);
                        delete_quietly(link.ifindex, b->ifname);
                        return reply_error(reply, r, "failed to add address %s/%u to bridge %s: %s", s,
                                           a->prefixlen, b->ifname, strerror(-r));
                }
        }

        r = netdev_link_set_up(link.ifindex);
        if (r < 0) {
                delete_quietly(link.ifindex, b->ifname);
                return reply_error(reply, r, "failed to bring bridge %s up: %s", b->ifname, strerror(-r));
        }

        reply->ifindex = link.ifindex;
        return 0;
}

/* A tap may join a bridge virtbus created, or one the admin allowed; a deny rule always wins. */
static int check_bridge_attach(const Acl *acl, const char *tap, const char *bridge, NetdevLink *ret,
                               NhReply *reply) {
        int r;

        r = netdev_link_lookup(bridge, ret);
        if (r == -ENODEV)
                return reply_error(reply, ENODEV, "bridge %s does not exist", bridge);
        if (r < 0)
                return reply_error(reply, r, "cannot look up bridge %s: %s", bridge, strerror(-r));
        if (!streq(ret->kind, "bridge"))
                return reply_error(reply, EPERM, "%s is not a bridge, cannot attach %s to it", bridge, tap);
        if (acl_unusable(acl))
                return reply_error(reply, EPERM, "cannot attach %s to bridge %s: ACL not usable: %s", tap,
                                   bridge, acl_unusable(acl));
        if (acl_denies(acl, bridge))
                return reply_error(reply, EPERM, "bridge %s is denied by %s", bridge, acl_name(acl));
        if (!is_ours(ret) && !acl_allows(acl, bridge))
                return reply_error(reply, EPERM, "bridge %s is not allowed by %s", bridge, acl_name(acl));
        return 0;
}

static int handle_tap_create(const Acl *acl, const NhTapCreate *t, NhReply *reply, int *fds, size_t *n_fds) {
        NetdevLink bridge = {}, tap = {};
        uint32_t mtu;
        bool tun_refused;
        int r;

        if (!startswith(t->ifname, VIRTBUS_TAP_PREFIX))
                return reply_error(reply, EPERM, "tap name %s does not start with \"%s\"", t->ifname,
                                   VIRTBUS_TAP_PREFIX);
        if (t->queues < 1 || t->queues > NH_QUEUES_MAX)
                return reply_error(reply, EINVAL, "invalid number of queues %u", t->queues);

        r = netdev_link_lookup(t->ifname, NULL);
        if (r >= 0)
                return reply_error(reply, EEXIST, "link %s already exists", t->ifname);
        if (r != -ENODEV)
                return reply_error(reply, r, "cannot look up %s: %s", t->ifname, strerror(-r));

        if (!isempty(t->bridge)) {
                r = check_bridge_attach(acl, t->ifname, t->bridge, &bridge, reply);
                if (r < 0)
                        return r;
        }

        r = netdev_tap_create(t->ifname, t->vnet_hdr, t->queues, fds, &tun_refused);
        if (r == -EEXIST)
                return reply_error(reply, EEXIST, "link %s already exists", t->ifname);
        /* The device node itself refused (e.g. the unit's DeviceAllow=) reads differently from
         * the kernel refusing the tap. */
        if (r < 0 && tun_refused)
                return reply_error(reply, r, "failed to create tap %s: cannot open " NETDEV_TUN_PATH ": %s",
                                   t->ifname, strerror(-r));
        if (r < 0)
                return reply_error(reply, r, "failed to create tap %s: %s", t->ifname, strerror(-r));

        r = netdev_link_lookup(t->ifname, &tap);
        if (r < 0) {
                reply_error(reply, r, "tap %s vanished after creation: %s", t->ifname, strerror(-r));
                goto fail;
        }
        if (t->has_mac) {
                EtherAddr mac;

                memcpy(mac.bytes, t->mac, sizeof mac.bytes);
                r = netdev_link_set_mac(tap.ifindex, &mac);
                if (r < 0) {
                        reply_error(reply, r, "failed to set the MAC address of %s: %s", t->ifname,
                                    strerror(-r));
                        goto fail;
                }
        }
        /* Without an explicit MTU the tap follows its bridge, as libvirt does: otherwise a
         * 1500-byte tap would pull a jumbo-frame bridge's MTU down when it joins. */
        mtu = t->mtu ?: (isempty(t->bridge) ? 0 : bridge.mtu);
        if (mtu > 0) {
                r = netdev_link_set_mtu(tap.ifindex, mtu);
                if (r < 0) {
                        reply_error(reply, r, "failed to set MTU %u on %s: %s", mtu, t->ifname,
                                    strerror(-r));
                        goto fail;
                }
        }
        if (!isempty(t->bridge)) {
                r = netdev_link_set_master(tap.ifindex, bridge.ifindex);
                if (r < 0) {
                        reply_error(reply, r, "failed to attach %s to bridge %s: %s", t->ifname, t->bridge,
                                    strerror(-r));
                        goto fail;
                }
        }
        r = netdev_link_set_up(tap.ifindex);
        if (r < 0) {
                reply_error(reply, r, "failed to bring %s up: %s", t->ifname, strerror(-r));
                goto fail;
        }
        /* Once it is up: bringing a device up attaches the default qdisc only if there is none. */
        if (t->noqueue)
                apply_noqueue(tap.ifindex, t->ifname, reply);

        reply->ifindex = tap.ifindex;
        reply->n_fds = t->queues;
        *n_fds = t->queues;
        return 0;

fail:
        /* Closing the last queue fd removes a non-persistent tap; deleting it first makes that
         * immediate and explicit. */
        delete_quietly(tap.ifindex, t->ifname);
        close_many(fds, t->queues);
        return -(int) reply->error;
}

static const uint32_t macvtap_kernel_mode[_NH_MACVTAP_MODE_MAX] = {
        [NH_MACVTAP_MODE_VEPA] = MACVLAN_MODE_VEPA,
        [NH_MACVTAP_MODE_BRIDGE] = MACVLAN_MODE_BRIDGE,
        [NH_MACVTAP_MODE_PRIVATE] = MACVLAN_MODE_PRIVATE,
        [NH_MACVTAP_MODE_PASSTHROUGH] = MACVLAN_MODE_PASSTHRU,
};

/* The ACL names the devices guests may reach: bridges for taps, lower devices for macvtaps. On top
 * of it, a lower device must be a real Ethernet device, not one of the guest-facing kind: a
 * macvlan lower would silently stand for its own lower device (which the ACL may not allow), and a
 * bridge virtbus manages belongs to its network (deleted with it, its bandwidth accounted there). */
static int check_lower(const Acl *acl, const char *macvtap, const char *name, NetdevLink *ret,
                       NhReply *reply) {
        int r;

        r = netdev_link_lookup(name, ret);
        if (r == -ENODEV)
                return reply_error(reply, ENODEV, "lower device %s does not exist", name);
        if (r < 0)
                return reply_error(reply, r, "cannot look up lower device %s: %s", name, strerror(-r));
        if (streq(ret->kind, "tun"))
                return reply_error(reply, EPERM, "lower device %s is a tap, a macvtap cannot sit on it",
                                   name);
        if (streq(ret->kind, "macvtap") || streq(ret->kind, "macvlan"))
                return reply_error(reply, EPERM,
                                   "lower device %s is itself a %s, a macvtap cannot sit on it", name,
                                   ret->kind);
        if (streq(ret->kind, "bridge") && is_ours(ret))
                return reply_error(reply, EPERM,
                                   "lower device %s is a bridge virtbus manages for a network, "
                                   "a macvtap cannot sit on it",
                                   name);
        if (ret->arptype != ARPHRD_ETHER)
                return reply_error(reply, EPERM, "lower device %s is not an Ethernet device", name);
        if (acl_unusable(acl))
                return reply_error(reply, EPERM, "cannot create %s on lower device %s: ACL not usable: %s",
                                   macvtap, name, acl_unusable(acl));
        if (acl_denies(acl, name))
                return reply_error(reply, EPERM, "lower device %s is denied by %s", name, acl_name(acl));
        if (!acl_allows(acl, name))
                return reply_error(reply, EPERM, "lower device %s is not allowed by %s", name,
                                   acl_name(acl));
        return 0;
}

/* Passthrough hands the whole lower device to one guest; every guest on a lower device needs a MAC
 * of its own. The kernel enforces some of this later, with less telling errors. */
static int check_lower_users(const NhMacvtapCreate *m, const NetdevLink *lower, NhReply *reply) {
        _cleanup_free_ NetdevMacvlan *uppers = NULL;
        size_t n = 0;
        char s[ETHER_ADDR_STR_MAX];
        int r;

        r = netdev_macvlan_uppers(lower->ifindex, &uppers, &n);
        if (r < 0)
                return reply_error(reply, r, "cannot list the devices on lower device %s: %s", m->lower,
                                   strerror(-r));
        for (size_t i = 0; i < n; i++) {
                if (uppers[i].mode == MACVLAN_MODE_PASSTHRU)
                        return reply_error(reply, EBUSY,
                                           "lower device %s is already used by %s in passthrough mode "
                                           "(one guest per lower device)",
                                           m->lower, uppers[i].name);
                if (m->mode == NH_MACVTAP_MODE_PASSTHROUGH)
                        return reply_error(reply, EBUSY,
                                           "lower device %s already carries %s %s, passthrough mode needs "
                                           "it to itself",
                                           m->lower, uppers[i].kind, uppers[i].name);
                if (memcmp(uppers[i].mac.bytes, m->mac, sizeof m->mac) == 0)
                        return reply_error(reply, EADDRINUSE,
                                           "MAC %s is already used by %s on lower device %s",
                                           ether_addr_format(&uppers[i].mac, s), uppers[i].name, m->lower);
        }
        if (m->mode != NH_MACVTAP_MODE_PASSTHROUGH && memcmp(lower->mac.bytes, m->mac, sizeof m->mac) == 0)
                return reply_error(reply, EADDRINUSE, "MAC %s is the address of lower device %s itself",
                                   ether_addr_format(&lower->mac, s), m->lower);
        return 0;
}

/* The helper keeps CAP_NET_ADMIN only, so this is false unless that policy is widened; then a
 * static /dev without udev still works. */
static bool have_cap_mknod(void) {
        capng_clear(CAPNG_SELECT_BOTH);
        if (capng_get_caps_process() < 0)
                return false;
        return capng_have_capability(CAPNG_EFFECTIVE, CAP_MKNOD);
}

static int handle_macvtap_create(const Acl *acl, const NhMacvtapCreate *m, NhReply *reply, int *fds,
                                 size_t *n_fds) {
        const char *mode = nh_macvtap_mode_to_string(m->mode);
        NetdevLink lower = {}, link = {};
        EtherAddr mac;
        dev_t devnum;
        bool mknod_ok;
        int r;

        if (!startswith(m->ifname, VIRTBUS_MACVTAP_PREFIX))
                return reply_error(reply, EPERM, "macvtap name %s does not start with \"%s\"", m->ifname,
                                   VIRTBUS_MACVTAP_PREFIX);
        if (!mode)
                return reply_error(reply, EINVAL, "invalid macvtap mode %u", (unsigned) m->mode);
        if (m->queues < 1 || m->queues > NH_QUEUES_MAX)
                return reply_error(reply, EINVAL, "invalid number of queues %u", m->queues);

        r = netdev_link_lookup(m->ifname, NULL);
        if (r >= 0)
                return reply_error(reply, EEXIST, "link %s already exists", m->ifname);
        if (r != -ENODEV)
                return reply_error(reply, r, "cannot look up %s: %s", m->ifname, strerror(-r));

        r = check_lower(acl, m->ifname, m->lower, &lower, reply);
        if (r < 0)
                return r;
        if (m->mtu > lower.mtu)
                return reply_error(reply, EINVAL, "MTU %u of %s exceeds the MTU %u of lower device %s",
                                   m->mtu, m->ifname, lower.mtu, m->lower);
        r = check_lower_users(m, &lower, reply);
        if (r < 0)
                return r;

        memcpy(mac.bytes, m->mac, sizeof mac.bytes);
        r = netdev_macvtap_create(m->ifname, lower.ifindex, macvtap_kernel_mode[m->mode], &mac, m->mtu);
        if (r == -EEXIST) /* lost a race: not ours to clean up */
                return reply_error(reply, EEXIST, "link %s already exists", m->ifname);
        if (r < 0)
                return reply_error(reply, r, "failed to create macvtap %s on %s in %s mode: %s", m->ifname,
                                   m->lower, mode, strerror(-r));

        /* From here on the macvtap is ours: any failure deletes it again. */
        r = netdev_link_lookup(m->ifname, &link);
        if (r < 0) {
                reply_error(reply, r, "macvtap %s vanished after creation: %s", m->ifname, strerror(-r));
                goto fail;
        }
        /* In passthrough mode the kernel gave it the lower device's MAC; setting the guest's sets the
         * lower device's too (the kernel puts the old one back when the macvtap goes). */
        if (memcmp(link.mac.bytes, mac.bytes, sizeof mac.bytes) != 0) {
                r = netdev_link_set_mac(link.ifindex, &mac);
                if (r < 0) {
                        reply_error(reply, r,
                                    "failed to set the MAC address of %s (%s mode, lower device %s): %s",
                                    m->ifname, mode, m->lower, strerror(-r));
                        goto fail;
                }
        }
        r = netdev_link_set_up(link.ifindex);
        if (r < 0) {
                reply_error(reply, r, "failed to bring %s up: %s", m->ifname, strerror(-r));
                goto fail;
        }
        if (m->noqueue)
                apply_noqueue(link.ifindex, m->ifname, reply);

        r = netdev_macvtap_devnum(m->ifname, link.ifindex, &devnum);
        if (r < 0) {
                reply_error(reply, r, "cannot read the device number of %s from /sys/class/net: %s",
                            m->ifname, strerror(-r));
                goto fail;
        }
        mknod_ok = have_cap_mknod();
        r = netdev_macvtap_open(link.ifindex, devnum, m->queues, m->vnet_hdr, mknod_ok, fds);
        if (r == -ENOENT) {
                reply_error(reply, ENOENT, "device node /dev/tap%d did not appear%s", link.ifindex,
                            mknod_ok ? "" : " (and the helper lacks CAP_MKNOD to create it)");
                goto fail;
        }
        if (r == -EMEDIUMTYPE) {
                reply_error(reply, EEXIST, "/dev/tap%d is not the character device %u:%u of %s",
                            link.ifindex, major(devnum), minor(devnum), m->ifname);
                goto fail;
        }
        if (r < 0) {
                reply_error(reply, r, "failed to open /dev/tap%d for %s: %s", link.ifindex, m->ifname,
                            strerror(-r));
                goto fail;
        }

        reply->ifindex = link.ifindex;
        reply->n_fds = m->queues;
        *n_fds = m->queues;
        return 0;

fail:
        delete_quietly(link.ifindex, m->ifname);
        return -(int) reply->error;
}

static int handle_vhost_open(const NhVhostOpen *v, NhReply *reply, int *fds, size_t *n_fds) {
        int r;

        if (v->queues < 1 || v->queues > NH_QUEUES_MAX)
                return reply_error(reply, EINVAL, "invalid number of queues %u", v->queues);
        r = netdev_vhost_open(v->queues, fds);
        if (r == -ENOENT)
                return reply_error(reply, ENOENT, NETDEV_VHOST_NET_PATH " is not available");
        if (r == -ENODEV || r == -ENXIO) /* a static node without its driver */
                return reply_error(reply, r, NETDEV_VHOST_NET_PATH " is not available: %s", strerror(-r));
        if (r == -EMEDIUMTYPE)
                return reply_error(reply, EPERM,
                                   NETDEV_VHOST_NET_PATH " is not the vhost-net character device");
        if (r < 0)
                return reply_error(reply, r, "cannot open " NETDEV_VHOST_NET_PATH ": %s", strerror(-r));
        reply->n_fds = v->queues;
        *n_fds = v->queues;
        return 0;
}

static int handle_link_delete(const NhLinkDelete *d, NhReply *reply) {
        const char *prefix = NULL, *kind, *what;
        NetdevLink link;
        int r;

        switch (d->kind) {
        case NH_LINK_TAP:
                prefix = VIRTBUS_TAP_PREFIX;
                kind = "tun";
                what = "tap";
                break;
        case NH_LINK_MACVTAP:
                prefix = VIRTBUS_MACVTAP_PREFIX;
                kind = "macvtap";
                what = "macvtap";
                break;
        case NH_LINK_BRIDGE:
                kind = "bridge";
                what = "bridge";
                break;
        case NH_LINK_IFB:
                prefix = QOS_IFB_PREFIX;
                kind = "ifb";
                what = "IFB";
                break;
        default:
                return reply_error(reply, EINVAL, "unknown link kind %u", (unsigned) d->kind);
        }

        if (prefix && !startswith(d->ifname, prefix))
                return reply_error(reply, EPERM,
                                   "%s is not a virtbus %s (the name does not start with \"%s\")", d->ifname,
                                   what, prefix);

        r = netdev_link_lookup(d->ifname, &link);
        if (r == -ENODEV)
                return reply_error(reply, ENODEV, "link %s does not exist", d->ifname);
        if (r < 0)
                return reply_error(reply, r, "cannot look up %s: %s", d->ifname, strerror(-r));
        if (!streq(link.kind, kind))
                return reply_error(reply, EPERM, "link %s is not a %s (kind %s), refusing to delete it",
                                   d->ifname, what, isempty(link.kind) ? "none" : link.kind);
        /* Only bridges carrying our marker: an admin's bridge must survive any request. */
        if (d->kind == NH_LINK_BRIDGE && !is_ours(&link))
                return reply_error(reply, EPERM,
                                   "bridge %s was not created by virtbus, refusing to delete it", d->ifname);
        if (d->kind == NH_LINK_IFB && !is_ours(&link))
                return reply_error(reply, EPERM, "IFB %s was not created by virtbus, refusing to delete it",
                                   d->ifname);

        r = netdev_link_delete(link.ifindex);
        if (r == -ENODEV)
                return reply_error(reply, ENODEV, "link %s does not exist", d->ifname);
        if (r < 0)
                return reply_error(reply, r, "failed to delete %s: %s", d->ifname, strerror(-r));
        /* The IFB that shaped its ingress has no purpose left (best effort: an orphan is found by
         * name later). */
        if (d->kind != NH_LINK_IFB)
                (void) nethelper_qos_delete_ifb(link.ifindex);
        return 0;
}

int nethelper_handle(const Acl *acl, const NhRequest *req, NhReply *reply, int *fds, size_t *n_fds) {
        size_t n = 0;
        int r;

        *reply = (NhReply) { .seq = req->seq };
        switch (req->verb) {
        case NH_VERB_BRIDGE_CREATE:
                r = handle_bridge_create(acl, &req->bridge_create, reply);
                break;
        case NH_VERB_TAP_CREATE:
                r = handle_tap_create(acl, &req->tap_create, reply, fds, &n);
                break;
        case NH_VERB_LINK_DELETE:
                r = handle_link_delete(&req->link_delete, reply);
                break;
        case NH_VERB_MACVTAP_CREATE:
                r = handle_macvtap_create(acl, &req->macvtap_create, reply, fds, &n);
                break;
        case NH_VERB_VHOST_OPEN:
                r = handle_vhost_open(&req->vhost_open, reply, fds, &n);
                break;
        case NH_VERB_QOS_PROBE:
        case NH_VERB_QOS_APPLY_INTERFACE:
        case NH_VERB_QOS_CLEAR_INTERFACE:
        case NH_VERB_QOS_BRIDGE_SETUP:
        case NH_VERB_QOS_BRIDGE_TEARDOWN:
        case NH_VERB_QOS_FLOOR_ADD:
        case NH_VERB_QOS_FLOOR_REMOVE:
        case NH_VERB_QOS_DEFAULT_RATE:
                r = nethelper_handle_qos(acl, req, reply);
                break;
        default:
                r = reply_error(reply, EOPNOTSUPP, "unknown verb %u", (unsigned) req->verb);
        }
        if (n_fds)
                *n_fds = r < 0 ? 0 : n;
        return r;
}
