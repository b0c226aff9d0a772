/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Built against a newer SDK minor than this host offers. */
#include "postroom-config.h"

#include <postroom/postroom-plugin.h>

static gboolean
fx_minor_newer_init(PrModule *self, PrHost *host, GError **error)
{
    return TRUE;
}

G_MODULE_EXPORT const PrModuleDesc *pr_module_fx_minor_newer_get_desc(void);

const PrModuleDesc *
pr_module_fx_minor_newer_get_desc(void)
{
    static const PrModuleDesc desc = {
        .abi_major = PR_MODULE_ABI_MAJOR,
        .abi_minor = PR_MODULE_ABI_MINOR + 1,
        .struct_size = sizeof(PrModuleDesc),
        .name = "fx_minor_newer",
        .description = "newer minor fixture",
        .version = "1.0",
        .license = "MIT",
        .init = fx_minor_newer_init,
    };
    return &desc;
}
