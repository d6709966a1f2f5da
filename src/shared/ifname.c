/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <net/if.h>

#include "ifname.h"
#include "macro.h"

bool ifname_valid(const char *s) {
        size_t l;

        if (isempty(s))
                return false;
        l = strlen(s);
        if (l >= IFNAMSIZ)
                return false;
        if (streq(s, ".") || streq(s, ".."))
                return false;
        for (const char *p = s; *p; p++) {
                unsigned char c = *p;
                if (c <= ' ' || c >= 0x7f || c == '/' || c == ':' || c == '%')
                        return false;
        }
        return true;
}
