#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""postroomd killed with SIGKILL while a QUIT commits the deletion of many
messages: after a restart every message is either wholly there or wholly
gone, nothing that was not DELE'd is lost, UIDLs are unchanged, and running
the QUIT again finishes the job."""

import os
import sys
import time

import pop3test
from pop3test import Pop3TestCase, make_message, message_tag, run_tests

PASSWORD = "crash-test-pw"
N_DELETE = int(os.environ.get("POSTROOM_POP3_CRASH_MESSAGES", "500"))
N_KEEP = 20
# Delays between sending QUIT and the SIGKILL, one round each.
KILL_DELAYS = (0.0, 0.02, 0.05, 0.1, 0.2)


def body_of(tag):
    return ("Body of %s\n" % tag).encode() * 20


class KillDuringQuit(Pop3TestCase):
    users = {"victim": PASSWORD}

    def deliver_all(self, tags):
        for t in tags:
            self.server.deliver("victim", make_message(t, body_of(t)))

    def snapshot(self, deadline=30):
        """{tag: uidl} of the mailbox, checking each message's content."""
        end = time.monotonic() + deadline
        while True:
            c = pop3test.RawPop3(self.server.port)
            try:
                reply = c.login("victim", PASSWORD)
                if reply == pop3test.R_IN_USE and time.monotonic() < end:
                    time.sleep(0.2)
                    continue
                self.assertTrue(reply.startswith("+OK"), reply)
                status, lines = c.multiline("UIDL")
                uidls = {int(a): b for a, b in (l.split() for l in lines)}
                found = {}
                for n in sorted(uidls):
                    status, data = c.retr(n)
                    self.assertTrue(status.startswith("+OK"), status)
                    tag = message_tag(data)
                    self.assertIsNotNone(tag, data[:200])
                    self.assertTrue(data.endswith(body_of(tag).replace(b"\n", b"\r\n")),
                                    "message %s is whole" % tag)
                    self.assertNotIn(tag, found, "no duplicates")
                    found[tag] = uidls[n]
                c.cmd("QUIT")
                return found
            finally:
                c.close()

    def test_kill_during_quit(self):
        for round_no, delay in enumerate(KILL_DELAYS):
            with self.subTest(delay=delay):
                self.one_round(round_no, delay)

    def one_round(self, round_no, delay):
        doomed = ["r%d-doomed-%d" % (round_no, i) for i in range(N_DELETE)]
        kept = ["r%d-kept-%d" % (round_no, i) for i in range(N_KEEP)]
        # Interleaved, so the deletions are not one contiguous range.
        order = []
        pending_kept = list(kept)
        step = max(1, N_DELETE // N_KEEP)
        for i, t in enumerate(doomed):
            order.append(t)
            if i % step == 0 and pending_kept:
                order.append(pending_kept.pop(0))
        order += pending_kept
        self.deliver_all(order)
        before = self.snapshot()
        self.assertEqual(set(before), set(order))

        c = pop3test.RawPop3(self.server.port, timeout=60)
        self.addCleanup(c.close)
        self.assertTrue(c.login("victim", PASSWORD).startswith("+OK"))
        status, lines = c.multiline("UIDL")
        by_uidl = {b: int(a) for a, b in (l.split() for l in lines)}
        to_delete = [by_uidl[before[t]] for t in doomed]
        c.send("".join("DELE %d\r\n" % n for n in to_delete))
        for n in to_delete:
            self.assertEqual(c.readline(timeout=60), "+OK message %d deleted" % n)
        c.send("QUIT\r\n")
        if delay:
            time.sleep(delay)
        self.server.kill9()
        c.close()

        self.server.restart()
        after = self.snapshot()
        for t in kept:
            self.assertIn(t, after, "a message that was not DELE'd survived")
            self.assertEqual(after[t], before[t], "its UIDL did not change")
        gone = [t for t in doomed if t not in after]
        sys.stdout.write("# kill %.3f s after QUIT: %d of %d DELE'd messages gone\n"
                         % (delay, len(gone), N_DELETE))
        sys.stdout.flush()
        self.assertIn(len(gone), (0, N_DELETE),
                      "the deletion is all or nothing, %d of %d gone" % (len(gone), N_DELETE))
        for t in doomed:
            if t in after:
                self.assertEqual(after[t], before[t])

        if not gone:
            # The commit never happened: QUIT again finishes the job.
            c = pop3test.RawPop3(self.server.port, timeout=60)
            self.addCleanup(c.close)
            self.assertTrue(c.login("victim", PASSWORD).startswith("+OK"))
            status, lines = c.multiline("UIDL")
            by_uidl = {b: int(a) for a, b in (l.split() for l in lines)}
            c.send("".join("DELE %d\r\n" % by_uidl[before[t]] for t in doomed))
            for _ in doomed:
                self.assertTrue(c.readline(timeout=60).startswith("+OK message"))
            self.assertEqual(c.cmd("QUIT"), "+OK Postroom POP3 server signing off "
                             "(%d messages deleted, %d left)" % (N_DELETE, len(after) - N_DELETE))
            c.close()
        final = self.snapshot()
        self.assertEqual(set(final), set(after) - set(doomed))
        # Clean up for the next round.
        p = self.pop("victim", PASSWORD)
        for n in range(1, p.stat()[0] + 1):
            p.dele(n)
        p.quit()


if __name__ == "__main__":
    run_tests()
