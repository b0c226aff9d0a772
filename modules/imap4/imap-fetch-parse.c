/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "postroom-config.h"

#include <string.h>

#include "imap-fetch-parse.h"

static void
body_free(gpointer p)
{
    ImapFetchBody *b = p;

    g_strfreev(b->fields);
    g_free(b->reply_name);
    g_free(b);
}

void
imap_fetch_spec_clear(ImapFetchSpec *spec)
{
    g_clear_pointer(&spec->bodies, g_ptr_array_unref);
    spec->items = 0;
}

gboolean
imap_fetch_sets_seen(const ImapFetchSpec *spec)
{
    for (guint i = 0; spec->bodies != NULL && i < spec->bodies->len; i++) {
        if (!((ImapFetchBody *)spec->bodies->pdata[i])->peek)
            return TRUE;
    }
    return FALSE;
}

static gboolean
fail(char **error, const char *why)
{
    *error = g_strdup(why);
    return FALSE;
}

/* A header field name: printable ASCII but ":" (RFC 5322 ftext). */
static gboolean
is_field_char(guchar c)
{
    return c > 0x20 && c < 0x7f && c != ':';
}

/* "(FROM TO "X-Spam")" after HEADER.FIELDS; @p points at "(". Names may be
 * quoted (astrings); they are kept in upper case. */
static const char *
read_fields(const char *p, const char *end, char ***fields)
{
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);

    if (p >= end || *p != '(')
        return NULL;
    p++;
    while (p < end && *p != ')') {
        g_autoptr(GString) name = g_string_new(NULL);

        if (names->len > 0) {
            if (*p != ' ')
                return NULL;
            p++;
        }
        if (p < end && *p == '"') {
            for (p++; p < end && *p != '"'; p++) {
                if (*p == '\\' && p + 1 < end)
                    p++;
                if (!is_field_char((guchar)*p))
                    return NULL;
                g_string_append_c(name, g_ascii_toupper(*p));
            }
            if (p == end)
                return NULL;
            p++;
        } else {
            for (; p < end && *p != ' ' && *p != ')'; p++) {
                if (!is_field_char((guchar)*p) || *p == '(' || *p == '"' || *p == '\\')
                    return NULL;
                g_string_append_c(name, g_ascii_toupper(*p));
            }
        }
        if (name->len == 0)
            return NULL;
        g_ptr_array_add(names, g_string_free(g_steal_pointer(&name), FALSE));
    }
    if (p == end || names->len == 0)
        return NULL;
    g_ptr_array_add(names, NULL);
    *fields = (char **)g_ptr_array_free(g_steal_pointer(&names), FALSE);
    return p + 1;
}

/* The text between "[" and "]". */
static gboolean
parse_section(ImapFetchBody *b, const char *p, const char *end, char **error)
{
    /* section-part: nz-numbers separated by dots, each followed by "." or the end. */
    while (p < end && g_ascii_isdigit(*p)) {
        guint64 n = 0;
        const char *start = p;

        while (p < end && g_ascii_isdigit(*p) && p - start < 10)
            n = n * 10 + (guint64)(*p++ - '0');
        if (n == 0 || n > G_MAXUINT32 || (p < end && g_ascii_isdigit(*p)))
            return fail(error, "Invalid part number");
        if (b->part_depth == IMAP_MAX_PART_DEPTH)
            return fail(error, "Part numbers nested too deeply");
        b->part[b->part_depth++] = (guint32)n;
        if (p == end)
            return TRUE;
        if (*p != '.')
            return fail(error, "Invalid section");
        p++;
        if (p == end)
            return fail(error, "Invalid section");
    }
    gsize rest = (gsize)(end - p);
#define IS(word) (rest >= strlen(word) && g_ascii_strncasecmp(p, word, strlen(word)) == 0)
    if (rest == 0) {
        b->kind = IMAP_SECTION_ALL;
        return TRUE;
    }
    if (IS("HEADER.FIELDS.NOT ") || IS("HEADER.FIELDS ")) {
        b->kind =
            IS("HEADER.FIELDS.NOT ") ? IMAP_SECTION_HEADER_FIELDS_NOT : IMAP_SECTION_HEADER_FIELDS;
        p += b->kind == IMAP_SECTION_HEADER_FIELDS_NOT ? strlen("HEADER.FIELDS.NOT ")
                                                       : strlen("HEADER.FIELDS ");
        p = read_fields(p, end, &b->fields);
        if (p == NULL || p != end)
            return fail(error, "Invalid header field list");
        return TRUE;
    }
    if (rest == strlen("HEADER") && IS("HEADER"))
        b->kind = IMAP_SECTION_HEADER;
    else if (rest == strlen("TEXT") && IS("TEXT"))
        b->kind = IMAP_SECTION_TEXT;
    else if (rest == strlen("MIME") && IS("MIME") && b->part_depth > 0)
        b->kind = IMAP_SECTION_MIME;
    else
        return fail(error, "Invalid section");
#undef IS
    return TRUE;
}

/* "<offset.length>" */
static gboolean
parse_partial(ImapFetchBody *b, const char *p, char **error)
{
    guint64 off = 0, len = 0;
    const char *start;

    if (*p == '\0')
        return TRUE;
    if (*p++ != '<')
        return fail(error, "Invalid text after a section");
    for (start = p; g_ascii_isdigit(*p) && p - start < 11; p++)
        off = off * 10 + (guint64)(*p - '0');
    if (p == start || *p != '.')
        return fail(error, "Invalid partial");
    for (start = ++p; g_ascii_isdigit(*p) && p - start < 11; p++)
        len = len * 10 + (guint64)(*p - '0');
    if (p == start || strcmp(p, ">") != 0 || off > G_MAXUINT32 || len > G_MAXUINT32 || len == 0)
        return fail(error, "Invalid partial");
    b->partial = TRUE;
    b->offset = (guint32)off;
    b->length = (guint32)len;
    return TRUE;
}

/* BODY[...] and BODY.PEEK[...]; @open points at "[". */
static ImapFetchBody *
parse_body(const char *open, gboolean peek, char **error)
{
    const char *close = strchr(open, ']');
    ImapFetchBody *b = g_new0(ImapFetchBody, 1);

    b->peek = peek;
    if (close == NULL || !parse_section(b, open + 1, close, error) ||
        !parse_partial(b, close + 1, error)) {
        if (*error == NULL)
            *error = g_strdup("Invalid section");
        body_free(b);
        return NULL;
    }
    /* The reply echoes the section in upper case, the partial by its origin. */
    g_autofree char *section = g_ascii_strup(open, close + 1 - open);
    b->reply_name = b->partial ? g_strdup_printf("BODY%s<%u>", section, b->offset)
                               : g_strdup_printf("BODY%s", section);
    return b;
}

static ImapFetchBody *
rfc822_body(ImapSectionKind kind, gboolean peek, const char *name)
{
    ImapFetchBody *b = g_new0(ImapFetchBody, 1);

    b->kind = kind;
    b->peek = peek;
    b->reply_name = g_strdup(name);
    return b;
}

static gboolean
parse_item(const char *item, ImapFetchSpec *spec, char **error)
{
    static const struct {
        const char *name;
        guint32 items;
    } simple[] = {
        { "FLAGS", IMAP_FETCH_FLAGS },
        { "INTERNALDATE", IMAP_FETCH_INTERNALDATE },
        { "RFC822.SIZE", IMAP_FETCH_RFC822_SIZE },
        { "ENVELOPE", IMAP_FETCH_ENVELOPE },
        { "BODY", IMAP_FETCH_BODY },
        { "BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE },
        { "UID", IMAP_FETCH_UID },
        { "MODSEQ", IMAP_FETCH_MODSEQ },
    };
    ImapFetchBody *b = NULL;

    for (gsize i = 0; i < G_N_ELEMENTS(simple); i++) {
        if (g_ascii_strcasecmp(item, simple[i].name) == 0) {
            spec->items |= simple[i].items;
            return TRUE;
        }
    }
    if (g_ascii_strcasecmp(item, "RFC822") == 0)
        b = rfc822_body(IMAP_SECTION_ALL, FALSE, "RFC822");
    else if (g_ascii_strcasecmp(item, "RFC822.HEADER") == 0)
        b = rfc822_body(IMAP_SECTION_HEADER, TRUE, "RFC822.HEADER");
    else if (g_ascii_strcasecmp(item, "RFC822.TEXT") == 0)
        b = rfc822_body(IMAP_SECTION_TEXT, FALSE, "RFC822.TEXT");
    else if (g_ascii_strncasecmp(item, "BODY[", 5) == 0)
        b = parse_body(item + 4, FALSE, error);
    else if (g_ascii_strncasecmp(item, "BODY.PEEK[", 10) == 0)
        b = parse_body(item + 9, TRUE, error);
    else
        return fail(error, "Unknown FETCH item");
    if (b == NULL)
        return FALSE;
    g_ptr_array_add(spec->bodies, b);
    return TRUE;
}

gboolean
imap_fetch_parse(const ImapArg *arg, ImapFetchSpec *spec, char **error)
{
    const char *atom = imap_arg_atom(arg);

    *error = NULL;
    spec->items = 0;
    spec->bodies = g_ptr_array_new_with_free_func(body_free);
    if (atom != NULL) {
        /* The macros stand alone, never inside a list. */
        if (g_ascii_strcasecmp(atom, "ALL") == 0)
            spec->items = IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE | IMAP_FETCH_RFC822_SIZE |
                          IMAP_FETCH_ENVELOPE;
        else if (g_ascii_strcasecmp(atom, "FAST") == 0)
            spec->items = IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE | IMAP_FETCH_RFC822_SIZE;
        else if (g_ascii_strcasecmp(atom, "FULL") == 0)
            spec->items = IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE | IMAP_FETCH_RFC822_SIZE |
                          IMAP_FETCH_ENVELOPE | IMAP_FETCH_BODY;
        else if (!parse_item(atom, spec, error))
            goto failed;
        return TRUE;
    }
    if (arg == NULL || arg->type != IMAP_ARG_LIST || arg->list->len == 0) {
        fail(error, "Invalid FETCH items");
        goto failed;
    }
    for (guint i = 0; i < arg->list->len; i++) {
        const char *item = imap_arg_atom(arg->list->pdata[i]);

        if (item == NULL) {
            fail(error, "Invalid FETCH item");
            goto failed;
        }
        if (!parse_item(item, spec, error))
            goto failed;
    }
    return TRUE;
failed:
    imap_fetch_spec_clear(spec);
    return FALSE;
}
