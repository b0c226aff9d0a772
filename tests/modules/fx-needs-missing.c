/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fx_needs_missing requires fx_absent. */
#include "postroom-config.h"

#include <postroom/postroom-plugin.h>

#include "fixture-order.h"

static const char *const fx_needs_missing_requires[] = { "fx_absent", NULL };

static gboolean
fx_needs_missing_init(PrModule *self, PrHost *host, GError **error)
{
    fixture_record("init", "fx_needs_missing");
    return TRUE;
}

static void
fx_needs_missing_deinit(PrModule *self, PrHost *host)
{
    fixture_record("deinit", "fx_needs_missing");
}

PR_MODULE_DEFINE(fx_needs_missing, .description = "dependency fixture", .version = "1.0",
                 .license = "MIT", .requires = fx_needs_missing_requires,
                 .init = fx_needs_missing_init, .deinit = fx_needs_missing_deinit)
