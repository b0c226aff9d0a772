#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Runs a libFuzzer harness on a scratch copy of its seed corpus (libFuzzer
adds new inputs to the first corpus directory; the source tree must stay
clean). Crash reproducers go to the current directory (meson's build dir
for the test) with an artifact prefix naming the harness."""

import os
import shutil
import subprocess
import sys
import tempfile


def main():
    if len(sys.argv) < 3:
        print("usage: run-fuzzer.py FUZZER CORPUS [libFuzzer options...]", file=sys.stderr)
        return 2
    fuzzer, corpus, options = sys.argv[1], sys.argv[2], sys.argv[3:]
    name = os.path.basename(fuzzer)
    with tempfile.TemporaryDirectory(prefix=name + "-corpus-") as scratch:
        work = os.path.join(scratch, "corpus")
        shutil.copytree(corpus, work)
        env = dict(os.environ)
        env.setdefault("ASAN_OPTIONS", "intercept_tls_get_addr=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        cmd = [fuzzer, "-artifact_prefix=" + os.path.join(os.getcwd(), name + "-")] + options
        cmd.append(work)
        print(" ".join(cmd), flush=True)
        return subprocess.call(cmd, env=env)


if __name__ == "__main__":
    sys.exit(main())
