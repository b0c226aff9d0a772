#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collector module against a real postroomd: Dovecot's pop3d as the
ISP on loopback (plain, STLS with a CA file, implicit TLS; USER/PASS, AUTH
PLAIN, CRAM-MD5, APOP), leave-on-server ages, `postroomctl collector run`,
routing errors with the Non-existent user alert, and a scripted server
that misbehaves: drops the connection on LIST of an empty mailbox, reuses
UIDs, renumbers messages, answers -ERR in the middle of a download, sends
NUL bytes, stalls, or is not there at all."""

import os
import re
import shutil
import signal
import time

from collectortest import (
    DOMAIN, ISP_PASSWORD, CollectorTestCase, Dovecot, Message, ScriptedPOP3, free_port,
    message, run_tests)


def untagged(subjects):
    """Subjects without a query notice's token (" [query:TOKEN]"), sorted."""
    return sorted(re.sub(r" \[query:[a-z2-7]{26}\]$", "", s) for s in subjects)


def header_value(msg, name):
    for line in msg.split(b"\r\n"):
        if line == b"":
            return None
        if line.lower().startswith(name.lower().encode() + b":"):
            return line.split(b":", 1)[1].strip().decode("utf-8", "replace")
    return None


class DovecotISP(CollectorTestCase):
    """One Dovecot with a mailbox per test; every collector delivers to a
    local user of its own, so that tests do not see each other's mail."""

    users = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "admin")
    dovecot = None

    @classmethod
    def setUpClass(cls):
        cls.dovecot = Dovecot({u: ISP_PASSWORD for u in (
            "plain", "stls", "implicit", "apop", "untrusted", "keep", "ages", "never")})
        cls.dovecot.start()
        try:
            super().setUpClass()
        except BaseException:
            cls.dovecot.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.dovecot.stop()

    def collect(self, name, box, local, **options):
        self.server.add_collector(name, "127.0.0.1", options.pop("port", self.dovecot.port),
                                  username=box, deliver_to=local, **options)

    def test_plain_user_pass(self):
        d = self.dovecot
        body = b".leading dot\n..two dots\nplain line\n.\nlast\n"
        d.put("plain", message("plain-1", body=body))
        d.put("plain", message("plain-2"))
        d.put("plain", message("plain-3"))
        self.collect("plain", "plain", "alice")
        c = self.server.run("plain")
        self.assertEqual(c["last_result"], "3 messages", c)
        got = self.server.mailbox("alice")
        self.assertEqual(sorted(header_value(m, "Subject") for m in got),
                         ["plain-1", "plain-2", "plain-3"])
        first = [m for m in got if header_value(m, "Subject") == "plain-1"][0]
        self.assertTrue(first.endswith(body.replace(b"\n", b"\r\n")), first[-80:])
        self.assertIn(b"Received: ", first)
        # leave_days 0: deleted at the ISP once delivered.
        self.assertEqual(d.count("plain"), 0)
        self.assertEqual(c["uids"], 3)
        # A second session finds nothing new.
        d.put("plain", message("plain-4"))
        c = self.server.run("plain")
        self.assertEqual(c["last_result"], "1 message", c)
        self.assertEqual(sorted(header_value(m, "Subject") for m in self.server.mailbox("alice")),
                         ["plain-1", "plain-2", "plain-3", "plain-4"])
        self.assertEqual(self.server.mailbox("admin"), [])

    def test_stls_plain_auth_with_ca_file(self):
        d = self.dovecot
        d.put("stls", message("stls-1"))
        self.collect("stls", "stls", "bob", tls="stls", ca_file=d.cert, auth="plain")
        c = self.server.run("stls")
        self.assertEqual(c["last_result"], "1 message", c)
        self.assertEqual(self.server.subjects("bob"), ["stls-1"])
        self.assertEqual(d.count("stls"), 0)
        (login,) = d.logins("stls")
        self.assertIn("method=PLAIN", login)
        self.assertIn(", TLS,", login)

    def test_implicit_tls_cram_md5(self):
        d = self.dovecot
        d.put("implicit", message("implicit-1"))
        self.collect("implicit", "implicit", "carol", tls="implicit", port=d.tls_port,
                     ca_file=d.cert, auth="cram-md5")
        c = self.server.run("implicit")
        self.assertEqual(c["last_result"], "1 message", c)
        self.assertEqual(self.server.subjects("carol"), ["implicit-1"])
        (login,) = d.logins("implicit")
        self.assertIn("method=CRAM-MD5", login)
        self.assertIn(", TLS,", login)

    def test_apop_stls_if_available(self):
        d = self.dovecot
        d.put("apop", message("apop-1"))
        self.collect("apop", "apop", "dave", tls="stls-if-available", ca_file=d.cert,
                     auth="apop")
        c = self.server.run("apop")
        self.assertEqual(c["last_result"], "1 message", c)
        self.assertEqual(self.server.subjects("dave"), ["apop-1"])
        (login,) = d.logins("apop")
        self.assertIn("method=APOP", login)
        # Dovecot offers STLS: taken.
        self.assertIn(", TLS,", login)

    def test_untrusted_certificate(self):
        """Verification is on by default: the test certificate is not one
        the system trusts, so nothing is collected and the administrator
        hears why."""
        d = self.dovecot
        d.put("untrusted", message("untrusted-1"))
        self.collect("untrusted", "untrusted", "erin", tls="implicit", port=d.tls_port)
        c = self.server.run("untrusted")
        self.assertIn("encrypted connection", c["last_result"])
        self.assertEqual(self.server.mailbox("erin"), [])
        self.assertEqual(d.count("untrusted"), 1)
        alerts = [m for m in self.server.wait_mail("admin", 1)
                  if "untrusted" in (header_value(m, "Subject") or "")]
        self.assertEqual(len(alerts), 1)
        self.assertEqual(header_value(alerts[0], "Subject"),
                         "Error with Pop3 Client (untrusted (127.0.0.1:%d))" % d.tls_port)
        # Switched off, it collects.
        self.server.set_collector("untrusted", verify_cert="no")
        c = self.server.run("untrusted")
        self.assertEqual(c["last_result"], "1 message", c)
        self.assertEqual(self.server.subjects("erin"), ["untrusted-1"])

    def test_leave_days(self):
        """leave_days 2: messages stay at the ISP and are fetched once; once
        older than 2 days they are deleted ("deleting old message")."""
        d = self.dovecot
        d.put("keep", message("keep-1"))
        d.put("keep", message("keep-2"))
        self.collect("keep", "keep", "frank", leave_days="2")
        c = self.server.run("keep")
        self.assertEqual(c["last_result"], "2 messages", c)
        self.assertEqual(d.count("keep"), 2)
        d.put("keep", message("keep-3"))
        c = self.server.run("keep")
        self.assertEqual(c["last_result"], "1 message", c)
        self.assertEqual(self.server.subjects("frank"), ["keep-1", "keep-2", "keep-3"])
        self.assertEqual(d.count("keep"), 3)
        # One day later nothing changes; three days later all go.
        self.server.age_uids("keep", 1)
        c = self.server.run("keep")
        self.assertEqual(c["last_result"], "0 messages", c)
        self.assertEqual(d.count("keep"), 3)
        self.server.age_uids("keep", 2)
        c = self.server.run("keep")
        self.assertEqual(c["last_result"], "0 messages, 3 old messages deleted", c)
        self.assertEqual(d.count("keep"), 0)
        self.assertIn("deleting old message", self.server.log_text())
        self.assertEqual(len(self.server.mailbox("frank")), 3)

    def test_leave_days_never(self):
        d = self.dovecot
        d.put("never", message("never-1"))
        self.collect("never", "never", "grace", leave_days="-1")
        c = self.server.run("never")
        self.assertEqual(c["last_result"], "1 message", c)
        self.server.age_uids("never", 400)
        c = self.server.run("never")
        self.assertEqual(c["last_result"], "0 messages", c)
        self.assertEqual(d.count("never"), 1)
        self.assertEqual(self.server.subjects("grace"), ["never-1"])


class Routing(CollectorTestCase):
    """A catch-all mailbox routed by its headers; unknown users raise the
    Non-existent user alert (route_error admin-error, the default)."""

    @classmethod
    def setUpClass(cls):
        cls.isp = ScriptedPOP3()
        try:
            super().setUpClass()
        except BaseException:
            cls.isp.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.isp.stop()

    def test_headers_and_nonexistent_user(self):
        self.isp.set_messages([
            Message("r1", message("to-alice", to="alice@%s" % DOMAIN)),
            Message("r2", message("to-both", to="bob@%s, someone@elsewhere.test" % DOMAIN,
                                  extra=b"Cc: alice@%s\n" % DOMAIN.encode())),
            Message("r3", message("to-nobody", to="nobody@%s" % DOMAIN)),
        ])
        self.server.add_collector("catchall", "127.0.0.1", self.isp.port, routing="headers",
                                  accepted_domains=DOMAIN, deliver_to="admin")
        c = self.server.run("catchall")
        self.assertEqual(self.server.subjects("alice"), ["to-alice", "to-both"])
        self.assertEqual(self.server.subjects("bob"), ["to-both"])
        alerts = self.server.mailbox("admin")
        self.assertEqual(len(alerts), 1, [header_value(m, "Subject") for m in alerts])
        self.assertEqual(header_value(alerts[0], "Subject"),
                         "Postroom Alert - Non-existent user - nobody@%s" % DOMAIN)
        text = alerts[0].split(b"\r\n\r\n", 1)[1]
        self.assertTrue(text.startswith(
            b"Delivery Failure Report.\r\n\r\n"
            b"There was incoming mail for non-existent user \"nobody@example.com\".\r\n"), text)
        self.assertIn(b"to-nobody", text)
        # Every message was handled (the alert stands for r3): all deleted.
        self.assertEqual(self.isp.uids(), [])
        self.assertEqual(c["uids"], 3)

    def test_implicit_mapping_off(self):
        """implicit_mapping no: alice@ no longer reaches alice by name, a
        mapping still works; for this collector only."""
        self.isp.set_messages([
            Message("i1", message("by-name", to="alice@%s" % DOMAIN)),
            Message("i2", message("by-mapping", to="info@%s" % DOMAIN)),
        ])
        self.server.ctl("mapping", "add", "info", "bob")
        self.server.add_collector("strict", "127.0.0.1", self.isp.port, routing="headers",
                                  accepted_domains=DOMAIN, deliver_to="admin",
                                  implicit_mapping="no")
        before = len(self.server.mailbox("admin"))
        bob_before = self.server.subjects("bob")
        self.server.run("strict")
        self.assertEqual(self.server.subjects("bob"), sorted(bob_before + ["by-mapping"]))
        self.assertNotIn("by-name", self.server.subjects("alice"))
        alerts = self.server.mailbox("admin")[before:]
        self.assertEqual([header_value(m, "Subject") for m in alerts],
                         ["Postroom Alert - Non-existent user - alice@%s" % DOMAIN])


class RouteErrors(CollectorTestCase):
    """The other route_error choices: the message to the administrator,
    a bounce to its sender (queued: no sender module here), discard."""

    def isp(self, messages):
        isp = ScriptedPOP3()
        self.addCleanup(isp.stop)
        isp.set_messages(messages)
        return isp

    def test_admin_message(self):
        isp = self.isp([Message("a1", message("for-nobody-1", to="nobody@%s" % DOMAIN))])
        self.server.add_collector("adminmsg", "127.0.0.1", isp.port, routing="headers",
                                  accepted_domains=DOMAIN, route_error="admin-message")
        self.server.run("adminmsg")
        self.assertEqual(self.server.subjects("admin"), ["for-nobody-1"])
        self.assertEqual(isp.uids(), [])

    def queued_to(self, rcpt):
        """The messages queued for @rcpt, as bytes."""
        rows = self.server.query(
            "SELECT m.spool_path FROM queue q JOIN messages m ON m.id = q.message_id "
            "WHERE q.recipient = :rcpt", {"rcpt": rcpt})
        out = []
        for (path,) in rows:
            with open(os.path.join(self.server.data_dir, "spool", path), "rb") as f:
                out.append(f.read())
        return out

    def test_bounce(self):
        isp = self.isp([Message("b1", message("for-nobody-2", to="ghost@%s" % DOMAIN))])
        self.server.add_collector("bounce", "127.0.0.1", isp.port, routing="headers",
                                  accepted_domains=DOMAIN, route_error="bounce")
        self.server.run("bounce")
        (dsn,) = self.queued_to("sender@remote.test")
        self.assertEqual(isp.uids(), [])
        self.assertNotIn("for-nobody-2", self.server.subjects("admin"))
        # An RFC 3464 report: the three parts, the per-recipient fields.
        self.assertRegex(dsn, rb"(?i)\r\ncontent-type: multipart/report; "
                              rb"report-type=delivery-status;")
        self.assertIn(b"\r\nContent-Type: message/delivery-status\r\n", dsn)
        self.assertIn(b"\r\nContent-Type: text/rfc822-headers\r\n", dsn)
        self.assertIn(b"\r\nReporting-MTA: dns; ", dsn)
        self.assertIn(b"\r\nArrival-Date: ", dsn)
        self.assertIn(b"\r\nFinal-Recipient: rfc822; ghost@%s\r\n" % DOMAIN.encode(), dsn)
        self.assertIn(b"\r\nAction: failed\r\nStatus: 5.1.1\r\n", dsn)
        self.assertIn(b"\r\nDiagnostic-Code: ", dsn)
        self.assertIn(b"\r\nSubject: for-nobody-2\r\n", dsn)
        self.assertNotIn(b"Hello.", dsn)  # the header only
        self.assertIn(b"Delivery Failure Report.", dsn)

    def test_no_bounce_to_mailer_daemon(self):
        isp = self.isp([Message("md1", message("from-daemon", to="ghost2@%s" % DOMAIN).replace(
            b"From: Sender <sender@remote.test>", b"From: <MAILER-DAEMON@remote.test>"))])
        self.server.add_collector("nobounce", "127.0.0.1", isp.port, routing="headers",
                                  accepted_domains=DOMAIN, route_error="bounce")
        self.server.run("nobounce")
        self.assertEqual(self.queued_to("MAILER-DAEMON@remote.test"), [])
        self.assertEqual(self.queued_to("mailer-daemon@remote.test"), [])
        self.assertEqual(isp.uids(), [])

    def test_discard(self):
        isp = self.isp([Message("c1", message("for-nobody-3", to="nobody3@%s" % DOMAIN))])
        self.server.add_collector("discard", "127.0.0.1", isp.port, routing="headers",
                                  accepted_domains=DOMAIN, route_error="discard")
        c = self.server.run("discard")
        self.assertEqual(isp.uids(), [])
        self.assertEqual(self.server.uids("discard")["c1"][0], "left")
        self.assertEqual(c["last_result"], "0 messages", c)


RULES = """
[rule ignore-me]
header:Subject = *ignore-me*
action = ignore

[rule zap]
header:Subject = *zap*
action = silently-delete

[rule warn]
header:Subject = *warn*
action = delete-and-warn

[rule redirect]
header:Subject = *redirect*
action = redirect
target = bob

[rule copy]
header:Subject = *copy*
action = copy
target = bob

[rule ask]
header:Subject = *ask*
action = query

[rule dad]
header:Subject = *dad*
action = download-and-delete
"""


class RulesAndLimits(CollectorTestCase):
    """Download rules (one of each kind of effect) and max_size."""

    users = ("alice", "bob", "carol", "dora", "admin")

    @classmethod
    def collector_settings(cls):
        import tempfile
        cls.rules_dir = tempfile.mkdtemp(prefix="postroom-rules-")
        path = os.path.join(cls.rules_dir, "download-rules.conf")
        with open(path, "w") as f:
            f.write(RULES)
        return {"collector": {"rules_file": path}}

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.rules_dir, ignore_errors=True)

    def test_rules(self):
        isp = ScriptedPOP3()
        self.addCleanup(isp.stop)
        tags = ["ignore-me", "zap", "warn", "redirect", "copy", "ask", "dad", "plain"]
        isp.set_messages([Message("u-" + t, message("m-" + t)) for t in tags])
        self.server.add_collector("rules", "127.0.0.1", isp.port, deliver_to="alice",
                                  leave_days="-1", use_rules="yes")
        c = self.server.run("rules")
        self.assertEqual(untagged(self.server.subjects("alice")),
                         ["A message is waiting on the server", "A message was deleted unread",
                          "m-copy", "m-dad", "m-plain"])
        self.assertEqual(self.server.subjects("bob"), ["m-copy", "m-redirect"])
        self.assertEqual(sorted(isp.uids()), sorted(
            ["u-ignore-me", "u-redirect", "u-copy", "u-ask", "u-plain"]))
        states = self.server.uids("rules")
        self.assertEqual(states["u-ignore-me"][0], "left")
        self.assertEqual(states["u-ask"][0], "queried")
        self.assertEqual(states["u-plain"][0], "downloaded")
        with open(os.path.join(self.server.data_dir, "logs", "dlrules.log")) as f:
            log = f.read()
        for rule in ("ignore-me", "zap", "warn", "redirect", "copy", "ask", "dad"):
            self.assertIn('rule "%s"' % rule, log)
        self.assertNotIn("m-plain", log)
        # Nothing twice: no new notice, no new copy.
        c = self.server.run("rules")
        self.assertEqual(c["last_result"], "0 messages", c)
        self.assertEqual(len(self.server.mailbox("alice")), 5)
        self.assertEqual(len(self.server.mailbox("bob")), 2)

    def test_rules_without_top(self):
        """An ISP that refuses TOP: the headers come with RETR, TOP is not
        tried again in the session, each message is downloaded once and the
        rules still decide."""
        isp = ScriptedPOP3()
        self.addCleanup(isp.stop)
        isp.no_top = True
        tags = ["ignore-me", "zap", "plain", "plain2"]
        isp.set_messages([Message("n-" + t, message("nt-" + t)) for t in tags])
        self.server.add_collector("notop", "127.0.0.1", isp.port, deliver_to="dora",
                                  use_rules="yes")
        c = self.server.run("notop")
        self.assertEqual(c["last_result"], "2 messages", c)
        self.assertEqual(self.server.subjects("dora"), ["nt-plain", "nt-plain2"])
        self.assertEqual(isp.uids(), ["n-ignore-me"])
        self.assertEqual(len([l for l in isp.commands if l.upper().startswith("TOP ")]), 1,
                         isp.commands)
        self.assertEqual(sorted(isp.retrieved), sorted("n-" + t for t in tags))
        self.assertEqual(self.server.uids("notop")["n-ignore-me"][0], "left")
        self.assertEqual(self.server.mailbox("admin"), [])
        # Nothing twice.
        c = self.server.run("notop")
        self.assertEqual(c["last_result"], "0 messages", c)
        self.assertEqual(len(self.server.mailbox("dora")), 2)

    def test_max_size(self):
        isp = ScriptedPOP3()
        self.addCleanup(isp.stop)
        isp.set_messages([Message("big", message("big-one", body=(b"b" * 70 + b"\n") * 50)),
                          Message("small", message("small-one"))])
        self.server.add_collector("limit", "127.0.0.1", isp.port, deliver_to="carol",
                                  max_size="2")
        c = self.server.run("limit")
        self.assertEqual(c["last_result"], "1 message", c)
        self.assertEqual(untagged(self.server.subjects("carol")),
                         ["A message is waiting on the server", "small-one"])
        self.assertEqual(isp.uids(), ["big"])
        self.assertEqual(self.server.uids("limit")["big"][0], "queried")
        c = self.server.run("limit")
        self.assertEqual(len(self.server.mailbox("carol")), 2)
        # A larger limit lets it through at the next session.
        self.server.set_collector("limit", max_size="10")
        c = self.server.run("limit")
        self.assertEqual(c["last_result"], "1 message", c)
        self.assertEqual(untagged(self.server.subjects("carol")),
                         ["A message is waiting on the server", "big-one", "small-one"])
        self.assertEqual(isp.uids(), [])


class Misbehaving(CollectorTestCase):
    """The scripted ISP, one collector per test (each its own server)."""

    users = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "henry", "ivan", "judy",
             "admin")

    def isp(self):
        isp = ScriptedPOP3()
        self.addCleanup(isp.stop)
        return isp

    def admin_alerts(self, collector):
        return [m for m in self.server.mailbox("admin")
                if "(%s (" % collector in (header_value(m, "Subject") or "")]

    def test_return_path(self):
        """The ISP's Return-Path fields go; the delivery writes one, with
        the first one's address as the envelope sender."""
        isp = self.isp()
        isp.set_messages([Message("rp1", b"Return-Path: <bounces@isp.test>\n"
                                         b"Return-Path: <other@isp.test>\n" +
                                  message("return-path",
                                          extra=b"return-path :\n <third@isp.test>\n"))])
        self.server.add_collector("retpath", "127.0.0.1", isp.port, deliver_to="ivan")
        self.server.run("retpath")
        (msg,) = self.server.mailbox("ivan")
        head = msg.split(b"\r\n\r\n", 1)[0]
        fields = [l for l in head.split(b"\r\n") if l.lower().replace(b" ", b"")
                  .startswith(b"return-path:")]
        self.assertEqual(fields, [b"Return-Path: <bounces@isp.test>"], head)
        self.assertNotIn(b"third@isp.test", head)
        self.assertIn(b"\r\nSubject: return-path\r\n", head)

    def test_pipelining_off(self):
        """pipelining no: commands go one at a time to a server that offers
        PIPELINING; with auto they do not (which shows the server sees it)."""
        isp = self.isp()
        isp.pipelining = True
        isp.set_messages([Message("p%d" % i, message("pipe-%d" % i)) for i in range(4)])
        self.server.add_collector("nopipe", "127.0.0.1", isp.port, deliver_to="judy",
                                  pipelining="no")
        self.assertEqual(self.server.show("nopipe")["options"]["pipelining"], "no")
        c = self.server.run("nopipe")
        self.assertEqual(c["last_result"], "4 messages", c)
        self.assertEqual(isp.pipelined, 0, isp.commands)
        self.assertEqual(isp.uids(), [])
        isp.set_messages([Message("q%d" % i, message("pipe-auto-%d" % i)) for i in range(4)])
        self.server.set_collector("nopipe", pipelining="auto")
        c = self.server.run("nopipe")
        self.assertEqual(c["last_result"], "4 messages", c)
        self.assertGreater(isp.pipelined, 0, isp.commands)
        self.assertEqual(len(self.server.mailbox("judy")), 8)

    def test_drop_on_list_of_empty_mailbox(self):
        isp = self.isp()
        isp.drop_on_empty_list = True
        self.server.add_collector("qpop", "127.0.0.1", isp.port, deliver_to="alice")
        c = self.server.run("qpop")
        self.assertEqual(c["last_result"], "0 messages", c)
        self.assertEqual(self.admin_alerts("qpop"), [])
        isp.set_messages([Message("q1", message("qpop-1"))])
        c = self.server.run("qpop")
        self.assertEqual(c["last_result"], "1 message", c)
        self.assertEqual(self.server.subjects("alice"), ["qpop-1"])

    def test_uid_reuse(self):
        """A UID the server gives a new message once the old one is gone
        (obsolete_uid_days 0) is collected again."""
        isp = self.isp()
        isp.set_messages([Message("same", message("reuse-1"))])
        self.server.add_collector("reuse", "127.0.0.1", isp.port, deliver_to="bob")
        self.server.run("reuse")
        self.assertEqual(isp.uids(), [])
        self.server.run("reuse")  # the server lists nothing: the UID is obsolete
        isp.set_messages([Message("same", message("reuse-2"))])
        c = self.server.run("reuse")
        self.assertEqual(c["last_result"], "1 message", c)
        self.assertEqual(self.server.subjects("bob"), ["reuse-1", "reuse-2"])

    def test_renumbered_messages(self):
        """Message numbers change between sessions (others were deleted by
        another client): the UIDs decide, nothing is fetched twice."""
        isp = self.isp()
        isp.set_messages([Message("n%d" % i, message("renum-%d" % i)) for i in range(1, 4)])
        self.server.add_collector("renum", "127.0.0.1", isp.port, deliver_to="carol",
                                  leave_days="5")
        self.server.run("renum")
        isp.set_messages([Message("n0", message("renum-0")), Message("n3", message("renum-3")),
                          Message("n1", message("renum-1")), Message("n4", message("renum-4"))])
        c = self.server.run("renum")
        self.assertEqual(c["last_result"], "2 messages", c)
        self.assertEqual(self.server.subjects("carol"),
                         ["renum-0", "renum-1", "renum-2", "renum-3", "renum-4"])

    def test_err_mid_download(self):
        isp = self.isp()
        isp.set_messages([Message("e%d" % i, message("err-%d" % i)) for i in range(1, 4)])
        isp.retr_err = {"e2": "Can't open the message file - it's gone!"}
        self.server.add_collector("errmid", "127.0.0.1", isp.port, deliver_to="dave")
        c = self.server.run("errmid")
        self.assertEqual(self.server.subjects("dave"), ["err-1", "err-3"])
        self.assertIn("1 left on the server", c["last_result"])
        self.assertEqual(isp.uids(), ["e2"])
        (alert,) = self.admin_alerts("errmid")
        self.assertEqual(header_value(alert, "Subject"),
                         "Error with Pop3 Client (errmid (127.0.0.1:%d))" % isp.port)
        self.assertIn(b"-ERR Can't open the message file - it's gone!", alert)
        # Fixed at the ISP: the next session fetches it, once.
        isp.retr_err = {}
        c = self.server.run("errmid")
        self.assertEqual(c["last_result"], "1 message", c)
        self.assertEqual(self.server.subjects("dave"), ["err-1", "err-2", "err-3"])

    def nul_collector(self, name, user, **options):
        isp = self.isp()
        isp.set_messages([Message("z1", message("nul-1", body=b"a\0b\nc\n")),
                          Message("z2", message("nul-2"))])
        self.server.add_collector(name, "127.0.0.1", isp.port, deliver_to=user, **options)
        return isp, self.server.run(name)

    def test_nul_refuse(self):
        isp, c = self.nul_collector("nulrefuse", "erin")
        self.assertIn("Data stream contained NUL character", c["last_result"])
        # Not downloaded, and the session stopped: nul-2 waits too.
        self.assertEqual(self.server.mailbox("erin"), [])
        self.assertEqual(isp.uids(), ["z1", "z2"])
        (alert,) = self.admin_alerts("nulrefuse")
        self.assertIn(b"Data stream contained NUL character", alert)

    def test_nul_remove(self):
        isp, c = self.nul_collector("nulremove", "frank", nul="remove")
        self.assertEqual(c["last_result"], "2 messages", c)
        got = {header_value(m, "Subject"): m for m in self.server.mailbox("frank")}
        self.assertTrue(got["nul-1"].endswith(b"\r\n\r\nab\r\nc\r\n"), got["nul-1"][-40:])

    def test_nul_replace(self):
        isp, c = self.nul_collector("nulreplace", "grace", nul="replace", nul_char="_")
        self.assertEqual(c["last_result"], "2 messages", c)
        got = {header_value(m, "Subject"): m for m in self.server.mailbox("grace")}
        self.assertTrue(got["nul-1"].endswith(b"\r\n\r\na_b\r\nc\r\n"), got["nul-1"][-40:])

    def test_stall(self):
        """The server stops sending in the middle of a message: the session
        ends after command_timeout; what was delivered stays delivered (and
        is deleted next time), the stalled message is fetched next time."""
        isp = self.isp()
        isp.set_messages([Message("s1", message("stall-1")),
                          Message("s2", message("stall-2", body=(b"x" * 70 + b"\n") * 300))])
        isp.stall_retr = "s2"
        self.server.add_collector("stall", "127.0.0.1", isp.port, deliver_to="henry")
        start = time.monotonic()
        c = self.server.run("stall")
        self.assertIn("did not answer in time", c["last_result"])
        self.assertGreaterEqual(time.monotonic() - start, 2.5)
        self.assertEqual(self.server.subjects("henry"), ["stall-1"])
        # The session ended without QUIT: nothing was removed.
        self.assertEqual(isp.uids(), ["s1", "s2"])
        isp.stall_retr = None
        c = self.server.run("stall")
        self.assertEqual(c["last_result"], "1 message", c)
        self.assertEqual(self.server.subjects("henry"), ["stall-1", "stall-2"])
        self.assertEqual(isp.uids(), [])

    def test_unreachable_alert_rate_limit(self):
        port = free_port()
        self.server.add_collector("gone", "127.0.0.1", port, deliver_to="alice")
        c = self.server.run("gone")
        self.assertIn("refused the connection", c["last_result"])
        (alert,) = [m for m in self.server.wait_mail("admin", 1)
                    if "gone" in (header_value(m, "Subject") or "")]
        self.assertEqual(header_value(alert, "Subject"),
                         "POP3 Client Connection Problem (gone (127.0.0.1:%d))" % port)
        self.assertIn(b"nothing listens on port %d" % port, alert)
        # One alert per alert_interval (an hour here), however often it fails.
        self.server.run("gone")
        self.server.run("gone")
        time.sleep(1)
        self.assertEqual(len([m for m in self.server.mailbox("admin")
                              if "(gone (" in (header_value(m, "Subject") or "")]), 1)

    def test_wrong_password(self):
        isp = self.isp()
        isp.set_messages([Message("w1", message("wrong-1"))])
        self.server.add_collector("wrongpw", "127.0.0.1", isp.port, deliver_to="alice",
                                  password="not it")
        c = self.server.run("wrongpw")
        self.assertIn("did not accept the login", c["last_result"])
        (alert,) = self.admin_alerts("wrongpw")
        self.assertIn(b'-ERR Password supplied for "isp-user" is incorrect', alert)
        self.assertEqual(isp.uids(), ["w1"])


class Shutdown(CollectorTestCase):
    """SIGTERM while a session waits for the ISP in the middle of a message:
    postroomd stops at once and cleanly (the session is cancelled, its
    claim given back), and the message is collected after the restart."""

    def test_sigterm_during_download(self):
        isp = ScriptedPOP3()
        self.addCleanup(isp.stop)
        isp.set_messages([Message("t1", message("term-1")),
                          Message("t2", message("term-2", body=(b"t" * 70 + b"\n") * 100))])
        isp.pause_retr = "t2"
        self.server.add_collector("term", "127.0.0.1", isp.port, deliver_to="alice")
        self.server.ctl("collector", "run", "term")
        isp.wait(lambda s: s.paused == ("RETR", "t2"), "the pause in RETR t2")
        # t1 downloads before t2 but is delivered while t2 downloads (the
        # session overlaps them): stop once it is in the mailbox, so that
        # the next session has only t2 to fetch (and t1 to delete).
        self.server.wait_mail("alice", 1)
        start = time.monotonic()
        self.assertEqual(self.server.stop(), 0, self.server.log_tail())
        self.assertLess(time.monotonic() - start, 10)
        log = self.server.log_text()
        self.assertIn("The session was stopped", log)
        self.assertNotIn("COLLECTOR_STOP_TIMEOUT", log)
        for marker in ("CRITICAL", "ERROR: AddressSanitizer", "runtime error:"):
            self.assertNotIn(marker, log)
        isp.pause_retr = None
        self.server.restart()
        c = self.server.show("term")
        self.assertEqual(c["claimed_by"], "")
        self.assertIn("The session was stopped", c["last_result"])
        c = self.server.run("term")
        self.assertEqual(c["last_result"], "1 message", c)
        self.assertEqual(self.server.subjects("alice"), ["term-1", "term-2"])
        self.assertEqual(isp.uids(), [])
        self.assertEqual(self.server.mailbox("admin"), [])

    def test_sigkill_claim_released_at_start(self):
        """A crash leaves the claim in the store; the next start of the same
        instance gives it back, so the collector is not held for
        claim_lease (a disabled collector shows it: nothing claims it
        again), and the run requested before the crash goes at once."""
        isp = ScriptedPOP3()
        self.addCleanup(isp.stop)
        isp.set_messages([Message("k1", message("kill-1", body=(b"k" * 70 + b"\n") * 100))])
        isp.pause_retr = "k1"
        self.server.add_collector("killed", "127.0.0.1", isp.port, deliver_to="bob")
        self.server.ctl("collector", "run", "killed")
        isp.wait(lambda s: s.paused == ("RETR", "k1"), "the pause in RETR k1")
        self.assertNotEqual(self.server.show("killed")["claimed_by"], "")
        self.server.proc.send_signal(signal.SIGKILL)
        self.server.proc.wait(timeout=20)
        self.server._log.close()
        self.server.set_collector("killed", enabled="no")
        self.assertNotEqual(self.server.show("killed")["claimed_by"], "")
        isp.pause_retr = None
        self.server.restart()
        c = self.server.show("killed")
        self.assertEqual(c["claimed_by"], "", self.server.log_tail())
        self.assertIn("collector claims left by an earlier run", self.server.log_text())
        # The run asked for before the crash never finished: it is still
        # requested, and goes as soon as the collector is enabled.
        self.assertNotEqual(c["run_requested"], 0, c)
        self.server.set_collector("killed", enabled="yes")
        c = self.server.wait_run("killed")
        self.assertEqual(c["last_result"], "1 message", c)
        self.assertEqual(self.server.subjects("bob"), ["kill-1"])
        self.assertEqual(isp.uids(), [])


if __name__ == "__main__":
    run_tests()
