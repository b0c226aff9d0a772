/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "config.h"

#include "store-queries.h"

/* All SQL of the store, shared by SQLite and PostgreSQL: only the schema
 * differs between providers (data/sql/<provider>/). Both support
 * "ON CONFLICT" (SQLite >= 3.24, PostgreSQL >= 9.5), which makes "already
 * exists" a row count instead of a provider-specific error code. */

/* Queue entries a sender may claim: due ones, and those whose claim ran
 * out (the instance died or hung). A lease of -1 marks the rows a claim is
 * taking until its transaction ends (see store_queue_claim()). */
#define QUEUE_DUE                                                                                  \
    "((state IN ('pending', 'deferred') AND next_try <= ##now::gint64) OR "                        \
    "(state = 'sending' AND claim_expires >= 0 AND claim_expires < ##now::gint64))"
#define QUEUE_ENTRY_SELECT                                                                         \
    "SELECT q.id, q.message_id, q.sender, q.recipient, q.state, q.priority, q.created, "           \
    "q.next_try, q.attempts, q.last_error, q.notify, q.orcpt, q.ret, q.envid, q.warned, "          \
    "q.claimed_by, q.claim_expires, m.spool_path, m.size, m.hdr_subject FROM queue q "             \
    "LEFT JOIN messages m ON m.id = q.message_id "
#define QUEUE_ONE_OR_ALL "(id = ##id::gint64 OR ##all::gboolean)"
#define COLLECTOR_SELECT                                                                           \
    "SELECT id, name, enabled, priority, password, created, claimed_by, claim_expires, "           \
    "session_started, last_run, last_result, run_requested FROM collectors "

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
    [Q_USER_GET] = "SELECT id, name, full_name, pwhash, enabled, quota_bytes, created, "
                   "used_bytes, forward_to, forward_keep_copy, assistants, assistant_only, "
                   "in_everyone, max_outgoing_size FROM users WHERE name = ##name::string",
    [Q_USER_LIST] = "SELECT id, name, full_name, pwhash, enabled, quota_bytes, created, "
                    "used_bytes, forward_to, forward_keep_copy, assistants, assistant_only, "
                    "in_everyone, max_outgoing_size FROM users ORDER BY name",
    [Q_USER_SET_QUOTA] = "UPDATE users SET quota_bytes = ##quota::gint64 "
                         "WHERE name = ##name::string",
    [Q_USER_SET_MAX_OUTGOING] = "UPDATE users SET max_outgoing_size = ##size::gint64 "
                                "WHERE name = ##name::string",
    [Q_FOLDER_ADD] = "INSERT INTO folders (user_id, name, uidvalidity, special_use) "
                     "VALUES (##user_id::gint64, ##name::string, ##uidvalidity::gint64, "
                     "NULLIF(##special_use::string::null, ''))",
    [Q_FOLDER_LIST] = "SELECT id, name, uidvalidity, uidnext, special_use FROM folders "
                      "WHERE user_id = ##user_id::gint64 ORDER BY name",

    /* APOP/CRAM-MD5 secrets (migration 004): only these statements read or
     * write user_secrets, so no user listing can carry a secret. */
    [Q_SECRET_SET] = "INSERT INTO user_secrets (user_id, secret, updated) "
                     "VALUES (##user_id::gint64, ##secret::string, ##now::gint64) "
                     "ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, "
                     "updated = excluded.updated",
    [Q_SECRET_DROP] = "DELETE FROM user_secrets WHERE user_id IN "
                      "(SELECT id FROM users WHERE name = ##name::string)",
    [Q_SECRET_DROP_ALL] = "DELETE FROM user_secrets",
    /* One statement whether or not the user or its secret exists, so that
     * the three cases cost the same. */
    [Q_SECRET_GET] = "SELECT u.name, u.enabled, s.secret FROM users u "
                     "LEFT JOIN user_secrets s ON s.user_id = u.id WHERE u.name = ##name::string",
    [Q_SECRET_NAMES] = "SELECT u.name FROM user_secrets s JOIN users u ON u.id = s.user_id "
                       "ORDER BY u.name",

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
    [Q_DIRECTORY_VERSION] = "SELECT version FROM directory_version WHERE id = 1",
    [Q_DIRECTORY_BUMP] = "UPDATE directory_version SET version = version + 1 WHERE id = 1",
    [Q_DIR_USERS] = "SELECT name, forward_to, forward_keep_copy, assistants, assistant_only, "
                    "in_everyone, full_name FROM users ORDER BY name",
    [Q_DIR_LISTS] = "SELECT l.name, l.kind, l.local_senders_only, m.member FROM lists l "
                    "LEFT JOIN list_members m ON m.list_id = l.id ORDER BY l.name, m.member",
    [Q_USER_SET_ROUTING] =
        "UPDATE users SET forward_to = ##forward_to::string, "
        "forward_keep_copy = ##keep::gboolean, assistants = ##assistants::string, "
        "assistant_only = ##assistant_only::gboolean, in_everyone = ##everyone::gboolean "
        "WHERE name = ##name::string",
    [Q_LIST_SET_LOCAL_ONLY] = "UPDATE lists SET local_senders_only = ##local_only::gboolean "
                              "WHERE name = ##name::string",

    [Q_MESSAGE_ADD] = "INSERT INTO messages (spool_path, size, received, envelope_from, "
                      "hdr_subject, hdr_from, hdr_date, hdr_message_id) VALUES "
                      "(##path::string, ##size::gint64, ##received::gint64, ##sender::string, "
                      "NULLIF(##subject::string::null, ''), NULLIF(##from::string::null, ''), "
                      "NULLIF(##date::string::null, ''), NULLIF(##message_id::string::null, ''))",
    [Q_MESSAGE_ID_BY_PATH] = "SELECT id FROM messages WHERE spool_path = ##path::string",
    /* The ids of a delivery batch's messages, in one statement: the newest
     * rows are the batch's own unless another instance inserted meanwhile
     * (store_deliver_batch() looks those up by path). */
    [Q_MESSAGES_NEWEST] = "SELECT id, spool_path FROM messages ORDER BY id DESC LIMIT ##n::gint64",
    /* A spool file lives while a mailbox or an unfinished queue entry uses it. */
    [Q_MESSAGE_REFS] =
        "SELECT (SELECT COUNT(*) FROM folder_messages WHERE message_id = ##id::gint64) + "
        "(SELECT COUNT(*) FROM queue WHERE message_id = ##id::gint64 "
        "AND state IN ('pending', 'sending', 'deferred', 'held')), "
        "(SELECT spool_path FROM messages WHERE id = ##id::gint64)",
    [Q_MESSAGE_DELETE] = "DELETE FROM messages WHERE id = ##id::gint64",
    [Q_FOLDER_OF_USER] = "SELECT f.id, f.uidvalidity FROM folders f "
                         "JOIN users u ON u.id = f.user_id "
                         "WHERE u.name = ##name::string AND f.name = ##folder::string",
    [Q_FOLDER_USER] = "SELECT user_id FROM folders WHERE id = ##id::gint64",
    /* ##n UIDs and modseqs of a user's INBOX for one delivery batch. Update
     * first: the row lock it takes makes the read that follows
     * (Q_INBOX_DELIVERY_STATE) safe against a concurrent delivery on
     * another instance. */
    [Q_INBOX_TAKE_UIDS] = "UPDATE folders SET uidnext = uidnext + ##n::gint64, "
                          "highestmodseq = highestmodseq + ##n::gint64 WHERE name = 'INBOX' "
                          "AND user_id = (SELECT id FROM users WHERE name = ##name::string)",
    [Q_INBOX_DELIVERY_STATE] =
        "SELECT f.id, f.uidnext, f.highestmodseq, u.id, u.used_bytes, u.quota_bytes, "
        "u.quota_alert FROM folders f JOIN users u ON u.id = f.user_id "
        "WHERE u.name = ##name::string AND f.name = 'INBOX'",
    [Q_FOLDER_MESSAGE_ADD] =
        "INSERT INTO folder_messages (folder_id, message_id, uid, modseq, internaldate, "
        "header_prefix) VALUES (##folder::gint64, ##message::gint64, ##uid::gint64, "
        "##modseq::gint64, ##date::gint64, ##prefix::string)",
    [Q_USER_USAGE_ADD] = "UPDATE users SET used_bytes = used_bytes + ##delta::gint64 "
                         "WHERE id = ##id::gint64",
    [Q_USER_USAGE_ADD_BY_NAME] = "UPDATE users SET used_bytes = used_bytes + ##delta::gint64 "
                                 "WHERE name = ##name::string",
    [Q_USER_QUOTA_STATE] = "SELECT used_bytes, quota_bytes, quota_alert, name FROM users "
                           "WHERE id = ##id::gint64",
    [Q_USER_QUOTA_ALERT_SET] = "UPDATE users SET quota_alert = ##level::gint "
                               "WHERE id = ##id::gint64",
    [Q_QUEUE_ADD] = "INSERT INTO queue (message_id, sender, recipient, created, next_try, notify, "
                    "orcpt, ret, envid) "
                    "VALUES (##message::gint64, ##sender::string, ##recipient::string, "
                    "##now::gint64, ##now::gint64, ##notify::string, ##orcpt::string, "
                    "##ret::string, ##envid::string)",
    [Q_MSGAUDIT_ADD] = "INSERT INTO msgaudit (datetime, component, owner, actionuser, cmd, "
                       "ipaddr, sourcefolder, subject, sender, msgdate) VALUES (##now::gint64, "
                       "##component::string, ##owner::string, ##actor::string, ##cmd::string, "
                       "##ip::string, ##folder::string, ##subject::string, ##sender::string, "
                       "##msgdate::string)",
    /* For tests: a user's msgaudit rows. */
    [Q_MSGAUDIT_COUNT] = "SELECT COUNT(*) FROM msgaudit WHERE owner = ##owner::string",

    [Q_QUEUE_LIST] = QUEUE_ENTRY_SELECT "WHERE (q.state = ##state::string OR ##all::gboolean) "
                                        "ORDER BY q.id",
    [Q_QUEUE_GET] = QUEUE_ENTRY_SELECT "WHERE q.id = ##id::gint64",
    /* The outer condition is checked again on the newest row version after
     * waiting for another instance's claim of the same row (PostgreSQL, read
     * committed), so no entry is ever claimed twice. */
    [Q_QUEUE_CLAIM_MARK] = "UPDATE queue SET state = 'sending', claimed_by = ##instance::string, "
                           "claim_expires = -1 WHERE id IN (SELECT id FROM queue WHERE " QUEUE_DUE
                           " ORDER BY priority DESC, message_id, id LIMIT ##max::gint64) "
                           "AND " QUEUE_DUE,
    [Q_QUEUE_ANY_DUE] = "SELECT id FROM queue WHERE " QUEUE_DUE " LIMIT 1",
    [Q_QUEUE_CLAIMED] = QUEUE_ENTRY_SELECT "WHERE q.claimed_by = ##instance::string "
                                           "AND q.claim_expires = -1 "
                                           "ORDER BY q.priority DESC, q.message_id, q.id",
    [Q_QUEUE_CLAIM_LEASE] = "UPDATE queue SET claim_expires = ##lease::gint64 "
                            "WHERE claimed_by = ##instance::string AND claim_expires = -1",
    /* next_try of a finished entry is when it finished (for the purge). */
    [Q_QUEUE_FINISH] = "UPDATE queue SET state = ##state::string, attempts = attempts + 1, "
                       "next_try = ##now::gint64, "
                       "last_error = COALESCE(NULLIF(##reply::string::null, ''), last_error), "
                       "claimed_by = '', claim_expires = 0 WHERE id = ##id::gint64 "
                       "AND state = 'sending' AND claimed_by = ##instance::string",
    [Q_QUEUE_DEFER] = "UPDATE queue SET state = 'deferred', attempts = attempts + 1, "
                      "next_try = ##next_try::gint64, "
                      "last_error = COALESCE(NULLIF(##reply::string::null, ''), last_error), "
                      "claimed_by = '', claim_expires = 0 WHERE id = ##id::gint64 "
                      "AND state = 'sending' AND claimed_by = ##instance::string",
    [Q_QUEUE_DEFER_WARNED] =
        "UPDATE queue SET state = 'deferred', attempts = attempts + 1, "
        "next_try = ##next_try::gint64, warned = ##now::gint64, "
        "last_error = COALESCE(NULLIF(##reply::string::null, ''), last_error), "
        "claimed_by = '', claim_expires = 0 WHERE id = ##id::gint64 "
        "AND state = 'sending' AND claimed_by = ##instance::string",
    [Q_QUEUE_UNCLAIM] = "UPDATE queue SET state = 'pending', next_try = ##next_try::gint64, "
                        "last_error = COALESCE(NULLIF(##reply::string::null, ''), last_error), "
                        "claimed_by = '', claim_expires = 0 WHERE id = ##id::gint64 "
                        "AND state = 'sending' AND claimed_by = ##instance::string",
    [Q_QUEUE_MESSAGE_OF] = "SELECT message_id FROM queue WHERE id = ##id::gint64",
    /* A row lock on the message before its references are counted: two
     * transactions that each drop a reference cannot both see the other's
     * as still there (PostgreSQL), so the last one deletes the message. */
    [Q_QUEUE_LOCK_MESSAGE] = "UPDATE messages SET received = received WHERE id = ##id::gint64",
    [Q_QUEUE_HOLD] = "UPDATE queue SET state = 'held' WHERE " QUEUE_ONE_OR_ALL
                     " AND state IN ('pending', 'deferred')",
    [Q_QUEUE_RELEASE] = "UPDATE queue SET state = 'pending', next_try = ##now::gint64 "
                        "WHERE " QUEUE_ONE_OR_ALL " AND state = 'held'",
    [Q_QUEUE_FLUSH] = "UPDATE queue SET next_try = ##now::gint64 WHERE " QUEUE_ONE_OR_ALL
                      " AND state IN ('pending', 'deferred')",
    /* 'deleting' never leaves the transaction: it names the rows whose
     * messages must be checked before the rows go. */
    [Q_QUEUE_DELETE_MARK] = "UPDATE queue SET state = 'deleting' WHERE id IN (SELECT id FROM queue "
                            "WHERE " QUEUE_ONE_OR_ALL " AND state IN ('pending', 'deferred', "
                            "'held') ORDER BY id LIMIT ##limit::gint64) "
                            "AND state IN ('pending', 'deferred', 'held')",
    [Q_QUEUE_MARKED_MESSAGES] = "SELECT DISTINCT message_id FROM queue WHERE state = 'deleting'",
    [Q_QUEUE_DELETE_MARKED] = "DELETE FROM queue WHERE state = 'deleting'",
    [Q_QUEUE_SET_PRIORITY] = "UPDATE queue SET priority = ##priority::gint "
                             "WHERE message_id = ##message::gint64",
    [Q_QUEUE_RELEASE_INSTANCE] = "UPDATE queue SET state = 'pending', claimed_by = '', "
                                 "claim_expires = 0 WHERE claimed_by = ##instance::string "
                                 "AND state = 'sending'",
    [Q_QUEUE_PURGE] = "DELETE FROM queue WHERE state IN ('delivered', 'failed') "
                      "AND next_try < ##before::gint64",
    /* Messages nothing uses any more: a reference dropped concurrently by
     * code that does not lock the message first can leave one behind. Its
     * spool file then goes with the spool sweep. */
    [Q_QUEUE_PURGE_ORPHANS] =
        "DELETE FROM messages WHERE id NOT IN (SELECT message_id FROM folder_messages) "
        "AND id NOT IN (SELECT message_id FROM queue "
        "WHERE state IN ('pending', 'sending', 'deferred', 'held'))",

    /* Collectors (migration 005). Only COLLECTOR_SELECT reads the ISP
     * password, for the module and for postroomctl, which never prints it. */
    [Q_COLLECTOR_ADD] = "INSERT INTO collectors (name, enabled, priority, password, created) "
                        "VALUES (##name::string, ##enabled::gboolean, ##priority::gint, "
                        "##password::string, ##now::gint64) ON CONFLICT (name) DO NOTHING",
    [Q_COLLECTOR_ID] = "SELECT id FROM collectors WHERE name = ##name::string",
    [Q_COLLECTOR_EXISTS] = "SELECT id FROM collectors WHERE id = ##id::gint64",
    /* The first write of a change: SQLite's write lock from the start. */
    [Q_COLLECTOR_TOUCH] = "UPDATE collectors SET enabled = enabled WHERE id = ##id::gint64",
    /* Its options and UIDs go with it (ON DELETE CASCADE). */
    [Q_COLLECTOR_DELETE] = "DELETE FROM collectors WHERE id = ##id::gint64",
    [Q_COLLECTOR_LIST] =
        COLLECTOR_SELECT "WHERE (enabled OR ##all::gboolean) ORDER BY priority, id",
    [Q_COLLECTOR_GET] = COLLECTOR_SELECT "WHERE name = ##name::string",
    [Q_COLLECTOR_SET_ENABLED] = "UPDATE collectors SET enabled = ##enabled::gboolean "
                                "WHERE id = ##id::gint64",
    [Q_COLLECTOR_SET_PRIORITY] = "UPDATE collectors SET priority = ##priority::gint "
                                 "WHERE id = ##id::gint64",
    [Q_COLLECTOR_SET_PASSWORD] = "UPDATE collectors SET password = ##password::string "
                                 "WHERE id = ##id::gint64",
    [Q_COLLECTOR_OPTIONS_ALL] = "SELECT collector_id, name, value FROM collector_options",
    [Q_COLLECTOR_OPTIONS] = "SELECT collector_id, name, value FROM collector_options "
                            "WHERE collector_id = ##id::gint64",
    [Q_COLLECTOR_OPTION_SET] =
        "INSERT INTO collector_options (collector_id, name, value) "
        "VALUES (##id::gint64, ##name::string, ##value::string) "
        "ON CONFLICT (collector_id, name) DO UPDATE SET value = excluded.value",
    [Q_COLLECTOR_OPTION_UNSET] = "DELETE FROM collector_options "
                                 "WHERE collector_id = ##id::gint64 AND name = ##name::string",
    [Q_COLLECTOR_REQUEST_RUN] = "UPDATE collectors SET run_requested = ##now::gint64 "
                                "WHERE id = ##id::gint64",
    [Q_COLLECTOR_REQUESTED] = "SELECT id, run_requested FROM collectors "
                              "WHERE run_requested > 0 AND enabled ORDER BY priority, id",
    /* Free, held by this instance (a renewal keeps the session's start), or
     * held by an instance whose lease ran out. Every SET expression sees the
     * old row. */
    [Q_COLLECTOR_CLAIM] = "UPDATE collectors SET claimed_by = ##instance::string, "
                          "claim_expires = ##lease::gint64, session_started = CASE WHEN "
                          "claimed_by = ##instance::string AND claim_expires >= ##now::gint64 "
                          "THEN session_started ELSE ##now::gint64 END "
                          "WHERE id = ##id::gint64 AND enabled AND (claimed_by = '' OR "
                          "claimed_by = ##instance::string OR claim_expires < ##now::gint64)",
    /* A "run now" made before the session began was answered by it. */
    [Q_COLLECTOR_END] = "UPDATE collectors SET last_run = ##now::gint64, "
                        "last_result = ##result::string, run_requested = CASE WHEN "
                        "run_requested <= session_started THEN 0 ELSE run_requested END, "
                        "claimed_by = '', claim_expires = 0, session_started = 0 "
                        "WHERE id = ##id::gint64 AND claimed_by = ##instance::string",
    /* At start-up (a crash left them) and at shutdown (a session that did
     * not end in time): the run's result stays; a "run now" stays asked. */
    [Q_COLLECTOR_RELEASE_INSTANCE] = "UPDATE collectors SET claimed_by = '', claim_expires = 0, "
                                     "session_started = 0 WHERE claimed_by = ##instance::string",
    [Q_COLLECTOR_UID_COUNTS] = "SELECT collector_id, CAST(COUNT(*) AS BIGINT) "
                               "FROM collector_uids GROUP BY collector_id",
    [Q_COLLECTOR_UID_STATES] = "SELECT state, CAST(COUNT(*) AS BIGINT) FROM collector_uids "
                               "WHERE collector_id = ##id::gint64 GROUP BY state",
    [Q_COLLECTOR_UIDS_PURGE] = "DELETE FROM collector_uids WHERE collector_id = ##id::gint64 "
                               "AND missing_since > 0 AND missing_since <= ##before::gint64",
    [Q_COLLECTOR_UIDS_ALL] = "SELECT uid, state, first_seen, missing_since FROM collector_uids "
                             "WHERE collector_id = ##id::gint64",
    [Q_COLLECTOR_UID_MISSING] = "UPDATE collector_uids SET missing_since = ##now::gint64 "
                                "WHERE collector_id = ##id::gint64 AND uid = ##uid::string",
    [Q_COLLECTOR_UID_LISTED] = "UPDATE collector_uids SET missing_since = 0 "
                               "WHERE collector_id = ##id::gint64 AND uid = ##uid::string",
    [Q_COLLECTOR_UID_DELETE] = "DELETE FROM collector_uids "
                               "WHERE collector_id = ##id::gint64 AND uid = ##uid::string",
    /* Keeps first_seen of a known UID. No row when the collector is gone
     * (deleted while a session ran): nothing is recorded, nothing fails. */
    [Q_COLLECTOR_UID_SET] = "INSERT INTO collector_uids (collector_id, uid, state, first_seen, "
                            "updated) SELECT id, ##uid::string, ##state::string, ##now::gint64, "
                            "##now::gint64 FROM collectors WHERE id = ##id::gint64 "
                            "ON CONFLICT (collector_id, uid) DO UPDATE SET state = excluded.state, "
                            "updated = excluded.updated, missing_since = 0",
    [Q_COLLECTOR_FORGET] = "DELETE FROM collector_uids WHERE collector_id = ##id::gint64",
    /* The Query flow (migration 007): Q_COLLECTOR_UID_SET with the token,
     * the addresses asked and the time. */
    [Q_COLLECTOR_UID_QUERY] =
        "INSERT INTO collector_uids (collector_id, uid, state, first_seen, updated, query_token, "
        "query_rcpts, queried_at) SELECT id, ##uid::string, 'queried', ##now::gint64, "
        "##now::gint64, ##token::string, ##rcpts::string, ##now::gint64 FROM collectors "
        "WHERE id = ##id::gint64 ON CONFLICT (collector_id, uid) DO UPDATE SET "
        "state = excluded.state, updated = excluded.updated, missing_since = 0, "
        "query_token = excluded.query_token, query_rcpts = excluded.query_rcpts, "
        "queried_at = excluded.queried_at",
    [Q_COLLECTOR_QUERY_FIND] =
        "SELECT u.collector_id, c.name, u.uid, u.state, u.queried_at, u.query_rcpts "
        "FROM collector_uids u JOIN collectors c ON c.id = u.collector_id "
        "WHERE u.query_token = ##token::string",
    [Q_COLLECTOR_UID_STATE] = "SELECT state FROM collector_uids "
                              "WHERE collector_id = ##id::gint64 AND uid = ##uid::string",
    /* Downloaded messages stay downloaded: fetching them again is
     * `collector forget`'s. */
    [Q_COLLECTOR_UID_REQUEST] =
        "UPDATE collector_uids SET state = 'requested', updated = ##now::gint64 "
        "WHERE collector_id = ##id::gint64 AND uid = ##uid::string "
        "AND state IN ('queried', 'left', 'requested')",

    [Q_FOLDER_LOCK_SERIAL] = "UPDATE folders SET lock_serial = lock_serial + 1 "
                             "WHERE id = ##id::gint64",
    [Q_FOLDER_LOCK_SERIAL_BY_NAME] =
        "UPDATE folders SET lock_serial = lock_serial + 1 WHERE name = ##folder::string "
        "AND user_id = (SELECT id FROM users WHERE name = ##name::string)",
    [Q_LOCK_PURGE_EXPIRED] = "DELETE FROM mailbox_locks WHERE folder_id = ##id::gint64 "
                             "AND expires < ##now::gint64",
    [Q_LOCK_HOLDERS] = "SELECT holder, exclusive FROM mailbox_locks "
                       "WHERE folder_id = ##id::gint64",
    [Q_LOCK_ADD] = "INSERT INTO mailbox_locks (folder_id, holder, instance, exclusive, expires) "
                   "VALUES (##id::gint64, ##holder::string, ##instance::string, "
                   "##exclusive::gboolean, ##expires::gint64)",
    [Q_LOCK_REFRESH] = "UPDATE mailbox_locks SET expires = ##expires::gint64 "
                       "WHERE folder_id = ##id::gint64 AND holder = ##holder::string",
    [Q_LOCK_RELEASE] = "DELETE FROM mailbox_locks WHERE folder_id = ##id::gint64 "
                       "AND holder = ##holder::string",
    [Q_LOCK_RELEASE_INSTANCE] = "DELETE FROM mailbox_locks WHERE instance = ##instance::string",
    [Q_MAILBOX_LIST] = "SELECT fm.uid, fm.message_id, m.size, m.spool_path, fm.header_prefix, "
                       "fm.flags, fm.modseq, fm.internaldate FROM folder_messages fm JOIN messages "
                       "m ON m.id = fm.message_id "
                       "WHERE fm.folder_id = ##id::gint64 AND fm.held = ##held::gboolean "
                       "ORDER BY fm.uid",
    /* The summary headers are for msgaudit rows. */
    [Q_MAILBOX_ENTRY] = "SELECT fm.message_id, m.size, fm.header_prefix, m.hdr_subject, "
                        "m.envelope_from, m.hdr_date FROM folder_messages fm "
                        "JOIN messages m ON m.id = fm.message_id "
                        "WHERE fm.folder_id = ##id::gint64 AND fm.uid = ##uid::gint64",
    [Q_MAILBOX_DELETE] = "DELETE FROM folder_messages WHERE folder_id = ##id::gint64 "
                         "AND uid = ##uid::gint64",
    [Q_MAILBOX_HOLD] = "UPDATE folder_messages SET held = ##held::gboolean "
                       "WHERE folder_id = ##id::gint64 AND uid = ##uid::gint64",
/* postroomctl mailbox. The header prefixes are ASCII (Delivered-To with
 * an IDNA domain), so LENGTH() counts their octets. */
#define MAILBOX_OCTETS "m.size + LENGTH(fm.header_prefix)"
    [Q_MAILBOX_SUMMARY] =
        "SELECT u.name, f.id, "
        "CAST(SUM(CASE WHEN fm.held THEN 0 WHEN fm.uid IS NULL THEN 0 ELSE 1 END) AS BIGINT), "
        "CAST(SUM(CASE WHEN fm.held THEN 0 WHEN fm.uid IS NULL THEN 0 "
        "ELSE " MAILBOX_OCTETS " END) AS BIGINT), "
        "CAST(SUM(CASE WHEN fm.held THEN 1 ELSE 0 END) AS BIGINT), "
        "CAST(SUM(CASE WHEN fm.held THEN " MAILBOX_OCTETS " ELSE 0 END) AS BIGINT) "
        "FROM users u JOIN folders f ON f.user_id = u.id AND f.name = 'INBOX' "
        "LEFT JOIN folder_messages fm ON fm.folder_id = f.id "
        "LEFT JOIN messages m ON m.id = fm.message_id "
        "WHERE u.name = ##name::string OR ##all::gboolean GROUP BY u.name, f.id ORDER BY u.name",
    [Q_MAILBOX_LOCKS] = "SELECT u.name, f.name, l.holder, l.instance, l.exclusive, l.expires "
                        "FROM mailbox_locks l JOIN folders f ON f.id = l.folder_id "
                        "JOIN users u ON u.id = f.user_id "
                        "WHERE u.name = ##name::string OR ##all::gboolean "
                        "ORDER BY u.name, f.name, l.expires",
    [Q_MAILBOX_LOCK_REMOVE] =
        "DELETE FROM mailbox_locks WHERE holder = ##holder::string AND folder_id = "
        "(SELECT f.id FROM folders f JOIN users u ON u.id = f.user_id "
        "WHERE u.name = ##name::string AND f.name = ##folder::string)",
    [Q_MAILBOX_HELD] = "SELECT fm.uid, m.size, fm.header_prefix, fm.internaldate, "
                       "m.envelope_from, m.hdr_subject, m.hdr_from, m.hdr_date, m.hdr_message_id "
                       "FROM folder_messages fm JOIN messages m ON m.id = fm.message_id "
                       "WHERE fm.folder_id = ##id::gint64 AND fm.held = ##held::gboolean "
                       "ORDER BY fm.uid",
#undef MAILBOX_OCTETS

    /* IMAP's side of mailboxes (store-mail-imap.c). Every change writes the
     * folder row first: the row lock orders it with deliveries and other
     * sessions (PostgreSQL), and SQLite takes its write lock at once. */
    [Q_MAILBOX_IMAP_EXPUNGE_TOUCH] = "UPDATE folders SET lock_serial = lock_serial + 1, "
                                     "highestmodseq = highestmodseq + 1 WHERE id = ##id::gint64",
    [Q_MAILBOX_IMAP_STATE] = "SELECT uidnext, highestmodseq, recent_uid FROM folders "
                             "WHERE id = ##id::gint64",
    /* A sync's delta (store_mailbox_snapshot_since()): whether the messages
     * up to a UID are still those a session has, then what changed. */
    [Q_MAILBOX_IMAP_UID_SUM] =
        "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(uid), 0) AS BIGINT) "
        "FROM folder_messages WHERE folder_id = ##id::gint64 AND held = ##held::gboolean "
        "AND uid <= ##last::gint64",
    [Q_MAILBOX_IMAP_LIST_SINCE] =
        "SELECT fm.uid, fm.message_id, m.size, m.spool_path, fm.header_prefix, fm.flags, "
        "fm.modseq, fm.internaldate FROM folder_messages fm JOIN messages m "
        "ON m.id = fm.message_id WHERE fm.folder_id = ##id::gint64 "
        "AND fm.held = ##held::gboolean AND fm.modseq > ##modseq::gint64 ORDER BY fm.uid",
    [Q_MAILBOX_IMAP_TAKE_RECENT] = "UPDATE folders SET recent_uid = uidnext, "
                                   "lock_serial = lock_serial + 1 WHERE id = ##id::gint64",
    [Q_MAILBOX_IMAP_FLAGS_RANGE] = "SELECT uid, flags, modseq FROM folder_messages "
                                   "WHERE folder_id = ##id::gint64 AND held = ##held::gboolean "
                                   "AND uid BETWEEN ##min::gint64 AND ##max::gint64",
    [Q_MAILBOX_IMAP_FLAGS_SET] = "UPDATE folder_messages SET flags = ##flags::string, "
                                 "modseq = ##modseq::gint64 WHERE folder_id = ##id::gint64 "
                                 "AND uid = ##uid::gint64",
    [Q_MAILBOX_IMAP_SET_HIGHESTMODSEQ] = "UPDATE folders SET highestmodseq = ##modseq::gint64 "
                                         "WHERE id = ##id::gint64",
    [Q_MAILBOX_IMAP_FOLDER_BY_NAME] = "SELECT id, uidvalidity FROM folders "
                                      "WHERE user_id = ##user_id::gint64 AND name = ##name::string",
    [Q_MAILBOX_IMAP_ENTRIES] =
        "SELECT fm.uid, fm.message_id, fm.flags, fm.internaldate, fm.header_prefix, m.size "
        "FROM folder_messages fm JOIN messages m ON m.id = fm.message_id "
        "WHERE fm.folder_id = ##id::gint64 AND fm.held = ##held::gboolean "
        "AND fm.uid BETWEEN ##min::gint64 AND ##max::gint64 ORDER BY fm.uid",
    [Q_MAILBOX_IMAP_TAKE_UIDS] = "UPDATE folders SET uidnext = uidnext + ##n::gint64, "
                                 "highestmodseq = highestmodseq + ##n::gint64, "
                                 "lock_serial = lock_serial + 1 WHERE id = ##id::gint64",
    [Q_MAILBOX_IMAP_COPY_ADD] =
        "INSERT INTO folder_messages (folder_id, message_id, uid, flags, modseq, internaldate, "
        "header_prefix) VALUES (##folder::gint64, ##message::gint64, ##uid::gint64, "
        "##flags::string, ##modseq::gint64, ##date::gint64, ##prefix::string)",
    [Q_MAILBOX_IMAP_MIME_ONE] = "SELECT message_id, envelope, bodystructure, body, sections "
                                "FROM message_mime WHERE message_id = ##id::gint64",
    [Q_MAILBOX_IMAP_MIME_RANGE] =
        "SELECT mm.message_id, mm.envelope, mm.bodystructure, mm.body, mm.sections "
        "FROM message_mime mm JOIN folder_messages fm ON fm.message_id = mm.message_id "
        "WHERE fm.folder_id = ##id::gint64 AND fm.uid BETWEEN ##min::gint64 AND ##max::gint64",
    /* store_mime_get()'s batches: 16 places, unused ones 0. */
    [Q_MAILBOX_IMAP_MIME_SOME] =
        "SELECT message_id, envelope, bodystructure, body, sections FROM message_mime "
        "WHERE message_id IN (##i0::gint64, ##i1::gint64, ##i2::gint64, ##i3::gint64, "
        "##i4::gint64, ##i5::gint64, ##i6::gint64, ##i7::gint64, ##i8::gint64, ##i9::gint64, "
        "##i10::gint64, ##i11::gint64, ##i12::gint64, ##i13::gint64, ##i14::gint64, "
        "##i15::gint64)",
    /* Two sessions may make the same row at once: the first one stays. A
     * message expunged meanwhile (another session's snapshot still lists
     * it) gets none. */
    [Q_MAILBOX_IMAP_MIME_ADD] =
        "INSERT INTO message_mime (message_id, envelope, bodystructure, body, sections) "
        "SELECT id, ##envelope::string, ##bodystructure::string, ##body::string, "
        "##sections::string FROM messages WHERE id = ##id::gint64 "
        "ON CONFLICT (message_id) DO NOTHING",
    /* The folders watched for changes by other instances, 32 at a time
     * (libgda has no list parameters); unused places hold 0, no folder's
     * id. */
    [Q_MAILBOX_IMAP_WATCH] =
        "SELECT id, highestmodseq, uidnext FROM folders WHERE id IN ("
        "##i0::gint64, ##i1::gint64, ##i2::gint64, ##i3::gint64, ##i4::gint64, "
        "##i5::gint64, ##i6::gint64, ##i7::gint64, ##i8::gint64, ##i9::gint64, "
        "##i10::gint64, ##i11::gint64, ##i12::gint64, ##i13::gint64, ##i14::gint64, "
        "##i15::gint64, ##i16::gint64, ##i17::gint64, ##i18::gint64, ##i19::gint64, "
        "##i20::gint64, ##i21::gint64, ##i22::gint64, ##i23::gint64, ##i24::gint64, "
        "##i25::gint64, ##i26::gint64, ##i27::gint64, ##i28::gint64, ##i29::gint64, "
        "##i30::gint64, ##i31::gint64"
        ")",

    /* Folders (store-folders.c). Each change locks its folder rows first
     * and the user's row after them, the order delivery uses, so that two
     * PostgreSQL transactions never wait for each other in a circle; the
     * user's row serialises folder creation. */
    [Q_FOLDERS_USER_LOCK] = "UPDATE users SET last_uidvalidity = last_uidvalidity "
                            "WHERE name = ##name::string",
    [Q_FOLDERS_USER_STATE] = "SELECT u.id, u.last_uidvalidity, (SELECT MAX(f.uidvalidity) "
                             "FROM folders f WHERE f.user_id = u.id) FROM users u "
                             "WHERE u.name = ##name::string",
    [Q_FOLDERS_USER_SET_UIDVALIDITY] = "UPDATE users SET last_uidvalidity = ##uidvalidity::gint64 "
                                       "WHERE id = ##id::gint64",
    /* The parent's name is for the tests' checks of parent_id. */
    [Q_FOLDERS_ALL] = "SELECT f.id, f.name, f.special_use, f.subscribed, p.name FROM folders f "
                      "JOIN users u ON u.id = f.user_id LEFT JOIN folders p ON p.id = f.parent_id "
                      "WHERE u.name = ##name::string",
    [Q_FOLDERS_GET] = "SELECT f.id, f.uidvalidity, f.uidnext, f.highestmodseq, f.special_use, "
                      "f.user_id FROM folders f JOIN users u ON u.id = f.user_id "
                      "WHERE u.name = ##name::string AND f.name = ##folder::string",
    [Q_FOLDERS_ADD] = "INSERT INTO folders (user_id, name, parent_id, uidvalidity) "
                      "VALUES (##user_id::gint64, ##folder::string, (SELECT p.id FROM folders p "
                      "WHERE p.user_id = ##user_id::gint64 AND p.name = ##parent::string), "
                      "##uidvalidity::gint64) ON CONFLICT (user_id, name) DO NOTHING",
    [Q_FOLDERS_SET_PARENT] = "UPDATE folders SET parent_id = (SELECT p.id FROM folders p "
                             "WHERE p.user_id = folders.user_id AND p.name = ##parent::string) "
                             "WHERE id = ##id::gint64",
    /* parent_id cascades: a deleted folder's children must not go with it. */
    [Q_FOLDERS_ORPHAN_CHILDREN] = "UPDATE folders SET parent_id = NULL "
                                  "WHERE parent_id = ##id::gint64",
    [Q_FOLDERS_RENAME] = "UPDATE folders SET name = ##folder::string WHERE id = ##id::gint64",
    [Q_FOLDERS_SUBSCRIBE] = "UPDATE folders SET subscribed = ##subscribed::gboolean "
                            "WHERE name = ##folder::string "
                            "AND user_id = (SELECT id FROM users WHERE name = ##name::string)",
    [Q_FOLDERS_EXCLUSIVE_LOCKS] = "SELECT CAST(COUNT(*) AS BIGINT) FROM mailbox_locks "
                                  "WHERE folder_id = ##id::gint64 AND exclusive "
                                  "AND expires >= ##now::gint64",
    [Q_FOLDERS_MESSAGES] = "SELECT fm.message_id, m.size + LENGTH(fm.header_prefix) "
                           "FROM folder_messages fm JOIN messages m ON m.id = fm.message_id "
                           "WHERE fm.folder_id = ##id::gint64",
    [Q_FOLDERS_DELETE_MESSAGES] = "DELETE FROM folder_messages WHERE folder_id = ##id::gint64",
    [Q_FOLDERS_DELETE] = "DELETE FROM folders WHERE id = ##id::gint64",
    /* RENAME INBOX: its visible messages get UIDs from ##base on, in their
     * order; held ones stay for the administrator. */
    [Q_FOLDERS_MOVE_MESSAGES] =
        "INSERT INTO folder_messages (folder_id, message_id, uid, flags, modseq, internaldate, "
        "header_prefix, held) SELECT ##to::gint64, message_id, "
        "CAST(##base::gint64 AS BIGINT) + ROW_NUMBER() OVER (ORDER BY uid) - 1, flags, "
        "##modseq::gint64, internaldate, header_prefix, held FROM folder_messages "
        "WHERE folder_id = ##from::gint64 AND NOT held",
    [Q_FOLDERS_DELETE_MOVED] = "DELETE FROM folder_messages WHERE folder_id = ##id::gint64 "
                               "AND NOT held",
    [Q_FOLDERS_SET_COUNTERS] = "UPDATE folders SET uidnext = ##uidnext::gint64, "
                               "highestmodseq = ##modseq::gint64 WHERE id = ##id::gint64",
    [Q_FOLDERS_BUMP_MODSEQ] = "UPDATE folders SET highestmodseq = highestmodseq + 1 "
                              "WHERE id = ##id::gint64",
    /* ##seen is the LIKE pattern of the \Seen token in " flags ", given as
     * a parameter so that no provider reads its backslash as an escape. */
    [Q_FOLDERS_STATUS] =
        "SELECT f.uidnext, f.uidvalidity, f.highestmodseq, CAST(COUNT(fm.uid) AS BIGINT), "
        "CAST(COALESCE(SUM(CASE WHEN fm.uid >= f.recent_uid THEN 1 ELSE 0 END), 0) AS BIGINT), "
        "CAST(COALESCE(SUM(CASE WHEN fm.uid IS NULL THEN 0 "
        "WHEN LOWER(' ' || fm.flags || ' ') LIKE ##seen::string ESCAPE '!' THEN 0 ELSE 1 END), 0) "
        "AS BIGINT), "
        "CAST(COALESCE(SUM(m.size + LENGTH(fm.header_prefix)), 0) AS BIGINT) "
        "FROM folders f JOIN users u ON u.id = f.user_id "
        "LEFT JOIN folder_messages fm ON fm.folder_id = f.id AND NOT fm.held "
        "LEFT JOIN messages m ON m.id = fm.message_id "
        "WHERE u.name = ##name::string AND f.name = ##folder::string "
        "GROUP BY f.id, f.uidnext, f.uidvalidity, f.highestmodseq",
    [Q_FOLDERS_TAKE_UID] = "UPDATE folders SET uidnext = uidnext + 1, "
                           "highestmodseq = highestmodseq + 1 WHERE name = ##folder::string "
                           "AND user_id = (SELECT id FROM users WHERE name = ##name::string)",
    [Q_FOLDERS_APPEND_ENTRY] = "INSERT INTO folder_messages (folder_id, message_id, uid, flags, "
                               "modseq, internaldate) VALUES (##folder::gint64, ##message::gint64, "
                               "##uid::gint64, ##flags::string, ##modseq::gint64, ##date::gint64)",

    /* Shared folders and their access control lists (store-folder-acl.c).
     * The owner's id comes back even when the folder does not exist. */
    [Q_ACL_FOLDER] = "SELECT u.id, f.id FROM users u LEFT JOIN folders f ON f.user_id = u.id "
                     "AND f.name = ##folder::string WHERE u.name = ##name::string",
    [Q_ACL_RIGHTS] = "SELECT rights FROM folder_acl WHERE folder_id = ##id::gint64 "
                     "AND identifier IN (##who::string, 'anyone')",
    [Q_ACL_ENTRIES] = "SELECT identifier, rights FROM folder_acl WHERE folder_id = ##id::gint64",
    [Q_ACL_SET] = "INSERT INTO folder_acl (folder_id, identifier, rights) "
                  "VALUES (##id::gint64, ##who::string, ##rights::string) "
                  "ON CONFLICT (folder_id, identifier) DO UPDATE SET rights = excluded.rights",
    [Q_ACL_DELETE] = "DELETE FROM folder_acl WHERE folder_id = ##id::gint64 "
                     "AND identifier = ##who::string",
    /* Other users' folders with an entry for ##name or anyone; the caller
     * joins the rights of a folder's two entries. */
    [Q_ACL_SHARED] =
        "SELECT f.id, u.name, f.name, f.special_use, a.rights, "
        "(SELECT CAST(COUNT(*) AS BIGINT) FROM shared_subscriptions s "
        "JOIN users me ON me.id = s.user_id "
        "WHERE s.folder_id = f.id AND me.name = ##name::string) "
        "FROM folder_acl a JOIN folders f ON f.id = a.folder_id "
        "JOIN users u ON u.id = f.user_id "
        "WHERE a.identifier IN (##name::string, 'anyone') AND u.name <> ##name::string",
    /* A new folder starts with its parent's entries (as Cyrus does): who
     * shares a folder shares what is made in it. */
    [Q_ACL_INHERIT] = "INSERT INTO folder_acl (folder_id, identifier, rights) "
                      "SELECT f.id, a.identifier, a.rights FROM folders f "
                      "JOIN folder_acl a ON a.folder_id = f.parent_id "
                      "WHERE f.user_id = ##user_id::gint64 AND f.name = ##folder::string",
    [Q_ACL_FORGET_USER] = "DELETE FROM folder_acl WHERE identifier = ##name::string",
    [Q_ACL_SUBSCRIBE] = "INSERT INTO shared_subscriptions (user_id, folder_id) "
                        "SELECT id, ##id::gint64 FROM users WHERE name = ##name::string "
                        "ON CONFLICT (user_id, folder_id) DO NOTHING",
    [Q_ACL_UNSUBSCRIBE] = "DELETE FROM shared_subscriptions WHERE folder_id = ##id::gint64 "
                          "AND user_id = (SELECT id FROM users WHERE name = ##name::string)",
};

const char *
store_query_sql(StoreQuery query)
{
    g_return_val_if_fail(query < Q_N_QUERIES, NULL);
    return queries[query];
}
