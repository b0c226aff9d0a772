/* SPDX-License-Identifier: GPL-3.0-or-later */
/* fx_cycle_b requires fx_cycle_a. */
#include "postroom-config.h"

#include <postroom/postroom-plugin.h>

#include "fixture-order.h"

static const char *const fx_cycle_b_requires[] = { "fx_cycle_a", NULL };

static gboolean
fx_cycle_b_init(PrModule *self, PrHost *host, GError **error)
{
    fixture_record("init", "fx_cycle_b");
    return TRUE;
}

static void
fx_cycle_b_deinit(PrModule *self, PrHost *host)
{
    fixture_record("deinit", "fx_cycle_b");
}

PR_MODULE_DEFINE(fx_cycle_b, .description = "dependency fixture", .version = "1.0",
                 .license = "MIT", .requires = fx_cycle_b_requires, .init = fx_cycle_b_init,
                 .deinit = fx_cycle_b_deinit)
