/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The IMAP module's command syntax (modules/imap4/imap-parse.c), sequence
 * sets (imap-seqset.c) and mailbox names (imap-utf7.c).
 *
 * Input: what a client sends. It is cut into lines at CRLF and gathered
 * into commands as the session does, literals included, within a 4 KiB
 * command limit; each whole command is parsed. What is accepted must hold
 * what the grammar allows, and written back in canonical form
 * (imap-write.c) it must parse to the same arguments. Every atom and
 * string is also tried as a sequence set and as a modified UTF-7 name:
 * whatever decodes must encode back to the same text. Every top-level
 * argument is also read as FETCH items, and the arguments as SEARCH
 * criteria, and each string as a LIST pattern against the others. */
#include "postroom-config.h"

#include <string.h>

#include "fuzz.h"
#include "imap-fetch-parse.h"
#include "imap-list-match.h"
#include "imap-parse.h"
#include "imap-search-parse.h"
#include "imap-seqset.h"
#include "imap-utf7.h"
#include "imap-write.h"

#define COMMAND_LIMIT 4096

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_make_warnings_fatal();
    return 0;
}

static void
write_args(GString *out, GPtrArray *args)
{
    for (guint i = 0; i < args->len; i++) {
        const ImapArg *a = args->pdata[i];

        if (i > 0)
            g_string_append_c(out, ' ');
        switch (a->type) {
        case IMAP_ARG_ATOM:
            g_string_append(out, a->str);
            break;
        case IMAP_ARG_QUOTED:
        case IMAP_ARG_LITERAL:
            /* Literals that could be quoted come back quoted: compare
             * strings by content, not by form. */
            imap_append_string(out, a->str, a->len);
            break;
        case IMAP_ARG_NIL:
            g_string_append(out, "NIL");
            break;
        case IMAP_ARG_LIST:
            g_string_append_c(out, '(');
            write_args(out, a->list);
            g_string_append_c(out, ')');
            break;
        }
    }
}

static gboolean
same_args(GPtrArray *a, GPtrArray *b)
{
    if (a->len != b->len)
        return FALSE;
    for (guint i = 0; i < a->len; i++) {
        const ImapArg *x = a->pdata[i], *y = b->pdata[i];
        gboolean x_string = x->type == IMAP_ARG_QUOTED || x->type == IMAP_ARG_LITERAL;
        gboolean y_string = y->type == IMAP_ARG_QUOTED || y->type == IMAP_ARG_LITERAL;

        if (x_string != y_string || (!x_string && x->type != y->type))
            return FALSE;
        if (x->type == IMAP_ARG_LIST) {
            if (!same_args(x->list, y->list))
                return FALSE;
        } else if (x->str != NULL && (x->len != y->len || memcmp(x->str, y->str, x->len) != 0)) {
            return FALSE;
        }
    }
    return TRUE;
}

static void
try_text(const char *s)
{
    g_autoptr(GArray) set = imap_seqset_parse(s);

    if (set != NULL) {
        FUZZ_CHECK(set->len > 0);
        g_autoptr(GArray) r = imap_seqset_resolve(set, 1000);
        for (guint i = 0; i < r->len; i++) {
            ImapRange *x = &g_array_index(r, ImapRange, i);
            FUZZ_CHECK(x->first >= 1 && x->first <= x->last);
            if (i > 0)
                FUZZ_CHECK(x->first > g_array_index(r, ImapRange, i - 1).last + 1);
            FUZZ_CHECK(imap_seqset_contains(r, x->first) && imap_seqset_contains(r, x->last));
        }
    }
    /* A pattern without wildcards matches exactly itself (INBOX aside). */
    gboolean wild = strpbrk(s, "*%") != NULL;
    if (!wild && g_ascii_strncasecmp(s, "INBOX", 5) != 0)
        FUZZ_CHECK(imap_list_match(s, s, '/') == (strlen(s) <= IMAP_LIST_MAX_LENGTH));
    FUZZ_CHECK(imap_list_match("*", s, '/') == (strlen(s) <= IMAP_LIST_MAX_LENGTH));
    if (strchr(s, '/') == NULL)
        FUZZ_CHECK(imap_list_match("%", s, '/') == (strlen(s) <= IMAP_LIST_MAX_LENGTH));
    imap_list_match(s, "INBOX/Archive/2024", '/');
    g_autofree char *u8 = imap_utf7_to_utf8(s);
    if (u8 != NULL) {
        FUZZ_CHECK(g_utf8_validate(u8, -1, NULL));
        g_autofree char *back = imap_utf8_to_utf7(u8);
        FUZZ_CHECK(back != NULL && strcmp(back, s) == 0);
    }
}

static void
check_args(GPtrArray *args, guint depth)
{
    FUZZ_CHECK(depth <= IMAP_MAX_LIST_DEPTH);
    for (guint i = 0; i < args->len; i++) {
        const ImapArg *a = args->pdata[i];

        switch (a->type) {
        case IMAP_ARG_LIST:
            FUZZ_CHECK(a->str == NULL && a->list != NULL);
            check_args(a->list, depth + 1);
            break;
        case IMAP_ARG_NIL:
            FUZZ_CHECK(a->str == NULL);
            break;
        case IMAP_ARG_ATOM:
            FUZZ_CHECK(a->len > 0 && strlen(a->str) == a->len);
            for (gsize j = 0; j < a->len; j++)
                FUZZ_CHECK((guchar)a->str[j] >= 0x20 && (guchar)a->str[j] < 0x7f);
            try_text(a->str);
            break;
        case IMAP_ARG_QUOTED:
        case IMAP_ARG_LITERAL:
            FUZZ_CHECK(strlen(a->str) == a->len);
            try_text(a->str);
            break;
        }
    }
}

static void
try_fetch(const ImapArg *arg)
{
    ImapFetchSpec spec;
    g_autofree char *error = NULL;

    if (!imap_fetch_parse(arg, &spec, &error)) {
        FUZZ_CHECK(error != NULL && spec.bodies == NULL);
        return;
    }
    FUZZ_CHECK(error == NULL && (spec.items != 0 || spec.bodies->len > 0));
    for (guint i = 0; i < spec.bodies->len; i++) {
        const ImapFetchBody *b = spec.bodies->pdata[i];
        gboolean with_fields =
            b->kind == IMAP_SECTION_HEADER_FIELDS || b->kind == IMAP_SECTION_HEADER_FIELDS_NOT;

        FUZZ_CHECK(b->reply_name != NULL && b->part_depth <= IMAP_MAX_PART_DEPTH);
        FUZZ_CHECK(with_fields == (b->fields != NULL && b->fields[0] != NULL));
        FUZZ_CHECK(b->kind != IMAP_SECTION_MIME || b->part_depth > 0);
        FUZZ_CHECK(!b->partial || b->length > 0);
        for (guint j = 0; j < b->part_depth; j++)
            FUZZ_CHECK(b->part[j] > 0);
    }
    imap_fetch_sets_seen(&spec);
    imap_fetch_spec_clear(&spec);
}

static void
check_key(const ImapSearchKey *k, guint depth)
{
    FUZZ_CHECK(depth <= 2 * IMAP_MAX_ARGS);
    switch (k->kind) {
    case IMAP_SEARCH_AND:
        FUZZ_CHECK(k->children->len > 0);
        break;
    case IMAP_SEARCH_OR:
        FUZZ_CHECK(k->children->len == 2);
        break;
    case IMAP_SEARCH_NOT:
        FUZZ_CHECK(k->children->len == 1);
        break;
    case IMAP_SEARCH_HEADER:
        FUZZ_CHECK(k->field != NULL && k->text != NULL);
        break;
    case IMAP_SEARCH_BEFORE:
    case IMAP_SEARCH_ON:
    case IMAP_SEARCH_SINCE:
    case IMAP_SEARCH_SENTBEFORE:
    case IMAP_SEARCH_SENTON:
    case IMAP_SEARCH_SENTSINCE:
        FUZZ_CHECK(g_date_valid(&k->date));
        break;
    case IMAP_SEARCH_SEQSET:
    case IMAP_SEARCH_UIDSET:
        FUZZ_CHECK(k->saved_set || (k->set != NULL && k->set->len > 0));
        break;
    default:
        break;
    }
    for (guint i = 0; k->children != NULL && i < k->children->len; i++)
        check_key(k->children->pdata[i], depth + 1);
}

static void
try_search(GPtrArray *args)
{
    ImapSearch search;
    gboolean bad_charset = FALSE;
    g_autofree char *error = NULL;

    if (!imap_search_parse(args, &search, &bad_charset, &error)) {
        FUZZ_CHECK(error != NULL && search.root == NULL);
        return;
    }
    FUZZ_CHECK(error == NULL && search.root->kind == IMAP_SEARCH_AND && !bad_charset);
    check_key(search.root, 0);
    imap_search_clear(&search);
}

static void
parse_whole(const char *data, gsize len)
{
    g_autofree char *tag = NULL, *error = NULL;
    g_autoptr(ImapCommand) cmd = imap_parse_command(data, len, &tag, &error);

    if (cmd == NULL) {
        FUZZ_CHECK(error != NULL);
        return;
    }
    FUZZ_CHECK(error == NULL && tag != NULL && strcmp(tag, cmd->tag) == 0);
    FUZZ_CHECK(*cmd->name != '\0');
    check_args(cmd->args, 0);
    for (guint i = 0; i < cmd->args->len; i++)
        try_fetch(cmd->args->pdata[i]);
    try_search(cmd->args);

    g_autoptr(GString) again = g_string_new(cmd->tag);
    g_string_append_printf(again, " %s", cmd->name);
    if (cmd->args->len > 0) {
        g_string_append_c(again, ' ');
        write_args(again, cmd->args);
    }
    g_autofree char *tag2 = NULL, *error2 = NULL;
    g_autoptr(ImapCommand) cmd2 = imap_parse_command(again->str, again->len, &tag2, &error2);
    FUZZ_CHECK(cmd2 != NULL);
    FUZZ_CHECK(strcmp(cmd2->name, cmd->name) == 0);
    FUZZ_CHECK(same_args(cmd->args, cmd2->args));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ImapCommandBuffer buf;
    const char *p = (const char *)data, *end = p + size;

    imap_command_buffer_init(&buf, COMMAND_LIMIT);
    while (p < end) {
        if (imap_command_buffer_in_literal(&buf)) {
            p += imap_command_buffer_add_literal(&buf, (const guint8 *)p, (gsize)(end - p));
            continue;
        }
        const char *eol = g_strstr_len(p, end - p, "\r\n");
        gsize len = eol != NULL ? (gsize)(eol - p) : (gsize)(end - p);
        guint64 literal = 0;
        gboolean sync = FALSE;
        gsize held;

        switch (imap_command_buffer_add_line(&buf, p, len, &literal, &sync)) {
        case IMAP_GATHER_COMPLETE: {
            const char *cmd = imap_command_buffer_data(&buf, &held);
            parse_whole(cmd, held);
            imap_command_buffer_reset(&buf);
            break;
        }
        case IMAP_GATHER_LITERAL:
            FUZZ_CHECK(imap_command_buffer_in_literal(&buf));
            break;
        case IMAP_GATHER_TOO_LONG:
        case IMAP_GATHER_BAD_LENGTH:
            imap_command_buffer_reset(&buf);
            break;
        }
        FUZZ_CHECK(buf.data->len <= COMMAND_LIMIT);
        p += len + (eol != NULL ? 2 : 0);
    }
    imap_command_buffer_clear(&buf);
    return 0;
}
