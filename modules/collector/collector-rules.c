/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Download rules: the rules file read into conditions and an action per
 * rule, and their evaluation against a message still on the server. The
 * file is the administrator's: every error names the file, the rule and
 * the key, and nothing in it is silently dropped (GKeyFile merges a
 * repeated group and keeps the last of a repeated key, so both are
 * refused before it reads the file). */

#include "postroom-config.h"

#include <stdarg.h>
#include <string.h>

#include <glib/gi18n-lib.h>

#include "collector-rules.h"

G_DEFINE_QUARK(postroom - collector - rules - error - quark, collector_rules_error)

#define RULE_PREFIX   "rule "
#define HEADER_PREFIX "header:"

typedef enum {
    COND_HEADER,
    COND_SIZE,
    COND_TIME,
    COND_DAY,
    COND_RECIPIENT,
    COND_COLLECTOR,
    COND_VALID,
    COND_INVALID,
} CondKind;

typedef struct {
    guint start, end; /* minutes after midnight, both included */
} Window;

typedef struct {
    CondKind kind;
    char *header;        /* COND_HEADER: the field name */
    char *pattern;       /* COND_HEADER: wildcards, or casefolded substring */
    gboolean substring;  /* COND_HEADER: no wildcards */
    guint64 size;        /* COND_SIZE */
    GArray *windows;     /* COND_TIME: Window */
    guint days;          /* COND_DAY: bit d for day d, 1 = Sunday */
    GPtrArray *patterns; /* COND_RECIPIENT */
    GArray *ids;         /* COND_COLLECTOR: gint64 */
    gboolean want;       /* COND_VALID, COND_INVALID */
} Condition;

struct _CollectorRule {
    char *name;
    gboolean enabled;
    gboolean any;
    CollectorRuleAction action;
    char *target;
    GPtrArray *conditions;
};

struct _CollectorRules {
    GPtrArray *rules;
    gboolean need_recipients;
};

static const struct {
    const char *name;
    CollectorRuleEffects effects;
    gboolean target;
} actions[] = {
    [COLLECTOR_RULE_DOWNLOAD] = { "download",
                                  COLLECTOR_RULE_FX_DOWNLOAD | COLLECTOR_RULE_FX_DELIVER_RCPTS,
                                  FALSE },
    [COLLECTOR_RULE_IGNORE] = { "ignore", COLLECTOR_RULE_FX_LEAVE, FALSE },
    [COLLECTOR_RULE_SILENTLY_DELETE] = { "silently-delete", COLLECTOR_RULE_FX_DELETE, FALSE },
    [COLLECTOR_RULE_DOWNLOAD_AND_DELETE] = { "download-and-delete",
                                             COLLECTOR_RULE_FX_DOWNLOAD |
                                                 COLLECTOR_RULE_FX_DELIVER_RCPTS |
                                                 COLLECTOR_RULE_FX_DELETE,
                                             FALSE },
    [COLLECTOR_RULE_DELETE_AND_WARN] = { "delete-and-warn",
                                         COLLECTOR_RULE_FX_DELETE | COLLECTOR_RULE_FX_WARN_RCPTS,
                                         FALSE },
    [COLLECTOR_RULE_REDIRECT] = { "redirect",
                                  COLLECTOR_RULE_FX_DOWNLOAD | COLLECTOR_RULE_FX_DELIVER_TARGET,
                                  TRUE },
    [COLLECTOR_RULE_COPY] = { "copy",
                              COLLECTOR_RULE_FX_DOWNLOAD | COLLECTOR_RULE_FX_DELIVER_RCPTS |
                                  COLLECTOR_RULE_FX_DELIVER_TARGET,
                              TRUE },
    [COLLECTOR_RULE_QUERY] = { "query", COLLECTOR_RULE_FX_QUERY_RCPTS, FALSE },
    [COLLECTOR_RULE_QUERY_AND_COPY] = { "query-and-copy",
                                        COLLECTOR_RULE_FX_QUERY_RCPTS |
                                            COLLECTOR_RULE_FX_QUERY_TARGET,
                                        TRUE },
    [COLLECTOR_RULE_QUERY_AND_REDIRECT] = { "query-and-redirect", COLLECTOR_RULE_FX_QUERY_TARGET,
                                            TRUE },
    [COLLECTOR_RULE_DOWNLOAD_COPY_AND_DELETE] = { "download-copy-and-delete",
                                                  COLLECTOR_RULE_FX_DOWNLOAD |
                                                      COLLECTOR_RULE_FX_DELIVER_RCPTS |
                                                      COLLECTOR_RULE_FX_DELIVER_TARGET |
                                                      COLLECTOR_RULE_FX_DELETE,
                                                  TRUE },
    [COLLECTOR_RULE_DOWNLOAD_REDIRECT_AND_DELETE] = { "download-redirect-and-delete",
                                                      COLLECTOR_RULE_FX_DOWNLOAD |
                                                          COLLECTOR_RULE_FX_DELIVER_TARGET |
                                                          COLLECTOR_RULE_FX_DELETE,
                                                      TRUE },
};

const char *
collector_rule_action_name(CollectorRuleAction action)
{
    g_return_val_if_fail((guint)action < G_N_ELEMENTS(actions), "download");
    return actions[action].name;
}

CollectorRuleEffects
collector_rule_action_effects(CollectorRuleAction action)
{
    g_return_val_if_fail((guint)action < G_N_ELEMENTS(actions), 0);
    return actions[action].effects;
}

/* ---- freeing ---- */

static void
condition_free(gpointer p)
{
    Condition *c = p;

    g_free(c->header);
    g_free(c->pattern);
    if (c->windows != NULL)
        g_array_unref(c->windows);
    if (c->patterns != NULL)
        g_ptr_array_unref(c->patterns);
    if (c->ids != NULL)
        g_array_unref(c->ids);
    g_free(c);
}

static void
rule_free(gpointer p)
{
    CollectorRule *r = p;

    g_free(r->name);
    g_free(r->target);
    g_ptr_array_unref(r->conditions);
    g_free(r);
}

void
collector_rules_free(CollectorRules *rules)
{
    if (rules == NULL)
        return;
    g_ptr_array_unref(rules->rules);
    g_free(rules);
}

/* ---- errors ---- */

typedef struct {
    const char *file;
    const char *rule;
    const char *key;
} Where;

static gboolean G_GNUC_PRINTF(3, 4)
    fail(GError **error, const Where *where, const char *format, ...)
{
    va_list ap;

    va_start(ap, format);
    g_autofree char *detail = g_strdup_vprintf(format, ap);
    va_end(ap);
    if (where->key != NULL)
        g_set_error(error, COLLECTOR_RULES_ERROR, COLLECTOR_RULES_ERROR_INVALID,
                    _("%s: rule “%s”, key “%s”: %s"), where->file, where->rule, where->key, detail);
    else if (where->rule != NULL)
        g_set_error(error, COLLECTOR_RULES_ERROR, COLLECTOR_RULES_ERROR_INVALID,
                    _("%s: rule “%s”: %s"), where->file, where->rule, detail);
    else
        g_set_error(error, COLLECTOR_RULES_ERROR, COLLECTOR_RULES_ERROR_INVALID, "%s: %s",
                    where->file, detail);
    return FALSE;
}

/* ---- values ---- */

/* @text with each run of blanks (a folded line's tab, two spaces) as one
 * space: the administrator writes "Project News <news.example.org>" for a
 * value folded before the bracket. */
static char *
single_blanks(const char *text)
{
    GString *out = g_string_sized_new(strlen(text));

    for (const char *p = text; *p != '\0'; p++) {
        if (g_ascii_isspace(*p)) {
            if (out->len == 0 || out->str[out->len - 1] != ' ')
                g_string_append_c(out, ' ');
        } else {
            g_string_append_c(out, *p);
        }
    }
    return g_string_free(out, FALSE);
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

/* Digits only, no sign, no overflow. */
static gboolean
parse_uint(const char *text, gsize len, guint64 max, guint64 *out)
{
    guint64 v = 0;

    if (len == 0)
        return FALSE;
    for (gsize i = 0; i < len; i++) {
        if (!g_ascii_isdigit(text[i]))
            return FALSE;
        guint d = (guint)(text[i] - '0');
        if (d > max || v > (max - d) / 10)
            return FALSE;
        v = v * 10 + d;
    }
    *out = v;
    return TRUE;
}

/* "N", "N K", "NM", "NG" (powers of 1024, B optional); ">=" tolerated in
 * front, as VPOP3's dialog reads "size >= N". */
static gboolean
parse_size(const char *text, guint64 *out)
{
    const char *p = text;

    if (g_str_has_prefix(p, ">="))
        p += 2;
    while (g_ascii_isspace(*p))
        p++;
    gsize digits = 0;
    while (g_ascii_isdigit(p[digits]))
        digits++;
    const char *unit = p + digits;
    while (g_ascii_isspace(*unit))
        unit++;
    guint shift = 0;
    switch (g_ascii_toupper(*unit)) {
    case '\0':
        break;
    case 'K':
        shift = 10;
        break;
    case 'M':
        shift = 20;
        break;
    case 'G':
        shift = 30;
        break;
    case 'B':
        break;
    default:
        return FALSE;
    }
    if (*unit != '\0') {
        if (shift != 0)
            unit++;
        if (g_ascii_toupper(*unit) == 'B')
            unit++;
        if (*unit != '\0')
            return FALSE;
    }
    guint64 v;
    if (!parse_uint(p, digits, G_MAXUINT64 >> shift, &v))
        return FALSE;
    *out = v << shift;
    return TRUE;
}

/* "H:MM" or "HH:MM"; 24:00 only as the end of a window. */
static gboolean
parse_clock(const char *text, gboolean end, guint *minutes)
{
    g_auto(GStrv) parts = g_strsplit(text, ":", 3);
    guint64 h, m;

    if (g_strv_length(parts) != 2 || strlen(parts[1]) != 2 || strlen(parts[0]) > 2 ||
        !parse_uint(parts[0], strlen(parts[0]), 99, &h) ||
        !parse_uint(parts[1], strlen(parts[1]), 99, &m) || m > 59)
        return FALSE;
    if (h == 24 && m == 0 && end) {
        *minutes = 24 * 60 - 1;
        return TRUE;
    }
    if (h > 23)
        return FALSE;
    *minutes = (guint)(h * 60 + m);
    return TRUE;
}

/* Items of a list separated by ";" or ",", without blanks ("9:00 - 12:00"
 * is one item); with @blanks_separate, blanks separate items too. */
static GStrv
split_list(const char *text, gboolean blanks_separate)
{
    g_auto(GStrv) raw = g_strsplit_set(text, blanks_separate ? ";, \t" : ";,", -1);
    GPtrArray *items = g_ptr_array_new();

    for (guint i = 0; raw[i] != NULL; i++) {
        GString *item = g_string_new(NULL);
        for (const char *p = raw[i]; *p != '\0'; p++) {
            if (!g_ascii_isspace(*p))
                g_string_append_c(item, *p);
        }
        if (item->len > 0)
            g_ptr_array_add(items, g_string_free(item, FALSE));
        else
            g_string_free(item, TRUE);
    }
    g_ptr_array_add(items, NULL);
    return (GStrv)g_ptr_array_free(items, FALSE);
}

static gboolean
read_time(Condition *c, const char *value, GError **error, const Where *where)
{
    g_auto(GStrv) items = split_list(value, FALSE);

    c->windows = g_array_new(FALSE, FALSE, sizeof(Window));
    for (guint i = 0; items[i] != NULL; i++) {
        const char *dash = strchr(items[i], '-');
        g_autofree char *from = dash != NULL ? g_strndup(items[i], (gsize)(dash - items[i])) : NULL;
        Window w;
        if (dash == NULL || !parse_clock(from, FALSE, &w.start) ||
            !parse_clock(dash + 1, TRUE, &w.end))
            return fail(error, where, _("“%s” is not a time window like 09:00-17:30"), items[i]);
        g_array_append_val(c->windows, w);
    }
    if (c->windows->len == 0)
        return fail(error, where, _("no time window given, like 09:00-17:30"));
    return TRUE;
}

static gboolean
read_days(Condition *c, const char *value, GError **error, const Where *where)
{
    g_auto(GStrv) items = split_list(value, FALSE);

    for (guint i = 0; items[i] != NULL; i++) {
        const char *dash = strchr(items[i], '-');
        const char *last = dash != NULL ? dash + 1 : items[i];
        gsize first_len = dash != NULL ? (gsize)(dash - items[i]) : strlen(items[i]);
        guint64 a, b;
        if (!parse_uint(items[i], first_len, 7, &a) || !parse_uint(last, strlen(last), 7, &b) ||
            a < 1 || b < 1)
            return fail(error, where,
                        _("“%s” is not a day from 1 (Sunday) to 7 (Saturday) or a range of them"),
                        items[i]);
        /* A range may wrap the week: 6-2 is Friday to Monday. */
        for (guint d = (guint)a;; d = d % 7 + 1) {
            c->days |= 1u << d;
            if (d == (guint)b)
                break;
        }
    }
    if (c->days == 0)
        return fail(error, where, _("no day given: 1 (Sunday) to 7 (Saturday)"));
    return TRUE;
}

static gboolean
read_collectors(Condition *c, const char *value, GError **error, const Where *where)
{
    g_auto(GStrv) items = split_list(value, TRUE);

    c->ids = g_array_new(FALSE, FALSE, sizeof(gint64));
    for (guint i = 0; items[i] != NULL; i++) {
        guint64 id;
        if (!parse_uint(items[i], strlen(items[i]), G_MAXINT64, &id))
            return fail(error, where, _("“%s” is not a collector number"), items[i]);
        gint64 v = (gint64)id;
        g_array_append_val(c->ids, v);
    }
    if (c->ids->len == 0)
        return fail(error, where, _("no collector number given"));
    return TRUE;
}

static gboolean
read_recipients(Condition *c, const char *value, GError **error, const Where *where)
{
    g_auto(GStrv) items = split_list(value, TRUE);

    c->patterns = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; items[i] != NULL; i++)
        g_ptr_array_add(c->patterns, g_strdup(items[i]));
    if (c->patterns->len == 0)
        return fail(error, where, _("no recipient pattern given"));
    return TRUE;
}

static gboolean
read_action(CollectorRule *rule, const char *value, GError **error, const Where *where)
{
    for (guint i = 0; i < G_N_ELEMENTS(actions); i++) {
        if (g_ascii_strcasecmp(value, actions[i].name) == 0) {
            rule->action = (CollectorRuleAction)i;
            return TRUE;
        }
    }
    g_autoptr(GString) names = g_string_new(NULL);
    for (guint i = 0; i < G_N_ELEMENTS(actions); i++)
        g_string_append_printf(names, "%s%s", i > 0 ? ", " : "", actions[i].name);
    return fail(error, where, _("“%s” is not an action: use one of %s"), value, names->str);
}

/* ---- one rule ---- */

static gboolean
read_condition(CollectorRules *rules, CollectorRule *rule, const char *key, const char *value,
               GError **error, const Where *where)
{
    g_autoptr(GPtrArray) hold = g_ptr_array_new_with_free_func(condition_free);
    Condition *c = g_new0(Condition, 1);
    gboolean bool_value;

    g_ptr_array_add(hold, c);
    if (g_ascii_strncasecmp(key, HEADER_PREFIX, strlen(HEADER_PREFIX)) == 0) {
        const char *name = key + strlen(HEADER_PREFIX);
        if (!collector_header_name_valid(name, -1))
            return fail(error, where, _("“%s” is not a header field name"), name);
        c->kind = COND_HEADER;
        c->header = g_strdup(name);
        c->substring = strpbrk(value, "*?") == NULL;
        g_autofree char *blanks = single_blanks(value);
        if (c->substring) {
            g_autofree char *valid = g_utf8_make_valid(blanks, -1);
            c->pattern = g_utf8_casefold(valid, -1);
        } else {
            c->pattern = g_steal_pointer(&blanks);
        }
    } else if (g_ascii_strcasecmp(key, "size") == 0) {
        c->kind = COND_SIZE;
        if (!parse_size(value, &c->size))
            return fail(error, where, _("“%s” is not a size in octets like 500000, 500K or 2M"),
                        value);
    } else if (g_ascii_strcasecmp(key, "time") == 0) {
        c->kind = COND_TIME;
        if (!read_time(c, value, error, where))
            return FALSE;
    } else if (g_ascii_strcasecmp(key, "day") == 0) {
        c->kind = COND_DAY;
        if (!read_days(c, value, error, where))
            return FALSE;
    } else if (g_ascii_strcasecmp(key, "recipient") == 0) {
        c->kind = COND_RECIPIENT;
        if (!read_recipients(c, value, error, where))
            return FALSE;
        rules->need_recipients = TRUE;
    } else if (g_ascii_strcasecmp(key, "collector") == 0) {
        c->kind = COND_COLLECTOR;
        if (!read_collectors(c, value, error, where))
            return FALSE;
    } else if (g_ascii_strcasecmp(key, "valid_rcpts") == 0 ||
               g_ascii_strcasecmp(key, "invalid_rcpts") == 0) {
        c->kind = g_ascii_strcasecmp(key, "valid_rcpts") == 0 ? COND_VALID : COND_INVALID;
        if (!parse_bool(value, &bool_value))
            return fail(error, where, _("“%s” is not yes or no"), value);
        c->want = bool_value;
        rules->need_recipients = TRUE;
    } else {
        return fail(error, where,
                    _("unknown key; a rule takes enabled, match, action, target and the "
                      "conditions header:NAME, size, time, day, recipient, collector, "
                      "valid_rcpts and invalid_rcpts"));
    }
    g_ptr_array_add(rule->conditions, g_ptr_array_steal_index(hold, 0));
    return TRUE;
}

static CollectorRule *
read_rule(CollectorRules *rules, GKeyFile *kf, const char *group, const char *file, GError **error)
{
    Where where = { file, group, NULL };

    if (strncmp(group, RULE_PREFIX, strlen(RULE_PREFIX)) != 0) {
        g_set_error(error, COLLECTOR_RULES_ERROR, COLLECTOR_RULES_ERROR_INVALID,
                    _("%s: group “[%s]” is not a rule: write [rule NAME]"), file, group);
        return NULL;
    }
    g_autofree char *name = g_strstrip(g_strdup(group + strlen(RULE_PREFIX)));
    if (*name == '\0') {
        g_set_error(error, COLLECTOR_RULES_ERROR, COLLECTOR_RULES_ERROR_INVALID,
                    _("%s: group “[%s]” has no rule name: write [rule NAME]"), file, group);
        return NULL;
    }
    where.rule = name;

    CollectorRule *rule = g_new0(CollectorRule, 1);
    rule->enabled = TRUE;
    gboolean has_action = FALSE;
    rule->conditions = g_ptr_array_new_with_free_func(condition_free);
    g_autoptr(GPtrArray) hold = g_ptr_array_new_with_free_func(rule_free);
    g_ptr_array_add(hold, rule);

    g_auto(GStrv) keys = g_key_file_get_keys(kf, group, NULL, NULL);
    for (guint i = 0; keys != NULL && keys[i] != NULL; i++) {
        const char *key = keys[i];
        /* Raw: a pattern's backslashes stay as written. */
        g_autofree char *raw = g_key_file_get_value(kf, group, key, NULL);
        g_autofree char *value = g_strstrip(g_strdup(raw != NULL ? raw : ""));
        gboolean b;

        where.key = key;
        if (g_ascii_strcasecmp(key, "enabled") == 0) {
            if (!parse_bool(value, &b)) {
                fail(error, &where, _("“%s” is not yes or no"), value);
                return NULL;
            }
            rule->enabled = b;
        } else if (g_ascii_strcasecmp(key, "match") == 0) {
            if (g_ascii_strcasecmp(value, "all") == 0) {
                rule->any = FALSE;
            } else if (g_ascii_strcasecmp(value, "any") == 0) {
                rule->any = TRUE;
            } else {
                fail(error, &where, _("“%s” is not all or any"), value);
                return NULL;
            }
        } else if (g_ascii_strcasecmp(key, "action") == 0) {
            if (!read_action(rule, value, error, &where))
                return NULL;
            has_action = TRUE;
        } else if (g_ascii_strcasecmp(key, "target") == 0) {
            gboolean bad = *value == '\0';
            for (const char *p = value; *p != '\0'; p++)
                bad = bad || (guchar)*p <= 32 || *p == 127;
            if (bad) {
                fail(error, &where, _("“%s” is not a user, list or address"), value);
                return NULL;
            }
            rule->target = g_strdup(value);
        } else if (!read_condition(rules, rule, key, value, error, &where)) {
            return NULL;
        }
    }

    if (!has_action) {
        where.key = "action";
        fail(error, &where, _("the rule has no action"));
        return NULL;
    }
    where.key = "target";
    if (actions[rule->action].target && rule->target == NULL) {
        fail(error, &where, _("action %s needs a target (a user, list or address)"),
             actions[rule->action].name);
        return NULL;
    }
    if (!actions[rule->action].target && rule->target != NULL) {
        fail(error, &where, _("action %s takes no target"), actions[rule->action].name);
        return NULL;
    }
    rule->name = g_steal_pointer(&name);
    return g_ptr_array_steal_index(hold, 0);
}

/* GKeyFile would merge a repeated [rule NAME] into one rule and keep the
 * last of a repeated key: both would lose what the administrator wrote.
 * Reads the (already valid) key file as GKeyFile does, line by line. */
static gboolean
check_repeats(const char *data, gsize len, const char *file, GError **error)
{
    g_autofree char *text = g_strndup(data, len);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    g_autoptr(GHashTable) groups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    g_autoptr(GHashTable) keys = NULL;
    g_autofree char *group = NULL;

    for (guint i = 0; lines[i] != NULL; i++) {
        char *line = g_strstrip(lines[i]);
        if (*line == '\0' || *line == '#')
            continue;
        if (*line == '[') {
            char *close = strrchr(line, ']');
            g_free(group);
            group = g_strndup(line + 1, close != NULL ? (gsize)(close - line - 1) : strlen(line));
            if (g_hash_table_contains(groups, group)) {
                const char *name =
                    g_str_has_prefix(group, RULE_PREFIX) ? group + strlen(RULE_PREFIX) : group;
                g_set_error(error, COLLECTOR_RULES_ERROR, COLLECTOR_RULES_ERROR_INVALID,
                            _("%s: rule “%s” is defined twice"), file, name);
                return FALSE;
            }
            g_hash_table_add(groups, g_strdup(group));
            g_clear_pointer(&keys, g_hash_table_unref);
            keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
            continue;
        }
        char *eq = strchr(line, '=');
        if (eq == NULL || keys == NULL)
            continue;
        g_autofree char *key = g_strstrip(g_strndup(line, (gsize)(eq - line)));
        if (g_hash_table_contains(keys, key)) {
            Where where = { file,
                            g_str_has_prefix(group, RULE_PREFIX) ? group + strlen(RULE_PREFIX)
                                                                 : group,
                            key };
            return fail(error, &where,
                        _("the key appears twice; for another pattern write another rule, or "
                          "use wildcards"));
        }
        g_hash_table_add(keys, g_steal_pointer(&key));
    }
    return TRUE;
}

CollectorRules *
collector_rules_parse(const char *data, gsize len, const char *filename, GError **error)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    g_autoptr(GError) local = NULL;

    if (!g_key_file_load_from_data(kf, data != NULL ? data : "", data != NULL ? len : 0,
                                   G_KEY_FILE_NONE, &local)) {
        g_set_error(error, COLLECTOR_RULES_ERROR, COLLECTOR_RULES_ERROR_SYNTAX, "%s: %s", filename,
                    local->message);
        return NULL;
    }
    if (data != NULL && !check_repeats(data, len, filename, error))
        return NULL;

    CollectorRules *rules = g_new0(CollectorRules, 1);
    rules->rules = g_ptr_array_new_with_free_func(rule_free);
    g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
    for (guint i = 0; groups[i] != NULL; i++) {
        CollectorRule *rule = read_rule(rules, kf, groups[i], filename, error);
        if (rule == NULL) {
            collector_rules_free(rules);
            return NULL;
        }
        g_ptr_array_add(rules->rules, rule);
    }
    return rules;
}

CollectorRules *
collector_rules_load(const char *path, GError **error)
{
    g_autofree char *data = NULL;
    gsize len = 0;

    if (!g_file_get_contents(path, &data, &len, error))
        return NULL;
    return collector_rules_parse(data, len, path, error);
}

guint
collector_rules_count(const CollectorRules *rules)
{
    return rules->rules->len;
}

gboolean
collector_rules_need_recipients(const CollectorRules *rules)
{
    return rules->need_recipients;
}

const char *
collector_rule_get_name(const CollectorRule *rule)
{
    return rule->name;
}

CollectorRuleAction
collector_rule_get_action(const CollectorRule *rule)
{
    return rule->action;
}

const char *
collector_rule_get_target(const CollectorRule *rule)
{
    return rule->target;
}

/* ---- evaluation ---- */

static gboolean
text_matches(const Condition *c, const char *text)
{
    g_autofree char *blanks = single_blanks(text);

    if (!c->substring)
        return collector_wildcard_match(c->pattern, blanks);
    g_autofree char *valid = g_utf8_make_valid(blanks, -1);
    g_autofree char *folded = g_utf8_casefold(valid, -1);
    return strstr(folded, c->pattern) != NULL;
}

static gboolean
header_matches(const Condition *c, const CollectorHeaders *headers)
{
    if (headers == NULL)
        return FALSE;
    for (guint i = 0; i < headers->fields->len; i++) {
        const CollectorHeader *h = headers->fields->pdata[i];
        if (g_ascii_strcasecmp(h->name, c->header) != 0)
            continue;
        if (text_matches(c, h->value))
            return TRUE;
        /* "=?UTF-8?B?...?=" as the reader sees it. */
        if (strstr(h->value, "=?") != NULL || !g_utf8_validate(h->value, -1, NULL)) {
            g_autofree char *decoded = collector_header_decode(h->value);
            if (text_matches(c, decoded))
                return TRUE;
        }
    }
    return FALSE;
}

static gboolean
recipient_matches(const Condition *c, const CollectorMessageSummary *msg)
{
    for (guint i = 0; i < msg->n_recipients; i++) {
        const char *address = msg->recipients[i].address;
        if (address == NULL)
            continue;
        const char *at = strrchr(address, '@');
        g_autofree char *local =
            g_strndup(address, at != NULL ? (gsize)(at - address) : strlen(address));
        for (guint k = 0; k < c->patterns->len; k++) {
            const char *pattern = c->patterns->pdata[k];
            if (collector_wildcard_match(pattern, strchr(pattern, '@') != NULL ? address : local))
                return TRUE;
        }
    }
    return FALSE;
}

static gboolean
condition_matches(const Condition *c, const CollectorMessageSummary *msg)
{
    switch (c->kind) {
    case COND_HEADER:
        return header_matches(c, msg->headers);
    case COND_SIZE:
        return msg->size >= c->size;
    case COND_TIME: {
        if (msg->now == NULL)
            return FALSE;
        guint t = (guint)(g_date_time_get_hour(msg->now) * 60 + g_date_time_get_minute(msg->now));
        for (guint i = 0; i < c->windows->len; i++) {
            const Window *w = &g_array_index(c->windows, Window, i);
            if (w->start <= w->end ? (t >= w->start && t <= w->end)
                                   : (t >= w->start || t <= w->end))
                return TRUE;
        }
        return FALSE;
    }
    case COND_DAY: {
        if (msg->now == NULL)
            return FALSE;
        /* GLib: 1 = Monday ... 7 = Sunday; VPOP3: 1 = Sunday ... 7 = Saturday. */
        guint day = (guint)g_date_time_get_day_of_week(msg->now) % 7 + 1;
        return (c->days & (1u << day)) != 0;
    }
    case COND_RECIPIENT:
        return recipient_matches(c, msg);
    case COND_COLLECTOR:
        for (guint i = 0; i < c->ids->len; i++) {
            if (g_array_index(c->ids, gint64, i) == msg->collector_id)
                return TRUE;
        }
        return FALSE;
    case COND_VALID:
    case COND_INVALID: {
        gboolean found = FALSE;
        for (guint i = 0; i < msg->n_recipients && !found; i++)
            found = msg->recipients[i].valid == (c->kind == COND_VALID);
        return found == c->want;
    }
    }
    return FALSE;
}

static gboolean
rule_matches(const CollectorRule *rule, const CollectorMessageSummary *msg)
{
    if (rule->conditions->len == 0)
        return TRUE;
    for (guint i = 0; i < rule->conditions->len; i++) {
        gboolean m = condition_matches(rule->conditions->pdata[i], msg);
        if (rule->any && m)
            return TRUE;
        if (!rule->any && !m)
            return FALSE;
    }
    return !rule->any;
}

const CollectorRule *
collector_rules_evaluate(const CollectorRules *rules, const CollectorMessageSummary *msg)
{
    if (rules == NULL)
        return NULL;
    for (guint i = 0; i < rules->rules->len; i++) {
        const CollectorRule *rule = rules->rules->pdata[i];
        if (rule->enabled && rule_matches(rule, msg))
            return rule;
    }
    return NULL;
}
