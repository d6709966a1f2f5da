/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* <bandwidth> as libvirt's typed parameters (virDomainSetInterfaceParameters and friends): an
 * a{sv} with the keys below, every value a 'u' (VIR_TYPED_PARAM_UINT), in the XML's units. */

#include <systemd/sd-bus.h>

#include "bandwidth.h"

#define BANDWIDTH_IN_AVERAGE "inbound.average"
#define BANDWIDTH_IN_PEAK "inbound.peak"
#define BANDWIDTH_IN_BURST "inbound.burst"
#define BANDWIDTH_IN_FLOOR "inbound.floor"
#define BANDWIDTH_OUT_AVERAGE "outbound.average"
#define BANDWIDTH_OUT_PEAK "outbound.peak"
#define BANDWIDTH_OUT_BURST "outbound.burst"

/* What a call asked for: a direction named by any key is replaced as a whole. */
typedef struct BandwidthUpdate {
        bool inbound_specified, outbound_specified;
        BandwidthRate inbound, outbound;
} BandwidthUpdate;

/* Reads the a{sv}; unknown keys (inbound.floor without allow_floor), repeated keys and values of
 * another type than 'u' are refused with libvirt's errors. */
int bandwidth_params_read(sd_bus_message *m, bool allow_floor, BandwidthUpdate *ret, sd_bus_error *error);
/* libvirt's merge: an unnamed direction keeps its old rates; a named one is replaced by what was
 * given, and cleared when that has neither average nor (inbound) floor. */
void bandwidth_update_merge(const BandwidthUpdate *u, const Bandwidth *old, Bandwidth *ret);
/* The rules of the XML (peak ≥ average, floor only where allowed …), with its messages: what
 * passes can be written to and read back from every file. */
int bandwidth_check(const Bandwidth *bw, bool allow_floor, sd_bus_error *error);
/* Appends the a{sv}: every key, 0 for what is not set (libvirt's GetInterfaceParameters). */
int bandwidth_params_append(sd_bus_message *reply, const Bandwidth *bw, bool with_floor);
