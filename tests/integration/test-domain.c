/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* org.libvirt.Domain and the Connect domain members through GDBus, against the real daemon
 * and real QEMU (TCG; a guest with no boot device just sits in its firmware, which is all
 * the lifecycle needs). Guest networking is covered by the e2e suite. */

#include <sys/stat.h>

#include "netdev.h"
#include "vb-test.h"

#define DOM_IFACE "org.libvirt.Domain"
#define CONNECT_IFACE "org.libvirt.Connect"
#define LIBVIRT_ERROR "org.libvirt.Error"

enum { EV_DEFINED = 0, EV_UNDEFINED = 1, EV_STARTED = 2, EV_SUSPENDED = 3, EV_RESUMED = 4, EV_STOPPED = 5 };

static const char bios_xml[] =
        "<domain type='qemu'>\n"
        "  <name>bios</name>\n"
        "  <uuid>0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3</uuid>\n"
        "  <memory unit='MiB'>64</memory>\n"
        "  <os><type>hvm</type></os>\n"
        "</domain>\n";

static char *define(const char *xml) {
        g_autoptr(GVariant) r = vb_call_ok(VB_CONNECT_PATH, CONNECT_IFACE, "DomainDefineXML", g_variant_new("(s)", xml));
        char *path;

        g_variant_get(r, "(o)", &path);
        return path;
}

static void call_u(const char *path, const char *method, guint32 flags) {
        g_variant_unref(vb_call_ok(path, DOM_IFACE, method, g_variant_new("(u)", flags)));
}

static void get_state(const char *path, int *state, int *reason) {
        g_autoptr(GVariant) r = vb_call_ok(path, DOM_IFACE, "GetState", g_variant_new("(u)", 0));
        g_variant_get(r, "((ii))", state, reason);
}

static void assert_state(const char *path, int state, int reason) {
        int s, r;

        get_state(path, &s, &r);
        g_assert_cmpint(s, ==, state);
        g_assert_cmpint(r, ==, reason);
}

static char *xml_desc(const char *path, guint32 flags) {
        g_autoptr(GVariant) r = vb_call_ok(path, DOM_IFACE, "GetXMLDesc", g_variant_new("(u)", flags));
        char *xml;

        g_variant_get(r, "(s)", &xml);
        return xml;
}

static guint list_count(guint32 flags) {
        g_autoptr(GVariant) r = vb_call_ok(VB_CONNECT_PATH, CONNECT_IFACE, "ListDomains", g_variant_new("(u)", flags));
        g_autoptr(GVariant) a = g_variant_get_child_value(r, 0);
        return g_variant_n_children(a);
}

static guint32 get_id(const char *path) {
        g_autoptr(GVariant) v = vb_get_property(path, DOM_IFACE, "Id");
        return g_variant_get_uint32(v);
}

static char *runtime_listing(void) {
        g_autofree char *dir = g_build_filename(g_getenv("VIRTBUS_RUNTIME_DIR"), "qemu", NULL);
        g_autoptr(GString) s = g_string_new("");
        GDir *d = g_dir_open(dir, 0, NULL);
        const char *n;

        if (!d)
                return g_strdup("");
        while ((n = g_dir_read_name(d)))
                if (g_str_has_suffix(n, ".status.xml") || g_str_has_suffix(n, ".qmp"))
                        g_string_append_printf(s, "%s ", n);
        g_dir_close(d);
        return g_string_free(g_steal_pointer(&s), FALSE);
}

static void test_define_lookup_undefine(void) {
        g_autofree char *path = NULL, *xml = NULL, *inactive = NULL, *name = NULL;
        g_autoptr(GVariant) r = NULL;
        const char *p;
        VbEvents ev;

        vb_events_start_domain(&ev);
        path = define(bios_xml);
        g_assert_cmpstr(path, ==, "/org/libvirt/QEMU/domain/_0a1b2c3d_4e5f_4a6b_8c7d_8e9fa0b1c2d3");
        vb_events_expect3(&ev, path, EV_DEFINED, 0 /* ADDED */);

        name = vb_get_string(path, DOM_IFACE, "Name");
        g_assert_cmpstr(name, ==, "bios");
        g_assert_false(vb_get_bool(path, DOM_IFACE, "Active"));
        g_assert_true(vb_get_bool(path, DOM_IFACE, "Persistent"));
        g_assert_false(vb_get_bool(path, DOM_IFACE, "Autostart"));
        g_assert_cmpuint(get_id(path), ==, G_MAXUINT32);
        {
                g_autofree char *os = vb_get_string(path, DOM_IFACE, "OSType");
                g_assert_cmpstr(os, ==, "hvm");
        }
        assert_state(path, 5 /* SHUTOFF */, 0);

        r = vb_call_ok(VB_CONNECT_PATH, CONNECT_IFACE, "DomainLookupByName", g_variant_new("(s)", "bios"));
        g_variant_get(r, "(&o)", &p);
        g_assert_cmpstr(p, ==, path);
        g_clear_pointer(&r, g_variant_unref);
        r = vb_call_ok(VB_CONNECT_PATH, CONNECT_IFACE, "DomainLookupByUUID",
                       g_variant_new("(s)", "0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3"));
        g_variant_get(r, "(&o)", &p);
        g_assert_cmpstr(p, ==, path);

        xml = xml_desc(path, 0);
        inactive = xml_desc(path, 2 /* INACTIVE */);
        g_assert_nonnull(strstr(xml, "<memory unit='KiB'>65536</memory>"));
        g_assert_cmpstr(xml, ==, inactive);

        /* redefine without uuid keeps it: UPDATED */
        {
                g_autofree char *again = define("<domain type='qemu'><name>bios</name><memory unit='MiB'>96</memory>"
                                                "<os><type>hvm</type></os></domain>");
                g_autofree char *x = xml_desc(again, 0);
                g_assert_cmpstr(again, ==, path);
                g_assert_nonnull(strstr(x, "<memory unit='KiB'>98304</memory>"));
                vb_events_expect3(&ev, path, EV_DEFINED, 1 /* UPDATED */);
        }

        g_assert_cmpuint(list_count(0), ==, 1);
        g_assert_cmpuint(list_count(2 /* INACTIVE */), ==, 1);
        g_assert_cmpuint(list_count(1 /* ACTIVE */), ==, 0);
        g_assert_cmpuint(list_count(64 /* SHUTOFF */), ==, 1);
        g_assert_cmpuint(list_count(16 /* RUNNING */), ==, 0);
        g_assert_cmpuint(list_count(512 /* NO_MANAGEDSAVE */), ==, 1);
        vb_call_fails(VB_CONNECT_PATH, CONNECT_IFACE, "ListDomains", g_variant_new("(u)", 1u << 20), LIBVIRT_ERROR,
                      "unsupported flags");

        call_u(path, "Undefine", 0);
        vb_events_expect3(&ev, path, EV_UNDEFINED, 0);
        g_assert_cmpuint(list_count(0), ==, 0);
        vb_call_fails(VB_CONNECT_PATH, CONNECT_IFACE, "DomainLookupByName", g_variant_new("(s)", "bios"), LIBVIRT_ERROR,
                      "Domain not found: no domain with matching name 'bios'");
        vb_events_stop(&ev);
}

static void test_lifecycle(void) {
        g_autofree char *path = define(bios_xml), *xml = NULL;
        g_autoptr(GVariant) r = NULL;
        guint32 id;
        const char *p;
        VbEvents ev;

        vb_events_start_domain(&ev);
        call_u(path, "Create", 0);
        /* Create answers once the guest runs */
        assert_state(path, 1 /* RUNNING */, 1 /* BOOTED */);
        vb_events_expect3(&ev, path, EV_STARTED, 0 /* BOOTED */);
        g_assert_true(vb_get_bool(path, DOM_IFACE, "Active"));
        id = get_id(path);
        g_assert_cmpuint(id, >, 0);
        g_assert_cmpuint(id, <, G_MAXUINT32);
        r = vb_call_ok(VB_CONNECT_PATH, CONNECT_IFACE, "DomainLookupByID", g_variant_new("(i)", (gint32) id));
        g_variant_get(r, "(&o)", &p);
        g_assert_cmpstr(p, ==, path);
        xml = xml_desc(path, 0);
        g_assert_nonnull(strstr(xml, "id='"));
        g_assert_cmpuint(list_count(1 | 16), ==, 1);
        vb_call_fails(path, DOM_IFACE, "Create", g_variant_new("(u)", 0), LIBVIRT_ERROR, "already running");
        vb_call_fails(path, DOM_IFACE, "Resume", NULL, LIBVIRT_ERROR, "is not paused");

        g_variant_unref(vb_call_ok(path, DOM_IFACE, "Suspend", NULL));
        assert_state(path, 3 /* PAUSED */, 2 /* USER */);
        vb_events_expect3(&ev, path, EV_SUSPENDED, 0);
        g_assert_cmpuint(list_count(32 /* PAUSED */), ==, 1);
        g_variant_unref(vb_call_ok(path, DOM_IFACE, "Resume", NULL));
        assert_state(path, 1, 3 /* UNPAUSED */);
        vb_events_expect3(&ev, path, EV_RESUMED, 0);
        call_u(path, "Reset", 0);
        assert_state(path, 1, 3);

        /* the status file names the running guest */
        {
                g_autofree char *l = runtime_listing();
                g_assert_nonnull(strstr(l, "bios.status.xml"));
        }

        call_u(path, "Destroy", 0);
        /* Destroy answers when QEMU is gone */
        assert_state(path, 5 /* SHUTOFF */, 2 /* DESTROYED */);
        vb_events_expect3(&ev, path, EV_STOPPED, 1 /* DESTROYED */);
        g_assert_false(vb_get_bool(path, DOM_IFACE, "Active"));
        g_assert_cmpuint(get_id(path), ==, G_MAXUINT32);
        {
                g_autofree char *l = runtime_listing();
                g_assert_cmpstr(l, ==, "");
        }
        vb_call_fails(path, DOM_IFACE, "Destroy", g_variant_new("(u)", 0), LIBVIRT_ERROR, "is not running");
        vb_call_fails(path, DOM_IFACE, "Suspend", NULL, LIBVIRT_ERROR, "is not running");
        vb_call_fails(VB_CONNECT_PATH, CONNECT_IFACE, "DomainLookupByID", g_variant_new("(i)", (gint32) id),
                      LIBVIRT_ERROR, "no domain with matching id");
        call_u(path, "Undefine", 0);
        vb_events_stop(&ev);
}

static void test_transient(void) {
        g_autoptr(GVariant) r = NULL;
        g_autofree char *path = NULL;

        r = vb_call_ok(VB_CONNECT_PATH, CONNECT_IFACE, "DomainCreateXML",
                       g_variant_new("(su)", "<domain type='qemu'><name>tr</name><memory unit='MiB'>64</memory>"
                                             "<os><type>hvm</type></os></domain>", 0));
        g_variant_get(r, "(o)", &path);
        assert_state(path, 1, 1);
        g_assert_false(vb_get_bool(path, DOM_IFACE, "Persistent"));
        g_assert_cmpuint(list_count(8 /* TRANSIENT */), ==, 1);
        vb_call_fails(path, DOM_IFACE, "Undefine", g_variant_new("(u)", 0), LIBVIRT_ERROR, "transient");
        call_u(path, "Destroy", 0);
        vb_call_fails(VB_CONNECT_PATH, CONNECT_IFACE, "DomainLookupByName", g_variant_new("(s)", "tr"), LIBVIRT_ERROR,
                      "Domain not found");
}

static void test_restart(void) {
        g_autofree char *a = define("<domain type='qemu'><name>ra</name><memory unit='MiB'>64</memory>"
                                    "<os><type>hvm</type></os></domain>");
        g_autofree char *b = define("<domain type='qemu'><name>rb</name><memory unit='MiB'>64</memory>"
                                    "<os><type>hvm</type></os></domain>");
        guint32 id;

        g_variant_unref(vb_call_ok(b, "org.freedesktop.DBus.Properties", "Set",
                                   g_variant_new("(ssv)", DOM_IFACE, "Autostart", g_variant_new_boolean(TRUE))));
        call_u(a, "Create", 0);
        id = get_id(a);

        vb_sandbox_ctl("kill-daemon");
        vb_sandbox_ctl("start-daemon");
        /* a kept running and is adopted with its id; b was started by autostart */
        g_assert_true(vb_get_bool(a, DOM_IFACE, "Active"));
        g_assert_cmpuint(get_id(a), ==, id);
        assert_state(a, 1, 1);
        g_assert_true(vb_get_bool(b, DOM_IFACE, "Active"));
        g_assert_true(vb_get_bool(b, DOM_IFACE, "Autostart"));
        g_variant_unref(vb_call_ok(a, DOM_IFACE, "Suspend", NULL));
        assert_state(a, 3, 2);

        /* the state survives a graceful restart too */
        vb_sandbox_ctl("restart-daemon");
        assert_state(a, 3, 2);
        call_u(a, "Destroy", 0);
        call_u(b, "Destroy", 0);
        g_variant_unref(vb_call_ok(b, "org.freedesktop.DBus.Properties", "Set",
                                   g_variant_new("(ssv)", DOM_IFACE, "Autostart", g_variant_new_boolean(FALSE))));
        call_u(a, "Undefine", 0);
        call_u(b, "Undefine", 0);
}

static void test_unknown_elements(void) {
        g_autofree char *path = define("<domain type='qemu'><name>unk</name><memory unit='MiB'>64</memory>"
                                       "<os><type>hvm</type></os><features><acpi/><apic/></features>"
                                       "<devices><graphics type='vnc' port='-1'/></devices></domain>");
        g_autofree char *xml = xml_desc(path, 0);
        g_autofree char *before = runtime_listing(), *after = NULL;

        /* kept on round trip ... */
        g_assert_nonnull(strstr(xml, "<acpi/>"));
        g_assert_nonnull(strstr(xml, "<graphics type='vnc' port='-1'/>"));
        /* ... and a device we cannot run is refused at start, leaving nothing */
        vb_call_fails(path, DOM_IFACE, "Create", g_variant_new("(u)", 0), LIBVIRT_ERROR,
                      "unsupported configuration: device <graphics>");
        assert_state(path, 5, 0);
        after = runtime_listing();
        g_assert_cmpstr(before, ==, after);
        call_u(path, "Undefine", 0);
}

static void test_start_failures_leave_nothing(void) {
        g_autofree char *path = NULL, *vhost = NULL, *listing = NULL;
        const char *net_xml = "<network><name>sf</name><bridge name='vbsf'/></network>";
        g_autoptr(GVariant) r = NULL;
        g_autofree char *net = NULL;

        /* the network is not running */
        r = vb_call_ok(VB_CONNECT_PATH, CONNECT_IFACE, "NetworkDefineXML", g_variant_new("(s)", net_xml));
        g_variant_get(r, "(o)", &net);
        path = define("<domain type='qemu'><name>sf</name><memory unit='MiB'>64</memory><os><type>hvm</type></os>"
                      "<devices><interface type='network'><source network='sf'/><model type='virtio'/></interface>"
                      "</devices></domain>");
        vb_call_fails(path, DOM_IFACE, "Create", g_variant_new("(u)", 0), LIBVIRT_ERROR, "network 'sf' is not active");
        assert_state(path, 5, 0);

        /* vhost-net explicitly requested, but this machine has no /dev/vhost-net */
        g_variant_unref(vb_call_ok(net, "org.libvirt.Network", "Create", NULL));
        vhost = define("<domain type='qemu'><name>vh</name><memory unit='MiB'>64</memory><os><type>hvm</type></os>"
                       "<devices><interface type='network'><source network='sf'/><model type='virtio'/>"
                       "<driver name='vhost'/></interface></devices></domain>");
        vb_call_fails(vhost, DOM_IFACE, "Create", g_variant_new("(u)", 0), LIBVIRT_ERROR,
                      "vhost-net was requested for interface");
        g_assert_false(netdev_link_exists("vnet0"));
        listing = runtime_listing();
        g_assert_cmpstr(listing, ==, "");

        /* default driver falls back to userspace virtio silently */
        call_u(vhost, "Undefine", 0);
        g_free(vhost);
        vhost = define("<domain type='qemu'><name>vh</name><memory unit='MiB'>64</memory><os><type>hvm</type></os>"
                       "<devices><interface type='network'><source network='sf'/><model type='virtio'/>"
                       "</interface></devices></domain>");
        call_u(vhost, "Create", 0);
        {
                g_autofree char *xml = xml_desc(vhost, 0);
                NetdevLink link;
                char kind[16] = "";

                g_assert_nonnull(strstr(xml, "<target dev='vnet0'/>"));
                g_assert_nonnull(strstr(xml, "<alias name='net0'/>"));
                g_assert_cmpint(netdev_link_lookup("vnet0", &link), ==, 0);
                g_assert_cmpint(netdev_qdisc_get_root_kind(link.ifindex, kind), ==, 0);
                g_assert_cmpstr(kind, ==, "noqueue");
        }
        call_u(vhost, "Destroy", 0);
        g_assert_false(netdev_link_exists("vnet0"));

        call_u(vhost, "Undefine", 0);
        call_u(path, "Undefine", 0);
        g_variant_unref(vb_call_ok(net, "org.libvirt.Network", "Destroy", NULL));
        g_variant_unref(vb_call_ok(net, "org.libvirt.Network", "Undefine", NULL));
}

static void test_bad_input(void) {
        static const struct {
                const char *xml, *contains;
        } cases[] = {
                { "", "XML error" },
                { "<domain type='qemu'>", "XML error" },
                { "<network/>", "XML error" },
                { "<domain type='qemu'><name>a/b</name><memory>1024</memory><os><type>hvm</type></os></domain>", "XML error" },
                { "<domain type='xen'><name>x</name><memory>1024</memory><os><type>hvm</type></os></domain>", "domain" },
                { "<domain type='qemu'><name>x</name><memory>1024</memory><os><type>hvm</type></os><devices>"
                  "<interface type='network'><source network='n'/><model type='e1000'/><driver txmode='iothread'/>"
                  "</interface></devices></domain>", "txmode" },
                { "<domain type='qemu'><name>x</name><memory>1024</memory><os><type>hvm</type></os><devices>"
                  "<interface type='network'><source network='n'/><target dev='a b'/></interface></devices></domain>",
                  "XML error" },
        };
        g_autofree char *mytap = NULL;
        g_autofree char *path = define(bios_xml);

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                vb_call_fails(VB_CONNECT_PATH, CONNECT_IFACE, "DomainDefineXML", g_variant_new("(s)", cases[i].xml),
                              LIBVIRT_ERROR, cases[i].contains);
                vb_call_fails(VB_CONNECT_PATH, CONNECT_IFACE, "DomainCreateXML", g_variant_new("(su)", cases[i].xml, 0),
                              LIBVIRT_ERROR, cases[i].contains);
        }
        vb_call_fails(VB_CONNECT_PATH, CONNECT_IFACE, "DomainDefineXML",
                      g_variant_new("(s)", "<domain type='qemu'><name>other</name><uuid>0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3</uuid>"
                                           "<memory>1024</memory><os><type>hvm</type></os></domain>"),
                      LIBVIRT_ERROR, "already exists with uuid");
        vb_call_fails(VB_CONNECT_PATH, CONNECT_IFACE, "DomainCreateXML", g_variant_new("(su)", bios_xml, 0),
                      LIBVIRT_ERROR, "already exists");
        vb_call_fails(VB_CONNECT_PATH, CONNECT_IFACE, "DomainCreateXML", g_variant_new("(su)", bios_xml, 4),
                      LIBVIRT_ERROR, "unsupported flags");
        vb_call_fails(VB_CONNECT_PATH, CONNECT_IFACE, "DomainLookupByUUID", g_variant_new("(s)", "zz"), LIBVIRT_ERROR,
                      "not a valid UUID");
        vb_call_fails(VB_CONNECT_PATH, CONNECT_IFACE, "DomainLookupByID", g_variant_new("(i)", -1), LIBVIRT_ERROR,
                      "no domain with matching id -1");
        vb_call_fails(path, DOM_IFACE, "GetXMLDesc", g_variant_new("(u)", 64), LIBVIRT_ERROR, "unsupported flags");
        vb_call_fails(path, DOM_IFACE, "Create", g_variant_new("(s)", "x"), "org.freedesktop.DBus.Error.InvalidArgs", NULL);
        vb_call_fails("/org/libvirt/QEMU/domain/_nope", DOM_IFACE, "Create", g_variant_new("(u)", 0),
                      "org.freedesktop.DBus.Error.UnknownObject", NULL);
        /* a target dev the helper will never create is refused at start, naming the rule */
        mytap = define("<domain type='qemu'><name>mt</name><memory>1024</memory><os><type>hvm</type></os><devices>"
                       "<interface type='bridge'><source bridge='br-allowed'/><target dev='mytap'/></interface>"
                       "</devices></domain>");
        vb_call_fails(mytap, DOM_IFACE, "Create", g_variant_new("(u)", 0), LIBVIRT_ERROR, "target dev 'mytap'");
        call_u(mytap, "Undefine", 0);
        g_assert_cmpuint(list_count(0), ==, 1);
        call_u(path, "Undefine", 0);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/domain/define-lookup-undefine", test_define_lookup_undefine);
        g_test_add_func("/domain/lifecycle", test_lifecycle);
        g_test_add_func("/domain/transient", test_transient);
        g_test_add_func("/domain/restart", test_restart);
        g_test_add_func("/domain/unknown-elements", test_unknown_elements);
        g_test_add_func("/domain/start-failures-leave-nothing", test_start_failures_leave_nothing);
        g_test_add_func("/domain/bad-input", test_bad_input);
        return g_test_run();
}
