/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The commands of any state and of the not authenticated state:
 * CAPABILITY, NOOP, LOGOUT, ID (RFC 2971), STARTTLS, LOGIN, AUTHENTICATE
 * PLAIN and LOGIN with SASL-IR (RFC 4959), then ENABLE (RFC 5161) and
 * NAMESPACE (RFC 2342). The SASL exchange runs here with the SDK's PrSasl
 * rather than pr_sasl_exchange_start(), whose fixed replies cannot carry
 * the command's tag. */

#include "postroom-config.h"

#include <string.h>

#include "imap.h"

char *
imap_capabilities(PrConnection *conn, ImapSession *s)
{
    GString *out = g_string_new("IMAP4rev1 LITERAL+ SASL-IR ID ENABLE");

    if (imap_setting_bool(conn, "idle"))
        g_string_append(out, " IDLE");
    g_string_append(out, " NAMESPACE UNSELECT CHILDREN UIDPLUS MOVE SPECIAL-USE ESEARCH CONDSTORE");
    /* RFC 9208: STORAGE only; no QUOTASET, SETQUOTA is refused. */
    g_string_append(out, " QUOTA QUOTA=RES-STORAGE");
    /* RFC 4314 §2.1: shared folders; "texk" are the rights beyond RFC 2086. */
    g_string_append(out, " ACL RIGHTS=texk");
    if (pr_connection_get_state(conn) == IMAP_STATE_NOT_AUTHENTICATED) {
        if (pr_connection_can_starttls(conn))
            g_string_append(out, " STARTTLS");
        if (!pr_connection_auth_allowed(conn)) {
            g_string_append(out, " LOGINDISABLED");
        } else {
            g_string_append(out, " AUTH=PLAIN AUTH=LOGIN");
        }
    }
    return g_string_free(out, FALSE);
}

PrCommandResult
imap_cmd_capability(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    g_autofree char *caps = NULL;

    if (cmd->args->len != 0)
        return imap_command_bad(conn, s, "CAPABILITY takes no arguments");
    caps = imap_capabilities(conn, s);
    pr_connection_replyf(conn, "* CAPABILITY %s", caps);
    return imap_command_reply(conn, s, "OK", "CAPABILITY completed");
}

static void
noop_synced(gpointer data, gpointer session)
{
    ImapSession *s = session;

    imap_command_done(s->conn, s, "OK", data);
}

PrCommandResult
imap_cmd_noop(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    if (cmd->args->len != 0)
        return imap_command_bad(conn, s, "NOOP takes no arguments");
    /* RFC 3501 §6.1.2: the way to poll for new messages. */
    imap_session_sync(conn, s, noop_synced, "NOOP completed");
    return PR_COMMAND_ASYNC;
}

PrCommandResult
imap_cmd_logout(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    if (cmd->args->len != 0)
        return imap_command_bad(conn, s, "LOGOUT takes no arguments");
    pr_connection_reply(conn, "* BYE Postroom IMAP4 server logging out");
    imap_command_done(conn, s, "OK", "LOGOUT completed");
    pr_connection_set_state(conn, IMAP_STATE_LOGOUT);
    return PR_COMMAND_CLOSE;
}

PrCommandResult
imap_cmd_id(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    const ImapArg *arg;

    /* RFC 2971: ("name" value ...) or NIL. What the client says is only
     * logged. */
    if (cmd->args->len != 1)
        return imap_command_bad(conn, s, "ID takes one argument");
    arg = g_ptr_array_index(cmd->args, 0);
    if (arg->type != IMAP_ARG_NIL &&
        (arg->type != IMAP_ARG_LIST || arg->list->len % 2 != 0 || arg->list->len > 60))
        return imap_command_bad(conn, s, "Invalid ID parameters");
    if (arg->type == IMAP_ARG_LIST) {
        g_autoptr(GString) text = g_string_new(NULL);

        for (guint i = 0; i + 1 < arg->list->len; i += 2) {
            const ImapArg *k = g_ptr_array_index(arg->list, i);
            const ImapArg *v = g_ptr_array_index(arg->list, i + 1);
            gboolean nil = FALSE;
            const char *key = imap_arg_astring(k);
            const char *value = imap_arg_nstring(v, &nil);

            if (key == NULL || value == NULL)
                return imap_command_bad(conn, s, "Invalid ID parameters");
            g_string_append_printf(text, "%s%s=%.64s", text->len > 0 ? " " : "", key,
                                   nil ? "NIL" : value);
        }
        g_info("connection %" G_GUINT64_FORMAT " client id: %.512s", pr_connection_get_id(conn),
               text->str);
    }
    pr_connection_replyf(conn, "* ID (\"name\" \"Postroom\" \"version\" \"%s\")", PACKAGE_VERSION);
    return imap_command_reply(conn, s, "OK", "ID completed");
}

PrCommandResult
imap_cmd_starttls(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    g_autofree char *reply = NULL;

    if (cmd->args->len != 0)
        return imap_command_bad(conn, s, "STARTTLS takes no arguments");
    if (pr_connection_is_tls(conn) || !pr_connection_can_starttls(conn))
        return imap_command_bad(conn, s, "STARTTLS not available");
    reply = g_strdup_printf("%s OK Begin TLS negotiation now", cmd->tag);
    /* The reply is sent by the host, so the command is over here. */
    imap_command_done(conn, s, NULL, NULL);
    if (!pr_connection_start_tls(conn, reply))
        return pr_connection_is_closed(conn) ? PR_COMMAND_CLOSE : PR_COMMAND_DONE;
    return PR_COMMAND_DONE;
}

/* ---- LOGIN and AUTHENTICATE ---- */

/* Answers a failed attempt; returns FALSE when the session must end. */
static gboolean
login_failed(PrConnection *conn, ImapSession *s, const char *text)
{
    gint64 max = imap_setting_int(conn, "max_failed_logins");

    s->failed_logins++;
    imap_command_done(conn, s, "NO", text);
    if (max > 0 && s->failed_logins >= (guint64)max) {
        g_info("closing connection %" G_GUINT64_FORMAT " from %s after %u failed logins",
               pr_connection_get_id(conn), pr_connection_get_peer_ip(conn), s->failed_logins);
        pr_connection_reply(conn, "* BYE Too many failed logins");
        return FALSE;
    }
    return TRUE;
}

static void
verify_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
    g_autoptr(PrConnection) conn = user_data;
    g_autofree char *login = NULL;
    g_autofree char *caps = NULL;
    g_autofree char *text = NULL;
    gboolean go_on = TRUE;
    PrAuthResult verdict;
    ImapSession *s;

    verdict = pr_auth_verify_finish(conn, result, &login);
    if (pr_connection_is_closed(conn))
        return;
    s = pr_connection_get_session(conn);
    switch (verdict) {
    case PR_AUTH_OK:
        if (!imap_login_acquire(login, (guint)imap_setting_int(conn, "max_logins_per_user"))) {
            g_info("user %s from %s: too many IMAP sessions", login,
                   pr_connection_get_peer_ip(conn));
            imap_command_done(conn, s, "NO", "[LIMIT] Too many logins for this user");
            return;
        }
        s->login = g_steal_pointer(&login);
        s->login_counted = TRUE;
        pr_connection_set_state(conn, IMAP_STATE_AUTHENTICATED);
        g_info("login user=%s ip=%s connection=%" G_GUINT64_FORMAT, s->login,
               pr_connection_get_peer_ip(conn), pr_connection_get_id(conn));
        caps = imap_capabilities(conn, s);
        text = g_strdup_printf("[CAPABILITY %s] Logged in", caps);
        imap_command_done(conn, s, "OK", text);
        return;
    case PR_AUTH_LOCKED:
        imap_command_done(conn, s, "NO",
                          "[AUTHENTICATIONFAILED] Logins from your address are locked after too "
                          "many failures, try again later");
        pr_connection_reply(conn, "* BYE Too many failed logins");
        go_on = FALSE;
        break;
    case PR_AUTH_DISABLED:
        go_on = login_failed(conn, s, "[AUTHENTICATIONFAILED] Account disabled");
        break;
    case PR_AUTH_TEMPFAIL:
        imap_command_done(conn, s, "NO",
                          "[UNAVAILABLE] Authentication unavailable, try again later");
        break;
    case PR_AUTH_FAILED:
    default:
        go_on = login_failed(conn, s, "[AUTHENTICATIONFAILED] Authentication failed");
        break;
    }
    if (!go_on)
        pr_connection_close(conn);
}

PrCommandResult
imap_cmd_login(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    const char *user, *password;

    if (cmd->args->len != 2)
        return imap_command_bad(conn, s, "LOGIN takes a user name and a password");
    user = imap_arg_astring(g_ptr_array_index(cmd->args, 0));
    password = imap_arg_astring(g_ptr_array_index(cmd->args, 1));
    if (user == NULL || password == NULL)
        return imap_command_bad(conn, s, "Invalid user name or password");
    pr_auth_verify_async(conn, "LOGIN", user, password, verify_done, pr_connection_ref(conn));
    return PR_COMMAND_ASYNC;
}

/* Advances the exchange with @response (NULL: no initial response). */
static PrCommandResult
sasl_continue(PrConnection *conn, ImapSession *s, const char *response)
{
    g_autofree char *challenge = NULL;

    switch (pr_sasl_step(s->sasl, response, &challenge)) {
    case PR_SASL_CONTINUE:
        pr_connection_replyf(conn, "+ %s", challenge != NULL ? challenge : "");
        return PR_COMMAND_DONE;
    case PR_SASL_DONE:
        pr_auth_verify_async(conn, pr_sasl_get_mechanism(s->sasl), pr_sasl_get_user(s->sasl),
                             pr_sasl_get_password(s->sasl), verify_done, pr_connection_ref(conn));
        g_clear_pointer(&s->sasl, pr_sasl_free); /* the verification has its own copy */
        /* verify_done answers and resumes reading. */
        return PR_COMMAND_ASYNC;
    case PR_SASL_CANCELLED:
        g_clear_pointer(&s->sasl, pr_sasl_free);
        return imap_command_bad(conn, s, "Authentication cancelled");
    case PR_SASL_MALFORMED:
    default:
        g_clear_pointer(&s->sasl, pr_sasl_free);
        return imap_command_bad(conn, s, "Invalid SASL response");
    }
}

PrCommandResult
imap_sasl_line(PrConnection *conn, ImapSession *s, const char *line)
{
    return sasl_continue(conn, s, line);
}

PrCommandResult
imap_cmd_authenticate(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    const char *mechanism, *initial = NULL;

    if (cmd->args->len < 1 || cmd->args->len > 2)
        return imap_command_bad(conn, s, "AUTHENTICATE takes a mechanism and an initial response");
    mechanism = imap_arg_atom(g_ptr_array_index(cmd->args, 0));
    if (cmd->args->len == 2)
        initial = imap_arg_atom(g_ptr_array_index(cmd->args, 1));
    if (mechanism == NULL || (cmd->args->len == 2 && initial == NULL))
        return imap_command_bad(conn, s, "Invalid AUTHENTICATE arguments");
    g_clear_pointer(&s->sasl, pr_sasl_free);
    s->sasl = pr_sasl_new(mechanism);
    if (s->sasl == NULL)
        return imap_command_reply(conn, s, "NO", "Unsupported authentication mechanism");
    return sasl_continue(conn, s, initial);
}

/* ---- authenticated state ---- */

PrCommandResult
imap_cmd_enable(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    g_autoptr(GString) enabled = g_string_new(NULL);

    if (cmd->args->len == 0)
        return imap_command_bad(conn, s, "ENABLE needs capabilities");
    for (guint i = 0; i < cmd->args->len; i++) {
        const char *name = imap_arg_atom(g_ptr_array_index(cmd->args, i));

        if (name == NULL)
            return imap_command_bad(conn, s, "Invalid capability name");
        /* RFC 5161 §3.1: unknown ones are ignored; each is reported once. */
        if (g_ascii_strcasecmp(name, "CONDSTORE") == 0 && !(s->enabled & IMAP_ENABLED_CONDSTORE)) {
            s->enabled |= IMAP_ENABLED_CONDSTORE;
            g_string_append(enabled, " CONDSTORE");
        }
    }
    pr_connection_replyf(conn, "* ENABLED%s", enabled->str);
    return imap_command_reply(conn, s, "OK", "ENABLE completed");
}

PrCommandResult
imap_cmd_namespace(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    if (cmd->args->len != 0)
        return imap_command_bad(conn, s, "NAMESPACE takes no arguments");
    /* Personal folders, and other users' folders under "#users/" (VPOP3
     * Enterprise's shared folders, governed by RFC 4314 ACLs). */
    pr_connection_reply(conn,
                        "* NAMESPACE ((\"\" \"/\")) ((\"" PR_FOLDER_SHARED_PREFIX "\" \"/\")) NIL");
    return imap_command_reply(conn, s, "OK", "NAMESPACE completed");
}
