-- SPDX-License-Identifier: GPL-3.0-or-later
-- Postroom schema version 6 (PostgreSQL): VPOP3's per-user "Max Outgoing
-- Message Size" (Permissions tab): the largest message, in bytes, the user
-- may send; 0 means no limit of the user's own (the service's still applies).
ALTER TABLE users ADD COLUMN max_outgoing_size BIGINT NOT NULL DEFAULT 0;
