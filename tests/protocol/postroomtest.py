# SPDX-License-Identifier: GPL-3.0-or-later
"""Harness for Postroom protocol tests (Python 3 standard library only).

Starts a real postroomd on 127.0.0.1 with a temporary data directory, a
certificate made with certtool at test time and free ports, and offers a
small line client. Tests are unittest.TestCase classes run by run_tests(),
which prints TAP for meson.

Every test script takes --build-root and --source-root (meson passes them);
POSTROOM_BUILD_ROOT / POSTROOM_SOURCE_ROOT work too.
"""

import argparse
import base64
import os
import select
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback
import unittest

HOST = "127.0.0.1"

# Bounds, in seconds. Sanitizer builds are several times slower.
START_TIMEOUT = 60
STOP_TIMEOUT = 20
IO_TIMEOUT = 15
TOOL_TIMEOUT = 60

# The testproto module's replies (tests/testmodule/testproto.c).
R_UNKNOWN = "-ERR Unknown command"
R_BAD_STATE = "-ERR Command not valid in this state"
R_SYNTAX = "-ERR Syntax error"
R_TOO_LONG = "-ERR Line too long"
R_BAD_LINE = "-ERR Invalid characters in line"
R_TOO_MANY_ERRORS = "-ERR Too many errors, closing connection"
R_ACCESS_DENIED = "-ERR Server access not allowed - See your administrator"
R_TOO_MANY_CONNECTIONS = "-ERR [SYS/TEMP] Too many connections, try again later"
R_TOO_MANY_FROM_IP = "-ERR [SYS/TEMP] Too many connections from your address"
R_IDLE = "-ERR Idle timeout, closing connection"
R_TLS_REQUIRED = "-ERR TLS required before authentication, use STLS"
R_STLS_OK = "+OK Begin TLS negotiation"
R_STLS_UNAVAILABLE = "-ERR STLS not available"
R_STLS_PIPELINED = "-ERR Data after STLS, closing connection"
R_SHUTDOWN = "-ERR Server shutting down"
R_HOOK = "-ERR rejected by hook"
R_LOGGED_IN = "+OK logged in"
R_AUTH_FAILED = "-ERR [AUTH] Authentication failed"
R_LOCKED_PREFIX = "-ERR [AUTH] locked"


class Paths:
    """Where the binaries of the build under test are."""

    def __init__(self, build_root, source_root):
        self.build_root = os.path.abspath(build_root)
        self.source_root = os.path.abspath(source_root)
        self.postroomd = os.environ.get(
            "POSTROOMD", os.path.join(self.build_root, "server", "daemon", "postroomd"))
        self.postroomctl = os.environ.get(
            "POSTROOMCTL", os.path.join(self.build_root, "server", "ctl", "postroomctl"))
        self.testmodule_dir = os.path.join(self.build_root, "tests", "testmodule")


_paths = None
_servers = []  # every Server started in this process, for failure diagnostics


def paths():
    global _paths
    if _paths is None:
        parser = argparse.ArgumentParser(add_help=False)
        parser.add_argument("--build-root", default=os.environ.get("POSTROOM_BUILD_ROOT"))
        parser.add_argument("--source-root", default=os.environ.get("POSTROOM_SOURCE_ROOT"))
        args, _ = parser.parse_known_args()
        here = os.path.dirname(os.path.abspath(__file__))
        source_root = args.source_root or os.path.dirname(os.path.dirname(here))
        build_root = args.build_root or os.path.join(source_root, "build")
        _paths = Paths(build_root, source_root)
    return _paths


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


_cert_dir = None


def certificate():
    """(cert, key) paths of a self-signed certificate, made once per process."""
    global _cert_dir
    if _cert_dir is None:
        _cert_dir = tempfile.mkdtemp(prefix="postroom-cert-")
        key = os.path.join(_cert_dir, "key.pem")
        cert = os.path.join(_cert_dir, "cert.pem")
        template = os.path.join(_cert_dir, "cert.cfg")
        with open(template, "w") as f:
            f.write('cn = "localhost"\n'
                    'organization = "Postroom tests"\n'
                    'dns_name = "localhost"\n'
                    'ip_address = "127.0.0.1"\n'
                    'expiration_days = 30\n'
                    'tls_www_server\n'
                    'signing_key\n'
                    'encryption_key\n')
        subprocess.run(["certtool", "--generate-privkey", "--key-type=rsa", "--bits=2048",
                        "--outfile", key], check=True, capture_output=True,
                       timeout=TOOL_TIMEOUT)
        subprocess.run(["certtool", "--generate-self-signed", "--load-privkey", key,
                        "--template", template, "--outfile", cert], check=True,
                       capture_output=True, timeout=TOOL_TIMEOUT)
        os.chmod(key, 0o600)
    return (os.path.join(_cert_dir, "cert.pem"), os.path.join(_cert_dir, "key.pem"))


def write_keyfile(path, groups):
    """Writes a GKeyFile from {group: {key: value}}; lists are joined with ';'."""
    with open(path, "w") as f:
        for group, keys in groups.items():
            f.write("[%s]\n" % group)
            for key, value in keys.items():
                if isinstance(value, (list, tuple)):
                    value = ";".join(value)
                elif isinstance(value, bool):
                    value = "true" if value else "false"
                f.write("%s=%s\n" % (key, value))
            f.write("\n")


class Server:
    """One postroomd instance with its own directory, config and ports.

    settings: {group: {key: value}} merged over the defaults (a value of None
    removes a default key). tls: configure [tls] and an implicit TLS port.
    users: {name: password} created with postroomctl after init.
    """

    def __init__(self, settings=None, tls=False, users=None, module="testproto",
                 module_dir=None, env=None, name="postroom"):
        self.paths = paths()
        self.dir = tempfile.mkdtemp(prefix="postroom-%s-" % name)
        self.data_dir = os.path.join(self.dir, "data")
        self.config_path = os.path.join(self.dir, "postroomd.conf")
        self.log_path = os.path.join(self.dir, "postroomd.stderr")
        self.module = module
        self.port = free_port()
        self.tls_port = free_port() if tls else None
        self.users = users or {}
        self.env = dict(os.environ)
        if env:
            self.env.update(env)
        self.proc = None
        self.returncode = None
        self._log = None

        listen = ["%s:%d" % (HOST, self.port)]
        if tls:
            listen.append("%s:%d/tls" % (HOST, self.tls_port))
        groups = {
            "server": {"data_dir": self.data_dir,
                       "module_dir": module_dir or self.paths.testmodule_dir},
            "modules": {"enabled": module},
            "log": {"level": "debug"},
        }
        if tls:
            cert, key = certificate()
            groups["tls"] = {"certificate": cert, "key": key}
        groups[module] = {"listen": listen}
        for group, keys in (settings or {}).items():
            target = groups.setdefault(group, {})
            for key, value in keys.items():
                if value is None:
                    target.pop(key, None)
                else:
                    target[key] = value
        self.groups = groups
        os.makedirs(self.data_dir, mode=0o700, exist_ok=True)
        write_keyfile(self.config_path, groups)

    # Set-up through postroomctl

    def ctl(self, *args, check=True, input=None):
        if not os.path.exists(self.paths.postroomctl):
            raise AssertionError("postroomctl is not built: %s" % self.paths.postroomctl)
        cmd = [self.paths.postroomctl, "--config", self.config_path] + list(args)
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=TOOL_TIMEOUT,
                             env=self.env, input=input)
        if check and res.returncode != 0:
            raise AssertionError("%s failed (exit %d):\n%s%s" % (
                " ".join(cmd), res.returncode, res.stdout, res.stderr))
        return res

    def add_user(self, name, password):
        pw_file = os.path.join(self.dir, "pw-%s" % name)
        with open(pw_file, "w") as f:
            f.write(password)
        os.chmod(pw_file, 0o600)
        self.ctl("user", "add", name, "--password-file", pw_file)

    # Running

    def start(self):
        self.ctl("init")
        for name, password in self.users.items():
            self.add_user(name, password)
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [self.paths.postroomd, "--config", self.config_path, "--foreground"],
            stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            env=self.env, cwd=self.dir)
        _servers.append(self)
        self.wait_ready()
        return self

    def wait_ready(self):
        ports = [p for p in (self.port, self.tls_port) if p is not None]
        deadline = time.monotonic() + START_TIMEOUT
        pending = list(ports)
        while pending:
            if self.proc.poll() is not None:
                raise AssertionError("postroomd exited with %d during start-up:\n%s" % (
                    self.proc.returncode, self.log_tail()))
            if time.monotonic() > deadline:
                raise AssertionError("postroomd did not listen on %s within %ds:\n%s" % (
                    pending, START_TIMEOUT, self.log_tail()))
            try:
                with socket.create_connection((HOST, pending[0]), timeout=1):
                    pass
                pending.pop(0)
            except OSError:
                time.sleep(0.05)
        # Let the server notice that the probes went away before a test counts
        # connections.
        time.sleep(0.3)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM, then SIGKILL after STOP_TIMEOUT. Returns the exit status."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT)
                self.returncode = "killed after SIGTERM timeout"
        if self.returncode is None:
            self.returncode = self.proc.returncode
        self.proc = None
        if self._log:
            self._log.close()
            self._log = None
        return self.returncode

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, lines=40):
        return "\n".join(self.log_text().splitlines()[-lines:])

    def check_clean_exit(self):
        """Stops the server; fails unless it exited 0 without sanitizer reports."""
        rc = self.stop()
        text = self.log_text()
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                       "CRITICAL", "GLib-CRITICAL"):
            if marker in text:
                raise AssertionError("postroomd log contains %r:\n%s" % (marker,
                                                                          self.log_tail(80)))
        if rc != 0:
            raise AssertionError("postroomd exit status %r after SIGTERM:\n%s" % (
                rc, self.log_tail()))

    def cleanup(self):
        self.stop()
        if os.environ.get("POSTROOM_KEEP_TMP"):
            return
        shutil.rmtree(self.dir, ignore_errors=True)

    def connect(self, tls=False, **kw):
        if tls:
            return Client(self.tls_port, tls=True, **kw)
        return Client(self.port, **kw)

    def db_path(self):
        return os.path.join(self.data_dir, "postroom.db")


def run_foreground(args, config_path, timeout=START_TIMEOUT, env=None):
    """Runs postroomd to completion (for start-up failures and --check)."""
    cmd = [paths().postroomd, "--config", config_path] + list(args)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env=env or os.environ, stdin=subprocess.DEVNULL)


class ConnectionClosed(Exception):
    pass


class Client:
    """A line client with a bounded read buffer and timeouts."""

    def __init__(self, port, tls=False, timeout=IO_TIMEOUT, greeting=True):
        self.timeout = timeout
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.greeting = None
        if tls:
            self.sock = insecure_context().wrap_socket(self.sock, server_hostname="localhost")
        if greeting:
            self.greeting = self.readline()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.sock.sendall(data)

    def _fill(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout("no data within %ss" % self.timeout)
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise ConnectionClosed()
        self.buf += chunk
        if len(self.buf) > 1 << 20:
            raise AssertionError("server sent more than 1 MiB without a line end")

    def readline(self, timeout=None):
        """One line without CRLF; raises ConnectionClosed on EOF."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        while b"\n" not in self.buf:
            self._fill(deadline)
        line, self.buf = self.buf.split(b"\n", 1)
        if not line.endswith(b"\r"):
            raise AssertionError("reply line not ended by CRLF: %r" % line)
        return line[:-1].decode("utf-8", "replace")

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.readline()

    def multiline(self, line):
        """Sends @line; returns (status, [lines]) of a dot-terminated reply."""
        status = self.cmd(line)
        lines = []
        if status.startswith("+OK"):
            for _ in range(1000):
                item = self.readline()
                if item == ".":
                    break
                lines.append(item)
            else:
                raise AssertionError("multi-line reply without end")
        return status, lines

    def read_until_closed(self, timeout=None):
        """The lines the server sends before it closes; fails on timeout."""
        lines = []
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        for _ in range(10000):
            try:
                lines.append(self.readline(timeout=max(0.01, deadline - time.monotonic())))
            except ConnectionClosed:
                if self.buf:
                    lines.append(self.buf.decode("utf-8", "replace"))
                return lines
        raise AssertionError("server kept sending")

    def starttls(self):
        reply = self.cmd("STLS")
        if reply != R_STLS_OK:
            raise AssertionError("STLS refused: %r" % reply)
        if self.buf:
            raise AssertionError("plaintext after STLS reply: %r" % self.buf)
        self.sock = insecure_context().wrap_socket(self.sock, server_hostname="localhost")
        return reply


def insecure_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def b64(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return base64.b64encode(data).decode("ascii")


def run_client_tool(cmd, lines, until, timeout=TOOL_TIMEOUT):
    """Runs an interactive client (gnutls-cli, openssl s_client), feeds it
    @lines on stdin and collects its stdout until a line equal to @until
    appears, EOF, or @timeout. stdin stays open meanwhile, because both tools
    stop on stdin EOF before the server's last replies arrive. Lines are sent
    with CRLF: do not add gnutls-cli's --crlf, which garbles several lines
    read at once (gnutls-cli 3.7.9 inserts CR and NUL bytes)."""
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    out = b""
    err = b""
    try:
        proc.stdin.write("".join(l + "\r\n" for l in lines).encode())
        proc.stdin.flush()
        deadline = time.monotonic() + timeout
        fds = [proc.stdout, proc.stderr]
        while fds and time.monotonic() < deadline:
            if until is not None and until.encode() in out.replace(b"\r", b"").split(b"\n"):
                break
            ready, _, _ = select.select(fds, [], [], 0.2)
            for f in ready:
                chunk = os.read(f.fileno(), 65536)
                if not chunk:
                    fds.remove(f)
                elif f is proc.stdout:
                    out += chunk
                else:
                    err += chunk
    finally:
        try:
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    text = out.decode("utf-8", "replace").replace("\r", "")
    return text.split("\n"), err.decode("utf-8", "replace")


# TAP runner

class TapResult(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.n = 0
        self.failed = 0

    def _name(self, test):
        return getattr(test, "_testMethodName", None) and \
            "%s.%s" % (type(test).__name__, test._testMethodName) or str(test)

    def _print(self, line):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def _diag(self, text):
        for line in text.rstrip().splitlines():
            self._print("# " + line)

    def _not_ok(self, test, err):
        self.n += 1
        self.failed += 1
        self._print("not ok %d - %s" % (self.n, self._name(test)))
        self._diag("".join(traceback.format_exception(*err)))
        if _servers:
            srv = _servers[-1]
            self._diag("--- last postroomd output (%s) ---\n%s" % (srv.log_path,
                                                                  srv.log_tail()))

    def addSuccess(self, test):
        self.n += 1
        self._print("ok %d - %s" % (self.n, self._name(test)))

    def addFailure(self, test, err):
        self._not_ok(test, err)

    def addError(self, test, err):
        self._not_ok(test, err)

    def addSkip(self, test, reason):
        self.n += 1
        self._print("ok %d - %s # SKIP %s" % (self.n, self._name(test), reason))

    def addExpectedFailure(self, test, err):
        self.n += 1
        self._print("ok %d - %s # TODO expected failure" % (self.n, self._name(test)))

    def addUnexpectedSuccess(self, test):
        self.n += 1
        self.failed += 1
        self._print("not ok %d - %s # unexpected success" % (self.n, self._name(test)))

    def addSubTest(self, test, subtest, err):
        if err is not None:
            self._not_ok(subtest, err)


def run_tests(module_name="__main__"):
    """Runs the TestCases of @module_name, prints TAP, exits 1 on failure."""
    paths()  # parse arguments before unittest sees them
    module = sys.modules[module_name]
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    result = TapResult()
    try:
        suite.run(result)
    finally:
        for srv in list(_servers):
            try:
                srv.cleanup()
            except Exception:  # noqa: BLE001 - best effort at exit
                pass
        if _cert_dir and not os.environ.get("POSTROOM_KEEP_TMP"):
            shutil.rmtree(_cert_dir, ignore_errors=True)
    sys.stdout.write("1..%d\n" % result.n)
    sys.stdout.flush()
    sys.exit(1 if result.failed else 0)


class ServerTestCase(unittest.TestCase):
    """Starts one server per class from the class attributes."""

    settings = None
    tls = False
    users = None
    server = None

    @classmethod
    def make_server(cls):
        """The server the class runs; subclasses for other modules override it."""
        return Server(settings=cls.settings, tls=cls.tls, users=cls.users,
                      name=cls.__name__.lower())

    @classmethod
    def setUpClass(cls):
        cls.server = cls.make_server()
        try:
            cls.server.start()
        except BaseException:
            cls.server.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        srv = cls.server
        try:
            srv.check_clean_exit()
        finally:
            srv.cleanup()

    def setUp(self):
        self.assertTrue(self.server.alive(), "postroomd is not running:\n%s" %
                        self.server.log_tail())

    def connect(self, tls=False, **kw):
        c = self.server.connect(tls=tls, **kw)
        self.addCleanup(c.close)
        return c

    def assertGreeting(self, client):
        self.assertEqual(client.greeting, "+OK testproto ready")
