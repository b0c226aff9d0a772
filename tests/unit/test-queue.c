/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "store/spool.h"
#include "store/store-mail.h"
#include "store/store-ops.h"
#include "store/store-queries.h"
#include "store/store-queue.h"
#include "store-fixture.h"

/* The outbound queue in the store (store-queue.h), on SQLite and on a
 * private PostgreSQL server. Times are chosen by the tests: the store
 * takes "now" from its callers except for administrator actions. */

#define T0 1000000 /* "now" of most tests */

typedef StoreFixture Fixture;

/* ---- helpers ---- */

/* A spool file and its message row; returns the message id. */
static gint64
add_message(Fixture *f, const char *subject, char **path_out)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *text = g_strdup_printf("Subject: %s\r\n\r\nbody\r\n", subject);
    g_autofree char *path = spool_write(f->spool, text, strlen(text), &error);
    g_assert_no_error(error);
    g_assert_cmpint(store_conn_exec(f->conn, Q_MESSAGE_ADD, &error, "path", path, "size",
                                    (gint64)strlen(text), "received", (gint64)T0, "sender",
                                    "from@example.com", "subject", subject, "from", NULL, "date",
                                    NULL, "message_id", NULL, NULL),
                    ==, 1);
    g_assert_no_error(error);
    g_autoptr(GdaDataModel) m =
        store_conn_select(f->conn, Q_MESSAGE_ID_BY_PATH, &error, "path", path, NULL);
    g_assert_no_error(error);
    g_assert_cmpint(gda_data_model_get_n_rows(m), ==, 1);
    if (path_out != NULL)
        *path_out = g_strdup(path);
    return store_model_int64(m, 0, 0);
}

/* Queues @recipient for @message (created and due at @now); returns the id. */
static gint64
add_entry(Fixture *f, gint64 message, const char *recipient, gint64 now)
{
    g_autoptr(GError) error = NULL;
    g_assert_cmpint(store_conn_exec(f->conn, Q_QUEUE_ADD, &error, "message", message, "sender",
                                    "from@example.com", "recipient", recipient, "now", now,
                                    "notify", "SUCCESS,FAILURE", "orcpt", "rfc822;orig@example.net",
                                    "ret", "HDRS", "envid", "env-1", NULL),
                    ==, 1);
    g_assert_no_error(error);
    g_autoptr(GPtrArray) all = store_queue_list(f->conn, NULL, &error);
    g_assert_no_error(error);
    for (guint i = all->len; i > 0; i--) {
        StoreQueueEntry *e = all->pdata[i - 1];
        if (e->message_id == message && strcmp(e->recipient, recipient) == 0)
            return e->id;
    }
    g_assert_not_reached();
}

static StoreQueueEntry *
get(Fixture *f, gint64 id)
{
    g_autoptr(GError) error = NULL;
    StoreQueueEntry *e = store_queue_get(f->conn, id, &error);
    g_assert_no_error(error);
    g_assert_nonnull(e);
    return e;
}

static void
assert_state(Fixture *f, gint64 id, const char *state)
{
    g_autoptr(StoreQueueEntry) e = get(f, id);
    g_assert_cmpstr(e->state, ==, state);
}

static GPtrArray *
claim(Fixture *f, const char *instance, guint max, gint64 now, gint64 lease)
{
    g_autoptr(GError) error = NULL;
    GPtrArray *got = store_queue_claim(f->conn, instance, max, now, lease, &error);
    g_assert_no_error(error);
    g_assert_nonnull(got);
    return got;
}

static gint64
entry_id(GPtrArray *entries, guint i)
{
    return ((StoreQueueEntry *)entries->pdata[i])->id;
}

static gboolean
outcome(Fixture *f, gint64 id, const char *instance, StoreQueueOutcome what, gint64 now,
        gint64 next_try, const char *reply, GPtrArray *paths, GError **error)
{
    return store_queue_set_outcome(f->conn, id, instance, what, now, next_try, reply, paths, error);
}

static void
outcome_ok(Fixture *f, gint64 id, const char *instance, StoreQueueOutcome what, gint64 now,
           gint64 next_try, const char *reply, GPtrArray *paths)
{
    g_autoptr(GError) error = NULL;
    g_assert_true(outcome(f, id, instance, what, now, next_try, reply, paths, &error));
    g_assert_no_error(error);
}

static gboolean
spool_exists(Fixture *f, const char *path)
{
    g_autofree char *full = g_build_filename(f->spool, path, NULL);
    return g_file_test(full, G_FILE_TEST_EXISTS);
}

/* ---- claims ---- */

static void
test_claim(Fixture *f, gconstpointer data)
{
    SKIP_IF_NO_BACKEND(f);
    g_test_summary("Claims take due entries once, up to the maximum, with the lease, the "
                   "envelope, the RFC 3461 parameters and the message's size and subject");
    g_autofree char *path = NULL;
    gint64 m = add_message(f, "hello", &path);
    gint64 a = add_entry(f, m, "a@remote.example", T0);
    gint64 b = add_entry(f, m, "b@remote.example", T0);
    gint64 c = add_entry(f, m, "c@remote.example", T0 + 100); /* not due before T0 + 100 */

    g_autoptr(GPtrArray) first = claim(f, "host1", 1, T0, T0 + 600);
    g_assert_cmpuint(first->len, ==, 1);
    StoreQueueEntry *e = first->pdata[0];
    g_assert_cmpint(e->id, ==, a);
    g_assert_cmpint(e->message_id, ==, m);
    g_assert_cmpstr(e->state, ==, "sending");
    g_assert_cmpstr(e->claimed_by, ==, "host1");
    g_assert_cmpint(e->claim_expires, ==, T0 + 600);
    g_assert_cmpstr(e->sender, ==, "from@example.com");
    g_assert_cmpstr(e->recipient, ==, "a@remote.example");
    g_assert_cmpstr(e->notify, ==, "SUCCESS,FAILURE");
    g_assert_cmpstr(e->orcpt, ==, "rfc822;orig@example.net");
    g_assert_cmpstr(e->ret, ==, "HDRS");
    g_assert_cmpstr(e->envid, ==, "env-1");
    g_assert_cmpstr(e->subject, ==, "hello");
    g_assert_cmpstr(e->spool_path, ==, path);
    g_assert_cmpint(e->size, ==, (gint64)strlen("Subject: hello\r\n\r\nbody\r\n"));
    g_assert_cmpint(e->attempts, ==, 0);
    g_assert_cmpint(e->created, ==, T0);

    /* The stored row says the same. */
    g_autoptr(StoreQueueEntry) stored = get(f, a);
    g_assert_cmpstr(stored->state, ==, "sending");
    g_assert_cmpstr(stored->claimed_by, ==, "host1");
    g_assert_cmpint(stored->claim_expires, ==, T0 + 600);

    /* The same instance claiming again in the same second gets only new
     * entries. */
    g_autoptr(GPtrArray) second = claim(f, "host1", 10, T0, T0 + 600);
    g_assert_cmpuint(second->len, ==, 1);
    g_assert_cmpint(entry_id(second, 0), ==, b);
    g_autoptr(GPtrArray) none = claim(f, "host2", 10, T0 + 1, T0 + 61);
    g_assert_cmpuint(none->len, ==, 0);
    g_autoptr(GPtrArray) later = claim(f, "host2", 10, T0 + 100, T0 + 160);
    g_assert_cmpuint(later->len, ==, 1);
    g_assert_cmpint(entry_id(later, 0), ==, c);
    g_autoptr(GPtrArray) zero = claim(f, "host2", 0, T0 + 100, T0 + 160);
    g_assert_cmpuint(zero->len, ==, 0);
}

static void
test_lease(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("An entry whose lease ran out is claimed again by any instance; the first "
                   "instance's late outcome is then refused with NOT_FOUND");
    gint64 m = add_message(f, "lease", NULL);
    gint64 a = add_entry(f, m, "a@remote.example", T0);

    g_autoptr(GPtrArray) first = claim(f, "host1", 5, T0, T0 + 30);
    g_assert_cmpuint(first->len, ==, 1);
    g_autoptr(GPtrArray) during = claim(f, "host2", 5, T0 + 29, T0 + 59);
    g_assert_cmpuint(during->len, ==, 0);
    g_autoptr(GPtrArray) after = claim(f, "host2", 5, T0 + 31, T0 + 61);
    g_assert_cmpuint(after->len, ==, 1);
    g_assert_cmpint(entry_id(after, 0), ==, a);
    g_assert_cmpstr(((StoreQueueEntry *)after->pdata[0])->claimed_by, ==, "host2");

    g_assert_false(
        outcome(f, a, "host1", STORE_QUEUE_DELIVERED, T0 + 32, 0, "250 ok", NULL, &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    assert_state(f, a, "sending");
    outcome_ok(f, a, "host2", STORE_QUEUE_DELIVERED, T0 + 32, 0, "250 ok", NULL);
    assert_state(f, a, "delivered");
}

static void
test_priority(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("Claims take the highest priority first, then keep one message's entries "
                   "next to each other, whatever order they were queued in");
    gint64 m1 = add_message(f, "one", NULL);
    gint64 m2 = add_message(f, "two", NULL);
    gint64 m3 = add_message(f, "three", NULL);
    gint64 e1a = add_entry(f, m1, "a@one.example", T0);
    gint64 e2a = add_entry(f, m2, "a@two.example", T0);
    gint64 e1b = add_entry(f, m1, "b@one.example", T0);
    gint64 e3a = add_entry(f, m3, "a@three.example", T0);
    gint64 e2b = add_entry(f, m2, "b@two.example", T0);
    g_assert_true(store_queue_set_priority(f->conn, m3, 10, &error));
    g_assert_no_error(error);

    g_autoptr(GPtrArray) got = claim(f, "host1", 3, T0, T0 + 60);
    g_assert_cmpuint(got->len, ==, 3);
    g_assert_cmpint(entry_id(got, 0), ==, e3a);
    g_assert_cmpint(((StoreQueueEntry *)got->pdata[0])->priority, ==, 10);
    g_assert_cmpint(entry_id(got, 1), ==, e1a);
    g_assert_cmpint(entry_id(got, 2), ==, e1b);
    g_autoptr(GPtrArray) rest = claim(f, "host1", 3, T0, T0 + 60);
    g_assert_cmpuint(rest->len, ==, 2);
    g_assert_cmpint(entry_id(rest, 0), ==, e2a);
    g_assert_cmpint(entry_id(rest, 1), ==, e2b);
}

static void
test_held(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("Held entries are never claimed, also when due; released ones are, at once");
    gint64 m = add_message(f, "held", NULL);
    gint64 a = add_entry(f, m, "a@remote.example", T0);
    gint64 b = add_entry(f, m, "b@remote.example", T0);

    g_assert_cmpint(store_queue_hold(f->conn, a, &error), ==, 1);
    g_assert_no_error(error);
    g_autoptr(GPtrArray) got = claim(f, "host1", 10, T0 + 86400 * 365, G_MAXINT64);
    g_assert_cmpuint(got->len, ==, 1);
    g_assert_cmpint(entry_id(got, 0), ==, b);
    assert_state(f, a, "held");

    g_assert_cmpint(store_queue_release(f->conn, a, &error), ==, 1);
    g_assert_no_error(error);
    /* Released entries are due "now" by the clock. */
    gint64 now = g_get_real_time() / G_USEC_PER_SEC + 1;
    g_autoptr(GPtrArray) again = claim(f, "host1", 10, now, now + 60);
    g_assert_cmpuint(again->len, ==, 1);
    g_assert_cmpint(entry_id(again, 0), ==, a);
    g_assert_cmpint(((StoreQueueEntry *)again->pdata[0])->attempts, ==, 0);
}

/* Two connections claiming at the same time never get the same entry. */
typedef struct {
    Fixture *f;
    const char *instance;
    GArray *ids; /* gint64 */
    GError *error;
} Claimer;

static gpointer
claimer_main(gpointer data)
{
    Claimer *cl = data;
    g_autoptr(StoreConn) conn = store_conn_open(&cl->f->settings, &cl->error);
    if (conn == NULL)
        return NULL;
    for (;;) {
        g_autoptr(GPtrArray) got =
            store_queue_claim(conn, cl->instance, 3, T0, T0 + 600, &cl->error);
        if (got == NULL || got->len == 0)
            break;
        for (guint i = 0; i < got->len; i++)
            g_array_append_val(cl->ids, ((StoreQueueEntry *)got->pdata[i])->id);
    }
    return NULL;
}

static void
test_concurrent(Fixture *f, gconstpointer data)
{
    enum { N_ENTRIES = 60, N_CLAIMERS = 3 };
    const char *instances[N_CLAIMERS] = { "host1", "host2", "host3" };
    Claimer claimers[N_CLAIMERS];
    GThread *threads[N_CLAIMERS];

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("Instances claiming at the same time on their own connections take every "
                   "entry exactly once, without 'database is locked'");
    for (int i = 0; i < N_ENTRIES / 2; i++) {
        gint64 m = add_message(f, "busy", NULL);
        add_entry(f, m, "a@remote.example", T0);
        add_entry(f, m, "b@remote.example", T0);
    }
    for (int i = 0; i < N_CLAIMERS; i++) {
        claimers[i] = (Claimer){ f, instances[i], g_array_new(FALSE, FALSE, sizeof(gint64)), NULL };
        threads[i] = g_thread_new("claimer", claimer_main, &claimers[i]);
    }
    g_autoptr(GHashTable) seen = g_hash_table_new(g_int64_hash, g_int64_equal);
    for (int i = 0; i < N_CLAIMERS; i++) {
        g_thread_join(threads[i]);
        g_assert_no_error(claimers[i].error);
        for (guint j = 0; j < claimers[i].ids->len; j++) {
            gint64 *id = &g_array_index(claimers[i].ids, gint64, j);
            g_assert_false(g_hash_table_contains(seen, id));
            g_hash_table_add(seen, id);
            g_autoptr(StoreQueueEntry) e = get(f, *id);
            g_assert_cmpstr(e->claimed_by, ==, instances[i]);
        }
    }
    g_assert_cmpuint(g_hash_table_size(seen), ==, N_ENTRIES);
    for (int i = 0; i < N_CLAIMERS; i++)
        g_array_unref(claimers[i].ids);
}

static gpointer
contender_main(gpointer data)
{
    Claimer *cl = data;
    g_autoptr(StoreConn) conn = store_conn_open(&cl->f->settings, &cl->error);
    if (conn == NULL)
        return NULL;
    g_autoptr(GPtrArray) got = store_queue_claim(conn, cl->instance, 2, T0, T0 + 600, &cl->error);
    for (guint i = 0; got != NULL && i < got->len; i++)
        g_array_append_val(cl->ids, ((StoreQueueEntry *)got->pdata[i])->id);
    return NULL;
}

static void
test_contention(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("A claim that meets another instance's claim in progress waits for it, "
                   "skips the entries it took and claims the next ones");
    gint64 m1 = add_message(f, "first", NULL);
    gint64 m2 = add_message(f, "second", NULL);
    gint64 a = add_entry(f, m1, "a@remote.example", T0);
    gint64 b = add_entry(f, m1, "b@remote.example", T0);
    gint64 c = add_entry(f, m2, "c@remote.example", T0);
    gint64 d = add_entry(f, m2, "d@remote.example", T0);

    /* host1's claim, stopped half-way: its rows are marked, not committed. */
    g_assert_true(store_begin(f->conn, &error));
    g_assert_cmpint(store_conn_exec(f->conn, Q_QUEUE_CLAIM_MARK, &error, "instance", "host1", "now",
                                    (gint64)T0, "max", (gint64)2, NULL),
                    ==, 2);
    g_assert_no_error(error);
    Claimer cl = { f, "host2", g_array_new(FALSE, FALSE, sizeof(gint64)), NULL };
    GThread *thread = g_thread_new("contender", contender_main, &cl);
    g_usleep(300 * 1000);
    g_assert_cmpint(store_conn_exec(f->conn, Q_QUEUE_CLAIM_LEASE, &error, "lease", (gint64)T0 + 600,
                                    "instance", "host1", NULL),
                    ==, 2);
    g_assert_true(store_commit(f->conn, &error));
    g_assert_no_error(error);
    g_thread_join(thread);
    g_assert_no_error(cl.error);

    g_assert_cmpuint(cl.ids->len, ==, 2);
    g_assert_cmpint(g_array_index(cl.ids, gint64, 0), ==, c);
    g_assert_cmpint(g_array_index(cl.ids, gint64, 1), ==, d);
    g_autoptr(StoreQueueEntry) ea = get(f, a);
    g_autoptr(StoreQueueEntry) eb = get(f, b);
    g_assert_cmpstr(ea->claimed_by, ==, "host1");
    g_assert_cmpstr(eb->claimed_by, ==, "host1");
    g_assert_cmpint(eb->claim_expires, ==, T0 + 600);
    g_array_unref(cl.ids);
}

/* ---- outcomes ---- */

static void
test_outcomes(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("Delivered and failed are final; deferred counts the attempt and sets the "
                   "next try and the warning time; release counts nothing; only the claiming "
                   "instance may record an outcome");
    gint64 m = add_message(f, "outcomes", NULL);
    gint64 ok = add_entry(f, m, "ok@remote.example", T0);
    gint64 bad = add_entry(f, m, "bad@remote.example", T0);
    gint64 later = add_entry(f, m, "later@remote.example", T0);
    gint64 back = add_entry(f, m, "back@remote.example", T0);
    g_autoptr(GPtrArray) got = claim(f, "host1", 10, T0, T0 + 60);
    g_assert_cmpuint(got->len, ==, 4);

    /* Another instance cannot touch them. */
    g_assert_false(
        outcome(f, ok, "host2", STORE_QUEUE_DELIVERED, T0 + 1, 0, "250 ok", NULL, &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_false(
        outcome(f, 999999, "host1", STORE_QUEUE_DEFERRED, T0 + 1, T0 + 9, NULL, NULL, &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    assert_state(f, ok, "sending");

    outcome_ok(f, ok, "host1", STORE_QUEUE_DELIVERED, T0 + 1, 0, "250 2.0.0 queued", NULL);
    g_autoptr(StoreQueueEntry) e_ok = get(f, ok);
    g_assert_cmpstr(e_ok->state, ==, "delivered");
    g_assert_cmpint(e_ok->attempts, ==, 1);
    g_assert_cmpstr(e_ok->last_error, ==, "250 2.0.0 queued");
    g_assert_cmpstr(e_ok->claimed_by, ==, "");
    /* Final: no second outcome, never claimed again. */
    g_assert_false(outcome(f, ok, "host1", STORE_QUEUE_FAILED, T0 + 2, 0, "550 no", NULL, &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);

    outcome_ok(f, bad, "host1", STORE_QUEUE_FAILED, T0 + 1, 0, "550 5.1.1 unknown user", NULL);
    g_autoptr(StoreQueueEntry) e_bad = get(f, bad);
    g_assert_cmpstr(e_bad->state, ==, "failed");
    g_assert_cmpstr(e_bad->last_error, ==, "550 5.1.1 unknown user");

    outcome_ok(f, later, "host1", STORE_QUEUE_DEFERRED, T0 + 1, T0 + 900, "451 try later", NULL);
    g_autoptr(StoreQueueEntry) e_later = get(f, later);
    g_assert_cmpstr(e_later->state, ==, "deferred");
    g_assert_cmpint(e_later->attempts, ==, 1);
    g_assert_cmpint(e_later->next_try, ==, T0 + 900);
    g_assert_cmpint(e_later->warned, ==, 0);
    g_assert_cmpstr(e_later->last_error, ==, "451 try later");
    g_assert_cmpstr(e_later->claimed_by, ==, "");

    outcome_ok(f, back, "host1", STORE_QUEUE_RELEASE, T0 + 1, T0 + 5, NULL, NULL);
    g_autoptr(StoreQueueEntry) e_back = get(f, back);
    g_assert_cmpstr(e_back->state, ==, "pending");
    g_assert_cmpint(e_back->attempts, ==, 0);
    g_assert_cmpint(e_back->next_try, ==, T0 + 5);
    g_assert_cmpstr(e_back->last_error, ==, "");

    /* Before their next try nothing is due. */
    g_autoptr(GPtrArray) early = claim(f, "host1", 10, T0 + 4, T0 + 64);
    g_assert_cmpuint(early->len, ==, 0);
    g_autoptr(GPtrArray) back_again = claim(f, "host1", 10, T0 + 5, T0 + 5000);
    g_assert_cmpuint(back_again->len, ==, 1);
    g_assert_cmpint(entry_id(back_again, 0), ==, back);
    g_autoptr(GPtrArray) later_again = claim(f, "host2", 10, T0 + 900, T0 + 960);
    g_assert_cmpuint(later_again->len, ==, 1);
    g_assert_cmpint(entry_id(later_again, 0), ==, later);
    g_assert_cmpint(((StoreQueueEntry *)later_again->pdata[0])->attempts, ==, 1);

    /* A warned deferral records the warning; a NULL reply keeps the last. */
    outcome_ok(f, later, "host2", STORE_QUEUE_DEFERRED_WARNED, T0 + 901, T0 + 1800, NULL, NULL);
    g_autoptr(StoreQueueEntry) warned = get(f, later);
    g_assert_cmpstr(warned->state, ==, "deferred");
    g_assert_cmpint(warned->attempts, ==, 2);
    g_assert_cmpint(warned->warned, ==, T0 + 901);
    g_assert_cmpint(warned->next_try, ==, T0 + 1800);
    g_assert_cmpstr(warned->last_error, ==, "451 try later");
}

static void
test_spool_release(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("A message's spool path comes back only with the last outcome or delete that "
                   "leaves it unused: mailboxes and sending entries keep it");

    /* Remote entries only: the second final outcome releases it. */
    g_autofree char *p1 = NULL;
    gint64 m1 = add_message(f, "two remote", &p1);
    add_entry(f, m1, "a@remote.example", T0);
    add_entry(f, m1, "b@remote.example", T0);
    g_autoptr(GPtrArray) got = claim(f, "host1", 10, T0, T0 + 60);
    g_assert_cmpuint(got->len, ==, 2);
    g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
    outcome_ok(f, entry_id(got, 0), "host1", STORE_QUEUE_DELIVERED, T0, 0, NULL, paths);
    g_assert_cmpuint(paths->len, ==, 0);
    outcome_ok(f, entry_id(got, 1), "host1", STORE_QUEUE_FAILED, T0, 0, NULL, paths);
    g_assert_cmpuint(paths->len, ==, 1);
    g_assert_cmpstr(paths->pdata[0], ==, p1);
    /* The finished entries stay listed without their message. */
    g_autoptr(StoreQueueEntry) gone = get(f, entry_id(got, 0));
    g_assert_cmpstr(gone->state, ==, "delivered");
    g_assert_cmpstr(gone->spool_path, ==, "");
    g_assert_cmpint(gone->size, ==, 0);
    g_ptr_array_set_size(paths, 0);

    /* A sending entry keeps the message while another entry is deleted. */
    g_autofree char *p2 = NULL;
    gint64 m2 = add_message(f, "sending", &p2);
    gint64 s = add_entry(f, m2, "a@remote.example", T0);
    gint64 d = add_entry(f, m2, "b@remote.example", T0);
    g_assert_cmpint(store_queue_hold(f->conn, d, &error), ==, 1);
    g_autoptr(GPtrArray) sending = claim(f, "host1", 10, T0, T0 + 60);
    g_assert_cmpuint(sending->len, ==, 1);
    g_assert_cmpint(entry_id(sending, 0), ==, s);
    g_assert_cmpint(store_queue_delete(f->conn, d, paths, &error), ==, 1);
    g_assert_no_error(error);
    g_assert_cmpuint(paths->len, ==, 0);
    outcome_ok(f, s, "host1", STORE_QUEUE_DELIVERED, T0, 0, NULL, paths);
    g_assert_cmpuint(paths->len, ==, 1);
    g_assert_cmpstr(paths->pdata[0], ==, p2);
    g_ptr_array_set_size(paths, 0);

    /* A mailbox copy outlives the queue entry, and the other way round. */
    store_fixture_add_user(f, "alice");
    const char *text = "Subject: both\r\n\r\nbody\r\n";
    g_autofree char *p3 = spool_write(f->spool, text, strlen(text), &error);
    g_assert_no_error(error);
    StoreMessage msg = { p3, (gint64)strlen(text), T0, "from@example.com", "both" };
    StoreDeliveryTarget alice = { "alice", "" };
    StoreQueueTarget remote = { "far@remote.example", NULL, NULL };
    gint64 m3 = store_deliver(f->conn, &msg, &alice, 1, &remote, 1, NULL, &error);
    g_assert_no_error(error);
    g_assert_cmpint(m3, >, 0);
    g_autoptr(GPtrArray) both = claim(f, "host1", 10, g_get_real_time() / G_USEC_PER_SEC + 1,
                                      g_get_real_time() / G_USEC_PER_SEC + 60);
    g_assert_cmpuint(both->len, ==, 1);
    outcome_ok(f, entry_id(both, 0), "host1", STORE_QUEUE_DELIVERED, T0, 0, NULL, paths);
    g_assert_cmpuint(paths->len, ==, 0);
    g_assert_true(spool_exists(f, p3));
    gint64 folder =
        store_mailbox_lock(f->conn, "alice", "INBOX", "t", "host1", TRUE, T0 * 2, NULL, &error);
    g_assert_no_error(error);
    guint32 uid = 1;
    g_assert_true(store_mailbox_delete(f->conn, folder, &uid, 1, FALSE, NULL, paths, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(paths->len, ==, 1);
    g_assert_cmpstr(paths->pdata[0], ==, p3);
}

/* ---- administrator actions ---- */

static void
test_admin(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("hold, release, flush and delete act on one entry or all that they apply to, "
                   "never on entries being sent or finished; list filters by state");
    g_autofree char *p1 = NULL;
    g_autofree char *p2 = NULL;
    gint64 m1 = add_message(f, "one", &p1);
    gint64 m2 = add_message(f, "two", &p2);
    gint64 a = add_entry(f, m1, "a@remote.example", T0);
    gint64 b = add_entry(f, m1, "b@remote.example", T0);
    gint64 c = add_entry(f, m2, "c@remote.example", T0);
    gint64 d = add_entry(f, m2, "d@remote.example", T0);

    g_autoptr(StoreQueueEntry) none = store_queue_get(f->conn, 424242, &error);
    g_assert_null(none);
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);

    /* d is being sent, c deferred far ahead. */
    g_assert_cmpint(store_queue_hold(f->conn, a, &error), ==, 1);
    g_assert_cmpint(store_queue_hold(f->conn, b, &error), ==, 1);
    g_assert_cmpint(store_queue_hold(f->conn, c, &error), ==, 1);
    g_autoptr(GPtrArray) got = claim(f, "host1", 10, T0, G_MAXINT64);
    g_assert_cmpuint(got->len, ==, 1);
    g_assert_cmpint(entry_id(got, 0), ==, d);
    g_assert_cmpint(store_queue_release(f->conn, c, &error), ==, 1);
    g_autoptr(GPtrArray) got_c = claim(f, "host1", 10, g_get_real_time() / G_USEC_PER_SEC + 1,
                                       g_get_real_time() / G_USEC_PER_SEC + 600);
    g_assert_cmpuint(got_c->len, ==, 1);
    gint64 far = g_get_real_time() / G_USEC_PER_SEC + 86400;
    outcome_ok(f, c, "host1", STORE_QUEUE_DEFERRED, T0, far, "421 busy", NULL);
    g_assert_no_error(error);

    g_autoptr(GPtrArray) held = store_queue_list(f->conn, "held", &error);
    g_assert_no_error(error);
    g_assert_cmpuint(held->len, ==, 2);
    g_assert_cmpint(((StoreQueueEntry *)held->pdata[0])->id, ==, a);
    g_assert_cmpint(((StoreQueueEntry *)held->pdata[1])->id, ==, b);
    g_autoptr(GPtrArray) all = store_queue_list(f->conn, NULL, &error);
    g_assert_cmpuint(all->len, ==, 4);

    /* Nothing applies: already held, being sent. */
    g_assert_cmpint(store_queue_hold(f->conn, a, &error), ==, 0);
    g_assert_cmpint(store_queue_hold(f->conn, d, &error), ==, 0);
    g_assert_cmpint(store_queue_release(f->conn, c, &error), ==, 0);
    g_assert_cmpint(store_queue_flush(f->conn, a, &error), ==, 0);
    g_assert_no_error(error);

    /* flush makes the deferred entry due now. */
    g_assert_cmpint(store_queue_flush(f->conn, 0, &error), ==, 1);
    g_autoptr(StoreQueueEntry) flushed = get(f, c);
    g_assert_cmpstr(flushed->state, ==, "deferred");
    g_assert_cmpint(flushed->next_try, <=, g_get_real_time() / G_USEC_PER_SEC);
    g_assert_cmpint(flushed->attempts, ==, 1);

    /* hold all: only c (deferred); release all: a, b, c. */
    g_assert_cmpint(store_queue_hold(f->conn, 0, &error), ==, 1);
    assert_state(f, c, "held");
    g_assert_cmpint(store_queue_release(f->conn, 0, &error), ==, 3);
    assert_state(f, a, "pending");
    assert_state(f, d, "sending");
    g_assert_no_error(error);

    /* delete: never the sending one; the file goes with the last user. */
    g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
    g_assert_cmpint(store_queue_delete(f->conn, d, paths, &error), ==, 0);
    g_assert_cmpint(store_queue_delete(f->conn, a, paths, &error), ==, 1);
    g_assert_cmpuint(paths->len, ==, 0);
    g_assert_cmpint(store_queue_delete(f->conn, 0, paths, &error), ==, 2);
    g_assert_no_error(error);
    g_assert_cmpuint(paths->len, ==, 1);
    g_assert_cmpstr(paths->pdata[0], ==, p1);
    g_autoptr(StoreQueueEntry) missing = store_queue_get(f->conn, a, &error);
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_autoptr(GPtrArray) left = store_queue_list(f->conn, NULL, &error);
    g_assert_cmpuint(left->len, ==, 1);
    g_assert_cmpint(((StoreQueueEntry *)left->pdata[0])->id, ==, d);
    g_autoptr(GPtrArray) no_such_state = store_queue_list(f->conn, "pending", &error);
    g_assert_cmpuint(no_such_state->len, ==, 0);
    g_assert_no_error(error);
}

static void
test_delete_many(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("delete of all entries works in several transactions; a message whose "
                   "entries span two of them is released by the second");
    g_autofree char *p1 = NULL;
    g_autofree char *p2 = NULL;
    gint64 m1 = add_message(f, "bulk one", &p1);
    gint64 m2 = add_message(f, "bulk two", &p2);
    for (int i = 0; i < 520; i++) {
        g_autofree char *rcpt = g_strdup_printf("r%d@remote.example", i);
        g_assert_cmpint(store_conn_exec(f->conn, Q_QUEUE_ADD, &error, "message", i < 260 ? m1 : m2,
                                        "sender", "", "recipient", rcpt, "now", (gint64)T0,
                                        "notify", "", "orcpt", "", "ret", "", "envid", "", NULL),
                        ==, 1);
    }
    g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
    g_assert_cmpint(store_queue_delete(f->conn, 0, paths, &error), ==, 520);
    g_assert_no_error(error);
    g_assert_cmpuint(paths->len, ==, 2);
    g_assert_cmpstr(paths->pdata[0], ==, p1);
    g_assert_cmpstr(paths->pdata[1], ==, p2);
    g_autoptr(GPtrArray) left = store_queue_list(f->conn, NULL, &error);
    g_assert_cmpuint(left->len, ==, 0);
}

static void
test_release_instance(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("At start-up an instance's claimed entries go back to pending, due at once, "
                   "and another instance's claims stay");
    gint64 m = add_message(f, "restart", NULL);
    gint64 a = add_entry(f, m, "a@remote.example", T0);
    gint64 b = add_entry(f, m, "b@remote.example", T0);
    gint64 c = add_entry(f, m, "c@remote.example", T0);
    g_autoptr(GPtrArray) mine = claim(f, "host1", 2, T0, T0 + 600);
    g_assert_cmpuint(mine->len, ==, 2);
    g_autoptr(GPtrArray) theirs = claim(f, "host2", 2, T0, T0 + 600);
    g_assert_cmpuint(theirs->len, ==, 1);
    g_assert_cmpint(entry_id(theirs, 0), ==, c);

    g_assert_cmpint(store_queue_release_instance(f->conn, "host1", &error), ==, 2);
    g_assert_no_error(error);
    assert_state(f, a, "pending");
    assert_state(f, b, "pending");
    assert_state(f, c, "sending");
    g_autoptr(StoreQueueEntry) e = get(f, a);
    g_assert_cmpstr(e->claimed_by, ==, "");
    g_assert_cmpint(e->attempts, ==, 0);
    g_autoptr(GPtrArray) again = claim(f, "host3", 10, T0 + 1, T0 + 600);
    g_assert_cmpuint(again->len, ==, 2);
    g_assert_cmpint(store_queue_release_instance(f->conn, "host1", &error), ==, 0);
}

static void
test_purge(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("The purge removes entries finished before the cut-off, keeps unfinished "
                   "ones, and drops message rows that nothing uses");
    gint64 m = add_message(f, "purge", NULL);
    gint64 old = add_entry(f, m, "old@remote.example", T0);
    gint64 recent = add_entry(f, m, "recent@remote.example", T0);
    gint64 waiting = add_entry(f, m, "waiting@remote.example", T0);
    g_autoptr(GPtrArray) got = claim(f, "host1", 2, T0, T0 + 600);
    g_assert_cmpuint(got->len, ==, 2);
    outcome_ok(f, old, "host1", STORE_QUEUE_DELIVERED, T0 + 10, 0, NULL, NULL);
    outcome_ok(f, recent, "host1", STORE_QUEUE_FAILED, T0 + 100, 0, NULL, NULL);

    gint64 purged = store_queue_purge(f->conn, T0 + 50, &error);
    g_assert_no_error(error);
    g_assert_cmpint(purged, ==, 1);
    g_autoptr(StoreQueueEntry) none = store_queue_get(f->conn, old, &error);
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    assert_state(f, recent, "failed");
    assert_state(f, waiting, "pending");
    g_assert_cmpint(store_queue_purge(f->conn, T0 + 50, &error), ==, 0);

    /* An unused message row (left by a concurrent reference drop) goes. */
    g_autofree char *orphan_path = NULL;
    add_message(f, "orphan", &orphan_path);
    g_assert_cmpint(store_queue_purge(f->conn, T0 + 1000, &error), ==, 1);
    g_assert_no_error(error);
    g_autoptr(GdaDataModel) rows =
        store_conn_select(f->conn, Q_MESSAGE_ID_BY_PATH, &error, "path", orphan_path, NULL);
    g_assert_no_error(error);
    g_assert_cmpint(gda_data_model_get_n_rows(rows), ==, 0);
    /* The waiting entry's message stays. */
    g_autoptr(StoreQueueEntry) w = get(f, waiting);
    g_assert_cmpint(w->size, >, 0);
}

/* ---- main ---- */

int
main(int argc, char **argv)
{
    static const StoreFixtureOptions options = { .suite = "queue", .workers = 1, .migrate = TRUE };

    g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

    if (!store_fixture_init(&options))
        return 1;

    store_fixture_add("claim", test_claim);
    store_fixture_add("lease", test_lease);
    store_fixture_add("priority", test_priority);
    store_fixture_add("held", test_held);
    store_fixture_add("concurrent", test_concurrent);
    store_fixture_add("contention", test_contention);
    store_fixture_add("outcomes", test_outcomes);
    store_fixture_add("spool-release", test_spool_release);
    store_fixture_add("admin", test_admin);
    store_fixture_add("delete-many", test_delete_many);
    store_fixture_add("release-instance", test_release_instance);
    store_fixture_add("purge", test_purge);

    return store_fixture_finish(g_test_run());
}
