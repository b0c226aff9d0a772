# SPDX-License-Identifier: GPL-3.0-or-later
"""A strict checker of IMAP server responses: the formal syntax of RFC 3501
section 9 (IMAP4rev1), with the response forms of the extensions Postroom
offers (ENABLE, ID, NAMESPACE, ESEARCH, CONDSTORE, UIDPLUS, QUOTA, ACL,
SPECIAL-USE, CHILDREN). Whatever a client written to the letter of the
RFCs could not parse is a GrammarError naming the rule and the position.

check(raw) takes one response as it came off the wire: a line with its
CRLF, literals included ("{5}\\r\\nhello" inside the line). read_response()
reads one such response from a socket reader."""

import re

# RFC 3501 section 9: atom-specials are "(" ")" "{" SP CTL list-wildcards
# quoted-specials resp-specials.
ATOM_SPECIALS = set(b'(){ %*"\\]') | set(range(0, 32)) | {127}
SYSTEM_FLAGS = {"\\ANSWERED", "\\FLAGGED", "\\DELETED", "\\SEEN", "\\DRAFT"}
MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
DATE_TIME = re.compile(rb'"([ \d]\d)-(' + MONTHS.encode() + rb')-(\d{4}) '
                       rb'(\d\d):(\d\d):(\d\d) ([+-]\d{4})"')
FETCH_NAME = re.compile(rb"[A-Za-z0-9.]+")
STATUS_ITEMS = {"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ",
                "SIZE"}


class GrammarError(AssertionError):
    pass


class Parser:
    def __init__(self, raw):
        if not raw.endswith(b"\r\n"):
            raise GrammarError("response not ended by CRLF: %r" % raw[-40:])
        self.s = raw[:-2]
        self.i = 0

    # ---- errors and positions

    def fail(self, rule):
        raise GrammarError("%s expected at %d: %r <here> %r" % (
            rule, self.i, self.s[max(0, self.i - 60):self.i], self.s[self.i:self.i + 60]))

    def peek(self, n=1):
        return self.s[self.i:self.i + n]

    def at_end(self):
        return self.i >= len(self.s)

    def expect(self, token, rule=None):
        if self.s[self.i:self.i + len(token)].upper() != token.upper():
            self.fail(rule or repr(token))
        self.i += len(token)

    def accept(self, token):
        if self.s[self.i:self.i + len(token)].upper() == token.upper():
            self.i += len(token)
            return True
        return False

    def sp(self):
        self.expect(b" ", "SP")

    def end(self):
        if not self.at_end():
            self.fail("CRLF")

    # ---- RFC 3501 basic tokens

    def atom(self, extra_allowed=b""):
        start = self.i
        while not self.at_end():
            c = self.s[self.i]
            if c in ATOM_SPECIALS and c not in extra_allowed or c > 127:
                break
            self.i += 1
        if self.i == start:
            self.fail("atom")
        return self.s[start:self.i].decode()

    def number(self, nonzero=False, bits=32):
        m = re.compile(rb"\d+").match(self.s, self.i)
        if m is None:
            self.fail("number")
        value = int(m.group())
        if value >= 1 << bits or (nonzero and value == 0):
            self.fail("%s number < 2^%d" % ("non-zero" if nonzero else "a", bits))
        self.i = m.end()
        return value

    def quoted(self):
        self.expect(b'"', "quoted")
        out = bytearray()
        while True:
            if self.at_end():
                self.fail("closing DQUOTE")
            c = self.s[self.i]
            self.i += 1
            if c == 0x22:
                return bytes(out)
            if c == 0x5C:
                if self.at_end() or self.s[self.i] not in b'"\\':
                    self.fail('"\\\\" or "\\"" after a backslash')
                out.append(self.s[self.i])
                self.i += 1
            elif c in (0x0D, 0x0A, 0):
                self.i -= 1
                self.fail("TEXT-CHAR in a quoted string")
            else:
                out.append(c)

    def literal(self):
        self.expect(b"{", "literal")
        n = self.number()
        self.expect(b"}\r\n", "}CRLF of a literal")
        data = self.s[self.i:self.i + n]
        if len(data) != n:
            self.fail("%d octets of literal" % n)
        if 0 in data:
            self.fail("literal without NUL")
        self.i += n
        return data

    def string(self):
        return self.literal() if self.peek() == b"{" else self.quoted()

    def nil(self):
        return self.accept(b"NIL")

    def nstring(self):
        if self.peek(3).upper() == b"NIL":
            self.i += 3
            return None
        return self.string()

    def astring(self):
        if self.peek() in (b'"', b"{"):
            return self.string()
        return self.atom(extra_allowed=b"]").encode()

    def mailbox(self):
        name = self.astring()
        try:
            name.decode("ascii")
        except UnicodeDecodeError:
            self.fail("a mailbox name in modified UTF-7 (ASCII)")
        return name

    def text(self):
        """text = 1*TEXT-CHAR (anything but CR, LF and NUL to the end)."""
        start = self.i
        rest = self.s[self.i:]
        if not rest or any(c in rest for c in (0, 13, 10)):
            self.fail("text")
        self.i = len(self.s)
        return self.s[start:]

    def paren_list(self, item, allow_empty=True):
        self.expect(b"(", "(")
        out = []
        if self.accept(b")"):
            if not allow_empty:
                self.i -= 1
                self.fail("a non-empty list")
            return out
        out.append(item())
        while self.accept(b" "):
            out.append(item())
        self.expect(b")", ")")
        return out

    def flag(self, perm=False, fetch=False):
        if self.accept(b"\\"):
            if perm and self.accept(b"*"):
                return "\\*"
            name = "\\" + self.atom()
            if fetch and name.upper() == "\\RECENT":
                return name
            return name
        return self.atom()

    def date_time(self):
        m = DATE_TIME.match(self.s, self.i)
        if m is None:
            self.fail("date-time")
        self.i = m.end()

    # ---- responses

    def response(self):
        """Checks one response; returns (kind, tag or None)."""
        if self.accept(b"+"):
            self.sp()
            if not self.at_end():  # an empty base64 challenge
                self.text()
            return "continue", None
        if self.accept(b"* "):
            self.response_data()
            self.end()
            return "untagged", None
        tag = self.atom(extra_allowed=b"")
        if "+" in tag:
            self.fail("a tag without '+'")
        self.sp()
        word = self.atom().upper()
        if word not in ("OK", "NO", "BAD"):
            self.fail("OK, NO or BAD")
        self.sp()
        self.resp_text()
        self.end()
        return word, tag

    def resp_text(self):
        if self.accept(b"["):
            self.resp_text_code()
            self.expect(b"]", "] after a response code")
            if self.at_end():
                return  # RFC 3501 erratum: text may be empty after a code
            self.sp()
        self.text()

    def resp_text_code(self):
        code = self.atom().upper()
        if code in ("ALERT", "PARSE", "READ-ONLY", "READ-WRITE", "TRYCREATE", "NOMODSEQ"):
            return
        if code in ("UIDNEXT", "UIDVALIDITY", "UNSEEN"):
            self.sp()
            self.number(nonzero=True)
            return
        if code == "HIGHESTMODSEQ":
            self.sp()
            self.number(nonzero=True, bits=63)
            return
        if code == "PERMANENTFLAGS":
            self.sp()
            self.paren_list(lambda: self.flag(perm=True))
            return
        if code == "CAPABILITY":
            self.capability_list()
            return
        if code == "BADCHARSET":
            if self.accept(b" "):
                self.paren_list(self.astring, allow_empty=False)
            return
        if code == "APPENDUID":
            self.sp()
            self.number(nonzero=True)
            self.sp()
            self.number(nonzero=True)
            return
        if code == "COPYUID":
            self.sp()
            self.number(nonzero=True)
            self.sp()
            self.uid_set()
            self.sp()
            self.uid_set()
            return
        if code == "MODIFIED":
            self.sp()
            self.sequence_set()
            return
        # Any other code: atom [SP 1*<any TEXT-CHAR except "]">].
        if self.accept(b" "):
            start = self.i
            while not self.at_end() and self.s[self.i] not in b"]\r\n\0":
                self.i += 1
            if self.i == start:
                self.fail("text of a response code")

    def uid_set(self):
        self.sequence_set(star=False)

    def sequence_set(self, star=True):
        def one():
            if star and self.accept(b"*"):
                return
            self.number(nonzero=True)
        while True:
            one()
            if self.accept(b":"):
                one()
            if not self.accept(b","):
                return

    def capability_list(self):
        caps = []
        while self.accept(b" "):
            caps.append(self.atom().upper())
        if "IMAP4REV1" not in caps:
            self.fail("IMAP4rev1 among the capabilities")
        return caps

    def response_data(self):
        if self.peek().isdigit():
            self.number()
            self.sp()
            word = self.atom().upper()
            if word in ("EXISTS", "RECENT", "EXPUNGE"):
                return
            if word == "FETCH":
                self.sp()
                self.msg_att()
                return
            self.fail("EXISTS, RECENT, EXPUNGE or FETCH")
        word = self.atom().upper()
        if word in ("OK", "NO", "BAD", "BYE", "PREAUTH"):
            self.sp()
            self.resp_text()
        elif word == "CAPABILITY":
            self.capability_list()
        elif word == "FLAGS":
            self.sp()
            self.paren_list(self.flag)
        elif word in ("LIST", "LSUB"):
            self.sp()
            self.mailbox_list()
        elif word == "SEARCH":
            while self.accept(b" "):
                if self.accept(b"(MODSEQ "):
                    self.number(nonzero=True, bits=63)
                    self.expect(b")")
                else:
                    self.number(nonzero=True)
        elif word == "ESEARCH":
            self.esearch()
        elif word == "STATUS":
            self.sp()
            self.mailbox()
            self.sp()
            self.status_att_list()
        elif word == "ENABLED":
            while self.accept(b" "):
                self.atom()
        elif word == "NAMESPACE":
            for _ in range(3):
                self.sp()
                self.namespace()
        elif word == "ID":
            self.sp()
            if not self.nil():
                self.paren_list(self.nstring)
        elif word == "QUOTAROOT":
            self.sp()
            self.mailbox()
            while self.accept(b" "):
                self.astring()
        elif word == "QUOTA":
            self.sp()
            self.astring()
            self.sp()
            self.paren_list(self.quota_resource, allow_empty=True)
        elif word == "ACL":
            self.sp()
            self.mailbox()
            while self.accept(b" "):
                self.astring()
                self.sp()
                self.astring()
        elif word == "LISTRIGHTS":
            self.sp()
            self.mailbox()
            self.sp()
            self.astring()
            self.sp()
            self.astring()
            while self.accept(b" "):
                self.astring()
        elif word == "MYRIGHTS":
            self.sp()
            self.mailbox()
            self.sp()
            self.astring()
        else:
            self.i -= len(word)
            self.fail("a known response")

    def quota_resource(self):
        self.atom()
        self.sp()
        self.number(bits=63)
        self.sp()
        self.number(bits=63)

    def namespace(self):
        if self.nil():
            return

        def desc():
            self.expect(b"(")
            self.string()
            self.sp()
            if not self.nil():
                self.quoted()
            self.expect(b")")
        self.expect(b"(")
        desc()
        while not self.accept(b")"):
            desc()

    def esearch(self):
        if self.accept(b" (TAG "):
            self.string()
            self.expect(b")")
        if self.accept(b" UID"):
            pass
        while self.accept(b" "):
            name = self.atom().upper()
            self.sp()
            if name in ("MIN", "MAX", "COUNT"):
                self.number(nonzero=name != "COUNT")
            elif name == "ALL":
                self.sequence_set(star=False)
            elif name == "MODSEQ":
                self.number(bits=63)
            else:
                self.fail("MIN, MAX, COUNT, ALL or MODSEQ")

    def status_att_list(self):
        def item():
            name = self.atom().upper()
            if name not in STATUS_ITEMS:
                self.fail("a status item")
            self.sp()
            self.number(bits=63 if name in ("HIGHESTMODSEQ", "SIZE") else 32)
        self.paren_list(item)

    def mailbox_list(self):
        flags = self.paren_list(lambda: self.flag())
        for f in flags:
            if not f.startswith("\\"):
                self.fail("mailbox attributes of the form \\atom")
        self.sp()
        if not self.nil():
            delim = self.quoted()
            if len(delim) != 1:
                self.fail("a one-character hierarchy delimiter")
        self.sp()
        self.mailbox()

    # ---- FETCH

    def msg_att(self):
        seen = set()

        def item():
            m = FETCH_NAME.match(self.s, self.i)
            if m is None:
                self.fail("a FETCH data item")
            name = m.group().decode().upper()
            self.i = m.end()
            if name in seen and name != "BODY":
                self.fail("each FETCH item once")
            seen.add(name)
            if name == "FLAGS":
                self.sp()
                self.paren_list(lambda: self.flag(fetch=True))
            elif name == "ENVELOPE":
                self.sp()
                self.envelope()
            elif name == "INTERNALDATE":
                self.sp()
                self.date_time()
            elif name in ("RFC822", "RFC822.HEADER", "RFC822.TEXT"):
                self.sp()
                self.nstring()
            elif name == "RFC822.SIZE":
                self.sp()
                self.number()
            elif name in ("BODY", "BODYSTRUCTURE"):
                if name == "BODY" and self.peek() == b"[":
                    self.section()
                    if self.accept(b"<"):
                        self.number()
                        self.expect(b">")
                    self.sp()
                    self.nstring()
                else:
                    self.sp()
                    self.body(extensible=name == "BODYSTRUCTURE")
            elif name == "UID":
                self.sp()
                self.number(nonzero=True)
            elif name == "MODSEQ":
                self.sp()
                self.expect(b"(")
                self.number(nonzero=True, bits=63)
                self.expect(b")")
            else:
                self.i -= len(name)
                self.fail("a FETCH data item")
        self.paren_list(item, allow_empty=False)

    def section(self):
        self.expect(b"[")
        if self.accept(b"]"):
            return
        parts = 0
        while self.peek().isdigit():
            self.number(nonzero=True)
            parts += 1
            if not self.accept(b"."):
                self.expect(b"]")
                return
        word = self.atom().upper()
        if word in ("HEADER.FIELDS", "HEADER.FIELDS.NOT"):
            self.sp()
            self.paren_list(self.astring, allow_empty=False)
        elif word == "MIME":
            if parts == 0:
                self.fail("MIME only after a part number")
        elif word not in ("HEADER", "TEXT"):
            self.fail("HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT, MIME or TEXT")
        self.expect(b"]")

    def envelope(self):
        self.expect(b"(", "envelope")
        self.nstring()  # date
        self.sp()
        self.nstring()  # subject
        for _ in range(6):  # from sender reply-to to cc bcc
            self.sp()
            self.address_list()
        self.sp()
        self.nstring()  # in-reply-to
        self.sp()
        self.nstring()  # message-id
        self.expect(b")", ") closing the envelope")

    def address_list(self):
        if self.nil():
            return
        self.expect(b"(", "( of an address list")
        while True:
            self.expect(b"(", "address")
            for k in range(4):
                if k:
                    self.sp()
                self.nstring()
            self.expect(b")", ") of an address")
            if self.accept(b")"):
                return

    def body(self, extensible):
        self.expect(b"(", "body")
        if self.peek() == b"(":
            # body-type-mpart = 1*body SP media-subtype [SP body-ext-mpart]
            while self.peek() == b"(":
                self.body(extensible)
            self.sp()
            self.string()
            if self.accept(b" "):
                if not extensible:
                    self.i -= 1
                    self.fail(") (BODY has no extension data)")
                self.body_fld_param()
                self.body_ext_tail()
        else:
            mtype = self.string().upper()
            self.sp()
            subtype = self.string().upper()
            self.sp()
            self.body_fields()
            if mtype == b"MESSAGE" and subtype == b"RFC822":
                self.sp()
                self.envelope()
                self.sp()
                self.body(extensible)
                self.sp()
                self.number()
            elif mtype == b"TEXT":
                self.sp()
                self.number()
            if self.accept(b" "):
                if not extensible:
                    self.i -= 1
                    self.fail(") (BODY has no extension data)")
                self.nstring()  # body-fld-md5
                self.body_ext_tail()
        self.expect(b")", ") closing a body")

    def body_ext_tail(self):
        # [SP body-fld-dsp [SP body-fld-lang [SP body-fld-loc *(SP body-extension)]]]
        if not self.accept(b" "):
            return
        if not self.nil():
            self.expect(b"(")
            self.string()
            self.sp()
            self.body_fld_param()
            self.expect(b")")
        if not self.accept(b" "):
            return
        if self.peek() == b"(":
            self.paren_list(self.string, allow_empty=False)
        else:
            self.nstring()
        if not self.accept(b" "):
            return
        self.nstring()
        while self.accept(b" "):
            self.body_extension()

    def body_extension(self):
        if self.peek() == b"(":
            self.paren_list(self.body_extension, allow_empty=False)
        elif self.peek().isdigit():
            self.number()
        else:
            self.nstring()

    def body_fld_param(self):
        if self.nil():
            return
        self.expect(b"(", "body-fld-param")
        while True:
            self.string()
            self.sp()
            self.string()
            if self.accept(b")"):
                return
            self.sp()

    def body_fields(self):
        self.body_fld_param()
        self.sp()
        self.nstring()  # id
        self.sp()
        self.nstring()  # description
        self.sp()
        self.string()  # encoding
        self.sp()
        self.number()  # octets


def check(raw):
    """Checks one response (bytes, with its CRLF and literals); returns
    (kind, tag): kind is "continue", "untagged", or OK/NO/BAD for a tagged
    completion."""
    return Parser(raw).response()


LITERAL_AT_END = re.compile(rb"\{(\d+)\}\r\n$")


def read_response(readline, read_exact, limit=10000):
    """One whole response from a reader: @readline returns a line with its
    CRLF, @read_exact(n) n octets. Literals are taken in."""
    raw = b""
    for _ in range(limit):
        line = readline()
        if not line.endswith(b"\r\n"):
            raise GrammarError("line not ended by CRLF: %r" % line[-60:])
        raw += line
        m = LITERAL_AT_END.search(line)
        if m is None:
            return raw
        raw += read_exact(int(m.group(1)))
    raise GrammarError("more than %d literals in one response" % limit)
