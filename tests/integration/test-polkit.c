/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Authorization: calls from uid 65534 ("nobody") against the real daemon and the real polkitd
 * of the sandbox, with rules written into $VIRTBUS_POLKIT_RULES_DIR.
 *
 * The unprivileged caller is this same program, run again with "--client" under
 * `setpriv --reuid=65534 --regid=65534 --clear-groups`: it opens its own bus connection and
 * executes one command per line from stdin, answering one line each on stdout. A client that
 * stays alive keeps its connection (and so virtbusd's cached answers); a new client is a new
 * connection. The test itself runs as root, which polkit never hears about. */

#include <glib/gstdio.h>
#include <poll.h>
#include <sys/wait.h>

#include "netdev.h"
#include "vb-test.h"

#define CONNECT_IFACE "org.libvirt.Connect"
#define DOM_IFACE "org.libvirt.Domain"
#define NET_IFACE "org.libvirt.Network"
#define PROPS_IFACE "org.freedesktop.DBus.Properties"
#define INTROSPECTABLE_IFACE "org.freedesktop.DBus.Introspectable"
#define LIBVIRT_ERROR "org.libvirt.Error"
#define ACCESS_DENIED "org.freedesktop.DBus.Error.AccessDenied"
#define INTERACTIVE_REQUIRED "org.freedesktop.DBus.Error.InteractiveAuthorizationRequired"

#define DOM_A_UUID "a0a0a0a0-0000-4000-8000-00000000000a"
#define DOM_A_PATH "/org/libvirt/QEMU/domain/_a0a0a0a0_0000_4000_8000_00000000000a"
#define DOM_B_UUID "b0b0b0b0-0000-4000-8000-00000000000b"
#define DOM_B_PATH "/org/libvirt/QEMU/domain/_b0b0b0b0_0000_4000_8000_00000000000b"
#define NET_1_UUID "c1c1c1c1-0000-4000-8000-0000000000c1"
#define NET_1_PATH "/org/libvirt/QEMU/network/_c1c1c1c1_0000_4000_8000_0000000000c1"
#define NET_2_UUID "c2c2c2c2-0000-4000-8000-0000000000c2"
#define NET_2_PATH "/org/libvirt/QEMU/network/_c2c2c2c2_0000_4000_8000_0000000000c2"
#define DOM_NEW_UUID "d0d0d0d0-0000-4000-8000-00000000000d"
#define DOM_NEW_PATH "/org/libvirt/QEMU/domain/_d0d0d0d0_0000_4000_8000_00000000000d"

/* ---- the unprivileged client (this program with --client) ---- */

static void print_error(GError *error) {
        g_autofree char *remote = g_dbus_error_get_remote_error(error);

        g_dbus_error_strip_remote_error(error);
        g_strdelimit(error->message, "\n", ' ');
        printf("ERR %s %s\n", remote ? remote : "-", error->message);
}

static GVariant *parse_args(const char *text) {
        GError *error = NULL;
        GVariant *v;

        if (g_str_equal(text, "-"))
                return NULL;
        v = g_variant_parse(NULL, text, NULL, NULL, &error);
        if (!v)
                g_error("client: cannot parse '%s': %s", text, error->message);
        return v;
}

typedef struct Multi {
        unsigned pending, ok, failed;
        char *first_error;
} Multi;

static void multi_done(GObject *source, GAsyncResult *result, gpointer userdata) {
        g_autoptr(GVariant) reply = NULL;
        Multi *m = userdata;
        GError *error = NULL;

        reply = g_dbus_connection_call_finish(G_DBUS_CONNECTION(source), result, &error);
        if (reply)
                m->ok++;
        else {
                m->failed++;
                if (!m->first_error)
                        m->first_error = g_dbus_error_get_remote_error(error);
                g_error_free(error);
        }
        m->pending--;
}

/* Commands, one per line:
 *   call i|- PATH INTERFACE METHOD ARGS   ARGS: a GVariant tuple in text form, or "-"; "i" sets
 *                                         ALLOW_INTERACTIVE_AUTHORIZATION
 *   multi N PATH INTERFACE METHOD ARGS    N calls at once (not interactive)
 *   own NAME                              RequestName
 * Answers: "OK <reply as GVariant text>", "ERR <error name> <message>", or for multi
 * "DONE <succeeded> <failed> <first error name>". */
static int client_main(void) {
        g_autoptr(GDBusConnection) bus = NULL;
        GError *error = NULL;
        char line[1 << 16];

        bus = g_bus_get_sync(G_BUS_TYPE_SYSTEM, NULL, &error);
        if (!bus) {
                printf("FAIL %s\n", error->message);
                return 1;
        }
        printf("READY %s\n", g_dbus_connection_get_unique_name(bus));
        fflush(stdout);

        while (fgets(line, sizeof line, stdin)) {
                g_auto(GStrv) f = NULL;

                g_strchomp(line);
                f = g_strsplit(line, " ", 6);
                if (g_str_equal(f[0], "quit"))
                        break;
                if (g_str_equal(f[0], "own") && f[1]) {
                        g_autoptr(GVariant) r = g_dbus_connection_call_sync(
                                bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                "RequestName", g_variant_new("(su)", f[1], 4 /* DO_NOT_QUEUE */), NULL,
                                G_DBUS_CALL_FLAGS_NONE, 10000, NULL, &error);
                        if (r) {
                                g_autofree char *text = g_variant_print(r, TRUE);
                                printf("OK %s\n", text);
                        } else {
                                print_error(error);
                                g_clear_error(&error);
                        }
                } else if (g_str_equal(f[0], "call") && g_strv_length(f) == 6) {
                        GDBusCallFlags flags = g_str_equal(f[1], "i") ?
                                G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION : G_DBUS_CALL_FLAGS_NONE;
                        g_autoptr(GVariant) r = NULL;

                        r = g_dbus_connection_call_sync(bus, VB_BUS_NAME, f[2], f[3], f[4], parse_args(f[5]),
                                                        NULL, flags, 30000, NULL, &error);
                        if (r) {
                                g_autofree char *text = g_variant_print(r, TRUE);
                                g_strdelimit(text, "\n", ' ');
                                printf("OK %s\n", text);
                        } else {
                                print_error(error);
                                g_clear_error(&error);
                        }
                } else if (g_str_equal(f[0], "multi") && g_strv_length(f) == 6) {
                        g_autoptr(GVariant) args = parse_args(f[5]);
                        Multi m = { .pending = (unsigned) atoi(f[1]) };
                        unsigned n = m.pending;

                        if (args)
                                g_variant_ref_sink(args);
                        for (unsigned i = 0; i < n; i++)
                                g_dbus_connection_call(bus, VB_BUS_NAME, f[2], f[3], f[4],
                                                       args ? g_variant_ref(args) : NULL, NULL,
                                                       G_DBUS_CALL_FLAGS_NONE, 30000, NULL, multi_done, &m);
                        while (m.pending > 0)
                                g_main_context_iteration(NULL, TRUE);
                        printf("DONE %u %u %s\n", m.ok, m.failed, m.first_error ? m.first_error : "-");
                        g_free(m.first_error);
                } else
                        printf("BAD %s\n", line);
                fflush(stdout);
        }
        return 0;
}

/* ---- the test's side ---- */

/* (u 0): the flags argument of most methods */
static GVariant *no_flags(void) {
        return g_variant_new("(u)", 0);
}

typedef struct Client {
        GPid pid;
        int in, out;
        GString *buf;
        char *name; /* its unique bus name */
} Client;

/* One line from the client, or NULL after timeout_ms. */
static char *client_read(Client *c, int timeout_ms) {
        gint64 end = g_get_monotonic_time() + (gint64) timeout_ms * 1000;

        for (;;) {
                char *nl = memchr(c->buf->str, '\n', c->buf->len);
                struct pollfd p = { .fd = c->out, .events = POLLIN };
                char tmp[4096];
                gint64 left;
                ssize_t n;

                if (nl) {
                        char *line = g_strndup(c->buf->str, nl - c->buf->str);
                        g_string_erase(c->buf, 0, nl - c->buf->str + 1);
                        return line;
                }
                left = end - g_get_monotonic_time();
                if (left <= 0)
                        return NULL;
                if (poll(&p, 1, (int) (left / 1000) + 1) <= 0)
                        continue;
                n = read(c->out, tmp, sizeof tmp);
                if (n <= 0)
                        g_error("client %s died", c->name ? c->name : "(starting)");
                g_string_append_len(c->buf, tmp, n);
        }
}

static Client *client_new(void) {
        g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
        const char *argv[] = {
                "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", self, "--client", NULL,
        };
        Client *c = g_new0(Client, 1);
        g_autofree char *line = NULL;
        GError *error = NULL;

        g_assert_nonnull(self);
        g_spawn_async_with_pipes(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_DO_NOT_REAP_CHILD,
                                 NULL, NULL, &c->pid, &c->in, &c->out, NULL, &error);
        g_assert_no_error(error);
        c->buf = g_string_new(NULL);
        line = client_read(c, 10000);
        if (!line || !g_str_has_prefix(line, "READY "))
                g_error("client did not start: %s", line ? line : "(timeout)");
        c->name = g_strdup(line + strlen("READY "));
        return c;
}

static void client_free(Client *c) {
        int status;

        if (!c)
                return;
        (void) !write(c->in, "quit\n", 5);
        close(c->in);
        close(c->out);
        (void) waitpid(c->pid, &status, 0);
        g_spawn_close_pid(c->pid);
        g_string_free(c->buf, TRUE);
        g_free(c->name);
        g_free(c);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Client, client_free)

static void client_send(Client *c, const char *cmd) {
        g_autofree char *l = g_strconcat(cmd, "\n", NULL);

        g_assert_cmpint(write(c->in, l, strlen(l)), ==, (gssize) strlen(l));
}

static char *call_line(gboolean interactive, const char *path, const char *iface, const char *method,
                       GVariant *args) {
        g_autofree char *text = NULL;

        if (args) {
                g_variant_ref_sink(args);
                text = g_variant_print(args, TRUE);
                g_variant_unref(args);
        }
        return g_strdup_printf("call %s %s %s %s %s", interactive ? "i" : "-", path, iface, method,
                               text ? text : "-");
}

/* Calls and returns the answer line ("OK …" or "ERR NAME message"). */
static char *client_call(Client *c, gboolean interactive, const char *path, const char *iface,
                         const char *method, GVariant *args) {
        g_autofree char *cmd = call_line(interactive, path, iface, method, args);
        char *line;

        client_send(c, cmd);
        line = client_read(c, 35000);
        if (!line)
                g_error("no answer to %s", cmd);
        return line;
}

/* org.libvirt.Connect on /org/libvirt/QEMU, without interaction */
static char *connect_call(Client *c, const char *method, GVariant *args) {
        return client_call(c, FALSE, VB_CONNECT_PATH, CONNECT_IFACE, method, args);
}

/* The same from a new connection. */
static char *nobody_call(gboolean interactive, const char *path, const char *iface, const char *method,
                         GVariant *args) {
        g_autoptr(Client) c = client_new();

        return client_call(c, interactive, path, iface, method, args);
}

static void assert_ok(const char *line) {
        if (!g_str_has_prefix(line, "OK "))
                g_error("expected success, got: %s", line);
}

static void assert_error(const char *line, const char *name, const char *contains) {
        g_autofree char *prefix = g_strdup_printf("ERR %s ", name);

        if (!g_str_has_prefix(line, prefix) || (contains && !strstr(line, contains)))
                g_error("expected %s%s%s, got: %s", name, contains ? " containing " : "",
                        contains ? contains : "", line);
}

static int compare_strp(gconstpointer a, gconstpointer b) {
        return g_strcmp0(*(char *const *) a, *(char *const *) b);
}

/* The object paths of an "OK ([...],)" answer to ListDomains/ListNetworks, sorted, joined. */
static char *list_paths(const char *line) {
        g_autoptr(GVariant) v = NULL;
        g_autoptr(GPtrArray) paths = g_ptr_array_new();
        g_autoptr(GVariantIter) it = NULL;
        GError *error = NULL;
        const char *p;

        assert_ok(line);
        v = g_variant_parse(G_VARIANT_TYPE("(ao)"), line + 3, NULL, NULL, &error);
        g_assert_no_error(error);
        g_variant_get(v, "(ao)", &it);
        while (g_variant_iter_next(it, "&o", &p))
                g_ptr_array_add(paths, (gpointer) p);
        g_ptr_array_sort(paths, compare_strp);
        g_ptr_array_add(paths, NULL);
        return g_strjoinv(" ", (char **) paths->pdata);
}

/* polkitd reloads rules on its own a moment after they change: ask from new connections
 * (which have no cached answers) until the answer is as wanted. */
static void wait_for_polkit(gboolean want_ok, const char *path, const char *iface, const char *method,
                            GVariant *args) {
        gint64 end = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
        g_autoptr(GVariant) a = g_variant_ref_sink(args);

        for (;;) {
                g_autofree char *line = nobody_call(FALSE, path, iface, method, a ? g_variant_ref(a) : NULL);

                if (g_str_has_prefix(line, "OK ") == want_ok)
                        return;
                if (g_get_monotonic_time() > end)
                        g_error("polkit did not pick up the rule change: %s.%s still answers %s", iface,
                                method, line);
                g_usleep(200 * 1000);
        }
}

static void remove_rule_and_wait(const char *file_name, const char *path, const char *iface, const char *method,
                                 GVariant *args) {
        vb_polkit_rule_remove(file_name);
        wait_for_polkit(FALSE, path, iface, method, args);
}

static char *domain_xml(const char *name, const char *uuid) {
        return g_strdup_printf("<domain type='qemu'><name>%s</name><uuid>%s</uuid>"
                               "<memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>",
                               name, uuid);
}

static char *network_xml(const char *name, const char *uuid, const char *bridge) {
        return g_strdup_printf("<network><name>%s</name>%s%s%s<bridge name='%s'/></network>", name,
                               uuid ? "<uuid>" : "", uuid ? uuid : "", uuid ? "</uuid>" : "", bridge);
}

static void root_define_domain(const char *name, const char *uuid) {
        g_autofree char *xml = domain_xml(name, uuid);
        g_variant_unref(vb_call_ok(VB_CONNECT_PATH, CONNECT_IFACE, "DomainDefineXML",
                                   g_variant_new("(s)", xml)));
}

static void root_define_network(const char *name, const char *uuid, const char *bridge) {
        g_autofree char *xml = network_xml(name, uuid, bridge);
        g_variant_unref(vb_call_ok(VB_CONNECT_PATH, CONNECT_IFACE, "NetworkDefineXML",
                                   g_variant_new("(s)", xml)));
}

static void root_undefine_domain(const char *path) {
        g_variant_unref(vb_call_ok(path, DOM_IFACE, "Undefine", no_flags()));
}

static void root_undefine_network(const char *path) {
        g_variant_unref(vb_call_ok(path, NET_IFACE, "Undefine", NULL));
}

static void root_assert_domain_state(const char *path, int state) {
        g_autoptr(GVariant) r = vb_call_ok(path, DOM_IFACE, "GetState", no_flags());
        int s, reason;

        g_variant_get(r, "((ii))", &s, &reason);
        g_assert_cmpint(s, ==, state);
}

/* Every file under the state and runtime directories with its size: "nothing changed". */
static void list_tree(GString *out, const char *dir) {
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        GDir *d = g_dir_open(dir, 0, NULL);
        const char *n;

        if (!d)
                return;
        while ((n = g_dir_read_name(d)))
                g_ptr_array_add(names, g_strdup(n));
        g_dir_close(d);
        g_ptr_array_sort(names, compare_strp);
        for (guint i = 0; i < names->len; i++) {
                g_autofree char *p = g_build_filename(dir, names->pdata[i], NULL);
                GStatBuf st;

                if (g_str_has_suffix(p, ".log") || g_stat(p, &st) < 0)
                        continue;
                g_string_append_printf(out, "%s:%lld ", p, S_ISDIR(st.st_mode) ? 0LL : (long long) st.st_size);
                if (S_ISDIR(st.st_mode))
                        list_tree(out, p);
        }
}

static char *state_snapshot(void) {
        GString *s = g_string_new(NULL);

        list_tree(s, g_getenv("VIRTBUS_STATE_DIR"));
        list_tree(s, g_getenv("VIRTBUS_RUNTIME_DIR"));
        return g_string_free(s, FALSE);
}

static gboolean log_has(const char *needle) {
        g_autofree char *log = vb_sandbox_read("virtbusd.log");
        return strstr(log, needle) != NULL;
}

/* ---- the tests ---- */

/* A value of type t for a call that only has to be well-formed: zero, empty, or what the
 * method needs to reach its authorization check (an object name, a valid definition). */
static GVariant *sample_value(const GVariantType *t, const char *method) {
        if (g_variant_type_is_tuple(t)) {
                g_autoptr(GPtrArray) items = g_ptr_array_new();

                for (const GVariantType *i = g_variant_type_first(t); i; i = g_variant_type_next(i))
                        g_ptr_array_add(items, sample_value(i, method));
                return g_variant_new_tuple((GVariant **) items->pdata, items->len);
        }
        if (g_variant_type_is_array(t))
                return g_variant_new_array(g_variant_type_element(t), NULL, 0);
        if (g_variant_type_equal(t, G_VARIANT_TYPE_STRING)) {
                if (g_str_has_prefix(method, "Domain") && g_str_has_suffix(method, "XML"))
                        return g_variant_new_take_string(domain_xml("pk-x", DOM_NEW_UUID));
                if (g_str_has_prefix(method, "Network") && g_str_has_suffix(method, "XML"))
                        return g_variant_new_take_string(network_xml("pk-netx", NULL, "vbpk9"));
                if (g_str_equal(method, "DomainLookupByUUID"))
                        return g_variant_new_string(DOM_A_UUID);
                if (g_str_equal(method, "NetworkLookupByUUID"))
                        return g_variant_new_string(NET_1_UUID);
                if (g_str_has_prefix(method, "Network"))
                        return g_variant_new_string("pk-net1");
                return g_variant_new_string("pk-a");
        }
        if (g_variant_type_equal(t, G_VARIANT_TYPE_OBJECT_PATH))
                return g_variant_new_object_path(DOM_A_PATH);
        if (g_variant_type_equal(t, G_VARIANT_TYPE_SIGNATURE))
                return g_variant_new_signature("");
        if (g_variant_type_equal(t, G_VARIANT_TYPE_VARIANT))
                return g_variant_new_variant(g_variant_new_boolean(FALSE));
        if (g_variant_type_equal(t, G_VARIANT_TYPE_INT32) && g_str_equal(method, "DomainLookupByID"))
                return g_variant_new_int32(1);
        g_assert_true(g_variant_type_is_basic(t));
        {
                /* every other basic type: all-zero bytes are a valid value */
                static const guint8 zero[8] = {};
                gsize size = g_str_equal(g_variant_type_peek_string(t), "b") ? 1 : 8;
                g_autoptr(GVariant) wide = g_variant_new_from_data(t, zero, size, TRUE, NULL, NULL);

                return g_variant_get_normal_form(wide);
        }
}

/* Every method and property of every libvirt/virtbus interface on every kind of object, as
 * introspection lists them today and tomorrow: without a rule uid 65534 is refused, gets an
 * empty list, or finds nothing. A method added without an authorization check fails here. */
static void test_every_member_checked(void) {
        static const char *const paths[] = { VB_CONNECT_PATH, DOM_A_PATH, NET_1_PATH };
        g_autoptr(Client) c = NULL;
        unsigned n_methods = 0, n_properties = 0;

        root_define_domain("pk-a", DOM_A_UUID);
        root_define_network("pk-net1", NET_1_UUID, "vbpk1");
        c = client_new();

        for (size_t p = 0; p < G_N_ELEMENTS(paths); p++) {
                g_autoptr(GVariant) r = vb_call_ok(paths[p], INTROSPECTABLE_IFACE, "Introspect", NULL);
                g_autoptr(GDBusNodeInfo) node = NULL;
                GError *error = NULL;
                const char *xml;

                g_variant_get(r, "(&s)", &xml);
                node = g_dbus_node_info_new_for_xml(xml, &error);
                g_assert_no_error(error);
                for (GDBusInterfaceInfo **i = node->interfaces; i && *i; i++) {
                        const char *iface = (*i)->name;

                        if (!g_str_has_prefix(iface, "org.libvirt.") &&
                            !g_str_has_prefix(iface, "org.virtbus."))
                                continue;
                        for (GDBusMethodInfo **m = (*i)->methods; m && *m; m++) {
                                g_autoptr(GVariantType) type = NULL;
                                g_autoptr(GString) sig = g_string_new("(");
                                g_autofree char *line = NULL;
                                const char *name = (*m)->name;

                                for (GDBusArgInfo **a = (*m)->in_args; a && *a; a++)
                                        g_string_append(sig, (*a)->signature);
                                g_string_append(sig, ")");
                                type = g_variant_type_new(sig->str);
                                line = client_call(c, FALSE, paths[p], iface, name, sample_value(type, name));
                                g_test_message("%s %s.%s: %s", paths[p], iface, name, line);
                                if (g_str_has_prefix(name, "List"))
                                        g_assert_cmpstr(line, ==, "OK (@ao [],)");
                                else if (strstr(name, "Lookup"))
                                        assert_error(line, LIBVIRT_ERROR, "not found");
                                else if (!g_str_has_prefix(line, "ERR " INTERACTIVE_REQUIRED " "))
                                        assert_error(line, ACCESS_DENIED, NULL);
                                n_methods++;
                        }
                        for (GDBusPropertyInfo **q = (*i)->properties; q && *q; q++) {
                                g_autofree char *get = client_call(c, FALSE, paths[p], PROPS_IFACE, "Get",
                                                                   g_variant_new("(ss)", iface, (*q)->name));

                                assert_error(get, ACCESS_DENIED, NULL);
                                if ((*q)->flags & G_DBUS_PROPERTY_INFO_FLAGS_WRITABLE) {
                                        g_autoptr(GVariantType) type = g_variant_type_new((*q)->signature);
                                        g_autofree char *set = client_call(
                                                c, FALSE, paths[p], PROPS_IFACE, "Set",
                                                g_variant_new("(ssv)", iface, (*q)->name,
                                                              sample_value(type, (*q)->name)));

                                        assert_error(set, INTERACTIVE_REQUIRED, NULL);
                                }
                                n_properties++;
                        }
                        {
                                g_autofree char *all = client_call(c, FALSE, paths[p], PROPS_IFACE, "GetAll",
                                                                   g_variant_new("(s)", iface));
                                assert_error(all, ACCESS_DENIED, NULL);
                        }
                }
        }
        g_test_message("%u methods, %u properties", n_methods, n_properties);
        g_assert_cmpuint(n_methods, >=, 25);
        g_assert_cmpuint(n_properties, >=, 19);
        g_assert_false(netdev_link_exists("vbpk1"));
        g_assert_false(netdev_link_exists("vbpk9"));
        root_assert_domain_state(DOM_A_PATH, 5);
        root_undefine_domain(DOM_A_PATH);
        root_undefine_network(NET_1_PATH);
}

/* Only the daemon's user (root in the sandbox) may own org.libvirt; anybody may call it. */
static void test_bus_policy(void) {
        g_autoptr(Client) c = client_new();
        g_autofree char *own = NULL, *ping = NULL, *introspect = NULL;

        client_send(c, "own org.libvirt");
        own = client_read(c, 10000);
        assert_error(own, ACCESS_DENIED, NULL);
        ping = client_call(c, FALSE, VB_CONNECT_PATH, "org.freedesktop.DBus.Peer", "Ping", NULL);
        assert_ok(ping);
        /* Introspection stays open: it tells what the API is, not what exists on the host. */
        introspect = client_call(c, FALSE, VB_CONNECT_PATH, INTROSPECTABLE_IFACE, "Introspect", NULL);
        assert_ok(introspect);
        g_assert_nonnull(strstr(introspect, "org.libvirt.Connect"));
}

/* Without a rule uid 65534 is no active local session: monitor is "no" (plain denial), manage
 * is auth_admin_keep, which polkit reports as a challenge. A call without
 * ALLOW_INTERACTIVE_AUTHORIZATION then gets InteractiveAuthorizationRequired (it could be
 * retried with interaction); with the flag, polkit finds no authentication agent for the
 * caller and still says "challenge" at once: the caller gets InteractiveAuthorizationRequired
 * too, saying that no agent answered. */
static void test_denied_without_rule(void) {
        static const struct {
                const char *path, *iface, *method, *args;
        } manage[] = {
                { DOM_A_PATH, DOM_IFACE, "Create", "(uint32 0,)" },
                { DOM_A_PATH, DOM_IFACE, "Destroy", "(uint32 0,)" },
                { DOM_A_PATH, DOM_IFACE, "Shutdown", "(uint32 0,)" },
                { DOM_A_PATH, DOM_IFACE, "Reboot", "(uint32 0,)" },
                { DOM_A_PATH, DOM_IFACE, "Reset", "(uint32 0,)" },
                { DOM_A_PATH, DOM_IFACE, "Suspend", NULL },
                { DOM_A_PATH, DOM_IFACE, "Resume", NULL },
                { DOM_A_PATH, DOM_IFACE, "Undefine", "(uint32 0,)" },
                { DOM_A_PATH, PROPS_IFACE, "Set", "('org.libvirt.Domain', 'Autostart', <true>)" },
                { NET_1_PATH, NET_IFACE, "Create", NULL },
                { NET_1_PATH, NET_IFACE, "Destroy", NULL },
                { NET_1_PATH, NET_IFACE, "Undefine", NULL },
                { NET_1_PATH, PROPS_IFACE, "Set", "('org.libvirt.Network', 'Autostart', <true>)" },
        }, monitor[] = {
                { DOM_A_PATH, DOM_IFACE, "GetXMLDesc", "(uint32 0,)" },
                { DOM_A_PATH, DOM_IFACE, "GetState", "(uint32 0,)" },
                { DOM_A_PATH, PROPS_IFACE, "Get", "('org.libvirt.Domain', 'Name')" },
                { DOM_A_PATH, PROPS_IFACE, "GetAll", "('org.libvirt.Domain',)" },
                { DOM_A_PATH, PROPS_IFACE, "GetAll", "('',)" },
                { NET_1_PATH, NET_IFACE, "GetXMLDesc", "(uint32 0,)" },
                { NET_1_PATH, PROPS_IFACE, "Get", "('org.libvirt.Network', 'Active')" },
                { NET_1_PATH, PROPS_IFACE, "GetAll", "('org.libvirt.Network',)" },
                { VB_CONNECT_PATH, PROPS_IFACE, "Get", "('org.libvirt.Connect', 'Hostname')" },
                { VB_CONNECT_PATH, PROPS_IFACE, "GetAll", "('org.libvirt.Connect',)" },
        };
        g_autofree char *xml_new = domain_xml("pk-new", DOM_NEW_UUID);
        g_autofree char *net_new = network_xml("pk-netnew", NULL, "vbpk8");
        g_autofree char *before = NULL, *after = NULL, *line = NULL, *missing = NULL;
        g_autoptr(Client) c = NULL;

        root_define_domain("pk-a", DOM_A_UUID);
        root_define_network("pk-net1", NET_1_UUID, "vbpk1");
        before = state_snapshot();
        c = client_new();

        for (size_t i = 0; i < G_N_ELEMENTS(manage); i++) {
                GVariant *args = manage[i].args ? g_variant_parse(NULL, manage[i].args, NULL, NULL, NULL)
                                                : NULL;
                g_autofree char *l = client_call(c, FALSE, manage[i].path, manage[i].iface, manage[i].method,
                                                 args);
                g_test_message("%s.%s: %s", manage[i].iface, manage[i].method, l);
                assert_error(l, INTERACTIVE_REQUIRED, "manage");
        }
        for (size_t i = 0; i < G_N_ELEMENTS(monitor); i++) {
                g_autofree char *l = client_call(c, FALSE, monitor[i].path, monitor[i].iface, monitor[i].method,
                                                 g_variant_parse(NULL, monitor[i].args, NULL, NULL, NULL));
                g_test_message("%s.%s: %s", monitor[i].iface, monitor[i].method, l);
                assert_error(l, ACCESS_DENIED, "monitor");
        }

        /* Connect: new objects need manage on them */
        line = connect_call(c, "DomainDefineXML", g_variant_new("(s)", xml_new));
        assert_error(line, INTERACTIVE_REQUIRED, "org.virtbus.domain.manage");
        g_free(line);
        line = connect_call(c, "DomainCreateXML",
                           g_variant_new("(su)", xml_new, 0));
        assert_error(line, INTERACTIVE_REQUIRED, "org.virtbus.domain.manage");
        g_free(line);
        line = connect_call(c, "NetworkDefineXML", g_variant_new("(s)", net_new));
        assert_error(line, INTERACTIVE_REQUIRED, "org.virtbus.network.manage");
        g_free(line);
        line = connect_call(c, "NetworkCreateXML", g_variant_new("(s)", net_new));
        assert_error(line, INTERACTIVE_REQUIRED, "org.virtbus.network.manage");
        g_free(line);
        /* interaction allowed, but there is no agent to ask the user */
        line = client_call(c, TRUE, VB_CONNECT_PATH, CONNECT_IFACE, "NetworkCreateXML",
                           g_variant_new("(s)", net_new));
        assert_error(line, INTERACTIVE_REQUIRED, "no authentication agent answered");
        g_free(line);
        line = client_call(c, TRUE, DOM_A_PATH, DOM_IFACE, "Create", no_flags());
        assert_error(line, INTERACTIVE_REQUIRED, "org.virtbus.domain.manage");
        g_free(line);
        /* bad XML is reported as such: it tells nothing about the host */
        line = connect_call(c, "DomainDefineXML", g_variant_new("(s)", "<x"));
        assert_error(line, LIBVIRT_ERROR, "XML error");
        g_free(line);

        /* Lists hide what the caller may not monitor; lookups answer as for a missing object. */
        line = connect_call(c, "ListDomains", no_flags());
        g_assert_cmpstr(line, ==, "OK (@ao [],)");
        g_free(line);
        line = connect_call(c, "ListNetworks", no_flags());
        g_assert_cmpstr(line, ==, "OK (@ao [],)");
        g_free(line);
        line = connect_call(c, "DomainLookupByName", g_variant_new("(s)", "pk-a"));
        missing = connect_call(c, "DomainLookupByName",
                              g_variant_new("(s)", "pk-zz"));
        assert_error(line, LIBVIRT_ERROR, "Domain not found: no domain with matching name 'pk-a'");
        assert_error(missing, LIBVIRT_ERROR, "Domain not found: no domain with matching name 'pk-zz'");
        g_free(line);
        line = connect_call(c, "DomainLookupByUUID",
                           g_variant_new("(s)", DOM_A_UUID));
        assert_error(line, LIBVIRT_ERROR, "Domain not found: no domain with matching uuid '" DOM_A_UUID "'");
        g_free(line);
        line = connect_call(c, "NetworkLookupByName",
                           g_variant_new("(s)", "pk-net1"));
        assert_error(line, LIBVIRT_ERROR, "Network not found: no network with matching name 'pk-net1'");
        g_free(line);
        line = connect_call(c, "NetworkLookupByUUID",
                           g_variant_new("(s)", NET_1_UUID));
        assert_error(line, LIBVIRT_ERROR, "Network not found: no network with matching uuid '" NET_1_UUID "'");

        /* Nothing changed: no file, no bridge, same state. */
        after = state_snapshot();
        g_assert_cmpstr(before, ==, after);
        g_assert_false(netdev_link_exists("vbpk1"));
        g_assert_false(netdev_link_exists("vbpk8"));
        root_assert_domain_state(DOM_A_PATH, 5 /* SHUTOFF */);
        g_assert_false(vb_get_bool(DOM_A_PATH, DOM_IFACE, "Autostart"));
        g_assert_false(vb_get_bool(NET_1_PATH, NET_IFACE, "Active"));
        g_assert_false(vb_get_bool(NET_1_PATH, NET_IFACE, "Autostart"));

        /* ... and every denial is in the log, with the caller's uid and the action */
        g_assert_true(log_has("Denied Create on domain 'pk-a' to uid 65534"));
        g_assert_true(log_has("org.virtbus.domain.manage needed, authentication required"));
        g_assert_true(log_has("Denied GetXMLDesc on domain 'pk-a' to uid 65534"));
        g_assert_true(log_has("org.virtbus.domain.monitor needed, not authorized"));
        g_assert_true(log_has("Denied NetworkCreateXML on network 'pk-netnew' to uid 65534"));

        root_undefine_domain(DOM_A_PATH);
        root_undefine_network(NET_1_PATH);
}

static const char rule_nobody_all[] =
        "polkit.addRule(function(action, subject) {\n"
        "        if (action.id.indexOf('org.virtbus.') == 0 && subject.user == 'nobody')\n"
        "                return polkit.Result.YES;\n"
        "});\n";

/* A rule granting the uid everything lets it do everything, without authentication. */
static void test_rule_grants_uid(void) {
        g_autofree char *xml = domain_xml("pk-new", DOM_NEW_UUID);
        g_autofree char *net = network_xml("pk-net2", NET_2_UUID, "vbpk2");
        g_autofree char *line = NULL;
        g_autoptr(Client) c = NULL;

        vb_polkit_rule_write("50-test-nobody.rules", rule_nobody_all);
        wait_for_polkit(TRUE, VB_CONNECT_PATH, PROPS_IFACE, "Get",
                        g_variant_new("(ss)", CONNECT_IFACE, "LibVersion"));

        c = client_new();
        line = connect_call(c, "DomainDefineXML", g_variant_new("(s)", xml));
        g_assert_cmpstr(line, ==, "OK (objectpath '" DOM_NEW_PATH "',)");
        g_free(line);
        line = connect_call(c, "NetworkCreateXML", g_variant_new("(s)", net));
        assert_ok(line);
        g_assert_true(netdev_link_exists("vbpk2"));
        g_free(line);
        line = connect_call(c, "ListNetworks", no_flags());
        g_assert_cmpstr(line, ==, "OK ([objectpath '" NET_2_PATH "'],)");
        g_free(line);
        line = client_call(c, FALSE, NET_2_PATH, NET_IFACE, "Destroy", NULL);
        assert_ok(line);
        g_assert_false(netdev_link_exists("vbpk2"));
        g_free(line);
        line = client_call(c, FALSE, DOM_NEW_PATH, PROPS_IFACE,
                           "Set", g_variant_new("(ssv)", DOM_IFACE, "Autostart", g_variant_new_boolean(TRUE)));
        assert_ok(line);
        g_free(line);
        line = client_call(c, FALSE, DOM_NEW_PATH, PROPS_IFACE,
                           "GetAll", g_variant_new("(s)", DOM_IFACE));
        assert_ok(line);
        g_assert_nonnull(strstr(line, "'Autostart': <<true>>")); /* libvirt-dbus' extra variant */
        g_free(line);
        line = client_call(c, FALSE, DOM_NEW_PATH, DOM_IFACE,
                           "Undefine", no_flags());
        assert_ok(line);

        remove_rule_and_wait("50-test-nobody.rules", VB_CONNECT_PATH, PROPS_IFACE, "Get",
                             g_variant_new("(ss)", CONNECT_IFACE, "LibVersion"));
}

/* The shipped per-object example, for "nobody" and domain pk-a: it may start pk-a and only
 * pk-a, and sees only pk-a. A second rule lets it monitor one of two networks. */
static void test_per_object_rule(void) {
        static const char net_rule[] =
                "polkit.addRule(function(action, subject) {\n"
                "        if (subject.user == 'nobody' && action.id == 'org.virtbus.network.monitor' &&\n"
                "            action.lookup('network.uuid') == '" NET_1_UUID "')\n"
                "                return polkit.Result.YES;\n"
                "});\n";
        g_autofree char *example_path = g_build_filename(g_getenv("VIRTBUS_SOURCE_DIR"), "polkit",
                                                         "51-virtbus-one-domain.rules.example", NULL);
        g_autofree char *example = NULL, *line = NULL, *paths = NULL;
        g_auto(GStrv) parts = NULL;
        g_autoptr(Client) c = NULL;
        GError *error = NULL;

        g_file_get_contents(example_path, &example, NULL, &error);
        g_assert_no_error(error);
        parts = g_strsplit(example, "\"alice-vm\"", -1);
        g_free(example);
        example = g_strjoinv("\"pk-a\"", parts);
        g_strfreev(parts);
        parts = g_strsplit(example, "\"alice\"", -1);
        g_free(example);
        example = g_strjoinv("\"nobody\"", parts);

        root_define_domain("pk-a", DOM_A_UUID);
        root_define_domain("pk-b", DOM_B_UUID);
        root_define_network("pk-net1", NET_1_UUID, "vbpk1");
        root_define_network("pk-net2", NET_2_UUID, "vbpk2");
        vb_polkit_rule_write("51-test-one-domain.rules", example);
        vb_polkit_rule_write("52-test-one-network.rules", net_rule);
        wait_for_polkit(TRUE, VB_CONNECT_PATH, CONNECT_IFACE, "DomainLookupByName",
                        g_variant_new("(s)", "pk-a"));
        wait_for_polkit(TRUE, VB_CONNECT_PATH, CONNECT_IFACE, "NetworkLookupByName",
                        g_variant_new("(s)", "pk-net1"));

        c = client_new();
        line = connect_call(c, "ListDomains", no_flags());
        paths = list_paths(line);
        g_assert_cmpstr(paths, ==, DOM_A_PATH);
        g_free(line);
        g_free(paths);
        line = connect_call(c, "ListNetworks", no_flags());
        paths = list_paths(line);
        g_assert_cmpstr(paths, ==, NET_1_PATH);
        g_free(line);
        /* root sees everything */
        {
                g_autoptr(GVariant) r = vb_call_ok(VB_CONNECT_PATH, CONNECT_IFACE, "ListDomains", no_flags());
                g_autoptr(GVariant) a = g_variant_get_child_value(r, 0);
                g_assert_cmpuint(g_variant_n_children(a), ==, 2);
        }
        line = connect_call(c, "DomainLookupByName", g_variant_new("(s)", "pk-b"));
        assert_error(line, LIBVIRT_ERROR, "Domain not found: no domain with matching name 'pk-b'");
        g_free(line);
        line = connect_call(c, "NetworkLookupByName",
                           g_variant_new("(s)", "pk-net2"));
        assert_error(line, LIBVIRT_ERROR, "Network not found");
        g_free(line);
        /* the connection's own properties name no domain: the example allows reading them */
        line = client_call(c, FALSE, VB_CONNECT_PATH, PROPS_IFACE, "GetAll",
                           g_variant_new("(s)", CONNECT_IFACE));
        assert_ok(line);
        g_free(line);

        /* start and stop pk-a: allowed */
        line = client_call(c, FALSE, DOM_A_PATH, DOM_IFACE, "Create", no_flags());
        assert_ok(line);
        g_free(line);
        root_assert_domain_state(DOM_A_PATH, 1 /* RUNNING */);
        line = client_call(c, FALSE, DOM_A_PATH, DOM_IFACE, "GetState", no_flags());
        g_assert_cmpstr(line, ==, "OK ((1, 1),)");
        g_free(line);
        /* pk-b: not granted, so the default applies */
        line = client_call(c, FALSE, DOM_B_PATH, DOM_IFACE, "Create", no_flags());
        assert_error(line, INTERACTIVE_REQUIRED, NULL);
        g_free(line);
        line = client_call(c, FALSE, DOM_B_PATH, DOM_IFACE, "GetState", no_flags());
        assert_error(line, ACCESS_DENIED, NULL);
        g_free(line);
        root_assert_domain_state(DOM_B_PATH, 5 /* SHUTOFF */);
        line = client_call(c, FALSE, DOM_A_PATH, DOM_IFACE, "Destroy", no_flags());
        assert_ok(line);
        root_assert_domain_state(DOM_A_PATH, 5);

        vb_polkit_rule_remove("52-test-one-network.rules");
        remove_rule_and_wait("51-test-one-domain.rules", VB_CONNECT_PATH, CONNECT_IFACE, "DomainLookupByName",
                             g_variant_new("(s)", "pk-a"));
        wait_for_polkit(FALSE, VB_CONNECT_PATH, CONNECT_IFACE, "NetworkLookupByName",
                        g_variant_new("(s)", "pk-net1"));
        root_undefine_domain(DOM_A_PATH);
        root_undefine_domain(DOM_B_PATH);
        root_undefine_network(NET_1_PATH);
        root_undefine_network(NET_2_PATH);
}

/* Root is never checked: everything works without any rule, and polkit is not asked. */
static void test_root_bypasses_polkit(void) {
        const char *me = g_dbus_connection_get_unique_name(vb_bus());
        g_autofree char *needle = g_strdup_printf("for %s (", me);
        g_autoptr(GVariant) r = NULL;

        root_define_domain("pk-a", DOM_A_UUID);
        r = vb_call_ok(VB_CONNECT_PATH, CONNECT_IFACE, "ListDomains", no_flags());
        g_variant_unref(vb_call_ok(DOM_A_PATH, DOM_IFACE, "GetXMLDesc", no_flags()));
        g_variant_unref(vb_call_ok(DOM_A_PATH, PROPS_IFACE, "Set",
                                   g_variant_new("(ssv)", DOM_IFACE, "Autostart", g_variant_new_boolean(TRUE))));
        g_assert_true(vb_get_bool(DOM_A_PATH, DOM_IFACE, "Autostart"));
        g_variant_unref(vb_call_ok(DOM_A_PATH, PROPS_IFACE, "Set",
                                   g_variant_new("(ssv)", DOM_IFACE, "Autostart", g_variant_new_boolean(FALSE))));
        root_undefine_domain(DOM_A_PATH);
        g_assert_false(log_has(needle));
}

static const char rule_nobody_monitor[] =
        "polkit.addRule(function(action, subject) {\n"
        "        if (action.id == 'org.virtbus.domain.monitor' && subject.user == 'nobody')\n"
        "                return polkit.Result.YES;\n"
        "});\n";
static const char rule_nobody_manage[] =
        "polkit.addRule(function(action, subject) {\n"
        "        if (action.id == 'org.virtbus.domain.manage' && subject.user == 'nobody')\n"
        "                return polkit.Result.YES;\n"
        "});\n";

/* Answers are cached per connection: a granted call stays granted for a connected client after
 * the rule went, a new connection is asked anew; a plain denial is cached too, while a
 * challenge is not (the next call asks again). A client leaving the bus is forgotten. */
static void test_cache(void) {
        g_autoptr(Client) stays = NULL, denied = NULL, challenged = NULL;
        g_autofree char *line = NULL, *gone = NULL;

        root_define_domain("pk-a", DOM_A_UUID);
        denied = client_new();
        challenged = client_new();
        line = client_call(denied, FALSE, DOM_A_PATH, DOM_IFACE, "GetXMLDesc", no_flags());
        assert_error(line, ACCESS_DENIED, NULL);
        g_free(line);
        line = client_call(challenged, FALSE, DOM_A_PATH, PROPS_IFACE, "Set",
                           g_variant_new("(ssv)", DOM_IFACE, "Autostart", g_variant_new_boolean(FALSE)));
        assert_error(line, INTERACTIVE_REQUIRED, NULL);
        g_free(line);

        vb_polkit_rule_write("50-test-monitor.rules", rule_nobody_monitor);
        vb_polkit_rule_write("50-test-manage.rules", rule_nobody_manage);
        wait_for_polkit(TRUE, DOM_A_PATH, DOM_IFACE, "GetXMLDesc", no_flags());
        wait_for_polkit(TRUE, DOM_A_PATH, PROPS_IFACE, "Set",
                        g_variant_new("(ssv)", DOM_IFACE, "Autostart", g_variant_new_boolean(FALSE)));

        /* the denial is remembered for the connected client ... */
        line = client_call(denied, FALSE, DOM_A_PATH, DOM_IFACE, "GetXMLDesc", no_flags());
        assert_error(line, ACCESS_DENIED, NULL);
        g_free(line);
        /* ... the challenge is not */
        line = client_call(challenged, FALSE, DOM_A_PATH, PROPS_IFACE, "Set",
                           g_variant_new("(ssv)", DOM_IFACE, "Autostart", g_variant_new_boolean(FALSE)));
        assert_ok(line);
        g_free(line);

        stays = client_new();
        line = client_call(stays, FALSE, DOM_A_PATH, DOM_IFACE, "GetXMLDesc", no_flags());
        assert_ok(line);
        g_free(line);

        vb_polkit_rule_remove("50-test-manage.rules");
        remove_rule_and_wait("50-test-monitor.rules", DOM_A_PATH, DOM_IFACE, "GetXMLDesc", no_flags());
        /* the same call from the same connection: still allowed, from the cache */
        line = client_call(stays, FALSE, DOM_A_PATH, DOM_IFACE, "GetXMLDesc", no_flags());
        assert_ok(line);
        g_free(line);
        /* another method is another check: denied now */
        line = client_call(stays, FALSE, DOM_A_PATH, DOM_IFACE, "GetState", no_flags());
        assert_error(line, ACCESS_DENIED, NULL);
        g_free(line);
        /* a new connection: denied */
        line = nobody_call(FALSE, DOM_A_PATH, DOM_IFACE, "GetXMLDesc", no_flags());
        assert_error(line, ACCESS_DENIED, NULL);

        /* leaving the bus drops the client's answers */
        gone = g_strdup_printf("Client %s left the bus", stays->name);
        g_clear_pointer(&stays, client_free);
        for (int i = 0; i < 100 && !log_has(gone); i++)
                g_usleep(50 * 1000);
        g_assert_true(log_has(gone));

        root_undefine_domain(DOM_A_PATH);
}

/* While polkit takes its time over one client's check (a rule that sleeps 3 s), the daemon
 * goes on serving others: root, and a client whose answer is cached. The slow client gets its
 * answer afterwards. Then 40 identical calls at once from one client and 10 clients at once
 * all succeed; the identical calls were one question to polkit. */
static void test_concurrency(void) {
        static const char slow_rule[] =
                "polkit.addRule(function(action, subject) {\n"
                "        if (subject.user != 'nobody' || action.id != 'org.virtbus.domain.monitor')\n"
                "                return polkit.Result.NOT_HANDLED;\n"
                "        if (action.lookup('method') == 'GetState')\n"
                "                polkit.spawn(['/bin/sleep', '3']);\n"
                "        return polkit.Result.YES;\n"
                "});\n";
        g_autoptr(Client) slow = NULL, cached = NULL, many = NULL;
        g_autofree char *line = NULL, *asking = NULL, *log = NULL;
        Client *clients[10];
        gint64 start;
        unsigned n_asked = 0;

        root_define_domain("pk-a", DOM_A_UUID);
        vb_polkit_rule_write("50-test-slow.rules", slow_rule);
        wait_for_polkit(TRUE, DOM_A_PATH, DOM_IFACE, "GetXMLDesc", no_flags());

        cached = client_new();
        line = client_call(cached, FALSE, DOM_A_PATH, DOM_IFACE, "GetXMLDesc", no_flags());
        assert_ok(line);
        g_free(line);

        slow = client_new();
        {
                g_autofree char *cmd = call_line(FALSE, DOM_A_PATH, DOM_IFACE, "GetState", no_flags());
                client_send(slow, cmd);
        }
        start = g_get_monotonic_time();
        asking = g_strdup_printf("for %s (uid 65534): method=GetState", slow->name);
        while (!log_has(asking)) {
                g_assert_cmpint(g_get_monotonic_time() - start, <, 5 * G_USEC_PER_SEC);
                g_usleep(20 * 1000);
        }
        /* the slow check is pending in polkit now */
        g_variant_unref(vb_call_ok(VB_CONNECT_PATH, CONNECT_IFACE, "ListDomains", no_flags()));
        g_variant_unref(vb_call_ok(DOM_A_PATH, DOM_IFACE, "GetXMLDesc", no_flags()));
        line = client_call(cached, FALSE, DOM_A_PATH, DOM_IFACE, "GetXMLDesc", no_flags());
        assert_ok(line);
        g_free(line);
        line = client_read(slow, 0);
        g_assert_null(line); /* others were served while it waits */
        line = client_read(slow, 20000);
        g_assert_cmpstr(line, ==, "OK ((5, 0),)");
        g_assert_cmpint(g_get_monotonic_time() - start, >=, 2 * G_USEC_PER_SEC);
        g_free(line);

        /* one client, 40 calls in flight at once: one polkit check */
        many = client_new();
        {
                g_autofree char *cmd = g_strdup_printf("multi 40 %s %s GetXMLDesc (uint32 0,)", DOM_A_PATH,
                                                       DOM_IFACE);
                g_autofree char *needle = g_strdup_printf("for %s (uid 65534): method=GetXMLDesc", many->name);
                const char *p;

                client_send(many, cmd);
                line = client_read(many, 30000);
                g_assert_cmpstr(line, ==, "DONE 40 0 -");
                g_clear_pointer(&line, g_free);
                log = vb_sandbox_read("virtbusd.log");
                for (p = strstr(log, needle); p; p = strstr(p + 1, needle))
                        n_asked++;
                g_assert_cmpuint(n_asked, ==, 1);
        }

        /* ten clients at once, and root meanwhile */
        for (size_t i = 0; i < G_N_ELEMENTS(clients); i++)
                clients[i] = client_new();
        for (size_t i = 0; i < G_N_ELEMENTS(clients); i++) {
                g_autofree char *cmd = call_line(FALSE, VB_CONNECT_PATH, CONNECT_IFACE, "ListDomains",
                                                 no_flags());
                client_send(clients[i], cmd);
        }
        g_variant_unref(vb_call_ok(VB_CONNECT_PATH, CONNECT_IFACE, "ListDomains", no_flags()));
        for (size_t i = 0; i < G_N_ELEMENTS(clients); i++) {
                g_autofree char *l = client_read(clients[i], 30000);
                g_assert_cmpstr(l, ==, "OK ([objectpath '" DOM_A_PATH "'],)");
                client_free(clients[i]);
        }

        remove_rule_and_wait("50-test-slow.rules", DOM_A_PATH, DOM_IFACE, "GetXMLDesc", no_flags());
        root_undefine_domain(DOM_A_PATH);
}

/* A list longer than the checks one call may have in flight at once (16) is checked in rounds;
 * the answer holds exactly the domains the caller may see. */
static void test_long_list(void) {
        static const char even_rule[] =
                "polkit.addRule(function(action, subject) {\n"
                "        var n = action.lookup('domain.name');\n"
                "        if (subject.user == 'nobody' && action.id == 'org.virtbus.domain.monitor' &&\n"
                "            n && n.indexOf('pk-l') == 0 && parseInt(n.substr(4), 10) % 2 == 0)\n"
                "                return polkit.Result.YES;\n"
                "});\n";
        g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GPtrArray) even = g_ptr_array_new();
        g_autofree char *line = NULL, *got = NULL, *want = NULL, *log = NULL, *needle = NULL;
        g_autoptr(Client) c = NULL;
        unsigned n_asked = 0;

        for (unsigned i = 0; i < 40; i++) {
                g_autofree char *name = g_strdup_printf("pk-l%02u", i);
                g_autofree char *uuid = g_strdup_printf("e0e0e0e0-0000-4000-8000-0000000000%02u", i);
                g_autofree char *xml = domain_xml(name, uuid);
                g_autoptr(GVariant) r = vb_call_ok(VB_CONNECT_PATH, CONNECT_IFACE, "DomainDefineXML",
                                                   g_variant_new("(s)", xml));
                char *path;

                g_variant_get(r, "(o)", &path);
                g_ptr_array_add(paths, path);
                if (i % 2 == 0)
                        g_ptr_array_add(even, path);
        }
        g_ptr_array_sort(even, compare_strp);
        g_ptr_array_add(even, NULL);
        want = g_strjoinv(" ", (char **) even->pdata);

        vb_polkit_rule_write("50-test-even.rules", even_rule);
        wait_for_polkit(TRUE, VB_CONNECT_PATH, CONNECT_IFACE, "DomainLookupByName",
                        g_variant_new("(s)", "pk-l00"));

        c = client_new();
        line = connect_call(c, "ListDomains", no_flags());
        got = list_paths(line);
        g_assert_cmpstr(got, ==, want);
        /* one check per domain, no more */
        needle = g_strdup_printf("for %s (uid 65534): method=ListDomains", c->name);
        log = vb_sandbox_read("virtbusd.log");
        for (const char *p = strstr(log, needle); p; p = strstr(p + 1, needle))
                n_asked++;
        g_assert_cmpuint(n_asked, ==, 40);
        /* again: from the cache, same answer */
        g_free(line);
        g_free(got);
        line = connect_call(c, "ListDomains", no_flags());
        got = list_paths(line);
        g_assert_cmpstr(got, ==, want);

        remove_rule_and_wait("50-test-even.rules", VB_CONNECT_PATH, CONNECT_IFACE, "DomainLookupByName",
                             g_variant_new("(s)", "pk-l00"));
        for (guint i = 0; i < paths->len; i++)
                root_undefine_domain(paths->pdata[i]);
}

/* The object goes away while polkit thinks about a call on it: the call is dispatched anew
 * once polkit answered and finds no object, instead of touching a freed one. */
static void test_object_gone_while_pending(void) {
        static const char slow_rule[] =
                "polkit.addRule(function(action, subject) {\n"
                "        if (subject.user != 'nobody' || action.id != 'org.virtbus.domain.monitor')\n"
                "                return polkit.Result.NOT_HANDLED;\n"
                "        if (action.lookup('method') == 'GetXMLDesc')\n"
                "                polkit.spawn(['/bin/sleep', '2']);\n"
                "        return polkit.Result.YES;\n"
                "});\n";
        g_autofree char *line = NULL, *asking = NULL;
        g_autoptr(Client) c = NULL;
        gint64 start;

        root_define_domain("pk-a", DOM_A_UUID);
        vb_polkit_rule_write("50-test-slow.rules", slow_rule);
        wait_for_polkit(TRUE, DOM_A_PATH, DOM_IFACE, "GetState", no_flags());

        c = client_new();
        {
                g_autofree char *cmd = call_line(FALSE, DOM_A_PATH, DOM_IFACE, "GetXMLDesc", no_flags());
                client_send(c, cmd);
        }
        asking = g_strdup_printf("for %s (uid 65534): method=GetXMLDesc", c->name);
        start = g_get_monotonic_time();
        while (!log_has(asking)) {
                g_assert_cmpint(g_get_monotonic_time() - start, <, 5 * G_USEC_PER_SEC);
                g_usleep(20 * 1000);
        }
        root_undefine_domain(DOM_A_PATH);
        line = client_read(c, 20000);
        assert_error(line, "org.freedesktop.DBus.Error.UnknownObject", NULL);

        remove_rule_and_wait("50-test-slow.rules", VB_CONNECT_PATH, PROPS_IFACE, "Get",
                             g_variant_new("(ss)", CONNECT_IFACE, "LibVersion"));
}

int main(int argc, char *argv[]) {
        if (argc > 1 && g_str_equal(argv[1], "--client"))
                return client_main();

        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/polkit/bus-policy", test_bus_policy);
        g_test_add_func("/polkit/denied-without-rule", test_denied_without_rule);
        g_test_add_func("/polkit/every-member-checked", test_every_member_checked);
        g_test_add_func("/polkit/rule-grants-uid", test_rule_grants_uid);
        g_test_add_func("/polkit/per-object-rule", test_per_object_rule);
        g_test_add_func("/polkit/root-bypasses-polkit", test_root_bypasses_polkit);
        g_test_add_func("/polkit/cache", test_cache);
        g_test_add_func("/polkit/concurrency", test_concurrency);
        g_test_add_func("/polkit/long-list", test_long_list);
        g_test_add_func("/polkit/object-gone-while-pending", test_object_gone_while_pending);
        return g_test_run();
}
