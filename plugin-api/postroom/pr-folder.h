/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <postroom/pr-store.h>

G_BEGIN_DECLS

/**
 * SECTION:pr-folder
 * @title: Folders
 *
 * A user's folders as IMAP sees them: listing, creating, deleting,
 * renaming, subscribing, their status, and adding a message (APPEND).
 * Names are full paths with "/" between levels ("Projects/2026"); "INBOX"
 * (any case) is the inbox. Every function runs on a store worker and
 * reports on the main thread; every change is one transaction.
 */

/**
 * PR_FOLDER_SEPARATOR:
 *
 * The hierarchy delimiter of folder names.
 */
#define PR_FOLDER_SEPARATOR '/'

/**
 * PrFolderInfo:
 * @name: the full name
 * @special_use: (nullable): the RFC 6154 attribute ("\\Sent", "\\Drafts",
 *   "\\Trash", "\\Junk"), or %NULL
 * @subscribed: whether the user subscribed to it
 *
 * One folder in the answer of pr_folder_list_finish().
 */
typedef struct {
    char *name;
    char *special_use;
    gboolean subscribed;
    gpointer reserved[4];
} PrFolderInfo;

/**
 * pr_folder_info_free:
 * @info: (nullable): a folder's information
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_folder_info_free(PrFolderInfo *info);

/**
 * pr_folder_list_async:
 * @host: the host
 * @user: the account name
 * @callback: called on the main thread
 * @user_data: passed to @callback
 *
 * Lists all folders of @user, sorted by name.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_folder_list_async(PrHost *host, const char *user, GAsyncReadyCallback callback,
                          gpointer user_data);

/**
 * pr_folder_list_finish:
 * @host: the host
 * @result: the result
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type PrFolderInfo): the folders, with
 *   pr_folder_info_free() as the free function; %NULL on error
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
GPtrArray *pr_folder_list_finish(PrHost *host, GAsyncResult *result, GError **error);

/**
 * PrFolderOp:
 * @PR_FOLDER_CREATE: create @name (missing parents are created too)
 * @PR_FOLDER_DELETE: delete @name and its messages; its children stay
 * @PR_FOLDER_RENAME: rename @name and its children to @new_name; renaming
 *   INBOX moves its messages into a new folder and leaves INBOX empty
 *   (RFC 3501 §6.3.5)
 * @PR_FOLDER_SUBSCRIBE: subscribe to @name
 * @PR_FOLDER_UNSUBSCRIBE: unsubscribe from @name
 *
 * A change to a user's folders.
 */
typedef enum {
    PR_FOLDER_CREATE,
    PR_FOLDER_DELETE,
    PR_FOLDER_RENAME,
    PR_FOLDER_SUBSCRIBE,
    PR_FOLDER_UNSUBSCRIBE,
} PrFolderOp;

/**
 * pr_folder_change_async:
 * @host: the host
 * @user: the account name
 * @op: what to do
 * @name: the folder
 * @new_name: (nullable): the new name for %PR_FOLDER_RENAME, else %NULL
 * @callback: called on the main thread once committed
 * @user_data: passed to @callback
 *
 * Changes @user's folders. INBOX can be neither created nor deleted, nor
 * can a folder with a special use be deleted.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_folder_change_async(PrHost *host, const char *user, PrFolderOp op, const char *name,
                            const char *new_name, GAsyncReadyCallback callback, gpointer user_data);

/**
 * pr_folder_change_finish:
 * @host: the host
 * @result: the result
 * @error: return location for a #GError: %PR_STORE_ERROR_NOT_FOUND for no
 *   such folder, %PR_STORE_ERROR_EXISTS when the (new) name is taken,
 *   %PR_STORE_ERROR_FAILED with a message for the user for a change that
 *   is not allowed
 *
 * Returns: %TRUE once committed
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_folder_change_finish(PrHost *host, GAsyncResult *result, GError **error);

/**
 * PrFolderStatus:
 * @messages: messages in the folder
 * @recent: messages no read-write session has seen yet
 * @unseen: messages without the \\Seen flag
 * @uidnext: the UID the next message will get
 * @uidvalidity: the folder's UIDVALIDITY
 * @highest_modseq: the folder's highest modification sequence (RFC 7162)
 * @size: the octets of all its messages
 *
 * What RFC 3501 STATUS tells.
 */
typedef struct {
    guint32 messages;
    guint32 recent;
    guint32 unseen;
    guint32 uidnext;
    guint32 uidvalidity;
    guint64 highest_modseq;
    gint64 size;
    gpointer reserved[4];
} PrFolderStatus;

/**
 * pr_folder_status_async:
 * @host: the host
 * @user: the account name
 * @name: the folder
 * @callback: called on the main thread
 * @user_data: passed to @callback
 *
 * Reads a folder's counters without opening it.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_folder_status_async(PrHost *host, const char *user, const char *name,
                            GAsyncReadyCallback callback, gpointer user_data);

/**
 * pr_folder_status_finish:
 * @host: the host
 * @result: the result
 * @status: (out caller-allocates): the counters
 * @error: return location for a #GError (%PR_STORE_ERROR_NOT_FOUND)
 *
 * Returns: %TRUE on success
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_folder_status_finish(PrHost *host, GAsyncResult *result, PrFolderStatus *status,
                                 GError **error);

/**
 * pr_folder_append_async:
 * @host: the host
 * @user: the account name
 * @name: the folder
 * @message: the message, CRLF line ends
 * @flags: (nullable): space-separated flags and keywords to set ("\\Seen $Work")
 * @internal_date: its INTERNALDATE (unix seconds), 0 for now
 * @callback: called on the main thread once the message is durably stored
 * @user_data: passed to @callback
 *
 * Adds a message to a folder (IMAP APPEND): the spool file is written and
 * synced, then the rows are committed, and the user's usage counted. Like
 * delivery, APPEND is not refused for the quota; the module decides.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_folder_append_async(PrHost *host, const char *user, const char *name, GBytes *message,
                            const char *flags, gint64 internal_date, GAsyncReadyCallback callback,
                            gpointer user_data);

/**
 * pr_folder_append_finish:
 * @host: the host
 * @result: the result
 * @uidvalidity: (out) (optional): the folder's UIDVALIDITY
 * @uid: (out) (optional): the new message's UID (RFC 4315 APPENDUID)
 * @error: return location for a #GError (%PR_STORE_ERROR_NOT_FOUND for no
 *   such folder, %PR_STORE_ERROR_IO when the spool cannot be written)
 *
 * Returns: %TRUE once committed
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_folder_append_finish(PrHost *host, GAsyncResult *result, guint32 *uidvalidity,
                                 guint32 *uid, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PrFolderInfo, pr_folder_info_free)

G_END_DECLS
