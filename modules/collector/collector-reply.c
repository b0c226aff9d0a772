/* SPDX-License-Identifier: GPL-3.0-or-later */

/* POP3 replies out of the received bytes (see collector-reply.h). */

#include "postroom-config.h"

#include <string.h>

#include "collector-reply.h"

/* Text for the administrator out of what a server sent: valid UTF-8 with
 * control characters shown as spaces. */
static char *
printable(const char *text, gsize len)
{
    char *copy = g_utf8_make_valid(text, (gssize)len);

    for (char *p = copy; *p != '\0'; p++) {
        if ((guchar)*p < ' ' || *p == 0x7f)
            *p = ' ';
    }
    return copy;
}

static char *
shown_line(const guint8 *line, gsize len)
{
    g_autofree char *raw = g_strndup((const char *)line, MIN(len, 80));
    return g_strescape(raw, NULL);
}

void
collector_status_clear(CollectorStatus *status)
{
    g_clear_pointer(&status->code, g_free);
    g_clear_pointer(&status->text, g_free);
    status->kind = COLLECTOR_STATUS_ERR;
}

/* RFC 2449 §8: resp-code = "[" resp-level *("/" resp-level) "]", levels
 * made of printable characters other than '/' and ']'. */
static gboolean
valid_resp_code(const char *code, gsize len)
{
    if (len == 0)
        return FALSE;
    gboolean level_empty = TRUE;
    for (gsize i = 0; i < len; i++) {
        guchar c = (guchar)code[i];
        if (c == '/') {
            if (level_empty)
                return FALSE;
            level_empty = TRUE;
        } else if (c > ' ' && c < 0x7f && c != '[' && c != ']') {
            level_empty = FALSE;
        } else {
            return FALSE;
        }
    }
    return !level_empty;
}

static gboolean
has_prefix_word(const char *line, gsize len, const char *word)
{
    gsize wlen = strlen(word);

    return len >= wlen && g_ascii_strncasecmp(line, word, wlen) == 0 &&
           (len == wlen || line[wlen] == ' ');
}

CollectorRead
collector_reply_status(GByteArray *inbuf, CollectorStatus *status, char **error)
{
    collector_status_clear(status);
    guint8 *nl = inbuf->len > 0 ? memchr(inbuf->data, '\n', inbuf->len) : NULL;
    /* The same verdict whatever the pieces the bytes came in: a line is
     * too long once it has more than the bound before its CR. */
    if (nl == NULL) {
        if (inbuf->len > COLLECTOR_MAX_STATUS_LINE + 1) {
            *error = g_strdup("reply line too long");
            return COLLECTOR_READ_MALFORMED;
        }
        return COLLECTOR_READ_MORE;
    }
    gsize len = (gsize)(nl - inbuf->data);
    gsize consumed = len + 1;
    if (len > 0 && inbuf->data[len - 1] == '\r')
        len--;
    const char *line = (const char *)inbuf->data;
    gsize skip;

    if (len > COLLECTOR_MAX_STATUS_LINE) {
        *error = g_strdup("reply line too long");
        return COLLECTOR_READ_MALFORMED;
    } else if (memchr(line, '\0', len) != NULL) {
        goto malformed;
    } else if (has_prefix_word(line, len, "+OK")) {
        status->kind = COLLECTOR_STATUS_OK;
        skip = 3;
    } else if (has_prefix_word(line, len, "-ERR")) {
        status->kind = COLLECTOR_STATUS_ERR;
        skip = 4;
    } else if (len >= 1 && line[0] == '+' && (len == 1 || line[1] == ' ')) {
        status->kind = COLLECTOR_STATUS_CONTINUE;
        skip = 1;
    } else {
        goto malformed;
    }
    if (skip < len)
        skip++; /* the space */
    const char *text = line + skip;
    gsize text_len = len - skip;
    /* A continuation's text is base64: no response code there. */
    if (status->kind != COLLECTOR_STATUS_CONTINUE && text_len > 2 && text[0] == '[') {
        const char *close = memchr(text, ']', text_len);
        if (close != NULL && valid_resp_code(text + 1, (gsize)(close - text - 1))) {
            status->code = g_strndup(text + 1, (gsize)(close - text - 1));
            text_len -= (gsize)(close + 1 - text);
            text = close + 1;
            if (text_len > 0 && text[0] == ' ')
                text++, text_len--;
        }
    }
    status->text = printable(text, text_len);
    g_byte_array_remove_range(inbuf, 0, (guint)consumed);
    return COLLECTOR_READ_DONE;

malformed : {
    g_autofree char *shown = shown_line(inbuf->data, len);
    *error = g_strdup_printf("malformed reply \"%s\"", shown);
    return COLLECTOR_READ_MALFORMED;
}
}

/* ---- multi-line responses ------------------------------------------------ */

void
collector_multiline_init_listing(CollectorMultiline *ml)
{
    memset(ml, 0, sizeof *ml);
    ml->listing = TRUE;
    ml->lines = g_ptr_array_new_with_free_func(g_free);
}

void
collector_multiline_init_message(CollectorMultiline *ml, gsize max_size, CollectorNulPolicy nul,
                                 char nul_char)
{
    memset(ml, 0, sizeof *ml);
    ml->max_size = max_size;
    ml->nul = nul;
    ml->nul_char = nul_char;
    ml->data = g_byte_array_new();
}

void
collector_multiline_clear(CollectorMultiline *ml)
{
    g_clear_pointer(&ml->lines, g_ptr_array_unref);
    g_clear_pointer(&ml->data, g_byte_array_unref);
}

static CollectorRead
take_listing(CollectorMultiline *ml, GByteArray *inbuf, char **error)
{
    gsize pos = 0;
    CollectorRead result = COLLECTOR_READ_MORE;

    while (pos < inbuf->len) {
        const guint8 *start = inbuf->data + pos;
        const guint8 *nl = memchr(start, '\n', inbuf->len - pos);
        if (nl == NULL) {
            if (inbuf->len - pos > COLLECTOR_MAX_LISTING_LINE + 1) {
                *error = g_strdup("listing line too long");
                result = COLLECTOR_READ_MALFORMED;
            }
            break;
        }
        gsize len = (gsize)(nl - start);
        pos += len + 1;
        if (len > 0 && start[len - 1] == '\r')
            len--;
        if (len > COLLECTOR_MAX_LISTING_LINE) {
            *error = g_strdup("listing line too long");
            result = COLLECTOR_READ_MALFORMED;
            break;
        }
        if (memchr(start, '\0', len) != NULL) {
            g_autofree char *shown = shown_line(start, len);
            *error = g_strdup_printf("malformed listing line \"%s\"", shown);
            result = COLLECTOR_READ_MALFORMED;
            break;
        }
        if (len == 1 && start[0] == '.') {
            ml->done = TRUE;
            result = COLLECTOR_READ_DONE;
            break;
        }
        if (ml->lines->len >= COLLECTOR_MAX_LISTING_LINES) {
            *error = g_strdup("listing too long");
            result = COLLECTOR_READ_MALFORMED;
            break;
        }
        /* RFC 1939 §3: a leading '.' is the stuffing octet. */
        if (len > 0 && start[0] == '.')
            start++, len--;
        g_ptr_array_add(ml->lines, g_strndup((const char *)start, len));
    }
    g_byte_array_remove_range(inbuf, 0, (guint)pos);
    return result;
}

/* Appends @len octets of message text, applying the NUL policy and the
 * size bound. */
static void
emit(CollectorMultiline *ml, const guint8 *p, gsize len)
{
    ml->octets += len;
    if (ml->oversize)
        return;
    if (ml->max_size > 0 && ml->octets > ml->max_size) {
        /* Read to the end and dropped: the session goes on with the next
         * message. */
        ml->oversize = TRUE;
        g_byte_array_set_size(ml->data, 0);
        return;
    }
    while (len > 0) {
        const guint8 *nul = memchr(p, '\0', len);
        gsize run = nul != NULL ? (gsize)(nul - p) : len;
        g_byte_array_append(ml->data, p, (guint)run);
        if (nul == NULL)
            break;
        if (ml->nul == COLLECTOR_NUL_REPLACE)
            g_byte_array_append(ml->data, (const guint8 *)&ml->nul_char, 1);
        p += run + 1;
        len -= run + 1;
    }
}

static void
count_nuls(CollectorMultiline *ml, const guint8 *p, gsize len)
{
    for (gsize i = 0; i < len; i++)
        if (p[i] == '\0')
            ml->nuls++;
}

static CollectorRead
take_message(CollectorMultiline *ml, GByteArray *inbuf)
{
    const guint8 *buf = inbuf->data;
    gsize len = inbuf->len, pos = 0;
    CollectorRead result = COLLECTOR_READ_MORE;

    while (pos < len) {
        if (!ml->mid_line) {
            if (buf[pos] == '.') {
                /* ".\r\n" or ".\n" ends the response; otherwise the dot is
                 * the stuffing octet (RFC 1939 §3). */
                if (len - pos < 2)
                    break;
                if (buf[pos + 1] == '\n') {
                    pos += 2;
                    ml->done = TRUE;
                    result = COLLECTOR_READ_DONE;
                    break;
                }
                if (buf[pos + 1] == '\r') {
                    if (len - pos < 3)
                        break;
                    if (buf[pos + 2] == '\n') {
                        pos += 3;
                        ml->done = TRUE;
                        result = COLLECTOR_READ_DONE;
                        break;
                    }
                }
                pos++;
            }
            ml->mid_line = TRUE;
            continue;
        }
        const guint8 *start = buf + pos;
        const guint8 *nl = memchr(start, '\n', len - pos);
        if (nl == NULL) {
            gsize run = len - pos;
            /* A CR at the end may be the first half of a CRLF. */
            if (start[run - 1] == '\r')
                run--;
            count_nuls(ml, start, run);
            emit(ml, start, run);
            pos += run;
            break;
        }
        gsize run = (gsize)(nl - start);
        pos += run + 1;
        if (run > 0 && start[run - 1] == '\r')
            run--;
        count_nuls(ml, start, run);
        emit(ml, start, run);
        emit(ml, (const guint8 *)"\r\n", 2);
        ml->mid_line = FALSE;
    }
    g_byte_array_remove_range(inbuf, 0, (guint)pos);
    return result;
}

CollectorRead
collector_multiline_take(CollectorMultiline *ml, GByteArray *inbuf, char **error)
{
    if (ml->done)
        return COLLECTOR_READ_DONE;
    if (ml->listing)
        return take_listing(ml, inbuf, error);
    return take_message(ml, inbuf);
}

/* ---- what replies say ------------------------------------------------------ */

void
collector_capa_parse(const GPtrArray *lines, CollectorCapa *capa)
{
    memset(capa, 0, sizeof *capa);
    for (guint i = 0; i < lines->len; i++) {
        g_auto(GStrv) words = g_strsplit_set(lines->pdata[i], " \t", -1);
        const char *kw = words[0];
        if (kw == NULL) {
            continue;
        } else if (g_ascii_strcasecmp(kw, "TOP") == 0) {
            capa->top = TRUE;
        } else if (g_ascii_strcasecmp(kw, "UIDL") == 0) {
            capa->uidl = TRUE;
        } else if (g_ascii_strcasecmp(kw, "USER") == 0) {
            capa->user = TRUE;
        } else if (g_ascii_strcasecmp(kw, "STLS") == 0) {
            capa->stls = TRUE;
        } else if (g_ascii_strcasecmp(kw, "RESP-CODES") == 0) {
            capa->resp_codes = TRUE;
        } else if (g_ascii_strcasecmp(kw, "PIPELINING") == 0) {
            capa->pipelining = TRUE;
        } else if (g_ascii_strcasecmp(kw, "SASL") == 0) {
            for (guint k = 1; words[k] != NULL; k++) {
                if (g_ascii_strcasecmp(words[k], "PLAIN") == 0)
                    capa->sasl_plain = TRUE;
                else if (g_ascii_strcasecmp(words[k], "CRAM-MD5") == 0)
                    capa->sasl_cram_md5 = TRUE;
            }
        }
    }
}

/* A decimal number of at most 19 digits; *end after it. */
static gboolean
parse_number(const char *p, guint64 *value, const char **end)
{
    guint64 v = 0;
    guint digits = 0;

    while (g_ascii_isdigit(*p)) {
        if (++digits > 19)
            return FALSE;
        v = v * 10 + (guint64)(*p - '0');
        p++;
    }
    if (digits == 0)
        return FALSE;
    *value = v;
    *end = p;
    return TRUE;
}

static const char *
skip_blanks(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static gboolean
parse_msgno(const char **p, guint *msgno)
{
    guint64 v;
    const char *end;

    if (!parse_number(skip_blanks(*p), &v, &end) || v == 0 || v > G_MAXINT)
        return FALSE;
    *msgno = (guint)v;
    *p = end;
    return TRUE;
}

gboolean
collector_parse_uidl_line(const char *line, guint *msgno, char **uid)
{
    const char *p = line;

    if (!parse_msgno(&p, msgno) || (*p != ' ' && *p != '\t'))
        return FALSE;
    p = skip_blanks(p);
    const char *start = p;
    while ((guchar)*p > ' ' && (guchar)*p < 0x7f)
        p++;
    gsize len = (gsize)(p - start);
    if (len == 0 || len > COLLECTOR_MAX_UID || *skip_blanks(p) != '\0')
        return FALSE;
    *uid = g_strndup(start, len);
    return TRUE;
}

gboolean
collector_parse_list_line(const char *line, guint *msgno, guint64 *size)
{
    const char *p = line;
    const char *end;

    if (!parse_msgno(&p, msgno) || (*p != ' ' && *p != '\t'))
        return FALSE;
    if (!parse_number(skip_blanks(p), size, &end))
        return FALSE;
    return *end == '\0' || *end == ' ' || *end == '\t';
}

gboolean
collector_parse_stat(const char *text, guint *count, guint64 *size)
{
    guint64 n;
    const char *end;

    if (!parse_number(skip_blanks(text), &n, &end) || n > G_MAXINT)
        return FALSE;
    if (*end != ' ' && *end != '\t')
        return FALSE;
    if (!parse_number(skip_blanks(end), size, &end))
        return FALSE;
    *count = (guint)n;
    return *end == '\0' || *end == ' ' || *end == '\t';
}

char *
collector_apop_timestamp(const char *greeting)
{
    for (const char *p = strchr(greeting, '<'); p != NULL; p = strchr(p + 1, '<')) {
        const char *q = p + 1;
        gboolean at = FALSE;
        while (*q != '\0' && *q != '>' && *q != '<' && (guchar)*q > ' ' && (guchar)*q < 0x7f) {
            at |= *q == '@';
            q++;
        }
        if (*q == '>' && at)
            return g_strndup(p, (gsize)(q - p + 1));
    }
    return NULL;
}
