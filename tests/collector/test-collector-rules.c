/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Download rules (modules/collector/collector-rules.c), over tables: every
 * condition and action, all/any, order, errors naming file, rule and key,
 * and the example in doc/admin-guide.md. */
#include "postroom-config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "collector-rules.h"

#define FILE_NAME "rules.conf"

static CollectorRules *
parse_ok(const char *text)
{
    g_autoptr(GError) error = NULL;
    CollectorRules *rules = collector_rules_parse(text, strlen(text), FILE_NAME, &error);

    g_assert_no_error(error);
    g_assert_nonnull(rules);
    return rules;
}

/* ---- errors ---- */

static void
test_errors(void)
{
    static const struct {
        const char *text;
        const char *rule; /* NULL: not about one rule */
        const char *key;  /* NULL: not about one key */
    } cases[] = {
        { "garbage", NULL, NULL },
        { "action = download\n", NULL, NULL },
        { "[foo]\naction = download\n", "[foo]", NULL },
        { "[rule ]\naction = download\n", "[rule ]", NULL },
        { "[rule]\naction = download\n", "[rule]", NULL },
        { "[rule a]\n", "a", "action" },
        { "[rule a]\nsize = 10\n", "a", "action" },
        { "[rule a]\naction = explode\n", "a", "action" },
        { "[rule a]\naction =\n", "a", "action" },
        { "[rule a]\naction = redirect\n", "a", "target" },
        { "[rule a]\naction = copy\n", "a", "target" },
        { "[rule a]\naction = query-and-copy\n", "a", "target" },
        { "[rule a]\naction = query-and-redirect\n", "a", "target" },
        { "[rule a]\naction = download-copy-and-delete\n", "a", "target" },
        { "[rule a]\naction = download-redirect-and-delete\n", "a", "target" },
        { "[rule a]\naction = download\ntarget = fred\n", "a", "target" },
        { "[rule a]\naction = redirect\ntarget = fred smith\n", "a", "target" },
        { "[rule a]\naction = redirect\ntarget =\n", "a", "target" },
        { "[rule a]\naction = download\nsize = 12x\n", "a", "size" },
        { "[rule a]\naction = download\nsize = -1\n", "a", "size" },
        { "[rule a]\naction = download\nsize =\n", "a", "size" },
        { "[rule a]\naction = download\nsize = 99999999999999999999\n", "a", "size" },
        { "[rule a]\naction = download\nsize = 99999999999999G\n", "a", "size" },
        { "[rule a]\naction = download\ntime = 25:00-26:00\n", "a", "time" },
        { "[rule a]\naction = download\ntime = 9-17\n", "a", "time" },
        { "[rule a]\naction = download\ntime = 09:00\n", "a", "time" },
        { "[rule a]\naction = download\ntime = 09:60-10:00\n", "a", "time" },
        { "[rule a]\naction = download\ntime = 09:0-10:00\n", "a", "time" },
        { "[rule a]\naction = download\ntime = 24:00-10:00\n", "a", "time" },
        { "[rule a]\naction = download\ntime = ;\n", "a", "time" },
        { "[rule a]\naction = download\nday = 0\n", "a", "day" },
        { "[rule a]\naction = download\nday = 8\n", "a", "day" },
        { "[rule a]\naction = download\nday = monday\n", "a", "day" },
        { "[rule a]\naction = download\nday = 1-\n", "a", "day" },
        { "[rule a]\naction = download\nday =\n", "a", "day" },
        { "[rule a]\naction = download\ncollector = -1\n", "a", "collector" },
        { "[rule a]\naction = download\ncollector = one\n", "a", "collector" },
        { "[rule a]\naction = download\nrecipient = ;;\n", "a", "recipient" },
        { "[rule a]\naction = download\nvalid_rcpts = maybe\n", "a", "valid_rcpts" },
        { "[rule a]\naction = download\ninvalid_rcpts =\n", "a", "invalid_rcpts" },
        { "[rule a]\naction = download\nmatch = some\n", "a", "match" },
        { "[rule a]\naction = download\nenabled = perhaps\n", "a", "enabled" },
        { "[rule a]\naction = download\nheader:Bad Name = x\n", "a", "header:Bad Name" },
        { "[rule a]\naction = download\nheader: = x\n", "a", "header:" },
        { "[rule a]\naction = download\ncolour = red\n", "a", "colour" },
        /* Repeats GKeyFile would merge. */
        { "[rule a]\naction = download\nheader:Subject = x\nheader:Subject = y\n", "a",
          "header:Subject" },
        { "[rule a]\naction = download\naction = ignore\n", "a", "action" },
        { "[rule a]\naction = download\n[rule b]\naction = ignore\n[rule a]\nsize = 1\n", "a",
          NULL },
        /* The second rule's error names the second rule. */
        { "[rule good]\naction = ignore\n[rule bad one]\naction = nope\n", "bad one", "action" },
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(GError) error = NULL;
        g_autoptr(CollectorRules) rules =
            collector_rules_parse(cases[i].text, strlen(cases[i].text), FILE_NAME, &error);
        g_test_message("%u: %s", i, cases[i].text);
        g_assert_null(rules);
        g_assert_nonnull(error);
        g_assert_true(error->domain == COLLECTOR_RULES_ERROR);
        g_test_message("  %s", error->message);
        g_assert_true(g_str_has_prefix(error->message, FILE_NAME ": "));
        if (cases[i].rule != NULL) {
            g_autofree char *quoted = g_strdup_printf("“%s”", cases[i].rule);
            g_assert_nonnull(strstr(error->message, quoted));
        }
        if (cases[i].key != NULL) {
            g_autofree char *quoted = g_strdup_printf("key “%s”", cases[i].key);
            g_assert_nonnull(strstr(error->message, quoted));
        }
    }
}

static void
test_load(void)
{
    g_autoptr(GError) error = NULL;
    g_autofree char *dir = g_dir_make_tmp("collector-rules-XXXXXX", &error);
    g_assert_no_error(error);
    g_autofree char *missing = g_build_filename(dir, "missing.conf", NULL);
    g_autofree char *path = g_build_filename(dir, "download-rules.conf", NULL);

    g_assert_null(collector_rules_load(missing, &error));
    g_assert_error(error, G_FILE_ERROR, G_FILE_ERROR_NOENT);
    g_clear_error(&error);

    g_assert_true(g_file_set_contents(path, "[rule x]\nactio = ignore\n", -1, &error));
    g_assert_null(collector_rules_load(path, &error));
    g_assert_error(error, COLLECTOR_RULES_ERROR, COLLECTOR_RULES_ERROR_INVALID);
    /* The error names the file as given. */
    g_assert_true(g_str_has_prefix(error->message, path));
    g_clear_error(&error);

    g_assert_true(g_file_set_contents(path, "# nothing yet\n", -1, &error));
    g_autoptr(CollectorRules) empty = collector_rules_load(path, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(collector_rules_count(empty), ==, 0);
    g_assert_false(collector_rules_need_recipients(empty));

    g_assert_cmpint(g_unlink(path), ==, 0);
    g_assert_cmpint(g_rmdir(dir), ==, 0);

    /* Empty data. */
    g_autoptr(CollectorRules) none = collector_rules_parse(NULL, 0, FILE_NAME, &error);
    g_assert_no_error(error);
    g_assert_cmpuint(collector_rules_count(none), ==, 0);
}

/* ---- actions ---- */

static void
test_actions(void)
{
    static const struct {
        const char *name;
        CollectorRuleAction action;
        gboolean target;
        CollectorRuleEffects effects;
    } cases[] = {
        { "download", COLLECTOR_RULE_DOWNLOAD, FALSE,
          COLLECTOR_RULE_FX_DOWNLOAD | COLLECTOR_RULE_FX_DELIVER_RCPTS },
        { "ignore", COLLECTOR_RULE_IGNORE, FALSE, COLLECTOR_RULE_FX_LEAVE },
        { "silently-delete", COLLECTOR_RULE_SILENTLY_DELETE, FALSE, COLLECTOR_RULE_FX_DELETE },
        { "download-and-delete", COLLECTOR_RULE_DOWNLOAD_AND_DELETE, FALSE,
          COLLECTOR_RULE_FX_DOWNLOAD | COLLECTOR_RULE_FX_DELIVER_RCPTS | COLLECTOR_RULE_FX_DELETE },
        { "delete-and-warn", COLLECTOR_RULE_DELETE_AND_WARN, FALSE,
          COLLECTOR_RULE_FX_DELETE | COLLECTOR_RULE_FX_WARN_RCPTS },
        { "redirect", COLLECTOR_RULE_REDIRECT, TRUE,
          COLLECTOR_RULE_FX_DOWNLOAD | COLLECTOR_RULE_FX_DELIVER_TARGET },
        { "copy", COLLECTOR_RULE_COPY, TRUE,
          COLLECTOR_RULE_FX_DOWNLOAD | COLLECTOR_RULE_FX_DELIVER_RCPTS |
              COLLECTOR_RULE_FX_DELIVER_TARGET },
        { "query", COLLECTOR_RULE_QUERY, FALSE, COLLECTOR_RULE_FX_QUERY_RCPTS },
        { "query-and-copy", COLLECTOR_RULE_QUERY_AND_COPY, TRUE,
          COLLECTOR_RULE_FX_QUERY_RCPTS | COLLECTOR_RULE_FX_QUERY_TARGET },
        { "query-and-redirect", COLLECTOR_RULE_QUERY_AND_REDIRECT, TRUE,
          COLLECTOR_RULE_FX_QUERY_TARGET },
        { "download-copy-and-delete", COLLECTOR_RULE_DOWNLOAD_COPY_AND_DELETE, TRUE,
          COLLECTOR_RULE_FX_DOWNLOAD | COLLECTOR_RULE_FX_DELIVER_RCPTS |
              COLLECTOR_RULE_FX_DELIVER_TARGET | COLLECTOR_RULE_FX_DELETE },
        { "download-redirect-and-delete", COLLECTOR_RULE_DOWNLOAD_REDIRECT_AND_DELETE, TRUE,
          COLLECTOR_RULE_FX_DOWNLOAD | COLLECTOR_RULE_FX_DELIVER_TARGET |
              COLLECTOR_RULE_FX_DELETE },
    };
    CollectorMessageSummary msg = { 0 };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *upper = g_ascii_strup(cases[i].name, -1);
        g_autofree char *text =
            g_strdup_printf("[rule r%u]\naction = %s\n%s", i, upper,
                            cases[i].target ? "target = boss@example.com\n" : "");
        g_autoptr(CollectorRules) rules = parse_ok(text);
        const CollectorRule *rule = collector_rules_evaluate(rules, &msg);
        g_autofree char *name = g_strdup_printf("r%u", i);

        g_test_message("%u: %s", i, cases[i].name);
        g_assert_nonnull(rule);
        g_assert_cmpstr(collector_rule_get_name(rule), ==, name);
        g_assert_cmpint(collector_rule_get_action(rule), ==, cases[i].action);
        g_assert_cmpstr(collector_rule_get_target(rule), ==,
                        cases[i].target ? "boss@example.com" : NULL);
        g_assert_cmpstr(collector_rule_action_name(cases[i].action), ==, cases[i].name);
        g_assert_cmpint(collector_rule_action_effects(cases[i].action), ==, cases[i].effects);
    }
}

/* ---- conditions ---- */

#define HEADERS                                                                                    \
    "From: Spammer <sales@spam.example>\r\n"                                                       \
    "To: fred@example.com\r\n"                                                                     \
    "Subject: =?UTF-8?B?R3LDtsOfZSDigJMgY2hlYXAgcGlsbHM=?=\r\n"                                    \
    "X-Spam-Flag: YES\r\n"                                                                         \
    "X-Spam-Score: 7.5\r\n"                                                                        \
    "Received: from a by b; Sun, 7 Jan 2024\r\n"                                                   \
    "Received: from c\r\n by d for <fred@example.com>; Sun, 7 Jan 2024\r\n"                        \
    "X-Empty:\r\n"                                                                                 \
    "List-Id: Project News\r\n"                                                                    \
    "\t<news.lists.example.org>\r\n"

typedef struct {
    const char *conditions;
    gboolean match;
} CondCase;

/* 2024-01-07 is a Sunday. */
static GDateTime *
at(int day, int hour, int minute)
{
    return g_date_time_new_utc(2024, 1, day, hour, minute, 0);
}

static void
run_conditions(const CondCase *cases, guint n, const CollectorMessageSummary *msg)
{
    for (guint i = 0; i < n; i++) {
        g_autofree char *text =
            g_strdup_printf("[rule c]\n%s\naction = ignore\n", cases[i].conditions);
        g_autoptr(CollectorRules) rules = parse_ok(text);
        g_test_message("%u: %s", i, cases[i].conditions);
        g_assert_cmpint(collector_rules_evaluate(rules, msg) != NULL, ==, cases[i].match);
    }
}

static void
test_header_conditions(void)
{
    static const CondCase cases[] = {
        /* Without wildcards: a substring, any case. */
        { "header:X-Spam-Flag = YES", TRUE },
        { "header:X-Spam-Flag = yes", TRUE },
        { "header:x-spam-flag = ye", TRUE },
        { "header:X-Spam-Flag = NO", FALSE },
        { "header:From = spam.example", TRUE },
        /* With wildcards: the whole value. */
        { "header:X-Spam-Score = 7.*", TRUE },
        { "header:X-Spam-Score = 7.?", TRUE },
        { "header:X-Spam-Score = 7", TRUE },
        { "header:X-Spam-Score = 7*5", TRUE },
        { "header:X-Spam-Score = ?", FALSE },
        { "header:From = *<sales@*>", TRUE },
        { "header:From = sales@*", FALSE },
        /* Any occurrence of the field. */
        { "header:Received = *for <fred@example.com>*", TRUE },
        { "header:Received = from a*", TRUE },
        /* Unfolded values. */
        { "header:List-Id = Project News <news.lists.example.org>", TRUE },
        { "header:List-Id = *News <news*", TRUE },
        /* Encoded words decoded: "Größe – cheap pills". */
        { "header:Subject = cheap pills", TRUE },
        { "header:Subject = GRÖSSE*", TRUE },
        { "header:Subject = *pills", TRUE },
        { "header:Subject = R3LDtsOf", TRUE },
        { "header:Subject = expensive", FALSE },
        /* Empty pattern: the field is present. */
        { "header:X-Empty =", TRUE },
        { "header:X-Spam-Flag =", TRUE },
        { "header:X-Missing =", FALSE },
        { "header:X-Missing = *", FALSE },
        /* Backslashes are literal, not key-file escapes. */
        { "header:From = \\d", FALSE },
    };
    g_autoptr(CollectorHeaders) headers = collector_headers_parse(HEADERS, strlen(HEADERS));
    CollectorMessageSummary msg = { .headers = headers };

    run_conditions(cases, G_N_ELEMENTS(cases), &msg);

    /* No headers fetched: header conditions fail. */
    static const CondCase none[] = { { "header:X-Spam-Flag =", FALSE },
                                     { "header:To = *", FALSE } };
    CollectorMessageSummary bare = { 0 };
    run_conditions(none, G_N_ELEMENTS(none), &bare);
}

static void
test_size_collector_conditions(void)
{
    static const CondCase cases[] = {
        { "size = 500000", TRUE },     { "size = 500001", FALSE }, { "size = >=500000", TRUE },
        { "size = 488K", TRUE },       { "size = 489k", FALSE },   { "size = 488 KB", TRUE },
        { "size = 1M", FALSE },        { "size = 1G", FALSE },     { "size = 0", TRUE },
        { "collector = 3", TRUE },     { "collector = 0", FALSE }, { "collector = 0;3", TRUE },
        { "collector = 1, 2", FALSE },
    };
    CollectorMessageSummary msg = { .size = 500000, .collector_id = 3 };

    run_conditions(cases, G_N_ELEMENTS(cases), &msg);
}

static void
test_time_conditions(void)
{
    static const struct {
        const char *condition;
        int day, hour, minute;
        gboolean match;
    } cases[] = {
        { "time = 09:00-17:00", 8, 9, 0, TRUE },
        { "time = 09:00-17:00", 8, 17, 0, TRUE },
        { "time = 09:00-17:00", 8, 17, 1, FALSE },
        { "time = 09:00-17:00", 8, 8, 59, FALSE },
        { "time = 9:00-17:00", 8, 12, 0, TRUE },
        { "time = 09:00 - 17:00", 8, 12, 0, TRUE },
        /* Wrapping midnight. */
        { "time = 22:00-06:00", 8, 23, 30, TRUE },
        { "time = 22:00-06:00", 8, 0, 0, TRUE },
        { "time = 22:00-06:00", 8, 6, 0, TRUE },
        { "time = 22:00-06:00", 8, 6, 1, FALSE },
        { "time = 22:00-06:00", 8, 12, 0, FALSE },
        { "time = 22:00-06:00", 8, 21, 59, FALSE },
        /* Several windows; the whole day; one minute. */
        { "time = 08:00-09:00;12:00-13:00", 8, 12, 30, TRUE },
        { "time = 08:00-09:00;12:00-13:00", 8, 10, 0, FALSE },
        { "time = 00:00-24:00", 8, 23, 59, TRUE },
        { "time = 12:00-12:00", 8, 12, 0, TRUE },
        { "time = 12:00-12:00", 8, 12, 1, FALSE },
        /* Days: 1 = Sunday (7 January 2024) ... 7 = Saturday (13 January). */
        { "day = 1", 7, 12, 0, TRUE },
        { "day = 1", 8, 12, 0, FALSE },
        { "day = 2", 8, 12, 0, TRUE },
        { "day = 7", 13, 12, 0, TRUE },
        { "day = 7", 7, 12, 0, FALSE },
        { "day = 1;7", 13, 12, 0, TRUE },
        { "day = 1, 7", 7, 12, 0, TRUE },
        { "day = 1;7", 10, 12, 0, FALSE },
        { "day = 2-6", 10, 12, 0, TRUE },
        { "day = 2-6", 13, 12, 0, FALSE },
        /* A range wrapping the week: Friday to Monday. */
        { "day = 6-2", 7, 12, 0, TRUE },
        { "day = 6-2", 12, 12, 0, TRUE },
        { "day = 6-2", 10, 12, 0, FALSE },
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *text =
            g_strdup_printf("[rule t]\n%s\naction = ignore\n", cases[i].condition);
        g_autoptr(CollectorRules) rules = parse_ok(text);
        g_autoptr(GDateTime) now = at(cases[i].day, cases[i].hour, cases[i].minute);
        CollectorMessageSummary msg = { .now = now };
        g_test_message("%u: %s on %d at %02d:%02d", i, cases[i].condition, cases[i].day,
                       cases[i].hour, cases[i].minute);
        g_assert_cmpint(collector_rules_evaluate(rules, &msg) != NULL, ==, cases[i].match);
    }

    /* Without a clock, time and day conditions fail. */
    static const CondCase none[] = { { "time = 00:00-24:00", FALSE }, { "day = 1-7", FALSE } };
    CollectorMessageSummary bare = { 0 };
    run_conditions(none, G_N_ELEMENTS(none), &bare);
}

static void
test_recipient_conditions(void)
{
    static const CollectorRuleRecipient mixed[] = { { "Fred@example.com", TRUE },
                                                    { "nobody@example.com", FALSE } };
    static const CollectorRuleRecipient valid[] = { { "ann@example.com", TRUE } };
    static const CollectorRuleRecipient invalid[] = { { "ghost@example.com", FALSE } };
    static const CondCase mixed_cases[] = {
        { "recipient = fred", TRUE },
        { "recipient = FRED@EXAMPLE.COM", TRUE },
        { "recipient = fre", FALSE },
        { "recipient = f*", TRUE },
        { "recipient = *@example.com", TRUE },
        { "recipient = ann;bob", FALSE },
        { "recipient = ann; nobody", TRUE },
        { "recipient = ann@other.com fred@example.com", TRUE },
        { "valid_rcpts = yes", TRUE },
        { "valid_rcpts = no", FALSE },
        { "invalid_rcpts = yes", TRUE },
        { "invalid_rcpts = no", FALSE },
    };
    static const CondCase valid_cases[] = {
        { "valid_rcpts = yes", TRUE },
        { "valid_rcpts = no", FALSE },
        { "invalid_rcpts = true", FALSE },
        { "invalid_rcpts = false", TRUE },
    };
    static const CondCase invalid_cases[] = {
        { "valid_rcpts = yes", FALSE },  { "valid_rcpts = no", TRUE },
        { "invalid_rcpts = yes", TRUE }, { "invalid_rcpts = no", FALSE },
        { "recipient = ghost", TRUE },
    };
    /* Nobody routed: no valid recipient, and no invalid one either. */
    static const CondCase nobody_cases[] = {
        { "valid_rcpts = yes", FALSE },   { "valid_rcpts = no", TRUE },
        { "invalid_rcpts = yes", FALSE }, { "invalid_rcpts = no", TRUE },
        { "recipient = *", FALSE },
    };
    CollectorMessageSummary msg = { .recipients = mixed, .n_recipients = G_N_ELEMENTS(mixed) };

    run_conditions(mixed_cases, G_N_ELEMENTS(mixed_cases), &msg);
    msg.recipients = valid;
    msg.n_recipients = G_N_ELEMENTS(valid);
    run_conditions(valid_cases, G_N_ELEMENTS(valid_cases), &msg);
    msg.recipients = invalid;
    msg.n_recipients = G_N_ELEMENTS(invalid);
    run_conditions(invalid_cases, G_N_ELEMENTS(invalid_cases), &msg);
    msg.recipients = NULL;
    msg.n_recipients = 0;
    run_conditions(nobody_cases, G_N_ELEMENTS(nobody_cases), &msg);
}

static void
test_all_any(void)
{
    static const CondCase cases[] = {
        /* No conditions: always. */
        { "", TRUE },
        { "match = any", TRUE },
        { "match = all", TRUE },
        /* all: every one. */
        { "size = 100\ncollector = 1", TRUE },
        { "size = 100\ncollector = 2", FALSE },
        { "size = 1000\ncollector = 1", FALSE },
        { "match = all\nsize = 100\nheader:X-Spam-Flag = yes\ncollector = 1", TRUE },
        /* any: one is enough. */
        { "match = any\nsize = 100\ncollector = 2", TRUE },
        { "match = ANY\nsize = 1000\ncollector = 1", TRUE },
        { "match = any\nsize = 1000\ncollector = 2", FALSE },
        { "match = any\nsize = 1000\nheader:X-Spam-Flag = no\ncollector = 2", FALSE },
        /* Disabled rules never match. */
        { "enabled = no", FALSE },
        { "enabled = yes", TRUE },
    };
    g_autoptr(CollectorHeaders) headers =
        collector_headers_parse("X-Spam-Flag: YES\r\n", strlen("X-Spam-Flag: YES\r\n"));
    CollectorMessageSummary msg = { .headers = headers, .size = 500, .collector_id = 1 };

    run_conditions(cases, G_N_ELEMENTS(cases), &msg);
}

static void
test_order(void)
{
    static const char text[] = "# first match wins\n"
                               "[rule off]\nenabled = no\naction = silently-delete\n"
                               "[rule big]\nsize = 1M\naction = query\n"
                               "[rule spam]\nheader:X-Spam-Flag = yes\naction = delete-and-warn\n"
                               "[rule spam-big]\nsize = 1M\nheader:X-Spam-Flag = yes\n"
                               "action = silently-delete\n"
                               "[rule night]\ntime = 22:00-06:00\naction = ignore\n";
    static const struct {
        guint64 size;
        gboolean spam;
        int hour;
        const char *rule;
    } cases[] = {
        { 100, FALSE, 12, NULL },
        { 2 << 20, FALSE, 12, "big" },
        /* "big" comes first, so "spam-big" is never reached. */
        { 2 << 20, TRUE, 12, "big" },
        { 100, TRUE, 12, "spam" },
        { 100, TRUE, 23, "spam" },
        { 100, FALSE, 23, "night" },
    };
    g_autoptr(CollectorRules) rules = parse_ok(text);

    g_assert_cmpuint(collector_rules_count(rules), ==, 5);
    g_assert_false(collector_rules_need_recipients(rules));
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        const char *h = cases[i].spam ? "X-Spam-Flag: YES\r\n" : "X-Spam-Flag: NO\r\n";
        g_autoptr(CollectorHeaders) headers = collector_headers_parse(h, strlen(h));
        g_autoptr(GDateTime) now = at(8, cases[i].hour, 0);
        CollectorMessageSummary msg = { .headers = headers, .size = cases[i].size, .now = now };
        const CollectorRule *rule = collector_rules_evaluate(rules, &msg);
        g_test_message("%u", i);
        g_assert_cmpstr(rule != NULL ? collector_rule_get_name(rule) : NULL, ==, cases[i].rule);
    }
    g_assert_null(collector_rules_evaluate(NULL, &(CollectorMessageSummary){ 0 }));
}

static void
test_need_recipients(void)
{
    static const struct {
        const char *text;
        gboolean need;
    } cases[] = {
        { "[rule a]\naction = ignore\n", FALSE },
        { "[rule a]\nsize = 1\nheader:To = x\naction = ignore\n", FALSE },
        { "[rule a]\naction = ignore\n[rule b]\nrecipient = x\naction = ignore\n", TRUE },
        { "[rule a]\nvalid_rcpts = no\naction = ignore\n", TRUE },
        { "[rule a]\ninvalid_rcpts = yes\naction = ignore\n", TRUE },
    };

    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(CollectorRules) rules = parse_ok(cases[i].text);
        g_assert_cmpint(collector_rules_need_recipients(rules), ==, cases[i].need);
    }
}

/* The example in the administrator's guide: the first ```ini block after
 * the line naming download-rules.conf. It must parse and do what the
 * guide says. */
static void
test_guide_example(void)
{
    g_autofree char *path = g_test_build_filename(G_TEST_DIST, "..", "doc", "admin-guide.md", NULL);
    g_autofree char *guide = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_true(g_file_get_contents(path, &guide, NULL, &error));
    g_assert_no_error(error);
    const char *marker = strstr(guide, "Example `download-rules.conf`");
    g_assert_nonnull(marker);
    const char *start = strstr(marker, "```ini\n");
    g_assert_nonnull(start);
    start += strlen("```ini\n");
    const char *end = strstr(start, "```");
    g_assert_nonnull(end);
    g_autoptr(CollectorRules) rules =
        collector_rules_parse(start, (gsize)(end - start), "admin-guide.md", &error);
    g_assert_no_error(error);
    g_assert_cmpuint(collector_rules_count(rules), >=, 5);

    static const struct {
        const char *headers;
        guint64 size;
        int day, hour;
        gint64 collector;
        gboolean valid;
        const char *rule;
    } cases[] = {
        /* An ordinary message on a Monday at noon: downloaded. */
        { "Subject: hello\r\n", 4000, 8, 12, 0, TRUE, NULL },
        { "Subject: hello\r\nX-Spam-Flag: YES\r\n", 4000, 8, 12, 0, TRUE, "spam" },
        { "Subject: =?UTF-8?Q?WIN_a_prize?=\r\n", 4000, 8, 12, 0, TRUE, "prizes" },
        { "Subject: hello\r\n", 20 << 20, 8, 12, 0, TRUE, "huge" },
        { "Subject: hello\r\n", 4000, 8, 12, 0, FALSE, "nobody-here" },
        { "Subject: invoice\r\nFrom: billing@supplier.example\r\n", 4000, 8, 12, 0, TRUE,
          "invoices" },
        /* Collector 1's big mail in office hours (Monday noon), not at night or on Sunday. */
        { "Subject: hello\r\n", 2 << 20, 8, 12, 1, TRUE, "office-hours" },
        { "Subject: hello\r\n", 2 << 20, 8, 23, 1, TRUE, NULL },
        { "Subject: hello\r\n", 2 << 20, 7, 12, 1, TRUE, NULL },
        { "Subject: hello\r\n", 2 << 20, 8, 12, 0, TRUE, NULL },
    };
    for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autoptr(CollectorHeaders) headers =
            collector_headers_parse(cases[i].headers, strlen(cases[i].headers));
        g_autoptr(GDateTime) now = at(cases[i].day, cases[i].hour, 0);
        CollectorRuleRecipient rcpt = { "fred@example.com", cases[i].valid };
        CollectorMessageSummary msg = { headers, cases[i].size, now, &rcpt, 1, cases[i].collector };
        const CollectorRule *rule = collector_rules_evaluate(rules, &msg);
        g_test_message("%u", i);
        g_assert_cmpstr(rule != NULL ? collector_rule_get_name(rule) : NULL, ==, cases[i].rule);
    }
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/collector/rules/errors", test_errors);
    g_test_add_func("/collector/rules/load", test_load);
    g_test_add_func("/collector/rules/actions", test_actions);
    g_test_add_func("/collector/rules/header", test_header_conditions);
    g_test_add_func("/collector/rules/size-collector", test_size_collector_conditions);
    g_test_add_func("/collector/rules/time-day", test_time_conditions);
    g_test_add_func("/collector/rules/recipients", test_recipient_conditions);
    g_test_add_func("/collector/rules/all-any", test_all_any);
    g_test_add_func("/collector/rules/order", test_order);
    g_test_add_func("/collector/rules/need-recipients", test_need_recipients);
    g_test_add_func("/collector/rules/guide-example", test_guide_example);
    return g_test_run();
}
