/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* RFC 6152 §3: a message with 8-bit data may go to a server that does not
 * offer 8BITMIME only once converted to 7 bits. Pure code on bytes (no
 * I/O, no main loop), so that it can run on a worker thread and be tested
 * alone. */

#include <glib.h>

G_BEGIN_DECLS

#define SENDER_8BIT_ERROR (sender_8bit_error_quark())
typedef enum {
    /* 8-bit octets in a header section (the message's or a MIME part's):
     * no encoding may hold them (RFC 2047 needs a charset nobody gave). */
    SENDER_8BIT_ERROR_HEADER,
    /* the converted text still had 8-bit octets, or no message came out */
    SENDER_8BIT_ERROR_FAILED,
} Sender8bitError;
GQuark sender_8bit_error_quark(void);

/* Whether any octet of @data is 8-bit. */
gboolean sender_8bit_any(GBytes *data);

/* The message @data (CRLF line ends) with every MIME leaf part that holds
 * 8-bit octets re-encoded: quoted-printable for text, base64 for anything
 * else (or text whose encoding is already a transfer encoding), its
 * Content-Transfer-Encoding set to match. Header fields are kept as they
 * were. The result has CRLF line ends and only 7-bit octets, or the call
 * fails. */
GBytes *sender_8bit_downconvert(GBytes *data, GError **error);

G_END_DECLS
