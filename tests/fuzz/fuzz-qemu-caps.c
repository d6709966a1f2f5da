/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* qemu_caps_parse(): the capability cache under $STATE_DIRECTORY/cache/qemu, which may be
 * damaged. A parsed cache is formatted and must parse again. */

#include "fuzz.h"
#include "qemu-caps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(qemu_caps_freep) QemuCaps *caps = NULL, *again = NULL;
        _cleanup_free_ char *xml = fuzz_strndup(data, size), *err = NULL, *text = NULL, *err2 = NULL;

        if (!xml || qemu_caps_parse(xml, &caps, &err) < 0)
                return 0;
        text = qemu_caps_format(caps);
        if (!text)
                return 0;
        FUZZ_CHECK(qemu_caps_parse(text, &again, &err2) == 0);
        return 0;
}
