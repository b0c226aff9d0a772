/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "store-mailbox-admin.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "store-queries.h"

static char *
string_or_empty(GdaDataModel *model, int col, int row)
{
    char *s = store_model_string(model, col, row);
    return s != NULL ? s : g_strdup("");
}

/* ---- summaries and locks ---- */

void
store_mailbox_summary_free(StoreMailboxSummary *summary)
{
    if (summary == NULL)
        return;
    g_free(summary->user);
    g_free(summary);
}

GPtrArray *
store_mailbox_summaries(StoreConn *c, const char *user, GError **error)
{
    g_autoptr(GdaDataModel) m =
        store_conn_select(c, Q_MAILBOX_SUMMARY, error, "name", user != NULL ? user : "", "all",
                          (gboolean)(user == NULL), NULL);
    if (m == NULL)
        return NULL;
    int n = gda_data_model_get_n_rows(m);
    GPtrArray *out = g_ptr_array_new_full(MAX(n, 0), (GDestroyNotify)store_mailbox_summary_free);
    for (int r = 0; r < n; r++) {
        StoreMailboxSummary *s = g_new0(StoreMailboxSummary, 1);
        s->user = string_or_empty(m, 0, r);
        s->folder_id = store_model_int64(m, 1, r);
        s->messages = store_model_int64(m, 2, r);
        s->octets = store_model_int64(m, 3, r);
        s->held = store_model_int64(m, 4, r);
        s->held_octets = store_model_int64(m, 5, r);
        g_ptr_array_add(out, s);
    }
    return out;
}

void
store_mailbox_lock_free(StoreMailboxLock *lock)
{
    if (lock == NULL)
        return;
    g_free(lock->user);
    g_free(lock->folder);
    g_free(lock->holder);
    g_free(lock->instance);
    g_free(lock);
}

GPtrArray *
store_mailbox_locks(StoreConn *c, const char *user, GError **error)
{
    g_autoptr(GdaDataModel) m =
        store_conn_select(c, Q_MAILBOX_LOCKS, error, "name", user != NULL ? user : "", "all",
                          (gboolean)(user == NULL), NULL);
    if (m == NULL)
        return NULL;
    int n = gda_data_model_get_n_rows(m);
    GPtrArray *out = g_ptr_array_new_full(MAX(n, 0), (GDestroyNotify)store_mailbox_lock_free);
    for (int r = 0; r < n; r++) {
        StoreMailboxLock *l = g_new0(StoreMailboxLock, 1);
        l->user = string_or_empty(m, 0, r);
        l->folder = string_or_empty(m, 1, r);
        l->holder = string_or_empty(m, 2, r);
        l->instance = string_or_empty(m, 3, r);
        l->exclusive = store_model_bool(m, 4, r);
        l->expires = store_model_int64(m, 5, r);
        g_ptr_array_add(out, l);
    }
    return out;
}

gint64
store_mailbox_lock_remove(StoreConn *c, const char *user, const char *folder, const char *holder,
                          GError **error)
{
    return store_conn_exec(c, Q_MAILBOX_LOCK_REMOVE, error, "holder", holder, "name", user,
                           "folder", folder, NULL);
}

/* ---- held messages ---- */

void
store_held_message_free(StoreHeldMessage *message)
{
    if (message == NULL)
        return;
    g_free(message->sender);
    g_free(message->subject);
    g_free(message->from);
    g_free(message->date);
    g_free(message->message_id);
    g_free(message);
}

GPtrArray *
store_mailbox_held(StoreConn *c, gint64 folder_id, GError **error)
{
    g_autoptr(GdaDataModel) m =
        store_conn_select(c, Q_MAILBOX_HELD, error, "id", folder_id, "held", TRUE, NULL);
    if (m == NULL)
        return NULL;
    int n = gda_data_model_get_n_rows(m);
    GPtrArray *out = g_ptr_array_new_full(MAX(n, 0), (GDestroyNotify)store_held_message_free);
    for (int r = 0; r < n; r++) {
        StoreHeldMessage *h = g_new0(StoreHeldMessage, 1);
        g_autofree char *prefix = string_or_empty(m, 2, r);
        h->uid = (guint32)store_model_int64(m, 0, r);
        /* As StoreMailItem counts it: the prefix's octets and the file's. */
        h->size = store_model_int64(m, 1, r) + (gint64)strlen(prefix);
        h->received = store_model_int64(m, 3, r);
        h->sender = string_or_empty(m, 4, r);
        h->subject = string_or_empty(m, 5, r);
        h->from = string_or_empty(m, 6, r);
        h->date = string_or_empty(m, 7, r);
        h->message_id = string_or_empty(m, 8, r);
        g_ptr_array_add(out, h);
    }
    return out;
}

/* The held UIDs the action is for: @uid alone (which must be held), or all
 * of them. Read inside the caller's transaction. */
static GArray *
held_uids(StoreConn *c, gint64 folder_id, guint32 uid, GError **error)
{
    g_autoptr(GdaDataModel) m =
        store_conn_select(c, Q_MAILBOX_HELD, error, "id", folder_id, "held", TRUE, NULL);
    if (m == NULL)
        return NULL;
    GArray *uids = g_array_new(FALSE, FALSE, sizeof(guint32));
    for (int r = 0; r < gda_data_model_get_n_rows(m); r++) {
        guint32 u = (guint32)store_model_int64(m, 0, r);
        if (uid == 0 || u == uid)
            g_array_append_val(uids, u);
    }
    if (uid != 0 && uids->len == 0) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND,
                    _("There is no held message with UID %u."), uid);
        g_array_unref(uids);
        return NULL;
    }
    return uids;
}

gint64
store_mailbox_release(StoreConn *c, gint64 folder_id, guint32 uid, const StoreMailAudit *audit,
                      GError **error)
{
    g_autoptr(GArray) uids = NULL;

    if (!store_begin(c, error))
        return -1;
    /* A write first, for the reason given in store_mailbox_lock(). */
    if (store_conn_exec(c, Q_FOLDER_LOCK_SERIAL, error, "id", folder_id, NULL) < 0)
        goto fail;
    uids = held_uids(c, folder_id, uid, error);
    if (uids == NULL)
        goto fail;
    for (guint i = 0; i < uids->len; i++) {
        gint64 u = g_array_index(uids, guint32, i);
        if (audit != NULL) {
            g_autoptr(GdaDataModel) entry =
                store_conn_select(c, Q_MAILBOX_ENTRY, error, "id", folder_id, "uid", u, NULL);
            if (entry == NULL || gda_data_model_get_n_rows(entry) != 1)
                goto fail;
            g_autofree char *subject = store_model_string(entry, 3, 0);
            g_autofree char *sender = store_model_string(entry, 4, 0);
            g_autofree char *date = store_model_string(entry, 5, 0);
            if (!store_msgaudit_add(c, audit->component, audit->owner, audit->actor, audit->cmd,
                                    audit->ip, audit->folder, subject, sender, date, error))
                goto fail;
        }
        if (store_conn_exec(c, Q_MAILBOX_HOLD, error, "held", FALSE, "id", folder_id, "uid", u,
                            NULL) < 0)
            goto fail;
    }
    if (!store_commit(c, error))
        return -1;
    return uids->len;

fail:
    if (error != NULL && *error == NULL)
        g_set_error_literal(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                            _("The folder changed while messages were being released."));
    store_rollback(c);
    return -1;
}

gint64
store_mailbox_purge(StoreConn *c, gint64 folder_id, guint32 uid, const StoreMailAudit *audit,
                    GPtrArray *unlink_paths, GError **error)
{
    /* Read outside the deletion's transaction: the caller's exclusive lock
     * keeps POP3 away, and a message held meanwhile is simply not purged;
     * store_mailbox_delete() skips UIDs already gone. */
    g_autoptr(GArray) uids = held_uids(c, folder_id, uid, error);
    if (uids == NULL)
        return -1;
    if (!store_mailbox_delete(c, folder_id, (const guint32 *)uids->data, uids->len, FALSE, audit,
                              unlink_paths, error))
        return -1;
    return uids->len;
}
