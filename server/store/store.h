/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The store: the only part of Postroom that talks to libgda. Everything
 * else sees StoreConn (one database connection, used by one thread at a
 * time) and synchronous operations on it (store-ops.h); the daemon runs
 * them on the store's worker threads through store_run_async(), postroomctl
 * and the unit tests call them directly. */

#include <gio/gio.h>
#include <postroom/pr-store.h>

typedef struct {
    char *provider;      /* "SQLite" or "PostgreSQL" (libgda provider names) */
    char *cnc;           /* libgda connection string without credentials */
    char *username;      /* PostgreSQL role, or NULL */
    char *password_file; /* file holding the role's password, or NULL */
    int workers;         /* worker threads (each owns one connection) */
} StoreSettings;

typedef struct _Store Store;
typedef struct _StoreConn StoreConn;

/* Opens one connection (SQLite: WAL, foreign keys on). */
StoreConn *store_conn_open(const StoreSettings *settings, GError **error);
void store_conn_free(StoreConn *conn);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StoreConn, store_conn_free)

/* Applies the numbered migrations of the provider (embedded from
 * data/sql/<provider>/) that schema_version does not list yet. Refuses a
 * database whose schema is newer than this build. */
gboolean store_migrate(StoreConn *conn, GError **error);
int store_schema_version(StoreConn *conn, GError **error);

/* Short transactions: libgda's cost per statement grows with the length of
 * the transaction, so bulk work commits every ~1000 rows. */
gboolean store_begin(StoreConn *conn, GError **error);
gboolean store_commit(StoreConn *conn, GError **error);
void store_rollback(StoreConn *conn);
/* A transaction whose commit is not flushed to disk (SQLite in WAL mode:
 * synchronous=NORMAL; PostgreSQL: synchronous_commit off): a power loss may
 * undo its last such commits, never a durable one made after them, and the
 * database stays consistent. Only for what a client re-syncs or the server
 * rebuilds: flags, \Recent, mailbox locks, cached MIME summaries; never a
 * message being acknowledged or deleted. Writes outside a transaction and
 * store_begin() are durable. */
gboolean store_begin_relaxed(StoreConn *conn, GError **error);
/* For tests: whether the connection's commits are durable right now. */
gboolean store_conn_commits_durable(StoreConn *conn, GError **error);

/* The worker pool used by the daemon: store_open() opens and migrates, then
 * starts @settings->workers threads with one connection each. */
Store *store_open(const StoreSettings *settings, GError **error);
void store_close(Store *store);

typedef gpointer (*StoreJobFunc)(StoreConn *conn, gpointer data, GError **error);

/* Runs @job on a worker thread; @callback runs on the thread-default main
 * context of the caller. A job returning NULL without setting an error
 * means "no result" (not an error). */
void store_run_async(Store *store, StoreJobFunc job, gpointer data, GDestroyNotify data_free,
                     GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data);
gpointer store_run_finish(Store *store, GAsyncResult *result, GError **error);

/* Runs @work on a worker thread and nothing after it: for work that hands
 * its outcome back by itself (the delivery's group commit), without a task
 * completing on the caller's main context. @work owns @data. */
typedef void (*StoreWorkFunc)(StoreConn *conn, gpointer data);
void store_run_detached(Store *store, StoreWorkFunc work, gpointer data);

/* The store settings the configuration describes ([store] and, for the
 * default SQLite connection string, [server] data_dir), in one place for
 * postroomd and postroomctl. @config must be validated. Fails with
 * PR_CONFIG_ERROR_INVALID when a PostgreSQL store has no connection
 * string. Clear with store_settings_clear(). */
typedef struct _Config Config;
gboolean store_settings_from_config(StoreSettings *out, Config *config, GError **error);
void store_settings_clear(StoreSettings *settings);
