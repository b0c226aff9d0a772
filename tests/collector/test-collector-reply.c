/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The collector's POP3 reply reader (modules/collector/collector-reply.c)
 * over tables: status lines and response codes, listings, messages with
 * dot-unstuffing, bare LF, NUL policies and the size bound, and the
 * parsing of UIDL, LIST, STAT, CAPA and the APOP timestamp. */

#include "postroom-config.h"

#include <string.h>

#include "collector-reply.h"

static GByteArray *
buffer(const char *text, gsize len)
{
    GByteArray *b = g_byte_array_new();
    g_byte_array_append(b, (const guint8 *)text, (guint)len);
    return b;
}

typedef struct {
    const char *line;
    CollectorRead result;
    CollectorStatusKind kind;
    const char *code;
    const char *text;
} StatusCase;

static void
test_status(void)
{
    static const StatusCase cases[] = {
        { "+OK ready\r\n", COLLECTOR_READ_DONE, COLLECTOR_STATUS_OK, NULL, "ready" },
        { "+OK\r\n", COLLECTOR_READ_DONE, COLLECTOR_STATUS_OK, NULL, "" },
        { "+ok lower case\n", COLLECTOR_READ_DONE, COLLECTOR_STATUS_OK, NULL, "lower case" },
        { "-ERR [IN-USE] Mailbox locked\r\n", COLLECTOR_READ_DONE, COLLECTOR_STATUS_ERR, "IN-USE",
          "Mailbox locked" },
        { "-ERR [SYS/TEMP] try later\r\n", COLLECTOR_READ_DONE, COLLECTOR_STATUS_ERR, "SYS/TEMP",
          "try later" },
        { "-ERR [AUTH]\r\n", COLLECTOR_READ_DONE, COLLECTOR_STATUS_ERR, "AUTH", "" },
        /* Not response codes: kept as text. */
        { "-ERR [] x\r\n", COLLECTOR_READ_DONE, COLLECTOR_STATUS_ERR, NULL, "[] x" },
        { "-ERR [A//B] y\r\n", COLLECTOR_READ_DONE, COLLECTOR_STATUS_ERR, NULL, "[A//B] y" },
        { "-ERR [no close\r\n", COLLECTOR_READ_DONE, COLLECTOR_STATUS_ERR, NULL, "[no close" },
        { "-ERR\r\n", COLLECTOR_READ_DONE, COLLECTOR_STATUS_ERR, NULL, "" },
        { "+ PDE4OTY+\r\n", COLLECTOR_READ_DONE, COLLECTOR_STATUS_CONTINUE, NULL, "PDE4OTY+" },
        { "+\r\n", COLLECTOR_READ_DONE, COLLECTOR_STATUS_CONTINUE, NULL, "" },
        { "+OK t\x01x\x7f\xff\r\n", COLLECTOR_READ_DONE, COLLECTOR_STATUS_OK, NULL,
          "t x \xef\xbf\xbd" },
        { "+OKAY\r\n", COLLECTOR_READ_MALFORMED, 0, NULL, NULL },
        { "* OK imap\r\n", COLLECTOR_READ_MALFORMED, 0, NULL, NULL },
        { "220 smtp\r\n", COLLECTOR_READ_MALFORMED, 0, NULL, NULL },
        { "+OK partial", COLLECTOR_READ_MORE, 0, NULL, NULL },
        { "", COLLECTOR_READ_MORE, 0, NULL, NULL },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        const StatusCase *c = &cases[i];
        g_autoptr(GByteArray) in = buffer(c->line, strlen(c->line));
        CollectorStatus st = { 0 };
        g_autofree char *error = NULL;
        g_autofree char *shown = g_strescape(c->line, NULL);

        g_test_message("%s", shown);
        g_assert_cmpint(collector_reply_status(in, &st, &error), ==, c->result);
        if (c->result == COLLECTOR_READ_DONE) {
            g_assert_null(error);
            g_assert_cmpint(st.kind, ==, c->kind);
            g_assert_cmpstr(st.code, ==, c->code);
            g_assert_cmpstr(st.text, ==, c->text);
            g_assert_cmpuint(in->len, ==, 0);
        } else if (c->result == COLLECTOR_READ_MALFORMED) {
            g_assert_nonnull(error);
        }
        collector_status_clear(&st);
    }

    /* A NUL in a status line is a broken server. */
    g_autoptr(GByteArray) nul = buffer("+OK a\0b\r\n", 9);
    CollectorStatus st = { 0 };
    g_autofree char *error = NULL;
    g_assert_cmpint(collector_reply_status(nul, &st, &error), ==, COLLECTOR_READ_MALFORMED);
    collector_status_clear(&st);
}

static void
test_status_bounds(void)
{
    /* The longest line accepted, with CRLF, in one piece. */
    g_autoptr(GString) line = g_string_new("+OK ");
    while (line->len < COLLECTOR_MAX_STATUS_LINE)
        g_string_append_c(line, 'a');
    g_string_append(line, "\r\n");
    g_autoptr(GByteArray) in = buffer(line->str, line->len);
    CollectorStatus st = { 0 };
    g_autofree char *error = NULL;
    g_assert_cmpint(collector_reply_status(in, &st, &error), ==, COLLECTOR_READ_DONE);
    collector_status_clear(&st);

    /* One more octet is refused, whether the line end has come or not. */
    g_string_insert_c(line, 4, 'b');
    g_autoptr(GByteArray) whole = buffer(line->str, line->len);
    g_assert_cmpint(collector_reply_status(whole, &st, &error), ==, COLLECTOR_READ_MALFORMED);
    g_assert_cmpstr(error, ==, "reply line too long");
    g_clear_pointer(&error, g_free);
    g_autoptr(GByteArray) part = buffer(line->str, line->len - 1);
    g_assert_cmpint(collector_reply_status(part, &st, &error), ==, COLLECTOR_READ_MALFORMED);
    g_assert_cmpstr(error, ==, "reply line too long");
    collector_status_clear(&st);
}

static void
test_listing(void)
{
    const char text[] = "1 abc\r\n..dotted\n3 x\r\n.\r\n+OK next";
    g_autoptr(GByteArray) in = g_byte_array_new();
    CollectorMultiline ml;
    g_autofree char *error = NULL;

    collector_multiline_init_listing(&ml);
    /* A byte at a time. */
    CollectorRead r = COLLECTOR_READ_MORE;
    gsize fed = 0;
    while (r == COLLECTOR_READ_MORE && fed < sizeof text - 1) {
        g_byte_array_append(in, (const guint8 *)text + fed++, 1);
        r = collector_multiline_take(&ml, in, &error);
    }
    g_assert_cmpint(r, ==, COLLECTOR_READ_DONE);
    g_assert_true(ml.done);
    g_assert_cmpuint(ml.lines->len, ==, 3);
    g_assert_cmpstr(ml.lines->pdata[0], ==, "1 abc");
    g_assert_cmpstr(ml.lines->pdata[1], ==, ".dotted");
    g_assert_cmpstr(ml.lines->pdata[2], ==, "3 x");
    /* What follows stays for the next reply. */
    g_byte_array_append(in, (const guint8 *)text + fed, (guint)(sizeof text - 1 - fed));
    g_assert_cmpmem(in->data, in->len, "+OK next", 8);
    collector_multiline_clear(&ml);

    /* A NUL, or a line too long, is a broken listing. */
    collector_multiline_init_listing(&ml);
    g_autoptr(GByteArray) nul = buffer("1 a\0b\r\n.\r\n", 10);
    g_assert_cmpint(collector_multiline_take(&ml, nul, &error), ==, COLLECTOR_READ_MALFORMED);
    g_clear_pointer(&error, g_free);
    collector_multiline_clear(&ml);

    collector_multiline_init_listing(&ml);
    g_autofree char *longline = g_strnfill(COLLECTOR_MAX_LISTING_LINE + 2, 'u');
    g_autoptr(GByteArray) lng = buffer(longline, strlen(longline));
    g_assert_cmpint(collector_multiline_take(&ml, lng, &error), ==, COLLECTOR_READ_MALFORMED);
    g_assert_cmpstr(error, ==, "listing line too long");
    collector_multiline_clear(&ml);
}

typedef struct {
    const char *name;
    const char *wire;
    gsize wire_len;
    CollectorNulPolicy nul;
    gsize max_size;
    const char *data; /* NULL: oversize */
    gsize data_len;
    guint64 nuls;
} MessageCase;

#define W(s) s, sizeof s - 1

static void
test_message(void)
{
    static const MessageCase cases[] = {
        { "plain", W("A: b\r\n\r\nbody\r\n.\r\n"), COLLECTOR_NUL_REFUSE, 0,
          W("A: b\r\n\r\nbody\r\n"), 0 },
        { "unstuff", W("..x\r\n.y\r\n..\r\n.\r\n"), COLLECTOR_NUL_REFUSE, 0, W(".x\r\ny\r\n.\r\n"),
          0 },
        { "bare LF", W("a\nb\r\nc\n.\n"), COLLECTOR_NUL_REFUSE, 0, W("a\r\nb\r\nc\r\n"), 0 },
        { "CR alone", W("a\rb\r\r\n.\r\n"), COLLECTOR_NUL_REFUSE, 0, W("a\rb\r\r\n"), 0 },
        { "empty", W(".\r\n"), COLLECTOR_NUL_REFUSE, 0, W(""), 0 },
        { "dot CR x", W(".\rx\r\n.\r\n"), COLLECTOR_NUL_REFUSE, 0, W("\rx\r\n"), 0 },
        { "nul refuse", W("a\0b\r\n\0\r\n.\r\n"), COLLECTOR_NUL_REFUSE, 0, W("ab\r\n\r\n"), 2 },
        { "nul remove", W("a\0b\r\n.\r\n"), COLLECTOR_NUL_REMOVE, 0, W("ab\r\n"), 1 },
        { "nul replace", W("a\0b\r\n.\r\n"), COLLECTOR_NUL_REPLACE, 0, W("a_b\r\n"), 1 },
        { "at the bound", W("0123456789\r\n.\r\n"), COLLECTOR_NUL_REFUSE, 12, W("0123456789\r\n"),
          0 },
        { "over the bound", W("0123456789\r\nx\r\n.\r\n"), COLLECTOR_NUL_REFUSE, 12, NULL, 0, 0 },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        const MessageCase *c = &cases[i];
        /* In one piece, and a byte at a time with the reply after it. */
        for (int bytewise = 0; bytewise < 2; bytewise++) {
            CollectorMultiline ml;
            g_autoptr(GByteArray) in = g_byte_array_new();
            g_autofree char *error = NULL;
            CollectorRead r = COLLECTOR_READ_MORE;

            g_test_message("%s%s", c->name, bytewise ? " (bytewise)" : "");
            collector_multiline_init_message(&ml, c->max_size, c->nul, '_');
            if (bytewise) {
                for (gsize k = 0; k < c->wire_len && r == COLLECTOR_READ_MORE; k++) {
                    g_byte_array_append(in, (const guint8 *)c->wire + k, 1);
                    r = collector_multiline_take(&ml, in, &error);
                }
            } else {
                g_byte_array_append(in, (const guint8 *)c->wire, (guint)c->wire_len);
                g_byte_array_append(in, (const guint8 *)"+OK", 3);
                r = collector_multiline_take(&ml, in, &error);
                g_assert_cmpmem(in->data, in->len, "+OK", 3);
            }
            g_assert_cmpint(r, ==, COLLECTOR_READ_DONE);
            g_assert_null(error);
            if (c->data == NULL) {
                g_assert_true(ml.oversize);
                g_assert_cmpuint(ml.data->len, ==, 0);
            } else {
                g_assert_false(ml.oversize);
                g_assert_cmpmem(ml.data->data, ml.data->len, c->data, c->data_len);
            }
            g_assert_cmpuint(ml.nuls, ==, c->nuls);
            collector_multiline_clear(&ml);
        }
    }
}

static void
test_parse_lines(void)
{
    guint n = 0;
    guint64 size = 0;
    char *uid = NULL;

    g_assert_true(collector_parse_uidl_line("1 whqtswO00WBw418f9t5JxYwZ", &n, &uid));
    g_assert_cmpuint(n, ==, 1);
    g_assert_cmpstr(uid, ==, "whqtswO00WBw418f9t5JxYwZ");
    g_clear_pointer(&uid, g_free);
    g_assert_true(collector_parse_uidl_line("12  abc ", &n, &uid));
    g_assert_cmpuint(n, ==, 12);
    g_assert_cmpstr(uid, ==, "abc");
    g_clear_pointer(&uid, g_free);
    g_assert_false(collector_parse_uidl_line("0 abc", &n, &uid));
    g_assert_false(collector_parse_uidl_line("1", &n, &uid));
    g_assert_false(collector_parse_uidl_line("1 ", &n, &uid));
    g_assert_false(collector_parse_uidl_line("x abc", &n, &uid));
    g_assert_false(collector_parse_uidl_line("1 a b", &n, &uid));
    g_assert_false(collector_parse_uidl_line("1abc", &n, &uid));
    g_autofree char *long_uid = g_strnfill(COLLECTOR_MAX_UID + 1, 'u');
    g_autofree char *long_line = g_strconcat("1 ", long_uid, NULL);
    g_assert_false(collector_parse_uidl_line(long_line, &n, &uid));
    g_assert_null(uid);

    g_assert_true(collector_parse_list_line("2 320", &n, &size));
    g_assert_cmpuint(n, ==, 2);
    g_assert_cmpuint(size, ==, 320);
    g_assert_true(collector_parse_list_line("3 10 extra info", &n, &size));
    g_assert_false(collector_parse_list_line("3", &n, &size));
    g_assert_false(collector_parse_list_line("3 x", &n, &size));
    g_assert_false(collector_parse_list_line("3 10x", &n, &size));
    g_assert_false(collector_parse_list_line("99999999999999999999 1", &n, &size));

    g_assert_true(collector_parse_stat("2 320", &n, &size));
    g_assert_cmpuint(n, ==, 2);
    g_assert_cmpuint(size, ==, 320);
    g_assert_true(collector_parse_stat("0 0 messages", &n, &size));
    g_assert_cmpuint(n, ==, 0);
    g_assert_false(collector_parse_stat("Mailbox has 2 messages", &n, &size));
    g_assert_false(collector_parse_stat("2", &n, &size));
}

static void
test_capa(void)
{
    g_autoptr(GPtrArray) lines = g_ptr_array_new();
    CollectorCapa capa;

    g_ptr_array_add(lines, "CAPA");
    g_ptr_array_add(lines, "TOP");
    g_ptr_array_add(lines, "uidl");
    g_ptr_array_add(lines, "RESP-CODES");
    g_ptr_array_add(lines, "STLS");
    g_ptr_array_add(lines, "SASL LOGIN cram-md5");
    collector_capa_parse(lines, &capa);
    g_assert_true(capa.top && capa.uidl && capa.resp_codes && capa.stls && capa.sasl_cram_md5);
    g_assert_false(capa.user || capa.sasl_plain || capa.pipelining);
}

static void
test_apop_timestamp(void)
{
    static const struct {
        const char *greeting;
        const char *stamp;
    } cases[] = {
        { "POP3 server ready <1896.697170952@dbc.mtview.ca.us>",
          "<1896.697170952@dbc.mtview.ca.us>" },
        { "ready <abc> <x@y>", "<x@y>" },
        { "ready <a b@c>", NULL },
        { "ready <a@b", NULL },
        { "Dovecot ready.", NULL },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *stamp = collector_apop_timestamp(cases[i].greeting);
        g_assert_cmpstr(stamp, ==, cases[i].stamp);
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/collector-reply/status", test_status);
    g_test_add_func("/collector-reply/status-bounds", test_status_bounds);
    g_test_add_func("/collector-reply/listing", test_listing);
    g_test_add_func("/collector-reply/message", test_message);
    g_test_add_func("/collector-reply/parse-lines", test_parse_lines);
    g_test_add_func("/collector-reply/capa", test_capa);
    g_test_add_func("/collector-reply/apop-timestamp", test_apop_timestamp);
    return g_test_run();
}
