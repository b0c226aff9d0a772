/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>

#include "host.h"
#include "mailbox-private.h"
#include "store/spool.h"
#include "store/store-folders.h"
#include "store/store-mail.h"
#include "store/store-ops.h"
#include "store/store-queries.h"
#include "store-fixture.h"

/* A user's folders (store-folders.h) and their SDK (pr-folder.h), on
 * SQLite and on a private PostgreSQL server. */

typedef StoreFixture Fixture;

/* ---- helpers ---- */

static GPtrArray *
list(Fixture *f, const char *user)
{
    g_autoptr(GError) error = NULL;
    GPtrArray *folders = store_folder_list(f->conn, user, &error);
    g_assert_no_error(error);
    g_assert_nonnull(folders);
    return folders;
}

/* Every folder's parent_id names the folder one level up, if there is
 * one (a deleted folder's children have none until it is made anew). */
static void
check_parents(Fixture *f, const char *user)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GdaDataModel) m =
        store_conn_select(f->conn, Q_FOLDERS_ALL, &error, "name", user, NULL);
    g_assert_no_error(error);
    g_autoptr(GHashTable) all = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (int r = 0; r < gda_data_model_get_n_rows(m); r++)
        g_hash_table_add(all, store_model_string(m, 1, r));
    for (int r = 0; r < gda_data_model_get_n_rows(m); r++) {
        g_autofree char *name = store_model_string(m, 1, r);
        g_autofree char *parent = store_model_string(m, 4, r);
        const char *slash = strrchr(name, '/');
        g_autofree char *up = slash != NULL ? g_strndup(name, slash - name) : NULL;
        if (up != NULL && !g_hash_table_contains(all, up))
            g_clear_pointer(&up, g_free);
        g_assert_cmpstr(parent, ==, up);
    }
}

/* The folders' names joined with ",", "!" after unsubscribed ones. */
static char *
names(Fixture *f, const char *user)
{
    check_parents(f, user);
    g_autoptr(GPtrArray) folders = list(f, user);
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < folders->len; i++) {
        PrFolderInfo *info = folders->pdata[i];
        g_string_append_printf(s, "%s%s%s", i > 0 ? "," : "", info->name,
                               info->subscribed ? "" : "!");
    }
    return g_string_free(s, FALSE);
}

static PrFolderStatus
status(Fixture *f, const char *user, const char *folder)
{
    g_autoptr(GError) error = NULL;
    PrFolderStatus st;
    g_assert_true(store_folder_status(f->conn, user, folder, &st, &error));
    g_assert_no_error(error);
    return st;
}

static void
create(Fixture *f, const char *user, const char *folder)
{
    g_autoptr(GError) error = NULL;
    g_assert_true(store_folder_create(f->conn, user, folder, &error));
    g_assert_no_error(error);
}

/* Appends @text through the store functions, as the SDK does. */
static guint32
append(Fixture *f, const char *user, const char *folder, const char *text, const char *flags)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *path = spool_write(f->spool, text, strlen(text), &error);
    g_assert_no_error(error);
    StoreAppend m = { path, (gint64)strlen(text), flags, 1700000000 };
    guint32 uidvalidity = 0, uid = 0;
    g_assert_cmpint(store_folder_append(f->conn, user, folder, &m, &uidvalidity, &uid, &error), >,
                    0);
    g_assert_no_error(error);
    g_assert_cmpuint(uidvalidity, >, 0);
    return uid;
}

static gint64
used_bytes(Fixture *f, const char *user)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(StoreUser) u = store_user_get(f->conn, user, &error);
    g_assert_no_error(error);
    return u->used_bytes;
}

static guint
spool_files(Fixture *f)
{
    guint n = 0;
    g_autoptr(GDir) top = g_dir_open(f->spool, 0, NULL);
    const char *bucket;
    while (top != NULL && (bucket = g_dir_read_name(top)) != NULL) {
        g_autofree char *path = g_build_filename(f->spool, bucket, NULL);
        g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
        while (d != NULL && g_dir_read_name(d) != NULL)
            n++;
    }
    return n;
}

/* The UIDs and flags of @folder's visible messages: "1:\Seen,3:". */
static char *
messages(Fixture *f, const char *user, const char *folder)
{
    g_autoptr(GError) error = NULL;
    gint64 id = store_mailbox_lock(f->conn, user, folder, "test", "test", FALSE,
                                   g_get_real_time() / G_USEC_PER_SEC + 60, NULL, &error);
    g_assert_no_error(error);
    g_autoptr(GArray) items = store_mailbox_list(f->conn, id, &error);
    g_assert_no_error(error);
    g_assert_true(store_mailbox_unlock(f->conn, id, "test", &error));
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < items->len; i++) {
        StoreMailItem *item = &g_array_index(items, StoreMailItem, i);
        g_string_append_printf(s, "%s%u:%s", i > 0 ? "," : "", item->uid,
                               item->flags != NULL ? item->flags : "");
    }
    return g_string_free(s, FALSE);
}

#define ASSERT_FAILS(call, code)                                                                   \
    do {                                                                                           \
        g_autoptr(GError) e_ = NULL;                                                               \
        GError **error_ = &e_;                                                                     \
        (void)error_;                                                                              \
        g_assert_false(call);                                                                      \
        g_assert_error(e_, PR_STORE_ERROR, code);                                                  \
    } while (0)

/* ---- names and flags ---- */

static void
test_names(void)
{
    static const char *const bad[] = { "",   "INBOX", "inbox", "InBoX", "a//b", "/a",
                                       "a/", "/",     "a\tb",  "a*",    "50%",  "\xff" };
    g_autofree char *longest = g_strnfill(STORE_FOLDER_NAME_MAX, 'x');
    g_autofree char *too_long = g_strnfill(STORE_FOLDER_NAME_MAX + 1, 'x');

    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) error = NULL;
        g_assert_false(store_folder_name_check(bad[i], &error));
        g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED);
    }
    g_assert_false(store_folder_name_check(too_long, NULL));
    g_assert_true(store_folder_name_check(longest, NULL));
    g_assert_true(store_folder_name_check("Projects/2026", NULL));
    g_assert_true(store_folder_name_check("INBOX/sub", NULL));
    g_assert_true(store_folder_name_check("Entwürfe", NULL));

    g_autofree char *a = store_folder_canonical("inbox");
    g_autofree char *b = store_folder_canonical("Inbox/Sub");
    g_autofree char *c = store_folder_canonical("Inboxes/x");
    g_assert_cmpstr(a, ==, "INBOX");
    g_assert_cmpstr(b, ==, "INBOX/Sub");
    g_assert_cmpstr(c, ==, "Inboxes/x");

    g_autofree char *f1 = store_folder_flags_normalise(" \\seen $Work \\Recent  \\SEEN foo $work ");
    g_autofree char *f2 = store_folder_flags_normalise(NULL);
    g_autofree char *f3 = store_folder_flags_normalise("\\DRAFT \\answered \\Flagged \\deleted");
    g_assert_cmpstr(f1, ==, "\\Seen $Work foo");
    g_assert_cmpstr(f2, ==, "");
    g_assert_cmpstr(f3, ==, "\\Draft \\Answered \\Flagged \\Deleted");
}

/* ---- the store ---- */

static void
test_new_user(Fixture *f, gconstpointer data)
{
    SKIP_IF_NO_BACKEND(f);
    g_test_summary("A new user has INBOX and the four RFC 6154 folders");
    store_fixture_add_user(f, "alice");

    g_autoptr(GPtrArray) folders = list(f, "Alice");
    static const char *const expect[][2] = { { "Drafts", "\\Drafts" },
                                             { "INBOX", NULL },
                                             { "Junk", "\\Junk" },
                                             { "Sent", "\\Sent" },
                                             { "Trash", "\\Trash" } };
    g_assert_cmpuint(folders->len, ==, G_N_ELEMENTS(expect));
    for (guint i = 0; i < folders->len; i++) {
        PrFolderInfo *info = folders->pdata[i];
        g_assert_cmpstr(info->name, ==, expect[i][0]);
        g_assert_cmpstr(info->special_use, ==, expect[i][1]);
        g_assert_true(info->subscribed);
    }

    g_autoptr(GError) error = NULL;
    g_assert_null(store_folder_list(f->conn, "nobody", &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
}

static void
test_create(Fixture *f, gconstpointer data)
{
    SKIP_IF_NO_BACKEND(f);
    g_test_summary("CREATE: missing parents, EXISTS, names refused, INBOX any case");
    store_fixture_add_user(f, "alice");

    create(f, "alice", "Projects/2026/Q1");
    create(f, "alice", "inbox/Sub");
    create(f, "alice", "a");
    create(f, "alice", "B");
    g_autofree char *all = names(f, "alice");
    /* Byte order on both providers. */
    g_assert_cmpstr(all, ==,
                    "B,Drafts,INBOX,INBOX/Sub,Junk,Projects,Projects/2026,Projects/2026/Q1,Sent,"
                    "Trash,a");

    ASSERT_FAILS(store_folder_create(f->conn, "alice", "Projects/2026", error_),
                 PR_STORE_ERROR_EXISTS);
    ASSERT_FAILS(store_folder_create(f->conn, "alice", "Inbox/Sub", error_), PR_STORE_ERROR_EXISTS);
    ASSERT_FAILS(store_folder_create(f->conn, "alice", "Sent", error_), PR_STORE_ERROR_EXISTS);
    ASSERT_FAILS(store_folder_create(f->conn, "alice", "Inbox", error_), PR_STORE_ERROR_FAILED);
    ASSERT_FAILS(store_folder_create(f->conn, "alice", "x//y", error_), PR_STORE_ERROR_FAILED);
    ASSERT_FAILS(store_folder_create(f->conn, "alice", "/x", error_), PR_STORE_ERROR_FAILED);
    ASSERT_FAILS(store_folder_create(f->conn, "alice", "x/", error_), PR_STORE_ERROR_FAILED);
    ASSERT_FAILS(store_folder_create(f->conn, "nobody", "x", error_), PR_STORE_ERROR_NOT_FOUND);
    /* Nothing of the refused ones was left behind. */
    g_autofree char *after = names(f, "alice");
    g_assert_cmpstr(after, ==, all);

    /* A new folder starts empty with its own UIDVALIDITY. */
    PrFolderStatus st = status(f, "alice", "Projects/2026/Q1");
    g_assert_cmpuint(st.messages, ==, 0);
    g_assert_cmpuint(st.uidnext, ==, 1);
    g_assert_cmpuint(st.uidvalidity, >, status(f, "alice", "INBOX").uidvalidity);
}

static void
test_append_status(Fixture *f, gconstpointer data)
{
    SKIP_IF_NO_BACKEND(f);
    g_test_summary("APPEND then STATUS: UIDs, modseq, flags, unseen, recent, size, usage");
    store_fixture_add_user(f, "alice");
    create(f, "alice", "Work");

    PrFolderStatus before = status(f, "alice", "Work");
    g_assert_cmpuint(
        append(f, "alice", "Work", "Subject: 1\r\n\r\none\r\n", "\\seen $Work \\Recent"), ==, 1);
    /* Names other than INBOX are case-sensitive. */
    StoreAppend lower = { "xx/none", 3, NULL, 0 };
    ASSERT_FAILS(store_folder_append(f->conn, "alice", "work", &lower, NULL, NULL, error_) != 0,
                 PR_STORE_ERROR_NOT_FOUND);
    g_assert_cmpuint(append(f, "alice", "Work", "Subject: 3\r\n\r\nthree\r\n", "Seen \\Seenx"), ==,
                     2);
    g_assert_cmpuint(append(f, "alice", "Work", "Subject: 4\r\n\r\nfour!\r\n", "$x \\SEEN"), ==, 3);

    g_autofree char *msgs = messages(f, "alice", "Work");
    g_assert_cmpstr(msgs, ==, "1:\\Seen $Work,2:Seen \\Seenx,3:$x \\Seen");

    PrFolderStatus st = status(f, "alice", "Work");
    g_assert_cmpuint(st.messages, ==, 3);
    g_assert_cmpuint(st.recent, ==, 3);
    g_assert_cmpuint(st.unseen, ==, 1);
    g_assert_cmpuint(st.uidnext, ==, 4);
    g_assert_cmpuint(st.uidvalidity, ==, before.uidvalidity);
    g_assert_cmpuint(st.highest_modseq, ==, before.highest_modseq + 3);
    gint64 size = strlen("Subject: 1\r\n\r\none\r\n") + strlen("Subject: 3\r\n\r\nthree\r\n") +
                  strlen("Subject: 4\r\n\r\nfour!\r\n");
    g_assert_cmpint(st.size, ==, size);
    g_assert_cmpint(used_bytes(f, "alice"), ==, size);

    /* Nothing in INBOX; no such folder. */
    PrFolderStatus inbox = status(f, "alice", "inbox");
    g_assert_cmpuint(inbox.messages, ==, 0);
    g_assert_cmpint(inbox.size, ==, 0);
    ASSERT_FAILS(store_folder_status(f->conn, "alice", "Nope", &st, error_),
                 PR_STORE_ERROR_NOT_FOUND);
    g_autoptr(GError) error = NULL;
    StoreAppend m = { "xx/nofile", 1, NULL, 0 };
    g_assert_cmpint(store_folder_append(f->conn, "alice", "Nope", &m, NULL, NULL, &error), ==, 0);
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
}

static void
test_delete(Fixture *f, gconstpointer data)
{
    SKIP_IF_NO_BACKEND(f);
    g_test_summary("DELETE: messages and spool files go, usage drops, children stay, refusals");
    store_fixture_add_user(f, "alice");
    create(f, "alice", "Old/Child");
    append(f, "alice", "Old", "Subject: a\r\n\r\na\r\n", NULL);
    append(f, "alice", "Old", "Subject: b\r\n\r\nb\r\n", "\\Seen");
    append(f, "alice", "INBOX", "Subject: c\r\n\r\nc\r\n", NULL);
    g_assert_cmpuint(spool_files(f), ==, 3);
    gint64 used = used_bytes(f, "alice");

    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
    gint64 id = 0;
    g_assert_true(store_folder_delete(f->conn, "alice", "Old", paths, &id, &error));
    g_assert_no_error(error);
    g_assert_cmpint(id, >, 0);
    g_assert_cmpuint(paths->len, ==, 2);
    for (guint i = 0; i < paths->len; i++) {
        g_autofree char *full = g_build_filename(f->spool, paths->pdata[i], NULL);
        g_assert_true(g_file_test(full, G_FILE_TEST_EXISTS)); /* the caller unlinks */
        g_assert_cmpint(g_unlink(full), ==, 0);
        g_autoptr(GdaDataModel) m =
            store_conn_select(f->conn, Q_MESSAGE_ID_BY_PATH, &error, "path", paths->pdata[i], NULL);
        g_assert_no_error(error);
        g_assert_cmpint(gda_data_model_get_n_rows(m), ==, 0);
    }
    g_assert_cmpint(used_bytes(f, "alice"), ==,
                    used - 2 * (gint64)strlen("Subject: a\r\n\r\na\r\n"));
    g_autofree char *all = names(f, "alice");
    g_assert_cmpstr(all, ==, "Drafts,INBOX,Junk,Old/Child,Sent,Trash");

    /* The same name again is a new, empty folder. */
    create(f, "alice", "Old");
    g_assert_cmpuint(status(f, "alice", "Old").messages, ==, 0);

    ASSERT_FAILS(store_folder_delete(f->conn, "alice", "INBOX", NULL, NULL, error_),
                 PR_STORE_ERROR_FAILED);
    ASSERT_FAILS(store_folder_delete(f->conn, "alice", "inbox", NULL, NULL, error_),
                 PR_STORE_ERROR_FAILED);
    ASSERT_FAILS(store_folder_delete(f->conn, "alice", "Sent", NULL, NULL, error_),
                 PR_STORE_ERROR_FAILED);
    ASSERT_FAILS(store_folder_delete(f->conn, "alice", "Trash", NULL, NULL, error_),
                 PR_STORE_ERROR_FAILED);
    ASSERT_FAILS(store_folder_delete(f->conn, "alice", "Nope", NULL, NULL, error_),
                 PR_STORE_ERROR_NOT_FOUND);
    g_autofree char *unchanged = names(f, "alice");
    g_assert_cmpstr(unchanged, ==, "Drafts,INBOX,Junk,Old,Old/Child,Sent,Trash");
    g_assert_cmpuint(status(f, "alice", "INBOX").messages, ==, 1);
}

static void
test_delete_shared_message(Fixture *f, gconstpointer data)
{
    SKIP_IF_NO_BACKEND(f);
    g_test_summary("DELETE keeps a spool file another folder still uses");
    store_fixture_add_user(f, "alice");
    store_fixture_add_user(f, "bob");

    /* One delivery to two users: one message row, two entries. */
    g_autoptr(GError) error = NULL;
    const char *text = "Subject: both\r\n\r\nx\r\n";
    g_autofree char *path = spool_write(f->spool, text, strlen(text), &error);
    g_assert_no_error(error);
    StoreMessage msg = { .spool_path = path, .size = strlen(text), .received = 1, .sender = "" };
    StoreDeliveryTarget targets[] = { { "alice", NULL }, { "bob", NULL } };
    g_assert_cmpint(store_deliver(f->conn, &msg, targets, 2, NULL, 0, NULL, &error), >, 0);
    g_assert_no_error(error);

    gint64 changed = 0;
    g_assert_true(store_folder_rename(f->conn, "alice", "INBOX", "Kept", &changed, &error));
    g_assert_no_error(error);
    g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
    g_assert_true(store_folder_delete(f->conn, "alice", "Kept", paths, NULL, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(paths->len, ==, 0);
    g_assert_cmpuint(status(f, "bob", "INBOX").messages, ==, 1);
    g_assert_cmpint(used_bytes(f, "alice"), ==, 0);
    g_assert_cmpint(used_bytes(f, "bob"), ==, strlen(text));
}

static void
test_pop3_lock(Fixture *f, gconstpointer data)
{
    SKIP_IF_NO_BACKEND(f);
    g_test_summary("A folder POP3 holds cannot be deleted or renamed (LOCKED)");
    store_fixture_add_user(f, "alice");
    create(f, "alice", "Held/Child");

    g_autoptr(GError) error = NULL;
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    gint64 id =
        store_mailbox_lock(f->conn, "alice", "Held", "pop3", "test", TRUE, now + 60, NULL, &error);
    g_assert_no_error(error);
    ASSERT_FAILS(store_folder_delete(f->conn, "alice", "Held", NULL, NULL, error_),
                 PR_STORE_ERROR_LOCKED);
    gint64 changed = 0;
    ASSERT_FAILS(store_folder_rename(f->conn, "alice", "Held", "Other", &changed, error_),
                 PR_STORE_ERROR_LOCKED);
    gint64 inbox =
        store_mailbox_lock(f->conn, "alice", "INBOX", "pop3", "test", TRUE, now + 60, NULL, &error);
    g_assert_no_error(error);
    ASSERT_FAILS(store_folder_rename(f->conn, "alice", "INBOX", "Other", &changed, error_),
                 PR_STORE_ERROR_LOCKED);
    g_autofree char *all = names(f, "alice");
    g_assert_cmpstr(all, ==, "Drafts,Held,Held/Child,INBOX,Junk,Sent,Trash");

    g_assert_true(store_mailbox_unlock(f->conn, id, "pop3", &error));
    g_assert_true(store_mailbox_unlock(f->conn, inbox, "pop3", &error));
    g_assert_true(store_folder_delete(f->conn, "alice", "Held", NULL, NULL, &error));
    g_assert_no_error(error);
}

static void
test_rename(Fixture *f, gconstpointer data)
{
    SKIP_IF_NO_BACKEND(f);
    g_test_summary("RENAME: children follow, parents made, EXISTS, NOT_FOUND, into itself");
    store_fixture_add_user(f, "alice");
    create(f, "alice", "A/B/C");
    create(f, "alice", "AB");
    append(f, "alice", "A/B", "Subject: x\r\n\r\nx\r\n", "\\Flagged");
    PrFolderStatus before = status(f, "alice", "A/B");

    g_autoptr(GError) error = NULL;
    gint64 changed = -1;
    g_assert_true(store_folder_rename(f->conn, "alice", "A", "X/Y", &changed, &error));
    g_assert_no_error(error);
    g_assert_cmpint(changed, ==, 0);
    g_autofree char *all = names(f, "alice");
    g_assert_cmpstr(all, ==, "AB,Drafts,INBOX,Junk,Sent,Trash,X,X/Y,X/Y/B,X/Y/B/C");
    /* The same folder under its new name: messages and UIDVALIDITY kept. */
    PrFolderStatus after = status(f, "alice", "X/Y/B");
    g_assert_cmpuint(after.uidvalidity, ==, before.uidvalidity);
    g_assert_cmpuint(after.messages, ==, 1);
    g_autofree char *msgs = messages(f, "alice", "X/Y/B");
    g_assert_cmpstr(msgs, ==, "1:\\Flagged");

    /* A special-use folder may be renamed and keeps its use. */
    g_assert_true(store_folder_rename(f->conn, "alice", "Sent", "Sent Items", &changed, &error));
    g_assert_no_error(error);
    g_autoptr(GPtrArray) folders = list(f, "alice");
    gboolean found = FALSE;
    for (guint i = 0; i < folders->len; i++) {
        PrFolderInfo *info = folders->pdata[i];
        if (g_strcmp0(info->name, "Sent Items") == 0)
            found = g_strcmp0(info->special_use, "\\Sent") == 0;
    }
    g_assert_true(found);

    ASSERT_FAILS(store_folder_rename(f->conn, "alice", "AB", "X/Y/B", &changed, error_),
                 PR_STORE_ERROR_EXISTS);
    ASSERT_FAILS(store_folder_rename(f->conn, "alice", "AB", "Drafts", &changed, error_),
                 PR_STORE_ERROR_EXISTS);
    /* A child's new name taken is as bad as the folder's own. */
    create(f, "alice", "Z/B");
    ASSERT_FAILS(store_folder_rename(f->conn, "alice", "X/Y", "Z", &changed, error_),
                 PR_STORE_ERROR_EXISTS);
    ASSERT_FAILS(store_folder_rename(f->conn, "alice", "Nope", "New", &changed, error_),
                 PR_STORE_ERROR_NOT_FOUND);
    ASSERT_FAILS(store_folder_rename(f->conn, "alice", "X", "X/Y/Z", &changed, error_),
                 PR_STORE_ERROR_FAILED);
    ASSERT_FAILS(store_folder_rename(f->conn, "alice", "AB", "a//b", &changed, error_),
                 PR_STORE_ERROR_FAILED);
    ASSERT_FAILS(store_folder_rename(f->conn, "alice", "AB", "inbox", &changed, error_),
                 PR_STORE_ERROR_FAILED);
    g_autofree char *unchanged = names(f, "alice");
    g_assert_cmpstr(unchanged, ==,
                    "AB,Drafts,INBOX,Junk,Sent Items,Trash,X,X/Y,X/Y/B,X/Y/B/C,Z,Z/B");
}

static void
test_rename_inbox(Fixture *f, gconstpointer data)
{
    SKIP_IF_NO_BACKEND(f);
    g_test_summary("RENAME INBOX: messages move with new UIDs, INBOX stays, children stay");
    store_fixture_add_user(f, "alice");
    create(f, "alice", "INBOX/Child");
    append(f, "alice", "INBOX", "Subject: 1\r\n\r\n1\r\n", "\\Seen");
    append(f, "alice", "INBOX", "Subject: 2\r\n\r\n2\r\n", NULL);
    append(f, "alice", "INBOX", "Subject: 3\r\n\r\n3\r\n", "$Later");
    gint64 used = used_bytes(f, "alice");

    /* UIDs 1 and 3 left: the new folder numbers them 1 and 2. */
    g_autoptr(GError) error = NULL;
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    gint64 inbox =
        store_mailbox_lock(f->conn, "alice", "INBOX", "t", "test", FALSE, now + 60, NULL, &error);
    g_assert_no_error(error);
    guint32 two = 2;
    g_assert_true(store_mailbox_delete(f->conn, inbox, &two, 1, FALSE, NULL, NULL, &error));
    g_assert_no_error(error);
    g_assert_true(store_mailbox_unlock(f->conn, inbox, "t", &error));
    PrFolderStatus before = status(f, "alice", "INBOX");

    gint64 changed = 0;
    g_assert_true(
        store_folder_rename(f->conn, "alice", "Inbox", "Old Mail/2026", &changed, &error));
    g_assert_no_error(error);
    g_assert_cmpint(changed, ==, inbox);

    g_autofree char *moved = messages(f, "alice", "Old Mail/2026");
    g_assert_cmpstr(moved, ==, "1:\\Seen,2:$Later");
    PrFolderStatus st = status(f, "alice", "Old Mail/2026");
    g_assert_cmpuint(st.messages, ==, 2);
    g_assert_cmpuint(st.uidnext, ==, 3);
    g_assert_cmpuint(st.unseen, ==, 1);
    g_assert_cmpuint(st.uidvalidity, !=, before.uidvalidity);
    g_assert_cmpuint(st.highest_modseq, >=, 1);

    PrFolderStatus after = status(f, "alice", "INBOX");
    g_assert_cmpuint(after.messages, ==, 0);
    g_assert_cmpuint(after.uidnext, ==, before.uidnext);
    g_assert_cmpuint(after.uidvalidity, ==, before.uidvalidity);
    g_assert_cmpuint(after.highest_modseq, >, before.highest_modseq);
    g_assert_cmpint(used_bytes(f, "alice"), ==, used - strlen("Subject: 2\r\n\r\n2\r\n"));

    g_autofree char *all = names(f, "alice");
    g_assert_cmpstr(all, ==, "Drafts,INBOX,INBOX/Child,Junk,Old Mail,Old Mail/2026,Sent,Trash");

    /* New mail still goes to INBOX, with its own UIDs going on. */
    g_assert_cmpuint(append(f, "alice", "INBOX", "Subject: 4\r\n\r\n4\r\n", NULL), ==,
                     before.uidnext);

    /* An empty INBOX renamed: a new empty folder, nothing changed. */
    ASSERT_FAILS(store_folder_rename(f->conn, "alice", "INBOX", "Old Mail", &changed, error_),
                 PR_STORE_ERROR_EXISTS);
    g_assert_true(store_folder_rename(f->conn, "alice", "INBOX", "INBOX/Moved", &changed, &error));
    g_assert_no_error(error);
    g_assert_cmpint(changed, ==, inbox);
    g_assert_cmpuint(status(f, "alice", "INBOX/Moved").messages, ==, 1);
    g_assert_true(store_folder_rename(f->conn, "alice", "INBOX", "Empty", &changed, &error));
    g_assert_no_error(error);
    g_assert_cmpint(changed, ==, 0);
    g_assert_cmpuint(status(f, "alice", "Empty").messages, ==, 0);
}

static void
test_uidvalidity(Fixture *f, gconstpointer data)
{
    SKIP_IF_NO_BACKEND(f);
    g_test_summary("A folder deleted and created again never reuses a UIDVALIDITY");
    store_fixture_add_user(f, "alice");

    g_autoptr(GHashTable) seen = g_hash_table_new(g_direct_hash, g_direct_equal);
    guint32 last = 0;
    /* Well within one second: the clock alone would repeat itself. */
    for (int i = 0; i < 5; i++) {
        create(f, "alice", "T");
        guint32 v = status(f, "alice", "T").uidvalidity;
        g_assert_cmpuint(v, >, last);
        g_assert_false(g_hash_table_contains(seen, GUINT_TO_POINTER(v)));
        g_hash_table_add(seen, GUINT_TO_POINTER(v));
        last = v;
        g_autoptr(GError) error = NULL;
        g_assert_true(store_folder_delete(f->conn, "alice", "T", NULL, NULL, &error));
        g_assert_no_error(error);
    }
    /* Renaming to a deleted folder's name keeps the renamed folder's own. */
    create(f, "alice", "U");
    guint32 u = status(f, "alice", "U").uidvalidity;
    g_autoptr(GError) error = NULL;
    gint64 changed = 0;
    g_assert_true(store_folder_rename(f->conn, "alice", "U", "T", &changed, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(status(f, "alice", "T").uidvalidity, ==, u);
    g_assert_false(g_hash_table_contains(seen, GUINT_TO_POINTER(u)));
}

static void
test_subscribe(Fixture *f, gconstpointer data)
{
    SKIP_IF_NO_BACKEND(f);
    g_test_summary("SUBSCRIBE and UNSUBSCRIBE");
    store_fixture_add_user(f, "alice");
    g_autoptr(GError) error = NULL;

    g_assert_true(store_folder_subscribe(f->conn, "alice", "Junk", FALSE, &error));
    g_assert_true(store_folder_subscribe(f->conn, "alice", "inbox", FALSE, &error));
    g_assert_no_error(error);
    g_autofree char *a = names(f, "alice");
    g_assert_cmpstr(a, ==, "Drafts,INBOX!,Junk!,Sent,Trash");
    g_assert_true(store_folder_subscribe(f->conn, "alice", "Junk", TRUE, &error));
    g_assert_no_error(error);
    g_autofree char *b = names(f, "alice");
    g_assert_cmpstr(b, ==, "Drafts,INBOX!,Junk,Sent,Trash");
    ASSERT_FAILS(store_folder_subscribe(f->conn, "alice", "Nope", TRUE, error_),
                 PR_STORE_ERROR_NOT_FOUND);
}

/* ---- the SDK ---- */

static gboolean sdk_change(PrHost *host, StoreWaiter *w, PrFolderOp op, const char *name,
                           const char *new_name, GError **error);

/* sdk_change() that must work. */
static void
sdk_change_ok(PrHost *host, StoreWaiter *w, PrFolderOp op, const char *name, const char *new_name)
{
    g_autoptr(GError) error = NULL;
    gboolean ok = sdk_change(host, w, op, name, new_name, &error);
    g_assert_no_error(error);
    g_assert_true(ok);
}

static gboolean
sdk_change(PrHost *host, StoreWaiter *w, PrFolderOp op, const char *name, const char *new_name,
           GError **error)
{
    pr_folder_change_async(host, "Alice", op, name, new_name, store_waiter_got, w);
    g_autoptr(GAsyncResult) res = store_waiter_wait(w);
    return pr_folder_change_finish(host, res, error);
}

static void
test_sdk(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    StoreWaiter w = { 0 };

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("pr_folder_* through the store workers: list, change, status, append");
    store_fixture_add_user(f, "alice");
    g_autoptr(Config) config = store_fixture_config(f, "");
    PrHost *host = host_new(config);
    host->store = store_open(&f->settings, &error);
    g_assert_no_error(error);
    w.loop = g_main_loop_new(NULL, FALSE);

    sdk_change_ok(host, &w, PR_FOLDER_CREATE, "Lists/GLib", NULL);
    g_assert_false(sdk_change(host, &w, PR_FOLDER_CREATE, "Lists/GLib", NULL, &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_EXISTS);
    g_clear_error(&error);
    g_assert_false(sdk_change(host, &w, PR_FOLDER_DELETE, "INBOX", NULL, &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED);
    g_assert_nonnull(strstr(error->message, "INBOX"));
    g_clear_error(&error);
    sdk_change_ok(host, &w, PR_FOLDER_UNSUBSCRIBE, "Lists", NULL);

    pr_folder_list_async(host, "alice", store_waiter_got, &w);
    g_autoptr(GAsyncResult) res = store_waiter_wait(&w);
    g_autoptr(GPtrArray) folders = pr_folder_list_finish(host, res, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(folders->len, ==, 7);
    g_assert_cmpstr(((PrFolderInfo *)folders->pdata[2])->name, ==, "Junk");
    g_assert_cmpstr(((PrFolderInfo *)folders->pdata[3])->name, ==, "Lists");
    g_assert_false(((PrFolderInfo *)folders->pdata[3])->subscribed);
    g_assert_cmpstr(((PrFolderInfo *)folders->pdata[4])->name, ==, "Lists/GLib");
    g_assert_true(((PrFolderInfo *)folders->pdata[4])->subscribed);
    g_clear_object(&res);

    /* APPEND: spool file written, then the rows; the UID comes back. */
    const char *text = "From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n";
    g_autoptr(GBytes) bytes = g_bytes_new_static(text, strlen(text));
    pr_folder_append_async(host, "alice", "Lists/GLib", bytes, "\\Seen", 1600000000,
                           store_waiter_got, &w);
    res = store_waiter_wait(&w);
    guint32 uidvalidity = 0, uid = 0;
    g_assert_true(pr_folder_append_finish(host, res, &uidvalidity, &uid, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(uid, ==, 1);
    g_clear_object(&res);
    g_assert_cmpuint(spool_files(f), ==, 1);

    pr_folder_append_async(host, "alice", "Nope", bytes, NULL, 0, store_waiter_got, &w);
    res = store_waiter_wait(&w);
    g_assert_false(pr_folder_append_finish(host, res, NULL, NULL, &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_clear_object(&res);
    /* The refused message's spool file went again. */
    g_assert_cmpuint(spool_files(f), ==, 1);

    PrFolderStatus st = { 0 };
    pr_folder_status_async(host, "alice", "Lists/GLib", store_waiter_got, &w);
    res = store_waiter_wait(&w);
    g_assert_true(pr_folder_status_finish(host, res, &st, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(st.messages, ==, 1);
    g_assert_cmpuint(st.unseen, ==, 0);
    g_assert_cmpuint(st.uidvalidity, ==, uidvalidity);
    g_assert_cmpint(st.size, ==, strlen(text));
    g_clear_object(&res);

    pr_folder_status_async(host, "alice", "Nope", store_waiter_got, &w);
    res = store_waiter_wait(&w);
    g_assert_false(pr_folder_status_finish(host, res, &st, &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    g_clear_object(&res);

    sdk_change_ok(host, &w, PR_FOLDER_RENAME, "Lists", "Mailing lists");
    g_assert_false(sdk_change(host, &w, PR_FOLDER_RENAME, "Lists", "Other", &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);

    /* DELETE removes the spool file after the commit. */
    sdk_change_ok(host, &w, PR_FOLDER_DELETE, "Mailing lists/GLib", NULL);
    g_assert_cmpuint(spool_files(f), ==, 0);
    g_autofree char *all = names(f, "alice");
    g_assert_cmpstr(all, ==, "Drafts,INBOX,Junk,Mailing lists!,Sent,Trash");

    /* Let the change notifications queued on the main context run. */
    while (g_main_context_iteration(NULL, FALSE))
        ;
    store_close(host->store);
    host->store = NULL;
    host_free(host);
    g_main_loop_unref(w.loop);
}

typedef struct {
    GMainLoop *loop;
    guint calls;
    gboolean waiting; /* the loop runs for the notification */
} Notified;

static gboolean
on_change(gpointer data)
{
    Notified *n = data;
    n->calls++;
    if (n->waiting)
        g_main_loop_quit(n->loop);
    return G_SOURCE_REMOVE;
}

static gboolean
on_timeout(gpointer loop)
{
    g_main_loop_quit(loop);
    return G_SOURCE_REMOVE;
}

/* Runs the loop until a change notification (bounded); returns how many
 * came. */
static guint
wait_notified(Notified *n)
{
    if (n->calls == 0) {
        guint id = g_timeout_add_seconds(60, on_timeout, n->loop);
        n->waiting = TRUE;
        g_main_loop_run(n->loop);
        n->waiting = FALSE;
        if (n->calls > 0)
            g_source_remove(id); /* else it ran out, and is gone */
    }
    /* Coalesced: one call per main-loop iteration, so a second one here
     * would be a second announcement. */
    while (g_main_context_iteration(NULL, FALSE))
        ;
    guint calls = n->calls;
    n->calls = 0;
    return calls;
}

static PrMailbox *
sdk_open(PrHost *host, StoreWaiter *w, const char *folder)
{
    g_autoptr(GError) error = NULL;
    pr_mailbox_open_async(host, "alice", folder, PR_MAILBOX_SHARED, "imap test", NULL,
                          store_waiter_got, w);
    g_autoptr(GAsyncResult) res = store_waiter_wait(w);
    PrMailbox *mailbox = pr_mailbox_open_finish(host, res, &error);
    g_assert_no_error(error);
    return mailbox;
}

static void
sdk_close(PrMailbox *mailbox, StoreWaiter *w)
{
    g_autoptr(GError) error = NULL;
    pr_mailbox_close_async(mailbox, store_waiter_got, w);
    g_autoptr(GAsyncResult) res = store_waiter_wait(w);
    g_assert_true(pr_mailbox_close_finish(res, &error));
    g_assert_no_error(error);
}

static void
test_sdk_notify(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    StoreWaiter w = { 0 };

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("APPEND, DELETE and RENAME INBOX tell the mailboxes open on the folder");
    store_fixture_add_user(f, "alice");
    g_autoptr(Config) config = store_fixture_config(f, "");
    PrHost *host = host_new(config);
    host->store = store_open(&f->settings, &error);
    g_assert_no_error(error);
    w.loop = g_main_loop_new(NULL, FALSE);
    Notified n = { w.loop, 0, FALSE };
    /* Only this process's announcements can wake the mailboxes up. */
    mailbox_notify_set_poll_seconds(host, 3600);

    sdk_change_ok(host, &w, PR_FOLDER_CREATE, "Box", NULL);
    PrMailbox *inbox = sdk_open(host, &w, "INBOX");
    PrMailbox *box = sdk_open(host, &w, "Box");
    pr_mailbox_set_change_notify(inbox, on_change, &n);
    pr_mailbox_set_change_notify(box, on_change, &n);

    const char *text = "Subject: x\r\n\r\nx\r\n";
    g_autoptr(GBytes) bytes = g_bytes_new_static(text, strlen(text));
    pr_folder_append_async(host, "alice", "INBOX", bytes, NULL, 0, store_waiter_got, &w);
    g_autoptr(GAsyncResult) res = store_waiter_wait(&w);
    g_assert_true(pr_folder_append_finish(host, res, NULL, NULL, &error));
    g_assert_no_error(error);
    g_clear_object(&res);
    g_assert_cmpuint(wait_notified(&n), ==, 1);

    sdk_change_ok(host, &w, PR_FOLDER_RENAME, "INBOX", "Moved");
    g_assert_cmpuint(wait_notified(&n), ==, 1);

    pr_mailbox_set_change_notify(inbox, NULL, NULL);
    sdk_close(inbox, &w);
    sdk_change_ok(host, &w, PR_FOLDER_DELETE, "Box", NULL);
    g_assert_cmpuint(wait_notified(&n), ==, 1);
    pr_mailbox_set_change_notify(box, NULL, NULL);
    sdk_close(box, &w);

    while (g_main_context_iteration(NULL, FALSE))
        ;
    store_close(host->store);
    host->store = NULL;
    host_free(host);
    g_main_loop_unref(w.loop);
}

/* The user's own APPEND and COPY stop at the quota (PR_STORE_ERROR_OVER_QUOTA,
 * nothing stored); a move adds nothing and is never refused. */
static void
test_append_quota(Fixture *f, gconstpointer data)
{
    SKIP_IF_NO_BACKEND(f);
    g_test_summary("APPEND and COPY over the quota fail and store nothing; MOVE does not");
    store_fixture_add_user(f, "alice");
    const char *text = "Subject: q\r\n\r\n0123456789\r\n"; /* 29 octets */
    gint64 len = (gint64)strlen(text);
    g_autoptr(GError) error = NULL;
    g_assert_true(store_user_set_quota(f->conn, "alice", 2 * len + 10, &error));
    g_assert_no_error(error);

    g_assert_cmpuint(append(f, "alice", "INBOX", text, NULL), ==, 1);
    g_assert_cmpuint(append(f, "alice", "INBOX", text, NULL), ==, 2);
    guint files = spool_files(f);
    g_autofree char *path = spool_write(f->spool, text, len, &error);
    g_assert_no_error(error);
    StoreAppend m = { path, len, NULL, 0 };
    ASSERT_FAILS(store_folder_append(f->conn, "alice", "INBOX", &m, NULL, NULL, error_) != 0,
                 PR_STORE_ERROR_OVER_QUOTA);
    g_assert_cmpint(used_bytes(f, "alice"), ==, 2 * len);
    g_autofree char *inbox = messages(f, "alice", "INBOX");
    g_assert_cmpstr(inbox, ==, "1:,2:");
    g_assert_cmpuint(spool_files(f), ==, files + 1); /* the caller removes its file */

    /* COPY: one transaction, nothing copied. */
    gint64 inbox_id = 0, target_id = 0;
    guint32 uidvalidity = 0;
    g_autoptr(GdaDataModel) fm =
        store_conn_select(f->conn, Q_FOLDERS_GET, &error, "name", "alice", "folder", "INBOX", NULL);
    g_assert_no_error(error);
    inbox_id = store_model_int64(fm, 0, 0);
    const guint32 uids[] = { 1, 2 };
    ASSERT_FAILS(store_mailbox_copy(f->conn, inbox_id, uids, 1, "Trash", FALSE, &target_id,
                                    &uidvalidity, NULL, NULL, error_),
                 PR_STORE_ERROR_OVER_QUOTA);
    g_assert_cmpuint(status(f, "alice", "Trash").messages, ==, 0);
    g_assert_cmpint(used_bytes(f, "alice"), ==, 2 * len);

    /* MOVE adds nothing: allowed, even once over the quota. */
    g_assert_true(store_user_set_quota(f->conn, "alice", len, &error));
    g_assert_true(store_mailbox_copy(f->conn, inbox_id, uids, 2, "Trash", TRUE, &target_id,
                                     &uidvalidity, NULL, NULL, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(status(f, "alice", "Trash").messages, ==, 2);
    g_assert_cmpint(used_bytes(f, "alice"), ==, 2 * len);

    /* No quota: anything goes. */
    g_assert_true(store_user_set_quota(f->conn, "alice", 0, &error));
    g_assert_cmpuint(append(f, "alice", "INBOX", text, NULL), ==, 3);
}

int
main(int argc, char **argv)
{
    static const StoreFixtureOptions options = { .suite = "folders",
                                                 .workers = 2,
                                                 .migrate = TRUE };

    g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
    if (!store_fixture_init(&options))
        return 1;

    g_test_add_func("/folders/names", test_names);
    store_fixture_add("new-user", test_new_user);
    store_fixture_add("create", test_create);
    store_fixture_add("append-status", test_append_status);
    store_fixture_add("delete", test_delete);
    store_fixture_add("delete-shared-message", test_delete_shared_message);
    store_fixture_add("pop3-lock", test_pop3_lock);
    store_fixture_add("rename", test_rename);
    store_fixture_add("rename-inbox", test_rename_inbox);
    store_fixture_add("uidvalidity", test_uidvalidity);
    store_fixture_add("subscribe", test_subscribe);
    store_fixture_add("sdk", test_sdk);
    store_fixture_add("sdk-notify", test_sdk_notify);
    store_fixture_add("append-quota", test_append_quota);
    return store_fixture_finish(g_test_run());
}
