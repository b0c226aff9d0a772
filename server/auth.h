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
    int lockout_attempts;  /* failures from one address before it is locked */
    gint64 lockout_window; /* seconds locked (and window counting failures) */
    gint64 audit_days;     /* loginaudit rows kept */
} AuthPolicy;

void auth_policy_from_config(AuthPolicy *policy, Config *config);

/* The whole verification as one synchronous job, for workers and tests:
 * lockout check, user lookup, hash check (against a dummy hash for unknown
 * users, so timing does not reveal them), lockout update, audit row. */
PrAuthResult auth_verify_sync(StoreConn *conn, const AuthPolicy *policy, const char *service,
                              const char *ip, const char *mechanism, const char *user,
                              const char *password, gint64 now, char **canonical_user,
                              GError **error);
