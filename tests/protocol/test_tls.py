#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Implicit TLS and STARTTLS (STLS) with real clients, and TLS-before-auth."""

import socket
import ssl

from postroomtest import (
    R_BAD_STATE, R_LOGGED_IN, R_STLS_OK, R_STLS_PIPELINED, R_STLS_UNAVAILABLE, R_TLS_REQUIRED,
    ServerTestCase, b64, insecure_context, run_client_tool, run_tests)

CLIENT_LINES = ["NOOP", "ECHO tls-works", "QUIT"]


class Tls(ServerTestCase):
    tls = True

    def check_tool_output(self, lines, err):
        self.assertIn("+OK tls-works", lines, "stdout: %r\nstderr: %s" % (lines, err))
        self.assertIn("+OK bye", lines, "stdout: %r\nstderr: %s" % (lines, err))

    def test_implicit_gnutls_cli(self):
        lines, err = run_client_tool(
            ["gnutls-cli", "--insecure", "-p", str(self.server.tls_port), "127.0.0.1"],
            CLIENT_LINES, "+OK bye")
        self.assertIn("+OK testproto ready", lines, err)
        self.check_tool_output(lines, err)

    def test_implicit_openssl(self):
        lines, err = run_client_tool(
            ["openssl", "s_client", "-quiet", "-connect", "127.0.0.1:%d" % self.server.tls_port],
            CLIENT_LINES, "+OK bye")
        self.assertIn("+OK testproto ready", lines, err)
        self.check_tool_output(lines, err)

    def test_starttls_gnutls_cli(self):
        lines, err = run_client_tool(
            ["gnutls-cli", "--insecure", "--starttls-proto=pop3", "-p",
             str(self.server.port), "127.0.0.1"],
            CLIENT_LINES, "+OK bye")
        self.check_tool_output(lines, err)
        self.assertIn("Handshake was completed", "\n".join(lines) + err)

    def test_starttls_openssl(self):
        lines, err = run_client_tool(
            ["openssl", "s_client", "-quiet", "-starttls", "pop3", "-connect",
             "127.0.0.1:%d" % self.server.port],
            CLIENT_LINES, "+OK bye")
        self.check_tool_output(lines, err)

    def test_python_implicit(self):
        c = self.connect(tls=True)
        self.assertGreeting(c)
        self.assertIsInstance(c.sock, ssl.SSLSocket)
        status, caps = c.multiline("CAPA")
        self.assertNotIn("STLS", caps, "STLS offered on a TLS connection")
        self.assertEqual(c.cmd("STLS"), R_STLS_UNAVAILABLE)
        self.assertEqual(c.cmd("ECHO secret"), "+OK secret")

    def test_python_starttls(self):
        c = self.connect()
        status, caps = c.multiline("CAPA")
        self.assertIn("STLS", caps)
        c.starttls()
        self.assertEqual(c.cmd("NOOP"), "+OK")
        status, caps = c.multiline("CAPA")
        self.assertNotIn("STLS", caps)
        self.assertEqual(c.cmd("STLS"), R_STLS_UNAVAILABLE)
        c.send("ECHO a\r\nECHO b\r\n")
        self.assertEqual([c.readline(), c.readline()], ["+OK a", "+OK b"])

    def test_plaintext_pipelined_after_stls_refused(self):
        c = self.connect()
        c.send("STLS\r\nECHO injected\r\n")
        lines = c.read_until_closed()
        self.assertEqual(lines, [R_STLS_PIPELINED])

    def test_stls_with_pipelined_prefix_is_fine(self):
        # Commands before STLS in the same write are answered; STLS is last.
        c = self.connect()
        c.send("NOOP\r\nSTLS\r\n")
        self.assertEqual(c.readline(), "+OK")
        self.assertEqual(c.readline(), R_STLS_OK)
        self.assertEqual(c.buf, b"")
        c.sock = insecure_context().wrap_socket(c.sock, server_hostname="localhost")
        self.assertEqual(c.cmd("ECHO ok"), "+OK ok")

    def test_garbage_instead_of_handshake(self):
        c = self.connect()
        self.assertEqual(c.cmd("STLS"), R_STLS_OK)
        c.send(b"this is not TLS\r\n" * 10)
        c.read_until_closed(timeout=20)
        with self.server.connect() as c2:
            self.assertEqual(c2.cmd("NOOP"), "+OK")

    def test_plain_client_on_tls_port(self):
        with socket.create_connection(("127.0.0.1", self.server.tls_port), timeout=10) as s:
            s.sendall(b"NOOP\r\n")
            s.settimeout(20)
            data = b""
            for _ in range(100):
                try:
                    chunk = s.recv(4096)
                except ConnectionResetError:
                    break  # a reset is a fine answer to plaintext on a TLS port
                if not chunk:
                    break
                data += chunk
            self.assertNotIn(b"+OK", data)
        with self.server.connect(tls=True) as c:
            self.assertEqual(c.cmd("NOOP"), "+OK")


class RequireTlsForAuth(ServerTestCase):
    tls = True
    settings = {"testproto": {"require_tls_for_auth": True}}
    users = {"carol": "s3cret pass"}

    def test_plaintext_auth_refused(self):
        c = self.connect()
        self.assertEqual(c.cmd("USER carol"), "+OK send PASS")
        self.assertEqual(c.cmd("PASS s3cret pass"), R_TLS_REQUIRED)
        self.assertEqual(c.cmd("AUTH PLAIN " + b64("\0carol\0s3cret pass")), R_TLS_REQUIRED)
        self.assertEqual(c.cmd("WHOAMI"), R_BAD_STATE)

    def test_auth_after_starttls(self):
        c = self.connect()
        c.starttls()
        self.assertEqual(c.cmd("USER carol"), "+OK send PASS")
        self.assertEqual(c.cmd("PASS s3cret pass"), R_LOGGED_IN)
        self.assertEqual(c.cmd("WHOAMI"), "+OK carol")

    def test_sasl_after_starttls(self):
        c = self.connect()
        c.starttls()
        self.assertEqual(c.cmd("AUTH PLAIN " + b64("\0carol\0s3cret pass")), R_LOGGED_IN)

    def test_auth_on_implicit_tls(self):
        c = self.connect(tls=True)
        self.assertEqual(c.cmd("USER carol"), "+OK send PASS")
        self.assertEqual(c.cmd("PASS s3cret pass"), R_LOGGED_IN)

    def test_user_forgotten_after_starttls(self):
        c = self.connect()
        self.assertEqual(c.cmd("USER carol"), "+OK send PASS")
        c.starttls()
        self.assertEqual(c.cmd("PASS s3cret pass"), "-ERR USER first")


if __name__ == "__main__":
    run_tests()
