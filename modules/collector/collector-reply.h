/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Reading a POP3 server's replies (RFC 1939, RFC 2449): status lines with
 * their response codes, multi-line responses (listings and messages) with
 * dot-unstuffing, and the few facts the client takes from them. Pure code
 * over byte buffers, no I/O, so that the fuzzer
 * (tests/fuzz/fuzz-collector-reply.c) drives it on its own;
 * collector-pop3.c does the reading.
 *
 * ISP servers are forgiving with line ends: a bare LF ends a line as CRLF
 * does. Every line and every response is bounded. */

#include <glib.h>

G_BEGIN_DECLS

/* RFC 2449 §4 allows 512 octets per status line; some servers send more
 * (long greetings), and a bound is all that matters. */
#define COLLECTOR_MAX_STATUS_LINE 2048
/* A line of a listing (UIDL, LIST, CAPA). */
#define COLLECTOR_MAX_LISTING_LINE 1024
/* Lines of one listing: a mailbox of a million messages is not a POP3
 * mailbox any more. */
#define COLLECTOR_MAX_LISTING_LINES 1000000
/* RFC 1939 §7: a UID is 1 to 70 characters; accept longer ones up to
 * this, as some servers send them. */
#define COLLECTOR_MAX_UID 255

typedef enum {
    COLLECTOR_READ_MORE,      /* no complete reply yet: read more */
    COLLECTOR_READ_DONE,      /* a reply was taken off the buffer */
    COLLECTOR_READ_MALFORMED, /* the server broke the protocol: end the session */
} CollectorRead;

typedef enum {
    COLLECTOR_STATUS_OK,       /* +OK */
    COLLECTOR_STATUS_ERR,      /* -ERR */
    COLLECTOR_STATUS_CONTINUE, /* "+ " of a SASL exchange (RFC 5034) */
} CollectorStatusKind;

typedef struct {
    CollectorStatusKind kind;
    char *code; /* RFC 2449 response code without brackets ("IN-USE", "SYS/TEMP"), or NULL */
    char *text; /* what follows the indicator and the code: valid UTF-8, printable */
} CollectorStatus;

/* Takes one status line off @inbuf into @status (cleared first).
 * MALFORMED sets @error to a description for the administrator. */
CollectorRead collector_reply_status(GByteArray *inbuf, CollectorStatus *status, char **error);
void collector_status_clear(CollectorStatus *status);

/* What to do with NUL octets in a message (VPOP3: refuse the message and
 * stop the session, or remove them, or replace them with a character). */
typedef enum {
    COLLECTOR_NUL_REFUSE,
    COLLECTOR_NUL_REMOVE,
    COLLECTOR_NUL_REPLACE,
} CollectorNulPolicy;

/* One multi-line response being read: a listing (each line a string) or a
 * message (the unstuffed octets with CRLF line ends). */
typedef struct {
    /* settings, from collector_multiline_init_*() */
    gboolean listing;
    gsize max_size; /* message: octets kept at most, 0 = no bound; the rest is read and dropped */
    CollectorNulPolicy nul;
    char nul_char;

    /* results */
    GPtrArray *lines;  /* listing: char*, without line ends, unstuffed */
    GByteArray *data;  /* message: the text; NULs removed (refuse, remove) or replaced */
    guint64 octets;    /* message: octets of the text with CRLF line ends, NULs included */
    guint64 nuls;      /* message: NUL octets seen */
    gboolean oversize; /* message: more than max_size octets; data is then emptied */
    gboolean done;     /* the terminating "." line was read */

    /* state */
    gboolean mid_line; /* message: the current line's start has been handled */
} CollectorMultiline;

void collector_multiline_init_listing(CollectorMultiline *ml);
void collector_multiline_init_message(CollectorMultiline *ml, gsize max_size,
                                      CollectorNulPolicy nul, char nul_char);
/* Takes what it can of the response off @inbuf: DONE once the terminating
 * line is read (bytes after it stay in @inbuf), MORE when it needs more.
 * A listing line that is too long, holds a NUL or makes the listing too
 * long is MALFORMED. A message is never MALFORMED. */
CollectorRead collector_multiline_take(CollectorMultiline *ml, GByteArray *inbuf, char **error);
void collector_multiline_clear(CollectorMultiline *ml);

/* What CAPA (RFC 2449) offers. */
typedef struct {
    gboolean top;
    gboolean uidl;
    gboolean user;
    gboolean stls;
    gboolean resp_codes;
    gboolean pipelining;
    gboolean sasl_plain;
    gboolean sasl_cram_md5;
} CollectorCapa;

void collector_capa_parse(const GPtrArray *lines, CollectorCapa *capa);

/* "msg uid" of UIDL (RFC 1939 §7). FALSE if the line is not one. */
gboolean collector_parse_uidl_line(const char *line, guint *msgno, char **uid);
/* "msg octets" of LIST; text after the size is allowed. */
gboolean collector_parse_list_line(const char *line, guint *msgno, guint64 *size);
/* "nn mm" of STAT's +OK text. */
gboolean collector_parse_stat(const char *text, guint *count, guint64 *size);
/* The APOP timestamp (RFC 1939 §7: "<...>" with an '@') in a greeting's
 * text, or NULL. */
char *collector_apop_timestamp(const char *greeting);

G_END_DECLS
