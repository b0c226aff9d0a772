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
 *
 * Passwords are stored hashed, which only the mechanisms that send the
 * password can be checked against. APOP (RFC 1939) and CRAM-MD5 (RFC 2195)
 * send a digest of the password and a server challenge instead, and need
 * the password itself on the server: they work only when the administrator
 * stores such secrets (`[auth] store_secrets=true`, see
 * pr_auth_secrets_enabled()), and only in protocols that enable them
 * (pr_auth_verify_apop_async(), pr_sasl_exchange_start_full()). The same
 * lockout, audit and verdicts apply to them; an account without a stored
 * secret fails exactly like a wrong digest.
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
 * pr_auth_secrets_enabled:
 * @host: the host
 *
 * Whether the administrator stores the secrets that APOP and CRAM-MD5 are
 * checked against (`[auth] store_secrets`, reloadable). While it is %FALSE
 * every APOP and CRAM-MD5 attempt fails, so a protocol neither announces
 * nor accepts them.
 *
 * Returns: %TRUE if APOP and CRAM-MD5 can succeed
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_auth_secrets_enabled(PrHost *host);

/**
 * pr_auth_apop_timestamp_new:
 * @host: the host
 *
 * A new timestamp for a POP3 greeting (RFC 1939 section 7), of the form
 * `<pid.random@hostname>` with 64 unpredictable bits, so that no digest a
 * client once sent is ever valid again. Make one per connection and keep
 * it for pr_auth_verify_apop_async().
 *
 * Returns: (transfer full): the timestamp, angle brackets included
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
char *pr_auth_apop_timestamp_new(PrHost *host);

/**
 * pr_auth_verify_apop_async:
 * @conn: the client's connection (its address, service and cancellable are used)
 * @user: the login name as given
 * @timestamp: the timestamp the greeting of this connection carried, as
 *   returned by pr_auth_apop_timestamp_new()
 * @digest: the client's digest: 32 hexadecimal digits
 * @callback: called on the main thread
 * @user_data: passed to @callback
 *
 * Checks an APOP command: @digest must be the MD5 of @timestamp followed by
 * the user's stored secret, compared in constant time. Lockout, the
 * `loginaudit` row (mechanism "APOP") and the verdicts are those of
 * pr_auth_verify_async(): an unknown user, a user without a stored secret
 * and a wrong digest all give %PR_AUTH_FAILED, and so does every attempt
 * while pr_auth_secrets_enabled() is %FALSE. Finish with
 * pr_auth_verify_finish().
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_auth_verify_apop_async(PrConnection *conn, const char *user, const char *timestamp,
                               const char *digest, GAsyncReadyCallback callback,
                               gpointer user_data);

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
 * The mechanisms that send the password. CRAM-MD5 is available only
 * through pr_sasl_exchange_start_full(), which checks that the protocol
 * enabled it and that secrets are stored.
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

/**
 * PrSaslMechanisms:
 * @PR_SASL_MECH_PLAIN: PLAIN (RFC 4616)
 * @PR_SASL_MECH_LOGIN: LOGIN (draft-murchison-sasl-login)
 * @PR_SASL_MECH_CRAM_MD5: CRAM-MD5 (RFC 2195); needs stored secrets
 *
 * A set of SASL mechanisms, for pr_sasl_exchange_start_full().
 */
typedef enum {
    PR_SASL_MECH_PLAIN = 1 << 0,
    PR_SASL_MECH_LOGIN = 1 << 1,
    PR_SASL_MECH_CRAM_MD5 = 1 << 2,
} PrSaslMechanisms;

/**
 * pr_sasl_mechanisms_available:
 * @host: the host
 * @wanted: the mechanisms a protocol would offer
 *
 * The mechanisms of @wanted the host can check now: CRAM-MD5 only while
 * pr_auth_secrets_enabled() is %TRUE. Announce exactly these (with
 * pr_sasl_mechanism_names()) and give the same set to
 * pr_sasl_exchange_start_full(), so that what is offered and what is
 * accepted never differ.
 *
 * Returns: a subset of @wanted
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
PrSaslMechanisms pr_sasl_mechanisms_available(PrHost *host, PrSaslMechanisms wanted);

/**
 * pr_sasl_mechanism_names:
 * @mechanisms: a set of mechanisms
 * @separator: what goes between two names (" " for a CAPA or EHLO line,
 *   "\r\n" for a listing)
 *
 * Returns: (transfer full): the names of @mechanisms in the order PLAIN,
 *   LOGIN, CRAM-MD5; "" for the empty set
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
char *pr_sasl_mechanism_names(PrSaslMechanisms mechanisms, const char *separator);

/**
 * pr_sasl_exchange_start_full:
 * @conn: the connection
 * @mechanism: the mechanism the client asked for
 * @initial_response: (nullable): the initial response (RFC 4959), or %NULL
 * @exchange: (transfer none): the protocol's replies (static)
 * @allowed: the mechanisms the protocol enabled
 *
 * Like pr_sasl_exchange_start() (which allows PLAIN and LOGIN), for the
 * mechanisms in @allowed that pr_sasl_mechanisms_available() keeps; any
 * other gets @exchange's @unknown_mechanism reply. For CRAM-MD5 the host
 * makes a fresh challenge, sends it, and checks the client's digest
 * against the stored secret (mechanism "CRAM-MD5" in the audit); an
 * initial response to CRAM-MD5 is malformed, since the server speaks
 * first.
 *
 * Returns: what the command handler returns
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
PrCommandResult pr_sasl_exchange_start_full(PrConnection *conn, const char *mechanism,
                                            const char *initial_response,
                                            const PrSaslExchange *exchange,
                                            PrSaslMechanisms allowed);

G_END_DECLS
