/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench/qos: virtbus' floor QoS side by side with libvirt's, in one run (README.md).
 *
 * Two bridges in a private network namespace carry the same HTB hierarchy and the same floor
 * classes (qos-plan.h computes them; the tc command lines below are libvirt's for the same numbers):
 *
 *   vbqv  virtbus: one QOS_FLOOR_ADD / QOS_FLOOR_REMOVE request to the real virtbus-nethelper per
 *         plug / unplug (netlink), frames classified through the u32 hash table on the MAC;
 *   vbql  libvirt-style: the tc processes libvirt runs per plug / unplug
 *         (src/util/virnetdevbandwidth.c), frames classified through one linear u32 list.
 *
 * A third bridge, vbqr, has the same classes and no filters (see REFERENCE below).
 *
 * For 10, 100 and 1000 floor interfaces already present it measures the latency of plugging and
 * unplugging one more, and the rate at which frames sent into the bridge pass its root qdisc
 * (where the classification happens), alternating between the bridges; it prints one markdown
 * table with medians, p95 and ratios. Needs root; never touches the host's network. */

#include <arpa/inet.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>

#include "macro.h"
#include "netdev.h"
#include "protocol.h"
#include "qos-plan.h"

extern char **environ;

/* Rates in libvirt's units (KiB/s in the XML, "kbps" = 1000 bytes/s to tc). The network's rate is far
 * above what the benchmark sends (well under 100 MB/s): HTB never throttles, the frames measure
 * classification and queueing only (floor classes borrow from 1:1 as a busy guest's would). Not
 * higher: tc computes bursts in whole microseconds, and from about 1 GB/s on its default burst
 * rounds to 0, which would make the two bridges' classes differ. */
#define NET_AVERAGE 400000u /* the network's inbound average: 400 MB/s */
#define IF_AVERAGE 4000u    /* each floor interface's inbound average (sets the class' quantum) */
#define IF_FLOOR 200u       /* each floor; 2000 of them stay within NET_AVERAGE */

#define BR_VIRTBUS "vbqv"
#define BR_LIBVIRT "vbql"
#define TAP_VIRTBUS "vnetqv"
#define TAP_LIBVIRT "vnetql"
#define BR_REFERENCE "vbqr"
#define TAP_REFERENCE "vnetqr"

#define MAX_FLOORS 2000u /* beyond ~2050 the libvirt-style handles below would collide */
#define FRAME_LEN 60
#define BATCH 256
#define CMD_MAX 512

typedef enum Mode { VIRTBUS, LIBVIRT, _MODE_MAX } Mode;
/* A third bridge with the same classes and no filter at all: each frame carries its class in
 * skb->priority (SO_PRIORITY as a control message), which HTB takes before it looks at filters. It
 * is what a frame costs through the same classes without classification, measured in the same rounds
 * as the other two (throughput only). */
#define REFERENCE _MODE_MAX
#define N_SIDES (_MODE_MAX + 1)
static const char *const side_name[N_SIDES] = { "virtbus", "libvirt", "reference" };

typedef struct Side {
        const char *bridge, *tap;
        int ifindex, tap_fd;
        size_t n_floors;    /* floors 0..n-1 have class ids 3..n+2 and MAC macs[i] */
        uint64_t floor_sum; /* KiB/s */
} Side;

typedef struct Samples {
        double *v;
        size_t n, size;
} Samples;

static struct {
        const char *helper, *tc;
        unsigned reps, tput_reps, frames;
        size_t sizes[16], n_sizes;
        bool quick, verbose;
} arg = {
        .tc = "tc",
        .reps = 200,
        .tput_reps = 100,
        .frames = 20000,
        .sizes = { 10, 100, 1000 },
        .n_sizes = 3,
};

static char *helper_dir, *helper_socket, *helper_log;
static pid_t helper_pid;
static uint32_t next_seq = 1;
static unsigned caps;
static Bandwidth net;
static EtherAddr macs[MAX_FLOORS + 1]; /* floor i has macs[i] */
static bool libvirt_handle_overflow; /* a floor id whose libvirt filter handle tc refuses was used */

_printf_(1, 2) _noreturn_ static void die(const char *format, ...) {
        va_list ap;

        fputs("qos-bench: ", stderr);
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
        /* The helper goes (it would anyway: PR_SET_PDEATHSIG), its log stays for a look. */
        if (helper_pid > 0) {
                char *acl;

                kill(helper_pid, SIGTERM);
                waitpid(helper_pid, NULL, 0);
                unlink(helper_socket);
                if (asprintf(&acl, "%s/nethelper.conf", helper_dir) >= 0)
                        unlink(acl);
                fprintf(stderr, "qos-bench: the helper's log is in %s\n", helper_log);
        }
        exit(EXIT_FAILURE);
}

_printf_(1, 2) static void progress(const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fputc('\n', stderr);
}

static uint64_t now_ns(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* Statistics */

static void samples_add(Samples *s, double x) {
        if (s->n == s->size) {
                s->size = s->size ? 2 * s->size : 64;
                s->v = realloc(s->v, s->size * sizeof *s->v);
                if (!s->v)
                        die("out of memory");
        }
        s->v[s->n++] = x;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return x < y ? -1 : x > y;
}

/* Nearest-rank percentile (50: the median, with the mean of the middle two for even n). */
static double percentile(Samples *s, unsigned pct) {
        size_t k;

        if (s->n == 0)
                return 0;
        qsort(s->v, s->n, sizeof *s->v, cmp_double);
        if (pct == 50)
                return s->n % 2 ? s->v[s->n / 2] : (s->v[s->n / 2 - 1] + s->v[s->n / 2]) / 2;
        k = (s->n * pct + 99) / 100;
        return s->v[k == 0 ? 0 : k - 1];
}

/* The helper, started as test-qos-netlink starts it */

static bool can_connect(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd, r;

        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                die("socket: %m");
        r = connect(fd, (struct sockaddr *) &sa, sizeof sa);
        close(fd);
        return r == 0;
}

static void helper_start(void) {
        char tmpl[] = "/tmp/qos-bench-XXXXXX", *acl;
        FILE *f;

        if (!mkdtemp(tmpl))
                die("mkdtemp: %m");
        helper_dir = strdup(tmpl);
        if (asprintf(&helper_socket, "%s/nethelper.sock", tmpl) < 0 || asprintf(&acl, "%s/nethelper.conf", tmpl) < 0 ||
            asprintf(&helper_log, "%s/nethelper.log", tmpl) < 0)
                die("out of memory");
        f = fopen(acl, "we");
        if (!f)
                die("%s: %m", acl);
        fclose(f); /* empty: the bridges are the helper's own */

        helper_pid = fork();
        if (helper_pid < 0)
                die("fork: %m");
        if (helper_pid == 0) {
                char *argv[] = {
                        (char *) arg.helper, "--socket", helper_socket, "--acl", acl, "--idle-timeout", "0",
                        "--log-level", "info", NULL,
                };

                int fd = open(helper_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

                /* info, as in production: one line per request, into a file rather than the terminal */
                if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
                        _exit(126);
                (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
                execv(argv[0], argv);
                _exit(127);
        }
        for (int i = 0; i < 250 && !can_connect(helper_socket); i++)
                usleep(20 * 1000);
        if (!can_connect(helper_socket))
                die("the helper %s did not come up", arg.helper);
        free(acl);
}

static void helper_stop(void) {
        char *acl;
        int status;

        if (helper_pid <= 0)
                return;
        kill(helper_pid, SIGTERM);
        waitpid(helper_pid, &status, 0);
        unlink(helper_socket);
        unlink(helper_log);
        if (asprintf(&acl, "%s/nethelper.conf", helper_dir) >= 0) {
                unlink(acl);
                free(acl);
        }
        rmdir(helper_dir);
        helper_pid = 0;
}

static NhReply call(NhRequest *req, int *fds, size_t max_fds) {
        NhReply reply;
        size_t n_fds = 0;
        int r;

        req->seq = next_seq++;
        r = nh_call(helper_socket, req, 30000, &reply, fds, max_fds, &n_fds);
        if (r < 0)
                die("%s: the helper did not answer: %s", nh_verb_to_string(req->verb), strerror(-r));
        if (reply.error != 0)
                die("%s failed: %s (%s)", nh_verb_to_string(req->verb), reply.message, strerror(reply.error));
        return reply;
}

/* tc processes, as libvirt's virCommandRun() runs them: one fork+exec each, waited for */

static int tc_run(const char *line) {
        char buf[CMD_MAX], *argv[64], *save = NULL;
        posix_spawn_file_actions_t fa;
        size_t n = 0;
        pid_t pid;
        int status, r;

        snprintf(buf, sizeof buf, "%s", line);
        argv[n++] = (char *) arg.tc;
        for (char *t = strtok_r(buf, " ", &save); t && n < ELEMENTSOF(argv) - 1; t = strtok_r(NULL, " ", &save))
                argv[n++] = t;
        argv[n] = NULL;

        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        if (!arg.verbose)
                posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
        r = posix_spawnp(&pid, arg.tc, &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                die("cannot run %s: %s", arg.tc, strerror(r));
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        die("waitpid: %m");
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void tc_must(const char *line) {
        int r = tc_run(line);

        if (r != 0)
                die("\"tc %s\" failed with status %d (run with --verbose to see tc's message)", line, r);
}

/* Many lines through one tc process (tc -batch): for filling a bridge, which is not measured. */
static void tc_batch(char (*lines)[CMD_MAX], size_t n) {
        char path[] = "/tmp/qos-bench-batch-XXXXXX", cmd[CMD_MAX];
        int fd = mkstemp(path);
        FILE *f;

        if (fd < 0)
                die("mkstemp: %m");
        f = fdopen(fd, "w");
        if (!f)
                die("fdopen: %m");
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s\n", lines[i]);
        if (fclose(f) != 0)
                die("%s: %m", path);
        snprintf(cmd, sizeof cmd, "-batch %s", path);
        tc_must(cmd);
        unlink(path);
}

/* The floors */

static unsigned class_id_of(size_t i) {
        return (unsigned) i + QOS_CLASS_ID_MIN;
}

/* QEMU-style MACs (52:54:00 + 3 pseudo-random bytes), all different, the same on every run. */
static void make_macs(void) {
        static uint8_t seen[1u << 21];
        uint64_t x = 0x9e3779b97f4a7c15u;

        for (size_t i = 0; i < ELEMENTSOF(macs); i++) {
                uint32_t low;

                do {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        low = (uint32_t) (x >> 20) & 0xffffffu;
                } while (seen[low / 8] & (1u << (low % 8)));
                seen[low / 8] |= 1u << (low % 8);
                macs[i] = (EtherAddr) { { 0x52, 0x54, 0x00, low >> 16, (low >> 8) & 0xff, low & 0xff } };
        }
}

static BandwidthRate iface_inbound(void) {
        return (BandwidthRate) { .set = true, .average = IF_AVERAGE, .floor = IF_FLOOR };
}

/* libvirt's filter handle: "800::%u" of 800 + id, which tc reads as hex. From id 200 on the node
 * ("1000" = 0x1000) no longer fits u32's 12 bits and tc refuses it ("Illegal filter ID"): libvirt
 * cannot plug a 198th floor interface into one bridge. Beyond that the benchmark uses the id in hex,
 * which keeps the list and the work per frame what they would be. */
static void libvirt_handle(unsigned id, char buf[static 32]) {
        char dec[16];

        snprintf(dec, sizeof dec, "%u", 800 + id);
        if (strtoul(dec, NULL, 16) <= QOS_U32_NODE_MAX)
                snprintf(buf, 32, "800::%s", dec);
        else
                snprintf(buf, 32, "800::%x", id);
}

/* libvirt's virNetDevBandwidthPlug() and networkUpdateRate() for floor i (4 tc processes). */
static size_t libvirt_plug_lines(const Side *s, size_t i, uint64_t sum_after, char lines[4][CMD_MAX]) {
        const uint8_t *m = macs[i].bytes;
        unsigned id = class_id_of(i);
        char handle[32];

        libvirt_handle(id, handle);
        snprintf(lines[0], CMD_MAX,
                 "class add dev %s parent 1:1 classid 1:%x htb rate %ukbps ceil %ukbps quantum %u", s->bridge,
                 id, IF_FLOOR, NET_AVERAGE, qos_quantum(IF_AVERAGE));
        /* libvirt: "sfq perturb 10"; this kernel has no sfq: pfifo, the leaf virtbus picks here too */
        snprintf(lines[1], CMD_MAX, "qdisc add dev %s parent 1:%x handle %x: %s", s->bridge, id, id,
                 caps & QOS_CAP_SFQ ? "sfq perturb 10" : "pfifo limit 1000");
        snprintf(lines[2], CMD_MAX,
                 "filter add dev %s protocol ip prio 2 handle %s u32 match u16 0x0800 0xffff at -2 "
                 "match u32 0x%02x%02x%02x%02x 0xffffffff at -12 match u16 0x%02x%02x 0xffff at -14 "
                 "flowid 1:%x",
                 s->bridge, handle, m[2], m[3], m[4], m[5], m[0], m[1], id);
        snprintf(lines[3], CMD_MAX, "class change dev %s classid 1:2 htb rate %" PRIu64 "kbps ceil %ukbps quantum %u",
                 s->bridge, NET_AVERAGE - sum_after, NET_AVERAGE, qos_quantum(NET_AVERAGE));
        return 4;
}

/* libvirt's virNetDevBandwidthUnplug() and networkUpdateRate(). Its "qdisc del … handle ID:" has
 * no parent and always fails ("Classid cannot be zero"); libvirt ignores the status, the class
 * deletion takes the qdisc along. The process still runs, so it is part of the cost. */
static size_t libvirt_unplug_lines(const Side *s, size_t i, uint64_t sum_after, char lines[4][CMD_MAX]) {
        unsigned id = class_id_of(i);
        char handle[32];

        libvirt_handle(id, handle);
        snprintf(lines[0], CMD_MAX, "qdisc del dev %s handle %x:", s->bridge, id);
        snprintf(lines[1], CMD_MAX, "filter del dev %s prio 2 handle %s u32", s->bridge, handle);
        snprintf(lines[2], CMD_MAX, "class del dev %s classid 1:%x", s->bridge, id);
        snprintf(lines[3], CMD_MAX, "class change dev %s classid 1:2 htb rate %" PRIu64 "kbps ceil %ukbps quantum %u",
                 s->bridge, NET_AVERAGE - sum_after, NET_AVERAGE, qos_quantum(NET_AVERAGE));
        return 4;
}

static void libvirt_plug(Side *s, size_t i) {
        char lines[4][CMD_MAX];
        size_t n = libvirt_plug_lines(s, i, s->floor_sum + IF_FLOOR, lines);

        for (size_t k = 0; k < n; k++)
                tc_must(lines[k]);
        s->floor_sum += IF_FLOOR;
}

static void libvirt_unplug(Side *s, size_t i) {
        char lines[4][CMD_MAX];
        size_t n = libvirt_unplug_lines(s, i, s->floor_sum - IF_FLOOR, lines);

        (void) tc_run(lines[0]); /* fails, ignored, as in libvirt */
        for (size_t k = 1; k < n; k++)
                tc_must(lines[k]);
        s->floor_sum -= IF_FLOOR;
}

static void virtbus_plug(Side *s, size_t i) {
        BandwidthRate in = iface_inbound();
        NhRequest req = { .verb = NH_VERB_QOS_FLOOR_ADD };
        NhQosFloor *f = &req.qos_floor;
        QosFloorPlan p;

        if (qos_plan_floor(&net.inbound, &in, (uint16_t) class_id_of(i), &macs[i], &p) < 0)
                die("qos_plan_floor failed");
        snprintf(f->ifname, sizeof f->ifname, "%s", s->bridge);
        f->class_id = class_id_of(i);
        f->leaf = qos_leaf_for(caps);
        f->shape = p.class_params;
        memcpy(f->mac, macs[i].bytes, 6);
        f->has_default = true;
        qos_plan_default_class(&net.inbound, s->floor_sum + IF_FLOOR, &f->def);
        call(&req, NULL, 0);
        s->floor_sum += IF_FLOOR;
}

static void virtbus_unplug(Side *s, size_t i) {
        NhRequest req = { .verb = NH_VERB_QOS_FLOOR_REMOVE };
        NhQosFloor *f = &req.qos_floor;

        snprintf(f->ifname, sizeof f->ifname, "%s", s->bridge);
        f->class_id = class_id_of(i);
        f->has_default = true;
        qos_plan_default_class(&net.inbound, s->floor_sum - IF_FLOOR, &f->def);
        call(&req, NULL, 0);
        s->floor_sum -= IF_FLOOR;
}

/* Bridges */

static void write_file(const char *path, const char *s) {
        FILE *f = fopen(path, "we");

        if (!f || fputs(s, f) < 0 || fclose(f) != 0)
                die("%s: %m", path);
}

static int lookup_ifindex(const char *name) {
        NetdevLink l;
        int r = netdev_link_lookup(name, &l);

        if (r < 0)
                die("lookup of %s: %s", name, strerror(-r));
        return l.ifindex;
}

static bool has_carrier(const char *name) {
        char path[128], c = 0;
        FILE *f;

        snprintf(path, sizeof path, "/sys/class/net/%s/carrier", name);
        f = fopen(path, "re");
        if (!f)
                return false;
        if (fread(&c, 1, 1, f) != 1)
                c = 0;
        fclose(f);
        return c == '1';
}

/* A bridge made by the helper, with one tap (its fd held open, never read: the tap has carrier
 * and drops what it cannot queue) so that the bridge has carrier and its root qdisc is used. */
static void side_create(Side *s) {
        NhRequest req = { .verb = NH_VERB_BRIDGE_CREATE };
        int fd = -1;

        snprintf(req.bridge_create.ifname, sizeof req.bridge_create.ifname, "%s", s->bridge);
        call(&req, NULL, 0);
        req = (NhRequest) { .verb = NH_VERB_TAP_CREATE };
        snprintf(req.tap_create.ifname, sizeof req.tap_create.ifname, "%s", s->tap);
        snprintf(req.tap_create.bridge, sizeof req.tap_create.bridge, "%s", s->bridge);
        req.tap_create.queues = 1;
        req.tap_create.noqueue = true;
        call(&req, &fd, 1);
        if (fd < 0)
                die("no fd for %s", s->tap);
        s->tap_fd = fd;
        s->ifindex = lookup_ifindex(s->bridge);
        for (int i = 0; i < 300 && !has_carrier(s->bridge); i++)
                usleep(10 * 1000);
        if (!has_carrier(s->bridge))
                die("bridge %s has no carrier", s->bridge);
}

static void virtbus_setup(Side *s) {
        NhRequest req = { .verb = NH_VERB_QOS_BRIDGE_SETUP };
        NhQosBridgeSetup *b = &req.qos_bridge;
        char *error = NULL;
        QosBridgePlan p;

        if (qos_plan_bridge(&net, 0, caps, &p, &error) < 0)
                die("plan: %s", error);
        snprintf(b->ifname, sizeof b->ifname, "%s", s->bridge);
        b->leaf = p.leaf;
        b->has_hierarchy = p.hierarchy;
        b->root = p.root_class;
        b->def = p.default_class;
        call(&req, NULL, 0);
}

/* libvirt's virNetDevBandwidthSet(…, hierarchical_class = true): clear, then root, 1:1, 1:2 and its
 * leaf. Its last command, "filter add … prio 1 handle 1 fw flowid 1", needs cls_fw, which this
 * kernel lacks (real libvirt fails here); it would not match our frames anyway (no fw mark). */
static void libvirt_setup(Side *s) {
        char line[CMD_MAX];

        snprintf(line, sizeof line, "qdisc del dev %s root", s->bridge);
        (void) tc_run(line);
        snprintf(line, sizeof line, "qdisc del dev %s ingress", s->bridge);
        (void) tc_run(line);
        snprintf(line, sizeof line, "qdisc add dev %s root handle 1: htb default 2", s->bridge);
        tc_must(line);
        snprintf(line, sizeof line, "class add dev %s parent 1: classid 1:1 htb rate %ukbps ceil %ukbps quantum %u",
                 s->bridge, NET_AVERAGE, NET_AVERAGE, qos_quantum(NET_AVERAGE));
        tc_must(line);
        snprintf(line, sizeof line, "class add dev %s parent 1:1 classid 1:2 htb rate %ukbps quantum %u",
                 s->bridge, NET_AVERAGE, qos_quantum(NET_AVERAGE));
        tc_must(line);
        snprintf(line, sizeof line, "qdisc add dev %s parent 1:2 handle 2: %s", s->bridge,
                 caps & QOS_CAP_SFQ ? "sfq perturb 10" : "pfifo limit 1000");
        tc_must(line);
}

/* The bridges up to n floors: virtbus through the helper (one request each, as the daemon does),
 * libvirt's commands through one tc -batch (filling is not what is measured). */
static void fill(Side sides[static N_SIDES], size_t n) {
        Side *v = &sides[VIRTBUS], *l = &sides[LIBVIRT], *r = &sides[REFERENCE];
        size_t from = l->n_floors, k = 0;
        char (*lines)[CMD_MAX];
        uint64_t t0;

        if (n > MAX_FLOORS)
                die("at most %u floors", MAX_FLOORS);
        t0 = now_ns();
        for (size_t i = v->n_floors; i < n; i++)
                virtbus_plug(v, i);
        v->n_floors = n;
        progress("  virtbus: %zu floors plugged through the helper in %.2f s", n - from, (now_ns() - t0) / 1e9);

        lines = calloc((n - from) * 4 + 1, CMD_MAX);
        if (!lines)
                die("out of memory");
        for (size_t i = from; i < n; i++) {
                k += libvirt_plug_lines(l, i, l->floor_sum + IF_FLOOR, lines + k);
                l->floor_sum += IF_FLOOR;
                if (class_id_of(i) + 800 >= 1000)
                        libvirt_handle_overflow = true;
        }
        if (k > 0)
                tc_batch(lines, k);
        l->n_floors = n;

        /* the reference: the same classes and leaves, no filters */
        k = 0;
        for (size_t i = r->n_floors; i < n; i++) {
                char plug[4][CMD_MAX];

                libvirt_plug_lines(r, i, r->floor_sum + IF_FLOOR, plug);
                memcpy(lines[k++], plug[0], CMD_MAX);
                memcpy(lines[k++], plug[1], CMD_MAX);
                memcpy(lines[k++], plug[3], CMD_MAX);
                r->floor_sum += IF_FLOOR;
        }
        if (k > 0)
                tc_batch(lines, k);
        r->n_floors = n;
        free(lines);
}

static const NetdevClass *find_class(const NetdevClass *c, size_t n, uint32_t handle) {
        for (size_t i = 0; i < n; i++)
                if (c[i].handle == handle)
                        return &c[i];
        return NULL;
}

/* Bursts as tc computes them: in whole psched ticks from a time in microseconds, truncated; a
 * few ticks off what virtbus computes (qos_default_burst(), rounded up). */
static bool burst_close(uint64_t a, uint64_t b, uint64_t rate) {
        uint64_t d = a > b ? a - b : b - a;

        return qos_burst_equal(a, b, rate) || d * 10 <= MAX(a, b);
}

/* The two bridges must hold the same classes: same parents, rates, ceilings and quanta, bursts
 * within tc's rounding. */
static void check_same_classes(const Side sides[static N_SIDES]) {
        NetdevClass *c[N_SIDES] = {};
        size_t n[N_SIDES] = {};

        for (int m = 0; m < N_SIDES; m++)
                if (netdev_class_list(sides[m].ifindex, &c[m], &n[m]) < 0)
                        die("cannot list the classes of %s", sides[m].bridge);
        for (int m = LIBVIRT; m < N_SIDES; m++) {
                if (n[VIRTBUS] != n[m])
                        die("%s has %zu classes, %s %zu", sides[VIRTBUS].bridge, n[VIRTBUS], sides[m].bridge,
                            n[m]);
                for (size_t i = 0; i < n[VIRTBUS]; i++) {
                        const NetdevClass *x = &c[VIRTBUS][i], *y = find_class(c[m], n[m], x->handle);

                        if (!y || x->parent != y->parent || x->htb.rate != y->htb.rate ||
                            x->htb.ceil != y->htb.ceil || !burst_close(x->htb.burst, y->htb.burst, x->htb.rate) ||
                            !burst_close(x->htb.cburst, y->htb.cburst, x->htb.ceil) ||
                            (x->htb_level == 0 && x->htb.quantum != y->htb.quantum))
                                die("class %x:%x differs between %s and %s: parent %x/%x rate %" PRIu64 "/%" PRIu64
                                    " ceil %" PRIu64 "/%" PRIu64 " burst %" PRIu64 "/%" PRIu64 " cburst %" PRIu64
                                    "/%" PRIu64 " quantum %u/%u",
                                    QOS_HANDLE_MAJ(x->handle), QOS_HANDLE_MIN(x->handle), sides[VIRTBUS].bridge,
                                    sides[m].bridge, x->parent, y ? y->parent : 0, x->htb.rate,
                                    y ? y->htb.rate : 0, x->htb.ceil, y ? y->htb.ceil : 0, x->htb.burst,
                                    y ? y->htb.burst : 0, x->htb.cburst, y ? y->htb.cburst : 0, x->htb.quantum,
                                    y ? y->htb.quantum : 0);
                }
        }
        for (int m = 0; m < N_SIDES; m++)
                free(c[m]);
}

/* Latency */

typedef struct Latency {
        Samples plug[_MODE_MAX], unplug[_MODE_MAX];
} Latency;

static void measure_latency(Side sides[static N_SIDES], Latency *lat) {
        for (unsigned r = 0; r < arg.reps; r++)
                for (int k = 0; k < _MODE_MAX; k++) {
                        Mode m = (Mode) ((k + r) % _MODE_MAX); /* alternate who goes first */
                        Side *s = &sides[m];
                        size_t i = s->n_floors; /* one more interface */
                        uint64_t t0, t1, t2;

                        t0 = now_ns();
                        if (m == VIRTBUS)
                                virtbus_plug(s, i);
                        else
                                libvirt_plug(s, i);
                        t1 = now_ns();
                        if (m == VIRTBUS)
                                virtbus_unplug(s, i);
                        else
                                libvirt_unplug(s, i);
                        t2 = now_ns();
                        samples_add(&lat->plug[m], (t1 - t0) / 1e6);
                        samples_add(&lat->unplug[m], (t2 - t1) / 1e6);
                }
}

/* What the helper's FLOOR_ADD / FLOOR_REMOVE read before they change anything: dumps of the bridge's
 * qdiscs (one leaf per floor) and filters (one node per floor), here through the same netdev code,
 * median of a few, in ms. They grow with the number of floors, unlike the changes themselves. */
typedef struct Dumps {
        double qdiscs, filters;
} Dumps;

static void measure_dumps(const Side *s, Dumps *ret) {
        Samples q = {}, f = {};

        for (int i = 0; i < 9; i++) {
                NetdevQdisc *qd = NULL;
                NetdevFilter *fl = NULL;
                size_t n = 0;
                uint64_t t0 = now_ns(), t1, t2;

                if (netdev_qdisc_list(s->ifindex, &qd, &n) < 0)
                        die("cannot list the qdiscs of %s", s->bridge);
                t1 = now_ns();
                if (netdev_filter_list(s->ifindex, QOS_ROOT_QDISC, &fl, &n) < 0)
                        die("cannot list the filters of %s", s->bridge);
                t2 = now_ns();
                samples_add(&q, (t1 - t0) / 1e6);
                samples_add(&f, (t2 - t1) / 1e6);
                free(qd);
                free(fl);
        }
        ret->qdiscs = percentile(&q, 50);
        ret->filters = percentile(&f, 50);
        free(q.v);
        free(f.v);
}

/* Classification throughput */

typedef struct Frames {
        uint8_t (*buf)[FRAME_LEN];
        size_t n;
} Frames;

/* IPv4 frames (libvirt's filters match IPv4 only) to each of the MACs. */
static Frames make_frames(const EtherAddr *dst, size_t n) {
        static const uint8_t ip[20] = { 0x45, 0, 0, 46, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2 };
        Frames f = { .buf = calloc(n, FRAME_LEN), .n = n };

        if (!f.buf)
                die("out of memory");
        for (size_t i = 0; i < n; i++) {
                memcpy(f.buf[i], dst[i].bytes, 6);
                memcpy(f.buf[i] + 6, (uint8_t[]) { 0x02, 0, 0, 0, 0, 0x01 }, 6);
                f.buf[i][12] = 0x08;
                f.buf[i][13] = 0x00;
                memcpy(f.buf[i] + 14, ip, sizeof ip);
        }
        return f;
}

typedef struct ClassCount {
        uint64_t floor_packets; /* all floor classes */
        uint64_t default_packets;
        uint64_t *per_floor;    /* n_floors entries */
} ClassCount;

static void class_count(const Side *s, ClassCount *ret) {
        NetdevClass *c = NULL;
        size_t n = 0;

        if (netdev_class_list(s->ifindex, &c, &n) < 0)
                die("cannot list the classes of %s", s->bridge);
        ret->floor_packets = ret->default_packets = 0;
        for (size_t i = 0; i < n; i++) {
                unsigned id = QOS_HANDLE_MIN(c[i].handle);

                if (c[i].handle == QOS_DEFAULT_CLASS)
                        ret->default_packets = c[i].stats.packets;
                else if (id >= QOS_CLASS_ID_MIN && id < QOS_CLASS_ID_MIN + s->n_floors) {
                        ret->floor_packets += c[i].stats.packets;
                        ret->per_floor[id - QOS_CLASS_ID_MIN] = c[i].stats.packets;
                }
        }
        free(c);
}

/* Sends `total` frames round-robin over f into the bridge (AF_PACKET, through its root qdisc) and
 * returns the time it took in ns; sent[i] counts the frames to f[i] the kernel took. The whole path
 * (qdisc enqueue with the classification, dequeue, bridge, tap) runs in this thread. Every frame
 * carries an SO_PRIORITY control message: with steer, the class of its MAC (HTB then skips the
 * filters), else 0 (no effect): the same system call either way. */
static uint64_t send_frames(int sk, const Side *s, const Frames *f, unsigned total, bool steer, uint64_t *sent,
                            unsigned *refused) {
        struct sockaddr_ll sa = {
                .sll_family = AF_PACKET, .sll_ifindex = s->ifindex, .sll_protocol = htons(ETH_P_IP),
                .sll_halen = ETH_ALEN,
        };
        static union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } control[BATCH];
        struct mmsghdr msgs[BATCH];
        struct iovec iov[BATCH];
        unsigned done = 0;
        size_t next = 0;
        uint64_t t0;

        *refused = 0;
        memset(msgs, 0, sizeof msgs);
        t0 = now_ns();
        while (done < total) {
                unsigned b = MIN((unsigned) BATCH, total - done);
                int r;

                for (unsigned j = 0; j < b; j++) {
                        size_t k = (next + j) % f->n;
                        struct cmsghdr *c;
                        int prio = steer ? (int) QOS_FLOOR_CLASS(class_id_of(k)) : 0;

                        iov[j] = (struct iovec) { .iov_base = f->buf[k], .iov_len = FRAME_LEN };
                        msgs[j].msg_hdr = (struct msghdr) {
                                .msg_name = &sa, .msg_namelen = sizeof sa, .msg_iov = &iov[j], .msg_iovlen = 1,
                                .msg_control = control[j].buf, .msg_controllen = sizeof control[j].buf,
                        };
                        c = CMSG_FIRSTHDR(&msgs[j].msg_hdr);
                        c->cmsg_level = SOL_SOCKET;
                        c->cmsg_type = SO_PRIORITY;
                        c->cmsg_len = CMSG_LEN(sizeof(int));
                        memcpy(CMSG_DATA(c), &prio, sizeof prio);
                }
                r = sendmmsg(sk, msgs, b, 0);
                if (r < 0) {
                        if (errno != ENOBUFS && errno != EAGAIN)
                                die("sendmmsg: %m");
                        r = 0;
                        (*refused)++; /* the first frame of the batch was dropped at the qdisc */
                        next = (next + 1) % f->n;
                        done++;
                }
                for (int j = 0; j < r; j++)
                        sent[(next + j) % f->n]++;
                next = (next + r) % f->n;
                done += r;
        }
        return now_ns() - t0;
}

typedef struct Throughput {
        Samples ns[N_SIDES];       /* ns per frame, one per round */
        Samples cls[_MODE_MAX];    /* ns per frame above the reference's in the same round */
        Samples advantage;         /* libvirt's ns per frame / virtbus' in the same round */
        unsigned misclassified[N_SIDES];
        unsigned refused[N_SIDES];
} Throughput;

/* Rounds of arg.frames frames through each bridge, the order rotating from round to round; each run
 * is checked against the class counters. Differences and ratios are taken within a round, so that
 * the slow drift of these machines cancels out. */
static void measure_throughput(Side sides[static N_SIDES], size_t n, Throughput *tp) {
        Frames f = make_frames(macs, n);
        uint64_t *sent = calloc(n, sizeof *sent);
        ClassCount before = { .per_floor = calloc(n, sizeof(uint64_t)) };
        ClassCount after = { .per_floor = calloc(n, sizeof(uint64_t)) };
        int sk;

        if (!sent || !before.per_floor || !after.per_floor)
                die("out of memory");
        sk = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0); /* protocol 0: sends only */
        if (sk < 0)
                die("AF_PACKET socket: %m");

        /* warm-up: caches, and each tap's ring filled (from then on it drops at a constant cost) */
        for (int m = 0; m < N_SIDES; m++) {
                unsigned refused;

                send_frames(sk, &sides[m], &f, MAX(arg.frames / 2, 2000u), m == REFERENCE, sent, &refused);
        }

        for (unsigned r = 0; r < arg.tput_reps; r++) {
                double ns[N_SIDES];

                for (int k = 0; k < N_SIDES; k++) {
                        int m = (k + r) % N_SIDES;
                        Side *s = &sides[m];
                        unsigned refused;
                        uint64_t t, classified;

                        memset(sent, 0, n * sizeof *sent);
                        memset(before.per_floor, 0, n * sizeof(uint64_t));
                        memset(after.per_floor, 0, n * sizeof(uint64_t));
                        class_count(s, &before);
                        t = send_frames(sk, s, &f, arg.frames, m == REFERENCE, sent, &refused);
                        class_count(s, &after);
                        ns[m] = (double) t / arg.frames;
                        samples_add(&tp->ns[m], ns[m]);
                        tp->refused[m] += refused;
                        if (arg.verbose)
                                progress("  %s, %zu floors: %.0f ns per frame", side_name[m], n, ns[m]);

                        /* Every frame in the class of its destination MAC. */
                        classified = after.floor_packets - before.floor_packets;
                        if (classified != arg.frames - refused)
                                tp->misclassified[m]++;
                        for (size_t i = 0; i < s->n_floors; i++)
                                if (after.per_floor[i] - before.per_floor[i] != sent[i]) {
                                        tp->misclassified[m]++;
                                        break;
                                }
                }
                for (int m = 0; m < _MODE_MAX; m++)
                        samples_add(&tp->cls[m], ns[m] - ns[REFERENCE]);
                samples_add(&tp->advantage, ns[LIBVIRT] / ns[VIRTBUS]);
        }
        close(sk);
        free(f.buf);
        free(sent);
        free(before.per_floor);
        free(after.per_floor);
}

/* Output */

static void fmt_ms(double ms, char buf[static 32]) {
        snprintf(buf, 32, ms < 10 ? "%.2f ms" : "%.1f ms", ms);
}

static void row_time(const char *what, size_t n, Samples s[static _MODE_MAX], unsigned pct) {
        double v = percentile(&s[VIRTBUS], pct), l = percentile(&s[LIBVIRT], pct);
        char a[32], b[32];

        fmt_ms(v, a);
        fmt_ms(l, b);
        printf("| %s | %zu | %s | %s | %.1f× |\n", what, n, a, b, l / v);
}

static void usage(void) {
        printf("qos-bench --helper PATH [OPTIONS]\n"
               "  --helper PATH      virtbus-nethelper to drive\n"
               "  --tc PATH          tc for the libvirt-style side (default: tc from PATH)\n"
               "  --sizes N,N,...    floor interfaces present (default 10,100,1000)\n"
               "  --reps R           plug/unplug pairs per size and side (default 200)\n"
               "  --tput-reps K      throughput rounds per size (default 100)\n"
               "  --frames M         frames per bridge and round (default 20000)\n"
               "  --quick            under a minute: --reps 60 --tput-reps 30 --frames 10000\n"
               "  --verbose          show tc's error messages and every throughput run\n");
}

static void parse_argv(int argc, char *argv[]) {
        enum { ARG_HELPER = 0x100, ARG_TC, ARG_SIZES, ARG_REPS, ARG_TPUT_REPS, ARG_FRAMES, ARG_QUICK, ARG_VERBOSE };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "helper", required_argument, NULL, ARG_HELPER },
                { "tc", required_argument, NULL, ARG_TC },
                { "sizes", required_argument, NULL, ARG_SIZES },
                { "reps", required_argument, NULL, ARG_REPS },
                { "tput-reps", required_argument, NULL, ARG_TPUT_REPS },
                { "frames", required_argument, NULL, ARG_FRAMES },
                { "quick", no_argument, NULL, ARG_QUICK },
                { "verbose", no_argument, NULL, ARG_VERBOSE },
                {},
        };
        bool reps = false, tput_reps = false, frames = false;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        usage();
                        exit(EXIT_SUCCESS);
                case ARG_HELPER:
                        arg.helper = optarg;
                        break;
                case ARG_TC:
                        arg.tc = optarg;
                        break;
                case ARG_SIZES: {
                        char *s = optarg, *end;

                        arg.n_sizes = 0;
                        while (*s && arg.n_sizes < ELEMENTSOF(arg.sizes)) {
                                unsigned long v = strtoul(s, &end, 10);

                                if (end == s || v > MAX_FLOORS - 1 || (*end && *end != ','))
                                        die("invalid --sizes: %s", optarg);
                                if (arg.n_sizes > 0 && v <= arg.sizes[arg.n_sizes - 1])
                                        die("--sizes must grow: %s", optarg);
                                arg.sizes[arg.n_sizes++] = v;
                                s = *end ? end + 1 : end;
                        }
                        if (arg.n_sizes == 0)
                                die("invalid --sizes: %s", optarg);
                        break;
                }
                case ARG_REPS:
                        arg.reps = (unsigned) strtoul(optarg, NULL, 10);
                        reps = true;
                        break;
                case ARG_TPUT_REPS:
                        arg.tput_reps = (unsigned) strtoul(optarg, NULL, 10);
                        tput_reps = true;
                        break;
                case ARG_FRAMES:
                        arg.frames = (unsigned) strtoul(optarg, NULL, 10);
                        frames = true;
                        break;
                case ARG_QUICK:
                        arg.quick = true;
                        break;
                case ARG_VERBOSE:
                        arg.verbose = true;
                        break;
                default:
                        exit(EXIT_FAILURE);
                }
        if (arg.quick) {
                if (!reps)
                        arg.reps = 60;
                if (!tput_reps)
                        arg.tput_reps = 30;
                if (!frames)
                        arg.frames = 10000;
        }
        if (!arg.helper)
                die("--helper is required");
        if (arg.reps == 0 || arg.tput_reps == 0 || arg.frames < 1000)
                die("--reps and --tput-reps must be at least 1, --frames at least 1000");
}

/* A private network namespace (and a sysfs that shows it), as the integration tests make. */
static void enter_namespace(void) {
        int lo;

        if (geteuid() != 0)
                die("needs root (a private network namespace, the helper, tc)");
        if (unshare(CLONE_NEWNET | CLONE_NEWNS) < 0)
                die("unshare(CLONE_NEWNET|CLONE_NEWNS): %m");
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
                die("mounting a private sysfs: %m");
        lo = if_nametoindex("lo");
        if (lo <= 0 || netdev_link_set_up(lo) < 0)
                die("cannot bring lo up");
        /* No IPv6 on the new links: no router solicitations or MLD reports in the counters. */
        write_file("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
}

static double median(Samples *s) {
        return percentile(s, 50);
}

int main(int argc, char *argv[]) {
        Side sides[N_SIDES] = {
                [VIRTBUS] = { .bridge = BR_VIRTBUS, .tap = TAP_VIRTBUS, .tap_fd = -1 },
                [LIBVIRT] = { .bridge = BR_LIBVIRT, .tap = TAP_LIBVIRT, .tap_fd = -1 },
                [REFERENCE] = { .bridge = BR_REFERENCE, .tap = TAP_REFERENCE, .tap_fd = -1 },
        };
        Latency lat[ELEMENTSOF(arg.sizes)] = {};
        Dumps dumps[ELEMENTSOF(arg.sizes)] = {};
        Throughput tp[ELEMENTSOF(arg.sizes)] = {};
        char caps_str[QOS_CAPS_STR_MAX];
        NhRequest req = { .verb = NH_VERB_QOS_PROBE };
        uint64_t start = now_ns();
        struct utsname u;
        cpu_set_t all, one;
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        unsigned bad = 0;

        setvbuf(stdout, NULL, _IOLBF, 0);
        parse_argv(argc, argv);
        enter_namespace();
        make_macs();
        net = (Bandwidth) { .inbound = { .set = true, .average = NET_AVERAGE } };

        helper_start();
        caps = call(&req, NULL, 0).qos_caps;
        progress("qos-bench: kernel QoS features: %s", qos_caps_format(caps, caps_str));
        for (int m = 0; m < N_SIDES; m++)
                side_create(&sides[m]);
        virtbus_setup(&sides[VIRTBUS]);
        libvirt_setup(&sides[LIBVIRT]);
        libvirt_setup(&sides[REFERENCE]);
        check_same_classes(sides);

        /* Frames are sent from one CPU: their whole path runs in the sending thread, so this keeps
         * runs comparable; plug/unplug run wherever the scheduler puts the helper and tc. */
        if (sched_getaffinity(0, sizeof all, &all) < 0)
                die("sched_getaffinity: %m");
        CPU_ZERO(&one);
        CPU_SET(ncpu > 1 ? 1 : 0, &one);

        for (size_t z = 0; z < arg.n_sizes; z++) {
                size_t n = arg.sizes[z];

                progress("%zu floors: filling the bridges", n);
                fill(sides, n);
                check_same_classes(sides);
                progress("%zu floors: plug/unplug latency, %u pairs per side", n, arg.reps);
                measure_latency(sides, &lat[z]);
                check_same_classes(sides);
                measure_dumps(&sides[VIRTBUS], &dumps[z]);
                progress("%zu floors: throughput, %u rounds of %u frames per bridge", n, arg.tput_reps,
                         arg.frames);
                (void) sched_setaffinity(0, sizeof one, &one);
                measure_throughput(sides, n, &tp[z]);
                (void) sched_setaffinity(0, sizeof all, &all);
        }
        helper_stop();

        uname(&u);
        printf("### QoS floors: virtbus vs libvirt-style (bench/qos)\n\n");
        printf("Kernel %s, %ld CPUs; leaf qdisc %s (libvirt's sfq %s); per size %u plug+unplug pairs per "
               "side and %u rounds of %u IPv4 frames through each bridge, sides alternating; the run took "
               "%.0f s.\n\n",
               u.release, ncpu, caps & QOS_CAP_SFQ ? "sfq" : "pfifo",
               caps & QOS_CAP_SFQ ? "available" : "is absent on this kernel", arg.reps, arg.tput_reps,
               arg.frames, (now_ns() - start) / 1e9);
        printf("| measure | floors | virtbus (helper, netlink, u32 hash) | libvirt-style (tc processes, "
               "linear u32) | virtbus advantage |\n");
        printf("|---|---:|---:|---:|---:|\n");
        for (size_t z = 0; z < arg.n_sizes; z++)
                row_time("plug, median", arg.sizes[z], lat[z].plug, 50);
        for (size_t z = 0; z < arg.n_sizes; z++)
                row_time("plug, p95", arg.sizes[z], lat[z].plug, 95);
        for (size_t z = 0; z < arg.n_sizes; z++)
                row_time("unplug, median", arg.sizes[z], lat[z].unplug, 50);
        for (size_t z = 0; z < arg.n_sizes; z++)
                row_time("unplug, p95", arg.sizes[z], lat[z].unplug, 95);
        for (size_t z = 0; z < arg.n_sizes; z++) {
                double v = median(&tp[z].ns[VIRTBUS]), l = median(&tp[z].ns[LIBVIRT]);

                printf("| frames/s through the bridge's qdisc, median | %zu | %.0f k | %.0f k | %.2f× |\n",
                       arg.sizes[z], 1e6 / v, 1e6 / l, median(&tp[z].advantage));
        }
        for (size_t z = 0; z < arg.n_sizes; z++) {
                double v = median(&tp[z].cls[VIRTBUS]), l = median(&tp[z].cls[LIBVIRT]);
                char ratio[32] = "— (virtbus within noise)";

                if (v >= 10)
                        snprintf(ratio, sizeof ratio, "%.1f×", l / v);
                printf("| classification: ns per frame above the same classes without filters, median | %zu | %.0f | "
                       "%.0f | %s |\n",
                       arg.sizes[z], v, l, ratio);
        }
        printf("\nThroughput advantage: the median over rounds of libvirt-style ns per frame ÷ virtbus' in the "
               "same round. Classification: each bridge's ns per frame minus, in the same round, a third "
               "bridge's with the same classes and no filters, its frames steered into the same classes by "
               "skb->priority (SO_PRIORITY):");
        for (size_t z = 0; z < arg.n_sizes; z++)
                printf("%s %.0f ns per frame with %zu floors", z ? "," : "", median(&tp[z].ns[REFERENCE]),
                       arg.sizes[z]);
        printf(".\n");
        printf("Dumps the helper makes per request on the virtbus bridge (FLOOR_ADD: qdiscs twice, filters once; "
               "FLOOR_REMOVE: filters once), median:");
        for (size_t z = 0; z < arg.n_sizes; z++)
                printf("%s %.2f ms + %.2f ms with %zu floors", z ? "," : "", dumps[z].qdiscs, dumps[z].filters,
                       arg.sizes[z]);
        printf(" (qdiscs + filters).\n");

        for (size_t z = 0; z < arg.n_sizes; z++)
                for (int m = 0; m < N_SIDES; m++) {
                        bad += tp[z].misclassified[m] + tp[z].refused[m];
                        if (tp[z].misclassified[m] > 0)
                                printf("WARNING: %s, %zu floors: %u runs with frames outside their class\n",
                                       side_name[m], arg.sizes[z], tp[z].misclassified[m]);
                        if (tp[z].refused[m] > 0)
                                printf("WARNING: %s, %zu floors: %u frames dropped at the qdisc\n", side_name[m],
                                       arg.sizes[z], tp[z].refused[m]);
                }
        if (bad == 0)
                printf("Every throughput run was checked against the class counters: each frame was dequeued "
                       "from the class of its destination MAC on all three bridges, none "
                       "dropped.\n");
        if (libvirt_handle_overflow)
                printf("Floor ids from 200 on: libvirt's filter handle 800::(800+id) is refused by tc "
                       "(\"Illegal filter ID\"), so real libvirt cannot plug more than 197 floor interfaces "
                       "into one bridge; the libvirt-style side uses 800::<id in hex> there.\n");
        return EXIT_SUCCESS;
}
