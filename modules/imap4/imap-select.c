/* SPDX-License-Identifier: GPL-3.0-or-later */

/* SELECT and EXAMINE (RFC 3501 §6.3.1-2, with CONDSTORE's parameter and
 * HIGHESTMODSEQ of RFC 7162), UNSELECT (RFC 3691) and CHECK. IMAP
 * sessions share a folder; a POP3 session's exclusive lock keeps them
 * out, as in VPOP3. */

#include "postroom-config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "imap-msg.h"

typedef struct {
    PrConnection *conn;
    char *name;
    gboolean read_only;
} SelectData;

static void
select_data_free(SelectData *data)
{
    pr_connection_unref(data->conn);
    g_free(data->name);
    g_free(data);
}

/* The flags of @flags (the FLAGS response) the user may set with @rights
 * (RFC 4314 §4), with \* when they may create keywords. */
static char *
permanent_flags(const char *flags, const char *rights)
{
    g_auto(GStrv) words = g_strsplit(flags, " ", -1);
    g_autoptr(GString) out = g_string_new(NULL);

    for (guint i = 0; words[i] != NULL; i++) {
        if (*words[i] == '\0' || strchr(rights, imap_msg_flag_right(words[i])) == NULL)
            continue;
        if (out->len > 0)
            g_string_append_c(out, ' ');
        g_string_append(out, words[i]);
    }
    if (strchr(rights, 'w') != NULL)
        g_string_append(out, out->len > 0 ? " \\*" : "\\*");
    return g_string_free(g_steal_pointer(&out), FALSE);
}

/* Whether @rights allow any change to a folder (RFC 4314 §4: else SELECT
 * answers READ-ONLY). */
static gboolean
rights_writable(const char *rights)
{
    return strpbrk(rights, "swtie") != NULL;
}

/* The untagged responses of a successful SELECT. */
static void
send_selected(PrConnection *conn, ImapSession *s)
{
    PrMailbox *mb = s->mailbox;
    guint count = pr_mailbox_get_count(mb);
    guint recent = 0, first_unseen = 0;
    g_autoptr(GHashTable) keywords = g_hash_table_new(g_str_hash, g_str_equal);
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GString) flags = g_string_new("\\Answered \\Flagged \\Deleted \\Seen \\Draft");
    g_autoptr(GPtrArray) names = g_ptr_array_new();

    for (guint i = 0; i < count; i++) {
        const char *f = pr_mailbox_get_flags(mb, i);
        g_auto(GStrv) words = g_strsplit(f, " ", -1);
        gboolean seen = FALSE;

        if (pr_mailbox_is_recent(mb, i))
            recent++;
        for (guint j = 0; words[j] != NULL; j++) {
            if (g_ascii_strcasecmp(words[j], "\\Seen") == 0)
                seen = TRUE;
            else if (words[j][0] != '\\' && words[j][0] != '\0' &&
                     !g_hash_table_contains(keywords, words[j])) {
                char *kw = g_strdup(words[j]);

                g_hash_table_add(keywords, kw);
                g_ptr_array_add(names, kw);
            }
        }
        if (!seen && first_unseen == 0)
            first_unseen = i + 1;
    }
    for (guint i = 0; i < names->len; i++) {
        g_string_append_printf(flags, " %s", (char *)g_ptr_array_index(names, i));
        g_free(g_ptr_array_index(names, i));
    }
    g_string_append_printf(out, "* FLAGS (%s)\r\n", flags->str);
    g_string_append_printf(out, "* %u EXISTS\r\n* %u RECENT\r\n", count, recent);
    if (first_unseen > 0)
        g_string_append_printf(out, "* OK [UNSEEN %u] First unseen message\r\n", first_unseen);
    if (s->read_only) {
        g_string_append(out, "* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n");
    } else {
        g_autofree char *permanent = permanent_flags(flags->str, pr_mailbox_get_rights(mb));

        g_string_append_printf(out, "* OK [PERMANENTFLAGS (%s)] Flags permitted\r\n", permanent);
    }
    g_string_append_printf(out, "* OK [UIDVALIDITY %u] UIDs valid\r\n",
                           pr_mailbox_get_uidvalidity(mb));
    g_string_append_printf(out, "* OK [UIDNEXT %u] Predicted next UID\r\n",
                           pr_mailbox_get_uidnext(mb));
    g_string_append_printf(out, "* OK [HIGHESTMODSEQ %" G_GUINT64_FORMAT "] Highest\r\n",
                           pr_mailbox_get_highest_modseq(mb));
    pr_connection_write(conn, out->str, out->len);
}

static void
open_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
    SelectData *data = user_data;
    PrConnection *conn = data->conn;
    g_autoptr(GError) error = NULL;
    PrMailbox *mailbox;
    ImapSession *s;

    mailbox = pr_mailbox_open_finish(pr_connection_get_host(conn), result, &error);
    s = pr_connection_get_session(conn);
    imap_session_op_end(s);
    if (pr_connection_is_closed(conn) || s->finished) {
        /* The client left while the lock was taken: give it back. */
        pr_mailbox_close(mailbox);
        select_data_free(data);
        return;
    }
    if (mailbox == NULL) {
        if (g_error_matches(error, PR_STORE_ERROR, PR_STORE_ERROR_LOCKED)) {
            g_info("user %s from %s: folder %s in use: %s", s->login,
                   pr_connection_get_peer_ip(conn), data->name, error->message);
            imap_command_done(conn, s, "NO", "[INUSE] Mailbox is locked by a POP3 session");
        } else if (g_error_matches(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND)) {
            imap_command_done(conn, s, "NO", "[NONEXISTENT] No such mailbox");
        } else if (g_error_matches(error, PR_STORE_ERROR, PR_STORE_ERROR_PERMISSION)) {
            imap_command_done(conn, s, "NO", "[NOPERM] You may not read this mailbox");
        } else {
            g_warning(_("IMAP user %s: cannot open folder %s: %s"), s->login, data->name,
                      error->message);
            imap_command_done(conn, s, "NO", "[UNAVAILABLE] Cannot open the mailbox, try again");
        }
        select_data_free(data);
        return;
    }
    s->mailbox = mailbox;
    s->mailbox_name = g_steal_pointer(&data->name);
    /* Another user's folder the ACL lets us only read is read-only. */
    s->read_only = data->read_only || !rights_writable(pr_mailbox_get_rights(mailbox));
    pr_mailbox_set_audit(mailbox, "I", NULL, pr_connection_get_peer_ip(conn));
    pr_connection_set_state(conn, IMAP_STATE_SELECTED);
    send_selected(conn, s);
    if (data->read_only)
        imap_command_done(conn, s, "OK", "[READ-ONLY] EXAMINE completed");
    else
        imap_command_done(conn, s, "OK",
                          s->read_only ? "[READ-ONLY] SELECT completed"
                                       : "[READ-WRITE] SELECT completed");
    select_data_free(data);
}

static PrCommandResult
select_common(PrConnection *conn, ImapSession *s, ImapCommand *cmd, gboolean read_only)
{
    g_autofree char *holder = NULL;
    SelectData *data;
    char *name;

    if (cmd->args->len < 1 || cmd->args->len > 2)
        return imap_command_bad(conn, s, "Expected a mailbox name");
    if (cmd->args->len == 2) {
        /* RFC 7162 §3.1.8: (CONDSTORE); nothing else is known. */
        const ImapArg *params = g_ptr_array_index(cmd->args, 1);
        const char *p = params->type == IMAP_ARG_LIST && params->list->len == 1
                            ? imap_arg_atom(g_ptr_array_index(params->list, 0))
                            : NULL;

        if (p == NULL || g_ascii_strcasecmp(p, "CONDSTORE") != 0)
            return imap_command_bad(conn, s, "Unknown SELECT parameter");
        s->enabled |= IMAP_ENABLED_CONDSTORE;
    }
    name = imap_mailbox_arg(g_ptr_array_index(cmd->args, 0));
    if (name == NULL)
        return imap_command_bad(conn, s, "Invalid mailbox name");
    /* §6.3.1: a failed SELECT leaves no mailbox selected either. */
    imap_session_unselect(s);
    holder = g_strdup_printf("imap4 %s", pr_connection_get_peer_ip(conn));
    data = g_new0(SelectData, 1);
    data->conn = pr_connection_ref(conn);
    data->name = name;
    data->read_only = read_only;
    imap_session_op_begin(s);
    pr_mailbox_open_async(pr_connection_get_host(conn), s->login, name,
                          read_only ? PR_MAILBOX_SHARED_READ_ONLY : PR_MAILBOX_SHARED, holder,
                          pr_connection_get_cancellable(conn), open_done, data);
    return PR_COMMAND_ASYNC;
}

PrCommandResult
imap_cmd_select(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    return select_common(conn, s, cmd, FALSE);
}

PrCommandResult
imap_cmd_examine(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    return select_common(conn, s, cmd, TRUE);
}

PrCommandResult
imap_cmd_unselect(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    if (cmd->args->len != 0)
        return imap_command_bad(conn, s, "UNSELECT takes no arguments");
    imap_session_unselect(s);
    return imap_command_reply(conn, s, "OK", "UNSELECT completed");
}

static void
check_synced(gpointer data, gpointer session)
{
    ImapSession *s = session;

    imap_command_done(s->conn, s, "OK", "CHECK completed");
}

PrCommandResult
imap_cmd_check(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    if (cmd->args->len != 0)
        return imap_command_bad(conn, s, "CHECK takes no arguments");
    /* Every change is committed when made; CHECK only reports news. */
    imap_session_sync(conn, s, check_synced, NULL);
    return PR_COMMAND_ASYNC;
}
