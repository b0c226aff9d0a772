/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <postroom/pr-module.h>

G_BEGIN_DECLS

/**
 * SECTION:pr-store
 * @title: Store
 *
 * Asynchronous access to the server's database (SQLite or PostgreSQL
 * through libgda). The work runs on the store's worker threads; callbacks
 * come back on the main thread. Modules never see SQL or libgda.
 */

/**
 * PR_STORE_ERROR:
 *
 * Error domain of the store; codes are #PrStoreError.
 */
#define PR_STORE_ERROR (pr_store_error_quark())

/**
 * PrStoreError:
 * @PR_STORE_ERROR_FAILED: the database reported an error
 * @PR_STORE_ERROR_NOT_FOUND: no such object
 * @PR_STORE_ERROR_EXISTS: the object exists already
 * @PR_STORE_ERROR_SCHEMA: the database schema is newer than this server or broken
 * @PR_STORE_ERROR_IO: a spool file could not be written or read
 * @PR_STORE_ERROR_LOCKED: another session holds the mailbox (POP3 IN-USE)
 * @PR_STORE_ERROR_PERMISSION: the user lacks the right (RFC 4314) to do
 *   this to another user's folder
 * @PR_STORE_ERROR_OVER_QUOTA: a user's own change (IMAP APPEND, COPY)
 *   would take the folder owner's mailbox over its quota; nothing was
 *   stored. Delivery is never refused for the quota.
 */
typedef enum {
    PR_STORE_ERROR_FAILED,
    PR_STORE_ERROR_NOT_FOUND,
    PR_STORE_ERROR_EXISTS,
    PR_STORE_ERROR_SCHEMA,
    PR_STORE_ERROR_IO,
    PR_STORE_ERROR_LOCKED,
    PR_STORE_ERROR_PERMISSION,
    PR_STORE_ERROR_OVER_QUOTA,
} PrStoreError;

/**
 * pr_store_error_quark:
 *
 * Returns: the error domain
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
GQuark pr_store_error_quark(void);

/**
 * PrUser:
 *
 * A snapshot of one user account. Opaque; free with pr_user_free().
 */
typedef struct _PrUser PrUser;

/**
 * pr_user_get_id:
 * @user: a user
 *
 * Returns: the account's numeric id
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gint64 pr_user_get_id(const PrUser *user);

/**
 * pr_user_get_name:
 * @user: a user
 *
 * Returns: (transfer none): the login name
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
const char *pr_user_get_name(const PrUser *user);

/**
 * pr_user_get_full_name:
 * @user: a user
 *
 * Returns: (transfer none): the display name ("" if none)
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
const char *pr_user_get_full_name(const PrUser *user);

/**
 * pr_user_is_enabled:
 * @user: a user
 *
 * Returns: %FALSE for a disabled account
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_user_is_enabled(const PrUser *user);

/**
 * pr_user_get_max_outgoing_size:
 * @user: a user
 *
 * VPOP3's per-user "Max Outgoing Message Size": the largest message, in
 * octets as received, that this user may send (`postroomctl user set
 * --max-outgoing-size`). A protocol that accepts mail from the user (SMTP)
 * refuses larger messages; the service's own limit applies as well.
 *
 * Returns: the limit in bytes, or 0 for none
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gint64 pr_user_get_max_outgoing_size(const PrUser *user);

/**
 * pr_user_get_quota:
 * @user: a user
 *
 * The mailbox quota (`postroomctl user set --quota`): the octets all the
 * user's folders may hold. Delivery goes on over it (VPOP3's rule); the
 * user's own APPEND and COPY fail with %PR_STORE_ERROR_OVER_QUOTA.
 *
 * Returns: the quota in bytes, or 0 for none
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gint64 pr_user_get_quota(const PrUser *user);

/**
 * pr_user_get_used_bytes:
 * @user: a user
 *
 * The octets the user's messages take in all their folders, as the quota
 * counts them, when the snapshot was taken.
 *
 * Returns: the usage in bytes
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gint64 pr_user_get_used_bytes(const PrUser *user);

/**
 * pr_user_free:
 * @user: (nullable): a user
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_user_free(PrUser *user);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PrUser, pr_user_free)

/**
 * pr_store_lookup_user_async:
 * @host: the host
 * @name: login name (case-insensitive)
 * @cancellable: (nullable): a cancellable
 * @callback: called on the main thread
 * @user_data: passed to @callback
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_store_lookup_user_async(PrHost *host, const char *name, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data);

/**
 * pr_store_lookup_user_finish:
 * @host: the host
 * @result: the result
 * @error: return location for a #GError; %PR_STORE_ERROR_NOT_FOUND for no such user
 *
 * Returns: (transfer full) (nullable): the user
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
PrUser *pr_store_lookup_user_finish(PrHost *host, GAsyncResult *result, GError **error);

/**
 * pr_store_module_get_async:
 * @host: the host
 * @self: the calling module; values are private to it
 * @key: a key
 * @cancellable: (nullable): a cancellable
 * @callback: called on the main thread
 * @user_data: passed to @callback
 *
 * Reads a value from the module's private key/value table, which lives in
 * the server's database (shared by every instance on PostgreSQL).
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_store_module_get_async(PrHost *host, PrModule *self, const char *key,
                               GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data);

/**
 * pr_store_module_get_finish:
 * @host: the host
 * @result: the result
 * @error: return location for a #GError; %PR_STORE_ERROR_NOT_FOUND for no such key
 *
 * Returns: (transfer full) (nullable): the value
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
char *pr_store_module_get_finish(PrHost *host, GAsyncResult *result, GError **error);

/**
 * pr_store_module_set_async:
 * @host: the host
 * @self: the calling module
 * @key: a key
 * @value: (nullable): the new value, or %NULL to delete the key
 * @cancellable: (nullable): a cancellable
 * @callback: called on the main thread once the value is committed
 * @user_data: passed to @callback
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_store_module_set_async(PrHost *host, PrModule *self, const char *key, const char *value,
                               GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data);

/**
 * pr_store_module_set_finish:
 * @host: the host
 * @result: the result
 * @error: return location for a #GError
 *
 * Returns: %TRUE once committed
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_store_module_set_finish(PrHost *host, GAsyncResult *result, GError **error);

G_END_DECLS
