#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Compile catalogues into a gettext tree for uninstalled runs.

meson's custom_target() cannot name outputs in subdirectories, so this writes
LOCALEDIR/<lang>/LC_MESSAGES/<domain>.mo for every .po given and then touches
a stamp file, which is the target's declared output.
"""

import argparse
import os
import subprocess
import sys
import tempfile


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--msgfmt', required=True)
    parser.add_argument('--domain', required=True)
    parser.add_argument('--localedir', required=True)
    parser.add_argument('--stamp', required=True)
    parser.add_argument('po', nargs='+')
    args = parser.parse_args()

    for po in args.po:
        lang = os.path.splitext(os.path.basename(po))[0]
        outdir = os.path.join(args.localedir, lang, 'LC_MESSAGES')
        os.makedirs(outdir, exist_ok=True)
        target = os.path.join(outdir, args.domain + '.mo')
        # Write beside the target and rename, so a running test never reads
        # a half-written catalogue.
        fd, tmp = tempfile.mkstemp(dir=outdir, suffix='.mo.tmp')
        os.close(fd)
        try:
            subprocess.run([args.msgfmt, '-o', tmp, po], check=True)
            os.replace(tmp, target)
        except BaseException:
            os.unlink(tmp)
            raise

    with open(args.stamp, 'w', encoding='utf-8') as f:
        f.write('\n'.join(args.po) + '\n')
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except subprocess.CalledProcessError as e:
        sys.exit(e.returncode or 1)
