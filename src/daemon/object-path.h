/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>

#include "uuid-util.h"

/* PREFIX + "/_" + UUID with '-' → '_': libvirt-dbus' object paths for domains and networks. */
char *uuid_object_path(const char *prefix, const Uuid *uuid);

/* For sd-bus node enumerators: the ->path of every object in a ->next-linked list, as a new
 * NULL-terminated array of strings. */
int object_paths_collect(const void *first, size_t next_offset, size_t path_offset, char ***ret);
#define OBJECT_LIST_PATHS(first, ret)                                                             \
        object_paths_collect((first), offsetof(typeof(*(first)), next), offsetof(typeof(*(first)), path), \
                             (ret))
