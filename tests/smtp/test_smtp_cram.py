#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""AUTH CRAM-MD5 (RFC 2195, RFC 4954) in the SMTP module against a real
postroomd: offered per service with cram_md5=true and only while [auth]
store_secrets=true, over plaintext and TLS by the same rules as PLAIN and
LOGIN, with smtplib and on the wire, the same reply for every failure, and
the login audit. Runs on SQLite, or on PostgreSQL with --store postgresql."""

import base64
import hashlib
import hmac
import json
import os
import smtplib

import smtptest
from smtptest import (
    HOST, IO_TIMEOUT, PASSWORD, R_AUTH_FAILED, R_AUTH_OK, R_STARTTLS_FIRST, SmtpTestCase, b64,
    insecure_context, run_tests)

R_UNKNOWN_MECH = "504 5.5.4 Unrecognized authentication type"
R_CANNOT_DECODE = "501 5.5.2 Cannot decode the SASL response"
R_CANCELLED = "501 5.0.0 Authentication cancelled"

SECRETS_ON = {"store_secrets": "true", "lockout_attempts": "99"}


def cram_answer(user, challenge_line, password):
    """The base64 answer to a "334 <challenge>" line."""
    challenge = base64.b64decode(challenge_line[4:])
    digest = hmac.new(password.encode(), challenge, hashlib.md5).hexdigest()
    return b64("%s %s" % (user, digest))


def audit(server, user):
    res = server.ctl("--json", "loginaudit", "--limit", "10000")
    rows = json.loads(res.stdout)["entries"]
    return [r for r in reversed(rows) if r["username"] == user]


def auth_caps(caps):
    return [cap for cap in caps if cap.startswith("AUTH")]


class CramOn(SmtpTestCase):
    """cram_md5 on the smtp service (with plaintext_auth) and on
    submission; smtps keeps the default (off). carol has no secret."""

    users = {"alice": PASSWORD, "bob": PASSWORD}
    tls = True
    settings = {
        "auth": SECRETS_ON,
        "smtp": {"cram_md5": "true", "plaintext_auth": "true"},
        "submission": {"cram_md5": "true"},
    }

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        pw = os.path.join(cls.server.dir, "pw-carol")
        with open(pw, "w") as f:
            f.write(PASSWORD)
        cls.server.ctl("user", "add", "carol", "--password-file", pw, "--no-secret")

    def test_ehlo(self):
        c = self.connect()
        self.assertEqual(auth_caps(c.ehlo()), ["AUTH PLAIN LOGIN CRAM-MD5"])
        # submission: nothing before STARTTLS, CRAM-MD5 after.
        s = self.submission()
        self.assertEqual(auth_caps(s.ehlo()), [])
        self.assertEqual(s.cmd("AUTH CRAM-MD5"), R_STARTTLS_FIRST)
        s.starttls()
        self.assertEqual(auth_caps(s.ehlo()), ["AUTH PLAIN LOGIN CRAM-MD5"])
        # smtps: not enabled there.
        t = self.smtps()
        self.assertEqual(auth_caps(t.ehlo()), ["AUTH PLAIN LOGIN"])
        self.assertEqual(t.cmd("AUTH CRAM-MD5"), R_UNKNOWN_MECH)

    def test_smtplib_login_prefers_cram_md5(self):
        """smtplib picks CRAM-MD5 first when it is offered."""
        with smtplib.SMTP(HOST, self.server.port, timeout=IO_TIMEOUT) as s:
            code, _ = s.login("alice", PASSWORD)
            self.assertEqual(code, 235)
        rows = audit(self.server, "alice")
        self.assertEqual((rows[-1]["mechanism"], rows[-1]["success"], rows[-1]["service"]),
                         ("CRAM-MD5", True, "smtp"))

    def test_smtplib_auth_cram_md5_over_starttls(self):
        with smtplib.SMTP(HOST, self.server.sub_port, timeout=IO_TIMEOUT) as s:
            s.starttls(context=insecure_context())
            s.ehlo()
            s.user, s.password = "bob", PASSWORD
            code, _ = s.auth("CRAM-MD5", s.auth_cram_md5)
            self.assertEqual(code, 235)
            s.sendmail("bob@%s" % smtptest.DOMAIN, ["alice@%s" % smtptest.DOMAIN],
                       smtptest.message("cram-1"))
        self.assertTrue(self.server.find("alice", "cram-1"))
        rows = audit(self.server, "bob")
        self.assertEqual((rows[-1]["mechanism"], rows[-1]["reason"], rows[-1]["service"]),
                         ("CRAM-MD5", "ok", "submission"))

    def test_smtplib_wrong_password(self):
        with smtplib.SMTP(HOST, self.server.port, timeout=IO_TIMEOUT) as s:
            s.ehlo()
            s.user, s.password = "bob", "wrong"
            with self.assertRaises(smtplib.SMTPAuthenticationError) as cm:
                s.auth("CRAM-MD5", s.auth_cram_md5)
            self.assertEqual(cm.exception.smtp_code, 535)

    def test_same_reply_for_every_failure(self):
        replies = []
        for user, password in (("bob", "wrong"), ("nobody-cram", PASSWORD), ("carol", PASSWORD)):
            c = self.connect()
            c.ehlo()
            challenge = c.cmd("AUTH CRAM-MD5")
            self.assertRegex(challenge, r"^334 [A-Za-z0-9+/=]+$")
            self.assertRegex(base64.b64decode(challenge[4:]).decode(),
                             r"^<[0-9]+\.[0-9]+@mx\.example\.com>$")
            replies.append(c.cmd(cram_answer(user, challenge, password)))
        self.assertEqual(replies, [R_AUTH_FAILED] * 3)
        for user, reason in (("bob", "bad-password"), ("nobody-cram", "unknown-user"),
                             ("carol", "no-secret")):
            row = audit(self.server, user)[-1]
            self.assertEqual((row["mechanism"], row["success"], row["reason"]),
                             ("CRAM-MD5", False, reason), user)
        # carol still has PLAIN.
        c = self.connect()
        c.ehlo()
        self.assertEqual(c.auth_plain("carol", PASSWORD), R_AUTH_OK)

    def test_protocol_errors(self):
        c = self.connect()
        c.ehlo()
        # The server speaks first: an initial response is an error.
        self.assertEqual(c.cmd("AUTH CRAM-MD5 " + b64("alice 0123")), R_CANNOT_DECODE)
        c.cmd("AUTH CRAM-MD5")
        self.assertEqual(c.cmd("*"), R_CANCELLED)
        c.cmd("AUTH CRAM-MD5")
        self.assertEqual(c.cmd(b64("alice nothex")), R_CANNOT_DECODE)
        # A replayed answer to an old challenge fails.
        old = c.cmd("AUTH CRAM-MD5")
        self.assertEqual(c.cmd("*"), R_CANCELLED)
        c.cmd("AUTH CRAM-MD5")
        self.assertEqual(c.cmd(cram_answer("alice", old, PASSWORD)), R_AUTH_FAILED)
        challenge = c.cmd("auth cram-md5")
        self.assertEqual(c.cmd(cram_answer("alice", challenge, PASSWORD)), R_AUTH_OK)


class CramOff(SmtpTestCase):
    """The default: no CRAM-MD5 anywhere, although secrets are stored."""

    users = {"dave": PASSWORD}
    settings = {"auth": SECRETS_ON, "smtp": {"plaintext_auth": "true"}}

    def test_off(self):
        c = self.connect()
        self.assertEqual(auth_caps(c.ehlo()), ["AUTH PLAIN LOGIN"])
        self.assertEqual(c.cmd("AUTH CRAM-MD5"), R_UNKNOWN_MECH)
        self.assertEqual(audit(self.server, "dave"), [])


class SecretsOff(SmtpTestCase):
    """cram_md5=true without store_secrets: not offered, not accepted."""

    users = {"erin": PASSWORD}
    settings = {"smtp": {"plaintext_auth": "true", "cram_md5": "true"}}

    def test_secrets_off(self):
        c = self.connect()
        self.assertEqual(auth_caps(c.ehlo()), ["AUTH PLAIN LOGIN"])
        self.assertEqual(c.cmd("AUTH CRAM-MD5"), R_UNKNOWN_MECH)
        with smtplib.SMTP(HOST, self.server.port, timeout=IO_TIMEOUT) as s:
            code, _ = s.login("erin", PASSWORD)
            self.assertEqual(code, 235)
        self.assertEqual(audit(self.server, "erin")[-1]["mechanism"], "PLAIN")
        self.assertIn("[smtp] cram_md5 has no effect while [auth] store_secrets=false",
                      self.server.log_text())


class RequireTlsForAuth(SmtpTestCase):
    """require_tls_for_auth refuses CRAM-MD5 on plaintext like any AUTH,
    even where plaintext_auth would offer it."""

    users = {"frank": PASSWORD}
    tls = True
    settings = {"auth": SECRETS_ON,
                "smtp": {"plaintext_auth": "true", "cram_md5": "true",
                         "require_tls_for_auth": "true"}}

    def test_plaintext_refused(self):
        c = self.connect()
        self.assertEqual(auth_caps(c.ehlo()), [])
        self.assertEqual(c.cmd("AUTH CRAM-MD5"), R_STARTTLS_FIRST)
        c.starttls()
        self.assertEqual(auth_caps(c.ehlo()), ["AUTH PLAIN LOGIN CRAM-MD5"])
        challenge = c.cmd("AUTH CRAM-MD5")
        self.assertEqual(c.cmd(cram_answer("frank", challenge, PASSWORD)), R_AUTH_OK)


if __name__ == "__main__":
    run_tests()
