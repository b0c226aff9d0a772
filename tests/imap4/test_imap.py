#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The IMAP module against a real postroomd: greeting and CAPABILITY,
LOGIN and AUTHENTICATE, STARTTLS and LOGINDISABLED, folders (LIST/LSUB
patterns, SPECIAL-USE, CREATE/RENAME/DELETE, SUBSCRIBE, STATUS),
SELECT/EXAMINE, APPEND, literals and their limits, errors, IDLE woken by a
delivery, two sessions on one mailbox, the POP3 lock, and curl. Runs on
SQLite, or on PostgreSQL with --store postgresql."""

import imaplib
import re
import socket
import subprocess
import time

import imaptest
import pop3test
from imaptest import (
    HOST, IO_TIMEOUT, PASSWORD, TOOL_TIMEOUT, ConnectionClosed, ImapTestCase, b64, crlf,
    insecure_context, make_message, parse_status, run_tests, wait_for)

APPEND_DATE = '"05-Mar-2026 10:20:30 +0100"'


def literal_message(tag):
    return crlf(make_message(tag))


class Session(ImapTestCase):
    users = {"alice": PASSWORD, "bob": PASSWORD, "carol": PASSWORD}

    def test_greeting_and_capability(self):
        c = self.connect()
        self.assertRegex(c.greeting, r"^\* OK \[CAPABILITY IMAP4rev1 [^\]]*\] "
                                     r"Postroom IMAP4rev1 server ready$")
        untagged, done = c.command("CAPABILITY")
        self.assertEqual(done, "t1 OK CAPABILITY completed")
        self.assertEqual(len(untagged), 1)
        caps = untagged[0].split()
        for cap in ("IMAP4rev1", "LITERAL+", "SASL-IR", "ID", "ENABLE", "IDLE", "NAMESPACE",
                    "UNSELECT", "CHILDREN", "SPECIAL-USE", "AUTH=PLAIN", "AUTH=LOGIN"):
            self.assertIn(cap, caps)
        # No certificate: no STARTTLS; plaintext login allowed.
        self.assertNotIn("STARTTLS", caps)
        self.assertNotIn("LOGINDISABLED", caps)

    def test_login(self):
        c = self.connect()
        _, done = c.command('LOGIN alice "wrong"')
        self.assertEqual(done, "t1 NO [AUTHENTICATIONFAILED] Authentication failed")
        _, done = c.command('LOGIN alice "%s"' % PASSWORD)
        self.assertRegex(done, r"^t2 OK \[CAPABILITY IMAP4rev1 .*\] Logged in$")
        self.assertNotIn("AUTH=PLAIN", done)
        # Not in the authenticated state any more.
        _, done = c.command('LOGIN alice "%s"' % PASSWORD)
        self.assertEqual(done, "t3 BAD Command not valid in this state")
        untagged, done = c.command("LOGOUT")
        self.assertEqual(untagged, ["* BYE Postroom IMAP4 server logging out"])
        self.assertEqual(done, "t4 OK LOGOUT completed")
        self.assertRaises(ConnectionClosed, c.readline)

    def test_imaplib_login(self):
        m = self.imap("alice")
        self.assertEqual(m.state, "AUTH")
        with self.assertRaises(imaplib.IMAP4.error):
            imaplib.IMAP4(HOST, self.server.port, timeout=IO_TIMEOUT).login("alice", "nope")

    def test_too_many_failed_logins(self):
        c = self.connect()
        for i in (1, 2):
            _, done = c.command('LOGIN bob "bad%d"' % i)
            self.assertEqual(done, "t%d NO [AUTHENTICATIONFAILED] Authentication failed" % i)
        c.send('t3 LOGIN bob "bad3"\r\n')
        lines = c.read_until_closed()
        self.assertEqual(lines, ["t3 NO [AUTHENTICATIONFAILED] Authentication failed",
                                 "* BYE Too many failed logins"])

    def test_authenticate_plain_sasl_ir(self):
        c = self.connect()
        _, done = c.command("AUTHENTICATE PLAIN " + b64("\0alice\0" + PASSWORD))
        self.assertRegex(done, r"^t1 OK \[CAPABILITY .*\] Logged in$")
        # Without an initial response: an empty continuation first.
        c2 = self.connect()
        c2.send("a AUTHENTICATE PLAIN\r\n")
        self.assertEqual(c2.readline(), "+ ")
        c2.send(b64("\0bob\0" + PASSWORD) + "\r\n")
        self.assertRegex(c2.readline(), r"^a OK \[CAPABILITY .*\] Logged in$")
        # imaplib's own AUTHENTICATE (continuations).
        m = imaplib.IMAP4(HOST, self.server.port, timeout=IO_TIMEOUT)
        self.addCleanup(imaptest.logout_quietly, m)
        typ, _ = m.authenticate("PLAIN", lambda _: ("\0carol\0" + PASSWORD).encode())
        self.assertEqual(typ, "OK")

    def test_authenticate_login_cancel_and_errors(self):
        c = self.connect()
        c.send("a AUTHENTICATE LOGIN\r\n")
        self.assertEqual(c.readline(), "+ " + b64("Username:"))
        c.send("*\r\n")
        self.assertEqual(c.readline(), "a BAD Authentication cancelled")
        _, done = c.command("AUTHENTICATE CRAM-MD5")
        self.assertEqual(done, "t1 NO Unsupported authentication mechanism")
        _, done = c.command("AUTHENTICATE PLAIN !!!notbase64")
        self.assertEqual(done, "t2 BAD Invalid SASL response")
        # LOGIN with SASL-IR: the user name, then the password.
        c2 = self.connect()
        c2.send("b AUTHENTICATE LOGIN %s\r\n" % b64("alice"))
        self.assertEqual(c2.readline(), "+ " + b64("Password:"))
        c2.send(b64(PASSWORD) + "\r\n")
        self.assertRegex(c2.readline(), r"^b OK \[CAPABILITY .*\] Logged in$")

    def test_bad_commands(self):
        c = self.connect()
        _, done = c.command("FROBNICATE")
        self.assertEqual(done, "t1 BAD Unknown command")
        _, done = c.command("SELECT INBOX")
        self.assertEqual(done, "t2 BAD Command not valid in this state")
        _, done = c.command("CAPABILITY extra")
        self.assertEqual(done, "t3 BAD CAPABILITY takes no arguments")
        # No tag at all, or an unreadable line: an untagged BAD.
        c.send("\r\n")
        self.assertRegex(c.readline(), r"^\* BAD ")
        c.send('t9 LOGIN "unterminated\r\n')
        self.assertRegex(c.readline(), r"^t9 BAD ")
        # A tag with a character tags may not hold.
        c.send("t+1 NOOP\r\n")
        self.assertRegex(c.readline(), r"^\* BAD ")
        c.send("t%1 NOOP\r\n")
        self.assertRegex(c.readline(), r"^\* BAD ")
        c.login("alice")
        _, done = c.command("CHECK")
        self.assertEqual(done, "t5 BAD Command not valid in this state")

    def test_too_many_bad_commands(self):
        c = self.connect()
        for i in range(1, 10):
            _, done = c.command("BOGUS%d" % i)
            self.assertEqual(done, "t%d BAD Unknown command" % i)
        c.send("t10 BOGUS\r\n")
        self.assertEqual(c.read_until_closed(),
                         ["t10 BAD Unknown command", "* BYE Too many errors, closing connection"])

    def test_id_enable_namespace_noop(self):
        c = self.connect()
        untagged, done = c.command('ID ("name" "test" "version" "1")')
        self.assertEqual(done, "t1 OK ID completed")
        self.assertRegex(untagged[0], r'^\* ID \("name" "Postroom" "version" "[^"]+"\)$')
        _, done = c.command("ID NIL")
        self.assertEqual(done, "t2 OK ID completed")
        _, done = c.command("ENABLE CONDSTORE")
        self.assertEqual(done, "t3 BAD Command not valid in this state")
        c.login("alice")
        untagged, done = c.command("ENABLE CONDSTORE X-UNKNOWN")
        self.assertEqual((untagged, done), (["* ENABLED CONDSTORE"], "t5 OK ENABLE completed"))
        untagged, done = c.command("NAMESPACE")
        self.assertEqual(untagged, ['* NAMESPACE (("" "/")) (("#users/" "/")) NIL'])
        _, done = c.command("NOOP")
        self.assertEqual(done, "t7 OK NOOP completed")

    def test_pipelining(self):
        c = self.connect()
        msg = literal_message("piped")
        # Several commands in one write, an APPEND with LITERAL+ among them:
        # answered one after the other, in order.
        c.send(b'p1 LOGIN alice "' + PASSWORD.encode() + b'"\r\np2 CREATE Piped\r\n'
               b"p3 APPEND Piped {%d+}\r\n" % len(msg) + msg +
               b'\r\np4 STATUS Piped (MESSAGES)\r\np5 NOOP\r\np6 DELETE Piped\r\n')
        tags = []
        for _ in range(20):
            line = c.readline()
            if line.startswith("p"):
                tags.append(line.split(" ", 2)[:2])
                if line.startswith("p6 "):
                    break
            elif line.startswith("* STATUS"):
                self.assertEqual(line, "* STATUS Piped (MESSAGES 1)")
        self.assertEqual(tags, [["p%d" % i, "OK"] for i in range(1, 7)])

    def test_literals(self):
        c = self.connect()
        # Non-synchronising: no continuation, the bytes follow at once.
        c.send("a LOGIN {5+}\r\nalice {%d+}\r\n%s\r\n" % (len(PASSWORD), PASSWORD))
        self.assertRegex(c.readline(), r"^a OK \[CAPABILITY")
        # Synchronising: "+" before the bytes.
        wire = "Lit&AOk-ral"  # "Litéral" in modified UTF-7
        c.send("b CREATE {%d}\r\n" % len(wire))
        self.assertEqual(c.readline(), "+ Ready for literal data")
        c.send(wire + "\r\n")
        self.assertEqual(c.readline(), "b OK CREATE completed")
        untagged, _ = c.command('LIST "" "Lit*"')
        self.assertEqual(untagged, ['* LIST (\\HasNoChildren) "/" %s' % wire])
        # Not valid modified UTF-7.
        _, done = c.command('CREATE "bad&name"')
        self.assertEqual(done, "t2 BAD Invalid mailbox name")

    def test_literal_too_large(self):
        c = self.connect()
        c.login("alice")
        # APPEND's limit is max_append_size (1M in this class).
        c.send("a APPEND INBOX {2000000}\r\n")
        self.assertEqual(c.readline(), "a NO [TOOBIG] Message too large")
        # Other commands: 1 MiB with their literals; a {N+} literal that is
        # refused is read and thrown away.
        big = 1100 * 1024
        c.send("b CREATE {%d+}\r\n" % big)
        self.assertEqual(c.readline(), "b BAD Command too long")
        c.send(b"x" * big + b" more {3+}\r\nabc\r\n")
        _, done = c.command("NOOP")
        self.assertEqual(done, "t2 OK NOOP completed")
        _, done = c.command("LOGOUT")
        self.assertEqual(done, "t3 OK LOGOUT completed")

    settings = {"imap4": {"max_append_size": "1M", "max_failed_logins": 3}}


class Folders(ImapTestCase):
    users = {"dave": PASSWORD, "erin": PASSWORD}

    def list(self, m, ref, pattern):
        data = self.assertOk(m.list(ref, pattern))
        return [d.decode() for d in data if d is not None]

    def test_special_use_and_patterns(self):
        m = self.imap("dave")
        for name in ("Projects/2026", "Projects/2025", "Archive"):
            self.assertOk(m.create(name))
        listing = self.list(m, '""', "*")
        names = [re.search(r'"/" (.*)$', line).group(1).strip('"') for line in listing]
        for special, attr in (("Sent", "\\Sent"), ("Drafts", "\\Drafts"), ("Trash", "\\Trash"),
                              ("Junk", "\\Junk")):
            self.assertIn(special, names)
            line = listing[names.index(special)]
            self.assertIn(attr, line)
        self.assertIn("INBOX", names)
        self.assertIn('(\\HasChildren) "/" Projects', listing)
        self.assertIn('(\\HasNoChildren) "/" Projects/2026', listing)
        top = [re.search(r'"/" (.*)$', line).group(1) for line in self.list(m, '""', "%")]
        self.assertIn("Projects", top)
        self.assertNotIn("Projects/2026", top)
        children = self.list(m, '"Projects/"', "%")
        self.assertEqual(children, ['(\\HasNoChildren) "/" Projects/2025',
                                    '(\\HasNoChildren) "/" Projects/2026'])
        self.assertEqual(self.list(m, '""', "Proj*6"), ['(\\HasNoChildren) "/" Projects/2026'])
        self.assertEqual(self.list(m, '""', "inbox"), ['(\\HasNoChildren) "/" INBOX'])
        # The delimiter query.
        self.assertEqual(self.list(m, '""', '""'), ['(\\Noselect) "/" ""'])

    def test_create_rename_delete(self):
        m = self.imap("erin")
        self.assertOk(m.create("a/b/c"))
        typ, data = m.create("a/b")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[ALREADYEXISTS]", data[0])
        self.assertOk(m.rename("a", "z"))
        names = self.list(m, '""', "z*")
        self.assertEqual(names, ['(\\HasChildren) "/" z', '(\\HasChildren) "/" z/b',
                                 '(\\HasNoChildren) "/" z/b/c'])
        self.assertEqual(self.list(m, '""', "a*"), [])
        # Deleting a parent keeps its children: it becomes \Noselect.
        self.assertOk(m.delete("z/b"))
        self.assertEqual(self.list(m, '""', "z*"), ['(\\HasChildren) "/" z',
                                                    '(\\Noselect \\HasChildren) "/" z/b',
                                                    '(\\HasNoChildren) "/" z/b/c'])
        typ, data = m.delete("nonexistent")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[NONEXISTENT]", data[0])
        typ, _ = m.delete("INBOX")
        self.assertEqual(typ, "NO")
        typ, data = m.create("inbox")
        self.assertEqual(typ, "NO")

    def test_inbox_rename(self):
        m = self.imap("erin")
        for i in range(2):
            self.assertOk(m.append("INBOX", None, None, literal_message("inbox-%d" % i)))
        self.assertOk(m.rename("INBOX", "Old-Inbox"))
        data = self.assertOk(m.status("Old-Inbox", "(MESSAGES)"))
        self.assertEqual(parse_status(data[0].decode())["MESSAGES"], 2)
        data = self.assertOk(m.status("INBOX", "(MESSAGES UIDNEXT)"))
        self.assertEqual(parse_status(data[0].decode())["MESSAGES"], 0)

    def test_subscribe_lsub(self):
        m = self.imap("dave")
        self.assertOk(m.create("Lists/one"))
        self.assertOk(m.create("Lists/two"))
        # CREATE subscribes (the store's default), parents included.
        lsub = [d.decode() for d in self.assertOk(m.lsub('""', "Lists*")) if d]
        self.assertEqual(lsub, ['() "/" Lists', '() "/" Lists/one', '() "/" Lists/two'])
        for name in ("Lists", "Lists/one", "Lists/two"):
            self.assertOk(m.unsubscribe(name))
        self.assertOk(m.subscribe("Lists/one"))
        lsub = [d.decode() for d in self.assertOk(m.lsub('""', "Lists/*")) if d]
        self.assertEqual(lsub, ['() "/" Lists/one'])
        # "%" stops at the parent, which is not subscribed itself.
        lsub = [d.decode() for d in self.assertOk(m.lsub('""', "Li%")) if d]
        self.assertEqual(lsub, ['(\\Noselect) "/" Lists'])
        self.assertOk(m.unsubscribe("Lists/one"))
        self.assertEqual([d for d in self.assertOk(m.lsub('""', "Lists/*")) if d], [])

    def test_status_and_append(self):
        m = self.imap("dave")
        self.assertOk(m.create("Stat"))
        typ, data = m.append("Stat", "(\\Seen $Work)", imaplib.Time2Internaldate(1772700000),
                             literal_message("seen"))
        self.assertEqual(typ, "OK")
        match = re.match(rb"\[APPENDUID (\d+) (\d+)\] APPEND completed", data[0])
        self.assertIsNotNone(match, data)
        uidvalidity, uid = int(match.group(1)), int(match.group(2))
        self.assertOk(m.append("Stat", None, None, literal_message("unseen")))
        data = self.assertOk(m.status("Stat", "(MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)"))
        st = parse_status(data[0].decode())
        self.assertEqual(st["MESSAGES"], 2)
        self.assertEqual(st["UNSEEN"], 1)
        self.assertEqual(st["UIDVALIDITY"], uidvalidity)
        self.assertEqual(st["UIDNEXT"], uid + 2)
        typ, data = m.append("Missing", None, None, literal_message("x"))
        self.assertEqual(typ, "NO")
        self.assertIn(b"[TRYCREATE]", data[0])
        with self.assertRaisesRegex(imaplib.IMAP4.error, "BAD.*Unknown status item"):
            m.status("Stat", "(BOGUS)")

    def test_large_append(self):
        m = self.imap("dave")
        self.assertOk(m.create("Big"))
        line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-0123456789\r\n"
        body = line * (3 * 1024 * 1024 // len(line))
        message = literal_message("big") + body
        typ, data = m.append("Big", None, None, message)
        self.assertEqual(typ, "OK", data)
        data = self.assertOk(m.status("Big", "(MESSAGES SIZE)"))
        st = parse_status(data[0].decode())
        self.assertEqual(st, {"MESSAGES": 1, "SIZE": len(message)})

    def test_select_examine(self):
        c = self.connect()
        c.login("erin")
        c.command('CREATE Sel')
        c.send("a APPEND Sel (\\Flagged) {%d}\r\n" % len(literal_message("sel")))
        self.assertEqual(c.readline(), "+ Ready for literal data")
        c.send(literal_message("sel") + b"\r\n")
        self.assertRegex(c.readline(), r"^a OK \[APPENDUID \d+ 1\] APPEND completed$")
        untagged, done = c.command("SELECT Sel")
        self.assertEqual(done, "t3 OK [READ-WRITE] SELECT completed")
        self.assertRegex(untagged[0], r"^\* FLAGS \(\\Answered \\Flagged \\Deleted \\Seen "
                                      r"\\Draft\)$")
        self.assertIn("* 1 EXISTS", untagged)
        self.assertIn("* 1 RECENT", untagged)
        self.assertIn("* OK [UNSEEN 1] First unseen message", untagged)
        self.assertTrue(any(re.match(r"^\* OK \[PERMANENTFLAGS \(.*\\\*\)\]", u)
                            for u in untagged))
        self.assertTrue(any(re.match(r"^\* OK \[UIDVALIDITY \d+\]", u) for u in untagged))
        self.assertIn("* OK [UIDNEXT 2] Predicted next UID", untagged)
        self.assertTrue(any(re.match(r"^\* OK \[HIGHESTMODSEQ \d+\]", u) for u in untagged))
        # \Recent went to the session that selected first.
        untagged, done = c.command("EXAMINE Sel")
        self.assertEqual(done, "t4 OK [READ-ONLY] EXAMINE completed")
        self.assertIn("* 0 RECENT", untagged)
        self.assertIn("* OK [PERMANENTFLAGS ()] Read-only mailbox", untagged)
        _, done = c.command("UNSELECT")
        self.assertEqual(done, "t5 OK UNSELECT completed")
        _, done = c.command("UNSELECT")
        self.assertEqual(done, "t6 BAD Command not valid in this state")
        _, done = c.command("SELECT NoSuchBox")
        self.assertEqual(done, "t7 NO [NONEXISTENT] No such mailbox")
        _, done = c.command("select inbox (CONDSTORE)")
        self.assertEqual(done, "t8 OK [READ-WRITE] SELECT completed")
        _, done = c.command("CHECK")
        self.assertEqual(done, "t9 OK CHECK completed")


class Sharing(ImapTestCase):
    users = {"frank": PASSWORD, "grace": PASSWORD, "heidi": PASSWORD, "mallory": PASSWORD}
    with_pop3 = True

    def test_two_sessions_see_appends(self):
        a = self.connect()
        b = self.connect()
        a.login("frank")
        b.login("frank")
        _, done = b.command("SELECT INBOX")
        self.assertIn("OK [READ-WRITE]", done)
        msg = literal_message("shared")
        a.send("x APPEND INBOX {%d+}\r\n" % len(msg))
        a.send(msg + b"\r\n")
        self.assertRegex(a.readline(), r"^x OK \[APPENDUID ")
        untagged, done = b.command("NOOP")
        self.assertEqual(done, "t3 OK NOOP completed")
        self.assertIn("* 1 EXISTS", untagged)
        self.assertIn("* 1 RECENT", untagged)
        # Nothing new: nothing reported.
        untagged, _ = b.command("NOOP")
        self.assertEqual(untagged, [])

    def test_idle_woken_by_delivery(self):
        c = self.connect()
        c.login("grace")
        untagged, _ = c.command("SELECT INBOX")
        self.assertIn("* 0 EXISTS", untagged)
        c.send("i1 IDLE\r\n")
        self.assertEqual(c.readline(), "+ idling")
        self.server.deliver("grace", make_message("idle-wakeup"))
        # Bounded by the read timeout: the update comes without a command.
        self.assertEqual(c.readline(timeout=IO_TIMEOUT), "* 1 EXISTS")
        self.assertEqual(c.readline(), "* 1 RECENT")
        c.send("DONE\r\n")
        self.assertEqual(c.readline(), "i1 OK IDLE terminated")
        c.send("i2 IDLE\r\n")
        self.assertEqual(c.readline(), "+ idling")
        c.send("NOTDONE\r\n")
        self.assertEqual(c.readline(), "i2 BAD Expected DONE")
        _, done = c.command("NOOP")
        self.assertEqual(done, "t3 OK NOOP completed")

    def test_client_leaves_while_idling(self):
        c = self.connect()
        c.login("mallory")
        c.command("SELECT INBOX")
        c.send("i IDLE\r\n")
        self.assertEqual(c.readline(), "+ idling")
        c.close()
        self.server.deliver("mallory", make_message("after-leaving"))
        # The server goes on serving (and the next session sees the mail).
        d = self.connect()
        d.login("mallory")
        untagged, done = d.command("STATUS INBOX (MESSAGES)")
        self.assertEqual(done, "t2 OK STATUS completed")
        self.assertRegex(untagged[0], r"^\* STATUS INBOX \(MESSAGES \d+\)$")

    def test_pop3_lock_keeps_imap_out(self):
        p = pop3test.poplib.POP3(HOST, self.server.pop3_port, timeout=IO_TIMEOUT)
        self.addCleanup(pop3test.close_quietly, p)
        p.user("heidi")
        p.pass_(PASSWORD)
        c = self.connect()
        c.login("heidi")
        _, done = c.command("SELECT INBOX")
        self.assertEqual(done, "t2 NO [INUSE] Mailbox is locked by a POP3 session")
        # Other folders are not locked.
        _, done = c.command("SELECT Sent")
        self.assertIn("OK [READ-WRITE]", done)
        p.quit()
        _, done = c.command("SELECT INBOX")
        self.assertIn("OK [READ-WRITE]", done)
        # And the reverse: an IMAP session keeps POP3 out.
        p2 = pop3test.poplib.POP3(HOST, self.server.pop3_port, timeout=IO_TIMEOUT)
        self.addCleanup(pop3test.close_quietly, p2)
        p2.user("heidi")
        with self.assertRaises(pop3test.poplib.error_proto):
            p2.pass_(PASSWORD)


class Limits(ImapTestCase):
    users = {"ivan": PASSWORD, "ivy": PASSWORD}
    settings = {"imap4": {"max_logins_per_user": 2, "idle": False}}

    def test_idle_disabled(self):
        c = self.connect()
        self.assertNotIn(" IDLE", c.greeting)
        c.login("ivy")
        _, done = c.command("IDLE")
        self.assertEqual(done, "t2 BAD IDLE is disabled")
        _, done = c.command("LOGOUT")
        self.assertEqual(done, "t3 OK LOGOUT completed")

    def test_max_logins_per_user(self):
        a = self.connect()
        b = self.connect()
        c = self.connect()
        a.login("ivan")
        b.login("ivan")
        _, done = c.command('LOGIN ivan "%s"' % PASSWORD)
        self.assertEqual(done, "t1 NO [LIMIT] Too many logins for this user")
        a.command("LOGOUT")
        # The slot is free once the first session is gone.
        self.assertTrue(wait_for(lambda: " OK " in c.command('LOGIN ivan "%s"' % PASSWORD)[1],
                                 timeout=5, step=0.2))


class Tls(ImapTestCase):
    users = {"judy": PASSWORD}
    tls = True

    def test_starttls(self):
        m = imaplib.IMAP4(HOST, self.server.port, timeout=IO_TIMEOUT)
        self.addCleanup(imaptest.logout_quietly, m)
        self.assertIn("STARTTLS", m.capabilities)
        self.assertNotIn("LOGINDISABLED", m.capabilities)
        typ, _ = m.starttls(ssl_context=insecure_context())
        self.assertEqual(typ, "OK")
        self.assertNotIn("STARTTLS", m.capabilities)
        typ, _ = m.login("judy", PASSWORD)
        self.assertEqual(typ, "OK")

    def test_starttls_injection_refused(self):
        c = self.connect()
        c.send("a STARTTLS\r\nb CAPABILITY\r\n")
        lines = c.read_until_closed()
        self.assertEqual(lines, ["* BYE Data after STARTTLS, closing connection"])

    def test_implicit_tls(self):
        m = imaplib.IMAP4_SSL(HOST, self.server.tls_port, ssl_context=insecure_context(),
                              timeout=IO_TIMEOUT)
        self.addCleanup(imaptest.logout_quietly, m)
        self.assertNotIn("STARTTLS", m.capabilities)
        self.assertEqual(m.login("judy", PASSWORD)[0], "OK")


class RequireTls(ImapTestCase):
    users = {"kim": PASSWORD}
    tls = True
    settings = {"imap4": {"require_tls_for_auth": True}}

    def test_logindisabled(self):
        c = self.connect()
        self.assertIn("LOGINDISABLED", c.greeting)
        self.assertNotIn("AUTH=PLAIN", c.greeting)
        _, done = c.command('LOGIN kim "%s"' % PASSWORD)
        self.assertEqual(done, "t1 NO [PRIVACYREQUIRED] TLS required before authentication")
        _, done = c.command("AUTHENTICATE PLAIN " + b64("\0kim\0" + PASSWORD))
        self.assertEqual(done, "t2 NO [PRIVACYREQUIRED] TLS required before authentication")
        _, done = c.command("STARTTLS")
        self.assertEqual(done, "t3 OK Begin TLS negotiation now")
        c.sock = insecure_context().wrap_socket(c.sock, server_hostname="localhost")
        untagged, _ = c.command("CAPABILITY")
        self.assertNotIn("LOGINDISABLED", untagged[0])
        self.assertIn("AUTH=PLAIN", untagged[0])
        _, done = c.command('LOGIN kim "%s"' % PASSWORD)
        self.assertRegex(done, r"^t5 OK \[CAPABILITY")


class Curl(ImapTestCase):
    users = {"leo": PASSWORD}

    def curl(self, url):
        res = subprocess.run(["curl", "-sS", "--max-time", str(TOOL_TIMEOUT), "-u",
                              "leo:" + PASSWORD, url], capture_output=True,
                             timeout=TOOL_TIMEOUT + 5)
        self.assertEqual(res.returncode, 0, res.stderr.decode(errors="replace"))
        return res.stdout

    def test_curl_list_and_fetch(self):
        out = self.curl("imap://%s:%d/" % (HOST, self.server.port)).decode()
        self.assertIn('* LIST (\\HasNoChildren) "/" INBOX', out)
        self.assertIn("Sent", out)
        self.server.deliver("leo", make_message("curl-fetch", body=b"Fetched by curl.\n"))
        body = self.curl("imap://%s:%d/INBOX;UID=1" % (HOST, self.server.port))
        self.assertIn(b"Message-ID: <curl-fetch@test.example>", body)
        self.assertIn(b"Fetched by curl.", body)


if __name__ == "__main__":
    run_tests()
