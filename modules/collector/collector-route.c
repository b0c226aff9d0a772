/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Routing of collected mail: the collector's options, and for a catch-all
 * mailbox the addresses in a message's header fields (RFC 5322 §3.4 with
 * the obsolete syntax of §4.4 that real mail still carries). Only what an
 * accepted domain covers is kept, so that a header can never make the
 * server relay a collected message out. */

#include "postroom-config.h"

#include <string.h>

#include <glib/gi18n-lib.h>

#include "collector-route.h"

G_DEFINE_QUARK(postroom - collector - route - error - quark, collector_route_error)

/* RFC 5321 §4.5.3.1.3 allows 256 octets for a path; leave room for the
 * quoted local parts real mail has. */
#define MAX_ADDRESS 320
/* A longer envelope header value is no single address line. */
#define MAX_ENVELOPE_VALUE   998
#define MAX_ENVELOPE_PATTERN 256

typedef enum {
    ITEM_LITERAL,
    ITEM_BLANKS, /* any run of blanks, also none: "* ~" fits a value without a tail */
    ITEM_ADDRESS,
    ITEM_ANY, /* `~`: any text, also none */
} ItemKind;

typedef struct {
    ItemKind kind;
    char c; /* ITEM_LITERAL */
} PatternItem;

struct _CollectorRouteConfig {
    CollectorRouting routing;
    char *deliver_to;
    GPtrArray *accepted;      /* lower-case patterns */
    char *envelope_name;      /* NULL: none */
    GArray *envelope_pattern; /* PatternItem; NULL: the value holds addresses */
    gboolean implicit_mapping;
    CollectorRouteFail fail;
    char *fail_target;
};

/* ---- addresses ---- */

static gboolean
is_atext(guchar c)
{
    return g_ascii_isalnum(c) || c >= 0x80 || strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

static gboolean
local_part_valid(const char *s, gsize n)
{
    if (n == 0)
        return FALSE;
    if (s[0] == '"') {
        if (n < 3 || s[n - 1] != '"')
            return FALSE;
        for (gsize i = 1; i + 1 < n; i++) {
            guchar c = (guchar)s[i];
            if (c < 32 || c == 127)
                return FALSE;
        }
        return TRUE;
    }
    for (gsize i = 0; i < n; i++) {
        if (!is_atext((guchar)s[i]) && s[i] != '.')
            return FALSE;
    }
    return TRUE;
}

static gboolean
domain_valid(const char *s, gsize n)
{
    if (n == 0)
        return FALSE;
    if (s[0] == '[') {
        if (n < 3 || s[n - 1] != ']')
            return FALSE;
        for (gsize i = 1; i + 1 < n; i++) {
            guchar c = (guchar)s[i];
            if (c <= 32 || c >= 127 || c == '[' || c == ']' || c == '\\')
                return FALSE;
        }
        return TRUE;
    }
    gsize label = 0;
    for (gsize i = 0; i < n; i++) {
        guchar c = (guchar)s[i];
        if (c == '.') {
            if (label == 0)
                return FALSE;
            label = 0;
        } else if (g_ascii_isalnum(c) || c == '-' || c == '_' || c >= 0x80) {
            label++;
        } else {
            return FALSE;
        }
    }
    return label > 0;
}

char *
collector_address_normalize(const char *text)
{
    gsize n = strlen(text);

    if (n < 3 || n > MAX_ADDRESS || !g_utf8_validate(text, (gssize)n, NULL))
        return NULL;
    const char *at = strrchr(text, '@');
    if (at == NULL)
        return NULL;
    gsize local_len = (gsize)(at - text);
    const char *domain = at + 1;
    gsize domain_len = n - local_len - 1;
    /* An absolute domain name: "example.com." */
    if (domain_len > 1 && domain[domain_len - 1] == '.' && domain[0] != '[')
        domain_len--;
    if (!local_part_valid(text, local_len) || !domain_valid(domain, domain_len))
        return NULL;
    g_autofree char *lower = g_ascii_strdown(domain, (gssize)domain_len);
    return g_strdup_printf("%.*s@%s", (int)local_len, text, lower);
}

/* @s without blanks outside quoted strings. */
static char *
remove_blanks(const char *s)
{
    GString *out = g_string_new(NULL);
    gboolean quoted = FALSE;

    for (const char *p = s; *p != '\0'; p++) {
        if (quoted) {
            g_string_append_c(out, *p);
            if (*p == '\\' && p[1] != '\0')
                g_string_append_c(out, *++p);
            else if (*p == '"')
                quoted = FALSE;
        } else if (*p == '"') {
            quoted = TRUE;
            g_string_append_c(out, *p);
        } else if (!g_ascii_isspace(*p)) {
            g_string_append_c(out, *p);
        }
    }
    return g_string_free(out, FALSE);
}

/* The address in an angle-addr's contents, without its obsolete source
 * route ("@relay1,@relay2:user@example.com"). */
static char *
angle_address(const char *inside)
{
    g_autofree char *bare = remove_blanks(inside);
    const char *addr = bare;

    if (addr[0] == '@') {
        const char *colon = strchr(addr, ':');
        if (colon != NULL)
            addr = colon + 1;
    }
    return g_strdup(addr);
}

static void
add_candidate(GPtrArray *out, const char *candidate, guint *bad)
{
    char *address = collector_address_normalize(candidate);

    if (address != NULL)
        g_ptr_array_add(out, address);
    else
        (*bad)++;
}

/* An element without angle brackets: "user@example.com", with the obsolete
 * blanks around dots and at ("john . doe @ example.com"); when words are
 * left over (a display name without brackets), the ones with an at. */
static void
bare_element(GPtrArray *out, const char *spec, guint *bad)
{
    g_autoptr(GPtrArray) tokens = g_ptr_array_new_with_free_func(g_free);
    GString *token = NULL;
    gboolean quoted = FALSE;

    for (const char *p = spec;; p++) {
        if (*p == '\0' || (!quoted && g_ascii_isspace(*p))) {
            if (token != NULL) {
                char *t = g_string_free(token, FALSE);
                token = NULL;
                /* Glue around dots and at. */
                char *prev = tokens->len > 0 ? tokens->pdata[tokens->len - 1] : NULL;
                gsize prev_len = prev != NULL ? strlen(prev) : 0;
                if (prev != NULL && (t[0] == '.' || t[0] == '@' || prev[prev_len - 1] == '.' ||
                                     prev[prev_len - 1] == '@')) {
                    tokens->pdata[tokens->len - 1] = g_strconcat(prev, t, NULL);
                    g_free(prev);
                    g_free(t);
                } else {
                    g_ptr_array_add(tokens, t);
                }
            }
            if (*p == '\0')
                break;
            continue;
        }
        if (token == NULL)
            token = g_string_new(NULL);
        g_string_append_c(token, *p);
        if (quoted) {
            if (*p == '\\' && p[1] != '\0')
                g_string_append_c(token, *++p);
            else if (*p == '"')
                quoted = FALSE;
        } else if (*p == '"') {
            quoted = TRUE;
        }
    }
    if (tokens->len == 0)
        return;
    if (tokens->len == 1) {
        add_candidate(out, tokens->pdata[0], bad);
        return;
    }
    gboolean any = FALSE;
    for (guint i = 0; i < tokens->len; i++) {
        if (strchr(tokens->pdata[i], '@') != NULL) {
            add_candidate(out, tokens->pdata[i], bad);
            any = TRUE;
        }
    }
    if (!any)
        (*bad)++;
}

typedef struct {
    GString *spec;     /* the element's text outside brackets and comments */
    GString *angle;    /* inside an open `<`, or NULL */
    GPtrArray *angles; /* contents of the element's closed angle brackets */
} Element;

static void
finish_element(Element *e, GPtrArray *out, guint *bad)
{
    if (e->angle != NULL) {
        /* Unclosed at the end: take what there is. */
        g_ptr_array_add(e->angles, g_string_free(e->angle, FALSE));
        e->angle = NULL;
    }
    if (e->angles->len > 0) {
        for (guint i = 0; i < e->angles->len; i++) {
            g_autofree char *addr = angle_address(e->angles->pdata[i]);
            /* "<>" is the null address, nobody to route to. */
            if (addr[0] != '\0')
                add_candidate(out, addr, bad);
        }
    } else {
        bare_element(out, e->spec->str, bad);
    }
    g_string_truncate(e->spec, 0);
    g_ptr_array_set_size(e->angles, 0);
}

GPtrArray *
collector_address_list_parse(const char *value, guint *n_malformed)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    Element e = { g_string_new(NULL), NULL, g_ptr_array_new_with_free_func(g_free) };
    guint bad = 0;
    int comment = 0;
    gboolean quoted = FALSE;

    for (const char *p = value; *p != '\0'; p++) {
        GString *cur = e.angle != NULL ? e.angle : e.spec;
        char c = *p;

        if (comment > 0) {
            /* Comments nest and take quoted pairs (RFC 5322 §3.2.2). */
            if (c == '\\' && p[1] != '\0')
                p++;
            else if (c == '(')
                comment++;
            else if (c == ')' && --comment == 0)
                g_string_append_c(cur, ' ');
            continue;
        }
        if (quoted) {
            g_string_append_c(cur, c);
            if (c == '\\' && p[1] != '\0')
                g_string_append_c(cur, *++p);
            else if (c == '"')
                quoted = FALSE;
            continue;
        }
        switch (c) {
        case '"':
            quoted = TRUE;
            g_string_append_c(cur, c);
            break;
        case '(':
            comment = 1;
            break;
        case '<':
            if (e.angle == NULL)
                e.angle = g_string_new(NULL);
            else
                g_string_append_c(cur, c);
            break;
        case '>':
            if (e.angle != NULL) {
                g_ptr_array_add(e.angles, g_string_free(e.angle, FALSE));
                e.angle = NULL;
            } else {
                g_string_append_c(cur, c);
            }
            break;
        case ':':
            /* A group's display name ends; in a source route, a colon. */
            if (e.angle != NULL)
                g_string_append_c(cur, c);
            else
                g_string_truncate(e.spec, 0);
            break;
        case ',':
        case ';': /* between addresses, and a group's end */
            if (e.angle != NULL)
                g_string_append_c(cur, c);
            else
                finish_element(&e, out, &bad);
            break;
        default:
            g_string_append_c(cur, c);
            break;
        }
    }
    finish_element(&e, out, &bad);
    g_string_free(e.spec, TRUE);
    g_ptr_array_unref(e.angles);
    if (n_malformed != NULL)
        *n_malformed = bad;
    return out;
}

/* @s with comments replaced by a blank. */
static char *
remove_comments(const char *s)
{
    GString *out = g_string_new(NULL);
    int comment = 0;
    gboolean quoted = FALSE;

    for (const char *p = s; *p != '\0'; p++) {
        if (comment > 0) {
            if (*p == '\\' && p[1] != '\0')
                p++;
            else if (*p == '(')
                comment++;
            else if (*p == ')' && --comment == 0)
                g_string_append_c(out, ' ');
            continue;
        }
        if (quoted) {
            g_string_append_c(out, *p);
            if (*p == '\\' && p[1] != '\0')
                g_string_append_c(out, *++p);
            else if (*p == '"')
                quoted = FALSE;
        } else if (*p == '"') {
            quoted = TRUE;
            g_string_append_c(out, *p);
        } else if (*p == '(') {
            comment = 1;
        } else {
            g_string_append_c(out, *p);
        }
    }
    return g_string_free(out, FALSE);
}

GPtrArray *
collector_received_for_parse(const char *value)
{
    GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
    g_autofree char *clean = remove_comments(value);
    gsize n = strlen(clean);

    /* RFC 5321 §4.4: "for" <Path> or a bare mailbox, before the ";" and
     * the date. Comments ("(using TLS for ...)") were removed above. */
    for (gsize i = 0; i + 3 < n; i++) {
        if ((i > 0 && !g_ascii_isspace(clean[i - 1])) ||
            g_ascii_strncasecmp(clean + i, "for", 3) != 0 ||
            !(g_ascii_isspace(clean[i + 3]) || clean[i + 3] == '<'))
            continue;
        gsize j = i + 3;
        while (j < n && g_ascii_isspace(clean[j]))
            j++;
        gsize start, end;
        if (j < n && clean[j] == '<') {
            start = j + 1;
            end = start;
            while (end < n && clean[end] != '>')
                end++;
        } else {
            start = j;
            end = start;
            while (end < n && !g_ascii_isspace(clean[end]) && clean[end] != ';' &&
                   clean[end] != ',')
                end++;
        }
        g_autofree char *inside = g_strndup(clean + start, end - start);
        g_autofree char *candidate = angle_address(inside);
        char *address = collector_address_normalize(candidate);
        if (address != NULL)
            g_ptr_array_add(out, address);
        i = end > i ? end - 1 : i;
    }
    return out;
}

/* ---- the envelope header's pattern ---- */

static GArray *
compile_pattern(const char *text)
{
    GArray *items = g_array_new(FALSE, FALSE, sizeof(PatternItem));

    for (const char *p = text; *p != '\0'; p++) {
        PatternItem item = { ITEM_LITERAL, *p };
        if (g_ascii_isspace(*p)) {
            if (items->len > 0 &&
                g_array_index(items, PatternItem, items->len - 1).kind == ITEM_BLANKS)
                continue;
            item.kind = ITEM_BLANKS;
        } else if (*p == '*') {
            item.kind = ITEM_ADDRESS;
        } else if (*p == '~') {
            item.kind = ITEM_ANY;
        }
        g_array_append_val(items, item);
    }
    return items;
}

/* The text `*` stands for in @value, or NULL if @value does not fit the
 * pattern. The whole value must fit; `*` is one or more non-blank
 * characters, as many as fit; literal text matches in any case. Dynamic
 * programming over (pattern item, value position), so that no value makes
 * it slow: `reach` says whether the rest of the pattern from item i fits
 * the value from position j. */
static char *
pattern_capture(const GArray *pattern, const char *value)
{
    const PatternItem *items = (const PatternItem *)(const void *)pattern->data;
    gsize n = pattern->len, m = strlen(value);

    if (m > MAX_ENVELOPE_VALUE)
        return NULL;
    gsize w = m + 1;
    g_autofree guint8 *reach = g_malloc0((n + 1) * w);
#define R(i, j) reach[(i)*w + (j)]
    R(n, m) = 1;
    for (gsize i = n; i-- > 0;) {
        for (gsize j = m + 1; j-- > 0;) {
            gboolean more = j < m;
            gboolean blank = more && g_ascii_isspace(value[j]);
            switch (items[i].kind) {
            case ITEM_LITERAL:
                R(i, j) = more && g_ascii_tolower(value[j]) == g_ascii_tolower(items[i].c) &&
                          R(i + 1, j + 1);
                break;
            case ITEM_BLANKS:
                R(i, j) = R(i + 1, j) || (blank && R(i, j + 1));
                break;
            case ITEM_ADDRESS:
                R(i, j) = more && !blank && (R(i + 1, j + 1) || R(i, j + 1));
                break;
            case ITEM_ANY:
                R(i, j) = R(i + 1, j) || (more && R(i, j + 1));
                break;
            }
        }
    }
    if (!R(0, 0))
        return NULL;

    /* Walk one fitting path: `*` takes as much as it can, `~` as little.
     * Every step moves i or j on, and R(i, j) holds at each. */
    gsize i = 0, j = 0, start = 0, end = 0;
    gboolean started = FALSE;
    while (i < n) {
        switch (items[i].kind) {
        case ITEM_LITERAL:
            i++;
            j++;
            break;
        case ITEM_BLANKS:
            if (j < m && g_ascii_isspace(value[j]) && R(i, j + 1))
                j++;
            else
                i++;
            break;
        case ITEM_ADDRESS:
            if (!started) {
                start = j;
                started = TRUE;
            }
            if (!R(i, j + 1)) {
                i++;
                end = j + 1;
            }
            j++;
            break;
        case ITEM_ANY:
            if (R(i + 1, j))
                i++;
            else
                j++;
            break;
        }
    }
#undef R
    if (!started)
        return NULL;
    return g_strndup(value + start, end - start);
}

/* ---- options ---- */

static const char *
option(GHashTable *options, const char *key)
{
    const char *v = options != NULL ? g_hash_table_lookup(options, key) : NULL;

    if (v == NULL)
        return NULL;
    while (g_ascii_isspace(*v))
        v++;
    return *v != '\0' ? v : NULL;
}

static char *
option_dup(GHashTable *options, const char *key)
{
    const char *v = option(options, key);
    return v != NULL ? g_strstrip(g_strdup(v)) : NULL;
}

static gboolean
parse_bool(const char *text, gboolean *out)
{
    static const char *const yes[] = { "yes", "true", "on", "1" };
    static const char *const no[] = { "no", "false", "off", "0" };

    for (guint i = 0; i < G_N_ELEMENTS(yes); i++) {
        if (g_ascii_strcasecmp(text, yes[i]) == 0) {
            *out = TRUE;
            return TRUE;
        }
        if (g_ascii_strcasecmp(text, no[i]) == 0) {
            *out = FALSE;
            return TRUE;
        }
    }
    return FALSE;
}

static gboolean
has_blank_or_control(const char *s)
{
    for (const char *p = s; *p != '\0'; p++) {
        if ((guchar)*p <= 32 || *p == 127)
            return TRUE;
    }
    return FALSE;
}

static gboolean
invalid(GError **error, const char *key, const char *value, const char *why)
{
    g_set_error(error, COLLECTOR_ROUTE_ERROR, COLLECTOR_ROUTE_ERROR_OPTION,
                _("Collector option “%s”: “%s”: %s"), key, value, why);
    return FALSE;
}

static const char *const fail_names[] = {
    [COLLECTOR_ROUTE_FAIL_ADMIN_ERROR] = "admin-error",
    [COLLECTOR_ROUTE_FAIL_ADMIN_MESSAGE] = "admin-message",
    [COLLECTOR_ROUTE_FAIL_USER_ERROR] = "user-error",
    [COLLECTOR_ROUTE_FAIL_USER_MESSAGE] = "user-message",
    [COLLECTOR_ROUTE_FAIL_BOUNCE] = "bounce",
    [COLLECTOR_ROUTE_FAIL_DISCARD] = "discard",
};

static gboolean
read_envelope_header(CollectorRouteConfig *cfg, const char *text, GError **error)
{
    const char *colon = strchr(text, ':');
    g_autofree char *name =
        g_strstrip(colon != NULL ? g_strndup(text, (gsize)(colon - text)) : g_strdup(text));

    if (!collector_header_name_valid(name, -1))
        return invalid(error, "envelope_header", text,
                       _("expected a header name, optionally followed by a colon and a "
                         "pattern with one * where the address is"));
    if (colon != NULL) {
        g_autofree char *pattern = g_strstrip(g_strdup(colon + 1));
        if (*pattern != '\0') {
            const char *star = strchr(pattern, '*');
            if (star == NULL || strchr(star + 1, '*') != NULL)
                return invalid(error, "envelope_header", text,
                               _("the pattern needs exactly one * where the address is"));
            if (strlen(pattern) > MAX_ENVELOPE_PATTERN)
                return invalid(error, "envelope_header", text, _("the pattern is too long"));
            cfg->envelope_pattern = compile_pattern(pattern);
        }
    }
    cfg->envelope_name = g_steal_pointer(&name);
    return TRUE;
}

static gboolean
read_accepted(CollectorRouteConfig *cfg, const char *text, GError **error)
{
    g_auto(GStrv) items = g_strsplit_set(text, ";, \t", -1);

    for (guint i = 0; items[i] != NULL; i++) {
        const char *item = items[i];
        if (*item == '\0')
            continue;
        /* "@example.com" is the domain. */
        if (item[0] == '@')
            item++;
        if (*item == '\0' || has_blank_or_control(item))
            return invalid(error, "accepted_domains", items[i],
                           _("expected a domain or an address, with * and ? wildcards"));
        g_ptr_array_add(cfg->accepted, g_ascii_strdown(item, -1));
    }
    if (cfg->accepted->len == 0)
        return invalid(error, "accepted_domains", text, _("no domain given"));
    return TRUE;
}

static gboolean
read_options(CollectorRouteConfig *cfg, GHashTable *options, GError **error)
{
    const char *v;

    v = option(options, "routing");
    if (v == NULL || g_ascii_strcasecmp(v, "user") == 0)
        cfg->routing = COLLECTOR_ROUTING_USER;
    else if (g_ascii_strcasecmp(v, "address") == 0)
        cfg->routing = COLLECTOR_ROUTING_ADDRESS;
    else if (g_ascii_strcasecmp(v, "headers") == 0)
        cfg->routing = COLLECTOR_ROUTING_HEADERS;
    else
        return invalid(error, "routing", v, _("expected user, address or headers"));

    cfg->deliver_to = option_dup(options, "deliver_to");
    if (cfg->deliver_to != NULL && has_blank_or_control(cfg->deliver_to))
        return invalid(error, "deliver_to", cfg->deliver_to,
                       _("expected a user, a list or an address"));
    if (cfg->routing != COLLECTOR_ROUTING_HEADERS) {
        if (cfg->deliver_to == NULL)
            return invalid(error, "deliver_to", "",
                           cfg->routing == COLLECTOR_ROUTING_USER
                               ? _("routing=user needs the user or list to deliver to")
                               : _("routing=address needs the address to deliver to"));
        if (cfg->routing == COLLECTOR_ROUTING_ADDRESS && strchr(cfg->deliver_to, '@') != NULL) {
            char *address = collector_address_normalize(cfg->deliver_to);
            if (address == NULL)
                return invalid(error, "deliver_to", cfg->deliver_to, _("not a valid address"));
            g_free(cfg->deliver_to);
            cfg->deliver_to = address;
        }
    } else {
        if (!read_accepted(cfg,
                           option(options, "accepted_domains") != NULL
                               ? option(options, "accepted_domains")
                               : "",
                           error))
            return FALSE;
        v = option(options, "envelope_header");
        if (v != NULL && !read_envelope_header(cfg, v, error))
            return FALSE;
    }

    cfg->implicit_mapping = TRUE;
    v = option(options, "implicit_mapping");
    if (v != NULL && !parse_bool(v, &cfg->implicit_mapping))
        return invalid(error, "implicit_mapping", v, _("expected yes or no"));

    cfg->fail = COLLECTOR_ROUTE_FAIL_ADMIN_ERROR;
    v = option(options, "route_error");
    if (v != NULL) {
        guint i;
        for (i = 0; i < G_N_ELEMENTS(fail_names); i++) {
            if (g_ascii_strcasecmp(v, fail_names[i]) == 0)
                break;
        }
        if (i == G_N_ELEMENTS(fail_names))
            return invalid(error, "route_error", v,
                           _("expected admin-error, admin-message, user-error, user-message, "
                             "bounce or discard"));
        cfg->fail = (CollectorRouteFail)i;
    }
    if (cfg->fail == COLLECTOR_ROUTE_FAIL_USER_ERROR ||
        cfg->fail == COLLECTOR_ROUTE_FAIL_USER_MESSAGE) {
        cfg->fail_target = option_dup(options, "route_error_to");
        if (cfg->fail_target == NULL)
            cfg->fail_target = g_strdup(cfg->deliver_to);
        if (cfg->fail_target == NULL)
            return invalid(error, "route_error_to", "",
                           _("route_error=user-error and user-message need the user"));
        if (has_blank_or_control(cfg->fail_target))
            return invalid(error, "route_error_to", cfg->fail_target, _("expected a user"));
    }
    return TRUE;
}

CollectorRouteConfig *
collector_route_config_new(GHashTable *options, GError **error)
{
    CollectorRouteConfig *cfg = g_new0(CollectorRouteConfig, 1);

    cfg->accepted = g_ptr_array_new_with_free_func(g_free);
    if (!read_options(cfg, options, error)) {
        collector_route_config_free(cfg);
        return NULL;
    }
    return cfg;
}

void
collector_route_config_free(CollectorRouteConfig *config)
{
    if (config == NULL)
        return;
    g_free(config->deliver_to);
    g_ptr_array_unref(config->accepted);
    g_free(config->envelope_name);
    if (config->envelope_pattern != NULL)
        g_array_unref(config->envelope_pattern);
    g_free(config->fail_target);
    g_free(config);
}

CollectorRouting
collector_route_config_get_routing(const CollectorRouteConfig *config)
{
    return config->routing;
}

CollectorRouteFail
collector_route_config_get_fail(const CollectorRouteConfig *config, const char **target)
{
    if (target != NULL)
        *target = config->fail_target;
    return config->fail;
}

/* ---- routing a message ---- */

static void
recipient_free(gpointer p)
{
    CollectorRecipient *r = p;

    g_free(r->address);
    g_free(r->source);
    g_free(r);
}

void
collector_route_free(CollectorRoute *route)
{
    if (route == NULL)
        return;
    g_ptr_array_unref(route->recipients);
    g_ptr_array_unref(route->rejected);
    g_free(route);
}

static gboolean
accepted(const CollectorRouteConfig *cfg, const char *address)
{
    const char *domain = strrchr(address, '@') + 1;

    for (guint i = 0; i < cfg->accepted->len; i++) {
        const char *pattern = cfg->accepted->pdata[i];
        /* A full address in the list accepts just that address. */
        if (collector_wildcard_match(pattern, strchr(pattern, '@') != NULL ? address : domain))
            return TRUE;
    }
    return FALSE;
}

typedef struct {
    const CollectorRouteConfig *cfg;
    CollectorRoute *route;
    GHashTable *seen; /* lower-case addresses, both lists */
} Collect;

static void
consider(Collect *c, const char *address, const char *source)
{
    g_autofree char *key = g_ascii_strdown(address, -1);
    gboolean ok = accepted(c->cfg, address);
    GPtrArray *list = ok ? c->route->recipients : c->route->rejected;

    if (g_hash_table_contains(c->seen, key))
        return;
    if (ok && list->len >= COLLECTOR_ROUTE_MAX_RECIPIENTS) {
        c->route->truncated = TRUE;
        return;
    }
    if (!ok && list->len >= COLLECTOR_ROUTE_MAX_REJECTED)
        return;
    g_hash_table_add(c->seen, g_steal_pointer(&key));
    CollectorRecipient *r = g_new0(CollectorRecipient, 1);
    r->address = g_strdup(address);
    r->source = g_strdup(source);
    g_ptr_array_add(list, r);
}

static void
consider_all(Collect *c, GPtrArray *addresses, const char *source)
{
    for (guint i = 0; i < addresses->len; i++)
        consider(c, addresses->pdata[i], source);
}

/* The envelope header's addresses; FALSE if the message has none. */
static gboolean
route_by_envelope(Collect *c, const CollectorHeaders *headers)
{
    const CollectorRouteConfig *cfg = c->cfg;
    g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func(g_free);

    for (guint i = 0; i < headers->fields->len; i++) {
        const CollectorHeader *h = headers->fields->pdata[i];
        if (g_ascii_strcasecmp(h->name, cfg->envelope_name) != 0)
            continue;
        if (cfg->envelope_pattern == NULL) {
            g_autoptr(GPtrArray) list = collector_address_list_parse(h->value, NULL);
            for (guint k = 0; k < list->len; k++)
                g_ptr_array_add(found, g_strdup(list->pdata[k]));
            continue;
        }
        g_autofree char *text = pattern_capture(cfg->envelope_pattern, h->value);
        if (text == NULL)
            continue;
        g_autoptr(GPtrArray) list = collector_address_list_parse(text, NULL);
        /* One address per line. */
        if (list->len > 0)
            g_ptr_array_add(found, g_strdup(list->pdata[0]));
    }
    if (found->len == 0)
        return FALSE;
    c->route->from_envelope = TRUE;
    consider_all(c, found, cfg->envelope_name);
    return TRUE;
}

static void
route_by_headers(Collect *c, const CollectorHeaders *headers)
{
    static const char *const address_headers[] = { "To", "Cc", "Resent-To", "Resent-Cc",
                                                   "Apparently-To" };

    if (c->cfg->envelope_name != NULL && route_by_envelope(c, headers))
        return;
    for (guint n = 0; n < G_N_ELEMENTS(address_headers); n++) {
        for (guint i = 0; i < headers->fields->len; i++) {
            const CollectorHeader *h = headers->fields->pdata[i];
            if (g_ascii_strcasecmp(h->name, address_headers[n]) != 0)
                continue;
            g_autoptr(GPtrArray) list = collector_address_list_parse(h->value, NULL);
            consider_all(c, list, address_headers[n]);
        }
    }
    for (guint i = 0; i < headers->fields->len; i++) {
        const CollectorHeader *h = headers->fields->pdata[i];
        if (g_ascii_strcasecmp(h->name, "Received") != 0)
            continue;
        g_autoptr(GPtrArray) list = collector_received_for_parse(h->value);
        consider_all(c, list, "Received");
    }
}

CollectorRoute *
collector_route_message(const CollectorRouteConfig *config, const CollectorHeaders *headers)
{
    CollectorRoute *route = g_new0(CollectorRoute, 1);

    route->recipients = g_ptr_array_new_with_free_func(recipient_free);
    route->rejected = g_ptr_array_new_with_free_func(recipient_free);
    route->implicit_mapping = config->implicit_mapping;
    if (config->routing != COLLECTOR_ROUTING_HEADERS) {
        CollectorRecipient *r = g_new0(CollectorRecipient, 1);
        r->address = g_strdup(config->deliver_to);
        r->source = g_strdup("deliver_to");
        g_ptr_array_add(route->recipients, r);
        return route;
    }
    if (headers == NULL)
        return route;
    Collect c = { config, route, g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL) };
    route_by_headers(&c, headers);
    g_hash_table_unref(c.seen);
    return route;
}
