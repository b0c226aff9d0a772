/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* What IMAP FETCH needs from a message's MIME structure, made with GMime
 * in one pass: ENVELOPE, BODYSTRUCTURE and BODY in IMAP syntax, and a
 * table of the byte ranges of every part, so that BODY[section] is a
 * read of a range rather than a parse. Pure code on a buffer: the store
 * keeps the four strings (table message_mime), the fuzzer feeds it any
 * bytes. Malformed MIME still yields a valid BODYSTRUCTURE. */

#include <glib.h>
#include <postroom/pr-mailbox.h>

typedef struct {
    char *envelope;
    char *bodystructure;
    char *body;
    /* The section table as text, one line per part: its number ("" for
     * the message), then the start and end offsets of its MIME header,
     * of its content, and for a message (the top one or message/rfc822)
     * of the embedded header and text; -1 where a range does not apply. */
    char *sections;
} MimeSummary;

void mime_summary_free(MimeSummary *summary);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MimeSummary, mime_summary_free)

/* Summarises @len bytes of message (CRLF or LF line ends). Never fails. */
MimeSummary *mime_summary_build(const guint8 *data, gsize len);

/* Finds a section in a table made by mime_summary_build(): @part is a
 * part number ("1.2", "" for the message). Offsets are relative to the
 * buffer that was summarised. FALSE if there is no such part or range. */
gboolean mime_summary_find_section(const char *sections, const char *part, PrSectionPart which,
                                   gint64 *offset, gint64 *length);
