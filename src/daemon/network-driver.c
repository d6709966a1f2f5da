/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <arpa/inet.h>
#include <dirent.h>
#include <sys/stat.h>

#include "connect.h"
#include "errors.h"
#include "fileio.h"
#include "i18n.h"
#include "ifname.h"
#include "list.h"
#include "log.h"
#include "netdev.h"
#include "network-driver.h"
#include "network.h"
#include "network1.h"
#include "protocol.h"
#include "qos-driver.h"

#define HELPER_TIMEOUT_MS (30 * 1000)
#define CONFIG_FILE_MAX (1024 * 1024)

Network *network_free(Network *n) {
        if (!n)
                return NULL;
        network_def_free(n->config);
        network_def_free(n->live);
        free(n->path);
        return mfree(n);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Network *, network_free);

Network *manager_find_network_by_name(Manager *m, const char *name) {
        for (Network *n = m->networks; n; n = n->next)
                if (streq(network_current_def(n)->name, name))
                        return n;
        return NULL;
}

Network *manager_find_network_by_uuid(Manager *m, const Uuid *uuid) {
        for (Network *n = m->networks; n; n = n->next)
                if (uuid_equal(&network_current_def(n)->uuid, uuid))
                        return n;
        return NULL;
}

Network *manager_find_network_by_path(Manager *m, const char *path) {
        for (Network *n = m->networks; n; n = n->next)
                if (streq(n->path, path))
                        return n;
        return NULL;
}

static int network_new(Manager *m, const Uuid *uuid, Network **ret) {
        _cleanup_(network_freep) Network *n = calloc(1, sizeof *n);

        if (!n)
                return -ENOMEM;
        n->manager = m;
        n->path = network_object_path(uuid);
        if (!n->path)
                return -ENOMEM;
        *ret = TAKE_PTR(n);
        return 0;
}

/* A deep copy through the canonical format: the one serialisation we trust anyway. */
static int network_def_copy(const NetworkDef *def, NetworkDef **ret) {
        _cleanup_free_ char *xml = network_def_format(def), *err = NULL;
        int r;

        if (!xml)
                return -ENOMEM;
        r = network_def_parse(xml, ret, &err);
        if (r < 0)
                return log_error_errno(r, "Failed to copy network definition: %s", strna(err));
        return 0;
}

static char *config_path(Manager *m, const char *name) {
        return path_join3(m->network_dir, name, ".xml");
}
static char *status_path(Manager *m, const char *name) {
        return path_join3(m->network_dir, name, ".status.xml");
}
static char *autostart_path(Manager *m, const char *name) {
        return path_join3(m->autostart_dir, name, ".xml");
}

static int save_config(Manager *m, const NetworkDef *def) {
        _cleanup_free_ char *path = config_path(m, def->name), *xml = network_def_format(def);

        if (!path || !xml)
                return -ENOMEM;
        return write_file_atomic(path, xml, strlen(xml), 0600);
}

int network_save_status(Network *n) {
        Manager *m = n->manager;
        _cleanup_free_ NetworkStatus *st = new0(NetworkStatus, 1); /* 8 KiB of class ids: not on the stack */
        _cleanup_free_ char *path = NULL, *xml = NULL;

        if (!st)
                return -ENOMEM;
        *st = (NetworkStatus) {
                .def = n->live,
                .bridge_created = n->bridge_created,
                .class_ids = n->class_ids,
                .floor_sum = n->floor_sum,
        };
        path = status_path(m, n->live->name);
        xml = network_status_format(st);
        if (!path || !xml)
                return -ENOMEM;
        return write_file_atomic(path, xml, strlen(xml), 0600);
}

static int remove_status(Manager *m, const char *name) {
        _cleanup_free_ char *path = status_path(m, name);

        if (!path)
                return -ENOMEM;
        return unlink_durable(path);
}

static bool bridge_name_taken(Manager *m, const char *name, const Network *except) {
        for (Network *n = m->networks; n; n = n->next) {
                if (n == except)
                        continue;
                if ((n->config && streq_ptr(n->config->bridge, name)) ||
                    (n->live && streq_ptr(n->live->bridge, name)))
                        return true;
        }
        return false;
}

/* libvirt picks the first virbrN that neither another network nor the kernel uses. */
static int pick_bridge_name(Manager *m, NetworkDef *def, const Network *except) {
        for (unsigned i = 0; i < 4096; i++) {
                char name[IFNAMSIZ];

                snprintf(name, sizeof name, VIRTBUS_BRIDGE_PREFIX "%u", i);
                if (bridge_name_taken(m, name, except) || netdev_link_exists(name))
                        continue;
                def->bridge = strdup(name);
                return def->bridge ? 0 : -ENOMEM;
        }
        return -ENOSPC;
}

/* Turn nh_call()'s outcome into an org.libvirt.Error naming what we tried. */
static int helper_result(Manager *m, int r, const NhReply *reply, sd_bus_error *error, const char *what) {
        if (r < 0)
                return libvirt_error_setf(error, r, _("operation failed: %s: cannot reach virtbus-nethelper at %s: %s"),
                                          what, m->helper_socket, strerror(-r));
        if (reply->error != 0)
                return libvirt_error_setf(error, reply->error, _("operation failed: %s: %s"), what,
                                          reply->message[0] ? reply->message : strerror(reply->error));
        return 0;
}

static int helper_call(Manager *m, const NhRequest *req, NhReply *reply, sd_bus_error *error,
                       const char *what) {
        return helper_result(m, nh_call(m->helper_socket, req, HELPER_TIMEOUT_MS, reply, NULL, 0, NULL), reply,
                             error, what);
}

static int helper_create_bridge(Manager *m, const NetworkDef *def, sd_bus_error *error) {
        NhRequest req = { .verb = NH_VERB_BRIDGE_CREATE };
        NhBridgeCreate *b = &req.bridge_create;
        _cleanup_free_ char *what = NULL;
        NhReply reply;

        snprintf(b->ifname, sizeof b->ifname, "%s", def->bridge);
        b->has_mac = def->has_mac;
        memcpy(b->mac, def->mac.bytes, 6);
        b->mtu = def->mtu;
        b->stp = def->stp != 0; /* libvirt's default is on */
        b->forward_delay = def->delay > 0 ? def->delay : 0;
        for (size_t i = 0; i < def->n_ips && i < NH_ADDRESSES_MAX; i++) {
                NhAddress *a = &b->addresses[b->n_addresses++];

                a->family = def->ips[i].family;
                a->prefixlen = def->ips[i].prefix;
                memcpy(a->address, &def->ips[i].address,
                       def->ips[i].family == AF_INET ? sizeof(struct in_addr) : sizeof(struct in6_addr));
        }

        if (asprintf(&what, "cannot create bridge '%s' for network '%s'", def->bridge, def->name) < 0)
                return -ENOMEM;
        return helper_call(m, &req, &reply, error, what);
}

static int helper_delete_bridge(Manager *m, const char *bridge, sd_bus_error *error) {
        NhRequest req = { .verb = NH_VERB_LINK_DELETE, .link_delete.kind = NH_LINK_BRIDGE };
        _cleanup_free_ char *what = NULL;
        NhReply reply;
        int r;

        snprintf(req.link_delete.ifname, sizeof req.link_delete.ifname, "%s", bridge);
        if (asprintf(&what, "cannot delete bridge '%s'", bridge) < 0)
                return -ENOMEM;
        r = nh_call(m->helper_socket, &req, HELPER_TIMEOUT_MS, &reply, NULL, 0, NULL);
        if (r >= 0 && reply.error == ENODEV)
                return 0; /* already gone: the goal is reached */
        return helper_result(m, r, &reply, error, what);
}

int network_start(Network *n, sd_bus_error *error) {
        Manager *m = n->manager;
        _cleanup_(network_def_freep) NetworkDef *live = NULL;
        const NetworkDef *def;
        int r;

        if (network_is_active(n))
                return libvirt_error_setf(error, EBUSY, _("Requested operation is not valid: network '%s' is already active"),
                                          network_current_def(n)->name);
        def = n->config;

        r = network_def_copy(def, &live);
        if (r < 0)
                return libvirt_error_setf(error, r, _("operation failed: cannot copy definition of network '%s'"), def->name);

        if (live->forward == NETWORK_FORWARD_BRIDGE) {
                NetdevLink link;

                r = netdev_link_lookup(live->bridge, &link);
                if (r < 0 || !streq(link.kind, "bridge"))
                        return libvirt_error_setf(error, ENODEV,
                                                  _("operation failed: network '%s' uses forward mode 'bridge' but bridge '%s' does not exist"),
                                                  live->name, live->bridge);
                n->live = TAKE_PTR(live);
                n->bridge_created = false;
                class_id_bitmap_init(&n->class_ids);
                n->floor_sum = 0;
                r = network_save_status(n);
                if (r < 0) {
                        n->live = network_def_free(n->live);
                        return libvirt_error_setf(error, r, _("operation failed: cannot write status of network '%s': %s"),
                                                  def->name, strerror(-r));
                }
        } else {
                if (netdev_link_exists(live->bridge))
                        return libvirt_error_setf(error, EEXIST,
                                                  _("operation failed: bridge '%s' of network '%s' already exists on this host"),
                                                  live->bridge, live->name);

                /* Status first: a crash between the two leaves a status file the next start-up
                 * reconciles with the kernel, never a bridge nobody knows about. */
                n->live = TAKE_PTR(live);
                n->bridge_created = true;
                class_id_bitmap_init(&n->class_ids);
                n->floor_sum = 0;
                r = network_save_status(n);
                if (r < 0) {
                        n->live = network_def_free(n->live);
                        return libvirt_error_setf(error, r, _("operation failed: cannot write status of network '%s': %s"),
                                                  def->name, strerror(-r));
                }
                r = helper_create_bridge(m, n->live, error);
                if (r < 0) {
                        (void) remove_status(m, n->live->name);
                        n->live = network_def_free(n->live);
                        return r;
                }
        }

        /* QoS tears down what it set up when it fails; a bridge we made goes too. */
        r = qos_network_start(n, error);
        if (r < 0) {
                if (n->bridge_created)
                        (void) helper_delete_bridge(m, n->live->bridge, NULL);
                (void) remove_status(m, n->live->name);
                n->live = network_def_free(n->live);
                n->bridge_created = false;
                return r;
        }

        log_network_def(LOG_INFO, 0, n->live, "Network %s started on bridge %s.", n->live->name, n->live->bridge);
        network1_emit_changed(n);
        (void) connect_emit_network_event(m, n->path, NETWORK_EVENT_STARTED);
        return 0;
}

static void network_forget(Network *n) {
        LIST_REMOVE(n->manager->networks, n);
        network_free(n);
}

int network_stop(Network *n, sd_bus_error *error) {
        Manager *m = n->manager;
        _cleanup_(network_def_freep) NetworkDef *live = NULL; /* for the log, once n forgot it */
        _cleanup_free_ char *path = NULL;
        int r;

        if (!network_is_active(n))
                return libvirt_error_setf(error, EINVAL, _("Requested operation is not valid: network '%s' is not active"),
                                          network_current_def(n)->name);

        path = strdup(n->path);
        if (!path)
                return -ENOMEM;

        if (n->bridge_created) {
                r = helper_delete_bridge(m, n->live->bridge, error);
                if (r < 0)
                        return r;
        } else
                qos_network_teardown(n); /* someone else's bridge: only our qdiscs go */
        r = remove_status(m, n->live->name);
        if (r < 0)
                log_network_def(LOG_WARNING, r, n->live, "Failed to remove status file of network %s: %m", n->live->name);
        /* the floors went with the bridge's qdiscs: the domains' records go after the books */
        qos_network_forget_floors(n);

        live = TAKE_PTR(n->live);
        n->bridge_created = false;
        if (network_is_persistent(n))
                network1_emit_changed(n);
        else
                network_forget(n); /* transient: gone with its last run (no UNDEFINED event, as libvirt) */

        log_network_def(LOG_INFO, 0, live, "Network %s stopped.", live->name);
        (void) connect_emit_network_event(m, path, NETWORK_EVENT_STOPPED);
        return 0;
}

/* Checks shared by define and create: name/UUID clashes with other networks, bridge choice. */
static int check_new_definition(Manager *m, NetworkDef *def, Network *existing, sd_bus_error *error) {
        Network *other;
        char uuid[UUID_STR_MAX];

        other = manager_find_network_by_uuid(m, &def->uuid);
        if (other && other != existing)
                return libvirt_error_setf(error, EEXIST, _("operation failed: network '%s' already exists with uuid %s"),
                                          network_current_def(other)->name, uuid_format(&def->uuid, uuid));
        if (existing && !uuid_equal(&network_current_def(existing)->uuid, &def->uuid))
                return libvirt_error_setf(error, EEXIST, _("operation failed: network '%s' already exists with uuid %s"),
                                          def->name, uuid_format(&network_current_def(existing)->uuid, uuid));

        if (!def->bridge) {
                /* Keep the bridge an existing network already has, so a redefine does not rename it. */
                const NetworkDef *old = existing ? network_current_def(existing) : NULL;

                if (old && old->bridge && old->forward == def->forward) {
                        def->bridge = strdup(old->bridge);
                        if (!def->bridge)
                                return -ENOMEM;
                } else if (pick_bridge_name(m, def, existing) < 0)
                        return libvirt_error_setf(error, ENOSPC, _("operation failed: no free bridge name for network '%s'"),
                                                  def->name);
        } else if (bridge_name_taken(m, def->bridge, existing))
                return libvirt_error_setf(error, EEXIST, _("operation failed: bridge name '%s' is already in use by another network"),
                                          def->bridge);
        return 0;
}

static int parse_user_xml(Manager *m, const char *xml, NetworkDef **ret, sd_bus_error *error) {
        _cleanup_(network_def_freep) NetworkDef *def = NULL;
        _cleanup_free_ char *err = NULL;
        Network *existing;
        int r;

        r = network_def_parse(xml, &def, &err);
        if (r < 0)
                return libvirt_error_setf(error, r, "%s", err ?: _("XML error: invalid network definition"));

        /* Redefining a network without naming its UUID keeps the UUID it has. */
        existing = manager_find_network_by_name(m, def->name);
        if (existing && !def->has_uuid) {
                def->uuid = network_current_def(existing)->uuid;
                def->has_uuid = true;
        }
        r = network_def_fill_defaults(def);
        if (r < 0)
                return libvirt_error_setf(error, r, _("operation failed: cannot generate defaults: %s"), strerror(-r));
        *ret = TAKE_PTR(def);
        return 0;
}

int network_define_xml(Manager *m, const char *xml, Network **ret, sd_bus_error *error) {
        _cleanup_(network_def_freep) NetworkDef *def = NULL;
        Network *n;
        int r;

        r = parse_user_xml(m, xml, &def, error);
        if (r < 0)
                return r;

        n = manager_find_network_by_name(m, def->name);
        r = check_new_definition(m, def, n, error);
        if (r < 0)
                return r;

        r = save_config(m, def);
        if (r < 0)
                return libvirt_error_setf(error, r, _("operation failed: cannot save configuration of network '%s': %s"),
                                          def->name, strerror(-r));

        if (!n) {
                r = network_new(m, &def->uuid, &n);
                if (r < 0) {
                        _cleanup_free_ char *p = config_path(m, def->name);
                        if (p)
                                (void) unlink_durable(p);
                        return r;
                }
                LIST_PREPEND(m->networks, n);
        }
        network_def_free(n->config);
        n->config = TAKE_PTR(def);

        log_network_def(LOG_INFO, 0, n->config, "Network %s defined.", n->config->name);
        (void) connect_emit_network_event(m, n->path, NETWORK_EVENT_DEFINED);
        *ret = n;
        return 0;
}

int network_create_xml(Manager *m, const char *xml, Network **ret, sd_bus_error *error) {
        _cleanup_(network_def_freep) NetworkDef *def = NULL;
        Network *n;
        int r;

        r = parse_user_xml(m, xml, &def, error);
        if (r < 0)
                return r;
        if (manager_find_network_by_name(m, def->name))
                return libvirt_error_setf(error, EEXIST, _("operation failed: network '%s' already exists"), def->name);
        r = check_new_definition(m, def, NULL, error);
        if (r < 0)
                return r;

        r = network_new(m, &def->uuid, &n);
        if (r < 0)
                return r;
        /* A transient network starts from its definition and keeps only the live copy. */
        n->config = TAKE_PTR(def);
        LIST_PREPEND(m->networks, n);
        r = network_start(n, error);
        n->config = network_def_free(n->config);
        if (r < 0) {
                network_forget(n);
                return r;
        }
        *ret = n;
        return 0;
}

int network_undefine(Network *n, sd_bus_error *error) {
        Manager *m = n->manager;
        _cleanup_free_ char *cfg = NULL, *link = NULL, *path = NULL;
        const char *name;
        int r;

        if (!network_is_persistent(n))
                return libvirt_error_setf(error, EINVAL, _("Requested operation is not valid: cannot undefine transient network '%s'"),
                                          network_current_def(n)->name);
        name = n->config->name;
        cfg = config_path(m, name);
        link = autostart_path(m, name);
        path = strdup(n->path);
        if (!cfg || !link || !path)
                return -ENOMEM;

        r = unlink_durable(link);
        if (r >= 0)
                r = unlink_durable(cfg);
        if (r < 0)
                return libvirt_error_setf(error, r, _("operation failed: cannot remove configuration of network '%s': %s"),
                                          name, strerror(-r));
        log_network(LOG_INFO, 0, name, "Network %s undefined.", name);

        n->autostart = false;
        n->config = network_def_free(n->config);
        if (!network_is_active(n))
                network_forget(n);
        /* An active network stays, now transient, until it is destroyed (libvirt does the same). */
        (void) connect_emit_network_event(m, path, NETWORK_EVENT_UNDEFINED);
        return 0;
}

int network_set_autostart(Network *n, bool autostart, sd_bus_error *error) {
        Manager *m = n->manager;
        int r;

        if (!network_is_persistent(n))
                return libvirt_error_setf(error, EINVAL,
                                          _("Requested operation is not valid: cannot set autostart for transient network '%s'"),
                                          network_current_def(n)->name);
        if (n->autostart == autostart)
                return 0;

        r = autostart_link_set(m->autostart_dir, n->config->name, autostart);
        if (r < 0)
                return libvirt_error_setf(error, r, _("operation failed: cannot change autostart of network '%s': %s"),
                                          n->config->name, strerror(-r));
        n->autostart = autostart;
        return 0;
}

int network_set_bandwidth(Network *n, const Bandwidth *live, const Bandwidth *config, sd_bus_error *error) {
        Manager *m = n->manager;
        _cleanup_(network_def_freep) NetworkDef *def = NULL;
        int r;

        /* the persistent definition first: it can still be left as it was when the live change fails */
        if (config) {
                r = network_def_copy(n->config, &def);
                if (r < 0)
                        return libvirt_error_setf(error, r, _("operation failed: cannot copy definition of network '%s'"),
                                                  n->config->name);
                def->bandwidth = *config;
                r = save_config(m, def);
                if (r < 0)
                        return libvirt_error_setf(error, r,
                                                  _("operation failed: cannot save configuration of network '%s': %s"),
                                                  def->name, strerror(-r));
        }
        if (live) {
                r = qos_network_update(n, live, error);
                if (r >= 0) {
                        r = network_save_status(n);
                        if (r < 0)
                                log_network_def(LOG_WARNING, r, n->live, "Cannot write the status of network %s: %m",
                                            n->live->name);
                        r = 0;
                }
                if (r < 0) {
                        if (def)
                                (void) save_config(m, n->config);
                        return r;
                }
        }
        if (def) {
                network_def_free(n->config);
                n->config = TAKE_PTR(def);
        }
        log_network_def(LOG_INFO, 0, network_current_def(n), "Network %s: bandwidth changed.", network_current_def(n)->name);
        network1_emit_changed(n);
        return 0;
}

static int load_config_file(Manager *m, const char *dir, const char *filename) {
        _cleanup_free_ char *path = path_join3(dir, filename, NULL), *xml = NULL, *err = NULL, *link = NULL;
        _cleanup_(network_def_freep) NetworkDef *def = NULL;
        size_t l = strlen(filename);
        Network *n;
        int r;

        if (!path)
                return -ENOMEM;
        r = read_full_file(path, CONFIG_FILE_MAX, &xml, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s, ignoring: %m", path);
        r = network_def_parse(xml, &def, &err);
        if (r < 0)
                return log_error_errno(r, "Failed to load %s, ignoring: %s", path, strna(err));
        if (strlen(def->name) != l - 4 || strncmp(def->name, filename, l - 4) != 0)
                return log_error_errno(EINVAL, "Failed to load %s, ignoring: it defines network '%s', not '%.*s'",
                                       path, def->name, (int) (l - 4), filename);
        if (!def->has_uuid || (!def->bridge && def->forward != NETWORK_FORWARD_BRIDGE))
                return log_error_errno(EINVAL, "Failed to load %s, ignoring: uuid or bridge name missing", path);
        if (manager_find_network_by_name(m, def->name) || manager_find_network_by_uuid(m, &def->uuid))
                return log_error_errno(EEXIST, "Failed to load %s, ignoring: network or uuid defined twice", path);

        r = network_new(m, &def->uuid, &n);
        if (r < 0)
                return r;
        link = autostart_path(m, def->name);
        n->autostart = link && access(link, F_OK) == 0;
        n->config = TAKE_PTR(def);
        LIST_PREPEND(m->networks, n);
        return 0;
}

/* A status file says the network was running when we last saw it. Believe it only if the
 * kernel agrees: the bridge must exist (and be ours, if we created it). */
static int load_status_file(Manager *m, const char *dir, const char *filename) {
        _cleanup_free_ char *path = path_join3(dir, filename, NULL), *xml = NULL, *err = NULL;
        _cleanup_(network_status_freep) NetworkStatus *st = NULL;
        NetdevLink link;
        Network *n;
        bool alive;
        int r;

        if (!path)
                return -ENOMEM;
        r = read_full_file(path, CONFIG_FILE_MAX, &xml, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to read %s, ignoring: %m", path);
        r = network_status_parse(xml, &st, &err);
        if (r < 0)
                return log_error_errno(r, "Failed to load status %s, ignoring (file kept for inspection): %s", path,
                                       strna(err));
        if (!st->def->bridge || !st->def->has_uuid)
                return log_error_errno(EINVAL, "Failed to load status %s, ignoring: no bridge or uuid", path);

        alive = netdev_link_lookup(st->def->bridge, &link) >= 0 && streq(link.kind, "bridge") &&
                (!st->bridge_created || streq(link.alias, NETDEV_VIRTBUS_ALIAS));
        if (!alive) {
                log_network_def(LOG_NOTICE, 0, st->def, "Network %s was active but its bridge %s is gone; marking it inactive.",
                            st->def->name, st->def->bridge);
                return unlink_durable(path);
        }

        n = manager_find_network_by_name(m, st->def->name);
        if (n && !uuid_equal(&n->config->uuid, &st->def->uuid))
                return log_error_errno(EEXIST, "Status %s names network %s with another uuid than its config, ignoring.",
                                       path, st->def->name);
        if (!n) {
                r = network_new(m, &st->def->uuid, &n);
                if (r < 0)
                        return r;
                LIST_PREPEND(m->networks, n); /* transient */
        }
        n->live = TAKE_PTR(st->def);
        n->bridge_created = st->bridge_created;
        n->class_ids = st->class_ids;
        n->floor_sum = st->floor_sum;
        log_network_def(LOG_INFO, 0, n->live, "Network %s is active on bridge %s.", n->live->name, n->live->bridge);
        return 0;
}

static int for_each_file(Manager *m, const char *dir, bool status, int (*f)(Manager *, const char *, const char *)) {
        _cleanup_(closedirp) DIR *d = opendir(dir);

        if (!d)
                return errno == ENOENT ? 0 : log_error_errno(errno, "Failed to open %s: %m", dir);
        for (struct dirent *de; (de = readdir(d));) {
                size_t l = strlen(de->d_name);
                bool is_status = l > 11 && streq(de->d_name + l - 11, ".status.xml");

                if (de->d_name[0] == '.' || l <= 4 || !streq(de->d_name + l - 4, ".xml") || is_status != status)
                        continue;
                (void) f(m, dir, de->d_name);
        }
        return 0;
}

int network_driver_load(Manager *m) {
        int r;

        r = mkdir_p(m->network_dir, 0700);
        if (r < 0)
                return log_error_errno(r, "Failed to create %s: %m", m->network_dir);
        r = for_each_file(m, m->network_dir, false, load_config_file);
        if (r < 0)
                return r;
        return for_each_file(m, m->network_dir, true, load_status_file);
}

void network_driver_autostart(Manager *m) {
        for (Network *n = m->networks; n; n = n->next) {
                _cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;

                if (!n->autostart || network_is_active(n))
                        continue;
                if (network_start(n, &error) < 0)
                        log_network_def(LOG_ERR, 0, n->config, "Failed to autostart network %s: %s", n->config->name,
                                    error.message);
        }
}
