/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "postroom-config.h"

#include <string.h>

#include "imap-search-parse.h"
#include "imap-seqset.h"

/* NOT, OR and lists nested deeper than this are refused: a bound on the
 * recursion here and in the evaluation. */
#define MAX_DEPTH 64

typedef struct {
    GPtrArray *args;
    guint next;
    char *error;
    gboolean modseq;
} Cursor;

void
imap_search_key_free(ImapSearchKey *key)
{
    if (key == NULL)
        return;
    g_free(key->field);
    g_free(key->text);
    if (key->set != NULL)
        g_array_unref(key->set);
    if (key->children != NULL)
        g_ptr_array_unref(key->children);
    g_free(key);
}

void
imap_search_clear(ImapSearch *search)
{
    g_clear_pointer(&search->root, imap_search_key_free);
}

static ImapSearchKey *
key_new(ImapSearchKind kind)
{
    ImapSearchKey *key = g_new0(ImapSearchKey, 1);

    key->kind = kind;
    g_date_clear(&key->date, 1);
    if (kind == IMAP_SEARCH_AND || kind == IMAP_SEARCH_OR || kind == IMAP_SEARCH_NOT)
        key->children = g_ptr_array_new_with_free_func((GDestroyNotify)imap_search_key_free);
    return key;
}

static gpointer
fail(Cursor *c, const char *why)
{
    if (c->error == NULL)
        c->error = g_strdup(why);
    return NULL;
}

static const ImapArg *
take(Cursor *c)
{
    return c->next < c->args->len ? c->args->pdata[c->next++] : NULL;
}

static const char *
take_string(Cursor *c)
{
    const char *s = imap_arg_astring(take(c));

    return s != NULL ? s : fail(c, "Missing or invalid string in SEARCH");
}

gboolean
imap_parse_date(const char *text, GDate *date)
{
    static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    const char *p = text;
    guint day = 0, year = 0, month = 0;

    if (!g_ascii_isdigit(*p))
        return FALSE;
    day = (guint)(*p++ - '0');
    if (g_ascii_isdigit(*p))
        day = day * 10 + (guint)(*p++ - '0');
    if (*p++ != '-')
        return FALSE;
    for (guint i = 0; i < G_N_ELEMENTS(months); i++) {
        if (g_ascii_strncasecmp(p, months[i], 3) == 0)
            month = i + 1;
    }
    if (month == 0)
        return FALSE;
    p += 3;
    if (*p++ != '-')
        return FALSE;
    for (int i = 0; i < 4; i++) {
        if (!g_ascii_isdigit(*p))
            return FALSE;
        year = year * 10 + (guint)(*p++ - '0');
    }
    if (*p != '\0' || year == 0 ||
        !g_date_valid_dmy((GDateDay)day, (GDateMonth)month, (GDateYear)year))
        return FALSE;
    g_date_set_dmy(date, (GDateDay)day, (GDateMonth)month, (GDateYear)year);
    return TRUE;
}

static gboolean
take_number(Cursor *c, guint64 *n, guint64 max)
{
    const char *s = imap_arg_atom(take(c));
    guint64 v = 0;

    if (s == NULL || *s == '\0' || strlen(s) > 20)
        return fail(c, "Missing or invalid number in SEARCH") != NULL;
    for (const char *p = s; *p != '\0'; p++) {
        if (!g_ascii_isdigit(*p) || v > (max - (guint64)(*p - '0')) / 10)
            return fail(c, "Invalid number in SEARCH") != NULL;
        v = v * 10 + (guint64)(*p - '0');
    }
    *n = v;
    return TRUE;
}

static ImapSearchKey *read_key(Cursor *c, guint depth);

static ImapSearchKey *
read_list(Cursor *c, const ImapArg *list, guint depth)
{
    Cursor inner = { .args = list->list, .modseq = FALSE };
    ImapSearchKey *and = key_new(IMAP_SEARCH_AND);

    if (list->list->len == 0) {
        imap_search_key_free(and);
        return fail(c, "Empty list in SEARCH");
    }
    while (inner.next < inner.args->len) {
        ImapSearchKey *k = read_key(&inner, depth + 1);
        if (k == NULL) {
            c->error = inner.error;
            imap_search_key_free(and);
            return NULL;
        }
        g_ptr_array_add(and->children, k);
    }
    c->modseq |= inner.modseq;
    return and;
}

static ImapSearchKey *
header_key(const char *field, const char *text)
{
    ImapSearchKey *k = key_new(IMAP_SEARCH_HEADER);

    k->field = g_ascii_strup(field, -1);
    k->text = g_strdup(text);
    return k;
}

static ImapSearchKey *
read_key(Cursor *c, guint depth)
{
    static const struct {
        const char *name;
        guint flag;
        gboolean negated;
    } flags[] = {
        { "ANSWERED", IMAP_SEARCH_FLAG_ANSWERED, FALSE },
        { "DELETED", IMAP_SEARCH_FLAG_DELETED, FALSE },
        { "DRAFT", IMAP_SEARCH_FLAG_DRAFT, FALSE },
        { "FLAGGED", IMAP_SEARCH_FLAG_FLAGGED, FALSE },
        { "SEEN", IMAP_SEARCH_FLAG_SEEN, FALSE },
        { "RECENT", IMAP_SEARCH_FLAG_RECENT, FALSE },
        { "UNANSWERED", IMAP_SEARCH_FLAG_ANSWERED, TRUE },
        { "UNDELETED", IMAP_SEARCH_FLAG_DELETED, TRUE },
        { "UNDRAFT", IMAP_SEARCH_FLAG_DRAFT, TRUE },
        { "UNFLAGGED", IMAP_SEARCH_FLAG_FLAGGED, TRUE },
        { "UNSEEN", IMAP_SEARCH_FLAG_SEEN, TRUE },
    };
    static const struct {
        const char *name;
        ImapSearchKind kind;
    } dates[] = {
        { "BEFORE", IMAP_SEARCH_BEFORE }, { "ON", IMAP_SEARCH_ON },
        { "SINCE", IMAP_SEARCH_SINCE },   { "SENTBEFORE", IMAP_SEARCH_SENTBEFORE },
        { "SENTON", IMAP_SEARCH_SENTON }, { "SENTSINCE", IMAP_SEARCH_SENTSINCE },
    };
    static const char *const address_fields[] = { "FROM", "TO", "CC", "BCC", "SUBJECT" };
    const ImapArg *arg;
    const char *name;
    ImapSearchKey *k;

    if (depth > MAX_DEPTH)
        return fail(c, "SEARCH nested too deeply");
    arg = take(c);
    if (arg == NULL)
        return fail(c, "Missing SEARCH key");
    if (arg->type == IMAP_ARG_LIST)
        return read_list(c, arg, depth);
    name = imap_arg_atom(arg);
    if (name == NULL)
        return fail(c, "Invalid SEARCH key");

    for (gsize i = 0; i < G_N_ELEMENTS(flags); i++) {
        if (g_ascii_strcasecmp(name, flags[i].name) != 0)
            continue;
        k = key_new(IMAP_SEARCH_FLAG);
        k->flag = flags[i].flag;
        if (!flags[i].negated)
            return k;
        ImapSearchKey *not = key_new(IMAP_SEARCH_NOT);
        g_ptr_array_add(not ->children, k);
        return not ;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(dates); i++) {
        if (g_ascii_strcasecmp(name, dates[i].name) != 0)
            continue;
        const char *text = take_string(c);
        if (text == NULL)
            return NULL;
        k = key_new(dates[i].kind);
        if (!imap_parse_date(text, &k->date)) {
            imap_search_key_free(k);
            return fail(c, "Invalid date in SEARCH");
        }
        return k;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(address_fields); i++) {
        if (g_ascii_strcasecmp(name, address_fields[i]) != 0)
            continue;
        const char *text = take_string(c);
        return text != NULL ? header_key(address_fields[i], text) : NULL;
    }
    if (g_ascii_strcasecmp(name, "ALL") == 0)
        return key_new(IMAP_SEARCH_ALL);
    if (g_ascii_strcasecmp(name, "NEW") == 0)
        return key_new(IMAP_SEARCH_NEW);
    if (g_ascii_strcasecmp(name, "OLD") == 0)
        return key_new(IMAP_SEARCH_OLD);
    if (g_ascii_strcasecmp(name, "HEADER") == 0) {
        const char *field = take_string(c);
        const char *text = field != NULL ? take_string(c) : NULL;

        if (text == NULL)
            return NULL;
        for (const char *p = field; *p != '\0'; p++) {
            if ((guchar)*p <= 0x20 || (guchar)*p >= 0x7f || *p == ':')
                return fail(c, "Invalid header field name in SEARCH");
        }
        return header_key(field, text);
    }
    if (g_ascii_strcasecmp(name, "BODY") == 0 || g_ascii_strcasecmp(name, "TEXT") == 0) {
        const char *text = take_string(c);

        if (text == NULL)
            return NULL;
        k = key_new(g_ascii_strcasecmp(name, "BODY") == 0 ? IMAP_SEARCH_BODY : IMAP_SEARCH_TEXT);
        k->text = g_strdup(text);
        return k;
    }
    if (g_ascii_strcasecmp(name, "KEYWORD") == 0 || g_ascii_strcasecmp(name, "UNKEYWORD") == 0) {
        const char *flag = imap_arg_atom(take(c));

        if (flag == NULL || *flag == '\\')
            return fail(c, "Invalid keyword in SEARCH");
        k = key_new(IMAP_SEARCH_KEYWORD);
        k->text = g_strdup(flag);
        if (g_ascii_strcasecmp(name, "KEYWORD") == 0)
            return k;
        ImapSearchKey *not = key_new(IMAP_SEARCH_NOT);
        g_ptr_array_add(not ->children, k);
        return not ;
    }
    if (g_ascii_strcasecmp(name, "LARGER") == 0 || g_ascii_strcasecmp(name, "SMALLER") == 0) {
        k = key_new(g_ascii_strcasecmp(name, "LARGER") == 0 ? IMAP_SEARCH_LARGER
                                                            : IMAP_SEARCH_SMALLER);
        if (!take_number(c, &k->number, G_MAXUINT32)) {
            imap_search_key_free(k);
            return NULL;
        }
        return k;
    }
    if (g_ascii_strcasecmp(name, "MODSEQ") == 0) {
        /* MODSEQ ["/flags/\\Seen" all|priv|shared] n: the entry is accepted and,
         * with one mod-sequence per message, not needed. */
        const ImapArg *next = c->next < c->args->len ? c->args->pdata[c->next] : NULL;
        if (next != NULL && next->type != IMAP_ARG_ATOM) {
            const char *entry = imap_arg_astring(take(c));
            const char *type = imap_arg_atom(take(c));

            if (entry == NULL || type == NULL ||
                (g_ascii_strcasecmp(type, "all") != 0 && g_ascii_strcasecmp(type, "priv") != 0 &&
                 g_ascii_strcasecmp(type, "shared") != 0))
                return fail(c, "Invalid MODSEQ entry in SEARCH");
        }
        k = key_new(IMAP_SEARCH_MODSEQ);
        if (!take_number(c, &k->number, G_MAXINT64)) {
            imap_search_key_free(k);
            return NULL;
        }
        c->modseq = TRUE;
        return k;
    }
    if (g_ascii_strcasecmp(name, "NOT") == 0 || g_ascii_strcasecmp(name, "OR") == 0) {
        gboolean or = g_ascii_strcasecmp(name, "OR") == 0;
        k = key_new(or ? IMAP_SEARCH_OR : IMAP_SEARCH_NOT);
        for (int i = 0; i < (or ? 2 : 1); i++) {
            ImapSearchKey *child = read_key(c, depth + 1);
            if (child == NULL) {
                imap_search_key_free(k);
                return NULL;
            }
            g_ptr_array_add(k->children, child);
        }
        return k;
    }
    if (g_ascii_strcasecmp(name, "UID") == 0) {
        const char *set = imap_arg_atom(take(c));

        k = key_new(IMAP_SEARCH_UIDSET);
        if (set != NULL && strcmp(set, "$") == 0) {
            k->saved_set = TRUE;
            return k;
        }
        k->set = set != NULL ? imap_seqset_parse(set) : NULL;
        if (k->set == NULL) {
            imap_search_key_free(k);
            return fail(c, "Invalid UID set in SEARCH");
        }
        return k;
    }
    k = key_new(IMAP_SEARCH_SEQSET);
    if (strcmp(name, "$") == 0) {
        k->saved_set = TRUE;
        return k;
    }
    k->set = imap_seqset_parse(name);
    if (k->set == NULL) {
        imap_search_key_free(k);
        return fail(c, "Unknown SEARCH key");
    }
    return k;
}

/* RETURN (MIN MAX ALL COUNT SAVE) before the criteria (RFC 4731). */
static gboolean
read_return(Cursor *c, ImapSearch *search)
{
    static const struct {
        const char *name;
        guint32 option;
    } options[] = {
        { "MIN", IMAP_SEARCH_RETURN_MIN },   { "MAX", IMAP_SEARCH_RETURN_MAX },
        { "ALL", IMAP_SEARCH_RETURN_ALL },   { "COUNT", IMAP_SEARCH_RETURN_COUNT },
        { "SAVE", IMAP_SEARCH_RETURN_SAVE },
    };
    const ImapArg *list = take(c);

    if (list == NULL || list->type != IMAP_ARG_LIST)
        return fail(c, "RETURN needs a list") != NULL;
    search->esearch = TRUE;
    for (guint i = 0; i < list->list->len; i++) {
        const char *name = imap_arg_atom(list->list->pdata[i]);
        gsize j;

        for (j = 0; name != NULL && j < G_N_ELEMENTS(options); j++) {
            if (g_ascii_strcasecmp(name, options[j].name) == 0)
                break;
        }
        if (name == NULL || j == G_N_ELEMENTS(options))
            return fail(c, "Unknown RETURN option") != NULL;
        search->returns |= options[j].option;
    }
    if (search->returns == 0)
        search->returns = IMAP_SEARCH_RETURN_ALL;
    return TRUE;
}

gboolean
imap_search_parse(GPtrArray *args, ImapSearch *search, gboolean *bad_charset, char **error)
{
    Cursor c = { .args = args };
    const char *word;

    memset(search, 0, sizeof *search);
    *bad_charset = FALSE;
    *error = NULL;
    word = imap_arg_atom(c.next < args->len ? args->pdata[c.next] : NULL);
    if (word != NULL && g_ascii_strcasecmp(word, "RETURN") == 0) {
        c.next++;
        if (!read_return(&c, search))
            goto failed;
    }
    word = imap_arg_atom(c.next < args->len ? args->pdata[c.next] : NULL);
    if (word != NULL && g_ascii_strcasecmp(word, "CHARSET") == 0) {
        c.next++;
        const char *charset = imap_arg_astring(take(&c));

        if (charset == NULL) {
            fail(&c, "CHARSET needs a name");
            goto failed;
        }
        if (g_ascii_strcasecmp(charset, "UTF-8") == 0) {
            search->utf8 = TRUE;
        } else if (g_ascii_strcasecmp(charset, "US-ASCII") != 0) {
            *bad_charset = TRUE;
            fail(&c, "Only US-ASCII and UTF-8 searches are supported");
            goto failed;
        }
    }
    search->root = key_new(IMAP_SEARCH_AND);
    if (c.next == args->len) {
        fail(&c, "Missing SEARCH criteria");
        goto failed;
    }
    while (c.next < args->len) {
        ImapSearchKey *k = read_key(&c, 0);

        if (k == NULL)
            goto failed;
        g_ptr_array_add(search->root->children, k);
    }
    search->uses_modseq = c.modseq;
    return TRUE;
failed:
    imap_search_clear(search);
    *error = c.error != NULL ? c.error : g_strdup("Invalid SEARCH");
    return FALSE;
}
