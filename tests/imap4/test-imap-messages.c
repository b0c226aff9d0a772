/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The pure helpers of the IMAP message commands (imap-msgutil.c): flag
 * lists as STORE changes them, HEADER.FIELDS (.NOT) filtering and compact
 * sequence sets. The commands themselves run against a real postroomd in
 * test_imap_messages.py. */

#include "postroom-config.h"

#include <string.h>

#include "imap-msg.h"

static void
test_has_flag(void)
{
    g_assert_true(imap_msg_has_flag("\\Seen $Work", "\\seen"));
    g_assert_true(imap_msg_has_flag("\\Seen $Work", "$WORK"));
    g_assert_false(imap_msg_has_flag("\\Seen $Work", "\\Flagged"));
    g_assert_false(imap_msg_has_flag("\\Seenx", "\\Seen"));
    g_assert_false(imap_msg_has_flag("", "\\Seen"));
}

static void
check_apply(const char *flags, PrFlagsChange change, const char *given, const char *expected)
{
    g_autofree char *got = imap_msg_apply_flags(flags, change, given);

    g_assert_cmpstr(got, ==, expected);
}

static void
test_apply_flags(void)
{
    check_apply("\\Seen $Work", PR_FLAGS_ADD, "\\seen \\FLAGGED", "\\Seen $Work \\Flagged");
    check_apply("\\Seen $Work", PR_FLAGS_ADD, "$work", "\\Seen $Work");
    check_apply("\\Seen $Work", PR_FLAGS_REMOVE, "$WORK", "\\Seen");
    check_apply("\\Seen $Work", PR_FLAGS_REMOVE, "\\Deleted", "\\Seen $Work");
    check_apply("\\Seen $Work", PR_FLAGS_REPLACE, "\\draft \\Recent", "\\Draft");
    check_apply("\\Seen", PR_FLAGS_REPLACE, "", "");
    check_apply("", PR_FLAGS_ADD, "\\Answered \\answered", "\\Answered");
    check_apply("", PR_FLAGS_REMOVE, "\\Seen", "");
}

static void
check_apply_rights(const char *flags, PrFlagsChange change, const char *given, const char *rights,
                   const char *expected)
{
    g_autofree char *got = imap_msg_apply_flags_rights(flags, change, given, rights);

    g_assert_cmpstr(got, ==, expected);
}

/* RFC 4314 §4: a flag the user has no right to change keeps its state. */
static void
test_apply_flags_rights(void)
{
    g_assert_cmpint(imap_msg_flag_right("\\SEEN"), ==, 's');
    g_assert_cmpint(imap_msg_flag_right("\\deleted"), ==, 't');
    g_assert_cmpint(imap_msg_flag_right("\\Flagged"), ==, 'w');
    g_assert_cmpint(imap_msg_flag_right("$Work"), ==, 'w');
    check_apply_rights("", PR_FLAGS_ADD, "\\Seen", "lr", "");
    check_apply_rights("", PR_FLAGS_ADD, "\\Seen \\Flagged", "lrs", "\\Seen");
    check_apply_rights("\\Seen", PR_FLAGS_REMOVE, "\\Seen", "lrw", "\\Seen");
    check_apply_rights("\\Seen $Work", PR_FLAGS_REPLACE, "\\Deleted", "lrt",
                       "\\Deleted \\Seen $Work");
    check_apply_rights("\\Seen $Work", PR_FLAGS_REPLACE, "\\Deleted", "lrs", "$Work");
    check_apply_rights("\\Seen $Work", PR_FLAGS_REPLACE, "\\Flagged", "lrw", "\\Flagged \\Seen");
    check_apply_rights("\\Seen", PR_FLAGS_ADD, "\\Answered", "lrswipkxtea", "\\Seen \\Answered");
}

static void
test_append_flags(void)
{
    g_autoptr(GString) out = g_string_new(NULL);

    imap_msg_append_flags(out, "\\Seen", TRUE);
    g_string_append_c(out, '|');
    imap_msg_append_flags(out, "", TRUE);
    g_string_append_c(out, '|');
    imap_msg_append_flags(out, "", FALSE);
    g_assert_cmpstr(out->str, ==, "FLAGS (\\Seen \\Recent)|FLAGS (\\Recent)|FLAGS ()");
}

static const char header[] = "Received: from a\r\n"
                             "\tby b\r\n"
                             "Subject: Hello\r\n"
                             "  world\r\n"
                             "From: x@example.org\r\n"
                             "X-Spaced : yes\r\n"
                             "Subjectx: not this\r\n"
                             "\r\n";

static void
check_filter(const char *in, const char *const *names, gboolean exclude, const char *expected)
{
    g_auto(GStrv) fields = g_strdupv((char **)names);
    GString *got = imap_msg_filter_header(in, strlen(in), fields, exclude);

    g_assert_cmpstr(got->str, ==, expected);
    g_string_free(got, TRUE);
}

static void
test_filter_header(void)
{
    const char *subject[] = { "SUBJECT", NULL };
    const char *two[] = { "FROM", "X-SPACED", NULL };
    const char *none[] = { "X-NOWHERE", NULL };
    const char *drop[] = { "RECEIVED", "SUBJECT", "SUBJECTX", NULL };

    /* A folded field keeps its continuation lines; similar names do not match. */
    check_filter(header, subject, FALSE, "Subject: Hello\r\n  world\r\n\r\n");
    check_filter(header, two, FALSE, "From: x@example.org\r\nX-Spaced : yes\r\n\r\n");
    check_filter(header, none, FALSE, "\r\n");
    check_filter(header, drop, TRUE, "From: x@example.org\r\nX-Spaced : yes\r\n\r\n");
    /* Bare LF line ends come out as CRLF; a header without its blank line. */
    check_filter("Subject: a\n b\nTo: c\n", subject, FALSE, "Subject: a\r\n b\r\n\r\n");
    /* Nothing after the blank line belongs to the header. */
    check_filter("To: a\r\n\r\nSubject: body\r\n", subject, FALSE, "\r\n");
    check_filter("", subject, TRUE, "\r\n");
}

static void
check_set(const guint32 *values, guint n, const char *expected)
{
    g_autoptr(GString) out = g_string_new(NULL);

    imap_msg_append_uid_set(out, values, n);
    g_assert_cmpstr(out->str, ==, expected);
}

static void
test_uid_set(void)
{
    const guint32 runs[] = { 1, 2, 3, 5, 7, 8, 4294967294u };
    const guint32 one[] = { 42 };

    check_set(runs, G_N_ELEMENTS(runs), "1:3,5,7:8,4294967294");
    check_set(one, 1, "42");
    check_set(NULL, 0, "");
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/imap-messages/has-flag", test_has_flag);
    g_test_add_func("/imap-messages/apply-flags", test_apply_flags);
    g_test_add_func("/imap-messages/apply-flags-rights", test_apply_flags_rights);
    g_test_add_func("/imap-messages/append-flags", test_append_flags);
    g_test_add_func("/imap-messages/filter-header", test_filter_header);
    g_test_add_func("/imap-messages/uid-set", test_uid_set);
    return g_test_run();
}
