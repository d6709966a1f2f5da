/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "uuid-util.h"

/* PREFIX + "/_" + UUID with '-' → '_': libvirt-dbus' object paths for domains and networks. */
char *uuid_object_path(const char *prefix, const Uuid *uuid);
