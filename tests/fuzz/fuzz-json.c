/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* json_parse(): what QEMU (or anything pretending to be QEMU on a QMP socket) sends. A parsed
 * document must survive formatting, re-parsing (to an equal value) and copying. */

#include "fuzz.h"
#include "json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(json_freep) JsonValue *v = NULL, *again = NULL, *copy = NULL;
        _cleanup_free_ char *text = NULL;
        size_t offset = 0;

        if (json_parse((const char *) data, size, &v, &offset) < 0) {
                FUZZ_CHECK(offset <= size);
                return 0;
        }
        if (json_format(v, &text) < 0)
                return 0; /* -ENOMEM; a parsed real is always finite */
        FUZZ_CHECK(json_parse(text, strlen(text), &again, NULL) == 0);
        FUZZ_CHECK(json_equal(v, again));
        copy = json_copy(v);
        FUZZ_CHECK(!copy || json_equal(v, copy));
        return 0;
}
