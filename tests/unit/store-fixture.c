/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "store-fixture.h"

#include <glib/gstdio.h>

#include "store/store-ops.h"
#include "../lib/pg-server.h"

typedef enum {
    BACKEND_SQLITE,
    BACKEND_POSTGRES,
} Backend;

/* One test executable runs one suite, so the state is per process. */
static const StoreFixtureOptions *suite;
static PgServer *pg_server;
static char *pg_skip_reason;
static guint db_counter;

gboolean
store_fixture_init(const StoreFixtureOptions *options)
{
    g_autoptr(GError) error = NULL;

    suite = options;
    pg_server = pg_server_start(&error);
    if (pg_server == NULL) {
        if (!g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND)) {
            /* Installed but broken is a failure, not a skip. */
            g_printerr("cannot start PostgreSQL: %s\n", error->message);
            return FALSE;
        }
        pg_skip_reason = g_strdup_printf("PostgreSQL tests skipped: %s", error->message);
        g_test_message("%s", pg_skip_reason);
    }
    return TRUE;
}

int
store_fixture_finish(int ret)
{
    g_clear_pointer(&pg_server, pg_server_stop);
    g_clear_pointer(&pg_skip_reason, g_free);
    return ret;
}

static void
set_up_postgresql(StoreFixture *f)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *db = g_strdup_printf("postroom_%s%u", suite->suite, ++db_counter);
    /* With the trailing newline an editor leaves: the store must trim it. */
    g_autofree char *password = g_strconcat(pg_server_get_password(pg_server), "\n", NULL);

    pg_server_create_database(pg_server, db, &error);
    g_assert_no_error(error);
    f->settings.provider = g_strdup("PostgreSQL");
    f->settings.cnc =
        g_strdup_printf("HOST=127.0.0.1;PORT=%d;DB_NAME=%s", pg_server_get_port(pg_server), db);
    f->settings.username = g_strdup(pg_server_get_role(pg_server));
    f->settings.password_file = g_build_filename(f->dir, "dbpassword", NULL);
    g_file_set_contents(f->settings.password_file, password, -1, &error);
    g_assert_no_error(error);
}

static void
fixture_set_up(StoreFixture *f, gconstpointer data)
{
    Backend backend = GPOINTER_TO_INT(data);
    g_autoptr(GError) error = NULL;
    g_autofree char *template = g_strdup_printf("postroom-%s-XXXXXX", suite->suite);

    f->dir = g_dir_make_tmp(template, &error);
    g_assert_no_error(error);
    f->spool = g_build_filename(f->dir, "spool", NULL);
    f->settings.workers = suite->workers;
    if (backend == BACKEND_SQLITE) {
        f->settings.provider = g_strdup("SQLite");
        f->settings.cnc = g_strdup_printf("DB_DIR=%s;DB_NAME=test", f->dir);
    } else if (pg_server == NULL) {
        f->skip = pg_skip_reason;
        return;
    } else {
        set_up_postgresql(f);
    }
    f->conn = store_conn_open(&f->settings, &error);
    g_assert_no_error(error);
    g_assert_nonnull(f->conn);
    if (suite->migrate) {
        g_assert_true(store_migrate(f->conn, &error));
        g_assert_no_error(error);
    }
}

static void
fixture_tear_down(StoreFixture *f, gconstpointer data)
{
    g_clear_pointer(&f->conn, store_conn_free);
    store_fixture_rm_rf(f->dir);
    g_free(f->dir);
    g_free(f->spool);
    g_free(f->settings.provider);
    g_free(f->settings.cnc);
    g_free(f->settings.username);
    g_free(f->settings.password_file);
}

static void
add(const char *name, void (*func)(StoreFixture *, gconstpointer), gboolean postgresql_only)
{
    static const struct {
        const char *name;
        Backend backend;
    } backends[] = { { "sqlite", BACKEND_SQLITE }, { "postgresql", BACKEND_POSTGRES } };

    for (guint i = 0; i < G_N_ELEMENTS(backends); i++) {
        g_autofree char *path = NULL;

        if (postgresql_only && backends[i].backend != BACKEND_POSTGRES)
            continue;
        path = g_strdup_printf("/%s/%s/%s", suite->suite, backends[i].name, name);
        g_test_add(path, StoreFixture, GINT_TO_POINTER(backends[i].backend), fixture_set_up, func,
                   fixture_tear_down);
    }
}

void
store_fixture_add(const char *name, void (*func)(StoreFixture *, gconstpointer))
{
    add(name, func, FALSE);
}

void
store_fixture_add_postgresql(const char *name, void (*func)(StoreFixture *, gconstpointer))
{
    add(name, func, TRUE);
}

void
store_fixture_add_user(StoreFixture *f, const char *name)
{
    g_autoptr(GError) error = NULL;

    g_assert_cmpint(store_user_add(f->conn, name, "x", NULL, &error), >, 0);
    g_assert_no_error(error);
}

void
store_fixture_rm_rf(const char *path)
{
    g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
    const char *name;

    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        g_autofree char *child = g_build_filename(path, name, NULL);

        store_fixture_rm_rf(child);
    }
    g_remove(path);
}

Config *
store_fixture_config(StoreFixture *f, const char *extra)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *path = g_build_filename(f->dir, "postroomd.conf", NULL);
    g_autofree char *text =
        g_strdup_printf("[server]\ndata_dir = %s\nhostname = mail.example.com\n%s", f->dir, extra);
    g_assert_true(g_file_set_contents(path, text, -1, &error));
    Config *config = config_load(path, &error);
    g_assert_no_error(error);
    g_assert_true(config_validate(config, NULL, &error));
    g_assert_no_error(error);
    return config;
}

void
store_waiter_got(GObject *source, GAsyncResult *result, gpointer waiter)
{
    StoreWaiter *w = waiter;
    w->result = g_object_ref(result);
    g_main_loop_quit(w->loop);
}

static gboolean
waiter_timeout(gpointer loop)
{
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

GAsyncResult *
store_waiter_wait(StoreWaiter *w)
{
    guint id = g_timeout_add_seconds(60, waiter_timeout, w->loop);
    g_main_loop_run(w->loop);
    g_source_remove(id);
    g_assert_nonnull(w->result);
    return g_steal_pointer(&w->result);
}
