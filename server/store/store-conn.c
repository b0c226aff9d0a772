/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#include "postroom-sql.h"
#include "store-queries.h"

#define SQL_RESOURCE_ROOT "/org/postroom/sql"
/* Milliseconds a SQLite writer waits for another connection's lock. */
#define SQLITE_BUSY_TIMEOUT_MS 10000

struct _StoreConn {
    GdaConnection *cnc;
    GdaSqlParser *parser;
    gboolean postgres;
    /* Parsed once per connection, on first use (Anjuta's statement cache). */
    GdaStatement *stmts[Q_N_QUERIES];
    GdaSet *params[Q_N_QUERIES];
    /* Between store_begin*() and the commit or rollback. */
    gboolean in_transaction;
    /* SQLite: synchronous=NORMAL is in force (store_begin_relaxed()); the
     * next durable transaction or write outside one sets FULL again. */
    gboolean relaxed;
    GdaStatement *sync_full, *sync_relaxed; /* parsed on first use */
};

G_DEFINE_QUARK(pr - store - error - quark, pr_store_error)

/* libgda 5 keeps process-wide tables that opening and closing connections
 * update without locking (two workers closing at once failed with "hash
 * table modified during iteration"): opening and closing are rare, so
 * they are simply serialised. Use of open connections is not. */
static GMutex lifecycle_lock;

static void
init_gda_once(void)
{
    static gsize done;

    if (g_once_init_enter(&done)) {
        gda_init();
        g_once_init_leave(&done, 1);
    }
}

static void
set_db_error(GError **error, GError *gda_error)
{
    g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED, _("Database error: %s"),
                gda_error && gda_error->message ? gda_error->message : _("unknown error"));
}

/* Runs SQL text that is not in the query table (pragmas, migration files). */
static gboolean
exec_script(StoreConn *conn, const char *sql, GError **error)
{
    g_autoptr(GError) local = NULL;
    const char *remain = NULL;
    g_autoptr(GdaBatch) batch = NULL;

    batch = gda_sql_parser_parse_string_as_batch(conn->parser, sql, &remain, &local);
    if (batch == NULL) {
        set_db_error(error, local);
        return FALSE;
    }
    if (remain != NULL) {
        while (g_ascii_isspace(*remain))
            remain++;
        if (*remain != '\0') {
            g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_SCHEMA,
                        _("Cannot parse SQL near: %.40s"), remain);
            return FALSE;
        }
    }
    for (const GSList *l = gda_batch_get_statements(batch); l != NULL; l = l->next) {
        /* The generic call, because pragmas return rows; any result is
         * dropped and only the error counts (DDL "returns" -2 on SQLite). */
        GObject *result =
            gda_connection_statement_execute(conn->cnc, GDA_STATEMENT(l->data), NULL,
                                             GDA_STATEMENT_MODEL_RANDOM_ACCESS, NULL, &local);

        g_clear_object(&result);
        if (local != NULL) {
            set_db_error(error, local);
            return FALSE;
        }
    }
    return TRUE;
}

static char *
read_password_file(const char *path, GError **error)
{
    g_autoptr(GError) local = NULL;
    char *contents = NULL;
    gsize len = 0;

    if (!g_file_get_contents(path, &contents, &len, &local)) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                    _("Cannot read the database password file: %s"), local->message);
        return NULL;
    }
    if (strlen(contents) != len) {
        explicit_bzero(contents, len);
        g_free(contents);
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                    _("The database password file “%s” contains a NUL byte."), path);
        return NULL;
    }
    while (len > 0 && (contents[len - 1] == '\n' || contents[len - 1] == '\r'))
        contents[--len] = '\0';
    return contents;
}

static char *
build_auth_string(const StoreSettings *settings, GError **error)
{
    g_autofree char *user = NULL;
    char *password = NULL;
    char *password_enc = NULL;
    char *auth;

    if (settings->username == NULL || settings->username[0] == '\0')
        return NULL;
    user = gda_rfc1738_encode(settings->username);
    if (settings->password_file == NULL || settings->password_file[0] == '\0')
        return g_strdup_printf("USERNAME=%s", user);

    password = read_password_file(settings->password_file, error);
    if (password == NULL)
        return NULL;
    password_enc = gda_rfc1738_encode(password);
    explicit_bzero(password, strlen(password));
    g_free(password);
    auth = g_strdup_printf("USERNAME=%s;PASSWORD=%s", user, password_enc);
    explicit_bzero(password_enc, strlen(password_enc));
    g_free(password_enc);
    return auth;
}

/* A provider is shared by every connection, and libgda keeps each
 * connection's data handlers in one unlocked table of the provider,
 * declared on first use: the PostgreSQL provider looks them up to render
 * every statement parameter. Worker connections running their first
 * statements at once would insert into that table together; declaring
 * every type Postroom binds or reads here, while the connection opens
 * under lifecycle_lock (all workers open before any job runs), leaves
 * only lookups for later. The heap corruption seen at start-up on
 * PostgreSQL in CI ("realloc(): invalid next size") fits this race. */
static void
declare_data_handlers(GdaConnection *cnc)
{
    const GType types[] = { G_TYPE_STRING,   G_TYPE_INT64,     G_TYPE_INT,         G_TYPE_BOOLEAN,
                            G_TYPE_DOUBLE,   G_TYPE_UINT,      G_TYPE_UINT64,      GDA_TYPE_NULL,
                            GDA_TYPE_BINARY, GDA_TYPE_BLOB,    GDA_TYPE_TIMESTAMP, G_TYPE_DATE,
                            GDA_TYPE_TIME,   GDA_TYPE_NUMERIC, GDA_TYPE_SHORT,     G_TYPE_FLOAT };
    GdaServerProvider *provider = gda_connection_get_provider(cnc);

    for (guint i = 0; i < G_N_ELEMENTS(types); i++)
        (void)gda_server_provider_get_data_handler_g_type(provider, cnc, types[i]);
}

StoreConn *
store_conn_open(const StoreSettings *settings, GError **error)
{
    g_autoptr(StoreConn) conn = NULL;
    g_autoptr(GError) local = NULL;
    char *auth = NULL;
    gboolean postgres;

    init_gda_once();

    if (g_ascii_strcasecmp(settings->provider, "SQLite") == 0) {
        postgres = FALSE;
    } else if (g_ascii_strcasecmp(settings->provider, "PostgreSQL") == 0) {
        postgres = TRUE;
    } else {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                    _("Unknown database provider “%s” (use SQLite or PostgreSQL)."),
                    settings->provider);
        return NULL;
    }

    if (postgres) {
        auth = build_auth_string(settings, &local);
        if (local != NULL) {
            g_propagate_error(error, g_steal_pointer(&local));
            return NULL;
        }
    }

    conn = g_new0(StoreConn, 1);
    conn->postgres = postgres;
    g_mutex_lock(&lifecycle_lock);
    conn->cnc = gda_connection_open_from_string(postgres ? "PostgreSQL" : "SQLite", settings->cnc,
                                                auth, GDA_CONNECTION_OPTIONS_NONE, &local);
    if (conn->cnc != NULL)
        declare_data_handlers(conn->cnc);
    g_mutex_unlock(&lifecycle_lock);
    if (auth != NULL) {
        explicit_bzero(auth, strlen(auth));
        g_free(auth);
    }
    if (conn->cnc == NULL) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                    _("Cannot open the %s database “%s”: %s"), settings->provider, settings->cnc,
                    local ? local->message : _("unknown error"));
        return NULL;
    }
    conn->parser = gda_connection_create_parser(conn->cnc);
    if (conn->parser == NULL)
        conn->parser = gda_sql_parser_new();

    if (!postgres) {
        /* synchronous=FULL: in WAL mode, NORMAL may lose the last commits on
         * power loss, and a commit is what acknowledges a message. */
        g_autofree char *pragmas = g_strdup_printf("PRAGMA journal_mode=WAL; "
                                                   "PRAGMA synchronous=FULL; "
                                                   "PRAGMA foreign_keys=ON; "
                                                   "PRAGMA busy_timeout=%d;",
                                                   SQLITE_BUSY_TIMEOUT_MS);

        if (!exec_script(conn, pragmas, error))
            return NULL;
    }
    return g_steal_pointer(&conn);
}

void
store_conn_free(StoreConn *conn)
{
    if (conn == NULL)
        return;
    g_mutex_lock(&lifecycle_lock);
    /* Close while the statements are still referenced here: closing drops
     * the connection's prepared statements, and a statement finalised
     * inside that loop modifies the table being iterated (libgda 5). */
    if (conn->cnc != NULL)
        gda_connection_close(conn->cnc);
    for (guint i = 0; i < Q_N_QUERIES; i++) {
        g_clear_object(&conn->stmts[i]);
        g_clear_object(&conn->params[i]);
    }
    g_clear_object(&conn->sync_full);
    g_clear_object(&conn->sync_relaxed);
    g_clear_object(&conn->parser);
    g_clear_object(&conn->cnc);
    g_mutex_unlock(&lifecycle_lock);
    g_free(conn);
}

/* Parsing happens once per statement and connection, so taking turns
 * costs nothing later. libgda does not promise that parsers of several
 * connections may run at once, and workers all prepare their first
 * statements together at start-up: one unexplained heap corruption at
 * start-up on PostgreSQL was seen in CI, and this is the shared step. */
static GMutex parse_lock;

static GdaStatement *
prepare(StoreConn *conn, StoreQuery query, GError **error)
{
    g_autoptr(GError) local = NULL;

    if (conn->stmts[query] != NULL)
        return conn->stmts[query];

    g_mutex_lock(&parse_lock);
    conn->stmts[query] =
        gda_sql_parser_parse_string(conn->parser, store_query_sql(query), NULL, &local);
    if (conn->stmts[query] != NULL &&
        !gda_statement_get_parameters(conn->stmts[query], &conn->params[query], &local))
        g_clear_object(&conn->stmts[query]);
    g_mutex_unlock(&parse_lock);
    if (conn->stmts[query] == NULL) {
        set_db_error(error, local);
        return NULL;
    }
    return conn->stmts[query];
}

static gboolean
bind_params(StoreConn *conn, StoreQuery query, va_list ap, GError **error)
{
    GdaSet *set = conn->params[query];
    guint n_set = 0;
    const char *name;

    while ((name = va_arg(ap, const char *)) != NULL) {
        g_autoptr(GError) local = NULL;
        GdaHolder *holder = set ? gda_set_get_holder(set, name) : NULL;
        GType type;
        GValue value = G_VALUE_INIT;
        gboolean is_null = FALSE;

        if (holder == NULL) {
            /* A programming error in store-ops.c, not a runtime condition. */
            g_critical("query %d has no parameter “%s”", query, name);
            g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                        "query %d has no parameter %s", query, name);
            return FALSE;
        }
        type = gda_holder_get_g_type(holder);
        g_value_init(&value, type);
        if (type == G_TYPE_STRING) {
            const char *s = va_arg(ap, const char *);

            /* libgda rewrites a statement for every NULL parameter and
             * leaks the copy (some KiB each time): a NULL for a ::null
             * parameter is sent as "", which the SQL turns back into NULL
             * with NULLIF (store-queries.c). */
            if (s == NULL && !gda_holder_get_not_null(holder))
                s = "";
            if (s == NULL)
                is_null = TRUE;
            else
                g_value_set_string(&value, s);
        } else if (type == G_TYPE_INT64) {
            g_value_set_int64(&value, va_arg(ap, gint64));
        } else if (type == G_TYPE_INT) {
            g_value_set_int(&value, va_arg(ap, int));
        } else if (type == G_TYPE_BOOLEAN) {
            g_value_set_boolean(&value, va_arg(ap, gboolean));
        } else {
            g_critical("query %d: unsupported parameter type %s", query, g_type_name(type));
            g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED,
                        "unsupported parameter type %s", g_type_name(type));
            g_value_unset(&value);
            return FALSE;
        }
        if (!gda_holder_set_value(holder, is_null ? NULL : &value, &local)) {
            g_value_unset(&value);
            set_db_error(error, local);
            return FALSE;
        }
        g_value_unset(&value);
        n_set++;
    }
    if (set != NULL && n_set != g_slist_length(set->holders)) {
        g_critical("query %d: %u of %u parameters given", query, n_set,
                   g_slist_length(set->holders));
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED, "query %d: parameters missing",
                    query);
        return FALSE;
    }
    return TRUE;
}

/* The statement that makes the connection's commits relaxed or durable
 * again. Not in the query table: it differs between the providers, like
 * the pragmas at store_conn_open(). SQLite keeps synchronous until it is
 * set again (and refuses to change it inside a transaction); PostgreSQL's
 * SET LOCAL lasts until the end of the transaction it is run in. */
static gboolean
run_sync_setting(StoreConn *conn, gboolean relaxed, GError **error)
{
    GdaStatement **stmt = relaxed ? &conn->sync_relaxed : &conn->sync_full;
    g_autoptr(GError) local = NULL;

    if (*stmt == NULL) {
        const char *sql = conn->postgres
                              ? (relaxed ? "SET LOCAL synchronous_commit TO OFF"
                                         : "SET LOCAL synchronous_commit TO ON")
                              : (relaxed ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL");

        g_mutex_lock(&parse_lock);
        *stmt = gda_sql_parser_parse_string(conn->parser, sql, NULL, &local);
        g_mutex_unlock(&parse_lock);
        if (*stmt == NULL) {
            set_db_error(error, local);
            return FALSE;
        }
    }
    GObject *result = gda_connection_statement_execute(
        conn->cnc, *stmt, NULL, GDA_STATEMENT_MODEL_RANDOM_ACCESS, NULL, &local);
    g_clear_object(&result);
    /* SQLite applies a pragma when preparing it, not when running it again:
     * "reset" makes libgda drop the prepared statement it keeps. (A new
     * statement each time instead leaks a few KiB in libgda per use.) */
    g_signal_emit_by_name(*stmt, "reset");
    if (local != NULL) {
        set_db_error(error, local);
        return FALSE;
    }
    return TRUE;
}

/* SQLite: synchronous=FULL again before anything durable. */
static gboolean
sync_durable(StoreConn *conn, GError **error)
{
    if (!conn->relaxed)
        return TRUE;
    if (!run_sync_setting(conn, FALSE, error))
        return FALSE;
    conn->relaxed = FALSE;
    return TRUE;
}

GdaDataModel *
store_conn_select(StoreConn *conn, StoreQuery query, GError **error, ...)
{
    g_autoptr(GError) local = NULL;
    GdaStatement *stmt;
    GdaDataModel *model;
    gboolean ok;
    va_list ap;

    stmt = prepare(conn, query, error);
    if (stmt == NULL)
        return NULL;
    va_start(ap, error);
    ok = bind_params(conn, query, ap, error);
    va_end(ap);
    if (!ok)
        return NULL;
    model = gda_connection_statement_execute_select(conn->cnc, stmt, conn->params[query], &local);
    if (model == NULL)
        set_db_error(error, local);
    return model;
}

gint
store_conn_exec(StoreConn *conn, StoreQuery query, GError **error, ...)
{
    g_autoptr(GError) local = NULL;
    GdaStatement *stmt;
    gboolean ok;
    gint rows;
    va_list ap;

    /* A write on its own is its own transaction, and durable. */
    if (!conn->in_transaction && !sync_durable(conn, error))
        return -1;
    stmt = prepare(conn, query, error);
    if (stmt == NULL)
        return -1;
    va_start(ap, error);
    ok = bind_params(conn, query, ap, error);
    va_end(ap);
    if (!ok)
        return -1;
    rows = gda_connection_statement_execute_non_select(conn->cnc, stmt, conn->params[query], NULL,
                                                       &local);
    if (local != NULL) {
        set_db_error(error, local);
        return -1;
    }
    return MAX(rows, 0);
}

static gboolean
model_value(GdaDataModel *model, int col, int row, GType type, GValue *out)
{
    const GValue *v = gda_data_model_get_value_at(model, col, row, NULL);

    if (v == NULL || G_VALUE_TYPE(v) == GDA_TYPE_NULL || G_VALUE_TYPE(v) == G_TYPE_INVALID)
        return FALSE;
    g_value_init(out, type);
    if (!g_value_transform(v, out)) {
        g_value_unset(out);
        return FALSE;
    }
    return TRUE;
}

gint64
store_model_int64(GdaDataModel *model, int col, int row)
{
    GValue v = G_VALUE_INIT;
    gint64 result;

    if (!model_value(model, col, row, G_TYPE_INT64, &v))
        return 0;
    result = g_value_get_int64(&v);
    g_value_unset(&v);
    return result;
}

gboolean
store_model_bool(GdaDataModel *model, int col, int row)
{
    const GValue *v = gda_data_model_get_value_at(model, col, row, NULL);

    if (v != NULL && G_VALUE_HOLDS_BOOLEAN(v))
        return g_value_get_boolean(v);
    return store_model_int64(model, col, row) != 0;
}

char *
store_model_string(GdaDataModel *model, int col, int row)
{
    const GValue *v = gda_data_model_get_value_at(model, col, row, NULL);

    if (v == NULL || !G_VALUE_HOLDS_STRING(v))
        return NULL;
    return g_value_dup_string(v);
}

static gboolean
begin(StoreConn *conn, GError **error)
{
    g_autoptr(GError) local = NULL;

    if (!gda_connection_begin_transaction(conn->cnc, NULL, GDA_TRANSACTION_ISOLATION_UNKNOWN,
                                          &local)) {
        set_db_error(error, local);
        return FALSE;
    }
    conn->in_transaction = TRUE;
    return TRUE;
}

gboolean
store_begin(StoreConn *conn, GError **error)
{
    return sync_durable(conn, error) && begin(conn, error);
}

gboolean
store_begin_relaxed(StoreConn *conn, GError **error)
{
    /* Once set, SQLite's setting stays for the following relaxed
     * transactions (a run of flag changes): no statement each time. */
    if (!conn->postgres && !conn->relaxed) {
        if (!run_sync_setting(conn, TRUE, error))
            return FALSE;
        conn->relaxed = TRUE;
    }
    if (!begin(conn, error))
        return FALSE;
    if (conn->postgres && !run_sync_setting(conn, TRUE, error)) {
        store_rollback(conn);
        return FALSE;
    }
    return TRUE;
}

gboolean
store_commit(StoreConn *conn, GError **error)
{
    g_autoptr(GError) local = NULL;

    if (!gda_connection_commit_transaction(conn->cnc, NULL, &local)) {
        set_db_error(error, local);
        store_rollback(conn);
        return FALSE;
    }
    conn->in_transaction = FALSE;
    return TRUE;
}

void
store_rollback(StoreConn *conn)
{
    g_autoptr(GError) local = NULL;

    conn->in_transaction = FALSE;
    if (!gda_connection_rollback_transaction(conn->cnc, NULL, &local))
        g_debug("rollback failed: %s", local ? local->message : "?");
}

gboolean
store_conn_commits_durable(StoreConn *conn, GError **error)
{
    const char *sql = conn->postgres ? "SHOW synchronous_commit" : "PRAGMA synchronous";
    g_autoptr(GError) local = NULL;
    g_autoptr(GdaDataModel) m = NULL;

    g_mutex_lock(&parse_lock);
    GdaStatement *stmt = gda_sql_parser_parse_string(conn->parser, sql, NULL, &local);
    g_mutex_unlock(&parse_lock);
    if (stmt != NULL) {
        m = gda_connection_statement_execute_select(conn->cnc, stmt, NULL, &local);
        g_object_unref(stmt);
    }
    if (m == NULL || gda_data_model_get_n_rows(m) != 1) {
        set_db_error(error, local);
        return FALSE;
    }
    if (conn->postgres) {
        g_autofree char *value = store_model_string(m, 0, 0);
        return g_strcmp0(value, "off") != 0;
    }
    /* 2 is FULL, 3 EXTRA. */
    return store_model_int64(m, 0, 0) >= 2;
}

static int
migration_version(const char *path)
{
    const char *base = strrchr(path, '/');

    return (int)g_ascii_strtoll(base ? base + 1 : path, NULL, 10);
}

static int
compare_migrations(gconstpointer a, gconstpointer b)
{
    const char *pa = *(const char *const *)a;
    const char *pb = *(const char *const *)b;
    int va = migration_version(pa);
    int vb = migration_version(pb);

    return va != vb ? (va < vb ? -1 : 1) : strcmp(pa, pb);
}

/* Embedded migrations of this build for the connection's provider, as
 * resource paths sorted by version. */
static GPtrArray *
list_migrations(StoreConn *conn, GError **error)
{
    g_autofree char *dir =
        g_strdup_printf(SQL_RESOURCE_ROOT "/%s/", conn->postgres ? "postgresql" : "sqlite");
    g_auto(GStrv) names = NULL;
    g_autoptr(GError) local = NULL;
    g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);

    names = g_resource_enumerate_children(postroom_sql_get_resource(), dir,
                                          G_RESOURCE_LOOKUP_FLAGS_NONE, &local);
    if (names == NULL) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_SCHEMA,
                    _("This build contains no database migrations: %s"), local->message);
        return NULL;
    }
    for (guint i = 0; names[i] != NULL; i++) {
        if (g_ascii_isdigit(names[i][0]) && g_str_has_suffix(names[i], ".sql"))
            g_ptr_array_add(paths, g_strconcat(dir, names[i], NULL));
    }
    g_ptr_array_sort(paths, compare_migrations);
    return g_steal_pointer(&paths);
}

/* Versions recorded in schema_version, ascending; NULL on error. */
static GArray *
applied_versions(StoreConn *conn, GError **error)
{
    g_autoptr(GdaDataModel) model = NULL;
    GArray *versions;
    int n;

    model = store_conn_select(conn, Q_SCHEMA_VERSIONS, error, NULL);
    if (model == NULL)
        return NULL;
    n = gda_data_model_get_n_rows(model);
    versions = g_array_sized_new(FALSE, FALSE, sizeof(int), MAX(n, 0));
    for (int row = 0; row < n; row++) {
        int v = (int)store_model_int64(model, 0, row);

        g_array_append_val(versions, v);
    }
    return versions;
}

int
store_schema_version(StoreConn *conn, GError **error)
{
    g_autoptr(GArray) versions = applied_versions(conn, error);

    if (versions == NULL)
        return -1;
    return versions->len == 0 ? 0 : g_array_index(versions, int, versions->len - 1);
}

static gboolean
apply_migration(StoreConn *conn, const char *path, int version, GError **error)
{
    g_autoptr(GBytes) bytes = NULL;
    g_autoptr(GError) local = NULL;
    g_autofree char *sql = NULL;
    gsize len = 0;
    const char *data;

    bytes = g_resource_lookup_data(postroom_sql_get_resource(), path, G_RESOURCE_LOOKUP_FLAGS_NONE,
                                   &local);
    if (bytes == NULL) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_SCHEMA,
                    _("Cannot read the embedded migration %s: %s"), path, local->message);
        return FALSE;
    }
    data = g_bytes_get_data(bytes, &len);
    sql = g_strndup(data, len);

    g_message("applying database migration %s", path);
    if (!store_begin(conn, error))
        return FALSE;
    if (!exec_script(conn, sql, &local) ||
        store_conn_exec(conn, Q_SCHEMA_VERSION_ADD, &local, "version", version, "now",
                        (gint64)(g_get_real_time() / G_USEC_PER_SEC), NULL) < 0) {
        store_rollback(conn);
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_SCHEMA,
                    _("The database migration %s failed: %s"), path, local->message);
        return FALSE;
    }
    return store_commit(conn, error);
}

gboolean
store_migrate(StoreConn *conn, GError **error)
{
    g_autoptr(GPtrArray) migrations = NULL;
    g_autoptr(GArray) applied = NULL;
    int newest_known;
    int current;

    migrations = list_migrations(conn, error);
    if (migrations == NULL)
        return FALSE;
    if (store_conn_exec(conn, Q_SCHEMA_BOOTSTRAP, error, NULL) < 0)
        return FALSE;
    applied = applied_versions(conn, error);
    if (applied == NULL)
        return FALSE;

    newest_known = migrations->len == 0
                       ? 0
                       : migration_version(g_ptr_array_index(migrations, migrations->len - 1));
    current = applied->len == 0 ? 0 : g_array_index(applied, int, applied->len - 1);
    if (current > newest_known) {
        g_set_error(error, PR_STORE_ERROR, PR_STORE_ERROR_SCHEMA,
                    _("The database schema is at version %d, but this version of Postroom only "
                      "knows versions up to %d. Install the newer Postroom release that upgraded "
                      "the database, or restore a backup of the database taken before the "
                      "upgrade."),
                    current, newest_known);
        return FALSE;
    }

    for (guint i = 0; i < migrations->len; i++) {
        const char *path = g_ptr_array_index(migrations, i);
        int version = migration_version(path);
        gboolean done = FALSE;

        for (guint j = 0; j < applied->len && !done; j++)
            done = g_array_index(applied, int, j) == version;
        if (!done && !apply_migration(conn, path, version, error))
            return FALSE;
    }
    return TRUE;
}
