/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "line-reader.h"

#include <string.h>

struct _LineReader {
    gsize max_line;
    gsize start;         /* first unconsumed byte */
    gsize end;           /* one past the last received byte */
    gboolean discarding; /* inside an over-long line */
    char buf[];          /* max_line bytes + 1 for the terminating NUL */
};

LineReader *
line_reader_new(gsize max_line)
{
    g_return_val_if_fail(max_line >= 3, NULL);
    LineReader *reader = g_malloc(sizeof(LineReader) + max_line + 1);
    reader->max_line = max_line;
    reader->start = reader->end = 0;
    reader->discarding = FALSE;
    return reader;
}

void
line_reader_free(LineReader *reader)
{
    g_free(reader);
}

char *
line_reader_space(LineReader *reader, gsize *avail)
{
    if (reader->start > 0) {
        memmove(reader->buf, reader->buf + reader->start, reader->end - reader->start);
        reader->end -= reader->start;
        reader->start = 0;
    }
    /* A full buffer is reported as LINE_TOO_LONG by line_reader_next(), which
     * empties it, so there is always room here once lines are taken out. */
    *avail = reader->max_line - reader->end;
    if (*avail == 0) {
        /* Callers must drain with line_reader_next() first; be safe anyway. */
        reader->end = 0;
        reader->discarding = TRUE;
        *avail = reader->max_line;
    }
    return reader->buf + reader->end;
}

void
line_reader_commit(LineReader *reader, gsize n)
{
    g_return_if_fail(reader->end + n <= reader->max_line);
    reader->end += n;
}

const char *
line_reader_peek(LineReader *reader, gsize *len)
{
    *len = reader->end - reader->start;
    return reader->buf + reader->start;
}

void
line_reader_consume(LineReader *reader, gsize n)
{
    g_return_if_fail(n <= reader->end - reader->start);
    reader->start += n;
}

gsize
line_reader_pending(const LineReader *reader)
{
    return reader->end - reader->start;
}

LineStatus
line_reader_next(LineReader *reader, Line *line)
{
    for (;;) {
        char *begin = reader->buf + reader->start;
        gsize avail = reader->end - reader->start;
        char *lf = memchr(begin, '\n', avail);

        if (reader->discarding) {
            if (lf == NULL) {
                reader->start = reader->end = 0;
                return LINE_NEED_MORE;
            }
            reader->start += (lf - begin) + 1;
            reader->discarding = FALSE;
            continue;
        }
        if (lf == NULL) {
            if (reader->end - reader->start < reader->max_line)
                return LINE_NEED_MORE;
            /* max_line bytes and no line end: drop them, and the rest of the
             * line as it arrives. */
            reader->start = reader->end = 0;
            reader->discarding = TRUE;
            return LINE_TOO_LONG;
        }

        gsize len = lf - begin;
        line->bare_lf = len == 0 || begin[len - 1] != '\r';
        if (!line->bare_lf)
            len--;
        begin[len] = '\0';
        line->text = begin;
        line->len = len;
        line->has_nul = memchr(begin, '\0', len) != NULL;
        reader->start += (lf - begin) + 1;
        return LINE_READY;
    }
}
