/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "host.h"

gboolean hooks_has_handlers(PrHost *host, const char *hook_name);
void hooks_forget_module(PrHost *host, PrModule *module);
void hooks_table_free(GHashTable *hooks);
