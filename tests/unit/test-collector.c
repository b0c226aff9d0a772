/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "delivery-service.h"
#include "delivery.h"
#include "host.h"
#include "module-loader.h"
#include "store/spool.h"
#include "store/store-collector.h"
#include "store/store-mail.h"
#include "store/store-ops.h"
#include "store/store-queries.h"
#include "store-fixture.h"

/* Mail collectors in the store (store-collector.h), their SDK
 * (pr-collector.h) and the UID a delivery records with its message
 * (pr_envelope_set_collected()), on SQLite and on a private PostgreSQL
 * server. The store takes "now" from its callers, so times are the
 * tests'. */

#define T0  1000000 /* "now" of most tests */
#define DAY 86400

typedef StoreFixture Fixture;

/* ---- helpers ---- */

static gint64
add_collector(Fixture *f, const char *name, gboolean enabled, int priority)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GHashTable) options = g_hash_table_new(g_str_hash, g_str_equal);
    g_hash_table_insert(options, "server", "pop.example.net");
    g_hash_table_insert(options, "deliver_to", "alice");
    gint64 id = store_collector_add(f->conn, name, enabled, priority, "s3cr=t", options, &error);
    g_assert_no_error(error);
    g_assert_cmpint(id, >, 0);
    return id;
}

static StoreCollector *
get(Fixture *f, const char *name)
{
    g_autoptr(GError) error = NULL;
    StoreCollector *c = store_collector_get(f->conn, name, &error);
    g_assert_no_error(error);
    g_assert_nonnull(c);
    return c;
}

static gboolean
begin(StoreConn *conn, gint64 id, const char *instance, gint64 now, gint64 lease)
{
    g_autoptr(GError) error = NULL;
    gboolean held = FALSE;
    g_assert_true(store_collector_begin(conn, id, instance, now, lease, &held, &error));
    g_assert_no_error(error);
    return held;
}

static void
set_uid(Fixture *f, gint64 id, const char *uid, StoreCollectorUidState state, gint64 now)
{
    g_autoptr(GError) error = NULL;
    g_assert_true(store_collector_set_uid(f->conn, id, uid, state, now, &error));
    g_assert_no_error(error);
}

/* The session's listing of @uids (NULL-terminated); returns uid -> row. */
static GHashTable *
list_uids(Fixture *f, gint64 id, const char *const *uids, gint64 now, int days)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GHashTable) listed = g_hash_table_new(g_str_hash, g_str_equal);
    for (int i = 0; uids[i] != NULL; i++)
        g_hash_table_add(listed, (gpointer)uids[i]);
    g_autoptr(GPtrArray) known = store_collector_uids(f->conn, id, listed, now, days, &error);
    g_assert_no_error(error);
    g_assert_nonnull(known);
    GHashTable *out = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
                                            (GDestroyNotify)store_collector_uid_free);
    g_ptr_array_set_free_func(known, NULL);
    for (guint i = 0; i < known->len; i++) {
        StoreCollectorUid *u = known->pdata[i];
        g_hash_table_insert(out, u->uid, u);
    }
    return out;
}

/* How many UIDs of @id are stored. */
static gint64
n_uids(Fixture *f, gint64 id)
{
    g_autoptr(GError) error = NULL;
    gint64 states[4];
    g_assert_true(store_collector_uid_states(f->conn, id, states, &error));
    g_assert_no_error(error);
    return states[0] + states[1] + states[2] + states[3];
}

/* The state, first-seen and missing-since of one stored UID; FALSE if
 * the store does not know it. */
static gboolean
uid_row(Fixture *f, gint64 id, const char *uid, char **state, gint64 *first_seen,
        gint64 *missing_since)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GdaDataModel) m =
        store_conn_select(f->conn, Q_COLLECTOR_UIDS_ALL, &error, "id", id, NULL);
    g_assert_no_error(error);
    for (int r = 0; r < gda_data_model_get_n_rows(m); r++) {
        g_autofree char *u = store_model_string(m, 0, r);
        if (strcmp(u, uid) != 0)
            continue;
        if (state != NULL)
            *state = store_model_string(m, 1, r);
        if (first_seen != NULL)
            *first_seen = store_model_int64(m, 2, r);
        if (missing_since != NULL)
            *missing_since = store_model_int64(m, 3, r);
        return TRUE;
    }
    return FALSE;
}

static void
assert_uid_state(Fixture *f, gint64 id, const char *uid, const char *state)
{
    g_autofree char *got = NULL;
    g_assert_true(uid_row(f, id, uid, &got, NULL, NULL));
    g_assert_cmpstr(got, ==, state);
}

/* ---- collectors ---- */

static void
test_list(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("Collectors list by priority then number, disabled ones only when asked; "
                   "options and the password round-trip; names are unique; deleting one "
                   "deletes its options and UIDs");
    gint64 late = add_collector(f, "late", TRUE, 5);
    gint64 first = add_collector(f, "first", TRUE, 1);
    gint64 second = add_collector(f, "second", TRUE, 1);
    gint64 off = add_collector(f, "off", FALSE, 0);
    g_assert_cmpint(first, <, second);

    g_autoptr(GPtrArray) enabled = store_collector_list(f->conn, FALSE, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(enabled->len, ==, 3);
    g_assert_cmpint(((StoreCollector *)enabled->pdata[0])->id, ==, first);
    g_assert_cmpint(((StoreCollector *)enabled->pdata[1])->id, ==, second);
    g_assert_cmpint(((StoreCollector *)enabled->pdata[2])->id, ==, late);
    g_autoptr(GPtrArray) all = store_collector_list(f->conn, TRUE, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(all->len, ==, 4);
    g_assert_cmpint(((StoreCollector *)all->pdata[0])->id, ==, off);
    StoreCollector *c = enabled->pdata[0];
    g_assert_cmpstr(c->name, ==, "first");
    g_assert_cmpstr(c->password, ==, "s3cr=t");
    g_assert_cmpstr(g_hash_table_lookup(c->options, "server"), ==, "pop.example.net");
    g_assert_cmpuint(g_hash_table_size(c->options), ==, 2);
    g_assert_cmpint(c->last_run, ==, 0);
    g_assert_cmpint(c->run_requested, ==, 0);

    /* The password is not stored as given. */
    g_autoptr(GdaDataModel) raw =
        store_conn_select(f->conn, Q_COLLECTOR_GET, &error, "name", "first", NULL);
    g_assert_no_error(error);
    g_autofree char *stored = store_model_string(raw, 4, 0);
    g_assert_cmpstr(stored, !=, "s3cr=t");
    g_assert_cmpstr(stored, !=, "");

    g_assert_cmpint(store_collector_add(f->conn, "first", TRUE, 0, "x", NULL, &error), ==, 0);
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_EXISTS);
    g_clear_error(&error);

    /* Changes: set, remove with "", password, enabled, priority. */
    g_autoptr(GHashTable) opts = g_hash_table_new(g_str_hash, g_str_equal);
    g_hash_table_insert(opts, "deliver_to", "");
    g_hash_table_insert(opts, "interval", "5");
    StoreCollectorChange change = { FALSE, TRUE, 9, "n3w", opts };
    g_assert_true(store_collector_update(f->conn, "first", &change, &error));
    g_assert_no_error(error);
    g_autoptr(StoreCollector) changed = get(f, "first");
    g_assert_false(changed->enabled);
    g_assert_cmpint(changed->priority, ==, 9);
    g_assert_cmpstr(changed->password, ==, "n3w");
    g_assert_null(g_hash_table_lookup(changed->options, "deliver_to"));
    g_assert_cmpstr(g_hash_table_lookup(changed->options, "interval"), ==, "5");
    g_assert_cmpstr(g_hash_table_lookup(changed->options, "server"), ==, "pop.example.net");
    StoreCollectorChange nothing = { -1, FALSE, 0, NULL, NULL };
    g_assert_false(store_collector_update(f->conn, "ghost", &nothing, &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);

    /* Deleting cascades. */
    set_uid(f, second, "u1", STORE_COLLECTOR_UID_LEFT, T0);
    g_assert_cmpint(n_uids(f, second), ==, 1);
    g_assert_true(store_collector_delete(f->conn, "second", &error));
    g_assert_no_error(error);
    g_assert_cmpint(n_uids(f, second), ==, 0);
    g_autoptr(GdaDataModel) left =
        store_conn_select(f->conn, Q_COLLECTOR_OPTIONS, &error, "id", second, NULL);
    g_assert_no_error(error);
    g_assert_cmpint(gda_data_model_get_n_rows(left), ==, 0);
    g_assert_false(store_collector_delete(f->conn, "second", &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);

    /* Numbers are not reused. */
    gint64 again = add_collector(f, "second", TRUE, 1);
    g_assert_cmpint(again, >, off);
}

/* ---- claims ---- */

static void
test_claim(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(StoreConn) other = NULL;
    gboolean held = TRUE;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("One instance at a time holds a collector, seen from two connections; the "
                   "holder renews; a lease that ran out is taken over; end records the run and "
                   "gives the claim back; a disabled collector cannot be claimed");
    other = store_conn_open(&f->settings, &error);
    g_assert_no_error(error);
    gint64 id = add_collector(f, "isp", TRUE, 0);

    g_assert_true(begin(f->conn, id, "host1", T0, T0 + 60));
    g_assert_false(begin(other, id, "host2", T0 + 10, T0 + 70));
    /* Renewed by its holder: the session's start stays. */
    g_assert_true(begin(f->conn, id, "host1", T0 + 50, T0 + 110));
    g_autoptr(StoreCollector) c = get(f, "isp");
    g_assert_cmpstr(c->claimed_by, ==, "host1");
    g_assert_cmpint(c->claim_expires, ==, T0 + 110);
    g_assert_cmpint(c->session_started, ==, T0);
    g_assert_false(begin(other, id, "host2", T0 + 110, T0 + 170));
    /* Its holder died: the lease runs out. */
    g_assert_true(begin(other, id, "host2", T0 + 111, T0 + 171));
    g_assert_false(store_collector_end(f->conn, id, "host1", T0 + 112, "late", &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_true(store_collector_end(other, id, "host2", T0 + 120, "3 messages", &error));
    g_assert_no_error(error);
    g_autoptr(StoreCollector) ended = get(f, "isp");
    g_assert_cmpstr(ended->claimed_by, ==, "");
    g_assert_cmpint(ended->last_run, ==, T0 + 120);
    g_assert_cmpstr(ended->last_result, ==, "3 messages");
    /* Free again, for anyone. */
    g_assert_true(begin(f->conn, id, "host1", T0 + 121, T0 + 181));
    g_assert_true(store_collector_end(f->conn, id, "host1", T0 + 130, NULL, &error));
    g_assert_no_error(error);
    g_autoptr(StoreCollector) ok = get(f, "isp");
    g_assert_cmpstr(ok->last_result, ==, "");

    /* Disabled: not claimed, no error. Missing: an error. */
    StoreCollectorChange disable = { FALSE, FALSE, 0, NULL, NULL };
    g_assert_true(store_collector_update(f->conn, "isp", &disable, &error));
    g_assert_no_error(error);
    g_assert_false(begin(f->conn, id, "host1", T0 + 200, T0 + 260));
    g_assert_false(store_collector_begin(f->conn, id + 1000, "host1", T0, T0 + 60, &held, &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_assert_false(held);
}

static void
test_release_instance(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("Releasing an instance (start-up after a crash, shutdown) frees only its "
                   "claims, keeps the last result, and lets the collector run at once, with a "
                   "new session start");
    gint64 a = add_collector(f, "isp-a", TRUE, 0);
    gint64 b = add_collector(f, "isp-b", TRUE, 0);
    gint64 other = add_collector(f, "isp-other", TRUE, 0);

    g_assert_true(begin(f->conn, a, "host1", T0, T0 + 600));
    g_assert_true(store_collector_end(f->conn, a, "host1", T0 + 5, "2 messages", &error));
    g_assert_no_error(error);
    g_assert_true(begin(f->conn, a, "host1", T0 + 10, T0 + 600));
    g_assert_true(begin(f->conn, b, "host1", T0 + 10, T0 + 600));
    g_assert_true(begin(f->conn, other, "host2", T0 + 10, T0 + 600));

    g_assert_cmpint(store_collector_release_instance(f->conn, "host1", &error), ==, 2);
    g_assert_no_error(error);
    g_autoptr(StoreCollector) ca = get(f, "isp-a");
    g_autoptr(StoreCollector) cb = get(f, "isp-b");
    g_autoptr(StoreCollector) co = get(f, "isp-other");
    g_assert_cmpstr(ca->claimed_by, ==, "");
    g_assert_cmpint(ca->claim_expires, ==, 0);
    g_assert_cmpint(ca->session_started, ==, 0);
    g_assert_cmpstr(ca->last_result, ==, "2 messages");
    g_assert_cmpstr(cb->claimed_by, ==, "");
    g_assert_cmpstr(co->claimed_by, ==, "host2");
    /* Another instance may take it now, long before the lease ends. */
    g_assert_true(begin(f->conn, b, "host3", T0 + 20, T0 + 600));
    /* The same instance starts a new session (not a renewal of the dead one). */
    g_assert_true(begin(f->conn, a, "host1", T0 + 30, T0 + 600));
    g_autoptr(StoreCollector) again = get(f, "isp-a");
    g_assert_cmpint(again->session_started, ==, T0 + 30);
    g_assert_cmpint(store_collector_release_instance(f->conn, "nobody", &error), ==, 0);
    g_assert_no_error(error);
}

static void
test_run_requested(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("A \"run now\" request made before a session began is cleared by its end; "
                   "one made during the session stays for the next; disabled collectors' "
                   "requests are not reported");
    gint64 id = add_collector(f, "isp", TRUE, 0);
    gint64 off = add_collector(f, "off", FALSE, 0);
    g_assert_true(store_collector_request_run(f->conn, "isp", T0, &error));
    g_assert_true(store_collector_request_run(f->conn, "off", T0, &error));
    g_assert_no_error(error);
    g_assert_false(store_collector_request_run(f->conn, "ghost", T0, &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);

    g_autoptr(GArray) pairs = store_collector_requested(f->conn, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(pairs->len, ==, 2);
    g_assert_cmpint(g_array_index(pairs, gint64, 0), ==, id);
    g_assert_cmpint(g_array_index(pairs, gint64, 1), ==, T0);
    (void)off;

    g_assert_true(begin(f->conn, id, "host1", T0 + 1, T0 + 60));
    g_assert_true(store_collector_end(f->conn, id, "host1", T0 + 5, NULL, &error));
    g_autoptr(StoreCollector) answered = get(f, "isp");
    g_assert_cmpint(answered->run_requested, ==, 0);

    g_assert_true(begin(f->conn, id, "host1", T0 + 10, T0 + 60));
    g_assert_true(store_collector_request_run(f->conn, "isp", T0 + 12, &error));
    g_assert_true(store_collector_end(f->conn, id, "host1", T0 + 15, NULL, &error));
    g_assert_no_error(error);
    g_autoptr(StoreCollector) pending = get(f, "isp");
    g_assert_cmpint(pending->run_requested, ==, T0 + 12);
}

/* Instances racing for one collector on their own connections. */
typedef struct {
    Fixture *f;
    char *instance;
    gint64 id;
    gboolean held;
    GError *error;
} Racer;

static gpointer
racer_main(gpointer data)
{
    Racer *r = data;
    g_autoptr(StoreConn) conn = store_conn_open(&r->f->settings, &r->error);
    if (conn != NULL)
        store_collector_begin(conn, r->id, r->instance, T0, T0 + 60, &r->held, &r->error);
    return NULL;
}

static void
test_race(Fixture *f, gconstpointer data)
{
    enum { N_RACERS = 4 };
    Racer racers[N_RACERS];
    GThread *threads[N_RACERS];

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("Of several instances claiming one collector at once, exactly one wins");
    gint64 id = add_collector(f, "isp", TRUE, 0);
    for (int i = 0; i < N_RACERS; i++) {
        racers[i] = (Racer){ f, g_strdup_printf("host%d", i), id, FALSE, NULL };
        threads[i] = g_thread_new("racer", racer_main, &racers[i]);
    }
    int winners = 0;
    const char *winner = NULL;
    for (int i = 0; i < N_RACERS; i++) {
        g_thread_join(threads[i]);
        g_assert_no_error(racers[i].error);
        if (racers[i].held) {
            winners++;
            winner = racers[i].instance;
        }
    }
    g_assert_cmpint(winners, ==, 1);
    g_autoptr(StoreCollector) c = get(f, "isp");
    g_assert_cmpstr(c->claimed_by, ==, winner);
    for (int i = 0; i < N_RACERS; i++)
        g_free(racers[i].instance);
}

/* ---- UIDs ---- */

static void
test_uids(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    gint64 first_seen = 0, missing = -1;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("A listing returns the known UIDs it names with their state and first-seen "
                   "time; UIDs no longer listed are forgotten obsolete_uid_days later (0: at "
                   "once), unless listed again before; set_uid keeps the first-seen time");
    gint64 id = add_collector(f, "isp", TRUE, 0);
    gint64 other = add_collector(f, "other", TRUE, 0);
    set_uid(f, id, "a", STORE_COLLECTOR_UID_LEFT, T0);
    set_uid(f, id, "b", STORE_COLLECTOR_UID_QUERIED, T0);
    set_uid(f, id, "c", STORE_COLLECTOR_UID_LEFT, T0);
    set_uid(f, other, "a", STORE_COLLECTOR_UID_DOWNLOADED, T0);
    g_assert_true(store_begin(f->conn, &error));
    g_assert_true(store_collector_uid_downloaded(f->conn, id, "d", T0, &error));
    g_assert_true(store_commit(f->conn, &error));
    g_assert_no_error(error);

    const char *const session1[] = { "a", "b", "new", NULL };
    g_autoptr(GHashTable) k1 = list_uids(f, id, session1, T0 + 10, 7);
    g_assert_cmpuint(g_hash_table_size(k1), ==, 2);
    StoreCollectorUid *a = g_hash_table_lookup(k1, "a");
    StoreCollectorUid *b = g_hash_table_lookup(k1, "b");
    g_assert_cmpint(a->state, ==, STORE_COLLECTOR_UID_LEFT);
    g_assert_cmpint(a->first_seen, ==, T0);
    g_assert_cmpint(b->state, ==, STORE_COLLECTOR_UID_QUERIED);
    /* A listing does not add new UIDs: the delivery or set_uid does. */
    g_assert_false(uid_row(f, id, "new", NULL, NULL, NULL));
    g_assert_true(uid_row(f, id, "c", NULL, NULL, &missing));
    g_assert_cmpint(missing, ==, T0 + 10);
    g_assert_true(uid_row(f, id, "a", NULL, NULL, &missing));
    g_assert_cmpint(missing, ==, 0);

    /* Six days later, b is gone too; c and d are kept (obsolete < 7 days). */
    const char *const session2[] = { "a", NULL };
    g_autoptr(GHashTable) k2 = list_uids(f, id, session2, T0 + 6 * DAY, 7);
    g_assert_cmpuint(g_hash_table_size(k2), ==, 1);
    g_assert_cmpint(n_uids(f, id), ==, 4);
    g_assert_true(uid_row(f, id, "c", NULL, NULL, &missing));
    g_assert_cmpint(missing, ==, T0 + 10); /* since it first went missing */

    /* Eight days after: c and d are forgotten, also c, which the server
     * lists again (a reused UID means a new message); b (obsolete for two
     * days) stays and is present again. */
    const char *const session3[] = { "a", "b", "c", NULL };
    g_autoptr(GHashTable) k3 = list_uids(f, id, session3, T0 + 8 * DAY, 7);
    g_assert_cmpuint(g_hash_table_size(k3), ==, 2);
    g_assert_true(g_hash_table_contains(k3, "a"));
    g_assert_true(g_hash_table_contains(k3, "b"));
    g_assert_false(uid_row(f, id, "c", NULL, NULL, NULL));
    g_assert_false(uid_row(f, id, "d", NULL, NULL, NULL));
    g_assert_true(uid_row(f, id, "b", NULL, NULL, &missing));
    g_assert_cmpint(missing, ==, 0);
    const char *const session4[] = { "a", "b", NULL };
    g_autoptr(GHashTable) k4 = list_uids(f, id, session4, T0 + 30 * DAY, 7);
    g_assert_cmpuint(g_hash_table_size(k4), ==, 2);

    /* set_uid: a new state, the first-seen time kept. */
    set_uid(f, id, "a", STORE_COLLECTOR_UID_REQUESTED, T0 + 31 * DAY);
    g_autofree char *state = NULL;
    g_assert_true(uid_row(f, id, "a", &state, &first_seen, NULL));
    g_assert_cmpstr(state, ==, "requested");
    g_assert_cmpint(first_seen, ==, T0);
    g_assert_false(
        store_collector_set_uid(f->conn, id + 1000, "z", STORE_COLLECTOR_UID_LEFT, T0, &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);

    /* 0 days: what is not listed goes at once. */
    const char *const only_b[] = { "b", NULL };
    g_autoptr(GHashTable) k5 = list_uids(f, id, only_b, T0 + 32 * DAY, 0);
    g_assert_cmpuint(g_hash_table_size(k5), ==, 1);
    g_assert_cmpint(n_uids(f, id), ==, 1);
    /* Another collector's UIDs are its own. */
    g_assert_cmpint(n_uids(f, other), ==, 1);

    g_autoptr(GHashTable) listed = g_hash_table_new(g_str_hash, g_str_equal);
    g_assert_null(store_collector_uids(f->conn, id + 1000, listed, T0, 7, &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);

    g_assert_cmpint(store_collector_forget(f->conn, "isp", &error), ==, 1);
    g_assert_no_error(error);
    g_assert_cmpint(n_uids(f, id), ==, 0);
    g_assert_cmpint(n_uids(f, other), ==, 1);
}

static void
test_uids_many(Fixture *f, gconstpointer data)
{
    enum { N = 1234 };
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("Listings of more UIDs than one write batch mark and forget all of them");
    gint64 id = add_collector(f, "isp", TRUE, 0);
    g_assert_true(store_begin(f->conn, &error));
    for (int i = 0; i < N; i++) {
        char *uid = g_strdup_printf("uid-%05d", i);
        g_ptr_array_add(names, uid);
        g_assert_true(store_collector_uid_downloaded(f->conn, id, uid, T0, &error));
    }
    g_assert_true(store_commit(f->conn, &error));
    g_assert_no_error(error);
    g_ptr_array_add(names, NULL);

    g_autoptr(GHashTable) all = list_uids(f, id, (const char *const *)names->pdata, T0 + 1, 7);
    g_assert_cmpuint(g_hash_table_size(all), ==, N);
    /* The server lists the first ten only: the rest become obsolete... */
    g_autofree char *kept = names->pdata[10];
    names->pdata[10] = NULL;
    g_autoptr(GHashTable) ten = list_uids(f, id, (const char *const *)names->pdata, T0 + 2, 7);
    g_assert_cmpuint(g_hash_table_size(ten), ==, 10);
    gint64 missing = 0;
    g_assert_true(uid_row(f, id, "uid-01233", NULL, NULL, &missing));
    g_assert_cmpint(missing, ==, T0 + 2);
    /* ... and a week later, forgotten. */
    g_autoptr(GHashTable) later =
        list_uids(f, id, (const char *const *)names->pdata, T0 + 2 + 7 * DAY, 7);
    g_assert_cmpuint(g_hash_table_size(later), ==, 10);
    g_assert_cmpint(n_uids(f, id), ==, 10);
    names->pdata[10] = g_steal_pointer(&kept);
}

/* ---- the delivery's commit ---- */

static char *
spool_text(Fixture *f, const char *text)
{
    g_autoptr(GError) error = NULL;
    char *path = spool_write(f->spool, text, strlen(text), &error);
    g_assert_no_error(error);
    return path;
}

static void
test_store_deliver(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    gint64 first_seen = 0;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("store_deliver records a collected UID as downloaded with the message, "
                   "keeping its first-seen time; a delivery that fails records nothing; a "
                   "collector deleted meanwhile fails nothing");
    store_fixture_add_user(f, "alice");
    gint64 id = add_collector(f, "isp", TRUE, 0);
    set_uid(f, id, "queried-1", STORE_COLLECTOR_UID_QUERIED, T0 - 100);

    g_autofree char *p1 = spool_text(f, "Subject: one\r\n\r\nbody\r\n");
    StoreMessage m1 = { p1,   22,   T0, "isp@example.net", "one", NULL, NULL, NULL,
                        NULL, NULL, id, "queried-1" };
    StoreDeliveryTarget alice[] = { { "alice", "" } };
    g_assert_cmpint(store_deliver(f->conn, &m1, alice, 1, NULL, 0, NULL, &error), >, 0);
    g_assert_no_error(error);
    g_autofree char *state = NULL;
    g_assert_true(uid_row(f, id, "queried-1", &state, &first_seen, NULL));
    g_assert_cmpstr(state, ==, "downloaded");
    g_assert_cmpint(first_seen, ==, T0 - 100);

    /* The target does not exist: the message and its UID are rolled back. */
    g_autofree char *p2 = spool_text(f, "Subject: two\r\n\r\nbody\r\n");
    StoreMessage m2 = { p2,   22,   T0, "isp@example.net", "two", NULL, NULL, NULL,
                        NULL, NULL, id, "lost-2" };
    StoreDeliveryTarget ghost[] = { { "alice", "" }, { "ghost", "" } };
    g_assert_cmpint(store_deliver(f->conn, &m2, ghost, 2, NULL, 0, NULL, &error), ==, 0);
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_false(uid_row(f, id, "lost-2", NULL, NULL, NULL));

    /* No collector any more: the mail is stored all the same. */
    g_autofree char *p3 = spool_text(f, "Subject: three\r\n\r\nbody\r\n");
    StoreMessage m3 = { p3,   24,   T0,   "isp@example.net", "three",   NULL, NULL,
                        NULL, NULL, NULL, id + 1000,         "orphan-3" };
    g_assert_cmpint(store_deliver(f->conn, &m3, alice, 1, NULL, 0, NULL, &error), >, 0);
    g_assert_no_error(error);
}

/* A directory from the store, plus users it does not have: routing
 * accepts them, the commit then fails for them. */
static RouterData *
directory_with_ghost(Fixture *f, const DeliverySettings *s)
{
    g_autoptr(GError) error = NULL;
    RouterData *d = delivery_load_directory(f->conn, s, &error);
    g_assert_no_error(error);
    RouterUser *ghost = g_new0(RouterUser, 1);
    ghost->name = g_strdup("ghost");
    ghost->forward_to = g_new0(char *, 1);
    ghost->assistants = g_new0(char *, 1);
    router_data_add_user(d, ghost);
    return d;
}

static Config *
test_config(Fixture *f)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *path = g_build_filename(f->dir, "postroomd.conf", NULL);
    g_autofree char *text =
        g_strdup_printf("[server]\ndata_dir = %s\nhostname = mail.example.com\n", f->dir);
    g_assert_true(g_file_set_contents(path, text, -1, &error));
    Config *config = config_load(path, &error);
    g_assert_no_error(error);
    g_assert_true(config_validate(config, NULL, &error));
    g_assert_no_error(error);
    return config;
}

static DeliveryJob *
prepare(const DeliverySettings *s, const RouterData *dir, const char *rcpt, const char *uid,
        gint64 collector_id, const char *const **rcpts_out)
{
    g_autoptr(GError) error = NULL;
    const char **rcpts = g_new0(const char *, 2);
    rcpts[0] = rcpt;
    *rcpts_out = rcpts;
    DeliveryEnvelope env = {
        "isp@example.net", NULL, FALSE, NULL, NULL, "POP3", rcpts, NULL, NULL, NULL, NULL,
        collector_id,      uid
    };
    g_autoptr(GBytes) msg = g_bytes_new_static("Subject: x\r\n\r\nbody\r\n", 21);
    DeliveryJob *job = delivery_prepare(s, dir, msg, &env, &error);
    g_assert_no_error(error);
    g_assert_true(delivery_job_has_copies(job));
    return job;
}

static void
test_delivery_commit(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    DeliverySettings s = { 0 };
    const char *const *r[3];

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("Group commit: each collected message's UID is recorded by the commit that "
                   "stores it, in a batch and in the one-by-one retry after a batch failed; the "
                   "message that fails records none");
    store_fixture_add_user(f, "alice");
    gint64 id = add_collector(f, "isp", TRUE, 0);
    g_autoptr(Config) config = test_config(f);
    delivery_settings_init(&s, config, "mail.example.com");
    g_autoptr(RouterData) dir = directory_with_ghost(f, &s);

    /* A batch of two that commits together. */
    DeliveryJob *together[2] = { prepare(&s, dir, "alice", "batch-1", id, &r[0]),
                                 prepare(&s, dir, "alice", "batch-2", id, &r[1]) };
    delivery_commit(f->conn, &s, together, 2);
    for (int i = 0; i < 2; i++) {
        g_autoptr(DeliveryReport) rep = delivery_job_finish(together[i], &error);
        g_assert_no_error(error);
        g_assert_cmpint(rep->message_id, >, 0);
        delivery_job_free(together[i]);
        g_free((gpointer)r[i]);
    }
    assert_uid_state(f, id, "batch-1", "downloaded");
    assert_uid_state(f, id, "batch-2", "downloaded");

    /* A batch with a message for a user deleted since routing: retried one
     * by one, the others are stored with their UIDs. */
    DeliveryJob *mixed[3] = { prepare(&s, dir, "alice", "retry-1", id, &r[0]),
                              prepare(&s, dir, "ghost", "retry-bad", id, &r[1]),
                              prepare(&s, dir, "alice", "retry-3", id, &r[2]) };
    delivery_commit(f->conn, &s, mixed, 3);
    for (int i = 0; i < 3; i++) {
        g_autoptr(DeliveryReport) rep = delivery_job_finish(mixed[i], &error);
        if (i == 1) {
            g_assert_null(rep);
            g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
            g_clear_error(&error);
        } else {
            g_assert_no_error(error);
            g_assert_cmpint(rep->message_id, >, 0);
        }
        delivery_job_free(mixed[i]);
        g_free((gpointer)r[i]);
    }
    assert_uid_state(f, id, "retry-1", "downloaded");
    assert_uid_state(f, id, "retry-3", "downloaded");
    g_assert_false(uid_row(f, id, "retry-bad", NULL, NULL, NULL));

    /* Alone, failing. */
    DeliveryJob *alone = prepare(&s, dir, "ghost", "alone-bad", id, &r[0]);
    delivery_commit(f->conn, &s, &alone, 1);
    g_autoptr(DeliveryReport) none = delivery_job_finish(alone, &error);
    g_assert_null(none);
    g_clear_error(&error);
    delivery_job_free(alone);
    g_free((gpointer)r[0]);
    g_assert_false(uid_row(f, id, "alone-bad", NULL, NULL, NULL));
    g_assert_cmpint(n_uids(f, id), ==, 4);
    delivery_settings_clear(&s);
}

/* ---- the SDK ---- */

typedef struct {
    GMainLoop *loop;
    GAsyncResult *result;
    GArray *notified; /* gint64 */
    gint64 wait_for;  /* the notification that ends the wait */
} Waiter;

static gboolean
on_timeout(gpointer data)
{
    g_main_loop_quit(data);
    return G_SOURCE_REMOVE;
}

static void
got_result(GObject *source, GAsyncResult *res, gpointer user_data)
{
    Waiter *w = user_data;
    w->result = g_object_ref(res);
    g_main_loop_quit(w->loop);
}

static GAsyncResult *
wait_result(Waiter *w)
{
    guint id = g_timeout_add_seconds(60, on_timeout, w->loop);
    g_main_loop_run(w->loop);
    g_source_remove(id);
    g_assert_nonnull(w->result);
    return g_steal_pointer(&w->result);
}

typedef struct {
    Fixture *f;
    PrHost *host;
    Waiter w;
} Sdk;

static void
sdk_start(Sdk *sdk, Fixture *f)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(Config) config = test_config(f);
    sdk->f = f;
    sdk->host = host_new(config);
    sdk->host->store = store_open(&f->settings, &error);
    g_assert_no_error(error);
    sdk->host->delivery = delivery_service_new(sdk->host);
    sdk->w.loop = g_main_loop_new(NULL, FALSE);
    sdk->w.notified = g_array_new(FALSE, FALSE, sizeof(gint64));
}

static void
sdk_stop(Sdk *sdk)
{
    store_close(sdk->host->store);
    g_clear_pointer(&sdk->host->delivery, delivery_service_free);
    host_free(sdk->host);
    g_main_loop_unref(sdk->w.loop);
    g_array_unref(sdk->w.notified);
}

static gboolean
sdk_begin(Sdk *sdk, gint64 id)
{
    g_autoptr(GError) error = NULL;
    pr_collector_begin_async(sdk->host, id, 60, NULL, got_result, &sdk->w);
    g_autoptr(GAsyncResult) res = wait_result(&sdk->w);
    gboolean held = pr_collector_begin_finish(sdk->host, res, &error);
    g_assert_no_error(error);
    return held;
}

static PrDeliveryReport *
sdk_deliver(Sdk *sdk, const char *rcpt, gint64 id, const char *uid, GError **error)
{
    PrEnvelope *env = pr_envelope_new("isp@example.net");
    pr_envelope_set_client(env, NULL, NULL, "POP3");
    pr_envelope_add_recipient(env, rcpt, NULL, NULL);
    pr_envelope_set_collected(env, id, uid);
    g_autoptr(GBytes) msg = g_bytes_new_static("Subject: sdk\r\n\r\nbody\r\n", 23);
    pr_delivery_deliver_async(sdk->host, env, msg, NULL, got_result, &sdk->w);
    /* The envelope is copied: the call may outlive it. */
    pr_envelope_free(env);
    g_autoptr(GAsyncResult) res = wait_result(&sdk->w);
    return pr_delivery_deliver_finish(sdk->host, res, error);
}

static void
test_sdk(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    Sdk sdk = { 0 };

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("pr_collector_list, begin, uids, set_uid, end and pr_envelope_set_collected "
                   "through the host's store workers");
    store_fixture_add_user(f, "alice");
    gint64 id = add_collector(f, "isp", TRUE, 2);
    add_collector(f, "off", FALSE, 1);
    sdk_start(&sdk, f);

    pr_collector_list_async(sdk.host, NULL, got_result, &sdk.w);
    g_autoptr(GAsyncResult) lres = wait_result(&sdk.w);
    g_autoptr(GPtrArray) list = pr_collector_list_finish(sdk.host, lres, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(list->len, ==, 1);
    PrCollector *c = list->pdata[0];
    g_assert_cmpint(c->id, ==, id);
    g_assert_cmpstr(c->name, ==, "isp");
    g_assert_cmpint(c->priority, ==, 2);
    g_assert_cmpstr(pr_collector_get_option(c, "server", NULL), ==, "pop.example.net");
    g_assert_cmpstr(pr_collector_get_option(c, "password", NULL), ==, "s3cr=t");
    g_assert_cmpstr(pr_collector_get_option(c, "port", "110"), ==, "110");

    g_assert_true(sdk_begin(&sdk, id));
    g_assert_true(sdk_begin(&sdk, id)); /* a renewal */

    /* A collected delivery records its UID; one to nobody records none. */
    g_autoptr(PrDeliveryReport) ok = sdk_deliver(&sdk, "alice", id, "sdk-1", &error);
    g_assert_no_error(error);
    g_assert_true(pr_delivery_report_get_stored(ok));
    assert_uid_state(f, id, "sdk-1", "downloaded");
    g_autoptr(PrDeliveryReport) nobody = sdk_deliver(&sdk, "nobody", id, "sdk-2", &error);
    if (nobody != NULL)
        g_assert_false(pr_delivery_report_get_stored(nobody));
    g_clear_error(&error);
    g_assert_false(uid_row(f, id, "sdk-2", NULL, NULL, NULL));

    pr_collector_set_uid_async(sdk.host, id, "sdk-3", PR_COLLECTOR_UID_LEFT, NULL, got_result,
                               &sdk.w);
    g_autoptr(GAsyncResult) sres = wait_result(&sdk.w);
    g_assert_true(pr_collector_set_uid_finish(sdk.host, sres, &error));
    g_assert_no_error(error);

    g_autoptr(GPtrArray) listed = g_ptr_array_new();
    g_ptr_array_add(listed, "sdk-1");
    g_ptr_array_add(listed, "sdk-3");
    g_ptr_array_add(listed, "sdk-new");
    pr_collector_uids_async(sdk.host, id, listed, NULL, got_result, &sdk.w);
    g_autoptr(GAsyncResult) ures = wait_result(&sdk.w);
    g_autoptr(GHashTable) known = pr_collector_uids_finish(sdk.host, ures, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(g_hash_table_size(known), ==, 2);
    PrCollectorUid *u1 = g_hash_table_lookup(known, "sdk-1");
    PrCollectorUid *u3 = g_hash_table_lookup(known, "sdk-3");
    g_assert_nonnull(u1);
    g_assert_nonnull(u3);
    g_assert_cmpstr(u1->uid, ==, "sdk-1");
    g_assert_cmpint(u1->state, ==, PR_COLLECTOR_UID_DOWNLOADED);
    g_assert_cmpint(u3->state, ==, PR_COLLECTOR_UID_LEFT);
    g_assert_cmpint(u1->first_seen, >, 0);

    pr_collector_end_async(sdk.host, id, "2 messages", NULL, got_result, &sdk.w);
    g_autoptr(GAsyncResult) eres = wait_result(&sdk.w);
    g_assert_true(pr_collector_end_finish(sdk.host, eres, &error));
    g_assert_no_error(error);
    g_autoptr(StoreCollector) after = get(f, "isp");
    g_assert_cmpstr(after->last_result, ==, "2 messages");
    g_assert_cmpstr(after->claimed_by, ==, "");

    /* Ending twice: the claim is not held any more. */
    pr_collector_end_async(sdk.host, id, NULL, NULL, got_result, &sdk.w);
    g_autoptr(GAsyncResult) e2 = wait_result(&sdk.w);
    g_assert_false(pr_collector_end_finish(sdk.host, e2, &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    sdk_stop(&sdk);
}

static void
notified(gint64 collector_id, gpointer user_data)
{
    Waiter *w = user_data;
    g_array_append_val(w->notified, collector_id);
    if (collector_id == w->wait_for)
        g_main_loop_quit(w->loop);
}

/* Runs the loop until @id is notified (bounded). */
static void
wait_notified(Waiter *w, gint64 id)
{
    w->wait_for = id;
    guint timer = g_timeout_add_seconds(30, on_timeout, w->loop);
    g_main_loop_run(w->loop);
    g_source_remove(timer);
}

static guint
times_notified(Waiter *w, gint64 id)
{
    guint n = 0;
    for (guint i = 0; i < w->notified->len; i++)
        n += g_array_index(w->notified, gint64, i) == id;
    return n;
}

static void
test_notify(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    Sdk sdk = { 0 };
    PrModule module = { 0 };

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("\"run now\" requests written to the store reach the module's notify function "
                   "once each, on the main thread, until it stops listening");
    gint64 one = add_collector(f, "one", TRUE, 0);
    gint64 two = add_collector(f, "two", TRUE, 0);
    sdk_start(&sdk, f);
    module.name = (char *)"collector";

    pr_collector_set_notify(sdk.host, &module, notified, &sdk.w);
    g_assert_true(store_collector_request_run(f->conn, "one", T0, &error));
    g_assert_no_error(error);
    wait_notified(&sdk.w, one);
    g_assert_cmpuint(times_notified(&sdk.w, one), ==, 1);

    /* Later polls do not report it again; a second request is reported. */
    g_assert_true(store_collector_request_run(f->conn, "two", T0, &error));
    wait_notified(&sdk.w, two);
    g_assert_cmpuint(times_notified(&sdk.w, two), ==, 1);
    g_assert_cmpuint(times_notified(&sdk.w, one), ==, 1);
    g_assert_true(store_collector_request_run(f->conn, "one", T0 + 5, &error));
    wait_notified(&sdk.w, one);
    g_assert_cmpuint(times_notified(&sdk.w, one), ==, 2);

    /* Unloading the module stops the polling. */
    host_forget_module(sdk.host, &module);
    g_assert_null(sdk.host->collector_watch);
    sdk_stop(&sdk);
}

/* ---- main ---- */

int
main(int argc, char **argv)
{
    static const StoreFixtureOptions options = { .suite = "collector",
                                                 .workers = 2,
                                                 .migrate = TRUE };

    g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

    if (!store_fixture_init(&options))
        return 1;

    store_fixture_add("list", test_list);
    store_fixture_add("claim", test_claim);
    store_fixture_add("release-instance", test_release_instance);
    store_fixture_add("run-requested", test_run_requested);
    store_fixture_add("race", test_race);
    store_fixture_add("uids", test_uids);
    store_fixture_add("uids-many", test_uids_many);
    store_fixture_add("store-deliver", test_store_deliver);
    store_fixture_add("delivery-commit", test_delivery_commit);
    store_fixture_add("sdk", test_sdk);
    store_fixture_add("notify", test_notify);

    return store_fixture_finish(g_test_run());
}
