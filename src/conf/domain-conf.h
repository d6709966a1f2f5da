/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The domain XML model (libvirt's format, the subset in design/networking.md and dbus-api.md):
 * parse, validate, format. Pure: no I/O, no randomness except in domain_def_fill_defaults().
 *
 * Elements virtbus does not know, directly inside <domain> or <devices> (<features>, <clock>,
 * <graphics>, <qemu:commandline>…), are kept verbatim and written back in libvirt's order, and
 * listed in def->unknown so the daemon can report them. Unknown devices make
 * domain_def_check_runnable() fail; unknown top-level elements do not. Anything else we cannot do
 * (an unknown child or attribute of an element we model, a disk or interface type we cannot
 * run) is refused at parse time. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bandwidth.h"
#include "ether.h"
#include "macro.h"
#include "uuid-util.h"

#define DOMAIN_NAME_MAX 64
#define DOMAIN_VCPUS_MAX 255
#define DOMAIN_BOOT_MAX 4
#define DOMAIN_SERIALS_MAX 4 /* isa-serial: COM1..COM4 */
#define DOMAIN_DISKS_MAX 64
#define DOMAIN_NETS_MAX 32
#define DOMAIN_NET_QUEUES_MAX 8
#define DOMAIN_UNKNOWN_MAX 256

typedef enum DomainVirtType {
        DOMAIN_VIRT_QEMU, /* TCG */
        DOMAIN_VIRT_KVM,
        _DOMAIN_VIRT_MAX,
} DomainVirtType;

typedef enum DomainBootDev {
        DOMAIN_BOOT_HD,
        DOMAIN_BOOT_CDROM,
        DOMAIN_BOOT_NETWORK,
        _DOMAIN_BOOT_DEV_MAX,
} DomainBootDev;

typedef enum DomainLifecycleAction {
        DOMAIN_LIFECYCLE_DESTROY,
        DOMAIN_LIFECYCLE_RESTART,
        _DOMAIN_LIFECYCLE_MAX,
} DomainLifecycleAction;

/* An optional on/off attribute. */
typedef enum DomainTristate {
        DOMAIN_TRISTATE_ABSENT,
        DOMAIN_TRISTATE_ON,
        DOMAIN_TRISTATE_OFF,
        _DOMAIN_TRISTATE_MAX,
} DomainTristate;

typedef enum DomainDiskDevice {
        DOMAIN_DISK_DEVICE_DISK,
        DOMAIN_DISK_DEVICE_CDROM,
        _DOMAIN_DISK_DEVICE_MAX,
} DomainDiskDevice;

typedef enum DomainDiskFormat {
        DOMAIN_DISK_FORMAT_DEFAULT, /* no <driver type=…>: raw */
        DOMAIN_DISK_FORMAT_RAW,
        DOMAIN_DISK_FORMAT_QCOW2,
        _DOMAIN_DISK_FORMAT_MAX,
} DomainDiskFormat;

typedef enum DomainDiskBus {
        DOMAIN_DISK_BUS_VIRTIO,
        DOMAIN_DISK_BUS_SATA,
        _DOMAIN_DISK_BUS_MAX,
} DomainDiskBus;

typedef struct DomainDisk {
        DomainDiskDevice device;
        bool has_driver; /* <driver name='qemu'…> was given */
        DomainDiskFormat format;
        char *source; /* absolute path; NULL only for an empty cdrom drive */
        char *target; /* "vda", "sdb" */
        DomainDiskBus bus;
        unsigned index;    /* from the target name: vda → 0, vdb → 1, sdc → 2 */
        bool readonly;     /* always true for a cdrom */
        char *alias;       /* <alias name=…> (live XML) */
        char *address_xml; /* libvirt's <address>, kept verbatim, not used */
} DomainDisk;

typedef enum DomainNetType {
        DOMAIN_NET_TYPE_NETWORK, /* tap on a virtbus network's bridge */
        DOMAIN_NET_TYPE_BRIDGE,  /* tap on an existing bridge */
        DOMAIN_NET_TYPE_DIRECT,  /* macvtap on a host device */
        _DOMAIN_NET_TYPE_MAX,
} DomainNetType;

typedef enum DomainMacvtapMode {
        DOMAIN_MACVTAP_VEPA, /* libvirt's default */
        DOMAIN_MACVTAP_BRIDGE,
        DOMAIN_MACVTAP_PRIVATE,
        DOMAIN_MACVTAP_PASSTHROUGH,
        _DOMAIN_MACVTAP_MODE_MAX,
} DomainMacvtapMode;

typedef enum DomainNetModel {
        DOMAIN_NET_MODEL_RTL8139, /* libvirt's default for x86 QEMU guests */
        DOMAIN_NET_MODEL_E1000,
        DOMAIN_NET_MODEL_VIRTIO,
        _DOMAIN_NET_MODEL_MAX,
} DomainNetModel;

typedef enum DomainNetDriver {
        DOMAIN_NET_DRIVER_DEFAULT, /* vhost-net when available, else userspace */
        DOMAIN_NET_DRIVER_VHOST,   /* vhost-net or fail */
        DOMAIN_NET_DRIVER_QEMU,    /* never vhost-net */
        _DOMAIN_NET_DRIVER_MAX,
} DomainNetDriver;

typedef enum DomainNetTxMode {
        DOMAIN_NET_TXMODE_DEFAULT,
        DOMAIN_NET_TXMODE_IOTHREAD, /* QEMU tx=bh */
        DOMAIN_NET_TXMODE_TIMER,    /* QEMU tx=timer */
        _DOMAIN_NET_TXMODE_MAX,
} DomainNetTxMode;

/* <driver><host …/><guest …/></driver>, in libvirt's attribute order. */
typedef enum DomainNetOffload {
        DOMAIN_NET_HOST_CSUM,
        DOMAIN_NET_HOST_GSO,
        DOMAIN_NET_HOST_TSO4,
        DOMAIN_NET_HOST_TSO6,
        DOMAIN_NET_HOST_ECN,
        DOMAIN_NET_HOST_UFO,
        DOMAIN_NET_HOST_MRG_RXBUF,
        DOMAIN_NET_GUEST_CSUM,
        DOMAIN_NET_GUEST_TSO4,
        DOMAIN_NET_GUEST_TSO6,
        DOMAIN_NET_GUEST_ECN,
        DOMAIN_NET_GUEST_UFO,
        _DOMAIN_NET_OFFLOAD_MAX,
} DomainNetOffload;

typedef struct DomainNet {
        DomainNetType type;
        char *source;           /* network name, bridge name or host device */
        DomainMacvtapMode mode; /* type direct only */
        EtherAddr mac;
        bool has_mac;
        char *ifname; /* <target dev=…>: NULL until given or assigned (vnetN, macvtapN) */
        DomainNetModel model;
        bool has_model; /* <model> was given (formatted either way, as libvirt does) */
        DomainNetDriver driver;
        DomainNetTxMode txmode;
        unsigned queues;        /* 0: unset (one queue) */
        unsigned rx_queue_size; /* 0: unset */
        unsigned tx_queue_size;
        DomainTristate offloads[_DOMAIN_NET_OFFLOAD_MAX];
        uint32_t mtu; /* 0: unset */
        Bandwidth bandwidth;
        char *alias;       /* "net0", assigned at start; user aliases start with "ua-" */
        char *address_xml; /* libvirt's <address>, kept verbatim, not used */
} DomainNet;

typedef enum DomainChrType {
        DOMAIN_CHR_PTY,
        DOMAIN_CHR_FILE,
        _DOMAIN_CHR_TYPE_MAX,
} DomainChrType;

/* A <serial> port (isa-serial). */
typedef struct DomainChr {
        DomainChrType type;
        char *path;            /* file: the log file (absolute); pty: the allocated pty (live only) */
        DomainTristate append; /* file only */
        unsigned port;         /* 0..3 */
        char *alias;           /* "serial0" */
} DomainChr;

/* Where a kept element sits: directly in <domain> or in <devices>. */
typedef enum DomainUnknownPlace {
        DOMAIN_UNKNOWN_TOP,
        DOMAIN_UNKNOWN_DEVICES,
        _DOMAIN_UNKNOWN_PLACE_MAX,
} DomainUnknownPlace;

/* An element virtbus does not model, kept to be written back unchanged. */
typedef struct DomainUnknown {
        char *path; /* for reports: "<features>", "<devices>/<graphics>", "<qemu:commandline>" */
        char *xml;  /* the element, serialized at its indent, ending in a newline */
        DomainUnknownPlace place;
        unsigned rank; /* slot in libvirt's element order, see domain-conf.c */
        bool harmless; /* a device QEMU has anyway (pci-root controller, ps2 input…) */
} DomainUnknown;

typedef struct DomainDef {
        DomainVirtType virt_type;
        int id; /* live XML only: >0 while running, -1 otherwise */
        char *name;
        Uuid uuid;
        bool has_uuid;
        char *title;
        char *description;
        uint64_t memory_kib;
        uint64_t current_memory_kib; /* ≤ memory_kib; = memory_kib when not given */
        unsigned vcpus;

        /* <os> */
        char *os_arch;    /* NULL or "x86_64" */
        char *os_machine; /* NULL (QEMU's "pc"), "pc", "q35", "pc-i440fx-7.2", "pc-q35-7.2"… */
        char *kernel, *initrd, *cmdline;
        DomainBootDev boot[DOMAIN_BOOT_MAX];
        size_t n_boot;

        DomainLifecycleAction on_poweroff, on_reboot, on_crash;

        /* <devices> */
        char *emulator;
        DomainDisk *disks;
        size_t n_disks;
        DomainNet *nets;
        size_t n_nets;
        DomainChr *serials;
        size_t n_serials;
        bool console; /* <console> on serial port 0 (libvirt: a mirror of serials[0]) */

        DomainUnknown *unknown;
        size_t n_unknown;
} DomainDef;

typedef enum DomainParseFlags {
        /* Parse what a running domain's status file holds: keep the live-only data (id, aliases,
         * target devs we assigned, pty paths). Without it, parse as DefineXML/CreateXML do:
         * that data is dropped, as libvirt drops it. */
        DOMAIN_PARSE_LIVE = 1 << 0,
} DomainParseFlags;

typedef enum DomainFormatFlags {
        /* The persistent config (GetXMLDesc with VIR_DOMAIN_XML_INACTIVE): no id, no aliases
         * (except user aliases "ua-…"), no target devs we named (vnet…, macvtap…), no pty paths. */
        DOMAIN_FORMAT_INACTIVE = 1 << 0,
} DomainFormatFlags;

/* Parse + validate. On failure returns a negative errno and sets *ret_error to a message in
 * libvirt's style, complete and ready for a user:
 *   -EBADMSG     "XML error: …"                   (malformed document, bad values)
 *   -EOPNOTSUPP  "unsupported configuration: …"   (valid libvirt XML that virtbus cannot do)
 * The result has libvirt's post-parse defaults (currentMemory, vcpu 1, <boot dev='hd'/> without a
 * kernel, lifecycle actions, disk bus from the target name, interface model rtl8139, macvtap mode
 * vepa) but no generated UUID or MACs: see domain_def_fill_defaults(). */
int domain_def_parse(const char *xml, DomainParseFlags flags, DomainDef **ret, char **ret_error);

/* Canonical libvirt-style XML (2-space indent, single quotes, trailing newline). NULL on OOM. */
char *domain_def_format(const DomainDef *def, DomainFormatFlags flags);

/* Generate what the user left out and libvirt generates at define time: UUID, interface MACs
 * (52:54:00:xx:xx:xx, unique within the domain), os arch and machine. */
int domain_def_fill_defaults(DomainDef *def);

/* Whether virtbus can start this definition: -EOPNOTSUPP with "unsupported configuration: device
 * <graphics> is not supported" for a kept device it cannot run. What depends on the QEMU binary
 * is checked by qemu_build_command_line(). */
int domain_def_check_runnable(const DomainDef *def, char **ret_error);

/* Every kept element for a report, in the order they are formatted, including the <address>
 * elements kept inside devices: e.g. "<features>, <devices>/<disk>/<address>, <devices>/<graphics>";
 * "" when there is none. NULL on OOM. */
char *domain_def_unknown_summary(const DomainDef *def);

DomainDef *domain_def_free(DomainDef *def);
DEFINE_TRIVIAL_CLEANUP_FUNC(DomainDef *, domain_def_free);

bool domain_name_valid(const char *name);
/* "q35" for a q35 machine name ("q35", "pc-q35-*"), "pc" for an i440fx one (NULL, "pc",
 * "pc-i440fx-*"), NULL for anything else. */
const char *domain_machine_family(const char *machine);
/* A user-given target dev with one of these prefixes is dropped at define: the names are ours. */
bool domain_net_ifname_is_generated(const char *ifname);
/* How messages name an interface: its target dev, else its MAC, else "#N" (1-based). The buffer
 * must hold DOMAIN_NET_LABEL_MAX bytes. */
#define DOMAIN_NET_LABEL_MAX 32
const char *domain_net_label(const DomainNet *net, size_t index, char *buf);

const char *domain_virt_type_to_string(DomainVirtType t);
const char *domain_boot_dev_to_string(DomainBootDev d);
const char *domain_lifecycle_action_to_string(DomainLifecycleAction a);
const char *domain_disk_format_to_string(DomainDiskFormat f);
const char *domain_disk_bus_to_string(DomainDiskBus b);
const char *domain_net_type_to_string(DomainNetType t);
const char *domain_net_model_to_string(DomainNetModel m);
const char *domain_macvtap_mode_to_string(DomainMacvtapMode m);
