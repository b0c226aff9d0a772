#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every C source and header follows .clang-format (clang-format 14).
Prints TAP; skips when clang-format is not installed."""

import os
import shutil
import subprocess
import sys

root = sys.argv[1]
tool = shutil.which("clang-format")
dirs = ["server", "plugin-api", "modules", "tests", "doc/examples"]
files = sorted(
    os.path.join(d, name)
    for top in dirs
    for d, _, names in os.walk(os.path.join(root, top))
    for name in names
    if name.endswith((".c", ".h")))
if tool is None:
    print("1..0 # SKIP clang-format is not installed")
    sys.exit(0)
print("1..%d" % len(files))
failed = 0
for i, path in enumerate(files, 1):
    res = subprocess.run([tool, "--dry-run", "--Werror", "--style=file", path],
                         capture_output=True, text=True, timeout=60, cwd=root)
    name = os.path.relpath(path, root)
    if res.returncode == 0:
        print("ok %d - %s" % (i, name))
    else:
        failed += 1
        print("not ok %d - %s (run clang-format -i %s)" % (i, name, name))
sys.exit(1 if failed else 0)
