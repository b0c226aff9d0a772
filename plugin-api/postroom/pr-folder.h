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
 *
 * Shared folders (VPOP3 Enterprise): a user sees another user's folder
 * under #PR_FOLDER_SHARED_PREFIX, "#users/bob/Projects" for bob's
 * "Projects", as far as bob's access control list (RFC 4314) lets them.
 * Every function here and pr_mailbox_open_async() accept such names for
 * @user and check @user's rights in the host: a folder @user may not
 * look up (no "l" right, nor "r") is %PR_STORE_ERROR_NOT_FOUND, a missing
 * right otherwise %PR_STORE_ERROR_PERMISSION. What each operation needs:
 * open/status "r", append "i", create "k" on the parent folder, delete
 * "x", rename "x" on the old name and "k" on the new parent (within one
 * owner), subscribe "l". The owner has every right on their own folders.
 */

/**
 * PR_FOLDER_SHARED_PREFIX:
 *
 * The namespace (RFC 2342) of other users' folders: "#users/" OWNER "/"
 * FOLDER.
 */
#define PR_FOLDER_SHARED_PREFIX "#users/"

/**
 * PR_FOLDER_RIGHTS_ALL:
 *
 * Every RFC 4314 right, as the owner of a folder has them: l lookup,
 * r read, s keep \\Seen, w write other flags, i insert, p post, k create
 * children, x delete folder, t delete messages (\\Deleted), e expunge,
 * a administer (change the ACL).
 */
#define PR_FOLDER_RIGHTS_ALL "lrswipkxtea"

/**
 * PR_FOLDER_ACL_ANYONE:
 *
 * The identifier that grants rights to every user (RFC 4314 "anyone").
 */
#define PR_FOLDER_ACL_ANYONE "anyone"

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
 * @rights: the user's rights on it: #PR_FOLDER_RIGHTS_ALL for their own
 *   folders, what the ACL grants for another user's
 *
 * One folder in the answer of pr_folder_list_finish().
 */
typedef struct {
    char *name;
    char *special_use;
    gboolean subscribed;
    char *rights;
    gpointer reserved[3];
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
 * Lists all folders of @user, sorted by name, then the other users'
 * folders @user has the "l" right on, as "#users/OWNER/NAME" (sorted by
 * owner and name; their parents are not listed unless visible too).
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
 * synced, then the rows are committed, and the user's usage counted.
 * Unlike delivery, which a quota never refuses (VPOP3's rule), an APPEND
 * that would take the folder owner's mailbox over its quota fails and
 * stores nothing (pr_user_get_quota()).
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
 *   such folder, %PR_STORE_ERROR_IO when the spool cannot be written,
 *   %PR_STORE_ERROR_OVER_QUOTA over the quota: IMAP's "NO [OVERQUOTA]")
 *
 * Returns: %TRUE once committed
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_folder_append_finish(PrHost *host, GAsyncResult *result, guint32 *uidvalidity,
                                 guint32 *uid, GError **error);

/**
 * PrFolderAclEntry:
 * @identifier: a user name or #PR_FOLDER_ACL_ANYONE
 * @rights: the rights granted, letters of #PR_FOLDER_RIGHTS_ALL in that order
 *
 * One entry of a folder's access control list.
 */
typedef struct {
    char *identifier;
    char *rights;
    gpointer reserved[2];
} PrFolderAclEntry;

/**
 * pr_folder_acl_entry_free:
 * @entry: (nullable): an entry
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_folder_acl_entry_free(PrFolderAclEntry *entry);

/**
 * pr_folder_rights_async:
 * @host: the host
 * @user: the account name
 * @name: the folder, the user's own or "#users/OWNER/NAME"
 * @callback: called on the main thread
 * @user_data: passed to @callback
 *
 * Reads @user's rights on a folder (RFC 4314 MYRIGHTS): every right for
 * their own, else the union of the entries for @user and for "anyone".
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_folder_rights_async(PrHost *host, const char *user, const char *name,
                            GAsyncReadyCallback callback, gpointer user_data);

/**
 * pr_folder_rights_finish:
 * @host: the host
 * @result: the result
 * @error: return location for a #GError (%PR_STORE_ERROR_NOT_FOUND for no
 *   such folder or one @user may not look up)
 *
 * Returns: (transfer full): the rights, letters of #PR_FOLDER_RIGHTS_ALL in
 *   that order; %NULL on error
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
char *pr_folder_rights_finish(PrHost *host, GAsyncResult *result, GError **error);

/**
 * pr_folder_get_acl_async:
 * @host: the host
 * @user: the account name
 * @name: the folder, the user's own or "#users/OWNER/NAME"
 * @callback: called on the main thread
 * @user_data: passed to @callback
 *
 * Reads a folder's access control list (RFC 4314 GETACL), which needs the
 * "a" right. The owner comes first with every right.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_folder_get_acl_async(PrHost *host, const char *user, const char *name,
                             GAsyncReadyCallback callback, gpointer user_data);

/**
 * pr_folder_get_acl_finish:
 * @host: the host
 * @result: the result
 * @error: return location for a #GError (%PR_STORE_ERROR_NOT_FOUND,
 *   %PR_STORE_ERROR_PERMISSION)
 *
 * Returns: (transfer full) (element-type PrFolderAclEntry): the entries, with
 *   pr_folder_acl_entry_free() as the free function; %NULL on error
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
GPtrArray *pr_folder_get_acl_finish(PrHost *host, GAsyncResult *result, GError **error);

/**
 * pr_folder_set_acl_async:
 * @host: the host
 * @user: the account name
 * @name: the folder, the user's own or "#users/OWNER/NAME"
 * @identifier: a user name or #PR_FOLDER_ACL_ANYONE
 * @rights: (nullable): the rights to grant (RFC 4314 SETACL): letters of
 *   #PR_FOLDER_RIGHTS_ALL (also the obsolete "c" for "k" and "d" for "xte"),
 *   with a leading "+" to add to or "-" to take from the current ones;
 *   %NULL removes the entry (DELETEACL)
 * @callback: called on the main thread once committed
 * @user_data: passed to @callback
 *
 * Changes a folder's access control list, which needs the "a" right. The
 * owner's own rights cannot be changed; @identifier must be an existing
 * user or "anyone".
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_folder_set_acl_async(PrHost *host, const char *user, const char *name,
                             const char *identifier, const char *rights,
                             GAsyncReadyCallback callback, gpointer user_data);

/**
 * pr_folder_set_acl_finish:
 * @host: the host
 * @result: the result
 * @error: return location for a #GError (%PR_STORE_ERROR_NOT_FOUND,
 *   %PR_STORE_ERROR_PERMISSION, %PR_STORE_ERROR_FAILED with a message for
 *   the user for an unknown right or identifier)
 *
 * Returns: %TRUE once committed
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_folder_set_acl_finish(PrHost *host, GAsyncResult *result, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PrFolderInfo, pr_folder_info_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PrFolderAclEntry, pr_folder_acl_entry_free)

G_END_DECLS
