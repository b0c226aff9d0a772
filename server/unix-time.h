/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The store keeps times as unix seconds (schema 001). */

#include <glib.h>

static inline gint64
unix_now(void)
{
    return g_get_real_time() / G_USEC_PER_SEC;
}
