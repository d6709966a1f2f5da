/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <libxml/tree.h>

#include "xml-util.h"

/* <bandwidth> in libvirt units: average/peak/floor in KiB/s, burst in KiB. 0 = unset. */
typedef struct BandwidthRate {
        bool set;
        uint64_t average, peak, burst, floor;
} BandwidthRate;

typedef struct Bandwidth {
        BandwidthRate inbound, outbound;
} Bandwidth;

static inline bool bandwidth_is_set(const Bandwidth *b) {
        return b->inbound.set || b->outbound.set;
}

/* Parse a <bandwidth> element. allow_floor: floor permitted on inbound (interfaces of
 * type='network' only). Errors as in network_def_parse(). */
int bandwidth_parse(xmlNode *node, bool allow_floor, Bandwidth *ret, char **ret_error);
/* Append <bandwidth>…</bandwidth> at the given indent (nothing when unset). */
void bandwidth_format(StrBuf *b, const Bandwidth *bw, int indent);
