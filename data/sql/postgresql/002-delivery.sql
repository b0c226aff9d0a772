-- SPDX-License-Identifier: GPL-3.0-or-later
-- Postroom schema version 2 (PostgreSQL): routing fields, quotas in use, the
-- per-mailbox header prefix, held messages, mailbox locks, the outbound
-- queue, msgaudit and the directory version.

-- Forwarding and assistants (VPOP3 User -> Routing); lists are ';'-separated.
ALTER TABLE users ADD COLUMN forward_to TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN forward_keep_copy BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN assistants TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN assistant_only BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN in_everyone BOOLEAN NOT NULL DEFAULT TRUE;
-- Bytes in all folders, and the highest quota alert level already sent.
ALTER TABLE users ADD COLUMN used_bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN quota_alert INTEGER NOT NULL DEFAULT 0;

ALTER TABLE lists ADD COLUMN local_senders_only BOOLEAN NOT NULL DEFAULT FALSE;

-- Serialises lock acquisition on a folder across server instances.
ALTER TABLE folders ADD COLUMN lock_serial BIGINT NOT NULL DEFAULT 0;

-- Lines that differ per mailbox (Delivered-To) precede the shared spool file.
ALTER TABLE folder_messages ADD COLUMN header_prefix TEXT NOT NULL DEFAULT '';
-- "Hold messages instead of deleting": invisible to clients, kept in the store.
ALTER TABLE folder_messages ADD COLUMN held BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE mailbox_locks (
    folder_id BIGINT NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
    holder TEXT NOT NULL,
    instance TEXT NOT NULL,
    exclusive BOOLEAN NOT NULL,
    expires BIGINT NOT NULL,
    PRIMARY KEY (folder_id, holder)
);
CREATE INDEX mailbox_locks_instance ON mailbox_locks (instance);

CREATE TABLE queue (
    id BIGSERIAL PRIMARY KEY,
    message_id BIGINT NOT NULL REFERENCES messages (id),
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    priority INTEGER NOT NULL DEFAULT 0,
    created BIGINT NOT NULL,
    next_try BIGINT NOT NULL,
    last_error TEXT NOT NULL DEFAULT ''
);
CREATE INDEX queue_state ON queue (state, next_try);
CREATE INDEX queue_message ON queue (message_id);

CREATE TABLE msgaudit (
    id BIGSERIAL PRIMARY KEY,
    datetime BIGINT NOT NULL,
    component TEXT NOT NULL,
    owner TEXT NOT NULL,
    actionuser TEXT NOT NULL DEFAULT '',
    cmd TEXT NOT NULL,
    ipaddr TEXT NOT NULL DEFAULT '',
    sourcefolder TEXT NOT NULL DEFAULT '',
    targetfolder TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL DEFAULT '',
    sender TEXT NOT NULL DEFAULT '',
    msgdate TEXT NOT NULL DEFAULT ''
);
CREATE INDEX msgaudit_time ON msgaudit (datetime);

-- Bumped by every change to users, mappings, lists and domains, so running
-- servers know when to reload their routing directory.
CREATE TABLE directory_version (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO directory_version (id, version) VALUES (1, 1);
