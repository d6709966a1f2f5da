/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Domain XML: golden round trips and bad input, from tests/data/domainxml/:
 *   valid/NAME.xml          parsed as DefineXML does, formatted (live form) must equal
 *                           valid/NAME.out.xml, which must reproduce itself byte for byte;
 *                           valid/NAME.unknown, when present, holds the report of kept elements
 *                           (domain_def_unknown_summary()) and on a second line "runnable" or the
 *                           error of domain_def_check_runnable(). No file: nothing kept, runnable.
 *   live/NAME.xml           parsed as a status file (DOMAIN_PARSE_LIVE): the live form must equal
 *                           live/NAME.out.xml, the persistent form live/NAME.inactive.xml
 *   invalid/NAME.xml        must fail; invalid/NAME.err holds a substring of the expected message,
 *                           whose prefix ("XML error: " / "unsupported configuration: ") also
 *                           fixes the expected errno (-EBADMSG / -EOPNOTSUPP) */

/* before glib.h: macro.h defines MIN/MAX unconditionally, glib.h #undefs them first */
#include "domain-conf.h"
#include "xml-util.h"

#include <glib.h>

static char *read_data(const char *dir, const char *file) {
        g_autofree char *path = g_test_build_filename(G_TEST_DIST, "data", "domainxml", dir, file, NULL);
        g_autoptr(GError) error = NULL;
        char *contents = NULL;

        if (!g_file_get_contents(path, &contents, NULL, &error))
                g_error("%s", error->message);
        return contents;
}

static char *read_data_optional(const char *dir, const char *file) {
        g_autofree char *path = g_test_build_filename(G_TEST_DIST, "data", "domainxml", dir, file, NULL);
        char *contents = NULL;

        if (!g_file_get_contents(path, &contents, NULL, NULL))
                return NULL;
        return contents;
}

static DomainDef *parse_ok(const char *xml, DomainParseFlags flags) {
        g_autofree char *error = NULL;
        DomainDef *def = NULL;
        int r;

        r = domain_def_parse(xml, flags, &def, &error);
        if (r < 0)
                g_error("unexpected error %d: %s\n%s", r, error, xml);
        g_assert_null(error);
        g_assert_nonnull(def);
        return def;
}

/* Parse and format; the output must be a fixed point of parse + format. */
static char *round_trip(const char *xml, DomainParseFlags pflags, DomainFormatFlags fflags) {
        _cleanup_(domain_def_freep) DomainDef *def = parse_ok(xml, pflags), *def2 = NULL;
        g_autofree char *out2 = NULL;
        char *out;

        out = domain_def_format(def, fflags);
        g_assert_nonnull(out);
        def2 = parse_ok(out, pflags);
        out2 = domain_def_format(def2, fflags);
        g_assert_cmpstr(out2, ==, out);
        return out;
}

static char *unknown_report(const DomainDef *def) {
        g_autofree char *summary = domain_def_unknown_summary(def), *error = NULL;
        int r;

        g_assert_nonnull(summary);
        r = domain_def_check_runnable(def, &error);
        if (r < 0) {
                g_assert_cmpint(r, ==, -EOPNOTSUPP);
                g_assert_true(g_str_has_prefix(error, "unsupported configuration: device <"));
                /* same verdict without anyone asking for the message */
                g_assert_cmpint(domain_def_check_runnable(def, NULL), ==, r);
        } else
                g_assert_null(error);
        if (!*summary && r >= 0)
                return NULL;
        return g_strdup_printf("%s\n%s\n", summary, r < 0 ? error : "runnable");
}

typedef struct Case {
        const char *dir;
        char *name; /* file name without .xml */
} Case;

static void case_free(gpointer p) {
        Case *c = p;

        g_free(c->name);
        g_free(c);
}

static void test_valid(gconstpointer data) {
        const Case *c = data;
        g_autofree char *in_name = g_strconcat(c->name, ".xml", NULL);
        g_autofree char *out_name = g_strconcat(c->name, ".out.xml", NULL);
        g_autofree char *unknown_name = g_strconcat(c->name, ".unknown", NULL);
        g_autofree char *in = read_data(c->dir, in_name), *expected = read_data(c->dir, out_name);
        g_autofree char *expected_unknown = read_data_optional(c->dir, unknown_name);
        g_autofree char *out = NULL, *inactive = NULL, *report = NULL;
        _cleanup_(domain_def_freep) DomainDef *def = NULL;

        out = round_trip(in, 0, 0);
        g_assert_cmpstr(out, ==, expected);

        /* a definition has no live data: both forms are the same */
        inactive = round_trip(in, 0, DOMAIN_FORMAT_INACTIVE);
        g_assert_cmpstr(inactive, ==, expected);

        def = parse_ok(in, 0);
        report = unknown_report(def);
        g_assert_cmpstr(report, ==, expected_unknown);
}

static void test_live(gconstpointer data) {
        const Case *c = data;
        g_autofree char *in_name = g_strconcat(c->name, ".xml", NULL);
        g_autofree char *out_name = g_strconcat(c->name, ".out.xml", NULL);
        g_autofree char *inactive_name = g_strconcat(c->name, ".inactive.xml", NULL);
        g_autofree char *in = read_data(c->dir, in_name), *expected = read_data(c->dir, out_name);
        g_autofree char *expected_inactive = read_data(c->dir, inactive_name);
        g_autofree char *out = NULL, *inactive = NULL, *redefined = NULL;

        out = round_trip(in, DOMAIN_PARSE_LIVE, 0);
        g_assert_cmpstr(out, ==, expected);
        inactive = round_trip(in, DOMAIN_PARSE_LIVE, DOMAIN_FORMAT_INACTIVE);
        g_assert_cmpstr(inactive, ==, expected_inactive);

        /* defining the live XML gives the persistent form: the live data is dropped */
        redefined = round_trip(in, 0, 0);
        g_assert_cmpstr(redefined, ==, expected_inactive);
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
        g_autofree char *in_name = g_strconcat(c->name, ".xml", NULL);
        g_autofree char *err_name = g_strconcat(c->name, ".err", NULL);
        g_autofree char *in = read_data(c->dir, in_name), *expected = read_data(c->dir, err_name);
        _cleanup_(domain_def_freep) DomainDef *def = NULL;
        g_autofree char *error = NULL;
        int r;

        g_strchomp(expected);
        g_assert_cmpstr(expected, !=, "");

        r = domain_def_parse(in, 0, &def, &error);
        if (r >= 0)
                g_error("invalid/%s: accepted", in_name);
        g_assert_null(def);
        check_error(r, error, expected);

        /* same verdict without anyone asking for the message, and as a status file */
        g_assert_cmpint(domain_def_parse(in, 0, &def, NULL), ==, r);
        g_assert_cmpint(domain_def_parse(in, DOMAIN_PARSE_LIVE, &def, NULL), ==, r);
        g_assert_null(def);
}

static int compare_names(gconstpointer a, gconstpointer b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static void add_cases(const char *dir, GTestDataFunc func) {
        g_autofree char *path = g_test_build_filename(G_TEST_DIST, "data", "domainxml", dir, NULL);
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GError) error = NULL;
        g_autoptr(GDir) d = NULL;
        const char *f;

        d = g_dir_open(path, 0, &error);
        if (!d)
                g_error("%s", error->message);
        while ((f = g_dir_read_name(d))) {
                if (!g_str_has_suffix(f, ".xml") || g_str_has_suffix(f, ".out.xml") ||
                    g_str_has_suffix(f, ".inactive.xml"))
                        continue;
                g_ptr_array_add(names, g_strndup(f, strlen(f) - strlen(".xml")));
        }
        g_ptr_array_sort(names, compare_names);
        g_assert_cmpuint(names->len, >, 0);

        for (guint i = 0; i < names->len; i++) {
                Case *c = g_new0(Case, 1);
                g_autofree char *test_path = NULL;

                c->dir = dir;
                c->name = g_strdup(names->pdata[i]);
                test_path = g_strdup_printf("/domain-conf/%s/%s", dir, c->name);
                g_test_add_data_func_full(test_path, c, func, case_free);
        }
}

/* ---- bad input that is easier to build than to store ---- */

static void expect_error(const char *xml, const char *expected) {
        _cleanup_(domain_def_freep) DomainDef *def = NULL;
        g_autofree char *error = NULL;
        int r;

        r = domain_def_parse(xml, 0, &def, &error);
        g_assert_null(def);
        check_error(r, error, expected);
}

static void test_empty(void) {
        expect_error("", "XML error: ");
        expect_error(" \n\t ", "XML error: ");
        expect_error(NULL, "XML error: ");
        expect_error("<?xml version='1.0'?>", "XML error: ");
}

static void test_huge(void) {
        g_autoptr(GString) s = g_string_new("<domain type='qemu'><name>big</name><memory>1</memory>"
                                            "<os><type>hvm</type></os><!--");
        _cleanup_(domain_def_freep) DomainDef *def = NULL;

        while (s->len < XML_DOCUMENT_MAX - 64)
                g_string_append(s, "0123456789abcdef");
        g_string_append(s, "--></domain>");
        g_assert_cmpint(domain_def_parse(s->str, 0, &def, NULL), ==, 0);
        g_assert_cmpstr(def->name, ==, "big");

        g_string_truncate(s, s->len - strlen("--></domain>"));
        while (s->len <= XML_DOCUMENT_MAX)
                g_string_append(s, "0123456789abcdef");
        g_string_append(s, "--></domain>");
        expect_error(s->str, "XML error: document is larger than 1048576 bytes");
}

/* Kept elements are written back re-indented: what fits on input must still fit on output,
 * or the daemon could not read back its own config. */
static void append_deep(GString *s, const char *name, unsigned depth, unsigned children) {
        g_string_append_printf(s, "<%s>", name);
        for (unsigned i = 0; i < depth; i++)
                g_string_append(s, "<a>");
        for (unsigned i = 0; i < children; i++)
                g_string_append(s, "<b/>");
        for (unsigned i = 0; i < depth; i++)
                g_string_append(s, "</a>");
        g_string_append_printf(s, "</%s>", name);
}

static void test_kept_too_large(void) {
        g_autoptr(GString) s = g_string_new(NULL);

        /* one element: 200 levels make each "<b/>" line 400 bytes longer on output */
        g_string_assign(s,
                        "<domain type='qemu'><name>deep</name><memory>1</memory><os><type>hvm</type></os>");
        append_deep(s, "metadata", 200, 3000);
        g_string_append(s, "</domain>");
        g_assert_cmpuint(s->len, <, 20000);
        expect_error(s->str, "XML error: element <metadata> in domain 'deep' is too large");

        /* two, each small enough alone */
        g_string_assign(s,
                        "<domain type='qemu'><name>deep</name><memory>1</memory><os><type>hvm</type></os>");
        append_deep(s, "x-one", 100, 3000);
        append_deep(s, "x-two", 100, 3000);
        g_string_append(s, "</domain>");
        expect_error(s->str,
                     "XML error: domain 'deep' would be larger than 1048576 bytes in canonical form");
}

static const char rich[] =
        "<domain type='qemu' xmlns:q='urn:q'>"
        "<name>rich</name><uuid>6a7d1b3c-5e2f-4f1e-9a8b-0c1d2e3f4a5b</uuid>"
        "<memory unit='MiB'>128</memory><vcpu>2</vcpu>"
        "<os><type arch='x86_64' machine='q35'>hvm</type><kernel>/k</kernel><initrd>/i</initrd>"
        "<cmdline>console=ttyS0</cmdline></os>"
        "<features><acpi/></features>"
        "<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>"
        "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/a.qcow2'/>"
        "<target dev='vda' bus='virtio'/></disk>"
        "<interface type='network'><mac address='52:54:00:00:00:01'/><source network='lan'/>"
        "<model type='virtio'/><driver name='vhost' txmode='iothread' queues='2'><host csum='off'/>"
        "</driver><mtu size='1500'/><bandwidth><inbound average='10' floor='5'/></bandwidth></interface>"
        "<interface type='direct'><source dev='eth0' mode='bridge'/><model type='e1000'/></interface>"
        "<serial type='file'><source path='/log'/><target port='0'/></serial><console type='pty'/>"
        "<graphics type='vnc'/><q:x/></devices><q:y a='1'/></domain>";

static void test_truncated(void) {
        size_t len = strlen(rich);

        /* every proper prefix of a document is broken; none may crash or be accepted */
        for (size_t l = 0; l < len; l++) {
                _cleanup_(domain_def_freep) DomainDef *def = NULL;
                g_autofree char *s = g_strndup(rich, l), *error = NULL;

                g_assert_cmpint(domain_def_parse(s, 0, &def, &error), ==, -EBADMSG);
                g_assert_null(def);
                g_assert_true(g_str_has_prefix(error, "XML error: "));
        }
}

static void test_garbage(void) {
        g_autoptr(GRand) rand = g_rand_new_with_seed(4243);

        for (int i = 0; i < 500; i++) {
                _cleanup_(domain_def_freep) DomainDef *def = NULL;
                g_autofree char *error = NULL;
                char buf[257];
                size_t n = g_rand_int_range(rand, 0, sizeof buf);

                for (size_t j = 0; j < n; j++)
                        buf[j] = (char) g_rand_int_range(rand, 1, 256);
                buf[n] = 0;
                if (i % 2) /* garbage inside a plausible frame reaches the element parsers */
                        memcpy(buf, "<domain type='qemu'><name>",
                               MIN(n, strlen("<domain type='qemu'><name>")));

                g_assert_cmpint(domain_def_parse(buf, 0, &def, &error), <, 0);
                g_assert_nonnull(error);
        }
}

static void test_mutations(void) {
        /* flip each byte of a valid document to a few troublesome characters: every result is
         * either accepted and formats to a fixed point, or rejected with a message */
        static const char repl[] = { '<', '>', '\'', '&', '/', '0', 'x', ' ', '-', ':' };
        size_t len = strlen(rich);

        for (size_t i = 0; i < len; i++)
                for (size_t k = 0; k < sizeof repl; k++) {
                        _cleanup_(domain_def_freep) DomainDef *def = NULL;
                        g_autofree char *s = g_strdup(rich), *error = NULL, *out = NULL;
                        int r;

                        s[i] = repl[k];
                        r = domain_def_parse(s, 0, &def, &error);
                        if (r < 0) {
                                const char *prefix =
                                        r == -EBADMSG ? "XML error: " : "unsupported configuration: ";

                                g_assert_true(r == -EBADMSG || r == -EOPNOTSUPP);
                                g_assert_true(g_str_has_prefix(error, prefix));
                                continue;
                        }
                        g_assert_cmpint(domain_def_fill_defaults(def), ==, 0);
                        out = domain_def_format(def, 0);
                        g_assert_nonnull(out);
                        g_free(round_trip(out, 0, 0));
                }
}

static void test_entities(void) {
        expect_error("<!DOCTYPE domain [<!ENTITY n 'vm'>]><domain type='qemu'><name>&n;</name></domain>",
                     "XML error: document type declarations (<!DOCTYPE>) are not supported");
        expect_error(
                "<!DOCTYPE domain SYSTEM 'file:///etc/passwd'><domain type='qemu'><name>vm</name></domain>",
                "XML error: document type declarations (<!DOCTYPE>) are not supported");
        expect_error("<domain type='qemu'><name>&n;</name></domain>", "XML error: line 1: ");
        expect_error("<domain type='qemu'><name>a&#47;b</name></domain>",
                     "XML error: invalid domain name 'a/b'");
}

static void test_parsed_fields(void) {
        _cleanup_(domain_def_freep) DomainDef *def = parse_ok(rich, 0);
        const DomainNet *n;
        char buf[ETHER_ADDR_STR_MAX];

        g_assert_cmpint(def->virt_type, ==, DOMAIN_VIRT_QEMU);
        g_assert_cmpint(def->id, ==, -1);
        g_assert_cmpstr(def->name, ==, "rich");
        g_assert_true(def->has_uuid);
        g_assert_cmpuint(def->memory_kib, ==, 131072);
        g_assert_cmpuint(def->current_memory_kib, ==, 131072);
        g_assert_cmpuint(def->vcpus, ==, 2);
        g_assert_cmpstr(def->os_arch, ==, "x86_64");
        g_assert_cmpstr(def->os_machine, ==, "q35");
        g_assert_cmpstr(def->kernel, ==, "/k");
        g_assert_cmpstr(def->initrd, ==, "/i");
        g_assert_cmpstr(def->cmdline, ==, "console=ttyS0");
        g_assert_cmpuint(def->n_boot, ==, 0); /* direct kernel boot: no default boot device */
        g_assert_cmpint(def->on_poweroff, ==, DOMAIN_LIFECYCLE_DESTROY);
        g_assert_cmpint(def->on_reboot, ==, DOMAIN_LIFECYCLE_RESTART);
        g_assert_cmpint(def->on_crash, ==, DOMAIN_LIFECYCLE_DESTROY);
        g_assert_cmpstr(def->emulator, ==, "/usr/bin/qemu-system-x86_64");

        g_assert_cmpuint(def->n_disks, ==, 1);
        g_assert_cmpint(def->disks[0].format, ==, DOMAIN_DISK_FORMAT_QCOW2);
        g_assert_cmpint(def->disks[0].bus, ==, DOMAIN_DISK_BUS_VIRTIO);
        g_assert_cmpuint(def->disks[0].index, ==, 0);
        g_assert_cmpstr(def->disks[0].source, ==, "/a.qcow2");

        g_assert_cmpuint(def->n_nets, ==, 2);
        n = &def->nets[0];
        g_assert_cmpint(n->type, ==, DOMAIN_NET_TYPE_NETWORK);
        g_assert_cmpstr(n->source, ==, "lan");
        g_assert_true(n->has_mac);
        g_assert_cmpstr(ether_addr_format(&n->mac, buf), ==, "52:54:00:00:00:01");
        g_assert_cmpint(n->model, ==, DOMAIN_NET_MODEL_VIRTIO);
        g_assert_cmpint(n->driver, ==, DOMAIN_NET_DRIVER_VHOST);
        g_assert_cmpint(n->txmode, ==, DOMAIN_NET_TXMODE_IOTHREAD);
        g_assert_cmpuint(n->queues, ==, 2);
        g_assert_cmpint(n->offloads[DOMAIN_NET_HOST_CSUM], ==, DOMAIN_TRISTATE_OFF);
        g_assert_cmpint(n->offloads[DOMAIN_NET_GUEST_CSUM], ==, DOMAIN_TRISTATE_ABSENT);
        g_assert_cmpuint(n->mtu, ==, 1500);
        g_assert_cmpuint(n->bandwidth.inbound.floor, ==, 5);
        g_assert_null(n->ifname);
        n = &def->nets[1];
        g_assert_cmpint(n->type, ==, DOMAIN_NET_TYPE_DIRECT);
        g_assert_cmpint(n->mode, ==, DOMAIN_MACVTAP_BRIDGE);
        g_assert_false(n->has_mac);
        g_assert_cmpint(n->model, ==, DOMAIN_NET_MODEL_E1000);
        g_assert_cmpint(n->driver, ==, DOMAIN_NET_DRIVER_DEFAULT);

        g_assert_cmpuint(def->n_serials, ==, 1);
        g_assert_cmpint(def->serials[0].type, ==, DOMAIN_CHR_FILE);
        g_assert_cmpstr(def->serials[0].path, ==, "/log");
        g_assert_true(def->console);

        /* in the order they were read: <domain>'s children first, then those of <devices> */
        g_assert_cmpuint(def->n_unknown, ==, 4);
        g_assert_cmpstr(def->unknown[0].path, ==, "<features>");
        g_assert_cmpint(def->unknown[0].place, ==, DOMAIN_UNKNOWN_TOP);
        g_assert_cmpstr(def->unknown[0].xml, ==, "  <features>\n    <acpi/>\n  </features>\n");
        g_assert_cmpstr(def->unknown[1].path, ==, "<q:y>");
        g_assert_cmpstr(def->unknown[1].xml, ==, "  <q:y xmlns:q='urn:q' a='1'/>\n");
        g_assert_cmpint(def->unknown[2].place, ==, DOMAIN_UNKNOWN_DEVICES);
        g_assert_cmpstr(def->unknown[2].path, ==, "<devices>/<graphics>");
        g_assert_false(def->unknown[2].harmless);
        g_assert_cmpstr(def->unknown[3].path, ==, "<devices>/<q:x>");
        g_assert_cmpstr(def->unknown[3].xml, ==, "    <q:x xmlns:q='urn:q'/>\n");
}

static void test_fill_defaults(void) {
        _cleanup_(domain_def_freep) DomainDef *a = NULL, *b = NULL;
        char buf[ETHER_ADDR_STR_MAX];
        g_autofree char *xml = NULL;

        /* a given MAC stays, the others are generated, all distinct */
        xml = g_strdup(
                "<domain type='qemu'><name>a</name><memory>1</memory><os><type>hvm</type></os><devices>"
                "<interface type='network'><source network='lan'/></interface>"
                "<interface type='network'><mac address='02:00:00:00:00:01'/><source network='lan'/>"
                "</interface>"
                "<interface type='bridge'><source bridge='br0'/></interface>"
                "</devices></domain>");
        a = parse_ok(xml, 0);
        b = parse_ok(xml, 0);
        g_assert_cmpint(domain_def_fill_defaults(a), ==, 0);
        g_assert_cmpint(domain_def_fill_defaults(b), ==, 0);

        g_assert_true(a->has_uuid);
        g_assert_false(uuid_is_null(&a->uuid));
        g_assert_cmpuint(a->uuid.bytes[6] >> 4, ==, 4); /* random, version 4 */
        g_assert_false(uuid_equal(&a->uuid, &b->uuid));
        g_assert_cmpstr(a->os_arch, ==, "x86_64");
        g_assert_cmpstr(a->os_machine, ==, "pc");
        for (size_t i = 0; i < a->n_nets; i++) {
                g_assert_true(a->nets[i].has_mac);
                g_assert_false(ether_addr_is_multicast(&a->nets[i].mac));
                for (size_t j = 0; j < i; j++)
                        g_assert_true(memcmp(&a->nets[i].mac, &a->nets[j].mac, sizeof(EtherAddr)) != 0);
        }
        g_assert_true(g_str_has_prefix(ether_addr_format(&a->nets[0].mac, buf), "52:54:00:"));
        g_assert_cmpstr(ether_addr_format(&a->nets[1].mac, buf), ==, "02:00:00:00:00:01");
        g_assert_true(g_str_has_prefix(ether_addr_format(&a->nets[2].mac, buf), "52:54:00:"));

        /* filling twice changes nothing, and the result survives a round trip */
        {
                g_autofree char *before = domain_def_format(a, 0), *after = NULL;

                g_assert_cmpint(domain_def_fill_defaults(a), ==, 0);
                after = domain_def_format(a, 0);
                g_assert_cmpstr(before, ==, after);
                g_free(round_trip(after, 0, 0));
        }
}

static void test_check_runnable(void) {
        _cleanup_(domain_def_freep) DomainDef *def = NULL;
        g_autofree char *error = NULL, *summary = NULL;

        def = parse_ok("<domain type='qemu'><name>g</name><memory>1</memory><os><type>hvm</type></os>"
                       "<clock offset='utc'/><devices><input type='tablet' bus='usb'/>"
                       "<input type='mouse' bus='ps2'/><video/></devices></domain>",
                       0);
        summary = domain_def_unknown_summary(def);
        g_assert_cmpstr(summary, ==, "<clock>, <devices>/<input>, <devices>/<input>, <devices>/<video>");
        /* the usb tablet is not something QEMU has anyway, the ps2 mouse is */
        g_assert_cmpint(domain_def_check_runnable(def, &error), ==, -EOPNOTSUPP);
        g_assert_cmpstr(error, ==, "unsupported configuration: device <input> is not supported");
}

static void test_name_valid(void) {
        g_assert_true(domain_name_valid("vm"));
        g_assert_true(domain_name_valid("a.b_c+d-1"));
        g_assert_true(domain_name_valid("..."));
        g_assert_true(domain_name_valid("0123456789012345678901234567890123456789012345678901234567890123"));
        g_assert_false(
                domain_name_valid("01234567890123456789012345678901234567890123456789012345678901234"));
        g_assert_false(domain_name_valid(NULL));
        g_assert_false(domain_name_valid(""));
        g_assert_false(domain_name_valid("."));
        g_assert_false(domain_name_valid(".."));
        g_assert_false(domain_name_valid("a/b"));
        g_assert_false(domain_name_valid("my vm"));
        g_assert_false(domain_name_valid("a,b"));
        g_assert_false(domain_name_valid("caf\xc3\xa9"));
}

static void test_helpers(void) {
        DomainNet net = {};
        char buf[DOMAIN_NET_LABEL_MAX];

        g_assert_cmpstr(domain_machine_family(NULL), ==, "pc");
        g_assert_cmpstr(domain_machine_family("pc"), ==, "pc");
        g_assert_cmpstr(domain_machine_family("pc-i440fx-7.2"), ==, "pc");
        g_assert_cmpstr(domain_machine_family("q35"), ==, "q35");
        g_assert_cmpstr(domain_machine_family("pc-q35-7.2"), ==, "q35");
        g_assert_null(domain_machine_family("microvm"));
        g_assert_null(domain_machine_family("pc-q35"));
        g_assert_null(domain_machine_family("pc-q35-"));
        g_assert_null(domain_machine_family("pc-i440fx-"));
        g_assert_null(domain_machine_family("isapc"));

        g_assert_true(domain_net_ifname_is_generated("vnet0"));
        g_assert_true(domain_net_ifname_is_generated("macvtap12"));
        g_assert_false(domain_net_ifname_is_generated("tap0"));
        g_assert_false(domain_net_ifname_is_generated(NULL));

        g_assert_cmpstr(domain_net_label(&net, 2, buf), ==, "#3");
        net.has_mac = true;
        g_assert_cmpint(ether_addr_parse("52:54:00:01:02:03", &net.mac), ==, 0);
        g_assert_cmpstr(domain_net_label(&net, 2, buf), ==, "'52:54:00:01:02:03'");
        net.ifname = (char *) "vnet4";
        g_assert_cmpstr(domain_net_label(&net, 2, buf), ==, "'vnet4'");

        g_assert_cmpstr(domain_virt_type_to_string(DOMAIN_VIRT_KVM), ==, "kvm");
        g_assert_null(domain_virt_type_to_string(_DOMAIN_VIRT_MAX));
        g_assert_cmpstr(domain_boot_dev_to_string(DOMAIN_BOOT_NETWORK), ==, "network");
        g_assert_cmpstr(domain_lifecycle_action_to_string(DOMAIN_LIFECYCLE_RESTART), ==, "restart");
        g_assert_cmpstr(domain_disk_format_to_string(DOMAIN_DISK_FORMAT_QCOW2), ==, "qcow2");
        g_assert_null(domain_disk_format_to_string(DOMAIN_DISK_FORMAT_DEFAULT));
        g_assert_cmpstr(domain_disk_bus_to_string(DOMAIN_DISK_BUS_SATA), ==, "sata");
        g_assert_cmpstr(domain_net_type_to_string(DOMAIN_NET_TYPE_DIRECT), ==, "direct");
        g_assert_cmpstr(domain_net_model_to_string(DOMAIN_NET_MODEL_E1000), ==, "e1000");
        g_assert_cmpstr(domain_macvtap_mode_to_string(DOMAIN_MACVTAP_PASSTHROUGH), ==, "passthrough");
        g_assert_null(domain_macvtap_mode_to_string((DomainMacvtapMode) -1));

        g_assert_null(domain_def_free(NULL));
}

/* What the daemon does at start: assign names and aliases, then show the live XML. */
static void test_format_live_assigned(void) {
        _cleanup_(domain_def_freep) DomainDef *def = NULL;
        g_autofree char *live = NULL, *inactive = NULL;

        def = parse_ok("<domain type='qemu'><name>s</name><uuid>6a7d1b3c-5e2f-4f1e-9a8b-0c1d2e3f4a5b</uuid>"
                       "<memory>1024</memory><os><type>hvm</type></os><devices>"
                       "<interface type='network'><mac address='52:54:00:00:00:01'/><source network='lan'/>"
                       "<model type='virtio'/></interface><serial type='pty'/><console type='pty'/>"
                       "</devices></domain>",
                       0);
        def->id = 3;
        def->nets[0].ifname = g_strdup("vnet0");
        def->nets[0].alias = g_strdup("net0");
        def->serials[0].alias = g_strdup("serial0");
        def->serials[0].path = g_strdup("/dev/pts/9");

        live = domain_def_format(def, 0);
        g_assert_cmpstr(live, ==,
                        "<domain type='qemu' id='3'>\n"
                        "  <name>s</name>\n"
                        "  <uuid>6a7d1b3c-5e2f-4f1e-9a8b-0c1d2e3f4a5b</uuid>\n"
                        "  <memory unit='KiB'>1024</memory>\n"
                        "  <currentMemory unit='KiB'>1024</currentMemory>\n"
                        "  <vcpu placement='static'>1</vcpu>\n"
                        "  <os>\n"
                        "    <type>hvm</type>\n"
                        "    <boot dev='hd'/>\n"
                        "  </os>\n"
                        "  <on_poweroff>destroy</on_poweroff>\n"
                        "  <on_reboot>restart</on_reboot>\n"
                        "  <on_crash>destroy</on_crash>\n"
                        "  <devices>\n"
                        "    <interface type='network'>\n"
                        "      <mac address='52:54:00:00:00:01'/>\n"
                        "      <source network='lan'/>\n"
                        "      <target dev='vnet0'/>\n"
                        "      <model type='virtio'/>\n"
                        "      <alias name='net0'/>\n"
                        "    </interface>\n"
                        "    <serial type='pty'>\n"
                        "      <source path='/dev/pts/9'/>\n"
                        "      <target type='isa-serial' port='0'>\n"
                        "        <model name='isa-serial'/>\n"
                        "      </target>\n"
                        "      <alias name='serial0'/>\n"
                        "    </serial>\n"
                        "    <console type='pty' tty='/dev/pts/9'>\n"
                        "      <source path='/dev/pts/9'/>\n"
                        "      <target type='serial' port='0'/>\n"
                        "      <alias name='serial0'/>\n"
                        "    </console>\n"
                        "  </devices>\n"
                        "</domain>\n");
        g_free(round_trip(live, DOMAIN_PARSE_LIVE, 0));

        inactive = domain_def_format(def, DOMAIN_FORMAT_INACTIVE);
        g_assert_null(strstr(inactive, "id="));
        g_assert_null(strstr(inactive, "vnet0"));
        g_assert_null(strstr(inactive, "alias"));
        g_assert_null(strstr(inactive, "/dev/pts"));
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        add_cases("valid", test_valid);
        add_cases("live", test_live);
        add_cases("invalid", test_invalid);

        g_test_add_func("/domain-conf/empty", test_empty);
        g_test_add_func("/domain-conf/huge", test_huge);
        g_test_add_func("/domain-conf/kept-too-large", test_kept_too_large);
        g_test_add_func("/domain-conf/truncated", test_truncated);
        g_test_add_func("/domain-conf/garbage", test_garbage);
        g_test_add_func("/domain-conf/mutations", test_mutations);
        g_test_add_func("/domain-conf/entities", test_entities);
        g_test_add_func("/domain-conf/parsed-fields", test_parsed_fields);
        g_test_add_func("/domain-conf/fill-defaults", test_fill_defaults);
        g_test_add_func("/domain-conf/check-runnable", test_check_runnable);
        g_test_add_func("/domain-conf/name-valid", test_name_valid);
        g_test_add_func("/domain-conf/helpers", test_helpers);
        g_test_add_func("/domain-conf/format-live-assigned", test_format_live_assigned);

        return g_test_run();
}
