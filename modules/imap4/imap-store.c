/* SPDX-License-Identifier: GPL-3.0-or-later */

/* STORE and UID STORE (RFC 3501 §6.4.6, UNCHANGEDSINCE of RFC 7162 §3.1.3):
 * the flags change in one transaction in the store; the response shows
 * each message's new flags unless .SILENT, and the messages that
 * UNCHANGEDSINCE kept from changing go in [MODIFIED ...]. */

#include "postroom-config.h"

#include <glib/gi18n-lib.h>
#include <string.h>

#include "imap-msg.h"

typedef struct {
    PrConnection *conn;
    ImapSession *s;
    GArray *indexes;
    PrFlagsChange change;
    char *flags;
    gboolean silent;
} StoreJob;

static void
store_job_free(StoreJob *job)
{
    g_array_unref(job->indexes);
    g_free(job->flags);
    imap_session_op_end(job->s);
    pr_connection_unref(job->conn);
    g_free(job);
}

static gboolean
uid_in(GArray *uids, guint32 uid)
{
    for (guint i = 0; uids != NULL && i < uids->len; i++)
        if (g_array_index(uids, guint32, i) == uid)
            return TRUE;
    return FALSE;
}

/* "* n FETCH (FLAGS (...) [UID u] [MODSEQ (m)])" for one message; with
 * .SILENT only what RFC 7162 §3.2 still asks for: the new mod-sequence
 * when CONDSTORE is on. */
static void
append_fetch(GString *out, StoreJob *job, guint index, guint32 uid)
{
    ImapSession *s = job->s;
    PrMailbox *mb = s->mailbox;

    if (job->silent && !imap_msg_condstore(s))
        return;
    g_string_append_printf(out, "* %u FETCH (", index + 1);
    if (!job->silent) {
        /* The snapshot holds the new flags once committed; applying the
         * change again is harmless and covers a snapshot that does not.
         * The host left alone what the ACL does not let us change. */
        g_autofree char *flags = imap_msg_apply_flags_rights(
            pr_mailbox_get_flags(mb, index), job->change, job->flags, pr_mailbox_get_rights(mb));

        imap_msg_append_flags(out, flags, pr_mailbox_is_recent(mb, index));
        g_string_append_c(out, ' ');
    }
    if (s->uid_command)
        g_string_append_printf(out, "UID %u ", uid);
    if (imap_msg_condstore(s))
        g_string_append_printf(out, "MODSEQ (%" G_GUINT64_FORMAT ") ",
                               pr_mailbox_get_modseq(mb, index));
    g_string_truncate(out, out->len - 1); /* the last separator */
    g_string_append(out, ")\r\n");
}

static void
stored(GObject *source, GAsyncResult *result, gpointer user_data)
{
    StoreJob *job = user_data;
    ImapSession *s = job->s;
    PrMailbox *mb = s->mailbox;
    g_autoptr(GError) error = NULL;
    g_autoptr(GArray) failed = NULL;
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GString) modified = g_string_new(NULL);

    if (!pr_mailbox_store_flags_finish(mb, result, &failed, &error)) {
        if (!pr_connection_is_closed(job->conn)) {
            g_warning(_("IMAP user %s: cannot store flags: %s"), s->login, error->message);
            imap_command_done(job->conn, s, "NO", "[SERVERBUG] Cannot store the flags, try again");
        }
        store_job_free(job);
        return;
    }
    if (pr_connection_is_closed(job->conn)) {
        store_job_free(job);
        return;
    }
    for (guint i = 0; i < job->indexes->len; i++) {
        guint index = g_array_index(job->indexes, guint, i);
        guint32 uid = pr_mailbox_get_uid(mb, index);

        if (uid_in(failed, uid)) {
            if (modified->len > 0)
                g_string_append_c(modified, ',');
            g_string_append_printf(modified, "%u", s->uid_command ? uid : index + 1);
            continue;
        }
        append_fetch(out, job, index, uid);
    }
    if (out->len > 0)
        pr_connection_write(job->conn, out->str, out->len);
    if (modified->len > 0) {
        g_autofree char *text =
            g_strdup_printf("[MODIFIED %s] Conditional STORE failed", modified->str);
        imap_command_done(job->conn, s, "OK", text);
    } else {
        imap_command_done(job->conn, s, "OK",
                          s->uid_command ? "UID STORE completed" : "STORE completed");
    }
    store_job_free(job);
}

/* FLAGS, +FLAGS, -FLAGS, with .SILENT. */
static gboolean
parse_item(const char *item, PrFlagsChange *change, gboolean *silent)
{
    *change = PR_FLAGS_REPLACE;
    if (*item == '+') {
        *change = PR_FLAGS_ADD;
        item++;
    } else if (*item == '-') {
        *change = PR_FLAGS_REMOVE;
        item++;
    }
    *silent = FALSE;
    if (g_ascii_strcasecmp(item, "FLAGS.SILENT") == 0)
        *silent = TRUE;
    else if (g_ascii_strcasecmp(item, "FLAGS") != 0)
        return FALSE;
    return TRUE;
}

static gboolean
valid_flag(const char *flag)
{
    if (*flag == '\0' || strcmp(flag, "\\*") == 0)
        return FALSE;
    if (*flag == '\\') {
        static const char *const system[] = { "\\Answered", "\\Deleted", "\\Draft",
                                              "\\Flagged",  "\\Seen",    "\\Recent" };

        for (guint i = 0; i < G_N_ELEMENTS(system); i++)
            if (g_ascii_strcasecmp(flag, system[i]) == 0)
                return TRUE;
        return FALSE; /* no other \ names: RFC 3501 flag-extension is reserved */
    }
    return TRUE;
}

/* The flags as one list or as atoms; NULL if one is not a flag. */
static char *
parse_flags(GPtrArray *args, guint first)
{
    g_autoptr(GString) out = g_string_new(NULL);
    GPtrArray *list = args;
    guint start = first;

    if (args->len == first + 1 && ((ImapArg *)args->pdata[first])->type == IMAP_ARG_LIST) {
        list = ((ImapArg *)args->pdata[first])->list;
        start = 0;
    } else if (args->len <= first) {
        return NULL;
    }
    for (guint i = start; i < list->len; i++) {
        const char *flag = imap_arg_atom(list->pdata[i]);

        if (flag == NULL || !valid_flag(flag))
            return NULL;
        /* \Recent belongs to the server (RFC 3501 §2.3.2). */
        if (g_ascii_strcasecmp(flag, "\\Recent") == 0)
            continue;
        if (out->len > 0)
            g_string_append_c(out, ' ');
        g_string_append(out, flag);
    }
    return g_string_free(g_steal_pointer(&out), FALSE);
}

PrCommandResult
imap_cmd_store(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    g_autoptr(GArray) indexes = NULL;
    g_autoptr(GArray) uids = NULL;
    g_autofree char *flags = NULL;
    guint64 unchanged_since = 0;
    PrFlagsChange change;
    gboolean silent;
    const char *set, *item;
    guint next = 1;
    StoreJob *job;

    if (cmd->args->len < 3 || (set = imap_arg_atom(cmd->args->pdata[0])) == NULL)
        return imap_command_bad(conn, s,
                                "Syntax: STORE sequence-set [(UNCHANGEDSINCE n)] "
                                "[+-]FLAGS[.SILENT] (flags)");
    if (((ImapArg *)cmd->args->pdata[1])->type == IMAP_ARG_LIST) {
        const ImapArg *mod = cmd->args->pdata[1];
        const char *name = mod->list->len == 2 ? imap_arg_atom(mod->list->pdata[0]) : NULL;
        const char *value = name != NULL ? imap_arg_atom(mod->list->pdata[1]) : NULL;
        char *end = NULL;

        if (value == NULL || g_ascii_strcasecmp(name, "UNCHANGEDSINCE") != 0 ||
            !g_ascii_isdigit(*value) ||
            ((unchanged_since = g_ascii_strtoull(value, &end, 10)), *end != '\0'))
            return imap_command_bad(conn, s, "Unknown STORE modifier");
        next = 2;
        s->enabled |= IMAP_ENABLED_CONDSTORE; /* RFC 7162 §3.1 */
    }
    if (cmd->args->len < next + 2 || (item = imap_arg_atom(cmd->args->pdata[next])) == NULL ||
        !parse_item(item, &change, &silent))
        return imap_command_bad(conn, s, "Expected FLAGS, +FLAGS or -FLAGS");
    flags = parse_flags(cmd->args, next + 1);
    if (flags == NULL)
        return imap_command_bad(conn, s, "Invalid flag list");
    switch (imap_msgset_resolve(s, set, s->uid_command, &indexes)) {
    case IMAP_MSGSET_OK:
        break;
    case IMAP_MSGSET_SYNTAX:
        return imap_command_bad(conn, s, "Invalid sequence set");
    case IMAP_MSGSET_NO_SUCH:
        return imap_command_bad(conn, s, "No such message");
    }
    if (s->read_only)
        return imap_command_reply(conn, s, "NO", "[READ-ONLY] The mailbox is read-only");
    if (indexes->len == 0)
        return imap_command_reply(conn, s, "OK",
                                  s->uid_command ? "UID STORE completed" : "STORE completed");
    uids = g_array_sized_new(FALSE, FALSE, sizeof(guint32), indexes->len);
    for (guint i = 0; i < indexes->len; i++) {
        guint32 uid = pr_mailbox_get_uid(s->mailbox, g_array_index(indexes, guint, i));
        g_array_append_val(uids, uid);
    }

    job = g_new0(StoreJob, 1);
    job->conn = pr_connection_ref(conn);
    job->s = s;
    job->indexes = g_steal_pointer(&indexes);
    job->change = change;
    job->flags = g_strdup(flags);
    job->silent = silent;
    imap_session_op_begin(s);
    pr_mailbox_store_flags_async(s->mailbox, (const guint32 *)uids->data, uids->len, change, flags,
                                 unchanged_since, stored, job);
    return PR_COMMAND_ASYNC;
}
