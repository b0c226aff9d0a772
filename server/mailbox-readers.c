/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>

#include "mailbox-private.h"

/* Open mailboxes per folder, so that the spool files of the messages one
 * session expunges stay while another session's snapshot still lists
 * them: it may FETCH them until it syncs, which it does only when its
 * client asks (RFC 3501 does not let a server announce an expunge during
 * FETCH). The files go when the last of those mailboxes closes. Sessions
 * of other instances sharing the database are not known here; for them a
 * message expunged meanwhile reads as gone. */

typedef struct {
    gint64 folder_id;
    guint open;
    GPtrArray *graveyard; /* full paths, removed when open drops to 0 */
} FolderReaders;

static void
unlink_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
    GPtrArray *paths = data;

    for (guint i = 0; i < paths->len; i++) {
        const char *path = paths->pdata[i];
        if (g_unlink(path) != 0 && errno != ENOENT)
            g_warning(_("cannot remove %s: %s"), path, g_strerror(errno));
    }
    g_task_return_boolean(task, TRUE);
}

/* Takes @paths. */
static void
unlink_in_thread(GPtrArray *paths)
{
    if (paths->len == 0) {
        g_ptr_array_unref(paths);
        return;
    }
    GTask *task = g_task_new(NULL, NULL, NULL, NULL);
    g_task_set_task_data(task, paths, (GDestroyNotify)g_ptr_array_unref);
    g_task_run_in_thread(task, unlink_thread);
    g_object_unref(task);
}

void
mailbox_readers_add(PrMailbox *mailbox)
{
    PrHost *host = mailbox->host;

    if (host->mailbox_readers == NULL)
        host->mailbox_readers = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
    FolderReaders *r = g_hash_table_lookup(host->mailbox_readers, &mailbox->folder_id);
    if (r == NULL) {
        r = g_new0(FolderReaders, 1);
        r->folder_id = mailbox->folder_id;
        g_hash_table_insert(host->mailbox_readers, &r->folder_id, r);
    }
    r->open++;
}

void
mailbox_readers_remove(PrMailbox *mailbox)
{
    PrHost *host = mailbox->host;
    FolderReaders *r = host->mailbox_readers != NULL
                           ? g_hash_table_lookup(host->mailbox_readers, &mailbox->folder_id)
                           : NULL;

    if (r == NULL || --r->open > 0)
        return;
    if (r->graveyard != NULL)
        unlink_in_thread(g_steal_pointer(&r->graveyard));
    g_hash_table_remove(host->mailbox_readers, &mailbox->folder_id);
    if (g_hash_table_size(host->mailbox_readers) == 0)
        g_clear_pointer(&host->mailbox_readers, g_hash_table_unref);
}

void
mailbox_remove_spool_files(PrMailbox *mailbox, GPtrArray *paths)
{
    PrHost *host = mailbox->host;
    FolderReaders *r = host->mailbox_readers != NULL
                           ? g_hash_table_lookup(host->mailbox_readers, &mailbox->folder_id)
                           : NULL;

    /* Only the expunging mailbox itself has the folder open. */
    if (r == NULL || r->open <= 1) {
        unlink_in_thread(g_ptr_array_ref(paths));
        return;
    }
    if (r->graveyard == NULL)
        r->graveyard = g_ptr_array_new_with_free_func(g_free);
    for (guint i = 0; i < paths->len; i++)
        g_ptr_array_add(r->graveyard, g_strdup(paths->pdata[i]));
}
