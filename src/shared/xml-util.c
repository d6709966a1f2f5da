/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "i18n.h"
#include "xml-util.h"

static void silent_error_handler(void *ctx, const char *msg, ...) {
        /* libxml2 would print to stderr; we report errors through xmlCtxtGetLastError instead. */
}

/* SAX hook for "<!DOCTYPE": stop right there, before any declaration in it is read. */
static void refuse_internal_subset(void *ctx, const xmlChar *name, const xmlChar *external_id,
                                   const xmlChar *system_id) {
        xmlParserCtxt *ctxt = ctx;

        ctxt->_private = (void *) ctxt; /* marks "refused", see xml_parse_string() */
        xmlStopParser(ctxt);
}

int xml_parse_string(const char *s, xmlDoc **ret, char **ret_error) {
        xmlParserCtxt *ctxt;
        xmlDoc *doc;
        size_t len = strlen(s);
        bool dtd;

        if (len > XML_DOCUMENT_MAX) {
                if (ret_error)
                        *ret_error = strdup("document too large");
                return -EBADMSG;
        }

        ctxt = xmlNewParserCtxt();
        if (!ctxt)
                return -ENOMEM;
        xmlSetGenericErrorFunc(NULL, silent_error_handler);
        ctxt->sax->internalSubset = refuse_internal_subset;
        doc = xmlCtxtReadMemory(ctxt, s, (int) len, "document.xml", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR |
                                        XML_PARSE_NOWARNING | XML_PARSE_NOCDATA);
        /* the document check covers a libxml2 that would not call the hook */
        dtd = ctxt->_private || (doc && (doc->intSubset || doc->extSubset));
        if (dtd) {
                if (ret_error)
                        *ret_error = strdup(_("document type declarations (<!DOCTYPE>) are not supported"));
                if (doc)
                        xmlFreeDoc(doc);
                xmlFreeParserCtxt(ctxt);
                return -EOPNOTSUPP;
        }
        if (!doc || !xmlDocGetRootElement(doc)) {
                const xmlError *e = xmlCtxtGetLastError(ctxt);

                if (ret_error) {
                        char *m = NULL;
                        if (e && e->message) {
                                size_t l = strlen(e->message);
                                if (asprintf(&m, "line %d: %.*s", e->line, (int) (l > 0 && e->message[l - 1] == '\n' ? l - 1 : l),
                                             e->message) < 0)
                                        m = NULL;
                        } else
                                m = strdup("document is empty");
                        *ret_error = m;
                }
                if (doc)
                        xmlFreeDoc(doc);
                xmlFreeParserCtxt(ctxt);
                return -EBADMSG;
        }
        xmlFreeParserCtxt(ctxt);
        *ret = doc;
        return 0;
}

char *xml_get_prop(xmlNode *n, const char *name) {
        xmlChar *v = xmlGetNoNsProp(n, (const xmlChar *) name);
        char *r;

        if (!v)
                return NULL;
        r = strdup((const char *) v);
        xmlFree(v);
        return r;
}

char *xml_get_content(xmlNode *n) {
        xmlChar *v = xmlNodeGetContent(n);
        char *r;

        r = strdup(v ? (const char *) v : "");
        if (v)
                xmlFree(v);
        return r;
}

xmlNode *xml_element(xmlNode *n) {
        for (; n; n = n->next)
                if (n->type == XML_ELEMENT_NODE)
                        return n;
        return NULL;
}

bool xml_name_is(xmlNode *n, const char *name) {
        return n && n->type == XML_ELEMENT_NODE && streq((const char *) n->name, name);
}

static void strbuf_reserve(StrBuf *b, size_t extra) {
        size_t need;
        char *p;

        if (b->oom)
                return;
        need = b->len + extra + 1;
        if (need <= b->alloc)
                return;
        need = MAX(need, b->alloc * 2);
        need = MAX(need, (size_t) 256);
        p = realloc(b->data, need);
        if (!p) {
                b->oom = true;
                return;
        }
        b->data = p;
        b->alloc = need;
}

void strbuf_printf(StrBuf *b, const char *fmt, ...) {
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
                b->oom = true;
                return;
        }
        strbuf_reserve(b, n);
        if (b->oom)
                return;
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, n + 1, fmt, ap);
        va_end(ap);
        b->len += n;
}

void strbuf_append_escaped(StrBuf *b, const char *s) {
        for (; s && *s; s++)
                switch (*s) {
                case '&':
                        strbuf_printf(b, "&amp;");
                        break;
                case '<':
                        strbuf_printf(b, "&lt;");
                        break;
                case '>':
                        strbuf_printf(b, "&gt;");
                        break;
                case '\'':
                        strbuf_printf(b, "&apos;");
                        break;
                case '"':
                        strbuf_printf(b, "&quot;");
                        break;
                default:
                        strbuf_printf(b, "%c", *s);
                }
}

void strbuf_indent(StrBuf *b, int indent) {
        strbuf_printf(b, "%*s", indent, "");
}

char *strbuf_steal(StrBuf *b) {
        char *r;

        if (b->oom) {
                strbuf_done(b);
                return NULL;
        }
        if (!b->data)
                return strdup("");
        r = b->data;
        *b = (StrBuf) {};
        return r;
}

void strbuf_done(StrBuf *b) {
        free(b->data);
        *b = (StrBuf) {};
}
