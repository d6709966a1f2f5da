/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dirent.h>
#include <sys/stat.h>

#include "connect.h"
#include "domain-driver.h"
#include "host-shutdown.h"
#include "domain-net.h"
#include "domain-process.h"
#include "domain-status.h"
#include "domain.h"
#include "errors.h"
#include "fileio.h"
#include "i18n.h"
#include "list.h"
#include "log.h"
#include "qos-driver.h"

#define CONFIG_FILE_MAX (1024 * 1024)

Domain *domain_free(Domain *d) {
        if (!d)
                return NULL;
        domain_process_release(d);
        d->start_call = sd_bus_message_unref(d->start_call);
        for (size_t i = 0; i < d->n_waiters; i++)
                sd_bus_message_unref(d->waiters[i]);
        free(d->waiters);
        free(d->qmp_socket);
        domain_def_free(d->config);
        domain_def_free(d->live);
        free(d->floors);
        free(d->path);
        return mfree(d);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Domain *, domain_free);

Domain *manager_find_domain_by_name(Manager *m, const char *name) {
        for (Domain *d = m->domains; d; d = d->next)
                if (streq(domain_current_def(d)->name, name))
                        return d;
        return NULL;
}

Domain *manager_find_domain_by_uuid(Manager *m, const Uuid *uuid) {
        for (Domain *d = m->domains; d; d = d->next)
                if (uuid_equal(&domain_current_def(d)->uuid, uuid))
                        return d;
        return NULL;
}

Domain *manager_find_domain_by_id(Manager *m, int id) {
        for (Domain *d = m->domains; d; d = d->next)
                if (d->live && d->live->id == id)
                        return d;
        return NULL;
}

Domain *manager_find_domain_by_path(Manager *m, const char *path) {
        for (Domain *d = m->domains; d; d = d->next)
                if (streq(d->path, path))
                        return d;
        return NULL;
}

size_t manager_count_active_domains(Manager *m) {
        size_t n = 0;

        for (Domain *d = m->domains; d; d = d->next)
                if (domain_is_active(d))
                        n++;
        return n;
}

size_t manager_count_running_guests(Manager *m) {
        size_t n = 0;

        for (Domain *d = m->domains; d; d = d->next)
                if (domain_is_active(d) && d->pid > 0)
                        n++;
        return n;
}

static int domain_new(Manager *m, const Uuid *uuid, Domain **ret) {
        _cleanup_(domain_freep) Domain *d = calloc(1, sizeof *d);

        if (!d)
                return -ENOMEM;
        d->manager = m;
        d->pidfd = -EBADF;
        d->state = DOMAIN_STATE_SHUTOFF;
        d->reason = DOMAIN_SHUTOFF_UNKNOWN;
        d->path = domain_object_path(uuid);
        if (!d->path)
                return -ENOMEM;
        *ret = TAKE_PTR(d);
        return 0;
}

static void domain_forget(Domain *d) {
        LIST_REMOVE(d->manager->domains, d);
        domain_free(d);
}

void domain_set_state(Domain *d, DomainState state, int reason) {
        d->state = state;
        d->reason = reason;
}

int domain_emit_event(Domain *d, int event, int detail) {
        return connect_emit_domain_event(d->manager, d->path, event, detail);
}

static char *config_path(Manager *m, const char *name) {
        return path_join3(m->domain_dir, name, ".xml");
}
static char *autostart_path(Manager *m, const char *name) {
        return path_join3(m->domain_autostart_dir, name, ".xml");
}

static int save_config(Manager *m, const DomainDef *def) {
        _cleanup_free_ char *path = config_path(m, def->name), *xml = domain_def_format(def, DOMAIN_FORMAT_INACTIVE);
        int r;

        if (!path || !xml)
                return -ENOMEM;
        r = mkdir_p(m->domain_dir, 0700);
        if (r < 0)
                return r;
        return write_file_atomic(path, xml, strlen(xml), 0600);
}

/* Parse user XML, keep the UUID of a same-named domain when none is given, fill defaults. */
static int parse_user_xml(Manager *m, const char *xml, DomainDef **ret, sd_bus_error *error) {
        _cleanup_(domain_def_freep) DomainDef *def = NULL;
        _cleanup_free_ char *err = NULL, *unknown = NULL;
        Domain *existing;
        int r;

        r = domain_def_parse(xml, 0, &def, &err);
        if (r < 0)
                return libvirt_error_setf(error, r, "%s", err ?: _("XML error: invalid domain definition"));

        existing = manager_find_domain_by_name(m, def->name);
        if (existing && !def->has_uuid) {
                def->uuid = domain_current_def(existing)->uuid;
                def->has_uuid = true;
        }
        r = domain_def_fill_defaults(def);
        if (r < 0)
                return libvirt_error_setf(error, r, _("operation failed: cannot generate defaults: %s"), strerror(-r));

        unknown = domain_def_unknown_summary(def);
        if (!isempty(unknown))
                log_domain_def(LOG_NOTICE, 0, def,
                                    "Domain %s: keeping elements virtbus does not interpret: %s", def->name, unknown);
        *ret = TAKE_PTR(def);
        return 0;
}

static int check_clashes(Manager *m, const DomainDef *def, Domain *existing, sd_bus_error *error) {
        char uuid[UUID_STR_MAX];
        Domain *other = manager_find_domain_by_uuid(m, &def->uuid);

        if (other && other != existing)
                return libvirt_error_setf(error, EEXIST, _("operation failed: domain '%s' already exists with uuid %s"),
                                          domain_current_def(other)->name, uuid_format(&def->uuid, uuid));
        if (existing && !uuid_equal(&domain_current_def(existing)->uuid, &def->uuid))
                return libvirt_error_setf(error, EEXIST, _("operation failed: domain '%s' already exists with uuid %s"),
                                          def->name, uuid_format(&domain_current_def(existing)->uuid, uuid));
        return 0;
}

int domain_define_xml(Manager *m, const char *xml, Domain **ret, sd_bus_error *error) {
        _cleanup_(domain_def_freep) DomainDef *def = NULL;
        Domain *d;
        bool is_new;
        int r;

        r = parse_user_xml(m, xml, &def, error);
        if (r < 0)
                return r;
        d = manager_find_domain_by_name(m, def->name);
        r = check_clashes(m, def, d, error);
        if (r < 0)
                return r;

        r = save_config(m, def);
        if (r < 0)
                return libvirt_error_setf(error, r, _("operation failed: cannot save configuration of domain '%s': %s"),
                                          def->name, strerror(-r));
        is_new = !d || !d->config;
        if (!d) {
                r = domain_new(m, &def->uuid, &d);
                if (r < 0)
                        return r;
                LIST_PREPEND(m->domains, d);
        }
        domain_def_free(d->config);
        d->config = TAKE_PTR(def);

        log_domain_def(LOG_INFO, 0, d->config, "Domain %s defined.", d->config->name);
        (void) domain_emit_event(d, DOMAIN_EVENT_DEFINED,
                                 is_new ? DOMAIN_EVENT_DEFINED_ADDED : DOMAIN_EVENT_DEFINED_UPDATED);
        *ret = d;
        return 0;
}

int domain_create_xml(Manager *m, const char *xml, sd_bus_message *call, sd_bus_error *error) {
        _cleanup_(domain_def_freep) DomainDef *def = NULL;
        Domain *d;
        int r;

        r = parse_user_xml(m, xml, &def, error);
        if (r < 0)
                return r;
        if (manager_find_domain_by_name(m, def->name))
                return libvirt_error_setf(error, EEXIST, _("operation failed: domain '%s' already exists"), def->name);
        r = check_clashes(m, def, NULL, error);
        if (r < 0)
                return r;

        r = domain_new(m, &def->uuid, &d);
        if (r < 0)
                return r;
        /* Transient: started from this definition, only the live copy stays. */
        d->config = TAKE_PTR(def);
        LIST_PREPEND(m->domains, d);
        r = domain_start(d, call, true, error);
        d->config = domain_def_free(d->config);
        if (r < 0) {
                domain_forget(d);
                return r;
        }
        return 1; /* answered with the object path once the guest runs */
}

int domain_start(Domain *d, sd_bus_message *call, bool reply_path, sd_bus_error *error) {
        if (domain_is_active(d))
                return libvirt_error_setf(error, EBUSY, _("Requested operation is not valid: domain '%s' is already running"),
                                          domain_current_def(d)->name);
        return domain_process_start(d, call, reply_path, error);
}

int domain_undefine(Domain *d, sd_bus_error *error) {
        Manager *m = d->manager;
        _cleanup_free_ char *cfg = NULL, *link = NULL;
        const char *name;
        int r;

        if (!domain_is_persistent(d))
                return libvirt_error_setf(error, EINVAL, _("Requested operation is not valid: cannot undefine transient domain '%s'"),
                                          domain_current_def(d)->name);
        name = d->config->name;
        cfg = config_path(m, name);
        link = autostart_path(m, name);
        if (!cfg || !link)
                return -ENOMEM;
        r = unlink_durable(link);
        if (r >= 0)
                r = unlink_durable(cfg);
        if (r < 0)
                return libvirt_error_setf(error, r, _("operation failed: cannot remove configuration of domain '%s': %s"),
                                          name, strerror(-r));
        log_domain_def(LOG_INFO, 0, d->config, "Domain %s undefined.", name);

        (void) domain_emit_event(d, DOMAIN_EVENT_UNDEFINED, DOMAIN_EVENT_UNDEFINED_REMOVED);
        d->autostart = false;
        d->config = domain_def_free(d->config);
        if (!domain_is_active(d))
                domain_forget(d); /* a running domain stays, now transient, until it stops */
        return 0;
}

int domain_set_autostart(Domain *d, bool autostart, sd_bus_error *error) {
        Manager *m = d->manager;
        int r;

        if (!domain_is_persistent(d))
                return libvirt_error_setf(error, EINVAL,
                                          _("Requested operation is not valid: cannot set autostart for transient domain '%s'"),
                                          domain_current_def(d)->name);
        if (d->autostart == autostart)
                return 0;
        r = autostart_link_set(m->domain_autostart_dir, d->config->name, autostart);
        if (r < 0)
                return libvirt_error_setf(error, r, _("operation failed: cannot change autostart of domain '%s': %s"),
                                          d->config->name, strerror(-r));
        d->autostart = autostart;
        return 0;
}

int domain_set_interface_bandwidth(Domain *d, size_t live_i, const Bandwidth *live, size_t config_i,
                                   const Bandwidth *config, sd_bus_error *error) {
        Manager *m = d->manager;
        int r;

        if (live_i != SIZE_MAX) {
                r = qos_interface_update(d, live_i, live, error);
                if (r < 0)
                        return r;
        }
        if (config_i != SIZE_MAX) {
                Bandwidth old = d->config->nets[config_i].bandwidth;

                d->config->nets[config_i].bandwidth = *config;
                r = save_config(m, d->config);
                if (r < 0) {
                        d->config->nets[config_i].bandwidth = old;
                        return libvirt_error_setf(error, r,
                                                  _("operation failed: cannot save configuration of domain '%s': %s"),
                                                  d->config->name, strerror(-r));
                }
        }
        return 0;
}

void domain_process_gone(Domain *d, int shutoff_reason, int event_detail) {
        _cleanup_free_ char *name = strdup(domain_current_def(d)->name);
        Uuid uuid = domain_current_def(d)->uuid;
        Manager *m = d->manager;

        domain_process_release(d);
        domain_net_release(d);
        (void) domain_remove_status(d);
        if (d->qmp_socket)
                (void) unlink(d->qmp_socket);

        d->live = domain_def_free(d->live);
        d->floors = mfree(d->floors);
        d->qmp_socket = mfree(d->qmp_socket);
        d->pid = 0;
        d->starting = d->stopping = d->fake_reboot = d->guest_shutdown = false;
        domain_set_state(d, DOMAIN_STATE_SHUTOFF, shutoff_reason);
        log_object_internal(LOG_INFO, 0, "VIRTBUS_DOMAIN", name, &uuid, "Domain %s stopped.", strna(name));
        if (d->announced)
                (void) domain_emit_event(d, DOMAIN_EVENT_STOPPED, event_detail);
        d->announced = false;
        domain_answer_waiters(d);
        if (!domain_is_persistent(d))
                domain_forget(d); /* d is gone */
        host_shutdown_domain_gone(m);
}

static int load_config_file(Manager *m, const char *dir, const char *filename) {
        _cleanup_free_ char *path = path_join3(dir, filename, NULL), *xml = NULL, *err = NULL, *link = NULL;
        _cleanup_(domain_def_freep) DomainDef *def = NULL;
        size_t l = strlen(filename);
        Domain *d;
        int r;

        if (!path)
                return -ENOMEM;
        r = read_full_file(path, CONFIG_FILE_MAX, &xml, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s, ignoring: %m", path);
        r = domain_def_parse(xml, 0, &def, &err);
        if (r < 0)
                return log_error_errno(r, "Failed to load %s, ignoring: %s", path, strna(err));
        if (strlen(def->name) != l - 4 || strncmp(def->name, filename, l - 4) != 0)
                return log_error_errno(EINVAL, "Failed to load %s, ignoring: it defines domain '%s'", path, def->name);
        if (!def->has_uuid)
                return log_error_errno(EINVAL, "Failed to load %s, ignoring: no uuid", path);
        if (manager_find_domain_by_name(m, def->name) || manager_find_domain_by_uuid(m, &def->uuid))
                return log_error_errno(EEXIST, "Failed to load %s, ignoring: domain or uuid defined twice", path);
        r = domain_def_fill_defaults(def); /* MACs of hand-written files */
        if (r < 0)
                return r;
        r = domain_new(m, &def->uuid, &d);
        if (r < 0)
                return r;
        link = autostart_path(m, def->name);
        d->autostart = link && access(link, F_OK) == 0;
        d->config = TAKE_PTR(def);
        LIST_PREPEND(m->domains, d);
        return 0;
}

int domain_driver_load(Manager *m) {
        _cleanup_(closedirp) DIR *dir = NULL;
        int r;

        r = mkdir_p(m->domain_dir, 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", m->domain_dir);
        dir = opendir(m->domain_dir);
        if (!dir)
                return log_error_errno(errno, "Failed to open %s: %m", m->domain_dir);
        for (struct dirent *de; (de = readdir(dir));) {
                size_t l = strlen(de->d_name);

                if (de->d_name[0] == '.' || l <= 4 || !streq(de->d_name + l - 4, ".xml"))
                        continue;
                (void) load_config_file(m, m->domain_dir, de->d_name);
        }

        /* Running guests outlive the daemon: find them again. */
        return domain_status_load_all(m);
}

void domain_driver_autostart(Manager *m) {
        for (Domain *d = m->domains; d; d = d->next) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                if (!d->autostart || domain_is_active(d))
                        continue;
                if (domain_start(d, NULL, false, &error) < 0)
                        log_domain_def(LOG_ERR, 0, d->config,
                                            "Failed to autostart domain %s: %s", d->config->name, error.message);
        }
}

int domain_adopt(Manager *m, DomainDef *live, Domain **ret) {
        Domain *d = manager_find_domain_by_name(m, live->name);
        int r;

        if (d && !uuid_equal(&d->config->uuid, &live->uuid))
                return -EEXIST;
        if (!d) {
                r = domain_new(m, &live->uuid, &d);
                if (r < 0)
                        return r;
                LIST_PREPEND(m->domains, d); /* transient */
        }
        d->live = live;
        *ret = d;
        return 0;
}
