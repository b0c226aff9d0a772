/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "store-mail.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "store-folder-acl.h"
#include "store-queries.h"
#include "store-quota.h"

/* What IMAP adds to mailboxes in the store: snapshots with the folder's
 * state and \Recent, flags with modification sequences (RFC 7162), copies
 * and moves, the MIME summaries FETCH reads, and the state other instances'
 * changes are watched by. */

/* ---- snapshots ---- */

static GArray *
snapshot_fail(StoreConn *c, GArray *items)
{
    store_rollback(c);
    if (items != NULL)
        g_array_unref(items);
    return NULL;
}

/* Whether the messages up to known->last_uid are still those the session
 * has. Count and sum of their UIDs tell: UIDs only grow, so none can be
 * added below it except a held message released (which a full snapshot
 * then drops again); for an expunge to go unseen, as many held ones with
 * the same sum of UIDs would have to come back with it. */
static gboolean
snapshot_same_uids(StoreConn *c, gint64 folder_id, const StoreSnapshotKnown *known, gboolean *same,
                   GError **error)
{
    g_autoptr(GdaDataModel) m =
        store_conn_select(c, Q_MAILBOX_IMAP_UID_SUM, error, "id", folder_id, "held", FALSE, "last",
                          (gint64)known->last_uid, NULL);
    if (m == NULL)
        return FALSE;
    if (gda_data_model_get_n_rows(m) != 1) {
        g_set_error_literal(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                            _("The folder's messages cannot be counted."));
        return FALSE;
    }
    *same = store_model_int64(m, 0, 0) == (gint64)known->count &&
            store_model_int64(m, 1, 0) == known->uid_sum;
    return TRUE;
}

/* Every message, or with @known those changed since (see
 * store_mailbox_snapshot_since()). */
static GArray *
snapshot_read(StoreConn *c, gint64 folder_id, gboolean take_recent, const StoreSnapshotKnown *known,
              StoreMailboxState *state, gboolean *delta, GError **error)
{
    GArray *items = NULL;

    /* Nothing arrived since \Recent was last taken (the common case: a sync
     * after the session's own change): a read-only snapshot then does, with
     * no write and no fsync at its commit. A message delivered after this
     * look is taken by the next sync. */
    if (take_recent) {
        g_autoptr(GdaDataModel) peek =
            store_conn_select(c, Q_MAILBOX_IMAP_STATE, error, "id", folder_id, NULL);
        if (peek == NULL)
            return NULL;
        if (gda_data_model_get_n_rows(peek) == 1 &&
            store_model_int64(peek, 2, 0) >= store_model_int64(peek, 0, 0))
            take_recent = FALSE;
    }
    /* Relaxed: \Recent lost to a power loss is only given again. */
    if (!store_begin_relaxed(c, error))
        return NULL;
    /* Taking \Recent writes the folder row first, for the reason given in
     * store_mailbox_lock(); the lock also keeps deliveries out until the
     * commit, so no message falls between the list and recent_uid. */
    if (take_recent && store_conn_exec(c, Q_FOLDER_LOCK_SERIAL, error, "id", folder_id, NULL) < 0)
        return snapshot_fail(c, NULL);
    g_autoptr(GdaDataModel) f =
        store_conn_select(c, Q_MAILBOX_IMAP_STATE, error, "id", folder_id, NULL);
    if (f == NULL)
        return snapshot_fail(c, NULL);
    if (gda_data_model_get_n_rows(f) != 1) {
        g_set_error_literal(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND,
                            _("The folder no longer exists."));
        return snapshot_fail(c, NULL);
    }
    state->uidnext = (guint32)store_model_int64(f, 0, 0);
    state->highestmodseq = (guint64)store_model_int64(f, 1, 0);
    state->recent_from = take_recent ? (guint32)store_model_int64(f, 2, 0) : 0;
    /* The changes first, then the check: an expunge committed in between
     * (PostgreSQL's READ COMMITTED) is then seen by the check. */
    if (known != NULL) {
        gboolean same = FALSE;

        items = store_mailbox_list_since(c, folder_id, (gint64)known->modseq, error);
        if (items == NULL)
            return snapshot_fail(c, NULL);
        if (!snapshot_same_uids(c, folder_id, known, &same, error))
            return snapshot_fail(c, items);
        if (!same)
            g_clear_pointer(&items, g_array_unref);
        *delta = same;
    }
    if (items == NULL)
        items = store_mailbox_list(c, folder_id, error);
    if (items == NULL)
        return snapshot_fail(c, NULL);
    if (take_recent &&
        store_conn_exec(c, Q_MAILBOX_IMAP_TAKE_RECENT, error, "id", folder_id, NULL) < 0)
        return snapshot_fail(c, items);
    if (!store_commit(c, error)) {
        g_array_unref(items);
        return NULL;
    }
    /* Without the write lock (EXAMINE, PostgreSQL's READ COMMITTED) a
     * delivery may commit between the two reads: the list wins. */
    for (guint i = 0; i < items->len; i++) {
        StoreMailItem *item = &g_array_index(items, StoreMailItem, i);
        if (item->uid >= state->uidnext)
            state->uidnext = item->uid + 1;
        if ((guint64)item->modseq > state->highestmodseq)
            state->highestmodseq = item->modseq;
    }
    return items;
}

GArray *
store_mailbox_snapshot(StoreConn *c, gint64 folder_id, gboolean take_recent,
                       StoreMailboxState *state, GError **error)
{
    return snapshot_read(c, folder_id, take_recent, NULL, state, NULL, error);
}

GArray *
store_mailbox_snapshot_since(StoreConn *c, gint64 folder_id, gboolean take_recent,
                             const StoreSnapshotKnown *known, StoreMailboxState *state,
                             gboolean *delta, GError **error)
{
    *delta = FALSE;
    return snapshot_read(c, folder_id, take_recent, known, state, delta, error);
}

/* ---- flags ---- */

static const char *const system_flags[] = { "\\Seen", "\\Answered", "\\Flagged", "\\Deleted",
                                            "\\Draft" };

/* Adds @flag to @out unless it is there already (flags compare without
 * case, RFC 3501 §2.3.2). */
static void
flags_add(GPtrArray *out, const char *flag)
{
    if (*flag == '\0' || g_ascii_strcasecmp(flag, "\\Recent") == 0)
        return;
    for (guint k = 0; k < G_N_ELEMENTS(system_flags); k++) {
        if (g_ascii_strcasecmp(flag, system_flags[k]) == 0)
            flag = system_flags[k];
    }
    for (guint i = 0; i < out->len; i++) {
        if (g_ascii_strcasecmp(out->pdata[i], flag) == 0)
            return;
    }
    g_ptr_array_add(out, g_strdup(flag));
}

static void
flags_remove(GPtrArray *out, const char *flag)
{
    for (guint i = 0; i < out->len; i++) {
        if (g_ascii_strcasecmp(out->pdata[i], flag) == 0) {
            g_ptr_array_remove_index(out, i);
            return;
        }
    }
}

static GPtrArray *
flags_parse(const char *flags)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    g_auto(GStrv) tokens = g_strsplit(flags != NULL ? flags : "", " ", -1);
    for (int i = 0; tokens[i] != NULL; i++)
        flags_add(out, tokens[i]);
    return out;
}

static char *
flags_join(GPtrArray *flags)
{
    g_ptr_array_add(flags, NULL);
    char *text = g_strjoinv(" ", (char **)flags->pdata);
    g_ptr_array_remove_index(flags, flags->len - 1);
    return text;
}

char *
store_flags_normalize(const char *flags)
{
    g_autoptr(GPtrArray) list = flags_parse(flags);
    return flags_join(list);
}

char *
store_flags_apply(const char *current, PrFlagsChange change, const char *flags)
{
    g_autoptr(GPtrArray) given = flags_parse(flags);
    g_autoptr(GPtrArray) out = change == PR_FLAGS_REPLACE ? NULL : flags_parse(current);

    if (out == NULL)
        return flags_join(given);
    for (guint i = 0; i < given->len; i++) {
        if (change == PR_FLAGS_ADD)
            flags_add(out, given->pdata[i]);
        else
            flags_remove(out, given->pdata[i]);
    }
    return flags_join(out);
}

/* Whether two normalised lists hold the same flags, in any order. */
static gboolean
flags_equal(const char *a, const char *b)
{
    g_autoptr(GPtrArray) la = flags_parse(a);
    g_autoptr(GPtrArray) lb = flags_parse(b);

    if (la->len != lb->len)
        return FALSE;
    for (guint i = 0; i < la->len; i++) {
        gboolean found = FALSE;
        for (guint k = 0; k < lb->len && !found; k++)
            found = g_ascii_strcasecmp(la->pdata[i], lb->pdata[k]) == 0;
        if (!found)
            return FALSE;
    }
    return TRUE;
}

static void
uid_range(const guint32 *uids, guint n, guint32 *min, guint32 *max)
{
    *min = G_MAXUINT32;
    *max = 0;
    for (guint i = 0; i < n; i++) {
        *min = MIN(*min, uids[i]);
        *max = MAX(*max, uids[i]);
    }
}

/* Up to this many UIDs, spread out, are read one query each. */
#define FLAGS_SPARSE_MAX 16

typedef struct {
    char *flags;
    gint64 modseq;
} FlagsRow;

static void
flags_row_free(gpointer p)
{
    FlagsRow *row = p;
    g_free(row->flags);
    g_free(row);
}

void
store_flags_changed_clear(StoreFlagsChanged *changed)
{
    g_clear_pointer(&changed->flags, g_free);
}

gboolean
store_mailbox_store_flags(StoreConn *c, gint64 folder_id, const guint32 *uids, guint n,
                          PrFlagsChange change, const char *flags, guint64 unchanged_since,
                          GArray *failed, GError **error)
{
    return store_mailbox_store_flags_full(c, folder_id, uids, n, change, flags, unchanged_since,
                                          failed, NULL, error);
}

gboolean
store_mailbox_store_flags_full(StoreConn *c, gint64 folder_id, const guint32 *uids, guint n,
                               PrFlagsChange change, const char *flags, guint64 unchanged_since,
                               GArray *failed, GArray *changed, GError **error)
{
    return store_mailbox_store_flags_rights(c, folder_id, uids, n, change, flags, unchanged_since,
                                            NULL, failed, changed, error);
}

gboolean
store_mailbox_store_flags_rights(StoreConn *c, gint64 folder_id, const guint32 *uids, guint n,
                                 PrFlagsChange change, const char *flags, guint64 unchanged_since,
                                 const char *rights, GArray *failed, GArray *changed,
                                 GError **error)
{
    g_autoptr(GHashTable) rows =
        g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, flags_row_free);
    g_autoptr(GdaDataModel) f = NULL;
    g_autoptr(GdaDataModel) m = NULL;
    gint64 highest, before;
    guint32 min, max;

    if (n == 0)
        return TRUE;
    /* Flag changes are not flushed to disk one by one (nor by Dovecot): a
     * power loss may undo the last ones, which clients then see again. The
     * next durable commit (a message stored or expunged) flushes them. */
    if (!store_begin_relaxed(c, error))
        return FALSE;
    if (store_conn_exec(c, Q_FOLDER_LOCK_SERIAL, error, "id", folder_id, NULL) < 0)
        goto fail;
    f = store_conn_select(c, Q_MAILBOX_IMAP_STATE, error, "id", folder_id, NULL);
    if (f == NULL || gda_data_model_get_n_rows(f) != 1)
        goto fail;
    highest = before = store_model_int64(f, 1, 0);

    /* One query over the UIDs' range rather than one per message: STORE
     * mostly names runs (1:*), and a single UID reads a single row. A few
     * UIDs far apart (a client's 3,150,270) read their own rows instead of
     * every row between them. */
    uid_range(uids, n, &min, &max);
    gboolean sparse = n <= FLAGS_SPARSE_MAX && (gint64)max - min + 1 > 4 * (gint64)n;
    for (guint q = 0; q < (sparse ? n : 1); q++) {
        gint64 lo = sparse ? uids[q] : min, hi = sparse ? uids[q] : max;

        g_clear_object(&m);
        m = store_conn_select(c, Q_MAILBOX_IMAP_FLAGS_RANGE, error, "id", folder_id, "held", FALSE,
                              "min", lo, "max", hi, NULL);
        if (m == NULL)
            goto fail;
        for (int r = 0; r < gda_data_model_get_n_rows(m); r++) {
            FlagsRow *row = g_new0(FlagsRow, 1);
            row->flags = store_model_string(m, 1, r);
            row->modseq = store_model_int64(m, 2, r);
            g_hash_table_replace(rows, GUINT_TO_POINTER((guint32)store_model_int64(m, 0, r)), row);
        }
    }
    for (guint i = 0; i < n; i++) {
        FlagsRow *row = g_hash_table_lookup(rows, GUINT_TO_POINTER(uids[i]));
        if (row == NULL)
            continue; /* expunged meanwhile */
        if (unchanged_since != 0 && (guint64)row->modseq > unchanged_since) {
            if (failed != NULL)
                g_array_append_val(failed, uids[i]);
            continue;
        }
        g_autofree char *now = store_flags_apply(row->flags, change, flags);
        /* Flags the user may not change stay as they are (RFC 4314 §4). */
        if (rights != NULL) {
            char *allowed = store_rights_restrict_flags(row->flags, now, rights);
            g_free(now);
            now = allowed;
        }
        if (flags_equal(now, row->flags))
            continue;
        if (store_conn_exec(c, Q_MAILBOX_IMAP_FLAGS_SET, error, "flags", now, "modseq", ++highest,
                            "id", folder_id, "uid", (gint64)uids[i], NULL) < 0)
            goto fail;
        /* A UID given twice changes once more from the new flags. */
        g_free(row->flags);
        row->flags = g_steal_pointer(&now);
        row->modseq = highest;
        if (changed != NULL) {
            StoreFlagsChanged ch = { .uid = uids[i], .modseq = highest };

            ch.flags = g_strdup(row->flags);
            g_array_append_val(changed, ch);
        }
    }
    if (highest != before && store_conn_exec(c, Q_MAILBOX_IMAP_SET_HIGHESTMODSEQ, error, "modseq",
                                             highest, "id", folder_id, NULL) < 0)
        goto fail;
    return store_commit(c, error);

fail:
    if (error != NULL && *error == NULL)
        g_set_error_literal(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND,
                            _("The folder no longer exists."));
    store_rollback(c);
    return FALSE;
}

/* ---- copies ---- */

typedef struct {
    guint32 uid;
    gint64 message_id;
    char *flags;
    gint64 internaldate;
    char *prefix;
    gint64 octets; /* prefix and file, as the quota counts them */
} CopyEntry;

static void
copy_entry_clear(gpointer p)
{
    CopyEntry *e = p;
    g_free(e->flags);
    g_free(e->prefix);
}

/* The entries of @uids that are still there, in the order given. */
static GArray *
copy_entries(StoreConn *c, gint64 folder_id, const guint32 *uids, guint n, GError **error)
{
    guint32 min, max;
    uid_range(uids, n, &min, &max);
    g_autoptr(GdaDataModel) m =
        store_conn_select(c, Q_MAILBOX_IMAP_ENTRIES, error, "id", folder_id, "held", FALSE, "min",
                          (gint64)min, "max", (gint64)max, NULL);
    if (m == NULL)
        return NULL;
    g_autoptr(GHashTable) wanted = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (guint i = 0; i < n; i++)
        g_hash_table_add(wanted, GUINT_TO_POINTER(uids[i]));
    GArray *entries = g_array_new(FALSE, TRUE, sizeof(CopyEntry));
    g_array_set_clear_func(entries, copy_entry_clear);
    /* Rows come in UID order; each UID once even if given twice. */
    for (int r = 0; r < gda_data_model_get_n_rows(m); r++) {
        guint32 uid = (guint32)store_model_int64(m, 0, r);
        if (!g_hash_table_remove(wanted, GUINT_TO_POINTER(uid)))
            continue;
        CopyEntry e = { uid };
        e.message_id = store_model_int64(m, 1, r);
        e.flags = store_model_string(m, 2, r);
        e.internaldate = store_model_int64(m, 3, r);
        e.prefix = store_model_string(m, 4, r);
        if (e.prefix == NULL)
            e.prefix = g_strdup("");
        e.octets = store_model_int64(m, 5, r) + (gint64)strlen(e.prefix);
        g_array_append_val(entries, e);
    }
    return entries;
}

gboolean
store_mailbox_copy(StoreConn *c, gint64 folder_id, const guint32 *uids, guint n, const char *target,
                   gboolean move, gint64 *target_id, guint32 *target_uidvalidity,
                   GArray *source_uids, GArray *target_uids, GError **error)
{
    return store_mailbox_copy_to(c, folder_id, uids, n, NULL, target, NULL, move, target_id,
                                 target_uidvalidity, source_uids, target_uids, error);
}

gboolean
store_mailbox_copy_to(StoreConn *c, gint64 folder_id, const guint32 *uids, guint n,
                      const char *target_owner, const char *target, const char *target_rights,
                      gboolean move, gint64 *target_id, guint32 *target_uidvalidity,
                      GArray *source_uids, GArray *target_uids, GError **error)
{
    g_autoptr(GArray) entries = NULL;
    g_autoptr(GdaDataModel) owner = NULL;
    g_autoptr(GdaDataModel) t = NULL;
    g_autoptr(GdaDataModel) s = NULL;
    gint64 octets = 0, user_id, target_user_id, uid, modseq;
    const char *name;

    if (!store_begin(c, error))
        return FALSE;
    /* The source row first: a write, and it bumps HIGHESTMODSEQ when
     * messages leave. */
    if (store_conn_exec(c, move ? Q_MAILBOX_IMAP_EXPUNGE_TOUCH : Q_FOLDER_LOCK_SERIAL, error, "id",
                        folder_id, NULL) < 0)
        goto fail;
    owner = store_conn_select(c, Q_FOLDER_USER, error, "id", folder_id, NULL);
    if (owner == NULL)
        goto fail;
    if (gda_data_model_get_n_rows(owner) != 1) {
        g_set_error_literal(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND,
                            _("The folder no longer exists."));
        goto fail;
    }
    user_id = target_user_id = store_model_int64(owner, 0, 0);
    name = g_ascii_strcasecmp(target, "INBOX") == 0 ? "INBOX" : target;
    /* Another user's folder (COPY to "#users/bob/..."): its row tells
     * whose usage the copies count to. */
    if (target_owner != NULL)
        t = store_conn_select(c, Q_FOLDERS_GET, error, "name", target_owner, "folder", name, NULL);
    else
        t = store_conn_select(c, Q_MAILBOX_IMAP_FOLDER_BY_NAME, error, "user_id", user_id, "name",
                              name, NULL);
    if (t == NULL)
        goto fail;
    if (gda_data_model_get_n_rows(t) != 1) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND, _("There is no folder “%s”."),
                    target);
        goto fail;
    }
    *target_id = store_model_int64(t, 0, 0);
    *target_uidvalidity = (guint32)store_model_int64(t, 1, 0);
    if (target_owner != NULL)
        target_user_id = store_model_int64(t, 5, 0);
    if (n > 0 && (entries = copy_entries(c, folder_id, uids, n, error)) == NULL)
        goto fail;
    if (entries == NULL || entries->len == 0)
        return store_commit(c, error);

    if (store_conn_exec(c, Q_MAILBOX_IMAP_TAKE_UIDS, error, "n", (gint64)entries->len, "id",
                        *target_id, NULL) < 0)
        goto fail;
    s = store_conn_select(c, Q_MAILBOX_IMAP_STATE, error, "id", *target_id, NULL);
    if (s == NULL || gda_data_model_get_n_rows(s) != 1)
        goto fail;
    /* The statement above took the last entries->len UIDs and modseqs. */
    uid = store_model_int64(s, 0, 0) - entries->len;
    modseq = store_model_int64(s, 1, 0) - entries->len + 1;
    for (guint i = 0; i < entries->len; i++, uid++, modseq++) {
        CopyEntry *e = &g_array_index(entries, CopyEntry, i);
        guint32 new_uid = (guint32)uid;
        /* Flags the user may not set in the target are left off. */
        g_autofree char *flags =
            store_rights_restrict_flags("", e->flags != NULL ? e->flags : "", target_rights);
        if (store_conn_exec(c, Q_MAILBOX_IMAP_COPY_ADD, error, "folder", *target_id, "message",
                            e->message_id, "uid", uid, "flags", flags, "modseq", modseq, "date",
                            e->internaldate, "prefix", e->prefix, NULL) < 0)
            goto fail;
        /* The message keeps a reference from the copy, so the source row
         * can go without looking at the spool file. */
        if (move && store_conn_exec(c, Q_MAILBOX_DELETE, error, "id", folder_id, "uid",
                                    (gint64)e->uid, NULL) < 0)
            goto fail;
        octets += e->octets;
        if (source_uids != NULL)
            g_array_append_val(source_uids, e->uid);
        if (target_uids != NULL)
            g_array_append_val(target_uids, new_uid);
    }
    /* Each copy counts towards the quota of the target's owner, as it
     * would in any mailbox; a move to another user's folder moves the
     * usage too. */
    gboolean other_user = target_user_id != user_id;
    if ((!move || other_user) && (store_conn_exec(c, Q_USER_USAGE_ADD, error, "delta", octets, "id",
                                                  target_user_id, NULL) < 0 ||
                                  !store_quota_check(c, target_user_id, octets, error)))
        goto fail;
    if (move && other_user &&
        store_conn_exec(c, Q_USER_USAGE_ADD, error, "delta", -octets, "id", user_id, NULL) < 0)
        goto fail;
    if (!store_commit(c, error))
        goto undo;
    return TRUE;

fail:
    store_rollback(c);
undo:
    if (source_uids != NULL)
        g_array_set_size(source_uids, 0);
    if (target_uids != NULL)
        g_array_set_size(target_uids, 0);
    return FALSE;
}

/* ---- MIME summaries ---- */

StoreMime *
store_mime_new(gint64 message_id, char *envelope, char *bodystructure, char *body, char *sections)
{
    StoreMime *mime = g_new(StoreMime, 1);
    *mime = (StoreMime){ message_id, envelope, bodystructure, body, sections };
    return mime;
}

void
store_mime_free(StoreMime *mime)
{
    if (mime == NULL)
        return;
    g_free(mime->envelope);
    g_free(mime->bodystructure);
    g_free(mime->body);
    g_free(mime->sections);
    g_free(mime);
}

static void
mime_rows(GdaDataModel *m, GHashTable *wanted, GPtrArray *out)
{
    for (int r = 0; r < gda_data_model_get_n_rows(m); r++) {
        gint64 id = store_model_int64(m, 0, r);
        /* A message in the folder twice (COPY to itself) comes twice. */
        if (wanted != NULL && !g_hash_table_remove(wanted, &id))
            continue;
        StoreMime *mime = g_new0(StoreMime, 1);
        mime->message_id = id;
        mime->envelope = store_model_string(m, 1, r);
        mime->bodystructure = store_model_string(m, 2, r);
        mime->body = store_model_string(m, 3, r);
        mime->sections = store_model_string(m, 4, r);
        g_ptr_array_add(out, mime);
    }
}

/* Up to this many messages, one query each. */
#define MIME_ONE_BY_ONE 2
/* Q_MAILBOX_IMAP_MIME_SOME's places. */
#define MIME_PER_QUERY 16

GPtrArray *
store_mime_get(StoreConn *c, gint64 folder_id, const gint64 *message_ids, guint n, guint32 uid_min,
               guint32 uid_max, GError **error)
{
    g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func((GDestroyNotify)store_mime_free);

    if (n <= MIME_ONE_BY_ONE) {
        for (guint i = 0; i < n; i++) {
            g_autoptr(GdaDataModel) m =
                store_conn_select(c, Q_MAILBOX_IMAP_MIME_ONE, error, "id", message_ids[i], NULL);
            if (m == NULL)
                return NULL;
            mime_rows(m, NULL, out);
        }
        return g_steal_pointer(&out);
    }
    /* Messages spread over the folder (a client's 10 random ones): only
     * their rows, in batches, rather than every row of the range, each
     * with its summaries. */
    if ((gint64)uid_max - uid_min + 1 > 2 * (gint64)n) {
        for (guint at = 0; at < n; at += MIME_PER_QUERY) {
            gint64 v[MIME_PER_QUERY] = { 0 };
            for (guint k = 0; k < MIME_PER_QUERY && at + k < n; k++)
                v[k] = message_ids[at + k];
#define P(k) "i" #k, v[k]
            g_autoptr(GdaDataModel) m = store_conn_select(
                c, Q_MAILBOX_IMAP_MIME_SOME, error, P(0), P(1), P(2), P(3), P(4), P(5), P(6), P(7),
                P(8), P(9), P(10), P(11), P(12), P(13), P(14), P(15), NULL);
#undef P
            if (m == NULL)
                return NULL;
            mime_rows(m, NULL, out);
        }
        return g_steal_pointer(&out);
    }
    g_autoptr(GHashTable) wanted = g_hash_table_new(g_int64_hash, g_int64_equal);
    for (guint i = 0; i < n; i++)
        g_hash_table_add(wanted, (gpointer)&message_ids[i]);
    g_autoptr(GdaDataModel) m =
        store_conn_select(c, Q_MAILBOX_IMAP_MIME_RANGE, error, "id", folder_id, "min",
                          (gint64)uid_min, "max", (gint64)uid_max, NULL);
    if (m == NULL)
        return NULL;
    mime_rows(m, wanted, out);
    return g_steal_pointer(&out);
}

gboolean
store_mime_put(StoreConn *c, const StoreMime *mime, GError **error)
{
    return store_conn_exec(c, Q_MAILBOX_IMAP_MIME_ADD, error, "id", mime->message_id, "envelope",
                           mime->envelope, "bodystructure", mime->bodystructure, "body", mime->body,
                           "sections", mime->sections, NULL) >= 0;
}

/* ---- watching ---- */

/* Q_MAILBOX_IMAP_WATCH's places. */
#define WATCH_PER_QUERY 32

GArray *
store_folders_state(StoreConn *c, const gint64 *ids, guint n, GError **error)
{
    GArray *out = g_array_new(FALSE, TRUE, sizeof(StoreFolderState));

    for (guint at = 0; at < n; at += WATCH_PER_QUERY) {
        gint64 v[WATCH_PER_QUERY] = { 0 };
        for (guint k = 0; k < WATCH_PER_QUERY && at + k < n; k++)
            v[k] = ids[at + k];
#define P(k) "i" #k, v[k]
        g_autoptr(GdaDataModel) m = store_conn_select(
            c, Q_MAILBOX_IMAP_WATCH, error, P(0), P(1), P(2), P(3), P(4), P(5), P(6), P(7), P(8),
            P(9), P(10), P(11), P(12), P(13), P(14), P(15), P(16), P(17), P(18), P(19), P(20),
            P(21), P(22), P(23), P(24), P(25), P(26), P(27), P(28), P(29), P(30), P(31), NULL);
#undef P
        if (m == NULL) {
            g_array_unref(out);
            return NULL;
        }
        for (int r = 0; r < gda_data_model_get_n_rows(m); r++) {
            StoreFolderState st = { store_model_int64(m, 0, r), store_model_int64(m, 1, r),
                                    (guint32)store_model_int64(m, 2, r) };
            g_array_append_val(out, st);
        }
    }
    return out;
}
