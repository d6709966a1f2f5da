/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "vb-test.h"

GDBusConnection *vb_bus(void) {
        static GDBusConnection *bus;
        GError *error = NULL;

        if (!bus) {
                /* honours DBUS_SYSTEM_BUS_ADDRESS, set by the sandbox */
                bus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &error);
                g_assert_no_error(error);
        }
        return bus;
}

GVariant *vb_call(const char *path, const char *interface, const char *method, GVariant *args, GError **error) {
        return g_dbus_connection_call_sync(vb_bus(), VB_BUS_NAME, path, interface, method, args, NULL,
                                           G_DBUS_CALL_FLAGS_NONE, 30000, NULL, error);
}

GVariant *vb_call_ok(const char *path, const char *interface, const char *method, GVariant *args) {
        GError *error = NULL;
        GVariant *r = vb_call(path, interface, method, args, &error);

        if (error)
                g_error("%s.%s on %s failed: %s", interface, method, path, error->message);
        return r;
}

void vb_call_fails(const char *path, const char *interface, const char *method, GVariant *args,
                   const char *error_name, const char *contains) {
        GError *error = NULL;
        GVariant *r = vb_call(path, interface, method, args, &error);
        g_autofree char *remote = NULL;

        if (r)
                g_error("%s.%s on %s succeeded, expected %s", interface, method, path, error_name);
        remote = g_dbus_error_get_remote_error(error);
        g_dbus_error_strip_remote_error(error);
        if (g_strcmp0(remote, error_name) != 0 || (contains && !strstr(error->message, contains)))
                g_error("%s.%s: expected %s containing \"%s\", got %s: %s", interface, method, error_name,
                        contains ? contains : "", remote, error->message);
        g_error_free(error);
}

GVariant *vb_get_property(const char *path, const char *interface, const char *name) {
        g_autoptr(GVariant) r = vb_call_ok(path, "org.freedesktop.DBus.Properties", "Get",
                                           g_variant_new("(ss)", interface, name));
        GVariant *v;

        g_variant_get(r, "(v)", &v);
        return v;
}

gboolean vb_get_bool(const char *path, const char *interface, const char *name) {
        g_autoptr(GVariant) v = vb_get_property(path, interface, name);

        g_assert_true(g_variant_is_of_type(v, G_VARIANT_TYPE_BOOLEAN));
        return g_variant_get_boolean(v);
}

char *vb_get_string(const char *path, const char *interface, const char *name) {
        g_autoptr(GVariant) v = vb_get_property(path, interface, name);

        g_assert_true(g_variant_is_of_type(v, G_VARIANT_TYPE_STRING));
        return g_variant_dup_string(v, NULL);
}

char *vb_run(const char *const *argv) {
        g_autofree char *err = NULL;
        GError *error = NULL;
        char *out = NULL;
        int status;

        g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status, &error);
        g_assert_no_error(error);
        if (!g_spawn_check_wait_status(status, NULL))
                g_error("%s failed: %s", argv[0], err);
        return out;
}

void vb_sandbox_ctl(const char *cmd) {
        const char *argv[] = { g_getenv("VIRTBUS_SANDBOX"), "ctl", cmd, NULL };

        g_assert_nonnull(argv[0]);
        g_free(vb_run(argv));
}

static int compare_strp(gconstpointer a, gconstpointer b) {
        return g_strcmp0(*(char *const *) a, *(char *const *) b);
}

char *vb_state_listing(void) {
        g_autofree char *dir = g_build_filename(g_getenv("VIRTBUS_STATE_DIR"), "network", NULL);
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        GDir *d = g_dir_open(dir, 0, NULL);
        const char *n;

        if (!d)
                return g_strdup("");
        while ((n = g_dir_read_name(d)))
                g_ptr_array_add(names, g_strdup(n));
        g_dir_close(d);
        g_ptr_array_sort(names, compare_strp);
        g_ptr_array_add(names, NULL);
        return g_strjoinv(" ", (char **) names->pdata);
}

static void on_signal(GDBusConnection *c, const char *sender, const char *path, const char *iface,
                      const char *signal, GVariant *params, gpointer userdata) {
        VbEvents *e = userdata;
        const char *obj;
        int event;

        g_variant_get(params, "(&oi)", &obj, &event);
        g_ptr_array_add(e->events, g_strdup_printf("%s %d", obj, event));
}

static void on_domain_signal(GDBusConnection *c, const char *sender, const char *path, const char *iface,
                             const char *signal, GVariant *params, gpointer userdata) {
        VbEvents *e = userdata;
        const char *obj;
        int event, detail;

        g_variant_get(params, "(&oii)", &obj, &event, &detail);
        g_ptr_array_add(e->events, g_strdup_printf("%s %d %d", obj, event, detail));
}

void vb_events_start_domain(VbEvents *e) {
        e->events = g_ptr_array_new_with_free_func(g_free);
        e->subscription = g_dbus_connection_signal_subscribe(vb_bus(), VB_BUS_NAME, "org.libvirt.Connect",
                                                             "DomainEvent", VB_CONNECT_PATH, NULL,
                                                             G_DBUS_SIGNAL_FLAGS_NONE, on_domain_signal, e, NULL);
        g_variant_unref(vb_call_ok("/org/libvirt/QEMU", "org.freedesktop.DBus.Peer", "Ping", NULL));
}

void vb_events_expect3(VbEvents *e, const char *path, int event, int detail) {
        g_autofree char *want = g_strdup_printf("%s %d %d", path, event, detail);
        gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;

        for (;;) {
                while (g_main_context_iteration(NULL, FALSE))
                        ;
                for (guint i = 0; i < e->events->len; i++)
                        if (g_str_equal(e->events->pdata[i], want))
                                return;
                if (g_get_monotonic_time() > end)
                        g_error("DomainEvent(%s) not received", want);
                g_usleep(10000);
        }
}

void vb_events_start(VbEvents *e) {
        e->events = g_ptr_array_new_with_free_func(g_free);
        e->subscription = g_dbus_connection_signal_subscribe(vb_bus(), VB_BUS_NAME, "org.libvirt.Connect",
                                                             "NetworkEvent", VB_CONNECT_PATH, NULL,
                                                             G_DBUS_SIGNAL_FLAGS_NONE, on_signal, e, NULL);
        /* make sure the match rule is in place before the test acts */
        g_variant_unref(vb_call_ok("/org/libvirt/QEMU", "org.freedesktop.DBus.Peer", "Ping", NULL));
}

gboolean vb_events_seen(VbEvents *e, const char *path, int event) {
        g_autofree char *want = g_strdup_printf("%s %d", path, event);

        while (g_main_context_iteration(NULL, FALSE))
                ;
        for (guint i = 0; i < e->events->len; i++)
                if (g_str_equal(e->events->pdata[i], want))
                        return TRUE;
        return FALSE;
}

void vb_events_expect(VbEvents *e, const char *path, int event) {
        gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

        while (!vb_events_seen(e, path, event)) {
                if (g_get_monotonic_time() > end)
                        g_error("NetworkEvent(%s, %d) not received", path, event);
                g_usleep(10000);
        }
}

void vb_events_stop(VbEvents *e) {
        g_dbus_connection_signal_unsubscribe(vb_bus(), e->subscription);
        g_ptr_array_unref(e->events);
        *e = (VbEvents) {};
}
