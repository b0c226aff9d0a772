/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The header section of a collected message (as fetched with TOP n 0, or
 * the start of RETR) split into fields, and the text matching shared by
 * routing (collector-route.c) and download rules (collector-rules.c).
 * Pure code over byte buffers, no I/O.
 *
 * How to call (collector-pop3.c / the session):
 *   g_autoptr(CollectorHeaders) h = collector_headers_parse(buf, len);
 * then hand @h to collector_route_message() and, in a
 * CollectorMessageSummary, to collector_rules_evaluate(). The module's
 * meson.build must list collector-headers.c next to collector-route.c and
 * collector-rules.c (both use it).
 *
 * ISP servers send anything: CRLF or bare LF line ends, NUL bytes, 8-bit
 * text, lines without a colon, folded lines with nothing to fold onto.
 * None of it stops the parse; everything is bounded. */

#include <glib.h>

G_BEGIN_DECLS

/* Octets of the header section read; the rest is ignored. */
#define COLLECTOR_HEADERS_MAX_BYTES (1024 * 1024)
/* Fields kept; the rest is ignored. */
#define COLLECTOR_HEADERS_MAX_FIELDS 2000
/* Octets of one unfolded value kept; the rest of the value is dropped. */
#define COLLECTOR_HEADER_MAX_VALUE (64 * 1024)

typedef struct {
    char *name;  /* as written (trailing blanks before the colon removed) */
    char *value; /* unfolded (the line breaks of folding removed), blanks
                  * around it trimmed; NUL and lone CR read as spaces */
} CollectorHeader;

typedef struct {
    GPtrArray *fields;  /* CollectorHeader *, in message order */
    gboolean truncated; /* a bound above cut something off */
} CollectorHeaders;

/* Splits the header section at the start of @data (up to the first empty
 * line, or all of it). Never fails: malformed lines are skipped. @data
 * may be NULL when @len is 0. */
CollectorHeaders *collector_headers_parse(const char *data, gsize len);
void collector_headers_free(CollectorHeaders *headers);

/* The value of the first field called @name (any case), or NULL. */
const char *collector_headers_lookup(const CollectorHeaders *headers, const char *name);

/* A valid header field name (RFC 5322 §2.2: printable ASCII but colon). */
gboolean collector_header_name_valid(const char *name, gssize len);

/* @value as UTF-8 text for matching: RFC 2047 encoded words decoded, other
 * 8-bit text read as UTF-8 or else Windows-1252. Always valid UTF-8. */
char *collector_header_decode(const char *value);

/* Case-insensitive wildcard match of the whole of @text: `*` any run of
 * characters, `?` one character. Both are UTF-8 (invalid sequences are
 * replaced). Linear in practice, O(pattern × text) at worst, so that an
 * ISP's header cannot make a rule slow. */
gboolean collector_wildcard_match(const char *pattern, const char *text);

/* @message without the header fields called @name (any case, "Name :"
 * too), continuation lines included; the body is untouched. *@removed
 * (may be NULL) gets how many fields went. Returns a new reference, to
 * @message itself when there was none. Collected mail loses the ISP's
 * Return-Path this way: the delivery writes its own from the envelope. */
GBytes *collector_message_remove_field(GBytes *message, const char *name, guint *removed);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(CollectorHeaders, collector_headers_free)

G_END_DECLS
