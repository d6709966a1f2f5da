/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pure helpers of the daemon: object paths, libvirt version encoding. */

#include <glib.h>

#include "network.h"
#include "qemu-version.h"

static void test_network_object_path(void) {
        Uuid u;
        char *p;

        g_assert_cmpint(uuid_parse("6a7d3c2e-1b4f-4f1e-9a0b-0c1d2e3f4a5b", &u), ==, 0);
        p = network_object_path(&u);
        g_assert_cmpstr(p, ==, "/org/libvirt/QEMU/network/_6a7d3c2e_1b4f_4f1e_9a0b_0c1d2e3f4a5b");
        free(p);
}

static void test_libvirt_version(void) {
        uint64_t v;

        g_assert_cmpint(libvirt_version_parse("7.2.19", &v), ==, 0);
        g_assert_cmpuint(v, ==, 7002019);
        g_assert_cmpint(libvirt_version_parse("8.1", &v), ==, 0);
        g_assert_cmpuint(v, ==, 8001000);
        g_assert_cmpint(libvirt_version_parse("0.1.0", &v), ==, 0);
        g_assert_cmpuint(v, ==, 1000);
        g_assert_cmpint(libvirt_version_parse("1.1000.0", &v), ==, -ERANGE);
        g_assert_cmpint(libvirt_version_parse("abc", &v), ==, -EINVAL);
        g_assert_cmpint(libvirt_version_parse("1.", &v), ==, -EINVAL);
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/daemon/network-object-path", test_network_object_path);
        g_test_add_func("/daemon/libvirt-version", test_libvirt_version);
        return g_test_run();
}
