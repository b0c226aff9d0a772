/* SPDX-License-Identifier: GPL-3.0-or-later */
/* A shared object that is not a module: it exports no descriptor getter. */
#include "postroom-config.h"

#include <glib.h>
#include <gmodule.h>

G_MODULE_EXPORT int fx_nodesc_something(void);

int
fx_nodesc_something(void)
{
    return 42;
}
