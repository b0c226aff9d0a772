/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Calls a function no library provides: shared_module() links it, and the
 * loader's immediate binding must refuse it at dlopen. */
#include "postroom-config.h"

#include <postroom/postroom-plugin.h>

extern int fx_function_nobody_defines(int x);

static gboolean
fx_undefined_symbol_init(PrModule *self, PrHost *host, GError **error)
{
    return fx_function_nobody_defines(1) == 1;
}

PR_MODULE_DEFINE(fx_undefined_symbol, .description = "undefined symbol fixture", .version = "1.0",
                 .license = "MIT", .init = fx_undefined_symbol_init)
