/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "mailbox-private.h"
#include "mime-summary.h"

/* What IMAP adds to PrMailbox: the folder's state and each message's flags
 * in the snapshot, \Recent, flag changes, copies and moves, syncs that
 * report what others changed, and the MIME summaries and byte ranges that
 * FETCH reads. The store does the work (store-mail-imap.c); this file
 * runs it on the store's workers and keeps the results. */

/* ---- the snapshot ---- */

guint32
pr_mailbox_get_uidvalidity(PrMailbox *mailbox)
{
    g_return_val_if_fail(mailbox != NULL, 0);
    return mailbox->uidvalidity;
}

guint32
pr_mailbox_get_uidnext(PrMailbox *mailbox)
{
    g_return_val_if_fail(mailbox != NULL, 0);
    return mailbox->state.uidnext;
}

guint64
pr_mailbox_get_highest_modseq(PrMailbox *mailbox)
{
    g_return_val_if_fail(mailbox != NULL, 0);
    return mailbox->state.highestmodseq;
}

const char *
pr_mailbox_get_flags(PrMailbox *mailbox, guint index)
{
    StoreMailItem *item = mailbox_item_at(mailbox, index);
    return item != NULL ? item->flags : "";
}

guint64
pr_mailbox_get_modseq(PrMailbox *mailbox, guint index)
{
    StoreMailItem *item = mailbox_item_at(mailbox, index);
    return item != NULL ? (guint64)item->modseq : 0;
}

gint64
pr_mailbox_get_internal_date(PrMailbox *mailbox, guint index)
{
    StoreMailItem *item = mailbox_item_at(mailbox, index);
    return item != NULL ? item->internaldate : 0;
}

gboolean
pr_mailbox_is_recent(PrMailbox *mailbox, guint index)
{
    StoreMailItem *item = mailbox_item_at(mailbox, index);
    return item != NULL && g_hash_table_contains(mailbox->recent, GUINT_TO_POINTER(item->uid));
}

guint
mailbox_take_recent(PrMailbox *mailbox, GArray *items, const StoreMailboxState *state)
{
    guint n = 0;

    if (state->recent_from == 0)
        return 0;
    for (guint i = 0; i < items->len; i++) {
        guint32 uid = g_array_index(items, StoreMailItem, i).uid;
        if (uid >= state->recent_from && g_hash_table_add(mailbox->recent, GUINT_TO_POINTER(uid)))
            n++;
    }
    return n;
}

/* ---- store jobs: the common part ---- */

/* A task on @mailbox (referenced until it completes) for a store job. */
static GTask *
mailbox_task_new(PrMailbox *mailbox, GAsyncReadyCallback callback, gpointer user_data, gpointer tag)
{
    GTask *task = g_task_new(NULL, NULL, callback, user_data);
    g_task_set_source_tag(task, tag);
    g_task_set_task_data(task, mailbox_ref(mailbox), (GDestroyNotify)mailbox_unref);
    return task;
}

static gboolean
mailbox_closed(GTask *task, PrMailbox *mailbox)
{
    if (mailbox->folder_id != 0 && host_get_store(mailbox->host) != NULL)
        return FALSE;
    g_task_return_new_error(task, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                            _("The mailbox is closed."));
    g_object_unref(task);
    return TRUE;
}

/* ---- flags ---- */

typedef struct {
    gint64 folder_id;
    GArray *uids;
    PrFlagsChange change;
    char *flags;
    guint64 unchanged_since;
    char rights[STORE_RIGHTS_SIZE];
} FlagsJob;

static void
flags_job_free(gpointer p)
{
    FlagsJob *j = p;
    g_array_unref(j->uids);
    g_free(j->flags);
    g_free(j);
}

typedef struct {
    GArray *failed;  /* guint32 */
    GArray *changed; /* StoreFlagsChanged */
} FlagsResult;

static void
flags_result_free(gpointer p)
{
    FlagsResult *r = p;
    g_clear_pointer(&r->failed, g_array_unref);
    g_clear_pointer(&r->changed, g_array_unref);
    g_free(r);
}

static gpointer
flags_job(StoreConn *c, gpointer data, GError **error)
{
    FlagsJob *j = data;
    FlagsResult *r = g_new0(FlagsResult, 1);

    r->failed = g_array_new(FALSE, FALSE, sizeof(guint32));
    r->changed = g_array_new(FALSE, FALSE, sizeof(StoreFlagsChanged));
    g_array_set_clear_func(r->changed, (GDestroyNotify)store_flags_changed_clear);
    if (!store_mailbox_store_flags_rights(c, j->folder_id, (guint32 *)j->uids->data, j->uids->len,
                                          j->change, j->flags, j->unchanged_since, j->rights,
                                          r->failed, r->changed, error)) {
        flags_result_free(r);
        return NULL;
    }
    return r;
}

/* The session that changed the flags sees its change at once (IMAP STORE
 * answers with the new flags; a FETCH after it must not show the old
 * ones); the snapshot is in UID order. */
static void
flags_update_snapshot(PrMailbox *mailbox, GArray *changed)
{
    for (guint i = 0; i < changed->len; i++) {
        StoreFlagsChanged *ch = &g_array_index(changed, StoreFlagsChanged, i);
        guint lo = 0, hi = mailbox->items->len;

        while (lo < hi) {
            guint mid = lo + (hi - lo) / 2;
            StoreMailItem *item = &g_array_index(mailbox->items, StoreMailItem, mid);

            if (item->uid == ch->uid) {
                g_free(item->flags);
                item->flags = g_strdup(ch->flags);
                item->modseq = ch->modseq;
                break;
            }
            if (item->uid < ch->uid)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
}

static void
flags_done(GObject *source, GAsyncResult *result, gpointer data)
{
    GTask *task = data;
    PrMailbox *mailbox = g_task_get_task_data(task);
    g_autoptr(GError) error = NULL;
    FlagsResult *r = store_run_finish(host_get_store(mailbox->host), result, &error);

    if (r == NULL) {
        g_task_return_error(task, g_steal_pointer(&error));
    } else {
        flags_update_snapshot(mailbox, r->changed);
        /* After the commit: every session on the folder then sees it. */
        host_mailbox_changed(mailbox->host, mailbox->folder_id);
        g_task_return_pointer(task, g_steal_pointer(&r->failed), (GDestroyNotify)g_array_unref);
        flags_result_free(r);
    }
    g_object_unref(task);
}

void
pr_mailbox_store_flags_async(PrMailbox *mailbox, const guint32 *uids, guint n_uids,
                             PrFlagsChange change, const char *flags, guint64 unchanged_since,
                             GAsyncReadyCallback callback, gpointer user_data)
{
    g_return_if_fail(mailbox != NULL && (uids != NULL || n_uids == 0));
    GTask *task = mailbox_task_new(mailbox, callback, user_data, pr_mailbox_store_flags_async);
    if (mailbox_closed(task, mailbox))
        return;

    FlagsJob *j = g_new0(FlagsJob, 1);
    j->folder_id = mailbox->folder_id;
    j->uids = g_array_sized_new(FALSE, FALSE, sizeof(guint32), n_uids);
    g_array_append_vals(j->uids, uids, n_uids);
    j->change = change;
    j->flags = g_strdup(flags != NULL ? flags : "");
    j->unchanged_since = unchanged_since;
    /* The store leaves alone what the rights do not let change. */
    g_strlcpy(j->rights, mailbox->rights, sizeof(j->rights));
    store_run_async(host_get_store(mailbox->host), flags_job, j, flags_job_free, NULL, flags_done,
                    task);
}

gboolean
pr_mailbox_store_flags_finish(PrMailbox *mailbox, GAsyncResult *result, GArray **failed,
                              GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), FALSE);
    GArray *out = g_task_propagate_pointer(G_TASK(result), error);

    if (out == NULL)
        return FALSE;
    if (failed != NULL)
        *failed = out;
    else
        g_array_unref(out);
    return TRUE;
}

/* ---- copies ---- */

typedef struct {
    gint64 folder_id;
    GArray *uids;
    char *actor; /* the target is named as this user sees it */
    char *target;
    gboolean move;
} CopyJob;

typedef struct {
    gint64 target_id;
    guint32 uidvalidity;
    GArray *source_uids, *target_uids;
} CopyResult;

static void
copy_job_free(gpointer p)
{
    CopyJob *j = p;
    g_array_unref(j->uids);
    g_free(j->actor);
    g_free(j->target);
    g_free(j);
}

static void
copy_result_free(gpointer p)
{
    CopyResult *r = p;
    g_array_unref(r->source_uids);
    g_array_unref(r->target_uids);
    g_free(r);
}

static gpointer
copy_job(StoreConn *c, gpointer data, GError **error)
{
    CopyJob *j = data;
    g_auto(StoreFolderRef) ref = { 0 };

    /* Copying in needs "i" on the target, which may be another user's. */
    if (!store_folder_resolve(c, j->actor, j->target, "i", &ref, error))
        return NULL;
    CopyResult *r = g_new0(CopyResult, 1);
    r->source_uids = g_array_new(FALSE, FALSE, sizeof(guint32));
    r->target_uids = g_array_new(FALSE, FALSE, sizeof(guint32));
    if (!store_mailbox_copy_to(c, j->folder_id, (guint32 *)j->uids->data, j->uids->len, ref.owner,
                               ref.folder, ref.rights, j->move, &r->target_id, &r->uidvalidity,
                               r->source_uids, r->target_uids, error)) {
        copy_result_free(r);
        return NULL;
    }
    return r;
}

static void
copy_done(GObject *source, GAsyncResult *result, gpointer data)
{
    GTask *task = data;
    PrMailbox *mailbox = g_task_get_task_data(task);
    g_autoptr(GError) error = NULL;
    CopyResult *r = store_run_finish(host_get_store(mailbox->host), result, &error);

    if (r == NULL) {
        g_task_return_error(task, g_steal_pointer(&error));
    } else {
        host_mailbox_changed(mailbox->host, r->target_id);
        if (r->target_id != mailbox->folder_id)
            host_mailbox_changed(mailbox->host, mailbox->folder_id);
        g_task_return_pointer(task, r, copy_result_free);
    }
    g_object_unref(task);
}

void
pr_mailbox_copy_async(PrMailbox *mailbox, const guint32 *uids, guint n_uids, const char *target,
                      gboolean move, GAsyncReadyCallback callback, gpointer user_data)
{
    g_return_if_fail(mailbox != NULL && (uids != NULL || n_uids == 0) && target != NULL);
    GTask *task = mailbox_task_new(mailbox, callback, user_data, pr_mailbox_copy_async);
    if (mailbox_closed(task, mailbox))
        return;
    /* A move takes the messages away: "t" and "e" on the source. */
    for (const char *need = "te"; move && *need != '\0'; need++) {
        if (strchr(mailbox->rights, *need) == NULL) {
            g_task_return_new_error(task, PR_STORE_ERROR, PR_STORE_ERROR_PERMISSION,
                                    _("You do not have the “%c” right on the folder “%s”."), *need,
                                    mailbox->folder);
            g_object_unref(task);
            return;
        }
    }

    CopyJob *j = g_new0(CopyJob, 1);
    j->folder_id = mailbox->folder_id;
    j->actor = g_strdup(mailbox->actor);
    j->uids = g_array_sized_new(FALSE, FALSE, sizeof(guint32), n_uids);
    g_array_append_vals(j->uids, uids, n_uids);
    j->target = g_strdup(target);
    j->move = move;
    store_run_async(host_get_store(mailbox->host), copy_job, j, copy_job_free, NULL, copy_done,
                    task);
}

gboolean
pr_mailbox_copy_finish(PrMailbox *mailbox, GAsyncResult *result, guint32 *uidvalidity,
                       GArray **source_uids, GArray **target_uids, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), FALSE);
    CopyResult *r = g_task_propagate_pointer(G_TASK(result), error);

    if (r == NULL)
        return FALSE;
    if (uidvalidity != NULL)
        *uidvalidity = r->uidvalidity;
    if (source_uids != NULL)
        *source_uids = g_array_ref(r->source_uids);
    if (target_uids != NULL)
        *target_uids = g_array_ref(r->target_uids);
    copy_result_free(r);
    return TRUE;
}

/* ---- syncing ---- */

typedef struct {
    gint64 folder_id;
    gboolean take_recent;
    gboolean full;            /* every message, not what changed since @known */
    StoreSnapshotKnown known; /* what the snapshot held when the job was made */
    guint generation;         /* ... and which snapshot that was */
} SyncJob;

typedef struct {
    GArray *items;
    StoreMailboxState state;
    gboolean delta; /* items are only those changed since the job's known */
} SyncResult;

static void
sync_result_free(gpointer p)
{
    SyncResult *r = p;
    if (r->items != NULL)
        g_array_unref(r->items);
    g_free(r);
}

static gpointer
sync_job(StoreConn *c, gpointer data, GError **error)
{
    SyncJob *j = data;
    SyncResult *r = g_new0(SyncResult, 1);

    /* Mostly a few messages changed or came: only those are read, not
     * every message of the folder again. */
    if (j->full)
        r->items = store_mailbox_snapshot(c, j->folder_id, j->take_recent, &r->state, error);
    else
        r->items = store_mailbox_snapshot_since(c, j->folder_id, j->take_recent, &j->known,
                                                &r->state, &r->delta, error);
    if (r->items == NULL) {
        g_free(r);
        return NULL;
    }
    return r;
}

void
pr_mailbox_changes_free(PrMailboxChanges *changes)
{
    if (changes == NULL)
        return;
    g_clear_pointer(&changes->expunged, g_array_unref);
    g_clear_pointer(&changes->changed, g_array_unref);
    g_free(changes);
}

/* Both snapshots are in UID order: one walk finds what went and what
 * changed. */
static PrMailboxChanges *
compare_snapshots(GArray *old, GArray *now)
{
    PrMailboxChanges *ch = g_new0(PrMailboxChanges, 1);
    guint i = 0, k = 0;

    ch->expunged = g_array_new(FALSE, FALSE, sizeof(guint));
    ch->changed = g_array_new(FALSE, FALSE, sizeof(guint));
    ch->exists = now->len;
    while (i < old->len) {
        StoreMailItem *a = &g_array_index(old, StoreMailItem, i);
        StoreMailItem *b = k < now->len ? &g_array_index(now, StoreMailItem, k) : NULL;
        if (b == NULL || a->uid < b->uid) {
            g_array_prepend_val(ch->expunged, i); /* descending */
            i++;
        } else if (a->uid > b->uid) {
            k++; /* cannot happen: UIDs only grow; new messages come last */
        } else {
            if (a->modseq != b->modseq || g_strcmp0(a->flags, b->flags) != 0)
                g_array_append_val(ch->changed, k);
            i++;
            k++;
        }
    }
    return ch;
}

/* A session's messages only ever come at the end (RFC 3501 §2.3.1.1), but
 * a held message that the administrator releases comes back with its old
 * UID, among the others: it waits for the next SELECT. */
static void
drop_returned(GArray *old, GArray *now)
{
    guint32 last = old->len > 0 ? g_array_index(old, StoreMailItem, old->len - 1).uid : 0;
    guint i = 0;

    for (guint k = 0; k < now->len;) {
        guint32 uid = g_array_index(now, StoreMailItem, k).uid;
        if (uid > last)
            break;
        while (i < old->len && g_array_index(old, StoreMailItem, i).uid < uid)
            i++;
        if (i < old->len && g_array_index(old, StoreMailItem, i).uid == uid)
            k++;
        else
            g_array_remove_index(now, k);
    }
}

/* The whole snapshot after a delta: the session's messages, those that
 * changed replaced by their new rows (taken from @delta), then the new
 * ones. */
static GArray *
merge_delta(GArray *old, GArray *delta, GHashTable *gone)
{
    GArray *now = g_array_sized_new(FALSE, TRUE, sizeof(StoreMailItem), old->len + delta->len);
    guint k = 0;

    g_array_set_clear_func(now, (GDestroyNotify)store_mail_item_clear);
    for (guint i = 0; i < old->len; i++) {
        const StoreMailItem *a = &g_array_index(old, StoreMailItem, i);
        StoreMailItem item;

        /* Below a message of the session, only a released one (see
         * drop_returned()). */
        while (k < delta->len && g_array_index(delta, StoreMailItem, k).uid < a->uid)
            k++;
        if (k < delta->len && g_array_index(delta, StoreMailItem, k).uid == a->uid) {
            StoreMailItem *b = &g_array_index(delta, StoreMailItem, k++);
            item = *b;
            b->spool_path = b->prefix = b->flags = NULL;
        } else if (gone != NULL && g_hash_table_contains(gone, GUINT_TO_POINTER(a->uid))) {
            continue; /* this session's own expunge */
        } else {
            item = *a;
            item.spool_path = g_strdup(a->spool_path);
            item.prefix = g_strdup(a->prefix);
            item.flags = g_strdup(a->flags);
        }
        g_array_append_val(now, item);
    }
    for (; k < delta->len; k++) {
        StoreMailItem *b = &g_array_index(delta, StoreMailItem, k);
        if (old->len > 0 && b->uid <= g_array_index(old, StoreMailItem, old->len - 1).uid)
            continue;
        g_array_append_val(now, *b);
        b->spool_path = b->prefix = b->flags = NULL;
    }
    return now;
}

static void sync_run(PrMailbox *mailbox, GTask *task, gboolean full);

static void
sync_done(GObject *source, GAsyncResult *result, gpointer data)
{
    GTask *task = data;
    PrMailbox *mailbox = g_task_get_task_data(task);
    g_autoptr(GError) error = NULL;
    SyncResult *r = store_run_finish(host_get_store(mailbox->host), result, &error);

    if (r == NULL) {
        g_task_return_error(task, g_steal_pointer(&error));
        g_object_unref(task);
        return;
    }
    if (r->delta) {
        SyncJob *j = g_task_get_task_data(G_TASK(result));
        /* Another sync replaced the snapshot meanwhile: the delta is
         * relative to the one before, so everything is read again. */
        if (j->generation != mailbox->generation) {
            sync_result_free(r);
            if (!mailbox_closed(task, mailbox))
                sync_run(mailbox, task, TRUE);
            return;
        }
        GArray *now = merge_delta(mailbox->items, r->items, mailbox->gone);
        g_array_unref(r->items);
        r->items = now;
    }
    /* Gone from the new snapshot either way: a delete that ends after the
     * job looked makes the next sync's counts differ, so it reads all. */
    g_clear_pointer(&mailbox->gone, g_hash_table_unref);
    drop_returned(mailbox->items, r->items);
    PrMailboxChanges *ch = compare_snapshots(mailbox->items, r->items);
    /* UIDs that went cannot come back: \Recent forgets them. */
    for (guint e = 0; e < ch->expunged->len; e++) {
        guint i = g_array_index(ch->expunged, guint, e);
        guint32 uid = g_array_index(mailbox->items, StoreMailItem, i).uid;
        g_hash_table_remove(mailbox->recent, GUINT_TO_POINTER(uid));
    }
    ch->new_recent = mailbox_take_recent(mailbox, r->items, &r->state);
    mailbox_replace_items(mailbox, g_steal_pointer(&r->items), &r->state);
    sync_result_free(r);
    g_task_return_pointer(task, ch, (GDestroyNotify)pr_mailbox_changes_free);
    g_object_unref(task);
}

void
pr_mailbox_sync_async(PrMailbox *mailbox, GAsyncReadyCallback callback, gpointer user_data)
{
    g_return_if_fail(mailbox != NULL);
    GTask *task = mailbox_task_new(mailbox, callback, user_data, pr_mailbox_sync_async);
    if (mailbox_closed(task, mailbox))
        return;
    sync_run(mailbox, task, FALSE);
}

static void
sync_run(PrMailbox *mailbox, GTask *task, gboolean full)
{
    SyncJob *j = g_new0(SyncJob, 1);
    j->folder_id = mailbox->folder_id;
    j->take_recent = mailbox->access == PR_MAILBOX_SHARED;
    j->full = full;
    j->generation = mailbox->generation;
    /* The snapshot's modseq may lag its messages' (flags_update_snapshot()):
     * the delta then only holds some unchanged ones too. */
    j->known.count = mailbox->items->len;
    j->known.modseq = mailbox->state.highestmodseq;
    for (guint i = 0; i < mailbox->items->len; i++) {
        StoreMailItem *item = &g_array_index(mailbox->items, StoreMailItem, i);
        j->known.last_uid = MAX(j->known.last_uid, item->uid);
        /* What this session expunged is known to be gone. */
        if (mailbox->gone != NULL &&
            g_hash_table_contains(mailbox->gone, GUINT_TO_POINTER(item->uid))) {
            j->known.count--;
            continue;
        }
        j->known.uid_sum += item->uid;
    }
    store_run_async(host_get_store(mailbox->host), sync_job, j, g_free, NULL, sync_done, task);
}

PrMailboxChanges *
pr_mailbox_sync_finish(PrMailbox *mailbox, GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
    return g_task_propagate_pointer(G_TASK(result), error);
}

/* ---- summaries ---- */

typedef struct {
    PrMessageSummary pub;
    StoreMime *mime; /* owns the strings */
} MailboxSummary;

static void
mailbox_summary_free(gpointer p)
{
    MailboxSummary *s = p;
    store_mime_free(s->mime);
    g_free(s);
}

void
mailbox_summaries_free(PrMailbox *mailbox)
{
    g_clear_pointer(&mailbox->summaries, g_hash_table_unref);
}

typedef struct {
    gint64 folder_id;
    char *spool_dir;
    GArray *message_ids; /* gint64 */
    GPtrArray *paths;    /* spool paths, same order */
    guint32 uid_min, uid_max;
} SummaryJob;

static void
summary_job_free(gpointer p)
{
    SummaryJob *j = p;
    g_free(j->spool_dir);
    g_array_unref(j->message_ids);
    g_ptr_array_unref(j->paths);
    g_free(j);
}

/* Summarises the spool file (without the per-mailbox prefix: the row is
 * shared by every copy of the message). */
static StoreMime *
summary_make(SummaryJob *j, guint i, GError **error)
{
    g_autofree char *path = g_build_filename(j->spool_dir, j->paths->pdata[i], NULL);
    g_autofree char *data = NULL;
    gsize len;

    if (!g_file_get_contents(path, &data, &len, NULL)) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_IO, _("Cannot read the message file %s."),
                    path);
        return NULL;
    }
    g_autoptr(MimeSummary) ms = mime_summary_build((const guint8 *)data, len);
    return store_mime_new(g_array_index(j->message_ids, gint64, i), g_steal_pointer(&ms->envelope),
                          g_steal_pointer(&ms->bodystructure), g_steal_pointer(&ms->body),
                          g_steal_pointer(&ms->sections));
}

/* Rows stored per transaction: one commit (and fsync) for many rather
 * than one each, and the write lock is not held while parsing. */
#define SUMMARIES_PER_COMMIT 200

static gboolean
summaries_store(StoreConn *c, GPtrArray *rows, guint from, GError **error)
{
    for (guint at = from; at < rows->len; at += SUMMARIES_PER_COMMIT) {
        /* Relaxed: a summary lost to a power loss is made again. */
        if (!store_begin_relaxed(c, error))
            return FALSE;
        for (guint i = at; i < rows->len && i < at + SUMMARIES_PER_COMMIT; i++) {
            if (!store_mime_put(c, rows->pdata[i], error)) {
                store_rollback(c);
                return FALSE;
            }
        }
        if (!store_commit(c, error))
            return FALSE;
    }
    return TRUE;
}

static gpointer
summary_job(StoreConn *c, gpointer data, GError **error)
{
    SummaryJob *j = data;
    g_autoptr(GHashTable) found = g_hash_table_new(g_int64_hash, g_int64_equal);
    GPtrArray *rows = store_mime_get(c, j->folder_id, (gint64 *)j->message_ids->data,
                                     j->message_ids->len, j->uid_min, j->uid_max, error);

    if (rows == NULL)
        return NULL;
    guint stored = rows->len;
    for (guint i = 0; i < rows->len; i++)
        g_hash_table_add(found, &((StoreMime *)rows->pdata[i])->message_id);
    for (guint i = 0; i < j->message_ids->len; i++) {
        gint64 *id = &g_array_index(j->message_ids, gint64, i);
        if (g_hash_table_contains(found, id))
            continue;
        StoreMime *mime = summary_make(j, i, error);
        if (mime == NULL) {
            g_ptr_array_unref(rows);
            return NULL;
        }
        g_ptr_array_add(rows, mime);
        g_hash_table_add(found, &mime->message_id);
    }
    if (!summaries_store(c, rows, stored, error)) {
        g_ptr_array_unref(rows);
        return NULL;
    }
    return rows;
}

static void
summary_done(GObject *source, GAsyncResult *result, gpointer data)
{
    GTask *task = data;
    PrMailbox *mailbox = g_task_get_task_data(task);
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) rows = store_run_finish(host_get_store(mailbox->host), result, &error);

    if (rows == NULL) {
        g_task_return_error(task, g_steal_pointer(&error));
        g_object_unref(task);
        return;
    }
    if (mailbox->summaries == NULL)
        mailbox->summaries =
            g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, mailbox_summary_free);
    g_ptr_array_set_free_func(rows, NULL);
    for (guint i = 0; i < rows->len; i++) {
        MailboxSummary *s = g_new0(MailboxSummary, 1);
        s->mime = rows->pdata[i];
        s->pub.envelope = s->mime->envelope;
        s->pub.bodystructure = s->mime->bodystructure;
        s->pub.body = s->mime->body;
        g_hash_table_replace(mailbox->summaries, &s->mime->message_id, s);
    }
    g_task_return_boolean(task, TRUE);
    g_object_unref(task);
}

void
pr_mailbox_load_summaries_async(PrMailbox *mailbox, const guint *indexes, guint n_indexes,
                                GAsyncReadyCallback callback, gpointer user_data)
{
    g_return_if_fail(mailbox != NULL && (indexes != NULL || n_indexes == 0));
    GTask *task = mailbox_task_new(mailbox, callback, user_data, pr_mailbox_load_summaries_async);
    g_autoptr(GHashTable) asked = g_hash_table_new(g_int64_hash, g_int64_equal);

    SummaryJob *j = g_new0(SummaryJob, 1);
    j->folder_id = mailbox->folder_id;
    j->spool_dir = g_strdup(mailbox->spool_dir);
    j->message_ids = g_array_new(FALSE, FALSE, sizeof(gint64));
    j->paths = g_ptr_array_new_with_free_func(g_free);
    j->uid_min = G_MAXUINT32;
    for (guint i = 0; i < n_indexes; i++) {
        StoreMailItem *item = mailbox_item_at(mailbox, indexes[i]);
        if (item == NULL || g_hash_table_contains(asked, &item->message_id) ||
            (mailbox->summaries != NULL &&
             g_hash_table_contains(mailbox->summaries, &item->message_id)))
            continue;
        g_hash_table_add(asked, &item->message_id);
        g_array_append_val(j->message_ids, item->message_id);
        g_ptr_array_add(j->paths, g_strdup(item->spool_path));
        j->uid_min = MIN(j->uid_min, item->uid);
        j->uid_max = MAX(j->uid_max, item->uid);
    }
    /* All known already: no trip to the store. */
    if (j->message_ids->len == 0) {
        summary_job_free(j);
        g_task_return_boolean(task, TRUE);
        g_object_unref(task);
        return;
    }
    if (mailbox_closed(task, mailbox)) {
        summary_job_free(j);
        return;
    }
    store_run_async(host_get_store(mailbox->host), summary_job, j, summary_job_free, NULL,
                    summary_done, task);
}

gboolean
pr_mailbox_load_summaries_finish(PrMailbox *mailbox, GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), FALSE);
    return g_task_propagate_boolean(G_TASK(result), error);
}

static MailboxSummary *
summary_of(PrMailbox *mailbox, StoreMailItem *item)
{
    if (item == NULL || mailbox->summaries == NULL)
        return NULL;
    return g_hash_table_lookup(mailbox->summaries, &item->message_id);
}

const PrMessageSummary *
pr_mailbox_get_summary(PrMailbox *mailbox, guint index)
{
    MailboxSummary *s = summary_of(mailbox, mailbox_item_at(mailbox, index));
    return s != NULL ? &s->pub : NULL;
}

gboolean
pr_mailbox_find_section(PrMailbox *mailbox, guint index, const char *part, PrSectionPart which,
                        gint64 *offset, gint64 *length)
{
    StoreMailItem *item = mailbox_item_at(mailbox, index);
    MailboxSummary *s = summary_of(mailbox, item);
    gint64 off, len;

    g_return_val_if_fail(part != NULL && offset != NULL && length != NULL, FALSE);
    *offset = *length = 0;
    if (s == NULL || !mime_summary_find_section(s->mime->sections, part, which, &off, &len))
        return FALSE;
    /* The table counts from the spool file; the message starts with the
     * mailbox's header lines, which belong to the top header. */
    gint64 prefix = (gint64)strlen(item->prefix);
    if (*part == '\0' && (which == PR_SECTION_HEADER || which == PR_SECTION_ALL)) {
        *offset = 0;
        *length = off + len + prefix;
    } else {
        *offset = off + prefix;
        *length = len;
    }
    return TRUE;
}

/* ---- reading a range ---- */

PrMessageReader *
pr_mailbox_read_range(PrMailbox *mailbox, guint index, gint64 offset, gint64 length)
{
    g_return_val_if_fail(offset >= 0 && length >= 0, NULL);
    PrMessageReader *r = pr_mailbox_read_message(mailbox, index, PR_MESSAGE_RAW, -1);

    if (r != NULL) {
        r->range_skip = offset;
        r->range_left = length;
        /* Nothing to read: done before the first chunk. */
        r->finished = length == 0;
    }
    return r;
}

/* ---- reading several ranges at once ---- */

/* What one call reads ahead at most: a range larger than this, or beyond
 * the total, is streamed by its reader as before. */
#define RANGES_MAX_ONE   (64 * 1024)
#define RANGES_MAX_TOTAL (1024 * 1024)

typedef struct {
    char *key;
    char *path;
    char *prefix;
    gint64 offset, length;
    GBytes *bytes; /* NULL if it could not be read whole */
} RangeRead;

typedef struct {
    PrMailbox *mailbox;
    guint generation;
    GArray *reads; /* RangeRead */
} RangesJob;

static char *
range_key(guint index, gint64 offset, gint64 length)
{
    return g_strdup_printf("%u:%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT, index, offset, length);
}

static void
range_read_clear(gpointer p)
{
    RangeRead *r = p;
    g_free(r->key);
    g_free(r->path);
    g_free(r->prefix);
    g_clear_pointer(&r->bytes, g_bytes_unref);
}

static void
ranges_job_free(gpointer p)
{
    RangesJob *j = p;
    g_array_unref(j->reads);
    mailbox_unref(j->mailbox);
    g_free(j);
}

/* The wire form's octets (the prefix, then the file) from @offset on, all
 * @length of them, or NULL: anything short or failing is left to the
 * reader, which reports it. */
static GBytes *
range_read_whole(const char *path, const char *prefix, gint64 offset, gint64 length)
{
    gint64 prefix_len = strlen(prefix);
    GByteArray *out = g_byte_array_sized_new(length);

    if (offset < prefix_len) {
        gint64 n = MIN(prefix_len - offset, length);
        g_byte_array_append(out, (const guint8 *)prefix + offset, n);
    }
    if ((gint64)out->len < length) {
        gint64 file_off = MAX(0, offset - prefix_len);
        gsize want = length - out->len, got = 0, start = out->len;
        int fd = g_open(path, O_RDONLY | O_CLOEXEC, 0);

        if (fd < 0) {
            g_byte_array_unref(out);
            return NULL;
        }
        g_byte_array_set_size(out, start + want);
        while (got < want) {
            gssize n = pread(fd, out->data + start + got, want - got, file_off + got);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            got += n;
        }
        close(fd);
        if (got < want) {
            g_byte_array_unref(out);
            return NULL;
        }
    }
    return g_byte_array_free_to_bytes(out);
}

static void
ranges_read(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
    RangesJob *j = data;

    for (guint i = 0; i < j->reads->len; i++) {
        RangeRead *r = &g_array_index(j->reads, RangeRead, i);
        r->bytes = range_read_whole(r->path, r->prefix, r->offset, r->length);
    }
    g_task_return_boolean(task, TRUE);
}

static void
ranges_done(GObject *source, GAsyncResult *result, gpointer data)
{
    GTask *task = data;
    RangesJob *j = g_task_get_task_data(G_TASK(result));
    PrMailbox *m = j->mailbox;

    /* A sync meanwhile made the indexes stale: the readers read. */
    if (j->generation == m->generation) {
        if (m->ranges == NULL)
            m->ranges = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                              (GDestroyNotify)g_bytes_unref);
        for (guint i = 0; i < j->reads->len; i++) {
            RangeRead *r = &g_array_index(j->reads, RangeRead, i);
            if (r->bytes != NULL)
                g_hash_table_replace(m->ranges, g_steal_pointer(&r->key),
                                     g_steal_pointer(&r->bytes));
        }
    }
    g_task_return_boolean(task, TRUE);
    g_object_unref(task);
}

void
pr_mailbox_read_ranges_async(PrMailbox *mailbox, const PrMessageRange *ranges, guint n_ranges,
                             GAsyncReadyCallback callback, gpointer user_data)
{
    g_return_if_fail(mailbox != NULL && (ranges != NULL || n_ranges == 0));
    GTask *task = g_task_new(NULL, NULL, callback, user_data);
    gint64 total = 0;

    g_task_set_source_tag(task, pr_mailbox_read_ranges_async);
    /* What an earlier command kept but did not use goes now. */
    g_clear_pointer(&mailbox->ranges, g_hash_table_unref);

    RangesJob *j = g_new0(RangesJob, 1);
    j->mailbox = mailbox_ref(mailbox);
    j->generation = mailbox->generation;
    j->reads = g_array_new(FALSE, TRUE, sizeof(RangeRead));
    g_array_set_clear_func(j->reads, range_read_clear);
    for (guint i = 0; i < n_ranges; i++) {
        const PrMessageRange *want = &ranges[i];
        StoreMailItem *item = mailbox_item_at(mailbox, want->index);

        if (item == NULL || want->offset < 0 || want->length <= 0 ||
            want->length > RANGES_MAX_ONE || total + want->length > RANGES_MAX_TOTAL)
            continue;
        RangeRead r = { 0 };
        r.key = range_key(want->index, want->offset, want->length);
        r.path = g_build_filename(mailbox->spool_dir, item->spool_path, NULL);
        r.prefix = g_strdup(item->prefix);
        r.offset = want->offset;
        r.length = want->length;
        g_array_append_val(j->reads, r);
        total += want->length;
    }
    if (j->reads->len == 0) {
        ranges_job_free(j);
        g_task_return_boolean(task, TRUE);
        g_object_unref(task);
        return;
    }
    /* Short reads of local files, like the readers' own. */
    GTask *work = g_task_new(NULL, NULL, ranges_done, task);
    g_task_set_task_data(work, j, ranges_job_free);
    g_task_run_in_thread(work, ranges_read);
    g_object_unref(work);
}

void
pr_mailbox_read_ranges_finish(PrMailbox *mailbox, GAsyncResult *result)
{
    g_return_if_fail(g_task_is_valid(result, NULL));
    g_task_propagate_boolean(G_TASK(result), NULL);
}

GBytes *
mailbox_ranges_take(PrMailbox *mailbox, PrMessageReader *reader)
{
    if (mailbox->ranges == NULL || reader->range_left <= 0 || reader->prefix_done ||
        reader->finished || reader->generation != mailbox->generation)
        return NULL;
    g_autofree char *key = range_key(reader->index, reader->range_skip, reader->range_left);
    gpointer stolen_key = NULL, bytes = NULL;

    if (!g_hash_table_steal_extended(mailbox->ranges, key, &stolen_key, &bytes))
        return NULL;
    g_free(stolen_key);
    return bytes;
}
