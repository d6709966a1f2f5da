/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>

#include "conf-util.h"
#include "xml-util.h"

int conf_error(char **ret_error, int r, const char *prefix, const char *fmt, ...) {
        _cleanup_free_ char *body = NULL;
        va_list ap;
        int k;

        if (!ret_error)
                return r;

        va_start(ap, fmt);
        k = vasprintf(&body, fmt, ap);
        va_end(ap);
        if (k < 0)
                return -ENOMEM;
        if (asprintf(ret_error, "%s%s", prefix, body) < 0) {
                *ret_error = NULL;
                return -ENOMEM;
        }
        return r;
}

int conf_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;

        if (isempty(s))
                return -EINVAL;
        for (const char *p = s; *p; p++) {
                unsigned d;

                if (*p < '0' || *p > '9')
                        return -EINVAL;
                d = *p - '0';
                if (d > max || v > (max - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        if (v < min)
                return -ERANGE;
        *ret = v;
        return 0;
}

bool conf_is_text(xmlNode *n) {
        return n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE;
}

bool conf_is_blank(const char *s) {
        return !s || strspn(s, " \t\r\n") == strlen(s);
}

const char *conf_ns_prefix(xmlNode *n) {
        return n->ns && n->ns->prefix ? (const char *) n->ns->prefix : "";
}

const char *conf_ns_sep(xmlNode *n) {
        return n->ns && n->ns->prefix ? ":" : "";
}

int conf_get_prop(xmlNode *n, const char *name, char **ret) {
        char *v = xml_get_prop(n, name);

        if (!v && xmlHasNsProp(n, (const xmlChar *) name, NULL))
                return -ENOMEM;
        *ret = v;
        return 0;
}

int conf_element_text(xmlNode *n, const char *kind, const char *name, char **ret, char **ret_error) {
        size_t len = 0;
        char *s, *p;

        for (xmlNode *c = n->children; c; c = c->next) {
                if (c->type == XML_ELEMENT_NODE && name)
                        return xml_error(ret_error, _("unexpected element <%s> in <%s> of %s '%s'"),
                                         (const char *) c->name, (const char *) n->name, kind, name);
                if (c->type == XML_ELEMENT_NODE)
                        return xml_error(ret_error, _("unexpected element <%s> in <%s>"),
                                         (const char *) c->name, (const char *) n->name);
                if (c->type == XML_ENTITY_REF_NODE)
                        return xml_error(ret_error, _("entity references are not supported (in <%s>)"),
                                         (const char *) n->name);
                if (conf_is_text(c) && c->content)
                        len += strlen((const char *) c->content);
        }

        /* one allocation: text split by many comments must not cost quadratic time */
        p = s = malloc(len + 1);
        if (!s)
                return -ENOMEM;
        for (xmlNode *c = n->children; c; c = c->next)
                if (conf_is_text(c) && c->content)
                        p = stpcpy(p, (const char *) c->content);
        *p = 0;

        *ret = s;
        return 0;
}

int conf_check_no_children(xmlNode *n, bool libvirt_has_children, const char *kind, const char *name,
                           char **ret_error) {
        for (xmlNode *c = n->children; c; c = c->next) {
                bool element = c->type == XML_ELEMENT_NODE;
                bool text = c->type == XML_ENTITY_REF_NODE ||
                            (conf_is_text(c) && !conf_is_blank((const char *) c->content));

                if (element && libvirt_has_children && name)
                        return unsupported_error(ret_error,
                                                 _("element <%s%s%s> in <%s> of %s '%s' "
                                                   "is not supported"),
                                                 conf_ns_prefix(c), conf_ns_sep(c), (const char *) c->name,
                                                 (const char *) n->name, kind, name);
                if (element && libvirt_has_children)
                        return unsupported_error(ret_error, _("element <%s%s%s> in <%s> is not supported"),
                                                 conf_ns_prefix(c), conf_ns_sep(c), (const char *) c->name,
                                                 (const char *) n->name);
                if (element && name)
                        return xml_error(ret_error, _("unexpected element <%s> in <%s> of %s '%s'"),
                                         (const char *) c->name, (const char *) n->name, kind, name);
                if (element)
                        return xml_error(ret_error, _("unexpected element <%s> in <%s>"),
                                         (const char *) c->name, (const char *) n->name);
                if (text && name)
                        return xml_error(ret_error, _("unexpected text in <%s> of %s '%s'"),
                                         (const char *) n->name, kind, name);
                if (text)
                        return xml_error(ret_error, _("unexpected text in <%s>"), (const char *) n->name);
        }
        return 0;
}

int conf_check_attributes(xmlNode *n, const char *const *allowed, bool unsupported, const char *kind,
                          const char *name, char **ret_error) {
        for (xmlAttr *a = n->properties; a; a = a->next) {
                const char *prefix = a->ns && a->ns->prefix ? (const char *) a->ns->prefix : "";
                const char *sep = *prefix ? ":" : "";
                bool ok = false;

                for (const char *const *p = allowed; !a->ns && *p; p++)
                        if (streq((const char *) a->name, *p)) {
                                ok = true;
                                break;
                        }
                if (ok)
                        continue;
                if (unsupported && name)
                        return unsupported_error(
                                ret_error, _("attribute '%s%s%s' on <%s> in %s '%s' is not supported"),
                                prefix, sep, (const char *) a->name, (const char *) n->name, kind, name);
                if (unsupported)
                        return unsupported_error(ret_error, _("attribute '%s%s%s' on <%s> is not supported"),
                                                 prefix, sep, (const char *) a->name,
                                                 (const char *) n->name);
                if (name)
                        return xml_error(ret_error, _("unknown attribute '%s%s%s' on <%s> in %s '%s'"),
                                         prefix, sep, (const char *) a->name, (const char *) n->name, kind,
                                         name);
                return xml_error(ret_error, _("unknown attribute '%s%s%s' on <%s>"), prefix, sep,
                                 (const char *) a->name, (const char *) n->name);
        }
        return 0;
}
