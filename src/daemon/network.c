/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.libvirt.Network on /org/libvirt/QEMU/network/_UUID */

#include "errors.h"
#include "i18n.h"
#include "network-driver.h"
#include "network.h"
#include "object-path.h"
#include "polkit.h"

#define NETWORK_XML_INACTIVE 1u /* virNetworkXMLFlags */

char *network_object_path(const Uuid *uuid) {
        return uuid_object_path(NETWORK_PATH_PREFIX, uuid);
}

int network_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                        sd_bus_error *error) {
        Network *n = manager_find_network_by_path(userdata, path);

        if (!n)
                return 0;
        *found = n;
        return 1;
}

int network_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error) {
        Manager *m = userdata;
        int r;

        r = OBJECT_LIST_PATHS(m->networks, nodes);
        return r < 0 ? r : 1;
}

static int property_get_active(sd_bus *bus, const char *path, const char *interface, const char *property,
                               sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "b", network_is_active(userdata));
}

static int property_get_persistent(sd_bus *bus, const char *path, const char *interface, const char *property,
                                   sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "b", network_is_persistent(userdata));
}

static int property_get_autostart(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        Network *n = userdata;
        return sd_bus_message_append(reply, "b", n->autostart);
}

static int property_set_autostart(sd_bus *bus, const char *path, const char *interface, const char *property,
                                  sd_bus_message *value, void *userdata, sd_bus_error *error) {
        int b, r;

        r = sd_bus_message_read(value, "b", &b);
        if (r < 0)
                return r;
        return network_set_autostart(userdata, b, error);
}

static int property_get_name(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        return sd_bus_message_append(reply, "s", network_current_def(userdata)->name);
}

static int property_get_uuid(sd_bus *bus, const char *path, const char *interface, const char *property,
                             sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        char s[UUID_STR_MAX];
        return sd_bus_message_append(reply, "s", uuid_format(&network_current_def(userdata)->uuid, s));
}

static int method_create(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        int r;

        r = polkit_verify_network(userdata, message, POLKIT_MANAGE, 0, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* dispatched again once polkit answered */

        r = network_start(userdata, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, NULL);
}

static int method_destroy(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        int r;

        r = polkit_verify_network(userdata, message, POLKIT_MANAGE, 0, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* dispatched again once polkit answered */

        r = network_stop(userdata, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, NULL);
}

static int method_undefine(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        int r;

        r = polkit_verify_network(userdata, message, POLKIT_MANAGE, 0, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* dispatched again once polkit answered */

        r = network_undefine(userdata, error);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(message, NULL);
}

static int method_get_xml_desc(sd_bus_message *message, void *userdata, sd_bus_error *error) {
        Network *n = userdata;
        _cleanup_free_ char *xml = NULL;
        const NetworkDef *def;
        uint32_t flags;
        int r;

        r = polkit_verify_network(userdata, message, POLKIT_MONITOR, 0, error);
        if (r < 0)
                return r;
        if (r == 0)
                return 1; /* dispatched again once polkit answered */

        r = sd_bus_message_read(message, "u", &flags);
        if (r < 0)
                return r;
        r = check_flags(flags, NETWORK_XML_INACTIVE, "virNetworkGetXMLDesc", error);
        if (r < 0)
                return r;

        /* INACTIVE asks for the persistent config (libvirt falls back to the live one for a
         * transient network). */
        def = (flags & NETWORK_XML_INACTIVE) && n->config ? n->config : network_current_def(n);
        xml = network_def_format(def);
        if (!xml)
                return -ENOMEM;
        return sd_bus_reply_method_return(message, "s", xml);
}

const sd_bus_vtable network_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("Active", "b", property_get_active, 0, 0),
        SD_BUS_WRITABLE_PROPERTY("Autostart", "b", property_get_autostart, property_set_autostart, 0,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_PROPERTY("Name", "s", property_get_name, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Persistent", "b", property_get_persistent, 0, 0),
        SD_BUS_PROPERTY("UUID", "s", property_get_uuid, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_METHOD("Create", "", "", method_create, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Destroy", "", "", method_destroy, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetXMLDesc", SD_BUS_ARGS("u", flags), SD_BUS_RESULT("s", xml),
                                method_get_xml_desc, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Undefine", "", "", method_undefine, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};
