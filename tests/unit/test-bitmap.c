/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The class-id allocator: lowest free id first, reserved ids, exhaustion, and its status-file text
 * form (libvirt's "0-4,7"), which must refuse anything but a well-formed list. */

#include <glib.h>

#include "bitmap.h"
#include "qos-layout.h"

static char *format(const ClassIdBitmap *b) {
        char *s = class_id_bitmap_format(b);

        g_assert_nonnull(s);
        return s;
}

static void assert_format(const ClassIdBitmap *b, const char *expected) {
        g_autofree char *s = format(b);

        g_assert_cmpstr(s, ==, expected);
}

static void test_init(void) {
        ClassIdBitmap b;

        class_id_bitmap_init(&b);
        for (uint32_t id = 0; id < 3; id++)
                g_assert_true(class_id_bitmap_test(&b, id));
        g_assert_false(class_id_bitmap_test(&b, 3));
        g_assert_false(class_id_bitmap_test(&b, 0xffff));
        g_assert_false(class_id_bitmap_test(&b, 0x10000));
        g_assert_false(class_id_bitmap_test(&b, UINT32_MAX));
        g_assert_cmpuint(class_id_bitmap_count(&b), ==, 0);
        assert_format(&b, "0-2");
}

static void test_allocate(void) {
        ClassIdBitmap b;
        uint16_t id;

        class_id_bitmap_init(&b);
        for (uint16_t want = 3; want < 8; want++) {
                g_assert_cmpint(class_id_bitmap_allocate(&b, &id), ==, 0);
                g_assert_cmpuint(id, ==, want);
        }
        assert_format(&b, "0-7");
        g_assert_cmpuint(class_id_bitmap_count(&b), ==, 5);

        /* The lowest free id comes back first. */
        g_assert_cmpint(class_id_bitmap_clear(&b, 5), ==, 0);
        g_assert_cmpint(class_id_bitmap_clear(&b, 4), ==, 0);
        assert_format(&b, "0-3,6-7");
        g_assert_cmpint(class_id_bitmap_allocate(&b, &id), ==, 0);
        g_assert_cmpuint(id, ==, 4);
        g_assert_cmpint(class_id_bitmap_allocate(&b, &id), ==, 0);
        g_assert_cmpuint(id, ==, 5);
        g_assert_cmpint(class_id_bitmap_allocate(&b, &id), ==, 0);
        g_assert_cmpuint(id, ==, 8);

        /* Across a word boundary. */
        for (uint32_t i = 9; i < 200; i++)
                g_assert_cmpint(class_id_bitmap_set(&b, i), ==, 0);
        g_assert_cmpint(class_id_bitmap_clear(&b, 130), ==, 0);
        g_assert_cmpint(class_id_bitmap_allocate(&b, &id), ==, 0);
        g_assert_cmpuint(id, ==, 130);
        g_assert_cmpint(class_id_bitmap_allocate(&b, &id), ==, 0);
        g_assert_cmpuint(id, ==, 200);
}

static void test_set_clear(void) {
        ClassIdBitmap b;

        class_id_bitmap_init(&b);
        g_assert_cmpint(class_id_bitmap_set(&b, 10), ==, 0);
        g_assert_cmpint(class_id_bitmap_set(&b, 10), ==, -EEXIST);
        g_assert_true(class_id_bitmap_test(&b, 10));
        g_assert_cmpint(class_id_bitmap_clear(&b, 10), ==, 0);
        g_assert_cmpint(class_id_bitmap_clear(&b, 10), ==, -ENOENT);
        g_assert_false(class_id_bitmap_test(&b, 10));

        /* Reserved and out of range ids are never handed out, set or freed. */
        for (uint32_t id = 0; id < 3; id++) {
                g_assert_cmpint(class_id_bitmap_set(&b, id), ==, -ERANGE);
                g_assert_cmpint(class_id_bitmap_clear(&b, id), ==, -ERANGE);
                g_assert_true(class_id_bitmap_test(&b, id));
        }
        g_assert_cmpint(class_id_bitmap_set(&b, 0xffff), ==, -ERANGE);
        g_assert_cmpint(class_id_bitmap_set(&b, 0x10000), ==, -ERANGE);
        g_assert_cmpint(class_id_bitmap_set(&b, UINT32_MAX), ==, -ERANGE);
        g_assert_cmpint(class_id_bitmap_clear(&b, 0xffff), ==, -ERANGE);
        g_assert_cmpint(class_id_bitmap_set(&b, QOS_CLASS_ID_MAX), ==, 0);
        assert_format(&b, "0-2,65534");
        g_assert_cmpuint(class_id_bitmap_count(&b), ==, 1);
}

static void test_exhaust(void) {
        ClassIdBitmap b;
        uint16_t id = 0, last = 0;
        unsigned n = 0;

        class_id_bitmap_init(&b);
        while (class_id_bitmap_allocate(&b, &id) == 0) {
                g_assert_cmpuint(id, ==, n + 3);
                last = id;
                n++;
        }
        g_assert_cmpuint(n, ==, QOS_CLASS_ID_MAX - QOS_CLASS_ID_MIN + 1);
        g_assert_cmpuint(last, ==, QOS_CLASS_ID_MAX);
        g_assert_cmpint(class_id_bitmap_allocate(&b, &id), ==, -ENOSPC);
        g_assert_false(class_id_bitmap_test(&b, 0xffff));
        g_assert_cmpuint(class_id_bitmap_count(&b), ==, n);
        assert_format(&b, "0-65534");

        /* One freed id in the middle is found again. */
        g_assert_cmpint(class_id_bitmap_clear(&b, 40000), ==, 0);
        g_assert_cmpint(class_id_bitmap_allocate(&b, &id), ==, 0);
        g_assert_cmpuint(id, ==, 40000);
        g_assert_cmpint(class_id_bitmap_allocate(&b, &id), ==, -ENOSPC);
}

static void assert_parse(const char *s, const char *canonical) {
        g_autofree char *error = NULL, *again = NULL;
        ClassIdBitmap b;

        if (class_id_bitmap_parse(s, &b, &error) < 0)
                g_error("parsing \"%s\" failed: %s", s, error);
        g_assert_null(error);
        again = format(&b);
        g_assert_cmpstr(again, ==, canonical);
}

static void assert_parse_fails(const char *s, const char *needle) {
        g_autofree char *error = NULL;
        ClassIdBitmap b, before;
        int r;

        class_id_bitmap_init(&b);
        g_assert_cmpint(class_id_bitmap_set(&b, 77), ==, 0);
        before = b;
        r = class_id_bitmap_parse(s, &b, &error);
        if (r != -EINVAL || !error || !strstr(error, needle))
                g_error("parsing \"%s\": %d \"%s\", expected -EINVAL with \"%s\"", s, r,
                        error ? error : "(none)", needle);
        /* nothing written on failure */
        g_assert_true(class_id_bitmap_equal(&b, &before));
        /* the message is safe for a log line */
        g_assert_null(strchr(error, '\n'));
}

static void test_parse(void) {
        assert_parse("0-2", "0-2");
        assert_parse("0-4,7,9-10", "0-4,7,9-10");
        assert_parse("0,1,2,5", "0-2,5");
        assert_parse("0-2,3", "0-3");           /* adjacent: allowed, merged when written */
        assert_parse("0-2,7-7", "0-2,7");
        assert_parse("0-2,65534", "0-2,65534");
        assert_parse("0-65534", "0-65534");

        assert_parse_fails("", "empty");
        assert_parse_fails("0-1", "reserved class id 2 missing");
        assert_parse_fails("3", "reserved class id 0 missing");
        assert_parse_fails("1-2", "reserved class id 0 missing");
        assert_parse_fails("0-2,5,4", "ascending");
        assert_parse_fails("0-2,2", "ascending");
        assert_parse_fails("0-5,3-4", "ascending");
        assert_parse_fails("0-2,5-3", "descending range 5-3");
        assert_parse_fails("0-2,07", "expected a class id");
        assert_parse_fails("00-2", "expected a class id");
        assert_parse_fails("0-2, 5", "expected a class id");
        assert_parse_fails(" 0-2", "expected a class id");
        assert_parse_fails("0-2,", "expected a class id");
        assert_parse_fails(",0-2", "expected a class id");
        assert_parse_fails("0-2,,5", "expected a class id");
        assert_parse_fails("0-2,-5", "expected a class id");
        assert_parse_fails("0-2,+5", "expected a class id");
        assert_parse_fails("0-2,5-", "expected the end of a range");
        assert_parse_fails("0--2", "expected the end of a range");
        assert_parse_fails("0-2,65535", "out of range");
        assert_parse_fails("0-2,65536", "out of range");
        assert_parse_fails("0-2,99999999999999999999", "out of range");
        assert_parse_fails("0-2,4-70000", "out of range");
        assert_parse_fails("0x0-2", "unexpected character 0x78");
        assert_parse_fails("0-2\n", "unexpected character 0x0a");
        assert_parse_fails("0-2;5", "unexpected character 0x3b");
        assert_parse_fails("0-2 ", "unexpected character 0x20");
        assert_parse_fails("a", "expected a class id");
        assert_parse_fails("-", "expected a class id");
}

/* Property: any bitmap formats to a string that parses back to the same bitmap. */
static void test_roundtrip_random(void) {
        g_autoptr(GRand) rand = g_rand_new_with_seed(0xb17);

        for (unsigned iter = 0; iter < 200; iter++) {
                g_autofree char *s = NULL, *error = NULL;
                ClassIdBitmap b, parsed;
                unsigned density = g_rand_int_range(rand, 1, 100);

                class_id_bitmap_init(&b);
                for (uint32_t id = QOS_CLASS_ID_MIN; id <= QOS_CLASS_ID_MAX; id++)
                        if ((unsigned) g_rand_int_range(rand, 0, 100) < density)
                                g_assert_cmpint(class_id_bitmap_set(&b, id), ==, 0);
                s = format(&b);
                g_assert_cmpint(class_id_bitmap_parse(s, &parsed, &error), ==, 0);
                g_assert_true(class_id_bitmap_equal(&b, &parsed));
        }

        /* The longest text: every other id. */
        {
                g_autofree char *s = NULL;
                ClassIdBitmap b, parsed;

                class_id_bitmap_init(&b);
                for (uint32_t id = 4; id <= QOS_CLASS_ID_MAX; id += 2)
                        g_assert_cmpint(class_id_bitmap_set(&b, id), ==, 0);
                s = format(&b);
                g_assert_true(g_str_has_prefix(s, "0-2,4,6,8,"));
                g_assert_true(g_str_has_suffix(s, ",65532,65534"));
                g_assert_cmpint(class_id_bitmap_parse(s, &parsed, NULL), ==, 0);
                g_assert_true(class_id_bitmap_equal(&b, &parsed));
        }
}

/* Garbage never crashes the parser (run under ASan). */
static void test_parse_garbage(void) {
        g_autoptr(GRand) rand = g_rand_new_with_seed(0x9a5);
        static const char alphabet[] = "0123456789,-- x";

        for (unsigned iter = 0; iter < 20000; iter++) {
                g_autofree char *error = NULL;
                char s[40];
                size_t len = g_rand_int_range(rand, 0, sizeof s);
                ClassIdBitmap b;

                for (size_t i = 0; i < len; i++)
                        s[i] = alphabet[g_rand_int_range(rand, 0, sizeof alphabet - 1)];
                s[len] = 0;
                if (class_id_bitmap_parse(s, &b, &error) == 0) {
                        g_autofree char *again = format(&b);
                        ClassIdBitmap b2;

                        g_assert_null(error);
                        g_assert_cmpint(class_id_bitmap_parse(again, &b2, NULL), ==, 0);
                        g_assert_true(class_id_bitmap_equal(&b, &b2));
                } else
                        g_assert_nonnull(error);
        }
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/bitmap/init", test_init);
        g_test_add_func("/bitmap/allocate", test_allocate);
        g_test_add_func("/bitmap/set-clear", test_set_clear);
        g_test_add_func("/bitmap/exhaust", test_exhaust);
        g_test_add_func("/bitmap/parse", test_parse);
        g_test_add_func("/bitmap/roundtrip-random", test_roundtrip_random);
        g_test_add_func("/bitmap/parse-garbage", test_parse_garbage);
        return g_test_run();
}
