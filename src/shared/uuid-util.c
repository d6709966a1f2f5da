/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sys/random.h>

#include "hexdecoct.h"
#include "macro.h"
#include "uuid-util.h"

int uuid_parse(const char *s, Uuid *ret) {
        static const int dash_at[] = { 8, 13, 18, 23 };
        size_t len = s ? strlen(s) : 0;
        bool dashed = len == 36;
        Uuid u;
        int n = 0;

        if (len != 36 && len != 32)
                return -EINVAL;
        for (size_t i = 0; i < len;) {
                int hi, lo;

                if (dashed && (i == 8 || i == 13 || i == 18 || i == 23)) {
                        if (s[i] != '-')
                                return -EINVAL;
                        i++;
                        continue;
                }
                hi = unhexchar(s[i]);
                lo = unhexchar(s[i + 1]);
                if (hi < 0 || lo < 0 || n >= 16)
                        return -EINVAL;
                /* a dash may not sit between the two digits of one byte */
                for (size_t k = 0; dashed && k < ELEMENTSOF(dash_at); k++)
                        if ((size_t) dash_at[k] == i + 1)
                                return -EINVAL;
                u.bytes[n++] = hi << 4 | lo;
                i += 2;
        }
        if (n != 16)
                return -EINVAL;
        *ret = u;
        return 0;
}

char *uuid_format(const Uuid *u, char *buf) {
        const uint8_t *b = u->bytes;

        snprintf(buf, UUID_STR_MAX,
                 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
                 b[14], b[15]);
        return buf;
}

int uuid_generate_random(Uuid *ret) {
        if (getrandom(ret->bytes, sizeof ret->bytes, 0) != sizeof ret->bytes)
                return -errno ?: -EIO;
        ret->bytes[6] = (ret->bytes[6] & 0x0f) | 0x40; /* version 4 */
        ret->bytes[8] = (ret->bytes[8] & 0x3f) | 0x80; /* RFC 4122 variant */
        return 0;
}

bool uuid_is_null(const Uuid *u) {
        static const Uuid null = {};
        return memcmp(u, &null, sizeof null) == 0;
}

bool uuid_equal(const Uuid *a, const Uuid *b) {
        return memcmp(a, b, sizeof *a) == 0;
}
