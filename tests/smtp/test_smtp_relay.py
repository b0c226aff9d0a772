#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Relay policy and intrusion prevention of the SMTP module.

The relay matrix: who may send to whom, on the smtp and submission
services, for anonymous, authenticated, trusted ("noauth" access rule) and
POP-before-SMTP clients, with local and remote senders, local users,
remote addresses, *REMOTE mappings, unknown local names and lists that take
mail from local senders only. Every accepted message is sent and found
where it should be (a mailbox or the outbound queue).

Then the intrusion prevention: unknown recipients, refused relaying and
failed AUTH earn points, and an address that reaches the threshold is
refused at connect (and logged in security.log) until the block expires."""

import os
import poplib
import time

from smtptest import (
    DOMAIN, HOST, IO_TIMEOUT, PASSWORD, R_ACCEPTED, R_AUTH_FAILED, R_AUTH_OK, R_AUTH_REQUIRED,
    R_BLOCKED, R_RELAY_DENIED, SmtpTestCase, message, run_tests, stuffed)

USERS = {"alice": PASSWORD, "bob": PASSWORD}
ALICE = "alice@" + DOMAIN
BOB = "bob@" + DOMAIN

UNKNOWN = "550 5.1.1"
LIST_REFUSED = "550 5.7.1 <staff@%s>: Recipient address rejected" % DOMAIN


def set_up_directory(server):
    server.ctl("mapping", "add", "postmaster", "alice")
    # *REMOTE: these local-domain addresses are sent out to the Internet.
    server.ctl("mapping", "add", "remote-*@" + DOMAIN, "*REMOTE")
    server.ctl("list", "add", "staff")
    server.ctl("list", "members", "staff", "--add", "alice", "--add", "bob")
    server.ctl("list", "set", "staff", "--local-only", "yes")
    server.ctl("list", "add", "allhands")
    server.ctl("list", "members", "allhands", "--add", "bob")


def pop_login(server, user="bob"):
    p = poplib.POP3(HOST, server.pop_port, timeout=IO_TIMEOUT)
    try:
        p.user(user)
        p.pass_(PASSWORD)
        p.quit()
    finally:
        p.close()


class RelayCase:
    """One cell of the matrix: a session on @service (auth: log in as
    alice first), MAIL FROM @sender, RCPT TO @rcpt, and what the server must
    answer: "250" (then the message is sent and checked), or the beginning
    of the refusal, at MAIL (@at_mail) or at RCPT."""

    def __init__(self, name, service, auth, sender, rcpt, expect, at_mail=False, where=None):
        self.name = name
        self.service = service
        self.auth = auth
        self.sender = sender
        self.rcpt = rcpt
        self.expect = expect
        self.at_mail = at_mail
        self.where = where  # ("mailbox", user) or ("queue", address)


def run_case(test, case):
    port = test.server.port if case.service == "smtp" else test.server.sub_port
    c = test.connect(port)
    c.ehlo()
    if case.auth:
        test.assertEqual(c.auth_plain("alice", PASSWORD), R_AUTH_OK)
    reply = c.cmd("MAIL FROM:<%s>" % case.sender)
    if case.at_mail:
        test.assertTrue(reply.startswith(case.expect), "MAIL: %r" % reply)
        return
    test.assertTrue(reply.startswith("250 "), "MAIL: %r" % reply)
    reply = c.cmd("RCPT TO:<%s>" % case.rcpt)
    test.assertTrue(reply.startswith(case.expect), "RCPT: expected %r, got %r" % (case.expect,
                                                                                reply))
    if case.expect != "250":
        test.assertEqual(c.cmd("QUIT")[:3], "221")
        return
    tag = "relay-" + case.name
    test.assertEqual(c.data(stuffed(message(tag))), R_ACCEPTED)
    kind, target = case.where
    if kind == "queue":
        test.assertEqual(len(test.server.queue(target)), 1, "queued for %s" % target)
    else:
        test.assertEqual(len(test.server.find(target, tag)), 1, "in %s's mailbox" % target)


def add_cases(cls, cases):
    for n, case in enumerate(cases, 1):
        def method(self, case=case):
            run_case(self, case)
        method.__doc__ = case.name
        setattr(cls, "test_%02d_%s" % (n, case.name.replace("-", "_")), method)
    return cls


class Untrusted(SmtpTestCase):
    """No noauth rule, POP-before-SMTP off. AUTH is allowed on plaintext and
    submission does not insist on TLS, so the policy itself is what is
    tested."""

    users = USERS
    settings = {"smtp": {"plaintext_auth": "true"},
                "submission": {"plaintext_auth": "true", "require_tls": "false"}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        set_up_directory(cls.server)

    def test_pop_login_does_not_open_relaying_when_off(self):
        pop_login(self.server)
        run_case(self, RelayCase("pop-off", "smtp", False, "bob@" + DOMAIN,
                                 "pop-off@remote.org", R_RELAY_DENIED))


add_cases(Untrusted, [
    RelayCase("anon-remote-sender-to-user", "smtp", False, "x@remote.org", ALICE, "250",
              where=("mailbox", "alice")),
    RelayCase("anon-local-sender-to-user", "smtp", False, BOB, ALICE, "250",
              where=("mailbox", "alice")),
    RelayCase("anon-null-sender-to-user", "smtp", False, "", BOB, "250",
              where=("mailbox", "bob")),
    RelayCase("anon-to-postmaster", "smtp", False, "x@remote.org", "postmaster@" + DOMAIN,
              "250", where=("mailbox", "alice")),
    RelayCase("anon-to-open-list", "smtp", False, "x@remote.org", "allhands@" + DOMAIN, "250",
              where=("mailbox", "bob")),
    RelayCase("anon-remote-sender-to-remote", "smtp", False, "x@remote.org", "far@remote.org",
              R_RELAY_DENIED),
    RelayCase("anon-local-sender-to-remote", "smtp", False, ALICE, "far@remote.org",
              R_RELAY_DENIED),
    RelayCase("anon-to-remote-mapping", "smtp", False, "x@remote.org", "remote-a@" + DOMAIN,
              R_RELAY_DENIED),
    RelayCase("anon-to-unknown-user", "smtp", False, "x@remote.org", "nobody@" + DOMAIN,
              UNKNOWN),
    RelayCase("anon-remote-sender-to-local-only-list", "smtp", False, "x@remote.org",
              "staff@" + DOMAIN, LIST_REFUSED),
    RelayCase("anon-forged-local-sender-to-local-only-list", "smtp", False, BOB,
              "staff@" + DOMAIN, LIST_REFUSED),
    RelayCase("auth-to-remote", "smtp", True, ALICE, "auth-far@remote.org", "250",
              where=("queue", "auth-far@remote.org")),
    RelayCase("auth-remote-sender-to-remote", "smtp", True, "alice@remote.org",
              "auth-far2@remote.org", "250", where=("queue", "auth-far2@remote.org")),
    RelayCase("auth-to-remote-mapping", "smtp", True, ALICE, "remote-b@" + DOMAIN, "250",
              where=("queue", "remote-b@" + DOMAIN)),
    RelayCase("auth-to-unknown-user", "smtp", True, ALICE, "nobody@" + DOMAIN, UNKNOWN),
    RelayCase("auth-to-local-only-list", "smtp", True, ALICE, "staff@" + DOMAIN, "250",
              where=("mailbox", "bob")),
    RelayCase("auth-to-user", "smtp", True, ALICE, BOB, "250", where=("mailbox", "bob")),
    RelayCase("submission-anon-to-user", "submission", False, "x@remote.org", ALICE,
              R_AUTH_REQUIRED, at_mail=True),
    RelayCase("submission-anon-to-remote", "submission", False, ALICE, "far@remote.org",
              R_AUTH_REQUIRED, at_mail=True),
    RelayCase("submission-auth-to-remote", "submission", True, ALICE, "sub-far@remote.org",
              "250", where=("queue", "sub-far@remote.org")),
    RelayCase("submission-auth-to-user", "submission", True, ALICE, BOB, "250",
              where=("mailbox", "bob")),
])


class Trusted(SmtpTestCase):
    """127.0.0.1 matches a noauth access rule: a trusted relay."""

    users = USERS
    settings = {"smtp": {"access": "allow 127.0.0.1 noauth"},
                "submission": {"access": "allow 127.0.0.1 noauth", "require_tls": "false"}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        set_up_directory(cls.server)


add_cases(Trusted, [
    RelayCase("trusted-remote-sender-to-remote", "smtp", False, "x@remote.org",
              "t-far@remote.org", "250", where=("queue", "t-far@remote.org")),
    RelayCase("trusted-to-remote-mapping", "smtp", False, "x@remote.org", "remote-c@" + DOMAIN,
              "250", where=("queue", "remote-c@" + DOMAIN)),
    RelayCase("trusted-local-sender-to-local-only-list", "smtp", False, BOB, "staff@" + DOMAIN,
              "250", where=("mailbox", "alice")),
    RelayCase("trusted-remote-sender-to-local-only-list", "smtp", False, "x@remote.org",
              "staff@" + DOMAIN, LIST_REFUSED),
    RelayCase("trusted-to-unknown-user", "smtp", False, "x@remote.org", "nobody@" + DOMAIN,
              UNKNOWN),
    RelayCase("trusted-submission-without-auth", "submission", False, ALICE,
              "t-sub@remote.org", "250", where=("queue", "t-sub@remote.org")),
])


class PopBeforeSmtp(SmtpTestCase):
    users = USERS
    settings = {"smtp": {"pop_before_smtp": "10m"}, "submission": {"require_tls": "false"}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        set_up_directory(cls.server)

    def test_relaying_after_a_pop3_login(self):
        # Nobody has logged in from 127.0.0.1 yet.
        run_case(self, RelayCase("pop-before", "smtp", False, "x@remote.org",
                                 "pop-far0@remote.org", R_RELAY_DENIED))
        pop_login(self.server)
        run_case(self, RelayCase("pop-after", "smtp", False, "x@remote.org",
                                 "pop-far1@remote.org", "250",
                                 where=("queue", "pop-far1@remote.org")))
        run_case(self, RelayCase("pop-after-mapping", "smtp", False, BOB, "remote-d@" + DOMAIN,
                                 "250", where=("queue", "remote-d@" + DOMAIN)))
        # Like a trusted client, it writes as a local user.
        run_case(self, RelayCase("pop-after-list", "smtp", False, BOB, "staff@" + DOMAIN,
                                 "250", where=("mailbox", "alice")))
        # The submission service takes it in place of AUTH (VPOP3: either).
        run_case(self, RelayCase("pop-after-submission", "submission", False, BOB,
                                 "pop-far2@remote.org", "250",
                                 where=("queue", "pop-far2@remote.org")))


# ---- intrusion prevention ------------------------------------------------

def ips_settings(**extra):
    smtp = {"ips_enabled": "true", "ips_threshold": "200", "ips_bad_rcpt_score": "50",
            "ips_relay_score": "100", "ips_bad_auth_score": "50", "plaintext_auth": "true"}
    smtp.update(extra)
    # The host's own login lockout stays out of the way.
    return {"smtp": smtp, "auth": {"lockout_attempts": "99"}}


def merge_settings(a, b):
    for group, keys in b.items():
        a.setdefault(group, {}).update(keys)
    return a


class IpsTestCase(SmtpTestCase):
    users = USERS

    def security_log(self):
        path = os.path.join(self.server.data_dir, "logs", "security.log")
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def assertBlocked(self):
        for port in (self.server.port, self.server.sub_port):
            c = self.connect(port)
            self.assertEqual(c.greeting, R_BLOCKED)
            self.assertEqual(c.read_until_closed(), [])
        self.assertIn("SMTP_IPS_BLOCK", self.security_log())
        self.assertIn("blocking 127.0.0.1", self.security_log())
        # Only the SMTP services: POP3 still answers this address.
        pop_login(self.server)


class IpsUnknownRecipients(IpsTestCase):
    settings = ips_settings()

    def test_unknown_recipients_block(self):
        c = self.connect()
        c.ehlo()
        self.assertEqual(c.cmd("MAIL FROM:<x@remote.org>")[:3], "250")
        for i in range(3):
            self.assertTrue(c.cmd("RCPT TO:<nobody%d@%s>" % (i, DOMAIN)).startswith(UNKNOWN))
        self.assertEqual(c.cmd("RCPT TO:<nobody9@%s>" % DOMAIN), R_BLOCKED)
        self.assertEqual(c.read_until_closed(), [])
        self.assertBlocked()


class IpsRelay(IpsTestCase):
    settings = ips_settings()

    def test_refused_relaying_blocks(self):
        c = self.connect()
        c.ehlo()
        self.assertEqual(c.cmd("MAIL FROM:<x@remote.org>")[:3], "250")
        self.assertEqual(c.cmd("RCPT TO:<a@remote.org>"), R_RELAY_DENIED)
        # Pipelined: the block ends the session at once.
        c.send("RCPT TO:<b@remote.org>\r\nRCPT TO:<c@remote.org>\r\nNOOP\r\n")
        self.assertEqual(c.read_until_closed(), [R_BLOCKED])
        self.assertBlocked()


class IpsAuth(IpsTestCase):
    settings = ips_settings(ips_threshold="150")

    def test_failed_auth_blocks_and_authenticated_mistakes_do_not_count(self):
        c = self.connect()
        c.ehlo()
        self.assertEqual(c.auth_plain("alice", PASSWORD), R_AUTH_OK)
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % ALICE)[:3], "250")
        for i in range(6):
            self.assertTrue(c.cmd("RCPT TO:<typo%d@%s>" % (i, DOMAIN)).startswith(UNKNOWN))
        c.cmd("QUIT")
        c = self.connect()
        c.ehlo()
        self.assertEqual(c.auth_plain("alice", "wrong"), R_AUTH_FAILED)
        self.assertEqual(c.auth_plain("bob", "wrong"), R_AUTH_FAILED)
        self.assertEqual(c.auth_plain("alice", "wrong again"), R_BLOCKED)
        self.assertEqual(c.read_until_closed(), [])
        self.assertBlocked()


class IpsExpiry(IpsTestCase):
    settings = ips_settings(ips_block_time="2s", ips_threshold="100")

    def test_block_expires(self):
        c = self.connect()
        c.ehlo()
        c.cmd("MAIL FROM:<x@remote.org>")
        self.assertEqual(c.cmd("RCPT TO:<far@remote.org>"), R_BLOCKED)
        # Bounded wait for the 2 s block to pass.
        greeting = None
        for _ in range(60):
            c = self.connect()
            greeting = c.greeting
            c.close()
            if greeting.startswith("220 "):
                break
            time.sleep(0.5)
        self.assertTrue(greeting.startswith("220 "), greeting)


class IpsExempt(IpsTestCase):
    """ips_never_block and noauth addresses are never scored."""

    settings = ips_settings(ips_never_block="10.0.0.0/8;127.0.0.1", ips_threshold="50")

    def test_never_blocked(self):
        c = self.connect()
        c.ehlo()
        c.cmd("MAIL FROM:<x@remote.org>")
        for i in range(5):
            self.assertTrue(c.cmd("RCPT TO:<nobody%d@%s>" % (i, DOMAIN)).startswith(UNKNOWN))
            self.assertEqual(c.cmd("RCPT TO:<far%d@remote.org>" % i), R_RELAY_DENIED)
        self.assertEqual(c.cmd("NOOP"), "250 2.0.0 Ok")
        self.assertEqual(self.connect().greeting[:4], "220 ")
        self.assertNotIn("SMTP_IPS_BLOCK", self.security_log())


class IpsTrustedClient(IpsTestCase):
    settings = merge_settings(ips_settings(ips_threshold="50"),
                              {"smtp": {"access": "allow 127.0.0.1 noauth"}})

    def test_trusted_client_not_scored(self):
        c = self.connect()
        c.ehlo()
        c.cmd("MAIL FROM:<x@remote.org>")
        for i in range(5):
            self.assertTrue(c.cmd("RCPT TO:<nobody%d@%s>" % (i, DOMAIN)).startswith(UNKNOWN))
        self.assertEqual(c.cmd("NOOP"), "250 2.0.0 Ok")
        self.assertNotIn("SMTP_IPS_BLOCK", self.security_log())


if __name__ == "__main__":
    run_tests()
