#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The sender module against a real postroomd and scripted SMTP servers on
loopback: smarthosts (order, STARTTLS with a CA file, implicit TLS, AUTH
PLAIN and LOGIN, recipients per message), retries and delivery status
notifications (one per failed batch, none to the null sender, delay
warnings and giving up), administrator alerts, domain filtering, and
direct delivery by MX through dnsmasq on loopback."""

import os
import signal
import smtplib
import time

from sendertest import (
    DOMAIN, WAIT, Dnsmasq, ScriptedSMTP, SenderTestCase, certificate, free_port, header,
    message, run_tests)


def password_file(name, text):
    path = os.path.join(os.path.dirname(certificate()[0]), "pw-" + name)
    with open(path, "w") as f:
        f.write(text + "\n")
    os.chmod(path, 0o600)
    return path


class Smarthost(SenderTestCase):
    """smarthost1: a port that refuses connections, then a server that
    requires STARTTLS and AUTH; smarthost2 (for *.login.test): implicit TLS
    with AUTH LOGIN only."""

    @classmethod
    def smtp_servers(cls):
        cert = certificate()
        return {
            "relay": ScriptedSMTP(cert=cert, starttls=True, auth={"relayuser": "s3cret"},
                                  auth_mechs=("PLAIN", "LOGIN"), name="relay.test"),
            "login": ScriptedSMTP(cert=cert, implicit_tls=True, auth={"loginuser": "pw2"},
                                  auth_mechs=("LOGIN",), pipelining=False, name="login.test"),
        }

    @classmethod
    def sender_settings(cls):
        cert = certificate()[0]
        refused = free_port()
        return {
            "sender": {"default_route": "smarthost1", "routes": "* *.login.test smarthost2",
                       "admin_address": "admin"},
            "smarthost1": {"servers": "127.0.0.1:%d;127.0.0.1:%d" % (
                refused, cls.servers["relay"].port), "encryption": "starttls",
                "ca_file": cert, "user": "relayuser",
                "password_file": password_file("relay", "s3cret")},
            "smarthost2": {"servers": "127.0.0.1:%d" % cls.servers["login"].port,
                           "encryption": "tls", "ca_file": cert, "user": "loginuser",
                           "password": "pw2"},
        }

    def test_starttls_auth_plain_second_server(self):
        relay = self.servers["relay"]
        body = b".leading dot\n..two dots\nplain line\n.\nlast\n"
        self.server.deliver("bob@remote.test", message("smarthost-1", body))
        relay.wait(lambda s: s.delivered_to("bob@remote.test"), "the message")
        self.server.wait_states("bob@remote.test", ("delivered",))
        (txn,) = relay.delivered_to("bob@remote.test")
        self.assertTrue(txn.tls)
        self.assertEqual(txn.auth_user, "relayuser")
        self.assertEqual(txn.mail_from, "alice@%s" % DOMAIN)
        self.assertEqual(txn.rcpts, ["bob@remote.test"])
        self.assertIn("SIZE=", txn.mail_params)
        self.assertIn(b"Subject: smarthost-1\r\n", txn.data)
        self.assertTrue(txn.data.endswith(body.replace(b"\n", b"\r\n")), txn.data[-120:])
        self.assertFalse(txn.data.lower().startswith(b"return-path:"))
        # The refusing first server is a connection failure, not an error to report.
        self.assertEqual(self.server.mailbox("admin"), [])

    def test_implicit_tls_auth_login_by_rule(self):
        login = self.servers["login"]
        self.server.deliver("carol@x.login.test", message("smarthost-2"))
        login.wait(lambda s: s.delivered_to("carol@x.login.test"), "the message")
        self.server.wait_states("carol@x.login.test", ("delivered",))
        (txn,) = login.delivered_to("carol@x.login.test")
        self.assertTrue(txn.tls)
        self.assertEqual(txn.auth_user, "loginuser")
        self.assertEqual(self.servers["relay"].delivered_to("carol@x.login.test"), [])


def dsn_parts(msg):
    """(human text, delivery-status text, original part) of a DSN."""
    ctype = header(msg, "Content-Type")
    assert ctype.startswith("multipart/report;"), ctype
    assert "report-type=delivery-status" in ctype, ctype
    boundary = ctype.split('boundary="', 1)[1].split('"', 1)[0].encode()
    parts = msg.split(b"--" + boundary)
    assert parts[-1].startswith(b"--"), parts[-1][:20]
    return [p.decode("utf-8", "replace") for p in parts[1:-1]]


class Retries(SenderTestCase):
    """One relay with scripted replies per recipient; each test sends from
    its own local user, whose mailbox then holds the notifications."""

    users = ("alice", "admin", "u1", "u2", "u3", "u4")

    @classmethod
    def smtp_servers(cls):
        return {"relay": ScriptedSMTP(name="relay.test", rcpt_replies={
            "later@remote.test": ["451 4.2.1 try later", "250 2.1.5 Ok"],
            "tempperm@remote.test": ["451 4.2.1 try later", "550 5.1.1 no such user"],
            "perm1@remote.test": ["550 5.1.1 no such user"],
            "perm2@remote.test": ["553 5.1.3 bad mailbox"],
            "nullperm@remote.test": ["550 5.1.1 no such user"],
        })}

    @classmethod
    def sender_settings(cls):
        return {"sender": {"default_route": "smarthost1", "admin_address": "admin"},
                "smarthost1": {"servers": "127.0.0.1:%d" % cls.servers["relay"].port,
                               "encryption": "none"}}

    def test_temporary_then_accepted(self):
        relay = self.servers["relay"]
        self.server.deliver("later@remote.test", message("later"), sender="u1@example.com")
        self.server.wait_states("later@remote.test", ("delivered",))
        self.assertEqual(len(relay.delivered_to("later@remote.test")), 1)
        self.assertGreaterEqual(relay.rcpt_attempts["later@remote.test"], 2)
        self.server.settle()
        self.assertEqual(self.server.mailbox("u1"), [])

    def test_temporary_then_permanent_one_dsn(self):
        self.server.deliver("tempperm@remote.test", message("tempperm"), sender="u2@example.com")
        self.server.wait_states("tempperm@remote.test", ("failed",))
        (dsn,) = self.server.wait_mail("u2", 1)
        self.server.settle()
        self.assertEqual(len(self.server.mailbox("u2")), 1)
        human, status, original = dsn_parts(dsn)
        self.assertIn("tempperm@remote.test", human)
        self.assertIn("Final-Recipient: rfc822; tempperm@remote.test", status)
        self.assertIn("Action: failed", status)
        self.assertIn("Status: 5.1.1", status)
        self.assertIn("Diagnostic-Code: smtp; 550 5.1.1 no such user", status)
        self.assertIn("Content-Type: message/rfc822", original)
        self.assertIn("Subject: tempperm", original)

    def test_two_permanent_failures_one_dsn(self):
        self.server.deliver(["perm1@remote.test", "perm2@remote.test"], message("perm"),
                            sender="u3@example.com")
        self.server.wait_states("perm1@remote.test", ("failed",))
        self.server.wait_states("perm2@remote.test", ("failed",))
        (dsn,) = self.server.wait_mail("u3", 1)
        self.server.settle()
        self.assertEqual(len(self.server.mailbox("u3")), 1)
        self.assertEqual(header(dsn, "Subject"), "Delivery Failure Report")
        self.assertEqual(header(dsn, "Auto-Submitted"), "auto-replied")
        human, status, original = dsn_parts(dsn)
        self.assertIn("Final-Recipient: rfc822; perm1@remote.test", status)
        self.assertIn("Final-Recipient: rfc822; perm2@remote.test", status)
        self.assertIn("Status: 5.1.3", status)
        self.assertEqual(status.count("Action: failed"), 2)

    def test_null_sender_never_bounced(self):
        self.server.deliver("nullperm@remote.test", message("nullperm"), sender="")
        self.server.wait_states("nullperm@remote.test", ("failed",))
        self.server.settle()
        for user in self.users:
            for msg in self.server.mailbox(user):
                self.assertNotIn(b"nullperm", msg)


class Splitting(SenderTestCase):
    """max_recipients_per_message=2: five recipients of one message go in
    three transactions of one session."""

    @classmethod
    def smtp_servers(cls):
        return {"relay": ScriptedSMTP(name="relay.test")}

    @classmethod
    def sender_settings(cls):
        return {"sender": {"default_route": "smarthost1"},
                "smarthost1": {"servers": "127.0.0.1:%d" % cls.servers["relay"].port,
                               "encryption": "none", "max_recipients_per_message": "2"}}

    def test_max_recipients_per_message(self):
        relay = self.servers["relay"]
        rcpts = ["r%d@split.test" % i for i in range(5)]
        self.server.deliver(rcpts, message("split"))
        for r in rcpts:
            self.server.wait_states(r, ("delivered",))
        txns = [t for t in relay.transactions if t.rcpts[0].endswith("@split.test")]
        self.assertEqual(sorted(len(t.rcpts) for t in txns), [1, 2, 2])
        self.assertEqual(sorted(r for t in txns for r in t.rcpts), rcpts)
        self.assertEqual(relay.sessions, 1)


class RateLimit(SenderTestCase):
    """rate_limit_recipients=2 per 3 s: of three recipients, the third
    waits for the period and goes in a later session."""

    @classmethod
    def smtp_servers(cls):
        return {"relay": ScriptedSMTP(name="relay.test")}

    @classmethod
    def sender_settings(cls):
        return {"sender": {"default_route": "smarthost1"},
                "smarthost1": {"servers": "127.0.0.1:%d" % cls.servers["relay"].port,
                               "encryption": "none", "rate_limit_recipients": "2",
                               "rate_limit_period": "3s"}}

    def test_rate_limit(self):
        relay = self.servers["relay"]
        rcpts = ["r%d@rate.test" % i for i in range(3)]
        self.server.deliver(rcpts, message("rate"))
        for r in rcpts:
            self.server.wait_states(r, ("delivered",))
        txns = [t for t in relay.transactions if t.rcpts[0].endswith("@rate.test")]
        self.assertEqual(sorted(len(t.rcpts) for t in txns), [1, 2])
        self.assertEqual(relay.sessions, 2)

class DelayAndGiveUp(SenderTestCase):
    """A recipient that is always deferred: one delay warning, then one
    failure report when the sender gives up."""

    users = ("alice", "admin", "u1")

    @classmethod
    def smtp_servers(cls):
        return {"relay": ScriptedSMTP(name="relay.test", rcpt_replies={
            "slow@remote.test": ["452 4.2.2 mailbox full"]})}

    @classmethod
    def sender_settings(cls):
        return {"sender": {"default_route": "smarthost1", "warn_after": "2s",
                           "give_up_after": "8s"},
                "smarthost1": {"servers": "127.0.0.1:%d" % cls.servers["relay"].port,
                               "encryption": "none"}}

    def test_delay_warning_then_give_up(self):
        self.server.deliver("slow@remote.test", message("slow"), sender="u1@example.com")
        self.server.wait_states("slow@remote.test", ("failed",))
        self.server.wait_mail("u1", 2)
        self.server.settle()
        mails = self.server.mailbox("u1")
        subjects = sorted(header(m, "Subject") for m in mails)
        self.assertEqual(subjects, ["Delivery Delay Report", "Delivery Failure Report"])
        delay = [m for m in mails if header(m, "Subject") == "Delivery Delay Report"][0]
        human, status, original = dsn_parts(delay)
        self.assertIn("Action: delayed", status)
        self.assertIn("Will-Retry-Until:", status)
        self.assertIn("Content-Type: text/rfc822-headers", original)
        failure = [m for m in mails if header(m, "Subject") == "Delivery Failure Report"][0]
        human, status, original = dsn_parts(failure)
        self.assertIn("Action: failed", status)
        self.assertIn("Diagnostic-Code: smtp; 452 4.2.2 mailbox full", status)


class Alerts(SenderTestCase):
    """A smarthost nobody listens on: the administrator gets one "Error with
    SMTP Client" alert however often the sender retries."""

    @classmethod
    def sender_settings(cls):
        return {"sender": {"default_route": "smarthost1", "admin_address": "admin"},
                "smarthost1": {"servers": "127.0.0.1:%d" % free_port(), "encryption": "none"}}

    def test_one_alert_per_route(self):
        self.server.deliver("nobody@remote.test", message("alert"))
        (alert,) = self.server.wait_mail("admin", 1)
        self.assertTrue(header(alert, "Subject").startswith("Error with SMTP Client (smarthost1"),
                        header(alert, "Subject"))
        self.assertIn(b"refused", alert)
        deadline = time.monotonic() + WAIT
        while self.server.log_text().count("SENDER_DEFERRED") < 3:
            self.assertLess(time.monotonic(), deadline, "fewer than 3 attempts")
            time.sleep(0.3)
        self.assertEqual(len(self.server.mailbox("admin")), 1)
        self.assertEqual(self.server.mailbox("alice"), [])
        rows = self.server.queue("nobody@remote.test")
        self.assertIn(rows[0][1], ("deferred", "pending", "sending"))


class StopWhileSending(SenderTestCase):
    """SIGTERM while the relay takes its time to answer the message data:
    the sender waits for the reply and records it, so the restarted server
    does not send the message again."""

    @classmethod
    def smtp_servers(cls):
        return {"relay": ScriptedSMTP(name="relay.test", data_delay=2.0)}

    @classmethod
    def sender_settings(cls):
        return {"sender": {"default_route": "smarthost1"},
                "smarthost1": {"servers": "127.0.0.1:%d" % cls.servers["relay"].port,
                               "encryption": "none"}}

    def test_no_second_copy_after_restart(self):
        relay = self.servers["relay"]
        self.server.deliver("once@remote.test", message("once"))
        relay.wait(lambda s: any(c == "DATA" for c in s.commands), "DATA")
        time.sleep(0.5)  # the body is on its way; the reply is 2 s away
        self.server.proc.send_signal(signal.SIGTERM)
        self.server.proc.wait(timeout=WAIT)
        self.assertEqual(self.server.proc.returncode, 0, self.server.log_tail())
        self.server.proc = None
        self.server._log.close()
        self.server._log = None
        self.assertEqual(len(relay.delivered_to("once@remote.test")), 1)
        self.assertEqual(self.server.queue("once@remote.test")[0][1], "delivered")
        self.server.restart()
        self.server.settle()
        self.assertEqual(len(relay.delivered_to("once@remote.test")), 1)


class Direct(SenderTestCase):
    """Direct delivery through dnsmasq on 127.0.0.1: mx.test has two MX,
    the preferred one refusing connections; nomx.test has only an address;
    nx.test does not exist; *.relay.test goes to a smarthost by rule."""

    users = ("alice", "admin", "u1")

    @classmethod
    def smtp_servers(cls):
        cls.mx_port = free_port()
        return {
            "mx2": ScriptedSMTP(host="127.0.0.3", port=cls.mx_port, name="mx2.mx.test"),
            # Offers STARTTLS with a certificate nobody vouches for: direct
            # delivery takes it anyway (opportunistic TLS).
            "a": ScriptedSMTP(host="127.0.0.4", port=cls.mx_port, name="nomx.test",
                              cert=certificate(), starttls=True),
            "relay": ScriptedSMTP(name="relay.test"),
        }

    @classmethod
    def setUpClass(cls):
        cls.dns = Dnsmasq([
            "--mx-host=mx.test,mx1.mx.test,10",
            "--mx-host=mx.test,mx2.mx.test,20",
            "--host-record=mx1.mx.test,127.0.0.2",
            "--host-record=mx2.mx.test,127.0.0.3",
            "--host-record=nomx.test,127.0.0.4",
            "--local=/nx.test/",
            # Answer for nomx.test itself (no MX) instead of refusing.
            "--local=/nomx.test/",
        ])
        try:
            super().setUpClass()
        except BaseException:
            cls.dns.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.dns.stop()

    @classmethod
    def sender_settings(cls):
        return {"sender": {"default_route": "direct", "routes": "* *.relay.test smarthost1",
                           "dns_servers": "127.0.0.1:%d" % cls.dns.port,
                           "mx_port": str(cls.mx_port)},
                "smarthost1": {"servers": "127.0.0.1:%d" % cls.servers["relay"].port,
                               "encryption": "none"}}

    def test_mx_preference_order(self):
        mx2 = self.servers["mx2"]
        self.server.deliver("user@mx.test", message("mx"))
        mx2.wait(lambda s: s.delivered_to("user@mx.test"), "the message")
        self.server.wait_states("user@mx.test", ("delivered",))
        self.assertEqual(len(mx2.delivered_to("user@mx.test")), 1)

    def test_address_fallback_without_mx(self):
        a = self.servers["a"]
        self.server.deliver("user@nomx.test", message("nomx"))
        a.wait(lambda s: s.delivered_to("user@nomx.test"), "the message")
        self.server.wait_states("user@nomx.test", ("delivered",))
        (txn,) = a.delivered_to("user@nomx.test")
        self.assertTrue(txn.tls)

    def test_domain_filtering_rule(self):
        relay = self.servers["relay"]
        self.server.deliver(["user@x.relay.test", "other@mx.test"], message("rule"))
        relay.wait(lambda s: s.delivered_to("user@x.relay.test"), "the message")
        self.server.wait_states("user@x.relay.test", ("delivered",))
        self.server.wait_states("other@mx.test", ("delivered",))
        self.assertEqual(relay.delivered_to("other@mx.test"), [])
        self.assertEqual(len(self.servers["mx2"].delivered_to("other@mx.test")), 1)

    def test_domain_that_does_not_exist(self):
        self.server.deliver("user@nx.test", message("nx"), sender="u1@example.com")
        self.server.wait_states("user@nx.test", ("failed",))
        (dsn,) = self.server.wait_mail("u1", 1)
        human, status, original = dsn_parts(dsn)
        self.assertIn("Status: 5.1.2", status)
        self.server.settle()
        self.assertEqual(len(self.server.mailbox("u1")), 1)


class SmtpInSmarthostOut(SenderTestCase):
    """The whole way through: a trusted client hands mail for a remote
    address to the smtp module, the router queues it, and the sender relays
    it to the smarthost. Only the MX service is served (listen=none)."""

    @classmethod
    def smtp_servers(cls):
        return {"relay": ScriptedSMTP(name="relay.test")}

    @classmethod
    def sender_settings(cls):
        cls.smtp_port = free_port()
        return {
            "modules": {"enabled": "pop3;smtp;sender"},
            "sender": {"default_route": "smarthost1"},
            "smarthost1": {"servers": "127.0.0.1:%d" % cls.servers["relay"].port},
            "smtp": {"listen": "127.0.0.1:%d" % cls.smtp_port,
                     "access": "allow 127.0.0.1 noauth"},
            "submission": {"listen": "none"},
            "smtps": {"listen": "none"},
        }

    def test_received_by_smtp_relayed_by_the_sender(self):
        relay = self.servers["relay"]
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=WAIT) as client:
            refused = client.sendmail("alice@%s" % DOMAIN, ["dave@far.test"],
                                      message("end-to-end").replace(b"\n", b"\r\n"))
        self.assertEqual(refused, {})
        relay.wait(lambda s: s.delivered_to("dave@far.test"), "the relayed message")
        self.server.wait_states("dave@far.test", ("delivered",))
        (txn,) = relay.delivered_to("dave@far.test")
        self.assertEqual(txn.mail_from, "alice@%s" % DOMAIN)
        self.assertIn(b"Subject: end-to-end\r\n", txn.data)
        # Our Received: line travels on; the local Return-Path: does not.
        self.assertIn(b"with ESMTP", txn.data)
        self.assertFalse(txn.data.lower().startswith(b"return-path:"))


if __name__ == "__main__":
    run_tests()
