#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Password and SASL authentication, lockout and the login audit."""

import base64
import sqlite3
import time
import unittest

from postroomtest import (
    R_AUTH_FAILED, R_BAD_STATE, R_LOCKED_PREFIX, R_LOGGED_IN, Server, ServerTestCase, b64,
    run_tests)

USERS = {"alice": "correct horse", "bob": "b0b's pässword"}


def login(client, user, password):
    reply = client.cmd("USER " + user)
    if reply != "+OK send PASS":
        return reply
    return client.cmd("PASS " + password)


class Auth(ServerTestCase):
    users = USERS

    def test_user_pass_good(self):
        c = self.connect()
        self.assertEqual(login(c, "alice", "correct horse"), R_LOGGED_IN)
        self.assertEqual(c.cmd("WHOAMI"), "+OK alice")
        self.assertEqual(c.cmd("USER alice"), R_BAD_STATE, "USER after login")
        self.assertEqual(c.cmd("KVSET after-login yes"), "+OK stored")

    def test_login_name_case_insensitive(self):
        c = self.connect()
        self.assertEqual(login(c, "ALICE", "correct horse"), R_LOGGED_IN)
        self.assertEqual(c.cmd("WHOAMI"), "+OK alice", "canonical account name")

    def test_utf8_password(self):
        c = self.connect()
        self.assertEqual(login(c, "bob", "b0b's pässword"), R_LOGGED_IN)

    def test_pass_without_user(self):
        c = self.connect()
        self.assertEqual(c.cmd("PASS correct horse"), "-ERR USER first")
        self.assertEqual(c.cmd("WHOAMI"), R_BAD_STATE)

    def test_pipelined_login(self):
        c = self.connect()
        c.send("USER alice\r\nPASS correct horse\r\nWHOAMI\r\nQUIT\r\n")
        self.assertEqual(c.read_until_closed(),
                         ["+OK send PASS", R_LOGGED_IN, "+OK alice", "+OK bye"])

    def test_sasl_plain_initial_response(self):
        c = self.connect()
        self.assertEqual(c.cmd("AUTH PLAIN " + b64("\0alice\0correct horse")), R_LOGGED_IN)
        self.assertEqual(c.cmd("WHOAMI"), "+OK alice")

    def test_sasl_plain_continuation(self):
        c = self.connect()
        challenge = c.cmd("AUTH PLAIN")
        self.assertTrue(challenge.startswith("+"), challenge)
        self.assertEqual(c.cmd(b64("\0alice\0correct horse")), R_LOGGED_IN)

    def test_sasl_plain_lowercase_mechanism(self):
        c = self.connect()
        self.assertEqual(c.cmd("auth plain " + b64("alice\0alice\0correct horse")), R_LOGGED_IN)

    def test_sasl_login(self):
        c = self.connect()
        first = c.cmd("AUTH LOGIN")
        self.assertTrue(first.startswith("+ "), first)
        self.assertIn("user", base64.b64decode(first[2:]).decode().lower())
        second = c.cmd(b64("alice"))
        self.assertTrue(second.startswith("+ "), second)
        self.assertIn("password", base64.b64decode(second[2:]).decode().lower())
        self.assertEqual(c.cmd(b64("correct horse")), R_LOGGED_IN)
        self.assertEqual(c.cmd("WHOAMI"), "+OK alice")

    def test_sasl_login_initial_response(self):
        c = self.connect()
        second = c.cmd("AUTH LOGIN " + b64("alice"))
        self.assertTrue(second.startswith("+ "), second)
        self.assertEqual(c.cmd(b64("correct horse")), R_LOGGED_IN)

    def test_sasl_cancel(self):
        c = self.connect()
        self.assertTrue(c.cmd("AUTH LOGIN").startswith("+ "))
        self.assertEqual(c.cmd("*"), "-ERR Authentication cancelled")
        self.assertEqual(c.cmd("NOOP"), "+OK", "back to command dispatch")

    def test_sasl_malformed(self):
        c = self.connect()
        self.assertEqual(c.cmd("AUTH PLAIN !!!not-base64!!!"), "-ERR Malformed SASL response")
        self.assertEqual(c.cmd("NOOP"), "+OK")

    def test_sasl_unknown_mechanism(self):
        c = self.connect()
        self.assertEqual(c.cmd("AUTH CRAM-MD5"), "-ERR Unsupported mechanism")
        self.assertEqual(c.cmd("NOOP"), "+OK")

    def test_auth_in_trans_state(self):
        c = self.connect()
        self.assertEqual(login(c, "alice", "correct horse"), R_LOGGED_IN)
        self.assertEqual(c.cmd("AUTH PLAIN " + b64("\0alice\0correct horse")), R_BAD_STATE)

    def test_disconnect_during_verification(self):
        c = self.server.connect()
        c.send("USER alice\r\nPASS correct horse\r\n")
        c.close()
        c = self.server.connect()
        c.send("AUTH LOGIN\r\n")
        c.close()
        time.sleep(0.5)
        c = self.connect()
        self.assertEqual(login(c, "alice", "correct horse"), R_LOGGED_IN)


def audit_rows(db_path, timeout=10):
    """loginaudit rows as dicts, read through Python's own sqlite3, read-only."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True, timeout=5)
            try:
                db.row_factory = sqlite3.Row
                return [dict(r) for r in db.execute("SELECT * FROM loginaudit")]
            finally:
                db.close()
        except sqlite3.Error as e:
            last_error = e
            time.sleep(0.2)
    raise AssertionError("cannot read loginaudit: %s" % last_error)


class Lockout(unittest.TestCase):
    """A fresh server (and database) per test: failures count per address."""

    def start(self, settings=None):
        srv = Server(settings=settings, users=USERS, name="lockout")
        self.addCleanup(srv.cleanup)
        srv.start()
        return srv

    def attempt(self, srv, password, mechanism="USER"):
        with srv.connect() as c:
            if mechanism == "USER":
                return login(c, "alice", password)
            return c.cmd("AUTH PLAIN " + b64("\0alice\0" + password))

    def test_lockout_after_three_failures(self):
        srv = self.start()
        for i in range(3):
            self.assertEqual(self.attempt(srv, "wrong %d" % i), R_AUTH_FAILED, "attempt %d" % i)
        reply = self.attempt(srv, "correct horse")
        self.assertTrue(reply.startswith(R_LOCKED_PREFIX), reply)
        reply = self.attempt(srv, "correct horse", mechanism="PLAIN")
        self.assertTrue(reply.startswith(R_LOCKED_PREFIX), "SASL is locked too: %r" % reply)

        expected = 5
        deadline = time.monotonic() + 10
        rows = audit_rows(srv.db_path())
        while len(rows) < expected and time.monotonic() < deadline:
            time.sleep(0.2)
            rows = audit_rows(srv.db_path())
        self.assertEqual(len(rows), expected, rows)
        for row in rows:
            values = [str(v) for v in row.values()]
            self.assertIn("alice", values, row)
            self.assertIn("127.0.0.1", values, row)
            self.assertIn("testproto", values, row)
        mechanisms = [v for row in rows for v in row.values() if v in ("USER", "PLAIN")]
        self.assertEqual(sorted(mechanisms), ["PLAIN", "USER", "USER", "USER", "USER"])
        srv.check_clean_exit()

    def test_configured_lockout_attempts(self):
        srv = self.start({"auth": {"lockout_attempts": 5}})
        for i in range(4):
            self.assertEqual(self.attempt(srv, "wrong %d" % i), R_AUTH_FAILED)
        self.assertEqual(self.attempt(srv, "correct horse"), R_LOGGED_IN,
                         "4 failures are below lockout_attempts=5")
        srv.check_clean_exit()

    def test_failures_then_success_same_connection(self):
        srv = self.start()
        with srv.connect() as c:
            self.assertEqual(login(c, "alice", "nope"), R_AUTH_FAILED)
            self.assertEqual(c.cmd("WHOAMI"), R_BAD_STATE, "still not logged in")
            self.assertEqual(login(c, "nobody", "correct horse"), R_AUTH_FAILED,
                             "unknown users get the same answer")
            self.assertEqual(login(c, "alice", "correct horse"), R_LOGGED_IN)
        self.assertEqual(len(audit_rows(srv.db_path())), 3)
        srv.check_clean_exit()


if __name__ == "__main__":
    run_tests()
