#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""postroomd killed with SIGKILL, again and again, while SMTP clients send
mail: no message that got its 250 after DATA is lost, and no message is
stored twice.

Several client threads send N messages (smtplib) to a few local users. A
transaction that fails (connection dropped or refused, a 4xx reply) is tried
again on a new connection. Meanwhile the test kills postroomd with SIGKILL
every K acknowledged messages and starts it again on the same data. At the
end it reads every mailbox over POP3 (the pop3 module runs in the same
postroomd) and checks each message's content.

Each try of a message is a message of its own: the Message-ID is
<crash-NNNN.TRY@crash.test>, so that a try whose 250 was lost (stored, then
killed before the reply) and the later try that was acknowledged can be told
apart. The rules, per try:
  - acknowledged (250 after DATA): present exactly once ("lost" otherwise);
  - not acknowledged: present at most once (reported as stored_unacked);
  - nothing present twice ("duplicated"), nothing in the wrong mailbox,
    nothing damaged, nothing unknown.
Every message must end up acknowledged within the bounds, and there must be
at least MIN_KILLS kills."""

import os
import poplib
import random
import smtplib
import sys
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "pop3"))

import pop3test  # noqa: E402
import postroomtest  # noqa: E402
from pop3test import HOST, Pop3Server, Pop3TestCase, run_tests  # noqa: E402

PASSWORD = "smtp-crash-pw"
USERS = ("alice", "bob", "carol")
SENDER = "sender@example.org"
DOMAIN = pop3test.DOMAIN

N_MESSAGES = int(os.environ.get("POSTROOM_SMTP_CRASH_MESSAGES", "1000"))
KILL_EVERY = int(os.environ.get("POSTROOM_SMTP_CRASH_KILL_EVERY", "150"))
MIN_KILLS = 4
CLIENTS = 4
MAX_TRIES = 50            # tries of one message before the test gives up
TIME_LIMIT = 600          # seconds for sending everything
SMTP_TIMEOUT = 30         # seconds per SMTP command
RESTART_PAUSE = (0.0, 0.3)  # the server stays down this long (random), seconds

# Each try's outcome: sent, then acknowledged, or sent and then failed.
ACKED = "acked"
FAILED = "failed"


def recipient(i):
    return USERS[i % len(USERS)]


def body_of(i):
    """The body of message @i (LF line ends): 1 to 600 lines, so sizes range
    from tens of bytes to about 40 KiB, with dot lines for dot-stuffing."""
    rnd = random.Random(i)
    lines = []
    for n in range(rnd.randint(1, 600)):
        if n % 23 == 7:
            lines.append(".dot line %d of message %d" % (n, i))
        else:
            lines.append("message %04d line %04d the quick brown fox jumps over the lazy dog"
                         % (i, n))
    return "\n".join(lines) + "\n"


def message_of(i, attempt):
    return ("From: Crash Test <%s>\n"
            "To: %s@%s\n"
            "Subject: crash test message %04d try %d\n"
            "Message-ID: <crash-%04d.%d@crash.test>\n"
            "Date: Mon, 01 Jan 2024 00:00:00 +0000\n"
            "\n" % (SENDER, recipient(i), DOMAIN, i, attempt, i, attempt) + body_of(i))


def parse_tag(lines):
    """(message number, try) from the Message-ID of a message as poplib
    returns it (a list of byte lines), or None."""
    for line in lines:
        if line == b"":
            break
        if line.lower().startswith(b"message-id: <crash-"):
            tag = line.split(b"<crash-", 1)[1].split(b"@", 1)[0].decode()
            number, attempt = tag.split(".")
            return int(number), int(attempt)
    return None


class Ledger:
    """What the clients did, shared between threads."""

    def __init__(self, limit):
        self.lock = threading.Lock()
        self.more = threading.Condition(self.lock)
        self.limit = limit            # messages below this may be started
        self.next_message = 0
        self.acked = 0                # messages acknowledged so far
        self.tries = {}               # (message, try) -> ACKED or FAILED
        self.errors = []              # permanent failures: the test fails

    def take(self, end):
        with self.lock:
            # The killer lets messages start in steps, so that however fast
            # the server is, every kill comes while mail is in flight.
            while self.next_message >= self.limit and time.monotonic() < end:
                self.more.wait(0.1)
            if self.next_message >= min(self.limit, N_MESSAGES):
                return None
            i = self.next_message
            self.next_message += 1
            return i

    def allow(self, limit):
        with self.lock:
            self.limit = limit
            self.more.notify_all()

    def record(self, i, attempt, outcome):
        with self.lock:
            self.tries[(i, attempt)] = outcome
            if outcome == ACKED:
                self.acked += 1


class Client(threading.Thread):
    """Sends messages from the ledger one transaction at a time, retrying a
    failed transaction on a new connection."""

    def __init__(self, port, ledger, end):
        super().__init__(daemon=True)
        self.port = port
        self.ledger = ledger
        self.end = end
        self.smtp = None

    def connect(self):
        """A connection that got its 220 and EHLO's 250, or None."""
        try:
            smtp = smtplib.SMTP(HOST, self.port, timeout=SMTP_TIMEOUT)
            smtp.ehlo("client.crash.test")
            return smtp
        except (OSError, smtplib.SMTPException):
            return None

    def drop(self):
        if self.smtp is not None:
            try:
                self.smtp.close()
            except OSError:
                pass
        self.smtp = None

    def send_one(self, i):
        """Sends message @i until one try is acknowledged."""
        rcpt = "%s@%s" % (recipient(i), DOMAIN)
        for attempt in range(MAX_TRIES):
            while self.smtp is None:
                if time.monotonic() > self.end:
                    raise TimeoutError("no connection before the time limit")
                self.smtp = self.connect()
                if self.smtp is None:
                    time.sleep(0.05)  # the server is down or starting
            # From here on the try may be stored, whatever happens next.
            outcome = FAILED
            try:
                code, reply = self.smtp.mail(SENDER)
                if code == 250:
                    code, reply = self.smtp.rcpt(rcpt)
                if code == 250:
                    # smtplib dot-stuffs bytes but leaves line ends alone.
                    data = message_of(i, attempt).replace("\n", "\r\n").encode()
                    code, reply = self.smtp.data(data)
                    if code == 250:
                        outcome = ACKED
                if outcome != ACKED:
                    if 500 <= code < 600:
                        self.ledger.errors.append("message %d try %d: %d %r" % (
                            i, attempt, code, reply))
                        self.ledger.record(i, attempt, FAILED)
                        return
                    self.smtp.rset()  # a 4xx: the next try on this connection
            except smtplib.SMTPResponseException as e:
                # DATA refused (smtplib raises when the 354 does not come).
                if 500 <= e.smtp_code < 600:
                    self.ledger.errors.append("message %d try %d: %d %r" % (
                        i, attempt, e.smtp_code, e.smtp_error))
                    self.ledger.record(i, attempt, FAILED)
                    return
                self.drop()
            except (OSError, smtplib.SMTPException):
                self.drop()  # dropped or timed out: the next try reconnects
            self.ledger.record(i, attempt, outcome)
            if outcome == ACKED:
                return
        self.ledger.errors.append("message %d: no 250 in %d tries" % (i, MAX_TRIES))

    def run(self):
        try:
            while time.monotonic() < self.end:
                i = self.ledger.take(self.end)
                if i is None:
                    break
                self.send_one(i)
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            self.ledger.errors.append("client: %r" % e)
        finally:
            if self.smtp is not None:
                try:
                    self.smtp.quit()
                except (OSError, smtplib.SMTPException):
                    pass
                self.drop()


class SmtpPop3Server(Pop3Server):
    """postroomd with the smtp and pop3 modules: POP3 on self.port, SMTP on
    self.smtp_port. Both modules are copied into one module directory inside
    the server's directory (the loader wants regular files, not links); the
    copies' build-tree RUNPATH ($ORIGIN/../../plugin-api) does not fit there,
    so the SDK library is found through LD_LIBRARY_PATH."""

    def __init__(self, name, store):
        self.smtp_port = postroomtest.free_port()
        build = postroomtest.paths().build_root
        self.module_files = [os.path.join(build, "modules", m, m + ".so")
                             for m in ("smtp", "pop3")]
        super().__init__(
            settings={"server": {"hostname": "mx.example.com"},
                      "modules": {"enabled": ["pop3", "smtp"]},
                      "smtp": {"listen": "%s:%d" % (HOST, self.smtp_port)},
                      # Every service of a module needs an address; these
                      # two are not used.
                      "submission": {"listen": "%s:%d" % (HOST, postroomtest.free_port())},
                      "smtps": {"listen": "%s:%d" % (HOST, postroomtest.free_port())}},
            users={u: PASSWORD for u in USERS}, name=name, store=store)
        libdir = os.path.join(build, "plugin-api")
        old = self.env.get("LD_LIBRARY_PATH")
        self.env["LD_LIBRARY_PATH"] = libdir + (":" + old if old else "")
        module_dir = os.path.join(self.dir, "modules")
        os.makedirs(module_dir)
        for path in self.module_files:
            with open(path, "rb") as src:
                data = src.read()
            target = os.path.join(module_dir, os.path.basename(path))
            with open(target, "wb") as dst:
                dst.write(data)
            os.chmod(target, 0o644)
        self.groups["server"]["module_dir"] = module_dir
        postroomtest.write_keyfile(self.config_path, self.groups)

    def wait_ready(self):
        super().wait_ready()  # the POP3 port
        end = time.monotonic() + postroomtest.START_TIMEOUT
        while True:
            try:
                with smtplib.SMTP(HOST, self.smtp_port, timeout=5) as s:
                    s.noop()
                return
            except (OSError, smtplib.SMTPException):
                if not self.alive():
                    raise AssertionError("postroomd exited:\n%s" % self.log_tail())
                if time.monotonic() > end:
                    raise AssertionError("no SMTP greeting on port %d:\n%s" % (
                        self.smtp_port, self.log_tail()))
                time.sleep(0.05)


class KillWhileSending(Pop3TestCase):

    @classmethod
    def make_server(cls):
        build = postroomtest.paths().build_root
        smtp_so = os.path.join(build, "modules", "smtp", "smtp.so")
        if not os.path.exists(smtp_so):
            raise unittest.SkipTest("the smtp module is not built (%s)" % smtp_so)
        return SmtpPop3Server(name="smtp-crash", store=pop3test.store_settings())

    def test_kill_while_sending(self):
        srv = self.server
        # A few messages beyond each kill point keep transactions open
        # when the kill comes.
        slack = 2 * CLIENTS
        ledger = Ledger(KILL_EVERY + slack)
        end = time.monotonic() + TIME_LIMIT
        clients = [Client(srv.smtp_port, ledger, end) for _ in range(CLIENTS)]
        for c in clients:
            c.start()

        # Kill every KILL_EVERY acknowledged messages, while the clients are
        # in the middle of their transactions; start again after a pause.
        rnd = random.Random(4242)
        kills = 0
        next_kill = KILL_EVERY
        while any(c.is_alive() for c in clients) and time.monotonic() < end:
            if ledger.acked >= next_kill and ledger.acked < N_MESSAGES:
                time.sleep(rnd.uniform(0, 0.02))
                srv.kill9()
                kills += 1
                time.sleep(rnd.uniform(*RESTART_PAUSE))
                srv.restart()
                next_kill += KILL_EVERY
                ledger.allow(next_kill + slack)
            time.sleep(0.005)
        for c in clients:
            c.join(timeout=SMTP_TIMEOUT * 2)
        self.assertFalse(any(c.is_alive() for c in clients), "clients finished in time")
        self.assertEqual(ledger.errors, [])

        # Every mailbox, every message: which tries are stored, and whole.
        present = {}      # (message, try) -> number of copies
        misplaced = []
        damaged = []
        unknown = 0
        for user in USERS:
            for lines in self.read_mailbox(user):
                tag = parse_tag(lines)
                if tag is None:
                    unknown += 1
                    continue
                present[tag] = present.get(tag, 0) + 1
                i, _ = tag
                if recipient(i) != user:
                    misplaced.append(tag)
                body = lines[lines.index(b"") + 1:]
                if body != body_of(i).encode().split(b"\n")[:-1]:
                    damaged.append(tag)

        acked_tries = [t for t, o in ledger.tries.items() if o == ACKED]
        failed_tries = [t for t, o in ledger.tries.items() if o == FAILED]
        acked_messages = {i for i, _ in acked_tries}
        lost = [t for t in acked_tries if present.get(t, 0) == 0]
        duplicated = [t for t, n in present.items() if n > 1]
        stored_unacked = [t for t in failed_tries if present.get(t, 0) > 0]
        strangers = [t for t in present if t not in ledger.tries]
        sys.stdout.write(
            "# messages=%d acknowledged=%d tries=%d failed_tries=%d kills=%d\n"
            "# lost=%d duplicated=%d stored_unacked=%d (250 lost, the message stored; "
            "its retry stored too) unacked_absent=%d\n"
            "# misplaced=%d damaged=%d unknown=%d never_sent=%d\n" % (
                N_MESSAGES, len(acked_messages), len(ledger.tries), len(failed_tries), kills,
                len(lost), len(duplicated), len(stored_unacked),
                len(failed_tries) - len(stored_unacked), len(misplaced), len(damaged),
                unknown + len(strangers), N_MESSAGES - len(acked_messages)))
        sys.stdout.flush()
        self.assertEqual(lost, [], "acknowledged messages lost")
        self.assertEqual(duplicated, [], "messages stored twice")
        self.assertEqual(misplaced, [], "messages in the wrong mailbox")
        self.assertEqual(damaged, [], "messages whose content changed")
        self.assertEqual((unknown, strangers), (0, []), "messages nobody sent")
        self.assertEqual(len(acked_messages), N_MESSAGES, "every message acknowledged")
        self.assertGreaterEqual(kills, MIN_KILLS)

    def read_mailbox(self, user):
        """Every message of @user's mailbox as poplib lines; QUIT without
        DELE. A lock left by a killed instance may need a few tries."""
        end = time.monotonic() + 60
        while True:
            try:
                p = self.server.pop(user, PASSWORD)
                break
            except poplib.error_proto as e:
                if b"IN-USE" not in e.args[0] or time.monotonic() > end:
                    raise
                time.sleep(0.2)
        try:
            count, _ = p.stat()
            messages = [p.retr(n)[1] for n in range(1, count + 1)]
            p.quit()
            return messages
        finally:
            pop3test.close_quietly(p)


if __name__ == "__main__":
    run_tests()
