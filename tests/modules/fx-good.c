/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A valid module: one setting of every type, one service. */
#include "postroom-config.h"

#include <postroom/postroom-plugin.h>

static const char *const fx_good_services[] = { "fx_good_svc", NULL };
static const char *const fx_good_colours[] = { "red", "green", NULL };

static const PrSettingSpec fx_good_settings[] = {
    { NULL, "text", PR_SETTING_STRING, "hello", 0, 0, NULL, "a string" },
    { NULL, "count", PR_SETTING_INT, "3", 1, 10, NULL, "an int" },
    { NULL, "enabled", PR_SETTING_BOOL, "true", 0, 0, NULL, "a bool" },
    { NULL, "colour", PR_SETTING_ENUM, "red", 0, 0, fx_good_colours, "an enum" },
    { NULL, "names", PR_SETTING_STRING_LIST, "a;b", 0, 0, NULL, "a list" },
    { NULL, "dir", PR_SETTING_PATH, "/var/tmp", 0, 0, NULL, "a path" },
    { NULL, "limit", PR_SETTING_SIZE, "1M", 1024, 0, NULL, "a size" },
    { NULL, "timeout", PR_SETTING_DURATION, "5m", 1, 86400, NULL, "a duration" },
    { NULL }
};

static gboolean
fx_good_init(PrModule *self, PrHost *host, GError **error)
{
    return TRUE;
}

static void
fx_good_deinit(PrModule *self, PrHost *host)
{
}

PR_MODULE_DEFINE(fx_good, .description = "good fixture", .version = "1.0", .license = "MIT",
                 .services = fx_good_services, .settings = fx_good_settings, .init = fx_good_init,
                 .deinit = fx_good_deinit)
