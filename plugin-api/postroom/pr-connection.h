/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <postroom/pr-protocol.h>

G_BEGIN_DECLS

/**
 * SECTION:pr-connection
 * @title: Connections
 *
 * What a command handler can do with its client. All functions must be
 * called from the main thread. Output is queued and written in order; each
 * reply line goes out in a single write (STARTTLS clients depend on it).
 */

/**
 * pr_connection_ref:
 * @conn: a connection
 *
 * Keeps @conn (and its session block) alive across asynchronous work.
 *
 * Returns: (transfer full): @conn
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
PrConnection *pr_connection_ref(PrConnection *conn);

/**
 * pr_connection_unref:
 * @conn: (transfer full): a connection
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_connection_unref(PrConnection *conn);

/**
 * pr_connection_reply:
 * @conn: a connection
 * @line: one protocol line without CRLF
 *
 * Queues @line followed by CRLF.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_connection_reply(PrConnection *conn, const char *line);

/**
 * pr_connection_replyf:
 * @conn: a connection
 * @format: printf-style format of one line without CRLF
 * @...: arguments
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_connection_replyf(PrConnection *conn, const char *format, ...) G_GNUC_PRINTF(2, 3);

/**
 * pr_connection_write:
 * @conn: a connection
 * @data: bytes to send as they are (the caller does dot-stuffing and line ends)
 * @len: their number
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_connection_write(PrConnection *conn, const void *data, gsize len);

/**
 * pr_connection_get_output_pending:
 * @conn: a connection
 *
 * Returns: bytes queued or being written; a handler that streams a large
 *   response checks this before producing more
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gsize pr_connection_get_output_pending(PrConnection *conn);

/**
 * PrConnectionFunc:
 * @conn: the connection
 * @user_data: data given with the function
 */
typedef void (*PrConnectionFunc)(PrConnection *conn, gpointer user_data);

/**
 * pr_connection_wait_output:
 * @conn: a connection
 * @func: called from the main loop once everything queued has been written,
 *   or the connection closed (check pr_connection_is_closed())
 * @user_data: passed to @func
 *
 * Backpressure for streamed responses. Only one wait at a time.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_connection_wait_output(PrConnection *conn, PrConnectionFunc func, gpointer user_data);

/**
 * pr_connection_get_state:
 * @conn: a connection
 *
 * Returns: the session state (one bit of the protocol's state mask)
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
guint32 pr_connection_get_state(PrConnection *conn);

/**
 * pr_connection_set_state:
 * @conn: a connection
 * @state: the new state
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_connection_set_state(PrConnection *conn, guint32 state);

/**
 * pr_connection_set_line_handler:
 * @conn: a connection
 * @handler: (nullable): receives every following line, or %NULL to go back
 *   to command dispatch
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_connection_set_line_handler(PrConnection *conn, PrLineFunc handler);

/**
 * PrRawFunc:
 * @conn: the connection
 * @session: the module's session block
 * @data: bytes received and not yet consumed (never empty)
 * @len: how many
 * @result: (out): what the host does next; %PR_COMMAND_DONE unless set
 *
 * Receives the byte stream itself while installed with
 * pr_connection_set_raw_handler(): message bodies that are not lines of
 * commands (SMTP DATA and BDAT, IMAP literals). A handler may consume less
 * than @len when it needs more bytes to decide (a line end split between
 * reads); it is called again with the rest and what arrives next. A handler
 * that consumes nothing while the read buffer is full is a protocol error:
 * the host closes the connection.
 *
 * Returns: the number of bytes consumed, at most @len
 */
typedef gsize (*PrRawFunc)(PrConnection *conn, gpointer session, const guint8 *data, gsize len,
                           PrCommandResult *result);

/**
 * pr_connection_set_raw_handler:
 * @conn: a connection
 * @handler: (nullable): receives the following bytes, or %NULL to go back to
 *   lines; bytes not consumed then are read as lines
 *
 * The read buffer holds #PrLineProtocol.max_line bytes, so raw data arrives
 * in pieces of at most that size.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_connection_set_raw_handler(PrConnection *conn, PrRawFunc handler);

/**
 * pr_connection_resume:
 * @conn: a connection whose handler returned %PR_COMMAND_ASYNC
 *
 * Goes on with buffered pipelined lines and reading. Call it once per
 * %PR_COMMAND_ASYNC; it is a no-op on a closed connection.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_connection_resume(PrConnection *conn);

/**
 * pr_connection_close:
 * @conn: a connection
 *
 * Sends what is queued, then closes. Pending asynchronous work is cancelled
 * through pr_connection_get_cancellable().
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_connection_close(PrConnection *conn);

/**
 * pr_connection_is_closed:
 * @conn: a connection
 *
 * Returns: %TRUE once the connection is closing; asynchronous callbacks
 *   check this before they reply
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_connection_is_closed(PrConnection *conn);

/**
 * pr_connection_bad_command:
 * @conn: a connection
 *
 * Counts a client error a handler found itself (bad arguments); after the
 * protocol's limit the host sends %PR_REPLY_TOO_MANY_ERRORS and closes.
 *
 * Returns: %TRUE if the connection is now closing
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_connection_bad_command(PrConnection *conn);

/**
 * pr_connection_get_cancellable:
 * @conn: a connection
 *
 * Returns: (transfer none): cancelled when the connection closes
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
GCancellable *pr_connection_get_cancellable(PrConnection *conn);

/**
 * pr_connection_get_host:
 * @conn: a connection
 *
 * Returns: (transfer none): the host
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
PrHost *pr_connection_get_host(PrConnection *conn);

/**
 * pr_connection_get_module:
 * @conn: a connection
 *
 * While a command handler runs, the module that registered that command
 * (the protocol's module, or a module that added commands to it with
 * pr_host_add_commands()); otherwise the protocol's module. Asynchronous
 * callbacks of added commands should keep the value they saw in the handler.
 *
 * Returns: (transfer none): the module
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
PrModule *pr_connection_get_module(PrConnection *conn);

/**
 * pr_connection_get_session:
 * @conn: a connection
 *
 * Returns: (transfer none): the module's session block
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gpointer pr_connection_get_session(PrConnection *conn);

/**
 * pr_connection_get_id:
 * @conn: a connection
 *
 * Returns: a number unique within this process, for log lines
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
guint64 pr_connection_get_id(PrConnection *conn);

/**
 * pr_connection_get_service:
 * @conn: a connection
 *
 * Returns: (transfer none): the service name (config group)
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
const char *pr_connection_get_service(PrConnection *conn);

/**
 * pr_connection_get_peer_ip:
 * @conn: a connection
 *
 * Returns: (transfer none): the client's address as text ("192.0.2.1", "2001:db8::1")
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
const char *pr_connection_get_peer_ip(PrConnection *conn);

/**
 * pr_connection_is_tls:
 * @conn: a connection
 *
 * Returns: %TRUE if the connection is encrypted (implicit TLS or after STARTTLS)
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_connection_is_tls(PrConnection *conn);

/**
 * pr_connection_can_starttls:
 * @conn: a connection
 *
 * Returns: %TRUE if the STARTTLS command would be accepted now (a
 *   certificate is configured and the connection is plaintext); use it to
 *   advertise STLS/STARTTLS in capability lists
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_connection_can_starttls(PrConnection *conn);

/**
 * pr_connection_start_tls:
 * @conn: a connection, inside a command or line handler
 * @reply: the positive answer to send before the handshake
 *
 * STARTTLS for protocols whose commands the host does not parse (IMAP's
 * are tagged): the module checks state and syntax, then calls this. When
 * the client sent more after the command, the host logs the injection
 * attempt, answers %PR_REPLY_STARTTLS_PIPELINED and closes the connection,
 * as it does for its own STARTTLS. #PrLineProtocol.tls_started is called
 * after the handshake.
 *
 * Returns: %TRUE if @reply was sent and the handshake follows; %FALSE if
 *   TLS is not available (pr_connection_can_starttls(); nothing was sent)
 *   or the connection is being closed
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_connection_start_tls(PrConnection *conn, const char *reply);

/**
 * pr_connection_auth_allowed:
 * @conn: a connection
 *
 * Returns: %FALSE while the service requires TLS before authentication and
 *   the connection is plaintext (advertise LOGINDISABLED and the like)
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_connection_auth_allowed(PrConnection *conn);

/**
 * pr_connection_is_trusted:
 * @conn: a connection
 *
 * Returns: %TRUE if an access rule with the `noauth` flag matched the client
 *   (trusted relays: may relay without authentication)
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_connection_is_trusted(PrConnection *conn);

/**
 * pr_connection_set_idle_timeout:
 * @conn: a connection
 * @seconds: the new idle timeout (e.g. 30 minutes during IMAP IDLE), 0 for
 *   the service's setting
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_connection_set_idle_timeout(PrConnection *conn, guint seconds);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PrConnection, pr_connection_unref)

G_END_DECLS
