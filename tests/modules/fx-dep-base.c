/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Required by fx_dep_user: initialised before it, finalised after it. */
#include "postroom-config.h"

#include <postroom/postroom-plugin.h>

#include "fixture-order.h"

static gboolean
fx_dep_base_init(PrModule *self, PrHost *host, GError **error)
{
    fixture_record("init", "fx_dep_base");
    return TRUE;
}

static void
fx_dep_base_deinit(PrModule *self, PrHost *host)
{
    fixture_record("deinit", "fx_dep_base");
}

PR_MODULE_DEFINE(fx_dep_base, .description = "base fixture", .version = "1.0", .license = "MIT",
                 .init = fx_dep_base_init, .deinit = fx_dep_base_deinit)
