/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Mail collectors in the store: the collectors with their options and
 * ISP password, the claim that lets one instance at a time run one, and
 * the remote UIDs each has seen. Synchronous, on one connection: the
 * daemon runs these on store workers (for the collector module, through
 * pr-collector.h), postroomctl calls them directly. Collector names are
 * stored as given; postroomctl lower-cases them. */

#include "store.h"

typedef struct {
    gint64 id;
    char *name;
    gboolean enabled;
    int priority;
    char *password; /* decoded, "" when none */
    gint64 created;
    char *claimed_by; /* instance, "" when not claimed */
    gint64 claim_expires;
    gint64 session_started; /* of the session holding the claim */
    gint64 last_run;        /* 0 = never */
    char *last_result;
    gint64 run_requested; /* 0 = not asked */
    GHashTable *options;  /* name -> value, both char* */
} StoreCollector;

void store_collector_free(StoreCollector *collector);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StoreCollector, store_collector_free)

/* Collectors by priority, then number; only enabled ones unless @all. */
GPtrArray *store_collector_list(StoreConn *c, gboolean all, GError **error);
/* PR_STORE_ERROR_NOT_FOUND when there is no such collector. */
StoreCollector *store_collector_get(StoreConn *c, const char *name, GError **error);

/* Creates a collector with @options (name -> value; may be NULL) in one
 * transaction. Returns its number, or 0 (PR_STORE_ERROR_EXISTS when the
 * name is taken). */
gint64 store_collector_add(StoreConn *c, const char *name, gboolean enabled, int priority,
                           const char *password, GHashTable *options, GError **error);

/* What store_collector_update() changes. */
typedef struct {
    int enabled; /* -1: unchanged */
    gboolean set_priority;
    int priority;
    const char *password; /* NULL: unchanged; "" removes it */
    GHashTable *options;  /* name -> value to set, "" removes it; may be NULL */
} StoreCollectorChange;

/* One transaction; PR_STORE_ERROR_NOT_FOUND when there is no such
 * collector. */
gboolean store_collector_update(StoreConn *c, const char *name, const StoreCollectorChange *change,
                                GError **error);
/* Deletes the collector with its options and UIDs. */
gboolean store_collector_delete(StoreConn *c, const char *name, GError **error);
/* Asks the running daemon for a session now (it polls every 2 s). */
gboolean store_collector_request_run(StoreConn *c, const char *name, gint64 now, GError **error);
/* Drops the collector's UIDs; returns how many, or -1. */
gint64 store_collector_forget(StoreConn *c, const char *name, GError **error);

/* UIDs known per collector number (gint64* -> gint64*, "id -> count"). */
GHashTable *store_collector_uid_counts(StoreConn *c, GError **error);
/* How many UIDs of @id are in each state, by StoreCollectorUidState. */
gboolean store_collector_uid_states(StoreConn *c, gint64 id, gint64 counts[4], GError **error);

/* Requested runs: pairs of (id, run_requested) of enabled collectors, as
 * a flat array of gint64. */
GArray *store_collector_requested(StoreConn *c, GError **error);

/* Claims collector @id for @instance until @lease_until, or renews this
 * instance's claim. *held says whether it now holds it (FALSE: another
 * instance does, or the collector is disabled). PR_STORE_ERROR_NOT_FOUND
 * when there is no such collector. */
gboolean store_collector_begin(StoreConn *c, gint64 id, const char *instance, gint64 now,
                               gint64 lease_until, gboolean *held, GError **error);
/* Ends the session of @instance: records @now and @result, clears a "run
 * now" request made before the session began, gives the claim back.
 * PR_STORE_ERROR_NOT_FOUND when @instance does not hold it (any more). */
gboolean store_collector_end(StoreConn *c, gint64 id, const char *instance, gint64 now,
                             const char *result, GError **error);

/* Gives back every claim @instance holds (its sessions are gone: it
 * crashed, or stops). Returns how many, or -1. */
gint64 store_collector_release_instance(StoreConn *c, const char *instance, GError **error);

/* Same order as PrCollectorUidState. */
typedef enum {
    STORE_COLLECTOR_UID_DOWNLOADED,
    STORE_COLLECTOR_UID_LEFT,
    STORE_COLLECTOR_UID_QUERIED,
    STORE_COLLECTOR_UID_REQUESTED,
} StoreCollectorUidState;

/* "downloaded", "left", "queried", "requested" */
const char *store_collector_uid_state_name(StoreCollectorUidState state);

typedef struct {
    char *uid;
    StoreCollectorUidState state;
    gint64 first_seen;
} StoreCollectorUid;

void store_collector_uid_free(StoreCollectorUid *uid);

/* A session's UIDL listing: @listed (a set of UIDs, char* keys) is what
 * the server lists now. Known UIDs it lists are present again; known UIDs
 * it does not list are obsolete from @now and forgotten once obsolete for
 * @obsolete_days days (0: at once). Returns the known UIDs among @listed
 * (StoreCollectorUid*), or NULL. */
GPtrArray *store_collector_uids(StoreConn *c, gint64 id, GHashTable *listed, gint64 now,
                                int obsolete_days, GError **error);

/* Records @uid in @state, keeping its first-seen time if it was known.
 * PR_STORE_ERROR_NOT_FOUND when there is no such collector. */
gboolean store_collector_set_uid(StoreConn *c, gint64 id, const char *uid,
                                 StoreCollectorUidState state, gint64 now, GError **error);
/* The same inside the caller's transaction, for a delivery's commit: a
 * collector that is gone records nothing and is no error. */
gboolean store_collector_uid_downloaded(StoreConn *c, gint64 id, const char *uid, gint64 now,
                                        GError **error);

/* The Query flow. Records @uid as queried with the random @token its
 * notice carries and the addresses asked (@rcpts, comma-separated).
 * PR_STORE_ERROR_NOT_FOUND when there is no such collector. */
gboolean store_collector_query_uid(StoreConn *c, gint64 id, const char *uid, const char *token,
                                   const char *rcpts, gint64 now, GError **error);

typedef struct {
    gint64 collector_id;
    char *collector; /* its name */
    char *uid;
    StoreCollectorUidState state;
    gint64 queried_at;
    char *rcpts; /* comma-separated */
} StoreCollectorQuery;

void store_collector_query_free(StoreCollectorQuery *query);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(StoreCollectorQuery, store_collector_query_free)

/* The UID a query token stands for; NULL without @error set when the token
 * is unknown (never given, or its UID forgotten). */
StoreCollectorQuery *store_collector_find_query(StoreConn *c, const char *token, GError **error);

/* Marks @uid of collector @id requested (fetched at the next session
 * whatever the size limit and the rules say) and asks for a session now,
 * in one transaction. PR_STORE_ERROR_NOT_FOUND when the collector does
 * not know the UID, PR_STORE_ERROR_EXISTS when it was downloaded already. */
gboolean store_collector_request_uid(StoreConn *c, gint64 id, const char *uid, gint64 now,
                                     GError **error);
