#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-3.0-or-later
"""EXPN (RFC 5321 §3.5) with vrfy_expn=true: users, lists, nested lists
and the built-in everyone expand through the router into one mailbox per
line ("Full Name <address>" when the user has a full name); forwarding is
not followed; unknown names get 550, outside addresses 252; clients that
are not allowed get 502, as when the command is switched off."""

from smtptest import DOMAIN, PASSWORD, SmtpTestCase, run_tests

USERS = {"alice": PASSWORD, "bob": PASSWORD, "carol": PASSWORD}


def line(address, name=None, last=False):
    return "250%s2.1.5 %s<%s>" % (" " if last else "-", name + " " if name else "", address)


def local(user):
    return "%s@%s" % (user, DOMAIN)


class ExpnTestCase(SmtpTestCase):
    users = USERS

    def expn(self, c, what):
        """The lines of EXPN's reply."""
        c.cmd("EXPN " + what)
        return c.lines

    def check_expansion(self, c):
        self.assertEqual(self.expn(c, "staff"), [
            line(local("alice"), "Alice Liddell"),
            line(local("bob"), last=True),
        ])


class Expn(ExpnTestCase):
    settings = {"smtp": {"vrfy_expn": "true", "vrfy_expn_allow": "127.0.0.0/8"}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        ctl = cls.server.ctl
        ctl("user", "del", "alice")
        ctl("user", "add", "alice", "--full-name", "Alice Liddell", "--password-stdin",
            input=PASSWORD + "\n")
        # Brackets in a full name would confuse the reply: dropped.
        ctl("user", "add", "erin", "--full-name", "Erin <Example>", "--password-stdin",
            input=PASSWORD + "\n")
        ctl("user", "set", "carol", "--everyone", "no")
        # bob forwards his mail elsewhere: EXPN still names bob.
        ctl("user", "set", "bob", "--forward-to", "bob@elsewhere.org")
        ctl("list", "add", "staff", "--kind", "group")
        ctl("list", "members", "staff", "--add", "alice", "--add", "bob")
        ctl("list", "set", "staff", "--local-only", "yes")
        ctl("list", "add", "all-hands")
        ctl("list", "members", "all-hands", "--add", "staff", "--add", "erin",
            "--add", "partner@remote.org", "--add", "alice")
        ctl("list", "add", "empty")
        ctl("list", "add", "ring1")
        ctl("list", "add", "ring2")
        ctl("list", "members", "ring1", "--add", "ring2", "--add", "carol")
        ctl("list", "members", "ring2", "--add", "ring1")
        ctl("mapping", "add", "team", "staff")

    def test_list(self):
        c = self.connect()
        c.ehlo()
        self.check_expansion(c)
        self.assertEqual(self.expn(c, "<staff@%s>" % DOMAIN), self.expn(c, "staff"))
        # Through a mapping.
        self.assertEqual(self.expn(c, "team@" + DOMAIN), self.expn(c, "staff"))

    def test_nested_list(self):
        c = self.connect()
        c.ehlo()
        # Mailboxes, then outside addresses, each once (alice is a member
        # of all-hands and of staff).
        self.assertEqual(self.expn(c, "all-hands"), [
            line(local("alice"), "Alice Liddell"),
            line(local("erin"), "Erin Example"),
            line(local("bob")),
            line("partner@remote.org", last=True),
        ])
        # A list that contains itself through another ends.
        self.assertEqual(self.expn(c, "ring1"), [line(local("carol"), last=True)])

    def test_everyone_and_single_user(self):
        c = self.connect()
        c.ehlo()
        self.assertEqual(self.expn(c, "everyone"), [
            line(local("alice"), "Alice Liddell"),
            line(local("bob")),
            line(local("erin"), "Erin Example", last=True),
        ])
        self.assertEqual(self.expn(c, "alice"),
                         [line(local("alice"), "Alice Liddell", last=True)])
        self.assertEqual(self.expn(c, "bob"), [line(local("bob"), last=True)])

    def test_unknown_remote_and_empty(self):
        c = self.connect()
        c.ehlo()
        self.assertEqual(self.expn(c, "nobody@" + DOMAIN),
                         ["550 5.1.1 <nobody@%s>: User unknown" % DOMAIN])
        self.assertEqual(self.expn(c, "nobody"), ["550 5.1.1 <nobody>: User unknown"])
        self.assertEqual(self.expn(c, "someone@remote.org"),
                         ["252 2.1.5 Cannot EXPN an address that is not local"])
        self.assertEqual(self.expn(c, "empty"), ["550 5.1.1 <empty>: List has no members"])
        self.assertEqual(c.cmd("EXPN"), "501 5.5.4 Syntax: EXPN address")
        # The session is still in order.
        self.assertEqual(c.cmd("NOOP"), "250 2.0.0 Ok")


class ExpnDisabled(ExpnTestCase):
    """Off by default: 502 for everyone, authenticated or not."""

    settings = {"smtp": {"plaintext_auth": "true"}}

    def test_disabled(self):
        c = self.connect()
        c.ehlo()
        self.assertEqual(c.cmd("EXPN staff"), "502 5.5.1 EXPN not available")
        self.assertReply(c.auth_plain("alice", PASSWORD), 235)
        self.assertEqual(c.cmd("EXPN alice"), "502 5.5.1 EXPN not available")


class ExpnNotAllowed(ExpnTestCase):
    """Switched on, but 127.0.0.1 is not in vrfy_expn_allow: only
    authenticated sessions may expand."""

    settings = {"smtp": {"vrfy_expn": "true", "vrfy_expn_allow": "192.0.2.0/24",
                         "plaintext_auth": "true"}}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.server.ctl("user", "del", "alice")
        cls.server.ctl("user", "add", "alice", "--full-name", "Alice Liddell", "--password-stdin",
                       input=PASSWORD + "\n")
        cls.server.ctl("list", "add", "staff")
        cls.server.ctl("list", "members", "staff", "--add", "alice", "--add", "bob")

    def test_only_authenticated(self):
        c = self.connect()
        c.ehlo()
        self.assertEqual(c.cmd("EXPN staff"), "502 5.5.1 EXPN not available")
        self.assertReply(c.auth_plain("bob", PASSWORD), 235)
        self.check_expansion(c)


if __name__ == "__main__":
    run_tests()
