/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Helpers shared by the message commands (FETCH, STORE, SEARCH, COPY,
 * MOVE, EXPUNGE): message sets resolved against the selected mailbox's
 * snapshot, and the FLAGS and MODSEQ items every FETCH response carries. */

#include "imap.h"

G_BEGIN_DECLS

/* Output waiting beyond this makes a long response wait for the client. */
#define IMAP_OUTPUT_HIGH_WATER (256 * 1024)

typedef enum {
    IMAP_MSGSET_OK,
    IMAP_MSGSET_SYNTAX,  /* not a sequence set: BAD */
    IMAP_MSGSET_NO_SUCH, /* a message number beyond the mailbox: BAD */
} ImapMsgsetResult;

/* Resolves @text ("1:4,7", "$" for the saved search) against the snapshot
 * into indexes (guint, ascending, without duplicates). Message numbers must
 * exist (RFC 3501 §9 "seq-number"); UIDs that do not are skipped (§6.4.8). */
ImapMsgsetResult imap_msgset_resolve(ImapSession *s, const char *text, gboolean uid,
                                     GArray **indexes);

/* The index of the message with @uid in the snapshot, or -1. */
gint64 imap_msg_find_uid(PrMailbox *mailbox, guint32 uid);

/* Whether MODSEQ goes in every FETCH response (RFC 7162 §3.2: once a
 * CONDSTORE-enabling command was seen). */
gboolean imap_msg_condstore(ImapSession *s);

/* Appends "FLAGS (...)" with @flags (space separated, as the mailbox keeps
 * them) and \Recent when the message is recent in this session. */
void imap_msg_append_flags(GString *out, const char *flags, gboolean recent);

/* Whether space-separated @flags holds @flag (case-insensitively). */
gboolean imap_msg_has_flag(const char *flags, const char *flag);

/* @flags changed as STORE would (@change a PrFlagsChange), system flags
 * spelt as RFC 3501 does, no duplicates: a new string. */
char *imap_msg_apply_flags(const char *flags, int change, const char *given);

/* The right (RFC 4314 §4) that changing @flag needs: 's' for \Seen, 't'
 * for \Deleted, 'w' for any other flag or keyword. */
char imap_msg_flag_right(const char *flag);

/* imap_msg_apply_flags() as the host applies it for a user with @rights:
 * a flag the user may not change keeps its old state. */
char *imap_msg_apply_flags_rights(const char *flags, int change, const char *given,
                                  const char *rights);

/* HEADER.FIELDS (.NOT): the fields of @header (with their folded lines)
 * whose names are (not) among @fields (upper case), then the blank line
 * that ends a header. */
GString *imap_msg_filter_header(const char *header, gsize len, char **fields, gboolean exclude);

/* @values (ascending) as a compact sequence set: "4:6,9" (RFC 4315
 * COPYUID, RFC 4731 ALL). */
void imap_msg_append_uid_set(GString *out, const guint32 *values, guint n);

G_END_DECLS
