#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Success notifications and 8BITMIME downconversion, the whole way through:
smtplib hands mail with RFC 3461 parameters to the smtp module, the router
delivers it locally or queues it, and the sender relays it to scripted
smarthosts that offer DSN and 8BITMIME or not.

- NOTIFY=SUCCESS to a hop without DSN: one "relayed" report (RET, ENVID,
  ORCPT honoured); to a hop with DSN: NOTIFY passed on, no report from us;
  NOTIFY=NEVER and the null sender: nothing.
- NOTIFY=SUCCESS to a local mailbox: one "delivered" report for the
  recipients that asked, none for the others; "expanded" for a list.
- An 8-bit message to a hop without 8BITMIME arrives 7-bit and decodes
  back to the original octets; one with 8-bit header fields fails with
  5.6.3 there, and goes as it is to a hop with 8BITMIME."""

import email
import email.policy
import smtplib

from sendertest import (
    DOMAIN, WAIT, ScriptedSMTP, SenderTestCase, free_port, header, run_tests)
from test_sender import dsn_parts


def crlf(text):
    return text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def plain(tag, body=b"Hello.\n", extra=b""):
    return crlf(b"From: <sender@example.com>\n"
                b"To: someone@remote.test\n"
                b"Subject: " + tag.encode() + b"\n"
                b"Message-ID: <" + tag.encode() + b"@test.example>\n" + extra +
                b"\n" + body)


# Octets a 7-bit hop must not see, and that must come back intact.
LATIN1 = "Grüße aus Köln, ça va? =3D stays =3D\n".encode("iso-8859-1")
# (No NUL, CR or LF: the smtp module refuses NUL and bare line ends.)
BINARY = bytes(b for b in range(256) if b not in (0, 10, 13)) * 4
UTF8_BODY = "Zürich → Genève\n.leading dot\n".encode("utf-8")


def multipart_8bit(tag):
    return crlf(b"From: <sender@example.com>\n"
                b"To: someone@remote.test\n"
                b"Subject: " + tag.encode() + b"\n"
                b"MIME-Version: 1.0\n"
                b"Content-Type: multipart/mixed; boundary=\"b1\"\n"
                b"\n"
                b"--b1\n"
                b"Content-Type: text/plain; charset=iso-8859-1\n"
                b"Content-Transfer-Encoding: 8bit\n"
                b"\n") + LATIN1.replace(b"\n", b"\r\n") + (
                b"--b1\r\n"
                b"Content-Type: application/octet-stream\r\n"
                b"Content-Transfer-Encoding: binary\r\n"
                b"\r\n") + BINARY + b"\r\n--b1--\r\n"


class DsnAnd8bit(SenderTestCase):
    """smarthost1 (the default) offers DSN and 8BITMIME; smarthost2
    (*.nodsn.test) offers neither; smarthost3 (*.seven.test) offers DSN
    but not 8BITMIME."""

    users = ("alice", "admin", "u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9", "u10",
             "u11", "u12", "u13")

    @classmethod
    def smtp_servers(cls):
        return {
            "dsn": ScriptedSMTP(name="dsn.test"),
            "nodsn": ScriptedSMTP(name="nodsn.test", dsn=False, eightbit=False),
            "seven": ScriptedSMTP(name="seven.test", eightbit=False),
        }

    @classmethod
    def sender_settings(cls):
        cls.smtp_port = free_port()
        return {
            "modules": {"enabled": "pop3;smtp;sender"},
            "sender": {"default_route": "smarthost1",
                       "routes": "* *.nodsn.test smarthost2;* *.seven.test smarthost3"},
            "smarthost1": {"servers": "127.0.0.1:%d" % cls.servers["dsn"].port},
            "smarthost2": {"servers": "127.0.0.1:%d" % cls.servers["nodsn"].port},
            "smarthost3": {"servers": "127.0.0.1:%d" % cls.servers["seven"].port},
            "smtp": {"listen": "127.0.0.1:%d" % cls.smtp_port,
                     "access": "allow 127.0.0.1 noauth"},
            "submission": {"listen": "none"},
            "smtps": {"listen": "none"},
        }

    def send(self, sender, rcpts, msg, mail_options=(), rcpt_options=None):
        """One transaction; @rcpts a list of (address, [options])."""
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=WAIT) as client:
            code, _ = client.ehlo("client.test")
            self.assertEqual(code, 250)
            code, text = client.mail(sender, list(mail_options))
            self.assertEqual(code, 250, text)
            for addr, options in rcpts:
                code, text = client.rcpt(addr, list(options))
                self.assertEqual(code, 250, text)
            code, text = client.data(msg)
            self.assertEqual(code, 250, text)

    # ---- success notifications from the sender ----

    def test_relayed_report_for_a_hop_without_dsn(self):
        nodsn = self.servers["nodsn"]
        self.send("u1@%s" % DOMAIN,
                  [("bob@x.nodsn.test", ["NOTIFY=SUCCESS,FAILURE",
                                         "ORCPT=rfc822;Bob+2Bx@x.nodsn.test"]),
                   ("quiet@x.nodsn.test", [])],
                  plain("relayed-1"), mail_options=["RET=HDRS", "ENVID=env+2Bone"])
        nodsn.wait(lambda s: len(s.delivered_to("bob@x.nodsn.test")) == 1, "the message")
        self.server.wait_states("bob@x.nodsn.test", ("delivered",))
        (txn,) = nodsn.delivered_to("bob@x.nodsn.test")
        # The hop does not offer DSN: nothing of RFC 3461 on the wire.
        self.assertNotIn("NOTIFY", txn.rcpt_params["bob@x.nodsn.test"])
        self.assertNotIn("RET=", txn.mail_params)
        (dsn,) = self.server.wait_mail("u1", 1)
        self.server.settle()
        self.assertEqual(len(self.server.mailbox("u1")), 1)
        self.assertEqual(header(dsn, "Subject"), "Successful Mail Delivery Report")
        self.assertTrue(header(dsn, "From").startswith("Mail Delivery System <MAILER-DAEMON@"))
        human, status, original = dsn_parts(dsn)
        self.assertIn("bob@x.nodsn.test", human)
        self.assertIn("Original-Envelope-Id: env+one", status)
        self.assertIn("Original-Recipient: rfc822;Bob+x@x.nodsn.test", status)
        self.assertIn("Final-Recipient: rfc822; bob@x.nodsn.test", status)
        self.assertIn("Action: relayed", status)
        self.assertIn("Status: 2.0.0", status)
        self.assertIn("Remote-MTA: dns; 127.0.0.1", status)
        # Only the recipient that asked is reported.
        self.assertNotIn("quiet@x.nodsn.test", status)
        self.assertEqual(status.count("Final-Recipient:"), 1)
        # RET=HDRS: the header only.
        self.assertIn("Content-Type: text/rfc822-headers", original)
        self.assertIn("Subject: relayed-1", original)
        self.assertNotIn("Hello.", original)

    def test_relayed_report_returns_the_message_by_default(self):
        nodsn = self.servers["nodsn"]
        self.send("u6@%s" % DOMAIN, [("full@x.nodsn.test", ["NOTIFY=SUCCESS"])],
                  plain("relayed-full", b"The body comes back.\n"))
        nodsn.wait(lambda s: s.delivered_to("full@x.nodsn.test"), "the message")
        (dsn,) = self.server.wait_mail("u6", 1)
        human, status, original = dsn_parts(dsn)
        self.assertIn("Action: relayed", status)
        self.assertIn("Content-Type: message/rfc822", original)
        self.assertIn("The body comes back.", original)

    def test_no_report_when_the_hop_offers_dsn(self):
        relay = self.servers["dsn"]
        self.send("u2@%s" % DOMAIN, [("carol@y.withdsn.test", ["NOTIFY=SUCCESS",
                                                                "ORCPT=rfc822;carol@y.withdsn.test"])],
                  plain("dsn-hop"), mail_options=["RET=FULL", "ENVID=e2"])
        relay.wait(lambda s: s.delivered_to("carol@y.withdsn.test"), "the message")
        self.server.wait_states("carol@y.withdsn.test", ("delivered",))
        (txn,) = relay.delivered_to("carol@y.withdsn.test")
        # The hop got the request and answers for it.
        self.assertIn("NOTIFY=SUCCESS", txn.rcpt_params["carol@y.withdsn.test"])
        self.assertIn("ORCPT=rfc822;carol@y.withdsn.test", txn.rcpt_params["carol@y.withdsn.test"])
        self.assertIn("RET=FULL", txn.mail_params)
        self.assertIn("ENVID=e2", txn.mail_params)
        self.server.settle()
        self.assertEqual(self.server.mailbox("u2"), [])

    def test_no_report_for_notify_never(self):
        nodsn = self.servers["nodsn"]
        self.send("u3@%s" % DOMAIN, [("dan@x.nodsn.test", ["NOTIFY=NEVER"])],
                  plain("never-1"))
        nodsn.wait(lambda s: s.delivered_to("dan@x.nodsn.test"), "the message")
        self.server.wait_states("dan@x.nodsn.test", ("delivered",))
        self.server.settle()
        self.assertEqual(self.server.mailbox("u3"), [])

    def test_no_report_to_the_null_sender(self):
        nodsn = self.servers["nodsn"]
        self.send("", [("erin@x.nodsn.test", ["NOTIFY=SUCCESS"]),
                       ("u7@%s" % DOMAIN, ["NOTIFY=SUCCESS"])], plain("nullsender-1"))
        nodsn.wait(lambda s: s.delivered_to("erin@x.nodsn.test"), "the message")
        self.server.wait_states("erin@x.nodsn.test", ("delivered",))
        self.server.wait_mail("u7", 1)
        self.server.settle()
        for user in self.users:
            for msg in self.server.mailbox(user):
                if b"nullsender-1" in msg:
                    self.assertEqual(header(msg, "Subject"), "nullsender-1", user)

    # ---- success notifications for local delivery ----

    def test_delivered_report_for_local_recipients(self):
        self.send("u4@%s" % DOMAIN,
                  [("u5@%s" % DOMAIN, ["NOTIFY=SUCCESS", "ORCPT=rfc822;u5@%s" % DOMAIN]),
                   ("u8@%s" % DOMAIN, ["NOTIFY=FAILURE"]),
                   ("alice@%s" % DOMAIN, [])],
                  plain("local-1", b"Local body.\n"), mail_options=["ENVID=loc1"])
        self.server.wait_mail("u5", 1)
        self.server.wait_mail("u8", 1)
        (dsn,) = self.server.wait_mail("u4", 1)
        self.server.settle(2)
        self.assertEqual(len(self.server.mailbox("u4")), 1)
        self.assertEqual(header(dsn, "Subject"), "Successful Mail Delivery Report")
        self.assertEqual(header(dsn, "Auto-Submitted"), "auto-replied")
        human, status, original = dsn_parts(dsn)
        self.assertIn("Original-Envelope-Id: loc1", status)
        self.assertIn("Final-Recipient: rfc822; u5@%s" % DOMAIN, status)
        self.assertIn("Original-Recipient: rfc822;u5@%s" % DOMAIN, status)
        self.assertIn("Action: delivered", status)
        self.assertIn("Status: 2.0.0", status)
        self.assertEqual(status.count("Final-Recipient:"), 1)
        self.assertIn("Content-Type: message/rfc822", original)
        self.assertIn("Local body.", original)

    def test_expanded_report_for_a_list(self):
        self.server.ctl("list", "add", "crew")
        self.server.ctl("list", "members", "crew", "--add", "u13", "--add", "alice")
        self.send("u12@%s" % DOMAIN, [("crew@%s" % DOMAIN, ["NOTIFY=SUCCESS"]),
                                      ("u13@%s" % DOMAIN, ["NOTIFY=SUCCESS"])],
                  plain("list-1"), mail_options=["RET=HDRS"])
        (dsn,) = self.server.wait_mail("u12", 1)
        self.server.settle(2)
        self.assertEqual(len(self.server.mailbox("u12")), 1)
        human, status, original = dsn_parts(dsn)
        blocks = status.split("\r\n\r\n")
        crew = [b for b in blocks if "Final-Recipient: rfc822; crew@" in b]
        u13 = [b for b in blocks if "Final-Recipient: rfc822; u13@" in b]
        self.assertEqual(len(crew), 1, status)
        self.assertEqual(len(u13), 1, status)
        self.assertIn("Action: expanded", crew[0])
        self.assertIn("Action: delivered", u13[0])
        self.assertIn("Content-Type: text/rfc822-headers", original)

    def test_delivered_report_needs_notify_success(self):
        self.send("u10@%s" % DOMAIN, [("u11@%s" % DOMAIN, ["NOTIFY=FAILURE,DELAY"])],
                  plain("local-nosuccess"))
        self.server.wait_mail("u11", 1)
        self.server.settle(2)
        self.assertEqual(self.server.mailbox("u10"), [])

    # ---- 8BITMIME downconversion ----

    def test_downconverted_for_a_hop_without_8bitmime(self):
        seven = self.servers["seven"]
        msg = multipart_8bit("eight-1")
        self.send("alice@%s" % DOMAIN, [("zed@q.seven.test", [])], msg,
                  mail_options=["BODY=8BITMIME"])
        self.send("alice@%s" % DOMAIN, [("yan@q.seven.test", [])],
                  plain("eight-2", UTF8_BODY), mail_options=["BODY=8BITMIME"])
        seven.wait(lambda s: s.delivered_to("zed@q.seven.test") and
                   s.delivered_to("yan@q.seven.test"), "both messages")
        (txn,) = seven.delivered_to("zed@q.seven.test")
        self.assertNotIn("BODY=8BITMIME", txn.mail_params)
        self.assertTrue(all(b < 0x80 for b in txn.data), "8-bit octets reached the hop")
        self.assertIn(b"Subject: eight-1\r\n", txn.data)
        parsed = email.message_from_bytes(txn.data, policy=email.policy.compat32)
        leaves = [p for p in parsed.walk() if not p.is_multipart()]
        self.assertEqual(len(leaves), 2)
        self.assertEqual(leaves[0]["Content-Transfer-Encoding"], "quoted-printable")
        # (The CRLF before a boundary belongs to the boundary: RFC 2046 §5.1.1.)
        self.assertEqual(leaves[0].get_payload(decode=True),
                         LATIN1.replace(b"\n", b"\r\n")[:-2])
        self.assertEqual(leaves[1]["Content-Transfer-Encoding"], "base64")
        self.assertEqual(leaves[1].get_payload(decode=True), BINARY)

        (txn,) = seven.delivered_to("yan@q.seven.test")
        self.assertTrue(all(b < 0x80 for b in txn.data), "8-bit octets reached the hop")
        parsed = email.message_from_bytes(txn.data, policy=email.policy.compat32)
        self.assertEqual(parsed["MIME-Version"], "1.0")
        self.assertEqual(parsed["Content-Transfer-Encoding"], "quoted-printable")
        self.assertIn("charset=utf-8", parsed["Content-Type"])
        self.assertEqual(parsed.get_payload(decode=True), UTF8_BODY.replace(b"\n", b"\r\n"))
        # The queued copy is untouched: a hop with 8BITMIME gets the octets.
        relay = self.servers["dsn"]
        self.send("alice@%s" % DOMAIN, [("xu@q.eight.test", [])], msg,
                  mail_options=["BODY=8BITMIME"])
        relay.wait(lambda s: s.delivered_to("xu@q.eight.test"), "the 8-bit message")
        (txn,) = relay.delivered_to("xu@q.eight.test")
        self.assertIn("BODY=8BITMIME", txn.mail_params)
        self.assertIn(BINARY, txn.data)

    def test_8bit_header_fails_without_8bitmime(self):
        seven, relay = self.servers["seven"], self.servers["dsn"]
        msg = plain("eight-head", b"body\n", extra="X-Name: Jürgen\n".encode("utf-8"))
        self.send("u9@%s" % DOMAIN, [("head@q.seven.test", []), ("head@q.eight.test", [])], msg,
                  mail_options=["BODY=8BITMIME"])
        self.server.wait_states("head@q.seven.test", ("failed",))
        rows = self.server.queue("head@q.seven.test")
        self.assertIn("5.6.3", rows[0][2])
        relay.wait(lambda s: s.delivered_to("head@q.eight.test"), "the copy for the 8-bit hop")
        self.assertEqual(seven.delivered_to("head@q.seven.test"), [])
        (dsn,) = self.server.wait_mail("u9", 1)
        self.server.settle()
        self.assertEqual(len(self.server.mailbox("u9")), 1)
        self.assertEqual(header(dsn, "Subject"), "Delivery Failure Report")
        human, status, original = dsn_parts(dsn)
        self.assertIn("Final-Recipient: rfc822; head@q.seven.test", status)
        self.assertIn("Status: 5.6.3", status)
        self.assertIn("8BITMIME", status)


if __name__ == "__main__":
    run_tests()
