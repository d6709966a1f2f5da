/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* network_status_parse(): $STATE_DIRECTORY/network/NAME.status.xml, which may be damaged. */

#include "fuzz.h"
#include "network-conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(network_status_freep) NetworkStatus *st = NULL, *again = NULL;
        _cleanup_free_ char *xml = fuzz_strndup(data, size), *err = NULL, *text = NULL, *err2 = NULL;

        if (!xml || network_status_parse(xml, &st, &err) < 0)
                return 0;
        text = network_status_format(st);
        if (!text)
                return 0;
        FUZZ_CHECK(network_status_parse(text, &again, &err2) == 0);
        return 0;
}
