#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Query flow's replies (VPOP3 §2.5): a message over max_size is left
on the scripted ISP's server and its recipient gets a notice from the
collector's own address (`postroom-collector+TOKEN@domain`, the token in
the subject too). The recipient's reply, sent through postroomd's SMTP
port, makes the next session (asked for at once) download it; replies
with a bad or missing token, from someone the notice did not go to, or
too late change nothing; `postroomctl collector fetch` does what a reply
does."""

import re
import smtplib
import time

from collectortest import (
    DOMAIN, HOST, IO_TIMEOUT, WAIT, CollectorTestCase, Message, ScriptedPOP3, free_port,
    message, run_tests)

NOTICE = "A message is waiting on the server"
BIG_BODY = (b"b" * 70 + b"\n") * 50  # about 3.5 KiB: over max_size=2 (KiB)
TOKEN_RE = re.compile(r"\[query:([a-z2-7]{26})\]")


def header(msg, name):
    for line in msg.split(b"\r\n"):
        if line == b"":
            return None
        if line.lower().startswith(name.lower().encode() + b":"):
            return line.split(b":", 1)[1].strip().decode("utf-8", "replace")
    return None


class QueryReplies(CollectorTestCase):
    users = ("carol", "dave", "erin", "frank", "grace", "admin")
    smtp_port = None

    @classmethod
    def collector_settings(cls):
        cls.smtp_port = free_port()
        return {"modules": {"enabled": "pop3;smtp;collector"},
                "smtp": {"listen": "%s:%d" % (HOST, cls.smtp_port)},
                "submission": {"listen": "none"}, "smtps": {"listen": "none"}}

    # ---- helpers

    def send(self, sender, rcpt, subject, body=b"Yes please.\r\n"):
        """Sends a message through postroomd's SMTP port; fails unless it is
        accepted."""
        msg = (b"From: <" + sender.encode() + b">\r\nTo: <" + rcpt.encode() + b">\r\n"
               b"Subject: " + subject.encode() + b"\r\n\r\n" + body)
        deadline = time.monotonic() + WAIT
        while True:
            try:
                s = smtplib.SMTP(HOST, self.smtp_port, timeout=IO_TIMEOUT)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        try:
            refused = s.sendmail(sender, [rcpt], msg)
            self.assertEqual(refused, {})
        finally:
            s.quit()

    def held(self, name, user, uid="big"):
        """A collector @name for @user with a big and a small message, run
        once: the big one is queried. Returns (isp, notice)."""
        isp = ScriptedPOP3()
        self.addCleanup(isp.stop)
        isp.set_messages([Message(uid, message(uid + "-one", to="%s@%s" % (user, DOMAIN),
                                               body=BIG_BODY)),
                          Message("small-" + uid, message("small-" + uid,
                                                          to="%s@%s" % (user, DOMAIN)))])
        self.server.add_collector(name, "127.0.0.1", isp.port, deliver_to=user, max_size="2")
        c = self.server.run(name)
        self.assertEqual(c["last_result"], "1 message", c)
        self.assertEqual(self.server.uids(name)[uid][0], "queried")
        notices = [m for m in self.server.mailbox(user)
                   if (header(m, "Subject") or "").startswith(NOTICE)]
        self.assertEqual(len(notices), 1, self.server.subjects(user))
        self.assertEqual(isp.uids(), [uid])
        return isp, notices[0]

    def token_of(self, notice):
        subject = header(notice, "Subject")
        m = TOKEN_RE.search(subject)
        self.assertIsNotNone(m, subject)
        token = m.group(1)
        reply_to = header(notice, "Reply-To")
        self.assertEqual(reply_to, "postroom-collector+%s@%s" % (token, DOMAIN))
        self.assertIn("<%s>" % reply_to, header(notice, "From"))
        return token, reply_to

    def wait_state(self, name, uid, state):
        deadline = time.monotonic() + WAIT
        got = None
        while time.monotonic() < deadline:
            got = self.server.uids(name).get(uid, (None,))[0]
            if got == state:
                return
            time.sleep(0.2)
        raise AssertionError("UID %s of %s is %r, not %r within %ds\n%s" % (
            uid, name, got, state, WAIT, self.server.log_tail(60)))

    def wait_subject(self, user, text):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            subjects = self.server.subjects(user)
            if any(text in s for s in subjects):
                return subjects
            time.sleep(0.2)
        raise AssertionError("%s got no %r within %ds: %r\n%s" % (
            user, text, WAIT, self.server.subjects(user), self.server.log_tail(60)))

    def wait_log(self, text):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if text in self.server.log_text():
                return
            time.sleep(0.2)
        raise AssertionError("log has no %r within %ds\n%s" % (
            text, WAIT, self.server.log_tail(60)))

    # ---- tests

    def test_reply_fetches(self):
        isp, notice = self.held("replies", "carol")
        token, reply_to = self.token_of(notice)
        rows = self.server.query("SELECT u.query_token, u.query_rcpts FROM collector_uids u "
                                 "JOIN collectors c ON c.id = u.collector_id "
                                 "WHERE c.name = 'replies' AND u.uid = 'big'")
        self.assertEqual(rows, [(token, "carol")])
        before = len(self.server.mailbox("carol"))

        # A token of the right form that nobody gave: explained to the
        # (local) sender, nothing else happens.
        wrong = "a" * 26
        self.assertNotEqual(wrong, token)
        self.send("carol@" + DOMAIN, "postroom-collector+%s@%s" % (wrong, DOMAIN), "Re: hm")
        self.wait_subject("carol", "Your request was not understood")
        # No token at all, to the bare address, in any case.
        self.send("carol@" + DOMAIN, "Postroom-Collector@" + DOMAIN, "Re: fetch it")
        deadline = time.monotonic() + WAIT
        while (time.monotonic() < deadline and
               self.server.subjects("carol").count("Your request was not understood") < 2):
            time.sleep(0.2)
        self.assertEqual(self.server.subjects("carol").count("Your request was not understood"),
                         2)
        # The right token from a local user the notice did not go to.
        self.send("dave@" + DOMAIN, reply_to, "Re: " + header(notice, "Subject"))
        self.wait_log("reply from <dave@%s> about message big ignored" % DOMAIN)
        # From outside, with a wrong token: not answered (no backscatter).
        self.send("someone@remote.test", "postroom-collector+%s@%s" % (wrong, DOMAIN), "x")
        self.wait_log("reply from <someone@remote.test> names no waiting message")
        self.assertEqual(self.server.uids("replies")["big"][0], "queried")
        self.assertEqual(self.server.mailbox("dave"), [])
        self.assertEqual(len(self.server.mailbox("carol")), before + 2)
        self.assertEqual(isp.uids(), ["big"])

        # The recipient's reply: requested, a session runs by itself, the
        # message is downloaded and deleted at the ISP.
        self.send("carol@" + DOMAIN, reply_to, "Re: " + header(notice, "Subject"))
        self.wait_subject("carol", "big-one")
        self.wait_state("replies", "big", "downloaded")
        subjects = self.wait_subject("carol", "Your message will be downloaded")
        deadline = time.monotonic() + WAIT
        while isp.uids() and time.monotonic() < deadline:
            time.sleep(0.2)
        self.assertEqual(isp.uids(), [])
        self.assertEqual(subjects.count("big-one"), 1)
        self.assertIn("message big requested by <carol@%s>" % DOMAIN, self.server.log_text())

        # Asking again: already downloaded, nothing fetched twice.
        self.send("carol@" + DOMAIN, reply_to, "Re: again")
        self.wait_subject("carol", "Your message was downloaded already")
        self.assertEqual(self.server.subjects("carol").count("big-one"), 1)

    def test_reply_by_subject(self):
        """A reply written to the bare address finds the token in the
        subject (a client that drops the subaddress)."""
        isp, notice = self.held("subject", "erin")
        token, _ = self.token_of(notice)
        self.send("erin@" + DOMAIN, "postroom-collector@" + DOMAIN,
                  "AW: Re: whatever [query:%s]" % token)
        self.wait_subject("erin", "big-one")
        self.wait_state("subject", "big", "downloaded")

    def test_reply_too_late(self):
        isp, notice = self.held("late", "frank")
        token, reply_to = self.token_of(notice)
        sql = ("UPDATE collector_uids SET queried_at = queried_at - %d WHERE query_token = '%s'"
               % (15 * 86400, token))
        self.admin_sql(sql)
        self.send("frank@" + DOMAIN, reply_to, "Re: please")
        self.wait_subject("frank", "Your request came too late")
        self.assertEqual(self.server.uids("late")["big"][0], "queried")
        self.assertEqual(isp.uids(), ["big"])

    def test_ctl_fetch(self):
        isp, _ = self.held("admin-fetch", "grace")
        # Unknown collector, unknown UID: errors, nothing changes.
        res = self.server.ctl("collector", "fetch", "no-such", "big", check=False)
        self.assertNotEqual(res.returncode, 0)
        res = self.server.ctl("collector", "fetch", "admin-fetch", "nope", check=False)
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("nope", res.stderr)
        # The downloaded small one cannot be fetched again this way.
        res = self.server.ctl("collector", "fetch", "admin-fetch", "small-big", check=False)
        self.assertNotEqual(res.returncode, 0)
        self.assertIn("forget", res.stderr)
        self.assertEqual(self.server.uids("admin-fetch")["big"][0], "queried")

        self.server.ctl("collector", "fetch", "admin-fetch", "big")
        self.wait_subject("grace", "big-one")
        self.wait_state("admin-fetch", "big", "downloaded")
        self.assertEqual(self.server.subjects("grace").count("big-one"), 1)

    # ---- store access

    def admin_sql(self, sql):
        from collectortest import pg_server
        import sqlite3
        if self.server.pg_database is not None:
            pg_server().admin_sql(self.server.pg_database, sql)
            return
        db = sqlite3.connect(self.server.db_path(), timeout=10)
        try:
            db.execute(sql)
            db.commit()
        finally:
            db.close()


if __name__ == "__main__":
    run_tests()
