/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The SMTP client session, shared by sender-client.c (connecting, TLS,
 * EHLO, AUTH, reading and writing) and sender-txn.c (the mail
 * transactions). Private to the sender module. */

#include "sender.h"

G_BEGIN_DECLS

/* RFC 5321 §4.5.3.1.5 allows 512 octets per reply line; some servers send
 * more, and a bound is all that matters. */
#define MAX_REPLY_LINE  4096
#define MAX_REPLY_LINES 100

typedef struct {
    int code;               /* 0: no reply */
    char *text;             /* one line: see build_reply() */
    const GPtrArray *lines; /* the lines as received, during the callback */
} Reply;

typedef void (*ReplyFunc)(SenderSession *s, const Reply *reply);
typedef void (*StepFunc)(SenderSession *s);

typedef enum {
    CMD_RSET,
    CMD_MAIL,
    CMD_RCPT,
    CMD_DATA,
} CmdKind;

typedef struct {
    CmdKind kind;
    char *line;
    const PrQueueEntry *entry;
} Cmd;

struct _SenderSession {
    Sender *sender;
    SenderJob *job;
    SenderRoute *route;
    GCancellable *cancellable; /* of the step in flight; renewed per server */
    GSource *timer;
    GSource *idle;
    gboolean timed_out;
    gboolean stopped;

    GPtrArray *targets; /* SenderTarget* */
    guint target_index;
    char *remote;     /* the current server, for logs and DSNs */
    char *last_error; /* why the last server failed */
    gboolean answered;

    GSocketConnection *socket;
    GIOStream *stream; /* the socket connection, or TLS over it */
    GByteArray *inbuf;
    guint8 chunk[4096];
    GPtrArray *lines;
    ReplyFunc on_reply;
    StepFunc after_tls;
    GBytes *wbuf;

    /* what EHLO said */
    gboolean pipelining, starttls, dsn, eightbit, smtputf8, auth_plain, auth_login;
    gboolean has_size;
    guint64 size_limit;
    gboolean tls;
    gboolean no_starttls; /* STARTTLS refused; go on in plaintext */
    gboolean ready;       /* transactions have begun */
    gboolean quitting;    /* every recipient is settled */

    /* transactions */
    guint msg_index;
    SenderMessage *msg;
    guint rcpt_offset;
    guint chunk_end;
    gboolean need_rset;
    GPtrArray *cmds; /* Cmd* */
    guint replied;
    gboolean mail_ok;
    GPtrArray *accepted; /* const PrQueueEntry* */
    gboolean final_dot;
};

/* What EHLO offers. */
typedef struct {
    gboolean pipelining, starttls, dsn, eightbit, smtputf8, auth_plain, auth_login;
    gboolean has_size;
    guint64 size_limit;
} SenderEhlo;

/* sender-reply.c: replies out of the received bytes (no I/O) */
typedef enum {
    SENDER_REPLY_MORE,      /* no whole reply yet: read more into the buffer */
    SENDER_REPLY_COMPLETE,  /* the lines of one reply are in @lines */
    SENDER_REPLY_MALFORMED, /* *error says what was wrong */
} SenderReplyStatus;
/* Moves lines from @inbuf to @lines until one reply is whole. */
SenderReplyStatus sender_reply_take(GByteArray *inbuf, GPtrArray *lines, char **error);
/* The code and one-line text of a whole reply; .lines is left NULL. */
Reply sender_reply_build(GPtrArray *lines);
/* Sets what the lines of an EHLO reply offer (never clears). */
void sender_ehlo_parse(const GPtrArray *lines, SenderEhlo *ehlo);

/* sender-client.c */
SenderResult sender_reply_classify(int code);
void sender_session_read_reply(SenderSession *s, ReplyFunc func);
void sender_session_write(SenderSession *s, GBytes *data, ReplyFunc func);
void sender_session_send_line(SenderSession *s, const char *line, gboolean secret, ReplyFunc func);
void sender_session_arm(SenderSession *s, gint64 seconds);
void sender_session_end(SenderSession *s);
void sender_session_fail_all(SenderSession *s, SenderResult result, const char *reply);
void sender_session_server_error(SenderSession *s, const char *error);

/* sender-txn.c */
void sender_txn_cmd_free(Cmd *c);
void sender_txn_next(SenderSession *s);
void sender_txn_session_failed(SenderSession *s, const char *error);

G_END_DECLS
