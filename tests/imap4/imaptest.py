# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for the IMAP module tests: a postroomd with the imap4 module
(and pop3, for the lock tests), delivery through `postroomctl deliver`, a
raw tagged IMAP client that checks the bytes on the wire, and the optional
private PostgreSQL store of the POP3 tests (--store postgresql)."""

import imaplib
import os
import re
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "protocol"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "pop3"))

import pop3test  # noqa: E402
import postroomtest  # noqa: E402
from postroomtest import (  # noqa: E402,F401
    HOST, IO_TIMEOUT, TOOL_TIMEOUT, Client, ConnectionClosed, b64, free_port, insecure_context,
    paths, run_tests)
from pop3test import DOMAIN, make_message, crlf, store_settings, merge  # noqa: E402,F401

PASSWORD = "correct horse"


def module_dir():
    # build/modules holds every module side by side (imap4 and pop3).
    return os.path.join(paths().build_root, "modules")


class ImapServer(pop3test.Pop3Server):
    def __init__(self, settings=None, tls=False, users=None, name="imap4", store=None,
                 with_pop3=False):
        groups = {"delivery": {"local_domains": DOMAIN, "default_domain": DOMAIN},
                  "auth": {"lockout_attempts": 99}}
        if store is not None:
            groups["store"] = store
        if with_pop3:
            self.pop3_port = free_port()
            groups["modules"] = {"enabled": ["imap4", "pop3"]}
            groups["pop3"] = {"listen": ["%s:%d" % (HOST, self.pop3_port)]}
        merge(groups, settings)
        postroomtest.Server.__init__(self, settings=groups, tls=tls, users=users,
                                     module="imap4", module_dir=module_dir(), name=name)

    def imap(self, user, password=PASSWORD):
        m = imaplib.IMAP4(HOST, self.port, timeout=IO_TIMEOUT)
        m.login(user, password)
        return m


class ImapTestCase(postroomtest.ServerTestCase):
    """One postroomd with the imap4 module per class."""

    with_pop3 = False

    @classmethod
    def make_server(cls):
        return ImapServer(settings=cls.settings, tls=cls.tls, users=cls.users,
                          name=cls.__name__.lower(), store=store_settings(),
                          with_pop3=cls.with_pop3)

    def connect(self, tls=False, **kw):
        c = RawImap(self.server.tls_port if tls else self.server.port, tls=tls, **kw)
        self.addCleanup(c.close)
        return c

    def imap(self, user, password=PASSWORD):
        m = self.server.imap(user, password)
        self.addCleanup(logout_quietly, m)
        return m

    def assertOk(self, response):
        typ, data = response
        self.assertEqual(typ, "OK", data)
        return data


def logout_quietly(m):
    try:
        m.logout()
    except (OSError, imaplib.IMAP4.error):
        pass


class RawImap(Client):
    """A tagged IMAP client on the wire."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.next_tag = 0

    def tag(self):
        self.next_tag += 1
        return "t%d" % self.next_tag

    def read_response(self, tag, limit=10000):
        """Lines up to and including the tagged one: (untagged, tagged)."""
        lines = []
        for _ in range(limit):
            line = self.readline()
            if line.startswith(tag + " "):
                return lines, line
            lines.append(line)
        raise AssertionError("no tagged response for %s" % tag)

    def command(self, text):
        """Sends "tag text"; returns (untagged lines, tagged line)."""
        tag = self.tag()
        self.send("%s %s\r\n" % (tag, text))
        return self.read_response(tag)

    def login(self, user, password=PASSWORD):
        _, done = self.command('LOGIN %s "%s"' % (user, password))
        if " OK " not in done:
            raise AssertionError("login failed: %s" % done)


def wait_for(predicate, timeout=IO_TIMEOUT, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False


def parse_status(line):
    """{"MESSAGES": n, ...} from a STATUS response line."""
    m = re.search(r"\(([^)]*)\)\s*$", line)
    items = m.group(1).split()
    return {items[i].upper(): int(items[i + 1]) for i in range(0, len(items), 2)}
