/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "unit-name.h"

static bool char_plain(char c, bool first) {
        if (c == '.')
                return !first; /* a leading dot would make a hidden unit file name */
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ':' ||
               c == '_';
}

char *qemu_scope_name(unsigned id, const char *domain_name) {
        char head[64], *s, *p;
        size_t room;

        snprintf(head, sizeof head, QEMU_SCOPE_PREFIX "%u-", id);
        s = malloc(UNIT_NAME_MAX + 1);
        if (!s)
                return NULL;
        p = stpcpy(s, head);
        room = UNIT_NAME_MAX - strlen(head) - STRLEN(QEMU_SCOPE_SUFFIX);
        for (const char *c = domain_name; *c; c++) {
                if (char_plain(*c, c == domain_name)) {
                        if (room < 1)
                                break;
                        *p++ = *c;
                        room--;
                } else {
                        if (room < 4)
                                break;
                        p += sprintf(p, "\\x%02x", (unsigned char) *c);
                        room -= 4;
                }
        }
        strcpy(p, QEMU_SCOPE_SUFFIX);
        return s;
}

bool qemu_scope_name_valid(const char *s) {
        size_t n = strlen(s);

        if (n > UNIT_NAME_MAX || n <= STRLEN(QEMU_SCOPE_PREFIX) + STRLEN(QEMU_SCOPE_SUFFIX))
                return false;
        if (strncmp(s, QEMU_SCOPE_PREFIX, STRLEN(QEMU_SCOPE_PREFIX)) != 0 ||
            strcmp(s + n - STRLEN(QEMU_SCOPE_SUFFIX), QEMU_SCOPE_SUFFIX) != 0)
                return false;
        for (const char *c = s; *c; c++)
                if (!char_plain(*c, false) && *c != '-' && *c != '\\')
                        return false;
        return true;
}

static bool ldh(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

char *qemu_machine_name(unsigned id, const char *domain_name) {
        char *s, *p;
        int n;

        s = malloc(MACHINE_NAME_MAX + 1);
        if (!s)
                return NULL;
        n = snprintf(s, MACHINE_NAME_MAX + 1, "qemu-%u-", id);
        p = s + n;
        for (const char *c = domain_name; *c && p < s + MACHINE_NAME_MAX; c++)
                if (ldh(*c) || (*c == '.' && p > s + n && p[-1] != '.'))
                        *p++ = *c;
        while (p[-1] == '.')
                p--;
        *p = 0;
        return s;
}

bool machine_name_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > MACHINE_NAME_MAX || s[0] == '.' || s[n - 1] == '.' || strstr(s, ".."))
                return false;
        for (const char *c = s; *c; c++)
                if (!ldh(*c) && *c != '.')
                        return false;
        return true;
}
