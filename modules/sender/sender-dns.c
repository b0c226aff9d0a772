/* SPDX-License-Identifier: GPL-3.0-or-later */

/* Where mail for a domain goes (RFC 5321 §5.1): its MX hosts by
 * preference, or the domain's own addresses when it has no MX, and nowhere
 * when it publishes a null MX (RFC 7505) or does not exist.
 *
 * With the system's resolvers this is GResolver, asynchronous. GResolver
 * cannot be told which servers to ask, so with [sender] dns_servers the
 * lookups use glibc's resolver on a private state (res_ninit, then our
 * servers and ports in nsaddr_list) in a worker thread: those calls block. */

#include "postroom-config.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <string.h>

#include "sender-dns.h"

G_DEFINE_QUARK(postroom - sender - dns - error, sender_dns_error)

typedef struct {
    char *domain;
    guint16 port;
    GPtrArray *servers; /* GInetSocketAddress* (custom servers) */
    GList *mx;          /* GVariant (qs), GResolver path */
} Lookup;

static void
lookup_free(Lookup *l)
{
    g_free(l->domain);
    g_clear_pointer(&l->servers, g_ptr_array_unref);
    g_list_free_full(l->mx, (GDestroyNotify)g_variant_unref);
    g_free(l);
}

static GPtrArray *
targets_new(void)
{
    return g_ptr_array_new_with_free_func((GDestroyNotify)sender_target_free);
}

static gint
mx_compare(gconstpointer a, gconstpointer b)
{
    guint16 pa, pb;

    g_variant_get((GVariant *)a, "(q&s)", &pa, NULL);
    g_variant_get((GVariant *)b, "(q&s)", &pb, NULL);
    return (gint)pa - (gint)pb;
}

/* ---- GResolver ------------------------------------------------------------ */

static void
by_name_done(GObject *source, GAsyncResult *result, gpointer data)
{
    g_autoptr(GTask) task = data;
    Lookup *l = g_task_get_task_data(task);
    g_autoptr(GError) error = NULL;
    GList *addresses = g_resolver_lookup_by_name_finish(G_RESOLVER(source), result, &error);

    if (addresses == NULL) {
        if (g_error_matches(error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND))
            g_task_return_new_error(task, SENDER_DNS_ERROR, SENDER_DNS_ERROR_NOT_FOUND,
                                    "no MX and no address for %s", l->domain);
        else
            g_task_return_new_error(task, SENDER_DNS_ERROR, SENDER_DNS_ERROR_TEMPORARY,
                                    "cannot look up %s: %s", l->domain, error->message);
        return;
    }
    GPtrArray *targets = targets_new();
    for (GList *a = addresses; a != NULL; a = a->next)
        g_ptr_array_add(targets, sender_target_new(l->domain, l->port, a->data));
    g_resolver_free_addresses(addresses);
    g_task_return_pointer(task, targets, (GDestroyNotify)g_ptr_array_unref);
}

static void
mx_done(GObject *source, GAsyncResult *result, gpointer data)
{
    g_autoptr(GTask) task = data;
    Lookup *l = g_task_get_task_data(task);
    g_autoptr(GError) error = NULL;
    GResolver *resolver = G_RESOLVER(source);

    l->mx = g_resolver_lookup_records_finish(resolver, result, &error);
    if (l->mx == NULL) {
        /* GResolver does not tell "no such domain" from "no MX": the
         * address lookup that follows does. */
        if (g_error_matches(error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND)) {
            g_resolver_lookup_by_name_async(resolver, l->domain, g_task_get_cancellable(task),
                                            by_name_done, g_object_ref(task));
            return;
        }
        g_task_return_new_error(task, SENDER_DNS_ERROR, SENDER_DNS_ERROR_TEMPORARY,
                                "cannot look up the MX of %s: %s", l->domain, error->message);
        return;
    }
    l->mx = g_list_sort(l->mx, mx_compare);
    GPtrArray *targets = targets_new();
    guint count = g_list_length(l->mx);
    for (GList *m = l->mx; m != NULL; m = m->next) {
        guint16 pref;
        const char *host;
        g_variant_get(m->data, "(q&s)", &pref, &host);
        if (sender_dns_is_null_mx(host, pref, count)) {
            g_ptr_array_unref(targets);
            g_task_return_new_error(task, SENDER_DNS_ERROR, SENDER_DNS_ERROR_NULL_MX,
                                    "%s accepts no mail (null MX)", l->domain);
            return;
        }
        g_ptr_array_add(targets, sender_target_new(host, l->port, NULL));
    }
    g_task_return_pointer(task, targets, (GDestroyNotify)g_ptr_array_unref);
}

/* ---- libresolv with our own servers --------------------------------------- */

typedef enum {
    Q_OK,
    Q_NXDOMAIN,
    Q_NODATA,
    Q_TEMPORARY,
} QueryStatus;

static QueryStatus
query(res_state st, const char *name, int type, guchar *answer, int size, int *len)
{
    *len = res_nquery(st, name, ns_c_in, type, answer, size);
    if (*len >= 0) {
        /* An answer that did not fit was cut to @size (with TC set), but
         * glibc still returns its whole length: never parse past @size. */
        *len = MIN(*len, size);
        return Q_OK;
    }
    switch (st->res_h_errno) {
    case HOST_NOT_FOUND:
        return Q_NXDOMAIN;
    case NO_DATA:
        return Q_NODATA;
    default:
        return Q_TEMPORARY;
    }
}

/* Every address record of @type in the answer, whatever name owns it, so
 * that a CNAME chain the server followed is followed here too. */
static void
add_addresses(res_state st, const char *name, int type, guint16 port, GPtrArray *targets,
              gboolean *temporary)
{
    guchar answer[NS_PACKETSZ * 4];
    int len;
    QueryStatus status = query(st, name, type, answer, sizeof answer, &len);

    if (status == Q_TEMPORARY)
        *temporary = TRUE;
    if (status != Q_OK)
        return;
    g_autoptr(GPtrArray) addresses = g_ptr_array_new_with_free_func(g_object_unref);
    sender_dns_answer_addresses(answer, len, type, addresses);
    for (guint i = 0; i < addresses->len; i++)
        g_ptr_array_add(targets, sender_target_new(name, port, addresses->pdata[i]));
}

static gint
mx_record_compare(gconstpointer a, gconstpointer b)
{
    return (gint)((const SenderMxRecord *)a)->pref - (gint)((const SenderMxRecord *)b)->pref;
}

static void
resolve_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
    Lookup *l = data;
    struct __res_state st;
    guchar answer[NS_PACKETSZ * 4];
    int len;
    gboolean temporary = FALSE;
    g_autoptr(GArray) mx = g_array_new(FALSE, TRUE, sizeof(SenderMxRecord));
    g_autoptr(GPtrArray) targets = targets_new();

    memset(&st, 0, sizeof st);
    if (res_ninit(&st) != 0) {
        g_task_return_new_error(task, SENDER_DNS_ERROR, SENDER_DNS_ERROR_TEMPORARY,
                                "cannot initialise the resolver");
        return;
    }
    st.nscount = 0;
    for (guint i = 0; i < l->servers->len && i < MAXNS; i++) {
        struct sockaddr_in sin;
        if (g_socket_address_to_native(l->servers->pdata[i], &sin, sizeof sin, NULL))
            st.nsaddr_list[st.nscount++] = sin;
    }
    /* The domain is complete: no search list, no local domain appended. */
    st.options &= ~(RES_DNSRCH | RES_DEFNAMES);

    switch (query(&st, l->domain, ns_t_mx, answer, sizeof answer, &len)) {
    case Q_NXDOMAIN:
        res_nclose(&st);
        g_task_return_new_error(task, SENDER_DNS_ERROR, SENDER_DNS_ERROR_NOT_FOUND,
                                "%s does not exist", l->domain);
        return;
    case Q_TEMPORARY:
        res_nclose(&st);
        g_task_return_new_error(task, SENDER_DNS_ERROR, SENDER_DNS_ERROR_TEMPORARY,
                                "cannot look up the MX of %s", l->domain);
        return;
    case Q_NODATA:
        break; /* no MX: the domain's own addresses (RFC 5321 §5.1) */
    case Q_OK:
        sender_dns_answer_mx(answer, len, mx);
        break;
    }
    if (mx->len > 0) {
        SenderMxRecord *first = &g_array_index(mx, SenderMxRecord, 0);
        if (sender_dns_is_null_mx(first->name, first->pref, mx->len)) {
            res_nclose(&st);
            g_task_return_new_error(task, SENDER_DNS_ERROR, SENDER_DNS_ERROR_NULL_MX,
                                    "%s accepts no mail (null MX)", l->domain);
            return;
        }
        g_array_sort(mx, mx_record_compare);
        for (guint i = 0; i < mx->len && !g_cancellable_is_cancelled(cancellable); i++) {
            const char *host = g_array_index(mx, SenderMxRecord, i).name;
            add_addresses(&st, host, ns_t_a, l->port, targets, &temporary);
            add_addresses(&st, host, ns_t_aaaa, l->port, targets, &temporary);
        }
    } else {
        add_addresses(&st, l->domain, ns_t_a, l->port, targets, &temporary);
        add_addresses(&st, l->domain, ns_t_aaaa, l->port, targets, &temporary);
    }
    res_nclose(&st);
    if (targets->len == 0) {
        /* No MX answered with an address: temporary unless the domain has
         * neither MX nor address records and the server said so. */
        g_task_return_new_error(task, SENDER_DNS_ERROR,
                                mx->len == 0 && !temporary ? SENDER_DNS_ERROR_NOT_FOUND
                                                           : SENDER_DNS_ERROR_TEMPORARY,
                                "no address for the mail servers of %s", l->domain);
        return;
    }
    g_task_return_pointer(task, g_steal_pointer(&targets), (GDestroyNotify)g_ptr_array_unref);
}

/* Finds the hosts for @domain, in the order to try them, each with
 * [sender] mx_port. */
void
sender_dns_lookup_async(const SenderConfig *config, const char *domain, GCancellable *cancellable,
                        GAsyncReadyCallback callback, gpointer user_data)
{
    GTask *task = g_task_new(NULL, cancellable, callback, user_data);
    Lookup *l = g_new0(Lookup, 1);

    l->domain = g_strdup(domain);
    l->port = config->mx_port;
    g_task_set_task_data(task, l, (GDestroyNotify)lookup_free);
    g_task_set_source_tag(task, sender_dns_lookup_async);
    if (config->dns_servers->len > 0) {
        l->servers = g_ptr_array_ref(config->dns_servers);
        g_task_run_in_thread(task, resolve_thread);
        g_object_unref(task);
        return;
    }
    g_autoptr(GResolver) resolver = g_resolver_get_default();
    g_resolver_lookup_records_async(resolver, domain, G_RESOLVER_RECORD_MX, cancellable, mx_done,
                                    task);
}

/* Returns: (transfer full): SenderTarget*, never empty; NULL with @error
 * in SENDER_DNS_ERROR. */
GPtrArray *
sender_dns_lookup_finish(GAsyncResult *result, GError **error)
{
    return g_task_propagate_pointer(G_TASK(result), error);
}
