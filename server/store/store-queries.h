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
    Q_USER_SET_QUOTA,
    Q_USER_SET_MAX_OUTGOING,
    Q_FOLDER_ADD,
    Q_FOLDER_LIST,

    Q_SECRET_SET,
    Q_SECRET_DROP,
    Q_SECRET_DROP_ALL,
    Q_SECRET_GET,
    Q_SECRET_NAMES,

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

    Q_DIRECTORY_VERSION,
    Q_DIRECTORY_BUMP,
    Q_DIR_USERS,
    Q_DIR_LISTS,
    Q_USER_SET_ROUTING,
    Q_LIST_SET_LOCAL_ONLY,

    Q_MESSAGE_ADD,
    Q_MESSAGE_ID_BY_PATH,
    Q_MESSAGES_NEWEST,
    Q_MESSAGE_REFS,
    Q_MESSAGE_DELETE,
    Q_FOLDER_OF_USER,
    Q_FOLDER_USER,
    Q_INBOX_TAKE_UIDS,
    Q_INBOX_DELIVERY_STATE,
    Q_FOLDER_MESSAGE_ADD,
    Q_USER_USAGE_ADD,
    Q_USER_USAGE_ADD_BY_NAME,
    Q_USER_QUOTA_STATE,
    Q_USER_QUOTA_ALERT_SET,
    Q_QUEUE_ADD,
    Q_MSGAUDIT_ADD,
    Q_MSGAUDIT_COUNT,

    Q_QUEUE_LIST,
    Q_QUEUE_GET,
    Q_QUEUE_CLAIM_MARK,
    Q_QUEUE_ANY_DUE,
    Q_QUEUE_CLAIMED,
    Q_QUEUE_CLAIM_LEASE,
    Q_QUEUE_FINISH,
    Q_QUEUE_DEFER,
    Q_QUEUE_DEFER_WARNED,
    Q_QUEUE_UNCLAIM,
    Q_QUEUE_MESSAGE_OF,
    Q_QUEUE_LOCK_MESSAGE,
    Q_QUEUE_HOLD,
    Q_QUEUE_RELEASE,
    Q_QUEUE_FLUSH,
    Q_QUEUE_DELETE_MARK,
    Q_QUEUE_MARKED_MESSAGES,
    Q_QUEUE_DELETE_MARKED,
    Q_QUEUE_SET_PRIORITY,
    Q_QUEUE_RELEASE_INSTANCE,
    Q_QUEUE_PURGE,
    Q_QUEUE_PURGE_ORPHANS,

    Q_COLLECTOR_ADD,
    Q_COLLECTOR_ID,
    Q_COLLECTOR_EXISTS,
    Q_COLLECTOR_TOUCH,
    Q_COLLECTOR_DELETE,
    Q_COLLECTOR_LIST,
    Q_COLLECTOR_GET,
    Q_COLLECTOR_SET_ENABLED,
    Q_COLLECTOR_SET_PRIORITY,
    Q_COLLECTOR_SET_PASSWORD,
    Q_COLLECTOR_OPTIONS_ALL,
    Q_COLLECTOR_OPTIONS,
    Q_COLLECTOR_OPTION_SET,
    Q_COLLECTOR_OPTION_UNSET,
    Q_COLLECTOR_REQUEST_RUN,
    Q_COLLECTOR_REQUESTED,
    Q_COLLECTOR_CLAIM,
    Q_COLLECTOR_END,
    Q_COLLECTOR_RELEASE_INSTANCE,
    Q_COLLECTOR_UID_COUNTS,
    Q_COLLECTOR_UID_STATES,
    Q_COLLECTOR_UIDS_PURGE,
    Q_COLLECTOR_UIDS_ALL,
    Q_COLLECTOR_UID_MISSING,
    Q_COLLECTOR_UID_LISTED,
    Q_COLLECTOR_UID_DELETE,
    Q_COLLECTOR_UID_SET,
    Q_COLLECTOR_FORGET,
    Q_COLLECTOR_UID_QUERY,
    Q_COLLECTOR_QUERY_FIND,
    Q_COLLECTOR_UID_STATE,
    Q_COLLECTOR_UID_REQUEST,

    Q_FOLDER_LOCK_SERIAL,
    Q_FOLDER_LOCK_SERIAL_BY_NAME,
    Q_LOCK_PURGE_EXPIRED,
    Q_LOCK_HOLDERS,
    Q_LOCK_ADD,
    Q_LOCK_REFRESH,
    Q_LOCK_RELEASE,
    Q_LOCK_RELEASE_INSTANCE,
    Q_MAILBOX_LIST,
    Q_MAILBOX_ENTRY,
    Q_MAILBOX_DELETE,
    Q_MAILBOX_HOLD,
    Q_MAILBOX_SUMMARY,
    Q_MAILBOX_LOCKS,
    Q_MAILBOX_LOCK_REMOVE,
    Q_MAILBOX_HELD,

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
