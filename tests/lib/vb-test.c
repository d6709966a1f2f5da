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

/* ---- end-to-end helpers (tests/e2e) ---- */

void vb_iterate(void) {
        while (g_main_context_iteration(NULL, FALSE))
                ;
}

static void on_domain_event_signal(GDBusConnection *c, const char *sender, const char *path, const char *iface,
                                   const char *signal, GVariant *params, gpointer userdata) {
        VbDomainEvents *e = userdata;
        const char *obj;
        int event, detail;

        g_variant_get(params, "(&oii)", &obj, &event, &detail);
        g_ptr_array_add(e->events, g_strdup_printf("%s %d %d", obj, event, detail));
}

void vb_domain_events_start(VbDomainEvents *e) {
        e->events = g_ptr_array_new_with_free_func(g_free);
        e->subscription = g_dbus_connection_signal_subscribe(vb_bus(), VB_BUS_NAME, "org.libvirt.Connect",
                                                             "DomainEvent", VB_CONNECT_PATH, NULL,
                                                             G_DBUS_SIGNAL_FLAGS_NONE, on_domain_event_signal, e, NULL);
        /* make sure the match rule is in place before the test acts */
        g_variant_unref(vb_call_ok(VB_CONNECT_PATH, "org.freedesktop.DBus.Peer", "Ping", NULL));
}

gboolean vb_domain_events_seen(VbDomainEvents *e, const char *path, int event, int detail) {
        g_autofree char *want = g_strdup_printf("%s %d %d", path, event, detail);
        g_autofree char *prefix = g_strdup_printf("%s %d ", path, event);

        vb_iterate();
        for (guint i = 0; i < e->events->len; i++) {
                const char *got = e->events->pdata[i];

                if (detail < 0 ? g_str_has_prefix(got, prefix) : g_str_equal(got, want))
                        return TRUE;
        }
        return FALSE;
}

void vb_domain_events_expect(VbDomainEvents *e, const char *path, int event, int detail, guint timeout_s) {
        gint64 end = g_get_monotonic_time() + (gint64) timeout_s * G_USEC_PER_SEC;

        while (!vb_domain_events_seen(e, path, event, detail)) {
                if (g_get_monotonic_time() > end) {
                        g_autoptr(GString) got = g_string_new("");

                        for (guint i = 0; i < e->events->len; i++)
                                g_string_append_printf(got, "\n  %s", (char *) e->events->pdata[i]);
                        g_error("DomainEvent(%s, %d, %d) not received within %u s; received:%s", path, event, detail,
                                timeout_s, got->str);
                }
                g_usleep(10000);
        }
}

void vb_domain_events_stop(VbDomainEvents *e) {
        g_dbus_connection_signal_unsubscribe(vb_bus(), e->subscription);
        g_ptr_array_unref(e->events);
        *e = (VbDomainEvents) {};
}

char *vb_wait_for_line(const char *file, const char *regex, const char *fail_regex, guint timeout_s) {
        g_autoptr(GRegex) re = g_regex_new(regex, G_REGEX_MULTILINE, 0, NULL);
        g_autoptr(GRegex) fail = fail_regex ? g_regex_new(fail_regex, G_REGEX_MULTILINE, 0, NULL) : NULL;
        gint64 end = g_get_monotonic_time() + (gint64) timeout_s * G_USEC_PER_SEC;

        g_assert_nonnull(re);
        g_assert_true(!fail_regex || fail);
        for (;;) {
                g_autofree char *content = NULL;
                g_auto(GStrv) lines = NULL;
                gboolean failed = FALSE, timed_out;

                timed_out = g_get_monotonic_time() > end;
                if (g_file_get_contents(file, &content, NULL, NULL)) {
                        lines = g_strsplit(content, "\n", -1);
                        /* the guest may be writing the last line right now: only whole lines count */
                        if (lines[0]) {
                                char **last = lines + g_strv_length(lines) - 1;
                                (*last)[0] = 0;
                        }
                        for (char **l = lines; *l; l++) {
                                g_strchomp(*l);
                                g_strdelimit(*l, "\r", ' ');
                                g_strchomp(*l);
                                if (g_regex_match(re, *l, 0, NULL))
                                        return g_strdup(*l);
                                if (fail && g_regex_match(fail, *l, 0, NULL))
                                        failed = TRUE;
                        }
                }
                if (failed || timed_out)
                        g_error("%s: no line matching /%s/ %s; the file holds:\n%s", file, regex,
                                failed ? "before a line matching the failure pattern" : "in time",
                                content ? content : "(nothing, it does not exist)");
                vb_iterate();
                g_usleep(50000);
        }
}

char *vb_link_listing(void) {
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        GDir *d = g_dir_open("/sys/class/net", 0, NULL);
        const char *n;

        g_assert_nonnull(d);
        while ((n = g_dir_read_name(d)))
                if (!g_str_equal(n, "lo"))
                        g_ptr_array_add(names, g_strdup(n));
        g_dir_close(d);
        g_ptr_array_sort(names, compare_strp);
        g_ptr_array_add(names, NULL);
        return g_strjoinv(" ", (char **) names->pdata);
}

static char *read_cmdline(pid_t pid, gsize *ret_len) {
        g_autofree char *path = g_strdup_printf("/proc/%d/cmdline", (int) pid);
        char *content = NULL;

        if (!g_file_get_contents(path, &content, ret_len, NULL))
                return NULL;
        return content;
}

gboolean vb_process_alive(pid_t pid) {
        g_autofree char *path = g_strdup_printf("/proc/%d/stat", (int) pid), *stat = NULL;
        const char *p;

        if (pid <= 0 || !g_file_get_contents(path, &stat, NULL, NULL))
                return FALSE;
        p = strrchr(stat, ')'); /* "PID (COMM) STATE …" */
        return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

char *vb_process_cmdline(pid_t pid) {
        gsize len = 0;
        char *c = read_cmdline(pid, &len);

        if (!c || len == 0) {
                g_free(c);
                return NULL;
        }
        for (gsize i = 0; i + 1 < len; i++)
                if (c[i] == 0)
                        c[i] = ' ';
        return c;
}

pid_t vb_find_qemu(const char *name) {
        g_autofree char *exact = g_strdup_printf("guest=%s", name), *prefix = g_strdup_printf("guest=%s,", name);
        GDir *d = g_dir_open("/proc", 0, NULL);
        const char *n;
        pid_t found = 0;

        g_assert_nonnull(d);
        while ((n = g_dir_read_name(d))) {
                g_autofree char *c = NULL;
                gsize len = 0;
                pid_t pid;

                if (!g_ascii_isdigit(n[0]))
                        continue;
                pid = (pid_t) g_ascii_strtoll(n, NULL, 10);
                c = read_cmdline(pid, &len);
                if (!c || !vb_process_alive(pid))
                        continue;
                for (gsize i = 0; i < len; i += strlen(c + i) + 1)
                        if (g_str_equal(c + i, exact) || g_str_has_prefix(c + i, prefix)) {
                                if (found)
                                        g_error("two processes run guest %s: %d and %d", name, (int) found, (int) pid);
                                found = pid;
                                break;
                        }
        }
        g_dir_close(d);
        return found;
}

static char *polkit_rule_path(const char *file_name) {
        const char *dir = g_getenv("VIRTBUS_POLKIT_RULES_DIR");

        g_assert_nonnull(dir);
        return g_build_filename(dir, file_name, NULL);
}

void vb_polkit_rule_write(const char *file_name, const char *js) {
        g_autofree char *path = polkit_rule_path(file_name);
        GError *error = NULL;

        /* written aside and renamed into place: polkitd never reads half a file */
        g_file_set_contents_full(path, js, -1, G_FILE_SET_CONTENTS_CONSISTENT, 0644, &error);
        g_assert_no_error(error);
}

void vb_polkit_rule_remove(const char *file_name) {
        g_autofree char *path = polkit_rule_path(file_name);
        g_autoptr(GFile) file = g_file_new_for_path(path);

        (void) g_file_delete(file, NULL, NULL);
}

char *vb_sandbox_read(const char *name) {
        g_autofree char *path = g_build_filename(g_getenv("VIRTBUS_SANDBOX_DIR"), name, NULL);
        char *contents = NULL;

        if (!g_file_get_contents(path, &contents, NULL, NULL))
                return g_strdup("");
        return contents;
}
