/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>

#include "conf-util.h"
#include "i18n.h"
#include "qemu-caps.h"
#include "xml-util.h"

/* A cache file is ours, but it is read back from disk: bound what it may hold. */
#define QEMU_CAPS_DEVICES_MAX 64
#define QEMU_CAPS_PROPS_MAX 1024

/* Every device qemu_build_command_line() may put on a command line, and so whose properties
 * it needs to know. */
const char *const qemu_caps_probed_devices[] = {
        "virtio-net-pci", "e1000",      "rtl8139", "virtio-blk-pci", "ich9-ahci", "ide-hd",
        "ide-cd",         "isa-serial", NULL,
};

static const QemuCapsDevice *find_device(const QemuCaps *caps, const char *device) {
        if (!caps || !device)
                return NULL;
        for (size_t i = 0; i < caps->n_devices; i++)
                if (streq(caps->devices[i].name, device))
                        return &caps->devices[i];
        return NULL;
}

bool qemu_caps_has_device(const QemuCaps *caps, const char *device) {
        return find_device(caps, device);
}

bool qemu_caps_has_device_prop(const QemuCaps *caps, const char *device, const char *prop) {
        const QemuCapsDevice *d = find_device(caps, device);

        if (!d || !prop)
                return false;
        for (size_t i = 0; i < d->n_props; i++)
                if (streq(d->props[i], prop))
                        return true;
        return false;
}

static void device_done(QemuCapsDevice *d) {
        for (size_t i = 0; i < d->n_props; i++)
                free(d->props[i]);
        free(d->props);
        free(d->name);
        *d = (QemuCapsDevice) {};
}

QemuCaps *qemu_caps_free(QemuCaps *caps) {
        if (!caps)
                return NULL;
        for (size_t i = 0; i < caps->n_devices; i++)
                device_done(&caps->devices[i]);
        free(caps->devices);
        free(caps->binary);
        return mfree(caps);
}

/* Only the element's name attribute, no children. */
static int get_name(xmlNode *n, char **ret, char **ret_error) {
        int r;

        r = conf_check_attributes(n, (const char *const[]) { "name", NULL }, false, NULL, NULL, ret_error);
        if (r < 0)
                return r;
        r = conf_get_prop(n, "name", ret);
        if (r < 0)
                return r;
        if (isempty(*ret))
                return xml_error(ret_error, _("missing name attribute on <%s> in QEMU capabilities"),
                                 (const char *) n->name);
        return 0;
}

static int parse_device(xmlNode *n, QemuCapsDevice *d, char **ret_error) {
        int r;

        r = get_name(n, &d->name, ret_error);
        if (r < 0)
                return r;

        for (xmlNode *c = n->children; c; c = c->next) {
                _cleanup_free_ char *prop = NULL;
                char **p;

                if (c->type == XML_ENTITY_REF_NODE ||
                    (conf_is_text(c) && !conf_is_blank((const char *) c->content)))
                        return xml_error(ret_error, _("unexpected text in <device> in QEMU capabilities"));
                if (c->type != XML_ELEMENT_NODE)
                        continue;
                if (c->ns || !streq((const char *) c->name, "prop"))
                        return xml_error(ret_error,
                                         _("unknown element <%s> in <device> in QEMU capabilities"),
                                         (const char *) c->name);
                if (d->n_props >= QEMU_CAPS_PROPS_MAX)
                        return xml_error(ret_error,
                                         _("too many properties of device '%s' in QEMU capabilities"),
                                         d->name);
                r = get_name(c, &prop, ret_error);
                if (r < 0)
                        return r;
                r = conf_check_no_children(c, false, NULL, NULL, ret_error);
                if (r < 0)
                        return r;

                p = reallocarray(d->props, d->n_props + 2, sizeof *p);
                if (!p)
                        return -ENOMEM;
                d->props = p;
                d->props[d->n_props++] = TAKE_PTR(prop);
                d->props[d->n_props] = NULL;
        }

        /* props is documented NULL-terminated, even when empty */
        if (!d->props) {
                d->props = calloc(1, sizeof *d->props);
                if (!d->props)
                        return -ENOMEM;
        }
        return 0;
}

static int parse_root_attrs(xmlNode *root, QemuCaps *caps, char **ret_error) {
        _cleanup_free_ char *binary = NULL, *mtime = NULL, *size = NULL, *version = NULL, *kvm = NULL;
        uint64_t v;
        int r;

        r = conf_check_attributes(
                root, (const char *const[]) { "binary", "mtime", "size", "version", "kvm", NULL }, false,
                NULL, NULL, ret_error);
        if (r < 0)
                return r;
        if (conf_get_prop(root, "binary", &binary) < 0 || conf_get_prop(root, "mtime", &mtime) < 0 ||
            conf_get_prop(root, "size", &size) < 0 || conf_get_prop(root, "version", &version) < 0 ||
            conf_get_prop(root, "kvm", &kvm) < 0)
                return -ENOMEM;

        if (!binary || binary[0] != '/')
                return xml_error(ret_error, _("missing or relative binary on <qemucaps>"));
        /* mtime in ns since the epoch; before 1970 is possible on a file system, so signed */
        if (!mtime || conf_parse_uint(mtime[0] == '-' ? mtime + 1 : mtime, 0, INT64_MAX, &v) < 0)
                return xml_error(ret_error, _("invalid mtime '%s' on <qemucaps>"), strna(mtime));
        caps->mtime_ns = mtime[0] == '-' ? -(int64_t) v : (int64_t) v;
        if (!size || conf_parse_uint(size, 0, UINT64_MAX, &caps->size) < 0)
                return xml_error(ret_error, _("invalid size '%s' on <qemucaps>"), strna(size));
        if (!version || conf_parse_uint(version, 0, UINT64_MAX, &caps->version) < 0)
                return xml_error(ret_error, _("invalid version '%s' on <qemucaps>"), strna(version));
        if (streq_ptr(kvm, "yes"))
                caps->kvm = true;
        else if (!streq_ptr(kvm, "no"))
                return xml_error(ret_error, _("invalid kvm '%s' on <qemucaps>: expected 'yes' or 'no'"),
                                 strna(kvm));

        caps->binary = TAKE_PTR(binary);
        return 0;
}

int qemu_caps_parse(const char *xml, QemuCaps **ret, char **ret_error) {
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        _cleanup_(qemu_caps_freep) QemuCaps *caps = NULL;
        _cleanup_free_ char *e = NULL;
        xmlNode *root;
        int r;

        if (xml && strnlen(xml, XML_DOCUMENT_MAX + 1) > XML_DOCUMENT_MAX)
                return xml_error(ret_error, _("QEMU capabilities are larger than %d bytes"),
                                 XML_DOCUMENT_MAX);
        r = xml_parse_string(strempty(xml), &doc, &e);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return xml_error(ret_error, _("QEMU capabilities: %s"), e ?: _("malformed document"));

        root = xmlDocGetRootElement(doc);
        if (root->ns || !streq((const char *) root->name, "qemucaps"))
                return xml_error(ret_error, _("expected root element <qemucaps>, got <%s>"),
                                 (const char *) root->name);

        caps = calloc(1, sizeof *caps);
        if (!caps)
                return -ENOMEM;
        r = parse_root_attrs(root, caps, ret_error);
        if (r < 0)
                return r;

        for (xmlNode *c = root->children; c; c = c->next) {
                QemuCapsDevice *d;

                if (c->type == XML_ENTITY_REF_NODE ||
                    (conf_is_text(c) && !conf_is_blank((const char *) c->content)))
                        return xml_error(ret_error, _("unexpected text in <qemucaps>"));
                if (c->type != XML_ELEMENT_NODE)
                        continue;
                if (c->ns || !streq((const char *) c->name, "device"))
                        return xml_error(ret_error, _("unknown element <%s> in <qemucaps>"),
                                         (const char *) c->name);
                if (caps->n_devices >= QEMU_CAPS_DEVICES_MAX)
                        return xml_error(ret_error, _("too many devices in QEMU capabilities"));

                d = reallocarray(caps->devices, caps->n_devices + 1, sizeof *d);
                if (!d)
                        return -ENOMEM;
                caps->devices = d;
                d = &caps->devices[caps->n_devices++];
                *d = (QemuCapsDevice) {};
                r = parse_device(c, d, ret_error);
                if (r < 0)
                        return r;
                for (size_t i = 0; i + 1 < caps->n_devices; i++)
                        if (streq(caps->devices[i].name, d->name))
                                return xml_error(ret_error,
                                                 _("device '%s' is listed twice in QEMU capabilities"),
                                                 d->name);
        }

        *ret = TAKE_PTR(caps);
        return 0;
}

char *qemu_caps_format(const QemuCaps *caps) {
        StrBuf b = {};

        strbuf_printf(&b, "<qemucaps binary='");
        strbuf_append_escaped(&b, caps->binary);
        strbuf_printf(&b, "' mtime='%" PRId64 "' size='%" PRIu64 "' version='%" PRIu64 "' kvm='%s'>\n",
                      caps->mtime_ns, caps->size, caps->version, yes_no(caps->kvm));
        for (size_t i = 0; i < caps->n_devices; i++) {
                const QemuCapsDevice *d = &caps->devices[i];

                strbuf_printf(&b, "  <device name='");
                strbuf_append_escaped(&b, d->name);
                if (d->n_props == 0) {
                        strbuf_printf(&b, "'/>\n");
                        continue;
                }
                strbuf_printf(&b, "'>\n");
                for (size_t j = 0; j < d->n_props; j++) {
                        strbuf_printf(&b, "    <prop name='");
                        strbuf_append_escaped(&b, d->props[j]);
                        strbuf_printf(&b, "'/>\n");
                }
                strbuf_printf(&b, "  </device>\n");
        }
        strbuf_printf(&b, "</qemucaps>\n");
        return strbuf_steal(&b);
}
