/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "manager.h"

/* A bus filter for org.freedesktop.DBus.Properties on our objects, run before sd-bus' own
 * dispatch:
 *  - it authorizes Get, GetAll and Set with polkit (asynchronously: getters cannot wait);
 *  - libvirt-dbus answers GetAll for its interfaces with every value wrapped in one extra
 *    variant (a{sv} holding v holding v) and clients such as cockpit-machines rely on it.
 *    sd-bus answers GetAll itself, so the filter answers GetAll for the org.libvirt.*
 *    interfaces from the same vtables. */
int properties_install_libvirt_getall(Manager *m);
