/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Arguments of MAIL, RCPT, EHLO and BDAT: paths (RFC 5321 §4.1.2, with
 * RFC 6531's UTF-8), and the ESMTP parameters of SIZE (RFC 1870), BODY
 * (RFC 6152), SMTPUTF8 (RFC 6531), DSN (RFC 3461), AUTH (RFC 4954 §5) and
 * CHUNKING (RFC 3030). Pure functions over text, so every rule can be
 * tested without a connection. */

#include "postroom-config.h"

#include <string.h>

#include "smtp.h"

void
smtp_path_clear(SmtpPath *path)
{
    g_clear_pointer(&path->address, g_free);
    g_clear_pointer(&path->ret, g_free);
    g_clear_pointer(&path->envid, g_free);
    g_clear_pointer(&path->notify, g_free);
    g_clear_pointer(&path->orcpt, g_free);
    g_clear_pointer(&path->error, g_free);
    memset(path, 0, sizeof(*path));
}

void
smtp_path_free(SmtpPath *path)
{
    if (path == NULL)
        return;
    smtp_path_clear(path);
    g_free(path);
}

static SmtpParseStatus
fail(SmtpPath *path, SmtpParseStatus status, const char *error)
{
    g_free(path->error);
    path->error = g_strdup(error);
    return status;
}

/* RFC 5322 atext, plus UTF-8 octets (RFC 6531 §3.3), which the caller
 * accepts only with SMTPUTF8. */
static gboolean
is_atext(guchar c)
{
    return g_ascii_isalnum(c) || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL || c >= 0x80;
}

/* RFC 3461 §4: xtext. */
gboolean
smtp_xtext_valid(const char *text, gsize max)
{
    gsize len = strlen(text);

    if (len == 0 || len > max)
        return FALSE;
    for (gsize i = 0; i < len; i++) {
        guchar c = text[i];
        if (c == '+') {
            if (i + 2 >= len)
                return FALSE;
            if (!g_ascii_isxdigit(text[i + 1]) || !g_ascii_isxdigit(text[i + 2]) ||
                g_ascii_islower(text[i + 1]) || g_ascii_islower(text[i + 2]))
                return FALSE;
            i += 2;
        } else if (c < '!' || c > '~' || c == '=') {
            return FALSE;
        }
    }
    return TRUE;
}

/* The domain of an address: dot-separated labels or an address literal. */
static gboolean
valid_domain(const char *domain)
{
    gsize len = strlen(domain);

    if (len == 0 || len > 255)
        return FALSE;
    if (domain[0] == '[') {
        /* RFC 5321 §4.1.3: the router decides whether it is ours. Its
         * dcontent would allow '"', '<' and '>' too, but no literal in use
         * has them, and an address with them could not be written back
         * between brackets and read the same (by us or the next hop). */
        if (domain[len - 1] != ']' || len < 3)
            return FALSE;
        for (gsize i = 1; i + 1 < len; i++) {
            guchar c = domain[i];
            if (c < '!' || c > '~' || strchr("[]\\\"<>", c) != NULL)
                return FALSE;
        }
        return TRUE;
    }
    if (domain[0] == '.' || domain[len - 1] == '.' || strstr(domain, "..") != NULL)
        return FALSE;
    for (gsize i = 0; i < len; i++) {
        guchar c = domain[i];
        /* Underscores are not in RFC 5321's grammar but common in real
         * host names; refusing them would bounce real mail. */
        if (!g_ascii_isalnum(c) && c != '-' && c != '.' && c != '_' && c < 0x80)
            return FALSE;
    }
    return TRUE;
}

/* local-part = dot-string / quoted-string (RFC 5321 §4.1.2). */
static gboolean
valid_local_part(const char *local, gsize len)
{
    if (len == 0)
        return FALSE;
    if (local[0] == '"') {
        if (len < 2 || local[len - 1] != '"')
            return FALSE;
        for (gsize i = 1; i + 1 < len; i++) {
            guchar c = local[i];
            if (c == '\\') {
                i++;
                if (i + 1 >= len || (guchar)local[i] < ' ' || (guchar)local[i] == 0x7f)
                    return FALSE;
            } else if (c == '"' || c < ' ' || c == 0x7f) {
                return FALSE;
            }
        }
        return TRUE;
    }
    if (local[0] == '.' || local[len - 1] == '.')
        return FALSE;
    for (gsize i = 0; i < len; i++) {
        if (local[i] == '.' ? local[i + 1] == '.' : !is_atext(local[i]))
            return FALSE;
    }
    return TRUE;
}

/* Finds the '@' that separates local part and domain: the last one
 * outside a quoted local part. */
static const char *
find_at(const char *address)
{
    gboolean quoted = FALSE;
    const char *at = NULL;

    for (const char *p = address; *p != '\0'; p++) {
        if (quoted && *p == '\\' && p[1] != '\0')
            p++;
        else if (*p == '"')
            quoted = !quoted;
        else if (!quoted && *p == '@')
            at = p;
    }
    return at;
}

gboolean
smtp_non_ascii(const char *text)
{
    for (const guchar *p = (const guchar *)text; *p != '\0'; p++) {
        if (*p >= 0x80)
            return TRUE;
    }
    return FALSE;
}

/* Splits "FROM:<path> params" after the keyword. On success *path_out is
 * the text between the brackets and *rest the parameters. */
static SmtpParseStatus
split_path(const char *args, const char *keyword, SmtpPath *path, char **path_out,
           const char **rest)
{
    gsize klen = strlen(keyword);
    const char *p;
    gboolean quoted = FALSE;
    const char *start;

    if (g_ascii_strncasecmp(args, keyword, klen) != 0)
        return fail(path, SMTP_PARSE_SYNTAX, "Syntax error");
    p = args + klen;
    /* RFC 5321 has no space after the colon, but many clients send one. */
    while (*p == ' ')
        p++;
    if (*p != '<') {
        /* Nor brackets: seen from old scripts. Take the word. */
        const char *end = strchr(p, ' ');
        gsize len = end != NULL ? (gsize)(end - p) : strlen(p);
        if (len == 0)
            return fail(path, SMTP_PARSE_SYNTAX, "Syntax error: address expected");
        *path_out = g_strndup(p, len);
        *rest = p + len;
        return SMTP_PARSE_OK;
    }
    start = ++p;
    for (; *p != '\0'; p++) {
        if (quoted && *p == '\\' && p[1] != '\0')
            p++;
        else if (*p == '"')
            quoted = !quoted;
        else if (!quoted && *p == '>')
            break;
    }
    if (*p != '>')
        return fail(path, SMTP_PARSE_SYNTAX, "Syntax error: missing '>'");
    if (p[1] != '\0' && p[1] != ' ')
        return fail(path, SMTP_PARSE_SYNTAX, "Syntax error after '>'");
    *path_out = g_strndup(start, p - start);
    *rest = p + 1;
    return SMTP_PARSE_OK;
}

/* Checks the text between the brackets; sets path->address. */
static SmtpParseStatus
check_address(SmtpPath *path, const char *text, gboolean null_allowed)
{
    const char *address = text;
    const char *at;

    if (strlen(text) + 2 > SMTP_MAX_PATH)
        return fail(path, SMTP_PARSE_TOO_LONG, "Address too long");
    if (!g_utf8_validate(text, -1, NULL))
        return fail(path, SMTP_PARSE_BAD_ADDRESS, "Invalid UTF-8 in address");
    /* RFC 5321 §4.1.1.3 / appendix C: accept and ignore a source route. */
    if (address[0] == '@') {
        const char *colon = strchr(address, ':');
        if (colon == NULL)
            return fail(path, SMTP_PARSE_BAD_ADDRESS, "Bad source route");
        address = colon + 1;
    }
    if (*address == '\0') {
        if (!null_allowed || address != text)
            return fail(path, SMTP_PARSE_BAD_ADDRESS, "Null address not allowed here");
        path->address = g_strdup("");
        return SMTP_PARSE_OK;
    }
    at = find_at(address);
    if (at == NULL) {
        /* RFC 5321 §4.1.1.3: <Postmaster> without a domain must work. */
        if (!null_allowed && g_ascii_strcasecmp(address, "postmaster") == 0) {
            path->address = g_strdup(address);
            return SMTP_PARSE_OK;
        }
        return fail(path, SMTP_PARSE_BAD_ADDRESS, "Address must be user@domain");
    }
    if (!valid_local_part(address, at - address) || !valid_domain(at + 1))
        return fail(path, SMTP_PARSE_BAD_ADDRESS, "Bad address syntax");
    path->address = g_strdup(address);
    return SMTP_PARSE_OK;
}

typedef gboolean (*ParamFunc)(SmtpPath *path, const char *value, SmtpParseStatus *status);

static gboolean
param_size(SmtpPath *path, const char *value, SmtpParseStatus *status)
{
    guint64 n = 0;

    /* RFC 1870 §6: up to 20 digits; we keep it within gint64. */
    if (value == NULL || strlen(value) > 18 || strspn(value, "0123456789") != strlen(value) ||
        !g_ascii_string_to_unsigned(value, 10, 0, G_MAXINT64, &n, NULL))
        return FALSE;
    path->has_size = TRUE;
    path->size = (gint64)n;
    return TRUE;
}

static gboolean
param_body(SmtpPath *path, const char *value, SmtpParseStatus *status)
{
    if (value == NULL)
        return FALSE;
    if (g_ascii_strcasecmp(value, "7BIT") == 0) {
        path->body = SMTP_BODY_7BIT;
    } else if (g_ascii_strcasecmp(value, "8BITMIME") == 0) {
        path->body = SMTP_BODY_8BITMIME;
    } else {
        /* BINARYMIME (RFC 3030 §3) is not advertised. */
        *status = fail(path, SMTP_PARSE_UNKNOWN, "Unsupported BODY type");
        return FALSE;
    }
    return TRUE;
}

static gboolean
param_smtputf8(SmtpPath *path, const char *value, SmtpParseStatus *status)
{
    if (value != NULL)
        return FALSE;
    path->smtputf8 = TRUE;
    return TRUE;
}

static gboolean
param_ret(SmtpPath *path, const char *value, SmtpParseStatus *status)
{
    if (value == NULL ||
        (g_ascii_strcasecmp(value, "FULL") != 0 && g_ascii_strcasecmp(value, "HDRS") != 0))
        return FALSE;
    path->ret = g_ascii_strup(value, -1);
    return TRUE;
}

static gboolean
param_envid(SmtpPath *path, const char *value, SmtpParseStatus *status)
{
    if (value == NULL || !smtp_xtext_valid(value, SMTP_MAX_ENVID))
        return FALSE;
    path->envid = g_strdup(value);
    return TRUE;
}

static gboolean
param_auth(SmtpPath *path, const char *value, SmtpParseStatus *status)
{
    /* RFC 4954 §5: accepted and not trusted; the session's own AUTH is
     * what counts. */
    return value != NULL && (strcmp(value, "<>") == 0 || smtp_xtext_valid(value, 500));
}

static gboolean
param_notify(SmtpPath *path, const char *value, SmtpParseStatus *status)
{
    g_auto(GStrv) items = NULL;
    guint seen = 0;

    if (value == NULL || *value == '\0')
        return FALSE;
    items = g_strsplit(value, ",", -1);
    for (int i = 0; items[i] != NULL; i++) {
        static const char *const names[] = { "NEVER", "SUCCESS", "FAILURE", "DELAY" };
        guint bit = 0;
        for (guint n = 0; n < G_N_ELEMENTS(names); n++) {
            if (g_ascii_strcasecmp(items[i], names[n]) == 0)
                bit = 1u << n;
        }
        if (bit == 0 || (seen & bit) != 0)
            return FALSE;
        seen |= bit;
    }
    /* RFC 3461 §4.1: NEVER stands alone. */
    if ((seen & 1) != 0 && seen != 1)
        return FALSE;
    path->notify = g_ascii_strup(value, -1);
    return TRUE;
}

static gboolean
param_orcpt(SmtpPath *path, const char *value, SmtpParseStatus *status)
{
    const char *semi;

    if (value == NULL || strlen(value) > SMTP_MAX_ORCPT)
        return FALSE;
    /* addr-type ";" xtext (RFC 3461 §4.2); addr-type is an atom. */
    semi = strchr(value, ';');
    if (semi == NULL || semi == value)
        return FALSE;
    for (const char *p = value; p < semi; p++) {
        if (!g_ascii_isalnum(*p) && *p != '-')
            return FALSE;
    }
    if (!smtp_xtext_valid(semi + 1, SMTP_MAX_ORCPT))
        return FALSE;
    path->orcpt = g_strdup(value);
    return TRUE;
}

typedef struct {
    const char *name;
    ParamFunc func;
} Param;

static const Param mail_params[] = {
    { "SIZE", param_size }, { "BODY", param_body },   { "SMTPUTF8", param_smtputf8 },
    { "RET", param_ret },   { "ENVID", param_envid }, { "AUTH", param_auth },
};

static const Param rcpt_params[] = {
    { "NOTIFY", param_notify },
    { "ORCPT", param_orcpt },
};

static SmtpParseStatus
parse_params(const char *rest, const Param *table, gsize n_table, SmtpPath *path)
{
    g_auto(GStrv) words = g_strsplit(rest, " ", -1);
    guint seen = 0;

    for (int i = 0; words[i] != NULL; i++) {
        char *word = words[i];
        char *eq;
        const Param *param = NULL;
        guint index = 0;
        SmtpParseStatus status = SMTP_PARSE_SYNTAX;

        if (*word == '\0')
            continue;
        eq = strchr(word, '=');
        if (eq != NULL)
            *eq = '\0';
        for (gsize t = 0; t < n_table; t++) {
            if (g_ascii_strcasecmp(word, table[t].name) == 0) {
                param = &table[t];
                index = t;
            }
        }
        if (param == NULL)
            return fail(path, SMTP_PARSE_UNKNOWN, "Unsupported parameter");
        if ((seen & (1u << index)) != 0)
            return fail(path, SMTP_PARSE_SYNTAX, "Duplicate parameter");
        seen |= 1u << index;
        if (!param->func(path, eq != NULL ? eq + 1 : NULL, &status)) {
            if (status == SMTP_PARSE_SYNTAX) {
                g_autofree char *msg = g_strdup_printf("Invalid %s parameter", param->name);
                return fail(path, SMTP_PARSE_SYNTAX, msg);
            }
            return status;
        }
    }
    return SMTP_PARSE_OK;
}

static SmtpParseStatus
parse_path(const char *args, const char *keyword, gboolean is_mail, SmtpPath *path)
{
    g_autofree char *text = NULL;
    const char *rest = NULL;
    SmtpParseStatus st;

    st = split_path(args, keyword, path, &text, &rest);
    if (st != SMTP_PARSE_OK)
        return st;
    st = check_address(path, text, is_mail);
    if (st != SMTP_PARSE_OK)
        return st;
    if (is_mail)
        st = parse_params(rest, mail_params, G_N_ELEMENTS(mail_params), path);
    else
        st = parse_params(rest, rcpt_params, G_N_ELEMENTS(rcpt_params), path);
    return st;
}

SmtpParseStatus
smtp_parse_mail(const char *args, SmtpPath *path)
{
    SmtpParseStatus st = parse_path(args, "FROM:", TRUE, path);

    /* RFC 6531 §3.4: non-ASCII needs SMTPUTF8 on this very command. */
    if (st == SMTP_PARSE_OK && !path->smtputf8 && smtp_non_ascii(path->address))
        return fail(path, SMTP_PARSE_NEEDS_UTF8, "Non-ASCII address requires SMTPUTF8");
    return st;
}

SmtpParseStatus
smtp_parse_rcpt(const char *args, SmtpPath *path)
{
    return parse_path(args, "TO:", FALSE, path);
}

gboolean
smtp_valid_helo(const char *arg)
{
    gsize len = strlen(arg);

    if (len == 0 || len > 255 || !g_utf8_validate(arg, len, NULL))
        return FALSE;
    for (gsize i = 0; i < len; i++) {
        guchar c = arg[i];
        if (c < '!' || c == 0x7f)
            return FALSE;
    }
    return TRUE;
}

gboolean
smtp_parse_bdat(const char *args, gint64 *size, gboolean *last)
{
    g_auto(GStrv) words = g_strsplit(args, " ", -1);
    guint64 n = 0;
    guint count = g_strv_length(words);

    *last = FALSE;
    if (count < 1 || count > 2)
        return FALSE;
    if (*words[0] == '\0' || strlen(words[0]) > 18 ||
        strspn(words[0], "0123456789") != strlen(words[0]) ||
        !g_ascii_string_to_unsigned(words[0], 10, 0, G_MAXINT64, &n, NULL))
        return FALSE;
    if (count == 2) {
        if (g_ascii_strcasecmp(words[1], "LAST") != 0)
            return FALSE;
        *last = TRUE;
    }
    *size = (gint64)n;
    return TRUE;
}
