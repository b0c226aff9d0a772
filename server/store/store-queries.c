/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "store-queries.h"

/* All SQL of the store, shared by SQLite and PostgreSQL: only the schema
 * differs between providers (data/sql/<provider>/). Both support
 * "ON CONFLICT" (SQLite >= 3.24, PostgreSQL >= 9.5), which makes "already
 * exists" a row count instead of a provider-specific error code. */
static const char *const queries[Q_N_QUERIES] = {
    [Q_SCHEMA_BOOTSTRAP] = "CREATE TABLE IF NOT EXISTS schema_version ("
                           "version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)",
    [Q_SCHEMA_VERSIONS] = "SELECT version FROM schema_version ORDER BY version",
    [Q_SCHEMA_VERSION_ADD] = "INSERT INTO schema_version (version, applied_at) "
                             "VALUES (##version::gint, ##now::gint64)",

    [Q_USER_ADD] = "INSERT INTO users (name, full_name, pwhash, created) "
                   "VALUES (##name::string, ##full_name::string, ##pwhash::string, ##now::gint64) "
                   "ON CONFLICT (name) DO NOTHING",
    [Q_USER_ID] = "SELECT id FROM users WHERE name = ##name::string",
    [Q_USER_DELETE] = "DELETE FROM users WHERE name = ##name::string",
    [Q_USER_SET_PASSWORD] =
        "UPDATE users SET pwhash = ##pwhash::string WHERE name = ##name::string",
    [Q_USER_SET_ENABLED] = "UPDATE users SET enabled = ##enabled::gboolean "
                           "WHERE name = ##name::string",
    [Q_USER_GET] = "SELECT id, name, full_name, pwhash, enabled, quota_bytes, created "
                   "FROM users WHERE name = ##name::string",
    [Q_USER_LIST] = "SELECT id, name, full_name, pwhash, enabled, quota_bytes, created "
                    "FROM users ORDER BY name",
    [Q_FOLDER_ADD] = "INSERT INTO folders (user_id, name, uidvalidity, special_use) "
                     "VALUES (##user_id::gint64, ##name::string, ##uidvalidity::gint64, "
                     "##special_use::string::null)",
    [Q_FOLDER_LIST] = "SELECT id, name, uidvalidity, uidnext, special_use FROM folders "
                      "WHERE user_id = ##user_id::gint64 ORDER BY name",

    [Q_DOMAIN_ADD] = "INSERT INTO domains (name) VALUES (##name::string) "
                     "ON CONFLICT (name) DO NOTHING",
    [Q_DOMAIN_DELETE] = "DELETE FROM domains WHERE name = ##name::string",
    [Q_DOMAIN_LIST] = "SELECT id, name FROM domains ORDER BY name",

    /* "WHERE TRUE" keeps SQLite from reading ON CONFLICT as a join clause. */
    [Q_MAPPING_ADD] = "INSERT INTO mappings (pattern, target, position) "
                      "SELECT ##pattern::string, ##target::string, COALESCE(MAX(position), 0) + 1 "
                      "FROM mappings WHERE TRUE ON CONFLICT (pattern, target) DO NOTHING",
    [Q_MAPPING_DELETE_ALL] = "DELETE FROM mappings WHERE pattern = ##pattern::string",
    [Q_MAPPING_DELETE_ONE] = "DELETE FROM mappings "
                             "WHERE pattern = ##pattern::string AND target = ##target::string",
    [Q_MAPPING_LIST] = "SELECT id, pattern, target FROM mappings ORDER BY position, id",

    [Q_LIST_ADD] = "INSERT INTO lists (name, kind, description) "
                   "VALUES (##name::string, ##kind::string, ##description::string) "
                   "ON CONFLICT (name) DO NOTHING",
    [Q_LIST_DELETE] = "DELETE FROM lists WHERE name = ##name::string",
    [Q_LIST_LIST] = "SELECT id, name, kind, description FROM lists ORDER BY name",
    [Q_LIST_ID] = "SELECT id FROM lists WHERE name = ##name::string",
    [Q_LIST_MEMBER_ADD] = "INSERT INTO list_members (list_id, member) "
                          "VALUES (##list_id::gint64, ##member::string) "
                          "ON CONFLICT (list_id, member) DO NOTHING",
    [Q_LIST_MEMBER_REMOVE] = "DELETE FROM list_members "
                             "WHERE list_id = ##list_id::gint64 AND member = ##member::string",
    [Q_LIST_MEMBERS] = "SELECT member FROM list_members WHERE list_id = ##list_id::gint64 "
                       "ORDER BY member",

    [Q_AUDIT_ADD] = "INSERT INTO loginaudit "
                    "(datetime, ipaddress, username, service, mechanism, success, reason) "
                    "VALUES (##time::gint64, ##ip::string, ##username::string, ##service::string, "
                    "##mechanism::string, ##success::gboolean, ##reason::string)",
    [Q_AUDIT_LIST_ALL] = "SELECT id, datetime, ipaddress, username, service, mechanism, success, "
                         "reason FROM loginaudit ORDER BY datetime DESC, id DESC "
                         "LIMIT ##limit::gint64",
    [Q_AUDIT_LIST_IP] = "SELECT id, datetime, ipaddress, username, service, mechanism, success, "
                        "reason FROM loginaudit WHERE ipaddress = ##ip::string "
                        "ORDER BY datetime DESC, id DESC LIMIT ##limit::gint64",
    [Q_AUDIT_PURGE] = "DELETE FROM loginaudit WHERE datetime < ##before::gint64",

    [Q_LOCKOUT_LOCKED_UNTIL] = "SELECT locked_until FROM lockouts WHERE ipaddress = ##ip::string",
    /* One atomic statement, so concurrent failures from one address are all
     * counted. A window that has run out starts a new count; reaching
     * ##attempts locks until now + window. Every SET expression sees the old
     * row. The CAST gives PostgreSQL a type for "param + param" when it
     * prepares the statement. */
    [Q_LOCKOUT_FAIL] =
        "INSERT INTO lockouts (ipaddress, failures, first_failure, last_failure, locked_until) "
        "VALUES (##ip::string, 1, ##now::gint64, ##now::gint64, "
        "CASE WHEN ##attempts::gint64 <= 1 THEN CAST(##now::gint64 AS BIGINT) + ##window::gint64 "
        "ELSE 0 END) "
        "ON CONFLICT (ipaddress) DO UPDATE SET "
        "failures = CASE WHEN lockouts.first_failure + ##window::gint64 <= ##now::gint64 "
        "THEN 1 ELSE lockouts.failures + 1 END, "
        "first_failure = CASE WHEN lockouts.first_failure + ##window::gint64 <= ##now::gint64 "
        "THEN ##now::gint64 ELSE lockouts.first_failure END, "
        "last_failure = ##now::gint64, "
        "locked_until = CASE WHEN (CASE WHEN lockouts.first_failure + ##window::gint64 "
        "<= ##now::gint64 THEN 1 ELSE lockouts.failures + 1 END) >= ##attempts::gint64 "
        "THEN CAST(##now::gint64 AS BIGINT) + ##window::gint64 ELSE 0 END",
    [Q_LOCKOUT_STATE] =
        "SELECT failures, locked_until FROM lockouts WHERE ipaddress = ##ip::string",
    [Q_LOCKOUT_CLEAR] = "DELETE FROM lockouts WHERE ipaddress = ##ip::string",

    [Q_MODULE_GET] = "SELECT value FROM module_kv "
                     "WHERE module = ##module::string AND key = ##key::string",
    [Q_MODULE_SET] = "INSERT INTO module_kv (module, key, value) "
                     "VALUES (##module::string, ##key::string, ##value::string) "
                     "ON CONFLICT (module, key) DO UPDATE SET value = excluded.value",
    [Q_MODULE_DELETE] = "DELETE FROM module_kv "
                        "WHERE module = ##module::string AND key = ##key::string",
};

const char *
store_query_sql(StoreQuery query)
{
    g_return_val_if_fail(query < Q_N_QUERIES, NULL);
    return queries[query];
}
