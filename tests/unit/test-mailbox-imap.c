/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "delivery-service.h"
#include "host.h"
#include "mailbox-private.h"
#include "store/store-mail.h"
#include "store/store-ops.h"
#include "store/store-queries.h"
#include "store-fixture.h"

/* The IMAP side of PrMailbox (pr-mailbox.h after "IMAP"), through a real
 * PrHost with its store workers and delivery service, on SQLite and on a
 * private PostgreSQL server: flags and modseqs, copies and moves, syncs,
 * \Recent, change notification, MIME summaries and byte ranges. */

typedef StoreFixture Fixture;

/* ---- helpers ---- */

typedef struct {
    Fixture *f;
    PrHost *host;
    GMainLoop *loop;
    GAsyncResult *result;
    guint notified; /* notify callbacks run */
} Sdk;

static gboolean
on_timeout(gpointer data)
{
    gboolean *expired = data;
    *expired = TRUE;
    return G_SOURCE_REMOVE;
}

static void
got_result(GObject *source, GAsyncResult *res, gpointer user_data)
{
    Sdk *sdk = user_data;
    sdk->result = g_object_ref(res);
}

/* Runs the main loop until a result came, at most 60 s. */
static GAsyncResult *
wait_result(Sdk *sdk)
{
    gboolean expired = FALSE;
    guint id = g_timeout_add_seconds(60, on_timeout, &expired);
    while (sdk->result == NULL && !expired)
        g_main_context_iteration(NULL, TRUE);
    if (!expired)
        g_source_remove(id);
    g_assert_nonnull(sdk->result);
    return g_steal_pointer(&sdk->result);
}

/* Runs the main loop until @count notifications came, at most @seconds. */
static void
wait_notified(Sdk *sdk, guint count, guint seconds)
{
    gboolean expired = FALSE;
    guint id = g_timeout_add_seconds(seconds, on_timeout, &expired);
    while (sdk->notified < count && !expired)
        g_main_context_iteration(NULL, TRUE);
    if (!expired)
        g_source_remove(id);
    g_assert_cmpuint(sdk->notified, >=, count);
}

/* Runs what is ready without waiting. */
static void
drain(void)
{
    for (int i = 0; i < 100 && g_main_context_iteration(NULL, FALSE); i++)
        ;
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
    /* No poll unless a test asks: it would add calls at any time. */
    mailbox_notify_set_poll_seconds(sdk->host, 3600);
}

/* Once nothing is watched the registry goes, after a poll under way. */
static void
wait_unwatched(Sdk *sdk)
{
    gboolean expired = FALSE;
    guint id = g_timeout_add_seconds(30, on_timeout, &expired);
    while (sdk->host->mailbox_watch != NULL && !expired)
        g_main_context_iteration(NULL, TRUE);
    if (!expired)
        g_source_remove(id);
    g_assert_null(sdk->host->mailbox_watch);
}

static void
sdk_stop(Sdk *sdk)
{
    drain();
    /* Every mailbox closed: nothing watched, no poll left running. */
    wait_unwatched(sdk);
    g_assert_cmpint(sdk->host->mailbox_watchers, ==, 0);
    store_close(sdk->host->store);
    g_clear_pointer(&sdk->host->delivery, delivery_service_free);
    host_free(sdk->host);
}

static gint64
add_user(Fixture *f, const char *name)
{
    g_autoptr(GError) error = NULL;
    gint64 id = store_user_add(f->conn, name, "x", NULL, &error);
    g_assert_no_error(error);
    g_assert_cmpint(id, >, 0);
    return id;
}

static void
add_folder(Fixture *f, gint64 user_id, const char *name)
{
    g_autoptr(GError) error = NULL;
    g_assert_cmpint(store_conn_exec(f->conn, Q_FOLDER_ADD, &error, "user_id", user_id, "name", name,
                                    "uidvalidity", (gint64)4242, "special_use", NULL, NULL),
                    ==, 1);
    g_assert_no_error(error);
}

static void
deliver(Sdk *sdk, const char *rcpt, const char *text)
{
    g_autoptr(GError) error = NULL;
    PrEnvelope *env = pr_envelope_new("bob@example.net");
    pr_envelope_set_client(env, NULL, NULL, "SMTP");
    pr_envelope_add_recipient(env, rcpt, NULL, NULL);
    g_autoptr(GBytes) msg = g_bytes_new(text, strlen(text));
    pr_delivery_deliver_async(sdk->host, env, msg, NULL, got_result, sdk);
    pr_envelope_free(env);
    g_autoptr(GAsyncResult) res = wait_result(sdk);
    g_autoptr(PrDeliveryReport) report = pr_delivery_deliver_finish(sdk->host, res, &error);
    g_assert_no_error(error);
    g_assert_nonnull(report);
}

static void
deliver_n(Sdk *sdk, const char *rcpt, int n)
{
    for (int i = 0; i < n; i++) {
        g_autofree char *text = g_strdup_printf(
            "Subject: message %d\r\nFrom: bob@example.net\r\n\r\nbody %d\r\n", i, i);
        deliver(sdk, rcpt, text);
    }
}

static PrMailbox *
open_mailbox(Sdk *sdk, const char *user, const char *folder, PrMailboxAccess access)
{
    g_autoptr(GError) error = NULL;
    pr_mailbox_open_async(sdk->host, user, folder, access, "imap test", NULL, got_result, sdk);
    g_autoptr(GAsyncResult) res = wait_result(sdk);
    PrMailbox *m = pr_mailbox_open_finish(sdk->host, res, &error);
    g_assert_no_error(error);
    g_assert_nonnull(m);
    return m;
}

static void
close_mailbox(Sdk *sdk, PrMailbox *m)
{
    g_autoptr(GError) error = NULL;
    pr_mailbox_close_async(m, got_result, sdk);
    g_autoptr(GAsyncResult) res = wait_result(sdk);
    g_assert_true(pr_mailbox_close_finish(res, &error));
    g_assert_no_error(error);
}

static PrMailboxChanges *
sync_mailbox(Sdk *sdk, PrMailbox *m)
{
    g_autoptr(GError) error = NULL;
    pr_mailbox_sync_async(m, got_result, sdk);
    g_autoptr(GAsyncResult) res = wait_result(sdk);
    PrMailboxChanges *ch = pr_mailbox_sync_finish(m, res, &error);
    g_assert_no_error(error);
    g_assert_nonnull(ch);
    return ch;
}

/* Stores flags; returns the UIDs UNCHANGEDSINCE kept. */
static GArray *
store_flags(Sdk *sdk, PrMailbox *m, guint32 uid, PrFlagsChange change, const char *flags,
            guint64 unchanged_since)
{
    g_autoptr(GError) error = NULL;
    GArray *failed = NULL;
    pr_mailbox_store_flags_async(m, &uid, 1, change, flags, unchanged_since, got_result, sdk);
    g_autoptr(GAsyncResult) res = wait_result(sdk);
    g_assert_true(pr_mailbox_store_flags_finish(m, res, &failed, &error));
    g_assert_no_error(error);
    g_assert_nonnull(failed);
    return failed;
}

static void
delete_indexes(Sdk *sdk, PrMailbox *m, const guint *indexes, guint n)
{
    g_autoptr(GError) error = NULL;
    pr_mailbox_delete_async(m, indexes, n, FALSE, NULL, got_result, sdk);
    g_autoptr(GAsyncResult) res = wait_result(sdk);
    g_assert_true(pr_mailbox_delete_finish(m, res, &error));
    g_assert_no_error(error);
}

static gboolean
copy_uids(Sdk *sdk, PrMailbox *m, const guint32 *uids, guint n, const char *target, gboolean move,
          guint32 *uidvalidity, GArray **src, GArray **dst, GError **error)
{
    pr_mailbox_copy_async(m, uids, n, target, move, got_result, sdk);
    g_autoptr(GAsyncResult) res = wait_result(sdk);
    return pr_mailbox_copy_finish(m, res, uidvalidity, src, dst, error);
}

/* The whole output of @r. */
static GBytes *
read_all(Sdk *sdk, PrMessageReader *r)
{
    g_autoptr(GByteArray) out = g_byte_array_new();
    gboolean last = FALSE;

    for (int chunks = 0; !last; chunks++) {
        g_autoptr(GError) error = NULL;
        g_assert_cmpint(chunks, <, 100);
        pr_message_reader_next_async(r, NULL, got_result, sdk);
        g_autoptr(GAsyncResult) res = wait_result(sdk);
        g_autoptr(GBytes) chunk = pr_message_reader_next_finish(r, res, &last, &error);
        g_assert_no_error(error);
        g_assert_nonnull(chunk);
        gsize len;
        const guint8 *data = g_bytes_get_data(chunk, &len);
        g_byte_array_append(out, data, len);
    }
    return g_byte_array_free_to_bytes(g_steal_pointer(&out));
}

static gint64
used_bytes(Fixture *f, const char *user)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GdaDataModel) m = store_conn_select(f->conn, Q_USER_GET, &error, "name", user, NULL);
    g_assert_no_error(error);
    g_assert_cmpint(gda_data_model_get_n_rows(m), ==, 1);
    return store_model_int64(m, 7, 0);
}

static gint64
inbox_id(Fixture *f, const char *user)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GdaDataModel) m =
        store_conn_select(f->conn, Q_FOLDER_OF_USER, &error, "name", user, "folder", "INBOX", NULL);
    g_assert_no_error(error);
    g_assert_cmpint(gda_data_model_get_n_rows(m), ==, 1);
    return store_model_int64(m, 0, 0);
}

static guint
n_array(GArray *a)
{
    return a != NULL ? a->len : 0;
}

/* ---- flags ---- */

static void
test_flags_normalize(void)
{
    g_autofree char *a = store_flags_normalize("\\SEEN $Work \\seen $work \\Recent  \\flagged");
    g_assert_cmpstr(a, ==, "\\Seen $Work \\Flagged");
    g_autofree char *b = store_flags_apply("\\Seen $Work", PR_FLAGS_ADD, "\\deleted $WORK");
    g_assert_cmpstr(b, ==, "\\Seen $Work \\Deleted");
    g_autofree char *c = store_flags_apply("\\Seen $Work", PR_FLAGS_REMOVE, "\\SEEN");
    g_assert_cmpstr(c, ==, "$Work");
    g_autofree char *d = store_flags_apply("\\Seen $Work", PR_FLAGS_REPLACE, "\\draft \\Recent");
    g_assert_cmpstr(d, ==, "\\Draft");
    g_autofree char *e = store_flags_normalize("");
    g_assert_cmpstr(e, ==, "");
}

static void
test_flags(Fixture *f, gconstpointer data)
{
    Sdk sdk = { 0 };

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("STORE: flags normalised, a new modseq (and HIGHESTMODSEQ) only for a real "
                   "change, UNCHANGEDSINCE refuses newer messages; the snapshot changes at the "
                   "next sync, which reports the message as changed");
    add_user(f, "alice");
    sdk_start(&sdk, f);
    deliver_n(&sdk, "alice", 3);
    PrMailbox *m = open_mailbox(&sdk, "alice", "INBOX", PR_MAILBOX_SHARED);
    g_assert_cmpuint(pr_mailbox_get_count(m), ==, 3);
    g_assert_cmpstr(pr_mailbox_get_flags(m, 1), ==, "");
    g_assert_cmpuint(pr_mailbox_get_uidnext(m), ==, pr_mailbox_get_uid(m, 2) + 1);
    g_assert_cmpint(pr_mailbox_get_internal_date(m, 0), >, 1000000000);
    guint64 highest = pr_mailbox_get_highest_modseq(m);
    guint64 modseq = pr_mailbox_get_modseq(m, 1);
    g_assert_cmpuint(modseq, <=, highest);
    guint32 uid = pr_mailbox_get_uid(m, 1);

    /* Another session on the folder sees the change at its next sync. */
    PrMailbox *other = open_mailbox(&sdk, "alice", "INBOX", PR_MAILBOX_SHARED);
    g_autoptr(GArray) f1 = store_flags(&sdk, m, uid, PR_FLAGS_ADD, "\\seen $Work \\Recent", 0);
    g_assert_cmpuint(f1->len, ==, 0);
    /* The session that made it at once (STORE answers with it). */
    g_assert_cmpstr(pr_mailbox_get_flags(m, 1), ==, "\\Seen $Work");
    g_assert_cmpuint(pr_mailbox_get_modseq(m, 1), ==, highest + 1);
    g_assert_cmpstr(pr_mailbox_get_flags(other, 1), ==, "");
    PrMailboxChanges *ch = sync_mailbox(&sdk, other);
    g_assert_cmpuint(n_array(ch->expunged), ==, 0);
    g_assert_cmpuint(n_array(ch->changed), ==, 1);
    g_assert_cmpuint(g_array_index(ch->changed, guint, 0), ==, 1);
    g_assert_cmpuint(ch->exists, ==, 3);
    pr_mailbox_changes_free(ch);
    g_assert_cmpstr(pr_mailbox_get_flags(other, 1), ==, "\\Seen $Work");
    g_assert_cmpuint(pr_mailbox_get_modseq(other, 1), ==, highest + 1);
    g_assert_cmpuint(pr_mailbox_get_highest_modseq(other), ==, highest + 1);
    /* Its own change is not reported again. */
    ch = sync_mailbox(&sdk, m);
    g_assert_cmpuint(n_array(ch->changed), ==, 0);
    pr_mailbox_changes_free(ch);

    /* The same again changes nothing: no new modseq. */
    g_autoptr(GArray) f2 = store_flags(&sdk, m, uid, PR_FLAGS_ADD, "\\SEEN", 0);
    ch = sync_mailbox(&sdk, other);
    g_assert_cmpuint(n_array(ch->changed), ==, 0);
    pr_mailbox_changes_free(ch);
    g_assert_cmpuint(pr_mailbox_get_highest_modseq(other), ==, highest + 1);

    /* UNCHANGEDSINCE older than the message's modseq: refused. */
    g_autoptr(GArray) f3 = store_flags(&sdk, m, uid, PR_FLAGS_REPLACE, "", highest);
    g_assert_cmpuint(f3->len, ==, 1);
    g_assert_cmpuint(g_array_index(f3, guint32, 0), ==, uid);
    g_assert_cmpstr(pr_mailbox_get_flags(m, 1), ==, "\\Seen $Work");
    /* ... and as new as it: applied. */
    g_autoptr(GArray) f4 = store_flags(&sdk, m, uid, PR_FLAGS_REMOVE, "\\Seen", highest + 1);
    g_assert_cmpuint(f4->len, ==, 0);
    ch = sync_mailbox(&sdk, other);
    g_assert_cmpuint(n_array(ch->changed), ==, 1);
    pr_mailbox_changes_free(ch);
    g_assert_cmpstr(pr_mailbox_get_flags(other, 1), ==, "$Work");
    g_assert_cmpuint(pr_mailbox_get_modseq(other, 1), ==, highest + 2);
    g_assert_cmpstr(pr_mailbox_get_flags(other, 0), ==, "");
    close_mailbox(&sdk, other);

    /* An expunge is a change too (RFC 7162). */
    guint first = 0;
    delete_indexes(&sdk, m, &first, 1);
    ch = sync_mailbox(&sdk, m);
    g_assert_cmpuint(n_array(ch->expunged), ==, 1);
    g_assert_cmpuint(g_array_index(ch->expunged, guint, 0), ==, 0);
    g_assert_cmpuint(ch->exists, ==, 2);
    pr_mailbox_changes_free(ch);
    g_assert_cmpuint(pr_mailbox_get_uid(m, 0), ==, uid);
    g_assert_cmpuint(pr_mailbox_get_highest_modseq(m), >, highest + 2);
    close_mailbox(&sdk, m);
    sdk_stop(&sdk);
}

static void
test_flags_sparse(Fixture *f, gconstpointer data)
{
    Sdk sdk = { 0 };
    g_autoptr(GError) error = NULL;
    GArray *failed = NULL;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("STORE on a few UIDs far apart (read one row each), one given twice and one "
                   "expunged: those change, once each, the ones between do not");
    add_user(f, "alice");
    sdk_start(&sdk, f);
    deliver_n(&sdk, "alice", 20);
    PrMailbox *m = open_mailbox(&sdk, "alice", "INBOX", PR_MAILBOX_SHARED);
    /* Four UIDs over a range of twenty: more than four rows each. */
    guint64 highest = pr_mailbox_get_highest_modseq(m);
    guint gone = 19;
    guint32 uids[] = { pr_mailbox_get_uid(m, 17), pr_mailbox_get_uid(m, 0),
                       pr_mailbox_get_uid(m, 17), pr_mailbox_get_uid(m, 19) };
    delete_indexes(&sdk, m, &gone, 1);
    pr_mailbox_store_flags_async(m, uids, G_N_ELEMENTS(uids), PR_FLAGS_ADD, "\\Flagged", 0,
                                 got_result, &sdk);
    g_autoptr(GAsyncResult) res = wait_result(&sdk);
    g_assert_true(pr_mailbox_store_flags_finish(m, res, &failed, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(failed->len, ==, 0);
    g_array_unref(failed);
    PrMailboxChanges *ch = sync_mailbox(&sdk, m);
    g_assert_cmpuint(ch->exists, ==, 19);
    pr_mailbox_changes_free(ch);
    for (guint i = 0; i < 19; i++)
        g_assert_cmpstr(pr_mailbox_get_flags(m, i), ==, i == 0 || i == 17 ? "\\Flagged" : "");
    /* Two changes after the expunge's: two new modseqs. */
    g_assert_cmpuint(pr_mailbox_get_modseq(m, 0), >, highest);
    g_assert_cmpuint(pr_mailbox_get_modseq(m, 17), >, highest);
    g_assert_cmpuint(pr_mailbox_get_modseq(m, 0), !=, pr_mailbox_get_modseq(m, 17));
    g_assert_cmpuint(pr_mailbox_get_highest_modseq(m), ==,
                     MAX(pr_mailbox_get_modseq(m, 0), pr_mailbox_get_modseq(m, 17)));
    g_assert_cmpuint(pr_mailbox_get_modseq(m, 5), <=, highest);
    close_mailbox(&sdk, m);
    sdk_stop(&sdk);
}

/* ---- copies ---- */

static void
test_copy_move(Fixture *f, gconstpointer data)
{
    Sdk sdk = { 0 };
    g_autoptr(GError) error = NULL;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("COPY and MOVE: new UIDs from the target's UIDNEXT in the order given, flags "
                   "and dates kept, the quota counts copies, MOVE removes the originals; an "
                   "unknown target fails");
    gint64 alice = add_user(f, "alice");
    add_folder(f, alice, "Archive");
    sdk_start(&sdk, f);
    deliver_n(&sdk, "alice", 3);
    PrMailbox *m = open_mailbox(&sdk, "alice", "INBOX", PR_MAILBOX_SHARED);
    guint32 uids[3] = { pr_mailbox_get_uid(m, 0), pr_mailbox_get_uid(m, 1),
                        pr_mailbox_get_uid(m, 2) };
    g_autoptr(GArray) unused = store_flags(&sdk, m, uids[1], PR_FLAGS_ADD, "\\Flagged", 0);
    gint64 used = used_bytes(f, "alice");
    gint64 sizes01 = pr_mailbox_get_size(m, 0) + pr_mailbox_get_size(m, 1);

    guint32 uidvalidity = 0;
    GArray *src = NULL, *dst = NULL;
    g_assert_true(copy_uids(&sdk, m, uids, 2, "Archive", FALSE, &uidvalidity, &src, &dst, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(uidvalidity, ==, 4242);
    g_assert_cmpuint(src->len, ==, 2);
    g_assert_cmpuint(dst->len, ==, 2);
    g_assert_cmpuint(g_array_index(src, guint32, 0), ==, uids[0]);
    g_assert_cmpuint(g_array_index(dst, guint32, 0), ==, 1);
    g_assert_cmpuint(g_array_index(dst, guint32, 1), ==, 2);
    g_clear_pointer(&src, g_array_unref);
    g_clear_pointer(&dst, g_array_unref);
    g_assert_cmpint(used_bytes(f, "alice"), ==, used + sizes01);

    /* MOVE: the originals go in the same transaction. */
    g_assert_true(
        copy_uids(&sdk, m, &uids[2], 1, "Archive", TRUE, &uidvalidity, &src, &dst, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(g_array_index(dst, guint32, 0), ==, 3);
    g_clear_pointer(&src, g_array_unref);
    g_clear_pointer(&dst, g_array_unref);
    g_assert_cmpint(used_bytes(f, "alice"), ==, used + sizes01);
    PrMailboxChanges *ch = sync_mailbox(&sdk, m);
    g_assert_cmpuint(n_array(ch->expunged), ==, 1);
    g_assert_cmpuint(g_array_index(ch->expunged, guint, 0), ==, 2);
    g_assert_cmpuint(ch->exists, ==, 2);
    pr_mailbox_changes_free(ch);

    /* No such folder; UIDs no longer there are skipped. */
    g_assert_false(copy_uids(&sdk, m, uids, 1, "Nowhere", FALSE, NULL, NULL, NULL, &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_assert_true(copy_uids(&sdk, m, &uids[2], 1, "Archive", FALSE, NULL, &src, NULL, &error));
    g_assert_cmpuint(src->len, ==, 0);
    g_clear_pointer(&src, g_array_unref);

    PrMailbox *a = open_mailbox(&sdk, "alice", "Archive", PR_MAILBOX_SHARED);
    g_assert_cmpuint(pr_mailbox_get_count(a), ==, 3);
    g_assert_cmpstr(pr_mailbox_get_flags(a, 0), ==, "");
    g_assert_cmpstr(pr_mailbox_get_flags(a, 1), ==, "\\Flagged");
    g_assert_cmpint(pr_mailbox_get_internal_date(a, 1), ==, pr_mailbox_get_internal_date(m, 1));
    g_assert_cmpuint(pr_mailbox_get_uidnext(a), ==, 4);
    /* The copies read the same bytes as the originals. */
    g_autoptr(PrMessageReader) r1 = pr_mailbox_read_message(m, 0, PR_MESSAGE_RAW, -1);
    g_autoptr(PrMessageReader) r2 = pr_mailbox_read_message(a, 0, PR_MESSAGE_RAW, -1);
    g_autoptr(GBytes) b1 = read_all(&sdk, r1);
    g_autoptr(GBytes) b2 = read_all(&sdk, r2);
    g_assert_true(g_bytes_equal(b1, b2));

    /* Back to the INBOX by any spelling; deleting a copy keeps the other. */
    guint32 back = pr_mailbox_get_uid(a, 2);
    g_assert_true(copy_uids(&sdk, a, &back, 1, "inbox", TRUE, NULL, NULL, &dst, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(g_array_index(dst, guint32, 0), ==, uids[2] + 1);
    g_clear_pointer(&dst, g_array_unref);
    guint zero = 0;
    delete_indexes(&sdk, a, &zero, 1);
    g_clear_pointer(&r1, pr_message_reader_free);
    r1 = pr_mailbox_read_message(m, 0, PR_MESSAGE_RAW, -1);
    g_autoptr(GBytes) b3 = read_all(&sdk, r1);
    g_assert_true(g_bytes_equal(b1, b3));

    close_mailbox(&sdk, a);
    close_mailbox(&sdk, m);
    sdk_stop(&sdk);
}

/* ---- syncs and \Recent ---- */

static void
test_sync(Fixture *f, gconstpointer data)
{
    Sdk sdk = { 0 };

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("Two sessions on a folder: one sees the other's expunges (old indexes, "
                   "descending), flag changes (new indexes, ascending) and new deliveries");
    add_user(f, "alice");
    sdk_start(&sdk, f);
    deliver_n(&sdk, "alice", 5);
    PrMailbox *a = open_mailbox(&sdk, "alice", "INBOX", PR_MAILBOX_SHARED);
    PrMailbox *b = open_mailbox(&sdk, "alice", "INBOX", PR_MAILBOX_SHARED);
    guint32 uid3 = pr_mailbox_get_uid(a, 3);
    guint32 uid4 = pr_mailbox_get_uid(a, 4);

    guint gone[2] = { 0, 2 };
    delete_indexes(&sdk, b, gone, 2);
    g_autoptr(GArray) f1 = store_flags(&sdk, b, uid4, PR_FLAGS_ADD, "\\Answered", 0);
    g_autoptr(GArray) f2 = store_flags(&sdk, b, uid3, PR_FLAGS_ADD, "\\Seen", 0);
    deliver_n(&sdk, "alice", 1);

    PrMailboxChanges *ch = sync_mailbox(&sdk, a);
    g_assert_cmpuint(n_array(ch->expunged), ==, 2);
    g_assert_cmpuint(g_array_index(ch->expunged, guint, 0), ==, 2);
    g_assert_cmpuint(g_array_index(ch->expunged, guint, 1), ==, 0);
    g_assert_cmpuint(n_array(ch->changed), ==, 2);
    g_assert_cmpuint(g_array_index(ch->changed, guint, 0), ==, 1);
    g_assert_cmpuint(g_array_index(ch->changed, guint, 1), ==, 2);
    g_assert_cmpuint(ch->exists, ==, 4);
    /* a took the new message's \Recent: it synced first. */
    g_assert_cmpuint(ch->new_recent, ==, 1);
    g_assert_true(pr_mailbox_is_recent(a, 3));
    pr_mailbox_changes_free(ch);
    g_assert_cmpuint(pr_mailbox_get_uid(a, 1), ==, uid3);
    g_assert_cmpstr(pr_mailbox_get_flags(a, 2), ==, "\\Answered");

    /* Nothing new: nothing to report. */
    ch = sync_mailbox(&sdk, a);
    g_assert_cmpuint(n_array(ch->expunged) + n_array(ch->changed) + ch->new_recent, ==, 0);
    pr_mailbox_changes_free(ch);

    /* Changes without an expunge (read as a delta): the snapshot is the
     * one a new session gets. */
    guint32 uid0 = pr_mailbox_get_uid(a, 0);
    g_autoptr(GArray) f3 = store_flags(&sdk, b, uid0, PR_FLAGS_ADD, "$Delta", 0);
    deliver_n(&sdk, "alice", 1);
    ch = sync_mailbox(&sdk, a);
    g_assert_cmpuint(n_array(ch->expunged), ==, 0);
    g_assert_cmpuint(n_array(ch->changed), ==, 1);
    g_assert_cmpuint(g_array_index(ch->changed, guint, 0), ==, 0);
    g_assert_cmpuint(ch->exists, ==, 5);
    g_assert_cmpuint(ch->new_recent, ==, 1);
    pr_mailbox_changes_free(ch);
    PrMailbox *fresh = open_mailbox(&sdk, "alice", "INBOX", PR_MAILBOX_SHARED_READ_ONLY);
    g_assert_cmpuint(pr_mailbox_get_count(fresh), ==, 5);
    for (guint i = 0; i < 5; i++) {
        g_assert_cmpuint(pr_mailbox_get_uid(a, i), ==, pr_mailbox_get_uid(fresh, i));
        g_assert_cmpstr(pr_mailbox_get_flags(a, i), ==, pr_mailbox_get_flags(fresh, i));
        g_assert_cmpuint(pr_mailbox_get_modseq(a, i), ==, pr_mailbox_get_modseq(fresh, i));
        g_assert_cmpint(pr_mailbox_get_size(a, i), ==, pr_mailbox_get_size(fresh, i));
    }
    g_assert_cmpuint(pr_mailbox_get_highest_modseq(a), ==, pr_mailbox_get_highest_modseq(fresh));
    g_assert_cmpuint(pr_mailbox_get_uidnext(a), ==, pr_mailbox_get_uidnext(fresh));
    g_assert_cmpstr(pr_mailbox_get_flags(a, 0), ==, "$Delta");
    g_assert_cmpstr(pr_mailbox_get_flags(a, 2), ==, "\\Answered");
    close_mailbox(&sdk, fresh);

    ch = sync_mailbox(&sdk, b);
    g_assert_cmpuint(ch->new_recent, ==, 0);
    g_assert_false(pr_mailbox_is_recent(b, 3));
    pr_mailbox_changes_free(ch);

    /* A held message released by the administrator keeps its UID: it
     * cannot come back among a session's messages, only at a new one. */
    g_autoptr(GError) error = NULL;
    guint32 held_uid = pr_mailbox_get_uid(b, 1);
    guint one = 1;
    g_autoptr(GAsyncResult) res = NULL;
    pr_mailbox_delete_async(b, &one, 1, TRUE, NULL, got_result, &sdk);
    res = wait_result(&sdk);
    g_assert_true(pr_mailbox_delete_finish(b, res, &error));
    ch = sync_mailbox(&sdk, a);
    g_assert_cmpuint(ch->exists, ==, 4);
    pr_mailbox_changes_free(ch);
    g_assert_cmpint(store_conn_exec(f->conn, Q_MAILBOX_HOLD, &error, "held", FALSE, "id",
                                    inbox_id(f, "alice"), "uid", (gint64)held_uid, NULL),
                    ==, 1);
    ch = sync_mailbox(&sdk, a);
    g_assert_cmpuint(ch->exists, ==, 4);
    g_assert_cmpuint(n_array(ch->expunged) + n_array(ch->changed), ==, 0);
    pr_mailbox_changes_free(ch);
    PrMailbox *c = open_mailbox(&sdk, "alice", "INBOX", PR_MAILBOX_SHARED_READ_ONLY);
    g_assert_cmpuint(pr_mailbox_get_count(c), ==, 5);
    g_assert_cmpuint(pr_mailbox_get_uid(c, 1), ==, held_uid);
    close_mailbox(&sdk, c);
    close_mailbox(&sdk, a);
    close_mailbox(&sdk, b);
    sdk_stop(&sdk);
}

static void
test_recent(Fixture *f, gconstpointer data)
{
    Sdk sdk = { 0 };

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("\\Recent: taken by the first read-write session only, never by a read-only "
                   "one (EXAMINE) nor by POP3");
    add_user(f, "alice");
    sdk_start(&sdk, f);
    deliver_n(&sdk, "alice", 2);

    PrMailbox *ro = open_mailbox(&sdk, "alice", "INBOX", PR_MAILBOX_SHARED_READ_ONLY);
    g_assert_false(pr_mailbox_is_recent(ro, 0));
    g_assert_false(pr_mailbox_is_recent(ro, 1));
    close_mailbox(&sdk, ro);
    PrMailbox *pop = open_mailbox(&sdk, "alice", "INBOX", PR_MAILBOX_EXCLUSIVE);
    g_assert_false(pr_mailbox_is_recent(pop, 0));
    g_assert_cmpuint(pr_mailbox_get_uidnext(pop), ==, pr_mailbox_get_uid(pop, 1) + 1);
    close_mailbox(&sdk, pop);

    PrMailbox *one = open_mailbox(&sdk, "alice", "INBOX", PR_MAILBOX_SHARED);
    g_assert_true(pr_mailbox_is_recent(one, 0));
    g_assert_true(pr_mailbox_is_recent(one, 1));
    close_mailbox(&sdk, one);
    PrMailbox *two = open_mailbox(&sdk, "alice", "INBOX", PR_MAILBOX_SHARED);
    g_assert_false(pr_mailbox_is_recent(two, 0));
    g_assert_false(pr_mailbox_is_recent(two, 1));

    ro = open_mailbox(&sdk, "alice", "INBOX", PR_MAILBOX_SHARED_READ_ONLY);
    deliver_n(&sdk, "alice", 1);
    PrMailboxChanges *ch = sync_mailbox(&sdk, ro);
    g_assert_cmpuint(ch->exists, ==, 3);
    g_assert_cmpuint(ch->new_recent, ==, 0);
    pr_mailbox_changes_free(ch);
    ch = sync_mailbox(&sdk, two);
    g_assert_cmpuint(ch->new_recent, ==, 1);
    g_assert_true(pr_mailbox_is_recent(two, 2));
    pr_mailbox_changes_free(ch);
    /* Nothing new: a sync takes nothing, and the message stays taken. */
    ch = sync_mailbox(&sdk, two);
    g_assert_cmpuint(ch->new_recent, ==, 0);
    g_assert_true(pr_mailbox_is_recent(two, 2));
    pr_mailbox_changes_free(ch);
    PrMailbox *three = open_mailbox(&sdk, "alice", "INBOX", PR_MAILBOX_SHARED);
    g_assert_false(pr_mailbox_is_recent(three, 2));
    close_mailbox(&sdk, three);
    close_mailbox(&sdk, ro);
    close_mailbox(&sdk, two);
    sdk_stop(&sdk);
}

/* ---- notification ---- */

static gboolean
count_notify(gpointer data)
{
    Sdk *sdk = data;
    sdk->notified++;
    return G_SOURCE_CONTINUE;
}

static void
test_notify(Fixture *f, gconstpointer data)
{
    Sdk sdk = { 0 };
    g_autoptr(GError) error = NULL;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("Change notification: at once after a delivery and another session's STORE, "
                   "one call for several changes, within a poll for a change made by another "
                   "instance (the database changed directly); nothing after NULL or close");
    add_user(f, "alice");
    add_user(f, "carol");
    sdk_start(&sdk, f);
    deliver_n(&sdk, "alice", 1);
    PrMailbox *idle = open_mailbox(&sdk, "alice", "INBOX", PR_MAILBOX_SHARED);
    PrMailbox *other = open_mailbox(&sdk, "alice", "INBOX", PR_MAILBOX_SHARED);
    pr_mailbox_set_change_notify(idle, count_notify, &sdk);
    g_assert_nonnull(sdk.host->mailbox_watch);

    deliver_n(&sdk, "alice", 1);
    wait_notified(&sdk, 1, 30);

    /* Another user's mail is not this folder's change. */
    guint before = sdk.notified;
    deliver_n(&sdk, "carol", 1);
    drain();
    g_assert_cmpuint(sdk.notified, ==, before);

    /* Another session's change; an unwatched folder's is nobody's. */
    host_mailbox_changed(sdk.host, 999999);
    g_autoptr(GArray) f1 =
        store_flags(&sdk, other, pr_mailbox_get_uid(other, 0), PR_FLAGS_ADD, "\\Seen", 0);
    wait_notified(&sdk, before + 1, 30);
    drain();
    g_assert_cmpuint(sdk.notified, ==, before + 1);
    /* Two changes before the main loop turns: one call. */
    before = sdk.notified;
    host_mailbox_changed(sdk.host, inbox_id(f, "alice"));
    host_mailbox_changed(sdk.host, inbox_id(f, "alice"));
    drain();
    g_assert_cmpuint(sdk.notified, ==, before + 1);

    /* Another instance: only the poll can see it. */
    mailbox_notify_set_poll_seconds(sdk.host, 1);
    /* First the changes above, as the poll sees them. */
    wait_notified(&sdk, sdk.notified + 1, 20);
    before = sdk.notified;
    g_assert_cmpint(store_conn_exec(f->conn, Q_MAILBOX_IMAP_EXPUNGE_TOUCH, &error, "id",
                                    inbox_id(f, "alice"), NULL),
                    ==, 1);
    g_assert_no_error(error);
    wait_notified(&sdk, before + 1, 20);
    mailbox_notify_set_poll_seconds(sdk.host, 3600);

    /* Stopped: no more calls, and nothing watched once all are off. */
    pr_mailbox_set_change_notify(idle, NULL, NULL);
    wait_unwatched(&sdk);
    before = sdk.notified;
    deliver_n(&sdk, "alice", 1);
    drain();
    g_assert_cmpuint(sdk.notified, ==, before);

    /* Closing a mailbox that listens stops it too. */
    pr_mailbox_set_change_notify(other, count_notify, &sdk);
    close_mailbox(&sdk, other);
    g_assert_null(sdk.host->mailbox_watch);
    deliver_n(&sdk, "alice", 1);
    drain();
    g_assert_cmpuint(sdk.notified, ==, before);
    close_mailbox(&sdk, idle);
    sdk_stop(&sdk);
}

static void
test_folders_state(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("The poll's query: the states of many folders (more than one query's worth), "
                   "unknown ids left out");
    gint64 alice = add_user(f, "alice");
    for (int i = 0; i < 40; i++) {
        g_autofree char *name = g_strdup_printf("F%02d", i);
        add_folder(f, alice, name);
    }
    g_autoptr(GdaDataModel) all =
        store_conn_select(f->conn, Q_FOLDER_LIST, &error, "user_id", alice, NULL);
    g_assert_no_error(error);
    g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(gint64));
    gint64 unknown = 999999;
    g_array_append_val(ids, unknown);
    for (int r = 0; r < gda_data_model_get_n_rows(all); r++) {
        gint64 id = store_model_int64(all, 0, r);
        g_array_append_val(ids, id);
    }
    g_assert_cmpuint(ids->len, >, 40);
    g_autoptr(GArray) states = store_folders_state(f->conn, (gint64 *)ids->data, ids->len, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(states->len, ==, ids->len - 1);
    for (guint i = 0; i < states->len; i++) {
        StoreFolderState *st = &g_array_index(states, StoreFolderState, i);
        g_assert_cmpint(st->folder_id, !=, unknown);
        g_assert_cmpuint(st->uidnext, ==, 1);
        g_assert_cmpuint(st->highestmodseq, >=, 1);
    }
}

/* ---- summaries and ranges ---- */

#define MULTIPART                                                                                  \
    "From: Bob <bob@example.net>\r\n"                                                              \
    "To: alice@mail.example.com\r\n"                                                               \
    "Subject: parts\r\n"                                                                           \
    "MIME-Version: 1.0\r\n"                                                                        \
    "Content-Type: multipart/mixed; boundary=\"XX\"\r\n"                                           \
    "\r\n"                                                                                         \
    "--XX\r\n"                                                                                     \
    "Content-Type: text/plain\r\n"                                                                 \
    "\r\n"                                                                                         \
    "first part\r\n"                                                                               \
    "--XX\r\n"                                                                                     \
    "Content-Type: text/html\r\n"                                                                  \
    "\r\n"                                                                                         \
    "<p>second</p>\r\n"                                                                            \
    "--XX--\r\n"

static gint64
mime_rows(Fixture *f)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GdaDataModel) m =
        store_conn_select(f->conn, Q_MAILBOX_IMAP_MIME_ONE, &error, "id", (gint64)1, NULL);
    g_assert_no_error(error);
    return gda_data_model_get_n_rows(m);
}

static void
load_summaries(Sdk *sdk, PrMailbox *m, const guint *indexes, guint n)
{
    g_autoptr(GError) error = NULL;
    pr_mailbox_load_summaries_async(m, indexes, n, got_result, sdk);
    g_autoptr(GAsyncResult) res = wait_result(sdk);
    g_assert_true(pr_mailbox_load_summaries_finish(m, res, &error));
    g_assert_no_error(error);
}

/* The @length octets of @whole from @offset. */
static void
assert_slice(GBytes *whole, GBytes *part, gint64 offset, gint64 length)
{
    gsize len;
    const char *data = g_bytes_get_data(whole, &len);
    gsize want = offset >= (gint64)len ? 0 : MIN((gsize)length, len - offset);
    g_assert_cmpuint(g_bytes_get_size(part), ==, want);
    if (want > 0)
        g_assert_cmpmem(g_bytes_get_data(part, NULL), want, data + offset, want);
}

static void
test_summaries(Fixture *f, gconstpointer data)
{
    Sdk sdk = { 0 };
    g_autoptr(GError) error = NULL;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("FETCH's summaries: made once at delivery and stored (a session reads the "
                   "row), sections found with the per-mailbox header lines counted, read as "
                   "ranges equal to slices of the whole message");
    add_user(f, "alice");
    sdk_start(&sdk, f);
    deliver(&sdk, "alice", MULTIPART);
    g_assert_cmpint(mime_rows(f), ==, 1);
    PrMailbox *m = open_mailbox(&sdk, "alice", "INBOX", PR_MAILBOX_SHARED);
    guint zero = 0;
    g_assert_null(pr_mailbox_get_summary(m, 0));
    load_summaries(&sdk, m, &zero, 1);
    const PrMessageSummary *s = pr_mailbox_get_summary(m, 0);
    g_assert_nonnull(s);
    g_assert_true(g_str_has_prefix(s->envelope, "("));
    g_assert_nonnull(strstr(s->envelope, "\"parts\""));
    g_assert_nonnull(strstr(s->bodystructure, "\"mixed\""));
    g_assert_nonnull(s->body);
    g_assert_cmpint(mime_rows(f), ==, 1);

    /* The whole message, and the sections in it. */
    g_autoptr(PrMessageReader) all = pr_mailbox_read_message(m, 0, PR_MESSAGE_RAW, -1);
    g_autoptr(GBytes) whole = read_all(&sdk, all);
    const char *text = g_bytes_get_data(whole, NULL);
    gint64 size = pr_mailbox_get_size(m, 0);
    g_assert_cmpint(g_bytes_get_size(whole), ==, size);
    gint64 off, len;

    g_assert_true(pr_mailbox_find_section(m, 0, "", PR_SECTION_HEADER, &off, &len));
    g_assert_cmpint(off, ==, 0);
    g_assert_cmpmem(text + len - 4, 4, "\r\n\r\n", 4);
    g_assert_nonnull(g_strstr_len(text, len, "Subject: parts\r\n"));
    g_assert_null(g_strstr_len(text, len, "--XX"));
    g_assert_true(pr_mailbox_find_section(m, 0, "", PR_SECTION_ALL, &off, &len));
    g_assert_cmpint(off, ==, 0);
    g_assert_cmpint(len, ==, size);
    g_assert_true(pr_mailbox_find_section(m, 0, "1", PR_SECTION_ALL, &off, &len));
    g_assert_cmpmem(text + off, len, "first part", 10);
    g_assert_true(pr_mailbox_find_section(m, 0, "2", PR_SECTION_ALL, &off, &len));
    g_assert_cmpmem(text + off, len, "<p>second</p>", 13);
    g_autoptr(PrMessageReader) part2 = pr_mailbox_read_range(m, 0, off, len);
    g_autoptr(GBytes) part2_bytes = read_all(&sdk, part2);
    assert_slice(whole, part2_bytes, off, len);
    g_assert_true(pr_mailbox_find_section(m, 0, "2", PR_SECTION_MIME, &off, &len));
    g_assert_cmpmem(text + off, len, "Content-Type: text/html\r\n\r\n", 27);
    g_assert_false(pr_mailbox_find_section(m, 0, "3", PR_SECTION_ALL, &off, &len));

    /* Ranges over the prefix, across it, past the end. */
    const gint64 ranges[][2] = { { 0, 5 },     { 3, 40 },         { 10, 100000 }, { size - 1, 10 },
                                 { size, 10 }, { size + 50, 10 }, { 7, 0 } };
    for (guint i = 0; i < G_N_ELEMENTS(ranges); i++) {
        g_autoptr(PrMessageReader) r = pr_mailbox_read_range(m, 0, ranges[i][0], ranges[i][1]);
        g_autoptr(GBytes) got = read_all(&sdk, r);
        assert_slice(whole, got, ranges[i][0], ranges[i][1]);
    }

    /* A second session reads the stored row, it does not parse again: it
     * does not even need the file. */
    PrMailbox *m2 = open_mailbox(&sdk, "alice", "INBOX", PR_MAILBOX_SHARED);
    {
        g_autoptr(GArray) items = store_mailbox_list(f->conn, inbox_id(f, "alice"), &error);
        g_assert_no_error(error);
        g_autofree char *path = g_build_filename(
            f->dir, "spool", g_array_index(items, StoreMailItem, 0).spool_path, NULL);
        g_assert_cmpint(g_unlink(path), ==, 0);
    }
    load_summaries(&sdk, m2, &zero, 1);
    g_assert_cmpstr(pr_mailbox_get_summary(m2, 0)->envelope, ==, s->envelope);
    g_assert_cmpstr(pr_mailbox_get_summary(m2, 0)->bodystructure, ==, s->bodystructure);
    g_assert_cmpint(mime_rows(f), ==, 1);
    close_mailbox(&sdk, m2);
    close_mailbox(&sdk, m);
    sdk_stop(&sdk);
}

static void
test_summaries_many(Fixture *f, gconstpointer data)
{
    Sdk sdk = { 0 };
    g_autoptr(GError) error = NULL;
    guint indexes[12];

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("Summaries of many messages at once: made and stored together, read back "
                   "with one query by another session (which needs no file)");
    add_user(f, "alice");
    sdk_start(&sdk, f);
    deliver_n(&sdk, "alice", G_N_ELEMENTS(indexes));
    PrMailbox *m = open_mailbox(&sdk, "alice", "INBOX", PR_MAILBOX_SHARED);
    for (guint i = 0; i < G_N_ELEMENTS(indexes); i++)
        indexes[i] = i;
    /* The last ones first, some twice: each is made once. */
    guint first[] = { 11, 10, 11 };
    load_summaries(&sdk, m, first, G_N_ELEMENTS(first));
    load_summaries(&sdk, m, indexes, G_N_ELEMENTS(indexes));
    for (guint i = 0; i < G_N_ELEMENTS(indexes); i++) {
        g_autofree char *subject = g_strdup_printf("\"message %u\"", i);
        g_assert_nonnull(strstr(pr_mailbox_get_summary(m, i)->envelope, subject));
    }
    g_autoptr(GArray) items = store_mailbox_list(f->conn, inbox_id(f, "alice"), &error);
    g_assert_no_error(error);
    for (guint i = 0; i < items->len; i++) {
        g_autofree char *path = g_build_filename(
            f->dir, "spool", g_array_index(items, StoreMailItem, i).spool_path, NULL);
        g_assert_cmpint(g_unlink(path), ==, 0);
    }
    PrMailbox *m2 = open_mailbox(&sdk, "alice", "INBOX", PR_MAILBOX_SHARED);
    load_summaries(&sdk, m2, indexes, G_N_ELEMENTS(indexes));
    for (guint i = 0; i < G_N_ELEMENTS(indexes); i++)
        g_assert_cmpstr(pr_mailbox_get_summary(m2, i)->envelope, ==,
                        pr_mailbox_get_summary(m, i)->envelope);
    close_mailbox(&sdk, m2);
    /* A few far apart are read by their ids, not over the range. */
    guint spread[] = { 11, 0, 6 };
    PrMailbox *m3 = open_mailbox(&sdk, "alice", "INBOX", PR_MAILBOX_SHARED);
    load_summaries(&sdk, m3, spread, G_N_ELEMENTS(spread));
    for (guint i = 0; i < G_N_ELEMENTS(indexes); i++) {
        gboolean asked = i == 0 || i == 6 || i == 11;
        g_assert_true((pr_mailbox_get_summary(m3, i) != NULL) == asked);
        if (asked)
            g_assert_cmpstr(pr_mailbox_get_summary(m3, i)->envelope, ==,
                            pr_mailbox_get_summary(m, i)->envelope);
    }
    close_mailbox(&sdk, m3);
    close_mailbox(&sdk, m);
    sdk_stop(&sdk);
}

static void
test_large_range(Fixture *f, gconstpointer data)
{
    Sdk sdk = { 0 };

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("Ranges of a message larger than a chunk come in several chunks, equal to "
                   "the slice");
    add_user(f, "alice");
    sdk_start(&sdk, f);
    g_autoptr(GString) big = g_string_new("Subject: big\r\n\r\n");
    for (int i = 0; big->len < 700 * 1024; i++)
        g_string_append_printf(big, "line %06d of a large message, with some text\r\n", i);
    deliver(&sdk, "alice", big->str);
    PrMailbox *m = open_mailbox(&sdk, "alice", "INBOX", PR_MAILBOX_SHARED);
    g_autoptr(PrMessageReader) all = pr_mailbox_read_message(m, 0, PR_MESSAGE_RAW, -1);
    g_autoptr(GBytes) whole = read_all(&sdk, all);
    gint64 size = pr_mailbox_get_size(m, 0);
    g_assert_cmpint(g_bytes_get_size(whole), ==, size);
    const gint64 ranges[][2] = { { 0, size }, { 100, 600000 }, { 300000, 1000000 } };
    for (guint i = 0; i < G_N_ELEMENTS(ranges); i++) {
        g_autoptr(PrMessageReader) r = pr_mailbox_read_range(m, 0, ranges[i][0], ranges[i][1]);
        g_autoptr(GBytes) got = read_all(&sdk, r);
        assert_slice(whole, got, ranges[i][0], ranges[i][1]);
    }
    close_mailbox(&sdk, m);
    sdk_stop(&sdk);
}

static void
read_ranges(Sdk *sdk, PrMailbox *m, const PrMessageRange *ranges, guint n)
{
    pr_mailbox_read_ranges_async(m, ranges, n, got_result, sdk);
    g_autoptr(GAsyncResult) res = wait_result(sdk);
    pr_mailbox_read_ranges_finish(m, res);
}

static void
test_read_ranges(Fixture *f, gconstpointer data)
{
    Sdk sdk = { 0 };
    g_autoptr(GError) error = NULL;
    GBytes *whole[3];

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("Ranges read ahead in one job: readers of exactly those ranges are answered "
                   "from memory (the files are gone by then), each once, with the octets of "
                   "the slice; large ranges, ranges past the end and ranges kept before a sync "
                   "are left to the readers");
    add_user(f, "alice");
    sdk_start(&sdk, f);
    deliver(&sdk, "alice", MULTIPART);
    deliver_n(&sdk, "alice", 2);
    PrMailbox *m = open_mailbox(&sdk, "alice", "INBOX", PR_MAILBOX_SHARED);
    for (guint i = 0; i < 3; i++) {
        g_autoptr(PrMessageReader) all = pr_mailbox_read_message(m, i, PR_MESSAGE_RAW, -1);
        whole[i] = read_all(&sdk, all);
    }
    gint64 size0 = pr_mailbox_get_size(m, 0);
    const PrMessageRange kept[] = { { 0, 0, 5 }, { 0, 3, 40 }, { 1, 0, 30 }, { 2, 10, 7 } };
    const PrMessageRange left[] = { { 0, size0 - 1, 10 }, { 0, 1, 100000 } };
    g_autoptr(GArray) all = g_array_new(FALSE, FALSE, sizeof(PrMessageRange));
    g_array_append_vals(all, kept, G_N_ELEMENTS(kept));
    g_array_append_vals(all, left, G_N_ELEMENTS(left));
    read_ranges(&sdk, m, (const PrMessageRange *)all->data, all->len);

    /* Kept: from memory although the files are gone. */
    g_autoptr(GArray) items = store_mailbox_list(f->conn, inbox_id(f, "alice"), &error);
    g_assert_no_error(error);
    g_assert_cmpuint(items->len, ==, 3);
    for (guint i = 0; i < items->len; i++) {
        g_autofree char *path = g_build_filename(
            f->dir, "spool", g_array_index(items, StoreMailItem, i).spool_path, NULL);
        g_assert_cmpint(g_unlink(path), ==, 0);
    }
    for (guint i = 0; i < G_N_ELEMENTS(kept); i++) {
        g_autoptr(PrMessageReader) r =
            pr_mailbox_read_range(m, kept[i].index, kept[i].offset, kept[i].length);
        gboolean last = FALSE;
        g_autoptr(GBytes) got = pr_message_reader_try_next(r, &last);
        g_assert_nonnull(got);
        g_assert_true(last);
        assert_slice(whole[kept[i].index], got, kept[i].offset, kept[i].length);
        /* Handed out once: a second reader reads for itself (and fails). */
        g_autoptr(PrMessageReader) again =
            pr_mailbox_read_range(m, kept[i].index, kept[i].offset, kept[i].length);
        g_assert_null(pr_message_reader_try_next(again, &last));
    }
    /* Left to the readers: nothing in memory. */
    for (guint i = 0; i < G_N_ELEMENTS(left); i++) {
        g_autoptr(PrMessageReader) r =
            pr_mailbox_read_range(m, left[i].index, left[i].offset, left[i].length);
        gboolean last = TRUE;
        g_assert_null(pr_message_reader_try_next(r, &last));
        g_assert_false(last);
    }
    /* Unreadable files: nothing is kept, and what an earlier call kept goes
     * (a range within the per-mailbox header lines needs no file). */
    const PrMessageRange tail = { 0, size0 - 10, 5 };
    read_ranges(&sdk, m, kept, G_N_ELEMENTS(kept));
    read_ranges(&sdk, m, &tail, 1);
    {
        g_autoptr(PrMessageReader) r = pr_mailbox_read_range(m, 0, tail.offset, tail.length);
        gboolean last;
        g_assert_null(pr_message_reader_try_next(r, &last));
    }
    {
        g_autoptr(PrMessageReader) r = pr_mailbox_read_range(m, 0, 0, 5);
        gboolean last;
        g_assert_null(pr_message_reader_try_next(r, &last));
    }
    close_mailbox(&sdk, m);

    deliver_n(&sdk, "alice", 1);
    /* A sync replaces the snapshot: what was kept for its indexes goes. */
    m = open_mailbox(&sdk, "alice", "INBOX", PR_MAILBOX_SHARED);
    g_autoptr(PrMessageReader) all3 = pr_mailbox_read_message(m, 3, PR_MESSAGE_RAW, -1);
    g_autoptr(GBytes) whole3 = read_all(&sdk, all3);
    const PrMessageRange fresh = { 3, 0, 9 };
    read_ranges(&sdk, m, &fresh, 1);
    pr_mailbox_changes_free(sync_mailbox(&sdk, m));
    {
        g_autoptr(PrMessageReader) r = pr_mailbox_read_range(m, 3, 0, 9);
        gboolean last;
        g_assert_null(pr_message_reader_try_next(r, &last));
    }
    read_ranges(&sdk, m, &fresh, 1);
    {
        g_autoptr(PrMessageReader) r = pr_mailbox_read_range(m, 3, 0, 9);
        gboolean last;
        g_autoptr(GBytes) got = pr_message_reader_try_next(r, &last);
        g_assert_nonnull(got);
        assert_slice(whole3, got, 0, 9);
    }
    close_mailbox(&sdk, m);
    for (guint i = 0; i < 3; i++)
        g_bytes_unref(whole[i]);
    sdk_stop(&sdk);
}

/* ---- main ---- */

int
main(int argc, char **argv)
{
    static const StoreFixtureOptions options = { .suite = "mailbox-imap",
                                                 .workers = 2,
                                                 .migrate = TRUE };

    g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
    if (!store_fixture_init(&options))
        return 1;

    g_test_add_func("/mailbox-imap/flags-normalize", test_flags_normalize);
    store_fixture_add("flags", test_flags);
    store_fixture_add("flags-sparse", test_flags_sparse);
    store_fixture_add("copy-move", test_copy_move);
    store_fixture_add("sync", test_sync);
    store_fixture_add("recent", test_recent);
    store_fixture_add("notify", test_notify);
    store_fixture_add("folders-state", test_folders_state);
    store_fixture_add("summaries", test_summaries);
    store_fixture_add("summaries-many", test_summaries_many);
    store_fixture_add("large-range", test_large_range);
    store_fixture_add("read-ranges", test_read_ranges);

    return store_fixture_finish(g_test_run());
}
