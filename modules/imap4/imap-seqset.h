/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Sequence sets (RFC 3501 "sequence-set"): "1:4,7,10:*". Parsed once into
 * ranges, with "*" kept symbolic until the command knows the mailbox's
 * largest message number or UID. */

#pragma once

#include <glib.h>

#define IMAP_SEQ_STAR G_MAXUINT32

typedef struct {
    guint32 first, last; /* first <= last once resolved; IMAP_SEQ_STAR for "*" */
} ImapRange;

/* Parses @text; NULL if it is not a sequence set. Numbers are 1..2^32-2
 * (nz-number); each range is as written (unordered, "*" symbolic). */
GArray *imap_seqset_parse(const char *text);

/* The ranges with "*" replaced by @largest, each ordered, sorted and merged
 * (RFC 3501: "4:2" is "2:4"). With @largest 0 (an empty mailbox) a range
 * with "*" selects nothing. */
GArray *imap_seqset_resolve(const GArray *set, guint32 largest);

/* Whether resolved @set holds @n (binary search). */
gboolean imap_seqset_contains(const GArray *set, guint32 n);
