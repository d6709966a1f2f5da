/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* QEMU command lines and capabilities.
 *
 * Golden files in tests/data/qemuxml/:
 *   NAME.xml    a domain (with UUID and MACs: nothing random)
 *   NAME.args   the expected argv, one argument per line; or
 *   NAME.err    the expected error message, whole
 *   NAME.opts   optional, one option per line:
 *                 caps FIXTURE      use tests/data/qemucaps/FIXTURE.xml (default: qemu-7.2)
 *                 no-vhost-net      /dev/vhost-net could not be opened: no vhost fds
 *                 serial-log PATH   the runtime's serial log
 * The runtime is fake and fixed: QMP socket /run/virtbus/qemu/NAME.qmp; interface i is "net<i>"
 * with tap fds 100+10i, 101+10i, … (one per queue) and, for virtio without driver 'qemu',
 * vhost fds 200+10i, …
 * VIRTBUS_TEST_REGENERATE=1 rewrites NAME.args / NAME.err from what the code does now: review the
 * diff before committing it. */

/* before glib.h: macro.h defines MIN/MAX unconditionally, glib.h #undefs them first */
#include "qemu-caps.h"
#include "qemu-command.h"

#include <glib.h>

#define DEFAULT_CAPS "qemu-7.2"

static char *read_file(const char *dir, const char *file, bool optional) {
        g_autofree char *path = g_test_build_filename(G_TEST_DIST, "data", dir, file, NULL);
        g_autoptr(GError) error = NULL;
        char *contents = NULL;

        if (!g_file_get_contents(path, &contents, NULL, &error)) {
                if (optional && g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
                        return NULL;
                g_error("%s", error->message);
        }
        return contents;
}

static QemuCaps *load_caps(const char *fixture) {
        g_autofree char *file = g_strconcat(fixture, ".xml", NULL);
        g_autofree char *xml = read_file("qemucaps", file, false), *error = NULL;
        QemuCaps *caps = NULL;

        if (qemu_caps_parse(xml, &caps, &error) < 0)
                g_error("%s: %s", fixture, error);
        return caps;
}

typedef struct Options {
        char *caps;
        bool no_vhost_net;
        char *serial_log;
} Options;

static void options_done(Options *o) {
        g_free(o->caps);
        g_free(o->serial_log);
}

static void parse_options(const char *name, Options *ret) {
        g_autofree char *file = g_strconcat(name, ".opts", NULL);
        g_autofree char *text = read_file("qemuxml", file, true);
        g_auto(GStrv) lines = NULL;

        *ret = (Options) { .caps = g_strdup(DEFAULT_CAPS) };
        if (!text)
                return;
        lines = g_strsplit(text, "\n", -1);
        for (char **l = lines; *l; l++) {
                if (g_str_has_prefix(*l, "caps ")) {
                        g_free(ret->caps);
                        ret->caps = g_strdup(*l + strlen("caps "));
                } else if (streq(*l, "no-vhost-net"))
                        ret->no_vhost_net = true;
                else if (g_str_has_prefix(*l, "serial-log "))
                        ret->serial_log = g_strdup(*l + strlen("serial-log "));
                else if (**l)
                        g_error("%s: unknown option '%s'", file, *l);
        }
}

/* The fake runtime; its arrays live in `storage`. */
typedef struct Runtime {
        QemuRuntime rt;
        QemuRuntimeNet nets[DOMAIN_NETS_MAX];
        char aliases[DOMAIN_NETS_MAX][32];
        int tap_fds[DOMAIN_NETS_MAX][DOMAIN_NET_QUEUES_MAX];
        int vhost_fds[DOMAIN_NETS_MAX][DOMAIN_NET_QUEUES_MAX];
        char qmp[128];
} Runtime;

static void runtime_init(Runtime *r, const DomainDef *def, const Options *o) {
        *r = (Runtime) {};
        snprintf(r->qmp, sizeof r->qmp, "/run/virtbus/qemu/%s.qmp", def->name);
        r->rt.qmp_socket = r->qmp;
        r->rt.serial_log = o ? o->serial_log : NULL;
        r->rt.nets = r->nets;
        r->rt.n_nets = def->n_nets;

        for (size_t i = 0; i < def->n_nets; i++) {
                const DomainNet *n = &def->nets[i];
                size_t queues = MAX(n->queues, 1u);
                bool vhost = n->model == DOMAIN_NET_MODEL_VIRTIO && n->driver != DOMAIN_NET_DRIVER_QEMU &&
                             !(o && o->no_vhost_net);

                snprintf(r->aliases[i], sizeof r->aliases[i], "net%zu", i);
                for (size_t k = 0; k < queues; k++) {
                        r->tap_fds[i][k] = (int) (100 + 10 * i + k);
                        r->vhost_fds[i][k] = (int) (200 + 10 * i + k);
                }
                r->nets[i] = (QemuRuntimeNet) {
                        .alias = r->aliases[i],
                        .tap_fds = r->tap_fds[i],
                        .n_tap_fds = queues,
                        .vhost_fds = r->vhost_fds[i],
                        .n_vhost_fds = vhost ? queues : 0,
                };
        }
}

static DomainDef *parse_domain(const char *xml) {
        DomainDef *def = NULL;
        g_autofree char *error = NULL;

        if (domain_def_parse(xml, 0, &def, &error) < 0)
                g_error("%s", error);
        /* golden domains carry their UUID and MACs: what remains to fill is not random */
        g_assert_true(def->has_uuid);
        for (size_t i = 0; i < def->n_nets; i++)
                g_assert_true(def->nets[i].has_mac);
        g_assert_cmpint(domain_def_fill_defaults(def), ==, 0);
        g_assert_cmpint(domain_def_check_runnable(def, NULL), ==, 0);
        return def;
}

static void regenerate(const char *name, int r, char **argv, const char *error, char **expected_args,
                       char **expected_err) {
        g_autofree char *dir = g_test_build_filename(G_TEST_DIST, "data", "qemuxml", NULL);
        g_autofree char *args_path = g_strdup_printf("%s/%s.args", dir, name);
        g_autofree char *err_path = g_strdup_printf("%s/%s.err", dir, name);
        g_autoptr(GError) e = NULL;

        g_clear_pointer(expected_args, g_free);
        g_clear_pointer(expected_err, g_free);
        if (r < 0) {
                *expected_err = g_strconcat(error, "\n", NULL);
                (void) unlink(args_path);
                if (!g_file_set_contents(err_path, *expected_err, -1, &e))
                        g_error("%s", e->message);
        } else {
                g_autofree char *joined = g_strjoinv("\n", argv);

                *expected_args = g_strconcat(joined, "\n", NULL);
                (void) unlink(err_path);
                if (!g_file_set_contents(args_path, *expected_args, -1, &e))
                        g_error("%s", e->message);
        }
}

static void test_golden(gconstpointer data) {
        const char *name = data;
        g_autofree char *xml_file = g_strconcat(name, ".xml", NULL);
        g_autofree char *args_file = g_strconcat(name, ".args", NULL);
        g_autofree char *err_file = g_strconcat(name, ".err", NULL);
        g_autofree char *xml = read_file("qemuxml", xml_file, false);
        g_autofree char *expected_args = read_file("qemuxml", args_file, true);
        g_autofree char *expected_err = read_file("qemuxml", err_file, true);
        _cleanup_(domain_def_freep) DomainDef *def = parse_domain(xml);
        _cleanup_(qemu_caps_freep) QemuCaps *caps = NULL;
        _cleanup_(qemu_argv_freep) char **argv = NULL;
        _cleanup_(options_done) Options o = {};
        g_autofree char *error = NULL;
        Runtime rt;
        int r;

        parse_options(name, &o);
        caps = load_caps(o.caps);
        runtime_init(&rt, def, &o);

        r = qemu_build_command_line(def, caps, &rt.rt, &argv, &error);
        if (getenv("VIRTBUS_TEST_REGENERATE"))
                regenerate(name, r, argv, error, &expected_args, &expected_err);
        g_assert_true(!expected_args != !expected_err); /* exactly one of them */
        if (expected_err) {
                g_strchomp(expected_err);
                if (r >= 0)
                        g_error("%s: built a command line, expected: %s", name, expected_err);
                g_assert_null(argv);
                g_assert_cmpstr(error, ==, expected_err);
                g_assert_cmpint(r, ==,
                                g_str_has_prefix(expected_err, "unsupported configuration: ") ? -EOPNOTSUPP
                                                                                              : -EINVAL);
                /* same verdict without anyone asking for the message */
                g_assert_cmpint(qemu_build_command_line(def, caps, &rt.rt, &argv, NULL), ==, r);
        } else {
                g_autofree char *joined = NULL, *lines = NULL;

                if (r < 0)
                        g_error("%s: %s", name, error);
                g_assert_null(error);
                joined = g_strjoinv("\n", argv);
                lines = g_strconcat(joined, "\n", NULL);
                g_assert_cmpstr(lines, ==, expected_args);
        }
}

static int compare_names(gconstpointer a, gconstpointer b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static void add_golden_cases(void) {
        g_autofree char *path = g_test_build_filename(G_TEST_DIST, "data", "qemuxml", NULL);
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GError) error = NULL;
        g_autoptr(GDir) d = NULL;
        const char *f;

        d = g_dir_open(path, 0, &error);
        if (!d)
                g_error("%s", error->message);
        while ((f = g_dir_read_name(d)))
                if (g_str_has_suffix(f, ".xml"))
                        g_ptr_array_add(names, g_strndup(f, strlen(f) - strlen(".xml")));
        g_ptr_array_sort(names, compare_names);
        g_assert_cmpuint(names->len, >=, 20);

        for (guint i = 0; i < names->len; i++) {
                g_autofree char *test_path =
                        g_strdup_printf("/qemu-command/golden/%s", (char *) names->pdata[i]);

                g_test_add_data_func_full(test_path, g_strdup(names->pdata[i]), test_golden, g_free);
        }
}

/* ---- errors that need a caps or runtime no fixture has ---- */

static const char net_domain[] =
        "<domain type='qemu'><name>t</name><uuid>6a7d1b3c-5e2f-4f1e-9a8b-0c1d2e3f4a5b</uuid>"
        "<memory>65536</memory><os><type>hvm</type></os><devices>"
        "<interface type='network'><mac address='52:54:00:00:00:01'/><source network='lan'/>"
        "<model type='virtio'/><driver queues='2'/></interface>"
        "<serial type='pty'><target port='1'/></serial>"
        "</devices></domain>";

static void expect_build_error(const DomainDef *def, const QemuCaps *caps, const QemuRuntime *rt,
                               int expected_r, const char *expected) {
        _cleanup_(qemu_argv_freep) char **argv = NULL;
        g_autofree char *error = NULL;

        g_assert_cmpint(qemu_build_command_line(def, caps, rt, &argv, &error), ==, expected_r);
        g_assert_null(argv);
        g_assert_cmpstr(error, ==, expected);
}

static void test_runtime_mismatch(void) {
        _cleanup_(domain_def_freep) DomainDef *def = parse_domain(net_domain);
        _cleanup_(qemu_caps_freep) QemuCaps *caps = load_caps(DEFAULT_CAPS);
        Runtime rt;

        runtime_init(&rt, def, NULL);
        rt.rt.n_nets = 0;
        expect_build_error(def, caps, &rt.rt, -EINVAL, "internal error: 1 interfaces but 0 prepared");

        runtime_init(&rt, def, NULL);
        rt.nets[0].n_tap_fds = 1;
        expect_build_error(def, caps, &rt.rt, -EINVAL,
                           "internal error: interface '52:54:00:00:00:01' has 2 queues but 1 tap fds");

        runtime_init(&rt, def, NULL);
        rt.nets[0].n_vhost_fds = 1;
        expect_build_error(def, caps, &rt.rt, -EINVAL,
                           "internal error: interface '52:54:00:00:00:01' has 2 tap fds but 1 vhost fds");

        runtime_init(&rt, def, NULL);
        rt.tap_fds[0][1] = -1;
        expect_build_error(def, caps, &rt.rt, -EINVAL,
                           "internal error: interface '52:54:00:00:00:01' has an invalid tap fd");

        runtime_init(&rt, def, NULL);
        rt.nets[0].alias = "net0,script=/tmp/x";
        expect_build_error(def, caps, &rt.rt, -EINVAL,
                           "internal error: interface '52:54:00:00:00:01' has no usable alias");

        runtime_init(&rt, def, NULL);
        rt.rt.qmp_socket = NULL;
        expect_build_error(def, caps, &rt.rt, -EINVAL, "internal error: no QMP socket path");

        /* vhost fds for an interface that must not use vhost-net */
        def->nets[0].driver = DOMAIN_NET_DRIVER_QEMU;
        runtime_init(&rt, def, NULL);
        rt.nets[0].n_vhost_fds = 2;
        expect_build_error(def, caps, &rt.rt, -EINVAL,
                           "internal error: interface '52:54:00:00:00:01' got vhost fds but must not use "
                           "vhost-net");
}

static QemuCaps *caps_without(const char *device, const char *prop) {
        QemuCaps *caps = load_caps(DEFAULT_CAPS);

        for (size_t i = 0; i < caps->n_devices; i++) {
                QemuCapsDevice *d = &caps->devices[i];

                if (!streq(d->name, device))
                        continue;
                if (!prop) {
                        free(d->name);
                        d->name = strdup("removed-for-test");
                        continue;
                }
                for (size_t j = 0; j < d->n_props; j++)
                        if (streq(d->props[j], prop)) {
                                free(d->props[j]);
                                memmove(d->props + j, d->props + j + 1, (d->n_props - j) * sizeof(char *));
                                d->n_props--;
                                break;
                        }
        }
        return caps;
}

static void test_caps_missing(void) {
        _cleanup_(domain_def_freep) DomainDef *def = parse_domain(net_domain);
        Runtime rt;

        runtime_init(&rt, def, NULL);
        {
                _cleanup_(qemu_caps_freep) QemuCaps *caps = caps_without("virtio-net-pci", "mq");

                g_assert_false(qemu_caps_has_device_prop(caps, "virtio-net-pci", "mq"));
                expect_build_error(
                        def, caps, &rt.rt, -EOPNOTSUPP,
                        "unsupported configuration: virtio-net-pci 'mq' option not supported with "
                        "this QEMU binary");
        }
        {
                _cleanup_(qemu_caps_freep) QemuCaps *caps = caps_without("virtio-net-pci", NULL);

                expect_build_error(
                        def, caps, &rt.rt, -EOPNOTSUPP,
                        "unsupported configuration: device 'virtio-net-pci' is not supported with this "
                        "QEMU binary (/usr/bin/qemu-system-x86_64)");
        }
        {
                /* without isa-serial's index property only ports in creation order work */
                _cleanup_(qemu_caps_freep) QemuCaps *caps = caps_without("isa-serial", "index");

                expect_build_error(
                        def, caps, &rt.rt, -EOPNOTSUPP,
                        "unsupported configuration: isa-serial 'index' option not supported with this "
                        "QEMU binary");
        }
        {
                _cleanup_(qemu_caps_freep) QemuCaps *caps = load_caps(DEFAULT_CAPS);

                caps->kvm = false;
                def->virt_type = DOMAIN_VIRT_KVM;
                expect_build_error(
                        def, caps, &rt.rt, -EOPNOTSUPP,
                        "unsupported configuration: domain 't' has type 'kvm', but KVM is not available "
                        "with this QEMU binary on this host (type 'qemu' runs it with TCG)");
        }
}

static void test_pci_slots(void) {
        g_autoptr(GString) xml = g_string_new("<domain type='qemu'><name>many</name>"
                                              "<uuid>6a7d1b3c-5e2f-4f1e-9a8b-0c1d2e3f4a5b</uuid>"
                                              "<memory>65536</memory><os><type>hvm</type></os><devices>");
        _cleanup_(qemu_caps_freep) QemuCaps *caps = load_caps(DEFAULT_CAPS);
        _cleanup_(domain_def_freep) DomainDef *def = NULL;
        _cleanup_(qemu_argv_freep) char **argv = NULL;
        Runtime rt;

        for (int i = 0; i < 30; i++)
                g_string_append_printf(xml,
                                       "<interface type='bridge'><mac address='52:54:00:00:01:%02x'/>"
                                       "<source bridge='br0'/><model type='e1000'/></interface>",
                                       i);
        g_string_append(xml,
                        "<disk><source file='/a'/><target dev='sda' bus='sata'/></disk></devices></domain>");

        /* 30 NICs fill the slots; q35's AHCI is built in, pc needs one more slot for it */
        def = parse_domain(xml->str);
        runtime_init(&rt, def, NULL);
        free(def->os_machine);
        def->os_machine = strdup("q35");
        g_assert_cmpint(qemu_build_command_line(def, caps, &rt.rt, &argv, NULL), ==, 0);
        free(def->os_machine);
        def->os_machine = strdup("pc");
        expect_build_error(
                def, caps, &rt.rt, -EOPNOTSUPP,
                "unsupported configuration: domain 'many' needs 31 PCI slots, but the machine has 30 "
                "for devices (PCI bridges are not supported)");
}

/* ---- capabilities ---- */

static void test_caps_fixtures(void) {
        static const char *const fixtures[] = { "qemu-7.2", "qemu-7.2-notx" };

        for (size_t i = 0; i < G_N_ELEMENTS(fixtures); i++) {
                g_autofree char *file = g_strconcat(fixtures[i], ".xml", NULL);
                g_autofree char *xml = read_file("qemucaps", file, false), *out = NULL;
                _cleanup_(qemu_caps_freep) QemuCaps *caps = load_caps(fixtures[i]);

                /* the cache format is canonical */
                out = qemu_caps_format(caps);
                g_assert_cmpstr(out, ==, xml);

                g_assert_cmpstr(caps->binary, ==, "/usr/bin/qemu-system-x86_64");
                g_assert_cmpuint(caps->version, ==, 7002022);
                g_assert_true(caps->kvm);
                /* every device the command line may use was probed */
                for (const char *const *d = qemu_caps_probed_devices; *d; d++)
                        g_assert_true(qemu_caps_has_device(caps, *d));
                g_assert_false(qemu_caps_has_device(caps, "e1000e"));
                g_assert_true(qemu_caps_has_device_prop(caps, "virtio-net-pci", "host_mtu"));
                g_assert_true(qemu_caps_has_device_prop(caps, "virtio-net-pci", "tx_queue_size"));
                g_assert_false(qemu_caps_has_device_prop(caps, "virtio-net-pci", "no-such-prop"));
                g_assert_false(qemu_caps_has_device_prop(caps, "no-such-device", "tx"));
                g_assert_cmpint(qemu_caps_has_device_prop(caps, "virtio-net-pci", "tx"), ==, i == 0);
                for (size_t k = 0; k < caps->n_devices; k++)
                        g_assert_null(caps->devices[k].props[caps->devices[k].n_props]);
        }
}

static void test_caps_built(void) {
        char *props[] = { (char *) "tx", (char *) "a'b", NULL };
        QemuCapsDevice devices[] = {
                { .name = (char *) "virtio-net-pci", .props = props, .n_props = 2 },
                { .name = (char *) "e1000", .props = (char *[]) { NULL }, .n_props = 0 },
        };
        QemuCaps caps = {
                .binary = (char *) "/opt/q&a/qemu",
                .mtime_ns = -5,
                .size = UINT64_MAX,
                .version = 8002001,
                .devices = devices,
                .n_devices = 2,
        };
        g_autofree char *out = qemu_caps_format(&caps), *again = NULL;
        _cleanup_(qemu_caps_freep) QemuCaps *parsed = NULL;

        g_assert_cmpstr(out, ==,
                        "<qemucaps binary='/opt/q&amp;a/qemu' mtime='-5' size='18446744073709551615' "
                        "version='8002001' kvm='no'>\n"
                        "  <device name='virtio-net-pci'>\n"
                        "    <prop name='tx'/>\n"
                        "    <prop name='a&apos;b'/>\n"
                        "  </device>\n"
                        "  <device name='e1000'/>\n"
                        "</qemucaps>\n");
        g_assert_cmpint(qemu_caps_parse(out, &parsed, NULL), ==, 0);
        g_assert_cmpint(parsed->mtime_ns, ==, -5);
        g_assert_cmpuint(parsed->size, ==, UINT64_MAX);
        g_assert_false(parsed->kvm);
        g_assert_true(qemu_caps_has_device_prop(parsed, "virtio-net-pci", "a'b"));
        g_assert_true(qemu_caps_has_device(parsed, "e1000"));
        g_assert_nonnull(parsed->devices[1].props);
        again = qemu_caps_format(parsed);
        g_assert_cmpstr(again, ==, out);

        g_assert_null(qemu_caps_free(NULL));
        g_assert_false(qemu_caps_has_device(NULL, "e1000"));
}

static void test_caps_invalid(void) {
        static const char *const bad[] = {
                "",
                "garbage",
                "<qemucaps/>",
                "<caps binary='/q' mtime='1' size='1' version='1' kvm='no'/>",
                "<qemucaps binary='q' mtime='1' size='1' version='1' kvm='no'/>",
                "<qemucaps binary='/q' mtime='x' size='1' version='1' kvm='no'/>",
                "<qemucaps binary='/q' mtime='-' size='1' version='1' kvm='no'/>",
                "<qemucaps binary='/q' mtime='1' size='-1' version='1' kvm='no'/>",
                "<qemucaps binary='/q' mtime='1' size='1' version='1' kvm='maybe'/>",
                "<qemucaps binary='/q' mtime='1' size='1' version='1' kvm='no' extra='1'/>",
                "<qemucaps binary='/q' mtime='1' size='1' version='1' kvm='no'><other/></qemucaps>",
                "<qemucaps binary='/q' mtime='1' size='1' version='1' kvm='no'>text</qemucaps>",
                "<qemucaps binary='/q' mtime='1' size='1' version='1' kvm='no'><device/></qemucaps>",
                "<qemucaps binary='/q' mtime='1' size='1' version='1' kvm='no'><device name='a'/>"
                "<device name='a'/></qemucaps>",
                "<qemucaps binary='/q' mtime='1' size='1' version='1' kvm='no'><device name='a'><prop/>"
                "</device></qemucaps>",
                "<qemucaps binary='/q' mtime='1' size='1' version='1' kvm='no'><device name='a'>"
                "<prop name='x'><y/></prop></device></qemucaps>",
                "<!DOCTYPE qemucaps><qemucaps binary='/q' mtime='1' size='1' version='1' kvm='no'/>",
        };

        for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
                _cleanup_(qemu_caps_freep) QemuCaps *caps = NULL;
                g_autofree char *error = NULL;

                g_assert_cmpint(qemu_caps_parse(bad[i], &caps, &error), ==, -EBADMSG);
                g_assert_null(caps);
                g_assert_true(g_str_has_prefix(error, "XML error: "));
        }
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

        add_golden_cases();
        g_test_add_func("/qemu-command/runtime-mismatch", test_runtime_mismatch);
        g_test_add_func("/qemu-command/caps-missing", test_caps_missing);
        g_test_add_func("/qemu-command/pci-slots", test_pci_slots);
        g_test_add_func("/qemu-caps/fixtures", test_caps_fixtures);
        g_test_add_func("/qemu-caps/built", test_caps_built);
        g_test_add_func("/qemu-caps/invalid", test_caps_invalid);

        return g_test_run();
}
