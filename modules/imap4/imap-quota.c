/* SPDX-License-Identifier: GPL-3.0-or-later */

/* QUOTA (RFC 9208) with the STORAGE resource only: GETQUOTAROOT,
 * GETQUOTA, and SETQUOTA refused (quotas are the administrator's,
 * `postroomctl user set --quota`; QUOTASET is not offered). A user has one
 * quota over all their folders: the root "" when the quota is set, else
 * none, so GETQUOTA "" is then NO like any unknown root. Another user's
 * folder ("#users/...") shows no root: its owner's quota is theirs. The
 * host refuses an APPEND or COPY over the quota (PR_STORE_ERROR_OVER_QUOTA,
 * answered "NO [OVERQUOTA]" in imap-append.c and imap-copy.c); delivery is
 * never refused. */

#include "postroom-config.h"

#include <glib/gi18n-lib.h>

#include "imap.h"

typedef struct {
    PrConnection *conn;
    char *mailbox; /* GETQUOTAROOT's mailbox, or NULL for GETQUOTA */
} QuotaData;

static void
quota_data_free(QuotaData *data)
{
    pr_connection_unref(data->conn);
    g_free(data->mailbox);
    g_free(data);
}

/* RFC 9208 STORAGE: in units of 1024 octets, rounded down as
 * Dovecot does, usage and limit alike. */
static void
reply_quota(PrConnection *conn, const PrUser *user)
{
    pr_connection_replyf(conn, "* QUOTA \"\" (STORAGE %" G_GINT64_FORMAT " %" G_GINT64_FORMAT ")",
                         pr_user_get_used_bytes(user) / 1024, pr_user_get_quota(user) / 1024);
}

static void
user_found(GObject *source, GAsyncResult *result, gpointer user_data)
{
    QuotaData *data = user_data;
    PrConnection *conn = data->conn;
    ImapSession *s = pr_connection_get_session(conn);
    g_autoptr(GError) error = NULL;
    g_autoptr(PrUser) user =
        pr_store_lookup_user_finish(pr_connection_get_host(conn), result, &error);

    if (pr_connection_is_closed(conn)) {
    } else if (user == NULL) {
        g_warning(_("IMAP user %s: cannot read the quota: %s"), s->login,
                  error != NULL ? error->message : "?");
        imap_command_done(conn, s, "NO", "[UNAVAILABLE] Temporary failure, try again later");
    } else if (data->mailbox != NULL) {
        g_autoptr(GString) out = g_string_new("* QUOTAROOT ");

        imap_append_mailbox(out, data->mailbox);
        if (pr_user_get_quota(user) > 0)
            g_string_append(out, " \"\"");
        pr_connection_reply(conn, out->str);
        if (pr_user_get_quota(user) > 0)
            reply_quota(conn, user);
        imap_command_done(conn, s, "OK", "GETQUOTAROOT completed");
    } else if (pr_user_get_quota(user) > 0) {
        reply_quota(conn, user);
        imap_command_done(conn, s, "OK", "GETQUOTA completed");
    } else {
        imap_command_done(conn, s, "NO", "[NONEXISTENT] No such quota root");
    }
    quota_data_free(data);
}

static void
mailbox_checked(GObject *source, GAsyncResult *result, gpointer user_data)
{
    QuotaData *data = user_data;
    PrConnection *conn = data->conn;
    ImapSession *s = pr_connection_get_session(conn);
    g_autoptr(GError) error = NULL;
    PrFolderStatus status;

    if (!pr_folder_status_finish(pr_connection_get_host(conn), result, &status, &error)) {
        if (!pr_connection_is_closed(conn))
            imap_folder_failed(conn, s, error);
        quota_data_free(data);
        return;
    }
    if (pr_connection_is_closed(conn)) {
        quota_data_free(data);
        return;
    }
    if (g_str_has_prefix(data->mailbox, PR_FOLDER_SHARED_PREFIX)) {
        g_autoptr(GString) out = g_string_new("* QUOTAROOT ");

        imap_append_mailbox(out, data->mailbox);
        pr_connection_reply(conn, out->str);
        imap_command_done(conn, s, "OK", "GETQUOTAROOT completed");
        quota_data_free(data);
        return;
    }
    /* A fresh snapshot: the usage changes with every message. */
    pr_store_lookup_user_async(pr_connection_get_host(conn), s->login, NULL, user_found, data);
}

PrCommandResult
imap_cmd_getquotaroot(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    QuotaData *data;
    char *name;

    if (cmd->args->len != 1)
        return imap_command_bad(conn, s, "Syntax: GETQUOTAROOT mailbox");
    name = imap_mailbox_arg(g_ptr_array_index(cmd->args, 0));
    if (name == NULL)
        return imap_command_bad(conn, s, "Invalid mailbox name");
    data = g_new0(QuotaData, 1);
    data->conn = pr_connection_ref(conn);
    data->mailbox = name;
    /* The mailbox must exist (and be visible) to have a root. */
    pr_folder_status_async(pr_connection_get_host(conn), s->login, name, mailbox_checked, data);
    return PR_COMMAND_ASYNC;
}

PrCommandResult
imap_cmd_getquota(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    const char *root;
    QuotaData *data;

    if (cmd->args->len != 1 || (root = imap_arg_astring(g_ptr_array_index(cmd->args, 0))) == NULL)
        return imap_command_bad(conn, s, "Syntax: GETQUOTA quota-root");
    if (*root != '\0')
        return imap_command_reply(conn, s, "NO", "[NONEXISTENT] No such quota root");
    data = g_new0(QuotaData, 1);
    data->conn = pr_connection_ref(conn);
    pr_store_lookup_user_async(pr_connection_get_host(conn), s->login, NULL, user_found, data);
    return PR_COMMAND_ASYNC;
}

PrCommandResult
imap_cmd_setquota(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    const ImapArg *list;

    if (cmd->args->len != 2 || imap_arg_astring(g_ptr_array_index(cmd->args, 0)) == NULL)
        return imap_command_bad(conn, s, "Syntax: SETQUOTA quota-root (resource limit ...)");
    list = g_ptr_array_index(cmd->args, 1);
    if (list->type != IMAP_ARG_LIST)
        return imap_command_bad(conn, s, "Syntax: SETQUOTA quota-root (resource limit ...)");
    return imap_command_reply(conn, s, "NO", "[NOPERM] Quotas are set by the administrator");
}
