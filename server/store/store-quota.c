/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "store-quota.h"

#include <glib/gi18n-lib.h>

#include "store-queries.h"

gboolean
store_quota_check(StoreConn *c, gint64 user_id, gint64 added, GError **error)
{
    /* Nothing added (a MOVE within the owner's folders, an empty COPY):
     * never refused, even over the quota, so a full mailbox can still be
     * tidied up. */
    if (added <= 0)
        return TRUE;
    g_autoptr(GdaDataModel) m =
        store_conn_select(c, Q_USER_QUOTA_STATE, error, "id", user_id, NULL);
    if (m == NULL)
        return FALSE;
    if (gda_data_model_get_n_rows(m) != 1) {
        g_set_error_literal(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND,
                            _("The folder's owner no longer exists."));
        return FALSE;
    }
    gint64 used = store_model_int64(m, 0, 0);
    gint64 quota = store_model_int64(m, 1, 0);
    if (quota > 0 && used > quota) {
        g_autofree char *used_text = g_format_size((guint64)used);
        g_autofree char *quota_text = g_format_size((guint64)quota);
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_OVER_QUOTA,
                    _("The mailbox would hold %s, over its quota of %s."), used_text, quota_text);
        return FALSE;
    }
    return TRUE;
}
