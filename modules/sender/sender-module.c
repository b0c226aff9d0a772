/* SPDX-License-Identifier: GPL-3.0-or-later */

/* sender: drains the outbound queue to the Internet, directly to each
 * domain's MX or through smarthosts (VPOP3's "SMTP Direct" and "SMTP Relay"
 * mail senders). This file holds the descriptor, the settings schema, the
 * poll timer and shutdown; the queue work is in sender-queue.c, the SMTP
 * client in sender-client.c. */

#include "postroom-config.h"

#include <glib/gi18n-lib.h>

#include "sender.h"

/* How long shutdown waits for messages already sent to be answered and for
 * outcomes to be written. */
#define SENDER_STOP_GRACE_SECONDS 10
#define SENDER_STOP_HARD_SECONDS  20

static gboolean
poll_cb(gpointer data)
{
    sender_claim(data);
    return G_SOURCE_CONTINUE;
}

static void
queued_cb(gpointer data)
{
    sender_claim_soon(data);
}

static void
sender_free(Sender *sender)
{
    /* A sender whose operations outlived the shutdown deadline is left
     * alone: their callbacks still point at it. */
    if (sender->pending > 0 || sender->sessions->len > 0)
        return;
    if (sender->poll_timer != NULL)
        g_source_destroy(sender->poll_timer);
    g_clear_pointer(&sender->poll_timer, g_source_unref);
    if (sender->claim_soon != NULL)
        g_source_destroy(sender->claim_soon);
    g_clear_pointer(&sender->claim_soon, g_source_unref);
    sender_config_free(sender->config);
    g_clear_object(&sender->cancellable);
    g_hash_table_unref(sender->inflight);
    g_hash_table_unref(sender->alerts);
    g_ptr_array_unref(sender->sessions);
    g_free(sender);
}

static gboolean
sender_init(PrModule *self, PrHost *host, GError **error)
{
    SenderConfig *config = sender_config_load(self, host, error);
    Sender *sender;

    if (config == NULL)
        return FALSE;
    sender = g_new0(Sender, 1);
    sender->self = self;
    sender->host = host;
    sender->config = config;
    sender->cancellable = g_cancellable_new();
    sender->inflight = g_hash_table_new(g_int64_hash, g_int64_equal);
    sender->alerts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    sender->sessions = g_ptr_array_new();
    g_queue_init(&sender->jobs);
    pr_module_set_data(self, sender, (GDestroyNotify)sender_free);

    sender->poll_timer = g_timeout_source_new_seconds((guint)config->poll_interval);
    g_source_set_callback(sender->poll_timer, poll_cb, sender, NULL);
    g_source_attach(sender->poll_timer, NULL);
    pr_queue_set_notify(host, self, queued_cb, sender);
    sender_claim_soon(sender);

    pr_log_event(G_LOG_LEVEL_INFO, "SENDER_READY",
                 "sender ready: default route %s, %u domain rules, up to %u sessions, polling "
                 "every %" G_GINT64_FORMAT " s",
                 config->default_route->name, config->rules->len, config->max_sessions,
                 config->poll_interval);
    return TRUE;
}

static gboolean
stopped(Sender *sender)
{
    return sender->pending == 0 && sender->sessions->len == 0;
}

static void
run_until(Sender *sender, gint64 deadline)
{
    while (!stopped(sender) && g_get_monotonic_time() < deadline) {
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(1000);
    }
}

/* Stops claiming, gives back what no session has started, stops the
 * sessions (a message already sent waits for its reply for a while), and
 * runs the main loop until every outcome is written: the store closes
 * after deinit, and an outcome lost here would send a message twice. */
static void
sender_deinit(PrModule *self, PrHost *host)
{
    Sender *sender = pr_module_get_data(self);
    gint64 start = g_get_monotonic_time();

    if (sender == NULL)
        return;
    sender->stopping = TRUE;
    pr_queue_set_notify(host, self, NULL, NULL);
    g_source_destroy(sender->poll_timer);
    g_clear_pointer(&sender->poll_timer, g_source_unref);
    if (sender->claim_soon != NULL) {
        g_source_destroy(sender->claim_soon);
        g_clear_pointer(&sender->claim_soon, g_source_unref);
    }
    g_cancellable_cancel(sender->cancellable);
    sender_release_waiting(sender);
    for (guint i = 0; i < sender->sessions->len; i++)
        sender_session_stop(sender->sessions->pdata[i], FALSE);
    run_until(sender, start + SENDER_STOP_GRACE_SECONDS * G_USEC_PER_SEC);
    for (guint i = 0; i < sender->sessions->len; i++)
        sender_session_stop(sender->sessions->pdata[i], TRUE);
    run_until(sender, start + SENDER_STOP_HARD_SECONDS * G_USEC_PER_SEC);
    if (!stopped(sender))
        pr_log_event(G_LOG_LEVEL_WARNING, "SENDER_STOP_TIMEOUT",
                     "stopped with %u sessions and %u queue operations unfinished; their "
                     "entries are tried again after their lease",
                     sender->sessions->len, sender->pending);
}

static const char *const tls_choices[] = { "none", "tls", "starttls", "starttls-if-available",
                                           NULL };

#define SMARTHOST_SETTINGS(n)                                                                      \
    { .group = "smarthost" #n,                                                                     \
      .key = "servers",                                                                            \
      .type = PR_SETTING_STRING_LIST,                                                              \
      .default_value = "",                                                                         \
      .description = N_("Relay servers of this smarthost, HOST or HOST:PORT, tried in order "      \
                        "until one accepts the connection") },                                     \
        { .group = "smarthost" #n,                                                                 \
          .key = "encryption",                                                                     \
          .type = PR_SETTING_ENUM,                                                                 \
          .default_value = "starttls-if-available",                                                \
          .choices = tls_choices,                                                                  \
          .description = N_("Session encryption: none, tls (implicit, port 465), starttls "        \
                            "(required) or starttls-if-available") },                              \
        { .group = "smarthost" #n,                                                                 \
          .key = "verify_certificate",                                                             \
          .type = PR_SETTING_BOOL,                                                                 \
          .default_value = "true",                                                                 \
          .description = N_("Check the relay's TLS certificate") },                                \
        { .group = "smarthost" #n,                                                                 \
          .key = "ca_file",                                                                        \
          .type = PR_SETTING_PATH,                                                                 \
          .default_value = "",                                                                     \
          .description = N_("Trust only the CA certificates in this PEM file (empty: the "         \
                            "system's)") },                                                        \
        { .group = "smarthost" #n,                                                                 \
          .key = "user",                                                                           \
          .type = PR_SETTING_STRING,                                                               \
          .default_value = "",                                                                     \
          .description = N_("User name for SMTP AUTH (empty: no authentication)") },               \
        { .group = "smarthost" #n,                                                                 \
          .key = "password",                                                                       \
          .type = PR_SETTING_STRING,                                                               \
          .default_value = "",                                                                     \
          .description = N_("Password for SMTP AUTH; password_file is better"),                    \
          .flags = PR_SETTING_FLAG_SECRET },                                                       \
        { .group = "smarthost" #n,                                                                 \
          .key = "password_file",                                                                  \
          .type = PR_SETTING_PATH,                                                                 \
          .default_value = "",                                                                     \
          .description = N_("File whose first line is the SMTP AUTH password") },                  \
        { .group = "smarthost" #n,                                                                 \
          .key = "max_messages_per_session",                                                       \
          .type = PR_SETTING_INT,                                                                  \
          .default_value = "0",                                                                    \
          .min = 0,                                                                                \
          .max = 1000000,                                                                          \
          .description = N_("Messages sent in one connection at most (0: no limit)") },            \
        { .group = "smarthost" #n,                                                                 \
          .key = "max_recipients_per_message",                                                     \
          .type = PR_SETTING_INT,                                                                  \
          .default_value = "0",                                                                    \
          .min = 0,                                                                                \
          .max = 1000000,                                                                          \
          .description = N_("Recipients in one transaction at most; more are sent as copies "      \
                            "(0: no limit)") },                                                    \
        { .group = "smarthost" #n,                                                                 \
          .key = "max_recipients_per_session",                                                     \
          .type = PR_SETTING_INT,                                                                  \
          .default_value = "0",                                                                    \
          .min = 0,                                                                                \
          .max = 1000000,                                                                          \
          .description = N_("Recipients in one connection at most (0: no limit)") },               \
        { .group = "smarthost" #n,                                                                 \
          .key = "rate_limit_recipients",                                                          \
          .type = PR_SETTING_INT,                                                                  \
          .default_value = "0",                                                                    \
          .min = 0,                                                                                \
          .max = 1000000,                                                                          \
          .description = N_("Recipients sent per rate_limit_period at most (0: no limit)") },      \
    {                                                                                              \
        .group = "smarthost" #n, .key = "rate_limit_period", .type = PR_SETTING_DURATION,          \
        .default_value = "1h", .min = 1, .max = 7 * 86400,                                         \
        .description = N_("The period of rate_limit_recipients")                                   \
    }

static const PrSettingSpec sender_settings[] = {
    { .key = "default_route",
      .type = PR_SETTING_STRING,
      .default_value = "direct",
      .description = N_("Route of mail no rule in routes matches: direct or smarthost1 to "
                        "smarthost4") },
    { .key = "routes",
      .type = PR_SETTING_STRING_LIST,
      .default_value = "",
      .description = N_("Domain filtering rules, first match wins: SENDERS RECIPIENT-DOMAINS "
                        "ROUTE, with comma-separated wildcards and ! to negate") },
    { .key = "helo_name",
      .type = PR_SETTING_STRING,
      .default_value = "",
      .description = N_("Name given in EHLO/HELO (empty: the server's host name)") },
    { .key = "poll_interval",
      .type = PR_SETTING_DURATION,
      .default_value = "5s",
      .min = 1,
      .max = 3600,
      .description = N_("How often the queue is checked for mail that is due") },
    { .key = "max_sessions",
      .type = PR_SETTING_INT,
      .default_value = "4",
      .min = 1,
      .max = 100,
      .description = N_("SMTP connections open at once at most") },
    { .key = "claim_lease",
      .type = PR_SETTING_DURATION,
      .default_value = "1h",
      .min = 60,
      .max = 86400,
      .description = N_("How long queue entries being sent stay reserved for this server") },
    { .key = "connect_timeout",
      .type = PR_SETTING_DURATION,
      .default_value = "30s",
      .min = 1,
      .max = 600,
      .description = N_("How long to wait for a server to accept a connection") },
    { .key = "command_timeout",
      .type = PR_SETTING_DURATION,
      .default_value = "5m",
      .min = 1,
      .max = 3600,
      .description = N_("How long to wait for a server's reply (twice that, at least 10 "
                        "minutes, after the message data)") },
    { .key = "retry_initial",
      .type = PR_SETTING_DURATION,
      .default_value = "5m",
      .min = 1,
      .max = 86400,
      .description = N_("Wait before the first retry; each later wait doubles") },
    { .key = "retry_max",
      .type = PR_SETTING_DURATION,
      .default_value = "4h",
      .min = 1,
      .max = 7 * 86400,
      .description = N_("Longest wait between two tries") },
    { .key = "give_up_after",
      .type = PR_SETTING_DURATION,
      .default_value = "5d",
      .min = 1,
      .max = 60 * 86400,
      .description = N_("Age at which undeliverable mail is returned to its sender") },
    { .key = "warn_after",
      .type = PR_SETTING_DURATION,
      .default_value = "4h",
      .min = 0,
      .max = 60 * 86400,
      .description = N_("Age at which the sender is told once that mail is delayed (0: never)") },
    { .key = "dsn_original_limit",
      .type = PR_SETTING_SIZE,
      .default_value = "1M",
      .min = 0,
      .max = 0,
      .description = N_("Largest original returned whole in a failure report; larger ones "
                        "are returned as their header") },
    { .key = "admin_address",
      .type = PR_SETTING_STRING,
      .default_value = "",
      .description = N_("Who gets \"Error with SMTP Client\" alerts (empty: [delivery] "
                        "postmaster, else postmaster)") },
    { .key = "alert_interval",
      .type = PR_SETTING_DURATION,
      .default_value = "1h",
      .min = 0,
      .max = 30 * 86400,
      .description = N_("At most one alert per smarthost in this time (0: no alerts)") },
    { .key = "dns_servers",
      .type = PR_SETTING_STRING_LIST,
      .default_value = "",
      .description = N_("DNS servers for MX lookups, IPv4[:PORT], at most 3 (empty: the "
                        "system's)") },
    { .key = "dns_overrides",
      .type = PR_SETTING_STRING_LIST,
      .default_value = "",
      .description = N_("Routes forced for recipient domains: DOMAIN-WILDCARD HOST[:PORT] or "
                        "DOMAIN-WILDCARD smarthostN") },
    { .key = "mx_port",
      .type = PR_SETTING_INT,
      .default_value = "25",
      .min = 1,
      .max = 65535,
      .description = N_("Port of the MX hosts (change it only for tests)") },
    { .key = "direct_starttls",
      .type = PR_SETTING_BOOL,
      .default_value = "true",
      .description = N_("Use STARTTLS with MX hosts that offer it (without certificate "
                        "checks)") },
    SMARTHOST_SETTINGS(1),
    SMARTHOST_SETTINGS(2),
    SMARTHOST_SETTINGS(3),
    SMARTHOST_SETTINGS(4),
    { .key = NULL },
};

PR_MODULE_DEFINE(sender, .description = N_("Sends queued mail to the Internet"),
                 .version = PACKAGE_VERSION, .license = "GPL-3.0-or-later",
                 .settings = sender_settings, .init = sender_init, .deinit = sender_deinit)
