/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Private to server/store/: the enum-indexed SQL table and the helpers that
 * run one cached statement. The only header that includes libgda. */

#include <libgda/libgda.h>
#include "store.h"

/* libgda 5 has no autoptr support. */
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GdaDataModel, g_object_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(GdaBatch, g_object_unref)

typedef enum {
    Q_SCHEMA_BOOTSTRAP,
    Q_SCHEMA_VERSIONS,
    Q_SCHEMA_VERSION_ADD,

    Q_USER_ADD,
    Q_USER_ID,
    Q_USER_DELETE,
    Q_USER_SET_PASSWORD,
    Q_USER_SET_ENABLED,
    Q_USER_GET,
    Q_USER_LIST,
    Q_FOLDER_ADD,
    Q_FOLDER_LIST,

    Q_DOMAIN_ADD,
    Q_DOMAIN_DELETE,
    Q_DOMAIN_LIST,

    Q_MAPPING_ADD,
    Q_MAPPING_DELETE_ALL,
    Q_MAPPING_DELETE_ONE,
    Q_MAPPING_LIST,

    Q_LIST_ADD,
    Q_LIST_DELETE,
    Q_LIST_LIST,
    Q_LIST_ID,
    Q_LIST_MEMBER_ADD,
    Q_LIST_MEMBER_REMOVE,
    Q_LIST_MEMBERS,

    Q_AUDIT_ADD,
    Q_AUDIT_LIST_ALL,
    Q_AUDIT_LIST_IP,
    Q_AUDIT_PURGE,

    Q_LOCKOUT_LOCKED_UNTIL,
    Q_LOCKOUT_FAIL,
    Q_LOCKOUT_STATE,
    Q_LOCKOUT_CLEAR,

    Q_MODULE_GET,
    Q_MODULE_SET,
    Q_MODULE_DELETE,

    Q_N_QUERIES
} StoreQuery;

const char *store_query_sql(StoreQuery query);

/* Runs @query with its parameters given as (name, value) pairs ended by
 * NULL. The C type of each value follows the placeholder's type:
 * ::string -> const char * (NULL for ::null), ::gint64 -> gint64,
 * ::gint -> int, ::gboolean -> gboolean. Every placeholder must be given. */
GdaDataModel *store_conn_select(StoreConn *conn, StoreQuery query, GError **error,
                                ...) G_GNUC_NULL_TERMINATED;
/* Returns the number of rows changed, or -1 with @error set. */
gint store_conn_exec(StoreConn *conn, StoreQuery query, GError **error, ...) G_GNUC_NULL_TERMINATED;

/* Typed reads from a result; NULL becomes 0, FALSE or NULL. */
gint64 store_model_int64(GdaDataModel *model, int col, int row);
gboolean store_model_bool(GdaDataModel *model, int col, int row);
char *store_model_string(GdaDataModel *model, int col, int row);
