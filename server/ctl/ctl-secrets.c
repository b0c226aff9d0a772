/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "ctl.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "store/store-ops.h"
#include "store/store-secrets.h"

/* The secrets APOP and CRAM-MD5 need (store/store-secrets.h): stored by
 * 'user add' and 'user passwd' only while [auth] store_secrets=true, and
 * deleted by 'user drop-secret'. This tool says whether a user has one,
 * never what it is. */

gboolean
ctl_secrets_wanted(Ctl *ctl)
{
    return config_get_bool(ctl->config, "auth", "store_secrets") && !ctl_options.no_secret;
}

int
ctl_secrets_has(Ctl *ctl, const char *name, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autoptr(StoreUserSecret) s = store_user_secret_get(ctl->conn, name, &local);

    if (s == NULL) {
        if (g_error_matches(local, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND)) {
            g_set_error(error, CTL_ERROR, CTL_ERROR_NO_USER,
                        _("User %s does not exist; see 'postroomctl user list'."), name);
        } else {
            g_set_error(error, CTL_ERROR, CTL_ERROR_UNAVAILABLE, _("Database error: %s"),
                        local->message);
        }
        return -1;
    }
    return s->secret != NULL ? 1 : 0;
}

void
ctl_secrets_print_stored(const char *name)
{
    g_print(_("Stored a readable copy of the password of %s for APOP and CRAM-MD5 ([auth] "
              "store_secrets=true).\n"),
            name);
}

int
ctl_cmd_user_drop_secret(Ctl *ctl, char **args, GError **error)
{
    g_autoptr(GError) local = NULL;
    const char *name = args[0];
    gint dropped;

    if ((name == NULL) == !ctl_options.all) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_USAGE, _("Give either a user name or --all."));
        return -1;
    }
    if (!ctl_open_store(ctl, error))
        return -1;
    if (name != NULL) {
        g_autofree char *lname = g_ascii_strdown(name, -1);
        int had = ctl_secrets_has(ctl, lname, error);
        if (had < 0)
            return -1;
        dropped = had ? store_user_secret_drop(ctl->conn, lname, &local) : 0;
        if (dropped < 0) {
            g_set_error(error, CTL_ERROR, CTL_ERROR_UNAVAILABLE, _("Database error: %s"),
                        local->message);
            return -1;
        }
        if (dropped > 0)
            g_print(_("Deleted the stored APOP/CRAM-MD5 secret of user %s.\n"), lname);
        else
            g_print(_("User %s has no stored APOP/CRAM-MD5 secret.\n"), lname);
    } else {
        dropped = store_user_secret_drop(ctl->conn, NULL, &local);
        if (dropped < 0) {
            g_set_error(error, CTL_ERROR, CTL_ERROR_UNAVAILABLE, _("Database error: %s"),
                        local->message);
            return -1;
        }
        g_print(ngettext("Deleted %d stored APOP/CRAM-MD5 secret.\n",
                         "Deleted %d stored APOP/CRAM-MD5 secrets.\n", dropped),
                dropped);
    }
    if (config_get_bool(ctl->config, "auth", "store_secrets"))
        ctl_warn(_("[auth] store_secrets is still true: the next 'postroomctl user passwd' "
                   "stores a secret again."));
    return 0;
}
