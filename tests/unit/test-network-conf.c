/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Network XML: golden round trips and bad input, from tests/data/networkxml/:
 *   valid/NAME.xml          parse → format must equal valid/NAME.out.xml, and the output must
 *                           reproduce itself byte for byte
 *   invalid/NAME.xml        must fail; invalid/NAME.err holds a substring of the expected message,
 *                           whose prefix ("XML error: " / "unsupported configuration: ") also
 *                           fixes the expected errno (-EBADMSG / -EOPNOTSUPP)
 *   status-valid/, status-invalid/   the same for network status files */
#include <arpa/inet.h>

/* before glib.h: macro.h defines MIN/MAX unconditionally, glib.h #undefs them first */
#include "bandwidth.h"
#include "network-conf.h"
#include "xml-util.h"

#include <glib.h>

typedef enum Kind {
        KIND_NETWORK,
        KIND_STATUS,
} Kind;

static const char *kind_dir(Kind k, bool valid) {
        if (k == KIND_NETWORK)
                return valid ? "valid" : "invalid";
        return valid ? "status-valid" : "status-invalid";
}

static char *read_data(const char *dir, const char *file) {
        g_autofree char *path = g_test_build_filename(G_TEST_DIST, "data", "networkxml", dir, file, NULL);
        g_autoptr(GError) error = NULL;
        char *contents = NULL;

        if (!g_file_get_contents(path, &contents, NULL, &error))
                g_error("%s", error->message);
        return contents;
}

/* Parse and format with the parser of the given kind. Returns the errno-style result. */
static int parse_and_format(Kind k, const char *xml, char **ret_out, char **ret_error) {
        int r;

        *ret_out = NULL;
        if (k == KIND_NETWORK) {
                _cleanup_(network_def_freep) NetworkDef *def = NULL;

                r = network_def_parse(xml, &def, ret_error);
                if (r >= 0) {
                        g_assert_nonnull(def);
                        *ret_out = network_def_format(def);
                        g_assert_nonnull(*ret_out);
                }
        } else {
                _cleanup_(network_status_freep) NetworkStatus *st = NULL;

                r = network_status_parse(xml, &st, ret_error);
                if (r >= 0) {
                        g_assert_nonnull(st);
                        g_assert_nonnull(st->def);
                        *ret_out = network_status_format(st);
                        g_assert_nonnull(*ret_out);
                }
        }
        return r;
}

typedef struct Case {
        Kind kind;
        char *name; /* file name without .xml */
} Case;

static void case_free(gpointer p) {
        Case *c = p;

        g_free(c->name);
        g_free(c);
}

static void test_valid(gconstpointer data) {
        const Case *c = data;
        const char *dir = kind_dir(c->kind, true);
        g_autofree char *in_name = g_strconcat(c->name, ".xml", NULL);
        g_autofree char *out_name = g_strconcat(c->name, ".out.xml", NULL);
        g_autofree char *in = read_data(dir, in_name), *expected = read_data(dir, out_name);
        g_autofree char *out = NULL, *out2 = NULL, *error = NULL;
        int r;

        r = parse_and_format(c->kind, in, &out, &error);
        if (r < 0)
                g_error("%s/%s: unexpected error %d: %s", dir, in_name, r, error);
        g_assert_null(error);
        g_assert_cmpstr(out, ==, expected);

        /* the canonical form is a fixed point */
        r = parse_and_format(c->kind, out, &out2, &error);
        g_assert_cmpint(r, ==, 0);
        g_assert_cmpstr(out2, ==, out);
}

static void check_error(int r, const char *error, const char *expected) {
        const char *prefix;
        int expected_r;

        if (g_str_has_prefix(expected, "XML error: ")) {
                prefix = "XML error: ";
                expected_r = -EBADMSG;
        } else if (g_str_has_prefix(expected, "unsupported configuration: ")) {
                prefix = "unsupported configuration: ";
                expected_r = -EOPNOTSUPP;
        } else
                g_error("expected error '%s' has no known prefix", expected);

        g_assert_nonnull(error);
        if (!strstr(error, expected))
                g_error("error '%s' does not contain '%s'", error, expected);
        g_assert_true(g_str_has_prefix(error, prefix));
        g_assert_cmpint(r, ==, expected_r);
}

static void test_invalid(gconstpointer data) {
        const Case *c = data;
        const char *dir = kind_dir(c->kind, false);
        g_autofree char *in_name = g_strconcat(c->name, ".xml", NULL);
        g_autofree char *err_name = g_strconcat(c->name, ".err", NULL);
        g_autofree char *in = read_data(dir, in_name), *expected = read_data(dir, err_name);
        g_autofree char *out = NULL, *error = NULL;
        int r;

        g_strchomp(expected);
        g_assert_cmpstr(expected, !=, "");

        r = parse_and_format(c->kind, in, &out, &error);
        if (r >= 0)
                g_error("%s/%s: accepted, formatted as:\n%s", dir, in_name, out);
        check_error(r, error, expected);

        /* same verdict without anyone asking for the message */
        g_assert_cmpint(parse_and_format(c->kind, in, &out, NULL), ==, r);
}

static int compare_names(gconstpointer a, gconstpointer b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static void add_cases(Kind k, bool valid) {
        const char *dir = kind_dir(k, valid);
        g_autofree char *path = g_test_build_filename(G_TEST_DIST, "data", "networkxml", dir, NULL);
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GError) error = NULL;
        g_autoptr(GDir) d = NULL;
        const char *f;

        d = g_dir_open(path, 0, &error);
        if (!d)
                g_error("%s", error->message);
        while ((f = g_dir_read_name(d))) {
                if (!g_str_has_suffix(f, ".xml") || g_str_has_suffix(f, ".out.xml"))
                        continue;
                g_ptr_array_add(names, g_strndup(f, strlen(f) - strlen(".xml")));
        }
        g_ptr_array_sort(names, compare_names);
        g_assert_cmpuint(names->len, >, 0);

        for (guint i = 0; i < names->len; i++) {
                Case *c = g_new0(Case, 1);
                g_autofree char *test_path = NULL;

                c->kind = k;
                c->name = g_strdup(names->pdata[i]);
                test_path = g_strdup_printf("/network-conf/%s/%s", dir, c->name);
                g_test_add_data_func_full(test_path, c, valid ? test_valid : test_invalid, case_free);
        }
}

/* ---- bad input that is easier to build than to store ---- */

static void expect_network_error(const char *xml, const char *expected) {
        _cleanup_(network_def_freep) NetworkDef *def = NULL;
        g_autofree char *error = NULL;
        int r;

        r = network_def_parse(xml, &def, &error);
        g_assert_null(def);
        check_error(r, error, expected);
}

static void test_empty(void) {
        expect_network_error("", "XML error: ");
        expect_network_error("   \n\t ", "XML error: ");
        expect_network_error(NULL, "XML error: ");
        expect_network_error("<?xml version='1.0'?>", "XML error: ");
}

static void test_huge(void) {
        g_autoptr(GString) s = g_string_new("<network><name>lan</name><!--");
        _cleanup_(network_def_freep) NetworkDef *def = NULL;
        g_autofree char *error = NULL;

        /* just under the limit still parses: the limit is on size, not on content */
        while (s->len < XML_DOCUMENT_MAX - 64)
                g_string_append(s, "0123456789abcdef");
        g_string_append(s, "--></network>");
        g_assert_cmpuint(s->len, <=, XML_DOCUMENT_MAX);
        g_assert_cmpint(network_def_parse(s->str, &def, &error), ==, 0);
        g_assert_null(error);
        g_assert_cmpstr(def->name, ==, "lan");

        g_string_truncate(s, s->len - strlen("--></network>"));
        while (s->len <= XML_DOCUMENT_MAX)
                g_string_append(s, "0123456789abcdef");
        g_string_append(s, "--></network>");
        expect_network_error(s->str, "XML error: document is larger than 1048576 bytes");
}

static const char rich[] = "<network>"
                           "<name>lan</name>"
                           "<uuid>9a05da11-e96b-47f3-8253-a3a482e445f5</uuid>"
                           "<bridge name='virbr1' stp='on' delay='0'/>"
                           "<mac address='52:54:00:aa:bb:cc'/>"
                           "<mtu size='9000'/>"
                           "<bandwidth><inbound average='1000' peak='5000' burst='1024'/>"
                           "<outbound average='2000'/></bandwidth>"
                           "<ip address='10.0.0.1' netmask='255.255.255.0'/>"
                           "<ip family='ipv6' address='fd00::1' prefix='64'/>"
                           "</network>";

static void test_truncated(void) {
        size_t len = strlen(rich);

        /* every proper prefix of a document is broken; none may crash or be accepted */
        for (size_t l = 0; l < len; l++) {
                _cleanup_(network_def_freep) NetworkDef *def = NULL;
                g_autofree char *s = g_strndup(rich, l), *error = NULL;
                int r;

                r = network_def_parse(s, &def, &error);
                g_assert_cmpint(r, ==, -EBADMSG);
                g_assert_null(def);
                g_assert_true(g_str_has_prefix(error, "XML error: "));
        }
}

static void test_garbage(void) {
        g_autoptr(GRand) rand = g_rand_new_with_seed(4242);

        for (int i = 0; i < 500; i++) {
                _cleanup_(network_def_freep) NetworkDef *def = NULL;
                _cleanup_(network_status_freep) NetworkStatus *st = NULL;
                g_autofree char *error = NULL, *error2 = NULL;
                char buf[257];
                size_t n = g_rand_int_range(rand, 0, sizeof buf);

                for (size_t j = 0; j < n; j++)
                        buf[j] = (char) g_rand_int_range(rand, 1, 256);
                buf[n] = 0;
                if (i % 2) /* garbage inside a plausible frame reaches the element parsers */
                        memcpy(buf, "<network><name>", MIN(n, strlen("<network><name>")));

                g_assert_cmpint(network_def_parse(buf, &def, &error), <, 0);
                g_assert_nonnull(error);
                g_assert_cmpint(network_status_parse(buf, &st, &error2), <, 0);
                g_assert_nonnull(error2);
        }
}

static void test_mutations(void) {
        /* flip each byte of a valid document to a few troublesome characters: every result is
         * either accepted and re-formats to a parseable document, or rejected with a message */
        static const char repl[] = { '<', '>', '\'', '&', '/', '0', 'x', ' ', '-' };
        size_t len = strlen(rich);

        for (size_t i = 0; i < len; i++)
                for (size_t k = 0; k < sizeof repl; k++) {
                        _cleanup_(network_def_freep) NetworkDef *def = NULL, *def2 = NULL;
                        g_autofree char *s = g_strdup(rich), *error = NULL, *out = NULL;
                        int r;

                        s[i] = repl[k];
                        r = network_def_parse(s, &def, &error);
                        if (r < 0) {
                                const char *prefix = r == -EBADMSG ? "XML error: "
                                                                   : "unsupported configuration: ";

                                g_assert_true(r == -EBADMSG || r == -EOPNOTSUPP);
                                g_assert_true(g_str_has_prefix(error, prefix));
                                continue;
                        }
                        out = network_def_format(def);
                        g_assert_nonnull(out);
                        g_assert_cmpint(network_def_parse(out, &def2, NULL), ==, 0);
                }
}

static void test_entities(void) {
        /* user-defined entities need a DTD; no DTD is accepted, so none is ever expanded */
        expect_network_error("<!DOCTYPE network [<!ENTITY n 'lan'>]><network><name>&n;</name></network>",
                             "XML error: document type declarations (<!DOCTYPE>) are not supported");
        expect_network_error("<?xml version='1.0'?>\n"
                             "<!DOCTYPE lolz [<!ENTITY lol 'lol'>"
                             "<!ENTITY lol1 '&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;'>"
                             "<!ENTITY lol2 '&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;'>"
                             "<!ENTITY lol3 '&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;'>"
                             "<!ENTITY lol4 '&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;'>"
                             "<!ENTITY lol5 '&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;'>"
                             "<!ENTITY lol6 '&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;'>"
                             "<!ENTITY lol7 '&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;'>"
                             "<!ENTITY lol8 '&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;'>"
                             "<!ENTITY lol9 '&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;'>"
                             "]>"
                             "<network><name>&lol9;</name><bridge name='&lol9;'/></network>",
                             "XML error: ");
        expect_network_error("<!DOCTYPE network SYSTEM 'file:///etc/passwd'>"
                             "<network><name>lan</name></network>",
                             "XML error: document type declarations (<!DOCTYPE>) are not supported");
        /* without a DTD an unknown entity is a well-formedness error */
        expect_network_error("<network><name>&n;</name></network>", "XML error: line 1: ");
        /* predefined and character references are plain text */
        expect_network_error("<network><name>a&#47;b</name></network>",
                             "XML error: invalid network name 'a/b'");
}

static void test_parsed_fields(void) {
        _cleanup_(network_def_freep) NetworkDef *def = NULL;
        g_autofree char *error = NULL;
        char buf[INET6_ADDRSTRLEN];

        g_assert_cmpint(network_def_parse(rich, &def, &error), ==, 0);
        g_assert_cmpstr(def->name, ==, "lan");
        g_assert_true(def->has_uuid);
        g_assert_cmpstr(def->bridge, ==, "virbr1");
        g_assert_cmpint(def->stp, ==, 1);
        g_assert_cmpint(def->delay, ==, 0);
        g_assert_true(def->has_mac);
        g_assert_cmpuint(def->mac.bytes[5], ==, 0xcc);
        g_assert_cmpuint(def->mtu, ==, 9000);
        g_assert_cmpint(def->forward, ==, NETWORK_FORWARD_NONE);
        g_assert_true(def->bandwidth.inbound.set);
        g_assert_cmpuint(def->bandwidth.inbound.average, ==, 1000);
        g_assert_cmpuint(def->bandwidth.inbound.peak, ==, 5000);
        g_assert_cmpuint(def->bandwidth.inbound.burst, ==, 1024);
        g_assert_cmpuint(def->bandwidth.inbound.floor, ==, 0);
        g_assert_true(def->bandwidth.outbound.set);
        g_assert_cmpuint(def->bandwidth.outbound.average, ==, 2000);
        g_assert_cmpuint(def->n_ips, ==, 2);
        g_assert_cmpint(def->ips[0].family, ==, AF_INET);
        g_assert_cmpuint(def->ips[0].prefix, ==, 24);
        g_assert_true(def->ips[0].netmask_given);
        g_assert_cmpstr(inet_ntop(AF_INET, &def->ips[0].address, buf, sizeof buf), ==, "10.0.0.1");
        g_assert_cmpint(def->ips[1].family, ==, AF_INET6);
        g_assert_cmpuint(def->ips[1].prefix, ==, 64);
        g_assert_false(def->ips[1].netmask_given);
        g_assert_cmpstr(inet_ntop(AF_INET6, &def->ips[1].address, buf, sizeof buf), ==, "fd00::1");

        network_def_free(TAKE_PTR(def));
        g_assert_cmpint(network_def_parse("<network><name>x</name></network>", &def, &error), ==, 0);
        g_assert_cmpint(def->stp, ==, -1);
        g_assert_cmpint(def->delay, ==, -1);
        g_assert_null(def->bridge);
        g_assert_false(def->has_uuid);
        g_assert_false(def->has_mac);
        g_assert_cmpuint(def->mtu, ==, 0);
        g_assert_cmpuint(def->n_ips, ==, 0);
        g_assert_false(bandwidth_is_set(&def->bandwidth));
}

static void test_fill_defaults(void) {
        _cleanup_(network_def_freep) NetworkDef *a = NULL, *b = NULL, *fwd = NULL, *given = NULL;
        char buf[ETHER_ADDR_STR_MAX];

        g_assert_cmpint(network_def_parse("<network><name>a</name></network>", &a, NULL), ==, 0);
        g_assert_cmpint(network_def_parse("<network><name>b</name></network>", &b, NULL), ==, 0);
        g_assert_cmpint(network_def_fill_defaults(a), ==, 0);
        g_assert_cmpint(network_def_fill_defaults(b), ==, 0);

        g_assert_true(a->has_uuid);
        g_assert_false(uuid_is_null(&a->uuid));
        g_assert_cmpuint(a->uuid.bytes[6] >> 4, ==, 4); /* random, version 4 */
        g_assert_false(uuid_equal(&a->uuid, &b->uuid));
        g_assert_true(a->has_mac);
        g_assert_true(g_str_has_prefix(ether_addr_format(&a->mac, buf), "52:54:00:"));
        g_assert_false(ether_addr_is_multicast(&a->mac));
        g_assert_false(a->bridge); /* the driver picks virbrN, not the parser */

        /* filling twice changes nothing */
        {
                Uuid u = a->uuid;
                EtherAddr m = a->mac;

                g_assert_cmpint(network_def_fill_defaults(a), ==, 0);
                g_assert_true(uuid_equal(&u, &a->uuid));
                g_assert_cmpmem(&m, sizeof m, &a->mac, sizeof a->mac);
        }

        /* what the user gave stays put */
        g_assert_cmpint(network_def_parse("<network><name>g</name>"
                                          "<uuid>9a05da11-e96b-47f3-8253-a3a482e445f5</uuid>"
                                          "<mac address='02:00:00:00:00:01'/></network>",
                                          &given, NULL),
                        ==, 0);
        g_assert_cmpint(network_def_fill_defaults(given), ==, 0);
        {
                g_autofree char *out = network_def_format(given);

                g_assert_cmpstr(out, ==,
                                "<network>\n"
                                "  <name>g</name>\n"
                                "  <uuid>9a05da11-e96b-47f3-8253-a3a482e445f5</uuid>\n"
                                "  <mac address='02:00:00:00:00:01'/>\n"
                                "</network>\n");
        }

        /* a bridge we only attach to is not ours: no MAC for it */
        g_assert_cmpint(network_def_parse("<network><name>f</name><forward mode='bridge'/>"
                                          "<bridge name='br0'/></network>",
                                          &fwd, NULL),
                        ==, 0);
        g_assert_cmpint(network_def_fill_defaults(fwd), ==, 0);
        g_assert_true(fwd->has_uuid);
        g_assert_false(fwd->has_mac);
}

static void test_format_built(void) {
        /* definitions built by code, not by the parser */
        NetworkDef def = {
                .name = (char *) "built",
                .stp = 0,
                .delay = -1,
                .mtu = 1500,
                .n_ips = 2,
                .ips = {
                        { .family = AF_INET, .prefix = 0, .netmask_given = true },
                        { .family = AF_INET6, .prefix = 128 },
                },
                .bandwidth.outbound = { .set = true, .average = 10, .peak = 20, .burst = 30 },
        };
        g_autofree char *out = NULL;

        g_assert_cmpint(inet_pton(AF_INET, "192.0.2.1", &def.ips[0].address.in), ==, 1);
        g_assert_cmpint(inet_pton(AF_INET6, "2001:db8::1", &def.ips[1].address.in6), ==, 1);
        out = network_def_format(&def);
        g_assert_cmpstr(out, ==,
                        "<network>\n"
                        "  <name>built</name>\n"
                        "  <bridge stp='off'/>\n"
                        "  <mtu size='1500'/>\n"
                        "  <bandwidth>\n"
                        "    <outbound average='10' peak='20' burst='30'/>\n"
                        "  </bandwidth>\n"
                        "  <ip address='192.0.2.1' netmask='0.0.0.0'/>\n"
                        "  <ip family='ipv6' address='2001:db8::1' prefix='128'/>\n"
                        "</network>\n");
}

static void test_name_valid(void) {
        g_assert_true(network_name_valid("lan"));
        g_assert_true(network_name_valid("a.b_c+d-1"));
        g_assert_true(network_name_valid("..."));
        g_assert_true(network_name_valid(".hidden"));
        g_assert_true(network_name_valid("01234567890123456789012345678901234567890123456789"));
        g_assert_false(network_name_valid("012345678901234567890123456789012345678901234567890"));
        g_assert_false(network_name_valid(NULL));
        g_assert_false(network_name_valid(""));
        g_assert_false(network_name_valid("."));
        g_assert_false(network_name_valid(".."));
        g_assert_false(network_name_valid("a/b"));
        g_assert_false(network_name_valid("../etc"));
        g_assert_false(network_name_valid("my net"));
        g_assert_false(network_name_valid("lan\n"));
        g_assert_false(network_name_valid("caf\xc3\xa9"));
        g_assert_false(network_name_valid("a:b"));
        g_assert_false(network_name_valid("a%b"));
}

static void test_forward_mode_strings(void) {
        g_assert_cmpstr(network_forward_mode_to_string(NETWORK_FORWARD_NONE), ==, "none");
        g_assert_cmpstr(network_forward_mode_to_string(NETWORK_FORWARD_BRIDGE), ==, "bridge");
        g_assert_null(network_forward_mode_to_string(_NETWORK_FORWARD_MAX));
        g_assert_null(network_forward_mode_to_string((NetworkForwardMode) -1));
}

/* bandwidth_parse() as an interface (type='network') uses it: floor allowed on inbound. */
static int parse_bandwidth(const char *xml, bool allow_floor, Bandwidth *ret, char **ret_error) {
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;

        g_assert_cmpint(xml_parse_string(xml, &doc, NULL), ==, 0);
        return bandwidth_parse(xmlDocGetRootElement(doc), allow_floor, ret, ret_error);
}

static void expect_bandwidth_error(const char *xml, bool allow_floor, const char *expected) {
        Bandwidth bw = { .inbound.average = 4242 };
        g_autofree char *error = NULL;
        int r;

        r = parse_bandwidth(xml, allow_floor, &bw, &error);
        check_error(r, error, expected);
        g_assert_cmpuint(bw.inbound.average, ==, 4242); /* untouched on failure */
}

static void test_bandwidth_floor(void) {
        Bandwidth bw;
        StrBuf b = {};
        g_autofree char *out = NULL;

        g_assert_cmpint(parse_bandwidth("<bandwidth><inbound floor='500'/></bandwidth>", true, &bw, NULL),
                        ==, 0);
        g_assert_true(bw.inbound.set);
        g_assert_cmpuint(bw.inbound.floor, ==, 500);
        g_assert_cmpuint(bw.inbound.average, ==, 0);
        g_assert_false(bw.outbound.set);

        g_assert_cmpint(parse_bandwidth("<bandwidth><outbound average='1'/>"
                                        "<inbound burst='256' floor='500' peak='2000' average='1000'/>"
                                        "</bandwidth>",
                                        true, &bw, NULL),
                        ==, 0);
        bandwidth_format(&b, &bw, 4);
        out = strbuf_steal(&b);
        g_assert_cmpstr(out, ==,
                        "    <bandwidth>\n"
                        "      <inbound average='1000' peak='2000' floor='500' burst='256'/>\n"
                        "      <outbound average='1'/>\n"
                        "    </bandwidth>\n");

        /* nothing set → nothing written */
        g_assert_cmpint(parse_bandwidth("<bandwidth/>", true, &bw, NULL), ==, 0);
        g_assert_false(bandwidth_is_set(&bw));
        bandwidth_format(&b, &bw, 0);
        g_free(out);
        out = strbuf_steal(&b);
        g_assert_cmpstr(out, ==, "");

        expect_bandwidth_error("<bandwidth><inbound floor='500'/></bandwidth>", false,
                               "unsupported configuration: floor is supported only on <inbound> of "
                               "interfaces");
        expect_bandwidth_error("<bandwidth><inbound floor='500' peak='600'/></bandwidth>", true,
                               "XML error: peak and burst on <inbound> in <bandwidth> need an average");
        expect_bandwidth_error("<bandwidth><inbound/></bandwidth>", true,
                               "XML error: <inbound> in <bandwidth> needs an average or a floor");
        expect_bandwidth_error("<bandwidth><outbound average='5' floor='500'/></bandwidth>", true,
                               "XML error: floor is not supported on <outbound>, only on <inbound>");
        expect_bandwidth_error("<bandwidth><inbound average='5' floor='x'/></bandwidth>", true,
                               "XML error: invalid floor 'x' on <inbound> in <bandwidth>");
        expect_bandwidth_error("<bandwidth><inbound average='5' burst='4294967296'/></bandwidth>", true,
                               "XML error: invalid burst '4294967296' on <inbound> in <bandwidth>: "
                               "expected an integer from 1 to 4294967295 KiB");
}

static void test_status_format(void) {
        _cleanup_(network_def_freep) NetworkDef *def = NULL;
        NetworkStatus st = {};
        g_autofree char *out = NULL;

        errno = 0;
        g_assert_null(network_status_format(&st));
        g_assert_cmpint(errno, ==, EINVAL);

        g_assert_cmpint(network_def_parse("<network><name>s</name><bridge name='virbr0'/></network>", &def,
                                          NULL),
                        ==, 0);
        st.def = def;
        out = network_status_format(&st);
        g_assert_cmpstr(out, ==,
                        "<networkstatus bridgeCreated='no'>\n"
                        "  <class_id bitmap='0-2'/>\n"
                        "  <floor sum='0'/>\n"
                        "  <network>\n"
                        "    <name>s</name>\n"
                        "    <bridge name='virbr0'/>\n"
                        "  </network>\n"
                        "</networkstatus>\n");

        /* allocated class ids and the floor sum survive a round trip */
        {
                _cleanup_(network_status_freep) NetworkStatus *back = NULL;
                g_autofree char *out2 = NULL, *error = NULL;
                uint16_t id;

                class_id_bitmap_init(&st.class_ids);
                g_assert_cmpint(class_id_bitmap_allocate(&st.class_ids, &id), ==, 0);
                g_assert_cmpint(class_id_bitmap_allocate(&st.class_ids, &id), ==, 0);
                g_assert_cmpint(class_id_bitmap_set(&st.class_ids, 9), ==, 0);
                st.floor_sum = 4294967296ull;
                st.bridge_created = true;
                out2 = network_status_format(&st);
                g_assert_nonnull(strstr(out2, "<class_id bitmap='0-4,9'/>\n  <floor sum='4294967296'/>\n"));
                g_assert_cmpint(network_status_parse(out2, &back, &error), ==, 0);
                g_assert_null(error);
                g_assert_true(class_id_bitmap_equal(&back->class_ids, &st.class_ids));
                g_assert_cmpuint(back->floor_sum, ==, st.floor_sum);
                g_assert_true(back->bridge_created);
        }

        g_assert_null(network_status_free(NULL));
        g_assert_null(network_def_free(NULL));
}

static void test_status_garbage(void) {
        static const char *const bad[] = {
                "",
                "<networkstatus",
                "<networkstatus bridgeCreated='yes'/>",
                "<networkstatus bridgeCreated='yes'><network/></networkstatus>",
                "<networkstatus bridgeCreated='yes'><network><name>a</name></network>",
                "\x01\x02\x03",
                "<networkstatus bridgeCreated='yes'><network><name>a</name></network></networkstatus>"
                "trailing",
        };

        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                _cleanup_(network_status_freep) NetworkStatus *st = NULL;
                g_autofree char *error = NULL;
                int r;

                r = network_status_parse(bad[i], &st, &error);
                g_assert_cmpint(r, ==, -EBADMSG);
                g_assert_null(st);
                g_assert_true(g_str_has_prefix(error, "XML error: "));
        }
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        add_cases(KIND_NETWORK, true);
        add_cases(KIND_NETWORK, false);
        add_cases(KIND_STATUS, true);
        add_cases(KIND_STATUS, false);

        g_test_add_func("/network-conf/empty", test_empty);
        g_test_add_func("/network-conf/huge", test_huge);
        g_test_add_func("/network-conf/truncated", test_truncated);
        g_test_add_func("/network-conf/garbage", test_garbage);
        g_test_add_func("/network-conf/mutations", test_mutations);
        g_test_add_func("/network-conf/entities", test_entities);
        g_test_add_func("/network-conf/parsed-fields", test_parsed_fields);
        g_test_add_func("/network-conf/fill-defaults", test_fill_defaults);
        g_test_add_func("/network-conf/format-built", test_format_built);
        g_test_add_func("/network-conf/name-valid", test_name_valid);
        g_test_add_func("/network-conf/forward-mode-strings", test_forward_mode_strings);
        g_test_add_func("/network-conf/bandwidth-floor", test_bandwidth_floor);
        g_test_add_func("/network-conf/status-format", test_status_format);
        g_test_add_func("/network-conf/status-garbage", test_status_garbage);

        return g_test_run();
}
