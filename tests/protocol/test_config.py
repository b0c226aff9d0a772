#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""postroomd's configuration checks: refusal to start on errors, --check,
module settings and conf.d."""

import os
import socket
import unittest

from postroomtest import Server, run_foreground, run_tests, write_keyfile


class ConfigCase(unittest.TestCase):

    def make(self, settings=None, **kw):
        srv = Server(settings=settings, name="config", **kw)
        self.addCleanup(srv.cleanup)
        return srv

    def assertRefused(self, srv, *needles):
        """Both --check and a real start fail, naming every needle."""
        for args in (["--check"], ["--foreground"]):
            res = run_foreground(args, srv.config_path)
            output = res.stdout + res.stderr
            self.assertNotEqual(res.returncode, 0, "%s accepted the config:\n%s" % (args, output))
            self.assertGreater(res.returncode, 0, "%s crashed (%d):\n%s" % (
                args, res.returncode, output))
            for needle in needles:
                # A tuple means: any one of these.
                options = needle if isinstance(needle, tuple) else (needle,)
                self.assertTrue(any(n in output for n in options),
                                "%s: message does not name %r:\n%s" % (args, needle, output))
            self.assertNotIn("AddressSanitizer", output)
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", srv.port), timeout=1).close()

    def test_check_valid(self):
        srv = self.make(tls=True)
        res = run_foreground(["--check"], srv.config_path)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", srv.port), timeout=1).close()

    def test_unknown_key_in_host_group(self):
        srv = self.make({"server": {"no_such_key": "1"}})
        self.assertRefused(srv, srv.config_path, "server", "no_such_key")

    def test_unknown_key_in_module_group(self):
        srv = self.make({"testproto": {"greeting_nmae": "typo"}})
        self.assertRefused(srv, srv.config_path, "testproto", "greeting_nmae")

    def test_unknown_group(self):
        srv = self.make({"nosuchgroup": {"key": "value"}})
        self.assertRefused(srv, srv.config_path, "nosuchgroup")

    def test_bad_int(self):
        srv = self.make({"server": {"max_connections": "lots"}})
        self.assertRefused(srv, srv.config_path, "server", "max_connections")

    def test_bad_bool_in_module_setting(self):
        srv = self.make({"testproto": {"reject_connect": "perhaps"}})
        self.assertRefused(srv, srv.config_path, "testproto", "reject_connect")

    def test_bad_duration(self):
        srv = self.make({"testproto": {"idle_timeout": "5 fortnights"}})
        self.assertRefused(srv, srv.config_path, "testproto", "idle_timeout")

    def test_bad_listen(self):
        srv = self.make({"testproto": {"listen": "127.0.0.1:notaport"}})
        self.assertRefused(srv, srv.config_path, "listen")

    def test_listen_none_leaves_the_service_unserved(self):
        srv = self.make({"testproto": {"listen": "none"}})
        res = run_foreground(["--check"], srv.config_path)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)

    def test_missing_listen_names_the_way_out(self):
        srv = self.make({"testproto": {"listen": ""}})
        self.assertRefused(srv, "listen=none")

    def test_bad_access_rule(self):
        srv = self.make({"testproto": {"access": "permit 127.0.0.1/33"}})
        self.assertRefused(srv, srv.config_path, "access")

    def test_missing_module(self):
        srv = self.make({"modules": {"enabled": ["testproto", "nosuchmodule"]}})
        self.assertRefused(srv, "nosuchmodule")

    def test_module_dir_missing(self):
        srv = self.make(module_dir="/nonexistent/postroom-modules")
        self.assertRefused(srv, ("testproto", "/nonexistent/postroom-modules"))

    def test_syntax_error(self):
        srv = self.make()
        with open(srv.config_path, "a") as f:
            f.write("this line is not a key file line\n")
        self.assertRefused(srv, srv.config_path)

    def test_missing_config_file(self):
        res = run_foreground(["--check"], "/nonexistent/postroomd.conf")
        self.assertGreater(res.returncode, 0)
        self.assertIn("/nonexistent/postroomd.conf", res.stdout + res.stderr)

    def test_conf_d_error_names_its_file(self):
        srv = self.make()
        conf_d = os.path.join(os.path.dirname(srv.config_path), "conf.d")
        os.makedirs(conf_d)
        bad = os.path.join(conf_d, "50-local.conf")
        write_keyfile(bad, {"testproto": {"bogus_setting": "1"}})
        self.assertRefused(srv, bad, "bogus_setting")

    def test_module_setting_applies(self):
        srv = self.make({"testproto": {"greeting_name": "Frobozz Mail"}})
        srv.start()
        with srv.connect() as c:
            self.assertEqual(c.greeting, "+OK Frobozz Mail ready")
        srv.check_clean_exit()

    def test_conf_d_overrides(self):
        srv = self.make({"testproto": {"greeting_name": "Main"}})
        conf_d = os.path.join(os.path.dirname(srv.config_path), "conf.d")
        os.makedirs(conf_d)
        write_keyfile(os.path.join(conf_d, "10-a.conf"), {"testproto": {"greeting_name": "A"}})
        write_keyfile(os.path.join(conf_d, "20-b.conf"), {"testproto": {"greeting_name": "B"}})
        srv.start()
        with srv.connect() as c:
            self.assertEqual(c.greeting, "+OK B ready")
        srv.check_clean_exit()


if __name__ == "__main__":
    run_tests()
