/* SPDX-License-Identifier: GPL-3.0-or-later */

/* RETR and TOP: the store reads the message in dot-stuffed chunks on a
 * worker thread and the main loop only writes them, waiting for the client
 * to drain its output before producing more, so one large message costs at
 * most two chunks of memory however slow the client is. During a download
 * in order the mailbox has usually read the next message ahead already,
 * and RETR answers it at once. */

#include "postroom-config.h"

#include <string.h>

#include "pop3.h"

static void read_next(PrConnection *conn, Pop3Session *s);

/* Ends the stream: frees the reader and lets the mailbox close if the
 * connection has already gone. */
static void
stream_end(Pop3Session *s)
{
    g_clear_pointer(&s->reader, pr_message_reader_free);
    pop3_session_op_end(s);
}

static void
drained(PrConnection *conn, gpointer user_data)
{
    Pop3Session *s = pr_connection_get_session(conn);

    if (pr_connection_is_closed(conn))
        stream_end(s);
    else
        read_next(conn, s);
    pr_connection_unref(conn);
}

static void
chunk_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
    g_autoptr(PrConnection) conn = user_data;
    Pop3Session *s = pr_connection_get_session(conn);
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) chunk = NULL;
    gboolean last = FALSE;
    gsize len = 0;
    const char *data;

    chunk = pr_message_reader_next_finish(s->reader, result, &last, &error);
    if (pr_connection_is_closed(conn)) {
        stream_end(s);
        return;
    }
    if (chunk == NULL) {
        g_warning("user %s: cannot read a message: %s", s->login, error->message);
        if (s->header != NULL) {
            pr_connection_reply(conn, "-ERR [SYS/TEMP] Cannot read the message, try again later");
            g_clear_pointer(&s->header, g_free);
            stream_end(s);
            pr_connection_resume(conn);
        } else {
            /* Part of the body is out: the client cannot tell a cut
             * message from a whole one unless the connection drops. */
            stream_end(s);
            pr_connection_close(conn);
        }
        return;
    }
    data = g_bytes_get_data(chunk, &len);
    if (s->header != NULL) {
        /* The status line and the first chunk in one write. */
        gsize hlen = strlen(s->header);
        g_autofree char *first = g_malloc(hlen + len);

        memcpy(first, s->header, hlen);
        if (len > 0)
            memcpy(first + hlen, data, len);
        pr_connection_write(conn, first, hlen + len);
        g_clear_pointer(&s->header, g_free);
    } else if (len > 0) {
        pr_connection_write(conn, data, len);
    }
    if (last) {
        stream_end(s);
        pr_connection_resume(conn);
    } else if (pr_connection_get_output_pending(conn) > POP3_OUTPUT_HIGH_WATER) {
        pr_connection_wait_output(conn, drained, pr_connection_ref(conn));
    } else {
        read_next(conn, s);
    }
}

static void
read_next(PrConnection *conn, Pop3Session *s)
{
    pr_message_reader_next_async(s->reader, pr_connection_get_cancellable(conn), chunk_done,
                                 pr_connection_ref(conn));
}

static PrCommandResult
stream_message(PrConnection *conn, Pop3Session *s, guint index, int body_lines)
{
    if (body_lines < 0)
        s->header = g_strdup_printf("+OK %" G_GINT64_FORMAT " octets\r\n",
                                    pr_mailbox_get_size(s->mailbox, index));
    else
        s->header = g_strdup("+OK Top of message follows\r\n");
    s->reader = pr_mailbox_read_message(s->mailbox, index, PR_MESSAGE_DOT_STUFFED, body_lines);
    /* A message the mailbox has read ahead is answered now, and pipelined
     * RETRs that follow go out in the same write. Not while much output
     * waits: then the streaming path below waits for the client. */
    if (pr_connection_get_output_pending(conn) <= POP3_OUTPUT_HIGH_WATER) {
        gboolean last = FALSE;
        g_autoptr(GBytes) chunk = pr_message_reader_try_next(s->reader, &last);

        if (chunk != NULL) {
            gsize len = 0;
            const char *data = g_bytes_get_data(chunk, &len);

            /* Both land in the output buffer and leave in one write: the
             * handler runs inside the connection's dispatch. */
            pr_connection_write(conn, s->header, strlen(s->header));
            pr_connection_write(conn, data, len);
            g_clear_pointer(&s->header, g_free);
            if (last) {
                g_clear_pointer(&s->reader, pr_message_reader_free);
                return PR_COMMAND_DONE;
            }
        }
    }
    pop3_session_op_begin(s);
    read_next(conn, s);
    return PR_COMMAND_ASYNC;
}

PrCommandResult
pop3_cmd_retr(PrConnection *conn, gpointer session, const char *args)
{
    Pop3Session *s = session;
    PrCommandResult result;
    guint index;

    if (!pop3_message_arg(conn, s, args, &index, &result))
        return result;
    s->retrieved++;
    return stream_message(conn, s, index, -1);
}

PrCommandResult
pop3_cmd_top(PrConnection *conn, gpointer session, const char *args)
{
    Pop3Session *s = session;
    g_auto(GStrv) parts = g_strsplit(args, " ", -1);
    PrCommandResult result;
    guint64 lines;
    guint index;

    if (g_strv_length(parts) != 2 || *parts[1] == '\0' || strlen(parts[1]) > 10 ||
        strspn(parts[1], "0123456789") != strlen(parts[1])) {
        pr_connection_reply(conn, "-ERR Syntax: TOP message lines");
        return pr_connection_bad_command(conn) ? PR_COMMAND_CLOSE : PR_COMMAND_DONE;
    }
    if (!pop3_message_arg(conn, s, parts[0], &index, &result))
        return result;
    s->retrieved++;
    lines = g_ascii_strtoull(parts[1], NULL, 10);
    return stream_message(conn, s, index, (int)MIN(lines, (guint64)G_MAXINT));
}
