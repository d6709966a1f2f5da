/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The QMP JSON parser/serializer: values, escapes, Unicode, limits, and garbage of every kind
 * (each prefix of valid documents, seeded random bytes and mutations) — never a crash or leak. */

#include <glib.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <math.h>

#include "json.h"

static JsonValue *parse_ok(const char *text) {
        JsonValue *v = NULL;
        size_t off = 0;
        int r = json_parse(text, strlen(text), &v, &off);

        if (r < 0)
                g_error("parsing '%s' failed at %zu: %s", text, off, g_strerror(-r));
        g_assert_nonnull(v);
        return v;
}

static int parse_err(const char *text) {
        JsonValue *v = NULL;
        int r = json_parse(text, strlen(text), &v, NULL);

        g_assert_cmpint(r, <, 0);
        g_assert_null(v);
        return r;
}

static char *format_ok(const JsonValue *v) {
        char *s = NULL;

        g_assert_cmpint(json_format(v, &s), ==, 0);
        g_assert_nonnull(s);
        return s;
}

/* parse → format gives `canonical`; parsing that again gives an equal value. */
static void assert_round_trip(const char *text, const char *canonical) {
        _cleanup_(json_freep) JsonValue *v = parse_ok(text), *w = NULL;
        _cleanup_free_ char *s = format_ok(v);

        g_assert_cmpstr(s, ==, canonical);
        w = parse_ok(s);
        g_assert_true(json_equal(v, w));
}

static void test_scalars(void) {
        JsonValue *v;

        v = parse_ok("null");
        g_assert_cmpint(json_type(v), ==, JSON_NULL);
        json_free(v);
        v = parse_ok(" true ");
        g_assert_true(json_is_type(v, JSON_BOOLEAN) && json_boolean(v));
        json_free(v);
        v = parse_ok("\t\r\nfalse\n");
        g_assert_true(json_is_type(v, JSON_BOOLEAN) && !json_boolean(v));
        json_free(v);

        v = parse_ok("0");
        g_assert_true(json_is_type(v, JSON_INTEGER) && json_integer(v) == 0);
        json_free(v);
        v = parse_ok("-0");
        g_assert_true(json_is_type(v, JSON_INTEGER) && json_integer(v) == 0);
        json_free(v);
        v = parse_ok("9223372036854775807");
        g_assert_true(json_is_type(v, JSON_INTEGER) && json_integer(v) == INT64_MAX);
        json_free(v);
        v = parse_ok("-9223372036854775808");
        g_assert_true(json_is_type(v, JSON_INTEGER) && json_integer(v) == INT64_MIN);
        json_free(v);
        /* Past int64 (QEMU prints uint64 sizes as plain numbers): a real. */
        v = parse_ok("18446744073709551615");
        g_assert_cmpint(json_type(v), ==, JSON_REAL);
        g_assert_cmpfloat(json_real(v), ==, 18446744073709551615.0);
        json_free(v);
        v = parse_ok("-9223372036854775809");
        g_assert_cmpint(json_type(v), ==, JSON_REAL);
        json_free(v);
        v = parse_ok("123456789012345678901234567890");
        g_assert_cmpint(json_type(v), ==, JSON_REAL);
        json_free(v);

        v = parse_ok("1.5");
        g_assert_true(json_is_type(v, JSON_REAL));
        g_assert_cmpfloat(json_real(v), ==, 1.5);
        json_free(v);
        v = parse_ok("-2.5e3");
        g_assert_cmpfloat(json_real(v), ==, -2500.0);
        json_free(v);
        v = parse_ok("1E-2");
        g_assert_cmpfloat(json_real(v), ==, 0.01);
        json_free(v);
        v = parse_ok("1e+2");
        g_assert_true(json_is_type(v, JSON_REAL));
        g_assert_cmpfloat(json_real(v), ==, 100.0);
        json_free(v);
        v = parse_ok("42");
        g_assert_cmpfloat(json_real(v), ==, 42.0); /* integers read as reals */
        json_free(v);
        v = parse_ok("1e-400"); /* underflow to zero is fine */
        g_assert_cmpfloat(json_real(v), ==, 0.0);
        json_free(v);

        g_assert_cmpint(parse_err("1e400"), ==, -ERANGE);
        g_assert_cmpint(parse_err("-1e400"), ==, -ERANGE);
        static const char *const bad[] = {
                "", " ", "nul", "nulll", "True", "FALSE", "01", "-01", "00", "-", "+1", "1.", ".5", "1e",
                "1e+", "1.e5", "0x10", "NaN", "Infinity", "-Infinity", "1 2", "--1", "1..2", "1e5.5",
                "'a'", "\"abc", "[", "{", "]", "}", ",", ":", "[1,]", "[,1]", "[1 2]", "{\"a\"}", "{\"a\":}",
                "{\"a\":1,}", "{,}", "{a:1}", "{1:1}", "{\"a\" 1}", "[1]]", "{}}", "/* */ 1", "1 // c",
                ("\xef\xbb\xbf" "1"), /* no BOM */
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                g_assert_cmpint(parse_err(bad[i]), ==, -EINVAL);
}

static void test_strings(void) {
        JsonValue *v;

        v = parse_ok("\"\"");
        g_assert_cmpstr(json_string(v), ==, "");
        g_assert_cmpuint(json_string_length(v), ==, 0);
        json_free(v);

        v = parse_ok("\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"");
        g_assert_cmpstr(json_string(v), ==, "a\"b\\c/d\b\f\n\r\t");
        json_free(v);

        /* \u escapes: 1, 2, 3 bytes of UTF-8, surrogate pair → 4 bytes, hex case-insensitive. */
        v = parse_ok("\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\"");
        g_assert_cmpstr(json_string(v), ==, "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
        json_free(v);
        v = parse_ok("\"\\uDBFF\\uDFFF\"");
        g_assert_cmpstr(json_string(v), ==, "\xf4\x8f\xbf\xbf");
        json_free(v);

        /* Raw UTF-8 passes through. */
        v = parse_ok("\"gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80\"");
        g_assert_cmpstr(json_string(v), ==, "gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80");
        json_free(v);

        /* U+0000 is kept; the length tells. */
        v = parse_ok("\"a\\u0000b\"");
        g_assert_cmpuint(json_string_length(v), ==, 3);
        g_assert_cmpint(memcmp(json_string(v), "a\0b", 4), ==, 0);
        json_free(v);

        static const char *const bad[] = {
                "\"\\ud83d\"",            /* lone high surrogate */
                "\"\\ud83dx\"",
                "\"\\ud83d\\u0041\"",     /* high + non-low */
                "\"\\ude00\"",            /* lone low surrogate */
                "\"\\ude00\\ud83d\"",     /* reversed pair */
                "\"\\u12\"", "\"\\u12g4\"", "\"\\u\"", "\"\\x41\"", "\"\\a\"", "\"\\'\"", "\"\\\"",
                "\"a\nb\"", "\"\t\"", "\"\x01\"", "\"\x1f\"", /* raw control characters */
                "\"\xc0\x80\"",           /* overlong NUL */
                "\"\xc1\xbf\"",           /* overlong */
                "\"\xe0\x80\xaf\"",       /* overlong '/' */
                "\"\xed\xa0\x80\"",       /* encoded surrogate */
                "\"\xf4\x90\x80\x80\"",   /* > U+10FFFF */
                "\"\xf5\x80\x80\x80\"", "\"\xff\"", "\"\x80\"", "\"\xc3\"", "\"\xe2\x82\"",
                "\"\xf0\x9f\x98\"",       /* truncated sequences */
                "\"\xc3\x28\"",           /* bad continuation */
                "{\"a\\u0000\":1}",       /* U+0000 in a key */
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                JsonValue *w = NULL;

                if (json_parse(bad[i], strlen(bad[i]), &w, NULL) != -EINVAL)
                        g_error("accepted or wrong error: %s", bad[i]);
                g_assert_null(w);
        }
        /* An embedded NUL byte in the input is a raw control character. */
        g_assert_cmpint(json_parse("\"a\0b\"", 5, &v, NULL), ==, -EINVAL);
}

static void test_containers(void) {
        _cleanup_(json_freep) JsonValue *v = NULL;
        JsonValue *a;
        int64_t i;
        bool b;

        v = parse_ok("{\"return\": {\"status\": \"running\", \"running\": true, \"n\": [1, 2.5, null, \"x\", [], {}]},"
                     " \"id\": 7}");
        g_assert_cmpuint(json_object_size(v), ==, 2);
        g_assert_cmpstr(json_object_key_at(v, 0), ==, "return");
        g_assert_cmpstr(json_object_key_at(v, 1), ==, "id");
        g_assert_null(json_object_key_at(v, 2));
        g_assert_cmpint(json_object_get_integer(v, "id", &i), ==, 0);
        g_assert_cmpint(i, ==, 7);
        g_assert_cmpint(json_object_get_integer(v, "nope", &i), ==, -ENOENT);
        g_assert_cmpint(json_object_get_integer(v, "return", &i), ==, -EINVAL);
        a = json_object_get(v, "return");
        g_assert_cmpstr(json_object_get_string(a, "status"), ==, "running");
        g_assert_null(json_object_get_string(a, "running"));
        g_assert_cmpint(json_object_get_boolean(a, "running", &b), ==, 0);
        g_assert_true(b);
        g_assert_cmpint(json_object_get_boolean(a, "status", &b), ==, -EINVAL);
        a = json_object_get(a, "n");
        g_assert_cmpuint(json_array_size(a), ==, 6);
        g_assert_cmpint(json_type(json_array_get(a, 0)), ==, JSON_INTEGER);
        g_assert_cmpint(json_type(json_array_get(a, 1)), ==, JSON_REAL);
        g_assert_cmpint(json_type(json_array_get(a, 2)), ==, JSON_NULL);
        g_assert_cmpint(json_type(json_array_get(a, 3)), ==, JSON_STRING);
        g_assert_cmpint(json_type(json_array_get(a, 4)), ==, JSON_ARRAY);
        g_assert_cmpint(json_type(json_array_get(a, 5)), ==, JSON_OBJECT);
        g_assert_null(json_array_get(a, 6));

        /* Accessors on wrong types and NULL are neutral. */
        g_assert_null(json_object_get(a, "x"));
        g_assert_null(json_array_get(v, 0));
        g_assert_cmpuint(json_array_size(NULL), ==, 0);
        g_assert_cmpuint(json_object_size(a), ==, 0);
        g_assert_null(json_string(NULL));
        g_assert_cmpint(json_integer(a), ==, 0);
        g_assert_false(json_boolean(NULL));

        /* Duplicate keys: small objects and ones large enough for the sorted check. */
        g_assert_cmpint(parse_err("{\"a\":1,\"a\":2}"), ==, -EINVAL);
        g_assert_cmpint(parse_err("{\"a\":1,\"b\":{\"c\":1,\"c\":1}}"), ==, -EINVAL);
        {
                GString *s = g_string_new("{");

                for (int k = 0; k < 100; k++)
                        g_string_append_printf(s, "%s\"k%d\":%d", k ? "," : "", k, k);
                g_string_append(s, "}");
                json_free(parse_ok(s->str));
                g_string_truncate(s, s->len - 1);
                g_string_append(s, ",\"k42\":0}");
                g_assert_cmpint(parse_err(s->str), ==, -EINVAL);
                g_string_free(s, TRUE);
        }
}

static void test_round_trip(void) {
        assert_round_trip("null", "null");
        assert_round_trip(" [ true , false ] ", "[true,false]");
        assert_round_trip("{ }", "{}");
        assert_round_trip("[ ]", "[]");
        assert_round_trip("{\"execute\" : \"device-list-properties\", \"arguments\":{\"typename\":\"virtio-net-pci\"},"
                          "\"id\":1}",
                          "{\"execute\":\"device-list-properties\",\"arguments\":{\"typename\":\"virtio-net-pci\"},"
                          "\"id\":1}");
        assert_round_trip("-9223372036854775808", "-9223372036854775808");
        assert_round_trip("1.5", "1.5");
        assert_round_trip("0.1", "0.1");
        assert_round_trip("1.0", "1.0");        /* stays a real */
        assert_round_trip("-0.0", "-0.0");
        assert_round_trip("1e300", "1e+300");
        assert_round_trip("1e22", "1e+22");
        assert_round_trip("3.141592653589793", "3.141592653589793");
        assert_round_trip("18446744073709551615", "1.8446744073709552e+19");
        assert_round_trip("\"\\u00e9\\ud83d\\ude00\"", "\"\xc3\xa9\xf0\x9f\x98\x80\"");
        assert_round_trip("\"\\/\"", "\"/\"");
        assert_round_trip("\"a\\u0000b\\u001f\\u007f\"", "\"a\\u0000b\\u001f\x7f\"");
        assert_round_trip("\"q\\\"b\\\\n\\n\\t\\r\\b\\f\"", "\"q\\\"b\\\\n\\n\\t\\r\\b\\f\"");
        assert_round_trip("{\"\\u00e9\\n\":[[[{}]]]}", "{\"\xc3\xa9\\n\":[[[{}]]]}");

        /* A real QMP greeting. */
        assert_round_trip("{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, "
                          "\"package\": \"Debian 1:7.2+dfsg-7+deb12u18+b3\"}, \"capabilities\": [\"oob\"]}}",
                          "{\"QMP\":{\"version\":{\"qemu\":{\"micro\":22,\"minor\":2,\"major\":7},"
                          "\"package\":\"Debian 1:7.2+dfsg-7+deb12u18+b3\"},\"capabilities\":[\"oob\"]}}");
}

static void test_builders(void) {
        _cleanup_(json_freep) JsonValue *o = json_new_object(), *a = json_new_array(), *c = NULL, *p = NULL;
        _cleanup_free_ char *s = NULL, *s2 = NULL;
        JsonValue *m;

        g_assert_nonnull(o);
        g_assert_cmpint(json_object_set_string(o, "execute", "netdev_add"), ==, 0);
        g_assert_cmpint(json_object_set_integer(o, "id", 3), ==, 0);
        g_assert_cmpint(json_object_set_boolean(o, "b", false), ==, 0);
        g_assert_cmpint(json_array_append(a, json_new_string("x\"y")), ==, 0);
        g_assert_cmpint(json_array_append(a, json_new_real(0.5)), ==, 0);
        g_assert_cmpint(json_array_append(a, json_new_null()), ==, 0);
        g_assert_cmpint(json_object_set(o, "list", TAKE_PTR(a)), ==, 0);
        g_assert_cmpint(json_object_set_integer(o, "id", 4), ==, 0); /* replaces */
        s = format_ok(o);
        g_assert_cmpstr(s, ==, "{\"execute\":\"netdev_add\",\"id\":4,\"b\":false,\"list\":[\"x\\\"y\",0.5,null]}");

        c = json_copy(o);
        g_assert_true(json_equal(o, c));
        p = parse_ok("{\"list\":[\"x\\\"y\",0.5,null],\"b\":false,\"id\":4,\"execute\":\"netdev_add\"}");
        g_assert_true(json_equal(o, p)); /* member order does not matter */
        g_assert_cmpint(json_object_set_integer(c, "id", 5), ==, 0);
        g_assert_false(json_equal(o, c));

        m = json_object_steal(c, "list");
        g_assert_cmpuint(json_array_size(m), ==, 3);
        json_free(json_array_steal(m, 0));
        g_assert_null(json_array_steal(m, 2));
        g_assert_cmpfloat(json_real(json_array_get(m, 0)), ==, 0.5);
        json_free(m);
        g_assert_null(json_object_steal(c, "list"));
        s2 = format_ok(c);
        g_assert_cmpstr(s2, ==, "{\"execute\":\"netdev_add\",\"id\":5,\"b\":false}");

        /* Ownership is taken even on failure (ASan proves no leak); wrong container types. */
        g_assert_cmpint(json_array_append(o, json_new_null()), ==, -EINVAL);
        g_assert_cmpint(json_object_set(c, NULL, json_new_null()), ==, -EINVAL);
        g_assert_cmpint(json_object_set(json_object_get(c, "id"), "k", json_new_null()), ==, -EINVAL);
        g_assert_cmpint(json_object_set(c, "k", NULL), ==, -ENOMEM);
        g_assert_null(json_new_string(NULL));
        g_assert_false(json_equal(NULL, c));
        g_assert_true(json_equal(NULL, NULL));
        g_assert_null(json_copy(NULL));
}

static void test_format_special(void) {
        _cleanup_(json_freep) JsonValue *bad = json_new_string_len("a\xff\xc3(\xe2\x82\xac\xed\xa0\x80", 10);
        _cleanup_(json_freep) JsonValue *nan = json_new_real(NAN), *inf = json_new_array();
        _cleanup_(json_freep) JsonValue *one = json_new_real(1), *neg = json_new_real(-1e-7), *w = NULL;
        _cleanup_free_ char *s = NULL, *t = NULL, *u = NULL;
        char *x = NULL;

        /* Invalid UTF-8 from a builder becomes U+FFFD per bad byte: the output is always valid JSON. */
        s = format_ok(bad);
        g_assert_cmpstr(s, ==, "\"a\\ufffd\\ufffd(\xe2\x82\xac\\ufffd\\ufffd\\ufffd\"");
        w = parse_ok(s);
        w = json_free(w);

        g_assert_cmpint(json_format(nan, &x), ==, -EDOM);
        g_assert_null(x);
        g_assert_cmpint(json_array_append(inf, json_new_real(-INFINITY)), ==, 0);
        g_assert_cmpint(json_format(inf, &x), ==, -EDOM);
        g_assert_null(x);
        g_assert_cmpint(json_format(NULL, &x), ==, -EINVAL);

        t = format_ok(one);
        g_assert_cmpstr(t, ==, "1.0");
        u = format_ok(neg);
        g_assert_cmpstr(u, ==, "-1e-07");
        w = parse_ok(u);
        g_assert_cmpfloat(json_real(w), ==, -1e-7);
}

static char *nested(unsigned depth, const char *open, const char *inner, const char *close) {
        GString *s = g_string_new(NULL);

        for (unsigned i = 0; i < depth; i++)
                g_string_append(s, open);
        g_string_append(s, inner);
        for (unsigned i = 0; i < depth; i++)
                g_string_append(s, close);
        return g_string_free(s, FALSE);
}

static void test_limits(void) {
        g_autofree char *ok_arrays = nested(JSON_DEPTH_MAX, "[", "1", "]");
        g_autofree char *deep_arrays = nested(JSON_DEPTH_MAX + 1, "[", "1", "]");
        g_autofree char *ok_objects = nested(JSON_DEPTH_MAX, "{\"a\":", "1", "}");
        g_autofree char *deep_objects = nested(JSON_DEPTH_MAX + 1, "{\"a\":", "1", "}");
        g_autofree char *very_deep = nested(100000, "[", "", "]");
        g_autofree char *unclosed = nested(100000, "[", "", "");
        _cleanup_(json_freep) JsonValue *v = NULL, *deep = NULL;
        _cleanup_free_ char *s = NULL;
        char *big, *x = NULL;
        size_t off = 0;

        v = parse_ok(ok_arrays);
        s = format_ok(v);
        g_assert_cmpstr(s, ==, ok_arrays);
        json_free(parse_ok(ok_objects));
        g_assert_cmpint(parse_err(deep_arrays), ==, -ELOOP);
        g_assert_cmpint(parse_err(deep_objects), ==, -ELOOP);
        g_assert_cmpint(parse_err(very_deep), ==, -ELOOP);
        g_assert_cmpint(parse_err(unclosed), ==, -ELOOP);

        /* The serializer refuses what the parser would refuse. */
        deep = json_new_array();
        g_assert_cmpint(json_array_append(deep, TAKE_PTR(v)), ==, 0);
        g_assert_cmpint(json_format(deep, &x), ==, -ELOOP);
        g_assert_null(x);

        /* Size limit: checked before looking at the content. */
        big = malloc(JSON_SIZE_MAX + 1);
        g_assert_nonnull(big);
        memset(big, ' ', JSON_SIZE_MAX + 1);
        big[0] = '1';
        g_assert_cmpint(json_parse(big, JSON_SIZE_MAX + 1, &v, &off), ==, -E2BIG);
        g_assert_null(v);
        g_assert_cmpint(json_parse(big, JSON_SIZE_MAX, &v, NULL), ==, 0); /* exactly at the limit: fine */
        g_assert_cmpint(json_integer(v), ==, 1);
        free(big);

        /* Error offsets point at the problem. */
        g_assert_cmpint(json_parse("[1, 2, x]", 9, &deep, &off), ==, -EINVAL);
        g_assert_cmpuint(off, ==, 7);
        g_assert_cmpint(json_parse("{} x", 4, &deep, &off), ==, -EINVAL);
        g_assert_cmpuint(off, ==, 3);

        /* Not NUL-terminated input: only `size` bytes are read (ASan would catch an over-read). */
        {
                char *exact = g_memdup2("[\"abc\",12.5e1,true]", 19);
                JsonValue *w = NULL;

                g_assert_cmpint(json_parse(exact, 19, &w, NULL), ==, 0);
                json_free(w);
                for (size_t l = 0; l < 19; l++) {
                        char *pfx = g_memdup2(exact, l ?: 1);

                        g_assert_cmpint(json_parse(pfx, l, &w, NULL), <, 0);
                        g_free(pfx);
                }
                g_free(exact);
        }
}

static const char *const corpus[] = {
        "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 22, \"minor\": 2, \"major\": 7}, \"package\": "
        "\"Debian 1:7.2+dfsg-7+deb12u18+b3\"}, \"capabilities\": [\"oob\"]}}",
        "{\"return\": [{\"name\": \"tx\", \"type\": \"str\"}, {\"default-value\": 4294967295, \"name\": "
        "\"romsize\", \"type\": \"uint32\"}, {\"default-value\": true, \"name\": \"mrg_rxbuf\", \"description\": "
        "\"on/off\", \"type\": \"bool\"}], \"id\": 5}",
        "{\"id\": 6, \"error\": {\"class\": \"DeviceNotFound\", \"desc\": \"Device 'nope' not found\"}}",
        "{\"timestamp\": {\"seconds\": 1795444776, \"microseconds\": 804538}, \"event\": \"SHUTDOWN\", "
        "\"data\": {\"guest\": false, \"reason\": \"host-qmp-quit\"}}",
        "[1.5e-3, -0, \"\\u00e9\\ud83d\\ude00\\n\", null, true, false, {}, [], \"\xe2\x82\xac\"]",
};

/* Every strict prefix of a document that ends with its closing bracket is invalid. */
static void test_prefixes(void) {
        for (size_t k = 0; k < ELEMENTSOF(corpus); k++) {
                size_t len = strlen(corpus[k]);

                json_free(parse_ok(corpus[k]));
                for (size_t l = 0; l < len; l++) {
                        char *pfx = g_memdup2(corpus[k], l ?: 1); /* exact-size copy: ASan sees over-reads */
                        JsonValue *v = NULL;
                        int r = json_parse(pfx, l, &v, NULL);

                        if (r != -EINVAL)
                                g_error("prefix %zu of corpus %zu: %d", l, k, r);
                        g_assert_null(v);
                        g_free(pfx);
                }
        }
}

/* If garbage parses, it must survive format → parse unchanged. */
static bool check_garbage(const char *buf, size_t len) {
        JsonValue *v = NULL, *w = NULL;
        char *s = NULL;
        int r = json_parse(buf, len, &v, NULL);

        g_assert_true(r == 0 || r == -EINVAL || r == -ELOOP || r == -ERANGE);
        if (r < 0) {
                g_assert_null(v);
                return false;
        }
        g_assert_cmpint(json_format(v, &s), ==, 0);
        g_assert_cmpint(json_parse(s, strlen(s), &w, NULL), ==, 0);
        g_assert_true(json_equal(v, w));
        free(s);
        json_free(v);
        json_free(w);
        return true;
}

static uint64_t rng_state;
static uint32_t rnd(void) {
        /* xorshift64*: deterministic for a given seed, so failures reproduce. */
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return (uint32_t) ((rng_state * 2685821657736338717ULL) >> 32);
}

static void test_garbage(void) {
        static const char alphabet[] = "{}[]\",:\\ 0123456789-+.eEtrufalsn\\u\"\xc3\xa9\xed\xa0\x80\xff\n\t\x01";
        static const char *const tokens[] = {
                "{", "}", "[", "]", ",", ":", "\"", "\"a\"", "\"\\ud83d", "\\ude00\"", "1", "-0.5e7", "true",
                "null", "false", " ", "\\u0000", "\xf0\x9f\x98\x80", "9223372036854775808", "1e999",
        };
        const char *seed_env = g_getenv("VIRTBUS_TEST_SEED");
        uint64_t seed = seed_env ? g_ascii_strtoull(seed_env, NULL, 0) : 0x5eed5eedULL;
        size_t accepted = 0;

        g_test_message("seed 0x%" G_GINT64_MODIFIER "x", seed);
        rng_state = seed ?: 1;

        for (unsigned iter = 0; iter < 20000; iter++) {
                char buf[512];
                size_t len = 0, want = rnd() % sizeof buf;

                switch (iter % 3) {
                case 0: /* random bytes from a JSON-ish alphabet */
                        while (len < want)
                                buf[len++] = alphabet[rnd() % (sizeof alphabet - 1)];
                        break;
                case 1: /* random token sequences: far more often syntactically interesting */
                        while (len < want) {
                                const char *t = tokens[rnd() % ELEMENTSOF(tokens)];
                                size_t tl = strlen(t);

                                if (len + tl > sizeof buf)
                                        break;
                                memcpy(buf + len, t, tl);
                                len += tl;
                        }
                        break;
                case 2: { /* mutations of valid documents */
                        const char *d = corpus[rnd() % ELEMENTSOF(corpus)];
                        unsigned n = 1 + rnd() % 4;

                        len = MIN(strlen(d), sizeof buf);
                        memcpy(buf, d, len);
                        for (unsigned m = 0; m < n && len > 0; m++) {
                                size_t at = rnd() % len;

                                switch (rnd() % 3) {
                                case 0:
                                        buf[at] = (char) rnd();
                                        break;
                                case 1:
                                        memmove(buf + at, buf + at + 1, len - at - 1);
                                        len--;
                                        break;
                                default:
                                        if (len < sizeof buf) {
                                                memmove(buf + at + 1, buf + at, len - at);
                                                buf[at] = alphabet[rnd() % (sizeof alphabet - 1)];
                                                len++;
                                        }
                                }
                        }
                        break;
                }
                }

                /* Exact-size heap copy, so that reading past `len` is an ASan error. */
                char *copy = g_memdup2(buf, len ?: 1);
                if (check_garbage(copy, len))
                        accepted++;
                g_free(copy);
        }
        g_test_message("%zu of 20000 garbage inputs were valid JSON", accepted);
        g_assert_cmpuint(accepted, >, 0); /* the generator does reach the success paths */
}

/* The daemon runs in the user's locale (gettext): numbers must not follow LC_NUMERIC. */
static void test_locale(void) {
        g_autofree char *dir = g_dir_make_tmp("test-json-XXXXXX", NULL);
        g_autofree char *out = g_build_filename(dir, "de_DE.utf8", NULL);
        const char *argv[] = { "localedef", "-i", "de_DE", "-f", "UTF-8", out, NULL };
        g_autoptr(GError) error = NULL;
        _cleanup_(json_freep) JsonValue *v = NULL;
        _cleanup_free_ char *s = NULL;
        char check[16];
        int status = -1;

        g_assert_nonnull(dir);
        g_assert_true(g_spawn_sync(NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL |
                                   G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, &error));
        g_assert_no_error(error);
        g_setenv("LOCPATH", dir, TRUE);
        g_assert_nonnull(setlocale(LC_ALL, "de_DE.UTF-8"));
        snprintf(check, sizeof check, "%.1f", 1.5);
        g_assert_cmpstr(check, ==, "1,5"); /* the locale really is active */

        v = parse_ok("[1.5, 2e3]");
        g_assert_cmpfloat(json_real(json_array_get(v, 0)), ==, 1.5);
        s = format_ok(v);
        g_assert_cmpstr(s, ==, "[1.5,2000.0]");
        g_assert_cmpint(parse_err("1,5"), ==, -EINVAL);

        setlocale(LC_ALL, "C");
        g_unsetenv("LOCPATH");
        {
                const char *rm[] = { "rm", "-rf", dir, NULL };

                g_assert_true(g_spawn_sync(NULL, (char **) rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL,
                                           NULL, NULL));
        }
}

int main(int argc, char *argv[]) {
        g_test_init(&argc, &argv, NULL);
        g_test_add_func("/json/scalars", test_scalars);
        g_test_add_func("/json/strings", test_strings);
        g_test_add_func("/json/containers", test_containers);
        g_test_add_func("/json/round-trip", test_round_trip);
        g_test_add_func("/json/builders", test_builders);
        g_test_add_func("/json/format-special", test_format_special);
        g_test_add_func("/json/limits", test_limits);
        g_test_add_func("/json/prefixes", test_prefixes);
        g_test_add_func("/json/garbage", test_garbage);
        g_test_add_func("/json/locale", test_locale);
        return g_test_run();
}
