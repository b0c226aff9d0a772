/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <crypt.h>
#include <errno.h>
#include <string.h>
#include <glib/gi18n-lib.h>
#include <postroom/pr-log.h>

#include "auth.h"
#include "store/store-ops.h"
#include "store/store-secrets.h"

/* Unknown users are checked against this hash (of a password nobody
 * knows), so that they cost as much time as real ones. */
static const char dummy_hash[] =
    "$y$j9T$JGQeJ2FYty5hVTZ0.LlwZ1$QyAhl5xjICLwYgf6ZlWIOOfZKfOevmQakACq8EgZuS4";

char *
auth_hash_password(const char *password, const char *scheme, GError **error)
{
    const char *prefix;
    g_autofree char *setting = NULL;
    struct crypt_data *data;
    const char *hash;
    char *result;

    if (scheme == NULL || g_ascii_strcasecmp(scheme, "yescrypt") == 0) {
        prefix = "$y$";
    } else if (g_ascii_strcasecmp(scheme, "sha512-crypt") == 0) {
        prefix = "$6$";
    } else {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                    _("Unknown password scheme “%s” (use yescrypt or sha512-crypt)."), scheme);
        return NULL;
    }
    /* Count 0: libxcrypt's default cost; random salt from the kernel. */
    setting = crypt_gensalt_ra(prefix, 0, NULL, 0);
    if (setting == NULL) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Cannot create a password salt: %s"),
                    g_strerror(errno));
        return NULL;
    }
    data = g_new0(struct crypt_data, 1);
    hash = crypt_rn(password, setting, data, sizeof(*data));
    if (hash == NULL || hash[0] == '*') {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, _("Cannot hash the password: %s"),
                    g_strerror(errno));
        result = NULL;
    } else {
        result = g_strdup(hash);
    }
    explicit_bzero(data, sizeof(*data));
    g_free(data);
    return result;
}

gboolean
auth_check_password(const char *hash, const char *password)
{
    struct crypt_data *data;
    const char *computed;
    gboolean ok = FALSE;

    if (hash == NULL || password == NULL || hash[0] == '\0')
        return FALSE;
    data = g_new0(struct crypt_data, 1);
    computed = crypt_rn(password, hash, data, sizeof(*data));
    if (computed != NULL && computed[0] != '*') {
        size_t len = strlen(hash);
        unsigned char diff = 0;

        /* The length is not secret (it follows from the scheme); the bytes
         * are compared without an early exit. */
        if (strlen(computed) == len) {
            for (size_t i = 0; i < len; i++)
                diff |= (unsigned char)(computed[i] ^ hash[i]);
            ok = diff == 0;
        }
    }
    explicit_bzero(data, sizeof(*data));
    g_free(data);
    return ok;
}

void
auth_policy_from_config(AuthPolicy *policy, Config *config)
{
    policy->lockout_attempts =
        (int)CLAMP(config_get_int(config, "auth", "lockout_attempts"), 0, G_MAXINT);
    policy->lockout_window = MAX(config_get_int(config, "auth", "lockout_minutes"), 0) * 60;
    policy->audit_days = MAX(config_get_int(config, "auth", "audit_days"), 0);
    policy->store_secrets = config_get_bool(config, "auth", "store_secrets");
}

static gboolean
audit(StoreConn *conn, gint64 now, const char *ip, const char *user, const char *service,
      const char *mechanism, gboolean success, const char *reason, GError **error)
{
    return store_login_audit_add(conn, now, ip, user, service, mechanism, success, reason, error);
}

/* Looks @user up and checks @proof. Returns FALSE only when the store
 * fails. Unknown users cost what known ones do: a dummy hash for
 * passwords, and for the challenge mechanisms one statement either way. */
static gboolean
check_proof(StoreConn *conn, const AuthPolicy *policy, const char *user, const AuthProof *proof,
            gboolean *matched, gboolean *enabled, char **account_name, const char **reason,
            GError **error)
{
    g_autoptr(GError) local = NULL;

    *matched = FALSE;
    *enabled = FALSE;
    *account_name = NULL;
    if (proof->kind == AUTH_PROOF_PASSWORD) {
        g_autoptr(StoreUser) account = store_user_get(conn, user, &local);
        const char *password = proof->password != NULL ? proof->password : "";

        if (account == NULL && !g_error_matches(local, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND)) {
            g_propagate_error(error, g_steal_pointer(&local));
            return FALSE;
        }
        if (account == NULL) {
            auth_check_password(dummy_hash, password);
            *reason = "unknown-user";
            return TRUE;
        }
        *matched = auth_check_password(account->pwhash, password);
        *enabled = account->enabled;
        *account_name = g_strdup(account->name);
        *reason = "bad-password";
        return TRUE;
    }

    g_autoptr(StoreUserSecret) account = store_user_secret_get(conn, user, &local);
    if (account == NULL && !g_error_matches(local, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND)) {
        g_propagate_error(error, g_steal_pointer(&local));
        return FALSE;
    }
    if (account == NULL) {
        *reason = "unknown-user";
        return TRUE;
    }
    *enabled = account->enabled;
    *account_name = g_strdup(account->name);
    /* A secret left behind after store_secrets was turned off is not
     * used: switching the setting off is enough to stop the mechanisms. */
    if (account->secret == NULL || !policy->store_secrets) {
        *reason = "no-secret";
        return TRUE;
    }
    *matched = auth_check_digest(proof->kind, account->secret, account->secret_len,
                                 proof->challenge != NULL ? proof->challenge : "",
                                 proof->digest != NULL ? proof->digest : "");
    *reason = "bad-password";
    return TRUE;
}

PrAuthResult
auth_verify_sync(StoreConn *conn, const AuthPolicy *policy, const char *service, const char *ip,
                 const char *mechanism, const char *user, const char *password, gint64 now,
                 char **canonical_user, GError **error)
{
    AuthProof proof = { .kind = AUTH_PROOF_PASSWORD, .password = password };

    return auth_verify_proof_sync(conn, policy, service, ip, mechanism, user, &proof, now,
                                  canonical_user, error);
}

PrAuthResult
auth_verify_proof_sync(StoreConn *conn, const AuthPolicy *policy, const char *service,
                       const char *ip, const char *mechanism, const char *user,
                       const AuthProof *proof, gint64 now, char **canonical_user, GError **error)
{
    g_autoptr(GError) local = NULL;
    g_autofree char *account_name = NULL;
    gboolean lockout = policy->lockout_attempts > 0;
    gboolean password_ok;
    gboolean account_enabled;
    gboolean now_locked = FALSE;
    const char *reason;

    if (canonical_user != NULL)
        *canonical_user = NULL;
    if (ip == NULL)
        ip = "";
    if (user == NULL)
        user = "";

    if (lockout) {
        gboolean locked = store_lockout_is_locked(conn, ip, now, &local);

        if (local != NULL) {
            g_propagate_error(error, g_steal_pointer(&local));
            return PR_AUTH_TEMPFAIL;
        }
        if (locked) {
            /* No hash: a locked address gets no password oracle. */
            if (!audit(conn, now, ip, user, service, mechanism, FALSE, "locked", error))
                return PR_AUTH_TEMPFAIL;
            return PR_AUTH_LOCKED;
        }
    }

    if (!check_proof(conn, policy, user, proof, &password_ok, &account_enabled, &account_name,
                     &reason, error))
        return PR_AUTH_TEMPFAIL;

    if (password_ok) {
        /* The password is right: a disabled account is not a guessing
         * attempt and does not count towards the lockout. */
        if (!account_enabled) {
            if (!audit(conn, now, ip, user, service, mechanism, FALSE, "disabled", error))
                return PR_AUTH_TEMPFAIL;
            return PR_AUTH_DISABLED;
        }
        if (lockout && !store_lockout_clear(conn, ip, error))
            return PR_AUTH_TEMPFAIL;
        if (!audit(conn, now, ip, user, service, mechanism, TRUE, "ok", error))
            return PR_AUTH_TEMPFAIL;
        if (canonical_user != NULL)
            *canonical_user = g_steal_pointer(&account_name);
        return PR_AUTH_OK;
    }

    if (lockout) {
        if (!store_lockout_fail(conn, ip, now, policy->lockout_attempts, policy->lockout_window,
                                &now_locked, error))
            return PR_AUTH_TEMPFAIL;
        if (now_locked) {
            /* The name is client input: escaped, and bounded. */
            g_autofree char *short_user = g_strndup(user, 64);
            g_autofree char *safe_user = g_strescape(short_user, NULL);

            pr_log_security("AUTH_LOCKOUT",
                            "address %s locked for %" G_GINT64_FORMAT
                            " s after %d failed logins (service %s, last user \"%s\")",
                            ip, policy->lockout_window, policy->lockout_attempts,
                            service ? service : "", safe_user);
        }
    }
    if (!audit(conn, now, ip, user, service, mechanism, FALSE, reason, error))
        return PR_AUTH_TEMPFAIL;
    return PR_AUTH_FAILED;
}
