#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Crash tests of the collector: postroomd is killed with SIGKILL in the
middle of a download, while a DELE waits for its reply, and at random
moments of sessions against Dovecot; after each restart the sessions go
on. In the end every message must have been delivered exactly once and
the ISP's mailbox must be empty (leave_days 0). Marked slow."""

import random
import signal
import time

from collectortest import (
    ISP_PASSWORD, WAIT, CollectorTestCase, Dovecot, Message, ScriptedPOP3, message, run_tests)


def subjects_once(test, server, user, expected):
    got = server.subjects(user)
    test.assertEqual(sorted(set(got)), sorted(expected), "missing or unexpected messages")
    dupes = sorted(s for s in set(got) if got.count(s) > 1)
    test.assertEqual(dupes, [], "delivered more than once")


class Crash(CollectorTestCase):

    users = ("alice", "bob", "carol", "admin")

    def kill(self):
        self.server.proc.send_signal(signal.SIGKILL)
        self.server.proc.wait(timeout=20)
        self.server._log.close()

    def kill_and_restart(self):
        self.kill()
        self.server.restart()

    def run_until_empty(self, name, remaining, runs=6):
        """Runs sessions until the ISP holds nothing (bounded)."""
        for _ in range(runs):
            if remaining() == 0:
                return
            self.server.run(name)
        self.assertEqual(remaining(), 0, "the ISP still holds messages")

    def test_kill_during_download(self):
        isp = ScriptedPOP3()
        self.addCleanup(isp.stop)
        isp.set_messages([Message("d%d" % i, message("download-%d" % i,
                                                     body=(b"y" * 70 + b"\n") * 200))
                          for i in range(1, 6)])
        isp.pause_retr = "d3"
        self.server.add_collector("killdl", "127.0.0.1", isp.port, deliver_to="alice")
        self.server.ctl("collector", "run", "killdl")
        isp.wait(lambda s: s.paused == ("RETR", "d3"), "the pause in RETR d3")
        self.kill_and_restart()
        isp.pause_retr = None
        self.run_until_empty("killdl", lambda: len(isp.uids()))
        subjects_once(self, self.server, "alice", ["download-%d" % i for i in range(1, 6)])

    def test_kill_during_dele(self):
        isp = ScriptedPOP3()
        self.addCleanup(isp.stop)
        isp.set_messages([Message("e%d" % i, message("dele-%d" % i)) for i in range(1, 6)])
        isp.pause_dele = "e2"
        self.server.add_collector("killdele", "127.0.0.1", isp.port, deliver_to="bob")
        self.server.ctl("collector", "run", "killdele")
        isp.wait(lambda s: s.paused == ("DELE", "e2"), "the pause in DELE of e2")
        # e2 is delivered (DELE comes only after its commit).
        self.assertIn("dele-2", self.server.subjects("bob"))
        self.kill_and_restart()
        isp.pause_dele = None
        self.run_until_empty("killdele", lambda: len(isp.uids()))
        subjects_once(self, self.server, "bob", ["dele-%d" % i for i in range(1, 6)])

    def test_random_kills_with_dovecot(self):
        rng = random.Random(20240601)
        dovecot = Dovecot({"crash": ISP_PASSWORD})
        dovecot.start()
        self.addCleanup(dovecot.stop)
        count = 300
        for i in range(count):
            dovecot.put("crash", message("random-%d" % i, body=(b"z" * 70 + b"\n") * 40))
        self.server.add_collector("random", "127.0.0.1", dovecot.port, username="crash",
                                  deliver_to="carol")
        kills = []
        deadline = time.monotonic() + 10 * WAIT
        for _ in range(8):
            if dovecot.count("crash") == 0 or time.monotonic() > deadline:
                break
            known = len(self.server.uids("random"))
            self.server.ctl("collector", "run", "random")
            # Once the session has delivered something, kill it a random
            # moment later: in a download, between a commit and its DELE,
            # in a DELE, before QUIT.
            wait_until = time.monotonic() + WAIT
            while len(self.server.uids("random")) == known and time.monotonic() < wait_until:
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.1))
            self.kill()
            kills.append((known, len(self.server.uids("random")), dovecot.count("crash")))
            self.server.restart()
        # At least one kill must have hit a session in the middle: some
        # messages recorded by it, some still to come.
        print("# kills (UIDs known before, after, messages left at the ISP): %r" % kills)
        self.assertTrue(any(b < a < count for b, a, _ in kills), kills)
        self.run_until_empty("random", lambda: dovecot.count("crash"))
        subjects_once(self, self.server, "carol", ["random-%d" % i for i in range(count)])

if __name__ == "__main__":
    run_tests()
