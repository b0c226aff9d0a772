/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Header fields of a collected message, RFC 2047 decoding for matching,
 * and the wildcard matcher routing and download rules share. */

#include "postroom-config.h"

#include <string.h>

#include "collector-headers.h"

static void
header_free(gpointer p)
{
    CollectorHeader *h = p;

    g_free(h->name);
    g_free(h->value);
    g_free(h);
}

void
collector_headers_free(CollectorHeaders *headers)
{
    if (headers == NULL)
        return;
    g_ptr_array_unref(headers->fields);
    g_free(headers);
}

gboolean
collector_header_name_valid(const char *name, gssize len)
{
    gsize n = len < 0 ? strlen(name) : (gsize)len;

    if (n == 0)
        return FALSE;
    for (gsize i = 0; i < n; i++) {
        guchar c = (guchar)name[i];
        if (c < 33 || c > 126 || c == ':')
            return FALSE;
    }
    return TRUE;
}

/* Appends one physical line's part of a value. NUL and a CR that does not
 * end the line become spaces: both would cut a C string or fake a line. */
static void
append_value(CollectorHeaders *headers, GString *value, const char *text, gsize len)
{
    if (value->len + len > COLLECTOR_HEADER_MAX_VALUE) {
        len = COLLECTOR_HEADER_MAX_VALUE - value->len;
        headers->truncated = TRUE;
    }
    gsize start = value->len;
    g_string_append_len(value, text, (gssize)len);
    for (gsize i = start; i < value->len; i++) {
        if (value->str[i] == '\0' || value->str[i] == '\r')
            value->str[i] = ' ';
    }
}

static void
finish_field(CollectorHeaders *headers, char **name, GString **value)
{
    if (*name == NULL)
        return;
    CollectorHeader *h = g_new0(CollectorHeader, 1);
    h->name = g_steal_pointer(name);
    h->value = g_strstrip(g_string_free(g_steal_pointer(value), FALSE));
    g_ptr_array_add(headers->fields, h);
}

CollectorHeaders *
collector_headers_parse(const char *data, gsize len)
{
    CollectorHeaders *headers = g_new0(CollectorHeaders, 1);
    char *name = NULL;
    GString *value = NULL;
    gsize pos = 0;

    headers->fields = g_ptr_array_new_with_free_func(header_free);
    if (len > COLLECTOR_HEADERS_MAX_BYTES) {
        len = COLLECTOR_HEADERS_MAX_BYTES;
        headers->truncated = TRUE;
    }
    while (pos < len) {
        const char *line = data + pos;
        const char *nl = memchr(line, '\n', len - pos);
        gsize line_len = nl != NULL ? (gsize)(nl - line) : len - pos;

        pos += nl != NULL ? line_len + 1 : line_len;
        if (line_len > 0 && line[line_len - 1] == '\r')
            line_len--;
        /* The empty line ends the header section. */
        if (line_len == 0)
            break;
        if (line[0] == ' ' || line[0] == '\t') {
            /* Folded: unfolding removes only the line break. A
             * continuation with no field before it (or after a line we
             * skipped) belongs to nothing. */
            if (name != NULL)
                append_value(headers, value, line, line_len);
            continue;
        }
        finish_field(headers, &name, &value);

        /* A line without a colon (an mbox "From " line, garbage) or with
         * an impossible name is skipped with its continuations. */
        const char *colon = memchr(line, ':', line_len);
        if (colon == NULL)
            continue;
        gsize name_len = (gsize)(colon - line);
        /* RFC 5322 §4.5.3 (obsolete syntax): blanks before the colon. */
        while (name_len > 0 && (line[name_len - 1] == ' ' || line[name_len - 1] == '\t'))
            name_len--;
        if (!collector_header_name_valid(line, (gssize)name_len))
            continue;
        if (headers->fields->len >= COLLECTOR_HEADERS_MAX_FIELDS) {
            headers->truncated = TRUE;
            break;
        }
        name = g_strndup(line, name_len);
        value = g_string_new(NULL);
        gsize off = (gsize)(colon - line) + 1;
        append_value(headers, value, line + off, line_len - off);
    }
    finish_field(headers, &name, &value);
    return headers;
}

const char *
collector_headers_lookup(const CollectorHeaders *headers, const char *name)
{
    for (guint i = 0; i < headers->fields->len; i++) {
        const CollectorHeader *h = headers->fields->pdata[i];
        if (g_ascii_strcasecmp(h->name, name) == 0)
            return h->value;
    }
    return NULL;
}

/* ---- RFC 2047 ---- */

/* 8-bit header text that is not UTF-8 is most often Latin-1 or its
 * Windows superset. */
static char *
to_utf8(const char *bytes, gsize len)
{
    if (g_utf8_validate_len(bytes, len, NULL))
        return g_strndup(bytes, len);
    char *converted = g_convert(bytes, (gssize)len, "UTF-8", "WINDOWS-1252", NULL, NULL, NULL);
    if (converted != NULL && g_utf8_validate(converted, -1, NULL))
        return converted;
    g_free(converted);
    return g_utf8_make_valid(bytes, (gssize)len);
}

static int
hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes the encoded word at @p ("=?charset?X?text?="), setting @end past
 * it; NULL if it is not one or its charset is unknown (the caller keeps
 * the text as it is). */
static char *
decode_word(const char *p, const char **end)
{
    const char *charset = p + 2;
    const char *q = charset;

    while (*q != '\0' && *q != '?' && !g_ascii_isspace(*q) && q - charset <= 64)
        q++;
    if (*q != '?' || q == charset || q - charset > 64)
        return NULL;
    gsize charset_len = (gsize)(q - charset);
    char enc = g_ascii_toupper(q[1]);
    if ((enc != 'B' && enc != 'Q') || q[2] != '?')
        return NULL;
    const char *text = q + 3;
    const char *t = text;
    while (*t != '\0' && *t != '?' && !g_ascii_isspace(*t))
        t++;
    if (t[0] != '?' || t[1] != '=')
        return NULL;
    *end = t + 2;

    /* RFC 2231 §5: charset*language */
    g_autofree char *cs = g_strndup(charset, charset_len);
    char *star = strchr(cs, '*');
    if (star != NULL)
        *star = '\0';
    if (*cs == '\0')
        return NULL;

    g_autoptr(GByteArray) raw = g_byte_array_new();
    if (enc == 'B') {
        g_autofree char *b64 = g_strndup(text, (gsize)(t - text));
        gsize n = 0;
        g_autofree guchar *bytes = g_base64_decode(b64, &n);
        g_byte_array_append(raw, bytes, (guint)n);
    } else {
        for (const char *c = text; c < t; c++) {
            guint8 b = (guint8)*c;
            if (*c == '_') {
                b = ' ';
            } else if (*c == '=' && c + 2 < t && hex_value(c[1]) >= 0 && hex_value(c[2]) >= 0) {
                b = (guint8)(hex_value(c[1]) * 16 + hex_value(c[2]));
                c += 2;
            }
            g_byte_array_append(raw, &b, 1);
        }
    }

    /* An empty word: GByteArray has no data to convert. */
    if (raw->len == 0)
        return g_strdup("");
    gsize written = 0;
    char *utf8 =
        g_convert((const char *)raw->data, (gssize)raw->len, "UTF-8", cs, NULL, &written, NULL);
    if (utf8 == NULL)
        return NULL;
    /* A UTF-16 text may decode to NULs. */
    for (gsize i = 0; i < written; i++) {
        if (utf8[i] == '\0')
            utf8[i] = ' ';
    }
    char *valid = g_utf8_make_valid(utf8, (gssize)written);
    g_free(utf8);
    return valid;
}

char *
collector_header_decode(const char *value)
{
    g_autofree char *text = to_utf8(value, strlen(value));
    GString *out = g_string_sized_new(strlen(text));
    /* Blanks between two encoded words are dropped (RFC 2047 §6.2): the
     * length of @out right after the last word, while only blanks
     * followed it. */
    gssize after_word = -1;

    for (const char *p = text; *p != '\0';) {
        if (p[0] == '=' && p[1] == '?') {
            const char *end = NULL;
            g_autofree char *word = decode_word(p, &end);
            if (word != NULL) {
                if (after_word >= 0)
                    g_string_truncate(out, (gsize)after_word);
                g_string_append(out, word);
                after_word = (gssize)out->len;
                p = end;
                continue;
            }
        }
        if (!g_ascii_isspace(*p))
            after_word = -1;
        g_string_append_c(out, *p);
        p++;
    }
    return g_string_free(out, FALSE);
}

/* ---- wildcards ---- */

static gunichar *
folded_chars(const char *s, glong *n)
{
    g_autofree char *valid = g_utf8_make_valid(s, -1);
    g_autofree char *folded = g_utf8_casefold(valid, -1);
    return g_utf8_to_ucs4_fast(folded, -1, n);
}

gboolean
collector_wildcard_match(const char *pattern, const char *text)
{
    glong pn = 0, tn = 0;
    g_autofree gunichar *p = folded_chars(pattern, &pn);
    g_autofree gunichar *t = folded_chars(text, &tn);
    glong pi = 0, ti = 0, star = -1, mark = 0;

    /* The classic greedy matcher: on a mismatch, let the last `*` take
     * one more character. Each `*` restarts at most once per text
     * position, so it is O(pn × tn), never exponential. */
    while (ti < tn) {
        if (pi < pn && p[pi] == '*') {
            star = pi++;
            mark = ti;
        } else if (pi < pn && (p[pi] == '?' || p[pi] == t[ti])) {
            pi++;
            ti++;
        } else if (star >= 0) {
            pi = star + 1;
            ti = ++mark;
        } else {
            return FALSE;
        }
    }
    while (pi < pn && p[pi] == '*')
        pi++;
    return pi == pn;
}

/* ---- editing a header ---------------------------------------------------------- */

/* Whether the line at @line (@len octets, no line end) starts a field
 * called @name. */
static gboolean
line_is_field(const char *line, gsize len, const char *name)
{
    gsize n = strlen(name);

    if (len <= n || g_ascii_strncasecmp(line, name, n) != 0)
        return FALSE;
    gsize i = n;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
        i++;
    return i < len && line[i] == ':';
}

GBytes *
collector_message_remove_field(GBytes *message, const char *name, guint *removed)
{
    gsize len = 0;
    const char *data = g_bytes_get_data(message, &len);
    g_autoptr(GString) out = NULL;
    gsize pos = 0, kept_from = 0;
    gboolean skipping = FALSE;
    guint count = 0;

    while (pos < len) {
        const char *line = data + pos;
        const char *nl = memchr(line, '\n', len - pos);
        gsize full = nl != NULL ? (gsize)(nl - line) + 1 : len - pos;
        gsize text = nl != NULL ? (gsize)(nl - line) : full;

        if (text > 0 && line[text - 1] == '\r')
            text--;
        if (text == 0)
            break; /* the end of the header section */
        gboolean continuation = line[0] == ' ' || line[0] == '\t';
        if (!continuation)
            skipping = line_is_field(line, text, name);
        if (skipping) {
            /* Copy what came before, skip this line. */
            if (out == NULL)
                out = g_string_sized_new(len);
            g_string_append_len(out, data + kept_from, (gssize)(pos - kept_from));
            kept_from = pos + full;
            if (!continuation)
                count++;
        }
        pos += full;
    }
    if (removed != NULL)
        *removed = count;
    if (out == NULL)
        return g_bytes_ref(message);
    g_string_append_len(out, data + kept_from, (gssize)(len - kept_from));
    return g_string_free_to_bytes(g_steal_pointer(&out));
}
