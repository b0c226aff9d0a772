/* SPDX-License-Identifier: GPL-3.0-or-later */

/* EXPUNGE, UID EXPUNGE (RFC 4315 §2.1) and CLOSE (RFC 3501 §6.4.2): the
 * messages flagged \Deleted (and for UID EXPUNGE in the given set) are
 * removed in one transaction; EXPUNGE then syncs the mailbox, which
 * reports them as "* n EXPUNGE" in descending order like anyone else's
 * expunges; CLOSE reports nothing and leaves the selected state. */

#include "postroom-config.h"

#include <glib/gi18n-lib.h>

#include "imap-msg.h"

typedef struct {
    PrConnection *conn;
    ImapSession *s;
    gboolean close;
    GArray *indexes;
} ExpungeJob;

static void
expunge_job_free(ExpungeJob *job)
{
    g_clear_pointer(&job->indexes, g_array_unref);
    imap_session_op_end(job->s);
    pr_connection_unref(job->conn);
    g_free(job);
}

static const char *
completed(ImapSession *s, gboolean close)
{
    if (close)
        return "CLOSE completed";
    return s->uid_command ? "UID EXPUNGE completed" : "EXPUNGE completed";
}

static void
synced(gpointer data, gpointer session)
{
    ExpungeJob *job = data;

    if (!pr_connection_is_closed(job->conn))
        imap_command_done(job->conn, job->s, "OK", completed(job->s, FALSE));
    expunge_job_free(job);
}

static void
deleted(GObject *source, GAsyncResult *result, gpointer user_data)
{
    ExpungeJob *job = user_data;
    ImapSession *s = job->s;
    g_autoptr(GError) error = NULL;

    if (!pr_mailbox_delete_finish(s->mailbox, result, &error)) {
        if (pr_connection_is_closed(job->conn)) {
        } else if (g_error_matches(error, PR_STORE_ERROR, PR_STORE_ERROR_PERMISSION)) {
            imap_command_done(job->conn, s, "NO", "[NOPERM] You may not expunge this mailbox");
        } else {
            g_warning(_("IMAP user %s: cannot expunge: %s"), s->login, error->message);
            imap_command_done(job->conn, s, "NO", "[SERVERBUG] Cannot expunge, try again later");
        }
        expunge_job_free(job);
        return;
    }
    if (pr_connection_is_closed(job->conn)) {
        expunge_job_free(job);
        return;
    }
    if (job->close) {
        imap_session_unselect(s);
        imap_command_done(job->conn, s, "OK", completed(s, TRUE));
        expunge_job_free(job);
        return;
    }
    /* The sync finds the messages gone and reports them. */
    imap_session_sync(job->conn, s, synced, job);
}

/* Starts removing the \Deleted messages (within @uid_set if not NULL). */
static PrCommandResult
expunge(PrConnection *conn, ImapSession *s, GArray *uid_set, gboolean close)
{
    PrMailbox *mb = s->mailbox;
    guint count = pr_mailbox_get_count(mb);
    ExpungeJob *job = g_new0(ExpungeJob, 1);

    job->conn = pr_connection_ref(conn);
    job->s = s;
    job->close = close;
    job->indexes = g_array_new(FALSE, FALSE, sizeof(guint));
    imap_session_op_begin(s);
    if (uid_set != NULL) {
        for (guint i = 0; i < uid_set->len; i++) {
            guint index = g_array_index(uid_set, guint, i);

            if (imap_msg_has_flag(pr_mailbox_get_flags(mb, index), "\\Deleted"))
                g_array_append_val(job->indexes, index);
        }
    } else {
        for (guint i = 0; i < count; i++)
            if (imap_msg_has_flag(pr_mailbox_get_flags(mb, i), "\\Deleted"))
                g_array_append_val(job->indexes, i);
    }
    if (job->indexes->len == 0) {
        if (close) {
            imap_session_unselect(s);
            imap_command_done(conn, s, "OK", completed(s, TRUE));
            expunge_job_free(job);
        } else {
            /* Nothing of ours to remove, but others' expunges and new
             * messages are reported all the same. */
            imap_session_sync(conn, s, synced, job);
        }
        return PR_COMMAND_ASYNC;
    }
    /* msgaudit rows (when the administrator turned them on) come with the
     * deletion, in its transaction: component I, command D. */
    pr_mailbox_set_audit(mb, "I", s->login, pr_connection_get_peer_ip(conn));
    pr_mailbox_delete_async(mb, (const guint *)job->indexes->data, job->indexes->len, FALSE, NULL,
                            deleted, job);
    return PR_COMMAND_ASYNC;
}

PrCommandResult
imap_cmd_expunge(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    g_autoptr(GArray) indexes = NULL;

    if (s->uid_command) {
        const char *set = cmd->args->len == 1 ? imap_arg_atom(cmd->args->pdata[0]) : NULL;

        if (set == NULL)
            return imap_command_bad(conn, s, "Syntax: UID EXPUNGE sequence-set");
        if (imap_msgset_resolve(s, set, TRUE, &indexes) != IMAP_MSGSET_OK)
            return imap_command_bad(conn, s, "Invalid sequence set");
    } else if (cmd->args->len != 0) {
        return imap_command_bad(conn, s, "EXPUNGE takes no arguments");
    }
    /* RFC 4314 §4: expunging another user's folder needs "e". */
    if (!imap_may(s, 'e'))
        return imap_command_reply(conn, s, "NO", "[NOPERM] You may not expunge this mailbox");
    if (s->read_only)
        return imap_command_reply(conn, s, "NO", "[READ-ONLY] The mailbox is read-only");
    return expunge(conn, s, indexes, FALSE);
}

PrCommandResult
imap_cmd_close(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    if (cmd->args->len != 0)
        return imap_command_bad(conn, s, "CLOSE takes no arguments");
    /* RFC 3501 §6.4.2: no expunge on a read-only mailbox, no error either;
     * RFC 4314 §4: nor without "e". */
    if (s->read_only || !imap_may(s, 'e')) {
        imap_session_unselect(s);
        return imap_command_reply(conn, s, "OK", "CLOSE completed");
    }
    return expunge(conn, s, NULL, TRUE);
}
