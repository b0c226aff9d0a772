/* SPDX-License-Identifier: GPL-3.0-or-later */

/* 8BITMIME downconversion (RFC 6152 §3, RFC 2045 §6) with GMime: the
 * message is parsed, each leaf part whose content holds 8-bit octets gets
 * a transfer encoding, and the message is written out again. GMime keeps
 * the header fields and the parts nobody touched as they were; only the
 * re-encoded parts change. Whatever the input, the output is checked to be
 * 7-bit: malformed MIME may come out oddly structured, never 8-bit. */

#include "postroom-config.h"

#include <gmime/gmime.h>
#include <string.h>

#include "sender-8bit.h"

G_DEFINE_QUARK(postroom_sender_8bit_error, sender_8bit_error)

static gboolean
bytes_8bit(const guint8 *p, gsize len)
{
    for (gsize i = 0; i < len; i++) {
        if (p[i] >= 0x80)
            return TRUE;
    }
    return FALSE;
}

gboolean
sender_8bit_any(GBytes *data)
{
    gsize len;
    const guint8 *p = g_bytes_get_data(data, &len);

    return bytes_8bit(p, len);
}

static gboolean
string_8bit(const char *text)
{
    return text != NULL && bytes_8bit((const guint8 *)text, strlen(text));
}

/* The octets of the message's own header section. */
static gsize
header_section_length(const guint8 *p, gsize len)
{
    for (gsize i = 0; i + 1 < len; i++) {
        if (p[i] != '\n')
            continue;
        if (p[i + 1] == '\n')
            return i + 1;
        if (i + 2 < len && p[i + 1] == '\r' && p[i + 2] == '\n')
            return i + 1;
    }
    return len;
}

static gboolean
headers_8bit(GMimeObject *object)
{
    GMimeHeaderList *list = g_mime_object_get_header_list(object);
    int n = list != NULL ? g_mime_header_list_get_count(list) : 0;

    for (int i = 0; i < n; i++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(list, i);
        if (string_8bit(g_mime_header_get_name(h)) || string_8bit(g_mime_header_get_raw_value(h)))
            return TRUE;
    }
    return FALSE;
}

/* Whether the part's content, as it stands in the message, has 8-bit
 * octets. */
static gboolean
content_8bit(GMimePart *part)
{
    GMimeDataWrapper *wrapper = g_mime_part_get_content(part);
    GMimeStream *stream = wrapper != NULL ? g_mime_data_wrapper_get_stream(wrapper) : NULL;
    gboolean found = FALSE;
    char buf[8192];
    gssize n;

    if (stream == NULL)
        return FALSE;
    g_mime_stream_reset(stream);
    while (!found && (n = g_mime_stream_read(stream, buf, sizeof buf)) > 0)
        found = bytes_8bit((const guint8 *)buf, (gsize)n);
    g_mime_stream_reset(stream);
    return found;
}

/* A multipart's preamble and epilogue are there for readers without MIME
 * and carry nothing else (RFC 2046 §5.1.1): 8-bit octets there become
 * '?'. */
static char *
sanitized(const char *text)
{
    char *copy = g_strdup(text);

    for (char *p = copy; *p != '\0'; p++) {
        if ((guchar)*p >= 0x80)
            *p = '?';
    }
    return copy;
}

static gboolean convert_object(GMimeObject *object, GError **error);

/* A message without MIME headers gets them once its body is encoded: the
 * encoding means nothing without MIME-Version (RFC 2045 §4), and the
 * default charset, us-ascii, would be wrong. */
static void
add_mime_headers(GMimeMessage *message)
{
    GMimeObject *body = g_mime_message_get_mime_part(message);

    if (g_mime_object_get_header(GMIME_OBJECT(message), "MIME-Version") == NULL)
        g_mime_object_set_header(GMIME_OBJECT(message), "MIME-Version", "1.0", NULL);
    if (body != NULL && GMIME_IS_PART(body) &&
        g_mime_object_get_header(body, "Content-Type") == NULL) {
        GMimeDataWrapper *wrapper = g_mime_part_get_content(GMIME_PART(body));
        GMimeStream *stream = wrapper != NULL ? g_mime_data_wrapper_get_stream(wrapper) : NULL;
        gboolean utf8 = FALSE;
        if (stream != NULL) {
            GMimeStream *copy = g_mime_stream_mem_new();
            g_mime_stream_reset(stream);
            g_mime_stream_write_to_stream(stream, copy);
            g_mime_stream_reset(stream);
            GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(copy));
            utf8 = g_utf8_validate((const char *)bytes->data, (gssize)bytes->len, NULL);
            g_object_unref(copy);
        }
        /* RFC 1428: "unknown-8bit" when the octets are not UTF-8. */
        g_mime_object_set_header(
            body, "Content-Type",
            utf8 ? "text/plain; charset=utf-8" : "text/plain; charset=unknown-8bit", NULL);
    }
}

/* The part's content decoded from the transfer encoding it declares, as
 * content of its own (no encoding). */
static void
decode_content(GMimePart *part)
{
    GMimeDataWrapper *wrapper = g_mime_part_get_content(part);
    GMimeStream *decoded = g_mime_stream_mem_new();
    GMimeDataWrapper *plain;

    g_mime_data_wrapper_write_to_stream(wrapper, decoded);
    g_mime_stream_reset(decoded);
    plain = g_mime_data_wrapper_new_with_stream(decoded, GMIME_CONTENT_ENCODING_DEFAULT);
    g_mime_part_set_content(part, plain);
    g_object_unref(plain);
    g_object_unref(decoded);
}

static void
convert_leaf(GMimePart *part)
{
    GMimeContentType *type = g_mime_object_get_content_type(GMIME_OBJECT(part));
    GMimeContentEncoding current = g_mime_part_get_content_encoding(part);
    gboolean text = type != NULL && g_mime_content_type_is_type(type, "text", "*");
    gboolean plain_encoding =
        current == GMIME_CONTENT_ENCODING_DEFAULT || current == GMIME_CONTENT_ENCODING_7BIT ||
        current == GMIME_CONTENT_ENCODING_8BIT || current == GMIME_CONTENT_ENCODING_BINARY;

    if (!content_8bit(part))
        return;
    /* A part that claims a transfer encoding its octets do not follow is
     * encoded again from what its declared encoding decodes to (which is
     * what a reader would have seen). */
    if (!plain_encoding)
        decode_content(part);
    /* Quoted-printable keeps text readable; anything else goes in base64. */
    g_mime_part_set_content_encoding(part, text ? GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE
                                                : GMIME_CONTENT_ENCODING_BASE64);
}

static gboolean
convert_multipart(GMimeMultipart *multipart, GError **error)
{
    const char *prologue = g_mime_multipart_get_prologue(multipart);
    const char *epilogue = g_mime_multipart_get_epilogue(multipart);

    if (string_8bit(prologue)) {
        g_autofree char *clean = sanitized(prologue);
        g_mime_multipart_set_prologue(multipart, clean);
    }
    if (string_8bit(epilogue)) {
        g_autofree char *clean = sanitized(epilogue);
        g_mime_multipart_set_epilogue(multipart, clean);
    }
    for (int i = 0; i < g_mime_multipart_get_count(multipart); i++) {
        if (!convert_object(g_mime_multipart_get_part(multipart, i), error))
            return FALSE;
    }
    return TRUE;
}

/* An encapsulated message is converted like the outer one; its part then
 * holds 7-bit data whatever its Content-Transfer-Encoding said (RFC 2046
 * §5.2.1 allows only the identity encodings there). */
static gboolean
convert_message_part(GMimeMessagePart *part, GError **error)
{
    GMimeMessage *inner = g_mime_message_part_get_message(part);
    g_autofree char *cte =
        g_strdup(g_mime_object_get_header(GMIME_OBJECT(part), "Content-Transfer-Encoding"));

    if (inner == NULL)
        return TRUE;
    if (!convert_object(GMIME_OBJECT(inner), error))
        return FALSE;
    if (cte != NULL && g_ascii_strcasecmp(g_strstrip(cte), "7bit") != 0)
        g_mime_object_set_header(GMIME_OBJECT(part), "Content-Transfer-Encoding", "7bit", NULL);
    return TRUE;
}

static gboolean
convert_object(GMimeObject *object, GError **error)
{
    if (headers_8bit(object)) {
        g_set_error_literal(error, SENDER_8BIT_ERROR, SENDER_8BIT_ERROR_HEADER,
                            "8-bit characters in a header field");
        return FALSE;
    }
    if (GMIME_IS_MESSAGE(object)) {
        GMimeObject *body = g_mime_message_get_mime_part(GMIME_MESSAGE(object));
        GMimeContentEncoding before;
        if (body == NULL)
            return TRUE;
        before = GMIME_IS_PART(body) ? g_mime_part_get_content_encoding(GMIME_PART(body)) : 0;
        if (!convert_object(body, error))
            return FALSE;
        if (GMIME_IS_PART(body) && g_mime_part_get_content_encoding(GMIME_PART(body)) != before)
            add_mime_headers(GMIME_MESSAGE(object));
        return TRUE;
    }
    if (GMIME_IS_MULTIPART(object))
        return convert_multipart(GMIME_MULTIPART(object), error);
    if (GMIME_IS_MESSAGE_PART(object))
        return convert_message_part(GMIME_MESSAGE_PART(object), error);
    if (GMIME_IS_PART(object))
        convert_leaf(GMIME_PART(object));
    return TRUE;
}

/* CRLF for every line end, whatever GMime wrote. */
static GBytes *
crlf(const guint8 *p, gsize len)
{
    GByteArray *out = g_byte_array_sized_new((guint)(len + len / 32 + 2));

    for (gsize i = 0; i < len; i++) {
        if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
            g_byte_array_append(out, (const guint8 *)"\r", 1);
        g_byte_array_append(out, &p[i], 1);
    }
    return g_byte_array_free_to_bytes(out);
}

static gpointer
init_gmime(gpointer data)
{
    /* Never shut down: modules stay resident, and another module may use
     * GMime too (g_mime_init() counts its callers). */
    g_mime_init();
    return NULL;
}

GBytes *
sender_8bit_downconvert(GBytes *data, GError **error)
{
    static GOnce once = G_ONCE_INIT;
    gsize len;
    const guint8 *p = g_bytes_get_data(data, &len);

    if (!bytes_8bit(p, len))
        return g_bytes_ref(data);
    if (bytes_8bit(p, header_section_length(p, len))) {
        g_set_error_literal(error, SENDER_8BIT_ERROR, SENDER_8BIT_ERROR_HEADER,
                            "8-bit characters in the message header");
        return NULL;
    }
    g_once(&once, init_gmime, NULL);

    GMimeStream *in = g_mime_stream_mem_new_with_buffer((const char *)p, len);
    GMimeParser *parser = g_mime_parser_new_with_stream(in);
    GMimeMessage *message = g_mime_parser_construct_message(parser, NULL);
    GBytes *result = NULL;

    g_object_unref(parser);
    g_object_unref(in);
    if (message == NULL) {
        g_set_error_literal(error, SENDER_8BIT_ERROR, SENDER_8BIT_ERROR_FAILED,
                            "the message could not be parsed");
        return NULL;
    }
    if (convert_object(GMIME_OBJECT(message), error)) {
        GMimeFormatOptions *options = g_mime_format_options_clone(NULL);
        GMimeStream *out = g_mime_stream_mem_new();

        g_mime_format_options_set_newline_format(options, GMIME_NEWLINE_FORMAT_DOS);
        if (g_mime_object_write_to_stream(GMIME_OBJECT(message), options, out) >= 0) {
            GByteArray *bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out));
            result = crlf(bytes->data, bytes->len);
        }
        g_mime_format_options_free(options);
        g_object_unref(out);
        if (result == NULL)
            g_set_error_literal(error, SENDER_8BIT_ERROR, SENDER_8BIT_ERROR_FAILED,
                                "the converted message could not be written");
    }
    g_object_unref(message);
    if (result != NULL && sender_8bit_any(result)) {
        g_clear_pointer(&result, g_bytes_unref);
        g_set_error_literal(error, SENDER_8BIT_ERROR, SENDER_8BIT_ERROR_FAILED,
                            "the message could not be converted to 7 bits");
    }
    return result;
}
