/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <sys/random.h>

#include "ether.h"
#include "hexdecoct.h"
#include "macro.h"

int ether_addr_parse(const char *s, EtherAddr *ret) {
        EtherAddr a;

        if (!s || strlen(s) != 17)
                return -EINVAL;
        for (int i = 0; i < 6; i++) {
                const char *p = s + i * 3;
                int hi = unhexchar(p[0]), lo = unhexchar(p[1]);

                if (hi < 0 || lo < 0)
                        return -EINVAL;
                if (i < 5 && p[2] != ':')
                        return -EINVAL;
                a.bytes[i] = hi << 4 | lo;
        }
        *ret = a;
        return 0;
}

char *ether_addr_format(const EtherAddr *a, char *buf) {
        snprintf(buf, ETHER_ADDR_STR_MAX, "%02x:%02x:%02x:%02x:%02x:%02x", a->bytes[0], a->bytes[1],
                 a->bytes[2], a->bytes[3], a->bytes[4], a->bytes[5]);
        return buf;
}

bool ether_addr_is_multicast(const EtherAddr *a) {
        return a->bytes[0] & 0x01;
}

bool ether_addr_is_null(const EtherAddr *a) {
        static const EtherAddr null = {};
        return memcmp(a, &null, sizeof null) == 0;
}

int ether_addr_generate_qemu(EtherAddr *ret) {
        uint8_t r[3];

        if (getrandom(r, sizeof r, 0) != sizeof r)
                return -errno ?: -EIO;
        *ret = (EtherAddr) { { 0x52, 0x54, 0x00, r[0], r[1], r[2] } };
        return 0;
}
