/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <strings.h>

#include "conf-util.h"
#include "domain-conf.h"
#include "i18n.h"
#include "ifname.h"
#include "network-conf.h"
#include "xml-util.h"

/* Names the object in messages: "… in domain 'vm'". */
#define DOMAIN_KIND "domain"

/* libvirt's ceiling (VIR_DOMAIN_MEMORY_PARAM_UNLIMITED): sizes stay exact in a double. */
#define DOMAIN_MEMORY_MAX_KIB ((UINT64_C(1) << 53) - 1)
/* The smallest MTU an IPv4 host must accept, and the largest a tap takes. */
#define DOMAIN_MTU_MIN 68
#define DOMAIN_MTU_MAX 65535
/* What QEMU's virtio-net accepts for rx_queue_size/tx_queue_size (a power of two). */
#define DOMAIN_NET_QUEUE_SIZE_MIN 256
#define DOMAIN_NET_QUEUE_SIZE_MAX 1024
/* One AHCI controller, one disk per port. */
#define DOMAIN_SATA_PORTS 6
/* Aliases become QEMU ids. */
#define DOMAIN_ALIAS_MAX 64

/* ---- string tables ---- */

static const char *const virt_type_table[_DOMAIN_VIRT_MAX] = {
        [DOMAIN_VIRT_QEMU] = "qemu",
        [DOMAIN_VIRT_KVM] = "kvm",
};

static const char *const boot_dev_table[_DOMAIN_BOOT_DEV_MAX] = {
        [DOMAIN_BOOT_HD] = "hd",
        [DOMAIN_BOOT_CDROM] = "cdrom",
        [DOMAIN_BOOT_NETWORK] = "network",
};

static const char *const lifecycle_table[_DOMAIN_LIFECYCLE_MAX] = {
        [DOMAIN_LIFECYCLE_DESTROY] = "destroy",
        [DOMAIN_LIFECYCLE_RESTART] = "restart",
};

static const char *const tristate_table[_DOMAIN_TRISTATE_MAX] = {
        [DOMAIN_TRISTATE_ON] = "on",
        [DOMAIN_TRISTATE_OFF] = "off",
};

static const char *const disk_device_table[_DOMAIN_DISK_DEVICE_MAX] = {
        [DOMAIN_DISK_DEVICE_DISK] = "disk",
        [DOMAIN_DISK_DEVICE_CDROM] = "cdrom",
};

static const char *const disk_format_table[_DOMAIN_DISK_FORMAT_MAX] = {
        [DOMAIN_DISK_FORMAT_RAW] = "raw",
        [DOMAIN_DISK_FORMAT_QCOW2] = "qcow2",
};

static const char *const disk_bus_table[_DOMAIN_DISK_BUS_MAX] = {
        [DOMAIN_DISK_BUS_VIRTIO] = "virtio",
        [DOMAIN_DISK_BUS_SATA] = "sata",
};

/* Target dev prefix per bus, as libvirt names disks. */
static const char *const disk_prefix_table[_DOMAIN_DISK_BUS_MAX] = {
        [DOMAIN_DISK_BUS_VIRTIO] = "vd",
        [DOMAIN_DISK_BUS_SATA] = "sd",
};

static const char *const net_type_table[_DOMAIN_NET_TYPE_MAX] = {
        [DOMAIN_NET_TYPE_NETWORK] = "network",
        [DOMAIN_NET_TYPE_BRIDGE] = "bridge",
        [DOMAIN_NET_TYPE_DIRECT] = "direct",
};

/* The <source> attribute that names what the interface attaches to. */
static const char *const net_source_attr_table[_DOMAIN_NET_TYPE_MAX] = {
        [DOMAIN_NET_TYPE_NETWORK] = "network",
        [DOMAIN_NET_TYPE_BRIDGE] = "bridge",
        [DOMAIN_NET_TYPE_DIRECT] = "dev",
};

static const char *const macvtap_mode_table[_DOMAIN_MACVTAP_MODE_MAX] = {
        [DOMAIN_MACVTAP_VEPA] = "vepa",
        [DOMAIN_MACVTAP_BRIDGE] = "bridge",
        [DOMAIN_MACVTAP_PRIVATE] = "private",
        [DOMAIN_MACVTAP_PASSTHROUGH] = "passthrough",
};

static const char *const net_model_table[_DOMAIN_NET_MODEL_MAX] = {
        [DOMAIN_NET_MODEL_RTL8139] = "rtl8139",
        [DOMAIN_NET_MODEL_E1000] = "e1000",
        [DOMAIN_NET_MODEL_VIRTIO] = "virtio",
};

static const char *const net_driver_table[_DOMAIN_NET_DRIVER_MAX] = {
        [DOMAIN_NET_DRIVER_VHOST] = "vhost",
        [DOMAIN_NET_DRIVER_QEMU] = "qemu",
};

static const char *const net_txmode_table[_DOMAIN_NET_TXMODE_MAX] = {
        [DOMAIN_NET_TXMODE_IOTHREAD] = "iothread",
        [DOMAIN_NET_TXMODE_TIMER] = "timer",
};

static const struct {
        bool guest; /* <guest> or <host> */
        const char *attr;
} net_offload_table[_DOMAIN_NET_OFFLOAD_MAX] = {
        [DOMAIN_NET_HOST_CSUM] = { false, "csum" },
        [DOMAIN_NET_HOST_GSO] = { false, "gso" },
        [DOMAIN_NET_HOST_TSO4] = { false, "tso4" },
        [DOMAIN_NET_HOST_TSO6] = { false, "tso6" },
        [DOMAIN_NET_HOST_ECN] = { false, "ecn" },
        [DOMAIN_NET_HOST_UFO] = { false, "ufo" },
        [DOMAIN_NET_HOST_MRG_RXBUF] = { false, "mrg_rxbuf" },
        [DOMAIN_NET_GUEST_CSUM] = { true, "csum" },
        [DOMAIN_NET_GUEST_TSO4] = { true, "tso4" },
        [DOMAIN_NET_GUEST_TSO6] = { true, "tso6" },
        [DOMAIN_NET_GUEST_ECN] = { true, "ecn" },
        [DOMAIN_NET_GUEST_UFO] = { true, "ufo" },
};

static const char *const chr_type_table[_DOMAIN_CHR_TYPE_MAX] = {
        [DOMAIN_CHR_PTY] = "pty",
        [DOMAIN_CHR_FILE] = "file",
};

/* libvirt's order of the children of <domain> and of <devices> (how it formats them). A kept
 * element takes the slot of its name, so the output has libvirt's layout; one libvirt does not
 * know either stays behind the element it followed. Elements of other namespaces
 * (<qemu:commandline>) go last, as libvirt writes them. */
static const char *const top_order[] = {
        "name", "uuid", "genid", "title", "description", "metadata", "maxMemory", "memory", "currentMemory",
        "blkiotune", "memtune", "memoryBacking", "vcpu", "vcpus", "iothreads", "iothreadids",
        "defaultiothread", "cputune", "numatune", "resource", "sysinfo", "bootloader", "bootloader_args",
        "os", "idmap", "features", "cpu", "clock", "on_poweroff", "on_reboot", "on_crash", "on_lockfailure",
        "pm", "perf", "devices", "seclabel", "keywrap", "launchSecurity",
};
#define TOP_RANK_OTHER_NS ELEMENTSOF(top_order)

static const char *const devices_order[] = {
        "emulator", "disk",       "controller", "lease",   "filesystem", "interface",   "smartcard",
        "serial",   "parallel",   "console",    "channel", "input",      "tpm",         "graphics",
        "sound",    "audio",      "video",      "hostdev", "redirdev",   "redirfilter", "hub",
        "watchdog", "memballoon", "rng",        "nvram",   "panic",      "shmem",       "memory",
        "iommu",    "vsock",      "crypto",     "pstore",
};
#define DEVICES_RANK_OTHER_NS ELEMENTSOF(devices_order)

static int table_lookup(const char *const *table, size_t n, const char *s) {
        if (!s)
                return -1;
        for (size_t i = 0; i < n; i++)
                if (table[i] && streq(table[i], s))
                        return (int) i;
        return -1;
}

#define LOOKUP(table, s) table_lookup(table, ELEMENTSOF(table), s)

static const char *table_get(const char *const *table, size_t n, int i) {
        if (i < 0 || (size_t) i >= n)
                return NULL;
        return table[i];
}

#define TO_STRING(table, i) table_get(table, ELEMENTSOF(table), (int) (i))

const char *domain_virt_type_to_string(DomainVirtType t) {
        return TO_STRING(virt_type_table, t);
}

const char *domain_boot_dev_to_string(DomainBootDev d) {
        return TO_STRING(boot_dev_table, d);
}

const char *domain_lifecycle_action_to_string(DomainLifecycleAction a) {
        return TO_STRING(lifecycle_table, a);
}

const char *domain_disk_format_to_string(DomainDiskFormat f) {
        return TO_STRING(disk_format_table, f);
}

const char *domain_disk_bus_to_string(DomainDiskBus b) {
        return TO_STRING(disk_bus_table, b);
}

const char *domain_net_type_to_string(DomainNetType t) {
        return TO_STRING(net_type_table, t);
}

const char *domain_net_model_to_string(DomainNetModel m) {
        return TO_STRING(net_model_table, m);
}

const char *domain_macvtap_mode_to_string(DomainMacvtapMode m) {
        return TO_STRING(macvtap_mode_table, m);
}

/* ---- names and small validators ---- */

bool domain_name_valid(const char *name) {
        size_t l;

        if (isempty(name))
                return false;
        l = strlen(name);
        if (l > DOMAIN_NAME_MAX)
                return false;
        /* names become file names ($STATE_DIRECTORY/qemu/NAME.xml) and QEMU option values */
        if (streq(name, ".") || streq(name, ".."))
                return false;
        return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.+-") == l;
}

const char *domain_machine_family(const char *machine) {
        const char *v;

        if (!machine || streq(machine, "pc") || ((v = startswith(machine, "pc-i440fx-")) && *v))
                return "pc";
        if (streq(machine, "q35") || ((v = startswith(machine, "pc-q35-")) && *v))
                return "q35";
        return NULL;
}

bool domain_net_ifname_is_generated(const char *ifname) {
        return ifname &&
               (startswith(ifname, VIRTBUS_TAP_PREFIX) || startswith(ifname, VIRTBUS_MACVTAP_PREFIX));
}

const char *domain_net_label(const DomainNet *net, size_t index, char *buf) {
        char mac[ETHER_ADDR_STR_MAX];

        if (net->ifname)
                snprintf(buf, DOMAIN_NET_LABEL_MAX, "'%s'", net->ifname);
        else if (net->has_mac)
                snprintf(buf, DOMAIN_NET_LABEL_MAX, "'%s'", ether_addr_format(&net->mac, mac));
        else
                snprintf(buf, DOMAIN_NET_LABEL_MAX, "#%zu", index + 1);
        return buf;
}

/* Paths handed to QEMU: absolute (a relative one would depend on QEMU's working directory, and
 * "proto:…" would select a QEMU block protocol) and without control characters (they would not
 * survive an XML attribute round trip). */
static bool path_valid(const char *p) {
        if (isempty(p) || p[0] != '/' || strlen(p) >= PATH_MAX)
                return false;
        for (; *p; p++)
                if ((unsigned char) *p < ' ' || *p == 0x7f)
                        return false;
        return true;
}

/* QEMU ids: a letter, then letters, digits, '-', '_', '.'. */
static bool alias_valid(const char *a) {
        size_t l = strlen(a);

        if (l == 0 || l > DOMAIN_ALIAS_MAX)
                return false;
        if (!((a[0] >= 'a' && a[0] <= 'z') || (a[0] >= 'A' && a[0] <= 'Z')))
                return false;
        return strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") == l;
}

/* libvirt's user aliases survive define; the others are assigned at start. */
static bool alias_is_user(const char *a) {
        return a && startswith(a, "ua-");
}

/* ---- output helpers: everything we write is re-read by us, byte for byte ---- */

static const char *entity(char c, bool attr) {
        switch (c) {
        case '&':
                return "&amp;";
        case '<':
                return "&lt;";
        case '>':
                return "&gt;";
        case '\r': /* a literal one would come back as \n */
                return "&#13;";
        case '\'':
                return attr ? "&apos;" : NULL;
        case '"':
                return attr ? "&quot;" : NULL;
        case '\n': /* attribute values are whitespace-normalized when read */
                return attr ? "&#10;" : NULL;
        case '\t':
                return attr ? "&#9;" : NULL;
        default:
                return NULL;
        }
}

/* Strings here come from documents of at most XML_DOCUMENT_MAX bytes: spans fit an int. */
static void append_escaped(StrBuf *b, const char *s, bool attr) {
        const char *special = attr ? "&<>\r'\"\n\t" : "&<>\r";

        while (s && *s) {
                size_t n = strcspn(s, special);

                if (n > 0)
                        strbuf_printf(b, "%.*s", (int) n, s);
                s += n;
                if (*s)
                        strbuf_printf(b, "%s", entity(*s++, attr));
        }
}

static void append_text(StrBuf *b, const char *s) {
        append_escaped(b, s, false);
}

static void append_attr(StrBuf *b, const char *s) {
        append_escaped(b, s, true);
}

/* <el attr='value'/> */
static void format_empty1(StrBuf *b, int indent, const char *el, const char *attr, const char *value) {
        strbuf_indent(b, indent);
        strbuf_printf(b, "<%s %s='", el, attr);
        append_attr(b, value);
        strbuf_printf(b, "'/>\n");
}

/* <el>text</el> */
static void format_text_element(StrBuf *b, int indent, const char *el, const char *text) {
        strbuf_indent(b, indent);
        strbuf_printf(b, "<%s>", el);
        append_text(b, text);
        strbuf_printf(b, "</%s>\n", el);
}

/* ---- keeping elements we do not model ---- */

/* A list of namespaces, by identity. */
typedef struct NsList {
        const xmlNs **v;
        size_t n;
} NsList;

static int ns_list_add(NsList *l, const xmlNs *ns) {
        const xmlNs **v;

        for (size_t i = 0; i < l->n; i++)
                if (l->v[i] == ns)
                        return 0;
        v = reallocarray(l->v, l->n + 1, sizeof *v);
        if (!v)
                return -ENOMEM;
        l->v = v;
        l->v[l->n++] = ns;
        return 0;
}

/* Whether ns is declared on n or on one of its ancestors up to and including top. */
static bool ns_declared_within(xmlNode *n, xmlNode *top, const xmlNs *ns) {
        for (;; n = n->parent) {
                for (xmlNs *d = n->nsDef; d; d = d->next)
                        if (d == ns)
                                return true;
                if (n == top)
                        return false;
        }
}

static int collect_outside_ns_one(xmlNode *n, xmlNode *top, const xmlNs *ns, NsList *l) {
        /* the xml: prefix is bound by definition, never declared */
        if (!ns || xmlStrEqual(ns->prefix, (const xmlChar *) "xml") || ns_declared_within(n, top, ns))
                return 0;
        return ns_list_add(l, ns);
}

/* The namespaces the subtree of top uses but that are declared outside of it. */
static int collect_outside_ns(xmlNode *n, xmlNode *top, NsList *l) {
        int r;

        r = collect_outside_ns_one(n, top, n->ns, l);
        if (r < 0)
                return r;
        for (xmlAttr *a = n->properties; a; a = a->next) {
                r = collect_outside_ns_one(n, top, a->ns, l);
                if (r < 0)
                        return r;
        }
        for (xmlNode *c = n->children; c; c = c->next)
                if (c->type == XML_ELEMENT_NODE) {
                        r = collect_outside_ns(c, top, l);
                        if (r < 0)
                                return r;
                }
        return 0;
}

static void serialize_ns(StrBuf *b, const xmlNs *ns) {
        if (ns->prefix)
                strbuf_printf(b, " xmlns:%s='", (const char *) ns->prefix);
        else
                strbuf_printf(b, " xmlns='");
        append_attr(b, (const char *) ns->href);
        strbuf_printf(b, "'");
}

static void serialize_qname(StrBuf *b, const xmlNs *ns, const xmlChar *name) {
        if (ns && ns->prefix)
                strbuf_printf(b, "%s:", (const char *) ns->prefix);
        strbuf_printf(b, "%s", (const char *) name);
}

static int serialize_start_tag(StrBuf *b, xmlNode *n, bool top) {
        strbuf_printf(b, "<");
        serialize_qname(b, n->ns, n->name);

        /* A kept element is written on its own, away from the ancestors that declared the
         * namespaces it uses: declare those on it. */
        if (top) {
                NsList l = {};
                int r;

                r = collect_outside_ns(n, n, &l);
                for (size_t i = 0; r >= 0 && i < l.n; i++)
                        serialize_ns(b, l.v[i]);
                free(l.v);
                if (r < 0)
                        return r;
        }
        for (xmlNs *d = n->nsDef; d; d = d->next)
                serialize_ns(b, d);

        for (xmlAttr *a = n->properties; a; a = a->next) {
                _cleanup_xmlfree_ xmlChar *v = xmlNodeGetContent((xmlNode *) a);

                if (!v)
                        return -ENOMEM;
                strbuf_printf(b, " ");
                serialize_qname(b, a->ns, a->name);
                strbuf_printf(b, "='");
                append_attr(b, (const char *) v);
                strbuf_printf(b, "'");
        }
        return 0;
}

static int serialize_inline(StrBuf *b, xmlNode *n, bool top);

static int serialize_children_inline(StrBuf *b, xmlNode *n) {
        int r;

        for (xmlNode *c = n->children; c; c = c->next) {
                r = serialize_inline(b, c, false);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Mixed content is written exactly as it was: no whitespace may be added to it. */
static int serialize_inline(StrBuf *b, xmlNode *n, bool top) {
        int r;

        if (b->len > XML_DOCUMENT_MAX)
                return -E2BIG;

        switch (n->type) {
        case XML_ELEMENT_NODE:
                r = serialize_start_tag(b, n, top);
                if (r < 0)
                        return r;
                if (!n->children) {
                        strbuf_printf(b, "/>");
                        return 0;
                }
                strbuf_printf(b, ">");
                r = serialize_children_inline(b, n);
                if (r < 0)
                        return r;
                strbuf_printf(b, "</");
                serialize_qname(b, n->ns, n->name);
                strbuf_printf(b, ">");
                return 0;
        case XML_TEXT_NODE:
        case XML_CDATA_SECTION_NODE:
                append_text(b, (const char *) n->content);
                return 0;
        case XML_COMMENT_NODE:
                strbuf_printf(b, "<!--%s-->", strempty((const char *) n->content));
                return 0;
        case XML_PI_NODE:
                strbuf_printf(b, "<?%s%s%s?>", (const char *) n->name, n->content ? " " : "",
                              strempty((const char *) n->content));
                return 0;
        default: /* entity references cannot occur: there is no DTD to declare them */
                return 0;
        }
}

static bool has_text_child(xmlNode *n) {
        for (xmlNode *c = n->children; c; c = c->next)
                if (conf_is_text(c) || c->type == XML_ENTITY_REF_NODE)
                        return true;
        return false;
}

/* An element as libvirt would write it: one child per line, 2 more spaces per level, unless it
 * holds text. */
static int serialize_pretty(StrBuf *b, xmlNode *n, int indent, bool top) {
        int r;

        if (b->len > XML_DOCUMENT_MAX)
                return -E2BIG;

        strbuf_indent(b, indent);
        if (n->type != XML_ELEMENT_NODE || has_text_child(n)) {
                r = serialize_inline(b, n, top);
                if (r < 0)
                        return r;
                strbuf_printf(b, "\n");
                return 0;
        }

        r = serialize_start_tag(b, n, top);
        if (r < 0)
                return r;
        if (!n->children) {
                strbuf_printf(b, "/>\n");
                return 0;
        }
        strbuf_printf(b, ">\n");
        for (xmlNode *c = n->children; c; c = c->next) {
                r = serialize_pretty(b, c, indent + 2, false);
                if (r < 0)
                        return r;
        }
        strbuf_indent(b, indent);
        strbuf_printf(b, "</");
        serialize_qname(b, n->ns, n->name);
        strbuf_printf(b, ">\n");
        return 0;
}

static int keep_node(xmlNode *n, int indent, char **ret) {
        StrBuf b = {};
        int r;

        r = serialize_pretty(&b, n, indent, true);
        if (r < 0) {
                strbuf_done(&b);
                return r;
        }
        *ret = strbuf_steal(&b);
        return *ret ? 0 : -ENOMEM;
}

/* Devices every x86 QEMU machine has anyway; libvirt lists them, starting without them changes
 * nothing. */
static bool device_is_implicit(xmlNode *n) {
        _cleanup_free_ char *type = NULL, *model = NULL, *bus = NULL;

        if (n->ns)
                return false;
        /* OOM reads as "absent", i.e. not implicit: the safe side */
        type = xml_get_prop(n, "type");
        model = xml_get_prop(n, "model");
        bus = xml_get_prop(n, "bus");

        if (xml_name_is(n, "controller"))
                return (streq_ptr(type, "pci") &&
                        (streq_ptr(model, "pci-root") || streq_ptr(model, "pcie-root"))) ||
                       (streq_ptr(type, "usb") && streq_ptr(model, "none"));
        if (xml_name_is(n, "input"))
                return streq_ptr(bus, "ps2") && (streq_ptr(type, "mouse") || streq_ptr(type, "keyboard"));
        if (xml_name_is(n, "memballoon"))
                return streq_ptr(model, "none");
        return false;
}

static int add_unknown(DomainDef *def, xmlNode *n, DomainUnknownPlace place, unsigned rank,
                       char **ret_error) {
        _cleanup_free_ char *xml = NULL, *path = NULL;
        DomainUnknown *u;
        int r;

        if (def->n_unknown >= DOMAIN_UNKNOWN_MAX)
                return unsupported_error(ret_error,
                                         _("too many unknown elements in domain '%s' (at most %d are kept)"),
                                         def->name, DOMAIN_UNKNOWN_MAX);

        r = keep_node(n, place == DOMAIN_UNKNOWN_TOP ? 2 : 4, &xml);
        if (r == -E2BIG)
                return xml_error(ret_error, _("element <%s%s%s> in domain '%s' is too large"),
                                 conf_ns_prefix(n), conf_ns_sep(n), (const char *) n->name, def->name);
        if (r < 0)
                return r;
        if (asprintf(&path, "%s<%s%s%s>", place == DOMAIN_UNKNOWN_DEVICES ? "<devices>/" : "",
                     conf_ns_prefix(n), conf_ns_sep(n), (const char *) n->name) < 0)
                return -ENOMEM;

        u = reallocarray(def->unknown, def->n_unknown + 1, sizeof *u);
        if (!u)
                return -ENOMEM;
        def->unknown = u;
        def->unknown[def->n_unknown++] = (DomainUnknown) {
                .path = TAKE_PTR(path),
                .xml = TAKE_PTR(xml),
                .place = place,
                .rank = rank,
                .harmless = place == DOMAIN_UNKNOWN_DEVICES && device_is_implicit(n),
        };
        return 0;
}

/* ---- parsing helpers ---- */

/* Children of an element we model: each name in `names` at most once, into slots[]; text,
 * or an element we do not know, is an error. `what` follows the element's name in messages
 * (" #2", " of interface #2", or ""). */
static int collect_children(xmlNode *n, const char *const *names, xmlNode **slots, const char *what,
                            const char *domname, char **ret_error) {
        for (xmlNode *c = n->children; c; c = c->next) {
                size_t i;

                if (c->type == XML_ENTITY_REF_NODE ||
                    (conf_is_text(c) && !conf_is_blank((const char *) c->content)))
                        return xml_error(ret_error, _("unexpected text in <%s>%s in domain '%s'"),
                                         (const char *) n->name, what, domname);
                if (c->type != XML_ELEMENT_NODE)
                        continue;

                for (i = 0; !c->ns && names[i]; i++)
                        if (streq((const char *) c->name, names[i]))
                                break;
                if (c->ns || !names[i])
                        return unsupported_error(
                                ret_error, _("element <%s%s%s> in <%s>%s in domain '%s' is not supported"),
                                conf_ns_prefix(c), conf_ns_sep(c), (const char *) c->name,
                                (const char *) n->name, what, domname);
                if (slots[i])
                        return xml_error(ret_error, _("multiple <%s> elements in <%s>%s in domain '%s'"),
                                         (const char *) c->name, (const char *) n->name, what, domname);
                slots[i] = c;
        }
        return 0;
}

static int check_attrs(xmlNode *n, const char *const *allowed, const DomainDef *def, char **ret_error) {
        /* libvirt knows many more attributes than we model: what we do not know is "unsupported" */
        return conf_check_attributes(n, allowed, /* unsupported= */ true, DOMAIN_KIND, def->name, ret_error);
}

static int check_empty(xmlNode *n, bool libvirt_has_children, const DomainDef *def, char **ret_error) {
        return conf_check_no_children(n, libvirt_has_children, DOMAIN_KIND, def->name, ret_error);
}

static int element_text(xmlNode *n, const DomainDef *def, char **ret, char **ret_error) {
        int r;

        r = check_attrs(n, (const char *const[]) { NULL }, def, ret_error);
        if (r < 0)
                return r;
        return conf_element_text(n, DOMAIN_KIND, def->name, ret, ret_error);
}

static int parse_tristate(const char *s, DomainTristate *ret) {
        int i = LOOKUP(tristate_table, s);

        if (i < 0)
                return -EINVAL;
        *ret = (DomainTristate) i;
        return 0;
}

/* <alias name='…'/>: kept in live XML and for user aliases, dropped otherwise (assigned at start). */
static int parse_alias(xmlNode *n, DomainParseFlags flags, const char *what, const DomainDef *def,
                       char **ret, char **ret_error) {
        _cleanup_free_ char *name = NULL;
        int r;

        r = check_attrs(n, (const char *const[]) { "name", NULL }, def, ret_error);
        if (r < 0)
                return r;
        r = check_empty(n, false, def, ret_error);
        if (r < 0)
                return r;
        r = conf_get_prop(n, "name", &name);
        if (r < 0)
                return r;
        if (!name)
                return xml_error(ret_error, _("missing name attribute on <alias> of %s in domain '%s'"),
                                 what, def->name);
        if (!alias_valid(name))
                return xml_error(ret_error,
                                 _("invalid alias '%s' of %s in domain '%s': expected a letter followed by "
                                   "letters, digits, '-', '_' or '.', at most %d characters"),
                                 name, what, def->name, DOMAIN_ALIAS_MAX);
        if ((flags & DOMAIN_PARSE_LIVE) || alias_is_user(name))
                *ret = TAKE_PTR(name);
        return 0;
}

/* ---- <domain> children ---- */

static int parse_name(xmlNode *root, DomainDef *def, char **ret_error) {
        _cleanup_free_ char *name = NULL;
        xmlNode *node = NULL;
        int r;

        for (xmlNode *c = root->children; c; c = c->next)
                if (c->type == XML_ELEMENT_NODE && !c->ns && streq((const char *) c->name, "name")) {
                        node = c;
                        break;
                }
        if (!node)
                return xml_error(ret_error, _("missing <name> element in <domain>"));

        r = conf_check_attributes(node, (const char *const[]) { NULL }, true, DOMAIN_KIND, NULL, ret_error);
        if (r < 0)
                return r;
        r = conf_element_text(node, DOMAIN_KIND, NULL, &name, ret_error);
        if (r < 0)
                return r;

        if (isempty(name))
                return xml_error(ret_error, _("domain name must not be empty"));
        if (strlen(name) > DOMAIN_NAME_MAX)
                return xml_error(ret_error, _("domain name '%s' is too long (maximum %d characters)"), name,
                                 DOMAIN_NAME_MAX);
        if (!domain_name_valid(name))
                return xml_error(ret_error,
                                 _("invalid domain name '%s': only letters, digits, '_', '.', '+' and '-' "
                                   "are allowed, and it must not be '.' or '..'"),
                                 name);

        def->name = TAKE_PTR(name);
        return 0;
}

static int parse_uuid(xmlNode *n, DomainDef *def, DomainParseFlags flags, char **ret_error) {
        _cleanup_free_ char *s = NULL;
        int r;

        r = element_text(n, def, &s, ret_error);
        if (r < 0)
                return r;
        if (uuid_parse(s, &def->uuid) < 0)
                return xml_error(ret_error, _("invalid UUID '%s' in domain '%s'"), s, def->name);
        def->has_uuid = true;
        return 0;
}

static int parse_title(xmlNode *n, DomainDef *def, DomainParseFlags flags, char **ret_error) {
        _cleanup_free_ char *s = NULL;
        int r;

        r = element_text(n, def, &s, ret_error);
        if (r < 0)
                return r;
        if (strpbrk(s, "\r\n"))
                return xml_error(ret_error, _("the title of domain '%s' must not contain newlines"),
                                 def->name);
        if (!isempty(s))
                def->title = TAKE_PTR(s);
        return 0;
}

static int parse_description(xmlNode *n, DomainDef *def, DomainParseFlags flags, char **ret_error) {
        _cleanup_free_ char *s = NULL;
        int r;

        r = element_text(n, def, &s, ret_error);
        if (r < 0)
                return r;
        if (!isempty(s))
                def->description = TAKE_PTR(s);
        return 0;
}

/* libvirt's units (virScaleInteger): case-insensitive, "KiB" and "k" are 1024, "KB" is 1000. */
static int parse_scale(const char *unit, uint64_t *ret) {
        static const char prefixes[] = "kmgtpe";
        const char *p;
        uint64_t base, scale = 1;

        if (!unit) {
                *ret = 1024; /* KiB */
                return 0;
        }
        if (strcasecmp(unit, "b") == 0 || strcasecmp(unit, "bytes") == 0) {
                *ret = 1;
                return 0;
        }
        if (!*unit || !(p = strchr(prefixes, tolower((unsigned char) unit[0]))))
                return -EINVAL;
        if (unit[1] == 0 || strcasecmp(unit + 1, "iB") == 0)
                base = 1024;
        else if (strcasecmp(unit + 1, "B") == 0)
                base = 1000;
        else
                return -EINVAL;
        for (size_t i = 0; i <= (size_t) (p - prefixes); i++)
                scale *= base;
        *ret = scale;
        return 0;
}

/* <memory unit='MiB'>512</memory> → KiB, rounded up as libvirt does. */
static int parse_memory(xmlNode *n, DomainDef *def, uint64_t *ret, char **ret_error) {
        _cleanup_free_ char *unit = NULL, *text = NULL;
        const char *el = (const char *) n->name;
        uint64_t v, scale, kib;
        int r;

        r = check_attrs(n, (const char *const[]) { "unit", NULL }, def, ret_error);
        if (r < 0)
                return r;
        r = conf_element_text(n, DOMAIN_KIND, def->name, &text, ret_error);
        if (r < 0)
                return r;
        r = conf_get_prop(n, "unit", &unit);
        if (r < 0)
                return r;

        if (parse_scale(unit, &scale) < 0)
                return xml_error(
                        ret_error,
                        _("invalid unit '%s' on <%s> in domain '%s': expected b, KiB, MiB, GiB, TiB "
                          "(or k, M, G, T) or KB, MB, GB, TB"),
                        unit, el, def->name);
        r = conf_parse_uint(text, 0, UINT64_MAX, &v);
        if (r == -EINVAL)
                return xml_error(ret_error, _("invalid <%s> '%s' in domain '%s': expected an integer"), el,
                                 text, def->name);
        if (r < 0 || (v > 0 && scale > UINT64_MAX / v))
                return xml_error(ret_error, _("<%s> of domain '%s' is too large (at most %" PRIu64 " KiB)"),
                                 el, def->name, DOMAIN_MEMORY_MAX_KIB);

        v *= scale;
        kib = v / 1024 + (v % 1024 != 0);
        if (kib > DOMAIN_MEMORY_MAX_KIB)
                return xml_error(ret_error, _("<%s> of domain '%s' is too large (at most %" PRIu64 " KiB)"),
                                 el, def->name, DOMAIN_MEMORY_MAX_KIB);
        *ret = kib;
        return 0;
}

static int parse_memory_total(xmlNode *n, DomainDef *def, DomainParseFlags flags, char **ret_error) {
        int r;

        r = parse_memory(n, def, &def->memory_kib, ret_error);
        if (r < 0)
                return r;
        if (def->memory_kib == 0)
                return xml_error(ret_error, _("memory size of domain '%s' must be greater than zero"),
                                 def->name);
        return 0;
}

static int parse_memory_current(xmlNode *n, DomainDef *def, DomainParseFlags flags, char **ret_error) {
        return parse_memory(n, def, &def->current_memory_kib, ret_error);
}

static int parse_vcpu(xmlNode *n, DomainDef *def, DomainParseFlags flags, char **ret_error) {
        _cleanup_free_ char *text = NULL, *placement = NULL;
        uint64_t v;
        int r;

        r = check_attrs(n, (const char *const[]) { "placement", NULL }, def, ret_error);
        if (r < 0)
                return r;
        r = conf_element_text(n, DOMAIN_KIND, def->name, &text, ret_error);
        if (r < 0)
                return r;
        r = conf_get_prop(n, "placement", &placement);
        if (r < 0)
                return r;
        if (placement && streq(placement, "auto"))
                return unsupported_error(
                        ret_error, _("vcpu placement 'auto' in domain '%s' is not supported"), def->name);
        if (placement && !streq(placement, "static"))
                return xml_error(ret_error,
                                 _("invalid vcpu placement '%s' in domain '%s': expected 'static'"),
                                 placement, def->name);
        if (conf_parse_uint(text, 1, DOMAIN_VCPUS_MAX, &v) < 0)
                return xml_error(
                        ret_error,
                        _("invalid vcpu count '%s' in domain '%s': expected an integer from 1 to %d"), text,
                        def->name, DOMAIN_VCPUS_MAX);
        def->vcpus = (unsigned) v;
        return 0;
}

static int parse_path_element(xmlNode *n, DomainDef *def, char **ret, char **ret_error) {
        _cleanup_free_ char *s = NULL;
        int r;

        r = element_text(n, def, &s, ret_error);
        if (r < 0)
                return r;
        if (!path_valid(s))
                return xml_error(
                        ret_error,
                        _("invalid <%s> '%s' in domain '%s': expected an absolute path without control "
                          "characters"),
                        (const char *) n->name, s, def->name);
        free(*ret);
        *ret = TAKE_PTR(s);
        return 0;
}

static int parse_os_type(xmlNode *n, DomainDef *def, char **ret_error) {
        _cleanup_free_ char *text = NULL, *arch = NULL, *machine = NULL;
        int r;

        r = check_attrs(n, (const char *const[]) { "arch", "machine", NULL }, def, ret_error);
        if (r < 0)
                return r;
        r = conf_element_text(n, DOMAIN_KIND, def->name, &text, ret_error);
        if (r < 0)
                return r;
        if (!streq(text, "hvm"))
                return unsupported_error(ret_error,
                                         _("os type '%s' of domain '%s' is not supported (only 'hvm')"),
                                         text, def->name);

        if (conf_get_prop(n, "arch", &arch) < 0 || conf_get_prop(n, "machine", &machine) < 0)
                return -ENOMEM;
        if (arch && !streq(arch, "x86_64"))
                return unsupported_error(
                        ret_error, _("architecture '%s' of domain '%s' is not supported (only 'x86_64')"),
                        arch, def->name);
        if (machine && !domain_machine_family(machine))
                return unsupported_error(
                        ret_error,
                        _("machine type '%s' of domain '%s' is not supported: use 'pc', 'q35' or "
                          "a versioned 'pc-i440fx-…' or 'pc-q35-…'"),
                        machine, def->name);
        if (machine && strspn(machine, "abcdefghijklmnopqrstuvwxyz0123456789.-_") != strlen(machine))
                return xml_error(ret_error, _("invalid machine type '%s' in domain '%s'"), machine,
                                 def->name);

        def->os_arch = TAKE_PTR(arch);
        def->os_machine = TAKE_PTR(machine);
        return 0;
}

static int parse_boot(xmlNode *n, DomainDef *def, char **ret_error) {
        _cleanup_free_ char *dev = NULL;
        int r, i;

        r = check_attrs(n, (const char *const[]) { "dev", NULL }, def, ret_error);
        if (r < 0)
                return r;
        r = check_empty(n, false, def, ret_error);
        if (r < 0)
                return r;
        r = conf_get_prop(n, "dev", &dev);
        if (r < 0)
                return r;
        if (!dev)
                return xml_error(ret_error, _("missing dev attribute on <boot> in domain '%s'"), def->name);
        if (streq(dev, "fd"))
                return unsupported_error(ret_error, _("boot device 'fd' in domain '%s' is not supported"),
                                         def->name);
        i = LOOKUP(boot_dev_table, dev);
        if (i < 0)
                return xml_error(
                        ret_error,
                        _("invalid boot device '%s' in domain '%s': expected 'hd', 'cdrom' or 'network'"),
                        dev, def->name);
        for (size_t j = 0; j < def->n_boot; j++)
                if (def->boot[j] == (DomainBootDev) i)
                        return xml_error(ret_error, _("boot device '%s' is listed twice in domain '%s'"),
                                         dev, def->name);
        if (def->n_boot >= DOMAIN_BOOT_MAX)
                return xml_error(ret_error, _("too many <boot> elements in domain '%s' (at most %d)"),
                                 def->name, DOMAIN_BOOT_MAX);
        def->boot[def->n_boot++] = (DomainBootDev) i;
        return 0;
}

static int parse_os(xmlNode *n, DomainDef *def, DomainParseFlags flags, char **ret_error) {
        xmlNode *type = NULL, *kernel = NULL, *initrd = NULL, *cmdline = NULL;
        int r;

        r = check_attrs(n, (const char *const[]) { NULL }, def, ret_error);
        if (r < 0)
                return r;

        for (xmlNode *c = n->children; c; c = c->next) {
                static const char *const names[] = { "type", "kernel", "initrd", "cmdline" };
                xmlNode **slots[] = { &type, &kernel, &initrd, &cmdline };
                size_t i;

                if (c->type == XML_ENTITY_REF_NODE ||
                    (conf_is_text(c) && !conf_is_blank((const char *) c->content)))
                        return xml_error(ret_error, _("unexpected text in <os> of domain '%s'"), def->name);
                if (c->type != XML_ELEMENT_NODE)
                        continue;
                if (!c->ns && streq((const char *) c->name, "boot")) {
                        r = parse_boot(c, def, ret_error);
                        if (r < 0)
                                return r;
                        continue;
                }
                for (i = 0; !c->ns && i < ELEMENTSOF(names); i++)
                        if (streq((const char *) c->name, names[i]))
                                break;
                if (c->ns || i >= ELEMENTSOF(names))
                        /* <loader>, <nvram>, <bootmenu>, <smbios>, <bios>, <dtb>, <acpi>… */
                        return unsupported_error(
                                ret_error, _("element <%s%s%s> in <os> of domain '%s' is not supported"),
                                conf_ns_prefix(c), conf_ns_sep(c), (const char *) c->name, def->name);
                if (*slots[i])
                        return xml_error(ret_error, _("multiple <%s> elements in <os> of domain '%s'"),
                                         (const char *) c->name, def->name);
                *slots[i] = c;
        }

        if (!type)
                return xml_error(ret_error, _("missing <type> element in <os> of domain '%s'"), def->name);
        r = parse_os_type(type, def, ret_error);
        if (r < 0)
                return r;
        if (kernel) {
                r = parse_path_element(kernel, def, &def->kernel, ret_error);
                if (r < 0)
                        return r;
        }
        if (initrd) {
                r = parse_path_element(initrd, def, &def->initrd, ret_error);
                if (r < 0)
                        return r;
        }
        if (cmdline) {
                r = element_text(cmdline, def, &def->cmdline, ret_error);
                if (r < 0)
                        return r;
        }
        /* QEMU refuses both without -kernel */
        if (!def->kernel && (def->initrd || def->cmdline))
                return xml_error(ret_error, _("<%s> in domain '%s' needs a <kernel>"),
                                 def->initrd ? "initrd" : "cmdline", def->name);
        return 0;
}

static int parse_lifecycle(xmlNode *n, DomainDef *def, DomainLifecycleAction *ret, char **ret_error) {
        static const char *const unsupported[] = { "preserve", "rename-restart", "coredump-destroy",
                                                   "coredump-restart" };
        _cleanup_free_ char *s = NULL;
        int r, i;

        r = element_text(n, def, &s, ret_error);
        if (r < 0)
                return r;
        i = LOOKUP(lifecycle_table, s);
        if (i >= 0) {
                *ret = (DomainLifecycleAction) i;
                return 0;
        }
        if (LOOKUP(unsupported, s) >= 0)
                return unsupported_error(ret_error, _("<%s> action '%s' in domain '%s' is not supported"),
                                         (const char *) n->name, s, def->name);
        return xml_error(ret_error,
                         _("invalid <%s> action '%s' in domain '%s': expected 'destroy' or 'restart'"),
                         (const char *) n->name, s, def->name);
}

static int parse_on_poweroff(xmlNode *n, DomainDef *def, DomainParseFlags flags, char **ret_error) {
        return parse_lifecycle(n, def, &def->on_poweroff, ret_error);
}

static int parse_on_reboot(xmlNode *n, DomainDef *def, DomainParseFlags flags, char **ret_error) {
        return parse_lifecycle(n, def, &def->on_reboot, ret_error);
}

static int parse_on_crash(xmlNode *n, DomainDef *def, DomainParseFlags flags, char **ret_error) {
        return parse_lifecycle(n, def, &def->on_crash, ret_error);
}

/* ---- <disk> ---- */

static void domain_disk_done(DomainDisk *d) {
        free(d->source);
        free(d->target);
        free(d->alias);
        free(d->address_xml);
        *d = (DomainDisk) {};
}

/* "vdb" → 1, "sdaa" → 26: libvirt's disk numbering (bijective base 26). */
static int disk_name_index(const char *name, const char *prefix, unsigned *ret) {
        const char *p = startswith(name, prefix);
        unsigned idx = 0;
        size_t n;

        if (!p)
                return -EINVAL;
        n = strlen(p);
        if (n == 0 || n > 3 || strspn(p, "abcdefghijklmnopqrstuvwxyz") != n)
                return -EINVAL;
        for (; *p; p++)
                idx = idx * 26 + (unsigned) (*p - 'a' + 1);
        *ret = idx - 1;
        return 0;
}

static int parse_disk_driver(xmlNode *n, DomainDef *def, DomainDisk *disk, char **ret_error) {
        _cleanup_free_ char *name = NULL, *type = NULL;
        int r, i;

        r = check_attrs(n, (const char *const[]) { "name", "type", NULL }, def, ret_error);
        if (r < 0)
                return r;
        r = check_empty(n, true, def, ret_error);
        if (r < 0)
                return r;
        if (conf_get_prop(n, "name", &name) < 0 || conf_get_prop(n, "type", &type) < 0)
                return -ENOMEM;
        if (name && !streq(name, "qemu"))
                return unsupported_error(ret_error,
                                         _("disk driver '%s' of disk '%s' in domain '%s' is not supported "
                                           "(only 'qemu')"),
                                         name, disk->target, def->name);
        if (type) {
                i = LOOKUP(disk_format_table, type);
                if (i < 0)
                        return unsupported_error(
                                ret_error,
                                _("disk format '%s' of disk '%s' in domain '%s' is not supported "
                                  "(use 'raw' or 'qcow2')"),
                                type, disk->target, def->name);
                disk->format = (DomainDiskFormat) i;
        }
        disk->has_driver = true;
        return 0;
}

static int parse_disk_target(xmlNode *n, DomainDef *def, DomainDisk *disk, char **ret_error) {
        _cleanup_free_ char *dev = NULL, *bus = NULL;
        int r, b;

        r = check_attrs(n, (const char *const[]) { "dev", "bus", NULL }, def, ret_error);
        if (r < 0)
                return r;
        r = check_empty(n, false, def, ret_error);
        if (r < 0)
                return r;
        if (conf_get_prop(n, "dev", &dev) < 0 || conf_get_prop(n, "bus", &bus) < 0)
                return -ENOMEM;
        if (isempty(dev))
                return xml_error(ret_error, _("missing dev attribute on <target> of a disk in domain '%s'"),
                                 def->name);

        if (bus) {
                b = LOOKUP(disk_bus_table, bus);
                if (b < 0)
                        return unsupported_error(
                                ret_error,
                                _("disk bus '%s' of disk '%s' in domain '%s' is not supported "
                                  "(use 'virtio' or 'sata')"),
                                bus, dev, def->name);
        } else if (startswith(dev, "vd"))
                b = DOMAIN_DISK_BUS_VIRTIO; /* libvirt derives the bus from the name */
        else
                return unsupported_error(
                        ret_error,
                        _("disk '%s' in domain '%s' needs bus='virtio' or bus='sata' (libvirt's "
                          "default bus for this name is not supported)"),
                        dev, def->name);

        if (disk_name_index(dev, disk_prefix_table[b], &disk->index) < 0)
                return xml_error(
                        ret_error,
                        _("invalid target dev '%s' for bus '%s' in domain '%s': expected '%s' and one "
                          "to three letters, like '%sa'"),
                        dev, disk_bus_table[b], def->name, disk_prefix_table[b], disk_prefix_table[b]);
        disk->bus = (DomainDiskBus) b;
        disk->target = TAKE_PTR(dev);
        return 0;
}

static int parse_disk(xmlNode *n, DomainParseFlags flags, DomainDef *def, DomainDisk *disk,
                      char **ret_error) {
        static const char *const names[] = { "driver", "source",  "target", "readonly",
                                             "alias",  "address", NULL };
        enum { DRIVER, SOURCE, TARGET, READONLY, ALIAS, ADDRESS };
        _cleanup_free_ char *type = NULL, *device = NULL, *file = NULL;
        xmlNode *slots[ELEMENTSOF(names)] = {};
        int r, i;

        r = check_attrs(n, (const char *const[]) { "type", "device", NULL }, def, ret_error);
        if (r < 0)
                return r;
        if (conf_get_prop(n, "type", &type) < 0 || conf_get_prop(n, "device", &device) < 0)
                return -ENOMEM;
        if (type && !streq(type, "file"))
                return unsupported_error(ret_error,
                                         _("disk type '%s' in domain '%s' is not supported (only 'file')"),
                                         type, def->name);
        if (device) {
                i = LOOKUP(disk_device_table, device);
                if (i < 0)
                        return unsupported_error(ret_error,
                                                 _("disk device '%s' in domain '%s' is not supported "
                                                   "(use 'disk' or 'cdrom')"),
                                                 device, def->name);
                disk->device = (DomainDiskDevice) i;
        }

        r = collect_children(n, names, slots, "", def->name, ret_error);
        if (r < 0)
                return r;

        /* the target first: it names the disk in every later message */
        if (!slots[TARGET])
                return xml_error(ret_error, _("missing <target> element in a disk of domain '%s'"),
                                 def->name);
        r = parse_disk_target(slots[TARGET], def, disk, ret_error);
        if (r < 0)
                return r;

        if (slots[DRIVER]) {
                r = parse_disk_driver(slots[DRIVER], def, disk, ret_error);
                if (r < 0)
                        return r;
        }

        if (slots[SOURCE]) {
                r = check_attrs(slots[SOURCE], (const char *const[]) { "file", NULL }, def, ret_error);
                if (r < 0)
                        return r;
                r = check_empty(slots[SOURCE], true, def, ret_error);
                if (r < 0)
                        return r;
                r = conf_get_prop(slots[SOURCE], "file", &file);
                if (r < 0)
                        return r;
        }
        if (file && !path_valid(file))
                return xml_error(
                        ret_error,
                        _("invalid source file '%s' of disk '%s' in domain '%s': expected an absolute "
                          "path without control characters"),
                        file, disk->target, def->name);
        /* only a cdrom drive may be empty */
        if (!file && disk->device != DOMAIN_DISK_DEVICE_CDROM)
                return xml_error(ret_error, _("missing <source file=…> of disk '%s' in domain '%s'"),
                                 disk->target, def->name);
        disk->source = TAKE_PTR(file);

        if (slots[READONLY]) {
                r = check_attrs(slots[READONLY], (const char *const[]) { NULL }, def, ret_error);
                if (r < 0)
                        return r;
                r = check_empty(slots[READONLY], false, def, ret_error);
                if (r < 0)
                        return r;
                disk->readonly = true;
        }

        if (disk->device == DOMAIN_DISK_DEVICE_CDROM) {
                if (disk->bus != DOMAIN_DISK_BUS_SATA)
                        return unsupported_error(
                                ret_error,
                                _("cdrom '%s' in domain '%s' needs bus='sata': bus '%s' has no "
                                  "removable media"),
                                disk->target, def->name, disk_bus_table[disk->bus]);
                disk->readonly = true; /* as libvirt: a cdrom is read-only, and says so */
        }

        if (slots[ALIAS]) {
                char what[64];

                snprintf(what, sizeof what, "disk '%s'", disk->target);
                r = parse_alias(slots[ALIAS], flags, what, def, &disk->alias, ret_error);
                if (r < 0)
                        return r;
        }
        if (slots[ADDRESS]) {
                r = keep_node(slots[ADDRESS], 6, &disk->address_xml);
                if (r < 0)
                        return r == -E2BIG ? xml_error(ret_error, _("<address> of disk '%s' is too large"),
                                                       disk->target)
                                           : r;
        }
        return 0;
}

/* ---- <interface> ---- */

static void domain_net_done(DomainNet *net) {
        free(net->source);
        free(net->ifname);
        free(net->alias);
        free(net->address_xml);
        *net = (DomainNet) {};
}

static int parse_net_source(xmlNode *n, DomainDef *def, DomainNet *net, const char *label,
                            char **ret_error) {
        const char *attr = net_source_attr_table[net->type];
        _cleanup_free_ char *v = NULL, *mode = NULL;
        int r;

        /* the attribute of the type first: <source bridge=…> on type 'network' is a mix-up */
        r = conf_get_prop(n, attr, &v);
        if (r < 0)
                return r;
        if (!v)
                return xml_error(
                        ret_error,
                        _("missing %s attribute on <source> of interface %s (type '%s') in domain '%s'"),
                        attr, label, net_type_table[net->type], def->name);
        r = check_attrs(n,
                        net->type == DOMAIN_NET_TYPE_DIRECT ? (const char *const[]) { "dev", "mode", NULL }
                                                            : (const char *const[]) { attr, NULL },
                        def, ret_error);
        if (r < 0)
                return r;
        r = check_empty(n, true, def, ret_error);
        if (r < 0)
                return r;

        if (net->type == DOMAIN_NET_TYPE_NETWORK && !network_name_valid(v))
                return xml_error(ret_error, _("invalid network name '%s' on interface %s in domain '%s'"), v,
                                 label, def->name);
        if (net->type != DOMAIN_NET_TYPE_NETWORK && !ifname_valid(v))
                return xml_error(
                        ret_error,
                        _("invalid %s '%s' on interface %s in domain '%s': an interface name has 1 to 15 "
                          "characters and no '/', ':', '%%', spaces or control characters"),
                        attr, v, label, def->name);

        if (net->type == DOMAIN_NET_TYPE_DIRECT) {
                r = conf_get_prop(n, "mode", &mode);
                if (r < 0)
                        return r;
                if (mode) {
                        int i = LOOKUP(macvtap_mode_table, mode);

                        if (i < 0)
                                return xml_error(
                                        ret_error,
                                        _("invalid macvtap mode '%s' on interface %s in domain '%s': "
                                          "expected 'vepa', 'bridge', 'private' or 'passthrough'"),
                                        mode, label, def->name);
                        net->mode = (DomainMacvtapMode) i;
                }
        }

        net->source = TAKE_PTR(v);
        return 0;
}

static int parse_net_offloads(xmlNode *n, bool guest, DomainDef *def, DomainNet *net, const char *label,
                              char **ret_error) {
        const char *allowed[_DOMAIN_NET_OFFLOAD_MAX + 1] = {};
        size_t k = 0;
        int r;

        for (size_t i = 0; i < _DOMAIN_NET_OFFLOAD_MAX; i++)
                if (net_offload_table[i].guest == guest)
                        allowed[k++] = net_offload_table[i].attr;
        r = check_attrs(n, allowed, def, ret_error);
        if (r < 0)
                return r;
        r = check_empty(n, false, def, ret_error);
        if (r < 0)
                return r;

        for (size_t i = 0; i < _DOMAIN_NET_OFFLOAD_MAX; i++) {
                _cleanup_free_ char *v = NULL;

                if (net_offload_table[i].guest != guest)
                        continue;
                r = conf_get_prop(n, net_offload_table[i].attr, &v);
                if (r < 0)
                        return r;
                if (v && parse_tristate(v, &net->offloads[i]) < 0)
                        return xml_error(
                                ret_error,
                                _("invalid %s '%s' on <%s> of interface %s in domain '%s': expected "
                                  "'on' or 'off'"),
                                net_offload_table[i].attr, v, (const char *) n->name, label, def->name);
        }
        return 0;
}

static int parse_queue_size(xmlNode *n, const char *attr, DomainDef *def, const char *label, unsigned *ret,
                            char **ret_error) {
        _cleanup_free_ char *v = NULL;
        uint64_t q;
        int r;

        r = conf_get_prop(n, attr, &v);
        if (r < 0 || !v)
                return r;
        if (conf_parse_uint(v, DOMAIN_NET_QUEUE_SIZE_MIN, DOMAIN_NET_QUEUE_SIZE_MAX, &q) < 0 ||
            (q & (q - 1)))
                return xml_error(
                        ret_error,
                        _("invalid %s '%s' on interface %s in domain '%s': expected a power of two from "
                          "%d to %d"),
                        attr, v, label, def->name, DOMAIN_NET_QUEUE_SIZE_MIN, DOMAIN_NET_QUEUE_SIZE_MAX);
        *ret = (unsigned) q;
        return 0;
}

static int parse_net_driver(xmlNode *n, DomainDef *def, DomainNet *net, const char *label,
                            char **ret_error) {
        static const char *const names[] = { "host", "guest", NULL };
        _cleanup_free_ char *name = NULL, *txmode = NULL, *queues = NULL;
        xmlNode *slots[ELEMENTSOF(names)] = {};
        char what[DOMAIN_NET_LABEL_MAX + 16];
        int r, i;

        r = check_attrs(
                n,
                (const char *const[]) { "name", "txmode", "queues", "rx_queue_size", "tx_queue_size", NULL },
                def, ret_error);
        if (r < 0)
                return r;
        snprintf(what, sizeof what, " of interface %s", label);
        r = collect_children(n, names, slots, what, def->name, ret_error);
        if (r < 0)
                return r;

        if (conf_get_prop(n, "name", &name) < 0 || conf_get_prop(n, "txmode", &txmode) < 0 ||
            conf_get_prop(n, "queues", &queues) < 0)
                return -ENOMEM;

        if (name) {
                i = LOOKUP(net_driver_table, name);
                if (i < 0)
                        return xml_error(
                                ret_error,
                                _("invalid driver name '%s' on interface %s in domain '%s': expected "
                                  "'vhost' or 'qemu'"),
                                name, label, def->name);
                net->driver = (DomainNetDriver) i;
        }
        if (txmode) {
                i = LOOKUP(net_txmode_table, txmode);
                if (i < 0)
                        return xml_error(ret_error,
                                         _("invalid txmode '%s' on interface %s in domain '%s': expected "
                                           "'iothread' or 'timer'"),
                                         txmode, label, def->name);
                net->txmode = (DomainNetTxMode) i;
        }
        if (queues) {
                uint64_t q;

                if (conf_parse_uint(queues, 1, UINT16_MAX, &q) < 0)
                        return xml_error(ret_error,
                                         _("invalid queues '%s' on interface %s in domain '%s': expected a "
                                           "positive integer"),
                                         queues, label, def->name);
                if (q > DOMAIN_NET_QUEUES_MAX)
                        return unsupported_error(
                                ret_error,
                                _("%s queues on interface %s in domain '%s' are not supported "
                                  "(at most %d)"),
                                queues, label, def->name, DOMAIN_NET_QUEUES_MAX);
                net->queues = (unsigned) q;
        }
        r = parse_queue_size(n, "rx_queue_size", def, label, &net->rx_queue_size, ret_error);
        if (r < 0)
                return r;
        r = parse_queue_size(n, "tx_queue_size", def, label, &net->tx_queue_size, ret_error);
        if (r < 0)
                return r;

        for (size_t k = 0; k < 2; k++)
                if (slots[k]) {
                        r = parse_net_offloads(slots[k], k == 1, def, net, label, ret_error);
                        if (r < 0)
                                return r;
                }
        return 0;
}

static int parse_net_mac(xmlNode *n, DomainDef *def, DomainNet *net, char **ret_error) {
        _cleanup_free_ char *s = NULL;
        int r;

        r = check_attrs(n, (const char *const[]) { "address", NULL }, def, ret_error);
        if (r < 0)
                return r;
        r = check_empty(n, false, def, ret_error);
        if (r < 0)
                return r;
        r = conf_get_prop(n, "address", &s);
        if (r < 0)
                return r;
        if (!s)
                return xml_error(ret_error,
                                 _("missing address attribute on <mac> of an interface in domain '%s'"),
                                 def->name);
        if (ether_addr_parse(s, &net->mac) < 0)
                return xml_error(ret_error, _("invalid MAC address '%s' in domain '%s'"), s, def->name);
        if (ether_addr_is_multicast(&net->mac))
                return xml_error(ret_error,
                                 _("expected unicast mac address, found multicast '%s' in domain '%s'"), s,
                                 def->name);
        if (ether_addr_is_null(&net->mac))
                return xml_error(ret_error, _("invalid all-zero MAC address '%s' in domain '%s'"), s,
                                 def->name);
        net->has_mac = true;
        return 0;
}

static int parse_net_target(xmlNode *n, DomainParseFlags flags, DomainDef *def, DomainNet *net,
                            char **ret_error) {
        _cleanup_free_ char *dev = NULL;
        int r;

        r = check_attrs(n, (const char *const[]) { "dev", NULL }, def, ret_error);
        if (r < 0)
                return r;
        r = check_empty(n, false, def, ret_error);
        if (r < 0)
                return r;
        r = conf_get_prop(n, "dev", &dev);
        if (r < 0)
                return r;
        if (!dev)
                return xml_error(ret_error,
                                 _("missing dev attribute on <target> of an interface in domain '%s'"),
                                 def->name);
        if (!ifname_valid(dev))
                return xml_error(ret_error,
                                 _("invalid target dev '%s' in domain '%s': an interface name has 1 to 15 "
                                   "characters and no '/', ':', '%%', spaces or control characters"),
                                 dev, def->name);
        /* As libvirt: vnet… and macvtap… are the names we hand out. One given at define is a
         * leftover from some live XML, and using it could take a device of another guest. */
        if (!(flags & DOMAIN_PARSE_LIVE) && domain_net_ifname_is_generated(dev))
                return 0;
        net->ifname = TAKE_PTR(dev);
        return 0;
}

static int parse_net_mtu(xmlNode *n, DomainDef *def, DomainNet *net, const char *label, char **ret_error) {
        _cleanup_free_ char *s = NULL;
        uint64_t v;
        int r;

        r = check_attrs(n, (const char *const[]) { "size", NULL }, def, ret_error);
        if (r < 0)
                return r;
        r = check_empty(n, false, def, ret_error);
        if (r < 0)
                return r;
        r = conf_get_prop(n, "size", &s);
        if (r < 0)
                return r;
        if (!s)
                return xml_error(ret_error,
                                 _("missing size attribute on <mtu> of interface %s in domain '%s'"), label,
                                 def->name);
        if (conf_parse_uint(s, DOMAIN_MTU_MIN, DOMAIN_MTU_MAX, &v) < 0)
                return xml_error(
                        ret_error,
                        _("invalid MTU size '%s' on interface %s in domain '%s': expected an integer from "
                          "%d to %d"),
                        s, label, def->name, DOMAIN_MTU_MIN, DOMAIN_MTU_MAX);
        net->mtu = (uint32_t) v;
        return 0;
}

static int parse_net_model(xmlNode *n, DomainDef *def, DomainNet *net, const char *label, char **ret_error) {
        _cleanup_free_ char *type = NULL;
        int r, i;

        r = check_attrs(n, (const char *const[]) { "type", NULL }, def, ret_error);
        if (r < 0)
                return r;
        r = check_empty(n, false, def, ret_error);
        if (r < 0)
                return r;
        r = conf_get_prop(n, "type", &type);
        if (r < 0)
                return r;
        if (!type)
                return xml_error(ret_error,
                                 _("missing type attribute on <model> of interface %s in domain '%s'"),
                                 label, def->name);
        i = LOOKUP(net_model_table, type);
        if (i < 0)
                return unsupported_error(
                        ret_error,
                        _("interface model '%s' of interface %s in domain '%s' is not supported "
                          "(use 'virtio', 'e1000' or 'rtl8139')"),
                        type, label, def->name);
        net->model = (DomainNetModel) i;
        net->has_model = true;
        return 0;
}

static int parse_net_bandwidth(xmlNode *n, DomainDef *def, DomainNet *net, const char *label,
                               char **ret_error) {
        _cleanup_free_ char *e = NULL;
        int r;

        /* floor is a share of a virtbus network's bandwidth: nothing to take it from elsewhere */
        r = bandwidth_parse(n, net->type == DOMAIN_NET_TYPE_NETWORK, &net->bandwidth, ret_error ? &e : NULL);
        if (r < 0 && e &&
            asprintf(ret_error, _("%s (interface %s in domain '%s')"), e, label, def->name) < 0) {
                *ret_error = NULL;
                return -ENOMEM;
        }
        return r;
}

/* What only virtio-net can do, refused on the other models as libvirt refuses it. */
static int check_net_virtio_only(const DomainDef *def, const DomainNet *net, const char *label,
                                 char **ret_error) {
        char model[64];

        if (net->model == DOMAIN_NET_MODEL_VIRTIO)
                return 0;
        snprintf(model, sizeof model, net->has_model ? "'%s'" : "'%s' (the default)",
                 net_model_table[net->model]);

        if (net->driver == DOMAIN_NET_DRIVER_VHOST)
                return unsupported_error(
                        ret_error,
                        _("vhost-net needs model 'virtio', but interface %s in domain '%s' has "
                          "model %s"),
                        label, def->name, model);
        if (net->txmode != DOMAIN_NET_TXMODE_DEFAULT)
                return unsupported_error(
                        ret_error,
                        _("txmode needs model 'virtio', but interface %s in domain '%s' has "
                          "model %s"),
                        label, def->name, model);
        if (net->queues > 1)
                return unsupported_error(
                        ret_error,
                        _("multiqueue (queues='%u') needs model 'virtio', but interface %s in "
                          "domain '%s' has model %s"),
                        net->queues, label, def->name, model);
        if (net->rx_queue_size > 0 || net->tx_queue_size > 0)
                return unsupported_error(
                        ret_error,
                        _("rx_queue_size and tx_queue_size need model 'virtio', but interface %s "
                          "in domain '%s' has model %s"),
                        label, def->name, model);
        for (size_t i = 0; i < _DOMAIN_NET_OFFLOAD_MAX; i++)
                if (net->offloads[i] != DOMAIN_TRISTATE_ABSENT)
                        return unsupported_error(
                                ret_error,
                                _("offloads (<driver><%s %s='…'/>) need model 'virtio', but "
                                  "interface %s in domain '%s' has model %s"),
                                net_offload_table[i].guest ? "guest" : "host", net_offload_table[i].attr,
                                label, def->name, model);
        return 0;
}

static int parse_interface(xmlNode *n, DomainParseFlags flags, DomainDef *def, DomainNet *net,
                           char **ret_error) {
        static const char *const names[] = { "mac", "source",    "target", "model",   "driver",
                                             "mtu", "bandwidth", "alias",  "address", NULL };
        enum { MAC, SOURCE, TARGET, MODEL, DRIVER, MTU, BANDWIDTH, ALIAS, ADDRESS };
        xmlNode *slots[ELEMENTSOF(names)] = {};
        _cleanup_free_ char *type = NULL;
        char label[DOMAIN_NET_LABEL_MAX], what[DOMAIN_NET_LABEL_MAX + 16];
        int r, i;

        r = check_attrs(n, (const char *const[]) { "type", NULL }, def, ret_error);
        if (r < 0)
                return r;
        r = conf_get_prop(n, "type", &type);
        if (r < 0)
                return r;
        if (!type)
                return xml_error(ret_error, _("missing type attribute on <interface> in domain '%s'"),
                                 def->name);
        i = LOOKUP(net_type_table, type);
        if (i < 0)
                /* user, ethernet, vhostuser, hostdev, mcast, udp… */
                return unsupported_error(
                        ret_error,
                        _("interface type '%s' in domain '%s' is not supported (use 'network', "
                          "'bridge' or 'direct')"),
                        type, def->name);
        net->type = (DomainNetType) i;

        snprintf(what, sizeof what, " #%zu", def->n_nets + 1);
        r = collect_children(n, names, slots, what, def->name, ret_error);
        if (r < 0)
                return r;

        /* MAC and target dev first: they name the interface in every later message */
        if (slots[MAC]) {
                r = parse_net_mac(slots[MAC], def, net, ret_error);
                if (r < 0)
                        return r;
        }
        if (slots[TARGET]) {
                r = parse_net_target(slots[TARGET], flags, def, net, ret_error);
                if (r < 0)
                        return r;
        }
        domain_net_label(net, def->n_nets, label);

        if (!slots[SOURCE])
                return xml_error(ret_error,
                                 _("missing <source> element of interface %s (type '%s') in domain '%s'"),
                                 label, type, def->name);
        r = parse_net_source(slots[SOURCE], def, net, label, ret_error);
        if (r < 0)
                return r;

        if (slots[MODEL]) {
                r = parse_net_model(slots[MODEL], def, net, label, ret_error);
                if (r < 0)
                        return r;
        }
        if (slots[DRIVER]) {
                r = parse_net_driver(slots[DRIVER], def, net, label, ret_error);
                if (r < 0)
                        return r;
        }
        if (slots[MTU]) {
                r = parse_net_mtu(slots[MTU], def, net, label, ret_error);
                if (r < 0)
                        return r;
        }
        if (slots[BANDWIDTH]) {
                r = parse_net_bandwidth(slots[BANDWIDTH], def, net, label, ret_error);
                if (r < 0)
                        return r;
        }
        if (slots[ALIAS]) {
                snprintf(what, sizeof what, "interface %s", label);
                r = parse_alias(slots[ALIAS], flags, what, def, &net->alias, ret_error);
                if (r < 0)
                        return r;
        }
        if (slots[ADDRESS]) {
                r = keep_node(slots[ADDRESS], 6, &net->address_xml);
                if (r < 0)
                        return r == -E2BIG ? xml_error(ret_error,
                                                       _("<address> of interface %s is too large"), label)
                                           : r;
        }

        return check_net_virtio_only(def, net, label, ret_error);
}

/* ---- <serial>, <console> ---- */

static void domain_chr_done(DomainChr *chr) {
        free(chr->path);
        free(chr->alias);
        *chr = (DomainChr) {};
}

static int parse_chr_source(xmlNode *n, DomainParseFlags flags, DomainDef *def, DomainChr *chr,
                            const char *el, char **ret_error) {
        _cleanup_free_ char *path = NULL, *append = NULL;
        int r;

        r = check_attrs(n,
                        chr->type == DOMAIN_CHR_FILE ? (const char *const[]) { "path", "append", NULL }
                                                     : (const char *const[]) { "path", NULL },
                        def, ret_error);
        if (r < 0)
                return r;
        r = check_empty(n, true, def, ret_error);
        if (r < 0)
                return r;
        if (conf_get_prop(n, "path", &path) < 0 || conf_get_prop(n, "append", &append) < 0)
                return -ENOMEM;
        if (path && !path_valid(path))
                return xml_error(
                        ret_error,
                        _("invalid source path '%s' of <%s> in domain '%s': expected an absolute path "
                          "without control characters"),
                        path, el, def->name);
        if (append && parse_tristate(append, &chr->append) < 0)
                return xml_error(ret_error,
                                 _("invalid append '%s' on <%s> in domain '%s': expected 'on' or 'off'"),
                                 append, el, def->name);

        /* a pty's path is what QEMU allocated: live data */
        if (chr->type == DOMAIN_CHR_FILE || (flags & DOMAIN_PARSE_LIVE))
                chr->path = TAKE_PTR(path);
        return 0;
}

static int parse_chr_target(xmlNode *n, DomainDef *def, bool console, DomainChr *chr, int *ret_port,
                            char **ret_error) {
        const char *el = console ? "console" : "serial";
        const char *expected = console ? "serial" : "isa-serial";
        _cleanup_free_ char *type = NULL, *port = NULL;
        int r;

        r = check_attrs(n, (const char *const[]) { "type", "port", NULL }, def, ret_error);
        if (r < 0)
                return r;
        if (conf_get_prop(n, "type", &type) < 0 || conf_get_prop(n, "port", &port) < 0)
                return -ENOMEM;
        if (type && !streq(type, expected))
                return unsupported_error(
                        ret_error, _("<%s> target type '%s' in domain '%s' is not supported (only '%s')"),
                        el, type, def->name, expected);

        /* libvirt writes <target type='isa-serial'><model name='isa-serial'/></target> */
        for (xmlNode *c = n->children; c; c = c->next) {
                _cleanup_free_ char *model = NULL;

                if (c->type == XML_ENTITY_REF_NODE ||
                    (conf_is_text(c) && !conf_is_blank((const char *) c->content)))
                        return xml_error(ret_error, _("unexpected text in <target> of <%s> in domain '%s'"),
                                         el, def->name);
                if (c->type != XML_ELEMENT_NODE)
                        continue;
                if (console || c->ns || !streq((const char *) c->name, "model"))
                        return unsupported_error(
                                ret_error,
                                _("element <%s%s%s> in <target> of <%s> in domain '%s' is not "
                                  "supported"),
                                conf_ns_prefix(c), conf_ns_sep(c), (const char *) c->name, el, def->name);
                r = check_attrs(c, (const char *const[]) { "name", NULL }, def, ret_error);
                if (r < 0)
                        return r;
                r = check_empty(c, false, def, ret_error);
                if (r < 0)
                        return r;
                r = conf_get_prop(c, "name", &model);
                if (r < 0)
                        return r;
                if (!streq_ptr(model, "isa-serial"))
                        return unsupported_error(ret_error,
                                                 _("serial model '%s' in domain '%s' is not supported (only "
                                                   "'isa-serial')"),
                                                 strna(model), def->name);
        }

        if (port) {
                uint64_t v;

                if (conf_parse_uint(port, 0, DOMAIN_SERIALS_MAX - 1, &v) < 0)
                        return xml_error(
                                ret_error,
                                _("invalid port '%s' on <%s> in domain '%s': expected an integer from 0 "
                                  "to %d"),
                                port, el, def->name, DOMAIN_SERIALS_MAX - 1);
                if (console && v != 0)
                        return unsupported_error(
                                ret_error,
                                _("a console on serial port %s in domain '%s' is not supported "
                                  "(only port 0)"),
                                port, def->name);
                *ret_port = (int) v;
        }
        return 0;
}

/* <serial> and <console> share their layout. ret_port: -1 when not given. */
static int parse_chr(xmlNode *n, DomainParseFlags flags, DomainDef *def, bool console, DomainChr *chr,
                     int *ret_port, char **ret_error) {
        static const char *const names[] = { "source", "target", "alias", NULL };
        enum { SOURCE, TARGET, ALIAS };
        const char *el = console ? "console" : "serial";
        xmlNode *slots[ELEMENTSOF(names)] = {};
        _cleanup_free_ char *type = NULL;
        char what[32];
        int r;

        *ret_port = -1;
        /* tty: the console's pty in libvirt's live XML; ours comes from the serial port */
        r = check_attrs(n,
                        console ? (const char *const[]) { "type", "tty", NULL }
                                : (const char *const[]) { "type", NULL },
                        def, ret_error);
        if (r < 0)
                return r;
        r = conf_get_prop(n, "type", &type);
        if (r < 0)
                return r;
        if (type) { /* libvirt's default is a pty */
                int i = LOOKUP(chr_type_table, type);

                if (i < 0)
                        return unsupported_error(
                                ret_error,
                                _("%s type '%s' in domain '%s' is not supported (use 'pty' or "
                                  "'file')"),
                                el, type, def->name);
                chr->type = (DomainChrType) i;
        }

        r = collect_children(n, names, slots, "", def->name, ret_error);
        if (r < 0)
                return r;

        if (slots[SOURCE]) {
                r = parse_chr_source(slots[SOURCE], flags, def, chr, el, ret_error);
                if (r < 0)
                        return r;
        }
        if (chr->type == DOMAIN_CHR_FILE && !chr->path)
                return xml_error(ret_error, _("missing <source path=…> of <%s type='file'> in domain '%s'"),
                                 el, def->name);
        if (slots[TARGET]) {
                r = parse_chr_target(slots[TARGET], def, console, chr, ret_port, ret_error);
                if (r < 0)
                        return r;
        }
        if (slots[ALIAS]) {
                snprintf(what, sizeof what, "<%s>", el);
                r = parse_alias(slots[ALIAS], flags, what, def, &chr->alias, ret_error);
                if (r < 0)
                        return r;
        }
        return 0;
}

static DomainChr *find_serial(DomainDef *def, unsigned port) {
        for (size_t i = 0; i < def->n_serials; i++)
                if (def->serials[i].port == port)
                        return &def->serials[i];
        return NULL;
}

/* ---- <devices> ---- */

static int assign_serial_ports(DomainDef *def, const int *ports, char **ret_error) {
        bool used[DOMAIN_SERIALS_MAX] = {};

        for (size_t i = 0; i < def->n_serials; i++) {
                if (ports[i] < 0)
                        continue;
                if (used[ports[i]])
                        return xml_error(ret_error, _("serial port %d is used twice in domain '%s'"),
                                         ports[i], def->name);
                used[ports[i]] = true;
                def->serials[i].port = (unsigned) ports[i];
        }
        /* as libvirt: a serial without a port gets the lowest free one */
        for (size_t i = 0; i < def->n_serials; i++) {
                unsigned p = 0;

                if (ports[i] >= 0)
                        continue;
                while (used[p])
                        p++; /* n_serials ≤ DOMAIN_SERIALS_MAX: there is a free one */
                used[p] = true;
                def->serials[i].port = p;
        }
        return 0;
}

/* libvirt's console compatibility: <console> is serial port 0 seen from another angle. Without
 * a serial port 0 the console creates it; with one, the console shows that port. */
static int merge_console(DomainDef *def, DomainChr *console, char **ret_error) {
        DomainChr *s;

        def->console = true;
        if (find_serial(def, 0))
                return 0;
        if (def->n_serials >= DOMAIN_SERIALS_MAX)
                return unsupported_error(ret_error, _("too many serial ports in domain '%s' (at most %d)"),
                                         def->name, DOMAIN_SERIALS_MAX);
        s = reallocarray(def->serials, def->n_serials + 1, sizeof *s);
        if (!s)
                return -ENOMEM;
        def->serials = s;
        /* port 0 first, as libvirt lists it */
        memmove(def->serials + 1, def->serials, def->n_serials * sizeof *s);
        def->serials[0] = *console;
        def->serials[0].port = 0;
        def->n_serials++;
        *console = (DomainChr) {};
        return 0;
}

static int parse_devices(xmlNode *n, DomainDef *def, DomainParseFlags flags, char **ret_error) {
        _cleanup_(domain_chr_done) DomainChr console = {};
        int ports[DOMAIN_SERIALS_MAX];
        bool have_console = false, have_emulator = false;
        unsigned last_rank = 0;
        int r;

        r = check_attrs(n, (const char *const[]) { NULL }, def, ret_error);
        if (r < 0)
                return r;

        for (xmlNode *c = n->children; c; c = c->next) {
                const char *name = (const char *) c->name;
                int rank;

                if (c->type == XML_ENTITY_REF_NODE ||
                    (conf_is_text(c) && !conf_is_blank((const char *) c->content)))
                        return xml_error(ret_error, _("unexpected text in <devices> of domain '%s'"),
                                         def->name);
                if (c->type != XML_ELEMENT_NODE)
                        continue;

                if (c->ns) {
                        r = add_unknown(def, c, DOMAIN_UNKNOWN_DEVICES, DEVICES_RANK_OTHER_NS, ret_error);
                        if (r < 0)
                                return r;
                        continue;
                }
                rank = LOOKUP(devices_order, name);
                if (rank >= 0)
                        last_rank = (unsigned) rank;

                if (streq(name, "emulator")) {
                        if (have_emulator)
                                return xml_error(ret_error, _("multiple <emulator> elements in domain '%s'"),
                                                 def->name);
                        have_emulator = true;
                        r = parse_path_element(c, def, &def->emulator, ret_error);
                } else if (streq(name, "disk")) {
                        _cleanup_(domain_disk_done) DomainDisk disk = {};
                        DomainDisk *d;

                        if (def->n_disks >= DOMAIN_DISKS_MAX)
                                return unsupported_error(ret_error,
                                                         _("too many disks in domain '%s' (at most %d)"),
                                                         def->name, DOMAIN_DISKS_MAX);
                        r = parse_disk(c, flags, def, &disk, ret_error);
                        if (r < 0)
                                return r;
                        d = reallocarray(def->disks, def->n_disks + 1, sizeof *d);
                        if (!d)
                                return -ENOMEM;
                        def->disks = d;
                        def->disks[def->n_disks++] = disk;
                        disk = (DomainDisk) {};
                } else if (streq(name, "interface")) {
                        _cleanup_(domain_net_done) DomainNet net = {};
                        DomainNet *a;

                        if (def->n_nets >= DOMAIN_NETS_MAX)
                                return unsupported_error(
                                        ret_error, _("too many interfaces in domain '%s' (at most %d)"),
                                        def->name, DOMAIN_NETS_MAX);
                        r = parse_interface(c, flags, def, &net, ret_error);
                        if (r < 0)
                                return r;
                        a = reallocarray(def->nets, def->n_nets + 1, sizeof *a);
                        if (!a)
                                return -ENOMEM;
                        def->nets = a;
                        def->nets[def->n_nets++] = net;
                        net = (DomainNet) {};
                } else if (streq(name, "serial")) {
                        _cleanup_(domain_chr_done) DomainChr chr = {};
                        DomainChr *a;

                        if (def->n_serials >= DOMAIN_SERIALS_MAX)
                                return unsupported_error(
                                        ret_error, _("too many serial ports in domain '%s' (at most %d)"),
                                        def->name, DOMAIN_SERIALS_MAX);
                        r = parse_chr(c, flags, def, false, &chr, &ports[def->n_serials], ret_error);
                        if (r < 0)
                                return r;
                        a = reallocarray(def->serials, def->n_serials + 1, sizeof *a);
                        if (!a)
                                return -ENOMEM;
                        def->serials = a;
                        def->serials[def->n_serials++] = chr;
                        chr = (DomainChr) {};
                } else if (streq(name, "console")) {
                        int port;

                        if (have_console)
                                return unsupported_error(
                                        ret_error,
                                        _("more than one <console> in domain '%s' is not supported"),
                                        def->name);
                        have_console = true;
                        r = parse_chr(c, flags, def, true, &console, &port, ret_error);
                } else
                        /* <graphics>, <video>, <controller>, <hostdev>…: kept; the start refuses them */
                        r = add_unknown(def, c, DOMAIN_UNKNOWN_DEVICES, last_rank, ret_error);
                if (r < 0)
                        return r;
        }

        r = assign_serial_ports(def, ports, ret_error);
        if (r < 0)
                return r;
        if (have_console)
                return merge_console(def, &console, ret_error);
        return 0;
}

/* ---- the whole definition ---- */

static DomainDef *domain_def_new(void) {
        DomainDef *def = calloc(1, sizeof *def);

        if (!def)
                return NULL;
        def->id = -1;
        def->vcpus = 1;
        /* libvirt's defaults, formatted as such */
        def->on_poweroff = DOMAIN_LIFECYCLE_DESTROY;
        def->on_reboot = DOMAIN_LIFECYCLE_RESTART;
        def->on_crash = DOMAIN_LIFECYCLE_DESTROY;
        return def;
}

static int parse_root_attributes(xmlNode *root, DomainParseFlags flags, DomainDef *def, char **ret_error) {
        _cleanup_free_ char *type = NULL, *id = NULL;
        int r, i;

        r = check_attrs(root, (const char *const[]) { "type", "id", NULL }, def, ret_error);
        if (r < 0)
                return r;
        if (conf_get_prop(root, "type", &type) < 0 || conf_get_prop(root, "id", &id) < 0)
                return -ENOMEM;
        if (!type)
                return xml_error(ret_error, _("missing type attribute on <domain> '%s'"), def->name);
        i = LOOKUP(virt_type_table, type);
        if (i < 0)
                return unsupported_error(
                        ret_error,
                        _("domain type '%s' of domain '%s' is not supported (use 'qemu' or 'kvm')"), type,
                        def->name);
        def->virt_type = (DomainVirtType) i;

        /* the id is the running instance's; a definition does not have one */
        if (id && (flags & DOMAIN_PARSE_LIVE)) {
                uint64_t v;

                if (conf_parse_uint(id, 1, INT_MAX, &v) < 0)
                        return xml_error(ret_error, _("invalid id '%s' of domain '%s'"), id, def->name);
                def->id = (int) v;
        }
        return 0;
}

/* The elements we model, each at most once, parsed in this order (<name> first, separately). */
static const struct {
        const char *name;
        int (*parse)(xmlNode *n, DomainDef *def, DomainParseFlags flags, char **ret_error);
} top_elements[] = {
        { "name", NULL },
        { "uuid", parse_uuid },
        { "title", parse_title },
        { "description", parse_description },
        { "memory", parse_memory_total },
        { "currentMemory", parse_memory_current },
        { "vcpu", parse_vcpu },
        { "os", parse_os },
        { "on_poweroff", parse_on_poweroff },
        { "on_reboot", parse_on_reboot },
        { "on_crash", parse_on_crash },
        { "devices", parse_devices },
};

static int check_disks(const DomainDef *def, char **ret_error) {
        for (size_t i = 0; i < def->n_disks; i++) {
                const DomainDisk *d = &def->disks[i];

                if (d->bus == DOMAIN_DISK_BUS_SATA && d->index >= DOMAIN_SATA_PORTS)
                        return unsupported_error(
                                ret_error,
                                _("SATA disk '%s' in domain '%s' is not supported: there are %d "
                                  "SATA ports (sda to sdf)"),
                                d->target, def->name, DOMAIN_SATA_PORTS);
                for (size_t j = 0; j < i; j++)
                        if (def->disks[j].bus == d->bus && def->disks[j].index == d->index)
                                return xml_error(
                                        ret_error,
                                        _("target '%s' duplicated for disk sources '%s' and '%s' in "
                                          "domain '%s'"),
                                        d->target, def->disks[j].source ?: "<empty>", d->source ?: "<empty>",
                                        def->name);
        }
        return 0;
}

static int check_nets(const DomainDef *def, char **ret_error) {
        for (size_t i = 0; i < def->n_nets; i++) {
                const DomainNet *n = &def->nets[i];
                char a[DOMAIN_NET_LABEL_MAX], b[DOMAIN_NET_LABEL_MAX], mac[ETHER_ADDR_STR_MAX];

                for (size_t j = 0; j < i; j++) {
                        const DomainNet *m = &def->nets[j];

                        if (n->has_mac && m->has_mac && memcmp(&n->mac, &m->mac, sizeof n->mac) == 0)
                                return xml_error(
                                        ret_error,
                                        _("MAC address '%s' is used by two interfaces (#%zu and #%zu) "
                                          "in domain '%s'"),
                                        ether_addr_format(&n->mac, mac), j + 1, i + 1, def->name);
                        if (n->ifname && m->ifname && streq(n->ifname, m->ifname))
                                return xml_error(
                                        ret_error,
                                        _("target dev '%s' is used by two interfaces (#%zu and #%zu) in "
                                          "domain '%s'"),
                                        n->ifname, j + 1, i + 1, def->name);
                        /* passthrough hands the whole lower device to one macvtap */
                        if (n->type == DOMAIN_NET_TYPE_DIRECT && m->type == DOMAIN_NET_TYPE_DIRECT &&
                            streq(n->source, m->source) &&
                            (n->mode == DOMAIN_MACVTAP_PASSTHROUGH || m->mode == DOMAIN_MACVTAP_PASSTHROUGH))
                                return unsupported_error(
                                        ret_error,
                                        _("interfaces %s and %s in domain '%s' both use host "
                                          "device '%s', and one of them in passthrough mode"),
                                        domain_net_label(m, j, a), domain_net_label(n, i, b), def->name,
                                        n->source);
                }
        }
        return 0;
}

static int check_aliases(const DomainDef *def, char **ret_error) {
        const char *seen[DOMAIN_DISKS_MAX + DOMAIN_NETS_MAX + DOMAIN_SERIALS_MAX];
        size_t n = 0;

        for (size_t i = 0; i < def->n_disks; i++)
                if (def->disks[i].alias)
                        seen[n++] = def->disks[i].alias;
        for (size_t i = 0; i < def->n_nets; i++)
                if (def->nets[i].alias)
                        seen[n++] = def->nets[i].alias;
        for (size_t i = 0; i < def->n_serials; i++)
                if (def->serials[i].alias)
                        seen[n++] = def->serials[i].alias;

        /* they become QEMU device ids */
        for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < i; j++)
                        if (streq(seen[i], seen[j]))
                                return xml_error(ret_error, _("alias '%s' is used twice in domain '%s'"),
                                                 seen[i], def->name);
        return 0;
}

static void format_def(StrBuf *b, const DomainDef *def, DomainFormatFlags flags);

static int domain_def_parse_root(xmlNode *root, DomainParseFlags flags, DomainDef **ret, char **ret_error) {
        _cleanup_(domain_def_freep) DomainDef *def = NULL;
        xmlNode *nodes[ELEMENTSOF(top_elements)] = {};
        unsigned last_rank = 0;
        StrBuf b = {};
        int r;

        if (!streq((const char *) root->name, "domain") || root->ns) {
                if (root->ns && !root->ns->prefix)
                        return xml_error(
                                ret_error,
                                _("expected root element <domain> without namespace, got one in namespace "
                                  "'%s'"),
                                (const char *) root->ns->href);
                return xml_error(ret_error, _("expected root element <domain>, got <%s%s%s>"),
                                 conf_ns_prefix(root), conf_ns_sep(root), (const char *) root->name);
        }

        def = domain_def_new();
        if (!def)
                return -ENOMEM;

        /* The name first, so every later message can say which domain it is about. */
        r = parse_name(root, def, ret_error);
        if (r < 0)
                return r;
        r = parse_root_attributes(root, flags, def, ret_error);
        if (r < 0)
                return r;

        for (xmlNode *c = root->children; c; c = c->next) {
                const char *name = (const char *) c->name;
                size_t i;
                int rank;

                if (c->type == XML_ENTITY_REF_NODE ||
                    (conf_is_text(c) && !conf_is_blank((const char *) c->content)))
                        return xml_error(ret_error, _("unexpected text in domain '%s'"), def->name);
                if (c->type != XML_ELEMENT_NODE)
                        continue;

                if (c->ns) {
                        r = add_unknown(def, c, DOMAIN_UNKNOWN_TOP, TOP_RANK_OTHER_NS, ret_error);
                        if (r < 0)
                                return r;
                        continue;
                }
                rank = LOOKUP(top_order, name);
                if (rank >= 0)
                        last_rank = (unsigned) rank;

                for (i = 0; i < ELEMENTSOF(top_elements); i++)
                        if (streq(name, top_elements[i].name))
                                break;
                if (i >= ELEMENTSOF(top_elements)) {
                        /* <features>, <clock>, <cpu>, <metadata>…: kept and written back */
                        r = add_unknown(def, c, DOMAIN_UNKNOWN_TOP, last_rank, ret_error);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (nodes[i])
                        return xml_error(ret_error, _("multiple <%s> elements in domain '%s'"), name,
                                         def->name);
                nodes[i] = c;
        }

        for (size_t i = 0; i < ELEMENTSOF(top_elements); i++) {
                if (!nodes[i] || !top_elements[i].parse)
                        continue;
                r = top_elements[i].parse(nodes[i], def, flags, ret_error);
                if (r < 0)
                        return r;
        }

        /* what libvirt requires and what it fills in after parsing */
        if (def->memory_kib == 0)
                return xml_error(ret_error, _("missing <memory> element in domain '%s'"), def->name);
        if (def->current_memory_kib == 0 || def->current_memory_kib > def->memory_kib)
                def->current_memory_kib = def->memory_kib;
        for (size_t i = 0; i < ELEMENTSOF(top_elements); i++)
                if (streq(top_elements[i].name, "os") && !nodes[i]) /* libvirt needs the <type> in it */
                        return xml_error(ret_error, _("missing <os> element in domain '%s'"), def->name);
        if (def->n_boot == 0 && !def->kernel)
                def->boot[def->n_boot++] = DOMAIN_BOOT_HD;

        r = check_disks(def, ret_error);
        if (r < 0)
                return r;
        r = check_nets(def, ret_error);
        if (r < 0)
                return r;
        r = check_aliases(def, ret_error);
        if (r < 0)
                return r;

        /* We read back whatever we write (the persisted config): it must stay within the limit. */
        format_def(&b, def, 0);
        if (b.oom)
                return -ENOMEM;
        r = b.len > XML_DOCUMENT_MAX;
        strbuf_done(&b);
        if (r)
                return xml_error(ret_error, _("domain '%s' would be larger than %d bytes in canonical form"),
                                 def->name, XML_DOCUMENT_MAX);

        *ret = TAKE_PTR(def);
        return 0;
}

int domain_def_parse(const char *xml, DomainParseFlags flags, DomainDef **ret, char **ret_error) {
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        _cleanup_free_ char *e = NULL;
        int r;

        /* Refuse before libxml2 reads it, and say what the limit is. */
        if (xml && strnlen(xml, XML_DOCUMENT_MAX + 1) > XML_DOCUMENT_MAX)
                return xml_error(ret_error, _("document is larger than %d bytes"), XML_DOCUMENT_MAX);

        /* refuses DTDs too: no user-defined entities, hence nothing to expand behind our back */
        r = xml_parse_string(strempty(xml), &doc, &e);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return xml_error(ret_error, "%s", e ?: _("malformed document"));

        return domain_def_parse_root(xmlDocGetRootElement(doc), flags, ret, ret_error);
}

/* ---- formatting ---- */

static void format_unknown(StrBuf *b, const DomainDef *def, DomainUnknownPlace place, unsigned rank) {
        for (size_t i = 0; i < def->n_unknown; i++)
                if (def->unknown[i].place == place && def->unknown[i].rank == rank)
                        strbuf_printf(b, "%s", def->unknown[i].xml);
}

static bool format_alias(const char *alias, DomainFormatFlags flags) {
        return alias && (!(flags & DOMAIN_FORMAT_INACTIVE) || alias_is_user(alias));
}

static void format_disk(StrBuf *b, const DomainDisk *d, DomainFormatFlags flags) {
        strbuf_printf(b, "    <disk type='file' device='%s'>\n",
                      strna(TO_STRING(disk_device_table, d->device)));
        if (d->has_driver || d->format != DOMAIN_DISK_FORMAT_DEFAULT) {
                strbuf_printf(b, "      <driver name='qemu'");
                if (d->format != DOMAIN_DISK_FORMAT_DEFAULT)
                        strbuf_printf(b, " type='%s'", strna(domain_disk_format_to_string(d->format)));
                strbuf_printf(b, "/>\n");
        }
        if (d->source)
                format_empty1(b, 6, "source", "file", d->source);
        strbuf_printf(b, "      <target dev='");
        append_attr(b, d->target);
        strbuf_printf(b, "' bus='%s'/>\n", strna(domain_disk_bus_to_string(d->bus)));
        if (d->readonly)
                strbuf_printf(b, "      <readonly/>\n");
        if (format_alias(d->alias, flags))
                format_empty1(b, 6, "alias", "name", d->alias);
        if (d->address_xml)
                strbuf_printf(b, "%s", d->address_xml);
        strbuf_printf(b, "    </disk>\n");
}

static void format_net_driver(StrBuf *b, const DomainNet *n) {
        bool host = false, guest = false;

        for (size_t i = 0; i < _DOMAIN_NET_OFFLOAD_MAX; i++)
                if (n->offloads[i] != DOMAIN_TRISTATE_ABSENT) {
                        host = host || !net_offload_table[i].guest;
                        guest = guest || net_offload_table[i].guest;
                }
        if (n->driver == DOMAIN_NET_DRIVER_DEFAULT && n->txmode == DOMAIN_NET_TXMODE_DEFAULT &&
            n->queues == 0 && n->rx_queue_size == 0 && n->tx_queue_size == 0 && !host && !guest)
                return;

        /* libvirt's attribute order */
        strbuf_printf(b, "      <driver");
        if (n->driver != DOMAIN_NET_DRIVER_DEFAULT)
                strbuf_printf(b, " name='%s'", strna(TO_STRING(net_driver_table, n->driver)));
        if (n->txmode != DOMAIN_NET_TXMODE_DEFAULT)
                strbuf_printf(b, " txmode='%s'", strna(TO_STRING(net_txmode_table, n->txmode)));
        if (n->queues > 0)
                strbuf_printf(b, " queues='%u'", n->queues);
        if (n->rx_queue_size > 0)
                strbuf_printf(b, " rx_queue_size='%u'", n->rx_queue_size);
        if (n->tx_queue_size > 0)
                strbuf_printf(b, " tx_queue_size='%u'", n->tx_queue_size);
        if (!host && !guest) {
                strbuf_printf(b, "/>\n");
                return;
        }
        strbuf_printf(b, ">\n");
        for (int g = 0; g < 2; g++) {
                if (!(g ? guest : host))
                        continue;
                strbuf_printf(b, "        <%s", g ? "guest" : "host");
                for (size_t i = 0; i < _DOMAIN_NET_OFFLOAD_MAX; i++)
                        if (net_offload_table[i].guest == g && n->offloads[i] != DOMAIN_TRISTATE_ABSENT)
                                strbuf_printf(b, " %s='%s'", net_offload_table[i].attr,
                                              strna(TO_STRING(tristate_table, n->offloads[i])));
                strbuf_printf(b, "/>\n");
        }
        strbuf_printf(b, "      </driver>\n");
}

static void format_net(StrBuf *b, const DomainNet *n, DomainFormatFlags flags) {
        char mac[ETHER_ADDR_STR_MAX];

        strbuf_printf(b, "    <interface type='%s'>\n", strna(domain_net_type_to_string(n->type)));
        if (n->has_mac)
                strbuf_printf(b, "      <mac address='%s'/>\n", ether_addr_format(&n->mac, mac));
        strbuf_printf(b, "      <source %s='", strna(TO_STRING(net_source_attr_table, n->type)));
        append_attr(b, n->source);
        strbuf_printf(b, "'");
        if (n->type == DOMAIN_NET_TYPE_DIRECT)
                strbuf_printf(b, " mode='%s'", strna(domain_macvtap_mode_to_string(n->mode)));
        strbuf_printf(b, "/>\n");
        bandwidth_format(b, &n->bandwidth, 6);
        /* the names we hand out are not part of the configuration */
        if (n->ifname && !((flags & DOMAIN_FORMAT_INACTIVE) && domain_net_ifname_is_generated(n->ifname)))
                format_empty1(b, 6, "target", "dev", n->ifname);
        strbuf_printf(b, "      <model type='%s'/>\n", strna(domain_net_model_to_string(n->model)));
        format_net_driver(b, n);
        if (n->mtu > 0)
                strbuf_printf(b, "      <mtu size='%" PRIu32 "'/>\n", n->mtu);
        if (format_alias(n->alias, flags))
                format_empty1(b, 6, "alias", "name", n->alias);
        if (n->address_xml)
                strbuf_printf(b, "%s", n->address_xml);
        strbuf_printf(b, "    </interface>\n");
}

static void format_chr_source(StrBuf *b, const DomainChr *c, DomainFormatFlags flags) {
        if (c->type == DOMAIN_CHR_FILE) {
                strbuf_printf(b, "      <source path='");
                append_attr(b, c->path);
                strbuf_printf(b, "'");
                if (c->append != DOMAIN_TRISTATE_ABSENT)
                        strbuf_printf(b, " append='%s'", strna(TO_STRING(tristate_table, c->append)));
                strbuf_printf(b, "/>\n");
        } else if (c->path && !(flags & DOMAIN_FORMAT_INACTIVE))
                format_empty1(b, 6, "source", "path", c->path);
}

static void format_serial(StrBuf *b, const DomainChr *c, DomainFormatFlags flags) {
        strbuf_printf(b, "    <serial type='%s'>\n", strna(TO_STRING(chr_type_table, c->type)));
        format_chr_source(b, c, flags);
        strbuf_printf(b,
                      "      <target type='isa-serial' port='%u'>\n"
                      "        <model name='isa-serial'/>\n"
                      "      </target>\n",
                      c->port);
        if (format_alias(c->alias, flags))
                format_empty1(b, 6, "alias", "name", c->alias);
        strbuf_printf(b, "    </serial>\n");
}

/* libvirt writes the console as a copy of serial port 0. */
static void format_console(StrBuf *b, const DomainChr *c, DomainFormatFlags flags) {
        bool live_pty = c->type == DOMAIN_CHR_PTY && c->path && !(flags & DOMAIN_FORMAT_INACTIVE);

        strbuf_printf(b, "    <console type='%s'", strna(TO_STRING(chr_type_table, c->type)));
        if (live_pty) {
                strbuf_printf(b, " tty='");
                append_attr(b, c->path);
                strbuf_printf(b, "'");
        }
        strbuf_printf(b, ">\n");
        format_chr_source(b, c, flags);
        strbuf_printf(b, "      <target type='serial' port='0'/>\n");
        if (format_alias(c->alias, flags))
                format_empty1(b, 6, "alias", "name", c->alias);
        strbuf_printf(b, "    </console>\n");
}

static void format_os(StrBuf *b, const DomainDef *def) {
        strbuf_printf(b, "  <os>\n    <type");
        if (def->os_arch) {
                strbuf_printf(b, " arch='");
                append_attr(b, def->os_arch);
                strbuf_printf(b, "'");
        }
        if (def->os_machine) {
                strbuf_printf(b, " machine='");
                append_attr(b, def->os_machine);
                strbuf_printf(b, "'");
        }
        strbuf_printf(b, ">hvm</type>\n");
        if (def->kernel)
                format_text_element(b, 4, "kernel", def->kernel);
        if (def->initrd)
                format_text_element(b, 4, "initrd", def->initrd);
        if (def->cmdline)
                format_text_element(b, 4, "cmdline", def->cmdline);
        for (size_t i = 0; i < def->n_boot && i < DOMAIN_BOOT_MAX; i++)
                strbuf_printf(b, "    <boot dev='%s'/>\n", strna(domain_boot_dev_to_string(def->boot[i])));
        strbuf_printf(b, "  </os>\n");
}

static bool has_devices(const DomainDef *def) {
        if (def->emulator || def->n_disks > 0 || def->n_nets > 0 || def->n_serials > 0)
                return true;
        for (size_t i = 0; i < def->n_unknown; i++)
                if (def->unknown[i].place == DOMAIN_UNKNOWN_DEVICES)
                        return true;
        return false;
}

static void format_devices(StrBuf *b, const DomainDef *def, DomainFormatFlags flags) {
        const DomainChr *serial0 = NULL;

        if (!has_devices(def))
                return;
        strbuf_printf(b, "  <devices>\n");
        for (size_t r = 0; r <= DEVICES_RANK_OTHER_NS; r++) {
                const char *el = r < ELEMENTSOF(devices_order) ? devices_order[r] : "";

                if (streq(el, "emulator") && def->emulator)
                        format_text_element(b, 4, "emulator", def->emulator);
                else if (streq(el, "disk"))
                        for (size_t i = 0; i < def->n_disks; i++)
                                format_disk(b, &def->disks[i], flags);
                else if (streq(el, "interface"))
                        for (size_t i = 0; i < def->n_nets; i++)
                                format_net(b, &def->nets[i], flags);
                else if (streq(el, "serial"))
                        for (size_t i = 0; i < def->n_serials; i++) {
                                format_serial(b, &def->serials[i], flags);
                                if (def->serials[i].port == 0)
                                        serial0 = &def->serials[i];
                        }
                else if (streq(el, "console") && def->console && serial0)
                        format_console(b, serial0, flags);
                format_unknown(b, def, DOMAIN_UNKNOWN_DEVICES, r);
        }
        strbuf_printf(b, "  </devices>\n");
}

static void format_def(StrBuf *b, const DomainDef *def, DomainFormatFlags flags) {
        strbuf_printf(b, "<domain type='%s'", strna(domain_virt_type_to_string(def->virt_type)));
        if (def->id > 0 && !(flags & DOMAIN_FORMAT_INACTIVE))
                strbuf_printf(b, " id='%d'", def->id);
        strbuf_printf(b, ">\n");

        for (size_t r = 0; r <= TOP_RANK_OTHER_NS; r++) {
                const char *el = r < ELEMENTSOF(top_order) ? top_order[r] : "";

                if (streq(el, "name") && def->name)
                        format_text_element(b, 2, "name", def->name);
                else if (streq(el, "uuid") && def->has_uuid) {
                        char buf[UUID_STR_MAX];

                        strbuf_printf(b, "  <uuid>%s</uuid>\n", uuid_format(&def->uuid, buf));
                } else if (streq(el, "title") && def->title)
                        format_text_element(b, 2, "title", def->title);
                else if (streq(el, "description") && def->description)
                        format_text_element(b, 2, "description", def->description);
                else if (streq(el, "memory"))
                        strbuf_printf(b, "  <memory unit='KiB'>%" PRIu64 "</memory>\n", def->memory_kib);
                else if (streq(el, "currentMemory"))
                        strbuf_printf(b, "  <currentMemory unit='KiB'>%" PRIu64 "</currentMemory>\n",
                                      def->current_memory_kib);
                else if (streq(el, "vcpu"))
                        strbuf_printf(b, "  <vcpu placement='static'>%u</vcpu>\n", def->vcpus);
                else if (streq(el, "os"))
                        format_os(b, def);
                else if (streq(el, "on_poweroff"))
                        strbuf_printf(b, "  <on_poweroff>%s</on_poweroff>\n",
                                      strna(domain_lifecycle_action_to_string(def->on_poweroff)));
                else if (streq(el, "on_reboot"))
                        strbuf_printf(b, "  <on_reboot>%s</on_reboot>\n",
                                      strna(domain_lifecycle_action_to_string(def->on_reboot)));
                else if (streq(el, "on_crash"))
                        strbuf_printf(b, "  <on_crash>%s</on_crash>\n",
                                      strna(domain_lifecycle_action_to_string(def->on_crash)));
                else if (streq(el, "devices"))
                        format_devices(b, def, flags);
                format_unknown(b, def, DOMAIN_UNKNOWN_TOP, r);
        }

        strbuf_printf(b, "</domain>\n");
}

char *domain_def_format(const DomainDef *def, DomainFormatFlags flags) {
        StrBuf b = {};

        format_def(&b, def, flags);
        return strbuf_steal(&b);
}

/* ---- defaults, checks, reports ---- */

static bool mac_in_use(const DomainDef *def, const EtherAddr *mac) {
        for (size_t i = 0; i < def->n_nets; i++)
                if (def->nets[i].has_mac && memcmp(&def->nets[i].mac, mac, sizeof *mac) == 0)
                        return true;
        return false;
}

int domain_def_fill_defaults(DomainDef *def) {
        int r;

        if (!def->has_uuid) {
                r = uuid_generate_random(&def->uuid);
                if (r < 0)
                        return r;
                def->has_uuid = true;
        }

        /* libvirt pins these at define time: the guest's hardware must not change under it */
        if (!def->os_arch) {
                def->os_arch = strdup("x86_64");
                if (!def->os_arch)
                        return -ENOMEM;
        }
        if (!def->os_machine) {
                def->os_machine = strdup("pc");
                if (!def->os_machine)
                        return -ENOMEM;
        }

        for (size_t i = 0; i < def->n_nets; i++) {
                EtherAddr mac;

                if (def->nets[i].has_mac)
                        continue;
                /* 2^24 addresses for at most DOMAIN_NETS_MAX interfaces: a retry is rare, a
                 * second one rarer still */
                do {
                        r = ether_addr_generate_qemu(&mac);
                        if (r < 0)
                                return r;
                } while (mac_in_use(def, &mac));
                def->nets[i].mac = mac;
                def->nets[i].has_mac = true;
        }
        return 0;
}

int domain_def_check_runnable(const DomainDef *def, char **ret_error) {
        /* in the order they are formatted, so the message names the first one a reader sees */
        for (unsigned r = 0; r <= DEVICES_RANK_OTHER_NS; r++)
                for (size_t i = 0; i < def->n_unknown; i++) {
                        const DomainUnknown *u = &def->unknown[i];
                        const char *el;

                        if (u->place != DOMAIN_UNKNOWN_DEVICES || u->rank != r || u->harmless)
                                continue;
                        el = startswith(u->path, "<devices>/") ?: u->path;
                        return unsupported_error(ret_error, _("device %s is not supported"), el);
                }
        return 0;
}

static void summary_add(StrBuf *b, const char *path) {
        strbuf_printf(b, "%s%s", b->len > 0 ? ", " : "", path);
}

char *domain_def_unknown_summary(const DomainDef *def) {
        StrBuf b = {};

        for (unsigned r = 0; r <= TOP_RANK_OTHER_NS; r++) {
                if (r < ELEMENTSOF(top_order) && streq(top_order[r], "devices"))
                        for (unsigned d = 0; d <= DEVICES_RANK_OTHER_NS; d++) {
                                const char *el = d < ELEMENTSOF(devices_order) ? devices_order[d] : "";

                                if (streq(el, "disk"))
                                        for (size_t i = 0; i < def->n_disks; i++)
                                                if (def->disks[i].address_xml)
                                                        summary_add(&b, "<devices>/<disk>/<address>");
                                if (streq(el, "interface"))
                                        for (size_t i = 0; i < def->n_nets; i++)
                                                if (def->nets[i].address_xml)
                                                        summary_add(&b, "<devices>/<interface>/<address>");
                                for (size_t i = 0; i < def->n_unknown; i++)
                                        if (def->unknown[i].place == DOMAIN_UNKNOWN_DEVICES &&
                                            def->unknown[i].rank == d)
                                                summary_add(&b, def->unknown[i].path);
                        }
                for (size_t i = 0; i < def->n_unknown; i++)
                        if (def->unknown[i].place == DOMAIN_UNKNOWN_TOP && def->unknown[i].rank == r)
                                summary_add(&b, def->unknown[i].path);
        }
        return strbuf_steal(&b);
}

DomainDef *domain_def_free(DomainDef *def) {
        if (!def)
                return NULL;
        free(def->name);
        free(def->title);
        free(def->description);
        free(def->os_arch);
        free(def->os_machine);
        free(def->kernel);
        free(def->initrd);
        free(def->cmdline);
        free(def->emulator);
        for (size_t i = 0; i < def->n_disks; i++)
                domain_disk_done(&def->disks[i]);
        free(def->disks);
        for (size_t i = 0; i < def->n_nets; i++)
                domain_net_done(&def->nets[i]);
        free(def->nets);
        for (size_t i = 0; i < def->n_serials; i++)
                domain_chr_done(&def->serials[i]);
        free(def->serials);
        for (size_t i = 0; i < def->n_unknown; i++) {
                free(def->unknown[i].path);
                free(def->unknown[i].xml);
        }
        free(def->unknown);
        return mfree(def);
}
