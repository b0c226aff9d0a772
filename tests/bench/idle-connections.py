#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Memory cost of idle connections: opens N connections to postroomd (with
the testproto module) from one process, reads each greeting, and reports
postroomd's resident memory growth per connection. Not part of meson test;
see README.md."""

import argparse
import errno
import os
import resource
import selectors
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "protocol"))

import postroomtest  # noqa: E402

GOAL_KIB = 16
MAX_IN_FLIGHT = 200  # connections waiting for their greeting (listen backlogs are small)


def vm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for pid %d" % pid)


def raise_nofile(needed):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, needed))
            return needed
        except (ValueError, OSError):
            needed = hard
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def open_idle(port, n, deadline):
    """Opens @n connections and reads each greeting. Returns the sockets."""
    sel = selectors.DefaultSelector()
    done = []
    pending = {}  # socket -> bytes received
    started = 0
    failures = 0
    while len(done) < n:
        if time.monotonic() > deadline:
            raise TimeoutError("only %d of %d connections greeted in time" % (len(done), n))
        while started < n and len(pending) < MAX_IN_FLIGHT:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            rc = s.connect_ex((postroomtest.HOST, port))
            if rc not in (0, errno.EINPROGRESS):
                s.close()
                raise OSError(rc, "connect: %s" % os.strerror(rc))
            pending[s] = b""
            sel.register(s, selectors.EVENT_READ)
            started += 1
        for key, _ in sel.select(timeout=1.0):
            s = key.fileobj
            try:
                chunk = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                sel.unregister(s)
                del pending[s]
                s.close()
                failures += 1
                if failures > 10:
                    raise RuntimeError("the server closed %d connections; last one before its "
                                       "greeting" % failures)
                started -= 1
                continue
            pending[s] += chunk
            if b"\r\n" in pending[s]:
                if not pending[s].startswith(b"+OK"):
                    raise RuntimeError("unexpected greeting %r" % pending[s])
                sel.unregister(s)
                del pending[s]
                done.append(s)
    sel.close()
    return done


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, default=10000)
    parser.add_argument("--build-root", default=os.path.join(os.getcwd(), "build"))
    parser.add_argument("--source-root",
                        default=os.path.dirname(os.path.dirname(HERE)))
    parser.add_argument("--timeout", type=float, default=300,
                        help="seconds allowed for opening the connections")
    parser.add_argument("--settle", type=float, default=2.0,
                        help="seconds to wait before measuring")
    args = parser.parse_args()
    os.environ["POSTROOM_BUILD_ROOT"] = os.path.abspath(args.build_root)
    os.environ["POSTROOM_SOURCE_ROOT"] = os.path.abspath(args.source_root)
    sys.argv = sys.argv[:1]

    n = args.connections
    limit = raise_nofile(n + 1000)
    if limit < n + 100:
        print("RLIMIT_NOFILE is %d, too low for %d connections (run as root or raise the "
              "hard limit)" % (limit, n), file=sys.stderr)
        return 2

    srv = postroomtest.Server(settings={
        "server": {"max_connections": n + 100, "max_connections_per_ip": n + 100},
        "testproto": {"max_connections": n + 100, "max_connections_per_ip": n + 100,
                      "idle_timeout": "1h"},
        "log": {"level": "warning"},
    }, name="bench")
    clients = []
    try:
        srv.start()
        pid = srv.proc.pid
        # Warm up: the first connections allocate the per-service and TLS-free
        # paths' one-off state; they should not count per connection.
        for _ in range(20):
            with srv.connect() as c:
                c.cmd("NOOP")
        time.sleep(args.settle)
        before = vm_rss_kib(pid)

        t0 = time.monotonic()
        clients = open_idle(srv.port, n, time.monotonic() + args.timeout)
        opened = time.monotonic() - t0
        time.sleep(args.settle)
        if not srv.alive():
            raise RuntimeError("postroomd died:\n" + srv.log_tail())
        after = vm_rss_kib(pid)

        per_conn = (after - before) / n
        print("postroomd VmRSS: %d KiB before, %d KiB after; opened in %.1f s" % (
            before, after, opened))
        print("%d connections, %.1f KiB per connection (goal <= %d KiB)" % (
            n, per_conn, GOAL_KIB))
        return 0 if per_conn <= GOAL_KIB else 1
    finally:
        for s in clients:
            s.close()
        srv.cleanup()


if __name__ == "__main__":
    sys.exit(main())
