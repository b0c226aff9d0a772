/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>

#include "host.h"
#include "mailbox-private.h"
#include "store/spool.h"
#include "store/store-folder-acl.h"
#include "store/store-folders.h"
#include "store/store-mail.h"
#include "store/store-ops.h"
#include "store-fixture.h"

/* Shared folders and access control lists (RFC 4314): the rights text,
 * the resolver every folder operation goes through, and what a mailbox
 * opened as "#users/OWNER/NAME" may do. On SQLite and PostgreSQL. */

typedef StoreFixture Fixture;

#define ASSERT_FAILS(call, code)                                                                   \
    do {                                                                                           \
        g_autoptr(GError) e_ = NULL;                                                               \
        GError **error_ = &e_;                                                                     \
        (void)error_;                                                                              \
        g_assert_false(call);                                                                      \
        g_assert_error(e_, PR_STORE_ERROR, code);                                                  \
    } while (0)

/* ---- helpers ---- */

static void
set_acl(Fixture *f, const char *actor, const char *folder, const char *who, const char *rights)
{
    g_autoptr(GError) error = NULL;
    g_assert_true(store_folder_set_acl(f->conn, actor, folder, who, rights, &error));
    g_assert_no_error(error);
}

/* @user's rights on @folder, or "-" when it is NOT_FOUND for them. */
static char *
rights(Fixture *f, const char *user, const char *folder)
{
    g_autoptr(GError) error = NULL;
    char *r = store_folder_rights(f->conn, user, folder, &error);
    if (r == NULL) {
        g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
        return g_strdup("-");
    }
    g_assert_no_error(error);
    return r;
}

/* The ACL as "who=rights,..." read by @actor. */
static char *
acl(Fixture *f, const char *actor, const char *folder)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) entries = store_folder_get_acl(f->conn, actor, folder, &error);
    g_assert_no_error(error);
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < entries->len; i++) {
        PrFolderAclEntry *e = entries->pdata[i];
        g_string_append_printf(s, "%s%s=%s", i > 0 ? "," : "", e->identifier, e->rights);
    }
    return g_string_free(s, FALSE);
}

/* The names @user lists, with the rights of shared ones and "!" after
 * the unsubscribed. */
static char *
listed(Fixture *f, const char *user)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) folders = store_folder_list(f->conn, user, &error);
    g_assert_no_error(error);
    GString *s = g_string_new(NULL);
    for (guint i = 0; i < folders->len; i++) {
        PrFolderInfo *info = folders->pdata[i];
        g_assert_nonnull(info->rights);
        if (!g_str_has_prefix(info->name, PR_FOLDER_SHARED_PREFIX)) {
            g_assert_cmpstr(info->rights, ==, PR_FOLDER_RIGHTS_ALL);
            continue;
        }
        g_string_append_printf(s, "%s%s:%s%s", s->len > 0 ? "," : "", info->name, info->rights,
                               info->subscribed ? "" : "!");
    }
    return g_string_free(s, FALSE);
}

static void
create(Fixture *f, const char *user, const char *folder)
{
    g_autoptr(GError) error = NULL;
    g_assert_true(store_folder_create(f->conn, user, folder, &error));
    g_assert_no_error(error);
}

static gboolean
append(Fixture *f, const char *user, const char *folder, const char *flags, GError **error)
{
    const char *text = "Subject: x\r\n\r\nbody\r\n";
    g_autofree char *path = spool_write(f->spool, text, strlen(text), error);
    g_assert_nonnull(path);
    StoreAppend m = { path, (gint64)strlen(text), flags, 1700000000 };
    return store_folder_append(f->conn, user, folder, &m, NULL, NULL, error) > 0;
}

static gint64
used_bytes(Fixture *f, const char *user)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(StoreUser) u = store_user_get(f->conn, user, &error);
    g_assert_no_error(error);
    return u->used_bytes;
}

/* ---- rights as text ---- */

static char *
modify(const char *current, const char *spec)
{
    char out[STORE_RIGHTS_SIZE];
    g_autoptr(GError) error = NULL;
    if (!store_rights_modify(current, spec, out, &error)) {
        g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED);
        return g_strdup_printf("error: %s", error->message);
    }
    return g_strdup(out);
}

static void
test_rights_text(void)
{
    char out[STORE_RIGHTS_SIZE];
    store_rights_canonical("aelrlxyz", out);
    g_assert_cmpstr(out, ==, "lrxea");
    store_rights_canonical(NULL, out);
    g_assert_cmpstr(out, ==, "");
    g_assert_true(store_rights_have("lrs", "sl"));
    g_assert_true(store_rights_have("lrs", NULL));
    g_assert_false(store_rights_have("lrs", "lw"));

    static const struct {
        const char *current, *spec, *expect;
    } cases[] = {
        { "lr", "+sw", "lrsw" },
        { "lrsw", "-rw", "ls" },
        { "lrsw", "il", "li" },
        { "", "c", "k" },
        { "", "d", "xte" },
        { "lr", "+cd", "lrkxte" },
        { "lrkxte", "-d", "lrk" },
        { "", "", "" },
        { "lr", "-lr", "" },
        { NULL, "+a", "a" },
        { "x", "aeltxkpiwsr", PR_FOLDER_RIGHTS_ALL },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *got = modify(cases[i].current, cases[i].spec);
        g_assert_cmpstr(got, ==, cases[i].expect);
    }
    g_autofree char *bad = modify("lr", "+lz");
    g_assert_true(g_str_has_prefix(bad, "error: "));
    g_assert_nonnull(strstr(bad, "“z”"));
    g_autofree char *bad2 = modify("", "L");
    g_assert_nonnull(strstr(bad2, "“L”"));

    /* \Seen needs s, \Deleted t, the others w; the rest stays. */
    g_autofree char *a = store_rights_restrict_flags("\\Flagged", "\\Seen \\Deleted $x", "lrs");
    g_assert_cmpstr(a, ==, "\\Seen \\Flagged");
    g_autofree char *b = store_rights_restrict_flags("\\Seen $y", "", "lrw");
    g_assert_cmpstr(b, ==, "\\Seen");
    g_autofree char *c = store_rights_restrict_flags("\\Seen", "\\Deleted $x", "lrtw");
    g_assert_cmpstr(c, ==, "\\Deleted $x \\Seen");
    g_autofree char *d = store_rights_restrict_flags("", "\\Seen \\Answered", "lrswt");
    g_assert_cmpstr(d, ==, "\\Seen \\Answered");
    g_autofree char *e = store_rights_restrict_flags("", "\\Seen \\Answered", "lr");
    g_assert_cmpstr(e, ==, "");
}

/* ---- the store ---- */

static void
add_users(Fixture *f)
{
    store_fixture_add_user(f, "alice");
    store_fixture_add_user(f, "bob");
    store_fixture_add_user(f, "carol");
    create(f, "alice", "Work");
}

static void
test_rights_union(Fixture *f, gconstpointer data)
{
    SKIP_IF_NO_BACKEND(f);
    g_test_summary("Rights are the union of the user's and anyone's entries; owner has all");
    add_users(f);

    g_autofree char *r0 = rights(f, "bob", "#users/alice/Work");
    g_assert_cmpstr(r0, ==, "-");
    g_autofree char *own = rights(f, "alice", "Work");
    g_assert_cmpstr(own, ==, PR_FOLDER_RIGHTS_ALL);
    g_autofree char *own2 = rights(f, "alice", "#users/Alice/Work");
    g_assert_cmpstr(own2, ==, PR_FOLDER_RIGHTS_ALL);
    g_autofree char *own3 = rights(f, "alice", "Nope");
    g_assert_cmpstr(own3, ==, "-");

    set_acl(f, "alice", "Work", "anyone", "l");
    set_acl(f, "alice", "Work", "BOB", "ir");
    g_autofree char *r1 = rights(f, "bob", "#users/alice/Work");
    g_assert_cmpstr(r1, ==, "lri");
    /* User names are case-insensitive, folder names are not. */
    g_autofree char *r2 = rights(f, "Bob", "#users/ALICE/Work");
    g_assert_cmpstr(r2, ==, "lri");
    g_autofree char *r3 = rights(f, "bob", "#users/alice/work");
    g_assert_cmpstr(r3, ==, "-");
    g_autofree char *r4 = rights(f, "carol", "#users/alice/Work");
    g_assert_cmpstr(r4, ==, "l");

    /* +/- modifiers, the obsolete c and d, canonical order. */
    set_acl(f, "alice", "Work", "bob", "+sw");
    g_autofree char *r5 = rights(f, "bob", "#users/alice/Work");
    g_assert_cmpstr(r5, ==, "lrswi");
    set_acl(f, "alice", "Work", "bob", "-ri");
    set_acl(f, "alice", "Work", "carol", "cd");
    g_autofree char *a1 = acl(f, "alice", "Work");
    g_assert_cmpstr(a1, ==, "alice=lrswipkxtea,anyone=l,bob=sw,carol=kxte");
    g_autofree char *r6 = rights(f, "carol", "#users/alice/Work");
    g_assert_cmpstr(r6, ==, "lkxte");

    /* Errors: unknown letter, the owner, no such user, no such folder. */
    ASSERT_FAILS(store_folder_set_acl(f->conn, "alice", "Work", "bob", "lz", error_),
                 PR_STORE_ERROR_FAILED);
    ASSERT_FAILS(store_folder_set_acl(f->conn, "alice", "Work", "Alice", "l", error_),
                 PR_STORE_ERROR_FAILED);
    ASSERT_FAILS(store_folder_set_acl(f->conn, "alice", "Work", "alice", NULL, error_),
                 PR_STORE_ERROR_FAILED);
    ASSERT_FAILS(store_folder_set_acl(f->conn, "alice", "Work", "zed", "l", error_),
                 PR_STORE_ERROR_FAILED);
    ASSERT_FAILS(store_folder_set_acl(f->conn, "alice", "Nope", "bob", "l", error_),
                 PR_STORE_ERROR_NOT_FOUND);
    g_autofree char *a2 = acl(f, "alice", "Work");
    g_assert_cmpstr(a2, ==, a1);

    /* An empty result and DELETEACL remove the entry. */
    set_acl(f, "alice", "Work", "bob", "-sw");
    set_acl(f, "alice", "Work", "carol", NULL);
    g_autofree char *a3 = acl(f, "alice", "Work");
    g_assert_cmpstr(a3, ==, "alice=lrswipkxtea,anyone=l");

    /* GETACL and SETACL need "a": who has it may change others. */
    ASSERT_FAILS(store_folder_get_acl(f->conn, "bob", "#users/alice/Work", error_) != NULL,
                 PR_STORE_ERROR_PERMISSION);
    ASSERT_FAILS(store_folder_set_acl(f->conn, "bob", "#users/alice/Work", "bob", "+a", error_),
                 PR_STORE_ERROR_PERMISSION);
    set_acl(f, "alice", "Work", "bob", "la");
    set_acl(f, "bob", "#users/alice/Work", "carol", "lr");
    g_autofree char *a4 = acl(f, "bob", "#users/alice/Work");
    g_assert_cmpstr(a4, ==, "alice=lrswipkxtea,anyone=l,bob=la,carol=lr");
    ASSERT_FAILS(store_folder_set_acl(f->conn, "bob", "#users/alice/Work", "alice", "-a", error_),
                 PR_STORE_ERROR_FAILED);

    /* A deleted user's entries go with them. */
    g_autoptr(GError) error = NULL;
    g_assert_true(store_user_delete(f->conn, "carol", &error));
    g_assert_no_error(error);
    store_fixture_add_user(f, "carol");
    g_autofree char *a5 = acl(f, "alice", "Work");
    g_assert_cmpstr(a5, ==, "alice=lrswipkxtea,anyone=l,bob=la");
}

static void
test_not_found_or_permission(Fixture *f, gconstpointer data)
{
    PrFolderStatus st;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("Without l or r a folder does not exist; with them a missing right is "
                   "PERMISSION");
    add_users(f);

    /* Not told apart: no such owner, no such folder, no right to see it. */
    ASSERT_FAILS(store_folder_status(f->conn, "bob", "#users/alice/Work", &st, error_),
                 PR_STORE_ERROR_NOT_FOUND);
    ASSERT_FAILS(store_folder_status(f->conn, "bob", "#users/alice/Nope", &st, error_),
                 PR_STORE_ERROR_NOT_FOUND);
    ASSERT_FAILS(store_folder_status(f->conn, "bob", "#users/zed/Work", &st, error_),
                 PR_STORE_ERROR_NOT_FOUND);
    ASSERT_FAILS(store_folder_status(f->conn, "bob", "#users/alice", &st, error_),
                 PR_STORE_ERROR_NOT_FOUND);
    ASSERT_FAILS(store_folder_status(f->conn, "bob", "#users/alice/", &st, error_),
                 PR_STORE_ERROR_NOT_FOUND);
    /* Rights on another folder of alice's do not count. */
    set_acl(f, "alice", "INBOX", "bob", PR_FOLDER_RIGHTS_ALL);
    ASSERT_FAILS(store_folder_status(f->conn, "bob", "#users/alice/Work", &st, error_),
                 PR_STORE_ERROR_NOT_FOUND);

    set_acl(f, "alice", "Work", "bob", "l");
    ASSERT_FAILS(store_folder_status(f->conn, "bob", "#users/alice/Work", &st, error_),
                 PR_STORE_ERROR_PERMISSION);
    ASSERT_FAILS(append(f, "bob", "#users/alice/Work", NULL, error_), PR_STORE_ERROR_PERMISSION);

    set_acl(f, "alice", "Work", "bob", "r");
    g_autoptr(GError) error = NULL;
    g_assert_true(store_folder_status(f->conn, "bob", "#users/alice/Work", &st, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(st.messages, ==, 0);

    /* "i" lets bob append; the owner's usage counts it. Flags he may not
     * set are left off. */
    set_acl(f, "alice", "Work", "bob", "lris");
    gint64 before = used_bytes(f, "alice");
    g_assert_true(append(f, "bob", "#users/alice/Work", "\\Seen \\Flagged \\Deleted", &error));
    g_assert_no_error(error);
    g_assert_cmpint(used_bytes(f, "alice"), >, before);
    g_assert_cmpint(used_bytes(f, "bob"), ==, 0);
    g_assert_true(store_folder_status(f->conn, "bob", "#users/alice/Work", &st, &error));
    g_assert_cmpuint(st.messages, ==, 1);
    g_assert_cmpuint(st.unseen, ==, 0);
    g_assert_true(store_folder_status(f->conn, "alice", "Work", &st, &error));
    g_assert_cmpuint(st.messages, ==, 1);

    /* INBOX rules apply in the owner's part. */
    g_assert_true(store_folder_status(f->conn, "bob", "#users/alice/inbox", &st, &error));
    g_assert_no_error(error);
}

static gboolean
work_subscribed(Fixture *f, const char *user)
{
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) folders = store_folder_list(f->conn, user, &error);
    g_assert_no_error(error);
    for (guint i = 0; i < folders->len; i++) {
        PrFolderInfo *info = folders->pdata[i];
        if (strcmp(info->name, "Work") == 0)
            return info->subscribed;
    }
    g_assert_not_reached();
}

static void
test_list_shared(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("LIST shows another user's folder only with l, and bob's own subscription");
    add_users(f);
    create(f, "carol", "Team");
    create(f, "alice", "Private");

    g_autofree char *l0 = listed(f, "bob");
    g_assert_cmpstr(l0, ==, "");
    /* "r" without "l" opens but does not list. */
    set_acl(f, "alice", "Work", "bob", "r");
    g_autofree char *l1 = listed(f, "bob");
    g_assert_cmpstr(l1, ==, "");
    set_acl(f, "alice", "Work", "anyone", "l");
    set_acl(f, "carol", "Team", "bob", "lrs");
    g_autofree char *l2 = listed(f, "bob");
    g_assert_cmpstr(l2, ==, "#users/alice/Work:lr!,#users/carol/Team:lrs!");
    g_autofree char *l3 = listed(f, "carol");
    g_assert_cmpstr(l3, ==, "#users/alice/Work:l!");
    /* Alice's own list has no #users entries. */
    g_autofree char *l4 = listed(f, "alice");
    g_assert_cmpstr(l4, ==, "");

    /* bob's subscription is his own, not alice's. */
    gboolean alice_subscribed = work_subscribed(f, "alice");
    g_assert_true(store_folder_subscribe(f->conn, "bob", "#users/alice/Work", TRUE, &error));
    g_assert_no_error(error);
    g_autofree char *l5 = listed(f, "bob");
    g_assert_cmpstr(l5, ==, "#users/alice/Work:lr,#users/carol/Team:lrs!");
    g_autofree char *l6 = listed(f, "carol");
    g_assert_cmpstr(l6, ==, "#users/alice/Work:l!");
    g_assert_cmpint(work_subscribed(f, "alice"), ==, alice_subscribed);
    g_assert_true(store_folder_subscribe(f->conn, "alice", "Work", !alice_subscribed, &error));
    g_autofree char *l5b = listed(f, "bob");
    g_assert_cmpstr(l5b, ==, l5);
    ASSERT_FAILS(store_folder_subscribe(f->conn, "bob", "#users/alice/Private", TRUE, error_),
                 PR_STORE_ERROR_NOT_FOUND);

    /* Revoking l hides it again (and "anyone" alone keeps it). */
    set_acl(f, "alice", "Work", "anyone", NULL);
    g_autofree char *l7 = listed(f, "bob");
    g_assert_cmpstr(l7, ==, "#users/carol/Team:lrs!");
    g_assert_true(store_folder_subscribe(f->conn, "bob", "#users/carol/Team", TRUE, &error));
    g_assert_true(store_folder_subscribe(f->conn, "bob", "#users/carol/Team", FALSE, &error));
    g_assert_no_error(error);
    g_autofree char *l8 = listed(f, "bob");
    g_assert_cmpstr(l8, ==, "#users/carol/Team:lrs!");
}

static void
test_change_rights(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    GPtrArray *none = NULL;
    gint64 changed = 0;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("CREATE needs k on the parent, DELETE x, RENAME x and k within one owner");
    add_users(f);

    ASSERT_FAILS(store_folder_create(f->conn, "bob", "#users/alice/Work/Sub", error_),
                 PR_STORE_ERROR_PERMISSION);
    set_acl(f, "alice", "Work", "bob", "lr");
    ASSERT_FAILS(store_folder_create(f->conn, "bob", "#users/alice/Work/Sub", error_),
                 PR_STORE_ERROR_PERMISSION);
    set_acl(f, "alice", "Work", "bob", "+k");
    /* Top level: only the owner. */
    ASSERT_FAILS(store_folder_create(f->conn, "bob", "#users/alice/Top", error_),
                 PR_STORE_ERROR_PERMISSION);
    ASSERT_FAILS(store_folder_create(f->conn, "bob", "#users/zed/Top", error_),
                 PR_STORE_ERROR_NOT_FOUND);
    /* The new folder (and a missing level) take the parent's entries. */
    create(f, "bob", "#users/alice/Work/A/B");
    ASSERT_FAILS(store_folder_create(f->conn, "bob", "#users/alice/Work/A/B", error_),
                 PR_STORE_ERROR_EXISTS);
    g_autofree char *a1 = acl(f, "alice", "Work/A/B");
    g_assert_cmpstr(a1, ==, "alice=lrswipkxtea,bob=lrk");
    g_autofree char *l1 = listed(f, "bob");
    g_assert_cmpstr(l1, ==,
                    "#users/alice/Work:lrk!,#users/alice/Work/A:lrk!,"
                    "#users/alice/Work/A/B:lrk!");

    /* DELETE needs x. */
    ASSERT_FAILS(store_folder_delete(f->conn, "bob", "#users/alice/Work/A/B", none, NULL, error_),
                 PR_STORE_ERROR_PERMISSION);
    set_acl(f, "alice", "Work/A/B", "bob", "+x");
    g_assert_true(store_folder_delete(f->conn, "bob", "#users/alice/Work/A/B", none, NULL, &error));
    g_assert_no_error(error);
    g_autofree char *r1 = rights(f, "bob", "#users/alice/Work/A/B");
    g_assert_cmpstr(r1, ==, "-");

    /* RENAME: x on the folder, k on the new parent, one owner. */
    ASSERT_FAILS(store_folder_rename(f->conn, "bob", "#users/alice/Work/A", "#users/alice/Work/C",
                                     &changed, error_),
                 PR_STORE_ERROR_PERMISSION);
    set_acl(f, "alice", "Work/A", "bob", "+x");
    ASSERT_FAILS(
        store_folder_rename(f->conn, "bob", "#users/alice/Work/A", "Mine", &changed, error_),
        PR_STORE_ERROR_FAILED);
    ASSERT_FAILS(store_folder_rename(f->conn, "bob", "#users/alice/Work/A", "#users/alice/C",
                                     &changed, error_),
                 PR_STORE_ERROR_PERMISSION);
    g_assert_true(store_folder_rename(f->conn, "bob", "#users/alice/Work/A", "#users/alice/Work/C",
                                      &changed, &error));
    g_assert_no_error(error);
    g_autofree char *r2 = rights(f, "alice", "Work/C");
    g_assert_cmpstr(r2, ==, PR_FOLDER_RIGHTS_ALL);
    /* Entries go with the folder. */
    g_autofree char *r3 = rights(f, "bob", "#users/alice/Work/C");
    g_assert_cmpstr(r3, ==, "lrkx");

    /* The owner's own changes are unaffected by entries. */
    g_assert_true(store_folder_delete(f->conn, "alice", "Work/C", none, NULL, &error));
    g_assert_no_error(error);
}

/* ---- mailboxes ---- */

static PrMailbox *
open_as(PrHost *host, StoreWaiter *w, const char *user, const char *folder, GError **error)
{
    pr_mailbox_open_async(host, user, folder, PR_MAILBOX_SHARED, "acl test", NULL, store_waiter_got,
                          w);
    g_autoptr(GAsyncResult) res = store_waiter_wait(w);
    return pr_mailbox_open_finish(host, res, error);
}

static void
close_mailbox(PrMailbox *mailbox, StoreWaiter *w)
{
    pr_mailbox_close_async(mailbox, store_waiter_got, w);
    g_autoptr(GAsyncResult) res = store_waiter_wait(w);
    g_assert_true(pr_mailbox_close_finish(res, NULL));
}

/* Stores @flags on every message; returns the first message's flags in
 * the mailbox's snapshot after a sync. */
static char *
store_flags(PrMailbox *m, StoreWaiter *w, PrFlagsChange change, const char *flags)
{
    g_autoptr(GError) error = NULL;
    guint32 uid = pr_mailbox_get_uid(m, 0);
    pr_mailbox_store_flags_async(m, &uid, 1, change, flags, 0, store_waiter_got, w);
    g_autoptr(GAsyncResult) res = store_waiter_wait(w);
    g_assert_true(pr_mailbox_store_flags_finish(m, res, NULL, &error));
    g_assert_no_error(error);
    pr_mailbox_sync_async(m, store_waiter_got, w);
    g_autoptr(GAsyncResult) res2 = store_waiter_wait(w);
    pr_mailbox_changes_free(pr_mailbox_sync_finish(m, res2, &error));
    g_assert_no_error(error);
    return g_strdup(pr_mailbox_get_flags(m, 0));
}

static gboolean
expunge(PrMailbox *m, StoreWaiter *w, GError **error)
{
    guint index = 0;
    pr_mailbox_delete_async(m, &index, 1, FALSE, NULL, store_waiter_got, w);
    g_autoptr(GAsyncResult) res = store_waiter_wait(w);
    return pr_mailbox_delete_finish(m, res, error);
}

static gboolean
copy(PrMailbox *m, StoreWaiter *w, const char *target, gboolean move, GError **error)
{
    guint32 uid = pr_mailbox_get_uid(m, 0);
    pr_mailbox_copy_async(m, &uid, 1, target, move, store_waiter_got, w);
    g_autoptr(GAsyncResult) res = store_waiter_wait(w);
    return pr_mailbox_copy_finish(m, res, NULL, NULL, NULL, error);
}

static void
test_mailbox_rights(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    StoreWaiter w = { 0 };
    PrFolderStatus st;

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("A mailbox opened as #users/OWNER/NAME has the opener's rights, and the host "
                   "enforces them in STORE, EXPUNGE, COPY and MOVE");
    add_users(f);
    g_assert_true(append(f, "alice", "Work", "\\Answered", &error));
    g_autoptr(Config) config = store_fixture_config(f, "");
    PrHost *host = host_new(config);
    host->store = store_open(&f->settings, &error);
    g_assert_no_error(error);
    w.loop = g_main_loop_new(NULL, FALSE);

    /* Not visible, then visible but not readable. */
    g_assert_null(open_as(host, &w, "bob", "#users/alice/Work", &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);
    set_acl(f, "alice", "Work", "bob", "l");
    g_assert_null(open_as(host, &w, "bob", "#users/alice/Work", &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_PERMISSION);
    g_clear_error(&error);

    PrMailbox *own = open_as(host, &w, "alice", "Work", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(pr_mailbox_get_rights(own), ==, PR_FOLDER_RIGHTS_ALL);
    /* The owner may name her own folder the way others do. */
    PrMailbox *own2 = open_as(host, &w, "alice", "#users/alice/Work", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(pr_mailbox_get_rights(own2), ==, PR_FOLDER_RIGHTS_ALL);
    g_assert_cmpint(own2->folder_id, ==, own->folder_id);
    close_mailbox(own2, &w);

    set_acl(f, "alice", "Work", "bob", "lr");
    PrMailbox *m = open_as(host, &w, "bob", "#users/ALICE/Work", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(pr_mailbox_get_rights(m), ==, "lr");
    g_assert_cmpuint(pr_mailbox_get_count(m), ==, 1);
    /* The same folder as alice's: one id, one notification path. */
    g_assert_cmpint(m->folder_id, ==, own->folder_id);

    /* Without s, w, t nothing changes. */
    g_autofree char *f1 = store_flags(m, &w, PR_FLAGS_ADD, "\\Seen \\Flagged \\Deleted");
    g_assert_cmpstr(f1, ==, "\\Answered");
    g_autofree char *f2 = store_flags(m, &w, PR_FLAGS_REPLACE, "");
    g_assert_cmpstr(f2, ==, "\\Answered");
    ASSERT_FAILS(expunge(m, &w, error_), PR_STORE_ERROR_PERMISSION);
    ASSERT_FAILS(copy(m, &w, "INBOX", TRUE, error_), PR_STORE_ERROR_PERMISSION);
    close_mailbox(m, &w);

    /* Rights are taken at open: s now, then t and w. */
    set_acl(f, "alice", "Work", "bob", "+s");
    m = open_as(host, &w, "bob", "#users/alice/Work", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(pr_mailbox_get_rights(m), ==, "lrs");
    g_autofree char *f3 = store_flags(m, &w, PR_FLAGS_REPLACE, "\\Seen \\Flagged");
    g_assert_cmpstr(f3, ==, "\\Seen \\Answered");
    close_mailbox(m, &w);
    set_acl(f, "alice", "Work", "bob", "+tw");
    m = open_as(host, &w, "bob", "#users/alice/Work", &error);
    g_assert_no_error(error);
    g_autofree char *f4 = store_flags(m, &w, PR_FLAGS_REPLACE, "\\Deleted $Work");
    g_assert_cmpstr(f4, ==, "\\Deleted $Work");

    /* COPY to bob's own INBOX (his name, his folder, his usage). */
    gint64 alice_before = used_bytes(f, "alice");
    g_assert_true(copy(m, &w, "INBOX", FALSE, &error));
    g_assert_no_error(error);
    g_assert_true(store_folder_status(f->conn, "bob", "INBOX", &st, &error));
    g_assert_cmpuint(st.messages, ==, 1);
    g_assert_cmpint(used_bytes(f, "bob"), >, 0);
    g_assert_cmpint(used_bytes(f, "alice"), ==, alice_before);
    /* MOVE needs e too. */
    ASSERT_FAILS(copy(m, &w, "INBOX", TRUE, error_), PR_STORE_ERROR_PERMISSION);

    /* EXPUNGE needs e. */
    ASSERT_FAILS(expunge(m, &w, error_), PR_STORE_ERROR_PERMISSION);
    close_mailbox(m, &w);
    set_acl(f, "alice", "Work", "bob", "+e");
    m = open_as(host, &w, "bob", "#users/alice/Work", &error);
    g_assert_no_error(error);
    g_assert_true(expunge(m, &w, &error));
    g_assert_no_error(error);
    g_assert_true(store_folder_status(f->conn, "alice", "Work", &st, &error));
    g_assert_cmpuint(st.messages, ==, 0);
    close_mailbox(m, &w);

    /* COPY from bob's INBOX into alice's folder needs i there; the copy
     * gets only the flags bob may set, and counts to alice. */
    PrMailbox *inbox = open_as(host, &w, "bob", "INBOX", &error);
    g_assert_no_error(error);
    g_assert_cmpstr(pr_mailbox_get_rights(inbox), ==, PR_FOLDER_RIGHTS_ALL);
    set_acl(f, "alice", "Work", "bob", "lr");
    ASSERT_FAILS(copy(inbox, &w, "#users/alice/Work", FALSE, error_), PR_STORE_ERROR_PERMISSION);
    ASSERT_FAILS(copy(inbox, &w, "#users/alice/Nope", FALSE, error_), PR_STORE_ERROR_NOT_FOUND);
    set_acl(f, "alice", "Work", "bob", "lrit");
    alice_before = used_bytes(f, "alice");
    gint64 bob_before = used_bytes(f, "bob");
    g_assert_true(copy(inbox, &w, "#users/alice/Work", TRUE, &error));
    g_assert_no_error(error);
    g_assert_cmpint(used_bytes(f, "alice"), >, alice_before);
    g_assert_cmpint(used_bytes(f, "bob"), <, bob_before);
    close_mailbox(inbox, &w);
    close_mailbox(own, &w);
    PrMailbox *work = open_as(host, &w, "alice", "Work", &error);
    g_assert_no_error(error);
    g_assert_cmpuint(pr_mailbox_get_count(work), ==, 1);
    g_assert_cmpstr(pr_mailbox_get_flags(work, 0), ==, "\\Deleted");
    close_mailbox(work, &w);

    while (g_main_context_iteration(NULL, FALSE))
        ;
    store_close(host->store);
    host->store = NULL;
    host_free(host);
    g_main_loop_unref(w.loop);
}

static void
test_sdk(Fixture *f, gconstpointer data)
{
    g_autoptr(GError) error = NULL;
    StoreWaiter w = { 0 };

    SKIP_IF_NO_BACKEND(f);
    g_test_summary("pr_folder_rights/get_acl/set_acl and the rights in pr_folder_list");
    add_users(f);
    g_autoptr(Config) config = store_fixture_config(f, "");
    PrHost *host = host_new(config);
    host->store = store_open(&f->settings, &error);
    g_assert_no_error(error);
    w.loop = g_main_loop_new(NULL, FALSE);

    pr_folder_set_acl_async(host, "alice", "Work", "bob", "lrs", store_waiter_got, &w);
    g_autoptr(GAsyncResult) r1 = store_waiter_wait(&w);
    g_assert_true(pr_folder_set_acl_finish(host, r1, &error));
    g_assert_no_error(error);

    pr_folder_set_acl_async(host, "alice", "Work", "bob", "+q", store_waiter_got, &w);
    g_autoptr(GAsyncResult) r2 = store_waiter_wait(&w);
    g_assert_false(pr_folder_set_acl_finish(host, r2, &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_FAILED);
    g_clear_error(&error);

    pr_folder_rights_async(host, "bob", "#users/alice/Work", store_waiter_got, &w);
    g_autoptr(GAsyncResult) r3 = store_waiter_wait(&w);
    g_autofree char *mine = pr_folder_rights_finish(host, r3, &error);
    g_assert_no_error(error);
    g_assert_cmpstr(mine, ==, "lrs");

    pr_folder_get_acl_async(host, "alice", "Work", store_waiter_got, &w);
    g_autoptr(GAsyncResult) r4 = store_waiter_wait(&w);
    g_autoptr(GPtrArray) entries = pr_folder_get_acl_finish(host, r4, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(entries->len, ==, 2);
    g_assert_cmpstr(((PrFolderAclEntry *)entries->pdata[0])->identifier, ==, "alice");
    g_assert_cmpstr(((PrFolderAclEntry *)entries->pdata[1])->rights, ==, "lrs");

    pr_folder_get_acl_async(host, "bob", "#users/alice/Work", store_waiter_got, &w);
    g_autoptr(GAsyncResult) r5 = store_waiter_wait(&w);
    g_assert_null(pr_folder_get_acl_finish(host, r5, &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_PERMISSION);
    g_clear_error(&error);

    pr_folder_list_async(host, "bob", store_waiter_got, &w);
    g_autoptr(GAsyncResult) r6 = store_waiter_wait(&w);
    g_autoptr(GPtrArray) list = pr_folder_list_finish(host, r6, &error);
    g_assert_no_error(error);
    PrFolderInfo *last = list->pdata[list->len - 1];
    g_assert_cmpstr(last->name, ==, "#users/alice/Work");
    g_assert_cmpstr(last->rights, ==, "lrs");
    g_clear_pointer(&list, g_ptr_array_unref);

    /* Alice's Sent is not bob's: no special use on shared folders. */
    set_acl(f, "alice", "Sent", "bob", "l");
    pr_folder_list_async(host, "bob", store_waiter_got, &w);
    g_autoptr(GAsyncResult) r6b = store_waiter_wait(&w);
    list = pr_folder_list_finish(host, r6b, &error);
    g_assert_no_error(error);
    guint special = 0;
    for (guint i = 0; i < list->len; i++) {
        PrFolderInfo *info = list->pdata[i];
        if (info->special_use != NULL)
            special++;
        if (strcmp(info->name, "#users/alice/Sent") == 0)
            g_assert_null(info->special_use);
    }
    g_assert_cmpuint(special, ==, 4);
    g_assert_cmpstr(((PrFolderInfo *)list->pdata[list->len - 2])->name, ==, "#users/alice/Sent");

    /* DELETEACL: rights NULL. */
    pr_folder_set_acl_async(host, "alice", "Work", "bob", NULL, store_waiter_got, &w);
    g_autoptr(GAsyncResult) r7 = store_waiter_wait(&w);
    g_assert_true(pr_folder_set_acl_finish(host, r7, &error));
    pr_folder_rights_async(host, "bob", "#users/alice/Work", store_waiter_got, &w);
    g_autoptr(GAsyncResult) r8 = store_waiter_wait(&w);
    g_assert_null(pr_folder_rights_finish(host, r8, &error));
    g_assert_error(error, PR_STORE_ERROR, PR_STORE_ERROR_NOT_FOUND);
    g_clear_error(&error);

    while (g_main_context_iteration(NULL, FALSE))
        ;
    store_close(host->store);
    host->store = NULL;
    host_free(host);
    g_main_loop_unref(w.loop);
}

int
main(int argc, char **argv)
{
    static const StoreFixtureOptions options = { .suite = "folder-acl",
                                                 .workers = 2,
                                                 .migrate = TRUE };

    g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
    if (!store_fixture_init(&options))
        return 1;

    g_test_add_func("/folder-acl/rights-text", test_rights_text);
    store_fixture_add("rights-union", test_rights_union);
    store_fixture_add("not-found-or-permission", test_not_found_or_permission);
    store_fixture_add("list-shared", test_list_shared);
    store_fixture_add("change-rights", test_change_rights);
    store_fixture_add("mailbox-rights", test_mailbox_rights);
    store_fixture_add("sdk", test_sdk);
    return store_fixture_finish(g_test_run());
}
