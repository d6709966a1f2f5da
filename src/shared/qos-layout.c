/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <inttypes.h>
#include <stdarg.h>

#include "macro.h"
#include "qos-layout.h"

#define NSEC_PER_SEC UINT64_C(1000000000)
#define NSEC_PER_TICK 64u /* the kernel's PSCHED_SHIFT is 6 */

void qos_mac_keys(const uint8_t mac[static 6], QosU32Key ret[static QOS_MAC_KEYS]) {
        /* Word -16..-13 holds two bytes before the Ethernet header (ignored) and MAC bytes 0..1. */
        ret[0] = (QosU32Key) {
                .val = (uint32_t) mac[0] << 8 | mac[1],
                .mask = 0x0000ffffu,
                .off = -16,
        };
        ret[1] = (QosU32Key) {
                .val = (uint32_t) mac[2] << 24 | (uint32_t) mac[3] << 16 | (uint32_t) mac[4] << 8 | mac[5],
                .mask = 0xffffffffu,
                .off = -12,
        };
}

unsigned qos_mac_bucket(const uint8_t mac[static 6]) {
        /* QOS_MAC_HASH_MASK at QOS_MAC_HASH_OFFSET: the low byte of the word -12..-9 */
        return mac[5];
}

uint32_t qos_mac_bucket_table(const uint8_t mac[static 6]) {
        return QOS_U32_HANDLE(QOS_MAC_TABLE_HTID, qos_mac_bucket(mac), 0);
}

bool qos_mac_from_keys(const QosU32Key *keys, size_t n_keys, uint8_t ret[static 6]) {
        const QosU32Key *hi = NULL, *lo = NULL;

        if (!keys || n_keys != QOS_MAC_KEYS)
                return false;
        for (size_t i = 0; i < n_keys; i++) {
                if (keys[i].off == -16 && keys[i].mask == 0x0000ffffu && !hi)
                        hi = &keys[i];
                else if (keys[i].off == -12 && keys[i].mask == 0xffffffffu && !lo)
                        lo = &keys[i];
                else
                        return false;
        }
        if ((hi->val & ~hi->mask) != 0)
                return false;
        ret[0] = hi->val >> 8;
        ret[1] = hi->val;
        ret[2] = lo->val >> 24;
        ret[3] = lo->val >> 16;
        ret[4] = lo->val >> 8;
        ret[5] = lo->val;
        return true;
}

uint32_t qos_burst_to_ticks(uint64_t bytes, uint64_t rate) {
        unsigned __int128 num, den, ticks;

        if (rate == 0)
                return 0;
        num = (unsigned __int128) bytes * NSEC_PER_SEC;
        den = (unsigned __int128) rate * NSEC_PER_TICK;
        ticks = (num + den - 1) / den;
        if (ticks == 0)
                return 1;
        return ticks > UINT32_MAX ? UINT32_MAX : (uint32_t) ticks;
}

uint64_t qos_ticks_to_burst(uint32_t ticks, uint64_t rate) {
        unsigned __int128 b = (unsigned __int128) ticks * NSEC_PER_TICK * rate / NSEC_PER_SEC;

        return b > UINT64_MAX ? UINT64_MAX : (uint64_t) b;
}

bool qos_burst_equal(uint64_t a, uint64_t b, uint64_t rate) {
        uint64_t d = a > b ? a - b : b - a;
        /* one tick's worth of bytes, rounded up, plus one for the rounding on the way back */
        uint64_t tick =
                (uint64_t) (((unsigned __int128) rate * NSEC_PER_TICK + NSEC_PER_SEC - 1) / NSEC_PER_SEC);

        return d <= tick + 1;
}

int qos_ifb_name(int ifindex, char ret[static IFNAMSIZ]) {
        int n;

        if (ifindex <= 0)
                return -EINVAL;
        n = snprintf(ret, IFNAMSIZ, QOS_IFB_PREFIX "%d", ifindex);
        if (n < 0 || n >= IFNAMSIZ)
                return -EINVAL;
        return 0;
}

const char *qos_caps_format(unsigned caps, char buf[static QOS_CAPS_STR_MAX]) {
        static const char *const names[] = { "htb", "sfq", "ingress", "u32", "mirred", "police", "ifb" };
        size_t l = 0;

        buf[0] = 0;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (caps & (1u << i))
                        l += snprintf(buf + l, QOS_CAPS_STR_MAX - l, "%s%s", l > 0 ? " " : "", names[i]);
        if (l == 0)
                snprintf(buf, QOS_CAPS_STR_MAX, "none");
        return buf;
}

const char *qos_leaf_to_string(QosLeaf leaf) {
        switch (leaf) {
        case QOS_LEAF_PFIFO:
                return "pfifo";
        case QOS_LEAF_SFQ:
                return "sfq";
        default:
                return NULL;
        }
}

_printf_(3, 4) static int fail(char *err, size_t err_size, const char *format, ...) {
        va_list ap;

        if (err && err_size > 0) {
                va_start(ap, format);
                vsnprintf(err, err_size, format, ap);
                va_end(ap);
        }
        return -EINVAL;
}

int qos_htb_params_check(const QosHtbParams *p, char *err, size_t err_size) {
        if (p->rate < 1 || p->rate > QOS_RATE_MAX)
                return fail(err, err_size, "rate %" PRIu64 " out of range 1..%" PRIu64 " bytes/s", p->rate,
                            QOS_RATE_MAX);
        if (p->ceil < p->rate || p->ceil > QOS_RATE_MAX)
                return fail(err, err_size, "ceil %" PRIu64 " out of range %" PRIu64 "..%" PRIu64 " bytes/s",
                            p->ceil, p->rate, QOS_RATE_MAX);
        if (p->burst < 1 || p->burst > QOS_BURST_MAX)
                return fail(err, err_size, "burst %" PRIu64 " out of range 1..%" PRIu64 " bytes", p->burst,
                            QOS_BURST_MAX);
        if (p->cburst < 1 || p->cburst > QOS_BURST_MAX)
                return fail(err, err_size, "cburst %" PRIu64 " out of range 1..%" PRIu64 " bytes", p->cburst,
                            QOS_BURST_MAX);
        if (p->quantum < 1)
                return fail(err, err_size, "quantum 0 out of range 1..%" PRIu32, UINT32_MAX);
        if (p->prio > 7)
                return fail(err, err_size, "prio %" PRIu32 " out of range 0..7", p->prio);
        return 0;
}

int qos_police_params_check(const QosPoliceParams *p, char *err, size_t err_size) {
        if (p->rate < 1 || p->rate > QOS_RATE_MAX)
                return fail(err, err_size, "rate %" PRIu64 " out of range 1..%" PRIu64 " bytes/s", p->rate,
                            QOS_RATE_MAX);
        if (p->burst < 1 || p->burst > QOS_BURST_MAX)
                return fail(err, err_size, "burst %" PRIu64 " out of range 1..%" PRIu64 " bytes", p->burst,
                            QOS_BURST_MAX);
        if (p->mtu < 1 || p->mtu > QOS_POLICE_MTU)
                return fail(err, err_size, "mtu %" PRIu32 " out of range 1..%u bytes", p->mtu,
                            QOS_POLICE_MTU);
        if (p->reserved != 0)
                return fail(err, err_size, "non-zero reserved field");
        return 0;
}
