/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "bandwidth-params.h"
#include "errors.h"
#include "i18n.h"
#include "xml-util.h"

typedef struct Field {
        const char *name;
        bool inbound;
        size_t offset;
} Field;

static const Field fields[] = {
        { BANDWIDTH_IN_AVERAGE, true, offsetof(BandwidthRate, average) },
        { BANDWIDTH_IN_PEAK, true, offsetof(BandwidthRate, peak) },
        { BANDWIDTH_IN_BURST, true, offsetof(BandwidthRate, burst) },
        { BANDWIDTH_IN_FLOOR, true, offsetof(BandwidthRate, floor) },
        { BANDWIDTH_OUT_AVERAGE, false, offsetof(BandwidthRate, average) },
        { BANDWIDTH_OUT_PEAK, false, offsetof(BandwidthRate, peak) },
        { BANDWIDTH_OUT_BURST, false, offsetof(BandwidthRate, burst) },
};

static bool is_floor(const Field *f) {
        return streq(f->name, BANDWIDTH_IN_FLOOR);
}

/* libvirt's names of the typed-parameter types, for its messages */
static const char *type_name(const char *signature) {
        static const char *const names[][2] = {
                { "i", "int" }, { "u", "uint" },   { "x", "llong" },  { "t", "ullong" },
                { "d", "double" }, { "b", "boolean" }, { "s", "string" },
        };

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(signature, names[i][0]))
                        return names[i][1];
        return signature;
}

int bandwidth_params_read(sd_bus_message *m, bool allow_floor, BandwidthUpdate *ret, sd_bus_error *error) {
        BandwidthUpdate u = {};
        bool seen[ELEMENTSOF(fields)] = {};
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key, *contents;
                BandwidthRate *rate;
                uint32_t v;
                size_t i;

                r = sd_bus_message_read(m, "s", &key);
                if (r < 0)
                        return r;
                for (i = 0; i < ELEMENTSOF(fields); i++)
                        if (streq(key, fields[i].name) && (allow_floor || !is_floor(&fields[i])))
                                break;
                if (i >= ELEMENTSOF(fields))
                        return libvirt_error_setf(error, EINVAL, _("argument unsupported: parameter '%s' not supported"),
                                                  key);
                if (seen[i])
                        return libvirt_error_setf(error, EINVAL,
                                                  _("invalid argument: parameter '%s' occurs multiple times"), key);
                seen[i] = true;
                r = sd_bus_message_peek_type(m, NULL, &contents);
                if (r < 0)
                        return r;
                if (!streq_ptr(contents, "u"))
                        return libvirt_error_setf(error, EINVAL,
                                                  _("invalid argument: invalid type '%s' for field '%s', expected 'uint'"),
                                                  type_name(strempty(contents)), key);
                r = sd_bus_message_read(m, "v", "u", &v);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;

                rate = fields[i].inbound ? &u.inbound : &u.outbound;
                *(uint64_t *) ((uint8_t *) rate + fields[i].offset) = v;
                if (fields[i].inbound)
                        u.inbound_specified = true;
                else
                        u.outbound_specified = true;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        *ret = u;
        return 0;
}

void bandwidth_update_merge(const BandwidthUpdate *u, const Bandwidth *old, Bandwidth *ret) {
        Bandwidth b = *old;

        if (u->inbound_specified) {
                b.inbound = u->inbound;
                b.inbound.set = b.inbound.average > 0 || b.inbound.floor > 0;
                if (!b.inbound.set)
                        b.inbound = (BandwidthRate) {};
        }
        if (u->outbound_specified) {
                b.outbound = u->outbound;
                b.outbound.set = b.outbound.average > 0;
                if (!b.outbound.set)
                        b.outbound = (BandwidthRate) {};
        }
        *ret = b;
}

int bandwidth_check(const Bandwidth *bw, bool allow_floor, sd_bus_error *error) {
        _cleanup_(xmlFreeDocp) xmlDoc *doc = NULL;
        _cleanup_free_ char *xml = NULL, *err = NULL;
        StrBuf b = {};
        Bandwidth parsed;
        int r;

        if (!bandwidth_is_set(bw))
                return 0;
        bandwidth_format(&b, bw, 0);
        xml = strbuf_steal(&b);
        if (!xml)
                return -ENOMEM;
        r = xml_parse_string(xml, &doc, &err);
        if (r < 0)
                return libvirt_error_setf(error, r, _("internal error: bandwidth does not format: %s"), strna(err));
        r = bandwidth_parse(xmlDocGetRootElement(doc), allow_floor, &parsed, &err);
        if (r < 0)
                return libvirt_error_setf(error, r, "%s", strna(err));
        return 0;
}

int bandwidth_params_append(sd_bus_message *reply, const Bandwidth *bw, bool with_floor) {
        int r;

        r = sd_bus_message_open_container(reply, 'a', "{sv}");
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                const BandwidthRate *rate = fields[i].inbound ? &bw->inbound : &bw->outbound;
                uint64_t v = rate->set ? *(const uint64_t *) ((const uint8_t *) rate + fields[i].offset) : 0;

                if (!with_floor && is_floor(&fields[i]))
                        continue;
                r = sd_bus_message_append(reply, "{sv}", fields[i].name, "u", (uint32_t) MIN(v, (uint64_t) UINT32_MAX));
                if (r < 0)
                        return r;
        }
        return sd_bus_message_close_container(reply);
}
