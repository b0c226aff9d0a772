#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""SMTP receiving throughput: Postroom's smtp module against Postfix, both
on 127.0.0.1 on the same machine, loaded by the same `smtp-source` (from
Postfix) runs: N parallel sessions sending M messages of S bytes to a few
local users. Each run is timed from the first connection to the last
delivery (a message in the recipient's mailbox: a Maildir file for Postfix,
a row in the store for Postroom); prints messages/s for both and the ratio
postroom/postfix. Not part of meson test; see tests/bench/README.md."""

import argparse
import os
import pwd
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "protocol"))
sys.path.insert(0, os.path.dirname(HERE))

import postroomtest  # noqa: E402
from benchlib import Deadline, make_log  # noqa: E402

log = make_log("bench-smtp")

HOST = "127.0.0.1"
DOMAIN = "example.com"
SENDER = "sender@example.org"
PASSWORD = "bench-password"
SMTP_SOURCE = "/usr/sbin/smtp-source"
POSTFIX = "/usr/sbin/postfix"
POLL = 0.05          # seconds between two counts of delivered messages
STALL_LIMIT = 120    # seconds without a new delivery before a run is given up


def wait_listening(port, proc_alive, what, seconds):
    """Waits until something accepts connections on 127.0.0.1:@port and sends
    a greeting line; @proc_alive() says whether the server is still there."""
    end = time.monotonic() + seconds
    while True:
        if not proc_alive():
            raise RuntimeError("%s exited during start-up" % what)
        try:
            with socket.create_connection((HOST, port), timeout=2) as s:
                s.settimeout(5)
                if s.recv(512).startswith(b"220"):
                    s.sendall(b"QUIT\r\n")
                    return
        except OSError:
            pass
        if time.monotonic() > end:
            raise RuntimeError("%s did not greet on port %d within %d s" % (what, port, seconds))
        time.sleep(0.1)


# ---- Postfix ----------------------------------------------------------------

def ensure_postfix(deadline):
    """Installs Debian's postfix package (for smtp-source and for the server
    itself) unless it is there. Debconf is preseeded with "No configuration",
    so the package writes no /etc/postfix/main.cf, and a temporary
    policy-rc.d keeps its system service from starting: this script runs
    only its own private instance, never one on port 25."""
    if os.path.exists(SMTP_SOURCE) and os.path.exists(POSTFIX):
        return
    if os.geteuid() != 0:
        raise SystemExit("postfix is not installed and installing it needs root")
    log("installing postfix with apt-get (debconf: No configuration)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["debconf-set-selections"], env=env, check=True, timeout=60,
                   input="postfix postfix/main_mailer_type select No configuration\n"
                         "postfix postfix/mailname string bench.localdomain\n", text=True)
    policy = "/usr/sbin/policy-rc.d"
    made_policy = False
    if not os.path.exists(policy):
        with open(policy, "w") as f:
            f.write("#!/bin/sh\nexit 101\n")
        os.chmod(policy, 0o755)
        made_policy = True
    try:
        cmd = ["apt-get", "install", "-y", "--no-install-recommends", "postfix"]
        res = subprocess.run(cmd, env=env, timeout=min(600, deadline.left()),
                             capture_output=True, text=True)
        if res.returncode != 0:
            # The package lists may be missing (a fresh container): update once.
            subprocess.run(["apt-get", "update"], env=env, timeout=min(600, deadline.left()),
                           capture_output=True, text=True)
            res = subprocess.run(cmd, env=env, timeout=min(600, deadline.left()),
                                 capture_output=True, text=True)
        if res.returncode != 0:
            raise SystemExit("apt-get install postfix failed:\n%s%s" % (res.stdout, res.stderr))
    finally:
        if made_policy:
            os.unlink(policy)
    for f in (SMTP_SOURCE, POSTFIX):
        if not os.path.exists(f):
            raise SystemExit("%s is missing after installing postfix" % f)


# Postfix's master.cf: the standard services without chroot (the private
# queue directory holds no copies of /etc files), and smtpd on the bench
# port only.
MASTER_CF = """\
{host}:{port} inet n - n - - smtpd
pickup     unix  n - n 60   1 pickup
cleanup    unix  n - n -    0 cleanup
qmgr       unix  n - n 300  1 qmgr
tlsmgr     unix  - - n 1000? 1 tlsmgr
rewrite    unix  - - n -    - trivial-rewrite
bounce     unix  - - n -    0 bounce
defer      unix  - - n -    0 bounce
trace      unix  - - n -    0 bounce
verify     unix  - - n -    1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -    - proxymap
proxywrite unix  - - n -    1 proxymap
smtp       unix  - - n -    - smtp
relay      unix  - - n -    - smtp
showq      unix  n - n -    - showq
error      unix  - - n -    - error
retry      unix  - - n -    - error
discard    unix  - - n -    - discard
local      unix  - n n -    - local
virtual    unix  - n n -    - virtual
lmtp       unix  - - n -    - lmtp
anvil      unix  - - n -    1 anvil
scache     unix  - - n -    1 scache
postlog    unix-dgram n - n - 1 postlogd
"""


class Postfix:
    """A private Postfix instance: its own config_directory, queue_directory,
    data_directory and log file under @workdir, smtpd on 127.0.0.1:port,
    virtual(8) delivery of the bench domain to Maildirs owned by nobody.
    Everything else is Postfix's default, in particular fsync of the queue
    file before the 250 and of each delivered Maildir file."""

    def __init__(self, workdir, users):
        self.dir = os.path.join(workdir, "postfix")
        self.conf = os.path.join(self.dir, "conf")
        self.queue = os.path.join(self.dir, "queue")
        self.data = os.path.join(self.dir, "data")
        self.mail = os.path.join(self.dir, "vmail")
        self.maillog = os.path.join(self.dir, "maillog")
        self.port = postroomtest.free_port()
        self.users = users
        self.started = False
        # The queue directory must be owned by root; postfix creates the
        # data directory (owned by the postfix user) and the queue's
        # subdirectories itself on start. The mailboxes belong to nobody.
        os.chmod(workdir, 0o755)
        for d in (self.dir, self.conf, self.queue, self.mail):
            os.makedirs(d, exist_ok=True)
            os.chmod(d, 0o755)
        nobody = pwd.getpwnam("nobody")
        os.chown(self.mail, nobody.pw_uid, nobody.pw_gid)
        with open(os.path.join(self.conf, "vmailbox"), "w") as f:
            for u in users:
                f.write("%s@%s %s/\n" % (u, DOMAIN, u))  # trailing slash: Maildir
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(host=HOST, port=self.port))
        settings = {
            "compatibility_level": "3.6",
            "queue_directory": self.queue,
            "data_directory": self.data,
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "myhostname": "bench.localdomain",
            "mydomain": "localdomain",
            "myorigin": "$myhostname",
            "mydestination": "",
            "inet_interfaces": HOST,
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "relayhost": "",
            # No DNS at all: not for the client's name, not for delivery.
            "disable_dns_lookups": "yes",
            "smtp_dns_support_level": "disabled",
            "smtp_host_lookup": "native",
            "lmtp_host_lookup": "native",
            "smtpd_peername_lookup": "no",
            "alias_maps": "",
            "alias_database": "",
            "biff": "no",
            "virtual_mailbox_domains": DOMAIN,
            "virtual_mailbox_base": self.mail,
            "virtual_mailbox_maps": "texthash:" + os.path.join(self.conf, "vmailbox"),
            "virtual_uid_maps": "static:%d" % nobody.pw_uid,
            "virtual_gid_maps": "static:%d" % nobody.pw_gid,
            # Logging goes to a file through postlogd (there may be no
            # syslog daemon); Postfix logs every message, as it always does.
            "maillog_file": self.maillog,
            "maillog_file_prefixes": self.dir,
            # 10 parallel sessions from one address are far below the
            # defaults; said explicitly so a larger --sessions keeps working.
            "smtpd_client_connection_count_limit": "0",
            "smtpd_client_connection_rate_limit": "0",
            "smtpd_client_message_rate_limit": "0",
        }
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            for key, value in settings.items():
                f.write("%s = %s\n" % (key, value))

    def postfix(self, *args, timeout=120):
        return subprocess.run([POSTFIX, "-c", self.conf] + list(args), capture_output=True,
                              text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def start(self, deadline):
        res = self.postfix("start", timeout=min(120, deadline.left()))
        if res.returncode != 0:
            raise RuntimeError("postfix start failed (%d):\n%s%s\n%s" % (
                res.returncode, res.stdout, res.stderr, self.log_text()))
        self.started = True
        wait_listening(self.port, lambda: True, "postfix", min(60, deadline.left()))

    def delivered(self):
        """Messages in the users' Maildirs (new/ and cur/)."""
        n = 0
        for u in self.users:
            for sub in ("new", "cur"):
                try:
                    with os.scandir(os.path.join(self.mail, u, sub)) as it:
                        n += sum(1 for _ in it)
                except FileNotFoundError:
                    pass
        return n

    def log_text(self):
        try:
            with open(self.maillog, errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def stop(self):
        """postfix stop (which waits for the master to exit), then kills any
        process still holding the instance's master pid."""
        if not self.started:
            return
        self.started = False
        try:
            self.postfix("stop", timeout=60)
        except subprocess.TimeoutExpired:
            pass
        pid_file = os.path.join(self.queue, "pid", "master.pid")
        try:
            with open(pid_file) as f:
                pid = int(f.read().split()[0])
            os.kill(pid, signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            pass


# ---- Postroom ---------------------------------------------------------------

class Postroom:
    """postroomd from the build tree with the smtp module on a free port,
    the bench users created with postroomctl."""

    def __init__(self, paths, users):
        module_dir = os.path.join(paths.build_root, "modules", "smtp")
        if not os.path.exists(os.path.join(module_dir, "smtp.so")):
            raise SystemExit("%s/smtp.so is not built" % module_dir)
        self.srv = postroomtest.Server(
            module="smtp", module_dir=module_dir, name="bench-smtp",
            settings={"log": {"level": "warning"},
                      "delivery": {"local_domains": DOMAIN, "default_domain": DOMAIN},
                      "smtp": {"max_connections_per_ip": 10000,
                               "max_connections": 10000},
                      # The module's other services need an address too;
                      # the bench does not use them.
                      "submission": {"listen": "%s:%d" % (HOST, postroomtest.free_port())},
                      "smtps": {"listen": "%s:%d" % (HOST, postroomtest.free_port())}},
            users={u: PASSWORD for u in users})
        self.port = self.srv.port
        self.db = None

    def start(self, deadline):
        self.srv.start()  # init, users, then postroomd --foreground
        wait_listening(self.port, self.srv.alive, "postroomd", min(60, deadline.left()))
        # A read-only look at the store: WAL readers never block the server.
        self.db = sqlite3.connect("file:%s?mode=ro" % self.srv.db_path(), uri=True,
                                  timeout=10, isolation_level=None)

    def delivered(self):
        """Messages in the users' folders (one row per message and mailbox)."""
        if not self.srv.alive():
            raise RuntimeError("postroomd died:\n%s" % self.srv.log_tail())
        return self.db.execute("SELECT count(*) FROM folder_messages").fetchone()[0]

    def log_text(self):
        return self.srv.log_tail()

    def stop(self):
        if self.db is not None:
            self.db.close()
            self.db = None
        self.srv.stop()


# ---- the load ---------------------------------------------------------------

def split(total, parts):
    """@total as @parts nearly equal integers."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def run_load(name, server, users, sessions, messages, size, reuse, deadline):
    """One smtp-source per user, sessions and messages shared among them, all
    started at once. Returns (seconds to the last 250, seconds to the last
    delivery), both from the moment the first smtp-source starts."""
    base = server.delivered()
    per_user_sessions = split(sessions, len(users))
    per_user_messages = split(messages, len(users))
    procs = []
    t0 = time.monotonic()
    try:
        for u, s, m in zip(users, per_user_sessions, per_user_messages):
            if m == 0:
                continue
            cmd = [SMTP_SOURCE, "-s", str(max(1, s)), "-m", str(m), "-l", str(size),
                   "-f", SENDER, "-t", "%s@%s" % (u, DOMAIN), "-M", "client.localdomain"]
            if reuse:
                cmd.append("-d")  # all of a session's messages on one connection
            cmd.append("inet:%s:%d" % (HOST, server.port))
            procs.append(subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        acked_at = None      # every smtp-source has exited: all 250s are in
        delivered_at = None  # every message is in its mailbox
        delivered = 0
        last_progress = time.monotonic()
        while acked_at is None or delivered_at is None:
            deadline.left()
            now = time.monotonic()
            if acked_at is None and all(p.poll() is not None for p in procs):
                acked_at = now - t0
                failed = [p for p in procs if p.returncode != 0]
                if failed:
                    raise RuntimeError("%s: smtp-source failed (exit %d): %s" % (
                        name, failed[0].returncode, failed[0].stderr.read().decode(
                            errors="replace")[-2000:]))
            if delivered_at is None:
                # Postfix delivers after its 250, Postroom stores before it:
                # either way the clock stops at the last delivery.
                count = server.delivered() - base
                if count > delivered:
                    delivered = count
                    last_progress = now
                if delivered >= messages:
                    delivered_at = now - t0
            if now - last_progress > STALL_LIMIT:
                raise RuntimeError("%s: stuck at %d of %d messages delivered:\n%s" % (
                    name, delivered, messages, server.log_text()))
            time.sleep(POLL)
        # Nothing more may arrive: a count above the load means a message
        # was delivered twice.
        time.sleep(0.5)
        extra = server.delivered() - base - messages
        if extra != 0:
            raise RuntimeError("%s: %d messages delivered, %d sent" % (
                name, messages + extra, messages))
        return acked_at, delivered_at
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait(timeout=20)
            p.stderr.close()


# ---- main -------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build-root", default=os.environ.get("POSTROOM_BUILD_ROOT", "build"))
    ap.add_argument("--source-root")
    ap.add_argument("--sessions", type=int, default=10,
                    help="parallel SMTP sessions (default 10)")
    ap.add_argument("--messages", type=int, default=20000,
                    help="messages per measured run (default 20000)")
    ap.add_argument("--size", type=int, default=4096,
                    help="message body size in bytes, headers excluded (default 4096)")
    ap.add_argument("--users", type=int, default=5,
                    help="recipient mailboxes; each gets its own smtp-source (default 5)")
    ap.add_argument("--reuse", action="store_true",
                    help="send all of a session's messages over one connection "
                         "(smtp-source -d); default: one connection per message")
    ap.add_argument("--rounds", type=int, default=3, help="measured rounds per server")
    ap.add_argument("--warmup", type=int, default=500,
                    help="messages sent to each server before measuring (default 500)")
    ap.add_argument("--servers", default="postroom,postfix",
                    help="comma-separated subset of postroom,postfix (default both)")
    ap.add_argument("--timeout", type=int, default=3600, help="overall time limit, seconds")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directories")
    args = ap.parse_args()
    if args.users < 1 or args.sessions < args.users:
        ap.error("--sessions must be at least --users (one smtp-source per user)")
    wanted = [s.strip() for s in args.servers.split(",") if s.strip()]
    if not wanted or any(s not in ("postroom", "postfix") for s in wanted):
        ap.error("--servers takes postroom and/or postfix")
    os.environ["POSTROOM_BUILD_ROOT"] = os.path.abspath(args.build_root)
    if args.source_root:
        os.environ["POSTROOM_SOURCE_ROOT"] = os.path.abspath(args.source_root)
    deadline = Deadline(args.timeout)
    # SIGTERM unwinds like Ctrl-C, so the clean-up below still runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    paths = postroomtest.paths()
    if "postroom" in wanted:
        for f in (paths.postroomd, paths.postroomctl):
            if not os.path.exists(f):
                raise SystemExit("%s is not built" % f)
    if "postfix" in wanted and os.geteuid() != 0:
        raise SystemExit("the Postfix instance needs root (its master runs as root)")
    ensure_postfix(deadline)  # smtp-source comes with it, needed either way

    users = ["bench%d" % i for i in range(args.users)]
    workdir = tempfile.mkdtemp(prefix="postroom-bench-smtp-")
    servers = []
    try:
        if "postroom" in wanted:
            pr = Postroom(paths, users)
            servers.append(("postroom", pr))
            pr.start(deadline)
        if "postfix" in wanted:
            pf = Postfix(workdir, users)
            servers.append(("postfix", pf))
            pf.start(deadline)

        # Warm-up: Postfix's process pools, the page cache, the store's pages.
        if args.warmup > 0:
            for name, server in servers:
                acked, done = run_load(name, server, users, args.sessions, args.warmup,
                                       args.size, args.reuse, deadline)
                log("warm-up %s: %d messages delivered in %.2f s" % (name, args.warmup, done))
        rates = {name: [] for name, _ in servers}
        for r in range(args.rounds):
            order = servers if r % 2 == 0 else list(reversed(servers))
            for name, server in order:
                acked, done = run_load(name, server, users, args.sessions, args.messages,
                                       args.size, args.reuse, deadline)
                rates[name].append(args.messages / done)
                log("round %d %s: %d messages, last 250 after %.2f s, last delivery after "
                    "%.2f s = %.0f msg/s" % (r + 1, name, args.messages, acked, done,
                                             args.messages / done))
        print("SMTP receive and local delivery, %d sessions (%s), %d messages of %d bytes "
              "to %d users, %d rounds (median):" % (
                  args.sessions, "one connection each" if args.reuse
                  else "one connection per message", args.messages, args.size,
                  len(users), args.rounds))
        med = {name: statistics.median(v) for name, v in rates.items()}
        for name, _ in servers:
            print("  %-9s %8.0f msg/s" % (name + ":", med[name]))
        if len(med) == 2:
            print("  ratio postroom/postfix: %.2f" % (med["postroom"] / med["postfix"]))
        return 0
    finally:
        for name, server in servers:
            try:
                server.stop()
            except Exception as e:  # noqa: BLE001 - keep cleaning up
                log("stopping %s: %r" % (name, e))
        for name, server in servers:
            if name == "postroom":
                if args.keep:
                    log("kept %s" % server.srv.dir)
                else:
                    shutil.rmtree(server.srv.dir, ignore_errors=True)
        if args.keep:
            log("kept %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
        if postroomtest._cert_dir:
            shutil.rmtree(postroomtest._cert_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
