/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The mail transactions of an SMTP session: one per message and per
 * max_recipients_per_message recipients, MAIL, RCPT and DATA pipelined when
 * the server offers PIPELINING (RFC 2920), with SIZE (RFC 1870), 8BITMIME
 * (RFC 6152), SMTPUTF8 (RFC 6531) and the DSN parameters (RFC 3461) when
 * they apply and are offered. Each recipient's outcome is recorded as soon
 * as its reply is known; "delivered" only after the final reply to the
 * message's data. An 8-bit message for a server without 8BITMIME is sent
 * converted to 7 bits (sender-8bit.c, on a worker thread: a large message
 * takes a while); the queued copy stays as it is. */

#include "postroom-config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "sender-8bit.h"
#include "sender-session.h"

void
sender_txn_cmd_free(Cmd *c)
{
    g_free(c->line);
    g_free(c);
}

static gboolean
is_ascii(const char *text)
{
    for (const char *p = text; *p != '\0'; p++) {
        if ((guchar)*p >= 0x80)
            return FALSE;
    }
    return TRUE;
}

/* An ESMTP parameter value from the queue goes on the wire only if it is
 * one printable word (RFC 3461 xtext is). */
static gboolean
safe_param(const char *value)
{
    if (value == NULL || *value == '\0')
        return FALSE;
    for (const char *p = value; *p != '\0'; p++) {
        if (*p <= ' ' || *p > '~')
            return FALSE;
    }
    return TRUE;
}

static gboolean
safe_address(const char *address)
{
    return strpbrk(address, "<>\r\n ") == NULL;
}

/* The host's delivery put a Return-Path line on top of the stored copy;
 * RFC 5321 §4.4: it belongs to final delivery and is not sent on. */
static gsize
return_path_length(GBytes *data)
{
    gsize len;
    const char *p = g_bytes_get_data(data, &len);
    gsize i;

    if (len < 12 || g_ascii_strncasecmp(p, "Return-Path:", 12) != 0)
        return 0;
    for (i = 12; i < len; i++) {
        if (p[i] == '\n' && (i + 1 >= len || (p[i + 1] != ' ' && p[i + 1] != '\t')))
            return i + 1;
    }
    return 0;
}

/* RFC 5321 §4.5.2: a line that starts with a dot gets another; the data
 * ends with CRLF . CRLF. The stored message has CRLF line ends. */
static GBytes *
dot_stuff(GBytes *data)
{
    gsize len;
    const char *p = g_bytes_get_data(data, &len);
    GByteArray *out = g_byte_array_sized_new((guint)(len + len / 64 + 8));
    gboolean bol = TRUE;

    for (gsize i = return_path_length(data); i < len; i++) {
        if (bol && p[i] == '.')
            g_byte_array_append(out, (const guint8 *)".", 1);
        bol = p[i] == '\n';
        g_byte_array_append(out, (const guint8 *)&p[i], 1);
    }
    if (len > 0 && !bol)
        g_byte_array_append(out, (const guint8 *)"\r\n", 2);
    g_byte_array_append(out, (const guint8 *)".\r\n", 3);
    return g_byte_array_free_to_bytes(out);
}

static void
record(SenderSession *s, const PrQueueEntry *e, SenderResult result, const char *reply)
{
    sender_record(s->sender, s->msg, e, result, reply, s->remote);
}

static void
end_transaction(SenderSession *s)
{
    s->rcpt_offset = s->chunk_end;
    g_ptr_array_set_size(s->cmds, 0);
    g_ptr_array_set_size(s->accepted, 0);
    s->final_dot = FALSE;
    sender_txn_next(s);
}

/* Connection lost, timed out or stopped after transactions began: what the
 * current transaction left open and everything after it is deferred (or
 * given back, when stopping). */
void
sender_txn_session_failed(SenderSession *s, const char *error)
{
    SenderResult result = s->stopped ? SENDER_RESULT_RELEASE : SENDER_RESULT_TEMPORARY;

    if (!s->stopped)
        sender_session_server_error(s, error);
    if (s->msg != NULL) {
        for (guint i = s->rcpt_offset; i < s->msg->rcpts->len; i++)
            record(s, s->msg->rcpts->pdata[i], result, error);
    }
    sender_session_fail_all(s, result, error);
}

static void
on_final(SenderSession *s, const Reply *r)
{
    SenderResult result = sender_reply_classify(r->code);

    s->final_dot = FALSE;
    for (guint i = 0; i < s->accepted->len; i++)
        record(s, s->accepted->pdata[i], result, r->text);
    if (r->code == 421) {
        sender_txn_session_failed(s, r->text);
        return;
    }
    end_transaction(s);
}

static void
on_empty_data(SenderSession *s, const Reply *r)
{
    end_transaction(s);
}

static void send_next_cmd(SenderSession *s);

static void
on_txn_reply(SenderSession *s, const Reply *r)
{
    Cmd *c = s->cmds->pdata[s->replied++];
    SenderResult result = sender_reply_classify(r->code);
    gboolean last = s->replied == s->cmds->len;

    switch (c->kind) {
    case CMD_RSET:
        s->need_rset = FALSE;
        break;
    case CMD_MAIL:
        s->mail_ok = result == SENDER_RESULT_OK;
        if (!s->mail_ok) {
            for (guint i = 0; i < s->cmds->len; i++) {
                Cmd *rc = s->cmds->pdata[i];
                if (rc->kind == CMD_RCPT)
                    record(s, rc->entry, result, r->text);
            }
        }
        break;
    case CMD_RCPT:
        if (!s->mail_ok)
            break;
        if (result == SENDER_RESULT_OK)
            g_ptr_array_add(s->accepted, (gpointer)c->entry);
        else
            record(s, c->entry, result, r->text);
        break;
    case CMD_DATA:
        if (r->code == 354) {
            if (s->mail_ok && s->accepted->len > 0) {
                s->final_dot = TRUE;
                sender_session_write(s, dot_stuff(s->msg->wire), on_final);
            } else {
                /* RFC 2920 §3.1: DATA was accepted although no recipient
                 * was; an empty message closes the transaction. */
                sender_session_write(s, g_bytes_new_static(".\r\n", 3), on_empty_data);
            }
            return;
        }
        if (s->mail_ok) {
            for (guint i = 0; i < s->accepted->len; i++)
                record(s, s->accepted->pdata[i], result, r->text);
        }
        s->need_rset = TRUE;
        break;
    }
    if (r->code == 421) {
        sender_txn_session_failed(s, r->text);
        return;
    }
    if (last) {
        end_transaction(s);
        return;
    }
    if (s->pipelining) {
        sender_session_read_reply(s, on_txn_reply);
        return;
    }
    /* One command at a time: stop where the transaction cannot go on. */
    Cmd *next = s->cmds->pdata[s->replied];
    if (c->kind == CMD_MAIL && !s->mail_ok) {
        s->need_rset = TRUE;
        end_transaction(s);
        return;
    }
    if (next->kind == CMD_DATA && s->accepted->len == 0) {
        s->need_rset = TRUE;
        end_transaction(s);
        return;
    }
    send_next_cmd(s);
}

static void
send_next_cmd(SenderSession *s)
{
    Cmd *c = s->cmds->pdata[s->replied];

    sender_session_send_line(s, c->line, FALSE, on_txn_reply);
}

static void
add_cmd(SenderSession *s, CmdKind kind, char *line, const PrQueueEntry *entry)
{
    Cmd *c = g_new0(Cmd, 1);

    c->kind = kind;
    c->line = line;
    c->entry = entry;
    g_ptr_array_add(s->cmds, c);
}

static void
start_transaction(SenderSession *s)
{
    SenderMessage *m = s->msg;
    const PrQueueEntry *first = m->rcpts->pdata[0];
    guint max = s->route->max_rcpts_per_msg;
    gsize size;
    gboolean utf8 = !is_ascii(m->sender);
    g_autoptr(GPtrArray) chunk = g_ptr_array_new();

    s->chunk_end = max > 0 ? MIN(s->rcpt_offset + max, m->rcpts->len) : m->rcpts->len;
    for (guint i = s->rcpt_offset; i < s->chunk_end; i++) {
        const PrQueueEntry *e = m->rcpts->pdata[i];
        if (!g_hash_table_contains(s->sender->inflight, &e->id))
            continue; /* settled already */
        if (!safe_address(e->recipient) || !safe_address(m->sender)) {
            record(s, e, SENDER_RESULT_PERMANENT, "501 5.1.3 invalid address syntax");
            continue;
        }
        utf8 = utf8 || !is_ascii(e->recipient);
        g_ptr_array_add(chunk, (gpointer)e);
    }
    if (chunk->len == 0) {
        end_transaction(s);
        return;
    }
    if (m->unsendable != NULL) {
        for (guint i = 0; i < chunk->len; i++)
            record(s, chunk->pdata[i], SENDER_RESULT_PERMANENT, m->unsendable);
        end_transaction(s);
        return;
    }
    size = g_bytes_get_size(m->wire) - return_path_length(m->wire);
    if (s->has_size && s->size_limit > 0 && size > s->size_limit) {
        g_autofree char *text = g_strdup_printf("552 5.3.4 message size %" G_GSIZE_FORMAT
                                                " exceeds the limit %" G_GUINT64_FORMAT " of %s",
                                                size, s->size_limit, s->remote);
        for (guint i = 0; i < chunk->len; i++)
            record(s, chunk->pdata[i], SENDER_RESULT_PERMANENT, text);
        end_transaction(s);
        return;
    }
    if (utf8 && !s->smtputf8) {
        /* RFC 6531 §3.2: such a message cannot be relayed to this server. */
        for (guint i = 0; i < chunk->len; i++)
            record(s, chunk->pdata[i], SENDER_RESULT_PERMANENT,
                   "553 5.6.7 the server does not support SMTPUTF8 addresses");
        end_transaction(s);
        return;
    }

    m->hop_dsn = s->dsn;
    GString *mail = g_string_new(NULL);
    g_string_printf(mail, "MAIL FROM:<%s>", m->sender);
    if (s->has_size)
        g_string_append_printf(mail, " SIZE=%" G_GSIZE_FORMAT, size);
    if (s->eightbit && sender_8bit_any(m->wire))
        g_string_append(mail, " BODY=8BITMIME");
    if (utf8)
        g_string_append(mail, " SMTPUTF8");
    if (s->dsn && safe_param(first->ret))
        g_string_append_printf(mail, " RET=%s", first->ret);
    if (s->dsn && safe_param(first->envid))
        g_string_append_printf(mail, " ENVID=%s", first->envid);

    g_ptr_array_set_size(s->cmds, 0);
    g_ptr_array_set_size(s->accepted, 0);
    s->replied = 0;
    s->mail_ok = FALSE;
    if (s->need_rset)
        add_cmd(s, CMD_RSET, g_strdup("RSET"), NULL);
    add_cmd(s, CMD_MAIL, g_string_free(mail, FALSE), NULL);
    for (guint i = 0; i < chunk->len; i++) {
        const PrQueueEntry *e = chunk->pdata[i];
        GString *rcpt = g_string_new(NULL);
        g_string_printf(rcpt, "RCPT TO:<%s>", e->recipient);
        if (s->dsn && safe_param(e->notify))
            g_string_append_printf(rcpt, " NOTIFY=%s", e->notify);
        if (s->dsn && safe_param(e->orcpt))
            g_string_append_printf(rcpt, " ORCPT=%s", e->orcpt);
        add_cmd(s, CMD_RCPT, g_string_free(rcpt, FALSE), e);
    }
    add_cmd(s, CMD_DATA, g_strdup("DATA"), NULL);

    if (!s->pipelining) {
        send_next_cmd(s);
        return;
    }
    /* RFC 2920: the whole group in one write, the replies in order. */
    GString *group = g_string_new(NULL);
    for (guint i = 0; i < s->cmds->len; i++) {
        Cmd *c = s->cmds->pdata[i];
        g_debug("%s -> %s", s->remote, c->line);
        g_string_append(group, c->line);
        g_string_append(group, "\r\n");
    }
    gsize glen = group->len;
    sender_session_write(s, g_bytes_new_take(g_string_free(group, FALSE), glen), on_txn_reply);
}

/* ---- 8BITMIME downconversion ---- */

static void
convert_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
    GError *error = NULL;
    GBytes *out = sender_8bit_downconvert(data, &error);

    if (out == NULL)
        g_task_return_error(task, error);
    else
        g_task_return_pointer(task, out, (GDestroyNotify)g_bytes_unref);
}

static void
converted(GObject *source, GAsyncResult *result, gpointer data)
{
    SenderSession *s = data;
    SenderMessage *m = s->msg;
    g_autoptr(GError) error = NULL;
    GBytes *out = g_task_propagate_pointer(G_TASK(result), &error);

    if (s->stopped || s->timed_out) {
        g_clear_pointer(&out, g_bytes_unref);
        sender_txn_session_failed(s, s->stopped ? "451 4.3.2 shutting down"
                                                : "451 4.4.2 timed out converting the message");
        return;
    }
    if (out == NULL) {
        /* RFC 6152 §3: what cannot be converted is not delivered to this
         * hop (it would be a different message, or refused). */
        m->unsendable = g_strdup_printf(
            "554 5.6.3 %s does not offer 8BITMIME and the message cannot be converted to 7 "
            "bits: %s",
            s->remote, error->message);
        pr_log_event(G_LOG_LEVEL_MESSAGE, "SENDER_8BIT_UNSENDABLE",
                     _("message %lld cannot go to %s: %s"), (long long)m->message_id, s->remote,
                     error->message);
    } else {
        g_debug("message %" G_GINT64_FORMAT " converted to 7 bits for %s (%" G_GSIZE_FORMAT
                " -> %" G_GSIZE_FORMAT " bytes)",
                m->message_id, s->remote, g_bytes_get_size(m->data), g_bytes_get_size(out));
        m->wire = out;
    }
    start_transaction(s);
}

/* The message's text is here: what goes on the wire is decided once per
 * message (its recipient chunks share it). */
static void
prepare_message(SenderSession *s)
{
    SenderMessage *m = s->msg;

    if (m->wire != NULL || m->unsendable != NULL) {
        start_transaction(s);
        return;
    }
    if (s->eightbit || !sender_8bit_any(m->data)) {
        m->wire = g_bytes_ref(m->data);
        start_transaction(s);
        return;
    }
    GTask *task = g_task_new(NULL, NULL, converted, s);
    g_task_set_task_data(task, g_bytes_ref(m->data), (GDestroyNotify)g_bytes_unref);
    sender_session_arm(s, s->sender->config->command_timeout);
    g_task_run_in_thread(task, convert_thread);
    g_object_unref(task);
}

static void
message_read(GObject *source, GAsyncResult *result, gpointer data)
{
    SenderSession *s = data;
    g_autoptr(GError) error = NULL;

    s->msg->data = pr_queue_read_message_finish(s->sender->host, result, &error);
    if (s->msg->data == NULL) {
        if (s->stopped) {
            sender_txn_session_failed(s, "451 4.3.2 shutting down");
            return;
        }
        g_autofree char *text =
            g_strdup_printf("451 4.3.0 cannot read the queued message: %s", error->message);
        for (guint i = 0; i < s->msg->rcpts->len; i++)
            record(s, s->msg->rcpts->pdata[i], SENDER_RESULT_TEMPORARY, text);
        s->chunk_end = s->msg->rcpts->len;
        end_transaction(s);
        return;
    }
    prepare_message(s);
}

static void
on_quit(SenderSession *s, const Reply *r)
{
    sender_session_end(s);
}

void
sender_txn_next(SenderSession *s)
{
    SenderJob *job = s->job;

    if (s->msg != NULL && s->rcpt_offset >= s->msg->rcpts->len) {
        sender_message_finish(s->msg);
        s->msg = NULL;
        s->msg_index++;
        s->rcpt_offset = 0;
    }
    if (s->stopped) {
        sender_txn_session_failed(s, "451 4.3.2 shutting down");
        return;
    }
    if (s->msg_index >= job->messages->len) {
        s->quitting = TRUE;
        sender_session_send_line(s, "QUIT", FALSE, on_quit);
        return;
    }
    if (s->msg == NULL) {
        s->msg = job->messages->pdata[s->msg_index];
        s->rcpt_offset = 0;
    }
    if (s->msg->data == NULL) {
        sender_session_arm(s, s->sender->config->command_timeout);
        pr_queue_read_message_async(s->sender->host, s->msg->rcpts->pdata[0], s->cancellable,
                                    message_read, s);
        return;
    }
    prepare_message(s);
}
