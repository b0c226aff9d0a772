/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The token of a query notice (VPOP3 §2.5 "Query"): 128 random bits in
 * lower-case base32 (26 characters of a-z and 2-7), unguessable, which the
 * notice carries in its reply address (`postroom-collector+TOKEN@domain`)
 * and in its subject (`[query:TOKEN]`). A reply is matched by either, so
 * that a reader who writes to the address by hand, or a client that
 * answers the From address, still works. Pure code, no I/O. */

#include <glib.h>

G_BEGIN_DECLS

#define COLLECTOR_TOKEN_LEN 26

/* A new random token (getrandom()); NULL with @error if the system has no
 * randomness to give. */
char *collector_token_new(GError **error);

/* @text is a token (any case)? */
gboolean collector_token_valid(const char *text);

/* The token of a reply: from the recipient's subaddress (@detail, may be
 * NULL), else from the `query:TOKEN` tag anywhere in @subject (may be
 * NULL; "Re: ..." and other prefixes are fine). Lower case, or NULL. */
char *collector_token_parse(const char *detail, const char *subject);

/* " [query:TOKEN]", for the end of a subject. */
char *collector_token_subject_tag(const char *token);

G_END_DECLS
