/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* The collector module's shared state: the scheduler (collector-main.c),
 * the sessions (collector-session.c), the settings of one collector
 * (collector-settings.c), the schedule arithmetic (collector-schedule.c)
 * and the mail the module writes itself (collector-alert.c). Private to
 * the module. */

#include <postroom/postroom-plugin.h>

#include "collector-pop3.h"
#include "collector-route.h"
#include "collector-rules.h"

G_BEGIN_DECLS

/* VPOP3: a queried message can be asked for within 14 days. */
#define COLLECTOR_QUERY_DAYS 14

typedef struct _CollectorSession CollectorSession;

typedef struct {
    PrModule *self;
    PrHost *host;
    guint max_parallel;
    gint64 poll_interval;
    gint64 connect_timeout;
    gint64 command_timeout;
    gint64 claim_lease;
    gint64 alert_interval;
    gint64 max_message_size; /* [delivery] max_message_size: the RETR bound */
    char *admin_address;
    char *rules_file;
    CollectorRules *rules; /* NULL: no rules file */
    gint64 rules_stamp;    /* the file's mtime and size when read, 0: absent */
    char *rules_log;       /* dlrules.log in the log directory */
    gint64 started;        /* unix time: set times before it are not made up for */

    GSource *poll_timer;
    GSource *list_soon;
    gboolean listing;
    gboolean list_again;
    gboolean stopping;
    GHashTable *sessions; /* gint64 id -> CollectorSession* */
    GHashTable *alerts;   /* collector name -> gint64 monotonic µs of the last alert */
    GHashTable *ca_files; /* path -> GTlsDatabase */
    guint pending;        /* mail the module writes, in flight */
    char *query_address;  /* local part+@domain replies to query notices go
                           * to ("postroom-collector@domain"), NULL if the
                           * address could not be claimed */
} CollectorModule;

/* collector-settings.c: one collector's options, checked. */
typedef struct {
    char *server;
    guint16 port;
    CollectorTls tls;
    gboolean verify_cert;
    char *ca_file;
    CollectorAuth auth;
    char *username;
    char *password;
    int leave_days;   /* -1: never delete */
    guint64 max_size; /* octets, 0: no limit */
    gboolean use_rules;
    CollectorNulPolicy nul;
    char nul_char;
    gboolean pipelining; /* "auto": when CAPA offers it; "no": never */
    guint interval;      /* minutes, 0: only at set times and on demand */
    GArray *times;       /* guint minutes after midnight */
} CollectorSettings;

CollectorSettings *collector_settings_new(const PrCollector *collector, GError **error);
void collector_settings_free(CollectorSettings *settings);
gboolean collector_parse_bool(const char *text, gboolean fallback);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CollectorSettings, collector_settings_free)

/* collector-schedule.c */
/* "HH:MM;HH:MM" into minutes after midnight; FALSE if malformed. */
gboolean collector_times_parse(const char *text, GArray *minutes);
/* Whether a collector is due at @now: asked to run, never run with an
 * interval, its interval passed since @last_run, or one of its set times
 * passed since MAX(@last_run, @since). Times are local (@tz). */
gboolean collector_schedule_due(gint64 now, gint64 since, gint64 last_run, gint64 run_requested,
                                guint interval, const GArray *times, GTimeZone *tz);

/* collector-session.c */
void collector_session_start(CollectorModule *m, PrCollector *collector);
void collector_session_stop(CollectorSession *s);
/* Called by a session when it has ended (collector-main.c): frees it. */
void collector_session_ended(CollectorModule *m, CollectorSession *s);
void collector_session_free(CollectorSession *s);
gint64 collector_session_id(CollectorSession *s);

/* collector-main.c */
GTlsDatabase *collector_ca_database(CollectorModule *m, const char *path, GError **error);
void collector_op_begin(CollectorModule *m);
void collector_op_end(CollectorModule *m);
void collector_rules_log(CollectorModule *m, const char *line);

/* collector-alert.c */
/* "Error with Pop3 Client" (or, for connection failures, "POP3 Client
 * Connection Problem") to the administrator, at most one per collector
 * per alert_interval. */
void collector_alert_error(CollectorModule *m, const PrCollector *collector, const char *server,
                           const GError *error);
/* A message the module writes (an alert, a notice, a bounce): delivered
 * from the null sender to @to. With @uid, the delivery records the UID as
 * downloaded (the notice stands for the message). @callback may be NULL;
 * otherwise it gets the delivery's result (pr_delivery_deliver_finish()). */
void collector_deliver_text(CollectorModule *m, const char *to, GString *text, gint64 collector_id,
                            const char *uid, GAsyncReadyCallback callback, gpointer user_data);
/* Texts of the notices; each returns a whole message. */
GString *collector_text_nonexistent(CollectorModule *m, const PrCollector *collector,
                                    const char *server, const char *username,
                                    const CollectorHeaders *headers, const char *to,
                                    gboolean copy_follows);
GString *collector_text_bounce(CollectorModule *m, const char *sender, const GPtrArray *unknown,
                               const CollectorHeaders *headers, GBytes *message);
GString *collector_text_notice(CollectorModule *m, const PrCollector *collector, const char *to,
                               const char *subject, const char *body,
                               const CollectorHeaders *headers);

/* A notice from @from (NULL: postmaster), which is also its Reply-To. */
GString *collector_text_from(CollectorModule *m, const PrCollector *collector, const char *from,
                             const char *to, const char *subject, const char *body,
                             const CollectorHeaders *headers);

/* collector-query.c: the Query flow's replies (VPOP3 §2.5). */
/* Claims [collector] reply_address (pr_delivery_claim_address()). */
void collector_query_init(CollectorModule *m);
void collector_query_fini(CollectorModule *m);
/* The notice asking @to whether to fetch a held-back message of @size
 * octets (@by_rule: a download rule holds it, else max_size); a reply to
 * it carries @token. */
GString *collector_query_notice(CollectorModule *m, const PrCollector *collector, const char *to,
                                const char *token, guint64 size, gboolean by_rule,
                                const CollectorHeaders *headers);

G_END_DECLS
