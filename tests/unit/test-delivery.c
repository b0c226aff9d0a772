/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "delivery.h"
#include "store/store-mail.h"
#include "store/store-ops.h"
#include "store/store-queries.h"
#include "store-fixture.h"

/* The delivery's group commit: store_deliver_batch() gives every message
 * the UIDs, usage and quota alerts it would get alone, and
 * delivery_commit() retries a failed batch message by message so that only
 * the message at fault fails. On SQLite and on a private PostgreSQL
 * server. */

typedef StoreFixture Fixture;

/* ---- helpers ---- */

static void
add_user(Fixture *f, const char *name, gint64 quota)
{
    g_autoptr(GError) error = NULL;

    store_fixture_add_user(f, name);
    if (quota > 0) {
        g_assert_true(store_user_set_quota(f->conn, name, quota, &error));
        g_assert_no_error(error);
    }
}

static gint64
used_bytes(Fixture *f, const char *name)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(StoreUser) u = store_user_get(f->conn, name, &error);
    g_assert_no_error(error);
    g_assert_nonnull(u);
    return u != NULL ? u->used_bytes : -1;
}

/* @user's INBOX (StoreMailItem), by UID. */
static GArray *
inbox(Fixture *f, const char *user)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *holder = g_strdup_printf("test %s", user);
    gint64 folder = store_mailbox_lock(f->conn, user, "INBOX", holder, "test", FALSE,
                                       g_get_real_time() / G_USEC_PER_SEC + 60, NULL, &error);
    g_assert_no_error(error);
    g_assert_cmpint(folder, >, 0);
    GArray *items = store_mailbox_list(f->conn, folder, &error);
    g_assert_no_error(error);
    g_assert_true(store_mailbox_unlock(f->conn, folder, holder, &error));
    g_assert_no_error(error);
    return items;
}

static gint64
audit_rows(Fixture *f, const char *owner)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GdaDataModel) m =
        store_conn_select(f->conn, Q_MSGAUDIT_COUNT, &error, "owner", owner, NULL);
    g_assert_no_error(error);
    return store_model_int64(m, 0, 0);
}

static void
assert_alert(GPtrArray *alerts, guint index, const char *user, int level, gint64 used, gint64 quota)
{
    g_assert_cmpuint(alerts->len, >, index);
    StoreQuotaAlert *a = alerts->pdata[index];
    g_assert_cmpstr(a->user, ==, user);
    g_assert_cmpint(a->level, ==, level);
    g_assert_cmpint(a->used, ==, used);
    g_assert_cmpint(a->quota, ==, quota);
}

/* ---- tests ---- */

/* The line ends of the old byte-by-byte delivery_normalize(), to compare
 * the new one with. */
static GBytes *
normalize_reference(const char *data, gsize len)
{
    GByteArray *out = g_byte_array_new();
    for (gsize i = 0; i < len; i++) {
        if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
            g_byte_array_append(out, (const guint8 *)"\r", 1);
        if (data[i] == '\r' && (i + 1 == len || data[i + 1] != '\n')) {
            g_byte_array_append(out, (const guint8 *)"\r\n", 2);
            continue;
        }
        g_byte_array_append(out, (const guint8 *)data + i, 1);
    }
    if (out->len < 2 || out->data[out->len - 2] != '\r' || out->data[out->len - 1] != '\n')
        g_byte_array_append(out, (const guint8 *)"\r\n", 2);
    return g_byte_array_free_to_bytes(out);
}

static void
test_normalize(void)
{
    static const char alphabet[] = "ab\r\n.";
    static const char *const fixed[] = { "",      "\n",     "\r",   "\r\n",
                                         "a",     "a\nb",   "a\rb", "\n\n\r\r",
                                         "a\r\n", "\r\r\n", "\n\r", "x\r\ny\nz\r" };

    g_test_summary("delivery_normalize() turns every LF, CR and CRLF into CRLF and ends the "
                   "message with one, as the byte-by-byte version did");
    for (guint i = 0; i < G_N_ELEMENTS(fixed) + 2000; i++) {
        g_autofree char *random = NULL;
        const char *text = i < G_N_ELEMENTS(fixed) ? fixed[i] : NULL;
        gsize len;
        if (text == NULL) {
            len = (gsize)g_test_rand_int_range(0, 40);
            random = g_malloc(len + 1);
            for (gsize k = 0; k < len; k++)
                random[k] = alphabet[g_test_rand_int_range(0, sizeof alphabet - 1)];
            text = random;
        } else {
            len = strlen(text);
        }
        g_autoptr(GBytes) in = g_bytes_new(text, len);
        g_autoptr(GBytes) got = delivery_normalize(in);
        g_autoptr(GBytes) want = normalize_reference(text, len);
        if (!g_bytes_equal(got, want)) {
            g_autofree char *shown = g_strescape(text, NULL);
            g_test_message("input \"%s\"", shown);
        }
        g_assert_true(g_bytes_equal(got, want));
    }
}

static void
test_batch(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("One batch of messages gets the UIDs, usage and quota alerts of the same "
                   "messages delivered one after another; a batch with a missing user changes "
                   "nothing");
    add_user(f, "alice", 0);
    add_user(f, "bob", 1000);

    const char *prefix = "Delivered-To: alice@example.com\r\n";
    gint64 plen = (gint64)strlen(prefix);
    StoreMessage m[4] = {
        { "aa/0", 500, 1000, "s@example.net", "zero", NULL, NULL, NULL, NULL, NULL, 0, NULL },
        { "aa/1", 350, 1001, "s@example.net", "one", NULL, NULL, NULL, NULL, NULL, 0, NULL },
        { "aa/2", 100, 1002, "", NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL },
        { "aa/3", 300, 1003, "s@example.net", "three", NULL, NULL, NULL, NULL, NULL, 0, NULL },
    };
    /* Bob (quota 1000) goes 500, 850 (80 %), 1150 (100 %). */
    StoreDeliveryTarget both[] = { { "bob", "" }, { "alice", prefix } };
    StoreDeliveryTarget bob[] = { { "bob", "" } };
    StoreDeliveryTarget alice[] = { { "alice", prefix } };
    StoreQueueTarget far[] = { { "far@example.net", "FAILURE", NULL } };
    GPtrArray *alerts[4];
    for (int i = 0; i < 4; i++)
        alerts[i] = g_ptr_array_new_with_free_func((GDestroyNotify)store_quota_alert_free);
    StoreDelivery d[4] = {
        { &m[0], both, 2, NULL, 0, alerts[0], 0 },
        { &m[1], bob, 1, far, 1, alerts[1], 0 },
        { &m[2], alice, 1, NULL, 0, alerts[2], 0 },
        { &m[3], bob, 1, NULL, 0, alerts[3], 0 },
    };
    g_assert_true(store_begin(f->conn, &error));
    g_assert_true(store_deliver_batch(f->conn, d, 4, &error));
    g_assert_no_error(error);
    g_assert_true(store_commit(f->conn, &error));
    for (int i = 0; i < 4; i++) {
        g_assert_cmpint(d[i].message_id, >, 0);
        for (int k = 0; k < i; k++)
            g_assert_cmpint(d[i].message_id, !=, d[k].message_id);
    }
    g_assert_cmpuint(alerts[0]->len, ==, 0);
    g_assert_cmpuint(alerts[1]->len, ==, 1);
    assert_alert(alerts[1], 0, "bob", 80, 850, 1000);
    g_assert_cmpuint(alerts[2]->len, ==, 0);
    g_assert_cmpuint(alerts[3]->len, ==, 1);
    assert_alert(alerts[3], 0, "bob", 100, 1150, 1000);
    g_assert_cmpint(used_bytes(f, "bob"), ==, 1150);
    g_assert_cmpint(used_bytes(f, "alice"), ==, 600 + 2 * plen);

    /* UIDs in batch order, per mailbox. */
    g_autoptr(GArray) a = inbox(f, "alice");
    g_assert_cmpuint(a->len, ==, 2);
    g_assert_cmpuint(g_array_index(a, StoreMailItem, 0).uid, ==, 1);
    g_assert_cmpint(g_array_index(a, StoreMailItem, 0).message_id, ==, d[0].message_id);
    g_assert_cmpint(g_array_index(a, StoreMailItem, 0).size, ==, 500 + plen);
    g_assert_cmpuint(g_array_index(a, StoreMailItem, 1).uid, ==, 2);
    g_assert_cmpint(g_array_index(a, StoreMailItem, 1).message_id, ==, d[2].message_id);
    g_autoptr(GArray) b = inbox(f, "bob");
    g_assert_cmpuint(b->len, ==, 3);
    gint64 want[] = { d[0].message_id, d[1].message_id, d[3].message_id };
    for (guint i = 0; i < 3; i++) {
        g_assert_cmpuint(g_array_index(b, StoreMailItem, i).uid, ==, i + 1);
        g_assert_cmpint(g_array_index(b, StoreMailItem, i).message_id, ==, want[i]);
    }

    /* Alone, the next message sees what the batch left: the next UID, and
     * no alert (100 % was announced). */
    StoreMessage m4 = { "aa/4", 10, 1004, "", NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL };
    g_autoptr(GPtrArray) more =
        g_ptr_array_new_with_free_func((GDestroyNotify)store_quota_alert_free);
    g_assert_cmpint(store_deliver(f->conn, &m4, bob, 1, NULL, 0, more, &error), >, 0);
    g_assert_no_error(error);
    g_assert_cmpuint(more->len, ==, 0);

    /* A missing user fails the batch; nothing of it stays, and the
     * callers' alerts are as they were. */
    StoreMessage m5[2] = {
        { "aa/5", 300, 1005, "", NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL },
        { "aa/6", 300, 1006, "", NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL },
    };
    StoreDeliveryTarget ghost[] = { { "alice", prefix }, { "ghost", "" } };
    g_ptr_array_set_size(alerts[0], 0);
    g_ptr_array_add(alerts[0], g_new0(StoreQuotaAlert, 1)); /* the caller's, kept */
    StoreDelivery bad[2] = {
        { &m5[0], bob, 1, NULL, 0, alerts[0], 0 },
        { &m5[1], ghost, 2, NULL, 0, alerts[1], 0 },
    };
    guint before_alerts1 = alerts[1]->len;
    g_assert_true(store_begin(f->conn, &error));
    g_assert_false(store_deliver_batch(f->conn, bad, 2, &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    store_rollback(f->conn);
    g_assert_cmpuint(alerts[0]->len, ==, 1);
    g_assert_cmpuint(alerts[1]->len, ==, before_alerts1);
    g_assert_cmpint(bad[0].message_id, ==, 0);
    g_assert_cmpint(used_bytes(f, "bob"), ==, 1160);
    g_assert_cmpint(used_bytes(f, "alice"), ==, 600 + 2 * plen);

    /* The UIDs the failed batch took are free again. */
    StoreMessage m7 = { "aa/7", 10, 1007, "", NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL };
    g_assert_cmpint(store_deliver(f->conn, &m7, alice, 1, NULL, 0, NULL, &error), >, 0);
    g_assert_no_error(error);
    g_autoptr(GArray) a2 = inbox(f, "alice");
    g_assert_cmpuint(a2->len, ==, 3);
    g_assert_cmpuint(g_array_index(a2, StoreMailItem, 2).uid, ==, 3);
    g_autoptr(GArray) b2 = inbox(f, "bob");
    g_assert_cmpuint(b2->len, ==, 4);
    g_assert_cmpuint(g_array_index(b2, StoreMailItem, 3).uid, ==, 4);
    for (int i = 0; i < 4; i++)
        g_ptr_array_unref(alerts[i]);
}

static Config *
test_config(Fixture *f)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *path = g_build_filename(f->dir, "postroomd.conf", NULL);
    g_autofree char *text = g_strdup_printf("[server]\ndata_dir = %s\nhostname = mail.example.com\n"
                                            "[delivery]\ndefault_domain = example.com\n"
                                            "msgaudit = yes\n",
                                            f->dir);
    g_assert_true(g_file_set_contents(path, text, -1, &error));
    Config *config = config_load(path, &error);
    g_assert_no_error(error);
    g_assert_true(config_validate(config, NULL, &error));
    g_assert_no_error(error);
    return config;
}

/* A directory from the store, plus a user the store does not have: routing
 * accepts it, the commit then fails for it (a user deleted meanwhile). */
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

typedef struct {
    const char *rcpts[2];
    DeliveryJob *job;
} Job;

static void
prepare(Job *j, const DeliverySettings *s, const RouterData *dir, const char *rcpt,
        const char *subject)
{
    g_autoptr(GError) error = NULL;
    j->rcpts[0] = rcpt;
    j->rcpts[1] = NULL;
    DeliveryEnvelope env = {
        "sender@example.net", NULL, FALSE, "192.0.2.1", "client", "ESMTP", j->rcpts
    };
    g_autofree char *text = g_strdup_printf("Subject: %s\r\n\r\nbody\r\n", subject);
    g_autoptr(GBytes) msg = g_bytes_new(text, strlen(text));
    j->job = delivery_prepare(s, dir, msg, &env, &error);
    g_assert_no_error(error);
    g_assert_true(delivery_job_has_copies(j->job));
}

static guint
count_files(const char *dir)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name;
    guint n = 0;
    while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
        g_autofree char *child = g_build_filename(dir, name, NULL);
        if (g_file_test(child, G_FILE_TEST_IS_DIR))
            n += count_files(child);
        else
            n++;
    }
    return n;
}

/* Commits @n jobs together; returns their message ids (0: failed, with the
 * error's code in @codes). */
static void
commit(Fixture *f, const DeliverySettings *s, Job *jobs, guint n, gint64 *ids, int *codes)
{
    g_autofree DeliveryJob **list = g_new0(DeliveryJob *, n);
    for (guint i = 0; i < n; i++)
        list[i] = jobs[i].job;
    delivery_commit(f->conn, s, list, n);
    for (guint i = 0; i < n; i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(DeliveryReport) r = delivery_job_finish(jobs[i].job, &error);
        ids[i] = r != NULL ? r->message_id : 0;
        codes[i] = error != NULL ? error->code : -1;
        if (r == NULL)
            g_assert_true(error != NULL && error->domain == PR_STORE_ERROR);
        g_clear_pointer(&jobs[i].job, delivery_job_free);
    }
}

static void
test_commit_retry(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    DeliverySettings s = { 0 };
    Job jobs[5] = { 0 };
    gint64 ids[5];
    int codes[5];

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("A batch commits together; a batch with one message that cannot be stored "
                   "is retried message by message: only that message fails (its spool file "
                   "goes), the others keep UIDs in order, their msgaudit rows, and quota "
                   "alerts raised once");
    add_user(f, "alice", 0);
    add_user(f, "bob", 1); /* every message is over quota: one 120 % alert */
    g_autoptr(Config) config = test_config(f);
    delivery_settings_init(&s, config, "mail.example.com");
    g_autofree char *spool = g_build_filename(f->dir, "spool", NULL);
    g_autoptr(RouterData) dir = directory_with_ghost(f, &s);

    /* All good: one transaction. */
    prepare(&jobs[0], &s, dir, "alice", "a1");
    prepare(&jobs[1], &s, dir, "alice", "a2");
    commit(f, &s, jobs, 2, ids, codes);
    g_assert_cmpint(ids[0], >, 0);
    g_assert_cmpint(ids[1], >, ids[0]);

    /* The ghost fails the batch: retried one by one. */
    const char *who[5] = { "alice", "bob", "ghost", "bob", "alice" };
    for (int i = 0; i < 5; i++) {
        g_autofree char *subject = g_strdup_printf("mixed %d", i);
        prepare(&jobs[i], &s, dir, who[i], subject);
    }
    g_assert_cmpuint(count_files(spool), ==, 7);
    commit(f, &s, jobs, 5, ids, codes);
    for (int i = 0; i < 5; i++) {
        if (i == 2) {
            g_assert_cmpint(ids[i], ==, 0);
            g_assert_cmpint(codes[i], ==, PR_STORE_ERROR_NOT_FOUND);
        } else {
            g_assert_cmpint(ids[i], >, 0);
        }
    }
    /* The ghost's file is gone; bob's alert is a message of its own. */
    g_assert_cmpuint(count_files(spool), ==, 7);

    g_autoptr(GArray) a = inbox(f, "alice");
    g_assert_cmpuint(a->len, ==, 4);
    gint64 alice_ids[] = { 0, 0, ids[0], ids[4] };
    for (guint i = 0; i < a->len; i++) {
        g_assert_cmpuint(g_array_index(a, StoreMailItem, i).uid, ==, i + 1);
        if (alice_ids[i] != 0)
            g_assert_cmpint(g_array_index(a, StoreMailItem, i).message_id, ==, alice_ids[i]);
    }
    g_autoptr(GArray) b = inbox(f, "bob");
    g_assert_cmpuint(b->len, ==, 3);
    g_assert_cmpint(g_array_index(b, StoreMailItem, 0).message_id, ==, ids[1]);
    g_assert_cmpint(g_array_index(b, StoreMailItem, 1).message_id, ==, ids[3]);
    for (guint i = 0; i < b->len; i++)
        g_assert_cmpuint(g_array_index(b, StoreMailItem, i).uid, ==, i + 1);
    /* The third is the one alert: the failed batch's was not sent. */
    gint64 sum = 0;
    for (guint i = 0; i < b->len; i++)
        sum += g_array_index(b, StoreMailItem, i).size;
    g_assert_cmpint(used_bytes(f, "bob"), ==, sum);

    g_assert_cmpint(audit_rows(f, "alice"), ==, 4);
    g_assert_cmpint(audit_rows(f, "bob"), ==, 3);
    g_assert_cmpint(audit_rows(f, "ghost"), ==, 0);
    delivery_settings_clear(&s);
}

int
main(int argc, char **argv)
{
    static const StoreFixtureOptions options = { .suite = "delivery",
                                                 .workers = 1,
                                                 .migrate = TRUE };

    g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

    if (!store_fixture_init(&options))
        return 1;

    g_test_add_func("/delivery/normalize", test_normalize);
    store_fixture_add("batch", test_batch);
    store_fixture_add("commit-retry", test_commit_retry);
    return store_fixture_finish(g_test_run());
}
