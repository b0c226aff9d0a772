# SPDX-License-Identifier: GPL-3.0-or-later
"""A private PostgreSQL server for the Python tests (standard library only).

The same steps as tests/lib/pg-server.c: initdb as the postgres OS user
(PostgreSQL refuses to run as root) in a temporary directory it owns, a
private Unix socket directory, a free port on 127.0.0.1, a login role with a
password (scram-sha-256 over TCP, which is how Postroom connects) and one
database per test. Administration and the tests' read-only queries go
through the socket with trust authentication, using psql, because no Python
driver is installed.

A watchdog in its own session holds the read end of a pipe; when this
process goes away for any reason (also when meson kills it on a timeout) the
pipe closes and the watchdog stops the server and removes its directory.
"""

import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import unittest

PG_BINDIR = os.environ.get("POSTROOM_TEST_PG_BINDIR", "/usr/lib/postgresql/15/bin")
ROLE = "postroom_test"
# Characters that must survive the libgda connection string encoding.
PASSWORD = "dlv;pw=1 %x"
TOOL_TIMEOUT = 120

FIELD_SEP = "\x1f"
RECORD_SEP = "\x1e"
NULL_TEXT = "\x02NULL\x02"


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    def __init__(self):
        initdb = os.path.join(PG_BINDIR, "initdb")
        if not os.access(initdb, os.X_OK):
            raise unittest.SkipTest("PostgreSQL is not installed (%s is missing)" % initdb)
        self.as_postgres = os.geteuid() == 0
        self.dir = tempfile.mkdtemp(prefix="postroom-pg-")
        self.data_dir = os.path.join(self.dir, "data")
        self.sock_dir = os.path.join(self.dir, "sock")
        self.secret_dir = tempfile.mkdtemp(prefix="postroom-pgpw-")
        self.password_file = os.path.join(self.secret_dir, "dbpassword")
        self.port = None
        self.watchdog = None
        self.databases = 0
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self):
        os.mkdir(self.data_dir, 0o700)
        os.mkdir(self.sock_dir, 0o700)
        if self.as_postgres:
            pw = pwd.getpwnam("postgres")
            for path in (self.dir, self.data_dir, self.sock_dir):
                os.chown(path, pw.pw_uid, pw.pw_gid)
        with open(self.password_file, "w") as f:
            f.write(PASSWORD + "\n")
        os.chmod(self.password_file, 0o600)

        stop = "%s/pg_ctl -D %s -m immediate -w -t 60 stop >/dev/null 2>&1" % (
            PG_BINDIR, shlex.quote(self.data_dir))
        if self.as_postgres:
            stop = "su postgres -s /bin/sh -c %s" % shlex.quote(stop)
        script = "read _ignored; %s; rm -rf %s %s" % (stop, shlex.quote(self.dir),
                                                      shlex.quote(self.secret_dir))
        self.watchdog = subprocess.Popen(["/bin/sh", "-c", script], stdin=subprocess.PIPE,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         start_new_session=True)

        self._as_server_user("%s/initdb -D %s -U postgres -E UTF8 --no-locale "
                             "--auth-local=trust --auth-host=scram-sha-256 >/dev/null"
                             % (PG_BINDIR, shlex.quote(self.data_dir)))
        log = os.path.join(self.dir, "log")
        last = None
        for _ in range(3):
            port = _free_port()
            try:
                self._as_server_user(
                    "%s/pg_ctl -D %s -l %s -w -t 60 -o \"-k %s -p %d "
                    "-c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
                    "-c full_page_writes=off\" start >/dev/null"
                    % (PG_BINDIR, shlex.quote(self.data_dir), shlex.quote(log),
                       self.sock_dir, port))
                self.port = port
                break
            except AssertionError as e:
                last = e
        if self.port is None:
            raise AssertionError("PostgreSQL did not start: %s" % last)
        self.admin_sql("postgres", "CREATE ROLE %s LOGIN PASSWORD :'pw'" % ROLE,
                       {"pw": PASSWORD})

    def _as_server_user(self, cmd):
        argv = (["su", "postgres", "-s", "/bin/sh", "-c", cmd] if self.as_postgres
                else ["/bin/sh", "-c", cmd])
        res = subprocess.run(argv, capture_output=True, text=True, timeout=TOOL_TIMEOUT,
                             stdin=subprocess.DEVNULL)
        if res.returncode != 0:
            raise AssertionError("command failed (%d): %s\n%s%s" % (
                res.returncode, cmd, res.stdout, res.stderr))

    def _psql(self, database, sql, params, extra):
        """Runs @sql from standard input, so psql interpolates :'name'."""
        argv = [os.path.join(PG_BINDIR, "psql"), "-X", "-q", "-h", self.sock_dir,
                "-p", str(self.port), "-U", "postgres", "-d", database,
                "-v", "ON_ERROR_STOP=1"] + extra
        for name, value in (params or {}).items():
            argv += ["-v", "%s=%s" % (name, value)]
        # Root may use the postgres role's socket: local connections trust.
        res = subprocess.run(argv, input=sql.encode("utf-8"), capture_output=True,
                             timeout=TOOL_TIMEOUT)
        if res.returncode != 0:
            raise AssertionError("psql failed (%d): %s\n%s" % (
                res.returncode, sql, res.stderr.decode("utf-8", "replace")))
        return res.stdout.decode("utf-8")

    def admin_sql(self, database, sql, params=None):
        self._psql(database, sql, params, [])

    def create_database(self):
        self.databases += 1
        name = "postroom_%d" % self.databases
        self.admin_sql("postgres", "CREATE DATABASE %s OWNER %s" % (name, ROLE))
        return name

    def drop_database(self, name):
        self.admin_sql("postgres", "DROP DATABASE IF EXISTS %s" % name)

    def store_settings(self, database):
        return {"provider": "PostgreSQL",
                "cnc": "HOST=127.0.0.1;PORT=%d;DB_NAME=%s" % (self.port, database),
                "username": ROLE,
                "password_file": self.password_file}

    def query(self, database, sql, params=None):
        """Rows as tuples; :name in @sql is a parameter from @params. Digits
        come back as int, NULL as None, everything else as text."""
        sql = re.sub(r"(?<!:):([a-z_]+)", r":'\1'", sql)
        out = self._psql(database, sql + ";\n", params,
                         ["-A", "-t", "-F", FIELD_SEP, "-R", RECORD_SEP,
                          "-P", "null=" + NULL_TEXT])
        # psql ends the last record with a newline instead of the separator.
        if out.endswith("\n"):
            out = out[:-1]
        if out == "":
            return []
        rows = []
        for record in out.split(RECORD_SEP):
            row = []
            for value in record.split(FIELD_SEP):
                if value == NULL_TEXT:
                    row.append(None)
                elif re.fullmatch(r"-?[0-9]+", value):
                    row.append(int(value))
                else:
                    row.append(value)
            rows.append(tuple(row))
        return rows

    def stop(self):
        if self.watchdog is not None:
            self.watchdog.stdin.close()
            try:
                self.watchdog.wait(timeout=TOOL_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
            self.watchdog = None
        else:
            shutil.rmtree(self.dir, ignore_errors=True)
            shutil.rmtree(self.secret_dir, ignore_errors=True)
