/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "mailbox-private.h"

/* Change notification (IMAP IDLE and the untagged updates of every
 * command). A registry on the host maps folder ids to the open mailboxes
 * that asked to be told; changes made in this process (deliveries, other
 * sessions) are announced at once with host_mailbox_changed(), those of
 * other instances sharing the database are found by one poll for all
 * watched folders every POLL_SECONDS. Nothing runs while nothing is
 * watched, and an unchanged folder costs only its share of that poll. */

#define POLL_SECONDS 5

static guint poll_seconds = POLL_SECONDS;

typedef struct {
    gint64 id;
    GPtrArray *mailboxes; /* PrMailbox*, not referenced: each leaves at close */
    char *inbox_of;       /* the user, if it is an INBOX */
    guint64 highestmodseq;
    guint32 uidnext;
} WatchedFolder;

typedef struct _MailboxWatch {
    GHashTable *folders; /* gint64* id -> WatchedFolder* */
    GHashTable *inboxes; /* user -> WatchedFolder* */
    guint poll_id;
    gboolean polling; /* a poll job is under way */
} MailboxWatch;

static void
watched_folder_free(gpointer p)
{
    WatchedFolder *w = p;
    g_ptr_array_unref(w->mailboxes);
    g_free(w->inbox_of);
    g_free(w);
}

static gboolean
notify_cb(gpointer data)
{
    PrMailbox *m = data;
    m->notify_idle = 0;
    if (m->notify != NULL)
        m->notify(m->notify_data);
    return G_SOURCE_REMOVE;
}

/* One call per main-loop iteration however many changes came. */
static void
notify_folder(WatchedFolder *w)
{
    for (guint i = 0; i < w->mailboxes->len; i++) {
        PrMailbox *m = w->mailboxes->pdata[i];
        if (m->notify_idle == 0)
            m->notify_idle = g_idle_add(notify_cb, m);
    }
}

static void
watch_free_if_unused(PrHost *host)
{
    MailboxWatch *watch = host->mailbox_watch;
    if (watch == NULL || g_hash_table_size(watch->folders) > 0)
        return;
    g_clear_handle_id(&watch->poll_id, g_source_remove);
    if (watch->polling)
        return; /* poll_done() frees it */
    g_hash_table_unref(watch->inboxes);
    g_hash_table_unref(watch->folders);
    g_free(watch);
    host->mailbox_watch = NULL;
}

/* ---- polling for other instances ---- */

typedef struct {
    GArray *ids; /* gint64 */
} PollJob;

static void
poll_job_free(gpointer p)
{
    PollJob *j = p;
    g_array_unref(j->ids);
    g_free(j);
}

static gpointer
poll_job(StoreConn *c, gpointer data, GError **error)
{
    PollJob *j = data;
    return store_folders_state(c, (gint64 *)j->ids->data, j->ids->len, error);
}

static void
poll_done(GObject *source, GAsyncResult *result, gpointer data)
{
    PrHost *host = data;
    MailboxWatch *watch = host->mailbox_watch;
    g_autoptr(GError) error = NULL;
    g_autoptr(GArray) states = store_run_finish(host_get_store(host), result, &error);

    watch->polling = FALSE;
    if (states == NULL && error != NULL)
        g_debug("mailbox change poll failed: %s", error->message);
    for (guint i = 0; states != NULL && i < states->len; i++) {
        StoreFolderState *st = &g_array_index(states, StoreFolderState, i);
        WatchedFolder *w = g_hash_table_lookup(watch->folders, &st->folder_id);
        if (w == NULL || (w->highestmodseq == st->highestmodseq && w->uidnext == st->uidnext))
            continue;
        w->highestmodseq = st->highestmodseq;
        w->uidnext = st->uidnext;
        notify_folder(w);
    }
    watch_free_if_unused(host);
}

static gboolean
poll_cb(gpointer data)
{
    PrHost *host = data;
    MailboxWatch *watch = host->mailbox_watch;
    GHashTableIter iter;
    gpointer key;

    if (watch->polling || host_get_store(host) == NULL)
        return G_SOURCE_CONTINUE; /* the database is slow: skip a turn */
    PollJob *j = g_new0(PollJob, 1);
    j->ids = g_array_sized_new(FALSE, FALSE, sizeof(gint64), g_hash_table_size(watch->folders));
    g_hash_table_iter_init(&iter, watch->folders);
    while (g_hash_table_iter_next(&iter, &key, NULL))
        g_array_append_val(j->ids, *(gint64 *)key);
    watch->polling = TRUE;
    store_run_async(host_get_store(host), poll_job, j, poll_job_free, NULL, poll_done, host);
    return G_SOURCE_CONTINUE;
}

void
mailbox_notify_set_poll_seconds(PrHost *host, guint seconds)
{
    MailboxWatch *watch = host->mailbox_watch;

    poll_seconds = seconds;
    if (watch != NULL && watch->poll_id != 0) {
        g_source_remove(watch->poll_id);
        watch->poll_id = g_timeout_add_seconds(poll_seconds, poll_cb, host);
    }
}

/* ---- registering ---- */

static gboolean
is_inbox(PrMailbox *m)
{
    return g_ascii_strcasecmp(m->folder, "INBOX") == 0;
}

static void
watch_add(PrMailbox *m)
{
    PrHost *host = m->host;
    MailboxWatch *watch = host->mailbox_watch;

    if (watch == NULL) {
        watch = host->mailbox_watch = g_new0(MailboxWatch, 1);
        watch->folders =
            g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, watched_folder_free);
        watch->inboxes = g_hash_table_new(g_str_hash, g_str_equal);
    }
    WatchedFolder *w = g_hash_table_lookup(watch->folders, &m->folder_id);
    if (w == NULL) {
        w = g_new0(WatchedFolder, 1);
        w->id = m->folder_id;
        w->mailboxes = g_ptr_array_new();
        /* The snapshot's state: what the poll compares with. */
        w->highestmodseq = m->state.highestmodseq;
        w->uidnext = m->state.uidnext;
        g_hash_table_insert(watch->folders, &w->id, w);
        if (is_inbox(m)) {
            w->inbox_of = g_strdup(m->user);
            g_hash_table_insert(watch->inboxes, w->inbox_of, w);
        }
    }
    g_ptr_array_add(w->mailboxes, m);
    g_atomic_int_inc(&host->mailbox_watchers);
    if (watch->poll_id == 0)
        watch->poll_id = g_timeout_add_seconds(poll_seconds, poll_cb, host);
}

static void
watch_remove(PrMailbox *m)
{
    MailboxWatch *watch = m->host->mailbox_watch;
    WatchedFolder *w = watch != NULL ? g_hash_table_lookup(watch->folders, &m->folder_id) : NULL;

    if (w == NULL || !g_ptr_array_remove_fast(w->mailboxes, m))
        return;
    g_atomic_int_add(&m->host->mailbox_watchers, -1);
    if (w->mailboxes->len == 0) {
        if (w->inbox_of != NULL)
            g_hash_table_remove(watch->inboxes, w->inbox_of);
        g_hash_table_remove(watch->folders, &w->id);
    }
    watch_free_if_unused(m->host);
}

void
pr_mailbox_set_change_notify(PrMailbox *mailbox, GSourceFunc notify, gpointer user_data)
{
    g_return_if_fail(mailbox != NULL);
    gboolean was = mailbox->notify != NULL;

    mailbox->notify = notify;
    mailbox->notify_data = user_data;
    if (notify == NULL)
        g_clear_handle_id(&mailbox->notify_idle, g_source_remove);
    if (mailbox->folder_id == 0)
        return; /* closed */
    if (notify != NULL && !was)
        watch_add(mailbox);
    else if (notify == NULL && was)
        watch_remove(mailbox);
}

void
mailbox_notify_stop(PrMailbox *mailbox)
{
    if (mailbox->notify != NULL && mailbox->folder_id != 0)
        watch_remove(mailbox);
    mailbox->notify = NULL;
    g_clear_handle_id(&mailbox->notify_idle, g_source_remove);
}

/* ---- announcing ---- */

typedef struct {
    PrHost *host;
    gint64 folder_id;
    char *user; /* instead of the id: this user's INBOX */
} Changed;

static void
changed_free(gpointer p)
{
    Changed *ch = p;
    g_free(ch->user);
    g_free(ch);
}

static gboolean
changed_cb(gpointer data)
{
    Changed *ch = data;
    MailboxWatch *watch = ch->host->mailbox_watch;
    WatchedFolder *w = NULL;

    if (watch != NULL && ch->user != NULL)
        w = g_hash_table_lookup(watch->inboxes, ch->user);
    else if (watch != NULL)
        w = g_hash_table_lookup(watch->folders, &ch->folder_id);
    if (w != NULL)
        notify_folder(w);
    return G_SOURCE_REMOVE;
}

static void
announce(PrHost *host, gint64 folder_id, const char *user)
{
    /* Nobody listens: nothing to do, from whichever thread (a mailbox
     * that starts listening now has its snapshot, or the poll, to tell). */
    if (host == NULL || g_atomic_int_get(&host->mailbox_watchers) == 0)
        return;
    Changed *ch = g_new0(Changed, 1);
    ch->host = host;
    ch->folder_id = folder_id;
    ch->user = user != NULL ? g_ascii_strdown(user, -1) : NULL;
    /* The registry lives on the main thread. */
    g_main_context_invoke_full(NULL, G_PRIORITY_DEFAULT, changed_cb, ch, changed_free);
}

void
host_mailbox_changed(PrHost *host, gint64 folder_id)
{
    announce(host, folder_id, NULL);
}

void
host_mailbox_inbox_changed(PrHost *host, const char *user)
{
    g_return_if_fail(user != NULL);
    announce(host, 0, user);
}
