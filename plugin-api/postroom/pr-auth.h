/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <postroom/pr-connection.h>

G_BEGIN_DECLS

/**
 * SECTION:pr-auth
 * @title: Authentication
 *
 * Credential checks shared by every service. pr_auth_verify_async() hashes
 * off the main loop, applies the per-address lockout (`[auth]
 * lockout_attempts`, `lockout_minutes`) and writes one `loginaudit` row per
 * attempt. #PrSasl decodes the SASL PLAIN and LOGIN exchanges (RFC 4616,
 * draft-murchison-sasl-login) so every protocol speaks them the same way.
 */

/**
 * PrAuthResult:
 * @PR_AUTH_OK: the credentials are valid
 * @PR_AUTH_FAILED: unknown user or wrong password (deliberately one answer)
 * @PR_AUTH_LOCKED: the client's address is locked out after too many failures
 * @PR_AUTH_DISABLED: the account exists but is disabled
 * @PR_AUTH_TEMPFAIL: the store could not be reached; try again later
 */
typedef enum {
    PR_AUTH_OK,
    PR_AUTH_FAILED,
    PR_AUTH_LOCKED,
    PR_AUTH_DISABLED,
    PR_AUTH_TEMPFAIL,
} PrAuthResult;

/**
 * pr_auth_verify_async:
 * @conn: the client's connection (its address, service and cancellable are used)
 * @mechanism: what the client used, for the audit ("USER", "PLAIN", "LOGIN")
 * @user: the login name as given
 * @password: the password; the caller wipes its own copy afterwards
 * @callback: called on the main thread
 * @user_data: passed to @callback
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_auth_verify_async(PrConnection *conn, const char *mechanism, const char *user,
                          const char *password, GAsyncReadyCallback callback, gpointer user_data);

/**
 * pr_auth_verify_finish:
 * @conn: the connection given to pr_auth_verify_async()
 * @result: the result
 * @canonical_user: (out) (optional) (transfer full): the account name on
 *   %PR_AUTH_OK
 *
 * Returns: the verdict
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
PrAuthResult pr_auth_verify_finish(PrConnection *conn, GAsyncResult *result, char **canonical_user);

/**
 * pr_auth_recent_login:
 * @host: the host
 * @ip: a client address
 * @seconds: how far back
 *
 * POP-before-SMTP: whether a client from @ip logged in successfully (any
 * service of this instance) within the last @seconds.
 *
 * Returns: %TRUE if it did
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_auth_recent_login(PrHost *host, const char *ip, guint seconds);

/**
 * PrSasl:
 *
 * One server-side SASL exchange. Opaque.
 */
typedef struct _PrSasl PrSasl;

/**
 * PrSaslStatus:
 * @PR_SASL_CONTINUE: send the challenge and feed the next client line
 * @PR_SASL_DONE: the credentials are complete; call pr_auth_verify_async()
 * @PR_SASL_MALFORMED: the client's data is invalid (bad base64, bad layout)
 * @PR_SASL_CANCELLED: the client sent "*"
 */
typedef enum {
    PR_SASL_CONTINUE,
    PR_SASL_DONE,
    PR_SASL_MALFORMED,
    PR_SASL_CANCELLED,
} PrSaslStatus;

/**
 * pr_sasl_new:
 * @mechanism: "PLAIN" or "LOGIN", case-insensitive
 *
 * Returns: (transfer full) (nullable): a new exchange, or %NULL for an
 *   unsupported mechanism
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
PrSasl *pr_sasl_new(const char *mechanism);

/**
 * pr_sasl_step:
 * @sasl: an exchange
 * @response: (nullable): the client's base64 line, "=" for an empty initial
 *   response, or %NULL when the client gave no initial response
 * @challenge: (out) (transfer full): on %PR_SASL_CONTINUE, the base64 challenge
 *   to send (may be "")
 *
 * Returns: the state of the exchange
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
PrSaslStatus pr_sasl_step(PrSasl *sasl, const char *response, char **challenge);

/**
 * pr_sasl_get_user:
 * @sasl: a finished exchange
 *
 * Returns: (transfer none): the authentication identity
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
const char *pr_sasl_get_user(PrSasl *sasl);

/**
 * pr_sasl_get_password:
 * @sasl: a finished exchange
 *
 * Returns: (transfer none): the password; wiped by pr_sasl_free()
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
const char *pr_sasl_get_password(PrSasl *sasl);

/**
 * pr_sasl_get_mechanism:
 * @sasl: an exchange
 *
 * Returns: (transfer none): the upper-case mechanism name
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
const char *pr_sasl_get_mechanism(PrSasl *sasl);

/**
 * pr_sasl_free:
 * @sasl: (nullable): an exchange
 *
 * Frees @sasl and wipes the password it holds.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_sasl_free(PrSasl *sasl);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PrSasl, pr_sasl_free)

/**
 * PrSaslExchange:
 * @continuation: what precedes a base64 challenge on its line: "+ " for
 *   POP3 (RFC 5034) and IMAP, "334 " for SMTP (RFC 4954)
 * @unknown_mechanism: the reply to a mechanism the host does not offer
 * @cancelled: the reply when the client cancels with "*"
 * @malformed: the reply to a response that cannot be decoded (also counted
 *   as a bad command)
 * @verified: called on the main thread once the credentials were checked,
 *   with a new reference to the connection as user data; call
 *   pr_auth_verify_finish() there, answer, and resume the connection
 * @reserved: must be %NULL
 *
 * How one protocol speaks SASL; a static table per protocol.
 */
typedef struct {
    const char *continuation;
    const char *unknown_mechanism;
    const char *cancelled;
    const char *malformed;
    GAsyncReadyCallback verified;
    gpointer reserved[4];
} PrSaslExchange;

/**
 * pr_sasl_exchange_start:
 * @conn: the connection
 * @mechanism: the mechanism the client asked for
 * @initial_response: (nullable): the initial response (RFC 4959), or %NULL
 * @exchange: (transfer none): the protocol's replies (static)
 *
 * Runs a whole SASL exchange for an AUTH command: challenges, the client's
 * continuation lines, cancelling, and finally pr_auth_verify_async() with
 * @exchange's @verified callback. The host keeps the exchange's state (and
 * wipes the password when done). Return its result from the command handler.
 *
 * Returns: what the command handler returns
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
PrCommandResult pr_sasl_exchange_start(PrConnection *conn, const char *mechanism,
                                       const char *initial_response,
                                       const PrSaslExchange *exchange);

G_END_DECLS
