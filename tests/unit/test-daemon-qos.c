/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The daemon's QoS helpers that need no bus and no kernel: libvirt's merge of typed bandwidth
 * parameters, their check against the XML rules, and the domain status' class-id records. */

#include <glib.h>

#include "bandwidth-params.h"
#include "domain-driver.h"
#include "domain-status.h"

static BandwidthRate rate(uint64_t average, uint64_t peak, uint64_t burst, uint64_t floor) {
        return (BandwidthRate) { .set = true, .average = average, .peak = peak, .burst = burst, .floor = floor };
}

static void assert_rate(const BandwidthRate *a, const BandwidthRate *b) {
        g_assert_cmpint(a->set, ==, b->set);
        g_assert_cmpuint(a->average, ==, b->average);
        g_assert_cmpuint(a->peak, ==, b->peak);
        g_assert_cmpuint(a->burst, ==, b->burst);
        g_assert_cmpuint(a->floor, ==, b->floor);
}

static void test_merge(void) {
        const Bandwidth old = { .inbound = rate(1000, 2000, 64, 300), .outbound = rate(500, 0, 32, 0) };
        const BandwidthRate none = {};
        BandwidthUpdate u;
        Bandwidth b;

        /* nothing named: nothing changes */
        u = (BandwidthUpdate) {};
        bandwidth_update_merge(&u, &old, &b);
        assert_rate(&b.inbound, &old.inbound);
        assert_rate(&b.outbound, &old.outbound);

        /* a direction named by any key is replaced as a whole: peak, burst and floor go */
        u = (BandwidthUpdate) { .inbound_specified = true, .inbound = { .average = 700 } };
        bandwidth_update_merge(&u, &old, &b);
        {
                BandwidthRate want = rate(700, 0, 0, 0);
                assert_rate(&b.inbound, &want);
        }
        assert_rate(&b.outbound, &old.outbound);

        /* a floor alone is an inbound of its own */
        u = (BandwidthUpdate) { .inbound_specified = true, .inbound = { .floor = 10 } };
        bandwidth_update_merge(&u, &old, &b);
        {
                BandwidthRate want = rate(0, 0, 0, 10);
                assert_rate(&b.inbound, &want);
        }

        /* without average (or floor) the direction is cleared, even with peak or burst given */
        u = (BandwidthUpdate) { .inbound_specified = true, .inbound = { .peak = 5000 },
                                .outbound_specified = true, .outbound = { .burst = 8 } };
        bandwidth_update_merge(&u, &old, &b);
        assert_rate(&b.inbound, &none);
        assert_rate(&b.outbound, &none);
        g_assert_false(bandwidth_is_set(&b));
}

static void expect_check(const Bandwidth *bw, bool allow_floor, const char *error) {
        _cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
        int r = bandwidth_check(bw, allow_floor, &e);

        if (!error) {
                if (r < 0)
                        g_error("refused: %s", e.message);
                return;
        }
        g_assert_cmpint(r, <, 0);
        g_assert_cmpstr(e.name, ==, "org.libvirt.Error");
        if (!strstr(e.message, error))
                g_error("\"%s\" does not contain \"%s\"", e.message, error);
}

static void test_check(void) {
        expect_check(&(Bandwidth) {}, false, NULL);
        expect_check(&(Bandwidth) { .inbound = rate(1000, 2000, 64, 0) }, false, NULL);
        expect_check(&(Bandwidth) { .inbound = rate(1000, 0, 0, 300) }, true, NULL);
        expect_check(&(Bandwidth) { .inbound = rate(0, 0, 0, 300) }, true, NULL);
        expect_check(&(Bandwidth) { .inbound = rate(100, 50, 0, 0) }, false,
                     "XML error: peak '50' on <inbound> in <bandwidth> is less than average '100'");
        expect_check(&(Bandwidth) { .inbound = rate(1000, 0, 0, 300) }, false,
                     "unsupported configuration: floor is supported only on <inbound> of interfaces of type 'network'");
        expect_check(&(Bandwidth) { .outbound = rate(1000, 0, 0, 300) }, true,
                     "XML error: floor is not supported on <outbound>, only on <inbound>");
        expect_check(&(Bandwidth) { .inbound = rate(0, 10, 0, 300) }, true, "peak and burst on <inbound>");
        expect_check(&(Bandwidth) { .outbound = rate(UINT64_C(1) << 32, 0, 0, 0) }, false,
                     "invalid average '4294967296' on <outbound>");
}

static const char live_xml[] =
        "<domain type='qemu' id='3'><name>q</name><uuid>0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3</uuid>"
        "<memory>65536</memory><os><type>hvm</type></os><devices>"
        "<interface type='network'><source network='lan'/><mac address='52:54:00:00:00:01'/><target dev='vnet0'/>"
        "<bandwidth><inbound average='100' floor='50'/></bandwidth><alias name='net0'/></interface>"
        "<interface type='network'><source network='lan'/><mac address='52:54:00:00:00:02'/><target dev='vnet1'/>"
        "<alias name='net1'/></interface>"
        "<interface type='bridge'><source bridge='br0'/><mac address='52:54:00:00:00:03'/><target dev='vnet2'/>"
        "<alias name='net2'/></interface>"
        "</devices></domain>";

static char *status_with(const char *classes) {
        return g_strdup_printf("<domstatus state='1' reason='1' pid='42' qmp='/run/q.qmp'>%s%s</domstatus>", classes, live_xml);
}

static void test_status_floors(void) {
        _cleanup_(domain_status_freep) DomainStatus *st = NULL, *back = NULL;
        _cleanup_free_ char *out = NULL, *error = NULL;
        g_autofree char *xml = status_with("<class alias='net0' network='lan' id='7' floor='50'/>");

        g_assert_cmpint(domain_status_parse(xml, &st, &error), ==, 0);
        g_assert_null(error);
        g_assert_nonnull(st->floors);
        g_assert_cmpuint(st->floors[0].class_id, ==, 7);
        g_assert_cmpuint(st->floors[0].floor, ==, 50);
        g_assert_cmpuint(st->floors[1].class_id, ==, 0);
        g_assert_cmpuint(st->floors[2].class_id, ==, 0);

        /* written back before the domain, read back the same */
        st->floors[1] = (DomainNetFloor) { .class_id = 65534, .floor = 4294967295u };
        out = domain_status_format(st);
        g_assert_nonnull(strstr(out, "'>\n  <class alias='net0' network='lan' id='7' floor='50'/>\n"
                                     "  <class alias='net1' network='lan' id='65534' floor='4294967295'/>\n<domain"));
        g_assert_cmpint(domain_status_parse(out, &back, &error), ==, 0);
        g_assert_cmpuint(back->floors[0].class_id, ==, 7);
        g_assert_cmpuint(back->floors[1].class_id, ==, 65534);
        g_assert_cmpuint(back->floors[1].floor, ==, 4294967295u);

        /* none: no records, no array */
        {
                _cleanup_(domain_status_freep) DomainStatus *plain = NULL;
                g_autofree char *x = status_with("");

                g_assert_cmpint(domain_status_parse(x, &plain, NULL), ==, 0);
                g_assert_null(plain->floors);
        }
}

static void test_status_floors_invalid(void) {
        static const struct {
                const char *classes, *error;
        } cases[] = {
                { "<class alias='net9' network='lan' id='3' floor='1'/>", "which the domain does not have" },
                { "<class alias='net0' network='wan' id='3' floor='1'/>", "is not on network 'wan'" },
                { "<class alias='net2' network='br0' id='3' floor='1'/>", "is not on network" },
                { "<class alias='net0' network='lan' id='2' floor='1'/>", "invalid class id '2'" },
                { "<class alias='net0' network='lan' id='65535' floor='1'/>", "invalid class id '65535'" },
                { "<class alias='net0' network='lan' id='x' floor='1'/>", "invalid class id 'x'" },
                { "<class alias='net0' network='lan' id='3' floor='0'/>", "invalid floor '0'" },
                { "<class alias='net0' network='lan' id='3' floor='4294967296'/>", "invalid floor" },
                { "<class alias='net0' network='lan' id='3'/>", "needs alias, network, id and floor" },
                { "<class alias='net0' network='lan' id='3' floor='1' x='1'/>", "unknown attribute 'x'" },
                { "<class alias='net0' network='lan' id='3' floor='1'><y/></class>", "must be empty" },
                { "<class alias='net0' network='lan' id='3' floor='1'/><class alias='net0' network='lan' id='4' floor='1'/>",
                  "two <class> elements for interface net0" },
                { "<class alias='net0' network='lan' id='3' floor='1'/><class alias='net1' network='lan' id='3' floor='1'/>",
                  "class id 3 used twice" },
                { "<other/>", "exactly one <domain>" },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                _cleanup_(domain_status_freep) DomainStatus *st = NULL;
                _cleanup_free_ char *error = NULL;
                g_autofree char *xml = status_with(cases[i].classes);

                g_assert_cmpint(domain_status_parse(xml, &st, &error), <, 0);
                g_assert_null(st);
                if (!error || !strstr(error, cases[i].error))
                        g_error("%s: got \"%s\", expected \"%s\"", cases[i].classes, strna(error), cases[i].error);
        }
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/daemon-qos/merge", test_merge);
        g_test_add_func("/daemon-qos/check", test_check);
        g_test_add_func("/daemon-qos/status-floors", test_status_floors);
        g_test_add_func("/daemon-qos/status-floors-invalid", test_status_floors_invalid);
        return g_test_run();
}
