/* SPDX-License-Identifier: GPL-3.0-or-later */
/* IP access rules: parsing, first match, noauth, IPv6 and IPv4-mapped
 * addresses. */
#include "config.h"

#include "access.h"

static AccessRules *
parse_ok(const char *const *items)
{
    g_autoptr(GError) error = NULL;
    AccessRules *rules = access_rules_parse((char **)items, &error);
    g_assert_no_error(error);
    g_assert_nonnull(rules);
    return rules;
}

static AccessVerdict
check(const AccessRules *rules, const char *ip)
{
    g_autoptr(GInetAddress) addr = g_inet_address_new_from_string(ip);
    g_assert_nonnull(addr);
    return access_rules_check(rules, addr);
}

static void
test_parse_errors(void)
{
    static const char *const bad[] = {
        "allow",
        "any",
        "",
        "   ",
        "permit 10.0.0.1",
        "allow 10.0.0.1 noauth extra",
        "allow 10.0.0.1 auth",
        "deny 10.0.0.1 noauth",
        "allow 300.1.1.1",
        "allow 10.0.0.0/33",
        "allow 10.0.0.0/",
        "allow /8",
        "allow 10.0.0.0/8/8",
        "allow localhost",
        "allow anything",
    };

    for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
        /* The bad item after a good one: the error names the bad one. */
        const char *items[] = { "allow 127.0.0.1", bad[i], NULL };
        g_autoptr(GError) error = NULL;
        g_autoptr(AccessRules) rules = access_rules_parse((char **)items, &error);
        g_assert_null(rules);
        g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
        g_test_message("%s", error->message);
        g_autofree char *quoted = g_strdup_printf("“%s”", bad[i]);
        g_assert_nonnull(strstr(error->message, quoted));
    }
}

static void
test_empty_allows_all(void)
{
    static const char *const none[] = { NULL };
    g_autoptr(AccessRules) empty = parse_ok(none);
    g_autoptr(AccessRules) null_list = parse_ok(NULL);

    g_assert_cmpint(check(empty, "10.1.2.3"), ==, ACCESS_ALLOWED);
    g_assert_cmpint(check(empty, "::1"), ==, ACCESS_ALLOWED);
    g_assert_cmpint(check(null_list, "192.0.2.1"), ==, ACCESS_ALLOWED);
    g_assert_cmpint(check(NULL, "192.0.2.1"), ==, ACCESS_ALLOWED);
}

static void
test_first_match(void)
{
    static const char *const items[] = { "deny 10.0.0.5", "allow 10.0.0.0/8", "deny 10.1.0.0/16",
                                         NULL };
    g_autoptr(AccessRules) rules = parse_ok(items);

    g_assert_cmpint(check(rules, "10.0.0.5"), ==, ACCESS_DENIED);
    g_assert_cmpint(check(rules, "10.0.0.6"), ==, ACCESS_ALLOWED);
    /* Matches the allow first; the later deny never applies. */
    g_assert_cmpint(check(rules, "10.1.2.3"), ==, ACCESS_ALLOWED);
    /* Matches nothing: denied once there are rules. */
    g_assert_cmpint(check(rules, "11.0.0.1"), ==, ACCESS_DENIED);
    g_assert_cmpint(check(rules, "::1"), ==, ACCESS_DENIED);
}

static void
test_prefix_edges(void)
{
    static const char *const items[] = { "allow 192.168.1.0/24", "allow 172.16.0.0/12",
                                         "allow 0.0.0.0/32", NULL };
    g_autoptr(AccessRules) rules = parse_ok(items);

    g_assert_cmpint(check(rules, "192.168.1.0"), ==, ACCESS_ALLOWED);
    g_assert_cmpint(check(rules, "192.168.1.255"), ==, ACCESS_ALLOWED);
    g_assert_cmpint(check(rules, "192.168.0.255"), ==, ACCESS_DENIED);
    g_assert_cmpint(check(rules, "192.168.2.0"), ==, ACCESS_DENIED);
    g_assert_cmpint(check(rules, "172.31.255.255"), ==, ACCESS_ALLOWED);
    g_assert_cmpint(check(rules, "172.32.0.0"), ==, ACCESS_DENIED);
    g_assert_cmpint(check(rules, "0.0.0.0"), ==, ACCESS_ALLOWED);
    g_assert_cmpint(check(rules, "0.0.0.1"), ==, ACCESS_DENIED);
}

static void
test_noauth(void)
{
    static const char *const items[] = { "allow 127.0.0.1 noauth", "ALLOW\t10.0.0.0/8   NoAuth",
                                         "Allow 192.0.2.0/24", "DENY any", NULL };
    g_autoptr(AccessRules) rules = parse_ok(items);

    g_assert_cmpint(check(rules, "127.0.0.1"), ==, ACCESS_ALLOWED_NOAUTH);
    g_assert_cmpint(check(rules, "10.9.8.7"), ==, ACCESS_ALLOWED_NOAUTH);
    g_assert_cmpint(check(rules, "192.0.2.77"), ==, ACCESS_ALLOWED);
    g_assert_cmpint(check(rules, "127.0.0.2"), ==, ACCESS_DENIED);
}

static void
test_ipv6(void)
{
    static const char *const items[] = { "deny 2001:db8:1::/48", "allow 2001:db8::/32",
                                         "allow ::1 noauth", "allow fe80::/10", NULL };
    g_autoptr(AccessRules) rules = parse_ok(items);

    g_assert_cmpint(check(rules, "2001:db8:1::1"), ==, ACCESS_DENIED);
    g_assert_cmpint(check(rules, "2001:db8:1:ffff::1"), ==, ACCESS_DENIED);
    g_assert_cmpint(check(rules, "2001:db8:2::1"), ==, ACCESS_ALLOWED);
    g_assert_cmpint(check(rules, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), ==, ACCESS_ALLOWED);
    g_assert_cmpint(check(rules, "2001:db9::1"), ==, ACCESS_DENIED);
    g_assert_cmpint(check(rules, "::1"), ==, ACCESS_ALLOWED_NOAUTH);
    g_assert_cmpint(check(rules, "::2"), ==, ACCESS_DENIED);
    g_assert_cmpint(check(rules, "febf::1"), ==, ACCESS_ALLOWED);
    g_assert_cmpint(check(rules, "fec0::1"), ==, ACCESS_DENIED);
    /* IPv6 rules never match IPv4 clients. */
    g_assert_cmpint(check(rules, "127.0.0.1"), ==, ACCESS_DENIED);
}

static void
test_ipv4_mapped(void)
{
    static const char *const items[] = { "allow 192.168.1.0/24", "allow 127.0.0.1 noauth", NULL };
    g_autoptr(AccessRules) rules = parse_ok(items);

    g_assert_cmpint(check(rules, "::ffff:192.168.1.7"), ==, ACCESS_ALLOWED);
    g_assert_cmpint(check(rules, "::ffff:127.0.0.1"), ==, ACCESS_ALLOWED_NOAUTH);
    g_assert_cmpint(check(rules, "::ffff:192.168.2.7"), ==, ACCESS_DENIED);
    /* IPv4-compatible (deprecated) and NAT64 addresses are not mapped. */
    g_assert_cmpint(check(rules, "::192.168.1.7"), ==, ACCESS_DENIED);
    g_assert_cmpint(check(rules, "64:ff9b::192.168.1.7"), ==, ACCESS_DENIED);

    g_autoptr(GInetAddress) mapped = g_inet_address_new_from_string("::ffff:10.1.2.3");
    g_autoptr(GInetAddress) plain = access_normalize_address(mapped);
    g_assert_cmpint(g_inet_address_get_family(plain), ==, G_SOCKET_FAMILY_IPV4);
    g_autofree char *text = g_inet_address_to_string(plain);
    g_assert_cmpstr(text, ==, "10.1.2.3");

    g_autoptr(GInetAddress) v6 = g_inet_address_new_from_string("2001:db8::1");
    g_autoptr(GInetAddress) same = access_normalize_address(v6);
    g_assert_true(g_inet_address_equal(v6, same));
    g_autoptr(GInetAddress) v4 = g_inet_address_new_from_string("10.0.0.1");
    g_autoptr(GInetAddress) same4 = access_normalize_address(v4);
    g_assert_true(g_inet_address_equal(v4, same4));
}

static void
test_any(void)
{
    static const char *const deny_some[] = { "deny 10.0.0.0/8", "allow any", NULL };
    static const char *const deny_all[] = { "deny ANY", "allow 127.0.0.1", NULL };
    static const char *const trust_all[] = { "allow any noauth", NULL };
    g_autoptr(AccessRules) some = parse_ok(deny_some);
    g_autoptr(AccessRules) none = parse_ok(deny_all);
    g_autoptr(AccessRules) all = parse_ok(trust_all);

    g_assert_cmpint(check(some, "10.1.1.1"), ==, ACCESS_DENIED);
    g_assert_cmpint(check(some, "8.8.8.8"), ==, ACCESS_ALLOWED);
    g_assert_cmpint(check(some, "::1"), ==, ACCESS_ALLOWED);
    g_assert_cmpint(check(some, "::ffff:10.1.1.1"), ==, ACCESS_DENIED);
    g_assert_cmpint(check(none, "127.0.0.1"), ==, ACCESS_DENIED);
    g_assert_cmpint(check(none, "::1"), ==, ACCESS_DENIED);
    g_assert_cmpint(check(all, "203.0.113.9"), ==, ACCESS_ALLOWED_NOAUTH);
    g_assert_cmpint(check(all, "2001:db8::9"), ==, ACCESS_ALLOWED_NOAUTH);
}

/* A prefix longer than the address is an error like any other; GLib's
 * GInetAddressMask only warns about it and would build a /0 mask (0.0.0.0/129
 * would match every IPv4 address). Run in a subprocess: warnings abort tests. */
static void
test_prefix_too_long(void)
{
    static const char *const bad[] = { "allow 0.0.0.0/129", "deny ::/129", "allow ::/4294967296",
                                       "allow 0.0.0.0/-1", NULL };
    if (g_test_subprocess()) {
        for (int i = 0; bad[i] != NULL; i++) {
            const char *items[] = { bad[i], NULL };
            g_autoptr(GError) error = NULL;
            g_autoptr(AccessRules) rules = access_rules_parse((char **)items, &error);
            g_assert_null(rules);
            g_assert_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT);
        }
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
}

int
main(int argc, char **argv)
{
    g_test_init(&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
    g_test_summary("Access rules: allow/deny lists, first match, noauth, IPv6");

    g_test_add_func("/access/parse-errors", test_parse_errors);
    g_test_add_func("/access/empty", test_empty_allows_all);
    g_test_add_func("/access/first-match", test_first_match);
    g_test_add_func("/access/prefix-edges", test_prefix_edges);
    g_test_add_func("/access/noauth", test_noauth);
    g_test_add_func("/access/ipv6", test_ipv6);
    g_test_add_func("/access/ipv4-mapped", test_ipv4_mapped);
    g_test_add_func("/access/any", test_any);
    g_test_add_func("/access/prefix-too-long", test_prefix_too_long);
    return g_test_run();
}
