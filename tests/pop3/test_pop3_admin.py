#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""What POP3 leaves for the administrator, against a real postroomd: msgaudit
rows for deletions in the UPDATE state (and none without QUIT), held
messages ("hold_deleted") seen and released or purged with `postroomctl
mailbox`, and mailbox locks seen and cleared with it. Runs on SQLite, or on
PostgreSQL with --store postgresql."""

import json
import re
import sqlite3
import time

import pop3test
from pop3test import Pop3Server, Pop3TestCase, make_message, message_tag, run_tests

PASSWORD = "correct horse"
EX_TEMPFAIL = 75
WAIT = 30  # seconds for the server to notice a dropped connection


class AdminTestCase(Pop3TestCase):
    @classmethod
    def make_server(cls):
        store = pop3test.store_settings()
        srv = Pop3Server(settings=cls.settings, tls=cls.tls, users=cls.users,
                         name=cls.__name__.lower(), store=store)
        srv.pg_database = re.search(r"DB_NAME=([^;]+)", store["cnc"]).group(1) if store else None
        return srv

    def sql(self, statement):
        """Rows of a query on the server's store, either provider."""
        if self.server.pg_database is not None:
            return pop3test.pg_server().query(self.server.pg_database, statement)
        db = sqlite3.connect("file:%s?mode=ro" % self.server.db_path(), uri=True, timeout=30)
        try:
            return db.execute(statement).fetchall()
        finally:
            db.close()

    def audit_rows(self, owner, component="P"):
        return self.sql("SELECT component, cmd, owner, actionuser, ipaddr, sourcefolder, "
                        "subject, sender FROM msgaudit WHERE owner = '%s' AND component = '%s' "
                        "ORDER BY id" % (owner, component))

    def ctl(self, *args, expect=0):
        r = self.server.ctl(*args, check=False)
        self.assertEqual(r.returncode, expect, "%s: %s%s" % (args, r.stdout, r.stderr))
        return r

    def ctl_json(self, *args):
        return json.loads(self.ctl("--json", *args).stdout)

    def deliver(self, user, *tags):
        for tag in tags:
            self.server.deliver(user, make_message(tag))

    def tags(self, p):
        """The tags of the messages a POP3 session sees, in order."""
        count = p.stat()[0]
        return [message_tag(b"\r\n".join(p.retr(n)[1]) + b"\r\n") for n in range(1, count + 1)]

    def wait_unlocked(self, user):
        """Waits until the server has dropped @user's lock (a connection it
        has yet to notice is gone)."""
        deadline = time.monotonic() + WAIT
        while self.ctl_json("mailbox", "list", user)[0]["locks"]:
            self.assertLess(time.monotonic(), deadline, "the lock stays")
            time.sleep(0.1)


class Audited(AdminTestCase):
    users = {"alice": PASSWORD, "bob": PASSWORD, "carol": PASSWORD}
    settings = {"delivery": {"msgaudit": True}}

    def test_quit_writes_one_row_per_deletion(self):
        self.deliver("alice", "a-1", "a-2", "a-3")
        p = self.pop("alice", PASSWORD)
        p.dele(1)
        p.dele(3)
        self.assertEqual(self.audit_rows("alice"), [], "nothing before QUIT")
        p.quit()
        rows = self.audit_rows("alice")
        self.assertEqual(rows, [("P", "D", "alice", "alice", "127.0.0.1", "INBOX", "a-1",
                                 "sender@example.org"),
                                ("P", "D", "alice", "alice", "127.0.0.1", "INBOX", "a-3",
                                 "sender@example.org")])
        # The deliveries were audited too (DIST), with the same setting.
        self.assertEqual(len(self.audit_rows("alice", "DIST")), 3)
        p = self.pop("alice", PASSWORD)
        self.assertEqual(self.tags(p), ["a-2"])
        p.quit()

    def test_no_rows_without_quit(self):
        self.deliver("bob", "b-1", "b-2")
        c = self.connect()
        self.assertTrue(c.login("bob", PASSWORD).startswith("+OK"))
        self.assertTrue(c.cmd("DELE 1").startswith("+OK"))
        self.assertTrue(c.cmd("DELE 2").startswith("+OK"))
        c.close()
        self.wait_unlocked("bob")
        self.assertEqual(self.audit_rows("bob"), [])
        p = self.pop("bob", PASSWORD)
        self.assertEqual(self.tags(p), ["b-1", "b-2"])
        # RSET undoes the marks: no deletion, no row.
        p.dele(1)
        p.rset()
        p.quit()
        self.assertEqual(self.audit_rows("bob"), [])

    def test_quit_without_deletions(self):
        self.deliver("carol", "c-1")
        p = self.pop("carol", PASSWORD)
        p.retr(1)
        p.quit()
        self.assertEqual(self.audit_rows("carol"), [])


class NotAudited(AdminTestCase):
    users = {"dave": PASSWORD}

    def test_off_by_default(self):
        self.deliver("dave", "d-1", "d-2")
        p = self.pop("dave", PASSWORD)
        p.dele(1)
        p.quit()
        self.assertEqual(self.sql("SELECT COUNT(*) FROM msgaudit"), [(0,)])
        p = self.pop("dave", PASSWORD)
        self.assertEqual(self.tags(p), ["d-2"], "the deletion itself happened")
        p.quit()


class Held(AdminTestCase):
    users = {"erin": PASSWORD, "frank": PASSWORD}
    settings = {"delivery": {"msgaudit": True}, "pop3": {"hold_deleted": True}}

    def test_hold_list_release_purge(self):
        self.deliver("erin", "e-1", "e-2", "e-3")
        p = self.pop("erin", PASSWORD)
        uidls = [u.split()[1] for u in p.uidl()[1]]
        p.dele(1)
        p.dele(2)
        p.quit()
        # A held message is deleted for the client: audited as "D" too.
        self.assertEqual([r[1] + ":" + r[6] for r in self.audit_rows("erin")],
                         ["D:e-1", "D:e-2"])
        [box] = self.ctl_json("mailbox", "list", "erin")
        self.assertEqual((box["messages"], box["held"], box["locks"]), (1, 2, []))
        self.assertGreater(box["held_octets"], 0)
        held = self.ctl_json("mailbox", "held", "erin")
        self.assertEqual([h["subject"] for h in held], ["e-1", "e-2"])

        # While a POP3 session has the mailbox, the administrator waits.
        p = self.pop("erin", PASSWORD)
        self.assertEqual(p.stat()[0], 1)
        [lock] = self.ctl_json("mailbox", "list", "erin")[0]["locks"]
        self.assertTrue(lock["holder"].startswith("pop3 127.0.0.1 ["), lock)
        self.assertEqual((lock["state"], lock["exclusive"], lock["folder"]),
                         ("live", True, "INBOX"))
        self.assertGreater(lock["expires"], time.time())
        r = self.ctl("mailbox", "release", "erin", "--all", expect=EX_TEMPFAIL)
        self.assertIn("in use by pop3 127.0.0.1", r.stderr)
        self.ctl("mailbox", "unlock", "erin", expect=EX_TEMPFAIL)
        p.quit()

        self.ctl("mailbox", "release", "erin", str(held[0]["uid"]))
        p = self.pop("erin", PASSWORD)
        self.assertEqual(self.tags(p), ["e-1", "e-3"])
        self.assertEqual([u.split()[1] for u in p.uidl()[1]], [uidls[0], uidls[2]],
                         "a released message keeps its UIDL")
        p.quit()
        r = self.ctl("mailbox", "purge", "erin", "--all")
        self.assertEqual(r.stdout, "Purged 1 held message of erin.\n")
        self.assertEqual(self.ctl_json("mailbox", "held", "erin"), [])
        self.assertEqual(self.sql("SELECT COUNT(*) FROM messages WHERE hdr_subject = 'e-2'"),
                         [(0,)])
        self.assertEqual([r[1] + ":" + r[6] for r in self.audit_rows("erin", "W")],
                         ["U:e-1", "P:e-2"])

    def test_lock_of_a_killed_server(self):
        self.deliver("frank", "f-1")
        c = self.connect()
        self.assertTrue(c.login("frank", PASSWORD).startswith("+OK"))
        self.server.kill9()
        try:
            [lock] = self.ctl_json("mailbox", "list", "frank")[0]["locks"]
            # Same host, process gone: the tool knows it is dead.
            self.assertEqual(lock["state"], "dead", lock)
            r = self.ctl("mailbox", "unlock", "frank")
            self.assertIn("no longer runs", r.stdout)
            self.assertEqual(self.ctl_json("mailbox", "list", "frank")[0]["locks"], [])
        finally:
            c.close()
            self.server.restart()
        p = self.pop("frank", PASSWORD)
        self.assertEqual(self.tags(p), ["f-1"])
        p.quit()


if __name__ == "__main__":
    run_tests()
