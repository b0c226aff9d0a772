#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The IMAP message commands against a real postroomd: FETCH of every item
on a nested multipart message (sections, partials, HEADER.FIELDS, implicit
\\Seen), STORE with UNCHANGEDSINCE, SEARCH on decoded headers and bodies
and ESEARCH, COPY/MOVE with COPYUID, EXPUNGE numbering, and two sessions
seeing each other's changes. Runs on SQLite, or on PostgreSQL with
--store postgresql."""

import base64
import imaplib
import re
import socket
import time

import imaptest
from imaptest import IO_TIMEOUT, PASSWORD, ImapTestCase, crlf, run_tests

# A nested multipart message: text/plain (base64, UTF-8) and text/html in
# an alternative, an embedded message, a base64 attachment; an RFC 2047
# subject and a folded header.
NESTED_BODY_TEXT = "Grüße aus Köln: the secret word is zanzibar.\n"
NESTED = (
    b"From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <juergen@example.org>\n"
    b"To: Alice <alice@example.com>, bob@example.com\n"
    b"Cc: carol@example.com\n"
    b"Subject: =?UTF-8?B?" + base64.b64encode("Grüße vom Rhein".encode()) + b"?=\n"
    b"Date: Mon, 7 Feb 1994 21:52:25 -0800\n"
    b"Message-ID: <nested-1@test.example>\n"
    b"X-Folded: first part\n"
    b"  second part\n"
    b"MIME-Version: 1.0\n"
    b"Content-Type: multipart/mixed; boundary=\"outer\"\n"
    b"\n"
    b"preamble\n"
    b"--outer\n"
    b"Content-Type: multipart/alternative; boundary=\"inner\"\n"
    b"\n"
    b"--inner\n"
    b"Content-Type: text/plain; charset=utf-8\n"
    b"Content-Transfer-Encoding: base64\n"
    b"\n" + base64.encodebytes(NESTED_BODY_TEXT.encode()) +
    b"--inner\n"
    b"Content-Type: text/html; charset=us-ascii\n"
    b"\n"
    b"<p>Hello <b>html</b></p>\n"
    b"--inner--\n"
    b"--outer\n"
    b"Content-Type: message/rfc822\n"
    b"\n"
    b"From: inner@example.net\n"
    b"Subject: the embedded one\n"
    b"\n"
    b"Embedded body.\n"
    b"--outer\n"
    b"Content-Type: application/octet-stream; name=\"data.bin\"\n"
    b"Content-Disposition: attachment; filename=\"data.bin\"\n"
    b"Content-Transfer-Encoding: base64\n"
    b"\n" + base64.encodebytes(bytes(range(256))) +
    b"--outer--\n")


def simple(tag, body=b"Hello.\n", subject=None, extra=b""):
    return imaptest.make_message(tag, body, subject=subject, extra_headers=extra)


def big_body(size):
    line = b"0123456789abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ %08d\n"
    out = []
    total = 0
    i = 0
    while total < size:
        piece = line % i
        out.append(piece)
        total += len(piece)
        i += 1
    return b"".join(out)


def fetch_one(m, num, items, uid=False):
    """The data of a one-message FETCH as {item name: value}; literals as
    bytes."""
    if uid:
        typ, data = m.uid("FETCH", str(num), items)
    else:
        typ, data = m.fetch(str(num), items)
    assert typ == "OK", (typ, data)
    return parse_fetch(data)


def parse_fetch(data):
    """imaplib's FETCH data (one message) as a flat dict."""
    out = {}
    text = b""
    literals = []
    for part in data:
        if isinstance(part, tuple):
            text += part[0]
            literals.append(part[1])
        elif part is not None:
            text += part
    # Walk the response: name value pairs after "n FETCH (".
    m = re.match(rb"\d+ \(", text)
    assert m, text
    pos = m.end()
    li = 0
    while pos < len(text):
        while pos < len(text) and text[pos:pos + 1] == b" ":
            pos += 1
        if text[pos:pos + 1] == b")":
            break
        end = pos
        depth = 0
        while end < len(text):
            c = text[end:end + 1]
            if c == b"[":
                depth += 1
            elif c == b"]":
                depth -= 1
            elif c == b" " and depth == 0:
                break
            end += 1
        name = text[pos:end].decode()
        pos = end + 1
        value, pos, li = read_value(text, pos, literals, li)
        out[name] = value
    return out


def read_value(text, pos, literals, li):
    c = text[pos:pos + 1]
    if c == b"{":
        close = text.index(b"}", pos)
        return literals[li], close + 1, li + 1
    if c == b"(":
        depth = 0
        end = pos
        in_quote = False
        while end < len(text):
            ch = text[end:end + 1]
            if in_quote:
                if ch == b"\\":
                    end += 1
                elif ch == b'"':
                    in_quote = False
            elif ch == b'"':
                in_quote = True
            elif ch == b"(":
                depth += 1
            elif ch == b")":
                depth -= 1
                if depth == 0:
                    return text[pos:end + 1].decode(errors="replace"), end + 1, li
            end += 1
        raise AssertionError("unbalanced: %r" % text[pos:])
    if c == b'"':
        end = pos + 1
        while text[end:end + 1] != b'"':
            end += 2 if text[end:end + 1] == b"\\" else 1
        return text[pos + 1:end].decode(), end + 1, li
    end = pos
    while end < len(text) and text[end:end + 1] not in (b" ", b")"):
        end += 1
    return text[pos:end].decode(), end, li


def expunges(untagged, exists):
    """The EXPUNGE responses among @untagged. An EXISTS may come with them
    (RFC 3501 allows a redundant one) but must give the count the client
    now has: @exists."""
    for line in untagged:
        if line.endswith(" EXISTS"):
            assert line == "* %d EXISTS" % exists, (line, exists)
    return [l for l in untagged if l.endswith(" EXPUNGE")]


def flags_of(m, num):
    return set(fetch_one(m, num, "(FLAGS)")["FLAGS"].strip("()").split())


class Messages(ImapTestCase):
    """Each test uses a user of its own, so tests do not disturb each other."""

    users = {"u%d" % i: PASSWORD for i in range(1, 21)}

    def setup_user(self, user, messages):
        for msg in messages:
            self.server.deliver(user, msg)
        m = self.imap(user)
        typ, data = m.select("INBOX")
        self.assertEqual(typ, "OK", data)
        self.assertEqual(int(data[0]), len(messages))
        return m

    def raw(self, user):
        c = self.connect()
        c.login(user)
        return c

    # ---- FETCH ----

    def test_fetch_items(self):
        m = self.setup_user("u1", [NESTED, simple("plain-2")])
        r = fetch_one(m, 1, "(FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY BODYSTRUCTURE UID)")
        self.assertRegex(r["INTERNALDATE"], r"^\d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d \+0000$")
        whole = fetch_one(m, 1, "(BODY.PEEK[])")["BODY[]"]
        self.assertEqual(int(r["RFC822.SIZE"]), len(whole))
        self.assertTrue(whole.endswith(crlf(NESTED)), whole[-200:])
        self.assertTrue(r["ENVELOPE"].startswith('("Mon, 7 Feb 1994 21:52:25 -0800" '),
                        r["ENVELOPE"])
        self.assertIn("<nested-1@test.example>", r["ENVELOPE"])
        bs = r["BODYSTRUCTURE"].lower()
        for piece in ('"mixed"', '"alternative"', '"rfc822"', '"octet-stream"', '"html"',
                      '"base64"'):
            self.assertIn(piece, bs)
        self.assertIn('"alternative"', r["BODY"].lower())
        self.assertEqual(r["UID"], fetch_one(m, 1, "(UID)")["UID"])
        # FLAGS of a delivered message: \Recent in the session that saw it first.
        self.assertIn("\\Recent", r["FLAGS"])
        # UID FETCH always answers UID, and a UID range with no message is OK.
        uid = int(r["UID"])
        u = fetch_one(m, uid, "(RFC822.SIZE)", uid=True)
        self.assertEqual(u["UID"], str(uid))
        typ, data = m.uid("FETCH", "%d:%d" % (uid + 100, uid + 200), "(FLAGS)")
        self.assertEqual(typ, "OK")
        self.assertEqual(data, [None])
        # Macros.
        fast = fetch_one(m, 2, "FAST")
        self.assertEqual(set(fast), {"FLAGS", "INTERNALDATE", "RFC822.SIZE"})
        full = fetch_one(m, 2, "FULL")
        self.assertEqual(set(full), {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"})

    def test_fetch_sections(self):
        m = self.setup_user("u2", [NESTED])
        whole = fetch_one(m, 1, "(BODY.PEEK[])")["BODY[]"]
        header = fetch_one(m, 1, "(BODY.PEEK[HEADER])")["BODY[HEADER]"]
        text = fetch_one(m, 1, "(BODY.PEEK[TEXT])")["BODY[TEXT]"]
        self.assertEqual(header + text, whole)
        self.assertTrue(header.endswith(b"\r\n\r\n"))
        self.assertEqual(text, crlf(NESTED).split(b"\r\n\r\n", 1)[1])
        # Nested parts.
        p11 = fetch_one(m, 1, "(BODY.PEEK[1.1])")["BODY[1.1]"]
        self.assertEqual(base64.b64decode(p11).decode(), NESTED_BODY_TEXT)
        mime = fetch_one(m, 1, "(BODY.PEEK[1.1.MIME])")["BODY[1.1.MIME]"]
        self.assertIn(b"Content-Transfer-Encoding: base64", mime)
        self.assertTrue(mime.endswith(b"\r\n\r\n"), mime)
        p12 = fetch_one(m, 1, "(BODY.PEEK[1.2])")["BODY[1.2]"]
        self.assertEqual(p12, b"<p>Hello <b>html</b></p>")
        h2 = fetch_one(m, 1, "(BODY.PEEK[2.HEADER])")["BODY[2.HEADER]"]
        self.assertIn(b"Subject: the embedded one\r\n", h2)
        t2 = fetch_one(m, 1, "(BODY.PEEK[2.TEXT])")["BODY[2.TEXT]"]
        self.assertEqual(t2, b"Embedded body.")
        p3 = fetch_one(m, 1, "(BODY.PEEK[3])")["BODY[3]"]
        self.assertEqual(base64.b64decode(p3), bytes(range(256)))
        # A section that does not exist is empty, "" (RFC 3501 §6.4.5; its
        # author's advice; Dovecot 2.3 sends {0}), not NIL: no part 9,
        # HEADER of a part that is not a message, no part 5 in the embedded
        # message; on the wire too.
        r = fetch_one(m, 1,
                      "(BODY.PEEK[9] BODY.PEEK[1.1.HEADER] BODY.PEEK[2.5] BODY.PEEK[9.MIME])")
        self.assertEqual(r, {"BODY[9]": "", "BODY[1.1.HEADER]": "", "BODY[2.5]": "",
                             "BODY[9.MIME]": ""})
        c = self.raw("u2")
        c.command("EXAMINE INBOX")
        untagged, done = c.command("FETCH 1 (BODY.PEEK[9]<0.10> BODY.PEEK[1.1.TEXT])")
        self.assertEqual(untagged, ['* 1 FETCH (BODY[9]<0> "" BODY[1.1.TEXT] "")'])
        self.assertEqual(done, "t3 OK FETCH completed")
        # Several sections in one FETCH, in order.
        r = fetch_one(m, 1, "(BODY.PEEK[1.2] BODY.PEEK[2.TEXT] UID)")
        self.assertEqual(r["BODY[1.2]"], p12)
        self.assertEqual(r["BODY[2.TEXT]"], t2)
        # A message that is not multipart: part 1 is its body.
        self.server.deliver("u2", simple("single-2", b"Just text.\n"))
        m.noop()
        r = fetch_one(m, 2, "(BODY.PEEK[1] BODY.PEEK[TEXT])")
        self.assertEqual(r["BODY[1]"], b"Just text.\r\n")
        self.assertEqual(r["BODY[TEXT]"], b"Just text.\r\n")
        # RFC822 forms.
        r = fetch_one(m, 1, "(RFC822.HEADER)")
        self.assertEqual(r["RFC822.HEADER"], header)
        self.assertNotIn("\\Seen", flags_of(m, 1))

    def test_partial(self):
        big = simple("big-2", big_body(700 * 1024))
        m = self.setup_user("u3", [NESTED, big])
        whole = fetch_one(m, 1, "(BODY.PEEK[])")["BODY[]"]
        r = fetch_one(m, 1, "(BODY.PEEK[]<10.20>)")
        self.assertEqual(r["BODY[]<10>"], whole[10:30])
        r = fetch_one(m, 1, "(BODY.PEEK[TEXT]<0.8>)")
        self.assertEqual(r["BODY[TEXT]<0>"], whole.split(b"\r\n\r\n", 1)[1][:8])
        r = fetch_one(m, 1, "(BODY.PEEK[]<%d.10>)" % (len(whole) + 5))
        self.assertIn(r["BODY[]<%d>" % (len(whole) + 5)], (b"", ""))
        # The big message, streamed whole and cut in the middle.
        size = int(fetch_one(m, 2, "(RFC822.SIZE)")["RFC822.SIZE"])
        self.assertGreater(size, 700 * 1024)
        bigwhole = fetch_one(m, 2, "(BODY.PEEK[])")["BODY[]"]
        self.assertEqual(len(bigwhole), size)
        self.assertTrue(bigwhole.endswith(crlf(big)))
        r = fetch_one(m, 2, "(BODY.PEEK[]<300000.400000>)")
        self.assertEqual(r["BODY[]<300000>"], bigwhole[300000:700000])

    def test_stream_slow_reader(self):
        """An 8 MiB body to a client that reads late: the server waits for
        it to drain (flow control) and every byte arrives, in order, with
        a pipelined command answered after it."""
        big = simple("slow-1", big_body(8 * 1024 * 1024))
        self.setup_user("u15", [big])
        # A small receive buffer, set before connecting: the server's
        # output backs up beyond what the kernel holds.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        sock.settimeout(IO_TIMEOUT)
        sock.connect((imaptest.HOST, self.server.port))
        c = imaptest.RawImap.__new__(imaptest.RawImap)
        c.timeout, c.sock, c.buf, c.next_tag = IO_TIMEOUT, sock, b"", 0
        self.addCleanup(c.close)
        c.greeting = c.readline()
        c.login("u15")
        c.command("SELECT INBOX")
        size = int(re.search(r"RFC822.SIZE (\d+)",
                             c.command("FETCH 1 (RFC822.SIZE)")[0][0]).group(1))
        c.send("f1 FETCH 1 (BODY.PEEK[])\r\nf2 NOOP\r\n")
        time.sleep(1.0)  # let the server fill the socket and wait
        head = c.readline()
        self.assertEqual(head, "* 1 FETCH (BODY[] {%d}" % size)
        data = bytearray(c.buf)
        for _ in range(100000):
            if len(data) >= size:
                break
            c.sock.settimeout(IO_TIMEOUT)
            chunk = c.sock.recv(1 << 20)
            if not chunk:
                raise AssertionError("connection closed after %d octets" % len(data))
            data += chunk
        c.buf = bytes(data[size:])
        body = bytes(data[:size])
        self.assertTrue(body.endswith(crlf(big)))
        self.assertEqual(c.readline(), ")")
        self.assertTrue(c.readline().startswith("f1 OK"))
        self.assertTrue(c.readline().startswith("f2 OK"))

    def test_header_fields(self):
        m = self.setup_user("u4", [NESTED])
        r = fetch_one(m, 1, "(BODY.PEEK[HEADER.FIELDS (subject x-folded FROM)])")
        (name, value), = r.items()
        self.assertTrue(name.startswith("BODY[HEADER.FIELDS ("), name)
        self.assertTrue(value.endswith(b"\r\n\r\n"), value)
        lines = value.split(b"\r\n")
        self.assertEqual(sorted(l.split(b":")[0].lower() for l in lines if l and l[0:1] != b" "),
                         [b"from", b"subject", b"x-folded"])
        self.assertIn(b"X-Folded: first part\r\n  second part\r\n", value)
        r = fetch_one(m, 1, "(BODY.PEEK[HEADER.FIELDS.NOT (Subject X-Folded Content-Type)])")
        (value,) = r.values()
        self.assertNotIn(b"Subject:", value)
        self.assertNotIn(b"second part", value)
        self.assertIn(b"Message-ID: <nested-1@test.example>\r\n", value)
        self.assertIn(b"Cc: carol@example.com\r\n", value)
        self.assertTrue(value.endswith(b"\r\n\r\n"))
        # Of an embedded message, with a partial.
        r = fetch_one(m, 1, "(BODY.PEEK[2.HEADER.FIELDS (SUBJECT)]<0.9>)")
        (value,) = r.values()
        self.assertEqual(value, b"Subject: ")
        # A field no message has: just the blank line.
        r = fetch_one(m, 1, "(BODY.PEEK[HEADER.FIELDS (X-NOWHERE)])")
        self.assertEqual(list(r.values()), [b"\r\n"])

    def test_implicit_seen(self):
        m = self.setup_user("u5", [simple("s-1"), simple("s-2"), simple("s-3")])
        fetch_one(m, 1, "(BODY.PEEK[TEXT])")
        self.assertNotIn("\\Seen", flags_of(m, 1))
        r = fetch_one(m, 1, "(BODY[TEXT])")
        self.assertIn("\\Seen", r.get("FLAGS", ""), r)
        self.assertIn("\\Seen", flags_of(m, 1))
        fetch_one(m, 2, "(RFC822)")
        self.assertIn("\\Seen", flags_of(m, 2))
        fetch_one(m, 3, "(RFC822.HEADER)")
        self.assertNotIn("\\Seen", flags_of(m, 3))
        # EXAMINE is read-only: no \Seen.
        m.close()
        m.select("INBOX", readonly=True)
        fetch_one(m, 3, "(BODY[])")
        self.assertNotIn("\\Seen", flags_of(m, 3))

    def test_fetch_errors(self):
        m = self.setup_user("u6", [simple("e-1")])
        with self.assertRaises(imaplib.IMAP4.error):
            m.fetch("5", "(FLAGS)")
        with self.assertRaises(imaplib.IMAP4.error):
            m.fetch("1", "(NOSUCHITEM)")
        with self.assertRaises(imaplib.IMAP4.error):
            m.fetch("x", "(FLAGS)")
        c = self.raw("u6")
        c.command("SELECT INBOX")
        _, done = c.command("FETCH 1 (FLAGS) (CHANGEDSINCE 1 2)")
        self.assertIn(" BAD ", done)

    # ---- STORE ----

    def test_store(self):
        m = self.setup_user("u7", [simple("st-1"), simple("st-2"), simple("st-3")])
        typ, data = m.store("1", "+FLAGS", "(\\Flagged $Work)")
        self.assertEqual(typ, "OK")
        self.assertIn(b"\\Flagged", data[0])
        self.assertIn(b"$Work", data[0])
        self.assertEqual(flags_of(m, 1) - {"\\Recent"}, {"\\Flagged", "$Work"})
        m.store("1", "-FLAGS", "($Work)")
        self.assertEqual(flags_of(m, 1) - {"\\Recent"}, {"\\Flagged"})
        m.store("1:2", "FLAGS", "(\\Seen \\Answered)")
        self.assertEqual(flags_of(m, 1) - {"\\Recent"}, {"\\Seen", "\\Answered"})
        self.assertEqual(flags_of(m, 2) - {"\\Recent"}, {"\\Seen", "\\Answered"})
        typ, data = m.store("3", "+FLAGS.SILENT", "(\\Draft)")
        self.assertEqual(typ, "OK")
        self.assertEqual(data, [None])
        self.assertIn("\\Draft", flags_of(m, 3))
        # UID STORE answers with UIDs.
        uid = fetch_one(m, 3, "(UID)")["UID"]
        typ, data = m.uid("STORE", uid, "-FLAGS", "(\\Draft)")
        self.assertIn(b"UID " + uid.encode(), data[0])
        with self.assertRaises(imaplib.IMAP4.error):
            m.store("1", "+FLAGS", "(\\Bogus)")
        with self.assertRaises(imaplib.IMAP4.error):
            m.store("9", "+FLAGS", "(\\Seen)")

    def test_store_unchangedsince(self):
        self.setup_user("u8", [simple("c-1"), simple("c-2")])
        c = self.raw("u8")
        c.command("SELECT INBOX (CONDSTORE)")
        untagged, done = c.command("FETCH 1:2 (MODSEQ)")
        self.assertIn(" OK ", done)
        modseqs = [int(re.search(r"MODSEQ \((\d+)\)", l).group(1)) for l in untagged]
        self.assertEqual(len(modseqs), 2)
        # Unchanged since its own modseq: the change goes through, with MODSEQ.
        untagged, done = c.command("STORE 1 (UNCHANGEDSINCE %d) +FLAGS (\\Flagged)" % modseqs[0])
        self.assertIn(" OK ", done)
        self.assertNotIn("MODIFIED", done)
        self.assertTrue(any("FLAGS (" in l and "\\Flagged" in l and "MODSEQ (" in l
                            for l in untagged), untagged)
        new = int(re.search(r"MODSEQ \((\d+)\)", c.command("FETCH 1 (MODSEQ)")[0][0]).group(1))
        self.assertGreater(new, modseqs[0])
        # Message 1 changed after modseqs[0]: refused, message 2 changes.
        untagged, done = c.command("STORE 1:2 (UNCHANGEDSINCE %d) +FLAGS (\\Seen)"
                                   % max(modseqs))
        self.assertRegex(done, r" OK \[MODIFIED 1\]")
        self.assertEqual([l for l in untagged if l.startswith("* 1 FETCH")], [])
        self.assertTrue(any(l.startswith("* 2 FETCH") for l in untagged), untagged)
        # .SILENT with CONDSTORE on: no flags, but the new mod-sequence.
        untagged, done = c.command("STORE 2 +FLAGS.SILENT (\\Answered)")
        self.assertIn(" OK ", done)
        self.assertEqual(len(untagged), 1, untagged)
        self.assertRegex(untagged[0], r"^\* 2 FETCH \(MODSEQ \(\d+\)\)$")
        uid2 = re.search(r"UID (\d+)", c.command("FETCH 2 (UID)")[0][0]).group(1)
        untagged, _ = c.command("UID STORE %s -FLAGS.SILENT (\\Answered)" % uid2)
        self.assertRegex(untagged[0], r"^\* 2 FETCH \(UID %s MODSEQ \(\d+\)\)$" % uid2)
        new = int(re.search(r"MODSEQ \((\d+)\)", c.command("FETCH 1 (MODSEQ)")[0][0]).group(1))
        # CHANGEDSINCE: only what changed since.
        untagged, _ = c.command("FETCH 1:2 (FLAGS) (CHANGEDSINCE %d)" % new)
        self.assertEqual([l.split()[1] for l in untagged if " FETCH " in l], ["2"])

    def test_read_only_store(self):
        self.setup_user("u9", [simple("ro-1")])
        c = self.raw("u9")
        c.command("EXAMINE INBOX")
        _, done = c.command("STORE 1 +FLAGS (\\Seen)")
        self.assertIn(" NO ", done)
        _, done = c.command("EXPUNGE")
        self.assertIn(" NO ", done)

    # ---- SEARCH ----

    def search(self, m, *criteria, charset=None, uid=False, literal=None):
        if literal is not None:
            m.literal = literal
        if uid:
            typ, data = m.uid("SEARCH", *(("CHARSET", charset) if charset else ()), *criteria)
        else:
            typ, data = m.search(charset, *criteria)
        self.assertEqual(typ, "OK", data)
        return [int(x) for x in data[0].split()]

    def test_search(self):
        m = self.setup_user("u10", [
            NESTED,
            simple("srch-2", b"nothing special here\n", subject="Quarterly report",
                   extra=b"X-Custom: blue whale\nDate: Tue, 1 Mar 2022 10:00:00 +0000\n"),
            simple("srch-3", big_body(40 * 1024), subject="Large one"),
            simple("srch-4", b"=4Duster m=C3=BCssen\n", subject="QP",
                   extra=b"Content-Type: text/plain; charset=utf-8\n"
                         b"Content-Transfer-Encoding: quoted-printable\n"),
        ])
        self.assertEqual(self.search(m, "ALL"), [1, 2, 3, 4])
        # RFC 2047 subject, case-insensitive, UTF-8 in a literal.
        self.assertEqual(self.search(m, "SUBJECT", charset="UTF-8",
                                     literal="grüße".encode()), [1])
        self.assertEqual(self.search(m, "SUBJECT", charset="UTF-8",
                                     literal="GRÜSSE VOM".encode()), [1])
        self.assertEqual(self.search(m, "SUBJECT", charset="UTF-8",
                                     literal="grüße vom main".encode()), [])
        self.assertEqual(self.search(m, "SUBJECT", charset="UTF-8",
                                     literal="vom rhein".encode()), [1])
        self.assertEqual(self.search(m, "FROM", charset="UTF-8", literal="müller".encode()), [1])
        self.assertEqual(self.search(m, "SUBJECT", '"quarterly"'), [2])
        # Base64 and quoted-printable bodies, decoded.
        self.assertEqual(self.search(m, "BODY", "zanzibar"), [1])
        self.assertEqual(self.search(m, "BODY", charset="UTF-8", literal="köln".encode()), [1])
        self.assertEqual(self.search(m, "BODY", charset="UTF-8",
                                     literal="muster müssen".encode()), [4])
        self.assertEqual(self.search(m, "BODY", "Embedded"), [1])
        self.assertEqual(self.search(m, "BODY", "quarterly"), [])
        self.assertEqual(self.search(m, "TEXT", "quarterly"), [2])
        self.assertEqual(self.search(m, "HEADER", "X-Custom", '"blue whale"'), [2])
        self.assertEqual(self.search(m, "HEADER", "X-Custom", '""'), [2])
        self.assertEqual(self.search(m, "TO", "alice"), [1])
        self.assertEqual(self.search(m, "CC", "carol"), [1])
        # Sizes, flags, sets, NOT, OR.
        self.assertEqual(self.search(m, "LARGER", "30000"), [3])
        self.assertEqual(self.search(m, "SMALLER", "30000"), [1, 2, 4])
        m.store("2", "+FLAGS", "(\\Flagged $Blue)")
        self.assertEqual(self.search(m, "FLAGGED"), [2])
        self.assertEqual(self.search(m, "UNFLAGGED"), [1, 3, 4])
        self.assertEqual(self.search(m, "KEYWORD", "$Blue"), [2])
        self.assertEqual(self.search(m, "UNKEYWORD", "$Blue"), [1, 3, 4])
        self.assertEqual(self.search(m, "NOT", "FLAGGED", "SUBJECT", "large"), [3])
        self.assertEqual(self.search(m, "OR", "FLAGGED", "LARGER", "30000"), [2, 3])
        self.assertEqual(self.search(m, "2:3"), [2, 3])
        self.assertEqual(self.search(m, "RECENT"), [1, 2, 3, 4])
        self.assertEqual(self.search(m, "NEW"), [1, 2, 3, 4])
        self.assertEqual(self.search(m, "OLD"), [])
        # Dates: the Date: field for SENT*, the delivery for the others.
        self.assertEqual(self.search(m, "SENTON", "1-Mar-2022"), [2])
        self.assertEqual(self.search(m, "SENTBEFORE", "1-Jan-2000"), [1])
        since = self.search(m, "SENTSINCE", "1-Mar-2022")
        self.assertIn(2, since)
        self.assertNotIn(1, since)
        self.assertEqual(self.search(m, "BEFORE", "1-Jan-2000"), [])
        self.assertEqual(self.search(m, "SINCE", "1-Jan-2000"), [1, 2, 3, 4])
        # UID SEARCH answers UIDs.
        uids = [int(fetch_one(m, i, "(UID)")["UID"]) for i in (1, 2, 3, 4)]
        self.assertEqual(self.search(m, "FLAGGED", uid=True), [uids[1]])
        self.assertEqual(self.search(m, "UID", "%d:%d" % (uids[2], uids[3])), [3, 4])
        # An unknown charset.
        c = self.raw("u10")
        c.command("SELECT INBOX")
        _, done = c.command("SEARCH CHARSET KOI8-R ALL")
        self.assertRegex(done, r" NO \[BADCHARSET")
        _, done = c.command("SEARCH NOSUCHKEY")
        self.assertIn(" BAD ", done)

    def test_esearch(self):
        self.setup_user("u11", [simple("es-%d" % i, subject="es %d" % i) for i in range(1, 6)])
        c = self.raw("u11")
        c.command("SELECT INBOX")
        c.command("STORE 2,4 +FLAGS (\\Flagged)")
        tag = "t%d" % (c.next_tag + 1)
        untagged, done = c.command("SEARCH RETURN (MIN MAX COUNT ALL) ALL")
        self.assertIn(" OK ", done)
        self.assertEqual(untagged, ['* ESEARCH (TAG "%s") MIN 1 MAX 5 COUNT 5 ALL 1:5' % tag])
        tag = "t%d" % (c.next_tag + 1)
        untagged, _ = c.command("SEARCH RETURN () FLAGGED")
        self.assertEqual(untagged, ['* ESEARCH (TAG "%s") ALL 2,4' % tag])
        tag = "t%d" % (c.next_tag + 1)
        untagged, _ = c.command("SEARCH RETURN (COUNT) DELETED")
        self.assertEqual(untagged, ['* ESEARCH (TAG "%s") COUNT 0' % tag])
        untagged, _ = c.command("UID SEARCH RETURN (COUNT) FLAGGED")
        self.assertRegex(untagged[0], r'^\* ESEARCH \(TAG "t\d+"\) UID COUNT 2$')
        # SAVE alone answers nothing; $ then names the result.
        untagged, done = c.command("SEARCH RETURN (SAVE) FLAGGED")
        self.assertEqual(untagged, [])
        self.assertIn(" OK ", done)
        untagged, _ = c.command("FETCH $ (FLAGS)")
        self.assertEqual([l.split()[1] for l in untagged], ["2", "4"])
        untagged, _ = c.command("SEARCH $ SUBJECT \"es 4\"")
        self.assertEqual(untagged, ["* SEARCH 4"])
        # MODSEQ in the answer when the criteria use it.
        untagged, _ = c.command("SEARCH MODSEQ 1 FLAGGED")
        self.assertRegex(untagged[0], r"^\* SEARCH 2 4 \(MODSEQ \d+\)$")

    # ---- COPY, MOVE ----

    def test_copy_move(self):
        m = self.setup_user("u12", [simple("cp-%d" % i) for i in range(1, 5)])
        typ, data = m.create("Archive")
        self.assertEqual(typ, "OK", data)
        uids = [int(fetch_one(m, i, "(UID)")["UID"]) for i in (1, 2, 3, 4)]
        m.store("1", "+FLAGS", "(\\Flagged)")
        typ, data = m.copy("1:2", "Archive")
        self.assertEqual(typ, "OK", data)
        code = re.search(rb"\[COPYUID (\d+) ([\d:,]+) ([\d:,]+)\]", data[0])
        self.assertIsNotNone(code, data)
        self.assertEqual(code.group(2), b"%d:%d" % (uids[0], uids[1]))
        typ, data = m.copy("1", "NoSuchFolder")
        self.assertEqual(typ, "NO")
        self.assertIn(b"[TRYCREATE]", data[0])
        # MOVE: untagged COPYUID, then the expunge, then OK.
        c = self.raw("u12")
        c.command("SELECT INBOX")
        untagged, done = c.command("UID MOVE %d Archive" % uids[2])
        self.assertIn(" OK ", done)
        self.assertRegex(untagged[0], r"^\* OK \[COPYUID \d+ %d \d+\]" % uids[2])
        self.assertIn("* 3 EXPUNGE", untagged)
        untagged, _ = c.command("FETCH 1:* (UID)")
        self.assertEqual([int(re.search(r"UID (\d+)", l).group(1)) for l in untagged],
                         [uids[0], uids[1], uids[3]])
        # The copies in the target keep their flags.
        untagged, done = c.command("SELECT Archive")
        self.assertIn("* 3 EXISTS", untagged)
        untagged, _ = c.command("FETCH 1 (FLAGS)")
        self.assertIn("\\Flagged", untagged[0])

    # ---- EXPUNGE ----

    def test_expunge(self):
        self.setup_user("u13", [simple("x-%d" % i) for i in range(1, 7)])
        c = self.raw("u13")
        c.command("SELECT INBOX")
        uids = [int(re.search(r"UID (\d+)", l).group(1))
                for l in c.command("FETCH 1:* (UID)")[0]]
        c.command("STORE 2,4,5 +FLAGS.SILENT (\\Deleted)")
        untagged, done = c.command("EXPUNGE")
        self.assertIn(" OK ", done)
        self.assertEqual(expunges(untagged, 3), ["* 5 EXPUNGE", "* 4 EXPUNGE", "* 2 EXPUNGE"])
        untagged, _ = c.command("FETCH 1:* (UID)")
        self.assertEqual([int(re.search(r"UID (\d+)", l).group(1)) for l in untagged],
                         [uids[0], uids[2], uids[5]])
        # UID commands after the expunge: gone UIDs are simply absent.
        untagged, done = c.command("UID FETCH %d,%d (FLAGS)" % (uids[1], uids[2]))
        self.assertIn(" OK ", done)
        self.assertEqual(len(untagged), 1)
        self.assertIn("UID %d" % uids[2], untagged[0])
        _, done = c.command("FETCH 4 (FLAGS)")
        self.assertIn(" BAD ", done)
        # UID EXPUNGE removes only the given \Deleted messages.
        c.command("STORE 1:3 +FLAGS.SILENT (\\Deleted)")
        untagged, done = c.command("UID EXPUNGE %d" % uids[2])
        self.assertIn(" OK ", done)
        self.assertEqual(expunges(untagged, 2), ["* 2 EXPUNGE"])
        # CLOSE expunges the rest silently.
        untagged, done = c.command("CLOSE")
        self.assertIn(" OK ", done)
        self.assertEqual(untagged, [])
        untagged, _ = c.command("SELECT INBOX")
        self.assertIn("* 0 EXISTS", untagged)

    # ---- two sessions ----

    def test_two_sessions(self):
        self.setup_user("u14", [simple("two-%d" % i) for i in range(1, 5)])
        a = self.raw("u14")
        b = self.raw("u14")
        a.command("SELECT INBOX")
        b.command("SELECT INBOX")
        uid4 = int(re.search(r"UID (\d+)", b.command("FETCH 4 (UID)")[0][0]).group(1))
        a.command("STORE 1 +FLAGS (\\Flagged)")
        untagged, _ = b.command("NOOP")
        self.assertTrue(any(l.startswith("* 1 FETCH") and "\\Flagged" in l for l in untagged),
                        untagged)
        a.command("STORE 2 +FLAGS.SILENT (\\Deleted)")
        untagged, _ = a.command("EXPUNGE")
        self.assertEqual(expunges(untagged, 3), ["* 2 EXPUNGE"])
        # b sees the expunge at its NOOP, not during FETCH.
        untagged, done = b.command("FETCH 4 (UID)")
        self.assertIn(" OK ", done)
        self.assertFalse(any("EXPUNGE" in l for l in untagged), untagged)
        untagged, _ = b.command("NOOP")
        self.assertIn("* 2 EXPUNGE", untagged)
        untagged, _ = b.command("UID FETCH %d (FLAGS)" % uid4)
        self.assertTrue(untagged and untagged[0].startswith("* 3 FETCH"), untagged)
        # A new delivery shows up in both.
        self.server.deliver("u14", simple("two-5"))
        for c in (a, b):
            untagged, _ = c.command("NOOP")
            self.assertIn("* 4 EXISTS", untagged)


if __name__ == "__main__":
    run_tests()
