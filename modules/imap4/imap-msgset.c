/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Message sets of the message commands, resolved against the snapshot of
 * the selected mailbox, and the FLAGS item of FETCH responses. */

#include "postroom-config.h"

#include <string.h>

#include "imap-msg.h"
#include "imap-seqset.h"

gint64
imap_msg_find_uid(PrMailbox *mailbox, guint32 uid)
{
    guint lo = 0, hi = pr_mailbox_get_count(mailbox);

    /* The snapshot is in UID order. */
    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        guint32 u = pr_mailbox_get_uid(mailbox, mid);

        if (u == uid)
            return mid;
        if (u < uid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static GArray *
saved_indexes(ImapSession *s)
{
    GArray *out = g_array_new(FALSE, FALSE, sizeof(guint));

    for (guint i = 0; s->saved_search != NULL && i < s->saved_search->len; i++) {
        gint64 index = imap_msg_find_uid(s->mailbox, g_array_index(s->saved_search, guint32, i));

        if (index >= 0) {
            guint v = (guint)index;
            g_array_append_val(out, v);
        }
    }
    return out;
}

ImapMsgsetResult
imap_msgset_resolve(ImapSession *s, const char *text, gboolean uid, GArray **indexes)
{
    guint count = pr_mailbox_get_count(s->mailbox);
    g_autoptr(GArray) parsed = NULL;
    g_autoptr(GArray) set = NULL;
    GArray *out;

    *indexes = NULL;
    if (strcmp(text, "$") == 0) {
        /* RFC 5182: the saved UIDs, whatever the command's form. */
        *indexes = saved_indexes(s);
        return IMAP_MSGSET_OK;
    }
    parsed = imap_seqset_parse(text);
    if (parsed == NULL)
        return IMAP_MSGSET_SYNTAX;
    out = g_array_new(FALSE, FALSE, sizeof(guint));
    if (uid) {
        guint32 largest = count > 0 ? pr_mailbox_get_uid(s->mailbox, count - 1) : 0;

        set = imap_seqset_resolve(parsed, largest);
        for (guint i = 0; i < count; i++)
            if (imap_seqset_contains(set, pr_mailbox_get_uid(s->mailbox, i)))
                g_array_append_val(out, i);
    } else {
        set = imap_seqset_resolve(parsed, count);
        for (guint r = 0; r < set->len; r++) {
            const ImapRange *range = &g_array_index(set, ImapRange, r);

            if (range->last > count) {
                g_array_free(out, TRUE);
                return IMAP_MSGSET_NO_SUCH;
            }
        }
        for (guint r = 0; r < set->len; r++) {
            const ImapRange *range = &g_array_index(set, ImapRange, r);

            for (guint32 n = range->first; n <= range->last; n++) {
                guint index = n - 1;
                g_array_append_val(out, index);
            }
        }
    }
    *indexes = out;
    return IMAP_MSGSET_OK;
}

gboolean
imap_msg_condstore(ImapSession *s)
{
    return (s->enabled & IMAP_ENABLED_CONDSTORE) != 0;
}
