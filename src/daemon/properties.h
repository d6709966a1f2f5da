/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"

/* libvirt-dbus answers Properties.GetAll for its interfaces with every value wrapped in one
 * extra variant (a{sv} holding v holding v) and clients such as cockpit-machines rely on it.
 * sd-bus answers GetAll itself, so this filter runs before its dispatch and answers GetAll
 * for the org.libvirt.* interfaces from the same vtables. */
int properties_install_libvirt_getall(Manager *m);
