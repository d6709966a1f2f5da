/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <stdarg.h>

#include "fdpass.h"
#include "handlers.h"
#include "ifname.h"
#include "log.h"
#include "macro.h"
#include "netdev.h"

_printf_(3, 4) static int reply_error(NhReply *reply, int error, const char *format, ...) {
        va_list ap;

        error = error < 0 ? -error : error;
        if (error == 0)
                error = EIO;
        reply->error = error;
        reply->ifindex = 0;
        reply->n_fds = 0;
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

        r = netdev_tap_create(t->ifname, t->vnet_hdr, t->queues, fds);
        if (r == -EEXIST)
                return reply_error(reply, EEXIST, "link %s already exists", t->ifname);
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

        r = netdev_link_delete(link.ifindex);
        if (r == -ENODEV)
                return reply_error(reply, ENODEV, "link %s does not exist", d->ifname);
        if (r < 0)
                return reply_error(reply, r, "failed to delete %s: %s", d->ifname, strerror(-r));
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
        default:
                r = reply_error(reply, EOPNOTSUPP, "unknown verb %u", (unsigned) req->verb);
        }
        if (n_fds)
                *n_fds = r < 0 ? 0 : n;
        return r;
}
