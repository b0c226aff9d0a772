#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The POP3 module against a real postroomd: the protocol with poplib and
by hand on the wire, message bodies byte for byte, DELE/RSET/QUIT
semantics, pipelining, the exclusive lock, authentication, STLS and
implicit TLS. Runs on SQLite, or on PostgreSQL with --store postgresql."""

import os
import poplib
import socket
import time
import unittest

import pop3test
from pop3test import (
    HOST, IO_TIMEOUT, R_AUTH_FAILED, R_BAD_STATE, R_GREETING, R_IN_USE, R_STLS_OK,
    R_TLS_REQUIRED, R_TOO_MANY_FAILED, Pop3TestCase, b64, close_quietly, crlf,
    insecure_context, make_message, message_tag, run_tests, split_message)

PASSWORD = "correct horse"

DOTS_BODY = (b".starts with a dot\n"
             b"..two dots\n"
             b".\n"
             b"a line\n"
             b" .space dot\n"
             b"...\n"
             b"last line\n")
EIGHT_BIT_BODY = ("Grüße aus Köln, ça va? Ünïcödé → ✓\n".encode("utf-8") +
                  bytes(range(0x80, 0x100)).replace(b"\r", b"") + b"\n" + b"\xff\xfe end\n")
BIG_LINE = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789\n"


def vm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def big_body(size):
    """About @size bytes of lines, some starting with a dot, at varied offsets."""
    lines = []
    total = 0
    i = 0
    while total < size:
        if i % 97 == 0:
            line = b"." + BIG_LINE[: (i % 60) + 1] + b"\n"
        elif i % 89 == 0:
            line = b".\n"
        else:
            line = b"%08d " % i + BIG_LINE[: 10 + (i * 7) % 60] + b"\n"
        lines.append(line)
        total += len(line)
        i += 1
    return b"".join(lines)


def sanitized(pid):
    """Whether the process runs with AddressSanitizer's runtime."""
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


class Mailbox(Pop3TestCase):
    """alice has a fixed set of messages; tests leave it as they found it."""

    users = {"alice": PASSWORD, "bob": PASSWORD}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.messages = [
            make_message("plain-1", b"First message.\n"),
            make_message("dots-2", DOTS_BODY),
            make_message("eightbit-3", EIGHT_BIT_BODY,
                         extra_headers=b"Content-Type: text/plain; charset=utf-8\n"
                                       b"Content-Transfer-Encoding: 8bit\n"),
            make_message("big-4", big_body(3 * 1024 * 1024 + 12345)),
            make_message("crlf-5", b"CRLF line\r\nanother\r\n".replace(b"\r\n", b"\n")),
            make_message("nofinalnewline-6", b"no newline at the end"),
        ]
        for m in cls.messages:
            cls.server.deliver("alice", m)

    def expected(self, i):
        m = crlf(self.messages[i])
        if not m.endswith(b"\r\n"):
            m += b"\r\n"
        return m

    def test_greeting_and_capa(self):
        c = self.connect()
        self.assertEqual(c.greeting, R_GREETING)
        status, caps = c.multiline("CAPA")
        self.assertEqual(status, "+OK Capability list follows")
        for cap in ("TOP", "UIDL", "USER", "SASL PLAIN LOGIN", "RESP-CODES", "AUTH-RESP-CODE",
                    "PIPELINING", "IMPLEMENTATION Postroom"):
            self.assertIn(cap, caps)
        self.assertNotIn("STLS", caps, "no certificate configured")
        self.assertFalse(any(cap.startswith("APOP") for cap in caps))
        self.assertNotIn("<", c.greeting, "no APOP timestamp")
        status, mechs = c.multiline("AUTH")
        self.assertTrue(status.startswith("+OK"), status)
        self.assertEqual(mechs, ["PLAIN", "LOGIN"])
        self.assertEqual(c.cmd("QUIT"), "+OK Postroom POP3 server signing off")

    def test_poplib_session(self):
        p = self.pop("alice", PASSWORD)
        count, size = p.stat()
        self.assertEqual(count, len(self.messages))
        _, listing, _ = p.list()
        sizes = {int(a): int(b) for a, b in (l.split() for l in listing)}
        self.assertEqual(sorted(sizes), list(range(1, count + 1)))
        self.assertEqual(sum(sizes.values()), size)
        _, uidls, _ = p.uidl()
        uid_map = {int(a): b for a, b in (l.split() for l in uidls)}
        self.assertEqual(len(set(uid_map.values())), count, "UIDLs are unique")
        for n in range(1, count + 1):
            self.assertEqual(p.uidl(n).split()[1:], [b"%d" % n, uid_map[n]])
            self.assertEqual(p.list(n).split()[1:], [b"%d" % n, b"%d" % sizes[n]])
            status, lines, octets = p.retr(n)
            data = b"\r\n".join(lines) + b"\r\n"
            self.assertEqual(status, b"+OK %d octets" % sizes[n])
            self.assertEqual(len(data), sizes[n], "message %d: LIST size is exact" % n)
            self.assertTrue(data.endswith(self.expected(n - 1)), "message %d intact" % n)
        p.quit()

    def test_retr_byte_exact_on_the_wire(self):
        c = self.connect()
        self.assertTrue(c.login("alice", PASSWORD).startswith("+OK"))
        for n in range(1, len(self.messages) + 1):
            size = int(c.cmd("LIST %d" % n).split()[2])
            status, data = c.retr(n)
            self.assertEqual(status, "+OK %d octets" % size)
            self.assertEqual(len(data), size)
            self.assertTrue(data.endswith(self.expected(n - 1)), "message %d" % n)
            self.assertEqual(message_tag(data), message_tag(self.expected(n - 1)))
        self.assertTrue(c.cmd("QUIT").startswith("+OK"))

    def test_dot_stuffing(self):
        c = self.connect()
        self.assertTrue(c.login("alice", PASSWORD).startswith("+OK"))
        c.send("RETR 2\r\n")
        self.assertTrue(c.readline().startswith("+OK"))
        raw = c.read_body()
        for line in (b"\r\n..starts with a dot\r\n", b"\r\n...two dots\r\n", b"\r\n..\r\n",
                     b"\r\n .space dot\r\n", b"\r\n....\r\n"):
            self.assertIn(line, raw)
        self.assertTrue(raw.endswith(b"\r\nlast line\r\n.\r\n"))
        c.cmd("QUIT")

    def test_top(self):
        c = self.connect()
        self.assertTrue(c.login("alice", PASSWORD).startswith("+OK"))
        full = c.retr(2)[1]
        head, body = split_message(full)
        status, top0 = c.retr(2, "TOP 2 0")
        self.assertTrue(status.startswith("+OK"), status)
        self.assertEqual(top0, head + b"\r\n")
        _, top2 = c.retr(2, "TOP 2 2")
        self.assertEqual(top2, head + b"\r\n" + b"\r\n".join(body.split(b"\r\n")[:2]) + b"\r\n")
        _, top_many = c.retr(2, "TOP 2 100000")
        self.assertEqual(top_many, full)
        # A large message's top comes without its body.
        _, top_big = c.retr(4, "TOP 4 3")
        self.assertLess(len(top_big), 2000)
        self.assertEqual(c.cmd("TOP 2"), "-ERR Syntax: TOP message lines")
        self.assertEqual(c.cmd("TOP 2 x"), "-ERR Syntax: TOP message lines")
        self.assertTrue(c.cmd("TOP 99 1").startswith("-ERR no such message"))
        c.cmd("QUIT")

    def test_slow_reader_large_message(self):
        """Eight pipelined RETRs of a 3 MiB message to a client that does not
        read: the server produces output only as the client drains it
        (backpressure), and every byte arrives once the client reads."""
        c = self.connect()
        self.assertTrue(c.login("alice", PASSWORD).startswith("+OK"))
        size = int(c.cmd("LIST 4").split()[2])
        rss_before = vm_rss_kib(self.server.proc.pid)
        c.send("RETR 4\r\n" * 8 + "NOOP\r\n")
        time.sleep(1.5)
        growth = vm_rss_kib(self.server.proc.pid) - rss_before
        # AddressSanitizer keeps freed memory in quarantine, so resident size
        # says nothing about what is queued in a sanitizer build; the rest of
        # the test (every byte arrives in order) still runs there.
        if not sanitized(self.server.proc.pid):
            self.assertLess(growth, 8 * 1024, "%d KiB queued for a client that does not read "
                            "(%d KiB requested)" % (growth, 8 * size // 1024))
        for _ in range(8):
            status = c.readline(timeout=60)
            self.assertEqual(status, "+OK %d octets" % size)
            data = pop3test.unstuff(c.read_body(timeout=120))
            self.assertEqual(len(data), size)
            self.assertTrue(data.endswith(self.expected(3)))
        self.assertEqual(c.readline(), "+OK")
        c.cmd("QUIT")

    def test_pipelining(self):
        c = self.connect()
        c.send("CAPA\r\nUSER alice\r\nPASS %s\r\nSTAT\r\nLIST\r\nUIDL 1\r\nTOP 1 0\r\n"
               "RETR 1\r\nDELE 2\r\nSTAT\r\nLIST 2\r\nRETR 2\r\nRSET\r\nSTAT\r\nNOOP\r\n"
               "RETR 3\r\nRETR 5\r\nQUIT\r\n" % PASSWORD)
        self.assertEqual(c.readline(), "+OK Capability list follows")
        for _ in range(20):
            if c.readline() == ".":
                break
        self.assertEqual(c.readline(), "+OK Send your password")
        self.assertTrue(c.readline().startswith("+OK Mailbox locked and ready"))
        n = len(self.messages)
        stat = c.readline()
        self.assertTrue(stat.startswith("+OK %d " % n), stat)
        total = int(stat.split()[2])
        self.assertEqual(c.readline(), "+OK %d messages (%d octets)" % (n, total))
        sizes = {}
        for _ in range(n):
            num, size = c.readline().split()
            sizes[int(num)] = int(size)
        self.assertEqual(c.readline(), ".")
        self.assertTrue(c.readline().startswith("+OK 1 "))
        self.assertTrue(c.readline().startswith("+OK"))
        head = pop3test.unstuff(c.read_body())
        self.assertEqual(c.readline(), "+OK %d octets" % sizes[1])
        self.assertTrue(pop3test.unstuff(c.read_body()).startswith(head[:-2]))
        self.assertEqual(c.readline(), "+OK message 2 deleted")
        self.assertEqual(c.readline(), "+OK %d %d" % (n - 1, total - sizes[2]))
        self.assertEqual(c.readline(), "-ERR message 2 already deleted")
        self.assertEqual(c.readline(), "-ERR message 2 already deleted")
        self.assertEqual(c.readline(), "+OK maildrop has %d messages (%d octets)" % (n, total))
        self.assertEqual(c.readline(), "+OK %d %d" % (n, total))
        self.assertEqual(c.readline(), "+OK")
        self.assertEqual(c.readline(), "+OK %d octets" % sizes[3])
        self.assertTrue(pop3test.unstuff(c.read_body()).endswith(self.expected(2)))
        self.assertEqual(c.readline(), "+OK %d octets" % sizes[5])
        self.assertTrue(pop3test.unstuff(c.read_body()).endswith(self.expected(4)))
        self.assertEqual(c.readline(), "+OK Postroom POP3 server signing off (%d messages left)"
                         % n)
        self.assertEqual(c.read_until_closed(), [])
        self.assertEqual(self.server.pop("alice", PASSWORD).stat()[0], n, "RSET kept all")

    def test_dele_and_disconnect_deletes_nothing(self):
        p = self.pop("alice", PASSWORD)
        n = p.stat()[0]
        for i in range(1, n + 1):
            p.dele(i)
        self.assertEqual(p.stat(), (0, 0))
        p.sock.shutdown(socket.SHUT_RDWR)
        p.close()
        p2 = self.login_retrying("alice")
        self.assertEqual(p2.stat()[0], n, "a dropped session deletes nothing")
        p2.quit()

    def login_retrying(self, user, deadline=10):
        """Logs in; the lock of a dropped session is released in the background."""
        end = time.monotonic() + deadline
        while True:
            try:
                return self.pop(user, PASSWORD)
            except poplib.error_proto as e:
                if R_IN_USE.encode() not in e.args[0] or time.monotonic() > end:
                    raise
                time.sleep(0.1)

    def test_states_and_errors(self):
        c = self.connect()
        self.assertEqual(c.cmd("STAT"), R_BAD_STATE)
        self.assertEqual(c.cmd("RETR 1"), R_BAD_STATE)
        self.assertEqual(c.cmd("PASS x"), "-ERR Send USER first")
        self.assertEqual(c.cmd("FOO"), "-ERR Unknown command")
        self.assertEqual(c.cmd("NOOP"), "+OK")
        self.assertTrue(c.login("alice", PASSWORD).startswith("+OK"))
        self.assertEqual(c.cmd("USER alice"), R_BAD_STATE)
        self.assertEqual(c.cmd("STLS"), R_BAD_STATE)
        self.assertEqual(c.cmd("QUIT"), "+OK Postroom POP3 server signing off (6 messages left)")
        c.close()

        # A new connection: the host closes after 10 bad commands.
        c = self.connect()
        self.assertTrue(c.login("alice", PASSWORD).startswith("+OK"), "QUIT released the lock")
        self.assertEqual(c.cmd("RETR x"), "-ERR Invalid message number")
        self.assertEqual(c.cmd("RETR 0"), "-ERR no such message, only 6 messages in maildrop")
        self.assertEqual(c.cmd("RETR 1 2"), "-ERR Invalid message number")
        self.assertEqual(c.cmd("DELE 99999999999"), "-ERR Invalid message number")
        self.assertEqual(c.cmd("RETR"), "-ERR Syntax error")
        self.assertEqual(c.cmd("STAT 1"), "-ERR Syntax error")
        self.assertEqual(c.cmd("LIST 7"), "-ERR no such message, only 6 messages in maildrop")
        self.assertEqual(c.cmd("dele 6"), "+OK message 6 deleted")
        self.assertEqual(c.cmd("DELE 6"), "-ERR message 6 already deleted")
        self.assertEqual(c.cmd("TOP 6 0"), "-ERR message 6 already deleted")
        self.assertEqual(c.cmd("UIDL 6"), "-ERR message 6 already deleted")
        status, lines = c.multiline("LIST")
        self.assertEqual([l.split()[0] for l in lines], ["1", "2", "3", "4", "5"])
        status, lines = c.multiline("UIDL")
        self.assertEqual([l.split()[0] for l in lines], ["1", "2", "3", "4", "5"])
        self.assertTrue(c.cmd("RSET").startswith("+OK maildrop has 6 messages"))
        # Line rules: bare LF accepted, NUL refused, 255 octets at most.
        c.send("NOOP\n")
        self.assertEqual(c.readline(), "+OK")
        c.send("NO\0OP\r\n")
        self.assertEqual(c.readline(), "-ERR Invalid characters in command line")
        c.send("NOOP " + "x" * 300 + "\r\n")
        self.assertEqual(c.readline(), "-ERR Line too long")
        self.assertEqual(c.cmd("QUIT"), "+OK Postroom POP3 server signing off (6 messages left)")

    def test_too_many_errors(self):
        c = self.connect()
        for _ in range(10):
            self.assertEqual(c.cmd("FOO"), "-ERR Unknown command")
        self.assertEqual(c.read_until_closed(), ["-ERR Too many errors, closing connection"])

    def test_in_use(self):
        first = self.pop("alice", PASSWORD)
        c = self.connect()
        self.assertEqual(c.login("alice", PASSWORD), R_IN_USE)
        self.assertEqual(c.cmd("STAT"), R_BAD_STATE, "still in AUTHORIZATION")
        self.assertTrue(c.login("bob", PASSWORD).startswith("+OK"), "other mailboxes are free")
        c.cmd("QUIT")
        c2 = self.connect()
        self.assertEqual(c2.login("alice", PASSWORD), R_IN_USE)
        first.quit()
        # QUIT is answered once the lock is released: no wait needed.
        self.assertTrue(c2.login("alice", PASSWORD).startswith("+OK"))
        c2.cmd("QUIT")

    def test_auth_plain_and_login(self):
        c = self.connect()
        self.assertTrue(c.cmd("AUTH PLAIN " + b64("\0alice\0" + PASSWORD)).startswith("+OK"))
        self.assertEqual(c.cmd("STAT").split()[1], str(len(self.messages)))
        c.cmd("QUIT")

        c = self.connect()
        self.assertEqual(c.cmd("AUTH PLAIN"), "+ ")
        self.assertTrue(c.cmd(b64("\0bob\0" + PASSWORD)).startswith("+OK"))
        self.assertEqual(c.cmd("STAT"), "+OK 0 0")
        c.cmd("QUIT")

        c = self.connect()
        self.assertEqual(c.cmd("AUTH LOGIN"), "+ " + b64("Username:"))
        self.assertEqual(c.cmd(b64("bob")), "+ " + b64("Password:"))
        self.assertTrue(c.cmd(b64(PASSWORD)).startswith("+OK"))
        c.cmd("QUIT")

        c = self.connect()
        self.assertEqual(c.cmd("AUTH LOGIN " + b64("bob")), "+ " + b64("Password:"))
        self.assertTrue(c.cmd(b64(PASSWORD)).startswith("+OK"))
        c.cmd("QUIT")

        c = self.connect()
        self.assertEqual(c.cmd("AUTH PLAIN"), "+ ")
        self.assertEqual(c.cmd("*"), "-ERR Authentication cancelled")
        self.assertEqual(c.cmd("AUTH CRAM-MD5"), "-ERR Unrecognized authentication mechanism")
        self.assertEqual(c.cmd("AUTH PLAIN !!!"), "-ERR Invalid SASL response")
        self.assertEqual(c.cmd("AUTH PLAIN " + b64("\0bob\0wrong")), R_AUTH_FAILED)
        self.assertTrue(c.cmd("AUTH PLAIN " + b64("\0bob\0" + PASSWORD)).startswith("+OK"))
        c.cmd("QUIT")


class ReadAhead(Pop3TestCase):
    """Downloads in order are answered from messages the mailbox read ahead
    in batches: every way through them (pipelined, one by one, skipping
    deleted messages, jumping back and forth, TOP in between, a message too
    large to be read ahead, an unreadable file) returns the same bytes."""

    users = {"carol": PASSWORD}
    COUNT = 100
    LARGE = 41  # 1-based: a message too large to be read ahead

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.messages = []
        for i in range(1, cls.COUNT + 1):
            if i == cls.LARGE:
                body = big_body(200 * 1024)
            elif i % 7 == 0:
                body = DOTS_BODY * (1 + i % 5)
            elif i % 11 == 0:
                body = EIGHT_BIT_BODY
            elif i % 13 == 0:
                body = b"no newline at the end"
            elif i % 17 == 0:
                body = b".\n"
            else:
                body = big_body(500 + (i * 997) % 7000)
            m = make_message("ahead-%d" % i, body)
            cls.messages.append(m)
            cls.server.deliver("carol", m)

    def expected(self, n):
        m = crlf(self.messages[n - 1])
        return m if m.endswith(b"\r\n") else m + b"\r\n"

    def check(self, c, n, sizes):
        status = c.readline()
        self.assertEqual(status, "+OK %d octets" % sizes[n], "RETR %d" % n)
        data = pop3test.unstuff(c.read_body())
        self.assertEqual(len(data), sizes[n], "message %d" % n)
        self.assertTrue(data.endswith(self.expected(n)), "message %d" % n)
        self.assertEqual(message_tag(data), "ahead-%d" % n)

    def session(self):
        c = self.connect()
        self.assertTrue(c.login("carol", PASSWORD).startswith("+OK"))
        status, listing = c.multiline("LIST")
        self.assertTrue(status.startswith("+OK %d messages" % self.COUNT), status)
        return c, {int(a): int(b) for a, b in (line.split() for line in listing)}

    def test_pipelined_in_order(self):
        c, sizes = self.session()
        for first in range(1, self.COUNT + 1, 16):
            batch = range(first, min(first + 16, self.COUNT + 1))
            c.send("".join("RETR %d\r\n" % n for n in batch))
            for n in batch:
                self.check(c, n, sizes)
        self.assertTrue(c.cmd("QUIT").startswith("+OK"))

    def test_one_by_one_with_skips_jumps_and_top(self):
        c, sizes = self.session()
        for n in (3, 4):
            self.assertTrue(c.cmd("DELE %d" % n).startswith("+OK"))
        order = [1, 2, 5, 6, 9, 9, 2, 30, 31, 32, 39, 40, 41, 42, 43, 80, 81, 60, 61, 62, 99, 100,
                 10, 11]
        for n in order:
            c.send("RETR %d\r\n" % n)
            self.check(c, n, sizes)
            if n == 61:
                # TOP of the next message, which was read ahead whole.
                status, top = c.retr(62, "TOP 62 1")
                self.assertTrue(status.startswith("+OK"), status)
                head, body = split_message(self.expected(62))
                self.assertTrue(top.endswith(head + b"\r\n" + body.split(b"\r\n")[0] + b"\r\n"),
                                top[-200:])
        self.assertTrue(c.cmd("RETR 3").startswith("-ERR message 3 already deleted"))
        self.assertTrue(c.cmd("RSET").startswith("+OK"))
        self.assertTrue(c.cmd("QUIT").startswith("+OK"))

    def test_unreadable_file_among_those_read_ahead(self):
        if pop3test.options().store != "sqlite":
            self.skipTest("finds the spool file through the SQLite database")
        import sqlite3
        db = sqlite3.connect(os.path.join(self.server.data_dir, "postroom.db"))
        try:
            (path,), = db.execute("SELECT spool_path FROM messages WHERE hdr_message_id LIKE ?",
                                  ("%ahead-20@%",))
        finally:
            db.close()
        path = os.path.join(self.server.data_dir, "spool", path)
        os.rename(path, path + ".away")
        self.addCleanup(os.rename, path + ".away", path)
        c, sizes = self.session()
        for n in range(15, 25):
            c.send("RETR %d\r\n" % n)
            if n == 20:
                self.assertEqual(c.readline(),
                                 "-ERR [SYS/TEMP] Cannot read the message, try again later")
            else:
                self.check(c, n, sizes)
        self.assertTrue(c.cmd("QUIT").startswith("+OK"))


class DeleteAndUidl(Pop3TestCase):
    users = {"carol": PASSWORD, "dave": PASSWORD, "quitter": PASSWORD}
    settings = {"auth": {"lockout_attempts": 99}}

    def fill(self, user, n, prefix):
        tags = ["%s-%d" % (prefix, i) for i in range(n)]
        for t in tags:
            self.server.deliver(user, make_message(t, ("body of %s\n" % t).encode()))
        return tags

    def tags_and_uidls(self, user):
        p = self.pop(user, PASSWORD)
        count = p.stat()[0]
        result = []
        uidls = {int(a): b.decode() for a, b in (l.split() for l in p.uidl()[1])}
        for n in range(1, count + 1):
            _, lines, _ = p.retr(n)
            result.append((message_tag(b"\r\n".join(lines) + b"\r\n"), uidls[n]))
        p.quit()
        return result

    def test_dele_quit_rset(self):
        tags = self.fill("carol", 5, "del")
        p = self.pop("carol", PASSWORD)
        self.assertEqual(p.stat()[0], 5)
        p.dele(2)
        p.dele(4)
        p.rset()
        p.dele(1)
        p.dele(5)
        self.assertEqual(p.stat()[0], 3)
        self.assertEqual(p.quit(), b"+OK Postroom POP3 server signing off "
                                   b"(2 messages deleted, 3 left)")
        left = [t for t, _ in self.tags_and_uidls("carol")]
        self.assertEqual(left, [tags[1], tags[2], tags[3]])
        p = self.pop("carol", PASSWORD)
        for i in range(1, 4):
            p.dele(i)
        p.quit()
        self.assertEqual(self.tags_and_uidls("carol"), [])

    def test_uidl_stable_and_unique(self):
        self.fill("dave", 4, "uidl")
        before = self.tags_and_uidls("dave")
        self.assertEqual(len({u for _, u in before}), 4)
        for _, u in before:
            self.assertRegex(u, r"^[\x21-\x7e]{1,70}$", "RFC 1939 unique-id syntax")
        self.assertEqual(self.tags_and_uidls("dave"), before, "same across sessions")
        # Delete one, add one: the others keep theirs, the new one is new.
        p = self.pop("dave", PASSWORD)
        p.dele(2)
        p.quit()
        self.fill("dave", 1, "uidl-new")
        after = self.tags_and_uidls("dave")
        self.assertEqual(after[:3], [before[0], before[2], before[3]])
        self.assertNotIn(after[3][1], {u for _, u in before}, "UIDLs are never reused")
        # Across a restart.
        self.server.stop()
        self.server.restart()
        self.assertEqual(self.tags_and_uidls("dave"), after)

    def count_retrying(self, user, deadline=10):
        """STAT count; a dropped session's lock is released in the background."""
        end = time.monotonic() + deadline
        while True:
            c = self.connect()
            reply = c.login(user, PASSWORD)
            if reply.startswith("+OK"):
                n = int(c.cmd("STAT").split()[1])
                c.cmd("QUIT")
                return n
            self.assertEqual(reply, R_IN_USE)
            self.assertLess(time.monotonic(), end, "the lock was never released")
            time.sleep(0.1)

    def test_client_gone_right_after_quit(self):
        """QUIT commits even if the client does not wait for the answer."""
        self.fill("quitter", 3, "quit")
        c = self.connect()
        self.assertTrue(c.login("quitter", PASSWORD).startswith("+OK"))
        c.send("DELE 1\r\nDELE 3\r\nQUIT\r\n")
        c.close()
        self.assertEqual(self.count_retrying("quitter"), 1)
        c = self.connect()
        self.assertTrue(c.login("quitter", PASSWORD).startswith("+OK"))
        c.send("QUIT\r\n")
        c.close()
        self.assertEqual(self.count_retrying("quitter"), 1)

    def test_failed_logins(self):
        c = self.connect()
        self.assertEqual(c.login("carol", "wrong"), R_AUTH_FAILED)
        self.assertEqual(c.login("nosuchuser", "wrong"), R_AUTH_FAILED,
                         "unknown users get the same answer")
        self.assertEqual(c.login("carol", "wrong again"), R_TOO_MANY_FAILED)
        self.assertEqual(c.read_until_closed(), [])

        c = self.connect()
        self.assertEqual(c.cmd("AUTH PLAIN " + b64("\0carol\0x")), R_AUTH_FAILED)
        self.assertEqual(c.login("carol", "wrong"), R_AUTH_FAILED)
        self.assertTrue(c.login("carol", PASSWORD).startswith("+OK"), "two failures are fine")
        c.cmd("QUIT")


class Settings(Pop3TestCase):
    users = {"erin": PASSWORD}
    settings = {"pop3": {"max_failed_logins": 1, "hold_deleted": True},
                "auth": {"lockout_attempts": 99}}

    def test_max_failed_logins_setting(self):
        c = self.connect()
        self.assertEqual(c.login("erin", "wrong"), R_TOO_MANY_FAILED)
        self.assertEqual(c.read_until_closed(), [])

    def test_hold_deleted(self):
        self.server.deliver("erin", make_message("held-1"))
        self.server.deliver("erin", make_message("kept-2"))
        p = self.pop("erin", PASSWORD)
        self.assertEqual(p.stat()[0], 2)
        p.dele(1)
        p.quit()
        p = self.pop("erin", PASSWORD)
        self.assertEqual(p.stat()[0], 1, "held messages are invisible")
        _, lines, _ = p.retr(1)
        self.assertEqual(message_tag(b"\r\n".join(lines) + b"\r\n"), "kept-2")
        p.quit()


class Lockout(Pop3TestCase):
    users = {"frank": PASSWORD}
    settings = {"auth": {"lockout_attempts": 2}, "pop3": {"max_failed_logins": 10}}

    def test_lockout(self):
        c = self.connect()
        self.assertEqual(c.login("frank", "wrong"), R_AUTH_FAILED)
        self.assertEqual(c.login("frank", "wrong"), R_AUTH_FAILED)
        reply = c.login("frank", PASSWORD)
        self.assertTrue(reply.startswith("-ERR [AUTH] ") and "locked" in reply, reply)
        self.assertEqual(c.read_until_closed(), [])


class Tls(Pop3TestCase):
    users = {"grace": PASSWORD}
    tls = True
    settings = {"pop3": {"require_tls_for_auth": True}}

    def test_require_tls_for_auth(self):
        c = self.connect()
        status, caps = c.multiline("CAPA")
        self.assertIn("STLS", caps)
        self.assertNotIn("USER", caps)
        self.assertNotIn("SASL PLAIN LOGIN", caps)
        self.assertEqual(c.cmd("USER grace"), R_TLS_REQUIRED)
        self.assertEqual(c.cmd("PASS " + PASSWORD), R_TLS_REQUIRED)
        self.assertEqual(c.cmd("AUTH PLAIN " + b64("\0grace\0" + PASSWORD)), R_TLS_REQUIRED)
        self.assertEqual(c.cmd("STLS"), R_STLS_OK)
        c.sock = insecure_context().wrap_socket(c.sock, server_hostname="localhost")
        status, caps = c.multiline("CAPA")
        self.assertNotIn("STLS", caps)
        self.assertIn("USER", caps)
        self.assertTrue(c.login("grace", PASSWORD).startswith("+OK"))
        self.assertTrue(c.cmd("STAT").startswith("+OK "))
        c.cmd("QUIT")

    def test_poplib_stls(self):
        self.server.deliver("grace", make_message("tls-1", b"over TLS\n"))
        p = poplib.POP3(HOST, self.server.port, timeout=IO_TIMEOUT)
        self.addCleanup(close_quietly, p)
        self.assertIn("STLS", p.capa())
        p.stls(context=insecure_context())
        p.user("grace")
        p.pass_(PASSWORD)
        _, lines, _ = p.retr(1)
        self.assertIn(b"over TLS", lines)
        p.quit()

    def test_implicit_tls(self):
        p = poplib.POP3_SSL(HOST, self.server.tls_port, timeout=IO_TIMEOUT,
                            context=insecure_context())
        self.addCleanup(close_quietly, p)
        self.assertEqual(p.getwelcome(), R_GREETING.encode())
        self.assertNotIn("STLS", p.capa())
        p.user("grace")
        p.pass_(PASSWORD)
        self.assertGreaterEqual(p.stat()[0], 0)
        p.quit()


class Access(Pop3TestCase):
    users = {"heidi": PASSWORD}
    settings = {"pop3": {"access": ["deny 127.0.0.0/8", "allow any"]}}

    def test_access_denied(self):
        c = pop3test.Client(self.server.port, greeting=False)
        self.addCleanup(c.close)
        self.assertEqual(c.read_until_closed(), [pop3test.R_ACCESS_DENIED])


if __name__ == "__main__":
    run_tests()
