/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "postroom-config.h"

#include <string.h>

#include "imap-utf7.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int
b64_value(char c)
{
    const char *p = c != '\0' ? strchr(b64, c) : NULL;

    return p != NULL ? (int)(p - b64) : -1;
}

static gboolean
is_direct(gunichar c)
{
    return c >= 0x20 && c <= 0x7e;
}

/* One encoded run, from after "&" up to "-"; appends its characters to @out.
 * Returns the position after "-", or NULL. */
static const char *
decode_run(const char *p, GString *out)
{
    guint32 bits = 0;
    int nbits = 0;
    gunichar2 high = 0;
    gboolean any = FALSE;

    for (; *p != '-'; p++) {
        int v = b64_value(*p);

        if (v < 0)
            return NULL;
        bits = (bits << 6) | (guint32)v;
        nbits += 6;
        if (nbits < 16)
            continue;
        nbits -= 16;
        gunichar2 unit = (gunichar2)(bits >> nbits);
        bits &= (1u << nbits) - 1;
        if (unit >= 0xd800 && unit < 0xdc00) {
            if (high != 0)
                return NULL;
            high = unit;
            continue;
        }
        gunichar c;
        if (unit >= 0xdc00 && unit < 0xe000) {
            if (high == 0)
                return NULL;
            c = 0x10000 + (((gunichar)high - 0xd800) << 10) + ((gunichar)unit - 0xdc00);
            high = 0;
        } else {
            if (high != 0)
                return NULL;
            c = unit;
        }
        /* Characters that stand for themselves must not be encoded. */
        if (c == 0 || is_direct(c))
            return NULL;
        g_string_append_unichar(out, c);
        any = TRUE;
    }
    /* Leftover bits must be fewer than 6 and zero: no padding characters. */
    if (!any || high != 0 || nbits >= 6 || bits != 0)
        return NULL;
    return p + 1;
}

char *
imap_utf7_to_utf8(const char *name)
{
    g_autoptr(GString) out = g_string_new(NULL);
    gboolean after_run = FALSE;

    for (const char *p = name; *p != '\0';) {
        guchar c = (guchar)*p;

        if (c == '&') {
            if (p[1] == '-') {
                g_string_append_c(out, '&');
                p += 2;
                after_run = FALSE;
                continue;
            }
            /* Two runs in a row must be one (RFC 3501: "&...-&...-" is not
             * the canonical form, and two names would share one meaning). */
            if (after_run)
                return NULL;
            p = decode_run(p + 1, out);
            if (p == NULL)
                return NULL;
            after_run = TRUE;
            continue;
        }
        if (!is_direct(c))
            return NULL;
        g_string_append_c(out, (char)c);
        after_run = FALSE;
        p++;
    }
    return g_string_free(g_steal_pointer(&out), FALSE);
}

static void
flush_bits(GString *out, guint32 *bits, int *nbits)
{
    while (*nbits >= 6) {
        *nbits -= 6;
        g_string_append_c(out, b64[(*bits >> *nbits) & 0x3f]);
    }
}

char *
imap_utf8_to_utf7(const char *name)
{
    g_autoptr(GString) out = g_string_new(NULL);

    if (!g_utf8_validate(name, -1, NULL))
        return NULL;
    for (const char *p = name; *p != '\0';) {
        gunichar c = g_utf8_get_char(p);

        if (is_direct(c)) {
            g_string_append(out, c == '&' ? "&-" : (char[]){ (char)c, '\0' });
            p = g_utf8_next_char(p);
            continue;
        }
        guint32 bits = 0;
        int nbits = 0;

        g_string_append_c(out, '&');
        while (*p != '\0' && !is_direct(c = g_utf8_get_char(p))) {
            gunichar2 units[2];
            int n = 1;

            if (c >= 0x10000) {
                units[0] = (gunichar2)(0xd800 + ((c - 0x10000) >> 10));
                units[1] = (gunichar2)(0xdc00 + ((c - 0x10000) & 0x3ff));
                n = 2;
            } else {
                units[0] = (gunichar2)c;
            }
            for (int i = 0; i < n; i++) {
                bits = (bits << 16) | units[i];
                nbits += 16;
                flush_bits(out, &bits, &nbits);
                bits &= (1u << nbits) - 1;
            }
            p = g_utf8_next_char(p);
        }
        if (nbits > 0)
            g_string_append_c(out, b64[(bits << (6 - nbits)) & 0x3f]);
        g_string_append_c(out, '-');
    }
    return g_string_free(g_steal_pointer(&out), FALSE);
}
