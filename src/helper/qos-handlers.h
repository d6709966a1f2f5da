/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The helper's QoS verbs (NH_VERB_QOS_*): the kernel objects of qos-layout.h on taps, macvtaps,
 * bridges and the IFBs that shape their ingress. The helper decides nothing: the daemon sends every
 * rate and class id. It checks that the device may be touched (taps and macvtaps by prefix and kind,
 * bridges by the virtbus marker or the ACL, IFBs by prefix, kind and marker) and carries the request
 * out; what a failed request created is removed again. */

#include "acl.h"
#include "protocol.h"

/* Fills reply like nethelper_handle(); returns 0 or -reply->error. */
int nethelper_handle_qos(const Acl *acl, const NhRequest *req, NhReply *reply);

/* Deletes the IFB "vbifb<ifindex>" when it exists and is ours (best effort, for LINK_DELETE of the
 * device it belonged to). Returns 1 when one was deleted. */
int nethelper_qos_delete_ifb(int ifindex);
