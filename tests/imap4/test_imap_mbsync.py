#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""mbsync (isync), a strict IMAP client that keeps a Maildir in step with
the server both ways, against a real postroomd: a first pull of every
folder, then flags, deletions, new messages and a new folder made on
either side, each carried over by the next sync, and a last sync that must
find nothing to do. Over STARTTLS with the certificate checked. Runs on
SQLite, or on PostgreSQL with --store postgresql."""

import os
import shutil
import subprocess
import tempfile

from imaptest import (
    HOST, PASSWORD, TOOL_TIMEOUT, ImapTestCase, crlf, make_message, run_tests)
import postroomtest

USER = "mia"
COUNT = 12


class Mbsync(ImapTestCase):
    users = {USER: PASSWORD}
    tls = True

    def setUp(self):
        self.assertIsNotNone(shutil.which("mbsync"),
                             "mbsync is not installed: run scripts/install-deps.sh")
        self.dir = tempfile.mkdtemp(prefix="postroom-mbsync-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.maildir = os.path.join(self.dir, "mail")
        os.mkdir(self.maildir)
        cert, _ = postroomtest.certificate()
        pass_file = os.path.join(self.dir, "pass")
        with open(pass_file, "w") as f:
            f.write(PASSWORD)
        self.rc = os.path.join(self.dir, "mbsyncrc")
        with open(self.rc, "w") as f:
            f.write("IMAPAccount pr\n"
                    "Host %s\nPort %d\nUser %s\n"
                    "PassCmd \"cat %s\"\n"
                    "SSLType STARTTLS\nCertificateFile %s\n\n"
                    "IMAPStore far\nAccount pr\n\n"
                    "MaildirStore near\nPath %s/\nInbox %s/INBOX\nSubFolders Verbatim\n\n"
                    "Channel pr\nFar :far:\nNear :near:\nPatterns *\n"
                    "Create Both\nRemove None\nExpunge Both\nSyncState *\n" % (
                        HOST, self.server.port, USER, pass_file, cert, self.maildir,
                        self.maildir))

    def sync(self):
        """Runs mbsync; returns its output. Fails on any error or warning."""
        res = subprocess.run(["mbsync", "-c", self.rc, "-V", "pr"], capture_output=True,
                             timeout=TOOL_TIMEOUT * 4)
        out = (res.stdout + res.stderr).decode(errors="replace")
        self.assertEqual(res.returncode, 0, out + self.server.log_tail())
        for bad in ("Error", "Warning", "IMAP error", "unexpected"):
            self.assertNotIn(bad, out, out)
        return out

    def near(self, folder="INBOX"):
        """{file name without flags: (flags, bytes)} of a local folder."""
        out = {}
        for sub in ("new", "cur"):
            d = os.path.join(self.maildir, folder, sub)
            for name in os.listdir(d) if os.path.isdir(d) else ():
                base, _, info = name.partition(":2,")
                with open(os.path.join(d, name), "rb") as f:
                    out[base] = (info, f.read(), os.path.join(d, name))
        return out

    def far_tags(self, m, folder="INBOX", criterion="ALL"):
        self.assertOk(m.select(folder))
        data = self.assertOk(m.uid("SEARCH", None, criterion))
        uids = data[0].split()
        tags = set()
        for uid in uids:
            data = self.assertOk(m.uid("FETCH", uid, "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
            tags.add(data[0][1].decode().split(":", 1)[1].strip())
        return tags

    def test_two_way_sync(self):
        for i in range(COUNT):
            self.server.deliver(USER, make_message("mb-%d" % i, body=b"Body %d.\n" % i))

        # The first pull: every folder, every message byte for byte.
        self.sync()
        near = self.near()
        self.assertEqual(len(near), COUNT)
        for i in range(COUNT):
            self.assertEqual(sum(b"\n\nBody %d.\n" % i in v[1] for v in near.values()),
                             1, i)
        for folder in ("Drafts", "Sent", "Trash", "Junk"):
            self.assertTrue(os.path.isdir(os.path.join(self.maildir, folder, "cur")), folder)

        # Near side: two messages read, one deleted, one new, a new folder.
        files = sorted(near.values(), key=lambda v: v[2])
        for info, data, path in files[:2]:
            os.rename(path, path.replace("/new/", "/cur/").split(":2,")[0] + ":2,S")
        os.unlink(files[2][2])
        deleted_tag = [l for l in files[2][1].split(b"\n") if l.startswith(b"Subject:")][0]
        deleted_tag = deleted_tag.split(b":", 1)[1].strip().decode()
        with open(os.path.join(self.maildir, "INBOX", "new", "1.near"), "wb") as f:
            f.write(crlf(make_message("near-new")))
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(self.maildir, "Projects", sub))
        with open(os.path.join(self.maildir, "Projects", "new", "2.near"), "wb") as f:
            f.write(crlf(make_message("near-project")))
        self.sync()

        m = self.imap(USER)
        inbox = self.far_tags(m)
        self.assertEqual(len(inbox), COUNT)
        self.assertIn("near-new", inbox)
        self.assertNotIn(deleted_tag, inbox)
        self.assertEqual(len(self.far_tags(m, criterion="SEEN")), 2)
        self.assertEqual(self.far_tags(m, "Projects"), {"near-project"})

        # Far side: one flagged, one expunged, one appended.
        self.assertOk(m.select("INBOX"))
        self.assertOk(m.store("1", "+FLAGS", "(\\Flagged)"))
        flagged = self.assertOk(m.fetch("1", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
        flagged = flagged[0][1].decode().split(":", 1)[1].strip()
        self.assertOk(m.store("2", "+FLAGS", "(\\Deleted)"))
        expunged = self.assertOk(m.fetch("2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])"))
        expunged = expunged[0][1].decode().split(":", 1)[1].strip()
        self.assertOk(m.expunge())
        self.assertOk(m.append("INBOX", None, None, crlf(make_message("far-new"))))
        self.sync()

        near = self.near()
        subjects = {}
        for info, data, _ in near.values():
            line = [l for l in data.split(b"\n") if l.startswith(b"Subject:")][0]
            subjects[line.split(b":", 1)[1].strip().decode()] = info
        self.assertEqual(len(subjects), COUNT)
        self.assertIn("far-new", subjects)
        self.assertNotIn(expunged, subjects)
        self.assertIn("F", subjects[flagged])

        # Nothing left to do: a sync changes neither side.
        before = (sorted(self.near()), self.far_tags(m))
        out = self.sync()
        self.assertEqual((sorted(self.near()), self.far_tags(m)), before)
        self.assertNotIn("Creating", out)


if __name__ == "__main__":
    run_tests()
