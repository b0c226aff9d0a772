#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared folders and ACLs (RFC 4314) over IMAP against a real postroomd:
alice owns folders, bob (and carol) see them under "#users/alice/" only as
far as alice's ACL lets them: LIST visibility, SELECT READ-ONLY, STORE
that ignores the flags a right is missing for, APPEND/COPY needing "i",
EXPUNGE "e", MOVE "te", CREATE "k", DELETE "x", the ACL commands and their
errors, "anyone", two sessions on one shared folder, and rights granted
with `postroomctl folder acl set`. Runs on SQLite, or on PostgreSQL with
--store postgresql."""

import re

from imaptest import ImapTestCase, PASSWORD, crlf, make_message, run_tests

ALL = "lrswipkxtea"


def listed_names(lines, verb="LIST"):
    """{name: attributes} from LIST/LSUB lines."""
    out = {}
    for line in lines:
        m = re.match(r'^\* %s \(([^)]*)\) "/" (.*)$' % verb, line)
        if m:
            out[m.group(2).strip('"')] = m.group(1).split()
    return out


class Acl(ImapTestCase):
    # dave and erin are granted nothing but in test_visible_only_with_lookup.
    users = {"alice": PASSWORD, "bob": PASSWORD, "carol": PASSWORD, "dave": PASSWORD,
             "erin": PASSWORD}

    def setUp(self):
        super().setUp()
        # Each test has its own folder of alice's: "F<test name>".
        self.folder = "F" + self._testMethodName.replace("test_", "").replace("_", "")
        self.shared = "#users/alice/" + self.folder
        self.alice = self.login("alice")
        _, done = self.alice.command("CREATE " + self.folder)
        self.assertIn(" OK ", done)

    def login(self, user):
        c = self.connect()
        c.login(user)
        return c

    def ok(self, client, command):
        untagged, done = client.command(command)
        self.assertRegex(done, r"^t\d+ OK ", (command, untagged, done))
        return untagged

    def no(self, client, command, code):
        untagged, done = client.command(command)
        self.assertRegex(done, r"^t\d+ NO \[%s\] " % re.escape(code), (command, untagged))
        return untagged

    def bad(self, client, command):
        _, done = client.command(command)
        self.assertRegex(done, r"^t\d+ BAD ", command)

    def append(self, client, folder, tag, flags=""):
        msg = crlf(make_message(tag))
        t = client.tag()
        client.send("%s APPEND %s %s{%d+}\r\n" % (t, folder, "(%s) " % flags if flags else "",
                                                 len(msg)))
        client.send(msg + b"\r\n")
        return client.read_response(t)

    def grant(self, identifier, rights, folder=None):
        self.ok(self.alice, "SETACL %s %s %s" % (folder or self.folder, identifier,
                                                  rights if rights else '""'))

    def flags_of(self, client, seq="1"):
        untagged = self.ok(client, "FETCH %s (FLAGS)" % seq)
        m = re.search(r"FLAGS \(([^)]*)\)", " ".join(untagged))
        self.assertIsNotNone(m, untagged)
        return set(m.group(1).split()) - {"\\Recent"}

    # ---- capability, namespace ----

    def test_capability_and_namespace(self):
        caps = self.ok(self.alice, "CAPABILITY")[0].split()
        self.assertIn("ACL", caps)
        self.assertIn("RIGHTS=texk", caps)
        self.assertEqual(self.ok(self.alice, "NAMESPACE"),
                         ['* NAMESPACE (("" "/")) (("#users/" "/")) NIL'])

    # ---- visibility ----

    def test_visible_only_with_lookup(self):
        dave = self.login("dave")
        self.assertEqual([n for n in listed_names(self.ok(dave, 'LIST "" "*"'))
                          if n.startswith("#users")], [])
        self.no(dave, "SELECT " + self.shared, "NONEXISTENT")
        self.no(dave, "STATUS %s (MESSAGES)" % self.shared, "NONEXISTENT")
        self.no(dave, "MYRIGHTS " + self.shared, "NONEXISTENT")
        self.no(dave, "GETACL " + self.shared, "NONEXISTENT")
        self.grant("dave", "l")
        everything = listed_names(self.ok(dave, 'LIST "" "*"'))
        self.assertEqual(everything[self.shared], ["\\HasNoChildren"])
        self.assertIn("\\Noselect", everything["#users"])
        self.assertIn("\\Noselect", everything["#users/alice"])
        # Dave's own folders are there as before.
        self.assertIn("INBOX", everything)
        top = listed_names(self.ok(dave, 'LIST "" "%"'))
        self.assertEqual(top["#users"], ["\\Noselect", "\\HasChildren"])
        self.assertNotIn("#users/alice", top)
        owners = listed_names(self.ok(dave, 'LIST "" "#users/%"'))
        self.assertEqual(owners, {"#users/alice": ["\\Noselect", "\\HasChildren"]})
        below = listed_names(self.ok(dave, 'LIST "#users/alice/" "%"'))
        self.assertEqual(list(below), [self.shared])
        # Lookup alone does not let him read it.
        self.assertEqual(self.ok(dave, "MYRIGHTS " + self.shared),
                         ["* MYRIGHTS %s l" % self.shared])
        self.no(dave, "SELECT " + self.shared, "NOPERM")
        self.no(dave, "STATUS %s (MESSAGES)" % self.shared, "NOPERM")
        # Erin still sees nothing.
        erin = self.login("erin")
        self.assertEqual([n for n in listed_names(self.ok(erin, 'LIST "" "*"'))
                          if n.startswith("#users")], [])

    def test_revoking_lookup_hides_again(self):
        bob = self.login("bob")
        self.grant("bob", "lr")
        self.assertIn(self.shared, listed_names(self.ok(bob, 'LIST "" "*"')))
        self.grant("bob", "-l")
        self.assertNotIn(self.shared, listed_names(self.ok(bob, 'LIST "" "*"')))
        self.ok(self.alice, "DELETEACL %s bob" % self.folder)
        self.assertEqual(self.ok(self.alice, "GETACL " + self.folder),
                         ["* ACL %s alice %s" % (self.folder, ALL)])
        self.no(bob, "SELECT " + self.shared, "NONEXISTENT")
        self.no(bob, "MYRIGHTS " + self.shared, "NONEXISTENT")

    def test_anyone(self):
        self.grant("anyone", "lr")
        # Others' tests count on seeing no folder of alice's.
        self.addCleanup(self.alice.command, "DELETEACL %s anyone" % self.folder)
        self.grant("bob", "s")
        carol = self.login("carol")
        self.assertIn(self.shared, listed_names(self.ok(carol, 'LIST "" "*"')))
        self.assertEqual(self.ok(carol, "MYRIGHTS " + self.shared),
                         ["* MYRIGHTS %s lr" % self.shared])
        bob = self.login("bob")
        # The union of his own entry and anyone's.
        self.assertEqual(self.ok(bob, "MYRIGHTS " + self.shared),
                         ["* MYRIGHTS %s lrs" % self.shared])
        self.assertEqual(self.ok(self.alice, "GETACL " + self.folder),
                         ["* ACL %s alice %s anyone lr bob s" % (self.folder, ALL)])

    # ---- reading and flags ----

    def test_read_only_with_lookup_and_read(self):
        self.append(self.alice, self.folder, "shared-read")
        self.grant("bob", "lr")
        bob = self.login("bob")
        untagged, done = bob.command("SELECT " + self.shared)
        self.assertRegex(done, r"^t\d+ OK \[READ-ONLY\] ")
        self.assertIn("* 1 EXISTS", untagged)
        self.assertIn("* OK [PERMANENTFLAGS ()] Read-only mailbox", untagged)
        body = self.ok(bob, "FETCH 1 BODY[]")
        self.assertIn("Message-ID: <shared-read@test.example>", "\n".join(body))
        # Reading without "s" does not mark it \Seen, for nobody.
        self.assertEqual(self.flags_of(bob), set())
        self.no(bob, "STORE 1 +FLAGS (\\Seen)", "READ-ONLY")
        self.no(bob, "EXPUNGE", "NOPERM")
        self.ok(self.alice, "SELECT " + self.folder)
        self.assertEqual(self.flags_of(self.alice), set())
        # STATUS works with "r".
        status = self.ok(bob, "STATUS %s (MESSAGES)" % self.shared)
        self.assertEqual(status, ["* STATUS %s (MESSAGES 1)" % self.shared])
        # EXAMINE too.
        _, done = bob.command("EXAMINE " + self.shared)
        self.assertRegex(done, r"^t\d+ OK \[READ-ONLY\] ")

    def test_store_without_seen_right_changes_nothing(self):
        self.append(self.alice, self.folder, "shared-store")
        self.grant("bob", "lrw")
        bob = self.login("bob")
        untagged, done = bob.command("SELECT " + self.shared)
        self.assertRegex(done, r"^t\d+ OK \[READ-WRITE\] ")
        perm = [line for line in untagged if "PERMANENTFLAGS" in line][0]
        self.assertEqual(perm, "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Draft \\*)] "
                         "Flags permitted")
        answer = self.ok(bob, "STORE 1 +FLAGS (\\Seen \\Flagged)")
        # The answer shows what really happened: \Flagged only.
        self.assertEqual(len(answer), 1, answer)
        self.assertRegex(answer[0], r"^\* 1 FETCH \(FLAGS \(\\Flagged( \\Recent)?\)\)$")
        self.assertEqual(self.flags_of(bob), {"\\Flagged"})
        # A body fetch without "s" leaves \Seen alone, and does not say
        # otherwise.
        answer = self.ok(bob, "FETCH 1 BODY[TEXT]")
        self.assertNotIn("\\Seen", " ".join(answer))
        self.assertEqual(self.flags_of(bob), {"\\Flagged"})
        self.ok(self.alice, "SELECT " + self.folder)
        self.assertEqual(self.flags_of(self.alice), {"\\Flagged"})
        # With "s" \Seen sticks; FLAGS (replace) leaves \Flagged without "w".
        self.grant("bob", "lrs")
        self.ok(bob, "SELECT " + self.shared)
        answer = self.ok(bob, "STORE 1 FLAGS (\\Seen)")
        self.assertRegex(answer[0], r"^\* 1 FETCH \(FLAGS \((.*)\)\)$")
        flags = set(re.search(r"FLAGS \(([^)]*)\)", answer[0]).group(1).split()) - {"\\Recent"}
        self.assertEqual(flags, {"\\Seen", "\\Flagged"})
        self.ok(self.alice, "NOOP")
        self.assertEqual(self.flags_of(self.alice), {"\\Seen", "\\Flagged"})

    # ---- changes ----

    def test_append_needs_insert(self):
        self.grant("bob", "lr")
        bob = self.login("bob")
        _, done = self.append(bob, self.shared, "shared-append-1")
        self.assertRegex(done, r"^t\d+ NO \[NOPERM\] ")
        self.grant("bob", "lri")
        _, done = self.append(bob, self.shared, "shared-append-2")
        self.assertRegex(done, r"^t\d+ OK \[APPENDUID \d+ 1\] ")
        status = self.ok(self.alice, "STATUS %s (MESSAGES)" % self.folder)
        self.assertEqual(status, ["* STATUS %s (MESSAGES 1)" % self.folder])
        # COPY into it needs "i" too.
        self.append(bob, "INBOX", "bob-own")
        self.ok(bob, "SELECT INBOX")
        self.grant("bob", "lr")
        self.no(bob, "COPY 1 " + self.shared, "NOPERM")
        self.grant("bob", "lri")
        _, done = bob.command("COPY 1 " + self.shared)
        self.assertRegex(done, r"^t\d+ OK \[COPYUID ")
        status = self.ok(self.alice, "STATUS %s (MESSAGES)" % self.folder)
        self.assertEqual(status, ["* STATUS %s (MESSAGES 2)" % self.folder])

    def test_expunge_needs_expunge_right(self):
        self.append(self.alice, self.folder, "shared-exp-1")
        self.append(self.alice, self.folder, "shared-exp-2")
        self.grant("bob", "lrt")
        bob = self.login("bob")
        untagged, done = bob.command("SELECT " + self.shared)
        self.assertRegex(done, r"^t\d+ OK \[READ-WRITE\] ")
        perm = [line for line in untagged if "PERMANENTFLAGS" in line][0]
        self.assertEqual(perm, "* OK [PERMANENTFLAGS (\\Deleted)] Flags permitted")
        self.ok(bob, "STORE 1 +FLAGS.SILENT (\\Deleted)")
        self.assertEqual(self.flags_of(bob), {"\\Deleted"})
        self.no(bob, "EXPUNGE", "NOPERM")
        self.no(bob, "UID EXPUNGE 1:*", "NOPERM")
        # MOVE out of it needs "te".
        self.no(bob, "MOVE 2 INBOX", "NOPERM")
        # CLOSE without "e" expunges nothing, silently.
        self.ok(bob, "CLOSE")
        status = self.ok(self.alice, "STATUS %s (MESSAGES)" % self.folder)
        self.assertEqual(status, ["* STATUS %s (MESSAGES 2)" % self.folder])
        self.grant("bob", "lrte")
        inbox = self.ok(bob, "STATUS INBOX (MESSAGES)")[0]
        before = int(re.search(r"MESSAGES (\d+)", inbox).group(1))
        self.ok(bob, "SELECT " + self.shared)
        untagged = self.ok(bob, "EXPUNGE")
        self.assertIn("* 1 EXPUNGE", untagged)
        untagged, done = bob.command("MOVE 1 INBOX")
        self.assertRegex(done, r"^t\d+ OK ")
        self.assertIn("* 1 EXPUNGE", untagged)
        status = self.ok(self.alice, "STATUS %s (MESSAGES)" % self.folder)
        self.assertEqual(status, ["* STATUS %s (MESSAGES 0)" % self.folder])
        status = self.ok(bob, "STATUS INBOX (MESSAGES)")
        self.assertEqual(status, ["* STATUS INBOX (MESSAGES %d)" % (before + 1)])

    def test_create_and_delete_rights(self):
        self.grant("bob", "lr")
        bob = self.login("bob")
        self.no(bob, "CREATE %s/Sub" % self.shared, "NOPERM")
        self.grant("bob", "lrk")
        self.ok(bob, "CREATE %s/Sub" % self.shared)
        self.assertIn(self.folder + "/Sub", listed_names(self.ok(self.alice, 'LIST "" "*"')))
        self.no(bob, "DELETE " + self.shared, "NOPERM")

    # ---- the ACL commands ----

    def test_acl_commands(self):
        f = self.folder
        self.assertEqual(self.ok(self.alice, "MYRIGHTS " + f), ["* MYRIGHTS %s %s" % (f, ALL)])
        self.assertEqual(self.ok(self.alice, "GETACL " + f), ["* ACL %s alice %s" % (f, ALL)])
        self.grant("bob", "lr")
        self.assertEqual(self.ok(self.alice, "GETACL " + f),
                         ["* ACL %s alice %s bob lr" % (f, ALL)])
        self.grant("bob", "+s")
        self.grant("bob", "-r")
        self.assertEqual(self.ok(self.alice, "GETACL " + f),
                         ["* ACL %s alice %s bob ls" % (f, ALL)])
        # The obsolete "d" of RFC 2086 is "xte" (RFC 4314 §2.1.1).
        self.grant("bob", "lrd")
        self.assertEqual(self.ok(self.alice, "GETACL " + f),
                         ["* ACL %s alice %s bob lrxte" % (f, ALL)])
        self.assertEqual(self.ok(self.alice, "LISTRIGHTS %s bob" % f),
                         ['* LISTRIGHTS %s bob "" l r s w i p k x t e a' % f])
        self.assertEqual(self.ok(self.alice, "LISTRIGHTS %s alice" % f),
                         ["* LISTRIGHTS %s alice %s" % (f, ALL)])
        # Syntax errors.
        self.bad(self.alice, "SETACL %s bob" % f)
        self.bad(self.alice, "SETACL %s bob lrz" % f)
        self.bad(self.alice, "SETACL %s bob +-l" % f)
        self.bad(self.alice, "GETACL")
        self.bad(self.alice, "MYRIGHTS %s extra" % f)
        self.bad(self.alice, "LISTRIGHTS %s" % f)
        self.bad(self.alice, "DELETEACL %s" % f)
        # An unknown identifier, the owner's own rights.
        _, done = self.alice.command("SETACL %s nosuchuser lr" % f)
        self.assertRegex(done, r"^t\d+ NO ")
        _, done = self.alice.command("SETACL %s alice lr" % f)
        self.assertRegex(done, r"^t\d+ NO ")
        self.assertEqual(self.ok(self.alice, "GETACL " + f),
                         ["* ACL %s alice %s bob lrxte" % (f, ALL)])
        # No such folder.
        self.no(self.alice, "GETACL NoSuchFolder", "NONEXISTENT")
        self.no(self.alice, "SETACL NoSuchFolder bob l", "NONEXISTENT")
        self.no(self.alice, "MYRIGHTS NoSuchFolder", "NONEXISTENT")
        # Bob without "a" may look but not administer.
        bob = self.login("bob")
        self.no(bob, "GETACL " + self.shared, "NOPERM")
        self.no(bob, "SETACL %s bob %s" % (self.shared, ALL), "NOPERM")
        self.no(bob, "DELETEACL %s bob" % self.shared, "NOPERM")
        self.no(bob, "LISTRIGHTS %s bob" % self.shared, "NOPERM")
        self.assertEqual(self.ok(bob, "MYRIGHTS " + self.shared),
                         ["* MYRIGHTS %s lrxte" % self.shared])
        # With "a" he administers it: the answers name the folder his way.
        self.grant("bob", "lra")
        self.assertEqual(self.ok(bob, "GETACL " + self.shared),
                         ["* ACL %s alice %s bob lra" % (self.shared, ALL)])
        self.assertEqual(self.ok(bob, "LISTRIGHTS %s alice" % self.shared),
                         ["* LISTRIGHTS %s alice %s" % (self.shared, ALL)])
        self.ok(bob, "SETACL %s carol lr" % self.shared)
        carol = self.login("carol")
        self.assertEqual(self.ok(carol, "MYRIGHTS " + self.shared),
                         ["* MYRIGHTS %s lr" % self.shared])
        self.ok(bob, "DELETEACL %s carol" % self.shared)
        self.no(carol, "MYRIGHTS " + self.shared, "NONEXISTENT")
        # Not before login.
        anon = self.connect()
        _, done = anon.command("MYRIGHTS INBOX")
        self.assertRegex(done, r"^t\d+ BAD ")

    # ---- two sessions ----

    def test_two_sessions_see_each_other(self):
        self.grant("bob", "lrswi")
        bob = self.login("bob")
        self.ok(self.alice, "SELECT " + self.folder)
        untagged, done = bob.command("SELECT " + self.shared)
        self.assertRegex(done, r"^t\d+ OK \[READ-WRITE\] ")
        self.assertIn("* 0 EXISTS", untagged)
        _, done = self.append(bob, self.shared, "from-bob")
        self.assertRegex(done, r"^t\d+ OK ")
        self.assertIn("* 1 EXISTS", self.ok(self.alice, "NOOP"))
        self.ok(self.alice, "STORE 1 +FLAGS.SILENT (\\Flagged)")
        updates = self.ok(bob, "NOOP")
        self.assertTrue(any(re.match(r"^\* 1 FETCH \(FLAGS \(.*\\Flagged.*\)", line)
                            for line in updates), updates)
        self.ok(bob, "STORE 1 +FLAGS.SILENT (\\Seen)")
        updates = self.ok(self.alice, "NOOP")
        self.assertTrue(any(re.match(r"^\* 1 FETCH \(FLAGS \(.*\\Seen.*\)", line)
                            for line in updates), updates)

    def test_shared_inbox_and_subscribe(self):
        self.append(self.alice, "INBOX", "alice-inbox")
        self.grant("bob", "lr", folder="INBOX")
        bob = self.login("bob")
        self.assertIn("#users/alice/INBOX", listed_names(self.ok(bob, 'LIST "" "*"')))
        untagged, done = bob.command("EXAMINE #users/alice/INBOX")
        self.assertRegex(done, r"^t\d+ OK \[READ-ONLY\] ")
        self.assertIn("* 1 EXISTS", untagged)
        self.grant("bob", "l")
        alice_before = self.ok(self.alice, 'LSUB "" "*"')
        self.ok(bob, "SUBSCRIBE " + self.shared)
        self.assertIn(self.shared, listed_names(self.ok(bob, 'LSUB "" "*"'), "LSUB"))
        # Alice's own subscriptions are hers.
        self.assertEqual(self.ok(self.alice, 'LSUB "" "*"'), alice_before)
        self.ok(bob, "UNSUBSCRIBE " + self.shared)
        self.assertNotIn(self.shared, listed_names(self.ok(bob, 'LSUB "" "*"'), "LSUB"))
        self.ok(self.alice, "DELETEACL INBOX bob")

    # ---- postroomctl ----

    def test_postroomctl_grant(self):
        self.append(self.alice, self.folder, "ctl-granted")
        bob = self.login("bob")
        self.no(bob, "EXAMINE " + self.shared, "NONEXISTENT")
        self.server.ctl("folder", "acl", "set", "alice", self.folder, "bob", "lrs")
        untagged, done = bob.command("SELECT " + self.shared)
        self.assertRegex(done, r"^t\d+ OK \[READ-WRITE\] ")
        self.assertIn("* 1 EXISTS", untagged)
        self.assertEqual(self.ok(bob, "MYRIGHTS " + self.shared),
                         ["* MYRIGHTS %s lrs" % self.shared])
        self.ok(bob, "STORE 1 +FLAGS.SILENT (\\Seen \\Flagged)")
        self.assertEqual(self.flags_of(bob), {"\\Seen"})
        self.assertEqual(self.ok(self.alice, "GETACL " + self.folder),
                         ["* ACL %s alice %s bob lrs" % (self.folder, ALL)])
        self.server.ctl("folder", "acl", "delete", "alice", self.folder, "bob")
        self.no(bob, "MYRIGHTS " + self.shared, "NONEXISTENT")


if __name__ == "__main__":
    run_tests()
