/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* A bounded line reader over a fixed buffer: the network code reads into
 * line_reader_space(), commits what arrived and takes whole lines out. It
 * never grows (GDataInputStream does, without bound), so a client cannot
 * make the server buffer more than max_line bytes per connection. It does no
 * I/O itself, which keeps it testable byte by byte and fuzzable. */

#include <glib.h>

typedef struct _LineReader LineReader;

typedef enum {
    LINE_READY,     /* a complete line is in *line */
    LINE_NEED_MORE, /* no complete line buffered */
    LINE_TOO_LONG,  /* max_line bytes without a line end; they are dropped up
                     * to and including the next LF, then reading goes on */
} LineStatus;

typedef struct {
    char *text;       /* NUL-terminated in place; valid until the next call */
    gsize len;        /* without the line end */
    gboolean bare_lf; /* ended by LF without CR */
    gboolean has_nul; /* contains NUL bytes */
} Line;

/* @max_line counts the line end, as the RFCs do. */
LineReader *line_reader_new(gsize max_line);
void line_reader_free(LineReader *reader);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LineReader, line_reader_free)

/* Where to put new bytes, and how many fit (never 0). */
char *line_reader_space(LineReader *reader, gsize *avail);
void line_reader_commit(LineReader *reader, gsize n);
LineStatus line_reader_next(LineReader *reader, Line *line);

/* Raw access, for protocols that switch to a byte stream (SMTP DATA):
 * the buffered bytes not yet taken, and taking the first @n of them. */
const char *line_reader_peek(LineReader *reader, gsize *len);
void line_reader_consume(LineReader *reader, gsize n);

/* Bytes received but not yet returned as lines (a STARTTLS command must be
 * the last thing the client sent before the handshake). */
gsize line_reader_pending(const LineReader *reader);
