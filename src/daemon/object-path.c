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

int object_paths_collect(const void *first, size_t next_offset, size_t path_offset, char ***ret) {
        size_t count = 0, k = 0;
        char **l;

#define NEXT(o) (*(const void *const *) ((const char *) (o) + next_offset))
#define PATH(o) (*(const char *const *) ((const char *) (o) + path_offset))
        for (const void *o = first; o; o = NEXT(o))
                count++;
        l = calloc(count + 1, sizeof(char *));
        if (!l)
                return -ENOMEM;
        for (const void *o = first; o; o = NEXT(o)) {
                l[k] = strdup(PATH(o));
                if (!l[k]) {
                        while (k > 0)
                                free(l[--k]);
                        free(l);
                        return -ENOMEM;
                }
                k++;
        }
#undef NEXT
#undef PATH
        *ret = l;
        return 0;
}
