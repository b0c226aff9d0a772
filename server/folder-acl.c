/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "host.h"
#include "store/store-folder-acl.h"

/* The access control list functions of the SDK (pr-folder.h, RFC 4314
 * MYRIGHTS, GETACL, SETACL, DELETEACL): each is one job on a store worker;
 * store-folder-acl.c decides and does the SQL. */

void
pr_folder_acl_entry_free(PrFolderAclEntry *entry)
{
    if (entry == NULL)
        return;
    g_free(entry->identifier);
    g_free(entry->rights);
    g_free(entry);
}

typedef struct {
    char *user, *name, *identifier, *rights;
} AclJob;

static void
acl_job_free(gpointer p)
{
    AclJob *j = p;
    g_free(j->user);
    g_free(j->name);
    g_free(j->identifier);
    g_free(j->rights);
    g_free(j);
}

static AclJob *
acl_job_new(const char *user, const char *name)
{
    AclJob *j = g_new0(AclJob, 1);
    j->user = g_strdup(user);
    j->name = g_strdup(name);
    return j;
}

/* ---- rights (MYRIGHTS) ---- */

static gpointer
rights_job(StoreConn *c, gpointer data, GError **error)
{
    AclJob *j = data;
    return store_folder_rights(c, j->user, j->name, error);
}

static void
rights_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
    host_store_pointer_done(res, user_data, g_free);
}

void
pr_folder_rights_async(PrHost *host, const char *user, const char *name,
                       GAsyncReadyCallback callback, gpointer user_data)
{
    g_return_if_fail(host != NULL && user != NULL && name != NULL);

    GTask *task = host_store_task_new(host, NULL, callback, user_data, pr_folder_rights_async);
    if (task == NULL)
        return;
    store_run_async(host->store, rights_job, acl_job_new(user, name), acl_job_free, NULL,
                    rights_done, task);
}

char *
pr_folder_rights_finish(PrHost *host, GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
    g_return_val_if_fail(g_task_get_source_tag(G_TASK(result)) == pr_folder_rights_async, NULL);
    return g_task_propagate_pointer(G_TASK(result), error);
}

/* ---- get (GETACL) ---- */

static gpointer
get_acl_job(StoreConn *c, gpointer data, GError **error)
{
    AclJob *j = data;
    return store_folder_get_acl(c, j->user, j->name, error);
}

static void
get_acl_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
    host_store_pointer_done(res, user_data, (GDestroyNotify)g_ptr_array_unref);
}

void
pr_folder_get_acl_async(PrHost *host, const char *user, const char *name,
                        GAsyncReadyCallback callback, gpointer user_data)
{
    g_return_if_fail(host != NULL && user != NULL && name != NULL);

    GTask *task = host_store_task_new(host, NULL, callback, user_data, pr_folder_get_acl_async);
    if (task == NULL)
        return;
    store_run_async(host->store, get_acl_job, acl_job_new(user, name), acl_job_free, NULL,
                    get_acl_done, task);
}

GPtrArray *
pr_folder_get_acl_finish(PrHost *host, GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
    g_return_val_if_fail(g_task_get_source_tag(G_TASK(result)) == pr_folder_get_acl_async, NULL);
    return g_task_propagate_pointer(G_TASK(result), error);
}

/* ---- set (SETACL, DELETEACL) ---- */

static gpointer
set_acl_job(StoreConn *c, gpointer data, GError **error)
{
    AclJob *j = data;
    if (!store_folder_set_acl(c, j->user, j->name, j->identifier, j->rights, error))
        return NULL;
    return host_store_boolean(TRUE);
}

void
pr_folder_set_acl_async(PrHost *host, const char *user, const char *name, const char *identifier,
                        const char *rights, GAsyncReadyCallback callback, gpointer user_data)
{
    g_return_if_fail(host != NULL && user != NULL && name != NULL && identifier != NULL);

    GTask *task = host_store_task_new(host, NULL, callback, user_data, pr_folder_set_acl_async);
    if (task == NULL)
        return;
    AclJob *j = acl_job_new(user, name);
    j->identifier = g_strdup(identifier);
    j->rights = g_strdup(rights);
    store_run_async(host->store, set_acl_job, j, acl_job_free, NULL, host_store_boolean_done, task);
}

gboolean
pr_folder_set_acl_finish(PrHost *host, GAsyncResult *result, GError **error)
{
    return host_store_boolean_finish(result, pr_folder_set_acl_async, error);
}
