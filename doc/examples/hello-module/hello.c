/* SPDX-License-Identifier: MIT */

/* hello: the smallest useful Postroom module, built outside the Postroom
 * tree against the installed SDK (pkg-config postroom-plugin-1). It serves
 * a three-command line protocol:
 *
 *   S: 220 mail.example.com hello ready
 *   C: HELO world
 *   S: 250 Hello world
 *   C: QUIT
 *   S: 221 Bye
 *
 * Enable it with `[modules] enabled=hello` and `[hello] listen=...`. */

#include <postroom/postroom-plugin.h>

/* Third-party modules use their own gettext domain for the strings an
 * administrator sees (the description below). */
#define GETTEXT_PACKAGE "postroom-hello"
#include <glib/gi18n-lib.h>

#ifndef HELLO_LOCALEDIR
#define HELLO_LOCALEDIR "/usr/share/locale"
#endif

enum {
    HELLO_STATE_READY = 1 << 0,
};

static void
hello_greeting(PrConnection *conn, gpointer session)
{
    pr_connection_replyf(conn, "220 %s hello ready",
                         pr_host_get_hostname(pr_connection_get_host(conn)));
}

static PrCommandResult
hello_cmd_helo(PrConnection *conn, gpointer session, const char *args)
{
    pr_connection_replyf(conn, "250 Hello %s", args);
    return PR_COMMAND_DONE;
}

static PrCommandResult
hello_cmd_quit(PrConnection *conn, gpointer session, const char *args)
{
    pr_connection_reply(conn, "221 Bye");
    return PR_COMMAND_CLOSE;
}

static const PrCommand hello_commands[] = {
    { "HELO", hello_cmd_helo, HELLO_STATE_READY, PR_COMMAND_FLAG_ARGS_REQUIRED },
    { "QUIT", hello_cmd_quit, HELLO_STATE_READY, PR_COMMAND_FLAG_NO_ARGS },
    { NULL },
};

/* What the host says on the protocol's behalf (never translated). */
static const char *const hello_replies[PR_REPLY_LAST] = {
    [PR_REPLY_UNKNOWN_COMMAND] = "500 Unknown command",
    [PR_REPLY_BAD_STATE] = "503 Bad sequence of commands",
    [PR_REPLY_SYNTAX_ERROR] = "501 Syntax error",
    [PR_REPLY_LINE_TOO_LONG] = "500 Line too long",
    [PR_REPLY_BAD_LINE] = "500 Invalid characters in line",
    [PR_REPLY_TOO_MANY_ERRORS] = "421 Too many errors",
    [PR_REPLY_ACCESS_DENIED] = "554 Access denied",
    [PR_REPLY_TOO_MANY_CONNECTIONS] = "421 Too many connections",
    [PR_REPLY_TOO_MANY_FROM_IP] = "421 Too many connections from your address",
    [PR_REPLY_IDLE_TIMEOUT] = "421 Idle timeout",
    [PR_REPLY_TLS_REQUIRED] = "530 TLS required",
    [PR_REPLY_SHUTDOWN] = "421 Shutting down",
    [PR_REPLY_TEMPORARY_FAILURE] = "451 Temporary failure",
};

static const PrLineProtocol hello_protocol = {
    .struct_size = sizeof(PrLineProtocol),
    .name = "hello",
    .max_line = 512,
    .line_end = PR_LINE_END_ACCEPT_LF,
    .nul = PR_NUL_REJECT,
    .idle_timeout = 300,
    .initial_state = HELLO_STATE_READY,
    .greeting = hello_greeting,
    .commands = hello_commands,
    .replies = hello_replies,
};

static gboolean
hello_init(PrModule *self, PrHost *host, GError **error)
{
    PR_MODULE_BIND_TEXTDOMAIN(GETTEXT_PACKAGE, HELLO_LOCALEDIR);
    return pr_host_add_line_protocol(host, self, &hello_protocol, error);
}

static void
hello_deinit(PrModule *self, PrHost *host)
{
    /* Nothing private to free: the host drops the protocol itself. */
}

static const char *const hello_services[] = { "hello", NULL };

PR_MODULE_DEFINE(hello, .description = N_("Hello world example service"), .version = "1.0",
                 .license = "MIT", .gettext_domain = GETTEXT_PACKAGE, .services = hello_services,
                 .init = hello_init, .deinit = hello_deinit)
