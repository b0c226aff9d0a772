#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""IMAP benchmarks. (a) mixed: Postroom's imap4 module against Dovecot's
imapd, both on 127.0.0.1 with the same mailboxes; N client processes run
whole sessions (LOGIN, SELECT, a flag listing, header and body fetches,
flag changes, APPEND, UID EXPUNGE, LOGOUT) against one server at a time
for several rounds; prints IMAP commands/s for both and the ratio.
(b) idle: opens many connections that log in, select INBOX and IDLE, and
prints postroomd's resident memory per connection. Not part of meson test;
see tests/bench/README.md."""

import argparse
import errno
import multiprocessing
import os
import random
import re
import resource
import selectors
import shutil
import socket
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "protocol"))
sys.path.insert(0, os.path.dirname(HERE))

import postroomtest  # noqa: E402
from benchlib import (Deadline, DovecotPop3, ensure_dovecot, fill_postroom,  # noqa: E402
                      make_log, postroom_hashes, skip_init, tree_cpu_seconds)

log = make_log("bench-imap")

HOST = "127.0.0.1"
DOMAIN = "example.com"
PASSWORD = "bench-password"
MIXED_GOAL = 1.0
IDLE_GOAL_KIB = 32
IO_TIMEOUT = 60


# ---- messages ---------------------------------------------------------------

LINE = b"The quick brown fox jumps over the lazy dog 0123456789 abcdefghijklmno.\r\n"


def make_message(i, size):
    """Every third message is multipart/alternative with an attachment, so
    that FETCH of structure and sections has real MIME to work on."""
    head = ("From: Bench Sender <sender@example.org>\r\n"
            "To: user@%s\r\n"
            "Subject: benchmark message %d\r\n"
            "Message-ID: <bench-imap-%d@example.org>\r\n"
            "Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n" % (DOMAIN, i, i)).encode()
    text = LINE * max(1, (size - 600) // len(LINE))
    if i % 3:
        return head + b"\r\n" + text
    b = b"bench-boundary-%d" % i
    return (head + b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"" + b +
            b"\"\r\n\r\n--" + b + b"\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n" +
            text + b"--" + b + b"\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Disposition: attachment; filename=\"data.bin\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgcICQoLDA0ODw==\r\n--" +
            b + b"--\r\n")


# ---- a small IMAP client ----------------------------------------------------

class ImapError(Exception):
    pass


LITERAL_AT_END = re.compile(rb"\{(\d+)\}$")


class Imap:
    """Just enough IMAP for the load: tagged commands, LITERAL+ for
    APPEND, literals in responses read whole."""

    def __init__(self, port):
        self.sock = socket.create_connection((HOST, port), timeout=IO_TIMEOUT)
        self.buf = b""
        self.serial = 0
        greeting = self.readline()
        if not greeting.startswith(b"* OK"):
            raise ImapError("greeting %r" % greeting)

    def _fill(self):
        chunk = self.sock.recv(262144)
        if not chunk:
            raise ImapError("connection closed")
        self.buf += chunk

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def readline(self):
        """A response line with its literals inline."""
        out = b""
        while True:
            while b"\r\n" not in self.buf:
                self._fill()
            line, self.buf = self.buf.split(b"\r\n", 1)
            out += line
            m = LITERAL_AT_END.search(line)
            if m is None:
                return out
            out += b"\r\n" + self._take(int(m.group(1)))

    def command(self, text, literal=None):
        """Sends a command; returns (untagged lines, tagged line)."""
        self.serial += 1
        tag = b"b%d" % self.serial
        data = tag + b" " + text
        if literal is not None:
            data += b" {%d+}\r\n" % len(literal) + literal
        self.sock.sendall(data + b"\r\n")
        untagged = []
        while True:
            line = self.readline()
            if line.startswith(tag + b" "):
                if not line[len(tag) + 1:].startswith(b"OK"):
                    raise ImapError("%r -> %r" % (text[:60], line))
                return untagged, line
            untagged.append(line)

    def close(self):
        self.sock.close()


# Reading rounds per session: a client does several things per login, as
# mail clients do, so that logins (a password hash each) do not decide.
READS_PER_SESSION = 5
COMMANDS_PER_SESSION = 3 + 4 * READS_PER_SESSION + 4


def one_session(port, user, count, rnd, append_msg):
    """One client session of the mixed load; returns its commands."""
    c = Imap(port)
    try:
        c.command(b"LOGIN %s %s" % (user.encode(), PASSWORD.encode()))
        c.command(b"SELECT INBOX")
        c.command(b"UID FETCH 1:* (FLAGS)")
        for _ in range(READS_PER_SESSION):
            some = ",".join(str(rnd.randint(1, count)) for _ in range(10)).encode()
            c.command(b"FETCH " + some +
                      b" (UID ENVELOPE BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE)])")
            few = ",".join(str(rnd.randint(1, count)) for _ in range(3)).encode()
            c.command(b"FETCH " + few + b" (BODYSTRUCTURE BODY.PEEK[])")
            c.command(b"STORE " + few + b" +FLAGS (\\Flagged)")
            c.command(b"STORE " + few + b" -FLAGS.SILENT (\\Flagged)")
        _, tagged = c.command(b"APPEND INBOX (\\Seen)", append_msg)
        m = re.search(rb"APPENDUID \d+ (\d+)", tagged)
        if m is None:
            raise ImapError("no APPENDUID in %r" % tagged)
        c.command(b"UID STORE " + m.group(1) + b" +FLAGS.SILENT (\\Deleted)")
        c.command(b"UID EXPUNGE " + m.group(1))
        c.command(b"LOGOUT")
    finally:
        c.close()
    return COMMANDS_PER_SESSION


def client_main(args):
    port, user, count, seconds, seed, queue, start = args
    rnd = random.Random(seed)
    append_msg = make_message(1, 2048)
    start.wait()
    t0 = time.monotonic()
    commands = sessions = 0
    try:
        while time.monotonic() - t0 < seconds:
            commands += one_session(port, user, count, rnd, append_msg)
            sessions += 1
        queue.put((commands, sessions, time.monotonic() - t0, None))
    except Exception as e:  # reported to the parent, which stops the run
        queue.put((commands, sessions, time.monotonic() - t0, repr(e)))


def run_round(port, users, count, seconds, seed):
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    start = ctx.Event()
    procs = [ctx.Process(target=client_main,
                         args=((port, u, count, seconds, seed + i, queue, start),))
             for i, u in enumerate(users)]
    for p in procs:
        p.start()
    start.set()
    results = [queue.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    errors = [r[3] for r in results if r[3] is not None]
    if errors:
        raise SystemExit("client failed: %s" % errors[0])
    commands = sum(r[0] for r in results)
    sessions = sum(r[1] for r in results)
    elapsed = max(r[2] for r in results)
    return commands, sessions, elapsed


def start_postroom(users, settings, deadline, messages=None, deliver_jobs=2):
    paths = postroomtest.paths()
    for f in (paths.postroomd, paths.postroomctl):
        if not os.path.exists(f):
            raise SystemExit("%s is not built" % f)
    module_dir = os.path.join(paths.build_root, "modules", "imap4")
    base = {"log": {"level": "warning"},
            "delivery": {"local_domains": DOMAIN, "default_domain": DOMAIN}}
    base.update(settings)
    srv = postroomtest.Server(module="imap4", module_dir=module_dir, name="bench-imap",
                              settings=base)
    srv.ctl("init")
    for u in users:
        srv.add_user(u, PASSWORD)
    if messages:
        t0 = time.monotonic()
        fill_postroom(srv, ["%s@%s" % (u, DOMAIN) for u in users], messages, deliver_jobs,
                      deadline, log)
        log("postroom filled in %.1f s" % (time.monotonic() - t0))
    srv.ctl = skip_init(srv.ctl)
    srv.start()
    return srv


def mixed(args, deadline):
    users = ["bench%d" % i for i in range(args.clients)]
    messages = [make_message(i, args.size) for i in range(args.messages)]
    binary = ensure_dovecot(log, deadline, imap=True)
    workdir = tempfile.mkdtemp(prefix="postroom-bench-imap-")
    dovecot = srv = None
    try:
        log("filling %d mailboxes with %d messages of about %d bytes" % (
            len(users), len(messages), args.size))
        dovecot = DovecotPop3(binary, workdir, {u: "{PLAIN}" + PASSWORD for u in users},
                              postroomtest.free_port(), protocol="imap")
        for u in users:
            dovecot.fill(u, messages, "I1")
        srv = start_postroom(users, {"imap4": {"max_connections_per_ip": 1000}}, deadline,
                             messages, args.deliver_jobs)
        dovecot.set_passwords(postroom_hashes(srv, users))
        dovecot.start(deadline)

        servers = [("postroom", srv.port), ("dovecot", dovecot.port)]
        pids = {"postroom": srv.proc.pid, "dovecot": dovecot.proc.pid}
        for name, port in servers:  # warm-up: page cache, Dovecot's indexes
            cmds, sess, el = run_round(port, users, len(messages), 2, 1)
            log("warm-up %s: %d sessions, %d commands in %.2f s" % (name, sess, cmds, el))
        rates = {name: [] for name, _ in servers}
        cpu = {name: [0.0, 0] for name, _ in servers}
        for r in range(args.rounds):
            order = servers if r % 2 == 0 else list(reversed(servers))
            for name, port in order:
                cpu0 = tree_cpu_seconds(pids[name])
                cmds, sess, el = run_round(port, users, len(messages), args.seconds, 100 + r)
                cpu[name][0] += tree_cpu_seconds(pids[name]) - cpu0
                cpu[name][1] += cmds
                rates[name].append(cmds / el)
                log("round %d %s: %d sessions, %d commands in %.2f s = %.0f commands/s" % (
                    r + 1, name, sess, cmds, el, cmds / el))
        pr = statistics.median(rates["postroom"])
        dc = statistics.median(rates["dovecot"])
        print("IMAP mixed load, %d clients, %d messages of about %d bytes per mailbox, "
              "%d rounds of %d s (median):" % (args.clients, args.messages, args.size,
                                               args.rounds, args.seconds))
        print("  postroom: %8.0f commands/s" % pr)
        print("  dovecot:  %8.0f commands/s" % dc)
        print("  ratio postroom/dovecot: %.2f (goal >= %.1f)" % (pr / dc, MIXED_GOAL))
        us = {name: 1e6 * c / max(n, 1) for name, (c, n) in cpu.items()}
        print("  server CPU per command: postroom %.1f us, dovecot %.1f us" % (
            us["postroom"], us["dovecot"]))
        return 0 if pr / dc >= MIXED_GOAL else 1
    finally:
        if dovecot is not None:
            dovecot.stop()
        if srv is not None:
            srv.stop()
            shutil.rmtree(srv.dir, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)


# ---- idle connections -------------------------------------------------------

def vm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for pid %d" % pid)


def raise_nofile(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if os.geteuid() == 0 and hard != resource.RLIM_INFINITY and hard < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (needed, needed))
        target = needed
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, max(hard, target)))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def open_idle(port, users, n, deadline, in_flight):
    """Opens @n connections that LOGIN, SELECT INBOX and IDLE (pipelined);
    returns them once every one has its "+ idling" continuation."""
    sel = selectors.DefaultSelector()
    done, pending = [], {}
    started = 0
    while len(done) < n:
        if time.monotonic() > deadline:
            raise TimeoutError("only %d of %d connections idling in time" % (len(done), n))
        while started < n and len(pending) < in_flight:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            rc = s.connect_ex((HOST, port))
            if rc != 0:
                s.close()
                raise OSError(rc, "connect: %s" % os.strerror(rc))
            user = users[started % len(users)]
            s.sendall(b"a LOGIN %s %s\r\nb SELECT INBOX\r\nc IDLE\r\n" % (
                user.encode(), PASSWORD.encode()))
            s.setblocking(False)
            pending[s] = b""
            sel.register(s, selectors.EVENT_READ)
            started += 1
        for key, _ in sel.select(timeout=1.0):
            s = key.fileobj
            try:
                chunk = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError as e:
                if e.errno == errno.ECONNRESET:
                    chunk = b""
                else:
                    raise
            got = pending[s] + chunk
            if not chunk or re.search(rb"^[ab] (NO|BAD)", got, re.M):
                raise RuntimeError("connection %d failed: %r" % (len(done), got[-300:]))
            pending[s] = got
            if b"\r\n+ " in got or got.startswith(b"+ "):
                sel.unregister(s)
                del pending[s]
                done.append(s)
    sel.close()
    return done


def idle(args, deadline):
    n = args.connections
    limit = raise_nofile(n + 1000)
    if limit < n + 100:
        raise SystemExit("RLIMIT_NOFILE is %d, too low for %d connections" % (limit, n))
    users = ["idle%d" % i for i in range(args.idle_users)]
    many = n + 100
    srv = start_postroom(users, {
        "server": {"max_connections": many, "max_connections_per_ip": many},
        "imap4": {"max_connections": many, "max_connections_per_ip": many,
                  "max_logins_per_user": n // len(users) + 10, "idle_timeout": "1h"}}, deadline)
    clients = []
    try:
        pid = srv.proc.pid
        # Warm up the one-off state (store connections, caches).
        for c in open_idle(srv.port, users, 20, deadline.end, 20):
            c.close()
        time.sleep(args.settle)
        before = vm_rss_kib(pid)
        t0 = time.monotonic()
        clients = open_idle(srv.port, users, n, deadline.end, args.in_flight)
        opened = time.monotonic() - t0
        time.sleep(args.settle)
        if not srv.alive():
            raise SystemExit("postroomd died:\n" + srv.log_tail())
        after = vm_rss_kib(pid)
        per = (after - before) / n
        print("IMAP IDLE: %d connections (LOGIN, SELECT INBOX, IDLE) opened in %.1f s" % (
            n, opened))
        print("  postroomd VmRSS %d KiB before, %d KiB after: %.1f KiB per connection "
              "(goal <= %d KiB)" % (before, after, per, IDLE_GOAL_KIB))
        return 0 if per <= IDLE_GOAL_KIB else 1
    finally:
        for s in clients:
            s.close()
        srv.stop()
        shutil.rmtree(srv.dir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("mode", choices=("mixed", "idle", "both"), nargs="?", default="both")
    ap.add_argument("--build-root", default=os.environ.get("POSTROOM_BUILD_ROOT", "build"))
    ap.add_argument("--source-root")
    ap.add_argument("--clients", type=int, default=4, help="mixed: parallel clients")
    ap.add_argument("--messages", type=int, default=300, help="mixed: messages per mailbox")
    ap.add_argument("--size", type=int, default=4096, help="mixed: message size in bytes")
    ap.add_argument("--rounds", type=int, default=5, help="mixed: measured rounds per server")
    ap.add_argument("--seconds", type=int, default=10, help="mixed: length of a round")
    ap.add_argument("--deliver-jobs", type=int, default=2)
    ap.add_argument("--connections", type=int, default=10000, help="idle: connections")
    ap.add_argument("--idle-users", type=int, default=100, help="idle: accounts they use")
    ap.add_argument("--in-flight", type=int, default=100,
                    help="idle: connections logging in at once")
    ap.add_argument("--settle", type=float, default=2.0, help="idle: seconds before measuring")
    ap.add_argument("--timeout", type=int, default=3600, help="overall time limit, seconds")
    args = ap.parse_args()
    os.environ["POSTROOM_BUILD_ROOT"] = os.path.abspath(args.build_root)
    if args.source_root:
        os.environ["POSTROOM_SOURCE_ROOT"] = os.path.abspath(args.source_root)
    deadline = Deadline(args.timeout)
    rc = 0
    if args.mode in ("mixed", "both"):
        rc |= mixed(args, deadline)
    if args.mode in ("idle", "both"):
        rc |= idle(args, deadline)
    return rc


if __name__ == "__main__":
    sys.exit(main())
