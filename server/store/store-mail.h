/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Mail in the store: the routing directory, the delivery transaction and
 * mailbox access (locks, snapshots, deletions). Synchronous, on one
 * connection: the daemon runs them on store workers. */

#include <postroom/pr-mailbox.h>
#include "router.h"
#include "store.h"

/* The number that changes whenever users, mappings, lists or domains do. */
gint64 store_directory_version(StoreConn *c, GError **error);
gboolean store_directory_bump(StoreConn *c, GError **error);
/* Adds the users, lists, mappings and domains (as local domains) to @data. */
gboolean store_directory_load(StoreConn *c, RouterData *data, GError **error);

typedef struct {
    const char *forward_to; /* ';'-separated, "" for none */
    gboolean forward_keep_copy;
    const char *assistants; /* ';'-separated, "" for none */
    gboolean assistant_only;
    gboolean in_everyone;
} StoreUserRouting;

gboolean store_user_set_routing(StoreConn *c, const char *name, const StoreUserRouting *routing,
                                GError **error);
gboolean store_user_set_quota(StoreConn *c, const char *name, gint64 quota_bytes, GError **error);
gboolean store_list_set_local_only(StoreConn *c, const char *name, gboolean local_only,
                                   GError **error);

typedef struct {
    const char *spool_path; /* relative to the spool directory */
    gint64 size;
    gint64 received;
    const char *sender;                             /* envelope sender, "" for <> */
    const char *subject, *from, *date, *message_id; /* summary headers, or NULL */
    const char *dsn_ret, *dsn_envid;                /* RFC 3461, or NULL */
    gint64 collector_id;                            /* a collected message's collector ... */
    const char *collector_uid;     /* ... and remote UID, recorded with it; or NULL */
    const struct _StoreMime *mime; /* its IMAP summary (message_id unused), or NULL */
} StoreMessage;

/* A remote recipient's queue entry, with its RFC 3461 parameters (or NULL). */
typedef struct {
    const char *recipient;
    const char *notify;
    const char *orcpt;
} StoreQueueTarget;

typedef struct {
    const char *user;
    const char *prefix; /* per-mailbox header lines (Delivered-To) */
} StoreDeliveryTarget;

typedef struct {
    char *user;
    int level; /* 80, 100 or 120 (% of the quota) newly reached */
    gint64 used;
    gint64 quota;
} StoreQuotaAlert;
void store_quota_alert_free(StoreQuotaAlert *alert);

/* One transaction: the message row, one entry in each target's INBOX, the
 * remote recipients' queue entries, usage counters. A user that does not
 * exist (deleted meanwhile) fails the whole delivery. Quota levels newly
 * crossed come back in @alerts (StoreQuotaAlert*, with
 * store_quota_alert_free() as the free function), if not NULL. Returns the
 * message id, 0 on error. */
gint64 store_deliver(StoreConn *c, const StoreMessage *message, const StoreDeliveryTarget *targets,
                     guint n_targets, const StoreQueueTarget *remote, guint n_remote,
                     GPtrArray *alerts, GError **error);
/* The same rows inside a transaction the caller began (store_begin()), so
 * that several messages can share one commit. It starts with a write, as
 * SQLite transactions must. On error the caller must roll back; @alerts is
 * then as it was before the call. */
gint64 store_deliver_rows(StoreConn *c, const StoreMessage *message,
                          const StoreDeliveryTarget *targets, guint n_targets,
                          const StoreQueueTarget *remote, guint n_remote, GPtrArray *alerts,
                          GError **error);

/* One message of store_deliver_batch(): what store_deliver() takes, and
 * the message id it gives back. */
typedef struct {
    const StoreMessage *message;
    const StoreDeliveryTarget *targets;
    guint n_targets;
    const StoreQueueTarget *remote;
    guint n_remote;
    GPtrArray *alerts; /* quota alerts this message raised, or NULL */
    gint64 message_id; /* set on success */
} StoreDelivery;

/* The rows of @n messages in the caller's transaction, as if each went
 * through store_deliver_rows() in turn (the same UIDs, usage and quota
 * alerts), but with the statements per mailbox user taken once for the
 * whole batch. A missing user fails it all. On error the caller must roll
 * back; every @alerts is then as it was before the call. */
gboolean store_deliver_batch(StoreConn *c, StoreDelivery *deliveries, guint n, GError **error);

/* Removes spool files older than @older_than (unix time) that no message
 * row refers to: what a crash between writing a file and committing its
 * rows leaves behind. The age keeps deliveries in progress, also on other
 * instances sharing the spool, safe. Returns how many, or -1. */
gint64 store_spool_sweep(StoreConn *c, const char *spool_dir, gint64 older_than, GError **error);

/* msgaudit (VPOP3's component and command codes). */
gboolean store_msgaudit_add(StoreConn *c, const char *component, const char *owner,
                            const char *actor, const char *cmd, const char *ip, const char *folder,
                            const char *subject, const char *sender, const char *msgdate,
                            GError **error);

typedef struct {
    guint32 uid;
    gint64 message_id;
    gint64 size; /* prefix + spool file */
    char *spool_path;
    char *prefix;
    char *flags; /* space-separated, "" for none */
    gint64 modseq;
    gint64 internaldate;
} StoreMailItem;
void store_mail_item_clear(StoreMailItem *item);

/* Takes the lock of @user's @folder. An exclusive lock needs the folder to
 * be free; a shared one only that no exclusive lock is held. Expired locks
 * (holders that died) are removed first. PR_STORE_ERROR_LOCKED otherwise. */
gint64 store_mailbox_lock(StoreConn *c, const char *user, const char *folder, const char *holder,
                          const char *instance, gboolean exclusive, gint64 expires,
                          guint32 *uidvalidity, GError **error);
gboolean store_mailbox_refresh(StoreConn *c, gint64 folder_id, const char *holder, gint64 expires,
                               GError **error);
gboolean store_mailbox_unlock(StoreConn *c, gint64 folder_id, const char *holder, GError **error);
/* At start-up: locks left by an earlier run of this instance. */
gint64 store_mailbox_unlock_instance(StoreConn *c, const char *instance, GError **error);
/* Visible messages by UID (StoreMailItem). */
GArray *store_mailbox_list(StoreConn *c, gint64 folder_id, GError **error);
/* ... only those whose modseq is above @modseq. */
GArray *store_mailbox_list_since(StoreConn *c, gint64 folder_id, gint64 modseq, GError **error);
/* Who changes a mailbox, for its msgaudit rows (VPOP3's codes). */
typedef struct {
    const char *component; /* "P" POP3, "W" webmail/administrator, ... */
    const char *cmd;       /* "D" delete, "P" purge, "U" undelete, ... */
    const char *owner;     /* the mailbox's user */
    const char *actor;     /* the user acting */
    const char *ip;        /* the client's address, or NULL */
    const char *folder;    /* the source folder's name */
} StoreMailAudit;

/* Removes (or holds) messages in one transaction; spool files no longer
 * used are returned in @unlink_paths for the caller to remove after the
 * commit. With @audit (else NULL), one msgaudit row per message removed or
 * held is written in the same transaction. */
gboolean store_mailbox_delete(StoreConn *c, gint64 folder_id, const guint32 *uids, guint n,
                              gboolean hold, const StoreMailAudit *audit, GPtrArray *unlink_paths,
                              GError **error);

/* ---- IMAP (store-mail-imap.c) ---- */

typedef struct {
    guint32 uidnext;
    guint64 highestmodseq;
    guint32 recent_from; /* UIDs from here on are \Recent for this session; 0: none */
} StoreMailboxState;

/* The folder's state and its visible messages, read in one transaction.
 * With @take_recent (IMAP SELECT) the messages no session has seen yet
 * become this one's \Recent: folders.recent_uid moves to uidnext. */
GArray *store_mailbox_snapshot(StoreConn *c, gint64 folder_id, gboolean take_recent,
                               StoreMailboxState *state, GError **error);
/* What a session holds of a folder: its messages' count, the sum and the
 * largest of their UIDs, and the highest modseq it has seen. */
typedef struct {
    guint count;
    gint64 uid_sum;
    guint32 last_uid;
    guint64 modseq;
} StoreSnapshotKnown;
/* store_mailbox_snapshot() for a session that holds @known: when the
 * messages up to known->last_uid are still those (nothing expunged), only
 * the messages changed or added since known->modseq, with *@delta set;
 * otherwise every message, as store_mailbox_snapshot(). */
GArray *store_mailbox_snapshot_since(StoreConn *c, gint64 folder_id, gboolean take_recent,
                                     const StoreSnapshotKnown *known, StoreMailboxState *state,
                                     gboolean *delta, GError **error);

/* Flag lists: system flags case-insensitively spelled as RFC 3501 does,
 * keywords as given, \Recent dropped, duplicates (case-insensitive)
 * removed; single spaces. */
char *store_flags_normalize(const char *flags);
/* @current changed by @change with @flags, normalised. */
char *store_flags_apply(const char *current, PrFlagsChange change, const char *flags);

/* A message whose flags store_mailbox_store_flags() changed: the
 * session that made the change updates its snapshot with it. */
typedef struct {
    guint32 uid;
    gint64 modseq;
    char *flags;
} StoreFlagsChanged;
void store_flags_changed_clear(StoreFlagsChanged *changed);

/* Changes flags of messages by UID in one transaction; each message whose
 * flags really change gets modseq = ++highestmodseq. Messages whose modseq
 * is above @unchanged_since (if not 0) are left alone and their UIDs
 * appended to @failed (guint32). */
gboolean store_mailbox_store_flags(StoreConn *c, gint64 folder_id, const guint32 *uids, guint n,
                                   PrFlagsChange change, const char *flags, guint64 unchanged_since,
                                   GArray *failed, GError **error);
/* Likewise, and appends each message changed to @changed
 * (StoreFlagsChanged, with store_flags_changed_clear() as clear func). */
gboolean store_mailbox_store_flags_full(StoreConn *c, gint64 folder_id, const guint32 *uids,
                                        guint n, PrFlagsChange change, const char *flags,
                                        guint64 unchanged_since, GArray *failed, GArray *changed,
                                        GError **error);
/* Likewise, leaving alone the flags @rights (RFC 4314, NULL: all) do not
 * let the user change: \Seen needs "s", \Deleted "t", the others "w". */
gboolean store_mailbox_store_flags_rights(StoreConn *c, gint64 folder_id, const guint32 *uids,
                                          guint n, PrFlagsChange change, const char *flags,
                                          guint64 unchanged_since, const char *rights,
                                          GArray *failed, GArray *changed, GError **error);

/* Copies (or moves) messages to another folder of the same user in one
 * transaction: new UIDs from the target's uidnext, flags and internal
 * dates kept, the messages rows (and spool files) shared. @target is a
 * folder name ("INBOX" in any case). UIDs gone meanwhile are skipped. The
 * copied UIDs and their new ones are appended to @source_uids and
 * @target_uids (guint32, may be NULL). */
gboolean store_mailbox_copy(StoreConn *c, gint64 folder_id, const guint32 *uids, guint n,
                            const char *target, gboolean move, gint64 *target_id,
                            guint32 *target_uidvalidity, GArray *source_uids, GArray *target_uids,
                            GError **error);
/* Likewise into @target_owner's folder @target (NULL: the source's
 * owner's), whose copies get only the flags @target_rights (NULL: all)
 * let the user set; usage counts to the target's owner. */
gboolean store_mailbox_copy_to(StoreConn *c, gint64 folder_id, const guint32 *uids, guint n,
                               const char *target_owner, const char *target,
                               const char *target_rights, gboolean move, gint64 *target_id,
                               guint32 *target_uidvalidity, GArray *source_uids,
                               GArray *target_uids, GError **error);

/* A row of message_mime. */
typedef struct _StoreMime {
    gint64 message_id;
    char *envelope, *bodystructure, *body, *sections;
} StoreMime;
/* Takes the four strings (a MimeSummary's, server/mime-summary.h). */
StoreMime *store_mime_new(gint64 message_id, char *envelope, char *bodystructure, char *body,
                          char *sections);
void store_mime_free(StoreMime *mime);

/* The message_mime rows of @message_ids, as StoreMime* (missing ones are
 * left out). Many at once close together are read with one query over the
 * folder's UIDs from @uid_min to @uid_max, spread out in batches of their
 * own. */
GPtrArray *store_mime_get(StoreConn *c, gint64 folder_id, const gint64 *message_ids, guint n,
                          guint32 uid_min, guint32 uid_max, GError **error);
/* Stores a row; a row already there (another session made it) is kept. */
gboolean store_mime_put(StoreConn *c, const StoreMime *mime, GError **error);

typedef struct {
    gint64 folder_id;
    guint64 highestmodseq;
    guint32 uidnext;
} StoreFolderState;
/* The states of the folders @ids (StoreFolderState), one query per 32. */
GArray *store_folders_state(StoreConn *c, const gint64 *ids, guint n, GError **error);
