/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Password hashing (libcrypt) and the lockout/audit policy behind
 * pr_auth_verify_async(). Hashing is CPU-heavy by design and never runs on
 * the main loop. */

#include <postroom/pr-auth.h>
#include "config.h"
#include "store/store.h"

/* A new hash for @password: yescrypt by default ("$y$"), or the prefix
 * given by @scheme ("yescrypt", "sha512-crypt"). */
char *auth_hash_password(const char *password, const char *scheme, GError **error);
/* Constant-time comparison of crypt(@password, @hash) with @hash. */
gboolean auth_check_password(const char *hash, const char *password);

typedef struct {
    int lockout_attempts;   /* failures from one address before it is locked */
    gint64 lockout_window;  /* seconds locked (and window counting failures) */
    gint64 audit_days;      /* loginaudit rows kept */
    gboolean store_secrets; /* [auth] store_secrets: APOP and CRAM-MD5 may succeed */
} AuthPolicy;

void auth_policy_from_config(AuthPolicy *policy, Config *config);

/* What the client proved it knows. The challenge mechanisms send a digest
 * of the password and a server challenge, so they are checked against the
 * stored secret (store/store-secrets.h), never against the hash. */
typedef enum {
    AUTH_PROOF_PASSWORD, /* the password itself: USER/PASS, PLAIN, LOGIN */
    AUTH_PROOF_APOP,     /* hex MD5(challenge + secret), RFC 1939 section 7 */
    AUTH_PROOF_CRAM_MD5, /* hex HMAC-MD5(secret, challenge), RFC 2195 */
} AuthProofKind;

typedef struct {
    AuthProofKind kind;
    const char *password;  /* AUTH_PROOF_PASSWORD */
    const char *challenge; /* the APOP timestamp or the CRAM-MD5 challenge sent */
    const char *digest;    /* the client's 32 hex digits */
} AuthProof;

/* Whether @digest (32 hex digits, either case) is the @kind digest of
 * @challenge and @secret. Compared in constant time. */
gboolean auth_check_digest(AuthProofKind kind, const guint8 *secret, gsize secret_len,
                           const char *challenge, const char *digest);

/* A fresh "<pid.random@hostname>" for an APOP greeting or a CRAM-MD5
 * challenge (RFC 1939 section 7, RFC 2195 section 2). */
char *auth_new_challenge(const char *hostname);

/* The whole verification as one synchronous job, for workers and tests:
 * lockout check, user lookup, hash check (against a dummy hash for unknown
 * users, so timing does not reveal them), lockout update, audit row. */
PrAuthResult auth_verify_sync(StoreConn *conn, const AuthPolicy *policy, const char *service,
                              const char *ip, const char *mechanism, const char *user,
                              const char *password, gint64 now, char **canonical_user,
                              GError **error);
/* The same for any proof: lockout check, user lookup, the proof checked
 * against the hash or the stored secret (unknown users and users without
 * a secret fail the same way), lockout update, audit row. */
PrAuthResult auth_verify_proof_sync(StoreConn *conn, const AuthPolicy *policy, const char *service,
                                    const char *ip, const char *mechanism, const char *user,
                                    const AuthProof *proof, gint64 now, char **canonical_user,
                                    GError **error);

/* auth-verify.c: pr_auth_verify_async() for any proof. */
void auth_verify_proof_async(PrConnection *conn, const char *mechanism, const char *user,
                             const AuthProof *proof, GAsyncReadyCallback callback,
                             gpointer user_data);

/* sasl.c: CRAM-MD5 is not available from pr_sasl_new(); only the shared
 * exchange creates it, for protocols that enabled it (and only while
 * secrets are stored). @challenge is sent base64-encoded. */
PrSasl *sasl_new_cram_md5(const char *challenge);
/* For a finished CRAM-MD5 exchange: the challenge sent and the client's
 * digest (NULL before the end, and for the other mechanisms). */
const char *sasl_get_challenge(PrSasl *sasl);
const char *sasl_get_digest(PrSasl *sasl);
