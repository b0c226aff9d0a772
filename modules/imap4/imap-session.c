/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The life of an IMAP session: the greeting, gathering each command with
 * its literals, dispatching it to the command table, answering, and the
 * end of the connection.
 *
 * Every line comes to imap_line(): the host knows nothing of tags. A line
 * that announces a literal switches to the raw handler until the literal's
 * bytes are in. A command and its literals are limited to
 * IMAP_MAX_COMMAND bytes, except APPEND's, which may carry a message of up
 * to `max_append_size`; a command over its limit is refused ("tag NO
 * [TOOBIG]" for APPEND, else "tag BAD") and the bytes of a literal already
 * announced as non-synchronising are read and thrown away. */

#include "postroom-config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "imap.h"

/* A command with all its literals, APPEND aside. */
#define IMAP_MAX_COMMAND (1024 * 1024)

static gsize imap_raw(PrConnection *conn, gpointer session, const guint8 *data, gsize len,
                      PrCommandResult *result);

void
imap_greeting(PrConnection *conn, gpointer session)
{
    ImapSession *s = session;
    g_autofree char *caps = NULL;

    s->conn = conn;
    imap_command_buffer_init(&s->buffer, IMAP_MAX_COMMAND);
    pr_connection_set_line_handler(conn, imap_line);
    caps = imap_capabilities(conn, s);
    pr_connection_replyf(conn, "* OK [CAPABILITY %s] Postroom IMAP4rev1 server ready", caps);
}

static void
forget_command(ImapSession *s)
{
    g_clear_pointer(&s->current, imap_command_free);
    s->uid_command = FALSE;
}

void
imap_tls_started(PrConnection *conn, gpointer session)
{
    ImapSession *s = session;

    /* RFC 3501 §6.2.1: the host went back to its own dispatch and to the
     * initial state; nothing said in plaintext survives. */
    pr_connection_set_line_handler(conn, imap_line);
    imap_command_buffer_reset(&s->buffer);
    g_clear_pointer(&s->sasl, pr_sasl_free);
    s->discarding = FALSE;
    s->literal_skip = 0;
    forget_command(s);
}

/* The tag at the start of @line, for refusing a command that cannot be
 * parsed (NULL if there is none). */
static char *
line_tag(const char *line, gsize len)
{
    gsize n = 0;

    while (n < len && line[n] != ' ' && line[n] != '{' && (guchar)line[n] > 0x20 &&
           (guchar)line[n] < 0x7f && line[n] != '*' && line[n] != '+')
        n++;
    return n > 0 && n < len && line[n] == ' ' ? g_strndup(line, n) : NULL;
}

/* Whether the command starting with @line is an APPEND (whose literal may
 * be a whole message). */
static gboolean
line_is_append(const char *line, gsize len)
{
    const char *space = memchr(line, ' ', len);

    if (space == NULL)
        return FALSE;
    space++;
    return (gsize)(line + len - space) >= 7 && g_ascii_strncasecmp(space, "APPEND ", 7) == 0;
}

static PrCommandResult
refuse_line(PrConnection *conn, const char *tag, const char *status, const char *text)
{
    pr_connection_replyf(conn, "%s %s %s", tag != NULL ? tag : "*", status, text);
    return pr_connection_bad_command(conn) ? PR_COMMAND_CLOSE : PR_COMMAND_DONE;
}

PrCommandResult
imap_command_bad(PrConnection *conn, ImapSession *s, const char *text)
{
    imap_command_done(conn, s, "BAD", text);
    return pr_connection_bad_command(conn) ? PR_COMMAND_CLOSE : PR_COMMAND_DONE;
}

PrCommandResult
imap_command_reply(PrConnection *conn, ImapSession *s, const char *status, const char *text)
{
    imap_command_done(conn, s, status, text);
    return PR_COMMAND_DONE;
}

void
imap_command_done(PrConnection *conn, ImapSession *s, const char *status, const char *text)
{
    if (s->current != NULL && status != NULL && !pr_connection_is_closed(conn))
        pr_connection_replyf(conn, "%s %s %s", s->current->tag, status, text);
    forget_command(s);
    if (s->dispatching)
        s->answered = TRUE;
    else
        pr_connection_resume(conn);
}

static PrCommandResult
dispatch(PrConnection *conn, ImapSession *s)
{
    g_autofree char *tag = NULL;
    g_autofree char *error_text = NULL;
    const ImapCommandSpec *spec;
    PrCommandResult r;
    ImapCommand *cmd;
    const char *data;
    gsize len;

    data = imap_command_buffer_data(&s->buffer, &len);
    cmd = imap_parse_command(data, len, &tag, &error_text);
    imap_command_buffer_reset(&s->buffer);
    if (cmd == NULL)
        return refuse_line(conn, tag, "BAD", error_text != NULL ? error_text : "Syntax error");
    spec = imap_find_command(cmd->name);
    if (spec == NULL) {
        r = refuse_line(conn, cmd->tag, "BAD", "Unknown command");
        imap_command_free(cmd);
        return r;
    }
    if ((spec->states & pr_connection_get_state(conn)) == 0) {
        r = refuse_line(conn, cmd->tag, "BAD", "Command not valid in this state");
        imap_command_free(cmd);
        return r;
    }
    if ((spec->flags & IMAP_CMD_AUTH) && !pr_connection_auth_allowed(conn)) {
        /* RFC 3501 §6.2.3: LOGINDISABLED is announced, so this is a NO. */
        pr_connection_replyf(conn, "%s NO [PRIVACYREQUIRED] TLS required before authentication",
                             cmd->tag);
        imap_command_free(cmd);
        return PR_COMMAND_DONE;
    }
    g_debug("connection %" G_GUINT64_FORMAT ": %s %s", pr_connection_get_id(conn), cmd->tag,
            (spec->flags & IMAP_CMD_SECRET) ? "(secret)" : cmd->name);
    s->current = cmd;
    s->uid_command = g_str_has_prefix(cmd->name, "UID ");
    s->dispatching = TRUE;
    s->answered = FALSE;
    r = spec->handler(conn, s, cmd);
    s->dispatching = FALSE;
    if (s->answered && r == PR_COMMAND_ASYNC)
        r = PR_COMMAND_DONE;
    /* A handler that answered at once by itself, without
     * imap_command_done(), leaves the command here. */
    if (r != PR_COMMAND_ASYNC && s->current == cmd && s->sasl == NULL && s->idle_tag == NULL)
        forget_command(s);
    return r;
}

/* A command over its size limit: refused, and what the client still sends
 * of it is thrown away. */
static PrCommandResult
refuse_too_big(PrConnection *conn, ImapSession *s, const char *line, gsize len,
               guint64 literal_size, gboolean synchronizing, gboolean literal)
{
    const char *data;
    gsize dlen;
    g_autofree char *tag = NULL;
    gboolean append;

    data = imap_command_buffer_data(&s->buffer, &dlen);
    if (dlen > 0) {
        tag = line_tag(data, dlen);
        append = line_is_append(data, dlen);
    } else {
        tag = line_tag(line, len);
        append = line_is_append(line, len);
    }
    imap_command_buffer_reset(&s->buffer);
    if (literal && !synchronizing) {
        /* RFC 7888 §4: the client sends the bytes anyway. */
        s->literal_skip = literal_size;
        s->discarding = TRUE;
        if (literal_size > 0)
            pr_connection_set_raw_handler(conn, imap_raw);
    } else {
        s->discarding = FALSE;
    }
    if (append)
        return refuse_line(conn, tag, "NO", "[TOOBIG] Message too large");
    return refuse_line(conn, tag, "BAD", "Command too long");
}

PrCommandResult
imap_line(PrConnection *conn, gpointer session, const char *line, gsize len)
{
    ImapSession *s = session;
    guint64 literal_size = 0;
    gboolean synchronizing = FALSE;
    gboolean bad = FALSE;

    if (s->idle_tag != NULL)
        return imap_idle_line(conn, s, line);
    if (s->sasl != NULL)
        return imap_sasl_line(conn, s, line);
    if (s->discarding) {
        /* The rest of a refused command: more literals, or its end. */
        if (imap_literal_announcement(line, len, &literal_size, &synchronizing, &bad) && !bad &&
            !synchronizing) {
            s->literal_skip = literal_size;
            if (literal_size > 0)
                pr_connection_set_raw_handler(conn, imap_raw);
        } else {
            s->discarding = FALSE;
        }
        return PR_COMMAND_DONE;
    }
    if (s->buffer.data->len == 0) {
        /* A new command: its limit depends on what it is. */
        s->buffer.limit = IMAP_MAX_COMMAND;
        if (line_is_append(line, len))
            s->buffer.limit = MAX((gsize)imap_setting_int(conn, "max_append_size") + 4096,
                                  (gsize)IMAP_MAX_COMMAND);
    }
    switch (imap_command_buffer_add_line(&s->buffer, line, len, &literal_size, &synchronizing)) {
    case IMAP_GATHER_COMPLETE:
        return dispatch(conn, s);
    case IMAP_GATHER_LITERAL:
        if (literal_size == 0) {
            imap_command_buffer_add_literal(&s->buffer, NULL, 0);
        } else {
            pr_connection_set_raw_handler(conn, imap_raw);
        }
        if (synchronizing)
            pr_connection_reply(conn, "+ Ready for literal data");
        return PR_COMMAND_DONE;
    case IMAP_GATHER_TOO_LONG: {
        /* The announcement again: add_line() sets its outputs only for a
         * literal it accepted. */
        gboolean literal =
            imap_literal_announcement(line, len, &literal_size, &synchronizing, &bad) && !bad;

        return refuse_too_big(conn, s, line, len, literal_size, synchronizing, literal);
    }
    case IMAP_GATHER_BAD_LENGTH:
    default: {
        const char *data;
        gsize dlen;
        g_autofree char *tag = NULL;

        data = imap_command_buffer_data(&s->buffer, &dlen);
        tag = dlen > 0 ? line_tag(data, dlen) : line_tag(line, len);
        imap_command_buffer_reset(&s->buffer);
        return refuse_line(conn, tag, "BAD", "Invalid literal length");
    }
    }
}

static gsize
imap_raw(PrConnection *conn, gpointer session, const guint8 *data, gsize len,
         PrCommandResult *result)
{
    ImapSession *s = session;
    gsize used;

    if (s->literal_skip > 0) {
        used = (gsize)MIN((guint64)len, s->literal_skip);
        s->literal_skip -= used;
        if (s->literal_skip == 0)
            pr_connection_set_raw_handler(conn, NULL);
        return used;
    }
    if (!imap_command_buffer_in_literal(&s->buffer)) {
        pr_connection_set_raw_handler(conn, NULL);
        return 0;
    }
    used = imap_command_buffer_add_literal(&s->buffer, data, len);
    if (!imap_command_buffer_in_literal(&s->buffer))
        pr_connection_set_raw_handler(conn, NULL);
    return used;
}

/* ---- the selected mailbox ---- */

void
imap_session_op_begin(ImapSession *s)
{
    s->busy++;
}

static void
free_session(ImapSession *s)
{
    imap_idle_stop(s);
    g_clear_pointer(&s->mailbox, pr_mailbox_close);
    g_clear_pointer(&s->mailbox_name, g_free);
    g_clear_pointer(&s->saved_search, g_array_unref);
    if (s->login_counted)
        imap_login_release(s->login);
    s->login_counted = FALSE;
    g_clear_pointer(&s->login, g_free);
}

void
imap_session_op_end(ImapSession *s)
{
    g_return_if_fail(s->busy > 0);
    s->busy--;
    if (s->finished && s->busy == 0)
        free_session(s);
}

void
imap_session_unselect(ImapSession *s)
{
    imap_idle_stop(s);
    g_clear_pointer(&s->mailbox, pr_mailbox_close);
    g_clear_pointer(&s->mailbox_name, g_free);
    g_clear_pointer(&s->saved_search, g_array_unref);
    s->read_only = FALSE;
    if (s->conn != NULL && pr_connection_get_state(s->conn) == IMAP_STATE_SELECTED)
        pr_connection_set_state(s->conn, IMAP_STATE_AUTHENTICATED);
}

void
imap_append_flags(GString *out, PrMailbox *mailbox, guint index)
{
    const char *flags = pr_mailbox_get_flags(mailbox, index);
    gboolean recent = pr_mailbox_is_recent(mailbox, index);

    g_string_append_c(out, '(');
    g_string_append(out, flags);
    if (recent)
        g_string_append(out, *flags != '\0' ? " \\Recent" : "\\Recent");
    g_string_append_c(out, ')');
}

typedef struct {
    PrConnection *conn;
    PrMailbox *mailbox;
    guint before; /* messages in the snapshot before the sync */
    GFunc then;
    gpointer data;
} SyncData;

static void
report_changes(PrConnection *conn, ImapSession *s, PrMailboxChanges *changes, guint before)
{
    g_autoptr(GString) out = g_string_new(NULL);
    guint after_expunges = before;
    PrMailbox *mb = s->mailbox;

    for (guint i = 0; i < changes->expunged->len; i++) {
        g_string_append_printf(out, "* %u EXPUNGE\r\n",
                               g_array_index(changes->expunged, guint, i) + 1);
        after_expunges--;
    }
    /* The client's count after the EXPUNGEs; more means new messages. */
    if (changes->exists != after_expunges)
        g_string_append_printf(out, "* %u EXISTS\r\n", changes->exists);
    if (changes->new_recent > 0) {
        guint recent = 0;

        for (guint i = 0; i < changes->exists; i++)
            recent += pr_mailbox_is_recent(mb, i) ? 1 : 0;
        g_string_append_printf(out, "* %u RECENT\r\n", recent);
    }
    for (guint i = 0; changes->changed != NULL && i < changes->changed->len; i++) {
        guint index = g_array_index(changes->changed, guint, i);

        if (index >= changes->exists)
            continue;
        g_string_append_printf(out, "* %u FETCH (FLAGS ", index + 1);
        imap_append_flags(out, mb, index);
        g_string_append_printf(out, " UID %u", pr_mailbox_get_uid(mb, index));
        if (s->enabled & IMAP_ENABLED_CONDSTORE)
            g_string_append_printf(out, " MODSEQ (%" G_GUINT64_FORMAT ")",
                                   pr_mailbox_get_modseq(mb, index));
        g_string_append(out, ")\r\n");
    }
    if (out->len > 0)
        pr_connection_write(conn, out->str, out->len);
}

static void
sync_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
    SyncData *data = user_data;
    PrConnection *conn = data->conn;
    ImapSession *s = pr_connection_get_session(conn);
    g_autoptr(GError) error = NULL;
    PrMailboxChanges *changes;

    changes = pr_mailbox_sync_finish(data->mailbox, result, &error);
    s->syncing = FALSE;
    if (changes == NULL && !pr_connection_is_closed(conn))
        g_warning(_("IMAP user %s: cannot sync folder %s: %s"), s->login, s->mailbox_name,
                  error->message);
    /* The mailbox may have been closed meanwhile (the connection ended). */
    if (changes != NULL && !pr_connection_is_closed(conn) && s->mailbox == data->mailbox)
        report_changes(conn, s, changes, data->before);
    pr_mailbox_changes_free(changes);
    if (data->then != NULL)
        data->then(data->data, s);
    else if (s->sync_again && s->idle_tag != NULL && !s->finished)
        imap_session_sync(conn, s, NULL, NULL);
    /* One sync at a time: the next one reads the snapshot this one made. */
    if (!s->syncing && !g_queue_is_empty(&s->sync_waiting)) {
        SyncData *next = g_queue_pop_head(&s->sync_waiting);

        imap_session_sync(conn, s, next->then, next->data);
        imap_session_op_end(s); /* the one queued */
        pr_connection_unref(next->conn);
        g_free(next);
    }
    imap_session_op_end(s);
    pr_connection_unref(conn);
    g_free(data);
}

void
imap_session_sync(PrConnection *conn, ImapSession *s, GFunc then, gpointer data)
{
    SyncData *d;

    if (s->mailbox == NULL || s->finished) {
        if (then != NULL)
            then(data, s);
        return;
    }
    d = g_new0(SyncData, 1);
    d->conn = pr_connection_ref(conn);
    d->then = then;
    d->data = data;
    imap_session_op_begin(s);
    if (s->syncing) {
        g_queue_push_tail(&s->sync_waiting, d);
        return;
    }
    s->syncing = TRUE;
    s->sync_again = FALSE;
    d->mailbox = s->mailbox;
    d->before = pr_mailbox_get_count(s->mailbox);
    pr_mailbox_sync_async(s->mailbox, sync_done, d);
}

void
imap_session_finish(PrConnection *conn, gpointer session)
{
    ImapSession *s = session;

    if (s->login != NULL)
        g_info("logout user=%s ip=%s connection=%" G_GUINT64_FORMAT, s->login,
               pr_connection_get_peer_ip(conn), pr_connection_get_id(conn));
    forget_command(s);
    g_clear_pointer(&s->sasl, pr_sasl_free);
    g_clear_pointer(&s->idle_tag, g_free);
    if (s->buffer.data != NULL)
        imap_command_buffer_clear(&s->buffer);
    s->finished = TRUE;
    if (s->busy == 0)
        free_session(s);
}
