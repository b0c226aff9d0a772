#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""IMAP QUOTA (RFC 9208) against a real postroomd: GETQUOTAROOT and
GETQUOTA with and without a quota (set with `postroomctl user set
--quota`), the usage in KiB after APPEND, SETQUOTA refused, APPEND and
COPY over the quota refused with [OVERQUOTA] and nothing stored, MOVE and
delivery never refused (VPOP3's rule). Runs on SQLite, or on PostgreSQL
with --store postgresql."""

import os
import re

from imaptest import PASSWORD, ImapTestCase, parse_status, run_tests


def sized_message(tag, size):
    """A message of exactly @size octets (CRLF line ends)."""
    head = ("From: tester@example.org\r\nTo: someone@example.com\r\n"
            "Subject: %s\r\n\r\n" % tag).encode()
    body_len = size - len(head) - 2
    assert body_len > 0
    body = (b"x" * 70 + b"\r\n") * (body_len // 72)
    body += b"y" * (body_len - len(body))
    msg = head + body + b"\r\n"
    assert len(msg) == size, len(msg)
    return msg


def quota_line(untagged):
    """(used KiB, limit KiB) of the one `* QUOTA "" (STORAGE u l)` line."""
    lines = [l for l in untagged if l.startswith("* QUOTA ")]
    assert len(lines) == 1, untagged
    m = re.fullmatch(r'\* QUOTA "" \(STORAGE (\d+) (\d+)\)', lines[0])
    assert m, lines[0]
    return int(m.group(1)), int(m.group(2))


class Quota(ImapTestCase):
    users = {"quinn": PASSWORD, "nora": PASSWORD, "otto": PASSWORD, "pia": PASSWORD,
             "rex": PASSWORD, "sven": PASSWORD, "tara": PASSWORD}

    def set_quota(self, user, size):
        self.server.ctl("user", "set", user, "--quota", str(size))

    def login(self, user):
        c = self.connect()
        c.login(user)
        return c

    def append(self, c, folder, message):
        """APPEND through a synchronising literal; the tagged line."""
        tag = c.tag()
        c.send("%s APPEND %s {%d}\r\n" % (tag, folder, len(message)))
        line = c.readline()
        self.assertTrue(line.startswith("+"), line)
        c.send(message + b"\r\n")
        _, done = c.read_response(tag)
        return done

    def getquota(self, c):
        untagged, done = c.command('GETQUOTA ""')
        self.assertRegex(done, r"^t\d+ OK ")
        return quota_line(untagged)

    def messages(self, c, folder):
        untagged, done = c.command("STATUS %s (MESSAGES)" % folder)
        self.assertRegex(done, r"^t\d+ OK ")
        return parse_status(untagged[0])["MESSAGES"]

    def search(self, c, subject):
        """UIDs of the selected mailbox's messages with @subject (after a
        NOOP has shown the session what was delivered)."""
        c.command("NOOP")
        untagged, done = c.command('UID SEARCH SUBJECT "%s"' % subject)
        self.assertRegex(done, r"^t\d+ OK ")
        found = [l for l in untagged if l.startswith("* SEARCH")]
        self.assertEqual(len(found), 1, untagged)
        return found[0].split()[2:]

    def spool_files(self):
        spool = os.path.join(self.server.data_dir, "spool")
        return sum(len(files) for _, _, files in os.walk(spool))

    def test_capability(self):
        c = self.connect()
        for caps in (c.greeting, c.command("CAPABILITY")[0][0]):
            self.assertIn(" QUOTA ", caps + " ")
            self.assertIn(" QUOTA=RES-STORAGE", caps)
            # SETQUOTA is refused: QUOTASET must not be offered.
            self.assertNotIn("QUOTASET", caps)

    def test_without_quota(self):
        c = self.login("nora")
        untagged, done = c.command("GETQUOTAROOT INBOX")
        self.assertEqual(untagged, ["* QUOTAROOT INBOX"])
        self.assertEqual(done, "t2 OK GETQUOTAROOT completed")
        # The user has no quota root at all.
        untagged, done = c.command('GETQUOTA ""')
        self.assertEqual(untagged, [])
        self.assertEqual(done, "t3 NO [NONEXISTENT] No such quota root")
        untagged, done = c.command("GETQUOTAROOT nosuchbox")
        self.assertEqual(untagged, [])
        self.assertEqual(done, "t4 NO [NONEXISTENT] No such mailbox")
        # No quota: APPEND of any size is stored.
        self.assertRegex(self.append(c, "INBOX", sized_message("big", 50000)),
                         r"^t\d+ OK \[APPENDUID ")
        _, done = c.command("GETQUOTAROOT")
        self.assertRegex(done, r"^t\d+ BAD ")

    def test_values_after_append(self):
        self.set_quota("quinn", "100K")
        c = self.login("quinn")
        self.assertEqual(self.getquota(c), (0, 100))
        untagged, done = c.command("GETQUOTAROOT INBOX")
        self.assertEqual(untagged[0], '* QUOTAROOT INBOX ""')
        self.assertEqual(quota_line(untagged), (0, 100))
        self.assertEqual(len(untagged), 2)
        self.assertEqual(done, "t3 OK GETQUOTAROOT completed")
        # KiB rounded down, as Dovecot counts them.
        self.assertRegex(self.append(c, "INBOX", sized_message("one", 5000)), r"OK \[APPENDUID ")
        self.assertEqual(self.getquota(c), (4, 100))
        self.assertRegex(self.append(c, "Drafts", sized_message("two", 5000)), r"OK \[APPENDUID ")
        self.assertEqual(self.getquota(c), (9, 100))
        # Every folder of the user shares the one root "".
        untagged, _ = c.command("GETQUOTAROOT Drafts")
        self.assertEqual(untagged, ['* QUOTAROOT Drafts ""', '* QUOTA "" (STORAGE 9 100)'])
        # Only "" exists.
        untagged, done = c.command('GETQUOTA "INBOX"')
        self.assertEqual(untagged, [])
        self.assertRegex(done, r"^t\d+ NO \[NONEXISTENT\] ")
        # The administrator changes the quota: the next GETQUOTA sees it.
        self.set_quota("quinn", "1M")
        self.assertEqual(self.getquota(c), (9, 1024))

    def test_setquota_refused(self):
        self.set_quota("rex", "50K")
        c = self.login("rex")
        untagged, done = c.command('SETQUOTA "" (STORAGE 999999)')
        self.assertEqual(untagged, [])
        self.assertEqual(done, "t2 NO [NOPERM] Quotas are set by the administrator")
        self.assertEqual(self.getquota(c), (0, 50))
        _, done = c.command('SETQUOTA ""')
        self.assertRegex(done, r"^t\d+ BAD ")
        # Not before LOGIN.
        c2 = self.connect()
        _, done = c2.command('GETQUOTA ""')
        self.assertEqual(done, "t1 BAD Command not valid in this state")

    def test_append_over_quota(self):
        self.set_quota("otto", 10000)
        c = self.login("otto")
        self.assertRegex(self.append(c, "INBOX", sized_message("a", 6000)), r"OK \[APPENDUID ")
        spooled = self.spool_files()
        done = self.append(c, "INBOX", sized_message("b", 6000))
        self.assertRegex(done, r"^t\d+ NO \[OVERQUOTA\] ")
        # Nothing stored: no message, no usage, no spool file left behind.
        self.assertEqual(self.messages(c, "INBOX"), 1)
        self.assertEqual(self.getquota(c), (5, 9))
        self.assertEqual(self.spool_files(), spooled)
        # Up to the quota exactly is allowed; one octet more is not.
        self.assertRegex(self.append(c, "Sent", sized_message("c", 4000)), r"OK \[APPENDUID ")
        self.assertEqual(self.getquota(c), (9, 9))
        done = self.append(c, "Sent", b"x")
        self.assertRegex(done, r"^t\d+ NO \[OVERQUOTA\] ")
        self.assertEqual(self.messages(c, "Sent"), 1)
        # Freeing space (EXPUNGE) lets APPEND in again.
        c.command("SELECT INBOX")
        c.command("STORE 1 +FLAGS.SILENT (\\Deleted)")
        _, done = c.command("EXPUNGE")
        self.assertRegex(done, r"^t\d+ OK ")
        self.assertEqual(self.getquota(c), (3, 9))
        self.assertRegex(self.append(c, "INBOX", sized_message("d", 5000)), r"OK \[APPENDUID ")

    def test_copy_over_quota_move_allowed(self):
        self.set_quota("pia", 15000)
        c = self.login("pia")
        self.assertRegex(self.append(c, "INBOX", sized_message("x", 6000)), r"OK \[APPENDUID ")
        c.command("SELECT INBOX")
        _, done = c.command("COPY 1 Drafts")
        self.assertRegex(done, r"^t\d+ OK \[COPYUID ")
        self.assertEqual(self.getquota(c), (11, 14))
        # A second copy would hold 18000 octets.
        _, done = c.command("COPY 1 Drafts")
        self.assertRegex(done, r"^t\d+ NO \[OVERQUOTA\] ")
        _, done = c.command("UID COPY 1:* Trash")
        self.assertRegex(done, r"^t\d+ NO \[OVERQUOTA\] ")
        self.assertEqual(self.messages(c, "Drafts"), 1)
        self.assertEqual(self.messages(c, "Trash"), 0)
        self.assertEqual(self.getquota(c), (11, 14))
        # A delivery takes the mailbox over the quota: it is still stored
        # (quotas never refuse incoming mail; the user gets an alert too).
        self.server.deliver("pia", sized_message("arrived-one", 8000))
        c.command("SELECT INBOX")
        uids = self.search(c, "arrived-one")
        self.assertEqual(len(uids), 1)
        used, limit = self.getquota(c)
        self.assertGreater(used, limit)
        # Over the quota, MOVE adds nothing and still works: the user can
        # tidy up; APPEND and COPY cannot.
        _, done = c.command("UID MOVE %s Trash" % uids[0])
        self.assertRegex(done, r"^t\d+ OK ")
        self.assertEqual(self.search(c, "arrived-one"), [])
        self.assertEqual(self.messages(c, "Trash"), 1)
        self.assertEqual(self.getquota(c), (used, limit))
        done = self.append(c, "INBOX", b"Subject: tiny\r\n\r\nx\r\n")
        self.assertRegex(done, r"^t\d+ NO \[OVERQUOTA\] ")
        self.assertEqual(self.search(c, "tiny"), [])
        # And a further delivery is still stored.
        self.server.deliver("pia", sized_message("arrived-two", 3000))
        self.assertEqual(len(self.search(c, "arrived-two")), 1)
        self.assertGreater(self.getquota(c)[0], used)
    def test_shared_folder_counts_to_owner(self):
        self.set_quota("sven", 10000)
        owner = self.login("sven")
        _, done = owner.command("CREATE Box")
        self.assertRegex(done, r"^t\d+ OK ")
        _, done = owner.command("SETACL Box tara lrswi")
        self.assertRegex(done, r"^t\d+ OK ")
        c = self.login("tara")
        # Another user's folder shows no quota root of the user's own.
        untagged, done = c.command('GETQUOTAROOT "#users/sven/Box"')
        self.assertEqual(len(untagged), 1, untagged)
        self.assertRegex(untagged[0], r'^\* QUOTAROOT "?#users/sven/Box"?$')
        self.assertEqual(done, "t2 OK GETQUOTAROOT completed")
        # What tara puts there counts to sven's quota, and stops at it.
        self.assertRegex(self.append(c, '"#users/sven/Box"', sized_message("s1", 6000)),
                         r"OK \[APPENDUID ")
        self.assertEqual(self.getquota(owner), (5, 9))
        done = self.append(c, '"#users/sven/Box"', sized_message("s2", 6000))
        self.assertRegex(done, r"^t\d+ NO \[OVERQUOTA\] ")
        # So does a COPY from her own INBOX (she has no quota herself).
        self.assertRegex(self.append(c, "INBOX", sized_message("s3", 6000)),
                         r"OK \[APPENDUID ")
        c.command("SELECT INBOX")
        _, done = c.command('COPY 1 "#users/sven/Box"')
        self.assertRegex(done, r"^t\d+ NO \[OVERQUOTA\] ")
        self.assertEqual(self.messages(owner, "Box"), 1)
        self.assertEqual(self.getquota(owner), (5, 9))


if __name__ == "__main__":
    run_tests()
