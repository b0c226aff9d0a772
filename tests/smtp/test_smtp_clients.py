#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Real SMTP clients against the SMTP module: swaks (STARTTLS, implicit
TLS, AUTH PLAIN and LOGIN, PIPELINING), curl (submission with STARTTLS
required) and Python's smtplib (SMTP_SSL, SMTPUTF8). Each message sent is
read back from the recipient's mailbox."""

import os
import shutil
import smtplib
import unittest
from email.message import EmailMessage

from smtptest import (
    DOMAIN, HOST, IO_TIMEOUT, PASSWORD, SmtpTestCase, body_of, insecure_context, message,
    run_tests, run_tool)

ALICE = "alice@" + DOMAIN
BOB = "bob@" + DOMAIN


def need(tool):
    if shutil.which(tool) is None:
        raise unittest.SkipTest("%s is not installed" % tool)


class Clients(SmtpTestCase):
    tls = True
    users = {"alice": PASSWORD, "bob": PASSWORD}

    def swaks(self, port, *args):
        need("swaks")
        cmd = ["swaks", "--server", "%s:%d" % (HOST, port), "--helo", "swaks.example.org",
               "--timeout", str(IO_TIMEOUT)] + list(args)
        return run_tool(cmd)

    def assertStored(self, user, tag, count=1):
        found = self.server.find(user, tag)
        self.assertEqual(len(found), count, "messages tagged %s for %s" % (tag, user))
        return found

    def test_swaks_submission_starttls_auth_plain(self):
        res = self.swaks(self.server.sub_port, "--tls", "--auth", "PLAIN", "--auth-user", "alice",
                         "--auth-password", PASSWORD, "--from", ALICE, "--to", BOB,
                         "--header", "Subject: swaks-plain")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertIn("<~  235 2.7.0 Authentication successful", res.stdout)
        self.assertStored("bob", "swaks-plain")

    def test_swaks_submission_starttls_auth_login_to_remote(self):
        res = self.swaks(self.server.sub_port, "--tls", "--auth", "LOGIN", "--auth-user", "bob",
                         "--auth-password", PASSWORD, "--from", BOB,
                         "--to", "%s,partner@remote.org" % ALICE, "--header",
                         "Subject: swaks-login")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertStored("alice", "swaks-login")
        self.assertEqual(len(self.server.queue("partner@remote.org")), 1)

    def test_swaks_submission_wrong_password(self):
        res = self.swaks(self.server.sub_port, "--tls", "--auth", "PLAIN", "--auth-user", "alice",
                         "--auth-password", "not the password", "--from", ALICE, "--to", BOB)
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("535 5.7.8", res.stdout)

    def test_swaks_submission_without_tls_is_refused(self):
        res = self.swaks(self.server.sub_port, "--from", ALICE, "--to", BOB)
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("530 5.7.0 Must issue a STARTTLS command first", res.stdout)

    def test_swaks_smtps_implicit_tls(self):
        res = self.swaks(self.server.smtps_port, "--tlsc", "--auth", "PLAIN", "--auth-user",
                         "alice", "--auth-password", PASSWORD, "--from", ALICE, "--to", BOB,
                         "--header", "Subject: swaks-smtps")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertStored("bob", "swaks-smtps")

    def test_swaks_mx_pipelining(self):
        res = self.swaks(self.server.port, "--pipeline", "--from", "far@remote.org",
                         "--to", "%s,%s" % (ALICE, BOB), "--header", "Subject: swaks-mx")
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertIn("<-  250 2.0.0 Message accepted for delivery", res.stdout)
        self.assertStored("alice", "swaks-mx")
        self.assertStored("bob", "swaks-mx")

    def test_swaks_mx_relay_denied(self):
        res = self.swaks(self.server.port, "--from", "far@remote.org", "--to",
                         "other@remote.org")
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("550 5.7.1 Relaying not allowed! Bad sender IP address", res.stdout)

    def test_curl_submission_ssl_required(self):
        need("curl")
        path = os.path.join(self.server.dir, "curl-message")
        with open(path, "wb") as f:
            f.write(message("curl-sub", b"Sent by curl.\r\n"))
        res = run_tool(["curl", "--silent", "--show-error", "--ssl-reqd", "--insecure",
                        "--max-time", str(IO_TIMEOUT),
                        "--url", "smtp://%s:%d" % (HOST, self.server.sub_port),
                        "--user", "alice:" + PASSWORD, "--mail-from", ALICE,
                        "--mail-rcpt", BOB, "--upload-file", path])
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        self.assertEqual(body_of(self.assertStored("bob", "curl-sub")[0]), b"Sent by curl.\r\n")

    def test_smtplib_smtps_and_smtputf8(self):
        msg = EmailMessage()
        msg["From"] = ALICE
        msg["To"] = "bob@" + DOMAIN
        msg["Subject"] = "smtplib-utf8"
        msg.set_content("Grüße aus Köln\n")
        with smtplib.SMTP_SSL(HOST, self.server.smtps_port, context=insecure_context(),
                              timeout=IO_TIMEOUT) as s:
            s.login("alice", PASSWORD)
            refused = s.send_message(msg, from_addr="jörg@bücher.example",
                                     to_addrs=[BOB])
        self.assertEqual(refused, {})
        stored = self.assertStored("bob", "smtplib-utf8")[0]
        self.assertIn("Return-Path: <jörg@bücher.example>".encode(), stored)


if __name__ == "__main__":
    run_tests()
