/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stddef.h>
#include <sys/types.h>

/* At most this many fds travel with one message (one per tap queue, plus vhost fds). */
#define FDPASS_MAX 16

/* Send one datagram with optional fds attached (SCM_RIGHTS). */
ssize_t send_with_fds(int sock, const void *buf, size_t len, const int *fds, size_t n_fds);

/* Receive one datagram; fds received are stored in fds[] (caller closes them) and counted in
 * *n_fds. A datagram longer than len is reported as -EMSGSIZE (its fds are closed). */
ssize_t recv_with_fds(int sock, void *buf, size_t len, int *fds, size_t max_fds, size_t *n_fds);

void close_many(int *fds, size_t n);
