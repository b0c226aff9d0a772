/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <postroom/pr-module.h>

G_BEGIN_DECLS

/**
 * SECTION:pr-protocol
 * @title: Line protocols
 *
 * A module that serves a line-oriented protocol (POP3, SMTP, NNTP, ...)
 * describes it with a #PrLineProtocol and registers it from init. The host
 * owns the sockets, TLS, access rules and limits, reads lines with a bounded
 * reader, applies the protocol's line-ending and NUL policies, checks each
 * command's allowed states, handles the STARTTLS command, and calls the
 * module's handlers with the session block it allocated.
 */

/**
 * PrConnection:
 *
 * One client connection. Opaque; see pr-connection.h.
 */
typedef struct _PrConnection PrConnection;

/**
 * PrCommandResult:
 * @PR_COMMAND_DONE: handled; the host goes on with the next pipelined line
 * @PR_COMMAND_ASYNC: the handler started asynchronous work; no further line is
 *   read until it calls pr_connection_resume() (or pr_connection_close())
 * @PR_COMMAND_CLOSE: send what is queued, then close the connection
 */
typedef enum {
    PR_COMMAND_DONE,
    PR_COMMAND_ASYNC,
    PR_COMMAND_CLOSE,
} PrCommandResult;

/**
 * PrCommandFunc:
 * @conn: the connection
 * @session: the module's session block (#PrLineProtocol.session_size bytes)
 * @args: the text after the command name and its separating space; "" when
 *   there is none, never %NULL
 *
 * Returns: what the host does next
 */
typedef PrCommandResult (*PrCommandFunc)(PrConnection *conn, gpointer session, const char *args);

/**
 * PrLineFunc:
 * @conn: the connection
 * @session: the module's session block
 * @line: the line without its line end, NUL-terminated
 * @len: its length (it may contain NUL bytes if the protocol accepts them)
 *
 * Receives raw lines while installed with pr_connection_set_line_handler()
 * (SASL continuations, message bodies).
 *
 * Returns: what the host does next
 */
typedef PrCommandResult (*PrLineFunc)(PrConnection *conn, gpointer session, const char *line,
                                      gsize len);

/**
 * PrCommandFlags:
 * @PR_COMMAND_FLAG_NONE: no flags
 * @PR_COMMAND_FLAG_ARGS_REQUIRED: without arguments the host answers
 *   %PR_REPLY_SYNTAX_ERROR
 * @PR_COMMAND_FLAG_NO_ARGS: with arguments the host answers %PR_REPLY_SYNTAX_ERROR
 * @PR_COMMAND_FLAG_SECRET: the arguments carry credentials and are never logged
 * @PR_COMMAND_FLAG_AUTH: an authentication command: refused with
 *   %PR_REPLY_TLS_REQUIRED on a plaintext connection of a service that
 *   requires TLS before authentication
 */
typedef enum {
    PR_COMMAND_FLAG_NONE = 0,
    PR_COMMAND_FLAG_ARGS_REQUIRED = 1 << 0,
    PR_COMMAND_FLAG_NO_ARGS = 1 << 1,
    PR_COMMAND_FLAG_SECRET = 1 << 2,
    PR_COMMAND_FLAG_AUTH = 1 << 3,
} PrCommandFlags;

/**
 * PrCommand:
 * @name: the command verb, matched case-insensitively
 * @handler: called for the command
 * @states: bit mask of the session states the command is valid in; elsewhere
 *   the host answers %PR_REPLY_BAD_STATE
 * @flags: #PrCommandFlags
 * @reserved: must be %NULL
 *
 * One entry of a command table; a table ends with an entry whose @name is %NULL.
 */
typedef struct {
    const char *name;
    PrCommandFunc handler;
    guint32 states;
    guint32 flags;
    gpointer reserved[2];
} PrCommand;

/**
 * PrLineEndPolicy:
 * @PR_LINE_END_ACCEPT_LF: a bare LF ends a line like CRLF does
 * @PR_LINE_END_CRLF_ONLY: a line ended by a bare LF is answered with
 *   %PR_REPLY_BAD_LINE and not processed (RFC 5321 §2.3.8)
 */
typedef enum {
    PR_LINE_END_ACCEPT_LF,
    PR_LINE_END_CRLF_ONLY,
} PrLineEndPolicy;

/**
 * PrNulPolicy:
 * @PR_NUL_REJECT: a line containing NUL is answered with %PR_REPLY_BAD_LINE
 * @PR_NUL_ACCEPT: NUL bytes are passed to the handler (see @len)
 */
typedef enum {
    PR_NUL_REJECT,
    PR_NUL_ACCEPT,
} PrNulPolicy;

/**
 * PrHostReply:
 * @PR_REPLY_UNKNOWN_COMMAND: no such command
 * @PR_REPLY_BAD_STATE: command not valid in the session's state
 * @PR_REPLY_SYNTAX_ERROR: arguments missing or unexpected
 * @PR_REPLY_LINE_TOO_LONG: a line exceeded #PrLineProtocol.max_line
 * @PR_REPLY_BAD_LINE: a line with NUL bytes or a bare LF, against policy
 * @PR_REPLY_TOO_MANY_ERRORS: sent before closing after too many bad commands
 * @PR_REPLY_ACCESS_DENIED: sent before closing a connection the access rules deny
 * @PR_REPLY_TOO_MANY_CONNECTIONS: sent before closing when the service or
 *   server is full
 * @PR_REPLY_TOO_MANY_FROM_IP: sent before closing when the client's address
 *   has too many connections
 * @PR_REPLY_IDLE_TIMEOUT: sent before closing an idle connection
 * @PR_REPLY_TLS_REQUIRED: an authentication command on plaintext where TLS is required
 * @PR_REPLY_STARTTLS_OK: the positive answer to the STARTTLS command
 * @PR_REPLY_STARTTLS_UNAVAILABLE: STARTTLS without a certificate, or on TLS already
 * @PR_REPLY_STARTTLS_PIPELINED: sent before closing when data followed the
 *   STARTTLS command in the same read (command injection)
 * @PR_REPLY_SHUTDOWN: sent to open connections when the server stops
 * @PR_REPLY_TEMPORARY_FAILURE: a temporary server-side failure (store unavailable)
 * @PR_REPLY_LAST: the number of replies
 *
 * The replies the host itself sends on a protocol's behalf. Each protocol
 * gives its own wording (protocol text is never translated).
 */
typedef enum {
    PR_REPLY_UNKNOWN_COMMAND,
    PR_REPLY_BAD_STATE,
    PR_REPLY_SYNTAX_ERROR,
    PR_REPLY_LINE_TOO_LONG,
    PR_REPLY_BAD_LINE,
    PR_REPLY_TOO_MANY_ERRORS,
    PR_REPLY_ACCESS_DENIED,
    PR_REPLY_TOO_MANY_CONNECTIONS,
    PR_REPLY_TOO_MANY_FROM_IP,
    PR_REPLY_IDLE_TIMEOUT,
    PR_REPLY_TLS_REQUIRED,
    PR_REPLY_STARTTLS_OK,
    PR_REPLY_STARTTLS_UNAVAILABLE,
    PR_REPLY_STARTTLS_PIPELINED,
    PR_REPLY_SHUTDOWN,
    PR_REPLY_TEMPORARY_FAILURE,
    PR_REPLY_LAST,
} PrHostReply;

/**
 * PrLineProtocol:
 * @struct_size: sizeof (PrLineProtocol)
 * @name: the service this protocol serves; one of the module's
 *   #PrModuleDesc.services, hence also its config group
 * @default_port: the protocol's well-known port (0 = none), for documentation
 *   and tools; the host listens only where `listen=` tells it to
 * @max_line: the longest accepted line in bytes, line end included
 *   (POP3 255 by RFC 2449, SMTP 512 by RFC 5321)
 * @line_end: #PrLineEndPolicy
 * @nul: #PrNulPolicy
 * @idle_timeout: default idle timeout in seconds (`idle_timeout=` overrides)
 * @max_bad_commands: after this many bad commands the host sends
 *   %PR_REPLY_TOO_MANY_ERRORS and closes (0 = 10)
 * @starttls_command: (nullable): the STARTTLS verb ("STLS", "STARTTLS"); the
 *   host implements it, only in @starttls_states
 * @starttls_states: states in which @starttls_command is accepted
 * @session_size: bytes of zeroed session block the host allocates per connection
 * @initial_state: the state of a new session (a single bit)
 * @greeting: sends the greeting; called after access checks and the
 *   %PR_HOOK_CONNECT chain
 * @tls_started: (nullable): called after a STARTTLS handshake; the host has
 *   already set the state back to @initial_state
 * @session_finish: (nullable): called once when the connection ends; frees
 *   what the session block points to (not the block itself)
 * @commands: the command table
 * @replies: %PR_REPLY_LAST lines indexed by #PrHostReply (the STARTTLS
 *   entries may be %NULL if @starttls_command is %NULL)
 * @reserved: must be %NULL
 *
 * A line protocol, registered with pr_host_add_line_protocol().
 */
typedef struct {
    guint32 struct_size;
    const char *name;
    guint16 default_port;
    gsize max_line;
    PrLineEndPolicy line_end;
    PrNulPolicy nul;
    guint idle_timeout;
    guint max_bad_commands;
    const char *starttls_command;
    guint32 starttls_states;
    gsize session_size;
    guint32 initial_state;
    void (*greeting)(PrConnection *conn, gpointer session);
    void (*tls_started)(PrConnection *conn, gpointer session);
    void (*session_finish)(PrConnection *conn, gpointer session);
    const PrCommand *commands;
    const char *const *replies;
    gpointer reserved[8];
} PrLineProtocol;

/**
 * pr_host_add_line_protocol:
 * @host: the host
 * @self: the module serving it
 * @protocol: (transfer none): a descriptor that outlives the module (static)
 * @error: return location for a #GError
 *
 * Registers a protocol; the host starts its listeners once every module is
 * initialised.
 *
 * Returns: %FALSE if the descriptor is invalid or its service is not
 *   declared in the module's descriptor or is already served
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_host_add_line_protocol(PrHost *host, PrModule *self, const PrLineProtocol *protocol,
                                   GError **error);

/**
 * pr_host_add_commands:
 * @host: the host
 * @self: the module adding commands
 * @protocol_name: the protocol's #PrLineProtocol.name
 * @commands: (transfer none): a static, %NULL-terminated table
 * @error: return location for a #GError
 *
 * Adds commands to another module's protocol (that module must be in
 * @self's `requires`). Handlers receive the protocol's session block.
 *
 * Returns: %FALSE if the protocol is unknown or a verb already exists
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_host_add_commands(PrHost *host, PrModule *self, const char *protocol_name,
                              const PrCommand *commands, GError **error);

G_END_DECLS
