/* SPDX-License-Identifier: GPL-3.0-or-later */

/* imap4: the IMAP4rev1 server (RFC 3501) with the extensions its
 * CAPABILITY lists. This file holds the descriptor, the settings, the
 * protocol table and the command table. The host reads lines, does TLS
 * and limits; since IMAP commands are tagged, the host does not dispatch
 * them: imap-session.c installs its own line handler for every line. */

#include "postroom-config.h"

#include <glib/gi18n-lib.h>

#include "imap.h"

static const ImapCommandSpec imap_command_table[] = {
    /* any state (RFC 3501 §6.1) */
    { "CAPABILITY", imap_cmd_capability, IMAP_STATE_ANY, IMAP_CMD_NONE },
    { "NOOP", imap_cmd_noop, IMAP_STATE_ANY, IMAP_CMD_NONE },
    { "LOGOUT", imap_cmd_logout, IMAP_STATE_ANY, IMAP_CMD_NONE },
    { "ID", imap_cmd_id, IMAP_STATE_ANY, IMAP_CMD_NONE },
    /* not authenticated (§6.2) */
    { "STARTTLS", imap_cmd_starttls, IMAP_STATE_NOT_AUTHENTICATED, IMAP_CMD_NONE },
    { "LOGIN", imap_cmd_login, IMAP_STATE_NOT_AUTHENTICATED, IMAP_CMD_SECRET | IMAP_CMD_AUTH },
    { "AUTHENTICATE", imap_cmd_authenticate, IMAP_STATE_NOT_AUTHENTICATED,
      IMAP_CMD_SECRET | IMAP_CMD_AUTH },
    /* authenticated (§6.3) */
    { "ENABLE", imap_cmd_enable, IMAP_STATE_AUTHENTICATED, IMAP_CMD_NONE },
    { "NAMESPACE", imap_cmd_namespace, IMAP_STATE_AUTH_OR_SELECTED, IMAP_CMD_NONE },
    { "SELECT", imap_cmd_select, IMAP_STATE_AUTH_OR_SELECTED, IMAP_CMD_NONE },
    { "EXAMINE", imap_cmd_examine, IMAP_STATE_AUTH_OR_SELECTED, IMAP_CMD_NONE },
    { "CREATE", imap_cmd_create, IMAP_STATE_AUTH_OR_SELECTED, IMAP_CMD_NONE },
    { "DELETE", imap_cmd_delete, IMAP_STATE_AUTH_OR_SELECTED, IMAP_CMD_NONE },
    { "RENAME", imap_cmd_rename, IMAP_STATE_AUTH_OR_SELECTED, IMAP_CMD_NONE },
    { "SUBSCRIBE", imap_cmd_subscribe, IMAP_STATE_AUTH_OR_SELECTED, IMAP_CMD_NONE },
    { "UNSUBSCRIBE", imap_cmd_unsubscribe, IMAP_STATE_AUTH_OR_SELECTED, IMAP_CMD_NONE },
    { "LIST", imap_cmd_list, IMAP_STATE_AUTH_OR_SELECTED, IMAP_CMD_NONE },
    { "LSUB", imap_cmd_lsub, IMAP_STATE_AUTH_OR_SELECTED, IMAP_CMD_NONE },
    { "STATUS", imap_cmd_status, IMAP_STATE_AUTH_OR_SELECTED, IMAP_CMD_NONE },
    { "APPEND", imap_cmd_append, IMAP_STATE_AUTH_OR_SELECTED, IMAP_CMD_NONE },
    { "IDLE", imap_cmd_idle, IMAP_STATE_AUTH_OR_SELECTED, IMAP_CMD_NONE },
    /* RFC 4314 */
    { "SETACL", imap_cmd_setacl, IMAP_STATE_AUTH_OR_SELECTED, IMAP_CMD_NONE },
    { "DELETEACL", imap_cmd_deleteacl, IMAP_STATE_AUTH_OR_SELECTED, IMAP_CMD_NONE },
    { "GETACL", imap_cmd_getacl, IMAP_STATE_AUTH_OR_SELECTED, IMAP_CMD_NONE },
    { "LISTRIGHTS", imap_cmd_listrights, IMAP_STATE_AUTH_OR_SELECTED, IMAP_CMD_NONE },
    { "MYRIGHTS", imap_cmd_myrights, IMAP_STATE_AUTH_OR_SELECTED, IMAP_CMD_NONE },
    { "GETQUOTAROOT", imap_cmd_getquotaroot, IMAP_STATE_AUTH_OR_SELECTED, IMAP_CMD_NONE },
    { "GETQUOTA", imap_cmd_getquota, IMAP_STATE_AUTH_OR_SELECTED, IMAP_CMD_NONE },
    { "SETQUOTA", imap_cmd_setquota, IMAP_STATE_AUTH_OR_SELECTED, IMAP_CMD_NONE },
    /* selected (§6.4) */
    { "CHECK", imap_cmd_check, IMAP_STATE_SELECTED, IMAP_CMD_NONE },
    { "UNSELECT", imap_cmd_unselect, IMAP_STATE_SELECTED, IMAP_CMD_NONE },
    { "CLOSE", imap_cmd_close, IMAP_STATE_SELECTED, IMAP_CMD_NONE },
    { "EXPUNGE", imap_cmd_expunge, IMAP_STATE_SELECTED, IMAP_CMD_NONE },
    { "SEARCH", imap_cmd_search, IMAP_STATE_SELECTED, IMAP_CMD_UID },
    { "FETCH", imap_cmd_fetch, IMAP_STATE_SELECTED, IMAP_CMD_UID },
    { "STORE", imap_cmd_store, IMAP_STATE_SELECTED, IMAP_CMD_UID },
    { "COPY", imap_cmd_copy, IMAP_STATE_SELECTED, IMAP_CMD_UID },
    { "MOVE", imap_cmd_move, IMAP_STATE_SELECTED, IMAP_CMD_UID },
    { "UID SEARCH", imap_cmd_search, IMAP_STATE_SELECTED, IMAP_CMD_UID },
    { "UID FETCH", imap_cmd_fetch, IMAP_STATE_SELECTED, IMAP_CMD_UID },
    { "UID STORE", imap_cmd_store, IMAP_STATE_SELECTED, IMAP_CMD_UID },
    { "UID COPY", imap_cmd_copy, IMAP_STATE_SELECTED, IMAP_CMD_UID },
    { "UID MOVE", imap_cmd_move, IMAP_STATE_SELECTED, IMAP_CMD_UID },
    { "UID EXPUNGE", imap_cmd_expunge, IMAP_STATE_SELECTED, IMAP_CMD_UID },
    { NULL },
};

const ImapCommandSpec *
imap_find_command(const char *name)
{
    for (const ImapCommandSpec *c = imap_command_table; c->name != NULL; c++) {
        if (g_ascii_strcasecmp(c->name, name) == 0)
            return c;
    }
    return NULL;
}

/* The host dispatches nothing (every line goes to imap_line()), but a
 * protocol needs a table. */
static const PrCommand imap_host_commands[] = {
    { NULL },
};

static const char *const imap_replies[PR_REPLY_LAST] = {
    [PR_REPLY_UNKNOWN_COMMAND] = "* BAD Unknown command",
    [PR_REPLY_BAD_STATE] = "* BAD Command not valid in this state",
    [PR_REPLY_SYNTAX_ERROR] = "* BAD Syntax error",
    [PR_REPLY_LINE_TOO_LONG] = "* BAD Line too long",
    [PR_REPLY_BAD_LINE] = "* BAD Invalid characters in command line",
    [PR_REPLY_TOO_MANY_ERRORS] = "* BYE Too many errors, closing connection",
    [PR_REPLY_ACCESS_DENIED] =
        "* BYE Postroom IMAP4 Server access not allowed - See your administrator",
    [PR_REPLY_TOO_MANY_CONNECTIONS] = "* BYE [UNAVAILABLE] Too many connections, try again later",
    [PR_REPLY_TOO_MANY_FROM_IP] = "* BYE [UNAVAILABLE] Too many connections from your address",
    [PR_REPLY_IDLE_TIMEOUT] = "* BYE Autologout; idle for too long",
    [PR_REPLY_TLS_REQUIRED] = "* BAD [PRIVACYREQUIRED] TLS required before authentication",
    [PR_REPLY_STARTTLS_OK] = "* OK Begin TLS negotiation now",
    [PR_REPLY_STARTTLS_UNAVAILABLE] = "* BAD STARTTLS not available",
    [PR_REPLY_STARTTLS_PIPELINED] = "* BYE Data after STARTTLS, closing connection",
    [PR_REPLY_SHUTDOWN] = "* BYE [UNAVAILABLE] Server shutting down",
    [PR_REPLY_TEMPORARY_FAILURE] = "* NO [UNAVAILABLE] Temporary failure, try again later",
};

static const PrLineProtocol imap_protocol = {
    .struct_size = sizeof(PrLineProtocol),
    .name = "imap4",
    .default_port = 143,
    .max_line = IMAP_MAX_LINE,
    .line_end = PR_LINE_END_ACCEPT_LF,
    /* Literals may hold NUL-free binary; lines are checked by the parser. */
    .nul = PR_NUL_REJECT,
    .idle_timeout = IMAP_IDLE_TIMEOUT,
    .max_bad_commands = 10,
    /* Only for the host's log of a STARTTLS injection: the module handles
     * the tagged command itself (pr_connection_start_tls()). */
    .starttls_command = "STARTTLS",
    .starttls_states = IMAP_STATE_NOT_AUTHENTICATED,
    .session_size = sizeof(ImapSession),
    .initial_state = IMAP_STATE_NOT_AUTHENTICATED,
    .greeting = imap_greeting,
    .tls_started = imap_tls_started,
    .session_finish = imap_session_finish,
    .commands = imap_host_commands,
    .replies = imap_replies,
};

/* ---- sessions per user (max_logins_per_user) ---- */

/* login -> number of sessions; main thread only. */
static GHashTable *logins_per_user;

gboolean
imap_login_acquire(const char *login, guint max)
{
    guint n = GPOINTER_TO_UINT(g_hash_table_lookup(logins_per_user, login));

    if (max > 0 && n >= max)
        return FALSE;
    g_hash_table_replace(logins_per_user, g_strdup(login), GUINT_TO_POINTER(n + 1));
    return TRUE;
}

void
imap_login_release(const char *login)
{
    guint n;

    if (logins_per_user == NULL)
        return;
    n = GPOINTER_TO_UINT(g_hash_table_lookup(logins_per_user, login));
    if (n <= 1)
        g_hash_table_remove(logins_per_user, login);
    else
        g_hash_table_replace(logins_per_user, g_strdup(login), GUINT_TO_POINTER(n - 1));
}

gint64
imap_setting_int(PrConnection *conn, const char *key)
{
    return pr_module_get_int(pr_connection_get_module(conn), NULL, key);
}

gboolean
imap_setting_bool(PrConnection *conn, const char *key)
{
    return pr_module_get_bool(pr_connection_get_module(conn), NULL, key);
}

static gboolean
imap_init(PrModule *self, PrHost *host, GError **error)
{
    logins_per_user = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    return pr_host_add_line_protocol(host, self, &imap_protocol, error);
}

static void
imap_deinit(PrModule *self, PrHost *host)
{
    g_clear_pointer(&logins_per_user, g_hash_table_unref);
}

static const char *const imap_services[] = { "imap4", NULL };

static const PrSettingSpec imap_settings[] = {
    { .key = "max_failed_logins",
      .type = PR_SETTING_INT,
      .default_value = "3",
      .min = 1,
      .max = 100,
      .description = N_("Failed logins allowed in one IMAP session before the server closes it"),
      .flags = PR_SETTING_FLAG_RELOADABLE },
    { .key = "max_logins_per_user",
      .type = PR_SETTING_INT,
      .default_value = "20",
      .min = 0,
      .max = 10000,
      .description = N_("IMAP sessions one user may have at the same time (0: no limit)"),
      .flags = PR_SETTING_FLAG_RELOADABLE },
    { .key = "max_append_size",
      .type = PR_SETTING_SIZE,
      .default_value = "64M",
      .min = 1024,
      .max = G_GINT64_CONSTANT(1) << 31,
      .description = N_("Largest message an IMAP client may APPEND (held in memory while it "
                        "arrives); other commands are limited to 1 MiB with their literals"),
      .flags = PR_SETTING_FLAG_RELOADABLE },
    { .key = "idle",
      .type = PR_SETTING_BOOL,
      .default_value = "true",
      .description = N_("Support the IMAP IDLE command (RFC 2177)"),
      .flags = PR_SETTING_FLAG_RELOADABLE },
    { .key = NULL },
};

PR_MODULE_DEFINE(imap4, .description = N_("IMAP4rev1 server"), .version = PACKAGE_VERSION,
                 .license = "GPL-3.0-or-later", .services = imap_services,
                 .settings = imap_settings, .init = imap_init, .deinit = imap_deinit)
