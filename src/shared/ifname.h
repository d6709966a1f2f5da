/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* Prefixes of the devices virtbus creates; the helper refuses to touch other names. */
#define VIRTBUS_TAP_PREFIX "vnet"
#define VIRTBUS_MACVTAP_PREFIX "macvtap"
#define VIRTBUS_BRIDGE_PREFIX "virbr"

/* A kernel interface name: 1..15 bytes, no '/', ':', whitespace or control characters,
 * not "." or "..". */
bool ifname_valid(const char *s);
