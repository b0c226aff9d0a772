# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for the sender module tests: a postroomd with the pop3 and sender
modules (pop3 gives the server a port to wait for and lets the tests read
the notifications that land in local mailboxes), mail handed in with
`postroomctl deliver`, the queue read from the SQLite store, and dnsmasq as
a DNS server on loopback for the direct (MX) route.

Every script takes --build-root/--source-root like the protocol tests.
"""

import os
import poplib
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "protocol"))
sys.path.insert(0, HERE)

import postroomtest  # noqa: E402
from postroomtest import (  # noqa: E402,F401
    HOST, IO_TIMEOUT, TOOL_TIMEOUT, Server, certificate, free_port, paths, run_tests)
from smtpserver import ScriptedSMTP  # noqa: E402,F401

DOMAIN = "example.com"
PASSWORD = "secret pw"
# Every wait in these tests is bounded by this many seconds.
WAIT = 60

# Short waits everywhere, so that retries happen within a test.
FAST = {
    "poll_interval": "1s",
    "retry_initial": "1s",
    "retry_max": "2s",
    "connect_timeout": "5s",
    "command_timeout": "20s",
    "claim_lease": "5m",
}


def module_dir():
    """The build puts every module of the tree side by side in
    build/modules/ (they find the SDK library of the same build)."""
    return os.path.join(paths().build_root, "modules")


def merge(base, extra):
    for group, keys in (extra or {}).items():
        base.setdefault(group, {}).update(keys)
    return base


class SenderServer(Server):
    def __init__(self, settings=None, users=None, name="sender"):
        groups = {
            "modules": {"enabled": "pop3;sender"},
            "delivery": {"local_domains": DOMAIN, "default_domain": DOMAIN},
            "sender": dict(FAST),
        }
        merge(groups, settings)
        super().__init__(settings=groups, users=users, module="pop3", module_dir=module_dir(),
                         name=name)

    def deliver(self, rcpts, message, sender="alice@%s" % DOMAIN):
        if isinstance(rcpts, str):
            rcpts = [rcpts]
        cmd = [self.paths.postroomctl, "--config", self.config_path, "deliver",
               "--from", sender] + rcpts
        res = subprocess.run(cmd, input=message, capture_output=True, timeout=TOOL_TIMEOUT,
                             env=self.env)
        if res.returncode != 0:
            raise AssertionError("%s failed (exit %d):\n%s%s" % (
                " ".join(cmd), res.returncode, res.stdout.decode(errors="replace"),
                res.stderr.decode(errors="replace")))

    def queue(self, recipient=None):
        """[(recipient, state, last_error)] from the store, in id order."""
        db = sqlite3.connect("file:%s?mode=ro" % self.db_path(), uri=True, timeout=10)
        try:
            cols = [r[1] for r in db.execute("PRAGMA table_info(queue)")]
            err = "last_error" if "last_error" in cols else "''"
            rows = db.execute("SELECT recipient, state, %s FROM queue ORDER BY id" % err)
            return [r for r in rows if recipient is None or r[0] == recipient]
        finally:
            db.close()

    def wait_states(self, recipient, states, timeout=WAIT):
        """Waits until every queue entry of @recipient is in one of @states."""
        deadline = time.monotonic() + timeout
        rows = []
        while time.monotonic() < deadline:
            rows = self.queue(recipient)
            if rows and all(r[1] in states for r in rows):
                return rows
            if not self.alive():
                break
            time.sleep(0.2)
        raise AssertionError("queue entries of %s not %s within %ds: %r\n%s" % (
            recipient, states, timeout, rows, self.log_tail(60)))

    def mailbox(self, user):
        """The messages in @user's mailbox, as bytes."""
        p = poplib.POP3(HOST, self.port, timeout=IO_TIMEOUT)
        try:
            p.user(user)
            p.pass_(PASSWORD)
            count = p.stat()[0]
            out = []
            for i in range(1, count + 1):
                out.append(b"\r\n".join(p.retr(i)[1]) + b"\r\n")
            p.quit()
            return out
        finally:
            p.close()

    def wait_mail(self, user, count, timeout=WAIT):
        """Waits until @user has at least @count messages; returns them."""
        deadline = time.monotonic() + timeout
        got = []
        while time.monotonic() < deadline:
            got = self.mailbox(user)
            if len(got) >= count:
                return got
            time.sleep(0.3)
        raise AssertionError("%s has %d messages, expected %d within %ds\n%s" % (
            user, len(got), count, timeout, self.log_tail(60)))

    def settle(self, polls=4):
        """Lets the sender run a few more polls: what must not happen
        (a second notification, a second copy) would happen by then."""
        time.sleep(polls * 1.0)

    def restart(self):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [self.paths.postroomd, "--config", self.config_path, "--foreground"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            env=self.env, cwd=self.dir)
        self.returncode = None
        self.wait_ready()


class SenderTestCase(postroomtest.ServerTestCase):
    """One postroomd per class; scripted SMTP servers made by smtp_servers()
    (a dict name -> ScriptedSMTP) before the server starts, so that
    settings() can name their ports."""

    users = ("alice", "admin")
    servers = None

    @classmethod
    def smtp_servers(cls):
        return {}

    @classmethod
    def sender_settings(cls):
        return {}

    @classmethod
    def make_server(cls):
        return SenderServer(settings=cls.sender_settings(),
                            users={u: PASSWORD for u in cls.users},
                            name=cls.__name__.lower())

    @classmethod
    def setUpClass(cls):
        cls.servers = cls.smtp_servers()
        try:
            super().setUpClass()
        except BaseException:
            for s in cls.servers.values():
                s.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            for s in cls.servers.values():
                s.stop()


def message(tag, body=b"Hello.\n", sender="alice@example.com"):
    return (b"From: <" + sender.encode() + b">\n"
            b"To: someone@remote.test\n"
            b"Subject: " + tag.encode() + b"\n"
            b"Message-ID: <" + tag.encode() + b"@test.example>\n"
            b"\n" + body)


def header(msg, name):
    """The first value of header @name in a CRLF message (unfolded)."""
    head = msg.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    value = None
    for line in head.split("\r\n"):
        if value is not None and line[:1] in (" ", "\t"):
            value += " " + line.strip()
            continue
        if value is not None:
            return value
        if line.lower().startswith(name.lower() + ":"):
            value = line.split(":", 1)[1].strip()
    return value


# ---- dnsmasq ----------------------------------------------------------------

class Dnsmasq:
    """dnsmasq answering from its command line only, on 127.0.0.1:<port>."""

    def __init__(self, records):
        exe = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
        if not os.path.exists(exe):
            raise unittest.SkipTest("dnsmasq is not installed (package dnsmasq-base)")
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="postroom-dnsmasq-")
        self.log = open(os.path.join(self.dir, "dnsmasq.log"), "wb")
        cmd = [exe, "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv",
               "--no-hosts", "--no-poll", "--bind-interfaces", "--listen-address=127.0.0.1",
               "--port=%d" % self.port, "--pid-file=", "--log-queries",
               "--log-facility=-"] + list(records)
        if os.geteuid() == 0:
            cmd.append("--user=root")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("dnsmasq exited with %d: %s" % (
                    self.proc.returncode, self.text()))
            if "started" in self.text():
                return
            time.sleep(0.05)
        self.stop()
        raise AssertionError("dnsmasq did not start: %s" % self.text())

    def text(self):
        with open(os.path.join(self.dir, "dnsmasq.log"), "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
