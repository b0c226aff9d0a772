/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The server's replies (RFC 5321 §4.2): lines out of the received bytes,
 * multi-line replies put together, and what EHLO offers. Pure functions
 * (no connection), so that the fuzzer (tests/fuzz/fuzz-smtp-reply.c) can
 * drive them on their own; sender-client.c does the reading. */

#include "postroom-config.h"

#include <string.h>

#include "sender-session.h"

static gboolean
valid_reply_line(const char *line, gsize len)
{
    if (len < 3 || !g_ascii_isdigit(line[0]) || !g_ascii_isdigit(line[1]) ||
        !g_ascii_isdigit(line[2]))
        return FALSE;
    if (line[0] < '1' || line[0] > '5')
        return FALSE;
    return len == 3 || line[3] == ' ' || line[3] == '-';
}

SenderReplyStatus
sender_reply_take(GByteArray *inbuf, GPtrArray *lines, char **error)
{
    for (;;) {
        guint8 *nl = inbuf->len > 0 ? memchr(inbuf->data, '\n', inbuf->len) : NULL;
        if (nl == NULL) {
            if (inbuf->len > MAX_REPLY_LINE) {
                *error = g_strdup("reply line too long");
                return SENDER_REPLY_MALFORMED;
            }
            return SENDER_REPLY_MORE;
        }
        gsize len = (gsize)(nl - inbuf->data);
        gsize consumed = len + 1;
        if (len > 0 && inbuf->data[len - 1] == '\r')
            len--;
        char *line = g_strndup((const char *)inbuf->data, len);
        g_byte_array_remove_range(inbuf, 0, (guint)consumed);
        if (strlen(line) != len || !valid_reply_line(line, len) || lines->len >= MAX_REPLY_LINES) {
            g_autofree char *shown = g_strescape(line, NULL);
            *error = g_strdup_printf("malformed reply \"%.80s\"", shown);
            g_free(line);
            return SENDER_REPLY_MALFORMED;
        }
        g_ptr_array_add(lines, line);
        if (len > 3 && line[3] == '-')
            continue;
        return SENDER_REPLY_COMPLETE;
    }
}

Reply
sender_reply_build(GPtrArray *lines)
{
    GString *text = g_string_new(lines->pdata[0]);
    Reply r;

    /* One line for the queue's last error and the DSN's Diagnostic-Code:
     * the first line whole, the texts of the others after it. */
    for (guint i = 1; i < lines->len && text->len < 1000; i++) {
        const char *l = lines->pdata[i];
        g_string_append_c(text, ' ');
        g_string_append(text, strlen(l) > 4 ? l + 4 : "");
    }
    if (text->len > 1000)
        g_string_truncate(text, 1000);
    r.code = (int)g_ascii_strtoll(lines->pdata[0], NULL, 10);
    r.text = g_string_free(text, FALSE);
    /* "250-x" as the only line cannot happen; a text like "250" alone can. */
    if (strlen(r.text) >= 4 && r.text[3] == '-')
        r.text[3] = ' ';
    r.lines = NULL;
    return r;
}

void
sender_ehlo_parse(const GPtrArray *lines, SenderEhlo *ehlo)
{
    for (guint i = 1; i < lines->len; i++) {
        const char *l = lines->pdata[i];
        if (strlen(l) < 5)
            continue;
        g_auto(GStrv) words = g_strsplit_set(l + 4, " =", -1);
        const char *kw = words[0];
        if (g_ascii_strcasecmp(kw, "PIPELINING") == 0) {
            ehlo->pipelining = TRUE;
        } else if (g_ascii_strcasecmp(kw, "STARTTLS") == 0) {
            ehlo->starttls = TRUE;
        } else if (g_ascii_strcasecmp(kw, "DSN") == 0) {
            ehlo->dsn = TRUE;
        } else if (g_ascii_strcasecmp(kw, "8BITMIME") == 0) {
            ehlo->eightbit = TRUE;
        } else if (g_ascii_strcasecmp(kw, "SMTPUTF8") == 0) {
            ehlo->smtputf8 = TRUE;
        } else if (g_ascii_strcasecmp(kw, "SIZE") == 0) {
            ehlo->has_size = TRUE;
            ehlo->size_limit = words[1] != NULL ? g_ascii_strtoull(words[1], NULL, 10) : 0;
        } else if (g_ascii_strcasecmp(kw, "AUTH") == 0) {
            for (guint k = 1; words[k] != NULL; k++) {
                if (g_ascii_strcasecmp(words[k], "PLAIN") == 0)
                    ehlo->auth_plain = TRUE;
                else if (g_ascii_strcasecmp(words[k], "LOGIN") == 0)
                    ehlo->auth_login = TRUE;
            }
        }
    }
}
