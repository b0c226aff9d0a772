/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <postroom/pr-module.h>
#include <postroom/pr-store.h>

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
 * @PR_DELIVERY_ERROR_ADDRESS_TAKEN: pr_delivery_claim_address(): another
 *   module owns the local part, or it is not a valid local part
 *
 * Why a message could not be stored at all (or an address not claimed).
 */
typedef enum {
    PR_DELIVERY_ERROR_TOO_MANY_HOPS,
    PR_DELIVERY_ERROR_NO_SPACE,
    PR_DELIVERY_ERROR_TOO_BIG,
    PR_DELIVERY_ERROR_TEMPORARY,
    PR_DELIVERY_ERROR_ADDRESS_TAKEN,
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
 * pr_delivery_expand_async:
 * @host: the host
 * @address: the address or name to expand
 * @cancellable: (nullable): a cancellable
 * @callback: called on the main thread
 * @user_data: passed to @callback
 *
 * SMTP's EXPN (RFC 5321 §3.5): who @address stands for in the current
 * directory. Mappings, the implicit user match, the built-in `everyone`
 * and lists (nested ones flattened, each member once) are followed;
 * forwarding and assistants are not, since they are a user's own
 * arrangements, not membership. Lists that take mail only from local
 * senders are expanded too: deciding who may ask is the caller's job.
 * Nothing is stored.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_delivery_expand_async(PrHost *host, const char *address, GCancellable *cancellable,
                              GAsyncReadyCallback callback, gpointer user_data);

/**
 * pr_delivery_expand_finish:
 * @host: the host
 * @result: the result
 * @addresses: (out) (optional) (array zero-terminated=1) (transfer full):
 *   on %PR_RECIPIENT_LOCAL, the members' addresses: `user@default-domain`
 *   for a mailbox, the address itself for an outside member
 * @names: (out) (optional) (array zero-terminated=1) (transfer full): on
 *   %PR_RECIPIENT_LOCAL, the members' full names, parallel to @addresses;
 *   "" where none is known
 * @error: return location for a #GError (%PR_DELIVERY_ERROR_TEMPORARY when
 *   the directory could not be read)
 *
 * Returns: %PR_RECIPIENT_LOCAL for a user or list here (a list without
 *   members gives empty arrays), %PR_RECIPIENT_REMOTE for an address
 *   outside the local domains, %PR_RECIPIENT_UNKNOWN for nobody,
 *   %PR_RECIPIENT_INVALID for something that is not an address or on
 *   failure (with @error set); the arrays are %NULL except for
 *   %PR_RECIPIENT_LOCAL
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
PrRecipientStatus pr_delivery_expand_finish(PrHost *host, GAsyncResult *result, char ***addresses,
                                            char ***names, GError **error);

/**
 * pr_delivery_lookup_sender_async:
 * @host: the host
 * @envelope: the envelope, with its sender and authenticated user set
 * @cancellable: (nullable): a cancellable
 * @callback: called on the main thread
 * @user_data: passed to @callback
 *
 * Finds the local user who sends a message, for per-user sending limits
 * such as pr_user_get_max_outgoing_size(): the authenticated user
 * (pr_envelope_set_auth_user()) if there is one, otherwise the user the
 * envelope sender names (VPOP3's "sender guessed from the address"): an
 * address in a local domain that reaches exactly one mailbox and nothing
 * else through the mappings, the implicit user match or lists. Catch-all
 * mappings, forwarding and assistants are not followed. The guess trusts
 * the client's MAIL FROM, so use it only for limits, never to grant
 * anything.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_delivery_lookup_sender_async(PrHost *host, const PrEnvelope *envelope,
                                     GCancellable *cancellable, GAsyncReadyCallback callback,
                                     gpointer user_data);

/**
 * pr_delivery_lookup_sender_finish:
 * @host: the host
 * @result: the result
 * @error: return location for a #GError (%PR_DELIVERY_ERROR_TEMPORARY when
 *   the store could not be read)
 *
 * Returns: (transfer full) (nullable): the sending user, read from the
 *   store now; %NULL without @error when the sender is not a local user
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
PrUser *pr_delivery_lookup_sender_finish(PrHost *host, GAsyncResult *result, GError **error);

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
 * pr_delivery_report_get_mailboxes:
 * @report: a report
 * @index: a recipient, in the order they were added to the envelope
 * @n_remote: (out) (optional): how many remote addresses the recipient's
 *   message was queued for: the recipient itself when it is remote, or
 *   where forwarding and lists sent it
 *
 * Where one recipient's message went, for RFC 3461 success reports: one
 * mailbox and nothing else is "delivered", several destinations
 * "expanded". An address a module owns (pr_delivery_claim_address())
 * counts as one mailbox.
 *
 * Returns: how many local mailboxes got the message for that recipient
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
guint pr_delivery_report_get_mailboxes(const PrDeliveryReport *report, guint index,
                                       guint *n_remote);

/**
 * pr_delivery_report_free:
 * @report: (nullable): a report
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_delivery_report_free(PrDeliveryReport *report);

/**
 * PrOwnedMail:
 * @sender: the envelope sender; "" for the null sender `<>`
 * @recipient: the recipient as the router normalised it
 *   (`local-part+detail@domain`, domain in lower case)
 * @local_part: the local part the module claimed, in lower case
 * @detail: (nullable): what followed `+` in the recipient's local part
 *   (`postroom-collector+abc` gives "abc"), %NULL without one
 * @auth_user: (nullable): the authenticated local account that sent it
 *   (SMTP AUTH), %NULL if none
 * @client_ip: (nullable): the client's address, %NULL for local injection
 * @message: the message with CRLF line ends, without the `Received:` line
 *   a mailbox copy would get
 * @reserved: not for modules
 *
 * One message for an address a module owns (pr_delivery_claim_address()).
 * Valid only during the call of the #PrOwnedAddressFunc; new fields are
 * only ever added at the end.
 */
typedef struct {
    const char *sender;
    const char *recipient;
    const char *local_part;
    const char *detail;
    const char *auth_user;
    const char *client_ip;
    GBytes *message;
    gpointer reserved[8];
} PrOwnedMail;

/**
 * PrOwnedAddressFunc:
 * @host: the host
 * @mail: the message and its envelope
 * @user_data: what was passed to pr_delivery_claim_address()
 *
 * Called on the main thread, once per owned recipient of a message, just
 * before the delivery that carried it completes (SMTP answers 250 after
 * it). The host keeps no copy: take a reference to @mail->message if it
 * is needed later. What the module does with it (store it, answer it,
 * drop it) is its own affair; the sender was told the message was
 * delivered.
 */
typedef void (*PrOwnedAddressFunc)(PrHost *host, const PrOwnedMail *mail, gpointer user_data);

/**
 * pr_delivery_claim_address:
 * @host: the host
 * @self: the module
 * @local_part: the local part to own: letters, digits and `.-_=`, no `+`
 *   (compared without regard to case)
 * @func: called with each message for the address
 * @user_data: passed to @func
 * @error: return location for a #GError (%PR_DELIVERY_ERROR_ADDRESS_TAKEN)
 *
 * Makes the module the owner of @local_part at every local domain (the
 * default domain, `[delivery] local_domains` and `postroomctl domain add`),
 * with any subaddress (`local_part+detail`): mail the router would resolve
 * to such an address goes to @func instead of a mailbox, SMTP's RCPT
 * accepts it as local, and pr_delivery_check_recipient_async() says
 * %PR_RECIPIENT_LOCAL. The claim comes before users, lists and mappings of
 * the same name, so pick a name nobody uses (a module's own prefix).
 * The claim ends with pr_delivery_release_address() or when the module
 * unloads.
 *
 * Only mail that passes through the daemon reaches @func: `postroomctl
 * deliver` writes to the store itself and refuses such addresses as
 * unknown.
 *
 * Returns: %TRUE if the module now owns @local_part (claiming it again
 *   replaces @func and @user_data); %FALSE with @error if another module
 *   owns it, the name is not valid, or no store is configured
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_delivery_claim_address(PrHost *host, PrModule *self, const char *local_part,
                                   PrOwnedAddressFunc func, gpointer user_data, GError **error);

/**
 * pr_delivery_release_address:
 * @host: the host
 * @self: the module that claimed it
 * @local_part: a local part the module owns
 *
 * Gives the address back: from now on the router resolves it like any
 * other. A message already routed to the module is still handed to its
 * function only if it claims the address again before the delivery
 * completes; otherwise it is dropped with a warning in the log.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_delivery_release_address(PrHost *host, PrModule *self, const char *local_part);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(PrEnvelope, pr_envelope_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PrDeliveryReport, pr_delivery_report_free)

G_END_DECLS
