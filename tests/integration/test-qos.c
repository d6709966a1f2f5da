/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* QoS through the daemon, as a client uses it: <bandwidth> of networks and interfaces, floors,
 * admission control, live changes (Domain.SetInterfaceParameters, Network1.SetBandwidth),
 * org.virtbus.Network1 and its PropertiesChanged, and the reconciliation at start-up. After every
 * step the kernel's qdiscs, classes and filters (dumped through netlink) are compared with the
 * plan of src/conf/qos-plan.h, and the status files with what the API reports. Guests are
 * BIOS-only QEMU (TCG) domains: their taps exist, no traffic is needed. Runs inside
 * tests/lib/sandbox. */

#include <signal.h>

#include "vb-qos.h"
#include "vb-test.h"

#define CONNECT_IFACE "org.libvirt.Connect"
#define DOMAIN_IFACE "org.libvirt.Domain"
#define NET_IFACE "org.libvirt.Network"
#define NET1_IFACE "org.virtbus.Network1"
#define LIBVIRT_ERROR "org.libvirt.Error"

#define AFFECT_LIVE 1u
#define AFFECT_CONFIG 2u

/* ---- D-Bus ---- */

static char *call_path(const char *method, const char *xml) {
        g_autoptr(GVariant) r = vb_call_ok(VB_CONNECT_PATH, CONNECT_IFACE, method,
                                           g_str_has_prefix(method, "DomainCreate") ? g_variant_new("(su)", xml, 0)
                                                                                   : g_variant_new("(s)", xml));
        char *p;

        g_variant_get(r, "(o)", &p);
        return p;
}

static char *net_start(const char *name, const char *bridge, const char *bandwidth) {
        g_autofree char *xml = g_strdup_printf("<network><name>%s</name><bridge name='%s' stp='off' delay='0'/>%s</network>",
                                               name, bridge, bandwidth ? bandwidth : "");
        char *path = call_path("NetworkDefineXML", xml);

        g_variant_unref(vb_call_ok(path, NET_IFACE, "Create", NULL));
        return path;
}

static void net_remove(const char *path) {
        g_variant_unref(vb_call_ok(path, NET_IFACE, "Destroy", NULL));
        g_variant_unref(vb_call_ok(path, NET_IFACE, "Undefine", NULL));
}

static char *iface(const char *network, const char *mac, const char *bandwidth) {
        return g_strdup_printf("<interface type='network'><source network='%s'/><mac address='%s'/>%s</interface>",
                               network, mac, bandwidth ? bandwidth : "");
}

static char *domain_xml(const char *name, const char *devices) {
        return g_strdup_printf("<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory>"
                               "<os><type>hvm</type></os><devices>%s</devices></domain>",
                               name, devices);
}

/* A transient BIOS-only guest, answered once it runs. */
static char *dom_create(const char *name, const char *devices) {
        g_autofree char *xml = domain_xml(name, devices);

        return call_path("DomainCreateXML", xml);
}

static void dom_destroy(const char *path) {
        g_variant_unref(vb_call_ok(path, DOMAIN_IFACE, "Destroy", g_variant_new("(u)", 0)));
}

static char *dom_xml(const char *path, guint32 flags) {
        g_autoptr(GVariant) r = vb_call_ok(path, DOMAIN_IFACE, "GetXMLDesc", g_variant_new("(u)", flags));
        char *xml;

        g_variant_get(r, "(s)", &xml);
        return xml;
}

/* The target devs of the live XML, in interface order. */
static GStrv dom_targets(const char *path) {
        g_autofree char *xml = dom_xml(path, 0);
        g_autoptr(GRegex) re = g_regex_new("<target dev='([^']+)'/>", 0, 0, NULL);
        g_autoptr(GMatchInfo) mi = NULL;
        g_autoptr(GStrvBuilder) b = g_strv_builder_new();

        for (g_regex_match(re, xml, 0, &mi); g_match_info_matches(mi); g_match_info_next(mi, NULL)) {
                g_autofree char *dev = g_match_info_fetch(mi, 1);

                g_strv_builder_add(b, dev);
        }
        return g_strv_builder_end(b);
}

static guint64 get_t(const char *path, const char *name) {
        g_autoptr(GVariant) v = vb_get_property(path, NET1_IFACE, name);

        g_assert_true(g_variant_is_of_type(v, G_VARIANT_TYPE_UINT64));
        return g_variant_get_uint64(v);
}

/* Allocations as "domain/interface/id/floor ..." */
static char *allocations(const char *path) {
        g_autoptr(GVariant) v = vb_get_property(path, NET1_IFACE, "Allocations");
        g_autoptr(GString) s = g_string_new("");
        g_autoptr(GVariantIter) it = NULL;
        const char *dom, *ifc;
        guint16 id;
        guint64 floor;

        g_assert_true(g_variant_is_of_type(v, G_VARIANT_TYPE("a(ssqt)")));
        g_variant_get(v, "a(ssqt)", &it);
        while (g_variant_iter_next(it, "(&s&sqt)", &dom, &ifc, &id, &floor))
                g_string_append_printf(s, "%s%s/%s/%u/%" G_GUINT64_FORMAT, s->len ? " " : "", dom, ifc, id, floor);
        return g_strdup(s->str);
}

static GVariant *params(const char *first_key, ...) G_GNUC_NULL_TERMINATED;
/* a{sv} of key, guint32 value pairs */
static GVariant *params(const char *first_key, ...) {
        GVariantBuilder b;
        va_list ap;

        g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
        va_start(ap, first_key);
        for (const char *k = first_key; k; k = va_arg(ap, const char *))
                g_variant_builder_add(&b, "{sv}", k, g_variant_new_uint32(va_arg(ap, guint32)));
        va_end(ap);
        return g_variant_builder_end(&b);
}

static void set_params(const char *dom, const char *device, GVariant *p, guint32 flags) {
        g_variant_unref(vb_call_ok(dom, DOMAIN_IFACE, "SetInterfaceParameters", g_variant_new("(s@a{sv}u)", device, p, flags)));
}

static void set_params_fails(const char *dom, const char *device, GVariant *p, guint32 flags, const char *contains) {
        vb_call_fails(dom, DOMAIN_IFACE, "SetInterfaceParameters", g_variant_new("(s@a{sv}u)", device, p, flags),
                      LIBVIRT_ERROR, contains);
}

/* GetInterfaceParameters as a Bandwidth (and the keys it has, checked). */
static Bandwidth get_params(const char *dom, const char *device, guint32 flags) {
        g_autoptr(GVariant) r = vb_call_ok(dom, DOMAIN_IFACE, "GetInterfaceParameters", g_variant_new("(su)", device, flags));
        g_autoptr(GVariant) a = g_variant_get_child_value(r, 0);
        static const char *const keys[] = { "inbound.average", "inbound.peak", "inbound.burst", "inbound.floor",
                                            "outbound.average", "outbound.peak", "outbound.burst" };
        guint64 *fields[7];
        Bandwidth bw = {};

        fields[0] = &bw.inbound.average;
        fields[1] = &bw.inbound.peak;
        fields[2] = &bw.inbound.burst;
        fields[3] = &bw.inbound.floor;
        fields[4] = &bw.outbound.average;
        fields[5] = &bw.outbound.peak;
        fields[6] = &bw.outbound.burst;
        g_assert_cmpuint(g_variant_n_children(a), ==, G_N_ELEMENTS(keys));
        for (size_t i = 0; i < G_N_ELEMENTS(keys); i++) {
                g_autoptr(GVariant) v = g_variant_lookup_value(a, keys[i], NULL);

                if (!v)
                        g_error("GetInterfaceParameters lacks %s", keys[i]);
                g_assert_true(g_variant_is_of_type(v, G_VARIANT_TYPE_UINT32));
                *fields[i] = g_variant_get_uint32(v);
        }
        bw.inbound.set = bw.inbound.average || bw.inbound.floor;
        bw.outbound.set = bw.outbound.average > 0;
        return bw;
}

static void assert_bw_equal(const Bandwidth *a, const Bandwidth *b) {
        g_assert_cmpuint(a->inbound.average, ==, b->inbound.average);
        g_assert_cmpuint(a->inbound.peak, ==, b->inbound.peak);
        g_assert_cmpuint(a->inbound.burst, ==, b->inbound.burst);
        g_assert_cmpuint(a->inbound.floor, ==, b->inbound.floor);
        g_assert_cmpuint(a->outbound.average, ==, b->outbound.average);
        g_assert_cmpuint(a->outbound.peak, ==, b->outbound.peak);
        g_assert_cmpuint(a->outbound.burst, ==, b->outbound.burst);
}

static QosDevicePlan device_plan(const Bandwidth *bw, QosDevice device) {
        g_autofree char *error = NULL;
        QosDevicePlan p;

        if (qos_plan_device(bw, device, vb_qos_caps(), &p, &error) < 0)
                g_error("plan: %s", error);
        return p;
}

static EtherAddr mac(const char *s) {
        EtherAddr m;

        g_assert_cmpint(ether_addr_parse(s, &m), ==, 0);
        return m;
}

static void assert_net_status(const char *name, const char *bitmap, guint64 sum) {
        g_autofree char *s = NULL;
        ClassIdBitmap ids;
        uint64_t got;

        g_assert_true(vb_network_status(name, &ids, &got));
        s = class_id_bitmap_format(&ids);
        g_assert_cmpstr(s, ==, bitmap);
        g_assert_cmpuint(got, ==, sum);
}

/* "alias/network/id/floor ..." of a domain's status */
static char *class_records(const char *domain) {
        g_autoptr(GArray) a = NULL;
        g_autoptr(GString) s = g_string_new("");

        if (!vb_domain_class_records(domain, &a))
                return g_strdup("(no status)");
        for (guint i = 0; i < a->len; i++) {
                VbClassRecord *r = &g_array_index(a, VbClassRecord, i);

                g_string_append_printf(s, "%s%s/%s/%u/%" G_GUINT64_FORMAT, s->len ? " " : "", r->alias, r->network, r->id,
                                       r->floor);
        }
        return g_strdup(s->str);
}

static char *ifb_links(void) {
        g_autofree char *all = vb_link_listing();
        g_auto(GStrv) l = g_strsplit(all, " ", -1);
        g_autoptr(GStrvBuilder) b = g_strv_builder_new();
        g_auto(GStrv) out = NULL;

        for (char **p = l; *p; p++)
                if (g_str_has_prefix(*p, QOS_IFB_PREFIX))
                        g_strv_builder_add(b, *p);
        out = g_strv_builder_end(b);
        return g_strjoinv(" ", out);
}

static void assert_no_ifb(void) {
        g_autofree char *l = ifb_links();

        g_assert_cmpstr(l, ==, "");
}

/* ---- PropertiesChanged of org.virtbus.Network1 ---- */

typedef struct Changes {
        guint subscription;
        GPtrArray *seen; /* "PATH FloorSum=N Allocations=M" */
} Changes;

static void on_changed(GDBusConnection *c, const char *sender, const char *path, const char *iface, const char *signal,
                       GVariant *p, gpointer userdata) {
        Changes *ch = userdata;
        g_autoptr(GVariant) changed = NULL;
        g_autoptr(GVariant) sum = NULL, alloc = NULL;
        const char *interface;

        g_variant_get(p, "(&s@a{sv}@as)", &interface, &changed, NULL);
        if (!g_str_equal(interface, NET1_IFACE))
                return;
        sum = g_variant_lookup_value(changed, "FloorSum", G_VARIANT_TYPE_UINT64);
        alloc = g_variant_lookup_value(changed, "Allocations", G_VARIANT_TYPE("a(ssqt)"));
        g_assert_nonnull(sum);
        g_assert_nonnull(alloc);
        g_ptr_array_add(ch->seen, g_strdup_printf("%s FloorSum=%" G_GUINT64_FORMAT " Allocations=%zu", path,
                                                  g_variant_get_uint64(sum), g_variant_n_children(alloc)));
}

static void changes_start(Changes *ch) {
        ch->seen = g_ptr_array_new_with_free_func(g_free);
        ch->subscription = g_dbus_connection_signal_subscribe(vb_bus(), VB_BUS_NAME, "org.freedesktop.DBus.Properties",
                                                              "PropertiesChanged", NULL, NET1_IFACE,
                                                              G_DBUS_SIGNAL_FLAGS_NONE, on_changed, ch, NULL);
        g_variant_unref(vb_call_ok(VB_CONNECT_PATH, "org.freedesktop.DBus.Peer", "Ping", NULL));
}

static void changes_expect(Changes *ch, const char *path, guint64 sum, guint n_alloc) {
        g_autofree char *want = g_strdup_printf("%s FloorSum=%" G_GUINT64_FORMAT " Allocations=%u", path, sum, n_alloc);
        gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;

        for (;;) {
                vb_iterate();
                for (guint i = 0; i < ch->seen->len; i++)
                        if (g_str_equal(ch->seen->pdata[i], want))
                                return;
                if (g_get_monotonic_time() > end) {
                        g_autoptr(GString) got = g_string_new("");

                        for (guint i = 0; i < ch->seen->len; i++)
                                g_string_append_printf(got, "\n  %s", (char *) ch->seen->pdata[i]);
                        g_error("PropertiesChanged(%s) not received; received:%s", want, got->str);
                }
                g_usleep(10000);
        }
}

static void changes_stop(Changes *ch) {
        g_dbus_connection_signal_unsubscribe(vb_bus(), ch->subscription);
        g_ptr_array_unref(ch->seen);
        *ch = (Changes) {};
}

/* ---- the tests ---- */

/* The daemon asks the helper about the kernel's QoS features on first use, not at start-up (a
 * bus activation for a simple call must not start the privileged helper), and logs the plan,
 * which is the plan for what the probe finds. */
static void test_plan_logged(void) {
        unsigned caps = vb_qos_caps();
        g_autofree char *before = vb_sandbox_read("virtbusd.log"), *log = NULL, *want = NULL, *path = NULL;
        char s[QOS_CAPS_STR_MAX];

        g_assert_null(strstr(before, "QoS plan"));
        path = net_start("qplan", "vbqplan", "<bandwidth><inbound average='1000'/></bandwidth>");
        net_remove(path);
        log = vb_sandbox_read("virtbusd.log");

        want = g_strdup_printf("QoS plan: the kernel offers %s; leaf qdisc %s, outbound bandwidth by %s",
                               qos_caps_format(caps, s), qos_leaf_to_string(qos_leaf_for(caps)),
                               qos_ingress_mode_for(caps) == QOS_INGRESS_POLICE ? "policing (act_police)"
                                                                                : "shaping on an IFB");
        if (!strstr(log, want))
                g_error("the daemon's log lacks \"%s\":\n%s", want, log);
        g_test_message("%s", want);
        /* what every plan below assumes (design/networking.md, "Kernel features") */
        g_assert_cmpuint(caps & (QOS_CAP_HTB | QOS_CAP_INGRESS | QOS_CAP_U32), ==,
                         QOS_CAP_HTB | QOS_CAP_INGRESS | QOS_CAP_U32);
        g_assert_cmpint(qos_ingress_mode_for(caps), !=, QOS_INGRESS_NONE);
}

static void test_network_bridge(void) {
        Bandwidth bw = { .inbound = vb_rate(1000, 5000, 1024, 0), .outbound = vb_rate(800, 0, 128, 0) };
        g_autofree char *path = NULL, *ifb = NULL, *bridge_name = NULL, *alloc = NULL;
        g_autoptr(GVariant) all = NULL, sum = NULL;
        char name[IFNAMSIZ];
        NetdevLink br;

        path = net_start("qn", "vbqn", "<bandwidth><inbound average='1000' peak='5000' burst='1024'/>"
                                       "<outbound average='800' burst='128'/></bandwidth>");
        vb_assert_bridge_qos("vbqn", &bw, NULL, 0);
        g_assert_cmpint(netdev_link_lookup("vbqn", &br), ==, 0);
        g_assert_cmpint(qos_ifb_name(br.ifindex, name), ==, 0);
        ifb = g_strdup(name);
        if (qos_ingress_mode_for(vb_qos_caps()) == QOS_INGRESS_IFB)
                g_assert_true(netdev_link_exists(ifb));

        bridge_name = vb_get_string(path, NET1_IFACE, "BridgeName");
        g_assert_cmpstr(bridge_name, ==, "vbqn");
        g_assert_cmpuint(get_t(path, "FloorCapacity"), ==, 1000);
        g_assert_cmpuint(get_t(path, "FloorSum"), ==, 0);
        alloc = allocations(path);
        g_assert_cmpstr(alloc, ==, "");
        /* normal D-Bus semantics: GetAll's values are plain variants, not libvirt's double ones */
        all = vb_call_ok(path, "org.freedesktop.DBus.Properties", "GetAll", g_variant_new("(s)", NET1_IFACE));
        {
                g_autoptr(GVariant) dict = g_variant_get_child_value(all, 0);

                sum = g_variant_lookup_value(dict, "FloorSum", NULL);
                g_assert_nonnull(sum);
                g_assert_true(g_variant_is_of_type(sum, G_VARIANT_TYPE_UINT64));
                g_assert_cmpuint(g_variant_n_children(dict), ==, 4);
        }
        assert_net_status("qn", "0-2", 0);

        net_remove(path);
        g_assert_false(netdev_link_exists("vbqn"));
        g_assert_false(netdev_link_exists(ifb));
        g_assert_false(vb_network_status("qn", NULL, NULL));

        /* a bridge of the admin's (forward mode bridge): only our qdiscs come and go */
        {
                const char *add[] = { "ip", "link", "add", "br-allowed", "type", "bridge", NULL };
                const char *del[] = { "ip", "link", "del", "br-allowed", NULL };
                Bandwidth in = { .inbound = vb_rate(2000, 0, 0, 0) };
                g_autofree char *xml = NULL, *p = NULL;

                g_free(vb_run(add));
                xml = g_strdup("<network><name>qa</name><forward mode='bridge'/><bridge name='br-allowed'/>"
                               "<bandwidth><inbound average='2000'/></bandwidth></network>");
                p = call_path("NetworkDefineXML", xml);
                g_variant_unref(vb_call_ok(p, NET_IFACE, "Create", NULL));
                vb_assert_bridge_qos("br-allowed", &in, NULL, 0);
                net_remove(p);
                g_assert_true(netdev_link_exists("br-allowed"));
                vb_assert_bridge_no_qos("br-allowed");
                g_free(vb_run(del));
        }
}

/* Shaping on taps (types network and bridge) and a macvtap (type direct, directions swapped). */
static void test_interfaces(void) {
        const char *acl = g_getenv("VIRTBUS_NETHELPER_ACL");
        Bandwidth b0 = { .inbound = vb_rate(1000, 2000, 256, 0), .outbound = vb_rate(500, 0, 0, 0) };
        Bandwidth b1 = { .inbound = vb_rate(3000, 0, 0, 0) };
        Bandwidth b2 = { .inbound = vb_rate(700, 0, 64, 0), .outbound = vb_rate(1500, 3000, 0, 0) };
        g_autofree char *acl_orig = NULL, *acl_new = NULL, *net = NULL, *dom = NULL, *devices = NULL, *links = NULL;
        g_autofree char *after = NULL;
        g_auto(GStrv) t = NULL;

        g_assert_true(g_file_get_contents(acl, &acl_orig, NULL, NULL));
        acl_new = g_strdup_printf("%sallow vbqveth0\n", acl_orig);
        g_assert_true(g_file_set_contents(acl, acl_new, -1, NULL));
        {
                const char *br[] = { "ip", "link", "add", "br-allowed", "type", "bridge", NULL };
                const char *veth[] = { "ip", "link", "add", "vbqveth0", "type", "veth", "peer", "name", "vbqveth1", NULL };
                const char *up[] = { "ip", "link", "set", "vbqveth0", "up", NULL };

                g_free(vb_run(br));
                g_free(vb_run(veth));
                g_free(vb_run(up));
        }
        net = net_start("qi", "vbqi", NULL);
        links = vb_link_listing();

        devices = g_strdup_printf(
                "<interface type='network'><source network='qi'/>"
                "<bandwidth><inbound average='1000' peak='2000' burst='256'/><outbound average='500'/></bandwidth></interface>"
                "<interface type='bridge'><source bridge='br-allowed'/>"
                "<bandwidth><inbound average='3000'/></bandwidth></interface>"
                "<interface type='direct'><source dev='vbqveth0' mode='bridge'/>"
                "<bandwidth><inbound average='700' burst='64'/><outbound average='1500' peak='3000'/></bandwidth></interface>");
        dom = dom_create("qi", devices);
        t = dom_targets(dom);
        g_assert_cmpuint(g_strv_length(t), ==, 3);
        g_assert_true(g_str_has_prefix(t[0], "vnet"));
        g_assert_true(g_str_has_prefix(t[1], "vnet"));
        g_assert_true(g_str_has_prefix(t[2], "macvtap"));
        {
                QosDevicePlan p0 = device_plan(&b0, QOS_DEVICE_TAP), p1 = device_plan(&b1, QOS_DEVICE_TAP);
                QosDevicePlan p2 = device_plan(&b2, QOS_DEVICE_MACVTAP);

                vb_assert_device_qos(t[0], &p0);
                vb_assert_device_qos(t[1], &p1);
                vb_assert_device_qos(t[2], &p2);
                /* the macvtap's egress is what the guest sends: outbound */
                g_assert_cmpuint(p2.egress_class.rate, ==, 1500 * 1000);
                g_assert_cmpuint(p0.egress_class.rate, ==, 1000 * 1000);
        }
        {
                Bandwidth got = get_params(dom, t[2], 0);

                assert_bw_equal(&got, &b2);
                got = get_params(dom, t[1], AFFECT_LIVE);
                assert_bw_equal(&got, &b1);
        }
        /* a transient domain has no persistent definition to read or change; floors only on type network */
        vb_call_fails(dom, DOMAIN_IFACE, "GetInterfaceParameters", g_variant_new("(su)", t[0], AFFECT_CONFIG),
                      LIBVIRT_ERROR, "has no persistent config");
        set_params_fails(dom, t[0], params("inbound.average", 5, NULL), AFFECT_CONFIG,
                         "cannot change persistent config of a transient domain");
        set_params_fails(dom, t[2], params("inbound.average", 5, "inbound.floor", 1, NULL), AFFECT_LIVE,
                         "floor is supported only on <inbound> of interfaces of type 'network'");
        {
                QosDevicePlan p2 = device_plan(&b2, QOS_DEVICE_MACVTAP);

                vb_assert_device_qos(t[2], &p2);
        }
        /* live change of a macvtap: directions swapped there too */
        set_params(dom, t[2], params("outbound.average", 900, NULL), AFFECT_LIVE);
        {
                Bandwidth b = { .inbound = b2.inbound, .outbound = vb_rate(900, 0, 0, 0) };
                QosDevicePlan p = device_plan(&b, QOS_DEVICE_MACVTAP);

                vb_assert_device_qos(t[2], &p);
                g_assert_cmpuint(p.egress_class.rate, ==, 900 * 1000);
        }

        dom_destroy(dom);
        after = vb_link_listing();
        g_assert_cmpstr(after, ==, links); /* taps, macvtap and their IFBs gone */

        net_remove(net);
        {
                const char *br[] = { "ip", "link", "del", "br-allowed", NULL };
                const char *veth[] = { "ip", "link", "del", "vbqveth0", NULL };

                g_free(vb_run(br));
                g_free(vb_run(veth));
        }
        g_assert_true(g_file_set_contents(acl, acl_orig, -1, NULL));
}

static void test_floor(void) {
        Bandwidth bw = { .inbound = vb_rate(1000, 2000, 0, 0), .outbound = vb_rate(3000, 0, 0, 0) };
        VbFloor fa = { .class_id = 3, .mac = mac("52:54:00:00:f0:01"), .inbound = vb_rate(400, 0, 0, 300) };
        VbFloor fb = { .class_id = 4, .mac = mac("52:54:00:00:f0:02"), .inbound = vb_rate(0, 0, 0, 500) };
        g_autofree char *net = NULL, *na = NULL, *nb = NULL, *nc = NULL, *da = NULL, *db = NULL, *alloc = NULL;
        g_autofree char *links = NULL, *links2 = NULL, *rec = NULL, *state = NULL, *state2 = NULL;
        g_auto(GStrv) ta = NULL, tb = NULL;
        Changes ch;

        net = net_start("qf", "vbqf", "<bandwidth><inbound average='1000' peak='2000'/><outbound average='3000'/></bandwidth>");
        changes_start(&ch);

        na = iface("qf", "52:54:00:00:f0:01", "<bandwidth><inbound average='400' floor='300'/></bandwidth>");
        da = dom_create("fa", na);
        ta = dom_targets(da);
        changes_expect(&ch, net, 300, 1);
        alloc = allocations(net);
        {
                g_autofree char *want = g_strdup_printf("fa/%s/3/300", ta[0]);
                g_assert_cmpstr(alloc, ==, want);
        }
        vb_assert_bridge_qos("vbqf", &bw, &fa, 1);

        nb = iface("qf", "52:54:00:00:f0:02", "<bandwidth><inbound floor='500'/></bandwidth>");
        db = dom_create("fb", nb);
        tb = dom_targets(db);
        changes_expect(&ch, net, 800, 2);
        g_assert_cmpuint(get_t(net, "FloorSum"), ==, 800);
        g_assert_cmpuint(get_t(net, "FloorCapacity"), ==, 1000);
        vb_assert_bridge_qos("vbqf", &bw, (VbFloor[]) { fa, fb }, 2);
        g_assert_cmpuint(vb_default_class_rate("vbqf"), ==, 200 * 1000);
        /* a floor alone shapes nothing on the tap; an average does */
        vb_assert_no_qos(tb[0]);
        {
                Bandwidth a = { .inbound = fa.inbound };
                QosDevicePlan p = device_plan(&a, QOS_DEVICE_TAP);

                vb_assert_device_qos(ta[0], &p);
        }
        /* the books */
        assert_net_status("qf", "0-4", 800);
        rec = class_records("fa");
        g_assert_cmpstr(rec, ==, "net0/qf/3/300");
        g_free(rec);
        rec = class_records("fb");
        g_assert_cmpstr(rec, ==, "net0/qf/4/500");

        /* admission control: 300 more do not fit, and nothing changes */
        links = vb_link_listing();
        state = vb_state_listing();
        nc = iface("qf", "52:54:00:00:f0:03", "<bandwidth><inbound floor='300'/></bandwidth>");
        {
                g_autofree char *xml = domain_xml("fc", nc);

                vb_call_fails(VB_CONNECT_PATH, CONNECT_IFACE, "DomainCreateXML", g_variant_new("(su)", xml, 0),
                              LIBVIRT_ERROR,
                              "Requested operation is not valid: Cannot plug '52:54:00:00:f0:03' interface into 'vbqf' "
                              "because new combined inbound floor=1100 would overcommit average=1000 on network 'qf': "
                              "the interface requests floor=300 KiB/s and only 200 KiB/s are left");
        }
        /* two interfaces of one domain count together: each fits alone, not both */
        {
                g_autofree char *i1 = iface("qf", "52:54:00:00:f0:04", "<bandwidth><inbound floor='150'/></bandwidth>");
                g_autofree char *i2 = iface("qf", "52:54:00:00:f0:05", "<bandwidth><inbound floor='150'/></bandwidth>");
                g_autofree char *devs = g_strconcat(i1, i2, NULL), *xml = domain_xml("fd", devs);

                vb_call_fails(VB_CONNECT_PATH, CONNECT_IFACE, "DomainCreateXML", g_variant_new("(su)", xml, 0),
                              LIBVIRT_ERROR, "floor=150 KiB/s and only 50 KiB/s are left");
        }
        links2 = vb_link_listing();
        g_assert_cmpstr(links2, ==, links);
        state2 = vb_state_listing();
        g_assert_cmpstr(state2, ==, state);
        vb_assert_bridge_qos("vbqf", &bw, (VbFloor[]) { fa, fb }, 2);
        assert_net_status("qf", "0-4", 800);
        g_assert_cmpuint(get_t(net, "FloorSum"), ==, 800);

        /* floor on a network without inbound average, and on an interface of type bridge */
        {
                g_autofree char *nz = net_start("qz", "vbqz", NULL);
                g_autofree char *i = iface("qz", "52:54:00:00:f0:06", "<bandwidth><inbound floor='10'/></bandwidth>");
                g_autofree char *xml = domain_xml("fz", i);

                vb_call_fails(VB_CONNECT_PATH, CONNECT_IFACE, "DomainCreateXML", g_variant_new("(su)", xml, 0),
                              LIBVIRT_ERROR,
                              "unsupported configuration: Bridge 'vbqz' has no QoS set, therefore unable to set 'floor' "
                              "on '52:54:00:00:f0:06'");
                g_free(xml);
                xml = domain_xml("fz", "<interface type='bridge'><source bridge='vbqz'/>"
                                       "<bandwidth><inbound average='10' floor='5'/></bandwidth></interface>");
                vb_call_fails(VB_CONNECT_PATH, CONNECT_IFACE, "DomainDefineXML", g_variant_new("(s)", xml),
                              LIBVIRT_ERROR, "floor is supported only on <inbound> of interfaces of type 'network'");
                net_remove(nz);
        }

        /* unplug: class, leaf and filter go, the default class gets the floor back */
        dom_destroy(da);
        changes_expect(&ch, net, 500, 1);
        vb_assert_bridge_qos("vbqf", &bw, &fb, 1);
        g_assert_cmpuint(vb_default_class_rate("vbqf"), ==, 500 * 1000);
        assert_net_status("qf", "0-2,4", 500);
        g_free(alloc);
        alloc = allocations(net);
        {
                g_autofree char *want = g_strdup_printf("fb/%s/4/500", tb[0]);
                g_assert_cmpstr(alloc, ==, want);
        }
        /* a new plug gets the lowest free id */
        g_free(da);
        da = dom_create("fa", na);
        changes_expect(&ch, net, 800, 2);
        vb_assert_bridge_qos("vbqf", &bw, (VbFloor[]) { fa, fb }, 2);

        dom_destroy(da);
        dom_destroy(db);
        changes_expect(&ch, net, 0, 0);
        vb_assert_bridge_qos("vbqf", &bw, NULL, 0);
        assert_net_status("qf", "0-2", 0);
        g_assert_cmpuint(vb_default_class_rate("vbqf"), ==, 1000 * 1000);

        /* a network that stops takes its floors along; the interfaces' records go */
        da = (g_free(da), dom_create("fa", na));
        changes_expect(&ch, net, 300, 1);
        g_variant_unref(vb_call_ok(net, NET_IFACE, "Destroy", NULL));
        g_free(rec);
        rec = class_records("fa");
        g_assert_cmpstr(rec, ==, "");
        g_assert_cmpuint(get_t(net, "FloorSum"), ==, 0);
        dom_destroy(da);
        g_variant_unref(vb_call_ok(net, NET_IFACE, "Undefine", NULL));
        changes_stop(&ch);
        assert_no_ifb();
}

static void test_live(void) {
        g_autofree char *net = NULL, *nic = NULL, *xml = NULL, *dom = NULL, *inactive = NULL, *live = NULL;
        g_auto(GStrv) t = NULL;
        Bandwidth netbw = { .inbound = vb_rate(2000, 0, 0, 0) };
        Bandwidth want, got;
        EtherAddr m = mac("52:54:00:00:1e:01");

        net = net_start("ql", "vbql", "<bandwidth><inbound average='2000'/></bandwidth>");
        nic = iface("ql", "52:54:00:00:1e:01", NULL);
        xml = domain_xml("lv", nic);
        dom = call_path("DomainDefineXML", xml);
        g_variant_unref(vb_call_ok(dom, DOMAIN_IFACE, "Create", g_variant_new("(u)", 0)));
        t = dom_targets(dom);
        vb_assert_no_qos(t[0]);

        /* shaping comes and changes in place */
        set_params(dom, t[0], params("inbound.average", 800, "inbound.peak", 1600, "inbound.burst", 64, "outbound.average",
                                     400, NULL),
                   AFFECT_LIVE);
        want = (Bandwidth) { .inbound = vb_rate(800, 1600, 64, 0), .outbound = vb_rate(400, 0, 0, 0) };
        {
                QosDevicePlan p = device_plan(&want, QOS_DEVICE_TAP);
                vb_assert_device_qos(t[0], &p);
        }
        got = get_params(dom, t[0], 0);
        assert_bw_equal(&got, &want);
        live = dom_xml(dom, 0);
        g_assert_nonnull(strstr(live, "<inbound average='800' peak='1600' burst='64'/>"));

        /* only outbound named: inbound stays */
        set_params(dom, t[0], params("outbound.average", 600, NULL), 0 /* current = live */);
        want.outbound = vb_rate(600, 0, 0, 0);
        {
                QosDevicePlan p = device_plan(&want, QOS_DEVICE_TAP);
                vb_assert_device_qos(t[0], &p);
        }
        got = get_params(dom, t[0], AFFECT_LIVE);
        assert_bw_equal(&got, &want);

        /* a floor, by MAC: inbound replaced as a whole (peak and burst gone) */
        set_params(dom, "52:54:00:00:1e:01", params("inbound.average", 800, "inbound.floor", 300, NULL), AFFECT_LIVE);
        want.inbound = vb_rate(800, 0, 0, 300);
        got = get_params(dom, "52:54:00:00:1e:01", 0);
        assert_bw_equal(&got, &want);
        {
                VbFloor f = { .class_id = 3, .mac = m, .inbound = want.inbound };
                QosDevicePlan p = device_plan(&want, QOS_DEVICE_TAP);
                g_autofree char *a = allocations(net), *w = g_strdup_printf("lv/%s/3/300", t[0]);

                vb_assert_bridge_qos("vbql", &netbw, &f, 1);
                vb_assert_device_qos(t[0], &p);
                g_assert_cmpstr(a, ==, w);
                assert_net_status("ql", "0-3", 300);
        }
        /* the floor grows: same class */
        set_params(dom, t[0], params("inbound.average", 800, "inbound.floor", 700, NULL), AFFECT_LIVE);
        want.inbound = vb_rate(800, 0, 0, 700);
        {
                VbFloor f = { .class_id = 3, .mac = m, .inbound = want.inbound };
                g_autofree char *rec = class_records("lv");

                vb_assert_bridge_qos("vbql", &netbw, &f, 1);
                assert_net_status("ql", "0-3", 700);
                g_assert_cmpstr(rec, ==, "net0/ql/3/700");
                g_assert_cmpuint(get_t(net, "FloorSum"), ==, 700);
        }
        /* too much: refused, nothing changes */
        set_params_fails(dom, t[0], params("inbound.average", 800, "inbound.floor", 2500, NULL), AFFECT_LIVE,
                         "new combined inbound floor=2500 would overcommit average=2000 on network 'ql': the interface "
                         "requests floor=2500 KiB/s and only 2000 KiB/s are left");
        got = get_params(dom, t[0], 0);
        assert_bw_equal(&got, &want);
        {
                VbFloor f = { .class_id = 3, .mac = m, .inbound = want.inbound };
                QosDevicePlan p = device_plan(&want, QOS_DEVICE_TAP);

                vb_assert_bridge_qos("vbql", &netbw, &f, 1);
                vb_assert_device_qos(t[0], &p);
                assert_net_status("ql", "0-3", 700);
        }

        /* the network's own bandwidth, live: not below the floors; else the bridge follows */
        vb_call_fails(net, NET1_IFACE, "SetBandwidth", g_variant_new("(@a{sv}u)", params("inbound.average", 500, NULL), 1),
                      LIBVIRT_ERROR, "floors of 700 KiB/s together, more than the new inbound average of 500 KiB/s");
        vb_call_fails(net, NET1_IFACE, "SetBandwidth", g_variant_new("(@a{sv}u)", params("inbound.floor", 5, NULL), 1),
                      LIBVIRT_ERROR, "parameter 'inbound.floor' not supported");
        g_variant_unref(vb_call_ok(net, NET1_IFACE, "SetBandwidth",
                                   g_variant_new("(@a{sv}u)", params("inbound.average", 3000, "inbound.peak", 4000, NULL),
                                                 AFFECT_LIVE)));
        netbw.inbound = vb_rate(3000, 4000, 0, 0);
        {
                VbFloor f = { .class_id = 3, .mac = m, .inbound = want.inbound };
                g_autofree char *nx = NULL, *nc = NULL;
                g_autoptr(GVariant) r = vb_call_ok(net, NET_IFACE, "GetXMLDesc", g_variant_new("(u)", 0));

                vb_assert_bridge_qos("vbql", &netbw, &f, 1); /* ceil of the floor class: the new peak */
                g_assert_cmpuint(get_t(net, "FloorCapacity"), ==, 3000);
                g_variant_get(r, "(s)", &nx);
                g_assert_nonnull(strstr(nx, "<inbound average='3000' peak='4000'/>"));
                g_variant_unref(g_steal_pointer(&r));
                r = vb_call_ok(net, NET_IFACE, "GetXMLDesc", g_variant_new("(u)", 1 /* INACTIVE */));
                g_variant_get(r, "(s)", &nc);
                g_assert_nonnull(strstr(nc, "<inbound average='2000'/>"));
        }

        /* cleared: noqueue again, no IFB, the floor released */
        set_params(dom, t[0], params("inbound.average", 0, "outbound.average", 0, NULL), AFFECT_LIVE);
        vb_assert_no_qos(t[0]);
        g_assert_cmpuint(get_t(net, "FloorSum"), ==, 0);
        vb_assert_bridge_qos("vbql", &netbw, NULL, 0);
        assert_net_status("ql", "0-2", 0);
        got = get_params(dom, t[0], 0);
        want = (Bandwidth) {};
        assert_bw_equal(&got, &want);
        {
                g_autofree char *rec = class_records("lv");
                g_assert_cmpstr(rec, ==, "");
        }
        /* the network's QoS goes entirely; then floors have no place */
        g_variant_unref(vb_call_ok(net, NET1_IFACE, "SetBandwidth",
                                   g_variant_new("(@a{sv}u)", params("inbound.average", 0, NULL), 0)));
        vb_assert_bridge_no_qos("vbql");
        g_assert_cmpuint(get_t(net, "FloorCapacity"), ==, 0);
        set_params_fails(dom, t[0], params("inbound.floor", 10, NULL), AFFECT_LIVE,
                         "Bridge 'vbql' has no QoS set, therefore unable to set 'floor' on '52:54:00:00:1e:01'");
        vb_assert_no_qos(t[0]);

        /* the persistent definition only */
        set_params(dom, "52:54:00:00:1e:01", params("inbound.average", 123, NULL), AFFECT_CONFIG);
        inactive = dom_xml(dom, 2);
        g_assert_nonnull(strstr(inactive, "<inbound average='123'/>"));
        got = get_params(dom, "52:54:00:00:1e:01", AFFECT_CONFIG);
        g_assert_cmpuint(got.inbound.average, ==, 123);
        got = get_params(dom, t[0], AFFECT_LIVE);
        g_assert_cmpuint(got.inbound.average, ==, 0);
        vb_assert_no_qos(t[0]);

        /* bad input changes nothing */
        set_params_fails(dom, t[0], params("inbound.bogus", 1, NULL), 0, "argument unsupported: parameter 'inbound.bogus' not supported");
        {
                GVariantBuilder b;

                g_variant_builder_init(&b, G_VARIANT_TYPE("a{sv}"));
                g_variant_builder_add(&b, "{sv}", "inbound.average", g_variant_new_uint64(5));
                set_params_fails(dom, t[0], g_variant_builder_end(&b), 0,
                                 "invalid type 'ullong' for field 'inbound.average', expected 'uint'");
        }
        set_params_fails(dom, t[0], params("inbound.average", 5, "inbound.average", 6, NULL), 0, "occurs multiple times");
        set_params_fails(dom, t[0], params("inbound.average", 100, "inbound.peak", 50, NULL), 0,
                         "peak '50' on <inbound> in <bandwidth> is less than average '100'");
        set_params_fails(dom, t[0], params("inbound.average", 100, NULL), 4, "unsupported flags (0x4)");
        set_params_fails(dom, "vnet99", params("inbound.average", 100, NULL), 0, "'vnet99' is not a known interface");
        set_params_fails(dom, "52:54:00:00:1e:99", params("inbound.average", 100, NULL), 0,
                         "no interface matching MAC address 52:54:00:00:1e:99");
        vb_call_fails(dom, DOMAIN_IFACE, "GetInterfaceParameters", g_variant_new("(su)", t[0], 3), LIBVIRT_ERROR,
                      "mutually exclusive");
        vb_assert_no_qos(t[0]);

        /* shut off: live is refused, config applies */
        dom_destroy(dom);
        set_params_fails(dom, "52:54:00:00:1e:01", params("inbound.average", 100, NULL), AFFECT_LIVE, "is not running");
        set_params(dom, "52:54:00:00:1e:01", params("outbound.average", 77, NULL), 0);
        got = get_params(dom, "52:54:00:00:1e:01", 0);
        g_assert_cmpuint(got.outbound.average, ==, 77);
        g_assert_cmpuint(got.inbound.average, ==, 123);
        /* which the next start applies */
        g_variant_unref(vb_call_ok(dom, DOMAIN_IFACE, "Create", g_variant_new("(u)", 0)));
        g_strfreev(t);
        t = dom_targets(dom);
        {
                Bandwidth b = { .inbound = vb_rate(123, 0, 0, 0), .outbound = vb_rate(77, 0, 0, 0) };
                QosDevicePlan p = device_plan(&b, QOS_DEVICE_TAP);

                vb_assert_device_qos(t[0], &p);
        }
        dom_destroy(dom);
        g_variant_unref(vb_call_ok(dom, DOMAIN_IFACE, "Undefine", g_variant_new("(u)", 0)));
        net_remove(net);
        assert_no_ifb();
}

static void floor_remove(const char *bridge, uint16_t id) {
        NhRequest req = { .verb = NH_VERB_QOS_FLOOR_REMOVE };
        NhReply reply;

        g_strlcpy(req.qos_floor.ifname, bridge, sizeof req.qos_floor.ifname);
        req.qos_floor.class_id = id;
        reply = vb_helper_call(&req);
        g_assert_cmpuint(reply.error, ==, 0);
}

static void floor_add(const char *bridge, const BandwidthRate *net_inbound, uint16_t id, const char *m) {
        BandwidthRate in = vb_rate(0, 0, 0, 100);
        EtherAddr a = mac(m);
        NhRequest req = { .verb = NH_VERB_QOS_FLOOR_ADD };
        QosFloorPlan fp;
        NhReply reply;

        g_assert_cmpint(qos_plan_floor(net_inbound, &in, id, &a, &fp), ==, 0);
        g_strlcpy(req.qos_floor.ifname, bridge, sizeof req.qos_floor.ifname);
        req.qos_floor.class_id = id;
        req.qos_floor.leaf = qos_leaf_for(vb_qos_caps());
        req.qos_floor.shape = fp.class_params;
        memcpy(req.qos_floor.mac, a.bytes, 6);
        reply = vb_helper_call(&req);
        if (reply.error != 0)
                g_error("FLOOR_ADD: %s", reply.message);
}

static void rewrite_status(const char *network, const char *from, const char *to) {
        g_autofree char *path = g_strdup_printf("%s/network/%s.status.xml", g_getenv("VIRTBUS_STATE_DIR"), network);
        g_autofree char *xml = NULL, *out = NULL;
        g_auto(GStrv) parts = NULL;

        g_assert_true(g_file_get_contents(path, &xml, NULL, NULL));
        g_assert_nonnull(strstr(xml, from));
        parts = g_strsplit(xml, from, 2);
        out = g_strjoinv(to, parts);
        g_assert_true(g_file_set_contents(path, out, -1, NULL));
}

/* Books and kernel agree again after a restart, whatever happened behind the daemon's back. */
static void test_restart(void) {
        Bandwidth bw = { .inbound = vb_rate(1000, 0, 0, 0) };
        VbFloor fa = { .class_id = 3, .mac = mac("52:54:00:00:a1:01"), .inbound = vb_rate(0, 0, 0, 200) };
        VbFloor fb = { .class_id = 4, .mac = mac("52:54:00:00:b1:01"), .inbound = vb_rate(0, 0, 0, 300) };
        VbFloor fc = { .class_id = 5, .mac = mac("52:54:00:00:c1:01"), .inbound = vb_rate(0, 0, 0, 100) };
        g_autofree char *net = NULL, *na = NULL, *nb = NULL, *nc = NULL, *da = NULL, *db = NULL, *dc = NULL;
        g_autofree char *log = NULL;
        pid_t qemu;

        net = net_start("qr", "vbqr", "<bandwidth><inbound average='1000'/></bandwidth>");
        na = iface("qr", "52:54:00:00:a1:01", "<bandwidth><inbound floor='200'/></bandwidth>");
        nb = iface("qr", "52:54:00:00:b1:01", "<bandwidth><inbound floor='300'/></bandwidth>");
        nc = iface("qr", "52:54:00:00:c1:01", "<bandwidth><inbound floor='100'/></bandwidth>");
        da = dom_create("ra", na);
        db = dom_create("rb", nb);
        vb_assert_bridge_qos("vbqr", &bw, (VbFloor[]) { fa, fb }, 2);

        /* behind its back, while it is stopped: an orphan class, a missing one, an id nobody has, a
         * wrong sum, an IFB whose device is gone */
        vb_sandbox_ctl("stop-daemon");
        floor_add("vbqr", &bw.inbound, 9, "52:54:00:00:99:99");
        floor_remove("vbqr", 4);
        rewrite_status("qr", "<class_id bitmap='0-4'/>", "<class_id bitmap='0-4,20'/>");
        rewrite_status("qr", "<floor sum='500'/>", "<floor sum='999'/>");
        g_assert_cmpint(netdev_ifb_create("vbifb9999"), ==, 0);
        vb_sandbox_ctl("start-daemon");
        vb_assert_bridge_qos("vbqr", &bw, (VbFloor[]) { fa, fb }, 2);
        assert_net_status("qr", "0-4", 500);
        g_assert_cmpuint(get_t(net, "FloorSum"), ==, 500);
        g_assert_false(netdev_link_exists("vbifb9999"));
        log = vb_sandbox_read("virtbusd.log");
        g_assert_nonnull(strstr(log, "class id 20 was allocated to no interface; released"));
        g_assert_nonnull(strstr(log, "removing class 1:9 from bridge vbqr"));

        /* killed: the same, and the missing class comes back */
        vb_sandbox_ctl("kill-daemon");
        floor_remove("vbqr", 3);
        vb_sandbox_ctl("start-daemon");
        vb_assert_bridge_qos("vbqr", &bw, (VbFloor[]) { fa, fb }, 2);

        /* a graceful restart changes nothing; no id is handed out twice afterwards */
        vb_sandbox_ctl("restart-daemon");
        vb_assert_bridge_qos("vbqr", &bw, (VbFloor[]) { fa, fb }, 2);
        dc = dom_create("rc", nc);
        vb_assert_bridge_qos("vbqr", &bw, (VbFloor[]) { fa, fb, fc }, 3);
        assert_net_status("qr", "0-5", 600);

        /* a guest that died while the daemon was away: its floor is released at start-up */
        vb_sandbox_ctl("kill-daemon");
        qemu = vb_find_qemu("ra");
        g_assert_cmpint(qemu, >, 0);
        g_assert_cmpint(kill(qemu, SIGKILL), ==, 0);
        for (int i = 0; i < 500 && vb_process_alive(qemu); i++)
                g_usleep(10000);
        vb_sandbox_ctl("start-daemon");
        vb_assert_bridge_qos("vbqr", &bw, (VbFloor[]) { fb, fc }, 2);
        assert_net_status("qr", "0-2,4-5", 400);
        {
                g_autofree char *a = allocations(net);
                g_assert_nonnull(strstr(a, "rb/"));
                g_assert_nonnull(strstr(a, "rc/"));
                g_assert_null(strstr(a, "ra/"));
        }
        g_assert_false(vb_domain_class_records("ra", NULL));

        dom_destroy(db);
        dom_destroy(dc);
        vb_assert_bridge_qos("vbqr", &bw, NULL, 0);
        assert_net_status("qr", "0-2", 0);
        net_remove(net);
        assert_no_ifb();
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/qos/plan-logged", test_plan_logged);
        g_test_add_func("/qos/network-bridge", test_network_bridge);
        g_test_add_func("/qos/interfaces", test_interfaces);
        g_test_add_func("/qos/floor", test_floor);
        g_test_add_func("/qos/live", test_live);
        g_test_add_func("/qos/restart", test_restart);
        return g_test_run();
}
