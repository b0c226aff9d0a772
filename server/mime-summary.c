/* SPDX-License-Identifier: GPL-3.0-or-later */
/* ENVELOPE, BODY, BODYSTRUCTURE and the section table of a message
 * (RFC 3501 §7.4.2, §6.4.5).
 *
 * The structure (header ends, boundaries, part ranges) is found by a scan
 * of the bytes here rather than by GMime's object tree: IMAP needs the
 * exact octet ranges of every header block and body, also of multiparts
 * and header-less parts, which GMime's tree does not keep, and malformed
 * input must stay bounded (nesting depth capped, every level scanning only
 * its own range). GMime parses the structured header values
 * (Content-Type, Content-Disposition: quoting, RFC 2231 parameters).
 * ENVELOPE strings are the raw header values, unfolded and not decoded,
 * as IMAP clients expect; the address lists are split here for that
 * reason (GMime would decode the display names).
 *
 * Section table: one line per part, fields separated by one space:
 *   NUMBER MIME_START MIME_END CONTENT_START CONTENT_END
 *          HEADER_START HEADER_END TEXT_START TEXT_END
 * NUMBER is empty for the message itself (the line starts with a space);
 * -1 -1 where a range does not apply. */

#include "config.h"

#include "mime-summary.h"

#include <gmime/gmime.h>
#include <string.h>

/* Deeper multiparts and messages are summarised as text/plain. */
#define MAX_DEPTH 64
/* Longer strings go as literals: keeps quoted strings short for clients
 * with line length limits. */
#define MAX_QUOTED 1024

typedef struct {
    const guint8 *data;
    GString *bodystructure;
    GString *body;
    GString *sections;
} Summariser;

/* One header field: its name and raw value (after the colon, up to the
 * end of its last continuation line). */
typedef struct {
    gsize name;
    gsize name_len;
    gsize value;
    gsize value_end;
} Field;

static gpointer
init_gmime(gpointer unused)
{
    /* Never shut down: the store's worker threads summarise at any time,
     * and modules may use GMime too (g_mime_init() counts its callers). */
    g_mime_init();
    return NULL;
}

/* ---- Writing IMAP strings ---------------------------------------------- */

static void
write_nstring(GString *out, const char *s, gsize len)
{
    gboolean literal = len > MAX_QUOTED;

    if (s == NULL) {
        g_string_append(out, "NIL");
        return;
    }
    for (gsize i = 0; i < len && !literal; i++) {
        guchar c = s[i];
        literal = c == '\r' || c == '\n' || c >= 0x80;
    }
    if (literal) {
        /* A literal cannot carry NUL (CHAR8 is %x01-ff): NULs become
         * spaces, in quoted strings too. */
        g_string_append_printf(out, "{%" G_GSIZE_FORMAT "}\r\n", len);
        for (gsize i = 0; i < len; i++)
            g_string_append_c(out, s[i] == '\0' ? ' ' : s[i]);
        return;
    }
    g_string_append_c(out, '"');
    for (gsize i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\')
            g_string_append_c(out, '\\');
        g_string_append_c(out, s[i] == '\0' ? ' ' : s[i]);
    }
    g_string_append_c(out, '"');
}

static void
write_string(GString *out, const char *s)
{
    write_nstring(out, s, s != NULL ? strlen(s) : 0);
}

/* Both BODY and BODYSTRUCTURE get @text. */
static void
both(Summariser *sum, const char *text)
{
    g_string_append(sum->bodystructure, text);
    g_string_append(sum->body, text);
}

static void
both_string(Summariser *sum, const char *s)
{
    write_string(sum->bodystructure, s);
    write_string(sum->body, s);
}

/* ---- Header blocks ------------------------------------------------------ */

/* The end of the header block starting at @start: just after the empty
 * line that ends it, or @end when there is none. */
static gsize
header_end(const guint8 *p, gsize start, gsize end)
{
    gsize i = start;

    while (i < end) {
        if (p[i] == '\n')
            return i + 1;
        if (p[i] == '\r' && i + 1 < end && p[i + 1] == '\n')
            return i + 2;
        const guint8 *nl = memchr(p + i, '\n', end - i);
        if (nl == NULL)
            return end;
        i = nl - p + 1;
    }
    return end;
}

static gboolean
is_wsp(guchar c)
{
    return c == ' ' || c == '\t';
}

/* The fields of the header block [start, end). Lines that are not
 * "name: value" (no colon, space in the name) are skipped. */
static GArray *
fields_parse(const guint8 *p, gsize start, gsize end)
{
    GArray *fields = g_array_new(FALSE, FALSE, sizeof(Field));
    gsize i = start;

    while (i < end) {
        const guint8 *nl = memchr(p + i, '\n', end - i);
        gsize line_end = nl != NULL ? (gsize)(nl - p) + 1 : end;

        if (is_wsp(p[i]) || p[i] == '\r' || p[i] == '\n') {
            /* Continuation (of the previous field, or of nothing). */
            if (fields->len > 0)
                g_array_index(fields, Field, fields->len - 1).value_end = line_end;
            i = line_end;
            continue;
        }
        const guint8 *colon = memchr(p + i, ':', line_end - i);
        Field f = { .name = i, .value_end = line_end };
        if (colon != NULL) {
            f.name_len = colon - (p + i);
            while (f.name_len > 0 && is_wsp(p[i + f.name_len - 1]))
                f.name_len--;
            f.value = colon - p + 1;
            gboolean ok = f.name_len > 0;
            for (gsize k = 0; k < f.name_len && ok; k++)
                ok = p[i + k] > ' ' && p[i + k] < 0x7f;
            if (ok) {
                g_array_append_val(fields, f);
                i = line_end;
                continue;
            }
        }
        /* Not a field: its continuation lines are not one either. */
        f.name_len = 0;
        f.value = f.value_end;
        g_array_append_val(fields, f);
        i = line_end;
    }
    return fields;
}

/* The value of the first field named @name, unfolded (line ends before
 * white space removed), without leading and trailing white space, NULs
 * made spaces; NULL if there is no such field. */
static char *
field_value(const guint8 *p, GArray *fields, const char *name)
{
    gsize name_len = strlen(name);

    for (guint n = 0; n < fields->len; n++) {
        const Field *f = &g_array_index(fields, Field, n);
        if (f->name_len != name_len ||
            g_ascii_strncasecmp((const char *)p + f->name, name, name_len) != 0)
            continue;
        GString *v = g_string_sized_new(f->value_end - f->value);
        for (gsize i = f->value; i < f->value_end; i++) {
            if (p[i] == '\n')
                continue;
            if (p[i] == '\r' && (i + 1 == f->value_end || p[i + 1] == '\n'))
                continue;
            /* No NUL in IMAP strings, nor in C ones. */
            g_string_append_c(v, p[i] != '\0' ? p[i] : ' ');
        }
        gsize lead = 0;
        while (lead < v->len && is_wsp(v->str[lead]))
            lead++;
        g_string_erase(v, 0, lead);
        while (v->len > 0 && is_wsp(v->str[v->len - 1]))
            g_string_truncate(v, v->len - 1);
        return g_string_free(v, FALSE);
    }
    return NULL;
}

/* ---- Addresses (ENVELOPE) ----------------------------------------------- */

/* Copies [s, e) without comments and (if @unquote) quote characters; with
 * @unquote, backslash escapes in quoted strings are resolved. White space
 * runs become one space; leading and trailing white space goes. */
static char *
clean_token(const char *s, const char *e, gboolean unquote)
{
    GString *out = g_string_new(NULL);
    gboolean quoted = FALSE, space = FALSE;
    int comment = 0;

    for (; s < e; s++) {
        if (quoted) {
            if (*s == '\\' && s + 1 < e) {
                if (!unquote)
                    g_string_append_c(out, *s);
                s++;
            } else if (*s == '"') {
                quoted = FALSE;
                if (unquote)
                    continue;
            }
            g_string_append_c(out, *s);
            continue;
        }
        if (comment > 0) {
            if (*s == '\\' && s + 1 < e)
                s++;
            else if (*s == '(')
                comment++;
            else if (*s == ')')
                comment--;
            continue;
        }
        if (*s == '(') {
            comment = 1;
            continue;
        }
        if (is_wsp(*s) || *s == '\r' || *s == '\n') {
            space = out->len > 0;
            continue;
        }
        if (space)
            g_string_append_c(out, ' ');
        space = FALSE;
        if (*s == '"') {
            quoted = TRUE;
            if (unquote)
                continue;
        }
        g_string_append_c(out, *s);
    }
    return g_string_free(out, FALSE);
}

/* Where the next of @stops is in [s, e) outside quotes, comments and
 * (unless '<' is a stop) angle brackets; @e if none. */
static const char *
find_stop(const char *s, const char *e, const char *stops)
{
    gboolean quoted = FALSE;
    int comment = 0;

    for (; s < e; s++) {
        if (*s == '\\' && (quoted || comment > 0)) {
            if (s + 1 < e)
                s++;
        } else if (quoted) {
            quoted = *s != '"';
        } else if (comment > 0) {
            comment += *s == '(' ? 1 : *s == ')' ? -1 : 0;
        } else if (*s == '"') {
            quoted = TRUE;
        } else if (*s == '(') {
            comment = 1;
        } else if (strchr(stops, *s) != NULL) {
            return s;
        }
    }
    return e;
}

/* The text of the first comment in [s, e), NULL if none: the name of an
 * address written "user@host (Name)", as Dovecot reads it. */
static char *
first_comment(const char *s, const char *e)
{
    gboolean quoted = FALSE;

    for (; s < e; s++) {
        if (*s == '\\' && quoted)
            s++;
        else if (*s == '"')
            quoted = !quoted;
        else if (*s == '(' && !quoted)
            break;
    }
    if (s >= e)
        return NULL;
    const char *start = ++s;
    int depth = 1;
    for (; s < e; s++) {
        if (*s == '\\' && s + 1 < e)
            s++;
        else if (*s == '(')
            depth++;
        else if (*s == ')' && --depth == 0)
            break;
    }
    return clean_token(start, s, FALSE);
}

/* Writes one address: name, route, mailbox, host from an addr-spec
 * [s, e) (optionally "@route:addr-spec"). */
static void
write_address(GString *out, const char *name, const char *s, const char *e)
{
    g_autofree char *route = NULL;
    const char *colon = *s == '@' ? find_stop(s, e, ":") : e;

    if (colon < e) {
        route = clean_token(s, colon, FALSE);
        s = colon + 1;
    }
    g_autofree char *spec = clean_token(s, e, FALSE);
    /* The last @ outside quotes splits local part and domain. */
    const char *at = NULL;
    for (const char *q = spec, *end = spec + strlen(spec); (q = find_stop(q, end, "@")) < end; q++)
        at = q;

    g_string_append_c(out, '(');
    write_string(out, name != NULL && *name != '\0' ? name : NULL);
    g_string_append_c(out, ' ');
    write_string(out, route != NULL && *route != '\0' ? route : NULL);
    g_string_append_c(out, ' ');
    if (at != NULL) {
        write_nstring(out, spec, at - spec);
        g_string_append_c(out, ' ');
        write_string(out, at + 1);
    } else {
        /* NIL host means group syntax: a bare local part gets c-client's
         * placeholder, as Dovecot does too. */
        write_string(out, spec);
        g_string_append(out, " \".MISSING-HOST-NAME.\"");
    }
    g_string_append_c(out, ')');
}

/* Writes an address list in IMAP syntax ("((...)(...))" or NIL); FALSE if
 * it has no addresses (so the caller may default it). */
static gboolean
write_addresses(GString *out, const char *value)
{
    GString *list = g_string_new("(");
    const char *s = value != NULL ? value : "", *end = s + strlen(s);
    gboolean group = FALSE;

    while (s < end) {
        const char *stop = find_stop(s, end, ",;:<");
        if (*stop == ':' && !group) {
            g_autofree char *name = clean_token(s, stop, TRUE);
            g_string_append(list, "(NIL NIL ");
            write_string(list, name);
            g_string_append(list, " NIL)");
            group = TRUE;
            s = stop + 1;
            continue;
        }
        if (*stop == '<') {
            g_autofree char *name = clean_token(s, stop, TRUE);
            const char *close = memchr(stop, '>', end - stop);
            const char *spec_end = close != NULL ? close : end;
            write_address(list, name, stop + 1, spec_end);
            s = spec_end < end ? spec_end + 1 : end;
            /* Comments or junk up to the next separator are ignored. */
            stop = find_stop(s, end, ",;");
        } else if (stop > s) {
            g_autofree char *spec = clean_token(s, stop, FALSE);
            g_autofree char *comment = first_comment(s, stop);
            if (*spec != '\0')
                write_address(list, comment, s, stop);
        }
        if (stop < end && *stop == ';' && group) {
            g_string_append(list, "(NIL NIL NIL NIL)");
            group = FALSE;
        }
        s = stop < end ? stop + 1 : end;
    }
    if (group)
        g_string_append(list, "(NIL NIL NIL NIL)");
    gboolean any = list->len > 1;
    if (any) {
        g_string_append_c(list, ')');
        g_string_append_len(out, list->str, list->len);
    }
    g_string_free(list, TRUE);
    return any;
}

static void
write_envelope(GString *out, const guint8 *p, GArray *fields)
{
    static const char *const lists[] = { "From", "Sender", "Reply-To", "To", "Cc", "Bcc" };
    static const char *const strings[] = { "In-Reply-To", "Message-ID" };
    g_autofree char *date = field_value(p, fields, "Date");
    g_autofree char *subject = field_value(p, fields, "Subject");
    g_autofree char *from = field_value(p, fields, "From");

    g_string_append_c(out, '(');
    write_string(out, date);
    g_string_append_c(out, ' ');
    write_string(out, subject);
    for (guint i = 0; i < G_N_ELEMENTS(lists); i++) {
        g_autofree char *value = field_value(p, fields, lists[i]);
        g_string_append_c(out, ' ');
        if (write_addresses(out, value))
            continue;
        /* RFC 3501: Sender and Reply-To absent or empty are From. */
        if ((i == 1 || i == 2) && write_addresses(out, from))
            continue;
        g_string_append(out, "NIL");
    }
    for (guint i = 0; i < G_N_ELEMENTS(strings); i++) {
        g_autofree char *value = field_value(p, fields, strings[i]);
        g_string_append_c(out, ' ');
        write_string(out, value);
    }
    g_string_append_c(out, ')');
}

/* ---- BODYSTRUCTURE -------------------------------------------------------- */

/* @default_charset: a text part's parameters, which say charset
 * "us-ascii" when they do not name one (RFC 2045 §5.2; Dovecot too). */
/* @default_charset: a text part's parameters, which say charset
 * "us-ascii" when they do not name one (RFC 2045 §5.2; last, as Dovecot
 * puts it). */
static void
write_params(GString *out, GMimeParamList *params, gboolean default_charset)
{
    int n = params != NULL ? g_mime_param_list_length(params) : 0;
    gboolean add_charset =
        default_charset && (n == 0 || g_mime_param_list_get_parameter(params, "charset") == NULL);

    if (n == 0 && !add_charset) {
        g_string_append(out, "NIL");
        return;
    }
    g_string_append_c(out, '(');
    for (int i = 0; i < n; i++) {
        GMimeParam *param = g_mime_param_list_get_parameter_at(params, i);
        if (i > 0)
            g_string_append_c(out, ' ');
        write_string(out, g_mime_param_get_name(param));
        g_string_append_c(out, ' ');
        write_string(out, g_mime_param_get_value(param));
    }
    if (add_charset)
        g_string_append(out, n > 0 ? " \"charset\" \"us-ascii\"" : "\"charset\" \"us-ascii\"");
    g_string_append_c(out, ')');
}

/* The extension data both kinds of part end with: disposition, language,
 * location (BODYSTRUCTURE only). */
static void
write_extension_tail(GString *out, const guint8 *p, GArray *fields)
{
    g_autofree char *disposition = field_value(p, fields, "Content-Disposition");
    /* GMime's types have no autoptr cleanup: GObject's serves. */
    g_autoptr(GObject) disp_object =
        disposition != NULL ? G_OBJECT(g_mime_content_disposition_parse(NULL, disposition)) : NULL;
    GMimeContentDisposition *disp = (GMimeContentDisposition *)disp_object;
    const char *disp_name = disp != NULL ? g_mime_content_disposition_get_disposition(disp) : NULL;

    g_string_append_c(out, ' ');
    if (disp_name != NULL && *disp_name != '\0') {
        g_string_append_c(out, '(');
        write_string(out, disp_name);
        g_string_append_c(out, ' ');
        write_params(out, g_mime_content_disposition_get_parameters(disp), FALSE);
        g_string_append_c(out, ')');
    } else {
        g_string_append(out, "NIL");
    }

    g_autofree char *language = field_value(p, fields, "Content-Language");
    g_auto(GStrv) tags = NULL;
    if (language != NULL) {
        g_autofree char *clean = clean_token(language, language + strlen(language), TRUE);
        g_strdelimit(clean, " \t", ',');
        tags = g_strsplit(clean, ",", -1);
    }
    GPtrArray *nonempty = g_ptr_array_new();
    for (guint i = 0; tags != NULL && tags[i] != NULL; i++)
        if (*tags[i] != '\0')
            g_ptr_array_add(nonempty, tags[i]);
    g_string_append_c(out, ' ');
    if (nonempty->len == 0)
        g_string_append(out, "NIL");
    else if (nonempty->len == 1)
        write_string(out, nonempty->pdata[0]);
    else {
        g_string_append_c(out, '(');
        for (guint i = 0; i < nonempty->len; i++) {
            if (i > 0)
                g_string_append_c(out, ' ');
            write_string(out, nonempty->pdata[i]);
        }
        g_string_append_c(out, ')');
    }
    g_ptr_array_free(nonempty, TRUE);

    g_autofree char *location = field_value(p, fields, "Content-Location");
    g_string_append_c(out, ' ');
    write_string(out, location);
}

/* Lines as Dovecot counts them: line feeds (the line end before a
 * boundary belongs to the boundary). */
static gsize
count_lines(const guint8 *p, gsize start, gsize end)
{
    gsize lines = 0;

    for (gsize i = start; i < end;) {
        const guint8 *nl = memchr(p + i, '\n', end - i);
        if (nl == NULL)
            break;
        lines++;
        i = nl - p + 1;
    }
    return lines;
}

/* Whether the line at @i (up to @line_end, its content without the line
 * end) is "--boundary" or "--boundary--" with optional trailing space. */
static gboolean
is_delimiter(const guint8 *p, gsize i, gsize line_end, const char *boundary, gsize blen,
             gboolean *close)
{
    if (line_end - i < blen + 2 || p[i] != '-' || p[i + 1] != '-' ||
        memcmp(p + i + 2, boundary, blen) != 0)
        return FALSE;
    i += blen + 2;
    *close = line_end - i >= 2 && p[i] == '-' && p[i + 1] == '-';
    if (*close)
        i += 2;
    for (; i < line_end; i++)
        if (!is_wsp(p[i]))
            return FALSE;
    return TRUE;
}

static char *
join_number(const char *prefix, guint n)
{
    return *prefix != '\0' ? g_strdup_printf("%s.%u", prefix, n) : g_strdup_printf("%u", n);
}

static void
add_section(Summariser *sum, const char *number, gint64 mime_start, gint64 mime_end, gint64 start,
            gint64 end, gint64 header_start, gint64 header_end, gint64 text_start, gint64 text_end)
{
    g_string_append_printf(
        sum->sections,
        "%s %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT
        " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n",
        number, mime_start, mime_end, start, end, header_start, header_end, text_start, text_end);
}

/* Whether @value starts "type/subtype" (GMime makes anything else
 * application/octet-stream; RFC 2045 §5.2 recommends text/plain). */
static gboolean
content_type_valid(const char *value)
{
    const char *slash = strchr(value, '/');
    const char *semicolon = strchr(value, ';');

    if (slash == NULL || (semicolon != NULL && semicolon < slash))
        return FALSE;
    g_autofree char *type = clean_token(value, slash, FALSE);
    const char *sub = slash + 1;
    while (is_wsp(*sub))
        sub++;
    return *type != '\0' && *sub != '\0' && *sub != ';' && *sub != '(';
}

static void summarise_part(Summariser *sum, gsize mime_start, gsize start, gsize end, int depth,
                           const char *number, gboolean message_body, gboolean in_digest);

/* The children of the multipart whose body is [start, end). */
static void
summarise_children(Summariser *sum, gsize start, gsize end, int depth, const char *prefix,
                   const char *boundary, gboolean digest)
{
    const guint8 *p = sum->data;
    gsize blen = strlen(boundary);
    gsize part_start = 0;
    gboolean in_part = FALSE;
    guint count = 0;

    for (gsize i = start; i < end;) {
        const guint8 *nl = memchr(p + i, '\n', end - i);
        gsize next = nl != NULL ? (gsize)(nl - p) + 1 : end;
        gsize content_end = nl != NULL ? (gsize)(nl - p) : end;
        gboolean close;

        if (content_end > i && p[content_end - 1] == '\r')
            content_end--;
        if (!is_delimiter(p, i, content_end, boundary, blen, &close)) {
            i = next;
            continue;
        }
        if (in_part) {
            /* The line end before the delimiter belongs to it. */
            gsize part_end = i;
            if (part_end > part_start && p[part_end - 1] == '\n')
                part_end--;
            if (part_end > part_start && p[part_end - 1] == '\r')
                part_end--;
            g_autofree char *number = join_number(prefix, ++count);
            summarise_part(sum, part_start, header_end(p, part_start, part_end), part_end,
                           depth + 1, number, FALSE, digest);
        }
        if (close) {
            in_part = FALSE;
            break;
        }
        in_part = TRUE;
        part_start = next;
        i = next;
    }
    if (in_part) {
        /* No closing delimiter: the last part runs to the end. */
        g_autofree char *number = join_number(prefix, ++count);
        summarise_part(sum, part_start, header_end(p, part_start, end), end, depth + 1, number,
                       FALSE, digest);
    }
    if (count == 0) {
        /* A multipart needs a part (RFC 3501 body-type-mpart): an empty
         * text/plain one, at the end, as Dovecot does. */
        g_autofree char *number = join_number(prefix, 1);
        summarise_part(sum, end, end, end, MAX_DEPTH + 1, number, FALSE, FALSE);
    }
}

/* Summarises the part whose header block is [mime_start, start) and whose
 * content is [start, end): appends its BODY and BODYSTRUCTURE and its
 * sections. @number is its part number; for the body of a message
 * (@message_body) it is the message's number, and the part is then
 * NUMBER.1 unless it is a multipart (whose parts are NUMBER.1, ...). */
static void
summarise_part(Summariser *sum, gsize mime_start, gsize start, gsize end, int depth,
               const char *number, gboolean message_body, gboolean in_digest)
{
    const guint8 *p = sum->data;
    g_autoptr(GArray) fields = fields_parse(p, mime_start, start);
    g_autofree char *content_type = field_value(p, fields, "Content-Type");
    g_autoptr(GObject) ctype_object = NULL;
    GMimeContentType *ctype = NULL;
    gboolean too_deep = depth > MAX_DEPTH;

    if (content_type != NULL && !too_deep && content_type_valid(content_type))
        ctype = g_mime_content_type_parse(NULL, content_type);
    if (ctype != NULL && (g_mime_content_type_get_media_type(ctype) == NULL ||
                          g_mime_content_type_get_media_subtype(ctype) == NULL)) {
        g_object_unref(ctype);
        ctype = NULL;
    }
    if (ctype == NULL)
        ctype = g_mime_content_type_new(in_digest && !too_deep ? "message" : "text",
                                        in_digest && !too_deep ? "rfc822" : "plain");
    ctype_object = G_OBJECT(ctype);

    const char *type = g_mime_content_type_get_media_type(ctype);
    const char *subtype = g_mime_content_type_get_media_subtype(ctype);
    const char *boundary = g_mime_content_type_get_parameter(ctype, "boundary");
    gboolean multipart = g_ascii_strcasecmp(type, "multipart") == 0;
    gboolean message =
        g_ascii_strcasecmp(type, "message") == 0 && g_ascii_strcasecmp(subtype, "rfc822") == 0;

    if (multipart && (boundary == NULL || *boundary == '\0')) {
        /* Without a boundary there are no parts to find. */
        g_object_unref(ctype_object);
        ctype = g_mime_content_type_new("text", "plain");
        ctype_object = G_OBJECT(ctype);
        type = "text";
        subtype = "plain";
        multipart = FALSE;
    }

    if (multipart) {
        g_autofree char *own = message_body ? NULL : g_strdup(number);
        if (own != NULL)
            add_section(sum, own, mime_start, start, start, end, -1, -1, -1, -1);
        both(sum, "(");
        summarise_children(sum, start, end, depth, number, boundary,
                           g_ascii_strcasecmp(subtype, "digest") == 0);
        both(sum, " ");
        both_string(sum, subtype);
        g_string_append_c(sum->bodystructure, ' ');
        write_params(sum->bodystructure, g_mime_content_type_get_parameters(ctype), FALSE);
        write_extension_tail(sum->bodystructure, p, fields);
        both(sum, ")");
        return;
    }

    g_autofree char *own = message_body ? join_number(number, 1) : g_strdup(number);
    gsize inner_header_end = message ? header_end(p, start, end) : 0;
    if (message)
        add_section(sum, own, mime_start, start, start, end, start, inner_header_end,
                    inner_header_end, end);
    else
        add_section(sum, own, mime_start, start, start, end, -1, -1, -1, -1);

    both(sum, "(");
    both_string(sum, type);
    both(sum, " ");
    both_string(sum, subtype);
    both(sum, " ");
    gboolean text = g_ascii_strcasecmp(type, "text") == 0;
    write_params(sum->bodystructure, g_mime_content_type_get_parameters(ctype), text);
    write_params(sum->body, g_mime_content_type_get_parameters(ctype), text);
    static const char *const basic[] = { "Content-ID", "Content-Description",
                                         "Content-Transfer-Encoding" };
    for (guint i = 0; i < G_N_ELEMENTS(basic); i++) {
        g_autofree char *value = field_value(p, fields, basic[i]);
        if (value == NULL && i == 2)
            value = g_strdup("7bit");
        both(sum, " ");
        both_string(sum, value);
    }
    g_autofree char *size = g_strdup_printf(" %" G_GSIZE_FORMAT, end - start);
    both(sum, size);

    if (message) {
        g_autoptr(GArray) inner = fields_parse(p, start, inner_header_end);
        both(sum, " ");
        write_envelope(sum->bodystructure, p, inner);
        write_envelope(sum->body, p, inner);
        both(sum, " ");
        summarise_part(sum, start, inner_header_end, end, depth + 1, own, TRUE, FALSE);
    }
    if (message || text) {
        g_autofree char *lines = g_strdup_printf(" %" G_GSIZE_FORMAT, count_lines(p, start, end));
        both(sum, lines);
    }

    g_autofree char *md5 = field_value(p, fields, "Content-MD5");
    g_string_append_c(sum->bodystructure, ' ');
    write_string(sum->bodystructure, md5);
    write_extension_tail(sum->bodystructure, p, fields);
    both(sum, ")");
}

MimeSummary *
mime_summary_build(const guint8 *data, gsize len)
{
    static GOnce once = G_ONCE_INIT;
    Summariser sum = { .data = data };
    MimeSummary *summary = g_new0(MimeSummary, 1);

    g_once(&once, init_gmime, NULL);
    if (data == NULL)
        sum.data = data = (const guint8 *)"";
    sum.bodystructure = g_string_new(NULL);
    sum.body = g_string_new(NULL);
    sum.sections = g_string_new(NULL);

    gsize hend = header_end(data, 0, len);
    g_autoptr(GArray) fields = fields_parse(data, 0, hend);
    GString *envelope = g_string_new(NULL);
    write_envelope(envelope, data, fields);

    add_section(&sum, "", -1, -1, 0, len, 0, hend, hend, len);
    summarise_part(&sum, 0, hend, len, 1, "", TRUE, FALSE);

    summary->envelope = g_string_free(envelope, FALSE);
    summary->bodystructure = g_string_free(sum.bodystructure, FALSE);
    summary->body = g_string_free(sum.body, FALSE);
    summary->sections = g_string_free(sum.sections, FALSE);
    return summary;
}

void
mime_summary_free(MimeSummary *summary)
{
    if (summary == NULL)
        return;
    g_free(summary->envelope);
    g_free(summary->bodystructure);
    g_free(summary->body);
    g_free(summary->sections);
    g_free(summary);
}

gboolean
mime_summary_find_section(const char *sections, const char *part, PrSectionPart which,
                          gint64 *offset, gint64 *length)
{
    gsize part_len = strlen(part);

    for (const char *line = sections; line != NULL && *line != '\0';) {
        const char *eol = strchr(line, '\n');
        const char *next = eol != NULL ? eol + 1 : line + strlen(line);

        if (strncmp(line, part, part_len) != 0 || line[part_len] != ' ') {
            line = next;
            continue;
        }
        gint64 v[8];
        const char *s = line + part_len;
        for (int i = 0; i < 8; i++) {
            char *end;
            v[i] = g_ascii_strtoll(s, &end, 10);
            if (end == s)
                return FALSE;
            s = end;
        }
        int pair = which == PR_SECTION_MIME     ? 0
                   : which == PR_SECTION_HEADER ? 2
                   : which == PR_SECTION_TEXT   ? 3
                                                : 1;
        gint64 start = v[pair * 2], end = v[pair * 2 + 1];
        if (start < 0 || end < start)
            return FALSE;
        *offset = start;
        *length = end - start;
        return TRUE;
    }
    return FALSE;
}
