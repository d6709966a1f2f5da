/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _pure_ __attribute__((pure))
#define _noreturn_ __attribute__((noreturn))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
/* Length of a string literal, at compile time. */
#define STRLEN(s) (sizeof("" s "") - 1)
#ifndef MIN /* glib.h has the same ones */
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#endif

/* Hand ownership of a pointer/fd out of a _cleanup_ variable. */
#define TAKE_PTR(p)                       \
        ({                                \
                typeof(p) _taken_ = (p);  \
                (p) = NULL;               \
                _taken_;                  \
        })
#define TAKE_FD(fd)                       \
        ({                                \
                int _taken_fd_ = (fd);    \
                (fd) = -EBADF;            \
                _taken_fd_;               \
        })

static inline void freep(void *p) {
        free(*(void **) p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                close(fd);
                errno = saved;
        }
        return -EBADF;
}
static inline void closep(int *fd) {
        *fd = safe_close(*fd);
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

/* For types with a plain "free" function: DEFINE_TRIVIAL_CLEANUP_FUNC(Foo *, foo_free) → foo_freep */
#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func) \
        static inline void func##p(type *p) {   \
                if (*p)                         \
                        func(*p);               \
        }

static inline bool streq(const char *a, const char *b) {
        return strcmp(a, b) == 0;
}
static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return streq(a, b);
}
static inline bool isempty(const char *s) {
        return !s || !*s;
}
static inline const char *strempty(const char *s) {
        return s ?: "";
}
static inline const char *strna(const char *s) {
        return s ?: "n/a";
}
static inline const char *startswith(const char *s, const char *prefix) {
        size_t l = strlen(prefix);
        return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}
/* CLOCK_MONOTONIC in microseconds, for deadlines outside an event loop. */
static inline uint64_t now_monotonic_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000 + (uint64_t) ts.tv_nsec / 1000;
}
static inline bool endswith(const char *s, const char *suffix) {
        size_t a = strlen(s), b = strlen(suffix);
        return a >= b && strcmp(s + a - b, suffix) == 0;
}
static inline const char *yes_no(bool b) {
        return b ? "yes" : "no";
}

/* Replace *p with a copy of s (or NULL). */
int free_and_strdup(char **p, const char *s);

/* errno-style result of a libc call that returns -1 on failure. */
#define RET_NERRNO(expr)                 \
        ({                               \
                long _r_ = (expr);       \
                _r_ < 0 ? -errno : 0;    \
        })

#include <dirent.h>
static inline void closedirp(DIR **d) {
        if (*d)
                closedir(*d);
}

#define new0(t, n) ((t *) calloc((n), sizeof(t)))
