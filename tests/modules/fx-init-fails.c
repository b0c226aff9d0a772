/* SPDX-License-Identifier: GPL-3.0-or-later */
/* init fails with an error; deinit must then never run. */
#include "postroom-config.h"

#include <postroom/postroom-plugin.h>

#include "fixture-order.h"

static gboolean
fx_init_fails_init(PrModule *self, PrHost *host, GError **error)
{
    fixture_record("init", "fx_init_fails");
    g_set_error_literal(error, g_quark_from_static_string("fx-init-fails"), 1,
                        "fixture refuses to start");
    return FALSE;
}

static void
fx_init_fails_deinit(PrModule *self, PrHost *host)
{
    fixture_record("deinit", "fx_init_fails");
}

PR_MODULE_DEFINE(fx_init_fails, .description = "failing fixture", .version = "1.0",
                 .license = "MIT", .init = fx_init_fails_init, .deinit = fx_init_fails_deinit)
