/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The query token: its form, and finding it in a reply's subaddress or
 * subject. */
#include "postroom-config.h"

#include <string.h>

#include "collector-token.h"

static void
test_new(void)
{
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

    for (int i = 0; i < 200; i++) {
        g_autoptr(GError) error = NULL;
        char *t = collector_token_new(&error);
        g_assert_no_error(error);
        g_assert_cmpuint(strlen(t), ==, COLLECTOR_TOKEN_LEN);
        g_assert_true(collector_token_valid(t));
        for (const char *p = t; *p != '\0'; p++)
            g_assert_true(strchr("abcdefghijklmnopqrstuvwxyz234567", *p) != NULL);
        g_assert_false(g_hash_table_contains(seen, t));
        g_hash_table_add(seen, t);
    }
}

#define TOKEN  "abcdefghijklmnopqrstuvwxyz"
#define TOKEN2 "234567abcdefghijklmnopqrst"

static void
test_valid(void)
{
    g_assert_true(collector_token_valid(TOKEN));
    g_assert_true(collector_token_valid("ABCDEFGHIJKLMNOPQRSTUVWXYZ"));
    g_assert_false(collector_token_valid(NULL));
    g_assert_false(collector_token_valid(""));
    g_assert_false(collector_token_valid(TOKEN "a"));
    g_assert_false(collector_token_valid("abcdefghijklmnopqrstuvwxy"));
    /* 0, 1, 8 and 9 are not base32. */
    g_assert_false(collector_token_valid("0bcdefghijklmnopqrstuvwxyz"));
    g_assert_false(collector_token_valid("abcdefghijklmnopqrstuvwxy8"));
    g_assert_false(collector_token_valid("abcdefghijklm-opqrstuvwxyz"));
}

static void
test_parse(void)
{
    static const struct {
        const char *detail, *subject, *expected;
    } cases[] = {
        /* The subaddress wins, in any case. */
        { TOKEN, NULL, TOKEN },
        { "ABCDEFGHIJKLMNOPQRSTUVWXYZ", NULL, TOKEN },
        { TOKEN, "Re: waiting [query:" TOKEN2 "]", TOKEN },
        /* A bad subaddress falls back to the subject. */
        { "nonsense", "Re: waiting [query:" TOKEN2 "]", TOKEN2 },
        { "", "Re: waiting [query:" TOKEN2 "]", TOKEN2 },
        { NULL, "Re: A message is waiting on the server [query:" TOKEN "]", TOKEN },
        { NULL, "AW: Re: [QUERY:" TOKEN2 "]", TOKEN2 },
        { NULL, "query: " TOKEN, TOKEN },
        { NULL, "Fwd: query:" TOKEN " and more", TOKEN },
        /* A first tag that is no token does not hide a later one. */
        { NULL, "query:short query:" TOKEN2, TOKEN2 },
        /* Too long, too short, wrong letters, or no tag. */
        { NULL, "[query:" TOKEN "a]", NULL },
        { NULL, "[query:" TOKEN "9]", NULL },
        { NULL, "[query:abcdefghijklmnopqrstuvwxy]", NULL },
        { NULL, "[query:0bcdefghijklmnopqrstuvwxyz]", NULL },
        { NULL, "Re: " TOKEN, NULL },
        { NULL, "", NULL },
        { NULL, NULL, NULL },
        { "abc", NULL, NULL },
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *got = collector_token_parse(cases[i].detail, cases[i].subject);
        g_test_message("case %u: %s / %s", i, cases[i].detail ? cases[i].detail : "(null)",
                       cases[i].subject ? cases[i].subject : "(null)");
        g_assert_cmpstr(got, ==, cases[i].expected);
    }
}

static void
test_subject_tag_round_trip(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *t = collector_token_new(&error);
    g_assert_no_error(error);
    g_autofree char *tag = collector_token_subject_tag(t);
    g_autofree char *subject = g_strconcat("Re: A message is waiting", tag, NULL);
    g_autofree char *back = collector_token_parse(NULL, subject);
    g_assert_cmpstr(back, ==, t);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/collector/token/new", test_new);
    g_test_add_func("/collector/token/valid", test_valid);
    g_test_add_func("/collector/token/parse", test_parse);
    g_test_add_func("/collector/token/subject-tag", test_subject_tag_round_trip);
    return g_test_run();
}
