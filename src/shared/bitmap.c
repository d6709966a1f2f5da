/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "bitmap.h"
#include "macro.h"
#include "qos-layout.h"

static bool bit(const ClassIdBitmap *b, uint32_t id) {
        return b->words[id / 64] & (UINT64_C(1) << (id % 64));
}

static void put(ClassIdBitmap *b, uint32_t id, bool on) {
        if (on)
                b->words[id / 64] |= UINT64_C(1) << (id % 64);
        else
                b->words[id / 64] &= ~(UINT64_C(1) << (id % 64));
}

void class_id_bitmap_init(ClassIdBitmap *b) {
        *b = (ClassIdBitmap) {};
        for (uint32_t id = 0; id < QOS_CLASS_ID_MIN; id++)
                put(b, id, true);
}

int class_id_bitmap_allocate(ClassIdBitmap *b, uint16_t *ret) {
        /* Reserved ids are always set, so the first clear bit is never one of them. */
        for (size_t w = 0; w < ELEMENTSOF(b->words); w++) {
                uint32_t id;

                if (b->words[w] == UINT64_MAX)
                        continue;
                id = w * 64 + __builtin_ctzll(~b->words[w]);
                if (id < QOS_CLASS_ID_MIN || id > QOS_CLASS_ID_MAX)
                        return -ENOSPC;
                put(b, id, true);
                *ret = id;
                return 0;
        }
        return -ENOSPC;
}

int class_id_bitmap_set(ClassIdBitmap *b, uint32_t id) {
        if (id < QOS_CLASS_ID_MIN || id > QOS_CLASS_ID_MAX)
                return -ERANGE;
        if (bit(b, id))
                return -EEXIST;
        put(b, id, true);
        return 0;
}

int class_id_bitmap_clear(ClassIdBitmap *b, uint32_t id) {
        if (id < QOS_CLASS_ID_MIN || id > QOS_CLASS_ID_MAX)
                return -ERANGE;
        if (!bit(b, id))
                return -ENOENT;
        put(b, id, false);
        return 0;
}

bool class_id_bitmap_test(const ClassIdBitmap *b, uint32_t id) {
        return id < CLASS_ID_BITS && bit(b, id);
}

unsigned class_id_bitmap_count(const ClassIdBitmap *b) {
        unsigned n = 0;

        for (size_t w = 0; w < ELEMENTSOF(b->words); w++)
                n += __builtin_popcountll(b->words[w]);
        return n - QOS_CLASS_ID_MIN;
}

bool class_id_bitmap_equal(const ClassIdBitmap *a, const ClassIdBitmap *b) {
        return memcmp(a->words, b->words, sizeof a->words) == 0;
}

char *class_id_bitmap_format(const ClassIdBitmap *b) {
        /* worst case: every other id, "65533," each */
        size_t size = CLASS_ID_BITS / 2 * 7 + 1, l = 0;
        char *s = malloc(size);

        if (!s)
                return NULL;
        s[0] = 0;
        for (uint32_t id = 0; id < CLASS_ID_BITS;) {
                uint32_t end;

                if (!bit(b, id)) {
                        id++;
                        continue;
                }
                for (end = id; end + 1 < CLASS_ID_BITS && bit(b, end + 1); end++)
                        ;
                l += snprintf(s + l, size - l, "%s%u", l > 0 ? "," : "", id);
                if (end > id)
                        l += snprintf(s + l, size - l, "-%u", end);
                id = end + 1;
        }
        return s;
}

_printf_(2, 3) static int parse_error(char **ret_error, const char *format, ...) {
        va_list ap;

        if (ret_error) {
                va_start(ap, format);
                if (vasprintf(ret_error, format, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return -EINVAL;
}

/* Up to 16 characters of untrusted text for an error message, non-printable ones as \xNN. */
#define SNIPPET_MAX (16 * 4 + 1)
static const char *snippet(const char *s, char buf[static SNIPPET_MAX]) {
        size_t j = 0;

        for (size_t i = 0; s[i] && i < 16; i++) {
                unsigned char c = s[i];

                if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
                        buf[j++] = c;
                else
                        j += snprintf(buf + j, SNIPPET_MAX - j, "\\x%02x", c);
        }
        buf[j] = 0;
        return buf;
}

/* A decimal id at *p: digits only, no leading zero, at most 0xffff. */
static int parse_id(const char **p, uint32_t *ret) {
        const char *s = *p;
        uint32_t v = 0;

        if (*s < '0' || *s > '9')
                return -EINVAL;
        if (*s == '0' && s[1] >= '0' && s[1] <= '9')
                return -EINVAL;
        for (; *s >= '0' && *s <= '9'; s++) {
                v = v * 10 + (uint32_t) (*s - '0');
                if (v >= CLASS_ID_BITS)
                        return -ERANGE;
        }
        *p = s;
        *ret = v;
        return 0;
}

int class_id_bitmap_parse(const char *s, ClassIdBitmap *ret, char **ret_error) {
        ClassIdBitmap b = {};
        const char *p = s;
        int64_t last = -1;

        if (ret_error)
                *ret_error = NULL;
        if (isempty(s))
                return parse_error(ret_error, "empty class id bitmap");

        for (;;) {
                const char *token = p;
                char e[SNIPPET_MAX];
                uint32_t first, end;
                int r;

                r = parse_id(&p, &first);
                if (r == -ERANGE)
                        return parse_error(ret_error, "class id out of range at \"%s\"", snippet(token, e));
                if (r < 0)
                        return parse_error(ret_error, "expected a class id at \"%s\"", snippet(token, e));
                end = first;
                if (*p == '-') {
                        p++;
                        r = parse_id(&p, &end);
                        if (r == -ERANGE)
                                return parse_error(ret_error, "class id out of range at \"%s\"",
                                                   snippet(token, e));
                        if (r < 0)
                                return parse_error(ret_error, "expected the end of a range at \"%s\"",
                                                   snippet(token, e));
                        if (end < first)
                                return parse_error(ret_error, "descending range %u-%u", first, end);
                }
                if ((int64_t) first <= last)
                        return parse_error(ret_error, "class ids not in ascending order at \"%s\"",
                                           snippet(token, e));
                if (end > QOS_CLASS_ID_MAX)
                        return parse_error(ret_error, "class id %u out of range (maximum %u)", end,
                                           QOS_CLASS_ID_MAX);
                for (uint32_t id = first; id <= end; id++)
                        put(&b, id, true);
                last = end;

                if (*p == 0)
                        break;
                if (*p != ',')
                        return parse_error(ret_error, "unexpected character 0x%02x at \"%s\"",
                                           (unsigned char) *p, snippet(token, e));
                p++;
        }

        for (uint32_t id = 0; id < QOS_CLASS_ID_MIN; id++)
                if (!bit(&b, id))
                        return parse_error(ret_error, "reserved class id %u missing from the bitmap", id);
        *ret = b;
        return 0;
}
