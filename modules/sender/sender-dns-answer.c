/* SPDX-License-Identifier: GPL-3.0-or-later */

/* The MX and address records of a DNS answer (RFC 1035 §4), walked with
 * libresolv's ns_initparse and ns_parserr. No I/O: sender-dns.c asks. */

#include "postroom-config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <resolv.h>
#include <string.h>

#include "sender-dns.h"

gboolean
sender_dns_is_null_mx(const char *host, guint16 pref, guint count)
{
    return count == 1 && pref == 0 && (host[0] == '\0' || strcmp(host, ".") == 0);
}

void
sender_dns_answer_mx(const guchar *answer, int len, GArray *mx)
{
    ns_msg msg;

    if (ns_initparse(answer, len, &msg) < 0)
        return;
    for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
        ns_rr rr;
        SenderMxRecord rec = { 0 };
        if (ns_parserr(&msg, ns_s_an, i, &rr) < 0 || ns_rr_type(rr) != ns_t_mx ||
            ns_rr_rdlen(rr) < 3)
            continue;
        rec.pref = ns_get16(ns_rr_rdata(rr));
        if (ns_name_uncompress(ns_msg_base(msg), ns_msg_end(msg), ns_rr_rdata(rr) + 2, rec.name,
                               sizeof rec.name) < 0)
            continue;
        g_array_append_val(mx, rec);
    }
}

void
sender_dns_answer_addresses(const guchar *answer, int len, int type, GPtrArray *addresses)
{
    ns_msg msg;

    if (ns_initparse(answer, len, &msg) < 0)
        return;
    for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
        ns_rr rr;
        GInetAddress *address = NULL;

        if (ns_parserr(&msg, ns_s_an, i, &rr) < 0 || (int)ns_rr_type(rr) != type)
            continue;
        if (type == ns_t_a && ns_rr_rdlen(rr) == 4)
            address = g_inet_address_new_from_bytes(ns_rr_rdata(rr), G_SOCKET_FAMILY_IPV4);
        else if (type == ns_t_aaaa && ns_rr_rdlen(rr) == 16)
            address = g_inet_address_new_from_bytes(ns_rr_rdata(rr), G_SOCKET_FAMILY_IPV6);
        if (address != NULL)
            g_ptr_array_add(addresses, address);
    }
}
