-- SPDX-License-Identifier: GPL-3.0-or-later
-- Postroom schema version 7 (PostgreSQL):
-- the Query flow's replies (VPOP3 §2.5): a queried UID carries the random
-- token its notice gave the recipients (in the reply address and the
-- subject), the addresses that were asked, and when. A reply with the
-- token from one of them within 14 days makes the UID requested.
ALTER TABLE collector_uids ADD COLUMN query_token TEXT;
ALTER TABLE collector_uids ADD COLUMN query_rcpts TEXT NOT NULL DEFAULT '';
ALTER TABLE collector_uids ADD COLUMN queried_at BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX collector_uids_query_token ON collector_uids (query_token)
    WHERE query_token IS NOT NULL;
