#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The SMTP module against a real postroomd: EHLO and the extensions,
delivery read back through POP3, DATA byte for byte (dot-stuffing, long
lines, bare CR/LF, NUL, SMTP smuggling), PIPELINING, CHUNKING, SIZE and the
recipient limit, DSN parameters in the queue, SMTPUTF8, STARTTLS and AUTH,
the submission and smtps services, VRFY/EXPN, the hook points and the
per-address connection limit. Runs on SQLite, or on PostgreSQL with
--store postgresql."""

import smtplib
import time

from smtptest import (
    DOMAIN, HOSTNAME, PASSWORD, R_ACCEPTED, R_AUTH_FAILED, R_AUTH_OK, R_AUTH_REQUIRED, R_BARE,
    R_BAD_SEQUENCE, R_NO_RCPTS, R_NUL, R_STARTTLS_FIRST, R_TOO_BIG, R_TOO_MANY_FROM_IP,
    R_TOO_MANY_RCPTS, HOST, IO_TIMEOUT, Client, SmtpTestCase, b64, body_of,
    header_of, insecure_context, message, run_tests, stuffed)

ALICE = "alice@" + DOMAIN
BOB = "bob@" + DOMAIN
USERS = {"alice": PASSWORD, "bob": PASSWORD}


class Session(SmtpTestCase):
    """The MX service with a certificate: plaintext with STARTTLS."""

    tls = True
    users = USERS
    settings = {"delivery": {"hop_limit": "5"}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server.ctl("mapping", "add", "postmaster", "alice")

    def stored_one(self, user, tag):
        found = self.server.find(user, tag)
        self.assertEqual(len(found), 1, "messages tagged %s for %s" % (tag, user))
        return found[0]

    def test_greeting_and_capabilities(self):
        c = self.connect()
        self.assertEqual(c.greeting, "220 %s Postroom ESMTP ready" % HOSTNAME)
        caps = c.ehlo()
        self.assertEqual(c.lines[0], "250-%s Hello client.example.org [127.0.0.1]" % HOSTNAME)
        for cap in ("PIPELINING", "SIZE 52428800", "8BITMIME", "ENHANCEDSTATUSCODES", "STARTTLS",
                    "SMTPUTF8", "DSN", "CHUNKING", "HELP"):
            self.assertIn(cap, caps)
        # Plaintext on the MX service: no AUTH until STARTTLS; never CRAM-MD5.
        self.assertFalse([cap for cap in caps if cap.startswith("AUTH")], caps)
        c.starttls()
        caps = c.ehlo()
        self.assertIn("AUTH PLAIN LOGIN", caps)
        self.assertNotIn("STARTTLS", caps)
        self.assertFalse([cap for cap in caps if "CRAM-MD5" in cap])
        self.assertEqual(c.cmd("QUIT"), "221 2.0.0 %s closing connection" % HOSTNAME)

    def test_command_sequence_and_errors(self):
        c = self.connect()
        self.assertEqual(c.cmd("MAIL FROM:<a@remote.org>"), R_BAD_SEQUENCE)
        self.assertEqual(c.cmd("RCPT TO:<%s>" % ALICE), R_BAD_SEQUENCE)
        self.assertEqual(c.cmd("DATA"), R_BAD_SEQUENCE)
        self.assertReply(c.cmd("EHLO"), 501)
        self.assertReply(c.cmd("EHLO bad\x01name"), 501)
        self.assertReply(c.cmd("HELO client.example.org"), 250)
        self.assertEqual(c.cmd("XYZZY"), "500 5.5.2 Command not recognized")
        self.assertEqual(c.cmd("NOOP"), "250 2.0.0 Ok")
        self.assertEqual(c.cmd("NOOP anything"), "250 2.0.0 Ok")
        self.assertReply(c.cmd("RSET extra"), 501)
        self.assertEqual(c.cmd("HELP"), "214 2.0.0 End of HELP info")
        # VRFY and EXPN are off by default.
        self.assertEqual(c.cmd("VRFY alice"),
                         "252 2.5.0 Cannot VRFY user, but will accept message and attempt "
                         "delivery")
        self.assertEqual(c.cmd("EXPN staff"), "502 5.5.1 EXPN not available")
        self.assertReply(c.cmd("MAIL FROM:<a@remote.org>"), 250)
        self.assertEqual(c.cmd("MAIL FROM:<a@remote.org>"), R_BAD_SEQUENCE)
        self.assertEqual(c.cmd("DATA"), R_NO_RCPTS)
        self.assertReply(c.cmd("RCPT TO:<nobody@%s>" % DOMAIN), 550)
        self.assertEqual(c.cmd("DATA"), R_NO_RCPTS)
        self.assertEqual(c.cmd("RSET"), "250 2.0.0 Ok")
        self.assertEqual(c.cmd("RCPT TO:<%s>" % ALICE), R_BAD_SEQUENCE)
        self.assertReply(c.cmd("QUIT"), 221)
        self.assertEqual(c.read_until_closed(), [])

    def test_smtplib_delivery_to_local_user(self):
        tag = "smtplib-mx"
        with smtplib.SMTP(HOST, self.server.port, local_hostname="client.example.org",
                          timeout=IO_TIMEOUT) as s:
            refused = s.sendmail("someone@remote.org", [ALICE], message(tag))
        self.assertEqual(refused, {})
        stored = self.stored_one("alice", tag)
        head = header_of(stored)
        self.assertIn(b"Return-Path: <someone@remote.org>\r\n", head)
        self.assertIn(b"Received: from client.example.org ([127.0.0.1])", head)
        self.assertProtocol(head, "ESMTP")
        self.assertEqual(body_of(stored), b"Hello.\r\n")

    def test_helo_means_plain_smtp(self):
        c = self.connect()
        self.assertEqual(c.cmd("HELO old.example.org"),
                         "250 %s Hello old.example.org [127.0.0.1]" % HOSTNAME)
        replies = c.transaction("x@remote.org", [ALICE], stuffed(message("helo-smtp")))
        self.assertEqual(replies[-1], R_ACCEPTED)
        self.assertProtocol(self.stored_one("alice", "helo-smtp"), "SMTP")

    def test_dot_stuffing_is_undone(self):
        body = (b".leading dot\r\n"
                b"..two dots\r\n"
                b".\r\n"
                b"...\r\n"
                b" .not at the start\r\n"
                b"end\r\n")
        c = self.connect()
        c.ehlo()
        replies = c.transaction("x@remote.org", [ALICE], stuffed(message("dot-stuffing", body)))
        self.assertEqual(replies[-1], R_ACCEPTED)
        self.assertEqual(body_of(self.stored_one("alice", "dot-stuffing")), body)

    def test_empty_and_unterminated_last_line(self):
        c = self.connect()
        c.ehlo()
        # The body's last line has no CRLF of its own before the final dot
        # line: the CRLF before the dot ends it.
        raw = message("noeol", b"no newline at the end")
        replies = c.transaction("x@remote.org", [ALICE], raw + b"\r\n.\r\n")
        self.assertEqual(replies[-1], R_ACCEPTED)
        self.assertEqual(body_of(self.stored_one("alice", "noeol")), b"no newline at the end\r\n")

    def test_pipelining_whole_transactions_in_one_write(self):
        c = self.connect()
        c.ehlo()
        m1 = stuffed(message("pipeline-a", b".dot line\r\nbody one\r\n"))
        m2 = stuffed(message("pipeline-b", b"body two\r\n"))
        c.send(b"MAIL FROM:<p@remote.org>\r\n"
               b"RCPT TO:<" + ALICE.encode() + b">\r\n"
               b"RCPT TO:<nobody@example.com>\r\n"
               b"RCPT TO:<" + BOB.encode() + b">\r\n"
               b"DATA\r\n" + m1 +
               b"MAIL FROM:<>\r\n"
               b"RCPT TO:<" + BOB.encode() + b">\r\n"
               b"DATA\r\n" + m2 +
               b"NOOP\r\n"
               b"QUIT\r\n")
        codes = [r[:3] for r in c.replies(11)]
        self.assertEqual(codes, ["250", "250", "550", "250", "354", "250",
                                 "250", "250", "354", "250", "250"])
        self.assertReply(c.reply(), 221)
        self.assertEqual(body_of(self.stored_one("alice", "pipeline-a")), b".dot line\r\nbody one\r\n")
        self.assertEqual(len(self.server.find("bob", "pipeline-a")), 1)
        self.assertIn(b"Return-Path: <>\r\n", self.stored_one("bob", "pipeline-b"))
        self.assertEqual(self.server.find("alice", "pipeline-b"), [])

    def test_bdat_chunks(self):
        msg = message("bdat-1", b".not stuffed in BDAT\r\nline\r\n")
        # Chunk boundaries inside a CRLF and inside a word.
        cut1 = msg.index(b"\r\n") + 1
        cut2 = len(msg) - 5
        c = self.connect()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<b@remote.org> BODY=8BITMIME"), 250)
        self.assertReply(c.cmd("RCPT TO:<%s>" % ALICE), 250)
        for part in (msg[:cut1], msg[cut1:cut2]):
            c.send(b"BDAT %d\r\n" % len(part) + part)
            self.assertReply(c.reply(), 250)
        self.assertEqual(c.cmd("DATA"), R_BAD_SEQUENCE)
        self.assertEqual(c.cmd("MAIL FROM:<b@remote.org>"), R_BAD_SEQUENCE)
        last = msg[cut2:]
        c.send(b"BDAT %d\r\n" % len(last) + last)
        self.assertReply(c.reply(), 250)
        self.assertEqual(c.cmd("BDAT 0 LAST"), R_ACCEPTED)
        self.assertEqual(body_of(self.stored_one("alice", "bdat-1")),
                         b".not stuffed in BDAT\r\nline\r\n")

    def test_bdat_pipelined_in_one_write(self):
        m1 = message("bdat-pipe-1", b"one\r\n")
        m2 = message("bdat-pipe-2", b"QUIT\r\nRSET\r\n")
        c = self.connect()
        c.ehlo()
        c.send(b"MAIL FROM:<b@remote.org>\r\nRCPT TO:<" + ALICE.encode() + b">\r\n" +
               b"BDAT %d\r\n" % 10 + m1[:10] +
               b"BDAT %d LAST\r\n" % (len(m1) - 10) + m1[10:] +
               b"MAIL FROM:<b@remote.org>\r\nRCPT TO:<" + ALICE.encode() + b">\r\n" +
               b"BDAT %d last\r\n" % len(m2) + m2 + b"NOOP\r\n")
        codes = [r[:3] for r in c.replies(8)]
        self.assertEqual(codes, ["250"] * 8)
        self.assertEqual(c.lines, ["250 2.0.0 Ok"])
        self.assertEqual(body_of(self.stored_one("alice", "bdat-pipe-2")), b"QUIT\r\nRSET\r\n")
        self.assertEqual(len(self.server.find("alice", "bdat-pipe-1")), 1)

    def test_bdat_refused_chunks_are_consumed(self):
        c = self.connect()
        c.ehlo()
        # Outside a transaction: refused, and the chunk is not read as commands.
        chunk = b"QUIT\r\n"
        c.send(b"BDAT %d\r\n" % len(chunk) + chunk)
        self.assertEqual(c.reply(), R_BAD_SEQUENCE)
        self.assertEqual(c.cmd("NOOP"), "250 2.0.0 Ok")
        # A transaction without recipients.
        self.assertReply(c.cmd("MAIL FROM:<b@remote.org>"), 250)
        self.assertReply(c.cmd("RCPT TO:<nobody@%s>" % DOMAIN), 550)
        c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
        self.assertEqual(c.reply(), R_NO_RCPTS)
        self.assertEqual(c.cmd("NOOP"), "250 2.0.0 Ok")
        # A size that is not a number cannot be skipped: the session ends.
        self.assertReply(c.cmd("BDAT many"), 501)
        self.assertEqual(c.read_until_closed(), [])

    def test_smuggling_variants_do_not_end_the_data(self):
        variants = [b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\n", b"\r\n.\r\r\n", b"\r\n\x00.\r\n"]
        for i, sep in enumerate(variants):
            with self.subTest(sep=sep):
                tag = "smuggle-%d" % i
                smuggled = ("MAIL FROM:<evil@remote.org>\r\nRCPT TO:<%s>\r\nDATA\r\n"
                            "Subject: smuggled-%d\r\n\r\nevil\r\n" % (ALICE, i)).encode()
                c = self.connect()
                c.ehlo()
                self.assertReply(c.cmd("MAIL FROM:<x@remote.org>"), 250)
                self.assertReply(c.cmd("RCPT TO:<%s>" % ALICE), 250)
                self.assertReply(c.cmd("DATA"), 354)
                c.send(message(tag, b"first part") + sep + smuggled + b".\r\n")
                # One message, refused as a whole: no reply for the smuggled
                # commands, whose text was message content.
                reply = c.reply()
                self.assertIn(reply, (R_BARE, R_NUL))
                self.assertEqual(c.cmd("NOOP"), "250 2.0.0 Ok")
                c.cmd("QUIT")
        for i in range(len(variants)):
            self.assertEqual(self.server.find("alice", "smuggled-%d" % i), [])
            self.assertEqual(self.server.find("alice", "smuggle-%d" % i), [])

    def test_bare_lf_cr_and_nul_are_refused(self):
        cases = {
            "bare-lf": b"line one\nline two\r\n",
            "bare-cr": b"line one\rline two\r\n",
            "bare-cr-end": b"line\r\r\n",
            "nul": b"with \x00 NUL\r\n",
        }
        for tag, body in cases.items():
            with self.subTest(tag=tag):
                c = self.connect()
                c.ehlo()
                replies = c.transaction("x@remote.org", [ALICE], message(tag, body) + b".\r\n")
                self.assertEqual(replies[-1], R_NUL if tag == "nul" else R_BARE)
                self.assertEqual(c.cmd("NOOP"), "250 2.0.0 Ok")
                self.assertEqual(self.server.find("alice", tag), [])

    def test_bdat_bare_lf_and_nul_are_refused(self):
        for tag, body, expected in (("bdat-lf", b"a\nb\r\n", R_BARE),
                                    ("bdat-nul", b"a\x00b\r\n", R_NUL),
                                    ("bdat-cr-last", b"a\r\nb\r", R_BARE)):
            with self.subTest(tag=tag):
                m = message(tag, body)
                c = self.connect()
                c.ehlo()
                self.assertReply(c.cmd("MAIL FROM:<x@remote.org>"), 250)
                self.assertReply(c.cmd("RCPT TO:<%s>" % ALICE), 250)
                c.send(b"BDAT %d LAST\r\n" % len(m) + m)
                self.assertEqual(c.reply(), expected)
                self.assertEqual(self.server.find("alice", tag), [])

    def test_long_lines_in_data(self):
        long1 = b"x" * 10000 + b"\r\n"
        long2 = b"." + b"y" * 200000 + b"\r\n"
        body = long1 + long2 + b"short\r\n"
        c = self.connect()
        c.ehlo()
        replies = c.transaction("x@remote.org", [ALICE], stuffed(message("long-lines", body)))
        self.assertEqual(replies[-1], R_ACCEPTED)
        self.assertEqual(body_of(self.stored_one("alice", "long-lines")), body)
        # A command line is limited, and the session goes on.
        self.assertEqual(c.cmd("NOOP " + "z" * 3000), "500 5.5.2 Line too long")
        self.assertEqual(c.cmd("NOOP"), "250 2.0.0 Ok")

    def test_disconnect_mid_data_stores_nothing(self):
        before = self.server.message_count()
        for how in ("data", "bdat"):
            tag = "cut-" + how
            c = self.connect()
            c.ehlo()
            self.assertReply(c.cmd("MAIL FROM:<x@remote.org>"), 250)
            self.assertReply(c.cmd("RCPT TO:<%s>" % ALICE), 250)
            if how == "data":
                self.assertReply(c.cmd("DATA"), 354)
                c.send(message(tag, b"half a message\r\n" * 1000))
            else:
                m = message(tag, b"half\r\n")
                c.send(b"BDAT %d LAST\r\n" % (len(m) + 100) + m)
            c.close()
        # The server notices the closed connections; a new session proves it
        # still serves, and nothing was stored.
        c = self.connect()
        self.assertReply(c.cmd("NOOP"), 250)
        for _ in range(50):
            if "closed during a message" in self.server.log_text():
                break
            time.sleep(0.1)
        self.assertEqual(self.server.find("alice", "cut-data"), [])
        self.assertEqual(self.server.find("alice", "cut-bdat"), [])
        self.assertEqual(self.server.message_count(), before)

    def test_addresses(self):
        c = self.connect()
        c.ehlo()
        self.assertEqual(c.cmd("MAIL FROM:<>"), "250 2.1.0 Sender <> OK")
        self.assertReply(c.cmd("RCPT TO:<>"), 501)
        self.assertEqual(c.cmd("RCPT TO:<Postmaster>"), "250 2.1.5 Recipient <Postmaster> OK")
        self.assertReply(c.cmd("RCPT TO:<@relay.example,@b.example:%s>" % ALICE), 250)
        self.assertReply(c.cmd("RCPT TO: <%s>" % BOB), 250)
        self.assertEqual(c.cmd("RCPT TO:<%s" % ALICE), "501 5.5.4 Syntax error: missing '>'")
        self.assertReply(c.cmd("RCPT TO:<a..b@%s>" % DOMAIN), 501)
        self.assertReply(c.cmd("RCPT TO:<%s@%s>" % ("l" * 300, DOMAIN)), 501)
        self.assertReply(c.cmd("RCPT TO:<nodomain>"), 501)
        # The router takes no quoted local parts.
        self.assertReply(c.cmd('RCPT TO:<"quoted name"@%s>' % DOMAIN), 501)
        self.assertReply(c.cmd("RCPT FROM:<%s>" % ALICE), 501)
        self.assertReply(c.data(stuffed(message("addresses"))), 250)
        self.assertEqual(len(self.server.find("alice", "addresses")), 1)
        self.assertEqual(len(self.server.find("bob", "addresses")), 1)

    def test_esmtp_parameters(self):
        c = self.connect()
        c.ehlo()
        bad = ["MAIL FROM:<a@remote.org> FOO=1", "MAIL FROM:<a@remote.org> BODY=BINARYMIME"]
        for line in bad:
            self.assertReply(c.cmd(line), 555)
        for line in ("MAIL FROM:<a@remote.org> SIZE=abc", "MAIL FROM:<a@remote.org> RET=ALL",
                     "MAIL FROM:<a@remote.org> ENVID=a=b", "MAIL FROM:<a@remote.org> ENVID=a+2",
                     "MAIL FROM:<a@remote.org> SIZE=1 SIZE=2", "MAIL FROM:<a@remote.org> SMTPUTF8=x",
                     "MAIL FROM:<a@remote.org> ENVID=" + "e" * 101):
            self.assertReply(c.cmd(line), 501)
        self.assertReply(c.cmd("MAIL FROM:<a@remote.org> BODY=8BITMIME SIZE=100 RET=FULL "
                               "ENVID=QQ+2B1 AUTH=<>"), 250)
        for line in ("RCPT TO:<%s> NOTIFY=NEVER,SUCCESS" % ALICE,
                     "RCPT TO:<%s> NOTIFY=SOMETIMES" % ALICE,
                     "RCPT TO:<%s> ORCPT=rfc822" % ALICE,
                     "RCPT TO:<%s> ORCPT=rfc822;a=b" % ALICE):
            self.assertReply(c.cmd(line), 501)
        self.assertReply(c.cmd("RCPT TO:<%s> BAR=1" % ALICE), 555)
        self.assertReply(c.cmd("RCPT TO:<%s> NOTIFY=FAILURE,DELAY ORCPT=rfc822;alice+40example.com"
                               % ALICE), 250)
        self.assertEqual(c.cmd("RSET"), "250 2.0.0 Ok")

    def test_dsn_parameters_reach_the_queue(self):
        c = self.connect()
        c.ehlo()
        c.starttls()
        c.ehlo()
        self.assertEqual(c.auth_plain("alice", PASSWORD), R_AUTH_OK)
        self.assertReply(c.cmd("MAIL FROM:<%s> RET=HDRS ENVID=env+2Bid-1" % ALICE), 250)
        self.assertReply(c.cmd("RCPT TO:<dsn-one@remote.org> NOTIFY=SUCCESS,FAILURE "
                               "ORCPT=rfc822;dsn-one+40remote.org"), 250)
        self.assertReply(c.cmd("RCPT TO:<dsn-two@remote.org> NOTIFY=NEVER"), 250)
        self.assertReply(c.cmd("RCPT TO:<dsn-three@remote.org>"), 250)
        self.assertEqual(c.data(stuffed(message("dsn"))), R_ACCEPTED)
        one = self.server.queue("dsn-one@remote.org")
        self.assertEqual(len(one), 1, one)
        self.assertEqual((one[0]["notify"], one[0]["orcpt"], one[0]["ret"], one[0]["envid"]),
                         ("SUCCESS,FAILURE", "rfc822;dsn-one+40remote.org", "HDRS",
                          "env+2Bid-1"))
        self.assertEqual(one[0]["sender"], ALICE)
        two = self.server.queue("dsn-two@remote.org")
        self.assertEqual((two[0]["notify"], two[0]["ret"]), ("NEVER", "HDRS"))
        three = self.server.queue("dsn-three@remote.org")
        self.assertEqual((three[0]["notify"], three[0]["orcpt"]), ("", ""))

    def test_smtputf8(self):
        c = self.connect()
        c.ehlo()
        self.assertEqual(c.cmd("MAIL FROM:<jörg@remote.org>"),
                         "553 5.6.7 Non-ASCII address requires SMTPUTF8")
        self.assertReply(c.cmd("MAIL FROM:<x@remote.org>"), 250)
        self.assertReply(c.cmd("RCPT TO:<jörg@%s>" % DOMAIN), 553)
        self.assertEqual(c.cmd("RSET"), "250 2.0.0 Ok")
        self.assertReply(c.cmd("MAIL FROM:<jörg@bücher.example> SMTPUTF8"), 250)
        self.assertReply(c.cmd("RCPT TO:<%s>" % ALICE), 250)
        msg = message("smtputf8-msg", "Grüße\r\n".encode())
        self.assertEqual(c.data(stuffed(msg)), R_ACCEPTED)
        stored = self.stored_one("alice", "smtputf8-msg")
        self.assertIn("Return-Path: <jörg@bücher.example>".encode(), stored)
        self.assertProtocol(stored, "UTF8SMTP")

    def test_starttls_resets_and_refuses_injection(self):
        c = self.connect()
        c.ehlo()
        c.starttls()
        # RFC 3207 §4.2: the session starts over.
        self.assertEqual(c.cmd("MAIL FROM:<x@remote.org>"), R_BAD_SEQUENCE)
        caps = c.ehlo()
        self.assertNotIn("STARTTLS", caps)
        self.assertEqual(c.cmd("STARTTLS"), "454 4.7.0 TLS not available")
        replies = c.transaction("x@remote.org", [ALICE], stuffed(message("over-tls")))
        self.assertEqual(replies[-1], R_ACCEPTED)
        self.assertProtocol(self.stored_one("alice", "over-tls"), "ESMTPS")
        # Plaintext pipelined after STARTTLS is never taken for TLS input.
        c = self.connect()
        c.ehlo()
        c.send("STARTTLS\r\nMAIL FROM:<x@remote.org>\r\n")
        self.assertEqual(c.read_until_closed(),
                         ["554 5.5.1 Data after STARTTLS, closing connection"])

    def test_auth(self):
        c = self.connect()
        c.ehlo()
        self.assertEqual(c.auth_plain("alice", PASSWORD), R_STARTTLS_FIRST)
        c.starttls()
        self.assertEqual(c.auth_plain("alice", PASSWORD), R_BAD_SEQUENCE)  # before EHLO
        c.ehlo()
        self.assertEqual(c.cmd("AUTH CRAM-MD5"), "504 5.5.4 Unrecognized authentication type")
        self.assertEqual(c.auth_plain("alice", "wrong"), R_AUTH_FAILED)
        self.assertEqual(c.cmd("AUTH LOGIN"), "334 VXNlcm5hbWU6")
        self.assertEqual(c.cmd("*"), "501 5.0.0 Authentication cancelled")
        self.assertEqual(c.cmd("AUTH PLAIN"), "334 ")
        self.assertEqual(c.cmd("not base64!"), "501 5.5.2 Cannot decode the SASL response")
        self.assertEqual(c.cmd("AUTH LOGIN " + b64("bob")), "334 UGFzc3dvcmQ6")
        self.assertEqual(c.cmd(b64(PASSWORD)), R_AUTH_OK)
        self.assertEqual(c.auth_plain("alice", PASSWORD), "503 5.5.1 Already authenticated")
        caps = c.ehlo()
        self.assertFalse([cap for cap in caps if cap.startswith("AUTH")])
        self.assertReply(c.cmd("MAIL FROM:<%s>" % BOB), 250)
        self.assertEqual(c.cmd("AUTH PLAIN =") , R_BAD_SEQUENCE)
        self.assertReply(c.cmd("RCPT TO:<relayed@remote.org>"), 250)
        self.assertReply(c.cmd("RCPT TO:<%s>" % ALICE), 250)
        self.assertEqual(c.data(stuffed(message("auth-sent"))), R_ACCEPTED)
        self.assertProtocol(self.stored_one("alice", "auth-sent"), "ESMTPSA")
        self.assertEqual(len(self.server.queue("relayed@remote.org")), 1)

    def test_hop_limit(self):
        hops = b"".join(b"Received: from hop%d.example by x; Tue, 1 Jan 2026 00:00:00 +0000\r\n"
                        % i for i in range(8))
        c = self.connect()
        c.ehlo()
        replies = c.transaction("x@remote.org", [ALICE], stuffed(hops + message("hops")))
        self.assertEqual(replies[-1][:9], "554 5.4.6")
        self.assertEqual(self.server.find("alice", "hops"), [])

    def test_delivered_to_loop(self):
        looped = b"Delivered-To: " + ALICE.encode() + b"\r\n" + message("looped")
        c = self.connect()
        c.ehlo()
        replies = c.transaction("x@remote.org", [ALICE], stuffed(looped))
        self.assertEqual(replies[-1], "554 5.4.6 Mail loop detected")
        self.assertEqual(self.server.find("alice", "looped"), [])

    def test_submission_requires_tls_then_auth(self):
        c = self.submission()
        self.assertReply(c.greeting, 220)
        caps = c.ehlo()
        self.assertIn("STARTTLS", caps)
        self.assertFalse([cap for cap in caps if cap.startswith("AUTH")])
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % ALICE), R_STARTTLS_FIRST)
        self.assertEqual(c.auth_plain("alice", PASSWORD), R_STARTTLS_FIRST)
        c.starttls()
        self.assertIn("AUTH PLAIN LOGIN", c.ehlo())
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % ALICE), R_AUTH_REQUIRED)
        self.assertEqual(c.auth_plain("alice", PASSWORD), R_AUTH_OK)
        replies = c.transaction(ALICE, [BOB, "friend@remote.org"], stuffed(message("sub-1")))
        self.assertEqual(replies[-1], R_ACCEPTED)
        self.assertProtocol(self.stored_one("bob", "sub-1"), "ESMTPSA")
        self.assertEqual(len(self.server.queue("friend@remote.org")), 1)

    def test_smtps_implicit_tls(self):
        c = self.smtps()
        self.assertEqual(c.greeting, "220 %s Postroom ESMTP ready" % HOSTNAME)
        caps = c.ehlo()
        self.assertIn("AUTH PLAIN LOGIN", caps)
        self.assertNotIn("STARTTLS", caps)
        self.assertEqual(c.cmd("MAIL FROM:<%s>" % ALICE), R_AUTH_REQUIRED)
        self.assertEqual(c.auth_plain("bob", PASSWORD), R_AUTH_OK)
        replies = c.transaction(BOB, [ALICE], stuffed(message("smtps-1")))
        self.assertEqual(replies[-1], R_ACCEPTED)
        head = header_of(self.stored_one("alice", "smtps-1"))
        self.assertProtocol(head, "ESMTPSA")

    def test_smtplib_starttls_login(self):
        with smtplib.SMTP(HOST, self.server.sub_port, timeout=IO_TIMEOUT) as s:
            s.starttls(context=insecure_context())
            s.login("alice", PASSWORD)
            refused = s.sendmail(ALICE, [BOB], message("smtplib-sub"))
        self.assertEqual(refused, {})
        self.stored_one("bob", "smtplib-sub")


class Limits(SmtpTestCase):
    users = USERS
    settings = {"smtp": {"max_message_size": "64K", "max_recipients": "3"}}

    def test_size_advertised_and_enforced(self):
        c = self.connect()
        self.assertIn("SIZE 65536", c.ehlo())
        self.assertEqual(c.cmd("MAIL FROM:<x@remote.org> SIZE=70000"), R_TOO_BIG)
        self.assertReply(c.cmd("MAIL FROM:<x@remote.org> SIZE=1000"), 250)
        self.assertReply(c.cmd("RCPT TO:<%s>" % ALICE), 250)
        big = message("too-big", b"0123456789abcdef\r\n" * 5000)
        self.assertEqual(c.data(stuffed(big)), R_TOO_BIG)
        # The session goes on outside a transaction.
        self.assertEqual(c.cmd("RCPT TO:<%s>" % ALICE), R_BAD_SEQUENCE)
        self.assertReply(c.cmd("MAIL FROM:<x@remote.org>"), 250)
        self.assertReply(c.cmd("RCPT TO:<%s>" % ALICE), 250)
        c.send(b"BDAT 40000\r\n" + big[:40000])
        self.assertReply(c.reply(), 250)
        c.send(b"BDAT 40000\r\n" + big[40000:80000])
        self.assertEqual(c.reply(), R_TOO_BIG)
        c.send(b"BDAT 10 LAST\r\n" + big[80000:80010])
        self.assertEqual(c.reply(), R_BAD_SEQUENCE)
        self.assertEqual(c.cmd("NOOP"), "250 2.0.0 Ok")
        ok = message("just-fits", b"z" * 60000 + b"\r\n")
        replies = c.transaction("x@remote.org", [ALICE], stuffed(ok))
        self.assertEqual(replies[-1], R_ACCEPTED)
        self.assertEqual(self.server.find("alice", "too-big"), [])

    def test_max_recipients(self):
        c = self.connect()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<x@remote.org>"), 250)
        self.assertReply(c.cmd("RCPT TO:<nobody@%s>" % DOMAIN), 550)
        for rcpt in (ALICE, BOB, ALICE):
            self.assertReply(c.cmd("RCPT TO:<%s>" % rcpt), 250)
        self.assertEqual(c.cmd("RCPT TO:<%s>" % BOB), R_TOO_MANY_RCPTS)
        self.assertEqual(c.data(stuffed(message("max-rcpts"))), R_ACCEPTED)
        self.assertEqual(len(self.server.find("alice", "max-rcpts")), 1)
        self.assertEqual(len(self.server.find("bob", "max-rcpts")), 1)


class Acceptance(SmtpTestCase):
    """bare_lf=accept and nul=strip: such messages are normalised."""

    users = USERS
    settings = {"smtp": {"bare_lf": "accept", "nul": "strip"}}

    def test_bare_lf_normalised_and_smuggling_stays_one_message(self):
        c = self.connect()
        c.ehlo()
        smuggled = ("MAIL FROM:<evil@remote.org>\r\nRCPT TO:<%s>\r\nDATA\r\n"
                    "Subject: acc-smuggled\r\n\r\nevil\r\n" % ALICE).encode()
        body = b"one\ntwo\rthree\n.\n" + smuggled
        replies = c.transaction("x@remote.org", [ALICE], message("acc-1", body) + b".\r\n")
        self.assertEqual(replies[-1], R_ACCEPTED)
        self.assertEqual(c.cmd("NOOP"), "250 2.0.0 Ok")
        found = self.server.find("alice", "acc-smuggled")
        self.assertEqual(len(found), 1, "one message, the smuggled part inside it")
        self.assertIn(b"Subject: acc-1\r\n", found[0])
        self.assertIn(b"one\r\ntwo\r\nthree\r\n.\r\nMAIL FROM:<evil@remote.org>\r\n",
                      body_of(found[0]))

    def test_nul_stripped(self):
        c = self.connect()
        c.ehlo()
        replies = c.transaction("x@remote.org", [ALICE],
                                message("acc-nul", b"a\x00b\x00\r\n") + b".\r\n")
        self.assertEqual(replies[-1], R_ACCEPTED)
        self.assertEqual(body_of(self.server.find("alice", "acc-nul")[0]), b"ab\r\n")


class VrfyEnabled(SmtpTestCase):
    users = USERS
    settings = {"smtp": {"vrfy_expn": "true", "vrfy_expn_allow": "127.0.0.0/8"}}

    def test_vrfy_and_expn(self):
        c = self.connect()
        c.ehlo()
        self.assertEqual(c.cmd("VRFY alice"), "250 2.1.5 <alice>")
        self.assertEqual(c.cmd("VRFY <%s>" % BOB), "250 2.1.5 <%s>" % BOB)
        self.assertEqual(c.cmd("VRFY nobody@%s" % DOMAIN),
                         "550 5.1.1 <nobody@%s>: User unknown" % DOMAIN)
        self.assertReply(c.cmd("VRFY someone@remote.org"), 252)
        self.assertReply(c.cmd("VRFY"), 501)
        self.assertEqual(c.cmd("EXPN alice"), "250 2.1.5 <%s>" % ALICE)


class PerAddressLimit(SmtpTestCase):
    users = USERS
    settings = {"smtp": {"max_connections_per_ip": "2"}}

    def test_too_many_connections_from_one_address(self):
        first = self.connect()
        second = self.connect()
        self.assertReply(first.greeting, 220)
        self.assertReply(second.greeting, 220)
        third = Client(self.server.port, greeting=False)
        self.addCleanup(third.close)
        self.assertEqual(third.read_until_closed(), [R_TOO_MANY_FROM_IP])
        # The submission service has its own count.
        self.assertReply(self.submission().greeting, 220)


class Hooks(SmtpTestCase):
    """The smtptesthooks module answers the hook points (tests/smtp/smtptesthooks.c)."""

    users = USERS
    hooks = True

    def test_helo_hook(self):
        c = self.connect()
        self.assertEqual(c.cmd("EHLO hook-reject.example"), "550 5.7.1 helo rejected by hook")
        self.assertEqual(c.cmd("MAIL FROM:<x@remote.org>"), R_BAD_SEQUENCE)
        self.assertEqual(c.cmd("EHLO hook-echo.example"),
                         "550 5.7.1 echo command=EHLO helo=hook-echo.example ip=127.0.0.1 "
                         "service=smtp tls=no")
        self.assertEqual(c.cmd("HELO hook-bad.example"), "550 5.7.1 Rejected by local policy")
        c.ehlo("hook-async.example")
        self.assertReply(c.cmd("MAIL FROM:<x@remote.org>"), 250)
        self.assertEqual(c.cmd("EHLO hook-bye.example"), "421 4.7.0 go away")
        self.assertEqual(c.read_until_closed(), [])

    def test_mail_hook(self):
        c = self.connect()
        c.ehlo("client.example.org")
        self.assertEqual(c.cmd("MAIL FROM:<hook-reject@remote.org>"),
                         "550 5.7.1 sender rejected by hook")
        self.assertEqual(c.cmd("RCPT TO:<%s>" % ALICE), R_BAD_SEQUENCE)
        self.assertEqual(c.cmd("MAIL FROM:<hook-echo@remote.org> SIZE=123 BODY=8BITMIME "
                               "RET=HDRS ENVID=e1"),
                         "550 5.7.1 echo sender=hook-echo@remote.org size=123 body=8BITMIME "
                         "smtputf8=no ret=HDRS envid=e1 helo=client.example.org "
                         "auth_user=(none)")
        self.assertEqual(c.cmd("MAIL FROM:<hook-async-reject@remote.org>"),
                         "451 4.7.1 sender deferred by async hook")
        self.assertReply(c.cmd("MAIL FROM:<fine@remote.org>"), 250)

    def test_rcpt_hook(self):
        c = self.connect()
        c.ehlo()
        self.assertReply(c.cmd("MAIL FROM:<s@remote.org>"), 250)
        self.assertReply(c.cmd("RCPT TO:<%s>" % ALICE), 250)
        self.server.ctl("mapping", "add", "hook-reject", "alice", check=False)
        self.server.ctl("mapping", "add", "hook-echo", "alice", check=False)
        self.server.ctl("mapping", "add", "hook-async", "alice", check=False)
        self.assertEqual(c.cmd("RCPT TO:<hook-reject@%s>" % DOMAIN),
                         "550 5.7.1 recipient rejected by hook")
        self.assertEqual(c.cmd("RCPT TO:<hook-echo@%s> NOTIFY=DELAY" % DOMAIN),
                         "550 5.7.1 echo recipient=hook-echo@%s recipient_status=local "
                         "notify=DELAY orcpt=(none) sender=s@remote.org recipient_count=1 "
                         "auth_user=(none) trusted=no" % DOMAIN)
        self.assertReply(c.cmd("RCPT TO:<hook-async@%s>" % DOMAIN), 250)
        self.assertEqual(c.data(stuffed(message("hooks-rcpt"))), R_ACCEPTED)
        # alice once, though two accepted recipients lead to her.
        self.assertEqual(len(self.server.find("alice", "hooks-rcpt")), 1)

    def test_data_hook(self):
        c = self.connect()
        c.ehlo()
        m = message("hook-data-rejected", extra=b"X-Hook: reject\r\n")
        replies = c.transaction("s@remote.org", [ALICE, BOB], stuffed(m))
        self.assertEqual(replies[-1],
                         "554 5.7.1 message rejected by hook sender=s@remote.org recipients=%s|%s "
                         "size=%d" % (ALICE, BOB, len(m)))
        m = message("hook-data-async", extra=b"X-Hook: async-reject\r\n")
        replies = c.transaction("s@remote.org", [ALICE], stuffed(m))
        self.assertEqual(replies[-1], "451 4.7.1 message deferred by async hook")
        self.assertEqual(self.server.find("alice", "hook-data-rejected"), [])
        m = message("hook-data-ok")
        c.send(b"MAIL FROM:<s@remote.org>\r\nRCPT TO:<" + ALICE.encode() + b">\r\n" +
               b"BDAT %d LAST\r\n" % len(m) + m)
        self.assertEqual([r[:3] for r in c.replies(3)], ["250", "250", "250"])
        self.assertEqual(len(self.server.find("alice", "hook-data-ok")), 1)


if __name__ == "__main__":
    run_tests()
