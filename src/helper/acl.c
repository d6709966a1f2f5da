/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <fnmatch.h>
#include <libgen.h>
#include <stdarg.h>
#include <sys/stat.h>

#include "acl.h"
#include "ifname.h"
#include "log.h"
#include "macro.h"

#define ACL_FILE_SIZE_MAX (1024u * 1024u)

typedef struct AclRule {
        bool allow;
        char *pattern; /* NULL = "all" */
} AclRule;

struct Acl {
        char *path;
        char *load_error; /* set: the file could not be loaded, everything is denied */
        AclRule *rules;
        size_t n_rules;
};

/* The files currently being read, outermost first, to recognise include cycles. */
typedef struct IncludeStack {
        dev_t dev[ACL_INCLUDE_DEPTH_MAX + 1];
        ino_t ino[ACL_INCLUDE_DEPTH_MAX + 1];
        unsigned depth;
} IncludeStack;

Acl *acl_free(Acl *acl) {
        if (!acl)
                return NULL;
        for (size_t i = 0; i < acl->n_rules; i++)
                free(acl->rules[i].pattern);
        free(acl->rules);
        free(acl->path);
        free(acl->load_error);
        return mfree(acl);
}

Acl *acl_new_failed(const char *path, const char *error) {
        Acl *acl = calloc(1, sizeof *acl);

        if (!acl)
                return NULL;
        acl->path = strdup(strempty(path));
        acl->load_error = strdup(isempty(error) ? "unknown error" : error);
        if (!acl->path || !acl->load_error)
                return acl_free(acl);
        return acl;
}

const char *acl_load_error(const Acl *acl) {
        return acl ? acl->load_error : NULL;
}

const char *acl_path(const Acl *acl) {
        return acl ? acl->path : NULL;
}

size_t acl_n_rules(const Acl *acl) {
        return acl ? acl->n_rules : 0;
}

static bool rule_matches(const AclRule *r, const char *bridge) {
        return !r->pattern || fnmatch(r->pattern, bridge, 0) == 0;
}

bool acl_denies(const Acl *acl, const char *bridge) {
        if (!acl || acl->load_error || isempty(bridge))
                return true;
        for (size_t i = 0; i < acl->n_rules; i++)
                if (!acl->rules[i].allow && rule_matches(&acl->rules[i], bridge))
                        return true;
        return false;
}

bool acl_allows(const Acl *acl, const char *bridge) {
        bool allowed = false;

        if (!acl || acl->load_error || isempty(bridge))
                return false;
        for (size_t i = 0; i < acl->n_rules; i++) {
                if (!rule_matches(&acl->rules[i], bridge))
                        continue;
                if (!acl->rules[i].allow)
                        return false; /* deny wins, wherever it appears */
                allowed = true;
        }
        return allowed;
}

_printf_(2, 3) static int set_error(char **ret_error, const char *format, ...) {
        va_list ap;
        char *s;

        if (!ret_error)
                return 0;
        va_start(ap, format);
        if (vasprintf(&s, format, ap) < 0)
                s = NULL;
        va_end(ap);
        free(*ret_error);
        *ret_error = s;
        return 0;
}

static bool is_glob(const char *s) {
        return strpbrk(s, "*?[") != NULL;
}

/* A rule names one interface or a glob over interface names; anything else is a typo that
 * would otherwise silently never match. */
static bool pattern_valid(const char *s) {
        if (!is_glob(s))
                return ifname_valid(s);
        if (strlen(s) > 255)
                return false;
        for (const char *p = s; *p; p++)
                if ((unsigned char) *p <= ' ' || (unsigned char) *p >= 0x7f || *p == '/')
                        return false;
        return true;
}

static int add_rule(Acl *acl, bool allow, const char *pattern) {
        AclRule *rules;
        char *p = NULL;

        if (pattern) {
                p = strdup(pattern);
                if (!p)
                        return -ENOMEM;
        }
        rules = reallocarray(acl->rules, acl->n_rules + 1, sizeof *rules);
        if (!rules) {
                free(p);
                return -ENOMEM;
        }
        acl->rules = rules;
        acl->rules[acl->n_rules++] = (AclRule) { .allow = allow, .pattern = p };
        return 0;
}

static char *resolve_include(const char *including, const char *file) {
        _cleanup_free_ char *copy = NULL;
        char *p;

        if (file[0] == '/')
                return strdup(file);
        copy = strdup(including);
        if (!copy)
                return NULL;
        if (asprintf(&p, "%s/%s", dirname(copy), file) < 0)
                return NULL;
        return p;
}

static int load_file(Acl *acl, const char *path, bool missing_ok, IncludeStack *stack, char **ret_error);

static int parse_line(Acl *acl, const char *path, unsigned line, char *s, IncludeStack *stack,
                      char **ret_error) {
        char *cmd, *arg, *extra, *save = NULL;

        cmd = strtok_r(s, " \t\r\v\f\n", &save);
        if (!cmd || cmd[0] == '#')
                return 0;
        arg = strtok_r(NULL, " \t\r\v\f\n", &save);
        extra = strtok_r(NULL, " \t\r\v\f\n", &save);
        if (arg && arg[0] == '#')
                arg = extra = NULL;
        else if (extra && extra[0] == '#')
                extra = NULL; /* trailing comment */

        if (!streq(cmd, "allow") && !streq(cmd, "deny") && !streq(cmd, "include")) {
                set_error(ret_error, "%s:%u: unknown directive '%s' (expected allow, deny or include)", path,
                          line, cmd);
                return -EINVAL;
        }
        if (!arg) {
                set_error(ret_error, "%s:%u: '%s' needs an argument", path, line, cmd);
                return -EINVAL;
        }
        if (extra) {
                set_error(ret_error, "%s:%u: unexpected '%s' after '%s %s'", path, line, extra, cmd, arg);
                return -EINVAL;
        }

        if (streq(cmd, "include")) {
                _cleanup_free_ char *inc = NULL;
                _cleanup_free_ char *err = NULL;
                int r;

                if (stack->depth >= ACL_INCLUDE_DEPTH_MAX) {
                        set_error(ret_error, "%s:%u: includes nested deeper than %d levels", path, line,
                                  ACL_INCLUDE_DEPTH_MAX);
                        return -ELOOP;
                }
                inc = resolve_include(path, arg);
                if (!inc)
                        return -ENOMEM;
                r = load_file(acl, inc, false, stack, &err);
                if (r < 0) {
                        set_error(ret_error, "%s:%u: in included file: %s", path, line, strna(err));
                        return r;
                }
                return 0;
        }

        if (streq(arg, "all"))
                return add_rule(acl, streq(cmd, "allow"), NULL);
        if (!pattern_valid(arg)) {
                set_error(ret_error, "%s:%u: '%s' is neither a valid interface name nor a glob", path, line,
                          arg);
                return -EINVAL;
        }
        return add_rule(acl, streq(cmd, "allow"), arg);
}

static int load_file(Acl *acl, const char *path, bool missing_ok, IncludeStack *stack, char **ret_error) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ char *buf = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t size = 0, total = 0;
        unsigned line = 0;
        struct stat st;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0) {
                if (errno == ENOENT && missing_ok) {
                        log_debug("ACL file %s does not exist, denying every bridge.", path);
                        return 0;
                }
                r = -errno;
                set_error(ret_error, "%s: cannot open: %s", path, strerror(-r));
                return r;
        }
        if (fstat(fd, &st) < 0) {
                r = -errno;
                set_error(ret_error, "%s: cannot stat: %s", path, strerror(-r));
                return r;
        }
        if (!S_ISREG(st.st_mode)) {
                set_error(ret_error, "%s: not a regular file", path);
                return -EBADFD;
        }
        /* Whoever can write the ACL controls which bridges VMs can reach. */
        if (st.st_mode & (S_IWGRP | S_IWOTH)) {
                set_error(ret_error, "%s: refusing a group- or world-writable ACL file", path);
                return -EPERM;
        }
        for (unsigned i = 0; i < stack->depth; i++)
                if (stack->dev[i] == st.st_dev && stack->ino[i] == st.st_ino) {
                        set_error(ret_error, "%s: include cycle", path);
                        return -ELOOP;
                }

        f = fdopen(fd, "re");
        if (!f)
                return -errno;
        TAKE_FD(fd);

        stack->dev[stack->depth] = st.st_dev;
        stack->ino[stack->depth] = st.st_ino;
        stack->depth++;

        r = 0;
        for (;;) {
                ssize_t n;

                errno = 0;
                n = getline(&buf, &size, f);
                if (n < 0) {
                        if (errno != 0) {
                                r = -errno;
                                set_error(ret_error, "%s: read error: %s", path, strerror(-r));
                        }
                        break;
                }
                line++;
                total += n;
                if (total > ACL_FILE_SIZE_MAX) {
                        set_error(ret_error, "%s: file larger than %u bytes", path, ACL_FILE_SIZE_MAX);
                        r = -EFBIG;
                        break;
                }
                if (strlen(buf) != (size_t) n) {
                        set_error(ret_error, "%s:%u: NUL byte in line", path, line);
                        r = -EINVAL;
                        break;
                }
                r = parse_line(acl, path, line, buf, stack, ret_error);
                if (r < 0)
                        break;
        }

        stack->depth--;
        return r;
}

int acl_load(const char *path, Acl **ret, char **ret_error) {
        _cleanup_(acl_freep) Acl *acl = NULL;
        IncludeStack stack = {};
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (isempty(path) || !ret)
                return -EINVAL;

        acl = calloc(1, sizeof *acl);
        if (!acl)
                return -ENOMEM;
        acl->path = strdup(path);
        if (!acl->path)
                return -ENOMEM;

        r = load_file(acl, path, true, &stack, ret_error);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(acl);
        return 0;
}
