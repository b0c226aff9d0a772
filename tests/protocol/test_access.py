#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Access rules, connection limits and the connect hook."""

import time
import unittest

from postroomtest import (
    R_ACCESS_DENIED, R_HOOK, R_TOO_MANY_CONNECTIONS, R_TOO_MANY_FROM_IP, Server,
    run_tests)

GREETING = "+OK testproto ready"


class AccessCase(unittest.TestCase):
    """Each test starts its own server with the settings it checks."""

    def start(self, settings):
        srv = Server(settings=settings, name="access")
        self.addCleanup(srv.cleanup)
        srv.start()
        self.srv = srv
        return srv

    def tearDown(self):
        srv = getattr(self, "srv", None)
        if srv is not None and srv.proc is not None:
            srv.check_clean_exit()

    def assertAllowed(self, srv):
        with srv.connect() as c:
            self.assertEqual(c.greeting, GREETING)
            self.assertEqual(c.cmd("NOOP"), "+OK")

    def assertDenied(self, srv, reply=R_ACCESS_DENIED):
        # Nothing is sent: unread data at close would make the server's
        # kernel answer with a reset.
        with srv.connect(greeting=False) as c:
            self.assertEqual(c.read_until_closed(), [reply])

    def connect_greeted(self, srv, timeout=5):
        """A greeted connection. Retries for a moment, because connections
        closed just before (the start-up probe) may not be counted down yet."""
        deadline = time.monotonic() + timeout
        for _ in range(1000):
            c = srv.connect()
            if c.greeting == GREETING or time.monotonic() > deadline:
                self.addCleanup(c.close)
                self.assertEqual(c.greeting, GREETING)
                return c
            c.close()
            time.sleep(0.1)
        self.fail("no greeting")

    def open_many(self, srv, n):
        return [self.connect_greeted(srv) for _ in range(n)]

    def wait_allowed(self, srv, timeout=5):
        """A connection gets the greeting again once the server has counted
        the closed ones down."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            with srv.connect() as c:
                last = c.greeting
                if last == GREETING:
                    return
            time.sleep(0.1)
        self.fail("no greeting within %ss after closing connections, last reply %r" %
                  (timeout, last))


class ServiceRules(AccessCase):

    def test_deny_loopback(self):
        srv = self.start({"testproto": {"access": "deny 127.0.0.0/8"}})
        self.assertDenied(srv)
        self.assertTrue(srv.alive())

    def test_allow_exact_address(self):
        srv = self.start({"testproto": {"access": "allow 127.0.0.1/32"}})
        self.assertAllowed(srv)

    def test_first_match_wins(self):
        srv = self.start({"testproto": {"access": ["allow 127.0.0.1/32", "deny any"]}})
        self.assertAllowed(srv)

    def test_first_match_wins_deny(self):
        srv = self.start({"testproto": {"access": ["deny 127.0.0.1/32", "allow any"]}})
        self.assertDenied(srv)

    def test_unlisted_address_denied(self):
        # Once rules exist, an address no rule matches is denied.
        srv = self.start({"testproto": {"access": "allow 10.0.0.0/8"}})
        self.assertDenied(srv)

    def test_other_network_denied_does_not_affect(self):
        srv = self.start({"testproto": {"access": ["deny 192.168.0.0/16", "deny ::1/128",
                                                   "allow any"]}})
        self.assertAllowed(srv)

    def test_noauth_flag_accepted(self):
        srv = self.start({"testproto": {"access": "allow 127.0.0.0/8 noauth"}})
        self.assertAllowed(srv)


class GlobalRules(AccessCase):

    def test_global_deny(self):
        srv = self.start({"access": {"rules": "deny 127.0.0.0/8"},
                          "testproto": {"access": "allow any"}})
        self.assertDenied(srv)

    def test_global_allow_service_deny(self):
        srv = self.start({"access": {"rules": "allow any"},
                          "testproto": {"access": "deny 127.0.0.1/32"}})
        self.assertDenied(srv)

    def test_both_allow(self):
        srv = self.start({"access": {"rules": "allow 127.0.0.0/8"},
                          "testproto": {"access": "allow 127.0.0.1/32"}})
        self.assertAllowed(srv)

    def test_global_only(self):
        srv = self.start({"access": {"rules": ["deny 10.0.0.0/8", "allow 127.0.0.0/8"]}})
        self.assertAllowed(srv)


class Limits(AccessCase):

    def test_max_connections_per_ip(self):
        srv = self.start({"testproto": {"max_connections_per_ip": 2}})
        clients = self.open_many(srv, 2)
        self.assertDenied(srv, R_TOO_MANY_FROM_IP)
        for c in clients:
            self.assertEqual(c.cmd("NOOP"), "+OK", "existing connections keep working")
        clients[0].close()
        self.wait_allowed(srv)

    def test_service_max_connections(self):
        srv = self.start({"testproto": {"max_connections": 3, "max_connections_per_ip": 50}})
        clients = self.open_many(srv, 3)
        self.assertDenied(srv, R_TOO_MANY_CONNECTIONS)
        self.assertDenied(srv, R_TOO_MANY_CONNECTIONS)
        clients[1].cmd("QUIT")
        clients[1].read_until_closed()
        self.wait_allowed(srv)

    def test_server_max_connections(self):
        srv = self.start({"server": {"max_connections": 2}})
        clients = self.open_many(srv, 2)
        self.assertDenied(srv, R_TOO_MANY_CONNECTIONS)
        clients[0].close()
        self.wait_allowed(srv)

    def test_server_max_connections_per_ip(self):
        srv = self.start({"server": {"max_connections_per_ip": 1}})
        self.open_many(srv, 1)
        self.assertDenied(srv, R_TOO_MANY_FROM_IP)

    def test_denied_connections_do_not_count(self):
        srv = self.start({"testproto": {"max_connections_per_ip": 2}})
        clients = self.open_many(srv, 2)
        for _ in range(5):
            self.assertDenied(srv, R_TOO_MANY_FROM_IP)
        for c in clients:
            c.close()
        time.sleep(0.3)
        self.wait_allowed(srv)
        self.open_many(srv, 2)


class ConnectHook(AccessCase):

    def test_hook_rejects(self):
        srv = self.start({"testproto": {"reject_connect": True}})
        self.assertDenied(srv, R_HOOK)
        self.assertDenied(srv, R_HOOK)
        self.assertTrue(srv.alive())

    def test_hook_off(self):
        srv = self.start({"testproto": {"reject_connect": False}})
        self.assertAllowed(srv)

    def test_access_rules_before_hook(self):
        srv = self.start({"testproto": {"reject_connect": True, "access": "deny any"}})
        self.assertDenied(srv, R_ACCESS_DENIED)


if __name__ == "__main__":
    run_tests()
