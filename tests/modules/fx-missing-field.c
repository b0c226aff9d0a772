/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A descriptor without a licence. */
#include "postroom-config.h"

#include <postroom/postroom-plugin.h>

static gboolean
fx_missing_field_init(PrModule *self, PrHost *host, GError **error)
{
    return TRUE;
}

PR_MODULE_DEFINE(fx_missing_field, .description = "no licence fixture", .version = "1.0",
                 .init = fx_missing_field_init)
