/* SPDX-License-Identifier: GPL-3.0-or-later */

/* LIST and LSUB patterns (RFC 3501 §6.3.8): "*" matches any run of
 * characters, "%" any run without the hierarchy delimiter. Matched by
 * dynamic programming, never by backtracking, so that a hostile pattern
 * such as "*a*a*a*a*b" costs at most length x length steps. */

#pragma once

#include <glib.h>

/* Longest pattern or name matched; longer ones never match. */
#define IMAP_LIST_MAX_LENGTH 4096

/* Whether mailbox @name matches @pattern, with @delimiter the hierarchy
 * delimiter. INBOX is matched case-insensitively (RFC 3501 §5.1). */
gboolean imap_list_match(const char *pattern, const char *name, char delimiter);

/* The pattern LIST matches for @reference and @mailbox (§6.3.8): the
 * reference as a prefix, or the mailbox alone when it starts with the
 * delimiter. (LIST "" "", the delimiter query, is the caller's.) */
char *imap_list_pattern(const char *reference, const char *mailbox, char delimiter);
