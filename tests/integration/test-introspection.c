/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's exported interfaces match the files in dbus-interfaces/ member by member: same
 * methods with the same argument names, types and directions, same properties with the same
 * types and access, same signals. Runs inside tests/lib/sandbox. */

#include "vb-test.h"

/* Node infos stay alive until the test's end (the interface infos point into them). */
static GPtrArray *nodes;

static GDBusInterfaceInfo *keep_node(GDBusNodeInfo *node, const char *name) {
        if (!nodes)
                nodes = g_ptr_array_new_with_free_func((GDestroyNotify) g_dbus_node_info_unref);
        g_ptr_array_add(nodes, node);
        return g_dbus_node_info_lookup_interface(node, name);
}

static GDBusInterfaceInfo *load_file_interface(const char *name) {
        g_autofree char *path = g_build_filename(g_getenv("VIRTBUS_SOURCE_DIR"), "dbus-interfaces", NULL);
        g_autofree char *file = g_strdup_printf("%s/%s.xml", path, name);
        g_autofree char *xml = NULL;
        GDBusNodeInfo *node;
        GError *error = NULL;

        g_assert_true(g_file_get_contents(file, &xml, NULL, &error));
        node = g_dbus_node_info_new_for_xml(xml, &error);
        g_assert_no_error(error);
        return keep_node(node, name);
}

static GDBusInterfaceInfo *load_live_interface(const char *path, const char *name) {
        g_autoptr(GVariant) r = vb_call_ok(path, "org.freedesktop.DBus.Introspectable", "Introspect", NULL);
        const char *xml;
        GDBusNodeInfo *node;
        GError *error = NULL;

        g_variant_get(r, "(&s)", &xml);
        node = g_dbus_node_info_new_for_xml(xml, &error);
        g_assert_no_error(error);
        return keep_node(node, name);
}

static void compare_args(const char *what, GDBusArgInfo **a, GDBusArgInfo **b) {
        guint i;

        for (i = 0; a && a[i]; i++) {
                if (!b || !b[i])
                        g_error("%s: argument %s missing in the daemon", what, a[i]->name);
                if (g_strcmp0(a[i]->name, b[i]->name) != 0 || g_strcmp0(a[i]->signature, b[i]->signature) != 0)
                        g_error("%s: argument %u is %s %s in the file but %s %s in the daemon", what, i,
                                a[i]->name, a[i]->signature, b[i]->name, b[i]->signature);
        }
        if (b && b[i])
                g_error("%s: extra argument %s in the daemon", what, b[i]->name);
}

static guint count(gpointer *p) {
        guint n = 0;
        while (p && p[n])
                n++;
        return n;
}

static void compare_interface(GDBusInterfaceInfo *file, GDBusInterfaceInfo *live) {
        g_assert_nonnull(file);
        g_assert_nonnull(live);

        for (guint i = 0; file->methods && file->methods[i]; i++) {
                GDBusMethodInfo *f = file->methods[i], *l = g_dbus_interface_info_lookup_method(live, f->name);
                g_autofree char *in = g_strdup_printf("%s.%s (in)", file->name, f->name);
                g_autofree char *out = g_strdup_printf("%s.%s (out)", file->name, f->name);

                if (!l)
                        g_error("method %s.%s is in the file but not exported", file->name, f->name);
                compare_args(in, f->in_args, l->in_args);
                compare_args(out, f->out_args, l->out_args);
        }
        for (guint i = 0; file->properties && file->properties[i]; i++) {
                GDBusPropertyInfo *f = file->properties[i], *l = g_dbus_interface_info_lookup_property(live, f->name);

                if (!l)
                        g_error("property %s.%s is in the file but not exported", file->name, f->name);
                g_assert_cmpstr(f->signature, ==, l->signature);
                g_assert_cmpint(f->flags, ==, l->flags);
        }
        for (guint i = 0; file->signals && file->signals[i]; i++) {
                GDBusSignalInfo *f = file->signals[i], *l = g_dbus_interface_info_lookup_signal(live, f->name);

                if (!l)
                        g_error("signal %s.%s is in the file but not exported", file->name, f->name);
                compare_args(f->name, f->args, l->args);
        }
        /* and nothing exported that the file does not document */
        g_assert_cmpuint(count((gpointer *) file->methods), ==, count((gpointer *) live->methods));
        g_assert_cmpuint(count((gpointer *) file->properties), ==, count((gpointer *) live->properties));
        g_assert_cmpuint(count((gpointer *) file->signals), ==, count((gpointer *) live->signals));
}

static void test_connect(void) {
        compare_interface(load_file_interface("org.libvirt.Connect"),
                          load_live_interface(VB_CONNECT_PATH, "org.libvirt.Connect"));
}

static void test_network(void) {
        g_autoptr(GVariant) r = vb_call_ok(VB_CONNECT_PATH, "org.libvirt.Connect", "NetworkDefineXML",
                                           g_variant_new("(s)", "<network><name>intro</name></network>"));
        const char *path;

        g_variant_get(r, "(&o)", &path);
        compare_interface(load_file_interface("org.libvirt.Network"), load_live_interface(path, "org.libvirt.Network"));
        /* the node enumerator lists it under its prefix (what busctl tree walks) */
        {
                g_autoptr(GVariant) intro = vb_call_ok("/org/libvirt/QEMU/network", "org.freedesktop.DBus.Introspectable",
                                                       "Introspect", NULL);
                g_autofree char *node = g_strdup_printf("<node name=\"%s\"/>", strrchr(path, '/') + 1);
                const char *xml;

                g_variant_get(intro, "(&s)", &xml);
                g_assert_nonnull(strstr(xml, node));
        }
        compare_interface(load_file_interface("org.virtbus.Network1"), load_live_interface(path, "org.virtbus.Network1"));
        g_variant_unref(vb_call_ok(path, "org.libvirt.Network", "Undefine", NULL));
}

static void test_domain(void) {
        g_autoptr(GVariant) r = vb_call_ok(VB_CONNECT_PATH, "org.libvirt.Connect", "DomainDefineXML",
                                           g_variant_new("(s)", "<domain type='qemu'><name>intro</name>"
                                                                "<memory>65536</memory><os><type>hvm</type></os></domain>"));
        const char *path;

        g_variant_get(r, "(&o)", &path);
        compare_interface(load_file_interface("org.libvirt.Domain"), load_live_interface(path, "org.libvirt.Domain"));
        g_variant_unref(vb_call_ok(path, "org.libvirt.Domain", "Undefine", g_variant_new("(u)", 0)));
}

int main(int argc, char *argv[]) {
        int r;

        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/introspection/connect", test_connect);
        g_test_add_func("/introspection/network", test_network);
        g_test_add_func("/introspection/domain", test_domain);
        r = g_test_run();
        g_clear_pointer(&nodes, g_ptr_array_unref);
        return r;
}
