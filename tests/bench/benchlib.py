# SPDX-License-Identifier: GPL-3.0-or-later
"""What every benchmark script needs: progress lines and one time limit for
the whole run; and what several need: installing a missing Debian package,
the CPU time of a process tree, and Dovecot's pop3d on loopback (the ISP of
tests/bench/collector, the server tests/bench/pop3 compares with)."""

import os
import pwd
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time


def make_log(name):
    """A function writing "[name] message" lines to standard error."""
    def log(msg):
        sys.stderr.write("[%s] %s\n" % (name, msg))
        sys.stderr.flush()
    return log


class Deadline:
    """The time limit of the whole run; left() raises once it has passed."""

    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self):
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError("benchmark time limit reached")
        return left


# ---- packages ---------------------------------------------------------------

def apt_install(packages, log, deadline):
    """apt-get install -y @packages (as root), with a temporary policy-rc.d
    so that no package's own service starts: the benchmarks run private
    instances on free loopback ports. Runs apt-get update once if the
    install fails (a fresh container has no package lists)."""
    if os.geteuid() != 0:
        raise SystemExit("%s not installed and installing needs root" % " ".join(packages))
    log("installing %s with apt-get" % " ".join(packages))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    policy = "/usr/sbin/policy-rc.d"
    made_policy = False
    if not os.path.exists(policy):
        with open(policy, "w") as f:
            f.write("#!/bin/sh\nexit 101\n")
        os.chmod(policy, 0o755)
        made_policy = True
    try:
        cmd = ["apt-get", "install", "-y", "--no-install-recommends"] + list(packages)
        res = subprocess.run(cmd, env=env, timeout=min(600, deadline.left()),
                             capture_output=True, text=True)
        if res.returncode != 0:
            subprocess.run(["apt-get", "update"], env=env, timeout=min(600, deadline.left()),
                           capture_output=True, text=True)
            res = subprocess.run(cmd, env=env, timeout=min(600, deadline.left()),
                                 capture_output=True, text=True)
        if res.returncode != 0:
            raise SystemExit("apt-get install %s failed:\n%s%s" % (
                " ".join(packages), res.stdout, res.stderr))
    finally:
        if made_policy:
            os.unlink(policy)


# ---- CPU time ---------------------------------------------------------------

def tree_cpu_seconds(root):
    """CPU time (user + system) of process @root and its descendants, with
    that of the descendants they have reaped (Dovecot serves each session
    in a process of its own, postroomd in its threads). The difference
    across a run is the tree's CPU for it, whatever else the machine was
    doing. 0 once @root is gone."""
    stats = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                # The command name may hold spaces: the fields follow its ')'.
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(name)] = (int(fields[1]), sum(int(v) for v in fields[11:15]))
    children = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, unvisited = 0, [root]
    while unvisited:
        pid = unvisited.pop()
        if pid in stats:
            total += stats[pid][1]
            unvisited.extend(children.get(pid, []))
    return total / os.sysconf("SC_CLK_TCK")


# ---- Dovecot's pop3d as the ISP ----------------------------------------------

DOVECOT = "/usr/sbin/dovecot"


DOVECOT_IMAP = "/usr/lib/dovecot/imap"


def ensure_dovecot(log, deadline, imap=False):
    """The dovecot binary, installing Debian's dovecot-pop3d (and with
    @imap dovecot-imapd) if needed."""
    needed = [("dovecot-pop3d", DOVECOT)]
    if imap:
        needed.append(("dovecot-imapd", DOVECOT_IMAP))
    missing = [pkg for pkg, path in needed if not os.path.exists(path)]
    if missing:
        apt_install(missing, log, deadline)
    for pkg, path in needed:
        if not os.path.exists(path):
            raise SystemExit("%s is missing after installing %s" % (path, pkg))
    return DOVECOT


def mail_owner():
    """(uid, gid) the mail files belong to: nobody as root, else ourselves."""
    if os.geteuid() == 0:
        pw = pwd.getpwnam("nobody")
        return pw.pw_uid, pw.pw_gid
    return os.getuid(), os.getgid()


class DovecotPop3:
    """A private Dovecot with only pop3d (or with @protocol "imap" only
    imapd), plain POP3 (IMAP) on a free 127.0.0.1 port (no TLS), passwords
    from a passwd-file, Maildir mailboxes under @workdir/dovecot/mail owned
    by mail_owner(). Messages are put straight into a mailbox's cur/, as an
    MDA would have delivered them earlier."""

    def __init__(self, binary, workdir, passwords, port, protocol="pop3"):
        """@passwords: {user: "{SCHEME}secret"}."""
        self.binary = binary
        self.dir = os.path.join(workdir, "dovecot")
        self.mail = os.path.join(self.dir, "mail")
        self.port = port
        self.proc = None
        self.stderr = None
        self.uid, self.gid = mail_owner()
        os.makedirs(self.dir)
        os.chmod(workdir, 0o755)
        os.chmod(self.dir, 0o755)
        self.passwd = os.path.join(self.dir, "passwd")
        self.set_passwords(passwords)
        for u in passwords:
            for sub in ("cur", "new", "tmp"):
                os.makedirs(os.path.join(self.mail, u, sub))
        run = os.path.join(self.dir, "run")
        state = os.path.join(self.dir, "state")
        os.makedirs(run)
        os.makedirs(state)
        self.chown_tree(self.dir)
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write("""
base_dir = {run}
state_dir = {state}
instance_name = bench-dovecot-{port}
log_path = {dir}/dovecot.log
protocols = {protocol}
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
mail_location = maildir:{mail}/%u
first_valid_uid = {uid}
first_valid_gid = {gid}
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {passwd}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={dir}/home/%u
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
""".format(run=run, state=state, port=port, dir=self.dir, mail=self.mail, uid=self.uid,
           gid=self.gid, passwd=self.passwd, protocol=protocol,
           pop3_port=port if protocol == "pop3" else 0,
           imap_port=port if protocol == "imap" else 0))

    def chown_tree(self, top):
        os.chown(top, self.uid, self.gid)
        for root, dirs, files in os.walk(top):
            for name in dirs + files:
                os.chown(os.path.join(root, name), self.uid, self.gid)

    def set_passwords(self, passwords):
        with open(self.passwd, "w") as f:
            for u, secret in sorted(passwords.items()):
                f.write("%s:%s::::::\n" % (u, secret))
        os.chmod(self.passwd, 0o644)

    def fill(self, user, messages, tag):
        """Puts @messages into @user's cur/, named with @tag so that every
        fill has new file names (and so new UIDs)."""
        cur = os.path.join(self.mail, user, "cur")
        stamp = int(time.time()) - 86400
        for i, m in enumerate(messages):
            name = "%d.M%dR%s.bench,S=%d:2," % (stamp + i, i, tag, len(m))
            path = os.path.join(cur, name)
            with open(path, "wb") as f:
                f.write(m)
            os.chown(path, self.uid, self.gid)

    def count(self, user):
        """Messages in @user's mailbox (new/ and cur/)."""
        return sum(len(os.listdir(os.path.join(self.mail, user, sub)))
                   for sub in ("cur", "new"))

    def clear(self, user):
        """Removes every message of @user's mailbox (Dovecot drops them
        from its index at the next session)."""
        for sub in ("cur", "new", "tmp"):
            d = os.path.join(self.mail, user, sub)
            for name in os.listdir(d):
                os.unlink(os.path.join(d, name))

    def start(self, deadline):
        self.stderr = open(os.path.join(self.dir, "stderr"), "wb")
        self.proc = subprocess.Popen([self.binary, "-F", "-c", self.conf],
                                     stdout=self.stderr, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        end = time.monotonic() + min(60, deadline.left())
        while True:
            if self.proc.poll() is not None:
                raise SystemExit("dovecot exited with %d:\n%s" % (self.proc.returncode,
                                                                 self.log_text()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                    s.recv(100)
                return
            except OSError:
                if time.monotonic() > end:
                    raise SystemExit("dovecot did not listen:\n%s" % self.log_text())
                time.sleep(0.1)

    def log_text(self):
        out = ""
        for name in ("stderr", "dovecot.log"):
            try:
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    out += f.read()[-4000:]
            except OSError:
                pass
        return out

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)
        self.proc = None
        if self.stderr is not None:
            self.stderr.close()
            self.stderr = None


def which(name, *paths):
    """The first of @paths that exists, else @name on PATH, else None."""
    for p in paths:
        if os.path.exists(p):
            return p
    return shutil.which(name)


# ---- Postroom's side of a comparison ------------------------------------------

def postroom_hashes(srv, users):
    """The password hashes postroomctl stored, so that Dovecot can verify the
    very same ones ({CRYPT} hands them to libcrypt, as Postroom does): a
    login then costs both servers the same, and the comparison is about
    serving mail, not about yescrypt against a plaintext compare."""
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(srv.data_dir, "postroom.db"),
                         uri=True)
    try:
        rows = dict(db.execute("SELECT name, pwhash FROM users"))
    finally:
        db.close()
    return {u: "{CRYPT}" + rows[u] for u in users}


def fill_postroom(srv, rcpts, messages, jobs, deadline, log):
    """Delivers every message to every address in @rcpts (one postroomctl
    deliver per message, all of them as recipients), @jobs deliveries at a
    time."""
    base = [srv.paths.postroomctl, "--config", srv.config_path, "deliver", "--from",
            "sender@example.org"] + list(rcpts)
    running = []
    done = 0
    waiting = list(messages)
    last_report = time.monotonic()
    while waiting or running:
        deadline.left()
        while waiting and len(running) < jobs:
            m = waiting.pop()
            p = subprocess.Popen(base, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE)
            p.stdin.write(m)
            p.stdin.close()
            running.append(p)
        p = running.pop(0)
        err = p.stderr.read()
        rc = p.wait(timeout=120)
        p.stderr.close()
        if rc != 0:
            raise SystemExit("postroomctl deliver failed (%d): %s" % (rc, err.decode()))
        done += 1
        if time.monotonic() - last_report > 10:
            log("postroom: %d/%d messages delivered" % (done, len(messages)))
            last_report = time.monotonic()


def skip_init(ctl):
    """Server.start() runs `postroomctl init` again; the store is ready."""
    def wrapped(*a, **kw):
        if a and a[0] == "init":
            return None
        return ctl(*a, **kw)
    return wrapped
