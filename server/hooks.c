/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "hooks.h"

/* Named hook chains. The host runs the chain (OpenLDAP's continue/stop
 * model) so modules never chain to each other by hand; a handler may also
 * go asynchronous and resume the chain later. Handlers are only removed
 * when their module is deinitialised, at shutdown, when no chain runs. */

typedef struct {
    PrModule *owner;
    PrHookFunc func;
    int priority;
    gpointer user_data;
    GDestroyNotify destroy;
} HookHandler;

struct _PrHookContext {
    gatomicrefcount ref;
    char *hook_name;
    GHashTable *values;
    char *reply;
    GPtrArray *handlers; /* snapshot taken when the run starts */
    guint next;
    PrHookDoneFunc done;
    gpointer done_data;
    gboolean in_handler;
    gboolean waiting;
    PrHookResult early_result; /* resume() called before the handler returned */
    gboolean resumed_early;
};

static void
hook_handler_free(HookHandler *h)
{
    if (h->destroy != NULL)
        h->destroy(h->user_data);
    g_free(h);
}

void
hooks_table_free(GHashTable *hooks)
{
    g_hash_table_unref(hooks);
}

static GPtrArray *
chain_for(PrHost *host, const char *name, gboolean create)
{
    GPtrArray *chain = g_hash_table_lookup(host->hooks, name);
    if (chain == NULL && create) {
        chain = g_ptr_array_new_with_free_func((GDestroyNotify)hook_handler_free);
        g_hash_table_insert(host->hooks, g_strdup(name), chain);
    }
    return chain;
}

gboolean
hooks_has_handlers(PrHost *host, const char *hook_name)
{
    GPtrArray *chain = chain_for(host, hook_name, FALSE);
    return chain != NULL && chain->len > 0;
}

void
pr_host_connect_hook(PrHost *host, PrModule *self, const char *hook_name, PrHookFunc func,
                     int priority, gpointer user_data, GDestroyNotify destroy)
{
    g_return_if_fail(host != NULL && self != NULL && hook_name != NULL && func != NULL);

    HookHandler *h = g_new0(HookHandler, 1);
    h->owner = self;
    h->func = func;
    h->priority = priority;
    h->user_data = user_data;
    h->destroy = destroy;

    /* Insert after every handler of lower or equal priority: stable order. */
    GPtrArray *chain = chain_for(host, hook_name, TRUE);
    guint pos = chain->len;
    while (pos > 0 && ((HookHandler *)chain->pdata[pos - 1])->priority > priority)
        pos--;
    g_ptr_array_insert(chain, pos, h);
}

void
hooks_forget_module(PrHost *host, PrModule *module)
{
    GHashTableIter it;
    gpointer value;
    g_hash_table_iter_init(&it, host->hooks);
    while (g_hash_table_iter_next(&it, NULL, &value)) {
        GPtrArray *chain = value;
        for (guint i = chain->len; i > 0; i--) {
            if (((HookHandler *)chain->pdata[i - 1])->owner == module)
                g_ptr_array_remove_index(chain, i - 1);
        }
    }
}

PrHookContext *
pr_hook_context_new(const char *hook_name)
{
    g_return_val_if_fail(hook_name != NULL, NULL);
    PrHookContext *ctx = g_new0(PrHookContext, 1);
    g_atomic_ref_count_init(&ctx->ref);
    ctx->hook_name = g_strdup(hook_name);
    ctx->values = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    return ctx;
}

PrHookContext *
pr_hook_context_ref(PrHookContext *ctx)
{
    g_return_val_if_fail(ctx != NULL, NULL);
    g_atomic_ref_count_inc(&ctx->ref);
    return ctx;
}

void
pr_hook_context_unref(PrHookContext *ctx)
{
    if (ctx == NULL || !g_atomic_ref_count_dec(&ctx->ref))
        return;
    g_free(ctx->hook_name);
    g_hash_table_unref(ctx->values);
    g_free(ctx->reply);
    g_clear_pointer(&ctx->handlers, g_ptr_array_unref);
    g_free(ctx);
}

void
pr_hook_context_set(PrHookContext *ctx, const char *name, const char *value)
{
    g_return_if_fail(ctx != NULL && name != NULL);
    if (value == NULL)
        g_hash_table_remove(ctx->values, name);
    else
        g_hash_table_insert(ctx->values, g_strdup(name), g_strdup(value));
}

const char *
pr_hook_context_get(PrHookContext *ctx, const char *name)
{
    g_return_val_if_fail(ctx != NULL && name != NULL, NULL);
    return g_hash_table_lookup(ctx->values, name);
}

void
pr_hook_context_set_reply(PrHookContext *ctx, const char *reply)
{
    g_return_if_fail(ctx != NULL);
    g_free(ctx->reply);
    ctx->reply = g_strdup(reply);
}

const char *
pr_hook_context_get_reply(PrHookContext *ctx)
{
    g_return_val_if_fail(ctx != NULL, NULL);
    return ctx->reply;
}

static void
hook_finish(PrHookContext *ctx, gboolean stopped)
{
    PrHookDoneFunc done = ctx->done;
    ctx->done = NULL;
    if (done != NULL)
        done(ctx, stopped, ctx->done_data);
    pr_hook_context_unref(ctx); /* the reference the run held */
}

static void
hook_continue(PrHookContext *ctx)
{
    while (ctx->next < ctx->handlers->len) {
        HookHandler *h = ctx->handlers->pdata[ctx->next++];
        ctx->in_handler = TRUE;
        ctx->resumed_early = FALSE;
        PrHookResult r = h->func(ctx, h->user_data);
        ctx->in_handler = FALSE;
        if (r == PR_HOOK_ASYNC) {
            if (!ctx->resumed_early) {
                ctx->waiting = TRUE;
                return;
            }
            r = ctx->early_result;
        }
        if (r == PR_HOOK_STOP) {
            hook_finish(ctx, TRUE);
            return;
        }
    }
    hook_finish(ctx, FALSE);
}

void
pr_hook_context_resume(PrHookContext *ctx, PrHookResult result)
{
    g_return_if_fail(ctx != NULL && result != PR_HOOK_ASYNC);
    if (ctx->in_handler) {
        ctx->resumed_early = TRUE;
        ctx->early_result = result;
        return;
    }
    g_return_if_fail(ctx->waiting);
    ctx->waiting = FALSE;
    if (result == PR_HOOK_STOP)
        hook_finish(ctx, TRUE);
    else
        hook_continue(ctx);
}

void
pr_host_run_hook(PrHost *host, PrHookContext *ctx, PrHookDoneFunc done, gpointer user_data)
{
    g_return_if_fail(host != NULL && ctx != NULL && ctx->done == NULL);

    GPtrArray *chain = chain_for(host, ctx->hook_name, FALSE);
    g_clear_pointer(&ctx->handlers, g_ptr_array_unref);
    ctx->handlers = g_ptr_array_new();
    for (guint i = 0; chain != NULL && i < chain->len; i++)
        g_ptr_array_add(ctx->handlers, chain->pdata[i]);
    ctx->next = 0;
    ctx->done = done;
    ctx->done_data = user_data;
    pr_hook_context_ref(ctx);
    hook_continue(ctx);
}
