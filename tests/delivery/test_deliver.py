#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""End-to-end tests of `postroomctl deliver`: the real binary, a real store.

Each test gets a temporary configuration (default domain example.com, local
domains example.com and *.example.org), a fresh database and users made
with postroomctl, delivers messages with `postroomctl deliver --json` and
checks where they landed, against VPOP3's rules (spec sections 2.9 and 4.4
to 4.9): the per-recipient JSON report, the exit code, the database rows
(read only) and the spool files.

--store sqlite (default) or --store postgresql: the same tests on a private
PostgreSQL server (tests/protocol/pgstore.py), queried with psql.
--build-root/--source-root as for tests/protocol.
"""

import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "protocol"))
sys.path.insert(0, HERE)

from postroomtest import Server, run_tests  # noqa: E402

EX_OK = 0
EX_DATAERR = 65
EX_NOUSER = 67
EX_TEMPFAIL = 75

HOSTNAME = "mx.example.com"
USERS = ("alice", "bob", "carol", "dave")
CTL_TIMEOUT = 120

_parser = argparse.ArgumentParser(add_help=False)
_parser.add_argument("--store", default="sqlite", choices=("sqlite", "postgresql"))
STORE = _parser.parse_known_args()[0].store

PG = None


def setUpModule():
    global PG
    if STORE == "postgresql":
        import pgstore
        PG = pgstore.PgServer()


def tearDownModule():
    if PG is not None:
        PG.stop()


# ---- messages -------------------------------------------------------------

def make_message(subject="Test message", body="Hello.\n", headers=(), sep="\n"):
    """A message with @sep line ends (bare LF by default)."""
    lines = ["From: Some Sender <sender@example.com>",
             "To: Recipients <undisclosed@example.com>",
             "Subject: " + subject,
             "Date: Mon, 2 Mar 2026 10:00:00 +0100",
             "Message-ID: <%s@test.example.com>" % re.sub(r"\W", "", subject)]
    lines += list(headers)
    return (sep.join(lines) + sep + sep + body.replace("\n", sep)).encode("utf-8")


def crlf(data):
    """What the store must hold: every line end CRLF (bare LF and lone CR
    included), a final CRLF, nothing else changed."""
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        c = data[i:i + 1]
        if c == b"\r":
            out += b"\r\n"
            i += 2 if data[i + 1:i + 2] == b"\n" else 1
        elif c == b"\n":
            out += b"\r\n"
            i += 1
        else:
            out += c
            i += 1
    if not out.endswith(b"\r\n"):
        out += b"\r\n"
    return bytes(out)


TRACE_RE = re.compile(
    rb"\AReturn-Path: <(?P<sender>[^>\r\n]*)>\r\n"
    rb"Received: by (?P<host>[^ ]+) \(Postroom\) with local"
    rb"(?:\r\n\tfor (?P<for>[^;\r\n]*))?"
    rb"; [A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}\r\n")


# ---- one test's installation ---------------------------------------------

class Delivery:
    """The outcome of one postroomctl deliver run."""

    def __init__(self, res):
        self.rc = res.returncode
        self.stdout = res.stdout.decode("utf-8", "replace")
        self.stderr = res.stderr.decode("utf-8", "replace")
        self.results = None
        if self.stdout.strip():
            try:
                self.results = json.loads(self.stdout)
            except ValueError:
                self.results = None

    def __repr__(self):
        return "exit %d\nstdout: %s\nstderr: %s" % (self.rc, self.stdout, self.stderr)

    def summary(self):
        """[(recipient, status, sorted mailboxes, sorted remote)]"""
        return [(r["recipient"], r["status"], sorted(r["mailboxes"]), sorted(r["remote"]))
                for r in self.results]


class Env:
    """A configuration, a fresh database and users; deliveries; queries."""

    def __init__(self, test, settings=None, users=USERS):
        groups = {
            "server": {"hostname": HOSTNAME},
            "auth": {"password_scheme": "sha512-crypt"},
            "delivery": {"default_domain": "example.com",
                         "local_domains": "example.com;*.example.org"},
        }
        for group, keys in (settings or {}).items():
            groups.setdefault(group, {}).update(keys)
        self.database = None
        if PG is not None:
            self.database = PG.create_database()
            groups["store"] = PG.store_settings(self.database)
        self.srv = Server(settings=groups, name="delivery",
                          env={"LANG": "C.UTF-8", "LANGUAGE": "", "LC_ALL": ""})
        test.addCleanup(self.cleanup)
        self.spool_dir = os.path.join(self.srv.data_dir, "spool")
        self.ctl("init")
        if PG is not None and os.path.exists(self.srv.db_path()):
            raise AssertionError("[store] provider=PostgreSQL was ignored: %s exists"
                                 % self.srv.db_path())
        for name in users:
            self.srv.add_user(name, "password-" + name)

    def cleanup(self):
        self.srv.cleanup()
        if PG is not None and self.database is not None:
            PG.drop_database(self.database)

    def ctl(self, *args):
        return self.srv.ctl(*args)

    def user_set(self, name, *options):
        self.ctl("user", "set", name, *options)

    def mapping(self, pattern, target):
        self.ctl("mapping", "add", pattern, target)

    def make_list(self, name, *members):
        self.ctl("list", "add", name)
        if members:
            args = []
            for m in members:
                args += ["--add", m]
            self.ctl("list", "members", name, *args)

    def deliver(self, recipients, message=None, sender="sender@example.com", auth_user=None,
                json_output=True):
        if message is None:
            message = make_message()
        cmd = [self.srv.paths.postroomctl, "--config", self.srv.config_path, "deliver"]
        if json_output:
            cmd.append("--json")
        if sender is not None:
            cmd += ["--from", sender]
        if auth_user is not None:
            cmd += ["--auth-user", auth_user]
        cmd += list(recipients)
        res = subprocess.run(cmd, input=message, capture_output=True, timeout=CTL_TIMEOUT,
                             env=self.srv.env)
        return Delivery(res)

    # Queries, the same on both stores; :name is a parameter.

    def query(self, sql, **params):
        if PG is not None:
            return PG.query(self.database, sql, params)
        db = sqlite3.connect("file:%s?mode=ro" % self.srv.db_path(), uri=True)
        try:
            return [tuple(r) for r in db.execute(sql, params).fetchall()]
        finally:
            db.close()

    def scalar(self, sql, **params):
        rows = self.query(sql, **params)
        return rows[0][0] if rows else None

    def message_ids(self):
        return [r[0] for r in self.query("SELECT id FROM messages ORDER BY id")]

    def message(self, mid):
        rows = self.query("SELECT spool_path, size, envelope_from, hdr_subject FROM messages "
                          "WHERE id = :id", id=mid)
        return rows[0] if rows else None

    def holders(self, mid):
        """Users with the message in their INBOX, sorted, once per row."""
        return sorted(r[0] for r in self.query(
            "SELECT u.name FROM folder_messages fm JOIN folders f ON f.id = fm.folder_id "
            "JOIN users u ON u.id = f.user_id WHERE fm.message_id = :id AND f.name = 'INBOX'",
            id=mid))

    def prefix(self, user, mid):
        return self.scalar(
            "SELECT fm.header_prefix FROM folder_messages fm JOIN folders f "
            "ON f.id = fm.folder_id JOIN users u ON u.id = f.user_id "
            "WHERE fm.message_id = :id AND u.name = :user AND f.name = 'INBOX'",
            id=mid, user=user)

    def inbox_subjects(self, user):
        return [r[0] for r in self.query(
            "SELECT m.hdr_subject FROM folder_messages fm JOIN folders f "
            "ON f.id = fm.folder_id JOIN users u ON u.id = f.user_id "
            "JOIN messages m ON m.id = fm.message_id "
            "WHERE u.name = :user AND f.name = 'INBOX' ORDER BY fm.uid", user=user)]

    def inbox_count(self, user):
        return len(self.inbox_subjects(user))

    def queue(self, mid=None):
        if mid is None:
            rows = self.query("SELECT recipient, sender, state FROM queue")
        else:
            rows = self.query("SELECT recipient, sender, state FROM queue "
                              "WHERE message_id = :id", id=mid)
        return sorted(rows)

    def used_bytes(self, user):
        return self.scalar("SELECT used_bytes FROM users WHERE name = :user", user=user)

    def spool(self, mid):
        path = self.message(mid)[0]
        with open(os.path.join(self.spool_dir, path), "rb") as f:
            return f.read()

    def spool_files(self):
        found = []
        for root, _dirs, files in os.walk(self.spool_dir):
            for name in files:
                found.append(os.path.relpath(os.path.join(root, name), self.spool_dir))
        return sorted(found)


# ---- the tests ------------------------------------------------------------

class DeliverTestCase(unittest.TestCase):
    maxDiff = None

    def env(self, settings=None, users=USERS):
        return Env(self, settings, users)

    def assertDelivered(self, d, expected, rc=EX_OK):
        """@expected: [(recipient, status, mailboxes, remote)], lists in any order."""
        self.assertIsNotNone(d.results, "no JSON report: %r" % d)
        want = [(r, s, sorted(m), sorted(x)) for r, s, m, x in expected]
        self.assertEqual(d.summary(), want, repr(d))
        self.assertEqual(d.rc, rc, repr(d))

    def deliver_one(self, e, recipients, expected, rc=EX_OK, **kw):
        """Delivers, checks the report and that exactly one message was
        stored; returns its id (None when nothing should be stored)."""
        before = e.message_ids()
        d = e.deliver(recipients, **kw)
        self.assertDelivered(d, expected, rc)
        new = [m for m in e.message_ids() if m not in before]
        stores = any(s == "ok" and (m or x) for _r, s, m, x in expected)
        self.assertEqual(len(new), 1 if stores else 0, "messages stored: %r\n%r" % (new, d))
        return new[0] if new else None

    def assertHolders(self, e, mid, users):
        self.assertEqual(e.holders(mid), sorted(users))
        for user in users:
            self.assertEqual(e.prefix(user, mid), "Delivered-To: %s@example.com\r\n" % user)

    # -- addresses and domains

    def test_default_domain_spool_and_accounting(self):
        """A bare name gets the default domain; the spool file has
        Return-Path, Received and CRLF line ends, the body byte-exact; size
        and usage are counted."""
        e = self.env()
        body = ("First line with trailing blanks  \n\tindented line\n.\n..two dots\n"
                "From the start of a line\nUTF-8: \u00e9t\u00e9 \u2014 \u65e5\u672c\n"
                "last line without a line end")
        msg = make_message("Spool format", body)
        mid = self.deliver_one(e, ["alice"], [("alice@example.com", "ok", ["alice"], [])],
                               message=msg)
        self.assertHolders(e, mid, ["alice"])
        data = e.spool(mid)
        m = TRACE_RE.match(data)
        self.assertIsNotNone(m, "trace headers: %r" % data[:300])
        self.assertEqual(m.group("sender"), b"sender@example.com")
        self.assertEqual(m.group("host"), HOSTNAME.encode())
        self.assertEqual(data[m.end():], crlf(msg))
        self.assertNotIn(b"\n", data.replace(b"\r\n", b""), "bare LF left")
        self.assertNotIn(b"\r", data.replace(b"\r\n", b""), "bare CR left")
        self.assertNotIn(b"Delivered-To:", data, "per-mailbox lines belong in header_prefix")
        path, size, envelope_from, subject = e.message(mid)
        self.assertEqual(size, len(data))
        self.assertEqual(envelope_from, "sender@example.com")
        self.assertEqual(subject, "Spool format")
        prefix = e.prefix("alice", mid)
        self.assertEqual(e.used_bytes("alice"), len(data) + len(prefix.encode()))
        self.assertEqual(e.used_bytes("bob"), 0)
        self.assertEqual(e.spool_files(), [path])
        self.assertEqual(e.queue(), [])

    def test_line_ends_crlf_and_mixed(self):
        """CRLF input is kept as it is; lone CRs and bare LFs become CRLF."""
        e = self.env()
        crlf_msg = make_message("CRLF input", "one\ntwo\n", sep="\r\n")
        mid = self.deliver_one(e, ["bob"], [("bob@example.com", "ok", ["bob"], [])],
                               message=crlf_msg)
        data = e.spool(mid)
        self.assertTrue(data.endswith(b"\r\n\r\none\r\ntwo\r\n"), data)
        self.assertEqual(data[TRACE_RE.match(data).end():], crlf_msg)

        mixed = make_message("Mixed", "a\r\nb\nc\rd\r\n\r\n\ne")
        mid = self.deliver_one(e, ["bob"], [("bob@example.com", "ok", ["bob"], [])],
                               message=mixed)
        data = e.spool(mid)
        self.assertTrue(data.endswith(b"\r\n\r\na\r\nb\r\nc\r\nd\r\n\r\n\r\ne\r\n"), data)

    def test_received_names_single_recipient(self):
        """With one recipient, Received: names it as an address (RFC 5321
        4.4: a Path or Mailbox), also when it was given as a bare name or in
        angle brackets; with several, none is named (Bcc)."""
        e = self.env()
        cases = [(["alice@example.com"], "alice", b"<alice@example.com>"),
                 (["alice", "bob"], None, None),
                 (["alice"], "alice", b"<alice@example.com>"),
                 (["<carol@Example.COM>"], "carol", b"<carol@example.com>")]
        got = []
        for rcpts, user, _want in cases:
            before = e.message_ids()
            d = e.deliver(rcpts)
            self.assertEqual(d.rc, EX_OK, repr(d))
            mid = [m for m in e.message_ids() if m not in before][0]
            if user is not None:
                self.assertHolders(e, mid, [user])
            got.append((rcpts, TRACE_RE.match(e.spool(mid)).group("for")))
        self.assertEqual(got, [(rcpts, want) for rcpts, _u, want in cases])

    def test_null_sender(self):
        """--from "" is the null sender: Return-Path: <>."""
        e = self.env()
        mid = self.deliver_one(e, ["carol"], [("carol@example.com", "ok", ["carol"], [])],
                               sender="")
        m = TRACE_RE.match(e.spool(mid))
        self.assertEqual(m.group("sender"), b"")
        self.assertEqual(e.message(mid)[2], "")

    def test_wildcard_local_domains(self):
        """*.example.org is local (any depth, any case); example.org itself
        and other domains are remote and queued."""
        e = self.env()
        mid = self.deliver_one(
            e, ["bob@mail.example.org", "BOB@Deep.Sub.Example.ORG", "bob@example.org",
                "carol@partner.net"],
            [("bob@mail.example.org", "ok", ["bob"], []),
             ("BOB@deep.sub.example.org", "ok", ["bob"], []),
             ("bob@example.org", "ok", [], ["bob@example.org"]),
             ("carol@partner.net", "ok", [], ["carol@partner.net"])])
        self.assertHolders(e, mid, ["bob"])
        self.assertEqual(e.queue(mid), [("bob@example.org", "sender@example.com", "pending"),
                                        ("carol@partner.net", "sender@example.com", "pending")])
        d = e.deliver(["nobody@mail.example.org"])
        self.assertDelivered(d, [("nobody@mail.example.org", "unknown", [], [])], EX_NOUSER)

    # -- mappings

    def test_mapping_name_to_user(self):
        """A mapping `name` works at every local domain, not elsewhere."""
        e = self.env()
        e.mapping("sales", "bob")
        mid = self.deliver_one(e, ["sales", "sales@www.example.org", "sales@partner.net"],
                               [("sales@example.com", "ok", ["bob"], []),
                                ("sales@www.example.org", "ok", ["bob"], []),
                                ("sales@partner.net", "ok", [], ["sales@partner.net"])])
        self.assertHolders(e, mid, ["bob"])

    def test_two_mappings_both_apply(self):
        """All matching mappings apply: one name, two users, one stored copy."""
        e = self.env()
        e.mapping("sales", "bob")
        e.mapping("sales", "carol")
        mid = self.deliver_one(e, ["sales@example.com"],
                               [("sales@example.com", "ok", ["bob", "carol"], [])])
        self.assertHolders(e, mid, ["bob", "carol"])
        self.assertEqual(len(e.spool_files()), 1)

    def test_mapping_overrides_implicit_user(self):
        """Mapping sales -> bob takes sales@ away from user sales until a
        mapping sales -> sales is added."""
        e = self.env(users=USERS + ("sales",))
        mid = self.deliver_one(e, ["sales"], [("sales@example.com", "ok", ["sales"], [])])
        self.assertHolders(e, mid, ["sales"])
        e.mapping("sales", "bob")
        mid = self.deliver_one(e, ["sales"], [("sales@example.com", "ok", ["bob"], [])])
        self.assertHolders(e, mid, ["bob"])
        e.mapping("sales", "sales")
        mid = self.deliver_one(e, ["sales"], [("sales@example.com", "ok", ["bob", "sales"], [])])
        self.assertHolders(e, mid, ["bob", "sales"])

    def test_domain_specific_mapping(self):
        """name@domain matches that domain only."""
        e = self.env()
        e.mapping("info@example.com", "dave")
        mid = self.deliver_one(e, ["info@example.com"],
                               [("info@example.com", "ok", ["dave"], [])])
        self.assertHolders(e, mid, ["dave"])
        d = e.deliver(["info@www.example.org"])
        self.assertDelivered(d, [("info@www.example.org", "unknown", [], [])], EX_NOUSER)

    def test_wildcard_mapping(self):
        """* and ? in mapping patterns."""
        e = self.env()
        e.mapping("sup?ort*", "alice")
        mid = self.deliver_one(e, ["support-team@example.com", "SUPPORT@x.example.org"],
                               [("support-team@example.com", "ok", ["alice"], []),
                                ("SUPPORT@x.example.org", "ok", ["alice"], [])])
        self.assertHolders(e, mid, ["alice"])
        d = e.deliver(["suport@example.com"])
        self.assertDelivered(d, [("suport@example.com", "unknown", [], [])], EX_NOUSER)
        self.assertEqual(e.inbox_count("alice"), 1)

    def test_catch_all_only_when_nothing_matched(self):
        """~@domain takes what no mapping, user or list took, at that domain."""
        e = self.env()
        e.mapping("~@example.com", "dave")
        e.mapping("sales", "bob")
        e.make_list("team", "alice")
        mid = self.deliver_one(
            e, ["whoever@example.com", "carol@example.com", "sales@example.com", "team"],
            [("whoever@example.com", "ok", ["dave"], []),
             ("carol@example.com", "ok", ["carol"], []),
             ("sales@example.com", "ok", ["bob"], []),
             ("team@example.com", "ok", ["alice"], [])])
        self.assertHolders(e, mid, ["alice", "bob", "carol", "dave"])
        d = e.deliver(["whoever@www.example.org"])
        self.assertDelivered(d, [("whoever@www.example.org", "unknown", [], [])], EX_NOUSER)

    def test_implicit_user_mapping_off(self):
        """implicit_user_mapping=false: user names are no addresses unless
        mapped."""
        e = self.env({"delivery": {"implicit_user_mapping": "false"}})
        d = e.deliver(["alice@example.com"])
        self.assertDelivered(d, [("alice@example.com", "unknown", [], [])], EX_NOUSER)
        self.assertEqual(e.message_ids(), [])
        e.mapping("alice@example.com", "alice")
        mid = self.deliver_one(e, ["alice@example.com"],
                               [("alice@example.com", "ok", ["alice"], [])])
        self.assertHolders(e, mid, ["alice"])
        d = e.deliver(["alice@www.example.org"])
        self.assertDelivered(d, [("alice@www.example.org", "unknown", [], [])], EX_NOUSER)

    def test_remote_mapping(self):
        """*REMOTE sends a local-domain address out, even a user's (2.9)."""
        e = self.env()
        e.mapping("roamer", "*REMOTE")
        e.mapping("carol@example.com", "*REMOTE")
        mid = self.deliver_one(e, ["roamer@example.com", "carol@example.com",
                                   "carol@x.example.org"],
                               [("roamer@example.com", "ok", [], ["roamer@example.com"]),
                                ("carol@example.com", "ok", [], ["carol@example.com"]),
                                ("carol@x.example.org", "ok", ["carol"], [])])
        self.assertHolders(e, mid, ["carol"])
        self.assertEqual([r[0] for r in e.queue(mid)],
                         ["carol@example.com", "roamer@example.com"])

    # -- lists

    def test_distribution_list(self):
        """A list of users, a mapped name, an outside address and a nested list."""
        e = self.env()
        e.mapping("helpdesk", "dave")
        e.make_list("inner", "carol", "helpdesk")
        e.make_list("team", "alice", "bob", "friend@elsewhere.net", "inner")
        mid = self.deliver_one(
            e, ["team@example.com"],
            [("team@example.com", "ok", ["alice", "bob", "carol", "dave"],
              ["friend@elsewhere.net"])])
        self.assertHolders(e, mid, ["alice", "bob", "carol", "dave"])
        self.assertEqual(e.queue(mid), [("friend@elsewhere.net", "sender@example.com",
                                         "pending")])
        self.assertEqual(len(e.spool_files()), 1)

    def test_list_loop(self):
        """List a contains b contains a: every member once, and it ends."""
        e = self.env()
        e.make_list("a", "alice", "b")
        e.make_list("b", "bob", "a", "carol")
        for name in ("a", "b"):
            before = e.message_ids()
            d = e.deliver([name])
            self.assertDelivered(d, [("%s@example.com" % name, "ok",
                                      ["alice", "bob", "carol"], [])])
            notes = d.results[0]["notes"]
            self.assertTrue(any("contains itself" in n for n in notes), notes)
            new = [m for m in e.message_ids() if m not in before]
            self.assertEqual(len(new), 1)
            self.assertHolders(e, new[0], ["alice", "bob", "carol"])

    def test_local_only_list(self):
        """A local-only list takes mail handed over with postroomctl, which
        always comes from a local sender, whatever --from says. (The
        refusal of outside senders is not reachable through postroomctl.)"""
        e = self.env()
        e.make_list("staff", "bob", "carol")
        e.ctl("list", "set", "staff", "--local-only", "yes")
        self.assertEqual(e.scalar("SELECT COUNT(*) FROM lists WHERE name = 'staff' AND "
                                  "local_senders_only = :yes",
                                  yes=("true" if PG is not None else 1)), 1)
        for sender in ("someone@outside.net", "alice@example.com"):
            mid = self.deliver_one(e, ["staff"],
                                   [("staff@example.com", "ok", ["bob", "carol"], [])],
                                   sender=sender)
            self.assertHolders(e, mid, ["bob", "carol"])

    def test_everyone(self):
        """The built-in everyone list, without users taken out of it."""
        e = self.env(users=USERS + ("erin",))
        e.user_set("dave", "--everyone", "no")
        mid = self.deliver_one(e, ["everyone@example.com"],
                               [("everyone@example.com", "ok",
                                 ["alice", "bob", "carol", "erin"], [])])
        self.assertHolders(e, mid, ["alice", "bob", "carol", "erin"])
        e.user_set("dave", "--everyone", "yes")
        mid = self.deliver_one(e, ["everyone"],
                               [("everyone@example.com", "ok",
                                 ["alice", "bob", "carol", "dave", "erin"], [])])
        self.assertHolders(e, mid, ["alice", "bob", "carol", "dave", "erin"])

    # -- forwarding and assistants

    def test_forwarding(self):
        """Forwarding replaces the local copy unless keep-copy is set; it
        may name a local user."""
        e = self.env()
        e.user_set("bob", "--forward-to", "bob@home.example.net")
        mid = self.deliver_one(e, ["bob"],
                               [("bob@example.com", "ok", [], ["bob@home.example.net"])])
        self.assertEqual(e.holders(mid), [])
        self.assertEqual(e.queue(mid), [("bob@home.example.net", "sender@example.com",
                                         "pending")])
        self.assertEqual(e.used_bytes("bob"), 0)

        e.user_set("bob", "--keep-copy", "yes")
        mid = self.deliver_one(e, ["bob"],
                               [("bob@example.com", "ok", ["bob"], ["bob@home.example.net"])])
        self.assertHolders(e, mid, ["bob"])
        self.assertEqual(e.queue(mid), [("bob@home.example.net", "sender@example.com",
                                         "pending")])

        e.user_set("carol", "--forward-to", "dave")
        mid = self.deliver_one(e, ["carol"], [("carol@example.com", "ok", ["dave"], [])])
        self.assertHolders(e, mid, ["dave"])

        e.user_set("bob", "--forward-to", "")
        mid = self.deliver_one(e, ["bob"], [("bob@example.com", "ok", ["bob"], [])])
        self.assertEqual(e.queue(mid), [])

    def test_forwarding_loop(self):
        """carol forwards to dave, dave to carol: delivery ends, one copy."""
        e = self.env()
        e.user_set("carol", "--forward-to", "dave")
        e.user_set("dave", "--forward-to", "carol@example.com")
        for rcpt in ("carol", "dave"):
            before = e.message_ids()
            d = e.deliver([rcpt])
            self.assertEqual(d.rc, EX_OK, repr(d))
            self.assertEqual(len(d.results), 1)
            r = d.results[0]
            self.assertEqual(r["status"], "ok")
            self.assertEqual(r["remote"], [])
            self.assertEqual(len(r["mailboxes"]), 1, r)
            self.assertIn(r["mailboxes"][0], ("carol", "dave"))
            new = [m for m in e.message_ids() if m not in before]
            self.assertEqual(len(new), 1)
            self.assertHolders(e, new[0], r["mailboxes"])

    def test_assistants(self):
        """Assistants get copies; only-assistant keeps mail from the boss
        unless the assistant sent it; no assistant chains."""
        e = self.env()
        e.user_set("alice", "--assistant", "bob")
        e.user_set("bob", "--assistant", "carol")
        mid = self.deliver_one(e, ["alice"], [("alice@example.com", "ok", ["alice", "bob"], [])])
        self.assertHolders(e, mid, ["alice", "bob"])

        e.user_set("alice", "--assistant-only", "yes")
        mid = self.deliver_one(e, ["alice"], [("alice@example.com", "ok", ["bob"], [])])
        self.assertHolders(e, mid, ["bob"])

        # From the assistant, logged in or by address: the boss gets it.
        mid = self.deliver_one(e, ["alice"], [("alice@example.com", "ok", ["alice"], [])],
                               auth_user="bob", sender="bob@example.com")
        self.assertHolders(e, mid, ["alice"])
        mid = self.deliver_one(e, ["alice"], [("alice@example.com", "ok", ["alice"], [])],
                               sender="Bob@Example.COM")
        self.assertHolders(e, mid, ["alice"])
        # Someone else who is local: still only the assistant.
        mid = self.deliver_one(e, ["alice"], [("alice@example.com", "ok", ["bob"], [])],
                               auth_user="dave", sender="dave@example.com")
        self.assertHolders(e, mid, ["bob"])

        # Mail straight to bob reaches his own assistant.
        mid = self.deliver_one(e, ["bob"], [("bob@example.com", "ok", ["bob", "carol"], [])])
        self.assertHolders(e, mid, ["bob", "carol"])

        # An outside assistant address is queued.
        e.user_set("dave", "--assistant", "secretary@agency.example.net")
        mid = self.deliver_one(e, ["dave"], [("dave@example.com", "ok", ["dave"],
                                              ["secretary@agency.example.net"])])
        self.assertEqual([r[0] for r in e.queue(mid)], ["secretary@agency.example.net"])

    # -- unknown local addresses

    def test_fax_mailbox(self):
        """fax_mailbox takes locally sent mail for unknown local addresses."""
        e = self.env({"delivery": {"fax_mailbox": "fax"}}, users=USERS + ("fax",))
        mid = self.deliver_one(e, ["0123456789@example.com", "alice"],
                               [("0123456789@example.com", "ok", ["fax"], []),
                                ("alice@example.com", "ok", ["alice"], [])])
        self.assertHolders(e, mid, ["alice", "fax"])
        mid = self.deliver_one(e, ["4711@sub.example.org"],
                               [("4711@sub.example.org", "ok", ["fax"], [])])
        self.assertHolders(e, mid, ["fax"])

    def test_unknown_local_without_fax_mailbox(self):
        """Without a fax mailbox, unknown local recipients are refused (67)
        and the others still get the message."""
        e = self.env()
        mid = self.deliver_one(e, ["0123456789@example.com", "alice"],
                               [("0123456789@example.com", "unknown", [], []),
                                ("alice@example.com", "ok", ["alice"], [])], rc=EX_NOUSER)
        self.assertHolders(e, mid, ["alice"])

    def test_unknown_local_outgoing(self):
        """unknown_local_outgoing=true: unknown local addresses go out."""
        e = self.env({"delivery": {"unknown_local_outgoing": "true"}})
        mid = self.deliver_one(e, ["newhire@example.com", "alice"],
                               [("newhire@example.com", "ok", [], ["newhire@example.com"]),
                                ("alice@example.com", "ok", ["alice"], [])])
        self.assertHolders(e, mid, ["alice"])
        self.assertEqual(e.queue(mid), [("newhire@example.com", "sender@example.com",
                                         "pending")])

    # -- monitoring

    RECEIPT = ("Disposition-Notification-To: Some Sender <sender@example.com>",
               "Return-Receipt-To: sender@example.com",
               "X-Confirm-Reading-To: sender@example.com")

    def check_monitor_copy(self, e, mid, copy_id, target):
        """@copy_id is @mid without read-receipt requests, in @target's
        INBOX only."""
        original = e.spool(mid)
        copy = e.spool(copy_id)
        self.assertIn(b"\r\nDisposition-Notification-To: ", original)
        for h in (b"Disposition-Notification-To:", b"Return-Receipt-To:",
                  b"X-Confirm-Reading-To:"):
            self.assertNotIn(h, copy)
        stripped = re.sub(rb"(?m)^(Disposition-Notification-To|Return-Receipt-To|"
                          rb"X-Confirm-Reading-To):[^\r]*\r\n", b"", original)
        self.assertEqual(copy, stripped)
        self.assertNotEqual(e.message(mid)[0], e.message(copy_id)[0])
        self.assertHolders(e, copy_id, [target])

    def test_monitor_internal(self):
        """internal=all: a copy of every local user's internal mail, without
        read-receipt requests, to the target; not for outgoing mail."""
        e = self.env({"monitor": {"internal": "all", "internal_target": "archive"}},
                     users=USERS + ("archive",))
        msg = make_message("Internal", "Hi bob.\n", headers=self.RECEIPT)
        before = e.message_ids()
        d = e.deliver(["bob"], msg, sender="alice@example.com", auth_user="alice")
        self.assertDelivered(d, [("bob@example.com", "ok", ["bob"], [])])
        new = [m for m in e.message_ids() if m not in before]
        self.assertEqual(len(new), 2, new)
        mid = [m for m in new if e.holders(m) == ["bob"]][0]
        copy_id = [m for m in new if m != mid][0]
        self.check_monitor_copy(e, mid, copy_id, "archive")

        # Sender known from the address alone.
        before = e.message_ids()
        d = e.deliver(["carol"], msg, sender="dave@example.com")
        self.assertDelivered(d, [("carol@example.com", "ok", ["carol"], [])])
        new = [m for m in e.message_ids() if m not in before]
        self.assertEqual(sorted(e.holders(m)[0] for m in new), ["archive", "carol"])

        # Outgoing only: no internal copy.
        self.deliver_one(e, ["friend@elsewhere.net"],
                         [("friend@elsewhere.net", "ok", [], ["friend@elsewhere.net"])],
                         message=msg, auth_user="alice", sender="alice@example.com")
        self.assertEqual(e.inbox_count("archive"), 2)

    def test_monitor_outgoing_selected(self):
        """outgoing=selected: copies of the selected users' Internet mail only."""
        e = self.env({"monitor": {"outgoing": "selected", "outgoing_users": "alice",
                                  "outgoing_target": "archive"}},
                     users=USERS + ("archive",))
        msg = make_message("Outgoing", "To the world.\n", headers=self.RECEIPT)
        before = e.message_ids()
        d = e.deliver(["friend@elsewhere.net"], msg, sender="alice@example.com",
                      auth_user="alice")
        self.assertDelivered(d, [("friend@elsewhere.net", "ok", [], ["friend@elsewhere.net"])])
        new = [m for m in e.message_ids() if m not in before]
        self.assertEqual(len(new), 2, new)
        mid = [m for m in new if e.queue(m)][0]
        copy_id = [m for m in new if m != mid][0]
        self.assertEqual(e.queue(copy_id), [])
        self.assertEqual(e.holders(mid), [])
        self.check_monitor_copy(e, mid, copy_id, "archive")

        # Carol is not selected; alice's internal mail is not outgoing.
        self.deliver_one(e, ["friend@elsewhere.net"],
                         [("friend@elsewhere.net", "ok", [], ["friend@elsewhere.net"])],
                         message=msg, auth_user="carol", sender="carol@example.com")
        self.deliver_one(e, ["bob"], [("bob@example.com", "ok", ["bob"], [])],
                         message=msg, auth_user="alice", sender="alice@example.com")
        self.assertEqual(e.inbox_count("archive"), 1)

    def test_monitor_target_list(self):
        """A list as the monitor target: each member gets the stripped copy,
        stored once for all of them."""
        e = self.env({"monitor": {"internal": "all", "internal_target": "auditors"}},
                     users=USERS + ("archive",))
        e.make_list("auditors", "archive", "dave")
        msg = make_message("To a list target", headers=self.RECEIPT)
        before = e.message_ids()
        d = e.deliver(["bob"], msg, auth_user="alice", sender="alice@example.com")
        self.assertDelivered(d, [("bob@example.com", "ok", ["bob"], [])])
        new = [m for m in e.message_ids() if m not in before]
        self.assertEqual(len(new), 2, new)
        copy_id = [m for m in new if e.holders(m) != ["bob"]][0]
        self.assertHolders(e, copy_id, ["archive", "dave"])
        self.assertNotIn(b"Disposition-Notification-To:", e.spool(copy_id))

    def test_monitor_incoming_not_for_local_senders(self):
        """incoming=all copies incoming mail, and mail from a local user is
        not incoming."""
        e = self.env({"monitor": {"incoming": "all", "incoming_target": "archive"}},
                     users=USERS + ("archive",))
        self.deliver_one(e, ["bob"], [("bob@example.com", "ok", ["bob"], [])],
                         auth_user="alice", sender="alice@example.com")
        self.assertEqual(e.inbox_count("archive"), 0)

    def test_monitor_min_size_and_target_already_recipient(self):
        """Smaller messages than *_min_size are not copied; the target gets
        no second copy when it is a recipient anyway."""
        e = self.env({"monitor": {"internal": "all", "internal_target": "archive",
                                  "internal_min_size": "4K"}},
                     users=USERS + ("archive",))
        self.deliver_one(e, ["bob"], [("bob@example.com", "ok", ["bob"], [])],
                         auth_user="alice", sender="alice@example.com")
        self.assertEqual(e.inbox_count("archive"), 0)
        big = make_message("Big", ("y" * 70 + "\n") * 80)
        before = e.message_ids()
        d = e.deliver(["bob"], big, auth_user="alice", sender="alice@example.com")
        self.assertEqual(d.rc, EX_OK, repr(d))
        self.assertEqual(len(e.message_ids()) - len(before), 2)
        self.assertEqual(e.inbox_count("archive"), 1)
        mid = self.deliver_one(e, ["bob", "archive"],
                               [("bob@example.com", "ok", ["bob"], []),
                                ("archive@example.com", "ok", ["archive"], [])],
                               message=big, auth_user="alice", sender="alice@example.com")
        self.assertHolders(e, mid, ["archive", "bob"])
        self.assertEqual(e.inbox_count("archive"), 2)

    # -- refusals

    def test_hop_limit(self):
        """30 Received: lines pass, 31 are refused as a loop (65), nothing stored."""
        e = self.env()
        hops = ["Received: from relay%d.example.net by relay%d.example.net; "
                "Mon, 2 Mar 2026 09:%02d:00 +0100" % (i, i + 1, i) for i in range(31)]
        ok = make_message("Thirty hops", headers=hops[:30])
        mid = self.deliver_one(e, ["alice"], [("alice@example.com", "ok", ["alice"], [])],
                               message=ok)
        self.assertEqual(e.spool(mid).count(b"\r\nReceived: "), 31)

        too_many = make_message("Thirty-one hops", headers=hops)
        files = e.spool_files()
        d = e.deliver(["alice"], too_many)
        self.assertEqual(d.rc, EX_DATAERR, repr(d))
        self.assertIn("hop_limit", d.stderr)
        self.assertEqual(len(e.message_ids()), 1)
        self.assertEqual(e.spool_files(), files)
        self.assertEqual(e.inbox_count("alice"), 1)

        # Received: lines in the body are no hops.
        in_body = make_message("Hops in the body", "\n".join(hops) + "\n", headers=hops[:30])
        self.deliver_one(e, ["alice"], [("alice@example.com", "ok", ["alice"], [])],
                         message=in_body)

        # Folded Received: lines count once each.
        folded = make_message("Folded", headers=[h.replace(" by ", "\n\tby ") for h in hops[:30]])
        self.deliver_one(e, ["alice"], [("alice@example.com", "ok", ["alice"], [])],
                         message=folded)

    def test_delivered_to_loop(self):
        """A message carrying Delivered-To: alice@example.com is not
        delivered to alice again; others still get it."""
        e = self.env()
        msg = make_message("Looped", headers=["Delivered-To: alice@example.com"])
        d = e.deliver(["alice"], msg)
        self.assertDelivered(d, [("alice@example.com", "loop", [], [])], EX_DATAERR)
        self.assertEqual(e.message_ids(), [])
        mid = self.deliver_one(e, ["ALICE@example.com", "bob"],
                               [("ALICE@example.com", "loop", [], []),
                                ("bob@example.com", "ok", ["bob"], [])],
                               rc=EX_DATAERR, message=msg)
        self.assertHolders(e, mid, ["bob"])

        # A copy that went round: what Postroom stored, sent back in.
        data = e.prefix("bob", mid).encode() + e.spool(mid)
        d = e.deliver(["bob@example.com"], data)
        self.assertDelivered(d, [("bob@example.com", "loop", [], [])], EX_DATAERR)
        self.assertEqual(e.inbox_count("bob"), 1)

    def test_max_message_size(self):
        """Messages over max_message_size are refused (65), nothing stored."""
        e = self.env({"delivery": {"max_message_size": "4K"}})
        small = make_message("Small", ("s" * 60 + "\n") * 30)
        big = make_message("Big", ("b" * 60 + "\n") * 80)
        self.assertLess(len(crlf(small)), 4096)
        self.assertGreater(len(big), 4096)
        self.deliver_one(e, ["alice"], [("alice@example.com", "ok", ["alice"], [])],
                         message=small)
        d = e.deliver(["alice"], big)
        self.assertEqual(d.rc, EX_DATAERR, repr(d))
        self.assertIn("max_message_size", d.stderr)
        self.assertEqual(len(e.message_ids()), 1)
        self.assertEqual(len(e.spool_files()), 1)

    def test_disk_reserve(self):
        """Below the free-space reserve a local sender is told to try again
        later (75); nothing is stored, no spool file is left."""
        e = self.env({"delivery": {"disk_reserve": "100000G"}})
        d = e.deliver(["alice", "friend@elsewhere.net"])
        self.assertEqual(d.rc, EX_TEMPFAIL, repr(d))
        self.assertIn("disk_reserve", d.stderr)
        self.assertEqual(e.message_ids(), [])
        self.assertEqual(e.queue(), [])
        self.assertEqual(e.spool_files(), [])

    # -- quotas

    def test_quota_alerts(self):
        """Quotas never refuse mail; the user is told once at 80, 100 and
        120 %, the postmaster from 100 %."""
        e = self.env({"delivery": {"postmaster": "admin"}}, users=USERS + ("admin",))
        e.user_set("bob", "--quota", "10K")
        quota = 10 * 1024
        filler = make_message("Filler", ("q" * 70 + "\n") * 12)
        fillers = 0
        seen = []
        for _ in range(20):
            before_used = e.used_bytes("bob")
            d = e.deliver(["bob"], filler)
            self.assertDelivered(d, [("bob@example.com", "ok", ["bob"], [])])
            fillers += 1
            subjects = e.inbox_subjects("bob")
            self.assertEqual(subjects.count("Filler"), fillers)
            alerts = [s for s in subjects if s != "Filler"]
            # The level the filler itself reached (alerts come after it).
            size = e.message(max(m for m in e.message_ids()
                                 if e.message(m)[3] == "Filler"))[1]
            reached = (before_used + size + len("Delivered-To: bob@example.com\r\n")) * 100 \
                // quota
            for level in (80, 100, 120):
                if reached >= level and level not in seen:
                    seen.append(level)
            self.assertEqual(alerts, ["Postroom Alert - Mailbox %d%% full - bob" % lvl
                                      for lvl in seen], "used %d" % e.used_bytes("bob"))
            if 120 in seen:
                break
        self.assertEqual(seen, [80, 100, 120])
        self.assertEqual(e.inbox_subjects("admin"),
                         ["Postroom Alert - Mailbox 100% full - bob",
                          "Postroom Alert - Mailbox 120% full - bob"])
        alert_id = [m for m in e.message_ids() if e.message(m)[3].startswith("Postroom Alert")][0]
        data = e.spool(alert_id)
        self.assertTrue(data.startswith(b"Return-Path: <>\r\n"), data[:80])
        self.assertIn(b"\r\nTo: bob@example.com\r\n", data)
        self.assertEqual(e.inbox_count("alice"), 0)

    def test_quota_alert_reaching_next_level(self):
        """When an alert itself fills the mailbox past the next level, that
        level is announced too (once): no level is recorded unannounced."""
        e = self.env({"delivery": {"postmaster": "admin"}}, users=USERS + ("admin",))
        e.user_set("bob", "--quota", "10K")
        # About 9.9 KiB stored: 80 % reached, and the alert (about 450
        # bytes) takes bob past 100 %.
        big = make_message("Big", ("z" * 70 + "\n") * 133)
        d = e.deliver(["bob"], big)
        self.assertDelivered(d, [("bob@example.com", "ok", ["bob"], [])])
        used_by_big = e.message(e.message_ids()[0])[1] + len("Delivered-To: bob@example.com\r\n")
        self.assertGreaterEqual(used_by_big * 100 // 10240, 80)
        self.assertLess(used_by_big * 100 // 10240, 100)
        self.assertGreaterEqual(e.used_bytes("bob") * 100 // 10240, 100)
        self.assertEqual(sorted(e.inbox_subjects("bob")),
                         ["Big", "Postroom Alert - Mailbox 100% full - bob",
                          "Postroom Alert - Mailbox 80% full - bob"])
        self.assertEqual(e.inbox_subjects("admin"), ["Postroom Alert - Mailbox 100% full - bob"])
        # Another message at the same level: no new alert.
        self.deliver_one(e, ["bob"], [("bob@example.com", "ok", ["bob"], [])])
        self.assertEqual(e.inbox_count("bob"), 4)
        self.assertEqual(e.inbox_count("admin"), 1)

    # -- one copy

    def test_dedup(self):
        """alice through three recipients: one copy; the message stored once
        for everyone."""
        e = self.env()
        e.make_list("team", "alice", "bob")
        mid = self.deliver_one(e, ["alice", "team", "ALICE@example.com"],
                               [("alice@example.com", "ok", ["alice"], []),
                                ("team@example.com", "ok", ["alice", "bob"], []),
                                ("ALICE@example.com", "ok", ["alice"], [])])
        self.assertHolders(e, mid, ["alice", "bob"])
        self.assertEqual(e.inbox_count("alice"), 1)
        self.assertEqual(len(e.spool_files()), 1)

    def test_stored_once_for_many(self):
        """Many local and remote recipients: one messages row, one spool
        file, one INBOX row each, one queue row per remote address."""
        e = self.env(users=USERS + ("erin", "frank"))
        rcpts = ["alice", "bob", "carol", "dave", "erin", "frank",
                 "x@elsewhere.net", "y@elsewhere.net"]
        mid = self.deliver_one(e, rcpts,
                               [("%s@example.com" % u, "ok", [u], []) for u in rcpts[:6]] +
                               [(a, "ok", [], [a]) for a in rcpts[6:]])
        self.assertHolders(e, mid, rcpts[:6])
        self.assertEqual(len(e.spool_files()), 1)
        self.assertEqual([r[0] for r in e.queue(mid)], rcpts[6:])
        size = e.message(mid)[1]
        for u in rcpts[:6]:
            self.assertEqual(e.used_bytes(u), size + len("Delivered-To: %s@example.com\r\n" % u))

    def test_msgaudit(self):
        """msgaudit=true: one DIST row per mailbox reached; none when off."""
        e = self.env({"delivery": {"msgaudit": "true"}})
        msg = make_message("Audited")
        self.deliver_one(e, ["alice", "bob", "x@elsewhere.net"],
                         [("alice@example.com", "ok", ["alice"], []),
                          ("bob@example.com", "ok", ["bob"], []),
                          ("x@elsewhere.net", "ok", [], ["x@elsewhere.net"])],
                         message=msg)
        # The folder acted on is the source folder; targetfolder is for
        # copies and moves (VPOP3: "targetfolder (if changed)").
        rows = sorted(e.query("SELECT component, owner, actionuser, cmd, sourcefolder, "
                              "targetfolder, subject, sender, msgdate FROM msgaudit"))
        self.assertEqual(rows, [
            ("DIST", u, "", "A", "INBOX", "", "Audited", "sender@example.com",
             "Mon, 2 Mar 2026 10:00:00 +0100") for u in ("alice", "bob")])

        off = self.env()
        self.deliver_one(off, ["alice"], [("alice@example.com", "ok", ["alice"], [])])
        self.assertEqual(off.query("SELECT COUNT(*) FROM msgaudit"), [(0,)])

    # -- exit codes

    def test_exit_codes(self):
        """67 (EX_NOUSER) whenever a recipient is unknown, also several; the
        known ones still get the message."""
        e = self.env()
        d = e.deliver(["nobody"])
        self.assertDelivered(d, [("nobody@example.com", "unknown", [], [])], EX_NOUSER)
        self.assertEqual(e.message_ids(), [])
        mid = self.deliver_one(e, ["nobody", "alice"],
                               [("nobody@example.com", "unknown", [], []),
                                ("alice@example.com", "ok", ["alice"], [])], rc=EX_NOUSER)
        self.assertHolders(e, mid, ["alice"])
        d = e.deliver(["nobody", "nobody2"])
        self.assertDelivered(d, [("nobody@example.com", "unknown", [], []),
                                 ("nobody2@example.com", "unknown", [], [])], EX_NOUSER)

    def test_plain_output(self):
        """Without --json: one line per recipient, same exit code."""
        e = self.env()
        d = e.deliver(["alice", "nobody"], json_output=False)
        self.assertEqual(d.rc, EX_NOUSER, repr(d))
        self.assertIn("alice@example.com: delivered to alice", d.stdout)
        self.assertIn("nobody@example.com: no such local user", d.stdout)
        self.assertEqual(e.inbox_count("alice"), 1)


if __name__ == "__main__":
    run_tests()
