/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The sender's 8BITMIME downconversion (modules/sender/sender-8bit.c) on
 * any message: it must not crash, and what it returns must be 7-bit with
 * CRLF line ends; otherwise it fails with an error. Input: the message as
 * it would be queued (line ends as they come). */
#include "config.h"

#include <string.h>

#include "fuzz.h"
#include "sender-8bit.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_make_warnings_fatal();
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_autoptr(GBytes) in = g_bytes_new(data, size);
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) out = sender_8bit_downconvert(in, &error);

    if (out == NULL) {
        FUZZ_CHECK(error != NULL && error->domain == SENDER_8BIT_ERROR);
        return 0;
    }
    FUZZ_CHECK(error == NULL);
    FUZZ_CHECK(!sender_8bit_any(out));
    if (!sender_8bit_any(in)) {
        /* Nothing to convert: the message goes as it is. */
        FUZZ_CHECK(g_bytes_equal(in, out));
        return 0;
    }
    gsize len;
    const guint8 *p = g_bytes_get_data(out, &len);
    for (gsize i = 0; i < len; i++)
        FUZZ_CHECK(p[i] != '\n' || (i > 0 && p[i - 1] == '\r'));
    return 0;
}
