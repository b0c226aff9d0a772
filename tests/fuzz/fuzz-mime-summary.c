/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The MIME summary (server/mime-summary.c) of any bytes: ENVELOPE, BODY
 * and BODYSTRUCTURE must parse as IMAP data of the right shape (RFC 3501
 * §9: lists, quoted strings, literals, numbers, NIL), and every range of
 * the section table must lie within the input, with one line per part of
 * the BODYSTRUCTURE. */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "mime-summary.h"

typedef enum { NODE_NIL, NODE_STRING, NODE_NUMBER, NODE_LIST } NodeKind;

typedef struct Node Node;
struct Node {
    NodeKind kind;
    char *text;      /* NODE_STRING, NODE_NUMBER */
    GPtrArray *kids; /* NODE_LIST */
};

static void
node_free(Node *node)
{
    if (node->kids != NULL)
        g_ptr_array_unref(node->kids);
    g_free(node->text);
    g_free(node);
}

/* Parses one IMAP value at *s; NULL if it is not one. Lists must not be
 * empty (no list in ENVELOPE or BODYSTRUCTURE may be). */
static Node *
parse_value(const char **s, const char *end, int depth)
{
    const char *p = *s;
    Node *node = g_new0(Node, 1);

    if (p >= end || depth > 500)
        goto fail;
    if (*p == '(') {
        node->kind = NODE_LIST;
        node->kids = g_ptr_array_new_with_free_func((GDestroyNotify)node_free);
        p++;
        while (p < end && *p != ')') {
            if (node->kids->len > 0) {
                /* Values are separated by one space, except one list
                 * right after another (multipart parts). */
                if (*p == ' ')
                    p++;
                else if (!(*p == '(' && p[-1] == ')'))
                    goto fail;
            }
            Node *kid = parse_value(&p, end, depth + 1);
            if (kid == NULL)
                goto fail;
            g_ptr_array_add(node->kids, kid);
        }
        if (p >= end || node->kids->len == 0)
            goto fail;
        *s = p + 1;
        return node;
    }
    if (*p == '"') {
        GString *text = g_string_new(NULL);
        for (p++; p < end && *p != '"'; p++) {
            if (*p == '\\') {
                p++;
                if (p >= end || (*p != '"' && *p != '\\')) {
                    g_string_free(text, TRUE);
                    goto fail;
                }
            } else if (*p == '\r' || *p == '\n' || (guchar)*p >= 0x80) {
                g_string_free(text, TRUE);
                goto fail;
            }
            g_string_append_c(text, *p);
        }
        node->kind = NODE_STRING;
        node->text = g_string_free(text, FALSE);
        if (p >= end)
            goto fail;
        *s = p + 1;
        return node;
    }
    if (*p == '{') {
        char *after;
        guint64 n = g_ascii_strtoull(p + 1, &after, 10);
        if (after == p + 1 || after + 3 > end || strncmp(after, "}\r\n", 3) != 0 ||
            n > (guint64)(end - (after + 3)))
            goto fail;
        p = after + 3;
        for (guint64 i = 0; i < n; i++)
            if (p[i] == '\0')
                goto fail;
        node->kind = NODE_STRING;
        node->text = g_strndup(p, n);
        *s = p + n;
        return node;
    }
    if (end - p >= 3 && strncmp(p, "NIL", 3) == 0) {
        node->kind = NODE_NIL;
        *s = p + 3;
        return node;
    }
    if (*p >= '0' && *p <= '9') {
        const char *start = p;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
        node->kind = NODE_NUMBER;
        node->text = g_strndup(start, p - start);
        *s = p;
        return node;
    }
fail:
    node_free(node);
    return NULL;
}

static Node *
parse_all(const char *text)
{
    const char *s = text, *end = text + strlen(text);
    Node *node = parse_value(&s, end, 0);

    FUZZ_CHECK(node != NULL);
    FUZZ_CHECK(s == end);
    return node;
}

static Node *
kid(Node *list, guint i)
{
    return g_ptr_array_index(list->kids, i);
}

static gboolean
is_nstring(Node *n)
{
    return n->kind == NODE_NIL || n->kind == NODE_STRING;
}

static void
check_params(Node *n)
{
    FUZZ_CHECK(n->kind == NODE_NIL || n->kind == NODE_LIST);
    if (n->kind == NODE_LIST) {
        FUZZ_CHECK(n->kids->len % 2 == 0);
        for (guint i = 0; i < n->kids->len; i++)
            FUZZ_CHECK(kid(n, i)->kind == NODE_STRING);
    }
}

static void
check_envelope(Node *env)
{
    FUZZ_CHECK(env->kind == NODE_LIST && env->kids->len == 10);
    for (guint i = 0; i < 10; i++) {
        Node *field = kid(env, i);
        if (i < 2 || i >= 8) {
            FUZZ_CHECK(is_nstring(field));
            continue;
        }
        FUZZ_CHECK(field->kind == NODE_NIL || field->kind == NODE_LIST);
        if (field->kind == NODE_NIL)
            continue;
        int groups = 0;
        for (guint a = 0; a < field->kids->len; a++) {
            Node *addr = kid(field, a);
            FUZZ_CHECK(addr->kind == NODE_LIST && addr->kids->len == 4);
            for (guint k = 0; k < 4; k++)
                FUZZ_CHECK(is_nstring(kid(addr, k)));
            /* NIL host: group start (mailbox = name) or end (all NIL). */
            if (kid(addr, 3)->kind == NODE_NIL) {
                if (kid(addr, 2)->kind == NODE_NIL) {
                    FUZZ_CHECK(groups > 0);
                    groups--;
                } else {
                    groups++;
                }
            }
        }
        FUZZ_CHECK(groups == 0);
    }
}

/* Checks a body's shape and returns the number of numbered parts in it
 * (a multipart that is a message's body has no number of its own). */
static guint
check_body(Node *body, gboolean extended, gboolean message_body)
{
    FUZZ_CHECK(body->kind == NODE_LIST && body->kids->len >= 2);
    if (kid(body, 0)->kind == NODE_LIST) {
        guint i = 0, parts = message_body ? 0 : 1;
        while (i < body->kids->len && kid(body, i)->kind == NODE_LIST)
            parts += check_body(kid(body, i++), extended, FALSE);
        FUZZ_CHECK(i < body->kids->len && kid(body, i)->kind == NODE_STRING);
        i++;
        if (extended) {
            FUZZ_CHECK(body->kids->len == i + 4);
            check_params(kid(body, i));
        } else {
            FUZZ_CHECK(body->kids->len == i);
        }
        return parts;
    }
    FUZZ_CHECK(body->kids->len >= 7);
    for (guint i = 0; i < 7; i++)
        FUZZ_CHECK(i == 2 || i == 6 ? TRUE : is_nstring(kid(body, i)));
    FUZZ_CHECK(kid(body, 0)->kind == NODE_STRING && kid(body, 1)->kind == NODE_STRING);
    FUZZ_CHECK(kid(body, 5)->kind == NODE_STRING);
    check_params(kid(body, 2));
    FUZZ_CHECK(kid(body, 6)->kind == NODE_NUMBER);
    const char *type = kid(body, 0)->text, *subtype = kid(body, 1)->text;
    guint i = 7, parts = 1;
    if (g_ascii_strcasecmp(type, "message") == 0 && g_ascii_strcasecmp(subtype, "rfc822") == 0) {
        FUZZ_CHECK(body->kids->len >= 10);
        check_envelope(kid(body, 7));
        parts += check_body(kid(body, 8), extended, TRUE);
        FUZZ_CHECK(kid(body, 9)->kind == NODE_NUMBER);
        i = 10;
    } else if (g_ascii_strcasecmp(type, "text") == 0) {
        FUZZ_CHECK(body->kids->len >= 8 && kid(body, 7)->kind == NODE_NUMBER);
        i = 8;
    }
    /* md5, disposition, language, location */
    FUZZ_CHECK(body->kids->len == (extended ? i + 4 : i));
    if (extended)
        FUZZ_CHECK(is_nstring(kid(body, i)));
    return parts;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_make_warnings_fatal();
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(MimeSummary) summary = mime_summary_build(data, size);

    Node *env = parse_all(summary->envelope);
    check_envelope(env);
    node_free(env);

    Node *bs = parse_all(summary->bodystructure);
    guint parts = check_body(bs, TRUE, TRUE);
    node_free(bs);
    Node *body = parse_all(summary->body);
    FUZZ_CHECK(check_body(body, FALSE, TRUE) == parts);
    node_free(body);

    /* The table: the message, then one line per part; every range within
     * the input and found again by mime_summary_find_section(). */
    g_auto(GStrv) lines = g_strsplit(summary->sections, "\n", -1);
    guint n_lines = g_strv_length(lines);
    FUZZ_CHECK(n_lines >= 2 && *lines[n_lines - 1] == '\0');
    FUZZ_CHECK(n_lines - 2 == parts);
    for (guint l = 0; l + 1 < n_lines; l++) {
        g_auto(GStrv) f = g_strsplit(lines[l], " ", -1);
        FUZZ_CHECK(g_strv_length(f) == 9);
        FUZZ_CHECK(l == 0 ? *f[0] == '\0' : *f[0] != '\0');
        for (guint r = 0; r < 4; r++) {
            gint64 start = g_ascii_strtoll(f[1 + 2 * r], NULL, 10);
            gint64 end = g_ascii_strtoll(f[2 + 2 * r], NULL, 10);
            PrSectionPart which = r == 0   ? PR_SECTION_MIME
                                  : r == 1 ? PR_SECTION_ALL
                                  : r == 2 ? PR_SECTION_HEADER
                                           : PR_SECTION_TEXT;
            gint64 offset = -2, length = -2;
            gboolean found =
                mime_summary_find_section(summary->sections, f[0], which, &offset, &length);
            if (start == -1) {
                FUZZ_CHECK(end == -1 && !found);
                FUZZ_CHECK(r != 1);
                continue;
            }
            FUZZ_CHECK(0 <= start && start <= end && end <= (gint64)size);
            FUZZ_CHECK(found && offset == start && length == end - start);
        }
    }
    return 0;
}
