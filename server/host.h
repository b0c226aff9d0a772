/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The host object behind the opaque PrHost handle modules receive. */

#include <postroom/postroom-plugin.h>
#include "config.h"
#include "auth.h"
#include "store/store.h"

typedef struct _TlsContext TlsContext;
typedef struct _AccessRules AccessRules;

struct _PrHost {
    Config *config;
    char *hostname;
    char *data_dir;
    Store *store;    /* NULL in tools that run without a database */
    TlsContext *tls; /* NULL without a certificate */
    AuthPolicy auth_policy;
    GPtrArray *modules;            /* PrModule*, in init order */
    GHashTable *services;          /* name -> ProvidedService* */
    GHashTable *hooks;             /* hook name -> GPtrArray of HookHandler* (sorted) */
    GHashTable *protocols;         /* service name -> ProtocolEntry* */
    GPtrArray *services_listening; /* Service* (listener.h), one per service group */
    AccessRules *global_rules;     /* [access] rules */
    guint max_connections;         /* [server] limits */
    guint max_connections_per_ip;
    GHashTable *connections;  /* PrConnection* set; holds a reference each */
    GHashTable *conns_per_ip; /* ip text -> count, over all services */
    guint n_connections;
    guint tick_id;                           /* idle timeouts of every connection */
    GHashTable *recent_logins;               /* ip -> monotonic seconds of the last login */
    struct _DeliveryService *delivery;       /* NULL in tools without a store */
    struct _CollectorWatch *collector_watch; /* "run now" polling (collector-api.c) */
    struct _MailboxWatch *mailbox_watch;     /* mailbox-notify.c; NULL when none */
    gint mailbox_watchers;                   /* atomic: mailboxes with a notify */
    GHashTable *mailbox_readers;             /* mailbox-readers.c; NULL when none */
    gboolean stopping;
};

PrHost *host_new(Config *config);
void host_free(PrHost *host);

/* Drops every registration owned by @module (after its deinit). */
void host_forget_module(PrHost *host, PrModule *module);

Store *host_get_store(PrHost *host);

/* The task behind an SDK call that runs a store job: @host as task data,
 * @tag as source tag, and not cancellable once started (what the store
 * recorded must be reported). Returns NULL after failing @callback when no
 * store is configured. */
GTask *host_store_task_new(PrHost *host, GCancellable *cancellable, GAsyncReadyCallback callback,
                           gpointer user_data, gpointer tag);

/* Completing the tasks of host_store_task_new() from store_run_async():
 * host_store_pointer_done() with the job's pointer (owned by the task,
 * freed with @free_func), host_store_boolean_done() as the job's callback
 * for jobs returning host_store_boolean(), read back with
 * host_store_boolean_finish(). */
gpointer host_store_boolean(gboolean value);
void host_store_pointer_done(GAsyncResult *res, GTask *task, GDestroyNotify free_func);
void host_store_boolean_done(GObject *source, GAsyncResult *res, gpointer user_data);
gboolean host_store_boolean_finish(GAsyncResult *result, gpointer tag, GError **error);

/* Tells the mailboxes open on @folder_id (this instance) that it may have
 * changed: their change notifies run on the main thread, coalesced.
 * Callable from any thread (server/mailbox-notify.c). */
void host_mailbox_changed(PrHost *host, gint64 folder_id);
/* The same for @user's INBOX (after a delivery to @user). */
void host_mailbox_inbox_changed(PrHost *host, const char *user);

/* Records a successful login from @ip (POP-before-SMTP). */
void host_note_login(PrHost *host, const char *ip);
