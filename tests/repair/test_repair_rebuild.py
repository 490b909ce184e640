#!/usr/bin/env python3
"""The damage catalogue, part "rebuild" (issue 8, points 3, 4 and 5's first
bullet): what `reconstruct -m` must keep, the HIGHESTMODSEQ high-water mark
kept in store.header, and `mailstore deliver` when a partition cannot take
the message.

  RebuildQuota     -m run twice, or killed and run again, keeps every quota
                   root and its limits (the roots are defined with their
                   mailbox, before store.header is ever rewritten);
  RebuildQuotaCheck check sees a quota root store.header lacks;
  RebuildBackup    with -B, the backup's name, ACL, UIDVALIDITY, annotations
                   and quota limits win over a store.header that is cut
                   short or missing;
  RebuildBackupHeader a sealed header wins over the backup; check sees a
                   damaged header, reconstruct rewrites it;
  RebuildModseq    a second -m moves HIGHESTMODSEQ only by the messages it
                   gave new MODSEQs (no 2^32 jump); a data.mdb put back from
                   a backup is seen by check and reconstruct raises
                   HIGHESTMODSEQ to the mark clients may have seen;
  RebuildDeliver   `mailstore deliver` to several recipients when the
                   message cannot be staged (a file-size limit standing in
                   for a full partition): a clean error per recipient.

Run with the programs in the environment, as test_repair.py says.
"""
import os
import re
import resource
import signal
import subprocess
import time
import unittest

from test_repair import *  # noqa: F401,F403 (the harness: Store, RepairTest, Expect, ...)
from test_repair import PROGS, USERS, all_keys, env_without_config, message, read, sha


def header_path(test, mailbox):
    return os.path.join(test.mbpath(mailbox), "store.header")


def header_path_of(test, mailbox):
    """store.header of a mailbox made by the test itself."""
    return os.path.join(test.ms_ok("path", mailbox).text.strip(), "store.header")


def cut_header(test, mailbox, before_key, keep=0):
    """Cut mailbox's store.header `keep` bytes into the line starting with
    before_key (a header cut short by a crash or a full disk)."""
    p = header_path(test, mailbox)
    text = read(p)
    at = text.index(b"\n" + before_key.encode()) + 1 + keep
    with open(p, "r+b") as f:
        f.truncate(at)
    return text


def lose_environment(test):
    os.unlink(os.path.join(test.st.configdir, "data.mdb"))
    lock = os.path.join(test.st.configdir, "lock.mdb")
    if os.path.exists(lock):
        os.unlink(lock)


def quota_limits(state):
    return {root: {k: v[0] for k, v in res.items()} for root, res in state["quota"].items()}


class TestRebuildQuota(RepairTest):
    def m_expect(self):
        return Expect(all_flags_lost=True, modseq_changed=all_keys(self.before), seen_lost=True, subs_lost=True,
                      marks_from_header=True)

    def test_m_twice_keeps_quota_limits(self):
        for _ in range(2):
            r = self.st.tool("reconstruct", "-m")
            self.assertEqual(r.rc, 0, r)
        after = self.assert_recovered(self.m_expect())
        self.assertEqual(quota_limits(after), quota_limits(self.before))
        self.assert_clean()

    def test_m_killed_and_rerun_keeps_quota_limits(self):
        """reconstruct -m killed at several moments, then run to the end:
        no kill point loses a quota root or a limit."""
        argv = [PROGS["reconstruct"], "-C", self.st.conf, "-m", "-q"]
        for delay in (0.02, 0.05, 0.1, 0.2, 0.35):
            p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env_without_config())
            time.sleep(delay)
            p.send_signal(signal.SIGKILL)
            p.wait()
        r = self.st.tool("reconstruct", "-m")
        self.assertEqual(r.rc, 0, r)
        after = self.assert_recovered(self.m_expect())
        self.assertEqual(quota_limits(after), quota_limits(self.before))
        self.assert_clean()



class TestRebuildQuotaCheck(RepairTest):
    def test_check_sees_a_root_missing_from_store_header(self):
        """A quota root the environment has and store.header lacks would be
        lost by the next -m: check says so, reconstruct rewrites the header."""
        self.damage("quota-add", "user.fred.lists")
        self.assert_symptom(r"^error: user\.fred\.lists: quota root missing from store\.header")
        r = self.st.tool("reconstruct", "user.fred.lists")
        self.assertEqual(r.rc, 0, r)
        self.assertIn("user.fred.lists: store.header's quota root differs from the mailbox list's, rewritten", r.lines)
        self.assertIn(b"quota: STORAGE=1000 ", read(header_path(self, "user.fred.lists")))
        r = self.st.tool("quota", "-f")  # the damage left user.fred's usage counting the new root's mailbox
        self.assertEqual(r.rc, 0, r)
        self.assert_clean()


class TestRebuildBackup(RepairTest):
    def expect(self):
        return Expect(modseq_changed=all_keys(self.before), marks_from_header=True)

    def test_headers_cut_short_and_environment_lost(self):
        """store.header cut inside the ACL line (the owner's rights half
        gone) and before the quota and annotation lines, and data.mdb lost:
        -m -B takes names, ACLs, annotations and limits from the backup."""
        cut_header(self, "user.bovik", "acl: ", keep=12)
        cut_header(self, "shared.news", "quota: ", keep=9)
        # cut at a line end: it looks like a header of an older version
        cut_header(self, "user.bovik.Sent", "annotation: ")
        r = self.check()
        self.assertEqual(r.rc, 1, r)
        for name in ("user.bovik", "shared.news"):
            self.assertTrue(any(re.search(r"^error: %s: store\.header is damaged" % re.escape(name), l)
                                for l in r.lines), (name, r))
        self.assertTrue(any(re.search(r"^notice: user\.bovik\.Sent: store\.header is not sealed", l)
                            for l in r.lines), r)
        lose_environment(self)
        r = self.st.tool("reconstruct", "-m", "-B", self.st.backup)
        self.assertEqual(r.rc, 0, r)
        for name, how in (("user.bovik", "damaged"), ("shared.news", "damaged"), ("user.bovik.Sent", "not sealed")):
            self.assertIn("%s: store.header %s: name, ACL, UIDVALIDITY, annotations and quota taken from the "
                          "backup" % (name, how), r.lines)
        self.assert_recovered(self.expect())
        self.assert_clean()

    def test_header_missing_and_environment_lost(self):
        """No store.header at all: the backup names the mailbox (it does not
        land in lost+found) and gives its ACL, UIDVALIDITY and limits."""
        for name in ("shared.news", "user.fred.lists"):
            os.unlink(header_path(self, name))
        self.assert_symptom(r"^error: shared\.news: store\.header is missing")
        lose_environment(self)
        r = self.st.tool("reconstruct", "-m", "-B", self.st.backup)
        self.assertEqual(r.rc, 0, r)
        self.assertFalse([l for l in r.lines if "lost+found" in l], r)
        self.assert_recovered(self.expect())
        self.assert_clean()



class TestRebuildBackupHeader(RepairTest):
    def test_intact_header_wins_over_the_backup(self):
        """A change made after the backup lives in the sealed store.header:
        -m -B keeps it (the backup only fills in what a header lost)."""
        self.ms_ok("setacl", "shared.team", "fred", "lr")
        self.ms_ok("setquota", "shared.news", "STORAGE=600", "MESSAGE=12")
        lose_environment(self)
        r = self.st.tool("reconstruct", "-m", "-B", self.st.backup)
        self.assertEqual(r.rc, 0, r)
        acl = {o["id"]: o["rights"] for o in self.ms_ok("getacl", "shared.team", json_out=True).json()}
        self.assertEqual(acl.get("fred"), "lr")
        q = {o["resource"]: o["limit"] for o in self.ms_ok("getquota", "shared.news", json_out=True).json()}
        self.assertEqual((q["STORAGE"], q["MESSAGE"]), (600, 12))
        self.assert_clean()

    def test_damaged_header_with_the_environment_intact(self):
        cut_header(self, "user.carol", "acl: ", keep=3)
        self.assert_symptom(r"^error: user\.carol: store\.header is damaged")
        lines = self.repair("reconstruct", "user.carol")
        self.assert_lines(lines, r"^user\.carol: store\.header damaged, rewritten$")
        self.assertTrue(read(header_path(self, "user.carol")).decode().endswith("\n"))
        self.assert_recovered()
        self.assert_clean()


class TestRebuildModseq(RepairTest):
    def status(self, name):
        return self.ms_ok("status", name, json_out=True).json()[0]

    def test_second_m_moves_highestmodseq_by_its_messages_only(self):
        r = self.st.tool("reconstruct", "-m", "-B", self.st.backup)
        self.assertEqual(r.rc, 0, r)
        first = {n: self.status(n) for n in self.before["mb"]}
        for n, m in self.before["mb"].items():
            self.assertGreaterEqual(first[n]["highestmodseq"], m["status"]["highestmodseq"], n)
        r = self.st.tool("reconstruct", "-m", "-B", self.st.backup)
        self.assertEqual(r.rc, 0, r)
        for n in self.before["mb"]:
            s = self.status(n)
            self.assertEqual(s["uidvalidity"], first[n]["uidvalidity"], n)
            self.assertEqual(s["uidnext"], first[n]["uidnext"], n)
            # every message gets one new MODSEQ above the mark: no jump
            self.assertEqual(s["highestmodseq"], first[n]["highestmodseq"] + s["messages"], n)
        self.assert_recovered(Expect(modseq_changed=all_keys(self.before), marks_from_header=True))
        self.assert_clean()

    def test_data_mdb_put_back_from_a_backup(self):
        """Changes after the backup, then data.mdb restored from it: check
        sees HIGHESTMODSEQ below store.header's mark, reconstruct raises it
        to the mark: never below what clients saw."""
        for i in range(3):
            self.ms_ok("store", "user.bovik", "1:*", "+FLAGS" if i % 2 == 0 else "-FLAGS", "\\Flagged")
        seen = self.status("user.bovik")["highestmodseq"]
        data = os.path.join(self.st.configdir, "data.mdb")
        with open(os.path.join(self.st.backup, "data.mdb"), "rb") as f, open(data, "wb") as g:
            g.write(f.read())
        os.unlink(os.path.join(self.st.configdir, "lock.mdb"))
        self.assertLess(self.status("user.bovik")["highestmodseq"], seen)
        self.assert_symptom(r"^error: user\.bovik: HIGHESTMODSEQ \d+ is below store\.header's high-water mark")
        lines = self.repair("reconstruct")
        self.assert_lines(lines, r"^user\.bovik: highestmodseq \d+ -> \d+$", r"^\S+: highestmodseq \d+ -> \d+$")
        self.assertGreaterEqual(self.status("user.bovik")["highestmodseq"], seen)
        self.assert_clean()

    def test_mark_is_kept_ahead_of_changes(self):
        """store.header's mark is at or above every MODSEQ, without being
        rewritten at every change."""
        p = header_path(self, "shared.team")
        marks = set()
        for i in range(6):
            self.ms_ok("store", "shared.team", "1", "+FLAGS" if i % 2 == 0 else "-FLAGS", "\\Answered")
            hdr = dict(l.split(": ", 1) for l in read(p).decode().splitlines()[1:])
            self.assertGreaterEqual(int(hdr["highestmodseq"]), self.status("shared.team")["highestmodseq"])
            marks.add(hdr["highestmodseq"])
        self.assertEqual(len(marks), 1, "one header write serves many changes")


    def test_mark_of_a_new_mailbox(self):
        """Creating a mailbox writes its header twice (its first MODSEQ
        raises the mark inside the transaction, then the header of the new
        mailbox is written): the second write must not take the mark back."""
        self.ms_ok("create", "user.carol.new")
        for i in range(3):
            self.ms_ok("append", "user.carol.new", input=message("new%d" % i))
        hdr = dict(l.split(": ", 1) for l in read(header_path_of(self, "user.carol.new")).decode().splitlines()[1:])
        self.assertGreaterEqual(int(hdr["highestmodseq"]), self.status("user.carol.new")["highestmodseq"])
        lose_environment(self)
        r = self.st.tool("reconstruct", "-m")
        self.assertEqual(r.rc, 0, r)
        self.assertGreater(self.status("user.carol.new")["highestmodseq"], int(hdr["highestmodseq"]))
        self.assert_clean()


class TestRebuildDeliver(RepairTest):
    def test_deliver_when_the_message_cannot_be_staged(self):
        # the limit is above every file the store has, the message above it
        limit = max(1 << 20, os.path.getsize(os.path.join(self.st.configdir, "data.mdb")) + (1 << 16))
        big = message("big", body_lines=(limit + (1 << 19)) // 24)

        def small_files():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

        argv = [PROGS["mailstore"], "-C", self.st.conf, "deliver", "bovik", "fred", "carol"]
        p = subprocess.run(argv, input=big, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env_without_config(),
                           preexec_fn=small_files, timeout=60)
        err = p.stderr.decode("utf-8", "replace")
        self.assertEqual(p.returncode, 1, (p.returncode, p.stdout, err))
        self.assertNotIn("reconstruct", err)
        lines = p.stdout.decode().splitlines()
        self.assertEqual(sorted(l.split()[0] for l in lines), sorted(USERS), lines)
        for l in lines:
            self.assertRegex(l, r"^\S+ ERROR .*File too large")
        self.assert_recovered()
        self.assert_clean()
        r = self.st.ms("deliver", "bovik", "fred", "carol", input=big)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(len(r.lines), 3)


def load_tests(loader, tests, pattern):
    """Only this module's classes (the star import brings test_repair's)."""
    mine = [c for n, c in sorted(globals().items()) if n.startswith("TestRebuild")]
    return unittest.TestSuite(loader.loadTestsFromTestCase(c) for c in mine)


if __name__ == "__main__":
    unittest.main()
