#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""A long mixed IMAP session, every response checked against the formal
syntax of RFC 3501 (imapgrammar.py) and against the rules a client relies
on: message numbers never beyond the last EXISTS, no EXPUNGE during FETCH,
STORE or SEARCH (RFC 3501 section 7.4.1), UID in every UID FETCH answer,
each tagged completion for its own command. The mailbox holds nested
multipart and malformed messages, so BODYSTRUCTURE and ENVELOPE are checked
on the hard cases too; a second session changes the mailbox meanwhile, so
the untagged updates are checked as well. The commands come from a seeded
random generator: a failure names its seed and the command. Runs on
SQLite, or on PostgreSQL with --store postgresql."""

import base64
import os
import random
import re
import socket
import time

import imapgrammar
from imapgrammar import GrammarError
from imaptest import (
    HOST, IO_TIMEOUT, PASSWORD, ImapTestCase, crlf, make_message, run_tests)

SEED = int(os.environ.get("POSTROOM_IMAP_SEED", "20261125"))
COMMANDS = 400
USER = "rfc"

# Messages that are hard to describe: every one must still give a valid
# ENVELOPE and BODYSTRUCTURE.
CORPUS = [
    make_message("plain"),
    make_message("encoded", subject="=?utf-8?q?Gr=C3=BC=C3=9Fe?= \"quoted\" \\ back"),
    b"From: \"Doe, \\\"J\\\"\" <j@example.org>, group: a@b.example, c@d.example;\n"
    b"To: undisclosed-recipients:;\n"
    b"Cc: <@route.example:x@y.example>\n"
    b"Subject: addresses\n\nbody\n",
    b"Subject: no from, no date, no message-id\n\nbare\n",
    b"\nno header at all\n",
    b"From: a@example.org\nSubject: empty body\n\n",
    b"From: a@example.org\nSubject: nested\nMIME-Version: 1.0\n"
    b"Content-Type: multipart/mixed; boundary=\"o\"\n\npreamble\n--o\n"
    b"Content-Type: multipart/alternative; boundary=\"i\"\n\n--i\n"
    b"Content-Type: text/plain; charset=utf-8; format=flowed\n"
    b"Content-Transfer-Encoding: base64\n\n" + base64.encodebytes("Grüße\n".encode()) +
    b"--i\nContent-Type: text/html\nContent-Language: en, de\n"
    b"Content-Location: http://example.org/x\n\n<p>x</p>\n--i--\n--o\n"
    b"Content-Type: message/rfc822\nContent-Disposition: inline\n\n"
    b"From: inner@example.net\nSubject: inner\nMIME-Version: 1.0\n"
    b"Content-Type: multipart/mixed; boundary=\"n\"\n\n--n\n\ninner text\n--n\n"
    b"Content-Type: image/png; name=\"p.png\"\nContent-ID: <p@x>\n"
    b"Content-Description: a picture\nContent-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\n"
    b"Content-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--n--\n--o\n"
    b"Content-Type: application/octet-stream\n"
    b"Content-Disposition: attachment; filename*=utf-8''%C3%A4.bin\n\nxx\n--o--\nepilogue\n",
    b"From: a@example.org\nSubject: unterminated\nMIME-Version: 1.0\n"
    b"Content-Type: multipart/mixed; boundary=\"never\"\n\n--never\n\npart one\n--never\n"
    b"Content-Type: text/plain\n\npart two, and no closing boundary\n",
    b"From: a@example.org\nSubject: no boundary\nMIME-Version: 1.0\n"
    b"Content-Type: multipart/mixed\n\nwhere are the parts\n",
    b"From: a@example.org\nSubject: bad headers\nMIME-Version: 1.0\n"
    b"Content-Type: text/plain; charset=\"unterminated\n"
    b"Content-Transfer-Encoding: x-unknown\nthis line has no colon\n"
    b"X-8bit: \xc3\xa4\xff\n\nbody \xff\xfe\n",
    b"From: a@example.org\nSubject: bad base64\nContent-Type: text/plain\n"
    b"Content-Transfer-Encoding: base64\n\n!!!not base64***\n",
    b"From: a@example.org\nSubject: message/rfc822 empty\nMIME-Version: 1.0\n"
    b"Content-Type: message/rfc822\n\n",
    b"From: a@example.org\nSubject: " + b"long " * 400 + b"\n\n" + b"x" * 5000 + b"\n",
    b"From: a@example.org\nSubject: deep\nMIME-Version: 1.0\n" +
    b"".join(b"Content-Type: multipart/mixed; boundary=\"b%d\"\n\n--b%d\n" % (i, i)
             for i in range(30)) + b"\ninnermost\n" +
    b"".join(b"--b%d--\n" % i for i in reversed(range(30))),
]

FETCH_ITEMS = [
    "FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY", "BODYSTRUCTURE", "UID",
    "BODY.PEEK[]", "BODY.PEEK[HEADER]", "BODY.PEEK[TEXT]", "BODY.PEEK[1]", "BODY.PEEK[1.MIME]",
    "BODY.PEEK[2]", "BODY.PEEK[2.HEADER]", "BODY.PEEK[2.TEXT]", "BODY.PEEK[1.1]",
    "BODY.PEEK[3.2.1]", "BODY.PEEK[]<0.100>", "BODY.PEEK[TEXT]<10.20>",
    "BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)]", "BODY.PEEK[HEADER.FIELDS.NOT (SUBJECT)]",
    "RFC822.HEADER", "MODSEQ", "BODY[1]", "RFC822.TEXT", "RFC822", "FAST", "ALL", "FULL",
]
SEARCH_KEYS = [
    "ALL", "SEEN", "UNSEEN", "FLAGGED", "DELETED", "ANSWERED", "NEW", "OLD", "RECENT",
    "KEYWORD $Work", "SUBJECT nested", "FROM example", "BODY inner", "TEXT part",
    "HEADER Content-Type multipart", "LARGER 1000", "SMALLER 100", "SINCE 1-Jan-2020",
    "BEFORE 1-Jan-2100", "OR SEEN FLAGGED", "NOT DELETED", "1:3", "UID 1:*",
    "CHARSET UTF-8 SUBJECT Grüße", "MODSEQ 1",
]
FLAGS = ["\\Seen", "\\Flagged", "\\Answered", "\\Draft", "\\Deleted", "$Work", "Junk"]
FOLDERS = ["INBOX", "Archive", "Archive/2026", "Trash"]


class Wire:
    """A raw IMAP connection that reads whole responses, literals included,
    and checks each against the grammar."""

    def __init__(self, port):
        self.sock = socket.create_connection((HOST, port), timeout=IO_TIMEOUT)
        self.buf = b""
        self.next_tag = 0
        self.exists = 0
        self.bad = 0
        self.log = []

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise AssertionError("connection closed; last exchanges: %r" % self.log[-5:])
        self.buf += chunk

    def readline(self):
        for _ in range(100000):
            if b"\r\n" in self.buf or b"\n" in self.buf:
                break
            self._fill()
        n = self.buf.index(b"\n") + 1
        line, self.buf = self.buf[:n], self.buf[n:]
        return line

    def read_exact(self, n):
        for _ in range(100000):
            if len(self.buf) >= n:
                break
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def response(self):
        raw = imapgrammar.read_response(self.readline, self.read_exact)
        try:
            kind, tag = imapgrammar.check(raw)
        except GrammarError as e:
            raise AssertionError("%s\nin %r\nlast exchanges: %r" % (e, raw[:300], self.log[-3:]))
        return raw, kind, tag

    def greeting(self):
        raw, kind, _ = self.response()
        assert kind == "untagged" and raw.startswith(b"* OK"), raw

    def command(self, text, literal=None, idle=False):
        """Runs one command; returns (untagged responses, tagged status, the
        tagged line). Checks every response and the message numbers."""
        self.next_tag += 1
        tag = "c%d" % self.next_tag
        if literal is not None:
            self.sock.sendall(("%s %s {%d}\r\n" % (tag, text, len(literal))).encode())
            raw, kind, _ = self.response()
            assert kind == "continue", raw
            self.sock.sendall(literal + b"\r\n")
        else:
            self.sock.sendall(("%s %s\r\n" % (tag, text)).encode())
        if text.upper().startswith(("SELECT ", "EXAMINE ", "CLOSE", "UNSELECT")):
            self.exists = 0
        untagged = []
        for _ in range(100000):
            raw, kind, got = self.response()
            if kind == "continue":
                assert idle, "unexpected continuation to %r: %r" % (text, raw)
                self.sock.sendall(b"DONE\r\n")
                continue
            if kind == "untagged":
                self.track(text, raw)
                untagged.append(raw)
                continue
            assert got == tag, "completion %r for %s (%r)" % (raw, tag, text)
            self.log.append((text, kind))
            self.bad += kind == "BAD"
            return untagged, kind, raw
        raise AssertionError("no completion for %r" % text)

    def track(self, command, raw):
        m = re.match(rb"\* (\d+) (EXISTS|EXPUNGE|FETCH|RECENT)", raw)
        if m is None:
            return
        n, what = int(m.group(1)), m.group(2)
        verb = command.split(" ", 1)[0].upper()
        if what == b"EXISTS":
            # Only EXPUNGE makes the count smaller (SELECT starts afresh).
            assert n >= self.exists, "EXISTS %d after %d without EXPUNGE" % (n, self.exists)
            self.exists = n
        elif what == b"EXPUNGE":
            assert verb not in ("FETCH", "STORE", "SEARCH"), (
                "EXPUNGE during %r (RFC 3501 7.4.1)" % command)
            assert 1 <= n <= self.exists, "EXPUNGE %d with %d messages" % (n, self.exists)
            self.exists -= 1
        elif what == b"FETCH":
            assert 1 <= n <= self.exists, "FETCH %d with %d messages: %r" % (
                n, self.exists, raw[:200])
            if command.upper().startswith("UID FETCH") and b"UID " not in raw:
                raise AssertionError("UID FETCH answered without UID: %r" % raw[:200])


class Conformance(ImapTestCase):
    users = {USER: PASSWORD, "exp": PASSWORD}

    def wire(self):
        w = Wire(self.server.port)
        self.addCleanup(w.close)
        w.greeting()
        _, status, raw = w.command('LOGIN %s "%s"' % (USER, PASSWORD))
        self.assertEqual(status, "OK", raw)
        return w

    def ok(self, w, text, **kw):
        untagged, status, raw = w.command(text, **kw)
        self.assertEqual(status, "OK", "%r -> %r" % (text, raw))
        return untagged

    def test_grammar_rejects(self):
        """The checker itself: answers a strict client could not parse."""
        bad = [
            b"* 1 FETCH (BODY ((\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1) \"mixed\" "
            b"(\"boundary\" \"x\")))\r\n",  # BODY with extension data
            b"* 1 FETCH (ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL))\r\n",  # too short
            b"* 1 FETCH (FLAGS (\\Seen) FLAGS (\\Seen))\r\n",  # an item twice
            b"* 1 FETCH (BODY[] {5}\r\nabc)\r\n",  # literal too short
            b"* LIST (\\Noselect) \"//\" x\r\n",  # two-character delimiter
            b"a1 OK [UIDNEXT 0] x\r\n",  # nz-number
            b"* SEARCH 1 2 x\r\n",
            b"* 0 FETCH (UID 1)\n",  # bare LF
            b"* STATUS INBOX (MESSAGES x)\r\n",
            b"* 1 FETCH (INTERNALDATE \"1-Jan-2020 1:00:00 +0000\")\r\n",
        ]
        for raw in bad:
            with self.assertRaises(GrammarError, msg=raw):
                imapgrammar.check(raw)

    def test_fetch_after_another_session_expunged(self):
        """Until it syncs, a session may still FETCH a message another one
        expunged (its body was removed from the spool once: a summary or
        body read then failed with NO [SERVERBUG])."""
        user = "exp"
        for i in range(3):
            self.server.deliver(user, make_message("gone-%d" % i, body=b"Body %d.\n" % i))
        a, b = Wire(self.server.port), Wire(self.server.port)
        for w in (a, b):
            self.addCleanup(w.close)
            w.greeting()
            self.ok(w, 'LOGIN %s "%s"' % (user, PASSWORD))
            self.ok(w, "SELECT INBOX")
        self.ok(b, "STORE 1:2 +FLAGS.SILENT (\\Deleted)")
        self.ok(b, "EXPUNGE")
        for item in ("BODY.PEEK[]", "BODYSTRUCTURE", "BODY.PEEK[1]"):
            untagged = self.ok(a, "FETCH 1:3 (%s)" % item)
            self.assertEqual(len(untagged), 3, untagged)
        self.assertIn(b"Body 0.", b"".join(self.ok(a, "FETCH 1 (BODY.PEEK[TEXT])")))
        untagged = self.ok(a, "NOOP")
        self.assertEqual([u for u in untagged if b"EXPUNGE" in u],
                         [b"* 2 EXPUNGE\r\n", b"* 1 EXPUNGE\r\n"])
        self.ok(a, "CLOSE")
        self.ok(b, "CLOSE")

    def test_long_mixed_session(self):
        for msg in CORPUS:
            self.server.deliver(USER, msg)
        rng = random.Random(SEED)
        a = self.wire()
        b = self.wire()
        self.ok(a, "ENABLE CONDSTORE")
        for name in FOLDERS[1:3]:
            self.ok(a, "CREATE %s" % name)
        self.ok(a, "SELECT INBOX")
        self.ok(b, "SELECT INBOX")
        self.assertEqual(a.exists, len(CORPUS))

        # Every message of the corpus, every hard item, first in full.
        for item in ("ENVELOPE", "BODYSTRUCTURE", "BODY", "BODY.PEEK[1.MIME]",
                     "BODY.PEEK[2.1.HEADER]", "BODY.PEEK[3.2]", "RFC822.SIZE", "INTERNALDATE"):
            untagged = self.ok(a, "FETCH 1:* (%s)" % item)
            self.assertEqual(len([u for u in untagged if b" FETCH " in u]), a.exists, item)

        selected = "INBOX"
        start = time.monotonic()
        for step in range(COMMANDS):
            if time.monotonic() - start > 240:
                self.fail("the session took more than 240 s (at step %d)" % step)
            text, extra, expect = self.next_command(rng, a, selected)
            if a.bad >= 7 and expect != "OK":
                # After 10 BADs the server hangs up (max_bad_commands).
                text, extra, expect = "NOOP", {}, "OK"
            untagged, status, raw = a.command(text, **extra)
            where = "seed %d step %d: %r -> %r\nbefore: %r" % (SEED, step, text, raw,
                                                                a.log[-12:-1])
            if expect is not None:
                self.assertIn(status, expect, where)
            if text.startswith(("SELECT ", "EXAMINE ")):
                # A failed SELECT leaves no mailbox selected (RFC 3501 6.3.1).
                selected = text.split(" ", 1)[1] if status == "OK" else None
            elif text in ("CLOSE", "UNSELECT") and status == "OK":
                selected = None
            # Meanwhile the other session changes INBOX now and then.
            if step % 7 == 3:
                self.other_session(rng, b)
        untagged, status, raw = a.command("LOGOUT")
        self.assertEqual(status, "OK", raw)
        self.assertTrue(any(u.startswith(b"* BYE") for u in untagged), untagged)

    def other_session(self, rng, b):
        choice = rng.randrange(4)
        if choice == 0:
            self.ok(b, "APPEND INBOX (\\Seen)", literal=crlf(make_message("from-b")))
        elif choice == 1 and b.exists:
            self.ok(b, "STORE %d +FLAGS (\\Flagged)" % rng.randint(1, b.exists))
        elif choice == 2 and b.exists > 3:
            n = rng.randint(1, b.exists)
            self.ok(b, "STORE %d +FLAGS.SILENT (\\Deleted)" % n)
            self.ok(b, "EXPUNGE")
        else:
            self.ok(b, "NOOP")

    def next_command(self, rng, w, selected):
        """(command text, extra arguments for Wire.command, the statuses it
        may get or None when any is right)."""
        n = w.exists
        seq = "1:*" if n == 0 else rng.choice(
            ["1:*", "%d" % rng.randint(1, n), "%d:%d" % (1, rng.randint(1, n)), "*",
             "%d,%d" % (rng.randint(1, n), rng.randint(1, n))])
        kind = rng.randrange(20)
        if selected is None and kind < 12:
            return "SELECT %s" % rng.choice(FOLDERS[:3]), {}, "OK"
        if kind < 4:
            items = rng.sample(FETCH_ITEMS, rng.randint(1, 4))
            if any(i in ("FAST", "ALL", "FULL") for i in items):
                items = [next(i for i in items if i in ("FAST", "ALL", "FULL"))]
                return "FETCH %s %s" % (seq, items[0]), {}, "OK" if n else None
            verb = rng.choice(["FETCH", "UID FETCH"])
            seq = seq if verb == "FETCH" else "1:*"
            changed = " (CHANGEDSINCE 1)" if rng.random() < 0.1 else ""
            expect = None if verb == "FETCH" and n == 0 else "OK"
            return "%s %s (%s)%s" % (verb, seq, " ".join(items), changed), {}, expect
        if kind < 6:
            flags = " ".join(rng.sample(FLAGS, rng.randint(1, 3)))
            op = rng.choice(["+FLAGS", "-FLAGS", "FLAGS", "+FLAGS.SILENT", "-FLAGS.SILENT"])
            verb = rng.choice(["STORE", "UID STORE"])
            seq = seq if verb == "STORE" else "1:*"
            unchanged = " (UNCHANGEDSINCE 1)" if rng.random() < 0.1 else ""
            return "%s %s%s %s (%s)" % (verb, seq, unchanged, op, flags), {}, None
        if kind < 8:
            key = rng.choice(SEARCH_KEYS)
            verb = rng.choice(["SEARCH", "UID SEARCH", "SEARCH RETURN (MIN MAX COUNT)",
                               "UID SEARCH RETURN (ALL)"])
            if key.startswith("CHARSET"):
                key = "CHARSET UTF-8 SUBJECT {%d+}\r\n%s" % (len("Grüße".encode()), "Grüße")
                return "%s %s" % (verb, key), {}, "OK"
            return "%s %s" % (verb, key), {}, "OK" if key != "1:3" or n >= 3 else None
        if kind == 8:
            target = rng.choice(FOLDERS)
            verb = rng.choice(["COPY", "MOVE", "UID COPY", "UID MOVE"])
            seq = seq if not verb.startswith("UID") else "1:*"
            return "%s %s %s" % (verb, seq, target), {}, None
        if kind == 9:
            flags = rng.choice(["", "(\\Seen) ", "(\\Flagged $Work) "])
            date = rng.choice(["", '"05-Mar-2026 10:20:30 +0100" '])
            msg = crlf(rng.choice(CORPUS))
            return ("APPEND %s %s%s" % (rng.choice(FOLDERS), flags, date)).rstrip(), \
                {"literal": msg}, "OK"
        if kind == 10:
            text = rng.choice(["EXPUNGE", "UID EXPUNGE 1:*", "CHECK", "NOOP"])
            # EXPUNGE is refused (NO) after EXAMINE.
            return text, {}, None if "EXPUNGE" in text else "OK"
        if kind == 11:
            return "IDLE", {"idle": True}, "OK"
        if kind == 12:
            return rng.choice(['LIST "" *', 'LIST "" %', 'LIST "" Archive/%', "LSUB \"\" *",
                               'LIST "" "#users/%"', 'LIST "" ""']), {}, "OK"
        if kind == 13:
            return "STATUS %s (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ)" % (
                rng.choice(FOLDERS)), {}, "OK"
        if kind == 14:
            return rng.choice(["SELECT", "EXAMINE"]) + " " + rng.choice(FOLDERS[:3]), {}, "OK"
        if kind == 15:
            name = "Tmp%d" % rng.randrange(3)
            return rng.choice(["CREATE %s", "DELETE %s", "RENAME %s %s-renamed",
                               "SUBSCRIBE %s", "UNSUBSCRIBE %s"]).replace(
                "%s-renamed", name + "x").replace("%s", name), {}, None
        if kind == 16:
            text = rng.choice(["CAPABILITY", "NAMESPACE", 'ID ("name" "conformance")',
                               "ENABLE CONDSTORE"])
            # ENABLE only before a mailbox is selected (RFC 5161 3.1).
            return text, {}, "BAD" if text.startswith("ENABLE") and selected else "OK"
        if kind == 17:
            # Errors a client may make: each gets BAD or NO, never silence.
            return rng.choice([
                "FETCH", "FETCH 1:* (NOSUCHITEM)", "STORE 1 FLAGS", "SEARCH NOSUCHKEY",
                "SELECT", "COPY 1:* NoSuchFolder", "FOO BAR", "UID", "FETCH 0 FLAGS",
                "STATUS INBOX (NOSUCH)", "LIST", "RENAME INBOX INBOX"]), {}, ("BAD", "NO")
        if kind == 18:
            return rng.choice(["CLOSE", "UNSELECT"]), {}, "OK" if selected else "BAD"
        return "NOOP", {}, "OK"


if __name__ == "__main__":
    run_tests()
