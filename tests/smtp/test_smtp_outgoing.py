#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""VPOP3's per-user "Max Outgoing Message Size" (postroomctl user set
--max-outgoing-size) in the SMTP module: a SIZE= over the sender's limit is
refused at MAIL, a larger message at the end of DATA or BDAT, and nothing of
it is stored or queued. The sender is the authenticated user, or else the
local user MAIL FROM names (directly or through a mapping); 0 means no limit.
The limit applies to every recipient, local or remote. Runs on SQLite, or on
PostgreSQL with --store postgresql."""

import smtplib

from smtptest import (
    DOMAIN, HOST, IO_TIMEOUT, R_ACCEPTED, R_BAD_SEQUENCE, R_TOO_BIG, SmtpTestCase, message,
    run_tests, stuffed)

USERS = {"alice": "correct horse", "bob": "correct horse", "carol": "correct horse",
         "dave": "correct horse"}
ALICE = "alice@" + DOMAIN
BOB = "bob@" + DOMAIN
LIMIT = 10 * 1024


def too_big(limit):
    return "552 5.2.3 Message too large: this sender may send at most %d bytes" % limit


def sized(tag, size):
    """A message of about @size bytes (never less)."""
    line = b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstu\r\n"
    return message(tag, line * (size // len(line) + 1))


class Outgoing(SmtpTestCase):
    """alice may send 10 KiB; bob and carol (explicitly 0) have no limit."""

    users = USERS
    # AUTH on the MX port without TLS keeps the raw client simple.
    settings = {"smtp": {"plaintext_auth": "true", "max_message_size": "1M"}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server.ctl("user", "set", "alice", "--max-outgoing-size", "10K")
        cls.server.ctl("user", "set", "carol", "--max-outgoing-size", "0")
        cls.server.ctl("mapping", "add", "al.ice", "alice")

    def login(self, user):
        c = self.connect()
        c.ehlo()
        self.assertReply(c.auth_plain(user, USERS[user]), 235)
        return c

    def assertNothingStored(self, tag, remote=None):
        for user in USERS:
            self.assertEqual(self.server.find(user, tag), [], "%s got %s" % (user, tag))
        if remote is not None:
            self.assertEqual(self.server.queue(remote), [])

    def test_size_parameter_over_the_limit(self):
        c = self.login("alice")
        self.assertEqual(c.cmd("MAIL FROM:<%s> SIZE=%d" % (ALICE, LIMIT + 1)), too_big(LIMIT))
        # Refused MAIL: no transaction.
        self.assertEqual(c.cmd("RCPT TO:<%s>" % BOB), R_BAD_SEQUENCE)
        # Whatever address the authenticated user writes as.
        self.assertEqual(c.cmd("MAIL FROM:<other@remote.org> SIZE=50000"), too_big(LIMIT))
        self.assertReply(c.cmd("MAIL FROM:<%s> SIZE=%d" % (ALICE, LIMIT)), 250)
        self.assertReply(c.cmd("RCPT TO:<%s>" % BOB), 250)
        self.assertEqual(c.data(stuffed(message("out-size-ok"))), R_ACCEPTED)
        self.assertEqual(len(self.server.find("bob", "out-size-ok")), 1)

    def test_end_of_data_over_the_limit(self):
        c = self.login("alice")
        remote = "friend@remote.org"
        self.assertReply(c.cmd("MAIL FROM:<%s>" % ALICE), 250)
        self.assertReply(c.cmd("RCPT TO:<%s>" % BOB), 250)
        self.assertReply(c.cmd("RCPT TO:<%s>" % remote), 250)
        self.assertEqual(c.data(stuffed(sized("out-data-big", LIMIT + 100))), too_big(LIMIT))
        self.assertEqual(c.cmd("RCPT TO:<%s>" % BOB), R_BAD_SEQUENCE)
        self.assertNothingStored("out-data-big", remote)
        # The session goes on; a message within the limit passes.
        replies = c.transaction(ALICE, [BOB], stuffed(sized("out-data-fits", LIMIT - 500)))
        self.assertEqual(replies[-1], R_ACCEPTED)
        self.assertEqual(len(self.server.find("bob", "out-data-fits")), 1)

    def test_bdat_over_the_limit(self):
        c = self.login("alice")
        big = sized("out-bdat-big", 3 * LIMIT)
        self.assertReply(c.cmd("MAIL FROM:<%s>" % ALICE), 250)
        self.assertReply(c.cmd("RCPT TO:<%s>" % BOB), 250)
        c.send(b"BDAT 8000\r\n" + big[:8000])
        self.assertEqual(c.reply(), "250 2.0.0 8000 octets received")
        c.send(b"BDAT 8000\r\n" + big[8000:16000])
        self.assertEqual(c.reply(), too_big(LIMIT))
        # The transaction is over; its last chunk is read and refused.
        rest = big[16000:]
        c.send(b"BDAT %d LAST\r\n" % len(rest) + rest)
        self.assertEqual(c.reply(), R_BAD_SEQUENCE)
        self.assertNothingStored("out-bdat-big")
        small = message("out-bdat-fits")
        self.assertReply(c.cmd("MAIL FROM:<%s>" % ALICE), 250)
        self.assertReply(c.cmd("RCPT TO:<%s>" % BOB), 250)
        c.send(b"BDAT %d LAST\r\n" % len(small) + small)
        self.assertEqual(c.reply(), R_ACCEPTED)
        self.assertEqual(len(self.server.find("bob", "out-bdat-fits")), 1)

    def test_zero_is_unlimited(self):
        # bob never had a limit, carol's was set to 0: only the service's
        # 1 MiB applies, with its own wording.
        for user in ("bob", "carol"):
            c = self.login(user)
            tag = "out-unlimited-" + user
            self.assertEqual(c.cmd("MAIL FROM:<%s@%s> SIZE=2000000" % (user, DOMAIN)), R_TOO_BIG)
            self.assertReply(c.cmd("MAIL FROM:<%s@%s> SIZE=500000" % (user, DOMAIN)), 250)
            self.assertReply(c.cmd("RCPT TO:<%s>" % ALICE), 250)
            self.assertEqual(c.data(stuffed(sized(tag, 500000))), R_ACCEPTED)
            self.assertEqual(len(self.server.find("alice", tag)), 1)

    def test_authenticated_user_wins_over_the_address(self):
        # bob (no limit) writing as alice is bob.
        c = self.login("bob")
        self.assertReply(c.cmd("MAIL FROM:<%s> SIZE=50000" % ALICE), 250)

    def test_unauthenticated_sender_guessed_from_the_address(self):
        c = self.connect()
        c.ehlo()
        for sender in (ALICE, "ALICE@" + DOMAIN.upper(), "al.ice@" + DOMAIN):
            self.assertEqual(c.cmd("MAIL FROM:<%s> SIZE=20000" % sender), too_big(LIMIT),
                             sender)
        # Not a local user: no limit of a user's.
        for sender in ("alice@remote.org", "nobody@" + DOMAIN, "bob@" + DOMAIN):
            self.assertReply(c.cmd("MAIL FROM:<%s> SIZE=20000" % sender), 250)
            self.assertEqual(c.cmd("RSET"), "250 2.0.0 Ok")
        # The end of the data, too.
        self.assertReply(c.cmd("MAIL FROM:<%s>" % ALICE), 250)
        self.assertReply(c.cmd("RCPT TO:<%s>" % BOB), 250)
        self.assertEqual(c.data(stuffed(sized("out-guessed-big", 2 * LIMIT))), too_big(LIMIT))
        self.assertNothingStored("out-guessed-big")

    def test_smtplib_sends_size_and_is_refused(self):
        # smtplib declares SIZE= itself when the server offers it.
        big = sized("out-smtplib-big", 3 * LIMIT)
        with smtplib.SMTP(HOST, self.server.port, timeout=IO_TIMEOUT) as s:
            with self.assertRaises(smtplib.SMTPSenderRefused) as cm:
                s.sendmail(ALICE, [BOB], big)
            self.assertEqual(cm.exception.smtp_code, 552)
            self.assertIn(b"at most %d bytes" % LIMIT, cm.exception.smtp_error)
            s.sendmail(ALICE, [BOB], message("out-smtplib-small"))
        self.assertNothingStored("out-smtplib-big")
        self.assertEqual(len(self.server.find("bob", "out-smtplib-small")), 1)

    def test_changes_apply_at_the_next_message(self):
        c = self.login("dave")
        sender = "dave@" + DOMAIN
        self.assertReply(c.cmd("MAIL FROM:<%s> SIZE=5000" % sender), 250)
        self.assertEqual(c.cmd("RSET"), "250 2.0.0 Ok")
        self.server.ctl("user", "set", "dave", "--max-outgoing-size", "4000")
        self.assertEqual(c.cmd("MAIL FROM:<%s> SIZE=5000" % sender), too_big(4000))
        self.server.ctl("user", "set", "dave", "--max-outgoing-size", "0")
        self.assertReply(c.cmd("MAIL FROM:<%s> SIZE=5000" % sender), 250)


if __name__ == "__main__":
    run_tests()
