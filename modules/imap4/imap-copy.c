/* SPDX-License-Identifier: GPL-3.0-or-later */

/* COPY, MOVE and their UID forms (RFC 3501 §6.4.7, RFC 6851, COPYUID of
 * RFC 4315): the store copies the rows in one transaction (the spool
 * files are shared) and for MOVE removes the originals in the same one.
 * MOVE then reports COPYUID untagged and the expunges through a sync. */

#include "postroom-config.h"

#include <glib/gi18n-lib.h>

#include "imap-msg.h"

typedef struct {
    PrConnection *conn;
    ImapSession *s;
    gboolean move;
} CopyJob;

static void
copy_job_free(CopyJob *job)
{
    imap_session_op_end(job->s);
    pr_connection_unref(job->conn);
    g_free(job);
}

static const char *
completed(ImapSession *s, gboolean move)
{
    if (move)
        return s->uid_command ? "UID MOVE completed" : "MOVE completed";
    return s->uid_command ? "UID COPY completed" : "COPY completed";
}

static void
move_synced(gpointer data, gpointer session)
{
    CopyJob *job = data;

    if (!pr_connection_is_closed(job->conn))
        imap_command_done(job->conn, job->s, "OK", completed(job->s, TRUE));
    copy_job_free(job);
}

static void
copied(GObject *source, GAsyncResult *result, gpointer user_data)
{
    CopyJob *job = user_data;
    ImapSession *s = job->s;
    g_autoptr(GError) error = NULL;
    g_autoptr(GArray) source_uids = NULL;
    g_autoptr(GArray) target_uids = NULL;
    g_autoptr(GString) code = g_string_new(NULL);
    guint32 uidvalidity = 0;

    if (!pr_mailbox_copy_finish(s->mailbox, result, &uidvalidity, &source_uids, &target_uids,
                                &error)) {
        if (!pr_connection_is_closed(job->conn)) {
            if (g_error_matches(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND)) {
                imap_command_done(job->conn, s, "NO", "[TRYCREATE] No such mailbox");
            } else if (g_error_matches(error, PR_STORE_ERROR, PR_STORE_ERROR_PERMISSION)) {
                /* RFC 4314 §4: the target needs "i" (MOVE "te" on the source). */
                imap_command_done(job->conn, s, "NO", "[NOPERM] Permission denied");
            } else if (g_error_matches(error, PR_STORE_ERROR, PR_STORE_ERROR_OVER_QUOTA)) {
                /* OVERQUOTA (RFC 9208): nothing was copied (one transaction). */
                imap_command_done(job->conn, s, "NO", "[OVERQUOTA] Quota exceeded");
            } else {
                g_warning(_("IMAP user %s: cannot copy messages: %s"), s->login, error->message);
                imap_command_done(job->conn, s, "NO",
                                  "[SERVERBUG] Cannot copy the messages, try again later");
            }
        }
        copy_job_free(job);
        return;
    }
    if (pr_connection_is_closed(job->conn)) {
        copy_job_free(job);
        return;
    }
    if (source_uids != NULL && target_uids != NULL && source_uids->len > 0 &&
        source_uids->len == target_uids->len) {
        g_string_append_printf(code, "[COPYUID %u ", uidvalidity);
        imap_msg_append_uid_set(code, (const guint32 *)source_uids->data, source_uids->len);
        g_string_append_c(code, ' ');
        imap_msg_append_uid_set(code, (const guint32 *)target_uids->data, target_uids->len);
        g_string_append(code, "] ");
    }
    if (!job->move) {
        g_string_append(code, completed(s, FALSE));
        imap_command_done(job->conn, s, "OK", code->str);
        copy_job_free(job);
        return;
    }
    /* RFC 6851 §4.3: COPYUID goes in an untagged OK before the expunges. */
    if (code->len > 0)
        pr_connection_replyf(job->conn, "* OK %sMoved", code->str);
    imap_session_sync(job->conn, s, move_synced, job);
}

static PrCommandResult
copy_or_move(PrConnection *conn, ImapSession *s, ImapCommand *cmd, gboolean move)
{
    g_autoptr(GArray) indexes = NULL;
    g_autoptr(GArray) uids = NULL;
    g_autofree char *target = NULL;
    const char *set;
    CopyJob *job;

    if (cmd->args->len != 2 || (set = imap_arg_atom(cmd->args->pdata[0])) == NULL)
        return imap_command_bad(conn, s,
                                move ? "Syntax: MOVE sequence-set mailbox"
                                     : "Syntax: COPY sequence-set mailbox");
    target = imap_mailbox_arg(cmd->args->pdata[1]);
    if (target == NULL)
        return imap_command_bad(conn, s, "Invalid mailbox name");
    switch (imap_msgset_resolve(s, set, s->uid_command, &indexes)) {
    case IMAP_MSGSET_OK:
        break;
    case IMAP_MSGSET_SYNTAX:
        return imap_command_bad(conn, s, "Invalid sequence set");
    case IMAP_MSGSET_NO_SUCH:
        return imap_command_bad(conn, s, "No such message");
    }
    if (move && s->read_only)
        return imap_command_reply(conn, s, "NO", "[READ-ONLY] The mailbox is read-only");
    /* RFC 6851 §3.3: MOVE is COPY, STORE \Deleted and EXPUNGE. */
    if (move && (!imap_may(s, 't') || !imap_may(s, 'e')))
        return imap_command_reply(conn, s, "NO",
                                  "[NOPERM] You may not remove messages from this mailbox");
    uids = g_array_sized_new(FALSE, FALSE, sizeof(guint32), indexes->len);
    for (guint i = 0; i < indexes->len; i++) {
        guint32 uid = pr_mailbox_get_uid(s->mailbox, g_array_index(indexes, guint, i));
        g_array_append_val(uids, uid);
    }
    job = g_new0(CopyJob, 1);
    job->conn = pr_connection_ref(conn);
    job->s = s;
    job->move = move;
    imap_session_op_begin(s);
    /* Also with no messages: a missing target still gets TRYCREATE. */
    pr_mailbox_copy_async(s->mailbox, (const guint32 *)uids->data, uids->len, target, move, copied,
                          job);
    return PR_COMMAND_ASYNC;
}

PrCommandResult
imap_cmd_copy(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    return copy_or_move(conn, s, cmd, FALSE);
}

PrCommandResult
imap_cmd_move(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    return copy_or_move(conn, s, cmd, TRUE);
}
