/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

G_DEFINE_QUARK(pr - config - error - quark, pr_config_error)

typedef struct {
    char *path;
    GKeyFile *keyfile;
    char **lines; /* the raw text, to name the line of a bad key */
} ConfigFile;

typedef struct {
    const PrSettingSpec *spec;
    const char *owner; /* "host" or a module name */
} KnownKey;

struct _Config {
    gatomicrefcount ref;
    char *path;
    GPtrArray *files;   /* ConfigFile*, in reading order */
    GKeyFile *merged;   /* later files override earlier ones */
    GHashTable *known;  /* "group\nkey" -> KnownKey*, from the schemas */
    GHashTable *owners; /* group -> owner name, for "unknown key" hints */
};

static void
config_file_free(ConfigFile *file)
{
    g_free(file->path);
    g_key_file_unref(file->keyfile);
    g_strfreev(file->lines);
    g_free(file);
}

static char *
slot(const char *group, const char *key)
{
    return g_strconcat(group, "\n", key, NULL);
}

/* The 1-based line of @key in @group of @file, 0 if it cannot be found
 * (GKeyFile keeps no positions). */
static int
config_file_find_line(ConfigFile *file, const char *group, const char *key)
{
    gboolean in_group = FALSE;
    int group_line = 0;

    for (int i = 0; file->lines[i] != NULL; i++) {
        const char *l = file->lines[i];
        while (g_ascii_isspace(*l))
            l++;
        if (*l == '[') {
            const char *end = strchr(l, ']');
            in_group = end != NULL && (gsize)(end - l - 1) == strlen(group) &&
                       strncmp(l + 1, group, end - l - 1) == 0;
            if (in_group)
                group_line = i + 1;
            continue;
        }
        if (in_group && key != NULL && g_str_has_prefix(l, key)) {
            const char *rest = l + strlen(key);
            while (*rest == ' ' || *rest == '\t')
                rest++;
            if (*rest == '=')
                return i + 1;
        }
    }
    return key == NULL ? group_line : 0;
}

static ConfigFile *
config_file_load(const char *path, GError **error)
{
    g_autofree char *text = NULL;
    gsize len = 0;
    g_autoptr(GError) local = NULL;

    if (!g_file_get_contents(path, &text, &len, &local)) {
        g_set_error(error, PR_CONFIG_ERROR, PR_CONFIG_ERROR_IO,
                    _("Cannot read the configuration file %s: %s"), path, local->message);
        return NULL;
    }
    ConfigFile *file = g_new0(ConfigFile, 1);
    file->path = g_strdup(path);
    file->keyfile = g_key_file_new();
    file->lines = g_strsplit(text, "\n", -1);
    if (!g_key_file_load_from_data(file->keyfile, text, len, G_KEY_FILE_NONE, &local)) {
        g_set_error(error, PR_CONFIG_ERROR, PR_CONFIG_ERROR_PARSE,
                    _("%s is not a valid configuration file: %s"), path, local->message);
        config_file_free(file);
        return NULL;
    }
    return file;
}

static void
config_merge(Config *config, ConfigFile *file)
{
    g_auto(GStrv) groups = g_key_file_get_groups(file->keyfile, NULL);
    for (int g = 0; groups[g] != NULL; g++) {
        g_auto(GStrv) keys = g_key_file_get_keys(file->keyfile, groups[g], NULL, NULL);
        for (int k = 0; keys != NULL && keys[k] != NULL; k++) {
            g_autofree char *raw = g_key_file_get_value(file->keyfile, groups[g], keys[k], NULL);
            g_key_file_set_value(config->merged, groups[g], keys[k], raw);
        }
    }
}

static int
compare_strings(gconstpointer a, gconstpointer b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
config_learn_schema(Config *config, const char *owner, const char *default_group,
                    const PrSettingSpec *specs)
{
    for (const PrSettingSpec *s = specs; s != NULL && s->key != NULL; s++) {
        const char *group = s->group != NULL ? s->group : default_group;
        char *name = slot(group, s->key);
        if (g_hash_table_contains(config->known, name)) {
            g_free(name);
            continue;
        }
        KnownKey *known = g_new0(KnownKey, 1);
        known->spec = s;
        known->owner = owner;
        g_hash_table_insert(config->known, name, known);
        if (!g_hash_table_contains(config->owners, group))
            g_hash_table_insert(config->owners, g_strdup(group), (gpointer)owner);
    }
}

Config *
config_load(const char *path, GError **error)
{
    g_autoptr(Config) config = g_new0(Config, 1);
    g_atomic_ref_count_init(&config->ref);
    config->path = g_strdup(path);
    config->files = g_ptr_array_new_with_free_func((GDestroyNotify)config_file_free);
    config->merged = g_key_file_new();
    config->known = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    config->owners = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    config_learn_schema(config, "host", "server", config_host_schema());

    ConfigFile *main_file = config_file_load(path, error);
    if (main_file == NULL)
        return NULL;
    g_ptr_array_add(config->files, main_file);
    config_merge(config, main_file);

    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *confd = g_build_filename(dir, "conf.d", NULL);
    g_autoptr(GDir) d = g_dir_open(confd, 0, NULL);
    if (d != NULL) {
        g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
        const char *name;
        while ((name = g_dir_read_name(d)) != NULL) {
            if (g_str_has_suffix(name, ".conf") && name[0] != '.')
                g_ptr_array_add(names, g_strdup(name));
        }
        g_ptr_array_sort(names, compare_strings);
        for (guint i = 0; i < names->len; i++) {
            g_autofree char *p = g_build_filename(confd, names->pdata[i], NULL);
            ConfigFile *file = config_file_load(p, error);
            if (file == NULL)
                return NULL;
            g_ptr_array_add(config->files, file);
            config_merge(config, file);
        }
    }
    return g_steal_pointer(&config);
}

Config *
config_ref(Config *config)
{
    g_atomic_ref_count_inc(&config->ref);
    return config;
}

void
config_unref(Config *config)
{
    if (config == NULL || !g_atomic_ref_count_dec(&config->ref))
        return;
    g_free(config->path);
    g_ptr_array_unref(config->files);
    g_key_file_unref(config->merged);
    g_hash_table_unref(config->known);
    g_hash_table_unref(config->owners);
    g_free(config);
}

const char *
config_get_path(Config *config)
{
    return config->path;
}

gboolean
config_parse_bool(const char *text, gboolean *out)
{
    static const char *const yes[] = { "true", "yes", "on", "1", NULL };
    static const char *const no[] = { "false", "no", "off", "0", NULL };
    for (int i = 0; yes[i] != NULL; i++) {
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

/* A non-negative number followed by one optional unit letter. */
static gboolean
parse_scaled(const char *text, const char *units, const gint64 *factors, gint64 *out)
{
    char *end = NULL;
    if (!g_ascii_isdigit(*text))
        return FALSE;
    errno = 0;
    guint64 n = g_ascii_strtoull(text, &end, 10);
    if (errno != 0)
        return FALSE;
    gint64 factor = 1;
    if (*end != '\0') {
        const char *u = strchr(units, g_ascii_toupper(*end));
        if (u == NULL || *end == '\0')
            return FALSE;
        factor = factors[u - units];
        end++;
        if (strchr(units, 'K') != NULL && g_ascii_toupper(*end) == 'B')
            end++;
        if (*end != '\0')
            return FALSE;
    }
    if (n > (guint64)(G_MAXINT64 / factor))
        return FALSE;
    *out = (gint64)n * factor;
    return TRUE;
}

gboolean
config_parse_size(const char *text, gint64 *out)
{
    static const gint64 factors[] = { 1, 1024, 1024 * 1024, 1024 * 1024 * 1024 };
    return parse_scaled(text, "BKMG", factors, out);
}

gboolean
config_parse_duration(const char *text, gint64 *out)
{
    static const gint64 factors[] = { 1, 60, 3600, 86400 };
    /* Units are matched upper-cased: S, M, H, D. */
    return parse_scaled(text, "SMHD", factors, out);
}

static gboolean
value_fits(const PrSettingSpec *spec, const char *value, char **expected)
{
    gint64 n = 0;
    gboolean b;
    gint64 max = spec->max > 0 ? spec->max : G_MAXINT64;

    switch (spec->type) {
    case PR_SETTING_STRING:
    case PR_SETTING_STRING_LIST:
        return TRUE;
    case PR_SETTING_PATH:
        if (*value == '\0' || g_path_is_absolute(value))
            return TRUE;
        *expected = g_strdup(_("an absolute path"));
        return FALSE;
    case PR_SETTING_BOOL:
        if (config_parse_bool(value, &b))
            return TRUE;
        *expected = g_strdup(_("true or false"));
        return FALSE;
    case PR_SETTING_ENUM:
        for (int i = 0; spec->choices != NULL && spec->choices[i] != NULL; i++) {
            if (g_ascii_strcasecmp(value, spec->choices[i]) == 0)
                return TRUE;
        }
        {
            g_autofree char *list = g_strjoinv(", ", (char **)spec->choices);
            *expected = g_strdup_printf(_("one of: %s"), list);
        }
        return FALSE;
    case PR_SETTING_INT:
        if (g_ascii_string_to_signed(value, 10, spec->min, max, &n, NULL))
            return TRUE;
        break;
    case PR_SETTING_SIZE:
        if (config_parse_size(value, &n) && n >= spec->min && n <= max)
            return TRUE;
        break;
    case PR_SETTING_DURATION:
        if (config_parse_duration(value, &n) && n >= spec->min && n <= max)
            return TRUE;
        break;
    }
    if (spec->max > 0)
        *expected = g_strdup_printf(_("a number from %lld to %lld"), (long long)spec->min,
                                    (long long)spec->max);
    else
        *expected = g_strdup_printf(_("a number of at least %lld"), (long long)spec->min);
    return FALSE;
}

/* The escapes GKeyFile reads in a string value: \s \n \t \r \\, and
 * \; \, kept for lists. */
static gboolean
escapes_valid(const char *raw)
{
    for (const char *p = raw; p != NULL && *p != '\0'; p++) {
        if (*p != '\\')
            continue;
        p++;
        if (*p == '\0' || strchr("sntr\\;,", *p) == NULL)
            return FALSE;
    }
    return TRUE;
}

static gboolean
config_file_validate(Config *config, ConfigFile *file, GError **error)
{
    g_auto(GStrv) groups = g_key_file_get_groups(file->keyfile, NULL);
    for (int g = 0; groups[g] != NULL; g++) {
        const char *group = groups[g];
        const char *owner = g_hash_table_lookup(config->owners, group);

        if (owner == NULL) {
            /* GKeyFile accepts names that are not UTF-8; messages must be. */
            g_autofree char *shown = g_utf8_make_valid(group, -1);
            g_set_error(error, PR_CONFIG_ERROR, PR_CONFIG_ERROR_UNKNOWN,
                        _("%s:%d: unknown group [%s]: no installed module uses it; check the "
                          "spelling or install the module that provides it"),
                        file->path, config_file_find_line(file, group, NULL), shown);
            return FALSE;
        }
        g_auto(GStrv) keys = g_key_file_get_keys(file->keyfile, group, NULL, NULL);
        for (int k = 0; keys != NULL && keys[k] != NULL; k++) {
            g_autofree char *name = slot(group, keys[k]);
            int line = config_file_find_line(file, group, keys[k]);
            KnownKey *known = g_hash_table_lookup(config->known, name);
            if (known == NULL) {
                g_autofree char *shown = g_utf8_make_valid(keys[k], -1);
                g_set_error(error, PR_CONFIG_ERROR, PR_CONFIG_ERROR_UNKNOWN,
                            _("%s:%d: unknown key “%s” in group [%s] (settings of %s); see "
                              "postroomd.conf(5) for the valid keys"),
                            file->path, line, shown, group, owner);
                return FALSE;
            }
            g_autoptr(GError) local = NULL;
            g_autofree char *raw = g_key_file_get_value(file->keyfile, group, keys[k], NULL);
            g_autofree char *value = NULL;
            g_autofree char *expected = NULL;
            /* GLib 2.74 sets its error twice (a warning) for a bad escape
             * followed by a backslash at the end: refuse those first. */
            if (!escapes_valid(raw))
                g_set_error_literal(&local, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                                    _("invalid escape sequence (use \\ for a backslash)"));
            else
                value = g_key_file_get_string(file->keyfile, group, keys[k], &local);
            if (value == NULL) {
                g_set_error(error, PR_CONFIG_ERROR, PR_CONFIG_ERROR_INVALID,
                            _("%s:%d: invalid value for key “%s” in group [%s] (setting of "
                              "%s): %s"),
                            file->path, line, keys[k], group, known->owner, local->message);
                return FALSE;
            }
            g_strstrip(value);
            if (!value_fits(known->spec, value, &expected)) {
                g_set_error(error, PR_CONFIG_ERROR, PR_CONFIG_ERROR_INVALID,
                            _("%s:%d: invalid value “%s” for key “%s” in group [%s] (setting of "
                              "%s): expected %s"),
                            file->path, line, value, keys[k], group, known->owner, expected);
                return FALSE;
            }
        }
    }
    return TRUE;
}

gboolean
config_validate(Config *config, GPtrArray *schemas, GError **error)
{
    for (guint i = 0; schemas != NULL && i < schemas->len; i++) {
        const ConfigSchema *schema = schemas->pdata[i];
        config_learn_schema(config, schema->owner, schema->owner_group, schema->specs);
        for (int s = 0; schema->services != NULL && schema->services[s] != NULL; s++) {
            config_learn_schema(config, schema->owner, schema->services[s],
                                config_service_schema());
        }
    }

    /* Each file is checked on its own, so an error names the file that has
     * the bad line even when a later file overrides the key. */
    for (guint f = 0; f < config->files->len; f++) {
        if (!config_file_validate(config, config->files->pdata[f], error))
            return FALSE;
    }
    return TRUE;
}

GPtrArray *
config_keep_static(Config *fresh, Config *old)
{
    GPtrArray *kept = g_ptr_array_new_with_free_func(g_free);
    GHashTableIter it;
    gpointer name, value;

    g_hash_table_iter_init(&it, fresh->known);
    while (g_hash_table_iter_next(&it, &name, &value)) {
        const KnownKey *known = value;
        if (known->spec->flags & PR_SETTING_FLAG_RELOADABLE)
            continue;
        g_auto(GStrv) parts = g_strsplit(name, "\n", 2);
        g_autofree char *was = g_key_file_get_value(old->merged, parts[0], parts[1], NULL);
        g_autofree char *now = g_key_file_get_value(fresh->merged, parts[0], parts[1], NULL);
        if (g_strcmp0(was, now) == 0)
            continue;
        if (was != NULL)
            g_key_file_set_value(fresh->merged, parts[0], parts[1], was);
        else
            g_key_file_remove_key(fresh->merged, parts[0], parts[1], NULL);
        g_ptr_array_add(kept, g_strdup_printf("[%s] %s", parts[0], parts[1]));
    }
    return kept;
}

static const PrSettingSpec *
lookup_spec(Config *config, const char *group, const char *key)
{
    g_autofree char *name = slot(group, key);
    KnownKey *known = g_hash_table_lookup(config->known, name);
    return known != NULL ? known->spec : NULL;
}

const char *
config_get_string(Config *config, const char *group, const char *key)
{
    const PrSettingSpec *spec = lookup_spec(config, group, key);
    g_autofree char *value = g_key_file_get_string(config->merged, group, key, NULL);

    if (value == NULL)
        return spec != NULL ? spec->default_value : NULL;
    g_strstrip(value);
    if (spec != NULL && spec->type == PR_SETTING_ENUM) {
        for (int i = 0; spec->choices[i] != NULL; i++) {
            if (g_ascii_strcasecmp(value, spec->choices[i]) == 0)
                return spec->choices[i];
        }
    }
    /* Interned so callers get a stable pointer without owning it; the set
     * of configuration values is small and bounded. */
    return g_intern_string(value);
}

gint64
config_get_int(Config *config, const char *group, const char *key)
{
    const PrSettingSpec *spec = lookup_spec(config, group, key);
    const char *text = config_get_string(config, group, key);
    gint64 n = 0;

    if (text == NULL || *text == '\0')
        return 0;
    if (spec != NULL && spec->type == PR_SETTING_SIZE)
        config_parse_size(text, &n);
    else if (spec != NULL && spec->type == PR_SETTING_DURATION)
        config_parse_duration(text, &n);
    else
        g_ascii_string_to_signed(text, 10, G_MININT64, G_MAXINT64, &n, NULL);
    return n;
}

gboolean
config_get_bool(Config *config, const char *group, const char *key)
{
    const char *text = config_get_string(config, group, key);
    gboolean b = FALSE;
    if (text != NULL)
        config_parse_bool(text, &b);
    return b;
}

char **
config_get_strv(Config *config, const char *group, const char *key)
{
    g_auto(GStrv) raw = NULL;
    g_autoptr(GStrvBuilder) out = g_strv_builder_new();

    if (g_key_file_has_key(config->merged, group, key, NULL)) {
        raw = g_key_file_get_string_list(config->merged, group, key, NULL, NULL);
    } else {
        const PrSettingSpec *spec = lookup_spec(config, group, key);
        if (spec != NULL && spec->default_value != NULL)
            raw = g_strsplit(spec->default_value, ";", -1);
    }
    for (int i = 0; raw != NULL && raw[i] != NULL; i++) {
        g_strstrip(raw[i]);
        if (*raw[i] != '\0')
            g_strv_builder_add(out, raw[i]);
    }
    return g_strv_builder_end(out);
}

gboolean
config_has_key(Config *config, const char *group, const char *key)
{
    return g_key_file_has_key(config->merged, group, key, NULL);
}

char **
config_get_groups(Config *config)
{
    return g_key_file_get_groups(config->merged, NULL);
}
