/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "connect.h"
#include "domain-driver.h"
#include "domain.h"
#include "log.h"
#include "network-driver.h"
#include "network.h"
#include "polkit.h"
#include "properties.h"

#define IN_SET_PROPERTY(t) ((t) == _SD_BUS_VTABLE_PROPERTY || (t) == _SD_BUS_VTABLE_WRITABLE_PROPERTY)

static int find_object(Manager *m, const char *path, const char *interface, const sd_bus_vtable **ret_vtable,
                       void **ret_userdata) {
        if (streq(interface, "org.libvirt.Connect")) {
                if (!streq(path, CONNECT_PATH))
                        return 0;
                *ret_vtable = connect_vtable;
                *ret_userdata = m;
                return 1;
        }
        if (streq(interface, "org.libvirt.Domain")) {
                Domain *d = manager_find_domain_by_path(m, path);
                if (!d)
                        return 0;
                *ret_vtable = domain_vtable;
                *ret_userdata = d;
                return 1;
        }
        if (streq(interface, "org.libvirt.Network")) {
                Network *n = manager_find_network_by_path(m, path);
                if (!n)
                        return 0;
                *ret_vtable = network_vtable;
                *ret_userdata = n;
                return 1;
        }
        return 0;
}

static int append_all(sd_bus_message *reply, const char *path, const char *interface, const sd_bus_vtable *vtable,
                      void *userdata, sd_bus_error *error) {
        int r;

        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        for (const sd_bus_vtable *v = vtable; v->type != _SD_BUS_VTABLE_END; v++) {
                if (!IN_SET_PROPERTY(v->type))
                        continue;

                r = sd_bus_message_open_container(reply, 'e', "sv");
                if (r >= 0)
                        r = sd_bus_message_append(reply, "s", v->x.property.member);
                if (r >= 0)
                        r = sd_bus_message_open_container(reply, 'v', "v");
                if (r >= 0)
                        r = sd_bus_message_open_container(reply, 'v', v->x.property.signature);
                if (r >= 0)
                        r = v->x.property.get(sd_bus_message_get_bus(reply), path, interface, v->x.property.member,
                                              reply, userdata, error);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r >= 0)
                        r = sd_bus_message_close_container(reply);
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}

/* Every Properties call on our objects is authorized here, before sd-bus answers Get and Set
 * itself from the vtables: a property getter cannot wait for polkit, a filter can (it swallows
 * the message, which is dispatched again once polkit answered). Reads need the monitor action,
 * writes the manage action, whatever the interface (an empty one means all of them). */
static int properties_filter(sd_bus_message *message, void *userdata, sd_bus_error *ret_error) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
        Manager *m = userdata;
        const sd_bus_vtable *vtable;
        const char *interface, *path, *member, *signature, *property = NULL;
        bool get_all, set;
        void *object;
        int r;

        /* Calls only: signals (every NameOwnerChanged on the bus, see polkit.c) and replies
         * must not keep an idle daemon alive. */
        if (sd_bus_message_is_method_call(message, NULL, NULL))
                manager_bump_idle(m);

        if (!sd_bus_message_is_method_call(message, "org.freedesktop.DBus.Properties", NULL))
                return 0;
        member = sd_bus_message_get_member(message);
        path = sd_bus_message_get_path(message);
        signature = strempty(sd_bus_message_get_signature(message, true));
        get_all = streq(member, "GetAll") && streq(signature, "s");
        set = streq(member, "Set") && streq(signature, "ssv");
        if (!path || !(get_all || set || (streq(member, "Get") && streq(signature, "ss"))))
                return 0; /* sd-bus answers with the right error */
        r = sd_bus_message_read(message, "s", &interface);
        if (r >= 0 && set)
                r = sd_bus_message_read(message, "s", &property);
        if (r < 0) {
                (void) sd_bus_message_rewind(message, true);
                return 0;
        }

        r = polkit_verify_path(m, message, path, set ? POLKIT_MANAGE : POLKIT_MONITOR, property, &error);
        if (r == -ENOENT) {
                /* not one of our objects (or gone): sd-bus says so */
                (void) sd_bus_message_rewind(message, true);
                return 0;
        }
        if (r == 0)
                return 1; /* dispatched again once polkit answered */
        if (r < 0) {
                if (sd_bus_error_is_set(&error))
                        r = sd_bus_reply_method_error(message, &error);
                else
                        r = sd_bus_reply_method_errno(message, r, NULL);
                if (r < 0)
                        log_debug_errno(r, "Failed to reply to %s on %s: %m", member, path);
                return 1;
        }

        /* Allowed. sd-bus answers Get and Set, and GetAll for interfaces other than libvirt's. */
        r = get_all ? find_object(m, path, interface, &vtable, &object) : 0;
        (void) sd_bus_message_rewind(message, true); /* let sd-bus read it again if we pass */
        if (r <= 0)
                return 0;

        r = sd_bus_message_new_method_return(message, &reply);
        if (r >= 0)
                r = append_all(reply, path, interface, vtable, object, &error);
        if (r < 0) {
                if (sd_bus_error_is_set(&error))
                        r = sd_bus_reply_method_error(message, &error);
                else
                        r = sd_bus_reply_method_errno(message, r, NULL);
        } else
                r = sd_bus_send(NULL, reply, NULL);
        if (r < 0)
                log_debug_errno(r, "Failed to reply to GetAll on %s: %m", path);
        return 1; /* handled */
}

int properties_install_libvirt_getall(Manager *m) {
        return sd_bus_add_filter(m->bus, NULL, properties_filter, m);
}
