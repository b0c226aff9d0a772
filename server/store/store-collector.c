/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "store-collector.h"

#include <glib/gi18n-lib.h>

#include "store-queries.h"

/* Writes of one UID listing per transaction: libgda's cost per statement
 * grows with the length of a transaction. */
#define UID_BATCH 500

static const char *const uid_states[] = { "downloaded", "left", "queried", "requested" };

const char *
store_collector_uid_state_name(StoreCollectorUidState state)
{
    g_return_val_if_fail((guint)state < G_N_ELEMENTS(uid_states), "downloaded");
    return uid_states[state];
}

static StoreCollectorUidState
uid_state_from_name(const char *name)
{
    for (guint i = 0; i < G_N_ELEMENTS(uid_states); i++) {
        if (g_strcmp0(name, uid_states[i]) == 0)
            return (StoreCollectorUidState)i;
    }
    /* The schema's CHECK allows nothing else. */
    return STORE_COLLECTOR_UID_DOWNLOADED;
}

void
store_collector_free(StoreCollector *collector)
{
    if (collector == NULL)
        return;
    g_free(collector->name);
    if (collector->password != NULL) {
        /* Not left behind in freed memory. */
        memset(collector->password, 0, strlen(collector->password));
        g_free(collector->password);
    }
    g_free(collector->claimed_by);
    g_free(collector->last_result);
    g_clear_pointer(&collector->options, g_hash_table_unref);
    g_free(collector);
}

void
store_collector_uid_free(StoreCollectorUid *uid)
{
    if (uid == NULL)
        return;
    g_free(uid->uid);
    g_free(uid);
}

static char *
string_or_empty(GdaDataModel *model, int col, int row)
{
    char *s = store_model_string(model, col, row);
    return s != NULL ? s : g_strdup("");
}

/* The password as stored: base64, so that it is not readable at a glance
 * in a database dump (an encoding, not a protection). */
static char *
password_encode(const char *password)
{
    if (password == NULL || *password == '\0')
        return g_strdup("");
    return g_base64_encode((const guchar *)password, strlen(password));
}

static char *
password_decode(const char *stored)
{
    if (stored == NULL || *stored == '\0')
        return g_strdup("");
    gsize len = 0;
    g_autofree guchar *bytes = g_base64_decode(stored, &len);
    char *text = g_strndup((const char *)bytes, len);
    memset(bytes, 0, len);
    return text;
}

/* A row of COLLECTOR_SELECT (store-queries.c). */
static StoreCollector *
collector_from_row(GdaDataModel *m, int row)
{
    StoreCollector *c = g_new0(StoreCollector, 1);
    g_autofree char *password = store_model_string(m, 4, row);
    c->id = store_model_int64(m, 0, row);
    c->name = string_or_empty(m, 1, row);
    c->enabled = store_model_bool(m, 2, row);
    c->priority = (int)store_model_int64(m, 3, row);
    c->password = password_decode(password);
    c->created = store_model_int64(m, 5, row);
    c->claimed_by = string_or_empty(m, 6, row);
    c->claim_expires = store_model_int64(m, 7, row);
    c->session_started = store_model_int64(m, 8, row);
    c->last_run = store_model_int64(m, 9, row);
    c->last_result = string_or_empty(m, 10, row);
    c->run_requested = store_model_int64(m, 11, row);
    c->options = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    return c;
}

/* Adds the option rows of @m (collector_id, name, value) to the
 * collectors of @by_id they belong to. */
static void
add_options(GdaDataModel *m, GHashTable *by_id)
{
    for (int r = 0; r < gda_data_model_get_n_rows(m); r++) {
        gint64 id = store_model_int64(m, 0, r);
        StoreCollector *c = g_hash_table_lookup(by_id, &id);
        if (c == NULL)
            continue; /* a disabled one, not listed */
        g_hash_table_replace(c->options, string_or_empty(m, 1, r), string_or_empty(m, 2, r));
    }
}

GPtrArray *
store_collector_list(StoreConn *c, gboolean all, GError **error)
{
    g_autoptr(GdaDataModel) m = store_conn_select(c, Q_COLLECTOR_LIST, error, "all", all, NULL);
    if (m == NULL)
        return NULL;
    int n = gda_data_model_get_n_rows(m);
    g_autoptr(GPtrArray) list =
        g_ptr_array_new_full(MAX(n, 0), (GDestroyNotify)store_collector_free);
    g_autoptr(GHashTable) by_id = g_hash_table_new(g_int64_hash, g_int64_equal);
    for (int r = 0; r < n; r++) {
        StoreCollector *col = collector_from_row(m, r);
        g_ptr_array_add(list, col);
        g_hash_table_insert(by_id, &col->id, col);
    }
    if (n > 0) {
        g_autoptr(GdaDataModel) opts = store_conn_select(c, Q_COLLECTOR_OPTIONS_ALL, error, NULL);
        if (opts == NULL)
            return NULL;
        add_options(opts, by_id);
    }
    return g_steal_pointer(&list);
}

static void
set_not_found(GError **error, const char *name)
{
    g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND,
                _("The collector “%s” does not exist."), name);
}

StoreCollector *
store_collector_get(StoreConn *c, const char *name, GError **error)
{
    g_autoptr(GdaDataModel) m = store_conn_select(c, Q_COLLECTOR_GET, error, "name", name, NULL);
    if (m == NULL)
        return NULL;
    if (gda_data_model_get_n_rows(m) != 1) {
        set_not_found(error, name);
        return NULL;
    }
    g_autoptr(StoreCollector) col = collector_from_row(m, 0);
    g_autoptr(GdaDataModel) opts =
        store_conn_select(c, Q_COLLECTOR_OPTIONS, error, "id", col->id, NULL);
    if (opts == NULL)
        return NULL;
    g_autoptr(GHashTable) by_id = g_hash_table_new(g_int64_hash, g_int64_equal);
    g_hash_table_insert(by_id, &col->id, col);
    add_options(opts, by_id);
    return g_steal_pointer(&col);
}

/* The number of @name, 0 with NOT_FOUND, -1 on error. */
static gint64
collector_id(StoreConn *c, const char *name, GError **error)
{
    g_autoptr(GdaDataModel) m = store_conn_select(c, Q_COLLECTOR_ID, error, "name", name, NULL);
    if (m == NULL)
        return -1;
    if (gda_data_model_get_n_rows(m) != 1) {
        set_not_found(error, name);
        return 0;
    }
    return store_model_int64(m, 0, 0);
}

/* Sets (or with "" removes) each option of @options. */
static gboolean
write_options(StoreConn *c, gint64 id, GHashTable *options, GError **error)
{
    GHashTableIter iter;
    gpointer key, value;

    if (options == NULL)
        return TRUE;
    g_hash_table_iter_init(&iter, options);
    while (g_hash_table_iter_next(&iter, &key, &value)) {
        const char *v = value != NULL ? value : "";
        gint rows = *v != '\0' ? store_conn_exec(c, Q_COLLECTOR_OPTION_SET, error, "id", id, "name",
                                                 (const char *)key, "value", v, NULL)
                               : store_conn_exec(c, Q_COLLECTOR_OPTION_UNSET, error, "id", id,
                                                 "name", (const char *)key, NULL);
        if (rows < 0)
            return FALSE;
    }
    return TRUE;
}

gint64
store_collector_add(StoreConn *c, const char *name, gboolean enabled, int priority,
                    const char *password, GHashTable *options, GError **error)
{
    g_autofree char *stored = password_encode(password);
    gint64 id;

    g_return_val_if_fail(name != NULL && *name != '\0', 0);
    if (!store_begin(c, error))
        return 0;
    gint rows = store_conn_exec(c, Q_COLLECTOR_ADD, error, "name", name, "enabled", enabled,
                                "priority", priority, "password", stored, "now",
                                g_get_real_time() / G_USEC_PER_SEC, NULL);
    if (rows < 0)
        goto fail;
    if (rows == 0) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_EXISTS,
                    _("The collector “%s” exists already."), name);
        goto fail;
    }
    id = collector_id(c, name, error);
    if (id <= 0 || !write_options(c, id, options, error))
        goto fail;
    if (!store_commit(c, error))
        return 0;
    return id;

fail:
    store_rollback(c);
    return 0;
}

gboolean
store_collector_update(StoreConn *c, const char *name, const StoreCollectorChange *change,
                       GError **error)
{
    gint64 id = collector_id(c, name, error);
    if (id <= 0)
        return FALSE;
    /* A write first, for the reason given in store_mailbox_lock(). */
    if (!store_begin(c, error))
        return FALSE;
    gint rows = store_conn_exec(c, Q_COLLECTOR_TOUCH, error, "id", id, NULL);
    if (rows < 0)
        goto fail;
    if (rows == 0) {
        set_not_found(error, name); /* deleted meanwhile */
        goto fail;
    }
    if (change->enabled >= 0 && store_conn_exec(c, Q_COLLECTOR_SET_ENABLED, error, "enabled",
                                                (gboolean)change->enabled, "id", id, NULL) < 0)
        goto fail;
    if (change->set_priority && store_conn_exec(c, Q_COLLECTOR_SET_PRIORITY, error, "priority",
                                                change->priority, "id", id, NULL) < 0)
        goto fail;
    if (change->password != NULL) {
        g_autofree char *stored = password_encode(change->password);
        if (store_conn_exec(c, Q_COLLECTOR_SET_PASSWORD, error, "password", stored, "id", id,
                            NULL) < 0)
            goto fail;
    }
    if (!write_options(c, id, change->options, error))
        goto fail;
    return store_commit(c, error);

fail:
    store_rollback(c);
    return FALSE;
}

gboolean
store_collector_delete(StoreConn *c, const char *name, GError **error)
{
    gint64 id = collector_id(c, name, error);
    if (id <= 0)
        return FALSE;
    gint rows = store_conn_exec(c, Q_COLLECTOR_DELETE, error, "id", id, NULL);
    if (rows == 0)
        set_not_found(error, name); /* deleted meanwhile */
    return rows > 0;
}

gboolean
store_collector_request_run(StoreConn *c, const char *name, gint64 now, GError **error)
{
    gint64 id = collector_id(c, name, error);
    if (id <= 0)
        return FALSE;
    gint rows = store_conn_exec(c, Q_COLLECTOR_REQUEST_RUN, error, "now", now, "id", id, NULL);
    if (rows == 0)
        set_not_found(error, name);
    return rows > 0;
}

gint64
store_collector_forget(StoreConn *c, const char *name, GError **error)
{
    gint64 id = collector_id(c, name, error);
    if (id <= 0)
        return -1;
    return store_conn_exec(c, Q_COLLECTOR_FORGET, error, "id", id, NULL);
}

GHashTable *
store_collector_uid_counts(StoreConn *c, GError **error)
{
    g_autoptr(GdaDataModel) m = store_conn_select(c, Q_COLLECTOR_UID_COUNTS, error, NULL);
    if (m == NULL)
        return NULL;
    GHashTable *counts = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    for (int r = 0; r < gda_data_model_get_n_rows(m); r++) {
        gint64 id = store_model_int64(m, 0, r);
        gint64 n = store_model_int64(m, 1, r);
        g_hash_table_insert(counts, g_memdup2(&id, sizeof id), g_memdup2(&n, sizeof n));
    }
    return counts;
}

gboolean
store_collector_uid_states(StoreConn *c, gint64 id, gint64 counts[4], GError **error)
{
    memset(counts, 0, 4 * sizeof counts[0]);
    g_autoptr(GdaDataModel) m = store_conn_select(c, Q_COLLECTOR_UID_STATES, error, "id", id, NULL);
    if (m == NULL)
        return FALSE;
    for (int r = 0; r < gda_data_model_get_n_rows(m); r++) {
        g_autofree char *state = store_model_string(m, 0, r);
        counts[uid_state_from_name(state)] += store_model_int64(m, 1, r);
    }
    return TRUE;
}

GArray *
store_collector_requested(StoreConn *c, GError **error)
{
    g_autoptr(GdaDataModel) m = store_conn_select(c, Q_COLLECTOR_REQUESTED, error, NULL);
    if (m == NULL)
        return NULL;
    GArray *out = g_array_new(FALSE, FALSE, sizeof(gint64));
    for (int r = 0; r < gda_data_model_get_n_rows(m); r++) {
        gint64 pair[2] = { store_model_int64(m, 0, r), store_model_int64(m, 1, r) };
        g_array_append_vals(out, pair, 2);
    }
    return out;
}

/* ---- sessions ---- */

static gboolean
collector_exists(StoreConn *c, gint64 id, GError **error)
{
    g_autoptr(GdaDataModel) m = store_conn_select(c, Q_COLLECTOR_EXISTS, error, "id", id, NULL);
    if (m == NULL)
        return FALSE;
    if (gda_data_model_get_n_rows(m) == 1)
        return TRUE;
    g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND,
                _("The collector %lld does not exist."), (long long)id);
    return FALSE;
}

gboolean
store_collector_begin(StoreConn *c, gint64 id, const char *instance, gint64 now, gint64 lease_until,
                      gboolean *held, GError **error)
{
    g_return_val_if_fail(instance != NULL && *instance != '\0', FALSE);
    *held = FALSE;
    /* One statement: two instances claiming at once cannot both win. */
    gint rows = store_conn_exec(c, Q_COLLECTOR_CLAIM, error, "instance", instance, "lease",
                                lease_until, "now", now, "id", id, NULL);
    if (rows < 0)
        return FALSE;
    if (rows > 0) {
        *held = TRUE;
        return TRUE;
    }
    return collector_exists(c, id, error);
}

gboolean
store_collector_end(StoreConn *c, gint64 id, const char *instance, gint64 now, const char *result,
                    GError **error)
{
    gint rows = store_conn_exec(c, Q_COLLECTOR_END, error, "now", now, "result",
                                result != NULL ? result : "", "id", id, "instance", instance, NULL);
    if (rows < 0)
        return FALSE;
    if (rows == 0) {
        /* Its lease ran out and another instance took it, or it was
         * deleted. */
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND,
                    _("The collector %lld is not run by %s."), (long long)id, instance);
        return FALSE;
    }
    return TRUE;
}

gint64
store_collector_release_instance(StoreConn *c, const char *instance, GError **error)
{
    return store_conn_exec(c, Q_COLLECTOR_RELEASE_INSTANCE, error, "instance", instance, NULL);
}

/* ---- UIDs ---- */

typedef enum {
    UID_LISTED,  /* obsolete before, listed again */
    UID_MISSING, /* listed before, obsolete from now */
    UID_DROP,    /* obsolete, forgotten at once */
} UidChange;

typedef struct {
    char *uid;
    UidChange change;
} UidWrite;

static void
uid_write_clear(gpointer p)
{
    g_free(((UidWrite *)p)->uid);
}

/* Applies @writes in transactions of UID_BATCH. Each write is final on its
 * own, so a crash between batches leaves nothing inconsistent: the next
 * listing redoes the rest. */
static gboolean
apply_uid_writes(StoreConn *c, gint64 id, GArray *writes, gint64 now, GError **error)
{
    for (guint start = 0; start < writes->len; start += UID_BATCH) {
        guint end = MIN(writes->len, start + UID_BATCH);
        if (!store_begin(c, error))
            return FALSE;
        for (guint i = start; i < end; i++) {
            const UidWrite *w = &g_array_index(writes, UidWrite, i);
            gint rows = -1;
            switch (w->change) {
            case UID_LISTED:
                rows = store_conn_exec(c, Q_COLLECTOR_UID_LISTED, error, "id", id, "uid", w->uid,
                                       NULL);
                break;
            case UID_MISSING:
                rows = store_conn_exec(c, Q_COLLECTOR_UID_MISSING, error, "now", now, "id", id,
                                       "uid", w->uid, NULL);
                break;
            case UID_DROP:
                rows = store_conn_exec(c, Q_COLLECTOR_UID_DELETE, error, "id", id, "uid", w->uid,
                                       NULL);
                break;
            }
            if (rows < 0) {
                store_rollback(c);
                return FALSE;
            }
        }
        if (!store_commit(c, error))
            return FALSE;
    }
    return TRUE;
}

GPtrArray *
store_collector_uids(StoreConn *c, gint64 id, GHashTable *listed, gint64 now, int obsolete_days,
                     GError **error)
{
    g_autoptr(GArray) writes = g_array_new(FALSE, FALSE, sizeof(UidWrite));
    g_array_set_clear_func(writes, uid_write_clear);
    g_autoptr(GPtrArray) known =
        g_ptr_array_new_with_free_func((GDestroyNotify)store_collector_uid_free);

    if (!collector_exists(c, id, error))
        return NULL;
    /* Obsolete long enough: gone before the rest is read. Only the rows
     * that change are written, so a listing of thousands of messages left
     * on the server costs one read. */
    if (obsolete_days > 0 && store_conn_exec(c, Q_COLLECTOR_UIDS_PURGE, error, "id", id, "before",
                                             now - (gint64)obsolete_days * 86400, NULL) < 0)
        return NULL;
    g_autoptr(GdaDataModel) m = store_conn_select(c, Q_COLLECTOR_UIDS_ALL, error, "id", id, NULL);
    if (m == NULL)
        return NULL;
    for (int r = 0; r < gda_data_model_get_n_rows(m); r++) {
        char *uid = string_or_empty(m, 0, r);
        gint64 missing_since = store_model_int64(m, 3, r);
        if (g_hash_table_contains(listed, uid)) {
            StoreCollectorUid *u = g_new0(StoreCollectorUid, 1);
            g_autofree char *state = store_model_string(m, 1, r);
            u->uid = uid;
            u->state = uid_state_from_name(state);
            u->first_seen = store_model_int64(m, 2, r);
            g_ptr_array_add(known, u);
            if (missing_since != 0) {
                UidWrite w = { g_strdup(uid), UID_LISTED };
                g_array_append_val(writes, w);
            }
        } else if (missing_since == 0 || obsolete_days == 0) {
            UidWrite w = { uid, obsolete_days == 0 ? UID_DROP : UID_MISSING };
            g_array_append_val(writes, w);
        } else {
            g_free(uid);
        }
    }
    g_clear_object(&m); /* a SQLite result may be read lazily: done before the writes */
    if (!apply_uid_writes(c, id, writes, now, error))
        return NULL;
    return g_steal_pointer(&known);
}

gboolean
store_collector_set_uid(StoreConn *c, gint64 id, const char *uid, StoreCollectorUidState state,
                        gint64 now, GError **error)
{
    gint rows = store_conn_exec(c, Q_COLLECTOR_UID_SET, error, "uid", uid, "state",
                                store_collector_uid_state_name(state), "now", now, "id", id, NULL);
    if (rows < 0)
        return FALSE;
    if (rows == 0) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND,
                    _("The collector %lld does not exist."), (long long)id);
        return FALSE;
    }
    return TRUE;
}

gboolean
store_collector_uid_downloaded(StoreConn *c, gint64 id, const char *uid, gint64 now, GError **error)
{
    return store_conn_exec(c, Q_COLLECTOR_UID_SET, error, "uid", uid, "state",
                           uid_states[STORE_COLLECTOR_UID_DOWNLOADED], "now", now, "id", id,
                           NULL) >= 0;
}

/* ---- the Query flow ---- */

gboolean
store_collector_query_uid(StoreConn *c, gint64 id, const char *uid, const char *token,
                          const char *rcpts, gint64 now, GError **error)
{
    gint rows = store_conn_exec(c, Q_COLLECTOR_UID_QUERY, error, "uid", uid, "now", now, "token",
                                token, "rcpts", rcpts, "id", id, NULL);
    if (rows < 0)
        return FALSE;
    if (rows == 0) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND,
                    _("The collector %lld does not exist."), (long long)id);
        return FALSE;
    }
    return TRUE;
}

void
store_collector_query_free(StoreCollectorQuery *query)
{
    if (query == NULL)
        return;
    g_free(query->collector);
    g_free(query->uid);
    g_free(query->rcpts);
    g_free(query);
}

StoreCollectorQuery *
store_collector_find_query(StoreConn *c, const char *token, GError **error)
{
    g_autoptr(GdaDataModel) m =
        store_conn_select(c, Q_COLLECTOR_QUERY_FIND, error, "token", token, NULL);
    if (m == NULL || gda_data_model_get_n_rows(m) != 1)
        return NULL;
    StoreCollectorQuery *q = g_new0(StoreCollectorQuery, 1);
    q->collector_id = store_model_int64(m, 0, 0);
    q->collector = store_model_string(m, 1, 0);
    q->uid = store_model_string(m, 2, 0);
    g_autofree char *state = store_model_string(m, 3, 0);
    q->state = uid_state_from_name(state);
    q->queried_at = store_model_int64(m, 4, 0);
    q->rcpts = store_model_string(m, 5, 0);
    if (q->rcpts == NULL)
        q->rcpts = g_strdup("");
    return q;
}

gboolean
store_collector_request_uid(StoreConn *c, gint64 id, const char *uid, gint64 now, GError **error)
{
    if (!store_begin(c, error))
        return FALSE;
    gint rows =
        store_conn_exec(c, Q_COLLECTOR_UID_REQUEST, error, "now", now, "id", id, "uid", uid, NULL);
    if (rows < 0)
        goto fail;
    if (rows == 0) {
        g_autoptr(GdaDataModel) m =
            store_conn_select(c, Q_COLLECTOR_UID_STATE, error, "id", id, "uid", uid, NULL);
        if (m == NULL)
            goto fail;
        if (gda_data_model_get_n_rows(m) == 0)
            g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND,
                        _("The collector has not seen a message with the UID “%s” (it is listed "
                          "by a session first)."),
                        uid);
        else
            g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_EXISTS,
                        _("The message with the UID “%s” was downloaded already; `postroomctl "
                          "collector forget` makes the collector fetch everything again."),
                        uid);
        goto fail;
    }
    if (store_conn_exec(c, Q_COLLECTOR_REQUEST_RUN, error, "now", now, "id", id, NULL) < 0)
        goto fail;
    return store_commit(c, error);

fail:
    store_rollback(c);
    return FALSE;
}
