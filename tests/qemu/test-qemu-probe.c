/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The capability probe against the real QEMU, its cache (hit without spawning, invalidated by a
 * changed binary, corrupt files re-probed), and fake-qemu-no-tx (the same QEMU minus
 * virtio-net-pci's 'tx'), which other tests use to prove that txmode needs 'tx'. */

#include <glib.h>
#include <glib/gstdio.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "fileio.h"
#include "qemu-caps-probe.h"
#include "qmp.h"

static char *real_qemu(void) {
        char *p = g_find_program_in_path("qemu-system-x86_64");

        g_assert_nonnull(p); /* tools/test installs qemu-system-x86 */
        return p;
}

static const char *fake_no_tx(void) {
        const char *p = g_getenv("VIRTBUS_FAKE_QEMU_NO_TX");

        g_assert_nonnull(p); /* set by tests/qemu/meson.build */
        g_assert_true(g_file_test(p, G_FILE_TEST_IS_EXECUTABLE));
        return p;
}

static const QemuCapsDevice *find_device(const QemuCaps *caps, const char *name) {
        for (size_t i = 0; i < caps->n_devices; i++)
                if (streq(caps->devices[i].name, name))
                        return &caps->devices[i];
        return NULL;
}

/* No probe leaves its private temp dir behind. */
static unsigned count_probe_dirs(void) {
        const char *tmp = g_getenv("TMPDIR");
        DIR *d = opendir(isempty(tmp) || strlen(tmp) > 64 ? "/tmp" : tmp);
        struct dirent *de;
        unsigned n = 0;

        g_assert_nonnull(d);
        while ((de = readdir(d)))
                if (g_str_has_prefix(de->d_name, "virtbus-probe-"))
                        n++;
        closedir(d);
        return n;
}

static void test_probe_real(void) {
        g_autofree char *qemu = real_qemu();
        _cleanup_(qemu_caps_freep) QemuCaps *caps = NULL;
        const QemuCapsDevice *d;
        unsigned dirs = count_probe_dirs();
        struct stat st;

        g_assert_cmpint(qemu_caps_probe(qemu, &caps), ==, 0);
        g_assert_cmpstr(caps->binary, ==, qemu);
        g_assert_cmpint(stat(qemu, &st), ==, 0);
        g_assert_cmpint(caps->mtime_ns, ==, (int64_t) st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec);
        g_assert_cmpuint(caps->size, ==, (uint64_t) st.st_size);
        g_assert_cmpuint(caps->version, >=, 7002000); /* Debian 12: 7.2.x */
        g_assert_cmpuint(caps->version % 1000000 / 1000, <=, 999);

        for (size_t i = 0; qemu_caps_probed_devices[i]; i++)
                g_assert_true(qemu_caps_has_device(caps, qemu_caps_probed_devices[i]));
        g_assert_true(qemu_caps_has_device_prop(caps, "virtio-net-pci", "tx"));
        g_assert_true(qemu_caps_has_device_prop(caps, "virtio-net-pci", "mrg_rxbuf"));
        g_assert_true(qemu_caps_has_device_prop(caps, "virtio-net-pci", "host_mtu"));
        g_assert_true(qemu_caps_has_device_prop(caps, "virtio-net-pci", "mq"));
        g_assert_false(qemu_caps_has_device_prop(caps, "virtio-net-pci", "no-such-prop"));
        g_assert_true(qemu_caps_has_device_prop(caps, "e1000", "mac"));
        d = find_device(caps, "virtio-net-pci");
        g_assert_nonnull(d);
        g_assert_cmpuint(d->n_props, >, 20);
        g_assert_null(d->props[d->n_props]); /* NULL-terminated */

        g_assert_cmpuint(count_probe_dirs(), ==, dirs);
}

/* A wrapper script around the real QEMU that counts its runs: the proof of a cache hit is that
 * nothing was spawned. */
typedef struct Wrapper {
        char *dir, *cache, *script, *count;
} Wrapper;

static void wrapper_write(Wrapper *w, const char *extra) {
        g_autofree char *qemu = real_qemu();
        g_autofree char *text = g_strdup_printf("#!/bin/sh\n%secho run >>'%s'\nexec '%s' \"$@\"\n", extra, w->count,
                                                qemu);

        g_assert_true(g_file_set_contents(w->script, text, -1, NULL));
        g_assert_cmpint(chmod(w->script, 0755), ==, 0);
}

static void wrapper_init(Wrapper *w) {
        w->dir = g_dir_make_tmp("test-qemu-probe-XXXXXX", NULL);
        g_assert_nonnull(w->dir);
        w->cache = g_build_filename(w->dir, "cache", "qemu", NULL); /* created on first store */
        w->script = g_build_filename(w->dir, "qemu wrapper,with comma", NULL);
        w->count = g_build_filename(w->dir, "runs", NULL);
        wrapper_write(w, "");
}

static unsigned wrapper_runs(Wrapper *w) {
        g_autofree char *text = NULL;
        unsigned n = 0;

        if (!g_file_get_contents(w->count, &text, NULL, NULL))
                return 0;
        for (const char *p = text; *p; p++)
                n += *p == '\n';
        return n;
}

static void wrapper_done(Wrapper *w) {
        const char *argv[] = { "rm", "-rf", w->dir, NULL };

        g_assert_true(g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL, NULL));
        g_free(w->dir);
        g_free(w->cache);
        g_free(w->script);
        g_free(w->count);
}

static void file_identity(const char *path, struct stat *ret) {
        g_assert_cmpint(stat(path, ret), ==, 0);
}

static void test_cache(void) {
        _cleanup_(qemu_caps_freep) QemuCaps *a = NULL, *b = NULL, *c = NULL, *d = NULL, *e = NULL;
        _cleanup_free_ char *path = NULL, *fa = NULL, *fb = NULL;
        struct stat st1, st2;
        struct timespec ts[2] = { { .tv_sec = 1000000000 }, { .tv_sec = 1000000000 } };
        Wrapper w;

        wrapper_init(&w);
        path = qemu_caps_cache_path(w.cache, w.script);
        g_assert_nonnull(path);

        /* Miss: nothing cached. */
        g_assert_cmpint(qemu_caps_cache_lookup(w.cache, w.script, &a), ==, -ENOENT);

        /* First use probes (one run) and stores. */
        g_assert_cmpint(qemu_caps_get(w.cache, w.script, &a), ==, 0);
        g_assert_cmpuint(wrapper_runs(&w), ==, 1);
        g_assert_cmpstr(a->binary, ==, w.script);
        g_assert_true(qemu_caps_has_device_prop(a, "virtio-net-pci", "tx"));
        file_identity(path, &st1);

        /* Second use: served from the cache — no run, the file untouched — and identical. */
        g_assert_cmpint(qemu_caps_get(w.cache, w.script, &b), ==, 0);
        g_assert_cmpuint(wrapper_runs(&w), ==, 1);
        file_identity(path, &st2);
        g_assert_cmpuint(st1.st_ino, ==, st2.st_ino);
        g_assert_cmpint(st1.st_mtim.tv_sec, ==, st2.st_mtim.tv_sec);
        g_assert_cmpint(st1.st_mtim.tv_nsec, ==, st2.st_mtim.tv_nsec);
        fa = qemu_caps_format(a);
        fb = qemu_caps_format(b);
        g_assert_cmpstr(fa, ==, fb);

        /* Touching the binary (mtime) invalidates: probed again. */
        g_assert_cmpint(utimensat(AT_FDCWD, w.script, ts, 0), ==, 0);
        g_assert_cmpint(qemu_caps_cache_lookup(w.cache, w.script, &c), ==, -ENOENT);
        g_assert_cmpint(qemu_caps_get(w.cache, w.script, &c), ==, 0);
        g_assert_cmpuint(wrapper_runs(&w), ==, 2);
        g_assert_cmpint(c->mtime_ns, ==, 1000000000LL * 1000000000LL);
        c = qemu_caps_free(c);
        g_assert_cmpint(qemu_caps_get(w.cache, w.script, &c), ==, 0);
        g_assert_cmpuint(wrapper_runs(&w), ==, 2);

        /* Same mtime, different size: invalidates too. */
        wrapper_write(&w, "# a longer script\n");
        g_assert_cmpint(utimensat(AT_FDCWD, w.script, ts, 0), ==, 0);
        g_assert_cmpint(qemu_caps_cache_lookup(w.cache, w.script, &d), ==, -ENOENT);
        g_assert_cmpint(qemu_caps_get(w.cache, w.script, &d), ==, 0);
        g_assert_cmpuint(wrapper_runs(&w), ==, 3);
        d = qemu_caps_free(d);

        /* Corrupt cache files are logged and re-probed, never fatal. */
        static const char *const garbage[] = {
                "", "not xml at all", "<qemucaps", "<qemucaps binary='/x' mtime='1' size='1' version='1' kvm='no'/>",
                "<other/>",
        };
        for (size_t i = 0; i < ELEMENTSOF(garbage); i++) {
                unsigned before = wrapper_runs(&w);

                g_assert_cmpint(write_file_atomic(path, garbage[i], strlen(garbage[i]), 0644), ==, 0);
                g_assert_cmpint(qemu_caps_cache_lookup(w.cache, w.script, &d), <, 0);
                g_assert_null(d);
                g_assert_cmpint(qemu_caps_get(w.cache, w.script, &d), ==, 0);
                g_assert_cmpuint(wrapper_runs(&w), ==, before + 1);
                g_assert_true(qemu_caps_has_device_prop(d, "virtio-net-pci", "host_mtu"));
                d = qemu_caps_free(d);
                /* …and the cache is healthy again. */
                g_assert_cmpint(qemu_caps_cache_lookup(w.cache, w.script, &d), ==, 0);
                d = qemu_caps_free(d);
        }

        /* A cache file that is not a regular file is ignored the same way. */
        g_assert_cmpint(unlink(path), ==, 0);
        g_assert_cmpint(mkdir(path, 0755), ==, 0);
        g_assert_cmpint(qemu_caps_cache_lookup(w.cache, w.script, &d), ==, -EBADMSG);
        g_assert_cmpint(rmdir(path), ==, 0);

        /* The binary is gone: a miss, and probing fails cleanly. */
        g_assert_cmpint(qemu_caps_cache_store(w.cache, a), ==, 0);
        g_assert_cmpint(unlink(w.script), ==, 0);
        g_assert_cmpint(qemu_caps_cache_lookup(w.cache, w.script, &e), ==, -ENOENT);
        g_assert_cmpint(qemu_caps_get(w.cache, w.script, &e), ==, -ENOENT);
        g_assert_null(e);

        wrapper_done(&w);
}

static void test_cache_path(void) {
        g_autofree char *q300 = g_strnfill(300, 'q'), *q301 = g_strnfill(301, 'q');
        g_autofree char *longbin = g_strconcat("/", q300, NULL), *longbin2 = g_strconcat("/", q301, NULL);
        _cleanup_free_ char *p1 = qemu_caps_cache_path("/c", "/usr/bin/qemu-system-x86_64");
        _cleanup_free_ char *p2 = qemu_caps_cache_path("/c", "/usr/bin_qemu-system-x86_64");
        _cleanup_free_ char *p3 = qemu_caps_cache_path("/c", "/a/../b c");
        _cleanup_free_ char *p4 = qemu_caps_cache_path("/c", longbin);
        _cleanup_free_ char *p5 = qemu_caps_cache_path("/c", longbin2);

        g_assert_cmpstr(p1, ==, "/c/_2fusr_2fbin_2fqemu-system-x86_5f64.xml");
        g_assert_cmpstr(p2, !=, p1); /* injective: '/' and '_' differ */
        g_assert_cmpstr(p3, ==, "/c/_2fa_2f.._2fb_20c.xml"); /* never a path component of its own */
        g_assert_true(g_str_has_prefix(p4, "/c/hash-"));
        g_assert_cmpuint(strlen(p4), <, 64);
        g_assert_cmpstr(p4, !=, p5);
}

static void test_resolve_in_path(void) {
        _cleanup_(qemu_caps_freep) QemuCaps *caps = NULL;
        g_autofree char *qemu = real_qemu();

        /* No cache: just a probe of whatever $PATH names. */
        g_assert_cmpint(qemu_caps_get(NULL, "qemu-system-x86_64", &caps), ==, 0);
        g_assert_cmpstr(caps->binary, ==, qemu);
        g_assert_cmpint(qemu_caps_get(NULL, "no-such-qemu-binary", &caps), ==, -ENOENT);
        g_assert_cmpint(qemu_caps_get(NULL, "bin/qemu", &caps), ==, -EINVAL);
}

static void test_probe_failures(void) {
        _cleanup_(qemu_caps_freep) QemuCaps *caps = NULL;
        g_autofree char *dir = g_dir_make_tmp("test-qemu-probe-XXXXXX", NULL);
        g_autofree char *noexec = g_build_filename(dir, "noexec", NULL);
        g_autofree char *liar = g_build_filename(dir, "liar", NULL);
        unsigned dirs = count_probe_dirs();
        gint64 t0;

        g_assert_cmpint(qemu_caps_probe("/nonexistent/qemu", &caps), ==, -ENOENT);
        g_assert_cmpint(qemu_caps_probe("relative/qemu", &caps), ==, -EINVAL);
        g_assert_cmpint(qemu_caps_probe("/", &caps), ==, -EACCES);

        g_assert_true(g_file_set_contents(noexec, "#!/bin/sh\n", -1, NULL));
        g_assert_cmpint(chmod(noexec, 0644), ==, 0);
        g_assert_cmpint(qemu_caps_probe(noexec, &caps), ==, -EACCES);

        /* Exits at once (like a QEMU refusing its options): detected without waiting for timeouts. */
        t0 = g_get_monotonic_time();
        g_assert_cmpint(qemu_caps_probe("/bin/false", &caps), ==, -EPROTO);
        g_assert_cmpint(g_get_monotonic_time() - t0, <, 5 * G_USEC_PER_SEC);

        /* Prints an error and exits: same. */
        g_assert_true(g_file_set_contents(liar, "#!/bin/sh\necho 'qemu: unsupported machine' >&2\nexit 1\n", -1, NULL));
        g_assert_cmpint(chmod(liar, 0755), ==, 0);
        g_assert_cmpint(qemu_caps_probe(liar, &caps), ==, -EPROTO);
        g_assert_null(caps);

        g_assert_cmpuint(count_probe_dirs(), ==, dirs);
        g_assert_cmpint(unlink(noexec), ==, 0);
        g_assert_cmpint(unlink(liar), ==, 0);
        g_assert_cmpint(rmdir(dir), ==, 0);
}

/* fake-qemu-no-tx: virtio-net-pci without 'tx', everything else as the real QEMU. */
static void test_fake_no_tx(void) {
        _cleanup_(qemu_caps_freep) QemuCaps *real = NULL, *fake = NULL, *hidden = NULL;
        g_autofree char *qemu = real_qemu();
        const QemuCapsDevice *rd, *fd;
        unsigned dirs = count_probe_dirs();

        g_assert_cmpint(qemu_caps_probe(qemu, &real), ==, 0);
        g_assert_cmpint(qemu_caps_probe(fake_no_tx(), &fake), ==, 0);

        g_assert_cmpstr(fake->binary, ==, fake_no_tx());
        g_assert_cmpuint(fake->version, ==, real->version);
        g_assert_cmpint(fake->kvm, ==, real->kvm);
        g_assert_false(qemu_caps_has_device_prop(fake, "virtio-net-pci", "tx"));
        g_assert_true(qemu_caps_has_device_prop(fake, "virtio-net-pci", "mrg_rxbuf"));
        g_assert_true(qemu_caps_has_device_prop(fake, "virtio-net-pci", "host_mtu"));

        /* Exactly one property less, on exactly one device. */
        g_assert_cmpuint(fake->n_devices, ==, real->n_devices);
        for (size_t i = 0; i < real->n_devices; i++) {
                rd = &real->devices[i];
                fd = find_device(fake, rd->name);
                g_assert_nonnull(fd);
                g_assert_cmpuint(fd->n_props + streq(rd->name, "virtio-net-pci"), ==, rd->n_props);
                for (size_t j = 0; j < rd->n_props; j++)
                        if (!streq(rd->props[j], "tx") || !streq(rd->name, "virtio-net-pci"))
                                g_assert_true(qemu_caps_has_device_prop(fake, rd->name, rd->props[j]));
        }

        /* Its test knob: a device the binary "does not have" is absent, not an error. */
        g_setenv("VIRTBUS_FAKE_QEMU_HIDE_DEVICES", "e1000,rtl8139", TRUE);
        g_assert_cmpint(qemu_caps_probe(fake_no_tx(), &hidden), ==, 0);
        g_unsetenv("VIRTBUS_FAKE_QEMU_HIDE_DEVICES");
        g_assert_false(qemu_caps_has_device(hidden, "e1000"));
        g_assert_false(qemu_caps_has_device(hidden, "rtl8139"));
        g_assert_true(qemu_caps_has_device(hidden, "virtio-net-pci"));
        g_assert_cmpuint(hidden->n_devices, ==, real->n_devices - 2);

        g_assert_cmpuint(count_probe_dirs(), ==, dirs);
}

/* Live (non-zombie) processes whose command line mentions `needle`. */
static unsigned count_processes_with(const char *needle) {
        DIR *d = opendir("/proc");
        struct dirent *de;
        unsigned n = 0;

        g_assert_nonnull(d);
        while ((de = readdir(d))) {
                g_autofree char *cmdline = NULL, *stat = NULL;
                g_autofree char *cpath = g_strdup_printf("/proc/%s/cmdline", de->d_name);
                g_autofree char *spath = g_strdup_printf("/proc/%s/stat", de->d_name);
                gsize len = 0;
                const char *st;

                if (!g_ascii_isdigit(de->d_name[0]) || !g_file_get_contents(cpath, &cmdline, &len, NULL) ||
                    !g_file_get_contents(spath, &stat, NULL, NULL))
                        continue;
                st = strrchr(stat, ')');
                if (!st || st[1] == 0 || st[2] == 'Z')
                        continue;
                for (gsize i = 0; i < len; i++)
                        if (cmdline[i] == 0)
                                cmdline[i] = ' ';
                if (len > 0 && strstr(cmdline, needle))
                        n++;
        }
        closedir(d);
        return n;
}

static JsonValue *device_props(QmpClient *qmp, const char *device) {
        _cleanup_(json_freep) JsonValue *args = json_new_object();
        JsonValue *props = NULL;

        g_assert_cmpint(json_object_set_string(args, "typename", device), ==, 0);
        g_assert_cmpint(qmp_execute_sync(qmp, "device-list-properties", args, 0, &props, NULL, NULL), ==, 0);
        g_assert_cmpint(json_type(props), ==, JSON_ARRAY);
        return props;
}

static bool props_have(const JsonValue *props, const char *name) {
        for (size_t i = 0; i < json_array_size(props); i++)
                if (streq_ptr(json_object_get_string(json_array_get(props, i), "name"), name))
                        return true;
        return false;
}

/* The fake as the daemon runs an <emulator>: QMP through -chardev socket + -mon mode=control. The
 * pid is QEMU's, the filter applies, clients may reconnect, and the proxy dies with QEMU. */
static void test_fake_no_tx_as_emulator(void) {
        g_autofree char *dir = g_dir_make_tmp("test-qemu-probe-XXXXXX", NULL);
        g_autofree char *sock = g_build_filename(dir, "dom,1.qmp", NULL); /* a comma, escaped as ",," */
        g_autofree char *chardev = NULL, *exe_link = NULL, *exe = NULL, *qemu = real_qemu();
        g_autoptr(GError) error = NULL;
        sd_event *event = NULL;
        GPid pid;
        int status;

        GString *esc = g_string_new("socket,id=charmonitor,path=");
        for (const char *p = sock; *p; p++)
                g_string_append(esc, *p == ',' ? ",," : (char[]) { *p, 0 });
        g_string_append(esc, ",server=on,wait=off");
        chardev = g_string_free(esc, FALSE);

        const char *argv[] = {
                fake_no_tx(), "-S", "-no-user-config", "-nodefaults", "-display", "none", "-machine",
                "none,accel=tcg", "-chardev", chardev, "-mon", "chardev=charmonitor,id=monitor,mode=control", NULL,
        };
        g_assert_true(g_spawn_async(NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDIN_FROM_DEV_NULL,
                                    NULL, NULL, &pid, &error));
        g_assert_no_error(error);
        g_assert_cmpint(sd_event_new(&event), >=, 0);

        for (unsigned round = 0; round < 2; round++) {
                _cleanup_(qmp_client_unrefp) QmpClient *qmp = NULL;
                _cleanup_(json_freep) JsonValue *vnet = NULL, *e1000 = NULL;

                g_assert_cmpint(qmp_connect(event, sock, &qmp), ==, 0);
                g_assert_cmpint(qmp_wait_ready(qmp), ==, 0);
                vnet = device_props(qmp, "virtio-net-pci");
                g_assert_false(props_have(vnet, "tx"));
                g_assert_true(props_have(vnet, "mrg_rxbuf"));
                g_assert_true(props_have(vnet, "host_mtu"));
                e1000 = device_props(qmp, "e1000");
                g_assert_true(props_have(e1000, "mac"));

                if (round == 0) {
                        /* The spawned pid is QEMU itself, not a wrapper around it. */
                        exe_link = g_strdup_printf("/proc/%d/exe", (int) pid);
                        exe = g_file_read_link(exe_link, NULL);
                        g_assert_nonnull(exe);
                        g_assert_cmpstr(exe, ==, qemu);
                        /* …and the proxy is the only process still showing the original argument. */
                        g_assert_cmpuint(count_processes_with(chardev), ==, 1);
                } else
                        g_assert_cmpint(qmp_execute_sync(qmp, "quit", NULL, 0, NULL, NULL, NULL), <=, 0);
        }

        g_assert_cmpint(waitpid(pid, &status, 0), ==, pid);
        g_assert_true(WIFEXITED(status));
        g_assert_cmpint(WEXITSTATUS(status), ==, 0);

        /* The proxy follows QEMU (PR_SET_PDEATHSIG). */
        for (unsigned i = 0; count_processes_with(chardev) > 0; i++) {
                g_assert_cmpuint(i, <, 200);
                g_usleep(10000);
        }

        sd_event_unref(event);
        (void) unlink(sock);
        g_assert_cmpint(rmdir(dir), ==, 0);
}

int main(int argc, char *argv[]) {
        char tmp[] = "/tmp/test-qemu-probe-XXXXXX";
        int r;

        /* A private $TMPDIR, where the probe makes its temp dirs: counting them is not disturbed by
         * tests running in parallel. */
        g_assert_nonnull(mkdtemp(tmp));
        g_setenv("TMPDIR", tmp, TRUE);

        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/qemu-probe/real", test_probe_real);
        g_test_add_func("/qemu-probe/cache", test_cache);
        g_test_add_func("/qemu-probe/cache-path", test_cache_path);
        g_test_add_func("/qemu-probe/resolve-in-path", test_resolve_in_path);
        g_test_add_func("/qemu-probe/failures", test_probe_failures);
        g_test_add_func("/qemu-probe/fake-no-tx", test_fake_no_tx);
        g_test_add_func("/qemu-probe/fake-no-tx-as-emulator", test_fake_no_tx_as_emulator);
        r = g_test_run();

        g_assert_cmpuint(count_probe_dirs(), ==, 0);
        g_assert_cmpint(rmdir(tmp), ==, 0); /* every test cleaned up after itself */
        return r;
}
