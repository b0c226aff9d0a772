# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for the POP3 module tests: a postroomd with the pop3 module,
delivery through `postroomctl deliver`, a raw POP3 client that checks the
bytes on the wire, and an optional private PostgreSQL server as the store.

Every script takes --build-root/--source-root like the protocol tests, and
--store sqlite|postgresql (default sqlite).
"""

import argparse
import atexit
import os
import poplib
import socket
import subprocess
import sys
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

R_GREETING = "+OK Postroom POP3 server ready"
R_AUTH_FAILED = "-ERR [AUTH] Authentication failed"
R_TOO_MANY_FAILED = "-ERR [AUTH] Too many failed logins"
R_IN_USE = "-ERR [IN-USE] Mailbox Locked"
R_TLS_REQUIRED = "-ERR [AUTH] TLS required before authentication, use STLS"
R_BAD_STATE = "-ERR Command not valid in this state"
R_ACCESS_DENIED = "-ERR Postroom POP3 Server access not allowed - See your administrator"
R_STLS_OK = "+OK Begin TLS negotiation"


def options():
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--store", default=os.environ.get("POSTROOM_TEST_STORE", "sqlite"),
                        choices=("sqlite", "postgresql"))
    args, _ = parser.parse_known_args()
    return args


def module_dir():
    return os.path.join(paths().build_root, "modules", "pop3")


# ---- PostgreSQL -------------------------------------------------------------
# The same steps as tests/lib/pg-server.c: initdb as the postgres OS user in
# a temporary directory (PostgreSQL refuses to run as root), a private socket
# directory, a free port, one role with a password and one database per
# postroomd instance.

_pg = None
_pg_error = None


def pg_server():
    """The process's PostgreSQL server, started on first use."""
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


def store_settings():
    """[store] settings for a new server under --store, or None for SQLite."""
    if options().store == "postgresql":
        pg = pg_server()
        return pg.store_settings(pg.create_database())
    return None


# ---- postroomd with the pop3 module -----------------------------------------

def merge(base, extra):
    for group, keys in (extra or {}).items():
        target = base.setdefault(group, {})
        target.update(keys)
    return base


class Pop3Server(Server):
    def __init__(self, settings=None, tls=False, users=None, name="pop3", store=None):
        groups = {"delivery": {"local_domains": DOMAIN, "default_domain": DOMAIN}}
        if store is not None:
            groups["store"] = store
        merge(groups, settings)
        super().__init__(settings=groups, tls=tls, users=users, module="pop3",
                         module_dir=module_dir(), name=name)

    def deliver(self, rcpts, message, sender="sender@example.org"):
        """Delivers @message (bytes) with postroomctl deliver."""
        if isinstance(rcpts, str):
            rcpts = [rcpts]
        rcpts = [r if "@" in r else "%s@%s" % (r, DOMAIN) for r in rcpts]
        cmd = [self.paths.postroomctl, "--config", self.config_path, "deliver",
               "--from", sender] + rcpts
        res = subprocess.run(cmd, input=message, capture_output=True, timeout=TOOL_TIMEOUT,
                             env=self.env)
        if res.returncode != 0:
            raise AssertionError("%s failed (exit %d):\n%s%s" % (
                " ".join(cmd), res.returncode, res.stdout.decode(errors="replace"),
                res.stderr.decode(errors="replace")))

    def restart(self):
        """Starts postroomd again on the same data (after stop() or a kill)."""
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [self.paths.postroomd, "--config", self.config_path, "--foreground"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            env=self.env, cwd=self.dir)
        self.returncode = None
        self.wait_ready()

    def kill9(self):
        self.proc.kill()
        self.proc.wait(timeout=postroomtest.STOP_TIMEOUT)
        self.proc = None
        self.returncode = "killed"
        if self._log:
            self._log.close()
            self._log = None

    def pop(self, user, password, **kw):
        """A logged-in poplib client."""
        p = poplib.POP3(HOST, self.port, timeout=IO_TIMEOUT)
        p.user(user)
        p.pass_(password)
        return p


class Pop3TestCase(postroomtest.ServerTestCase):
    """One postroomd with the pop3 module per class (see ServerTestCase)."""

    @classmethod
    def make_server(cls):
        return Pop3Server(settings=cls.settings, tls=cls.tls, users=cls.users,
                          name=cls.__name__.lower(), store=store_settings())

    def connect(self, tls=False, **kw):
        c = RawPop3(self.server.tls_port if tls else self.server.port, tls=tls, **kw)
        self.addCleanup(c.close)
        return c

    def pop(self, user, password):
        p = self.server.pop(user, password)
        self.addCleanup(close_quietly, p)
        return p


def close_quietly(p):
    try:
        p.close()
    except OSError:
        pass


# ---- wire-level client ------------------------------------------------------

class RawPop3(Client):
    """Client that reads multi-line bodies byte for byte (no 1 MiB cap)."""

    def read_body(self, timeout=None):
        """The raw dot-stuffed body after a +OK line, terminator included."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout * 4)
        if self.buf.startswith(b".\r\n"):
            body, self.buf = self.buf[:3], self.buf[3:]
            return body
        data = bytearray(self.buf)
        scanned = 0
        for _ in range(1 << 20):
            pos = data.find(b"\r\n.\r\n", max(0, scanned - 4))
            if pos >= 0:
                end = pos + 5
                break
            scanned = len(data)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise socket.timeout("no end of body within the time limit")
            self.sock.settimeout(remaining)
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionClosed()
            data += chunk
        else:
            raise AssertionError("no end of body")
        body, self.buf = bytes(data[:end]), bytes(data[end:])
        return body

    def login(self, user, password):
        r = self.cmd("USER " + user)
        if not r.startswith("+OK"):
            return r
        return self.cmd("PASS " + password)

    def retr(self, n, command=None):
        """(status line, message bytes with dot-stuffing undone)."""
        status = self.cmd(command or ("RETR %d" % n))
        if not status.startswith("+OK"):
            return status, None
        return status, unstuff(self.read_body())


def unstuff(body):
    """Undoes RFC 1939 byte-stuffing of a body ending in CRLF.CRLF."""
    if body == b".\r\n":
        return b""
    assert body.endswith(b"\r\n.\r\n"), body[-20:]
    lines = body[:-3].split(b"\r\n")
    assert lines[-1] == b""
    out = []
    for line in lines[:-1]:
        if line.startswith(b"."):
            assert line.startswith(b".."), "unstuffed dot line %r" % line[:40]
            line = line[1:]
        out.append(line)
    return b"\r\n".join(out) + b"\r\n"


def crlf(data):
    """@data with every line end as CRLF."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def make_message(tag, body=b"Hello.\n", subject=None, extra_headers=b""):
    """A message in LF form whose Message-ID carries @tag."""
    return (b"From: Sender <sender@example.org>\n"
            b"To: someone@example.com\n"
            b"Subject: " + (subject or tag).encode() + b"\n"
            b"Message-ID: <" + tag.encode() + b"@test.example>\n" + extra_headers +
            b"\n" + body)


def split_message(data):
    """(header, body) of a CRLF message."""
    head, _, body = data.partition(b"\r\n\r\n")
    return head + b"\r\n", body


def message_tag(data):
    for line in data.split(b"\r\n"):
        if line.lower().startswith(b"message-id: <"):
            return line.split(b"<", 1)[1].split(b"@", 1)[0].decode()
        if line == b"":
            break
    return None
