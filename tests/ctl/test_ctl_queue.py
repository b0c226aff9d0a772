#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""postroomctl queue: list, show, hold, release, delete and flush.

Usage: test_ctl_queue.py POSTROOMCTL

Runs the real binary against a temporary SQLite setup (the harness of
test_ctl.py). Entries come from `postroomctl deliver` to remote addresses;
states a sender would set (sending, deferred, delivered) are written
behind libgda's back with Python's sqlite3 module.
"""

import json
import os
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_ctl  # noqa: E402
from test_ctl import EX_DATAERR, EX_NOUSER, EX_USAGE, CtlTestCase  # noqa: E402

EX_TEMPFAIL = 75
SQL_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "sql",
                       "sqlite")
MESSAGE = "From: me@example.com\r\nSubject: queued\r\n\r\nbody\r\n"


class QueueTestCase(CtlTestCase):
    def setUp(self):
        super().setUp()
        self.init()

    def deliver(self, *rcpts, sender="me@example.com"):
        return self.ok("deliver", "--from", sender, *rcpts, stdin=MESSAGE)

    def sql(self, statement, *params):
        db = sqlite3.connect(os.path.join(self.s.data, "postroom.db"))
        try:
            with db:
                return db.execute(statement, params).fetchall()
        finally:
            db.close()

    def spool_files(self):
        spool = os.path.join(self.s.data, "spool")
        return sorted(os.path.join(d, f) for d, _, files in os.walk(spool) for f in files
                      if not f.startswith("."))

    def entries(self, *extra):
        return self.json("queue", "list", *extra)

    def state(self, entry_id):
        return self.json("queue", "show", str(entry_id))["state"]


class TestQueueList(QueueTestCase):
    def test_empty(self):
        r = self.ok("queue", "list")
        self.assertEqual(r.stdout, "The queue is empty.\n")
        self.assertEqual(self.entries(), [])
        r = self.ok("queue", "list", "--state", "held")
        self.assertIn("No queue entries are in state held", r.stdout)
        r = self.fails(EX_USAGE, "queue", "list", "--state", "lost")
        self.assertIn("lost", r.stderr)

    def test_list_and_show(self):
        self.deliver("far@remote.example", "other@remote.example", sender="")
        entries = self.entries()
        self.assertEqual([e["recipient"] for e in entries],
                         ["far@remote.example", "other@remote.example"])
        first = entries[0]
        self.assertEqual(first["state"], "pending")
        self.assertEqual(first["sender"], "")
        self.assertEqual(first["subject"], "queued")
        # The stored message has trace headers besides the text given.
        self.assertGreater(first["size"], len(MESSAGE))
        self.assertEqual(first["attempts"], 0)
        self.assertEqual(first["message_id"], entries[1]["message_id"])
        for key in ("created", "next_try", "warned", "claim_expires", "priority"):
            self.assertIsInstance(first[key], int, key)
        for key in ("last_error", "notify", "orcpt", "ret", "envid", "claimed_by"):
            self.assertEqual(first[key], "", key)
        self.assertTrue(os.path.isfile(os.path.join(self.s.data, "spool", first["spool_path"])))

        lines = self.ok("queue", "list").stdout.splitlines()
        self.assertEqual(lines[0].split(), ["ID", "STATE", "RECIPIENT", "SENDER", "SIZE",
                                            "ATTEMPTS", "NEXT", "TRY", "LAST", "ERROR"])
        self.assertEqual(len(lines), 3)
        self.assertIn("far@remote.example", lines[1])
        self.assertIn("<>", lines[1])
        self.assertIn(time.strftime("%Y-%m-%d"), lines[1])

        show = self.json("queue", "show", str(first["id"]))
        self.assertEqual(show, first)
        r = self.ok("queue", "show", str(first["id"]))
        self.assertIn("Recipient:", r.stdout)
        self.assertIn("far@remote.example", r.stdout)
        self.assertIn("queued", r.stdout)

        self.assertEqual([e["id"] for e in self.entries("--state", "pending")],
                         [e["id"] for e in entries])
        self.assertEqual(self.entries("--state", "deferred"), [])

    def test_show_errors(self):
        r = self.fails(EX_NOUSER, "queue", "show", "999")
        self.assertIn("999", r.stderr)
        self.fails(EX_USAGE, "queue", "show", "abc")
        self.fails(EX_USAGE, "queue", "show", "0")
        self.fails(EX_USAGE, "queue", "show", "-5")
        self.fails(EX_USAGE, "queue", "show")

    def test_finished_entries(self):
        self.deliver("far@remote.example")
        entry = self.entries()[0]
        self.sql("UPDATE queue SET state = 'delivered', attempts = 1, "
                 "last_error = '250 2.0.0 ok' WHERE id = ?", entry["id"])
        lines = self.ok("queue", "list", "--state", "delivered").stdout.splitlines()
        self.assertEqual(len(lines), 2)
        self.assertIn("250 2.0.0 ok", lines[1])
        r = self.ok("queue", "show", str(entry["id"]))
        self.assertIn("Finished:", r.stdout)


class TestQueueActions(QueueTestCase):
    def test_hold_and_release(self):
        self.deliver("a@remote.example", "b@remote.example")
        a, b = (e["id"] for e in self.entries())
        r = self.ok("queue", "hold", str(a))
        self.assertEqual(r.stdout, "Held 1 queue entry.\n")
        self.assertEqual(self.state(a), "held")
        self.assertEqual(self.state(b), "pending")
        r = self.ok("queue", "hold", str(a))
        self.assertIn("held already", r.stdout)
        # Changes are reported as text, also with --json.
        r = self.ok("queue", "hold", "--all", "--json")
        self.assertEqual(r.stdout, "Held 1 queue entry.\n")
        self.assertEqual([e["id"] for e in self.entries("--state", "held")], [a, b])

        # Release makes them due now and counts no attempt.
        self.sql("UPDATE queue SET next_try = 1")
        r = self.ok("queue", "release", "--all")
        self.assertEqual(r.stdout, "Released 2 queue entries.\n")
        for e in self.entries():
            self.assertEqual(e["state"], "pending")
            self.assertEqual(e["attempts"], 0)
            self.assertGreater(e["next_try"], 1)
        r = self.ok("queue", "release", str(a))
        self.assertIn("not held", r.stdout)
        self.assertEqual(self.state(a), "pending")

    def test_usage(self):
        self.deliver("a@remote.example")
        for action in ("hold", "release", "delete"):
            r = self.fails(EX_USAGE, "queue", action)
            self.assertIn("--all", r.stderr)
            self.fails(EX_USAGE, "queue", action, "1", "--all")
            self.fails(EX_USAGE, "queue", action, "x1")
            self.fails(EX_NOUSER, "queue", action, "424242")
        self.fails(EX_NOUSER, "queue", "flush", "424242")
        self.fails(EX_USAGE, "queue", "flush", "--all")
        self.assertEqual(self.state(1), "pending")
        r = self.ok("--help", config=False)
        self.assertIn("queue release", r.stdout)

    def test_flush(self):
        self.deliver("a@remote.example", "b@remote.example")
        a, b = (e["id"] for e in self.entries())
        later = int(time.time()) + 86400
        self.sql("UPDATE queue SET state = 'deferred', attempts = 2, next_try = ? "
                 "WHERE id = ?", later, a)
        r = self.ok("queue", "flush", str(a))
        self.assertEqual(r.stdout, "1 queue entry is due now.\n")
        e = self.json("queue", "show", str(a))
        self.assertEqual(e["state"], "deferred")
        self.assertEqual(e["attempts"], 2)
        self.assertLessEqual(e["next_try"], int(time.time()))
        r = self.ok("queue", "flush")
        self.assertEqual(r.stdout, "2 queue entries are due now.\n")
        self.ok("queue", "hold", str(b))
        r = self.fails(EX_DATAERR, "queue", "flush", str(b))
        self.assertIn("queue release", r.stderr)

    def test_delete_unlinks_unused_files(self):
        self.deliver("a@remote.example", "b@remote.example")
        a, b = (e["id"] for e in self.entries())
        files = self.spool_files()
        self.assertEqual(len(files), 1)
        r = self.ok("queue", "delete", str(a))
        self.assertEqual(r.stdout, "Deleted 1 queue entry.\n")
        # b still uses the file.
        self.assertEqual(self.spool_files(), files)
        self.fails(EX_NOUSER, "queue", "show", str(a))
        self.ok("queue", "delete", str(b))
        self.assertEqual(self.spool_files(), [])
        self.assertEqual(self.sql("SELECT COUNT(*) FROM messages"), [(0,)])

    def test_delete_keeps_mailbox_copies(self):
        self.add_user("alice")
        self.deliver("alice", "far@remote.example")
        files = self.spool_files()
        self.assertEqual(len(files), 1)
        r = self.ok("queue", "delete", "--all")
        self.assertEqual(r.stdout, "Deleted 1 queue entry.\n")
        self.assertEqual(self.spool_files(), files)
        self.assertEqual(self.entries(), [])

    def test_sending_and_finished_entries_stay(self):
        self.deliver("a@remote.example", "b@remote.example", "c@remote.example")
        a, b, c = (e["id"] for e in self.entries())
        self.sql("UPDATE queue SET state = 'sending', claimed_by = 'mx1', "
                 "claim_expires = ? WHERE id = ?", int(time.time()) + 300, a)
        self.sql("UPDATE queue SET state = 'delivered' WHERE id = ?", b)
        r = self.fails(EX_TEMPFAIL, "queue", "delete", str(a))
        self.assertIn("being sent", r.stderr)
        self.fails(EX_TEMPFAIL, "queue", "hold", str(a))
        r = self.fails(EX_DATAERR, "queue", "delete", str(b))
        self.assertIn("delivered", r.stderr)
        self.fails(EX_DATAERR, "queue", "hold", str(b))
        self.fails(EX_DATAERR, "queue", "release", str(b))
        r = self.ok("queue", "flush", str(a))
        self.assertIn("being sent", r.stdout)
        r = self.ok("queue", "delete", "--all")
        self.assertEqual(r.stdout, "Deleted 1 queue entry.\n")
        self.assertEqual([(e["id"], e["state"]) for e in self.entries()],
                         [(a, "sending"), (b, "delivered")])
        show = self.ok("queue", "show", str(a)).stdout
        self.assertIn("mx1 until", show)
        # The sending entry keeps the message's file.
        self.assertEqual(len(self.spool_files()), 1)
        self.fails(EX_NOUSER, "queue", "show", str(c))


class TestQueueMigration(CtlTestCase):
    def test_from_schema_2(self):
        """A version 2 database keeps its queue entries through migration 3."""
        os.makedirs(os.path.join(self.s.data, "spool"), mode=0o750)
        os.makedirs(os.path.join(self.s.data, "logs"), mode=0o750)
        os.chmod(self.s.data, 0o750)
        db = sqlite3.connect(os.path.join(self.s.data, "postroom.db"))
        try:
            db.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, "
                       "applied_at BIGINT NOT NULL)")
            for version, name in ((1, "001-initial.sql"), (2, "002-delivery.sql")):
                with open(os.path.join(SQL_DIR, name), encoding="utf-8") as f:
                    db.executescript(f.read())
                db.execute("INSERT INTO schema_version VALUES (?, 0)", (version,))
            db.execute("INSERT INTO messages (id, spool_path, size, received) "
                       "VALUES (7, 'ab/cd', 10, 1)")
            db.execute("INSERT INTO queue (id, message_id, sender, recipient, state, created, "
                       "next_try, last_error) VALUES (5, 7, 's@example.com', "
                       "'r@remote.example', 'deferred', 1, 2, '451 later')")
            db.commit()
        finally:
            db.close()
        r = self.ok("init")
        # To the newest version, whatever later migrations add.
        self.assertRegex(r.stdout, r"from schema version 2 to [0-9]+")
        [e] = self.json("queue", "list")
        self.assertEqual((e["id"], e["message_id"], e["state"], e["last_error"], e["attempts"],
                          e["size"], e["claimed_by"]),
                         (5, 7, "deferred", "451 later", 0, 10, ""))
        db = sqlite3.connect(os.path.join(self.s.data, "postroom.db"))
        try:
            self.assertEqual(db.execute("PRAGMA foreign_key_list(queue)").fetchall(), [])
        finally:
            db.close()


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    test_ctl.CTL = os.path.abspath(sys.argv[1])
    unittest.main(argv=[sys.argv[0], "-v"])


if __name__ == "__main__":
    main()
