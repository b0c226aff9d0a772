-- SPDX-License-Identifier: GPL-3.0-or-later
-- Postroom schema version 5 (PostgreSQL): mail collectors (POP3 mailboxes at
-- an ISP, fetched by the collector module) and the remote UIDs each has seen.

-- One row per collector. Numbers are never reused: download rules and logs
-- name collectors by number. The claim (which instance runs it, until when)
-- works like the queue's.
CREATE TABLE collectors (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    -- Lower runs first when several are due.
    priority INTEGER NOT NULL DEFAULT 0,
    -- The ISP password, base64-encoded (an encoding, not a protection): it
    -- must be sent to the ISP, so it cannot be hashed. Only the collector
    -- statements that hand it to the module read it.
    password TEXT NOT NULL DEFAULT '',
    created BIGINT NOT NULL,
    claimed_by TEXT NOT NULL DEFAULT '',
    claim_expires BIGINT NOT NULL DEFAULT 0,
    -- When the session holding the claim began ("run now" requests made
    -- before it are answered by it).
    session_started BIGINT NOT NULL DEFAULT 0,
    last_run BIGINT NOT NULL DEFAULT 0,
    last_result TEXT NOT NULL DEFAULT '',
    -- When `postroomctl collector run` asked for a session, 0 if not asked.
    run_requested BIGINT NOT NULL DEFAULT 0
);

-- Every other setting (server, port, tls, ..., see postroomctl(8)) by name:
-- options the module learns later need no migration.
CREATE TABLE collector_options (
    collector_id BIGINT NOT NULL REFERENCES collectors (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (collector_id, name)
);

-- Remote UIDs (UIDL) a collector knows: downloaded, left on the server by a
-- rule, queried, or requested. missing_since is when a session first found
-- the server no longer listing it (0 while listed); such obsolete UIDs are
-- forgotten after [collector] obsolete_uid_days.
CREATE TABLE collector_uids (
    collector_id BIGINT NOT NULL REFERENCES collectors (id) ON DELETE CASCADE,
    uid TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('downloaded', 'left', 'queried', 'requested')),
    first_seen BIGINT NOT NULL,
    -- When the state was last set.
    updated BIGINT NOT NULL,
    missing_since BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (collector_id, uid)
);
CREATE INDEX collector_uids_missing ON collector_uids (collector_id, missing_since)
    WHERE missing_since > 0;
