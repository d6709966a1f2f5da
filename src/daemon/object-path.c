/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "macro.h"
#include "object-path.h"

char *uuid_object_path(const char *prefix, const Uuid *uuid) {
        char s[UUID_STR_MAX], *p;

        uuid_format(uuid, s);
        for (char *c = s; *c; c++)
                if (*c == '-')
                        *c = '_';
        if (asprintf(&p, "%s/_%s", prefix, s) < 0)
                return NULL;
        return p;
}
