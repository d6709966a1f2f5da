/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <systemd/sd-journal.h>

#include "log.h"
#include "uuid-util.h"

static int max_level = LOG_INFO;
static const char *ident = "virtbus";
static int use_journal = -1;

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

void log_set_ident(const char *i) {
        ident = i;
}

static bool journal_wanted(void) {
        if (use_journal < 0) {
                /* systemd sets JOURNAL_STREAM when stderr goes to the journal. */
                const char *e = getenv("JOURNAL_STREAM");
                use_journal = !isempty(e);
        }
        return use_journal;
}

/* Journal entries: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, ERRNO when set, then up to two
 * "KEY=value" fields naming the object the message is about. */
static void journal_send(int level, int error, const char *message, const char *field, const char *field2) {
        char msg[2048 + 16], prio[32], id[128], err[32];
        struct iovec iov[6];
        size_t n = 0;

        snprintf(msg, sizeof msg, "MESSAGE=%s", message);
        snprintf(prio, sizeof prio, "PRIORITY=%i", level);
        snprintf(id, sizeof id, "SYSLOG_IDENTIFIER=%s", ident);
        iov[n++] = (struct iovec) { msg, strlen(msg) };
        iov[n++] = (struct iovec) { prio, strlen(prio) };
        iov[n++] = (struct iovec) { id, strlen(id) };
        if (error > 0) {
                snprintf(err, sizeof err, "ERRNO=%i", error);
                iov[n++] = (struct iovec) { err, strlen(err) };
        }
        if (field)
                iov[n++] = (struct iovec) { (char *) field, strlen(field) };
        if (field2)
                iov[n++] = (struct iovec) { (char *) field2, strlen(field2) };
        (void) sd_journal_sendv(iov, n);
}

static int log_dispatch(int level, int error, const char *field, const char *field2, const char *format,
                        va_list ap) {
        char buf[2048];
        int saved = errno;

        if (error < 0)
                error = -error;
        if (level > max_level)
                return -error;

        errno = error; /* for %m */
        vsnprintf(buf, sizeof buf, format, ap);

        if (journal_wanted())
                journal_send(level, error, buf, field, field2);
        else
                fprintf(stderr, "%s[%d]: %s\n", ident, (int) getpid(), buf);

        errno = saved;
        return -error;
}

int log_internal(int level, int error, const char *field, const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = log_dispatch(level, error, field, NULL, format, ap);
        va_end(ap);
        return r;
}

int log_object_internal(int level, int error, const char *key, const char *name, const Uuid *uuid,
                        const char *format, ...) {
        char field[256], field2[128] = "", u[UUID_STR_MAX];
        va_list ap;
        int r;

        snprintf(field, sizeof field, "%s=%s", key, strempty(name));
        if (uuid && !uuid_is_null(uuid))
                snprintf(field2, sizeof field2, "%s_UUID=%s", key, uuid_format(uuid, u));
        va_start(ap, format);
        r = log_dispatch(level, error, field, field2[0] ? field2 : NULL, format, ap);
        va_end(ap);
        return r;
}

int free_and_strdup(char **p, const char *s) {
        char *t = NULL;

        if (s) {
                t = strdup(s);
                if (!t)
                        return -ENOMEM;
        }
        free(*p);
        *p = t;
        return 0;
}
