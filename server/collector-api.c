/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "collector-api.h"

#include <glib/gi18n-lib.h>
#include <postroom/pr-collector.h>

#include "store/store-collector.h"
#include "unix-time.h"

/* Mail collectors for the collector module (pr-collector.h): each call is
 * one job on the store's workers. An instance claims under its host name,
 * the name queue claims and mailbox locks use too. */

/* What a module sees, and the store row whose strings it points into. */
typedef struct {
    PrCollector public;
    StoreCollector *row;
} Collector;

static void
collector_free(Collector *c)
{
    store_collector_free(c->row);
    g_free(c);
}

static Collector *
collector_new(StoreCollector *row)
{
    Collector *c = g_new0(Collector, 1);
    c->row = row;
    /* The module sends the password; it reads it like any option. */
    if (*row->password != '\0')
        g_hash_table_replace(row->options, g_strdup("password"), g_strdup(row->password));
    c->public.id = row->id;
    c->public.name = row->name;
    c->public.options = row->options;
    c->public.priority = row->priority;
    c->public.last_run = row->last_run;
    c->public.run_requested = row->run_requested;
    return c;
}

const char *
pr_collector_get_option(const PrCollector *collector, const char *key, const char *fallback)
{
    g_return_val_if_fail(collector != NULL && key != NULL, fallback);
    const char *value = g_hash_table_lookup(collector->options, key);
    return value != NULL ? value : fallback;
}

void
pr_collector_free(PrCollector *collector)
{
    if (collector != NULL)
        collector_free((Collector *)collector);
}

/* ---- tasks ---- */

static void
array_job_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
    host_store_pointer_done(res, user_data, (GDestroyNotify)g_ptr_array_unref);
}

static void
table_job_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
    host_store_pointer_done(res, user_data, (GDestroyNotify)g_hash_table_unref);
}

/* ---- list ---- */

static gpointer
list_job(StoreConn *c, gpointer data, GError **error)
{
    g_autoptr(GPtrArray) rows = store_collector_list(c, FALSE, error);
    if (rows == NULL)
        return NULL;
    GPtrArray *list = g_ptr_array_new_full(rows->len, (GDestroyNotify)pr_collector_free);
    /* The rows move into the collectors. */
    g_ptr_array_set_free_func(rows, NULL);
    for (guint i = 0; i < rows->len; i++)
        g_ptr_array_add(list, collector_new(rows->pdata[i]));
    return list;
}

void
pr_collector_list_async(PrHost *host, GCancellable *cancellable, GAsyncReadyCallback callback,
                        gpointer user_data)
{
    g_return_if_fail(host != NULL);
    GTask *task =
        host_store_task_new(host, cancellable, callback, user_data, pr_collector_list_async);
    if (task != NULL)
        store_run_async(host->store, list_job, NULL, NULL, NULL, array_job_done, task);
}

GPtrArray *
pr_collector_list_finish(PrHost *host, GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
    g_return_val_if_fail(g_task_get_source_tag(G_TASK(result)) == pr_collector_list_async, NULL);
    (void)host;
    return g_task_propagate_pointer(G_TASK(result), error);
}

/* ---- sessions ---- */

typedef struct {
    char *instance;
    gint64 id;
    guint lease;
    char *result;
} SessionJob;

static void
session_job_free(gpointer p)
{
    SessionJob *j = p;
    g_free(j->instance);
    g_free(j->result);
    g_free(j);
}

static SessionJob *
session_job_new(PrHost *host, gint64 id)
{
    SessionJob *j = g_new0(SessionJob, 1);
    j->instance = g_strdup(host->hostname);
    j->id = id;
    return j;
}

static gpointer
begin_job(StoreConn *c, gpointer data, GError **error)
{
    SessionJob *j = data;
    gint64 now = unix_now();
    gboolean held = FALSE;
    if (!store_collector_begin(c, j->id, j->instance, now, now + j->lease, &held, error))
        return NULL;
    return host_store_boolean(held);
}

void
pr_collector_begin_async(PrHost *host, gint64 collector_id, guint lease_seconds,
                         GCancellable *cancellable, GAsyncReadyCallback callback,
                         gpointer user_data)
{
    g_return_if_fail(host != NULL);
    GTask *task =
        host_store_task_new(host, cancellable, callback, user_data, pr_collector_begin_async);
    if (task == NULL)
        return;
    SessionJob *j = session_job_new(host, collector_id);
    j->lease = MAX(lease_seconds, 1);
    store_run_async(host->store, begin_job, j, session_job_free, NULL, host_store_boolean_done,
                    task);
}

gboolean
pr_collector_begin_finish(PrHost *host, GAsyncResult *result, GError **error)
{
    (void)host;
    return host_store_boolean_finish(result, pr_collector_begin_async, error);
}

static gpointer
end_job(StoreConn *c, gpointer data, GError **error)
{
    SessionJob *j = data;
    if (!store_collector_end(c, j->id, j->instance, unix_now(), j->result, error))
        return NULL;
    return host_store_boolean(TRUE);
}

void
pr_collector_end_async(PrHost *host, gint64 collector_id, const char *result_text,
                       GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
    g_return_if_fail(host != NULL);
    GTask *task =
        host_store_task_new(host, cancellable, callback, user_data, pr_collector_end_async);
    if (task == NULL)
        return;
    SessionJob *j = session_job_new(host, collector_id);
    j->result = g_strdup(result_text);
    store_run_async(host->store, end_job, j, session_job_free, NULL, host_store_boolean_done, task);
}

gboolean
pr_collector_end_finish(PrHost *host, GAsyncResult *result, GError **error)
{
    (void)host;
    return host_store_boolean_finish(result, pr_collector_end_async, error);
}

/* ---- UIDs ---- */

/* What a module sees of a UID, and the string it points to. */
typedef struct {
    PrCollectorUid public;
    char *uid;
} CollectorUid;

static void
collector_uid_free(gpointer p)
{
    CollectorUid *u = p;
    g_free(u->uid);
    g_free(u);
}

typedef struct {
    gint64 id;
    GHashTable *listed; /* set of char* */
    int obsolete_days;
} UidsJob;

static void
uids_job_free(gpointer p)
{
    UidsJob *j = p;
    g_hash_table_unref(j->listed);
    g_free(j);
}

static gpointer
uids_job(StoreConn *c, gpointer data, GError **error)
{
    UidsJob *j = data;
    g_autoptr(GPtrArray) known =
        store_collector_uids(c, j->id, j->listed, unix_now(), j->obsolete_days, error);
    if (known == NULL)
        return NULL;
    GHashTable *out = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, collector_uid_free);
    for (guint i = 0; i < known->len; i++) {
        StoreCollectorUid *row = known->pdata[i];
        CollectorUid *u = g_new0(CollectorUid, 1);
        u->uid = g_steal_pointer(&row->uid);
        u->public.uid = u->uid;
        u->public.state = (PrCollectorUidState)row->state;
        u->public.first_seen = row->first_seen;
        /* The key is the value's own string. */
        g_hash_table_replace(out, u->uid, u);
    }
    return out;
}

void
pr_collector_uids_async(PrHost *host, gint64 collector_id, GPtrArray *listed,
                        GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
    g_return_if_fail(host != NULL && listed != NULL);
    GTask *task =
        host_store_task_new(host, cancellable, callback, user_data, pr_collector_uids_async);
    if (task == NULL)
        return;
    UidsJob *j = g_new0(UidsJob, 1);
    j->id = collector_id;
    j->listed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < listed->len; i++) {
        if (listed->pdata[i] != NULL)
            g_hash_table_add(j->listed, g_strdup(listed->pdata[i]));
    }
    /* Read on the main thread: a reload replaces the configuration here. */
    j->obsolete_days = (int)config_get_int(host->config, "collector", "obsolete_uid_days");
    store_run_async(host->store, uids_job, j, uids_job_free, NULL, table_job_done, task);
}

GHashTable *
pr_collector_uids_finish(PrHost *host, GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
    g_return_val_if_fail(g_task_get_source_tag(G_TASK(result)) == pr_collector_uids_async, NULL);
    (void)host;
    return g_task_propagate_pointer(G_TASK(result), error);
}

typedef struct {
    gint64 id;
    char *uid;
    StoreCollectorUidState state;
} SetUidJob;

static void
set_uid_job_free(gpointer p)
{
    SetUidJob *j = p;
    g_free(j->uid);
    g_free(j);
}

static gpointer
set_uid_job(StoreConn *c, gpointer data, GError **error)
{
    SetUidJob *j = data;
    if (!store_collector_set_uid(c, j->id, j->uid, j->state, unix_now(), error))
        return NULL;
    return host_store_boolean(TRUE);
}

void
pr_collector_set_uid_async(PrHost *host, gint64 collector_id, const char *uid,
                           PrCollectorUidState state, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
    g_return_if_fail(host != NULL && uid != NULL);
    g_return_if_fail(state <= PR_COLLECTOR_UID_REQUESTED);
    GTask *task =
        host_store_task_new(host, cancellable, callback, user_data, pr_collector_set_uid_async);
    if (task == NULL)
        return;
    SetUidJob *j = g_new0(SetUidJob, 1);
    j->id = collector_id;
    j->uid = g_strdup(uid);
    /* The two enums share their order (store-collector.h). */
    j->state = (StoreCollectorUidState)state;
    store_run_async(host->store, set_uid_job, j, set_uid_job_free, NULL, host_store_boolean_done,
                    task);
}

gboolean
pr_collector_set_uid_finish(PrHost *host, GAsyncResult *result, GError **error)
{
    (void)host;
    return host_store_boolean_finish(result, pr_collector_set_uid_async, error);
}

/* ---- "run now" notification ----
 *
 * `postroomctl collector run` only writes run_requested: it may run on
 * another machine than the daemon, and several instances may share the
 * database. While a module listens, the host looks every
 * COLLECTOR_POLL_SECONDS for requests it has not reported yet. The watch
 * is reference-counted: a poll in flight keeps it alive after the module
 * stopped listening. */

struct _CollectorWatch {
    gatomicrefcount ref;
    PrHost *host;
    PrModule *module;
    PrCollectorNotifyFunc func; /* NULL once stopped */
    gpointer user_data;
    guint timer;
    gboolean polling;
    GHashTable *reported; /* gint64* id -> gint64* run_requested */
};
typedef struct _CollectorWatch Watch;

static Watch *
watch_ref(Watch *w)
{
    g_atomic_ref_count_inc(&w->ref);
    return w;
}

static void
watch_unref(Watch *w)
{
    if (w != NULL && g_atomic_ref_count_dec(&w->ref)) {
        g_hash_table_unref(w->reported);
        g_free(w);
    }
}

static gpointer
requested_job(StoreConn *c, gpointer data, GError **error)
{
    return store_collector_requested(c, error);
}

static void
requested_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
    Watch *w = user_data;
    g_autoptr(GError) error = NULL;
    g_autoptr(GArray) pairs = store_run_finish(w->host->store, res, &error);

    w->polling = FALSE;
    if (pairs == NULL) {
        if (error != NULL && w->func != NULL)
            g_debug("collector run requests not read: %s", error->message);
        watch_unref(w);
        return;
    }
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    g_autoptr(GArray) due = g_array_new(FALSE, FALSE, sizeof(gint64));
    for (guint i = 0; i + 1 < pairs->len; i += 2) {
        gint64 id = g_array_index(pairs, gint64, i);
        gint64 when = g_array_index(pairs, gint64, i + 1);
        const gint64 *before = g_hash_table_lookup(w->reported, &id);
        if (before == NULL || *before != when)
            g_array_append_val(due, id);
        g_hash_table_insert(seen, g_memdup2(&id, sizeof id), g_memdup2(&when, sizeof when));
    }
    /* Answered requests are forgotten, so that a new one at the same
     * second is reported too. */
    g_hash_table_unref(w->reported);
    w->reported = g_steal_pointer(&seen);
    /* The module may stop listening from its function. */
    for (guint i = 0; i < due->len && w->func != NULL; i++)
        w->func(g_array_index(due, gint64, i), w->user_data);
    watch_unref(w);
}

static gboolean
poll_cb(gpointer data)
{
    Watch *w = data;
    if (w->polling || w->host->store == NULL)
        return G_SOURCE_CONTINUE;
    w->polling = TRUE;
    store_run_async(w->host->store, requested_job, NULL, NULL, NULL, requested_done, watch_ref(w));
    return G_SOURCE_CONTINUE;
}

static void
watch_stop(PrHost *host)
{
    Watch *w = g_steal_pointer(&host->collector_watch);
    if (w == NULL)
        return;
    w->func = NULL;
    g_clear_handle_id(&w->timer, g_source_remove);
    watch_unref(w);
}

void
pr_collector_set_notify(PrHost *host, PrModule *self, PrCollectorNotifyFunc func,
                        gpointer user_data)
{
    g_return_if_fail(host != NULL);
    watch_stop(host);
    if (func == NULL)
        return;
    Watch *w = g_new0(Watch, 1);
    g_atomic_ref_count_init(&w->ref);
    w->host = host;
    w->module = self;
    w->func = func;
    w->user_data = user_data;
    w->reported = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    w->timer = g_timeout_add_seconds(COLLECTOR_POLL_SECONDS, poll_cb, w);
    host->collector_watch = w;
}

void
collector_api_forget_module(PrHost *host, PrModule *module)
{
    Watch *w = host->collector_watch;
    if (w != NULL && (module == NULL || w->module == module))
        watch_stop(host);
}
