/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <sys/types.h>

#include "protocol.h"

/* SCOPE_CREATE: checks that req->pid is a child of peer_pid running as peer_uid (so the daemon
 * can only move its own QEMUs), then asks systemd over the system bus for the transient scope
 * req->unit in machine.slice holding it, and waits for the start job. The helper's uid 0 is what
 * lets systemd grant that (a caller with systemd's own uid is privileged); virtbusd's user could
 * only through a polkit rule making it root-equivalent. Fills reply; returns 0 or
 * -reply->error. */
int nethelper_scope_create(const NhScopeCreate *req, pid_t peer_pid, uid_t peer_uid, NhReply *reply);
