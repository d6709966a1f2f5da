/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The helper's bridge ACL: parsing, deny-over-allow, globs, includes and errors. */

#include <glib.h>
#include <glib/gstdio.h>
#include <sys/stat.h>

#include "acl.h"

typedef struct Fixture {
        char *dir;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data) {
        g_autoptr(GError) error = NULL;

        f->dir = g_dir_make_tmp("test-acl-XXXXXX", &error);
        g_assert_no_error(error);
}

static void fixture_teardown(Fixture *f, gconstpointer data) {
        g_autoptr(GDir) d = g_dir_open(f->dir, 0, NULL);
        const char *name;

        while (d && (name = g_dir_read_name(d))) {
                g_autofree char *p = g_build_filename(f->dir, name, NULL);
                g_unlink(p);
        }
        g_rmdir(f->dir);
        g_free(f->dir);
}

/* Write dir/name with content (mode 0644) and return its path. */
static char *write_file(Fixture *f, const char *name, const char *content) {
        g_autoptr(GError) error = NULL;
        char *p = g_build_filename(f->dir, name, NULL);

        g_file_set_contents(p, content, -1, &error);
        g_assert_no_error(error);
        g_assert_cmpint(chmod(p, 0644), ==, 0);
        return p;
}

static Acl *load_ok(const char *path) {
        g_autofree char *error = NULL;
        Acl *acl = NULL;
        int r;

        r = acl_load(path, &acl, &error);
        if (r < 0)
                g_error("acl_load(%s) failed: %d %s", path, r, error ? error : "");
        g_assert_null(error);
        g_assert_nonnull(acl);
        return acl;
}

/* Load, expect failure r with an error text that contains needle. */
static void load_fails(const char *path, int expected, const char *needle) {
        g_autofree char *error = NULL;
        Acl *acl = NULL;
        int r;

        r = acl_load(path, &acl, &error);
        g_assert_null(acl);
        if (r != expected || !error || !strstr(error, needle))
                g_error("acl_load(%s) = %d \"%s\", expected %d containing \"%s\"", path, r,
                        error ? error : "(null)", expected, needle);
}

static void test_parse(Fixture *f, gconstpointer data) {
        g_autofree char *p = write_file(f,
                                        "main.conf",
                                        "# the helper's ACL\n"
                                        "\n"
                                        "   \t\n"
                                        "allow br0\n"
                                        "  allow\tbr1   \n"
                                        "deny br2 # a trailing comment\n"
                                        "   # indented comment\n"
                                        "allow br3\r\n"
                                        "allow br4"); /* no final newline */
        Acl *acl = load_ok(p);

        g_assert_null(acl_load_error(acl));
        g_assert_cmpuint(acl_n_rules(acl), ==, 5);
        g_assert_cmpstr(acl_path(acl), ==, p);
        g_assert_true(acl_allows(acl, "br0"));
        g_assert_true(acl_allows(acl, "br1"));
        g_assert_false(acl_allows(acl, "br2"));
        g_assert_true(acl_denies(acl, "br2"));
        g_assert_true(acl_allows(acl, "br3"));
        g_assert_true(acl_allows(acl, "br4"));
        g_assert_false(acl_allows(acl, "br5")); /* default deny */
        g_assert_false(acl_denies(acl, "br5")); /* ... but not explicitly denied */
        g_assert_false(acl_allows(acl, "br"));
        g_assert_false(acl_allows(acl, ""));
        acl_free(acl);
}

static void test_precedence(Fixture *f, gconstpointer data) {
        static const struct {
                const char *content;
                const char *name;
                bool allowed, denied;
        } cases[] = {
                { "allow br0\ndeny br0\n", "br0", false, true },
                { "deny br0\nallow br0\n", "br0", false, true },
                { "allow all\n", "anything", true, false },
                { "allow all\ndeny br0\n", "br0", false, true },
                { "allow all\ndeny br0\n", "br1", true, false },
                { "deny all\nallow br0\n", "br0", false, true },
                { "allow br0\ndeny all\n", "br0", false, true },
                { "deny all\n", "br0", false, true },
                { "", "br0", false, false },
                { "allow all\ndeny all\n", "br0", false, true },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autofree char *p = write_file(f, "prec.conf", cases[i].content);
                Acl *acl = load_ok(p);

                if (acl_allows(acl, cases[i].name) != cases[i].allowed ||
                    acl_denies(acl, cases[i].name) != cases[i].denied)
                        g_error("case %zu (%s): allows=%d denies=%d", i, cases[i].content,
                                acl_allows(acl, cases[i].name), acl_denies(acl, cases[i].name));
                acl_free(acl);
        }

        /* No ACL at all, or one that could not be loaded: nothing is allowed, everything denied. */
        g_assert_false(acl_allows(NULL, "br0"));
        g_assert_true(acl_denies(NULL, "br0"));
        g_assert_null(acl_load_error(NULL));

        Acl *failed = acl_new_failed("/etc/x.conf", "/etc/x.conf:3: unknown directive 'foo'");
        g_assert_nonnull(failed);
        g_assert_false(acl_allows(failed, "br0"));
        g_assert_true(acl_denies(failed, "br0"));
        g_assert_cmpstr(acl_load_error(failed), ==, "/etc/x.conf:3: unknown directive 'foo'");
        g_assert_cmpstr(acl_path(failed), ==, "/etc/x.conf");
        acl_free(failed);
}

static void test_globs(Fixture *f, gconstpointer data) {
        g_autofree char *p = write_file(f, "glob.conf",
                                        "allow virbr*\n"
                                        "deny virbr9*\n"
                                        "allow br[0-9]\n"
                                        "allow lan?\n"
                                        "deny *test*\n");
        Acl *acl = load_ok(p);

        g_assert_true(acl_allows(acl, "virbr0"));
        g_assert_true(acl_allows(acl, "virbr12"));
        g_assert_false(acl_allows(acl, "virbr9"));
        g_assert_false(acl_allows(acl, "virbr99"));
        g_assert_true(acl_allows(acl, "br5"));
        g_assert_false(acl_allows(acl, "br10"));
        g_assert_true(acl_allows(acl, "lan1"));
        g_assert_false(acl_allows(acl, "lan12"));
        g_assert_false(acl_allows(acl, "virbrtest"));
        g_assert_true(acl_denies(acl, "mytestbr"));
        g_assert_false(acl_allows(acl, "eth0"));
        acl_free(acl);
}

static void test_include(Fixture *f, gconstpointer data) {
        g_autofree char *abs_inc = write_file(f, "abs.conf", "allow absbr\n");
        g_autofree char *main_content = g_strdup_printf("allow br0\n"
                                                        "include sub.conf\n"
                                                        "include %s\n"
                                                        "deny br9\n",
                                                        abs_inc);
        g_autofree char *sub = write_file(f, "sub.conf", "allow br1\ninclude subsub.conf\n");
        g_autofree char *subsub = write_file(f, "subsub.conf", "deny br0\nallow br9\n");
        g_autofree char *p = write_file(f, "main.conf", main_content);
        Acl *acl = load_ok(p);

        g_assert_false(acl_allows(acl, "br0")); /* denied two levels down */
        g_assert_true(acl_allows(acl, "br1"));
        g_assert_true(acl_allows(acl, "absbr"));
        g_assert_false(acl_allows(acl, "br9")); /* allowed inside, denied by the parent */
        acl_free(acl);

        /* The same file included twice without a cycle is fine. */
        g_autofree char *diamond = write_file(f, "diamond.conf", "include abs.conf\ninclude abs.conf\n");
        acl = load_ok(diamond);
        g_assert_true(acl_allows(acl, "absbr"));
        acl_free(acl);
}

static void test_include_cycle(Fixture *f, gconstpointer data) {
        g_autofree char *a = write_file(f, "a.conf", "allow br0\ninclude b.conf\n");
        g_autofree char *b = write_file(f, "b.conf", "\ninclude a.conf\n");
        g_autofree char *self = write_file(f, "self.conf", "include self.conf\n");
        g_autofree char *expect = g_strdup_printf("%s:2: in included file: %s:2:", a, b);

        load_fails(a, -ELOOP, expect);
        load_fails(a, -ELOOP, "include cycle");
        load_fails(self, -ELOOP, "include cycle");
}

static void test_include_depth(Fixture *f, gconstpointer data) {
        char name[32], content[64];
        g_autofree char *first = NULL;

        /* d0 → d1 → … → d8: nine files, one more than allowed. */
        for (int i = 0; i <= ACL_INCLUDE_DEPTH_MAX; i++) {
                g_autofree char *p = NULL;

                g_snprintf(name, sizeof name, "d%d.conf", i);
                if (i < ACL_INCLUDE_DEPTH_MAX)
                        g_snprintf(content, sizeof content, "include d%d.conf\n", i + 1);
                else
                        g_snprintf(content, sizeof content, "allow deep\n");
                p = write_file(f, name, content);
                if (i == 0)
                        first = g_strdup(p);
        }
        load_fails(first, -ELOOP, "nested deeper than 8 levels");

        /* Eight levels are fine. */
        g_autofree char *d1 = g_build_filename(f->dir, "d1.conf", NULL);
        Acl *acl = load_ok(d1);
        g_assert_true(acl_allows(acl, "deep"));
        acl_free(acl);
}

static void test_syntax_errors(Fixture *f, gconstpointer data) {
        static const struct {
                const char *content;
                const char *needle; /* after "FILE:" */
        } cases[] = {
                { "allow br0\npermit br1\n", "2: unknown directive 'permit'" },
                { "allow\n", "1: 'allow' needs an argument" },
                { "# c\n\ndeny\n", "3: 'deny' needs an argument" },
                { "allow br0 br1\n", "1: unexpected 'br1' after 'allow br0'" },
                { "allow a/b\n", "1: 'a/b' is neither a valid interface name nor a glob" },
                { "allow ..\n", "1: '..' is neither" },
                { "allow 0123456789abcdef\n", "1: '0123456789abcdef' is neither" },
                { "allow br:0\n", "1: 'br:0' is neither" },
                { "deny */x\n", "1: '*/x' is neither" },
                { "include\n", "1: 'include' needs an argument" },
                { "ALLOW br0\n", "1: unknown directive 'ALLOW'" },
                { "allow # comment only\n", "1: 'allow' needs an argument" },
        };

        for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
                g_autofree char *p = write_file(f, "bad.conf", cases[i].content);
                g_autofree char *expect = g_strdup_printf("%s:%s", p, cases[i].needle);

                load_fails(p, -EINVAL, expect);
        }

        /* NUL bytes inside a line */
        g_autofree char *p = g_build_filename(f->dir, "nul.conf", NULL);
        g_autoptr(GError) error = NULL;
        g_file_set_contents(p, "allow br0\nallow b\0r1\n", 22, &error);
        g_assert_no_error(error);
        g_autofree char *expect = g_strdup_printf("%s:2: NUL byte", p);
        load_fails(p, -EINVAL, expect);

        /* An error inside an included file names that file and line, and the include site. */
        g_autofree char *inc = write_file(f, "inc.conf", "allow br0\n\nfoo bar\n");
        g_autofree char *main_path = write_file(f, "main.conf", "allow x\ninclude inc.conf\n");
        g_autofree char *expect2 = g_strdup_printf("%s:2: in included file: %s:3: unknown directive 'foo'",
                                                   main_path, inc);
        load_fails(main_path, -EINVAL, expect2);
}

static void test_missing(Fixture *f, gconstpointer data) {
        g_autofree char *p = g_build_filename(f->dir, "does-not-exist.conf", NULL);
        Acl *acl = load_ok(p);

        /* A missing main file is an empty ACL: nothing allowed. */
        g_assert_cmpuint(acl_n_rules(acl), ==, 0);
        g_assert_false(acl_allows(acl, "br0"));
        acl_free(acl);

        /* A missing include is an error. */
        g_autofree char *main_path = write_file(f, "main.conf", "allow br0\ninclude gone.conf\n");
        g_autofree char *expect = g_strdup_printf("%s:2: in included file: %s/gone.conf: cannot open",
                                                  main_path, f->dir);
        load_fails(main_path, -ENOENT, expect);

        /* A directory is not an ACL. */
        load_fails(f->dir, -EBADFD, "not a regular file");

        g_assert_cmpint(acl_load(NULL, &acl, NULL), ==, -EINVAL);
        g_assert_cmpint(acl_load("", &acl, NULL), ==, -EINVAL);
}

static void test_permissions(Fixture *f, gconstpointer data) {
        g_autofree char *p = write_file(f, "open.conf", "allow all\n");

        g_assert_cmpint(chmod(p, 0666), ==, 0);
        load_fails(p, -EPERM, "world-writable");
        g_assert_cmpint(chmod(p, 0620), ==, 0);
        load_fails(p, -EPERM, "group- or world-writable");
        g_assert_cmpint(chmod(p, 0600), ==, 0);
        acl_free(load_ok(p));
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);

#define ADD(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
        ADD("/acl/parse", test_parse);
        ADD("/acl/precedence", test_precedence);
        ADD("/acl/globs", test_globs);
        ADD("/acl/include", test_include);
        ADD("/acl/include-cycle", test_include_cycle);
        ADD("/acl/include-depth", test_include_depth);
        ADD("/acl/syntax-errors", test_syntax_errors);
        ADD("/acl/missing", test_missing);
        ADD("/acl/permissions", test_permissions);

        return g_test_run();
}
