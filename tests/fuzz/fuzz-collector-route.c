/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Routing of collected mail and the header reading under it
 * (modules/collector/collector-route.c, collector-headers.c), plus the
 * download rules' header conditions (collector-rules.c) over the same
 * fields. Input: one byte choosing the collector's routing options, then
 * the header section as an ISP's server sent it. Whatever it holds, the
 * fields are well formed, every recipient is a normalised address in an
 * accepted domain, none appears twice, and everything stays bounded. */
#include "postroom-config.h"

#include <string.h>

#include "collector-headers.h"
#include "collector-route.h"
#include "collector-rules.h"
#include "fuzz.h"

/* accepted_domains is the same in every set, so that the check below
 * holds for all. */
#define ACCEPTED "example.com;*.example.org;vip@other.net;ex?mple.net"
static const char *const option_sets[] = {
    "",
    "envelope_header=X-Original-To",
    "envelope_header=Delivered-To",
    "envelope_header=X-Recipient: acc * delivered",
    "envelope_header=X-Rcpt: ~for <*>~",
    "envelope_header=To: * ~",
    "envelope_header=Received: ~ for *;~",
    "envelope_header=X-Env: ~*~",
};

static const char rules_text[] = "[rule a]\nheader:Subject = *win*prize*\naction = ignore\n"
                                 "[rule b]\nmatch = any\nheader:X-Spam-Flag = yes\n"
                                 "header:From = *@*.example\naction = query\n"
                                 "[rule c]\nheader:To = ?*@example.com\nsize = 10\n"
                                 "action = redirect\ntarget = admin\n"
                                 "[rule d]\nheader:Received =\naction = copy\ntarget = x\n";

static CollectorRules *rules;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_make_warnings_fatal();
    g_autoptr(GError) error = NULL;
    rules = collector_rules_parse(rules_text, strlen(rules_text), "fuzz", &error);
    FUZZ_CHECK(rules != NULL);
    return 0;
}

static gboolean
is_accepted(const char *address)
{
    g_autofree char *lower = g_ascii_strdown(address, -1);
    const char *domain = strrchr(lower, '@');

    FUZZ_CHECK(domain != NULL);
    domain++;
    return strcmp(domain, "example.com") == 0 || g_str_has_suffix(domain, ".example.org") ||
           strcmp(lower, "vip@other.net") == 0 ||
           (strlen(domain) == 11 && strncmp(domain, "ex", 2) == 0 &&
            strcmp(domain + 3, "mple.net") == 0);
}

static void
check_address(const char *address)
{
    FUZZ_CHECK(address != NULL);
    FUZZ_CHECK(g_utf8_validate(address, -1, NULL));
    g_autofree char *again = collector_address_normalize(address);
    FUZZ_CHECK(again != NULL && strcmp(again, address) == 0);
    const char *domain = strrchr(address, '@') + 1;
    for (const char *p = domain; *p != '\0'; p++)
        FUZZ_CHECK(!g_ascii_isupper(*p));
}

static void
check_headers(const CollectorHeaders *h)
{
    FUZZ_CHECK(h->fields->len <= COLLECTOR_HEADERS_MAX_FIELDS);
    for (guint i = 0; i < h->fields->len; i++) {
        const CollectorHeader *f = h->fields->pdata[i];
        FUZZ_CHECK(collector_header_name_valid(f->name, -1));
        FUZZ_CHECK(strlen(f->value) <= COLLECTOR_HEADER_MAX_VALUE);
        FUZZ_CHECK(strpbrk(f->value, "\r\n") == NULL);
        FUZZ_CHECK(f->value[0] == '\0' || (!g_ascii_isspace(f->value[0]) &&
                                           !g_ascii_isspace(f->value[strlen(f->value) - 1])));
        /* Only the first fields: each costs a few passes over its value. */
        if (i >= 50)
            continue;
        g_autofree char *decoded = collector_header_decode(f->value);
        FUZZ_CHECK(g_utf8_validate(decoded, -1, NULL));
        guint bad = 0;
        g_autoptr(GPtrArray) list = collector_address_list_parse(f->value, &bad);
        for (guint k = 0; k < list->len; k++)
            check_address(list->pdata[k]);
        g_autoptr(GPtrArray) fors = collector_received_for_parse(f->value);
        for (guint k = 0; k < fors->len; k++)
            check_address(fors->pdata[k]);
        FUZZ_CHECK(collector_wildcard_match("*", f->value));
        if (strpbrk(f->value, "*?") == NULL && g_utf8_validate(f->value, -1, NULL))
            FUZZ_CHECK(collector_wildcard_match(f->value, f->value));
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 256 * 1024)
        return 0;
    const char *set = option_sets[data[0] % G_N_ELEMENTS(option_sets)];
    g_autofree char *spec =
        g_strdup_printf("routing=headers\naccepted_domains=" ACCEPTED "\n%s", set);
    g_autoptr(GHashTable) options = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    g_auto(GStrv) lines = g_strsplit(spec, "\n", -1);
    for (guint i = 0; lines[i] != NULL; i++) {
        char *eq = strchr(lines[i], '=');
        if (eq != NULL)
            g_hash_table_insert(options, g_strndup(lines[i], (gsize)(eq - lines[i])),
                                g_strdup(eq + 1));
    }
    g_autoptr(GError) error = NULL;
    g_autoptr(CollectorRouteConfig) cfg = collector_route_config_new(options, &error);
    FUZZ_CHECK(cfg != NULL);

    g_autoptr(CollectorHeaders) h = collector_headers_parse((const char *)data + 1, size - 1);
    check_headers(h);

    g_autoptr(CollectorRoute) route = collector_route_message(cfg, h);
    FUZZ_CHECK(route->recipients->len <= COLLECTOR_ROUTE_MAX_RECIPIENTS);
    FUZZ_CHECK(route->rejected->len <= COLLECTOR_ROUTE_MAX_REJECTED);
    FUZZ_CHECK(!route->truncated || route->recipients->len == COLLECTOR_ROUTE_MAX_RECIPIENTS);
    g_autoptr(GHashTable) seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint pass = 0; pass < 2; pass++) {
        GPtrArray *list = pass == 0 ? route->recipients : route->rejected;
        for (guint i = 0; i < list->len; i++) {
            const CollectorRecipient *r = list->pdata[i];
            check_address(r->address);
            FUZZ_CHECK(is_accepted(r->address) == (pass == 0));
            FUZZ_CHECK(r->source != NULL && *r->source != '\0');
            /* Each address once, in either list. */
            FUZZ_CHECK(g_hash_table_add(seen, g_ascii_strdown(r->address, -1)));
            if (route->from_envelope) {
                const char *name = set + strlen("envelope_header=");
                gsize n = strcspn(name, ":");
                FUZZ_CHECK(strlen(r->source) == n && strncmp(r->source, name, n) == 0);
            }
        }
    }
    if (route->from_envelope)
        FUZZ_CHECK(set[0] != '\0');

    g_autoptr(GDateTime) now = g_date_time_new_utc(2024, 1, 7, 12, 0, 0);
    CollectorRuleRecipient rcpt = { "fred@example.com", TRUE };
    CollectorMessageSummary msg = { h, size, now, &rcpt, 1, 0 };
    const CollectorRule *rule = collector_rules_evaluate(rules, &msg);
    /* "d" matches whenever a Received field exists; the last rule. */
    if (collector_headers_lookup(h, "Received") != NULL)
        FUZZ_CHECK(rule != NULL);
    return 0;
}
