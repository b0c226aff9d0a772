/* SPDX-License-Identifier: GPL-3.0-or-later */

/* APPEND (RFC 3501 §6.3.11) with APPENDUID (RFC 4315). The message came
 * as the command's literal (imap-session.c lets APPEND's literal be as
 * large as `max_append_size`); the store writes the spool file, syncs it
 * and commits the rows before the OK. */

#include "postroom-config.h"

#include <glib/gi18n-lib.h>

#include <stdio.h>
#include <string.h>

#include "imap.h"

typedef struct {
    PrConnection *conn;
    char *name;
} AppendData;

static void
append_synced(gpointer data, gpointer session)
{
    ImapSession *s = session;
    g_autofree char *text = data;

    imap_command_done(s->conn, s, "OK", text);
}

static void
append_done(GObject *source, GAsyncResult *result, gpointer user_data)
{
    AppendData *data = user_data;
    PrConnection *conn = data->conn;
    ImapSession *s = pr_connection_get_session(conn);
    g_autoptr(GError) error = NULL;
    guint32 uidvalidity = 0, uid = 0;

    if (!pr_folder_append_finish(pr_connection_get_host(conn), result, &uidvalidity, &uid,
                                 &error)) {
        if (pr_connection_is_closed(conn)) {
        } else if (g_error_matches(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND)) {
            imap_command_done(conn, s, "NO", "[TRYCREATE] No such mailbox");
        } else if (g_error_matches(error, PR_STORE_ERROR, PR_STORE_ERROR_PERMISSION)) {
            /* RFC 4314 §4: another user's folder without "i". */
            imap_command_done(conn, s, "NO", "[NOPERM] You may not append to this mailbox");
        } else if (g_error_matches(error, PR_STORE_ERROR, PR_STORE_ERROR_OVER_QUOTA)) {
            /* OVERQUOTA (RFC 9208, RFC 5530): nothing was stored. */
            imap_command_done(conn, s, "NO", "[OVERQUOTA] Quota exceeded");
        } else {
            g_warning(_("IMAP user %s: cannot append to %s: %s"), s->login, data->name,
                      error->message);
            imap_command_done(conn, s, "NO", "[UNAVAILABLE] Cannot store the message");
        }
    } else if (!pr_connection_is_closed(conn)) {
        char *text = g_strdup_printf("[APPENDUID %u %u] APPEND completed", uidvalidity, uid);

        /* RFC 3501 §6.3.11: a message appended to the selected mailbox
         * should be reported with EXISTS. */
        if (s->mailbox_name != NULL && strcmp(s->mailbox_name, data->name) == 0)
            imap_session_sync(conn, s, append_synced, text);
        else
            append_synced(text, s);
    }
    pr_connection_unref(conn);
    g_free(data->name);
    g_free(data);
}

static int
month_number(const char *mon)
{
    static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

    for (int i = 0; i < 12; i++) {
        if (g_ascii_strncasecmp(mon, months[i], 3) == 0)
            return i + 1;
    }
    return 0;
}

/* RFC 3501 date-time: "dd-Mon-yyyy hh:mm:ss +zzzz" (day may be " d"). */
static gboolean
parse_date_time(const char *text, gint64 *unix_time)
{
    int day, year, hour, min, sec, zone;
    char mon[4] = { 0 };
    char sign;
    g_autoptr(GTimeZone) tz = NULL;
    g_autoptr(GDateTime) dt = NULL;
    g_autofree char *tzid = NULL;

    if (strlen(text) != 26)
        return FALSE;
    if (sscanf(text, "%2d-%3c-%4d %2d:%2d:%2d %c%4d", &day, mon, &year, &hour, &min, &sec, &sign,
               &zone) != 8)
        return FALSE;
    if ((sign != '+' && sign != '-') || month_number(mon) == 0 || zone % 100 >= 60 ||
        !g_ascii_isdigit(text[22]) || !g_ascii_isdigit(text[25]))
        return FALSE;
    tzid = g_strdup_printf("%c%02d:%02d", sign, zone / 100, zone % 100);
    tz = g_time_zone_new_identifier(tzid);
    if (tz == NULL)
        return FALSE;
    dt = g_date_time_new(tz, year, month_number(mon), day, hour, min, sec);
    if (dt == NULL)
        return FALSE;
    *unix_time = g_date_time_to_unix(dt);
    return TRUE;
}

PrCommandResult
imap_cmd_append(PrConnection *conn, ImapSession *s, ImapCommand *cmd)
{
    g_autofree char *name = NULL;
    g_autoptr(GString) flags = g_string_new(NULL);
    g_autoptr(GBytes) message = NULL;
    const ImapArg *literal;
    gint64 internal_date = 0;
    guint next = 1;
    AppendData *data;

    /* CATENATE and MULTIAPPEND are not offered: one message per command. */
    if (cmd->args->len < 2 || cmd->args->len > 4)
        return imap_command_bad(conn, s, "Expected a mailbox, flags, a date and a message");
    name = imap_mailbox_arg(g_ptr_array_index(cmd->args, 0));
    if (name == NULL)
        return imap_command_bad(conn, s, "Invalid mailbox name");
    if (next < cmd->args->len - 1) {
        const ImapArg *arg = g_ptr_array_index(cmd->args, next);

        if (arg->type == IMAP_ARG_LIST) {
            for (guint i = 0; i < arg->list->len; i++) {
                const char *flag = imap_arg_atom(g_ptr_array_index(arg->list, i));

                if (flag == NULL)
                    return imap_command_bad(conn, s, "Invalid flag");
                /* \Recent belongs to the server (§2.3.2). */
                if (g_ascii_strcasecmp(flag, "\\Recent") == 0)
                    continue;
                if (flag[0] == '\\' && g_ascii_strcasecmp(flag, "\\Seen") != 0 &&
                    g_ascii_strcasecmp(flag, "\\Answered") != 0 &&
                    g_ascii_strcasecmp(flag, "\\Flagged") != 0 &&
                    g_ascii_strcasecmp(flag, "\\Deleted") != 0 &&
                    g_ascii_strcasecmp(flag, "\\Draft") != 0)
                    return imap_command_bad(conn, s, "Invalid system flag");
                if (flags->len > 0)
                    g_string_append_c(flags, ' ');
                g_string_append(flags, flag);
            }
            next++;
        }
    }
    if (next < cmd->args->len - 1) {
        const ImapArg *arg = g_ptr_array_index(cmd->args, next);

        if (arg->type != IMAP_ARG_QUOTED || !parse_date_time(arg->str, &internal_date))
            return imap_command_bad(conn, s, "Invalid date-time");
        next++;
    }
    if (next != cmd->args->len - 1)
        return imap_command_bad(conn, s, "Invalid APPEND arguments");
    literal = g_ptr_array_index(cmd->args, next);
    if (literal->type != IMAP_ARG_LITERAL)
        return imap_command_bad(conn, s, "The message must be a literal");
    if (literal->len == 0)
        return imap_command_reply(conn, s, "NO", "Empty message");
    /* The message may be large: take it from the parsed command rather
     * than copy it (the command is freed unused after this). */
    message = g_bytes_new_take(g_steal_pointer(&((ImapArg *)literal)->str), literal->len);
    data = g_new0(AppendData, 1);
    data->conn = pr_connection_ref(conn);
    data->name = g_steal_pointer(&name);
    pr_folder_append_async(pr_connection_get_host(conn), s->login, data->name, message,
                           flags->len > 0 ? flags->str : NULL, internal_date, append_done, data);
    return PR_COMMAND_ASYNC;
}
