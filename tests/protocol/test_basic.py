#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The host's line protocol engine, seen through the testproto module."""

import signal
import socket
import struct
import time

from postroomtest import (
    R_BAD_LINE, R_BAD_STATE, R_IDLE, R_SHUTDOWN, R_STLS_UNAVAILABLE, R_SYNTAX,
    R_TOO_LONG, R_TOO_MANY_ERRORS, R_UNKNOWN, ServerTestCase, run_tests)

MAX_BAD = 5  # testproto's max_bad_commands
MAX_LINE = 512  # testproto's max_line, line end included


class Basic(ServerTestCase):

    def test_greeting_and_simple_commands(self):
        c = self.connect()
        self.assertGreeting(c)
        self.assertEqual(c.cmd("NOOP"), "+OK")
        self.assertEqual(c.cmd("noop"), "+OK", "verbs are case-insensitive")
        self.assertEqual(c.cmd("ECHO hello world"), "+OK hello world")
        self.assertEqual(c.cmd("ECHO  two  spaces "), "+OK  two  spaces ")

    def test_unknown_command(self):
        c = self.connect()
        self.assertEqual(c.cmd("FROBNICATE now"), R_UNKNOWN)
        self.assertEqual(c.cmd("NOOP"), "+OK")

    def test_bad_state(self):
        c = self.connect()
        self.assertEqual(c.cmd("WHOAMI"), R_BAD_STATE)
        self.assertEqual(c.cmd("NOOP"), "+OK")

    def test_syntax_errors(self):
        c = self.connect()
        self.assertEqual(c.cmd("ECHO"), R_SYNTAX, "ECHO requires arguments")
        self.assertEqual(c.cmd("NOOP extra"), R_SYNTAX, "NOOP takes no arguments")
        self.assertEqual(c.cmd("NOOP"), "+OK")

    def test_capa_without_certificate(self):
        c = self.connect()
        status, caps = c.multiline("CAPA")
        self.assertTrue(status.startswith("+OK"), status)
        self.assertEqual(caps, ["USER", "SASL PLAIN LOGIN"])
        self.assertEqual(c.cmd("STLS"), R_STLS_UNAVAILABLE)
        self.assertEqual(c.cmd("NOOP"), "+OK")

    def test_bare_lf_accepted(self):
        c = self.connect()
        c.send("NOOP\nECHO lf\n")
        self.assertEqual(c.readline(), "+OK")
        self.assertEqual(c.readline(), "+OK lf")

    def test_pipelining_in_order(self):
        c = self.connect()
        n = 200
        c.send("".join("ECHO %d\r\n" % i for i in range(n)))
        for i in range(n):
            self.assertEqual(c.readline(), "+OK %d" % i)
        self.assertEqual(c.cmd("NOOP"), "+OK")

    def test_pipelining_across_async_commands(self):
        c = self.connect()
        c.send("ECHO 1\r\nSLOW\r\nECHO 2\r\nKVSET pipe value-1\r\nKVGET pipe\r\n"
               "SLOW\r\nBOGUS\r\nECHO 3\r\n")
        expected = ["+OK 1", "+OK slow", "+OK 2", "+OK stored", "+OK value-1",
                    "+OK slow", R_UNKNOWN, "+OK 3"]
        self.assertEqual([c.readline() for _ in expected], expected)

    def test_raw_mode_between_lines(self):
        # BLOB takes the next n bytes as data (the SDK's raw mode): line
        # ends, NUL and command-like text inside are data, and the lines
        # pipelined behind the data are commands again.
        c = self.connect()
        blob = b"ECHO not a command\r\n\x00\n.\r\n" + bytes(range(256)) * 20
        c.send(b"BLOB %d\r\n" % len(blob) + blob + b"ECHO after\r\n")
        self.assertEqual(c.readline(), "+OK blob %d" % sum(blob))
        self.assertEqual(c.readline(), "+OK after")
        # Data arriving in small pieces, split anywhere.
        c.send(b"BLOB 10\r\nabc")
        time.sleep(0.05)
        c.send(b"defghij" + b"NOOP\r\n")
        self.assertEqual(c.readline(), "+OK blob %d" % sum(b"abcdefghij"))
        self.assertEqual(c.readline(), "+OK")

    def test_one_byte_at_a_time(self):
        c = self.connect()
        for b in b"ECHO byte by byte\r\nNOOP\r\n":
            c.send(bytes([b]))
            time.sleep(0.002)
        self.assertEqual(c.readline(), "+OK byte by byte")
        self.assertEqual(c.readline(), "+OK")

    def test_longest_line_accepted(self):
        c = self.connect()
        text = "x" * (MAX_LINE - len("ECHO \r\n"))
        self.assertEqual(c.cmd("ECHO " + text), "+OK " + text)

    def test_line_too_long(self):
        c = self.connect()
        # One byte over the limit, line end included.
        self.assertEqual(c.cmd("ECHO " + "y" * (MAX_LINE - len("ECHO \r\n") + 1)), R_TOO_LONG)
        self.assertEqual(c.cmd("ECHO still usable"), "+OK still usable")
        # Far over the limit, in several writes.
        c.send("ECHO " + "z" * 4000)
        c.send("z" * 4000 + "\r\nECHO after\r\n")
        self.assertEqual(c.readline(), R_TOO_LONG)
        self.assertEqual(c.readline(), "+OK after")

    def test_line_too_long_counts_as_bad_command(self):
        c = self.connect()
        long_line = "ECHO " + "q" * 2000 + "\r\n"
        replies = []
        for _ in range(MAX_BAD - 1):
            replies.append(c.cmd(long_line.rstrip("\r\n")))
        self.assertEqual(replies, [R_TOO_LONG] * (MAX_BAD - 1))
        c.send(long_line)
        rest = c.read_until_closed()
        self.assertIn(R_TOO_MANY_ERRORS, rest)
        self.assertEqual(rest[-1], R_TOO_MANY_ERRORS)

    def test_bad_command_limit_closes(self):
        c = self.connect()
        for i in range(MAX_BAD - 1):
            self.assertEqual(c.cmd("BAD%d" % i), R_UNKNOWN)
        self.assertEqual(c.cmd("NOOP"), "+OK", "good commands do not count")
        c.send("BADLAST\r\n")
        rest = c.read_until_closed()
        self.assertTrue(rest, "no reply before close")
        self.assertEqual(rest[-1], R_TOO_MANY_ERRORS)
        self.assertLessEqual(len(rest), 2, rest)

    def test_nul_byte_rejected(self):
        c = self.connect()
        self.assertEqual(c.cmd("ECHO a\0b"), R_BAD_LINE)
        self.assertEqual(c.cmd("ECHO clean"), "+OK clean")

    def test_kv_store(self):
        c = self.connect()
        self.assertEqual(c.cmd("KVGET never-set"), "-ERR No such key")
        self.assertEqual(c.cmd("KVSET colour deep blue"), "+OK stored")
        self.assertEqual(c.cmd("KVGET colour"), "+OK deep blue")
        self.assertEqual(c.cmd("KVSET colour red"), "+OK stored")
        c2 = self.connect()
        self.assertEqual(c2.cmd("KVGET colour"), "+OK red")
        self.assertEqual(c2.cmd("KVSET lonely"), R_SYNTAX)

    def test_quit(self):
        c = self.connect()
        c.send("QUIT\r\nNOOP\r\n")
        self.assertEqual(c.read_until_closed(), ["+OK bye"])

    def test_disconnect_mid_command(self):
        # Gone while an async command runs, during a partial line, and with a
        # reset while the store works.
        c = self.server.connect()
        c.send("SLOW\r\n")
        c.close()
        c = self.server.connect()
        c.send("ECHO half a li")
        c.close()
        c = self.server.connect()
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.send("KVSET gone soon\r\nSLOW\r\n")
        c.close()
        c = self.server.connect(greeting=False)
        c.close()
        time.sleep(0.5)
        self.assertTrue(self.server.alive(), self.server.log_tail())
        c = self.connect()
        self.assertGreeting(c)
        self.assertEqual(c.cmd("SLOW"), "+OK slow")
        self.assertEqual(c.cmd("NOOP"), "+OK")

    def test_many_sequential_connections(self):
        for i in range(50):
            with self.server.connect() as c:
                self.assertEqual(c.cmd("ECHO %d" % i), "+OK %d" % i)


class IdleTimeout(ServerTestCase):
    settings = {"testproto": {"idle_timeout": "2s"}}

    def test_idle_timeout_closes(self):
        c = self.connect()
        self.assertGreeting(c)
        start = time.monotonic()
        lines = c.read_until_closed(timeout=15)
        elapsed = time.monotonic() - start
        self.assertEqual(lines, [R_IDLE])
        self.assertGreaterEqual(elapsed, 1.5)
        self.assertLess(elapsed, 8)

    def test_activity_resets_idle_timer(self):
        c = self.connect()
        for _ in range(4):
            time.sleep(1)
            self.assertEqual(c.cmd("NOOP"), "+OK")
        self.assertEqual(c.read_until_closed(timeout=15), [R_IDLE])


class Shutdown(ServerTestCase):
    """SIGTERM tells connected clients and exits cleanly."""

    def test_sigterm_with_open_connections(self):
        idle = self.connect()
        busy = self.connect()
        busy.send("SLOW\r\n")
        self.server.proc.send_signal(signal.SIGTERM)
        self.assertEqual(idle.read_until_closed(timeout=20), [R_SHUTDOWN])
        lines = busy.read_until_closed(timeout=20)
        self.assertIn(R_SHUTDOWN, lines)
        self.server.proc.wait(timeout=20)
        self.assertEqual(self.server.proc.returncode, 0, self.server.log_tail())
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", self.server.port), timeout=2).close()


if __name__ == "__main__":
    run_tests()
