/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The bounded line reader, fed the way the network delivers data: one byte
 * at a time, in random chunks, and everything at once. */
#include "config.h"

#include "line-reader.h"

/* What came out of the reader, one entry per line or event. */
typedef struct {
    GPtrArray *lines; /* GBytes* with the line's text; NULL entry = LINE_TOO_LONG */
    GArray *bare_lf;  /* gboolean per line */
    GArray *has_nul;  /* gboolean per line */
} Output;

static void
output_init(Output *out)
{
    out->lines = g_ptr_array_new_with_free_func((GDestroyNotify)g_bytes_unref);
    out->bare_lf = g_array_new(FALSE, FALSE, sizeof(gboolean));
    out->has_nul = g_array_new(FALSE, FALSE, sizeof(gboolean));
}

static void
output_clear(Output *out)
{
    g_ptr_array_unref(out->lines);
    g_array_unref(out->bare_lf);
    g_array_unref(out->has_nul);
}

/* Takes every complete line out of @reader. */
static void
drain(LineReader *reader, gsize max_line, Output *out)
{
    for (int guard = 0; guard < 100000; guard++) {
        Line line = { 0 };
        LineStatus st = line_reader_next(reader, &line);
        if (st == LINE_NEED_MORE)
            return;
        gboolean f = FALSE;
        if (st == LINE_TOO_LONG) {
            g_ptr_array_add(out->lines, NULL);
            g_array_append_val(out->bare_lf, f);
            g_array_append_val(out->has_nul, f);
            continue;
        }
        g_assert_cmpint(st, ==, LINE_READY);
        /* The line end counts against max_line. */
        g_assert_cmpuint(line.len + (line.bare_lf ? 1 : 2), <=, max_line);
        g_assert_cmpint(line.text[line.len], ==, '\0');
        g_assert_cmpint(line.has_nul, ==, memchr(line.text, '\0', line.len) != NULL);
        g_ptr_array_add(out->lines, g_bytes_new(line.text, line.len));
        g_array_append_val(out->bare_lf, line.bare_lf);
        g_array_append_val(out->has_nul, line.has_nul);
    }
    g_assert_not_reached();
}

/* Feeds @data in chunks: @chunk bytes each, or random sizes from 1 to
 * @chunk when @random is set. */
static void
feed(LineReader *reader, gsize max_line, const char *data, gsize len, gsize chunk, gboolean random,
     Output *out)
{
    gsize pos = 0;
    for (guint rounds = 0; pos < len; rounds++) {
        g_assert_cmpuint(rounds, <, len + 1);
        gsize avail = 0;
        char *space = line_reader_space(reader, &avail);
        g_assert_cmpuint(avail, >, 0);
        g_assert_cmpuint(avail, <=, max_line);
        gsize n = random ? (gsize)g_test_rand_int_range(1, (gint32)chunk + 1) : chunk;
        n = MIN(n, MIN(avail, len - pos));
        memcpy(space, data + pos, n);
        line_reader_commit(reader, n);
        pos += n;
        drain(reader, max_line, out);
    }
}

static void
assert_line(Output *out, guint i, const char *text, gsize len, gboolean bare_lf)
{
    g_assert_cmpuint(i, <, out->lines->len);
    GBytes *b = out->lines->pdata[i];
    g_assert_nonnull(b);
    gsize n = 0;
    const char *got = g_bytes_get_data(b, &n);
    g_assert_cmpmem(got, n, text, len);
    g_assert_cmpint(g_array_index(out->bare_lf, gboolean, i), ==, bare_lf);
}

static void
assert_too_long(Output *out, guint i)
{
    g_assert_cmpuint(i, <, out->lines->len);
    g_assert_null(out->lines->pdata[i]);
}

/* A stream mixing everything a client can send. */
static const char mixed[] = "USER alice\r\n"
                            "PASS secret\n"
                            "\r\n"
                            "\n"
                            "NOOP\r\r\n"
                            "A\0B\r\n"
                            "QUIT\r\n"
                            "partial";

static void
check_mixed(Output *out, LineReader *reader)
{
    g_assert_cmpuint(out->lines->len, ==, 7);
    assert_line(out, 0, "USER alice", 10, FALSE);
    assert_line(out, 1, "PASS secret", 11, TRUE);
    assert_line(out, 2, "", 0, FALSE);
    assert_line(out, 3, "", 0, TRUE);
    /* Only the CR right before the LF is part of the line end. */
    assert_line(out, 4, "NOOP\r", 5, FALSE);
    assert_line(out, 5, "A\0B", 3, FALSE);
    g_assert_true(g_array_index(out->has_nul, gboolean, 5));
    g_assert_false(g_array_index(out->has_nul, gboolean, 4));
    assert_line(out, 6, "QUIT", 4, FALSE);
    g_assert_cmpuint(line_reader_pending(reader), ==, strlen("partial"));
}

static void
test_one_byte(void)
{
    g_autoptr(LineReader) reader = line_reader_new(64);
    Output out;
    output_init(&out);
    feed(reader, 64, mixed, sizeof mixed - 1, 1, FALSE, &out);
    check_mixed(&out, reader);
    output_clear(&out);
}

static void
test_all_at_once(void)
{
    g_autoptr(LineReader) reader = line_reader_new(64);
    Output out;
    output_init(&out);
    feed(reader, 64, mixed, sizeof mixed - 1, sizeof mixed, FALSE, &out);
    check_mixed(&out, reader);
    output_clear(&out);
}

static void
test_random_chunks(void)
{
    /* Deterministic: GTest seeds g_test_rand_int from the test path unless
     * --seed is given; each round uses a fresh reader. */
    for (int round = 0; round < 200; round++) {
        gsize max_line = (gsize)g_test_rand_int_range(16, 80);
        g_autoptr(LineReader) reader = line_reader_new(max_line);
        Output out;
        output_init(&out);
        feed(reader, max_line, mixed, sizeof mixed - 1, (gsize)g_test_rand_int_range(1, 40), TRUE,
             &out);
        check_mixed(&out, reader);
        output_clear(&out);
    }
}

/* Many generated lines of random lengths, some too long, in random chunks:
 * every short line comes out intact, each long one once as LINE_TOO_LONG. */
static void
test_random_stream(void)
{
    for (int round = 0; round < 50; round++) {
        gsize max_line = (gsize)g_test_rand_int_range(3, 100);
        g_autoptr(GString) stream = g_string_new(NULL);
        g_autoptr(GPtrArray) expected = g_ptr_array_new_with_free_func(g_free);
        g_autoptr(GArray) crlf = g_array_new(FALSE, FALSE, sizeof(gboolean));

        for (int l = 0; l < 100; l++) {
            gboolean with_cr = g_test_rand_bit();
            gsize end = with_cr ? 2 : 1;
            gsize len = (gsize)g_test_rand_int_range(0, (gint32)(max_line * 2));
            char *text = g_malloc(len + 1);
            for (gsize i = 0; i < len; i++)
                text[i] = (char)g_test_rand_int_range('a', 'z' + 1);
            text[len] = '\0';
            g_string_append_len(stream, text, (gssize)len);
            g_string_append(stream, with_cr ? "\r\n" : "\n");
            if (len + end <= max_line) {
                g_ptr_array_add(expected, text);
            } else {
                g_ptr_array_add(expected, NULL);
                g_free(text);
            }
            g_array_append_val(crlf, with_cr);
        }

        g_autoptr(LineReader) reader = line_reader_new(max_line);
        Output out;
        output_init(&out);
        feed(reader, max_line, stream->str, stream->len, (gsize)g_test_rand_int_range(1, 300), TRUE,
             &out);
        g_assert_cmpuint(out.lines->len, ==, expected->len);
        for (guint i = 0; i < expected->len; i++) {
            const char *text = expected->pdata[i];
            if (text == NULL)
                assert_too_long(&out, i);
            else
                assert_line(&out, i, text, strlen(text), !g_array_index(crlf, gboolean, i));
        }
        g_assert_cmpuint(line_reader_pending(reader), ==, 0);
        output_clear(&out);
    }
}

static void
test_limits(void)
{
    const gsize max_line = 16;

    for (int bytewise = 0; bytewise < 2; bytewise++) {
        gsize chunk = bytewise ? 1 : 1000;
        g_autoptr(LineReader) reader = line_reader_new(max_line);
        Output out;
        output_init(&out);
        g_autoptr(GString) s = g_string_new(NULL);

        /* Exactly max_line with CRLF, and with a bare LF: accepted. */
        g_string_append(s, "0123456789abcd\r\n");
        g_string_append(s, "0123456789abcde\n");
        /* max_line + 1 with CRLF: the CR no longer fits. */
        g_string_append(s, "0123456789abcde\r\n");
        g_string_append(s, "next\r\n");
        /* max_line + 1 with LF. */
        g_string_append(s, "0123456789abcdef\n");
        /* Far too long: still one LINE_TOO_LONG, and the rest is dropped. */
        for (int i = 0; i < 10; i++)
            g_string_append(s, "xxxxxxxxxxxxxxxxxxxxxxx");
        g_string_append(s, "\r\n");
        g_string_append(s, "after\n");
        g_assert_cmpuint(strlen("0123456789abcd\r\n"), ==, max_line);

        feed(reader, max_line, s->str, s->len, chunk, FALSE, &out);
        g_assert_cmpuint(out.lines->len, ==, 7);
        assert_line(&out, 0, "0123456789abcd", 14, FALSE);
        assert_line(&out, 1, "0123456789abcde", 15, TRUE);
        assert_too_long(&out, 2);
        assert_line(&out, 3, "next", 4, FALSE);
        assert_too_long(&out, 4);
        assert_too_long(&out, 5);
        assert_line(&out, 6, "after", 5, TRUE);
        g_assert_cmpuint(line_reader_pending(reader), ==, 0);
        output_clear(&out);
    }
}

static void
test_long_line_split_arrival(void)
{
    const gsize max_line = 8;
    g_autoptr(LineReader) reader = line_reader_new(max_line);
    Output out;
    output_init(&out);

    /* An over-long line arriving over several reads reports LINE_TOO_LONG
     * once, even though each read is shorter than max_line. */
    feed(reader, max_line, "abcdefgh", 8, 8, FALSE, &out);
    g_assert_cmpuint(out.lines->len, ==, 1);
    assert_too_long(&out, 0);
    feed(reader, max_line, "ijklmn", 6, 6, FALSE, &out);
    feed(reader, max_line, "opqrstuvwxyz", 12, 5, FALSE, &out);
    g_assert_cmpuint(out.lines->len, ==, 1);
    /* Nothing of the dropped line is pending. */
    g_assert_cmpuint(line_reader_pending(reader), ==, 0);
    feed(reader, max_line, "12\r\nok\r\n", 8, 8, FALSE, &out);
    g_assert_cmpuint(out.lines->len, ==, 2);
    assert_line(&out, 1, "ok", 2, FALSE);
    output_clear(&out);
}

static void
test_pending(void)
{
    g_autoptr(LineReader) reader = line_reader_new(32);
    Output out;
    output_init(&out);

    g_assert_cmpuint(line_reader_pending(reader), ==, 0);
    gsize avail = 0;
    char *space = line_reader_space(reader, &avail);
    g_assert_cmpuint(avail, ==, 32);
    memcpy(space, "STLS\r\nUSER x\r\nPA", 16);
    line_reader_commit(reader, 16);
    g_assert_cmpuint(line_reader_pending(reader), ==, 16);

    Line line;
    g_assert_cmpint(line_reader_next(reader, &line), ==, LINE_READY);
    g_assert_cmpstr(line.text, ==, "STLS");
    /* What STARTTLS checks: bytes behind the command. */
    g_assert_cmpuint(line_reader_pending(reader), ==, 10);
    g_assert_cmpint(line_reader_next(reader, &line), ==, LINE_READY);
    g_assert_cmpstr(line.text, ==, "USER x");
    g_assert_cmpuint(line_reader_pending(reader), ==, 2);
    g_assert_cmpint(line_reader_next(reader, &line), ==, LINE_NEED_MORE);
    g_assert_cmpuint(line_reader_pending(reader), ==, 2);

    /* Space is compacted: the partial line moves to the front. */
    space = line_reader_space(reader, &avail);
    g_assert_cmpuint(avail, ==, 30);
    memcpy(space, "SS y\r\n", 6);
    line_reader_commit(reader, 6);
    g_assert_cmpint(line_reader_next(reader, &line), ==, LINE_READY);
    g_assert_cmpstr(line.text, ==, "PASS y");
    g_assert_cmpuint(line_reader_pending(reader), ==, 0);
    output_clear(&out);
}

static void
test_many_lines_one_chunk(void)
{
    const gsize max_line = 512;
    g_autoptr(LineReader) reader = line_reader_new(max_line);
    gsize avail = 0;
    char *space = line_reader_space(reader, &avail);
    g_assert_cmpuint(avail, ==, max_line);

    /* As many "N\r\n" lines as fit into one read. */
    g_autoptr(GString) s = g_string_new(NULL);
    guint n = 0;
    while (s->len + 6 <= max_line)
        g_string_append_printf(s, "%03u\r\n", n++);
    memcpy(space, s->str, s->len);
    line_reader_commit(reader, s->len);

    for (guint i = 0; i < n; i++) {
        Line line;
        g_assert_cmpint(line_reader_next(reader, &line), ==, LINE_READY);
        g_autofree char *want = g_strdup_printf("%03u", i);
        g_assert_cmpstr(line.text, ==, want);
        g_assert_false(line.bare_lf);
    }
    Line line;
    g_assert_cmpint(line_reader_next(reader, &line), ==, LINE_NEED_MORE);
    g_assert_cmpuint(line_reader_pending(reader), ==, 0);
    g_assert_cmpuint(n, ==, max_line / 5);
}

static void
test_smallest(void)
{
    /* The smallest reader: "x\r\n" fits, "xy\r\n" does not. */
    g_autoptr(LineReader) reader = line_reader_new(3);
    Output out;
    output_init(&out);
    feed(reader, 3, "x\r\nxy\r\n\r\nab\n", 13, 1, FALSE, &out);
    g_assert_cmpuint(out.lines->len, ==, 4);
    assert_line(&out, 0, "x", 1, FALSE);
    assert_too_long(&out, 1);
    assert_line(&out, 2, "", 0, FALSE);
    assert_line(&out, 3, "ab", 2, TRUE);
    output_clear(&out);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
    g_test_summary("Bounded line reader: chunking, line ends, NUL, limits");

    g_test_add_func("/line-reader/one-byte", test_one_byte);
    g_test_add_func("/line-reader/all-at-once", test_all_at_once);
    g_test_add_func("/line-reader/random-chunks", test_random_chunks);
    g_test_add_func("/line-reader/random-stream", test_random_stream);
    g_test_add_func("/line-reader/limits", test_limits);
    g_test_add_func("/line-reader/long-line-split", test_long_line_split_arrival);
    g_test_add_func("/line-reader/pending", test_pending);
    g_test_add_func("/line-reader/many-lines", test_many_lines_one_chunk);
    g_test_add_func("/line-reader/smallest", test_smallest);
    return g_test_run();
}
