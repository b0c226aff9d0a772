/* SPDX-License-Identifier: GPL-3.0-or-later */

/* IDLE (RFC 2177): the client waits; a change of the selected folder
 * (a delivery, another session) wakes the session through
 * pr_mailbox_set_change_notify(), which costs nothing while nothing
 * changes, and the updates go out untagged. "DONE" ends it. */

#include "postroom-config.h"

#include "imap.h"

static gboolean
idle_notify(gpointer user_data)
{
    ImapSession *s = user_data;

    if (s->idle_tag == NULL || s->finished)
        return G_SOURCE_CONTINUE;
    if (s->syncing) {
        s->sync_again = TRUE;
        return G_SOURCE_CONTINUE;
    }
    imap_session_sync(s->conn, s, NULL, NULL);
    return G_SOURCE_CONTINUE;
}

void
imap_idle_stop(ImapSession *s)
{
    if (s->mailbox != NULL)
        pr_mailbox_set_change_notify(s->mailbox, NULL, NULL);
    g_clear_pointer(&s->idle_tag, g_free);
}

PrCommandResult
imap_cmd_idle(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    if (cmd->args->len != 0)
        return imap_command_bad(conn, s, "IDLE takes no arguments");
    if (!imap_setting_bool(conn, "idle"))
        return imap_command_bad(conn, s, "IDLE is disabled");
    s->idle_tag = g_strdup(cmd->tag);
    pr_connection_reply(conn, "+ idling");
    if (s->mailbox != NULL) {
        pr_mailbox_set_change_notify(s->mailbox, idle_notify, s);
        /* What changed before the notification was set. */
        imap_session_sync(conn, s, NULL, NULL);
    }
    return PR_COMMAND_DONE;
}

static void
idle_ended(gpointer data, gpointer session)
{
    ImapSession *s = session;

    if (data != NULL) {
        imap_command_done(s->conn, s, "BAD", "Expected DONE");
        pr_connection_bad_command(s->conn);
    } else {
        imap_command_done(s->conn, s, "OK", "IDLE terminated");
    }
}

PrCommandResult
imap_idle_line(PrConnection *conn, ImapSession *s, const char *line)
{
    gboolean done = g_ascii_strcasecmp(line, "DONE") == 0;

    imap_idle_stop(s);
    if (s->syncing) {
        /* The next command must not find a sync of the mailbox under way
         * (it may close the mailbox): answer once it is over. */
        imap_session_sync(conn, s, idle_ended, done ? NULL : GINT_TO_POINTER(1));
        return PR_COMMAND_ASYNC;
    }
    if (!done)
        return imap_command_bad(conn, s, "Expected DONE");
    return imap_command_reply(conn, s, "OK", "IDLE terminated");
}
