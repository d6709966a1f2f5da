/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The names of QEMU's transient scopes: systemd-escape's escaping, the length limit, and the
 * helper's acceptance test agreeing with what the daemon makes. */
#include <glib.h>
#include <string.h>

#include "unit-name.h"

static void check(unsigned id, const char *name, const char *expected) {
        g_autofree char *s = qemu_scope_name(id, name);

        g_assert_nonnull(s);
        g_assert_cmpstr(s, ==, expected);
        g_assert_true(qemu_scope_name_valid(s));
}

static void test_escape(void) {
        check(1, "web", "virtbus-qemu-1-web.scope");
        check(12, "web-1", "virtbus-qemu-12-web\\x2d1.scope");
        check(3, "a.b_c:d", "virtbus-qemu-3-a.b_c:d.scope");
        check(4, ".hidden", "virtbus-qemu-4-\\x2ehidden.scope");
        check(5, "a b/c", "virtbus-qemu-5-a\\x20b\\x2fc.scope");
        check(6, "ümlaut", "virtbus-qemu-6-\\xc3\\xbcmlaut.scope");
        check(7, "a\\b", "virtbus-qemu-7-a\\x5cb.scope");
}

/* Long names are cut to 255 characters in all, never inside an escape sequence. */
static void test_long(void) {
        char name[1024];

        memset(name, 'x', sizeof name - 1);
        name[sizeof name - 1] = 0;
        for (unsigned dashes = 0; dashes < 5; dashes++) {
                g_autofree char *s = NULL;

                for (unsigned i = 0; i < sizeof name - 1; i++)
                        name[i] = (i + dashes) % 5 == 0 ? '-' : 'x';
                s = qemu_scope_name(4294967295u, name);
                g_assert_cmpuint(strlen(s), <=, UNIT_NAME_MAX);
                g_assert_cmpuint(strlen(s), >=, UNIT_NAME_MAX - 3);
                g_assert_true(g_str_has_suffix(s, ".scope"));
                g_assert_true(qemu_scope_name_valid(s));
                /* every backslash starts a whole \x2d */
                for (const char *p = strchr(s, '\\'); p; p = strchr(p + 1, '\\'))
                        g_assert_true(g_str_has_prefix(p, "\\x2d"));
        }
}

static void test_valid(void) {
        g_assert_true(qemu_scope_name_valid("virtbus-qemu-1-a.scope"));
        g_assert_false(qemu_scope_name_valid("virtbus-qemu-.scope"));
        g_assert_false(qemu_scope_name_valid("virtbus-qemu-1-a.service"));
        g_assert_false(qemu_scope_name_valid("machine-qemu-1-a.scope"));
        g_assert_false(qemu_scope_name_valid("virtbus-qemu-1-a/b.scope"));
        g_assert_false(qemu_scope_name_valid("virtbus-qemu-1-a b.scope"));
        g_assert_false(qemu_scope_name_valid(""));
}

static void check_machine(unsigned id, const char *name, const char *expected) {
        g_autofree char *s = qemu_machine_name(id, name);

        g_assert_nonnull(s);
        g_assert_cmpstr(s, ==, expected);
        g_assert_true(machine_name_valid(s));
}

static void test_machine(void) {
        char long_name[200];

        check_machine(1, "web", "qemu-1-web");
        check_machine(2, "web_1 b", "qemu-2-web1b");
        check_machine(3, "a..b.", "qemu-3-a.b");
        check_machine(4, ".x", "qemu-4-x");
        check_machine(5, "ümlaut", "qemu-5-mlaut");
        memset(long_name, 'y', sizeof long_name - 1);
        long_name[sizeof long_name - 1] = 0;
        long_name[55] = '.';
        {
                g_autofree char *s = qemu_machine_name(123, long_name);

                g_assert_cmpuint(strlen(s), ==, MACHINE_NAME_MAX);
                g_assert_true(machine_name_valid(s));
        }
        /* cut just after a dot: the dot goes too */
        long_name[56 - 1] = 'y';
        long_name[64 - 9] = '.'; /* "qemu-9-" is 7 characters: this dot would be the 64th */
        long_name[64 - 8] = 'y';
        {
                g_autofree char *s = qemu_machine_name(9, long_name);

                g_assert_true(machine_name_valid(s));
        }
        g_assert_false(machine_name_valid(""));
        g_assert_false(machine_name_valid(".a"));
        g_assert_false(machine_name_valid("a."));
        g_assert_false(machine_name_valid("a..b"));
        g_assert_false(machine_name_valid("a_b"));
        g_assert_false(machine_name_valid("a/b"));
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/unit-name/escape", test_escape);
        g_test_add_func("/unit-name/long", test_long);
        g_test_add_func("/unit-name/valid", test_valid);
        g_test_add_func("/unit-name/machine", test_machine);
        return g_test_run();
}
