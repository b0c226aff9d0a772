/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Routing of collected mail (VPOP3 section 2.4): who a downloaded message
 * is for. Pure code, no I/O: the options of a collector and the message's
 * header fields in, recipient addresses out; the router (through
 * pr_envelope_add_recipient()) then maps them to users as for any mail.
 *
 * How to call (the collector session):
 *
 *   // once per session, from PrCollector.options:
 *   g_autoptr(GError) error = NULL;
 *   g_autoptr(CollectorRouteConfig) cfg =
 *       collector_route_config_new(collector->options, &error);
 *   if (cfg == NULL)  // a bad option: alert the administrator, end the session
 *
 *   // per message, with its header section (TOP n 0, or the start of RETR):
 *   g_autoptr(CollectorHeaders) headers = collector_headers_parse(data, len);
 *   g_autoptr(CollectorRoute) route = collector_route_message(cfg, headers);
 *   if (route->recipients->len == 0)
 *       // nothing matched: collector_route_config_get_error_choice(cfg, &target)
 *       // says what to do (the six VPOP3 choices)
 *   for (guint i = 0; i < route->recipients->len; i++) {
 *       const CollectorRecipient *r = route->recipients->pdata[i];
 *       pr_envelope_add_recipient(env, r->address, NULL, NULL);
 *       // log r->source ("To", "Received", "X-Original-To", "deliver_to")
 *   }
 *   // route->implicit_mapping: FALSE when implicit_mapping=no; the router
 *   // must then not map user@accepted-domain to the user of that name.
 *
 * Build: compile collector-route.c and collector-headers.c into the module.
 *
 * Options read (names as in `postroomctl collector set`, values strings):
 *   routing          user | address | headers (default user)
 *   deliver_to       routing=user: a local user or list; routing=address: an
 *                    address treated as the envelope recipient
 *   accepted_domains routing=headers: `;`-separated domains or full
 *                    addresses, `*` and `?` wildcards; other addresses in
 *                    the headers are ignored. Required for routing=headers:
 *                    without it any address in a header could make the
 *                    server relay the message out.
 *   envelope_header  routing=headers: a header naming the envelope recipient,
 *                    `X-Original-To` (addresses in it) or a pattern
 *                    `X-Recipient: acc * delivered` (`*` is the address, `~`
 *                    any text, blanks any run of blanks or none). When a message has
 *                    it (with at least one address), it decides alone: To,
 *                    Cc and the rest are not read (they name every recipient
 *                    of the original, so each per-recipient copy the ISP
 *                    stores would reach all of them; Bcc recipients appear
 *                    only here). When a message lacks it, the headers are
 *                    parsed as without the option.
 *   implicit_mapping yes | no (default yes)
 *   route_error      admin-error | admin-message | user-error | user-message |
 *                    bounce | discard (default admin-error)
 *   route_error_to   the user for user-error / user-message (default: deliver_to)
 */

#include <glib.h>

#include "collector-headers.h"

G_BEGIN_DECLS

#define COLLECTOR_ROUTE_ERROR (collector_route_error_quark())
GQuark collector_route_error_quark(void);

typedef enum {
    COLLECTOR_ROUTE_ERROR_OPTION, /* an option's value is invalid or missing */
} CollectorRouteErrorCode;

typedef enum {
    COLLECTOR_ROUTING_USER,
    COLLECTOR_ROUTING_ADDRESS,
    COLLECTOR_ROUTING_HEADERS,
} CollectorRouting;

/* What to do with a message nobody matched (VPOP3's six choices). */
typedef enum {
    COLLECTOR_ROUTE_FAIL_ADMIN_ERROR,   /* error message to the administrator */
    COLLECTOR_ROUTE_FAIL_ADMIN_MESSAGE, /* the message itself to the administrator */
    COLLECTOR_ROUTE_FAIL_USER_ERROR,    /* error message to route_error_to */
    COLLECTOR_ROUTE_FAIL_USER_MESSAGE,  /* the message itself to route_error_to */
    COLLECTOR_ROUTE_FAIL_BOUNCE,        /* bounce to the sender, keep no copy */
    COLLECTOR_ROUTE_FAIL_DISCARD,       /* delete it */
} CollectorRouteFail;

/* Recipients taken from one message at most; a spam with thousands of
 * addresses in To: gets the first ones. */
#define COLLECTOR_ROUTE_MAX_RECIPIENTS 1000
/* Ignored addresses kept for the log. */
#define COLLECTOR_ROUTE_MAX_REJECTED 50

typedef struct _CollectorRouteConfig CollectorRouteConfig;

/* Reads and checks the routing options. NULL with COLLECTOR_ROUTE_ERROR_OPTION
 * (a sentence naming the option) if one is invalid. */
CollectorRouteConfig *collector_route_config_new(GHashTable *options, GError **error);
void collector_route_config_free(CollectorRouteConfig *config);

CollectorRouting collector_route_config_get_routing(const CollectorRouteConfig *config);
/* @target: (out) (optional): the user for the user-* choices, else NULL */
CollectorRouteFail collector_route_config_get_fail(const CollectorRouteConfig *config,
                                                   const char **target);

typedef struct {
    char *address; /* domain in lower case, as given to the router */
    char *source;  /* the header it came from, "deliver_to" for user/address */
} CollectorRecipient;

typedef struct {
    GPtrArray *recipients;     /* CollectorRecipient *, no two alike (any case),
                                * in the order found; empty: nothing matched */
    GPtrArray *rejected;       /* CollectorRecipient *, addresses found but not
                                * accepted (for the log), at most
                                * COLLECTOR_ROUTE_MAX_REJECTED */
    gboolean from_envelope;    /* the envelope header decided */
    gboolean truncated;        /* more than COLLECTOR_ROUTE_MAX_RECIPIENTS */
    gboolean implicit_mapping; /* the option: may user@domain map to a user */
} CollectorRoute;

/* Never fails: a message nobody matched has no recipients. @headers may be
 * NULL (none fetched) for routing=user and routing=address. */
CollectorRoute *collector_route_message(const CollectorRouteConfig *config,
                                        const CollectorHeaders *headers);
void collector_route_free(CollectorRoute *route);

/* The addresses of an address-list header value (To:, Cc: ...): display
 * names, quoted strings, comments, groups, angle brackets, source routes;
 * each checked and with its domain in lower case. Malformed entries are
 * skipped and counted in @n_malformed (optional). Exposed for the tests. */
GPtrArray *collector_address_list_parse(const char *value, guint *n_malformed);
/* The addresses named by "for" in a Received: value. */
GPtrArray *collector_received_for_parse(const char *value);
/* The address a normalised copy of @text is, or NULL if it is none. */
char *collector_address_normalize(const char *text);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(CollectorRouteConfig, collector_route_config_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CollectorRoute, collector_route_free)

G_END_DECLS
