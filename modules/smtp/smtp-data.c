/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The message itself: DATA (RFC 5321 §4.1.1.4) and BDAT (RFC 3030). The
 * host hands us the raw byte stream (pr_connection_set_raw_handler), and
 * we find the end ourselves (the scanners are in smtp-scan.c).
 *
 * DATA ends only at CRLF "." CRLF. Every other spelling of a line end
 * around a dot (LF "." LF, CR "." CR, LF "." CRLF, CRLF "." LF) is message
 * content, so a message cannot smuggle a second one past us or past a
 * server we relay to (SMTP smuggling, CVE-2023-51764/51765/51766). A line
 * starts only after CRLF, so only there is a dot unstuffed or taken as the
 * end. Bare CR and LF are remembered; by default the message is then
 * refused after its end (bare_lf=reject), since it is malformed and other
 * servers read such line ends differently. NUL bytes likewise (nul=).
 * Lines of any length are accepted: only the message size is limited. */

#include "postroom-config.h"

#include "smtp.h"

static void
body_start(PrConnection *conn, SmtpSession *s)
{
    SmtpBody *body = &s->body;
    const char *nul = smtp_module_string(conn, "nul");

    smtp_body_clear(body);
    body->data = g_byte_array_sized_new(16 * 1024);
    body->limit = smtp_service_int(conn, "max_message_size");
    if (s->sender_limit > 0 && s->sender_limit < body->limit)
        body->limit = s->sender_limit;
    body->scan = SMTP_SCAN_LINE_START;
    body->nul_policy = g_strcmp0(nul, "strip") == 0     ? SMTP_NUL_STRIP
                       : g_strcmp0(nul, "replace") == 0 ? SMTP_NUL_REPLACE
                                                        : SMTP_NUL_REJECT;
}

static gsize
data_bytes(PrConnection *conn, gpointer session, const guint8 *data, gsize len,
           PrCommandResult *result)
{
    SmtpSession *s = session;
    gboolean ended = FALSE;
    gsize used = smtp_scan_data(&s->body, data, len, &ended);

    if (ended) {
        pr_connection_set_raw_handler(conn, NULL);
        *result = smtp_message_complete(conn, s);
    }
    return used;
}

PrCommandResult
smtp_cmd_data(PrConnection *conn, gpointer session, const char *args)
{
    SmtpSession *s = session;

    if (s->rcpts == NULL || s->rcpts->len == 0) {
        /* RFC 2920 §3.1: after refused recipients, DATA is refused too. */
        pr_connection_reply(conn, "554 5.5.1 No valid recipients");
        return PR_COMMAND_DONE;
    }
    body_start(conn, s);
    pr_connection_set_raw_handler(conn, data_bytes);
    pr_connection_reply(conn, "354 End data with <CR><LF>.<CR><LF>");
    return PR_COMMAND_DONE;
}

/* ---- BDAT ---- */

/* The chunk has been read in full. */
static PrCommandResult
chunk_done(PrConnection *conn, SmtpSession *s)
{
    SmtpBody *body = &s->body;

    if (body->chunk_discard) {
        pr_connection_reply(conn, body->chunk_error);
        g_clear_pointer(&body->chunk_error, g_free);
        body->chunk_discard = FALSE;
        return PR_COMMAND_DONE;
    }
    if (body->too_big) {
        /* RFC 3030 §3: the transaction has failed; later chunks of it are
         * read and refused (the session is back outside a transaction). */
        g_autofree char *reply = smtp_too_big_reply(s);
        pr_connection_reply(conn, reply);
        smtp_transaction_reset(conn, s);
        return PR_COMMAND_DONE;
    }
    if (!body->chunk_last) {
        pr_connection_replyf(conn, "250 2.0.0 %" G_GINT64_FORMAT " octets received", body->size);
        return PR_COMMAND_DONE;
    }
    return smtp_message_complete(conn, s);
}

static gsize
bdat_bytes(PrConnection *conn, gpointer session, const guint8 *data, gsize len,
           PrCommandResult *result)
{
    SmtpSession *s = session;
    SmtpBody *body = &s->body;
    gsize take = (gsize)MIN((gint64)len, body->chunk_left);

    if (!body->chunk_discard)
        smtp_scan_chunk(body, data, take);
    body->chunk_left -= take;
    if (body->chunk_left == 0) {
        pr_connection_set_raw_handler(conn, NULL);
        *result = chunk_done(conn, s);
    }
    return take;
}

PrCommandResult
smtp_cmd_bdat(PrConnection *conn, gpointer session, const char *args)
{
    SmtpSession *s = session;
    SmtpBody *body = &s->body;
    guint32 state = pr_connection_get_state(conn);
    gint64 size = 0;
    gboolean last = FALSE;

    if (!smtp_parse_bdat(args, &size, &last)) {
        /* Without a size the chunk cannot be told from commands: the only
         * safe thing is to stop reading. */
        pr_connection_reply(conn, "501 5.5.4 Syntax: BDAT size [LAST], closing connection");
        return PR_COMMAND_CLOSE;
    }
    if (state == SMTP_STATE_RCPT) {
        body_start(conn, s);
        s->bdat = TRUE;
        pr_connection_set_state(conn, SMTP_STATE_BDAT);
    }
    body->chunk_left = size;
    body->chunk_last = last;
    body->chunk_discard = FALSE;
    if (state == SMTP_STATE_MAIL) {
        body->chunk_discard = TRUE;
        body->chunk_error = g_strdup("554 5.5.1 No valid recipients");
    } else if (state != SMTP_STATE_RCPT && state != SMTP_STATE_BDAT) {
        body->chunk_discard = TRUE;
        body->chunk_error = g_strdup("503 5.5.1 Bad sequence of commands");
    }
    if (size == 0)
        return chunk_done(conn, s);
    pr_connection_set_raw_handler(conn, bdat_bytes);
    return PR_COMMAND_DONE;
}
