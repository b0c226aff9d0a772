# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for the SMTP module tests: a postroomd running the smtp module's
three services (smtp, submission, smtps) with the pop3 module beside it (to
read mailboxes back, and for POP-before-SMTP) and, when asked, the
smtptesthooks module; a raw SMTP client that checks the bytes on the wire;
the queue read back from the store; an optional private PostgreSQL server.

Every script takes --build-root/--source-root like the protocol tests, and
--store sqlite|postgresql (default sqlite).
"""

import argparse
import atexit
import json
import os
import poplib
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "protocol"))

import pgstore  # noqa: E402
import postroomtest  # noqa: E402
from postroomtest import (  # noqa: E402,F401
    HOST, IO_TIMEOUT, TOOL_TIMEOUT, Client, ConnectionClosed, Server, b64, free_port,
    insecure_context, paths, run_tests)

DOMAIN = "example.com"
HOSTNAME = "mx.example.com"
PASSWORD = "correct horse"

R_RELAY_DENIED = "550 5.7.1 Relaying not allowed! Bad sender IP address"
R_TOO_BIG = "552 5.2.3 Message too large - contact your administrator"
R_BLOCKED = "421 4.7.0 Your connection has been blocked temporarily - Try again later"
R_TOO_MANY_FROM_IP = "421 4.3.2 Postroom Too many connections from your IP address - try later"
R_STARTTLS_FIRST = "530 5.7.0 Must issue a STARTTLS command first"
R_AUTH_REQUIRED = "530 5.7.0 Authentication required"
R_ACCEPTED = "250 2.0.0 Message accepted for delivery"
R_BARE = "554 5.6.11 Bare CR or LF in the message; lines must end with CRLF"
R_NUL = "554 5.6.0 Message contains NUL characters"
R_BAD_SEQUENCE = "503 5.5.1 Bad sequence of commands"
R_NO_RCPTS = "554 5.5.1 No valid recipients"
R_TOO_MANY_RCPTS = "452 4.5.3 Too many recipients"
R_AUTH_OK = "235 2.7.0 Authentication successful"
R_AUTH_FAILED = "535 5.7.8 Authentication credentials invalid"


def options():
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--store", default=os.environ.get("POSTROOM_TEST_STORE", "sqlite"),
                        choices=("sqlite", "postgresql"))
    args, _ = parser.parse_known_args()
    return args


# ---- the modules ------------------------------------------------------------
# The loader takes modules from one directory, and the smtp, pop3 and test
# modules are built in three. Copies keep their build-tree RUNPATH, which
# is relative to where they were built, so the SDK library is found through
# LD_LIBRARY_PATH instead.

_module_dir = None


def module_dir():
    global _module_dir
    if _module_dir is None:
        build = paths().build_root
        _module_dir = tempfile.mkdtemp(prefix="postroom-smtp-modules-")
        atexit.register(shutil.rmtree, _module_dir, True)
        for rel in ("modules/smtp/smtp.so", "modules/pop3/pop3.so",
                    "tests/smtp/smtptesthooks.so"):
            target = os.path.join(_module_dir, os.path.basename(rel))
            shutil.copyfile(os.path.join(build, rel), target)
            os.chmod(target, 0o644)
    return _module_dir


def lib_env():
    libdir = os.path.join(paths().build_root, "plugin-api")
    old = os.environ.get("LD_LIBRARY_PATH")
    return {"LD_LIBRARY_PATH": libdir + (":" + old if old else "")}


# Messages with long lines are stored as sent; poplib's own line limit
# would refuse to read them back.
poplib._MAXLINE = 1 << 20

# ---- PostgreSQL ---------------------------------------------------------------

_pg = None
_pg_error = None


def pg_server():
    global _pg, _pg_error
    if _pg_error is not None:
        raise _pg_error
    if _pg is None:
        try:
            _pg = pgstore.PgServer()
        except unittest.SkipTest as e:
            _pg_error = e
            raise
        atexit.register(_pg.stop)
    return _pg


def merge(base, extra):
    for group, keys in (extra or {}).items():
        target = base.setdefault(group, {})
        target.update(keys)
    return base


class SmtpServer(Server):
    """postroomd with smtp (port), submission (sub_port), smtps (smtps_port,
    implicit TLS when tls=True) and pop3 (pop_port)."""

    def __init__(self, settings=None, tls=False, users=None, name="smtp", hooks=False):
        self.sub_port = free_port()
        self.smtps_port = free_port()
        self.pop_port = free_port()
        self.pg_database = None
        enabled = ["smtp", "pop3"] + (["smtptesthooks"] if hooks else [])
        groups = {
            "server": {"hostname": HOSTNAME},
            "modules": {"enabled": enabled},
            "delivery": {"local_domains": DOMAIN, "default_domain": DOMAIN},
            # Scoring is switched on by the tests of the intrusion prevention;
            # elsewhere one test's refused relays must not block the next.
            "smtp": {"ips_enabled": "false"},
            "submission": {"listen": "%s:%d" % (HOST, self.sub_port)},
            "smtps": {"listen": "%s:%d%s" % (HOST, self.smtps_port, "/tls" if tls else "")},
            "pop3": {"listen": "%s:%d" % (HOST, self.pop_port)},
        }
        if tls:
            cert, key = postroomtest.certificate()
            groups["tls"] = {"certificate": cert, "key": key}
        if options().store == "postgresql":
            pg = pg_server()
            self.pg_database = pg.create_database()
            groups["store"] = pg.store_settings(self.pg_database)
        merge(groups, settings)
        super().__init__(settings=groups, tls=False, users=users, module="smtp",
                         module_dir=module_dir(), env=lib_env(), name=name)

    def wait_ready(self):
        deadline = time.monotonic() + postroomtest.START_TIMEOUT
        pending = [self.port, self.sub_port, self.smtps_port, self.pop_port]
        while pending:
            if self.proc.poll() is not None:
                raise AssertionError("postroomd exited with %d during start-up:\n%s" % (
                    self.proc.returncode, self.log_tail()))
            if time.monotonic() > deadline:
                raise AssertionError("postroomd did not listen on %s:\n%s" % (
                    pending, self.log_tail()))
            try:
                with socket.create_connection((HOST, pending[0]), timeout=1):
                    pass
                pending.pop(0)
            except OSError:
                time.sleep(0.05)
        time.sleep(0.3)

    # ---- reading back what was stored

    def mailbox(self, user, password=PASSWORD):
        """Every message in @user's INBOX (bytes, CRLF), without deleting."""
        p = poplib.POP3(HOST, self.pop_port, timeout=IO_TIMEOUT)
        try:
            p.user(user)
            p.pass_(password)
            count, _ = p.stat()
            out = []
            for n in range(1, count + 1):
                _, lines, _ = p.retr(n)
                out.append(b"\r\n".join(lines) + b"\r\n")
            p.quit()
            return out
        finally:
            try:
                p.close()
            except OSError:
                pass

    def find(self, user, tag, password=PASSWORD):
        """The messages of @user whose body or header contains @tag."""
        tag = tag.encode() if isinstance(tag, str) else tag
        return [m for m in self.mailbox(user, password) if tag in m]

    def query(self, sql):
        """Rows of a read-only query on the store, SQLite or PostgreSQL."""
        if self.pg_database is not None:
            return pg_server().query(self.pg_database, sql)
        con = sqlite3.connect("file:%s?mode=ro" % self.db_path(), uri=True, timeout=10)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def queue(self, recipient=None):
        """The outbound queue as `postroomctl --json queue list` shows it."""
        res = self.ctl("--json", "queue", "list")
        entries = json.loads(res.stdout)
        if recipient is not None:
            entries = [e for e in entries if e["recipient"] == recipient]
        return entries

    def message_count(self):
        return self.query("SELECT COUNT(*) FROM messages")[0][0]


class SmtpTestCase(postroomtest.ServerTestCase):
    """One postroomd per class; see SmtpServer."""

    hooks = False

    @classmethod
    def make_server(cls):
        return SmtpServer(settings=cls.settings, tls=cls.tls, users=cls.users,
                          name=cls.__name__.lower(), hooks=cls.hooks)

    def connect(self, port=None, tls=False, **kw):
        c = SmtpClient(port or self.server.port, tls=tls, **kw)
        self.addCleanup(c.close)
        return c

    def submission(self, **kw):
        return self.connect(self.server.sub_port, **kw)

    def smtps(self, **kw):
        return self.connect(self.server.smtps_port, tls=True, **kw)

    def assertProtocol(self, stored, protocol):
        """The Received: line the host added names @protocol (RFC 3848)."""
        received = re.search(rb"Received: from .*? with (\S+?)[;\r]", stored, re.S)
        self.assertIsNotNone(received, stored[:500])
        self.assertEqual(received.group(1).decode(), protocol)

    def assertReply(self, reply, code):
        self.assertTrue(reply.startswith(str(code) + " ") or reply == str(code),
                        "expected %s, got %r" % (code, reply))


# ---- wire-level client ------------------------------------------------------

class SmtpClient(Client):
    """An SMTP client that reads whole (multi-line) replies."""

    def __init__(self, port, tls=False, **kw):
        super().__init__(port, tls=tls, greeting=False, **kw)
        self.greeting = self.reply()

    def reply(self, timeout=None):
        """The last line of one reply; all its lines are in self.lines."""
        self.lines = []
        for _ in range(1000):
            line = self.readline(timeout=timeout)
            self.lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return line
        raise AssertionError("reply without an end")

    def replies(self, n, timeout=None):
        return [self.reply(timeout=timeout) for _ in range(n)]

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.reply()

    def ehlo(self, name="client.example.org"):
        """The EHLO keywords (upper case) after the greeting line."""
        last = self.cmd("EHLO " + name)
        if not last.startswith("250"):
            raise AssertionError("EHLO refused: %r" % last)
        return [l[4:].upper() for l in self.lines[1:]]

    def starttls(self):
        reply = self.cmd("STARTTLS")
        if not reply.startswith("220 "):
            raise AssertionError("STARTTLS refused: %r" % reply)
        if self.buf:
            raise AssertionError("plaintext after the STARTTLS reply: %r" % self.buf)
        self.sock = insecure_context().wrap_socket(self.sock, server_hostname="localhost")
        return reply

    def auth_plain(self, user, password):
        return self.cmd("AUTH PLAIN " + b64("\0%s\0%s" % (user, password)))

    def data(self, body):
        """DATA with @body (bytes, already dot-stuffed, ending in CRLF.CRLF
        unless the test says otherwise); returns the final reply."""
        r = self.cmd("DATA")
        if not r.startswith("354"):
            return r
        self.send(body)
        return self.reply()

    def transaction(self, sender, rcpts, body):
        """MAIL, RCPTs and DATA one by one; returns every reply."""
        out = [self.cmd("MAIL FROM:<%s>" % sender)]
        for r in rcpts:
            out.append(self.cmd("RCPT TO:<%s>" % r))
        out.append(self.data(body))
        return out


def message(tag, body=b"Hello.\r\n", extra=b""):
    """A small CRLF message whose Subject and Message-ID carry @tag."""
    return (b"From: Sender <sender@remote.org>\r\n"
            b"To: someone@example.com\r\n"
            b"Subject: " + tag.encode() + b"\r\n"
            b"Message-ID: <" + tag.encode() + b"@test.example>\r\n" + extra +
            b"\r\n" + body)


def stuffed(msg):
    """@msg dot-stuffed and terminated for DATA."""
    lines = msg.split(b"\r\n")
    if lines and lines[-1] == b"":
        lines = lines[:-1]
    out = [b"." + l if l.startswith(b".") else l for l in lines]
    return b"\r\n".join(out) + b"\r\n.\r\n"


def body_of(stored):
    """The part of a stored message after its header."""
    return stored.split(b"\r\n\r\n", 1)[1]


def header_of(stored):
    return stored.split(b"\r\n\r\n", 1)[0] + b"\r\n"


def run_tool(cmd, timeout=TOOL_TIMEOUT, env=None, input=None):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                          input=input)
