/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "store-queue.h"

#include <glib/gi18n-lib.h>

#include "store-queries.h"
#include "unix-time.h"

/* How often one claim looks again when another instance took the entries
 * it had picked (PostgreSQL only: SQLite serialises writers). */
#define CLAIM_ROUNDS 4
/* Entries an administrator's delete removes per transaction: libgda's cost
 * per statement grows with the length of a transaction. */
#define DELETE_BATCH 500

void
store_queue_entry_free(StoreQueueEntry *entry)
{
    if (entry == NULL)
        return;
    g_free(entry->sender);
    g_free(entry->recipient);
    g_free(entry->state);
    g_free(entry->last_error);
    g_free(entry->notify);
    g_free(entry->orcpt);
    g_free(entry->ret);
    g_free(entry->envid);
    g_free(entry->claimed_by);
    g_free(entry->spool_path);
    g_free(entry->subject);
    g_free(entry);
}

/* Finished entries may have outlived their message: its columns are NULL. */
static char *
string_or_empty(GdaDataModel *model, int col, int row)
{
    char *s = store_model_string(model, col, row);
    return s != NULL ? s : g_strdup("");
}

/* A row of QUEUE_ENTRY_SELECT (store-queries.c). */
static StoreQueueEntry *
entry_from_row(GdaDataModel *m, int row)
{
    StoreQueueEntry *e = g_new0(StoreQueueEntry, 1);
    e->id = store_model_int64(m, 0, row);
    e->message_id = store_model_int64(m, 1, row);
    e->sender = string_or_empty(m, 2, row);
    e->recipient = string_or_empty(m, 3, row);
    e->state = string_or_empty(m, 4, row);
    e->priority = (int)store_model_int64(m, 5, row);
    e->created = store_model_int64(m, 6, row);
    e->next_try = store_model_int64(m, 7, row);
    e->attempts = (int)store_model_int64(m, 8, row);
    e->last_error = string_or_empty(m, 9, row);
    e->notify = string_or_empty(m, 10, row);
    e->orcpt = string_or_empty(m, 11, row);
    e->ret = string_or_empty(m, 12, row);
    e->envid = string_or_empty(m, 13, row);
    e->warned = store_model_int64(m, 14, row);
    e->claimed_by = string_or_empty(m, 15, row);
    e->claim_expires = store_model_int64(m, 16, row);
    e->spool_path = string_or_empty(m, 17, row);
    e->size = store_model_int64(m, 18, row);
    e->subject = string_or_empty(m, 19, row);
    return e;
}

static GPtrArray *
entries_from_model(GdaDataModel *m)
{
    int n = gda_data_model_get_n_rows(m);
    GPtrArray *entries = g_ptr_array_new_full(MAX(n, 0), (GDestroyNotify)store_queue_entry_free);
    for (int r = 0; r < n; r++)
        g_ptr_array_add(entries, entry_from_row(m, r));
    return entries;
}

GPtrArray *
store_queue_list(StoreConn *c, const char *state, GError **error)
{
    g_autoptr(GdaDataModel) m =
        store_conn_select(c, Q_QUEUE_LIST, error, "state", state != NULL ? state : "", "all",
                          (gboolean)(state == NULL), NULL);
    return m != NULL ? entries_from_model(m) : NULL;
}

StoreQueueEntry *
store_queue_get(StoreConn *c, gint64 id, GError **error)
{
    g_autoptr(GdaDataModel) m = store_conn_select(c, Q_QUEUE_GET, error, "id", id, NULL);
    if (m == NULL)
        return NULL;
    if (gda_data_model_get_n_rows(m) != 1) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND,
                    _("The queue entry %lld does not exist."), (long long)id);
        return NULL;
    }
    return entry_from_row(m, 0);
}

/* Called inside a transaction after an entry of @message_id finished or
 * went: deletes the message if nothing uses it any more and adds its spool
 * path to @paths (removed by the caller after the commit, so that a crash
 * leaves at worst an orphan file for the spool sweep). */
static gboolean
drop_message_if_unused(StoreConn *c, gint64 message_id, GPtrArray *paths, GError **error)
{
    if (store_conn_exec(c, Q_QUEUE_LOCK_MESSAGE, error, "id", message_id, NULL) < 0)
        return FALSE;
    g_autoptr(GdaDataModel) refs =
        store_conn_select(c, Q_MESSAGE_REFS, error, "id", message_id, NULL);
    if (refs == NULL)
        return FALSE;
    if (gda_data_model_get_n_rows(refs) != 1 || store_model_int64(refs, 0, 0) > 0)
        return TRUE;
    char *path = store_model_string(refs, 1, 0);
    if (path == NULL)
        return TRUE; /* the message row is gone already */
    g_ptr_array_add(paths, path);
    return store_conn_exec(c, Q_MESSAGE_DELETE, error, "id", message_id, NULL) >= 0;
}

static void
take_paths(GPtrArray *unlink_paths, GPtrArray *paths)
{
    for (guint i = 0; unlink_paths != NULL && i < paths->len; i++)
        g_ptr_array_add(unlink_paths, g_strdup(paths->pdata[i]));
    g_ptr_array_set_size(paths, 0);
}

/* ---- administrator actions ---- */

gint64
store_queue_hold(StoreConn *c, gint64 id, GError **error)
{
    return store_conn_exec(c, Q_QUEUE_HOLD, error, "id", id, "all", (gboolean)(id == 0), NULL);
}

gint64
store_queue_release(StoreConn *c, gint64 id, GError **error)
{
    return store_conn_exec(c, Q_QUEUE_RELEASE, error, "now", unix_now(), "id", id, "all",
                           (gboolean)(id == 0), NULL);
}

gint64
store_queue_flush(StoreConn *c, gint64 id, GError **error)
{
    return store_conn_exec(c, Q_QUEUE_FLUSH, error, "now", unix_now(), "id", id, "all",
                           (gboolean)(id == 0), NULL);
}

/* One transaction of a delete: up to DELETE_BATCH entries. */
static gint
delete_batch(StoreConn *c, gint64 id, GPtrArray *paths, GError **error)
{
    g_autoptr(GdaDataModel) messages = NULL;
    g_autoptr(GArray) message_ids = g_array_new(FALSE, FALSE, sizeof(gint64));

    /* The marking write comes first, so that SQLite holds the write lock
     * from the start (see store_mailbox_lock()). */
    if (!store_begin(c, error))
        return -1;
    gint n = store_conn_exec(c, Q_QUEUE_DELETE_MARK, error, "id", id, "all", (gboolean)(id == 0),
                             "limit", (gint64)DELETE_BATCH, NULL);
    if (n < 0)
        goto fail;
    if (n == 0) {
        store_rollback(c);
        return 0;
    }
    messages = store_conn_select(c, Q_QUEUE_MARKED_MESSAGES, error, NULL);
    if (messages == NULL)
        goto fail;
    /* Read before the rows go: a SQLite result may be read lazily. */
    for (int r = 0; r < gda_data_model_get_n_rows(messages); r++) {
        gint64 message_id = store_model_int64(messages, 0, r);
        g_array_append_val(message_ids, message_id);
    }
    if (store_conn_exec(c, Q_QUEUE_DELETE_MARKED, error, NULL) < 0)
        goto fail;
    for (guint i = 0; i < message_ids->len; i++) {
        if (!drop_message_if_unused(c, g_array_index(message_ids, gint64, i), paths, error))
            goto fail;
    }
    if (!store_commit(c, error)) {
        g_ptr_array_set_size(paths, 0);
        return -1;
    }
    return n;

fail:
    store_rollback(c);
    g_ptr_array_set_size(paths, 0);
    return -1;
}

gint64
store_queue_delete(StoreConn *c, gint64 id, GPtrArray *unlink_paths, GError **error)
{
    g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
    gint64 total = 0;
    gint n;

    do {
        n = delete_batch(c, id, paths, error);
        if (n < 0)
            return -1; /* earlier batches' paths are in @unlink_paths */
        take_paths(unlink_paths, paths);
        total += n;
    } while (id == 0 && n == DELETE_BATCH);
    return total;
}

gboolean
store_queue_set_priority(StoreConn *c, gint64 message_id, int priority, GError **error)
{
    return store_conn_exec(c, Q_QUEUE_SET_PRIORITY, error, "priority", priority, "message",
                           message_id, NULL) >= 0;
}

/* ---- senders ---- */

GPtrArray *
store_queue_claim(StoreConn *c, const char *instance, guint max, gint64 now, gint64 lease_until,
                  GError **error)
{
    g_autoptr(GdaDataModel) claimed = NULL;
    g_autoptr(GPtrArray) entries = NULL;
    guint taken = 0;

    g_return_val_if_fail(instance != NULL && *instance != '\0', NULL);
    if (max == 0)
        return g_ptr_array_new_with_free_func((GDestroyNotify)store_queue_entry_free);

    /* The claim marks its rows with the lease -1 until the commit: that
     * tells them from rows this instance claimed earlier, and no other
     * transaction ever sees it. It starts with a write (SQLite's lock). */
    if (!store_begin(c, error))
        return NULL;
    for (int round = 0; round < CLAIM_ROUNDS && taken < max; round++) {
        gint n = store_conn_exec(c, Q_QUEUE_CLAIM_MARK, error, "instance", instance, "now", now,
                                 "max", (gint64)(max - taken), NULL);
        if (n < 0)
            goto fail;
        taken += (guint)n;
        if (taken >= max)
            break;
        /* Fewer than asked: either nothing else is due, or another instance
         * claimed the rows this one had picked (it waited for that claim to
         * commit and skipped them); then a new look finds the next ones. */
        g_autoptr(GdaDataModel) more =
            store_conn_select(c, Q_QUEUE_ANY_DUE, error, "now", now, NULL);
        if (more == NULL)
            goto fail;
        if (gda_data_model_get_n_rows(more) == 0)
            break;
    }
    claimed = store_conn_select(c, Q_QUEUE_CLAIMED, error, "instance", instance, NULL);
    if (claimed == NULL)
        goto fail;
    /* Read before the rows change: a SQLite result may be read lazily. */
    entries = entries_from_model(claimed);
    for (guint i = 0; i < entries->len; i++)
        ((StoreQueueEntry *)entries->pdata[i])->claim_expires = lease_until;
    if (store_conn_exec(c, Q_QUEUE_CLAIM_LEASE, error, "lease", lease_until, "instance", instance,
                        NULL) < 0)
        goto fail;
    if (!store_commit(c, error))
        return NULL;
    return g_steal_pointer(&entries);

fail:
    store_rollback(c);
    return NULL;
}

gboolean
store_queue_set_outcome(StoreConn *c, gint64 id, const char *instance, StoreQueueOutcome outcome,
                        gint64 now, gint64 next_try, const char *reply, GPtrArray *unlink_paths,
                        GError **error)
{
    g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
    gboolean final = outcome == STORE_QUEUE_DELIVERED || outcome == STORE_QUEUE_FAILED;
    gint rows;

    if (!store_begin(c, error))
        return FALSE;
    switch (outcome) {
    case STORE_QUEUE_DELIVERED:
    case STORE_QUEUE_FAILED:
        rows = store_conn_exec(c, Q_QUEUE_FINISH, error, "state",
                               outcome == STORE_QUEUE_DELIVERED ? "delivered" : "failed", "now",
                               now, "reply", reply, "id", id, "instance", instance, NULL);
        break;
    case STORE_QUEUE_DEFERRED:
        rows = store_conn_exec(c, Q_QUEUE_DEFER, error, "next_try", next_try, "reply", reply, "id",
                               id, "instance", instance, NULL);
        break;
    case STORE_QUEUE_DEFERRED_WARNED:
        rows = store_conn_exec(c, Q_QUEUE_DEFER_WARNED, error, "next_try", next_try, "now", now,
                               "reply", reply, "id", id, "instance", instance, NULL);
        break;
    case STORE_QUEUE_RELEASE:
        rows = store_conn_exec(c, Q_QUEUE_UNCLAIM, error, "next_try", next_try, "reply", reply,
                               "id", id, "instance", instance, NULL);
        break;
    default:
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED, "unknown queue outcome %d",
                    (int)outcome);
        goto fail;
    }
    if (rows < 0)
        goto fail;
    if (rows == 0) {
        /* Its claim ran out and another instance took it, or an
         * administrator's action got there first. */
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND,
                    _("The queue entry %lld is not being sent by %s."), (long long)id, instance);
        goto fail;
    }
    if (final) {
        g_autoptr(GdaDataModel) m = store_conn_select(c, Q_QUEUE_MESSAGE_OF, error, "id", id, NULL);
        if (m == NULL || gda_data_model_get_n_rows(m) != 1 ||
            !drop_message_if_unused(c, store_model_int64(m, 0, 0), paths, error))
            goto fail;
    }
    if (!store_commit(c, error))
        return FALSE;
    take_paths(unlink_paths, paths);
    return TRUE;

fail:
    if (error != NULL && *error == NULL)
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                    _("The queue entry %lld changed while its outcome was recorded."),
                    (long long)id);
    store_rollback(c);
    return FALSE;
}

gint64
store_queue_release_instance(StoreConn *c, const char *instance, GError **error)
{
    return store_conn_exec(c, Q_QUEUE_RELEASE_INSTANCE, error, "instance", instance, NULL);
}

gint64
store_queue_purge(StoreConn *c, gint64 before, GError **error)
{
    gint n = store_conn_exec(c, Q_QUEUE_PURGE, error, "before", before, NULL);
    if (n < 0 || store_conn_exec(c, Q_QUEUE_PURGE_ORPHANS, error, NULL) < 0)
        return -1;
    return n;
}
