/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Authorization of bus calls: every call from a non-root client is checked with polkit's
 * CheckAuthorization, asynchronously, so that the event loop keeps serving everyone else.
 *
 * A method handler (or the properties filter) asks
 *
 *         r = polkit_verify_domain(d, message, POLKIT_MANAGE, 0, error);
 *         if (r < 0)
 *                 return r;      denied: error is set (AccessDenied or InteractiveAuthorizationRequired)
 *         if (r == 0)
 *                 return 1;      asked polkit: the same message is dispatched again once it answered
 *         … allowed: do the work …
 *
 * When polkit has answered every check a message waits for, the message is put back into the
 * bus' read queue and dispatched again from the start: the object is looked up anew (it may
 * have gone meanwhile) and the handler runs again, this time finding the answers. A handler
 * may therefore run twice for one call and must not change anything before it is allowed.
 *
 * Answers are cached per client connection and exact check (action and details, which name
 * the object and the method) until the client leaves the bus. A challenge (polkit would
 * accept an authentication) is never cached. */

#include <systemd/sd-bus.h>

#include "domain-conf.h"
#include "manager.h"
#include "network-conf.h"

/* typedef struct PolkitRegistry PolkitRegistry: in manager.h */

typedef enum PolkitAccess {
        POLKIT_MONITOR, /* org.virtbus.{domain,network}.monitor: reads */
        POLKIT_MANAGE,  /* org.virtbus.{domain,network}.manage: changes */
} PolkitAccess;

typedef enum PolkitFlags {
        /* A denial is an expected outcome (filtering a list): log it at debug level only. */
        POLKIT_QUIET = 1 << 0,
} PolkitFlags;

int polkit_registry_new(sd_bus *bus, PolkitRegistry **ret);
PolkitRegistry *polkit_registry_free(PolkitRegistry *reg);
DEFINE_TRIVIAL_CLEANUP_FUNC(PolkitRegistry *, polkit_registry_free);

/* Checks whether the sender of message may do action. details: NULL, or key, value, …, NULL;
 * "method" (the message's member) is added. Returns 1 when allowed (always for root), 0 when
 * the message will be dispatched again once polkit answered, -EACCES with error set when
 * denied, another negative errno (with error set where it is a bus error) on failure. */
int polkit_verify(PolkitRegistry *reg, sd_bus_message *message, const char *action,
                  const char *const *details, PolkitFlags flags, sd_bus_error *error);

/* The same for virtbus' objects, with their details: domain.name + domain.uuid or network.name
 * + network.uuid, and property for a property write. */
int polkit_verify_domain(Domain *d, sd_bus_message *message, PolkitAccess access, PolkitFlags flags,
                         sd_bus_error *error);
int polkit_verify_network(Network *n, sd_bus_message *message, PolkitAccess access, PolkitFlags flags,
                          sd_bus_error *error);
/* For DefineXML/CreateXML: the object the definition describes (its UUID only if it has one). */
int polkit_verify_domain_def(Manager *m, sd_bus_message *message, const DomainDef *def,
                             sd_bus_error *error);
int polkit_verify_network_def(Manager *m, sd_bus_message *message, const NetworkDef *def,
                              sd_bus_error *error);
/* Properties on any of our objects: path names the object (Connect: domain actions without
 * object details). Returns -ENOENT without touching error when path is none of ours. */
int polkit_verify_path(Manager *m, sd_bus_message *message, const char *path, PolkitAccess access,
                       const char *property, sd_bus_error *error);
