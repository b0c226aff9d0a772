/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <string.h>
#include <postroom/pr-auth.h>

#include "auth.h"

static char *
b64(const char *data, gsize len)
{
    return g_base64_encode((const guchar *)data, len);
}

static void
test_unknown(void)
{
    g_test_summary("Only PLAIN and LOGIN exist; names are case-insensitive");
    g_assert_null(pr_sasl_new("CRAM-MD5"));
    g_assert_null(pr_sasl_new(""));
    g_assert_null(pr_sasl_new(NULL));
    {
        g_autoptr(PrSasl) s = pr_sasl_new("plain");

        g_assert_nonnull(s);
        g_assert_cmpstr(pr_sasl_get_mechanism(s), ==, "PLAIN");
    }
    {
        g_autoptr(PrSasl) s = pr_sasl_new("Login");

        g_assert_nonnull(s);
        g_assert_cmpstr(pr_sasl_get_mechanism(s), ==, "LOGIN");
    }
}

static void
test_plain_initial(void)
{
    g_autoptr(PrSasl) s = pr_sasl_new("PLAIN");
    g_autofree char *resp = b64("\0alice\0p\xc3\xa4ss word", 17);
    char *challenge = (char *)"unset";

    g_test_summary("PLAIN with an initial response");
    g_assert_cmpint(pr_sasl_step(s, resp, &challenge), ==, PR_SASL_DONE);
    g_assert_null(challenge);
    g_assert_cmpstr(pr_sasl_get_user(s), ==, "alice");
    g_assert_cmpstr(pr_sasl_get_password(s), ==, "p\xc3\xa4ss word");
    /* Nothing may follow the end. */
    g_assert_cmpint(pr_sasl_step(s, resp, &challenge), ==, PR_SASL_MALFORMED);
    g_assert_null(pr_sasl_get_user(s));
}

static void
test_plain_challenge(void)
{
    g_autoptr(PrSasl) s = pr_sasl_new("PLAIN");
    g_autofree char *resp = b64("Alice\0alice\0pw", 14);
    g_autofree char *challenge = NULL;

    g_test_summary("PLAIN without initial response: empty challenge, then the message; an "
                   "authzid equal to the user is accepted");
    g_assert_cmpint(pr_sasl_step(s, NULL, &challenge), ==, PR_SASL_CONTINUE);
    g_assert_cmpstr(challenge, ==, "");
    g_clear_pointer(&challenge, g_free);
    g_assert_cmpint(pr_sasl_step(s, resp, &challenge), ==, PR_SASL_DONE);
    g_assert_cmpstr(pr_sasl_get_user(s), ==, "alice");
    g_assert_cmpstr(pr_sasl_get_password(s), ==, "pw");
}

static PrSaslStatus
plain_once(const char *data, gsize len)
{
    g_autoptr(PrSasl) s = pr_sasl_new("PLAIN");
    g_autofree char *resp = b64(data, len);
    g_autofree char *challenge = NULL;

    return pr_sasl_step(s, resp, &challenge);
}

static void
test_plain_malformed(void)
{
    g_autofree char *huge = g_strnfill(1025, 'a');
    g_autofree char *msg = NULL;
    gsize len;

    g_test_summary("PLAIN refuses bad layouts, other authzids, embedded NULs and huge fields");
    g_assert_cmpint(plain_once("alice", 5), ==, PR_SASL_MALFORMED);
    g_assert_cmpint(plain_once("\0alice", 6), ==, PR_SASL_MALFORMED);
    g_assert_cmpint(plain_once("\0\0pw", 4), ==, PR_SASL_MALFORMED);
    g_assert_cmpint(plain_once("\0alice\0", 7), ==, PR_SASL_MALFORMED);
    g_assert_cmpint(plain_once("\0alice\0p\0w", 10), ==, PR_SASL_MALFORMED);
    g_assert_cmpint(plain_once("bob\0alice\0pw", 12), ==, PR_SASL_MALFORMED);
    g_assert_cmpint(plain_once("\0al\xff\0pw", 7), ==, PR_SASL_MALFORMED);

    msg = g_strdup_printf("%c%s%cpw", 0, huge, 0);
    len = 1 + 1025 + 1 + 2;
    g_assert_cmpint(plain_once(msg, len), ==, PR_SASL_MALFORMED);
    /* 1024 is still fine. */
    msg[1025] = '\0';
    memmove(msg + 1025, msg + 1026, 3);
    g_assert_cmpint(plain_once(msg, len - 1), ==, PR_SASL_DONE);
}

static void
test_empty_initial(void)
{
    g_autoptr(PrSasl) s = pr_sasl_new("PLAIN");
    g_autoptr(PrSasl) l = pr_sasl_new("LOGIN");
    g_autofree char *challenge = NULL;

    g_test_summary("\"=\" is an empty initial response, which neither mechanism accepts");
    g_assert_cmpint(pr_sasl_step(s, "=", &challenge), ==, PR_SASL_MALFORMED);
    g_assert_cmpint(pr_sasl_step(l, "=", &challenge), ==, PR_SASL_MALFORMED);
    g_assert_null(challenge);
}

static void
test_login(void)
{
    g_autoptr(PrSasl) s = pr_sasl_new("LOGIN");
    g_autofree char *user = b64("alice", 5);
    g_autofree char *pass = b64("s3cret", 6);
    g_autofree char *challenge = NULL;

    g_test_summary("LOGIN asks for Username: and Password:");
    g_assert_cmpint(pr_sasl_step(s, NULL, &challenge), ==, PR_SASL_CONTINUE);
    g_assert_cmpstr(challenge, ==, "VXNlcm5hbWU6");
    g_clear_pointer(&challenge, g_free);
    g_assert_cmpint(pr_sasl_step(s, user, &challenge), ==, PR_SASL_CONTINUE);
    g_assert_cmpstr(challenge, ==, "UGFzc3dvcmQ6");
    g_clear_pointer(&challenge, g_free);
    g_assert_null(pr_sasl_get_user(s));
    g_assert_cmpint(pr_sasl_step(s, pass, &challenge), ==, PR_SASL_DONE);
    g_assert_null(challenge);
    g_assert_cmpstr(pr_sasl_get_user(s), ==, "alice");
    g_assert_cmpstr(pr_sasl_get_password(s), ==, "s3cret");
}

static void
test_login_initial(void)
{
    g_autoptr(PrSasl) s = pr_sasl_new("LOGIN");
    g_autofree char *user = b64("bob", 3);
    g_autofree char *pass = b64("pw", 2);
    g_autofree char *challenge = NULL;

    g_test_summary("LOGIN's initial response is the user name");
    g_assert_cmpint(pr_sasl_step(s, user, &challenge), ==, PR_SASL_CONTINUE);
    g_assert_cmpstr(challenge, ==, "UGFzc3dvcmQ6");
    g_clear_pointer(&challenge, g_free);
    g_assert_cmpint(pr_sasl_step(s, pass, &challenge), ==, PR_SASL_DONE);
    g_assert_cmpstr(pr_sasl_get_user(s), ==, "bob");
    g_assert_cmpstr(pr_sasl_get_password(s), ==, "pw");
}

static void
test_login_malformed(void)
{
    g_autofree char *nul_user = b64("al\0ice", 6);
    g_autofree char *nul_pass = b64("p\0w", 3);
    g_autofree char *user = b64("alice", 5);
    g_autofree char *challenge = NULL;

    g_test_summary("LOGIN refuses NULs, empty fields and a missing response");
    {
        g_autoptr(PrSasl) s = pr_sasl_new("LOGIN");

        g_assert_cmpint(pr_sasl_step(s, nul_user, &challenge), ==, PR_SASL_MALFORMED);
    }
    {
        g_autoptr(PrSasl) s = pr_sasl_new("LOGIN");

        g_assert_cmpint(pr_sasl_step(s, user, &challenge), ==, PR_SASL_CONTINUE);
        g_clear_pointer(&challenge, g_free);
        g_assert_cmpint(pr_sasl_step(s, nul_pass, &challenge), ==, PR_SASL_MALFORMED);
        g_assert_null(pr_sasl_get_password(s));
    }
    {
        g_autoptr(PrSasl) s = pr_sasl_new("LOGIN");

        g_assert_cmpint(pr_sasl_step(s, NULL, &challenge), ==, PR_SASL_CONTINUE);
        g_clear_pointer(&challenge, g_free);
        g_assert_cmpint(pr_sasl_step(s, "", &challenge), ==, PR_SASL_MALFORMED);
    }
    {
        g_autoptr(PrSasl) s = pr_sasl_new("LOGIN");

        g_assert_cmpint(pr_sasl_step(s, NULL, &challenge), ==, PR_SASL_CONTINUE);
        g_clear_pointer(&challenge, g_free);
        /* Only the first step may lack data. */
        g_assert_cmpint(pr_sasl_step(s, NULL, &challenge), ==, PR_SASL_MALFORMED);
    }
}

static void
test_cancel(void)
{
    g_autofree char *user = b64("alice", 5);
    g_autofree char *challenge = NULL;

    g_test_summary("\"*\" cancels at any step");
    {
        g_autoptr(PrSasl) s = pr_sasl_new("PLAIN");

        g_assert_cmpint(pr_sasl_step(s, NULL, &challenge), ==, PR_SASL_CONTINUE);
        g_clear_pointer(&challenge, g_free);
        g_assert_cmpint(pr_sasl_step(s, "*", &challenge), ==, PR_SASL_CANCELLED);
        g_assert_null(challenge);
    }
    {
        g_autoptr(PrSasl) s = pr_sasl_new("LOGIN");

        g_assert_cmpint(pr_sasl_step(s, user, &challenge), ==, PR_SASL_CONTINUE);
        g_clear_pointer(&challenge, g_free);
        g_assert_cmpint(pr_sasl_step(s, "*", &challenge), ==, PR_SASL_CANCELLED);
        g_assert_null(pr_sasl_get_user(s));
    }
}

static void
test_bad_base64(void)
{
    static const char *const bad[] = {
        "YWxpY2U",   /* not a whole quantum */
        "YWxp Y2U=", /* space */
        "YW=pY2U=",  /* padding inside */
        "YWxpY2U=\n", "====", "Y===", "YWxpY2U*", "-_-_",
    };

    g_test_summary("Only strict base64 is accepted");
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(PrSasl) p = pr_sasl_new("PLAIN");
        g_autoptr(PrSasl) l = pr_sasl_new("LOGIN");
        g_autofree char *challenge = NULL;

        g_assert_cmpint(pr_sasl_step(p, bad[i], &challenge), ==, PR_SASL_MALFORMED);
        g_assert_cmpint(pr_sasl_step(l, bad[i], &challenge), ==, PR_SASL_MALFORMED);
        g_assert_null(challenge);
    }
    /* A line longer than any valid message is refused before decoding. */
    {
        g_autoptr(PrSasl) p = pr_sasl_new("PLAIN");
        g_autofree char *line = g_strnfill(8192, 'A');
        g_autofree char *challenge = NULL;

        g_assert_cmpint(pr_sasl_step(p, line, &challenge), ==, PR_SASL_MALFORMED);
    }
}

static void
test_cram_md5(void)
{
    const char *ch = "<1896.697170952@postoffice.reston.mci.net>";
    g_autoptr(PrSasl) s = sasl_new_cram_md5(ch);
    g_autofree char *challenge = NULL;
    g_autofree char *decoded = NULL;
    gsize len = 0;
    /* RFC 2195 section 2: the client's answer to that challenge. */
    const char *resp = "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw";

    g_test_summary("CRAM-MD5: the server's challenge first, then user and digest (RFC 2195)");
    g_assert_cmpstr(pr_sasl_get_mechanism(s), ==, "CRAM-MD5");
    g_assert_cmpint(pr_sasl_step(s, NULL, &challenge), ==, PR_SASL_CONTINUE);
    decoded = (char *)g_base64_decode(challenge, &len);
    g_assert_cmpmem(decoded, len, ch, strlen(ch));
    g_clear_pointer(&challenge, g_free);
    g_assert_null(sasl_get_digest(s));
    g_assert_cmpint(pr_sasl_step(s, resp, &challenge), ==, PR_SASL_DONE);
    g_assert_cmpstr(pr_sasl_get_user(s), ==, "tim");
    g_assert_cmpstr(sasl_get_digest(s), ==, "b913a602c7eda7a495b4e6e7334d3890");
    g_assert_cmpstr(sasl_get_challenge(s), ==, ch);
    /* No password: CRAM-MD5 never sends it. */
    g_assert_null(pr_sasl_get_password(s));

    /* A user name with a space: the digest is the last word. */
    {
        g_autoptr(PrSasl) t = sasl_new_cram_md5("<1.2@h>");
        g_autofree char *c = NULL, *c2 = NULL;
        g_autofree char *r = b64("tim smith 0123456789abcdef0123456789ABCDEF", 42);

        g_assert_cmpint(pr_sasl_step(t, NULL, &c), ==, PR_SASL_CONTINUE);
        g_assert_cmpint(pr_sasl_step(t, r, &c2), ==, PR_SASL_DONE);
        g_assert_cmpstr(pr_sasl_get_user(t), ==, "tim smith");
    }
}

static void
test_cram_md5_malformed(void)
{
    const char *bad[] = {
        "tim b913a602c7eda7a495b4e6e7334d389",   /* 31 digits */
        "tim b913a602c7eda7a495b4e6e7334d38900", /* 33 */
        "tim b913a602c7eda7a495b4e6e7334d389g",  /* not hex */
        "timb913a602c7eda7a495b4e6e7334d3890",   /* no space */
        " b913a602c7eda7a495b4e6e7334d3890",     /* no user */
        "",
    };

    g_test_summary("CRAM-MD5 refuses an initial response and answers that are not user SP "
                   "32 hex digits");
    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(PrSasl) s = sasl_new_cram_md5("<1.2@h>");
        g_autofree char *c = NULL;
        g_autofree char *r = b64(bad[i], strlen(bad[i]));

        g_assert_cmpint(pr_sasl_step(s, NULL, &c), ==, PR_SASL_CONTINUE);
        g_clear_pointer(&c, g_free);
        g_assert_cmpint(pr_sasl_step(s, r, &c), ==, PR_SASL_MALFORMED);
        g_assert_null(pr_sasl_get_user(s));
        g_assert_null(sasl_get_digest(s));
    }
    {
        g_autoptr(PrSasl) s = sasl_new_cram_md5("<1.2@h>");
        g_autofree char *c = NULL;
        g_autofree char *r = b64("tim b913a602c7eda7a495b4e6e7334d3890", 36);

        g_assert_cmpint(pr_sasl_step(s, r, &c), ==, PR_SASL_MALFORMED);
    }
    {
        g_autoptr(PrSasl) s = sasl_new_cram_md5("<1.2@h>");
        g_autofree char *c = NULL;

        g_assert_cmpint(pr_sasl_step(s, NULL, &c), ==, PR_SASL_CONTINUE);
        g_clear_pointer(&c, g_free);
        g_assert_cmpint(pr_sasl_step(s, "*", &c), ==, PR_SASL_CANCELLED);
    }
}

static void
test_mechanism_names(void)
{
    g_autofree char *all = pr_sasl_mechanism_names(
        PR_SASL_MECH_CRAM_MD5 | PR_SASL_MECH_LOGIN | PR_SASL_MECH_PLAIN, " ");
    g_autofree char *two = pr_sasl_mechanism_names(PR_SASL_MECH_PLAIN | PR_SASL_MECH_LOGIN, "\r\n");
    g_autofree char *none = pr_sasl_mechanism_names(0, " ");

    g_test_summary("Mechanism lists for CAPA, EHLO and AUTH listings");
    g_assert_cmpstr(all, ==, "PLAIN LOGIN CRAM-MD5");
    g_assert_cmpstr(two, ==, "PLAIN\r\nLOGIN");
    g_assert_cmpstr(none, ==, "");
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

    g_test_add_func("/sasl/unknown", test_unknown);
    g_test_add_func("/sasl/cram-md5/exchange", test_cram_md5);
    g_test_add_func("/sasl/cram-md5/malformed", test_cram_md5_malformed);
    g_test_add_func("/sasl/mechanism-names", test_mechanism_names);
    g_test_add_func("/sasl/plain/initial", test_plain_initial);
    g_test_add_func("/sasl/plain/challenge", test_plain_challenge);
    g_test_add_func("/sasl/plain/malformed", test_plain_malformed);
    g_test_add_func("/sasl/empty-initial", test_empty_initial);
    g_test_add_func("/sasl/login/challenges", test_login);
    g_test_add_func("/sasl/login/initial", test_login_initial);
    g_test_add_func("/sasl/login/malformed", test_login_malformed);
    g_test_add_func("/sasl/cancel", test_cancel);
    g_test_add_func("/sasl/bad-base64", test_bad_base64);
    return g_test_run();
}
