/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdarg.h>

#include "conf-util.h"
#include "i18n.h"
#include "qemu-command.h"
#include "xml-util.h"

/* How the pieces fit the daemon:
 *   - Every file descriptor on the command line (tap, macvtap, vhost-net) is a number from the
 *     QemuRuntime: the daemon got the fds from the helper and the QEMU process inherits them
 *     under exactly those numbers. QEMU itself opens nothing network-related, so it needs no
 *     privilege.
 *   - QMP is "-chardev socket,path=…,server=on,wait=off" + "-mon …,mode=control": the path is
 *     on the command line, so a restarted daemon can recognise its QEMUs by it.
 *   - "-S": the guest's CPUs wait for QMP "cont", after the daemon connected and finished the
 *     start (QoS, status file).
 *   - User-controlled strings inside "key=value,…" options have their commas doubled; paths
 *     outside option lists (-kernel, -initrd) and -append are plain arguments: no shell anywhere. */

/* Slots on the machine's root PCI bus left for our devices: 32 minus the host bridge and the
 * chipset's ISA/LPC bridge (pc: 00.0 and 01.x; q35: 00.0 and 1f.x). We add no PCI bridges. */
#define QEMU_PCI_SLOTS 30
/* Ports of one AHCI controller. */
#define QEMU_SATA_PORTS 6

#define internal_error(ret_error, ...) conf_error(ret_error, -EINVAL, _("internal error: "), __VA_ARGS__)

static const char *const nic_device_table[_DOMAIN_NET_MODEL_MAX] = {
        [DOMAIN_NET_MODEL_RTL8139] = "rtl8139",
        [DOMAIN_NET_MODEL_E1000] = "e1000",
        [DOMAIN_NET_MODEL_VIRTIO] = "virtio-net-pci",
};

/* <driver><host/guest …/></driver> → virtio-net-pci properties. */
static const char *const offload_prop_table[_DOMAIN_NET_OFFLOAD_MAX] = {
        [DOMAIN_NET_HOST_CSUM] = "csum",
        [DOMAIN_NET_HOST_GSO] = "gso",
        [DOMAIN_NET_HOST_TSO4] = "host_tso4",
        [DOMAIN_NET_HOST_TSO6] = "host_tso6",
        [DOMAIN_NET_HOST_ECN] = "host_ecn",
        [DOMAIN_NET_HOST_UFO] = "host_ufo",
        [DOMAIN_NET_HOST_MRG_RXBUF] = "mrg_rxbuf",
        [DOMAIN_NET_GUEST_CSUM] = "guest_csum",
        [DOMAIN_NET_GUEST_TSO4] = "guest_tso4",
        [DOMAIN_NET_GUEST_TSO6] = "guest_tso6",
        [DOMAIN_NET_GUEST_ECN] = "guest_ecn",
        [DOMAIN_NET_GUEST_UFO] = "guest_ufo",
};

static const char *const txmode_table[_DOMAIN_NET_TXMODE_MAX] = {
        [DOMAIN_NET_TXMODE_IOTHREAD] = "bh",
        [DOMAIN_NET_TXMODE_TIMER] = "timer",
};

static const char boot_letter[_DOMAIN_BOOT_DEV_MAX] = {
        [DOMAIN_BOOT_HD] = 'c',
        [DOMAIN_BOOT_CDROM] = 'd',
        [DOMAIN_BOOT_NETWORK] = 'n',
};

/* ---- argv building: collect, report OOM once at the end ---- */

typedef struct Argv {
        char **v;
        size_t n;
        bool oom;
} Argv;

char **qemu_argv_free(char **argv) {
        if (!argv)
                return NULL;
        for (char **p = argv; *p; p++)
                free(*p);
        return mfree(argv);
}

static void argv_done(Argv *a) {
        qemu_argv_free(a->v);
        *a = (Argv) {};
}

static void argv_take(Argv *a, char *s) {
        char **v;

        if (!s || a->oom) {
                a->oom = true;
                free(s);
                return;
        }
        v = reallocarray(a->v, a->n + 2, sizeof *v);
        if (!v) {
                a->oom = true;
                free(s);
                return;
        }
        a->v = v;
        a->v[a->n++] = s;
        a->v[a->n] = NULL;
}

static void argv_add(Argv *a, const char *s) {
        argv_take(a, strdup(s));
}

static void argv_addf(Argv *a, const char *fmt, ...) _printf_(2, 3);
static void argv_addf(Argv *a, const char *fmt, ...) {
        va_list ap;
        char *s;
        int k;

        va_start(ap, fmt);
        k = vasprintf(&s, fmt, ap);
        va_end(ap);
        argv_take(a, k < 0 ? NULL : s);
}

/* Option values in QEMU's "key=value,key=value" syntax: a comma is written twice. */
static void append_opt_value(StrBuf *b, const char *s) {
        while (s && *s) {
                size_t n = strcspn(s, ",");

                strbuf_printf(b, "%.*s", (int) n, s);
                s += n;
                if (*s) {
                        strbuf_printf(b, ",,");
                        s++;
                }
        }
}

static void opt_string(StrBuf *b, const char *key, const char *value) {
        strbuf_printf(b, ",%s=", key);
        append_opt_value(b, value);
}

/* ---- pieces ---- */

static int check_device(const QemuCaps *caps, const char *device, char **ret_error) {
        if (qemu_caps_has_device(caps, device))
                return 0;
        return unsupported_error(ret_error, _("device '%s' is not supported with this QEMU binary (%s)"),
                                 device, strna(caps->binary));
}

/* libvirt's wording for a device property the binary lacks. */
static int check_prop(const QemuCaps *caps, const char *device, const char *prop, char **ret_error) {
        if (qemu_caps_has_device_prop(caps, device, prop))
                return 0;
        return unsupported_error(ret_error, _("%s '%s' option not supported with this QEMU binary"), device,
                                 prop);
}

static bool need_sata_controller(const DomainDef *def, bool q35) {
        if (q35) /* q35's ICH9 has AHCI built in, its ports are the buses ide.0 … ide.5 */
                return false;
        for (size_t i = 0; i < def->n_disks; i++)
                if (def->disks[i].bus == DOMAIN_DISK_BUS_SATA)
                        return true;
        return false;
}

static int add_disks(Argv *a, const DomainDef *def, const QemuCaps *caps, bool q35, char **ret_error) {
        int r;

        if (need_sata_controller(def, q35)) {
                r = check_device(caps, "ich9-ahci", ret_error);
                if (r < 0)
                        return r;
                argv_add(a, "-device");
                argv_add(a, "ich9-ahci,id=sata0");
        }

        for (size_t i = 0; i < def->n_disks; i++) {
                const DomainDisk *d = &def->disks[i];
                _cleanup_free_ char *id = NULL;
                const char *device;
                _cleanup_(strbuf_done) StrBuf b = {};

                /* libvirt's aliases: virtio-disk<N>, sata<controller>-<bus>-<unit> */
                if (d->bus == DOMAIN_DISK_BUS_VIRTIO) {
                        device = "virtio-blk-pci";
                        r = asprintf(&id, "virtio-disk%u", d->index);
                } else {
                        device = d->device == DOMAIN_DISK_DEVICE_CDROM ? "ide-cd" : "ide-hd";
                        if (d->index >= QEMU_SATA_PORTS)
                                return internal_error(ret_error, "SATA disk '%s' has no port", d->target);
                        r = asprintf(&id, "sata0-0-%u", d->index);
                }
                if (r < 0)
                        return -ENOMEM;
                r = check_device(caps, device, ret_error);
                if (r < 0)
                        return r;

                strbuf_printf(&b, "if=none,id=drive-%s", id);
                if (d->source) { /* else an empty cdrom drive */
                        opt_string(&b, "file", d->source);
                        strbuf_printf(&b, ",format=%s",
                                      d->format == DOMAIN_DISK_FORMAT_QCOW2 ? "qcow2" : "raw");
                }
                if (d->readonly)
                        strbuf_printf(&b, ",readonly=on");
                argv_add(a, "-drive");
                argv_take(a, strbuf_steal(&b));

                strbuf_printf(&b, "%s", device);
                if (d->bus == DOMAIN_DISK_BUS_SATA)
                        strbuf_printf(&b, ",bus=%s.%u", q35 ? "ide" : "sata0", d->index);
                strbuf_printf(&b, ",drive=drive-%s,id=%s", id, id);
                argv_add(a, "-device");
                argv_take(a, strbuf_steal(&b));
        }
        return 0;
}

static void fd_list(StrBuf *b, const char *single, const char *multi, const int *fds, size_t n) {
        strbuf_printf(b, ",%s=", n == 1 ? single : multi);
        for (size_t i = 0; i < n; i++)
                strbuf_printf(b, "%s%d", i > 0 ? ":" : "", fds[i]);
}

static int check_net_runtime(const DomainDef *def, size_t i, const QemuRuntimeNet *rn, char **ret_error) {
        const DomainNet *net = &def->nets[i];
        size_t queues = MAX(net->queues, 1u);
        char label[DOMAIN_NET_LABEL_MAX];

        domain_net_label(net, i, label);
        if (!net->has_mac)
                return internal_error(ret_error, "interface %s has no MAC address", label);
        if (isempty(rn->alias) || strchr(rn->alias, ','))
                return internal_error(ret_error, "interface %s has no usable alias", label);
        if (rn->n_tap_fds != queues)
                return internal_error(ret_error, "interface %s has %zu queues but %zu tap fds", label,
                                      queues, rn->n_tap_fds);
        for (size_t k = 0; k < rn->n_tap_fds; k++)
                if (rn->tap_fds[k] < 0)
                        return internal_error(ret_error, "interface %s has an invalid tap fd", label);
        for (size_t k = 0; k < rn->n_vhost_fds; k++)
                if (rn->vhost_fds[k] < 0)
                        return internal_error(ret_error, "interface %s has an invalid vhost fd", label);

        if (rn->n_vhost_fds == 0) {
                /* design/networking.md: an explicit request fails the start, the default falls back */
                if (net->driver == DOMAIN_NET_DRIVER_VHOST)
                        return unsupported_error(
                                ret_error,
                                _("vhost-net was requested for interface %s but is not available"), label);
                return 0;
        }
        if (rn->n_vhost_fds != rn->n_tap_fds)
                return internal_error(ret_error, "interface %s has %zu tap fds but %zu vhost fds", label,
                                      rn->n_tap_fds, rn->n_vhost_fds);
        if (net->model != DOMAIN_NET_MODEL_VIRTIO || net->driver == DOMAIN_NET_DRIVER_QEMU)
                return internal_error(ret_error, "interface %s got vhost fds but must not use vhost-net",
                                      label);
        return 0;
}

static int add_net(Argv *a, const DomainDef *def, size_t i, const QemuRuntimeNet *rn, const QemuCaps *caps,
                   char **ret_error) {
        const DomainNet *net = &def->nets[i];
        const char *device = nic_device_table[net->model];
        bool virtio = net->model == DOMAIN_NET_MODEL_VIRTIO;
        char mac[ETHER_ADDR_STR_MAX];
        _cleanup_(strbuf_done) StrBuf b = {};
        int r;

        r = check_net_runtime(def, i, rn, ret_error);
        if (r < 0)
                return r;
        r = check_device(caps, device, ret_error);
        if (r < 0)
                return r;

        /* the backend: ready-made fds (the runtime's numbers, inherited by QEMU) */
        strbuf_printf(&b, "tap,id=host%s", rn->alias);
        fd_list(&b, "fd", "fds", rn->tap_fds, rn->n_tap_fds);
        if (rn->n_vhost_fds > 0) {
                strbuf_printf(&b, ",vhost=on");
                fd_list(&b, "vhostfd", "vhostfds", rn->vhost_fds, rn->n_vhost_fds);
        }
        argv_add(a, "-netdev");
        argv_take(a, strbuf_steal(&b));

        strbuf_printf(&b, "%s,netdev=host%s,id=%s,mac=%s", device, rn->alias, rn->alias,
                      ether_addr_format(&net->mac, mac));
        if (virtio) {
                if (net->queues > 1) {
                        r = check_prop(caps, device, "mq", ret_error);
                        if (r < 0)
                                return r;
                        r = check_prop(caps, device, "vectors", ret_error);
                        if (r < 0)
                                return r;
                        /* one MSI-X vector per RX and TX queue, plus config and control queue */
                        strbuf_printf(&b, ",mq=on,vectors=%u", 2 * net->queues + 2);
                }
                if (net->txmode != DOMAIN_NET_TXMODE_DEFAULT) {
                        r = check_prop(caps, device, "tx", ret_error);
                        if (r < 0)
                                return r;
                        strbuf_printf(&b, ",tx=%s", txmode_table[net->txmode]);
                }
                if (net->rx_queue_size > 0) {
                        r = check_prop(caps, device, "rx_queue_size", ret_error);
                        if (r < 0)
                                return r;
                        strbuf_printf(&b, ",rx_queue_size=%u", net->rx_queue_size);
                }
                if (net->tx_queue_size > 0) {
                        r = check_prop(caps, device, "tx_queue_size", ret_error);
                        if (r < 0)
                                return r;
                        strbuf_printf(&b, ",tx_queue_size=%u", net->tx_queue_size);
                }
                /* the guest learns the MTU too, not only the tap */
                if (net->mtu > 0) {
                        r = check_prop(caps, device, "host_mtu", ret_error);
                        if (r < 0)
                                return r;
                        strbuf_printf(&b, ",host_mtu=%" PRIu32, net->mtu);
                }
                for (size_t k = 0; k < _DOMAIN_NET_OFFLOAD_MAX; k++) {
                        if (net->offloads[k] == DOMAIN_TRISTATE_ABSENT)
                                continue;
                        r = check_prop(caps, device, offload_prop_table[k], ret_error);
                        if (r < 0)
                                return r;
                        strbuf_printf(&b, ",%s=%s", offload_prop_table[k],
                                      net->offloads[k] == DOMAIN_TRISTATE_ON ? "on" : "off");
                }
        }
        argv_add(a, "-device");
        argv_take(a, strbuf_steal(&b));
        return 0;
}

static int add_serials(Argv *a, const DomainDef *def, const QemuRuntime *rt, const QemuCaps *caps,
                       char **ret_error) {
        bool index = qemu_caps_has_device_prop(caps, "isa-serial", "index");
        size_t created = 0;
        int r;

        if (def->n_serials > 0) {
                r = check_device(caps, "isa-serial", ret_error);
                if (r < 0)
                        return r;
        }

        /* by port: without the index property QEMU numbers them in creation order */
        for (unsigned port = 0; port < DOMAIN_SERIALS_MAX; port++)
                for (size_t i = 0; i < def->n_serials; i++) {
                        const DomainChr *c = &def->serials[i];
                        _cleanup_(strbuf_done) StrBuf b = {};

                        if (c->port != port)
                                continue;
                        if (!index && port != created)
                                return check_prop(caps, "isa-serial", "index", ret_error);

                        if (c->type == DOMAIN_CHR_FILE) {
                                strbuf_printf(&b, "file,id=charserial%u", port);
                                opt_string(&b, "path", c->path);
                                if (c->append != DOMAIN_TRISTATE_ABSENT)
                                        strbuf_printf(&b, ",append=%s",
                                                      c->append == DOMAIN_TRISTATE_ON ? "on" : "off");
                        } else {
                                strbuf_printf(&b, "pty,id=charserial%u", port);
                                if (port == 0 && rt->serial_log) {
                                        opt_string(&b, "logfile", rt->serial_log);
                                        strbuf_printf(&b, ",logappend=on");
                                }
                        }
                        argv_add(a, "-chardev");
                        argv_take(a, strbuf_steal(&b));

                        strbuf_printf(&b, "isa-serial,chardev=charserial%u,id=serial%u", port, port);
                        if (index)
                                strbuf_printf(&b, ",index=%u", port);
                        argv_add(a, "-device");
                        argv_take(a, strbuf_steal(&b));
                        created++;
                }
        return 0;
}

static int check_pci_slots(const DomainDef *def, bool q35, char **ret_error) {
        size_t n = def->n_nets + (need_sata_controller(def, q35) ? 1 : 0);

        for (size_t i = 0; i < def->n_disks; i++)
                if (def->disks[i].bus == DOMAIN_DISK_BUS_VIRTIO)
                        n++;
        if (n > QEMU_PCI_SLOTS)
                return unsupported_error(
                        ret_error,
                        _("domain '%s' needs %zu PCI slots, but the machine has %d for devices "
                          "(PCI bridges are not supported)"),
                        def->name, n, QEMU_PCI_SLOTS);
        return 0;
}

int qemu_build_command_line(const DomainDef *def, const QemuCaps *caps, const QemuRuntime *rt,
                            char ***ret_argv, char **ret_error) {
        const char *family = domain_machine_family(def->os_machine);
        bool q35 = streq_ptr(family, "q35");
        _cleanup_(argv_done) Argv a = {};
        _cleanup_(strbuf_done) StrBuf b = {};
        int r;

        if (!family)
                return internal_error(ret_error, "unknown machine type '%s'", def->os_machine);
        if (isempty(rt->qmp_socket))
                return internal_error(ret_error, "no QMP socket path");
        if (rt->n_nets != def->n_nets)
                return internal_error(ret_error, "%zu interfaces but %zu prepared", def->n_nets, rt->n_nets);
        if (!def->emulator && isempty(caps->binary))
                return internal_error(ret_error, "no emulator binary");
        /* TCG is the default (design/testing.md: never pick KVM by probing); KVM only on request */
        if (def->virt_type == DOMAIN_VIRT_KVM && !caps->kvm)
                return unsupported_error(
                        ret_error,
                        _("domain '%s' has type 'kvm', but KVM is not available with this QEMU "
                          "binary on this host (type 'qemu' runs it with TCG)"),
                        def->name);
        r = check_pci_slots(def, q35, ret_error);
        if (r < 0)
                return r;

        argv_add(&a, def->emulator ?: caps->binary);

        argv_add(&a, "-name");
        strbuf_printf(&b, "guest=");
        append_opt_value(&b, def->name);
        strbuf_printf(&b, ",debug-threads=on");
        argv_take(&a, strbuf_steal(&b));

        /* stopped until the daemon has connected to QMP and says "cont" */
        argv_add(&a, "-S");

        argv_add(&a, "-machine");
        strbuf_printf(&b, "%s,usb=off,dump-guest-core=off,accel=%s", def->os_machine ?: "pc",
                      def->virt_type == DOMAIN_VIRT_KVM ? "kvm" : "tcg");
        argv_take(&a, strbuf_steal(&b));

        argv_add(&a, "-m");
        argv_addf(&a, "size=%" PRIu64 "k", def->memory_kib);
        argv_add(&a, "-smp");
        argv_addf(&a, "%u", def->vcpus);
        if (def->has_uuid) {
                char buf[UUID_STR_MAX];

                argv_add(&a, "-uuid");
                argv_add(&a, uuid_format(&def->uuid, buf));
        }
        argv_add(&a, "-display");
        argv_add(&a, "none");
        /* nothing but what is listed here: no config files, no default NIC, VGA, floppy, cdrom */
        argv_add(&a, "-no-user-config");
        argv_add(&a, "-nodefaults");

        argv_add(&a, "-chardev");
        strbuf_printf(&b, "socket,id=charmonitor");
        opt_string(&b, "path", rt->qmp_socket);
        strbuf_printf(&b, ",server=on,wait=off");
        argv_take(&a, strbuf_steal(&b));
        argv_add(&a, "-mon");
        argv_add(&a, "chardev=charmonitor,id=monitor,mode=control");

        /* A guest power-off stops the guest but not QEMU: the daemon gets the SHUTDOWN event
         * (guest-initiated or not), can tell it from a crash, and then decides: "quit" for
         * on_poweroff=destroy, system_reset + cont for a reboot done through ACPI (Reboot()) or
         * on_poweroff=restart. */
        argv_add(&a, "-no-shutdown");
        /* a guest reboot becomes a SHUTDOWN (reason guest-reset) the daemon then destroys */
        if (def->on_reboot == DOMAIN_LIFECYCLE_DESTROY)
                argv_add(&a, "-no-reboot");

        if (def->kernel) {
                /* direct kernel boot: the firmware's boot order does not apply */
                argv_add(&a, "-kernel");
                argv_add(&a, def->kernel);
                if (def->initrd) {
                        argv_add(&a, "-initrd");
                        argv_add(&a, def->initrd);
                }
                if (def->cmdline) {
                        argv_add(&a, "-append");
                        argv_add(&a, def->cmdline);
                }
        } else if (def->n_boot > 0) {
                strbuf_printf(&b, "order=");
                for (size_t i = 0; i < def->n_boot && i < DOMAIN_BOOT_MAX; i++)
                        strbuf_printf(&b, "%c", boot_letter[def->boot[i]]);
                argv_add(&a, "-boot");
                argv_take(&a, strbuf_steal(&b));
        }

        r = add_disks(&a, def, caps, q35, ret_error);
        if (r < 0)
                return r;
        for (size_t i = 0; i < def->n_nets; i++) {
                r = add_net(&a, def, i, &rt->nets[i], caps, ret_error);
                if (r < 0)
                        return r;
        }
        r = add_serials(&a, def, rt, caps, ret_error);
        if (r < 0)
                return r;

        argv_add(&a, "-msg");
        argv_add(&a, "timestamp=on");

        if (a.oom)
                return -ENOMEM;
        *ret_argv = TAKE_PTR(a.v);
        return 0;
}
