/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* An asynchronous POP3 client (RFC 1939, RFC 2449, RFC 2595, RFC 5034)
 * over GIO, for one session with an ISP's server: connect (with a
 * timeout), implicit TLS or STLS, CAPA, login (USER/PASS, APOP, AUTH PLAIN,
 * AUTH CRAM-MD5), then STAT, UIDL, LIST, TOP, RETR, DELE and QUIT.
 *
 * Each function starts a command and calls back on the main thread when
 * its reply is read. Login and listing run alone. STAT, RETR/TOP, DELE and
 * QUIT may be asked for while others run: they are answered in the order
 * asked, and when CAPA lists PIPELINING (RFC 2449) they are sent at once
 * rather than each after the previous reply. Every wait is bounded: the
 * connection by connect_timeout, each reply by command_timeout (for a
 * long message: no data for that long). A timeout, a dropped connection
 * or a reply that breaks the protocol ends the connection; the commands
 * waiting and later ones fail with the same error. */

#include <gio/gio.h>

#include "collector-reply.h"

G_BEGIN_DECLS

#define COLLECTOR_POP3_ERROR (collector_pop3_error_quark())
GQuark collector_pop3_error_quark(void);

/* Why a command failed. The message is one sentence for the administrator
 * (the alerts quote it), with the server's text where there is one. */
typedef enum {
    COLLECTOR_POP3_ERROR_CONNECT,     /* no connection: refused, unreachable, unknown name */
    COLLECTOR_POP3_ERROR_TLS,         /* the TLS handshake failed (certificate, protocol) */
    COLLECTOR_POP3_ERROR_TIMEOUT,     /* the server did not answer in time */
    COLLECTOR_POP3_ERROR_CLOSED,      /* the server closed the connection */
    COLLECTOR_POP3_ERROR_PROTOCOL,    /* the server's reply broke the protocol */
    COLLECTOR_POP3_ERROR_AUTH,        /* the login was refused */
    COLLECTOR_POP3_ERROR_REFUSED,     /* a command was answered -ERR */
    COLLECTOR_POP3_ERROR_UNSUPPORTED, /* the server lacks what the settings need */
    COLLECTOR_POP3_ERROR_CANCELLED,   /* collector_pop3_abort() */
} CollectorPop3Error;

typedef enum {
    COLLECTOR_TLS_NONE,
    COLLECTOR_TLS_IMPLICIT,
    COLLECTOR_TLS_STLS,              /* STLS, and fail without it */
    COLLECTOR_TLS_STLS_IF_AVAILABLE, /* STLS when CAPA offers it */
} CollectorTls;

typedef enum {
    COLLECTOR_AUTH_USER,
    COLLECTOR_AUTH_APOP,
    COLLECTOR_AUTH_PLAIN,
    COLLECTOR_AUTH_CRAM_MD5,
} CollectorAuth;

typedef struct {
    const char *server;
    guint16 port;
    CollectorTls tls;
    gboolean verify_cert;
    GTlsDatabase *ca; /* trust only these CAs, or NULL for the system's */
    CollectorAuth auth;
    const char *username;
    const char *password;
    guint connect_timeout;  /* seconds */
    guint command_timeout;  /* seconds */
    gboolean no_pipelining; /* never pipeline, whatever CAPA says (servers that
                             * advertise PIPELINING but mishandle it) */
} CollectorPop3Options;

typedef struct _CollectorPop3 CollectorPop3;

/* Copies what it needs of @options. */
CollectorPop3 *collector_pop3_new(const CollectorPop3Options *options);
/* Closes the connection if it is open (without QUIT: the server keeps
 * every message) and frees the client. Only when no command is running or
 * waiting, after collector_pop3_close_async() if one was. */
void collector_pop3_free(CollectorPop3 *pop3);
/* Ends the command running and those waiting with COLLECTOR_POP3_ERROR_CANCELLED
 * (shutdown). */
void collector_pop3_abort(CollectorPop3 *pop3);

/* "server:port", and " (TLS)" once encrypted: for logs and alerts. */
const char *collector_pop3_describe(CollectorPop3 *pop3);
gboolean collector_pop3_is_tls(CollectorPop3 *pop3);
const CollectorCapa *collector_pop3_get_capa(CollectorPop3 *pop3);
/* After login: whether commands are pipelined (CAPA PIPELINING and the
 * options allow it). */
gboolean collector_pop3_is_pipelining(CollectorPop3 *pop3);
/* After login: FALSE when CAPA was answered and does not list TOP (RFC
 * 2449 §6.2); TRUE when it lists it or CAPA is unknown. */
gboolean collector_pop3_has_top(CollectorPop3 *pop3);

/* Connects, reads the greeting, asks CAPA, starts TLS as the options say
 * and logs in. */
void collector_pop3_login_async(CollectorPop3 *pop3, GAsyncReadyCallback callback,
                                gpointer user_data);
gboolean collector_pop3_login_finish(CollectorPop3 *pop3, GAsyncResult *result, GError **error);

void collector_pop3_stat_async(CollectorPop3 *pop3, GAsyncReadyCallback callback,
                               gpointer user_data);
gboolean collector_pop3_stat_finish(CollectorPop3 *pop3, GAsyncResult *result, guint *count,
                                    guint64 *size, GError **error);

/* One remote message as listed: its number in this session, UID and size. */
typedef struct {
    guint msgno;
    char *uid;
    guint64 size;
} CollectorPop3Entry;

/* UIDL then LIST: every message with its UID and size, by number. A
 * message without a UID, or a UID twice, is left out (and logged):
 * without a unique UID it cannot be fetched exactly once. */
void collector_pop3_listing_async(CollectorPop3 *pop3, GAsyncReadyCallback callback,
                                  gpointer user_data);
/* Returns: (element-type CollectorPop3Entry): sorted by number */
GPtrArray *collector_pop3_listing_finish(CollectorPop3 *pop3, GAsyncResult *result, GError **error);

/* A message (RETR), or its header section (TOP n 0). */
typedef struct {
    GBytes *data;      /* unstuffed, CRLF line ends, NULs as the policy says */
    guint64 octets;    /* its size as sent */
    guint64 nuls;      /* NUL octets in it */
    gboolean oversize; /* longer than max_size: @data is empty */
} CollectorPop3Message;

void collector_pop3_message_free(CollectorPop3Message *message);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CollectorPop3Message, collector_pop3_message_free)

/* @top_lines: -1 for RETR, else TOP with that many body lines. A TOP
 * answered -ERR fails with COLLECTOR_POP3_ERROR_UNSUPPORTED, and so do,
 * without being sent, the TOPs of the session not sent yet: the caller
 * falls back to RETR (collector_pop3_has_top() is FALSE from then on).
 * @max_size: octets read at most, 0 = no bound (the rest is read and
 * dropped, and the message is oversize). */
void collector_pop3_fetch_async(CollectorPop3 *pop3, guint msgno, int top_lines, gsize max_size,
                                CollectorNulPolicy nul, char nul_char, GAsyncReadyCallback callback,
                                gpointer user_data);
CollectorPop3Message *collector_pop3_fetch_finish(CollectorPop3 *pop3, GAsyncResult *result,
                                                  GError **error);

void collector_pop3_dele_async(CollectorPop3 *pop3, guint msgno, GAsyncReadyCallback callback,
                               gpointer user_data);
gboolean collector_pop3_dele_finish(CollectorPop3 *pop3, GAsyncResult *result, GError **error);

/* QUIT (the server then removes what was DELE'd) and closes. */
void collector_pop3_quit_async(CollectorPop3 *pop3, GAsyncReadyCallback callback,
                               gpointer user_data);
gboolean collector_pop3_quit_finish(CollectorPop3 *pop3, GAsyncResult *result, GError **error);

/* Closes the connection (TLS close_notify included) without QUIT. Never
 * fails; bounded by command_timeout. */
void collector_pop3_close_async(CollectorPop3 *pop3, GAsyncReadyCallback callback,
                                gpointer user_data);
void collector_pop3_close_finish(CollectorPop3 *pop3, GAsyncResult *result);

/* Exposed for the tests: the APOP digest (hex MD5 of @timestamp and
 * @password) and the CRAM-MD5 response (RFC 2195, before base64). */
char *collector_pop3_apop_digest(const char *timestamp, const char *password);
char *collector_pop3_cram_md5_response(const char *username, const char *password,
                                       const char *challenge, gsize challenge_len);

G_END_DECLS
