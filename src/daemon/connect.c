/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.libvirt.Connect on /org/libvirt/QEMU */

#include "connect.h"
#include "domain-driver.h"
#include "domain.h"
#include "errors.h"
#include "i18n.h"
#include "network-driver.h"
#include "network.h"
#include "polkit.h"
#include "qemu-version.h"

/* virConnectListAllNetworksFlags */
enum {
        LIST_NETWORKS_INACTIVE = 1 << 0,
        LIST_NETWORKS_ACTIVE = 1 << 1,
        LIST_NETWORKS_PERSISTENT = 1 << 2,
        LIST_NETWORKS_TRANSIENT = 1 << 3,
        LIST_NETWORKS_AUTOSTART = 1 << 4,
        LIST_NETWORKS_NO_AUTOSTART = 1 << 5,
        LIST_NETWORKS_ALL = (1 << 6) - 1,
};

/* libvirt's filter semantics: within each pair of flags, setting neither (or both) means
 * "don't filter on this property". */
static bool pair_matches(uint32_t flags, uint32_t yes_flag, uint32_t no_flag, bool value) {
        bool want_yes = flags & yes_flag, want_no = flags & no_flag;

        if (want_yes == want_no)
                return true;
        return want_yes ? value : !value;
}

static bool network_matches(const Network *n, uint32_t flags) {
        return pair_matches(flags, LIST_NETWORKS_ACTIVE, LIST_NETWORKS_INACTIVE, network_is_active(n)) &&
               pair_matches(flags, LIST_NETWORKS_PERSISTENT, LIST_NETWORKS_TRANSIENT, network_is_persistent(n)) &&
               pair_matches(flags, LIST_NETWORKS_AUTOSTART, LIST_NETWORKS_NO_AUTOSTART, n->autostart);
}

static int method_list_networks(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        bool pending = false;
        uint32_t flags;
        int r;

        r = sd_bus_message_read(message, "u", &flags);
        if (r < 0)
                return r;
        r = check_flags(flags, LIST_NETWORKS_ALL, "virConnectListAllNetworks", error);
        if (r < 0)
                return r;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "o");
        if (r < 0)
                return r;
        for (Network *n = m->networks; n; n = n->next) {
                if (!network_matches(n, flags))
                        continue;
                /* Only the networks the caller may see, as libvirt's ACL filters lists. */
                r = polkit_verify_network(n, message, POLKIT_MONITOR, POLKIT_QUIET, error);
                if (r == -EACCES) {
                        sd_bus_error_free(error);
                        continue;
                }
                if (r < 0)
                        return r;
                if (r == 0) {
                        pending = true;
                        continue;
                }
                r = sd_bus_message_append(reply, "o", n->path);
                if (r < 0)
                        return r;
        }
        if (pending)
                return 1; /* dispatched again once polkit answered for every network */
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* DefineXML/CreateXML: polkit is asked about the object the XML describes, so that a rule can
 * allow one user one network. An XML error is reported first: parsing is a pure function of
 * the caller's own input and tells nothing about the host. */
static int verify_network_xml(Manager *m, sd_bus_message *message, const char *xml, sd_bus_error *error) {
        _cleanup_(network_def_freep) NetworkDef *def = NULL;
        _cleanup_free_ char *err = NULL;
        Network *existing;
        int r;

        r = network_def_parse(xml, &def, &err);
        if (r < 0)
                return libvirt_error_setf(error, r, "%s", err ?: _("XML error: invalid network definition"));
        /* redefining by name keeps the UUID: the check is about that network */
        existing = manager_find_network_by_name(m, def->name);
        if (existing && !def->has_uuid) {
                def->uuid = network_current_def(existing)->uuid;
                def->has_uuid = true;
        }
        return polkit_verify_network_def(m, message, def, error);
}

static int method_network_define_xml(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const char *xml;
        Network *n;
        int r;

        r = sd_bus_message_read(message, "s", &xml);
        if (r < 0)
                return r;
        r = verify_network_xml(userdata, message, xml, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* dispatched again once polkit answered */
        r = network_define_xml(userdata, xml, &n, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, "o", n->path);
}

static int method_network_create_xml(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const char *xml;
        Network *n;
        int r;

        r = sd_bus_message_read(message, "s", &xml);
        if (r < 0)
                return r;
        r = verify_network_xml(userdata, message, xml, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;
        r = network_create_xml(userdata, xml, &n, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, "o", n->path);
}

/* A lookup finds only what the caller may see: an object it may not monitor is "not found",
 * exactly as a missing one, so that lookups do not tell which objects exist. Returns 1 when
 * visible, 0 when polkit was asked (the message is dispatched again), -ENOENT when missing or
 * hidden. */
static int network_visible(Network *n, sd_bus_message *message, sd_bus_error *error) {
        int r;

        if (!n)
                return -ENOENT;
        r = polkit_verify_network(n, message, POLKIT_MONITOR, 0, error);
        if (r == -EACCES) {
                sd_bus_error_free(error);
                return -ENOENT;
        }
        return r;
}

static int domain_visible(Domain *d, sd_bus_message *message, sd_bus_error *error) {
        int r;

        if (!d)
                return -ENOENT;
        r = polkit_verify_domain(d, message, POLKIT_MONITOR, 0, error);
        if (r == -EACCES) {
                sd_bus_error_free(error);
                return -ENOENT;
        }
        return r;
}

static int method_network_lookup_by_name(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const char *name;
        Network *n;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        n = manager_find_network_by_name(userdata, name);
        r = network_visible(n, message, error);
        if (r == -ENOENT)
                return libvirt_error_setf(error, ENOENT, _("Network not found: no network with matching name '%s'"), name);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* dispatched again once polkit answered */
        return sd_bus_reply_method_return(message, "o", n->path);
}

static int method_network_lookup_by_uuid(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const char *s;
        Network *n;
        Uuid uuid;
        int r;

        r = sd_bus_message_read(message, "s", &s);
        if (r < 0)
                return r;
        if (uuid_parse(s, &uuid) < 0)
                return libvirt_error_setf(error, EINVAL, _("invalid argument: '%s' is not a valid UUID"), s);
        n = manager_find_network_by_uuid(userdata, &uuid);
        r = network_visible(n, message, error);
        if (r == -ENOENT)
                return libvirt_error_setf(error, ENOENT, _("Network not found: no network with matching uuid '%s'"), s);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* dispatched again once polkit answered */
        return sd_bus_reply_method_return(message, "o", n->path);
}

/* virConnectListAllDomainsFlags */
enum {
        LIST_DOMAINS_ACTIVE = 1 << 0,
        LIST_DOMAINS_INACTIVE = 1 << 1,
        LIST_DOMAINS_PERSISTENT = 1 << 2,
        LIST_DOMAINS_TRANSIENT = 1 << 3,
        LIST_DOMAINS_RUNNING = 1 << 4,
        LIST_DOMAINS_PAUSED = 1 << 5,
        LIST_DOMAINS_SHUTOFF = 1 << 6,
        LIST_DOMAINS_OTHER = 1 << 7,
        LIST_DOMAINS_MANAGEDSAVE = 1 << 8,
        LIST_DOMAINS_NO_MANAGEDSAVE = 1 << 9,
        LIST_DOMAINS_AUTOSTART = 1 << 10,
        LIST_DOMAINS_NO_AUTOSTART = 1 << 11,
        LIST_DOMAINS_HAS_SNAPSHOT = 1 << 12,
        LIST_DOMAINS_NO_SNAPSHOT = 1 << 13,
        LIST_DOMAINS_HAS_CHECKPOINT = 1 << 14,
        LIST_DOMAINS_NO_CHECKPOINT = 1 << 15,
        LIST_DOMAINS_ALL = (1 << 16) - 1,
        LIST_DOMAINS_STATES = LIST_DOMAINS_RUNNING | LIST_DOMAINS_PAUSED | LIST_DOMAINS_SHUTOFF | LIST_DOMAINS_OTHER,
};

static bool domain_matches(const Domain *d, uint32_t flags) {
        uint32_t state_flags = flags & LIST_DOMAINS_STATES;

        if (!pair_matches(flags, LIST_DOMAINS_ACTIVE, LIST_DOMAINS_INACTIVE, domain_is_active(d)) ||
            !pair_matches(flags, LIST_DOMAINS_PERSISTENT, LIST_DOMAINS_TRANSIENT, domain_is_persistent(d)) ||
            !pair_matches(flags, LIST_DOMAINS_AUTOSTART, LIST_DOMAINS_NO_AUTOSTART, d->autostart) ||
            /* virtbus has no managed save images, snapshots or checkpoints */
            !pair_matches(flags, LIST_DOMAINS_MANAGEDSAVE, LIST_DOMAINS_NO_MANAGEDSAVE, false) ||
            !pair_matches(flags, LIST_DOMAINS_HAS_SNAPSHOT, LIST_DOMAINS_NO_SNAPSHOT, false) ||
            !pair_matches(flags, LIST_DOMAINS_HAS_CHECKPOINT, LIST_DOMAINS_NO_CHECKPOINT, false))
                return false;
        if (state_flags == 0)
                return true;
        switch (d->state) {
        case DOMAIN_STATE_RUNNING:
                return state_flags & LIST_DOMAINS_RUNNING;
        case DOMAIN_STATE_PAUSED:
                return state_flags & LIST_DOMAINS_PAUSED;
        case DOMAIN_STATE_SHUTOFF:
                return state_flags & LIST_DOMAINS_SHUTOFF;
        default:
                return state_flags & LIST_DOMAINS_OTHER;
        }
}

static int method_list_domains(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        bool pending = false;
        uint32_t flags;
        int r;

        r = sd_bus_message_read(message, "u", &flags);
        if (r < 0)
                return r;
        r = check_flags(flags, LIST_DOMAINS_ALL, "virConnectListAllDomains", error);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "o");
        if (r < 0)
                return r;
        for (Domain *d = m->domains; d; d = d->next) {
                if (!domain_matches(d, flags))
                        continue;
                r = polkit_verify_domain(d, message, POLKIT_MONITOR, POLKIT_QUIET, error);
                if (r == -EACCES) {
                        sd_bus_error_free(error);
                        continue;
                }
                if (r < 0)
                        return r;
                if (r == 0) {
                        pending = true;
                        continue;
                }
                r = sd_bus_message_append(reply, "o", d->path);
                if (r < 0)
                        return r;
        }
        if (pending)
                return 1; /* dispatched again once polkit answered for every domain */
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

/* As verify_network_xml(). */
static int verify_domain_xml(Manager *m, sd_bus_message *message, const char *xml, sd_bus_error *error) {
        _cleanup_(domain_def_freep) DomainDef *def = NULL;
        _cleanup_free_ char *err = NULL;
        Domain *existing;
        int r;

        r = domain_def_parse(xml, 0, &def, &err);
        if (r < 0)
                return libvirt_error_setf(error, r, "%s", err ?: _("XML error: invalid domain definition"));
        existing = manager_find_domain_by_name(m, def->name);
        if (existing && !def->has_uuid) {
                def->uuid = domain_current_def(existing)->uuid;
                def->has_uuid = true;
        }
        return polkit_verify_domain_def(m, message, def, error);
}

static int method_domain_define_xml(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const char *xml;
        Domain *d;
        int r;

        r = sd_bus_message_read(message, "s", &xml);
        if (r < 0)
                return r;
        r = verify_domain_xml(userdata, message, xml, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* dispatched again once polkit answered */
        r = domain_define_xml(userdata, xml, &d, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, "o", d->path);
}

static int method_domain_create_xml(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const char *xml;
        uint32_t flags;
        int r;

        r = sd_bus_message_read(message, "su", &xml, &flags);
        if (r < 0)
                return r;
        r = check_flags(flags, 0, "virDomainCreateXML", error);
        if (r < 0)
                return r;
        r = verify_domain_xml(userdata, message, xml, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;
        return domain_create_xml(userdata, xml, message, error);
}

static int method_domain_lookup_by_id(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        int32_t id;
        Domain *d;
        int r;

        r = sd_bus_message_read(message, "i", &id);
        if (r < 0)
                return r;
        d = id > 0 ? manager_find_domain_by_id(userdata, id) : NULL;
        r = domain_visible(d, message, error);
        if (r == -ENOENT)
                return libvirt_error_setf(error, ENOENT, _("Domain not found: no domain with matching id %d"), id);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* dispatched again once polkit answered */
        return sd_bus_reply_method_return(message, "o", d->path);
}

static int method_domain_lookup_by_name(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const char *name;
        Domain *d;
        int r;

        r = sd_bus_message_read(message, "s", &name);
        if (r < 0)
                return r;
        d = manager_find_domain_by_name(userdata, name);
        r = domain_visible(d, message, error);
        if (r == -ENOENT)
                return libvirt_error_setf(error, ENOENT, _("Domain not found: no domain with matching name '%s'"), name);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* dispatched again once polkit answered */
        return sd_bus_reply_method_return(message, "o", d->path);
}

static int method_domain_lookup_by_uuid(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        const char *s;
        Domain *d;
        Uuid uuid;
        int r;

        r = sd_bus_message_read(message, "s", &s);
        if (r < 0)
                return r;
        if (uuid_parse(s, &uuid) < 0)
                return libvirt_error_setf(error, EINVAL, _("invalid argument: '%s' is not a valid UUID"), s);
        d = manager_find_domain_by_uuid(userdata, &uuid);
        r = domain_visible(d, message, error);
        if (r == -ENOENT)
                return libvirt_error_setf(error, ENOENT, _("Domain not found: no domain with matching uuid '%s'"), s);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* dispatched again once polkit answered */
        return sd_bus_reply_method_return(message, "o", d->path);
}

static int property_get_false(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "b", false);
}

static int property_get_true(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "b", true);
}

static int property_get_hostname(sd_bus *bus, const char *path, const char *interface, const char *property,
                                 sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        char name[256] = {};

        if (gethostname(name, sizeof name - 1) < 0)
                return -errno;
        return sd_bus_message_append(reply, "s", name);
}

static int property_get_lib_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        uint64_t v = 0;

        (void) libvirt_version_parse(PACKAGE_VERSION, &v);
        return sd_bus_message_append(reply, "t", v);
}

static int property_get_version(sd_bus *bus, const char *path, const char *interface, const char *property,
                                sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Manager *m = userdata;

        if (!m->qemu_version_probed) {
                (void) qemu_probe_version(NULL, &m->qemu_version);
                m->qemu_version_probed = true;
        }
        return sd_bus_message_append(reply, "t", m->qemu_version);
}

int connect_emit_network_event(Manager *m, const char *network_path, int event) {
        return sd_bus_emit_signal(m->bus, CONNECT_PATH, "org.libvirt.Connect", "NetworkEvent", "oi", network_path,
                                  event);
}

int connect_emit_domain_event(Manager *m, const char *domain_path, int event, int detail) {
        return sd_bus_emit_signal(m->bus, CONNECT_PATH, "org.libvirt.Connect", "DomainEvent", "oii", domain_path,
                                  event, detail);
}

const sd_bus_vtable connect_vtable[] = {
        SD_BUS_VTABLE_START(0),
        /* Not encrypted, but only local peers can reach the system bus: libvirt's "secure". */
        SD_BUS_PROPERTY("Encrypted", "b", property_get_false, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Hostname", "s", property_get_hostname, 0, 0),
        SD_BUS_PROPERTY("LibVersion", "t", property_get_lib_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Secure", "b", property_get_true, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Version", "t", property_get_version, 0, 0),
        SD_BUS_METHOD_WITH_ARGS("DomainCreateXML", SD_BUS_ARGS("s", xml, "u", flags), SD_BUS_RESULT("o", domain),
                                method_domain_create_xml, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DomainDefineXML", SD_BUS_ARGS("s", xml), SD_BUS_RESULT("o", domain),
                                method_domain_define_xml, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DomainLookupByID", SD_BUS_ARGS("i", id), SD_BUS_RESULT("o", domain),
                                method_domain_lookup_by_id, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DomainLookupByName", SD_BUS_ARGS("s", name), SD_BUS_RESULT("o", domain),
                                method_domain_lookup_by_name, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("DomainLookupByUUID", SD_BUS_ARGS("s", uuid), SD_BUS_RESULT("o", domain),
                                method_domain_lookup_by_uuid, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListDomains", SD_BUS_ARGS("u", flags), SD_BUS_RESULT("ao", domains),
                                method_list_domains, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListNetworks", SD_BUS_ARGS("u", flags), SD_BUS_RESULT("ao", networks),
                                method_list_networks, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("NetworkCreateXML", SD_BUS_ARGS("s", xml), SD_BUS_RESULT("o", network),
                                method_network_create_xml, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("NetworkDefineXML", SD_BUS_ARGS("s", xml), SD_BUS_RESULT("o", network),
                                method_network_define_xml, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("NetworkLookupByName", SD_BUS_ARGS("s", name), SD_BUS_RESULT("o", network),
                                method_network_lookup_by_name, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("NetworkLookupByUUID", SD_BUS_ARGS("s", uuid), SD_BUS_RESULT("o", network),
                                method_network_lookup_by_uuid, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL_WITH_ARGS("DomainEvent", SD_BUS_ARGS("o", domain, "i", event, "i", detail), 0),
        SD_BUS_SIGNAL_WITH_ARGS("NetworkEvent", SD_BUS_ARGS("o", network, "i", event), 0),
        SD_BUS_VTABLE_END,
};
