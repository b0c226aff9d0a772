-- SPDX-License-Identifier: GPL-3.0-or-later
-- Postroom schema version 9 (PostgreSQL): shared folders (RFC 4314 ACL).

-- Another user's folders a user subscribed to ("#users/bob/Work"): the
-- folders.subscribed column is the owner's own subscription.
CREATE TABLE shared_subscriptions (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    folder_id BIGINT NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, folder_id)
);

-- LIST finds the folders shared with a user (or with "anyone").
CREATE INDEX folder_acl_identifier ON folder_acl (identifier);
