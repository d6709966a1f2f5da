/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <syslog.h>

#include "macro.h"
#include "uuid-util.h"

/* Logging: to the journal with structured fields when JOURNAL_STREAM says our stderr is
 * connected to it, else one line per message on stderr. Every function returns -abs(error)
 * (or 0 when error is 0) so it can be used as "return log_error_errno(r, ...)". "%m" in the
 * format expands to strerror(error). */

void log_set_max_level(int level);
int log_get_max_level(void);
void log_set_ident(const char *ident);

/* field: one extra journal field "KEY=value" (e.g. "VIRTBUS_NETWORK=lan"), or NULL. */
int log_internal(int level, int error, const char *field, const char *format, ...) _printf_(4, 5);

#define log_full_errno(level, error, ...) log_internal(level, error, NULL, __VA_ARGS__)
#define log_debug(...) log_internal(LOG_DEBUG, 0, NULL, __VA_ARGS__)
#define log_info(...) log_internal(LOG_INFO, 0, NULL, __VA_ARGS__)
#define log_notice(...) log_internal(LOG_NOTICE, 0, NULL, __VA_ARGS__)
#define log_warning(...) log_internal(LOG_WARNING, 0, NULL, __VA_ARGS__)
#define log_error(...) log_internal(LOG_ERR, 0, NULL, __VA_ARGS__)
#define log_debug_errno(e, ...) log_internal(LOG_DEBUG, e, NULL, __VA_ARGS__)
#define log_info_errno(e, ...) log_internal(LOG_INFO, e, NULL, __VA_ARGS__)
#define log_warning_errno(e, ...) log_internal(LOG_WARNING, e, NULL, __VA_ARGS__)
#define log_error_errno(e, ...) log_internal(LOG_ERR, e, NULL, __VA_ARGS__)
#define log_oom() log_internal(LOG_ERR, ENOMEM, NULL, "Out of memory.")

/* Object-scoped logging: adds a KEY=name journal field (VIRTBUS_NETWORK, VIRTBUS_DOMAIN,
 * VIRTBUS_IFNAME) and, when uuid is given, KEY_UUID=uuid, so that "journalctl VIRTBUS_NETWORK=NAME"
 * or "journalctl VIRTBUS_DOMAIN_UUID=UUID" finds every message about that object. */
int log_object_internal(int level, int error, const char *key, const char *name, const Uuid *uuid,
                        const char *format, ...) _printf_(6, 7);
#define log_network(level, error, name, ...) \
        log_object_internal(level, error, "VIRTBUS_NETWORK", name, NULL, __VA_ARGS__)
#define log_ifname(level, error, name, ...) \
        log_object_internal(level, error, "VIRTBUS_IFNAME", name, NULL, __VA_ARGS__)
/* def: anything with "name" and "uuid" members (NetworkDef, DomainDef). */
#define log_network_def(level, error, def, ...) \
        log_object_internal(level, error, "VIRTBUS_NETWORK", (def)->name, &(def)->uuid, __VA_ARGS__)
#define log_domain_def(level, error, def, ...) \
        log_object_internal(level, error, "VIRTBUS_DOMAIN", (def)->name, &(def)->uuid, __VA_ARGS__)
