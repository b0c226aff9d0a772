/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <postroom/pr-collector.h>

#include "host.h"
#include "store/store-collector.h"
#include "unix-time.h"

/* The collector's Query flow in the store (pr-collector.h): the token a
 * notice gives its readers, the lookup of a reply's token, and the request
 * that makes the next session fetch the message. Each call is one job on
 * the store's workers. */

typedef struct {
    gint64 id;
    char *uid;
    char *token;
    char *rcpts;
} QueryJob;

static void
query_job_free(gpointer p)
{
    QueryJob *j = p;
    g_free(j->uid);
    g_free(j->token);
    g_free(j->rcpts);
    g_free(j);
}

/* ---- recording a query ---- */

static gpointer
query_uid_job(StoreConn *c, gpointer data, GError **error)
{
    QueryJob *j = data;
    if (!store_collector_query_uid(c, j->id, j->uid, j->token, j->rcpts, unix_now(), error))
        return NULL;
    return host_store_boolean(TRUE);
}

void
pr_collector_query_uid_async(PrHost *host, gint64 collector_id, const char *uid, const char *token,
                             const char *const *recipients, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
    g_return_if_fail(host != NULL && uid != NULL && token != NULL && recipients != NULL);
    GTask *task =
        host_store_task_new(host, cancellable, callback, user_data, pr_collector_query_uid_async);
    if (task == NULL)
        return;
    QueryJob *j = g_new0(QueryJob, 1);
    j->id = collector_id;
    j->uid = g_strdup(uid);
    j->token = g_strdup(token);
    /* Addresses hold no comma (the router refuses them). */
    j->rcpts = g_strjoinv(",", (char **)recipients);
    store_run_async(host->store, query_uid_job, j, query_job_free, NULL, host_store_boolean_done,
                    task);
}

gboolean
pr_collector_query_uid_finish(PrHost *host, GAsyncResult *result, GError **error)
{
    (void)host;
    return host_store_boolean_finish(result, pr_collector_query_uid_async, error);
}

/* ---- finding one ---- */

/* What a module sees, and the row whose strings it points into. */
typedef struct {
    PrCollectorQuery public;
    StoreCollectorQuery *row;
    char **recipients;
} Query;

void
pr_collector_query_free(PrCollectorQuery *query)
{
    Query *q = (Query *)query;
    if (q == NULL)
        return;
    store_collector_query_free(q->row);
    g_strfreev(q->recipients);
    g_free(q);
}

static gpointer
find_job(StoreConn *c, gpointer data, GError **error)
{
    StoreCollectorQuery *row = store_collector_find_query(c, data, error);
    if (row == NULL)
        return NULL;
    Query *q = g_new0(Query, 1);
    q->row = row;
    q->recipients = *row->rcpts != '\0' ? g_strsplit(row->rcpts, ",", -1) : g_new0(char *, 1);
    q->public.collector_id = row->collector_id;
    q->public.collector = row->collector;
    q->public.uid = row->uid;
    /* The two enums share their order (store-collector.h). */
    q->public.state = (PrCollectorUidState)row->state;
    q->public.queried = row->queried_at;
    q->public.recipients = (const char *const *)q->recipients;
    return q;
}

static void
find_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
    host_store_pointer_done(res, user_data, (GDestroyNotify)pr_collector_query_free);
}

void
pr_collector_find_query_async(PrHost *host, const char *token, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data)
{
    g_return_if_fail(host != NULL && token != NULL);
    GTask *task =
        host_store_task_new(host, cancellable, callback, user_data, pr_collector_find_query_async);
    if (task != NULL)
        store_run_async(host->store, find_job, g_strdup(token), g_free, NULL, find_done, task);
}

PrCollectorQuery *
pr_collector_find_query_finish(PrHost *host, GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
    g_return_val_if_fail(g_task_get_source_tag(G_TASK(result)) == pr_collector_find_query_async,
                         NULL);
    (void)host;
    return g_task_propagate_pointer(G_TASK(result), error);
}

/* ---- asking for the message ---- */

static gpointer
request_job(StoreConn *c, gpointer data, GError **error)
{
    QueryJob *j = data;
    if (!store_collector_request_uid(c, j->id, j->uid, unix_now(), error))
        return NULL;
    return host_store_boolean(TRUE);
}

void
pr_collector_request_uid_async(PrHost *host, gint64 collector_id, const char *uid,
                               GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data)
{
    g_return_if_fail(host != NULL && uid != NULL);
    GTask *task =
        host_store_task_new(host, cancellable, callback, user_data, pr_collector_request_uid_async);
    if (task == NULL)
        return;
    QueryJob *j = g_new0(QueryJob, 1);
    j->id = collector_id;
    j->uid = g_strdup(uid);
    store_run_async(host->store, request_job, j, query_job_free, NULL, host_store_boolean_done,
                    task);
}

gboolean
pr_collector_request_uid_finish(PrHost *host, GAsyncResult *result, GError **error)
{
    (void)host;
    return host_store_boolean_finish(result, pr_collector_request_uid_async, error);
}
