/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The SMTP server's DATA and BDAT scanners (modules/smtp/smtp-scan.c)
 * against a reference model. Input: a flags byte (bits 0-1 the nul
 * policy, bit 2 BDAT rather than DATA, bits 3-4 the size limit), a limit
 * byte, a byte n choosing the chunk-size table length (1..8), n bytes of
 * chunk sizes, then the bytes the client sent after "354" (or the BDAT
 * chunk's octets). The stream is scanned whole, a byte at a time and in
 * the given pieces, as the host hands it to the raw handler; every way
 * must give what the model says: the same end offset, found only right
 * after CRLF "." CRLF, the same unstuffed message and the same flags. */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "smtp.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_make_warnings_fatal();
    return 0;
}

typedef struct {
    SmtpNulPolicy nul_policy;
    gint64 limit;
    gboolean bdat;
} Params;

/* What the scanner must have made of the stream. */
typedef struct {
    gboolean ended;
    gsize end;        /* offset just past the final CRLF "." CRLF */
    GByteArray *data; /* the message, unstuffed, NUL policy applied */
    gboolean bare_lf;
    gboolean bare_cr;
    gboolean nul;
    gboolean last_was_cr; /* BDAT */
} Expect;

static void
model_put(Expect *e, const Params *p, guint8 c)
{
    if (c == '\0') {
        e->nul = TRUE;
        if (p->nul_policy == SMTP_NUL_REPLACE)
            c = ' ';
        else if (p->nul_policy == SMTP_NUL_STRIP)
            return;
    }
    g_byte_array_append(e->data, &c, 1);
}

/* DATA: the end is the first "." CRLF at the very beginning or right
 * after CRLF; a line starts only after CRLF, and a dot there is taken
 * away. A CR at the end of the stream is not decided yet. */
static void
model_data(Expect *e, const Params *p, const guint8 *s, gsize len)
{
    gsize region = len;

    for (gsize i = 0; i + 3 <= len; i++) {
        if (s[i] == '.' && s[i + 1] == '\r' && s[i + 2] == '\n' &&
            (i == 0 || (i >= 2 && s[i - 2] == '\r' && s[i - 1] == '\n'))) {
            e->ended = TRUE;
            e->end = i + 3;
            region = i;
            break;
        }
    }
    for (gsize i = 0; i < region; i++) {
        gboolean line_start = i == 0 || (i >= 2 && s[i - 2] == '\r' && s[i - 1] == '\n');
        if (line_start && s[i] == '.')
            continue;
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
            e->bare_lf = TRUE;
        if (s[i] == '\r') {
            if (i + 1 == len)
                break; /* pending */
            if (s[i + 1] != '\n')
                e->bare_cr = TRUE;
        }
        model_put(e, p, s[i]);
    }
}

/* BDAT: the octets as they are. */
static void
model_bdat(Expect *e, const Params *p, const guint8 *s, gsize len)
{
    for (gsize i = 0; i < len; i++) {
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
            e->bare_lf = TRUE;
        if (s[i] == '\r' && i + 1 < len && s[i + 1] != '\n')
            e->bare_cr = TRUE;
        model_put(e, p, s[i]);
    }
    e->last_was_cr = len > 0 && s[len - 1] == '\r';
}

static void
body_init(SmtpBody *body, const Params *p)
{
    /* As smtp-data.c's body_start(). */
    memset(body, 0, sizeof(*body));
    body->data = g_byte_array_new();
    body->limit = p->limit;
    body->scan = SMTP_SCAN_LINE_START;
    body->nul_policy = p->nul_policy;
}

/* Feeds @s in pieces of @sizes (cycling), or whole when @n_sizes is 0. */
static void
run(const Params *p, const Expect *e, const guint8 *sizes, gsize n_sizes, const guint8 *s,
    gsize len)
{
    SmtpBody body;
    gsize fed = 0;
    guint chunk = 0;
    gboolean ended = FALSE;
    gsize end = 0;

    body_init(&body, p);
    while (fed < len && !ended) {
        gsize n = n_sizes == 0 ? len : (gsize)sizes[chunk++ % n_sizes] + 1;
        n = MIN(n, len - fed);
        if (p->bdat) {
            smtp_scan_chunk(&body, s + fed, n);
            fed += n;
            continue;
        }
        gsize used = smtp_scan_data(&body, s + fed, n, &ended);
        if (ended) {
            FUZZ_CHECK(used > 0 && used <= n);
            end = fed + used;
        } else {
            /* Until the end, every byte belongs to the message. */
            FUZZ_CHECK(used == n);
        }
        fed += used;
    }

    FUZZ_CHECK(ended == e->ended);
    if (ended) {
        FUZZ_CHECK(end == e->end);
        /* Only at CRLF "." CRLF (the CRLF before may be the command's). */
        FUZZ_CHECK(end >= 3 && memcmp(s + end - 3, ".\r\n", 3) == 0);
        FUZZ_CHECK(end == 3 || (end >= 5 && memcmp(s + end - 5, "\r\n", 2) == 0));
    }
    FUZZ_CHECK(body.bare_lf == e->bare_lf);
    FUZZ_CHECK(body.bare_cr == e->bare_cr);
    FUZZ_CHECK(body.nul == e->nul);
    FUZZ_CHECK(body.size == (gint64)e->data->len);
    FUZZ_CHECK(body.too_big == (body.size > p->limit));
    if (body.too_big) {
        FUZZ_CHECK(body.data == NULL);
    } else {
        FUZZ_CHECK(body.data != NULL && body.data->len == e->data->len);
        FUZZ_CHECK(e->data->len == 0 || memcmp(body.data->data, e->data->data, e->data->len) == 0);
    }
    if (p->bdat)
        FUZZ_CHECK(body.last_was_cr == e->last_was_cr);
    smtp_body_clear(&body);
    FUZZ_CHECK(body.data == NULL && body.size == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const guint8 one = 0;

    if (size < 3 || size > 64 * 1024)
        return 0;
    Params p = { 0 };
    switch (data[0] & 3) {
    case 1:
        p.nul_policy = SMTP_NUL_STRIP;
        break;
    case 2:
        p.nul_policy = SMTP_NUL_REPLACE;
        break;
    default:
        p.nul_policy = SMTP_NUL_REJECT;
        break;
    }
    p.bdat = (data[0] & 4) != 0;
    switch ((data[0] >> 3) & 3) {
    case 0:
        p.limit = G_MAXINT64;
        break;
    case 1:
        p.limit = data[1];
        break;
    case 2:
        p.limit = 0;
        break;
    default:
        p.limit = (gint64)data[1] * 64;
        break;
    }
    gsize n_sizes = (data[2] & 7) + 1;
    if (size < 3 + n_sizes)
        return 0;
    const guint8 *sizes = data + 3;
    const guint8 *stream = data + 3 + n_sizes;
    gsize len = size - 3 - n_sizes;

    Expect e = { 0 };
    e.data = g_byte_array_new();
    if (p.bdat)
        model_bdat(&e, &p, stream, len);
    else
        model_data(&e, &p, stream, len);

    run(&p, &e, NULL, 0, stream, len);        /* whole */
    run(&p, &e, &one, 1, stream, len);        /* a byte at a time */
    run(&p, &e, sizes, n_sizes, stream, len); /* as the input says */
    g_byte_array_unref(e.data);
    return 0;
}
