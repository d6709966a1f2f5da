/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.virtbus.Network1 on /org/libvirt/QEMU/network/_UUID: QoS floors of the network. Property
 * reads are authorized by properties.c (network monitor action), like every property of ours. */

#include "bandwidth-params.h"
#include "domain-driver.h"
#include "errors.h"
#include "i18n.h"
#include "log.h"
#include "network-driver.h"
#include "network1.h"
#include "polkit.h"
#include "qos-driver.h"

#define NETWORK1_IFACE "org.virtbus.Network1"
#define AFFECT_LIVE 1u   /* VIR_NETWORK_UPDATE_AFFECT_LIVE */
#define AFFECT_CONFIG 2u /* VIR_NETWORK_UPDATE_AFFECT_CONFIG */

static int get_bridge_name(sd_bus *bus, const char *path, const char *interface, const char *property,
                           sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        const NetworkDef *def = network_current_def(userdata);

        return sd_bus_message_append(reply, "s", def ? strempty(def->bridge) : "");
}

static int get_floor_sum(sd_bus *bus, const char *path, const char *interface, const char *property,
                         sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Network *n = userdata;

        return sd_bus_message_append(reply, "t", network_is_active(n) ? n->floor_sum : UINT64_C(0));
}

static int get_floor_capacity(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "t", qos_network_floor_capacity(userdata));
}

typedef struct Allocation {
        const char *domain, *interface;
        uint16_t class_id;
        uint64_t floor;
} Allocation;

static int cmp_allocation(const void *a, const void *b) {
        const Allocation *x = a, *y = b;

        return x->class_id < y->class_id ? -1 : x->class_id > y->class_id;
}

/* (domain, interface (target dev), class id, floor KiB/s) of every plugged floor, by class id. */
static int get_allocations(sd_bus *bus, const char *path, const char *interface, const char *property,
                           sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Network *n = userdata;
        _cleanup_free_ Allocation *list = NULL;
        size_t k = 0;
        int r;

        for (Domain *d = n->manager->domains; network_is_active(n) && d; d = d->next) {
                if (!d->live || !d->floors)
                        continue;
                for (size_t i = 0; i < d->live->n_nets; i++) {
                        const DomainNet *net = &d->live->nets[i];
                        Allocation *a;

                        if (d->floors[i].class_id == 0 || net->type != DOMAIN_NET_TYPE_NETWORK ||
                            !streq_ptr(net->source, n->live->name))
                                continue;
                        a = reallocarray(list, k + 1, sizeof *a);
                        if (!a)
                                return -ENOMEM;
                        list = a;
                        list[k++] = (Allocation) {
                                .domain = d->live->name,
                                .interface = strempty(net->ifname ?: net->alias),
                                .class_id = d->floors[i].class_id,
                                .floor = d->floors[i].floor,
                        };
                }
        }
        if (k > 1)
                qsort(list, k, sizeof *list, cmp_allocation);

        r = sd_bus_message_open_container(reply, 'a', "(ssqt)");
        for (size_t i = 0; r >= 0 && i < k; i++)
                r = sd_bus_message_append(reply, "(ssqt)", list[i].domain, list[i].interface, list[i].class_id,
                                          list[i].floor);
        if (r < 0)
                return r;
        return sd_bus_message_close_container(reply);
}

/* SetBandwidth(a{sv} params, u flags): the network's <bandwidth> as typed parameters (the keys of
 * Domain.SetInterfaceParameters without inbound.floor); flags AFFECT_CURRENT 0, LIVE 1, CONFIG 2
 * as virNetworkUpdate's. */
static int method_set_bandwidth(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Network *n = userdata;
        const NetworkDef *cur = network_current_def(n);
        BandwidthUpdate u;
        Bandwidth live, config;
        uint32_t flags;
        int r;

        r = polkit_verify_network(n, message, POLKIT_MANAGE, 0, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* dispatched again once polkit answered */

        r = bandwidth_params_read(message, false, &u, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "u", &flags);
        if (r < 0)
                return r;
        r = check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG, "virtbusNetworkSetBandwidth", error);
        if (r < 0)
                return r;
        if (flags == 0)
                flags = network_is_active(n) ? AFFECT_LIVE : AFFECT_CONFIG;
        if ((flags & AFFECT_LIVE) && !network_is_active(n))
                return libvirt_error_setf(error, EINVAL, _("Requested operation is not valid: network '%s' is not active"),
                                          cur->name);
        if ((flags & AFFECT_CONFIG) && !network_is_persistent(n))
                return libvirt_error_setf(error, EINVAL,
                                          _("Requested operation is not valid: cannot change the persistent "
                                            "configuration of transient network '%s'"),
                                          cur->name);

        if (flags & AFFECT_LIVE) {
                bandwidth_update_merge(&u, &n->live->bandwidth, &live);
                r = bandwidth_check(&live, false, error);
                if (r < 0)
                        return r;
        }
        if (flags & AFFECT_CONFIG) {
                bandwidth_update_merge(&u, &n->config->bandwidth, &config);
                r = bandwidth_check(&config, false, error);
                if (r < 0)
                        return r;
        }
        r = network_set_bandwidth(n, flags & AFFECT_LIVE ? &live : NULL, flags & AFFECT_CONFIG ? &config : NULL,
                                  error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, NULL);
}

const sd_bus_vtable network1_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("BridgeName", "s", get_bridge_name, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("FloorSum", "t", get_floor_sum, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("FloorCapacity", "t", get_floor_capacity, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Allocations", "a(ssqt)", get_allocations, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("SetBandwidth", SD_BUS_ARGS("a{sv}", params, "u", flags), SD_BUS_NO_RESULT,
                                method_set_bandwidth, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

void network1_emit_changed(Network *n) {
        int r;

        if (!n->manager->bus)
                return;
        r = sd_bus_emit_properties_changed(n->manager->bus, n->path, NETWORK1_IFACE, "BridgeName", "FloorSum",
                                           "FloorCapacity", "Allocations", NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to emit PropertiesChanged for %s: %m", n->path);
}
