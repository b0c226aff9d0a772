/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <postroom/pr-module.h>

G_BEGIN_DECLS

/**
 * SECTION:pr-delivery
 * @title: Delivery
 *
 * Handing a message to the host: every module that receives mail (SMTP,
 * the POP3 collector, third-party gateways) describes the envelope with a
 * #PrEnvelope, may ask the router about each recipient as it arrives
 * (SMTP's RCPT), then delivers. The host routes with VPOP3's rules
 * (mappings, lists, forwarding, *REMOTE, monitoring), writes the message
 * once to the spool, references it from every local mailbox and queues it
 * for remote recipients, all in one transaction: when
 * pr_delivery_deliver_finish() returns a report, the message is durably
 * stored and may be acknowledged.
 *
 * Routing uses a snapshot of the directory (users, lists, mappings,
 * domains) that the host reloads whenever the store's directory version
 * changes, so `postroomctl user add` takes effect at the next recipient.
 */

/**
 * PR_DELIVERY_ERROR:
 *
 * The error domain of pr_delivery_deliver_finish().
 */
#define PR_DELIVERY_ERROR (pr_delivery_error_quark())

/**
 * PrDeliveryError:
 * @PR_DELIVERY_ERROR_TOO_MANY_HOPS: more `Received:` lines than the hop
 *   limit allows (a loop); permanent
 * @PR_DELIVERY_ERROR_NO_SPACE: free disk space is below the reserve and the
 *   sender is local; temporary
 * @PR_DELIVERY_ERROR_TOO_BIG: larger than `[delivery] max_message_size`; permanent
 * @PR_DELIVERY_ERROR_TEMPORARY: the store failed; nothing was stored, try later
 *
 * Why a message could not be stored at all.
 */
typedef enum {
    PR_DELIVERY_ERROR_TOO_MANY_HOPS,
    PR_DELIVERY_ERROR_NO_SPACE,
    PR_DELIVERY_ERROR_TOO_BIG,
    PR_DELIVERY_ERROR_TEMPORARY,
} PrDeliveryError;

PR_AVAILABLE_IN_1_0
GQuark pr_delivery_error_quark(void);

/**
 * PrEnvelope:
 *
 * The envelope of one message: sender, recipients and where it came from.
 * Opaque; free with pr_envelope_free().
 */
typedef struct _PrEnvelope PrEnvelope;

/**
 * pr_envelope_new:
 * @sender: the envelope sender; "" for the null sender `<>`
 *
 * Returns: (transfer full): a new envelope without recipients, protocol
 *   "local", not from a local sender
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
PrEnvelope *pr_envelope_new(const char *sender);

/**
 * pr_envelope_free:
 * @envelope: (nullable): an envelope
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_envelope_free(PrEnvelope *envelope);

/**
 * pr_envelope_set_client:
 * @envelope: an envelope
 * @ip: (nullable): the client's address, for the `Received:` line
 * @helo: (nullable): the name the client gave (HELO/EHLO)
 * @protocol: "ESMTP", "ESMTPS", "ESMTPSA", "SMTP", "POP3" ... (RFC 3848), for
 *   the `Received:` line
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_envelope_set_client(PrEnvelope *envelope, const char *ip, const char *helo,
                            const char *protocol);

/**
 * pr_envelope_set_auth_user:
 * @envelope: an envelope
 * @user: (nullable): the authenticated local account, as returned by
 *   pr_auth_verify_finish()
 *
 * An authenticated sender is local: lists that take only local senders
 * accept it, assistants' rules apply and the outgoing monitor sees it.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_envelope_set_auth_user(PrEnvelope *envelope, const char *user);

/**
 * pr_envelope_set_sender_local:
 * @envelope: an envelope
 * @local: the message comes from a local user without authentication
 *   (a trusted "no auth" address sending as a local address)
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_envelope_set_sender_local(PrEnvelope *envelope, gboolean local);

/**
 * pr_envelope_set_dsn:
 * @envelope: an envelope
 * @ret: (nullable): RFC 3461 RET: "FULL" or "HDRS"
 * @envid: (nullable): RFC 3461 ENVID (xtext as received)
 *
 * Kept with queued copies so that a delivery status notification can honour
 * them.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_envelope_set_dsn(PrEnvelope *envelope, const char *ret, const char *envid);

/**
 * pr_envelope_set_collected:
 * @envelope: an envelope
 * @collector_id: the collector (#PrCollector) that downloaded the message
 * @uid: the message's UID on the remote server
 *
 * Marks a message as collected from a remote mailbox: the delivery records
 * @uid as downloaded for the collector in the same transaction that
 * stores the message, so it is fetched exactly once even if the host
 * dies right after the commit.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_envelope_set_collected(PrEnvelope *envelope, gint64 collector_id, const char *uid);

/**
 * pr_envelope_set_implicit_mapping:
 * @envelope: an envelope
 * @enabled: %FALSE so that `user@localdomain` reaches user only through a
 *   mapping or a list of that name
 *
 * Switches the router's implicit user match off for this message only (a
 * collector's `implicit_mapping no`); the server-wide
 * `[delivery] implicit_user_mapping` still applies to everything else.
 * Applies to pr_delivery_check_recipient_async() too. The default is
 * %TRUE.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_envelope_set_implicit_mapping(PrEnvelope *envelope, gboolean enabled);

/**
 * pr_envelope_add_recipient:
 * @envelope: an envelope
 * @address: the recipient as given (a bare name gets the default domain)
 * @notify: (nullable): RFC 3461 NOTIFY ("NEVER", or a comma-separated list
 *   of SUCCESS, FAILURE, DELAY)
 * @orcpt: (nullable): RFC 3461 ORCPT ("rfc822;addr", xtext as received)
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_envelope_add_recipient(PrEnvelope *envelope, const char *address, const char *notify,
                               const char *orcpt);

/**
 * pr_envelope_get_n_recipients:
 * @envelope: an envelope
 *
 * Returns: the number of recipients added
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
guint pr_envelope_get_n_recipients(const PrEnvelope *envelope);

/**
 * pr_envelope_clear_recipients:
 * @envelope: an envelope
 *
 * Removes every recipient (SMTP's RSET keeps nothing, a new MAIL starts
 * afresh).
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_envelope_clear_recipients(PrEnvelope *envelope);

/**
 * PrRecipientStatus:
 * @PR_RECIPIENT_LOCAL: an address in a local domain that reaches someone
 *   (mailboxes here, or forwarding)
 * @PR_RECIPIENT_REMOTE: an address outside the local domains, or one a
 *   `*REMOTE` mapping sends out: accepting it means relaying
 * @PR_RECIPIENT_UNKNOWN: a local domain, but nobody by that name (SMTP
 *   rejects it at RCPT; the collector raises "Non-existent user")
 * @PR_RECIPIENT_REFUSED: a list that takes mail only from local senders
 * @PR_RECIPIENT_LOOP: the message was already delivered to this address
 *   (a `Delivered-To:` line names it)
 * @PR_RECIPIENT_INVALID: not an address
 *
 * What the router says of one recipient.
 */
typedef enum {
    PR_RECIPIENT_LOCAL,
    PR_RECIPIENT_REMOTE,
    PR_RECIPIENT_UNKNOWN,
    PR_RECIPIENT_REFUSED,
    PR_RECIPIENT_LOOP,
    PR_RECIPIENT_INVALID,
} PrRecipientStatus;

/**
 * pr_delivery_check_recipient_async:
 * @host: the host
 * @envelope: the envelope so far (sender, client, authentication)
 * @address: the recipient to check
 * @cancellable: (nullable): a cancellable
 * @callback: called on the main thread
 * @user_data: passed to @callback
 *
 * Asks the router about one recipient against the current directory,
 * without storing anything.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_delivery_check_recipient_async(PrHost *host, const PrEnvelope *envelope,
                                       const char *address, GCancellable *cancellable,
                                       GAsyncReadyCallback callback, gpointer user_data);

/**
 * pr_delivery_check_recipient_finish:
 * @host: the host
 * @result: the result
 * @error: return location for a #GError (%PR_DELIVERY_ERROR_TEMPORARY when
 *   the directory could not be read)
 *
 * Returns: the status; %PR_RECIPIENT_INVALID with @error set on failure
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
PrRecipientStatus pr_delivery_check_recipient_finish(PrHost *host, GAsyncResult *result,
                                                     GError **error);

/**
 * PrDeliveryReport:
 *
 * What happened to each recipient of a delivered message. Opaque; free
 * with pr_delivery_report_free().
 */
typedef struct _PrDeliveryReport PrDeliveryReport;

/**
 * pr_delivery_deliver_async:
 * @host: the host
 * @envelope: the envelope; the host copies what it needs
 * @message: the message as received (RFC 5322, already un-dot-stuffed); any
 *   line ends, stored with CRLF
 * @cancellable: (nullable): a cancellable; cancelling does not undo a
 *   delivery already committed
 * @callback: called on the main thread once the message is durably stored
 *   (or could not be)
 * @user_data: passed to @callback
 *
 * Routes and stores the message. The host adds `Return-Path:`,
 * `Received:` and, per mailbox, `Delivered-To:`.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_delivery_deliver_async(PrHost *host, const PrEnvelope *envelope, GBytes *message,
                               GCancellable *cancellable, GAsyncReadyCallback callback,
                               gpointer user_data);

/**
 * pr_delivery_deliver_finish:
 * @host: the host
 * @result: the result
 * @error: return location for a #GError in the %PR_DELIVERY_ERROR domain
 *
 * Returns: (transfer full) (nullable): the report, or %NULL when nothing was
 *   stored. A report whose recipients were all refused stores nothing
 *   either; pr_delivery_report_get_stored() tells.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
PrDeliveryReport *pr_delivery_deliver_finish(PrHost *host, GAsyncResult *result, GError **error);

/**
 * pr_delivery_report_get_stored:
 * @report: a report
 *
 * Returns: %TRUE if the message went to at least one mailbox or queue entry
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_delivery_report_get_stored(const PrDeliveryReport *report);

/**
 * pr_delivery_report_get_status:
 * @report: a report
 * @index: a recipient, in the order they were added to the envelope
 *
 * Returns: what the router decided for that recipient
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
PrRecipientStatus pr_delivery_report_get_status(const PrDeliveryReport *report, guint index);

/**
 * pr_delivery_report_free:
 * @report: (nullable): a report
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_delivery_report_free(PrDeliveryReport *report);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PrEnvelope, pr_envelope_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PrDeliveryReport, pr_delivery_report_free)

G_END_DECLS
