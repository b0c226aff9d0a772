/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Shared by the parts of PrMailbox: mailbox.c (opening, locks, reading,
 * deleting: what POP3 uses), mailbox-imap.c (flags, copies, syncs,
 * summaries) and mailbox-notify.c (change notification). */

#include <postroom/pr-mailbox.h>
#include "host.h"
#include "store/store-folder-acl.h"
#include "store/store-mail.h"

struct _PrMailbox {
    gatomicrefcount ref;
    PrHost *host;
    char *holder;
    PrMailboxAccess access;
    gint64 folder_id;
    guint32 uidvalidity;
    StoreMailboxState state; /* uidnext and highest modseq of the snapshot */
    GArray *items;           /* StoreMailItem */
    GHashTable *recent;      /* UIDs that are \Recent in this session */
    GHashTable *gone;        /* UIDs it deleted since the last sync, or NULL */
    guint generation;        /* bumped when a sync replaces the snapshot */
    char **uidls;
    char *spool_dir;
    guint heartbeat_id;
    char *user, *folder;            /* the owner (lower case) and the folder's name */
    char *actor;                    /* the user who opened it (lower case) */
    char rights[STORE_RIGHTS_SIZE]; /* theirs (RFC 4314): pr_mailbox_get_rights() */
    char *audit_component;          /* msgaudit, NULL until pr_mailbox_set_audit() */
    char *audit_actor, *audit_ip;

    /* IMAP: summaries by message id (MailboxSummary), main thread only. */
    GHashTable *summaries;
    /* pr_mailbox_read_ranges_async(): "index:offset:length" -> GBytes of
     * this generation, main thread only; NULL when none are kept. */
    GHashTable *ranges;

    /* Change notification (mailbox-notify.c), main thread only. */
    GSourceFunc notify;
    gpointer notify_data;
    guint notify_idle;

    /* Read-ahead, touched on the main thread only. */
    GBytes **ahead;               /* wire form by index, or NULL */
    gsize ahead_bytes;            /* held in ahead[] or being read */
    guint ahead_low;              /* no index below this one is held */
    guint ahead_next;             /* first index neither held nor being read */
    guint seq_next;               /* the index that continues an in-order download */
    guint batch_start, batch_end; /* the batch being read (empty when equal) */
    gsize batch_planned;          /* its share of ahead_bytes until it arrives */
    GQueue waiters;               /* GTask of readers waiting for the batch */
};

struct _PrMessageReader {
    PrMailbox *mailbox;
    guint index;
    guint generation; /* the mailbox's when made: index is valid only then */
    char *path;
    char *prefix; /* per-mailbox header lines, sent first */
    PrMessageFormat format;
    int body_lines; /* -1: all */
    int fd;
    gsize remaining; /* octets of the file not read yet */
    gsize line_len;  /* octets of the current line so far */
    gboolean prefix_done, line_start, in_body, finished;
    gboolean pending;  /* a chunk is being read */
    gboolean looked;   /* the read-ahead has seen this reader */
    gboolean in_order; /* ... and found it continuing a download */
    /* pr_mailbox_read_range(): octets of the wire form still to skip, and
     * the most still to send (-1: not a range). */
    gint64 range_skip, range_left;
};

PrMailbox *mailbox_ref(PrMailbox *mailbox);
void mailbox_unref(PrMailbox *mailbox);
StoreMailItem *mailbox_item_at(PrMailbox *mailbox, guint index);
/* Replaces the snapshot (after a sync): what was read ahead or cached by
 * index is dropped, readers made before go on reading their own file. */
void mailbox_replace_items(PrMailbox *mailbox, GArray *items, const StoreMailboxState *state);
/* Adds the UIDs from state->recent_from on to the \Recent set; returns
 * how many were added. */
guint mailbox_take_recent(PrMailbox *mailbox, GArray *items, const StoreMailboxState *state);
void mailbox_summaries_free(PrMailbox *mailbox);
/* The octets pr_mailbox_read_ranges_async() kept for @reader's range, or
 * NULL; each is handed out once. */
GBytes *mailbox_ranges_take(PrMailbox *mailbox, PrMessageReader *reader);

/* mailbox-notify.c: forgets @mailbox's notify (at close). */
void mailbox_notify_stop(PrMailbox *mailbox);

/* mailbox-readers.c: the open mailboxes of each folder (from open to
 * close), and the spool files of expunged messages (full paths), removed
 * at once or, while another open mailbox of the folder may still read
 * them, once the last of those has closed. */
void mailbox_readers_add(PrMailbox *mailbox);
void mailbox_readers_remove(PrMailbox *mailbox);
void mailbox_remove_spool_files(PrMailbox *mailbox, GPtrArray *paths);
/* For tests: how often other instances' changes are polled for (5 s). */
void mailbox_notify_set_poll_seconds(PrHost *host, guint seconds);
