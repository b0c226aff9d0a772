/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gi18n-lib.h>

#include <string.h>

#include "auth.h"
#include "host.h"

/* pr_auth_verify_async() and its APOP and CRAM-MD5 variants: the
 * credentials travel to a store worker, where hashing or the digest check
 * and the lockout/audit bookkeeping run (auth_verify_proof_sync). */

typedef struct {
    AuthPolicy policy;
    char *service;
    char *ip;
    char *mechanism;
    char *user;
    AuthProofKind kind;
    char *password; /* the password, or the client's digest */
    char *challenge;
} VerifyData;

typedef struct {
    PrAuthResult result;
    char *canonical_user;
} VerifyResult;

static void
verify_result_free(gpointer p)
{
    VerifyResult *r = p;
    g_free(r->canonical_user);
    g_free(r);
}

static void
verify_data_free(gpointer p)
{
    VerifyData *d = p;

    g_free(d->service);
    g_free(d->ip);
    g_free(d->mechanism);
    g_free(d->user);
    g_free(d->challenge);
    if (d->password != NULL) {
        explicit_bzero(d->password, strlen(d->password));
        g_free(d->password);
    }
    g_free(d);
}

static gpointer
verify_job(StoreConn *conn, gpointer data, GError **error)
{
    VerifyData *d = data;
    VerifyResult *r = g_new0(VerifyResult, 1);
    g_autoptr(GError) local = NULL;
    AuthProof proof = { .kind = d->kind, .challenge = d->challenge };

    if (d->kind == AUTH_PROOF_PASSWORD)
        proof.password = d->password;
    else
        proof.digest = d->password;
    r->result =
        auth_verify_proof_sync(conn, &d->policy, d->service, d->ip, d->mechanism, d->user, &proof,
                               g_get_real_time() / G_USEC_PER_SEC, &r->canonical_user, &local);
    /* The password is not needed any more: wipe it now rather than when
     * the task is finally freed. */
    explicit_bzero(d->password, strlen(d->password));
    if (local != NULL)
        g_warning("authentication from %s could not be checked: %s", d->ip, local->message);
    return r;
}

static void
verify_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
    GTask *task = user_data;
    PrHost *host = pr_connection_get_host(g_task_get_task_data(task));
    g_autoptr(GError) error = NULL;
    VerifyResult *r = store_run_finish(host_get_store(host), res, &error);

    if (r == NULL) {
        if (error != NULL)
            g_task_return_error(task, g_steal_pointer(&error));
        else
            g_task_return_new_error(task, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                                    _("The credentials could not be checked."));
    } else {
        g_task_return_pointer(task, r, verify_result_free);
    }
    g_object_unref(task);
}

void
pr_auth_verify_async(PrConnection *conn, const char *mechanism, const char *user,
                     const char *password, GAsyncReadyCallback callback, gpointer user_data)
{
    AuthProof proof = { .kind = AUTH_PROOF_PASSWORD, .password = password };

    auth_verify_proof_async(conn, mechanism, user, &proof, callback, user_data);
}

void
pr_auth_verify_apop_async(PrConnection *conn, const char *user, const char *timestamp,
                          const char *digest, GAsyncReadyCallback callback, gpointer user_data)
{
    AuthProof proof = { .kind = AUTH_PROOF_APOP, .challenge = timestamp, .digest = digest };

    auth_verify_proof_async(conn, "APOP", user, &proof, callback, user_data);
}

gboolean
pr_auth_secrets_enabled(PrHost *host)
{
    g_return_val_if_fail(host != NULL, FALSE);
    return host->auth_policy.store_secrets;
}

char *
pr_auth_apop_timestamp_new(PrHost *host)
{
    g_return_val_if_fail(host != NULL, NULL);
    return auth_new_challenge(host->hostname);
}

void
auth_verify_proof_async(PrConnection *conn, const char *mechanism, const char *user,
                        const AuthProof *proof, GAsyncReadyCallback callback, gpointer user_data)
{
    PrHost *host;
    Store *store;
    GTask *task;
    VerifyData *d;

    g_return_if_fail(conn != NULL);

    host = pr_connection_get_host(conn);
    /* PrConnection is not a GObject, so it cannot be the source object; the
     * task keeps it alive as its data instead. */
    task = g_task_new(NULL, pr_connection_get_cancellable(conn), callback, user_data);
    g_task_set_source_tag(task, pr_auth_verify_async);
    /* A verdict that was reached is always delivered (and freed by the
     * finish function); cancellation only stops work not yet started. */
    g_task_set_check_cancellable(task, FALSE);
    g_task_set_task_data(task, pr_connection_ref(conn), (GDestroyNotify)pr_connection_unref);

    store = host != NULL ? host_get_store(host) : NULL;
    if (store == NULL) {
        g_task_return_new_error(task, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                                _("No store is configured."));
        g_object_unref(task);
        return;
    }

    d = g_new0(VerifyData, 1);
    d->policy = host->auth_policy;
    d->service = g_strdup(pr_connection_get_service(conn));
    d->ip = g_strdup(pr_connection_get_peer_ip(conn));
    d->mechanism = g_strdup(mechanism ? mechanism : "");
    d->user = g_strdup(user ? user : "");
    d->kind = proof->kind;
    d->challenge = g_strdup(proof->challenge ? proof->challenge : "");
    if (proof->kind == AUTH_PROOF_PASSWORD)
        d->password = g_strdup(proof->password ? proof->password : "");
    else
        d->password = g_strdup(proof->digest ? proof->digest : "");
    store_run_async(store, verify_job, d, verify_data_free, pr_connection_get_cancellable(conn),
                    verify_done, task);
}

PrAuthResult
pr_auth_verify_finish(PrConnection *conn, GAsyncResult *result, char **canonical_user)
{
    g_autoptr(GError) error = NULL;
    VerifyResult *r;
    PrAuthResult verdict;

    if (canonical_user != NULL)
        *canonical_user = NULL;
    g_return_val_if_fail(g_task_is_valid(result, NULL) &&
                             g_task_get_task_data(G_TASK(result)) == conn,
                         PR_AUTH_TEMPFAIL);

    r = g_task_propagate_pointer(G_TASK(result), &error);
    if (r == NULL) {
        if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            g_warning("authentication could not be checked: %s", error->message);
        return PR_AUTH_TEMPFAIL;
    }
    verdict = r->result;
    if (verdict == PR_AUTH_OK)
        host_note_login(pr_connection_get_host(conn), pr_connection_get_peer_ip(conn));
    if (canonical_user != NULL && verdict == PR_AUTH_OK)
        *canonical_user = g_steal_pointer(&r->canonical_user);
    verify_result_free(r);
    return verdict;
}

/* POP-before-SMTP: the last successful login per client address, kept in
 * memory (per instance) and bounded. */
#define RECENT_LOGINS_MAX 16384

void
host_note_login(PrHost *host, const char *ip)
{
    if (host == NULL || ip == NULL)
        return;
    gint64 now = g_get_monotonic_time() / G_USEC_PER_SEC;
    if (host->recent_logins == NULL)
        host->recent_logins = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    if (g_hash_table_size(host->recent_logins) >= RECENT_LOGINS_MAX) {
        /* An hour is more than any POP-before-SMTP window; beyond the
         * bound, forgetting everyone only costs them another login. */
        GHashTableIter it;
        gpointer value;
        g_hash_table_iter_init(&it, host->recent_logins);
        while (g_hash_table_iter_next(&it, NULL, &value))
            if (now - GPOINTER_TO_SIZE(value) > 3600)
                g_hash_table_iter_remove(&it);
        if (g_hash_table_size(host->recent_logins) >= RECENT_LOGINS_MAX)
            g_hash_table_remove_all(host->recent_logins);
    }
    g_hash_table_insert(host->recent_logins, g_strdup(ip), GSIZE_TO_POINTER((gsize)now));
}

gboolean
pr_auth_recent_login(PrHost *host, const char *ip, guint seconds)
{
    g_return_val_if_fail(host != NULL && ip != NULL, FALSE);
    gpointer value;
    if (seconds == 0 || host->recent_logins == NULL ||
        !g_hash_table_lookup_extended(host->recent_logins, ip, NULL, &value))
        return FALSE;
    gint64 now = g_get_monotonic_time() / G_USEC_PER_SEC;
    return now - (gint64)GPOINTER_TO_SIZE(value) <= (gint64)seconds;
}
