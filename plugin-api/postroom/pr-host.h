/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <postroom/pr-module.h>

G_BEGIN_DECLS

/**
 * SECTION:pr-host
 * @title: Host services
 *
 * What the host offers every module: facts about the server, a registry
 * through which modules publish interfaces to each other (modules never link
 * to each other's symbols), and named hooks.
 */

/**
 * pr_host_get_hostname:
 * @host: the host
 *
 * Returns: (transfer none): the server's mail host name (`[server] hostname`,
 *   or the machine's name)
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
const char *pr_host_get_hostname(PrHost *host);

/**
 * pr_host_get_data_dir:
 * @host: the host
 *
 * Returns: (transfer none): the data directory (`[server] data_dir`); a
 *   module keeps its own files in a subdirectory named after itself
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
const char *pr_host_get_data_dir(PrHost *host);

/**
 * pr_host_provide:
 * @host: the host
 * @self: the providing module
 * @name: service name, e.g. "quota"
 * @iface: an interface table owned by the module; it should begin with a
 *   `guint32 struct_size` so consumers can tell its version
 * @error: return location for a #GError
 *
 * Publishes @iface under @name until @self is deinitialised.
 *
 * Returns: %FALSE if @name is already provided by another module
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_host_provide(PrHost *host, PrModule *self, const char *name, gconstpointer iface,
                         GError **error);

/**
 * pr_host_lookup:
 * @host: the host
 * @name: service name
 *
 * Returns: (transfer none) (nullable): the interface published under @name
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gconstpointer pr_host_lookup(PrHost *host, const char *name);

/**
 * PR_HOOK_CONNECT:
 *
 * Run by the host for every accepted connection of every service, before
 * the greeting. Values: "service", "peer-ip". A handler that stops the chain
 * sets a reply line, which is sent before the connection is closed.
 */
#define PR_HOOK_CONNECT "connect"

/**
 * PrHookResult:
 * @PR_HOOK_CONTINUE: go on with the next handler
 * @PR_HOOK_STOP: end the chain; the handler has set a reply
 * @PR_HOOK_ASYNC: the handler will call pr_hook_context_resume() later
 */
typedef enum {
    PR_HOOK_CONTINUE,
    PR_HOOK_STOP,
    PR_HOOK_ASYNC,
} PrHookResult;

/**
 * PR_HOOK_PRIORITY_EARLY:
 *
 * Priorities order handlers: lower runs first.
 */
#define PR_HOOK_PRIORITY_EARLY -100
/**
 * PR_HOOK_PRIORITY_DEFAULT:
 *
 * The usual priority.
 */
#define PR_HOOK_PRIORITY_DEFAULT 0
/**
 * PR_HOOK_PRIORITY_LATE:
 *
 * For handlers that want to see the others' verdicts first.
 */
#define PR_HOOK_PRIORITY_LATE 100

/**
 * PrHookContext:
 *
 * One run of a hook chain: named string values, a reply, and the verdict.
 * Opaque and reference counted.
 */
typedef struct _PrHookContext PrHookContext;

/**
 * PrHookFunc:
 * @ctx: the run
 * @user_data: data given to pr_host_connect_hook()
 *
 * Returns: what the chain should do next
 */
typedef PrHookResult (*PrHookFunc)(PrHookContext *ctx, gpointer user_data);

/**
 * PrHookDoneFunc:
 * @ctx: the finished run; pr_hook_context_get_reply() has the reply of a
 *   handler that stopped the chain
 * @stopped: %TRUE if a handler returned %PR_HOOK_STOP
 * @user_data: data given to pr_host_run_hook()
 */
typedef void (*PrHookDoneFunc)(PrHookContext *ctx, gboolean stopped, gpointer user_data);

/**
 * pr_host_connect_hook:
 * @host: the host
 * @self: the module that owns the handler
 * @hook_name: e.g. %PR_HOOK_CONNECT or a name another module documents
 * @func: the handler
 * @priority: lower runs first; equal priorities run in registration order
 * @user_data: passed to @func
 * @destroy: (nullable): frees @user_data when the handler is dropped
 *
 * Adds a handler to a named hook chain. The host drops it after @self's
 * deinit.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_host_connect_hook(PrHost *host, PrModule *self, const char *hook_name, PrHookFunc func,
                          int priority, gpointer user_data, GDestroyNotify destroy);

/**
 * pr_hook_context_new:
 * @hook_name: the hook to run
 *
 * Returns: (transfer full): a new context to fill with values and run
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
PrHookContext *pr_hook_context_new(const char *hook_name);

/**
 * pr_hook_context_ref:
 * @ctx: a context
 *
 * Returns: (transfer full): @ctx
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
PrHookContext *pr_hook_context_ref(PrHookContext *ctx);

/**
 * pr_hook_context_unref:
 * @ctx: (transfer full): a context
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_hook_context_unref(PrHookContext *ctx);

/**
 * pr_hook_context_set:
 * @ctx: a context
 * @name: value name
 * @value: (nullable): the value, copied
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_hook_context_set(PrHookContext *ctx, const char *name, const char *value);

/**
 * pr_hook_context_get:
 * @ctx: a context
 * @name: value name
 *
 * Returns: (transfer none) (nullable): the value
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
const char *pr_hook_context_get(PrHookContext *ctx, const char *name);

/**
 * pr_hook_context_set_reply:
 * @ctx: a context
 * @reply: the protocol line to send (without CRLF), e.g. "550 5.7.1 Rejected"
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_hook_context_set_reply(PrHookContext *ctx, const char *reply);

/**
 * pr_hook_context_get_reply:
 * @ctx: a context
 *
 * Returns: (transfer none) (nullable): the reply set by a handler
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
const char *pr_hook_context_get_reply(PrHookContext *ctx);

/**
 * pr_hook_context_resume:
 * @ctx: a context whose current handler returned %PR_HOOK_ASYNC
 * @result: %PR_HOOK_CONTINUE or %PR_HOOK_STOP
 *
 * Continues the chain from the main loop. Call it exactly once per
 * %PR_HOOK_ASYNC, from the main thread.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_hook_context_resume(PrHookContext *ctx, PrHookResult result);

/**
 * pr_host_run_hook:
 * @host: the host
 * @ctx: a context created with pr_hook_context_new()
 * @done: called once when the chain ends, possibly before this returns
 * @user_data: passed to @done
 *
 * Runs the handlers of @ctx's hook in priority order.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_host_run_hook(PrHost *host, PrHookContext *ctx, PrHookDoneFunc done, gpointer user_data);

G_END_DECLS
