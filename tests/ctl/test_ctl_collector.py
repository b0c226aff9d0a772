#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""postroomctl collector: add, set, del, list, show, run and forget.

Usage: test_ctl_collector.py POSTROOMCTL

Runs the real binary against a temporary SQLite setup (the harness of
test_ctl.py). What a running collector module would write (claims, UIDs,
results) is written behind libgda's back with Python's sqlite3 module.
"""

import base64
import json
import os
import sqlite3
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_ctl  # noqa: E402
from test_ctl import (EX_CANTCREAT, EX_DATAERR, EX_IOERR, EX_NOUSER, EX_USAGE,  # noqa: E402
                      CtlTestCase)

EX_TEMPFAIL = 75
PASSWORD = "Isp-Pa55word"


class CollectorTestCase(CtlTestCase):
    def setUp(self):
        super().setUp()
        self.init()

    def sql(self, statement, *params):
        db = sqlite3.connect(os.path.join(self.s.data, "postroom.db"))
        try:
            with db:
                return db.execute(statement, params).fetchall()
        finally:
            db.close()

    def add(self, name="isp", *extra, password=PASSWORD):
        return self.ok("collector", "add", name, "--server", "pop.example.net",
                       "--deliver-to", "alice", "--password-stdin", *extra,
                       stdin=password + "\n")

    def show(self, name="isp"):
        return self.json("collector", "show", name)

    def collector_id(self, name="isp"):
        return self.show(name)["id"]

    def add_uids(self, collector_id, *uids, state="downloaded"):
        for uid in uids:
            self.sql("INSERT INTO collector_uids (collector_id, uid, state, first_seen, updated) "
                     "VALUES (?, ?, ?, 1, 1)", collector_id, uid, state)

    def assert_no_password(self, r):
        self.assertNotIn(PASSWORD, r.stdout)
        self.assertNotIn(PASSWORD, r.stderr)


class TestAddListShow(CollectorTestCase):
    def test_empty(self):
        r = self.ok("collector", "list")
        self.assertIn("No collectors", r.stdout)
        self.assertEqual(self.json("collector", "list"), [])

    def test_add_list_show(self):
        r = self.add("ISP", "--port", "1110", "--leave-days", "14", "--times", "17:30, 8:00",
                     "--priority", "3")
        self.assertIn("Created collector isp (number 1)", r.stdout)
        c = self.show()
        self.assertEqual((c["id"], c["name"], c["enabled"], c["priority"], c["password_set"]),
                         (1, "isp", True, 3, True))
        o = c["options"]
        self.assertEqual(o["server"], "pop.example.net")
        self.assertEqual(o["port"], "1110")
        self.assertEqual(o["leave_days"], "14")
        self.assertEqual(o["times"], "08:00;17:30")
        # Defaults are shown as the module uses them, and known as defaults.
        self.assertEqual((o["tls"], o["verify_cert"], o["auth"], o["interval"], o["routing"],
                          o["route_error"], o["nul"], o["implicit_mapping"]),
                         ("none", "yes", "user", "10", "user", "admin-error", "refuse", "yes"))
        self.assertEqual(c["explicit"], ["deliver_to", "leave_days", "port", "server", "times"])
        self.assertEqual((c["last_run"], c["run_requested"], c["claimed_by"], c["uids"]),
                         (0, 0, "", 0))
        self.assertEqual(c["uid_states"], {"downloaded": 0, "left": 0, "queried": 0,
                                           "requested": 0})
        self.assertNotIn("password", c["options"])

        [listed] = self.json("collector", "list")
        self.assertEqual(listed["id"], 1)
        self.assertEqual(listed["options"], c["options"])

        lines = self.ok("collector", "list").stdout.splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "NUMBER", "ENABLED", "SERVER", "SCHEDULE",
                                            "LAST", "RUN", "RESULT", "UIDS"])
        self.assertEqual(len(lines), 2)
        self.assertIn("pop.example.net:1110", lines[1])
        self.assertIn("every 10 min, at 08:00;17:30", lines[1])
        self.assertIn("never", lines[1])

        r = self.ok("collector", "show", "isp")
        self.assertIn("Server:", r.stdout)
        self.assertIn("Encryption:", r.stdout)
        self.assertIn("none (default)", r.stdout)
        self.assertIn("Password:", r.stdout)
        self.assertIn("set", r.stdout)

    def test_password_never_shown(self):
        for r in (self.add(), self.ok("collector", "list"), self.ok("collector", "show", "isp"),
                  self.ok("collector", "list", "--json"),
                  self.ok("collector", "show", "isp", "--json")):
            self.assert_no_password(r)
        # Stored readable by the server, but not as typed.
        [(stored,)] = self.sql("SELECT password FROM collectors")
        self.assertNotEqual(stored, PASSWORD)
        self.assertEqual(base64.b64decode(stored).decode(), PASSWORD)
        for (value,) in self.sql("SELECT value FROM collector_options"):
            self.assertNotIn(PASSWORD, value)

    def test_implicit_tls_port(self):
        self.add("isp", "--tls", "IMPLICIT")
        o = self.show()["options"]
        self.assertEqual((o["tls"], o["port"]), ("implicit", "995"))

    def test_underscore_spelling(self):
        self.add("isp", "--leave_days", "3", "--verify_cert", "false", "--use-rules", "on")
        o = self.show()["options"]
        self.assertEqual((o["leave_days"], o["verify_cert"], o["use_rules"]), ("3", "no", "yes"))

    def test_order(self):
        self.add("late", "--priority", "5")
        self.add("first", "--priority", "1")
        self.add("second", "--priority", "1")
        # Lower priority first, then by number.
        self.assertEqual([c["name"] for c in self.json("collector", "list")],
                         ["first", "second", "late"])

    def test_headers_routing_needs_no_target(self):
        self.ok("collector", "add", "catchall", "--server", "pop.example.net", "--routing",
                "headers", "--accepted-domains", "example.com;*.example.org",
                "--envelope-header", "X-Recipient: acc * delivered", "--password-stdin",
                stdin="pw\n")
        o = self.show("catchall")["options"]
        self.assertEqual(o["accepted_domains"], "example.com;*.example.org")
        self.assertEqual(o["envelope_header"], "X-Recipient: acc * delivered")
        self.assertIsNone(o["deliver_to"])


class TestValidation(CollectorTestCase):
    def add_fails(self, code, *extra, name="isp"):
        r = self.fails(code, "collector", "add", name, "--password-stdin", *extra, stdin="pw\n")
        self.fails(EX_NOUSER, "collector", "show", name)
        return r

    def test_bad_options(self):
        base = ("--server", "pop.example.net", "--deliver-to", "alice")
        cases = [
            (("--port", "0"), "--port"),
            (("--port", "65536"), "--port"),
            (("--tls", "ssl"), "stls-if-available"),
            (("--auth", "kerberos"), "cram-md5"),
            (("--verify-cert", "maybe"), "yes or no"),
            (("--interval", "-1"), "--interval"),
            (("--leave-days", "-2"), "--leave-days"),
            (("--max-size", "ten"), "--max-size"),
            (("--times", "25:00"), "HH:MM"),
            (("--times", "8:5"), "HH:MM"),
            (("--routing", "magic"), "headers"),
            (("--route-error", "shrug"), "discard"),
            (("--nul", "keep"), "replace"),
            (("--nul-char", "ab"), "--nul-char"),
            (("--pipelining", "yes"), "auto"),
            (("--ca-file", "relative.pem"), "absolute"),
            (("--username", "a\x01b"), "control"),
            (("--enabled", "perhaps"), "yes or no"),
            (("--priority", "high"), "--priority"),
        ]
        for args, hint in cases:
            with self.subTest(args=args):
                r = self.add_fails(EX_USAGE, *base, *args)
                self.assertIn(hint, r.stderr)

    def test_pipelining(self):
        self.add("isp")
        c = self.show()
        self.assertEqual(c["options"]["pipelining"], "auto")
        self.assertNotIn("pipelining", c["explicit"])
        self.ok("collector", "set", "isp", "--pipelining", "NO")
        c = self.show()
        self.assertEqual(c["options"]["pipelining"], "no")
        self.assertIn("pipelining", c["explicit"])
        self.assertIn("Pipelining:", self.ok("collector", "show", "isp").stdout)

    def test_unknown_option(self):
        r = self.add_fails(EX_USAGE, "--server", "pop.example.net", "--deliver-to", "alice",
                           "--frobnicate", "1")
        self.assertIn("--frobnicate", r.stderr)

    def test_bad_server(self):
        for server in ("", "pop example.net", "-pop.example.net", "pop_1.example.net"):
            with self.subTest(server=server):
                self.add_fails(EX_USAGE, "--server", server, "--deliver-to", "alice")
        self.add("v6", "--server", "::1")
        self.assertEqual(self.show("v6")["options"]["server"], "::1")

    def test_required_combinations(self):
        r = self.add_fails(EX_USAGE, "--deliver-to", "alice")
        self.assertIn("--server", r.stderr)
        r = self.add_fails(EX_USAGE, "--server", "pop.example.net")
        self.assertIn("--deliver-to", r.stderr)
        r = self.add_fails(EX_USAGE, "--server", "pop.example.net", "--deliver-to", "alice",
                           "--route-error", "user-message")
        self.assertIn("--route-error-to", r.stderr)

    def test_bad_names(self):
        for name in ("a b", "_x", ".x", "123", "x" * 65, "na/me", "ümlaut"):
            with self.subTest(name=name):
                self.fails(EX_DATAERR, "collector", "add", name, "--server", "pop.example.net",
                           "--deliver-to", "alice", "--password-stdin", stdin="pw\n")
        self.assertEqual(self.json("collector", "list"), [])

    def test_exists(self):
        self.add("isp")
        r = self.fails(EX_CANTCREAT, "collector", "add", "ISP", "--server", "other.example.net",
                       "--deliver-to", "bob", "--password-stdin", stdin="pw\n")
        self.assertIn("exists", r.stderr)
        self.assertEqual(self.show()["options"]["server"], "pop.example.net")

    def test_missing(self):
        for cmd in (("set", "ghost", "--interval", "5"), ("del", "ghost"), ("show", "ghost"),
                    ("run", "ghost"), ("forget", "ghost")):
            with self.subTest(cmd=cmd):
                r = self.fails(EX_NOUSER, "collector", *cmd)
                self.assertIn("ghost", r.stderr)

    def test_password_sources(self):
        # Two equal lines on a non-terminal stdin, like `user add`.
        base = ("--server", "pop.example.net", "--deliver-to", "alice")
        self.ok("collector", "add", "a", *base, stdin="pw-1\npw-1\n")
        r = self.fails(EX_DATAERR, "collector", "add", "b", *base, stdin="pw-1\npw-2\n")
        self.assertIn("differ", r.stderr)
        r = self.fails(EX_DATAERR, "collector", "add", "c", *base, "--password-stdin", stdin="\n")
        self.assertIn("empty", r.stderr)
        pw = self.s.write("isp-pw", "from-file\n")
        self.ok("collector", "add", "d", *base, "--password-file", pw)
        self.fails(EX_USAGE, "collector", "add", "e", *base, "--password-file", pw,
                   "--password-stdin", stdin="x\n")
        self.fails(EX_IOERR, "collector", "add", "f", *base, "--password-file",
                   os.path.join(self.s.tmp, "missing"))
        self.assertEqual([c["name"] for c in self.json("collector", "list")], ["a", "d"])
        stored = dict(self.sql("SELECT name, password FROM collectors"))
        self.assertEqual(base64.b64decode(stored["a"]).decode(), "pw-1")
        self.assertEqual(base64.b64decode(stored["d"]).decode(), "from-file")


class TestSetDel(CollectorTestCase):
    def test_set(self):
        self.add("isp", "--port", "1110", "--interval", "30")
        r = self.ok("collector", "set", "isp", "--interval", "5", "--port", "", "--tls", "stls",
                    "--enabled", "no", "--priority", "-2")
        self.assertIn("Changed collector isp", r.stdout)
        c = self.show()
        self.assertEqual((c["enabled"], c["priority"]), (False, -2))
        self.assertEqual((c["options"]["interval"], c["options"]["port"], c["options"]["tls"]),
                         ("5", "110", "stls"))
        self.assertNotIn("port", c["explicit"])
        # The password is unchanged unless asked for.
        [(before,)] = self.sql("SELECT password FROM collectors")
        self.ok("collector", "set", "isp", "--password-stdin", stdin="new-password\n")
        [(after,)] = self.sql("SELECT password FROM collectors")
        self.assertNotEqual(before, after)
        self.assertEqual(base64.b64decode(after).decode(), "new-password")
        self.ok("collector", "set", "isp", "--password", stdin="third\nthird\n")
        [(third,)] = self.sql("SELECT password FROM collectors")
        self.assertEqual(base64.b64decode(third).decode(), "third")

    def test_set_errors(self):
        self.add("isp")
        r = self.fails(EX_USAGE, "collector", "set", "isp")
        self.assertIn("Nothing to change", r.stderr)
        self.fails(EX_USAGE, "collector", "set", "isp", "--server", "")
        # The combination is checked as it would be.
        r = self.fails(EX_USAGE, "collector", "set", "isp", "--deliver-to", "")
        self.assertIn("--deliver-to", r.stderr)
        self.fails(EX_USAGE, "collector", "set", "isp", "--route-error", "user-error")
        self.ok("collector", "set", "isp", "--route-error", "user-error", "--route-error-to", "bob")
        r = self.fails(EX_USAGE, "collector", "set", "isp", "--routing", "headers",
                       "--deliver-to", "")
        self.assertIn("--accepted-domains", r.stderr)
        self.ok("collector", "set", "isp", "--routing", "headers", "--deliver-to", "",
                "--accepted-domains", "example.com")
        self.assertEqual(self.show()["options"]["route_error_to"], "bob")

    def test_del(self):
        self.add("isp")
        self.add("other")
        cid = self.collector_id()
        self.add_uids(cid, "u1", "u2")
        self.add_uids(self.collector_id("other"), "u1")
        r = self.ok("collector", "del", "isp")
        self.assertIn("Deleted collector isp", r.stdout)
        self.assertEqual([c["name"] for c in self.json("collector", "list")], ["other"])
        self.assertEqual(self.sql("SELECT COUNT(*) FROM collector_uids WHERE collector_id = ?",
                                  cid), [(0,)])
        self.assertEqual(self.sql("SELECT COUNT(*) FROM collector_options WHERE "
                                  "collector_id = ?", cid), [(0,)])
        self.assertEqual(self.show("other")["uids"], 1)
        self.fails(EX_NOUSER, "collector", "del", "isp")


class TestRunForget(CollectorTestCase):
    def test_run(self):
        self.add("isp")
        before = int(time.time())
        r = self.ok("collector", "run", "isp")
        self.assertIn("within a few seconds", r.stdout)
        requested = self.show()["run_requested"]
        self.assertGreaterEqual(requested, before)
        self.assertLessEqual(requested, int(time.time()))
        self.ok("collector", "set", "isp", "--enabled", "no")
        r = self.fails(EX_DATAERR, "collector", "run", "isp")
        self.assertIn("disabled", r.stderr)

    def test_run_while_running(self):
        self.add("isp")
        self.sql("UPDATE collectors SET claimed_by = 'mail1', claim_expires = ?",
                 int(time.time()) + 600)
        r = self.ok("collector", "run", "isp")
        self.assertIn("running now", r.stdout)
        self.assertIn("running", self.ok("collector", "list").stdout)
        self.assertIn("mail1", self.ok("collector", "show", "isp").stdout)

    def test_forget(self):
        self.add("isp")
        cid = self.collector_id()
        self.add_uids(cid, "a", "b")
        self.add_uids(cid, "c", state="queried")
        c = self.show()
        self.assertEqual((c["uids"], c["uid_states"]["downloaded"], c["uid_states"]["queried"]),
                         (3, 2, 1))
        lines = self.ok("collector", "list").stdout.splitlines()
        self.assertTrue(lines[1].rstrip().endswith("3"), lines[1])
        r = self.ok("collector", "forget", "isp")
        self.assertIn("forgot 3 UIDs", r.stdout)
        self.assertEqual(self.show()["uids"], 0)

    def test_forget_while_running(self):
        self.add("isp")
        self.add_uids(self.collector_id(), "a")
        self.sql("UPDATE collectors SET claimed_by = 'mail1', claim_expires = ?",
                 int(time.time()) + 600)
        r = self.fails(EX_TEMPFAIL, "collector", "forget", "isp")
        self.assertIn("running", r.stderr)
        self.assertEqual(self.show()["uids"], 1)
        # A claim that ran out is no session any more.
        self.sql("UPDATE collectors SET claim_expires = ?", int(time.time()) - 10)
        self.ok("collector", "forget", "isp")
        self.assertEqual(self.show()["uids"], 0)

    def test_results_listed(self):
        self.add("isp")
        self.sql("UPDATE collectors SET last_run = ?, last_result = 'Cannot log in: -ERR bad'",
                 int(time.time()))
        line = self.ok("collector", "list").stdout.splitlines()[1]
        self.assertIn("Cannot log in: -ERR bad", line)
        self.assertIn(time.strftime("%Y-%m-%d"), line)
        self.assertEqual(self.show()["last_result"], "Cannot log in: -ERR bad")


class TestHelp(CollectorTestCase):
    def test_help(self):
        r = self.ok("collector", "--help")
        for cmd in ("add", "set", "del", "list", "show", "run", "forget"):
            self.assertIn(f"collector {cmd}", r.stdout)
        r = self.ok("collector", "add", "--help")
        for option in ("--server", "--leave-days", "--route-error-to", "--password-file"):
            self.assertIn(option, r.stdout)
        # The stored spellings work but are not listed twice.
        self.assertNotIn("--leave_days", r.stdout)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    test_ctl.CTL = os.path.abspath(sys.argv[1])
    unittest.main(argv=[sys.argv[0], "-v"])


if __name__ == "__main__":
    main()
