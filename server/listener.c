/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "listener.h"

#include <glib/gi18n-lib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "access.h"
#include "connection.h"
#include "module-loader.h"

typedef struct {
    PrHost *host;
    Service *service;
    char *text; /* as configured, for messages */
    gboolean tls;
    GSocket *socket;
    GSocketService *accepting;
} ListenAddress;

static void
listen_address_free(ListenAddress *la)
{
    if (la->accepting != NULL) {
        g_socket_service_stop(la->accepting);
        g_socket_listener_close(G_SOCKET_LISTENER(la->accepting));
        g_object_unref(la->accepting);
    }
    g_clear_object(&la->socket);
    g_free(la->text);
    g_free(la);
}

static void
service_free(Service *service)
{
    g_ptr_array_unref(service->addresses);
    access_rules_free(service->rules);
    g_hash_table_unref(service->conns_per_ip);
    g_free(service->name);
    g_free(service);
}

/* "ADDRESS:PORT[/tls]", with IPv6 in brackets. */
static gboolean
parse_listen(const char *text, GSocketAddress **address, gboolean *tls, GError **error)
{
    g_autofree char *spec = g_strdup(text);
    char *slash = strrchr(spec, '/');
    *tls = FALSE;
    if (slash != NULL) {
        if (g_ascii_strcasecmp(slash + 1, "tls") != 0)
            goto bad;
        *tls = TRUE;
        *slash = '\0';
    }
    char *colon = strrchr(spec, ':');
    if (colon == NULL)
        goto bad;
    *colon = '\0';
    guint64 port = 0;
    if (!g_ascii_string_to_unsigned(colon + 1, 10, 1, 65535, &port, NULL))
        goto bad;
    char *host = spec;
    if (*host == '[') {
        gsize len = strlen(host);
        if (len < 3 || host[len - 1] != ']')
            goto bad;
        host[len - 1] = '\0';
        host++;
    }
    *address = g_inet_socket_address_new_from_string(host, (guint)port);
    if (*address != NULL)
        return TRUE;
bad:
    g_set_error(error, PR_CONFIG_ERROR, PR_CONFIG_ERROR_INVALID,
                _("invalid listen address “%s”: use ADDRESS:PORT, [IPV6-ADDRESS]:PORT, or "
                  "either followed by /tls"),
                text);
    return FALSE;
}

static GSocket *
bind_socket(GSocketAddress *address, GError **error)
{
    GSocketFamily family = g_socket_address_get_family(address);
    g_autoptr(GSocket) sock =
        g_socket_new(family, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, error);
    if (sock == NULL)
        return NULL;
    /* "[::]" means IPv6 only; list 0.0.0.0 as well for IPv4, so the two
     * never race for the same port. */
    if (family == G_SOCKET_FAMILY_IPV6 &&
        !g_socket_set_option(sock, IPPROTO_IPV6, IPV6_V6ONLY, 1, error))
        return NULL;
    g_socket_set_listen_backlog(sock, 511);
    if (!g_socket_bind(sock, address, TRUE, error) || !g_socket_listen(sock, error))
        return NULL;
    return g_steal_pointer(&sock);
}

static Service *
service_new(const char *name)
{
    Service *service = g_new0(Service, 1);
    service->name = g_strdup(name);
    service->addresses = g_ptr_array_new_with_free_func((GDestroyNotify)listen_address_free);
    service->conns_per_ip = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    return service;
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC(Service, service_free)

static gboolean
service_configure(Service *service, Config *config, GError **error)
{
    g_auto(GStrv) items = config_get_strv(config, service->name, "access");
    g_autoptr(GError) local = NULL;
    AccessRules *rules = access_rules_parse(items, &local);
    if (rules == NULL) {
        g_set_error(error, PR_CONFIG_ERROR, PR_CONFIG_ERROR_INVALID, "%s: [%s] access: %s",
                    config_get_path(config), service->name, local->message);
        return FALSE;
    }
    access_rules_free(service->rules);
    service->rules = rules;
    service->max_connections = config_get_int(config, service->name, "max_connections");
    service->max_connections_per_ip =
        config_get_int(config, service->name, "max_connections_per_ip");
    service->idle_timeout = config_get_int(config, service->name, "idle_timeout");
    service->require_tls_for_auth = config_get_bool(config, service->name, "require_tls_for_auth");
    return TRUE;
}

static gboolean
host_configure(PrHost *host, Config *config, GError **error)
{
    g_auto(GStrv) items = config_get_strv(config, "access", "rules");
    g_autoptr(GError) local = NULL;
    AccessRules *rules = access_rules_parse(items, &local);
    if (rules == NULL) {
        g_set_error(error, PR_CONFIG_ERROR, PR_CONFIG_ERROR_INVALID, "%s: [access] rules: %s",
                    config_get_path(config), local->message);
        return FALSE;
    }
    access_rules_free(host->global_rules);
    host->global_rules = rules;
    host->max_connections = config_get_int(config, "server", "max_connections");
    host->max_connections_per_ip = config_get_int(config, "server", "max_connections_per_ip");
    return TRUE;
}

/* "listen=none": a module's service the administrator does not want (a
 * module with several services, such as smtp's submission port). Saying
 * so explicitly keeps a forgotten listen= an error. */
static gboolean
service_not_served(char **listen)
{
    return listen[0] != NULL && listen[1] == NULL && g_ascii_strcasecmp(listen[0], "none") == 0;
}

gboolean
listeners_check(Config *config, GPtrArray *modules, gboolean tls_configured, GError **error)
{
    g_auto(GStrv) global = config_get_strv(config, "access", "rules");
    g_autoptr(GError) local = NULL;
    g_autoptr(AccessRules) rules = access_rules_parse(global, &local);
    if (rules == NULL) {
        g_set_error(error, PR_CONFIG_ERROR, PR_CONFIG_ERROR_INVALID, "%s: [access] rules: %s",
                    config_get_path(config), local->message);
        return FALSE;
    }
    for (guint m = 0; m < modules->len; m++) {
        PrModule *module = modules->pdata[m];
        for (int s = 0; module->desc->services != NULL && module->desc->services[s]; s++) {
            const char *name = module->desc->services[s];
            g_autoptr(Service) service = service_new(name);
            if (!service_configure(service, config, error))
                return FALSE; /* names the file already */
            if (service->require_tls_for_auth && !tls_configured) {
                g_set_error(error, PR_CONFIG_ERROR, PR_CONFIG_ERROR_INVALID,
                            _("[%s] require_tls_for_auth=true needs [tls] certificate= and "
                              "key="),
                            name);
                goto fail;
            }
            g_auto(GStrv) listen = config_get_strv(config, name, "listen");
            if (listen[0] == NULL) {
                g_set_error(error, PR_CONFIG_ERROR, PR_CONFIG_ERROR_INVALID,
                            _("service %s (module %s) has no listen= addresses; add for "
                              "example “listen=0.0.0.0:PORT” to [%s], or “listen=none” not "
                              "to serve it"),
                            name, module->name, name);
                goto fail;
            }
            for (int i = 0; !service_not_served(listen) && listen[i] != NULL; i++) {
                g_autoptr(GSocketAddress) address = NULL;
                gboolean tls;
                if (!parse_listen(listen[i], &address, &tls, error))
                    goto fail;
                if (tls && !tls_configured) {
                    g_set_error(error, PR_CONFIG_ERROR, PR_CONFIG_ERROR_INVALID,
                                _("[%s] listen=%s asks for TLS, but [tls] certificate= and "
                                  "key= are not set"),
                                name, listen[i]);
                    goto fail;
                }
            }
        }
    }
    return TRUE;

fail:
    /* Like every configuration error: name the file first. */
    g_prefix_error(error, "%s: ", config_get_path(config));
    return FALSE;
}

gboolean
listeners_bind(PrHost *host, GPtrArray *modules, GError **error)
{
    if (!listeners_check(host->config, modules, host->tls != NULL, error) ||
        !host_configure(host, host->config, error))
        return FALSE;
    for (guint m = 0; m < modules->len; m++) {
        PrModule *module = modules->pdata[m];
        for (int s = 0; module->desc->services != NULL && module->desc->services[s]; s++) {
            Service *service = service_new(module->desc->services[s]);
            g_ptr_array_add(host->services_listening, service);
            service_configure(service, host->config, NULL);

            g_auto(GStrv) listen = config_get_strv(host->config, service->name, "listen");
            for (int i = 0; !service_not_served(listen) && listen[i] != NULL; i++) {
                g_autoptr(GSocketAddress) address = NULL;
                g_autoptr(GError) local = NULL;
                gboolean tls;
                parse_listen(listen[i], &address, &tls, NULL);
                GSocket *sock = bind_socket(address, &local);
                if (sock == NULL) {
                    g_set_error(error, G_IO_ERROR, local->code,
                                _("cannot listen on %s for service %s: %s"), listen[i],
                                service->name, local->message);
                    return FALSE;
                }
                ListenAddress *la = g_new0(ListenAddress, 1);
                la->host = host;
                la->service = service;
                la->text = g_strdup(listen[i]);
                la->tls = tls;
                la->socket = sock;
                g_ptr_array_add(service->addresses, la);
            }
        }
    }
    return TRUE;
}

static guint
count_for(GHashTable *table, const char *ip)
{
    return GPOINTER_TO_UINT(g_hash_table_lookup(table, ip));
}

static void
count_add(GHashTable *table, const char *ip, int delta)
{
    guint n = count_for(table, ip) + delta;
    if (n == 0)
        g_hash_table_remove(table, ip);
    else
        g_hash_table_insert(table, g_strdup(ip), GUINT_TO_POINTER(n));
}

void
service_connection_opened(PrHost *host, Service *service, const char *ip)
{
    host->n_connections++;
    service->n_connections++;
    count_add(host->conns_per_ip, ip, 1);
    count_add(service->conns_per_ip, ip, 1);
}

void
service_connection_closed(PrHost *host, Service *service, const char *ip)
{
    host->n_connections--;
    service->n_connections--;
    count_add(host->conns_per_ip, ip, -1);
    count_add(service->conns_per_ip, ip, -1);
}

static gboolean
incoming_cb(GSocketService *accepting, GSocketConnection *socket, GObject *source, gpointer data)
{
    ListenAddress *la = data;
    Service *service = la->service;
    PrHost *host = la->host;

    if (host->stopping || service->protocol == NULL)
        return TRUE; /* dropping our reference closes it */

    g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address(socket, NULL);
    if (remote == NULL || !G_IS_INET_SOCKET_ADDRESS(remote))
        return TRUE;
    g_autoptr(GInetAddress) address =
        access_normalize_address(g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(remote)));
    g_autofree char *ip = g_inet_address_to_string(address);

    /* Replies are small and sent at once: Nagle would only delay them. */
    g_socket_set_option(g_socket_connection_get_socket(socket), IPPROTO_TCP, TCP_NODELAY, 1, NULL);

    AccessVerdict global = access_rules_check(host->global_rules, address);
    AccessVerdict local = access_rules_check(service->rules, address);
    PrHostReply refusal = PR_REPLY_LAST;
    if (global == ACCESS_DENIED || local == ACCESS_DENIED) {
        pr_log_security("ACCESS_DENIED", "%s: connection from %s denied by the %s access rules",
                        service->name, ip, global == ACCESS_DENIED ? "global" : "service");
        refusal = PR_REPLY_ACCESS_DENIED;
    } else if (host->n_connections >= host->max_connections ||
               (service->max_connections > 0 &&
                service->n_connections >= service->max_connections)) {
        g_warning("%s: connection from %s refused: too many connections", service->name, ip);
        refusal = PR_REPLY_TOO_MANY_CONNECTIONS;
    } else if (count_for(host->conns_per_ip, ip) >= host->max_connections_per_ip ||
               (service->max_connections_per_ip > 0 &&
                count_for(service->conns_per_ip, ip) >= service->max_connections_per_ip)) {
        g_info("%s: connection from %s refused: too many connections from that address",
               service->name, ip);
        refusal = PR_REPLY_TOO_MANY_FROM_IP;
    }

    if (refusal != PR_REPLY_LAST) {
        /* A TLS client could not read a plaintext reply: just close. */
        if (!la->tls) {
            PrConnection *conn = connection_new(host, service, socket, ip, FALSE, FALSE);
            connection_reject(conn, refusal);
        }
        return TRUE;
    }
    gboolean trusted = global == ACCESS_ALLOWED_NOAUTH || local == ACCESS_ALLOWED_NOAUTH;
    PrConnection *conn = connection_new(host, service, socket, ip, trusted, TRUE);
    g_debug("%s: connection %" G_GUINT64_FORMAT " from %s", service->name,
            pr_connection_get_id(conn), ip);
    connection_start(conn, la->tls);
    return TRUE;
}

/* Connections that close during the check leave the set: walk a copy. */
static GPtrArray *
open_connections(PrHost *host)
{
    GPtrArray *open = g_ptr_array_new_full(g_hash_table_size(host->connections),
                                           (GDestroyNotify)pr_connection_unref);
    GHashTableIter it;
    gpointer conn;
    g_hash_table_iter_init(&it, host->connections);
    while (g_hash_table_iter_next(&it, &conn, NULL))
        g_ptr_array_add(open, pr_connection_ref(conn));
    return open;
}

static gboolean
tick_cb(gpointer data)
{
    PrHost *host = data;
    gint64 now = g_get_monotonic_time();
    g_autoptr(GPtrArray) open = open_connections(host);
    for (guint i = 0; i < open->len; i++)
        connection_check_idle(open->pdata[i], now);
    return G_SOURCE_CONTINUE;
}

gboolean
listeners_start(PrHost *host, GError **error)
{
    host->tick_id = g_timeout_add_seconds(1, tick_cb, host);
    for (guint s = 0; s < host->services_listening->len; s++) {
        Service *service = host->services_listening->pdata[s];
        service->protocol = protocol_lookup(host, service->name);
        if (service->protocol == NULL) {
            g_set_error(error, PR_MODULE_ERROR, PR_MODULE_ERROR_INIT,
                        _("no module registered a protocol for service %s"), service->name);
            return FALSE;
        }
        for (guint a = 0; a < service->addresses->len; a++) {
            ListenAddress *la = service->addresses->pdata[a];
            la->accepting = g_socket_service_new();
            if (!g_socket_listener_add_socket(G_SOCKET_LISTENER(la->accepting), la->socket, NULL,
                                              error))
                return FALSE;
            g_signal_connect(la->accepting, "incoming", G_CALLBACK(incoming_cb), la);
            g_socket_service_start(la->accepting);
            g_message(_("service %s listening on %s"), service->name, la->text);
        }
    }
    return TRUE;
}

void
listeners_stop(PrHost *host)
{
    host->stopping = TRUE;
    for (guint s = 0; s < host->services_listening->len; s++) {
        Service *service = host->services_listening->pdata[s];
        for (guint a = 0; a < service->addresses->len; a++) {
            ListenAddress *la = service->addresses->pdata[a];
            if (la->accepting != NULL)
                g_socket_service_stop(la->accepting);
        }
    }
    g_autoptr(GPtrArray) open = open_connections(host);
    for (guint i = 0; i < open->len; i++)
        connection_shutdown(open->pdata[i]);
}

void
listeners_free(PrHost *host)
{
    g_clear_handle_id(&host->tick_id, g_source_remove);
    for (guint s = 0; s < host->services_listening->len; s++)
        service_free(host->services_listening->pdata[s]);
    g_ptr_array_set_size(host->services_listening, 0);
    g_clear_pointer(&host->global_rules, access_rules_free);
}

gboolean
listeners_reconfigure(PrHost *host, Config *config, GError **error)
{
    /* Validate everything first so a bad reload changes nothing. */
    g_autoptr(GPtrArray) fresh = g_ptr_array_new_with_free_func((GDestroyNotify)service_free);
    for (guint s = 0; s < host->services_listening->len; s++) {
        Service *service = host->services_listening->pdata[s];
        Service *probe = service_new(service->name);
        g_ptr_array_add(fresh, probe);
        if (!service_configure(probe, config, error))
            return FALSE;
    }
    if (!host_configure(host, config, error))
        return FALSE;
    for (guint s = 0; s < host->services_listening->len; s++)
        service_configure(host->services_listening->pdata[s], config, NULL);
    return TRUE;
}
