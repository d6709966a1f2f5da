/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Helpers for integration tests that run inside tests/lib/sandbox and talk to virtbusd
 * through GDBus exactly as a client would. */

#include <gio/gio.h>

#define VB_BUS_NAME "org.libvirt"
#define VB_CONNECT_PATH "/org/libvirt/QEMU"

GDBusConnection *vb_bus(void);

/* Call a method on org.libvirt; returns the reply or NULL with *error set. */
GVariant *vb_call(const char *path, const char *interface, const char *method, GVariant *args, GError **error);
/* Same, asserting success. */
GVariant *vb_call_ok(const char *path, const char *interface, const char *method, GVariant *args);
/* Assert the call fails with the D-Bus error name and a message containing `contains`. */
void vb_call_fails(const char *path, const char *interface, const char *method, GVariant *args,
                   const char *error_name, const char *contains);

GVariant *vb_get_property(const char *path, const char *interface, const char *name);
gboolean vb_get_bool(const char *path, const char *interface, const char *name);
char *vb_get_string(const char *path, const char *interface, const char *name);

/* Run `sandbox ctl CMD`. */
void vb_sandbox_ctl(const char *cmd);

/* Run a command (argv NULL-terminated) and assert it exits 0; returns its stdout. */
char *vb_run(const char *const *argv);

/* Files in $VIRTBUS_STATE_DIR/network, sorted, joined with ' ' (for "nothing changed" checks). */
char *vb_state_listing(void);

/* Collects org.libvirt.Connect NetworkEvent signals. */
typedef struct VbEvents {
        guint subscription;
        GPtrArray *events; /* "PATH EVENT" strings */
} VbEvents;

void vb_events_start(VbEvents *e);
/* Collects org.libvirt.Connect DomainEvent signals as "PATH EVENT DETAIL". */
void vb_events_start_domain(VbEvents *e);
void vb_events_expect3(VbEvents *e, const char *path, int event, int detail);
/* Wait (up to 5 s) until an event "PATH EVENT" arrived; asserts. */
void vb_events_expect(VbEvents *e, const char *path, int event);
void vb_events_stop(VbEvents *e);
gboolean vb_events_seen(VbEvents *e, const char *path, int event);
