/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "privileges.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <gio/gio.h>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

gboolean
privileges_lookup(const char *user, const char *group, uid_t *uid, gid_t *gid, GError **error)
{
    *uid = getuid();
    *gid = getgid();
    if (user == NULL || *user == '\0')
        return TRUE;

    struct passwd *pw = getpwnam(user);
    if (pw == NULL) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                    _("[server] user=%s: no such user. Create it (useradd --system %s) or change "
                      "the setting"),
                    user, user);
        return FALSE;
    }
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    if (group != NULL && *group != '\0') {
        struct group *gr = getgrnam(group);
        if (gr == NULL) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                        _("[server] group=%s: no such group"), group);
            return FALSE;
        }
        *gid = gr->gr_gid;
    }
    return TRUE;
}

gboolean
privileges_drop(const char *user, const char *group, GError **error)
{
    uid_t uid;
    gid_t gid;

    if (user == NULL || *user == '\0')
        return TRUE;
    if (!privileges_lookup(user, group, &uid, &gid, error))
        return FALSE;
    if (getuid() == uid && geteuid() == uid)
        return TRUE;
    if (geteuid() != 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED,
                    _("cannot switch to user %s: the server was not started as root"), user);
        return FALSE;
    }
    /* Group list first, then gid, then uid: after setuid nothing else can
     * be changed. */
    if (initgroups(user, gid) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
        int saved = errno;
        g_set_error(error, G_IO_ERROR, g_io_error_from_errno(saved),
                    _("cannot switch to user %s: %s"), user, g_strerror(saved));
        return FALSE;
    }
    if (setuid(0) == 0) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED,
                    _("dropping privileges to %s did not stick; refusing to run"), user);
        return FALSE;
    }
    return TRUE;
}
