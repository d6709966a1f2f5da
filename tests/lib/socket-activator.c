/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A minimal stand-in for a systemd .socket unit, for the test sandbox (PID 1 here is not
 * systemd): listen on a SOCK_SEQPACKET unix socket and, whenever a peer is waiting and the
 * service is not running, start it with the listening fd passed as LISTEN_FDS=1 — so the
 * helper's idle exit and re-activation are exercised exactly as under systemd. */

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static pid_t child;

static void on_term(int sig) {
        stop = 1;
        if (child > 0)
                kill(child, SIGTERM);
}

int main(int argc, char *argv[]) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        mode_t mode = 0600;
        const char *path;
        int fd, i = 1, activations = 0;

        if (argc >= 4 && strcmp(argv[1], "--mode") == 0) {
                mode = strtoul(argv[2], NULL, 8);
                i = 3;
        }
        if (argc - i < 2) {
                fprintf(stderr, "usage: %s [--mode OCTAL] SOCKET-PATH COMMAND [ARGS...]\n", argv[0]);
                return 2;
        }
        path = argv[i++];
        if (strlen(path) >= sizeof sa.sun_path) {
                fprintf(stderr, "socket path too long\n");
                return 2;
        }
        strcpy(sa.sun_path, path);
        unlink(path);
        fd = socket(AF_UNIX, SOCK_SEQPACKET, 0); /* no CLOEXEC: the service inherits it */
        if (fd < 0 || bind(fd, (struct sockaddr *) &sa, sizeof sa) < 0 || listen(fd, 64) < 0 ||
            chmod(path, mode) < 0) {
                perror("socket-activator: listen");
                return 1;
        }
        signal(SIGTERM, on_term);
        signal(SIGINT, on_term);

        while (!stop) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                int status;

                if (poll(&p, 1, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        perror("socket-activator: poll");
                        return 1;
                }
                child = fork();
                if (child < 0) {
                        perror("socket-activator: fork");
                        return 1;
                }
                if (child == 0) {
                        char pid[32];

                        if (fd != 3) {
                                dup2(fd, 3);
                                close(fd);
                        }
                        snprintf(pid, sizeof pid, "%d", (int) getpid());
                        setenv("LISTEN_FDS", "1", 1);
                        setenv("LISTEN_PID", pid, 1);
                        execv(argv[i], argv + i);
                        perror("socket-activator: exec");
                        _exit(127);
                }
                activations++;
                while (waitpid(child, &status, 0) < 0 && errno == EINTR)
                        ;
                child = 0;
                if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) != 0)) {
                        /* Keep serving (systemd would, up to its start limit); the pause keeps a
                         * crashing service from spinning. */
                        fprintf(stderr, "socket-activator: service failed (status 0x%x), re-activating on demand\n",
                                status);
                        sleep(1);
                }
        }
        unlink(path);
        return 0;
}
