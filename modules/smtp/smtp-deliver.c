/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The end of a message, from DATA or BDAT LAST: the size and content
 * checks, the smtp-data hook, and delivery. The client gets 250 only once
 * pr_delivery_deliver_finish() has returned a report, that is once the
 * message is durably stored (in the local mailboxes and the outbound
 * queue, which the host does in one transaction). */

#include "postroom-config.h"

#include <string.h>

#include "smtp.h"

#define TOO_BIG "552 5.2.3 Message too large - contact your administrator"

/* The header section, for the hook: up to the first empty line. */
static char *
header_of(const GByteArray *data)
{
    gsize len = MIN(data->len, (gsize)SMTP_MAX_HOOK_HEADER);
    gsize end = len;

    for (gsize i = 0; i + 1 < len; i++) {
        if (data->data[i] != '\n')
            continue;
        if (data->data[i + 1] == '\n') {
            end = i + 1;
            break;
        }
        if (i + 2 < len && data->data[i + 1] == '\r' && data->data[i + 2] == '\n') {
            end = i + 1;
            break;
        }
    }
    return g_utf8_make_valid((const char *)data->data, end);
}

static char *
recipient_list(SmtpSession *s)
{
    GString *out = g_string_new(NULL);

    /* One per line: no address can contain a line end. */
    for (guint i = 0; i < s->rcpts->len; i++) {
        if (i > 0)
            g_string_append_c(out, '\n');
        g_string_append(out, s->rcpts->pdata[i]);
    }
    return g_string_free(out, FALSE);
}

static void
reply_and_reset(PrConnection *conn, SmtpSession *s, const char *reply)
{
    pr_connection_reply(conn, reply);
    smtp_transaction_reset(conn, s);
    if (smtp_reply_closes(reply))
        pr_connection_close(conn);
}

static const char *
delivery_error_reply(const GError *error)
{
    if (error != NULL && error->domain == PR_DELIVERY_ERROR) {
        switch (error->code) {
        case PR_DELIVERY_ERROR_TOO_MANY_HOPS:
            return "554 5.4.6 Too many hops - mail loop?";
        case PR_DELIVERY_ERROR_NO_SPACE:
            return "452 4.3.1 Insufficient system storage";
        case PR_DELIVERY_ERROR_TOO_BIG:
            return TOO_BIG;
        default:
            break;
        }
    }
    return "451 4.3.0 Temporary failure, try again later";
}

static gboolean
report_has(const PrDeliveryReport *report, guint n, PrRecipientStatus status)
{
    for (guint i = 0; i < n; i++) {
        if (pr_delivery_report_get_status(report, i) == status)
            return TRUE;
    }
    return FALSE;
}

static void
delivered(GObject *source, GAsyncResult *result, gpointer user_data)
{
    g_autoptr(PrConnection) conn = user_data;
    g_autoptr(GError) error = NULL;
    g_autoptr(PrDeliveryReport) report = NULL;
    SmtpSession *s = pr_connection_get_session(conn);

    report = pr_delivery_deliver_finish(pr_connection_get_host(conn), result, &error);
    /* Stored: the success reports are due whether or not the client
     * waits for its 250. */
    if (report != NULL && pr_delivery_report_get_stored(report))
        smtp_dsn_report_delivered(pr_connection_get_host(conn), s, report);
    if (pr_connection_is_closed(conn)) {
        if (report != NULL)
            g_info("message from <%s> stored, but the client left before the answer",
                   s->sender != NULL ? s->sender : "");
        return;
    }
    if (report == NULL) {
        g_info("message from <%s> not stored (ip=%s): %s", s->sender,
               pr_connection_get_peer_ip(conn), error != NULL ? error->message : "?");
        reply_and_reset(conn, s, delivery_error_reply(error));
    } else if (!pr_delivery_report_get_stored(report)) {
        /* A Delivered-To: loop the router saw in the header, or the
         * directory changed between RCPT and the end of the data. */
        g_info("message from <%s> refused for every recipient at delivery", s->sender);
        reply_and_reset(conn, s,
                        report_has(report, s->rcpts->len, PR_RECIPIENT_LOOP)
                            ? "554 5.4.6 Mail loop detected"
                            : "550 5.1.1 No recipient could be delivered");
    } else {
        for (guint i = 0; i < s->rcpts->len; i++) {
            PrRecipientStatus st = pr_delivery_report_get_status(report, i);
            if (st != PR_RECIPIENT_LOCAL && st != PR_RECIPIENT_REMOTE)
                g_warning("recipient <%s> of a message from <%s> was refused after it had "
                          "been accepted (status %d)",
                          (const char *)s->rcpts->pdata[i], s->sender, (int)st);
        }
        s->transactions++;
        g_info("accepted from=<%s> recipients=%u size=%" G_GINT64_FORMAT
               " ip=%s protocol=%s connection=%" G_GUINT64_FORMAT,
               s->sender, s->rcpts->len, s->body.size, pr_connection_get_peer_ip(conn),
               smtp_received_protocol(conn, s), pr_connection_get_id(conn));
        reply_and_reset(conn, s, "250 2.0.0 Message accepted for delivery");
    }
    pr_connection_resume(conn);
}

static void
data_hook_done(PrConnection *conn, SmtpSession *s, const char *reply)
{
    g_autoptr(GBytes) message = NULL;

    if (reply != NULL) {
        reply_and_reset(conn, s, reply);
        pr_connection_resume(conn);
        return;
    }
    message = g_byte_array_free_to_bytes(g_steal_pointer(&s->body.data));
    smtp_dsn_keep_message(s->dsn, s->sender, message);
    s->delivering = TRUE;
    pr_delivery_deliver_async(pr_connection_get_host(conn), s->envelope, message,
                              pr_connection_get_cancellable(conn), delivered,
                              pr_connection_ref(conn));
}

PrCommandResult
smtp_message_complete(PrConnection *conn, SmtpSession *s)
{
    SmtpBody *body = &s->body;
    g_autofree char *size = NULL;
    g_autofree char *rcpts = NULL;
    g_autofree char *header = NULL;
    PrHookContext *ctx;

    if (s->bdat && body->last_was_cr)
        body->bare_cr = TRUE;
    if (body->too_big) {
        g_autofree char *reply = smtp_too_big_reply(s);
        g_info("refusing a message from <%s> (ip=%s): %" G_GINT64_FORMAT
               " bytes, over the limit of %" G_GINT64_FORMAT,
               s->sender, pr_connection_get_peer_ip(conn), body->size, body->limit);
        reply_and_reset(conn, s, reply);
        return PR_COMMAND_DONE;
    }
    if ((body->bare_lf || body->bare_cr) &&
        g_strcmp0(smtp_module_string(conn, "bare_lf"), "accept") != 0) {
        g_info("refusing a message from <%s> (ip=%s): bare %s in the data", s->sender,
               pr_connection_get_peer_ip(conn), body->bare_lf ? "LF" : "CR");
        reply_and_reset(conn, s,
                        "554 5.6.11 Bare CR or LF in the message; lines must end with CRLF");
        return PR_COMMAND_DONE;
    }
    if (body->nul && body->nul_policy == SMTP_NUL_REJECT) {
        g_info("refusing a message from <%s> (ip=%s): NUL in the data", s->sender,
               pr_connection_get_peer_ip(conn));
        reply_and_reset(conn, s, "554 5.6.0 Message contains NUL characters");
        return PR_COMMAND_DONE;
    }
    ctx = smtp_hook_context_new(conn, s, PR_SMTP_HOOK_DATA);
    rcpts = recipient_list(s);
    size = g_strdup_printf("%" G_GINT64_FORMAT, body->size);
    header = header_of(body->data);
    pr_hook_context_set(ctx, "recipients", rcpts);
    pr_hook_context_set(ctx, "size", size);
    pr_hook_context_set(ctx, "header", header);
    smtp_hook_run(conn, ctx, PR_SMTP_HOOK_DATA, data_hook_done);
    pr_hook_context_unref(ctx);
    return PR_COMMAND_ASYNC;
}
