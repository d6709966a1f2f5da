/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers shared by the XML parsers in src/conf (network, bandwidth, domain, status files):
 * libvirt-style error messages, strict integers, and the checks every element goes through. */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <libxml/tree.h>

#include "i18n.h"
#include "macro.h"

/* Stores prefix + formatted message in *ret_error (when ret_error is set) and returns r.
 * Returns -ENOMEM instead when the message cannot be built. */
int conf_error(char **ret_error, int r, const char *prefix, const char *fmt, ...) _printf_(4, 5);

/* The errno goes with the prefix, so callers can tell a broken document (-EBADMSG) from one
 * that is fine but asks for something we cannot do (-EOPNOTSUPP). */
#define xml_error(ret_error, ...) conf_error(ret_error, -EBADMSG, _("XML error: "), __VA_ARGS__)
#define unsupported_error(ret_error, ...) \
        conf_error(ret_error, -EOPNOTSUPP, _("unsupported configuration: "), __VA_ARGS__)

/* Plain decimal digits only: no sign, no space, no suffix, no wrap-around. -EINVAL for
 * anything that is not a number, -ERANGE outside [min, max]. */
int conf_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret);

bool conf_is_text(xmlNode *n);
/* NULL or only XML whitespace. */
bool conf_is_blank(const char *s);
/* "prefix" and ":" of a namespaced element, "" and "" otherwise: for "<%s%s%s>". */
const char *conf_ns_prefix(xmlNode *n);
const char *conf_ns_sep(xmlNode *n);

/* xml_get_prop() returns NULL both for "absent" and for OOM; this tells them apart. */
int conf_get_prop(xmlNode *n, const char *name, char **ret);

/* The messages below name the object being parsed as "<kind> '<name>'" (kind: "network",
 * "domain"); name is NULL while the object's own name is read, and then nothing is named. */

/* Text of an element that holds only text (<name>, <uuid>). Entity references are refused, not
 * expanded: nothing legitimate needs them, and expanding nested ones is a memory bomb. */
int conf_element_text(xmlNode *n, const char *kind, const char *name, char **ret, char **ret_error);

/* For elements that carry only attributes. libvirt_has_children: libvirt knows children of this
 * element, so one is "unsupported configuration"; otherwise it is a broken document. */
int conf_check_no_children(xmlNode *n, bool libvirt_has_children, const char *kind, const char *name,
                           char **ret_error);

/* allowed: NULL-terminated attribute names (no namespace). Anything else is an error: an XML error
 * ("unknown attribute"), or with unsupported set "unsupported configuration" (for formats where
 * libvirt knows far more attributes than we do). */
int conf_check_attributes(xmlNode *n, const char *const *allowed, bool unsupported, const char *kind,
                          const char *name, char **ret_error);
