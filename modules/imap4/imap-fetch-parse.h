/* SPDX-License-Identifier: GPL-3.0-or-later */

/* FETCH data items (RFC 3501 §6.4.5, CONDSTORE's MODSEQ): the macros ALL,
 * FAST and FULL, the simple items, and BODY[section]<partial> with
 * BODY.PEEK and the RFC822 forms, read once into an ImapFetchSpec that the
 * FETCH code walks per message. */

#pragma once

#include <glib.h>

#include "imap-parse.h"

typedef enum {
    IMAP_FETCH_FLAGS = 1 << 0,
    IMAP_FETCH_INTERNALDATE = 1 << 1,
    IMAP_FETCH_RFC822_SIZE = 1 << 2,
    IMAP_FETCH_ENVELOPE = 1 << 3,
    IMAP_FETCH_BODY = 1 << 4, /* BODY without a section: the non-extensible structure */
    IMAP_FETCH_BODYSTRUCTURE = 1 << 5,
    IMAP_FETCH_UID = 1 << 6,
    IMAP_FETCH_MODSEQ = 1 << 7,
} ImapFetchItems;

typedef enum {
    IMAP_SECTION_ALL,               /* BODY[] or BODY[1.2]: the whole message or part */
    IMAP_SECTION_HEADER,            /* HEADER */
    IMAP_SECTION_HEADER_FIELDS,     /* HEADER.FIELDS (names) */
    IMAP_SECTION_HEADER_FIELDS_NOT, /* HEADER.FIELDS.NOT (names) */
    IMAP_SECTION_TEXT,              /* TEXT */
    IMAP_SECTION_MIME,              /* MIME: the part's own header; only after a part number */
} ImapSectionKind;

/* Part numbers in one section: at most this deep. */
#define IMAP_MAX_PART_DEPTH 32

typedef struct {
    ImapSectionKind kind;
    guint32 part[IMAP_MAX_PART_DEPTH]; /* 1.2.3 */
    guint part_depth;                  /* 0: the message itself */
    char **fields;                     /* HEADER.FIELDS[.NOT]: upper-case names */
    gboolean peek;                     /* BODY.PEEK or RFC822.HEADER: \Seen is not set */
    gboolean partial;                  /* <offset.length> */
    guint32 offset, length;
    char *reply_name; /* as the response names it: "BODY[1.HEADER.FIELDS (FROM)]<0>", "RFC822" */
} ImapFetchBody;

typedef struct {
    guint32 items;     /* ImapFetchItems */
    GPtrArray *bodies; /* ImapFetchBody * */
} ImapFetchSpec;

/* Reads the FETCH command's item argument (an atom or a list of them).
 * Returns FALSE with @error set to a reason for the BAD reply. */
gboolean imap_fetch_parse(const ImapArg *arg, ImapFetchSpec *spec, char **error);

void imap_fetch_spec_clear(ImapFetchSpec *spec);

/* Whether fetching @spec sets \Seen (a BODY[...] without PEEK, RFC822 or
 * RFC822.TEXT). */
gboolean imap_fetch_sets_seen(const ImapFetchSpec *spec);
