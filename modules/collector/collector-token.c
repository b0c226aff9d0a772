/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "postroom-config.h"

#include "collector-token.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";

char *
collector_token_new(GError **error)
{
    guint8 bits[16];
    char *out = g_malloc(COLLECTOR_TOKEN_LEN + 1);
    guint32 acc = 0;
    int have = 0;
    gsize n = 0;

    if (getrandom(bits, sizeof bits, 0) != (ssize_t)sizeof bits) {
        int saved = errno;
        g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(saved), "getrandom: %s",
                    g_strerror(saved));
        g_free(out);
        return NULL;
    }
    /* Base32 without padding: 128 bits are 25 groups of 5 and 3 bits. */
    for (gsize i = 0; i < sizeof bits; i++) {
        acc = (acc << 8) | bits[i];
        have += 8;
        while (have >= 5) {
            out[n++] = alphabet[(acc >> (have - 5)) & 31];
            have -= 5;
        }
    }
    if (have > 0)
        out[n++] = alphabet[(acc << (5 - have)) & 31];
    g_assert(n == COLLECTOR_TOKEN_LEN);
    out[n] = '\0';
    return out;
}

static gboolean
token_char(char c)
{
    c = g_ascii_tolower(c);
    return (c >= 'a' && c <= 'z') || (c >= '2' && c <= '7');
}

/* A token at @p, ending there (no further letter or digit)? */
static gboolean
token_at(const char *p)
{
    for (int i = 0; i < COLLECTOR_TOKEN_LEN; i++) {
        if (!token_char(p[i]))
            return FALSE;
    }
    return !g_ascii_isalnum(p[COLLECTOR_TOKEN_LEN]);
}

gboolean
collector_token_valid(const char *text)
{
    return text != NULL && strlen(text) == COLLECTOR_TOKEN_LEN && token_at(text);
}

char *
collector_token_parse(const char *detail, const char *subject)
{
    if (collector_token_valid(detail))
        return g_ascii_strdown(detail, -1);
    if (subject == NULL)
        return NULL;
    g_autofree char *lower = g_ascii_strdown(subject, -1);
    for (const char *p = strstr(lower, "query:"); p != NULL; p = strstr(p + 1, "query:")) {
        const char *t = p + strlen("query:");
        while (*t == ' ')
            t++;
        if (token_at(t))
            return g_strndup(t, COLLECTOR_TOKEN_LEN);
    }
    return NULL;
}

char *
collector_token_subject_tag(const char *token)
{
    return g_strdup_printf(" [query:%s]", token);
}
