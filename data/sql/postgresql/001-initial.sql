-- SPDX-License-Identifier: GPL-3.0-or-later
-- Postroom schema version 1 (PostgreSQL). Times are unix seconds (BIGINT).

CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    applied_at BIGINT NOT NULL
);

CREATE TABLE domains (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    full_name TEXT NOT NULL DEFAULT '',
    pwhash TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    quota_bytes BIGINT NOT NULL DEFAULT 0,
    created BIGINT NOT NULL
);

CREATE TABLE folders (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    parent_id BIGINT REFERENCES folders (id) ON DELETE CASCADE,
    uidvalidity BIGINT NOT NULL,
    uidnext BIGINT NOT NULL DEFAULT 1,
    highestmodseq BIGINT NOT NULL DEFAULT 1,
    special_use TEXT,
    subscribed BOOLEAN NOT NULL DEFAULT TRUE,
    UNIQUE (user_id, name)
);
CREATE INDEX folders_parent ON folders (parent_id);

-- One row per immutable spool file; folder_messages places it in mailboxes.
CREATE TABLE messages (
    id BIGSERIAL PRIMARY KEY,
    spool_path TEXT NOT NULL UNIQUE,
    size BIGINT NOT NULL,
    received BIGINT NOT NULL,
    envelope_from TEXT NOT NULL DEFAULT '',
    hdr_subject TEXT,
    hdr_from TEXT,
    hdr_date TEXT,
    hdr_message_id TEXT
);

CREATE TABLE folder_messages (
    folder_id BIGINT NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
    message_id BIGINT NOT NULL REFERENCES messages (id),
    uid BIGINT NOT NULL,
    flags TEXT NOT NULL DEFAULT '',
    modseq BIGINT NOT NULL DEFAULT 1,
    internaldate BIGINT NOT NULL,
    PRIMARY KEY (folder_id, uid)
);
CREATE INDEX folder_messages_message ON folder_messages (message_id);

CREATE TABLE mappings (
    id BIGSERIAL PRIMARY KEY,
    pattern TEXT NOT NULL,
    target TEXT NOT NULL,
    position BIGINT NOT NULL,
    UNIQUE (pattern, target)
);

CREATE TABLE lists (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('distribution', 'forward', 'group')),
    description TEXT NOT NULL DEFAULT ''
);

CREATE TABLE list_members (
    list_id BIGINT NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    member TEXT NOT NULL,
    PRIMARY KEY (list_id, member)
);

CREATE TABLE loginaudit (
    id BIGSERIAL PRIMARY KEY,
    datetime BIGINT NOT NULL,
    ipaddress TEXT NOT NULL,
    username TEXT NOT NULL,
    service TEXT NOT NULL,
    mechanism TEXT NOT NULL,
    success BOOLEAN NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX loginaudit_ip_time ON loginaudit (ipaddress, datetime);
CREATE INDEX loginaudit_time ON loginaudit (datetime);

CREATE TABLE lockouts (
    ipaddress TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    first_failure BIGINT NOT NULL,
    last_failure BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE module_kv (
    module TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (module, key)
);
