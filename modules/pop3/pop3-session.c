/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The life of a POP3 session: greeting, entering TRANSACTION with a locked
 * mailbox, and the end of the connection. The mailbox is closed (and its
 * lock released) by whoever finishes last: the connection or an operation
 * on the mailbox still running on a worker thread. */

#include "postroom-config.h"

#include "pop3.h"

void
pop3_greeting(PrConnection *conn, gpointer session)
{
    Pop3Session *s = session;

    /* RFC 1939 §7: the timestamp announces APOP. It survives STLS, where
     * the client uses it; it is made only when APOP can succeed. */
    if (pop3_apop_enabled(conn)) {
        s->apop_timestamp = pr_auth_apop_timestamp_new(pr_connection_get_host(conn));
        pr_connection_replyf(conn, "+OK Postroom POP3 server ready %s", s->apop_timestamp);
        return;
    }
    pr_connection_reply(conn, "+OK Postroom POP3 server ready");
}

void
pop3_session_forget_auth(Pop3Session *s)
{
    g_clear_pointer(&s->user, g_free);
}

void
pop3_tls_started(PrConnection *conn, gpointer session)
{
    /* RFC 2595 §4: nothing said before the handshake survives it. */
    pop3_session_forget_auth(session);
}

void
pop3_session_opened(PrConnection *conn, Pop3Session *s, const char *login, PrMailbox *mailbox)
{
    s->login = g_strdup(login);
    s->mailbox = mailbox;
    s->count = pr_mailbox_get_count(mailbox);
    s->deleted = g_new0(gboolean, MAX(s->count, 1));
    s->n_deleted = 0;
    s->deleted_octets = 0;
    s->total_octets = 0;
    for (guint i = 0; i < s->count; i++)
        s->total_octets += pr_mailbox_get_size(mailbox, i);
    pr_connection_set_state(conn, POP3_STATE_TRANSACTION);
    g_info("login user=%s ip=%s messages=%u octets=%" G_GINT64_FORMAT
           " connection=%" G_GUINT64_FORMAT,
           login, pr_connection_get_peer_ip(conn), s->count, s->total_octets,
           pr_connection_get_id(conn));
}

static void
close_mailbox(Pop3Session *s)
{
    g_clear_pointer(&s->reader, pr_message_reader_free);
    g_clear_pointer(&s->header, g_free);
    g_clear_pointer(&s->mailbox, pr_mailbox_close);
    g_clear_pointer(&s->deleted, g_free);
    g_clear_pointer(&s->delete_indexes, g_free);
    g_clear_pointer(&s->quit_reply, g_free);
    g_clear_pointer(&s->login, g_free);
}

void
pop3_session_op_begin(Pop3Session *s)
{
    s->busy++;
}

void
pop3_session_op_end(Pop3Session *s)
{
    g_return_if_fail(s->busy > 0);
    s->busy--;
    if (s->finished && s->busy == 0)
        close_mailbox(s);
}

void
pop3_session_finish(PrConnection *conn, gpointer session)
{
    Pop3Session *s = session;

    pop3_session_forget_auth(s);
    g_clear_pointer(&s->apop_timestamp, g_free);
    /* RFC 1939 §6: without QUIT there is no UPDATE state, so DELE marks
     * are simply dropped with the snapshot. */
    if (s->mailbox != NULL && !s->quit)
        g_info("logout user=%s ip=%s retrieved=%u deleted=0 kept=%u (closed without QUIT) "
               "connection=%" G_GUINT64_FORMAT,
               s->login, pr_connection_get_peer_ip(conn), s->retrieved, s->count,
               pr_connection_get_id(conn));
    s->finished = TRUE;
    if (s->busy == 0)
        close_mailbox(s);
}
