/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n-lib.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sysexits.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "delivery-service.h"
#include "housekeeping.h"
#include "listener.h"
#include "log.h"
#include "module-loader.h"
#include "privileges.h"
#include "store/spool.h"
#include "store/store-collector.h"
#include "store/store-mail.h"
#include "store/store-queue.h"
#include "tls.h"

/* postroomd: read and check the configuration, open the enabled modules,
 * bind the listening sockets, drop privileges, open the store, start the
 * modules, accept connections; SIGHUP reloads what can change live, SIGTERM
 * stops. */

int _pr_daemon_main(int argc, char **argv) __attribute__((visibility("default")));

typedef struct {
    char *config_path;
    Config *config;
    GPtrArray *available; /* PrModule*, every module in module_dir (for schemas) */
    GPtrArray *schemas;   /* ConfigSchema* */
    GPtrArray *enabled;   /* PrModule*, sorted, borrowed from available */
    PrHost *host;
    TlsContext *tls;
    GMainLoop *loop;
    int ready_fd; /* the waiting parent when daemonised, else -1 */
    gboolean foreground;
    gboolean logging; /* log_setup() done: errors go through the log */
} Daemon;

static void
fail(Daemon *d, int code, const char *message)
{
    if (d->logging)
        g_critical("%s", message); /* the log files, and stderr in the foreground */
    if (d->ready_fd >= 0) {
        if (write(d->ready_fd, message, strlen(message)) < 0) {
            /* the parent is gone; nothing else to tell */
        }
    } else if (!d->logging || !d->foreground) {
        fprintf(stderr, "postroomd: %s\n", message);
    }
    exit(code);
}

static void
daemon_clear(Daemon *d)
{
    g_clear_pointer(&d->enabled, g_ptr_array_unref);
    g_clear_pointer(&d->schemas, g_ptr_array_unref);
    g_clear_pointer(&d->available, g_ptr_array_unref);
    g_clear_pointer(&d->tls, tls_context_free);
    g_clear_pointer(&d->config, config_unref);
    g_clear_pointer(&d->loop, g_main_loop_unref);
    g_clear_pointer(&d->config_path, g_free);
}

static uid_t
service_uid(Config *config)
{
    uid_t uid;
    gid_t gid;
    if (!privileges_lookup(config_get_string(config, "server", "user"),
                           config_get_string(config, "server", "group"), &uid, &gid, NULL))
        return 0;
    return uid;
}

static gboolean
load_configuration(Daemon *d, GError **error)
{
    d->config = config_load(d->config_path, error);
    if (d->config == NULL)
        return FALSE;
    const char *dir = config_get_string(d->config, "server", "module_dir");
    g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
    d->available = loader_scan(dir, service_uid(d->config), problems);
    for (guint i = 0; i < problems->len; i++)
        g_debug("%s", (char *)problems->pdata[i]);
    d->schemas = loader_schemas(d->available);
    if (!config_validate(d->config, d->schemas, error))
        return FALSE;
    d->enabled = loader_open_enabled(d->config, d->available, service_uid(d->config), error);
    return d->enabled != NULL;
}

static gboolean
setup_tls(Daemon *d, GError **error)
{
    const char *cert = config_get_string(d->config, "tls", "certificate");
    const char *key = config_get_string(d->config, "tls", "key");

    /* Before any thread exists: glib-networking reads it from the environment. */
    if (!tls_set_priority(config_get_string(d->config, "tls", "priority"), error))
        return FALSE;
    if (!tls_check_backend(error))
        return FALSE;
    if ((*cert == '\0') != (*key == '\0')) {
        g_set_error(error, PR_CONFIG_ERROR, PR_CONFIG_ERROR_INVALID,
                    _("[tls] certificate= and key= must be set together"));
        return FALSE;
    }
    if (*cert != '\0') {
        d->tls = tls_context_new(cert, key, error);
        return d->tls != NULL;
    }
    return TRUE;
}

static void
log_settings_from_config(Config *config, LogSettings *out, char **dir_out, gboolean foreground)
{
    const char *dir = config_get_string(config, "log", "dir");
    *dir_out = *dir != '\0' ? g_strdup(dir)
                            : g_build_filename(config_get_string(config, "server", "data_dir"),
                                               "logs", NULL);
    out->dir = *dir_out;
    out->max_size = config_get_int(config, "log", "max_size");
    out->level = log_level_from_string(config_get_string(config, "log", "level"));
    out->to_stderr = foreground;
}

static gpointer
unlock_instance_job(StoreConn *c, gpointer data, GError **error)
{
    gint64 n = store_mailbox_unlock_instance(c, data, error);
    if (n < 0)
        return NULL;
    /* Queue entries it was sending go back to pending: the remote server
     * never confirmed them (at worst sent twice after a crash, never lost). */
    gint64 q = store_queue_release_instance(c, data, error);
    if (q < 0)
        return NULL;
    if (q > 0)
        g_message("released %" G_GINT64_FORMAT " queue entries left by an earlier run", q);
    /* Its collector sessions died with it: the collectors run again at
     * once rather than after claim_lease. */
    gint64 cl = store_collector_release_instance(c, data, error);
    if (cl < 0)
        return NULL;
    if (cl > 0)
        g_message(_("released %lld collector claims left by an earlier run"), (long long)cl);
    return g_memdup2(&n, sizeof n);
}

typedef struct {
    Store *store;
    gboolean done;
} StartupJob;

static void
unlock_instance_done(GObject *source, GAsyncResult *result, gpointer data)
{
    StartupJob *job = data;
    g_autoptr(GError) error = NULL;
    g_autofree gint64 *n = store_run_finish(job->store, result, &error);
    if (n == NULL)
        g_warning("cannot release mailbox locks and queue entries of an earlier run: %s",
                  error->message);
    else if (*n > 0)
        g_message("released %" G_GINT64_FORMAT " mailbox locks left by an earlier run", *n);
    job->done = TRUE;
}

/* Mailbox locks are held in the database so that they hold across
 * instances; the ones this instance held when it last stopped (or died)
 * belong to nobody now. An instance is known by its host name. */
static void
release_stale_locks(PrHost *host)
{
    StartupJob job = { host->store, FALSE };
    store_run_async(host->store, unlock_instance_job, g_strdup(host->hostname), g_free, NULL,
                    unlock_instance_done, &job);
    while (!job.done)
        g_main_context_iteration(NULL, TRUE);
}

static gpointer
release_collectors_job(StoreConn *c, gpointer data, GError **error)
{
    gint64 n = store_collector_release_instance(c, data, error);
    return n < 0 ? NULL : g_memdup2(&n, sizeof n);
}

static void
release_collectors_done(GObject *source, GAsyncResult *result, gpointer data)
{
    StartupJob *job = data;
    g_autoptr(GError) error = NULL;
    g_autofree gint64 *n = store_run_finish(job->store, result, &error);
    if (n == NULL)
        g_warning(_("cannot release the collector claims of this instance: %s"), error->message);
    else if (*n > 0)
        g_message(_("released %lld collector claims of sessions that did not end in time"),
                  (long long)*n);
    job->done = TRUE;
}

/* At shutdown, after the modules stopped: the collector module gives its
 * claims back as its sessions end; one that did not end in time must not
 * keep its collector from running for claim_lease. */
static void
release_collector_claims(PrHost *host)
{
    StartupJob job = { host->store, FALSE };
    store_run_async(host->store, release_collectors_job, g_strdup(host->hostname), g_free, NULL,
                    release_collectors_done, &job);
    while (!job.done)
        g_main_context_iteration(NULL, TRUE);
}

/* The service user writes (and rotates) the logs after privileges are
 * dropped, so a directory created here must become theirs. */
static void
prepare_log_dir(Daemon *d, const char *dir)
{
    uid_t uid;
    gid_t gid;
    gboolean existed = g_file_test(dir, G_FILE_TEST_IS_DIR);

    if (g_mkdir_with_parents(dir, 0750) != 0)
        return; /* log files then fail to open; stderr and the journal still work */
    if (!existed && geteuid() == 0 &&
        privileges_lookup(config_get_string(d->config, "server", "user"),
                          config_get_string(d->config, "server", "group"), &uid, &gid, NULL) &&
        uid != 0 && chown(dir, uid, gid) != 0)
        g_printerr(_("postroomd: cannot give %s to the service user: %s\n"), dir,
                   g_strerror(errno));
}

static gboolean
reload_cb(gpointer data)
{
    Daemon *d = data;
    g_autoptr(GError) error = NULL;
    g_autoptr(Config) config = config_load(d->config_path, &error);

    g_message("reloading the configuration from %s", d->config_path);
    if (config == NULL || !config_validate(config, d->schemas, &error) ||
        !listeners_check(config, d->enabled, d->tls != NULL, &error)) {
        pr_log_event(G_LOG_LEVEL_WARNING, "CONFIG_RELOAD_FAILED", "configuration not reloaded: %s",
                     error->message);
        return G_SOURCE_CONTINUE;
    }
    g_autoptr(GPtrArray) kept = config_keep_static(config, d->config);
    for (guint i = 0; i < kept->len; i++)
        g_warning("%s changed; restart postroomd to apply it", (char *)kept->pdata[i]);
    if (!listeners_reconfigure(d->host, config, &error)) {
        pr_log_event(G_LOG_LEVEL_WARNING, "CONFIG_RELOAD_FAILED", "configuration not reloaded: %s",
                     error->message);
        return G_SOURCE_CONTINUE;
    }
    const char *cert = config_get_string(config, "tls", "certificate");
    const char *key = config_get_string(config, "tls", "key");
    if (d->tls != NULL && *cert != '\0' && !tls_context_reload(d->tls, cert, key, &error)) {
        g_warning("TLS certificate not reloaded, the old one stays in use: %s", error->message);
        g_clear_error(&error);
    }
    g_autofree char *log_dir = NULL;
    LogSettings log = { 0 };
    log_settings_from_config(config, &log, &log_dir, d->foreground);
    log_reconfigure(&log);
    auth_policy_from_config(&d->host->auth_policy, config);

    config_unref(d->host->config);
    d->host->config = config_ref(config);
    config_unref(d->config);
    d->config = config_ref(config);
    g_message("configuration reloaded");
    return G_SOURCE_CONTINUE;
}

static gboolean
quit_cb(gpointer data)
{
    Daemon *d = data;
    g_message("stopping");
    g_main_loop_quit(d->loop);
    return G_SOURCE_REMOVE;
}

static void
raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* The parent waits until the child has started (or failed), so that an
 * init script sees the real outcome and the real error message. */
static void
daemonize(Daemon *d)
{
    int fds[2];
    if (pipe(fds) != 0) {
        perror("postroomd: pipe");
        exit(EX_OSERR);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("postroomd: fork");
        exit(EX_OSERR);
    }
    if (pid > 0) {
        char buf[1024];
        close(fds[1]);
        ssize_t n = read(fds[0], buf, sizeof buf - 1);
        if (n > 0) {
            buf[n] = '\0';
            fprintf(stderr, "postroomd: %s\n", buf);
            _exit(EX_SOFTWARE);
        }
        _exit(n == 0 ? 0 : EX_SOFTWARE);
    }
    close(fds[0]);
    setsid();
    d->ready_fd = fds[1];
}

static void
detach_stdio(void)
{
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        if (null > STDERR_FILENO)
            close(null);
    }
}

int
_pr_daemon_main(int argc, char **argv)
{
    Daemon d = { .ready_fd = -1 };
    gboolean foreground = FALSE, check = FALSE, version = FALSE;
    char *config_path = NULL;
    g_autoptr(GError) error = NULL;

    setlocale(LC_ALL, "");
    const char *localedir = g_getenv("POSTROOM_LOCALEDIR");
    bindtextdomain(GETTEXT_PACKAGE, localedir != NULL ? localedir : LOCALEDIR);
    bind_textdomain_codeset(GETTEXT_PACKAGE, "UTF-8");
    textdomain(GETTEXT_PACKAGE);

    GOptionEntry entries[] = {
        { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
          NULL /* set below: the default is only known at build time */, N_("FILE") },
        { "foreground", 'f', 0, G_OPTION_ARG_NONE, &foreground,
          N_("Stay in the foreground and log to standard error"), NULL },
        { "check", 0, 0, G_OPTION_ARG_NONE, &check,
          N_("Check the configuration and the modules, then exit"), NULL },
        { "version", 'V', 0, G_OPTION_ARG_NONE, &version, N_("Print the version and exit"), NULL },
        { NULL }
    };
    g_autofree char *config_help =
        g_strdup_printf(_("Configuration file (default: %s)"), SYSCONFDIR "/postroomd.conf");
    entries[0].description = config_help;
    g_autoptr(GOptionContext) options = g_option_context_new(NULL);
    g_option_context_set_summary(options, _("Postroom mail server daemon."));
    g_option_context_add_main_entries(options, entries, GETTEXT_PACKAGE);
    g_option_context_set_translation_domain(options, GETTEXT_PACKAGE);
    if (!g_option_context_parse(options, &argc, &argv, &error)) {
        fprintf(stderr, "postroomd: %s\n", error->message);
        return EX_USAGE;
    }
    if (version) {
        printf(_("postroomd %s (module ABI %d.%d)\n"), PACKAGE_VERSION, PR_MODULE_ABI_MAJOR,
               PR_MODULE_ABI_MINOR);
        return 0;
    }
    d.config_path = config_path != NULL ? config_path : g_strdup(SYSCONFDIR "/postroomd.conf");
    d.foreground = foreground;
    if (!load_configuration(&d, &error) || !setup_tls(&d, &error) ||
        !listeners_check(d.config, d.enabled, d.tls != NULL, &error))
        fail(&d, EX_CONFIG, error->message);
    if (check) {
        printf("%s\n", _("configuration OK"));
        daemon_clear(&d);
        return 0;
    }

    raise_fd_limit();
    signal(SIGPIPE, SIG_IGN);
    if (!foreground)
        daemonize(&d);

    g_autofree char *log_dir = NULL;
    LogSettings log = { 0 };
    log_settings_from_config(d.config, &log, &log_dir, foreground);
    prepare_log_dir(&d, log_dir);
    log_setup(&log);
    d.logging = TRUE;

    d.host = host_new(d.config);
    d.host->tls = d.tls;
    if (!listeners_bind(d.host, d.enabled, &error))
        fail(&d, EX_UNAVAILABLE, error->message);
    if (!privileges_drop(config_get_string(d.config, "server", "user"),
                         config_get_string(d.config, "server", "group"), &error))
        fail(&d, EX_NOPERM, error->message);

    StoreSettings store_settings = { 0 };
    if (!store_settings_from_config(&store_settings, d.config, &error))
        fail(&d, EX_CONFIG, error->message);
    d.host->store = store_open(&store_settings, &error);
    store_settings_clear(&store_settings);
    if (d.host->store == NULL) {
        g_autofree char *msg = g_strdup_printf(
            _("cannot open the store: %s (run “postroomctl init” first?)"), error->message);
        fail(&d, EX_UNAVAILABLE, msg);
    }
    release_stale_locks(d.host);
    d.host->delivery = delivery_service_new(d.host);
    g_autofree char *spool = g_build_filename(d.host->data_dir, "spool", NULL);
    guint leftovers = spool_cleanup(spool, NULL);
    if (leftovers > 0)
        g_info("removed %u unfinished spool files left by a crash", leftovers);
    if (!loader_init_all(d.enabled, d.host, &error) || !listeners_start(d.host, &error))
        fail(&d, EX_SOFTWARE, error->message);
    housekeeping_start(d.host);

    d.loop = g_main_loop_new(NULL, FALSE);
    g_unix_signal_add(SIGTERM, quit_cb, &d);
    g_unix_signal_add(SIGINT, quit_cb, &d);
    g_unix_signal_add(SIGHUP, reload_cb, &d);
    g_message("postroomd %s started with %u modules", PACKAGE_VERSION, d.enabled->len);
    if (d.ready_fd >= 0) {
        close(d.ready_fd);
        d.ready_fd = -1;
        detach_stdio();
    }
    g_main_loop_run(d.loop);

    /* Tell clients, give their last writes a moment, then stop. */
    listeners_stop(d.host);
    gint64 deadline = g_get_monotonic_time() + 2 * G_USEC_PER_SEC;
    while (g_hash_table_size(d.host->connections) > 0 && g_get_monotonic_time() < deadline) {
        if (!g_main_context_iteration(NULL, FALSE))
            g_usleep(1000);
    }
    housekeeping_stop();
    loader_deinit_all(d.enabled, d.host);
    release_collector_claims(d.host);
    listeners_free(d.host);
    store_close(d.host->store);
    g_clear_pointer(&d.host->delivery, delivery_service_free);
    host_free(d.host);
    daemon_clear(&d);
    g_message("stopped");
    log_shutdown();
    return 0;
}
