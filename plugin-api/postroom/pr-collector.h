/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <postroom/pr-module.h>

G_BEGIN_DECLS

/**
 * SECTION:pr-collector
 * @title: Mail collectors
 *
 * Collectors fetch mail from remote mailboxes (an ISP's POP3 server) and
 * hand it to the router. The administrator manages them with
 * `postroomctl collector add|set|del|list|show|run|forget`; they live in
 * the store, so every instance sharing one database sees the same set, and
 * one instance at a time runs a given collector (a claim with a lease).
 *
 * The store also keeps, per collector, every remote UID seen (UIDL) with
 * the time it was first seen and its state. A downloaded message's UID is
 * recorded in the same transaction that delivers it (see
 * pr_envelope_set_collected()), so a crash at any moment can neither lose
 * a message (it is deleted at the ISP only after that commit) nor deliver
 * it twice (the UID is known before the next session starts).
 *
 * A message left on the server and its recipients asked (VPOP3's Query)
 * carries a token: pr_collector_query_uid_async() stores it with the UID,
 * pr_collector_find_query_async() finds the UID again from a reply, and
 * pr_collector_request_uid_async() has the next session fetch it.
 */

/**
 * PrCollector:
 * @id: the collector's number (VPOP3 numbers collectors; download rules
 *   test it)
 * @name: the name the administrator gave
 * @options: (element-type utf8 utf8): every setting, by the names
 *   `postroomctl collector set` uses (server, port, tls, verify_cert, auth,
 *   username, password, interval, times, leave_days, max_size, use_rules,
 *   routing, deliver_to, accepted_domains, envelope_header,
 *   implicit_mapping, route_error, route_error_to, ...). Values are
 *   strings as stored; modules read them with pr_collector_get_option().
 * @priority: lower runs first when several are due
 * @last_run: when a session last ended (unix time), 0 if never
 * @run_requested: when `postroomctl collector run` asked for a session
 *   (unix time), 0 if not asked
 * @reserved: not for modules
 *
 * One collector as stored. Allocated by the host, read-only for modules;
 * new fields are only ever added at the end. Free with
 * pr_collector_free().
 */
typedef struct {
    gint64 id;
    const char *name;
    GHashTable *options;
    int priority;
    gint64 last_run;
    gint64 run_requested;
    gpointer reserved[8];
} PrCollector;

/**
 * pr_collector_get_option:
 * @collector: a collector
 * @key: the option's name
 * @fallback: (nullable): returned when the option is not set
 *
 * Returns: (transfer none) (nullable): the option's value, or @fallback
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
const char *pr_collector_get_option(const PrCollector *collector, const char *key,
                                    const char *fallback);

/**
 * pr_collector_free:
 * @collector: (nullable): a collector from pr_collector_list_finish()
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_collector_free(PrCollector *collector);

/**
 * pr_collector_list_async:
 * @host: the host
 * @cancellable: (nullable): a cancellable
 * @callback: called on the main thread
 * @user_data: passed to @callback
 *
 * Reads every enabled collector, lowest priority number first. The module
 * decides from their schedules which are due.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_collector_list_async(PrHost *host, GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data);

/**
 * pr_collector_list_finish:
 * @host: the host
 * @result: the result
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type PrCollector): the collectors, or
 *   %NULL on error
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
GPtrArray *pr_collector_list_finish(PrHost *host, GAsyncResult *result, GError **error);

/**
 * pr_collector_begin_async:
 * @host: the host
 * @collector_id: the collector to run
 * @lease_seconds: how long the claim holds unless renewed by another call;
 *   a claim of an instance that died runs out after this
 * @cancellable: (nullable): a cancellable
 * @callback: called on the main thread
 * @user_data: passed to @callback
 *
 * Claims the collector for one session on this instance. Calling it again
 * while the session runs renews the lease.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_collector_begin_async(PrHost *host, gint64 collector_id, guint lease_seconds,
                              GCancellable *cancellable, GAsyncReadyCallback callback,
                              gpointer user_data);

/**
 * pr_collector_begin_finish:
 * @host: the host
 * @result: the result
 * @error: return location for a #GError
 *
 * Returns: %TRUE if this instance now holds the collector, %FALSE with no
 *   error if another instance does, %FALSE with @error on failure
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_collector_begin_finish(PrHost *host, GAsyncResult *result, GError **error);

/**
 * pr_collector_end_async:
 * @host: the host
 * @collector_id: a collector this instance holds
 * @result_text: (nullable): how the session ended, for `postroomctl
 *   collector list` ("12 messages", or the error); %NULL for success
 *   without a message
 * @cancellable: (nullable): a cancellable
 * @callback: (nullable): called on the main thread
 * @user_data: passed to @callback
 *
 * Ends a session: records the time and result, clears a pending "run now"
 * request made before the session began, and gives the claim back.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_collector_end_async(PrHost *host, gint64 collector_id, const char *result_text,
                            GCancellable *cancellable, GAsyncReadyCallback callback,
                            gpointer user_data);

/**
 * pr_collector_end_finish:
 * @host: the host
 * @result: the result
 * @error: return location for a #GError
 *
 * Returns: %TRUE on success
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_collector_end_finish(PrHost *host, GAsyncResult *result, GError **error);

/**
 * PrCollectorUidState:
 * @PR_COLLECTOR_UID_DOWNLOADED: delivered here (recorded by the delivery)
 * @PR_COLLECTOR_UID_LEFT: left on the server on purpose (a download rule's
 *   Ignore); not fetched again
 * @PR_COLLECTOR_UID_QUERIED: too big, or a Query rule: the recipient was
 *   asked whether to fetch it
 * @PR_COLLECTOR_UID_REQUESTED: the recipient asked for a queried message;
 *   the next session fetches it
 *
 * What the store knows of one remote UID. A UID the store does not know is
 * new.
 */
typedef enum {
    PR_COLLECTOR_UID_DOWNLOADED,
    PR_COLLECTOR_UID_LEFT,
    PR_COLLECTOR_UID_QUERIED,
    PR_COLLECTOR_UID_REQUESTED,
} PrCollectorUidState;

/**
 * PrCollectorUid:
 * @uid: the remote UID (UIDL)
 * @state: what was done with it
 * @first_seen: when a session first saw it (unix time); leave-on-server
 *   ages count from here
 * @reserved: not for modules
 *
 * One remote UID the store knows. New fields are only ever added at the
 * end.
 */
typedef struct {
    const char *uid;
    PrCollectorUidState state;
    gint64 first_seen;
    gpointer reserved[4];
} PrCollectorUid;

/**
 * pr_collector_uids_async:
 * @host: the host
 * @collector_id: the collector
 * @listed: (element-type utf8): every UID the server listed in this
 *   session
 * @cancellable: (nullable): a cancellable
 * @callback: called on the main thread
 * @user_data: passed to @callback
 *
 * Marks the @listed UIDs the store knows as seen now and returns what the
 * store knows of them. UIDs of this collector that the server no longer
 * lists are obsolete: they are forgotten once they have not been listed
 * for `[collector] obsolete_uid_days` days (0: at once), so that a server
 * that reuses UIDs does not hide new mail for long.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_collector_uids_async(PrHost *host, gint64 collector_id, GPtrArray *listed,
                             GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data);

/**
 * pr_collector_uids_finish:
 * @host: the host
 * @result: the result
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (element-type utf8 PrCollectorUid): the known
 *   UIDs among those listed, by UID; %NULL on error
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
GHashTable *pr_collector_uids_finish(PrHost *host, GAsyncResult *result, GError **error);

/**
 * pr_collector_set_uid_async:
 * @host: the host
 * @collector_id: the collector
 * @uid: a remote UID
 * @state: its new state; downloaded messages are recorded by their delivery
 *   instead (pr_envelope_set_collected())
 * @cancellable: (nullable): a cancellable
 * @callback: (nullable): called on the main thread once it is stored
 * @user_data: passed to @callback
 *
 * Records what was done with a UID that was not downloaded (left, queried,
 * requested). Keeps its first-seen time if it was known.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_collector_set_uid_async(PrHost *host, gint64 collector_id, const char *uid,
                                PrCollectorUidState state, GCancellable *cancellable,
                                GAsyncReadyCallback callback, gpointer user_data);

/**
 * pr_collector_set_uid_finish:
 * @host: the host
 * @result: the result
 * @error: return location for a #GError
 *
 * Returns: %TRUE once stored
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_collector_set_uid_finish(PrHost *host, GAsyncResult *result, GError **error);

/**
 * PrCollectorNotifyFunc:
 * @collector_id: the collector `postroomctl collector run` asked for
 * @user_data: what was passed to pr_collector_set_notify()
 *
 * Called on the main thread when the administrator asks for a session now.
 */
typedef void (*PrCollectorNotifyFunc)(gint64 collector_id, gpointer user_data);

/**
 * pr_collector_set_notify:
 * @host: the host
 * @self: the module
 * @func: (nullable): called when a collector is asked to run now; %NULL
 *   to stop
 * @user_data: passed to @func
 *
 * The host watches the store for "run now" requests (from `postroomctl`,
 * on any instance) and calls @func within a few seconds.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_collector_set_notify(PrHost *host, PrModule *self, PrCollectorNotifyFunc func,
                             gpointer user_data);

/**
 * pr_collector_query_uid_async:
 * @host: the host
 * @collector_id: the collector
 * @uid: the remote UID of a message held back (too big, or a Query rule)
 * @token: the token the notice gave its readers: random, unguessable
 *   (letters and digits), unique
 * @recipients: (array zero-terminated=1): the addresses asked; a reply is
 *   taken from these only
 * @cancellable: (nullable): a cancellable
 * @callback: (nullable): called on the main thread once it is stored
 * @user_data: passed to @callback
 *
 * Records @uid as %PR_COLLECTOR_UID_QUERIED together with @token, the
 * addresses asked and the time, replacing an earlier token of the UID.
 * Keeps its first-seen time if it was known.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_collector_query_uid_async(PrHost *host, gint64 collector_id, const char *uid,
                                  const char *token, const char *const *recipients,
                                  GCancellable *cancellable, GAsyncReadyCallback callback,
                                  gpointer user_data);

/**
 * pr_collector_query_uid_finish:
 * @host: the host
 * @result: the result
 * @error: return location for a #GError
 *
 * Returns: %TRUE once stored
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_collector_query_uid_finish(PrHost *host, GAsyncResult *result, GError **error);

/**
 * PrCollectorQuery:
 * @collector_id: the collector
 * @collector: its name
 * @uid: the remote UID
 * @state: the UID's state now (%PR_COLLECTOR_UID_DOWNLOADED once fetched)
 * @queried: when the recipients were asked (unix time)
 * @recipients: (array zero-terminated=1): the addresses asked
 * @reserved: not for modules
 *
 * The message a query token stands for. Free with
 * pr_collector_query_free(); new fields are only ever added at the end.
 */
typedef struct {
    gint64 collector_id;
    const char *collector;
    const char *uid;
    PrCollectorUidState state;
    gint64 queried;
    const char *const *recipients;
    gpointer reserved[4];
} PrCollectorQuery;

/**
 * pr_collector_query_free:
 * @query: (nullable): a query from pr_collector_find_query_finish()
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_collector_query_free(PrCollectorQuery *query);

/**
 * pr_collector_find_query_async:
 * @host: the host
 * @token: a token given to pr_collector_query_uid_async()
 * @cancellable: (nullable): a cancellable
 * @callback: called on the main thread
 * @user_data: passed to @callback
 *
 * Looks up the message a query token stands for.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_collector_find_query_async(PrHost *host, const char *token, GCancellable *cancellable,
                                   GAsyncReadyCallback callback, gpointer user_data);

/**
 * pr_collector_find_query_finish:
 * @host: the host
 * @result: the result
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the query; %NULL without @error
 *   when the token is unknown (never given, or its UID forgotten since),
 *   %NULL with @error on failure
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
PrCollectorQuery *pr_collector_find_query_finish(PrHost *host, GAsyncResult *result,
                                                 GError **error);

/**
 * pr_collector_request_uid_async:
 * @host: the host
 * @collector_id: the collector
 * @uid: a UID the collector left on the server (queried, left or
 *   requested)
 * @cancellable: (nullable): a cancellable
 * @callback: (nullable): called on the main thread
 * @user_data: passed to @callback
 *
 * Marks @uid %PR_COLLECTOR_UID_REQUESTED and asks for a session now (as
 * `postroomctl collector run` does; the #PrCollectorNotifyFunc hears of
 * it), in one transaction: the next session downloads the message
 * whatever the size limit and the download rules say. `postroomctl
 * collector fetch` does the same.
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
void pr_collector_request_uid_async(PrHost *host, gint64 collector_id, const char *uid,
                                    GCancellable *cancellable, GAsyncReadyCallback callback,
                                    gpointer user_data);

/**
 * pr_collector_request_uid_finish:
 * @host: the host
 * @result: the result
 * @error: return location for a #GError: %PR_STORE_ERROR_NOT_FOUND when
 *   the collector does not know the UID, %PR_STORE_ERROR_EXISTS when it
 *   was downloaded already
 *
 * Returns: %TRUE once stored
 *
 * Since: 1.0
 */
PR_AVAILABLE_IN_1_0
gboolean pr_collector_request_uid_finish(PrHost *host, GAsyncResult *result, GError **error);

G_END_DECLS
