#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""postroomctl mailbox: list, held, release, purge and unlock.

Usage: test_ctl_mailbox.py POSTROOMCTL

Runs the real binary against a temporary SQLite setup (the harness of
test_ctl.py). Mail comes from `postroomctl deliver`; what a POP3 session
would leave (held messages, mailbox locks) is written behind libgda's back
with Python's sqlite3 module. tests/pop3/test_pop3_admin.py does the same
against a running postroomd, on SQLite and PostgreSQL.
"""

import os
import socket
import sqlite3
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_ctl  # noqa: E402
from test_ctl import EX_NOUSER, EX_USAGE, CtlTestCase, Setup  # noqa: E402

EX_TEMPFAIL = 75
CONFIG = ("[delivery]\n"
          "local_domains=example.com\n"
          "default_domain=example.com\n")


def message(subject):
    return ("From: someone@example.org\r\nSubject: %s\r\n\r\nbody of %s\r\n" % (subject, subject))


def dead_pid():
    """A process id that no longer exists (a child that was reaped)."""
    p = subprocess.Popen(["true"])
    p.wait(timeout=30)
    return p.pid


class MailboxTestCase(CtlTestCase):
    extra_config = ""

    def setUp(self):
        self.s = Setup(CONFIG + self.extra_config)
        self.addCleanup(self.s.cleanup)
        self.init()
        self.add_user("alice")
        self.add_user("bob")

    def deliver(self, subject, *rcpts):
        return self.ok("deliver", "--from", "sender@example.org", *(rcpts or ("alice",)),
                       stdin=message(subject))

    def sql(self, statement, *params):
        db = sqlite3.connect(os.path.join(self.s.data, "postroom.db"))
        try:
            with db:
                return db.execute(statement, params).fetchall()
        finally:
            db.close()

    def hold(self, user, *subjects):
        """Marks @user's messages with these subjects held, as POP3 would."""
        db = sqlite3.connect(os.path.join(self.s.data, "postroom.db"))
        try:
            with db:
                for subject in subjects:
                    cur = db.execute(
                        "UPDATE folder_messages SET held = 1 WHERE message_id IN "
                        "(SELECT id FROM messages WHERE hdr_subject = ?) AND folder_id = "
                        "(SELECT f.id FROM folders f JOIN users u ON u.id = f.user_id "
                        "WHERE u.name = ? AND f.name = 'INBOX')", (subject, user))
                    self.assertEqual(cur.rowcount, 1, subject)
        finally:
            db.close()

    def visible(self, user):
        return [r[0] for r in self.sql(
            "SELECT m.hdr_subject FROM folder_messages fm JOIN messages m ON m.id = fm.message_id "
            "JOIN folders f ON f.id = fm.folder_id JOIN users u ON u.id = f.user_id "
            "WHERE u.name = ? AND NOT fm.held ORDER BY fm.uid", user)]

    def add_lock(self, user, holder, instance, expires):
        self.sql("INSERT INTO mailbox_locks (folder_id, holder, instance, exclusive, expires) "
                 "SELECT f.id, ?, ?, 1, ? FROM folders f JOIN users u ON u.id = f.user_id "
                 "WHERE u.name = ? AND f.name = 'INBOX'", holder, instance, expires, user)

    def mailbox(self, user):
        [m] = self.json("mailbox", "list", user)
        return m

    def spool_files(self):
        spool = os.path.join(self.s.data, "spool")
        return sorted(os.path.join(d, f) for d, _, files in os.walk(spool) for f in files
                      if not f.startswith("."))


class TestList(MailboxTestCase):
    def test_counts_and_sizes(self):
        self.deliver("one")
        self.deliver("two")
        self.deliver("three", "alice", "bob")
        self.hold("alice", "two")
        alice = self.mailbox("alice")
        self.assertEqual((alice["user"], alice["messages"], alice["held"], alice["locks"]),
                         ("alice", 2, 1, []))
        # Sizes as POP3 LIST gives them: the stored file and the mailbox's
        # own Delivered-To line.
        sizes = {r[0]: r[1] for r in self.sql(
            "SELECT m.hdr_subject, m.size + LENGTH(fm.header_prefix) FROM folder_messages fm "
            "JOIN messages m ON m.id = fm.message_id JOIN folders f ON f.id = fm.folder_id "
            "JOIN users u ON u.id = f.user_id WHERE u.name = 'alice'")}
        self.assertEqual(alice["octets"], sizes["one"] + sizes["three"])
        self.assertEqual(alice["held_octets"], sizes["two"])
        self.assertGreater(sizes["two"], len(message("two")))

        everyone = self.json("mailbox", "list")
        self.assertEqual([m["user"] for m in everyone], ["alice", "bob"])
        self.assertEqual((everyone[1]["messages"], everyone[1]["held"]), (1, 0))

        lines = self.ok("mailbox", "list").stdout.splitlines()
        self.assertEqual(lines[0].split(), ["USER", "MESSAGES", "SIZE", "HELD", "HELD", "SIZE",
                                            "LOCKED", "BY", "UNTIL"])
        self.assertEqual(lines[1].split()[:2], ["alice", "2"])
        self.assertEqual(len(lines), 3)

    def test_errors(self):
        r = self.fails(EX_NOUSER, "mailbox", "list", "nobody")
        self.assertIn("nobody", r.stderr)
        self.fails(EX_NOUSER, "mailbox", "held", "nobody")
        self.fails(EX_NOUSER, "mailbox", "unlock", "nobody")
        self.fails(EX_NOUSER, "mailbox", "release", "nobody", "--all")
        self.fails(test_ctl.EX_DATAERR, "mailbox", "list", "bad/name")
        self.fails(EX_USAGE, "mailbox", "held")
        self.fails(EX_USAGE, "mailbox", "list", "alice", "bob")
        r = self.ok("mailbox", "--help")
        for word in ("list", "held", "release", "purge", "unlock"):
            self.assertIn("mailbox " + word, r.stdout)


class TestHeld(MailboxTestCase):
    def test_held_listing(self):
        r = self.ok("mailbox", "held", "alice")
        self.assertEqual(r.stdout, "The mailbox of alice has no held messages.\n")
        self.assertEqual(self.json("mailbox", "held", "alice"), [])
        self.deliver("keep")
        self.deliver("gone")
        self.hold("alice", "gone")
        [h] = self.json("mailbox", "held", "alice")
        self.assertEqual((h["uid"], h["subject"], h["sender"], h["from"]),
                         (2, "gone", "sender@example.org", "someone@example.org"))
        self.assertEqual(h["size"], self.mailbox("alice")["held_octets"])
        for key in ("received", "size"):
            self.assertIsInstance(h[key], int)
        lines = self.ok("mailbox", "held", "alice").stdout.splitlines()
        self.assertEqual(lines[0].split(), ["UID", "SIZE", "RECEIVED", "SENDER", "SUBJECT"])
        self.assertEqual(len(lines), 2)
        self.assertTrue(lines[1].startswith("2 "))
        self.assertIn("gone", lines[1])
        self.assertIn(time.strftime("%Y-%m-%d"), lines[1])

    def test_release(self):
        for s in ("a", "b", "c"):
            self.deliver(s)
        self.hold("alice", "a", "b", "c")
        self.assertEqual(self.visible("alice"), [])
        r = self.ok("mailbox", "release", "alice", "2")
        self.assertEqual(r.stdout, "Released 1 held message of alice.\n")
        self.assertEqual(self.visible("alice"), ["b"])
        r = self.fails(EX_NOUSER, "mailbox", "release", "alice", "2")
        self.assertIn("no held message with UID 2", r.stderr)
        self.fails(EX_NOUSER, "mailbox", "release", "alice", "99")
        r = self.ok("mailbox", "release", "alice", "--all")
        self.assertEqual(r.stdout, "Released 2 held messages of alice.\n")
        self.assertEqual(self.visible("alice"), ["a", "b", "c"])
        r = self.ok("mailbox", "release", "alice", "--all")
        self.assertEqual(r.stdout, "The mailbox of alice has no held messages.\n")
        # UIDs stay what they were: POP3 UIDLs are stable.
        self.assertEqual(self.sql("SELECT uid FROM folder_messages ORDER BY uid"),
                         [(1,), (2,), (3,)])
        self.assertEqual(self.sql("SELECT COUNT(*) FROM msgaudit"), [(0,)], "msgaudit is off")

    def test_usage(self):
        self.deliver("a")
        self.hold("alice", "a")
        for action in ("release", "purge"):
            r = self.fails(EX_USAGE, "mailbox", action, "alice")
            self.assertIn("UID or --all", r.stderr)
            self.fails(EX_USAGE, "mailbox", action, "alice", "1", "--all")
            self.fails(EX_USAGE, "mailbox", action, "alice", "abc")
            self.fails(EX_USAGE, "mailbox", action, "alice", "0")
            self.fails(EX_USAGE, "mailbox", action, "alice", "4294967296")
        self.assertEqual(self.mailbox("alice")["held"], 1)

    def test_purge(self):
        self.deliver("shared", "alice", "bob")
        self.deliver("own")
        self.deliver("visible")
        self.hold("alice", "shared", "own")
        self.assertEqual(len(self.spool_files()), 3)
        used = self.sql("SELECT used_bytes FROM users WHERE name = 'alice'")[0][0]
        held_octets = self.mailbox("alice")["held_octets"]
        r = self.fails(EX_NOUSER, "mailbox", "purge", "alice", "3")
        self.assertIn("no held message with UID 3", r.stderr, "visible messages stay")
        r = self.ok("mailbox", "purge", "alice", "--all")
        self.assertEqual(r.stdout, "Purged 2 held messages of alice.\n")
        alice = self.mailbox("alice")
        self.assertEqual((alice["messages"], alice["held"]), (1, 0))
        self.assertEqual(self.sql("SELECT used_bytes FROM users WHERE name = 'alice'")[0][0],
                         used - held_octets)
        # bob's copy keeps the shared file; alice's own one is gone.
        self.assertEqual(len(self.spool_files()), 2)
        self.assertEqual(self.visible("bob"), ["shared"])
        self.assertEqual(self.sql("SELECT hdr_subject FROM messages ORDER BY id"),
                         [("shared",), ("visible",)])


class TestHeldAudited(MailboxTestCase):
    extra_config = "msgaudit=true\n"

    def test_release_and_purge_rows(self):
        self.deliver("back")
        self.deliver("away")
        self.hold("alice", "back", "away")
        self.sql("DELETE FROM msgaudit")
        self.ok("mailbox", "release", "alice", "1")
        self.ok("mailbox", "purge", "alice", "2")
        rows = self.sql("SELECT component, cmd, owner, sourcefolder, subject, sender "
                        "FROM msgaudit ORDER BY id")
        self.assertEqual(rows, [("W", "U", "alice", "INBOX", "back", "sender@example.org"),
                                ("W", "P", "alice", "INBOX", "away", "sender@example.org")])
        actors = self.sql("SELECT DISTINCT actionuser FROM msgaudit")
        self.assertEqual(len(actors), 1)
        self.assertNotEqual(actors[0][0], "")


class TestLocks(MailboxTestCase):
    def test_not_locked(self):
        r = self.ok("mailbox", "unlock", "alice")
        self.assertEqual(r.stdout, "The mailbox of alice is not locked.\n")

    def test_live_lock_is_kept_without_force(self):
        self.deliver("a")
        self.hold("alice", "a")
        expires = int(time.time()) + 300
        self.add_lock("alice", "pop3 192.0.2.7 [elsewhere:4242:1]", "elsewhere", expires)
        [lock] = self.mailbox("alice")["locks"]
        self.assertEqual(lock, {"folder": "INBOX", "holder": "pop3 192.0.2.7 [elsewhere:4242:1]",
                                "instance": "elsewhere", "exclusive": True, "expires": expires,
                                "state": "live"})
        line = self.ok("mailbox", "list", "alice").stdout.splitlines()[1]
        self.assertIn("pop3 192.0.2.7", line)
        # Held messages are changed only under the mailbox's lock.
        r = self.fails(EX_TEMPFAIL, "mailbox", "release", "alice", "--all")
        self.assertIn("in use by pop3 192.0.2.7", r.stderr)
        self.fails(EX_TEMPFAIL, "mailbox", "purge", "alice", "1")
        self.assertEqual(self.mailbox("alice")["held"], 1)

        r = self.fails(EX_TEMPFAIL, "mailbox", "unlock", "alice")
        self.assertIn("--force", r.stderr)
        self.assertEqual(len(self.mailbox("alice")["locks"]), 1)
        r = self.ok("mailbox", "unlock", "alice", "--force")
        self.assertIn("may still be running", r.stderr)
        self.assertEqual(self.mailbox("alice")["locks"], [])
        self.ok("mailbox", "release", "alice", "--all")
        self.assertEqual(self.visible("alice"), ["a"])
        self.assertEqual(self.mailbox("alice")["locks"], [], "its own lock is gone")

    def test_expired_and_dead_locks_go(self):
        now = int(time.time())
        host = socket.gethostname()
        self.add_lock("alice", "pop3 192.0.2.8 [elsewhere:1:1]", "elsewhere", now - 10)
        self.add_lock("alice", "pop3 192.0.2.9 [%s:%d:3]" % (host, dead_pid()), host, now + 300)
        states = sorted(l["state"] for l in self.mailbox("alice")["locks"])
        self.assertEqual(states, ["dead", "expired"])
        r = self.ok("mailbox", "unlock", "alice")
        self.assertIn("Removed the expired lock held by pop3 192.0.2.8", r.stdout)
        self.assertIn("Removed the lock held by pop3 192.0.2.9", r.stdout)
        self.assertIn("no longer runs", r.stdout)
        self.assertEqual(self.mailbox("alice")["locks"], [])

    def test_running_process_on_this_host_is_live(self):
        host = socket.gethostname()
        self.add_lock("bob", "pop3 192.0.2.10 [%s:%d:1]" % (host, os.getpid()), host,
                      int(time.time()) + 300)
        [lock] = self.mailbox("bob")["locks"]
        self.assertEqual(lock["state"], "live")
        self.fails(EX_TEMPFAIL, "mailbox", "unlock", "bob")
        self.assertEqual(len(self.mailbox("bob")["locks"]), 1)
        self.assertEqual(self.mailbox("alice")["locks"], [], "other mailboxes are not locked")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    test_ctl.CTL = os.path.abspath(sys.argv[1])
    unittest.main(argv=[sys.argv[0], "-v"])


if __name__ == "__main__":
    main()
