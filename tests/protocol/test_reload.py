#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""SIGHUP reloads access rules, limits, idle timeouts, log level and the TLS
certificate; a bad configuration is refused and the old one stays."""

import hashlib
import os
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

from postroomtest import (
    HOST, R_ACCESS_DENIED, TOOL_TIMEOUT, Server, insecure_context, run_tests, write_keyfile)

GREETING = "+OK testproto ready"


def new_certificate(directory):
    key = os.path.join(directory, "key2.pem")
    cert = os.path.join(directory, "cert2.pem")
    template = os.path.join(directory, "cert2.cfg")
    with open(template, "w") as f:
        f.write('cn = "reloaded.localhost"\nexpiration_days = 30\ntls_www_server\n'
                'signing_key\nencryption_key\n')
    subprocess.run(["certtool", "--generate-privkey", "--key-type=rsa", "--bits=2048",
                    "--outfile", key], check=True, capture_output=True, timeout=TOOL_TIMEOUT)
    subprocess.run(["certtool", "--generate-self-signed", "--load-privkey", key, "--template",
                    template, "--outfile", cert], check=True, capture_output=True,
                   timeout=TOOL_TIMEOUT)
    return cert, key


def served_certificate(port):
    ctx = insecure_context()
    with socket.create_connection((HOST, port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            return hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()


class ReloadCase(unittest.TestCase):

    def setUp(self):
        self.srv = Server(tls=True, name="reload")
        self.addCleanup(self.srv.cleanup)
        self.srv.start()

    def reload(self, marker_count):
        """Sends SIGHUP and waits until the log shows one more reload outcome."""
        self.srv.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            text = self.srv.log_text()
            done = text.count("configuration reloaded") + text.count("configuration not reloaded")
            if done >= marker_count:
                return text
            time.sleep(0.05)
        self.fail("no reload outcome in the log:\n" + self.srv.log_tail())

    def rewrite(self, group, key, value):
        self.srv.groups.setdefault(group, {})[key] = value
        write_keyfile(self.srv.config_path, self.srv.groups)

    def test_access_rules_and_bad_config(self):
        with self.srv.connect() as c:
            self.assertEqual(c.greeting, GREETING)

        self.rewrite("testproto", "access", "deny 127.0.0.0/8")
        self.reload(1)
        with self.srv.connect(greeting=False) as c:
            self.assertEqual(c.read_until_closed(), [R_ACCESS_DENIED])

        # A broken file changes nothing: the deny rule stays in force.
        self.rewrite("testproto", "access", "allow 127.0.0.0/8")
        self.rewrite("testproto", "no_such_key", "1")
        text = self.reload(2)
        self.assertIn("configuration not reloaded", text)
        self.assertIn("no_such_key", text)
        with self.srv.connect(greeting=False) as c:
            self.assertEqual(c.read_until_closed(), [R_ACCESS_DENIED])

        del self.srv.groups["testproto"]["no_such_key"]
        write_keyfile(self.srv.config_path, self.srv.groups)
        self.reload(3)
        with self.srv.connect() as c:
            self.assertEqual(c.greeting, GREETING)
        self.srv.check_clean_exit()

    def test_idle_timeout_and_certificate(self):
        before = served_certificate(self.srv.tls_port)
        cert, key = new_certificate(self.srv.dir)
        self.rewrite("tls", "certificate", cert)
        self.rewrite("tls", "key", key)
        self.rewrite("testproto", "idle_timeout", "1s")
        self.reload(1)

        after = served_certificate(self.srv.tls_port)
        self.assertNotEqual(before, after)
        with self.srv.connect() as c:
            self.assertEqual(c.greeting, GREETING)
            start = time.monotonic()
            lines = c.read_until_closed(timeout=10)
            self.assertLess(time.monotonic() - start, 9)
            self.assertEqual(lines, ["-ERR Idle timeout, closing connection"])
        self.srv.check_clean_exit()


if __name__ == "__main__":
    run_tests()
