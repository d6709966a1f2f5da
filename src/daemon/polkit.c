/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Asynchronous polkit checks; see polkit.h for how handlers use them.
 *
 * Three kinds of records:
 *   Sender:  one client connection (unique bus name): its uid, learned once from the bus, and
 *            the cache of final answers. Dropped when the bus says the name is gone.
 *   Check:   one CheckAuthorization call, queued or in flight. Identical checks (same sender,
 *            action, details and interactivity) are asked once and shared by every message
 *            that waits for them.
 *   Request: one incoming message waiting for checks, with the answers it got. When the last
 *            one arrived the message is put back into the read queue; the request stays until
 *            the event loop is idle again, so that the second dispatch finds the answers.
 *
 * Limits keep one client from starving the others: at most POLKIT_MAX_REQUESTS_PER_SENDER
 * messages per client wait for polkit (more get LimitsExceeded), a message asks at most
 * POLKIT_MAX_CHECKS_PER_REQUEST checks at a time (a long list is checked in several rounds),
 * and at most POLKIT_MAX_IN_FLIGHT calls are in flight at all, taken from the clients' queues
 * in turn. */

#include <search.h>
#include <systemd/sd-journal.h>

#include "domain-driver.h"
#include "i18n.h"
#include "log.h"
#include "network-driver.h"
#include "polkit.h"

/* Below dbus-daemon's default limit of 128 pending replies per connection. */
#define POLKIT_MAX_IN_FLIGHT 64
/* The bus' own default limit of pending calls per client (max_replies_per_connection); this
 * one holds where the bus is configured more generously. */
#define POLKIT_MAX_REQUESTS_PER_SENDER 128
#define POLKIT_MAX_CHECKS_PER_REQUEST 16
#define POLKIT_MAX_CACHE_PER_SENDER 4096

#define USEC_PER_SEC UINT64_C(1000000)
/* 0: sd-bus' default (25 s). An interactive check waits for a human typing a password. */
#define POLKIT_TIMEOUT_USEC UINT64_C(0)
#define POLKIT_INTERACTIVE_TIMEOUT_USEC (5 * 60 * USEC_PER_SEC)

#define POLKIT_FLAG_ALLOW_USER_INTERACTION 1u

typedef enum CheckResult {
        RESULT_PENDING,
        RESULT_ALLOWED,
        RESULT_DENIED,
        RESULT_CHALLENGE, /* not authorized, but an authentication could change that */
        RESULT_FAILED,    /* polkit gave no answer */
} CheckResult;

typedef struct Sender Sender;
typedef struct Check Check;
typedef struct Request Request;

struct Sender {
        PolkitRegistry *registry;
        unsigned n_ref;
        char *name;
        uid_t uid;
        bool gone;            /* left the bus: no longer in registry->senders, caches nothing */

        void *cache;          /* tsearch tree of CacheEntry */
        size_t n_cache;
        size_t n_requests;

        Check *queue_head, *queue_tail; /* checks not sent yet, oldest first */
        Sender *turn_next;    /* in registry's turn queue while queue_head is set */
        bool in_turn;
};

typedef struct CacheEntry {
        char *key;
        CheckResult result;
} CacheEntry;

struct Check {
        PolkitRegistry *registry;
        Sender *sender;       /* a reference */
        char *key;
        bool interactive;
        char *action;
        char **details;       /* key, value, …, NULL */
        sd_bus_slot *slot;    /* while in flight */

        Request **waiters;
        size_t n_waiters;

        Check *next, *prev;   /* registry->checks */
        Check *queue_next;
        bool queued;
};

typedef struct Answer {
        char *key;
        CheckResult result;
} Answer;

struct Request {
        PolkitRegistry *registry;
        sd_bus_message *message;
        Sender *sender;       /* a reference */
        Answer *answers;
        size_t n_answers;
        size_t n_pending;
        sd_event_source *cleanup;
        Request *next, *prev;
};

struct PolkitRegistry {
        sd_bus *bus;
        sd_bus_slot *name_owner_slot;
        void *senders;        /* tsearch tree of Sender, by name */
        Request *requests;
        Check *checks;        /* every unfinished check */
        Sender *turn_head, *turn_tail; /* senders with queued checks, served in turn */
        size_t n_in_flight;
};

static void strv_free(char **l) {
        if (!l)
                return;
        for (char **i = l; *i; i++)
                free(*i);
        free(l);
}

static int compare_sender(const void *a, const void *b) {
        return strcmp(((const Sender *) a)->name, ((const Sender *) b)->name);
}

static int compare_cache_entry(const void *a, const void *b) {
        return strcmp(((const CacheEntry *) a)->key, ((const CacheEntry *) b)->key);
}

static void cache_entry_free(void *p) {
        CacheEntry *e = p;

        free(e->key);
        free(e);
}

static void sender_drop_cache(Sender *s) {
        tdestroy(s->cache, cache_entry_free);
        s->cache = NULL;
        s->n_cache = 0;
}

static Sender *sender_ref(Sender *s) {
        s->n_ref++;
        return s;
}

static void sender_unref(Sender *s) {
        if (!s || --s->n_ref > 0)
                return;
        sender_drop_cache(s);
        free(s->name);
        free(s);
}

static const CacheEntry *cache_find(Sender *s, const char *key) {
        CacheEntry needle = { .key = (char *) key };
        CacheEntry **e = tfind(&needle, &s->cache, compare_cache_entry);

        return e ? *e : NULL;
}

static void cache_put(Sender *s, const char *key, CheckResult result) {
        CacheEntry *e, **found;

        if (s->gone || s->n_cache >= POLKIT_MAX_CACHE_PER_SENDER || cache_find(s, key))
                return;
        e = new0(CacheEntry, 1);
        if (!e)
                return;
        e->key = strdup(key);
        e->result = result;
        found = e->key ? tsearch(e, &s->cache, compare_cache_entry) : NULL;
        if (!found || *found != e) {
                cache_entry_free(e);
                return;
        }
        s->n_cache++;
}

/* The uid of the message's sender, from the bus (a unique name keeps its uid for life). */
static int sender_get(PolkitRegistry *reg, sd_bus_message *message, Sender **ret) {
        _cleanup_(sd_bus_creds_unrefp) sd_bus_creds *creds = NULL;
        Sender needle, *s, **found;
        const char *name;
        uid_t uid;
        int r;

        name = sd_bus_message_get_sender(message);
        if (!name)
                return -EBADMSG;
        needle.name = (char *) name;
        found = tfind(&needle, &reg->senders, compare_sender);
        if (found) {
                *ret = *found;
                return 0;
        }

        r = sd_bus_query_sender_creds(message, SD_BUS_CREDS_EUID, &creds);
        if (r < 0)
                return r;
        /* Only what the bus itself vouches for (SO_PEERCRED) counts, never a guess read from
         * /proc, where the pid may already belong to someone else. */
        if (sd_bus_creds_get_augmented_mask(creds) & SD_BUS_CREDS_EUID)
                return -EPERM;
        r = sd_bus_creds_get_euid(creds, &uid);
        if (r < 0)
                return r;

        s = new0(Sender, 1);
        if (!s)
                return -ENOMEM;
        s->registry = reg;
        s->n_ref = 1;
        s->uid = uid;
        s->name = strdup(name);
        found = s->name ? tsearch(s, &reg->senders, compare_sender) : NULL;
        if (!found) {
                sender_unref(s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}

static void sender_gone(PolkitRegistry *reg, Sender *s) {
        tdelete(s, &reg->senders, compare_sender);
        s->gone = true;
        sender_drop_cache(s);
        sender_unref(s);
}

static int on_name_owner_changed(sd_bus_message *message, void *userdata, sd_bus_error *ret_error) {
        PolkitRegistry *reg = userdata;
        const char *name, *old_owner, *new_owner;
        Sender needle, **found;

        if (sd_bus_message_read(message, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        if (name[0] != ':' || !isempty(new_owner))
                return 0;
        needle.name = (char *) name;
        found = tfind(&needle, &reg->senders, compare_sender);
        if (found) {
                log_debug("Client %s left the bus, forgetting its authorizations.", name);
                sender_gone(reg, *found);
        }
        return 0;
}

/* An unambiguous string for action + details: every part length-prefixed. */
static char *make_key(const char *action, char *const *details) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return NULL;
        fprintf(f, "%zu:%s", strlen(action), action);
        for (char *const *i = details; *i; i++)
                fprintf(f, ";%zu:%s", strlen(*i), *i);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static Answer *request_find_answer(Request *req, const char *key) {
        for (size_t i = 0; i < req->n_answers; i++)
                if (streq(req->answers[i].key, key))
                        return &req->answers[i];
        return NULL;
}

static Request *request_find(PolkitRegistry *reg, sd_bus_message *message) {
        for (Request *req = reg->requests; req; req = req->next)
                if (req->message == message)
                        return req;
        return NULL;
}

static void check_remove_waiter(Check *c, Request *req) {
        for (size_t i = 0; i < c->n_waiters; i++)
                if (c->waiters[i] == req) {
                        c->waiters[i] = c->waiters[--c->n_waiters];
                        return;
                }
}

static void check_free(Check *c);

static void request_free(Request *req) {
        PolkitRegistry *reg = req->registry;

        /* Unhook from checks still asked for this message (they may serve others too). */
        for (Check *c = reg->checks; c; c = c->next)
                check_remove_waiter(c, req);
        if (req->prev)
                req->prev->next = req->next;
        else
                reg->requests = req->next;
        if (req->next)
                req->next->prev = req->prev;
        req->sender->n_requests--;
        sender_unref(req->sender);
        for (size_t i = 0; i < req->n_answers; i++)
                free(req->answers[i].key);
        free(req->answers);
        sd_event_source_disable_unref(req->cleanup);
        sd_bus_message_unref(req->message);
        free(req);
}

static int request_new(PolkitRegistry *reg, sd_bus_message *message, Sender *s, Request **ret) {
        Request *req = new0(Request, 1);

        if (!req)
                return -ENOMEM;
        req->registry = reg;
        req->message = sd_bus_message_ref(message);
        req->sender = sender_ref(s);
        s->n_requests++;
        req->next = reg->requests;
        if (reg->requests)
                reg->requests->prev = req;
        reg->requests = req;
        *ret = req;
        return 0;
}

static int request_cleanup_handler(sd_event_source *source, void *userdata) {
        Request *req = userdata;

        /* The second dispatch asked for more (the next round of a list): keep the answers. */
        if (req->n_pending > 0)
                return 0;
        request_free(req);
        return 0;
}

/* Every check answered: dispatch the message again, then forget the request when idle. The
 * bus processes its read queue at normal priority, so it runs before the idle cleanup. */
static void request_redispatch(Request *req) {
        sd_bus *bus = req->registry->bus;
        int r;

        if (!req->cleanup) {
                r = sd_event_add_defer(sd_bus_get_event(bus), &req->cleanup, request_cleanup_handler, req);
                if (r >= 0)
                        r = sd_event_source_set_priority(req->cleanup, SD_EVENT_PRIORITY_IDLE);
        } else
                r = sd_event_source_set_enabled(req->cleanup, SD_EVENT_ONESHOT);
        if (r >= 0)
                r = sd_bus_message_rewind(req->message, true);
        if (r >= 0)
                r = sd_bus_enqueue_for_read(bus, req->message);
        if (r < 0) {
                log_warning_errno(r, "Failed to dispatch a call again after its authorization check: %m");
                (void) sd_bus_reply_method_errno(req->message, r, NULL);
                request_free(req);
        }
}

static void turn_remove(PolkitRegistry *reg, Sender *s) {
        Sender *prev = NULL;

        if (!s->in_turn)
                return;
        for (Sender *i = reg->turn_head; i; prev = i, i = i->turn_next)
                if (i == s) {
                        if (prev)
                                prev->turn_next = s->turn_next;
                        else
                                reg->turn_head = s->turn_next;
                        if (reg->turn_tail == s)
                                reg->turn_tail = prev;
                        break;
                }
        s->turn_next = NULL;
        s->in_turn = false;
}

static void turn_append(PolkitRegistry *reg, Sender *s) {
        if (s->in_turn)
                return;
        if (reg->turn_tail)
                reg->turn_tail->turn_next = s;
        else
                reg->turn_head = s;
        reg->turn_tail = s;
        s->in_turn = true;
}

static void check_unlink(Check *c) {
        PolkitRegistry *reg = c->registry;
        Sender *s = c->sender;

        if (c->prev)
                c->prev->next = c->next;
        else if (reg->checks == c)
                reg->checks = c->next;
        if (c->next)
                c->next->prev = c->prev;
        c->next = c->prev = NULL;

        if (c->queued) {
                Check **p = &s->queue_head, *prev = NULL;

                while (*p && *p != c) {
                        prev = *p;
                        p = &(*p)->queue_next;
                }
                if (*p) {
                        *p = c->queue_next;
                        if (s->queue_tail == c)
                                s->queue_tail = prev;
                }
                c->queue_next = NULL;
                c->queued = false;
                if (!s->queue_head)
                        turn_remove(reg, s);
        }
}

static void check_free(Check *c) {
        if (!c)
                return;
        check_unlink(c);
        if (c->slot) {
                c->slot = sd_bus_slot_unref(c->slot); /* cancels the call */
                c->registry->n_in_flight--;
        }
        sender_unref(c->sender);
        free(c->waiters);
        free(c->key);
        free(c->action);
        strv_free(c->details);
        free(c);
}

/* Hands the result to every waiting message and frees c. */
static void check_complete(Check *c, CheckResult result) {
        Request **waiters = TAKE_PTR(c->waiters);
        size_t n = c->n_waiters;

        c->n_waiters = 0;
        if (result == RESULT_ALLOWED || (result == RESULT_DENIED && !c->interactive))
                cache_put(c->sender, c->key, result);

        for (size_t i = 0; i < n; i++) {
                Request *req = waiters[i];
                Answer *a = request_find_answer(req, c->key);

                if (!a || a->result != RESULT_PENDING)
                        continue;
                a->result = result;
                if (--req->n_pending == 0)
                        request_redispatch(req);
        }
        free(waiters);
        check_free(c);
}

static void registry_dispatch_queued(PolkitRegistry *reg);

static int check_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error) {
        Check *c = userdata;
        PolkitRegistry *reg = c->registry;
        CheckResult result;
        int authorized, challenge, r;

        c->slot = sd_bus_slot_unref(c->slot);
        reg->n_in_flight--;

        if (sd_bus_message_is_method_error(reply, NULL)) {
                const sd_bus_error *e = sd_bus_message_get_error(reply);

                log_warning("polkit did not answer whether %s may do %s: %s", c->sender->name, c->action,
                            e ? strna(e->message) : "error");
                result = RESULT_FAILED;
        } else {
                r = sd_bus_message_enter_container(reply, 'r', "bba{ss}");
                if (r >= 0)
                        r = sd_bus_message_read(reply, "bb", &authorized, &challenge);
                if (r < 0) {
                        log_warning_errno(r, "Unexpected answer from polkit: %m");
                        result = RESULT_FAILED;
                } else
                        result = authorized ? RESULT_ALLOWED : challenge ? RESULT_CHALLENGE : RESULT_DENIED;
        }
        log_debug("polkit: %s for %s (uid %u): %s", c->action, c->sender->name, (unsigned) c->sender->uid,
                  result == RESULT_ALLOWED ? "allowed" : result == RESULT_CHALLENGE ? "challenge" :
                  result == RESULT_DENIED ? "denied" : "failed");

        check_complete(c, result);
        registry_dispatch_queued(reg);
        return 0;
}

/* "key=value key=value" for the log. */
static char *details_to_string(char *const *details) {
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return NULL;
        for (char *const *i = details; i[0] && i[1]; i += 2)
                fprintf(f, "%s%s=%s", i == details ? "" : " ", i[0], i[1]);
        if (fclose(f) != 0) {
                free(buf);
                return NULL;
        }
        return buf;
}

static int check_send(Check *c) {
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        PolkitRegistry *reg = c->registry;
        int r;

        r = sd_bus_message_new_method_call(reg->bus, &m, "org.freedesktop.PolicyKit1",
                                           "/org/freedesktop/PolicyKit1/Authority",
                                           "org.freedesktop.PolicyKit1.Authority", "CheckAuthorization");
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "(sa{sv})s", "system-bus-name", 1, "name", "s", c->sender->name,
                                  c->action);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(m, 'a', "{ss}");
        if (r < 0)
                return r;
        for (char **i = c->details; i[0] && i[1]; i += 2) {
                r = sd_bus_message_append(m, "{ss}", i[0], i[1]);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(m);
        if (r < 0)
                return r;
        r = sd_bus_message_append(m, "us", c->interactive ? POLKIT_FLAG_ALLOW_USER_INTERACTION : 0u,
                                  "" /* no cancellation id */);
        if (r < 0)
                return r;
        r = sd_bus_call_async(reg->bus, &c->slot, m, check_reply, c,
                              c->interactive ? POLKIT_INTERACTIVE_TIMEOUT_USEC : POLKIT_TIMEOUT_USEC);
        if (r < 0)
                return r;
        reg->n_in_flight++;
        if (log_get_max_level() >= LOG_DEBUG) {
                _cleanup_free_ char *text = details_to_string(c->details);
                log_debug("Asking polkit: %s for %s (uid %u)%s: %s", c->action, c->sender->name,
                          (unsigned) c->sender->uid, c->interactive ? " interactively" : "", strna(text));
        }
        return 0;
}

/* Sends queued checks while there is room, one per client in turn. */
static void registry_dispatch_queued(PolkitRegistry *reg) {
        while (reg->n_in_flight < POLKIT_MAX_IN_FLIGHT && reg->turn_head) {
                Sender *s = reg->turn_head;
                Check *c = s->queue_head;
                int r;

                turn_remove(reg, s);
                s->queue_head = c->queue_next;
                if (!s->queue_head)
                        s->queue_tail = NULL;
                c->queue_next = NULL;
                c->queued = false;
                if (s->queue_head)
                        turn_append(reg, s); /* its next check after everybody else's */

                r = check_send(c);
                if (r < 0) {
                        log_warning_errno(r, "Failed to ask polkit about %s: %m", c->action);
                        check_complete(c, RESULT_FAILED);
                }
        }
}

static int check_new(PolkitRegistry *reg, Sender *s, const char *key, bool interactive, const char *action,
                     char **details, Check **ret) {
        Check *c = new0(Check, 1);

        if (!c)
                return -ENOMEM;
        c->registry = reg;
        c->sender = sender_ref(s);
        c->interactive = interactive;
        c->key = strdup(key);
        c->action = strdup(action);
        if (!c->key || !c->action) {
                check_free(c);
                return -ENOMEM;
        }
        c->details = details; /* only now: on failure the caller still owns them */
        c->next = reg->checks;
        if (reg->checks)
                reg->checks->prev = c;
        reg->checks = c;

        c->queued = true;
        if (s->queue_tail)
                s->queue_tail->queue_next = c;
        else
                s->queue_head = c;
        s->queue_tail = c;
        turn_append(reg, s);
        *ret = c;
        return 0;
}

static Check *find_check(PolkitRegistry *reg, Sender *s, const char *key, bool interactive) {
        for (Check *c = reg->checks; c; c = c->next)
                if (c->sender == s && c->interactive == interactive && streq(c->key, key))
                        return c;
        return NULL;
}

int polkit_registry_new(sd_bus *bus, PolkitRegistry **ret) {
        _cleanup_(polkit_registry_freep) PolkitRegistry *reg = new0(PolkitRegistry, 1);
        int r;

        if (!reg)
                return -ENOMEM;
        reg->bus = sd_bus_ref(bus);
        /* Forget a client's answers when it leaves: unique names are never reused. */
        r = sd_bus_match_signal(bus, &reg->name_owner_slot, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                "org.freedesktop.DBus", "NameOwnerChanged", on_name_owner_changed, reg);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(reg);
        return 0;
}

static void sender_release_from_tree(void *p) {
        Sender *s = p;

        s->gone = true;
        sender_unref(s);
}

PolkitRegistry *polkit_registry_free(PolkitRegistry *reg) {
        if (!reg)
                return NULL;
        while (reg->requests)
                request_free(reg->requests);
        while (reg->checks)
                check_free(reg->checks); /* cancels calls in flight */
        sd_bus_slot_unref(reg->name_owner_slot);
        tdestroy(reg->senders, sender_release_from_tree);
        sd_bus_unref(reg->bus);
        return mfree(reg);
}

static int copy_details(const char *method, const char *const *details, char ***ret) {
        size_t n = 0, k = 0;
        char **l;

        for (const char *const *i = details; i && i[0] && i[1]; i += 2)
                n += 2;
        l = new0(char *, n + 3);
        if (!l)
                return -ENOMEM;
        l[k++] = strdup("method");
        l[k++] = strdup(strempty(method));
        for (const char *const *i = details; i && i[0] && i[1]; i += 2) {
                l[k++] = strdup(i[0]);
                l[k++] = strdup(i[1]);
        }
        for (size_t i = 0; i < k; i++)
                if (!l[i]) {
                        for (size_t j = 0; j < k; j++)
                                free(l[j]);
                        free(l);
                        return -ENOMEM;
                }
        *ret = l;
        return 0;
}

static const char *details_lookup(char *const *details, const char *key) {
        for (char *const *i = details; i[0] && i[1]; i += 2)
                if (streq(i[0], key))
                        return i[1];
        return NULL;
}

/* Denials go to the log with who, what and on which object, as journal fields too. */
static void log_denied(Sender *s, const char *action, char *const *details, CheckResult result,
                       PolkitFlags flags) {
        const char *method = strna(details_lookup(details, "method"));
        const char *domain = details_lookup(details, "domain.name");
        const char *network = details_lookup(details, "network.name");
        const char *why = result == RESULT_CHALLENGE ? "authentication required" :
                          result == RESULT_FAILED ? "polkit did not answer" : "not authorized";
        int level = (flags & POLKIT_QUIET) ? LOG_DEBUG : LOG_WARNING;
        char object[512] = "";
        const char *journal_stream = getenv("JOURNAL_STREAM");

        if (level > log_get_max_level())
                return;
        if (domain)
                snprintf(object, sizeof object, " on domain '%s'", domain);
        else if (network)
                snprintf(object, sizeof object, " on network '%s'", network);

        if (isempty(journal_stream)) {
                log_internal(level, 0, NULL, "Denied %s%s to uid %u (%s): %s needed, %s.", method, object,
                             (unsigned) s->uid, s->name, action, why);
                return;
        }
        sd_journal_send("MESSAGE=Denied %s%s to uid %u (%s): %s needed, %s.", method, object,
                        (unsigned) s->uid, s->name, action, why,
                        "PRIORITY=%i", level,
                        "SYSLOG_IDENTIFIER=%s", program_invocation_short_name,
                        "VIRTBUS_UID=%u", (unsigned) s->uid,
                        "VIRTBUS_SENDER=%s", s->name,
                        "VIRTBUS_ACTION=%s", action,
                        "VIRTBUS_METHOD=%s", method,
                        domain ? "VIRTBUS_DOMAIN=%s" : network ? "VIRTBUS_NETWORK=%s" : NULL,
                        domain ?: network, NULL);
}

static int result_to_return(Sender *s, sd_bus_message *message, const char *action, char *const *details,
                            CheckResult result, PolkitFlags flags, sd_bus_error *error) {
        if (result == RESULT_ALLOWED)
                return 1;

        log_denied(s, action, details, result, flags);
        /* A challenge means an administrator could allow it after authenticating: say so, also
         * when interaction was allowed but no authentication agent was there to ask. */
        if (result == RESULT_CHALLENGE && sd_bus_message_get_allow_interactive_authorization(message) <= 0)
                sd_bus_error_setf(error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                  _("Interactive authentication required for %s."), action);
        else if (result == RESULT_CHALLENGE)
                sd_bus_error_setf(error, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED,
                                  _("Interactive authentication required for %s, but no authentication agent answered."),
                                  action);
        else
                sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED, _("Access denied: %s is required."),
                                  action);
        return -EACCES;
}

int polkit_verify(PolkitRegistry *reg, sd_bus_message *message, const char *action,
                  const char *const *details, PolkitFlags flags, sd_bus_error *error) {
        _cleanup_free_ char *key = NULL;
        char **all = NULL;
        const CacheEntry *e;
        bool interactive, new_request = false;
        Request *req, **waiters;
        Answer *a, *answers;
        Check *c;
        Sender *s;
        int r;

        r = sender_get(reg, message, &s);
        if (r < 0) {
                log_debug_errno(r, "Cannot tell who sent %s: %m", strna(sd_bus_message_get_member(message)));
                return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
                                         _("Access denied: cannot determine the caller's identity."));
        }
        if (s->uid == 0)
                return 1;

        r = copy_details(sd_bus_message_get_member(message), details, &all);
        if (r < 0)
                return r;
        key = make_key(action, all);
        if (!key) {
                strv_free(all);
                return -ENOMEM;
        }
        interactive = sd_bus_message_get_allow_interactive_authorization(message) > 0;

        /* Dispatched again: the answers are waiting in the request. */
        req = request_find(reg, message);
        a = req ? request_find_answer(req, key) : NULL;
        if (a && a->result != RESULT_PENDING) {
                r = result_to_return(s, message, action, all, a->result, flags, error);
                strv_free(all);
                return r;
        }
        if (a) {
                strv_free(all);
                return 0;
        }

        e = cache_find(s, key);
        if (e) {
                r = result_to_return(s, message, action, all, e->result, flags, error);
                strv_free(all);
                return r;
        }

        if (!req) {
                if (s->n_requests >= POLKIT_MAX_REQUESTS_PER_SENDER) {
                        strv_free(all);
                        log_debug("Client %s (uid %u) has too many calls waiting for polkit.", s->name,
                                  (unsigned) s->uid);
                        return sd_bus_error_setf(error, SD_BUS_ERROR_LIMITS_EXCEEDED,
                                                 _("Too many calls waiting for authorization."));
                }
                r = request_new(reg, message, s, &req);
                if (r < 0) {
                        strv_free(all);
                        return r;
                }
                new_request = true;
        }
        /* A long list is checked in rounds: the rest when this round is answered. */
        if (req->n_pending >= POLKIT_MAX_CHECKS_PER_REQUEST) {
                strv_free(all);
                return 0;
        }

        answers = realloc(req->answers, (req->n_answers + 1) * sizeof(Answer));
        if (!answers) {
                r = -ENOMEM;
                goto fail;
        }
        req->answers = answers;

        c = find_check(reg, s, key, interactive);
        if (c)
                strv_free(TAKE_PTR(all));
        else {
                r = check_new(reg, s, key, interactive, action, all, &c);
                if (r < 0)
                        goto fail;
                all = NULL; /* owned by c */
        }
        waiters = realloc(c->waiters, (c->n_waiters + 1) * sizeof(Request *));
        if (!waiters) {
                r = -ENOMEM;
                if (c->n_waiters == 0)
                        check_free(c);
                goto fail;
        }
        c->waiters = waiters;
        c->waiters[c->n_waiters++] = req;
        req->answers[req->n_answers++] = (Answer) { .key = TAKE_PTR(key), .result = RESULT_PENDING };
        req->n_pending++;

        registry_dispatch_queued(reg);
        return 0;

fail:
        strv_free(all);
        if (new_request)
                request_free(req);
        return r;
}

static const char *action_name(const char *kind, PolkitAccess access) {
        bool domain = streq(kind, "domain");

        if (access == POLKIT_MANAGE)
                return domain ? "org.virtbus.domain.manage" : "org.virtbus.network.manage";
        return domain ? "org.virtbus.domain.monitor" : "org.virtbus.network.monitor";
}

/* kind: "domain" or "network"; name/uuid/property may be NULL. */
static int verify_object(Manager *m, sd_bus_message *message, const char *kind, PolkitAccess access,
                         const char *name, const Uuid *uuid, const char *property, PolkitFlags flags,
                         sd_bus_error *error) {
        char uuid_str[UUID_STR_MAX], name_key[32], uuid_key[32];
        const char *details[7];
        size_t k = 0;

        snprintf(name_key, sizeof name_key, "%s.name", kind);
        snprintf(uuid_key, sizeof uuid_key, "%s.uuid", kind);
        if (name) {
                details[k++] = name_key;
                details[k++] = name;
        }
        if (uuid) {
                details[k++] = uuid_key;
                details[k++] = uuid_format(uuid, uuid_str);
        }
        if (property) {
                details[k++] = "property";
                details[k++] = property;
        }
        details[k] = NULL;
        return polkit_verify(m->polkit, message, action_name(kind, access), details, flags, error);
}

int polkit_verify_domain(Domain *d, sd_bus_message *message, PolkitAccess access, PolkitFlags flags,
                         sd_bus_error *error) {
        const DomainDef *def = domain_current_def(d);

        return verify_object(d->manager, message, "domain", access, def->name, &def->uuid, NULL, flags,
                             error);
}

int polkit_verify_network(Network *n, sd_bus_message *message, PolkitAccess access, PolkitFlags flags,
                          sd_bus_error *error) {
        const NetworkDef *def = network_current_def(n);

        return verify_object(n->manager, message, "network", access, def->name, &def->uuid, NULL, flags,
                             error);
}

int polkit_verify_domain_def(Manager *m, sd_bus_message *message, const DomainDef *def,
                             sd_bus_error *error) {
        return verify_object(m, message, "domain", POLKIT_MANAGE, def->name,
                             def->has_uuid ? &def->uuid : NULL, NULL, 0, error);
}

int polkit_verify_network_def(Manager *m, sd_bus_message *message, const NetworkDef *def,
                              sd_bus_error *error) {
        return verify_object(m, message, "network", POLKIT_MANAGE, def->name,
                             def->has_uuid ? &def->uuid : NULL, NULL, 0, error);
}

int polkit_verify_path(Manager *m, sd_bus_message *message, const char *path, PolkitAccess access,
                       const char *property, sd_bus_error *error) {
        Domain *d;
        Network *n;

        if (streq(path, CONNECT_PATH))
                /* The hypervisor connection itself: domain actions, about no particular domain. */
                return verify_object(m, message, "domain", access, NULL, NULL, property, 0, error);
        d = manager_find_domain_by_path(m, path);
        if (d) {
                const DomainDef *def = domain_current_def(d);
                return verify_object(m, message, "domain", access, def->name, &def->uuid, property, 0,
                                     error);
        }
        n = manager_find_network_by_path(m, path);
        if (n) {
                const NetworkDef *def = network_current_def(n);
                return verify_object(m, message, "network", access, def->name, &def->uuid, property, 0,
                                     error);
        }
        return -ENOENT;
}
