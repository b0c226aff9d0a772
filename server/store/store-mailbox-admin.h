/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Mailboxes as the administrator sees them (postroomctl mailbox): message
 * and held counts, held messages, mailbox locks. Synchronous, on one
 * connection. Changes to a mailbox's messages are made while the caller
 * holds its exclusive lock (store_mailbox_lock()), as VPOP3 allows no
 * administrator access while a POP3 session has the mailbox. */

#include "store.h"
#include "store-mail.h"

typedef struct {
    char *user;
    gint64 folder_id;         /* the INBOX */
    gint64 messages, octets;  /* visible to clients */
    gint64 held, held_octets; /* held instead of deleted */
} StoreMailboxSummary;
void store_mailbox_summary_free(StoreMailboxSummary *summary);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StoreMailboxSummary, store_mailbox_summary_free)

/* The INBOX of @user, or of every user when @user is NULL, by user name.
 * Sizes are what POP3's LIST reports. */
GPtrArray *store_mailbox_summaries(StoreConn *c, const char *user, GError **error);

typedef struct {
    char *user;
    char *folder;
    char *holder;   /* "pop3 192.0.2.1 [host:pid:serial]" */
    char *instance; /* the server instance (host name) that took it */
    gboolean exclusive;
    gint64 expires; /* unix time; a live holder renews it every minute */
} StoreMailboxLock;
void store_mailbox_lock_free(StoreMailboxLock *lock);

/* The locks on @user's folders (every user's when NULL), by user name. */
GPtrArray *store_mailbox_locks(StoreConn *c, const char *user, GError **error);
/* Removes one lock, whether or not it is live. Returns how many (0 or 1). */
gint64 store_mailbox_lock_remove(StoreConn *c, const char *user, const char *folder,
                                 const char *holder, GError **error);

typedef struct {
    guint32 uid;
    gint64 size; /* as POP3 would report it */
    gint64 received;
    char *sender;                             /* envelope sender, "" for <> */
    char *subject, *from, *date, *message_id; /* "" when the message has none */
} StoreHeldMessage;
void store_held_message_free(StoreHeldMessage *message);

/* @folder_id's held messages by UID. */
GPtrArray *store_mailbox_held(StoreConn *c, gint64 folder_id, GError **error);

/* Makes held messages visible again (@uid, or all of them when 0), in one
 * transaction with a msgaudit row each when @audit is not NULL. Returns
 * how many; PR_STORE_ERROR_NOT_FOUND when @uid is not a held message. */
gint64 store_mailbox_release(StoreConn *c, gint64 folder_id, guint32 uid,
                             const StoreMailAudit *audit, GError **error);

/* Deletes held messages for good (@uid, or all of them when 0), as
 * store_mailbox_delete() does. Returns how many; PR_STORE_ERROR_NOT_FOUND
 * when @uid is not a held message. */
gint64 store_mailbox_purge(StoreConn *c, gint64 folder_id, guint32 uid, const StoreMailAudit *audit,
                           GPtrArray *unlink_paths, GError **error);
