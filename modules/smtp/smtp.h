/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <postroom/postroom-plugin.h>

G_BEGIN_DECLS

/* RFC 5321 §3: before EHLO/HELO, between transactions, after MAIL, after
 * the first accepted RCPT, and between BDAT chunks of one message. */
enum {
    SMTP_STATE_INIT = 1 << 0,
    SMTP_STATE_READY = 1 << 1,
    SMTP_STATE_MAIL = 1 << 2,
    SMTP_STATE_RCPT = 1 << 3,
    SMTP_STATE_BDAT = 1 << 4,
    SMTP_STATE_ANY =
        SMTP_STATE_INIT | SMTP_STATE_READY | SMTP_STATE_MAIL | SMTP_STATE_RCPT | SMTP_STATE_BDAT,
};

/* Command lines with every extension parameter fit (RFC 5321 §4.5.3.1.4
 * allows 512 plus the parameters' own limits), and raw DATA/BDAT bytes
 * arrive in pieces of this size. */
#define SMTP_MAX_LINE 2048
/* RFC 5321 §4.5.3.2.7: the server waits at least 5 minutes. */
#define SMTP_IDLE_TIMEOUT 300
/* Postfix's smtpd_hard_error_limit. */
#define SMTP_MAX_BAD_COMMANDS 20
/* RFC 5321 §4.5.3.1.3: a path is at most 256 octets, brackets included. */
#define SMTP_MAX_PATH 256
/* RFC 3461 §4.4: ENVID is at most 100 characters; ORCPT 500 (§4.2). */
#define SMTP_MAX_ENVID 100
#define SMTP_MAX_ORCPT 500
/* The header handed to the smtp-data hook is cut here. */
#define SMTP_MAX_HOOK_HEADER (64 * 1024)

typedef struct _SmtpIps SmtpIps;

typedef enum {
    SMTP_BODY_7BIT,
    SMTP_BODY_8BITMIME,
} SmtpBodyType;

/* What happened to the bytes of a message as they arrived. */
typedef struct {
    GByteArray *data; /* the message, unstuffed; NULL once over the limit */
    gint64 size;      /* octets received (counted on after the limit) */
    gint64 limit;     /* the service's max_message_size, or the sender's
                       * smaller max outgoing size */
    gboolean too_big;
    gboolean bare_lf;
    gboolean bare_cr;
    gboolean nul;
    int nul_policy; /* SmtpNulPolicy */
    /* DATA: where the end-of-data scanner is (SmtpScanState, smtp-scan.c) */
    int scan;
    /* BDAT: octets of the current chunk still to come, and whether the
     * previous chunk ended in CR (a CRLF split between chunks). */
    gint64 chunk_left;
    gboolean chunk_last;
    gboolean chunk_discard; /* the chunk belongs to no valid transaction */
    char *chunk_error;      /* the reply for a discarded chunk */
    gboolean last_was_cr;
} SmtpBody;

/* Where the DATA scanner is (SmtpBody.scan). */
typedef enum {
    SMTP_SCAN_LINE_START, /* after CRLF, or at the very beginning */
    SMTP_SCAN_MID,        /* inside a line */
    SMTP_SCAN_CR,         /* inside a line, after CR */
    SMTP_SCAN_DOT,        /* a line that began with "." */
    SMTP_SCAN_DOT_CR,     /* a line that began with "." CR */
} SmtpScanState;

typedef enum {
    SMTP_NUL_REJECT,
    SMTP_NUL_STRIP,
    SMTP_NUL_REPLACE,
} SmtpNulPolicy;

typedef struct {
    /* the session */
    char *helo;         /* the EHLO/HELO argument */
    gboolean esmtp;     /* EHLO rather than HELO */
    char *auth_user;    /* canonical account after a successful AUTH */
    guint transactions; /* messages accepted, for the log */

    /* the transaction: from MAIL to the end of the message */
    PrEnvelope *envelope;
    char *sender;              /* as given, "" for <> */
    gint64 mail_size;          /* MAIL ... SIZE=, or -1 */
    gint64 sender_limit;       /* the sending user's max outgoing size, 0 = none */
    gboolean smtputf8;         /* MAIL ... SMTPUTF8 */
    GPtrArray *rcpts;          /* accepted recipients (char *), for hooks and logs */
    struct _SmtpDsn *dsn;      /* RFC 3461 parameters, for success reports */
    struct _SmtpPath *pending; /* MAIL or RCPT being checked */
    SmtpBody body;
    gboolean bdat;       /* the message comes in BDAT chunks */
    gboolean delivering; /* handed to pr_delivery_deliver_async() */
} SmtpSession;

/* smtp-module.c: the services and their settings */
extern const char *const smtp_service_names[];
SmtpIps *smtp_ips_for(PrConnection *conn);
gboolean smtp_service_bool(PrConnection *conn, const char *key);
gint64 smtp_service_int(PrConnection *conn, const char *key);
gint64 smtp_module_int(PrConnection *conn, const char *key);
gboolean smtp_module_bool(PrConnection *conn, const char *key);
const char *smtp_module_string(PrConnection *conn, const char *key);

/* smtp-session.c */
void smtp_greeting(PrConnection *conn, gpointer session);
void smtp_tls_started(PrConnection *conn, gpointer session);
void smtp_session_finish(PrConnection *conn, gpointer session);
void smtp_session_forget_auth(SmtpSession *s);
void smtp_transaction_reset(PrConnection *conn, SmtpSession *s);
gboolean smtp_may_relay(PrConnection *conn, SmtpSession *s);
const char *smtp_received_protocol(PrConnection *conn, SmtpSession *s);
PrCommandResult smtp_cmd_ehlo(PrConnection *conn, gpointer session, const char *args);
PrCommandResult smtp_cmd_helo(PrConnection *conn, gpointer session, const char *args);
PrCommandResult smtp_cmd_rset(PrConnection *conn, gpointer session, const char *args);
PrCommandResult smtp_cmd_noop(PrConnection *conn, gpointer session, const char *args);
PrCommandResult smtp_cmd_quit(PrConnection *conn, gpointer session, const char *args);
PrCommandResult smtp_cmd_help(PrConnection *conn, gpointer session, const char *args);

/* smtp-vrfy.c */
PrCommandResult smtp_cmd_vrfy(PrConnection *conn, gpointer session, const char *args);
PrCommandResult smtp_cmd_expn(PrConnection *conn, gpointer session, const char *args);

/* smtp-auth.c */
PrCommandResult smtp_cmd_auth(PrConnection *conn, gpointer session, const char *args);
gboolean smtp_auth_offered(PrConnection *conn, SmtpSession *s);
PrSaslMechanisms smtp_auth_mechanisms(PrConnection *conn);

/* smtp-mail.c */
PrCommandResult smtp_cmd_mail(PrConnection *conn, gpointer session, const char *args);
/* The 552 reply for a message over the size limit that applies to it. */
char *smtp_too_big_reply(SmtpSession *s);
PrCommandResult smtp_cmd_rcpt(PrConnection *conn, gpointer session, const char *args);

/* smtp-data.c */
PrCommandResult smtp_cmd_data(PrConnection *conn, gpointer session, const char *args);
PrCommandResult smtp_cmd_bdat(PrConnection *conn, gpointer session, const char *args);

/* smtp-scan.c: the message's bytes as they arrive (no I/O, no connection) */
void smtp_body_clear(SmtpBody *body);
/* DATA: returns how many of @len bytes belong to the message (the final
 * CRLF.CRLF included) and sets *ended when the end was found. */
gsize smtp_scan_data(SmtpBody *body, const guint8 *data, gsize len, gboolean *ended);
/* BDAT: keeps a chunk's bytes, noting bare CR, bare LF and NUL. */
void smtp_scan_chunk(SmtpBody *body, const guint8 *data, gsize len);

/* smtp-dsn.c: "delivered" reports for local recipients with NOTIFY=SUCCESS */
typedef struct _SmtpDsn SmtpDsn;
SmtpDsn *smtp_dsn_new(const char *ret, const char *envid);
void smtp_dsn_free(SmtpDsn *dsn);
/* Called with each accepted recipient, in the order of SmtpSession.rcpts. */
void smtp_dsn_add_recipient(SmtpDsn *dsn, const char *notify, const char *orcpt);
/* Keeps the message for the report if anyone wants one. */
void smtp_dsn_keep_message(SmtpDsn *dsn, const char *sender, GBytes *message);
/* Once the message is stored: the report, if one is due. */
void smtp_dsn_report_delivered(PrHost *host, const SmtpSession *s, const PrDeliveryReport *report);

/* smtp-deliver.c: the end of a message, whether it came by DATA or BDAT */
PrCommandResult smtp_message_complete(PrConnection *conn, SmtpSession *s);

/* smtp-hooks.c */
typedef void (*SmtpHookDone)(PrConnection *conn, SmtpSession *s, const char *reply);
PrHookContext *smtp_hook_context_new(PrConnection *conn, SmtpSession *s, const char *hook_name);
void smtp_hook_run(PrConnection *conn, PrHookContext *ctx, const char *hook_name,
                   SmtpHookDone done);
gboolean smtp_reply_closes(const char *reply);

/* smtp-ips.c: intrusion prevention, module-wide */
typedef enum {
    SMTP_IPS_BAD_AUTH,
    SMTP_IPS_BAD_RCPT,
    SMTP_IPS_RELAY,
} SmtpIpsEvent;
SmtpIps *smtp_ips_new(PrModule *self);
void smtp_ips_free(SmtpIps *ips);
gboolean smtp_ips_is_blocked(SmtpIps *ips, const char *ip);
/* Returns TRUE when this event blocked @ip. */
gboolean smtp_ips_record(PrConnection *conn, SmtpIpsEvent event);
PrHookResult smtp_ips_connect_hook(PrHookContext *ctx, gpointer user_data);
gboolean smtp_address_listed(PrModule *self, const char *key, const char *ip);
const char *smtp_cidr_list_bad_item(char **items);
extern const char smtp_ips_blocked_reply[];

/* smtp-parse.c: command arguments (no I/O, no connection) */
typedef enum {
    SMTP_PARSE_OK,
    SMTP_PARSE_SYNTAX,      /* 501 5.5.4 / 5.1.7 / 5.1.3 */
    SMTP_PARSE_UNKNOWN,     /* 555 5.5.4: a parameter we do not implement */
    SMTP_PARSE_NEEDS_UTF8,  /* 553 5.6.7: non-ASCII without SMTPUTF8 */
    SMTP_PARSE_TOO_LONG,    /* 501 5.1.3 */
    SMTP_PARSE_BAD_ADDRESS, /* 501 5.1.7 (MAIL) or 5.1.3 (RCPT) */
} SmtpParseStatus;

typedef struct _SmtpPath {
    char *address; /* without brackets or source route; "" for <> */
    gboolean has_size;
    gint64 size;
    SmtpBodyType body;
    gboolean smtputf8;
    char *ret;    /* FULL or HDRS */
    char *envid;  /* xtext */
    char *notify; /* NEVER or SUCCESS,FAILURE,DELAY in any order, upper case */
    char *orcpt;  /* addr-type;xtext */
    char *error;  /* what was wrong, for the reply */
} SmtpPath;

void smtp_path_clear(SmtpPath *path);
void smtp_path_free(SmtpPath *path);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SmtpPath, smtp_path_free)
SmtpParseStatus smtp_parse_mail(const char *args, SmtpPath *path);
SmtpParseStatus smtp_parse_rcpt(const char *args, SmtpPath *path);
gboolean smtp_valid_helo(const char *arg);
gboolean smtp_xtext_valid(const char *text, gsize max);
gboolean smtp_non_ascii(const char *text);
gboolean smtp_parse_bdat(const char *args, gint64 *size, gboolean *last);

G_END_DECLS
