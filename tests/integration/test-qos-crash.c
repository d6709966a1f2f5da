/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Crash safety of the QoS books (design/architecture.md, "State"): guests with floors are started
 * and destroyed over and over while virtbusd is killed with SIGKILL at random moments of those
 * calls (0–200 ms after issuing them, so anywhere from the admission check to the last status
 * write), then started again. After every restart, once the guests settled, the kernel (classes,
 * leaves and filters on the bridge, shaping of the taps, IFBs), the network status (class-id
 * bitmap, floor sum), the domains' status files (alias ↔ class id) and Network1 must agree: no
 * class leaked, none missing, no id given twice. Bounded by time (VB_QOS_CRASH_SECONDS, default
 * 70) and iterations. Runs inside tests/lib/sandbox. */

#include <signal.h>

#include "vb-qos.h"
#include "vb-test.h"

#define CONNECT_IFACE "org.libvirt.Connect"
#define DOMAIN_IFACE "org.libvirt.Domain"
#define NET_IFACE "org.libvirt.Network"
#define NET1_IFACE "org.virtbus.Network1"

#define N_DOMAINS 3
#define MAX_ITERATIONS 400
#define SETTLE_TIMEOUT_US (20 * G_USEC_PER_SEC)

typedef struct Guest {
        const char *name;
        const char *mac;
        Bandwidth bw;
        const char *bandwidth_xml;
        char *path;
} Guest;

static Guest guests[N_DOMAINS] = {
        { "c0", "52:54:00:00:c0:01", { .inbound = { true, 0, 0, 0, 500 } }, "<inbound floor='500'/>" },
        { "c1", "52:54:00:00:c1:01", { .inbound = { true, 800, 0, 0, 700 }, .outbound = { true, 400, 0, 0, 0 } },
          "<inbound average='800' floor='700'/><outbound average='400'/>" },
        { "c2", "52:54:00:00:c2:01", { .inbound = { true, 1000, 2000, 0, 900 } },
          "<inbound average='1000' peak='2000' floor='900'/>" },
};
static const Bandwidth net_bw = { .inbound = { true, 3000, 0, 0, 0 } };

typedef struct Stats {
        unsigned iterations, kills, kills_create, kills_destroy, clean_calls;
        unsigned released_ids, forgotten_records, recreated_classes, orphan_classes, dead_guests, orphan_qemus;
        unsigned max_active;
        unsigned delays[4]; /* kills < 5 ms, < 20 ms, < 50 ms, ≤ 200 ms after the call */
} Stats;

static pid_t daemon_pid(void) {
        g_autofree char *s = vb_sandbox_read("virtbusd.pid");
        pid_t pid = (pid_t) g_ascii_strtoll(s, NULL, 10);

        g_assert_cmpint(pid, >, 1);
        return pid;
}

/* ---- processes ---- */

/* Every live QEMU of guest `name` (an orphan of a start cut short may run beside nothing). */
static GArray *qemu_pids(const char *name) {
        g_autofree char *exact = g_strdup_printf("guest=%s", name), *prefix = g_strdup_printf("guest=%s,", name);
        GArray *pids = g_array_new(FALSE, FALSE, sizeof(pid_t));
        GDir *d = g_dir_open("/proc", 0, NULL);
        const char *n;

        g_assert_nonnull(d);
        while ((n = g_dir_read_name(d))) {
                g_autofree char *path = NULL, *c = NULL;
                gsize len = 0;
                pid_t pid;

                if (!g_ascii_isdigit(n[0]))
                        continue;
                pid = (pid_t) g_ascii_strtoll(n, NULL, 10);
                path = g_strdup_printf("/proc/%d/cmdline", (int) pid);
                if (!g_file_get_contents(path, &c, &len, NULL) || !vb_process_alive(pid))
                        continue;
                for (gsize i = 0; i < len; i += strlen(c + i) + 1)
                        if (g_str_equal(c + i, exact) || g_str_has_prefix(c + i, prefix)) {
                                g_array_append_val(pids, pid);
                                break;
                        }
        }
        g_dir_close(d);
        return pids;
}

/* ---- D-Bus ---- */

static int domain_state(const Guest *g) {
        g_autoptr(GVariant) r = vb_call_ok(g->path, DOMAIN_IFACE, "GetState", g_variant_new("(u)", 0));
        int state, reason;

        g_variant_get(r, "((ii))", &state, &reason);
        return state;
}

static char *live_target(const Guest *g) {
        g_autoptr(GVariant) r = vb_call_ok(g->path, DOMAIN_IFACE, "GetXMLDesc", g_variant_new("(u)", 0));
        g_autoptr(GRegex) re = g_regex_new("<target dev='([^']+)'/>", 0, 0, NULL);
        g_autoptr(GMatchInfo) mi = NULL;
        const char *xml;

        g_variant_get(r, "(&s)", &xml);
        if (!g_regex_match(re, xml, 0, &mi))
                g_error("no target dev in the live XML of %s:\n%s", g->name, xml);
        return g_match_info_fetch(mi, 1);
}

/* ---- the check ---- */

static gsize log_offset;

static unsigned count(const char *log, const char *needle) {
        unsigned n = 0;

        for (const char *p = log; (p = strstr(p, needle)); p += strlen(needle))
                n++;
        return n;
}

/* What the daemon logged since the last check: which recoveries happened. */
static void count_recoveries(Stats *st) {
        g_autofree char *log = vb_sandbox_read("virtbusd.log");
        const char *since = log + MIN(log_offset, strlen(log));

        st->released_ids += count(since, "was allocated to no interface; released");
        st->forgotten_records += count(since, "is not (or no longer) allocated to it; forgetting it");
        st->recreated_classes += count(since, "missing or changed; setting it up again");
        st->orphan_classes += count(since, "no interface has it");
        st->dead_guests += count(since, "died while virtbusd was away");
        log_offset = strlen(log);
}

/* Until every guest is running with its QEMU or shut off without one (orphans of a start cut
 * short — QEMU spawned, its pid not yet saved — are killed here: the daemon rightly disowned
 * them). */
static void settle(Stats *st) {
        gint64 end = g_get_monotonic_time() + SETTLE_TIMEOUT_US;

        for (;;) {
                gboolean settled = TRUE;

                for (size_t i = 0; i < N_DOMAINS; i++) {
                        g_autoptr(GArray) pids = qemu_pids(guests[i].name);
                        int state = domain_state(&guests[i]);

                        if (state == 5 && pids->len > 0) {
                                for (guint k = 0; k < pids->len; k++)
                                        (void) kill(g_array_index(pids, pid_t, k), SIGKILL);
                                st->orphan_qemus += pids->len;
                                settled = FALSE;
                        } else if (state != 5 && (state != 1 || pids->len != 1))
                                settled = FALSE;
                }
                if (settled)
                        return;
                if (g_get_monotonic_time() > end) {
                        for (size_t i = 0; i < N_DOMAINS; i++) {
                                g_autoptr(GArray) pids = qemu_pids(guests[i].name);

                                g_test_message("%s: state %d, %u QEMU", guests[i].name, domain_state(&guests[i]), pids->len);
                        }
                        g_error("the guests did not settle");
                }
                g_usleep(20000);
        }
}

/* Kernel, status files and Network1 agree. */
static void check_books(const char *net, Stats *st) {
        VbFloor floors[N_DOMAINS];
        ClassIdBitmap want_ids, ids;
        g_autoptr(GString) want_links = g_string_new("vbqc");
        g_autofree char *links = NULL;
        uint64_t want_sum = 0, sum;
        size_t n = 0;
        unsigned active = 0;

        class_id_bitmap_init(&want_ids);
        for (size_t i = 0; i < N_DOMAINS; i++) {
                Guest *g = &guests[i];
                g_autoptr(GArray) rec = NULL;
                gboolean has_status = vb_domain_class_records(g->name, &rec);

                if (domain_state(g) != 1) {
                        if (has_status)
                                g_error("%s is shut off but has a status file", g->name);
                        continue;
                }
                active++;
                g_assert_true(has_status);
                if (rec->len != 1)
                        g_error("%s runs with %u class records", g->name, rec->len);
                {
                        VbClassRecord *r = &g_array_index(rec, VbClassRecord, 0);
                        g_autofree char *tap = live_target(g);
                        QosDevicePlan p;
                        g_autofree char *error = NULL;

                        g_assert_cmpstr(r->alias, ==, "net0");
                        g_assert_cmpstr(r->network, ==, "qc");
                        g_assert_cmpuint(r->floor, ==, g->bw.inbound.floor);
                        /* no id twice */
                        if (class_id_bitmap_set(&want_ids, r->id) < 0)
                                g_error("class id %u given twice (%s)", r->id, g->name);
                        floors[n++] = (VbFloor) { .class_id = r->id, .inbound = g->bw.inbound };
                        g_assert_cmpint(ether_addr_parse(g->mac, &floors[n - 1].mac), ==, 0);
                        want_sum += r->floor;

                        /* the tap: shaped as its bandwidth says (IFB included) */
                        g_assert_cmpint(qos_plan_device(&g->bw, QOS_DEVICE_TAP, vb_qos_caps(), &p, &error), ==, 0);
                        vb_assert_device_qos(tap, &p);
                        g_string_append_printf(want_links, " %s", tap);
                        if (p.ingress.mode == QOS_INGRESS_IFB) {
                                char ifb[IFNAMSIZ];
                                NetdevLink l;

                                g_assert_cmpint(netdev_link_lookup(tap, &l), ==, 0);
                                g_assert_cmpint(qos_ifb_name(l.ifindex, ifb), ==, 0);
                                g_string_append_printf(want_links, " %s", ifb);
                        }
                }
        }
        st->max_active = MAX(st->max_active, active);

        /* the kernel has exactly the floors the domains have */
        vb_assert_bridge_qos("vbqc", &net_bw, floors, n);
        /* the network's books */
        g_assert_true(vb_network_status("qc", &ids, &sum));
        if (!class_id_bitmap_equal(&ids, &want_ids)) {
                g_autofree char *a = class_id_bitmap_format(&ids), *b = class_id_bitmap_format(&want_ids);
                g_error("network status has class ids %s, the domains %s", a, b);
        }
        g_assert_cmpuint(sum, ==, want_sum);
        {
                g_autoptr(GVariant) v = vb_get_property(net, NET1_IFACE, "FloorSum");
                g_autoptr(GVariant) a = vb_get_property(net, NET1_IFACE, "Allocations");

                g_assert_cmpuint(g_variant_get_uint64(v), ==, want_sum);
                g_assert_cmpuint(g_variant_n_children(a), ==, n);
        }
        /* nothing else exists: no tap, macvtap or IFB left behind */
        links = vb_link_listing();
        {
                g_auto(GStrv) have = g_strsplit(links, " ", -1), want = g_strsplit(want_links->str, " ", -1);

                g_assert_cmpuint(g_strv_length(have), ==, g_strv_length(want));
                for (char **w = want; *w; w++)
                        if (!g_strv_contains((const char *const *) have, *w))
                                g_error("links: %s, expected %s", links, want_links->str);
        }
}

/* ---- the test ---- */

static void test_crash(void) {
        const char *env = g_getenv("VB_QOS_CRASH_SECONDS");
        gint64 budget = (env ? g_ascii_strtoll(env, NULL, 10) : 70) * G_USEC_PER_SEC;
        gint64 start = g_get_monotonic_time();
        g_autoptr(GRand) rand = NULL;
        g_autofree char *net = NULL;
        guint32 seed;
        Stats st = {};

        seed = g_test_rand_int();
        rand = g_rand_new_with_seed(seed);
        g_test_message("seed %u", seed);

        {
                g_autoptr(GVariant) r = vb_call_ok(
                        VB_CONNECT_PATH, CONNECT_IFACE, "NetworkDefineXML",
                        g_variant_new("(s)", "<network><name>qc</name><bridge name='vbqc' stp='off' delay='0'/>"
                                             "<bandwidth><inbound average='3000'/></bandwidth></network>"));
                g_variant_get(r, "(o)", &net);
                g_variant_unref(vb_call_ok(net, NET_IFACE, "Create", NULL));
        }
        for (size_t i = 0; i < N_DOMAINS; i++) {
                g_autofree char *xml = g_strdup_printf(
                        "<domain type='qemu'><name>%s</name><memory unit='MiB'>64</memory><os><type>hvm</type></os>"
                        "<devices><interface type='network'><source network='qc'/><mac address='%s'/>"
                        "<bandwidth>%s</bandwidth></interface></devices></domain>",
                        guests[i].name, guests[i].mac, guests[i].bandwidth_xml);
                g_autoptr(GVariant) r = vb_call_ok(VB_CONNECT_PATH, CONNECT_IFACE, "DomainDefineXML", g_variant_new("(s)", xml));

                g_variant_get(r, "(o)", &guests[i].path);
        }
        check_books(net, &st);

        while (st.iterations < MAX_ITERATIONS && g_get_monotonic_time() - start < budget) {
                Guest *g = &guests[g_rand_int_range(rand, 0, N_DOMAINS)];
                gboolean create = domain_state(g) != 1;
                /* one call in five runs to its end: the guests must also get somewhere */
                gboolean kill_it = g_rand_int_range(rand, 0, 5) != 0;
                /* 0–200 ms, denser near 0 where a call does its work (u³: a third below 10 ms) */
                double u = g_rand_double(rand);
                guint delay_us = (guint) (200000 * u * u * u);

                st.iterations++;
                if (!kill_it) {
                        GError *error = NULL;
                        GVariant *r = vb_call(g->path, DOMAIN_IFACE, create ? "Create" : "Destroy",
                                              g_variant_new("(u)", 0), &error);

                        if (r)
                                g_variant_unref(r);
                        else
                                g_error("%s of %s failed: %s", create ? "Create" : "Destroy", g->name, error->message);
                        st.clean_calls++;
                        check_books(net, &st);
                        continue;
                }

                /* issued, not waited for: the daemon dies somewhere inside it */
                g_dbus_connection_call(vb_bus(), VB_BUS_NAME, g->path, DOMAIN_IFACE, create ? "Create" : "Destroy",
                                       g_variant_new("(u)", 0), NULL, G_DBUS_CALL_FLAGS_NONE, 30000, NULL, NULL, NULL);
                g_dbus_connection_flush_sync(vb_bus(), NULL, NULL);
                g_usleep(delay_us);
                /* SIGKILL right now (the sandbox's kill-daemon, a shell away, only waits for the end) */
                g_assert_cmpint(kill(daemon_pid(), SIGKILL), ==, 0);
                vb_sandbox_ctl("kill-daemon");
                st.kills++;
                st.delays[delay_us < 5000 ? 0 : delay_us < 20000 ? 1 : delay_us < 50000 ? 2 : 3]++;
                if (create)
                        st.kills_create++;
                else
                        st.kills_destroy++;
                vb_sandbox_ctl("start-daemon");
                vb_iterate();
                settle(&st);
                count_recoveries(&st);
                check_books(net, &st);
        }

        g_test_message("%u iterations in %.1f s: %u kills (%u during Create, %u during Destroy; %u < 5 ms, %u 5-20 ms, "
                       "%u 20-50 ms, %u 50-200 ms after the call), %u calls run to their end; at most %u guests with "
                       "floors at once",
                       st.iterations, (g_get_monotonic_time() - start) / 1e6, st.kills, st.kills_create, st.kills_destroy,
                       st.delays[0], st.delays[1], st.delays[2], st.delays[3], st.clean_calls, st.max_active);
        g_test_message("recoveries at start-up: %u unreferenced class ids released, %u stale records dropped, %u classes "
                       "re-created, %u orphan classes removed, %u guests found dead, %u orphan QEMUs of starts cut short",
                       st.released_ids, st.forgotten_records, st.recreated_classes, st.orphan_classes, st.dead_guests,
                       st.orphan_qemus);
        g_assert_cmpuint(st.kills, >=, 20);

        for (size_t i = 0; i < N_DOMAINS; i++)
                if (domain_state(&guests[i]) == 1)
                        g_variant_unref(vb_call_ok(guests[i].path, DOMAIN_IFACE, "Destroy", g_variant_new("(u)", 0)));
        check_books(net, &st);
        vb_assert_bridge_qos("vbqc", &net_bw, NULL, 0);
        for (size_t i = 0; i < N_DOMAINS; i++) {
                g_variant_unref(vb_call_ok(guests[i].path, DOMAIN_IFACE, "Undefine", g_variant_new("(u)", 0)));
                g_free(guests[i].path);
        }
        g_variant_unref(vb_call_ok(net, NET_IFACE, "Destroy", NULL));
        g_variant_unref(vb_call_ok(net, NET_IFACE, "Undefine", NULL));
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/qos/crash", test_crash);
        return g_test_run();
}
