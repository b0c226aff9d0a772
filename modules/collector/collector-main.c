/* SPDX-License-Identifier: GPL-3.0-or-later */

/* collector: fetches mail from ISP mailboxes by POP3 (VPOP3's mail
 * collectors). This file holds the descriptor, the settings, the scheduler
 * and shutdown. The scheduler lists the enabled collectors every
 * poll_interval and whenever `postroomctl collector run` asks for one
 * (pr_collector_set_notify()), and starts a session (collector-session.c)
 * for each that is due, up to max_parallel at once. Everything is
 * asynchronous: the main loop never waits for an ISP or the store. */

#include "postroom-config.h"

#include <errno.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <string.h>

#include "collector.h"

/* How long shutdown waits for sessions to end (a delivery in flight, the
 * claim given back). */
#define COLLECTOR_STOP_SECONDS 15

/* ---- helpers for the sessions ---------------------------------------------- */

void
collector_op_begin(CollectorModule *m)
{
    m->pending++;
}

void
collector_op_end(CollectorModule *m)
{
    g_assert(m->pending > 0);
    m->pending--;
}

GTlsDatabase *
collector_ca_database(CollectorModule *m, const char *path, GError **error)
{
    GTlsDatabase *db = g_hash_table_lookup(m->ca_files, path);
    g_autoptr(GError) local = NULL;

    if (db != NULL)
        return db;
    /* A small local file, read once per path and process. */
    db = g_tls_file_database_new(path, &local);
    if (db == NULL) {
        g_set_error(error, COLLECTOR_POP3_ERROR, COLLECTOR_POP3_ERROR_TLS,
                    _("The collector's ca_file %s cannot be loaded: %s"), path, local->message);
        return NULL;
    }
    g_hash_table_insert(m->ca_files, g_strdup(path), db);
    return db;
}

void
collector_rules_log(CollectorModule *m, const char *line)
{
    /* dlrules.log: one line per rule that fired (VPOP3 §2.5), appended
     * with one write so that lines of parallel sessions never mix. */
    g_autofree char *text = g_strconcat(line, "\n", NULL);
    FILE *f = g_fopen(m->rules_log, "a");

    pr_log_event(G_LOG_LEVEL_INFO, "COLLECTOR_RULE", "%s", line);
    if (f == NULL) {
        g_debug("%s: %s", m->rules_log, g_strerror(errno));
        return;
    }
    fputs(text, f);
    fclose(f);
}

/* Reads the download rules when the file changed (or appeared, or went
 * away) since the last look: an edit applies within poll_interval, no
 * SIGHUP needed. */
static void
load_rules(CollectorModule *m)
{
    g_autoptr(GError) error = NULL;
    GStatBuf st;
    gint64 stamp = 0;

    if (g_stat(m->rules_file, &st) == 0)
        stamp = (gint64)st.st_mtime * 1000003 + (gint64)st.st_size + 1;
    if (stamp == m->rules_stamp)
        return;
    m->rules_stamp = stamp;
    CollectorRules *rules = collector_rules_load(m->rules_file, &error);
    if (rules == NULL && g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT)) {
        if (m->rules != NULL)
            pr_log_event(G_LOG_LEVEL_INFO, "COLLECTOR_RULES_LOADED",
                         "%s is gone: no download rules", m->rules_file);
        g_clear_pointer(&m->rules, collector_rules_free);
        return;
    }
    if (rules == NULL) {
        /* Keep the rules that worked: a typo must not download what a
         * rule holds back. */
        pr_log_event(G_LOG_LEVEL_WARNING, "COLLECTOR_RULES_INVALID",
                     "download rules not loaded%s: %s",
                     m->rules != NULL ? " (the previous ones stay)" : "", error->message);
        return;
    }
    g_clear_pointer(&m->rules, collector_rules_free);
    m->rules = rules;
    pr_log_event(G_LOG_LEVEL_INFO, "COLLECTOR_RULES_LOADED", "%u download rules from %s",
                 collector_rules_count(rules), m->rules_file);
}

/* ---- the scheduler ---------------------------------------------------------- */

static void list_collectors(CollectorModule *m);

static gboolean
list_soon_cb(gpointer data)
{
    CollectorModule *m = data;

    g_clear_pointer(&m->list_soon, g_source_unref);
    list_collectors(m);
    return G_SOURCE_REMOVE;
}

static void
list_soon(CollectorModule *m)
{
    if (m->list_soon != NULL || m->stopping)
        return;
    m->list_soon = g_idle_source_new();
    g_source_set_callback(m->list_soon, list_soon_cb, m, NULL);
    g_source_attach(m->list_soon, NULL);
}

static void
listed(GObject *source, GAsyncResult *result, gpointer data)
{
    CollectorModule *m = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(GPtrArray) collectors = pr_collector_list_finish(m->host, result, &error);
    gint64 now = g_get_real_time() / G_USEC_PER_SEC;
    gboolean skipped = FALSE;

    m->listing = FALSE;
    collector_op_end(m);
    if (m->stopping)
        return;
    if (collectors == NULL) {
        pr_log_event(G_LOG_LEVEL_WARNING, "COLLECTOR_STORE_FAILED",
                     "collectors could not be listed: %s", error->message);
        return;
    }
    /* The store lists them by priority: the first due ones start first. */
    for (guint i = 0; i < collectors->len; i++) {
        PrCollector *c = collectors->pdata[i];
        if (g_hash_table_contains(m->sessions, &c->id))
            continue;
        g_autoptr(GArray) times = g_array_new(FALSE, FALSE, sizeof(guint));
        gint64 interval = 10;
        const char *text = pr_collector_get_option(c, "interval", "10");
        if (!g_ascii_string_to_signed(text, 10, 0, 10080, &interval, NULL))
            interval = 10;
        collector_times_parse(pr_collector_get_option(c, "times", ""), times);
        if (!collector_schedule_due(now, m->started, c->last_run, c->run_requested, (guint)interval,
                                    times, NULL))
            continue;
        if (g_hash_table_size(m->sessions) >= m->max_parallel) {
            skipped = TRUE;
            continue;
        }
        collectors->pdata[i] = NULL;
        collector_session_start(m, c);
    }
    /* A session ending frees a slot: look again then. */
    m->list_again = m->list_again || skipped;
    if (m->list_again && g_hash_table_size(m->sessions) < m->max_parallel) {
        m->list_again = FALSE;
        list_soon(m);
    }
}

static void
list_collectors(CollectorModule *m)
{
    if (m->stopping)
        return;
    if (m->listing) {
        m->list_again = TRUE;
        return;
    }
    m->listing = TRUE;
    m->list_again = FALSE;
    load_rules(m);
    collector_op_begin(m);
    pr_collector_list_async(m->host, NULL, listed, m);
}

static gboolean
poll_cb(gpointer data)
{
    list_collectors(data);
    return G_SOURCE_CONTINUE;
}

static void
run_requested(gint64 collector_id, gpointer data)
{
    CollectorModule *m = data;

    g_debug("collector %" G_GINT64_FORMAT " asked to run", collector_id);
    list_soon(m);
}

void
collector_session_ended(CollectorModule *m, CollectorSession *s)
{
    gint64 id = collector_session_id(s);

    g_hash_table_remove(m->sessions, &id);
    collector_session_free(s);
    if (m->list_again && !m->stopping) {
        m->list_again = FALSE;
        list_soon(m);
    }
}

/* ---- the module ------------------------------------------------------------------ */

static void
module_free(CollectorModule *m)
{
    /* Operations that outlived the shutdown deadline still point here. */
    if (m->pending > 0 || g_hash_table_size(m->sessions) > 0)
        return;
    if (m->poll_timer != NULL)
        g_source_destroy(m->poll_timer);
    g_clear_pointer(&m->poll_timer, g_source_unref);
    if (m->list_soon != NULL)
        g_source_destroy(m->list_soon);
    g_clear_pointer(&m->list_soon, g_source_unref);
    g_hash_table_unref(m->sessions);
    g_hash_table_unref(m->alerts);
    g_hash_table_unref(m->ca_files);
    g_clear_pointer(&m->rules, collector_rules_free);
    g_free(m->admin_address);
    g_free(m->rules_file);
    g_free(m->rules_log);
    g_free(m->query_address);
    g_free(m);
}

/* Relative to the configuration directory of an installed server (the
 * module cannot know another --config's directory). */
static char *
config_relative(const char *path)
{
    if (g_path_is_absolute(path))
        return g_strdup(path);
    return g_build_filename(SYSCONFDIR, path, NULL);
}

static gboolean
collector_init(PrModule *self, PrHost *host, GError **error)
{
    CollectorModule *m = g_new0(CollectorModule, 1);
    const char *admin = pr_module_get_string(self, NULL, "admin_address");
    const char *postmaster = pr_module_get_string(self, "delivery", "postmaster");
    const char *log_dir = pr_module_get_string(self, "log", "dir");
    const char *rules = pr_module_get_string(self, NULL, "rules_file");

    m->self = self;
    m->host = host;
    m->max_parallel = (guint)pr_module_get_int(self, NULL, "max_parallel");
    m->poll_interval = pr_module_get_int(self, NULL, "poll_interval");
    m->connect_timeout = pr_module_get_int(self, NULL, "connect_timeout");
    m->command_timeout = pr_module_get_int(self, NULL, "command_timeout");
    m->claim_lease = pr_module_get_int(self, NULL, "claim_lease");
    m->alert_interval = pr_module_get_int(self, NULL, "alert_interval");
    m->max_message_size = pr_module_get_int(self, "delivery", "max_message_size");
    /* Alerts go to the collector's own address, else to the user the host
     * sends its alerts to, else to the conventional postmaster (as the
     * sender module's). */
    if (admin != NULL && *admin != '\0')
        m->admin_address = g_strdup(admin);
    else if (postmaster != NULL && *postmaster != '\0')
        m->admin_address = g_strdup(postmaster);
    else
        m->admin_address = g_strdup("postmaster");
    m->rules_file =
        config_relative(rules != NULL && *rules != '\0' ? rules : "download-rules.conf");
    m->rules_log = log_dir != NULL && *log_dir != '\0'
                       ? g_build_filename(log_dir, "dlrules.log", NULL)
                       : g_build_filename(pr_host_get_data_dir(host), "logs", "dlrules.log", NULL);
    m->started = g_get_real_time() / G_USEC_PER_SEC;
    m->sessions = g_hash_table_new(g_int64_hash, g_int64_equal);
    m->alerts = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    m->ca_files = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_object_unref);
    pr_module_set_data(self, m, (GDestroyNotify)module_free);
    load_rules(m);

    m->poll_timer = g_timeout_source_new_seconds((guint)m->poll_interval);
    g_source_set_callback(m->poll_timer, poll_cb, m, NULL);
    g_source_attach(m->poll_timer, NULL);
    pr_collector_set_notify(host, self, run_requested, m);
    collector_query_init(m);
    list_soon(m);
    pr_log_event(G_LOG_LEVEL_INFO, "COLLECTOR_READY",
                 "collector ready: up to %u sessions at once, looking for due collectors every "
                 "%" G_GINT64_FORMAT " s, alerts to %s",
                 m->max_parallel, m->poll_interval, m->admin_address);
    return TRUE;
}

static gboolean
stopped(CollectorModule *m)
{
    return m->pending == 0 && g_hash_table_size(m->sessions) == 0;
}

/* Stops listing, stops the sessions (a delivery in flight is waited for,
 * so that its UID is recorded and known), and runs the main loop until
 * each has given its claim back: the store closes after deinit. */
static void
collector_deinit(PrModule *self, PrHost *host)
{
    CollectorModule *m = pr_module_get_data(self);
    gint64 deadline = g_get_monotonic_time() + COLLECTOR_STOP_SECONDS * G_USEC_PER_SEC;

    if (m == NULL)
        return;
    m->stopping = TRUE;
    collector_query_fini(m);
    pr_collector_set_notify(host, self, NULL, NULL);
    g_source_destroy(m->poll_timer);
    g_clear_pointer(&m->poll_timer, g_source_unref);
    if (m->list_soon != NULL) {
        g_source_destroy(m->list_soon);
        g_clear_pointer(&m->list_soon, g_source_unref);
    }
    GHashTableIter iter;
    gpointer value;
    g_hash_table_iter_init(&iter, m->sessions);
    while (g_hash_table_iter_next(&iter, NULL, &value))
        collector_session_stop(value);
    while (!stopped(m) && g_get_monotonic_time() < deadline) {
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(1000);
    }
    if (!stopped(m))
        pr_log_event(G_LOG_LEVEL_WARNING, "COLLECTOR_STOP_TIMEOUT",
                     "stopped with %u sessions and %u operations unfinished; their claims run "
                     "out after claim_lease",
                     g_hash_table_size(m->sessions), m->pending);
}

static const PrSettingSpec collector_settings[] = {
    { .key = "max_parallel",
      .type = PR_SETTING_INT,
      .default_value = "4",
      .min = 1,
      .max = 100,
      .description = N_("Collector sessions running at once at most") },
    { .key = "poll_interval",
      .type = PR_SETTING_DURATION,
      .default_value = "30s",
      .min = 1,
      .max = 3600,
      .description = N_("How often the collectors' schedules are checked (a \"run now\" "
                        "request is seen within seconds regardless)") },
    { .key = "connect_timeout",
      .type = PR_SETTING_DURATION,
      .default_value = "30s",
      .min = 1,
      .max = 600,
      .description = N_("How long to wait for an ISP's POP3 server to accept a connection") },
    { .key = "command_timeout",
      .type = PR_SETTING_DURATION,
      .default_value = "2m",
      .min = 1,
      .max = 3600,
      .description = N_("How long to wait for a reply, or for more of a message, before the "
                        "session is ended") },
    { .key = "claim_lease",
      .type = PR_SETTING_DURATION,
      .default_value = "10m",
      .min = 15,
      .max = 86400,
      .description = N_("How long a running collector stays reserved for this server; renewed "
                        "while its session runs") },
    { .key = "admin_address",
      .type = PR_SETTING_STRING,
      .default_value = "",
      .description = N_("Who gets \"Error with Pop3 Client\" and \"Non-existent user\" alerts "
                        "(empty: [delivery] postmaster, else postmaster)") },
    { .key = "alert_interval",
      .type = PR_SETTING_DURATION,
      .default_value = "1h",
      .min = 0,
      .max = 30 * 86400,
      .description = N_("At most one error alert per collector in this time (0: no alerts)") },
    { .key = "rules_file",
      .type = PR_SETTING_STRING,
      .default_value = "download-rules.conf",
      .description = N_("The download rules file (relative to the configuration directory); "
                        "a missing file means no rules") },
    { .key = "reply_address",
      .type = PR_SETTING_STRING,
      .default_value = "postroom-collector",
      .description = N_("Local part, at every local domain, that recipients reply to so that a "
                        "message held back (max_size, a Query rule) is downloaded (empty: "
                        "they ask the administrator)") },
    { .key = NULL },
};

PR_MODULE_DEFINE(collector, .description = N_("Collects mail from POP3 mailboxes at an ISP"),
                 .version = PACKAGE_VERSION, .license = "GPL-3.0-or-later",
                 .settings = collector_settings, .init = collector_init, .deinit = collector_deinit)
