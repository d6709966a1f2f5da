/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* QoS in the daemon: turns <bandwidth> of networks and interfaces into helper requests
 * (src/conf/qos-plan.h computes them, the helper carries them out), allocates the floor classes'
 * ids and keeps the books crash-safe, and reconciles books and kernel at start-up.
 *
 * The books: a network's class-id bitmap and floor sum (its status file) and, for every plugged
 * floor, the domain's record alias ↔ class id + floor (the domain's status file). The order of
 * the writes makes every crash recoverable (design/architecture.md, "State"):
 *
 *   plug     admission → id + sum into the network status → record into the domain status →
 *            FLOOR_ADD; a failure goes back the same way (FLOOR_REMOVE first)
 *   unplug   FLOOR_REMOVE → id + sum out of the network status → record out of the domain status
 *   change   admission → new sum into the network status → new floor into the domain status →
 *            FLOOR_ADD with the same id
 *
 * so an id in a network's bitmap that no domain names is a plug or unplug cut short (removed at
 * start-up), and a record whose id the network does not have is an unplug cut short, or a record
 * of a network that stopped meanwhile (dropped). The floor sum is always recomputed from the
 * records at start-up. */

#include <systemd/sd-bus.h>

#include "bandwidth.h"
#include "manager.h"

typedef struct Network Network;
typedef struct Domain Domain;

/* What the kernel offers (QOS_PROBE), asked on first use and cached; the plan in use is logged.
 * Not at start-up: a bus activation for a plain call must not start the privileged helper. */
int qos_caps_get(Manager *m, unsigned *ret, sd_bus_error *error);

/* The network's inbound average (the floors' capacity), 0 without one. */
uint64_t qos_network_floor_capacity(const Network *n);

/* Network start, with the bridge in place and no floors: its HTB hierarchy and ingress (nothing
 * when it has no <bandwidth>). On failure what was set up is torn down again; the caller deletes
 * the bridge. */
int qos_network_start(Network *n, sd_bus_error *error);
/* Network stop: the qdiscs of a bridge we did not create back to its defaults (ours go with the
 * bridge). */
void qos_network_teardown(Network *n);
/* After the network stopped: every floor plugged into it is gone with its bridge; drop the
 * domains' records and the books. */
void qos_network_forget_floors(Network *n);
/* Live change of a running network's <bandwidth>: refused when the plugged floors would not fit
 * the new inbound average; else the bridge is set up anew and the floor classes follow. */
int qos_network_update(Network *n, const Bandwidth *bw, sd_bus_error *error);

/* Before a domain's devices are made: every interface's shaping can be planned, floors have a
 * network with an inbound average and fit into it (all of this domain's floors together). */
int qos_domain_check(Domain *d, sd_bus_error *error);
/* The floor of interface i of a starting domain (nothing without one). */
int qos_interface_plug(Domain *d, size_t i, sd_bus_error *error);
/* Releases interface i's floor (nothing without one). save_domain: write the domain status
 * afterwards (not when it is about to be removed anyway). Best effort: a failure is logged and
 * the id stays allocated until the next start-up's reconciliation removes it. */
void qos_interface_unplug(Domain *d, size_t i, bool save_domain);
/* Shaping of interface i's freshly created tap/macvtap (nothing without <bandwidth>). */
int qos_interface_apply(Domain *d, size_t i, sd_bus_error *error);
/* Live change of running interface i's <bandwidth> (already validated): shaping, then floor
 * (plug, change or unplug), then the live definition and its status. Nothing changes on error. */
int qos_interface_update(Domain *d, size_t i, const Bandwidth *bw, sd_bus_error *error);

/* Start-up, after the statuses were read: drop the domains' floor records the networks do not
 * have (before any dead guest's cleanup releases ids on their word) … */
void qos_validate_floors(Manager *m);
/* … and, once dead guests were cleaned up, make books and kernel agree: unreferenced ids and
 * orphan classes/filters removed, missing or different ones re-created, hierarchies checked,
 * floor sums recomputed, interface shaping re-applied, IFBs of vanished devices deleted. */
void qos_reconcile(Manager *m);
/* Deletes every IFB of ours ("vbifb<N>") whose device N is gone. */
void qos_sweep_ifbs(Manager *m);
