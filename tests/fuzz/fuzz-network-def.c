/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* network_def_parse(): NetworkDefineXML/NetworkCreateXML input from any local user. A parsed
 * definition is formatted and must parse again. */

#include "fuzz.h"
#include "network-conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(network_def_freep) NetworkDef *def = NULL, *again = NULL;
        _cleanup_free_ char *xml = fuzz_strndup(data, size), *err = NULL, *text = NULL, *err2 = NULL;

        if (!xml || network_def_parse(xml, &def, &err) < 0)
                return 0;
        text = network_def_format(def);
        if (!text)
                return 0;
        FUZZ_CHECK(network_def_parse(text, &again, &err2) == 0);
        return 0;
}
