/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#define UUID_STR_MAX 37

typedef struct Uuid {
        uint8_t bytes[16];
} Uuid;

/* Accepts the 8-4-4-4-12 form and, as libvirt does, 32 hex digits without dashes. */
int uuid_parse(const char *s, Uuid *ret);
char *uuid_format(const Uuid *u, char *buf);
int uuid_generate_random(Uuid *ret);
bool uuid_is_null(const Uuid *u);
bool uuid_equal(const Uuid *a, const Uuid *b);
