/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The named hook points of <postroom/pr-smtp.h>: a context filled with what
 * the session knows, run through the host, and the reply of a handler that
 * stopped the chain checked before it reaches the client. */

#include "postroom-config.h"

#include <string.h>

#include "smtp.h"

/* Sent when a handler stops the chain without a usable reply. */
#define DEFAULT_REJECT "550 5.7.1 Rejected by local policy"

typedef struct {
    PrConnection *conn;
    SmtpHookDone done;
    char *name;
} HookRun;

PrHookContext *
smtp_hook_context_new(PrConnection *conn, SmtpSession *s, const char *hook_name)
{
    PrHookContext *ctx = pr_hook_context_new(hook_name);
    g_autofree char *count = NULL;

    pr_hook_context_set(ctx, "service", pr_connection_get_service(conn));
    pr_hook_context_set(ctx, "ip", pr_connection_get_peer_ip(conn));
    pr_hook_context_set(ctx, "helo", s->helo);
    pr_hook_context_set(ctx, "tls", pr_connection_is_tls(conn) ? "yes" : "no");
    pr_hook_context_set(ctx, "auth_user", s->auth_user);
    pr_hook_context_set(ctx, "trusted", pr_connection_is_trusted(conn) ? "yes" : "no");
    if (s->sender != NULL) {
        pr_hook_context_set(ctx, "sender", s->sender);
        count = g_strdup_printf("%u", s->rcpts != NULL ? s->rcpts->len : 0);
        pr_hook_context_set(ctx, "recipient_count", count);
    }
    return ctx;
}

/* A rejection: three digits starting with 4 or 5, then a space or the end,
 * one line of printable text that fits a reply line. */
static gboolean
valid_reject(const char *reply)
{
    gsize len;

    if (reply == NULL)
        return FALSE;
    len = strlen(reply);
    if (len < 3 || len > 510 || (reply[0] != '4' && reply[0] != '5') ||
        !g_ascii_isdigit(reply[1]) || !g_ascii_isdigit(reply[2]) ||
        (reply[3] != '\0' && reply[3] != ' '))
        return FALSE;
    for (gsize i = 0; i < len; i++) {
        if ((guchar)reply[i] < ' ' || reply[i] == 0x7f)
            return FALSE;
    }
    return TRUE;
}

gboolean
smtp_reply_closes(const char *reply)
{
    /* RFC 5321 §3.8: 421 means the server is closing the channel. */
    return reply != NULL && g_str_has_prefix(reply, "421");
}

static void
hook_done(PrHookContext *ctx, gboolean stopped, gpointer user_data)
{
    HookRun *run = user_data;
    PrConnection *conn = run->conn;
    const char *reply = NULL;

    if (stopped) {
        reply = pr_hook_context_get_reply(ctx);
        if (!valid_reject(reply)) {
            g_warning("a handler of hook %s stopped it with an unusable reply; sending \"%s\"",
                      run->name, DEFAULT_REJECT);
            reply = DEFAULT_REJECT;
        }
    }
    if (!pr_connection_is_closed(conn))
        run->done(conn, pr_connection_get_session(conn), reply);
    pr_connection_unref(conn);
    g_free(run->name);
    g_free(run);
}

void
smtp_hook_run(PrConnection *conn, PrHookContext *ctx, const char *hook_name, SmtpHookDone done)
{
    HookRun *run = g_new0(HookRun, 1);

    run->name = g_strdup(hook_name);
    run->conn = pr_connection_ref(conn);
    run->done = done;
    pr_host_run_hook(pr_connection_get_host(conn), ctx, hook_done, run);
}
