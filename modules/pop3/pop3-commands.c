/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The commands of RFC 1939 and RFC 2449 other than authentication and
 * message retrieval: CAPA, NOOP, STAT, LIST, UIDL, DELE, RSET and QUIT
 * with its UPDATE state. */

#include "postroom-config.h"

#include <string.h>

#include "pop3.h"

/* Parses a message number (1-based over the snapshot). On failure it has
 * answered and set @result. */
gboolean
pop3_message_arg(PrConnection *conn, Pop3Session *s, const char *arg, guint *index,
                 PrCommandResult *result)
{
    guint64 n = 0;
    gsize len = strlen(arg);

    *result = PR_COMMAND_DONE;
    if (len == 0 || len > 10 || strspn(arg, "0123456789") != len) {
        pr_connection_reply(conn, "-ERR Invalid message number");
        if (pr_connection_bad_command(conn))
            *result = PR_COMMAND_CLOSE;
        return FALSE;
    }
    n = g_ascii_strtoull(arg, NULL, 10);
    if (n == 0 || n > s->count) {
        pr_connection_replyf(conn, "-ERR no such message, only %u messages in maildrop",
                             s->count - s->n_deleted);
        return FALSE;
    }
    if (s->deleted[n - 1]) {
        pr_connection_replyf(conn, "-ERR message %u already deleted", (guint)n);
        return FALSE;
    }
    *index = (guint)(n - 1);
    return TRUE;
}

PrCommandResult
pop3_cmd_capa(PrConnection *conn, gpointer session, const char *args)
{
    GString *out = g_string_new("+OK Capability list follows\r\n");

    if (pr_connection_get_state(conn) == POP3_STATE_AUTHORIZATION) {
        if (pr_connection_can_starttls(conn))
            g_string_append(out, "STLS\r\n");
        /* Where TLS must come first, only offer logins once it has. */
        if (pr_connection_auth_allowed(conn)) {
            g_autofree char *names = pr_sasl_mechanism_names(pop3_sasl_mechanisms(conn), " ");
            g_string_append_printf(out, "USER\r\nSASL %s\r\n", names);
        }
    }
    g_string_append(out, "TOP\r\n"
                         "UIDL\r\n"
                         "RESP-CODES\r\n"
                         "AUTH-RESP-CODE\r\n"
                         "PIPELINING\r\n"
                         "IMPLEMENTATION Postroom\r\n"
                         ".\r\n");
    pr_connection_write(conn, out->str, out->len);
    g_string_free(out, TRUE);
    return PR_COMMAND_DONE;
}

PrCommandResult
pop3_cmd_noop(PrConnection *conn, gpointer session, const char *args)
{
    pr_connection_reply(conn, "+OK");
    return PR_COMMAND_DONE;
}

PrCommandResult
pop3_cmd_stat(PrConnection *conn, gpointer session, const char *args)
{
    Pop3Session *s = session;

    pr_connection_replyf(conn, "+OK %u %" G_GINT64_FORMAT, s->count - s->n_deleted,
                         s->total_octets - s->deleted_octets);
    return PR_COMMAND_DONE;
}

/* LIST and UIDL: one line for message @arg, or a multi-line listing. */
static PrCommandResult
listing(PrConnection *conn, Pop3Session *s, const char *arg, gboolean uidl)
{
    PrCommandResult result;
    GString *out;
    guint index;

    if (*arg != '\0') {
        if (!pop3_message_arg(conn, s, arg, &index, &result))
            return result;
        if (uidl)
            pr_connection_replyf(conn, "+OK %u %s", index + 1,
                                 pr_mailbox_get_uidl(s->mailbox, index));
        else
            pr_connection_replyf(conn, "+OK %u %" G_GINT64_FORMAT, index + 1,
                                 pr_mailbox_get_size(s->mailbox, index));
        return PR_COMMAND_DONE;
    }
    out = g_string_sized_new(64 + (gsize)s->count * 24);
    if (uidl)
        g_string_append(out, "+OK Unique-ID listing follows\r\n");
    else
        g_string_append_printf(out, "+OK %u messages (%" G_GINT64_FORMAT " octets)\r\n",
                               s->count - s->n_deleted, s->total_octets - s->deleted_octets);
    for (guint i = 0; i < s->count; i++) {
        if (s->deleted[i])
            continue;
        if (uidl)
            g_string_append_printf(out, "%u %s\r\n", i + 1, pr_mailbox_get_uidl(s->mailbox, i));
        else
            g_string_append_printf(out, "%u %" G_GINT64_FORMAT "\r\n", i + 1,
                                   pr_mailbox_get_size(s->mailbox, i));
    }
    g_string_append(out, ".\r\n");
    pr_connection_write(conn, out->str, out->len);
    g_string_free(out, TRUE);
    return PR_COMMAND_DONE;
}

PrCommandResult
pop3_cmd_list(PrConnection *conn, gpointer session, const char *args)
{
    return listing(conn, session, args, FALSE);
}

PrCommandResult
pop3_cmd_uidl(PrConnection *conn, gpointer session, const char *args)
{
    return listing(conn, session, args, TRUE);
}

PrCommandResult
pop3_cmd_dele(PrConnection *conn, gpointer session, const char *args)
{
    Pop3Session *s = session;
    PrCommandResult result;
    guint index;

    if (!pop3_message_arg(conn, s, args, &index, &result))
        return result;
    s->deleted[index] = TRUE;
    s->n_deleted++;
    s->deleted_octets += pr_mailbox_get_size(s->mailbox, index);
    pr_connection_replyf(conn, "+OK message %u deleted", index + 1);
    return PR_COMMAND_DONE;
}

PrCommandResult
pop3_cmd_rset(PrConnection *conn, gpointer session, const char *args)
{
    Pop3Session *s = session;

    memset(s->deleted, 0, sizeof(gboolean) * MAX(s->count, 1));
    s->n_deleted = 0;
    s->deleted_octets = 0;
    pr_connection_replyf(conn, "+OK maildrop has %u messages (%" G_GINT64_FORMAT " octets)",
                         s->count, s->total_octets);
    return PR_COMMAND_DONE;
}

static void
log_logout(PrConnection *conn, Pop3Session *s, guint deleted, const char *how)
{
    g_info("logout user=%s ip=%s retrieved=%u %s=%u kept=%u connection=%" G_GUINT64_FORMAT,
           s->login, pr_connection_get_peer_ip(conn), s->retrieved, how, deleted,
           s->count - deleted, pr_connection_get_id(conn));
}

static void
released(GObject *source, GAsyncResult *result, gpointer user_data)
{
    g_autoptr(PrConnection) conn = user_data;
    Pop3Session *s = pr_connection_get_session(conn);
    g_autoptr(GError) error = NULL;

    if (!pr_mailbox_close_finish(result, &error))
        g_warning("user %s: mailbox lock not released (it expires by itself): %s", s->login,
                  error->message);
    if (!pr_connection_is_closed(conn)) {
        pr_connection_reply(conn, s->quit_reply);
        pr_connection_close(conn);
    }
    pop3_session_op_end(s);
}

/* Answers QUIT with @reply once the lock is gone, so that a client that
 * reconnects at once finds its mailbox free. */
static void
release_and_reply(PrConnection *conn, Pop3Session *s, char *reply)
{
    s->quit_reply = reply;
    pop3_session_op_begin(s);
    pr_mailbox_close_async(g_steal_pointer(&s->mailbox), released, pr_connection_ref(conn));
}

static void
delete_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
    g_autoptr(PrConnection) conn = user_data;
    Pop3Session *s = pr_connection_get_session(conn);
    g_autoptr(GError) error = NULL;
    gboolean hold = pr_module_get_bool(pr_connection_get_module(conn), NULL, "hold_deleted");

    if (!pr_mailbox_delete_finish(s->mailbox, result, &error)) {
        g_warning("user %s: %u deleted messages were not removed: %s", s->login, s->n_deleted,
                  error->message);
        log_logout(conn, s, 0, "deleted");
        release_and_reply(conn, s, g_strdup("-ERR [SYS/TEMP] some deleted messages not removed"));
    } else {
        log_logout(conn, s, s->n_deleted, hold ? "held" : "deleted");
        release_and_reply(conn, s,
                          g_strdup_printf("+OK Postroom POP3 server signing off (%u messages "
                                          "deleted, %u left)",
                                          s->n_deleted, s->count - s->n_deleted));
    }
    pop3_session_op_end(s);
}

PrCommandResult
pop3_cmd_quit(PrConnection *conn, gpointer session, const char *args)
{
    Pop3Session *s = session;
    guint n = 0;

    if (pr_connection_get_state(conn) != POP3_STATE_TRANSACTION) {
        pr_connection_reply(conn, "+OK Postroom POP3 server signing off");
        return PR_COMMAND_CLOSE;
    }
    s->quit = TRUE;
    if (s->n_deleted == 0) {
        log_logout(conn, s, 0, "deleted");
        release_and_reply(
            conn, s,
            g_strdup_printf("+OK Postroom POP3 server signing off (%u messages left)", s->count));
        return PR_COMMAND_ASYNC;
    }
    /* UPDATE (RFC 1939 §6): one transaction; a client that goes away now
     * still gets its deletions, hence no cancellable. */
    s->delete_indexes = g_new(guint, s->n_deleted);
    for (guint i = 0; i < s->count; i++)
        if (s->deleted[i])
            s->delete_indexes[n++] = i;
    /* msgaudit rows (when the administrator turned them on) come with the
     * deletion, in its transaction: component P, command D. */
    pr_mailbox_set_audit(s->mailbox, "P", s->login, pr_connection_get_peer_ip(conn));
    pop3_session_op_begin(s);
    pr_mailbox_delete_async(
        s->mailbox, s->delete_indexes, n,
        pr_module_get_bool(pr_connection_get_module(conn), NULL, "hold_deleted"), NULL, delete_done,
        pr_connection_ref(conn));
    return PR_COMMAND_ASYNC;
}
