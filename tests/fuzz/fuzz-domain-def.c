/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* domain_def_parse(): DomainDefineXML/DomainCreateXML input from any local user, and (with
 * DOMAIN_PARSE_LIVE) the definition in a running domain's status file. A parsed definition
 * goes through everything pure the daemon does with one, and its formatting parses again. */

#include "domain-conf.h"
#include "fuzz.h"

static void one(const char *xml, DomainParseFlags flags) {
        _cleanup_(domain_def_freep) DomainDef *def = NULL;
        _cleanup_free_ char *err = NULL, *live = NULL, *inactive = NULL, *unknown = NULL,
                            *runnable_err = NULL;

        if (domain_def_parse(xml, flags, &def, &err) < 0)
                return;
        live = domain_def_format(def, 0);
        inactive = domain_def_format(def, DOMAIN_FORMAT_INACTIVE);
        unknown = domain_def_unknown_summary(def);
        (void) domain_def_check_runnable(def, &runnable_err);
        if (live) {
                _cleanup_(domain_def_freep) DomainDef *again = NULL;
                _cleanup_free_ char *err2 = NULL;

                FUZZ_CHECK(domain_def_parse(live, flags, &again, &err2) == 0);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_free_ char *xml = fuzz_strndup(data, size);

        if (!xml)
                return 0;
        one(xml, 0);
        one(xml, DOMAIN_PARSE_LIVE);
        return 0;
}
