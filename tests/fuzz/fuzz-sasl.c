/* SPDX-License-Identifier: GPL-3.0-or-later */
/* SASL PLAIN and LOGIN exchanges. The first byte picks the mechanism and
 * whether there is an initial response; the rest, split at LF, is the
 * client's lines. In "round trip" mode the lines are instead credentials
 * that are encoded as a well-behaved client would, and must come back
 * unchanged when they are valid. */
#include "config.h"

#include <postroom/pr-auth.h>
#include <string.h>

#include "fuzz.h"

#define MAX_FIELD 1024

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_make_warnings_fatal();
    return 0;
}

static gboolean
is_base64(const char *s)
{
    for (; *s != '\0'; s++) {
        if (!g_ascii_isalnum(*s) && *s != '+' && *s != '/' && *s != '=')
            return FALSE;
    }
    return TRUE;
}

static void
check_done(PrSasl *sasl)
{
    const char *user = pr_sasl_get_user(sasl);
    const char *password = pr_sasl_get_password(sasl);
    FUZZ_CHECK(user != NULL && password != NULL);
    FUZZ_CHECK(*user != '\0' && *password != '\0');
    FUZZ_CHECK(strlen(user) <= MAX_FIELD && strlen(password) <= MAX_FIELD);
    FUZZ_CHECK(g_utf8_validate(user, -1, NULL) && g_utf8_validate(password, -1, NULL));
}

/* Feeds raw client lines. */
static void
raw_exchange(const char *mech, gboolean initial, char **lines)
{
    PrSasl *sasl = pr_sasl_new(mech);
    FUZZ_CHECK(sasl != NULL);
    FUZZ_CHECK(strcmp(pr_sasl_get_mechanism(sasl), mech) == 0);
    PrSaslStatus st = PR_SASL_CONTINUE;
    int i = 0;

    if (!initial) {
        char *challenge = NULL;
        st = pr_sasl_step(sasl, NULL, &challenge);
        FUZZ_CHECK(st == PR_SASL_CONTINUE && challenge != NULL && is_base64(challenge));
        g_free(challenge);
    }
    for (; st == PR_SASL_CONTINUE && lines[i] != NULL; i++) {
        char *challenge = NULL;
        st = pr_sasl_step(sasl, lines[i], &challenge);
        if (st == PR_SASL_CONTINUE)
            FUZZ_CHECK(challenge != NULL && is_base64(challenge));
        else
            FUZZ_CHECK(challenge == NULL);
        g_free(challenge);
        if (strcmp(lines[i], "*") == 0)
            FUZZ_CHECK(st == PR_SASL_CANCELLED);
    }
    if (st == PR_SASL_DONE) {
        check_done(sasl);
    } else if (st != PR_SASL_CONTINUE) {
        FUZZ_CHECK(pr_sasl_get_user(sasl) == NULL && pr_sasl_get_password(sasl) == NULL);
    }
    if (st != PR_SASL_CONTINUE) {
        /* A finished exchange takes no more data. */
        char *challenge = NULL;
        FUZZ_CHECK(pr_sasl_step(sasl, "dGVzdA==", &challenge) == PR_SASL_MALFORMED);
        FUZZ_CHECK(challenge == NULL);
    }
    pr_sasl_free(sasl);
}

static gboolean
valid_field(const char *s, gsize len, gboolean allow_empty)
{
    return (allow_empty || len > 0) && len <= MAX_FIELD && memchr(s, '\0', len) == NULL &&
           g_utf8_validate(s, (gssize)len, NULL);
}

/* A client that encodes user and password correctly. */
static void
round_trip(const char *mech, gboolean initial, const guint8 *data, gsize size)
{
    const guint8 *sep = memchr(data, '\n', size);
    if (sep == NULL)
        return;
    gsize user_len = (gsize)(sep - data);
    const char *user = (const char *)data;
    const char *password = (const char *)sep + 1;
    gsize password_len = size - user_len - 1;
    gboolean valid =
        valid_field(user, user_len, FALSE) && valid_field(password, password_len, FALSE);

    PrSasl *sasl = pr_sasl_new(mech);
    char *challenge = NULL;
    PrSaslStatus st;
    if (strcmp(mech, "PLAIN") == 0) {
        g_autoptr(GByteArray) msg = g_byte_array_new();
        guint8 nul = 0;
        g_byte_array_append(msg, &nul, 1);
        g_byte_array_append(msg, (const guint8 *)user, (guint)user_len);
        g_byte_array_append(msg, &nul, 1);
        g_byte_array_append(msg, (const guint8 *)password, (guint)password_len);
        g_autofree char *b64 = g_base64_encode(msg->data, msg->len);
        if (!initial) {
            FUZZ_CHECK(pr_sasl_step(sasl, NULL, &challenge) == PR_SASL_CONTINUE);
            g_clear_pointer(&challenge, g_free);
        }
        st = pr_sasl_step(sasl, b64, &challenge);
    } else {
        g_autofree char *u64 = g_base64_encode((const guchar *)user, user_len);
        g_autofree char *p64 = g_base64_encode((const guchar *)password, password_len);
        if (!initial) {
            FUZZ_CHECK(pr_sasl_step(sasl, NULL, &challenge) == PR_SASL_CONTINUE);
            g_clear_pointer(&challenge, g_free);
        }
        /* An empty user name cannot be an initial response ("" is not "="). */
        st = pr_sasl_step(sasl, *u64 != '\0' ? u64 : "=", &challenge);
        g_clear_pointer(&challenge, g_free);
        if (st == PR_SASL_CONTINUE)
            st = pr_sasl_step(sasl, p64, &challenge);
    }
    g_free(challenge);
    if (valid) {
        FUZZ_CHECK(st == PR_SASL_DONE);
        FUZZ_CHECK(strlen(pr_sasl_get_user(sasl)) == user_len);
        FUZZ_CHECK(memcmp(pr_sasl_get_user(sasl), user, user_len) == 0);
        FUZZ_CHECK(strlen(pr_sasl_get_password(sasl)) == password_len);
        FUZZ_CHECK(memcmp(pr_sasl_get_password(sasl), password, password_len) == 0);
    } else {
        FUZZ_CHECK(st == PR_SASL_MALFORMED);
    }
    pr_sasl_free(sasl);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 8192)
        return 0;
    const char *mech = (data[0] & 1) ? "LOGIN" : "PLAIN";
    gboolean initial = (data[0] & 2) != 0;

    if (data[0] & 4) {
        round_trip(mech, initial, data + 1, size - 1);
        return 0;
    }
    g_autofree char *text = g_strndup((const char *)data + 1, size - 1);
    g_auto(GStrv) lines = g_strsplit(text, "\n", 16);
    raw_exchange(mech, initial, lines);
    return 0;
}
