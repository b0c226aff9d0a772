/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The GTest fixture shared by the unit tests of the store and its users
 * (test-store, test-queue, test-delivery, test-collector): each test runs
 * twice, on a fresh SQLite database in a temporary directory and on a
 * fresh database of a private PostgreSQL server (tests/lib/pg-server.h),
 * registered as /<suite>/sqlite/<name> and /<suite>/postgresql/<name>.
 * Without PostgreSQL installed the PostgreSQL variants skip; installed but
 * failing to start is a failure. */

#include "config.h"
#include "store/store.h"

typedef struct {
    const char *suite; /* first part of the test paths; names the directory */
    int workers;       /* StoreSettings.workers */
    gboolean migrate;  /* set-up applies the migrations (test-store does it itself) */
} StoreFixtureOptions;

typedef struct {
    char *dir;   /* the temporary directory, removed at tear-down */
    char *spool; /* dir/spool, not created */
    StoreSettings settings;
    StoreConn *conn;
    const char *skip; /* why this PostgreSQL variant skips, or NULL */
} StoreFixture;

/* In main() after g_test_init(): starts PostgreSQL. Returns FALSE after
 * printing why when it is installed but does not start. */
gboolean store_fixture_init(const StoreFixtureOptions *options);
/* Stops PostgreSQL; returns @ret, the result of g_test_run(). */
int store_fixture_finish(int ret);

/* Registers @func for both providers, or for PostgreSQL only. */
void store_fixture_add(const char *name, void (*func)(StoreFixture *, gconstpointer));
void store_fixture_add_postgresql(const char *name, void (*func)(StoreFixture *, gconstpointer));

/* Adds user @name (password "x"), asserting that it works. */
void store_fixture_add_user(StoreFixture *f, const char *name);

/* Removes @path and everything below it. */
void store_fixture_rm_rf(const char *path);

/* A validated configuration whose data directory is the fixture's, with
 * @extra (groups and keys, or "") after [server]. */
Config *store_fixture_config(StoreFixture *f, const char *extra);

/* Waiting on the default main context for an SDK call's answer: pass
 * store_waiter_got and the waiter as its callback and data, then
 * store_waiter_wait() returns the result (at most 60 s, else it fails). */
typedef struct {
    GMainLoop *loop;
    GAsyncResult *result;
} StoreWaiter;
void store_waiter_got(GObject *source, GAsyncResult *result, gpointer waiter);
GAsyncResult *store_waiter_wait(StoreWaiter *w);

/* The first statement of every fixture test. */
#define SKIP_IF_NO_BACKEND(f)                                                                      \
    do {                                                                                           \
        if ((f)->skip != NULL) {                                                                   \
            g_test_skip((f)->skip);                                                                \
            return;                                                                                \
        }                                                                                          \
    } while (0)
