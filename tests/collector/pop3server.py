# SPDX-License-Identifier: GPL-3.0-or-later
"""A scripted POP3 server for the collector tests (Python standard library):
an ISP that misbehaves on purpose.

One thread accepts on 127.0.0.1, one session at a time (as an ISP's lock
would). The mailbox is a list of Message(uid, data); DELE marks, QUIT
removes (RFC 1939). Misbehaviours, each a field the test sets:

- drop_on_empty_list: close the connection on LIST (or UIDL) when the
  mailbox is empty (QPOP 2.53);
- retr_err: {uid: text}: answer RETR of that message with -ERR text;
- stall_retr: uid: send half of that message, then nothing;
- drop_retr: uid: send half of that message, then close;
- fail_quit: answer QUIT with -ERR (nothing is removed);
- pause_retr / pause_dele: uid: send half of that message (or nothing of
  the DELE reply), set `paused` and wait until the client goes away (for
  the crash tests, which kill the client there);
- no_top: answer TOP with -ERR, as servers without it do (TOP is still
  in CAPA, as some of those claim it anyway);
- pipelining: list PIPELINING in CAPA, and wait a moment after reading
  each command before answering it: a command that arrived meanwhile was
  pipelined, and is counted in `pipelined`.

Message data is sent as given (bytes, NULs included), dot-stuffed, with
CRLF line ends.
"""

import socket
import threading
import time

IO_TIMEOUT = 30


class Message:
    def __init__(self, uid, data):
        self.uid = uid
        self.data = data if isinstance(data, bytes) else data.encode()


class ScriptedPOP3:
    def __init__(self, user="isp-user", password="isp-pw", greeting="+OK scripted POP3 ready"):
        self.user = user
        self.password = password
        self.greeting = greeting
        self.messages = []
        self.drop_on_empty_list = False
        self.retr_err = {}
        self.stall_retr = None
        self.drop_retr = None
        self.fail_quit = False
        self.pause_retr = None
        self.pause_dele = None
        self.no_top = False
        self.pipelining = False
        self.pipelined = 0  # commands that came before the previous one's reply
        self.paused = None  # (command, uid) once a pause is reached
        self.lock = threading.Condition()
        self.sessions = 0
        self.commands = []  # every command line of every session, PASS masked
        self.retrieved = []  # UIDs sent whole by RETR
        self.deleted = []  # UIDs removed at QUIT
        self.errors = []
        self._stop = False
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def set_messages(self, messages):
        with self.lock:
            self.messages = list(messages)

    def uids(self):
        with self.lock:
            return [m.uid for m in self.messages]

    def stop(self):
        self._stop = True
        self.thread.join(timeout=10)
        self.listener.close()

    def _accept(self):
        while not self._stop:
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.sessions += 1
            try:
                Session(self, conn).run()
            except Exception as e:  # noqa: BLE001 - recorded for the test
                with self.lock:
                    self.errors.append(repr(e))
            finally:
                try:
                    conn.close()
                except OSError:
                    pass
                with self.lock:
                    self.lock.notify_all()

    def wait(self, predicate, what, timeout=60):
        deadline = time.monotonic() + timeout
        with self.lock:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError("scripted POP3 server: %s not seen within %ds; "
                                         "commands: %r" % (what, timeout, self.commands[-20:]))
                self.lock.wait(left)


def stuffed(data):
    """@data as a multi-line response body: CRLF line ends, dots doubled,
    the terminating line."""
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    out = b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in lines)
    return out + b".\r\n"


class Session:
    def __init__(self, server, conn):
        self.server = server
        self.conn = conn
        self.conn.settimeout(IO_TIMEOUT)
        self.buf = b""
        self.authed = False
        self.user_ok = False
        self.marked = set()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.conn.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.conn.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
            if len(self.buf) > 65536:
                raise AssertionError("client line too long")
        line, self.buf = self.buf.split(b"\n", 1)
        if self.server.pipelining and self.authed:
            # Whatever the client sends before this command is answered.
            time.sleep(0.1)
            self.conn.setblocking(False)
            try:
                self.buf += self.conn.recv(65536)
            except (BlockingIOError, InterruptedError):
                pass
            finally:
                self.conn.settimeout(IO_TIMEOUT)
            if b"\n" in self.buf:
                with self.server.lock:
                    self.server.pipelined += 1
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def pause(self, what):
        with self.server.lock:
            self.server.paused = what
            self.server.lock.notify_all()
        # Until the client goes away.
        while self.conn.recv(65536):
            pass

    def listed(self):
        """(number, message) of the messages not marked deleted."""
        with self.server.lock:
            msgs = list(self.server.messages)
        return [(i + 1, m) for i, m in enumerate(msgs) if i + 1 not in self.marked]

    def message(self, arg):
        with self.server.lock:
            msgs = list(self.server.messages)
        try:
            n = int(arg.split()[0])
        except (ValueError, IndexError):
            return None, None
        if n < 1 or n > len(msgs) or n in self.marked:
            return None, None
        return n, msgs[n - 1]

    def run(self):
        self.send(self.server.greeting + "\r\n")
        for _ in range(100000):
            line = self.line()
            if line is None:
                return
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            with self.server.lock:
                self.server.commands.append("PASS ***" if verb == "PASS" else line)
                self.server.lock.notify_all()
            if verb == "CAPA":
                extra = "PIPELINING\r\n" if self.server.pipelining else ""
                self.send("+OK\r\nTOP\r\nUIDL\r\nUSER\r\n" + extra + ".\r\n")
            elif verb == "USER":
                self.user_ok = arg == self.server.user
                self.send("+OK\r\n")
            elif verb == "PASS":
                if self.user_ok and arg == self.server.password:
                    self.authed = True
                    self.send("+OK logged in\r\n")
                else:
                    self.send('-ERR Password supplied for "%s" is incorrect\r\n' % self.server.user)
            elif verb == "QUIT":
                if self.authed and self.server.fail_quit:
                    self.send("-ERR could not remove messages\r\n")
                    return
                if self.authed:
                    with self.server.lock:
                        msgs = self.server.messages
                        gone = [m for i, m in enumerate(msgs) if i + 1 in self.marked]
                        self.server.messages = [m for i, m in enumerate(msgs)
                                                if i + 1 not in self.marked]
                        self.server.deleted += [m.uid for m in gone]
                self.send("+OK bye\r\n")
                return
            elif not self.authed:
                self.send("-ERR not logged in\r\n")
            elif verb == "STAT":
                msgs = self.listed()
                self.send("+OK %d %d\r\n" % (len(msgs), sum(len(m.data) for _, m in msgs)))
            elif verb in ("UIDL", "LIST") and not arg:
                msgs = self.listed()
                if not msgs and self.server.drop_on_empty_list:
                    return
                self.send("+OK\r\n")
                for n, m in msgs:
                    self.send("%d %s\r\n" % (n, m.uid if verb == "UIDL" else len(m.data)))
                self.send(".\r\n")
            elif verb in ("RETR", "TOP"):
                n, m = self.message(arg)
                if m is None:
                    self.send("-ERR no such message\r\n")
                    continue
                if verb == "TOP" and self.server.no_top:
                    self.send("-ERR unknown command\r\n")
                    continue
                if verb == "RETR" and m.uid in self.server.retr_err:
                    self.send("-ERR %s\r\n" % self.server.retr_err[m.uid])
                    continue
                body = stuffed(m.data)
                if verb == "TOP":
                    head = m.data.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0] + b"\n\n"
                    body = stuffed(head)
                self.send("+OK %d octets\r\n" % len(m.data))
                if verb == "RETR" and m.uid == self.server.pause_retr:
                    self.send(body[:len(body) // 2])
                    self.pause(("RETR", m.uid))
                    return
                if verb == "RETR" and m.uid == self.server.stall_retr:
                    self.send(body[:len(body) // 2])
                    # Until the client gives up.
                    while self.conn.recv(65536):
                        pass
                    return
                if verb == "RETR" and m.uid == self.server.drop_retr:
                    self.send(body[:len(body) // 2])
                    return
                self.send(body)
                if verb == "RETR":
                    with self.server.lock:
                        self.server.retrieved.append(m.uid)
            elif verb == "DELE":
                n, m = self.message(arg)
                if m is None:
                    self.send("-ERR no such message\r\n")
                elif m.uid == self.server.pause_dele:
                    self.pause(("DELE", m.uid))
                    return
                else:
                    self.marked.add(n)
                    self.send("+OK deleted\r\n")
            elif verb == "NOOP":
                self.send("+OK\r\n")
            elif verb == "RSET":
                self.marked.clear()
                self.send("+OK\r\n")
            else:
                self.send("-ERR unknown command\r\n")
