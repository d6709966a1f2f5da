/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <inttypes.h>
#include <libxml/xmlsave.h>
#include <signal.h>
#include <stdarg.h>

#include "conf-util.h"
#include "domain-driver.h"
#include "domain-net.h"
#include "domain-process.h"
#include "domain-status.h"
#include "fileio.h"
#include "log.h"
#include "qos-driver.h"
#include "qos-layout.h"
#include "xml-util.h"

#define STATUS_FILE_MAX (2 * 1024 * 1024)

DomainStatus *domain_status_free(DomainStatus *st) {
        if (!st)
                return NULL;
        domain_def_free(st->live);
        free(st->qmp_socket);
        free(st->floors);
        return mfree(st);
}

char *domain_status_format(const DomainStatus *st) {
        _cleanup_free_ char *dom = domain_def_format(st->live, 0);
        StrBuf b = {};

        if (!dom)
                return NULL;
        strbuf_printf(&b, "<domstatus state='%d' reason='%d' pid='%d' qmp='", st->state, st->reason, (int) st->pid);
        strbuf_append_escaped(&b, st->qmp_socket);
        strbuf_printf(&b, "'>\n");
        for (size_t i = 0; st->floors && i < st->live->n_nets; i++) {
                const DomainNet *net = &st->live->nets[i];

                if (st->floors[i].class_id == 0)
                        continue;
                strbuf_printf(&b, "  <class alias='");
                strbuf_append_escaped(&b, net->alias);
                strbuf_printf(&b, "' network='");
                strbuf_append_escaped(&b, net->source);
                strbuf_printf(&b, "' id='%u' floor='%" PRIu64 "'/>\n", st->floors[i].class_id,
                              st->floors[i].floor);
        }
        strbuf_printf(&b, "%s</domstatus>\n", dom);
        return strbuf_steal(&b);
}

static int parse_int_attr(xmlNode *n, const char *name, long min, long max, long *ret) {
        _cleanup_free_ char *v = xml_get_prop(n, name);
        char *end;
        long x;

        if (!v)
                return -EBADMSG;
        errno = 0;
        x = strtol(v, &end, 10);
        if (errno || end == v || *end || x < min || x > max)
                return -EBADMSG;
        *ret = x;
        return 0;
}

_printf_(2, 3) static int floor_error(char **ret_error, const char *format, ...) {
        va_list ap;

        if (ret_error) {
                va_start(ap, format);
                if (vasprintf(ret_error, format, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return -EBADMSG;
}

/* <class alias='net0' network='lan' id='3' floor='500'/>: an interface of type network of the
 * live definition, once each, with an id a floor class can have. */
static int parse_floors(xmlNode *root, const DomainDef *live, DomainNetFloor **ret, char **ret_error) {
        _cleanup_free_ DomainNetFloor *floors = NULL;

        for (xmlNode *c = xml_element(root->children); c; c = xml_element(c->next)) {
                _cleanup_free_ char *alias = NULL, *network = NULL, *id_s = NULL, *floor_s = NULL;
                uint64_t id, floor;
                size_t i;

                if (!xml_name_is(c, "class"))
                        continue;
                for (xmlAttr *a = c->properties; a; a = a->next)
                        if (a->ns || !(streq((const char *) a->name, "alias") ||
                                       streq((const char *) a->name, "network") ||
                                       streq((const char *) a->name, "id") ||
                                       streq((const char *) a->name, "floor")))
                                return floor_error(ret_error, "unknown attribute '%s' on <class>",
                                                   (const char *) a->name);
                if (xml_element(c->children))
                        return floor_error(ret_error, "<class> must be empty");
                alias = xml_get_prop(c, "alias");
                network = xml_get_prop(c, "network");
                id_s = xml_get_prop(c, "id");
                floor_s = xml_get_prop(c, "floor");
                if (!alias || !network || !id_s || !floor_s)
                        return floor_error(ret_error, "<class> needs alias, network, id and floor");
                if (conf_parse_uint(id_s, QOS_CLASS_ID_MIN, QOS_CLASS_ID_MAX, &id) < 0)
                        return floor_error(ret_error, "invalid class id '%s' for interface %s", id_s, alias);
                if (conf_parse_uint(floor_s, 1, UINT32_MAX, &floor) < 0)
                        return floor_error(ret_error, "invalid floor '%s' for interface %s", floor_s, alias);
                for (i = 0; i < live->n_nets; i++)
                        if (streq_ptr(live->nets[i].alias, alias))
                                break;
                if (i >= live->n_nets)
                        return floor_error(ret_error, "<class> names interface %s, which the domain does not have",
                                           alias);
                if (live->nets[i].type != DOMAIN_NET_TYPE_NETWORK || !streq_ptr(live->nets[i].source, network))
                        return floor_error(ret_error, "interface %s is not on network '%s'", alias, network);
                if (!floors) {
                        floors = new0(DomainNetFloor, live->n_nets);
                        if (!floors)
                                return -ENOMEM;
                }
                if (floors[i].class_id != 0)
                        return floor_error(ret_error, "two <class> elements for interface %s", alias);
                for (size_t k = 0; k < live->n_nets; k++)
                        if (floors[k].class_id == id && streq(live->nets[k].source, network))
                                return floor_error(ret_error, "class id %" PRIu64 " used twice on network '%s'",
                                                   id, network);
                floors[i] = (DomainNetFloor) { .class_id = (uint16_t) id, .floor = floor };
        }
        *ret = TAKE_PTR(floors);
        return 0;
}

int domain_status_parse(const char *xml, DomainStatus **ret, char **ret_error) {
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        _cleanup_(domain_status_freep) DomainStatus *st = NULL;
        _cleanup_free_ char *err = NULL, *dom = NULL;
        xmlBuffer *buf;
        xmlNode *root, *child;
        long state, reason, pid;
        int r;

        r = xml_parse_string(xml, &doc, &err);
        if (r < 0) {
                if (ret_error)
                        *ret_error = TAKE_PTR(err);
                return r;
        }
        root = xmlDocGetRootElement(doc);
        if (!xml_name_is(root, "domstatus") || parse_int_attr(root, "state", 0, 7, &state) < 0 ||
            parse_int_attr(root, "reason", 0, 100, &reason) < 0 || parse_int_attr(root, "pid", 0, INT32_MAX, &pid) < 0) {
                if (ret_error)
                        *ret_error = strdup("expected <domstatus state= reason= pid= qmp=>");
                return -EBADMSG;
        }
        child = NULL;
        for (xmlNode *c = xml_element(root->children); c; c = xml_element(c->next)) {
                if (xml_name_is(c, "class"))
                        continue;
                if (!xml_name_is(c, "domain") || child) {
                        if (ret_error)
                                *ret_error = strdup("<domstatus> must hold exactly one <domain> and <class> elements");
                        return -EBADMSG;
                }
                child = c;
        }
        if (!child) {
                if (ret_error)
                        *ret_error = strdup("<domstatus> must hold exactly one <domain>");
                return -EBADMSG;
        }

        st = calloc(1, sizeof *st);
        if (!st)
                return -ENOMEM;
        st->state = state;
        st->reason = reason;
        st->pid = pid;
        st->qmp_socket = xml_get_prop(root, "qmp");
        if (isempty(st->qmp_socket) || st->qmp_socket[0] != '/') {
                if (ret_error)
                        *ret_error = strdup("missing or relative qmp socket path");
                return -EBADMSG;
        }

        buf = xmlBufferCreate();
        if (!buf)
                return -ENOMEM;
        if (xmlNodeDump(buf, doc, child, 0, 0) < 0) {
                xmlBufferFree(buf);
                return -ENOMEM;
        }
        dom = strdup((const char *) xmlBufferContent(buf));
        xmlBufferFree(buf);
        if (!dom)
                return -ENOMEM;
        r = domain_def_parse(dom, DOMAIN_PARSE_LIVE, &st->live, ret_error);
        if (r < 0)
                return r;
        if (!st->live->has_uuid) {
                if (ret_error)
                        *ret_error = strdup("the domain in a status file must have a uuid");
                return -EBADMSG;
        }
        r = parse_floors(root, st->live, &st->floors, ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(st);
        return 0;
}

static char *status_path(Manager *m, const char *name) {
        return path_join3(m->qemu_runtime_dir, name, ".status.xml");
}

int domain_save_status(Domain *d) {
        Manager *m = d->manager;
        DomainStatus st = {
                .live = d->live,
                .state = d->state,
                .reason = d->reason,
                .pid = d->pid,
                .qmp_socket = d->qmp_socket,
                .floors = d->floors,
        };
        _cleanup_free_ char *path = status_path(m, d->live->name), *xml = domain_status_format(&st);
        int r;

        if (!path || !xml)
                return -ENOMEM;
        r = mkdir_p(m->qemu_runtime_dir, 0700);
        if (r < 0)
                return r;
        return write_file_atomic(path, xml, strlen(xml), 0600);
}

int domain_remove_status(Domain *d) {
        _cleanup_free_ char *path = status_path(d->manager, domain_current_def(d)->name);

        if (!path)
                return -ENOMEM;
        return unlink_durable(path);
}

/* Is pid still the QEMU we started? Its command line must name our QMP socket. */
static bool qemu_process_matches(pid_t pid, const char *qmp_socket) {
        _cleanup_free_ char *path = NULL, *cmdline = NULL;
        size_t size;

        if (pid <= 0) /* saved before the spawn: the start never got that far */
                return false;
        if (kill(pid, 0) < 0 && errno == ESRCH)
                return false;
        if (asprintf(&path, "/proc/%d/cmdline", (int) pid) < 0)
                return false;
        if (read_full_file(path, 1024 * 1024, &cmdline, &size) < 0)
                return false;
        for (size_t i = 0; i < size; i += strlen(cmdline + i) + 1)
                if (strstr(cmdline + i, qmp_socket))
                        return true;
        return false;
}

static int load_status_file(Manager *m, const char *filename, Domain **ret) {
        _cleanup_free_ char *path = path_join3(m->qemu_runtime_dir, filename, NULL), *xml = NULL, *err = NULL;
        _cleanup_(domain_status_freep) DomainStatus *st = NULL;
        _cleanup_free_ DomainNetFloor *floors = NULL;
        Domain *d;
        int r;

        if (!path)
                return -ENOMEM;
        r = read_full_file(path, STATUS_FILE_MAX, &xml, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s, ignoring: %m", path);
        r = domain_status_parse(xml, &st, &err);
        if (r < 0)
                return log_error_errno(r, "Failed to load status %s, ignoring (file kept for inspection): %s", path,
                                       strna(err));
        floors = st->floors ? TAKE_PTR(st->floors) : new0(DomainNetFloor, MAX(st->live->n_nets, 1u));
        if (!floors)
                return log_oom();

        r = domain_adopt(m, st->live, &d);
        if (r < 0)
                return log_error_errno(r, "Status %s names domain %s with another uuid than its config, ignoring.",
                                       path, st->live->name);
        st->live = NULL; /* owned by d now */
        d->floors = TAKE_PTR(floors);
        d->state = st->state;
        d->reason = st->reason;
        d->pid = st->pid;
        d->qmp_socket = TAKE_PTR(st->qmp_socket);
        if (d->live->id >= m->next_domain_id)
                m->next_domain_id = d->live->id + 1;
        *ret = d;
        return 0;
}

/* The guest a status file named: reconnect, or clean up after it. */
static void resume_domain(Manager *m, Domain *d) {
        int r;

        if (!qemu_process_matches(d->pid, d->qmp_socket)) {
                log_domain_def(LOG_NOTICE, 0, d->live,
                                    "Domain %s died while virtbusd was away; cleaning up.", d->live->name);
                domain_process_gone(d, DOMAIN_SHUTOFF_UNKNOWN, DOMAIN_EVENT_STOPPED_FAILED);
                return;
        }
        r = domain_process_reconnect(d);
        if (r < 0) {
                log_domain_def(LOG_ERR, r, d->live,
                                    "Cannot reconnect to domain %s (pid %d): %m; stopping it.", d->live->name,
                                    (int) d->pid);
                (void) kill(d->pid, SIGKILL);
                domain_process_gone(d, DOMAIN_SHUTOFF_FAILED, DOMAIN_EVENT_STOPPED_FAILED);
                return;
        }
        log_domain_def(LOG_INFO, 0, d->live, "Domain %s (pid %d) reconnected.",
                            d->live->name, (int) d->pid);
}

int domain_status_load_all(Manager *m) {
        _cleanup_(closedirp) DIR *dir = opendir(m->qemu_runtime_dir);
        _cleanup_free_ Domain **loaded = NULL;
        size_t n = 0;

        if (!dir)
                return errno == ENOENT ? 0 : log_error_errno(errno, "Failed to open %s: %m", m->qemu_runtime_dir);
        for (struct dirent *de; (de = readdir(dir));) {
                size_t l = strlen(de->d_name);
                Domain **a, *d;

                if (de->d_name[0] == '.' || l <= 11 || !streq(de->d_name + l - 11, ".status.xml"))
                        continue;
                if (load_status_file(m, de->d_name, &d) < 0)
                        continue;
                a = reallocarray(loaded, n + 1, sizeof *a);
                if (!a)
                        return log_oom();
                loaded = a;
                loaded[n++] = d;
        }

        /* Every floor any status names is known now: drop the ones the networks do not have,
         * before a dead guest's cleanup releases class ids on their word. */
        qos_validate_floors(m);
        for (size_t i = 0; i < n; i++)
                resume_domain(m, loaded[i]);
        return 0;
}
