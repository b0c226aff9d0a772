#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""APOP (RFC 1939 section 7) and SASL CRAM-MD5 (RFC 2195, RFC 5034) in the
POP3 module against a real postroomd, with the secrets postroomctl stores
only while [auth] store_secrets=true: poplib's apop(), the wire by hand,
the login audit, lockout, require_tls_for_auth, and postroomctl storing,
showing and dropping secrets. Runs on SQLite, or on PostgreSQL with
--store postgresql."""

import base64
import hashlib
import hmac
import json
import os
import poplib
import re
import signal
import subprocess
import time

import pop3test
from pop3test import (
    HOST, IO_TIMEOUT, R_AUTH_FAILED, R_GREETING, R_TLS_REQUIRED, R_TOO_MANY_FAILED,
    Pop3TestCase, b64, close_quietly, insecure_context, run_tests)

PASSWORD = "tanstaaf horse"
R_UNKNOWN = "-ERR Unknown command"
R_UNKNOWN_MECH = "-ERR Unrecognized authentication mechanism"
R_BAD_SASL = "-ERR Invalid SASL response"
GREETING_RE = re.compile(r"^\+OK Postroom POP3 server ready (<([0-9]+)\.([0-9]+)@([^>]+)>)$")

SECRETS_ON = {"store_secrets": "true", "lockout_attempts": "99"}


def apop_digest(timestamp, password):
    return hashlib.md5((timestamp + password).encode()).hexdigest()


def cram_response(user, challenge_b64, password):
    """The client's base64 answer to a CRAM-MD5 challenge."""
    challenge = base64.b64decode(challenge_b64)
    digest = hmac.new(password.encode(), challenge, hashlib.md5).hexdigest()
    return b64("%s %s" % (user, digest))


def audit(server, user):
    """The login audit rows of @user, oldest first, through postroomctl."""
    res = server.ctl("--json", "loginaudit", "--limit", "10000")
    rows = json.loads(res.stdout)["entries"]
    return [r for r in reversed(rows) if r["username"] == user]


class ApopOn(Pop3TestCase):
    """apop and cram_md5 on, secrets stored: alice and bob have secrets,
    carol was added with --no-secret."""

    users = {"alice": PASSWORD, "bob": PASSWORD}
    settings = {"auth": SECRETS_ON, "pop3": {"apop": "true", "cram_md5": "true"}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        pw = os.path.join(cls.server.dir, "pw-carol")
        with open(pw, "w") as f:
            f.write(PASSWORD)
        r = cls.server.ctl("user", "add", "carol", "--password-file", pw, "--no-secret")
        assert "Stored" not in r.stdout, r.stdout

    def greeting_timestamp(self, c):
        m = GREETING_RE.match(c.greeting)
        self.assertIsNotNone(m, c.greeting)
        return m.group(1)

    def test_greeting_timestamp(self):
        seen = set()
        for _ in range(5):
            c = self.connect()
            m = GREETING_RE.match(c.greeting)
            self.assertIsNotNone(m, c.greeting)
            self.assertEqual(int(m.group(2)), self.server.proc.pid)
            seen.add(m.group(1))
            c.cmd("QUIT")
        self.assertEqual(len(seen), 5, "a new timestamp for every connection")

    def test_poplib_apop(self):
        self.server.deliver("alice", pop3test.make_message("apop-1", b"by APOP\n"))
        p = poplib.POP3(HOST, self.server.port, timeout=IO_TIMEOUT)
        self.addCleanup(close_quietly, p)
        self.assertTrue(p.apop("alice", PASSWORD).startswith(b"+OK Mailbox locked and ready"))
        count, _ = p.stat()
        self.assertGreaterEqual(count, 1)
        _, lines, _ = p.retr(count)
        self.assertIn(b"by APOP", lines)
        p.quit()
        rows = [r for r in audit(self.server, "alice") if r["mechanism"] == "APOP"]
        self.assertTrue(rows)
        self.assertEqual((rows[-1]["success"], rows[-1]["reason"], rows[-1]["service"]),
                         (True, "ok", "pop3"))

    def test_same_reply_for_every_failure(self):
        """Wrong digest, unknown user, a user without a secret: one answer,
        and the audit tells them apart."""
        replies = []
        cases = [("bob", "wrong password"), ("nobody-apop", PASSWORD), ("carol", PASSWORD)]
        for user, password in cases:
            c = self.connect()
            ts = self.greeting_timestamp(c)
            replies.append(c.cmd("APOP %s %s" % (user, apop_digest(ts, password))))
            c.cmd("QUIT")
        self.assertEqual(replies, [R_AUTH_FAILED] * 3)
        # The right digest for another connection's timestamp fails too.
        old = self.connect()
        old_ts = self.greeting_timestamp(old)
        c = self.connect()
        self.assertEqual(c.cmd("APOP bob %s" % apop_digest(old_ts, PASSWORD)), R_AUTH_FAILED)
        # Malformed digests are failures like the others.
        self.assertEqual(c.cmd("APOP bob xyz"), R_AUTH_FAILED)
        self.assertEqual(c.cmd("APOP bob"), "-ERR Syntax error")
        for user, reason in (("bob", "bad-password"), ("nobody-apop", "unknown-user"),
                             ("carol", "no-secret")):
            rows = [r for r in audit(self.server, user) if r["mechanism"] == "APOP"]
            self.assertTrue(rows, user)
            self.assertEqual((rows[-1]["success"], rows[-1]["reason"]), (False, reason), user)
        # carol still logs in with her password.
        p = self.pop("carol", PASSWORD)
        p.quit()

    def test_max_failed_logins(self):
        c = self.connect()
        ts = self.greeting_timestamp(c)
        bad = apop_digest(ts, "nope")
        self.assertEqual(c.cmd("APOP bob " + bad), R_AUTH_FAILED)
        self.assertEqual(c.cmd("APOP bob " + bad), R_AUTH_FAILED)
        self.assertEqual(c.cmd("APOP bob " + bad), R_TOO_MANY_FAILED)
        self.assertEqual(c.read_until_closed(), [])

    def test_apop_then_transaction_state(self):
        c = self.connect()
        ts = self.greeting_timestamp(c)
        self.assertTrue(c.cmd("APOP BOB " + apop_digest(ts, PASSWORD).upper())
                        .startswith("+OK Mailbox locked"))
        self.assertEqual(c.cmd("APOP bob " + apop_digest(ts, PASSWORD)),
                         "-ERR Command not valid in this state")
        self.assertTrue(c.cmd("STAT").startswith("+OK "))
        c.cmd("QUIT")

    def test_capa_and_auth_listing(self):
        c = self.connect()
        status, caps = c.multiline("CAPA")
        self.assertIn("SASL PLAIN LOGIN CRAM-MD5", caps)
        status, mechs = c.multiline("AUTH")
        self.assertEqual(mechs, ["PLAIN", "LOGIN", "CRAM-MD5"])

    def test_auth_cram_md5(self):
        c = self.connect()
        challenge = c.cmd("AUTH CRAM-MD5")
        self.assertTrue(challenge.startswith("+ "), challenge)
        decoded = base64.b64decode(challenge[2:]).decode()
        self.assertRegex(decoded, r"^<[0-9]+\.[0-9]+@[^>]+>$")
        self.assertTrue(c.cmd(cram_response("alice", challenge[2:], PASSWORD))
                        .startswith("+OK Mailbox locked"))
        c.cmd("QUIT")
        rows = [r for r in audit(self.server, "alice") if r["mechanism"] == "CRAM-MD5"]
        self.assertEqual((rows[-1]["success"], rows[-1]["reason"]), (True, "ok"))

    def test_auth_cram_md5_failures(self):
        c = self.connect()
        replies = []
        for user, password in (("bob", "wrong"), ("nobody-cram", PASSWORD)):
            challenge = c.cmd("AUTH CRAM-MD5")
            replies.append(c.cmd(cram_response(user, challenge[2:], password)))
        c2 = self.connect()
        challenge = c2.cmd("AUTH CRAM-MD5")
        replies.append(c2.cmd(cram_response("carol", challenge[2:], PASSWORD)))
        self.assertEqual(replies, [R_AUTH_FAILED] * 3)
        # The server speaks first: an initial response is refused.
        self.assertEqual(c2.cmd("AUTH CRAM-MD5 " + b64("carol 0123")), R_BAD_SASL)
        challenge = c2.cmd("AUTH CRAM-MD5")
        self.assertEqual(c2.cmd("*"), "-ERR Authentication cancelled")
        self.assertEqual(audit(self.server, "carol")[-1]["reason"], "no-secret")

    def test_secret_never_shown(self):
        for args in (("--json", "user", "list"), ("--json", "user", "show", "alice"),
                     ("user", "show", "alice"), ("--json", "loginaudit")):
            out = self.server.ctl(*args).stdout
            self.assertNotIn(PASSWORD, out)
            self.assertNotIn(b64(PASSWORD), out)
        shown = json.loads(self.server.ctl("--json", "user", "show", "alice").stdout)
        self.assertIs(shown["secret_stored"], True)
        shown = json.loads(self.server.ctl("--json", "user", "show", "carol").stdout)
        self.assertIs(shown["secret_stored"], False)
        self.assertNotIn(PASSWORD, self.server.log_text())


class CtlSecrets(Pop3TestCase):
    """postroomctl stores, replaces and drops secrets; APOP follows."""

    users = {"dave": PASSWORD, "erin": PASSWORD}
    settings = {"auth": SECRETS_ON, "pop3": {"apop": "true"}}

    def apop(self, user, password):
        c = self.connect()
        ts = GREETING_RE.match(c.greeting).group(1)
        reply = c.cmd("APOP %s %s" % (user, apop_digest(ts, password)))
        c.cmd("QUIT")
        return reply

    def passwd(self, user, password, *extra, config=None):
        pw = os.path.join(self.server.dir, "pw-new")
        with open(pw, "w") as f:
            f.write(password)
        args = ["user", "passwd", user, "--password-file", pw] + list(extra)
        if config is not None:
            cmd = [self.server.paths.postroomctl, "--config", config] + args
            res = subprocess.run(cmd, capture_output=True, text=True,
                                          timeout=pop3test.TOOL_TIMEOUT, env=self.server.env)
            self.assertEqual(res.returncode, 0, res.stderr)
            return res
        return self.server.ctl(*args)

    def secret_stored(self, user):
        return json.loads(self.server.ctl("--json", "user", "show", user).stdout)["secret_stored"]

    def config_without_secrets(self):
        groups = json.loads(json.dumps(self.server.groups))
        groups["auth"]["store_secrets"] = "false"
        path = os.path.join(self.server.dir, "no-secrets.conf")
        pop3test.postroomtest.write_keyfile(path, groups)
        return path

    def test_passwd_replaces_secret(self):
        self.assertTrue(self.apop("dave", PASSWORD).startswith("+OK"))
        r = self.passwd("dave", "new password 1")
        self.assertIn("Stored a readable copy", r.stdout)
        self.assertEqual(self.apop("dave", PASSWORD), R_AUTH_FAILED)
        self.assertTrue(self.apop("dave", "new password 1").startswith("+OK"))
        # --no-secret: the new password, and no secret at all.
        r = self.passwd("dave", "new password 2", "--no-secret")
        self.assertIn("Deleted the stored APOP/CRAM-MD5 secret of user dave", r.stdout)
        self.assertFalse(self.secret_stored("dave"))
        self.assertEqual(self.apop("dave", "new password 2"), R_AUTH_FAILED)
        self.assertEqual(audit(self.server, "dave")[-1]["reason"], "no-secret")
        p = self.pop("dave", "new password 2")
        p.quit()
        # With store_secrets=false a new password never comes with a secret.
        self.passwd("dave", "new password 3")
        self.assertTrue(self.secret_stored("dave"))
        r = self.passwd("dave", "new password 4", config=self.config_without_secrets())
        self.assertIn("Deleted the stored APOP/CRAM-MD5 secret", r.stdout)
        self.assertFalse(self.secret_stored("dave"))
        self.assertEqual(self.apop("dave", "new password 4"), R_AUTH_FAILED)
        self.assertEqual(self.apop("dave", "new password 3"), R_AUTH_FAILED)

    def test_drop_secret(self):
        self.assertTrue(self.secret_stored("erin"))
        r = self.server.ctl("user", "drop-secret", "ERIN")
        self.assertIn("Deleted the stored APOP/CRAM-MD5 secret of user erin", r.stdout)
        self.assertIn("store_secrets is still true", r.stderr)
        self.assertFalse(self.secret_stored("erin"))
        self.assertEqual(self.apop("erin", PASSWORD), R_AUTH_FAILED)
        r = self.server.ctl("user", "drop-secret", "erin")
        self.assertIn("has no stored", r.stdout)
        self.assertEqual(self.server.ctl("user", "drop-secret", "nobody", check=False).returncode,
                         67)
        self.assertEqual(self.server.ctl("user", "drop-secret", check=False).returncode, 64)
        self.assertEqual(
            self.server.ctl("user", "drop-secret", "erin", "--all", check=False).returncode, 64)
        self.passwd("erin", PASSWORD)
        self.passwd("dave", PASSWORD)
        r = self.server.ctl("user", "drop-secret", "--all")
        self.assertIn("Deleted 2 stored APOP/CRAM-MD5 secrets", r.stdout)
        users = json.loads(self.server.ctl("--json", "user", "list").stdout)
        self.assertEqual([u["secret_stored"] for u in users], [False] * len(users))
        self.assertEqual(self.apop("erin", PASSWORD), R_AUTH_FAILED)
        # As found: both with their secrets.
        self.passwd("erin", PASSWORD)
        self.passwd("dave", PASSWORD)


class ApopOff(Pop3TestCase):
    """The default: no timestamp, APOP is an unknown command, no CRAM-MD5,
    even though the users have secrets (store_secrets=true)."""

    users = {"frank": PASSWORD}
    settings = {"auth": SECRETS_ON}

    def test_off(self):
        c = self.connect()
        self.assertEqual(c.greeting, R_GREETING)
        self.assertEqual(c.cmd("APOP frank " + apop_digest("<1.2@x>", PASSWORD)), R_UNKNOWN)
        self.assertEqual(c.cmd("APOP"), R_UNKNOWN)
        status, caps = c.multiline("CAPA")
        self.assertIn("SASL PLAIN LOGIN", caps)
        self.assertEqual(c.cmd("AUTH CRAM-MD5"), R_UNKNOWN_MECH)
        p = poplib.POP3(HOST, self.server.port, timeout=IO_TIMEOUT)
        self.addCleanup(close_quietly, p)
        with self.assertRaises(poplib.error_proto):
            p.apop("frank", PASSWORD)
        self.assertEqual([r for r in audit(self.server, "frank")], [])


class SecretsOff(Pop3TestCase):
    """apop and cram_md5 on, but store_secrets=false: nothing is offered,
    and postroomctl stores no secret."""

    users = {"grace": PASSWORD}
    settings = {"pop3": {"apop": "true", "cram_md5": "true"}}

    def test_secrets_off(self):
        c = self.connect()
        self.assertEqual(c.greeting, R_GREETING)
        self.assertEqual(c.cmd("APOP grace 0123456789abcdef0123456789abcdef"), R_UNKNOWN)
        status, caps = c.multiline("CAPA")
        self.assertIn("SASL PLAIN LOGIN", caps)
        self.assertNotIn("CRAM-MD5", " ".join(caps))
        self.assertEqual(c.cmd("AUTH CRAM-MD5"), R_UNKNOWN_MECH)
        shown = json.loads(self.server.ctl("--json", "user", "show", "grace").stdout)
        self.assertIs(shown["secret_stored"], False)
        self.assertIn("[pop3] apop and cram_md5 have no effect while [auth] store_secrets=false",
                      self.server.log_text())


class Reload(Pop3TestCase):
    """store_secrets is reloadable: switched off, APOP stops at once, also
    for a connection whose greeting had a timestamp."""

    users = {"heidi": PASSWORD}
    settings = {"auth": SECRETS_ON, "pop3": {"apop": "true", "cram_md5": "true"}}

    def test_reload_off(self):
        before = self.connect()
        ts = GREETING_RE.match(before.greeting).group(1)
        groups = self.server.groups
        groups["auth"]["store_secrets"] = "false"
        pop3test.postroomtest.write_keyfile(self.server.config_path, groups)
        self.server.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        for _ in range(400):
            c = self.connect()
            if c.greeting == R_GREETING:
                break
            c.close()
            self.assertLess(time.monotonic(), deadline, "reload not applied")
            time.sleep(0.05)
        self.assertEqual(before.cmd("APOP heidi " + apop_digest(ts, PASSWORD)), R_UNKNOWN)
        self.assertEqual(c.cmd("AUTH CRAM-MD5"), R_UNKNOWN_MECH)


class RequireTls(Pop3TestCase):
    """require_tls_for_auth covers APOP and CRAM-MD5 too: the timestamp of
    the plaintext greeting is used after STLS."""

    users = {"ivan": PASSWORD}
    tls = True
    settings = {"auth": SECRETS_ON,
                "pop3": {"apop": "true", "cram_md5": "true", "require_tls_for_auth": True}}

    def test_apop_after_stls(self):
        c = self.connect()
        ts = GREETING_RE.match(c.greeting).group(1)
        digest = apop_digest(ts, PASSWORD)
        self.assertEqual(c.cmd("APOP ivan " + digest), R_TLS_REQUIRED)
        self.assertEqual(c.cmd("AUTH CRAM-MD5"), R_TLS_REQUIRED)
        status, caps = c.multiline("CAPA")
        self.assertFalse(any(cap.startswith("SASL") for cap in caps))
        c.starttls()
        status, caps = c.multiline("CAPA")
        self.assertIn("SASL PLAIN LOGIN CRAM-MD5", caps)
        self.assertTrue(c.cmd("APOP ivan " + digest).startswith("+OK Mailbox locked"))
        c.cmd("QUIT")
        self.assertEqual([r["reason"] for r in audit(self.server, "ivan")], ["ok"])

    def test_implicit_tls(self):
        p = poplib.POP3_SSL(HOST, self.server.tls_port, timeout=IO_TIMEOUT,
                            context=insecure_context())
        self.addCleanup(close_quietly, p)
        self.assertTrue(p.apop("ivan", PASSWORD).startswith(b"+OK"))
        p.quit()


class Lockout(Pop3TestCase):
    """Failed APOP attempts count towards the address lockout."""

    users = {"judy": PASSWORD}
    settings = {"auth": {"store_secrets": "true", "lockout_attempts": 2},
                "pop3": {"apop": "true", "max_failed_logins": 10}}

    def test_lockout(self):
        c = self.connect()
        ts = GREETING_RE.match(c.greeting).group(1)
        self.assertEqual(c.cmd("APOP judy " + apop_digest(ts, "x")), R_AUTH_FAILED)
        self.assertEqual(c.cmd("APOP nobody " + apop_digest(ts, "x")), R_AUTH_FAILED)
        reply = c.cmd("APOP judy " + apop_digest(ts, PASSWORD))
        self.assertTrue(reply.startswith("-ERR [AUTH] ") and "locked" in reply, reply)
        self.assertEqual(c.read_until_closed(), [])
        self.assertEqual(audit(self.server, "judy")[-1]["reason"], "locked")


if __name__ == "__main__":
    run_tests()
