/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <postroom/pr-queue.h>

#include "host.h"
#include "store/store-queue.h"

/* The outbound queue for sender modules (pr-queue.h): claims, message
 * reads and outcomes, each one job on the store's workers. An instance
 * claims under its host name, the name mailbox locks use too. */

/* What a module sees, and the store row whose strings it points into. */
typedef struct {
    PrQueueEntry public;
    StoreQueueEntry *row;
} QueueEntry;

static void
queue_entry_free(gpointer p)
{
    QueueEntry *e = p;
    store_queue_entry_free(e->row);
    g_free(e);
}

static QueueEntry *
queue_entry_new(StoreQueueEntry *row)
{
    QueueEntry *e = g_new0(QueueEntry, 1);
    e->row = row;
    e->public.id = row->id;
    e->public.message_id = row->message_id;
    e->public.sender = row->sender;
    e->public.recipient = row->recipient;
    e->public.notify = row->notify;
    e->public.orcpt = row->orcpt;
    e->public.ret = row->ret;
    e->public.envid = row->envid;
    e->public.priority = row->priority;
    e->public.attempts = row->attempts;
    e->public.created = row->created;
    e->public.warned = row->warned;
    e->public.last_error = row->last_error;
    e->public.size = row->size;
    return e;
}

static void
job_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
    host_store_pointer_done(res, user_data, (GDestroyNotify)g_ptr_array_unref);
}

/* ---- claims ---- */

typedef struct {
    char *instance;
    guint max;
    guint lease;
} ClaimJob;

static void
claim_job_free(gpointer p)
{
    ClaimJob *j = p;
    g_free(j->instance);
    g_free(j);
}

static gpointer
claim_job(StoreConn *c, gpointer data, GError **error)
{
    ClaimJob *j = data;
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    g_autoptr(GPtrArray) rows =
        store_queue_claim(c, j->instance, j->max, now, now + j->lease, error);
    if (rows == NULL)
        return NULL;
    GPtrArray *entries = g_ptr_array_new_full(rows->len, queue_entry_free);
    /* The rows move into the entries. */
    g_ptr_array_set_free_func(rows, NULL);
    for (guint i = 0; i < rows->len; i++)
        g_ptr_array_add(entries, queue_entry_new(rows->pdata[i]));
    return entries;
}

void
pr_queue_claim_async(PrHost *host, guint max, guint lease_seconds, GCancellable *cancellable,
                     GAsyncReadyCallback callback, gpointer user_data)
{
    g_return_if_fail(host != NULL && max > 0);
    GTask *task = host_store_task_new(host, cancellable, callback, user_data, pr_queue_claim_async);
    if (task == NULL)
        return;
    ClaimJob *j = g_new0(ClaimJob, 1);
    j->instance = g_strdup(host->hostname);
    j->max = max;
    j->lease = MAX(lease_seconds, 1);
    store_run_async(host->store, claim_job, j, claim_job_free, NULL, job_done, task);
}

GPtrArray *
pr_queue_claim_finish(PrHost *host, GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
    g_return_val_if_fail(g_task_get_source_tag(G_TASK(result)) == pr_queue_claim_async, NULL);
    (void)host;
    return g_task_propagate_pointer(G_TASK(result), error);
}

/* ---- message reads ---- */

static void
read_in_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
    GError *error = NULL;
    char *contents = NULL;
    gsize len = 0;
    if (g_file_get_contents(data, &contents, &len, &error))
        g_task_return_pointer(task, g_bytes_new_take(contents, len), (GDestroyNotify)g_bytes_unref);
    else
        g_task_return_error(task, error);
}

void
pr_queue_read_message_async(PrHost *host, const PrQueueEntry *entry, GCancellable *cancellable,
                            GAsyncReadyCallback callback, gpointer user_data)
{
    g_return_if_fail(host != NULL && entry != NULL);
    const QueueEntry *e = (const QueueEntry *)entry;
    GTask *task = g_task_new(NULL, cancellable, callback, user_data);
    g_task_set_source_tag(task, pr_queue_read_message_async);
    g_task_set_task_data(task, g_build_filename(host->data_dir, "spool", e->row->spool_path, NULL),
                         g_free);
    /* File reads stay off the main loop. */
    g_task_run_in_thread(task, read_in_thread);
    g_object_unref(task);
}

GBytes *
pr_queue_read_message_finish(PrHost *host, GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
    g_return_val_if_fail(g_task_get_source_tag(G_TASK(result)) == pr_queue_read_message_async,
                         NULL);
    (void)host;
    return g_task_propagate_pointer(G_TASK(result), error);
}

/* ---- outcomes ---- */

typedef struct {
    char *instance;
    char *spool_dir;
    gint64 id;
    StoreQueueOutcome outcome;
    gint64 next_try;
    char *reply;
} OutcomeJob;

static void
outcome_job_free(gpointer p)
{
    OutcomeJob *j = p;
    g_free(j->instance);
    g_free(j->spool_dir);
    g_free(j->reply);
    g_free(j);
}

static gpointer
outcome_job(StoreConn *c, gpointer data, GError **error)
{
    OutcomeJob *j = data;
    g_autoptr(GPtrArray) unused = g_ptr_array_new_with_free_func(g_free);
    if (!store_queue_set_outcome(c, j->id, j->instance, j->outcome,
                                 g_get_real_time() / G_USEC_PER_SEC, j->next_try, j->reply, unused,
                                 error))
        return NULL;
    /* After the commit: a crash before this leaves an orphan for the
     * spool sweep, never a row without its file. */
    for (guint i = 0; i < unused->len; i++) {
        g_autofree char *path = g_build_filename(j->spool_dir, unused->pdata[i], NULL);
        g_unlink(path);
    }
    return g_ptr_array_new();
}

void
pr_queue_set_outcome_async(PrHost *host, gint64 entry_id, PrQueueOutcome outcome, gint64 next_try,
                           const char *reply, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
    g_return_if_fail(host != NULL);
    g_return_if_fail(outcome <= PR_QUEUE_RELEASE);
    GTask *task =
        host_store_task_new(host, cancellable, callback, user_data, pr_queue_set_outcome_async);
    if (task == NULL)
        return;
    static const StoreQueueOutcome outcomes[] = {
        [PR_QUEUE_DELIVERED] = STORE_QUEUE_DELIVERED,
        [PR_QUEUE_DEFERRED] = STORE_QUEUE_DEFERRED,
        [PR_QUEUE_DEFERRED_WARNED] = STORE_QUEUE_DEFERRED_WARNED,
        [PR_QUEUE_FAILED] = STORE_QUEUE_FAILED,
        [PR_QUEUE_RELEASE] = STORE_QUEUE_RELEASE,
    };
    OutcomeJob *j = g_new0(OutcomeJob, 1);
    j->instance = g_strdup(host->hostname);
    j->spool_dir = g_build_filename(host->data_dir, "spool", NULL);
    j->id = entry_id;
    j->outcome = outcomes[outcome];
    j->next_try = next_try;
    j->reply = g_strdup(reply);
    store_run_async(host->store, outcome_job, j, outcome_job_free, NULL, job_done, task);
}

gboolean
pr_queue_set_outcome_finish(PrHost *host, GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), FALSE);
    g_return_val_if_fail(g_task_get_source_tag(G_TASK(result)) == pr_queue_set_outcome_async,
                         FALSE);
    (void)host;
    g_autoptr(GPtrArray) done = g_task_propagate_pointer(G_TASK(result), error);
    return done != NULL;
}
