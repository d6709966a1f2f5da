/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The helper's ACL (/etc/virtbus/nethelper.conf): which devices guests may reach, i.e. the bridges
 * taps may join and the lower devices macvtaps may sit on. In the format of qemu-bridge-helper's
 * bridge.conf, one directive per line:
 *
 *   allow NAME | allow all | deny NAME | deny all | include FILE | # comment
 *
 * A '#' word after a directive starts a comment too; blank lines are ignored.
 * NAME may be an fnmatch(3) glob ("virbr*", "br[0-9]") — a virtbus extension. A relative FILE
 * is resolved against the directory of the file that includes it. Deny rules win over allow
 * rules wherever they appear; a name no rule allows is denied. */

#include <stdbool.h>
#include <stddef.h>

typedef struct Acl Acl;

#define ACL_INCLUDE_DEPTH_MAX 8

/* Load path and everything it includes. A missing main file is an empty ACL (denies everything).
 * Returns -EINVAL on a syntax error, -ELOOP on an include cycle or too deep nesting, or another
 * -errno when a file cannot be read; then *ret_error (if given) says "FILE:LINE: what". */
int acl_load(const char *path, Acl **ret, char **ret_error);
Acl *acl_free(Acl *acl);
/* Stand-in for an ACL whose file could not be loaded: allows nothing, denies everything (fail
 * closed), and remembers why, so refusals can say so. */
Acl *acl_new_failed(const char *path, const char *error);
/* Why the ACL could not be loaded; NULL for a loaded one. */
const char *acl_load_error(const Acl *acl);

/* True when some allow rule matches the device (a bridge or a macvtap lower device) and no deny
 * rule does. A NULL ACL allows nothing and denies everything. */
bool acl_allows(const Acl *acl, const char *name);
/* True when some deny rule matches the device. */
bool acl_denies(const Acl *acl, const char *name);
/* The file it was loaded from, for messages. */
const char *acl_path(const Acl *acl);
size_t acl_n_rules(const Acl *acl);

static inline void acl_freep(Acl **a) {
        if (*a)
                acl_free(*a);
}
