/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "domain-driver.h"
#include "domain-net.h"
#include "errors.h"
#include "fdpass.h"
#include "i18n.h"
#include "ifname.h"
#include "log.h"
#include "netdev.h"
#include "network-driver.h"
#include "qos-driver.h"

#define HELPER_TIMEOUT_MS (30 * 1000)

static bool ifname_used_by_domains(Manager *m, const char *name, const Domain *self, size_t upto) {
        for (Domain *d = m->domains; d; d = d->next) {
                if (!d->live)
                        continue;
                for (size_t i = 0; i < d->live->n_nets; i++) {
                        if (d == self && i >= upto)
                                break;
                        if (streq_ptr(d->live->nets[i].ifname, name))
                                return true;
                }
        }
        return false;
}

static int pick_ifname(Domain *d, size_t index, const char *prefix, char **ret) {
        for (unsigned n = 0; n < 65536; n++) {
                char name[IFNAMSIZ];

                snprintf(name, sizeof name, "%s%u", prefix, n);
                if (ifname_used_by_domains(d->manager, name, d, index) || netdev_link_exists(name))
                        continue;
                *ret = strdup(name);
                return *ret ? 0 : -ENOMEM;
        }
        return -ENOSPC;
}

int domain_net_assign_names(Domain *d, sd_bus_error *error) {
        DomainDef *def = d->live;
        int r;

        for (size_t i = 0; i < def->n_nets; i++) {
                DomainNet *net = &def->nets[i];

                if (!net->alias && asprintf(&net->alias, "net%zu", i) < 0)
                        return -ENOMEM;
                if (net->ifname) {
                        /* the helper creates and deletes only devices with our prefixes */
                        const char *prefix = net->type == DOMAIN_NET_TYPE_DIRECT ? VIRTBUS_MACVTAP_PREFIX
                                                                                  : VIRTBUS_TAP_PREFIX;
                        if (!startswith(net->ifname, prefix))
                                return libvirt_error_setf(error, EOPNOTSUPP,
                                                          _("unsupported configuration: target dev '%s' of domain '%s': virtbus names the devices it creates '%sN'; remove <target dev> to let it pick one"),
                                                          net->ifname, def->name, prefix);
                        continue;
                }
                r = pick_ifname(d, i, net->type == DOMAIN_NET_TYPE_DIRECT ? VIRTBUS_MACVTAP_PREFIX : VIRTBUS_TAP_PREFIX,
                                &net->ifname);
                if (r < 0)
                        return libvirt_error_setf(error, r, _("operation failed: no free interface name for domain '%s'"),
                                                  def->name);
        }
        return 0;
}

void domain_net_fds_close(DomainNetFds *fds, size_t n) {
        for (size_t i = 0; fds && i < n; i++) {
                close_many(fds[i].tap_fds, fds[i].n_tap_fds);
                close_many(fds[i].vhost_fds, fds[i].n_vhost_fds);
                fds[i].n_tap_fds = fds[i].n_vhost_fds = 0;
        }
}

static int helper_request(Manager *m, const NhRequest *req, int *fds, size_t max_fds, size_t *n_fds, NhReply *reply,
                          sd_bus_error *error, const char *what) {
        int r;

        r = nh_call(m->helper_socket, req, HELPER_TIMEOUT_MS, reply, fds, max_fds, n_fds);
        if (r < 0)
                return libvirt_error_setf(error, r, _("operation failed: %s: cannot reach virtbus-nethelper at %s: %s"),
                                          what, m->helper_socket, strerror(-r));
        if (reply->error != 0)
                return libvirt_error_setf(error, reply->error, _("operation failed: %s: %s"), what,
                                          reply->message[0] ? reply->message : strerror(reply->error));
        if (reply->has_noqueue_applied && !reply->noqueue_applied)
                log_warning("%s: noqueue not applied: %s", what, reply->message);
        return 0;
}

static NhMacvtapMode macvtap_mode(DomainMacvtapMode m) {
        switch (m) {
        case DOMAIN_MACVTAP_BRIDGE:
                return NH_MACVTAP_MODE_BRIDGE;
        case DOMAIN_MACVTAP_PRIVATE:
                return NH_MACVTAP_MODE_PRIVATE;
        case DOMAIN_MACVTAP_PASSTHROUGH:
                return NH_MACVTAP_MODE_PASSTHROUGH;
        default:
                return NH_MACVTAP_MODE_VEPA;
        }
}

/* Where a tap goes: the network's bridge (which must be running) or the named bridge. */
static int resolve_bridge(Domain *d, const DomainNet *net, const char **ret, sd_bus_error *error) {
        Network *n;

        if (net->type == DOMAIN_NET_TYPE_BRIDGE) {
                *ret = net->source;
                return 0;
        }
        n = manager_find_network_by_name(d->manager, net->source);
        if (!n)
                return libvirt_error_setf(error, ENOENT, _("Network not found: no network with matching name '%s'"),
                                          net->source);
        if (!network_is_active(n))
                return libvirt_error_setf(error, EINVAL, _("Requested operation is not valid: network '%s' is not active"),
                                          net->source);
        *ret = n->live->bridge;
        return 0;
}

static int create_one(Domain *d, size_t index, DomainNetFds *out, sd_bus_error *error) {
        const DomainNet *net = &d->live->nets[index];
        unsigned queues = MAX(net->queues, 1u);
        bool virtio = net->model == DOMAIN_NET_MODEL_VIRTIO;
        _cleanup_free_ char *what = NULL;
        char label[DOMAIN_NET_LABEL_MAX];
        const char *bridge = NULL;
        NhRequest req = {};
        NhReply reply;
        size_t n_fds = 0;
        int r;

        domain_net_label(net, index, label);
        if (queues > NH_QUEUES_MAX)
                return libvirt_error_setf(error, EOPNOTSUPP, _("unsupported configuration: at most %d queues per interface"),
                                          NH_QUEUES_MAX);
        if (net->type == DOMAIN_NET_TYPE_NETWORK) {
                /* the floor before the tap: admission fails before anything exists */
                r = resolve_bridge(d, net, &bridge, error);
                if (r >= 0)
                        r = qos_interface_plug(d, index, error);
                if (r < 0)
                        return r;
        }

        if (net->type == DOMAIN_NET_TYPE_DIRECT) {
                NhMacvtapCreate *c = &req.macvtap_create;

                req.verb = NH_VERB_MACVTAP_CREATE;
                snprintf(c->ifname, sizeof c->ifname, "%s", net->ifname);
                snprintf(c->lower, sizeof c->lower, "%s", net->source);
                c->mode = macvtap_mode(net->mode);
                memcpy(c->mac, net->mac.bytes, 6);
                c->mtu = net->mtu;
                c->vnet_hdr = virtio;
                c->queues = queues;
                c->noqueue = true; /* <bandwidth> replaces it below */
                if (asprintf(&what, "cannot create macvtap '%s' on '%s' for domain '%s'", net->ifname, net->source,
                             d->live->name) < 0)
                        return -ENOMEM;
        } else {
                NhTapCreate *c = &req.tap_create;

                r = resolve_bridge(d, net, &bridge, error);
                if (r < 0)
                        return r;
                req.verb = NH_VERB_TAP_CREATE;
                snprintf(c->ifname, sizeof c->ifname, "%s", net->ifname);
                snprintf(c->bridge, sizeof c->bridge, "%s", bridge);
                /* the host side must never carry the guest's MAC: libvirt's 0xFE first byte */
                c->has_mac = true;
                memcpy(c->mac, net->mac.bytes, 6);
                c->mac[0] = 0xFE;
                c->mtu = net->mtu;
                c->vnet_hdr = virtio;
                c->queues = queues;
                c->noqueue = true;
                if (asprintf(&what, "cannot create tap '%s' on bridge '%s' for domain '%s'", net->ifname, bridge,
                             d->live->name) < 0)
                        return -ENOMEM;
        }

        r = helper_request(d->manager, &req, out->tap_fds, NH_QUEUES_MAX, &n_fds, &reply, error, what);
        if (r < 0)
                return r;
        out->n_tap_fds = n_fds;
        if (n_fds != queues)
                return libvirt_error_setf(error, EPROTO, _("operation failed: %s: helper returned %zu fds, expected %u"),
                                          what, n_fds, queues);

        /* vhost-net: only for virtio; default = use it when possible, 'vhost' = must, 'qemu' = never */
        if (virtio && net->driver != DOMAIN_NET_DRIVER_QEMU) {
                _cleanup_(sd_bus_error_free) sd_bus_error vhost_error = SD_BUS_ERROR_NULL;
                NhRequest vreq = { .verb = NH_VERB_VHOST_OPEN, .vhost_open.queues = queues };

                r = helper_request(d->manager, &vreq, out->vhost_fds, NH_QUEUES_MAX, &n_fds, &reply, &vhost_error,
                                   "cannot open /dev/vhost-net");
                if (r >= 0 && n_fds == queues)
                        out->n_vhost_fds = n_fds;
                else {
                        close_many(out->vhost_fds, r >= 0 ? n_fds : 0);
                        if (net->driver == DOMAIN_NET_DRIVER_VHOST)
                                return libvirt_error_setf(error, ENODEV,
                                                          _("unsupported configuration: vhost-net was requested for interface %s but is not available: %s"),
                                                          label, reply.message[0] ? reply.message : vhost_error.message);
                        log_debug("Domain %s interface %s: vhost-net not available, using userspace virtio-net (%s).",
                                  d->live->name, label, vhost_error.message);
                }
        }

        /* <bandwidth>: HTB and ingress shaping instead of noqueue */
        return qos_interface_apply(d, index, error);
}

static void delete_link(Manager *m, const char *ifname, NhLinkKind kind) {
        NhRequest req = { .verb = NH_VERB_LINK_DELETE, .link_delete.kind = kind };
        NhReply reply;
        int r;

        /* A tap goes with QEMU's last fd: usually there is nothing left to ask the helper for. */
        if (kind == NH_LINK_TAP && !netdev_link_exists(ifname)) {
                log_debug("%s is gone already.", ifname);
                return;
        }
        snprintf(req.link_delete.ifname, sizeof req.link_delete.ifname, "%s", ifname);
        r = nh_call(m->helper_socket, &req, HELPER_TIMEOUT_MS, &reply, NULL, 0, NULL);
        if (r < 0)
                log_ifname(LOG_WARNING, r, ifname, "Cannot delete %s: helper unreachable: %m", ifname);
        else if (reply.error != 0 && reply.error != ENODEV)
                log_ifname(LOG_WARNING, reply.error, ifname, "Cannot delete %s: %s", ifname, reply.message);
}

static void release_upto(Domain *d, size_t n) {
        bool shaped = false;

        for (size_t i = 0; i < n && i < d->live->n_nets; i++) {
                const DomainNet *net = &d->live->nets[i];

                shaped = shaped || bandwidth_is_set(&net->bandwidth);
                if (net->ifname)
                        /* a tap goes away by itself with its last fd; a macvtap link stays until deleted */
                        delete_link(d->manager, net->ifname,
                                    net->type == DOMAIN_NET_TYPE_DIRECT ? NH_LINK_MACVTAP : NH_LINK_TAP);
                /* the floor class after its device (the record goes with the status file) */
                qos_interface_unplug(d, i, false);
        }
        /* the IFB of a tap that vanished with QEMU before we could delete it */
        if (shaped)
                qos_sweep_ifbs(d->manager);
}

int domain_net_create(Domain *d, DomainNetFds *fds, sd_bus_error *error) {
        int r;

        /* every plan and every floor checked before the first device exists */
        r = qos_domain_check(d, error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < d->live->n_nets; i++) {
                r = create_one(d, i, &fds[i], error);
                if (r < 0) {
                        domain_net_fds_close(fds, i + 1);
                        release_upto(d, i + 1);
                        return r;
                }
        }
        return 0;
}

void domain_net_release(Domain *d) {
        if (d->live)
                release_upto(d, d->live->n_nets);
}
