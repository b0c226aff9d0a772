/* SPDX-License-Identifier: GPL-3.0-or-later */

/* pop3: the POP3 server (RFC 1939 with CAPA, RFC 2449; STLS, RFC 2595; SASL,
 * RFC 5034). This file holds the descriptor, the settings schema and the
 * protocol table; the host does sockets, TLS, STLS, limits and dispatch. */

#include "postroom-config.h"

#include <glib/gi18n-lib.h>

#include "pop3.h"

static const PrCommand pop3_commands[] = {
    { "CAPA", pop3_cmd_capa, POP3_STATE_ANY, PR_COMMAND_FLAG_NO_ARGS },
    { "NOOP", pop3_cmd_noop, POP3_STATE_ANY, PR_COMMAND_FLAG_NO_ARGS },
    { "QUIT", pop3_cmd_quit, POP3_STATE_ANY, PR_COMMAND_FLAG_NO_ARGS },
    { "USER", pop3_cmd_user, POP3_STATE_AUTHORIZATION,
      PR_COMMAND_FLAG_ARGS_REQUIRED | PR_COMMAND_FLAG_AUTH },
    { "PASS", pop3_cmd_pass, POP3_STATE_AUTHORIZATION,
      PR_COMMAND_FLAG_ARGS_REQUIRED | PR_COMMAND_FLAG_AUTH | PR_COMMAND_FLAG_SECRET },
    /* Its own checks (TLS, arguments): while APOP is off it is an unknown
     * command, whatever else is wrong. */
    { "APOP", pop3_cmd_apop, POP3_STATE_AUTHORIZATION, PR_COMMAND_FLAG_SECRET },
    /* Without arguments AUTH lists the mechanisms, so arguments are optional. */
    { "AUTH", pop3_cmd_auth, POP3_STATE_AUTHORIZATION,
      PR_COMMAND_FLAG_AUTH | PR_COMMAND_FLAG_SECRET },
    { "STAT", pop3_cmd_stat, POP3_STATE_TRANSACTION, PR_COMMAND_FLAG_NO_ARGS },
    { "LIST", pop3_cmd_list, POP3_STATE_TRANSACTION, PR_COMMAND_FLAG_NONE },
    { "UIDL", pop3_cmd_uidl, POP3_STATE_TRANSACTION, PR_COMMAND_FLAG_NONE },
    { "RETR", pop3_cmd_retr, POP3_STATE_TRANSACTION, PR_COMMAND_FLAG_ARGS_REQUIRED },
    { "TOP", pop3_cmd_top, POP3_STATE_TRANSACTION, PR_COMMAND_FLAG_ARGS_REQUIRED },
    { "DELE", pop3_cmd_dele, POP3_STATE_TRANSACTION, PR_COMMAND_FLAG_ARGS_REQUIRED },
    { "RSET", pop3_cmd_rset, POP3_STATE_TRANSACTION, PR_COMMAND_FLAG_NO_ARGS },
    { NULL },
};

static const char *const pop3_replies[PR_REPLY_LAST] = {
    [PR_REPLY_UNKNOWN_COMMAND] = "-ERR Unknown command",
    [PR_REPLY_BAD_STATE] = "-ERR Command not valid in this state",
    [PR_REPLY_SYNTAX_ERROR] = "-ERR Syntax error",
    [PR_REPLY_LINE_TOO_LONG] = "-ERR Line too long",
    [PR_REPLY_BAD_LINE] = "-ERR Invalid characters in command line",
    [PR_REPLY_TOO_MANY_ERRORS] = "-ERR Too many errors, closing connection",
    [PR_REPLY_ACCESS_DENIED] =
        "-ERR Postroom POP3 Server access not allowed - See your administrator",
    [PR_REPLY_TOO_MANY_CONNECTIONS] = "-ERR [SYS/TEMP] Too many connections, try again later",
    [PR_REPLY_TOO_MANY_FROM_IP] = "-ERR [SYS/TEMP] Too many connections from your address",
    [PR_REPLY_IDLE_TIMEOUT] = "-ERR Autologout; idle for too long",
    [PR_REPLY_TLS_REQUIRED] = POP3_R_TLS_REQUIRED,
    [PR_REPLY_STARTTLS_OK] = "+OK Begin TLS negotiation",
    [PR_REPLY_STARTTLS_UNAVAILABLE] = "-ERR STLS not available",
    [PR_REPLY_STARTTLS_PIPELINED] = "-ERR Data after STLS, closing connection",
    [PR_REPLY_SHUTDOWN] = "-ERR [SYS/TEMP] Server shutting down",
    [PR_REPLY_TEMPORARY_FAILURE] = "-ERR [SYS/TEMP] Temporary failure, try again later",
};

static const PrLineProtocol pop3_protocol = {
    .struct_size = sizeof(PrLineProtocol),
    .name = "pop3",
    .default_port = 110,
    .max_line = POP3_MAX_LINE,
    .line_end = PR_LINE_END_ACCEPT_LF,
    .nul = PR_NUL_REJECT,
    .idle_timeout = POP3_IDLE_TIMEOUT,
    .max_bad_commands = 10,
    .starttls_command = "STLS",
    .starttls_states = POP3_STATE_AUTHORIZATION,
    .session_size = sizeof(Pop3Session),
    .initial_state = POP3_STATE_AUTHORIZATION,
    .greeting = pop3_greeting,
    .tls_started = pop3_tls_started,
    .session_finish = pop3_session_finish,
    .commands = pop3_commands,
    .replies = pop3_replies,
};

static gboolean
pop3_init(PrModule *self, PrHost *host, GError **error)
{
    /* Not an error: store_secrets may be turned on by a reload. */
    if ((pr_module_get_bool(self, NULL, "apop") || pr_module_get_bool(self, NULL, "cram_md5")) &&
        !pr_auth_secrets_enabled(host))
        g_warning(_("[pop3] apop and cram_md5 have no effect while [auth] store_secrets=false"));
    return pr_host_add_line_protocol(host, self, &pop3_protocol, error);
}

static void
pop3_deinit(PrModule *self, PrHost *host)
{
    /* No module state: everything registered through @self goes with it. */
}

static const char *const pop3_services[] = { "pop3", NULL };

static const PrSettingSpec pop3_settings[] = {
    { .key = "hold_deleted",
      .type = PR_SETTING_BOOL,
      .default_value = "false",
      .description = N_("Hold messages deleted by POP3 clients in the store, invisible to every "
                        "client, instead of deleting them"),
      .flags = PR_SETTING_FLAG_RELOADABLE },
    { .key = "apop",
      .type = PR_SETTING_BOOL,
      .default_value = "false",
      .description = N_("Offer APOP (a timestamp in the greeting); needs [auth] store_secrets"),
      .flags = PR_SETTING_FLAG_RELOADABLE },
    { .key = "cram_md5",
      .type = PR_SETTING_BOOL,
      .default_value = "false",
      .description = N_("Offer SASL CRAM-MD5; needs [auth] store_secrets"),
      .flags = PR_SETTING_FLAG_RELOADABLE },
    { .key = "max_failed_logins",
      .type = PR_SETTING_INT,
      .default_value = "3",
      .min = 1,
      .max = 100,
      .description = N_("Failed logins allowed in one POP3 session before the server closes it"),
      .flags = PR_SETTING_FLAG_RELOADABLE },
    { .key = NULL },
};

PR_MODULE_DEFINE(pop3, .description = N_("POP3 server"), .version = PACKAGE_VERSION,
                 .license = "GPL-3.0-or-later", .services = pop3_services,
                 .settings = pop3_settings, .init = pop3_init, .deinit = pop3_deinit)
