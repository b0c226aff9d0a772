-- SPDX-License-Identifier: GPL-3.0-or-later
-- Postroom schema version 3 (PostgreSQL): the outbound queue counts attempts,
-- keeps the RFC 3461 parameters and delay warnings, and records which
-- server instance claimed an entry and until when.

-- A message row and its spool file go as soon as no mailbox and no
-- unfinished entry uses them, while delivered and failed entries stay
-- listed until the purge: message_id no longer references messages.
ALTER TABLE queue DROP CONSTRAINT IF EXISTS queue_message_id_fkey;

ALTER TABLE queue ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE queue ADD COLUMN notify TEXT NOT NULL DEFAULT '';
ALTER TABLE queue ADD COLUMN orcpt TEXT NOT NULL DEFAULT '';
ALTER TABLE queue ADD COLUMN ret TEXT NOT NULL DEFAULT '';
ALTER TABLE queue ADD COLUMN envid TEXT NOT NULL DEFAULT '';
ALTER TABLE queue ADD COLUMN warned BIGINT NOT NULL DEFAULT 0;
ALTER TABLE queue ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
-- Unix time like every other time column (BIGINT: past 2038).
ALTER TABLE queue ADD COLUMN claim_expires BIGINT NOT NULL DEFAULT 0;

-- States: pending, sending, deferred, held, delivered, failed. next_try is
-- when the entry is due, and for delivered and failed ones when they finished.
-- Claims read back and release their own entries by instance.
CREATE INDEX queue_claimed ON queue (claimed_by) WHERE claimed_by <> '';
