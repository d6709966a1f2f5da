/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stddef.h>

#include "macro.h"

/* Upper bound for any XML document we accept (D-Bus argument or file). */
#define XML_DOCUMENT_MAX (1024 * 1024)

static inline void xmlFreeDocp(xmlDoc **d) {
        if (*d)
                xmlFreeDoc(*d);
}
static inline void xmlCharFreep(xmlChar **p) {
        if (*p)
                xmlFree(*p);
}
#define _cleanup_xmlfree_ _cleanup_(xmlCharFreep)

/* Parse a document from memory with no network access and no entity expansion. A document with a
 * DTD (<!DOCTYPE>) is refused with -EOPNOTSUPP before its declarations are read: without a DTD
 * there are no user-defined entities, so nothing can expand behind the caller's back (billion
 * laughs) or pull in external files. Other failures return -EBADMSG. When ret_error is set it gets
 * the reason ("line 3: Opening and ending tag mismatch ...", "document type declarations
 * (<!DOCTYPE>) are not supported"). */
int xml_parse_string(const char *s, xmlDoc **ret, char **ret_error);

/* Attribute value as a newly allocated C string (NULL when absent). */
char *xml_get_prop(xmlNode *n, const char *name);
/* Text content of an element, allocated ("" for an empty element). */
char *xml_get_content(xmlNode *n);
/* Next element sibling starting from n itself (skipping text/comments), or NULL. */
xmlNode *xml_element(xmlNode *n);
bool xml_name_is(xmlNode *n, const char *name);

/* A growable string for formatting XML/text output. */
typedef struct StrBuf {
        char *data;
        size_t len, alloc;
        bool oom;
} StrBuf;

void strbuf_printf(StrBuf *b, const char *fmt, ...) _printf_(2, 3);
/* Append s with &, <, >, ' and " escaped. */
void strbuf_append_escaped(StrBuf *b, const char *s);
/* Append indent spaces. */
void strbuf_indent(StrBuf *b, int indent);
/* Hand the string out (NULL with -ENOMEM semantics if an append failed). */
char *strbuf_steal(StrBuf *b);
void strbuf_done(StrBuf *b);
