/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "access.h"

#include <glib/gi18n-lib.h>

typedef struct {
    gboolean allow;
    gboolean noauth;
    GInetAddressMask *mask; /* NULL matches any address */
} AccessRule;

struct _AccessRules {
    GArray *rules; /* AccessRule */
};

static void
access_rule_clear(AccessRule *rule)
{
    g_clear_object(&rule->mask);
}

void
access_rules_free(AccessRules *rules)
{
    if (rules == NULL)
        return;
    g_array_unref(rules->rules);
    g_free(rules);
}

/* "ADDRESS" or "ADDRESS/PREFIX". The prefix is checked here: GLib would
 * answer an out-of-range length with a GObject warning, not an error. */
static GInetAddressMask *
parse_range(const char *text)
{
    g_auto(GStrv) parts = g_strsplit(text, "/", 2);
    g_autoptr(GInetAddress) address = g_inet_address_new_from_string(parts[0]);
    if (address == NULL)
        return NULL;
    guint64 bits = g_inet_address_get_native_size(address) * 8;
    guint64 length = bits;
    if (parts[1] != NULL && !g_ascii_string_to_unsigned(parts[1], 10, 0, bits, &length, NULL))
        return NULL;
    return g_inet_address_mask_new(address, (guint)length, NULL);
}

AccessRules *
access_rules_parse(char **items, GError **error)
{
    g_autoptr(AccessRules) rules = g_new0(AccessRules, 1);
    rules->rules = g_array_new(FALSE, TRUE, sizeof(AccessRule));
    g_array_set_clear_func(rules->rules, (GDestroyNotify)access_rule_clear);

    for (int i = 0; items != NULL && items[i] != NULL; i++) {
        g_auto(GStrv) words = g_strsplit_set(items[i], " \t", -1);
        g_autoptr(GStrvBuilder) b = g_strv_builder_new();
        for (int w = 0; words[w] != NULL; w++) {
            if (*words[w] != '\0')
                g_strv_builder_add(b, words[w]);
        }
        g_auto(GStrv) tok = g_strv_builder_end(b);
        guint n = g_strv_length(tok);
        AccessRule rule = { 0 };

        if (n < 2 || n > 3 || (n == 3 && g_ascii_strcasecmp(tok[2], "noauth") != 0) ||
            (g_ascii_strcasecmp(tok[0], "allow") != 0 && g_ascii_strcasecmp(tok[0], "deny") != 0)) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        _("invalid access rule “%s”: expected “allow|deny ADDRESS[/PREFIX]|any "
                          "[noauth]”"),
                        items[i]);
            return NULL;
        }
        rule.allow = g_ascii_strcasecmp(tok[0], "allow") == 0;
        rule.noauth = n == 3;
        if (rule.noauth && !rule.allow) {
            g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                        _("invalid access rule “%s”: noauth only makes sense with allow"),
                        items[i]);
            return NULL;
        }
        if (g_ascii_strcasecmp(tok[1], "any") != 0) {
            rule.mask = parse_range(tok[1]);
            if (rule.mask == NULL) {
                g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                            _("invalid access rule “%s”: “%s” is not an address or "
                              "ADDRESS/PREFIX range"),
                            items[i], tok[1]);
                return NULL;
            }
        }
        g_array_append_val(rules->rules, rule);
    }
    return g_steal_pointer(&rules);
}

GInetAddress *
access_normalize_address(GInetAddress *address)
{
    if (g_inet_address_get_family(address) == G_SOCKET_FAMILY_IPV6) {
        const guint8 *b = g_inet_address_to_bytes(address);
        static const guint8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
        if (memcmp(b, mapped, sizeof mapped) == 0)
            return g_inet_address_new_from_bytes(b + 12, G_SOCKET_FAMILY_IPV4);
    }
    return g_object_ref(address);
}

AccessVerdict
access_rules_check(const AccessRules *rules, GInetAddress *address)
{
    if (rules == NULL || rules->rules->len == 0)
        return ACCESS_ALLOWED;

    g_autoptr(GInetAddress) addr = access_normalize_address(address);
    for (guint i = 0; i < rules->rules->len; i++) {
        const AccessRule *rule = &g_array_index(rules->rules, AccessRule, i);
        if (rule->mask != NULL && !g_inet_address_mask_matches(rule->mask, addr))
            continue;
        if (!rule->allow)
            return ACCESS_DENIED;
        return rule->noauth ? ACCESS_ALLOWED_NOAUTH : ACCESS_ALLOWED;
    }
    return ACCESS_DENIED;
}
