-- SPDX-License-Identifier: GPL-3.0-or-later
-- Postroom schema version 3 (SQLite): the outbound queue counts attempts,
-- keeps the RFC 3461 parameters and delay warnings, and records which
-- server instance claimed an entry and until when.

-- The table is rebuilt because SQLite cannot drop a constraint: message_id
-- no longer references messages. A message row and its spool file go as
-- soon as no mailbox and no unfinished entry uses them, while delivered and
-- failed entries stay listed until the purge. AUTOINCREMENT keeps ids from
-- being reused, so a late outcome can never land on a newer entry.
CREATE TABLE queue_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id INTEGER NOT NULL,
    sender TEXT NOT NULL,
    recipient TEXT NOT NULL,
    -- pending, sending, deferred, held, delivered, failed
    state TEXT NOT NULL DEFAULT 'pending',
    priority INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL,
    -- When the entry is due, and for delivered and failed ones when they finished.
    next_try INTEGER NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    notify TEXT NOT NULL DEFAULT '',
    orcpt TEXT NOT NULL DEFAULT '',
    ret TEXT NOT NULL DEFAULT '',
    envid TEXT NOT NULL DEFAULT '',
    warned INTEGER NOT NULL DEFAULT 0,
    claimed_by TEXT NOT NULL DEFAULT '',
    claim_expires INTEGER NOT NULL DEFAULT 0
);
INSERT INTO queue_new (id, message_id, sender, recipient, state, priority, created, next_try,
                       last_error)
    SELECT id, message_id, sender, recipient, state, priority, created, next_try, last_error
    FROM queue;
DROP TABLE queue;
ALTER TABLE queue_new RENAME TO queue;
CREATE INDEX queue_state ON queue (state, next_try);
CREATE INDEX queue_message ON queue (message_id);
-- Claims read back and release their own entries by instance.
CREATE INDEX queue_claimed ON queue (claimed_by) WHERE claimed_by <> '';
