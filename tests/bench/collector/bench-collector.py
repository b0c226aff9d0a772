#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Collecting from an ISP: Postroom's collector module against fetchmail
delivering through Dovecot's LDA into a Maildir, on the same machine. The
ISP is a private Dovecot pop3d on 127.0.0.1 (plain POP3), whose mailbox is
filled with the same N messages before each run; both clients download
everything, deliver it durably to one local mailbox and delete it at the
ISP. Prints messages/s for both and the ratio postroom/fetchmail. Not part
of meson test; see tests/bench/README.md."""

import argparse
import os
import pwd
import resource
import shutil
import signal
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
from benchlib import (  # noqa: E402
    Deadline, DovecotPop3, apt_install, ensure_dovecot, mail_owner, make_log, tree_cpu_seconds,
    which)

log = make_log("bench-collector")

HOST = "127.0.0.1"
DOMAIN = "example.com"
ISP_USER = "isp"
ISP_PASSWORD = "isp-bench-password"
LOCAL_USER = "bench"
LOCAL_PASSWORD = "bench-password"
COLLECTOR = "isp"
GOAL = 2.0
POLL = 0.05          # seconds between two looks at the store
STALL_LIMIT = 120    # seconds without progress before a run is given up
FETCHMAIL = "/usr/bin/fetchmail"
DOVECOT_LDA = "/usr/lib/dovecot/dovecot-lda"


class BenchFailure(Exception):
    """A run did not deliver every message exactly once."""


# ---- messages ---------------------------------------------------------------

def message_id(tag, i):
    return "<bench-%s-%d@example.org>" % (tag, i)


def make_messages(count, size, tag):
    """@count messages of @size octets (CRLF), each with its own Message-ID;
    a dot line now and then, so that stuffing is exercised."""
    line = b"The quick brown fox jumps over the lazy dog 0123456789 abcdefghijklmno.\r\n"
    out = []
    for i in range(count):
        head = ("From: Bench Sender <sender@example.org>\r\n"
                "To: %s@%s\r\n"
                "Subject: collector benchmark %s message %d\r\n"
                "Message-ID: %s\r\n"
                "Date: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
                "\r\n" % (LOCAL_USER, DOMAIN, tag, i, message_id(tag, i))).encode()
        body = bytearray()
        n = 0
        while len(head) + len(body) + len(line) <= size:
            body += (b"." + line[1:]) if n % 17 == 5 else line
            n += 1
        out.append(head + bytes(body))
    return out


def check_ids(name, ids, tag, count):
    """@ids: the Message-IDs found for run @tag. Each of the @count sent must
    be there exactly once."""
    expected = {message_id(tag, i) for i in range(count)}
    seen = {}
    for m in ids:
        if m in expected:
            seen[m] = seen.get(m, 0) + 1
    missing = len(expected) - len(seen)
    twice = sum(1 for n in seen.values() if n > 1)
    if missing or twice or len(ids) != count:
        raise BenchFailure("%s: %d messages of this run delivered, %d sent: %d missing, %d more "
                           "than once" % (name, len(ids), count, missing, twice))


# ---- Postroom ---------------------------------------------------------------

class Postroom:
    """postroomd from the build tree with the collector module (and pop3,
    whose port tells that the daemon is up), one local user and one
    collector for the ISP mailbox: routing to that user, leave_days 0
    (delete right after the delivery), plain POP3, scheduled only on
    request."""

    def __init__(self, paths, isp_port):
        module_dir = os.path.join(paths.build_root, "modules")
        for m in ("collector", "pop3"):
            if not os.path.exists(os.path.join(module_dir, m, m + ".so")):
                raise SystemExit("%s/%s/%s.so is not built" % (module_dir, m, m))
        self.srv = postroomtest.Server(
            module="pop3", module_dir=module_dir, name="bench-collector",
            settings={"modules": {"enabled": "pop3;collector"},
                      "log": {"level": "warning"},
                      "delivery": {"local_domains": DOMAIN, "default_domain": DOMAIN}},
            users={LOCAL_USER: LOCAL_PASSWORD})
        self.isp_port = isp_port
        self.db = None

    def start(self):
        self.srv.start()  # init, the user, then postroomd --foreground
        pw = os.path.join(self.srv.dir, "isp-password")
        with open(pw, "w") as f:
            f.write(ISP_PASSWORD + "\n")
        os.chmod(pw, 0o600)
        self.srv.ctl("collector", "add", COLLECTOR, "--server", HOST, "--port",
                     str(self.isp_port), "--username", ISP_USER, "--password-file", pw,
                     "--tls", "none", "--interval", "0", "--leave-days", "0",
                     "--routing", "user", "--deliver-to", LOCAL_USER)
        # A read-only look at the store: WAL readers never block the server.
        self.db = sqlite3.connect("file:%s?mode=ro" % self.srv.db_path(), uri=True,
                                  timeout=10, isolation_level=None)

    def stored(self):
        """Messages in the local user's folders."""
        if not self.srv.alive():
            raise BenchFailure("postroomd died:\n%s" % self.srv.log_tail())
        return self.db.execute(
            "SELECT count(*) FROM folder_messages fm JOIN folders f ON f.id = fm.folder_id "
            "JOIN users u ON u.id = f.user_id WHERE u.name = ?", (LOCAL_USER,)).fetchone()[0]

    def collector(self):
        """(claimed_by, run_requested, last_run, last_result) of the collector."""
        return self.db.execute(
            "SELECT claimed_by, run_requested, last_run, last_result FROM collectors "
            "WHERE name = ?", (COLLECTOR,)).fetchone()

    def message_ids(self, tag):
        return [r[0] for r in self.db.execute(
            "SELECT m.hdr_message_id FROM folder_messages fm "
            "JOIN messages m ON m.id = fm.message_id JOIN folders f ON f.id = fm.folder_id "
            "JOIN users u ON u.id = f.user_id WHERE u.name = ? AND m.hdr_message_id LIKE ?",
            (LOCAL_USER, "<bench-%s-%%" % tag))]

    def cpu(self):
        return tree_cpu_seconds(self.srv.proc.pid)

    def run(self, count, deadline):
        """`postroomctl collector run`, then waits until every message is
        stored and the session has ended (QUIT answered: the ISP removed
        what was DELE'd). Returns {"stored", "ended", "started"}: seconds
        from the request to the last message stored, to the session's end,
        and to the session's start (the daemon looks for requests every
        2 seconds)."""
        base = self.stored()
        wall0 = int(time.time())
        t0 = time.monotonic()
        self.srv.ctl("collector", "run", COLLECTOR)
        started = stored_at = ended_at = None
        progress, last_progress = base, time.monotonic()
        while stored_at is None or ended_at is None:
            deadline.left()
            now = time.monotonic()
            n = self.stored()
            if n != progress:
                progress, last_progress = n, now
            if stored_at is None and n - base >= count:
                stored_at = now - t0
            claimed_by, requested, last_run, result = self.collector()
            if started is None and claimed_by != "":
                started = now - t0
            if ended_at is None and claimed_by == "" and requested == 0 and last_run >= wall0:
                ended_at = now - t0
                if stored_at is None:
                    # Ended before everything was stored: a failure, unless
                    # the last commits become visible in a moment.
                    time.sleep(0.5)
                    if self.stored() - base < count:
                        raise BenchFailure("postroom: the session ended (%s) with %d of %d "
                                           "messages stored:\n%s" % (
                                               result, self.stored() - base, count,
                                               self.srv.log_tail()))
            if now - last_progress > STALL_LIMIT:
                raise BenchFailure("postroom: stuck at %d of %d messages:\n%s" % (
                    progress - base, count, self.srv.log_tail()))
            time.sleep(POLL)
        return {"stored": stored_at, "ended": ended_at,
                "started": started if started is not None else 0.0,
                "result": self.collector()[3], "count": self.stored() - base}

    def stop(self):
        if self.db is not None:
            self.db.close()
            self.db = None
        self.srv.stop()


# ---- fetchmail + dovecot-lda ---------------------------------------------------

class Fetchmail:
    """fetchmail (its defaults: one command at a time, RETR, then DELE
    after the MDA exited 0, QUIT at the end; fetchall, no keep) handing
    each message to Dovecot's LDA, which writes it to a Maildir with its
    default mail_fsync=optimized: the message file is fsynced before it is
    renamed into new/, and Dovecot's index files are fdatasynced. As root,
    fetchmail and the LDA run as nobody (owner of the Maildir)."""

    def __init__(self, workdir, isp_port):
        self.dir = os.path.join(workdir, "fetchmail")
        self.maildir = os.path.join(self.dir, "Maildir")
        self.uid, self.gid = mail_owner()
        os.makedirs(os.path.join(self.dir, "lda-run"))
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(self.maildir, sub))
        self.lda_conf = os.path.join(self.dir, "lda.conf")
        with open(self.lda_conf, "w") as f:
            f.write("""
base_dir = {dir}/lda-run
log_path = {dir}/lda.log
ssl = no
protocols =
mail_location = maildir:{maildir}
postmaster_address = postmaster@{domain}
first_valid_uid = 1
""".format(dir=self.dir, maildir=self.maildir, domain=DOMAIN))
        os.chmod(self.lda_conf, 0o644)
        self.rc = os.path.join(self.dir, "fetchmailrc")
        with open(self.rc, "w") as f:
            # sslproto '': no STARTTLS (Dovecot offers none anyway), as the
            # collector's --tls none.
            f.write("""set no bouncemail
set no syslog
poll {host} service {port} protocol POP3 auth password timeout 60
    user "{user}" there with password "{password}" is "{local}" here
    fetchall
    no keep
    sslproto ''
    mda "{lda} -c {conf} -e -f %F"
""".format(host=HOST, port=isp_port, user=ISP_USER, password=ISP_PASSWORD, local=LOCAL_USER,
           lda=DOVECOT_LDA, conf=self.lda_conf))
        # fetchmail wants its rc file private and owned by who runs it.
        os.chmod(self.rc, 0o600)
        os.chown(self.dir, self.uid, self.gid)
        for root, dirs, files in os.walk(self.dir):
            for name in dirs + files:
                os.chown(os.path.join(root, name), self.uid, self.gid)
        os.chmod(workdir, 0o755)
        os.chmod(self.dir, 0o755)

    def stored(self):
        return sum(len(os.listdir(os.path.join(self.maildir, sub))) for sub in ("cur", "new"))

    def message_ids(self, tag):
        prefix = ("Message-ID: <bench-%s-" % tag).encode()
        ids = []
        for sub in ("cur", "new"):
            d = os.path.join(self.maildir, sub)
            for name in os.listdir(d):
                with open(os.path.join(d, name), "rb") as f:
                    head = f.read(2048)
                for line in head.splitlines():
                    if line.startswith(prefix):
                        ids.append(line.split(b":", 1)[1].strip().decode())
                        break
        return ids

    def run(self, count, deadline):
        """One fetchmail run; returns {"ended", "cpu"}: its wall time and
        the CPU of fetchmail and every process it started (the shell and
        the LDA per message)."""
        base = self.stored()
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": self.dir,
               "FETCHMAILHOME": self.dir, "USER": "nobody" if os.geteuid() == 0 else
               pwd.getpwuid(os.getuid()).pw_name, "LANG": "C"}
        kw = {}
        if os.geteuid() == 0:
            kw = {"user": self.uid, "group": self.gid, "extra_groups": []}
        out_path = os.path.join(self.dir, "fetchmail.out")
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        with open(out_path, "ab") as out:
            t0 = time.monotonic()
            proc = subprocess.Popen([FETCHMAIL, "-f", self.rc, "--silent", "--nosyslog"],
                                    stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, env=env, cwd=self.dir, **kw)
            try:
                rc = proc.wait(timeout=deadline.left())
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise
            ended = time.monotonic() - t0
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        if rc != 0:
            with open(out_path, errors="replace") as f:
                text = f.read()[-3000:]
            raise BenchFailure("fetchmail exited with %d:\n%s" % (rc, text))
        return {"ended": ended, "cpu": cpu, "count": self.stored() - base}


# ---- main -------------------------------------------------------------------

def ensure_tools(deadline):
    missing = []
    if not os.path.exists("/usr/sbin/dovecot"):
        missing.append("dovecot-pop3d")
    if not os.path.exists(DOVECOT_LDA):
        missing.append("dovecot-core")
    if not os.path.exists(FETCHMAIL):
        missing.append("fetchmail")
    if missing:
        apt_install(missing, log, deadline)
    for f in (FETCHMAIL, DOVECOT_LDA):
        if not os.path.exists(f):
            raise SystemExit("%s is missing" % f)
    return ensure_dovecot(log, deadline)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--build-root", default=os.environ.get("POSTROOM_BUILD_ROOT", "build"))
    ap.add_argument("--source-root")
    ap.add_argument("--messages", type=int, default=10000,
                    help="messages in the ISP mailbox per run (default 10000)")
    ap.add_argument("--size", type=int, default=4096, help="message size in bytes (default 4096)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="measured runs per client, in alternating order (default 1)")
    ap.add_argument("--warmup", type=int, default=200,
                    help="messages collected by each client before measuring (default 200)")
    ap.add_argument("--clients", default="postroom,fetchmail",
                    help="comma-separated subset of postroom,fetchmail (default both)")
    ap.add_argument("--timeout", type=int, default=3600, help="overall time limit, seconds")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directories")
    args = ap.parse_args()
    wanted = [s.strip() for s in args.clients.split(",") if s.strip()]
    if not wanted or any(s not in ("postroom", "fetchmail") for s in wanted):
        ap.error("--clients takes postroom and/or fetchmail")
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
    binary = ensure_tools(deadline)

    workdir = tempfile.mkdtemp(prefix="postroom-bench-collector-")
    isp = None
    clients = []
    try:
        isp = DovecotPop3(binary, workdir, {ISP_USER: "{PLAIN}" + ISP_PASSWORD},
                          postroomtest.free_port())
        isp.start(deadline)
        if "postroom" in wanted:
            pr = Postroom(paths, isp.port)
            pr.start()
            clients.append(("postroom", pr))
        if "fetchmail" in wanted:
            clients.append(("fetchmail", Fetchmail(workdir, isp.port)))

        def one_run(name, client, count, tag):
            isp.clear(ISP_USER)
            isp.fill(ISP_USER, make_messages(count, args.size, tag), tag)
            isp_cpu0 = tree_cpu_seconds(isp.proc.pid)
            cpu0 = client.cpu() if name == "postroom" else 0.0
            res = client.run(count, deadline)
            res["isp_cpu"] = tree_cpu_seconds(isp.proc.pid) - isp_cpu0
            if name == "postroom":
                res["cpu"] = client.cpu() - cpu0
            # Nothing may arrive late: a count above N means a duplicate.
            time.sleep(0.5)
            check_ids(name, client.message_ids(tag), tag, count)
            left = isp.count(ISP_USER)
            if left != 0:
                raise BenchFailure("%s: %d messages still at the ISP after the run" % (name,
                                                                                     left))
            return res

        if args.warmup > 0:
            for name, client in clients:
                res = one_run(name, client, args.warmup, "w" + name[0])
                log("warm-up %s: %d messages in %.2f s" % (name, args.warmup, res["ended"]))
        rates = {name: [] for name, _ in clients}
        extra = {name: [] for name, _ in clients}
        cpu = {name: [0.0, 0.0, 0] for name, _ in clients}  # client, ISP, messages
        for r in range(args.rounds):
            order = clients if r % 2 == 0 else list(reversed(clients))
            for name, client in order:
                load = os.getloadavg()[0]
                res = one_run(name, client, args.messages, "r%d%s" % (r, name[0]))
                rates[name].append(args.messages / res["ended"])
                cpu[name][0] += res["cpu"]
                cpu[name][1] += res["isp_cpu"]
                cpu[name][2] += args.messages
                if name == "postroom":
                    extra[name].append(args.messages / (res["ended"] - res["started"]))
                    log("round %d postroom: %d messages; session started after %.2f s, last "
                        "stored after %.2f s, session ended after %.2f s = %.0f msg/s (%.0f "
                        "msg/s from the session's start); result \"%s\"; load %.2f" % (
                            r + 1, args.messages, res["started"], res["stored"], res["ended"],
                            rates[name][-1], extra[name][-1], res["result"], load))
                else:
                    log("round %d fetchmail: %d messages in %.2f s = %.0f msg/s; load %.2f" % (
                        r + 1, args.messages, res["ended"], rates[name][-1], load))
        print("Collecting %d messages of %d bytes from Dovecot's pop3d (plain POP3 on %s), "
              "delivered durably and deleted at the ISP, %d round%s (median):" % (
                  args.messages, args.size, HOST, args.rounds, "" if args.rounds == 1 else "s"))
        med = {name: statistics.median(v) for name, v in rates.items()}
        if "postroom" in med:
            print("  postroom:            %8.0f msg/s (from `collector run` to the session's "
                  "end; %.0f msg/s from the session's start)" % (
                      med["postroom"], statistics.median(extra["postroom"])))
        if "fetchmail" in med:
            print("  fetchmail+dovecot-lda: %6.0f msg/s" % med["fetchmail"])
        for name, (c, i, n) in cpu.items():
            print("  CPU per message, %s: %.0f us (client) + %.0f us (ISP's Dovecot)" % (
                name, 1e6 * c / n, 1e6 * i / n))
        print("  load average (1 min) at the end: %.2f" % os.getloadavg()[0])
        if len(med) == 2:
            ratio = med["postroom"] / med["fetchmail"]
            print("  ratio postroom/fetchmail: %.2f (goal >= %.1f)" % (ratio, GOAL))
            return 0 if ratio >= GOAL else 1
        return 0
    except BenchFailure as e:
        print("FAILED: %s" % e, file=sys.stderr)
        return 2
    finally:
        for name, client in clients:
            if name == "postroom":
                try:
                    client.stop()
                except Exception as e:  # noqa: BLE001 - keep cleaning up
                    log("stopping postroomd: %r" % e)
                if args.keep:
                    log("kept %s" % client.srv.dir)
                else:
                    shutil.rmtree(client.srv.dir, ignore_errors=True)
        if isp is not None:
            isp.stop()
        if args.keep:
            log("kept %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
