/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The life of an SMTP session: greeting, EHLO/HELO and the capabilities,
 * the commands outside a transaction (RSET, NOOP, QUIT, HELP), what TLS
 * and the end of the connection make the session forget, and the relay
 * and Received: facts the other files ask for. */

#include "postroom-config.h"

#include <string.h>

#include "smtp.h"

void
smtp_greeting(PrConnection *conn, gpointer session)
{
    pr_connection_replyf(conn, "220 %s Postroom ESMTP ready",
                         pr_host_get_hostname(pr_connection_get_host(conn)));
}

void
smtp_session_forget_auth(SmtpSession *s)
{
    g_clear_pointer(&s->auth_user, g_free);
}

void
smtp_transaction_reset(PrConnection *conn, SmtpSession *s)
{
    g_clear_pointer(&s->envelope, pr_envelope_free);
    g_clear_pointer(&s->sender, g_free);
    s->mail_size = -1;
    s->sender_limit = 0;
    g_clear_pointer(&s->rcpts, g_ptr_array_unref);
    g_clear_pointer(&s->dsn, smtp_dsn_free);
    g_clear_pointer(&s->pending, smtp_path_free);
    smtp_body_clear(&s->body);
    s->smtputf8 = FALSE;
    s->bdat = FALSE;
    s->delivering = FALSE;
    if (conn != NULL)
        pr_connection_set_state(conn, s->helo != NULL ? SMTP_STATE_READY : SMTP_STATE_INIT);
}

void
smtp_tls_started(PrConnection *conn, gpointer session)
{
    SmtpSession *s = session;

    /* RFC 3207 §4.2: forget everything learnt in plaintext, EHLO included
     * (the host has set the state back to INIT). */
    smtp_session_forget_auth(s);
    smtp_transaction_reset(NULL, s);
    g_clear_pointer(&s->helo, g_free);
    s->esmtp = FALSE;
}

void
smtp_session_finish(PrConnection *conn, gpointer session)
{
    SmtpSession *s = session;

    /* A message cut off in DATA or BDAT is simply dropped: nothing was
     * stored, and the client got no 250 for it. */
    if (s->sender != NULL && !s->delivering && (s->body.data != NULL || s->body.size > 0))
        g_info("connection %" G_GUINT64_FORMAT " from %s closed during a message; "
               "nothing stored",
               pr_connection_get_id(conn), pr_connection_get_peer_ip(conn));
    g_debug("connection %" G_GUINT64_FORMAT " ended after %u messages", pr_connection_get_id(conn),
            s->transactions);
    smtp_session_forget_auth(s);
    smtp_transaction_reset(NULL, s);
    g_clear_pointer(&s->helo, g_free);
}

gboolean
smtp_may_relay(PrConnection *conn, SmtpSession *s)
{
    gint64 window;

    if (s->auth_user != NULL || pr_connection_is_trusted(conn))
        return TRUE;
    /* POP-before-SMTP (VPOP3's "Require POP3 then SMTP authentication"). */
    window = smtp_module_int(conn, "pop_before_smtp");
    return window > 0 && pr_auth_recent_login(pr_connection_get_host(conn),
                                              pr_connection_get_peer_ip(conn), (guint)window);
}

const char *
smtp_received_protocol(PrConnection *conn, SmtpSession *s)
{
    gboolean tls = pr_connection_is_tls(conn);
    gboolean auth = s->auth_user != NULL;

    /* RFC 3848 and RFC 6531 §3.7.3. */
    if (s->smtputf8)
        return tls && auth ? "UTF8SMTPSA" : tls ? "UTF8SMTPS" : auth ? "UTF8SMTPA" : "UTF8SMTP";
    if (!s->esmtp)
        return "SMTP";
    return tls && auth ? "ESMTPSA" : tls ? "ESMTPS" : auth ? "ESMTPA" : "ESMTP";
}

static void
send_capabilities(PrConnection *conn, SmtpSession *s)
{
    GString *out = g_string_new(NULL);
    PrHost *host = pr_connection_get_host(conn);

    g_string_append_printf(out, "250-%s Hello %s [%s]\r\n", pr_host_get_hostname(host), s->helo,
                           pr_connection_get_peer_ip(conn));
    g_string_append(out, "250-PIPELINING\r\n");
    g_string_append_printf(out, "250-SIZE %" G_GINT64_FORMAT "\r\n",
                           smtp_service_int(conn, "max_message_size"));
    g_string_append(out, "250-8BITMIME\r\n"
                         "250-ENHANCEDSTATUSCODES\r\n");
    if (pr_connection_can_starttls(conn))
        g_string_append(out, "250-STARTTLS\r\n");
    /* CRAM-MD5 only where enabled (it needs stored secrets); no
     * DIGEST-MD5 or SCRAM. */
    if (smtp_auth_offered(conn, s)) {
        g_autofree char *names = pr_sasl_mechanism_names(smtp_auth_mechanisms(conn), " ");
        g_string_append_printf(out, "250-AUTH %s\r\n", names);
    }
    g_string_append(out, "250-SMTPUTF8\r\n"
                         "250-DSN\r\n"
                         "250-CHUNKING\r\n"
                         "250 HELP\r\n");
    pr_connection_write(conn, out->str, out->len);
    g_string_free(out, TRUE);
}

static void
helo_hook_done(PrConnection *conn, SmtpSession *s, const char *reply)
{
    if (reply != NULL) {
        /* The name was refused: the session has none until a later
         * EHLO/HELO is accepted. */
        g_clear_pointer(&s->helo, g_free);
        pr_connection_set_state(conn, SMTP_STATE_INIT);
        pr_connection_reply(conn, reply);
        if (smtp_reply_closes(reply))
            pr_connection_close(conn);
    } else {
        pr_connection_set_state(conn, SMTP_STATE_READY);
        if (s->esmtp)
            send_capabilities(conn, s);
        else
            pr_connection_replyf(conn, "250 %s Hello %s [%s]",
                                 pr_host_get_hostname(pr_connection_get_host(conn)), s->helo,
                                 pr_connection_get_peer_ip(conn));
    }
    pr_connection_resume(conn);
}

static PrCommandResult
hello(PrConnection *conn, SmtpSession *s, const char *args, gboolean esmtp)
{
    g_autofree char *name = NULL;
    const char *space = strchr(args, ' ');
    PrHookContext *ctx;

    /* The name is the first word; some clients add more. */
    name = space != NULL ? g_strndup(args, space - args) : g_strdup(args);
    if (!smtp_valid_helo(name)) {
        pr_connection_replyf(conn, "501 5.5.4 Syntax: %s hostname", esmtp ? "EHLO" : "HELO");
        return pr_connection_bad_command(conn) ? PR_COMMAND_CLOSE : PR_COMMAND_DONE;
    }
    /* RFC 5321 §4.1.4: a new EHLO/HELO also ends any transaction. */
    smtp_transaction_reset(conn, s);
    g_free(s->helo);
    s->helo = g_steal_pointer(&name);
    s->esmtp = esmtp;
    ctx = smtp_hook_context_new(conn, s, PR_SMTP_HOOK_HELO);
    pr_hook_context_set(ctx, "command", esmtp ? "EHLO" : "HELO");
    smtp_hook_run(conn, ctx, PR_SMTP_HOOK_HELO, helo_hook_done);
    pr_hook_context_unref(ctx);
    return PR_COMMAND_ASYNC;
}

PrCommandResult
smtp_cmd_ehlo(PrConnection *conn, gpointer session, const char *args)
{
    return hello(conn, session, args, TRUE);
}

PrCommandResult
smtp_cmd_helo(PrConnection *conn, gpointer session, const char *args)
{
    return hello(conn, session, args, FALSE);
}

PrCommandResult
smtp_cmd_rset(PrConnection *conn, gpointer session, const char *args)
{
    smtp_transaction_reset(conn, session);
    pr_connection_reply(conn, "250 2.0.0 Ok");
    return PR_COMMAND_DONE;
}

PrCommandResult
smtp_cmd_noop(PrConnection *conn, gpointer session, const char *args)
{
    /* RFC 5321 §4.1.1.9: a parameter is allowed and ignored. */
    pr_connection_reply(conn, "250 2.0.0 Ok");
    return PR_COMMAND_DONE;
}

PrCommandResult
smtp_cmd_quit(PrConnection *conn, gpointer session, const char *args)
{
    pr_connection_replyf(conn, "221 2.0.0 %s closing connection",
                         pr_host_get_hostname(pr_connection_get_host(conn)));
    return PR_COMMAND_CLOSE;
}

PrCommandResult
smtp_cmd_help(PrConnection *conn, gpointer session, const char *args)
{
    pr_connection_reply(conn, "214-Commands:");
    pr_connection_reply(conn, "214-  EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP");
    pr_connection_reply(conn, "214-  STARTTLS AUTH VRFY EXPN");
    pr_connection_reply(conn, "214 2.0.0 End of HELP info");
    return PR_COMMAND_DONE;
}
