/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>

#include "fileio.h"
#include "macro.h"

static int fsync_parent_dir(const char *path) {
        _cleanup_free_ char *copy = strdup(path);
        _cleanup_close_ int dfd = -EBADF;

        if (!copy)
                return -ENOMEM;
        dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        return RET_NERRNO(fsync(dfd));
}

int write_file_atomic(const char *path, const char *content, size_t size, mode_t mode) {
        _cleanup_free_ char *tmp = NULL;
        _cleanup_close_ int fd = -EBADF;
        size_t done = 0;
        int r;

        if (asprintf(&tmp, "%s.tmp.XXXXXX", path) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;

        while (done < size) {
                ssize_t n = write(fd, content + done, size - done);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        goto fail;
                }
                done += n;
        }
        if (fchmod(fd, mode) < 0 || fsync(fd) < 0) {
                r = -errno;
                goto fail;
        }
        fd = safe_close(fd);
        if (rename(tmp, path) < 0) {
                r = -errno;
                goto fail;
        }
        return fsync_parent_dir(path);
fail:
        (void) unlink(tmp);
        return r;
}

int read_full_file(const char *path, size_t max_size, char **ret, size_t *ret_size) {
        _cleanup_close_ int fd = -EBADF;
        _cleanup_free_ char *buf = NULL;
        struct stat st;
        size_t used = 0, alloc;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if ((size_t) st.st_size > max_size)
                return -EFBIG;

        alloc = st.st_size + 1;
        buf = malloc(alloc);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n;

                if (used + 1 >= alloc) {
                        char *nb;
                        if (alloc > max_size)
                                return -EFBIG;
                        alloc *= 2;
                        nb = realloc(buf, alloc);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                }
                n = read(fd, buf + used, alloc - used - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                used += n;
                if (used > max_size)
                        return -EFBIG;
        }
        buf[used] = 0;
        if (ret_size)
                *ret_size = used;
        *ret = TAKE_PTR(buf);
        return 0;
}

int unlink_durable(const char *path) {
        if (unlink(path) < 0)
                return errno == ENOENT ? 0 : -errno;
        return fsync_parent_dir(path);
}

int mkdir_p(const char *path, mode_t mode) {
        _cleanup_free_ char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = '/';
        }
        if (mkdir(p, mode) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

char *path_join3(const char *dir, const char *name, const char *suffix) {
        char *p;

        if (asprintf(&p, "%s/%s%s", dir, name, strempty(suffix)) < 0)
                return NULL;
        return p;
}

int autostart_link_set(const char *autostart_dir, const char *name, bool enable) {
        _cleanup_free_ char *link = path_join3(autostart_dir, name, ".xml"), *target = NULL;
        int r;

        if (!link || asprintf(&target, "../%s.xml", name) < 0)
                return -ENOMEM;
        if (!enable)
                return unlink_durable(link);
        r = mkdir_p(autostart_dir, 0755);
        if (r < 0)
                return r;
        if (symlink(target, link) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}
