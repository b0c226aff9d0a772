/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <postroom/postroom-plugin.h>

G_BEGIN_DECLS

/* Smarthost groups the schema declares: [smarthost1] .. [smarthost4]. */
#define SENDER_MAX_SMARTHOSTS 4
/* RFC 5321 §4.5.3.1.8: a server must take at least 100 recipients. */
#define SENDER_DIRECT_MAX_RCPTS 100
/* Entries claimed at once; a claim is only made when a session slot is free. */
#define SENDER_CLAIM_MAX 200

typedef enum {
    SENDER_TLS_NONE,
    SENDER_TLS_IMPLICIT,
    SENDER_TLS_STARTTLS,
    SENDER_TLS_STARTTLS_IF_AVAILABLE,
} SenderTlsMode;

/* Where a session connects: a host name (resolved by GIO when @address is
 * NULL) or an address our own resolver found for it. */
typedef struct {
    char *host;
    guint16 port;
    GInetAddress *address;
    gboolean plaintext; /* retry without STARTTLS after a failed handshake */
} SenderTarget;

SenderTarget *sender_target_new(const char *host, guint16 port, GInetAddress *address);
SenderTarget *sender_target_copy(const SenderTarget *target);
void sender_target_free(SenderTarget *target);
char *sender_target_describe(const SenderTarget *target);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(SenderTarget, sender_target_free)

/* "at most N recipients per period" for one smarthost: the times at which
 * recipients were handed to sessions within the last period. */
typedef struct {
    guint limit; /* 0: no limit */
    gint64 period;
    GQueue times; /* gint64 (as pointers) oldest first */
} SenderRate;

typedef struct {
    char *name;         /* "direct" or "smarthostN": the key in rules and alerts */
    gboolean direct;    /* MX lookup per recipient domain */
    GPtrArray *servers; /* SenderTarget*, tried in order (smarthosts) */
    SenderTlsMode tls;
    gboolean verify;          /* check the server's certificate */
    GTlsDatabase *ca;         /* trust only this CA file, or NULL for the system's */
    char *user;               /* AUTH when not NULL */
    char *password;           /* wiped when freed */
    guint max_messages;       /* per session, 0 = no limit */
    guint max_rcpts_per_msg;  /* per transaction, 0 = no limit */
    guint max_rcpts_per_sess; /* 0 = no limit */
    SenderRate rate;
} SenderRoute;

/* A comma-separated list of wildcards, some negated with '!'. */
typedef struct {
    GPtrArray *positive;
    GPtrArray *negative;
} SenderPatterns;

typedef struct {
    SenderPatterns senders;
    SenderPatterns domains;
    SenderRoute *route;
} SenderRule;

/* A recipient domain forced to a host or a smarthost, bypassing MX. */
typedef struct {
    char *pattern;
    SenderRoute *route;   /* a smarthost, or NULL */
    SenderTarget *target; /* a host, or NULL */
} SenderOverride;

typedef struct {
    char *helo_name;
    gint64 poll_interval;
    gint64 claim_lease;
    guint max_sessions;
    gint64 connect_timeout;
    gint64 command_timeout;
    gint64 retry_initial;
    gint64 retry_max;
    gint64 give_up_after;
    gint64 warn_after;
    gint64 dsn_original_limit;
    char *admin_address;
    gint64 alert_interval;
    GPtrArray *dns_servers; /* GInetSocketAddress*, empty for the system's */
    guint16 mx_port;
    gboolean direct_starttls;
    SenderRoute *direct;
    SenderRoute *smarthosts[SENDER_MAX_SMARTHOSTS]; /* NULL when not configured */
    SenderRoute *default_route;
    GPtrArray *rules;     /* SenderRule* */
    GPtrArray *overrides; /* SenderOverride* */
} SenderConfig;

/* How one recipient's attempt ended, before the retry policy applies. */
typedef enum {
    SENDER_RESULT_OK,
    SENDER_RESULT_TEMPORARY,
    SENDER_RESULT_PERMANENT,
    SENDER_RESULT_RELEASE, /* not tried: shutting down, or over a rate limit */
} SenderResult;

typedef struct _Sender Sender;
typedef struct _SenderJob SenderJob;

/* One queued message within a job: its recipients there, its text while
 * it is being sent, and the notices its DSNs will carry. */
typedef struct {
    SenderJob *job;
    gint64 message_id;
    const char *sender;
    GPtrArray *rcpts;   /* const PrQueueEntry*, borrowed from the job's claims */
    GBytes *data;       /* as queued (the DSNs return it) */
    GBytes *wire;       /* what is sent: @data, or @data converted to 7 bits */
    char *unsendable;   /* why it cannot be sent to this hop (5.6.3), or NULL */
    gboolean hop_dsn;   /* the hop that took it offers DSN (RFC 3461) */
    GPtrArray *failed;  /* SenderNotice*, committed as failed */
    GPtrArray *delayed; /* SenderNotice*, committed as warned */
    GPtrArray *relayed; /* SenderNotice*, delivered to a hop without DSN */
    guint writes;       /* outcome writes in flight */
    gboolean finished;  /* every recipient has its outcome decided */
    gboolean notified;  /* DSNs handed to delivery */
} SenderMessage;

/* The recipients of one route (and, for direct delivery, one domain) that
 * one SMTP session delivers. */
struct _SenderJob {
    gint ref;
    Sender *sender;
    SenderRoute *route;
    char *domain;         /* direct: the recipients' domain */
    SenderTarget *forced; /* direct: a host from dns_overrides */
    GPtrArray *messages;  /* SenderMessage* */
    GPtrArray *claims;    /* the claimed arrays the entries belong to */
    guint n_rcpts;
    guint n_txns; /* transactions, against max_messages_per_session */
};

typedef struct {
    const PrQueueEntry *entry;
    char *reply;  /* the remote reply or local error */
    char *remote; /* "mx.example.org [192.0.2.1]", or NULL */
    gboolean gave_up;
    gint64 next_try; /* delayed: when it is tried again */
} SenderNotice;

typedef struct _SenderSession SenderSession;

struct _Sender {
    PrModule *self;
    PrHost *host;
    SenderConfig *config;
    GCancellable *cancellable; /* cancelled at shutdown */
    GSource *poll_timer;
    GSource *claim_soon; /* an idle that claims now (notify, a free slot) */
    gboolean claiming;
    gboolean more_due; /* the last claim was full: claim again when a slot frees */
    gboolean stopping;
    GHashTable *inflight; /* entry id -> itself: claimed and not yet settled */
    GQueue jobs;          /* SenderJob* waiting for a session slot */
    GPtrArray *sessions;  /* SenderSession* running */
    guint pending;        /* store and delivery operations in flight */
    GHashTable *alerts;   /* route name -> last alert (monotonic µs) */
};

/* sender-routes.c */
SenderConfig *sender_config_load(PrModule *self, PrHost *host, GError **error);
void sender_config_free(SenderConfig *config);
SenderRoute *sender_config_route(SenderConfig *config, const PrQueueEntry *entry,
                                 SenderTarget **forced);
gboolean sender_patterns_match(const SenderPatterns *patterns, const char *value);
gboolean sender_parse_host_port(const char *text, guint16 default_port, char **host, guint16 *port);
const char *sender_address_domain(const char *address);

/* sender-retry.c */
gint64 sender_retry_delay(const SenderConfig *config, int attempts);
void sender_decide(const SenderConfig *config, const PrQueueEntry *entry, SenderResult result,
                   gint64 now, PrQueueOutcome *outcome, gint64 *next_try, gboolean *gave_up,
                   gboolean *notice);
gboolean sender_notify_allows(const PrQueueEntry *entry, const char *what);
guint sender_rate_take(SenderRate *rate, guint wanted, gint64 now, gint64 *next_free);
void sender_rate_clear(SenderRate *rate);

/* sender-dns.c */
#define SENDER_DNS_ERROR (sender_dns_error_quark())
typedef enum {
    SENDER_DNS_ERROR_NOT_FOUND, /* the domain does not exist: permanent */
    SENDER_DNS_ERROR_NULL_MX,   /* RFC 7505: the domain takes no mail */
    SENDER_DNS_ERROR_TEMPORARY,
} SenderDnsError;
GQuark sender_dns_error_quark(void);
void sender_dns_lookup_async(const SenderConfig *config, const char *domain,
                             GCancellable *cancellable, GAsyncReadyCallback callback,
                             gpointer user_data);
GPtrArray *sender_dns_lookup_finish(GAsyncResult *result, GError **error);

/* sender-queue.c */
void sender_claim(Sender *sender);
void sender_claim_soon(Sender *sender);
void sender_start_jobs(Sender *sender);
void sender_release_waiting(Sender *sender);
SenderJob *sender_job_ref(SenderJob *job);
void sender_job_unref(SenderJob *job);
void sender_record(Sender *sender, SenderMessage *msg, const PrQueueEntry *entry,
                   SenderResult result, const char *reply, const char *remote);
void sender_message_finish(SenderMessage *msg);
void sender_job_fail_async(SenderJob *job, guint from_message, SenderResult result,
                           const char *reply, const char *remote, GAsyncReadyCallback callback,
                           gpointer user_data);
void sender_job_fail_finish(GAsyncResult *result);
void sender_op_begin(Sender *sender);
void sender_op_end(Sender *sender);

/* sender-client.c */
SenderSession *sender_session_start(Sender *sender, SenderJob *job);
void sender_session_stop(SenderSession *session, gboolean force);
void sender_session_free(SenderSession *session);
/* called by the session when it has ended; frees it */
void sender_session_ended(Sender *sender, SenderSession *session);

/* sender-dsn.c */
typedef enum {
    SENDER_DSN_FAILED,
    SENDER_DSN_DELAYED,
    SENDER_DSN_RELAYED,
} SenderDsnKind;
void sender_dsn_send(Sender *sender, SenderMessage *msg, SenderDsnKind kind);
void sender_alert(Sender *sender, const SenderRoute *route, const char *server, const char *error);

G_END_DECLS
