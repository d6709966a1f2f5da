/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

#include "manager.h"

/* When the host shuts down, systemd stops virtbusd.service before the guests' scopes (the helper
 * orders each scope Before= the daemon's unit, and stop jobs run in reverse order). The daemon
 * uses that time to press every running guest's power button and waits, at most
 * m->shutdown_timeout_usec, for them to power off; what is left then is stopped by systemd with
 * its scope. A plain stop or restart of the service leaves the guests running. */

/* On SIGTERM: true when the graceful shutdown has begun and the daemon must keep running. */
bool host_shutdown_begin(Manager *m);

/* After a domain's QEMU is gone: the daemon exits once the last guest is. */
void host_shutdown_domain_gone(Manager *m);
