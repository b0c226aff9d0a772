#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""POP3 download throughput: Postroom's pop3 module against Dovecot's
pop3d, both on 127.0.0.1 with the same mailboxes. N client processes each
download a whole mailbox (RETR every message, QUIT without DELE) from one
server at a time, for several rounds; prints messages/s for both and the
ratio. The clients are the C program pop3-load from the build tree
(--client c, the default: it leaves the CPU to the servers) or Python
processes (--client python). Not part of meson test; see
tests/bench/README.md."""

import argparse
import json
import multiprocessing
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "protocol"))
sys.path.insert(0, os.path.dirname(HERE))

import postroomtest  # noqa: E402
from benchlib import (Deadline, DovecotPop3, ensure_dovecot, fill_postroom,  # noqa: E402
                      make_log, postroom_hashes, skip_init, tree_cpu_seconds)

log = make_log("bench-pop3")

HOST = "127.0.0.1"
DOMAIN = "example.com"
PASSWORD = "bench-password"
GOAL = 1.5


# ---- messages ---------------------------------------------------------------

def make_message(i, size):
    head = ("From: Bench Sender <sender@example.org>\r\n"
            "To: user@%s\r\n"
            "Subject: benchmark message %d\r\n"
            "Message-ID: <bench-%d@example.org>\r\n"
            "Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
            "\r\n" % (DOMAIN, i, i)).encode()
    line = b"The quick brown fox jumps over the lazy dog 0123456789 abcdefghijklmno.\r\n"
    body = b""
    n = 0
    while len(head) + len(body) + len(line) <= size:
        # A dot line now and then, so that stuffing is exercised too.
        body += (b"." + line[1:]) if n % 17 == 5 else line
        n += 1
    return head + body


# ---- Postroom ---------------------------------------------------------------

# ---- clients ----------------------------------------------------------------

def recv_line(sock, buf):
    while b"\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed")
        buf += chunk
    line, buf = buf.split(b"\r\n", 1)
    return line, buf


def download(port, user, pipeline, timeout):
    """Logs in as @user, RETRs every message, QUITs. Returns (messages, bytes)."""
    sock = socket.create_connection((HOST, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = b""
    try:
        line, buf = recv_line(sock, buf)
        assert line.startswith(b"+OK"), line
        # A temporary failure ([SYS/TEMP], [IN-USE]) is retried the way a
        # client's next poll would, a few times; the caller reports retries.
        retries = 0
        while True:
            sock.sendall(b"USER %s\r\nPASS %s\r\n" % (user.encode(), PASSWORD.encode()))
            line, buf = recv_line(sock, buf)
            if not line.startswith(b"+OK"):
                raise RuntimeError("%s: USER failed: %r" % (user, line))
            line, buf = recv_line(sock, buf)
            if line.startswith(b"+OK"):
                break
            if retries >= 20 or not (b"[SYS/TEMP]" in line or b"[IN-USE]" in line):
                raise RuntimeError("%s: login failed: %r" % (user, line))
            retries += 1
            time.sleep(0.05)
        sock.sendall(b"STAT\r\n")
        line, buf = recv_line(sock, buf)
        count = int(line.split()[1])
        got = 0
        octets = 0
        n = 1
        while n <= count:
            batch = min(pipeline, count - n + 1)
            sock.sendall(b"".join(b"RETR %d\r\n" % i for i in range(n, n + batch)))
            for _ in range(batch):
                line, buf = recv_line(sock, buf)
                if not line.startswith(b"+OK"):
                    raise RuntimeError("RETR failed: %r" % line)
                while True:
                    end = buf.find(b"\r\n.\r\n")
                    if end >= 0:
                        octets += end + 2
                        buf = buf[end + 5:]
                        break
                    chunk = sock.recv(1 << 20)
                    if not chunk:
                        raise ConnectionError("connection closed in a message")
                    buf += chunk
                got += 1
            n += batch
        sock.sendall(b"QUIT\r\n")
        line, buf = recv_line(sock, buf)
        assert line.startswith(b"+OK"), line
        return got, octets, retries
    finally:
        sock.close()


def client_main(args):
    port, user, pipeline, timeout, start_evt, queue = args
    start_evt.wait(timeout)
    try:
        queue.put(("ok",) + download(port, user, pipeline, timeout))
    except Exception as e:  # noqa: BLE001 - reported to the parent
        queue.put(("error", repr(e)))


def run_round(port, users, pipeline, deadline, client="python", load_client=None,
              expect=None, passes=1):
    """One round: every user's mailbox downloaded in parallel. Returns
    (messages, octets, seconds, transfer seconds): the last measured from the
    first login to the last QUIT, by the C client only (else None)."""
    if client == "c":
        return run_round_c(load_client, port, users, pipeline, deadline, expect, passes)
    ctx = multiprocessing.get_context("fork")
    start = ctx.Event()
    queue = ctx.Queue()
    timeout = max(5, min(300, deadline.left()))
    procs = [ctx.Process(target=client_main,
                         args=((port, u, pipeline, timeout, start, queue),))
             for u in users]
    for p in procs:
        p.start()
    time.sleep(0.2)
    t0 = time.monotonic()
    start.set()
    results = []
    try:
        for _ in procs:
            results.append(queue.get(timeout=timeout + 10))
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.kill()
                p.join()
    elapsed = time.monotonic() - t0
    errors = [r[1] for r in results if r[0] != "ok"]
    if errors:
        raise RuntimeError("client errors: %s" % errors)
    msgs = sum(r[1] for r in results)
    octets = sum(r[2] for r in results)
    retries = sum(r[3] for r in results)
    if retries:
        log("%d login retries after temporary failures" % retries)
    return msgs, octets, elapsed, None


def run_round_c(load_client, port, users, pipeline, deadline, expect, passes):
    """The same round with pop3-load: one process per user, timed by itself
    from their release to the last report."""
    timeout = int(max(5, min(300, deadline.left())))
    cmd = [load_client, "--host", HOST, "--port", str(port), "--password", PASSWORD,
           "--pipeline", str(pipeline), "--passes", str(passes), "--timeout", str(timeout)]
    if expect is not None:
        cmd += ["--expect", str(expect)]
    res = subprocess.run(cmd + list(users), capture_output=True, text=True,
                         timeout=timeout + 30)
    try:
        out = json.loads(res.stdout)
    except ValueError:
        raise RuntimeError("pop3-load failed (exit %d): %s%s" % (res.returncode, res.stdout,
                                                                 res.stderr))
    if res.returncode != 0 or not out["ok"]:
        raise RuntimeError("client errors: %s" % out["errors"])
    if out["retries"]:
        log("%d login retries after temporary failures" % out["retries"])
    return out["messages"], out["octets"], out["seconds"], out["transfer_seconds"]


# ---- main -------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build-root", default=os.environ.get("POSTROOM_BUILD_ROOT", "build"))
    ap.add_argument("--source-root")
    ap.add_argument("--clients", type=int, default=4, help="parallel clients (default 4)")
    ap.add_argument("--messages", type=int, default=2000, help="messages per mailbox")
    ap.add_argument("--size", type=int, default=4096, help="message size in bytes")
    ap.add_argument("--rounds", type=int, default=5, help="measured rounds per server")
    ap.add_argument("--passes", type=int, default=5,
                    help="whole-mailbox downloads per client in a round, one session each "
                    "(C client only; default 5: rounds of a few seconds, steadier ratios)")
    ap.add_argument("--pipeline", type=int, default=1,
                    help="RETR commands sent before reading replies (default 1: wait for each)")
    ap.add_argument("--client", choices=("c", "python"), default="c",
                    help="load client: c (pop3-load from the build tree, default) or python")
    ap.add_argument("--deliver-jobs", type=int, default=2,
                    help="parallel postroomctl deliver processes while filling")
    ap.add_argument("--timeout", type=int, default=1800, help="overall time limit, seconds")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--dovecot-plain-passwords", action="store_true",
                    help="let Dovecot compare plaintext passwords instead of verifying the "
                    "hashes Postroom stores (cheaper logins for Dovecot; the old behaviour)")
    args = ap.parse_args()
    os.environ["POSTROOM_BUILD_ROOT"] = os.path.abspath(args.build_root)
    if args.source_root:
        os.environ["POSTROOM_SOURCE_ROOT"] = os.path.abspath(args.source_root)
    deadline = Deadline(args.timeout)
    paths = postroomtest.paths()
    for f in (paths.postroomd, paths.postroomctl):
        if not os.path.exists(f):
            raise SystemExit("%s is not built" % f)
    module_dir = os.path.join(paths.build_root, "modules", "pop3")
    load_client = os.path.join(paths.build_root, "tests", "bench", "pop3", "pop3-load")
    if args.client == "c" and not os.path.exists(load_client):
        raise SystemExit("%s is not built (or use --client python)" % load_client)
    passes = args.passes if args.client == "c" else 1

    users = ["bench%d" % i for i in range(args.clients)]
    messages = [make_message(i, args.size) for i in range(args.messages)]
    binary = ensure_dovecot(log, deadline)
    workdir = tempfile.mkdtemp(prefix="postroom-bench-pop3-")
    dovecot = None
    srv = None
    try:
        log("filling %d mailboxes with %d messages of %d bytes" % (len(users), len(messages),
                                                                  args.size))
        dovecot = DovecotPop3(binary, workdir, {u: "{PLAIN}" + PASSWORD for u in users},
                              postroomtest.free_port())
        for u in users:
            dovecot.fill(u, messages, "P1")
        srv = postroomtest.Server(
            module="pop3", module_dir=module_dir, name="bench-pop3",
            settings={"log": {"level": "warning"},
                      "delivery": {"local_domains": DOMAIN, "default_domain": DOMAIN},
                      "pop3": {"max_connections_per_ip": 1000}})
        srv.ctl("init")
        for u in users:
            srv.add_user(u, PASSWORD)
        if not args.dovecot_plain_passwords:
            dovecot.set_passwords(postroom_hashes(srv, users))
        t0 = time.monotonic()
        fill_postroom(srv, ["%s@%s" % (u, DOMAIN) for u in users], messages, args.deliver_jobs,
                      deadline, log)
        log("postroom filled in %.1f s" % (time.monotonic() - t0))
        srv.ctl = skip_init(srv.ctl)
        srv.start()
        dovecot.start(deadline)

        servers = [("postroom", srv.port), ("dovecot", dovecot.port)]
        server_pids = {"postroom": srv.proc.pid, "dovecot": dovecot.proc.pid}
        # A warm-up round each (page cache, Dovecot's index files), always
        # with the Python client: the measured rounds' client must then get
        # the very same messages and octets, which checks pop3-load too.
        warm = {}
        for name, port in servers:
            msgs, octets, el, _ = run_round(port, users, args.pipeline, deadline)
            warm[name] = (msgs, octets)
            log("warm-up %s: %d messages, %d octets in %.2f s" % (name, msgs, octets, el))
        rates = {name: [] for name, _ in servers}
        transfer_rates = {name: [] for name, _ in servers}
        cpu = {name: [0.0, 0] for name, _ in servers}  # seconds, messages
        expected = len(users) * len(messages) * passes
        for r in range(args.rounds):
            order = servers if r % 2 == 0 else list(reversed(servers))
            for name, port in order:
                cpu0 = tree_cpu_seconds(server_pids[name])
                msgs, octets, el, tr = run_round(port, users, args.pipeline, deadline,
                                                 client=args.client, load_client=load_client,
                                                 expect=len(messages), passes=passes)
                cpu[name][0] += tree_cpu_seconds(server_pids[name]) - cpu0
                cpu[name][1] += msgs
                if msgs != expected or octets != warm[name][1] * passes:
                    raise SystemExit("%s: %d messages, %d octets downloaded, expected %d "
                                     "messages and %d times the warm-up's %d octets" % (
                                         name, msgs, octets, expected, passes, warm[name][1]))
                rates[name].append(msgs / el)
                note = ""
                if tr is not None:
                    transfer_rates[name].append(msgs / tr)
                    note = " (%.0f msg/s from the first login to the last QUIT)" % (msgs / tr)
                log("round %d %s: %d messages, %.1f MiB in %.2f s = %.0f msg/s%s" % (
                    r + 1, name, msgs, octets / 1048576, el, msgs / el, note))
        pr = statistics.median(rates["postroom"])
        dc = statistics.median(rates["dovecot"])
        print("POP3 download, %d clients x %d messages of %d bytes, pipeline %d, %d rounds "
              "(median) of %d passes, %s client:" % (args.clients, args.messages, args.size,
                                                     args.pipeline, args.rounds, passes,
                                                     args.client))
        print("  postroom: %8.0f msg/s" % pr)
        print("  dovecot:  %8.0f msg/s" % dc)
        print("  ratio postroom/dovecot: %.2f (goal >= %.1f)" % (pr / dc, GOAL))
        if args.client == "c":
            # Logins (yescrypt, the same cost for both) left out: only the
            # downloads, which is what the goal is about.
            tp = statistics.median(transfer_rates["postroom"])
            td = statistics.median(transfer_rates["dovecot"])
            print("  without connecting and logging in: postroom %.0f, dovecot %.0f msg/s, "
                  "ratio %.2f" % (tp, td, tp / td))
        # Logins included; 10 ms clock ticks, summed over the rounds.
        us = {name: 1e6 * c / max(n, 1) for name, (c, n) in cpu.items()}
        print("  server CPU per message: postroom %.1f us, dovecot %.1f us, ratio dovecot/"
              "postroom %.2f" % (us["postroom"], us["dovecot"],
                                 us["dovecot"] / us["postroom"] if us["postroom"] else 0))
        return 0 if pr / dc >= GOAL else 1
    finally:
        if dovecot is not None:
            dovecot.stop()
        if srv is not None:
            srv.stop()
            if args.keep:
                log("kept %s and %s" % (workdir, srv.dir))
            else:
                shutil.rmtree(srv.dir, ignore_errors=True)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
