/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "postroom-config.h"

#include <string.h>

#include "imap-write.h"

/* Longer strings go as literals: quoted strings must fit in a client's line. */
#define MAX_QUOTED 1024

void
imap_append_string(GString *out, const char *s, gsize len)
{
    gboolean quotable = len <= MAX_QUOTED;

    for (gsize i = 0; quotable && i < len; i++) {
        if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0')
            quotable = FALSE;
    }
    if (!quotable) {
        g_string_append_printf(out, "{%" G_GSIZE_FORMAT "}\r\n", len);
        g_string_append_len(out, s, (gssize)len);
        return;
    }
    g_string_append_c(out, '"');
    for (gsize i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\')
            g_string_append_c(out, '\\');
        g_string_append_c(out, s[i]);
    }
    g_string_append_c(out, '"');
}

void
imap_append_nstring(GString *out, const char *s)
{
    if (s == NULL)
        g_string_append(out, "NIL");
    else
        imap_append_string(out, s, strlen(s));
}

static gboolean
is_atom(const char *s)
{
    if (*s == '\0' || g_ascii_strcasecmp(s, "NIL") == 0)
        return FALSE;
    for (const char *p = s; *p != '\0'; p++) {
        guchar c = (guchar)*p;
        if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
            return FALSE;
    }
    return TRUE;
}

void
imap_append_astring(GString *out, const char *s)
{
    if (is_atom(s))
        g_string_append(out, s);
    else
        imap_append_string(out, s, strlen(s));
}
