/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The sender's 8BITMIME downconversion (modules/sender/sender-8bit.c):
 * well-formed messages come out 7-bit with their parts decoding back to the
 * original octets; malformed MIME never crashes and never comes out 8-bit;
 * 8-bit header fields are refused. */

#include <gmime/gmime.h>
#include <string.h>

#include "sender-8bit.h"

static GBytes *
bytes_of(const char *text)
{
    return g_bytes_new(text, strlen(text));
}

static void
assert_7bit_crlf(GBytes *out)
{
    gsize len;
    const guint8 *p = g_bytes_get_data(out, &len);

    g_assert_false(sender_8bit_any(out));
    for (gsize i = 0; i < len; i++) {
        if (p[i] == '\n')
            g_assert_true(i > 0 && p[i - 1] == '\r');
    }
}

/* The decoded content of the @index-th leaf part of @out. */
static GByteArray *
leaf_content(GBytes *out, int index)
{
    gsize len;
    const char *p = g_bytes_get_data(out, &len);
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(p, len);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
    GMimeObject *part;
    GMimeStream *content = g_mime_stream_mem_new();
    GByteArray *result = g_byte_array_new();

    g_assert_nonnull(msg);
    part = g_mime_message_get_mime_part(msg);
    if (GMIME_IS_MULTIPART(part))
        part = g_mime_multipart_get_part(GMIME_MULTIPART(part), index);
    g_assert_true(GMIME_IS_PART(part));
    g_mime_data_wrapper_write_to_stream(g_mime_part_get_content(GMIME_PART(part)), content);
    GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(content));
    g_byte_array_append(result, bytes->data, bytes->len);
    g_object_unref(content);
    g_object_unref(msg);
    g_object_unref(parser);
    g_object_unref(stream);
    return result;
}

static void
test_7bit_unchanged(void)
{
    g_autoptr(GBytes) in = bytes_of("Subject: x\r\n\r\nplain\r\n");
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) out = sender_8bit_downconvert(in, &error);

    g_assert_no_error(error);
    g_assert_true(g_bytes_equal(in, out));
}

static void
test_plain_message(void)
{
    g_autoptr(GBytes) in = bytes_of("Return-Path: <a@b>\r\n"
                                    "Subject: x\r\n"
                                    "X-Folded: one\r\n  two\r\n"
                                    "\r\n"
                                    "caf\xc3\xa9 =3D\r\n.dot\r\n");
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) out = sender_8bit_downconvert(in, &error);
    g_autoptr(GByteArray) body = NULL;

    g_assert_no_error(error);
    assert_7bit_crlf(out);
    const char *text = g_bytes_get_data(out, NULL);
    /* The header fields stay, in order; MIME ones are added. */
    g_assert_true(g_str_has_prefix(text, "Return-Path: <a@b>\r\nSubject: x\r\n"
                                         "X-Folded: one\r\n  two\r\n"));
    g_assert_nonnull(g_strstr_len(text, -1, "MIME-Version: 1.0\r\n"));
    g_assert_nonnull(g_strstr_len(text, -1, "Content-Transfer-Encoding: quoted-printable\r\n"));
    g_assert_nonnull(g_strstr_len(text, -1, "charset=utf-8"));
    static const char expected[] = "caf\xc3\xa9 =3D\r\n.dot\r\n";
    body = leaf_content(out, 0);
    g_assert_cmpmem(body->data, body->len, expected, sizeof expected - 1);
}

static void
test_multipart(void)
{
    static const guint8 binary[] = { 0, 1, 0x80, 0xff, 'a', '\r', '\n', 0xfe, '=', 0x7f };
    g_autoptr(GByteArray) msg = g_byte_array_new();
    const char *head = "Subject: m\r\n"
                       "MIME-Version: 1.0\r\n"
                       "Content-Type: multipart/mixed; boundary=\"b\"\r\n"
                       "\r\n"
                       "--b\r\n"
                       "Content-Type: text/plain; charset=iso-8859-1\r\n"
                       "Content-Transfer-Encoding: 8bit\r\n"
                       "\r\n"
                       "K\xf6ln\r\n"
                       "--b\r\n"
                       "Content-Type: image/png\r\n"
                       "\r\n";
    const char *tail = "\r\n--b--\r\n";

    g_byte_array_append(msg, (const guint8 *)head, strlen(head));
    g_byte_array_append(msg, binary, sizeof binary);
    g_byte_array_append(msg, (const guint8 *)tail, strlen(tail));
    g_autoptr(GBytes) in = g_bytes_new(msg->data, msg->len);
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) out = sender_8bit_downconvert(in, &error);

    g_assert_no_error(error);
    assert_7bit_crlf(out);
    const char *text = g_bytes_get_data(out, NULL);
    g_assert_nonnull(g_strstr_len(text, -1, "Content-Transfer-Encoding: quoted-printable"));
    g_assert_nonnull(g_strstr_len(text, -1, "Content-Transfer-Encoding: base64"));
    g_autoptr(GByteArray) first = leaf_content(out, 0);
    g_assert_cmpmem(first->data, first->len, "K\xf6ln", 4);
    g_autoptr(GByteArray) second = leaf_content(out, 1);
    g_assert_cmpmem(second->data, second->len, binary, sizeof binary);
}

static void
test_header_8bit(void)
{
    g_autoptr(GBytes) in = bytes_of("Subject: J\xc3\xbcrgen\r\n\r\nb\xc3\xbc\r\n");
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) out = sender_8bit_downconvert(in, &error);

    g_assert_null(out);
    g_assert_error(error, SENDER_8BIT_ERROR, SENDER_8BIT_ERROR_HEADER);
}

static void
test_part_header_8bit(void)
{
    g_autoptr(GBytes) in = bytes_of("Subject: x\r\n"
                                    "Content-Type: multipart/mixed; boundary=b\r\n"
                                    "\r\n--b\r\n"
                                    "Content-Type: text/plain; name=\"\xc3\xa9.txt\"\r\n"
                                    "\r\n\xc3\xa9\r\n--b--\r\n");
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) out = sender_8bit_downconvert(in, &error);

    g_assert_null(out);
    g_assert_error(error, SENDER_8BIT_ERROR, SENDER_8BIT_ERROR_HEADER);
}

/* Broken structure: whatever comes out is 7-bit, or the call fails. */
static const char *const malformed[] = {
    /* multipart without a boundary parameter */
    "Subject: x\r\nContent-Type: multipart/mixed\r\n\r\n--a\r\n\xff\xfe\r\n",
    /* boundaries never closed, nested */
    "Subject: x\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n"
    "Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n\r\n\xe9\xe9\r\n--a\r\n"
    "\xe9",
    /* base64 declared, raw 8-bit given */
    "Subject: x\r\nContent-Transfer-Encoding: base64\r\n\r\n\x80\x81 not base64 \xff\r\n",
    /* quoted-printable declared, raw 8-bit and a broken escape */
    "Subject: x\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n"
    "\r\n\xe9=\xe9=4\r\n",
    /* an unknown encoding */
    "Subject: x\r\nContent-Transfer-Encoding: x-weird\r\n\r\n\xe9\r\n",
    /* message/rfc822 with 8-bit inside and a bogus encoding */
    "Subject: x\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: binary\r\n\r\n"
    "Subject: in\r\n\r\n\xe9\xe9\r\n",
    /* 8-bit in preamble and epilogue, a part without header */
    "Subject: x\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\npre\xe9\r\n--a\r\n\r\n"
    "\xe9\r\n--a--\r\npost\xe9\r\n",
    /* no header section end, LF only, NUL */
    "Subject: x\nContent-Type: multipart/mixed; boundary=\"\"\n\n--\n\xe9\x00\xe9\n",
    /* header section only, no body */
    "Subject: x\r\nContent-Type: text/plain\r\n\r\n\xe9",
    /* a Content-Type that does not parse */
    "Subject: x\r\nContent-Type: ;;;/=\"\r\n\r\n\xe9\r\n",
};

static void
test_malformed(void)
{
    for (guint i = 0; i < G_N_ELEMENTS(malformed); i++) {
        gsize len = strlen(malformed[i]);
        /* The NUL case: its length counts the octets after the NUL. */
        if (strstr(malformed[i], "boundary=\"\"") != NULL)
            len += 3;
        g_autoptr(GBytes) in = g_bytes_new(malformed[i], len);
        g_autoptr(GError) error = NULL;
        g_autoptr(GBytes) out = sender_8bit_downconvert(in, &error);
        g_test_message("case %u: %s", i, out != NULL ? "converted" : error->message);
        if (out != NULL) {
            g_assert_no_error(error);
            assert_7bit_crlf(out);
        } else {
            g_assert_error(error, SENDER_8BIT_ERROR, SENDER_8BIT_ERROR_FAILED);
        }
        /* None of these has 8-bit header fields: all must convert. */
        g_assert_nonnull(out);
    }
}

/* Every byte value at every place of a small message: no crash, and 7-bit
 * whenever it converts. */
static void
test_mutations(void)
{
    const char *base = "Subject: x\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n"
                       "Content-Type: text/plain\r\n\r\nabc\r\n--a--\r\n";
    gsize len = strlen(base);
    guint converted = 0;

    for (gsize pos = 0; pos < len; pos++) {
        for (guint v = 0x80; v <= 0xff; v += 0x3f) {
            g_autofree char *copy = g_memdup2(base, len);
            copy[pos] = (char)v;
            g_autoptr(GBytes) in = g_bytes_new(copy, len);
            g_autoptr(GError) error = NULL;
            g_autoptr(GBytes) out = sender_8bit_downconvert(in, &error);
            if (out != NULL) {
                assert_7bit_crlf(out);
                converted++;
            } else {
                g_assert_nonnull(error);
            }
        }
    }
    /* The positions in the body convert. */
    g_assert_cmpuint(converted, >, 0);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_mime_init();
    g_test_add_func("/sender-8bit/7bit-unchanged", test_7bit_unchanged);
    g_test_add_func("/sender-8bit/plain-message", test_plain_message);
    g_test_add_func("/sender-8bit/multipart", test_multipart);
    g_test_add_func("/sender-8bit/header-8bit", test_header_8bit);
    g_test_add_func("/sender-8bit/part-header-8bit", test_part_header_8bit);
    g_test_add_func("/sender-8bit/malformed", test_malformed);
    g_test_add_func("/sender-8bit/mutations", test_mutations);
    return g_test_run();
}
