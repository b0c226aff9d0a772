/* SPDX-License-Identifier: GPL-3.0-or-later */

/* IMAP command syntax: gathering a command's lines and literals, then
 * reading it into arguments. See imap-parse.h. */

#include "postroom-config.h"

#include <string.h>

#include "imap-parse.h"

/* ---- gathering ---- */

void
imap_command_buffer_init(ImapCommandBuffer *buf, gsize limit)
{
    buf->data = g_byte_array_new();
    buf->limit = limit;
    buf->literal_left = 0;
    buf->in_literal = FALSE;
}

void
imap_command_buffer_clear(ImapCommandBuffer *buf)
{
    g_clear_pointer(&buf->data, g_byte_array_unref);
}

void
imap_command_buffer_reset(ImapCommandBuffer *buf)
{
    /* A long command does not keep its memory for the rest of the session:
     * idle sessions must stay small. */
    if (buf->data->len > IMAP_COMMAND_KEEP) {
        g_byte_array_unref(buf->data);
        buf->data = g_byte_array_new();
    } else {
        g_byte_array_set_size(buf->data, 0);
    }
    buf->literal_left = 0;
    buf->in_literal = FALSE;
}

gboolean
imap_literal_announcement(const char *line, gsize len, guint64 *size, gboolean *synchronizing,
                          gboolean *bad)
{
    gsize end, start;
    guint64 n = 0;

    *bad = FALSE;
    if (len < 3 || line[len - 1] != '}')
        return FALSE;
    end = len - 1;
    *synchronizing = TRUE;
    if (line[end - 1] == '+') {
        *synchronizing = FALSE;
        end--;
    }
    start = end;
    while (start > 0 && g_ascii_isdigit(line[start - 1]))
        start--;
    if (start == 0 || line[start - 1] != '{')
        return FALSE;
    /* "{}" or a number of more than 19 digits: meant as a literal, unreadable. */
    if (start == end || end - start > 19) {
        *bad = TRUE;
        return TRUE;
    }
    for (gsize i = start; i < end; i++)
        n = n * 10 + (guint64)(line[i] - '0');
    *size = n;
    return TRUE;
}

ImapGatherResult
imap_command_buffer_add_line(ImapCommandBuffer *buf, const char *line, gsize len,
                             guint64 *literal_size, gboolean *synchronizing)
{
    gboolean bad = FALSE;
    gboolean literal = imap_literal_announcement(line, len, literal_size, synchronizing, &bad);

    g_return_val_if_fail(!buf->in_literal, IMAP_GATHER_BAD_LENGTH);
    if (literal && bad)
        return IMAP_GATHER_BAD_LENGTH;
    if (buf->data->len + len + 2 > buf->limit ||
        (literal && *literal_size > buf->limit - buf->data->len - len - 2))
        return IMAP_GATHER_TOO_LONG;
    g_byte_array_append(buf->data, (const guint8 *)line, (guint)len);
    if (!literal)
        return IMAP_GATHER_COMPLETE;
    g_byte_array_append(buf->data, (const guint8 *)"\r\n", 2);
    buf->literal_left = *literal_size;
    buf->in_literal = TRUE;
    return IMAP_GATHER_LITERAL;
}

gsize
imap_command_buffer_add_literal(ImapCommandBuffer *buf, const guint8 *data, gsize len)
{
    gsize take = (gsize)MIN((guint64)len, (guint64)buf->literal_left);

    g_return_val_if_fail(buf->in_literal, 0);
    g_byte_array_append(buf->data, data, (guint)take);
    buf->literal_left -= take;
    if (buf->literal_left == 0)
        buf->in_literal = FALSE;
    return take;
}

/* ---- reading arguments ---- */

typedef struct {
    const char *p, *end;
    const char *error;
    guint args;
} Reader;

static void
arg_free(gpointer p)
{
    ImapArg *arg = p;

    if (arg == NULL)
        return;
    g_free(arg->str);
    if (arg->list != NULL)
        g_ptr_array_unref(arg->list);
    g_free(arg);
}

void
imap_command_free(ImapCommand *cmd)
{
    if (cmd == NULL)
        return;
    g_free(cmd->tag);
    g_free(cmd->name);
    if (cmd->args != NULL)
        g_ptr_array_unref(cmd->args);
    g_free(cmd);
}

static gboolean
fail(Reader *r, const char *why)
{
    if (r->error == NULL)
        r->error = why;
    return FALSE;
}

/* ATOM-CHAR less what arguments may still use: list wildcards (LIST
 * patterns), "]" (resp-specials, allowed inside a section) and "\" (flags)
 * are taken by the callers that need them. */
static gboolean
is_atom_char(guchar c)
{
    return c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != '{' && c != '"' && c != '\\' &&
           c != ']';
}

/* The tag: ATOM-CHARs but "+" (RFC 3501 "tag"). */
static char *
read_tag(Reader *r)
{
    const char *start = r->p;

    while (r->p < r->end && is_atom_char((guchar)*r->p) && *r->p != '+' && *r->p != '%' &&
           *r->p != '*')
        r->p++;
    if (r->p == start) {
        fail(r, "Missing or invalid tag");
        return NULL;
    }
    return g_strndup(start, (gsize)(r->p - start));
}

/* An atom, a flag ("\Seen", "\*") or a fetch item whose section may hold
 * spaces and lists: BODY[HEADER.FIELDS (FROM TO)]<0.100>. */
static ImapArg *
read_atom(Reader *r)
{
    const char *start = r->p;

    if (r->p < r->end && *r->p == '\\') {
        r->p++;
        if (r->p < r->end && *r->p == '*') {
            r->p++;
            goto done;
        }
    }
    while (r->p < r->end) {
        guchar c = (guchar)*r->p;

        if (c == '[') {
            /* A section: up to the matching "]", on one line. */
            guint depth = 0;

            for (r->p++; r->p < r->end && *r->p != ']'; r->p++) {
                c = (guchar)*r->p;
                if (c == '[' || c < 0x20 || c >= 0x7f || c == '{') {
                    fail(r, "Invalid character in a section");
                    return NULL;
                }
                if (c == '(' && ++depth > IMAP_MAX_LIST_DEPTH) {
                    fail(r, "Section nested too deeply");
                    return NULL;
                }
            }
            if (r->p == r->end) {
                fail(r, "Missing ] in a section");
                return NULL;
            }
            r->p++;
            continue;
        }
        if (!is_atom_char(c))
            break;
        r->p++;
    }
done:
    if (r->p == start || (r->p == start + 1 && *start == '\\')) {
        fail(r, "Invalid argument");
        return NULL;
    }
    ImapArg *arg = g_new0(ImapArg, 1);
    arg->len = (gsize)(r->p - start);
    arg->str = g_strndup(start, arg->len);
    arg->type = g_ascii_strcasecmp(arg->str, "NIL") == 0 ? IMAP_ARG_NIL : IMAP_ARG_ATOM;
    if (arg->type == IMAP_ARG_NIL)
        g_clear_pointer(&arg->str, g_free);
    return arg;
}

/* "..." with \" and \\ (RFC 3501 "quoted"); 8-bit text is let through for
 * UTF-8 search strings and mailbox names (RFC 6855 style clients). */
static ImapArg *
read_quoted(Reader *r)
{
    GString *s = g_string_new(NULL);

    for (r->p++; r->p < r->end && *r->p != '"'; r->p++) {
        guchar c = (guchar)*r->p;

        if (c == '\\') {
            r->p++;
            if (r->p == r->end || (*r->p != '"' && *r->p != '\\')) {
                g_string_free(s, TRUE);
                fail(r, "Invalid escape in a quoted string");
                return NULL;
            }
            c = (guchar)*r->p;
        } else if (c == '\r' || c == '\n' || c == '\0') {
            g_string_free(s, TRUE);
            fail(r, "Invalid character in a quoted string");
            return NULL;
        }
        g_string_append_c(s, (char)c);
    }
    if (r->p == r->end) {
        g_string_free(s, TRUE);
        fail(r, "Missing closing quote");
        return NULL;
    }
    r->p++;
    ImapArg *arg = g_new0(ImapArg, 1);
    arg->type = IMAP_ARG_QUOTED;
    arg->len = s->len;
    arg->str = g_string_free(s, FALSE);
    return arg;
}

/* {N}CRLF and N bytes (the gathering put them there). */
static ImapArg *
read_literal(Reader *r)
{
    const char *start = ++r->p;
    guint64 n = 0;

    while (r->p < r->end && g_ascii_isdigit(*r->p) && r->p - start < 19)
        n = n * 10 + (guint64)(*r->p++ - '0');
    if (r->p == start) {
        fail(r, "Invalid literal length");
        return NULL;
    }
    if (r->p < r->end && *r->p == '+')
        r->p++;
    if (r->end - r->p < 3 || r->p[0] != '}' || r->p[1] != '\r' || r->p[2] != '\n') {
        fail(r, "Invalid literal");
        return NULL;
    }
    r->p += 3;
    if ((guint64)(r->end - r->p) < n) {
        fail(r, "Literal shorter than announced");
        return NULL;
    }
    if (memchr(r->p, '\0', (gsize)n) != NULL) {
        fail(r, "NUL in a literal");
        return NULL;
    }
    ImapArg *arg = g_new0(ImapArg, 1);
    arg->type = IMAP_ARG_LITERAL;
    arg->len = (gsize)n;
    arg->str = g_strndup(r->p, arg->len);
    r->p += n;
    return arg;
}

static ImapArg *read_arg(Reader *r, guint depth);

/* Arguments separated by single spaces up to @close (')' in a list, the
 * end of the command at the top). */
static gboolean
read_args(Reader *r, GPtrArray *into, guint depth, gboolean in_list)
{
    gboolean first = TRUE;

    for (;;) {
        if (r->p == r->end) {
            if (in_list)
                return fail(r, "Missing )");
            return TRUE;
        }
        if (in_list && *r->p == ')') {
            r->p++;
            return TRUE;
        }
        if (!first) {
            if (*r->p != ' ')
                return fail(r, "Missing space between arguments");
            r->p++;
            if (r->p == r->end || *r->p == ' ')
                return fail(r, "Extra space");
        }
        first = FALSE;
        if (in_list && *r->p == ')')
            return fail(r, "Extra space before )");
        ImapArg *arg = read_arg(r, depth);
        if (arg == NULL)
            return FALSE;
        g_ptr_array_add(into, arg);
    }
}

static ImapArg *
read_arg(Reader *r, guint depth)
{
    if (++r->args > IMAP_MAX_ARGS) {
        fail(r, "Too many arguments");
        return NULL;
    }
    switch (*r->p) {
    case '"':
        return read_quoted(r);
    case '{':
        return read_literal(r);
    case '(': {
        if (depth >= IMAP_MAX_LIST_DEPTH) {
            fail(r, "Lists nested too deeply");
            return NULL;
        }
        r->p++;
        ImapArg *arg = g_new0(ImapArg, 1);
        arg->type = IMAP_ARG_LIST;
        arg->list = g_ptr_array_new_with_free_func(arg_free);
        if (!read_args(r, arg->list, depth + 1, TRUE)) {
            arg_free(arg);
            return NULL;
        }
        return arg;
    }
    case ')':
        fail(r, "Unexpected )");
        return NULL;
    default:
        return read_atom(r);
    }
}

/* The command name: letters, and for UID commands the one after it. */
static char *
read_name(Reader *r)
{
    const char *start = r->p;

    while (r->p < r->end && (g_ascii_isalnum(*r->p) || *r->p == '-' || *r->p == '_'))
        r->p++;
    if (r->p == start || (r->p < r->end && *r->p != ' ')) {
        fail(r, "Missing or invalid command name");
        return NULL;
    }
    return g_ascii_strup(start, r->p - start);
}

ImapCommand *
imap_parse_command(const char *data, gsize len, char **tag_out, char **error_text)
{
    /* An empty buffer may have no memory at all. */
    const char *text = len > 0 ? data : "";
    Reader r = { .p = text, .end = text + len };
    g_autoptr(ImapCommand) cmd = g_new0(ImapCommand, 1);

    *tag_out = NULL;
    *error_text = NULL;
    cmd->tag = read_tag(&r);
    if (cmd->tag == NULL || r.p == r.end || *r.p != ' ') {
        /* Without a tag and its space the line cannot be answered by tag. */
        *error_text = g_strdup(r.error != NULL ? r.error : "Missing command");
        return NULL;
    }
    *tag_out = g_strdup(cmd->tag);
    r.p++;
    cmd->name = read_name(&r);
    if (cmd->name != NULL && strcmp(cmd->name, "UID") == 0) {
        g_autofree char *sub = NULL;

        if (r.p == r.end) {
            fail(&r, "UID needs a command");
            g_clear_pointer(&cmd->name, g_free);
        } else {
            r.p++;
            sub = read_name(&r);
            if (sub != NULL) {
                g_free(cmd->name);
                cmd->name = g_strconcat("UID ", sub, NULL);
            } else {
                g_clear_pointer(&cmd->name, g_free);
            }
        }
    }
    if (cmd->name == NULL) {
        *error_text = g_strdup(r.error != NULL ? r.error : "Missing command name");
        return NULL;
    }
    cmd->args = g_ptr_array_new_with_free_func(arg_free);
    if (r.p < r.end) {
        r.p++; /* the space after the name */
        if (r.p == r.end || !read_args(&r, cmd->args, 0, FALSE)) {
            *error_text = g_strdup(r.error != NULL ? r.error : "Missing argument");
            return NULL;
        }
    }
    return g_steal_pointer(&cmd);
}

/* ---- argument helpers ---- */

const char *
imap_arg_astring(const ImapArg *arg)
{
    if (arg == NULL)
        return NULL;
    switch (arg->type) {
    case IMAP_ARG_ATOM:
    case IMAP_ARG_QUOTED:
    case IMAP_ARG_LITERAL:
        return arg->str;
    case IMAP_ARG_NIL:
        return "NIL"; /* an astring may be the atom NIL, e.g. a mailbox */
    case IMAP_ARG_LIST:
        break;
    }
    return NULL;
}

const char *
imap_arg_nstring(const ImapArg *arg, gboolean *is_nil)
{
    *is_nil = arg != NULL && arg->type == IMAP_ARG_NIL;
    if (*is_nil)
        return "";
    if (arg == NULL || (arg->type != IMAP_ARG_QUOTED && arg->type != IMAP_ARG_LITERAL))
        return NULL;
    return arg->str;
}

const char *
imap_arg_atom(const ImapArg *arg)
{
    return arg != NULL && arg->type == IMAP_ARG_ATOM ? arg->str : NULL;
}

gboolean
imap_arg_number(const ImapArg *arg, guint32 *value)
{
    const char *s = imap_arg_atom(arg);
    guint64 n = 0;

    if (s == NULL || *s == '\0' || strlen(s) > 10)
        return FALSE;
    for (; *s != '\0'; s++) {
        if (!g_ascii_isdigit(*s))
            return FALSE;
        n = n * 10 + (guint64)(*s - '0');
    }
    if (n > G_MAXUINT32)
        return FALSE;
    *value = (guint32)n;
    return TRUE;
}
