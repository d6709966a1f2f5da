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

/* ---- end-to-end helpers (tests/e2e) ---- */

/* Dispatch whatever is pending on the default main context (signal callbacks). */
void vb_iterate(void);

/* Collects org.libvirt.Connect DomainEvent(o domain, i event, i detail) signals. */
typedef struct VbDomainEvents {
        guint subscription;
        GPtrArray *events; /* "PATH EVENT DETAIL" strings */
} VbDomainEvents;

void vb_domain_events_start(VbDomainEvents *e);
/* detail -1 matches any detail. */
gboolean vb_domain_events_seen(VbDomainEvents *e, const char *path, int event, int detail);
/* Wait (up to timeout_s) until the event arrived; asserts, listing what did arrive. */
void vb_domain_events_expect(VbDomainEvents *e, const char *path, int event, int detail, guint timeout_s);
void vb_domain_events_stop(VbDomainEvents *e);

/* Wait (up to timeout_s, dispatching signals meanwhile) until a line of `file` matches the
 * extended regex `regex` (line ends' "\r" dropped); returns that line. Fails at once when a
 * line matches `fail_regex` (may be NULL) and no line matches `regex`. On failure the file's
 * content is in the message. */
char *vb_wait_for_line(const char *file, const char *regex, const char *fail_regex, guint timeout_s);

/* The network interfaces of this namespace except lo (from /sys/class/net), sorted, joined
 * with ' ' ("" when there is none). */
char *vb_link_listing(void);

/* The pid of the live (non-zombie) process with an argument starting with "guest=NAME," or
 * equal to "guest=NAME" (QEMU's -name), 0 when there is none; asserts there is at most one. */
pid_t vb_find_qemu(const char *name);
/* The NUL-separated command line of pid with the NULs turned into ' ' (NULL if it is gone). */
char *vb_process_cmdline(pid_t pid);
/* Is pid a live process (exists and is not a zombie)? */
gboolean vb_process_alive(pid_t pid);

/* polkit rules inside the sandbox ($VIRTBUS_POLKIT_RULES_DIR, which polkitd watches and
 * reloads by itself, a moment later). */
void vb_polkit_rule_write(const char *file_name, const char *js);
void vb_polkit_rule_remove(const char *file_name);

/* The contents of $VIRTBUS_SANDBOX_DIR/NAME (e.g. "virtbusd.log"); "" when missing. */
char *vb_sandbox_read(const char *name);
