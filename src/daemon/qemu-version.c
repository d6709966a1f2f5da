/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>

#include "log.h"
#include "macro.h"
#include "qemu-version.h"

extern char **environ;

int libvirt_version_parse(const char *s, uint64_t *ret) {
        unsigned long major = 0, minor = 0, micro = 0;
        int n = 0;

        if (sscanf(s, "%lu.%lu%n", &major, &minor, &n) < 2)
                return -EINVAL;
        if (s[n] == '.' && sscanf(s + n + 1, "%lu", &micro) != 1)
                return -EINVAL;
        if (minor > 999 || micro > 999)
                return -ERANGE;
        *ret = (uint64_t) major * 1000000 + minor * 1000 + micro;
        return 0;
}

int qemu_probe_version(const char *binary, uint64_t *ret) {
        posix_spawn_file_actions_t fa;
        char buf[512] = {}, *argv[] = { (char *) (binary ?: "qemu-system-x86_64"), (char *) "--version", NULL };
        _cleanup_close_ int rfd = -EBADF, wfd = -EBADF;
        const char *p;
        size_t used = 0;
        int pipefd[2], status, r;
        pid_t pid;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return -errno;
        rfd = pipefd[0];
        wfd = pipefd[1];

        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, wfd, STDOUT_FILENO);
        r = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return log_debug_errno(r, "Cannot run %s: %m", argv[0]);
        wfd = safe_close(wfd);

        for (;;) {
                struct pollfd pfd = { .fd = rfd, .events = POLLIN };
                ssize_t k;

                if (poll(&pfd, 1, 5000) <= 0)
                        break;
                k = read(rfd, buf + used, sizeof buf - 1 - used);
                if (k <= 0)
                        break;
                used += k;
                if (used >= sizeof buf - 1)
                        break;
        }
        (void) waitpid(pid, &status, 0);

        /* "QEMU emulator version 7.2.19 (Debian …)" */
        p = strstr(buf, "version ");
        if (!p)
                return -EBADMSG;
        return libvirt_version_parse(p + strlen("version "), ret);
}
