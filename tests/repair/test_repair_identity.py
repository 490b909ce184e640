#!/usr/bin/env python3
"""Damage catalogue: a partition or the environment that is missing (issue 8,
points 1 and 2). Nothing here may ever be taken for "every message deleted":
the tools refuse, say why (naming the partition, its path, the likely cause,
the command that helps), and lose nothing; once the disk is back everything
is there. docs/admin.md, "Store identity", says what the administrator sees.

Run one class with
    MAILSTORE=... RECONSTRUCT=... python3 -m unittest -v test_repair_identity.TestIdentityPartitionGone
"""
import os
import re
import shutil
import unittest
import uuid

from test_repair import *  # noqa: F401,F403 (the catalogue's harness)
from test_repair import Expect, RepairTest, message, read

MARKER = "libstore.id"


class IdentityTest(RepairTest):
    """Helpers shared by the identity classes."""

    def unmount(self, part="archive"):
        """The partition's disk is gone: an empty directory (the mount point)
        in its place. Returns where its real content waits."""
        path = self.st.parts[part]
        real = path + ".real"
        os.rename(path, real)
        os.mkdir(path)
        self.addCleanup(self.remount, part)
        return real

    def remount(self, part="archive"):
        path = self.st.parts[part]
        real = path + ".real"
        if not os.path.isdir(real):
            return
        self.assertEqual(os.listdir(path), [], "nothing may be created in an unmounted partition's mount point")
        os.rmdir(path)
        os.rename(real, path)

    def tree(self, top):
        """Every file under top with its size, mtime and inode (what must stay as it is)."""
        out = {}
        for dirpath, _, files in os.walk(top):
            for fn in files:
                st = os.lstat(os.path.join(dirpath, fn))
                out[os.path.relpath(os.path.join(dirpath, fn), top)] = (st.st_size, st.st_mtime_ns, st.st_ino)
        return out

    def assert_refused(self, r, *patterns):
        self.assertEqual(r.rc, 1, r)
        for p in patterns:
            self.assertRegex(r.err, p, r)


class TestIdentityPartitionGone(IdentityTest):
    """Partition 'archive' replaced by an empty directory (an unmounted disk)."""

    def test_every_tool_refuses_and_nothing_is_lost(self):
        archive = self.st.parts["archive"]
        real = self.unmount("archive")
        kept = self.tree(real)
        why = r"partition 'archive' \(%s\) is unavailable: .*not mounted\?" % re.escape(archive)
        # check: an error naming the partition, its path and the likely cause
        r = self.check()
        self.assertEqual(r.rc, 1, r)
        self.assertTrue(any(re.search("^error: " + why, l) for l in r.lines), r)
        # reconstruct of the mailbox, of everything, -f and -m: refused
        self.assert_refused(self.st.tool("reconstruct", "user.bovik.archive"), why)
        self.assert_refused(self.st.tool("reconstruct"), why)
        self.assert_refused(self.st.tool("reconstruct", "-f"), why)
        self.assert_refused(self.st.tool("reconstruct", "-m"), why)
        self.assertTrue(os.path.exists(os.path.join(self.st.configdir, "data.mdb")), "-m moved nothing aside")
        # cleanup: exit 1, nothing removed there
        self.assert_refused(self.st.ms("cleanup"), why)
        # writes and reads of that partition fail; nothing lands in the mount point
        self.assert_refused(self.st.ms("append", "user.bovik.archive", input=message("late")), why)
        self.assert_refused(self.st.ms("fetch", "user.bovik.archive", "1"), why)
        self.assert_refused(self.st.ms("create", "user.bovik.more", "--partition", "archive"), why)
        self.assertEqual(os.listdir(archive), [])
        # the other partition works meanwhile
        self.ms_ok("status", "user.bovik")
        self.assertEqual(self.tree(real), kept, "the real partition was not touched")
        # the disk is back: every message is there, the store is clean
        self.remount("archive")
        self.assert_recovered()
        self.assert_clean()

    def test_deliver_into_unmounted_partition(self):
        """An INBOX on the unmounted partition: deliver fails for that
        recipient (a server answers 4xx), the others get the message, and no
        file is made in the mount point to be dropped later as "missing"."""
        self.ms_ok("create", "user.dave", "--partition", "archive")
        archive = self.st.parts["archive"]
        self.unmount("archive")
        r = self.st.ms("deliver", "dave", "carol", input=message("to dave and carol"))
        self.assertEqual(r.rc, 1, r)
        self.assertRegex(r.text, r"(?m)^dave ERROR partition 'archive' .* is unavailable")
        self.assertRegex(r.text, r"(?m)^carol \d+$")
        self.assertEqual(os.listdir(archive), [])
        self.remount("archive")
        self.assertEqual(self.st.ms("status", "user.dave", json_out=True).json()[0]["messages"], 0)
        self.ms_ok("deliver", "dave", input=message("after the remount"))
        self.assertEqual(self.st.ms("status", "user.dave", json_out=True).json()[0]["messages"], 1)
        self.assert_clean()


class TestIdentityForeignPartition(IdentityTest):
    """Partition 'archive' carries another store's marker (the wrong disk)."""

    def test_foreign_marker_refused(self):
        marker = os.path.join(self.st.parts["archive"], MARKER)
        own = read(marker)
        other = str(uuid.uuid4())
        with open(marker, "w") as f:
            f.write(other + "\n")
        why = r"partition 'archive' .* names another store \(%s\)" % other
        r = self.check()
        self.assertEqual(r.rc, 1, r)
        self.assertTrue(any(re.search(why, l) for l in r.lines), r)
        self.assert_refused(self.st.tool("reconstruct", "user.bovik.archive"), why)
        self.assert_refused(self.st.ms("append", "user.bovik.archive", input=message("wrong disk")), why)
        # the upgrade command never labels over another store's marker
        self.assert_refused(self.st.ms("init", "--upgrade", "--force"), r"not labelled")
        self.assertEqual(read(marker), (other + "\n").encode())
        with open(marker, "wb") as f:
            f.write(own)
        self.assert_recovered()
        self.assert_clean()


class TestIdentityEnvironment(IdentityTest):
    """data.mdb deleted; the whole configdirectory lost."""

    def test_data_mdb_deleted(self):
        data = os.path.join(self.st.configdir, "data.mdb")
        os.unlink(data)
        for args in (("list",), ("create", "user.bovik.Sent"), ("create", "user.new"), ("status", "user.bovik"),
                     ("check",), ("cleanup",)):
            r = self.st.ms(*args)
            self.assert_refused(r, r"data\.mdb is missing.*reconstruct -m")
            self.assertFalse(os.path.exists(data), "%s recreated an empty environment" % (args,))
        for prog, args in (("reconstruct", ()), ("quota", ("-f",)), ("mbexamine", ("user.bovik",)),
                           ("ctl_mboxlist", ("-d",))):
            r = self.st.tool(prog, *args)
            self.assertEqual(r.rc, 1, r)
            self.assertIn("reconstruct -m", r.err)
            self.assertFalse(os.path.exists(data), prog)
        self.assert_refused(self.st.ms("init"), r"reconstruct -m")
        # reconstruct -m rebuilds it; no mailbox was created under a real one's name
        lines = self.repair("reconstruct", "-m")
        self.assertFalse([l for l in lines if "lost+found" in l], lines)
        every = {k for k in self._all_keys()}
        self.assert_recovered(Expect(all_flags_lost=True, modseq_changed=every, seen_lost=True, subs_lost=True,
                                     marks_from_header=True))
        self.assert_clean()

    def test_configdirectory_lost(self):
        """The whole configdirectory is gone (its disk replaced): no command
        creates a store over the partitions; reconstruct -m takes the
        identity from them."""
        shutil.rmtree(self.st.configdir)
        self.assert_refused(self.st.ms("list"), r"no store in .*mailstore init")
        self.assert_refused(self.st.ms("init"), r"already holds a store's messages")
        self.assertFalse(os.path.exists(os.path.join(self.st.configdir, "data.mdb")))
        self.repair("reconstruct", "-m")
        ids = {read(os.path.join(d, MARKER)) for d in [self.st.configdir] + list(self.st.parts.values())}
        self.assertEqual(len(ids), 1, "the rebuilt store keeps its partitions' identity")
        every = {k for k in self._all_keys()}
        self.assert_recovered(Expect(all_flags_lost=True, modseq_changed=every, seen_lost=True, subs_lost=True,
                                     marks_from_header=True))
        self.assert_clean()

    def _all_keys(self):
        return {(n, u) for n, m in self.before["mb"].items() for u in m["msgs"]}


class TestIdentityLegacy(IdentityTest):
    """A store made before identity markers existed, and the upgrade command."""

    def strip_markers(self):
        for d in [self.st.configdir] + list(self.st.parts.values()):
            os.unlink(os.path.join(d, MARKER))

    def test_upgrade(self):
        self.strip_markers()
        for prog, args in (("mailstore", ("list",)), ("reconstruct", ()), ("mailstore", ("check",))):
            r = run(prog, ["-C", self.st.conf] + list(args))
            self.assert_refused(r, r"mailstore init --upgrade")
        # with a partition not mounted, the upgrade refuses and writes nothing
        self.unmount("archive")
        r = self.st.ms("init", "--upgrade")
        self.assert_refused(r, r"not labelled")
        self.assertRegex(r.text, r"error: partition 'archive' .* holds none of the mailbox directories")
        for d in [self.st.configdir] + list(self.st.parts.values()):
            self.assertFalse(os.path.exists(os.path.join(d, MARKER)), d)
        self.remount("archive")
        r = self.st.ms("init", "--upgrade")
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(len([l for l in r.lines if "identity marker written" in l]), 3, r)
        again = self.st.ms("init", "--upgrade")
        self.assertEqual((again.rc, again.lines), (0, []), again)
        self.assert_recovered()
        self.assert_clean()

    def test_new_partition_is_labelled(self):
        """A partition added to store.conf later is unavailable until the
        upgrade command labels it (it is empty and the store lists nothing there)."""
        extra = os.path.join(self.st.root, "part-extra")
        os.mkdir(extra)
        with open(self.st.conf, "a") as f:
            f.write("partition-extra: %s\n" % extra)
        self.assert_refused(self.st.ms("create", "user.new", "--partition", "extra"), r"'extra' .* is unavailable")
        self.assertEqual(self.st.ms("init", "--upgrade").rc, 0)
        self.ms_ok("create", "user.new", "--partition", "extra")
        self.ms_ok("append", "user.new", input=message("on the new partition"))


class TestIdentityMissingDirectory(IdentityTest):
    """A mailbox directory missing as a whole, its partition in place."""

    def test_refused_without_the_flag(self):
        path = self.mbpath("user.bovik.work")
        aside = os.path.join(self.tmp, "work-aside")
        os.rename(path, aside)  # kept, to be restored as it was (hard links too)
        self.assert_symptom(r"^error: user\.bovik\.work: mailbox directory .* is missing as a whole")
        fp = self.st.fingerprint()
        for args in (("user.bovik.work",), ()):
            r = self.st.tool("reconstruct", *args)
            self.assert_refused(r, r"user\.bovik\.work: mailbox directory .* is missing as a whole",
                                r"--expunge-missing-directory")
            self.assertFalse([l for l in r.lines if "user.bovik.work" in l], r)
            if args:
                self.assert_same_fingerprint(fp, self.st.fingerprint(), "a refused reconstruct changed the store")
        # (the whole-store run repairs the other mailboxes: their headers' marks are refreshed)
        self.assertFalse(os.path.exists(path))
        # the directory restored: nothing was lost
        os.rename(aside, path)
        self.assert_recovered()
        self.assert_clean()


if __name__ == "__main__":
    unittest.main()
