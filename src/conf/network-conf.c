/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <inttypes.h>

#include "conf-util.h"
#include "i18n.h"
#include "ifname.h"
#include "network-conf.h"
#include "xml-util.h"

/* Names the object in messages: "… in network 'lan'". */
#define NETWORK_KIND "network"

/* Linux refuses a bridge forward delay above 30 s while STP runs; a larger value could never
 * be applied, so it is refused here rather than at start. */
#define NETWORK_BRIDGE_DELAY_MAX 30
/* The smallest MTU an IPv4 host must accept, and the largest the bridge driver takes. */
#define NETWORK_MTU_MIN 68
#define NETWORK_MTU_MAX 65535
/* libvirt's documented default for an IPv6 <ip> without prefix. */
#define NETWORK_IPV6_PREFIX_DEFAULT 64

/* Shared with network-status.c, which parses and formats the <network> inside a status file.
 * Not part of the public header on purpose: callers outside src/conf go through strings. */
int network_def_parse_node(xmlNode *node, NetworkDef **ret, char **ret_error);
void network_def_format_buf(StrBuf *b, const NetworkDef *def, int indent);

static const char *const forward_mode_table[_NETWORK_FORWARD_MAX] = {
        [NETWORK_FORWARD_NONE] = "none",
        [NETWORK_FORWARD_BRIDGE] = "bridge",
};

const char *network_forward_mode_to_string(NetworkForwardMode m) {
        if (m < 0 || m >= _NETWORK_FORWARD_MAX)
                return NULL;
        return forward_mode_table[m];
}

bool network_name_valid(const char *name) {
        size_t l;

        if (isempty(name))
                return false;
        l = strlen(name);
        if (l > NETWORK_NAME_MAX)
                return false;
        /* names become file names ($STATE_DIRECTORY/network/NAME.status.xml) and D-Bus paths */
        if (streq(name, ".") || streq(name, ".."))
                return false;
        return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.+-") == l;
}

static int parse_name(xmlNode *root, NetworkDef *def, char **ret_error) {
        _cleanup_free_ char *name = NULL;
        xmlNode *node = NULL;
        int r;

        for (xmlNode *c = root->children; c; c = c->next)
                if (c->type == XML_ELEMENT_NODE && !c->ns && streq((const char *) c->name, "name")) {
                        node = c;
                        break;
                }
        if (!node)
                return xml_error(ret_error, _("missing <name> element in <network>"));

        r = conf_check_attributes(node, (const char *const[]) { NULL }, false, NETWORK_KIND, NULL,
                                  ret_error);
        if (r < 0)
                return r;
        r = conf_element_text(node, NETWORK_KIND, NULL, &name, ret_error);
        if (r < 0)
                return r;

        if (isempty(name))
                return xml_error(ret_error, _("network name must not be empty"));
        if (strlen(name) > NETWORK_NAME_MAX)
                return xml_error(ret_error, _("network name '%s' is too long (maximum %d characters)"), name,
                                 NETWORK_NAME_MAX);
        if (!network_name_valid(name))
                return xml_error(ret_error,
                                 _("invalid network name '%s': only letters, digits, '_', '.', '+' and '-' "
                                   "are allowed, and it must not be '.' or '..'"),
                                 name);

        def->name = TAKE_PTR(name);
        return 0;
}

static int parse_uuid(xmlNode *n, NetworkDef *def, char **ret_error) {
        _cleanup_free_ char *s = NULL;
        int r;

        r = conf_check_attributes(n, (const char *const[]) { NULL }, false, NETWORK_KIND, def->name,
                                  ret_error);
        if (r < 0)
                return r;
        r = conf_element_text(n, NETWORK_KIND, def->name, &s, ret_error);
        if (r < 0)
                return r;
        if (uuid_parse(s, &def->uuid) < 0)
                return xml_error(ret_error, _("invalid UUID '%s' in network '%s'"), s, def->name);
        def->has_uuid = true;
        return 0;
}

static int parse_forward(xmlNode *n, NetworkDef *def, char **ret_error) {
        static const char *const unsupported[] = { "nat", "route", "open", "private", "vepa", "passthrough",
                                                   "hostdev" };
        _cleanup_free_ char *mode = NULL;
        int r;

        r = conf_check_attributes(n, (const char *const[]) { "mode", NULL }, false, NETWORK_KIND, def->name,
                                  ret_error);
        if (r < 0)
                return r;
        r = conf_get_prop(n, "mode", &mode);
        if (r < 0)
                return r;

        /* <forward/> without mode is NAT in libvirt */
        if (!mode)
                return unsupported_error(ret_error,
                                         _("forward mode 'nat' (the default of <forward>) is not supported "
                                           "yet in network '%s'; use <forward mode='bridge'/> or no "
                                           "<forward>"),
                                         def->name);

        if (streq(mode, "bridge"))
                def->forward = NETWORK_FORWARD_BRIDGE;
        else if (streq(mode, "none")) /* libvirt accepts it: an isolated network, like no <forward> */
                def->forward = NETWORK_FORWARD_NONE;
        else {
                for (size_t i = 0; i < ELEMENTSOF(unsupported); i++)
                        if (streq(mode, unsupported[i]))
                                return unsupported_error(ret_error,
                                                         _("forward mode '%s' is not supported yet "
                                                           "in network '%s'"),
                                                         mode, def->name);
                return xml_error(ret_error, _("unknown forward mode '%s' in network '%s'"), mode, def->name);
        }

        return conf_check_no_children(n, /* libvirt_has_children= */ true, NETWORK_KIND, def->name,
                                      ret_error);
}

static int parse_bridge(xmlNode *n, NetworkDef *def, char **ret_error) {
        _cleanup_free_ char *name = NULL, *stp = NULL, *delay = NULL;
        int r;

        r = conf_check_attributes(n, (const char *const[]) { "name", "stp", "delay", NULL }, false,
                                  NETWORK_KIND, def->name, ret_error);
        if (r < 0)
                return r;
        r = conf_check_no_children(n, false, NETWORK_KIND, def->name, ret_error);
        if (r < 0)
                return r;

        r = conf_get_prop(n, "name", &name);
        if (r < 0)
                return r;
        if (name && !ifname_valid(name))
                return xml_error(ret_error,
                                 _("invalid bridge name '%s' in network '%s': an interface name has 1 to 15 "
                                   "characters and no '/', ':', '%%', spaces or control characters"),
                                 name, def->name);

        r = conf_get_prop(n, "stp", &stp);
        if (r < 0)
                return r;
        if (stp) {
                if (streq(stp, "on"))
                        def->stp = 1;
                else if (streq(stp, "off"))
                        def->stp = 0;
                else
                        return xml_error(ret_error,
                                         _("invalid stp '%s' on <bridge> in network '%s': "
                                           "expected 'on' or 'off'"),
                                         stp, def->name);
        }

        r = conf_get_prop(n, "delay", &delay);
        if (r < 0)
                return r;
        if (delay) {
                uint64_t v;

                if (conf_parse_uint(delay, 0, NETWORK_BRIDGE_DELAY_MAX, &v) < 0)
                        return xml_error(ret_error,
                                         _("invalid delay '%s' on <bridge> in network '%s': expected an "
                                           "integer from 0 to %d seconds"),
                                         delay, def->name, NETWORK_BRIDGE_DELAY_MAX);
                def->delay = (int) v;
        }

        def->bridge = TAKE_PTR(name);
        return 0;
}

static int parse_mac(xmlNode *n, NetworkDef *def, char **ret_error) {
        _cleanup_free_ char *s = NULL;
        int r;

        r = conf_check_attributes(n, (const char *const[]) { "address", NULL }, false, NETWORK_KIND,
                                  def->name, ret_error);
        if (r < 0)
                return r;
        r = conf_check_no_children(n, false, NETWORK_KIND, def->name, ret_error);
        if (r < 0)
                return r;
        r = conf_get_prop(n, "address", &s);
        if (r < 0)
                return r;
        if (!s)
                return xml_error(ret_error, _("missing address attribute on <mac> in network '%s'"),
                                 def->name);
        if (ether_addr_parse(s, &def->mac) < 0)
                return xml_error(ret_error, _("invalid MAC address '%s' in network '%s'"), s, def->name);
        if (ether_addr_is_multicast(&def->mac))
                return xml_error(ret_error,
                                 _("invalid multicast bridge MAC address '%s' in network '%s'"), s,
                                 def->name);
        if (ether_addr_is_null(&def->mac))
                return xml_error(ret_error, _("invalid all-zero bridge MAC address '%s' in network '%s'"), s,
                                 def->name);
        def->has_mac = true;
        return 0;
}

static int parse_mtu(xmlNode *n, NetworkDef *def, char **ret_error) {
        _cleanup_free_ char *s = NULL;
        uint64_t v;
        int r;

        r = conf_check_attributes(n, (const char *const[]) { "size", NULL }, false, NETWORK_KIND, def->name,
                                  ret_error);
        if (r < 0)
                return r;
        r = conf_check_no_children(n, false, NETWORK_KIND, def->name, ret_error);
        if (r < 0)
                return r;
        r = conf_get_prop(n, "size", &s);
        if (r < 0)
                return r;
        if (!s)
                return xml_error(ret_error, _("missing size attribute on <mtu> in network '%s'"), def->name);
        if (conf_parse_uint(s, NETWORK_MTU_MIN, NETWORK_MTU_MAX, &v) < 0)
                return xml_error(ret_error,
                                 _("invalid MTU size '%s' in network '%s': expected an integer "
                                   "from %d to %d"),
                                 s, def->name, NETWORK_MTU_MIN, NETWORK_MTU_MAX);
        def->mtu = (uint32_t) v;
        return 0;
}

static bool netmask_to_prefix(struct in_addr mask, unsigned *ret) {
        uint32_t m = ntohl(mask.s_addr), inv = ~m;

        /* contiguous ⇔ the inverted mask is 2^k - 1 */
        if (inv & (inv + 1))
                return false;
        *ret = (unsigned) __builtin_popcount(m);
        return true;
}

static bool ip_address_unusable(const NetworkIP *ip) {
        if (ip->family == AF_INET) {
                uint32_t a = ntohl(ip->address.in.s_addr);
                return a == 0 || (a >> 28) == 0xe; /* unspecified, multicast */
        }
        return IN6_IS_ADDR_UNSPECIFIED(&ip->address.in6) || IN6_IS_ADDR_MULTICAST(&ip->address.in6);
}

static int parse_ip(xmlNode *n, const char *netname, NetworkIP *ret, char **ret_error) {
        _cleanup_free_ char *family = NULL, *address = NULL, *netmask = NULL, *prefix = NULL;
        NetworkIP ip = {};
        int r;

        r = conf_check_attributes(n,
                                  (const char *const[]) { "family", "address", "netmask", "prefix", NULL },
                                  false, NETWORK_KIND, netname, ret_error);
        if (r < 0)
                return r;

        if (conf_get_prop(n, "family", &family) < 0 || conf_get_prop(n, "address", &address) < 0 ||
            conf_get_prop(n, "netmask", &netmask) < 0 || conf_get_prop(n, "prefix", &prefix) < 0)
                return -ENOMEM;

        if (!family || streq(family, "ipv4"))
                ip.family = AF_INET;
        else if (streq(family, "ipv6"))
                ip.family = AF_INET6;
        else
                return xml_error(ret_error,
                                 _("invalid family '%s' on <ip> in network '%s': expected 'ipv4' or 'ipv6'"),
                                 family, netname);

        if (!address)
                return xml_error(ret_error, _("missing address attribute on <ip> in network '%s'"), netname);
        if (inet_pton(ip.family, address, &ip.address) != 1) {
                union {
                        struct in_addr in;
                        struct in6_addr in6;
                } other;

                if (ip.family == AF_INET && inet_pton(AF_INET6, address, &other) == 1)
                        return xml_error(ret_error,
                                         _("IPv6 address '%s' on <ip> in network '%s' needs family='ipv6'"),
                                         address, netname);
                if (ip.family == AF_INET6 && inet_pton(AF_INET, address, &other) == 1)
                        return xml_error(ret_error,
                                         _("IPv4 address '%s' on <ip> in network '%s' does not match "
                                           "family='ipv6'"),
                                         address, netname);
                return xml_error(ret_error, _("invalid IP address '%s' in network '%s'"), address, netname);
        }
        if (ip_address_unusable(&ip))
                return xml_error(ret_error,
                                 _("IP address '%s' in network '%s' cannot be a host address "
                                   "(unspecified or multicast)"),
                                 address, netname);

        if (netmask && prefix)
                return xml_error(ret_error,
                                 _("<ip address='%s'> in network '%s' has both a netmask and a prefix, "
                                   "only one is allowed"),
                                 address, netname);

        if (netmask) {
                struct in_addr m;

                if (ip.family != AF_INET)
                        return xml_error(ret_error,
                                         _("netmask on IPv6 <ip address='%s'> in network '%s': use prefix"),
                                         address, netname);
                if (inet_pton(AF_INET, netmask, &m) != 1 || !netmask_to_prefix(m, &ip.prefix))
                        return xml_error(ret_error,
                                         _("invalid netmask '%s' in network '%s': expected a contiguous "
                                           "IPv4 netmask like 255.255.255.0"),
                                         netmask, netname);
                ip.netmask_given = true;
        } else if (prefix) {
                unsigned max = ip.family == AF_INET ? 32 : 128;
                uint64_t v;

                if (conf_parse_uint(prefix, 0, max, &v) < 0)
                        return xml_error(ret_error,
                                         _("invalid prefix '%s' on <ip address='%s'> in network '%s': "
                                           "expected an integer from 0 to %u"),
                                         prefix, address, netname, max);
                ip.prefix = (unsigned) v;
        } else if (ip.family == AF_INET6)
                ip.prefix = NETWORK_IPV6_PREFIX_DEFAULT;
        else
                /* libvirt would guess from the address class; classful guesses are wrong more often
                 * than not, so ask */
                return xml_error(ret_error,
                                 _("<ip address='%s'> in network '%s' needs a prefix or netmask attribute"),
                                 address, netname);

        r = conf_check_no_children(n, /* libvirt_has_children= */ true, NETWORK_KIND, netname, ret_error);
        if (r < 0)
                return r;

        *ret = ip;
        return 0;
}

static bool ip_equal(const NetworkIP *a, const NetworkIP *b) {
        if (a->family != b->family)
                return false;
        if (a->family == AF_INET)
                return a->address.in.s_addr == b->address.in.s_addr;
        return IN6_ARE_ADDR_EQUAL(&a->address.in6, &b->address.in6);
}

/* libvirt's rules for a network on a bridge it does not own: nothing that would configure that
 * bridge (STP, delay, MTU, MAC, addresses) is ours to set. */
static int check_forward_bridge(NetworkDef *def, char **ret_error) {
        if (def->forward != NETWORK_FORWARD_BRIDGE)
                return 0;

        if (!def->bridge)
                return xml_error(ret_error,
                                 _("network '%s' has forward mode 'bridge' but no bridge name; "
                                   "add <bridge name='…'/> naming an existing bridge"),
                                 def->name);
        if (def->stp >= 0 || def->delay >= 0)
                return xml_error(ret_error,
                                 _("bridge delay/stp options are only allowed in isolated mode, "
                                   "not with forward mode 'bridge' (network '%s')"),
                                 def->name);
        if (def->mtu > 0)
                return xml_error(ret_error,
                                 _("mtu size is only allowed in isolated mode, not with forward mode "
                                   "'bridge' (network '%s')"),
                                 def->name);
        if (def->has_mac)
                return unsupported_error(ret_error,
                                         _("<mac> element in network '%s' with forward mode 'bridge' "
                                           "is not supported"),
                                         def->name);
        if (def->n_ips > 0)
                return unsupported_error(ret_error,
                                         _("<ip> element in network '%s' with forward mode 'bridge' "
                                           "is not supported"),
                                         def->name);
        return 0;
}

static NetworkDef *network_def_new(void) {
        NetworkDef *def = calloc(1, sizeof *def);

        if (!def)
                return NULL;
        def->stp = -1;
        def->delay = -1;
        return def;
}

static int parse_bandwidth(xmlNode *n, NetworkDef *def, char **ret_error) {
        _cleanup_free_ char *e = NULL;
        int r;

        /* floor belongs to interfaces, never to a network's own bandwidth */
        r = bandwidth_parse(n, /* allow_floor= */ false, &def->bandwidth, ret_error ? &e : NULL);
        if (r < 0 && e && asprintf(ret_error, _("%s (network '%s')"), e, def->name) < 0) {
                *ret_error = NULL;
                return -ENOMEM;
        }
        return r;
}

/* The elements that may appear at most once, in the order they are parsed (<name> is read first,
 * by parse_name(), so its entry has no parser). <ip> is the one repeated element. */
static const struct {
        const char *name;
        int (*parse)(xmlNode *n, NetworkDef *def, char **ret_error);
} single_elements[] = {
        { "name", NULL },
        { "uuid", parse_uuid },
        { "forward", parse_forward },
        { "bridge", parse_bridge },
        { "mac", parse_mac },
        { "mtu", parse_mtu },
        { "bandwidth", parse_bandwidth },
};

int network_def_parse_node(xmlNode *root, NetworkDef **ret, char **ret_error) {
        _cleanup_(network_def_freep) NetworkDef *def = NULL;
        xmlNode *nodes[ELEMENTSOF(single_elements)] = {}, *ips[NETWORK_IPS_MAX];
        size_t n_ips = 0;
        int r;

        if (root->type != XML_ELEMENT_NODE || !streq((const char *) root->name, "network") || root->ns) {
                if (root->ns && !root->ns->prefix)
                        return xml_error(ret_error,
                                         _("expected root element <network> without namespace, got one in "
                                           "namespace '%s'"),
                                         (const char *) root->ns->href);
                return xml_error(ret_error, _("expected root element <network>, got <%s%s%s>"),
                                 conf_ns_prefix(root), conf_ns_sep(root), (const char *) root->name);
        }

        def = network_def_new();
        if (!def)
                return -ENOMEM;

        /* The name first, so every later message can say which network it is about. */
        r = parse_name(root, def, ret_error);
        if (r < 0)
                return r;

        r = conf_check_attributes(root, (const char *const[]) { NULL }, false, NETWORK_KIND, def->name,
                                  ret_error);
        if (r < 0)
                return r;

        for (xmlNode *c = root->children; c; c = c->next) {
                size_t i;

                if (c->type == XML_ENTITY_REF_NODE ||
                    (conf_is_text(c) && !conf_is_blank((const char *) c->content)))
                        return xml_error(ret_error, _("unexpected text in network '%s'"), def->name);
                if (c->type != XML_ELEMENT_NODE)
                        continue;

                if (c->ns)
                        return unsupported_error(ret_error,
                                                 _("element <%s%s%s> (namespace '%s') in network '%s' "
                                                   "is not supported"),
                                                 conf_ns_prefix(c), conf_ns_sep(c), (const char *) c->name,
                                                 (const char *) c->ns->href, def->name);

                if (streq((const char *) c->name, "ip")) {
                        if (n_ips >= NETWORK_IPS_MAX)
                                return unsupported_error(ret_error,
                                                         _("too many <ip> elements in network '%s' "
                                                           "(at most %d are supported)"),
                                                         def->name, NETWORK_IPS_MAX);
                        ips[n_ips++] = c;
                        continue;
                }

                for (i = 0; i < ELEMENTSOF(single_elements); i++)
                        if (streq((const char *) c->name, single_elements[i].name))
                                break;
                if (i >= ELEMENTSOF(single_elements))
                        /* valid libvirt (<dns>, <domain>, <portgroup>…) or not, we cannot do it */
                        return unsupported_error(ret_error,
                                                 _("element <%s> in network '%s' is not supported"),
                                                 (const char *) c->name, def->name);
                if (nodes[i])
                        return xml_error(ret_error, _("multiple <%s> elements in network '%s'"),
                                         (const char *) c->name, def->name);
                nodes[i] = c;
        }

        for (size_t i = 0; i < ELEMENTSOF(single_elements); i++) {
                if (!nodes[i] || !single_elements[i].parse)
                        continue;
                r = single_elements[i].parse(nodes[i], def, ret_error);
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; i < n_ips; i++) {
                r = parse_ip(ips[i], def->name, &def->ips[i], ret_error);
                if (r < 0)
                        return r;
                for (size_t j = 0; j < i; j++)
                        if (ip_equal(&def->ips[i], &def->ips[j])) {
                                char buf[INET6_ADDRSTRLEN];

                                return xml_error(ret_error, _("duplicate IP address '%s' in network '%s'"),
                                                 inet_ntop(def->ips[i].family, &def->ips[i].address, buf,
                                                           sizeof buf),
                                                 def->name);
                        }
                def->n_ips++;
        }

        r = check_forward_bridge(def, ret_error);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(def);
        return 0;
}

int network_def_parse(const char *xml, NetworkDef **ret, char **ret_error) {
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

        return network_def_parse_node(xmlDocGetRootElement(doc), ret, ret_error);
}

static void format_ip(StrBuf *b, const NetworkIP *ip, int indent) {
        char buf[INET6_ADDRSTRLEN];

        strbuf_indent(b, indent);
        strbuf_printf(b, "<ip");
        if (ip->family == AF_INET6)
                strbuf_printf(b, " family='ipv6'");
        strbuf_printf(b, " address='%s'", inet_ntop(ip->family, &ip->address, buf, sizeof buf) ?: "");
        if (ip->family == AF_INET && ip->netmask_given && ip->prefix <= 32) {
                struct in_addr m = {
                        .s_addr = htonl(ip->prefix == 0 ? 0 : UINT32_MAX << (32 - ip->prefix)),
                };

                strbuf_printf(b, " netmask='%s'", inet_ntop(AF_INET, &m, buf, sizeof buf) ?: "");
        } else
                strbuf_printf(b, " prefix='%u'", ip->prefix);
        strbuf_printf(b, "/>\n");
}

void network_def_format_buf(StrBuf *b, const NetworkDef *def, int indent) {
        int in = indent + 2;

        strbuf_indent(b, indent);
        strbuf_printf(b, "<network>\n");

        if (def->name) {
                strbuf_indent(b, in);
                strbuf_printf(b, "<name>");
                strbuf_append_escaped(b, def->name);
                strbuf_printf(b, "</name>\n");
        }
        if (def->has_uuid) {
                char buf[UUID_STR_MAX];

                strbuf_indent(b, in);
                strbuf_printf(b, "<uuid>%s</uuid>\n", uuid_format(&def->uuid, buf));
        }
        if (def->forward != NETWORK_FORWARD_NONE) {
                strbuf_indent(b, in);
                strbuf_printf(b, "<forward mode='%s'/>\n",
                              strna(network_forward_mode_to_string(def->forward)));
        }
        if (def->bridge || def->stp >= 0 || def->delay >= 0) {
                strbuf_indent(b, in);
                strbuf_printf(b, "<bridge");
                if (def->bridge) {
                        strbuf_printf(b, " name='");
                        strbuf_append_escaped(b, def->bridge);
                        strbuf_printf(b, "'");
                }
                if (def->stp >= 0)
                        strbuf_printf(b, " stp='%s'", def->stp ? "on" : "off");
                if (def->delay >= 0)
                        strbuf_printf(b, " delay='%d'", def->delay);
                strbuf_printf(b, "/>\n");
        }
        if (def->has_mac) {
                char buf[ETHER_ADDR_STR_MAX];

                strbuf_indent(b, in);
                strbuf_printf(b, "<mac address='%s'/>\n", ether_addr_format(&def->mac, buf));
        }
        if (def->mtu > 0) {
                strbuf_indent(b, in);
                strbuf_printf(b, "<mtu size='%" PRIu32 "'/>\n", def->mtu);
        }
        bandwidth_format(b, &def->bandwidth, in);
        for (size_t i = 0; i < def->n_ips && i < NETWORK_IPS_MAX; i++)
                format_ip(b, &def->ips[i], in);

        strbuf_indent(b, indent);
        strbuf_printf(b, "</network>\n");
}

char *network_def_format(const NetworkDef *def) {
        StrBuf b = {};

        network_def_format_buf(&b, def, 0);
        return strbuf_steal(&b);
}

int network_def_fill_defaults(NetworkDef *def) {
        int r;

        if (!def->has_uuid) {
                r = uuid_generate_random(&def->uuid);
                if (r < 0)
                        return r;
                def->has_uuid = true;
        }

        /* A bridge we create gets a fixed MAC, else it would change with every port added
         * (the kernel takes the lowest port MAC). A bridge we only attach to is not ours. */
        if (!def->has_mac && def->forward != NETWORK_FORWARD_BRIDGE) {
                r = ether_addr_generate_qemu(&def->mac);
                if (r < 0)
                        return r;
                def->has_mac = true;
        }

        return 0;
}

NetworkDef *network_def_free(NetworkDef *def) {
        if (!def)
                return NULL;
        free(def->name);
        free(def->bridge);
        return mfree(def);
}
