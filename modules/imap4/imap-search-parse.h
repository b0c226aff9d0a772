/* SPDX-License-Identifier: GPL-3.0-or-later */

/* SEARCH criteria (RFC 3501 §6.4.4, with CONDSTORE's MODSEQ and ESEARCH's
 * RETURN options of RFC 4731) read into a tree of keys once per command;
 * the search code then evaluates the tree per message against the stored
 * flags, sizes, dates and decoded header and body text. Strings are kept
 * as sent: with CHARSET UTF-8 (the only charset besides US-ASCII we take,
 * as RFC 6855 servers do) they are UTF-8. */

#pragma once

#include <glib.h>

#include "imap-parse.h"

typedef enum {
    IMAP_SEARCH_ALL,
    IMAP_SEARCH_AND,        /* children: a parenthesised list, or the top level */
    IMAP_SEARCH_OR,         /* two children */
    IMAP_SEARCH_NOT,        /* one child */
    IMAP_SEARCH_FLAG,       /* flag set: \Answered, \Deleted, \Draft, \Flagged, \Seen, \Recent */
    IMAP_SEARCH_KEYWORD,    /* text: a keyword that is set */
    IMAP_SEARCH_NEW,        /* \Recent and not \Seen */
    IMAP_SEARCH_OLD,        /* not \Recent */
    IMAP_SEARCH_HEADER,     /* field (upper case; "" for any) contains text */
    IMAP_SEARCH_BODY,       /* body contains text */
    IMAP_SEARCH_TEXT,       /* header or body contains text */
    IMAP_SEARCH_BEFORE,     /* internal date, day < date */
    IMAP_SEARCH_ON,         /* internal date, day == date */
    IMAP_SEARCH_SINCE,      /* internal date, day >= date */
    IMAP_SEARCH_SENTBEFORE, /* Date: header, likewise */
    IMAP_SEARCH_SENTON,
    IMAP_SEARCH_SENTSINCE,
    IMAP_SEARCH_LARGER, /* RFC822.SIZE > number */
    IMAP_SEARCH_SMALLER,
    IMAP_SEARCH_SEQSET, /* message numbers in set */
    IMAP_SEARCH_UIDSET, /* UIDs in set */
    IMAP_SEARCH_MODSEQ, /* mod-sequence >= modseq */
} ImapSearchKind;

typedef struct _ImapSearchKey ImapSearchKey;

struct _ImapSearchKey {
    ImapSearchKind kind;
    char *field; /* HEADER: the field name (upper case); "FROM" etc. for FROM/TO/CC/BCC/SUBJECT */
    char *text;  /* HEADER, BODY, TEXT, KEYWORD: what to look for */
    guint flag;  /* FLAG: one ImapSearchFlag */
    GDate date;  /* BEFORE ... SENTSINCE */
    guint64 number;      /* LARGER, SMALLER, MODSEQ */
    GArray *set;         /* SEQSET, UIDSET: ImapRange as parsed (see imap-seqset.h) */
    gboolean saved_set;  /* "$": the set SEARCHRES saved */
    GPtrArray *children; /* AND, OR, NOT */
};

typedef enum {
    IMAP_SEARCH_FLAG_ANSWERED = 1 << 0,
    IMAP_SEARCH_FLAG_DELETED = 1 << 1,
    IMAP_SEARCH_FLAG_DRAFT = 1 << 2,
    IMAP_SEARCH_FLAG_FLAGGED = 1 << 3,
    IMAP_SEARCH_FLAG_SEEN = 1 << 4,
    IMAP_SEARCH_FLAG_RECENT = 1 << 5,
} ImapSearchFlag;

/* ESEARCH RETURN options (RFC 4731 §3.1; SAVE of RFC 5182). */
typedef enum {
    IMAP_SEARCH_RETURN_MIN = 1 << 0,
    IMAP_SEARCH_RETURN_MAX = 1 << 1,
    IMAP_SEARCH_RETURN_ALL = 1 << 2,
    IMAP_SEARCH_RETURN_COUNT = 1 << 3,
    IMAP_SEARCH_RETURN_SAVE = 1 << 4,
} ImapSearchReturn;

typedef struct {
    ImapSearchKey *root; /* an AND of the top-level keys */
    gboolean esearch;    /* RETURN (...) was given: answer with ESEARCH */
    guint32 returns;     /* ImapSearchReturn; RETURN () means ALL */
    gboolean utf8;       /* CHARSET UTF-8 */
    gboolean uses_modseq;
} ImapSearch;

/* Reads SEARCH's (or UID SEARCH's) arguments. On failure returns FALSE with
 * @error set and @bad_charset TRUE when the reply must be
 * "NO [BADCHARSET (US-ASCII UTF-8)]" instead of BAD. */
gboolean imap_search_parse(GPtrArray *args, ImapSearch *search, gboolean *bad_charset,
                           char **error);

void imap_search_clear(ImapSearch *search);

void imap_search_key_free(ImapSearchKey *key);

/* Reads an IMAP date ("1-Feb-1994", day of one or two digits). */
gboolean imap_parse_date(const char *text, GDate *date);
