#!/usr/bin/env python3
"""The damage catalogue, message files an admin must be able to trust
(issue 8, point 5): a symlink, a directory or an empty file where a message
was; a file edited in place or replaced; message files dropped in by hand
from a Cyrus server; unreadable files; a tool run as root on a store that
the service user owns. docs/admin.md (5.2) says what the admin sees.

Same harness as test_repair.py (a rich store cloned per test, damage, the
symptom in `mailstore check`, the repair with -n first, nothing lost)."""
import os
import re
import shutil
import subprocess
import unittest

from test_repair import *  # noqa: F401,F403  (Store, RepairTest, Expect, message, sha, read, run, PROGS, ...)
from test_repair import PROGS, RepairTest, Expect, Result, env_without_config, message, read, sha

NOBODY = 65534


def damaged_path(test, mailbox, name):
    """Where reconstruct sets a damaged file aside: PARTITION/damaged/UUID/NAME."""
    mbdir = test.mbpath(mailbox)
    uuid = os.path.basename(mbdir)
    part = mbdir[:mbdir.index(os.sep + "uuid" + os.sep)]
    return os.path.join(part, "damaged", uuid, name)


def replace_file(path, data, mtime=None):
    """Put data at path as a new inode (what an editor or rsync does)."""
    tmp = path + ".new"
    with open(tmp, "wb") as f:
        f.write(data)
    if mtime is not None:
        os.utime(tmp, (mtime, mtime))
    os.rename(tmp, path)


class TestFilesSymlink(RepairTest):
    """A symlink where a message file was: never followed."""

    def test_symlink_never_followed(self):
        """A message file replaced by a symlink: FETCH never serves the
        link's target, check reports it, reconstruct moves the link aside
        (the target is untouched) and treats the message as missing."""
        uid = self.facts["bovik"]["m5"]
        path = self.msgfile("user.bovik", uid)
        secret = os.path.join(self.st.root, "secret.txt")
        secret_bytes = b"root:SECRET:0:0\n".ljust(os.path.getsize(path), b"x")   # the size a FETCH expects
        with open(secret, "wb") as f:
            f.write(secret_bytes)
        os.unlink(path)
        os.symlink(secret, path)
        r = self.st.ms("fetch", "user.bovik", str(uid))
        self.assertEqual(r.rc, 1, r)
        self.assertNotIn(b"SECRET", r.out)
        self.assertIn("not a regular file", r.err)
        self.assert_symptom(r"user\.bovik: uid %d: file %d\. is a symbolic link, not a message file" % (uid, uid))
        lines = self.repair("reconstruct", "user.bovik")
        aside = damaged_path(self, "user.bovik", "%d." % uid)
        self.assert_lines(lines, r"^user\.bovik: file %d\. is a symbolic link, moved to %s$" % (uid, re.escape(aside)),
                          r"^user\.bovik: uid %d: file missing, message removed$" % uid, r"^user\.bovik: counters: ")
        self.assertTrue(os.path.islink(aside), "the link is kept, aside")
        self.assertEqual(os.readlink(aside), secret)
        self.assertEqual(read(secret), secret_bytes, "the target is untouched")
        self.assert_recovered(Expect(lost={("user.bovik", uid)}))
        self.assert_clean()

    def test_symlink_to_a_shared_message(self):
        """fred's name of a delivered message replaced by a symlink to
        bovik's (same bytes): still never followed; the bytes come back as a
        real hard link from the other names, nothing is lost."""
        uid = self.facts["dlv"]["fred"]
        path = self.msgfile("user.fred", uid)
        target = self.msgfile("user.bovik", self.facts["dlv"]["bovik"])
        os.unlink(path)
        os.symlink(target, path)
        self.assert_symptom(r"user\.fred: uid %d: file %d\. is a symbolic link" % (uid, uid))
        lines = self.repair("reconstruct", "user.fred")
        self.assert_lines(lines, r"^user\.fred: file %d\. is a symbolic link, moved to " % uid,
                          r"^user\.fred: uid %d: file missing, relinked from mailbox [0-9a-f-]{36} uid \d+$" % uid)
        st = os.lstat(path)
        self.assertTrue(os.path.isfile(path) and not os.path.islink(path))
        self.assertEqual(st.st_ino, os.stat(target).st_ino, "one file again (single instance)")
        self.assert_recovered()
        self.assert_clean()


class TestFilesNotRegular(RepairTest):
    """A directory or an empty file where a message file was."""

    def test_directory_in_place_of_a_message(self):
        """A directory (with a file in it) where a message file was: FETCH
        fails cleanly, reconstruct moves the whole directory aside with its
        content, and relinks the message from its other name (a copy)."""
        uid = self.facts["bovik"]["m2"]   # also copied to user.bovik.work: one file, two names
        path = self.msgfile("user.bovik", uid)
        os.unlink(path)
        os.mkdir(path)
        with open(os.path.join(path, "note"), "wb") as f:
            f.write(b"someone's data\n")
        r = self.st.ms("fetch", "user.bovik", str(uid))
        self.assertEqual(r.rc, 1, r)
        self.assertIn("not a regular file", r.err)
        self.assert_symptom(r"user\.bovik: uid %d: file %d\. is a directory, not a message file" % (uid, uid))
        lines = self.repair("reconstruct", "user.bovik")
        aside = damaged_path(self, "user.bovik", "%d." % uid)
        self.assert_lines(lines, r"^user\.bovik: file %d\. is a directory, moved to %s$" % (uid, re.escape(aside)),
                          r"^user\.bovik: uid %d: file missing, relinked from mailbox [0-9a-f-]{36} uid \d+$" % uid)
        self.assertEqual(read(os.path.join(aside, "note")), b"someone's data\n")
        self.assert_recovered()
        self.assert_clean()

    def test_empty_files(self):
        """A message file truncated to nothing is damage, not an empty
        message: set aside; the message comes back from another name when
        single-instance storage has one (carol's delivered copy), and is
        expunged otherwise (bovik's m4)."""
        uid = self.facts["bovik"]["m4"]
        path = self.msgfile("user.bovik", uid)
        size = os.path.getsize(path)
        with open(path, "r+b") as f:
            f.truncate(0)
        cuid = self.facts["dlv"]["carol"]
        replace_file(self.msgfile("user.carol", cuid), b"")
        self.assert_symptom(r"user\.bovik: uid %d: message file is empty, record says %d bytes" % (uid, size),
                            r"user\.carol: uid %d: message file is empty" % cuid)
        lines = self.repair("reconstruct")
        self.assert_lines(lines, r"^user\.bovik: file %d\. is empty, moved to " % uid,
                          r"^user\.bovik: uid %d: file missing, message removed$" % uid,
                          r"^user\.carol: file %d\. is empty, moved to " % cuid,
                          r"^user\.carol: uid %d: file missing, relinked from mailbox [0-9a-f-]{36} uid \d+$" % cuid,
                          r"^user\.bovik: counters: ")
        self.assertEqual(os.path.getsize(damaged_path(self, "user.bovik", "%d." % uid)), 0)
        self.assert_recovered(Expect(lost={("user.bovik", uid)}))
        self.assert_clean()


class TestFilesChanged(RepairTest):
    """Content changed under a UID: a new UID for it, the old one expunged
    (or given its old bytes back from another name)."""

    def test_edited_copy_split_off(self):
        """bovik's name of a message delivered to three users replaced by an
        edited version (a new inode, as an editor writes it): the edited
        bytes get a new UID in bovik's mailbox, with the flags (the same
        message: same envelope); bovik's old UID keeps the original bytes
        (relinked from fred's), and fred and carol are untouched."""
        uid = self.facts["dlv"]["bovik"]
        path = self.msgfile("user.bovik", uid)
        orig = read(path)
        edited = orig.replace(b"\r\n\r\n", b"\r\nX-Edited: by the admin\r\n\r\n", 1)
        replace_file(path, edited)
        self.assert_symptom(r"user\.bovik: uid %d: file has %d bytes, record says %d" % (uid, len(edited), len(orig)))
        lines = self.repair("reconstruct")
        self.assert_lines(lines, r"^user\.bovik: uid %d: file changed \(size %d -> %d\), adopted as uid (\d+) with its "
                          r"flags; uid %d relinked from mailbox [0-9a-f-]{36} uid \d+$" % (uid, len(orig), len(edited), uid),
                          r"^user\.bovik: counters: ", r"^user\.bovik: uidnext \d+ -> \d+$")
        after = self.assert_recovered(Expect(extra={"user.bovik": [sha(edited)]}))
        new = [u for u, m in after["mb"]["user.bovik"]["msgs"].items() if m["sha"] == sha(edited)]
        self.assertEqual(len(new), 1)
        self.assertEqual(read(path), orig, "the old UID has the original bytes")
        newpath = self.msgfile("user.bovik", new[0])
        self.assertEqual(read(newpath), edited)
        fred = os.stat(self.msgfile("user.fred", self.facts["dlv"]["fred"]))
        self.assertEqual(fred.st_ino, os.stat(path).st_ino, "the originals share one file again")
        self.assertNotEqual(fred.st_ino, os.stat(newpath).st_ino, "the edited bytes are a file of their own")
        self.assert_clean()

    def test_edited_in_place_same_size(self):
        """A file edited in place, same size (a message copied to a second
        mailbox: one inode, two names): check finds it without -G (the mtime
        is no longer the internal date), reconstruct gives both names a new
        UID with the flags, expunges the old UIDs (the original bytes are
        gone everywhere)."""
        uid = self.facts["bovik"]["m1"]   # \Seen todo $Important; also user.bovik.work uid 1
        path = self.msgfile("user.bovik", uid)
        data = read(path)
        edited = data.replace(b"line 0 of", b"LINE 0 of")
        self.assertEqual(len(edited), len(data))
        with open(path, "r+b") as f:
            f.write(edited)
        os.utime(path, (os.stat(path).st_mtime + 3600,) * 2)
        self.assert_symptom(r"user\.bovik: uid %d: file content does not match the record \(GUID\)" % uid,
                            r"user\.bovik\.work: uid 1: file content does not match the record \(GUID\)")
        lines = self.repair("reconstruct", "-r", "user.bovik")
        self.assert_lines(lines, r"^user\.bovik: uid %d: file changed \(guid %s\.\.\. -> %s\.\.\.\), adopted as uid \d+ "
                          r"with its flags; uid %d expunged$" % (uid, sha(data)[:16], sha(edited)[:16], uid),
                          r"^user\.bovik\.work: uid 1: file changed \(guid [0-9a-f]{16}\.\.\. -> [0-9a-f]{16}\.\.\.\), "
                          r"adopted as uid \d+ with its flags; uid 1 expunged$",
                          r"^user\.bovik(\.work)?: uidnext \d+ -> \d+$")
        # (seen_lost: the harness follows private seen state by digest, and the
        # digest changed; fred's view is checked by hand below)
        after = self.assert_recovered(Expect(renumbered={("user.bovik", uid), ("user.bovik.work", 1)},
                                             new_bytes={("user.bovik", uid): sha(edited),
                                                        ("user.bovik.work", 1): sha(edited)}, seen_lost=True))
        self.assertNotIn(uid, after["mb"]["user.bovik"]["msgs"])
        self.assertIn("\\Seen", after["seen"][("fred", "user.bovik.work")][sha(edited)],
                      "fred's private \\Seen followed the message to its new UID")
        self.assert_clean()


class TestFilesCyrus(RepairTest):
    """Message files of a Cyrus server copied into a mailbox directory."""

    def test_cyrus_files_dropped_in(self):
        """Message files of a Cyrus server copied into fred's INBOX, some
        over existing UIDs: foreign content never gets an existing UID or
        its flags. Free UIDs at or above UIDNEXT are adopted as they are;
        a collision gets a new UID without flags; the message it replaced
        comes back from its other names (a delivery) or, if its bytes are
        gone everywhere, is expunged."""
        fred = self.before["mb"]["user.fred"]
        un = fred["status"]["uidnext"]
        dlv = self.facts["dlv"]["fred"]
        f1 = self.facts["fred_f1"]
        cyrus = {n: message("cyrus-%d" % n, body_lines=n) for n in (dlv, f1, un, un + 1)}
        t = 1700000000
        for n, data in cyrus.items():
            replace_file(self.msgfile("user.fred", n), data, mtime=t + n)   # cp -p / rsync -t
        self.assert_symptom(r"user\.fred: uid %d: (file has|file content does not match)" % f1)
        lines = self.repair("reconstruct", "user.fred")
        self.assert_lines(lines,
                          r"^user\.fred: uid %d: file holds another message \(.*\), adopted as uid \d+ without flags; "
                          r"uid %d relinked from mailbox [0-9a-f-]{36} uid \d+$" % (dlv, dlv),
                          r"^user\.fred: uid %d: file holds another message \(.*\), adopted as uid \d+ without flags; "
                          r"uid %d expunged$" % (f1, f1),
                          r"^user\.fred: uid %d: adopted file %d\.$" % (un, un),
                          r"^user\.fred: uid %d: adopted file %d\.$" % (un + 1, un + 1),
                          r"^user\.fred: counters: ", r"^user\.fred: uidnext \d+ -> \d+$")
        after = self.assert_recovered(Expect(lost={("user.fred", f1)},
                                             extra={"user.fred": [sha(d) for d in cyrus.values()]}))
        for uid, m in after["mb"]["user.fred"]["msgs"].items():
            if m["sha"] in {sha(d) for d in cyrus.values()}:
                self.assertNotIn(uid, fred["msgs"], "foreign content under an existing UID")
                self.assertEqual(m["flags"], [], "foreign content with flags")
        self.assert_clean()


def as_user(uid, prog, *args):
    """Run a program as uid (setpriv, when we are root)."""
    argv = [PROGS[prog]] + [str(a) for a in args]
    if os.geteuid() == 0:
        argv = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups"] + argv
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env_without_config(), timeout=120)
    return Result([prog] + [str(a) for a in args], proc)


class TestFilesOwner(RepairTest):
    def setUp(self):
        super().setUp()
        if os.geteuid() != 0:
            self.skipTest("needs root: the store is given to another user (CI runs as root)")
        subprocess.run(["chown", "-R", "%d:%d" % (NOBODY, NOBODY), self.st.root], check=True)

    def owned_by_root(self):
        found = []
        for top, dirs, files in os.walk(self.st.root):
            for n in dirs + files:
                p = os.path.join(top, n)
                if os.lstat(p).st_uid == 0:
                    found.append(p)
        return found

    def test_root_refuses_a_store_owned_by_the_service_user(self):
        """Every tool run as root on a store another user owns refuses,
        names the owner, and creates or changes nothing."""
        fp = self.st.fingerprint()
        cmds = [("reconstruct",), ("reconstruct", "-m"), ("reconstruct", "-n", "user.bovik"), ("quota",),
                ("quota", "-f"), ("mbexamine", "user.bovik"), ("ctl_mboxlist", "-d"),
                ("mailstore", "check"), ("mailstore", "list"), ("mailstore", "cleanup")]
        for cmd in cmds:
            r = self.st.tool(*cmd)
            self.assertEqual(r.rc, 1, r)
            self.assertIn("refusing to run as root on a store owned by", r.err, r)
            self.assertIn("uid %d" % NOBODY, r.err, r)
            self.assertEqual(r.out, b"", r)
        r = self.st.ms("append", "user.bovik", input=message("as-root"))
        self.assertEqual(r.rc, 1, r)
        self.assertIn("refusing to run as root", r.err)
        self.assertEqual(self.owned_by_root(), [], "nothing may be left owned by root")
        self.assert_same_fingerprint(fp, self.st.fingerprint(), "a refused tool changed the store")
        # run as the owner, the same commands work
        r = as_user(NOBODY, "mailstore", "-C", self.st.conf, "check")
        self.assertEqual(r.rc, 0, r)
        r = as_user(NOBODY, "reconstruct", "-C", self.st.conf)
        self.assertEqual((r.rc, r.lines), (0, []), r)
        self.assertEqual(self.owned_by_root(), [])

    def test_unreadable_files(self):
        """An unreadable message file (EACCES) is an error in check and in
        reconstruct, which keep the record; reconstruct (-G too) and a
        mailbox whose directory cannot be read do not stop the run: the
        rest of the store is still repaired."""
        conf = self.st.conf
        uid = self.facts["bovik"]["m5"]
        path = self.msgfile("user.bovik", uid)
        os.chmod(path, 0)
        lists = self.mbpath("user.fred.lists")
        os.chmod(lists, 0)
        # other damage, same size and mtime: only -G finds it
        cuid = self.uid_of("user.carol", sha(message("c1")))
        c1 = self.msgfile("user.carol", cuid)
        data = read(c1)
        other = data.replace(b"message c1", b"message C9")
        replace_file(c1, other, mtime=os.stat(c1).st_mtime)
        os.chown(c1, NOBODY, NOBODY)
        r = as_user(NOBODY, "mailstore", "-C", conf, "check")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("error: user.bovik: uid %d: message file cannot be read: " % uid, r.text)
        self.assertIn("Permission denied", r.text)
        self.assertIn("error: user.fred.lists: mailbox directory unreadable", r.text)
        r = as_user(NOBODY, "reconstruct", "-C", conf, "user.bovik")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("reconstruct: user.bovik: uid %d: message file cannot be read, left as it is" % uid, r.err)
        self.assertEqual(r.lines, [], r)
        r = as_user(NOBODY, "reconstruct", "-C", conf, "-G")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("reconstruct: user.bovik: uid %d: message file cannot be read, left as it is" % uid, r.err)
        self.assertIn("reconstruct: user.fred.lists: left as it is: ", r.err)
        self.assertTrue(any(l.startswith("user.carol: uid %d: file holds another message" % cuid) for l in r.lines),
                        "the run went on past the unreadable file and directory: %r" % r)
        os.chmod(path, 0o640)
        os.chmod(lists, 0o750)
        r = as_user(NOBODY, "reconstruct", "-C", conf)
        self.assertEqual((r.rc, r.lines, r.err), (0, [], ""), r)
        r = as_user(NOBODY, "mailstore", "-C", conf, "check")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(self.owned_by_root(), [])
        subprocess.run(["chown", "-R", "0:0", self.st.root], check=True)   # the harness runs as root
        self.assert_recovered(Expect(renumbered={("user.carol", cuid)}, flags_lost={("user.carol", cuid)},
                                     new_bytes={("user.carol", cuid): sha(other)}))


if __name__ == "__main__":
    unittest.main()
