/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Routing of collected mail (modules/collector/collector-route.c) and the
 * header reading under it (collector-headers.c), over tables: header
 * splitting and unfolding, address lists, Received "for", the options and
 * every routing rule of VPOP3 section 2.4. */
#include "postroom-config.h"

#include <string.h>

#include "collector-headers.h"
#include "collector-route.h"

/* ---- headers ---- */

static CollectorHeaders *
parse_str(const char *s)
{
    return collector_headers_parse(s, strlen(s));
}

/* "Name=value|Name=value" */
static char *
describe_headers(const CollectorHeaders *h)
{
    GString *out = g_string_new(NULL);

    for (guint i = 0; i < h->fields->len; i++) {
        const CollectorHeader *f = h->fields->pdata[i];
        g_string_append_printf(out, "%s%s=%s", i > 0 ? "|" : "", f->name, f->value);
    }
    return g_string_free(out, FALSE);
}

static void
test_headers_parse(void)
{
    static const struct {
        const char *in;
        const char *out;
    } cases[] = {
        { "", "" },
        { "To: a@example.com\r\n", "To=a@example.com" },
        { "To: a@example.com", "To=a@example.com" },
        { "To:a@example.com\n", "To=a@example.com" },
        { "To:   \t a@example.com  \t\r\n", "To=a@example.com" },
        /* Unfolding removes the line break only. */
        { "Subject: one\r\n two\r\n\tthree\r\n", "Subject=one two\tthree" },
        { "Subject: one\n two\nX: y\n", "Subject=one two|X=y" },
        /* The empty line ends the header section. */
        { "A: 1\r\n\r\nB: 2\r\n", "A=1" },
        { "A: 1\n\nB: 2\n", "A=1" },
        { "\r\nA: 1\r\n", "" },
        /* A continuation before any field, or after a skipped line. */
        { " stray\r\nA: 1\r\n", "A=1" },
        { "garbage line\r\n continued\r\nA: 1\r\n", "A=1" },
        { "From someone@example.com Mon Jan  1 00:00:00 2024\nA: 1\n", "A=1" },
        /* Blanks before the colon (obsolete syntax); an impossible name. */
        { "Subject : hi\r\n", "Subject=hi" },
        { "Bad Name: x\r\nA: 1\r\n", "A=1" },
        { ": no name\r\nA: 1\r\n", "A=1" },
        /* Empty value; colon in the value. */
        { "X-Empty:\r\nY: a:b\r\n", "X-Empty=|Y=a:b" },
        /* A lone CR inside a line is a blank. */
        { "A: x\ry\r\n", "A=x y" },
        /* Same field twice, kept in order. */
        { "Received: one\r\nTo: t\r\nReceived: two\r\n", "Received=one|To=t|Received=two" },
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(CollectorHeaders) h = parse_str(cases[i].in);
        g_autofree char *d = describe_headers(h);
        g_test_message("%u: %s", i, cases[i].in);
        g_assert_cmpstr(d, ==, cases[i].out);
        g_assert_false(h->truncated);
    }
}

static void
test_headers_binary(void)
{
    static const char nul[] = "A: x\0y\r\nB: z\r\n";
    g_autoptr(CollectorHeaders) h = collector_headers_parse(nul, sizeof(nul) - 1);
    g_autofree char *d = describe_headers(h);

    g_assert_cmpstr(d, ==, "A=x y|B=z");

    g_autoptr(CollectorHeaders) empty = collector_headers_parse(NULL, 0);
    g_assert_cmpuint(empty->fields->len, ==, 0);

    /* Lookup ignores case and returns the first. */
    g_autoptr(CollectorHeaders) two = parse_str("to: first\r\nTO: second\r\n");
    g_assert_cmpstr(collector_headers_lookup(two, "To"), ==, "first");
    g_assert_null(collector_headers_lookup(two, "Cc"));
}

static void
test_headers_bounds(void)
{
    GString *s = g_string_new(NULL);

    for (guint i = 0; i < COLLECTOR_HEADERS_MAX_FIELDS + 10; i++)
        g_string_append_printf(s, "X-%u: %u\r\n", i, i);
    g_autoptr(CollectorHeaders) many = collector_headers_parse(s->str, s->len);
    g_assert_cmpuint(many->fields->len, ==, COLLECTOR_HEADERS_MAX_FIELDS);
    g_assert_true(many->truncated);

    /* One value folded over and over: cut at the bound. */
    g_string_assign(s, "Subject: start\r\n");
    while (s->len < COLLECTOR_HEADER_MAX_VALUE * 2)
        g_string_append(s, " 0123456789abcdef0123456789abcdef\r\n");
    g_string_append(s, "To: a@example.com\r\n");
    g_autoptr(CollectorHeaders) longv = collector_headers_parse(s->str, s->len);
    g_assert_cmpuint(longv->fields->len, ==, 2);
    const CollectorHeader *f = longv->fields->pdata[0];
    g_assert_cmpuint(strlen(f->value), <=, COLLECTOR_HEADER_MAX_VALUE);
    g_assert_cmpuint(strlen(f->value), >, COLLECTOR_HEADER_MAX_VALUE - 100);
    g_assert_true(longv->truncated);
    g_assert_cmpstr(collector_headers_lookup(longv, "To"), ==, "a@example.com");
    g_string_free(s, TRUE);
}

static void
test_header_decode(void)
{
    static const struct {
        const char *in;
        const char *out;
    } cases[] = {
        { "plain text", "plain text" },
        { "=?UTF-8?B?SsO2cmc=?=", "J\xc3\xb6rg" },
        { "=?utf-8?q?J=C3=B6rg_Smith?=", "J\xc3\xb6rg Smith" },
        { "=?ISO-8859-1?Q?J=F6rg?=", "J\xc3\xb6rg" },
        /* Blanks between encoded words vanish, others stay. */
        { "=?UTF-8?Q?a?= =?UTF-8?Q?b?=", "ab" },
        { "x =?UTF-8?Q?a?= y", "x a y" },
        /* Empty words. */
        { "a=?UTF-8?B?"
          "?=b",
          "ab" },
        { "=?UTF-8?Q?"
          "?= x",
          " x" },
        /* Language suffix (RFC 2231). */
        { "=?UTF-8*en?Q?hi?=", "hi" },
        /* Not encoded words: kept. */
        { "=?UTF-8?X?abc?=", "=?UTF-8?X?abc?=" },
        { "=?NO-SUCH-CHARSET?Q?abc?=", "=?NO-SUCH-CHARSET?Q?abc?=" },
        { "=?UTF-8?Q?open", "=?UTF-8?Q?open" },
        { "=?", "=?" },
        /* 8-bit Latin-1 without encoding. */
        { "J\xf6rg", "J\xc3\xb6rg" },
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *d = collector_header_decode(cases[i].in);
        g_autofree char *shown = g_strescape(cases[i].in, NULL);
        g_test_message("%u: %s", i, shown);
        g_assert_cmpstr(d, ==, cases[i].out);
        g_assert_true(g_utf8_validate(d, -1, NULL));
    }
}

static void
test_wildcards(void)
{
    static const struct {
        const char *pattern;
        const char *text;
        gboolean match;
    } cases[] = {
        { "*", "", TRUE },
        { "*", "anything", TRUE },
        { "", "", TRUE },
        { "", "x", FALSE },
        { "abc", "ABC", TRUE },
        { "abc", "abcd", FALSE },
        { "a?c", "abc", TRUE },
        { "a?c", "ac", FALSE },
        { "*.example.com", "mail.example.com", TRUE },
        { "*.example.com", "example.com", FALSE },
        { "*viagra*", "Buy VIAGRA now", TRUE },
        { "*a*b*c*", "xxaxxbxxcxx", TRUE },
        { "*a*b*c*", "xxaxxcxxbxx", FALSE },
        { "J?rg", "J\xc3\xb6rg", TRUE },
        { "j\xc3\xb6rg", "J\xc3\x96RG", TRUE },
        { "???", "ab", FALSE },
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_test_message("%u: %s ~ %s", i, cases[i].pattern, cases[i].text);
        g_assert_cmpint(collector_wildcard_match(cases[i].pattern, cases[i].text), ==,
                        cases[i].match);
    }

    /* Many stars against a long text that almost matches: bounded work. */
    g_autofree char *text = g_strnfill(60000, 'a');
    g_assert_false(collector_wildcard_match("*a*a*a*a*a*a*a*a*b", text));
}

/* ---- addresses ---- */

static char *
join(GPtrArray *list)
{
    GString *out = g_string_new(NULL);

    for (guint i = 0; i < list->len; i++)
        g_string_append_printf(out, "%s%s", i > 0 ? "," : "", (const char *)list->pdata[i]);
    return g_string_free(out, FALSE);
}

static void
test_address_list(void)
{
    static const struct {
        const char *in;
        const char *out;
        guint malformed;
    } cases[] = {
        { "user@example.com", "user@example.com", 0 },
        { "User@EXAMPLE.COM", "User@example.com", 0 },
        { "John Doe <john@example.com>", "john@example.com", 0 },
        { "\"Doe, John\" <john@example.com>, jane@example.com", "john@example.com,jane@example.com",
          0 },
        /* An unquoted comma in a display name: the first half is no address. */
        { "Doe, John <john@example.com>", "john@example.com", 1 },
        { "(comment) john@example.com (another (nested) one)", "john@example.com", 0 },
        { "john(comment)@example.com", "john@example.com", 0 },
        { "John <john@example.com> (work)", "john@example.com", 0 },
        { "<john@example.com>", "john@example.com", 0 },
        { "  <john@example.com>  ,  ", "john@example.com", 0 },
        { "undisclosed-recipients:;", "", 0 },
        { "Team: a@example.com, b@example.com;, c@example.com",
          "a@example.com,b@example.com,c@example.com", 0 },
        { "Team: Ann <a@example.com>;", "a@example.com", 0 },
        /* Obsolete source route. */
        { "<@relay.net,@other.net:john@example.com>", "john@example.com", 0 },
        { "\"john doe\"@example.com", "\"john doe\"@example.com", 0 },
        { "\"a,b;c:d<e>\"@example.com", "\"a,b;c:d<e>\"@example.com", 0 },
        { "\"with \\\"escaped\\\" quote\" <q@example.com>", "q@example.com", 0 },
        /* Obsolete blanks around dots and at. */
        { "john . doe @ example . com", "john.doe@example.com", 0 },
        { "<>", "", 0 },
        { "not an address", "", 1 },
        { "a@b@example.com", "", 1 },
        { "john@example.com.", "john@example.com", 0 },
        { "john@[192.0.2.1]", "john@[192.0.2.1]", 0 },
        { "john@exa_mple.com", "john@exa_mple.com", 0 },
        { "john@example..com", "", 1 },
        { "john@.example.com", "", 1 },
        { "@example.com", "", 1 },
        { "john@", "", 1 },
        /* Unclosed bracket, quote, comment: no loop, no crash. */
        { "John <john@example.com", "john@example.com", 0 },
        { "\"unclosed <a@example.com>", "", 1 },
        { "(unclosed comment a@example.com", "", 0 },
        { "a@example.com (unclosed", "a@example.com", 0 },
        /* A missing comma. */
        { "a@example.com b@example.com", "a@example.com,b@example.com", 0 },
        /* Two brackets in one element. */
        { "A <a@example.com> B <b@example.com>", "a@example.com,b@example.com", 0 },
        { "=?utf-8?q?J=C3=B6rg?= <jorg@example.com>", "jorg@example.com", 0 },
        { "j\xc3\xb6rg@EX\xc3\x84MPLE.com", "j\xc3\xb6rg@ex\xc3\x84mple.com", 0 },
        { "bad\xff@example.com", "", 1 },
        { ",,,", "", 0 },
        { "a@example.com, , b@example.com", "a@example.com,b@example.com", 0 },
        { "Mixed <A@Example.Com>", "A@example.com", 0 },
        { "<a b@example.com>", "ab@example.com", 0 },
        { "<a@example.com>>", "a@example.com", 0 },
        { "<<a@example.com>", "", 1 },
        { "a\tb@example.com", "b@example.com", 0 },
        { "", "", 0 },
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        guint bad = 99;
        g_autoptr(GPtrArray) list = collector_address_list_parse(cases[i].in, &bad);
        g_autofree char *out = join(list);
        g_autofree char *shown = g_strescape(cases[i].in, NULL);
        g_test_message("%u: %s", i, shown);
        g_assert_cmpstr(out, ==, cases[i].out);
        g_assert_cmpuint(bad, ==, cases[i].malformed);
    }
}

static void
test_received_for(void)
{
    static const struct {
        const char *in;
        const char *out;
    } cases[] = {
        { "from mx.isp.net by pop.isp.net with ESMTP id 123 for <user@example.com>; Tue, 1 "
          "Jan 2030 00:00:00 +0000",
          "user@example.com" },
        { "from mx by pop id 123 for user@example.com; Tue, 1 Jan 2030", "user@example.com" },
        { "from mx by pop id 123\tfor\t<user@example.com>", "user@example.com" },
        { "by host (Postfix, from userid 0) id X; Tue, 1 Jan 2030", "" },
        /* "for" inside a comment is not the clause. */
        { "from a (helo for <x@example.com>) by b for <y@example.com>;", "y@example.com" },
        { "from a (using TLS for you) by b for <y@example.com>;", "y@example.com" },
        { "by b FOR <Y@Example.COM>;", "Y@example.com" },
        { "by b for <@relay.net:u@example.com>;", "u@example.com" },
        { "by b for", "" },
        { "by b for ", "" },
        { "by b for <", "" },
        { "by b for <u@example.com", "u@example.com" },
        { "formula for <a@example.com> and for <b@example.com>", "a@example.com,b@example.com" },
        { "by b for <not-an-address>;", "" },
        { "by b for <>;", "" },
        { "by b id x;for <z@example.com>", "" },
        { "by b for u@example.com, v@example.com;", "u@example.com" },
        { "", "" },
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GPtrArray) list = collector_received_for_parse(cases[i].in);
        g_autofree char *out = join(list);
        g_test_message("%u: %s", i, cases[i].in);
        g_assert_cmpstr(out, ==, cases[i].out);
    }
}

static void
test_normalize(void)
{
    static const struct {
        const char *in;
        const char *out;
    } cases[] = {
        { "a@example.com", "a@example.com" },
        { "A@EXAMPLE.COM", "A@example.com" },
        { "a@example.com.", "a@example.com" },
        { "a.b+c@x-y.example", "a.b+c@x-y.example" },
        { "a@b", "a@b" },
        { "ab", NULL },
        { "a@", NULL },
        { "@b", NULL },
        { "a b@c", NULL },
        { "a@b c", NULL },
        { "\"a b\"@c", "\"a b\"@c" },
        { "\"\"@c", NULL },
        { "a@[1.2.3.4]", "a@[1.2.3.4]" },
        { "a@[1.2", NULL },
        { "a@b.", "a@b" },
        { "a@.", NULL },
        { "a\x01@b", NULL },
        { "", NULL },
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *out = collector_address_normalize(cases[i].in);
        g_test_message("%u: %s", i, cases[i].in);
        g_assert_cmpstr(out, ==, cases[i].out);
    }
    /* Too long. */
    g_autofree char *local = g_strnfill(400, 'a');
    g_autofree char *longaddr = g_strconcat(local, "@example.com", NULL);
    g_assert_null(collector_address_normalize(longaddr));
}

/* ---- options ---- */

/* "key=value;key=value" (values may hold ':' and blanks; ';' separates) */
static GHashTable *
options_from(const char *spec)
{
    GHashTable *options = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_auto(GStrv) items = g_strsplit(spec, "|", -1);

    for (guint i = 0; items[i] != NULL; i++) {
        if (*items[i] == '\0')
            continue;
        char *eq = strchr(items[i], '=');
        g_assert_nonnull(eq);
        g_hash_table_insert(options, g_strndup(items[i], (gsize)(eq - items[i])), g_strdup(eq + 1));
    }
    return options;
}

static void
test_option_errors(void)
{
    static const struct {
        const char *options;
        const char *key;
    } cases[] = {
        { "routing=bogus|deliver_to=fred", "routing" },
        { "routing=user", "deliver_to" },
        { "", "deliver_to" },
        { "routing=address", "deliver_to" },
        { "routing=address|deliver_to=a@@b", "deliver_to" },
        { "routing=user|deliver_to=fred smith", "deliver_to" },
        { "routing=headers", "accepted_domains" },
        { "routing=headers|accepted_domains= ; ;", "accepted_domains" },
        { "routing=headers|accepted_domains=example.com|envelope_header=Bad Name",
          "envelope_header" },
        { "routing=headers|accepted_domains=example.com|envelope_header=X-R: no star",
          "envelope_header" },
        { "routing=headers|accepted_domains=example.com|envelope_header=X-R: * and *",
          "envelope_header" },
        { "routing=headers|accepted_domains=example.com|envelope_header=: *", "envelope_header" },
        { "routing=user|deliver_to=fred|implicit_mapping=maybe", "implicit_mapping" },
        { "routing=user|deliver_to=fred|route_error=bogus", "route_error" },
        { "routing=headers|accepted_domains=example.com|route_error=user-error", "route_error_to" },
        { "routing=headers|accepted_domains=example.com|route_error=user-message|"
          "route_error_to=a b",
          "route_error_to" },
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GHashTable) options = options_from(cases[i].options);
        g_autoptr(GError) error = NULL;
        g_autoptr(CollectorRouteConfig) cfg = collector_route_config_new(options, &error);
        g_test_message("%u: %s", i, cases[i].options);
        g_assert_null(cfg);
        g_assert_error(error, COLLECTOR_ROUTE_ERROR, COLLECTOR_ROUTE_ERROR_OPTION);
        g_test_message("  %s", error->message);
        g_autofree char *quoted = g_strdup_printf("“%s”", cases[i].key);
        g_assert_nonnull(strstr(error->message, quoted));
    }

    /* Options a routing does not use are not checked. */
    g_autoptr(GHashTable) unused =
        options_from("routing=user|deliver_to=fred|envelope_header=Bad Name|accepted_domains=");
    g_autoptr(GError) error = NULL;
    g_autoptr(CollectorRouteConfig) cfg = collector_route_config_new(unused, &error);
    g_assert_no_error(error);
    g_assert_nonnull(cfg);
    /* NULL options: routing=user without deliver_to. */
    g_autoptr(GError) error2 = NULL;
    g_assert_null(collector_route_config_new(NULL, &error2));
    g_assert_error(error2, COLLECTOR_ROUTE_ERROR, COLLECTOR_ROUTE_ERROR_OPTION);
}

static void
test_fail_choice(void)
{
    static const struct {
        const char *options;
        CollectorRouteFail fail;
        const char *target;
    } cases[] = {
        { "deliver_to=fred", COLLECTOR_ROUTE_FAIL_ADMIN_ERROR, NULL },
        { "deliver_to=fred|route_error=admin-error", COLLECTOR_ROUTE_FAIL_ADMIN_ERROR, NULL },
        { "deliver_to=fred|route_error=Admin-Message", COLLECTOR_ROUTE_FAIL_ADMIN_MESSAGE, NULL },
        { "deliver_to=fred|route_error=user-error", COLLECTOR_ROUTE_FAIL_USER_ERROR, "fred" },
        { "deliver_to=fred|route_error=user-message|route_error_to=ann",
          COLLECTOR_ROUTE_FAIL_USER_MESSAGE, "ann" },
        { "routing=headers|accepted_domains=x.com|route_error=user-error|route_error_to=ann",
          COLLECTOR_ROUTE_FAIL_USER_ERROR, "ann" },
        { "deliver_to=fred|route_error=bounce", COLLECTOR_ROUTE_FAIL_BOUNCE, NULL },
        { "deliver_to=fred|route_error=discard|route_error_to=ann", COLLECTOR_ROUTE_FAIL_DISCARD,
          NULL },
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GHashTable) options = options_from(cases[i].options);
        g_autoptr(GError) error = NULL;
        g_autoptr(CollectorRouteConfig) cfg = collector_route_config_new(options, &error);
        const char *target = "unset";
        g_test_message("%u: %s", i, cases[i].options);
        g_assert_no_error(error);
        g_assert_cmpint(collector_route_config_get_fail(cfg, &target), ==, cases[i].fail);
        g_assert_cmpstr(target, ==, cases[i].target);
    }
}

/* ---- routing ---- */

/* "addr[source],..." */
static char *
describe_recipients(GPtrArray *list)
{
    GString *out = g_string_new(NULL);

    for (guint i = 0; i < list->len; i++) {
        const CollectorRecipient *r = list->pdata[i];
        g_string_append_printf(out, "%s%s[%s]", i > 0 ? "," : "", r->address, r->source);
    }
    return g_string_free(out, FALSE);
}

#define HDRS "routing=headers|accepted_domains=example.com;*.example.org;boss@partner.com"

static void
test_route_table(void)
{
    static const struct {
        const char *options;
        const char *headers; /* NULL: none */
        const char *recipients;
        const char *rejected;
        gboolean from_envelope;
    } cases[] = {
        /* 1. everything to one user or list */
        { "routing=user|deliver_to=fred", "To: x@example.com\r\n", "fred[deliver_to]", "", FALSE },
        { "deliver_to= sales-list ", NULL, "sales-list[deliver_to]", "", FALSE },
        /* 2. one address */
        { "routing=address|deliver_to=Sales@Example.COM", "To: x@example.com\r\n",
          "Sales@example.com[deliver_to]", "", FALSE },
        { "routing=ADDRESS|deliver_to=sales", NULL, "sales[deliver_to]", "", FALSE },
        /* 3. headers */
        { HDRS,
          "From: boss@example.com\r\nTo: Ann <ann@example.com>\r\nCc: bob@example.com, "
          "x@elsewhere.net\r\nBcc: hidden@example.com\r\nResent-To: rt@example.com\r\n"
          "Resent-Cc: rc@example.com\r\nApparently-To: at@example.com\r\n"
          "Received: from a by b for <rcv@example.com>; date\r\nDelivered-To: "
          "dt@example.com\r\n",
          "ann@example.com[To],bob@example.com[Cc],rt@example.com[Resent-To],"
          "rc@example.com[Resent-Cc],at@example.com[Apparently-To],rcv@example.com[Received]",
          "x@elsewhere.net[Cc]", FALSE },
        /* Header names in any case; sources as the canonical name. */
        { HDRS, "TO: a@example.com\r\ncc: b@example.com\r\n", "a@example.com[To],b@example.com[Cc]",
          "", FALSE },
        /* Several fields of one name. */
        { HDRS, "To: a@example.com\r\nTo: b@example.com\r\n", "a@example.com[To],b@example.com[To]",
          "", FALSE },
        /* Deduplicated in any case; the first source wins. */
        { HDRS,
          "Cc: A@EXAMPLE.com\r\nTo: a@example.com\r\nReceived: by x for "
          "<a@Example.Com>;\r\n",
          "a@example.com[To]", "", FALSE },
        /* Wildcard domains, ? and full addresses. */
        { HDRS,
          "To: x@mail.example.org, y@example.org, boss@partner.com, other@partner.com, "
          "z@deep.sub.example.org\r\n",
          "x@mail.example.org[To],boss@partner.com[To],z@deep.sub.example.org[To]",
          "y@example.org[To],other@partner.com[To]", FALSE },
        { "routing=headers|accepted_domains=ex?mple.com", "To: a@exxmple.com, b@exmple.com\r\n",
          "a@exxmple.com[To]", "b@exmple.com[To]", FALSE },
        { "routing=headers|accepted_domains=EXAMPLE.COM , @other.com",
          "To: a@Example.com, b@OTHER.com\r\n", "a@example.com[To],b@other.com[To]", "", FALSE },
        { "routing=headers|accepted_domains=sales@example.com;*@team.example.com",
          "To: sales@example.com, ann@example.com, x@team.example.com\r\n",
          "sales@example.com[To],x@team.example.com[To]", "ann@example.com[To]", FALSE },
        /* Nothing matched. */
        { HDRS, "To: x@elsewhere.net\r\nSubject: hi\r\n", "", "x@elsewhere.net[To]", FALSE },
        { HDRS, "Subject: no recipients\r\n", "", "", FALSE },
        { HDRS, "", "", "", FALSE },
        { HDRS, NULL, "", "", FALSE },
        /* Folded, groups, comments. */
        { HDRS, "To: Ann <ann@example.com>,\r\n\tBob\r\n <bob@example.com>\r\n",
          "ann@example.com[To],bob@example.com[To]", "", FALSE },
        { HDRS, "To: team: ann@example.com, bob@example.com;\r\nCc: undisclosed-recipients:;\r\n",
          "ann@example.com[To],bob@example.com[To]", "", FALSE },
        /* The body is not read. */
        { HDRS, "Subject: x\r\n\r\nTo: body@example.com\r\n", "", "", FALSE },
        /* Malformed input around good fields. */
        { HDRS, "garbage\r\n\x01\x02: x\r\nTo: <<<>>> ,,, \"\r\nCc: ok@example.com\r\nTo: (((\r\n",
          "ok@example.com[Cc]", "", FALSE },

        /* Envelope header, plain: decides alone. */
        { HDRS "|envelope_header=X-Original-To",
          "To: a@example.com, b@example.com\r\nX-Original-To: u@example.com\r\n",
          "u@example.com[X-Original-To]", "", TRUE },
        { HDRS "|envelope_header=x-original-to",
          "To: a@example.com\r\nX-ORIGINAL-TO: <u@example.com>\r\n", "u@example.com[x-original-to]",
          "", TRUE },
        /* Several lines. */
        { HDRS "|envelope_header=Delivered-To",
          "Delivered-To: u@example.com\r\nDelivered-To: v@example.com\r\nTo: a@example.com\r\n",
          "u@example.com[Delivered-To],v@example.com[Delivered-To]", "", TRUE },
        /* Absent: the headers as without the option. */
        { HDRS "|envelope_header=X-Original-To", "To: a@example.com\r\n", "a@example.com[To]", "",
          FALSE },
        /* Present but not accepted: no fallback to To. */
        { HDRS "|envelope_header=X-Original-To",
          "To: a@example.com\r\nX-Original-To: someone@elsewhere.net\r\n", "",
          "someone@elsewhere.net[X-Original-To]", TRUE },
        /* Present without an address: as if absent. */
        { HDRS "|envelope_header=X-Original-To", "To: a@example.com\r\nX-Original-To: garbage\r\n",
          "a@example.com[To]", "", FALSE },
        /* Pattern. */
        { HDRS "|envelope_header=X-Recipient: acc * delivered",
          "To: a@example.com\r\nX-Recipient: acc u@example.com delivered\r\n",
          "u@example.com[X-Recipient]", "", TRUE },
        { HDRS "|envelope_header=X-Recipient: acc * delivered",
          "X-Recipient: ACC   u@example.com \t DELIVERED\r\n", "u@example.com[X-Recipient]", "",
          TRUE },
        { HDRS "|envelope_header=X-Recipient: acc * delivered",
          "X-Recipient: acc\r\n u@example.com\r\n delivered\r\n", "u@example.com[X-Recipient]", "",
          TRUE },
        /* A line that does not fit: not counted; fallback to To. */
        { HDRS "|envelope_header=X-Recipient: acc * delivered",
          "To: a@example.com\r\nX-Recipient: acc u@example.com bounced\r\n", "a@example.com[To]",
          "", FALSE },
        /* `~` skips a random tail. */
        { HDRS "|envelope_header=X-Rcpt: * ~",
          "X-Rcpt: u@example.com id=123abc; more\r\nX-Rcpt: v@example.com \r\n",
          "u@example.com[X-Rcpt],v@example.com[X-Rcpt]", "", TRUE },
        { HDRS "|envelope_header=X-Rcpt: <*>~", "X-Rcpt: <u@example.com>;x7f3\r\n",
          "u@example.com[X-Rcpt]", "", TRUE },
        { HDRS "|envelope_header=X-Rcpt: ~for *", "X-Rcpt: (ISP 12) for <u@example.com>\r\n",
          "u@example.com[X-Rcpt]", "", TRUE },
        /* `*` is as long as fits, and never blank. */
        { HDRS "|envelope_header=X-Rcpt: *~",
          "X-Rcpt: u@example.com\r\nX-Rcpt: v@example.com tail\r\n",
          "u@example.com[X-Rcpt],v@example.com[X-Rcpt]", "", TRUE },
        /* Pattern fits but the text is no address: as if absent. */
        { HDRS "|envelope_header=X-Rcpt: acc *", "X-Rcpt: acc nobody\r\nCc: c@example.com\r\n",
          "c@example.com[Cc]", "", FALSE },
        /* Received for with accepted domains; others ignored. */
        { HDRS,
          "Received: from a by isp for <u@example.com>; d\r\nReceived: from b by c for "
          "<orig@elsewhere.net>; d\r\n",
          "u@example.com[Received]", "orig@elsewhere.net[Received]", FALSE },
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GHashTable) options = options_from(cases[i].options);
        g_autoptr(GError) error = NULL;
        g_autoptr(CollectorRouteConfig) cfg = collector_route_config_new(options, &error);
        g_test_message("%u: %s\n%s", i, cases[i].options,
                       cases[i].headers != NULL ? cases[i].headers : "(no headers)");
        g_assert_no_error(error);
        g_autoptr(CollectorHeaders) h =
            cases[i].headers != NULL ? parse_str(cases[i].headers) : NULL;
        g_autoptr(CollectorRoute) route = collector_route_message(cfg, h);
        g_autofree char *rcpts = describe_recipients(route->recipients);
        g_autofree char *rejected = describe_recipients(route->rejected);
        g_assert_cmpstr(rcpts, ==, cases[i].recipients);
        g_assert_cmpstr(rejected, ==, cases[i].rejected);
        g_assert_cmpint(route->from_envelope, ==, cases[i].from_envelope);
        g_assert_false(route->truncated);
        g_assert_true(route->implicit_mapping);
    }
}

static void
test_route_implicit_mapping(void)
{
    static const struct {
        const char *options;
        gboolean implicit;
    } cases[] = {
        { "deliver_to=fred", TRUE },
        { "deliver_to=fred|implicit_mapping=yes", TRUE },
        { "deliver_to=fred|implicit_mapping=no", FALSE },
        { "deliver_to=fred|implicit_mapping=FALSE", FALSE },
        { HDRS "|implicit_mapping=off", FALSE },
        { HDRS "|implicit_mapping=1", TRUE },
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GHashTable) options = options_from(cases[i].options);
        g_autoptr(GError) error = NULL;
        g_autoptr(CollectorRouteConfig) cfg = collector_route_config_new(options, &error);
        g_assert_no_error(error);
        g_autoptr(CollectorHeaders) h = parse_str("To: a@example.com\r\n");
        g_autoptr(CollectorRoute) route = collector_route_message(cfg, h);
        g_assert_cmpuint(route->recipients->len, ==, 1);
        g_assert_cmpint(route->implicit_mapping, ==, cases[i].implicit);
    }
    g_autoptr(GHashTable) options = options_from(HDRS);
    g_autoptr(CollectorRouteConfig) cfg = collector_route_config_new(options, NULL);
    g_assert_cmpint(collector_route_config_get_routing(cfg), ==, COLLECTOR_ROUTING_HEADERS);
}

static void
test_route_bounds(void)
{
    g_autoptr(GHashTable) options = options_from(HDRS);
    g_autoptr(CollectorRouteConfig) cfg = collector_route_config_new(options, NULL);
    GString *s = g_string_new("To: ");

    for (guint i = 0; i < COLLECTOR_ROUTE_MAX_RECIPIENTS + 200; i++)
        g_string_append_printf(s, "%su%u@example.com", i > 0 ? ", " : "", i);
    for (guint i = 0; i < COLLECTOR_ROUTE_MAX_REJECTED + 20; i++)
        g_string_append_printf(s, ", x%u@elsewhere.net", i);
    g_string_append(s, "\r\n");
    g_autoptr(CollectorHeaders) h = collector_headers_parse(s->str, s->len);
    g_autoptr(CollectorRoute) route = collector_route_message(cfg, h);
    g_assert_cmpuint(route->recipients->len, ==, COLLECTOR_ROUTE_MAX_RECIPIENTS);
    g_assert_true(route->truncated);
    g_assert_cmpuint(route->rejected->len, ==, COLLECTOR_ROUTE_MAX_REJECTED);
    const CollectorRecipient *last = route->recipients->pdata[COLLECTOR_ROUTE_MAX_RECIPIENTS - 1];
    g_assert_cmpstr(last->address, ==, "u999@example.com");
    g_string_free(s, TRUE);

    /* A long envelope header value does not fit a pattern (and is not slow). */
    g_autoptr(GHashTable) o2 = options_from(HDRS "|envelope_header=X-R: ~*~");
    g_autoptr(CollectorRouteConfig) c2 = collector_route_config_new(o2, NULL);
    g_autofree char *pad = g_strnfill(2000, 'a');
    g_autofree char *block = g_strdup_printf("X-R: %s u@example.com\r\nTo: t@example.com\r\n", pad);
    g_autoptr(CollectorHeaders) h2 = parse_str(block);
    g_autoptr(CollectorRoute) r2 = collector_route_message(c2, h2);
    g_autofree char *d2 = describe_recipients(r2->recipients);
    g_assert_cmpstr(d2, ==, "t@example.com[To]");
}

/* collector_message_remove_field(): the ISP's Return-Path goes, folded
 * lines with it, any case, "Name :" too; nothing in the body; the same
 * bytes back when there is none. */
static void
test_remove_field(void)
{
    static const struct {
        const char *in, *out;
        guint removed;
    } cases[] = {
        { "Return-Path: <a@isp>\r\nFrom: x\r\n\r\nReturn-Path: body\r\n",
          "From: x\r\n\r\nReturn-Path: body\r\n", 1 },
        { "From: x\r\nreturn-path :\r\n <a@isp>\r\n\tmore\r\nRETURN-PATH: <b@isp>\r\nTo: "
          "y\r\n\r\nb",
          "From: x\r\nTo: y\r\n\r\nb", 2 },
        { "Return-Paths: <a@isp>\r\nX-Return-Path: z\r\n\r\n",
          "Return-Paths: <a@isp>\r\nX-Return-Path: z\r\n\r\n", 0 },
        { "Return-Path: <a@isp>\nSubject: lf\n\nbody\n", "Subject: lf\n\nbody\n", 1 },
        { "Return-Path: <a@isp>", "", 1 },
        { "", "", 0 },
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GBytes) in = g_bytes_new_static(cases[i].in, strlen(cases[i].in));
        guint removed = 99;
        g_autoptr(GBytes) out = collector_message_remove_field(in, "Return-Path", &removed);
        gsize len = 0;
        const char *data = g_bytes_get_data(out, &len);
        g_autofree char *text = g_strndup(data, len);
        g_assert_cmpstr(text, ==, cases[i].out);
        g_assert_cmpuint(removed, ==, cases[i].removed);
        if (cases[i].removed == 0)
            g_assert_true(out == in);
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/collector/headers/parse", test_headers_parse);
    g_test_add_func("/collector/headers/binary", test_headers_binary);
    g_test_add_func("/collector/headers/bounds", test_headers_bounds);
    g_test_add_func("/collector/headers/decode", test_header_decode);
    g_test_add_func("/collector/headers/wildcards", test_wildcards);
    g_test_add_func("/collector/route/address-list", test_address_list);
    g_test_add_func("/collector/route/received-for", test_received_for);
    g_test_add_func("/collector/route/normalize", test_normalize);
    g_test_add_func("/collector/route/option-errors", test_option_errors);
    g_test_add_func("/collector/route/fail-choice", test_fail_choice);
    g_test_add_func("/collector/route/table", test_route_table);
    g_test_add_func("/collector/route/implicit-mapping", test_route_implicit_mapping);
    g_test_add_func("/collector/route/bounds", test_route_bounds);
    g_test_add_func("/collector/headers/remove-field", test_remove_field);
    return g_test_run();
}
