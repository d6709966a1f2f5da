/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* libFuzzer targets: LLVMFuzzerTestOneInput() gets arbitrary bytes; a crash, a sanitizer report
 * or a leak is a bug in the code under test. See tests/fuzz/README.md. */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test (not assert(): it must hold in every build). */
#define FUZZ_CHECK(expr)                                                        \
        do {                                                                    \
                if (!(expr)) {                                                  \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__,  \
                                __LINE__, #expr);                               \
                        abort();                                                \
                }                                                               \
        } while (0)

/* The input as a C string: the parsers take NUL-terminated documents (an embedded NUL simply
 * ends the document early). NULL when out of memory. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);

        if (!s)
                return NULL;
        memcpy(s, data, size);
        s[size] = 0;
        return s;
}
