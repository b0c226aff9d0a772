/* SPDX-License-Identifier: GPL-3.0-or-later */

/* testproto: the SDK's proof module. A small POP3-like line protocol that
 * exercises every part of the plugin API the protocol tests need: module
 * settings, a connect hook, host replies, STARTTLS (STLS, so gnutls-cli and
 * openssl s_client can drive it in pop3 mode), password and SASL
 * authentication, the module key/value store and asynchronous commands. */

#include "postroom-config.h"

#include <string.h>
#include <glib/gi18n-lib.h>
#include <postroom/postroom-plugin.h>

enum {
    TP_STATE_AUTH = 1 << 0,
    TP_STATE_TRANS = 1 << 1,
    TP_STATE_ANY = TP_STATE_AUTH | TP_STATE_TRANS,
};

#define TP_SLOW_DELAY_MS 200

typedef struct {
    char *user;      /* USER argument, until PASS */
    char *logged_in; /* canonical account name in TRANS */
    GSource *slow;   /* pending SLOW reply */
    gsize blob_left; /* BLOB bytes still to come */
    guint32 blob_sum;
} TpSession;

static void
tp_session_forget_auth(TpSession *session)
{
    g_clear_pointer(&session->user, g_free);
}

static void
tp_greeting(PrConnection *conn, gpointer session)
{
    const char *name = pr_module_get_string(pr_connection_get_module(conn), NULL, "greeting_name");

    pr_connection_replyf(conn, "+OK %s ready", name != NULL && *name != '\0' ? name : "testproto");
}

static void
tp_tls_started(PrConnection *conn, gpointer session)
{
    /* RFC 2595 §4: nothing learnt before the handshake survives it. */
    tp_session_forget_auth(session);
}

static void
tp_session_finish(PrConnection *conn, gpointer session)
{
    TpSession *tp = session;

    tp_session_forget_auth(tp);
    g_clear_pointer(&tp->logged_in, g_free);
    if (tp->slow != NULL) {
        g_source_destroy(tp->slow);
        g_clear_pointer(&tp->slow, g_source_unref);
    }
}

/* Authentication */

static void
tp_auth_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
    g_autoptr(PrConnection) conn = user_data;
    g_autofree char *canonical = NULL;
    TpSession *tp;
    PrAuthResult verdict;

    verdict = pr_auth_verify_finish(conn, result, &canonical);
    if (pr_connection_is_closed(conn))
        return;

    tp = pr_connection_get_session(conn);
    switch (verdict) {
    case PR_AUTH_OK:
        g_free(tp->logged_in);
        tp->logged_in = g_steal_pointer(&canonical);
        pr_connection_set_state(conn, TP_STATE_TRANS);
        pr_connection_reply(conn, "+OK logged in");
        break;
    case PR_AUTH_LOCKED:
        pr_connection_reply(conn, "-ERR [AUTH] locked out after too many failures, try later");
        break;
    case PR_AUTH_DISABLED:
        pr_connection_reply(conn, "-ERR [AUTH] Account disabled");
        break;
    case PR_AUTH_TEMPFAIL:
        pr_connection_reply(conn, "-ERR [SYS/TEMP] Authentication unavailable, try later");
        break;
    case PR_AUTH_FAILED:
    default:
        pr_connection_reply(conn, "-ERR [AUTH] Authentication failed");
        break;
    }
    tp_session_forget_auth(tp);
    pr_connection_resume(conn);
}

static PrCommandResult
tp_cmd_user(PrConnection *conn, gpointer session, const char *args)
{
    TpSession *tp = session;

    g_free(tp->user);
    tp->user = g_strdup(args);
    pr_connection_reply(conn, "+OK send PASS");
    return PR_COMMAND_DONE;
}

static PrCommandResult
tp_cmd_pass(PrConnection *conn, gpointer session, const char *args)
{
    TpSession *tp = session;

    if (tp->user == NULL) {
        pr_connection_reply(conn, "-ERR USER first");
        return pr_connection_bad_command(conn) ? PR_COMMAND_CLOSE : PR_COMMAND_DONE;
    }
    pr_auth_verify_async(conn, "USER", tp->user, args, tp_auth_done, pr_connection_ref(conn));
    return PR_COMMAND_ASYNC;
}

static const PrSaslExchange tp_sasl = {
    .continuation = "+ ",
    .unknown_mechanism = "-ERR Unsupported mechanism",
    .cancelled = "-ERR Authentication cancelled",
    .malformed = "-ERR Malformed SASL response",
    .verified = tp_auth_done,
};

static PrCommandResult
tp_cmd_auth(PrConnection *conn, gpointer session, const char *args)
{
    g_auto(GStrv) parts = g_strsplit(args, " ", 2);
    const char *initial = parts[0] != NULL ? parts[1] : NULL;

    if (parts[0] == NULL || *parts[0] == '\0') {
        pr_connection_reply(conn, "-ERR Syntax error");
        return pr_connection_bad_command(conn) ? PR_COMMAND_CLOSE : PR_COMMAND_DONE;
    }
    return pr_sasl_exchange_start(conn, parts[0], initial, &tp_sasl);
}

static PrCommandResult
tp_cmd_whoami(PrConnection *conn, gpointer session, const char *args)
{
    TpSession *tp = session;

    pr_connection_replyf(conn, "+OK %s", tp->logged_in != NULL ? tp->logged_in : "");
    return PR_COMMAND_DONE;
}

/* Simple commands */

static PrCommandResult
tp_cmd_noop(PrConnection *conn, gpointer session, const char *args)
{
    pr_connection_reply(conn, "+OK");
    return PR_COMMAND_DONE;
}

static PrCommandResult
tp_cmd_echo(PrConnection *conn, gpointer session, const char *args)
{
    pr_connection_replyf(conn, "+OK %s", args);
    return PR_COMMAND_DONE;
}

static PrCommandResult
tp_cmd_capa(PrConnection *conn, gpointer session, const char *args)
{
    pr_connection_reply(conn, "+OK Capability list follows");
    if (pr_connection_can_starttls(conn))
        pr_connection_reply(conn, "STLS");
    pr_connection_reply(conn, "USER");
    pr_connection_reply(conn, "SASL PLAIN LOGIN");
    pr_connection_reply(conn, ".");
    return PR_COMMAND_DONE;
}

static PrCommandResult
tp_cmd_quit(PrConnection *conn, gpointer session, const char *args)
{
    pr_connection_reply(conn, "+OK bye");
    return PR_COMMAND_CLOSE;
}

/* Asynchronous commands */

static gboolean
tp_slow_fire(gpointer user_data)
{
    PrConnection *conn = user_data;
    TpSession *tp = pr_connection_get_session(conn);

    g_clear_pointer(&tp->slow, g_source_unref);
    if (!pr_connection_is_closed(conn)) {
        pr_connection_reply(conn, "+OK slow");
        pr_connection_resume(conn);
    }
    return G_SOURCE_REMOVE;
}

static PrCommandResult
tp_cmd_slow(PrConnection *conn, gpointer session, const char *args)
{
    TpSession *tp = session;

    if (tp->slow != NULL) {
        g_source_destroy(tp->slow);
        g_clear_pointer(&tp->slow, g_source_unref);
    }
    tp->slow = g_timeout_source_new(TP_SLOW_DELAY_MS);
    g_source_set_callback(tp->slow, tp_slow_fire, pr_connection_ref(conn),
                          (GDestroyNotify)pr_connection_unref);
    g_source_attach(tp->slow, g_main_context_get_thread_default());
    return PR_COMMAND_ASYNC;
}

static void
tp_kvset_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
    g_autoptr(PrConnection) conn = user_data;
    g_autoptr(GError) error = NULL;

    if (!pr_store_module_set_finish(pr_connection_get_host(conn), result, &error)) {
        if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            return;
        g_warning("KVSET failed: %s", error->message);
        if (!pr_connection_is_closed(conn))
            pr_connection_reply(conn, "-ERR [SYS/TEMP] store failure");
    } else if (!pr_connection_is_closed(conn)) {
        pr_connection_reply(conn, "+OK stored");
    }
    pr_connection_resume(conn);
}

static PrCommandResult
tp_cmd_kvset(PrConnection *conn, gpointer session, const char *args)
{
    g_auto(GStrv) parts = g_strsplit(args, " ", 2);

    if (parts[0] == NULL || parts[1] == NULL || *parts[0] == '\0') {
        pr_connection_reply(conn, "-ERR Syntax error");
        return pr_connection_bad_command(conn) ? PR_COMMAND_CLOSE : PR_COMMAND_DONE;
    }
    pr_store_module_set_async(pr_connection_get_host(conn), pr_connection_get_module(conn),
                              parts[0], parts[1], pr_connection_get_cancellable(conn),
                              tp_kvset_done, pr_connection_ref(conn));
    return PR_COMMAND_ASYNC;
}

static void
tp_kvget_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
    g_autoptr(PrConnection) conn = user_data;
    g_autoptr(GError) error = NULL;
    g_autofree char *value = NULL;

    value = pr_store_module_get_finish(pr_connection_get_host(conn), result, &error);
    if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
    if (!pr_connection_is_closed(conn)) {
        if (value != NULL) {
            pr_connection_replyf(conn, "+OK %s", value);
        } else if (g_error_matches(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND)) {
            pr_connection_reply(conn, "-ERR No such key");
        } else {
            g_warning("KVGET failed: %s", error != NULL ? error->message : "?");
            pr_connection_reply(conn, "-ERR [SYS/TEMP] store failure");
        }
    }
    pr_connection_resume(conn);
}

static PrCommandResult
tp_cmd_kvget(PrConnection *conn, gpointer session, const char *args)
{
    if (strchr(args, ' ') != NULL) {
        pr_connection_reply(conn, "-ERR Syntax error");
        return pr_connection_bad_command(conn) ? PR_COMMAND_CLOSE : PR_COMMAND_DONE;
    }
    pr_store_module_get_async(pr_connection_get_host(conn), pr_connection_get_module(conn), args,
                              pr_connection_get_cancellable(conn), tp_kvget_done,
                              pr_connection_ref(conn));
    return PR_COMMAND_ASYNC;
}

/* BLOB n: the next n bytes are data, whatever they hold (the SDK's raw
 * mode); answered with their count and byte sum. */
static gsize
tp_blob_bytes(PrConnection *conn, gpointer session, const guint8 *data, gsize len,
              PrCommandResult *result)
{
    TpSession *s = session;
    gsize take = MIN(len, s->blob_left);
    for (gsize i = 0; i < take; i++)
        s->blob_sum += data[i];
    s->blob_left -= take;
    if (s->blob_left == 0) {
        pr_connection_set_raw_handler(conn, NULL);
        pr_connection_replyf(conn, "+OK blob %u", s->blob_sum);
    }
    return take;
}

static PrCommandResult
tp_cmd_blob(PrConnection *conn, gpointer session, const char *args)
{
    TpSession *s = session;
    guint64 n = 0;
    if (!g_ascii_string_to_unsigned(args, 10, 1, 1 << 24, &n, NULL)) {
        pr_connection_reply(conn, "-ERR Syntax error");
        return pr_connection_bad_command(conn) ? PR_COMMAND_CLOSE : PR_COMMAND_DONE;
    }
    s->blob_left = n;
    s->blob_sum = 0;
    pr_connection_set_raw_handler(conn, tp_blob_bytes);
    return PR_COMMAND_DONE;
}

static const PrCommand tp_commands[] = {
    { "NOOP", tp_cmd_noop, TP_STATE_ANY, PR_COMMAND_FLAG_NO_ARGS },
    { "ECHO", tp_cmd_echo, TP_STATE_ANY, PR_COMMAND_FLAG_ARGS_REQUIRED },
    { "CAPA", tp_cmd_capa, TP_STATE_ANY, PR_COMMAND_FLAG_NO_ARGS },
    { "USER", tp_cmd_user, TP_STATE_AUTH, PR_COMMAND_FLAG_ARGS_REQUIRED },
    { "PASS", tp_cmd_pass, TP_STATE_AUTH,
      PR_COMMAND_FLAG_ARGS_REQUIRED | PR_COMMAND_FLAG_AUTH | PR_COMMAND_FLAG_SECRET },
    { "AUTH", tp_cmd_auth, TP_STATE_AUTH,
      PR_COMMAND_FLAG_ARGS_REQUIRED | PR_COMMAND_FLAG_AUTH | PR_COMMAND_FLAG_SECRET },
    { "WHOAMI", tp_cmd_whoami, TP_STATE_TRANS, PR_COMMAND_FLAG_NO_ARGS },
    { "KVSET", tp_cmd_kvset, TP_STATE_ANY, PR_COMMAND_FLAG_ARGS_REQUIRED },
    { "KVGET", tp_cmd_kvget, TP_STATE_ANY, PR_COMMAND_FLAG_ARGS_REQUIRED },
    { "SLOW", tp_cmd_slow, TP_STATE_ANY, PR_COMMAND_FLAG_NO_ARGS },
    { "BLOB", tp_cmd_blob, TP_STATE_ANY, PR_COMMAND_FLAG_ARGS_REQUIRED },
    { "QUIT", tp_cmd_quit, TP_STATE_ANY, PR_COMMAND_FLAG_NO_ARGS },
    { NULL },
};

static const char *const tp_replies[PR_REPLY_LAST] = {
    [PR_REPLY_UNKNOWN_COMMAND] = "-ERR Unknown command",
    [PR_REPLY_BAD_STATE] = "-ERR Command not valid in this state",
    [PR_REPLY_SYNTAX_ERROR] = "-ERR Syntax error",
    [PR_REPLY_LINE_TOO_LONG] = "-ERR Line too long",
    [PR_REPLY_BAD_LINE] = "-ERR Invalid characters in line",
    [PR_REPLY_TOO_MANY_ERRORS] = "-ERR Too many errors, closing connection",
    [PR_REPLY_ACCESS_DENIED] = "-ERR Server access not allowed - See your administrator",
    [PR_REPLY_TOO_MANY_CONNECTIONS] = "-ERR [SYS/TEMP] Too many connections, try again later",
    [PR_REPLY_TOO_MANY_FROM_IP] = "-ERR [SYS/TEMP] Too many connections from your address",
    [PR_REPLY_IDLE_TIMEOUT] = "-ERR Idle timeout, closing connection",
    [PR_REPLY_TLS_REQUIRED] = "-ERR TLS required before authentication, use STLS",
    [PR_REPLY_STARTTLS_OK] = "+OK Begin TLS negotiation",
    [PR_REPLY_STARTTLS_UNAVAILABLE] = "-ERR STLS not available",
    [PR_REPLY_STARTTLS_PIPELINED] = "-ERR Data after STLS, closing connection",
    [PR_REPLY_SHUTDOWN] = "-ERR Server shutting down",
    [PR_REPLY_TEMPORARY_FAILURE] = "-ERR [SYS/TEMP] Temporary failure, try again later",
};

static const PrLineProtocol tp_protocol = {
    .struct_size = sizeof(PrLineProtocol),
    .name = "testproto",
    .default_port = 0,
    .max_line = 512,
    .line_end = PR_LINE_END_ACCEPT_LF,
    .nul = PR_NUL_REJECT,
    .idle_timeout = 600,
    .max_bad_commands = 5,
    .starttls_command = "STLS",
    .starttls_states = TP_STATE_AUTH,
    .session_size = sizeof(TpSession),
    .initial_state = TP_STATE_AUTH,
    .greeting = tp_greeting,
    .tls_started = tp_tls_started,
    .session_finish = tp_session_finish,
    .commands = tp_commands,
    .replies = tp_replies,
};

static PrHookResult
tp_connect_hook(PrHookContext *ctx, gpointer user_data)
{
    PrModule *self = user_data;

    /* The connect hook runs for every service; only judge our own. */
    if (g_strcmp0(pr_hook_context_get(ctx, "service"), "testproto") != 0)
        return PR_HOOK_CONTINUE;
    if (!pr_module_get_bool(self, NULL, "reject_connect"))
        return PR_HOOK_CONTINUE;
    g_debug("rejecting %s by connect hook", pr_hook_context_get(ctx, "peer-ip"));
    pr_hook_context_set_reply(ctx, "-ERR rejected by hook");
    return PR_HOOK_STOP;
}

static gboolean
tp_init(PrModule *self, PrHost *host, GError **error)
{
    if (!pr_host_add_line_protocol(host, self, &tp_protocol, error))
        return FALSE;
    pr_host_connect_hook(host, self, PR_HOOK_CONNECT, tp_connect_hook, PR_HOOK_PRIORITY_DEFAULT,
                         self, NULL);
    return TRUE;
}

static void
tp_deinit(PrModule *self, PrHost *host)
{
    /* Everything registered through @self is dropped by the host. */
}

static const char *const tp_services[] = { "testproto", NULL };

static const PrSettingSpec tp_settings[] = {
    { .key = "greeting_name",
      .type = PR_SETTING_STRING,
      .default_value = "testproto",
      .description = N_("Name announced in the greeting") },
    { .key = "reject_connect",
      .type = PR_SETTING_BOOL,
      .default_value = "false",
      .description = N_("Reject every connection from the connect hook (for tests)") },
    { .key = NULL },
};

PR_MODULE_DEFINE(testproto, .description = N_("Protocol test module"), .version = PACKAGE_VERSION,
                 .license = "GPL-3.0-or-later", .services = tp_services, .settings = tp_settings,
                 .init = tp_init, .deinit = tp_deinit)
