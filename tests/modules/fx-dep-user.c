/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fx_dep_user requires fx_dep_base. */
#include "postroom-config.h"

#include <postroom/postroom-plugin.h>

#include "fixture-order.h"

static const char *const fx_dep_user_requires[] = { "fx_dep_base", NULL };

static gboolean
fx_dep_user_init(PrModule *self, PrHost *host, GError **error)
{
    fixture_record("init", "fx_dep_user");
    return TRUE;
}

static void
fx_dep_user_deinit(PrModule *self, PrHost *host)
{
    fixture_record("deinit", "fx_dep_user");
}

PR_MODULE_DEFINE(fx_dep_user, .description = "dependency fixture", .version = "1.0",
                 .license = "MIT", .requires = fx_dep_user_requires, .init = fx_dep_user_init,
                 .deinit = fx_dep_user_deinit)
