/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Built for a future, incompatible plugin ABI 2.0. */
#include "postroom-config.h"

#include <postroom/postroom-plugin.h>

static gboolean
fx_abi2_init(PrModule *self, PrHost *host, GError **error)
{
    return TRUE;
}

G_MODULE_EXPORT const PrModuleDesc *pr_module_fx_abi2_get_desc(void);

const PrModuleDesc *
pr_module_fx_abi2_get_desc(void)
{
    static const PrModuleDesc desc = {
        .abi_major = 2,
        .abi_minor = 0,
        .struct_size = sizeof(PrModuleDesc),
        .name = "fx_abi2",
        .description = "ABI 2 fixture",
        .version = "1.0",
        .license = "MIT",
        .init = fx_abi2_init,
    };
    return &desc;
}
