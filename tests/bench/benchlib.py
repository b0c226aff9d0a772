# SPDX-License-Identifier: GPL-3.0-or-later
"""What every benchmark script needs: progress lines and one time limit for
the whole run."""

import sys
import time


def make_log(name):
    """A function writing "[name] message" lines to standard error."""
    def log(msg):
        sys.stderr.write("[%s] %s\n" % (name, msg))
        sys.stderr.flush()
    return log


class Deadline:
    """The time limit of the whole run; left() raises once it has passed."""

    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self):
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError("benchmark time limit reached")
        return left
