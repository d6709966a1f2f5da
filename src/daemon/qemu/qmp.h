/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Asynchronous QMP client on sd-event.
 *
 * qmp_connect() returns at once; the connection is made from the event loop: the socket is retried
 * until it exists and accepts (a freshly spawned QEMU creates it a little later), the greeting is
 * read and "qmp_capabilities" is negotiated, then the ready handler runs. Commands may be queued
 * with qmp_execute() right after qmp_connect(): they are sent once negotiation is done. Each
 * command gets exactly one reply callback: the result, QEMU's error, a timeout, or the loss of the
 * connection. Everything is bounded: the time to get ready, each command's time, a line's size.
 *
 * Callbacks run from the event loop. They may call any function here, including
 * qmp_client_unref() on the client they were called for. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "json.h"
#include "macro.h"

/* Both below D-Bus' default 25 s method call timeout, so that a suspended method call can still
 * be answered with an error before its caller gives up. */
#define QMP_CONNECT_TIMEOUT_USEC (20ULL * 1000000ULL) /* connect + greeting + negotiation */
#define QMP_COMMAND_TIMEOUT_USEC (20ULL * 1000000ULL) /* one command, from qmp_execute() to its reply */
#define QMP_LINE_MAX (8U * 1024U * 1024U)             /* one message (query-qmp-schema is ~200 KiB) */

typedef struct QmpClient QmpClient;

/* error: 0 → `result` is the command's "return" value (never NULL);
 *        -EIO → QEMU answered with an error: error_class ("GenericError", "DeviceNotFound", …) and
 *               error_desc (a human-readable message) are set;
 *        -ETIMEDOUT → no reply within the command's timeout (a late reply is dropped);
 *        -ECONNRESET → the connection was lost (QEMU died, closed the socket, or never got ready);
 *        -ECANCELED → the client was closed or freed by its owner before the reply.
 * All pointers are only valid during the call (json_copy() what you keep). */
typedef void (*qmp_reply_handler_t)(QmpClient *client, int error, const JsonValue *result, const char *error_class,
                                    const char *error_desc, void *userdata);
/* An asynchronous event: name ("SHUTDOWN", "STOP", "RESUME", "RESET", "POWERDOWN", …), its "data"
 * member (NULL when absent) and its timestamp in µs since the epoch (0 if QEMU sent none). */
typedef void (*qmp_event_handler_t)(QmpClient *client, const char *event, const JsonValue *data,
                                    uint64_t timestamp_usec, void *userdata);
/* Capabilities negotiated: commands flow from now on. */
typedef void (*qmp_ready_handler_t)(QmpClient *client, void *userdata);
/* The connection is gone, once per client: error is 0 when QEMU closed it (it quit or died), else
 * -ETIMEDOUT (never became ready in time), -EPROTO (not a QMP server / negotiation refused),
 * -EMSGSIZE (a message exceeded QMP_LINE_MAX), or the socket error. Pending commands have already
 * had their callbacks with -ECONNRESET. Not called for qmp_client_close() or the last unref. */
typedef void (*qmp_disconnect_handler_t)(QmpClient *client, int error, void *userdata);

/* -ENAMETOOLONG when the path does not fit a sockaddr_un, -ENOMEM, or a connect() error that
 * retrying cannot fix (-EACCES, -ENOTSOCK, …). ENOENT, ECONNREFUSED and EAGAIN are retried until
 * the timeout. */
int qmp_connect(sd_event *event, const char *socket_path, QmpClient **ret);
int qmp_connect_full(sd_event *event, const char *socket_path, uint64_t timeout_usec, QmpClient **ret);

QmpClient *qmp_client_ref(QmpClient *c);
/* Dropping the last reference closes the connection like qmp_client_close(). */
QmpClient *qmp_client_unref(QmpClient *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(QmpClient *, qmp_client_unref);
/* Close now: pending commands get -ECANCELED, no disconnect callback. Idempotent. */
void qmp_client_close(QmpClient *c);

void qmp_set_event_handler(QmpClient *c, qmp_event_handler_t handler, void *userdata);
void qmp_set_ready_handler(QmpClient *c, qmp_ready_handler_t handler, void *userdata);
void qmp_set_disconnect_handler(QmpClient *c, qmp_disconnect_handler_t handler, void *userdata);

/* Queue a command. `arguments` (an object or NULL) is serialized at once and not kept. handler may
 * be NULL (fire and forget). Returns 0, -ENOTCONN after the connection is gone, -EINVAL, -ENOMEM;
 * on failure the handler is never called. */
int qmp_execute(QmpClient *c, const char *command, const JsonValue *arguments, qmp_reply_handler_t handler,
                void *userdata);
/* Same, with a file descriptor passed along the command with SCM_RIGHTS (for "getfd"/"add-fd"; -1
 * for none; it is duplicated, the caller keeps its own), and a timeout (0 = QMP_COMMAND_TIMEOUT_USEC). */
int qmp_execute_full(QmpClient *c, const char *command, const JsonValue *arguments, int fd, uint64_t timeout_usec,
                     qmp_reply_handler_t handler, void *userdata);

bool qmp_is_ready(const QmpClient *c);
bool qmp_is_closed(const QmpClient *c);
/* From the greeting, libvirt encoding (major*1000000 + minor*1000 + micro); 0 before it arrived. */
uint64_t qmp_get_qemu_version(const QmpClient *c);
const char *qmp_get_socket_path(const QmpClient *c);

/* Synchronous helpers, ONLY for callers that own a private event loop which is not running (the
 * capability probe, tests): they run the client's loop until the condition is met. Both are
 * bounded by the client's timeouts. From inside a callback of that loop they return -EBUSY.
 * qmp_wait_ready(): 0 when ready, else the disconnect error (-ECONNRESET if QEMU closed it).
 * qmp_execute_sync(): 0 and *ret_result (a copy, optional); -EIO with *ret_error_class and
 * *ret_error_desc (optional, allocated) for a QEMU error; or the error codes of qmp_reply_handler_t. */
int qmp_wait_ready(QmpClient *c);
int qmp_execute_sync(QmpClient *c, const char *command, const JsonValue *arguments, uint64_t timeout_usec,
                     JsonValue **ret_result, char **ret_error_class, char **ret_error_desc);
