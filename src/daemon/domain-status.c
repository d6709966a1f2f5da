/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <libxml/xmlsave.h>
#include <signal.h>

#include "domain-driver.h"
#include "domain-net.h"
#include "domain-process.h"
#include "domain-status.h"
#include "fileio.h"
#include "log.h"
#include "xml-util.h"

#define STATUS_FILE_MAX (2 * 1024 * 1024)

DomainStatus *domain_status_free(DomainStatus *st) {
        if (!st)
                return NULL;
        domain_def_free(st->live);
        free(st->qmp_socket);
        return mfree(st);
}

char *domain_status_format(const DomainStatus *st) {
        _cleanup_free_ char *dom = domain_def_format(st->live, 0);
        StrBuf b = {};

        if (!dom)
                return NULL;
        strbuf_printf(&b, "<domstatus state='%d' reason='%d' pid='%d' qmp='", st->state, st->reason, (int) st->pid);
        strbuf_append_escaped(&b, st->qmp_socket);
        strbuf_printf(&b, "'>\n%s</domstatus>\n", dom);
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
        child = xml_element(root->children);
        if (!xml_name_is(child, "domain") || xml_element(child->next)) {
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

static int load_status_file(Manager *m, const char *filename) {
        _cleanup_free_ char *path = path_join3(m->qemu_runtime_dir, filename, NULL), *xml = NULL, *err = NULL;
        _cleanup_(domain_status_freep) DomainStatus *st = NULL;
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

        r = domain_adopt(m, st->live, &d);
        if (r < 0)
                return log_error_errno(r, "Status %s names domain %s with another uuid than its config, ignoring.",
                                       path, st->live->name);
        st->live = NULL; /* owned by d now */
        d->state = st->state;
        d->reason = st->reason;
        d->pid = st->pid;
        d->qmp_socket = TAKE_PTR(st->qmp_socket);
        if (d->live->id >= m->next_domain_id)
                m->next_domain_id = d->live->id + 1;

        if (!qemu_process_matches(d->pid, d->qmp_socket)) {
                log_object_internal(LOG_NOTICE, 0, "VIRTBUS_DOMAIN", d->live->name,
                                    "Domain %s died while virtbusd was away; cleaning up.", d->live->name);
                domain_process_gone(d, DOMAIN_SHUTOFF_UNKNOWN, DOMAIN_EVENT_STOPPED_FAILED);
                return 0;
        }
        r = domain_process_reconnect(d);
        if (r < 0) {
                log_object_internal(LOG_ERR, r, "VIRTBUS_DOMAIN", d->live->name,
                                    "Cannot reconnect to domain %s (pid %d): %m; stopping it.", d->live->name,
                                    (int) d->pid);
                (void) kill(d->pid, SIGKILL);
                domain_process_gone(d, DOMAIN_SHUTOFF_FAILED, DOMAIN_EVENT_STOPPED_FAILED);
                return 0;
        }
        log_object_internal(LOG_INFO, 0, "VIRTBUS_DOMAIN", d->live->name, "Domain %s (pid %d) reconnected.",
                            d->live->name, (int) d->pid);
        return 0;
}

int domain_status_load_all(Manager *m) {
        _cleanup_(closedirp) DIR *dir = opendir(m->qemu_runtime_dir);

        if (!dir)
                return errno == ENOENT ? 0 : log_error_errno(errno, "Failed to open %s: %m", m->qemu_runtime_dir);
        for (struct dirent *de; (de = readdir(dir));) {
                size_t l = strlen(de->d_name);

                if (de->d_name[0] == '.' || l <= 11 || !streq(de->d_name + l - 11, ".status.xml"))
                        continue;
                (void) load_status_file(m, de->d_name);
        }
        return 0;
}
