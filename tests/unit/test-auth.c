/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "auth.h"
#include "store/store-ops.h"
#include "store/store-secrets.h"

/* Lockout events seen by the log writer. */
static guint lockout_events;

static GLogWriterOutput
writer(GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
    gboolean security = FALSE;
    gboolean lockout = FALSE;

    for (gsize i = 0; i < n_fields; i++) {
        if (g_strcmp0(fields[i].key, "PR_CHANNEL") == 0 &&
            g_strcmp0(fields[i].value, "security") == 0)
            security = TRUE;
        if (g_strcmp0(fields[i].key, "PR_EVENT") == 0 &&
            g_strcmp0(fields[i].value, "AUTH_LOCKOUT") == 0)
            lockout = TRUE;
    }
    if (security && lockout)
        lockout_events++;
    return g_log_writer_default(level, fields, n_fields, user_data);
}

static void
test_hash_yescrypt(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *h1 = auth_hash_password("correct horse", NULL, &error);
    g_autofree char *h2 = auth_hash_password("correct horse", "yescrypt", &error);

    g_test_summary("yescrypt is the default; salts differ; only the right password matches");
    g_assert_no_error(error);
    g_assert_true(g_str_has_prefix(h1, "$y$"));
    g_assert_true(g_str_has_prefix(h2, "$y$"));
    g_assert_cmpstr(h1, !=, h2);
    g_assert_true(auth_check_password(h1, "correct horse"));
    g_assert_true(auth_check_password(h2, "correct horse"));
    g_assert_false(auth_check_password(h1, "correct horsE"));
    g_assert_false(auth_check_password(h1, "correct horse "));
    g_assert_false(auth_check_password(h1, ""));
}

static void
test_hash_sha512(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *h = auth_hash_password("pässword", "sha512-crypt", &error);

    g_test_summary("sha512-crypt hashes on request");
    g_assert_no_error(error);
    g_assert_true(g_str_has_prefix(h, "$6$"));
    g_assert_true(auth_check_password(h, "pässword"));
    g_assert_false(auth_check_password(h, "password"));
    /* A well-known vector from another implementation verifies too. */
    g_assert_true(auth_check_password("$6$oK.8TJeISp339M8W$kCjeQhXpvr2N4PWiJQqqydI."
                                      "RzT6n1Ex1mmB9voBV2YfwUaaU54CUc0jgVMsAtxtEOKfuSL"
                                      "TJbVUZRXrjpvMD1",
                                      "x"));
}

static void
test_hash_bad(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *h = auth_hash_password("x", "md5", &error);

    g_test_summary("Unknown schemes and broken hashes are refused");
    g_assert_null(h);
    g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
    g_assert_false(auth_check_password("", ""));
    g_assert_false(auth_check_password("*", ""));
    g_assert_false(auth_check_password("!locked", "x"));
    g_assert_false(auth_check_password("$y$garbage", "x"));
    g_assert_false(auth_check_password(NULL, "x"));
    g_assert_false(auth_check_password("$6$abc$def", NULL));
}

/* -------------------------------------------------- auth_verify_sync */

typedef struct {
    char *dir;
    StoreConn *conn;
    AuthPolicy policy;
} Fixture;

static void
rm_rf(const char *path)
{
    g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
    const char *name;

    if (d != NULL) {
        while ((name = g_dir_read_name(d)) != NULL) {
            g_autofree char *child = g_build_filename(path, name, NULL);

            rm_rf(child);
        }
    }
    g_remove(path);
}

static void
fixture_set_up(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *cnc = NULL;
    g_autofree char *hash = NULL;
    StoreSettings settings = { 0 };

    f->dir = g_dir_make_tmp("postroom-auth-XXXXXX", &error);
    g_assert_no_error(error);
    cnc = g_strdup_printf("DB_DIR=%s;DB_NAME=auth", f->dir);
    settings.provider = (char *)"SQLite";
    settings.cnc = cnc;
    f->conn = store_conn_open(&settings, &error);
    g_assert_no_error(error);
    g_assert_true(store_migrate(f->conn, &error));
    g_assert_no_error(error);

    hash = auth_hash_password("s3cret", "sha512-crypt", &error);
    g_assert_no_error(error);
    g_assert_cmpint(store_user_add(f->conn, "Alice", hash, NULL, &error), >, 0);
    g_assert_no_error(error);

    /* Filled by hand: the same values auth_policy_from_config() derives from
     * the defaults (3 attempts, 30 minutes, 30 days). */
    f->policy.lockout_attempts = 3;
    f->policy.lockout_window = 30 * 60;
    f->policy.audit_days = 30;
    lockout_events = 0;
}

static void
fixture_tear_down(Fixture *f, gconstpointer data)
{
    g_clear_pointer(&f->conn, store_conn_free);
    rm_rf(f->dir);
    g_free(f->dir);
}

static PrAuthResult
verify(Fixture *f, const char *ip, const char *user, const char *password, gint64 now,
       char **canonical)
{
    g_autoptr(GError) error = NULL;
    PrAuthResult r = auth_verify_sync(f->conn, &f->policy, "pop3", ip, "PLAIN", user, password, now,
                                      canonical, &error);

    g_assert_no_error(error);
    return r;
}

static GPtrArray *
audit_rows(Fixture *f, const char *ip)
{
    g_autoptr(GError) error = NULL;
    GPtrArray *rows = store_login_audit_list(f->conn, ip, 0, &error);

    g_assert_no_error(error);
    return rows;
}

static void
test_verify_ok(Fixture *f, gconstpointer data)
{
    g_autofree char *canonical = NULL;
    g_autoptr(GPtrArray) rows = NULL;
    StoreLoginAudit *a;

    g_test_summary("A correct password is accepted, returns the account name and is audited");
    g_assert_cmpint(verify(f, "192.0.2.1", "ALICE", "s3cret", 1000, &canonical), ==, PR_AUTH_OK);
    g_assert_cmpstr(canonical, ==, "alice");

    rows = audit_rows(f, "192.0.2.1");
    g_assert_cmpuint(rows->len, ==, 1);
    a = rows->pdata[0];
    g_assert_true(a->success);
    g_assert_cmpstr(a->reason, ==, "ok");
    g_assert_cmpstr(a->username, ==, "ALICE");
    g_assert_cmpstr(a->service, ==, "pop3");
    g_assert_cmpstr(a->mechanism, ==, "PLAIN");
    g_assert_cmpint(a->time, ==, 1000);
}

static void
test_verify_failures(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) rows = NULL;
    char *canonical = (char *)"unchanged";

    g_test_summary("Wrong password, unknown user and disabled account");
    g_assert_cmpint(verify(f, "192.0.2.1", "alice", "wrong", 1000, &canonical), ==, PR_AUTH_FAILED);
    g_assert_null(canonical);
    g_assert_cmpint(verify(f, "192.0.2.2", "nobody", "s3cret", 1001, NULL), ==, PR_AUTH_FAILED);
    g_assert_cmpint(verify(f, "192.0.2.2", "bad\xff", "s3cret", 1002, NULL), ==, PR_AUTH_FAILED);

    g_assert_true(store_user_set_enabled(f->conn, "alice", FALSE, &error));
    g_assert_no_error(error);
    g_assert_cmpint(verify(f, "192.0.2.3", "alice", "s3cret", 1003, NULL), ==, PR_AUTH_DISABLED);
    /* A disabled account does not reveal itself to a wrong password. */
    g_assert_cmpint(verify(f, "192.0.2.3", "alice", "nope", 1004, NULL), ==, PR_AUTH_FAILED);

    rows = audit_rows(f, NULL);
    g_assert_cmpuint(rows->len, ==, 5);
    g_assert_cmpstr(((StoreLoginAudit *)rows->pdata[0])->reason, ==, "bad-password");
    g_assert_cmpstr(((StoreLoginAudit *)rows->pdata[1])->reason, ==, "disabled");
    g_assert_cmpstr(((StoreLoginAudit *)rows->pdata[2])->reason, ==, "unknown-user");
    g_assert_true(g_utf8_validate(((StoreLoginAudit *)rows->pdata[2])->username, -1, NULL));
    g_assert_cmpstr(((StoreLoginAudit *)rows->pdata[3])->reason, ==, "unknown-user");
    g_assert_cmpstr(((StoreLoginAudit *)rows->pdata[4])->reason, ==, "bad-password");
    for (guint i = 0; i < rows->len; i++)
        g_assert_false(((StoreLoginAudit *)rows->pdata[i])->success);
}

static void
test_lockout(Fixture *f, gconstpointer data)
{
    g_autoptr(GPtrArray) rows = NULL;
    const char *ip = "198.51.100.9";
    gint64 t = 50000;

    g_test_summary("Three failures lock the address: then even the right password is refused");
    g_assert_cmpint(verify(f, ip, "alice", "x1", t, NULL), ==, PR_AUTH_FAILED);
    /* Unknown users count too, or guessing names would be free. */
    g_assert_cmpint(verify(f, ip, "mallory", "x2", t + 1, NULL), ==, PR_AUTH_FAILED);
    g_assert_cmpuint(lockout_events, ==, 0);
    g_assert_cmpint(verify(f, ip, "alice", "x3", t + 2, NULL), ==, PR_AUTH_FAILED);
    g_assert_cmpuint(lockout_events, ==, 1);

    g_assert_cmpint(verify(f, ip, "alice", "s3cret", t + 3, NULL), ==, PR_AUTH_LOCKED);
    /* Other addresses are not affected. */
    g_assert_cmpint(verify(f, "198.51.100.10", "alice", "s3cret", t + 3, NULL), ==, PR_AUTH_OK);

    rows = audit_rows(f, ip);
    g_assert_cmpuint(rows->len, ==, 4);
    g_assert_cmpstr(((StoreLoginAudit *)rows->pdata[0])->reason, ==, "locked");
    g_assert_false(((StoreLoginAudit *)rows->pdata[0])->success);
    g_assert_cmpstr(((StoreLoginAudit *)rows->pdata[1])->reason, ==, "bad-password");
    g_assert_cmpstr(((StoreLoginAudit *)rows->pdata[2])->reason, ==, "unknown-user");
    g_assert_cmpstr(((StoreLoginAudit *)rows->pdata[3])->reason, ==, "bad-password");
    g_clear_pointer(&rows, g_ptr_array_unref);

    /* Still locked just before last failure + window, free after it. */
    g_assert_cmpint(verify(f, ip, "alice", "s3cret", t + 2 + 30 * 60 - 1, NULL), ==,
                    PR_AUTH_LOCKED);
    g_assert_cmpint(verify(f, ip, "alice", "s3cret", t + 2 + 30 * 60, NULL), ==, PR_AUTH_OK);
    /* The lock event was logged once. */
    g_assert_cmpuint(lockout_events, ==, 1);
}

static void
test_window(Fixture *f, gconstpointer data)
{
    const char *ip = "198.51.100.11";
    gint64 t = 80000;

    g_test_summary("Failures further apart than the window do not lock");
    g_assert_cmpint(verify(f, ip, "alice", "x", t, NULL), ==, PR_AUTH_FAILED);
    g_assert_cmpint(verify(f, ip, "alice", "x", t + 1000, NULL), ==, PR_AUTH_FAILED);
    /* The window counted from the first failure has run out: a new count. */
    g_assert_cmpint(verify(f, ip, "alice", "x", t + 1800, NULL), ==, PR_AUTH_FAILED);
    g_assert_cmpint(verify(f, ip, "alice", "x", t + 1801, NULL), ==, PR_AUTH_FAILED);
    g_assert_cmpint(verify(f, ip, "alice", "s3cret", t + 1802, NULL), ==, PR_AUTH_OK);
    g_assert_cmpuint(lockout_events, ==, 0);
}

static void
test_success_clears(Fixture *f, gconstpointer data)
{
    g_autoptr(GPtrArray) rows = NULL;
    const char *ip = "198.51.100.12";
    gint64 t = 90000;

    g_test_summary("A successful login clears the address's failure count");
    g_assert_cmpint(verify(f, ip, "alice", "x", t, NULL), ==, PR_AUTH_FAILED);
    g_assert_cmpint(verify(f, ip, "alice", "x", t + 1, NULL), ==, PR_AUTH_FAILED);
    g_assert_cmpint(verify(f, ip, "alice", "s3cret", t + 2, NULL), ==, PR_AUTH_OK);
    g_assert_cmpint(verify(f, ip, "alice", "x", t + 3, NULL), ==, PR_AUTH_FAILED);
    g_assert_cmpint(verify(f, ip, "alice", "x", t + 4, NULL), ==, PR_AUTH_FAILED);
    g_assert_cmpint(verify(f, ip, "alice", "s3cret", t + 5, NULL), ==, PR_AUTH_OK);
    /* Without the clear, the third failure of the five would have locked. */
    g_assert_cmpint(verify(f, ip, "alice", "x", t + 6, NULL), ==, PR_AUTH_FAILED);
    g_assert_cmpint(verify(f, ip, "alice", "x", t + 7, NULL), ==, PR_AUTH_FAILED);
    g_assert_cmpint(verify(f, ip, "alice", "x", t + 8, NULL), ==, PR_AUTH_FAILED);
    g_assert_cmpint(verify(f, ip, "alice", "s3cret", t + 9, NULL), ==, PR_AUTH_LOCKED);

    rows = audit_rows(f, ip);
    g_assert_cmpuint(rows->len, ==, 10);
}

static void
test_no_lockout(Fixture *f, gconstpointer data)
{
    const char *ip = "198.51.100.13";

    g_test_summary("lockout_attempts = 0 disables the lockout");
    f->policy.lockout_attempts = 0;
    for (int i = 0; i < 5; i++)
        g_assert_cmpint(verify(f, ip, "alice", "x", 1000 + i, NULL), ==, PR_AUTH_FAILED);
    g_assert_cmpint(verify(f, ip, "alice", "s3cret", 2000, NULL), ==, PR_AUTH_OK);
    g_assert_cmpuint(lockout_events, ==, 0);
}

/* ------------------------------------------ APOP and CRAM-MD5 digests */

static void
test_digest_vectors(void)
{
    const guint8 *apop_secret = (const guint8 *)"tanstaaf";
    const guint8 *cram_secret = (const guint8 *)"tanstaaftanstaaf";
    const char *apop_ts = "<1896.697170952@dbc.mtview.ca.us>";
    const char *cram_ch = "<1896.697170952@postoffice.reston.mci.net>";

    g_test_summary("The examples of RFC 1939 section 7 and RFC 2195 section 2");
    g_assert_true(auth_check_digest(AUTH_PROOF_APOP, apop_secret, 8, apop_ts,
                                    "c4c9334bac560ecc979e58001b3e22fb"));
    /* Either case of hex digits. */
    g_assert_true(auth_check_digest(AUTH_PROOF_APOP, apop_secret, 8, apop_ts,
                                    "C4C9334BAC560ECC979E58001B3E22FB"));
    g_assert_true(auth_check_digest(AUTH_PROOF_CRAM_MD5, cram_secret, 16, cram_ch,
                                    "b913a602c7eda7a495b4e6e7334d3890"));
    /* The two digests are not interchangeable. */
    g_assert_false(auth_check_digest(AUTH_PROOF_CRAM_MD5, apop_secret, 8, apop_ts,
                                     "c4c9334bac560ecc979e58001b3e22fb"));
    g_assert_false(auth_check_digest(AUTH_PROOF_APOP, cram_secret, 16, cram_ch,
                                     "b913a602c7eda7a495b4e6e7334d3890"));
    /* Another timestamp, secret or digit, a short or long digest, non-hex. */
    g_assert_false(auth_check_digest(AUTH_PROOF_APOP, apop_secret, 8,
                                     "<1896.697170953@dbc.mtview.ca.us>",
                                     "c4c9334bac560ecc979e58001b3e22fb"));
    g_assert_false(auth_check_digest(AUTH_PROOF_APOP, (const guint8 *)"tanstaaF", 8, apop_ts,
                                     "c4c9334bac560ecc979e58001b3e22fb"));
    g_assert_false(auth_check_digest(AUTH_PROOF_APOP, apop_secret, 8, apop_ts,
                                     "c4c9334bac560ecc979e58001b3e22fc"));
    g_assert_false(auth_check_digest(AUTH_PROOF_APOP, apop_secret, 8, apop_ts,
                                     "c4c9334bac560ecc979e58001b3e22f"));
    g_assert_false(auth_check_digest(AUTH_PROOF_APOP, apop_secret, 8, apop_ts,
                                     "c4c9334bac560ecc979e58001b3e22fb0"));
    g_assert_false(auth_check_digest(AUTH_PROOF_APOP, apop_secret, 8, apop_ts,
                                     "g4c9334bac560ecc979e58001b3e22fb"));
    g_assert_false(auth_check_digest(AUTH_PROOF_APOP, apop_secret, 8, apop_ts, ""));
}

static void
test_challenge(void)
{
    g_autofree char *a = auth_new_challenge("mail.example.com");
    g_autofree char *b = auth_new_challenge("mail.example.com");
    g_autofree char *odd = auth_new_challenge("bad host>name");
    g_autofree char *pid = g_strdup_printf("<%d.", (int)getpid());

    g_test_summary("Challenges are <pid.random@host>, differ every time, and stay one token");
    g_assert_true(g_str_has_prefix(a, pid));
    g_assert_true(g_str_has_suffix(a, "@mail.example.com>"));
    g_assert_cmpstr(a, !=, b);
    g_assert_true(g_regex_match_simple("^<[0-9]+\\.[0-9]+@[A-Za-z0-9.-]+>$", a, 0, 0));
    g_assert_true(g_regex_match_simple("^<[0-9]+\\.[0-9]+@[A-Za-z0-9.-]+>$", odd, 0, 0));
}

static PrAuthResult
verify_proof(Fixture *f, const char *ip, AuthProofKind kind, const char *user,
             const char *challenge, const char *digest, gint64 now, char **canonical)
{
    g_autoptr(GError) error = NULL;
    AuthProof proof = { .kind = kind, .challenge = challenge, .digest = digest };
    PrAuthResult r = auth_verify_proof_sync(f->conn, &f->policy, "pop3", ip,
                                            kind == AUTH_PROOF_APOP ? "APOP" : "CRAM-MD5", user,
                                            &proof, now, canonical, &error);

    g_assert_no_error(error);
    return r;
}

static void
test_verify_challenges(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) rows = NULL;
    g_autofree char *canonical = NULL;
    const char *ts = "<1896.697170952@dbc.mtview.ca.us>";
    /* The digests a client computes (the vectors above check the
     * server's own computation against the RFCs). */
    g_autofree char *apop_ok = g_compute_checksum_for_string(
        G_CHECKSUM_MD5, "<1896.697170952@dbc.mtview.ca.us>s3cret", -1);
    g_autofree char *cram_ok =
        g_compute_hmac_for_string(G_CHECKSUM_MD5, (const guchar *)"s3cret", 6, ts, -1);

    g_test_summary("APOP and CRAM-MD5 against stored secrets: the same verdicts, lockout and "
                   "audit as passwords; no secret or secrets off fails like a wrong digest");
    f->policy.lockout_attempts = 0;
    f->policy.store_secrets = TRUE;

    /* alice has no secret yet. */
    g_assert_cmpint(verify_proof(f, "192.0.2.7", AUTH_PROOF_APOP, "alice", ts, apop_ok, 10, NULL),
                    ==, PR_AUTH_FAILED);
    g_assert_true(store_user_secret_set(f->conn, "ALICE", (const guint8 *)"s3cret", 6, &error));
    g_assert_no_error(error);
    g_assert_cmpint(
        verify_proof(f, "192.0.2.7", AUTH_PROOF_APOP, "Alice", ts, apop_ok, 11, &canonical), ==,
        PR_AUTH_OK);
    g_assert_cmpstr(canonical, ==, "alice");
    g_assert_cmpint(
        verify_proof(f, "192.0.2.7", AUTH_PROOF_CRAM_MD5, "alice", ts, cram_ok, 12, NULL), ==,
        PR_AUTH_OK);
    /* Each digest only for its own mechanism. */
    g_assert_cmpint(
        verify_proof(f, "192.0.2.7", AUTH_PROOF_CRAM_MD5, "alice", ts, apop_ok, 13, NULL), ==,
        PR_AUTH_FAILED);
    g_assert_cmpint(verify_proof(f, "192.0.2.7", AUTH_PROOF_APOP, "nobody", ts, apop_ok, 14, NULL),
                    ==, PR_AUTH_FAILED);
    /* The hash is not a way in: the password itself is not a digest. */
    g_assert_cmpint(verify_proof(f, "192.0.2.7", AUTH_PROOF_APOP, "alice", ts, "s3cret", 15, NULL),
                    ==, PR_AUTH_FAILED);

    /* Switching store_secrets off stops the secrets that are left. */
    f->policy.store_secrets = FALSE;
    g_assert_cmpint(verify_proof(f, "192.0.2.7", AUTH_PROOF_APOP, "alice", ts, apop_ok, 16, NULL),
                    ==, PR_AUTH_FAILED);
    f->policy.store_secrets = TRUE;

    g_assert_true(store_user_set_enabled(f->conn, "alice", FALSE, &error));
    g_assert_cmpint(verify_proof(f, "192.0.2.7", AUTH_PROOF_APOP, "alice", ts, apop_ok, 17, NULL),
                    ==, PR_AUTH_DISABLED);
    g_assert_true(store_user_set_enabled(f->conn, "alice", TRUE, &error));

    /* A new password without a secret drops the old secret. */
    g_assert_true(store_user_set_password_and_secret(f->conn, "alice", "$6$x$y", NULL, 0, &error));
    g_assert_no_error(error);
    g_assert_cmpint(verify_proof(f, "192.0.2.7", AUTH_PROOF_APOP, "alice", ts, apop_ok, 18, NULL),
                    ==, PR_AUTH_FAILED);

    rows = audit_rows(f, "192.0.2.7");
    g_assert_cmpuint(rows->len, ==, 9);
    const char *reasons[] = { "no-secret",    "disabled",     "no-secret",
                              "bad-password", "unknown-user", "bad-password",
                              "ok",           "ok",           "no-secret" };
    const char *mechs[] = { "APOP",     "APOP",     "APOP", "APOP", "APOP",
                            "CRAM-MD5", "CRAM-MD5", "APOP", "APOP" };
    for (guint i = 0; i < rows->len; i++) {
        StoreLoginAudit *a = rows->pdata[i];
        g_assert_cmpstr(a->reason, ==, reasons[i]);
        g_assert_cmpstr(a->mechanism, ==, mechs[i]);
    }
}

static void
test_challenge_lockout(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    const char *ts = "<1.2@example.com>";
    g_autofree char *good =
        g_compute_checksum_for_string(G_CHECKSUM_MD5, "<1.2@example.com>s3cret", -1);
    const char *ip = "198.51.100.20";

    g_test_summary("Failed APOP attempts lock the address like failed passwords");
    f->policy.store_secrets = TRUE;
    g_assert_true(store_user_secret_set(f->conn, "alice", (const guint8 *)"s3cret", 6, &error));
    for (int i = 0; i < 3; i++)
        g_assert_cmpint(verify_proof(f, ip, AUTH_PROOF_APOP, "alice", ts,
                                     "00000000000000000000000000000000", 100 + i, NULL),
                        ==, PR_AUTH_FAILED);
    g_assert_cmpint(verify_proof(f, ip, AUTH_PROOF_APOP, "alice", ts, good, 104, NULL), ==,
                    PR_AUTH_LOCKED);
    /* And the password path sees the same lock. */
    g_assert_cmpint(verify(f, ip, "alice", "s3cret", 105, NULL), ==, PR_AUTH_LOCKED);
    g_assert_cmpuint(lockout_events, ==, 1);
}

static void
test_secret_store(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(StoreUserSecret) s = NULL;
    g_autoptr(StoreUserSecret) none = NULL;
    g_autoptr(GHashTable) names = NULL;
    const guint8 odd[] = { 'p', 0xff, 'w', 0x01, 0x80 };
    g_autofree char *hash = auth_hash_password("pw", "sha512-crypt", &error);

    g_test_summary("Secrets: any bytes round-trip, replace, drop one or all, go with the user");
    g_assert_cmpint(store_user_add(f->conn, "bob", hash, NULL, &error), >, 0);
    g_assert_true(store_user_secret_set(f->conn, "bob", odd, sizeof(odd), &error));
    g_assert_no_error(error);
    s = store_user_secret_get(f->conn, "BOB", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(s->name, ==, "bob");
    g_assert_true(s->enabled);
    g_assert_cmpmem(s->secret, s->secret_len, odd, sizeof(odd));
    none = store_user_secret_get(f->conn, "alice", &error);
    g_assert_no_error(error);
    g_assert_null(none->secret);
    g_assert_null(store_user_secret_get(f->conn, "carol", &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_false(store_user_secret_set(f->conn, "carol", odd, 1, &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);

    g_assert_true(store_user_secret_set(f->conn, "alice", (const guint8 *)"a", 1, &error));
    g_assert_true(store_user_secret_set(f->conn, "alice", (const guint8 *)"b2", 2, &error));
    names = store_user_secret_names(f->conn, &error);
    g_assert_cmpuint(g_hash_table_size(names), ==, 2);
    g_assert_cmpint(store_user_secret_drop(f->conn, "alice", &error), ==, 1);
    g_assert_cmpint(store_user_secret_drop(f->conn, "alice", &error), ==, 0);
    g_assert_true(store_user_secret_set(f->conn, "alice", (const guint8 *)"a", 1, &error));
    /* Deleting the user deletes its secret. */
    g_assert_true(store_user_delete(f->conn, "bob", &error));
    g_clear_pointer(&names, g_hash_table_unref);
    names = store_user_secret_names(f->conn, &error);
    g_assert_cmpuint(g_hash_table_size(names), ==, 1);
    g_assert_true(g_hash_table_contains(names, "alice"));
    g_assert_cmpint(store_user_secret_drop(f->conn, NULL, &error), ==, 1);
    g_assert_no_error(error);
}

int
main(int argc, char **argv)
{
    g_log_set_writer_func(writer, NULL, NULL);
    g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

    g_test_add_func("/auth/hash/yescrypt", test_hash_yescrypt);
    g_test_add_func("/auth/hash/sha512", test_hash_sha512);
    g_test_add_func("/auth/hash/bad", test_hash_bad);
    g_test_add("/auth/verify/ok", Fixture, NULL, fixture_set_up, test_verify_ok, fixture_tear_down);
    g_test_add("/auth/verify/failures", Fixture, NULL, fixture_set_up, test_verify_failures,
               fixture_tear_down);
    g_test_add("/auth/verify/lockout", Fixture, NULL, fixture_set_up, test_lockout,
               fixture_tear_down);
    g_test_add("/auth/verify/window", Fixture, NULL, fixture_set_up, test_window,
               fixture_tear_down);
    g_test_add("/auth/verify/success-clears", Fixture, NULL, fixture_set_up, test_success_clears,
               fixture_tear_down);
    g_test_add("/auth/verify/no-lockout", Fixture, NULL, fixture_set_up, test_no_lockout,
               fixture_tear_down);
    g_test_add_func("/auth/digest/vectors", test_digest_vectors);
    g_test_add_func("/auth/digest/challenge", test_challenge);
    g_test_add("/auth/verify/challenges", Fixture, NULL, fixture_set_up, test_verify_challenges,
               fixture_tear_down);
    g_test_add("/auth/verify/challenge-lockout", Fixture, NULL, fixture_set_up,
               test_challenge_lockout, fixture_tear_down);
    g_test_add("/auth/secrets/store", Fixture, NULL, fixture_set_up, test_secret_store,
               fixture_tear_down);
    return g_test_run();
}
