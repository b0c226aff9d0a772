/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "store.h"

/* The daemon's store: a fixed set of worker threads, each owning one
 * connection opened in that thread, fed from one queue. GThreadPool is not
 * used because a connection must live exactly as long as its thread, and
 * g_task_run_in_thread() because its shared pool is small and would be
 * starved by slow database work. */

struct _Store {
    StoreSettings settings;
    GAsyncQueue *queue; /* StoreJob*, or &quit_marker */
    GPtrArray *threads; /* GThread* */

    /* Start-up handshake: each worker reports whether it could connect. */
    GMutex lock;
    GCond cond;
    guint started;
    GError *start_error;
};

typedef struct {
    GTask *task; /* NULL for a detached job */
    StoreJobFunc func;
    StoreWorkFunc work; /* a detached job's */
    gpointer data;      /* ... and its data */
} StoreJob;

static char quit_marker;

static void
run_job(StoreConn *conn, StoreJob *job)
{
    GTask *task = job->task;
    g_autoptr(GError) error = NULL;
    gpointer result;

    if (task == NULL) {
        job->work(conn, job->data);
        g_free(job);
        return;
    }
    if (!g_task_return_error_if_cancelled(task)) {
        result = job->func(conn, g_task_get_task_data(task), &error);
        if (error != NULL)
            g_task_return_error(task, g_steal_pointer(&error));
        else
            g_task_return_pointer(task, result, NULL);
    }
    g_object_unref(task);
    g_free(job);
}

static gpointer
worker_main(gpointer data)
{
    Store *store = data;
    g_autoptr(GError) error = NULL;
    StoreConn *conn;
    gpointer item;

    conn = store_conn_open(&store->settings, &error);
    g_mutex_lock(&store->lock);
    store->started++;
    if (conn == NULL && store->start_error == NULL)
        store->start_error = g_steal_pointer(&error);
    g_cond_broadcast(&store->cond);
    g_mutex_unlock(&store->lock);

    while ((item = g_async_queue_pop(store->queue)) != &quit_marker) {
        StoreJob *job = item;

        if (conn == NULL && job->task == NULL) {
            g_free(job); /* as below: unreachable, store_open() failed */
            continue;
        }
        if (conn == NULL) {
            /* Only reached if start-up failed and a job slipped in. */
            g_task_return_new_error(job->task, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                                    _("The database is not available."));
            g_object_unref(job->task);
            g_free(job);
            continue;
        }
        run_job(conn, job);
    }
    store_conn_free(conn);
    return NULL;
}

static void
stop_workers(Store *store)
{
    for (guint i = 0; i < store->threads->len; i++)
        g_async_queue_push(store->queue, &quit_marker);
    for (guint i = 0; i < store->threads->len; i++)
        g_thread_join(g_ptr_array_index(store->threads, i));
    g_ptr_array_set_size(store->threads, 0);
}

static void
store_free(Store *store)
{
    g_ptr_array_unref(store->threads);
    g_async_queue_unref(store->queue);
    g_mutex_clear(&store->lock);
    g_cond_clear(&store->cond);
    g_clear_error(&store->start_error);
    g_free(store->settings.provider);
    g_free(store->settings.cnc);
    g_free(store->settings.username);
    g_free(store->settings.password_file);
    g_free(store);
}

Store *
store_open(const StoreSettings *settings, GError **error)
{
    g_autoptr(StoreConn) conn = NULL;
    Store *store;
    int workers = CLAMP(settings->workers, 1, 64);

    /* Migrate once, before any worker connects. */
    conn = store_conn_open(settings, error);
    if (conn == NULL)
        return NULL;
    if (!store_migrate(conn, error))
        return NULL;
    g_clear_pointer(&conn, store_conn_free);

    store = g_new0(Store, 1);
    store->settings.provider = g_strdup(settings->provider);
    store->settings.cnc = g_strdup(settings->cnc);
    store->settings.username = g_strdup(settings->username);
    store->settings.password_file = g_strdup(settings->password_file);
    store->settings.workers = workers;
    store->queue = g_async_queue_new();
    store->threads = g_ptr_array_new();
    g_mutex_init(&store->lock);
    g_cond_init(&store->cond);

    for (int i = 0; i < workers; i++) {
        g_autofree char *name = g_strdup_printf("pr-store-%d", i);
        g_autoptr(GError) local = NULL;
        GThread *thread = g_thread_try_new(name, worker_main, store, &local);

        if (thread == NULL) {
            g_mutex_lock(&store->lock);
            if (store->start_error == NULL)
                store->start_error = g_steal_pointer(&local);
            g_mutex_unlock(&store->lock);
            break;
        }
        g_ptr_array_add(store->threads, thread);
    }

    g_mutex_lock(&store->lock);
    while (store->started < store->threads->len)
        g_cond_wait(&store->cond, &store->lock);
    g_mutex_unlock(&store->lock);

    if (store->start_error != NULL) {
        g_propagate_error(error, g_steal_pointer(&store->start_error));
        stop_workers(store);
        store_free(store);
        return NULL;
    }
    return store;
}

void
store_close(Store *store)
{
    if (store == NULL)
        return;
    /* The quit markers queue behind every pending job: all of them run. */
    stop_workers(store);
    store_free(store);
}

void
store_run_async(Store *store, StoreJobFunc job, gpointer data, GDestroyNotify data_free,
                GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
    GTask *task;
    StoreJob *item;

    g_return_if_fail(store != NULL);
    g_return_if_fail(job != NULL);

    task = g_task_new(NULL, cancellable, callback, user_data);
    g_task_set_source_tag(task, store_run_async);
    /* Cancellation stops a job that has not started; a job that ran has
     * committed its work, so its result is delivered (and not leaked). */
    g_task_set_check_cancellable(task, FALSE);
    g_task_set_task_data(task, data, data_free);

    item = g_new0(StoreJob, 1);
    item->task = task;
    item->func = job;
    g_async_queue_push(store->queue, item);
}

gpointer
store_run_finish(Store *store, GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
    g_return_val_if_fail(g_task_get_source_tag(G_TASK(result)) == store_run_async, NULL);

    return g_task_propagate_pointer(G_TASK(result), error);
}

void
store_run_detached(Store *store, StoreWorkFunc work, gpointer data)
{
    g_return_if_fail(store != NULL);
    g_return_if_fail(work != NULL);

    StoreJob *item = g_new0(StoreJob, 1);
    item->work = work;
    item->data = data;
    g_async_queue_push(store->queue, item);
}
