/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* $RUNTIME_DIRECTORY/qemu/NAME.status.xml: everything needed to find a running guest again
 * after the daemon restarts or crashes — its live definition (ids, aliases, the tap names we
 * created), state, pid and QMP socket. */

#include <sys/types.h>

#include "domain-conf.h"
#include "manager.h"

typedef struct DomainNetFloor DomainNetFloor;

/* The file:
 *
 *   <domstatus state='1' reason='1' pid='1234' qmp='/run/virtbus/qemu/NAME.qmp'>
 *     <class alias='net0' network='lan' id='3' floor='500'/>    one per plugged floor
 *     <domain …>…</domain>                                       the live definition
 *   </domstatus> */
typedef struct DomainStatus {
        DomainDef *live;
        int state, reason;
        pid_t pid;
        char *qmp_socket;
        DomainNetFloor *floors; /* NULL, or one per live->nets[] */
} DomainStatus;

/* Pure: the file format. */
char *domain_status_format(const DomainStatus *st);
int domain_status_parse(const char *xml, DomainStatus **ret, char **ret_error);
DomainStatus *domain_status_free(DomainStatus *st);
DEFINE_TRIVIAL_CLEANUP_FUNC(DomainStatus *, domain_status_free);

typedef struct Domain Domain;

int domain_remove_status(Domain *d);
/* Reconnect to every guest a status file names, clean up after the ones that died. The status
 * files are all read before any guest is cleaned up: the floors they name are checked against
 * the networks' class ids first (qos_validate_floors()). */
int domain_status_load_all(Manager *m);
int domain_adopt(Manager *m, DomainDef *live, Domain **ret);
