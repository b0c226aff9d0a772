/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The SMTP module's argument parser (modules/smtp/smtp-parse.c) over
 * tables of command arguments: paths, ESMTP parameters, BDAT and EHLO. */

#include "postroom-config.h"

#include <string.h>

#include "smtp.h"

typedef struct {
    const char *args;
    SmtpParseStatus status;
    const char *address; /* expected on success */
} PathCase;

static void
check_paths(const PathCase *cases, gsize n, gboolean mail)
{
    for (gsize i = 0; i < n; i++) {
        g_autoptr(SmtpPath) path = g_new0(SmtpPath, 1);
        SmtpParseStatus st =
            mail ? smtp_parse_mail(cases[i].args, path) : smtp_parse_rcpt(cases[i].args, path);
        g_autofree char *shown = g_strescape(cases[i].args, NULL);
        g_test_message("%s %s", mail ? "MAIL" : "RCPT", shown);
        g_assert_cmpint(st, ==, cases[i].status);
        if (st == SMTP_PARSE_OK)
            g_assert_cmpstr(path->address, ==, cases[i].address);
        else
            g_assert_nonnull(path->error);
    }
}

static void
test_mail_paths(void)
{
    static const PathCase cases[] = {
        { "FROM:<a@b.example>", SMTP_PARSE_OK, "a@b.example" },
        { "from:<a@b.example>", SMTP_PARSE_OK, "a@b.example" },
        { "FROM: <a@b.example>", SMTP_PARSE_OK, "a@b.example" },
        { "FROM:a@b.example", SMTP_PARSE_OK, "a@b.example" },
        { "FROM:<>", SMTP_PARSE_OK, "" },
        { "FROM:<@x.example,@y.example:a@b.example>", SMTP_PARSE_OK, "a@b.example" },
        { "FROM:<a@[192.0.2.1]>", SMTP_PARSE_OK, "a@[192.0.2.1]" },
        { "FROM:<\"a>b c\"@b.example>", SMTP_PARSE_OK, "\"a>b c\"@b.example" },
        { "FROM:<\"a\\\"b\"@b.example>", SMTP_PARSE_OK, "\"a\\\"b\"@b.example" },
        { "FROM:<first.last+tag@sub.b-c.example>", SMTP_PARSE_OK,
          "first.last+tag@sub.b-c.example" },
        { "FROM:<a@b.example>  SIZE=10", SMTP_PARSE_OK, "a@b.example" },
        { "FROM:<j\xc3\xb6rg@b.example> SMTPUTF8", SMTP_PARSE_OK, "j\xc3\xb6rg@b.example" },
        { "FROM:<j\xc3\xb6rg@b.example>", SMTP_PARSE_NEEDS_UTF8, NULL },
        { "FROM:<\xff@b.example> SMTPUTF8", SMTP_PARSE_BAD_ADDRESS, NULL },
        { "FROM:<a@b.example", SMTP_PARSE_SYNTAX, NULL },
        { "FROM:<a@b.example>x", SMTP_PARSE_SYNTAX, NULL },
        { "TO:<a@b.example>", SMTP_PARSE_SYNTAX, NULL },
        { "FROM:", SMTP_PARSE_SYNTAX, NULL },
        { "FROM:<a..b@b.example>", SMTP_PARSE_BAD_ADDRESS, NULL },
        { "FROM:<.a@b.example>", SMTP_PARSE_BAD_ADDRESS, NULL },
        { "FROM:<a@>", SMTP_PARSE_BAD_ADDRESS, NULL },
        { "FROM:<a@b..example>", SMTP_PARSE_BAD_ADDRESS, NULL },
        { "FROM:<a b@b.example>", SMTP_PARSE_BAD_ADDRESS, NULL },
        { "FROM:<nodomain>", SMTP_PARSE_BAD_ADDRESS, NULL },
        { "FROM:<@x.example:>", SMTP_PARSE_BAD_ADDRESS, NULL },
        /* Literals that could not be written back between brackets. */
        { "FROM:a@[x>y]", SMTP_PARSE_BAD_ADDRESS, NULL },
        { "FROM:a@[\"]", SMTP_PARSE_BAD_ADDRESS, NULL },
        { "FROM:a@[<]", SMTP_PARSE_BAD_ADDRESS, NULL },
    };

    check_paths(cases, G_N_ELEMENTS(cases), TRUE);
}

static void
test_rcpt_paths(void)
{
    static const PathCase cases[] = {
        { "TO:<b@c.example>", SMTP_PARSE_OK, "b@c.example" },
        { "TO:<Postmaster>", SMTP_PARSE_OK, "Postmaster" },
        { "to:<postmaster>", SMTP_PARSE_OK, "postmaster" },
        { "TO:<bob>", SMTP_PARSE_BAD_ADDRESS, NULL },
        { "TO:<>", SMTP_PARSE_BAD_ADDRESS, NULL },
        { "FROM:<b@c.example>", SMTP_PARSE_SYNTAX, NULL },
        { "TO:<b@c.example> SIZE=1", SMTP_PARSE_UNKNOWN, NULL },
    };

    check_paths(cases, G_N_ELEMENTS(cases), FALSE);
}

static void
test_too_long(void)
{
    g_autoptr(SmtpPath) path = g_new0(SmtpPath, 1);
    g_autofree char *local = g_strnfill(250, 'x');
    g_autofree char *args = g_strdup_printf("FROM:<%s@b.example>", local);

    g_assert_cmpint(smtp_parse_mail(args, path), ==, SMTP_PARSE_TOO_LONG);
}

typedef struct {
    const char *args;
    SmtpParseStatus status;
} ParamCase;

static void
test_mail_parameters(void)
{
    static const ParamCase cases[] = {
        { "FROM:<a@b.example> SIZE=0", SMTP_PARSE_OK },
        { "FROM:<a@b.example> SIZE=123456789", SMTP_PARSE_OK },
        { "FROM:<a@b.example> SIZE=", SMTP_PARSE_SYNTAX },
        { "FROM:<a@b.example> SIZE", SMTP_PARSE_SYNTAX },
        { "FROM:<a@b.example> SIZE=-1", SMTP_PARSE_SYNTAX },
        { "FROM:<a@b.example> SIZE=99999999999999999999", SMTP_PARSE_SYNTAX },
        { "FROM:<a@b.example> SIZE=1 size=2", SMTP_PARSE_SYNTAX },
        { "FROM:<a@b.example> BODY=7bit", SMTP_PARSE_OK },
        { "FROM:<a@b.example> BODY=8BITMIME", SMTP_PARSE_OK },
        { "FROM:<a@b.example> BODY=BINARYMIME", SMTP_PARSE_UNKNOWN },
        { "FROM:<a@b.example> SMTPUTF8=yes", SMTP_PARSE_SYNTAX },
        { "FROM:<a@b.example> RET=full", SMTP_PARSE_OK },
        { "FROM:<a@b.example> RET=NONE", SMTP_PARSE_SYNTAX },
        { "FROM:<a@b.example> ENVID=abc+2Bdef", SMTP_PARSE_OK },
        { "FROM:<a@b.example> ENVID=abc+2", SMTP_PARSE_SYNTAX },
        { "FROM:<a@b.example> ENVID=abc+2b", SMTP_PARSE_SYNTAX },
        { "FROM:<a@b.example> ENVID=abc+zz", SMTP_PARSE_SYNTAX },
        { "FROM:<a@b.example> ENVID=a=b", SMTP_PARSE_SYNTAX },
        { "FROM:<a@b.example> ENVID=", SMTP_PARSE_SYNTAX },
        { "FROM:<a@b.example> AUTH=<>", SMTP_PARSE_OK },
        { "FROM:<a@b.example> AUTH=user+40b.example", SMTP_PARSE_OK },
        { "FROM:<a@b.example> XFORWARD=1", SMTP_PARSE_UNKNOWN },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(SmtpPath) path = g_new0(SmtpPath, 1);
        g_test_message("MAIL %s", cases[i].args);
        g_assert_cmpint(smtp_parse_mail(cases[i].args, path), ==, cases[i].status);
    }
}

static void
test_mail_parameter_values(void)
{
    g_autoptr(SmtpPath) path = g_new0(SmtpPath, 1);

    g_assert_cmpint(smtp_parse_mail("FROM:<a@b.example> size=42 body=8bitmime ret=hdrs "
                                    "envid=Q+2BX smtputf8",
                                    path),
                    ==, SMTP_PARSE_OK);
    g_assert_true(path->has_size);
    g_assert_cmpint(path->size, ==, 42);
    g_assert_cmpint(path->body, ==, SMTP_BODY_8BITMIME);
    g_assert_cmpstr(path->ret, ==, "HDRS");
    g_assert_cmpstr(path->envid, ==, "Q+2BX");
    g_assert_true(path->smtputf8);
}

static void
test_rcpt_parameters(void)
{
    static const ParamCase cases[] = {
        { "TO:<a@b.example> NOTIFY=NEVER", SMTP_PARSE_OK },
        { "TO:<a@b.example> NOTIFY=success,failure,delay", SMTP_PARSE_OK },
        { "TO:<a@b.example> NOTIFY=NEVER,DELAY", SMTP_PARSE_SYNTAX },
        { "TO:<a@b.example> NOTIFY=SUCCESS,SUCCESS", SMTP_PARSE_SYNTAX },
        { "TO:<a@b.example> NOTIFY=", SMTP_PARSE_SYNTAX },
        { "TO:<a@b.example> NOTIFY=SUCCESS,", SMTP_PARSE_SYNTAX },
        { "TO:<a@b.example> ORCPT=rfc822;a+40b.example", SMTP_PARSE_OK },
        { "TO:<a@b.example> ORCPT=utf-8;a@b", SMTP_PARSE_OK },
        { "TO:<a@b.example> ORCPT=;a", SMTP_PARSE_SYNTAX },
        { "TO:<a@b.example> ORCPT=rfc822", SMTP_PARSE_SYNTAX },
        { "TO:<a@b.example> ORCPT=rfc822;", SMTP_PARSE_SYNTAX },
        { "TO:<a@b.example> ORCPT=rfc 822;a", SMTP_PARSE_SYNTAX },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(SmtpPath) path = g_new0(SmtpPath, 1);
        g_test_message("RCPT %s", cases[i].args);
        g_assert_cmpint(smtp_parse_rcpt(cases[i].args, path), ==, cases[i].status);
    }
}

static void
test_bdat(void)
{
    static const struct {
        const char *args;
        gboolean ok;
        gint64 size;
        gboolean last;
    } cases[] = {
        { "10", TRUE, 10, FALSE },        { "0 LAST", TRUE, 0, TRUE },
        { "5 last", TRUE, 5, TRUE },      { "", FALSE, 0, FALSE },
        { "x", FALSE, 0, FALSE },         { "-1", FALSE, 0, FALSE },
        { "+1", FALSE, 0, FALSE },        { "10 FIRST", FALSE, 0, FALSE },
        { "10 LAST x", FALSE, 0, FALSE }, { "1234567890123456789", FALSE, 0, FALSE },
        { "10  LAST", FALSE, 0, FALSE },
    };

    for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
        gint64 size = -1;
        gboolean last = FALSE;
        g_test_message("BDAT %s", cases[i].args);
        g_assert_cmpint(smtp_parse_bdat(cases[i].args, &size, &last), ==, cases[i].ok);
        if (cases[i].ok) {
            g_assert_cmpint(size, ==, cases[i].size);
            g_assert_cmpint(last, ==, cases[i].last);
        }
    }
}

static void
test_helo(void)
{
    g_autofree char *long_name = g_strnfill(256, 'h');

    g_assert_true(smtp_valid_helo("mail.example.org"));
    g_assert_true(smtp_valid_helo("[192.0.2.1]"));
    g_assert_true(smtp_valid_helo("b\xc3\xbc"
                                  "cher.example"));
    g_assert_false(smtp_valid_helo(""));
    g_assert_false(smtp_valid_helo("bad\x01name"));
    g_assert_false(smtp_valid_helo("\xff"));
    g_assert_false(smtp_valid_helo(long_name));
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
    g_test_add_func("/smtp/parse/mail-paths", test_mail_paths);
    g_test_add_func("/smtp/parse/rcpt-paths", test_rcpt_paths);
    g_test_add_func("/smtp/parse/too-long", test_too_long);
    g_test_add_func("/smtp/parse/mail-parameters", test_mail_parameters);
    g_test_add_func("/smtp/parse/mail-parameter-values", test_mail_parameter_values);
    g_test_add_func("/smtp/parse/rcpt-parameters", test_rcpt_parameters);
    g_test_add_func("/smtp/parse/bdat", test_bdat);
    g_test_add_func("/smtp/parse/helo", test_helo);
    return g_test_run();
}
