/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "housekeeping.h"

#include "store/store-mail.h"
#include "store/store-ops.h"
#include "store/store-queue.h"

#define INTERVAL_SECONDS (6 * 3600)
/* Delivered and failed queue entries stay listed this long. */
#define QUEUE_KEEP_SECONDS (7 * 86400)

static guint timer_id;

static gpointer
purge_job(StoreConn *conn, gpointer data, GError **error)
{
    gint64 cutoff = *(gint64 *)data;
    gint64 n = store_login_audit_purge(conn, cutoff, error);
    return n < 0 ? NULL : g_memdup2(&n, sizeof n);
}

static void
purge_done(GObject *source, GAsyncResult *result, gpointer data)
{
    PrHost *host = data;
    g_autoptr(GError) error = NULL;
    g_autofree gint64 *n = store_run_finish(host->store, result, &error);
    if (error != NULL)
        g_warning("loginaudit purge failed: %s", error->message);
    else if (n != NULL && *n > 0)
        g_info("loginaudit: purged %" G_GINT64_FORMAT " old rows", *n);
}

static gpointer
sweep_job(StoreConn *conn, gpointer data, GError **error)
{
    /* An hour is far longer than any delivery takes between writing a
     * file and committing it. */
    gint64 n = store_spool_sweep(conn, data, g_get_real_time() / G_USEC_PER_SEC - 3600, error);
    return n < 0 ? NULL : g_memdup2(&n, sizeof n);
}

static void
sweep_done(GObject *source, GAsyncResult *result, gpointer data)
{
    PrHost *host = data;
    g_autoptr(GError) error = NULL;
    g_autofree gint64 *n = store_run_finish(host->store, result, &error);
    if (error != NULL)
        g_warning("spool sweep failed: %s", error->message);
    else if (n != NULL && *n > 0)
        g_info("spool: removed %" G_GINT64_FORMAT " files no message refers to", *n);
}

static gpointer
queue_purge_job(StoreConn *conn, gpointer data, GError **error)
{
    gint64 n =
        store_queue_purge(conn, g_get_real_time() / G_USEC_PER_SEC - QUEUE_KEEP_SECONDS, error);
    return n < 0 ? NULL : g_memdup2(&n, sizeof n);
}

static void
queue_purge_done(GObject *source, GAsyncResult *result, gpointer data)
{
    PrHost *host = data;
    g_autoptr(GError) error = NULL;
    g_autofree gint64 *n = store_run_finish(host->store, result, &error);
    if (error != NULL)
        g_warning("queue purge failed: %s", error->message);
    else if (n != NULL && *n > 0)
        g_info("queue: purged %" G_GINT64_FORMAT " finished entries", *n);
}

static gboolean
run(gpointer data)
{
    PrHost *host = data;
    gint64 *cutoff = g_new(gint64, 1);
    *cutoff = g_get_real_time() / G_USEC_PER_SEC - host->auth_policy.audit_days * 86400;
    store_run_async(host->store, purge_job, cutoff, g_free, NULL, purge_done, host);
    /* The sweep removes the files of messages this purge finds unused, at
     * the latest on its next run (jobs may run in parallel). */
    store_run_async(host->store, queue_purge_job, NULL, NULL, NULL, queue_purge_done, host);
    store_run_async(host->store, sweep_job, g_build_filename(host->data_dir, "spool", NULL), g_free,
                    NULL, sweep_done, host);
    return G_SOURCE_CONTINUE;
}

void
housekeeping_start(PrHost *host)
{
    run(host);
    timer_id = g_timeout_add_seconds(INTERVAL_SECONDS, run, host);
}

void
housekeeping_stop(void)
{
    g_clear_handle_id(&timer_id, g_source_remove);
}
