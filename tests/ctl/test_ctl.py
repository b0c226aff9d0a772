#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Drives the real postroomctl binary against a temporary SQLite setup.

Usage: test_ctl.py POSTROOMCTL [--sdk-lib LIBPOSTROOM-PLUGIN.so] [MODULE.so ...]

Modules are copied into a temporary module directory, so the directory of
the SDK library they link is put on LD_LIBRARY_PATH.

Every test gets its own directory, configuration and database. Output is
checked in English (LANGUAGE unset, LANG=C.UTF-8); --json output is parsed
with the json module.
"""

import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import unittest
import warnings

CTL = None
MODULES = []

EX_OK = 0
EX_USAGE = 64
EX_DATAERR = 65
EX_NOUSER = 67
EX_UNAVAILABLE = 69
EX_IOERR = 74
EX_CANTCREAT = 73
EX_CONFIG = 78

try:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt  # removed in Python 3.13; used only when present
except ImportError:
    crypt = None


class Setup:
    """A temporary data directory, module directory and configuration."""

    def __init__(self, extra_config=""):
        self.tmp = tempfile.mkdtemp(prefix="postroomctl-test-")
        self.data = os.path.join(self.tmp, "data")
        self.moddir = os.path.join(self.tmp, "modules")
        os.mkdir(self.moddir)
        for path in MODULES:
            dest = os.path.join(self.moddir, os.path.basename(path))
            shutil.copyfile(path, dest)
            os.chmod(dest, 0o755)
        self.config = os.path.join(self.tmp, "postroomd.conf")
        with open(self.config, "w", encoding="utf-8") as f:
            f.write(
                "[server]\n"
                f"data_dir={self.data}\n"
                f"module_dir={self.moddir}\n"
                "[auth]\n"
                "password_scheme=sha512-crypt\n" + extra_config
            )

    def cleanup(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run(self, *args, stdin=None, env=None, config=True):
        argv = [CTL]
        if config:
            argv += ["--config", self.config]
        argv += list(args)
        run_env = {k: v for k, v in os.environ.items()
                   if k not in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")}
        run_env["LANG"] = "C.UTF-8"
        if env:
            run_env.update(env)
        return subprocess.run(argv, input=stdin, capture_output=True, text=True,
                              env=run_env, timeout=120)

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def db_rows(self, table):
        """Rows of @table as dicts, read behind libgda's back."""
        db = sqlite3.connect(os.path.join(self.data, "postroom.db"))
        try:
            db.row_factory = sqlite3.Row
            return [dict(r) for r in db.execute(f"SELECT * FROM {table}")]
        finally:
            db.close()


class CtlTestCase(unittest.TestCase):
    def setUp(self):
        self.s = Setup()
        self.addCleanup(self.s.cleanup)

    def ok(self, *args, **kw):
        r = self.s.run(*args, **kw)
        self.assertEqual(r.returncode, EX_OK,
                         f"{args}: rc={r.returncode}\nstdout={r.stdout}\nstderr={r.stderr}")
        return r

    def fails(self, code, *args, **kw):
        r = self.s.run(*args, **kw)
        self.assertEqual(r.returncode, code,
                         f"{args}: rc={r.returncode}\nstdout={r.stdout}\nstderr={r.stderr}")
        self.assertTrue(r.stderr.startswith("postroomctl: "), r.stderr)
        return r

    def json(self, *args, **kw):
        r = self.ok(*args, "--json", **kw)
        return json.loads(r.stdout)

    def init(self):
        return self.ok("init")

    def add_user(self, name, password="secret", *extra):
        pw = self.s.write(f"pw-{name}", password + "\n")
        return self.ok("user", "add", name, "--password-file", pw, *extra)


class TestGeneral(CtlTestCase):
    def test_version(self):
        r = self.ok("version", config=False)
        self.assertIn("postroomctl", r.stdout)
        v = self.json("version", config=False)
        self.assertRegex(v["abi"], r"^\d+\.\d+$")
        self.assertTrue(v["version"])

    def test_help(self):
        r = self.ok("--help", config=False)
        self.assertIn("user add", r.stdout)
        self.assertIn("loginaudit", r.stdout)
        r = self.ok("user", "add", "--help", config=False)
        self.assertIn("--password-file", r.stdout)

    def test_usage_errors(self):
        r = self.s.run(config=False)
        self.assertEqual(r.returncode, EX_USAGE)
        self.fails(EX_USAGE, "frobnicate")
        self.fails(EX_USAGE, "user", "frobnicate")
        r = self.fails(EX_USAGE, "user", "add")
        self.assertIn("Try 'postroomctl user add --help'", r.stderr)
        self.fails(EX_USAGE, "user", "show", "a", "b")
        self.fails(EX_USAGE, "user", "list", "--no-such-option")
        self.fails(EX_USAGE, "user", "list", "--kind", "group")
        r = self.s.run("user")
        self.assertEqual(r.returncode, EX_USAGE)
        self.assertIn("user passwd", r.stderr)

    def test_missing_config(self):
        r = self.s.run("--config", os.path.join(self.s.tmp, "nope.conf"), "user", "list",
                       config=False)
        self.assertEqual(r.returncode, EX_CONFIG, r.stderr)
        self.assertTrue(r.stderr.startswith("postroomctl: "))

    def test_config_check(self):
        r = self.ok("config", "check")
        self.assertIn("configuration OK", r.stdout)
        with open(self.s.config, "a", encoding="utf-8") as f:
            f.write("[store]\nno_such_key=1\n")
        r = self.fails(EX_CONFIG, "config", "check")
        self.assertIn("no_such_key", r.stderr)
        self.assertNotIn("configuration OK", r.stdout)

    def test_config_check_bad_value(self):
        with open(self.s.config, "a", encoding="utf-8") as f:
            f.write("[store]\nworkers=lots\n")
        self.fails(EX_CONFIG, "config", "check")
        # Commands that need the configuration refuse it too.
        self.fails(EX_CONFIG, "user", "list")
        self.fails(EX_CONFIG, "init")

    def test_postgresql_needs_cnc(self):
        with open(self.s.config, "a", encoding="utf-8") as f:
            f.write("[store]\nprovider=PostgreSQL\n")
        r = self.fails(EX_CONFIG, "config", "check")
        self.assertIn("cnc", r.stderr)


class TestInit(CtlTestCase):
    def test_not_initialised(self):
        r = self.fails(EX_UNAVAILABLE, "user", "list")
        self.assertIn("postroomctl init", r.stderr)
        # Refusing must not have created an empty database either.
        self.assertFalse(os.path.exists(os.path.join(self.s.data, "postroom.db")))

    def test_init_twice(self):
        r = self.init()
        self.assertIn("Created directory", r.stdout)
        self.assertIn("Created the database", r.stdout)
        for sub in ("", "spool", "logs"):
            st = os.stat(os.path.join(self.s.data, sub))
            self.assertTrue(stat.S_ISDIR(st.st_mode))
            self.assertEqual(stat.S_IMODE(st.st_mode), 0o750, sub)
        self.assertTrue(os.path.exists(os.path.join(self.s.data, "postroom.db")))
        self.add_user("alice")
        r = self.init()
        self.assertIn("exists already", r.stdout)
        self.assertIn("up to date", r.stdout)
        # Idempotent: the data survived.
        users = self.json("user", "list")
        self.assertEqual([u["name"] for u in users], ["alice"])

    def test_init_chown(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        import pwd
        try:
            nobody = pwd.getpwnam("nobody")
        except KeyError:
            self.skipTest("no user nobody")
        with open(self.s.config, "r+", encoding="utf-8") as f:
            text = f.read().replace("[server]\n", "[server]\nuser=nobody\n")
            f.seek(0)
            f.write(text)
            f.truncate()
        self.init()
        for sub in ("", "spool", "logs", "postroom.db"):
            st = os.lstat(os.path.join(self.s.data, sub))
            self.assertEqual(st.st_uid, nobody.pw_uid, sub)
            self.assertEqual(st.st_gid, nobody.pw_gid, sub)
        r = self.init()
        self.assertIn("belongs to", r.stdout)

    def test_init_unknown_service_user(self):
        if os.geteuid() != 0:
            self.skipTest("needs root")
        with open(self.s.config, "r+", encoding="utf-8") as f:
            text = f.read().replace("[server]\n", "[server]\nuser=no-such-user-xq\n")
            f.seek(0)
            f.write(text)
            f.truncate()
        r = self.fails(EX_CONFIG, "init")
        self.assertIn("no-such-user-xq", r.stderr)


class TestUsers(CtlTestCase):
    def setUp(self):
        super().setUp()
        self.init()

    def test_add_list_show(self):
        name = 'Zoë "Z" \\ 日本'
        self.add_user("Alice", "secret", "--full-name", name)
        users = self.json("user", "list")
        self.assertEqual(len(users), 1)
        self.assertEqual(users[0]["name"], "alice")
        self.assertEqual(users[0]["full_name"], name)
        self.assertIs(users[0]["enabled"], True)
        for u in users:
            self.assertNotIn("pwhash", u)
        show = self.json("user", "show", "ALICE")
        self.assertEqual(show["name"], "alice")
        self.assertEqual(show["password_scheme"], "sha512-crypt")
        self.assertIsInstance(show["created"], int)
        r = self.ok("user", "list")
        self.assertIn("alice", r.stdout)
        self.assertIn("NAME", r.stdout.splitlines()[0])
        r = self.ok("user", "show", "alice")
        self.assertIn("sha512-crypt", r.stdout)

    def test_table_alignment(self):
        self.add_user("al", "secret", "--full-name", "Al")
        self.add_user("bartholomew", "secret", "--full-name", "Bartholomew Long")
        lines = self.ok("user", "list").stdout.splitlines()
        self.assertEqual(len(lines), 3)
        col = lines[0].index("FULL NAME")
        self.assertEqual(lines[1].index("Al", 2), col)
        self.assertEqual(lines[2].index("Bartholomew Long"), col)

    def test_password_hash_in_database(self):
        self.add_user("alice", "first-secret")
        hashes = [v for row in self.s.db_rows("users") for v in row.values()
                  if isinstance(v, str) and v.startswith("$6$")]
        self.assertEqual(len(hashes), 1)
        if crypt is not None:
            self.assertEqual(crypt.crypt("first-secret", hashes[0]), hashes[0])
        self.ok("user", "passwd", "alice", "--password-stdin", stdin="second-secret\n")
        new = [v for row in self.s.db_rows("users") for v in row.values()
               if isinstance(v, str) and v.startswith("$6$")]
        self.assertEqual(len(new), 1)
        self.assertNotEqual(new[0], hashes[0])
        if crypt is not None:
            self.assertEqual(crypt.crypt("second-secret", new[0]), new[0])

    def test_password_sources(self):
        # Two equal lines on a non-terminal stdin.
        self.ok("user", "add", "bob", stdin="pass-1\npass-1\n")
        r = self.fails(EX_DATAERR, "user", "add", "carol", stdin="pass-1\npass-2\n")
        self.assertIn("differ", r.stderr)
        self.fails(EX_NOUSER, "user", "show", "carol")
        self.ok("user", "add", "dave", "--password-stdin", stdin="pass-3\n")
        self.fails(EX_USAGE, "user", "add", "erin", "--password-stdin", "--password-file",
                   "/dev/null", stdin="x\n")
        r = self.fails(EX_IOERR, "user", "add", "erin", "--password-file",
                       os.path.join(self.s.tmp, "missing"))
        self.assertIn("missing", r.stderr)

    def _prompt_session(self, name, first, second):
        """Runs `user add NAME` on a pseudo-terminal; returns (rc, echoed)."""
        import pty
        import select
        import time
        master, slave = pty.openpty()
        env = {k: v for k, v in os.environ.items() if k not in ("LANGUAGE", "LC_ALL")}
        env["LANG"] = "C.UTF-8"
        proc = subprocess.Popen([CTL, "--config", self.s.config, "user", "add", name],
                                stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env)
        os.close(slave)
        echoed = b""
        stderr = b""
        deadline = time.monotonic() + 60
        try:
            for answer in (first, second):
                # Typing before the prompt would be flushed with the echo
                # change, as on a real terminal: wait for the prompt.
                prompts = stderr.count(b": ")
                while stderr.count(b": ") == prompts and time.monotonic() < deadline:
                    ready, _, _ = select.select([proc.stderr, master], [], [], 1)
                    if proc.stderr in ready:
                        chunk = os.read(proc.stderr.fileno(), 4096)
                        if not chunk:
                            break
                        stderr += chunk
                    if master in ready:
                        echoed += os.read(master, 4096)
                time.sleep(0.2)  # let the echo change happen before typing
                os.write(master, answer.encode() + b"\n")
            rc = proc.wait(timeout=60)
            while True:
                ready, _, _ = select.select([master], [], [], 0.2)
                if not ready:
                    break
                try:
                    chunk = os.read(master, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                echoed += chunk
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
            proc.stderr.close()
            os.close(master)
        return rc, echoed, stderr

    def test_password_prompt_on_terminal(self):
        rc, echoed, stderr = self._prompt_session("ttyuser", "tty-secret", "tty-secret")
        self.assertEqual(rc, EX_OK, stderr)
        self.assertIn(b"New password for ttyuser", stderr)
        self.assertNotIn(b"tty-secret", echoed)
        self.assertEqual(self.json("user", "show", "ttyuser")["name"], "ttyuser")
        rc, echoed, stderr = self._prompt_session("ttyuser2", "one-secret", "two-secret")
        self.assertEqual(rc, EX_DATAERR, stderr)
        self.assertNotIn(b"secret", echoed)

    def test_short_password(self):
        r = self.fails(EX_DATAERR, "user", "add", "bob", "--password-stdin", stdin="ab\n")
        self.assertIn("at least 3", r.stderr)
        self.fails(EX_DATAERR, "user", "add", "bob", "--password-stdin", stdin="\n")
        self.fails(EX_DATAERR, "user", "add", "bob", "--password-stdin", stdin="")
        # Three characters are enough, counted as characters, not bytes.
        self.ok("user", "add", "bob", "--password-stdin", stdin="äöü\n")
        self.add_user("carol")
        self.fails(EX_DATAERR, "user", "passwd", "carol", "--password-stdin", stdin="xy\n")

    def test_bad_names(self):
        for bad in ("bad name", "bad/name", "", "-dash", ".dot", "x" * 65, "émile", "a@b"):
            self.fails(EX_DATAERR, "user", "add", "--password-stdin", "--", bad,
                       stdin="secret\n")
        self.add_user("a-b.c_d")
        self.add_user("x" * 64)

    def test_bad_full_name(self):
        self.fails(EX_DATAERR, "user", "add", "bob", "--full-name", "line\nbreak",
                   "--password-stdin", stdin="secret\n")
        self.fails(EX_DATAERR, "user", "add", "bob", "--full-name", "esc\x1b[2J",
                   "--password-stdin", stdin="secret\n")

    def test_exists_and_missing(self):
        self.add_user("alice")
        r = self.fails(EX_CANTCREAT, "user", "add", "alice", "--password-stdin",
                       stdin="secret\n")
        self.assertIn("alice", r.stderr)
        r = self.fails(EX_NOUSER, "user", "show", "nobody")
        self.assertIn("postroomctl user list", r.stderr)
        self.fails(EX_NOUSER, "user", "del", "nobody")
        self.fails(EX_NOUSER, "user", "passwd", "nobody", "--password-stdin", stdin="secret\n")
        self.fails(EX_NOUSER, "user", "enable", "nobody")
        self.fails(EX_NOUSER, "user", "disable", "nobody")

    def test_max_outgoing_size(self):
        # VPOP3's per-user "Max Outgoing Message Size": bytes, K/M/G accepted,
        # 0 (the default) for no limit.
        self.add_user("alice")
        self.assertEqual(self.json("user", "show", "alice")["max_outgoing_size"], 0)
        self.assertIn("unlimited", self.ok("user", "show", "alice").stdout)
        self.add_user("bob", "secret", "--max-outgoing-size", "2M")
        self.assertEqual(self.json("user", "show", "bob")["max_outgoing_size"], 2 * 1024 * 1024)
        self.ok("user", "set", "alice", "--max-outgoing-size", "20000")
        self.assertEqual(self.json("user", "show", "alice")["max_outgoing_size"], 20000)
        r = self.ok("user", "show", "alice")
        line = [l for l in r.stdout.splitlines() if l.startswith("Max outgoing size:")]
        self.assertEqual(len(line), 1, r.stdout)
        self.assertIn("20000 bytes", line[0])
        self.ok("user", "set", "alice", "--max-outgoing-size", "10K")
        rows = {row["name"]: row for row in self.s.db_rows("users")}
        self.assertEqual(rows["alice"]["max_outgoing_size"], 10240)
        # Other changes keep the limit.
        self.ok("user", "set", "alice", "--quota", "1M")
        self.assertEqual(self.json("user", "show", "alice")["max_outgoing_size"], 10240)
        listed = {u["name"]: u for u in self.json("user", "list")}
        self.assertEqual(listed["alice"]["max_outgoing_size"], 10240)
        self.assertEqual(listed["bob"]["max_outgoing_size"], 2 * 1024 * 1024)
        self.ok("user", "set", "alice", "--max-outgoing-size", "0")
        self.assertEqual(self.json("user", "show", "alice")["max_outgoing_size"], 0)
        for bad in ("-5", "ten", "10X", ""):
            r = self.fails(EX_USAGE, "user", "set", "alice", "--max-outgoing-size", bad)
            self.assertIn("--max-outgoing-size", r.stderr)
        # Refused before the user is created.
        self.fails(EX_USAGE, "user", "add", "carol", "--max-outgoing-size", "lots",
                   "--password-stdin", stdin="secret\n")
        self.fails(EX_NOUSER, "user", "show", "carol")
        self.fails(EX_NOUSER, "user", "set", "nobody", "--max-outgoing-size", "1M")

    def test_enable_disable_delete(self):
        self.add_user("alice")
        self.ok("user", "disable", "alice")
        self.assertIs(self.json("user", "show", "alice")["enabled"], False)
        self.ok("user", "enable", "alice")
        self.assertIs(self.json("user", "show", "alice")["enabled"], True)
        self.ok("user", "del", "alice")
        self.assertEqual(self.json("user", "list"), [])
        self.fails(EX_NOUSER, "user", "del", "alice")
        self.assertIn("no users", self.ok("user", "list").stdout)


class TestDomainsMappingsLists(CtlTestCase):
    def setUp(self):
        super().setUp()
        self.init()

    def test_domains(self):
        self.ok("domain", "add", "Example.COM")
        self.ok("domain", "add", "mail.example.org")
        names = [d["name"] for d in self.json("domain", "list")]
        self.assertEqual(sorted(names), ["example.com", "mail.example.org"])
        self.fails(EX_CANTCREAT, "domain", "add", "example.com")
        for bad in ("bad_domain", "-x.com", "a..b", "x" * 64 + ".com", "10.0.0.1", "a b"):
            self.fails(EX_DATAERR, "domain", "add", "--", bad)
        # Internationalised names are stored in their ASCII form.
        self.ok("domain", "add", "bücher.example")
        names = [d["name"] for d in self.json("domain", "list")]
        self.assertIn("xn--bcher-kva.example", names)
        self.ok("domain", "del", "example.com")
        r = self.fails(EX_NOUSER, "domain", "del", "example.com")
        self.assertIn("domain list", r.stderr)
        self.assertIn("mail.example.org", self.ok("domain", "list").stdout)

    def test_mappings(self):
        self.add_user("alice")
        self.ok("mapping", "add", "postmaster", "alice")
        self.ok("mapping", "add", "~@example.com", "alice")
        maps = self.json("mapping", "list")
        self.assertIn({"pattern": "postmaster", "target": "alice"}, maps)
        self.assertIn({"pattern": "~@example.com", "target": "alice"}, maps)
        self.fails(EX_NOUSER, "mapping", "del", "postmaster", "bob")
        self.fails(EX_DATAERR, "mapping", "add", "post master", "alice")
        self.ok("mapping", "del", "postmaster", "alice")
        self.ok("mapping", "del", "~@example.com")
        self.fails(EX_NOUSER, "mapping", "del", "~@example.com")
        self.assertEqual(self.json("mapping", "list"), [])
        self.fails(EX_USAGE, "mapping", "add", "only-one")

    def test_lists(self):
        self.add_user("bob")
        self.add_user("carol")
        self.ok("list", "add", "Staff", "--kind", "group", "--description", "All staff")
        self.ok("list", "add", "news")
        self.fails(EX_CANTCREAT, "list", "add", "staff")
        self.fails(EX_USAGE, "list", "add", "other", "--kind", "bogus")
        self.fails(EX_DATAERR, "list", "add", "bad list")
        lists = {entry["name"]: entry for entry in self.json("list", "list")}
        self.assertEqual(lists["staff"]["kind"], "group")
        self.assertEqual(lists["staff"]["description"], "All staff")
        self.assertEqual(lists["news"]["kind"], "distribution")

        self.ok("list", "members", "staff", "--add", "bob", "--add", "carol")
        self.assertEqual(sorted(self.json("list", "members", "staff")), ["bob", "carol"])
        self.ok("list", "members", "staff", "--remove", "bob")
        self.assertEqual(self.json("list", "members", "staff"), ["carol"])
        self.assertIn("carol", self.ok("list", "members", "staff").stdout)
        self.fails(EX_NOUSER, "list", "members", "staff", "--remove", "bob")
        self.fails(EX_NOUSER, "list", "members", "nosuch")
        self.fails(EX_NOUSER, "list", "members", "nosuch", "--add", "bob")
        self.ok("list", "del", "staff")
        self.fails(EX_NOUSER, "list", "del", "staff")
        self.assertEqual([entry["name"] for entry in self.json("list", "list")], ["news"])

    def test_loginaudit(self):
        audit = self.json("loginaudit")
        self.assertEqual(audit["entries"], [])
        self.assertIsNone(audit["locked"])
        audit = self.json("loginaudit", "--ip", "127.0.0.1", "--limit", "5")
        self.assertIs(audit["locked"], False)
        self.assertEqual(audit["ip"], "127.0.0.1")
        self.fails(EX_DATAERR, "loginaudit", "--ip", "not-an-ip")
        self.fails(EX_USAGE, "loginaudit", "--limit", "0x")
        self.fails(EX_USAGE, "loginaudit", "--limit", "-3")
        self.fails(EX_USAGE, "loginaudit", "--limit", "0")
        self.assertIn("No login attempts", self.ok("loginaudit").stdout)

    def test_loginaudit_rows(self):
        # The daemon writes these rows; here they are written behind the
        # tool's back with the schema of data/sql/sqlite.
        import time
        now = int(time.time())
        db = sqlite3.connect(os.path.join(self.s.data, "postroom.db"))
        try:
            db.executemany(
                "INSERT INTO loginaudit (datetime, ipaddress, username, service, mechanism,"
                " success, reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(now - 30, "192.0.2.7", "alice", "pop3", "USER", 0, "bad-password"),
                 (now - 20, "127.0.0.1", "bob", "imap", "PLAIN", 1, "ok"),
                 (now - 10, "192.0.2.7", "alice\x1b[2J", "pop3", "USER", 0, "locked")])
            db.execute("INSERT INTO lockouts (ipaddress, failures, first_failure,"
                       " last_failure, locked_until) VALUES (?, 3, ?, ?, ?)",
                       ("192.0.2.7", now - 30, now - 10, now + 1800))
            db.commit()
        finally:
            db.close()
        audit = self.json("loginaudit")
        self.assertEqual([e["reason"] for e in audit["entries"]],
                         ["locked", "ok", "bad-password"])
        self.assertEqual(audit["entries"][0]["username"], "alice\x1b[2J")
        self.assertIs(audit["entries"][1]["success"], True)
        audit = self.json("loginaudit", "--ip", "192.0.2.7", "--limit", "1")
        self.assertEqual(len(audit["entries"]), 1)
        self.assertEqual(audit["entries"][0]["reason"], "locked")
        self.assertIs(audit["locked"], True)
        self.assertIs(self.json("loginaudit", "--ip", "127.0.0.1")["locked"], False)
        r = self.ok("loginaudit", "--ip", "192.0.2.7")
        self.assertIn("is locked out", r.stdout)
        self.assertIn("bad-password", r.stdout)
        # A name cannot send escape sequences to the administrator's terminal.
        self.assertNotIn("\x1b", r.stdout)
        # The administrator lifts the lockout; the audit rows stay.
        self.assertIn("no longer locked out", self.ok("unlock", "192.0.2.7").stdout)
        audit = self.json("loginaudit", "--ip", "192.0.2.7")
        self.assertIs(audit["locked"], False)
        self.assertEqual(len(audit["entries"]), 2)
        self.fails(EX_DATAERR, "unlock", "not-an-ip")
        self.fails(EX_USAGE, "unlock")


class TestModules(CtlTestCase):
    def test_modules(self):
        bad = os.path.join(self.s.moddir, "broken.so")
        with open(bad, "w", encoding="utf-8") as f:
            f.write("not an ELF file\n")
        os.chmod(bad, 0o644)
        result = self.json("modules")
        names = [m["name"] for m in result["modules"]]
        for path in MODULES:
            self.assertIn(os.path.basename(path)[:-3], names)
        for m in result["modules"]:
            self.assertRegex(m["abi"], r"^\d+\.\d+$")
            self.assertIs(m["enabled"], False)
        self.assertTrue(any("broken.so" in p for p in result["refused"]), result["refused"])
        r = self.ok("modules")
        self.assertIn("broken.so", r.stdout)

    def test_enabled_missing(self):
        with open(self.s.config, "a", encoding="utf-8") as f:
            f.write("[modules]\nenabled=nosuchmodule\n")
        result = self.json("modules")
        self.assertEqual(result["missing"], ["nosuchmodule"])


class TestLocale(CtlTestCase):
    def test_french_environment(self):
        """French catalogues are written later; only the form is checked."""
        self.init()
        r = self.s.run("user", "show", "nobody", env={"LANGUAGE": "fr", "LANG": "C.UTF-8"})
        self.assertEqual(r.returncode, EX_NOUSER)
        self.assertTrue(r.stderr.startswith("postroomctl: "))
        self.assertIn("nobody", r.stderr)
        # JSON is never translated.
        r = self.s.run("user", "list", "--json", env={"LANGUAGE": "fr", "LANG": "C.UTF-8"})
        self.assertEqual(r.returncode, EX_OK)
        self.assertEqual(json.loads(r.stdout), [])

    def test_english(self):
        self.init()
        r = self.fails(EX_NOUSER, "user", "show", "nobody")
        self.assertEqual(r.stderr.strip(),
                         "postroomctl: User nobody does not exist; "
                         "see 'postroomctl user list'.")


def main():
    global CTL, MODULES
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    CTL = os.path.abspath(sys.argv[1])
    rest = sys.argv[2:]
    if len(rest) >= 2 and rest[0] == "--sdk-lib":
        libdir = os.path.dirname(os.path.abspath(rest[1]))
        old = os.environ.get("LD_LIBRARY_PATH")
        os.environ["LD_LIBRARY_PATH"] = libdir + (":" + old if old else "")
        rest = rest[2:]
    MODULES = [os.path.abspath(p) for p in rest]
    unittest.main(argv=[sys.argv[0], "-v"])


if __name__ == "__main__":
    main()
