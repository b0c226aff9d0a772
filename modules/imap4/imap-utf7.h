/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Modified UTF-7 mailbox names (RFC 3501 §5.1.3). The store keeps names in
 * UTF-8; the wire carries them in modified UTF-7 unless the client has
 * enabled UTF8=ACCEPT. */

#pragma once

#include <glib.h>

/* Decodes @name; NULL if it is not valid modified UTF-7 (stray "&", bad
 * base64, printable ASCII encoded, non-zero padding bits, adjacent encoded
 * runs, unpaired surrogates, NUL). */
char *imap_utf7_to_utf8(const char *name);

/* Encodes valid UTF-8 @name; NULL if @name is not valid UTF-8. */
char *imap_utf8_to_utf7(const char *name);
