/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Access rules: each input line is one rule item. Whatever parses is
 * checked against a few addresses, with invariants that hold for any rule
 * list: a mapped IPv6 address gets its IPv4 verdict, and an empty list
 * allows everything. */
#include "config.h"

#include <string.h>

#include "access.h"
#include "fuzz.h"

static const char *const probes[][2] = {
    /* IPv4 form, IPv4-mapped IPv6 form */
    { "127.0.0.1", "::ffff:127.0.0.1" },     { "10.1.2.3", "::ffff:10.1.2.3" },
    { "0.0.0.0", "::ffff:0.0.0.0" },         { "255.255.255.255", "::ffff:255.255.255.255" },
    { "192.168.1.1", "::ffff:192.168.1.1" },
};
static const char *const v6_probes[] = { "::1", "::", "2001:db8::1", "fe80::1",
                                         "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_make_warnings_fatal();
    return 0;
}

static AccessVerdict
check(AccessRules *rules, const char *ip)
{
    g_autoptr(GInetAddress) addr = g_inet_address_new_from_string(ip);
    FUZZ_CHECK(addr != NULL);
    AccessVerdict v = access_rules_check(rules, addr);
    FUZZ_CHECK(v == ACCESS_DENIED || v == ACCESS_ALLOWED || v == ACCESS_ALLOWED_NOAUTH);
    return v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    /* data may be NULL when size is 0. */
    g_autofree char *text = size > 0 ? g_strndup((const char *)data, size) : g_strdup("");
    g_auto(GStrv) items = g_strsplit(text, "\n", 64);
    g_autoptr(GError) error = NULL;
    g_autoptr(AccessRules) rules = access_rules_parse(items, &error);

    if (rules == NULL) {
        FUZZ_CHECK(error != NULL);
        FUZZ_CHECK(g_error_matches(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT));
        return 0;
    }
    FUZZ_CHECK(error == NULL);
    for (guint i = 0; i < G_N_ELEMENTS(probes); i++) {
        AccessVerdict v4 = check(rules, probes[i][0]);
        AccessVerdict mapped = check(rules, probes[i][1]);
        FUZZ_CHECK(v4 == mapped);
        if (items[0] == NULL)
            FUZZ_CHECK(v4 == ACCESS_ALLOWED);
    }
    for (guint i = 0; i < G_N_ELEMENTS(v6_probes); i++)
        (void)check(rules, v6_probes[i]);
    return 0;
}
