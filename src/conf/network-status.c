/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>

#include "conf-util.h"
#include "i18n.h"
#include "network-conf.h"
#include "qos-layout.h"
#include "xml-util.h"

/* The status file is read back at daemon start-up: whatever is on disk (truncated by a crash,
 * edited by hand, from another version) must give an error, never a half-filled status. */

/* From network-conf.c (not public API, see there). */
int network_def_parse_node(xmlNode *node, NetworkDef **ret, char **ret_error);
void network_def_format_buf(StrBuf *b, const NetworkDef *def, int indent);

/* An element with exactly one attribute and nothing inside; its value in *ret. */
static int single_attribute(xmlNode *n, const char *attr, char **ret, char **ret_error) {
        const char *el = (const char *) n->name;
        char *v;

        for (xmlAttr *a = n->properties; a; a = a->next)
                if (a->ns || !streq((const char *) a->name, attr))
                        return xml_error(ret_error, _("unknown attribute '%s' on <%s> in <networkstatus>"),
                                         (const char *) a->name, el);
        for (xmlNode *c = n->children; c; c = c->next)
                if (c->type == XML_ELEMENT_NODE || c->type == XML_ENTITY_REF_NODE ||
                    (conf_is_text(c) && !conf_is_blank((const char *) c->content)))
                        return xml_error(ret_error, _("unexpected content in <%s> in <networkstatus>"), el);
        v = xml_get_prop(n, attr);
        if (!v) {
                if (xmlHasNsProp(n, (const xmlChar *) attr, NULL))
                        return -ENOMEM;
                return xml_error(ret_error, _("missing %s attribute on <%s> in <networkstatus>"), attr, el);
        }
        *ret = v;
        return 0;
}

static int parse_class_id(xmlNode *n, ClassIdBitmap *ret, char **ret_error) {
        _cleanup_free_ char *v = NULL, *why = NULL;
        int r;

        r = single_attribute(n, "bitmap", &v, ret_error);
        if (r < 0)
                return r;
        r = class_id_bitmap_parse(v, ret, &why);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return xml_error(ret_error, _("invalid class id bitmap on <class_id> in <networkstatus>: %s"),
                                 strna(why));
        return 0;
}

static int parse_floor(xmlNode *n, uint64_t *ret, char **ret_error) {
        _cleanup_free_ char *v = NULL;
        int r;

        r = single_attribute(n, "sum", &v, ret_error);
        if (r < 0)
                return r;
        /* a sum of u32 floors over at most 65532 classes */
        if (conf_parse_uint(v, 0, (uint64_t) UINT32_MAX * (QOS_CLASS_ID_MAX - QOS_CLASS_ID_MIN + 1), ret) < 0)
                return xml_error(ret_error, _("invalid floor sum '%s' on <floor> in <networkstatus>"), v);
        return 0;
}

int network_status_parse(const char *xml, NetworkStatus **ret, char **ret_error) {
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        _cleanup_(network_status_freep) NetworkStatus *st = NULL;
        _cleanup_free_ char *e = NULL, *created = NULL;
        xmlNode *root, *network = NULL, *class_id = NULL, *floor = NULL;
        int r;

        if (xml && strnlen(xml, XML_DOCUMENT_MAX + 1) > XML_DOCUMENT_MAX)
                return xml_error(ret_error, _("status document is larger than %d bytes"), XML_DOCUMENT_MAX);

        r = xml_parse_string(strempty(xml), &doc, &e);
        if (r == -ENOMEM)
                return r;
        if (r == -EOPNOTSUPP) /* a DTD: not a broken file, one we refuse on principle */
                return xml_error(ret_error, "%s", e ?: _("malformed document"));
        if (r < 0)
                return xml_error(ret_error, _("network status: %s"), e ?: _("malformed document"));

        root = xmlDocGetRootElement(doc);
        if (!streq((const char *) root->name, "networkstatus") || root->ns)
                return xml_error(ret_error, _("expected root element <networkstatus>, got <%s>"),
                                 (const char *) root->name);

        for (xmlAttr *a = root->properties; a; a = a->next)
                if (a->ns || !streq((const char *) a->name, "bridgeCreated"))
                        return xml_error(ret_error, _("unknown attribute '%s' on <networkstatus>"),
                                         (const char *) a->name);

        st = calloc(1, sizeof *st);
        if (!st)
                return -ENOMEM;

        created = xml_get_prop(root, "bridgeCreated");
        if (!created) {
                if (xmlHasNsProp(root, (const xmlChar *) "bridgeCreated", NULL))
                        return -ENOMEM;
                /* no default: guessing wrong deletes a bridge we do not own, or leaks one */
                return xml_error(ret_error, _("missing bridgeCreated attribute on <networkstatus>"));
        }
        if (streq(created, "yes"))
                st->bridge_created = true;
        else if (streq(created, "no"))
                st->bridge_created = false;
        else
                return xml_error(ret_error,
                                 _("invalid bridgeCreated '%s' on <networkstatus>: expected 'yes' or 'no'"),
                                 created);

        class_id_bitmap_init(&st->class_ids);
        for (xmlNode *c = root->children; c; c = c->next) {
                if (c->type == XML_ENTITY_REF_NODE ||
                    ((c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
                     !conf_is_blank((const char *) c->content)))
                        return xml_error(ret_error, _("unexpected text in <networkstatus>"));
                if (c->type != XML_ELEMENT_NODE)
                        continue;
                if (!c->ns && streq((const char *) c->name, "class_id")) {
                        if (class_id)
                                return xml_error(ret_error, _("multiple <class_id> elements in <networkstatus>"));
                        class_id = c;
                        continue;
                }
                if (!c->ns && streq((const char *) c->name, "floor")) {
                        if (floor)
                                return xml_error(ret_error, _("multiple <floor> elements in <networkstatus>"));
                        floor = c;
                        continue;
                }
                if (c->ns || !streq((const char *) c->name, "network"))
                        return xml_error(ret_error, _("unknown element <%s> in <networkstatus>"),
                                         (const char *) c->name);
                if (network)
                        return xml_error(ret_error, _("multiple <network> elements in <networkstatus>"));
                network = c;
        }
        if (class_id) {
                r = parse_class_id(class_id, &st->class_ids, ret_error);
                if (r < 0)
                        return r;
        }
        if (floor) {
                r = parse_floor(floor, &st->floor_sum, ret_error);
                if (r < 0)
                        return r;
        }
        if (!network)
                return xml_error(ret_error, _("missing <network> element in <networkstatus>"));

        r = network_def_parse_node(network, &st->def, ret_error);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(st);
        return 0;
}

char *network_status_format(const NetworkStatus *st) {
        _cleanup_free_ char *bitmap = NULL;
        ClassIdBitmap ids, reserved;
        StrBuf b = {};

        if (!st->def) {
                errno = EINVAL;
                return NULL;
        }

        /* ids 0-2 are always in use, also in a status nobody initialised */
        ids = st->class_ids;
        class_id_bitmap_init(&reserved);
        ids.words[0] |= reserved.words[0];
        bitmap = class_id_bitmap_format(&ids);
        if (!bitmap)
                return NULL;

        strbuf_printf(&b, "<networkstatus bridgeCreated='%s'>\n", yes_no(st->bridge_created));
        strbuf_printf(&b, "  <class_id bitmap='%s'/>\n", bitmap);
        strbuf_printf(&b, "  <floor sum='%" PRIu64 "'/>\n", st->floor_sum);
        network_def_format_buf(&b, st->def, 2);
        strbuf_printf(&b, "</networkstatus>\n");
        return strbuf_steal(&b);
}

NetworkStatus *network_status_free(NetworkStatus *st) {
        if (!st)
                return NULL;
        network_def_free(st->def);
        return mfree(st);
}
