/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"

extern const sd_bus_vtable connect_vtable[];

int connect_emit_network_event(Manager *m, const char *network_path, int event);
int connect_emit_domain_event(Manager *m, const char *domain_path, int event, int detail);
