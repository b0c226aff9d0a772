/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <postroom/pr-auth.h>

#include "auth.h"

/* Server side of SASL PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login)
 * and CRAM-MD5 (RFC 2195). Only decoding: the credentials go to
 * pr_auth_verify_async() (or, for CRAM-MD5, its digest variant)
 * afterwards. */

/* Longest user name or password accepted (bytes, decoded). */
#define SASL_MAX_FIELD 1024
/* Longest base64 line: a PLAIN message of three maximal fields. */
#define SASL_MAX_LINE (((3 * SASL_MAX_FIELD + 2 + 2) / 3) * 4)

typedef enum {
    MECH_PLAIN,
    MECH_LOGIN,
    MECH_CRAM_MD5,
} Mechanism;

typedef enum {
    STATE_START,
    STATE_PLAIN_WAIT,
    STATE_LOGIN_USER,
    STATE_LOGIN_PASSWORD,
    STATE_CRAM_WAIT,
    STATE_DONE,
    STATE_FAILED,
} SaslState;

struct _PrSasl {
    Mechanism mech;
    SaslState state;
    char *user;
    char *password;
    char *challenge; /* CRAM-MD5: the challenge sent */
    char *digest;    /* CRAM-MD5: the client's answer */
};

PrSasl *
pr_sasl_new(const char *mechanism)
{
    PrSasl *sasl;

    if (mechanism == NULL)
        return NULL;
    sasl = g_new0(PrSasl, 1);
    if (g_ascii_strcasecmp(mechanism, "PLAIN") == 0) {
        sasl->mech = MECH_PLAIN;
    } else if (g_ascii_strcasecmp(mechanism, "LOGIN") == 0) {
        sasl->mech = MECH_LOGIN;
    } else {
        g_free(sasl);
        return NULL;
    }
    sasl->state = STATE_START;
    return sasl;
}

PrSasl *
sasl_new_cram_md5(const char *challenge)
{
    PrSasl *sasl;

    g_return_val_if_fail(challenge != NULL, NULL);
    sasl = g_new0(PrSasl, 1);
    sasl->mech = MECH_CRAM_MD5;
    sasl->state = STATE_START;
    sasl->challenge = g_strdup(challenge);
    return sasl;
}

static void
wipe_free(char *secret, gsize len)
{
    if (secret == NULL)
        return;
    explicit_bzero(secret, len);
    g_free(secret);
}

void
pr_sasl_free(PrSasl *sasl)
{
    if (sasl == NULL)
        return;
    g_free(sasl->user);
    g_free(sasl->challenge);
    g_free(sasl->digest);
    if (sasl->password != NULL)
        wipe_free(sasl->password, strlen(sasl->password));
    g_free(sasl);
}

const char *
pr_sasl_get_mechanism(PrSasl *sasl)
{
    g_return_val_if_fail(sasl != NULL, NULL);
    switch (sasl->mech) {
    case MECH_PLAIN:
        return "PLAIN";
    case MECH_LOGIN:
        return "LOGIN";
    case MECH_CRAM_MD5:
    default:
        return "CRAM-MD5";
    }
}

const char *
pr_sasl_get_user(PrSasl *sasl)
{
    g_return_val_if_fail(sasl != NULL, NULL);
    return sasl->state == STATE_DONE ? sasl->user : NULL;
}

const char *
pr_sasl_get_password(PrSasl *sasl)
{
    g_return_val_if_fail(sasl != NULL, NULL);
    return sasl->state == STATE_DONE ? sasl->password : NULL;
}

const char *
sasl_get_challenge(PrSasl *sasl)
{
    g_return_val_if_fail(sasl != NULL, NULL);
    return sasl->state == STATE_DONE ? sasl->challenge : NULL;
}

const char *
sasl_get_digest(PrSasl *sasl)
{
    g_return_val_if_fail(sasl != NULL, NULL);
    return sasl->state == STATE_DONE ? sasl->digest : NULL;
}

static gboolean
is_b64_char(char c)
{
    return g_ascii_isalnum(c) || c == '+' || c == '/';
}

/* Strict base64: whole quanta, padding only at the end, nothing else.
 * g_base64_decode() skips invalid characters, so it only runs on checked
 * input. The result is NUL-terminated for convenience; *len excludes it. */
static guint8 *
decode_strict(const char *text, gsize *len)
{
    gsize n = strlen(text);
    gsize pad = 0;
    guint8 *raw;
    guint8 *out;

    *len = 0;
    if (n == 0)
        return g_new0(guint8, 1);
    if (n % 4 != 0 || n > SASL_MAX_LINE)
        return NULL;
    if (text[n - 1] == '=')
        pad++;
    if (text[n - 2] == '=')
        pad++;
    for (gsize i = 0; i < n - pad; i++) {
        if (!is_b64_char(text[i]))
            return NULL;
    }
    raw = g_base64_decode(text, len);
    out = g_malloc(*len + 1);
    memcpy(out, raw, *len);
    out[*len] = '\0';
    explicit_bzero(raw, *len);
    g_free(raw);
    return out;
}

static gboolean
valid_field(const char *s, gsize len, gboolean allow_empty)
{
    return (allow_empty || len > 0) && len <= SASL_MAX_FIELD && memchr(s, '\0', len) == NULL &&
           g_utf8_validate(s, (gssize)len, NULL);
}

static PrSaslStatus
fail(PrSasl *sasl)
{
    sasl->state = STATE_FAILED;
    g_clear_pointer(&sasl->user, g_free);
    g_clear_pointer(&sasl->digest, g_free);
    if (sasl->password != NULL) {
        wipe_free(sasl->password, strlen(sasl->password));
        sasl->password = NULL;
    }
    return PR_SASL_MALFORMED;
}

/* authzid NUL authcid NUL passwd; an authzid other than the authcid would
 * be proxy authorisation, which Postroom does not offer. */
static PrSaslStatus
plain_message(PrSasl *sasl, const guint8 *msg, gsize len)
{
    const char *p = (const char *)msg;
    const char *nul1 = memchr(p, '\0', len);
    const char *nul2;
    gsize authz_len, authc_len, pass_len;

    if (nul1 == NULL)
        return fail(sasl);
    nul2 = memchr(nul1 + 1, '\0', len - (gsize)(nul1 + 1 - p));
    if (nul2 == NULL)
        return fail(sasl);
    authz_len = (gsize)(nul1 - p);
    authc_len = (gsize)(nul2 - (nul1 + 1));
    pass_len = len - (gsize)(nul2 + 1 - p);

    if (!valid_field(p, authz_len, TRUE) || !valid_field(nul1 + 1, authc_len, FALSE) ||
        !valid_field(nul2 + 1, pass_len, FALSE))
        return fail(sasl);
    if (authz_len > 0) {
        g_autofree char *authz = g_utf8_casefold(p, (gssize)authz_len);
        g_autofree char *authc = g_utf8_casefold(nul1 + 1, (gssize)authc_len);

        if (strcmp(authz, authc) != 0)
            return fail(sasl);
    }
    sasl->user = g_strndup(nul1 + 1, authc_len);
    sasl->password = g_strndup(nul2 + 1, pass_len);
    sasl->state = STATE_DONE;
    return PR_SASL_DONE;
}

/* RFC 2195: the user name, a space, and the digest as 32 lower-case hex
 * digits. The last space separates them, so a name may hold spaces. */
static PrSaslStatus
cram_md5_response(PrSasl *sasl, const guint8 *msg, gsize len)
{
    const char *p = (const char *)msg;
    const char *space;
    gsize user_len;

    if (!valid_field(p, len, FALSE))
        return fail(sasl);
    space = g_strrstr_len(p, (gssize)len, " ");
    if (space == NULL || space == p)
        return fail(sasl);
    user_len = (gsize)(space - p);
    if (len - user_len - 1 != 32)
        return fail(sasl);
    for (const char *d = space + 1; d < p + len; d++) {
        if (!g_ascii_isxdigit(*d))
            return fail(sasl);
    }
    sasl->user = g_strndup(p, user_len);
    sasl->digest = g_strndup(space + 1, 32);
    sasl->state = STATE_DONE;
    return PR_SASL_DONE;
}

PrSaslStatus
pr_sasl_step(PrSasl *sasl, const char *response, char **challenge)
{
    g_autofree guint8 *data = NULL;
    gsize len = 0;
    PrSaslStatus status;

    g_return_val_if_fail(sasl != NULL, PR_SASL_MALFORMED);
    g_return_val_if_fail(challenge != NULL, PR_SASL_MALFORMED);
    *challenge = NULL;

    if (sasl->state == STATE_DONE || sasl->state == STATE_FAILED)
        return fail(sasl);
    if (response != NULL && strcmp(response, "*") == 0) {
        fail(sasl);
        return PR_SASL_CANCELLED;
    }

    if (response == NULL) {
        /* Only the first step may come without data (no initial response). */
        if (sasl->state != STATE_START)
            return fail(sasl);
        if (sasl->mech == MECH_PLAIN) {
            sasl->state = STATE_PLAIN_WAIT;
            *challenge = g_strdup("");
        } else if (sasl->mech == MECH_CRAM_MD5) {
            sasl->state = STATE_CRAM_WAIT;
            *challenge = g_base64_encode((const guchar *)sasl->challenge, strlen(sasl->challenge));
        } else {
            sasl->state = STATE_LOGIN_USER;
            *challenge = g_base64_encode((const guchar *)"Username:", 9);
        }
        return PR_SASL_CONTINUE;
    }

    /* CRAM-MD5 starts with the server's challenge: an initial response
     * is an error (RFC 4954 section 4). */
    if (sasl->state == STATE_START && sasl->mech == MECH_CRAM_MD5)
        return fail(sasl);
    /* "=" is an empty initial response (RFC 4954); later, an empty line. */
    if (sasl->state == STATE_START && strcmp(response, "=") == 0)
        data = g_new0(guint8, 1);
    else
        data = decode_strict(response, &len);
    if (data == NULL)
        return fail(sasl);

    switch (sasl->state) {
    case STATE_START:
    case STATE_PLAIN_WAIT:
        if (sasl->mech == MECH_PLAIN) {
            status = plain_message(sasl, data, len);
            break;
        }
        /* LOGIN's initial response is the user name. */
        G_GNUC_FALLTHROUGH;
    case STATE_LOGIN_USER:
        if (!valid_field((const char *)data, len, FALSE)) {
            status = fail(sasl);
            break;
        }
        sasl->user = g_strndup((const char *)data, len);
        sasl->state = STATE_LOGIN_PASSWORD;
        *challenge = g_base64_encode((const guchar *)"Password:", 9);
        status = PR_SASL_CONTINUE;
        break;
    case STATE_LOGIN_PASSWORD:
        if (!valid_field((const char *)data, len, FALSE)) {
            status = fail(sasl);
            break;
        }
        sasl->password = g_strndup((const char *)data, len);
        sasl->state = STATE_DONE;
        status = PR_SASL_DONE;
        break;
    case STATE_CRAM_WAIT:
        status = cram_md5_response(sasl, data, len);
        break;
    default:
        status = fail(sasl);
        break;
    }
    explicit_bzero(data, len);
    return status;
}
