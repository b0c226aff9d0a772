/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The ACL commands of RFC 4314 (SETACL, DELETEACL, GETACL, LISTRIGHTS,
 * MYRIGHTS) and the rights of the selected mailbox. Shared folders are
 * VPOP3 Enterprise's: another user's folder is "#users/OWNER/NAME"; the
 * host resolves such names and checks every right, so the module only
 * checks the syntax, asks the host and words its answer. LISTRIGHTS is
 * the module's own: every right but the owner's is optional and
 * independent here. */

#include "postroom-config.h"

#include <string.h>

#include "imap-write.h"
#include "imap.h"

/* The rights SETACL accepts: RFC 4314's, with the obsolete "c" and "d"
 * of RFC 2086 that the host maps to "k" and "xte" (§2.1.1). */
#define IMAP_ACL_SETACL_RIGHTS PR_FOLDER_RIGHTS_ALL "cd"

gboolean
imap_may(ImapSession *s, char right)
{
    const char *rights;

    if (s->mailbox == NULL)
        return FALSE;
    rights = pr_mailbox_get_rights(s->mailbox);
    return rights != NULL && strchr(rights, right) != NULL;
}

typedef enum {
    ACL_SET,
    ACL_DELETE,
    ACL_GET,
    ACL_LIST_RIGHTS,
    ACL_MY_RIGHTS,
} AclOp;

typedef struct {
    PrConnection *conn;
    AclOp op;
    char *name;       /* the store's name (UTF-8) */
    char *identifier; /* SETACL, DELETEACL, LISTRIGHTS */
} AclData;

static void
acl_data_free(AclData *data)
{
    pr_connection_unref(data->conn);
    g_free(data->name);
    g_free(data->identifier);
    g_free(data);
}

/* The owner of folder @name as @s sees it: the OWNER of
 * "#users/OWNER/NAME", else the session's user. */
static char *
folder_owner(ImapSession *s, const char *name)
{
    gsize prefix = strlen(PR_FOLDER_SHARED_PREFIX);
    const char *slash;

    if (g_ascii_strncasecmp(name, PR_FOLDER_SHARED_PREFIX, prefix) != 0)
        return g_strdup(s->login);
    name += prefix;
    slash = strchr(name, PR_FOLDER_SEPARATOR);
    return slash != NULL ? g_strndup(name, slash - name) : g_strdup(name);
}

/* "* LISTRIGHTS mailbox identifier ..." (RFC 4314 §3.7): the owner's
 * rights are all fixed; anyone else may be granted each right alone. */
static void
send_list_rights(PrConnection *conn, ImapSession *s, AclData *data)
{
    g_autoptr(GString) out = g_string_new("* LISTRIGHTS ");
    g_autofree char *owner = folder_owner(s, data->name);

    imap_append_mailbox(out, data->name);
    g_string_append_c(out, ' ');
    imap_append_astring(out, data->identifier);
    if (g_ascii_strcasecmp(owner, data->identifier) == 0) {
        g_string_append(out, " " PR_FOLDER_RIGHTS_ALL);
    } else {
        g_string_append(out, " \"\"");
        for (const char *r = PR_FOLDER_RIGHTS_ALL; *r != '\0'; r++)
            g_string_append_printf(out, " %c", *r);
    }
    pr_connection_reply(conn, out->str);
}

static void
rights_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
    AclData *data = user_data;
    PrConnection *conn = data->conn;
    ImapSession *s = pr_connection_get_session(conn);
    g_autoptr(GError) error = NULL;
    g_autofree char *rights = NULL;

    rights = pr_folder_rights_finish(pr_connection_get_host(conn), result, &error);
    if (pr_connection_is_closed(conn))
        goto out;
    if (rights == NULL) {
        imap_folder_failed(conn, s, error);
    } else if (data->op == ACL_MY_RIGHTS) {
        g_autoptr(GString) out = g_string_new("* MYRIGHTS ");

        imap_append_mailbox(out, data->name);
        g_string_append_c(out, ' ');
        imap_append_astring(out, rights);
        pr_connection_reply(conn, out->str);
        imap_command_done(conn, s, "OK", "MYRIGHTS completed");
    } else if (strchr(rights, 'a') == NULL) {
        /* §4: LISTRIGHTS needs the right to administer. */
        imap_command_done(conn, s, "NO", "[NOPERM] You may not administer this mailbox");
    } else {
        send_list_rights(conn, s, data);
        imap_command_done(conn, s, "OK", "LISTRIGHTS completed");
    }
out:
    acl_data_free(data);
}

static void
get_acl_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
    AclData *data = user_data;
    PrConnection *conn = data->conn;
    ImapSession *s = pr_connection_get_session(conn);
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) entries = NULL;
    g_autoptr(GString) out = g_string_new("* ACL ");

    entries = pr_folder_get_acl_finish(pr_connection_get_host(conn), result, &error);
    if (pr_connection_is_closed(conn))
        goto out;
    if (entries == NULL) {
        imap_folder_failed(conn, s, error);
        goto out;
    }
    imap_append_mailbox(out, data->name);
    for (guint i = 0; i < entries->len; i++) {
        const PrFolderAclEntry *e = g_ptr_array_index(entries, i);

        g_string_append_c(out, ' ');
        imap_append_astring(out, e->identifier);
        g_string_append_c(out, ' ');
        imap_append_astring(out, e->rights);
    }
    pr_connection_reply(conn, out->str);
    imap_command_done(conn, s, "OK", "GETACL completed");
out:
    acl_data_free(data);
}

static void
set_acl_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
    AclData *data = user_data;
    PrConnection *conn = data->conn;
    ImapSession *s = pr_connection_get_session(conn);
    g_autoptr(GError) error = NULL;

    if (!pr_folder_set_acl_finish(pr_connection_get_host(conn), result, &error)) {
        if (!pr_connection_is_closed(conn))
            imap_folder_failed(conn, s, error);
    } else if (!pr_connection_is_closed(conn)) {
        imap_command_done(conn, s, "OK",
                          data->op == ACL_SET ? "SETACL completed" : "DELETEACL completed");
    }
    acl_data_free(data);
}

/* An astring argument without NUL bytes, or NULL. */
static const char *
string_arg(ImapCommand *cmd, guint index)
{
    const ImapArg *arg = g_ptr_array_index(cmd->args, index);
    const char *text = imap_arg_astring(arg);

    return text != NULL && strlen(text) == arg->len ? text : NULL;
}

/* Whether @rights is a SETACL rights argument: an optional "+" or "-",
 * then rights letters. §3.1: an unknown right is a BAD, never ignored. */
static gboolean
valid_rights(const char *rights)
{
    if (*rights == '+' || *rights == '-')
        rights++;
    for (; *rights != '\0'; rights++)
        if (strchr(IMAP_ACL_SETACL_RIGHTS, *rights) == NULL)
            return FALSE;
    return TRUE;
}

static PrCommandResult
acl_command(PrConnection *conn, ImapSession *s, ImapCommand *cmd, AclOp op)
{
    static const guint n_args[] = {
        [ACL_SET] = 3, [ACL_DELETE] = 2, [ACL_GET] = 1, [ACL_LIST_RIGHTS] = 2, [ACL_MY_RIGHTS] = 1,
    };
    static const char *const syntax[] = {
        [ACL_SET] = "Syntax: SETACL mailbox identifier rights",
        [ACL_DELETE] = "Syntax: DELETEACL mailbox identifier",
        [ACL_GET] = "Syntax: GETACL mailbox",
        [ACL_LIST_RIGHTS] = "Syntax: LISTRIGHTS mailbox identifier",
        [ACL_MY_RIGHTS] = "Syntax: MYRIGHTS mailbox",
    };
    PrHost *host = pr_connection_get_host(conn);
    g_autofree char *name = NULL;
    const char *identifier = NULL;
    const char *rights = NULL;
    AclData *data;

    if (cmd->args->len != n_args[op])
        return imap_command_bad(conn, s, syntax[op]);
    name = imap_mailbox_arg(g_ptr_array_index(cmd->args, 0));
    if (name == NULL)
        return imap_command_bad(conn, s, "Invalid mailbox name");
    if (n_args[op] >= 2) {
        identifier = string_arg(cmd, 1);
        if (identifier == NULL || *identifier == '\0')
            return imap_command_bad(conn, s, "Invalid identifier");
    }
    if (op == ACL_SET) {
        rights = string_arg(cmd, 2);
        if (rights == NULL || !valid_rights(rights))
            return imap_command_bad(conn, s, "Invalid rights");
    }
    /* §2: "-identifier" names negative rights, which are not kept here. */
    if ((op == ACL_SET || op == ACL_DELETE) && *identifier == '-')
        return imap_command_reply(conn, s, "NO", "[CANNOT] Negative rights are not supported");

    data = g_new0(AclData, 1);
    data->conn = pr_connection_ref(conn);
    data->op = op;
    data->name = g_steal_pointer(&name);
    data->identifier = g_strdup(identifier);
    switch (op) {
    case ACL_SET:
    case ACL_DELETE:
        pr_folder_set_acl_async(host, s->login, data->name, identifier, rights, set_acl_done, data);
        break;
    case ACL_GET:
        pr_folder_get_acl_async(host, s->login, data->name, get_acl_done, data);
        break;
    case ACL_LIST_RIGHTS:
    case ACL_MY_RIGHTS:
        pr_folder_rights_async(host, s->login, data->name, rights_done, data);
        break;
    }
    return PR_COMMAND_ASYNC;
}

PrCommandResult
imap_cmd_setacl(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    return acl_command(conn, s, cmd, ACL_SET);
}

PrCommandResult
imap_cmd_deleteacl(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    return acl_command(conn, s, cmd, ACL_DELETE);
}

PrCommandResult
imap_cmd_getacl(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    return acl_command(conn, s, cmd, ACL_GET);
}

PrCommandResult
imap_cmd_listrights(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    return acl_command(conn, s, cmd, ACL_LIST_RIGHTS);
}

PrCommandResult
imap_cmd_myrights(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    return acl_command(conn, s, cmd, ACL_MY_RIGHTS);
}
