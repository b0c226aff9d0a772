/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The line reader against a reference model. Input: one byte choosing the
 * chunk-size table length n (1..8), n bytes of chunk sizes, then the
 * stream. Each reader (several max_line values) must return exactly the
 * lines the model predicts, whatever the chunking. */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "line-reader.h"

static const gsize max_lines[] = { 3, 4, 16, 64, 255, 512 };

/* The model: split at LF; a segment of L bytes (CR included) plus its LF
 * fits when L + 1 <= max_line, otherwise it is one LINE_TOO_LONG. */
typedef struct {
    const guint8 *stream;
    gsize len;
    gsize pos; /* start of the next expected segment */
    gsize max_line;
    gboolean in_long; /* the reader already reported the current segment */
} Model;

static void
check_line(Model *m, const Line *line)
{
    const guint8 *seg = m->stream + m->pos;
    const guint8 *lf = memchr(seg, '\n', m->len - m->pos);
    FUZZ_CHECK(lf != NULL);
    gsize seg_len = (gsize)(lf - seg);
    FUZZ_CHECK(seg_len + 1 <= m->max_line);
    gboolean cr = seg_len > 0 && seg[seg_len - 1] == '\r';
    FUZZ_CHECK(line->bare_lf == !cr);
    FUZZ_CHECK(line->len == (cr ? seg_len - 1 : seg_len));
    FUZZ_CHECK(line->len + (line->bare_lf ? 1 : 2) <= m->max_line);
    FUZZ_CHECK(memcmp(line->text, seg, line->len) == 0);
    FUZZ_CHECK(line->text[line->len] == '\0');
    FUZZ_CHECK(line->has_nul == (memchr(seg, '\0', line->len) != NULL));
    m->pos += seg_len + 1;
}

static void
check_too_long(Model *m)
{
    const guint8 *seg = m->stream + m->pos;
    const guint8 *lf = memchr(seg, '\n', m->len - m->pos);
    gsize seg_len = lf != NULL ? (gsize)(lf - seg) : m->len - m->pos;
    FUZZ_CHECK(seg_len >= m->max_line);
    FUZZ_CHECK(!m->in_long);
    if (lf != NULL) {
        m->pos += seg_len + 1;
    } else {
        /* The rest of the stream belongs to this line. */
        m->pos = m->len;
        m->in_long = TRUE;
    }
}

static void
run_reader(gsize max_line, const guint8 *sizes, gsize n_sizes, const guint8 *stream, gsize len)
{
    g_autoptr(LineReader) reader = line_reader_new(max_line);
    Model m = { stream, len, 0, max_line, FALSE };
    gsize fed = 0;
    guint chunk = 0;

    while (fed < len) {
        gsize avail = 0;
        char *space = line_reader_space(reader, &avail);
        FUZZ_CHECK(avail > 0 && avail <= max_line);
        gsize n = (gsize)sizes[chunk++ % n_sizes] + 1;
        n = MIN(n, MIN(avail, len - fed));
        memcpy(space, stream + fed, n);
        line_reader_commit(reader, n);
        fed += n;
        FUZZ_CHECK(line_reader_pending(reader) <= max_line);
        for (;;) {
            Line line;
            LineStatus st = line_reader_next(reader, &line);
            if (st == LINE_NEED_MORE)
                break;
            if (st == LINE_TOO_LONG)
                check_too_long(&m);
            else
                check_line(&m, &line);
        }
    }
    /* What is left is an unfinished line shorter than max_line, or the
     * dropped tail of a long one. */
    if (m.in_long) {
        FUZZ_CHECK(line_reader_pending(reader) == 0);
    } else {
        FUZZ_CHECK(memchr(stream + m.pos, '\n', len - m.pos) == NULL);
        FUZZ_CHECK(len - m.pos < max_line);
        FUZZ_CHECK(line_reader_pending(reader) == len - m.pos);
    }
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_make_warnings_fatal();
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    gsize n_sizes = (data[0] % 8) + 1;
    if (size < 1 + n_sizes)
        return 0;
    const guint8 *sizes = data + 1;
    const guint8 *stream = data + 1 + n_sizes;
    gsize len = size - 1 - n_sizes;

    for (guint i = 0; i < G_N_ELEMENTS(max_lines); i++)
        run_reader(max_lines[i], sizes, n_sizes, stream, len);
    return 0;
}
