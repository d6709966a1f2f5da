/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Networks over D-Bus, end to end: GDBus client → virtbusd → virtbus-nethelper → kernel,
 * checked through netlink. Runs inside tests/lib/sandbox. */

#include <arpa/inet.h>
#include <net/if.h>

#include "netdev.h"
#include "vb-test.h"

#define NET_IFACE "org.libvirt.Network"
#define CONNECT_IFACE "org.libvirt.Connect"
#define LIBVIRT_ERROR "org.libvirt.Error"

enum { EV_DEFINED = 0, EV_UNDEFINED = 1, EV_STARTED = 2, EV_STOPPED = 3 };

static const char lan_xml[] =
        "<network>\n"
        "  <name>lan</name>\n"
        "  <uuid>6a7d3c2e-1b4f-4f1e-9a0b-0c1d2e3f4a5b</uuid>\n"
        "  <bridge name='vbtest0' stp='off' delay='2'/>\n"
        "  <mac address='52:54:00:12:34:56'/>\n"
        "  <mtu size='9000'/>\n"
        "  <ip address='10.77.0.1' netmask='255.255.255.0'/>\n"
        "  <ip family='ipv6' address='fd00:77::1' prefix='64'/>\n"
        "</network>\n";

static char *define(const char *xml) {
        g_autoptr(GVariant) r = vb_call_ok(VB_CONNECT_PATH, CONNECT_IFACE, "NetworkDefineXML", g_variant_new("(s)", xml));
        char *path;

        g_variant_get(r, "(o)", &path);
        return path;
}

static void call_void(const char *path, const char *method) {
        g_variant_unref(vb_call_ok(path, NET_IFACE, method, NULL));
}

static char *xml_desc(const char *path, guint32 flags) {
        g_autoptr(GVariant) r = vb_call_ok(path, NET_IFACE, "GetXMLDesc", g_variant_new("(u)", flags));
        char *xml;

        g_variant_get(r, "(s)", &xml);
        return xml;
}

static guint list_count(guint32 flags) {
        g_autoptr(GVariant) r = vb_call_ok(VB_CONNECT_PATH, CONNECT_IFACE, "ListNetworks", g_variant_new("(u)", flags));
        g_autoptr(GVariant) a = g_variant_get_child_value(r, 0);

        return g_variant_n_children(a);
}

static gboolean list_has(guint32 flags, const char *path) {
        g_autoptr(GVariant) r = vb_call_ok(VB_CONNECT_PATH, CONNECT_IFACE, "ListNetworks", g_variant_new("(u)", flags));
        g_autoptr(GVariantIter) it = NULL;
        const char *p;

        g_variant_get(r, "(ao)", &it);
        while (g_variant_iter_next(it, "&o", &p))
                if (g_str_equal(p, path))
                        return TRUE;
        return FALSE;
}

static void test_lifecycle(void) {
        g_autofree char *path = NULL, *uuid = NULL, *name = NULL, *xml = NULL;
        VbEvents ev;
        NetdevLink link;
        NetdevAddress *addrs = NULL;
        size_t n_addrs = 0;
        gboolean v4 = FALSE, v6 = FALSE;
        bool stp;
        uint32_t delay;
        char mac[ETHER_ADDR_STR_MAX];

        vb_events_start(&ev);
        path = define(lan_xml);
        g_assert_cmpstr(path, ==, "/org/libvirt/QEMU/network/_6a7d3c2e_1b4f_4f1e_9a0b_0c1d2e3f4a5b");
        vb_events_expect(&ev, path, EV_DEFINED);

        name = vb_get_string(path, NET_IFACE, "Name");
        uuid = vb_get_string(path, NET_IFACE, "UUID");
        g_assert_cmpstr(name, ==, "lan");
        g_assert_cmpstr(uuid, ==, "6a7d3c2e-1b4f-4f1e-9a0b-0c1d2e3f4a5b");
        g_assert_false(vb_get_bool(path, NET_IFACE, "Active"));
        g_assert_true(vb_get_bool(path, NET_IFACE, "Persistent"));
        g_assert_false(vb_get_bool(path, NET_IFACE, "Autostart"));
        g_assert_false(netdev_link_exists("vbtest0"));

        call_void(path, "Create");
        vb_events_expect(&ev, path, EV_STARTED);
        g_assert_true(vb_get_bool(path, NET_IFACE, "Active"));

        /* the kernel agrees, read through netlink */
        g_assert_cmpint(netdev_link_lookup("vbtest0", &link), ==, 0);
        g_assert_cmpstr(link.kind, ==, "bridge");
        g_assert_cmpstr(ether_addr_format(&link.mac, mac), ==, "52:54:00:12:34:56");
        g_assert_cmpuint(link.mtu, ==, 9000);
        g_assert_true(link.up);
        g_assert_cmpstr(link.alias, ==, NETDEV_VIRTBUS_ALIAS);
        g_assert_cmpint(netdev_bridge_get("vbtest0", &stp, &delay), ==, 0);
        g_assert_false(stp);
        g_assert_cmpuint(delay, ==, 2);
        g_assert_cmpint(netdev_link_addresses(link.ifindex, &addrs, &n_addrs), ==, 0);
        for (size_t i = 0; i < n_addrs; i++) {
                char s[INET6_ADDRSTRLEN];

                inet_ntop(addrs[i].family, addrs[i].address, s, sizeof s);
                if (addrs[i].family == AF_INET && g_str_equal(s, "10.77.0.1") && addrs[i].prefixlen == 24)
                        v4 = TRUE;
                if (addrs[i].family == AF_INET6 && g_str_equal(s, "fd00:77::1") && addrs[i].prefixlen == 64)
                        v6 = TRUE;
        }
        free(addrs);
        g_assert_true(v4);
        g_assert_true(v6);

        /* the live XML is the canonical form of what we defined */
        xml = xml_desc(path, 0);
        g_assert_cmpstr(xml, ==, lan_xml);

        vb_call_fails(path, NET_IFACE, "Create", NULL, LIBVIRT_ERROR, "already active");

        call_void(path, "Destroy");
        vb_events_expect(&ev, path, EV_STOPPED);
        g_assert_false(vb_get_bool(path, NET_IFACE, "Active"));
        g_assert_false(netdev_link_exists("vbtest0"));
        vb_call_fails(path, NET_IFACE, "Destroy", NULL, LIBVIRT_ERROR, "is not active");

        call_void(path, "Undefine");
        vb_events_expect(&ev, path, EV_UNDEFINED);
        vb_call_fails(VB_CONNECT_PATH, CONNECT_IFACE, "NetworkLookupByName", g_variant_new("(s)", "lan"), LIBVIRT_ERROR,
                      "Network not found: no network with matching name 'lan'");
        vb_call_fails(path, NET_IFACE, "Create", NULL, "org.freedesktop.DBus.Error.UnknownObject", NULL);
        vb_events_stop(&ev);
}

static void test_lookup_and_list(void) {
        g_autofree char *a = define("<network><name>la</name><bridge name='vbla'/></network>");
        g_autofree char *b = define("<network><name>lb</name></network>");
        g_autofree char *uuid = vb_get_string(a, NET_IFACE, "UUID");
        g_autoptr(GVariant) r1 = NULL, r2 = NULL;
        const char *p;

        r1 = vb_call_ok(VB_CONNECT_PATH, CONNECT_IFACE, "NetworkLookupByName", g_variant_new("(s)", "lb"));
        g_variant_get(r1, "(&o)", &p);
        g_assert_cmpstr(p, ==, b);
        r2 = vb_call_ok(VB_CONNECT_PATH, CONNECT_IFACE, "NetworkLookupByUUID", g_variant_new("(s)", uuid));
        g_variant_get(r2, "(&o)", &p);
        g_assert_cmpstr(p, ==, a);
        vb_call_fails(VB_CONNECT_PATH, CONNECT_IFACE, "NetworkLookupByUUID",
                      g_variant_new("(s)", "00000000-0000-4000-8000-000000000000"), LIBVIRT_ERROR,
                      "no network with matching uuid");
        vb_call_fails(VB_CONNECT_PATH, CONNECT_IFACE, "NetworkLookupByUUID", g_variant_new("(s)", "not-a-uuid"),
                      LIBVIRT_ERROR, "'not-a-uuid' is not a valid UUID");

        /* the network without a bridge got a free virbrN */
        {
                g_autofree char *xml = xml_desc(b, 0);
                g_assert_nonnull(strstr(xml, "<bridge name='virbr"));
                g_assert_nonnull(strstr(xml, "<mac address='52:54:00:"));
        }

        call_void(a, "Create");
        g_assert_cmpuint(list_count(0), ==, 2);
        g_assert_true(list_has(2 /* ACTIVE */, a));
        g_assert_false(list_has(2, b));
        g_assert_true(list_has(1 /* INACTIVE */, b));
        g_assert_false(list_has(1, a));
        g_assert_cmpuint(list_count(4 /* PERSISTENT */), ==, 2);
        g_assert_cmpuint(list_count(8 /* TRANSIENT */), ==, 0);
        g_assert_cmpuint(list_count(32 /* NO_AUTOSTART */), ==, 2);
        g_assert_cmpuint(list_count(1 | 2), ==, 2);
        vb_call_fails(VB_CONNECT_PATH, CONNECT_IFACE, "ListNetworks", g_variant_new("(u)", 64), LIBVIRT_ERROR,
                      "unsupported flags (0x40)");

        call_void(a, "Destroy");
        call_void(a, "Undefine");
        call_void(b, "Undefine");
        g_assert_cmpuint(list_count(0), ==, 0);
}

static void test_transient(void) {
        g_autoptr(GVariant) r = NULL;
        g_autofree char *path = NULL;
        VbEvents ev;

        vb_events_start(&ev);
        r = vb_call_ok(VB_CONNECT_PATH, CONNECT_IFACE, "NetworkCreateXML",
                       g_variant_new("(s)", "<network><name>tr</name><bridge name='vbtr'/>"
                                            "<ip address='10.78.0.1' prefix='24'/></network>"));
        g_variant_get(r, "(o)", &path);
        vb_events_expect(&ev, path, EV_STARTED);
        g_assert_true(vb_get_bool(path, NET_IFACE, "Active"));
        g_assert_false(vb_get_bool(path, NET_IFACE, "Persistent"));
        g_assert_true(netdev_link_exists("vbtr"));
        g_assert_true(list_has(8 /* TRANSIENT */, path));

        vb_call_fails(path, NET_IFACE, "Undefine", NULL, LIBVIRT_ERROR, "cannot undefine transient network");
        vb_call_fails(path, "org.freedesktop.DBus.Properties", "Set",
                      g_variant_new("(ssv)", NET_IFACE, "Autostart", g_variant_new_boolean(TRUE)), LIBVIRT_ERROR,
                      "transient");
        vb_call_fails(VB_CONNECT_PATH, CONNECT_IFACE, "NetworkCreateXML",
                      g_variant_new("(s)", "<network><name>tr</name></network>"), LIBVIRT_ERROR, "already exists");

        call_void(path, "Destroy");
        vb_events_expect(&ev, path, EV_STOPPED);
        g_assert_false(vb_events_seen(&ev, path, EV_UNDEFINED));
        g_assert_false(netdev_link_exists("vbtr"));
        vb_call_fails(VB_CONNECT_PATH, CONNECT_IFACE, "NetworkLookupByName", g_variant_new("(s)", "tr"), LIBVIRT_ERROR,
                      "Network not found");
        vb_events_stop(&ev);
}

static void test_restart_persistence(void) {
        g_autofree char *a = define("<network><name>pa</name><bridge name='vbpa'/>"
                                    "<ip address='10.79.0.1' prefix='24'/></network>");
        g_autofree char *b = define("<network><name>pb</name><bridge name='vbpb'/></network>");
        g_autofree char *c = define("<network><name>pc</name><bridge name='vbpc'/></network>");
        g_autofree char *xml_before = NULL, *xml_after = NULL;
        g_autoptr(GVariant) r = NULL;
        g_autofree char *tpath = NULL, *listing = NULL;
        NetdevLink before, after;

        /* a: active + autostart; b: inactive; c: autostart but inactive (autostart starts it);
         * t: transient and active */
        g_variant_unref(vb_call_ok(a, "org.freedesktop.DBus.Properties", "Set",
                                   g_variant_new("(ssv)", NET_IFACE, "Autostart", g_variant_new_boolean(TRUE))));
        g_variant_unref(vb_call_ok(c, "org.freedesktop.DBus.Properties", "Set",
                                   g_variant_new("(ssv)", NET_IFACE, "Autostart", g_variant_new_boolean(TRUE))));
        g_assert_true(vb_get_bool(a, NET_IFACE, "Autostart"));
        call_void(a, "Create");
        r = vb_call_ok(VB_CONNECT_PATH, CONNECT_IFACE, "NetworkCreateXML",
                       g_variant_new("(s)", "<network><name>pt</name><bridge name='vbpt'/></network>"));
        g_variant_get(r, "(o)", &tpath);
        g_assert_cmpint(netdev_link_lookup("vbpa", &before), ==, 0);
        xml_before = xml_desc(b, 0);

        vb_sandbox_ctl("restart-daemon");

        g_assert_cmpuint(list_count(0), ==, 4);
        g_assert_true(vb_get_bool(a, NET_IFACE, "Active"));
        g_assert_true(vb_get_bool(a, NET_IFACE, "Autostart"));
        g_assert_false(vb_get_bool(b, NET_IFACE, "Active"));
        g_assert_true(vb_get_bool(c, NET_IFACE, "Active")); /* autostarted */
        g_assert_true(vb_get_bool(tpath, NET_IFACE, "Active"));
        g_assert_false(vb_get_bool(tpath, NET_IFACE, "Persistent"));
        xml_after = xml_desc(b, 0);
        g_assert_cmpstr(xml_before, ==, xml_after);
        /* the running bridge was adopted, not re-created */
        g_assert_cmpint(netdev_link_lookup("vbpa", &after), ==, 0);
        g_assert_cmpint(before.ifindex, ==, after.ifindex);

        /* a crash (SIGKILL) is no different */
        vb_sandbox_ctl("kill-daemon");
        vb_sandbox_ctl("start-daemon");
        g_assert_true(vb_get_bool(a, NET_IFACE, "Active"));
        g_assert_true(vb_get_bool(tpath, NET_IFACE, "Active"));

        /* a bridge that vanished while the daemon was away: the network comes back inactive */
        vb_sandbox_ctl("stop-daemon");
        {
                const char *argv[] = { "ip", "link", "del", "vbpt", NULL };
                g_free(vb_run(argv));
        }
        vb_sandbox_ctl("start-daemon");
        vb_call_fails(VB_CONNECT_PATH, CONNECT_IFACE, "NetworkLookupByName", g_variant_new("(s)", "pt"), LIBVIRT_ERROR,
                      "Network not found");

        call_void(a, "Destroy");
        call_void(c, "Destroy");
        g_variant_unref(vb_call_ok(a, "org.freedesktop.DBus.Properties", "Set",
                                   g_variant_new("(ssv)", NET_IFACE, "Autostart", g_variant_new_boolean(FALSE))));
        call_void(a, "Undefine");
        call_void(b, "Undefine");
        call_void(c, "Undefine");
        listing = vb_state_listing();
        g_assert_cmpstr(listing, ==, "autostart");
}

static void test_forward_bridge(void) {
        const char *add[] = { "ip", "link", "add", "br-allowed", "type", "bridge", NULL };
        const char *del[] = { "ip", "link", "del", "br-allowed", NULL };
        g_autofree char *path = NULL;
        NetdevLink before, after;

        path = define("<network><name>fw</name><forward mode='bridge'/><bridge name='br-allowed'/></network>");
        vb_call_fails(path, NET_IFACE, "Create", NULL, LIBVIRT_ERROR, "bridge 'br-allowed' does not exist");
        g_assert_false(vb_get_bool(path, NET_IFACE, "Active"));

        g_free(vb_run(add));
        g_assert_cmpint(netdev_link_lookup("br-allowed", &before), ==, 0);
        call_void(path, "Create");
        g_assert_true(vb_get_bool(path, NET_IFACE, "Active"));
        call_void(path, "Destroy");
        /* attached to, never deleted */
        g_assert_cmpint(netdev_link_lookup("br-allowed", &after), ==, 0);
        g_assert_cmpint(before.ifindex, ==, after.ifindex);
        g_free(vb_run(del));
        call_void(path, "Undefine");
}

static void test_bad_input(void) {
        g_autofree char *before = NULL, *after = NULL, *path = NULL;
        static const struct {
                const char *xml, *contains;
        } cases[] = {
                { "", "XML error" },
                { "<network><name>x</name>", "XML error" },
                { "<domain/>", "XML error" },
                { "<network><name>a/b</name></network>", "XML error" },
                { "<network><name>..</name></network>", "XML error" },
                { "<network><name>x</name><bridge name='this-name-is-too-long'/></network>", "XML error" },
                { "<network><name>x</name><bridge name='a b'/></network>", "XML error" },
                { "<network><name>x</name><uuid>nope</uuid></network>", "XML error" },
                { "<network><name>x</name><mac address='01:00:5e:00:00:01'/></network>", "XML error" },
                { "<network><name>x</name><mtu size='12'/></network>", "XML error" },
                { "<network><name>x</name><ip address='10.0.0.1' netmask='255.0.255.0'/></network>", "XML error" },
                { "<network><name>x</name><forward mode='nat'/></network>", "unsupported configuration" },
                { "<network><name>x</name><dns/></network>", "unsupported configuration" },
        };

        path = define("<network><name>keep</name><uuid>11111111-2222-4333-8444-555555555555</uuid>"
                      "<bridge name='vbkeep'/></network>");
        before = vb_state_listing();
        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                vb_call_fails(VB_CONNECT_PATH, CONNECT_IFACE, "NetworkDefineXML", g_variant_new("(s)", cases[i].xml),
                              LIBVIRT_ERROR, cases[i].contains);
                vb_call_fails(VB_CONNECT_PATH, CONNECT_IFACE, "NetworkCreateXML", g_variant_new("(s)", cases[i].xml),
                              LIBVIRT_ERROR, cases[i].contains);
        }
        /* clashes with an existing network */
        vb_call_fails(VB_CONNECT_PATH, CONNECT_IFACE, "NetworkDefineXML",
                      g_variant_new("(s)", "<network><name>other</name><uuid>11111111-2222-4333-8444-555555555555</uuid></network>"),
                      LIBVIRT_ERROR, "already exists with uuid");
        vb_call_fails(VB_CONNECT_PATH, CONNECT_IFACE, "NetworkDefineXML",
                      g_variant_new("(s)", "<network><name>keep</name><uuid>11111111-2222-4333-8444-666666666666</uuid></network>"),
                      LIBVIRT_ERROR, "already exists with uuid");
        vb_call_fails(VB_CONNECT_PATH, CONNECT_IFACE, "NetworkDefineXML",
                      g_variant_new("(s)", "<network><name>other</name><bridge name='vbkeep'/></network>"),
                      LIBVIRT_ERROR, "bridge name 'vbkeep' is already in use");
        /* wrong argument types are refused by the bus layer */
        vb_call_fails(VB_CONNECT_PATH, CONNECT_IFACE, "NetworkDefineXML", g_variant_new("(u)", 1),
                      "org.freedesktop.DBus.Error.InvalidArgs", NULL);
        vb_call_fails(path, NET_IFACE, "GetXMLDesc", g_variant_new("(u)", 2), LIBVIRT_ERROR, "unsupported flags (0x2)");
        vb_call_fails("/org/libvirt/QEMU/network/_nonexistent", NET_IFACE, "Create", NULL,
                      "org.freedesktop.DBus.Error.UnknownObject", NULL);

        after = vb_state_listing();
        g_assert_cmpstr(before, ==, after);
        g_assert_cmpuint(list_count(0), ==, 1);

        /* redefining without a <uuid> keeps the network's UUID (and object path) */
        {
                g_autofree char *again = define("<network><name>keep</name><bridge name='vbkeep'/>"
                                                "<mtu size='1400'/></network>");
                g_autofree char *xml = xml_desc(again, 0);
                g_assert_cmpstr(again, ==, path);
                g_assert_nonnull(strstr(xml, "<mtu size='1400'/>"));
        }

        /* a start that fails (bridge name taken by a foreign link) leaves nothing behind */
        {
                const char *add[] = { "ip", "link", "add", "vbkeep", "type", "bridge", NULL };
                const char *del[] = { "ip", "link", "del", "vbkeep", NULL };
                g_free(vb_run(add));
                vb_call_fails(path, NET_IFACE, "Create", NULL, LIBVIRT_ERROR, "already exists");
                g_assert_false(vb_get_bool(path, NET_IFACE, "Active"));
                g_free(vb_run(del));
                after = (g_free(after), vb_state_listing());
                g_assert_cmpstr(before, ==, after);
        }
        call_void(path, "Undefine");
}

static void test_getall_double_variant(void) {
        g_autofree char *path = define("<network><name>gv</name><bridge name='vbgv'/></network>");
        g_autoptr(GVariant) r = vb_call_ok(path, "org.freedesktop.DBus.Properties", "GetAll",
                                           g_variant_new("(s)", NET_IFACE));
        g_autoptr(GVariant) c = vb_call_ok(VB_CONNECT_PATH, "org.freedesktop.DBus.Properties", "GetAll",
                                           g_variant_new("(s)", CONNECT_IFACE));
        g_autoptr(GVariant) dict = g_variant_get_child_value(r, 0);
        g_autoptr(GVariant) name = g_variant_lookup_value(dict, "Name", G_VARIANT_TYPE_VARIANT);
        g_autoptr(GVariant) inner = NULL, cdict = g_variant_get_child_value(c, 0);
        g_autoptr(GVariant) hostname = g_variant_lookup_value(cdict, "Hostname", G_VARIANT_TYPE_VARIANT);
        g_autoptr(GVariant) version = g_variant_lookup_value(cdict, "Version", G_VARIANT_TYPE_VARIANT);
        g_autoptr(GVariant) vinner = NULL;

        /* libvirt-dbus' quirk: every value is a variant inside the dictionary's variant */
        g_assert_nonnull(name);
        inner = g_variant_get_variant(name);
        g_assert_cmpstr(g_variant_get_string(inner, NULL), ==, "gv");
        g_assert_cmpuint(g_variant_n_children(dict), ==, 5);
        g_assert_nonnull(hostname);
        g_assert_nonnull(version);
        vinner = g_variant_get_variant(version);
        g_assert_true(g_variant_is_of_type(vinner, G_VARIANT_TYPE_UINT64));
        /* Debian 12's QEMU 7.2: libvirt's encoding of the version */
        g_assert_cmpuint(g_variant_get_uint64(vinner), >=, 7002000);
        g_assert_cmpuint(g_variant_get_uint64(vinner), <, 100000000);

        /* Get stays normal */
        {
                g_autofree char *n = vb_get_string(path, NET_IFACE, "Name");
                g_assert_cmpstr(n, ==, "gv");
        }
        call_void(path, "Undefine");
}

static void test_helper_reactivation(void) {
        g_autofree char *path = define("<network><name>ha</name><bridge name='vbha'/></network>");

        /* the helper may be gone (idle exit or crash): the socket brings it back */
        vb_sandbox_ctl("kill-helper");
        call_void(path, "Create");
        g_assert_true(netdev_link_exists("vbha"));
        vb_sandbox_ctl("kill-helper");
        call_void(path, "Destroy");
        g_assert_false(netdev_link_exists("vbha"));
        call_void(path, "Undefine");
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/network/lifecycle", test_lifecycle);
        g_test_add_func("/network/lookup-and-list", test_lookup_and_list);
        g_test_add_func("/network/transient", test_transient);
        g_test_add_func("/network/restart-persistence", test_restart_persistence);
        g_test_add_func("/network/forward-bridge", test_forward_bridge);
        g_test_add_func("/network/bad-input", test_bad_input);
        g_test_add_func("/network/getall-double-variant", test_getall_double_variant);
        g_test_add_func("/network/helper-reactivation", test_helper_reactivation);
        return g_test_run();
}
