/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The router decides, once per recipient, where a message goes: local
 * mailboxes and remote addresses. It follows VPOP3's rules (mappings,
 * implicit user match, lists, forwarding, assistants, *REMOTE, fax mailbox,
 * monitoring copies) over a snapshot of the directory, so it does no I/O
 * and every rule can be tested from a table. Every way mail comes in (SMTP,
 * the collector, postroomctl deliver) uses it. */

#include <glib.h>

typedef struct {
    char *name;                 /* login name, lower case */
    char **forward_to;          /* addresses or names; empty = no forwarding */
    gboolean forward_keep_copy; /* forwarding also keeps a local copy */
    char **assistants;          /* local users or addresses receiving copies */
    gboolean assistant_only;    /* "only send to assistant" */
    gboolean in_everyone;       /* member of the built-in everyone list */
    char *full_name;            /* display name, or NULL/"" (EXPN shows it) */
} RouterUser;

typedef enum {
    ROUTER_LIST_DISTRIBUTION,
    ROUTER_LIST_FORWARD,
    ROUTER_LIST_GROUP,
} RouterListKind;

typedef struct {
    char *name;
    RouterListKind kind;
    gboolean local_senders_only; /* refuse mail from outside */
    char **members;              /* users, lists, mapped names or addresses */
} RouterList;

typedef struct {
    char *pattern; /* "name", "name@domain", "~@domain"; * and ? wildcards */
    char *target;  /* user, list, address, or "*REMOTE" */
} RouterMapping;

typedef enum {
    ROUTER_MONITOR_NONE,
    ROUTER_MONITOR_ALL,
    ROUTER_MONITOR_SELECTED,
} RouterMonitorScope;

typedef struct {
    RouterMonitorScope scope;
    char **users;    /* for ROUTER_MONITOR_SELECTED */
    gint64 min_size; /* smaller messages are not copied */
    char *target;    /* user or list receiving the copies */
} RouterMonitor;

/* Everything the router reads: settings and the directory. */
typedef struct {
    char *default_domain;
    char **local_domains;            /* patterns, or full addresses */
    gboolean implicit_user_mapping;  /* user@localdomain -> user */
    gboolean unknown_local_outgoing; /* locally sent mail to unknown local
                                      * addresses goes out to the Internet */
    char *fax_mailbox;               /* user for unmatched local recipients of
                                      * locally sent mail, or NULL */
    int hop_limit;                   /* Received: lines allowed */
    RouterMonitor monitor_incoming, monitor_outgoing, monitor_internal;
    GHashTable *users;   /* name -> RouterUser* */
    GHashTable *lists;   /* name -> RouterList* */
    GPtrArray *mappings; /* RouterMapping*, in admin order */
} RouterData;

RouterData *router_data_new(void);
void router_data_free(RouterData *data);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RouterData, router_data_free)
void router_data_add_user(RouterData *data, RouterUser *user); /* takes ownership */
void router_data_add_list(RouterData *data, RouterList *list); /* takes ownership */
void router_data_add_mapping(RouterData *data, const char *pattern, const char *target);
void router_user_free(RouterUser *user);
void router_list_free(RouterList *list);

/* One message's envelope as the router needs it. */
typedef struct {
    const char *sender;              /* envelope sender, "" for the null sender */
    const char *auth_user;           /* authenticated local user, or NULL */
    gboolean sender_local;           /* sent by a local user (authenticated, or a
                                      * trusted address with a local sender) */
    int received_count;              /* Received: header lines */
    const char *const *delivered_to; /* Delivered-To: headers already present */
    gint64 size;
    gboolean no_implicit_user_mapping; /* this message only: user@localdomain
                                        * reaches user only through a mapping
                                        * (a collector's choice) */
} RouterMessage;

typedef enum {
    ROUTER_OK,            /* at least one delivery */
    ROUTER_UNKNOWN_LOCAL, /* local domain, nobody by that name */
    ROUTER_REFUSED,       /* a list that takes no outside mail */
    ROUTER_LOOP,          /* already delivered to this address (Delivered-To) */
} RouterStatus;

typedef struct {
    char *address; /* as given, normalised */
    RouterStatus status;
    GPtrArray *mailboxes; /* char* user names, no duplicates within a recipient */
    GPtrArray *remote;    /* char* addresses */
    GPtrArray *notes;     /* char*: loops skipped in list nesting and the like */
} RouterResult;

typedef struct {
    GPtrArray *results; /* RouterResult*, one per recipient, in order */
    gboolean too_many_hops;
    /* The whole message: each mailbox and remote address once. */
    GPtrArray *mailboxes;
    GPtrArray *remote;
    GPtrArray *monitor_mailboxes; /* copies with read-receipt requests stripped */
} RouterOutcome;

void router_outcome_free(RouterOutcome *outcome);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RouterOutcome, router_outcome_free)
void router_result_free(RouterResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RouterResult, router_result_free)

/* Normalises an address: a bare name gets the default domain, the domain is
 * lower-cased. Returns NULL for something that is not an address. */
char *router_normalize(const RouterData *data, const char *address);
gboolean router_is_local_domain(const RouterData *data, const char *address);

RouterOutcome *router_route(const RouterData *data, const RouterMessage *message,
                            const char *const *recipients);

/* Questions about the directory rather than a message. Both follow
 * mappings, the implicit user match and nested lists (local-senders-only
 * lists included), but neither forwarding nor assistants: they say who an
 * address names, not where a message would end up. */

/* SMTP's EXPN: the mailboxes (user names) and outside addresses @address
 * stands for. status is ROUTER_UNKNOWN_LOCAL when nobody in a local domain
 * has that name (or it is not an address); an outside address nothing maps
 * comes back as itself in remote. */
RouterResult *router_expand(const RouterData *data, const char *address);

/* VPOP3's "sender guessed from the address": the user whose mailbox @sender
 * (an address in a local domain) reaches, when it reaches exactly one
 * mailbox and nothing else. Catch-all mappings are not followed: they
 * would make every unknown address someone's. NULL when there is none. */
char *router_sender_user(const RouterData *data, const char *sender);
