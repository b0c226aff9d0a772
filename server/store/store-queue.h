/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The outbound queue in the store: one row per remote recipient of a
 * message, with its state (pending, sending, deferred, held, delivered,
 * failed). Synchronous, on one connection: the daemon runs these on store
 * workers (for the sender module, through pr-queue.h), postroomctl calls
 * them directly. */

#include "store.h"

typedef struct {
    gint64 id;
    gint64 message_id;
    char *sender;
    char *recipient;
    char *state; /* "pending", "sending", "deferred", "held", "delivered", "failed" */
    int priority;
    gint64 created;
    gint64 next_try;
    int attempts;
    char *last_error;
    char *notify, *orcpt, *ret, *envid; /* RFC 3461, "" when not given */
    gint64 warned;                      /* 0 = no delay warning sent */
    char *claimed_by;                   /* instance, "" when not claimed */
    gint64 claim_expires;
    char *spool_path; /* relative to the spool directory */
    gint64 size;
    char *subject; /* the message's Subject:, "" when none (for listings) */
} StoreQueueEntry;

void store_queue_entry_free(StoreQueueEntry *entry);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StoreQueueEntry, store_queue_entry_free)

/* Entries in id order; @state NULL for all. */
GPtrArray *store_queue_list(StoreConn *c, const char *state, GError **error);
/* PR_STORE_ERROR_NOT_FOUND when there is no such entry. */
StoreQueueEntry *store_queue_get(StoreConn *c, gint64 id, GError **error);

/* Administrator actions; @id 0 means every entry the action applies to.
 * They return how many entries changed, or -1 on error.
 * hold: pending/deferred -> held. release: held -> pending, due now.
 * flush: pending/deferred -> due now. delete: removes unfinished entries
 * (not "sending" ones); spool files no longer used are added to
 * @unlink_paths (relative paths) for the caller to remove after the call. */
gint64 store_queue_hold(StoreConn *c, gint64 id, GError **error);
gint64 store_queue_release(StoreConn *c, gint64 id, GError **error);
gint64 store_queue_flush(StoreConn *c, gint64 id, GError **error);
gint64 store_queue_delete(StoreConn *c, gint64 id, GPtrArray *unlink_paths, GError **error);
/* Sets the priority of every entry of @message_id (higher first). */
gboolean store_queue_set_priority(StoreConn *c, gint64 message_id, int priority, GError **error);

/* Claims up to @max due entries (pending or deferred with next_try <= @now
 * -- a released entry is pending from its next_try --, or sending with
 * claim_expires < @now) for @instance until @lease_until,
 * in one transaction. Highest priority first, then by message, so one
 * message's entries are adjacent. */
GPtrArray *store_queue_claim(StoreConn *c, const char *instance, guint max, gint64 now,
                             gint64 lease_until, GError **error);

typedef enum {
    STORE_QUEUE_DELIVERED,
    STORE_QUEUE_DEFERRED,
    STORE_QUEUE_DEFERRED_WARNED,
    STORE_QUEUE_FAILED,
    STORE_QUEUE_RELEASE,
} StoreQueueOutcome;

/* Records what happened to an entry claimed by @instance (in one
 * transaction): delivered/failed are final (they count the attempt too,
 * and next_try becomes @now, the time they finished); deferred counts an
 * attempt and sets next_try; deferred_warned also sets warned = @now;
 * release returns it to pending at @next_try without counting an
 * attempt. The last error
 * becomes @reply when not NULL. PR_STORE_ERROR_NOT_FOUND when the entry is
 * not claimed by @instance (any more). A spool file no longer used is
 * added to @unlink_paths. */
gboolean store_queue_set_outcome(StoreConn *c, gint64 id, const char *instance,
                                 StoreQueueOutcome outcome, gint64 now, gint64 next_try,
                                 const char *reply, GPtrArray *unlink_paths, GError **error);

/* At start-up: entries this instance had claimed go back to pending. */
gint64 store_queue_release_instance(StoreConn *c, const char *instance, GError **error);

/* Finished (delivered, failed) entries older than @before are removed;
 * returns how many, or -1. Message rows nothing uses any more are removed
 * too (their spool files then go with the spool sweep). */
gint64 store_queue_purge(StoreConn *c, gint64 before, GError **error);
