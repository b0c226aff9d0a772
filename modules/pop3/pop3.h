/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <postroom/postroom-plugin.h>

G_BEGIN_DECLS

/* RFC 1939 session states; UPDATE is the QUIT handler's commit. */
enum {
    POP3_STATE_AUTHORIZATION = 1 << 0,
    POP3_STATE_TRANSACTION = 1 << 1,
    POP3_STATE_ANY = POP3_STATE_AUTHORIZATION | POP3_STATE_TRANSACTION,
};

/* The module's reply to authentication on plaintext where TLS must come
 * first (also its PR_REPLY_TLS_REQUIRED). */
#define POP3_R_TLS_REQUIRED "-ERR [AUTH] TLS required before authentication, use STLS"

/* RFC 2449 §4: a command line is at most 255 octets, CRLF included. */
#define POP3_MAX_LINE 255
/* RFC 1939 §3: the autologout timer is at least 10 minutes. */
#define POP3_IDLE_TIMEOUT 600
/* Stop producing a streamed RETR/TOP body while this much output waits. */
#define POP3_OUTPUT_HIGH_WATER (256 * 1024)

typedef struct {
    /* AUTHORIZATION */
    char *user;           /* USER argument until PASS */
    guint failed_logins;  /* this session's failures, against max_failed_logins */
    char *apop_timestamp; /* the greeting's RFC 1939 timestamp; NULL: no APOP */

    /* TRANSACTION */
    char *login;        /* canonical account name */
    PrMailbox *mailbox; /* INBOX snapshot, locked exclusively */
    guint count;        /* messages in the snapshot */
    gboolean *deleted;  /* DELE marks by index, committed at QUIT */
    guint n_deleted;
    gint64 deleted_octets;
    gint64 total_octets;
    guint retrieved;       /* RETR and TOP commands served, for the logout line */
    gboolean quit;         /* QUIT was handled and logged */
    char *quit_reply;      /* its answer, sent once the lock is released */
    guint *delete_indexes; /* given to pr_mailbox_delete_async() */

    /* asynchronous work on the mailbox */
    PrMessageReader *reader; /* RETR/TOP being streamed */
    char *header;            /* its status line, until the first chunk is read */
    guint busy;              /* operations on the mailbox in flight */
    gboolean finished;       /* the connection ended; the last op closes */
} Pop3Session;

/* pop3-session.c */
void pop3_greeting(PrConnection *conn, gpointer session);
void pop3_tls_started(PrConnection *conn, gpointer session);
void pop3_session_finish(PrConnection *conn, gpointer session);
void pop3_session_forget_auth(Pop3Session *s);
void pop3_session_op_begin(Pop3Session *s);
void pop3_session_op_end(Pop3Session *s);
void pop3_session_opened(PrConnection *conn, Pop3Session *s, const char *login, PrMailbox *mailbox);

/* pop3-auth.c */
PrCommandResult pop3_cmd_user(PrConnection *conn, gpointer session, const char *args);
PrCommandResult pop3_cmd_pass(PrConnection *conn, gpointer session, const char *args);
PrCommandResult pop3_cmd_auth(PrConnection *conn, gpointer session, const char *args);
PrCommandResult pop3_cmd_apop(PrConnection *conn, gpointer session, const char *args);
PrSaslMechanisms pop3_sasl_mechanisms(PrConnection *conn);
gboolean pop3_apop_enabled(PrConnection *conn);

/* pop3-commands.c */
gboolean pop3_message_arg(PrConnection *conn, Pop3Session *s, const char *arg, guint *index,
                          PrCommandResult *result);
PrCommandResult pop3_cmd_capa(PrConnection *conn, gpointer session, const char *args);
PrCommandResult pop3_cmd_noop(PrConnection *conn, gpointer session, const char *args);
PrCommandResult pop3_cmd_quit(PrConnection *conn, gpointer session, const char *args);
PrCommandResult pop3_cmd_stat(PrConnection *conn, gpointer session, const char *args);
PrCommandResult pop3_cmd_list(PrConnection *conn, gpointer session, const char *args);
PrCommandResult pop3_cmd_uidl(PrConnection *conn, gpointer session, const char *args);
PrCommandResult pop3_cmd_dele(PrConnection *conn, gpointer session, const char *args);
PrCommandResult pop3_cmd_rset(PrConnection *conn, gpointer session, const char *args);

/* pop3-retr.c */
PrCommandResult pop3_cmd_retr(PrConnection *conn, gpointer session, const char *args);
PrCommandResult pop3_cmd_top(PrConnection *conn, gpointer session, const char *args);

G_END_DECLS
