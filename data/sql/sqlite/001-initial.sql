-- SPDX-License-Identifier: GPL-3.0-or-later
-- Postroom schema version 1 (SQLite). Times are unix seconds; booleans are 0/1.

CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    applied_at BIGINT NOT NULL
);

CREATE TABLE domains (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    full_name TEXT NOT NULL DEFAULT '',
    pwhash TEXT NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    quota_bytes INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL
);

CREATE TABLE folders (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    parent_id INTEGER REFERENCES folders (id) ON DELETE CASCADE,
    uidvalidity INTEGER NOT NULL,
    uidnext INTEGER NOT NULL DEFAULT 1,
    highestmodseq INTEGER NOT NULL DEFAULT 1,
    special_use TEXT,
    subscribed INTEGER NOT NULL DEFAULT 1 CHECK (subscribed IN (0, 1)),
    UNIQUE (user_id, name)
);
CREATE INDEX folders_parent ON folders (parent_id);

-- One row per immutable spool file; folder_messages places it in mailboxes.
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    spool_path TEXT NOT NULL UNIQUE,
    size INTEGER NOT NULL,
    received INTEGER NOT NULL,
    envelope_from TEXT NOT NULL DEFAULT '',
    hdr_subject TEXT,
    hdr_from TEXT,
    hdr_date TEXT,
    hdr_message_id TEXT
);

CREATE TABLE folder_messages (
    folder_id INTEGER NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
    message_id INTEGER NOT NULL REFERENCES messages (id),
    uid INTEGER NOT NULL,
    flags TEXT NOT NULL DEFAULT '',
    modseq INTEGER NOT NULL DEFAULT 1,
    internaldate INTEGER NOT NULL,
    PRIMARY KEY (folder_id, uid)
);
CREATE INDEX folder_messages_message ON folder_messages (message_id);

CREATE TABLE mappings (
    id INTEGER PRIMARY KEY,
    pattern TEXT NOT NULL,
    target TEXT NOT NULL,
    position INTEGER NOT NULL,
    UNIQUE (pattern, target)
);

CREATE TABLE lists (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('distribution', 'forward', 'group')),
    description TEXT NOT NULL DEFAULT ''
);

CREATE TABLE list_members (
    list_id INTEGER NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    member TEXT NOT NULL,
    PRIMARY KEY (list_id, member)
);

CREATE TABLE loginaudit (
    id INTEGER PRIMARY KEY,
    datetime INTEGER NOT NULL,
    ipaddress TEXT NOT NULL,
    username TEXT NOT NULL,
    service TEXT NOT NULL,
    mechanism TEXT NOT NULL,
    success INTEGER NOT NULL CHECK (success IN (0, 1)),
    reason TEXT NOT NULL
);
CREATE INDEX loginaudit_ip_time ON loginaudit (ipaddress, datetime);
CREATE INDEX loginaudit_time ON loginaudit (datetime);

CREATE TABLE lockouts (
    ipaddress TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    first_failure INTEGER NOT NULL,
    last_failure INTEGER NOT NULL,
    locked_until INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE module_kv (
    module TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (module, key)
);
