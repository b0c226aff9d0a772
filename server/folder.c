/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "host.h"
#include "store/spool.h"
#include "store/store-folders.h"

/* The folder functions of the SDK (pr-folder.h): each is one job on a
 * store worker (store-folders.c does the SQL); spool files are written
 * before and removed after the transaction, on the worker too. */

void
pr_folder_info_free(PrFolderInfo *info)
{
    if (info == NULL)
        return;
    g_free(info->name);
    g_free(info->special_use);
    g_free(info->rights);
    g_free(info);
}

static char *
spool_dir_of(PrHost *host)
{
    return g_build_filename(host->data_dir, "spool", NULL);
}

/* ---- list ---- */

static gpointer
list_job(StoreConn *c, gpointer data, GError **error)
{
    return store_folder_list(c, data, error);
}

static void
list_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
    host_store_pointer_done(res, user_data, (GDestroyNotify)g_ptr_array_unref);
}

void
pr_folder_list_async(PrHost *host, const char *user, GAsyncReadyCallback callback,
                     gpointer user_data)
{
    g_return_if_fail(host != NULL && user != NULL);

    GTask *task = host_store_task_new(host, NULL, callback, user_data, pr_folder_list_async);
    if (task == NULL)
        return;
    store_run_async(host->store, list_job, g_strdup(user), g_free, NULL, list_done, task);
}

GPtrArray *
pr_folder_list_finish(PrHost *host, GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
    g_return_val_if_fail(g_task_get_source_tag(G_TASK(result)) == pr_folder_list_async, NULL);
    return g_task_propagate_pointer(G_TASK(result), error);
}

/* ---- change ---- */

typedef struct {
    PrHost *host;
    char *user, *name, *new_name;
    PrFolderOp op;
    gint64 changed_id; /* a folder whose messages changed, or 0 */
} ChangeJob;

static void
change_job_free(gpointer p)
{
    ChangeJob *j = p;
    g_free(j->user);
    g_free(j->name);
    g_free(j->new_name);
    g_free(j);
}

static void
unlink_spool_files(PrHost *host, GPtrArray *paths)
{
    g_autofree char *dir = spool_dir_of(host);

    for (guint i = 0; i < paths->len; i++) {
        g_autofree char *path = g_build_filename(dir, paths->pdata[i], NULL);
        if (g_unlink(path) != 0 && errno != ENOENT)
            g_warning(_("cannot remove %s: %s"), path, g_strerror(errno));
    }
}

static gpointer
change_job(StoreConn *c, gpointer data, GError **error)
{
    ChangeJob *j = data;
    gboolean ok = FALSE;

    switch (j->op) {
    case PR_FOLDER_CREATE:
        ok = store_folder_create(c, j->user, j->name, error);
        break;
    case PR_FOLDER_DELETE: {
        g_autoptr(GPtrArray) unused = g_ptr_array_new_with_free_func(g_free);
        ok = store_folder_delete(c, j->user, j->name, unused, &j->changed_id, error);
        /* After the commit: a crash here leaves files no row refers to
         * (the spool sweep's), never rows without files. */
        if (ok)
            unlink_spool_files(j->host, unused);
        break;
    }
    case PR_FOLDER_RENAME:
        if (j->new_name == NULL) {
            g_set_error_literal(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                                _("A new name is needed."));
            return NULL;
        }
        ok = store_folder_rename(c, j->user, j->name, j->new_name, &j->changed_id, error);
        break;
    case PR_FOLDER_SUBSCRIBE:
    case PR_FOLDER_UNSUBSCRIBE:
        ok = store_folder_subscribe(c, j->user, j->name, j->op == PR_FOLDER_SUBSCRIBE, error);
        break;
    default:
        g_set_error_literal(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                            _("Unknown folder operation."));
        return NULL;
    }
    if (ok && j->changed_id != 0)
        host_mailbox_changed(j->host, j->changed_id);
    return ok ? host_store_boolean(TRUE) : NULL;
}

void
pr_folder_change_async(PrHost *host, const char *user, PrFolderOp op, const char *name,
                       const char *new_name, GAsyncReadyCallback callback, gpointer user_data)
{
    g_return_if_fail(host != NULL && user != NULL && name != NULL);

    GTask *task = host_store_task_new(host, NULL, callback, user_data, pr_folder_change_async);
    if (task == NULL)
        return;
    ChangeJob *j = g_new0(ChangeJob, 1);
    j->host = host;
    j->user = g_strdup(user);
    j->name = g_strdup(name);
    j->new_name = g_strdup(new_name);
    j->op = op;
    store_run_async(host->store, change_job, j, change_job_free, NULL, host_store_boolean_done,
                    task);
}

gboolean
pr_folder_change_finish(PrHost *host, GAsyncResult *result, GError **error)
{
    return host_store_boolean_finish(result, pr_folder_change_async, error);
}

/* ---- status ---- */

typedef struct {
    char *user, *name;
} StatusJob;

static void
status_job_free(gpointer p)
{
    StatusJob *j = p;
    g_free(j->user);
    g_free(j->name);
    g_free(j);
}

static gpointer
status_job(StoreConn *c, gpointer data, GError **error)
{
    StatusJob *j = data;
    PrFolderStatus *status = g_new0(PrFolderStatus, 1);

    if (!store_folder_status(c, j->user, j->name, status, error)) {
        g_free(status);
        return NULL;
    }
    return status;
}

static void
status_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
    host_store_pointer_done(res, user_data, g_free);
}

void
pr_folder_status_async(PrHost *host, const char *user, const char *name,
                       GAsyncReadyCallback callback, gpointer user_data)
{
    g_return_if_fail(host != NULL && user != NULL && name != NULL);

    GTask *task = host_store_task_new(host, NULL, callback, user_data, pr_folder_status_async);
    if (task == NULL)
        return;
    StatusJob *j = g_new0(StatusJob, 1);
    j->user = g_strdup(user);
    j->name = g_strdup(name);
    store_run_async(host->store, status_job, j, status_job_free, NULL, status_done, task);
}

gboolean
pr_folder_status_finish(PrHost *host, GAsyncResult *result, PrFolderStatus *status, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), FALSE);
    g_return_val_if_fail(g_task_get_source_tag(G_TASK(result)) == pr_folder_status_async, FALSE);
    g_return_val_if_fail(status != NULL, FALSE);

    g_autofree PrFolderStatus *s = g_task_propagate_pointer(G_TASK(result), error);
    if (s == NULL)
        return FALSE;
    *status = *s;
    return TRUE;
}

/* ---- append ---- */

typedef struct {
    PrHost *host;
    char *user, *name, *flags;
    GBytes *message;
    gint64 internal_date;
} AppendJob;

typedef struct {
    guint32 uidvalidity;
    guint32 uid;
} AppendResult;

static void
append_job_free(gpointer p)
{
    AppendJob *j = p;
    g_free(j->user);
    g_free(j->name);
    g_free(j->flags);
    g_bytes_unref(j->message);
    g_free(j);
}

static gpointer
append_job(StoreConn *c, gpointer data, GError **error)
{
    AppendJob *j = data;
    g_autofree char *dir = spool_dir_of(j->host);
    gsize len;
    const void *bytes = g_bytes_get_data(j->message, &len);
    g_autoptr(GError) local = NULL;

    /* Durable before any row names it (spool.h). */
    g_autofree char *path = spool_write(dir, bytes, len, &local);
    if (path == NULL) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_IO,
                    _("The message cannot be written to the spool: %s"), local->message);
        return NULL;
    }
    StoreAppend message = { path, (gint64)len, j->flags, j->internal_date };
    AppendResult *r = g_new0(AppendResult, 1);
    gint64 folder_id =
        store_folder_append(c, j->user, j->name, &message, &r->uidvalidity, &r->uid, error);
    if (folder_id == 0) {
        g_autofree char *full = g_build_filename(dir, path, NULL);
        if (g_unlink(full) != 0 && errno != ENOENT)
            g_warning(_("cannot remove %s: %s"), full, g_strerror(errno));
        g_free(r);
        return NULL;
    }
    host_mailbox_changed(j->host, folder_id);
    return r;
}

static void
append_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
    host_store_pointer_done(res, user_data, g_free);
}

void
pr_folder_append_async(PrHost *host, const char *user, const char *name, GBytes *message,
                       const char *flags, gint64 internal_date, GAsyncReadyCallback callback,
                       gpointer user_data)
{
    g_return_if_fail(host != NULL && user != NULL && name != NULL && message != NULL);

    GTask *task = host_store_task_new(host, NULL, callback, user_data, pr_folder_append_async);
    if (task == NULL)
        return;
    AppendJob *j = g_new0(AppendJob, 1);
    j->host = host;
    j->user = g_strdup(user);
    j->name = g_strdup(name);
    j->flags = g_strdup(flags);
    j->message = g_bytes_ref(message);
    j->internal_date = internal_date;
    store_run_async(host->store, append_job, j, append_job_free, NULL, append_done, task);
}

gboolean
pr_folder_append_finish(PrHost *host, GAsyncResult *result, guint32 *uidvalidity, guint32 *uid,
                        GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), FALSE);
    g_return_val_if_fail(g_task_get_source_tag(G_TASK(result)) == pr_folder_append_async, FALSE);

    g_autofree AppendResult *r = g_task_propagate_pointer(G_TASK(result), error);
    if (r == NULL)
        return FALSE;
    if (uidvalidity != NULL)
        *uidvalidity = r->uidvalidity;
    if (uid != NULL)
        *uid = r->uid;
    return TRUE;
}
