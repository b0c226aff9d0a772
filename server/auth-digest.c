/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <unistd.h>
#include <sys/random.h>

#include "auth.h"

/* The digests of the challenge mechanisms: APOP (RFC 1939 section 7) and
 * CRAM-MD5 (RFC 2195). Both are MD5-based and need the password itself;
 * they are checked only against secrets the administrator chose to store. */

#define DIGEST_HEX_LEN 32

/* Lower-case copy of a client's digest into @out (DIGEST_HEX_LEN + 1), or
 * FALSE if it is not 32 hex digits. The format is no secret: an early
 * return here tells nothing about the password. */
static gboolean
normalise_digest(const char *digest, char *out)
{
    if (strlen(digest) != DIGEST_HEX_LEN)
        return FALSE;
    for (gsize i = 0; i < DIGEST_HEX_LEN; i++) {
        if (!g_ascii_isxdigit(digest[i]))
            return FALSE;
        out[i] = g_ascii_tolower(digest[i]);
    }
    out[DIGEST_HEX_LEN] = '\0';
    return TRUE;
}

static gboolean
equal_constant_time(const char *a, const char *b, gsize len)
{
    unsigned char diff = 0;

    for (gsize i = 0; i < len; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

gboolean
auth_check_digest(AuthProofKind kind, const guint8 *secret, gsize secret_len, const char *challenge,
                  const char *digest)
{
    char given[DIGEST_HEX_LEN + 1];
    g_autofree char *expected = NULL;
    gboolean well_formed;
    gboolean ok;

    g_return_val_if_fail(secret != NULL && challenge != NULL && digest != NULL, FALSE);
    well_formed = normalise_digest(digest, given);
    if (kind == AUTH_PROOF_APOP) {
        gsize clen = strlen(challenge);
        guint8 *buf = g_malloc(clen + secret_len + 1);

        memcpy(buf, challenge, clen);
        memcpy(buf + clen, secret, secret_len);
        expected = g_compute_checksum_for_data(G_CHECKSUM_MD5, buf, clen + secret_len);
        explicit_bzero(buf, clen + secret_len);
        g_free(buf);
    } else if (kind == AUTH_PROOF_CRAM_MD5) {
        expected = g_compute_hmac_for_data(G_CHECKSUM_MD5, secret, secret_len,
                                           (const guchar *)challenge, strlen(challenge));
    } else {
        g_return_val_if_reached(FALSE);
    }
    ok = well_formed && expected != NULL && strlen(expected) == DIGEST_HEX_LEN &&
         equal_constant_time(expected, given, DIGEST_HEX_LEN);
    if (expected != NULL)
        explicit_bzero(expected, strlen(expected));
    explicit_bzero(given, sizeof(given));
    return ok;
}

char *
auth_new_challenge(const char *hostname)
{
    guint64 random = 0;
    g_autofree char *host =
        g_strdup(hostname != NULL && *hostname != '\0' ? hostname : "localhost");

    /* Unpredictable, not just unique: a challenge an attacker could guess
     * would let a digest seen once be asked for again. */
    if (getrandom(&random, sizeof(random), 0) != (ssize_t)sizeof(random))
        random = ((guint64)g_random_int() << 32) ^ (guint64)g_get_real_time();
    /* Only characters that keep the msg-id form: the timestamp goes on a
     * protocol line between angle brackets. */
    for (char *p = host; *p != '\0'; p++) {
        if (!g_ascii_isalnum(*p) && *p != '.' && *p != '-')
            *p = '-';
    }
    return g_strdup_printf("<%d.%" G_GUINT64_FORMAT "@%s>", (int)getpid(), random, host);
}
