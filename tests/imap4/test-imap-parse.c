/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The IMAP module's pure parsers over tables: command syntax with literals
 * (imap-parse.c), FETCH items (imap-fetch-parse.c), SEARCH criteria
 * (imap-search-parse.c), LIST patterns (imap-list-match.c), sequence sets
 * (imap-seqset.c), modified UTF-7 mailbox names (imap-utf7.c) and string
 * output (imap-write.c). */

#include "postroom-config.h"

#include <string.h>

#include "imap-fetch-parse.h"
#include "imap-list-match.h"
#include "imap-parse.h"
#include "imap-search-parse.h"
#include "imap-seqset.h"
#include "imap-utf7.h"
#include "imap-write.h"

/* The arguments in a compact form: atoms bare, strings in '...', literals
 * as {...}, NIL, lists in parentheses. */
static void
describe(GString *out, GPtrArray *args)
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
            g_string_append_printf(out, "'%s'", a->str);
            break;
        case IMAP_ARG_LITERAL:
            g_string_append_printf(out, "{%s}", a->str);
            break;
        case IMAP_ARG_NIL:
            g_string_append(out, "NIL");
            break;
        case IMAP_ARG_LIST:
            g_string_append_c(out, '(');
            describe(out, a->list);
            g_string_append_c(out, ')');
            break;
        }
    }
}

typedef struct {
    const char *input;
    const char *tag;  /* NULL: no tag could be read */
    const char *name; /* NULL: a syntax error */
    const char *args;
} ParseCase;

static void
test_commands(void)
{
    static const ParseCase cases[] = {
        { "a1 NOOP", "a1", "NOOP", "" },
        { "a1 noop", "a1", "NOOP", "" },
        { "A.2 LOGIN joe \"se\\\"cr\\\\et\"", "A.2", "LOGIN", "joe 'se\"cr\\et'" },
        { "3 SELECT INBOX", "3", "SELECT", "INBOX" },
        { "t FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100>)", "t", "FETCH",
          "1:* (FLAGS BODY.PEEK[HEADER.FIELDS (FROM TO)]<0.100>)" },
        { "t FETCH 2 BODY[]", "t", "FETCH", "2 BODY[]" },
        { "t FETCH 2 (BODY[1.2.MIME] BODY[3.TEXT])", "t", "FETCH",
          "2 (BODY[1.2.MIME] BODY[3.TEXT])" },
        { "t UID fetch 1:5 FLAGS", "t", "UID FETCH", "1:5 FLAGS" },
        { "t STORE 1 +FLAGS.SILENT (\\Seen \\Deleted $Junk)", "t", "STORE",
          "1 +FLAGS.SILENT (\\Seen \\Deleted $Junk)" },
        { "t APPEND Drafts (\\Draft) {5}\r\nhello", "t", "APPEND", "Drafts (\\Draft) {hello}" },
        { "t LOGIN {3+}\r\njoe {2}\r\npw", "t", "LOGIN", "{joe} {pw}" },
        { "t LIST \"\" *", "t", "LIST", "'' *" },
        { "t LIST \"\" %/Sub%", "t", "LIST", "'' %/Sub%" },
        { "t SEARCH CHARSET UTF-8 SUBJECT \"gr\xc3\xbc\xc3\x9f\"", "t", "SEARCH",
          "CHARSET UTF-8 SUBJECT 'gr\xc3\xbc\xc3\x9f'" },
        { "t SEARCH NOT (OR FROM a TO b) UNSEEN", "t", "SEARCH", "NOT (OR FROM a TO b) UNSEEN" },
        { "t STATUS x (MESSAGES UIDNEXT)", "t", "STATUS", "x (MESSAGES UIDNEXT)" },
        { "t ID NIL", "t", "ID", "NIL" },
        { "t ID nil", "t", "ID", "NIL" },
        { "t ID ()", "t", "ID", "()" },
        { "t SETACL x bob \\", "t", NULL, NULL },
        { "t FLAGS \\*", "t", "FLAGS", "\\*" },
        /* Errors */
        { "", NULL, NULL, NULL },
        { " NOOP", NULL, NULL, NULL },
        { "+ NOOP", NULL, NULL, NULL },
        { "a1", NULL, NULL, NULL },
        { "a1 ", "a1", NULL, NULL },
        { "a1 NOOP ", "a1", NULL, NULL },
        { "a1 LOGIN  joe pw", "a1", NULL, NULL },
        { "a1 LOGIN joe  pw", "a1", NULL, NULL },
        { "a1 LOGIN \"joe pw", "a1", NULL, NULL },
        { "a1 LOGIN \"jo\\e\" pw", "a1", NULL, NULL },
        { "a1 FETCH 1 (FLAGS", "a1", NULL, NULL },
        { "a1 FETCH 1 FLAGS)", "a1", NULL, NULL },
        { "a1 FETCH 1 (FLAGS )", "a1", NULL, NULL },
        { "a1 FETCH 1 ( FLAGS)", "a1", NULL, NULL },
        { "a1 FETCH 1 BODY[HEADER", "a1", NULL, NULL },
        { "a1 FETCH 1 BODY[[]]", "a1", NULL, NULL },
        { "a1 FETCH 1 BODY]", "a1", NULL, NULL },
        { "a1 LOGIN {5}\r\njoe", "a1", NULL, NULL },
        { "a1 LOGIN {3}joe", "a1", NULL, NULL },
        { "a1 LOGIN {}\r\n", "a1", NULL, NULL },
        { "a1 UID", "a1", NULL, NULL },
        { "a1 UID ", "a1", NULL, NULL },
        { "a1 LOGIN j\xc3\xb6 pw", "a1", NULL, NULL },
        { "a1 (NOOP)", "a1", NULL, NULL },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *tag = NULL, *error = NULL;
        g_autofree char *shown = g_strescape(cases[i].input, NULL);
        g_autoptr(ImapCommand) cmd =
            imap_parse_command(cases[i].input, strlen(cases[i].input), &tag, &error);

        g_test_message("%s", shown);
        g_assert_cmpstr(tag, ==, cases[i].tag);
        if (cases[i].name == NULL) {
            g_assert_null(cmd);
            g_assert_nonnull(error);
            continue;
        }
        g_assert_nonnull(cmd);
        g_assert_null(error);
        g_assert_cmpstr(cmd->name, ==, cases[i].name);
        g_autoptr(GString) args = g_string_new(NULL);
        describe(args, cmd->args);
        g_assert_cmpstr(args->str, ==, cases[i].args);
    }
}

static void
test_nesting_limit(void)
{
    g_autoptr(GString) ok = g_string_new("t X ");
    g_autoptr(GString) deep = g_string_new("t X ");
    g_autofree char *tag = NULL, *error = NULL;

    for (int i = 0; i < IMAP_MAX_LIST_DEPTH; i++)
        g_string_append_c(ok, '(');
    for (int i = 0; i < IMAP_MAX_LIST_DEPTH; i++)
        g_string_append_c(ok, ')');
    g_autoptr(ImapCommand) a = imap_parse_command(ok->str, ok->len, &tag, &error);
    g_assert_nonnull(a);
    g_clear_pointer(&tag, g_free);

    for (int i = 0; i <= IMAP_MAX_LIST_DEPTH; i++)
        g_string_append_c(deep, '(');
    for (int i = 0; i <= IMAP_MAX_LIST_DEPTH; i++)
        g_string_append_c(deep, ')');
    g_autoptr(ImapCommand) b = imap_parse_command(deep->str, deep->len, &tag, &error);
    g_assert_null(b);
    g_assert_cmpstr(tag, ==, "t");
    g_assert_nonnull(error);
}

/* Lines and literals gathered into one command, as the session feeds them. */
static void
test_gather(void)
{
    ImapCommandBuffer buf;
    guint64 size = 0;
    gboolean sync = FALSE;
    gsize len;

    imap_command_buffer_init(&buf, 100);
    g_assert_cmpint(imap_command_buffer_add_line(&buf, "a LOGIN {3}", 11, &size, &sync), ==,
                    IMAP_GATHER_LITERAL);
    g_assert_cmpuint(size, ==, 3);
    g_assert_true(sync);
    g_assert_true(imap_command_buffer_in_literal(&buf));
    /* The literal arrives in pieces, with more bytes than it needs. */
    g_assert_cmpuint(imap_command_buffer_add_literal(&buf, (const guint8 *)"jo", 2), ==, 2);
    g_assert_cmpuint(imap_command_buffer_add_literal(&buf, (const guint8 *)"e pw", 4), ==, 1);
    g_assert_false(imap_command_buffer_in_literal(&buf));
    g_assert_cmpint(imap_command_buffer_add_line(&buf, " {2+}", 5, &size, &sync), ==,
                    IMAP_GATHER_LITERAL);
    g_assert_false(sync);
    g_assert_cmpuint(imap_command_buffer_add_literal(&buf, (const guint8 *)"pw", 2), ==, 2);
    g_assert_cmpint(imap_command_buffer_add_line(&buf, "", 0, &size, &sync), ==,
                    IMAP_GATHER_COMPLETE);
    const char *data = imap_command_buffer_data(&buf, &len);
    g_autofree char *tag = NULL, *error = NULL;
    g_autoptr(ImapCommand) cmd = imap_parse_command(data, len, &tag, &error);
    g_assert_nonnull(cmd);
    g_assert_cmpstr(imap_arg_astring(cmd->args->pdata[0]), ==, "joe");
    g_assert_cmpstr(imap_arg_astring(cmd->args->pdata[1]), ==, "pw");

    /* Over the limit: in the line itself, or announced by a literal. */
    imap_command_buffer_reset(&buf);
    g_assert_cmpint(imap_command_buffer_add_line(&buf, "a APPEND x {99}", 15, &size, &sync), ==,
                    IMAP_GATHER_TOO_LONG);
    g_assert_cmpuint(size, ==, 99);
    imap_command_buffer_reset(&buf);
    g_autofree char *longline = g_strnfill(120, 'x');
    g_assert_cmpint(imap_command_buffer_add_line(&buf, longline, 120, &size, &sync), ==,
                    IMAP_GATHER_TOO_LONG);
    imap_command_buffer_reset(&buf);
    g_assert_cmpint(imap_command_buffer_add_line(&buf, "a X {}", 6, &size, &sync), ==,
                    IMAP_GATHER_BAD_LENGTH);
    g_assert_cmpint(
        imap_command_buffer_add_line(&buf, "a X {99999999999999999999}", 26, &size, &sync), ==,
        IMAP_GATHER_BAD_LENGTH);
    /* Braces that are not a literal's announcement. */
    g_assert_cmpint(imap_command_buffer_add_line(&buf, "a X }", 5, &size, &sync), ==,
                    IMAP_GATHER_COMPLETE);
    imap_command_buffer_clear(&buf);
}

static void
test_arg_helpers(void)
{
    const char *line = "t X 42 4294967295 4294967296 -1 \"q\" NIL (a)";
    g_autofree char *tag = NULL, *error = NULL;
    g_autoptr(ImapCommand) cmd = imap_parse_command(line, strlen(line), &tag, &error);
    guint32 n = 0;
    gboolean nil = FALSE;

    g_assert_nonnull(cmd);
    g_assert_true(imap_arg_number(cmd->args->pdata[0], &n));
    g_assert_cmpuint(n, ==, 42);
    g_assert_true(imap_arg_number(cmd->args->pdata[1], &n));
    g_assert_cmpuint(n, ==, G_MAXUINT32);
    g_assert_false(imap_arg_number(cmd->args->pdata[2], &n));
    g_assert_false(imap_arg_number(cmd->args->pdata[3], &n));
    g_assert_false(imap_arg_number(cmd->args->pdata[4], &n));
    g_assert_cmpstr(imap_arg_nstring(cmd->args->pdata[4], &nil), ==, "q");
    g_assert_false(nil);
    g_assert_cmpstr(imap_arg_nstring(cmd->args->pdata[5], &nil), ==, "");
    g_assert_true(nil);
    g_assert_null(imap_arg_nstring(cmd->args->pdata[0], &nil));
    g_assert_null(imap_arg_astring(cmd->args->pdata[6]));
    g_assert_cmpstr(imap_arg_atom(cmd->args->pdata[0]), ==, "42");
    g_assert_null(imap_arg_atom(cmd->args->pdata[4]));
}

typedef struct {
    const char *items;  /* the FETCH command's last argument */
    guint32 flags;      /* ImapFetchItems */
    const char *bodies; /* reply names and what they read, or NULL if invalid */
    gboolean seen;
} FetchCase;

static void
describe_body(GString *out, const ImapFetchBody *b)
{
    static const char *const kinds[] = { "all", "header", "fields", "fields-not", "text", "mime" };

    g_string_append_printf(out, "%s%s=%s", out->len ? " " : "", b->reply_name, kinds[b->kind]);
    for (guint i = 0; i < b->part_depth; i++)
        g_string_append_printf(out, "%c%u", i ? '.' : ':', b->part[i]);
    for (char **f = b->fields; f != NULL && *f != NULL; f++)
        g_string_append_printf(out, "%c%s", f == b->fields ? '(' : ',', *f);
    if (b->fields != NULL)
        g_string_append_c(out, ')');
    if (b->partial)
        g_string_append_printf(out, "<%u+%u>", b->offset, b->length);
    if (b->peek)
        g_string_append(out, "/peek");
}

static void
test_fetch_items(void)
{
    static const FetchCase cases[] = {
        { "FLAGS", IMAP_FETCH_FLAGS, "", FALSE },
        { "ALL",
          IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE | IMAP_FETCH_RFC822_SIZE | IMAP_FETCH_ENVELOPE,
          "", FALSE },
        { "fast", IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE | IMAP_FETCH_RFC822_SIZE, "", FALSE },
        { "FULL",
          IMAP_FETCH_FLAGS | IMAP_FETCH_INTERNALDATE | IMAP_FETCH_RFC822_SIZE |
              IMAP_FETCH_ENVELOPE | IMAP_FETCH_BODY,
          "", FALSE },
        { "(UID RFC822.SIZE BODYSTRUCTURE MODSEQ)",
          IMAP_FETCH_UID | IMAP_FETCH_RFC822_SIZE | IMAP_FETCH_BODYSTRUCTURE | IMAP_FETCH_MODSEQ,
          "", FALSE },
        { "BODY[]", 0, "BODY[]=all", TRUE },
        { "BODY.PEEK[]<0.100>", 0, "BODY[]<0>=all<0+100>/peek", FALSE },
        { "(UID BODY.PEEK[header.fields (From to \"X-Spam\")])", IMAP_FETCH_UID,
          "BODY[HEADER.FIELDS (FROM TO \"X-SPAM\")]=fields(FROM,TO,X-SPAM)/peek", FALSE },
        { "BODY[1.2.3.HEADER.FIELDS.NOT (Received)]", 0,
          "BODY[1.2.3.HEADER.FIELDS.NOT (RECEIVED)]=fields-not:1.2.3(RECEIVED)", TRUE },
        { "(BODY[2.MIME] BODY.PEEK[2.TEXT]<10.5>)", 0,
          "BODY[2.MIME]=mime:2 BODY[2.TEXT]<10>=text:2<10+5>/peek", TRUE },
        { "BODY[2]", 0, "BODY[2]=all:2", TRUE },
        { "(RFC822.HEADER RFC822.TEXT)", 0, "RFC822.HEADER=header/peek RFC822.TEXT=text", TRUE },
        { "RFC822", 0, "RFC822=all", TRUE },
        /* Invalid */
        { "(ALL)", 0, NULL, FALSE },
        { "()", 0, NULL, FALSE },
        { "BOGUS", 0, NULL, FALSE },
        { "BODY[MIME]", 0, NULL, FALSE },
        { "BODY[0]", 0, NULL, FALSE },
        { "BODY[1.]", 0, NULL, FALSE },
        { "BODY[1..2]", 0, NULL, FALSE },
        { "BODY[HEADER.FIELDS]", 0, NULL, FALSE },
        { "BODY[HEADER.FIELDS ()]", 0, NULL, FALSE },
        { "BODY[HEADER.FIELDS (A B]", 0, NULL, FALSE },
        { "BODY[HEADER.FIELDS (A:B)]", 0, NULL, FALSE },
        { "BODY[HEADER.FIELDS (A) ]", 0, NULL, FALSE },
        { "BODY[TEXT.X]", 0, NULL, FALSE },
        { "BODY[]<0>", 0, NULL, FALSE },
        { "BODY[]<0.0>", 0, NULL, FALSE },
        { "BODY[]<1.2>x", 0, NULL, FALSE },
        { "BODY[]<4294967296.1>", 0, NULL, FALSE },
        { "BODY[4294967296]", 0, NULL, FALSE },
        { "(FLAGS \"X\")", 0, NULL, FALSE },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *line = g_strdup_printf("t FETCH 1 %s", cases[i].items);
        g_autofree char *tag = NULL, *error = NULL, *why = NULL;
        g_autoptr(ImapCommand) cmd = imap_parse_command(line, strlen(line), &tag, &error);
        ImapFetchSpec spec;

        g_test_message("%s", cases[i].items);
        g_assert_nonnull(cmd);
        g_assert_cmpuint(cmd->args->len, ==, 2);
        gboolean ok = imap_fetch_parse(cmd->args->pdata[1], &spec, &why);
        if (cases[i].bodies == NULL) {
            g_assert_false(ok);
            g_assert_nonnull(why);
            g_assert_null(spec.bodies);
            continue;
        }
        g_assert_true(ok);
        g_assert_cmphex(spec.items, ==, cases[i].flags);
        g_autoptr(GString) got = g_string_new(NULL);
        for (guint j = 0; j < spec.bodies->len; j++)
            describe_body(got, spec.bodies->pdata[j]);
        g_assert_cmpstr(got->str, ==, cases[i].bodies);
        g_assert_cmpint(imap_fetch_sets_seen(&spec), ==, cases[i].seen);
        imap_fetch_spec_clear(&spec);
    }
}

/* The tree in prefix form: and(...), or(a,b), not(a), flag:16, header:FROM=x. */
static void
describe_key(GString *out, const ImapSearchKey *k)
{
    static const char *const names[] = {
        "all",       "and",    "or",      "not",    "flag", "keyword", "new",        "old",
        "header",    "body",   "text",    "before", "on",   "since",   "sentbefore", "senton",
        "sentsince", "larger", "smaller", "seq",    "uid",  "modseq",
    };

    g_string_append(out, names[k->kind]);
    switch (k->kind) {
    case IMAP_SEARCH_AND:
    case IMAP_SEARCH_OR:
    case IMAP_SEARCH_NOT:
        g_string_append_c(out, '(');
        for (guint i = 0; i < k->children->len; i++) {
            if (i > 0)
                g_string_append_c(out, ',');
            describe_key(out, k->children->pdata[i]);
        }
        g_string_append_c(out, ')');
        break;
    case IMAP_SEARCH_FLAG:
        g_string_append_printf(out, ":%u", k->flag);
        break;
    case IMAP_SEARCH_HEADER:
        g_string_append_printf(out, ":%s=%s", k->field, k->text);
        break;
    case IMAP_SEARCH_KEYWORD:
    case IMAP_SEARCH_BODY:
    case IMAP_SEARCH_TEXT:
        g_string_append_printf(out, "=%s", k->text);
        break;
    case IMAP_SEARCH_BEFORE:
    case IMAP_SEARCH_ON:
    case IMAP_SEARCH_SINCE:
    case IMAP_SEARCH_SENTBEFORE:
    case IMAP_SEARCH_SENTON:
    case IMAP_SEARCH_SENTSINCE:
        g_string_append_printf(out, ":%04u-%02u-%02u", g_date_get_year(&k->date),
                               g_date_get_month(&k->date), g_date_get_day(&k->date));
        break;
    case IMAP_SEARCH_LARGER:
    case IMAP_SEARCH_SMALLER:
    case IMAP_SEARCH_MODSEQ:
        g_string_append_printf(out, ":%" G_GUINT64_FORMAT, k->number);
        break;
    case IMAP_SEARCH_SEQSET:
    case IMAP_SEARCH_UIDSET:
        if (k->saved_set)
            g_string_append(out, ":$");
        else
            g_string_append_printf(out, ":%u", k->set->len);
        break;
    case IMAP_SEARCH_ALL:
    case IMAP_SEARCH_NEW:
    case IMAP_SEARCH_OLD:
        break;
    }
}

typedef struct {
    const char *criteria;
    const char *tree; /* NULL: invalid */
    gboolean bad_charset;
} SearchCase;

static void
test_search(void)
{
    static const SearchCase cases[] = {
        { "ALL", "and(all)", FALSE },
        { "unseen FLAGGED", "and(not(flag:16),flag:8)", FALSE },
        { "FROM alice SUBJECT \"hello world\"", "and(header:FROM=alice,header:SUBJECT=hello world)",
          FALSE },
        { "CHARSET UTF-8 BODY \"gr\xc3\xbc\xc3\x9f\"", "and(body=gr\xc3\xbc\xc3\x9f)", FALSE },
        { "CHARSET us-ascii TEXT x", "and(text=x)", FALSE },
        { "HEADER X-Spam-Flag YES", "and(header:X-SPAM-FLAG=YES)", FALSE },
        { "HEADER Received \"\"", "and(header:RECEIVED=)", FALSE },
        { "OR (SEEN DELETED) NOT KEYWORD $Junk", "and(or(and(flag:16,flag:2),not(keyword=$Junk)))",
          FALSE },
        { "UNKEYWORD $Forwarded", "and(not(keyword=$Forwarded))", FALSE },
        { "SINCE 1-Feb-1994 BEFORE \"31-dec-2025\"", "and(since:1994-02-01,before:2025-12-31)",
          FALSE },
        { "SENTON 29-Feb-2024", "and(senton:2024-02-29)", FALSE },
        { "LARGER 1000 SMALLER 4294967295", "and(larger:1000,smaller:4294967295)", FALSE },
        { "1:5,7 UID 10:*", "and(seq:2,uid:1)", FALSE },
        { "UID $", "and(uid:$)", FALSE },
        { "MODSEQ 620162338", "and(modseq:620162338)", FALSE },
        { "MODSEQ \"/flags/\\\\draft\" all 620162338", "and(modseq:620162338)", FALSE },
        { "RETURN (MIN COUNT) UNSEEN", "and(not(flag:16))", FALSE },
        { "RETURN () ALL", "and(all)", FALSE },
        { "NEW OLD RECENT", "and(new,old,flag:32)", FALSE },
        /* Invalid */
        { "CHARSET ISO-8859-1 TEXT x", NULL, TRUE },
        { "", NULL, FALSE },
        { "CHARSET UTF-8", NULL, FALSE },
        { "BOGUS", NULL, FALSE },
        { "FROM", NULL, FALSE },
        { "HEADER From", NULL, FALSE },
        { "HEADER \"Fr om\" x", NULL, FALSE },
        { "SINCE 30-Feb-2024", NULL, FALSE },
        { "SINCE 1-Foo-2024", NULL, FALSE },
        { "SINCE 1-Feb-24", NULL, FALSE },
        { "LARGER -1", NULL, FALSE },
        { "LARGER 4294967296", NULL, FALSE },
        { "OR SEEN", NULL, FALSE },
        { "NOT", NULL, FALSE },
        { "()", NULL, FALSE },
        { "KEYWORD \\Seen", NULL, FALSE },
        { "UID 0", NULL, FALSE },
        { "0", NULL, FALSE },
        { "RETURN (BOGUS) ALL", NULL, FALSE },
        { "RETURN ALL", NULL, FALSE },
        { "MODSEQ \"/flags/x\" bogus 5", NULL, FALSE },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *line = g_strdup_printf("t SEARCH %s", cases[i].criteria);
        g_autofree char *tag = NULL, *error = NULL, *why = NULL;
        g_autoptr(ImapCommand) cmd = imap_parse_command(line, strlen(line), &tag, &error);
        ImapSearch search;
        gboolean bad_charset = FALSE;

        g_test_message("%s", cases[i].criteria);
        if (cmd == NULL) {
            g_assert_null(cases[i].tree); /* "t SEARCH " itself is a syntax error */
            continue;
        }
        gboolean ok = imap_search_parse(cmd->args, &search, &bad_charset, &why);
        g_assert_cmpint(bad_charset, ==, cases[i].bad_charset);
        if (cases[i].tree == NULL) {
            g_assert_false(ok);
            g_assert_nonnull(why);
            g_assert_null(search.root);
            continue;
        }
        g_assert_true(ok);
        g_autoptr(GString) got = g_string_new(NULL);
        describe_key(got, search.root);
        g_assert_cmpstr(got->str, ==, cases[i].tree);
        imap_search_clear(&search);
    }

    /* NOT NOT ... ALL beyond the depth bound is refused, not recursed into. */
    g_autoptr(GString) deep = g_string_new("t SEARCH");
    for (int i = 0; i < 1000; i++)
        g_string_append(deep, " NOT");
    g_string_append(deep, " ALL");
    g_autofree char *tag = NULL, *error = NULL, *why = NULL;
    g_autoptr(ImapCommand) cmd = imap_parse_command(deep->str, deep->len, &tag, &error);
    ImapSearch search;
    gboolean bad_charset;
    g_assert_false(imap_search_parse(cmd->args, &search, &bad_charset, &why));
}

typedef struct {
    const char *text;
    guint32 largest;
    const char *resolved; /* "a-b,c-d", NULL if invalid */
} SeqCase;

static void
test_seqset(void)
{
    static const SeqCase cases[] = {
        { "1", 10, "1-1" },
        { "1:4,7", 10, "1-4,7-7" },
        { "4:2", 10, "2-4" },
        { "*", 10, "10-10" },
        { "5:*", 3, "3-5" },
        { "1:*", 0, "" },
        { "*", 0, "" },
        { "3,1,2", 10, "1-3" },
        { "1:3,2:6,8", 10, "1-6,8-8" },
        { "4294967294", 1, "4294967294-4294967294" },
        { "4294967295", 1, NULL },
        { "0", 10, NULL },
        { "0:3", 10, NULL },
        { "", 10, NULL },
        { "1,", 10, NULL },
        { ",1", 10, NULL },
        { "1::2", 10, NULL },
        { "1:", 10, NULL },
        { "a", 10, NULL },
        { "01", 10, NULL },
        { "1 2", 10, NULL },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GArray) set = imap_seqset_parse(cases[i].text);

        g_test_message("%s", cases[i].text);
        if (cases[i].resolved == NULL) {
            g_assert_null(set);
            continue;
        }
        g_assert_nonnull(set);
        g_autoptr(GArray) r = imap_seqset_resolve(set, cases[i].largest);
        g_autoptr(GString) s = g_string_new(NULL);
        for (guint j = 0; j < r->len; j++) {
            ImapRange *x = &g_array_index(r, ImapRange, j);
            g_string_append_printf(s, "%s%u-%u", j ? "," : "", x->first, x->last);
        }
        g_assert_cmpstr(s->str, ==, cases[i].resolved);
    }

    g_autoptr(GArray) set = imap_seqset_parse("2:4,9,20:*");
    g_autoptr(GArray) r = imap_seqset_resolve(set, 25);
    g_assert_false(imap_seqset_contains(r, 1));
    g_assert_true(imap_seqset_contains(r, 3));
    g_assert_false(imap_seqset_contains(r, 8));
    g_assert_true(imap_seqset_contains(r, 9));
    g_assert_true(imap_seqset_contains(r, 25));
    g_assert_false(imap_seqset_contains(r, 26));
}

static void
test_utf7(void)
{
    static const struct {
        const char *utf7, *utf8;
    } good[] = {
        { "INBOX", "INBOX" },
        { "&-", "&" },
        { "Tom &- Jerry", "Tom & Jerry" },
        { "~peter/mail/&U,BTFw-/&ZeVnLIqe-", "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
                                             "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e" },
        { "Entw&APw-rfe", "Entw\xc3\xbc"
                          "rfe" },
        { "&2D3eAA-", "\xf0\x9f\x98\x80" }, /* U+1F600, a surrogate pair */
        { "", "" },
    };
    static const char *const bad[] = {
        "&",          /* unterminated */
        "&AGE",       /* unterminated run */
        "&AGE-&AGI-", /* two runs in a row */
        "&AEE-",      /* "A" encoded */
        "&AGE=-",     /* padding */
        "&AGF-",      /* non-zero padding bits */
        "&2D0-",      /* a lone high surrogate */
        "&3gA-",      /* a lone low surrogate */
        "\xc3\xbc",   /* 8-bit */
        "a\tb",       /* a control character */
        "&AAA-",      /* NUL */
    };

    for (gsize i = 0; i < G_N_ELEMENTS(good); i++) {
        g_autofree char *u8 = imap_utf7_to_utf8(good[i].utf7);
        g_autofree char *u7 = imap_utf8_to_utf7(good[i].utf8);

        g_test_message("%s", good[i].utf7);
        g_assert_cmpstr(u8, ==, good[i].utf8);
        g_assert_cmpstr(u7, ==, good[i].utf7);
    }
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *u8 = imap_utf7_to_utf8(bad[i]);
        g_test_message("bad %s", bad[i]);
        g_assert_null(u8);
    }
    g_assert_null(imap_utf8_to_utf7("\xff"));
    g_autofree char *tab = imap_utf8_to_utf7("a\tb");
    g_autofree char *back = imap_utf7_to_utf8(tab);
    g_assert_cmpstr(back, ==, "a\tb");
}

static void
test_list_match(void)
{
    static const struct {
        const char *pattern, *name;
        gboolean match;
    } cases[] = {
        { "*", "INBOX", TRUE },
        { "*", "Archive/2024/June", TRUE },
        { "%", "Archive", TRUE },
        { "%", "Archive/2024", FALSE },
        { "Archive/%", "Archive/2024", TRUE },
        { "Archive/%", "Archive/2024/June", FALSE },
        { "Archive/*", "Archive/2024/June", TRUE },
        { "Archive/*", "Archive", FALSE },
        { "Arch*", "Archive", TRUE },
        { "A%e", "Archive", TRUE },
        { "A%e", "Arch/ive", FALSE },
        { "A*e", "Arch/ive", TRUE },
        { "inbox", "INBOX", TRUE },
        { "Inbox/%", "INBOX/Sub", TRUE },
        { "INBOX", "inboxes", FALSE },
        { "archive", "Archive", FALSE },
        { "", "", TRUE },
        { "", "x", FALSE },
        { "%%", "ab", TRUE },
        { "*%*", "a/b", TRUE },
        { "*a*a*a*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", FALSE },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_test_message("%s ~ %s", cases[i].pattern, cases[i].name);
        g_assert_cmpint(imap_list_match(cases[i].pattern, cases[i].name, '/'), ==, cases[i].match);
    }
    g_autofree char *a = imap_list_pattern("Archive/", "2024/%", '/');
    g_autofree char *b = imap_list_pattern("Archive/", "/Other", '/');
    g_autofree char *c = imap_list_pattern("", "*", '/');
    g_assert_cmpstr(a, ==, "Archive/2024/%");
    g_assert_cmpstr(b, ==, "/Other");
    g_assert_cmpstr(c, ==, "*");
    g_autofree char *longname = g_strnfill(IMAP_LIST_MAX_LENGTH + 1, 'a');
    g_assert_false(imap_list_match("*", longname, '/'));
}

static void
test_write(void)
{
    g_autoptr(GString) out = g_string_new(NULL);

    imap_append_astring(out, "INBOX");
    g_string_append_c(out, ' ');
    imap_append_astring(out, "nil");
    g_string_append_c(out, ' ');
    imap_append_astring(out, "a b\"c\\");
    g_string_append_c(out, ' ');
    imap_append_nstring(out, NULL);
    g_string_append_c(out, ' ');
    imap_append_string(out, "x\r\ny", 4);
    g_assert_cmpstr(out->str, ==, "INBOX \"nil\" \"a b\\\"c\\\\\" NIL {4}\r\nx\r\ny");
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/imap4/parse/commands", test_commands);
    g_test_add_func("/imap4/parse/nesting-limit", test_nesting_limit);
    g_test_add_func("/imap4/parse/gather", test_gather);
    g_test_add_func("/imap4/parse/arg-helpers", test_arg_helpers);
    g_test_add_func("/imap4/fetch-items", test_fetch_items);
    g_test_add_func("/imap4/list-match", test_list_match);
    g_test_add_func("/imap4/search", test_search);
    g_test_add_func("/imap4/seqset", test_seqset);
    g_test_add_func("/imap4/utf7", test_utf7);
    g_test_add_func("/imap4/write", test_write);
    return g_test_run();
}
