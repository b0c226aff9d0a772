/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Configuration: postroomd.conf plus the conf.d directory's .conf files in sorted order (a later
 * file overrides a key of an earlier one), validated against the settings
 * schema of the host and of every installed module, loaded or not. */

/* Build-time constants (GETTEXT_PACKAGE, LOCALEDIR, ...) come with this
 * header, so every file of the host gets them by including "config.h". */
#include "postroom-config.h"

#include <postroom/pr-module.h>

#define PR_CONFIG_ERROR (pr_config_error_quark())
GQuark pr_config_error_quark(void);

typedef enum {
    PR_CONFIG_ERROR_PARSE,   /* the file is not a valid key file */
    PR_CONFIG_ERROR_UNKNOWN, /* unknown group or key */
    PR_CONFIG_ERROR_INVALID, /* a value does not fit its type */
    PR_CONFIG_ERROR_IO,      /* a file could not be read */
} PrConfigError;

typedef struct _Config Config;

/* A schema and who owns it ("host" or a module name). */
typedef struct {
    const char *owner;
    const char *owner_group; /* the group a NULL spec->group means */
    const PrSettingSpec *specs;
    const char *const *services; /* groups that take the host's listener keys */
} ConfigSchema;

/* The host's own schema ([server], [modules], [store], [tls], [auth], [log],
 * [access]) and the keys every service group accepts. */
const PrSettingSpec *config_host_schema(void);
const PrSettingSpec *config_service_schema(void);

Config *config_load(const char *path, GError **error);
Config *config_ref(Config *config);
void config_unref(Config *config);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Config, config_unref)

const char *config_get_path(Config *config);

/* Validates every key of every file against the schemas (array of
 * ConfigSchema*). Errors name the file, line, group, key and owner. */
gboolean config_validate(Config *config, GPtrArray *schemas, GError **error);

/* After a reload: for every validated key without PR_SETTING_FLAG_RELOADABLE
 * whose value differs between @old and @fresh, puts the old value back into
 * @fresh, so a setting that needs a restart never half-applies. Returns the
 * "[group] key" names that were kept (free with g_ptr_array_unref). */
GPtrArray *config_keep_static(Config *fresh, Config *old);

/* Values: the file's value, else the schema default, else NULL/0/FALSE.
 * Only valid after config_validate(). */
const char *config_get_string(Config *config, const char *group, const char *key);
gint64 config_get_int(Config *config, const char *group, const char *key);
gboolean config_get_bool(Config *config, const char *group, const char *key);
char **config_get_strv(Config *config, const char *group, const char *key);
gboolean config_has_key(Config *config, const char *group, const char *key);
/* Groups present in the files. */
char **config_get_groups(Config *config);

/* Parsing helpers shared with validation. */
gboolean config_parse_size(const char *text, gint64 *out);
gboolean config_parse_duration(const char *text, gint64 *out);
gboolean config_parse_bool(const char *text, gboolean *out);
