/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"
#include "uuid-util.h"

extern const sd_bus_vtable network_vtable[];

int network_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                        sd_bus_error *error);
int network_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error);

/* "/org/libvirt/QEMU/network/_" + UUID with '-' → '_' (libvirt-dbus' encoding). */
char *network_object_path(const Uuid *uuid);
