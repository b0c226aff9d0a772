/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "postroom-config.h"

#include <string.h>

#include "imap-list-match.h"

/* "INBOX" in any case, alone or as the first level, is written INBOX. */
static char *
canonical_inbox(const char *name, char delimiter)
{
    if (g_ascii_strncasecmp(name, "INBOX", 5) == 0 && (name[5] == '\0' || name[5] == delimiter))
        return g_strconcat("INBOX", name + 5, NULL);
    return g_strdup(name);
}

gboolean
imap_list_match(const char *pattern, const char *name, char delimiter)
{
    gsize plen = strlen(pattern), nlen = strlen(name);

    if (plen > IMAP_LIST_MAX_LENGTH || nlen > IMAP_LIST_MAX_LENGTH)
        return FALSE;
    g_autofree char *p = canonical_inbox(pattern, delimiter);
    g_autofree char *n = canonical_inbox(name, delimiter);
    /* row[j]: the pattern's first i characters match the name's first j. */
    g_autofree gboolean *row = g_new0(gboolean, nlen + 1);
    g_autofree gboolean *next = g_new0(gboolean, nlen + 1);

    row[0] = TRUE;
    for (gsize i = 0; i < plen; i++) {
        char c = p[i];

        if (c == '*' || c == '%') {
            /* The wildcard takes nothing, or one more character after what
             * it already took ("%" not the delimiter). */
            next[0] = row[0];
            for (gsize j = 1; j <= nlen; j++)
                next[j] = row[j] || (next[j - 1] && (c == '*' || n[j - 1] != delimiter));
        } else {
            next[0] = FALSE;
            for (gsize j = 1; j <= nlen; j++)
                next[j] = row[j - 1] && n[j - 1] == c;
        }
        gboolean *t = row;
        row = next;
        next = t;
    }
    return row[nlen];
}

char *
imap_list_pattern(const char *reference, const char *mailbox, char delimiter)
{
    /* A mailbox name that starts at the root ignores the reference; else
     * the reference is a prefix, as written ("Archive/" + "2024/%"). */
    if (*mailbox == delimiter)
        return g_strdup(mailbox);
    return g_strconcat(reference, mailbox, NULL);
}
