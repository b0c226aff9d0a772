/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailbox-private.h"
#include "store/store-folder-acl.h"
#include "unix-time.h"

/* PrMailbox: a folder opened with a lock in the database, so that it holds
 * across every instance sharing it. The lock expires unless refreshed: a
 * server that dies leaves nothing that blocks the user for long, and its
 * own restart clears its locks at once (mailbox_release_stale). */

#define LOCK_TTL_SECONDS  300
#define HEARTBEAT_SECONDS 60
#define CHUNK_SIZE        (256 * 1024)

/* Read-ahead of whole messages downloaded in order (see "reading ahead"):
 * the wire forms held or being read for one mailbox, the largest message
 * read that way, and the most messages in one batch. */
#define AHEAD_BYTES       (256 * 1024)
#define AHEAD_MAX_MESSAGE (64 * 1024)
#define AHEAD_MAX_BATCH   64

static guint holder_serial;

PrMailbox *
mailbox_ref(PrMailbox *mailbox)
{
    g_atomic_ref_count_inc(&mailbox->ref);
    return mailbox;
}

void
mailbox_unref(PrMailbox *mailbox)
{
    if (!g_atomic_ref_count_dec(&mailbox->ref))
        return;
    mailbox_summaries_free(mailbox);
    g_clear_pointer(&mailbox->ranges, g_hash_table_unref);
    g_clear_pointer(&mailbox->recent, g_hash_table_unref);
    g_clear_pointer(&mailbox->gone, g_hash_table_unref);
    if (mailbox->ahead != NULL) {
        for (guint i = 0; i < mailbox->items->len; i++)
            g_clear_pointer(&mailbox->ahead[i], g_bytes_unref);
        g_free(mailbox->ahead);
    }
    g_free(mailbox->holder);
    g_free(mailbox->user);
    g_free(mailbox->folder);
    g_free(mailbox->actor);
    g_free(mailbox->audit_component);
    g_free(mailbox->audit_actor);
    g_free(mailbox->audit_ip);
    g_array_unref(mailbox->items);
    g_strfreev(mailbox->uidls);
    g_free(mailbox->spool_dir);
    g_free(mailbox);
}

/* ---- opening ---- */

typedef struct {
    char *user, *folder, *holder, *instance;
    PrMailboxAccess access;
} OpenJob;

typedef struct {
    gint64 folder_id;
    guint32 uidvalidity;
    GArray *items;
    StoreMailboxState state;
    StoreFolderRef ref; /* the owner, folder and rights */
} OpenResult;

static void
open_result_free(OpenResult *r)
{
    store_folder_ref_clear(&r->ref);
    g_free(r);
}

static void
open_job_free(gpointer p)
{
    OpenJob *j = p;
    g_free(j->user);
    g_free(j->folder);
    g_free(j->holder);
    g_free(j->instance);
    g_free(j);
}

static gpointer
open_job(StoreConn *c, gpointer data, GError **error)
{
    OpenJob *j = data;
    OpenResult *r = g_new0(OpenResult, 1);

    /* "#users/bob/Work" opens bob's folder with the opener's rights. */
    if (!store_folder_resolve(c, j->user, j->folder, "r", &r->ref, error)) {
        g_free(r);
        return NULL;
    }
    gboolean exclusive = j->access == PR_MAILBOX_EXCLUSIVE;
    r->folder_id =
        store_mailbox_lock(c, r->ref.owner, r->ref.folder, j->holder, j->instance, exclusive,
                           unix_now() + LOCK_TTL_SECONDS, &r->uidvalidity, error);
    /* POP3 keeps its single query; IMAP needs the folder's state too. */
    if (r->folder_id != 0 && exclusive)
        r->items = store_mailbox_list(c, r->folder_id, error);
    else if (r->folder_id != 0)
        r->items = store_mailbox_snapshot(c, r->folder_id, j->access == PR_MAILBOX_SHARED,
                                          &r->state, error);
    if (r->items == NULL) {
        if (r->folder_id != 0)
            store_mailbox_unlock(c, r->folder_id, j->holder, NULL);
        open_result_free(r);
        return NULL;
    }
    return r;
}

static void
open_done(GObject *source, GAsyncResult *result, gpointer data)
{
    GTask *task = data;
    PrMailbox *mailbox = g_task_get_task_data(task);
    g_autoptr(GError) error = NULL;
    OpenResult *r = store_run_finish(host_get_store(mailbox->host), result, &error);

    if (r == NULL) {
        g_task_return_error(task, g_steal_pointer(&error));
    } else {
        mailbox->folder_id = r->folder_id;
        mailbox->uidvalidity = r->uidvalidity;
        g_strlcpy(mailbox->rights, r->ref.rights, sizeof(mailbox->rights));
        g_free(mailbox->folder);
        mailbox->folder = g_steal_pointer(&r->ref.folder);
        if (r->ref.shared) {
            g_free(mailbox->user);
            mailbox->user = g_steal_pointer(&r->ref.owner);
        }
        mailbox_take_recent(mailbox, r->items, &r->state);
        mailbox_replace_items(mailbox, r->items, &r->state);
        mailbox_readers_add(mailbox);
        open_result_free(r);
        g_task_return_pointer(task, mailbox_ref(mailbox), (GDestroyNotify)pr_mailbox_close);
    }
    g_object_unref(task);
}

void
pr_mailbox_open_async(PrHost *host, const char *user, const char *folder, PrMailboxAccess access,
                      const char *holder, GCancellable *cancellable, GAsyncReadyCallback callback,
                      gpointer user_data)
{
    g_return_if_fail(host != NULL && user != NULL && folder != NULL && holder != NULL);

    PrMailbox *mailbox = g_new0(PrMailbox, 1);
    g_atomic_ref_count_init(&mailbox->ref);
    mailbox->host = host;
    mailbox->access = access;
    mailbox->recent = g_hash_table_new(g_direct_hash, g_direct_equal);
    /* Unique per session and instance, readable for the administrator. */
    mailbox->holder =
        g_strdup_printf("%s [%s:%d:%u]", holder, host->hostname, (int)getpid(), ++holder_serial);
    mailbox->items = g_array_new(FALSE, TRUE, sizeof(StoreMailItem));
    mailbox->spool_dir = g_build_filename(host->data_dir, "spool", NULL);
    mailbox->user = g_ascii_strdown(user, -1);
    mailbox->folder = g_strdup(folder);
    mailbox->actor = g_ascii_strdown(user, -1);

    GTask *task = g_task_new(NULL, cancellable, callback, user_data);
    g_task_set_source_tag(task, pr_mailbox_open_async);
    g_task_set_task_data(task, mailbox, (GDestroyNotify)mailbox_unref);

    OpenJob *j = g_new0(OpenJob, 1);
    j->user = g_ascii_strdown(user, -1);
    j->folder = g_strdup(folder);
    j->holder = g_strdup(mailbox->holder);
    j->instance = g_strdup(host->hostname);
    j->access = access;
    /* No cancellable here: a lock taken must be seen, to be released. */
    store_run_async(host_get_store(host), open_job, j, open_job_free, NULL, open_done, task);
}

static gpointer
refresh_job(StoreConn *c, gpointer data, GError **error)
{
    PrMailbox *m = data;
    store_mailbox_refresh(c, m->folder_id, m->holder, unix_now() + LOCK_TTL_SECONDS, error);
    return NULL;
}

static void
job_done_ignore(GObject *source, GAsyncResult *result, gpointer data)
{
    PrHost *host = data;
    g_autoptr(GError) error = NULL;
    store_run_finish(host_get_store(host), result, &error);
    if (error != NULL)
        g_warning("mailbox lock upkeep failed: %s", error->message);
}

static gboolean
heartbeat_cb(gpointer data)
{
    PrMailbox *m = data;
    store_run_async(host_get_store(m->host), refresh_job, mailbox_ref(m),
                    (GDestroyNotify)mailbox_unref, NULL, job_done_ignore, m->host);
    return G_SOURCE_CONTINUE;
}

PrMailbox *
pr_mailbox_open_finish(PrHost *host, GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
    PrMailbox *mailbox = g_task_propagate_pointer(G_TASK(result), error);
    if (mailbox != NULL)
        mailbox->heartbeat_id = g_timeout_add_seconds(HEARTBEAT_SECONDS, heartbeat_cb, mailbox);
    return mailbox;
}

typedef struct {
    gint64 folder_id;
    char *holder;
} UnlockJob;

static void
unlock_job_free(gpointer p)
{
    UnlockJob *j = p;
    g_free(j->holder);
    g_free(j);
}

static gpointer
unlock_job(StoreConn *c, gpointer data, GError **error)
{
    UnlockJob *j = data;
    store_mailbox_unlock(c, j->folder_id, j->holder, error);
    return NULL;
}

static void
unlock_done(GObject *source, GAsyncResult *result, gpointer data)
{
    GTask *task = data;
    PrHost *host = g_task_get_task_data(task);
    g_autoptr(GError) error = NULL;

    store_run_finish(host_get_store(host), result, &error);
    if (error != NULL) {
        g_warning("mailbox lock not released (it expires by itself): %s", error->message);
        g_task_return_error(task, g_steal_pointer(&error));
    } else {
        g_task_return_boolean(task, TRUE);
    }
    g_object_unref(task);
}

void
pr_mailbox_close_async(PrMailbox *mailbox, GAsyncReadyCallback callback, gpointer user_data)
{
    g_return_if_fail(mailbox != NULL);
    GTask *task = g_task_new(NULL, NULL, callback, user_data);
    g_task_set_source_tag(task, pr_mailbox_close_async);
    g_task_set_task_data(task, mailbox->host, NULL);

    g_clear_handle_id(&mailbox->heartbeat_id, g_source_remove);
    mailbox_notify_stop(mailbox);
    if (mailbox->folder_id != 0)
        mailbox_readers_remove(mailbox);
    if (mailbox->folder_id != 0 && host_get_store(mailbox->host) != NULL) {
        /* The job gets its own copy: the worker runs it after this returns. */
        UnlockJob *j = g_new0(UnlockJob, 1);
        j->folder_id = mailbox->folder_id;
        j->holder = g_strdup(mailbox->holder);
        mailbox->folder_id = 0;
        store_run_async(host_get_store(mailbox->host), unlock_job, j, unlock_job_free, NULL,
                        unlock_done, task);
    } else {
        g_task_return_boolean(task, TRUE);
        g_object_unref(task);
    }
    mailbox_unref(mailbox);
}

gboolean
pr_mailbox_close_finish(GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), FALSE);
    return g_task_propagate_boolean(G_TASK(result), error);
}

void
pr_mailbox_close(PrMailbox *mailbox)
{
    if (mailbox != NULL)
        pr_mailbox_close_async(mailbox, NULL, NULL);
}

/* ---- the snapshot ---- */

void
mailbox_replace_items(PrMailbox *m, GArray *items, const StoreMailboxState *state)
{
    /* What is held by index belongs to the old snapshot. A batch still
     * being read is ignored when it arrives (ahead_done() compares the
     * generation); its octets may exceed the budget until then. */
    if (m->ahead != NULL) {
        for (guint i = 0; i < m->items->len; i++)
            g_clear_pointer(&m->ahead[i], g_bytes_unref);
        g_clear_pointer(&m->ahead, g_free);
    }
    m->ahead_bytes = m->batch_planned = 0;
    m->ahead_low = m->ahead_next = m->seq_next = 0;
    m->batch_start = m->batch_end = 0;
    g_clear_pointer(&m->uidls, g_strfreev);
    g_clear_pointer(&m->ranges, g_hash_table_unref);
    m->generation++;

    g_array_unref(m->items);
    m->items = items;
    m->state = *state;
    /* POP3's snapshot reads no folder row: its messages tell. */
    for (guint i = 0; i < items->len; i++) {
        StoreMailItem *item = &g_array_index(items, StoreMailItem, i);
        if (item->uid >= m->state.uidnext)
            m->state.uidnext = item->uid + 1;
        if ((guint64)item->modseq > m->state.highestmodseq)
            m->state.highestmodseq = item->modseq;
    }
}

const char *
pr_mailbox_get_rights(PrMailbox *mailbox)
{
    g_return_val_if_fail(mailbox != NULL, "");
    return mailbox->rights;
}

guint
pr_mailbox_get_count(PrMailbox *mailbox)
{
    g_return_val_if_fail(mailbox != NULL, 0);
    return mailbox->items->len;
}

StoreMailItem *
mailbox_item_at(PrMailbox *mailbox, guint index)
{
    g_return_val_if_fail(mailbox != NULL && index < mailbox->items->len, NULL);
    return &g_array_index(mailbox->items, StoreMailItem, index);
}

gint64
pr_mailbox_get_size(PrMailbox *mailbox, guint index)
{
    StoreMailItem *item = mailbox_item_at(mailbox, index);
    return item != NULL ? item->size : 0;
}

guint32
pr_mailbox_get_uid(PrMailbox *mailbox, guint index)
{
    StoreMailItem *item = mailbox_item_at(mailbox, index);
    return item != NULL ? item->uid : 0;
}

const char *
pr_mailbox_get_uidl(PrMailbox *mailbox, guint index)
{
    StoreMailItem *item = mailbox_item_at(mailbox, index);
    if (item == NULL)
        return NULL;
    if (mailbox->uidls == NULL)
        mailbox->uidls = g_new0(char *, mailbox->items->len + 1);
    /* UIDVALIDITY.UID: unique in the folder, never reused, and the same for
     * POP3 as for IMAP. */
    if (mailbox->uidls[index] == NULL)
        mailbox->uidls[index] = g_strdup_printf("%u.%u", mailbox->uidvalidity, item->uid);
    return mailbox->uidls[index];
}

/* ---- reading ---- */

PrMessageReader *
pr_mailbox_read_message(PrMailbox *mailbox, guint index, PrMessageFormat format, int body_lines)
{
    StoreMailItem *item = mailbox_item_at(mailbox, index);
    g_return_val_if_fail(item != NULL, NULL);

    PrMessageReader *r = g_new0(PrMessageReader, 1);
    r->mailbox = mailbox_ref(mailbox);
    r->index = index;
    r->generation = mailbox->generation;
    r->range_left = -1;
    r->path = g_build_filename(mailbox->spool_dir, item->spool_path, NULL);
    r->prefix = g_strdup(item->prefix);
    r->format = format;
    r->body_lines = body_lines;
    r->fd = -1;
    r->line_start = TRUE;
    return r;
}

void
pr_message_reader_free(PrMessageReader *reader)
{
    if (reader == NULL)
        return;
    g_return_if_fail(!reader->pending);
    if (reader->fd >= 0)
        close(reader->fd);
    mailbox_unref(reader->mailbox);
    g_free(reader->path);
    g_free(reader->prefix);
    g_free(reader);
}

/* The whole message (RETR): lines are not counted, so the only work is
 * stuffing, done between line feeds found with memchr and copied in runs
 * rather than line by line. */
static void
transform_all(PrMessageReader *r, const char *in, gsize len, GByteArray *out)
{
    const char *end = in + len, *run = in, *p = in, *lf;

    if (len == 0)
        return;
    if (r->format == PR_MESSAGE_DOT_STUFFED) {
        if (r->line_start && *in == '.')
            g_byte_array_append(out, (const guint8 *)".", 1); /* RFC 1939 §3 */
        while ((lf = memchr(p, '\n', end - p)) != NULL && lf + 1 < end) {
            p = lf + 1;
            if (*p == '.') {
                g_byte_array_append(out, (const guint8 *)run, p - run);
                g_byte_array_append(out, (const guint8 *)".", 1);
                run = p;
            }
        }
    }
    g_byte_array_append(out, (const guint8 *)run, end - run);
    r->line_start = end[-1] == '\n';
}

/* Copies @in to @out in the wire form, a line at a time, stopping after the
 * allowed body lines. Messages are stored with CRLF line ends, so the empty
 * line that ends the header is exactly two octets long, wherever chunks
 * split it. Returns FALSE once the message is complete. */
static gboolean
transform(PrMessageReader *r, const char *in, gsize len, GByteArray *out)
{
    gsize i = 0;

    if (r->body_lines < 0) {
        transform_all(r, in, len, out);
        return TRUE;
    }
    while (i < len) {
        if (r->line_start) {
            if (r->in_body && r->body_lines >= 0 && r->body_lines-- == 0)
                return FALSE;
            if (in[i] == '.' && r->format == PR_MESSAGE_DOT_STUFFED)
                g_byte_array_append(out, (const guint8 *)".", 1); /* RFC 1939 §3 */
            r->line_len = 0;
        }
        const char *lf = memchr(in + i, '\n', len - i);
        gsize run = lf != NULL ? (gsize)(lf - (in + i)) + 1 : len - i;
        g_byte_array_append(out, (const guint8 *)in + i, run);
        r->line_len += run;
        i += run;
        r->line_start = lf != NULL;
        if (r->line_start && r->line_len == 2)
            r->in_body = TRUE;
    }
    return TRUE;
}

/* Ends the wire form once the message (or the TOP cut) is complete. */
static void
transform_end(PrMessageReader *r, GByteArray *out)
{
    r->finished = TRUE;
    if (r->format == PR_MESSAGE_DOT_STUFFED) {
        /* Spool files end with CRLF; a TOP cut does too. */
        if (!r->line_start)
            g_byte_array_append(out, (const guint8 *)"\r\n", 2);
        g_byte_array_append(out, (const guint8 *)".\r\n", 3);
    }
}

static gboolean
read_failed(GTask *task, PrMessageReader *r, int saved_errno)
{
    g_task_return_new_error(task, PR_STORE_ERROR, PR_STORE_ERROR_IO,
                            _("Cannot read the message file %s: %s"), r->path,
                            g_strerror(saved_errno));
    return FALSE;
}

/* Fills @buf with up to @want bytes; short only at the end of the file. */
static gssize
read_full(int fd, char *buf, gsize want)
{
    gsize got = 0;
    while (got < want) {
        gssize n = read(fd, buf + got, want - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += n;
    }
    return got;
}

/* A chunk of pr_mailbox_read_range(): raw octets of the wire form (the
 * prefix, then the file), from range_skip on, at most range_left. */
static void
read_range_chunk(GTask *task, PrMessageReader *r)
{
    gint64 prefix_len = strlen(r->prefix);

    if (r->fd < 0) {
        struct stat st;
        gint64 file_skip = MAX(0, r->range_skip - prefix_len);
        r->fd = g_open(r->path, O_RDONLY | O_CLOEXEC, 0);
        if (r->fd < 0 || fstat(r->fd, &st) != 0 ||
            (file_skip > 0 && file_skip < st.st_size && lseek(r->fd, file_skip, SEEK_SET) < 0)) {
            read_failed(task, r, errno);
            return;
        }
        r->remaining = file_skip >= st.st_size ? 0 : st.st_size - file_skip;
    }
    gsize want = MIN((gint64)MIN(r->remaining, CHUNK_SIZE), r->range_left);
    g_autoptr(GByteArray) out = g_byte_array_sized_new(want + 1);

    if (!r->prefix_done) {
        if (r->range_skip < prefix_len) {
            gint64 n = MIN(prefix_len - r->range_skip, r->range_left);
            g_byte_array_append(out, (const guint8 *)r->prefix + r->range_skip, n);
            r->range_left -= n;
            want = MIN((gint64)want, r->range_left);
        }
        r->range_skip = 0;
        r->prefix_done = TRUE;
    }
    if (want > 0) {
        g_byte_array_set_size(out, out->len + want);
        gssize n = read_full(r->fd, (char *)out->data + out->len - want, want);
        if (n < 0) {
            read_failed(task, r, errno);
            return;
        }
        g_byte_array_set_size(out, out->len - want + n);
        r->remaining = (gsize)n < want ? 0 : r->remaining - n;
        r->range_left -= n;
    }
    if (r->remaining == 0 || r->range_left <= 0)
        r->finished = TRUE;
    g_task_return_pointer(task, g_byte_array_free_to_bytes(g_steal_pointer(&out)),
                          (GDestroyNotify)g_bytes_unref);
}

static void
read_chunk(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
    PrMessageReader *r = data;
    gboolean more = TRUE;

    if (r->range_left >= 0) {
        read_range_chunk(task, r);
        return;
    }
    if (r->fd < 0) {
        struct stat st;
        r->fd = g_open(r->path, O_RDONLY | O_CLOEXEC, 0);
        if (r->fd < 0 || fstat(r->fd, &st) != 0) {
            read_failed(task, r, errno);
            return;
        }
        r->remaining = st.st_size;
    }
    /* Sized for what is left, so a small message costs a small buffer, and
     * knowing the size lets the last chunk say so: one trip per message. */
    gsize want = MIN(r->remaining, CHUNK_SIZE);
    gsize prefix_len = r->prefix_done ? 0 : strlen(r->prefix);
    g_autoptr(GByteArray) out = g_byte_array_sized_new(prefix_len + want + want / 16 + 8);

    if (!r->prefix_done) {
        more = transform(r, r->prefix, prefix_len, out);
        r->prefix_done = TRUE;
    }
    if (more && want > 0) {
        g_autofree char *buf = g_malloc(want);
        gssize n = read_full(r->fd, buf, want);
        if (n < 0) {
            read_failed(task, r, errno);
            return;
        }
        r->remaining = (gsize)n < want ? 0 : r->remaining - n;
        more = transform(r, buf, n, out);
    }
    if (!more || r->remaining == 0)
        transform_end(r, out);
    g_task_return_pointer(task, g_byte_array_free_to_bytes(g_steal_pointer(&out)),
                          (GDestroyNotify)g_bytes_unref);
}

/* ---- reading ahead ----
 *
 * POP3 clients download a mailbox in order, one RETR after the other. Read
 * one at a time, each message costs a trip to a worker thread and back:
 * two thread wake-ups and a main-loop turn, several times the cost of the
 * reading itself, and the main loop waits meanwhile. So when a whole
 * message is asked for in order, the worker reads a batch of the messages
 * that follow, already in their wire form, and the next RETRs are
 * answered from memory at once (pr_message_reader_try_next()), pipelined
 * ones in the same write. A new batch is read while half the last one is
 * still unsent, so the main loop rarely waits at all. What is held is
 * bounded per mailbox (AHEAD_BYTES) and dropped as the client moves past
 * it; large messages and TOP are streamed as before. Spool files never
 * change, so a copy read ahead cannot go stale. */

typedef struct {
    PrMailbox *mailbox;
    GArray *items;    /* the snapshot the indexes refer to */
    guint generation; /* ... and its number */
    guint start, end;
    GBytes **wire; /* by index - start; NULL where the file could not be read */
} AheadBatch;

static void
ahead_batch_free(gpointer p)
{
    AheadBatch *b = p;
    for (guint i = 0; i < b->end - b->start; i++)
        g_clear_pointer(&b->wire[i], g_bytes_unref);
    g_free(b->wire);
    g_array_unref(b->items);
    mailbox_unref(b->mailbox);
    g_free(b);
}

/* The wire form of a whole message of @size octets (prefix included), or
 * NULL: a reader that finds nothing reads the file itself and reports the
 * error. The size is known, so one read() asking for an octet more both
 * reads the file and shows that it ends there (a regular file reads short
 * only at its end; anything unexpected goes the careful way). */
static GBytes *
read_whole(const char *path, const char *prefix, gsize size)
{
    PrMessageReader r = { .format = PR_MESSAGE_DOT_STUFFED, .body_lines = -1, .line_start = TRUE };
    gsize prefix_len = strlen(prefix);
    int fd;

    if (size < prefix_len || size > AHEAD_MAX_MESSAGE)
        return NULL;
    size -= prefix_len;
    fd = g_open(path, O_RDONLY | O_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    g_autofree char *buf = g_malloc(size + 1);
    gssize n;
    do
        n = read(fd, buf, size + 1);
    while (n < 0 && errno == EINTR);
    close(fd);
    if (n < 0 || (gsize)n != size)
        return NULL;
    GByteArray *out = g_byte_array_sized_new(prefix_len + size + size / 32 + 8);
    transform_all(&r, prefix, prefix_len, out);
    transform_all(&r, buf, size, out);
    transform_end(&r, out);
    return g_byte_array_free_to_bytes(out);
}

static void
ahead_read(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
    AheadBatch *b = data;

    /* The batch holds its snapshot: a sync may replace the mailbox's. */
    for (guint i = b->start; i < b->end; i++) {
        StoreMailItem *item = &g_array_index(b->items, StoreMailItem, i);
        g_autofree char *path = g_build_filename(b->mailbox->spool_dir, item->spool_path, NULL);
        b->wire[i - b->start] = read_whole(path, item->prefix, item->size);
    }
    g_task_return_boolean(task, TRUE);
}

static void ahead_done(GObject *source, GAsyncResult *result, gpointer data);

/* Starts reading the batch that begins at @from. Returns FALSE if there is
 * nothing to read (the next message is too large, or the budget is spent). */
static gboolean
ahead_start(PrMailbox *m, guint from)
{
    guint end = from;
    gsize bytes = 0;

    g_return_val_if_fail(m->batch_start == m->batch_end, FALSE);
    while (end < m->items->len && end - from < AHEAD_MAX_BATCH) {
        gint64 size = g_array_index(m->items, StoreMailItem, end).size;
        if (size > AHEAD_MAX_MESSAGE || m->ahead_bytes + bytes + size > AHEAD_BYTES)
            break;
        bytes += size;
        end++;
    }
    if (end == from)
        return FALSE;

    AheadBatch *b = g_new0(AheadBatch, 1);
    b->mailbox = mailbox_ref(m);
    b->items = g_array_ref(m->items);
    b->generation = m->generation;
    b->start = from;
    b->end = end;
    b->wire = g_new0(GBytes *, end - from);
    m->batch_start = from;
    m->batch_end = end;
    m->batch_planned = bytes;
    m->ahead_bytes += bytes;
    m->ahead_next = end;

    GTask *task = g_task_new(NULL, NULL, ahead_done, NULL);
    g_task_set_source_tag(task, ahead_start);
    g_task_set_task_data(task, b, ahead_batch_free);
    /* Short reads of local files, like read_chunk(). */
    g_task_run_in_thread(task, ahead_read);
    g_object_unref(task);
    return TRUE;
}

/* Forgets what is held below @low: the client has moved past it. */
static void
ahead_drop_below(PrMailbox *m, guint low)
{
    for (guint i = m->ahead_low; i < low && i < m->ahead_next; i++) {
        if (m->ahead[i] != NULL) {
            m->ahead_bytes -= g_bytes_get_size(m->ahead[i]);
            g_clear_pointer(&m->ahead[i], g_bytes_unref);
        }
    }
    m->ahead_low = MAX(m->ahead_low, low);
}

/* Hands over message @i if it is held, and keeps the read-ahead going. */
static GBytes *
ahead_take(PrMailbox *m, guint i)
{
    GBytes *wire;

    if (m->ahead == NULL || m->ahead[i] == NULL)
        return NULL;
    wire = g_steal_pointer(&m->ahead[i]);
    m->ahead_bytes -= g_bytes_get_size(wire);
    ahead_drop_below(m, i + 1);
    if (m->batch_start == m->batch_end && m->ahead_bytes < AHEAD_BYTES / 2)
        ahead_start(m, MAX(m->ahead_next, i + 1));
    return wire;
}

static void
ahead_done(GObject *source, GAsyncResult *result, gpointer data)
{
    AheadBatch *b = g_task_get_task_data(G_TASK(result));
    PrMailbox *m = b->mailbox;
    GTask *waiter;

    if (b->generation != m->generation) {
        /* A sync replaced the snapshot meanwhile (mailbox_replace_items()
         * reset the accounting): the waiters read their files themselves. */
        while ((waiter = g_queue_pop_head(&m->waiters)) != NULL) {
            g_task_run_in_thread(waiter, read_chunk);
            g_object_unref(waiter);
        }
        return;
    }
    m->ahead_bytes -= m->batch_planned;
    m->batch_planned = 0;
    m->batch_start = m->batch_end = 0;
    for (guint i = b->start; i < b->end; i++) {
        GBytes **wire = &b->wire[i - b->start];
        /* Not what the client has moved past meanwhile. */
        if (*wire != NULL && i >= m->ahead_low && i < m->ahead_next && m->ahead[i] == NULL) {
            m->ahead_bytes += g_bytes_get_size(*wire);
            m->ahead[i] = g_steal_pointer(wire);
        }
    }
    while ((waiter = g_queue_pop_head(&m->waiters)) != NULL) {
        PrMessageReader *r = g_task_get_task_data(waiter);
        GBytes *wire = ahead_take(m, r->index);

        if (wire != NULL) {
            r->prefix_done = TRUE;
            r->finished = TRUE;
            g_task_return_pointer(waiter, wire, (GDestroyNotify)g_bytes_unref);
        } else {
            /* Unreadable: the reader's own read says why. */
            g_task_run_in_thread(waiter, read_chunk);
        }
        g_object_unref(waiter);
    }
}

/* Looks for @r's message among those read ahead. Returns it if held; sets
 * @wait if it is being read (then the reader joins the waiters). A whole
 * message asked for in order that is neither starts the next batch. */
static GBytes *
ahead_lookup(PrMessageReader *r, gboolean *wait)
{
    PrMailbox *m = r->mailbox;
    guint i = r->index;

    *wait = FALSE;
    if (r->format != PR_MESSAGE_DOT_STUFFED || r->body_lines >= 0 || r->prefix_done ||
        r->finished || r->generation != m->generation)
        return NULL;
    if (!r->looked) {
        r->looked = TRUE;
        /* In order: the message after the last one, or one of those read
         * ahead (the client skips the ones it deleted). */
        r->in_order = i == m->seq_next || (i >= m->ahead_low && i < m->ahead_next);
        m->seq_next = i + 1;
    }
    if (!r->in_order || g_array_index(m->items, StoreMailItem, i).size > AHEAD_MAX_MESSAGE)
        return NULL;
    if (m->ahead == NULL)
        m->ahead = g_new0(GBytes *, m->items->len);
    if (m->ahead[i] != NULL)
        return ahead_take(m, i);
    if (i >= m->batch_start && i < m->batch_end) {
        *wait = TRUE;
        return NULL;
    }
    if (m->batch_start != m->batch_end)
        return NULL; /* one batch at a time: read this one alone */
    /* The client went elsewhere: start again from here. */
    ahead_drop_below(m, m->ahead_next);
    m->ahead_low = m->ahead_next = i;
    *wait = ahead_start(m, i);
    return NULL;
}

GBytes *
pr_message_reader_try_next(PrMessageReader *reader, gboolean *last)
{
    g_return_val_if_fail(reader != NULL && !reader->pending, NULL);
    gboolean wait = FALSE;
    GBytes *wire = mailbox_ranges_take(reader->mailbox, reader);

    if (wire == NULL)
        wire = ahead_lookup(reader, &wait);
    if (wire != NULL) {
        reader->prefix_done = TRUE;
        reader->finished = TRUE;
    }
    if (last != NULL)
        *last = wire != NULL;
    return wire;
}

void
pr_message_reader_next_async(PrMessageReader *reader, GCancellable *cancellable,
                             GAsyncReadyCallback callback, gpointer user_data)
{
    g_return_if_fail(reader != NULL && !reader->pending);
    GTask *task = g_task_new(NULL, cancellable, callback, user_data);
    g_task_set_source_tag(task, pr_message_reader_next_async);
    g_task_set_task_data(task, reader, NULL);
    reader->pending = TRUE;
    if (reader->finished) {
        reader->pending = FALSE;
        g_task_return_pointer(task, g_bytes_new(NULL, 0), (GDestroyNotify)g_bytes_unref);
    } else {
        gboolean wait = FALSE;
        GBytes *wire = mailbox_ranges_take(reader->mailbox, reader);

        if (wire == NULL)
            wire = ahead_lookup(reader, &wait);
        if (wire != NULL) {
            reader->prefix_done = TRUE;
            reader->finished = TRUE;
            g_task_return_pointer(task, wire, (GDestroyNotify)g_bytes_unref);
        } else if (wait) {
            g_queue_push_tail(&reader->mailbox->waiters, g_object_ref(task));
        } else {
            /* Short reads of local files: the shared GIO pool suits them. */
            g_task_run_in_thread(task, read_chunk);
        }
    }
    g_object_unref(task);
}

GBytes *
pr_message_reader_next_finish(PrMessageReader *reader, GAsyncResult *result, gboolean *last,
                              GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), NULL);
    reader->pending = FALSE;
    GBytes *bytes = g_task_propagate_pointer(G_TASK(result), error);
    if (last != NULL)
        *last = bytes == NULL || reader->finished;
    return bytes;
}

/* ---- deleting ---- */

typedef struct {
    gint64 folder_id;
    GArray *uids;
    gboolean hold;
    char *spool_dir;
    StoreMailAudit audit; /* strings owned; component NULL for no msgaudit */
} DeleteJob;

static void
delete_job_free(gpointer p)
{
    DeleteJob *j = p;
    g_array_unref(j->uids);
    g_free(j->spool_dir);
    g_free((char *)j->audit.component);
    g_free((char *)j->audit.owner);
    g_free((char *)j->audit.actor);
    g_free((char *)j->audit.ip);
    g_free((char *)j->audit.folder);
    g_free(j);
}

void
pr_mailbox_set_audit(PrMailbox *mailbox, const char *component, const char *actor, const char *ip)
{
    g_return_if_fail(mailbox != NULL && component != NULL);
    g_free(mailbox->audit_component);
    g_free(mailbox->audit_actor);
    g_free(mailbox->audit_ip);
    mailbox->audit_component = g_strdup(component);
    mailbox->audit_actor = g_strdup(actor != NULL ? actor : mailbox->actor);
    mailbox->audit_ip = g_strdup(ip);
}

static gpointer
delete_job(StoreConn *c, gpointer data, GError **error)
{
    DeleteJob *j = data;
    g_autoptr(GPtrArray) unused = g_ptr_array_new_with_free_func(g_free);

    if (!store_mailbox_delete(c, j->folder_id, (guint32 *)j->uids->data, j->uids->len, j->hold,
                              j->audit.component != NULL ? &j->audit : NULL, unused, error))
        return NULL;
    /* The files no row refers to any more, removed after the commit (a
     * crash in between leaves files without rows, never rows without
     * files) by mailbox_remove_spool_files(). */
    GPtrArray *paths = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < unused->len; i++)
        g_ptr_array_add(paths, g_build_filename(j->spool_dir, unused->pdata[i], NULL));
    return paths;
}

static void
delete_done(GObject *source, GAsyncResult *result, gpointer data)
{
    GTask *task = data;
    PrMailbox *mailbox = g_task_get_task_data(task);
    g_autoptr(GError) error = NULL;

    g_autoptr(GPtrArray) unused = store_run_finish(host_get_store(mailbox->host), result, &error);

    if (unused == NULL) {
        g_task_return_error(task, g_steal_pointer(&error));
    } else {
        DeleteJob *j = g_task_get_task_data(G_TASK(result));

        /* The next sync knows these went (pr_mailbox_sync_async() then
         * reads only what changed). */
        if (mailbox->gone == NULL)
            mailbox->gone = g_hash_table_new(g_direct_hash, g_direct_equal);
        for (guint i = 0; i < j->uids->len; i++)
            g_hash_table_add(mailbox->gone, GUINT_TO_POINTER(g_array_index(j->uids, guint32, i)));
        mailbox_remove_spool_files(mailbox, unused);
        host_mailbox_changed(mailbox->host, mailbox->folder_id);
        g_task_return_boolean(task, TRUE);
    }
    g_object_unref(task);
}

void
pr_mailbox_delete_async(PrMailbox *mailbox, const guint *indexes, guint n_indexes, gboolean hold,
                        GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
    g_return_if_fail(mailbox != NULL && (indexes != NULL || n_indexes == 0));

    GTask *task = g_task_new(NULL, cancellable, callback, user_data);
    g_task_set_source_tag(task, pr_mailbox_delete_async);
    g_task_set_task_data(task, mailbox_ref(mailbox), (GDestroyNotify)mailbox_unref);
    /* Expunging another user's messages needs "e" (RFC 4314). */
    if (strchr(mailbox->rights, 'e') == NULL) {
        g_task_return_new_error(task, PR_STORE_ERROR, PR_STORE_ERROR_PERMISSION,
                                _("You do not have the “%c” right on the folder “%s”."), 'e',
                                mailbox->folder);
        g_object_unref(task);
        return;
    }

    DeleteJob *j = g_new0(DeleteJob, 1);
    j->folder_id = mailbox->folder_id;
    j->hold = hold;
    j->spool_dir = g_strdup(mailbox->spool_dir);
    /* The setting as it is now: it can be reloaded. */
    if (mailbox->audit_component != NULL &&
        config_get_bool(mailbox->host->config, "delivery", "msgaudit")) {
        j->audit.component = g_strdup(mailbox->audit_component);
        j->audit.cmd = "D";
        j->audit.owner = g_strdup(mailbox->user);
        j->audit.actor = g_strdup(mailbox->audit_actor);
        j->audit.ip = g_strdup(mailbox->audit_ip);
        j->audit.folder = g_strdup(mailbox->folder);
    }
    j->uids = g_array_sized_new(FALSE, FALSE, sizeof(guint32), n_indexes);
    for (guint i = 0; i < n_indexes; i++) {
        StoreMailItem *item = mailbox_item_at(mailbox, indexes[i]);
        if (item != NULL)
            g_array_append_val(j->uids, item->uid);
    }
    /* Not cancellable: once asked for, the deletion commits or fails whole. */
    store_run_async(host_get_store(mailbox->host), delete_job, j, delete_job_free, NULL,
                    delete_done, task);
}

gboolean
pr_mailbox_delete_finish(PrMailbox *mailbox, GAsyncResult *result, GError **error)
{
    g_return_val_if_fail(g_task_is_valid(result, NULL), FALSE);
    return g_task_propagate_boolean(G_TASK(result), error);
}
