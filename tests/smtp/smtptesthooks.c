/* SPDX-License-Identifier: GPL-3.0-or-later */

/* smtptesthooks: attaches to the smtp module's hook points
 * (<postroom/pr-smtp.h>) so the tests can see that each one runs, with
 * which values, and that a stop reply reaches the client. Triggers are
 * names the tests choose; everything else continues. "async" triggers
 * answer from the main loop, as a handler that asks a database would. */

#include "postroom-config.h"

#include <string.h>
#include <glib/gi18n-lib.h>
#include <postroom/postroom-plugin.h>

static gboolean
starts(const char *value, const char *prefix)
{
    return value != NULL && g_str_has_prefix(value, prefix);
}

/* Every value of the context in one reply, to check what a hook sees. */
static void
echo_reply(PrHookContext *ctx, const char *code, const char *const *names)
{
    GString *out = g_string_new(code);

    for (int i = 0; names[i] != NULL; i++) {
        const char *value = pr_hook_context_get(ctx, names[i]);
        g_autofree char *shown = NULL;
        if (value == NULL)
            value = "(none)";
        shown = g_strdelimit(g_strdup(value), "\r\n", '|');
        g_string_append_printf(out, " %s=%s", names[i], shown);
    }
    pr_hook_context_set_reply(ctx, out->str);
    g_string_free(out, TRUE);
}

typedef struct {
    PrHookContext *ctx;
    PrHookResult result;
} Later;

static gboolean
later_cb(gpointer data)
{
    Later *later = data;

    pr_hook_context_resume(later->ctx, later->result);
    pr_hook_context_unref(later->ctx);
    g_free(later);
    return G_SOURCE_REMOVE;
}

static PrHookResult
answer_later(PrHookContext *ctx, const char *reply)
{
    Later *later = g_new0(Later, 1);

    later->ctx = pr_hook_context_ref(ctx);
    later->result = reply != NULL ? PR_HOOK_STOP : PR_HOOK_CONTINUE;
    if (reply != NULL)
        pr_hook_context_set_reply(ctx, reply);
    g_timeout_add(20, later_cb, later);
    return PR_HOOK_ASYNC;
}

static PrHookResult
on_helo(PrHookContext *ctx, gpointer user_data)
{
    static const char *const names[] = { "command", "helo", "ip", "service", "tls", NULL };
    const char *helo = pr_hook_context_get(ctx, "helo");

    if (starts(helo, "hook-reject"))
        pr_hook_context_set_reply(ctx, "550 5.7.1 helo rejected by hook");
    else if (starts(helo, "hook-echo"))
        echo_reply(ctx, "550 5.7.1 echo", names);
    else if (starts(helo, "hook-bye"))
        pr_hook_context_set_reply(ctx, "421 4.7.0 go away");
    else if (starts(helo, "hook-bad"))
        pr_hook_context_set_reply(ctx, "250 pretend all is well");
    else if (starts(helo, "hook-async"))
        return answer_later(ctx, NULL);
    else
        return PR_HOOK_CONTINUE;
    return PR_HOOK_STOP;
}

static PrHookResult
on_mail(PrHookContext *ctx, gpointer user_data)
{
    static const char *const names[] = { "sender", "size", "body",      "smtputf8", "ret",
                                         "envid",  "helo", "auth_user", NULL };
    const char *sender = pr_hook_context_get(ctx, "sender");

    if (starts(sender, "hook-reject@"))
        pr_hook_context_set_reply(ctx, "550 5.7.1 sender rejected by hook");
    else if (starts(sender, "hook-echo@"))
        echo_reply(ctx, "550 5.7.1 echo", names);
    else if (starts(sender, "hook-async-reject@"))
        return answer_later(ctx, "451 4.7.1 sender deferred by async hook");
    else
        return PR_HOOK_CONTINUE;
    return PR_HOOK_STOP;
}

static PrHookResult
on_rcpt(PrHookContext *ctx, gpointer user_data)
{
    static const char *const names[] = { "recipient", "recipient_status", "notify",
                                         "orcpt",     "sender",           "recipient_count",
                                         "auth_user", "trusted",          NULL };
    const char *rcpt = pr_hook_context_get(ctx, "recipient");

    if (starts(rcpt, "hook-reject@"))
        pr_hook_context_set_reply(ctx, "550 5.7.1 recipient rejected by hook");
    else if (starts(rcpt, "hook-echo@"))
        echo_reply(ctx, "550 5.7.1 echo", names);
    else if (starts(rcpt, "hook-async@"))
        return answer_later(ctx, NULL);
    else
        return PR_HOOK_CONTINUE;
    return PR_HOOK_STOP;
}

static PrHookResult
on_data(PrHookContext *ctx, gpointer user_data)
{
    static const char *const names[] = { "sender", "recipients", "size", NULL };
    const char *header = pr_hook_context_get(ctx, "header");

    if (header == NULL)
        return PR_HOOK_CONTINUE;
    if (strstr(header, "X-Hook: reject") != NULL) {
        echo_reply(ctx, "554 5.7.1 message rejected by hook", names);
        return PR_HOOK_STOP;
    }
    if (strstr(header, "X-Hook: async-reject") != NULL)
        return answer_later(ctx, "451 4.7.1 message deferred by async hook");
    return PR_HOOK_CONTINUE;
}

static gboolean
hooks_init(PrModule *self, PrHost *host, GError **error)
{
    pr_host_connect_hook(host, self, PR_SMTP_HOOK_HELO, on_helo, PR_HOOK_PRIORITY_DEFAULT, NULL,
                         NULL);
    pr_host_connect_hook(host, self, PR_SMTP_HOOK_MAIL, on_mail, PR_HOOK_PRIORITY_DEFAULT, NULL,
                         NULL);
    pr_host_connect_hook(host, self, PR_SMTP_HOOK_RCPT, on_rcpt, PR_HOOK_PRIORITY_DEFAULT, NULL,
                         NULL);
    pr_host_connect_hook(host, self, PR_SMTP_HOOK_DATA, on_data, PR_HOOK_PRIORITY_DEFAULT, NULL,
                         NULL);
    return TRUE;
}

PR_MODULE_DEFINE(smtptesthooks, .description = N_("SMTP hook points test module"),
                 .version = PACKAGE_VERSION, .license = "GPL-3.0-or-later", .init = hooks_init)
