/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <stdarg.h>
#include <stdlib.h>
#include <systemd/sd-journal.h>

#include "log.h"

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

static int log_dispatch(int level, int error, const char *field, const char *format, va_list ap) {
        char buf[2048];
        int saved = errno;

        if (error < 0)
                error = -error;
        if (level > max_level)
                return -error;

        errno = error; /* for %m */
        vsnprintf(buf, sizeof buf, format, ap);

        if (journal_wanted()) {
                if (field)
                        sd_journal_send("MESSAGE=%s", buf, "PRIORITY=%i", level, "SYSLOG_IDENTIFIER=%s", ident,
                                        "%s", field, error > 0 ? "ERRNO=%i" : NULL, error, NULL);
                else
                        sd_journal_send("MESSAGE=%s", buf, "PRIORITY=%i", level, "SYSLOG_IDENTIFIER=%s", ident,
                                        error > 0 ? "ERRNO=%i" : NULL, error, NULL);
        } else
                fprintf(stderr, "%s[%d]: %s\n", ident, (int) getpid(), buf);

        errno = saved;
        return -error;
}

int log_internal(int level, int error, const char *field, const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = log_dispatch(level, error, field, format, ap);
        va_end(ap);
        return r;
}

int log_object_internal(int level, int error, const char *key, const char *name, const char *format, ...) {
        char field[256];
        va_list ap;
        int r;

        snprintf(field, sizeof field, "%s=%s", key, strempty(name));
        va_start(ap, format);
        r = log_dispatch(level, error, field, format, ap);
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
