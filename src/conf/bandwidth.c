/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>

#include "bandwidth.h"
#include "conf-util.h"
#include "i18n.h"
#include "macro.h"

/* Rates are KiB/s and bursts KiB, as in libvirt. Anything above 2^32-1 KiB/s (~4 TiB/s) is a
 * typo, not a link speed, and would overflow the byte counts handed to the kernel. */
#define BANDWIDTH_VALUE_MAX UINT32_MAX

/* Reports whatever an element that must be empty contains, or 0. */
static int check_empty(xmlNode *node, char **ret_error) {
        for (xmlNode *c = node->children; c; c = c->next) {
                if (c->type == XML_ELEMENT_NODE)
                        return xml_error(ret_error, _("unexpected element <%s> in <%s>"),
                                         (const char *) c->name, (const char *) node->name);
                if (conf_is_text(c) && !conf_is_blank((const char *) c->content))
                        return xml_error(ret_error, _("unexpected text in <%s>"), (const char *) node->name);
                if (c->type == XML_ENTITY_REF_NODE)
                        return xml_error(ret_error, _("unexpected entity reference in <%s>"),
                                         (const char *) node->name);
        }
        return 0;
}

static int parse_rate(xmlNode *node, bool inbound, bool allow_floor, BandwidthRate *ret, char **ret_error) {
        static const char *const names[] = { "average", "peak", "burst", "floor" };
        const char *el = inbound ? "inbound" : "outbound";
        BandwidthRate rate = { .set = true };
        uint64_t *fields[] = { &rate.average, &rate.peak, &rate.burst, &rate.floor };
        int r;

        for (xmlAttr *a = node->properties; a; a = a->next) {
                size_t i;

                for (i = 0; i < ELEMENTSOF(names); i++)
                        if (!a->ns && streq((const char *) a->name, names[i]))
                                break;
                if (i >= ELEMENTSOF(names))
                        return xml_error(ret_error, _("unknown attribute '%s' on <%s> in <bandwidth>"),
                                         (const char *) a->name, el);
        }

        r = check_empty(node, ret_error);
        if (r < 0)
                return r;

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_free_ char *v = xml_get_prop(node, names[i]);

                if (!v) {
                        if (xmlHasNsProp(node, (const xmlChar *) names[i], NULL))
                                return -ENOMEM;
                        continue;
                }
                /* 0 means "unset" in the model; libvirt has no use for an explicit 0 either */
                if (conf_parse_uint(v, 1, BANDWIDTH_VALUE_MAX, fields[i]) < 0)
                        return xml_error(ret_error,
                                         _("invalid %s '%s' on <%s> in <bandwidth>: "
                                           "expected an integer from 1 to %u %s"),
                                         names[i], v, el, BANDWIDTH_VALUE_MAX,
                                         streq(names[i], "burst") ? "KiB" : "KiB/s");
        }

        if (rate.floor > 0) {
                if (!inbound)
                        return xml_error(ret_error,
                                         _("floor is not supported on <outbound>, only on <inbound>"));
                if (!allow_floor)
                        return unsupported_error(ret_error,
                                                 _("floor is supported only on <inbound> of interfaces "
                                                   "of type 'network', not on networks or other "
                                                   "interface types"));
        }

        if (rate.average == 0) {
                if (rate.floor == 0 && inbound && allow_floor)
                        return xml_error(ret_error,
                                         _("<inbound> in <bandwidth> needs an average or a floor"));
                if (rate.floor == 0)
                        return xml_error(ret_error, _("<%s> in <bandwidth> needs an average"), el);
                /* floor alone reserves a share without capping it; peak/burst shape an average */
                if (rate.peak > 0 || rate.burst > 0)
                        return xml_error(ret_error,
                                         _("peak and burst on <%s> in <bandwidth> need an average"), el);
        }

        if (rate.peak > 0 && rate.peak < rate.average)
                return xml_error(ret_error,
                                 _("peak '%llu' on <%s> in <bandwidth> is less than average '%llu'"),
                                 (unsigned long long) rate.peak, el, (unsigned long long) rate.average);

        *ret = rate;
        return 0;
}

int bandwidth_parse(xmlNode *node, bool allow_floor, Bandwidth *ret, char **ret_error) {
        xmlNode *in = NULL, *out = NULL;
        Bandwidth bw = {};
        int r;

        if (!xml_name_is(node, "bandwidth"))
                return -EINVAL;

        if (node->properties)
                return xml_error(ret_error, _("unknown attribute '%s' on <bandwidth>"),
                                 (const char *) node->properties->name);

        for (xmlNode *c = node->children; c; c = c->next) {
                xmlNode **slot;

                if (c->type == XML_ENTITY_REF_NODE)
                        return xml_error(ret_error, _("unexpected entity reference in <bandwidth>"));
                if (conf_is_text(c)) {
                        if (!conf_is_blank((const char *) c->content))
                                return xml_error(ret_error, _("unexpected text in <bandwidth>"));
                        continue;
                }
                if (c->type != XML_ELEMENT_NODE)
                        continue;

                if (!c->ns && streq((const char *) c->name, "inbound"))
                        slot = &in;
                else if (!c->ns && streq((const char *) c->name, "outbound"))
                        slot = &out;
                else
                        return xml_error(ret_error, _("unknown element <%s> in <bandwidth>"),
                                         (const char *) c->name);
                if (*slot)
                        return xml_error(ret_error, _("multiple <%s> elements in <bandwidth>"),
                                         (const char *) c->name);
                *slot = c;
        }

        if (in) {
                r = parse_rate(in, true, allow_floor, &bw.inbound, ret_error);
                if (r < 0)
                        return r;
        }
        if (out) {
                r = parse_rate(out, false, allow_floor, &bw.outbound, ret_error);
                if (r < 0)
                        return r;
        }

        *ret = bw;
        return 0;
}

static void format_rate(StrBuf *b, const char *name, const BandwidthRate *rate, int indent) {
        if (!rate->set)
                return;

        strbuf_indent(b, indent);
        strbuf_printf(b, "<%s", name);
        /* libvirt's attribute order */
        if (rate->average > 0)
                strbuf_printf(b, " average='%" PRIu64 "'", rate->average);
        if (rate->peak > 0)
                strbuf_printf(b, " peak='%" PRIu64 "'", rate->peak);
        if (rate->floor > 0)
                strbuf_printf(b, " floor='%" PRIu64 "'", rate->floor);
        if (rate->burst > 0)
                strbuf_printf(b, " burst='%" PRIu64 "'", rate->burst);
        strbuf_printf(b, "/>\n");
}

void bandwidth_format(StrBuf *b, const Bandwidth *bw, int indent) {
        if (!bandwidth_is_set(bw))
                return;

        strbuf_indent(b, indent);
        strbuf_printf(b, "<bandwidth>\n");
        format_rate(b, "inbound", &bw->inbound, indent + 2);
        format_rate(b, "outbound", &bw->outbound, indent + 2);
        strbuf_indent(b, indent);
        strbuf_printf(b, "</bandwidth>\n");
}
