-- SPDX-License-Identifier: GPL-3.0-or-later
-- Postroom schema version 8 (SQLite): what IMAP needs.

-- FETCH's view of a spool message, made once (GMime) and kept: ENVELOPE,
-- BODYSTRUCTURE and BODY in IMAP syntax, and the byte ranges of every
-- section (server/mime-summary.c gives the format).
CREATE TABLE message_mime (
    message_id INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    envelope TEXT NOT NULL,
    bodystructure TEXT NOT NULL,
    body TEXT NOT NULL,
    sections TEXT NOT NULL
);

-- The first UID no read-write session has seen yet: messages from here on
-- are \Recent for the next session that selects the folder (RFC 3501 §2.3.2).
ALTER TABLE folders ADD COLUMN recent_uid INTEGER NOT NULL DEFAULT 1;

-- The highest UIDVALIDITY any folder of the user ever had, deleted ones
-- included: a folder deleted and created again never gets an old value.
ALTER TABLE users ADD COLUMN last_uidvalidity INTEGER NOT NULL DEFAULT 0;

-- CONDSTORE: messages changed since a modification sequence.
CREATE INDEX folder_messages_modseq ON folder_messages (folder_id, modseq);

-- RFC 4314 rights granted on a folder to a user (or "anyone").
CREATE TABLE folder_acl (
    folder_id INTEGER NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
    identifier TEXT NOT NULL,
    rights TEXT NOT NULL,
    PRIMARY KEY (folder_id, identifier)
);

-- The SPECIAL-USE folders (RFC 6154) every user has from now on.
INSERT INTO folders (user_id, name, uidvalidity, special_use)
    SELECT id, 'Sent', CAST(strftime('%s', 'now') AS INTEGER), '\Sent' FROM users
    WHERE id NOT IN (SELECT user_id FROM folders WHERE name = 'Sent');
INSERT INTO folders (user_id, name, uidvalidity, special_use)
    SELECT id, 'Drafts', CAST(strftime('%s', 'now') AS INTEGER), '\Drafts' FROM users
    WHERE id NOT IN (SELECT user_id FROM folders WHERE name = 'Drafts');
INSERT INTO folders (user_id, name, uidvalidity, special_use)
    SELECT id, 'Trash', CAST(strftime('%s', 'now') AS INTEGER), '\Trash' FROM users
    WHERE id NOT IN (SELECT user_id FROM folders WHERE name = 'Trash');
INSERT INTO folders (user_id, name, uidvalidity, special_use)
    SELECT id, 'Junk', CAST(strftime('%s', 'now') AS INTEGER), '\Junk' FROM users
    WHERE id NOT IN (SELECT user_id FROM folders WHERE name = 'Junk');
