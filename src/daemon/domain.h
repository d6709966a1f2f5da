/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"
#include "uuid-util.h"

extern const sd_bus_vtable domain_vtable[];

int domain_object_find(sd_bus *bus, const char *path, const char *interface, void *userdata, void **found,
                       sd_bus_error *error);
int domain_node_enumerator(sd_bus *bus, const char *path, void *userdata, char ***nodes, sd_bus_error *error);

/* "/org/libvirt/QEMU/domain/_" + UUID with '-' → '_' (libvirt-dbus' encoding). */
char *domain_object_path(const Uuid *uuid);
