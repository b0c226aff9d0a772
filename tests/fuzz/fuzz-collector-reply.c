/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The collector's reading of POP3 replies (modules/collector/collector-reply.c):
 * status lines with response codes, listings and messages with
 * dot-unstuffing, the NUL policies and the size bound, and the parsing of
 * CAPA, UIDL, LIST and STAT and of the APOP timestamp.
 *
 * Input: byte 0 chooses the read-size table length (bits 0-2: 1..8; bit 7:
 * sizes in units of 16 octets); byte 1 says which replies are multi-line
 * (bit i for reply i, cycling); byte 2 gives the NUL policy (bits 0-1),
 * listing or message (bit 2) and the size bound (bits 3-7: 0 none, else
 * n * 64 octets); then the read sizes, then what the server sent. As
 * collector-pop3.c does, a status line is read, and after a +OK of a
 * multi-line reply the response body. The bytes arrive in the given pieces
 * and a byte at a time: both must read the same and end the same way. */
#include "postroom-config.h"

#include <string.h>

#include "collector-reply.h"
#include "fuzz.h"

/* CollectorPop3's read size */
#define READ_SIZE 16384

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_make_warnings_fatal();
    return 0;
}

static void
check_text(const char *text)
{
    FUZZ_CHECK(text != NULL);
    FUZZ_CHECK(g_utf8_validate(text, -1, NULL));
    for (const char *p = text; *p != '\0'; p++)
        FUZZ_CHECK((guchar)*p >= ' ' && *p != 0x7f);
}

static void
describe_status(GString *trace, const CollectorStatus *st)
{
    check_text(st->text);
    /* Invalid UTF-8 octets become U+FFFD, three octets each. */
    FUZZ_CHECK(strlen(st->text) <= 3 * COLLECTOR_MAX_STATUS_LINE);
    if (st->code != NULL) {
        FUZZ_CHECK(st->kind != COLLECTOR_STATUS_CONTINUE);
        FUZZ_CHECK(*st->code != '\0' && strchr(st->code, ']') == NULL);
        FUZZ_CHECK(strchr(st->code, ' ') == NULL && st->code[0] != '/');
        check_text(st->code);
    }
    g_string_append_printf(trace, "status %d [%s] %s\n", st->kind, st->code ? st->code : "-",
                           st->text);

    /* What the client takes from status texts must not crash, and must
     * give what it promises. */
    guint count = 0;
    guint64 size = 0;
    if (collector_parse_stat(st->text, &count, &size))
        g_string_append_printf(trace, "stat %u %" G_GUINT64_FORMAT "\n", count, size);
    g_autofree char *ts = collector_apop_timestamp(st->text);
    if (ts != NULL) {
        gsize len = strlen(ts);
        FUZZ_CHECK(len >= 3 && ts[0] == '<' && ts[len - 1] == '>' && strchr(ts, '@') != NULL);
        FUZZ_CHECK(strstr(st->text, ts) != NULL);
    }
}

static void
describe_listing(GString *trace, CollectorMultiline *ml)
{
    FUZZ_CHECK(ml->lines->len <= COLLECTOR_MAX_LISTING_LINES);
    for (guint i = 0; i < ml->lines->len; i++) {
        const char *l = ml->lines->pdata[i];
        FUZZ_CHECK(strlen(l) <= COLLECTOR_MAX_LISTING_LINE);
        FUZZ_CHECK(strchr(l, '\n') == NULL);
        guint msgno = 0;
        guint64 size = 0;
        g_autofree char *uid = NULL;
        if (collector_parse_uidl_line(l, &msgno, &uid)) {
            FUZZ_CHECK(msgno > 0);
            FUZZ_CHECK(uid != NULL && *uid != '\0' && strlen(uid) <= COLLECTOR_MAX_UID);
            for (const char *p = uid; *p != '\0'; p++)
                FUZZ_CHECK((guchar)*p > ' ' && (guchar)*p < 0x7f);
            g_string_append_printf(trace, "uid %u %s\n", msgno, uid);
        }
        if (collector_parse_list_line(l, &msgno, &size)) {
            FUZZ_CHECK(msgno > 0);
            g_string_append_printf(trace, "size %u %" G_GUINT64_FORMAT "\n", msgno, size);
        }
        g_string_append_printf(trace, "line %s\n", l);
    }
    CollectorCapa capa;
    collector_capa_parse(ml->lines, &capa);
    g_string_append_printf(trace, "capa %d%d%d%d%d%d%d%d\n", capa.top, capa.uidl, capa.user,
                           capa.stls, capa.resp_codes, capa.pipelining, capa.sasl_plain,
                           capa.sasl_cram_md5);
}

static void
describe_message(GString *trace, CollectorMultiline *ml)
{
    const guint8 *d = ml->data->data;
    gsize len = ml->data->len;

    if (ml->oversize) {
        FUZZ_CHECK(ml->max_size > 0 && ml->octets > ml->max_size);
        FUZZ_CHECK(len == 0);
    } else {
        if (ml->max_size > 0)
            FUZZ_CHECK(ml->octets <= ml->max_size);
        /* Removed NULs are the only octets counted and not kept. */
        FUZZ_CHECK(ml->octets == len + (ml->nul == COLLECTOR_NUL_REPLACE ? 0 : ml->nuls));
        /* Every line ends with CRLF. */
        FUZZ_CHECK(len == 0 || (len >= 2 && d[len - 2] == '\r' && d[len - 1] == '\n'));
        for (gsize i = 0; i < len; i++)
            if (d[i] == '\n')
                FUZZ_CHECK(i > 0 && d[i - 1] == '\r');
    }
    if (ml->nul != COLLECTOR_NUL_REPLACE || ml->nul_char != '\0')
        FUZZ_CHECK(len == 0 || memchr(d, '\0', len) == NULL);
    g_autofree char *sum = g_compute_checksum_for_data(G_CHECKSUM_SHA256, d, len);
    g_string_append_printf(trace,
                           "message %" G_GUINT64_FORMAT " octets, %" G_GUINT64_FORMAT
                           " NULs, oversize %d, %s\n",
                           ml->octets, ml->nuls, ml->oversize, sum);
}

typedef struct {
    guint8 multi_mask;
    CollectorNulPolicy nul;
    gboolean listing;
    gsize max_size;
} Script;

/* Reads @s in pieces of @sizes (cycling); returns what happened. */
static char *
run(const Script *script, const guint8 *sizes, gsize n_sizes, guint unit, const guint8 *s,
    gsize len)
{
    g_autoptr(GByteArray) inbuf = g_byte_array_new();
    GString *trace = g_string_new(NULL);
    CollectorStatus st = { 0 };
    CollectorMultiline ml = { 0 };
    gboolean in_body = FALSE;
    guint reply = 0;
    gsize fed = 0;
    guint chunk = 0;

    for (guint guard = 0; guard < 10 * 1000 * 1000; guard++) {
        g_autofree char *error = NULL;
        CollectorRead r;

        if (in_body) {
            r = collector_multiline_take(&ml, inbuf, &error);
            if (r == COLLECTOR_READ_DONE) {
                FUZZ_CHECK(ml.done);
                if (ml.listing)
                    describe_listing(trace, &ml);
                else
                    describe_message(trace, &ml);
                collector_multiline_clear(&ml);
                in_body = FALSE;
                continue;
            }
            FUZZ_CHECK(!ml.listing ? r == COLLECTOR_READ_MORE : r != COLLECTOR_READ_DONE);
        } else {
            r = collector_reply_status(inbuf, &st, &error);
            if (r == COLLECTOR_READ_DONE) {
                describe_status(trace, &st);
                if (st.kind == COLLECTOR_STATUS_OK && (script->multi_mask >> (reply % 8)) & 1) {
                    if (script->listing)
                        collector_multiline_init_listing(&ml);
                    else
                        collector_multiline_init_message(&ml, script->max_size, script->nul, ' ');
                    in_body = TRUE;
                }
                reply++;
                continue;
            }
        }
        if (r == COLLECTOR_READ_MALFORMED) {
            FUZZ_CHECK(error != NULL);
            g_string_append_printf(trace, "error: %s\n", error);
            break;
        }
        FUZZ_CHECK(error == NULL);
        /* More: nothing complete is left, and within bounds. */
        if (!in_body) {
            FUZZ_CHECK(inbuf->len <= COLLECTOR_MAX_STATUS_LINE + 1);
            FUZZ_CHECK(inbuf->len == 0 || memchr(inbuf->data, '\n', inbuf->len) == NULL);
        } else if (ml.listing) {
            FUZZ_CHECK(inbuf->len <= COLLECTOR_MAX_LISTING_LINE + 1);
            FUZZ_CHECK(inbuf->len == 0 || memchr(inbuf->data, '\n', inbuf->len) == NULL);
        } else {
            /* A message keeps back at most ".\r" or a CR. */
            FUZZ_CHECK(inbuf->len <= 2);
        }
        if (fed == len) {
            g_string_append_printf(trace, "waiting: %s, %u octets\n",
                                   in_body ? "in a response" : "for a status", inbuf->len);
            break;
        }
        gsize n = MIN((gsize)sizes[chunk++ % n_sizes] * unit + 1, READ_SIZE);
        n = MIN(n, len - fed);
        g_byte_array_append(inbuf, s + fed, (guint)n);
        fed += n;
    }
    collector_status_clear(&st);
    collector_multiline_clear(&ml);
    return g_string_free(trace, FALSE);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const guint8 one = 0;

    if (size < 3 || size > 64 * 1024)
        return 0;
    gsize n_sizes = (data[0] & 7) + 1;
    guint unit = (data[0] & 0x80) ? 16 : 1;
    Script script = {
        .multi_mask = data[1],
        .nul = (CollectorNulPolicy)((data[2] & 3) % 3),
        .listing = (data[2] & 4) != 0,
        .max_size = (gsize)(data[2] >> 3) * 64,
    };
    if (size < 3 + n_sizes)
        return 0;
    const guint8 *sizes = data + 3;
    const guint8 *stream = data + 3 + n_sizes;
    gsize len = size - 3 - n_sizes;

    g_autofree char *pieces = run(&script, sizes, n_sizes, unit, stream, len);
    g_autofree char *bytes = run(&script, &one, 1, 1, stream, len);
    if (strcmp(pieces, bytes) != 0)
        g_error("read in pieces:\n%s\na byte at a time:\n%s", pieces, bytes);
    return 0;
}
