/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* End to end: real QEMU (TCG) guests started through virtbusd's D-Bus API, exactly as a client
 * would, with the test guest of tests/guest (kernel command line actions, "VB-RESULT" lines on
 * a serial port written to a file). Runs inside tests/lib/sandbox: one sandbox per test case
 * (tests/e2e/meson.build registers each case on its own), so each case starts from a fresh
 * daemon, helper and network namespace, and the sandbox checks that no link was left behind.
 *
 * Guests boot in parallel where a case has several; results are polled from the serial files
 * with a timeout, never waited for with fixed sleeps. */

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gio/gunixsocketaddress.h>

#include "netdev.h"
#include "vb-qos.h"
#include "vb-test.h"

#define CONNECT_IFACE "org.libvirt.Connect"
#define DOMAIN_IFACE "org.libvirt.Domain"
#define NET_IFACE "org.libvirt.Network"
#define LIBVIRT_ERROR "org.libvirt.Error"

/* libvirt's numbers (design/dbus-api.md) */
enum {
        EV_DEFINED = 0,
        EV_UNDEFINED = 1,
        EV_STARTED = 2,
        EV_STOPPED = 5,
        EV_SHUTDOWN = 6,
};
enum {
        DETAIL_DEFINED_ADDED = 0,
        DETAIL_UNDEFINED_REMOVED = 0,
        DETAIL_STARTED_BOOTED = 0,
        DETAIL_STOPPED_SHUTDOWN = 0,
        DETAIL_SHUTDOWN_GUEST = 1,
};
enum {
        STATE_RUNNING = 1,
        STATE_SHUTOFF = 5,
        SHUTOFF_SHUTDOWN = 1,
};
#define LIST_ACTIVE 1u
#define XML_INACTIVE 2u

#define RESULT_TIMEOUT 90 /* s, from Create to a result line: a guest needs 3-6 s */
#define STOP_TIMEOUT 30   /* s, from the power button / the guest's poweroff to STOPPED */
/* A line that means the guest will not produce the result we wait for. */
#define GUEST_FAIL "^VB-DONE|^VB-RESULT (modules fail|net fail|error)"

static const char *guest_dir;

/* ---------------------------------------------------------------------------------------------- */
/* D-Bus */

static char *call_path(const char *path, const char *iface, const char *method, GVariant *args) {
        g_autoptr(GVariant) r = vb_call_ok(path, iface, method, args);
        char *p;

        g_variant_get(r, "(o)", &p);
        return p;
}

static void call_void(const char *path, const char *iface, const char *method, GVariant *args) {
        g_variant_unref(vb_call_ok(path, iface, method, args));
}

static char *net_create(const char *name, const char *bridge, const char *address, unsigned mtu) {
        g_autofree char *mtu_xml = mtu ? g_strdup_printf("<mtu size='%u'/>", mtu) : g_strdup("");
        g_autofree char *xml = g_strdup_printf("<network><name>%s</name><bridge name='%s' stp='off' delay='0'/>%s"
                                               "<ip address='%s' prefix='24'/></network>",
                                               name, bridge, mtu_xml, address);

        return call_path(VB_CONNECT_PATH, CONNECT_IFACE, "NetworkCreateXML", g_variant_new("(s)", xml));
}

static void net_destroy(const char *path) {
        call_void(path, NET_IFACE, "Destroy", NULL);
}

static char *serial_path(const char *name) {
        return g_strdup_printf("%s/%s.serial", g_getenv("VIRTBUS_SANDBOX_DIR"), name);
}

/* A guest of tests/guest: kernel, initramfs, `cmdline` after the base, `devices` (interfaces),
 * and its console in serial_path(name). */
static char *guest_xml(const char *name, const char *emulator, const char *cmdline, const char *devices) {
        g_autofree char *serial = serial_path(name);
        g_autofree char *emu = emulator ? g_strdup_printf("<emulator>%s</emulator>", emulator) : g_strdup("");

        return g_strdup_printf("<domain type='qemu'><name>%s</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>"
                               "<os><type>hvm</type><kernel>%s/vmlinux</kernel><initrd>%s/initrd.img</initrd>"
                               "<cmdline>console=ttyS0 quiet %s</cmdline></os>"
                               "<devices>%s%s<serial type='file'><source path='%s'/></serial></devices></domain>",
                               name, guest_dir, guest_dir, cmdline, emu, devices, serial);
}

static char *iface_network(const char *network, const char *extra) {
        return g_strdup_printf("<interface type='network'><source network='%s'/><model type='virtio'/>%s</interface>",
                               network, extra ? extra : "");
}

/* Transient: answered once the guest runs. */
static char *domain_create(const char *xml) {
        return call_path(VB_CONNECT_PATH, CONNECT_IFACE, "DomainCreateXML", g_variant_new("(su)", xml, 0));
}

static char *domain_define(const char *xml) {
        return call_path(VB_CONNECT_PATH, CONNECT_IFACE, "DomainDefineXML", g_variant_new("(s)", xml));
}

static void domain_call(const char *path, const char *method) {
        call_void(path, DOMAIN_IFACE, method, g_variant_new("(u)", 0));
}

static void domain_state(const char *path, int *state, int *reason) {
        g_autoptr(GVariant) r = vb_call_ok(path, DOMAIN_IFACE, "GetState", g_variant_new("(u)", 0));

        g_variant_get(r, "((ii))", state, reason);
}

static char *domain_xml_desc(const char *path, guint32 flags) {
        g_autoptr(GVariant) r = vb_call_ok(path, DOMAIN_IFACE, "GetXMLDesc", g_variant_new("(u)", flags));
        char *xml;

        g_variant_get(r, "(s)", &xml);
        return xml;
}

static guint32 domain_id(const char *path) {
        g_autoptr(GVariant) v = vb_get_property(path, DOMAIN_IFACE, "Id");

        return g_variant_get_uint32(v);
}

static gboolean domains_list_has(guint32 flags, const char *path) {
        g_autoptr(GVariant) r = vb_call_ok(VB_CONNECT_PATH, CONNECT_IFACE, "ListDomains", g_variant_new("(u)", flags));
        g_autoptr(GVariantIter) it = NULL;
        const char *p;

        g_variant_get(r, "(ao)", &it);
        while (g_variant_iter_next(it, "&o", &p))
                if (g_str_equal(p, path))
                        return TRUE;
        return FALSE;
}

static guint domains_count(void) {
        g_autoptr(GVariant) r = vb_call_ok(VB_CONNECT_PATH, CONNECT_IFACE, "ListDomains", g_variant_new("(u)", 0));
        g_autoptr(GVariant) a = g_variant_get_child_value(r, 0);

        return g_variant_n_children(a);
}

/* A transient domain that stopped is gone: no object, no name. */
static void assert_domain_gone(const char *path, const char *name) {
        g_autofree char *msg = g_strdup_printf("Domain not found: no domain with matching name '%s'", name);

        g_assert_false(domains_list_has(0, path));
        vb_call_fails(VB_CONNECT_PATH, CONNECT_IFACE, "DomainLookupByName", g_variant_new("(s)", name), LIBVIRT_ERROR,
                      msg);
        vb_call_fails(path, DOMAIN_IFACE, "GetState", g_variant_new("(u)", 0),
                      "org.freedesktop.DBus.Error.UnknownObject", NULL);
}

/* ---------------------------------------------------------------------------------------------- */
/* Live XML and the kernel's view of the devices */

/* The interfaces of the live XML, in order: asserts that interface i has <alias name='netI'/>
 * and a <target dev='PREFIXn'/> that exists, and returns the target names. */
static GStrv live_targets(const char *path, guint n, const char *prefix) {
        g_autofree char *xml = domain_xml_desc(path, 0);
        g_autoptr(GRegex) target_re = g_regex_new("<target dev='([^']+)'/>", 0, 0, NULL);
        g_autoptr(GRegex) alias_re = g_regex_new("<alias name='([^']+)'/>", 0, 0, NULL);
        g_autoptr(GStrvBuilder) b = g_strv_builder_new();
        const char *p = xml;
        guint i = 0;

        for (; (p = strstr(p, "<interface ")); i++) {
                const char *end = strstr(p, "</interface>");
                g_autofree char *block = NULL, *want_alias = g_strdup_printf("net%u", i);
                g_autoptr(GMatchInfo) tm = NULL, am = NULL;
                g_autofree char *target = NULL, *alias = NULL;

                g_assert_nonnull(end);
                block = g_strndup(p, (gsize) (end - p));
                if (!g_regex_match(target_re, block, 0, &tm) || !g_regex_match(alias_re, block, 0, &am))
                        g_error("interface %u of the live XML lacks <target dev> or <alias>:\n%s", i, xml);
                target = g_match_info_fetch(tm, 1);
                alias = g_match_info_fetch(am, 1);
                g_assert_cmpstr(alias, ==, want_alias);
                g_assert_true(g_str_has_prefix(target, prefix));
                if (!netdev_link_exists(target))
                        g_error("live XML names %s, but there is no such link (links: %s)", target, vb_link_listing());
                g_strv_builder_add(b, target);
                p = end;
        }
        g_assert_cmpuint(i, ==, n);
        return g_strv_builder_end(b);
}

/* A tap of ours: kind tun, up, on `bridge`, with root qdisc noqueue. */
static void assert_tap(const char *tap, const char *bridge, guint32 mtu) {
        NetdevLink link, br;
        char kind[NETDEV_QDISC_KIND_MAX];

        g_assert_cmpint(netdev_link_lookup(tap, &link), ==, 0);
        g_assert_cmpint(netdev_link_lookup(bridge, &br), ==, 0);
        g_assert_cmpstr(link.kind, ==, "tun");
        g_assert_true(link.up);
        g_assert_cmpint(link.master, ==, br.ifindex);
        if (mtu)
                g_assert_cmpuint(link.mtu, ==, mtu);
        g_assert_cmpint(netdev_qdisc_get_root_kind(link.ifindex, kind), ==, 0);
        g_assert_cmpstr(kind, ==, "noqueue");
}

static void assert_links_gone(GStrv links) {
        for (char **l = links; l && *l; l++)
                if (netdev_link_exists(*l))
                        g_error("%s is still there (links: %s)", *l, vb_link_listing());
}

static char *status_file(const char *name) {
        return g_strdup_printf("%s/qemu/%s.status.xml", g_getenv("VIRTBUS_RUNTIME_DIR"), name);
}

/* The end of every case: no domain, no link, no status file or QMP socket. */
static void assert_clean(void) {
        g_autofree char *links = vb_link_listing();
        g_autofree char *rundir = g_strdup_printf("%s/qemu", g_getenv("VIRTBUS_RUNTIME_DIR"));
        GDir *d;

        g_assert_cmpuint(domains_count(), ==, 0);
        g_assert_cmpstr(links, ==, "");
        d = g_dir_open(rundir, 0, NULL);
        if (d) {
                const char *n;

                while ((n = g_dir_read_name(d)))
                        if (g_str_has_suffix(n, ".status.xml") || g_str_has_suffix(n, ".qmp"))
                                g_error("%s/%s left behind", rundir, n);
                g_dir_close(d);
        }
}

/* ---------------------------------------------------------------------------------------------- */
/* Guest results */

/* Waits for the serial line starting with `what` (an ERE) and asserts it matches `ok` (an ERE). */
static char *expect_result(const char *name, const char *what, const char *ok) {
        g_autofree char *serial = serial_path(name);
        g_autofree char *wait_re = g_strdup_printf("^VB-RESULT %s", what);
        char *line = vb_wait_for_line(serial, wait_re, GUEST_FAIL, RESULT_TIMEOUT);

        if (!g_regex_match_simple(ok, line, 0, 0)) {
                g_autofree char *content = NULL;

                g_file_get_contents(serial, &content, NULL, NULL);
                g_error("guest %s: \"%s\" does not match /%s/; its console:\n%s", name, line, ok, content);
        }
        g_test_message("%s: %s", name, line);
        return line;
}

static void wait_waiting(const char *name) {
        g_autofree char *serial = serial_path(name);

        g_free(vb_wait_for_line(serial, "^VB-RESULT wait-poweroff waiting", GUEST_FAIL, RESULT_TIMEOUT));
}

/* The power button, and the guest powers off: SHUTDOWN (by the guest) and STOPPED (shutdown). */
static void shutdown_and_wait(VbDomainEvents *ev, const char *path, const char *name) {
        g_autofree char *serial = serial_path(name);

        domain_call(path, "Shutdown");
        vb_domain_events_expect(ev, path, EV_SHUTDOWN, DETAIL_SHUTDOWN_GUEST, STOP_TIMEOUT);
        vb_domain_events_expect(ev, path, EV_STOPPED, DETAIL_STOPPED_SHUTDOWN, STOP_TIMEOUT);
        g_free(vb_wait_for_line(serial, "^VB-RESULT power-button", NULL, 5));
}

/* ---------------------------------------------------------------------------------------------- */
/* (a) a guest on a virtbus network pings the bridge address */

static void test_ping_bridge(void) {
        g_autofree char *net = net_create("e2e-a", "vbe2ea", "10.91.0.1", 0);
        g_autofree char *nic = iface_network("e2e-a", NULL);
        g_autofree char *xml = guest_xml("ga", NULL, "vb.ip=10.91.0.2/24 vb.action=ping:10.91.0.1", nic);
        g_autofree char *dom = NULL;
        g_auto(GStrv) taps = NULL;
        VbDomainEvents ev;
        int state, reason;

        vb_domain_events_start(&ev);
        dom = domain_create(xml);
        vb_domain_events_expect(&ev, dom, EV_STARTED, DETAIL_STARTED_BOOTED, 5);
        domain_state(dom, &state, &reason);
        g_assert_cmpint(state, ==, STATE_RUNNING);
        taps = live_targets(dom, 1, "vnet");
        assert_tap(taps[0], "vbe2ea", 1500);

        g_free(expect_result("ga", "ping ", "^VB-RESULT ping ok 10\\.91\\.0\\.1 received=3/3 "));

        /* the guest powers itself off after its last action */
        vb_domain_events_expect(&ev, dom, EV_STOPPED, DETAIL_STOPPED_SHUTDOWN, STOP_TIMEOUT);
        assert_domain_gone(dom, "ga");
        assert_links_gone(taps);
        net_destroy(net);
        vb_domain_events_stop(&ev);
        assert_clean();
}

/* ---------------------------------------------------------------------------------------------- */
/* (b) two guests on one network ping each other */

static void test_two_guests(void) {
        g_autofree char *net = net_create("e2e-b", "vbe2eb", "10.92.0.1", 0);
        g_autofree char *nic = iface_network("e2e-b", NULL);
        /* Each pings the other (10 pings over 2 s, then up to 3 s for a first answer), so the
         * one that is ready first waits for the other; then both stay up until the button. */
        g_autofree char *xa =
                guest_xml("gb1", NULL, "vb.ip=10.92.0.2/24 vb.action=ping:10.92.0.3:10,wait-poweroff", nic);
        g_autofree char *xb =
                guest_xml("gb2", NULL, "vb.ip=10.92.0.3/24 vb.action=ping:10.92.0.2:10,wait-poweroff", nic);
        g_autofree char *da = NULL, *db = NULL;
        g_auto(GStrv) ta = NULL, tb = NULL;
        VbDomainEvents ev;

        vb_domain_events_start(&ev);
        da = domain_create(xa);
        db = domain_create(xb);
        ta = live_targets(da, 1, "vnet");
        tb = live_targets(db, 1, "vnet");
        g_assert_cmpstr(ta[0], !=, tb[0]);
        assert_tap(ta[0], "vbe2eb", 0);
        assert_tap(tb[0], "vbe2eb", 0);

        g_free(expect_result("gb1", "ping ", "^VB-RESULT ping ok 10\\.92\\.0\\.3 received=[1-9][0-9]*/10 "));
        g_free(expect_result("gb2", "ping ", "^VB-RESULT ping ok 10\\.92\\.0\\.2 received=[1-9][0-9]*/10 "));
        wait_waiting("gb1");
        wait_waiting("gb2");

        shutdown_and_wait(&ev, da, "gb1");
        shutdown_and_wait(&ev, db, "gb2");
        assert_domain_gone(da, "gb1");
        assert_domain_gone(db, "gb2");
        assert_links_gone(ta);
        assert_links_gone(tb);
        net_destroy(net);
        vb_domain_events_stop(&ev);
        assert_clean();
}

/* ---------------------------------------------------------------------------------------------- */
/* (c) type='direct' (macvtap, mode bridge) on a veth whose peer is in another namespace */

#define VETH "vbe2eveth0"
#define VETH_PEER "vbe2eveth1"

static char *read_link(const char *path) {
        char *target = g_file_read_link(path, NULL);

        g_assert_nonnull(target);
        return target;
}

/* A process that holds a fresh network namespace: `unshare --net sleep`. */
static GPid peer_netns_start(void) {
        const char *argv[] = { "unshare", "--net", "sleep", "600", NULL };
        g_autofree char *self_ns = read_link("/proc/self/ns/net");
        GError *error = NULL;
        GPid pid;

        g_spawn_async(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid,
                      &error);
        g_assert_no_error(error);
        /* unshare execs sleep once the namespace exists */
        for (int i = 0;; i++) {
                g_autofree char *path = g_strdup_printf("/proc/%d/ns/net", (int) pid);
                g_autofree char *ns = g_file_read_link(path, NULL);
                g_autofree char *cmd = vb_process_cmdline(pid);

                if (ns && !g_str_equal(ns, self_ns) && cmd && g_str_has_prefix(cmd, "sleep"))
                        break;
                g_assert_cmpint(i, <, 500);
                g_usleep(10000);
        }
        return pid;
}

static void peer_netns_stop(GPid pid) {
        int status;

        g_assert_cmpint(kill(pid, SIGKILL), ==, 0);
        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_spawn_close_pid(pid);
}

static char *peer_run(GPid pid, const char *cmd) {
        g_autofree char *spid = g_strdup_printf("%d", (int) pid);
        g_auto(GStrv) args = g_strsplit(cmd, " ", -1);
        g_autoptr(GPtrArray) argv = g_ptr_array_new();

        g_ptr_array_add(argv, "nsenter");
        g_ptr_array_add(argv, "-t");
        g_ptr_array_add(argv, spid);
        g_ptr_array_add(argv, "-n");
        for (char **a = args; *a; a++)
                g_ptr_array_add(argv, *a);
        g_ptr_array_add(argv, NULL);
        return vb_run((const char *const *) argv->pdata);
}

static void run_cmd(const char *cmd) {
        g_auto(GStrv) argv = g_strsplit(cmd, " ", -1);

        g_free(vb_run((const char *const *) argv));
}

static void test_direct_macvtap(void) {
        const char *acl = g_getenv("VIRTBUS_NETHELPER_ACL");
        g_autofree char *acl_orig = NULL, *acl_new = NULL, *dom = NULL, *xml = NULL, *live = NULL, *mac = NULL;
        g_autofree char *neigh = NULL, *spid = NULL;
        g_auto(GStrv) targets = NULL;
        g_autoptr(GRegex) mac_re = NULL;
        g_autoptr(GMatchInfo) mm = NULL;
        char mac_str[ETHER_ADDR_STR_MAX], qdisc[NETDEV_QDISC_KIND_MAX];
        NetdevMacvlan mv;
        NetdevLink lower;
        VbDomainEvents ev;
        GPid peer;

        g_assert_nonnull(acl);
        g_assert_true(g_file_get_contents(acl, &acl_orig, NULL, NULL));
        acl_new = g_strdup_printf("%sallow " VETH "\n", acl_orig);
        g_assert_true(g_file_set_contents(acl, acl_new, -1, NULL));

        /* the peer: the other end of the veth, 10.93.0.1/24, in a namespace of its own */
        peer = peer_netns_start();
        spid = g_strdup_printf("%d", (int) peer);
        run_cmd("ip link add " VETH " type veth peer name " VETH_PEER);
        {
                const char *argv[] = { "ip", "link", "set", VETH_PEER, "netns", spid, NULL };
                g_free(vb_run(argv));
        }
        g_free(peer_run(peer, "ip link set lo up"));
        g_free(peer_run(peer, "ip addr add 10.93.0.1/24 dev " VETH_PEER));
        g_free(peer_run(peer, "ip link set " VETH_PEER " up"));
        run_cmd("ip link set " VETH " up");
        g_assert_cmpint(netdev_link_lookup(VETH, &lower), ==, 0);

        vb_domain_events_start(&ev);
        xml = guest_xml("gc", NULL, "vb.ip=10.93.0.2/24 vb.action=ping:10.93.0.1",
                        "<interface type='direct'><source dev='" VETH "' mode='bridge'/>"
                        "<model type='virtio'/></interface>");
        dom = domain_create(xml);
        targets = live_targets(dom, 1, "macvtap");
        g_assert_cmpint(netdev_macvlan_get(targets[0], &mv), ==, 0);
        g_assert_cmpstr(mv.kind, ==, "macvtap");
        g_assert_cmpuint(mv.mode, ==, MACVLAN_MODE_BRIDGE);
        g_assert_cmpint(mv.lower, ==, lower.ifindex);
        g_assert_cmpint(netdev_qdisc_get_root_kind(mv.ifindex, qdisc), ==, 0);
        g_assert_cmpstr(qdisc, ==, "noqueue");
        /* the macvtap carries the guest's MAC */
        live = domain_xml_desc(dom, 0);
        mac_re = g_regex_new("<mac address='([0-9a-f:]+)'/>", 0, 0, NULL);
        g_assert_true(g_regex_match(mac_re, live, 0, &mm));
        mac = g_match_info_fetch(mm, 1);
        g_assert_cmpstr(ether_addr_format(&mv.mac, mac_str), ==, mac);

        g_free(expect_result("gc", "ping ", "^VB-RESULT ping ok 10\\.93\\.0\\.1 received=3/3 "));
        /* the peer saw the guest, by its MAC, on the other side of the veth */
        neigh = peer_run(peer, "ip neigh show 10.93.0.2");
        if (!strstr(neigh, mac))
                g_error("the peer namespace does not know %s as 10.93.0.2: %s", mac, neigh);

        vb_domain_events_expect(&ev, dom, EV_STOPPED, DETAIL_STOPPED_SHUTDOWN, STOP_TIMEOUT);
        assert_domain_gone(dom, "gc");
        assert_links_gone(targets); /* a macvtap stays until deleted: the daemon did */
        vb_domain_events_stop(&ev);

        run_cmd("ip link del " VETH); /* takes the peer end along */
        peer_netns_stop(peer);
        g_assert_true(g_file_set_contents(acl, acl_orig, -1, NULL));
        assert_clean();
}

/* ---------------------------------------------------------------------------------------------- */
/* (d) noqueue on the tap while running; Shutdown: SHUTDOWN + STOPPED, tap gone, transient gone,
 * persistent shut off (shutdown) */

static void test_shutdown(void) {
        g_autofree char *net = net_create("e2e-d", "vbe2ed", "10.94.0.1", 0);
        g_autofree char *nic = iface_network("e2e-d", NULL);
        g_autofree char *xt = guest_xml("gdt", NULL, "vb.ip=10.94.0.2/24 vb.action=wait-poweroff", nic);
        g_autofree char *xp = guest_xml("gdp", NULL, "vb.ip=10.94.0.3/24 vb.action=wait-poweroff", nic);
        g_autofree char *dt = NULL, *dp = NULL, *config = NULL, *config_after = NULL;
        g_auto(GStrv) tt = NULL, tp = NULL;
        VbDomainEvents ev;
        int state, reason;

        vb_domain_events_start(&ev);
        dp = domain_define(xp);
        vb_domain_events_expect(&ev, dp, EV_DEFINED, DETAIL_DEFINED_ADDED, 5);
        config = domain_xml_desc(dp, XML_INACTIVE);
        g_assert_true(vb_get_bool(dp, DOMAIN_IFACE, "Persistent"));
        g_assert_false(vb_get_bool(dp, DOMAIN_IFACE, "Active"));

        dt = domain_create(xt);
        domain_call(dp, "Create");
        vb_domain_events_expect(&ev, dt, EV_STARTED, DETAIL_STARTED_BOOTED, 5);
        vb_domain_events_expect(&ev, dp, EV_STARTED, DETAIL_STARTED_BOOTED, 5);
        g_assert_false(vb_get_bool(dt, DOMAIN_IFACE, "Persistent"));
        g_assert_true(vb_get_bool(dt, DOMAIN_IFACE, "Active"));
        g_assert_true(vb_get_bool(dp, DOMAIN_IFACE, "Active"));
        g_assert_true(domains_list_has(LIST_ACTIVE, dt));
        g_assert_true(domains_list_has(LIST_ACTIVE, dp));

        /* while they run: taps on the bridge with root qdisc noqueue */
        tt = live_targets(dt, 1, "vnet");
        tp = live_targets(dp, 1, "vnet");
        assert_tap(tt[0], "vbe2ed", 0);
        assert_tap(tp[0], "vbe2ed", 0);
        domain_state(dp, &state, &reason);
        g_assert_cmpint(state, ==, STATE_RUNNING);

        /* the button works only once the guest's acpid runs */
        wait_waiting("gdt");
        wait_waiting("gdp");
        domain_call(dt, "Shutdown");
        domain_call(dp, "Shutdown");
        vb_domain_events_expect(&ev, dt, EV_SHUTDOWN, DETAIL_SHUTDOWN_GUEST, STOP_TIMEOUT);
        vb_domain_events_expect(&ev, dp, EV_SHUTDOWN, DETAIL_SHUTDOWN_GUEST, STOP_TIMEOUT);
        vb_domain_events_expect(&ev, dt, EV_STOPPED, DETAIL_STOPPED_SHUTDOWN, STOP_TIMEOUT);
        vb_domain_events_expect(&ev, dp, EV_STOPPED, DETAIL_STOPPED_SHUTDOWN, STOP_TIMEOUT);
        {
                g_autofree char *st = serial_path("gdt"), *sp = serial_path("gdp");

                g_free(vb_wait_for_line(st, "^VB-RESULT power-button", NULL, 5));
                g_free(vb_wait_for_line(sp, "^VB-RESULT power-button", NULL, 5));
        }

        /* the taps are gone; the transient domain is gone; the persistent one is shut off */
        assert_links_gone(tt);
        assert_links_gone(tp);
        g_assert_cmpint(vb_find_qemu("gdt"), ==, 0);
        g_assert_cmpint(vb_find_qemu("gdp"), ==, 0);
        assert_domain_gone(dt, "gdt");
        domain_state(dp, &state, &reason);
        g_assert_cmpint(state, ==, STATE_SHUTOFF);
        g_assert_cmpint(reason, ==, SHUTOFF_SHUTDOWN);
        g_assert_false(vb_get_bool(dp, DOMAIN_IFACE, "Active"));
        g_assert_false(domains_list_has(LIST_ACTIVE, dp));
        config_after = domain_xml_desc(dp, XML_INACTIVE);
        g_assert_cmpstr(config_after, ==, config);
        {
                g_autofree char *sf = status_file("gdp");
                g_assert_false(g_file_test(sf, G_FILE_TEST_EXISTS));
        }

        domain_call(dp, "Undefine");
        vb_domain_events_expect(&ev, dp, EV_UNDEFINED, DETAIL_UNDEFINED_REMOVED, 5);
        net_destroy(net);
        vb_domain_events_stop(&ev);
        assert_clean();
}

/* ---------------------------------------------------------------------------------------------- */
/* (e) txmode='iothread' → tx=bh on this QEMU; a QEMU without 'tx' refuses it, nothing left */

/* Live processes with an argument containing s. */
static guint processes_mentioning(const char *s) {
        GDir *d = g_dir_open("/proc", 0, NULL);
        const char *n;
        guint found = 0;

        g_assert_nonnull(d);
        while ((n = g_dir_read_name(d))) {
                pid_t pid = (pid_t) g_ascii_strtoll(n, NULL, 10);
                g_autofree char *cmd = NULL;

                if (!g_ascii_isdigit(n[0]) || pid == getpid() || !vb_process_alive(pid))
                        continue;
                cmd = vb_process_cmdline(pid);
                if (cmd && strstr(cmd, s)) {
                        g_test_message("process %d: %s", (int) pid, cmd);
                        found++;
                }
        }
        g_dir_close(d);
        return found;
}

static void test_txmode(void) {
        const char *fake = g_getenv("VIRTBUS_FAKE_QEMU_NO_TX");
        g_autofree char *net = net_create("e2e-e", "vbe2ee", "10.95.0.1", 0);
        g_autofree char *nic = iface_network("e2e-e", "<driver txmode='iothread'/>");
        g_autofree char *xml = guest_xml("gtx", NULL, "vb.ip=10.95.0.2/24 vb.action=ping:10.95.0.1", nic);
        g_autofree char *dom = NULL, *cmdline = NULL, *live = NULL;
        g_auto(GStrv) taps = NULL;
        VbDomainEvents ev;
        pid_t pid;

        g_assert_nonnull(fake);
        g_assert_true(g_file_test(fake, G_FILE_TEST_IS_EXECUTABLE));

        vb_domain_events_start(&ev);
        dom = domain_create(xml);
        taps = live_targets(dom, 1, "vnet");
        pid = vb_find_qemu("gtx");
        g_assert_cmpint(pid, >, 0);
        cmdline = vb_process_cmdline(pid);
        g_assert_nonnull(cmdline);
        if (!g_regex_match_simple(" virtio-net-pci,[^ ]*,tx=bh[, ]", cmdline, 0, 0))
                g_error("no tx=bh on virtio-net-pci in QEMU's command line: %s", cmdline);
        live = domain_xml_desc(dom, 0);
        g_assert_nonnull(strstr(live, "<driver txmode='iothread'/>"));
        /* and the NIC works */
        g_free(expect_result("gtx", "ping ", "^VB-RESULT ping ok 10\\.95\\.0\\.1 received=3/3 "));
        vb_domain_events_expect(&ev, dom, EV_STOPPED, DETAIL_STOPPED_SHUTDOWN, STOP_TIMEOUT);
        assert_domain_gone(dom, "gtx");
        assert_links_gone(taps);
        g_assert_false(vb_process_alive(pid));

        /* The same with a QEMU whose virtio-net-pci has no 'tx': the start fails, nothing left. */
        {
                g_autofree char *nx = guest_xml("gnotx", fake, "vb.ip=10.95.0.3/24 vb.action=ping:10.95.0.1", nic);
                g_autofree char *dn = domain_define(nx);
                g_autofree char *config = domain_xml_desc(dn, XML_INACTIVE), *config_after = NULL;
                g_autofree char *cfg_path = g_strdup_printf("%s/qemu/gnotx.xml", g_getenv("VIRTBUS_STATE_DIR"));
                g_autofree char *cfg_file = NULL, *cfg_file_after = NULL, *links = NULL;
                g_autofree char *rundir = g_strdup_printf("%s/qemu", g_getenv("VIRTBUS_RUNTIME_DIR"));
                g_autofree char *sf = status_file("gnotx");
                int state, reason, state_before, reason_before;
                GDir *d;

                g_assert_true(g_file_get_contents(cfg_path, &cfg_file, NULL, NULL));
                g_assert_nonnull(strstr(config, fake));
                domain_state(dn, &state_before, &reason_before);
                g_assert_cmpint(state_before, ==, STATE_SHUTOFF);

                vb_call_fails(dn, DOMAIN_IFACE, "Create", g_variant_new("(u)", 0), LIBVIRT_ERROR,
                              "unsupported configuration: virtio-net-pci 'tx' option not supported "
                              "with this QEMU binary");

                links = vb_link_listing();
                g_assert_cmpstr(links, ==, "vbe2ee"); /* no tap: only the network's bridge */
                g_assert_cmpint(vb_find_qemu("gnotx"), ==, 0);
                g_assert_cmpint(processes_mentioning(fake), ==, 0); /* nor the probe's */
                g_assert_false(g_file_test(sf, G_FILE_TEST_EXISTS));
                d = g_dir_open(rundir, 0, NULL);
                if (d) {
                        const char *n;

                        while ((n = g_dir_read_name(d)))
                                if (g_str_has_prefix(n, "gnotx."))
                                        g_error("%s/%s left behind by the failed start", rundir, n);
                        g_dir_close(d);
                }
                /* a start refused before QEMU ran changes nothing, not even the reason */
                domain_state(dn, &state, &reason);
                g_assert_cmpint(state, ==, state_before);
                g_assert_cmpint(reason, ==, reason_before);
                g_assert_false(vb_get_bool(dn, DOMAIN_IFACE, "Active"));
                g_assert_true(vb_get_bool(dn, DOMAIN_IFACE, "Persistent"));
                g_assert_false(domains_list_has(LIST_ACTIVE, dn));
                g_assert_cmpuint(domain_id(dn), ==, G_MAXUINT32);
                config_after = domain_xml_desc(dn, XML_INACTIVE);
                g_assert_cmpstr(config_after, ==, config);
                g_assert_true(g_file_get_contents(cfg_path, &cfg_file_after, NULL, NULL));
                g_assert_cmpstr(cfg_file_after, ==, cfg_file);
                g_assert_false(vb_domain_events_seen(&ev, dn, EV_STARTED, -1));
                g_assert_false(vb_domain_events_seen(&ev, dn, EV_STOPPED, -1));

                domain_call(dn, "Undefine");
        }
        net_destroy(net);
        vb_domain_events_stop(&ev);
        assert_clean();
}

/* ---------------------------------------------------------------------------------------------- */
/* (f) kill -9 of virtbusd while guests run */

/* One QMP command on a QEMU's monitor socket (what the daemon would send), asserting success. */
static void qmp_command(const char *socket_path, const char *command) {
        g_autoptr(GSocketClient) client = g_socket_client_new();
        g_autoptr(GSocketAddress) addr = g_unix_socket_address_new(socket_path);
        g_autoptr(GSocketConnection) conn = NULL;
        g_autoptr(GDataInputStream) in = NULL;
        const char *cmds[] = { "qmp_capabilities", command };
        GError *error = NULL;

        conn = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr), NULL, &error);
        g_assert_no_error(error);
        in = g_data_input_stream_new(g_io_stream_get_input_stream(G_IO_STREAM(conn)));
        g_free(g_data_input_stream_read_line(in, NULL, NULL, &error)); /* the greeting */
        g_assert_no_error(error);
        for (size_t i = 0; i < G_N_ELEMENTS(cmds); i++) {
                g_autofree char *msg = g_strdup_printf("{\"execute\": \"%s\"}\n", cmds[i]);

                g_output_stream_write_all(g_io_stream_get_output_stream(G_IO_STREAM(conn)), msg, strlen(msg), NULL,
                                          NULL, &error);
                g_assert_no_error(error);
                for (;;) { /* events may come first */
                        g_autofree char *line = g_data_input_stream_read_line(in, NULL, NULL, &error);

                        g_assert_no_error(error);
                        g_assert_nonnull(line);
                        if (strstr(line, "\"error\""))
                                g_error("QMP %s on %s: %s", cmds[i], socket_path, line);
                        if (strstr(line, "\"return\""))
                                break;
                }
        }
}

static char *daemon_pid(void) {
        const char *argv[] = { g_getenv("VIRTBUS_SANDBOX"), "ctl", "daemon-pid", NULL };

        return g_strstrip(vb_run(argv));
}

static void test_daemon_restart(void) {
        g_autofree char *net = net_create("e2e-f", "vbe2ef", "10.96.0.1", 0);
        g_autofree char *nic = iface_network("e2e-f", NULL);
        /* gfs survives (transient); gfk (persistent) is killed while the daemon is away; gfp
         * (persistent) powers off while the daemon is away (QEMU stays: -no-shutdown) */
        g_autofree char *xs = guest_xml("gfs", NULL, "vb.ip=10.96.0.2/24 vb.action=wait-poweroff", nic);
        g_autofree char *xk = guest_xml("gfk", NULL, "vb.ip=10.96.0.3/24 vb.action=wait-poweroff", nic);
        g_autofree char *xp = guest_xml("gfp", NULL, "vb.ip=10.96.0.4/24 vb.action=wait-poweroff", nic);
        g_autofree char *ds = NULL, *dk = NULL, *dp = NULL;
        g_autofree char *sf_s = status_file("gfs"), *sf_k = status_file("gfk"), *sf_p = status_file("gfp");
        g_autofree char *qmp_p = g_strdup_printf("%s/qemu/gfp.qmp", g_getenv("VIRTBUS_RUNTIME_DIR"));
        g_autofree char *serial_p = serial_path("gfp");
        g_auto(GStrv) ts = NULL, tk = NULL, tp = NULL, ts_after = NULL;
        g_autofree char *daemon_before = daemon_pid(), *daemon_after = NULL;
        guint32 id_s;
        pid_t pid_s, pid_k, pid_p;
        VbDomainEvents ev;
        int state, reason;

        vb_domain_events_start(&ev);
        ds = domain_create(xs);
        dk = domain_define(xk);
        domain_call(dk, "Create");
        dp = domain_define(xp);
        domain_call(dp, "Create");
        ts = live_targets(ds, 1, "vnet");
        tk = live_targets(dk, 1, "vnet");
        tp = live_targets(dp, 1, "vnet");
        id_s = domain_id(ds);
        pid_s = vb_find_qemu("gfs");
        pid_k = vb_find_qemu("gfk");
        pid_p = vb_find_qemu("gfp");
        g_assert_cmpint(pid_s, >, 0);
        g_assert_cmpint(pid_k, >, 0);
        g_assert_cmpint(pid_p, >, 0);
        wait_waiting("gfs");
        wait_waiting("gfk");
        wait_waiting("gfp");
        g_assert_true(g_file_test(sf_s, G_FILE_TEST_EXISTS));
        g_assert_true(g_file_test(sf_k, G_FILE_TEST_EXISTS));
        g_assert_true(g_file_test(sf_p, G_FILE_TEST_EXISTS));

        vb_sandbox_ctl("kill-daemon");
        g_assert_cmpint(kill(pid_k, SIGKILL), ==, 0);
        for (int i = 0; vb_process_alive(pid_k); i++) {
                g_assert_cmpint(i, <, 500);
                g_usleep(10000);
        }
        /* the power button, as the daemon would press it; the guest powers off, QEMU waits */
        qmp_command(qmp_p, "system_powerdown");
        g_free(vb_wait_for_line(serial_p, "^VB-DONE", NULL, STOP_TIMEOUT));
        g_assert_true(vb_process_alive(pid_s));
        g_assert_true(vb_process_alive(pid_p));
        vb_sandbox_ctl("start-daemon");
        daemon_after = daemon_pid();
        g_assert_cmpstr(daemon_after, !=, "");
        g_assert_cmpstr(daemon_after, !=, daemon_before);
        g_test_message("virtbusd %s killed, %s started; QEMU %d kept, QEMU %d killed meanwhile", daemon_before,
                       daemon_after, (int) pid_s, (int) pid_k);

        /* the survivor: same QEMU, listed active, same Id, running, same devices */
        g_assert_true(vb_process_alive(pid_s));
        g_assert_cmpint(vb_find_qemu("gfs"), ==, pid_s);
        g_assert_true(domains_list_has(LIST_ACTIVE, ds));
        g_assert_cmpuint(domain_id(ds), ==, id_s);
        g_assert_true(vb_get_bool(ds, DOMAIN_IFACE, "Active"));
        domain_state(ds, &state, &reason);
        g_assert_cmpint(state, ==, STATE_RUNNING);
        ts_after = live_targets(ds, 1, "vnet");
        g_assert_cmpstr(ts_after[0], ==, ts[0]);
        assert_tap(ts[0], "vbe2ef", 0);

        /* the one that died while the daemon was away: cleaned up */
        g_assert_false(domains_list_has(LIST_ACTIVE, dk));
        g_assert_false(vb_get_bool(dk, DOMAIN_IFACE, "Active"));
        domain_state(dk, &state, &reason);
        g_assert_cmpint(state, ==, STATE_SHUTOFF);
        assert_links_gone(tk);
        g_assert_false(g_file_test(sf_k, G_FILE_TEST_EXISTS));
        g_assert_cmpint(vb_find_qemu("gfk"), ==, 0);

        /* the one that powered off while the daemon was away: its shutdown is finished */
        vb_domain_events_expect(&ev, dp, EV_STOPPED, DETAIL_STOPPED_SHUTDOWN, STOP_TIMEOUT);
        for (int i = 0; vb_process_alive(pid_p); i++) {
                g_assert_cmpint(i, <, 500);
                g_usleep(10000);
        }
        domain_state(dp, &state, &reason);
        g_assert_cmpint(state, ==, STATE_SHUTOFF);
        g_assert_cmpint(reason, ==, SHUTOFF_SHUTDOWN);
        assert_links_gone(tp);
        g_assert_false(g_file_test(sf_p, G_FILE_TEST_EXISTS));

        /* Shutdown works on the adopted guest */
        shutdown_and_wait(&ev, ds, "gfs");
        for (int i = 0; vb_process_alive(pid_s); i++) {
                g_assert_cmpint(i, <, 500);
                g_usleep(10000);
        }
        assert_links_gone(ts);
        assert_domain_gone(ds, "gfs");
        g_assert_false(g_file_test(sf_s, G_FILE_TEST_EXISTS));

        domain_call(dk, "Undefine");
        domain_call(dp, "Undefine");
        net_destroy(net);
        vb_domain_events_stop(&ev);
        assert_clean();
}

/* ---------------------------------------------------------------------------------------------- */
/* (g1) MTU 9000 on network and interface: an unfragmented 8972-byte ping */

static void test_mtu_9000(void) {
        g_autofree char *net = net_create("e2e-g1", "vbe2eg1", "10.97.0.1", 9000);
        g_autofree char *nic = iface_network("e2e-g1", "<mtu size='9000'/>");
        g_autofree char *xml = guest_xml("gmtu", NULL, "vb.ip=10.97.0.2/24 vb.action=ping-df:10.97.0.1", nic);
        g_autofree char *dom = NULL, *cmdline = NULL;
        g_auto(GStrv) taps = NULL;
        VbDomainEvents ev;
        NetdevLink br;

        vb_domain_events_start(&ev);
        dom = domain_create(xml);
        taps = live_targets(dom, 1, "vnet");
        assert_tap(taps[0], "vbe2eg1", 9000);
        g_assert_cmpint(netdev_link_lookup("vbe2eg1", &br), ==, 0);
        g_assert_cmpuint(br.mtu, ==, 9000);
        cmdline = vb_process_cmdline(vb_find_qemu("gmtu"));
        g_assert_nonnull(cmdline);
        g_assert_nonnull(strstr(cmdline, ",host_mtu=9000"));

        g_free(expect_result("gmtu", "ping-df ",
                             "^VB-RESULT ping-df ok 10\\.97\\.0\\.1 received=3/3 size=8972 "
                             "fragcreates=0 fragfails=0 reasmreqds=0$"));
        vb_domain_events_expect(&ev, dom, EV_STOPPED, DETAIL_STOPPED_SHUTDOWN, STOP_TIMEOUT);
        assert_domain_gone(dom, "gmtu");
        assert_links_gone(taps);
        net_destroy(net);
        vb_domain_events_stop(&ev);
        assert_clean();
}

/* ---------------------------------------------------------------------------------------------- */
/* (g2) one guest, two interfaces on two networks */

static void test_two_networks(void) {
        g_autofree char *na = net_create("e2e-g2a", "vbe2eg2a", "10.98.1.1", 0);
        g_autofree char *nb = net_create("e2e-g2b", "vbe2eg2b", "10.98.2.1", 0);
        g_autofree char *nic_a = iface_network("e2e-g2a", NULL), *nic_b = iface_network("e2e-g2b", NULL);
        g_autofree char *nics = g_strconcat(nic_a, nic_b, NULL);
        g_autofree char *xml = guest_xml(
                "g2n", NULL, "vb.ip=10.98.1.2/24 vb.ip1=10.98.2.2/24 vb.action=ping:10.98.1.1,ping:10.98.2.1", nics);
        g_autofree char *dom = NULL;
        g_auto(GStrv) taps = NULL;
        VbDomainEvents ev;

        vb_domain_events_start(&ev);
        dom = domain_create(xml);
        taps = live_targets(dom, 2, "vnet");
        g_assert_cmpstr(taps[0], !=, taps[1]);
        assert_tap(taps[0], "vbe2eg2a", 0);
        assert_tap(taps[1], "vbe2eg2b", 0);

        g_free(expect_result("g2n", "ping [a-z]+ 10\\.98\\.1\\.1 ",
                             "^VB-RESULT ping ok 10\\.98\\.1\\.1 received=3/3 "));
        g_free(expect_result("g2n", "ping [a-z]+ 10\\.98\\.2\\.1 ",
                             "^VB-RESULT ping ok 10\\.98\\.2\\.1 received=3/3 "));
        vb_domain_events_expect(&ev, dom, EV_STOPPED, DETAIL_STOPPED_SHUTDOWN, STOP_TIMEOUT);
        assert_domain_gone(dom, "g2n");
        assert_links_gone(taps);
        net_destroy(na);
        net_destroy(nb);
        vb_domain_events_stop(&ev);
        assert_clean();
}

/* ---------------------------------------------------------------------------------------------- */
/* (g3) multicast between two guests */

static void test_multicast(void) {
        g_autofree char *net = net_create("e2e-g3", "vbe2eg3", "10.99.0.1", 0);
        g_autofree char *nic = iface_network("e2e-g3", NULL);
        /* the receiver listens up to 30 s (it ends 1 s after the last datagram); the sender
         * sends for 4 s, started second */
        g_autofree char *xr = guest_xml("gmr", NULL, "vb.ip=10.99.0.2/24 vb.action=mcast-recv:239.1.2.3:5000:30", nic);
        g_autofree char *xs = guest_xml("gms", NULL, "vb.ip=10.99.0.3/24 vb.action=mcast-send:239.1.2.3:5000:4", nic);
        g_autofree char *dr = NULL, *ds = NULL;
        g_auto(GStrv) tr = NULL, ts = NULL;
        VbDomainEvents ev;

        vb_domain_events_start(&ev);
        dr = domain_create(xr);
        ds = domain_create(xs);
        tr = live_targets(dr, 1, "vnet");
        ts = live_targets(ds, 1, "vnet");
        assert_tap(tr[0], "vbe2eg3", 0);
        assert_tap(ts[0], "vbe2eg3", 0);

        g_free(expect_result("gms", "mcast-send ", "^VB-RESULT mcast-send ok "));
        g_free(expect_result("gmr", "mcast-recv (ok|fail)",
                             "^VB-RESULT mcast-recv ok bytes=[1-9][0-9]* packets=[1-9]"));
        vb_domain_events_expect(&ev, ds, EV_STOPPED, DETAIL_STOPPED_SHUTDOWN, STOP_TIMEOUT);
        vb_domain_events_expect(&ev, dr, EV_STOPPED, DETAIL_STOPPED_SHUTDOWN, STOP_TIMEOUT);
        assert_domain_gone(dr, "gmr");
        assert_domain_gone(ds, "gms");
        assert_links_gone(tr);
        assert_links_gone(ts);
        net_destroy(net);
        vb_domain_events_stop(&ev);
        assert_clean();
}

/* ---------------------------------------------------------------------------------------------- */
/* (g4) 802.1Q-tagged traffic between two guests crosses the bridge */

#ifndef TP_STATUS_VLAN_VALID
#define TP_STATUS_VLAN_VALID (1 << 4)
#endif

/* A packet socket on a tap that sees every frame, with the VLAN tag the kernel keeps apart. */
static int sniff_open(const char *ifname) {
        struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
        int fd, one = 1, buf = 4 << 20;

        fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL));
        g_assert_cmpint(fd, >=, 0);
        sa.sll_ifindex = (int) if_nametoindex(ifname);
        g_assert_cmpint(sa.sll_ifindex, >, 0);
        g_assert_cmpint(setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf), ==, 0);
        g_assert_cmpint(setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof one), ==, 0);
        g_assert_cmpint(bind(fd, (struct sockaddr *) &sa, sizeof sa), ==, 0);
        return fd;
}

/* Counts the queued frames with VLAN ID vid: from the guest (into the tap) and to the guest. */
static void sniff_count(int fd, unsigned vid, unsigned *from_guest, unsigned *to_guest) {
        *from_guest = *to_guest = 0;
        for (;;) {
                uint8_t frame[65536];
                union {
                        struct cmsghdr align;
                        uint8_t buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
                } control;
                struct sockaddr_ll from;
                struct iovec iov = { .iov_base = frame, .iov_len = sizeof frame };
                struct msghdr mh = {
                        .msg_name = &from,
                        .msg_namelen = sizeof from,
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = &control,
                        .msg_controllen = sizeof control.buf,
                };
                ssize_t n = recvmsg(fd, &mh, MSG_DONTWAIT);
                int tag = -1;

                if (n < 0) {
                        g_assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
                        return;
                }
                for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
                        if (c->cmsg_level == SOL_PACKET && c->cmsg_type == PACKET_AUXDATA) {
                                struct tpacket_auxdata aux;

                                memcpy(&aux, CMSG_DATA(c), sizeof aux);
                                if (aux.tp_status & TP_STATUS_VLAN_VALID)
                                        tag = aux.tp_vlan_tci & 0xfff;
                        }
                /* a tag left in the frame itself */
                if (tag < 0 && n >= 18 && frame[12] == 0x81 && frame[13] == 0x00)
                        tag = ((frame[14] << 8) | frame[15]) & 0xfff;
                if (tag != (int) vid)
                        continue;
                if (from.sll_pkttype == PACKET_OUTGOING)
                        (*to_guest)++;
                else
                        (*from_guest)++;
        }
}

static void test_vlan(void) {
        g_autofree char *net = net_create("e2e-g4", "vbe2eg4", "10.100.0.1", 0);
        g_autofree char *nic = iface_network("e2e-g4", NULL);
        /* eth0 has no address: the peer is reachable over the VLAN only */
        g_autofree char *xa = guest_xml(
                "gva", NULL, "vb.vlan=100:10.100.100.2/24 vb.action=ping:10.100.100.3:10,wait-poweroff", nic);
        g_autofree char *xb = guest_xml(
                "gvb", NULL, "vb.vlan=100:10.100.100.3/24 vb.action=ping:10.100.100.2:10,wait-poweroff", nic);
        g_autofree char *da = NULL, *db = NULL;
        g_auto(GStrv) ta = NULL, tb = NULL;
        unsigned from_guest, to_guest;
        VbDomainEvents ev;
        int sniff;

        vb_domain_events_start(&ev);
        da = domain_create(xa);
        ta = live_targets(da, 1, "vnet");
        sniff = sniff_open(ta[0]);
        db = domain_create(xb);
        tb = live_targets(db, 1, "vnet");
        assert_tap(ta[0], "vbe2eg4", 0);
        assert_tap(tb[0], "vbe2eg4", 0);

        g_free(expect_result("gva", "ping ", "^VB-RESULT ping ok 10\\.100\\.100\\.3 received=[1-9][0-9]*/10 "));
        g_free(expect_result("gvb", "ping ", "^VB-RESULT ping ok 10\\.100\\.100\\.2 received=[1-9][0-9]*/10 "));
        /* on gva's tap: tagged frames from gva, and tagged frames from gvb that crossed the bridge */
        sniff_count(sniff, 100, &from_guest, &to_guest);
        close(sniff);
        if (from_guest == 0 || to_guest == 0)
                g_error("VLAN 100 frames on %s: %u from the guest, %u to it", ta[0], from_guest, to_guest);
        g_test_message("VLAN 100 frames on %s: %u from gva, %u to gva", ta[0], from_guest, to_guest);

        wait_waiting("gva");
        wait_waiting("gvb");
        shutdown_and_wait(&ev, da, "gva");
        shutdown_and_wait(&ev, db, "gvb");
        assert_domain_gone(da, "gva");
        assert_domain_gone(db, "gvb");
        assert_links_gone(ta);
        assert_links_gone(tb);
        net_destroy(net);
        vb_domain_events_stop(&ev);
        assert_clean();
}

/* ---------------------------------------------------------------------------------------------- */
/* (h) QoS floor under real traffic: the host saturates the bridge toward two guests on a network
 * with an inbound average; the guest with a floor gets it, the other the rest */

#define QOS_NET_AVERAGE 2000 /* KiB/s in libvirt's units: tc's kbps, 1000 bytes/s */
#define QOS_FLOOR 1200
#define QOS_SEND_SECONDS "8"
#define QOS_FRAME_OVERHEAD 42 /* Ethernet 14 + IPv4 20 + UDP 8: what HTB counts beyond the payload */

typedef struct Received {
        guint64 bytes, packets;
        double seconds;
} Received;

static Received parse_received(const char *line) {
        g_autoptr(GRegex) re = g_regex_new("bytes=([0-9]+) packets=([0-9]+) seconds=([0-9.]+)", 0, 0, NULL);
        g_autoptr(GMatchInfo) mi = NULL;
        g_autofree char *b = NULL, *p = NULL, *s = NULL;

        if (!g_regex_match(re, line, 0, &mi))
                g_error("cannot read \"%s\"", line);
        b = g_match_info_fetch(mi, 1);
        p = g_match_info_fetch(mi, 2);
        s = g_match_info_fetch(mi, 3);
        return (Received) { g_ascii_strtoull(b, NULL, 10), g_ascii_strtoull(p, NULL, 10), g_ascii_strtod(s, NULL) };
}

/* Frame bytes per second: what the shaper measures. */
static double wire_rate(const Received *r) {
        g_assert_cmpfloat(r->seconds, >, 1.0);
        return (r->bytes + r->packets * QOS_FRAME_OVERHEAD) / r->seconds;
}

static GPid host_send(const char *addr) {
        g_autofree char *vbnet = g_build_filename(guest_dir, "vbnet", NULL);
        const char *argv[] = { vbnet, "udp-send", addr, "5001", QOS_SEND_SECONDS, NULL };
        GError *error = NULL;
        GPid pid;

        g_spawn_async(NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                      &pid, &error);
        g_assert_no_error(error);
        return pid;
}

static void host_wait(GPid pid) {
        int status;

        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);
        g_spawn_close_pid(pid);
}

static void test_qos_floor(void) {
        g_autofree char *xml_net = g_strdup_printf("<network><name>e2e-h</name><bridge name='vbe2eh' stp='off' delay='0'/>"
                                                   "<bandwidth><inbound average='%u'/></bandwidth>"
                                                   "<ip address='10.101.0.1' prefix='24'/></network>",
                                                   QOS_NET_AVERAGE);
        g_autofree char *floor_bw = g_strdup_printf("<bandwidth><inbound floor='%u'/></bandwidth>", QOS_FLOOR);
        g_autofree char *nic_f = iface_network("e2e-h", floor_bw), *nic_o = iface_network("e2e-h", NULL);
        g_autofree char *xf = guest_xml("ghf", NULL, "vb.ip=10.101.0.2/24 vb.action=udp-recv:5001:60", nic_f);
        g_autofree char *xo = guest_xml("gho", NULL, "vb.ip=10.101.0.3/24 vb.action=udp-recv:5001:60", nic_o);
        g_autofree char *net = NULL, *df = NULL, *dof = NULL, *lf = NULL, *lo = NULL, *sf = NULL, *so = NULL;
        g_auto(GStrv) tf = NULL, to = NULL;
        Bandwidth bw = { .inbound = { .set = true, .average = QOS_NET_AVERAGE } };
        VbFloor floor = { .class_id = 3, .inbound = { .set = true, .floor = QOS_FLOOR } };
        guint64 class_bytes_floor = 0, class_bytes_default = 0;
        double rf, ro, floor_bytes = QOS_FLOOR * 1000.0, avg_bytes = QOS_NET_AVERAGE * 1000.0;
        VbDomainEvents ev;
        GPid pf, po;

        net = call_path(VB_CONNECT_PATH, CONNECT_IFACE, "NetworkCreateXML", g_variant_new("(s)", xml_net));
        vb_domain_events_start(&ev);
        df = domain_create(xf);
        dof = domain_create(xo);
        tf = live_targets(df, 1, "vnet");
        to = live_targets(dof, 1, "vnet");
        {
                g_autofree char *live = domain_xml_desc(df, 0);

                floor.mac = vb_xml_mac(live, 0);
        }
        /* the floor is in the kernel: class 1:3, the default class has the rest */
        vb_assert_bridge_qos("vbe2eh", &bw, &floor, 1);
        g_assert_cmpuint(vb_default_class_rate("vbe2eh"), ==, (QOS_NET_AVERAGE - QOS_FLOOR) * 1000);

        g_free(expect_result("ghf", "udp-recv listening", "^VB-RESULT udp-recv listening port=5001"));
        g_free(expect_result("gho", "udp-recv listening", "^VB-RESULT udp-recv listening port=5001"));

        /* both at full speed at once, from the bridge side */
        pf = host_send("10.101.0.2");
        po = host_send("10.101.0.3");
        host_wait(pf);
        host_wait(po);
        {
                g_autofree NetdevClass *classes = NULL;
                NetdevLink br;
                size_t n = 0;

                g_assert_cmpint(netdev_link_lookup("vbe2eh", &br), ==, 0);
                g_assert_cmpint(netdev_class_list(br.ifindex, &classes, &n), ==, 0);
                for (size_t i = 0; i < n; i++) {
                        if (classes[i].handle == QOS_FLOOR_CLASS(3))
                                class_bytes_floor = classes[i].stats.bytes;
                        if (classes[i].handle == QOS_DEFAULT_CLASS)
                                class_bytes_default = classes[i].stats.bytes;
                }
        }

        lf = expect_result("ghf", "udp-recv (ok|fail)", "^VB-RESULT udp-recv ok ");
        lo = expect_result("gho", "udp-recv (ok|fail)", "^VB-RESULT udp-recv ok ");
        {
                Received a = parse_received(lf), b = parse_received(lo);

                rf = wire_rate(&a);
                ro = wire_rate(&b);
                g_test_message("floor guest: %.0f bytes/s on the wire (%.1f%% of its floor of %.0f), %.1f KiB/s of payload "
                               "over %.2f s",
                               rf, 100 * rf / floor_bytes, floor_bytes, a.bytes / 1024.0 / a.seconds, a.seconds);
                g_test_message("other guest: %.0f bytes/s on the wire (%.1f%% of the rest, %.0f), %.1f KiB/s of payload "
                               "over %.2f s",
                               ro, 100 * ro / (avg_bytes - floor_bytes), avg_bytes - floor_bytes, b.bytes / 1024.0 / b.seconds,
                               b.seconds);
                g_test_message("together %.0f bytes/s of the network's %.0f; HTB sent %" G_GUINT64_FORMAT
                               " bytes through 1:3, %" G_GUINT64_FORMAT " through 1:2",
                               rf + ro, avg_bytes, class_bytes_floor, class_bytes_default);
        }
        /* the guarantee, the rest to the other, the network's cap on both together */
        g_assert_cmpfloat(rf, >=, 0.95 * floor_bytes);
        g_assert_cmpfloat(ro, >=, 0.80 * (avg_bytes - floor_bytes));
        g_assert_cmpfloat(rf + ro, <=, 1.05 * avg_bytes);
        g_assert_cmpuint(class_bytes_floor, >, 0);
        g_assert_cmpuint(class_bytes_default, >, 0);

        vb_domain_events_expect(&ev, df, EV_STOPPED, DETAIL_STOPPED_SHUTDOWN, STOP_TIMEOUT);
        vb_domain_events_expect(&ev, dof, EV_STOPPED, DETAIL_STOPPED_SHUTDOWN, STOP_TIMEOUT);
        assert_domain_gone(df, "ghf");
        assert_domain_gone(dof, "gho");
        assert_links_gone(tf);
        assert_links_gone(to);
        vb_assert_bridge_qos("vbe2eh", &bw, NULL, 0);
        net_destroy(net);
        vb_domain_events_stop(&ev);
        assert_clean();
}

/* ---------------------------------------------------------------------------------------------- */

/* Build the guest, or find it cached (~20 ms). Inside the sandbox there is no network: a first
 * build (which downloads the kernel package) must have happened outside, as guest-smoke does. */
static void build_guest(void) {
        const char *build = g_getenv("VB_GUEST_BUILD");
        const char *argv[] = { build, guest_dir, NULL };
        g_autofree char *out = NULL, *err = NULL;
        GError *error = NULL;
        int status;

        if (!build || !guest_dir)
                g_error("VB_GUEST_BUILD and VB_GUEST_DIR must be set (tests/guest/meson.build: test_guest_env)");
        g_spawn_sync(NULL, (char **) argv, NULL, 0, NULL, NULL, &out, &err, &status, &error);
        g_assert_no_error(error);
        if (!g_spawn_check_wait_status(status, NULL))
                g_error("%s %s failed (inside the sandbox it cannot download; build the guest first, e.g. "
                        "meson test -C BUILD guest-smoke):\n%s%s",
                        build, guest_dir, out, err);
}

int main(int argc, char **argv) {
        g_test_init(&argc, &argv, NULL);

        if (!g_getenv("VIRTBUS_SANDBOX_DIR"))
                g_error("run this inside tests/lib/sandbox (meson test --suite e2e does)");
        guest_dir = g_getenv("VB_GUEST_DIR");
        build_guest();

        g_test_add_func("/e2e/network/ping-bridge", test_ping_bridge);
        g_test_add_func("/e2e/network/two-guests", test_two_guests);
        g_test_add_func("/e2e/direct/macvtap-veth", test_direct_macvtap);
        g_test_add_func("/e2e/lifecycle/shutdown", test_shutdown);
        g_test_add_func("/e2e/qemu/txmode", test_txmode);
        g_test_add_func("/e2e/daemon/kill-restart", test_daemon_restart);
        g_test_add_func("/e2e/network/mtu-9000", test_mtu_9000);
        g_test_add_func("/e2e/network/two-networks", test_two_networks);
        g_test_add_func("/e2e/network/multicast", test_multicast);
        g_test_add_func("/e2e/network/vlan", test_vlan);
        g_test_add_func("/e2e/qos/floor", test_qos_floor);
        return g_test_run();
}
