/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.libvirt.Domain on /org/libvirt/QEMU/domain/_UUID */

#include "bandwidth-params.h"
#include "domain-driver.h"
#include "domain-process.h"
#include "domain.h"
#include "errors.h"
#include "i18n.h"
#include "object-path.h"
#include "polkit.h"

#define DOMAIN_XML_INACTIVE 2u /* virDomainXMLFlags: SECURE 1, INACTIVE 2, UPDATE_CPU 4, MIGRATABLE 8 */
#define DOMAIN_XML_SECURE 1u
/* virDomainModificationImpact */
#define AFFECT_CURRENT 0u
#define AFFECT_LIVE 1u
#define AFFECT_CONFIG 2u
#define TYPED_PARAM_STRING_OKAY 4u /* virTypedParameterFlags: accepted, we have no strings */

char *domain_object_path(const Uuid *uuid) {
        return uuid_object_path(DOMAIN_PATH_PREFIX, uuid);
}

int domain_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                       sd_bus_error *error) {
        Domain *d = manager_find_domain_by_path(userdata, path);

        if (!d)
                return 0;
        *found = d;
        return 1;
}

int domain_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        Manager *m = userdata;
        int r;

        r = OBJECT_LIST_PATHS(m->domains, nodes);
        return r < 0 ? r : 1;
}

static int get_active(sd_bus *bus, const char *path, const char *interface, const char *property, sd_bus_message *reply,
                      void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "b", domain_is_active(userdata));
}

static int get_persistent(sd_bus *bus, const char *path, const char *interface, const char *property,
                          sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "b", domain_is_persistent(userdata));
}

static int get_autostart(sd_bus *bus, const char *path, const char *interface, const char *property,
                         sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Domain *d = userdata;
        return sd_bus_message_append(reply, "b", d->autostart);
}

static int set_autostart(sd_bus *bus, const char *path, const char *interface, const char *property,
                         sd_bus_message *value, void *userdata, sd_bus_error *error) {
        int b, r;

        r = sd_bus_message_read(value, "b", &b);
        if (r < 0)
                return r;
        return domain_set_autostart(userdata, b, error);
}

static int get_id(sd_bus *bus, const char *path, const char *interface, const char *property, sd_bus_message *reply,
                  void *userdata, sd_bus_error *error) {
        Domain *d = userdata;
        /* libvirt's virDomainGetID gives (unsigned) -1 for a domain that is not running */
        return sd_bus_message_append(reply, "u", d->live ? (uint32_t) d->live->id : UINT32_MAX);
}

static int get_name(sd_bus *bus, const char *path, const char *interface, const char *property,
                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", domain_current_def(userdata)->name);
}

static int get_uuid(sd_bus *bus, const char *path, const char *interface, const char *property,
                    sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        char s[UUID_STR_MAX];
        return sd_bus_message_append(reply, "s", uuid_format(&domain_current_def(userdata)->uuid, s));
}

static int get_os_type(sd_bus *bus, const char *path, const char *interface, const char *property,
                       sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", "hvm");
}

static int get_scheduler_type(sd_bus *bus, const char *path, const char *interface, const char *property,
                              sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        /* the kernel's default policy; virtbus exposes no scheduler parameters */
        return sd_bus_message_append(reply, "(si)", "posix", 0);
}

static int get_updated(sd_bus *bus, const char *path, const char *interface, const char *property,
                       sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        /* no live changes to the persistent config exist yet */
        return sd_bus_message_append(reply, "b", false);
}

static int read_flags(sd_bus_message *message, uint32_t supported, const char *function, sd_bus_error *error) {
        uint32_t flags;
        int r;

        r = sd_bus_message_read(message, "u", &flags);
        if (r < 0)
                return r;
        return check_flags(flags, supported, function, error);
}

static int method_create(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        int r;

        r = polkit_verify_domain(userdata, message, POLKIT_MANAGE, 0, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* dispatched again once polkit answered */

        r = read_flags(message, 0, "virDomainCreateWithFlags", error);
        if (r < 0)
                return r;
        r = domain_start(userdata, message, false, error);
        if (r < 0)
                return r;
        return 1; /* answered once the guest runs */
}

static int method_destroy(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        int r;

        r = polkit_verify_domain(userdata, message, POLKIT_MANAGE, 0, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* dispatched again once polkit answered */

        r = read_flags(message, 1 /* GRACEFUL */, "virDomainDestroyFlags", error);
        if (r < 0)
                return r;
        /* Answered when the process is gone and everything is released. */
        return domain_process_destroy(userdata, message, error);
}

static int method_shutdown(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        int r;

        r = polkit_verify_domain(userdata, message, POLKIT_MANAGE, 0, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* dispatched again once polkit answered */

        /* VIR_DOMAIN_SHUTDOWN_DEFAULT 0 and ACPI_POWER_BTN 1 */
        r = read_flags(message, 1, "virDomainShutdownFlags", error);
        if (r < 0)
                return r;
        r = domain_process_shutdown(userdata, false, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, NULL);
}

static int method_reboot(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        int r;

        r = polkit_verify_domain(userdata, message, POLKIT_MANAGE, 0, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* dispatched again once polkit answered */

        r = read_flags(message, 1, "virDomainReboot", error);
        if (r < 0)
                return r;
        r = domain_process_shutdown(userdata, true, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, NULL);
}

static int method_reset(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        int r;

        r = polkit_verify_domain(userdata, message, POLKIT_MANAGE, 0, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* dispatched again once polkit answered */

        r = read_flags(message, 0, "virDomainReset", error);
        if (r < 0)
                return r;
        return domain_process_qmp_simple(userdata, "system_reset", message, error);
}

static int method_suspend(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        int r;

        r = polkit_verify_domain(userdata, message, POLKIT_MANAGE, 0, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;
        return domain_process_qmp_simple(userdata, "stop", message, error);
}

static int method_resume(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        int r;

        r = polkit_verify_domain(userdata, message, POLKIT_MANAGE, 0, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1;
        return domain_process_qmp_simple(userdata, "cont", message, error);
}

static int method_undefine(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        int r;

        r = polkit_verify_domain(userdata, message, POLKIT_MANAGE, 0, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* dispatched again once polkit answered */

        /* MANAGED_SAVE 1, SNAPSHOTS_METADATA 2, NVRAM 4, KEEP_NVRAM 8, CHECKPOINTS_METADATA 16, TPM 32,
         * KEEP_TPM 64: none of these exist for our domains, so asking to remove them is harmless */
        r = read_flags(message, 0x7f, "virDomainUndefineFlags", error);
        if (r < 0)
                return r;
        r = domain_undefine(userdata, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, NULL);
}

static int method_get_xml_desc(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Domain *d = userdata;
        _cleanup_free_ char *xml = NULL;
        uint32_t flags;
        int r;

        r = polkit_verify_domain(userdata, message, POLKIT_MONITOR, 0, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* dispatched again once polkit answered */

        r = sd_bus_message_read(message, "u", &flags);
        if (r < 0)
                return r;
        r = check_flags(flags, DOMAIN_XML_INACTIVE | DOMAIN_XML_SECURE, "virDomainGetXMLDesc", error);
        if (r < 0)
                return r;
        if ((flags & DOMAIN_XML_INACTIVE) && d->config)
                xml = domain_def_format(d->config, DOMAIN_FORMAT_INACTIVE);
        else if (d->live)
                xml = domain_def_format(d->live, 0);
        else
                xml = domain_def_format(d->config, DOMAIN_FORMAT_INACTIVE);
        if (!xml)
                return -ENOMEM;
        return sd_bus_reply_method_return(message, "s", xml);
}

static int method_get_state(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Domain *d = userdata;
        int r;

        r = polkit_verify_domain(userdata, message, POLKIT_MONITOR, 0, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* dispatched again once polkit answered */

        r = read_flags(message, 0, "virDomainGetState", error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, "(ii)", (int32_t) d->state, (int32_t) d->reason);
}

/* The interface `device` names: a MAC address or a target dev, as virDomainNetFind() takes them. */
static int find_interface(const DomainDef *def, const char *device, size_t *ret, sd_bus_error *error) {
        EtherAddr mac;
        size_t found = SIZE_MAX;

        if (ether_addr_parse(device, &mac) >= 0) {
                for (size_t i = 0; i < def->n_nets; i++) {
                        if (memcmp(def->nets[i].mac.bytes, mac.bytes, 6) != 0)
                                continue;
                        if (found != SIZE_MAX)
                                return libvirt_error_setf(error, EINVAL,
                                                          _("invalid argument: multiple devices matching MAC address %s found"),
                                                          device);
                        found = i;
                }
                if (found == SIZE_MAX)
                        return libvirt_error_setf(error, ENODEV,
                                                  _("device not found: no interface matching MAC address %s in domain '%s'"),
                                                  device, def->name);
        } else {
                for (size_t i = 0; i < def->n_nets && found == SIZE_MAX; i++)
                        if (streq_ptr(def->nets[i].ifname, device))
                                found = i;
                if (found == SIZE_MAX)
                        return libvirt_error_setf(error, ENODEV,
                                                  _("invalid argument: '%s' is not a known interface of domain '%s'"),
                                                  device, def->name);
        }
        *ret = found;
        return 0;
}

/* CURRENT → LIVE for a running domain, else CONFIG; each checked against what the domain is. */
static int resolve_affect(Domain *d, uint32_t flags, uint32_t *ret, sd_bus_error *error) {
        const char *name = domain_current_def(d)->name;

        if (flags == AFFECT_CURRENT)
                flags = domain_is_active(d) ? AFFECT_LIVE : AFFECT_CONFIG;
        if ((flags & AFFECT_LIVE) && (!domain_is_active(d) || d->pid <= 0))
                return libvirt_error_setf(error, EINVAL, _("Requested operation is not valid: domain '%s' is not running"),
                                          name);
        if ((flags & AFFECT_LIVE) && d->starting)
                return libvirt_error_setf(error, EBUSY, _("Requested operation is not valid: domain '%s' is still starting"),
                                          name);
        if ((flags & AFFECT_CONFIG) && !domain_is_persistent(d))
                return libvirt_error_setf(error, EINVAL,
                                          _("Requested operation is not valid: cannot change persistent config of a "
                                            "transient domain '%s'"),
                                          name);
        *ret = flags;
        return 0;
}

static int method_set_interface_parameters(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Domain *d = userdata;
        Bandwidth live_bw, config_bw;
        size_t live_i = SIZE_MAX, config_i = SIZE_MAX;
        BandwidthUpdate u;
        const char *device;
        uint32_t flags;
        int r;

        r = polkit_verify_domain(d, message, POLKIT_MANAGE, 0, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* dispatched again once polkit answered */

        r = sd_bus_message_read(message, "s", &device);
        if (r < 0)
                return r;
        r = bandwidth_params_read(message, true, &u, error);
        if (r < 0)
                return r;
        r = sd_bus_message_read(message, "u", &flags);
        if (r < 0)
                return r;
        r = check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG, "virDomainSetInterfaceParameters", error);
        if (r < 0)
                return r;
        r = resolve_affect(d, flags, &flags, error);
        if (r < 0)
                return r;

        /* everything checked before anything changes */
        if (flags & AFFECT_LIVE) {
                r = find_interface(d->live, device, &live_i, error);
                if (r < 0)
                        return r;
                bandwidth_update_merge(&u, &d->live->nets[live_i].bandwidth, &live_bw);
                r = bandwidth_check(&live_bw, d->live->nets[live_i].type == DOMAIN_NET_TYPE_NETWORK, error);
                if (r < 0)
                        return r;
        }
        if (flags & AFFECT_CONFIG) {
                r = find_interface(d->config, device, &config_i, error);
                if (r < 0)
                        return r;
                bandwidth_update_merge(&u, &d->config->nets[config_i].bandwidth, &config_bw);
                r = bandwidth_check(&config_bw, d->config->nets[config_i].type == DOMAIN_NET_TYPE_NETWORK, error);
                if (r < 0)
                        return r;
        }

        r = domain_set_interface_bandwidth(d, live_i, &live_bw, config_i, &config_bw, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, NULL);
}

static int method_get_interface_parameters(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Domain *d = userdata;
        const DomainDef *def;
        const char *device;
        uint32_t flags;
        size_t i;
        int r;

        r = polkit_verify_domain(d, message, POLKIT_MONITOR, 0, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* dispatched again once polkit answered */

        r = sd_bus_message_read(message, "su", &device, &flags);
        if (r < 0)
                return r;
        r = check_flags(flags, AFFECT_LIVE | AFFECT_CONFIG | TYPED_PARAM_STRING_OKAY,
                        "virDomainGetInterfaceParameters", error);
        if (r < 0)
                return r;
        flags &= ~TYPED_PARAM_STRING_OKAY;
        if (flags == (AFFECT_LIVE | AFFECT_CONFIG))
                return libvirt_error_setf(error, EINVAL,
                                          _("invalid argument: flags 'affect live' and 'affect config' are mutually exclusive"));
        if (flags == AFFECT_CURRENT)
                flags = domain_is_active(d) ? AFFECT_LIVE : AFFECT_CONFIG;
        if (flags == AFFECT_LIVE && !domain_is_active(d))
                return libvirt_error_setf(error, EINVAL, _("Requested operation is not valid: domain '%s' is not running"),
                                          domain_current_def(d)->name);
        if (flags == AFFECT_CONFIG && !domain_is_persistent(d))
                return libvirt_error_setf(error, EINVAL,
                                          _("Requested operation is not valid: transient domain '%s' has no persistent "
                                            "config"),
                                          domain_current_def(d)->name);
        def = flags == AFFECT_LIVE ? d->live : d->config;

        r = find_interface(def, device, &i, error);
        if (r < 0)
                return r;
        r = sd_bus_message_new_method_return(message, &reply);
        if (r < 0)
                return r;
        r = bandwidth_params_append(reply, &def->nets[i].bandwidth, true);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

const sd_bus_vtable domain_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Active", "b", get_active, 0, 0),
        SD_BUS_WRITABLE_PROPERTY("Autostart", "b", get_autostart, set_autostart, 0, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_PROPERTY("Id", "u", get_id, 0, 0),
        SD_BUS_PROPERTY("Name", "s", get_name, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("OSType", "s", get_os_type, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Persistent", "b", get_persistent, 0, 0),
        SD_BUS_PROPERTY("SchedulerType", "(si)", get_scheduler_type, 0, 0),
        SD_BUS_PROPERTY("Updated", "b", get_updated, 0, 0),
        SD_BUS_PROPERTY("UUID", "s", get_uuid, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD_WITH_ARGS("Create", SD_BUS_ARGS("u", flags), SD_BUS_NO_RESULT, method_create,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Destroy", SD_BUS_ARGS("u", flags), SD_BUS_NO_RESULT, method_destroy,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetInterfaceParameters", SD_BUS_ARGS("s", device, "u", flags),
                                SD_BUS_RESULT("a{sv}", interfaceParameters), method_get_interface_parameters,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetState", SD_BUS_ARGS("u", flags), SD_BUS_RESULT("(ii)", state), method_get_state,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetXMLDesc", SD_BUS_ARGS("u", flags), SD_BUS_RESULT("s", xml), method_get_xml_desc,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reboot", SD_BUS_ARGS("u", flags), SD_BUS_NO_RESULT, method_reboot,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Reset", SD_BUS_ARGS("u", flags), SD_BUS_NO_RESULT, method_reset,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Resume", "", "", method_resume, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetInterfaceParameters", SD_BUS_ARGS("s", device, "a{sv}", params, "u", flags),
                                SD_BUS_NO_RESULT, method_set_interface_parameters, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Shutdown", SD_BUS_ARGS("u", flags), SD_BUS_NO_RESULT, method_shutdown,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Suspend", "", "", method_suspend, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Undefine", SD_BUS_ARGS("u", flags), SD_BUS_NO_RESULT, method_undefine,
                                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};
