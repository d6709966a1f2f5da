/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The helper's policy: what each verb may touch, and how it is carried out. Requests arrive
 * already decoded and range-checked (protocol.c); this file decides whether the kernel object
 * may be touched at all. */

#include <stddef.h>

#include "acl.h"
#include "macro.h"
#include "protocol.h"

/* Handle one request. When the ACL file could not be loaded, pass acl_new_failed() (or NULL):
 * every decision that needs the ACL is then refused with the reason (fail closed), while
 * requests that do not consult it (LINK_DELETE, VHOST_OPEN, taps without a bridge) still work.
 * The ACL governs the bridges taps join and the lower devices macvtaps sit on.
 * Always fills reply (seq, error, message, ifindex, n_fds). On success returns 0 and fds[]
 * (room for NH_QUEUES_MAX) holds *n_fds fds the caller sends and then closes; on failure
 * returns -reply->error and nothing is left behind, no fds either. */
int nethelper_handle(const Acl *acl, const NhRequest *req, NhReply *reply, int *fds, size_t *n_fds);

/* Fill reply as a failure with error (positive or negative errno; 0 becomes EIO) and the
 * message; returns -error. */
int reply_error(NhReply *reply, int error, const char *format, ...) _printf_(3, 4);
