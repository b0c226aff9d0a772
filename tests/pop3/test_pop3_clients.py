#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The POP3 module with real clients: curl (plain, STLS, implicit TLS) and
fetchmail (keep mode with UIDL, delete mode) delivering to an MDA."""

import os
import shutil
import subprocess
import tempfile
import unittest

import pop3test
from pop3test import (HOST, TOOL_TIMEOUT, Pop3TestCase, crlf, make_message, message_tag,
                      run_tests)

PASSWORD = "s3cret-pw"


def need(tool):
    path = shutil.which(tool)
    if path is None:
        raise unittest.SkipTest("%s is not installed" % tool)
    return path


class Curl(Pop3TestCase):
    users = {"alice": PASSWORD}
    tls = True

    @classmethod
    def setUpClass(cls):
        need("curl")
        super().setUpClass()
        cls.msgs = [make_message("curl-1", b"first\n.dot line\n"),
                    make_message("curl-2", b"second\n")]
        for m in cls.msgs:
            cls.server.deliver("alice", m)

    def curl(self, url, *args):
        res = subprocess.run(["curl", "-s", "-S", "--max-time", "30"] + list(args) + [url],
                             capture_output=True, timeout=TOOL_TIMEOUT)
        self.assertEqual(res.returncode, 0, res.stderr.decode(errors="replace"))
        return res.stdout

    def test_list_and_retr(self):
        base = "pop3://alice:%s@%s:%d" % (PASSWORD, HOST, self.server.port)
        listing = self.curl(base + "/").decode().split("\r\n")
        self.assertEqual([l.split()[0] for l in listing if l], ["1", "2"])
        for n, m in enumerate(self.msgs, 1):
            data = self.curl("%s/%d" % (base, n))
            self.assertTrue(data.endswith(crlf(m)), data)

    def test_stls(self):
        url = "pop3://alice:%s@%s:%d/1" % (PASSWORD, HOST, self.server.port)
        data = self.curl(url, "--ssl-reqd", "-k")
        self.assertTrue(data.endswith(crlf(self.msgs[0])), data)

    def test_implicit_tls(self):
        url = "pop3s://alice:%s@%s:%d/2" % (PASSWORD, HOST, self.server.tls_port)
        data = self.curl(url, "-k")
        self.assertTrue(data.endswith(crlf(self.msgs[1])), data)

    def test_wrong_password(self):
        url = "pop3://alice:wrong@%s:%d/1" % (HOST, self.server.port)
        res = subprocess.run(["curl", "-s", "--max-time", "30", url], capture_output=True,
                             timeout=TOOL_TIMEOUT)
        self.assertEqual(res.returncode, 67, "CURLE_LOGIN_DENIED")


class Fetchmail(Pop3TestCase):
    users = {"bob": PASSWORD, "carol": PASSWORD}

    def setUp(self):
        super().setUp()
        need("fetchmail")
        self.home = tempfile.mkdtemp(prefix="postroom-fetchmail-")
        self.addCleanup(shutil.rmtree, self.home, True)
        self.out = os.path.join(self.home, "out")
        os.mkdir(self.out)
        self.mda = os.path.join(self.home, "mda.sh")
        with open(self.mda, "w") as f:
            f.write('#!/bin/sh\nexec cat > "%s/$(date +%%s%%N).$$.msg"\n' % self.out)
        os.chmod(self.mda, 0o755)

    def fetchmail(self, user, keep):
        rc = os.path.join(self.home, "fetchmailrc")
        with open(rc, "w") as f:
            f.write('set no bouncemail\n'
                    'poll %s with protocol POP3 port %d timeout 30 %s\n'
                    '  user "%s" there with password "%s" is "root" here\n'
                    '  %s\n'
                    '  mda "%s"\n' % (HOST, self.server.port, "uidl" if keep else "",
                                      user, PASSWORD, "keep" if keep else "nokeep",
                                      self.mda))
        os.chmod(rc, 0o600)
        env = dict(os.environ, HOME=self.home, FETCHMAILHOME=self.home)
        res = subprocess.run(["fetchmail", "-f", rc, "--nodetach", "--sslproto", "",
                              "-i", os.path.join(self.home, "fetchids"), "-v"],
                             capture_output=True, text=True, timeout=TOOL_TIMEOUT, env=env,
                             cwd=self.home)
        return res

    def fetched(self):
        result = []
        for name in sorted(os.listdir(self.out)):
            with open(os.path.join(self.out, name), "rb") as f:
                result.append(f.read())
        return result

    def check_run(self, res, expected_rc):
        self.assertEqual(res.returncode, expected_rc,
                         "fetchmail exit %d:\n%s%s" % (res.returncode, res.stdout, res.stderr))

    def test_keep_mode_with_uidl(self):
        msgs = [make_message("fm-keep-%d" % i, b"keep body %d\n.dot\n" % i) for i in range(3)]
        for m in msgs:
            self.server.deliver("bob", m)
        self.check_run(self.fetchmail("bob", keep=True), 0)
        got = self.fetched()
        self.assertEqual(sorted(message_tag(crlf(g)) for g in got),
                         ["fm-keep-0", "fm-keep-1", "fm-keep-2"])
        for g in got:
            tag = message_tag(crlf(g))
            body = msgs[int(tag[-1])].split(b"\n\n", 1)[1]
            self.assertTrue(g.replace(b"\r\n", b"\n").endswith(body), g)
        # Second run: nothing new (UIDL), and the server still has them all.
        self.check_run(self.fetchmail("bob", keep=True), 1)
        self.assertEqual(len(self.fetched()), 3)
        p = self.pop("bob", PASSWORD)
        self.assertEqual(p.stat()[0], 3)
        p.quit()
        # A new message is the only one fetched next time.
        self.server.deliver("bob", make_message("fm-keep-new"))
        self.check_run(self.fetchmail("bob", keep=True), 0)
        got = self.fetched()
        self.assertEqual(len(got), 4)
        self.assertIn("fm-keep-new", [message_tag(crlf(g)) for g in got])

    def test_delete_mode(self):
        for i in range(4):
            self.server.deliver("carol", make_message("fm-del-%d" % i))
        self.check_run(self.fetchmail("carol", keep=False), 0)
        self.assertEqual(sorted(message_tag(crlf(g)) for g in self.fetched()),
                         ["fm-del-%d" % i for i in range(4)])
        p = self.pop("carol", PASSWORD)
        self.assertEqual(p.stat(), (0, 0), "fetched messages were deleted")
        p.quit()
        self.check_run(self.fetchmail("carol", keep=False), 1)


if __name__ == "__main__":
    run_tests()
