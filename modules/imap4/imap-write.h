/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Writing IMAP strings in responses (RFC 3501 §4.3): the shortest form the
 * client reads back as the same bytes. */

#pragma once

#include <glib.h>

/* @s (@len bytes) as a quoted string when it can be one (no CR, LF or NUL,
 * at most a line's worth), else as a literal {N}CRLF followed by the bytes. */
void imap_append_string(GString *out, const char *s, gsize len);

/* NIL for NULL, else as imap_append_string(). */
void imap_append_nstring(GString *out, const char *s);

/* An atom when @s is one and not "NIL", else a string. */
void imap_append_astring(GString *out, const char *s);
