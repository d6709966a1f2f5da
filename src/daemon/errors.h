/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "macro.h"

/* libvirt-dbus reports every libvirt failure as this one D-Bus error name; the message text
 * carries libvirt's classification ("Network not found: …", "XML error: …"). */
#define LIBVIRT_ERROR "org.libvirt.Error"

/* Set an org.libvirt.Error and return -abs(errnum) (so method handlers can "return" it). */
int libvirt_error_setf(sd_bus_error *error, int errnum, const char *format, ...) _printf_(3, 4);

/* libvirt's "unsupported flags (0x%x) in function %s" check. */
int check_flags(uint32_t flags, uint32_t supported, const char *function, sd_bus_error *error);
