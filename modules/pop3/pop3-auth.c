/* SPDX-License-Identifier: GPL-3.0-or-later */

/* AUTHORIZATION: USER/PASS, APOP (RFC 1939 §7) and SASL PLAIN, LOGIN and
 * CRAM-MD5 (RFC 5034), then the exclusive lock on the INBOX that moves the
 * session to TRANSACTION. APOP and CRAM-MD5 are off unless the settings
 * `apop` and `cram_md5` turn them on and the host stores the secrets they
 * are checked against ([auth] store_secrets). */

#include "postroom-config.h"

#include <string.h>

#include "pop3.h"

typedef struct {
    PrConnection *conn;
    char *login;
} OpenData;

static void
open_data_free(OpenData *data)
{
    pr_connection_unref(data->conn);
    g_free(data->login);
    g_free(data);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(OpenData, open_data_free)

static void
open_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
    g_autoptr(OpenData) data = user_data;
    PrConnection *conn = data->conn;
    g_autoptr(GError) error = NULL;
    PrMailbox *mailbox;
    Pop3Session *s;

    mailbox = pr_mailbox_open_finish(pr_connection_get_host(conn), result, &error);
    if (pr_connection_is_closed(conn)) {
        /* The client left while the lock was taken: give it back. */
        pr_mailbox_close(mailbox);
        return;
    }
    s = pr_connection_get_session(conn);
    if (mailbox == NULL) {
        if (g_error_matches(error, PR_STORE_ERROR, PR_STORE_ERROR_LOCKED)) {
            g_info("user %s from %s: mailbox in use: %s", data->login,
                   pr_connection_get_peer_ip(conn), error->message);
            pr_connection_reply(conn, "-ERR [IN-USE] Mailbox Locked");
        } else {
            g_warning("cannot open the mailbox of %s: %s", data->login, error->message);
            pr_connection_reply(conn, "-ERR [SYS/TEMP] Cannot open the mailbox, try again later");
        }
        pr_connection_resume(conn);
        return;
    }
    pop3_session_opened(conn, s, data->login, mailbox);
    pr_connection_replyf(conn,
                         "+OK Mailbox locked and ready, %u messages (%" G_GINT64_FORMAT " octets)",
                         s->count, s->total_octets);
    pr_connection_resume(conn);
}

static void
open_mailbox(PrConnection *conn, char *login)
{
    g_autofree char *holder = g_strdup_printf("pop3 %s", pr_connection_get_peer_ip(conn));
    OpenData *data = g_new0(OpenData, 1);

    data->conn = pr_connection_ref(conn);
    data->login = login;
    pr_mailbox_open_async(pr_connection_get_host(conn), login, "INBOX", PR_MAILBOX_EXCLUSIVE,
                          holder, pr_connection_get_cancellable(conn), open_done, data);
}

/* Answers a failed attempt; returns FALSE when the session must end. */
static gboolean
login_failed(PrConnection *conn, Pop3Session *s, const char *reply)
{
    gint64 max = pr_module_get_int(pr_connection_get_module(conn), NULL, "max_failed_logins");

    s->failed_logins++;
    if (max > 0 && s->failed_logins >= (guint64)max) {
        g_info("closing connection %" G_GUINT64_FORMAT " from %s after %u failed logins",
               pr_connection_get_id(conn), pr_connection_get_peer_ip(conn), s->failed_logins);
        pr_connection_reply(conn, "-ERR [AUTH] Too many failed logins");
        return FALSE;
    }
    pr_connection_reply(conn, reply);
    return TRUE;
}

static void
verify_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
    g_autoptr(PrConnection) conn = user_data;
    g_autofree char *login = NULL;
    gboolean go_on = TRUE;
    PrAuthResult verdict;
    Pop3Session *s;

    verdict = pr_auth_verify_finish(conn, result, &login);
    if (pr_connection_is_closed(conn))
        return;
    s = pr_connection_get_session(conn);
    pop3_session_forget_auth(s);
    switch (verdict) {
    case PR_AUTH_OK:
        open_mailbox(conn, g_steal_pointer(&login));
        return; /* open_done resumes */
    case PR_AUTH_LOCKED:
        /* Every attempt from this address fails for a while: say why, and
         * end the session rather than let it keep trying. */
        pr_connection_reply(conn, "-ERR [AUTH] Logins from your address are locked after too "
                                  "many failures, try again later");
        go_on = FALSE;
        break;
    case PR_AUTH_DISABLED:
        go_on = login_failed(conn, s, "-ERR [AUTH] Account disabled");
        break;
    case PR_AUTH_TEMPFAIL:
        pr_connection_reply(conn, "-ERR [SYS/TEMP] Authentication unavailable, try again later");
        break;
    case PR_AUTH_FAILED:
    default:
        go_on = login_failed(conn, s, "-ERR [AUTH] Authentication failed");
        break;
    }
    if (go_on)
        pr_connection_resume(conn);
    else
        pr_connection_close(conn);
}

PrCommandResult
pop3_cmd_user(PrConnection *conn, gpointer session, const char *args)
{
    Pop3Session *s = session;

    pop3_session_forget_auth(s);
    s->user = g_strdup(args);
    /* The same answer for every name: USER must not reveal accounts. */
    pr_connection_reply(conn, "+OK Send your password");
    return PR_COMMAND_DONE;
}

PrCommandResult
pop3_cmd_pass(PrConnection *conn, gpointer session, const char *args)
{
    Pop3Session *s = session;

    if (s->user == NULL) {
        pr_connection_reply(conn, "-ERR Send USER first");
        return pr_connection_bad_command(conn) ? PR_COMMAND_CLOSE : PR_COMMAND_DONE;
    }
    pr_auth_verify_async(conn, "USER", s->user, args, verify_done, pr_connection_ref(conn));
    return PR_COMMAND_ASYNC;
}

/* Whether APOP can succeed on this connection now. */
gboolean
pop3_apop_enabled(PrConnection *conn)
{
    return pr_module_get_bool(pr_connection_get_module(conn), NULL, "apop") &&
           pr_auth_secrets_enabled(pr_connection_get_host(conn));
}

PrCommandResult
pop3_cmd_apop(PrConnection *conn, gpointer session, const char *args)
{
    Pop3Session *s = session;
    const char *space;

    /* Off (or turned off by a reload since the greeting): the command does
     * not exist, as on a server without APOP. */
    if (s->apop_timestamp == NULL || !pop3_apop_enabled(conn)) {
        pr_connection_reply(conn, "-ERR Unknown command");
        return pr_connection_bad_command(conn) ? PR_COMMAND_CLOSE : PR_COMMAND_DONE;
    }
    /* A digest sent in clear can be attacked offline at MD5 speed, so
     * require_tls_for_auth applies to APOP as to every other login. */
    if (!pr_connection_auth_allowed(conn)) {
        pr_connection_reply(conn, POP3_R_TLS_REQUIRED);
        return PR_COMMAND_DONE;
    }
    /* "APOP name digest": the digest is the last word. */
    space = strrchr(args, ' ');
    if (space == NULL || space == args || space[1] == '\0') {
        pr_connection_reply(conn, "-ERR Syntax error");
        return pr_connection_bad_command(conn) ? PR_COMMAND_CLOSE : PR_COMMAND_DONE;
    }
    pop3_session_forget_auth(s);
    g_autofree char *user = g_strndup(args, (gsize)(space - args));
    pr_auth_verify_apop_async(conn, user, s->apop_timestamp, space + 1, verify_done,
                              pr_connection_ref(conn));
    return PR_COMMAND_ASYNC;
}

/* The SASL mechanisms this connection may use: the settings' choice, less
 * what the host cannot check. */
PrSaslMechanisms
pop3_sasl_mechanisms(PrConnection *conn)
{
    PrSaslMechanisms wanted = PR_SASL_MECH_PLAIN | PR_SASL_MECH_LOGIN;

    if (pr_module_get_bool(pr_connection_get_module(conn), NULL, "cram_md5"))
        wanted |= PR_SASL_MECH_CRAM_MD5;
    return pr_sasl_mechanisms_available(pr_connection_get_host(conn), wanted);
}

/* RFC 5034 §4: "+" and one space, then the base64 challenge. */
static const PrSaslExchange pop3_sasl = {
    .continuation = "+ ",
    .unknown_mechanism = "-ERR Unrecognized authentication mechanism",
    .cancelled = "-ERR Authentication cancelled",
    .malformed = "-ERR Invalid SASL response",
    .verified = verify_done,
};

PrCommandResult
pop3_cmd_auth(PrConnection *conn, gpointer session, const char *args)
{
    Pop3Session *s = session;
    PrSaslMechanisms mechanisms = pop3_sasl_mechanisms(conn);
    g_auto(GStrv) parts = NULL;

    if (*args == '\0') {
        /* The mechanism list some clients ask for before CAPA existed. */
        g_autofree char *names = pr_sasl_mechanism_names(mechanisms, "\r\n");
        g_autofree char *listing =
            g_strdup_printf("+OK List of SASL mechanisms follows\r\n%s\r\n.\r\n", names);
        pr_connection_write(conn, listing, strlen(listing));
        return PR_COMMAND_DONE;
    }
    parts = g_strsplit(args, " ", 2);
    pop3_session_forget_auth(s);
    return pr_sasl_exchange_start_full(conn, parts[0], parts[1], &pop3_sasl, mechanisms);
}
