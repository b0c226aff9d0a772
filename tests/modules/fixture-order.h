/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Fixtures cannot see the test's symbols (or the host's), so they report
 * the order of init and deinit through an environment variable the test
 * reads: "init:NAME;deinit:NAME;...". */

#include <glib.h>

#define FIXTURE_ORDER_VAR "PR_TEST_ORDER"

static inline void
fixture_record(const char *event, const char *name)
{
    const char *old = g_getenv(FIXTURE_ORDER_VAR);
    g_autofree char *now = g_strconcat(old != NULL ? old : "", event, ":", name, ";", NULL);
    g_setenv(FIXTURE_ORDER_VAR, now, TRUE);
}
