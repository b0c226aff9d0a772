/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The file is fx_wrongname.so but the descriptor says fx_other. */
#include "postroom-config.h"

#include <postroom/postroom-plugin.h>

static gboolean
fx_wrongname_init(PrModule *self, PrHost *host, GError **error)
{
    return TRUE;
}

G_MODULE_EXPORT const PrModuleDesc *pr_module_fx_wrongname_get_desc(void);

const PrModuleDesc *
pr_module_fx_wrongname_get_desc(void)
{
    static const PrModuleDesc desc = {
        .abi_major = PR_MODULE_ABI_MAJOR,
        .abi_minor = PR_MODULE_ABI_MINOR,
        .struct_size = sizeof(PrModuleDesc),
        .name = "fx_other",
        .description = "wrong name fixture",
        .version = "1.0",
        .license = "MIT",
        .init = fx_wrongname_init,
    };
    return &desc;
}
