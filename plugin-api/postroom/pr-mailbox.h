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
 * @PR_MAILBOX_SHARED: other shared sessions may open it too, exclusive ones
 *   may not (IMAP SELECT); the session takes the folder's \Recent messages
 * @PR_MAILBOX_SHARED_READ_ONLY: like %PR_MAILBOX_SHARED, but \Recent stays
 *   for others to take (IMAP EXAMINE)
 */
typedef enum {
    PR_MAILBOX_EXCLUSIVE,
    PR_MAILBOX_SHARED,
    PR_MAILBOX_SHARED_READ_ONLY,
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
 * pr_mailbox_get_rights:
 * @mailbox: a mailbox
 *
 * The rights (RFC 4314) of the user who opened it: #PR_FOLDER_RIGHTS_ALL
 * for their own folder, what the ACL grants for another user's
 * ("#users/OWNER/NAME"). The host enforces them: without "s", "w" or "t"
 * pr_mailbox_store_flags_async() leaves \\Seen, other flags or \\Deleted
 * alone; without "e" expunging (pr_mailbox_delete_async()) fails with
 * %PR_STORE_ERROR_PERMISSION; without "i" nothing can be copied in.
 *
 * Returns: the rights, letters of #PR_FOLDER_RIGHTS_ALL in that order
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
const char *pr_mailbox_get_rights(PrMailbox *mailbox);

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

/* ---- IMAP: flags, changes, sections ---- */

/**
 * pr_mailbox_get_uidvalidity:
 * @mailbox: a mailbox
 *
 * Returns: the folder's UIDVALIDITY
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
guint32 pr_mailbox_get_uidvalidity(PrMailbox *mailbox);

/**
 * pr_mailbox_get_uidnext:
 * @mailbox: a mailbox
 *
 * Returns: the UID the next message will get, as of the snapshot
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
guint32 pr_mailbox_get_uidnext(PrMailbox *mailbox);

/**
 * pr_mailbox_get_highest_modseq:
 * @mailbox: a mailbox
 *
 * Returns: the folder's highest modification sequence (RFC 7162), as of
 *   the snapshot
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
guint64 pr_mailbox_get_highest_modseq(PrMailbox *mailbox);

/**
 * pr_mailbox_get_flags:
 * @mailbox: a mailbox
 * @index: 0 to count - 1
 *
 * Returns: (transfer none): the message's flags and keywords, separated by
 *   single spaces ("\\Seen $Work"), "" for none; \\Recent is not among them
 *   (see pr_mailbox_is_recent())
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
const char *pr_mailbox_get_flags(PrMailbox *mailbox, guint index);

/**
 * pr_mailbox_get_modseq:
 * @mailbox: a mailbox
 * @index: 0 to count - 1
 *
 * Returns: the modification sequence of the message's last change
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
guint64 pr_mailbox_get_modseq(PrMailbox *mailbox, guint index);

/**
 * pr_mailbox_get_internal_date:
 * @mailbox: a mailbox
 * @index: 0 to count - 1
 *
 * Returns: the message's INTERNALDATE (unix seconds)
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gint64 pr_mailbox_get_internal_date(PrMailbox *mailbox, guint index);

/**
 * pr_mailbox_is_recent:
 * @mailbox: a mailbox
 * @index: 0 to count - 1
 *
 * A mailbox opened %PR_MAILBOX_SHARED takes the folder's recent messages
 * (those no earlier session saw) for itself when it is opened, and again
 * at each pr_mailbox_sync_async(): RFC 3501's \\Recent, which only one
 * session sees.
 *
 * Returns: whether the message is \\Recent in this session
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_mailbox_is_recent(PrMailbox *mailbox, guint index);

/**
 * PrFlagsChange:
 * @PR_FLAGS_REPLACE: the messages get exactly the given flags
 * @PR_FLAGS_ADD: the given flags are added
 * @PR_FLAGS_REMOVE: the given flags are removed
 */
typedef enum {
    PR_FLAGS_REPLACE,
    PR_FLAGS_ADD,
    PR_FLAGS_REMOVE,
} PrFlagsChange;

/**
 * pr_mailbox_store_flags_async:
 * @mailbox: a mailbox
 * @uids: the messages, by UID
 * @n_uids: how many
 * @change: how to apply @flags
 * @flags: space-separated flags and keywords ("" for none)
 * @unchanged_since: 0, or RFC 7162's UNCHANGEDSINCE: messages whose modseq
 *   is higher are left alone
 * @callback: called on the main thread once committed
 * @user_data: passed to @callback
 *
 * Changes flags in one transaction. Each message whose flags really change
 * gets a new modification sequence. Once committed, this mailbox's snapshot
 * holds the new flags and modification sequences of the messages changed,
 * so that the session sees its own change at once (IMAP STORE answers with
 * them, a FETCH after it must not show the old flags); other mailboxes see
 * the change at their next pr_mailbox_sync_async().
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_mailbox_store_flags_async(PrMailbox *mailbox, const guint32 *uids, guint n_uids,
                                  PrFlagsChange change, const char *flags, guint64 unchanged_since,
                                  GAsyncReadyCallback callback, gpointer user_data);

/**
 * pr_mailbox_store_flags_finish:
 * @mailbox: a mailbox
 * @result: the result
 * @failed: (out) (optional) (transfer full): the UIDs (guint32) that
 *   @unchanged_since kept from changing, or %NULL
 * @error: return location for a #GError
 *
 * Returns: %TRUE once committed
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_mailbox_store_flags_finish(PrMailbox *mailbox, GAsyncResult *result, GArray **failed,
                                       GError **error);

/**
 * pr_mailbox_copy_async:
 * @mailbox: a mailbox
 * @uids: the messages, by UID, in ascending order
 * @n_uids: how many
 * @target: the name of a folder of the same user
 * @move: remove them from @mailbox in the same transaction (RFC 6851)
 * @callback: called on the main thread once committed
 * @user_data: passed to @callback
 *
 * Copies messages with their flags and internal dates; the spool files are
 * shared, not copied. UIDs no longer in the folder are skipped. A copy
 * counts towards the owner's quota: one that would take the mailbox over
 * it is refused, nothing copied; a move within the owner's folders adds
 * nothing and is never refused for the quota.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_mailbox_copy_async(PrMailbox *mailbox, const guint32 *uids, guint n_uids,
                           const char *target, gboolean move, GAsyncReadyCallback callback,
                           gpointer user_data);

/**
 * pr_mailbox_copy_finish:
 * @mailbox: a mailbox
 * @result: the result
 * @uidvalidity: (out) (optional): the target's UIDVALIDITY
 * @source_uids: (out) (optional) (transfer full): the UIDs (guint32) copied
 * @target_uids: (out) (optional) (transfer full): their new UIDs (guint32)
 *   in the target, in the same order (RFC 4315 COPYUID)
 * @error: return location for a #GError (%PR_STORE_ERROR_NOT_FOUND: no
 *   such target, %PR_STORE_ERROR_OVER_QUOTA: over the quota, IMAP's
 *   "NO [OVERQUOTA]")
 *
 * Returns: %TRUE once committed
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_mailbox_copy_finish(PrMailbox *mailbox, GAsyncResult *result, guint32 *uidvalidity,
                                GArray **source_uids, GArray **target_uids, GError **error);

/**
 * PrMailboxChanges:
 * @expunged: indexes (guint) into the snapshot before the sync of the
 *   messages that are gone, in descending order: reporting them in this
 *   order keeps every later number valid (RFC 3501 §7.4.1)
 * @changed: indexes (guint) into the new snapshot of messages whose flags
 *   or modseq changed, ascending
 * @exists: the number of messages in the new snapshot
 * @new_recent: messages this sync made \\Recent for this session
 *
 * What pr_mailbox_sync_finish() found. Free with pr_mailbox_changes_free().
 */
typedef struct {
    GArray *expunged;
    GArray *changed;
    guint exists;
    guint new_recent;
    gpointer reserved[4];
} PrMailboxChanges;

/**
 * pr_mailbox_changes_free:
 * @changes: (nullable): changes
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_mailbox_changes_free(PrMailboxChanges *changes);

/**
 * pr_mailbox_sync_async:
 * @mailbox: a mailbox
 * @callback: called on the main thread
 * @user_data: passed to @callback
 *
 * Reads the folder again and replaces the snapshot: new messages are
 * appended, messages that are gone are removed, flags are brought up to
 * date. Indexes given earlier are invalid afterwards.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_mailbox_sync_async(PrMailbox *mailbox, GAsyncReadyCallback callback, gpointer user_data);

/**
 * pr_mailbox_sync_finish:
 * @mailbox: a mailbox
 * @result: the result
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): what changed, or %NULL on error
 *   (the snapshot is then unchanged)
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
PrMailboxChanges *pr_mailbox_sync_finish(PrMailbox *mailbox, GAsyncResult *result, GError **error);

/**
 * pr_mailbox_set_change_notify:
 * @mailbox: a mailbox
 * @notify: (nullable): called on the main thread when the folder may have
 *   changed; %NULL to stop
 * @user_data: passed to @notify
 *
 * Asks to be told of changes by others: deliveries and other sessions of
 * this instance at once, other instances sharing the database within a
 * few seconds. The caller then calls pr_mailbox_sync_async(). Costs
 * nothing while nothing changes (IMAP IDLE).
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_mailbox_set_change_notify(PrMailbox *mailbox, GSourceFunc notify, gpointer user_data);

/**
 * PrMessageSummary:
 * @envelope: RFC 3501 ENVELOPE, a parenthesised list
 * @bodystructure: BODYSTRUCTURE, a parenthesised list
 * @body: BODY (BODYSTRUCTURE without extension data)
 *
 * What FETCH needs from a message's MIME structure, made once per message
 * and kept in the store. Owned by the mailbox.
 */
typedef struct _PrMessageSummary PrMessageSummary;
struct _PrMessageSummary {
    const char *envelope;
    const char *bodystructure;
    const char *body;
    gpointer reserved[4];
};

/**
 * pr_mailbox_load_summaries_async:
 * @mailbox: a mailbox
 * @indexes: the messages
 * @n_indexes: how many
 * @callback: called on the main thread
 * @user_data: passed to @callback
 *
 * Makes the summaries of the messages available to
 * pr_mailbox_get_summary(): read from the store, where delivery put them,
 * or made (and stored) for messages that have none yet (added by APPEND
 * or stored before the table existed).
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_mailbox_load_summaries_async(PrMailbox *mailbox, const guint *indexes, guint n_indexes,
                                     GAsyncReadyCallback callback, gpointer user_data);

/**
 * pr_mailbox_load_summaries_finish:
 * @mailbox: a mailbox
 * @result: the result
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_mailbox_load_summaries_finish(PrMailbox *mailbox, GAsyncResult *result, GError **error);

/**
 * pr_mailbox_get_summary:
 * @mailbox: a mailbox
 * @index: 0 to count - 1
 *
 * Returns: (transfer none) (nullable): the summary loaded with
 *   pr_mailbox_load_summaries_async(), or %NULL if it was not
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
const PrMessageSummary *pr_mailbox_get_summary(PrMailbox *mailbox, guint index);

/**
 * PrSectionPart:
 * @PR_SECTION_ALL: the part's content (BODY[1.2]); of the whole message for ""
 * @PR_SECTION_HEADER: the header of the message or of the message/rfc822 part
 * @PR_SECTION_TEXT: the body of the message or of the message/rfc822 part
 * @PR_SECTION_MIME: the part's MIME header (not for "")
 *
 * Which bytes of a part an RFC 3501 section names.
 */
typedef enum {
    PR_SECTION_ALL,
    PR_SECTION_HEADER,
    PR_SECTION_TEXT,
    PR_SECTION_MIME,
} PrSectionPart;

/**
 * pr_mailbox_find_section:
 * @mailbox: a mailbox
 * @index: 0 to count - 1, with its summary loaded
 * @part: the part number ("1.2"), "" for the message itself
 * @which: which bytes of it
 * @offset: (out): where they start in the message (pr_mailbox_read_range())
 * @length: (out): how many octets
 *
 * Returns: %FALSE if the message has no such part (the section is then
 *   empty, RFC 3501 §6.4.5)
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_mailbox_find_section(PrMailbox *mailbox, guint index, const char *part,
                                 PrSectionPart which, gint64 *offset, gint64 *length);

/**
 * pr_mailbox_read_range:
 * @mailbox: a mailbox
 * @index: 0 to count - 1
 * @offset: the first octet, from the start of the message
 * @length: how many octets at most
 *
 * Like pr_mailbox_read_message() with %PR_MESSAGE_RAW, for a part of the
 * message only (IMAP's BODY[section]<partial>).
 *
 * Returns: (transfer full): a reader; free with pr_message_reader_free()
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
PrMessageReader *pr_mailbox_read_range(PrMailbox *mailbox, guint index, gint64 offset,
                                       gint64 length);

/**
 * PrMessageRange:
 * @index: the message, 0 to count - 1
 * @offset: the first octet, as for pr_mailbox_read_range()
 * @length: how many octets
 *
 * A part of a message to read ahead with pr_mailbox_read_ranges_async().
 */
typedef struct {
    guint index;
    gint64 offset;
    gint64 length;
} PrMessageRange;

/**
 * pr_mailbox_read_ranges_async:
 * @mailbox: a mailbox
 * @ranges: (array length=n_ranges): the parts a command is about to read
 * @n_ranges: how many
 * @callback: called on the main thread
 * @user_data: passed to @callback
 *
 * Reads small parts of several messages in one job on a thread (a FETCH of
 * many messages then costs one trip rather than one per message) and keeps
 * them until the next call or sync. A reader that pr_mailbox_read_range()
 * makes later for exactly one of these ranges is answered from memory by
 * pr_message_reader_try_next(). Large ranges, and ranges beyond a budget,
 * are left to their readers; so are ranges that cannot be read: the
 * reader's own read reports the error. Completes without error.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_mailbox_read_ranges_async(PrMailbox *mailbox, const PrMessageRange *ranges, guint n_ranges,
                                  GAsyncReadyCallback callback, gpointer user_data);

/**
 * pr_mailbox_read_ranges_finish:
 * @mailbox: a mailbox
 * @result: the result
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_mailbox_read_ranges_finish(PrMailbox *mailbox, GAsyncResult *result);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PrMessageReader, pr_message_reader_free)

G_END_DECLS
