/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The pure helpers of the message commands, without a mailbox: flag lists
 * (has, change, print), HEADER.FIELDS filtering and compact UID sets.
 * The unit tests compile this file alone. */

#include "postroom-config.h"

#include <string.h>

#include "imap-msg.h"

void
imap_msg_append_flags(GString *out, const char *flags, gboolean recent)
{
    g_string_append(out, "FLAGS (");
    g_string_append(out, flags);
    if (recent) {
        if (*flags != '\0')
            g_string_append_c(out, ' ');
        g_string_append(out, "\\Recent");
    }
    g_string_append_c(out, ')');
}

gboolean
imap_msg_has_flag(const char *flags, const char *flag)
{
    g_auto(GStrv) parts = g_strsplit(flags, " ", -1);

    for (guint i = 0; parts[i] != NULL; i++)
        if (g_ascii_strcasecmp(parts[i], flag) == 0)
            return TRUE;
    return FALSE;
}

static gboolean
in_list(GPtrArray *list, const char *flag)
{
    for (guint i = 0; i < list->len; i++)
        if (g_ascii_strcasecmp(list->pdata[i], flag) == 0)
            return TRUE;
    return FALSE;
}

/* System flags in the spelling the store keeps (RFC 3501 flags are
 * case-insensitive). */
static const char *
canonical_flag(const char *flag)
{
    static const char *const system[] = { "\\Answered", "\\Deleted", "\\Draft", "\\Flagged",
                                          "\\Seen" };

    for (guint i = 0; i < G_N_ELEMENTS(system); i++)
        if (g_ascii_strcasecmp(flag, system[i]) == 0)
            return system[i];
    return flag;
}

char *
imap_msg_apply_flags(const char *flags, int change, const char *given)
{
    g_auto(GStrv) old = g_strsplit(flags, " ", -1);
    g_auto(GStrv) add = g_strsplit(given, " ", -1);
    g_autoptr(GPtrArray) result = g_ptr_array_new();
    g_autoptr(GPtrArray) given_list = g_ptr_array_new();

    for (guint i = 0; add[i] != NULL; i++)
        if (*add[i] != '\0' && g_ascii_strcasecmp(add[i], "\\Recent") != 0)
            g_ptr_array_add(given_list, (gpointer)canonical_flag(add[i]));
    if (change != PR_FLAGS_REPLACE) {
        for (guint i = 0; old[i] != NULL; i++)
            if (*old[i] != '\0' && !(change == PR_FLAGS_REMOVE && in_list(given_list, old[i])) &&
                !in_list(result, old[i]))
                g_ptr_array_add(result, old[i]);
    }
    if (change != PR_FLAGS_REMOVE) {
        for (guint i = 0; i < given_list->len; i++)
            if (!in_list(result, given_list->pdata[i]))
                g_ptr_array_add(result, given_list->pdata[i]);
    }
    g_ptr_array_add(result, NULL);
    return g_strjoinv(" ", (char **)result->pdata);
}

char
imap_msg_flag_right(const char *flag)
{
    if (g_ascii_strcasecmp(flag, "\\Seen") == 0)
        return 's';
    if (g_ascii_strcasecmp(flag, "\\Deleted") == 0)
        return 't';
    return 'w';
}

char *
imap_msg_apply_flags_rights(const char *flags, int change, const char *given, const char *rights)
{
    g_autofree char *changed = imap_msg_apply_flags(flags, change, given);
    g_auto(GStrv) old = g_strsplit(flags, " ", -1);
    g_auto(GStrv) now = g_strsplit(changed, " ", -1);
    g_autoptr(GPtrArray) result = g_ptr_array_new();

    /* The changes the user may make, then the old flags they may not touch. */
    for (guint i = 0; now[i] != NULL; i++)
        if (*now[i] != '\0' && strchr(rights, imap_msg_flag_right(now[i])) != NULL)
            g_ptr_array_add(result, now[i]);
    for (guint i = 0; old[i] != NULL; i++)
        if (*old[i] != '\0' && strchr(rights, imap_msg_flag_right(old[i])) == NULL &&
            !in_list(result, old[i]))
            g_ptr_array_add(result, (gpointer)canonical_flag(old[i]));
    g_ptr_array_add(result, NULL);
    return g_strjoinv(" ", (char **)result->pdata);
}

/* Whether the header line starting at @line (@len octets, without its
 * line end) names one of @fields. */
static gboolean
field_listed(const char *line, gsize len, char **fields)
{
    const char *colon = memchr(line, ':', len);
    gsize name_len;

    if (colon == NULL)
        return FALSE;
    name_len = colon - line;
    while (name_len > 0 && (line[name_len - 1] == ' ' || line[name_len - 1] == '\t'))
        name_len--;
    for (guint i = 0; fields[i] != NULL; i++)
        if (strlen(fields[i]) == name_len && g_ascii_strncasecmp(fields[i], line, name_len) == 0)
            return TRUE;
    return FALSE;
}

/* HEADER.FIELDS (.NOT): the fields of @header (with their folded lines)
 * that are (not) listed (@exclude), then the blank line that ends a header. */
GString *
imap_msg_filter_header(const char *header, gsize len, char **fields, gboolean exclude)
{
    GString *out = g_string_new(NULL);
    gboolean keep = FALSE;
    gsize pos = 0;

    while (pos < len) {
        const char *nl = memchr(header + pos, '\n', len - pos);
        gsize end = nl != NULL ? (gsize)(nl - header) + 1 : len;
        gsize text_len = end - pos;
        const char *line = header + pos;

        while (text_len > 0 && (line[text_len - 1] == '\n' || line[text_len - 1] == '\r'))
            text_len--;
        if (text_len == 0)
            break; /* the blank line: the header ends */
        if (line[0] != ' ' && line[0] != '\t')
            keep = field_listed(line, text_len, fields) != exclude;
        if (keep) {
            g_string_append_len(out, line, text_len);
            g_string_append(out, "\r\n");
        }
        pos = end;
    }
    g_string_append(out, "\r\n");
    return out;
}

void
imap_msg_append_uid_set(GString *out, const guint32 *values, guint n)
{
    for (guint i = 0; i < n;) {
        guint j = i;

        while (j + 1 < n && values[j + 1] == values[j] + 1)
            j++;
        if (i > 0)
            g_string_append_c(out, ',');
        if (j > i)
            g_string_append_printf(out, "%u:%u", values[i], values[j]);
        else
            g_string_append_printf(out, "%u", values[i]);
        i = j + 1;
    }
}
