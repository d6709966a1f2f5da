/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>

#include "domain-driver.h"
#include "errors.h"
#include "i18n.h"
#include "log.h"
#include "netdev.h"
#include "network-driver.h"
#include "network1.h"
#include "protocol.h"
#include "qos-driver.h"
#include "qos-plan.h"

#define HELPER_TIMEOUT_MS (30 * 1000)

#define log_domain_qos(level, error, d, ...) \
        log_domain_def(level, error, domain_current_def(d), __VA_ARGS__)

/* ---- the helper ---- */

/* One request; on failure an org.libvirt.Error "operation failed: WHAT: why". */
_printf_(5, 6) static int helper_call(Manager *m, const NhRequest *req, NhReply *reply, sd_bus_error *error,
                                      const char *format, ...) {
        _cleanup_free_ char *what = NULL;
        va_list ap;
        int r;

        r = nh_call(m->helper_socket, req, HELPER_TIMEOUT_MS, reply, NULL, 0, NULL);
        if (r >= 0 && reply->error == 0) {
                if (reply->has_noqueue_applied && !reply->noqueue_applied)
                        log_warning("%s: %s", nh_verb_to_string(req->verb), reply->message);
                return 0;
        }
        va_start(ap, format);
        if (vasprintf(&what, format, ap) < 0)
                what = NULL;
        va_end(ap);
        if (r < 0)
                return libvirt_error_setf(error, r,
                                          _("operation failed: %s: cannot reach virtbus-nethelper at %s: %s"),
                                          strna(what), m->helper_socket, strerror(-r));
        return libvirt_error_setf(error, reply->error, _("operation failed: %s: %s"), strna(what),
                                  reply->message[0] ? reply->message : strerror(reply->error));
}

static const char *ingress_mode_str(QosIngressMode mode) {
        switch (mode) {
        case QOS_INGRESS_POLICE:
                return "policing (act_police)";
        case QOS_INGRESS_IFB:
                return "shaping on an IFB (act_mirred redirect)";
        default:
                return "not possible";
        }
}

int qos_caps_get(Manager *m, unsigned *ret, sd_bus_error *error) {
        NhRequest req = { .verb = NH_VERB_QOS_PROBE };
        char s[QOS_CAPS_STR_MAX];
        NhReply reply = {};
        int r;

        if (m->qos_caps_known) {
                *ret = m->qos_caps;
                return 0;
        }
        r = helper_call(m, &req, &reply, error, "cannot probe the kernel's QoS features");
        if (r < 0)
                return r;
        if (!reply.has_qos_caps)
                return libvirt_error_setf(error, EPROTO,
                                          _("operation failed: the QoS probe of virtbus-nethelper gave no answer"));
        m->qos_caps = reply.qos_caps;
        m->qos_caps_known = true;
        log_info("QoS plan: the kernel offers %s; leaf qdisc %s, outbound bandwidth by %s, floors through HTB "
                 "classes and a u32 hash table on the destination MAC.",
                 qos_caps_format(m->qos_caps, s), qos_leaf_to_string(qos_leaf_for(m->qos_caps)),
                 ingress_mode_str(qos_ingress_mode_for(m->qos_caps)));
        *ret = m->qos_caps;
        return 0;
}

/* ---- networks ---- */

static bool has_hierarchy(const Network *n) {
        return n->live && n->live->bandwidth.inbound.set && n->live->bandwidth.inbound.average > 0;
}

uint64_t qos_network_floor_capacity(const Network *n) {
        const NetworkDef *def = network_current_def(n);

        return def && def->bandwidth.inbound.set ? def->bandwidth.inbound.average : 0;
}

static void bridge_request(NhRequest *req, const char *ifname, const QosBridgePlan *p) {
        NhQosBridgeSetup *b = &req->qos_bridge;

        *req = (NhRequest) { .verb = NH_VERB_QOS_BRIDGE_SETUP };
        snprintf(b->ifname, sizeof b->ifname, "%s", ifname);
        b->leaf = p->leaf;
        b->has_hierarchy = p->hierarchy;
        b->root = p->root_class;
        b->def = p->default_class;
        b->has_police = p->ingress.mode == QOS_INGRESS_POLICE;
        b->police = p->ingress.police;
        b->has_ifb = p->ingress.mode == QOS_INGRESS_IFB;
        b->ifb = p->ingress.ifb_class;
}

/* BRIDGE_SETUP for bandwidth bw with floor_sum plugged. */
static int bridge_setup(Network *n, const Bandwidth *bw, uint64_t floor_sum, sd_bus_error *error) {
        Manager *m = n->manager;
        _cleanup_free_ char *msg = NULL;
        QosBridgePlan plan;
        NhRequest req;
        NhReply reply = {};
        unsigned caps;
        int r;

        r = qos_caps_get(m, &caps, error);
        if (r < 0)
                return r;
        r = qos_plan_bridge(bw, floor_sum, caps, &plan, &msg);
        if (r < 0)
                return libvirt_error_setf(error, r, "%s (network '%s')", strna(msg), n->live->name);
        bridge_request(&req, n->live->bridge, &plan);
        return helper_call(m, &req, &reply, error, "cannot set up QoS on bridge '%s' of network '%s'",
                           n->live->bridge, n->live->name);
}

static void bridge_teardown(Network *n) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        NhRequest req = { .verb = NH_VERB_QOS_BRIDGE_TEARDOWN };
        NhReply reply = {};

        snprintf(req.qos_clear.ifname, sizeof req.qos_clear.ifname, "%s", n->live->bridge);
        if (helper_call(n->manager, &req, &reply, &error, "cannot remove QoS from bridge '%s'", n->live->bridge) < 0 &&
            reply.error != ENODEV)
                log_network_def(LOG_WARNING, 0, n->live, "%s", error.message);
}

int qos_network_start(Network *n, sd_bus_error *error) {
        int r;

        if (!bandwidth_is_set(&n->live->bandwidth))
                return 0;
        r = bridge_setup(n, &n->live->bandwidth, n->floor_sum, error);
        if (r < 0) {
                bridge_teardown(n);
                return r;
        }
        log_network_def(LOG_INFO, 0, n->live, "Network %s: QoS set up on bridge %s%s.", n->live->name,
                    n->live->bridge, has_hierarchy(n) ? " (HTB hierarchy for floors)" : "");
        return 0;
}

void qos_network_teardown(Network *n) {
        if (bandwidth_is_set(&n->live->bandwidth))
                bridge_teardown(n);
}

static Network *floor_network(Manager *m, const DomainNet *net) {
        Network *n;

        if (net->type != DOMAIN_NET_TYPE_NETWORK)
                return NULL;
        n = manager_find_network_by_name(m, net->source);
        return n && network_is_active(n) ? n : NULL;
}

/* Is floor i of d plugged into network n? */
static bool floor_on(const Domain *d, size_t i, const Network *n) {
        const DomainNet *net = &d->live->nets[i];

        return d->floors[i].class_id != 0 && net->type == DOMAIN_NET_TYPE_NETWORK && n->live &&
               streq_ptr(net->source, n->live->name);
}

void qos_network_forget_floors(Network *n) {
        Manager *m = n->manager;

        for (Domain *d = m->domains; d; d = d->next) {
                bool dirty = false;

                if (!d->live || !d->floors)
                        continue;
                for (size_t i = 0; i < d->live->n_nets; i++)
                        if (floor_on(d, i, n)) {
                                d->floors[i] = (DomainNetFloor) {};
                                dirty = true;
                        }
                if (dirty && domain_save_status(d) < 0)
                        log_domain_qos(LOG_WARNING, 0, d, "Cannot write the status of domain %s.", d->live->name);
        }
        class_id_bitmap_init(&n->class_ids);
        n->floor_sum = 0;
}

/* ---- floors ---- */

static void floor_request(NhRequest *req, NhVerb verb, const Network *n, uint16_t id, uint64_t sum) {
        *req = (NhRequest) { .verb = verb };
        snprintf(req->qos_floor.ifname, sizeof req->qos_floor.ifname, "%s", n->live->bridge);
        req->qos_floor.class_id = id;
        req->qos_floor.has_default = true;
        qos_plan_default_class(&n->live->bandwidth.inbound, sum, &req->qos_floor.def);
}

/* FLOOR_ADD of class 1:id for net (its inbound), with the default class for the current sum. */
static int floor_add(Network *n, const DomainNet *net, const BandwidthRate *inbound, uint16_t id,
                     sd_bus_error *error) {
        Manager *m = n->manager;
        char mac[ETHER_ADDR_STR_MAX];
        QosFloorPlan fp;
        NhRequest req;
        NhReply reply = {};
        unsigned caps;
        int r;

        r = qos_caps_get(m, &caps, error);
        if (r < 0)
                return r;
        r = qos_plan_floor(&n->live->bandwidth.inbound, inbound, id, &net->mac, &fp);
        if (r < 0)
                return libvirt_error_setf(error, r, _("internal error: no floor plan for class %u"), id);
        floor_request(&req, NH_VERB_QOS_FLOOR_ADD, n, id, n->floor_sum);
        req.qos_floor.leaf = qos_leaf_for(caps);
        req.qos_floor.shape = fp.class_params;
        memcpy(req.qos_floor.mac, net->mac.bytes, 6);
        return helper_call(m, &req, &reply, error, "cannot set up the floor of '%s' (class 1:%x) on bridge '%s'",
                           ether_addr_format(&net->mac, mac), id, n->live->bridge);
}

/* FLOOR_REMOVE of class 1:id, the default class for sum afterwards. A bridge that is gone has no
 * class left to remove. */
static int floor_remove(Network *n, uint16_t id, uint64_t sum, sd_bus_error *error) {
        NhRequest req;
        NhReply reply = {};
        int r;

        floor_request(&req, NH_VERB_QOS_FLOOR_REMOVE, n, id, sum);
        r = helper_call(n->manager, &req, &reply, error, "cannot remove class 1:%x from bridge '%s'", id,
                        n->live->bridge);
        if (r < 0 && reply.error == ENODEV) {
                sd_bus_error_free(error);
                return 0;
        }
        return r;
}

static const char *domain_name(const Domain *d) {
        return domain_current_def(d)->name;
}

static int plug(Domain *d, size_t i, const BandwidthRate *inbound, sd_bus_error *error) {
        Manager *m = d->manager;
        DomainNet *net = &d->live->nets[i];
        DomainNetFloor *f = &d->floors[i];
        uint64_t floor = inbound->set ? inbound->floor : 0;
        _cleanup_free_ char *msg = NULL;
        Network *n;
        uint16_t id;
        int r;

        if (floor == 0 || f->class_id != 0)
                return 0;
        n = floor_network(m, net);
        if (!n)
                return libvirt_error_setf(error, EINVAL, _("Requested operation is not valid: network '%s' is not active"),
                                          net->source);
        r = qos_admission_check(n->live->name, n->live->bridge, &net->mac, &n->live->bandwidth.inbound, n->floor_sum,
                                0, floor, &msg);
        if (r < 0)
                return libvirt_error_setf(error, r, "%s", strna(msg));
        r = class_id_bitmap_allocate(&n->class_ids, &id);
        if (r < 0)
                return libvirt_error_setf(error, r, _("operation failed: no free class id on bridge '%s' of network '%s'"),
                                          n->live->bridge, n->live->name);

        /* 1. the id and the sum, on disk before anything exists in the kernel */
        n->floor_sum += floor;
        r = network_save_status(n);
        if (r < 0) {
                (void) class_id_bitmap_clear(&n->class_ids, id);
                n->floor_sum -= floor;
                return libvirt_error_setf(error, r, _("operation failed: cannot write status of network '%s': %s"),
                                          n->live->name, strerror(-r));
        }
        /* 2. which interface has it */
        *f = (DomainNetFloor) { .class_id = id, .floor = floor };
        r = domain_save_status(d);
        if (r < 0) {
                libvirt_error_setf(error, r, _("operation failed: cannot write status of domain '%s': %s"),
                                   domain_name(d), strerror(-r));
                goto release;
        }
        /* 3. the class, its leaf and its filter */
        r = floor_add(n, net, inbound, id, error);
        if (r < 0) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

                /* whatever FLOOR_ADD left must go before the id can */
                if (floor_remove(n, id, n->floor_sum - floor, &e) < 0) {
                        log_domain_qos(LOG_WARNING, 0, d, "%s; class id %u stays allocated until virtbusd restarts.",
                                       e.message, id);
                        *f = (DomainNetFloor) {};
                        (void) domain_save_status(d);
                        return r;
                }
                goto release;
        }
        log_domain_qos(LOG_INFO, 0, d, "Domain %s interface %s: floor %" PRIu64 " KiB/s in class 1:%x on bridge %s "
                       "(network %s, %" PRIu64 " of %" PRIu64 " KiB/s reserved).",
                       domain_name(d), net->alias, floor, id, n->live->bridge, n->live->name, n->floor_sum,
                       n->live->bandwidth.inbound.average);
        network1_emit_changed(n);
        return 0;

release:
        (void) class_id_bitmap_clear(&n->class_ids, id);
        n->floor_sum -= floor;
        if (network_save_status(n) < 0)
                log_network_def(LOG_WARNING, 0, n->live, "Cannot write the status of network %s.", n->live->name);
        *f = (DomainNetFloor) {};
        (void) domain_save_status(d);
        return r;
}

static int unplug(Domain *d, size_t i, bool save_domain, sd_bus_error *error) {
        DomainNet *net = &d->live->nets[i];
        DomainNetFloor *f = &d->floors[i];
        uint64_t sum;
        Network *n;
        int r;

        if (f->class_id == 0)
                return 0;
        n = floor_network(d->manager, net);
        if (!n || !class_id_bitmap_test(&n->class_ids, f->class_id)) {
                /* the network's books do not have it (it stopped meanwhile): nothing to release */
                *f = (DomainNetFloor) {};
                if (save_domain)
                        (void) domain_save_status(d);
                return 0;
        }

        sum = n->floor_sum > f->floor ? n->floor_sum - f->floor : 0;
        /* 1. the kernel objects */
        r = floor_remove(n, f->class_id, sum, error);
        if (r < 0)
                return r;
        /* 2. the id and the sum */
        (void) class_id_bitmap_clear(&n->class_ids, f->class_id);
        n->floor_sum = sum;
        r = network_save_status(n);
        if (r < 0)
                log_network_def(LOG_WARNING, r, n->live,
                            "Cannot write the status of network %s (the next start-up releases class %u): %m",
                            n->live->name, f->class_id);
        log_domain_qos(LOG_INFO, 0, d,
                       "Domain %s interface %s: floor %" PRIu64 " KiB/s (class 1:%x) released on bridge %s.",
                       domain_name(d), net->alias, f->floor, f->class_id, n->live->bridge);
        /* 3. the record */
        *f = (DomainNetFloor) {};
        if (save_domain)
                (void) domain_save_status(d);
        network1_emit_changed(n);
        return 0;
}

/* A plugged floor gets a new size (or its class new parameters): same id. */
static int change(Domain *d, size_t i, const BandwidthRate *inbound, const BandwidthRate *old_inbound,
                  sd_bus_error *error) {
        DomainNet *net = &d->live->nets[i];
        DomainNetFloor *f = &d->floors[i];
        uint64_t old_floor = f->floor, floor = inbound->floor, old_sum;
        _cleanup_free_ char *msg = NULL;
        Network *n;
        int r;

        n = floor_network(d->manager, net);
        if (!n)
                return libvirt_error_setf(error, EINVAL, _("Requested operation is not valid: network '%s' is not active"),
                                          net->source);
        r = qos_admission_check(n->live->name, n->live->bridge, &net->mac, &n->live->bandwidth.inbound, n->floor_sum,
                                old_floor, floor, &msg);
        if (r < 0)
                return libvirt_error_setf(error, r, "%s", strna(msg));

        old_sum = n->floor_sum;
        n->floor_sum = old_sum - old_floor + floor;
        r = network_save_status(n);
        if (r < 0) {
                n->floor_sum = old_sum;
                return libvirt_error_setf(error, r, _("operation failed: cannot write status of network '%s': %s"),
                                          n->live->name, strerror(-r));
        }
        f->floor = floor;
        r = domain_save_status(d);
        if (r < 0)
                libvirt_error_setf(error, r, _("operation failed: cannot write status of domain '%s': %s"),
                                   domain_name(d), strerror(-r));
        else
                r = floor_add(n, net, inbound, f->class_id, error);
        if (r < 0) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

                n->floor_sum = old_sum;
                f->floor = old_floor;
                (void) network_save_status(n);
                (void) domain_save_status(d);
                if (floor_add(n, net, old_inbound, f->class_id, &e) < 0)
                        log_domain_qos(LOG_WARNING, 0, d, "Cannot restore the floor of %s: %s", net->alias, e.message);
                return r;
        }
        network1_emit_changed(n);
        return 0;
}

int qos_interface_plug(Domain *d, size_t i, sd_bus_error *error) {
        return plug(d, i, &d->live->nets[i].bandwidth.inbound, error);
}

void qos_interface_unplug(Domain *d, size_t i, bool save_domain) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

        if (!d->floors || d->floors[i].class_id == 0)
                return;
        if (unplug(d, i, save_domain, &error) >= 0)
                return;
        log_domain_qos(LOG_WARNING, 0, d, "Cannot release the floor of interface %s of domain %s: %s; class %u stays "
                       "allocated until the next start of virtbusd.",
                       d->live->nets[i].alias, domain_name(d), error.message, d->floors[i].class_id);
        d->floors[i] = (DomainNetFloor) {};
        if (save_domain)
                (void) domain_save_status(d);
}

/* ---- shaping of taps and macvtaps ---- */

static QosDevice device_of(const DomainNet *net) {
        return net->type == DOMAIN_NET_TYPE_DIRECT ? QOS_DEVICE_MACVTAP : QOS_DEVICE_TAP;
}

static int plan_device(Domain *d, size_t i, const Bandwidth *bw, QosDevicePlan *ret, sd_bus_error *error) {
        _cleanup_free_ char *msg = NULL;
        char label[DOMAIN_NET_LABEL_MAX];
        unsigned caps;
        int r;

        r = qos_caps_get(d->manager, &caps, error);
        if (r < 0)
                return r;
        r = qos_plan_device(bw, device_of(&d->live->nets[i]), caps, ret, &msg);
        if (r < 0)
                return libvirt_error_setf(error, r, "%s (interface %s of domain '%s')", strna(msg),
                                          domain_net_label(&d->live->nets[i], i, label), domain_name(d));
        return 0;
}

static bool plan_is_empty(const QosDevicePlan *p) {
        return !p->egress && p->ingress.mode == QOS_INGRESS_NONE;
}

/* APPLY (or CLEAR, for a plan without anything) on the interface's device. */
static int apply_plan(Domain *d, size_t i, const QosDevicePlan *p, sd_bus_error *error) {
        const DomainNet *net = &d->live->nets[i];
        NhRequest req = {};
        NhReply reply = {};

        if (plan_is_empty(p)) {
                req.verb = NH_VERB_QOS_CLEAR_INTERFACE;
                snprintf(req.qos_clear.ifname, sizeof req.qos_clear.ifname, "%s", net->ifname);
        } else {
                NhQosApplyInterface *a = &req.qos_apply;

                req.verb = NH_VERB_QOS_APPLY_INTERFACE;
                snprintf(a->ifname, sizeof a->ifname, "%s", net->ifname);
                a->leaf = p->leaf;
                a->has_shape = p->egress;
                a->shape = p->egress_class;
                a->has_police = p->ingress.mode == QOS_INGRESS_POLICE;
                a->police = p->ingress.police;
                a->has_ifb = p->ingress.mode == QOS_INGRESS_IFB;
                a->ifb = p->ingress.ifb_class;
        }
        return helper_call(d->manager, &req, &reply, error, "cannot %s bandwidth of interface '%s' of domain '%s'",
                           plan_is_empty(p) ? "clear the" : "set the", net->ifname, domain_name(d));
}

int qos_interface_apply(Domain *d, size_t i, sd_bus_error *error) {
        const DomainNet *net = &d->live->nets[i];
        QosDevicePlan p;
        int r;

        if (!bandwidth_is_set(&net->bandwidth))
                return 0;
        r = plan_device(d, i, &net->bandwidth, &p, error);
        if (r < 0)
                return r;
        if (plan_is_empty(&p))
                return 0; /* a floor alone shapes nothing on the tap */
        return apply_plan(d, i, &p, error);
}

int qos_domain_check(Domain *d, sd_bus_error *error) {
        const DomainDef *def = d->live;
        int r;

        for (size_t i = 0; i < def->n_nets; i++) {
                const DomainNet *net = &def->nets[i];
                uint64_t floor = net->bandwidth.inbound.set ? net->bandwidth.inbound.floor : 0, sum;
                _cleanup_free_ char *msg = NULL;
                QosDevicePlan p;
                Network *n;

                if (!bandwidth_is_set(&net->bandwidth))
                        continue;
                r = plan_device(d, i, &net->bandwidth, &p, error);
                if (r < 0)
                        return r;
                if (floor == 0)
                        continue;
                n = floor_network(d->manager, net);
                if (!n)
                        return libvirt_error_setf(error, EINVAL,
                                                  _("Requested operation is not valid: network '%s' is not active"),
                                                  net->source);
                /* this domain's earlier floors on the same network count too */
                sum = n->floor_sum;
                for (size_t k = 0; k < i; k++)
                        if (def->nets[k].type == DOMAIN_NET_TYPE_NETWORK && streq(def->nets[k].source, net->source) &&
                            def->nets[k].bandwidth.inbound.set)
                                sum += def->nets[k].bandwidth.inbound.floor;
                r = qos_admission_check(n->live->name, n->live->bridge, &net->mac, &n->live->bandwidth.inbound, sum,
                                        0, floor, &msg);
                if (r < 0)
                        return libvirt_error_setf(error, r, "%s", strna(msg));
        }
        return 0;
}

int qos_interface_update(Domain *d, size_t i, const Bandwidth *bw, sd_bus_error *error) {
        DomainNet *net = &d->live->nets[i];
        DomainNetFloor *f = &d->floors[i];
        uint64_t floor = bw->inbound.set ? bw->inbound.floor : 0;
        Bandwidth old = net->bandwidth;
        QosDevicePlan p, old_plan = {};
        bool shaped = false;
        int r;

        r = plan_device(d, i, bw, &p, error);
        if (r < 0)
                return r;
        if (bandwidth_is_set(&old))
                (void) plan_device(d, i, &old, &old_plan, NULL);

        /* the checks first: a floor that does not fit changes nothing */
        if (floor > 0) {
                _cleanup_free_ char *msg = NULL;
                Network *n = floor_network(d->manager, net);

                if (!n)
                        return libvirt_error_setf(error, EINVAL,
                                                  _("Requested operation is not valid: network '%s' is not active"),
                                                  net->source);
                r = qos_admission_check(n->live->name, n->live->bridge, &net->mac, &n->live->bandwidth.inbound,
                                        n->floor_sum, f->floor, floor, &msg);
                if (r < 0)
                        return libvirt_error_setf(error, r, "%s", strna(msg));
        }

        /* shaping on the device */
        if (!plan_is_empty(&p) || !plan_is_empty(&old_plan)) {
                r = apply_plan(d, i, &p, error);
                if (r < 0)
                        goto restore;
                shaped = true;
        }

        /* the floor: the live definition first, so that the status written with the books has it */
        net->bandwidth = *bw;
        if (f->class_id == 0 && floor > 0)
                r = plug(d, i, &bw->inbound, error);
        else if (f->class_id != 0 && floor == 0)
                r = unplug(d, i, true, error);
        else if (f->class_id != 0 && (floor != f->floor || bw->inbound.average != old.inbound.average))
                r = change(d, i, &bw->inbound, &old.inbound, error);
        if (r < 0) {
                net->bandwidth = old;
                (void) domain_save_status(d);
                goto restore;
        }

        r = domain_save_status(d);
        if (r < 0)
                log_domain_qos(LOG_WARNING, r, d, "Cannot write the status of domain %s: %m", domain_name(d));
        log_domain_qos(LOG_INFO, 0, d, "Domain %s interface %s: bandwidth changed.", domain_name(d), net->alias);
        return 0;

restore:
        if (shaped) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

                if (apply_plan(d, i, &old_plan, &e) < 0)
                        log_domain_qos(LOG_WARNING, 0, d, "Cannot restore the bandwidth of %s: %s", net->alias,
                                       e.message);
        }
        return r;
}

/* ---- live change of a network's bandwidth ---- */

int qos_network_update(Network *n, const Bandwidth *bw, sd_bus_error *error) {
        Manager *m = n->manager;
        Bandwidth old = n->live->bandwidth;
        uint64_t capacity = bw->inbound.set ? bw->inbound.average : 0;
        int r;

        if (n->floor_sum > 0 && capacity < n->floor_sum)
                return libvirt_error_setf(error, EINVAL,
                                          _("Requested operation is not valid: the interfaces plugged into network '%s' "
                                            "have floors of %" PRIu64 " KiB/s together, more than the new inbound "
                                            "average of %" PRIu64 " KiB/s"),
                                          n->live->name, n->floor_sum, capacity);

        if (bandwidth_is_set(bw))
                r = bridge_setup(n, bw, n->floor_sum, error);
        else {
                bridge_teardown(n);
                r = 0;
        }
        if (r < 0) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

                if (bandwidth_is_set(&old) && bridge_setup(n, &old, n->floor_sum, &e) < 0)
                        log_network_def(LOG_WARNING, 0, n->live, "Cannot restore QoS of network %s: %s",
                                    n->live->name, e.message);
                return r;
        }
        n->live->bandwidth = *bw;

        /* the floor classes' ceiling follows the network's peak (else average) */
        for (Domain *d = m->domains; d; d = d->next) {
                if (!d->live || !d->floors)
                        continue;
                for (size_t i = 0; i < d->live->n_nets; i++) {
                        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

                        if (!floor_on(d, i, n))
                                continue;
                        if (floor_add(n, &d->live->nets[i], &d->live->nets[i].bandwidth.inbound,
                                      d->floors[i].class_id, &e) < 0)
                                log_network_def(LOG_WARNING, 0, n->live, "%s", e.message);
                }
        }
        network1_emit_changed(n);
        return 0;
}

/* ---- start-up ---- */

/* Is the record (d, i) the first one naming its id on its network? */
static bool first_claim(Manager *m, const Domain *d, size_t i) {
        const DomainNet *net = &d->live->nets[i];

        for (Domain *o = m->domains; o; o = o->next) {
                if (!o->live || !o->floors)
                        continue;
                for (size_t k = 0; k < o->live->n_nets; k++) {
                        if (o == d && k == i)
                                return true;
                        if (o->floors[k].class_id == d->floors[i].class_id &&
                            o->live->nets[k].type == DOMAIN_NET_TYPE_NETWORK &&
                            streq_ptr(o->live->nets[k].source, net->source))
                                return false;
                }
        }
        return true;
}

void qos_validate_floors(Manager *m) {
        for (Domain *d = m->domains; d; d = d->next) {
                bool dirty = false;

                if (!d->live || !d->floors)
                        continue;
                for (size_t i = 0; i < d->live->n_nets; i++) {
                        const DomainNet *net = &d->live->nets[i];
                        DomainNetFloor *f = &d->floors[i];
                        Network *n;

                        if (f->class_id == 0)
                                continue;
                        n = floor_network(m, net);
                        if (n && has_hierarchy(n) && class_id_bitmap_test(&n->class_ids, f->class_id) &&
                            first_claim(m, d, i))
                                continue;
                        log_domain_qos(LOG_NOTICE, 0, d,
                                       "Domain %s interface %s: class %u on network %s is not (or no longer) "
                                       "allocated to it; forgetting it.",
                                       d->live->name, net->alias, f->class_id, net->source);
                        *f = (DomainNetFloor) {};
                        dirty = true;
                }
                if (dirty && domain_save_status(d) < 0)
                        log_domain_qos(LOG_WARNING, 0, d, "Cannot write the status of domain %s.", d->live->name);
        }
}

typedef struct FloorRef {
        Domain *d;
        size_t i;
} FloorRef;

static int collect_refs(Manager *m, const Network *n, FloorRef **ret, size_t *ret_n) {
        _cleanup_free_ FloorRef *refs = NULL;
        size_t k = 0;

        for (Domain *d = m->domains; d; d = d->next) {
                if (!d->live || !d->floors)
                        continue;
                for (size_t i = 0; i < d->live->n_nets; i++) {
                        FloorRef *a;

                        if (!floor_on(d, i, n))
                                continue;
                        a = reallocarray(refs, k + 1, sizeof *a);
                        if (!a)
                                return -ENOMEM;
                        refs = a;
                        refs[k++] = (FloorRef) { .d = d, .i = i };
                }
        }
        *ret = TAKE_PTR(refs);
        *ret_n = k;
        return 0;
}

typedef struct Dump {
        NetdevQdisc *qdiscs;
        size_t n_qdiscs;
        NetdevClass *classes;
        size_t n_classes;
        NetdevFilter *filters;
        size_t n_filters;
} Dump;

static void dump_done(Dump *t) {
        free(t->qdiscs);
        free(t->classes);
        free(t->filters);
        *t = (Dump) {};
}

static int dump_bridge(int ifindex, Dump *ret) {
        Dump t = {};
        int r;

        r = netdev_qdisc_list(ifindex, &t.qdiscs, &t.n_qdiscs);
        if (r >= 0)
                r = netdev_class_list(ifindex, &t.classes, &t.n_classes);
        if (r >= 0)
                r = netdev_filter_list(ifindex, QOS_ROOT_QDISC, &t.filters, &t.n_filters);
        if (r < 0) {
                dump_done(&t);
                return r;
        }
        *ret = t;
        return 0;
}

static const NetdevQdisc *qdisc_at(const Dump *t, uint32_t parent) {
        for (size_t i = 0; i < t->n_qdiscs; i++)
                if (t->qdiscs[i].parent == parent)
                        return &t->qdiscs[i];
        return NULL;
}

static const NetdevClass *class_of(const Dump *t, uint32_t handle) {
        for (size_t i = 0; i < t->n_classes; i++)
                if (t->classes[i].handle == handle && streq(t->classes[i].kind, "htb"))
                        return &t->classes[i];
        return NULL;
}

static bool class_matches(const NetdevClass *c, uint32_t parent, const QosHtbParams *p) {
        return c && c->parent == parent && c->htb.rate == p->rate && c->htb.ceil == p->ceil &&
               qos_burst_equal(c->htb.burst, p->burst, p->rate) && qos_burst_equal(c->htb.cburst, p->cburst, p->ceil) &&
               (c->htb_level != 0 || (c->htb.quantum == p->quantum && c->htb.prio == p->prio));
}

static bool leaf_matches(const Dump *t, uint32_t parent, uint32_t handle, QosLeaf leaf) {
        const NetdevQdisc *q = qdisc_at(t, parent);

        return q && q->handle == handle && streq(q->kind, qos_leaf_to_string(leaf)) &&
               (leaf == QOS_LEAF_SFQ ? q->sfq_perturb == QOS_SFQ_PERTURB : q->limit == QOS_LEAF_FIFO_LIMIT);
}

static bool is_floor_filter(const NetdevFilter *f) {
        return streq(f->kind, "u32") && f->prio == QOS_FLOOR_FILTER_PRIO && f->protocol == QOS_ETH_P_ALL &&
               QOS_U32_HTID(f->handle) == QOS_MAC_TABLE_HTID && QOS_U32_NODE(f->handle) != 0;
}

static bool hierarchy_matches(const Dump *t, const QosBridgePlan *p) {
        const NetdevQdisc *root = qdisc_at(t, QOS_TC_H_ROOT);
        bool table = false, link = false;

        if (!root || !streq(root->kind, "htb") || root->handle != QOS_ROOT_QDISC ||
            root->htb_defcls != QOS_BRIDGE_DEFCLS)
                return false;
        if (!class_matches(class_of(t, QOS_ROOT_CLASS), QOS_TC_H_ROOT, &p->root_class))
                return false;
        if (!class_of(t, QOS_DEFAULT_CLASS) || class_of(t, QOS_DEFAULT_CLASS)->parent != QOS_ROOT_CLASS)
                return false;
        if (!leaf_matches(t, QOS_DEFAULT_CLASS, QOS_LEAF_QDISC, p->leaf))
                return false;
        for (size_t i = 0; i < t->n_filters; i++) {
                const NetdevFilter *f = &t->filters[i];

                if (!streq(f->kind, "u32") || f->prio != QOS_FLOOR_FILTER_PRIO)
                        continue;
                if (f->handle == QOS_MAC_TABLE && f->u32.divisor == QOS_MAC_TABLE_BUCKETS)
                        table = true;
                if (f->handle == QOS_U32_HANDLE(QOS_U32_ROOT_HTID, 0, QOS_MAC_LINK_NODE) &&
                    f->u32.link == QOS_MAC_TABLE && f->u32.hmask == QOS_MAC_HASH_MASK &&
                    f->u32.hoff == QOS_MAC_HASH_OFFSET)
                        link = true;
        }
        return table && link;
}

/* Class 1:id, its leaf and its filter as plan fp says. */
static bool floor_matches(const Dump *t, const QosFloorPlan *fp, QosLeaf leaf) {
        if (!class_matches(class_of(t, QOS_FLOOR_CLASS(fp->class_id)), QOS_ROOT_CLASS, &fp->class_params))
                return false;
        if (!leaf_matches(t, QOS_FLOOR_CLASS(fp->class_id), QOS_FLOOR_LEAF(fp->class_id), leaf))
                return false;
        for (size_t i = 0; i < t->n_filters; i++) {
                const NetdevFilter *f = &t->filters[i];
                uint8_t mac[6];

                if (is_floor_filter(f) && f->u32.classid == QOS_FLOOR_CLASS(fp->class_id) && f->u32.terminal &&
                    QOS_U32_BUCKET(f->handle) == qos_mac_bucket(fp->mac.bytes) &&
                    qos_mac_from_keys(f->u32.keys, MIN(f->u32.n_keys, (size_t) NETDEV_U32_KEYS_MAX), mac) &&
                    memcmp(mac, fp->mac.bytes, 6) == 0)
                        return true;
        }
        return false;
}

static void warn(const Network *n, const sd_bus_error *e) {
        log_network_def(LOG_WARNING, 0, n->live, "Reconciling QoS of network %s: %s", n->live->name, e->message);
}

static void reconcile_network(Network *n, unsigned caps) {
        Manager *m = n->manager;
        _cleanup_free_ FloorRef *refs = NULL;
        _cleanup_(dump_done) Dump t = {};
        ClassIdBitmap referenced, removed;
        QosBridgePlan plan;
        NetdevLink br;
        uint64_t sum = 0;
        size_t n_refs = 0;
        bool dirty = false;
        int r;

        if (collect_refs(m, n, &refs, &n_refs) < 0) {
                log_oom();
                return;
        }
        class_id_bitmap_init(&referenced);
        for (size_t k = 0; k < n_refs; k++) {
                (void) class_id_bitmap_set(&referenced, refs[k].d->floors[refs[k].i].class_id);
                sum += refs[k].d->floors[refs[k].i].floor;
        }

        /* 1. the bridge's hierarchy, which the floor classes hang from */
        if (netdev_link_lookup(n->live->bridge, &br) < 0)
                return;
        r = dump_bridge(br.ifindex, &t);
        if (r < 0) {
                log_network_def(LOG_WARNING, r, n->live, "Cannot read the qdiscs of bridge %s: %m", n->live->bridge);
                return;
        }
        if (!bandwidth_is_set(&n->live->bandwidth)) {
                const NetdevQdisc *root = qdisc_at(&t, QOS_TC_H_ROOT);

                /* only what we would have made: an admin's own qdiscs on an attached bridge stay */
                if (root && streq(root->kind, "htb") && root->handle == QOS_ROOT_QDISC &&
                    root->htb_defcls == QOS_BRIDGE_DEFCLS)
                        bridge_teardown(n);
                plan = (QosBridgePlan) {};
        } else if (qos_plan_bridge(&n->live->bandwidth, sum, caps, &plan, NULL) < 0)
                return;
        else if ((plan.hierarchy && !hierarchy_matches(&t, &plan)) ||
                 (plan.ingress.mode != QOS_INGRESS_NONE && !qdisc_at(&t, QOS_TC_H_INGRESS))) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

                log_network_def(LOG_NOTICE, 0, n->live,
                            "Network %s: QoS on bridge %s incomplete; setting it up again.", n->live->name,
                            n->live->bridge);
                if (bridge_setup(n, &n->live->bandwidth, sum, &e) < 0)
                        warn(n, &e);
        }

        /* 2. ids nobody names: a plug or an unplug cut short */
        for (uint32_t id = QOS_CLASS_ID_MIN; id <= QOS_CLASS_ID_MAX; id++) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

                if (!class_id_bitmap_test(&n->class_ids, id) || class_id_bitmap_test(&referenced, id))
                        continue;
                if (plan.hierarchy && floor_remove(n, id, sum, &e) < 0) {
                        warn(n, &e);
                        continue;
                }
                (void) class_id_bitmap_clear(&n->class_ids, id);
                log_network_def(LOG_NOTICE, 0, n->live,
                            "Network %s: class id %u was allocated to no interface; released.", n->live->name, id);
                dirty = true;
        }
        if (n->floor_sum != sum) {
                log_network_def(LOG_NOTICE, 0, n->live,
                            "Network %s: floor sum %" PRIu64 " KiB/s, the interfaces have %" PRIu64 ".",
                            n->live->name, n->floor_sum, sum);
                n->floor_sum = sum;
                dirty = true;
        }
        if (dirty && network_save_status(n) < 0)
                log_network_def(LOG_WARNING, 0, n->live, "Cannot write the status of network %s.", n->live->name);

        dump_done(&t);
        if (dump_bridge(br.ifindex, &t) < 0)
                return;
        if (!plan.hierarchy)
                return;
        if (!class_matches(class_of(&t, QOS_DEFAULT_CLASS), QOS_ROOT_CLASS, &plan.default_class)) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                NhRequest req;
                NhReply reply = {};

                floor_request(&req, NH_VERB_QOS_DEFAULT_RATE, n, 0, sum);
                if (helper_call(m, &req, &reply, &e, "cannot change class 1:2 of bridge '%s'", n->live->bridge) < 0)
                        warn(n, &e);
        }

        /* 3. classes and filters of ids the books do not have */
        removed = (ClassIdBitmap) {};
        for (size_t k = 0; k < t.n_classes + t.n_filters; k++) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                uint32_t handle, id;

                if (k < t.n_classes) {
                        if (t.classes[k].parent != QOS_ROOT_CLASS)
                                continue;
                        handle = t.classes[k].handle;
                } else {
                        if (!is_floor_filter(&t.filters[k - t.n_classes]))
                                continue;
                        handle = t.filters[k - t.n_classes].u32.classid;
                }
                id = QOS_HANDLE_MIN(handle);
                if (QOS_HANDLE_MAJ(handle) != 1 || id < QOS_CLASS_ID_MIN || id > QOS_CLASS_ID_MAX ||
                    class_id_bitmap_test(&n->class_ids, id) || class_id_bitmap_test(&removed, id))
                        continue;
                log_network_def(LOG_NOTICE, 0, n->live,
                            "Network %s: removing class 1:%x from bridge %s, no interface has it.", n->live->name,
                            id, n->live->bridge);
                if (floor_remove(n, id, sum, &e) < 0)
                        warn(n, &e);
                (void) class_id_bitmap_set(&removed, id); /* its filters went with it */
        }

        /* 4. what the books name: there, and as planned */
        for (size_t k = 0; k < n_refs; k++) {
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                const DomainNet *net = &refs[k].d->live->nets[refs[k].i];
                const DomainNetFloor *f = &refs[k].d->floors[refs[k].i];
                BandwidthRate inbound = net->bandwidth.inbound;
                QosFloorPlan fp;

                inbound.set = true;
                inbound.floor = f->floor; /* what was plugged */
                if (qos_plan_floor(&n->live->bandwidth.inbound, &inbound, f->class_id, &net->mac, &fp) < 0)
                        continue;
                if (floor_matches(&t, &fp, plan.leaf))
                        continue;
                log_network_def(LOG_NOTICE, 0, n->live,
                            "Network %s: class 1:%x of domain %s interface %s missing or changed; setting it up again.",
                            n->live->name, f->class_id, refs[k].d->live->name, net->alias);
                if (floor_add(n, net, &inbound, f->class_id, &e) < 0)
                        warn(n, &e);
        }
}

/* Taps and macvtaps of running guests: as their live definition says (a live change cut short). */
static void reconcile_interfaces(Manager *m) {
        for (Domain *d = m->domains; d; d = d->next) {
                if (!d->live || d->pid <= 0)
                        continue;
                for (size_t i = 0; i < d->live->n_nets; i++) {
                        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
                        const DomainNet *net = &d->live->nets[i];
                        char kind[NETDEV_QDISC_KIND_MAX];
                        QosDevicePlan p = {};
                        NetdevLink link;

                        if (!net->ifname || netdev_link_lookup(net->ifname, &link) < 0)
                                continue;
                        if (bandwidth_is_set(&net->bandwidth) && plan_device(d, i, &net->bandwidth, &p, &e) < 0) {
                                log_domain_qos(LOG_WARNING, 0, d, "%s", e.message);
                                continue;
                        }
                        /* nothing to shape and nothing shaped: leave it be */
                        if (plan_is_empty(&p) &&
                            !(netdev_qdisc_get_root_kind(link.ifindex, kind) >= 0 && streq(kind, "htb")))
                                continue;
                        if (apply_plan(d, i, &p, &e) < 0)
                                log_domain_qos(LOG_WARNING, 0, d, "%s", e.message);
                }
        }
}

void qos_sweep_ifbs(Manager *m) {
        struct if_nameindex *l = if_nameindex();

        if (!l)
                return;
        for (struct if_nameindex *i = l; i->if_index; i++) {
                char name[IF_NAMESIZE];
                const char *p = startswith(i->if_name, QOS_IFB_PREFIX);
                uint64_t dev;
                NhRequest req = { .verb = NH_VERB_LINK_DELETE, .link_delete.kind = NH_LINK_IFB };
                NhReply reply = {};
                _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

                if (!p || *p < '1' || *p > '9' || strspn(p, "0123456789") != strlen(p) || strlen(p) > 10)
                        continue;
                dev = strtoull(p, NULL, 10);
                if (dev > INT32_MAX || if_indextoname((unsigned) dev, name))
                        continue;
                snprintf(req.link_delete.ifname, sizeof req.link_delete.ifname, "%s", i->if_name);
                if (helper_call(m, &req, &reply, &e, "cannot delete %s", i->if_name) < 0 && reply.error != ENODEV)
                        log_warning("%s", e.message);
                else
                        log_debug("Deleted %s: the device it shaped is gone.", i->if_name);
        }
        if_freenameindex(l);
}

static bool anything_running(Manager *m) {
        for (Network *n = m->networks; n; n = n->next)
                if (network_is_active(n))
                        return true;
        return manager_count_running_guests(m) > 0;
}

void qos_reconcile(Manager *m) {
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        unsigned caps;

        /* Nothing can be shaped: no reason to start the helper for the probe. Stray IFBs are
         * found without it. */
        if (!anything_running(m)) {
                qos_sweep_ifbs(m);
                return;
        }
        if (qos_caps_get(m, &caps, &error) < 0) {
                log_warning("Cannot reconcile QoS with the kernel: %s", error.message);
                return;
        }
        for (Network *n = m->networks; n; n = n->next)
                if (network_is_active(n))
                        reconcile_network(n, caps);
        reconcile_interfaces(m);
        qos_sweep_ifbs(m);
}
