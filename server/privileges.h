/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <sys/types.h>

/* Looks up @user (and @group, or the user's primary group). An empty @user
 * means "stay who we are" and succeeds with the current ids. */
gboolean privileges_lookup(const char *user, const char *group, uid_t *uid, gid_t *gid,
                           GError **error);
/* Switches to @user for good, after the listening sockets are bound. */
gboolean privileges_drop(const char *user, const char *group, GError **error);
