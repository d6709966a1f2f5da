/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* org.virtbus.Network1 on every network object: the QoS floors of the network (normal D-Bus
 * semantics, unlike libvirt's interfaces). */

#include <systemd/sd-bus.h>

typedef struct Network Network;

extern const sd_bus_vtable network1_vtable[];

/* PropertiesChanged for everything a plug, unplug, floor change, start or stop changes. */
void network1_emit_changed(Network *n);
