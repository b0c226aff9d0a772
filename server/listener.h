/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Listening sockets, owned by the host. Sockets are bound before privileges
 * are dropped and before modules start; connections are accepted once every
 * service has a protocol. Access rules and connection limits are applied
 * here, before a module sees the client. */

#include "host.h"
#include "protocol.h"

typedef struct {
    char *name;              /* the service's config group */
    ProtocolEntry *protocol; /* set by listeners_start() */
    GPtrArray *addresses;    /* ListenAddress* */
    AccessRules *rules;      /* the service's own rules */
    guint max_connections;   /* 0 = server limit only */
    guint max_connections_per_ip;
    guint idle_timeout; /* seconds, 0 = protocol default */
    gboolean require_tls_for_auth;
    guint n_connections;
    GHashTable *conns_per_ip; /* ip -> count */
} Service;

/* Checks the listen= and access= settings of every service of @modules
 * (PrModule*) and the global rules, without binding anything: what
 * `postroomd --check` and `postroomctl config check` report. */
gboolean listeners_check(Config *config, GPtrArray *modules, gboolean tls_configured,
                         GError **error);
/* Binds the listen= addresses of every service of @modules (PrModule*). */
gboolean listeners_bind(PrHost *host, GPtrArray *modules, GError **error);
/* Attaches the protocols registered during init and starts accepting. */
gboolean listeners_start(PrHost *host, GError **error);
/* Stops accepting; open connections are told PR_REPLY_SHUTDOWN and closed. */
void listeners_stop(PrHost *host);
void listeners_free(PrHost *host);
/* Applies reloadable settings (rules, limits, timeouts) from @config. */
gboolean listeners_reconfigure(PrHost *host, Config *config, GError **error);

/* Service limits and access, for the connection code. */
void service_connection_opened(PrHost *host, Service *service, const char *ip);
void service_connection_closed(PrHost *host, Service *service, const char *ip);
