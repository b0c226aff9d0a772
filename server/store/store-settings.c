/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "store.h"

#include <glib/gi18n-lib.h>
#include <libgda/libgda.h>

static char *
non_empty(const char *value)
{
    return value != NULL && *value != '\0' ? g_strdup(value) : NULL;
}

gboolean
store_settings_from_config(StoreSettings *out, Config *config, GError **error)
{
    const char *provider = config_get_string(config, "store", "provider");
    const char *cnc = config_get_string(config, "store", "cnc");
    StoreSettings settings = { 0 };

    settings.provider = g_strdup(provider != NULL && *provider != '\0' ? provider : "SQLite");
    if (cnc != NULL && *cnc != '\0') {
        settings.cnc = g_strdup(cnc);
    } else if (g_ascii_strcasecmp(settings.provider, "SQLite") == 0) {
        const char *data_dir = config_get_string(config, "server", "data_dir");
        if (data_dir == NULL || *data_dir == '\0') {
            g_set_error(error, PR_CONFIG_ERROR, PR_CONFIG_ERROR_INVALID,
                        _("%s: [server] data_dir is empty, so there is no place for the SQLite "
                          "database; set data_dir or [store] cnc"),
                        config_get_path(config));
            store_settings_clear(&settings);
            return FALSE;
        }
        /* Values of a libgda connection string are RFC 1738-encoded, so a
         * ';' or '%' in the path cannot split or corrupt the string. */
        g_autofree char *dir = gda_rfc1738_encode(data_dir);
        settings.cnc = g_strdup_printf("DB_DIR=%s;DB_NAME=postroom", dir);
    } else {
        g_set_error(error, PR_CONFIG_ERROR, PR_CONFIG_ERROR_INVALID,
                    _("%s: [store] cnc is empty; a %s store needs a connection string such as "
                      "HOST=/run/postgresql;DB_NAME=postroom"),
                    config_get_path(config), settings.provider);
        store_settings_clear(&settings);
        return FALSE;
    }
    settings.username = non_empty(config_get_string(config, "store", "username"));
    settings.password_file = non_empty(config_get_string(config, "store", "password_file"));
    settings.workers = (int)CLAMP(config_get_int(config, "store", "workers"), 1, 64);

    *out = settings;
    return TRUE;
}

void
store_settings_clear(StoreSettings *settings)
{
    g_clear_pointer(&settings->provider, g_free);
    g_clear_pointer(&settings->cnc, g_free);
    g_clear_pointer(&settings->username, g_free);
    g_clear_pointer(&settings->password_file, g_free);
    settings->workers = 0;
}
