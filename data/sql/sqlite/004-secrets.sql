-- SPDX-License-Identifier: GPL-3.0-or-later
-- Postroom schema version 4 (SQLite): the secrets that APOP (RFC 1939) and
-- CRAM-MD5 (RFC 2195) need. Both mechanisms compute a digest of the password
-- itself, so a one-way hash cannot check them: the server must be able to
-- read the password back. Stored only when [auth] store_secrets=true, in a
-- table of their own so that no query on users ever reads them, and deleted
-- with the user.
CREATE TABLE user_secrets (
    user_id INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    -- The password's bytes, base64-encoded (an encoding, not a protection).
    secret TEXT NOT NULL,
    updated INTEGER NOT NULL
);
