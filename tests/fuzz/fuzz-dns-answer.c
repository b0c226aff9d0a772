/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The sender's reading of DNS answers (modules/sender/sender-dns-answer.c:
 * MX, A and AAAA records walked with libresolv). The first byte picks the
 * mode. Raw: the rest is the answer as a server sent it; what comes back
 * must be well formed. Built: the rest describes records (type, MX
 * preference and host name, addresses), from which a well-formed answer
 * is built, possibly cut short; exactly those records must come back, in
 * order, and none from a cut answer. */
#include "config.h"

#include <resolv.h>
#include <string.h>

#include "fuzz.h"
#include "sender-dns.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_make_warnings_fatal();
    return 0;
}

static void
check_found(const guchar *answer, int len, GArray *mx, GPtrArray *a, GPtrArray *aaaa)
{
    ns_msg msg;
    int count = ns_initparse(answer, len, &msg) < 0 ? 0 : ns_msg_count(msg, ns_s_an);

    FUZZ_CHECK(mx->len + a->len <= (guint)count && mx->len + aaaa->len <= (guint)count);
    for (guint i = 0; i < mx->len; i++) {
        const SenderMxRecord *rec = &g_array_index(mx, SenderMxRecord, i);
        FUZZ_CHECK(memchr(rec->name, '\0', sizeof rec->name) != NULL);
        /* As sender-dns.c asks with it (the null MX check). */
        sender_dns_is_null_mx(rec->name, rec->pref, mx->len);
    }
    for (guint i = 0; i < a->len; i++)
        FUZZ_CHECK(g_inet_address_get_family(a->pdata[i]) == G_SOCKET_FAMILY_IPV4);
    for (guint i = 0; i < aaaa->len; i++)
        FUZZ_CHECK(g_inet_address_get_family(aaaa->pdata[i]) == G_SOCKET_FAMILY_IPV6);
}

static void
parse_all(const guchar *answer, int len, GArray *mx, GPtrArray *a, GPtrArray *aaaa)
{
    sender_dns_answer_mx(answer, len, mx);
    sender_dns_answer_addresses(answer, len, ns_t_a, a);
    sender_dns_answer_addresses(answer, len, ns_t_aaaa, aaaa);
    check_found(answer, len, mx, a, aaaa);
}

static GPtrArray *
addresses_new(void)
{
    return g_ptr_array_new_with_free_func(g_object_unref);
}

/* ---- built answers --------------------------------------------------------- */

typedef struct {
    const guint8 *p;
    gsize left;
} Reader;

static guint8
take(Reader *r)
{
    if (r->left == 0)
        return 0;
    r->left--;
    return *r->p++;
}

static void
put16(GByteArray *m, guint16 v)
{
    guint8 b[2] = { v >> 8, v & 0xff };
    g_byte_array_append(m, b, 2);
}

static const char qname[] = "\007example\003org";
#define QNAME_OFFSET 12 /* right after the header */

/* A host name of up to three labels from [a-z0-9-], optionally ending in
 * a pointer to the question's name; appends its text form to @text. */
static void
put_name(GByteArray *m, Reader *r, GString *text)
{
    static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789-";
    guint8 shape = take(r);
    guint labels = shape & 3;

    for (guint l = 0; l < labels; l++) {
        guint8 n = (take(r) % 12) + 1;
        g_byte_array_append(m, &n, 1);
        if (text->len > 0)
            g_string_append_c(text, '.');
        for (guint i = 0; i < n; i++) {
            char c = chars[take(r) % (sizeof chars - 1)];
            g_byte_array_append(m, (const guint8 *)&c, 1);
            g_string_append_c(text, c);
        }
    }
    if (shape & 4) {
        put16(m, 0xc000 | QNAME_OFFSET);
        g_string_append(text, text->len > 0 ? ".example.org" : "example.org");
    } else {
        guint8 root = 0;
        g_byte_array_append(m, &root, 1);
        if (text->len == 0)
            g_string_append_c(text, '.');
    }
}

static void
built(const guint8 *data, gsize size)
{
    Reader r = { data, size };
    g_autoptr(GByteArray) m = g_byte_array_new();
    guint8 n_records = take(&r) % 40;
    guint8 cut = take(&r);
    g_autoptr(GPtrArray) want_mx = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(GArray) want_pref = g_array_new(FALSE, FALSE, sizeof(guint16));
    g_autoptr(GByteArray) want_a = g_byte_array_new();
    g_autoptr(GByteArray) want_aaaa = g_byte_array_new();

    /* Header: a response, one question, the records as answers. */
    put16(m, 0x1234);
    put16(m, 0x8180);
    put16(m, 1);
    put16(m, n_records);
    put16(m, 0);
    put16(m, 0);
    g_byte_array_append(m, (const guint8 *)qname, sizeof qname); /* with the root label */
    put16(m, ns_t_mx);
    put16(m, ns_c_in);

    for (guint i = 0; i < n_records; i++) {
        guint8 kind = take(&r) % 5;
        static const guint16 types[] = { ns_t_mx, ns_t_a, ns_t_aaaa, ns_t_cname, ns_t_txt };
        put16(m, 0xc000 | QNAME_OFFSET); /* owner: the question's name */
        put16(m, types[kind]);
        put16(m, ns_c_in);
        put16(m, 0);
        put16(m, 300);
        guint rdlen_at = m->len;
        put16(m, 0);
        if (kind == 0) {
            guint8 hi = take(&r), lo = take(&r);
            guint16 pref = (guint16)(hi << 8 | lo);
            GString *text = g_string_new(NULL);
            put16(m, pref);
            put_name(m, &r, text);
            g_array_append_val(want_pref, pref);
            g_ptr_array_add(want_mx, g_string_free(text, FALSE));
        } else if (kind == 1 || kind == 2) {
            GByteArray *want = kind == 1 ? want_a : want_aaaa;
            for (guint b = 0; b < (kind == 1 ? 4u : 16u); b++) {
                guint8 v = take(&r);
                g_byte_array_append(m, &v, 1);
                g_byte_array_append(want, &v, 1);
            }
        } else if (kind == 3) {
            g_autoptr(GString) ignored = g_string_new(NULL);
            put_name(m, &r, ignored);
        } else {
            guint8 n = take(&r) % 16;
            g_byte_array_append(m, &n, 1);
            for (guint b = 0; b < n; b++) {
                guint8 v = take(&r);
                g_byte_array_append(m, &v, 1);
            }
        }
        guint rdlen = m->len - rdlen_at - 2;
        m->data[rdlen_at] = rdlen >> 8;
        m->data[rdlen_at + 1] = rdlen & 0xff;
    }

    /* Cut short now and then: nothing may come of it. */
    gboolean whole = cut >= 64 || m->len == 0;
    int len = whole ? (int)m->len : (int)(m->len * cut / 64);
    g_autofree guchar *answer = g_malloc(MAX(len, 1));
    memcpy(answer, m->data, (gsize)len);
    g_autoptr(GArray) mx = g_array_new(FALSE, TRUE, sizeof(SenderMxRecord));
    g_autoptr(GPtrArray) a = addresses_new();
    g_autoptr(GPtrArray) aaaa = addresses_new();

    parse_all(answer, len, mx, a, aaaa);
    if (!whole && len < (int)m->len) {
        FUZZ_CHECK(mx->len == 0 && a->len == 0 && aaaa->len == 0);
        return;
    }
    FUZZ_CHECK(mx->len == want_mx->len);
    for (guint i = 0; i < mx->len; i++) {
        const SenderMxRecord *rec = &g_array_index(mx, SenderMxRecord, i);
        FUZZ_CHECK(rec->pref == g_array_index(want_pref, guint16, i));
        if (strcmp(rec->name, want_mx->pdata[i]) != 0)
            g_error("MX %u: read \"%s\", sent \"%s\"", i, rec->name,
                    (const char *)want_mx->pdata[i]);
    }
    FUZZ_CHECK(a->len * 4 == want_a->len && aaaa->len * 16 == want_aaaa->len);
    for (guint i = 0; i < a->len; i++)
        FUZZ_CHECK(memcmp(g_inet_address_to_bytes(a->pdata[i]), want_a->data + i * 4, 4) == 0);
    for (guint i = 0; i < aaaa->len; i++)
        FUZZ_CHECK(memcmp(g_inet_address_to_bytes(aaaa->pdata[i]), want_aaaa->data + i * 16, 16) ==
                   0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* sender-dns.c reads answers of up to NS_PACKETSZ * 4 octets. */
    if (size < 2 || size > 1 + NS_PACKETSZ * 4)
        return 0;
    if (data[0] & 1) {
        built(data + 1, size - 1);
        return 0;
    }
    /* Raw: exactly the answer's octets, so that reads past them show. */
    g_autofree guchar *answer = g_memdup2(data + 1, size - 1);
    g_autoptr(GArray) mx = g_array_new(FALSE, TRUE, sizeof(SenderMxRecord));
    g_autoptr(GPtrArray) a = addresses_new();
    g_autoptr(GPtrArray) aaaa = addresses_new();
    parse_all(answer, (int)(size - 1), mx, a, aaaa);
    return 0;
}
