#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""The SDK as a third party sees it: install the build into a temporary
DESTDIR, compile doc/examples/hello-module against the installed headers and
postroom-plugin-1.pc only, and run it in postroomd."""

import os
import shlex
import shutil
import stat
import subprocess
import tempfile
import unittest

from postroomtest import TOOL_TIMEOUT, Server, paths, run_tests

INSTALL_TIMEOUT = 300


def run(cmd, env=None, cwd=None, timeout=TOOL_TIMEOUT):
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd,
                         timeout=timeout)
    if res.returncode != 0:
        raise AssertionError("%s failed (exit %d):\n%s%s" % (
            " ".join(shlex.quote(c) for c in cmd), res.returncode, res.stdout, res.stderr))
    return res.stdout


class SdkExample(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="postroom-sdk-")
        cls.destdir = os.path.join(cls.tmp, "dest")
        p = paths()
        cls.example_dir = os.path.join(p.source_root, "doc", "examples", "hello-module")
        run(["meson", "install", "-C", p.build_root, "--destdir", cls.destdir, "--no-rebuild",
             "--quiet"], timeout=INSTALL_TIMEOUT)

        pc_files = []
        for root, _, files in os.walk(cls.destdir):
            if "postroom-plugin-1.pc" in files:
                pc_files.append(os.path.join(root, "postroom-plugin-1.pc"))
        if len(pc_files) != 1:
            raise AssertionError("expected one installed postroom-plugin-1.pc, found %r" %
                                 pc_files)
        cls.installed_pc = pc_files[0]
        cls.libdir = os.path.dirname(os.path.dirname(cls.installed_pc))

        # The .pc names the real prefix; point a copy at the DESTDIR. Only
        # this file is rewritten: glib's own .pc files stay as they are.
        cls.pc_dir = os.path.join(cls.tmp, "pkgconfig")
        os.makedirs(cls.pc_dir)
        lines = []
        prefix = None
        with open(cls.installed_pc) as f:
            for line in f:
                if line.startswith("prefix="):
                    prefix = line[len("prefix="):].strip()
                    line = "prefix=%s%s\n" % (cls.destdir, prefix)
                lines.append(line)
        if prefix is None or not cls.installed_pc.startswith(cls.destdir + prefix):
            raise AssertionError("unexpected prefix %r in %s" % (prefix, cls.installed_pc))
        with open(os.path.join(cls.pc_dir, "postroom-plugin-1.pc"), "w") as f:
            f.writelines(lines)
        cls.env = dict(os.environ)
        cls.env["PKG_CONFIG_PATH"] = cls.pc_dir
        cls.env.pop("PKG_CONFIG_LIBDIR", None)

    @classmethod
    def tearDownClass(cls):
        if not os.environ.get("POSTROOM_KEEP_TMP"):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def pkg_config(self, *args):
        return run(["pkg-config"] + list(args), env=self.env).strip()

    def test_pkg_config(self):
        moduledir = self.pkg_config("--variable=moduledir", "postroom-plugin-1")
        self.assertTrue(moduledir.startswith(self.destdir), moduledir)
        self.assertTrue(moduledir.endswith("/postroom-1/modules"), moduledir)
        self.assertEqual(self.pkg_config("--variable=abi_major", "postroom-plugin-1"), "1")
        cflags = self.pkg_config("--cflags", "postroom-plugin-1")
        self.assertIn("-I%s" % self.destdir, cflags)
        self.assertNotIn(paths().source_root, cflags)
        self.assertNotIn(paths().build_root, cflags)
        for header in ("postroom-plugin.h", "pr-version.h", "pr-module.h", "pr-protocol.h",
                       "pr-connection.h", "pr-auth.h", "pr-store.h", "pr-log.h", "pr-host.h"):
            found = any(os.path.exists(os.path.join(flag[2:], "postroom", header))
                        for flag in cflags.split() if flag.startswith("-I"))
            self.assertTrue(found, "%s not installed under the .pc's include path" % header)

    def build_with_cc(self):
        module_dir = os.path.join(self.tmp, "modules-cc")
        os.makedirs(module_dir, exist_ok=True)
        out = os.path.join(module_dir, "hello.so")
        flags = shlex.split(self.pkg_config("--cflags", "--libs", "postroom-plugin-1"))
        run(["cc", "-shared", "-fPIC", "-Wall", "-Werror", "-o", out,
             os.path.join(self.example_dir, "hello.c")] + flags, env=self.env)
        os.chmod(out, 0o644)
        return module_dir

    def test_module_runs(self):
        module_dir = self.build_with_cc()
        env = {"LD_LIBRARY_PATH": self.libdir}
        srv = Server(settings={"server": {"hostname": "mail.example.test"}}, module="hello",
                     module_dir=module_dir, env=env, name="hello")
        self.addCleanup(srv.cleanup)
        srv.start()
        with srv.connect() as c:
            self.assertEqual(c.greeting, "220 mail.example.test hello ready")
            self.assertEqual(c.cmd("HELO world"), "250 Hello world")
            self.assertEqual(c.cmd("helo  spaced name"), "250 Hello  spaced name")
            self.assertEqual(c.cmd("HELO"), "501 Syntax error")
            self.assertEqual(c.cmd("EHLO x"), "500 Unknown command")
            c.send("QUIT\r\n")
            self.assertEqual(c.read_until_closed(), ["221 Bye"])
        srv.check_clean_exit()

    def test_meson_build_installs_into_moduledir(self):
        build = os.path.join(self.tmp, "hello-build")
        dest2 = os.path.join(self.tmp, "dest2")
        run(["meson", "setup", build, self.example_dir], env=self.env, timeout=120)
        run(["meson", "compile", "-C", build], env=self.env, timeout=120)
        run(["meson", "install", "-C", build, "--destdir", dest2, "--quiet"], env=self.env,
            timeout=120)
        moduledir = self.pkg_config("--variable=moduledir", "postroom-plugin-1")
        installed = dest2 + os.path.join(moduledir, "hello.so")
        self.assertTrue(os.path.exists(installed), installed)
        mode = stat.S_IMODE(os.stat(installed).st_mode)
        self.assertEqual(mode & 0o022, 0, "module installed group/other-writable: %o" % mode)
        exported = run(["nm", "-D", "--defined-only", installed])
        self.assertIn("pr_module_hello_get_desc", exported)


if __name__ == "__main__":
    run_tests()
