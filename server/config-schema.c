/* SPDX-License-Identifier: GPL-3.0-or-later */

#include "config.h"

#include <glib/gi18n-lib.h>

/* The host's own settings. Defaults that depend on other values (the
 * SQLite connection string, the log directory) are empty here and derived
 * where they are used. */

static const char *const provider_choices[] = { "SQLite", "PostgreSQL", NULL };
static const char *const scheme_choices[] = { "yescrypt", "sha512-crypt", NULL };
static const char *const monitor_choices[] = { "none", "all", "selected", NULL };
static const char *const level_choices[] = { "error", "warning", "message", "info", "debug", NULL };

#define RELOAD PR_SETTING_FLAG_RELOADABLE

static const PrSettingSpec host_schema[] = {
    { "server", "data_dir", PR_SETTING_PATH, LOCALSTATEDIR, 0, 0, NULL,
      N_("Directory for the database, the message spool and state") },
    { "server", "module_dir", PR_SETTING_PATH, MODULEDIR, 0, 0, NULL,
      N_("Directory the modules are loaded from") },
    { "server", "user", PR_SETTING_STRING, "", 0, 0, NULL,
      N_("User to run as after binding the listening sockets (empty: do not change)") },
    { "server", "group", PR_SETTING_STRING, "", 0, 0, NULL,
      N_("Group to run as (empty: the user's primary group)") },
    { "server", "hostname", PR_SETTING_STRING, "", 0, 0, NULL,
      N_("Mail host name used in greetings and headers (empty: the machine's name)") },
    { "server", "max_connections", PR_SETTING_INT, "5000", 1, 1000000, NULL,
      N_("Connections accepted at once over all services"), RELOAD },
    { "server", "max_connections_per_ip", PR_SETTING_INT, "50", 1, 1000000, NULL,
      N_("Connections accepted at once from one client address"), RELOAD },
    { "modules", "enabled", PR_SETTING_STRING_LIST, "", 0, 0, NULL,
      N_("Modules to load, by name") },
    { "store", "provider", PR_SETTING_ENUM, "SQLite", 0, 0, provider_choices,
      N_("Database engine") },
    { "store", "cnc", PR_SETTING_STRING, "", 0, 0, NULL,
      N_("libgda connection string without credentials (empty: SQLite in data_dir)") },
    { "store", "username", PR_SETTING_STRING, "", 0, 0, NULL, N_("Database user name") },
    { "store", "password_file", PR_SETTING_PATH, "", 0, 0, NULL,
      N_("File holding the database password") },
    { "store", "workers", PR_SETTING_INT, "4", 1, 64, NULL,
      N_("Database worker threads, each with its own connection") },
    { "tls", "certificate", PR_SETTING_PATH, "", 0, 0, NULL,
      N_("PEM certificate chain, server certificate first"), RELOAD },
    { "tls", "key", PR_SETTING_PATH, "", 0, 0, NULL, N_("PEM private key"), RELOAD },
    { "tls", "priority", PR_SETTING_STRING, "NORMAL", 0, 0, NULL,
      N_("GnuTLS priority string (protocol versions and ciphers)") },
    { "auth", "lockout_attempts", PR_SETTING_INT, "3", 1, 99, NULL,
      N_("Failed logins from one address before it is locked out"), RELOAD },
    { "auth", "lockout_minutes", PR_SETTING_INT, "30", 1, 9999, NULL,
      N_("Minutes an address stays locked out"), RELOAD },
    { "auth", "audit_days", PR_SETTING_INT, "30", 1, 3650, NULL,
      N_("Days login attempts are kept in loginaudit"), RELOAD },
    { "auth", "password_scheme", PR_SETTING_ENUM, "yescrypt", 0, 0, scheme_choices,
      N_("Hash used for new passwords") },
    { "auth", "store_secrets", PR_SETTING_BOOL, "false", 0, 0, NULL,
      N_("Also store passwords in a readable form, as APOP and CRAM-MD5 need (a risk: see "
         "the administrator's guide)"),
      RELOAD },
    { "log", "dir", PR_SETTING_PATH, "", 0, 0, NULL,
      N_("Directory of the log files (empty: the logs directory in data_dir)"), RELOAD },
    { "log", "level", PR_SETTING_ENUM, "info", 0, 0, level_choices,
      N_("Most verbose level written"), RELOAD },
    { "log", "max_size", PR_SETTING_SIZE, "10M", 4096, 0, NULL,
      N_("Size at which a log file is renamed to .lbk and started anew"), RELOAD },
    { "access", "rules", PR_SETTING_STRING_LIST, "", 0, 0, NULL,
      N_("Access rules for every service: allow|deny CIDR|any [noauth]"), RELOAD },
    { "delivery", "default_domain", PR_SETTING_STRING, "", 0, 0, NULL,
      N_("Domain added to addresses without one, and always local (empty: the host name)"),
      RELOAD },
    { "delivery", "local_domains", PR_SETTING_STRING_LIST, "", 0, 0, NULL,
      N_("Local domains besides those added with postroomctl domain add; * and ? "
         "wildcards and full addresses allowed"),
      RELOAD },
    { "delivery", "implicit_user_mapping", PR_SETTING_BOOL, "true", 0, 0, NULL,
      N_("Deliver user@local-domain to the user of that name when no mapping matches"), RELOAD },
    { "delivery", "unknown_local_outgoing", PR_SETTING_BOOL, "false", 0, 0, NULL,
      N_("Send locally sent mail for unknown local addresses out to the Internet"), RELOAD },
    { "delivery", "fax_mailbox", PR_SETTING_STRING, "", 0, 0, NULL,
      N_("User receiving locally sent mail for unknown local addresses (fax servers)"), RELOAD },
    { "delivery", "hop_limit", PR_SETTING_INT, "30", 1, 1000, NULL,
      N_("Received: lines a message may carry before it is refused as looping"), RELOAD },
    { "delivery", "disk_reserve", PR_SETTING_SIZE, "100M", 0, 0, NULL,
      N_("Free disk space below which new mail from local senders is refused"), RELOAD },
    { "delivery", "max_message_size", PR_SETTING_SIZE, "50M", 1024, 0, NULL,
      N_("Largest message accepted"), RELOAD },
    { "delivery", "msgaudit", PR_SETTING_BOOL, "false", 0, 0, NULL,
      N_("Record deliveries and mailbox changes (POP3 deletions) in the msgaudit table"), RELOAD },
    { "delivery", "postmaster", PR_SETTING_STRING, "", 0, 0, NULL,
      N_("User who receives administrator alerts (quota)"), RELOAD },
    { "monitor", "incoming", PR_SETTING_ENUM, "none", 0, 0, monitor_choices,
      N_("Copy incoming mail for all, selected or no users"), RELOAD },
    { "monitor", "incoming_users", PR_SETTING_STRING_LIST, "", 0, 0, NULL,
      N_("Users whose incoming mail is copied (with incoming=selected)"), RELOAD },
    { "monitor", "incoming_target", PR_SETTING_STRING, "", 0, 0, NULL,
      N_("User or list receiving copies of incoming mail"), RELOAD },
    { "monitor", "incoming_min_size", PR_SETTING_SIZE, "0", 0, 0, NULL,
      N_("Smallest incoming message copied"), RELOAD },
    { "monitor", "outgoing", PR_SETTING_ENUM, "none", 0, 0, monitor_choices,
      N_("Copy outgoing mail of all, selected or no users"), RELOAD },
    { "monitor", "outgoing_users", PR_SETTING_STRING_LIST, "", 0, 0, NULL,
      N_("Users whose outgoing mail is copied (with outgoing=selected)"), RELOAD },
    { "monitor", "outgoing_target", PR_SETTING_STRING, "", 0, 0, NULL,
      N_("User or list receiving copies of outgoing mail"), RELOAD },
    { "monitor", "outgoing_min_size", PR_SETTING_SIZE, "0", 0, 0, NULL,
      N_("Smallest outgoing message copied"), RELOAD },
    { "monitor", "internal", PR_SETTING_ENUM, "none", 0, 0, monitor_choices,
      N_("Copy internal mail of all, selected or no users"), RELOAD },
    { "monitor", "internal_users", PR_SETTING_STRING_LIST, "", 0, 0, NULL,
      N_("Users whose internal mail is copied (with internal=selected)"), RELOAD },
    { "monitor", "internal_target", PR_SETTING_STRING, "", 0, 0, NULL,
      N_("User or list receiving copies of internal mail"), RELOAD },
    { "monitor", "internal_min_size", PR_SETTING_SIZE, "0", 0, 0, NULL,
      N_("Smallest internal message copied"), RELOAD },
    /* The host forgets obsolete UIDs (pr_collector_uids_async()); the
     * collector module's own settings share the group. */
    { "collector", "obsolete_uid_days", PR_SETTING_INT, "7", 0, 3650, NULL,
      N_("Days a collector remembers the UIDs of messages no longer on the remote server "
         "(0: forget them at once)"),
      RELOAD },
    { NULL }
};

/* Keys every service group accepts; group NULL means "the service's group". */
static const PrSettingSpec service_schema[] = {
    { NULL, "listen", PR_SETTING_STRING_LIST, "", 0, 0, NULL,
      N_("Addresses to listen on: ADDRESS:PORT, [IPv6]:PORT, with /tls for implicit TLS") },
    { NULL, "access", PR_SETTING_STRING_LIST, "", 0, 0, NULL,
      N_("Access rules of this service: allow|deny CIDR|any [noauth]"), RELOAD },
    { NULL, "max_connections", PR_SETTING_INT, "0", 0, 1000000, NULL,
      N_("Connections to this service at once (0: only the server limit)"), RELOAD },
    { NULL, "max_connections_per_ip", PR_SETTING_INT, "0", 0, 1000000, NULL,
      N_("Connections to this service from one address (0: the server's setting)"), RELOAD },
    { NULL, "idle_timeout", PR_SETTING_DURATION, "0", 0, 86400, NULL,
      N_("Seconds of silence before a client is disconnected (0: the protocol's default)"),
      RELOAD },
    { NULL, "require_tls_for_auth", PR_SETTING_BOOL, "false", 0, 0, NULL,
      N_("Refuse authentication on connections that are not encrypted"), RELOAD },
    { NULL }
};

const PrSettingSpec *
config_host_schema(void)
{
    return host_schema;
}

const PrSettingSpec *
config_service_schema(void)
{
    return service_schema;
}
