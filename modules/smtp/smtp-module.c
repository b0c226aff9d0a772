/* SPDX-License-Identifier: GPL-3.0-or-later */

/* smtp: the SMTP server (RFC 5321) with its extensions, serving three
 * services from one module: `smtp` (MX, port 25), `submission` (port 587,
 * RFC 6409) and `smtps` (implicit TLS, port 465, RFC 8314). This file holds
 * the descriptor, the settings schema and the protocol tables; the host
 * does sockets, TLS, STARTTLS, access rules, limits and dispatch. */

#include "postroom-config.h"

#include <glib/gi18n-lib.h>

#include "smtp.h"

typedef struct {
    SmtpIps *ips;
} SmtpModule;

static const PrCommand smtp_commands[] = {
    { "EHLO", smtp_cmd_ehlo, SMTP_STATE_ANY, PR_COMMAND_FLAG_NONE },
    { "HELO", smtp_cmd_helo, SMTP_STATE_ANY, PR_COMMAND_FLAG_NONE },
    { "MAIL", smtp_cmd_mail, SMTP_STATE_READY, PR_COMMAND_FLAG_ARGS_REQUIRED },
    { "RCPT", smtp_cmd_rcpt, SMTP_STATE_MAIL | SMTP_STATE_RCPT, PR_COMMAND_FLAG_ARGS_REQUIRED },
    { "DATA", smtp_cmd_data, SMTP_STATE_MAIL | SMTP_STATE_RCPT, PR_COMMAND_FLAG_NO_ARGS },
    /* BDAT in every state: its chunk must be read and dropped even when the
     * command is refused, or the chunk would be taken for commands. */
    { "BDAT", smtp_cmd_bdat, SMTP_STATE_ANY, PR_COMMAND_FLAG_NONE },
    { "RSET", smtp_cmd_rset, SMTP_STATE_ANY, PR_COMMAND_FLAG_NO_ARGS },
    { "NOOP", smtp_cmd_noop, SMTP_STATE_ANY, PR_COMMAND_FLAG_NONE },
    { "QUIT", smtp_cmd_quit, SMTP_STATE_ANY, PR_COMMAND_FLAG_NO_ARGS },
    { "HELP", smtp_cmd_help, SMTP_STATE_ANY, PR_COMMAND_FLAG_NONE },
    { "VRFY", smtp_cmd_vrfy, SMTP_STATE_ANY, PR_COMMAND_FLAG_NONE },
    { "EXPN", smtp_cmd_expn, SMTP_STATE_ANY, PR_COMMAND_FLAG_NONE },
    /* RFC 4954 §4: after EHLO, outside a transaction. */
    { "AUTH", smtp_cmd_auth, SMTP_STATE_READY,
      PR_COMMAND_FLAG_ARGS_REQUIRED | PR_COMMAND_FLAG_AUTH | PR_COMMAND_FLAG_SECRET },
    { NULL },
};

/* VPOP3's wire strings where the specification gives them (section 10),
 * with the product name replaced. */
static const char *const smtp_replies[PR_REPLY_LAST] = {
    [PR_REPLY_UNKNOWN_COMMAND] = "500 5.5.2 Command not recognized",
    [PR_REPLY_BAD_STATE] = "503 5.5.1 Bad sequence of commands",
    [PR_REPLY_SYNTAX_ERROR] = "501 5.5.4 Syntax error in parameters or arguments",
    [PR_REPLY_LINE_TOO_LONG] = "500 5.5.2 Line too long",
    [PR_REPLY_BAD_LINE] = "500 5.5.2 Bare LF or NUL in command line",
    [PR_REPLY_TOO_MANY_ERRORS] = "421 4.7.0 Too many errors, closing connection",
    [PR_REPLY_ACCESS_DENIED] =
        "554 5.7.1 Postroom SMTP Server Access not allowed - See your administrator",
    [PR_REPLY_TOO_MANY_CONNECTIONS] = "421 4.3.2 Postroom Too many connections - try later",
    [PR_REPLY_TOO_MANY_FROM_IP] =
        "421 4.3.2 Postroom Too many connections from your IP address - try later",
    [PR_REPLY_IDLE_TIMEOUT] = "421 4.4.2 Idle timeout, closing connection",
    [PR_REPLY_TLS_REQUIRED] = "530 5.7.0 Must issue a STARTTLS command first",
    [PR_REPLY_STARTTLS_OK] = "220 2.0.0 Ready to start TLS",
    [PR_REPLY_STARTTLS_UNAVAILABLE] = "454 4.7.0 TLS not available",
    [PR_REPLY_STARTTLS_PIPELINED] = "554 5.5.1 Data after STARTTLS, closing connection",
    [PR_REPLY_SHUTDOWN] = "421 4.3.2 Server shutting down",
    [PR_REPLY_TEMPORARY_FAILURE] = "451 4.3.0 Temporary failure, try again later",
};

#define SMTP_PROTOCOL(service_name, port)                                                          \
    {                                                                                              \
        .struct_size = sizeof(PrLineProtocol), .name = (service_name), .default_port = (port),     \
        .max_line = SMTP_MAX_LINE, .line_end = PR_LINE_END_CRLF_ONLY, .nul = PR_NUL_REJECT,        \
        .idle_timeout = SMTP_IDLE_TIMEOUT, .max_bad_commands = SMTP_MAX_BAD_COMMANDS,              \
        .starttls_command = "STARTTLS", .starttls_states = SMTP_STATE_INIT | SMTP_STATE_READY,     \
        .session_size = sizeof(SmtpSession), .initial_state = SMTP_STATE_INIT,                     \
        .greeting = smtp_greeting, .tls_started = smtp_tls_started,                                \
        .session_finish = smtp_session_finish, .commands = smtp_commands, .replies = smtp_replies, \
    }

static const PrLineProtocol smtp_protocols[] = {
    SMTP_PROTOCOL("smtp", 25),
    SMTP_PROTOCOL("submission", 587),
    SMTP_PROTOCOL("smtps", 465),
};

const char *const smtp_service_names[] = { "smtp", "submission", "smtps", NULL };

static SmtpModule *
module_state(PrConnection *conn)
{
    return pr_module_get_data(pr_connection_get_module(conn));
}

gboolean
smtp_service_bool(PrConnection *conn, const char *key)
{
    return pr_module_get_bool(pr_connection_get_module(conn), pr_connection_get_service(conn), key);
}

gint64
smtp_service_int(PrConnection *conn, const char *key)
{
    return pr_module_get_int(pr_connection_get_module(conn), pr_connection_get_service(conn), key);
}

gint64
smtp_module_int(PrConnection *conn, const char *key)
{
    return pr_module_get_int(pr_connection_get_module(conn), NULL, key);
}

gboolean
smtp_module_bool(PrConnection *conn, const char *key)
{
    return pr_module_get_bool(pr_connection_get_module(conn), NULL, key);
}

const char *
smtp_module_string(PrConnection *conn, const char *key)
{
    return pr_module_get_string(pr_connection_get_module(conn), NULL, key);
}

SmtpIps *
smtp_ips_for(PrConnection *conn)
{
    SmtpModule *m = module_state(conn);
    return m != NULL ? m->ips : NULL;
}

static void
smtp_module_free(gpointer data)
{
    SmtpModule *m = data;

    smtp_ips_free(m->ips);
    g_free(m);
}

/* CIDR lists are checked once here; the host knows only that they are
 * lists of text. */
static gboolean
check_cidr_list(PrModule *self, const char *key, GError **error)
{
    g_auto(GStrv) items = pr_module_get_strv(self, NULL, key);
    const char *bad = smtp_cidr_list_bad_item(items);

    if (bad == NULL)
        return TRUE;
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                _("[smtp] %s: “%s” is not an address or ADDRESS/PREFIX"), key, bad);
    return FALSE;
}

static gboolean
smtp_init(PrModule *self, PrHost *host, GError **error)
{
    SmtpModule *m;

    if (!check_cidr_list(self, "ips_never_block", error) ||
        !check_cidr_list(self, "vrfy_expn_allow", error))
        return FALSE;
    /* Not an error: store_secrets may be turned on by a reload. */
    for (guint i = 0; smtp_service_names[i] != NULL; i++) {
        if (pr_module_get_bool(self, smtp_service_names[i], "cram_md5") &&
            !pr_auth_secrets_enabled(host))
            g_warning(_("[%s] cram_md5 has no effect while [auth] store_secrets=false"),
                      smtp_service_names[i]);
    }
    m = g_new0(SmtpModule, 1);
    m->ips = smtp_ips_new(self);
    pr_module_set_data(self, m, smtp_module_free);
    /* Blocked addresses are refused before the greeting. */
    pr_host_connect_hook(host, self, PR_HOOK_CONNECT, smtp_ips_connect_hook, PR_HOOK_PRIORITY_EARLY,
                         m->ips, NULL);
    for (guint i = 0; i < G_N_ELEMENTS(smtp_protocols); i++) {
        if (!pr_host_add_line_protocol(host, self, &smtp_protocols[i], error))
            return FALSE;
    }
    return TRUE;
}

static void
smtp_deinit(PrModule *self, PrHost *host)
{
    /* The module state goes with smtp_module_free after this. */
}

static const char *const bare_lf_choices[] = { "reject", "accept", NULL };
static const char *const nul_choices[] = { "reject", "strip", "replace", NULL };

#define RELOAD PR_SETTING_FLAG_RELOADABLE

/* The per-service keys, once per service group with its own defaults;
 * the `smtp` service's group is the module's own. */
static const PrSettingSpec smtp_settings[] = {
    { NULL, "require_auth", PR_SETTING_BOOL, "false", 0, 0, NULL,
      N_("Clients must authenticate (or be a noauth address, or use POP-before-SMTP) before "
         "MAIL"),
      RELOAD },
    { NULL, "require_tls", PR_SETTING_BOOL, "false", 0, 0, NULL,
      N_("Clients must use STARTTLS (or implicit TLS) before MAIL"), RELOAD },
    { NULL, "plaintext_auth", PR_SETTING_BOOL, "false", 0, 0, NULL,
      N_("Offer AUTH on connections that are not encrypted"), RELOAD },
    { NULL, "cram_md5", PR_SETTING_BOOL, "false", 0, 0, NULL,
      N_("Offer AUTH CRAM-MD5 (needs [auth] store_secrets)"), RELOAD },
    { NULL, "max_message_size", PR_SETTING_SIZE, "50M", 1024, 0, NULL,
      N_("Largest message accepted (also limited by [delivery] max_message_size)"), RELOAD },
    { NULL, "max_recipients", PR_SETTING_INT, "100", 1, 100000, NULL,
      N_("Recipients accepted for one message"), RELOAD },
    { "submission", "require_auth", PR_SETTING_BOOL, "true", 0, 0, NULL,
      N_("Clients must authenticate (or be a noauth address, or use POP-before-SMTP) before "
         "MAIL"),
      RELOAD },
    { "submission", "require_tls", PR_SETTING_BOOL, "true", 0, 0, NULL,
      N_("Clients must use STARTTLS (or implicit TLS) before MAIL"), RELOAD },
    { "submission", "plaintext_auth", PR_SETTING_BOOL, "false", 0, 0, NULL,
      N_("Offer AUTH on connections that are not encrypted"), RELOAD },
    { "submission", "cram_md5", PR_SETTING_BOOL, "false", 0, 0, NULL,
      N_("Offer AUTH CRAM-MD5 (needs [auth] store_secrets)"), RELOAD },
    { "submission", "max_message_size", PR_SETTING_SIZE, "50M", 1024, 0, NULL,
      N_("Largest message accepted (also limited by [delivery] max_message_size)"), RELOAD },
    { "submission", "max_recipients", PR_SETTING_INT, "100", 1, 100000, NULL,
      N_("Recipients accepted for one message"), RELOAD },
    { "smtps", "require_auth", PR_SETTING_BOOL, "true", 0, 0, NULL,
      N_("Clients must authenticate (or be a noauth address, or use POP-before-SMTP) before "
         "MAIL"),
      RELOAD },
    { "smtps", "require_tls", PR_SETTING_BOOL, "true", 0, 0, NULL,
      N_("Clients must use STARTTLS (or implicit TLS) before MAIL"), RELOAD },
    { "smtps", "plaintext_auth", PR_SETTING_BOOL, "false", 0, 0, NULL,
      N_("Offer AUTH on connections that are not encrypted"), RELOAD },
    { "smtps", "cram_md5", PR_SETTING_BOOL, "false", 0, 0, NULL,
      N_("Offer AUTH CRAM-MD5 (needs [auth] store_secrets)"), RELOAD },
    { "smtps", "max_message_size", PR_SETTING_SIZE, "50M", 1024, 0, NULL,
      N_("Largest message accepted (also limited by [delivery] max_message_size)"), RELOAD },
    { "smtps", "max_recipients", PR_SETTING_INT, "100", 1, 100000, NULL,
      N_("Recipients accepted for one message"), RELOAD },
    { .key = "pop_before_smtp",
      .type = PR_SETTING_DURATION,
      .default_value = "0",
      .min = 0,
      .max = 86400,
      .description = N_("How long after a POP3 login from an address that address may relay "
                        "without authentication (0: off)"),
      .flags = RELOAD },
    { .key = "vrfy_expn",
      .type = PR_SETTING_BOOL,
      .default_value = "false",
      .description = N_("Answer VRFY (and EXPN for single users) for the allowed clients"),
      .flags = RELOAD },
    { .key = "vrfy_expn_allow",
      .type = PR_SETTING_STRING_LIST,
      .default_value = "",
      .description = N_("Addresses (CIDR) that may use VRFY and EXPN besides authenticated and "
                        "noauth clients"),
      .flags = RELOAD },
    { .key = "bare_lf",
      .type = PR_SETTING_ENUM,
      .default_value = "reject",
      .choices = bare_lf_choices,
      .description = N_("Messages with a bare LF or CR: reject them, or accept them with the "
                        "line ends normalised"),
      .flags = RELOAD },
    { .key = "nul",
      .type = PR_SETTING_ENUM,
      .default_value = "reject",
      .choices = nul_choices,
      .description = N_("Messages with NUL bytes: reject them, strip the NULs, or replace them "
                        "with spaces"),
      .flags = RELOAD },
    { .key = "ips_enabled",
      .type = PR_SETTING_BOOL,
      .default_value = "true",
      .description = N_("Block client addresses that collect too many bad-behaviour points"),
      .flags = RELOAD },
    { .key = "ips_bad_auth_score",
      .type = PR_SETTING_INT,
      .default_value = "50",
      .min = 0,
      .max = 1000000,
      .description = N_("Points for a failed SMTP authentication"),
      .flags = RELOAD },
    { .key = "ips_bad_rcpt_score",
      .type = PR_SETTING_INT,
      .default_value = "50",
      .min = 0,
      .max = 1000000,
      .description = N_("Points for a recipient that does not exist here"),
      .flags = RELOAD },
    { .key = "ips_relay_score",
      .type = PR_SETTING_INT,
      .default_value = "100",
      .min = 0,
      .max = 1000000,
      .description = N_("Points for a refused relaying attempt"),
      .flags = RELOAD },
    { .key = "ips_period",
      .type = PR_SETTING_DURATION,
      .default_value = "60m",
      .min = 60,
      .max = 7 * 86400,
      .description = N_("How long points count"),
      .flags = RELOAD },
    { .key = "ips_threshold",
      .type = PR_SETTING_INT,
      .default_value = "1000",
      .min = 1,
      .max = 100000000,
      .description = N_("Points within the period at which an address is blocked"),
      .flags = RELOAD },
    { .key = "ips_block_time",
      .type = PR_SETTING_DURATION,
      .default_value = "30m",
      .min = 1,
      .max = 365 * 86400,
      .description = N_("How long a blocked address stays blocked"),
      .flags = RELOAD },
    { .key = "ips_max_entries",
      .type = PR_SETTING_INT,
      .default_value = "10000",
      .min = 10,
      .max = 10000000,
      .description = N_("Client addresses the intrusion prevention remembers at most"),
      .flags = RELOAD },
    { .key = "ips_never_block",
      .type = PR_SETTING_STRING_LIST,
      .default_value = "",
      .description = N_("Addresses (CIDR) that are never scored or blocked"),
      .flags = RELOAD },
    { .key = NULL },
};

PR_MODULE_DEFINE(smtp, .description = N_("SMTP server (MX, submission and SMTPS)"),
                 .version = PACKAGE_VERSION, .license = "GPL-3.0-or-later",
                 .services = smtp_service_names, .settings = smtp_settings, .init = smtp_init,
                 .deinit = smtp_deinit)
