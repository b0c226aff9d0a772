# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for the collector module tests: a postroomd with the pop3 and
collector modules (pop3 gives the server a port to wait for and lets the
tests read the local mailboxes), collectors made with `postroomctl
collector`, sessions started with `postroomctl collector run`, Dovecot's
pop3d as the ISP on loopback (plain, STLS and implicit TLS), and the
scripted misbehaving server of pop3server.py.

Every script takes --build-root/--source-root like the protocol tests, and
--store sqlite|postgresql (default sqlite; PostgreSQL runs a private
server, tests/protocol/pgstore.py).
"""

import argparse
import atexit
import json
import os
import poplib
import pwd
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "protocol"))
sys.path.insert(0, HERE)

import pgstore  # noqa: E402
import postroomtest  # noqa: E402
from postroomtest import (  # noqa: E402,F401
    HOST, IO_TIMEOUT, TOOL_TIMEOUT, Server, certificate, free_port, paths, run_tests)
from pop3server import Message, ScriptedPOP3  # noqa: E402,F401

DOMAIN = "example.com"
PASSWORD = "local pw"
ISP_PASSWORD = "isp-pw"
# Every wait in these tests is bounded by this many seconds.
WAIT = 60

# Short waits, so that timeouts happen within a test.
FAST = {
    "poll_interval": "1s",
    "connect_timeout": "3s",
    "command_timeout": "3s",
    "claim_lease": "60s",
    "admin_address": "admin",
    "alert_interval": "1h",
    # The host's: forget UIDs the server no longer lists at once, so that
    # a UID the server reuses is new again (VPOP3's advice when it is the
    # only client of the mailbox).
    "obsolete_uid_days": "0",
}


def options():
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--store", default=os.environ.get("POSTROOM_TEST_STORE", "sqlite"),
                        choices=("sqlite", "postgresql"))
    args, _ = parser.parse_known_args()
    return args


_pg = None


def pg_server():
    global _pg
    if _pg is None:
        _pg = pgstore.PgServer()
        atexit.register(_pg.stop)
    return _pg


def module_dir():
    return os.path.join(paths().build_root, "modules")


def merge(base, extra):
    for group, keys in (extra or {}).items():
        base.setdefault(group, {}).update(keys)
    return base


def message(tag, to="alice@%s" % DOMAIN, body=b"Hello.\n", extra=b""):
    return (b"From: Sender <sender@remote.test>\n"
            b"To: " + to.encode() + b"\n"
            b"Subject: " + tag.encode() + b"\n"
            b"Message-ID: <" + tag.encode() + b"@remote.test>\n" + extra +
            b"\n" + body)


def subject(msg):
    for line in msg.split(b"\r\n"):
        if line == b"":
            return None
        if line.lower().startswith(b"subject:"):
            return line.split(b":", 1)[1].strip().decode("utf-8", "replace")
    return None


class CollectorServer(Server):
    def __init__(self, settings=None, users=None, name="collector"):
        groups = {
            "modules": {"enabled": "pop3;collector"},
            "delivery": {"local_domains": DOMAIN, "default_domain": DOMAIN},
            "collector": dict(FAST),
        }
        self.pg_database = None
        if options().store == "postgresql":
            pg = pg_server()
            self.pg_database = pg.create_database()
            groups["store"] = pg.store_settings(self.pg_database)
        merge(groups, settings)
        super().__init__(settings=groups, users=users, module="pop3", module_dir=module_dir(),
                         name=name)

    # ---- collectors

    def password_file(self, text):
        path = os.path.join(self.dir, "isp-pw-%d" % time.monotonic_ns())
        with open(path, "w") as f:
            f.write(text + "\n")
        os.chmod(path, 0o600)
        return path

    def add_collector(self, name, server, port, password=ISP_PASSWORD, **options):
        args = ["collector", "add", name, "--server", server, "--port", str(port),
                "--password-file", self.password_file(password)]
        options.setdefault("interval", "0")
        options.setdefault("username", "isp-user")
        for key, value in options.items():
            args += ["--" + key.replace("_", "-"), str(value)]
        self.ctl(*args)

    def set_collector(self, name, **options):
        args = ["collector", "set", name]
        for key, value in options.items():
            args += ["--" + key.replace("_", "-"), str(value)]
        self.ctl(*args)

    def show(self, name):
        return json.loads(self.ctl("--json", "collector", "show", name).stdout)

    def run(self, name, timeout=WAIT):
        """`postroomctl collector run NAME`, then waits until a session
        that began after the request has ended. Returns the collector."""
        self.ctl("collector", "run", name)
        return self.wait_run(name, timeout)

    def wait_run(self, name, timeout=WAIT):
        """Waits until collector @name has no run requested and no session
        going. Returns the collector."""
        deadline = time.monotonic() + timeout
        c = None
        while time.monotonic() < deadline:
            c = self.show(name)
            if c["run_requested"] == 0 and c["claimed_by"] == "":
                return c
            if not self.alive():
                break
            time.sleep(0.2)
        raise AssertionError("collector %s: no session ended within %ds: %r\n%s" % (
            name, timeout, c, self.log_tail(60)))

    # ---- local mailboxes

    def mailbox(self, user):
        """The messages in @user's mailbox, as bytes (CRLF)."""
        p = poplib.POP3(HOST, self.port, timeout=IO_TIMEOUT)
        try:
            p.user(user)
            p.pass_(PASSWORD)
            count = p.stat()[0]
            out = []
            for i in range(1, count + 1):
                out.append(b"\r\n".join(p.retr(i)[1]) + b"\r\n")
            p.quit()
            return out
        finally:
            p.close()

    def subjects(self, user):
        return sorted(subject(m) or "" for m in self.mailbox(user))

    def wait_mail(self, user, count, timeout=WAIT):
        deadline = time.monotonic() + timeout
        got = []
        while time.monotonic() < deadline:
            got = self.mailbox(user)
            if len(got) >= count:
                return got
            time.sleep(0.3)
        raise AssertionError("%s has %d messages, expected %d within %ds\n%s" % (
            user, len(got), count, timeout, self.log_tail(60)))

    def query(self, sql, params=None):
        """Rows of a read-only query on the store, SQLite or PostgreSQL;
        :name in @sql is a parameter from @params."""
        if self.pg_database is not None:
            return pg_server().query(self.pg_database, sql, params)
        db = sqlite3.connect("file:%s?mode=ro" % self.db_path(), uri=True, timeout=10)
        try:
            return db.execute(sql, params or {}).fetchall()
        finally:
            db.close()

    def uids(self, name):
        """{uid: (state, first_seen)} of collector @name, from the store."""
        rows = self.query("SELECT u.uid, u.state, u.first_seen FROM collector_uids u "
                          "JOIN collectors c ON c.id = u.collector_id WHERE c.name = :name",
                          {"name": name})
        return {r[0]: (r[1], r[2]) for r in rows}

    def age_uids(self, name, days):
        """Makes every UID of @name look first seen @days days earlier."""
        sql = ("UPDATE collector_uids SET first_seen = first_seen - %d WHERE "
               "collector_id = (SELECT id FROM collectors WHERE name = '%s')" % (
                   days * 86400, name.replace("'", "''")))
        if self.pg_database is not None:
            pg_server().admin_sql(self.pg_database, sql)
            return
        db = sqlite3.connect(self.db_path(), timeout=10)
        try:
            db.execute(sql)
            db.commit()
        finally:
            db.close()

    def restart(self):
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [self.paths.postroomd, "--config", self.config_path, "--foreground"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            env=self.env, cwd=self.dir)
        self.returncode = None
        self.wait_ready()


class CollectorTestCase(postroomtest.ServerTestCase):
    """One postroomd per class, with local users alice, bob and admin."""

    users = ("alice", "bob", "admin")

    @classmethod
    def collector_settings(cls):
        return {}

    @classmethod
    def make_server(cls):
        return CollectorServer(settings=cls.collector_settings(),
                               users={u: PASSWORD for u in cls.users},
                               name=cls.__name__.lower())


# ---- Dovecot ----------------------------------------------------------------

def dovecot_binary():
    for path in ("/usr/sbin/dovecot", shutil.which("dovecot") or ""):
        if path and os.path.exists(path):
            return path
    raise unittest.SkipTest("Dovecot is not installed (package dovecot-pop3d)")


class Dovecot:
    """Dovecot's pop3d on 127.0.0.1 as the ISP: a plain port offering STLS
    and an implicit-TLS port, with the test certificate; Maildir mailboxes
    in its own directory; passwords in a passwd-file in plain text, so that
    APOP and CRAM-MD5 work too."""

    def __init__(self, users):
        self.binary = dovecot_binary()
        self.dir = tempfile.mkdtemp(prefix="postroom-dovecot-")
        self.port = free_port()
        self.tls_port = free_port()
        self.proc = None
        self.log = None
        os.chmod(self.dir, 0o755)
        if os.geteuid() == 0:
            pw = pwd.getpwnam("nobody")
            self.uid, self.gid = pw.pw_uid, pw.pw_gid
        else:
            self.uid, self.gid = os.getuid(), os.getgid()
        self.mail = os.path.join(self.dir, "mail")
        cert, key = certificate()
        self.cert = os.path.join(self.dir, "cert.pem")
        shutil.copy(cert, self.cert)
        key_copy = os.path.join(self.dir, "key.pem")
        shutil.copy(key, key_copy)
        os.chmod(key_copy, 0o600)
        passwd = os.path.join(self.dir, "passwd")
        with open(passwd, "w") as f:
            for u, secret in sorted(users.items()):
                f.write("%s:{PLAIN}%s::::::\n" % (u, secret))
        os.chmod(passwd, 0o644)
        for u in users:
            for sub in ("cur", "new", "tmp"):
                os.makedirs(os.path.join(self.mail, u, sub))
        self.seq = 0
        run = os.path.join(self.dir, "run")
        os.makedirs(run)
        os.makedirs(os.path.join(self.dir, "state"))
        self.chown_all()
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write("""
base_dir = {run}
state_dir = {state}
instance_name = postroom-collector-{port}
log_path = {dir}/dovecot.log
protocols = pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain cram-md5 apop
mail_location = maildir:{mail}/%u
first_valid_uid = {uid}
first_valid_gid = {gid}
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
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
""".format(run=run, state=os.path.join(self.dir, "state"), port=self.port,
           tls_port=self.tls_port, dir=self.dir, mail=self.mail, uid=self.uid, gid=self.gid,
           passwd=passwd, cert=self.cert, key=key_copy))

    def chown_all(self):
        for root, dirs, files in os.walk(self.dir):
            for name in dirs + files:
                os.chown(os.path.join(root, name), self.uid, self.gid)

    def start(self):
        self.log = open(os.path.join(self.dir, "stderr"), "wb")
        self.proc = subprocess.Popen([self.binary, "-F", "-c", self.conf], stdout=self.log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        for port in (self.port, self.tls_port):
            while True:
                if self.proc.poll() is not None:
                    raise AssertionError("dovecot exited with %d:\n%s" % (
                        self.proc.returncode, self.log_text()))
                try:
                    with socket.create_connection((HOST, port), timeout=1):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise AssertionError("dovecot did not listen:\n%s" % self.log_text())
                    time.sleep(0.1)
        return self

    def log_text(self):
        out = ""
        for name in ("stderr", "dovecot.log"):
            try:
                with open(os.path.join(self.dir, name), errors="replace") as f:
                    out += f.read()[-4000:]
            except OSError:
                pass
        return out

    def put(self, user, data):
        """Delivers @data to @user's Maildir (new/), as an MDA would."""
        if isinstance(data, str):
            data = data.encode()
        self.seq += 1
        name = "%d.M%dP%d.test" % (int(time.time()), self.seq, os.getpid())
        tmp = os.path.join(self.mail, user, "tmp", name)
        with open(tmp, "wb") as f:
            f.write(data)
        os.chown(tmp, self.uid, self.gid)
        os.rename(tmp, os.path.join(self.mail, user, "new", name))

    def logins(self, user):
        """Dovecot's log lines of @user's logins ("method=APOP ... TLS")."""
        return [l for l in self.log_text().splitlines() if "Login: user=<%s>" % user in l]

    def count(self, user):
        return sum(len(os.listdir(os.path.join(self.mail, user, sub)))
                   for sub in ("cur", "new"))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=20)
        self.proc = None
        if self.log is not None:
            self.log.close()
            self.log = None
        if not os.environ.get("POSTROOM_KEEP_TMP"):
            shutil.rmtree(self.dir, ignore_errors=True)
