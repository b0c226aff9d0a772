/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <postroom/pr-connection.h>
#include <postroom/pr-store.h>

G_BEGIN_DECLS

/**
 * SECTION:pr-mailbox
 * @title: Mailboxes
 *
 * A user's folder as a snapshot of its messages, opened with a lock that
 * holds across every postroomd instance sharing the database: POP3 takes it
 * exclusively (VPOP3's rule: while a POP3 session holds a mailbox, nothing
 * else may open it). Messages are read in chunks on a worker thread,
 * already in the wire form the caller asks for, so the main loop only
 * writes. Changes (deletions) are committed in one transaction.
 */

/**
 * PrMailbox:
 *
 * One opened folder. Opaque; close with pr_mailbox_close().
 */
typedef struct _PrMailbox PrMailbox;

/**
 * PrMailboxAccess:
 * @PR_MAILBOX_EXCLUSIVE: no other session may open the folder meanwhile (POP3)
 * @PR_MAILBOX_SHARED: other shared sessions may open it too, exclusive ones may not
 */
typedef enum {
    PR_MAILBOX_EXCLUSIVE,
    PR_MAILBOX_SHARED,
} PrMailboxAccess;

/**
 * pr_mailbox_open_async:
 * @host: the host
 * @user: the account name (as returned by pr_auth_verify_finish())
 * @folder: the folder name; "INBOX" for the inbox
 * @access: the lock to take
 * @holder: who holds it, for the administrator ("pop3 127.0.0.1")
 * @cancellable: (nullable): a cancellable
 * @callback: called on the main thread
 * @user_data: passed to @callback
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_mailbox_open_async(PrHost *host, const char *user, const char *folder,
                           PrMailboxAccess access, const char *holder, GCancellable *cancellable,
                           GAsyncReadyCallback callback, gpointer user_data);

/**
 * pr_mailbox_open_finish:
 * @host: the host
 * @result: the result
 * @error: return location for a #GError: %PR_STORE_ERROR_LOCKED when another
 *   session holds the folder, %PR_STORE_ERROR_NOT_FOUND for no such folder
 *
 * Returns: (transfer full) (nullable): the mailbox
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
PrMailbox *pr_mailbox_open_finish(PrHost *host, GAsyncResult *result, GError **error);

/**
 * pr_mailbox_get_count:
 * @mailbox: a mailbox
 *
 * Returns: the number of messages in the snapshot taken at open time
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
guint pr_mailbox_get_count(PrMailbox *mailbox);

/**
 * pr_mailbox_get_size:
 * @mailbox: a mailbox
 * @index: 0 to count - 1
 *
 * Returns: the message's exact size in octets, with CRLF line ends
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gint64 pr_mailbox_get_size(PrMailbox *mailbox, guint index);

/**
 * pr_mailbox_get_uid:
 * @mailbox: a mailbox
 * @index: 0 to count - 1
 *
 * Returns: the message's UID, unique in the folder and never reused
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
guint32 pr_mailbox_get_uid(PrMailbox *mailbox, guint index);

/**
 * pr_mailbox_get_uidl:
 * @mailbox: a mailbox
 * @index: 0 to count - 1
 *
 * Returns: (transfer none): a unique id (RFC 1939 UIDL) that stays the same for
 *   the life of the message in this folder
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
const char *pr_mailbox_get_uidl(PrMailbox *mailbox, guint index);

/**
 * PrMessageFormat:
 * @PR_MESSAGE_RAW: the octets as stored
 * @PR_MESSAGE_DOT_STUFFED: a multi-line response body (RFC 1939 §3, RFC 3977
 *   §3.1.1): lines starting with "." get another one, and ".\r\n" ends it
 */
typedef enum {
    PR_MESSAGE_RAW,
    PR_MESSAGE_DOT_STUFFED,
} PrMessageFormat;

/**
 * PrMessageReader:
 *
 * Reads one message in chunks. Opaque.
 */
typedef struct _PrMessageReader PrMessageReader;

/**
 * pr_mailbox_read_message:
 * @mailbox: a mailbox
 * @index: 0 to count - 1
 * @format: the form of the output
 * @body_lines: -1 for the whole message, else the header and at most this
 *   many lines of the body (POP3 TOP)
 *
 * Returns: (transfer full): a reader; free with pr_message_reader_free()
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
PrMessageReader *pr_mailbox_read_message(PrMailbox *mailbox, guint index, PrMessageFormat format,
                                         int body_lines);

/**
 * pr_message_reader_next_async:
 * @reader: a reader
 * @cancellable: (nullable): a cancellable
 * @callback: called on the main thread
 * @user_data: passed to @callback
 *
 * Reads the next chunk (at most 256 KiB) on a worker thread.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_message_reader_next_async(PrMessageReader *reader, GCancellable *cancellable,
                                  GAsyncReadyCallback callback, gpointer user_data);

/**
 * pr_message_reader_next_finish:
 * @reader: a reader
 * @result: the result
 * @last: (out): %TRUE when this chunk ends the message (a message of up to
 *   256 KiB comes in one chunk, terminator included)
 * @error: return location for a #GError (%PR_STORE_ERROR_IO)
 *
 * Returns: (transfer full) (nullable): the next chunk (possibly empty when
 *   @last), or %NULL on error
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
GBytes *pr_message_reader_next_finish(PrMessageReader *reader, GAsyncResult *result, gboolean *last,
                                      GError **error);

/**
 * pr_message_reader_try_next:
 * @reader: a reader
 * @last: (out) (optional): %TRUE when a chunk is returned and it ends the
 *   message
 *
 * Returns the next chunk at once if it is already in memory. A mailbox
 * reads whole messages asked for in order ahead, on a worker thread, so
 * during a download most messages after the first are: the caller then
 * answers without a trip to a thread and back. When this returns %NULL,
 * call pr_message_reader_next_async() (which waits for a read-ahead
 * already under way rather than reading twice).
 *
 * Returns: (transfer full) (nullable): the next chunk, or %NULL
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
GBytes *pr_message_reader_try_next(PrMessageReader *reader, gboolean *last);

/**
 * pr_message_reader_free:
 * @reader: (nullable): a reader
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_message_reader_free(PrMessageReader *reader);

/**
 * pr_mailbox_set_audit:
 * @mailbox: a mailbox
 * @component: the caller's msgaudit component code, VPOP3's: "P" for POP3,
 *   "I" for IMAP4, "W" for webmail
 * @actor: (nullable): the user making the changes; %NULL for the mailbox's
 *   owner
 * @ip: (nullable): the client's address
 *
 * Says who changes @mailbox. When the administrator has turned msgaudit on
 * (`[delivery] msgaudit`), each later deletion then writes one msgaudit row
 * per message, command "D" (also when the messages are held), in the
 * deletion's own transaction: the rows exist exactly when the change does.
 * A mailbox whose changes should not be audited never calls this.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_mailbox_set_audit(PrMailbox *mailbox, const char *component, const char *actor,
                          const char *ip);

/**
 * pr_mailbox_delete_async:
 * @mailbox: a mailbox
 * @indexes: the messages to remove, by index
 * @n_indexes: how many
 * @hold: keep them in the store, invisible to every client ("hold messages
 *   instead of deleting"), instead of deleting them
 * @cancellable: (nullable): a cancellable
 * @callback: called on the main thread once committed
 * @user_data: passed to @callback
 *
 * Removes messages in one transaction: all or none, even if the server dies.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_mailbox_delete_async(PrMailbox *mailbox, const guint *indexes, guint n_indexes,
                             gboolean hold, GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data);

/**
 * pr_mailbox_delete_finish:
 * @mailbox: a mailbox
 * @result: the result
 * @error: return location for a #GError
 *
 * Returns: %TRUE once committed
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_mailbox_delete_finish(PrMailbox *mailbox, GAsyncResult *result, GError **error);

/**
 * pr_mailbox_close:
 * @mailbox: (nullable) (transfer full): a mailbox
 *
 * Releases the lock (in the background) and frees @mailbox.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_mailbox_close(PrMailbox *mailbox);

/**
 * pr_mailbox_close_async:
 * @mailbox: (transfer full): a mailbox
 * @callback: (nullable): called on the main thread once the lock is released
 *   in the database (so a client that reconnects at once finds it free)
 * @user_data: passed to @callback
 *
 * Like pr_mailbox_close(), but tells when the release is committed: POP3
 * answers QUIT only then.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_mailbox_close_async(PrMailbox *mailbox, GAsyncReadyCallback callback, gpointer user_data);

/**
 * pr_mailbox_close_finish:
 * @result: the result
 * @error: return location for a #GError
 *
 * Returns: %TRUE if the lock was released (it expires by itself otherwise)
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_mailbox_close_finish(GAsyncResult *result, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PrMessageReader, pr_message_reader_free)

G_END_DECLS
