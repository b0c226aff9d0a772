/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* IP access rules, VPOP3's model: an ordered list of "allow" or "deny"
 * entries, each an address range and an optional "noauth" flag (trusted
 * relays). The first matching entry decides; with no entries everything is
 * allowed; once there are entries, an address that matches none is denied. */

#include <gio/gio.h>

typedef struct _AccessRules AccessRules;

typedef enum {
    ACCESS_DENIED,
    ACCESS_ALLOWED,
    ACCESS_ALLOWED_NOAUTH,
} AccessVerdict;

/* Each item: "allow|deny ADDRESS[/PREFIX]|any [noauth]". The error names the
 * offending item; the caller adds the file and key. */
AccessRules *access_rules_parse(char **items, GError **error);
void access_rules_free(AccessRules *rules);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AccessRules, access_rules_free)

AccessVerdict access_rules_check(const AccessRules *rules, GInetAddress *address);

/* IPv4-mapped IPv6 addresses (::ffff:a.b.c.d, seen on dual-stack sockets)
 * as plain IPv4, so one rule set serves both. Returns a new reference. */
GInetAddress *access_normalize_address(GInetAddress *address);
