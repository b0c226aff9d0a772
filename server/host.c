/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "host.h"
#include "collector-api.h"
#include "delivery-service.h"

#include <glib/gi18n-lib.h>

#include "hooks.h"
#include "module-loader.h"
#include "protocol.h"

typedef struct {
    PrModule *owner;
    gconstpointer iface;
} ProvidedService;

PrHost *
host_new(Config *config)
{
    PrHost *host = g_new0(PrHost, 1);
    host->config = config_ref(config);
    const char *name = config_get_string(config, "server", "hostname");
    host->hostname = g_strdup(name != NULL && *name != '\0' ? name : g_get_host_name());
    host->data_dir = g_strdup(config_get_string(config, "server", "data_dir"));
    auth_policy_from_config(&host->auth_policy, config);
    host->modules = g_ptr_array_new();
    host->services = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    host->hooks =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_ptr_array_unref);
    host->protocols =
        g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)protocol_entry_free);
    host->services_listening = g_ptr_array_new();
    host->connections = g_hash_table_new_full(g_direct_hash, g_direct_equal,
                                              (GDestroyNotify)pr_connection_unref, NULL);
    host->conns_per_ip = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    return host;
}

void
host_free(PrHost *host)
{
    if (host == NULL)
        return;
    collector_api_forget_module(host, NULL);
    g_ptr_array_unref(host->modules);
    g_hash_table_unref(host->services);
    hooks_table_free(host->hooks);
    g_hash_table_unref(host->protocols);
    g_ptr_array_unref(host->services_listening);
    g_hash_table_unref(host->connections);
    g_hash_table_unref(host->conns_per_ip);
    g_clear_pointer(&host->recent_logins, g_hash_table_unref);
    config_unref(host->config);
    g_free(host->hostname);
    g_free(host->data_dir);
    g_free(host);
}

static gboolean
service_owned_by(gpointer key, gpointer value, gpointer module)
{
    return ((ProvidedService *)value)->owner == module;
}

void
host_forget_module(PrHost *host, PrModule *module)
{
    g_hash_table_foreach_remove(host->services, service_owned_by, module);
    hooks_forget_module(host, module);
    protocol_forget_module(host, module);
    if (host->delivery != NULL)
        delivery_service_forget_module(host->delivery, module);
    collector_api_forget_module(host, module);
}

Store *
host_get_store(PrHost *host)
{
    return host->store;
}

GTask *
host_store_task_new(PrHost *host, GCancellable *cancellable, GAsyncReadyCallback callback,
                    gpointer user_data, gpointer tag)
{
    GTask *task = g_task_new(NULL, cancellable, callback, user_data);
    g_task_set_source_tag(task, tag);
    g_task_set_check_cancellable(task, FALSE);
    g_task_set_task_data(task, host, NULL);
    if (host->store == NULL) {
        g_task_return_new_error(task, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                                _("No store is configured."));
        g_clear_object(&task);
    }
    return task;
}

/* Job results that are no pointers: a job returning NULL without an error
 * means "no result" to the store. */
static char yes_marker, no_marker;

gpointer
host_store_boolean(gboolean value)
{
    return value ? &yes_marker : &no_marker;
}

void
host_store_pointer_done(GAsyncResult *res, GTask *task, GDestroyNotify free_func)
{
    PrHost *host = g_task_get_task_data(task);
    GError *error = NULL;
    gpointer result = store_run_finish(host->store, res, &error);

    if (error != NULL)
        g_task_return_error(task, error);
    else
        g_task_return_pointer(task, result, free_func);
    g_object_unref(task);
}

void
host_store_boolean_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
    GTask *task = user_data;
    PrHost *host = g_task_get_task_data(task);
    GError *error = NULL;
    gpointer result = store_run_finish(host->store, res, &error);

    if (error != NULL)
        g_task_return_error(task, error);
    else
        g_task_return_boolean(task, result == &yes_marker);
    g_object_unref(task);
}

gboolean
host_store_boolean_finish(GAsyncResult *result, gpointer tag, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), FALSE);
    g_return_val_if_fail(g_task_get_source_tag(G_TASK(result)) == tag, FALSE);
    return g_task_propagate_boolean(G_TASK(result), error);
}

const char *
pr_host_get_hostname(PrHost *host)
{
    g_return_val_if_fail(host != NULL, NULL);
    return host->hostname;
}

const char *
pr_host_get_data_dir(PrHost *host)
{
    g_return_val_if_fail(host != NULL, NULL);
    return host->data_dir;
}

gboolean
pr_host_provide(PrHost *host, PrModule *self, const char *name, gconstpointer iface, GError **error)
{
    g_return_val_if_fail(host != NULL && self != NULL && name != NULL && iface != NULL, FALSE);

    ProvidedService *old = g_hash_table_lookup(host->services, name);
    if (old != NULL) {
        g_set_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_INVALID,
                    _("module %s provides service %s, which module %s already provides"),
                    self->name, name, old->owner->name);
        return FALSE;
    }
    ProvidedService *s = g_new0(ProvidedService, 1);
    s->owner = self;
    s->iface = iface;
    g_hash_table_insert(host->services, g_strdup(name), s);
    return TRUE;
}

gconstpointer
pr_host_lookup(PrHost *host, const char *name)
{
    g_return_val_if_fail(host != NULL && name != NULL, NULL);
    ProvidedService *s = g_hash_table_lookup(host->services, name);
    return s != NULL ? s->iface : NULL;
}

/* Settings, as modules read them: the module's own group unless named. */

const char *
pr_module_get_name(PrModule *self)
{
    g_return_val_if_fail(self != NULL, NULL);
    return self->name;
}

static Config *
module_config(PrModule *self)
{
    return self->host != NULL ? self->host->config : NULL;
}

const char *
pr_module_get_string(PrModule *self, const char *group, const char *key)
{
    g_return_val_if_fail(self != NULL && module_config(self) != NULL && key != NULL, NULL);
    return config_get_string(module_config(self), group != NULL ? group : self->name, key);
}

gint64
pr_module_get_int(PrModule *self, const char *group, const char *key)
{
    g_return_val_if_fail(self != NULL && module_config(self) != NULL && key != NULL, 0);
    return config_get_int(module_config(self), group != NULL ? group : self->name, key);
}

gboolean
pr_module_get_bool(PrModule *self, const char *group, const char *key)
{
    g_return_val_if_fail(self != NULL && module_config(self) != NULL && key != NULL, FALSE);
    return config_get_bool(module_config(self), group != NULL ? group : self->name, key);
}

char **
pr_module_get_strv(PrModule *self, const char *group, const char *key)
{
    g_return_val_if_fail(self != NULL && module_config(self) != NULL && key != NULL, NULL);
    return config_get_strv(module_config(self), group != NULL ? group : self->name, key);
}
