/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The answers of the libresolv path of sender-dns.c, taken apart by
 * sender-dns-answer.c: pure functions over a DNS message, so that the
 * fuzzer (tests/fuzz/fuzz-dns-answer.c) can drive them on their own.
 * Private to the sender module. */

#include <arpa/nameser.h>

#include "sender.h"

G_BEGIN_DECLS

typedef struct {
    guint16 pref;
    char name[NS_MAXDNAME];
} SenderMxRecord;

/* RFC 7505: a single MX of preference 0 naming the root. */
gboolean sender_dns_is_null_mx(const char *host, guint16 pref, guint count);
/* Appends a SenderMxRecord to @mx for every MX record in the answer
 * section of the @len bytes at @answer, in the order of the answer. */
void sender_dns_answer_mx(const guchar *answer, int len, GArray *mx);
/* Appends a GInetAddress to @addresses for every record of @type (ns_t_a
 * or ns_t_aaaa) in the answer section, whatever name owns it, so that a
 * CNAME chain the server followed is followed here too. */
void sender_dns_answer_addresses(const guchar *answer, int len, int type, GPtrArray *addresses);

G_END_DECLS
