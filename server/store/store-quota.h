/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The quota check of a user's own changes (IMAP APPEND, COPY). Delivery
 * never makes it: VPOP3's quotas never refuse incoming mail. */

#include "store.h"

/* Called inside the change's transaction, after its Q_USER_USAGE_ADD of
 * @added octets to user @user_id (the folder's owner): the update holds
 * the user's row, so concurrent changes are checked one after the other.
 * Fails with PR_STORE_ERROR_OVER_QUOTA, for the caller to roll back, when
 * the change added octets and the usage now exceeds a non-zero quota. */
gboolean store_quota_check(StoreConn *c, gint64 user_id, gint64 added, GError **error);
