/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The sender's reading of server replies (modules/sender/sender-reply.c):
 * lines out of the received bytes, multi-line replies, the one-line text
 * kept for logs and DSNs, and what an EHLO reply offers. Input: a byte n
 * choosing the read-size table length (1..8; bit 7: sizes in units of
 * 16 octets), n bytes of read sizes, then what the server sent. The bytes
 * arrive as sender-client.c reads them (at most 4096 at a time), in the
 * given pieces and a byte at a time: up to the first line too long to be
 * bounded the same way by every split, both must read the same replies
 * and end the same way. */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "sender-session.h"

/* SenderSession.chunk */
#define READ_SIZE 4096

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_make_warnings_fatal();
    return 0;
}

static void
check_line(const char *line)
{
    gsize len = strlen(line);

    FUZZ_CHECK(len >= 3 && len <= MAX_REPLY_LINE + READ_SIZE);
    FUZZ_CHECK(line[0] >= '1' && line[0] <= '5');
    FUZZ_CHECK(g_ascii_isdigit(line[1]) && g_ascii_isdigit(line[2]));
    FUZZ_CHECK(len == 3 || line[3] == ' ' || line[3] == '-');
    FUZZ_CHECK(strchr(line, '\n') == NULL);
}

/* One reply, as text for comparing runs. */
static void
describe_reply(GString *trace, GPtrArray *lines)
{
    FUZZ_CHECK(lines->len >= 1 && lines->len <= MAX_REPLY_LINES);
    for (guint i = 0; i < lines->len; i++) {
        const char *l = lines->pdata[i];
        check_line(l);
        /* Every line but the last says that more follow. */
        FUZZ_CHECK((i + 1 < lines->len) == (strlen(l) > 3 && l[3] == '-'));
    }

    Reply r = sender_reply_build(lines);
    FUZZ_CHECK(r.code >= 100 && r.code <= 599);
    FUZZ_CHECK(r.code == (int)g_ascii_strtoll(lines->pdata[0], NULL, 10));
    FUZZ_CHECK(r.text != NULL && strlen(r.text) <= 1000);
    FUZZ_CHECK(strncmp(r.text, lines->pdata[0], 3) == 0);
    FUZZ_CHECK(strlen(r.text) < 4 || r.text[3] == ' ');
    FUZZ_CHECK(strchr(r.text, '\n') == NULL);
    FUZZ_CHECK(r.lines == NULL);

    SenderEhlo ehlo = { 0 };
    sender_ehlo_parse(lines, &ehlo);
    if (lines->len == 1)
        FUZZ_CHECK(!ehlo.pipelining && !ehlo.starttls && !ehlo.has_size && !ehlo.auth_plain);
    if (!ehlo.has_size)
        FUZZ_CHECK(ehlo.size_limit == 0);
    g_string_append_printf(trace, "%d %s|%d%d%d%d%d%d%d%d %" G_GUINT64_FORMAT "\n", r.code, r.text,
                           ehlo.pipelining, ehlo.starttls, ehlo.dsn, ehlo.eightbit, ehlo.smtputf8,
                           ehlo.auth_plain, ehlo.auth_login, ehlo.has_size, ehlo.size_limit);
    g_free(r.text);
}

/* Reads @s in pieces of @sizes (cycling); returns what happened. */
static char *
run(const guint8 *sizes, gsize n_sizes, guint unit, const guint8 *s, gsize len)
{
    g_autoptr(GByteArray) inbuf = g_byte_array_new();
    g_autoptr(GPtrArray) lines = g_ptr_array_new_with_free_func(g_free);
    GString *trace = g_string_new(NULL);
    gsize fed = 0;
    guint chunk = 0;

    for (;;) {
        g_autofree char *error = NULL;
        SenderReplyStatus st = sender_reply_take(inbuf, lines, &error);

        if (st == SENDER_REPLY_MALFORMED) {
            FUZZ_CHECK(error != NULL);
            g_string_append_printf(trace, "error: %s\n", error);
            break;
        }
        FUZZ_CHECK(error == NULL);
        if (st == SENDER_REPLY_COMPLETE) {
            describe_reply(trace, lines);
            g_ptr_array_set_size(lines, 0);
            continue;
        }
        /* More: nothing left with a line end, and within bounds. */
        FUZZ_CHECK(st == SENDER_REPLY_MORE);
        FUZZ_CHECK(inbuf->len <= MAX_REPLY_LINE);
        FUZZ_CHECK(inbuf->len == 0 || memchr(inbuf->data, '\n', inbuf->len) == NULL);
        FUZZ_CHECK(lines->len <= MAX_REPLY_LINES);
        if (fed == len) {
            g_string_append_printf(trace, "waiting: %u lines, %u octets\n", lines->len, inbuf->len);
            break;
        }
        gsize n = MIN((gsize)sizes[chunk++ % n_sizes] * unit + 1, READ_SIZE);
        n = MIN(n, len - fed);
        g_byte_array_append(inbuf, s + fed, (guint)n);
        fed += n;
    }
    return g_string_free(trace, FALSE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const guint8 one = 0;

    if (size < 1 || size > 64 * 1024)
        return 0;
    gsize n_sizes = (data[0] & 7) + 1;
    guint unit = (data[0] & 0x80) ? 16 : 1;
    if (size < 1 + n_sizes)
        return 0;
    const guint8 *sizes = data + 1;
    const guint8 *stream = data + 1 + n_sizes;
    gsize len = size - 1 - n_sizes;

    /* As the server sent it, in the given pieces: must not crash. */
    g_free(run(sizes, n_sizes, unit, stream, len));

    /* Up to the first line longer than MAX_REPLY_LINE, which one split
     * may read whole and another refuse, every split reads the same. */
    gsize prefix = 0;
    while (prefix < len) {
        const guint8 *nl = memchr(stream + prefix, '\n', len - prefix);
        gsize line_len = nl != NULL ? (gsize)(nl - (stream + prefix)) : len - prefix;
        if (line_len > MAX_REPLY_LINE)
            break;
        prefix += nl != NULL ? line_len + 1 : line_len;
    }
    g_autofree char *pieces = run(sizes, n_sizes, unit, stream, prefix);
    g_autofree char *bytes = run(&one, 1, 1, stream, prefix);
    if (strcmp(pieces, bytes) != 0)
        g_error("read in pieces:\n%s\na byte at a time:\n%s", pieces, bytes);
    return 0;
}
