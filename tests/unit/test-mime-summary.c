/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The MIME summary (server/mime-summary.c): ENVELOPE, BODY and
 * BODYSTRUCTURE written by hand from RFC 3501 §7.4.2 (and compared once
 * with Dovecot 2.3's output for the same messages), and the section table
 * checked by slicing the input. */

#include <string.h>

#include "mime-summary.h"

static MimeSummary *
summarise(const char *message)
{
    return mime_summary_build((const guint8 *)message, strlen(message));
}

/* The bytes of a section of @message, NULL if there is no such section. */
static char *
section(const MimeSummary *summary, const char *message, const char *part, PrSectionPart which)
{
    gint64 offset = -1, length = -1;

    if (!mime_summary_find_section(summary->sections, part, which, &offset, &length))
        return NULL;
    g_assert_cmpint(offset, >=, 0);
    g_assert_cmpint(length, >=, 0);
    g_assert_cmpint(offset + length, <=, (gint64)strlen(message));
    return g_strndup(message + offset, length);
}

#define assert_section(summary, message, part, which, expected)                                    \
    G_STMT_START                                                                                   \
    {                                                                                              \
        g_autofree char *got_ = section(summary, message, part, which);                            \
        g_assert_cmpstr(got_, ==, expected);                                                       \
    }                                                                                              \
    G_STMT_END

static void
test_simple_text(void)
{
    const char *msg = "Date: Mon, 7 Feb 1994 21:52:25 -0800\r\n"
                      "From: Fred Foobar <foobar@Blurdybloop.COM>\r\n"
                      "Subject: afternoon meeting\r\n"
                      "To: mooch@owatagu.siam.edu\r\n"
                      "Message-Id: <B27397-0100000@Blurdybloop.COM>\r\n"
                      "MIME-Version: 1.0\r\n"
                      "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
                      "\r\n"
                      "Hello Joe, do you think we can meet at 3:30 tomorrow?\r\n";
    g_autoptr(MimeSummary) s = summarise(msg);

    /* RFC 3501 §7.4.2's example, Sender and Reply-To defaulting to From. */
    g_assert_cmpstr(s->envelope, ==,
                    "(\"Mon, 7 Feb 1994 21:52:25 -0800\" \"afternoon meeting\" "
                    "((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.COM\")) "
                    "((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.COM\")) "
                    "((\"Fred Foobar\" NIL \"foobar\" \"Blurdybloop.COM\")) "
                    "((NIL NIL \"mooch\" \"owatagu.siam.edu\")) NIL NIL NIL "
                    "\"<B27397-0100000@Blurdybloop.COM>\")");
    g_assert_cmpstr(s->bodystructure, ==,
                    "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7bit\" 55 1 "
                    "NIL NIL NIL NIL)");
    g_assert_cmpstr(s->body, ==,
                    "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7bit\" 55 1)");

    /* A non-multipart message: part 1 is its body, 1.MIME its header. */
    const char *header_end = strstr(msg, "\r\n\r\n") + 4;
    g_autofree char *header = g_strndup(msg, header_end - msg);
    assert_section(s, msg, "", PR_SECTION_ALL, msg);
    assert_section(s, msg, "", PR_SECTION_HEADER, header);
    assert_section(s, msg, "", PR_SECTION_TEXT, header_end);
    assert_section(s, msg, "1", PR_SECTION_ALL, header_end);
    assert_section(s, msg, "1", PR_SECTION_MIME, header);
    assert_section(s, msg, "", PR_SECTION_MIME, NULL);
    assert_section(s, msg, "1", PR_SECTION_HEADER, NULL);
    assert_section(s, msg, "1", PR_SECTION_TEXT, NULL);
    assert_section(s, msg, "2", PR_SECTION_ALL, NULL);
    assert_section(s, msg, "1.1", PR_SECTION_ALL, NULL);
}

static void
test_alternative(void)
{
    const char *msg = "From: a@example.com\r\n"
                      "Content-Type: multipart/alternative; boundary=\"=_alt\"\r\n"
                      "\r\n"
                      "--=_alt\r\n"
                      "Content-Type: text/plain; charset=utf-8; format=flowed\r\n"
                      "\r\n"
                      "plain\r\n"
                      "text\r\n"
                      "--=_alt\r\n"
                      "Content-Type: text/html; charset=utf-8\r\n"
                      "Content-Transfer-Encoding: quoted-printable\r\n"
                      "\r\n"
                      "<p>html=3D</p>\r\n"
                      "--=_alt--\r\n";
    g_autoptr(MimeSummary) s = summarise(msg);

    g_assert_cmpstr(s->bodystructure, ==,
                    "((\"text\" \"plain\" (\"charset\" \"utf-8\" \"format\" \"flowed\") NIL NIL "
                    "\"7bit\" 11 1 NIL NIL NIL NIL)"
                    "(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 14 0 "
                    "NIL NIL NIL NIL) "
                    "\"alternative\" (\"boundary\" \"=_alt\") NIL NIL NIL)");
    g_assert_cmpstr(s->body, ==,
                    "((\"text\" \"plain\" (\"charset\" \"utf-8\" \"format\" \"flowed\") NIL NIL "
                    "\"7bit\" 11 1)"
                    "(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 14 0) "
                    "\"alternative\")");
    /* The line end before a delimiter belongs to the delimiter. */
    assert_section(s, msg, "1", PR_SECTION_ALL, "plain\r\ntext");
    assert_section(s, msg, "2", PR_SECTION_ALL, "<p>html=3D</p>");
    assert_section(s, msg, "2", PR_SECTION_MIME,
                   "Content-Type: text/html; charset=utf-8\r\n"
                   "Content-Transfer-Encoding: quoted-printable\r\n\r\n");
    assert_section(s, msg, "3", PR_SECTION_ALL, NULL);
}

static void
test_attachment(void)
{
    const char *msg = "Subject: report\r\n"
                      "Content-Type: multipart/mixed; boundary=b1\r\n"
                      "\r\n"
                      "preamble\r\n"
                      "--b1\r\n"
                      "\r\n"
                      "see attached\r\n"
                      "--b1\r\n"
                      "Content-Type: application/pdf; name=\"report.pdf\"\r\n"
                      "Content-Disposition: attachment;\r\n"
                      " filename=\"report.pdf\"\r\n"
                      "Content-Transfer-Encoding: base64\r\n"
                      "Content-ID: <part2@example.com>\r\n"
                      "Content-Description: The report\r\n"
                      "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n"
                      "Content-Language: en, de\r\n"
                      "Content-Location: http://example.com/report.pdf\r\n"
                      "\r\n"
                      "JVBERi0=\r\n"
                      "--b1\r\n"
                      "Content-Type: image/png\r\n"
                      "Content-Disposition: inline\r\n"
                      "Content-Language: fr\r\n"
                      "\r\n"
                      "PNG\r\n"
                      "--b1--\r\n"
                      "epilogue\r\n";
    g_autoptr(MimeSummary) s = summarise(msg);

    g_assert_cmpstr(
        s->bodystructure, ==,
        "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 12 0 NIL NIL NIL NIL)"
        "(\"application\" \"pdf\" (\"name\" \"report.pdf\") \"<part2@example.com>\" "
        "\"The report\" \"base64\" 8 \"Q2hlY2sgSW50ZWdyaXR5IQ==\" "
        "(\"attachment\" (\"filename\" \"report.pdf\")) (\"en\" \"de\") "
        "\"http://example.com/report.pdf\")"
        "(\"image\" \"png\" NIL NIL NIL \"7bit\" 3 NIL (\"inline\" NIL) \"fr\" NIL) "
        "\"mixed\" (\"boundary\" \"b1\") NIL NIL NIL)");
    g_assert_cmpstr(s->body, ==,
                    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 12 0)"
                    "(\"application\" \"pdf\" (\"name\" \"report.pdf\") \"<part2@example.com>\" "
                    "\"The report\" \"base64\" 8)"
                    "(\"image\" \"png\" NIL NIL NIL \"7bit\" 3) \"mixed\")");
    /* A part without header: its MIME header is the empty line alone. */
    assert_section(s, msg, "1", PR_SECTION_MIME, "\r\n");
    assert_section(s, msg, "1", PR_SECTION_ALL, "see attached");
    assert_section(s, msg, "2", PR_SECTION_ALL, "JVBERi0=");
    assert_section(s, msg, "3", PR_SECTION_ALL, "PNG");
    /* The body of the message keeps preamble and epilogue. */
    assert_section(s, msg, "", PR_SECTION_TEXT, strstr(msg, "preamble"));
}

/* The message of most of the section checks: a multipart/mixed with a
 * multipart/alternative, an attachment and a message/rfc822 that is
 * itself multipart; LF or CRLF line ends. */
static char *
nested_message(const char *eol)
{
    const char *lines[] = {
        "From: outer@example.com",
        "Subject: nested",
        "Content-Type: multipart/mixed; boundary=\"outer\"",
        "",
        "--outer",
        "Content-Type: multipart/alternative; boundary=\"alt\"",
        "",
        "--alt",
        "Content-Type: text/plain",
        "",
        "plain",
        "--alt",
        "Content-Type: text/html",
        "",
        "<b>html</b>",
        "--alt--",
        "--outer",
        "Content-Type: application/octet-stream",
        "",
        "BIN",
        "--outer",
        "Content-Type: message/rfc822",
        "Content-Description: forwarded",
        "",
        "From: inner@example.com",
        "Subject: inner",
        "Content-Type: multipart/mixed; boundary=\"in\"",
        "",
        "--in",
        "",
        "inner text",
        "--in",
        "Content-Type: text/plain; name=x.txt",
        "",
        "second",
        "--in--",
        "--outer--",
        NULL,
    };
    GString *out = g_string_new(NULL);

    for (guint i = 0; lines[i] != NULL; i++) {
        g_string_append(out, lines[i]);
        g_string_append(out, eol);
    }
    return g_string_free(out, FALSE);
}

static char *
crlf(const char *text, const char *eol)
{
    g_auto(GStrv) parts = g_strsplit(text, "\n", -1);

    return g_strjoinv(eol, parts);
}

static void
check_nested(const char *eol)
{
    g_autofree char *msg = nested_message(eol);
    g_autoptr(MimeSummary) s = summarise(msg);

    if (strcmp(eol, "\r\n") == 0) {
        g_assert_cmpstr(
            s->bodystructure, ==,
            "(((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 0 NIL NIL NIL "
            "NIL)(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 11 0 NIL NIL NIL "
            "NIL) \"alternative\" (\"boundary\" \"alt\") NIL NIL NIL)"
            "(\"application\" \"octet-stream\" NIL NIL NIL \"7bit\" 3 NIL NIL NIL NIL)"
            "(\"message\" \"rfc822\" NIL NIL \"forwarded\" \"7bit\" 169 "
            "(NIL \"inner\" ((NIL NIL \"inner\" \"example.com\")) "
            "((NIL NIL \"inner\" \"example.com\")) ((NIL NIL \"inner\" \"example.com\")) "
            "NIL NIL NIL NIL NIL) "
            "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 0 NIL NIL NIL "
            "NIL)(\"text\" \"plain\" (\"name\" \"x.txt\" \"charset\" \"us-ascii\") NIL NIL "
            "\"7bit\" 6 0 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"in\") NIL NIL NIL) 11 "
            "NIL NIL NIL NIL) "
            "\"mixed\" (\"boundary\" \"outer\") NIL NIL NIL)");
    }

    g_autofree char *header = crlf("From: outer@example.com\nSubject: nested\n"
                                   "Content-Type: multipart/mixed; boundary=\"outer\"\n\n",
                                   eol);
    g_autofree char *inner_header = crlf("From: inner@example.com\nSubject: inner\n"
                                         "Content-Type: multipart/mixed; boundary=\"in\"\n\n",
                                         eol);
    g_autofree char *inner_text = crlf(
        "--in\n\ninner text\n--in\nContent-Type: text/plain; name=x.txt\n\nsecond\n--in--", eol);
    g_autofree char *inner = g_strconcat(inner_header, inner_text, NULL);
    g_autofree char *part1 =
        crlf("--alt\nContent-Type: text/plain\n\nplain\n--alt\nContent-Type: text/html\n\n"
             "<b>html</b>\n--alt--",
             eol);
    g_autofree char *mime1 = crlf("Content-Type: multipart/alternative; boundary=\"alt\"\n\n", eol);
    g_autofree char *mime3 =
        crlf("Content-Type: message/rfc822\nContent-Description: forwarded\n\n", eol);
    g_autofree char *mime32 = crlf("Content-Type: text/plain; name=x.txt\n\n", eol);

    assert_section(s, msg, "", PR_SECTION_ALL, msg);
    assert_section(s, msg, "", PR_SECTION_HEADER, header);
    assert_section(s, msg, "", PR_SECTION_TEXT, msg + strlen(header));
    assert_section(s, msg, "1", PR_SECTION_MIME, mime1);
    assert_section(s, msg, "1", PR_SECTION_ALL, part1);
    assert_section(s, msg, "1.1", PR_SECTION_ALL, "plain");
    assert_section(s, msg, "1.2", PR_SECTION_ALL, "<b>html</b>");
    assert_section(s, msg, "2", PR_SECTION_ALL, "BIN");
    assert_section(s, msg, "3", PR_SECTION_MIME, mime3);
    assert_section(s, msg, "3", PR_SECTION_ALL, inner);
    assert_section(s, msg, "3", PR_SECTION_HEADER, inner_header);
    assert_section(s, msg, "3", PR_SECTION_TEXT, inner_text);
    assert_section(s, msg, "3.1", PR_SECTION_MIME, eol);
    assert_section(s, msg, "3.1", PR_SECTION_ALL, "inner text");
    assert_section(s, msg, "3.2", PR_SECTION_MIME, mime32);
    assert_section(s, msg, "3.2", PR_SECTION_ALL, "second");
    /* Only messages have HEADER and TEXT. */
    assert_section(s, msg, "2", PR_SECTION_HEADER, NULL);
    assert_section(s, msg, "1", PR_SECTION_TEXT, NULL);
    assert_section(s, msg, "3.3", PR_SECTION_ALL, NULL);
    assert_section(s, msg, "4", PR_SECTION_ALL, NULL);
    assert_section(s, msg, "3.", PR_SECTION_ALL, NULL);
}

static void
test_nested_crlf(void)
{
    check_nested("\r\n");
}

static void
test_nested_lf(void)
{
    check_nested("\n");
}

static void
test_rfc822_single_part(void)
{
    const char *msg = "Subject: fwd\r\n"
                      "Content-Type: multipart/mixed; boundary=x\r\n"
                      "\r\n"
                      "--x\r\n"
                      "Content-Type: message/rfc822\r\n"
                      "\r\n"
                      "Subject: inner\r\n"
                      "\r\n"
                      "inner body\r\n"
                      "--x--\r\n";
    g_autoptr(MimeSummary) s = summarise(msg);

    /* The embedded message is not multipart: 1.1 is its body and 1.1.MIME
     * its header. */
    assert_section(s, msg, "1", PR_SECTION_HEADER, "Subject: inner\r\n\r\n");
    assert_section(s, msg, "1", PR_SECTION_TEXT, "inner body");
    assert_section(s, msg, "1.1", PR_SECTION_ALL, "inner body");
    assert_section(s, msg, "1.1", PR_SECTION_MIME, "Subject: inner\r\n\r\n");
    assert_section(s, msg, "1.2", PR_SECTION_ALL, NULL);
    g_assert_cmpstr(s->body, ==,
                    "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 28 "
                    "(NIL \"inner\" NIL NIL NIL NIL NIL NIL NIL NIL) "
                    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 0) 2) "
                    "\"mixed\")");
}

static void
test_group_addresses(void)
{
    const char *msg =
        "From: \"Joe Q. Public\" <john.q.public@example.com>\r\n"
        "To: Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>\r\n"
        "Cc: <boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>\r\n"
        "Bcc: A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;,\r\n"
        " Undisclosed recipients:;\r\n"
        "Reply-To: pete(his account)@silly.test (Pete)\r\n"
        "Sender:\r\n"
        "\r\n";
    g_autoptr(MimeSummary) s = summarise(msg);

    g_assert_cmpstr(
        s->envelope, ==,
        "(NIL NIL ((\"Joe Q. Public\" NIL \"john.q.public\" \"example.com\")) "
        "((\"Joe Q. Public\" NIL \"john.q.public\" \"example.com\")) "
        "((\"his account\" NIL \"pete\" \"silly.test\")) "
        "((\"Mary Smith\" NIL \"mary\" \"x.test\")(NIL NIL \"jdoe\" \"example.org\")"
        "(\"Who?\" NIL \"one\" \"y.test\")) "
        "((NIL NIL \"boss\" \"nil.test\")(\"Giant; \\\"Big\\\" Box\" NIL \"sysservices\" "
        "\"example.net\")) "
        "((NIL NIL \"A Group\" NIL)(\"Ed Jones\" NIL \"c\" \"a.test\")"
        "(NIL NIL \"joe\" \"where.test\")(\"John\" NIL \"jdoe\" \"one.test\")(NIL NIL NIL NIL)"
        "(NIL NIL \"Undisclosed recipients\" NIL)(NIL NIL NIL NIL)) NIL NIL)");
}

static void
test_raw_strings(void)
{
    /* Encoded words stay as they are; quotes and backslashes are escaped;
     * 8-bit text and bare CRs go as literals. */
    const char *msg = "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= \"to\" C:\\dir\r\n"
                      "From: =?iso-8859-1?q?Andr=E9?= <andre@example.com>\r\n"
                      "To: \"caf\xc3\xa9\" <c@example.com>\r\n"
                      "In-Reply-To: <a\rb@x>\r\n"
                      "Message-ID: <folded@\r\n"
                      "  example.com>\r\n"
                      "\r\n"
                      "body\r\n";
    g_autoptr(MimeSummary) s = summarise(msg);

    g_assert_cmpstr(s->envelope, ==,
                    "(NIL \"=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= \\\"to\\\" C:\\\\dir\" "
                    "((\"=?iso-8859-1?q?Andr=E9?=\" NIL \"andre\" \"example.com\")) "
                    "((\"=?iso-8859-1?q?Andr=E9?=\" NIL \"andre\" \"example.com\")) "
                    "((\"=?iso-8859-1?q?Andr=E9?=\" NIL \"andre\" \"example.com\")) "
                    "(({5}\r\ncaf\xc3\xa9 NIL \"c\" \"example.com\")) NIL NIL "
                    "{7}\r\n<a\rb@x> \"<folded@  example.com>\")");
}

static void
test_no_content_type(void)
{
    const char *msg = "Subject: plain\n\nline 1\nline 2\n";
    g_autoptr(MimeSummary) s = summarise(msg);

    g_assert_cmpstr(s->bodystructure, ==,
                    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 14 2 NIL NIL "
                    "NIL NIL)");
    assert_section(s, msg, "", PR_SECTION_HEADER, "Subject: plain\n\n");
    assert_section(s, msg, "1", PR_SECTION_ALL, "line 1\nline 2\n");

    /* An invalid one is text/plain too (RFC 2045 §5.2). */
    g_autoptr(MimeSummary) bad = summarise("Content-Type: garbage\r\n\r\nx");
    g_assert_cmpstr(bad->body, ==,
                    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 1 0)");

    /* Neither header nor body. */
    g_autoptr(MimeSummary) empty = summarise("");
    g_assert_cmpstr(empty->envelope, ==, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
    g_assert_cmpstr(empty->body, ==,
                    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)");
    assert_section(empty, "", "", PR_SECTION_ALL, "");
    assert_section(empty, "", "1", PR_SECTION_ALL, "");
}

static void
test_digest(void)
{
    const char *msg = "Content-Type: multipart/digest; boundary=d\r\n"
                      "\r\n"
                      "--d\r\n"
                      "\r\n"
                      "Subject: one\r\n"
                      "\r\n"
                      "first\r\n"
                      "--d--\r\n";
    g_autoptr(MimeSummary) s = summarise(msg);

    /* Parts of a digest are messages unless they say otherwise. */
    g_assert_cmpstr(s->body, ==,
                    "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 21 "
                    "(NIL \"one\" NIL NIL NIL NIL NIL NIL NIL NIL) "
                    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 0) 2) "
                    "\"digest\")");
    assert_section(s, msg, "1.1", PR_SECTION_ALL, "first");
}

static void
test_malformed_multipart(void)
{
    /* No closing delimiter: the last part runs to the end. */
    const char *unclosed = "Content-Type: multipart/mixed; boundary=zz\r\n"
                           "\r\n"
                           "--zz\r\n"
                           "Content-Type: text/plain\r\n"
                           "\r\n"
                           "one\r\n"
                           "--zz\r\n"
                           "\r\n"
                           "two, never closed\r\n";
    g_autoptr(MimeSummary) s = summarise(unclosed);
    g_assert_cmpstr(s->body, ==,
                    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 3 0)"
                    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 19 1) "
                    "\"mixed\")");
    assert_section(s, unclosed, "2", PR_SECTION_ALL, "two, never closed\r\n");

    /* The boundary never appears: one empty text/plain part, as a
     * multipart must have one. */
    const char *partless = "Content-Type: multipart/mixed; boundary=zz\r\n\r\njust text\r\n";
    g_autoptr(MimeSummary) p = summarise(partless);
    g_assert_cmpstr(p->bodystructure, ==,
                    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL "
                    "NIL NIL) \"mixed\" (\"boundary\" \"zz\") NIL NIL NIL)");
    assert_section(p, partless, "1", PR_SECTION_ALL, "");

    /* No boundary parameter: the body is text. */
    const char *boundless = "Content-Type: multipart/mixed\r\n\r\n--zz\r\n\r\nx\r\n";
    g_autoptr(MimeSummary) b = summarise(boundless);
    g_assert_cmpstr(b->body, ==,
                    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 11 3)");

    /* A delimiter with junk after it is not one; one with white space is. */
    const char *padded = "Content-Type: multipart/mixed; boundary=zz\r\n"
                         "\r\n"
                         "--zz \t\r\n"
                         "\r\n"
                         "a\r\n"
                         "--zzz\r\n"
                         "--zz--  \r\n";
    g_autoptr(MimeSummary) d = summarise(padded);
    assert_section(d, padded, "1", PR_SECTION_ALL, "a\r\n--zzz");
    assert_section(d, padded, "2", PR_SECTION_ALL, NULL);
}

/* Counts the depth of parentheses outside strings; -1 if unbalanced. */
static int
max_depth(const char *s)
{
    int depth = 0, max = 0;
    gboolean quoted = FALSE;

    for (; *s != '\0'; s++) {
        if (quoted) {
            if (*s == '\\')
                s++;
            else if (*s == '"')
                quoted = FALSE;
        } else if (*s == '"') {
            quoted = TRUE;
        } else if (*s == '(') {
            depth++;
            max = MAX(max, depth);
        } else if (*s == ')' && --depth < 0) {
            return -1;
        }
    }
    return depth == 0 && !quoted ? max : -1;
}

static void
test_deep_nesting(void)
{
    GString *msg = g_string_new(NULL);

    for (int i = 0; i < 1000; i++)
        g_string_append_printf(msg, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n",
                               i, i);
    g_string_append(msg, "\r\nleaf\r\n");
    g_autoptr(MimeSummary) s = summarise(msg->str);

    /* Capped at 64 multiparts, the rest is one text/plain part (whose
     * parameter list is one level deeper). */
    g_assert_cmpint(max_depth(s->bodystructure), ==, 66);
    g_assert_cmpint(max_depth(s->body), ==, 66);
    g_assert_nonnull(strstr(s->body, "(((\"text\" \"plain\""));
    g_string_free(msg, TRUE);

    GString *messages = g_string_new(NULL);
    for (int i = 0; i < 1000; i++)
        g_string_append(messages, "Content-Type: message/rfc822\r\n\r\n");
    g_autoptr(MimeSummary) m = summarise(messages->str);
    /* Each message/rfc822 level is one list deeper; the last one is
     * text/plain. */
    g_assert_cmpint(max_depth(m->bodystructure), ==, 66);
    g_string_free(messages, TRUE);
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/mime-summary/simple-text", test_simple_text);
    g_test_add_func("/mime-summary/alternative", test_alternative);
    g_test_add_func("/mime-summary/attachment", test_attachment);
    g_test_add_func("/mime-summary/nested-crlf", test_nested_crlf);
    g_test_add_func("/mime-summary/nested-lf", test_nested_lf);
    g_test_add_func("/mime-summary/rfc822-single-part", test_rfc822_single_part);
    g_test_add_func("/mime-summary/group-addresses", test_group_addresses);
    g_test_add_func("/mime-summary/raw-strings", test_raw_strings);
    g_test_add_func("/mime-summary/no-content-type", test_no_content_type);
    g_test_add_func("/mime-summary/digest", test_digest);
    g_test_add_func("/mime-summary/malformed-multipart", test_malformed_multipart);
    g_test_add_func("/mime-summary/deep-nesting", test_deep_nesting);
    return g_test_run();
}
