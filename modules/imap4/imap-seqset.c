/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "postroom-config.h"

#include "imap-seqset.h"

/* One seq-number: nz-number or "*". Advances @p. */
static gboolean
read_number(const char **p, guint32 *value)
{
    guint64 n = 0;
    const char *start = *p;

    if (**p == '*') {
        (*p)++;
        *value = IMAP_SEQ_STAR;
        return TRUE;
    }
    if (**p < '1' || **p > '9')
        return FALSE;
    while (g_ascii_isdigit(**p)) {
        n = n * 10 + (guint64)(**p - '0');
        (*p)++;
        if (*p - start > 10 || n >= IMAP_SEQ_STAR)
            return FALSE;
    }
    *value = (guint32)n;
    return TRUE;
}

GArray *
imap_seqset_parse(const char *text)
{
    g_autoptr(GArray) set = g_array_new(FALSE, FALSE, sizeof(ImapRange));
    const char *p = text;

    for (;;) {
        ImapRange r;

        if (!read_number(&p, &r.first))
            return NULL;
        r.last = r.first;
        if (*p == ':') {
            p++;
            if (!read_number(&p, &r.last))
                return NULL;
        }
        g_array_append_val(set, r);
        if (*p == '\0')
            return g_steal_pointer(&set);
        if (*p != ',')
            return NULL;
        p++;
    }
}

static gint
range_cmp(gconstpointer a, gconstpointer b)
{
    const ImapRange *x = a, *y = b;

    return x->first < y->first ? -1 : x->first > y->first ? 1 : 0;
}

GArray *
imap_seqset_resolve(const GArray *set, guint32 largest)
{
    GArray *out = g_array_sized_new(FALSE, FALSE, sizeof(ImapRange), set->len);

    for (guint i = 0; i < set->len; i++) {
        ImapRange r = g_array_index(set, ImapRange, i);

        if (r.first == IMAP_SEQ_STAR || r.last == IMAP_SEQ_STAR) {
            if (largest == 0)
                continue; /* "*" of an empty mailbox: nothing */
            if (r.first == IMAP_SEQ_STAR)
                r.first = largest;
            if (r.last == IMAP_SEQ_STAR)
                r.last = largest;
        }
        if (r.first > r.last) {
            guint32 t = r.first;
            r.first = r.last;
            r.last = t;
        }
        g_array_append_val(out, r);
    }
    g_array_sort(out, range_cmp);
    guint kept = 0;
    for (guint i = 0; i < out->len; i++) {
        ImapRange r = g_array_index(out, ImapRange, i);
        ImapRange *prev = kept > 0 ? &g_array_index(out, ImapRange, kept - 1) : NULL;

        if (prev != NULL && (guint64)r.first <= (guint64)prev->last + 1) {
            prev->last = MAX(prev->last, r.last);
        } else {
            g_array_index(out, ImapRange, kept) = r;
            kept++;
        }
    }
    g_array_set_size(out, kept);
    return out;
}

gboolean
imap_seqset_contains(const GArray *set, guint32 n)
{
    guint lo = 0, hi = set->len;

    while (lo < hi) {
        guint mid = lo + (hi - lo) / 2;
        const ImapRange *r = &g_array_index(set, ImapRange, mid);

        if (n < r->first)
            hi = mid;
        else if (n > r->last)
            lo = mid + 1;
        else
            return TRUE;
    }
    return FALSE;
}
