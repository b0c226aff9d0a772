/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <postroom/pr-module.h>

G_BEGIN_DECLS

/**
 * SECTION:pr-queue
 * @title: Outbound queue
 *
 * The persistent queue of remote recipients, for the module that sends mail
 * out (Postroom's `sender`, or a third-party gateway). Delivery puts one
 * entry per remote recipient in the store; a sender claims due entries for
 * a while (a lease, so that an instance that dies gives its entries back),
 * reads the message, tries it, and records the outcome of each entry as
 * soon as the remote server has answered for it, so that a restart never
 * sends a message to the same recipient twice.
 *
 * States an administrator sees (`postroomctl queue list`): pending,
 * sending (claimed), deferred (with the next try and the last error), held,
 * delivered, failed.
 */

/**
 * PrQueueEntry:
 * @id: the entry (one recipient of one message)
 * @message_id: the message; entries of one message share it
 * @sender: the envelope sender, "" for the null sender
 * @recipient: the remote address
 * @notify: RFC 3461 NOTIFY as given at RCPT, "" when none was
 * @orcpt: RFC 3461 ORCPT, "" when none was
 * @ret: RFC 3461 RET of the message, "" when none was
 * @envid: RFC 3461 ENVID of the message, "" when none was
 * @priority: higher first
 * @attempts: earlier attempts (0 on the first try)
 * @created: when the entry was queued (unix time)
 * @warned: when a delay warning was sent (unix time), 0 if never
 * @last_error: the last remote reply or local error, "" when none
 * @size: the message's size in bytes
 * @reserved: not for modules
 *
 * One claimed entry. Allocated by the host and read-only for modules; new
 * fields are only ever added at the end.
 */
typedef struct {
    gint64 id;
    gint64 message_id;
    const char *sender;
    const char *recipient;
    const char *notify;
    const char *orcpt;
    const char *ret;
    const char *envid;
    int priority;
    int attempts;
    gint64 created;
    gint64 warned;
    const char *last_error;
    gint64 size;
    gpointer reserved[8];
} PrQueueEntry;

/**
 * pr_queue_claim_async:
 * @host: the host
 * @max: the most entries to claim
 * @lease_seconds: how long the claim holds; entries whose outcome is not
 *   set by then become due again (for any instance)
 * @cancellable: (nullable): a cancellable
 * @callback: called on the main thread
 * @user_data: passed to @callback
 *
 * Claims entries that are due: pending ones, and deferred ones whose next
 * try has come. Held entries are never claimed.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_queue_claim_async(PrHost *host, guint max, guint lease_seconds, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data);

/**
 * pr_queue_claim_finish:
 * @host: the host
 * @result: the result
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type PrQueueEntry): the claimed
 *   entries, highest priority first and the entries of one message next to
 *   each other; empty when nothing is due, %NULL on error
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
GPtrArray *pr_queue_claim_finish(PrHost *host, GAsyncResult *result, GError **error);

/**
 * pr_queue_read_message_async:
 * @host: the host
 * @entry: a claimed entry
 * @cancellable: (nullable): a cancellable
 * @callback: called on the main thread
 * @user_data: passed to @callback
 *
 * Reads the message (with CRLF line ends, as stored) on a worker thread.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_queue_read_message_async(PrHost *host, const PrQueueEntry *entry, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);

/**
 * pr_queue_read_message_finish:
 * @host: the host
 * @result: the result
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the message
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
GBytes *pr_queue_read_message_finish(PrHost *host, GAsyncResult *result, GError **error);

/**
 * PrQueueOutcome:
 * @PR_QUEUE_DELIVERED: the remote server accepted the recipient
 * @PR_QUEUE_DEFERRED: a temporary failure; tried again at @next_try
 * @PR_QUEUE_DEFERRED_WARNED: as %PR_QUEUE_DEFERRED, and the sender has just
 *   been sent a delay warning (#PrQueueEntry.warned becomes now)
 * @PR_QUEUE_FAILED: a permanent failure, or given up
 * @PR_QUEUE_RELEASE: not tried (shutting down, no route now): the entry is
 *   due again at @next_try without counting an attempt
 *
 * What became of a claimed entry.
 */
typedef enum {
    PR_QUEUE_DELIVERED,
    PR_QUEUE_DEFERRED,
    PR_QUEUE_DEFERRED_WARNED,
    PR_QUEUE_FAILED,
    PR_QUEUE_RELEASE,
} PrQueueOutcome;

/**
 * pr_queue_set_outcome_async:
 * @host: the host
 * @entry_id: a claimed entry's #PrQueueEntry.id
 * @outcome: what happened
 * @next_try: for the deferred outcomes and %PR_QUEUE_RELEASE: when to try
 *   again (unix time)
 * @reply: (nullable): the remote reply or local error, kept as the entry's
 *   last error
 * @cancellable: (nullable): a cancellable
 * @callback: (nullable): called on the main thread
 * @user_data: passed to @callback
 *
 * Records the outcome durably. A message's spool file is removed once no
 * mailbox and no unfinished entry uses it.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_queue_set_outcome_async(PrHost *host, gint64 entry_id, PrQueueOutcome outcome,
                                gint64 next_try, const char *reply, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data);

/**
 * pr_queue_set_outcome_finish:
 * @host: the host
 * @result: the result
 * @error: return location for a #GError
 *
 * Returns: %FALSE on error
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_queue_set_outcome_finish(PrHost *host, GAsyncResult *result, GError **error);

/**
 * PrQueueNotifyFunc:
 * @user_data: as given to pr_queue_set_notify()
 *
 * Called on the main thread when this instance has queued new entries.
 */
typedef void (*PrQueueNotifyFunc)(gpointer user_data);

/**
 * pr_queue_set_notify:
 * @host: the host
 * @self: the calling module
 * @func: (nullable): called after a delivery committed remote recipients,
 *   or %NULL to stop
 * @user_data: passed to @func
 *
 * Lets a sender start at once instead of at its next poll. Entries queued
 * by another instance or changed by `postroomctl queue` are only seen by
 * polling.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_queue_set_notify(PrHost *host, PrModule *self, PrQueueNotifyFunc func, gpointer user_data);

G_END_DECLS
