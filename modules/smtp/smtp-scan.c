/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The bytes of a message as they arrive, for smtp-data.c: the DATA
 * scanner that finds CRLF "." CRLF and undoes dot-stuffing, and the BDAT
 * chunk scanner. Pure functions over an SmtpBody (no connection), so the
 * fuzzer (tests/fuzz/fuzz-smtp-data.c) can drive them on their own. See
 * smtp-data.c for the rules about line ends, dots and NUL bytes. */

#include "postroom-config.h"

#include <string.h>

#include "smtp.h"

void
smtp_body_clear(SmtpBody *body)
{
    g_clear_pointer(&body->data, g_byte_array_unref);
    g_clear_pointer(&body->chunk_error, g_free);
    memset(body, 0, sizeof(*body));
}

/* Keeps @n bytes of message; past the limit only counts them. */
static void
body_put(SmtpBody *body, const guint8 *p, gsize n)
{
    if (n == 0)
        return;
    body->size += n;
    if (body->size > body->limit) {
        body->too_big = TRUE;
        g_clear_pointer(&body->data, g_byte_array_unref);
    }
    if (body->data != NULL)
        g_byte_array_append(body->data, p, n);
}

static void
body_nul(SmtpBody *body)
{
    static const guint8 nul = 0, space = ' ';

    body->nul = TRUE;
    if (body->nul_policy == SMTP_NUL_REPLACE)
        body_put(body, &space, 1);
    else if (body->nul_policy == SMTP_NUL_REJECT)
        body_put(body, &nul, 1); /* counted; the message is refused at the end */
}

/* Scans DATA bytes; returns how many belong to the message (the final
 * CRLF.CRLF included) and sets *ended when it was found. */
gsize
smtp_scan_data(SmtpBody *body, const guint8 *data, gsize len, gboolean *ended)
{
    gsize i = 0;

    *ended = FALSE;
    while (i < len) {
        guint8 c = data[i];

        switch (body->scan) {
        case SMTP_SCAN_LINE_START:
            if (c == '.') {
                body->scan = SMTP_SCAN_DOT;
                i++;
            } else {
                body->scan = SMTP_SCAN_MID;
            }
            break;
        case SMTP_SCAN_DOT:
            if (c == '\r') {
                body->scan = SMTP_SCAN_DOT_CR;
                i++;
            } else {
                /* RFC 5321 §4.5.2: the leading dot was added by the client. */
                body->scan = SMTP_SCAN_MID;
            }
            break;
        case SMTP_SCAN_DOT_CR:
            if (c == '\n') {
                *ended = TRUE;
                return i + 1;
            }
            /* "." CR and something else: the CR is bare. */
            body->bare_cr = TRUE;
            body_put(body, (const guint8 *)"\r", 1);
            body->scan = SMTP_SCAN_MID;
            break;
        case SMTP_SCAN_CR:
            if (c == '\n') {
                body_put(body, (const guint8 *)"\r\n", 2);
                body->scan = SMTP_SCAN_LINE_START;
                i++;
            } else {
                body->bare_cr = TRUE;
                body_put(body, (const guint8 *)"\r", 1);
                body->scan = SMTP_SCAN_MID;
            }
            break;
        case SMTP_SCAN_MID:
        default: {
            gsize start = i;
            while (i < len && data[i] != '\r' && data[i] != '\n' && data[i] != '\0')
                i++;
            body_put(body, data + start, i - start);
            if (i == len)
                break;
            if (data[i] == '\r') {
                body->scan = SMTP_SCAN_CR;
            } else if (data[i] == '\n') {
                /* A bare LF does not start a line: no dot after it is
                 * unstuffed or ends the data. */
                body->bare_lf = TRUE;
                body_put(body, (const guint8 *)"\n", 1);
            } else {
                body_nul(body);
            }
            i++;
            break;
        }
        }
    }
    return len;
}

/* Keeps chunk bytes as they are (BDAT data is not dot-stuffed) and notes
 * bare CR, bare LF and NUL, also across chunk boundaries. */
void
smtp_scan_chunk(SmtpBody *body, const guint8 *data, gsize len)
{
    gsize start = 0;

    for (gsize i = 0; i < len; i++) {
        guint8 c = data[i];
        if (body->last_was_cr && c != '\n')
            body->bare_cr = TRUE;
        if (c == '\n' && !body->last_was_cr)
            body->bare_lf = TRUE;
        body->last_was_cr = c == '\r';
        if (c == '\0') {
            body_put(body, data + start, i - start);
            body_nul(body);
            start = i + 1;
        }
    }
    body_put(body, data + start, len - start);
}
