/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include "host.h"
#include "store/store-ops.h"

/* The store functions of the public SDK (pr-store.h): each is one job on
 * the store's workers. */

struct _PrUser {
    gint64 id;
    char *name;
    char *full_name;
    gboolean enabled;
    gint64 max_outgoing_size;
    gint64 quota_bytes;
    gint64 used_bytes;
};

gint64
pr_user_get_id(const PrUser *user)
{
    g_return_val_if_fail(user != NULL, 0);
    return user->id;
}

const char *
pr_user_get_name(const PrUser *user)
{
    g_return_val_if_fail(user != NULL, NULL);
    return user->name;
}

const char *
pr_user_get_full_name(const PrUser *user)
{
    g_return_val_if_fail(user != NULL, NULL);
    return user->full_name;
}

gboolean
pr_user_is_enabled(const PrUser *user)
{
    g_return_val_if_fail(user != NULL, FALSE);
    return user->enabled;
}

gint64
pr_user_get_max_outgoing_size(const PrUser *user)
{
    g_return_val_if_fail(user != NULL, 0);
    return user->max_outgoing_size;
}

gint64
pr_user_get_quota(const PrUser *user)
{
    g_return_val_if_fail(user != NULL, 0);
    return user->quota_bytes;
}

gint64
pr_user_get_used_bytes(const PrUser *user)
{
    g_return_val_if_fail(user != NULL, 0);
    return user->used_bytes;
}

void
pr_user_free(PrUser *user)
{
    if (user == NULL)
        return;
    g_free(user->name);
    g_free(user->full_name);
    g_free(user);
}

PrUser *
store_user_to_pr(StoreUser *su)
{
    PrUser *user = g_new0(PrUser, 1);

    user->id = su->id;
    user->name = g_steal_pointer(&su->name);
    user->full_name = g_steal_pointer(&su->full_name);
    user->enabled = su->enabled;
    user->max_outgoing_size = su->max_outgoing_size;
    user->quota_bytes = su->quota_bytes;
    user->used_bytes = su->used_bytes;
    return user;
}

/* The task handed back to the module: its task data is the host. */
static GTask *
api_task_new(PrHost *host, GCancellable *cancellable, GAsyncReadyCallback callback,
             gpointer user_data, gpointer tag)
{
    GTask *task = g_task_new(NULL, cancellable, callback, user_data);

    g_task_set_source_tag(task, tag);
    g_task_set_check_cancellable(task, FALSE);
    g_task_set_task_data(task, host, NULL);
    return task;
}

static Store *
api_store(GTask *task)
{
    PrHost *host = g_task_get_task_data(task);
    Store *store = host != NULL ? host_get_store(host) : NULL;

    if (store == NULL) {
        g_task_return_new_error(task, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                                _("No store is configured."));
        g_object_unref(task);
    }
    return store;
}

/* ---------------------------------------------------------- lookup user */

static gpointer
lookup_user_job(StoreConn *conn, gpointer data, GError **error)
{
    g_autoptr(StoreUser) su = store_user_get(conn, data, error);

    return su != NULL ? store_user_to_pr(su) : NULL;
}

static void
lookup_user_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
    GTask *task = user_data;
    PrHost *host = g_task_get_task_data(task);
    GError *error = NULL;
    PrUser *user = store_run_finish(host_get_store(host), res, &error);

    if (user != NULL)
        g_task_return_pointer(task, user, (GDestroyNotify)pr_user_free);
    else if (error != NULL)
        g_task_return_error(task, error);
    else
        g_task_return_new_error(task, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND, "no such user");
    g_object_unref(task);
}

void
pr_store_lookup_user_async(PrHost *host, const char *name, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data)
{
    GTask *task;
    Store *store;

    g_return_if_fail(host != NULL);
    g_return_if_fail(name != NULL);

    task = api_task_new(host, cancellable, callback, user_data, pr_store_lookup_user_async);
    store = api_store(task);
    if (store == NULL)
        return;
    store_run_async(store, lookup_user_job, g_strdup(name), g_free, cancellable, lookup_user_done,
                    task);
}

PrUser *
pr_store_lookup_user_finish(PrHost *host, GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
    g_return_val_if_fail(g_task_get_source_tag(G_TASK(result)) == pr_store_lookup_user_async, NULL);
    return g_task_propagate_pointer(G_TASK(result), error);
}

/* ------------------------------------------------------------ module kv */

typedef struct {
    char *module;
    char *key;
    char *value;
} KvData;

static void
kv_data_free(gpointer p)
{
    KvData *d = p;

    g_free(d->module);
    g_free(d->key);
    g_free(d->value);
    g_free(d);
}

static KvData *
kv_data_new(PrModule *self, const char *key, const char *value)
{
    KvData *d = g_new0(KvData, 1);

    d->module = g_strdup(pr_module_get_name(self));
    d->key = g_strdup(key);
    d->value = g_strdup(value);
    return d;
}

static gpointer
module_get_job(StoreConn *conn, gpointer data, GError **error)
{
    KvData *d = data;

    return store_module_get(conn, d->module, d->key, error);
}

static void
module_get_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
    GTask *task = user_data;
    PrHost *host = g_task_get_task_data(task);
    GError *error = NULL;
    char *value = store_run_finish(host_get_store(host), res, &error);

    if (value != NULL)
        g_task_return_pointer(task, value, g_free);
    else if (error != NULL)
        g_task_return_error(task, error);
    else
        g_task_return_new_error(task, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND, "no such key");
    g_object_unref(task);
}

void
pr_store_module_get_async(PrHost *host, PrModule *self, const char *key, GCancellable *cancellable,
                          GAsyncReadyCallback callback, gpointer user_data)
{
    GTask *task;
    Store *store;

    g_return_if_fail(host != NULL);
    g_return_if_fail(self != NULL);
    g_return_if_fail(key != NULL);

    task = api_task_new(host, cancellable, callback, user_data, pr_store_module_get_async);
    store = api_store(task);
    if (store == NULL)
        return;
    store_run_async(store, module_get_job, kv_data_new(self, key, NULL), kv_data_free, cancellable,
                    module_get_done, task);
}

char *
pr_store_module_get_finish(PrHost *host, GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
    g_return_val_if_fail(g_task_get_source_tag(G_TASK(result)) == pr_store_module_get_async, NULL);
    return g_task_propagate_pointer(G_TASK(result), error);
}

static gpointer
module_set_job(StoreConn *conn, gpointer data, GError **error)
{
    KvData *d = data;

    /* Any non-NULL pointer means success. */
    return store_module_set(conn, d->module, d->key, d->value, error) ? GINT_TO_POINTER(1) : NULL;
}

static void
module_set_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
    GTask *task = user_data;
    PrHost *host = g_task_get_task_data(task);
    GError *error = NULL;

    if (store_run_finish(host_get_store(host), res, &error) != NULL)
        g_task_return_boolean(task, TRUE);
    else if (error != NULL)
        g_task_return_error(task, error);
    else
        g_task_return_new_error(task, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                                _("The value was not stored."));
    g_object_unref(task);
}

void
pr_store_module_set_async(PrHost *host, PrModule *self, const char *key, const char *value,
                          GCancellable *cancellable, GAsyncReadyCallback callback,
                          gpointer user_data)
{
    GTask *task;
    Store *store;

    g_return_if_fail(host != NULL);
    g_return_if_fail(self != NULL);
    g_return_if_fail(key != NULL);

    task = api_task_new(host, cancellable, callback, user_data, pr_store_module_set_async);
    store = api_store(task);
    if (store == NULL)
        return;
    store_run_async(store, module_set_job, kv_data_new(self, key, value), kv_data_free, cancellable,
                    module_set_done, task);
}

gboolean
pr_store_module_set_finish(PrHost *host, GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), FALSE);
    g_return_val_if_fail(g_task_get_source_tag(G_TASK(result)) == pr_store_module_set_async, FALSE);
    return g_task_propagate_boolean(G_TASK(result), error);
}
