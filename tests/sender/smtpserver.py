# SPDX-License-Identifier: GPL-3.0-or-later
"""A scripted SMTP server for the sender tests (Python standard library).

One thread accepts on a loopback address, one thread per session. It speaks
enough ESMTP to check a client: EHLO/HELO, PIPELINING, SIZE, 8BITMIME, DSN
(either of the last two may be left out of the EHLO reply),
STARTTLS with a given certificate, implicit TLS, AUTH PLAIN and LOGIN, and
replies to RCPT scripted per recipient: a list of replies used one per
attempt, the last one repeated. It records every transaction it accepted
and every command it saw, for the test to inspect.
"""

import base64
import socket
import ssl
import threading
import time

IO_TIMEOUT = 30


class Transaction:
    def __init__(self):
        self.mail_from = None
        self.mail_params = ""
        self.rcpts = []        # accepted recipients
        self.rcpt_params = {}  # recipient -> parameter text
        self.data = None       # bytes, dot-stuffing undone, or None
        self.auth_user = None
        self.tls = False
        self.helo = None


class ScriptedSMTP:
    def __init__(self, host="127.0.0.1", port=0, cert=None, starttls=False, implicit_tls=False,
                 auth=None, auth_mechs=("PLAIN", "LOGIN"), pipelining=True, dsn=True,
                 eightbit=True, size=None, rcpt_replies=None, data_reply="250 2.0.0 Ok: queued",
                 data_delay=0.0, name="scripted"):
        self.host = host
        self.cert = cert
        self.starttls = starttls
        self.implicit_tls = implicit_tls
        self.auth = auth or {}
        self.auth_mechs = auth_mechs
        self.pipelining = pipelining
        self.dsn = dsn
        self.eightbit = eightbit
        self.size = size
        self.rcpt_replies = dict(rcpt_replies or {})
        self.data_reply = data_reply
        self.data_delay = data_delay
        self.name = name
        self.lock = threading.Condition()
        self.transactions = []  # completed (250 to the data)
        self.commands = []      # every command line, AUTH lines masked
        self.rcpt_attempts = {}  # recipient -> RCPT commands seen
        self.sessions = 0
        self.errors = []
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, port))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    # ---- inspection ----

    def wait(self, predicate, what, timeout=60):
        """Waits until predicate(self) holds; fails with @what after @timeout."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError("%s: timed out waiting for %s; commands seen:\n%s" % (
                        self.name, what, "\n".join(self.commands[-40:])))
                self.lock.wait(min(remaining, 0.5))

    def delivered_to(self, rcpt):
        with self.lock:
            return [t for t in self.transactions if rcpt in t.rcpts]

    def stop(self):
        self.running = False
        try:
            self.listener.close()
        except OSError:
            pass

    # ---- serving ----

    def _accept(self):
        while self.running:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _note(self, line):
        with self.lock:
            self.commands.append(line)
            self.lock.notify_all()

    def _serve(self, conn):
        with self.lock:
            self.sessions += 1
        try:
            Session(self, conn).run()
        except (OSError, ssl.SSLError, ConnectionError) as e:
            with self.lock:
                self.errors.append(repr(e))
        finally:
            try:
                conn.close()
            except OSError:
                pass
            with self.lock:
                self.lock.notify_all()

    def next_rcpt_reply(self, rcpt):
        with self.lock:
            self.rcpt_attempts[rcpt] = self.rcpt_attempts.get(rcpt, 0) + 1
            script = self.rcpt_replies.get(rcpt.lower())
            if not script:
                return "250 2.1.5 Ok"
            if len(script) > 1:
                return script.pop(0)
            return script[0]


def tls_context(cert):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert[0], cert[1])
    return ctx


class Session:
    def __init__(self, server, conn):
        self.server = server
        self.sock = conn
        self.sock.settimeout(IO_TIMEOUT)
        self.buf = b""
        self.tls = False
        self.helo = None
        self.auth_user = None
        self.txn = None

    def send(self, line):
        self.sock.sendall(line.encode() + b"\r\n")

    def readline(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("client closed")
            self.buf += chunk
            if len(self.buf) > 1 << 20:
                raise ConnectionError("line too long")
        line, self.buf = self.buf.split(b"\n", 1)
        if not line.endswith(b"\r"):
            raise ConnectionError("line without CR: %r" % line[:80])
        return line[:-1]

    def start_tls(self):
        self.sock = tls_context(self.server.cert).wrap_socket(self.sock, server_side=True)
        self.tls = True

    def ehlo_lines(self):
        lines = [self.server.name]
        if self.server.pipelining:
            lines.append("PIPELINING")
        lines.append("SIZE %d" % self.server.size if self.server.size else "SIZE")
        if self.server.eightbit:
            lines.append("8BITMIME")
        if self.server.dsn:
            lines.append("DSN")
        if self.server.starttls and not self.tls:
            lines.append("STARTTLS")
        if self.server.auth and (self.tls or not self.server.starttls):
            lines.append("AUTH " + " ".join(self.server.auth_mechs))
        return lines

    def run(self):
        if self.server.implicit_tls:
            self.start_tls()
        self.send("220 %s ESMTP scripted" % self.server.name)
        while True:
            raw = self.readline()
            line = raw.decode("utf-8", "replace")
            verb = line.split(" ", 1)[0].upper()
            arg = line[len(verb) + 1:] if " " in line else ""
            self.server._note("AUTH ***" if verb == "AUTH" else line)
            if verb == "EHLO":
                self.helo = arg
                lines = self.ehlo_lines()
                for l in lines[:-1]:
                    self.send("250-" + l)
                self.send("250 " + lines[-1])
            elif verb == "HELO":
                self.helo = arg
                self.send("250 " + self.server.name)
            elif verb == "STARTTLS" and self.server.starttls and not self.tls:
                if self.buf:
                    self.send("554 5.5.1 data after STARTTLS")
                    return
                self.send("220 2.0.0 Ready to start TLS")
                self.start_tls()
                self.helo = None
                self.auth_user = None
            elif verb == "AUTH":
                self.do_auth(arg)
            elif verb == "MAIL":
                if self.server.auth and self.auth_user is None:
                    self.send("530 5.7.0 Authentication required")
                    continue
                self.txn = Transaction()
                addr, _, params = arg[5:].partition(">")
                self.txn.mail_from = addr.lstrip("<")
                self.txn.mail_params = params.strip()
                self.send("250 2.1.0 Ok")
            elif verb == "RCPT":
                if self.txn is None:
                    self.send("503 5.5.1 need MAIL")
                    continue
                addr, _, params = arg[3:].partition(">")
                addr = addr.lstrip("<")
                reply = self.server.next_rcpt_reply(addr)
                if reply.startswith("2"):
                    self.txn.rcpts.append(addr)
                    self.txn.rcpt_params[addr] = params.strip()
                self.send(reply)
            elif verb == "DATA":
                if self.txn is None or not self.txn.rcpts:
                    self.send("503 5.5.1 no valid recipients")
                    continue
                self.send("354 End data with <CR><LF>.<CR><LF>")
                self.read_data()
            elif verb == "RSET":
                self.txn = None
                self.send("250 2.0.0 Ok")
            elif verb == "NOOP":
                self.send("250 2.0.0 Ok")
            elif verb == "QUIT":
                self.send("221 2.0.0 Bye")
                return
            else:
                self.send("502 5.5.2 Error: command not recognized")

    def do_auth(self, arg):
        words = arg.split()
        mech = words[0].upper() if words else ""
        if mech not in self.server.auth_mechs:
            self.send("504 5.5.4 unsupported mechanism")
            return
        if mech == "PLAIN":
            if len(words) > 1:
                blob = words[1]
            else:
                self.send("334 ")
                blob = self.readline().decode()
            parts = base64.b64decode(blob).split(b"\0")
            user, password = parts[1].decode(), parts[2].decode()
        else:
            self.send("334 " + base64.b64encode(b"Username:").decode())
            user = base64.b64decode(self.readline()).decode()
            self.send("334 " + base64.b64encode(b"Password:").decode())
            password = base64.b64decode(self.readline()).decode()
        if self.server.auth.get(user) == password:
            self.auth_user = user
            self.send("235 2.7.0 Authentication successful")
        else:
            self.send("535 5.7.8 Authentication failed")

    def read_data(self):
        lines = []
        while True:
            line = self.readline()
            if line == b".":
                break
            if line.startswith(b"."):
                line = line[1:]
            lines.append(line)
        data = b"".join(l + b"\r\n" for l in lines)
        if self.server.data_delay:
            time.sleep(self.server.data_delay)
        txn, self.txn = self.txn, None
        if self.server.data_reply.startswith("2"):
            txn.data = data
            txn.auth_user = self.auth_user
            txn.tls = self.tls
            txn.helo = self.helo
            with self.server.lock:
                self.server.transactions.append(txn)
                self.server.lock.notify_all()
        self.send(self.server.data_reply)
