/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "ctl.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "store/store-folder-acl.h"
#include "store/store-ops.h"

/* folder acl list, set, delete: who may use a user's folder as a shared
 * folder ("#users/USER/FOLDER" for the others, RFC 4314 rights). The
 * administrator acts as the folder's owner, through the same store
 * functions IMAP's GETACL, SETACL and DELETEACL use. */

static void
set_store_error(GError **error, const GError *local)
{
    /* Unknown rights and identifiers are the administrator's input. */
    CtlError code = local->code == PR_STORE_ERROR_NOT_FOUND ? CTL_ERROR_NO_USER
                    : local->code == PR_STORE_ERROR_FAILED  ? CTL_ERROR_DATA
                                                            : CTL_ERROR_SOFTWARE;
    g_set_error_literal(error, CTL_ERROR, code, local->message);
}

/* The owner's name, checked: EX_NOUSER when there is no such user. */
static char *
owner_argument(Ctl *ctl, const char *arg, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *name = ctl_check_user_name(arg, error);
    if (name == NULL || !ctl_open_store(ctl, error))
        return NULL;
    g_autoptr(StoreUser) user = store_user_get(ctl->conn, name, &local);
    if (user == NULL) {
        if (local != NULL && local->code != PR_STORE_ERROR_NOT_FOUND) {
            set_store_error(error, local);
            return NULL;
        }
        g_set_error(error, CTL_ERROR, CTL_ERROR_NO_USER,
                    _("The user “%s” does not exist; see 'postroomctl user list'."), name);
        return NULL;
    }
    return g_steal_pointer(&name);
}

/* Folder names are the owner's own ("Work", "INBOX/Archive"), not the
 * "#users/..." form other users see. */
static gboolean
check_folder(const char *folder, GError **error)
{
    if (*folder == '\0' || g_str_has_prefix(folder, PR_FOLDER_SHARED_PREFIX)) {
        g_set_error(error, CTL_ERROR, CTL_ERROR_USAGE,
                    _("Name the folder as its owner sees it (“Work”, not “%sUSER/Work”)."),
                    PR_FOLDER_SHARED_PREFIX);
        return FALSE;
    }
    return TRUE;
}

static int
acl_list(Ctl *ctl, const char *owner, const char *folder, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autoptr(GPtrArray) entries = store_folder_get_acl(ctl->conn, owner, folder, &local);
    if (entries == NULL) {
        set_store_error(error, local);
        return -1;
    }
    if (ctl->json) {
        g_autoptr(CtlJson) json = ctl_json_new();
        ctl_json_begin_array(json);
        for (guint i = 0; i < entries->len; i++) {
            PrFolderAclEntry *e = entries->pdata[i];
            ctl_json_begin_object(json);
            ctl_json_key(json, "identifier");
            ctl_json_string(json, e->identifier);
            ctl_json_key(json, "rights");
            ctl_json_string(json, e->rights);
            ctl_json_key(json, "owner");
            ctl_json_bool(json, i == 0);
            ctl_json_end_object(json);
        }
        ctl_json_end_array(json);
        return ctl_json_print(json, error) ? 0 : -1;
    }
    g_autoptr(CtlTable) table = ctl_table_new(2, _("IDENTIFIER"), _("RIGHTS"));
    for (guint i = 0; i < entries->len; i++) {
        PrFolderAclEntry *e = entries->pdata[i];
        g_autofree char *who =
            i == 0 ? g_strdup_printf(_("%s (owner)"), e->identifier) : ctl_printable(e->identifier);
        ctl_table_add_row(table, who, e->rights);
    }
    ctl_table_print(table);
    return 0;
}

int
ctl_cmd_folder_acl(Ctl *ctl, char **args, GError **error)
{
    static const struct {
        const char *verb;
        guint n_args;
    } verbs[] = { { "list", 3 }, { "set", 5 }, { "delete", 4 } };
    guint n = g_strv_length(args);
    gboolean known = FALSE;

    for (guint i = 0; i < G_N_ELEMENTS(verbs); i++) {
        if (strcmp(args[0], verbs[i].verb) != 0)
            continue;
        known = TRUE;
        if (n != verbs[i].n_args) {
            g_set_error(error, CTL_ERROR, CTL_ERROR_USAGE,
                        _("Wrong number of arguments for “folder acl %s”."), verbs[i].verb);
            return -1;
        }
    }
    if (!known) {
        g_autofree char *shown = ctl_printable(args[0]);
        g_set_error(error, CTL_ERROR, CTL_ERROR_USAGE,
                    _("Unknown action “%s”: use list, set or delete."), shown);
        return -1;
    }
    if (!check_folder(args[2], error))
        return -1;
    g_autofree char *owner = owner_argument(ctl, args[1], error);
    if (owner == NULL)
        return -1;
    if (strcmp(args[0], "list") == 0)
        return acl_list(ctl, owner, args[2], error);

    /* set and delete: the same store function, rights NULL deleting. */
    g_autoptr(GError) local = NULL;
    const char *rights = strcmp(args[0], "set") == 0 ? args[4] : NULL;
    if (!store_folder_set_acl(ctl->conn, owner, args[2], args[3], rights, &local)) {
        set_store_error(error, local);
        return -1;
    }
    if (ctl->json)
        return 0;
    g_autofree char *who = ctl_printable(args[3]);
    g_autofree char *folder = ctl_printable(args[2]);
    g_autofree char *now = NULL;
    g_autoptr(GPtrArray) entries = store_folder_get_acl(ctl->conn, owner, args[2], NULL);
    for (guint i = 1; entries != NULL && i < entries->len; i++) {
        PrFolderAclEntry *e = entries->pdata[i];
        if (g_ascii_strcasecmp(e->identifier, args[3]) == 0)
            now = g_strdup(e->rights);
    }
    if (now != NULL)
        g_print(_("%s now has the rights “%s” on %s's folder “%s”.\n"), who, now, owner, folder);
    else
        g_print(_("%s now has no entry on %s's folder “%s”.\n"), who, owner, folder);
    return 0;
}
