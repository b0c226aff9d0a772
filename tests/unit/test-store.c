/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <time.h>
#include <utime.h>

#include <string.h>
#include <glib/gstdio.h>

#include "store/spool.h"
#include "store/store-mail.h"
#include "store/store-ops.h"
#include "store/store-queries.h"
#include "host.h"
#include "module-loader.h"
#include "store-fixture.h"

/* Every store test runs on SQLite and on a private PostgreSQL server. */

typedef StoreFixture Fixture;

static void
migrate(Fixture *f)
{
    g_autoptr(GError) error = NULL;

    g_assert_true(store_migrate(f->conn, &error));
    g_assert_no_error(error);
}

/* ------------------------------------------------------------ schema */

/* The newest migration in data/sql/sqlite/ of the source tree (every
 * provider has the same numbers), read from the files rather than from
 * the embedded resources, so that a file missing from
 * data/postroom-sql.gresource.xml fails here. */
static int
latest_schema(void)
{
    g_autofree char *path = g_test_build_filename(G_TEST_DIST, "..", "data", "sql", "sqlite", NULL);
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    const char *name;
    int latest = 0;

    g_assert_nonnull(dir);
    while ((name = g_dir_read_name(dir)) != NULL) {
        if (g_str_has_suffix(name, ".sql"))
            latest = MAX(latest, (int)g_ascii_strtoll(name, NULL, 10));
    }
    g_assert_cmpint(latest, >=, 4);
    return latest;
}
#define LATEST_SCHEMA latest_schema()

static void
test_migrate(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(StoreConn) second = NULL;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("Migrations apply to an empty database once and are idempotent");

    migrate(f);
    g_assert_cmpint(store_schema_version(f->conn, &error), ==, LATEST_SCHEMA);
    g_assert_no_error(error);

    /* Re-running, also from another connection, changes nothing. */
    migrate(f);
    second = store_conn_open(&f->settings, &error);
    g_assert_no_error(error);
    g_assert_true(store_migrate(second, &error));
    g_assert_no_error(error);
    g_assert_cmpint(store_schema_version(second, &error), ==, LATEST_SCHEMA);

    /* The schema works: a table of 001 is usable. */
    g_assert_true(store_domain_add(second, "example.org", &error));
    g_assert_no_error(error);
}

static void
test_too_new(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    Store *store;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("A database with a newer schema than the build is refused");

    migrate(f);
    g_assert_cmpint(store_conn_exec(f->conn, Q_SCHEMA_VERSION_ADD, &error, "version", 999, "now",
                                    (gint64)0, NULL),
                    ==, 1);
    g_assert_no_error(error);

    g_assert_false(store_migrate(f->conn, &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_SCHEMA);
    g_assert_nonnull(strstr(error->message, "999"));
    g_clear_error(&error);

    store = store_open(&f->settings, &error);
    g_assert_null(store);
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_SCHEMA);
}

/* ------------------------------------------------------------- users */

static void
test_users(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(StoreUser) user = NULL;
    g_autoptr(GPtrArray) users = NULL;
    g_autoptr(GdaDataModel) folders = NULL;
    gint64 id, id2;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("User operations, INBOX creation, EXISTS and NOT_FOUND");
    migrate(f);

    id = store_user_add(f->conn, "Alice", "$y$hash1", "Alice Example", &error);
    g_assert_no_error(error);
    g_assert_cmpint(id, >, 0);
    id2 = store_user_add(f->conn, "bob", "$y$hash2", NULL, &error);
    g_assert_no_error(error);
    g_assert_cmpint(id2, !=, id);

    g_assert_cmpint(store_user_add(f->conn, "ALICE", "x", NULL, &error), ==, 0);
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_EXISTS);
    g_clear_error(&error);

    user = store_user_get(f->conn, "aLiCe", &error);
    g_assert_no_error(error);
    g_assert_cmpint(user->id, ==, id);
    g_assert_cmpstr(user->name, ==, "alice");
    g_assert_cmpstr(user->full_name, ==, "Alice Example");
    g_assert_cmpstr(user->pwhash, ==, "$y$hash1");
    g_assert_true(user->enabled);
    g_assert_cmpint(user->quota_bytes, ==, 0);
    g_assert_cmpint(user->created, >, 1600000000);
    g_clear_pointer(&user, store_user_free);

    /* The INBOX came with the user, and the special-use folders (Drafts,
     * INBOX, Junk, Sent, Trash by name). */
    folders = store_conn_select(f->conn, Q_FOLDER_LIST, &error, "user_id", id, NULL);
    g_assert_no_error(error);
    g_assert_cmpint(gda_data_model_get_n_rows(folders), ==, 5);
    {
        g_autofree char *name = store_model_string(folders, 1, 1);
        g_autofree char *use = store_model_string(folders, 4, 1);

        g_assert_cmpstr(name, ==, "INBOX");
        g_assert_null(use);
        g_assert_cmpint(store_model_int64(folders, 2, 1), >, 0);
        g_assert_cmpint(store_model_int64(folders, 3, 1), ==, 1);
    }

    g_assert_true(store_user_set_password(f->conn, "ALICE", "$6$new", &error));
    g_assert_no_error(error);
    g_assert_true(store_user_set_enabled(f->conn, "alice", FALSE, &error));
    g_assert_no_error(error);
    user = store_user_get(f->conn, "alice", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(user->pwhash, ==, "$6$new");
    g_assert_false(user->enabled);
    g_clear_pointer(&user, store_user_free);
    g_assert_true(store_user_set_enabled(f->conn, "alice", TRUE, &error));
    g_assert_no_error(error);

    users = store_user_list(f->conn, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(users->len, ==, 2);
    g_assert_cmpstr(((StoreUser *)users->pdata[0])->name, ==, "alice");
    g_assert_cmpstr(((StoreUser *)users->pdata[1])->name, ==, "bob");
    g_assert_true(((StoreUser *)users->pdata[0])->enabled);
    g_assert_cmpstr(((StoreUser *)users->pdata[1])->full_name, ==, "");

    g_assert_null(store_user_get(f->conn, "carol", &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_null(store_user_get(f->conn, "bad\xff", &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_false(store_user_set_password(f->conn, "carol", "x", &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_false(store_user_set_enabled(f->conn, "carol", TRUE, &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);

    g_assert_true(store_user_delete(f->conn, "Bob", &error));
    g_assert_no_error(error);
    g_assert_false(store_user_delete(f->conn, "bob", &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);

    /* Folders go with their user. */
    g_clear_object(&folders);
    folders = store_conn_select(f->conn, Q_FOLDER_LIST, &error, "user_id", id2, NULL);
    g_assert_no_error(error);
    g_assert_cmpint(gda_data_model_get_n_rows(folders), ==, 0);

    /* Deleted names can be used again. */
    g_assert_cmpint(store_user_add(f->conn, "bob", "h", NULL, &error), >, 0);
    g_assert_no_error(error);
}

/* ---------------------------------------------- domains and mappings */

static void
test_domains(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) domains = NULL;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("Domain operations");
    migrate(f);

    g_assert_true(store_domain_add(f->conn, "Example.ORG", &error));
    g_assert_no_error(error);
    g_assert_true(store_domain_add(f->conn, "a.example", &error));
    g_assert_no_error(error);
    g_assert_false(store_domain_add(f->conn, "example.org", &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_EXISTS);
    g_clear_error(&error);
    g_assert_false(store_domain_add(f->conn, "", &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED);
    g_clear_error(&error);

    domains = store_domain_list(f->conn, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(domains->len, ==, 2);
    g_assert_cmpstr(((StoreDomain *)domains->pdata[0])->name, ==, "a.example");
    g_assert_cmpstr(((StoreDomain *)domains->pdata[1])->name, ==, "example.org");
    g_assert_cmpint(((StoreDomain *)domains->pdata[1])->id, >, 0);

    g_assert_true(store_domain_delete(f->conn, "EXAMPLE.org", &error));
    g_assert_no_error(error);
    g_assert_false(store_domain_delete(f->conn, "example.org", &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
}

static void
test_mappings(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) list = NULL;
    StoreMapping *m;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("Mapping operations keep insertion order");
    migrate(f);

    g_assert_true(store_mapping_add(f->conn, "Sales", "alice", &error));
    g_assert_no_error(error);
    g_assert_true(store_mapping_add(f->conn, "~@example.org", "*REMOTE", &error));
    g_assert_no_error(error);
    g_assert_true(store_mapping_add(f->conn, "sales", "bob", &error));
    g_assert_no_error(error);
    g_assert_false(store_mapping_add(f->conn, "SALES", "alice", &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_EXISTS);
    g_clear_error(&error);
    g_assert_false(store_mapping_add(f->conn, "x", "", &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED);
    g_clear_error(&error);

    list = store_mapping_list(f->conn, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(list->len, ==, 3);
    m = list->pdata[0];
    g_assert_cmpstr(m->pattern, ==, "sales");
    g_assert_cmpstr(m->target, ==, "alice");
    m = list->pdata[1];
    g_assert_cmpstr(m->pattern, ==, "~@example.org");
    g_assert_cmpstr(m->target, ==, "*REMOTE");
    m = list->pdata[2];
    g_assert_cmpstr(m->target, ==, "bob");
    g_clear_pointer(&list, g_ptr_array_unref);

    g_assert_true(store_mapping_delete(f->conn, "sales", "bob", &error));
    g_assert_no_error(error);
    g_assert_false(store_mapping_delete(f->conn, "sales", "bob", &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_true(store_mapping_add(f->conn, "sales", "carol", &error));
    g_assert_no_error(error);
    g_assert_true(store_mapping_delete(f->conn, "SALES", NULL, &error));
    g_assert_no_error(error);
    g_assert_false(store_mapping_delete(f->conn, "sales", NULL, &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);

    list = store_mapping_list(f->conn, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(list->len, ==, 1);
    g_assert_cmpstr(((StoreMapping *)list->pdata[0])->pattern, ==, "~@example.org");
}

/* ------------------------------------------------------------- lists */

static void
test_lists(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) lists = NULL;
    g_autoptr(GPtrArray) members = NULL;
    StoreList *l;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("List and list member operations");
    migrate(f);

    g_assert_true(store_list_add(f->conn, "Staff", "distribution", "Everyone", &error));
    g_assert_no_error(error);
    g_assert_true(store_list_add(f->conn, "admins", "group", NULL, &error));
    g_assert_no_error(error);
    g_assert_false(store_list_add(f->conn, "staff", "group", NULL, &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_EXISTS);
    g_clear_error(&error);
    g_assert_false(store_list_add(f->conn, "other", "bogus", NULL, &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED);
    g_clear_error(&error);

    lists = store_list_list(f->conn, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(lists->len, ==, 2);
    l = lists->pdata[0];
    g_assert_cmpstr(l->name, ==, "admins");
    g_assert_cmpstr(l->kind, ==, "group");
    g_assert_cmpstr(l->description, ==, "");
    l = lists->pdata[1];
    g_assert_cmpstr(l->name, ==, "staff");
    g_assert_cmpstr(l->kind, ==, "distribution");
    g_assert_cmpstr(l->description, ==, "Everyone");

    g_assert_true(store_list_member_add(f->conn, "STAFF", "bob", &error));
    g_assert_no_error(error);
    g_assert_true(store_list_member_add(f->conn, "staff", "Alice", &error));
    g_assert_no_error(error);
    g_assert_false(store_list_member_add(f->conn, "staff", "alice", &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_EXISTS);
    g_clear_error(&error);
    g_assert_false(store_list_member_add(f->conn, "nolist", "alice", &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);

    members = store_list_members(f->conn, "staff", &error);
    g_assert_no_error(error);
    g_assert_cmpuint(members->len, ==, 2);
    g_assert_cmpstr(members->pdata[0], ==, "alice");
    g_assert_cmpstr(members->pdata[1], ==, "bob");
    g_clear_pointer(&members, g_ptr_array_unref);
    g_assert_null(store_list_members(f->conn, "nolist", &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);

    g_assert_true(store_list_member_remove(f->conn, "staff", "BOB", &error));
    g_assert_no_error(error);
    g_assert_false(store_list_member_remove(f->conn, "staff", "bob", &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_false(store_list_member_remove(f->conn, "nolist", "bob", &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);

    g_assert_true(store_list_delete(f->conn, "staff", &error));
    g_assert_no_error(error);
    g_assert_false(store_list_delete(f->conn, "staff", &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);

    /* Members went with the list. */
    g_assert_true(store_list_add(f->conn, "staff", "forward", NULL, &error));
    g_assert_no_error(error);
    members = store_list_members(f->conn, "staff", &error);
    g_assert_no_error(error);
    g_assert_cmpuint(members->len, ==, 0);
}

/* ------------------------------------------------ audit and lockouts */

static void
test_audit(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) rows = NULL;
    StoreLoginAudit *a;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("Login audit rows: add, list newest first, filter, limit, purge");
    migrate(f);

    g_assert_true(store_login_audit_add(f->conn, 1000, "192.0.2.1", "alice", "pop3", "USER", FALSE,
                                        "bad-password", &error));
    g_assert_no_error(error);
    g_assert_true(store_login_audit_add(f->conn, 2000, "192.0.2.1", "alice", "pop3", "PLAIN", TRUE,
                                        "ok", &error));
    g_assert_no_error(error);
    g_assert_true(store_login_audit_add(f->conn, 3000, "2001:db8::1", "bad\xffname", "smtp",
                                        "LOGIN", FALSE, "unknown-user", &error));
    g_assert_no_error(error);

    rows = store_login_audit_list(f->conn, NULL, 0, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(rows->len, ==, 3);
    a = rows->pdata[0];
    g_assert_cmpint(a->time, ==, 3000);
    g_assert_cmpstr(a->ip, ==, "2001:db8::1");
    g_assert_true(g_utf8_validate(a->username, -1, NULL));
    g_assert_false(a->success);
    g_assert_cmpstr(a->reason, ==, "unknown-user");
    a = rows->pdata[1];
    g_assert_cmpint(a->time, ==, 2000);
    g_assert_true(a->success);
    g_assert_cmpstr(a->service, ==, "pop3");
    g_assert_cmpstr(a->mechanism, ==, "PLAIN");
    g_assert_cmpstr(a->username, ==, "alice");
    g_assert_cmpstr(a->reason, ==, "ok");
    g_assert_cmpint(a->id, >, 0);
    g_clear_pointer(&rows, g_ptr_array_unref);

    rows = store_login_audit_list(f->conn, "192.0.2.1", 1, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(rows->len, ==, 1);
    g_assert_cmpint(((StoreLoginAudit *)rows->pdata[0])->time, ==, 2000);
    g_clear_pointer(&rows, g_ptr_array_unref);

    g_assert_cmpint(store_login_audit_purge(f->conn, 2500, &error), ==, 2);
    g_assert_no_error(error);
    rows = store_login_audit_list(f->conn, NULL, 10, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(rows->len, ==, 1);
}

static void
test_lockout(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    const char *ip = "198.51.100.7";
    gboolean locked = TRUE;
    gint64 t = 100000;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("Lockout after N failures within the window, expiry, clear");
    migrate(f);

    g_assert_false(store_lockout_is_locked(f->conn, ip, t, &error));
    g_assert_no_error(error);

    store_lockout_fail(f->conn, ip, t, 3, 600, &locked, &error);
    g_assert_no_error(error);
    g_assert_false(locked);
    g_assert_true(store_lockout_fail(f->conn, ip, t + 10, 3, 600, &locked, &error));
    g_assert_false(locked);
    g_assert_false(store_lockout_is_locked(f->conn, ip, t + 10, &error));
    /* Another address is independent. */
    g_assert_true(store_lockout_fail(f->conn, "198.51.100.8", t + 15, 3, 600, &locked, &error));
    g_assert_false(locked);
    g_assert_true(store_lockout_fail(f->conn, ip, t + 20, 3, 600, &locked, &error));
    g_assert_no_error(error);
    g_assert_true(locked);
    g_assert_true(store_lockout_is_locked(f->conn, ip, t + 21, &error));
    g_assert_true(store_lockout_is_locked(f->conn, ip, t + 619, &error));
    g_assert_false(store_lockout_is_locked(f->conn, "198.51.100.8", t + 21, &error));
    /* Locked until last failure + window. */
    g_assert_false(store_lockout_is_locked(f->conn, ip, t + 620, &error));
    g_assert_no_error(error);

    /* After the window a failure starts a new count. */
    g_assert_true(store_lockout_fail(f->conn, ip, t + 700, 3, 600, &locked, &error));
    g_assert_false(locked);
    g_assert_false(store_lockout_is_locked(f->conn, ip, t + 701, &error));

    /* Failures spread wider than the window never lock. */
    for (int i = 1; i <= 5; i++) {
        g_assert_true(store_lockout_fail(f->conn, ip, t + 700 + i * 601, 3, 600, &locked, &error));
        g_assert_false(locked);
    }

    /* Clearing resets the count. */
    g_assert_true(store_lockout_fail(f->conn, ip, t + 5000, 3, 600, &locked, &error));
    g_assert_true(store_lockout_fail(f->conn, ip, t + 5001, 3, 600, &locked, &error));
    g_assert_true(store_lockout_clear(f->conn, ip, &error));
    g_assert_true(store_lockout_fail(f->conn, ip, t + 5002, 3, 600, &locked, &error));
    g_assert_false(locked);
    g_assert_false(store_lockout_is_locked(f->conn, ip, t + 5003, &error));
    g_assert_true(store_lockout_clear(f->conn, "203.0.113.1", &error));
    g_assert_no_error(error);
}

/* --------------------------------------------------------- module kv */

static void
test_module_kv(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    char *value;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("Per-module key/value state");
    migrate(f);

    g_assert_null(store_module_get(f->conn, "pop3", "k", &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);

    g_assert_true(store_module_set(f->conn, "pop3", "k", "one", &error));
    g_assert_no_error(error);
    g_assert_true(store_module_set(f->conn, "smtp", "k", "other", &error));
    g_assert_true(store_module_set(f->conn, "pop3", "k", "two; 'quoted' ##x", &error));
    g_assert_no_error(error);
    value = store_module_get(f->conn, "pop3", "k", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(value, ==, "two; 'quoted' ##x");
    g_free(value);
    value = store_module_get(f->conn, "smtp", "k", &error);
    g_assert_cmpstr(value, ==, "other");
    g_free(value);

    g_assert_true(store_module_set(f->conn, "pop3", "k", NULL, &error));
    g_assert_no_error(error);
    g_assert_null(store_module_get(f->conn, "pop3", "k", &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    /* Deleting a missing key is fine. */
    g_assert_true(store_module_set(f->conn, "pop3", "k", NULL, &error));
    g_assert_no_error(error);
}

static void
test_transaction(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) domains = NULL;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("store_begin/commit/rollback");
    migrate(f);

    g_assert_true(store_begin(f->conn, &error));
    g_assert_true(store_domain_add(f->conn, "rolled.back", &error));
    store_rollback(f->conn);
    g_assert_true(store_begin(f->conn, &error));
    g_assert_true(store_domain_add(f->conn, "kept.example", &error));
    g_assert_true(store_commit(f->conn, &error));
    g_assert_no_error(error);

    domains = store_domain_list(f->conn, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(domains->len, ==, 1);
    g_assert_cmpstr(((StoreDomain *)domains->pdata[0])->name, ==, "kept.example");
}

/* ------------------------------------------------- worker pool (async) */

typedef struct {
    GMainLoop *loop;
    GThread *main_thread;
    int pending;
    int done;
    int cancelled;
    gboolean wrong_thread;
} AsyncState;

static gpointer
job_add_domain(StoreConn *conn, gpointer data, GError **error)
{
    /* Jobs run on a worker, never on the main thread. */
    if (g_thread_self() == ((AsyncState *)g_object_get_data(G_OBJECT(data), "state"))->main_thread)
        return NULL;
    if (!store_domain_add(conn, g_object_get_data(G_OBJECT(data), "name"), error))
        return NULL;
    return g_strdup(g_object_get_data(G_OBJECT(data), "name"));
}

typedef struct {
    AsyncState *state;
    Store *store;
} CallbackData;

static void
job_done(GObject *source, GAsyncResult *res, gpointer user_data)
{
    CallbackData *cd = user_data;
    g_autoptr(GError) error = NULL;
    g_autofree char *name = store_run_finish(cd->store, res, &error);

    if (g_thread_self() != cd->state->main_thread)
        cd->state->wrong_thread = TRUE;
    if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        cd->state->cancelled++;
    else if (name != NULL)
        cd->state->done++;
    if (--cd->state->pending == 0)
        g_main_loop_quit(cd->state->loop);
    g_free(cd);
}

static gboolean
on_timeout(gpointer data)
{
    g_main_loop_quit(data);
    return G_SOURCE_REMOVE;
}

static void
test_run_async(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GMainContext) ctx = g_main_context_new();
    g_autoptr(GCancellable) cancelled = g_cancellable_new();
    g_autoptr(GPtrArray) domains = NULL;
    AsyncState state = { 0 };
    Store *store;
    GSource *timeout;
    const int n_jobs = 20;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("store_run_async runs jobs on workers and calls back on the caller's context");

    /* A migrated store from scratch, with two workers. */
    store = store_open(&f->settings, &error);
    g_assert_no_error(error);
    g_assert_nonnull(store);

    g_main_context_push_thread_default(ctx);
    state.loop = g_main_loop_new(ctx, FALSE);
    state.main_thread = g_thread_self();
    g_cancellable_cancel(cancelled);

    for (int i = 0; i < n_jobs + 1; i++) {
        GObject *job_data = g_object_new(G_TYPE_OBJECT, NULL);
        CallbackData *cd = g_new0(CallbackData, 1);

        g_object_set_data_full(job_data, "name", g_strdup_printf("d%02d.example", i), g_free);
        g_object_set_data(job_data, "state", &state);
        cd->state = &state;
        cd->store = store;
        state.pending++;
        /* The last job is cancelled before it runs. */
        store_run_async(store, job_add_domain, job_data, g_object_unref,
                        i == n_jobs ? cancelled : NULL, job_done, cd);
    }

    timeout = g_timeout_source_new_seconds(60);
    g_source_set_callback(timeout, on_timeout, state.loop, NULL);
    g_source_attach(timeout, ctx);
    g_main_loop_run(state.loop);
    g_source_destroy(timeout);
    g_source_unref(timeout);

    g_assert_cmpint(state.pending, ==, 0);
    g_assert_cmpint(state.done, ==, n_jobs);
    g_assert_cmpint(state.cancelled, ==, 1);
    g_assert_false(state.wrong_thread);

    g_main_context_pop_thread_default(ctx);
    g_main_loop_unref(state.loop);
    store_close(store);

    /* The jobs really wrote; the cancelled one did not. */
    migrate(f);
    domains = store_domain_list(f->conn, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(domains->len, ==, n_jobs);
}

/* ------------------------------------------------- public SDK (pr-store.h) */

typedef struct {
    GMainLoop *loop;
    GAsyncResult *result;
} Waiter;

static void
got_result(GObject *source, GAsyncResult *res, gpointer user_data)
{
    Waiter *w = user_data;

    w->result = g_object_ref(res);
    g_main_loop_quit(w->loop);
}

/* Runs the loop until the pending call has answered (bounded). */
static GAsyncResult *
wait_result(Waiter *w)
{
    guint id = g_timeout_add_seconds(60, on_timeout, w->loop);

    g_main_loop_run(w->loop);
    g_source_remove(id);
    g_assert_nonnull(w->result);
    return g_steal_pointer(&w->result);
}

static void
test_api(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GAsyncResult) res = NULL;
    g_autoptr(PrUser) user = NULL;
    g_autofree char *value = NULL;
    PrHost host = { 0 };
    PrModule module = { 0 };
    Waiter w = { 0 };

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("pr_store_lookup_user and pr_store_module_get/set through the worker pool");

    host.store = store_open(&f->settings, &error);
    g_assert_no_error(error);
    module.name = (char *)"testmod";
    w.loop = g_main_loop_new(NULL, FALSE);
    g_assert_cmpint(store_user_add(f->conn, "Alice", "$6$x", "Alice A.", &error), >, 0);
    g_assert_no_error(error);
    /* The quota and the usage (IMAP GETQUOTA) come with the snapshot. */
    g_assert_true(store_user_set_quota(f->conn, "alice", 2048, &error));
    g_assert_cmpint(store_conn_exec(f->conn, Q_USER_USAGE_ADD_BY_NAME, &error, "delta",
                                    (gint64)1000, "name", "alice", NULL),
                    ==, 1);
    g_assert_no_error(error);

    pr_store_lookup_user_async(&host, "ALICE", NULL, got_result, &w);
    res = wait_result(&w);
    user = pr_store_lookup_user_finish(&host, res, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(pr_user_get_name(user), ==, "alice");
    g_assert_cmpstr(pr_user_get_full_name(user), ==, "Alice A.");
    g_assert_true(pr_user_is_enabled(user));
    g_assert_cmpint(pr_user_get_id(user), >, 0);
    g_assert_cmpint(pr_user_get_quota(user), ==, 2048);
    g_assert_cmpint(pr_user_get_used_bytes(user), ==, 1000);
    g_clear_object(&res);

    pr_store_lookup_user_async(&host, "nobody", NULL, got_result, &w);
    res = wait_result(&w);
    g_assert_null(pr_store_lookup_user_finish(&host, res, &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_clear_object(&res);

    pr_store_module_get_async(&host, &module, "k", NULL, got_result, &w);
    res = wait_result(&w);
    g_assert_null(pr_store_module_get_finish(&host, res, &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_clear_object(&res);

    pr_store_module_set_async(&host, &module, "k", "v1", NULL, got_result, &w);
    res = wait_result(&w);
    g_assert_true(pr_store_module_set_finish(&host, res, &error));
    g_assert_no_error(error);
    g_clear_object(&res);

    pr_store_module_get_async(&host, &module, "k", NULL, got_result, &w);
    res = wait_result(&w);
    value = pr_store_module_get_finish(&host, res, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(value, ==, "v1");
    g_clear_object(&res);

    /* The value is private to the module. */
    g_clear_pointer(&value, g_free);
    value = store_module_get(f->conn, "testmod", "k", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(value, ==, "v1");

    pr_store_module_set_async(&host, &module, "k", NULL, NULL, got_result, &w);
    res = wait_result(&w);
    g_assert_true(pr_store_module_set_finish(&host, res, &error));
    g_assert_no_error(error);
    g_clear_object(&res);
    g_clear_pointer(&value, g_free);
    g_assert_null(store_module_get(f->conn, "testmod", "k", &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);

    g_main_loop_unref(w.loop);
    store_close(host.store);
}

static void
test_pg_bad_password(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(StoreConn) conn = NULL;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("A wrong database password is refused with a clear error");

    g_file_set_contents(f->settings.password_file, "wrong\n", -1, &error);
    g_assert_no_error(error);
    conn = store_conn_open(&f->settings, &error);
    g_assert_null(conn);
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED);
    g_clear_error(&error);

    g_free(f->settings.password_file);
    f->settings.password_file = g_build_filename(f->dir, "missing", NULL);
    conn = store_conn_open(&f->settings, &error);
    g_assert_null(conn);
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED);
}

/* ------------------------------------------------------------- spool */

static void
test_spool(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("postroom-spool-XXXXXX", &error);
    g_autofree char *spool = g_build_filename(dir, "spool", NULL);
    g_autofree char *rel1 = NULL;
    g_autofree char *rel2 = NULL;
    g_autofree char *rel3 = NULL;
    g_autofree char *contents = NULL;
    g_autofree char *path = NULL;
    g_autoptr(GInputStream) in = NULL;
    g_autofree char *big = NULL;
    const gsize big_len = 300 * 1024 + 7;
    goffset size = 0;
    gsize len = 0;

    g_test_summary("Spool files: atomic write, hashed names, stream copy, cleanup of temp files");
    g_assert_no_error(error);

    /* The spool directory is created on first use. */
    rel1 = spool_write(spool, "hello\r\n", 7, &error);
    g_assert_no_error(error);
    g_assert_nonnull(rel1);
    g_assert_cmpuint(strlen(rel1), ==, 2 + 1 + 30);
    g_assert_cmpint(rel1[2], ==, '/');
    path = g_build_filename(spool, rel1, NULL);
    g_assert_true(g_file_get_contents(path, &contents, &len, &error));
    g_assert_cmpmem(contents, len, "hello\r\n", 7);

    rel2 = spool_write(spool, "", 0, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(rel1, !=, rel2);

    big = g_malloc(big_len);
    for (gsize i = 0; i < big_len; i++)
        big[i] = (char)(i * 7);
    in = g_memory_input_stream_new_from_data(big, (gssize)big_len, NULL);
    rel3 = spool_write_stream(spool, in, &size, NULL, &error);
    g_assert_no_error(error);
    g_assert_cmpint(size, ==, (goffset)big_len);
    g_clear_pointer(&path, g_free);
    g_clear_pointer(&contents, g_free);
    path = g_build_filename(spool, rel3, NULL);
    g_assert_true(g_file_get_contents(path, &contents, &len, &error));
    g_assert_cmpmem(contents, len, big, big_len);

    /* Nothing to clean after clean writes. */
    g_assert_cmpuint(spool_cleanup(spool, &error), ==, 0);
    g_assert_no_error(error);

    /* Simulate crashes: temp files in the top level and in a bucket. */
    {
        char bucket[3] = { rel1[0], rel1[1], '\0' };
        g_autofree char *t1 = g_build_filename(spool, bucket, ".tmp-0123456789abcdef", NULL);
        g_autofree char *t2 = g_build_filename(spool, ".tmp-fedcba", NULL);

        g_assert_true(g_file_set_contents(t1, "partial", -1, &error));
        g_assert_true(g_file_set_contents(t2, "partial", -1, &error));
        g_assert_cmpuint(spool_cleanup(spool, &error), ==, 2);
        g_assert_no_error(error);
        g_assert_false(g_file_test(t1, G_FILE_TEST_EXISTS));
        g_assert_false(g_file_test(t2, G_FILE_TEST_EXISTS));
    }
    /* Real files stay. */
    g_assert_true(g_file_test(path, G_FILE_TEST_IS_REGULAR));
    g_clear_pointer(&path, g_free);
    path = g_build_filename(spool, rel1, NULL);
    g_assert_true(g_file_test(path, G_FILE_TEST_IS_REGULAR));

    /* A missing spool directory is nothing to clean. */
    {
        g_autofree char *none = g_build_filename(dir, "none", NULL);

        g_assert_cmpuint(spool_cleanup(none, &error), ==, 0);
        g_assert_no_error(error);
    }
    store_fixture_rm_rf(dir);
}

/* -------------------------------------------------------------- main */

static char *
spool_file(const char *spool, const char *text, gint64 age_seconds)
{
    g_autoptr(GError) error = NULL;
    char *rel = spool_write(spool, text, strlen(text), &error);
    g_assert_no_error(error);
    if (age_seconds > 0) {
        g_autofree char *full = g_build_filename(spool, rel, NULL);
        struct utimbuf times = { time(NULL) - age_seconds, time(NULL) - age_seconds };
        g_assert_cmpint(utime(full, &times), ==, 0);
    }
    return rel;
}

static void
test_mail(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *spool = NULL;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("Delivery stores one message for several mailboxes and the queue; locks are "
                   "exclusive or shared and expire; deletes hold or remove, and spool files are "
                   "released only when nothing refers to them; the sweep removes old orphans");
    migrate(f);
    spool = g_build_filename(f->dir, "spool", NULL);
    store_fixture_add_user(f, "alice");
    store_fixture_add_user(f, "bob");

    g_autofree char *path = spool_file(spool, "Subject: hi\r\n\r\nbody\r\n", 7200);
    StoreMessage m = { path, 19, 1000, "sender@example.net", "hi", NULL, NULL, NULL };
    StoreDeliveryTarget targets[] = { { "alice", "Delivered-To: alice@example.com\r\n" },
                                      { "bob", "" } };
    StoreQueueTarget remote[] = { { "far@example.net", "FAILURE", NULL } };
    g_autoptr(GPtrArray) alerts = g_ptr_array_new();
    g_assert_cmpint(store_deliver(f->conn, &m, targets, 2, remote, 1, alerts, &error), >, 0);
    g_assert_no_error(error);
    g_assert_cmpuint(alerts->len, ==, 0);

    /* A target that does not exist fails the whole delivery. */
    StoreDeliveryTarget ghost[] = { { "alice", "" }, { "ghost", "" } };
    g_autofree char *path2 = spool_file(spool, "x\r\n", 0);
    StoreMessage m2 = { path2, 3, 1000, "", NULL, NULL, NULL, NULL };
    g_assert_cmpint(store_deliver(f->conn, &m2, ghost, 2, NULL, 0, NULL, &error), ==, 0);
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);

    /* Exclusive excludes everything; shared excludes only exclusive. */
    guint32 uidvalidity = 0;
    gint64 folder = store_mailbox_lock(f->conn, "alice", "INBOX", "pop3 a", "host1", TRUE,
                                       time(NULL) + 300, &uidvalidity, &error);
    g_assert_no_error(error);
    g_assert_cmpint(folder, >, 0);
    g_assert_cmpuint(uidvalidity, >, 0);
    g_assert_cmpint(store_mailbox_lock(f->conn, "alice", "INBOX", "pop3 b", "host2", TRUE,
                                       time(NULL) + 300, NULL, &error),
                    ==, 0);
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_LOCKED);
    g_clear_error(&error);
    g_assert_cmpint(store_mailbox_lock(f->conn, "alice", "INBOX", "imap c", "host2", FALSE,
                                       time(NULL) + 300, NULL, &error),
                    ==, 0);
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_LOCKED);
    g_clear_error(&error);
    /* A restarted instance drops its own locks; an expired lock is free. */
    g_assert_cmpint(store_mailbox_unlock_instance(f->conn, "host1", &error), ==, 1);
    gint64 bob = store_mailbox_lock(f->conn, "bob", "INBOX", "imap 1", "host1", FALSE,
                                    time(NULL) - 1, NULL, &error);
    g_assert_cmpint(bob, >, 0);
    g_assert_cmpint(store_mailbox_lock(f->conn, "bob", "INBOX", "pop3 2", "host2", TRUE,
                                       time(NULL) + 300, NULL, &error),
                    ==, bob);
    g_assert_no_error(error);
    g_assert_cmpint(store_mailbox_lock(f->conn, "alice", "INBOX", "imap 3", "host2", FALSE,
                                       time(NULL) + 300, NULL, &error),
                    ==, folder);
    g_assert_cmpint(store_mailbox_lock(f->conn, "alice", "INBOX", "imap 4", "host2", FALSE,
                                       time(NULL) + 300, NULL, &error),
                    ==, folder);
    g_assert_no_error(error);
    g_assert_true(store_mailbox_unlock(f->conn, folder, "imap 3", &error));

    /* The snapshot: size includes the per-mailbox prefix. */
    g_autoptr(GArray) items = store_mailbox_list(f->conn, folder, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(items->len, ==, 1);
    StoreMailItem *item = &g_array_index(items, StoreMailItem, 0);
    g_assert_cmpuint(item->uid, ==, 1);
    g_assert_cmpint(item->size, ==, 19 + (gint64)strlen(targets[0].prefix));
    g_assert_cmpstr(item->spool_path, ==, path);

    /* Holding hides the message and keeps the file. */
    guint32 uid = item->uid;
    g_autoptr(GPtrArray) unlink_paths = g_ptr_array_new_with_free_func(g_free);
    g_assert_true(store_mailbox_delete(f->conn, folder, &uid, 1, TRUE, NULL, unlink_paths, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(unlink_paths->len, ==, 0);
    g_autoptr(GArray) after_hold = store_mailbox_list(f->conn, folder, &error);
    g_assert_cmpuint(after_hold->len, ==, 0);

    /* bob's copy and the queue entry still use the file. */
    g_autoptr(GArray) bobs = store_mailbox_list(f->conn, bob, &error);
    g_assert_cmpuint(bobs->len, ==, 1);
    guint32 bob_uid = g_array_index(bobs, StoreMailItem, 0).uid;
    g_assert_true(
        store_mailbox_delete(f->conn, bob, &bob_uid, 1, FALSE, NULL, unlink_paths, &error));
    g_assert_cmpuint(unlink_paths->len, ==, 0);
    g_assert_no_error(error);

    /* The sweep keeps referenced and young files, removes old orphans. */
    g_autofree char *young = spool_file(spool, "young orphan\r\n", 0);
    g_autofree char *old = spool_file(spool, "old orphan\r\n", 7200);
    /* path2 (the failed delivery's file) is young too, so it stays for now. */
    g_assert_cmpint(store_spool_sweep(f->conn, spool, time(NULL) - 3600, &error), ==, 1);
    g_assert_no_error(error);
    g_autofree char *path_full = g_build_filename(spool, path, NULL);
    g_autofree char *young_full = g_build_filename(spool, young, NULL);
    g_autofree char *old_full = g_build_filename(spool, old, NULL);
    g_assert_true(g_file_test(path_full, G_FILE_TEST_EXISTS));
    g_assert_true(g_file_test(young_full, G_FILE_TEST_EXISTS));
    g_assert_false(g_file_test(old_full, G_FILE_TEST_EXISTS));
}

/* Whether @f's connection commits durably now, asserting no error. */
static gboolean
durable(Fixture *f)
{
    g_autoptr(GError) error = NULL;
    gboolean yes = store_conn_commits_durable(f->conn, &error);
    g_assert_no_error(error);
    return yes;
}

static void
test_durability(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    gboolean sqlite = g_ascii_strcasecmp(f->settings.provider, "SQLite") == 0;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("Relaxed transactions do not flush their commit; durable ones (delivery, "
                   "expunge, writes outside a transaction) still do after them; flag changes "
                   "and mailbox locks are relaxed");
    migrate(f);
    store_fixture_add_user(f, "alice");
    /* The private PostgreSQL server of the tests runs with
     * synchronous_commit=off: there, only that relaxed transactions work
     * is seen, not what they change. */
    gboolean seen = sqlite || durable(f);
    if (!seen)
        g_test_message("PostgreSQL test server does not flush commits: durability not seen");
    g_assert_true(store_begin_relaxed(f->conn, &error));
    g_assert_false(seen && durable(f));
    g_assert_true(store_commit(f->conn, &error));
    g_assert_true(store_begin(f->conn, &error));
    g_assert_true(!seen || durable(f));
    store_rollback(f->conn);

    /* A write on its own after a relaxed transaction is durable. */
    g_assert_true(store_begin_relaxed(f->conn, &error));
    g_assert_true(store_commit(f->conn, &error));
    g_assert_true(store_domain_add(f->conn, "durable.example", &error));
    g_assert_true(!seen || durable(f));

    g_autofree char *spool = g_build_filename(f->dir, "spool", NULL);
    g_autofree char *path = spool_file(spool, "Subject: hi\r\n\r\nbody\r\n", 0);
    StoreMessage m = { path, 19, 1000, "sender@example.net", "hi", NULL, NULL, NULL };
    StoreDeliveryTarget target = { "alice", "" };
    g_assert_cmpint(store_deliver(f->conn, &m, &target, 1, NULL, 0, NULL, &error), >, 0);
    g_assert_no_error(error);
    g_assert_true(!seen || durable(f));
    gint64 folder = store_mailbox_lock(f->conn, "alice", "INBOX", "imap", "host1", FALSE,
                                       time(NULL) + 300, NULL, &error);
    g_assert_cmpint(folder, >, 0);
    /* SQLite keeps the setting until a durable transaction needs it back
     * (PostgreSQL's lasts for the transaction only): that tells what the
     * last one was. */
    if (sqlite)
        g_assert_false(durable(f));
    g_autoptr(GArray) items = store_mailbox_list(f->conn, folder, &error);
    g_assert_cmpuint(items->len, ==, 1);
    guint32 uid = g_array_index(items, StoreMailItem, 0).uid;
    g_assert_true(store_mailbox_store_flags(f->conn, folder, &uid, 1, PR_FLAGS_ADD, "\\Deleted", 0,
                                            NULL, &error));
    g_assert_no_error(error);
    if (sqlite)
        g_assert_false(durable(f));
    g_assert_true(store_mailbox_delete(f->conn, folder, &uid, 1, FALSE, NULL, NULL, &error));
    g_assert_no_error(error);
    g_assert_true(!seen || durable(f));
    g_assert_true(store_mailbox_unlock(f->conn, folder, "imap", &error));
    if (sqlite)
        g_assert_false(durable(f));
}

int
main(int argc, char **argv)
{
    static const StoreFixtureOptions options = { .suite = "store", .workers = 2, .migrate = FALSE };

    g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

    if (!store_fixture_init(&options))
        return 1;

    store_fixture_add("migrate", test_migrate);
    store_fixture_add("too-new", test_too_new);
    store_fixture_add("users", test_users);
    store_fixture_add("domains", test_domains);
    store_fixture_add("mappings", test_mappings);
    store_fixture_add("lists", test_lists);
    store_fixture_add("audit", test_audit);
    store_fixture_add("lockout", test_lockout);
    store_fixture_add("module-kv", test_module_kv);
    store_fixture_add("transaction", test_transaction);
    store_fixture_add("run-async", test_run_async);
    store_fixture_add("api", test_api);
    store_fixture_add("mail", test_mail);
    store_fixture_add("durability", test_durability);
    store_fixture_add_postgresql("bad-password", test_pg_bad_password);
    g_test_add_func("/store/spool", test_spool);

    return store_fixture_finish(g_test_run());
}
