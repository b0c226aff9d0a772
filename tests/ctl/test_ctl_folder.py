#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""postroomctl folder acl: list, set and delete, and their errors.

Usage: test_ctl_folder.py POSTROOMCTL

Runs the real binary against a temporary SQLite setup (the harness of
test_ctl.py). What the commands store is read back with Python's sqlite3
module too; tests/imap4/test_imap_acl.py checks that IMAP honours it.
"""

import os
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_ctl  # noqa: E402
from test_ctl import EX_DATAERR, EX_NOUSER, EX_USAGE, CtlTestCase, Setup  # noqa: E402

ALL = "lrswipkxtea"


class FolderAclTestCase(CtlTestCase):
    def setUp(self):
        self.s = Setup()
        self.addCleanup(self.s.cleanup)
        self.init()
        for name in ("alice", "bob", "carol"):
            self.add_user(name)

    def acl(self, user="alice", folder="Drafts"):
        return [(e["identifier"], e["rights"], e["owner"])
                for e in self.json("folder", "acl", "list", user, folder)]

    def rows(self):
        db = sqlite3.connect(os.path.join(self.s.data, "postroom.db"))
        try:
            return db.execute(
                "SELECT u.name, f.name, a.identifier, a.rights FROM folder_acl a "
                "JOIN folders f ON f.id = a.folder_id JOIN users u ON u.id = f.user_id "
                "ORDER BY 1, 2, 3").fetchall()
        finally:
            db.close()

    def test_list_set_delete(self):
        self.assertEqual(self.acl(), [("alice", ALL, True)])
        r = self.ok("folder", "acl", "list", "alice", "Drafts")
        self.assertIn("alice (owner)", r.stdout)
        self.assertIn(ALL, r.stdout)

        r = self.ok("folder", "acl", "set", "alice", "Drafts", "Bob", "rl")
        self.assertIn("“lr”", r.stdout)
        self.ok("folder", "acl", "set", "alice", "Drafts", "anyone", "l")
        self.assertEqual(self.acl(), [("alice", ALL, True), ("anyone", "l", False),
                                      ("bob", "lr", False)])
        # +/- modifiers ("--" before a leading "-"), c and d.
        self.ok("folder", "acl", "set", "alice", "Drafts", "bob", "+sw")
        self.ok("folder", "acl", "set", "alice", "Drafts", "bob", "--", "-rw")
        self.ok("folder", "acl", "set", "alice", "Drafts", "carol", "cd")
        self.assertEqual(self.acl(), [("alice", ALL, True), ("anyone", "l", False),
                                      ("bob", "ls", False), ("carol", "kxte", False)])
        # INBOX in any case; the rows are stored canonical and lower case.
        self.ok("folder", "acl", "set", "ALICE", "inbox", "bob", "lr")
        self.assertEqual(self.rows(), [("alice", "Drafts", "anyone", "l"),
                                       ("alice", "Drafts", "bob", "ls"),
                                       ("alice", "Drafts", "carol", "kxte"),
                                       ("alice", "INBOX", "bob", "lr")])

        r = self.ok("folder", "acl", "delete", "alice", "Drafts", "carol")
        self.assertIn("no entry", r.stdout)
        # Taking every right away removes the entry too.
        self.ok("folder", "acl", "set", "alice", "Drafts", "bob", "--", "-ls")
        self.assertEqual(self.acl(), [("alice", ALL, True), ("anyone", "l", False)])
        # Deleting an entry that is not there is not an error.
        self.ok("folder", "acl", "delete", "alice", "Drafts", "bob")

        # A user deleted takes their entries along.
        self.ok("user", "del", "bob")
        self.assertEqual(self.rows(), [("alice", "Drafts", "anyone", "l")])

    def test_errors(self):
        r = self.fails(EX_DATAERR, "folder", "acl", "set", "alice", "Drafts", "bob", "lz")
        self.assertIn("“z”", r.stderr)
        r = self.fails(EX_DATAERR, "folder", "acl", "set", "alice", "Drafts", "zed", "lr")
        self.assertIn("zed", r.stderr)
        r = self.fails(EX_DATAERR, "folder", "acl", "set", "alice", "Drafts", "Alice", "lr")
        self.assertIn("owner", r.stderr)
        self.fails(EX_DATAERR, "folder", "acl", "delete", "alice", "Drafts", "alice")
        r = self.fails(EX_NOUSER, "folder", "acl", "list", "zed", "Drafts")
        self.assertIn("zed", r.stderr)
        r = self.fails(EX_NOUSER, "folder", "acl", "set", "alice", "Nope", "bob", "lr")
        self.assertIn("Nope", r.stderr)
        self.fails(EX_NOUSER, "folder", "acl", "list", "alice", "drafts")
        self.fails(EX_USAGE, "folder", "acl", "list", "alice", "#users/bob/Drafts")
        self.fails(EX_USAGE, "folder", "acl", "list", "alice")
        self.fails(EX_USAGE, "folder", "acl", "set", "alice", "Drafts", "bob")
        self.fails(EX_USAGE, "folder", "acl", "delete", "alice", "Drafts", "bob", "lr")
        self.fails(EX_USAGE, "folder", "acl", "grant", "alice", "Drafts", "bob")
        self.fails(EX_USAGE, "folder", "acl")
        # Nothing was stored by any of them.
        self.assertEqual(self.rows(), [])
        self.assertEqual(self.acl(), [("alice", ALL, True)])

    def test_help(self):
        r = self.ok("--help", config=False)
        self.assertIn("folder acl", r.stdout)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    test_ctl.CTL = os.path.abspath(sys.argv[1])
    unittest.main(argv=[sys.argv[0], "-v"])


if __name__ == "__main__":
    main()
