/* SPDX-License-Identifier: GPL-3.0-or-later */

/* MAIL and RCPT: the envelope, the service's TLS and authentication
 * requirements, and the relay policy. Every recipient is judged by the
 * router at RCPT time, so an unknown local user is refused in the dialogue
 * (never accepted and bounced later: backscatter, specification 3.8). A
 * remote recipient means relaying, which only an authenticated session, a
 * trusted ("noauth") address or a recent POP3 login from the same address
 * may do (VPOP3's rules, specification 1.2). */

#include "postroom-config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "smtp.h"

#define RELAY_DENIED "550 5.7.1 Relaying not allowed! Bad sender IP address"

/* Answers a parse failure of MAIL (@mail) or RCPT; returns the result. */
static PrCommandResult
parse_error(PrConnection *conn, SmtpParseStatus st, const SmtpPath *path, gboolean mail)
{
    switch (st) {
    case SMTP_PARSE_UNKNOWN:
        /* RFC 5321 §4.1.1.11 */
        pr_connection_replyf(conn, "555 5.5.4 %s", path->error);
        break;
    case SMTP_PARSE_NEEDS_UTF8:
        /* RFC 6531 §3.5 */
        pr_connection_reply(conn, "553 5.6.7 Non-ASCII address requires SMTPUTF8");
        break;
    case SMTP_PARSE_TOO_LONG:
    case SMTP_PARSE_BAD_ADDRESS:
        pr_connection_replyf(conn, "501 %s %s", mail ? "5.1.7" : "5.1.3", path->error);
        break;
    case SMTP_PARSE_SYNTAX:
    default:
        pr_connection_replyf(conn, "501 5.5.4 %s",
                             path->error != NULL ? path->error : "Syntax error");
        break;
    }
    return pr_connection_bad_command(conn) ? PR_COMMAND_CLOSE : PR_COMMAND_DONE;
}

/* ---- MAIL ---- */

static void
mail_accepted(PrConnection *conn, SmtpSession *s)
{
    pr_connection_set_state(conn, SMTP_STATE_MAIL);
    pr_connection_replyf(conn, "250 2.1.0 Sender <%s> OK", s->sender);
    pr_connection_resume(conn);
}

static void
sender_checked(GObject *source, GAsyncResult *result, gpointer user_data)
{
    g_autoptr(PrConnection) conn = user_data;
    g_autoptr(GError) error = NULL;
    PrRecipientStatus status;
    SmtpSession *s = pr_connection_get_session(conn);

    status = pr_delivery_check_recipient_finish(pr_connection_get_host(conn), result, &error);
    if (pr_connection_is_closed(conn))
        return;
    /* A trusted client (or POP-before-SMTP) writing as one of our users or
     * lists is a local sender: lists for local senders take its mail. */
    if (error == NULL && (status == PR_RECIPIENT_LOCAL || status == PR_RECIPIENT_REFUSED))
        pr_envelope_set_sender_local(s->envelope, TRUE);
    mail_accepted(conn, s);
}

/* The sender is judged: local (relay check) or not, then accepted. */
static void
mail_checked(PrConnection *conn, SmtpSession *s)
{
    if (s->auth_user == NULL && *s->sender != '\0' && smtp_may_relay(conn, s)) {
        pr_delivery_check_recipient_async(pr_connection_get_host(conn), s->envelope, s->sender,
                                          pr_connection_get_cancellable(conn), sender_checked,
                                          pr_connection_ref(conn));
        return;
    }
    mail_accepted(conn, s);
}

char *
smtp_too_big_reply(SmtpSession *s)
{
    /* The user's limit is named: the administrator set it for this sender,
     * and the client can tell the user what to do. */
    if (s->sender_limit > 0 && s->body.limit == s->sender_limit)
        return g_strdup_printf("552 5.2.3 Message too large: this sender may send at most "
                               "%" G_GINT64_FORMAT " bytes",
                               s->sender_limit);
    return g_strdup("552 5.2.3 Message too large - contact your administrator");
}

/* VPOP3's per-user "Max Outgoing Message Size", for every recipient: the
 * authenticated user's, else that of the local user MAIL FROM names. */
static void
sender_looked_up(GObject *source, GAsyncResult *result, gpointer user_data)
{
    g_autoptr(PrConnection) conn = user_data;
    g_autoptr(GError) error = NULL;
    g_autoptr(PrUser) user = NULL;
    SmtpSession *s = pr_connection_get_session(conn);

    user = pr_delivery_lookup_sender_finish(pr_connection_get_host(conn), result, &error);
    if (pr_connection_is_closed(conn))
        return;
    if (error != NULL) {
        g_warning(_("cannot look up the sender <%s> of a message: %s"), s->sender, error->message);
        pr_connection_reply(conn, "451 4.3.0 Temporary failure, try again later");
        smtp_transaction_reset(conn, s);
        pr_connection_resume(conn);
        return;
    }
    s->sender_limit = user != NULL ? pr_user_get_max_outgoing_size(user) : 0;
    if (s->sender_limit > 0 && s->mail_size > s->sender_limit) {
        g_info("refusing a message from <%s> (ip=%s): SIZE=%" G_GINT64_FORMAT
               " is over the limit of user %s (%" G_GINT64_FORMAT " bytes)",
               s->sender, pr_connection_get_peer_ip(conn), s->mail_size, pr_user_get_name(user),
               s->sender_limit);
        pr_connection_replyf(conn,
                             "552 5.2.3 Message too large: this sender may send at most "
                             "%" G_GINT64_FORMAT " bytes",
                             s->sender_limit);
        smtp_transaction_reset(conn, s);
        pr_connection_resume(conn);
        return;
    }
    mail_checked(conn, s);
}

static void
mail_hook_done(PrConnection *conn, SmtpSession *s, const char *reply)
{
    g_autoptr(SmtpPath) path = g_steal_pointer(&s->pending);

    if (reply != NULL) {
        pr_connection_reply(conn, reply);
        if (smtp_reply_closes(reply))
            pr_connection_close(conn);
        pr_connection_resume(conn);
        return;
    }
    s->sender = g_strdup(path->address);
    s->mail_size = path->has_size ? path->size : -1;
    s->sender_limit = 0;
    s->smtputf8 = path->smtputf8;
    s->rcpts = g_ptr_array_new_with_free_func(g_free);
    s->envelope = pr_envelope_new(s->sender);
    pr_envelope_set_client(s->envelope, pr_connection_get_peer_ip(conn), s->helo,
                           smtp_received_protocol(conn, s));
    pr_envelope_set_auth_user(s->envelope, s->auth_user);
    if (path->ret != NULL || path->envid != NULL)
        pr_envelope_set_dsn(s->envelope, path->ret, path->envid);
    s->dsn = smtp_dsn_new(path->ret, path->envid);
    if (s->auth_user != NULL || *s->sender != '\0') {
        pr_delivery_lookup_sender_async(pr_connection_get_host(conn), s->envelope,
                                        pr_connection_get_cancellable(conn), sender_looked_up,
                                        pr_connection_ref(conn));
        return;
    }
    mail_checked(conn, s);
}

PrCommandResult
smtp_cmd_mail(PrConnection *conn, gpointer session, const char *args)
{
    SmtpSession *s = session;
    g_autoptr(SmtpPath) path = g_new0(SmtpPath, 1);
    SmtpParseStatus st = smtp_parse_mail(args, path);
    gint64 max = smtp_service_int(conn, "max_message_size");
    PrHookContext *ctx;
    g_autofree char *size = NULL;

    if (st != SMTP_PARSE_OK)
        return parse_error(conn, st, path, TRUE);
    if (smtp_service_bool(conn, "require_tls") && !pr_connection_is_tls(conn)) {
        pr_connection_reply(conn, "530 5.7.0 Must issue a STARTTLS command first");
        return PR_COMMAND_DONE;
    }
    if (smtp_service_bool(conn, "require_auth") && !smtp_may_relay(conn, s)) {
        pr_connection_reply(conn, "530 5.7.0 Authentication required");
        return PR_COMMAND_DONE;
    }
    /* RFC 1870 §6.1: refuse a declared size over the limit at once. */
    if (path->has_size && path->size > max) {
        pr_connection_reply(conn, "552 5.2.3 Message too large - contact your administrator");
        return PR_COMMAND_DONE;
    }
    ctx = smtp_hook_context_new(conn, s, PR_SMTP_HOOK_MAIL);
    pr_hook_context_set(ctx, "sender", path->address);
    if (path->has_size) {
        size = g_strdup_printf("%" G_GINT64_FORMAT, path->size);
        pr_hook_context_set(ctx, "size", size);
    }
    pr_hook_context_set(ctx, "body", path->body == SMTP_BODY_8BITMIME ? "8BITMIME" : "7BIT");
    pr_hook_context_set(ctx, "smtputf8", path->smtputf8 ? "yes" : "no");
    pr_hook_context_set(ctx, "ret", path->ret);
    pr_hook_context_set(ctx, "envid", path->envid);
    s->pending = g_steal_pointer(&path);
    smtp_hook_run(conn, ctx, PR_SMTP_HOOK_MAIL, mail_hook_done);
    pr_hook_context_unref(ctx);
    return PR_COMMAND_ASYNC;
}

/* ---- RCPT ---- */

static void
rcpt_hook_done(PrConnection *conn, SmtpSession *s, const char *reply)
{
    g_autoptr(SmtpPath) path = g_steal_pointer(&s->pending);

    if (reply != NULL) {
        pr_connection_reply(conn, reply);
        if (smtp_reply_closes(reply))
            pr_connection_close(conn);
    } else {
        pr_envelope_add_recipient(s->envelope, path->address, path->notify, path->orcpt);
        g_ptr_array_add(s->rcpts, g_strdup(path->address));
        smtp_dsn_add_recipient(s->dsn, path->notify, path->orcpt);
        pr_connection_set_state(conn, SMTP_STATE_RCPT);
        pr_connection_replyf(conn, "250 2.1.5 Recipient <%s> OK", path->address);
    }
    pr_connection_resume(conn);
}

/* Refuses a recipient for bad behaviour; the intrusion prevention may end
 * the session instead. Authenticated clients are not scored. */
static void
refuse_scored(PrConnection *conn, SmtpSession *s, SmtpIpsEvent event, const char *reply)
{
    if (s->auth_user == NULL && smtp_ips_record(conn, event)) {
        pr_connection_reply(conn, smtp_ips_blocked_reply);
        pr_connection_close(conn);
        return;
    }
    pr_connection_reply(conn, reply);
}

static void
rcpt_checked(GObject *source, GAsyncResult *result, gpointer user_data)
{
    g_autoptr(PrConnection) conn = user_data;
    g_autoptr(GError) error = NULL;
    SmtpSession *s = pr_connection_get_session(conn);
    PrRecipientStatus status;
    const char *address;
    g_autofree char *reply = NULL;
    PrHookContext *ctx;

    status = pr_delivery_check_recipient_finish(pr_connection_get_host(conn), result, &error);
    if (pr_connection_is_closed(conn))
        return;
    address = s->pending->address;
    if (error != NULL) {
        g_warning("cannot check recipient %s: %s", address, error->message);
        pr_connection_reply(conn, "451 4.3.0 Temporary failure, try again later");
        goto done;
    }
    switch (status) {
    case PR_RECIPIENT_LOCAL:
        break;
    case PR_RECIPIENT_REMOTE:
        if (smtp_may_relay(conn, s))
            break;
        g_info("relaying denied: ip=%s sender=<%s> recipient=<%s> service=%s",
               pr_connection_get_peer_ip(conn), s->sender, address,
               pr_connection_get_service(conn));
        refuse_scored(conn, s, SMTP_IPS_RELAY, RELAY_DENIED);
        goto done;
    case PR_RECIPIENT_UNKNOWN:
        reply =
            g_strdup_printf("550 5.1.1 <%s>: Recipient address rejected: User unknown", address);
        refuse_scored(conn, s, SMTP_IPS_BAD_RCPT, reply);
        goto done;
    case PR_RECIPIENT_REFUSED:
        pr_connection_replyf(conn,
                             "550 5.7.1 <%s>: Recipient address rejected: only local "
                             "senders may send to this list",
                             address);
        goto done;
    case PR_RECIPIENT_LOOP:
        pr_connection_replyf(conn, "554 5.4.6 <%s>: Mail loop detected", address);
        goto done;
    case PR_RECIPIENT_INVALID:
    default:
        pr_connection_replyf(conn, "501 5.1.3 <%s>: Bad recipient address syntax", address);
        goto done;
    }
    ctx = smtp_hook_context_new(conn, s, PR_SMTP_HOOK_RCPT);
    pr_hook_context_set(ctx, "recipient", address);
    pr_hook_context_set(ctx, "recipient_status",
                        status == PR_RECIPIENT_REMOTE ? "remote" : "local");
    pr_hook_context_set(ctx, "notify", s->pending->notify);
    pr_hook_context_set(ctx, "orcpt", s->pending->orcpt);
    smtp_hook_run(conn, ctx, PR_SMTP_HOOK_RCPT, rcpt_hook_done);
    pr_hook_context_unref(ctx);
    return;

done:
    g_clear_pointer(&s->pending, smtp_path_free);
    pr_connection_resume(conn);
}

PrCommandResult
smtp_cmd_rcpt(PrConnection *conn, gpointer session, const char *args)
{
    SmtpSession *s = session;
    g_autoptr(SmtpPath) path = NULL;
    SmtpParseStatus st;

    /* RFC 5321 §4.5.3.1.10: 452 and the client sends the rest later. */
    if (s->rcpts->len >= (guint)smtp_service_int(conn, "max_recipients")) {
        pr_connection_reply(conn, "452 4.5.3 Too many recipients");
        return PR_COMMAND_DONE;
    }
    path = g_new0(SmtpPath, 1);
    st = smtp_parse_rcpt(args, path);
    if (st != SMTP_PARSE_OK)
        return parse_error(conn, st, path, FALSE);
    if (!s->smtputf8 && smtp_non_ascii(path->address))
        return parse_error(conn, SMTP_PARSE_NEEDS_UTF8, path, FALSE);
    s->pending = g_steal_pointer(&path);
    pr_delivery_check_recipient_async(pr_connection_get_host(conn), s->envelope,
                                      s->pending->address, pr_connection_get_cancellable(conn),
                                      rcpt_checked, pr_connection_ref(conn));
    return PR_COMMAND_ASYNC;
}
