#!/usr/bin/env python3
"""End-to-end tests of the ACL, quota, subscription and annotation subcommands
of tools/mailstore (docs/contract.md §1.9-§1.11 and §3.2), and of
--as enforcement across every subcommand.

The store and the helpers to run the tool come from test_mailstore.py. Run one
class with
    MAILSTORE=build/mailstore python3 -m unittest -v test_acl_quota.TestAcl
"""
import os
import unittest

import test_mailstore as tm

ALL_RIGHTS = "lrswipkxtean"
NEW_SUBCOMMANDS = ["setacl", "deleteacl", "getacl", "myrights", "setquota", "getquota",
                   "getquotaroot", "subscribe", "unsubscribe", "lsub", "setannotation",
                   "getannotation"]
QUOTA_KEYS = {"root", "resource", "usage", "limit"}


def message(size, subject="m"):
    """A message of exactly `size` bytes (CRLF line ends, stored as given)."""
    head = b"From: a@example.com\r\nSubject: " + subject.encode() + b"\r\n\r\n"
    assert size >= len(head) + 2
    return head + b"x" * (size - len(head) - 2) + b"\r\n"


class Base(tm.MailstoreTest):
    """A store with users bovik, fred and carol; admins 'boss'."""

    extra_conf = "admins: boss"

    def setUp(self):
        super().setUp()
        self.create("user.bovik", "user.fred", "user.carol")

    def acl(self, mailbox, **kw):
        """getacl as {id: rights}; checks that text and JSON agree."""
        text = self.ok("getacl", mailbox, **kw).lines
        objs = self.ok("getacl", mailbox, glob=tuple(kw.pop("glob", ())) + ("--json",), **kw).json()
        for o in objs:
            self.assertEqual(set(o), {"id", "rights"})
        self.assertEqual(text, ["%s %s" % (o["id"], o["rights"]) for o in objs])
        return {o["id"]: o["rights"] for o in objs}

    def myrights(self, mailbox, who=None):
        glob = ("--as", who) if who else ()
        text = self.ok("myrights", mailbox, glob=glob).lines
        objs = self.ok("myrights", mailbox, glob=glob + ("--json",)).json()
        self.assertEqual(len(objs), 1)
        self.assertEqual(set(objs[0]), {"rights"})
        self.assertEqual(text, [objs[0]["rights"]])
        return objs[0]["rights"]

    def quota(self, root, glob=()):
        """getquota as {resource: (usage, limit)}; checks text against JSON."""
        text = self.ok("getquota", root, glob=glob).lines
        objs = self.ok("getquota", root, glob=tuple(glob) + ("--json",)).json()
        self.assertEqual([o["resource"] for o in objs], ["STORAGE", "MESSAGE", "MAILBOX"])
        for o in objs:
            self.assertEqual(set(o), QUOTA_KEYS)
            self.assertEqual(o["root"], root)
        self.assertEqual(text, ["%s %d %s" % (o["resource"], o["usage"],
                                              "none" if o["limit"] is None else o["limit"])
                                for o in objs])
        return {o["resource"]: (o["usage"], o["limit"]) for o in objs}

    def quotaroot(self, mailbox, glob=()):
        text = self.ok("getquotaroot", mailbox, glob=glob).lines
        objs = self.ok("getquotaroot", mailbox, glob=tuple(glob) + ("--json",)).json()
        self.assertEqual(objs, [{"root": text[0]}])
        self.assertEqual(len(text), 1)
        return text[0]

    def lsub(self, user, pattern=None, glob=()):
        args = ["lsub", user] + ([pattern] if pattern else [])
        text = self.ok(*args, glob=glob).lines
        objs = self.ok(*args, glob=tuple(glob) + ("--json",)).json()
        self.assertEqual(objs, [{"name": n} for n in text])
        return text

    def annotations(self, mailbox, entry=None, glob=()):
        """getannotation --json as {entry: value}."""
        args = ["getannotation", mailbox] + ([entry] if entry else [])
        objs = self.ok(*args, glob=tuple(glob) + ("--json",)).json()
        for o in objs:
            self.assertEqual(set(o), {"entry", "value"})
        return {o["entry"]: o["value"] for o in objs}


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------

class TestNewCli(Base):
    def test_help_lists_new_subcommands(self):
        r = self.run_raw(["--help"])
        self.assertEqual(r.rc, 0)
        for cmd in NEW_SUBCOMMANDS:
            self.assertRegex(r.text, r"(?m)^    %s\b" % cmd)
        for cmd in NEW_SUBCOMMANDS:
            r = self.run_raw(["-C", "/nonexistent.conf", cmd, "--help"])
            self.assertEqual(r.rc, 0, "%s: %s" % (cmd, r.err))
            self.assertTrue(r.text.startswith("Usage: mailstore "), r.text)
            self.assertIn(" %s " % cmd, r.lines[0])
            self.assertIn("Exit status", r.text)
            self.assertIn("RFC", r.text)
        r = self.run_raw(["setannotation", "--help"])
        self.assertIn("--remove", r.text)
        self.assertIn("annotation_size_limit", r.text)
        r = self.run_raw(["setquota", "--help"])
        for word in ("STORAGE", "MESSAGE", "MAILBOX", "none", "KiB"):
            self.assertIn(word, r.text)

    def test_usage_errors(self):
        cases = [
            ["setacl", "user.bovik", "fred"], ["setacl", "user.bovik", "fred", "lr", "x"],
            ["deleteacl", "user.bovik"], ["getacl"], ["getacl", "a", "b"], ["myrights"],
            ["setquota", "user.bovik"], ["getquota"], ["getquotaroot"], ["subscribe", "bovik"],
            ["unsubscribe", "bovik"], ["lsub"], ["lsub", "bovik", "*", "x"],
            ["setannotation", "user.bovik", "/shared/comment"],
            ["setannotation", "user.bovik", "/shared/comment", "v", "w"],
            ["setannotation", "user.bovik", "/shared/comment", "v", "--remove"],
            ["setannotation", "user.bovik", "/shared/comment", "--remove=yes"],
            ["getannotation"], ["getannotation", "a", "/shared/b", "c"],
            ["setacl", "user.bovik", "fred", "lr", "--bogus", "x"],
        ]
        for args in cases:
            r = self.fails(2, *args)
            self.assertIn("--help", r.err)

    def test_search_error_not_prefixed_twice(self):
        r = self.fails(2, "search", "user.bovik", "BOGUSKEY")
        self.assertTrue(r.err.startswith("mailstore: search: "), r.err)
        self.assertNotIn("search: search:", r.err)
        self.assertIn("BOGUSKEY", r.err)

    def test_error_not_prefixed_twice(self):
        self.ok("setacl", "user.bovik", "fred", "lr")
        for args in (["getacl", "user.bovik"], ["setacl", "user.bovik", "fred", "+w"],
                     ["deleteacl", "user.bovik", "fred"], ["setquota", "user.bovik", "STORAGE=1"]):
            r = self.fails(1, *args, glob=("--as", "fred"))
            self.assertNotIn("%s: %s:" % (args[0], args[0]), r.err)


# --------------------------------------------------------------------------
# setacl, deleteacl, getacl, myrights
# --------------------------------------------------------------------------

class TestAcl(Base):
    def test_new_inbox_and_inheritance(self):
        self.assertEqual(self.acl("user.bovik"), {"bovik": ALL_RIGHTS})
        self.ok("setacl", "user.bovik", "fred", "lr")
        self.create("user.bovik.work")
        self.assertEqual(self.acl("user.bovik.work"), {"bovik": ALL_RIGHTS, "fred": "lr"})

    def test_replace_add_remove(self):
        self.ok("setacl", "user.bovik", "fred", "srl")
        self.assertEqual(self.acl("user.bovik")["fred"], "lrs")          # canonical order
        self.ok("setacl", "user.bovik", "fred", "+wi")
        self.assertEqual(self.acl("user.bovik")["fred"], "lrswi")
        self.ok("setacl", "user.bovik", "fred", "-w")
        self.assertEqual(self.acl("user.bovik")["fred"], "lrsi")
        self.ok("setacl", "user.bovik", "fred", "lr")
        self.assertEqual(self.acl("user.bovik")["fred"], "lr")
        self.ok("setacl", "user.bovik", "fred", "cd")                   # RFC 2086 c = kx, d = te
        self.assertEqual(self.acl("user.bovik")["fred"], "kxte")
        self.ok("setacl", "user.bovik", "fred", "")                     # no rights: entry removed
        self.assertNotIn("fred", self.acl("user.bovik"))
        self.ok("setacl", "user.bovik", "fred", "+l")
        self.ok("setacl", "user.bovik", "fred", "-l")
        self.assertNotIn("fred", self.acl("user.bovik"))


class TestAclIdentifiers(Base):
    def test_identifiers(self):
        self.ok("setacl", "user.bovik", "anyone", "l")
        self.ok("setacl", "user.bovik", "group:staff", "lr")
        self.ok("setacl", "user.bovik", "-fred", "r")                   # an argument, not an option
        self.ok("setacl", "user.bovik", "-group:interns", "w")
        self.ok("setacl", "user.bovik", "-anyone", "p")
        self.assertEqual(self.acl("user.bovik"),
                         {"bovik": ALL_RIGHTS, "anyone": "l", "group:staff": "lr", "-fred": "r",
                          "-group:interns": "w", "-anyone": "p"})
        # Stored order is kept.
        self.assertEqual(self.ok("getacl", "user.bovik").lines,
                         ["bovik lrswipkxtean", "anyone l", "group:staff lr", "-fred r",
                          "-group:interns w", "-anyone p"])

    def test_deleteacl(self):
        self.ok("setacl", "user.bovik", "fred", "lr")
        self.ok("setacl", "user.bovik", "-fred", "r")
        self.ok("deleteacl", "user.bovik", "-fred")
        self.assertEqual(self.acl("user.bovik"), {"bovik": ALL_RIGHTS, "fred": "lr"})
        self.ok("deleteacl", "user.bovik", "fred")
        self.ok("deleteacl", "user.bovik", "fred")                      # absent: not an error
        self.assertEqual(self.acl("user.bovik"), {"bovik": ALL_RIGHTS})
        self.fails(1, "deleteacl", "user.nobody", "fred")

    def test_myrights(self):
        self.assertEqual(self.myrights("user.bovik"), ALL_RIGHTS)          # administrator
        self.assertEqual(self.myrights("user.bovik", "boss"), ALL_RIGHTS)  # an `admins` identity
        self.assertEqual(self.myrights("user.bovik", "bovik"), ALL_RIGHTS)
        self.ok("setacl", "user.bovik", "bovik", "")                     # owner keeps l k x a n
        self.assertEqual(self.myrights("user.bovik", "bovik"), "lkxan")
        self.ok("setacl", "user.bovik", "fred", "lrs")
        self.assertEqual(self.myrights("user.bovik", "fred"), "lrs")
        self.fails(1, "myrights", "user.nobody")

    def test_bad_rights_and_identifiers(self):
        for rights in ("lrz", "+q", "-lX", "L", "++l", "l r", "-+w"):
            r = self.fails(2, "setacl", "user.bovik", "fred", rights)
            self.assertIn("right", r.err)
        for ident in ("", "-", "group:", "-group:", "fred.smith", "bad id", "a\tb", "x" * 300):
            r = self.fails(2, "setacl", "user.bovik", ident, "lr")
            self.assertIn("identifier", r.err)
            self.fails(2, "deleteacl", "user.bovik", ident)
        self.assertEqual(self.acl("user.bovik"), {"bovik": ALL_RIGHTS})
        # Usage errors in the arguments come before the store is looked at.
        self.fails(2, "setacl", "user.nobody", "fred", "lrz")
        self.fails(1, "setacl", "user.nobody", "fred", "lr")
        self.fails(1, "setacl", "user..bad", "fred", "lr")
        self.fails(1, "getacl", "user.nobody")

    def test_needs_admin_right(self):
        fred = ("--as", "fred")
        self.ok("setacl", "user.bovik", "fred", "lrswipkxten")           # everything but `a`
        r = self.fails(1, "setacl", "user.bovik", "fred", "+a", glob=fred)
        self.assertIn("permission denied", r.err)
        r = self.fails(1, "getacl", "user.bovik", glob=fred)
        self.assertIn("permission denied", r.err)
        r = self.fails(1, "deleteacl", "user.bovik", "bovik", glob=fred)
        self.assertIn("permission denied", r.err)
        self.assertEqual(self.acl("user.bovik"), {"bovik": ALL_RIGHTS, "fred": "lrswipkxten"})
        # With `a`, fred administers the ACL.
        self.ok("setacl", "user.bovik", "fred", "+a")
        self.ok("setacl", "user.bovik", "carol", "lr", glob=fred)
        self.assertEqual(self.acl("user.bovik", glob=fred)["carol"], "lr")
        self.ok("deleteacl", "user.bovik", "carol", glob=fred)
        # The owner always has `a` on their own mailboxes.
        self.ok("setacl", "user.bovik", "bovik", "")
        self.ok("setacl", "user.bovik", "carol", "l", glob=("--as", "bovik"))


# --------------------------------------------------------------------------
# --as enforcement end to end
# --------------------------------------------------------------------------

class AsEnforcementTest(Base):
    """What the TestAsEnforcement* classes share (it holds no tests itself;
    split so that each class stays far below its timeout under ASan)."""

    def setUp(self):
        super().setUp()
        self.create("user.bovik.sub")
        self.uid = self.append("user.bovik", tm.PLAIN)
        self.ok("setquota", "user.bovik", "STORAGE=1000")
        self.ok("setannotation", "user.bovik", "/shared/comment", "hello")

    def per_mailbox_commands(self, mb):
        """(args, stdin) of every subcommand that works on mailbox mb."""
        return [
            (["setacl", mb, "fred", "lr"], b""), (["deleteacl", mb, "fred"], b""),
            (["getacl", mb], b""), (["myrights", mb], b""),
            (["getquota", mb], b""), (["getquotaroot", mb], b""),
            (["setannotation", mb, "/shared/comment", "x"], b""),
            (["setannotation", mb, "/private/comment", "x"], b""),
            (["setannotation", mb, "/shared/comment", "--remove"], b""),
            (["getannotation", mb], b""), (["getannotation", mb, "/shared/comment"], b""),
            (["status", mb], b""), (["fetch", mb, "1"], b""),
            (["fetch", mb, "1", "--item", "envelope"], b""),
            (["store", mb, "1", "+FLAGS", "kw"], b""), (["expunge", mb], b""),
            (["copy", mb, "1", "user.fred"], b""), (["move", mb, "1", "user.fred"], b""),
            (["copy", "user.fred", "1", mb], b""), (["move", "user.fred", "1", mb], b""),
            (["search", mb, "ALL"], b""), (["info", mb], b""), (["path", mb], b""),
            (["path", mb, "1"], b""), (["rename", mb, "user.fred.new"], b""),
            (["append", mb], tm.PLAIN), (["delete", mb], b""),
        ]

    def assert_hidden_like_missing(self, commands_hidden, commands_missing, hidden, missing):
        """Each command fails alike (exit 1, the same message but for the name)
        on the hidden mailbox and on one that does not exist."""
        fred = ("--as", "fred")
        for (args, stdin), (margs, mstdin) in zip(commands_hidden, commands_missing):
            with self.subTest(args=args):
                r = self.fails(1, *args, glob=fred, input=stdin)
                m = self.fails(1, *margs, glob=fred, input=mstdin)
                self.assertEqual(r.out, b"", args)
                self.assertEqual(r.err.replace(hidden, "NAME"), m.err.replace(missing, "NAME"),
                                 "%r tells a hidden mailbox from a missing one" % args)


class TestAsEnforcement(AsEnforcementTest):
    def test_without_lookup_the_mailbox_does_not_exist(self):
        """A user without `l` (here: with `p` only, enough to deliver) sees "does
        not exist" for every subcommand on it."""
        self.append("user.fred", tm.PLAIN)
        self.ok("setacl", "user.bovik", "fred", "p")
        fred = ("--as", "fred")
        for args, stdin in self.per_mailbox_commands("user.bovik"):
            if args[0] == "delete":
                continue          # an INBOX: see test_delete_hidden_inbox
            with self.subTest(args=args):
                r = self.fails(1, *args, glob=fred, input=stdin)
                self.assertIn("does not exist", r.err)
                self.assertIn("user.bovik", r.err)
                self.assertNotIn("permission", r.err)
        self.assertNotIn("user.bovik", self.listing(glob=fred))
        # Nothing changed.
        self.assertEqual(self.status("user.bovik")["messages"], 1)
        self.assertEqual(self.flags("user.bovik", self.uid), set())
        self.assertEqual(self.acl("user.bovik"), {"bovik": ALL_RIGHTS, "fred": "p"})
        self.assertEqual(self.annotations("user.bovik"), {"/shared/comment": "hello"})
        # `p` is enough to deliver.
        self.assertEqual(self.ok("deliver", "bovik", input=tm.PLAIN, glob=fred).lines, ["bovik 2"])

    def test_hidden_mailbox_is_indistinguishable_from_a_missing_one(self):
        self.append("user.fred", tm.PLAIN)
        # user.bovik.sub: a hidden mailbox that is not an INBOX and not a quota root.
        hidden = [(a, s) for a, s in self.per_mailbox_commands("user.bovik.sub")
                  if a[0] != "getquota"]
        missing = [(a, s) for a, s in self.per_mailbox_commands("user.bovik.nosuch")
                   if a[0] != "getquota"]
        self.assert_hidden_like_missing(hidden, missing, "user.bovik.sub", "user.bovik.nosuch")
        # deliver: the recipient's line is the same.
        self.create("user.hidden")
        self.ok("setacl", "user.hidden", "hidden", "")
        r = self.ms("deliver", "hidden", "nosuch", input=tm.PLAIN, glob=("--as", "fred"))
        self.assertEqual(r.rc, 1)
        self.assertEqual(r.lines[0].replace("hidden", "NAME"), r.lines[1].replace("nosuch", "NAME"))


class TestAsEnforcementHidden(AsEnforcementTest):
    def test_getquota_on_hidden_root_like_missing(self):
        """A hidden quota root and a name that is no root at all answer alike."""
        self.assert_hidden_like_missing([(["getquota", "user.bovik"], b"")],
                                        [(["getquota", "user.nobody"], b"")],
                                        "user.bovik", "user.nobody")

    def test_delete_hidden_inbox(self):
        self.assert_hidden_like_missing([(["delete", "user.bovik"], b"")],
                                        [(["delete", "user.nobody"], b"")],
                                        "user.bovik", "user.nobody")

    def test_create_below_hidden_mailbox(self):
        self.assert_hidden_like_missing([(["create", "user.bovik.new"], b"")],
                                        [(["create", "user.nobody.new"], b"")],
                                        "user.bovik", "user.nobody")

    def test_create_or_rename_onto_hidden_mailbox(self):
        """Without rights in bovik's tree, creating or renaming onto a name there
        fails alike whether or not a (hidden) mailbox has that name."""
        self.create("user.fred.x")
        self.assert_hidden_like_missing(
            [(["create", "user.bovik.sub"], b""), (["rename", "user.fred.x", "user.bovik.sub"], b"")],
            [(["create", "user.bovik.nosuch"], b""), (["rename", "user.fred.x", "user.bovik.nosuch"], b"")],
            "user.bovik.sub", "user.bovik.nosuch")

    def test_rename_hidden_onto_existing_name(self):
        """The source's visibility is decided before the target is looked at."""
        self.create("user.fred.taken")
        self.assert_hidden_like_missing([(["rename", "user.bovik.sub", "user.fred.taken"], b"")],
                                        [(["rename", "user.bovik.nosuch", "user.fred.taken"], b"")],
                                        "user.bovik.sub", "user.bovik.nosuch")


class TestAsEnforcementRights(AsEnforcementTest):
    def test_read_without_write(self):
        fred = ("--as", "fred")
        self.ok("setacl", "user.bovik", "fred", "lr")
        self.assertEqual(self.ok("fetch", "user.bovik", str(self.uid), glob=fred).out, tm.PLAIN)
        self.assertEqual([int(x) for x in self.ok("search", "user.bovik", "ALL", glob=fred).lines],
                         [self.uid])
        self.assertEqual(len(self.ok("info", "user.bovik", glob=fred).lines), 1)
        self.ok("status", "user.bovik", glob=fred)
        for flags in ("kw", "\\Flagged", "\\Seen", "\\Deleted"):
            r = self.fails(1, "store", "user.bovik", str(self.uid), "+FLAGS", flags, glob=fred)
            self.assertIn("permission denied", r.err)
        r = self.fails(1, "append", "user.bovik", input=tm.PLAIN, glob=fred)
        self.assertIn("permission denied", r.err)
        r = self.fails(1, "expunge", "user.bovik", glob=fred)
        self.assertIn("permission denied", r.err)
        r = self.fails(1, "setannotation", "user.bovik", "/shared/comment", "x", glob=fred)
        self.assertIn("permission denied", r.err)
        self.assertEqual(self.flags("user.bovik", self.uid), set())
        # +w: keywords and \Flagged; \Seen needs s, \Deleted needs t.
        self.ok("setacl", "user.bovik", "fred", "+w")
        self.ok("store", "user.bovik", str(self.uid), "+FLAGS", "kw \\Flagged", glob=fred)
        self.fails(1, "store", "user.bovik", str(self.uid), "+FLAGS", "\\Deleted", glob=fred)
        self.assertEqual(self.flags("user.bovik", self.uid), {"kw", "\\Flagged"})
        # Copying out needs only r on the source (and i on the target, fred's own).
        self.ok("copy", "user.bovik", str(self.uid), "user.fred", glob=fred)
        self.fails(1, "move", "user.bovik", str(self.uid), "user.fred", glob=fred)
        self.assertEqual(self.status("user.bovik")["messages"], 1)

    def test_read_without_lookup(self):
        """RFC 4314: `r` alone lets a user open (SELECT) a mailbox that LIST
        does not show him."""
        fred = ("--as", "fred")
        self.ok("setacl", "user.bovik", "fred", "r")
        self.assertNotIn("user.bovik", self.listing(glob=fred))
        self.assertEqual(self.myrights("user.bovik", "fred"), "r")
        self.assertEqual(self.ok("fetch", "user.bovik", "1", glob=fred).out, tm.PLAIN)
        r = self.fails(1, "store", "user.bovik", "1", "+FLAGS", "kw", glob=fred)
        self.assertNotIn("kw", self.flags("user.bovik", 1))

    def test_lookup_without_read(self):
        fred = ("--as", "fred")
        self.ok("setacl", "user.bovik", "fred", "l")
        self.assertIn("user.bovik", self.listing(glob=fred))
        self.assertEqual(self.myrights("user.bovik", "fred"), "l")
        for args in (["fetch", "user.bovik", "1"], ["status", "user.bovik"],
                     ["getquotaroot", "user.bovik"], ["store", "user.bovik", "1", "+FLAGS", "kw"]):
            r = self.fails(1, *args, glob=fred)
            self.assertIn("permission denied", r.err)
            self.assertNotIn("does not exist", r.err)

    def test_anyone(self):
        self.ok("setacl", "user.bovik", "anyone", "lr")
        for who in ("fred", "carol", "someone"):
            self.assertEqual(self.myrights("user.bovik", who), "lr")
            self.assertEqual(self.ok("fetch", "user.bovik", "1", glob=("--as", who)).out, tm.PLAIN)
        self.ok("deleteacl", "user.bovik", "anyone")
        self.fails(1, "fetch", "user.bovik", "1", glob=("--as", "carol"))

    def test_negative_entries(self):
        self.ok("setacl", "user.bovik", "anyone", "lrw")
        self.ok("setacl", "user.bovik", "-fred", "w")
        self.assertEqual(self.myrights("user.bovik", "fred"), "lr")
        self.assertEqual(self.myrights("user.bovik", "carol"), "lrw")
        r = self.fails(1, "store", "user.bovik", "1", "+FLAGS", "kw", glob=("--as", "fred"))
        self.assertIn("permission denied", r.err)
        self.ok("store", "user.bovik", "1", "+FLAGS", "kw", glob=("--as", "carol"))
        # A negative entry wins over a positive one naming the same identity.
        self.ok("setacl", "user.bovik", "fred", "lrw")
        self.assertEqual(self.myrights("user.bovik", "fred"), "lr")
        # -anyone takes rights away from everyone, but not the owner's implicit l k x a n.
        self.ok("setacl", "user.bovik", "-anyone", "lr")
        r = self.fails(1, "status", "user.bovik", glob=("--as", "carol"))
        self.assertIn("does not exist", r.err)
        self.assertNotIn("user.bovik", self.listing(glob=("--as", "fred")))
        self.assertEqual(self.myrights("user.bovik", "bovik"), "lswipkxtean")
        self.assertIn("user.bovik", self.listing(glob=("--as", "bovik")))

    def test_store_wide_commands_need_an_administrator(self):
        backup = os.path.join(self.tmp, "bk")
        for args in (["cleanup"], ["check"], ["backup", backup]):
            r = self.fails(1, *args, glob=("--as", "fred"))
            self.assertIn("administrator", r.err)
            self.ok(*args, glob=("--as", "boss"))
        self.assertTrue(os.path.isdir(backup))

    def test_admin_identity_has_all_rights(self):
        self.ok("setacl", "user.bovik", "bovik", "")
        boss = ("--as", "boss")
        self.assertEqual(self.myrights("user.bovik", "boss"), ALL_RIGHTS)
        self.ok("fetch", "user.bovik", "1", glob=boss)
        self.ok("setquota", "user.bovik", "MESSAGE=10", glob=boss)
        self.ok("getacl", "user.bovik", glob=boss)

    def test_post_right_for_deliver(self):
        self.ok("setacl", "user.bovik", "fred", "")
        r = self.ms("deliver", "bovik", input=tm.PLAIN, glob=("--as", "fred"))
        self.assertEqual(r.rc, 1)
        self.ok("setacl", "user.bovik", "fred", "lp")
        r = self.ok("deliver", "bovik", input=tm.PLAIN, glob=("--as", "fred"))
        self.assertEqual(r.lines, ["bovik 2"])


class TestGroups(Base):
    def setUp(self):
        super().setUp()
        groups = os.path.join(self.tmp, "groups")
        with open(groups, "w") as f:
            f.write("# groups of the test\n"
                    "group:staff: fred carol\n"
                    "group:interns: carol\n")
        with open(self.store.conf, "a") as f:
            f.write("groupsfile: %s\n" % groups)
        self.uid = self.append("user.bovik", tm.PLAIN)

    def test_group_entries(self):
        self.ok("setacl", "user.bovik", "group:staff", "lrw")
        self.assertEqual(self.myrights("user.bovik", "fred"), "lrw")
        self.assertEqual(self.myrights("user.bovik", "carol"), "lrw")
        r = self.fails(1, "myrights", "user.bovik", glob=("--as", "dave"))
        self.assertIn("does not exist", r.err)
        self.ok("store", "user.bovik", "1", "+FLAGS", "kw", glob=("--as", "fred"))
        self.assertEqual(self.fetch("user.bovik", 1), tm.PLAIN)
        self.assertEqual(self.ok("fetch", "user.bovik", "1", glob=("--as", "carol")).out, tm.PLAIN)
        self.fails(1, "fetch", "user.bovik", "1", glob=("--as", "dave"))

    def test_negative_group_entry(self):
        self.ok("setacl", "user.bovik", "group:staff", "lrw")
        self.ok("setacl", "user.bovik", "-group:interns", "w")
        self.assertEqual(self.myrights("user.bovik", "fred"), "lrw")
        self.assertEqual(self.myrights("user.bovik", "carol"), "lr")
        r = self.fails(1, "store", "user.bovik", "1", "+FLAGS", "kw", glob=("--as", "carol"))
        self.assertIn("permission denied", r.err)
        self.ok("setacl", "user.bovik", "-group:interns", "lr")
        r = self.fails(1, "fetch", "user.bovik", "1", glob=("--as", "carol"))
        self.assertIn("does not exist", r.err)
        self.assertNotIn("user.bovik", self.listing(glob=("--as", "carol")))
        self.assertIn("user.bovik", self.listing(glob=("--as", "fred")))


# --------------------------------------------------------------------------
# setquota, getquota, getquotaroot
# --------------------------------------------------------------------------

class TestQuota(Base):
    def test_set_and_get(self):
        self.ok("setquota", "user.bovik", "STORAGE=1024", "MESSAGE=5000")
        self.assertEqual(self.quota("user.bovik"),
                         {"STORAGE": (0, 1024), "MESSAGE": (0, 5000), "MAILBOX": (1, None)})
        self.assertEqual(self.ok("getquota", "user.bovik").lines,
                         ["STORAGE 0 1024", "MESSAGE 0 5000", "MAILBOX 1 none"])
        # Resources not named keep their limits; none removes one; any case.
        self.ok("setquota", "user.bovik", "mailbox=3")
        self.assertEqual(self.quota("user.bovik"),
                         {"STORAGE": (0, 1024), "MESSAGE": (0, 5000), "MAILBOX": (1, 3)})
        self.ok("setquota", "user.bovik", "MESSAGE=none", "Storage=0")
        self.assertEqual(self.quota("user.bovik"),
                         {"STORAGE": (0, 0), "MESSAGE": (0, None), "MAILBOX": (1, 3)})
        self.ok("setquota", "user.bovik", "STORAGE=NONE", "MAILBOX=none")
        self.assertEqual(self.quota("user.bovik"),
                         {"STORAGE": (0, None), "MESSAGE": (0, None), "MAILBOX": (1, None)})
        big = str(2 ** 63 - 1)
        self.ok("setquota", "user.bovik", "STORAGE=" + big)
        self.assertEqual(self.quota("user.bovik")["STORAGE"], (0, 2 ** 63 - 1))
        self.ok("check")

    def test_usage_in_kib_rounded_up(self):
        self.create("user.bovik.a", "user.bovik.a.b")
        self.append("user.bovik", message(1024))
        self.ok("setquota", "user.bovik", "STORAGE=100")                 # usage taken over
        self.assertEqual(self.quota("user.bovik"),
                         {"STORAGE": (1, 100), "MESSAGE": (1, None), "MAILBOX": (3, None)})
        self.append("user.bovik.a.b", message(100))                      # 1124 bytes: 2 KiB
        self.assertEqual(self.quota("user.bovik")["STORAGE"], (2, 100))
        self.append("user.bovik.a", message(1025))                       # 2149 bytes: 3 KiB
        self.assertEqual(self.quota("user.bovik")["STORAGE"], (3, 100))
        # Every copy is charged in full, although the file is shared.
        self.ok("copy", "user.bovik.a", "1", "user.bovik")                # 3174 bytes: 4 KiB
        self.assertEqual(self.quota("user.bovik"),
                         {"STORAGE": (4, 100), "MESSAGE": (4, None), "MAILBOX": (3, None)})
        self.ok("store", "user.bovik", "1:*", "+FLAGS", "\\Deleted")
        self.ok("expunge", "user.bovik")                                  # 1125 bytes left
        self.assertEqual(self.quota("user.bovik"),
                         {"STORAGE": (2, 100), "MESSAGE": (2, None), "MAILBOX": (3, None)})
        self.ok("delete", "user.bovik.a")                                 # 100 bytes left
        self.assertEqual(self.quota("user.bovik"),
                         {"STORAGE": (1, 100), "MESSAGE": (1, None), "MAILBOX": (2, None)})
        self.ok("check")

    def test_bad_input(self):
        for arg in ("BOGUS=1", "=5", "STORAGE", "STORAGE=", "STORAGE=-1", "MESSAGE=-5",
                    "STORAGE=1k", "STORAGE=1.5", "STORAGE= 1", "STORAGE=99999999999999999999",
                    "STORAGE=nonee", "STORAGE=1=2"):
            r = self.fails(2, "setquota", "user.bovik", arg)
            self.assertTrue("resource" in r.err or "limit" in r.err or "RESOURCE" in r.err, r.err)
        self.fails(2, "setquota", "user.bovik", "STORAGE=1", "storage=2")  # named twice
        self.fails(2, "setquota", "user.bovik")                           # no resource
        self.fails(2, "setquota", "user.nobody", "BOGUS=1")               # before the store
        self.fails(1, "getquota", "user.bovik")                           # not a root yet
        r = self.fails(1, "getquotaroot", "user.bovik")
        self.assertIn("quota root", r.err)
        self.fails(1, "setquota", "user.nobody", "STORAGE=1")
        self.fails(1, "setquota", "user..x", "STORAGE=1")
        self.fails(1, "getquota", "user.nobody")
        self.fails(1, "getquotaroot", "user.nobody")
        # Only administrators set limits.
        r = self.fails(1, "setquota", "user.bovik", "STORAGE=1", glob=("--as", "bovik"))
        self.assertIn("administrator", r.err)
        self.fails(1, "getquota", "user.bovik")

    def test_getquotaroot(self):
        self.create("user.bovik.a", "user.bovik.a.b", "user.bovik.c")
        self.ok("setquota", "user.bovik", "STORAGE=100")
        self.ok("setquota", "user.bovik.a", "MESSAGE=10")
        self.assertEqual(self.quotaroot("user.bovik"), "user.bovik")
        self.assertEqual(self.quotaroot("user.bovik.c"), "user.bovik")
        self.assertEqual(self.quotaroot("user.bovik.a"), "user.bovik.a")
        self.assertEqual(self.quotaroot("user.bovik.a.b"), "user.bovik.a")
        self.assertEqual(self.quota("user.bovik")["MAILBOX"], (2, None))
        self.assertEqual(self.quota("user.bovik.a")["MAILBOX"], (2, None))

    def test_root_follows_rename(self):
        self.create("user.bovik.a", "user.bovik.a.b")
        self.append("user.bovik.a.b", message(2000))
        self.ok("setquota", "user.bovik.a", "STORAGE=50")
        self.ok("rename", "user.bovik.a", "user.bovik.z")
        self.assertEqual(self.quotaroot("user.bovik.z"), "user.bovik.z")
        self.assertEqual(self.quotaroot("user.bovik.z.b"), "user.bovik.z")
        self.assertEqual(self.quota("user.bovik.z"),
                         {"STORAGE": (2, 50), "MESSAGE": (1, None), "MAILBOX": (2, None)})
        self.fails(1, "getquota", "user.bovik.a")
        # By its owner, too.
        self.ok("rename", "user.bovik.z", "user.bovik.y", glob=("--as", "bovik"))
        self.assertEqual(self.quotaroot("user.bovik.y.b", glob=("--as", "bovik")), "user.bovik.y")
        self.assertEqual(self.quota("user.bovik.y", glob=("--as", "bovik"))["STORAGE"], (2, 50))
        self.ok("check")

    def test_getquota_as_user(self):
        self.ok("setquota", "user.bovik", "STORAGE=100")
        self.assertEqual(self.quota("user.bovik", glob=("--as", "bovik"))["STORAGE"], (0, 100))
        self.assertEqual(self.quotaroot("user.bovik", glob=("--as", "bovik")), "user.bovik")
        r = self.fails(1, "getquota", "user.bovik", glob=("--as", "fred"))
        self.assertIn("does not exist", r.err)
        self.ok("setacl", "user.bovik", "fred", "l")
        self.assertEqual(self.quota("user.bovik", glob=("--as", "fred"))["STORAGE"], (0, 100))
        self.fails(1, "getquotaroot", "user.bovik", glob=("--as", "fred"))   # needs r
        self.ok("setacl", "user.bovik", "fred", "+r")
        self.assertEqual(self.quotaroot("user.bovik", glob=("--as", "fred")), "user.bovik")


class TestOverQuota(Base):
    def test_append_copy_and_create(self):
        self.create("user.bovik.a")
        self.ok("setquota", "user.bovik", "STORAGE=2", "MAILBOX=2")
        self.append("user.bovik", message(1500))
        before = self.status("user.bovik")
        r = self.fails(1, "append", "user.bovik", input=message(1000))
        self.assertIn("quota", r.err)
        self.assertEqual(r.out, b"")
        self.assertEqual(self.status("user.bovik"), before)
        self.assertEqual(self.quota("user.bovik")["STORAGE"], (2, 2))
        r = self.fails(1, "copy", "user.bovik", "1", "user.bovik.a")
        self.assertIn("quota", r.err)
        self.assertEqual(self.status("user.bovik.a")["messages"], 0)
        r = self.fails(1, "create", "user.bovik.b")                      # MAILBOX limit
        self.assertIn("quota", r.err)
        self.assertNotIn("user.bovik.b", self.listing())
        # MOVE within the root never fails for quota.
        self.ok("move", "user.bovik", "1", "user.bovik.a")
        self.assertEqual(self.quota("user.bovik")["STORAGE"], (2, 2))
        # Raising the limit lets the append through; expunge frees it again.
        self.ok("setquota", "user.bovik", "STORAGE=3")
        self.append("user.bovik", message(1000))
        self.ok("store", "user.bovik.a", "1", "+FLAGS", "\\Deleted")
        self.ok("expunge", "user.bovik.a")
        self.assertEqual(self.quota("user.bovik")["STORAGE"], (1, 3))
        self.ok("check")

    def test_message_limit(self):
        self.ok("setquota", "user.bovik", "MESSAGE=1")
        self.append("user.bovik", message(100))
        self.fails(1, "append", "user.bovik", input=message(100, "two"))
        self.ok("setquota", "user.bovik", "MESSAGE=none")
        self.append("user.bovik", message(100, "two"))
        self.assertEqual(self.quota("user.bovik")["MESSAGE"], (2, None))

    def test_deliver_one_recipient_over_quota(self):
        self.ok("setquota", "user.fred", "MESSAGE=0")
        msg = message(3000, "to three")
        r = self.ms("deliver", "bovik", "fred", "carol", input=msg)
        self.assertEqual(r.rc, 1, r.err)
        self.assertEqual(r.lines[0], "bovik 1")
        self.assertRegex(r.lines[1], r"^fred ERROR .*quota")
        self.assertEqual(r.lines[2], "carol 1")
        self.assertEqual(len(r.lines), 3)
        self.assertTrue(r.err.startswith("mailstore: deliver: "), r.err)
        self.assertEqual(self.status("user.fred")["messages"], 0)
        self.assertEqual(self.quota("user.fred")["MESSAGE"], (0, 0))
        # Stored once: the two delivered copies are one file with two links.
        a, c = os.stat(self.path("user.bovik", 1)), os.stat(self.path("user.carol", 1))
        self.assertEqual((a.st_dev, a.st_ino), (c.st_dev, c.st_ino))
        self.assertEqual(a.st_nlink, 2)
        self.assertEqual(self.fetch("user.carol", 1), msg)
        objs = self.ms("deliver", "fred", "bovik", glob=("--json",), input=msg).json()
        self.assertEqual(set(objs[0]), {"user", "error"})
        self.assertIn("quota", objs[0]["error"])
        self.assertEqual(objs[1], {"user": "bovik", "uid": 2})
        self.ok("check")

    def test_deliver_storage_limit(self):
        self.ok("setquota", "user.carol", "STORAGE=1")
        r = self.ms("deliver", "carol", "bovik", input=message(2000))
        self.assertEqual(r.rc, 1)
        self.assertRegex(r.lines[0], r"^carol ERROR .*quota")
        self.assertEqual(r.lines[1], "bovik 1")
        self.assertEqual(os.stat(self.path("user.bovik", 1)).st_nlink, 1)


class TestQuotaDefault(Base):
    extra_conf = "admins: boss\nquota_default_storage: 100"

    def test_new_inbox_gets_a_root(self):
        self.assertEqual(self.quotaroot("user.bovik"), "user.bovik")
        self.assertEqual(self.quota("user.bovik")["STORAGE"], (0, 100))
        self.create("shared.news")
        self.fails(1, "getquotaroot", "shared.news")


# --------------------------------------------------------------------------
# subscribe, unsubscribe, lsub
# --------------------------------------------------------------------------

class TestSubscriptions(Base):
    def test_subscribe_lsub_unsubscribe(self):
        self.assertEqual(self.lsub("bovik"), [])
        for mb in ("user.bovik.work", "user.bovik", "shared.news", "user.bovik.work.x"):
            self.ok("subscribe", "bovik", mb)                    # need not exist
        self.ok("subscribe", "bovik", "user.bovik")              # twice: one entry
        self.assertEqual(self.lsub("bovik"),
                         ["shared.news", "user.bovik", "user.bovik.work", "user.bovik.work.x"])
        self.assertEqual(self.lsub("bovik", "user.bovik.%"), ["user.bovik.work"])
        self.assertEqual(self.lsub("bovik", "user.bovik.*"), ["user.bovik.work", "user.bovik.work.x"])
        self.assertEqual(self.lsub("bovik", "nothing*"), [])
        self.assertEqual(self.lsub("fred"), [])
        self.ok("unsubscribe", "bovik", "user.bovik.work")
        self.ok("unsubscribe", "bovik", "user.bovik.work")       # absent: not an error
        self.assertEqual(self.lsub("bovik"), ["shared.news", "user.bovik", "user.bovik.work.x"])
        self.assertEqual(self.js("lsub", "bovik", "shared.*"), [{"name": "shared.news"}])

    def test_bad_input(self):
        for name in ("", "user..x", ".user", "user.x.", "user.a\x01b"):
            self.fails(1, "subscribe", "bovik", name)
        for user in ("", "a.b", "bad user"):
            self.fails(1, "subscribe", user, "user.bovik")
            self.fails(1, "lsub", user)
        self.assertEqual(self.lsub("bovik"), [])

    def test_as_user_only_own(self):
        bovik = ("--as", "bovik")
        self.ok("subscribe", "bovik", "user.bovik", glob=bovik)
        self.assertEqual(self.lsub("bovik", glob=bovik), ["user.bovik"])
        for args in (["subscribe", "fred", "user.fred"], ["unsubscribe", "fred", "user.fred"],
                     ["lsub", "fred"]):
            self.fails(1, *args, glob=bovik)
        self.ok("subscribe", "fred", "user.fred")                # an administrator may
        self.ok("subscribe", "fred", "user.fred", glob=("--as", "boss"))
        self.assertEqual(self.lsub("fred"), ["user.fred"])

    def test_rename_follows_owner_only(self):
        self.create("user.bovik.work", "user.bovik.work.sub", "user.bovik.workshop")
        self.ok("setacl", "user.bovik.work", "fred", "lr")
        for mb in ("user.bovik.work", "user.bovik.work.sub", "user.bovik.workshop"):
            self.ok("subscribe", "bovik", mb, glob=("--as", "bovik"))
        self.ok("subscribe", "fred", "user.bovik.work", glob=("--as", "fred"))
        self.ok("rename", "user.bovik.work", "user.bovik.play", glob=("--as", "bovik"))
        self.assertEqual(self.lsub("bovik"),
                         ["user.bovik.play", "user.bovik.play.sub", "user.bovik.workshop"])
        self.assertEqual(self.lsub("fred"), ["user.bovik.work"])


# --------------------------------------------------------------------------
# setannotation, getannotation
# --------------------------------------------------------------------------

class TestAnnotations(Base):

    def test_set_get_remove(self):
        self.ok("setannotation", "user.bovik", "/shared/comment", "hello")
        self.ok("setannotation", "user.bovik", "/shared/vendor/acme/x", "1")
        self.assertEqual(self.annotations("user.bovik"),
                         {"/shared/comment": "hello", "/shared/vendor/acme/x": "1"})
        self.assertEqual(self.ok("getannotation", "user.bovik", "/shared/comment").lines,
                         ["/shared/comment hello"])
        self.assertEqual(self.annotations("user.bovik", "/shared/vendor/acme/x"),
                         {"/shared/vendor/acme/x": "1"})
        self.assertEqual(self.annotations("user.bovik", "/shared/nothing"), {})
        self.ok("setannotation", "user.bovik", "/shared/comment", "again")   # replaces
        self.assertEqual(self.annotations("user.bovik", "/shared/comment"),
                         {"/shared/comment": "again"})
        self.ok("setannotation", "user.bovik", "/shared/comment", "--remove")
        self.ok("setannotation", "user.bovik", "/shared/comment", "--remove")  # absent: fine
        self.assertEqual(self.annotations("user.bovik"), {"/shared/vendor/acme/x": "1"})
        # "" is a value, "NIL" too: neither removes.
        self.ok("setannotation", "user.bovik", "/shared/empty", "")
        self.ok("setannotation", "user.bovik", "/shared/nil", "NIL")
        self.assertEqual(self.annotations("user.bovik", "/shared/empty"), {"/shared/empty": ""})
        self.assertEqual(self.annotations("user.bovik", "/shared/nil"), {"/shared/nil": "NIL"})
        # A value that begins with '-' or '--' (after --).
        self.ok("setannotation", "user.bovik", "/shared/dash", "-x")
        self.ok("setannotation", "user.bovik", "/shared/dash2", "--", "--remove")
        self.assertEqual(self.annotations("user.bovik", "/shared/dash2"), {"/shared/dash2": "--remove"})

    def test_text_quoting(self):
        values = [("atom", "plain"), ("spaces", "two words"), ("quote", 'say "hi"'),
                  ("backslash", "a\\b"), ("empty", ""), ("nil", "NIL"), ("nil2", "nil"),
                  ("paren", "(x)"), ("percent", "50%"), ("star", "a*"), ("brace", "{3}"),
                  ("bracket", "a]"), ("utf8", "caf\u00e9"), ("tab", "a\tb")]
        for name, value in values:
            self.ok("setannotation", "user.bovik", "/shared/" + name, value)
        text = {}
        for line in self.ok("getannotation", "user.bovik").lines:
            entry, rest = line.split(" ", 1)
            text[entry] = rest
        want = {"atom": "plain", "spaces": '"two words"', "quote": '"say \\"hi\\""',
                "backslash": '"a\\\\b"', "empty": '""', "nil": '"NIL"', "nil2": '"nil"',
                "paren": '"(x)"', "percent": '"50%"', "star": '"a*"', "brace": '"{3}"',
                "bracket": '"a]"', "utf8": '"caf\u00e9"', "tab": '"a\tb"'}
        self.assertEqual(text, {"/shared/" + k: v for k, v in want.items()})
        js = self.annotations("user.bovik")
        self.assertEqual(js, {"/shared/" + n: v for n, v in values})
        # A line break: an IMAP literal.
        self.ok("setannotation", "user.bovik", "/shared/nl", "line1\nline2")
        r = self.ok("getannotation", "user.bovik", "/shared/nl")
        self.assertEqual(r.out, b"/shared/nl {11}\r\nline1\nline2\n")
        self.assertEqual(self.annotations("user.bovik", "/shared/nl"), {"/shared/nl": "line1\nline2"})

    def test_private_entries_and_rights(self):
        bovik, fred = ("--as", "bovik"), ("--as", "fred")
        self.ok("setacl", "user.bovik", "fred", "lr")
        self.ok("setannotation", "user.bovik", "/shared/comment", "for all", glob=bovik)
        self.ok("setannotation", "user.bovik", "/private/comment", "bovik's", glob=bovik)
        self.ok("setannotation", "user.bovik", "/private/comment", "fred's", glob=fred)
        self.assertEqual(self.annotations("user.bovik", glob=bovik),
                         {"/shared/comment": "for all", "/private/comment": "bovik's"})
        self.assertEqual(self.annotations("user.bovik", glob=fred),
                         {"/shared/comment": "for all", "/private/comment": "fred's"})
        # Shared entries need n.
        r = self.fails(1, "setannotation", "user.bovik", "/shared/comment", "x", glob=fred)
        self.assertIn("permission denied", r.err)
        r = self.fails(1, "setannotation", "user.bovik", "/shared/comment", "--remove", glob=fred)
        self.assertIn("permission denied", r.err)
        self.ok("setacl", "user.bovik", "fred", "+n")
        self.ok("setannotation", "user.bovik", "/shared/comment", "by fred", glob=fred)
        self.assertEqual(self.annotations("user.bovik", "/shared/comment", glob=bovik),
                         {"/shared/comment": "by fred"})
        self.ok("setannotation", "user.bovik", "/private/comment", "--remove", glob=fred)
        self.assertEqual(self.annotations("user.bovik", "/private/comment", glob=fred), {})
        self.assertEqual(self.annotations("user.bovik", "/private/comment", glob=bovik),
                         {"/private/comment": "bovik's"})
        r = self.fails(1, "getannotation", "user.bovik", glob=("--as", "carol"))
        self.assertIn("does not exist", r.err)

    def test_specialuse(self):
        self.create("user.bovik.Sent", "user.bovik.Trash")
        bovik = ("--as", "bovik")
        self.ok("setannotation", "user.bovik.Sent", "/private/specialuse", "\\Sent", glob=bovik)
        self.ok("setannotation", "user.bovik.Trash", "/private/specialuse", "\\Trash \\Junk",
                glob=bovik)
        self.assertEqual(self.annotations("user.bovik.Sent", glob=bovik),
                         {"/private/specialuse": "\\Sent"})
        self.assertEqual(self.ok("getannotation", "user.bovik.Trash", glob=bovik).lines,
                         ['/private/specialuse "\\\\Trash \\\\Junk"'])
        for bad in ("\\Bogus", "Sent", "\\Sent \\Nope"):
            r = self.fails(2, "setannotation", "user.bovik.Sent", "/private/specialuse", bad,
                           glob=bovik)
            self.assertIn("special-use", r.err)
        self.assertEqual(self.annotations("user.bovik.Sent", glob=bovik),
                         {"/private/specialuse": "\\Sent"})

    def test_bad_entries(self):
        for entry in ("comment", "/shared", "/shared/", "/shared//x", "/shared/x/", "/other/x",
                      "/shared/a*", "/shared/a%", "/shared/a b", "/private/\u00e9",
                      "/shared/" + "x" * 300):
            r = self.fails(2, "setannotation", "user.bovik", entry, "v")
            self.assertIn("entry", r.err)
            self.fails(2, "setannotation", "user.bovik", entry, "--remove")
            self.fails(2, "getannotation", "user.bovik", entry)
        self.fails(1, "setannotation", "user.nobody", "/shared/comment", "v")
        self.fails(1, "getannotation", "user.nobody")
        self.assertEqual(self.annotations("user.bovik"), {})



class TestAnnotationSizeLimit(Base):
    extra_conf = "admins: boss\nannotation_size_limit: 200"

    def test_size_limit(self):
        self.ok("setannotation", "user.bovik", "/shared/a", "x" * 150)
        r = self.fails(1, "setannotation", "user.bovik", "/shared/b", "y" * 100)
        self.assertIn("annotation_size_limit", r.err)
        self.assertEqual(self.annotations("user.bovik"), {"/shared/a": "x" * 150})
        r = self.fails(1, "setannotation", "user.bovik", "/shared/a", "x" * 250)
        self.assertEqual(self.annotations("user.bovik"), {"/shared/a": "x" * 150})
        # Replacing a value counts the new one only; other mailboxes have their own budget.
        self.ok("setannotation", "user.bovik", "/shared/a", "z" * 160)
        self.ok("setannotation", "user.fred", "/shared/b", "y" * 150)
        self.ok("setannotation", "user.bovik", "/shared/a", "--remove")
        self.ok("setannotation", "user.bovik", "/shared/b", "y" * 150)


if __name__ == "__main__":
    unittest.main()
