#!/usr/bin/env python3
"""The damage catalogue of issue 4: break a rich store in one way, repair it
with the admin tools, and prove that nothing was lost.

Every test
  1. copies a rich store, built once per ctest run by the fixture test
     repair_world, else once per process (see world()): several users,
     shared folders, a second partition, ACLs, quotas, subscriptions, private
     seen state, keywords, annotations, single-instance messages, an expunged
     message awaiting cleanup, a cleaned-up one; and its recorded state
     (`mailstore --json` list, status, info, getacl, getannotation,
     getquota, lsub, `--as USER info`, and the bytes of every message);
  2. damages it in one way (the `damage` helper writes LMDB records behind
     the library's back; files are damaged directly);
  3. shows the symptom with `mailstore check` (what an admin sees first);
  4. repairs with the tool an admin would use (docs/admin.md, "Repair"):
     first with -n (which must report the same lines and change nothing,
     not one byte of data.mdb or one file), then for real;
  5. asserts the report lines, that nothing was lost (every message's bytes
     fetchable, under its UID or a new one), that flags survived where they
     can, that `mailstore check` is clean, and that a second run prints
     nothing.

Programs come from the environment (ctest sets them): MAILSTORE,
RECONSTRUCT, QUOTA, MBEXAMINE, CTL_MBOXLIST, DAMAGE. Run one test with
    MAILSTORE=build/mailstore ... python3 -m unittest -v \
        test_repair.TestMessages.test_record_deleted
LIBSTORE_TEST_KEEP=1 keeps the stores (their paths are printed).
Each class is one ctest test (repair_NAME) and runs in its own process: keep
a class to a handful of tests, so that it stays far below its timeout under
ASan on a busy machine.
"""
import calendar
import collections
import hashlib
import json
import os
import pickle
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

PROGS = {name: os.environ.get(name.upper(), "") for name in
         ("mailstore", "reconstruct", "quota", "mbexamine", "ctl_mboxlist", "damage")}
KEEP = bool(os.environ.get("LIBSTORE_TEST_KEEP"))

USERS = ("bovik", "fred", "carol")
# (user, mailbox) pairs whose private view of \Seen is recorded
SEEN_VIEWS = (("fred", "shared.news"), ("bovik", "shared.news"), ("fred", "user.bovik.work"),
              ("carol", "shared.team"))


# --------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------

def message(tag, body_lines=3, multipart=False):
    hdr = ("From: Sender %s <s-%s@example.com>\r\n"
           "To: bovik@example.org, fred@example.org\r\n"
           "Subject: message %s\r\n"
           "Date: Sat, 21 Nov 2026 10:00:00 +0000\r\n"
           "Message-ID: <%s@example.com>\r\n" % (tag, tag, tag, tag))
    if not multipart:
        body = "".join("line %d of message %s\r\n" % (i, tag) for i in range(body_lines))
        return (hdr + "\r\n" + body).encode()
    return (hdr + "MIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=\"b-%s\"\r\n\r\n"
            "--b-%s\r\nContent-Type: text/plain\r\n\r\nhello %s\r\n"
            "--b-%s\r\nContent-Type: message/rfc822\r\n\r\n"
            "Subject: inner %s\r\nFrom: carol@example.net\r\n\r\ninner body\r\n"
            "--b-%s--\r\n" % (tag, tag, tag, tag, tag, tag)).encode()


def sha(data):
    return hashlib.sha256(data).hexdigest()


def read(path, mode="rb"):
    with open(path, mode) as f:
        return f.read()


MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def epoch(imap_date):
    """'21-Nov-2026 10:00:00 +0100' -> seconds since the epoch (UTC)."""
    m = re.match(r"^ ?(\d+)-(\w{3})-(\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)$", imap_date)
    assert m, imap_date
    t = calendar.timegm((int(m.group(3)), MONTHS.index(m.group(2)) + 1, int(m.group(1)),
                         int(m.group(4)), int(m.group(5)), int(m.group(6))))
    off = (int(m.group(8)) * 60 + int(m.group(9))) * 60
    return t - off if m.group(7) == "+" else t + off


# --------------------------------------------------------------------------
# Running programs
# --------------------------------------------------------------------------

def lmdb_fault_under_sanitizer(err):
    """In a sanitizer build the tools install no crash guard
    (tools/crash_guard.h): a memory fault inside LMDB on garbage pages (LMDB
    in one of the top frames, also when it faulted in a libc memcpy) is
    reported by ASan, or an LMDB assertion aborts. Only those are expected
    there; any other sanitizer report is a finding."""
    if re.search(r"mdb\.c:\d+: Assertion", err):
        return True
    m = re.search(r"ERROR: AddressSanitizer: (SEGV|BUS) .*?\n((?:.*\n){0,12})", err)
    return bool(m and re.search(r"#[0-5] .*liblmdb", m.group(2)))


class Result:
    def __init__(self, argv, proc):
        self.argv = argv
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr.decode("utf-8", "replace")

    @property
    def text(self):
        return self.out.decode("utf-8", "replace")

    @property
    def lines(self):
        return self.text.splitlines()

    def json(self):
        return [json.loads(line) for line in self.text.splitlines()]

    def __repr__(self):
        return "%s -> %d\nstdout: %s\nstderr: %s" % (" ".join(self.argv), self.rc, self.text[:3000], self.err[:3000])


def env_without_config():
    env = dict(os.environ)
    env.pop("LIBSTORE_CONFIG", None)
    if LeakCheck.off:
        env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "") + ":detect_leaks=0"
    return env


def without_progress(err):
    """stderr without the progress lines a run longer than a second prints
    (TestTools.test_progress_on_a_long_run checks their form): under ASan on
    a busy machine any repair may take that long."""
    return "".join(l for l in err.splitlines(True)
                   if not re.match(r"\S+: (working: \d+ s, .* so far|done after \d+\.\d s, )", l))


class LeakCheck:
    off = False


def without_leak_check(fn):
    """Run fn's tool invocations without LeakSanitizer. For snapshot() only:
    its hundred read-only queries per test (list, status, info, fetch, ...)
    are leak-checked by the e2e tests, and under ASan the leak scan at exit
    is half the cost of each run. Every run that damages, checks or repairs
    keeps the leak check."""
    def wrapper(*args, **kw):
        LeakCheck.off = True
        try:
            return fn(*args, **kw)
        finally:
            LeakCheck.off = False
    return wrapper


def run(prog, args, input=b"", timeout=120):
    argv = [PROGS[prog]] + [str(a) for a in args]
    proc = subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          env=env_without_config(), timeout=timeout)
    return Result([prog] + [str(a) for a in args], proc)


# --------------------------------------------------------------------------
# A store on disk
# --------------------------------------------------------------------------

class Store:
    """A store in directory root: store.conf, config/, part-default/,
    part-archive/, and backup/ (a `mailstore backup` taken once built)."""

    PARTITIONS = ("default", "archive")

    def __init__(self, root):
        self.root = root
        self.conf = os.path.join(root, "store.conf")
        self.configdir = os.path.join(root, "config")
        self.parts = {p: os.path.join(root, "part-" + p) for p in self.PARTITIONS}
        self.backup = os.path.join(root, "backup")

    def write_conf(self):
        lines = ["# repair catalogue store",
                 "configdirectory: " + self.configdir]
        lines += ["partition-%s: %s" % (p, d) for p, d in self.parts.items()]
        lines += ["admins: admin", "quota_default_storage: 10240"]
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")

    def init(self):
        """Create the store (creation is explicit: mailstore init)."""
        must(self.ms("init"))

    def clone(self, dst):
        """A copy (hard links and mtimes kept) at dst, with its own store.conf."""
        os.rmdir(dst)
        subprocess.run(["cp", "-a", self.root, dst], check=True)
        s = Store(dst)
        s.write_conf()
        return s

    # what a test may look at
    def tool(self, prog, *args, input=b""):
        return run(prog, ["-C", self.conf] + list(args), input=input)

    def ms(self, *args, input=b"", as_user=None, json_out=False):
        glob = ["-C", self.conf] + (["--as", as_user] if as_user else []) + (["--json"] if json_out else [])
        return run("mailstore", glob + list(args), input=input)

    def fingerprint(self):
        """Every byte of data.mdb and every file under the partitions and the
        configuration directory (name, size, mtime, inode, links), except
        LMDB's lock file, the lock directory and the disk reserve."""
        fp = {"/": sorted(os.listdir(self.root)),
              "config/": sorted(os.listdir(self.configdir)) if os.path.isdir(self.configdir) else None}
        for top in [self.configdir] + list(self.parts.values()):
            for dirpath, dirnames, filenames in os.walk(top):
                rel = os.path.relpath(dirpath, self.root)
                if rel.startswith(os.path.join("config", "lock")):
                    continue
                fp[rel + "/"] = None
                for fn in filenames:
                    p = os.path.join(dirpath, fn)
                    relp = os.path.join(rel, fn)
                    if relp in (os.path.join("config", "lock.mdb"), os.path.join("config", "reserve")):
                        continue
                    st = os.lstat(p)
                    val = (st.st_size, st.st_mtime_ns, st.st_ino, st.st_nlink)
                    if fn == "data.mdb" or fn == "store.header":
                        with open(p, "rb") as f:
                            val += (sha(f.read()),)
                    fp[relp] = val
        return fp


# --------------------------------------------------------------------------
# The rich store, built once per process
# --------------------------------------------------------------------------

class Built:
    store = None
    state = None
    facts = None
    tmp = None


def must(r):
    if r.rc != 0:
        raise AssertionError("setup step failed: %r" % r)
    return r


def build_world(st):
    """Fill store st. Returns facts: UIDs and digests the tests refer to."""
    ms = lambda *a, **kw: must(st.ms(*a, **kw))
    facts = {}
    for name in ("user.bovik", "user.bovik.work", "user.bovik.Sent", "user.fred", "user.fred.lists",
                 "user.carol", "shared.news", "shared.team"):
        ms("create", name)
    ms("create", "user.bovik.archive", "--partition", "archive")

    def append(mb, tag, flags=None, second=0, **kw):
        args = ["append", mb, "--date", "0%d-Nov-2026 10:00:%02d +0000" % (1 + second // 60, second % 60)]
        if flags is not None:
            args += ["--flags", flags]
        r = ms(*args, input=message(tag, **kw))
        return int(r.text)

    b = facts["bovik"] = {}
    b["m1"] = append("user.bovik", "m1", "\\Seen todo $Important", 1)
    b["m2"] = append("user.bovik", "m2", "\\Flagged", 2, multipart=True)
    b["m3"] = append("user.bovik", "m3", "\\Answered \\Seen", 3, body_lines=40)
    b["m4"] = append("user.bovik", "m4", None, 4, body_lines=20)
    b["m5"] = append("user.bovik", "m5", "\\Draft later", 5, body_lines=7)
    # one delivery to three users: one file, three links
    r = ms("deliver", "bovik", "fred", "carol", input=message("dlv", body_lines=5))
    dl = dict(line.split() for line in r.lines)
    facts["dlv"] = {u: int(dl[u]) for u in USERS}
    facts["dlv_sha"] = sha(message("dlv", body_lines=5))
    ms("copy", "user.bovik", "%d:%d" % (b["m1"], b["m2"]), "user.bovik.work")
    ms("copy", "user.bovik", str(b["m3"]), "user.bovik.archive")
    append("user.bovik.Sent", "sent1", "\\Seen", 10)
    facts["fred_f1"] = append("user.fred", "f1", None, 11)
    append("user.fred", "f2", "\\Seen", 12)
    for i, tag in enumerate(("l1", "l2", "l3")):
        append("user.fred.lists", tag, None, 20 + i)
    append("user.carol", "c1", "\\Flagged", 30)
    for i, tag in enumerate(("n1", "n2", "n3")):
        append("shared.news", tag, None, 40 + i)
    append("shared.team", "t1", None, 50)

    # ACLs, private seen state
    ms("setacl", "shared.news", "anyone", "lr")
    ms("setacl", "shared.news", "fred", "lrs")
    ms("setacl", "shared.news", "bovik", "lrswi")
    ms("setacl", "shared.team", "carol", "lrswipkxtean")
    ms("setacl", "user.bovik.work", "fred", "lrs")
    ms("store", "shared.news", "1:2", "+FLAGS", "\\Seen", as_user="fred")
    ms("store", "shared.news", "1", "+FLAGS", "\\Seen", as_user="bovik")
    ms("store", "user.bovik.work", "1", "+FLAGS", "\\Seen", as_user="fred")
    ms("store", "shared.team", "1", "+FLAGS", "\\Seen \\Flagged", as_user="carol")
    # quotas (user INBOXes are roots by quota_default_storage)
    ms("setquota", "user.bovik", "STORAGE=10240", "MESSAGE=100")
    ms("setquota", "shared.news", "STORAGE=500", "MESSAGE=10")
    # subscriptions (one names a mailbox that does not exist)
    for u, mb in (("bovik", "user.bovik.work"), ("bovik", "shared.news"), ("bovik", "user.bovik.Sent"),
                  ("bovik", "user.bovik.nonexistent"), ("fred", "shared.news"), ("fred", "user.bovik.work"),
                  ("carol", "shared.team")):
        ms("subscribe", u, mb)
    # annotations
    ms("setannotation", "shared.news", "/shared/comment", "Company news")
    ms("setannotation", "user.bovik.Sent", "/private/specialuse", "\\Sent", as_user="bovik")
    # an expunge whose file and tombstone cleanup removed: fred.lists' highest
    # UID is gone from disk, only store.header remembers it
    ms("store", "user.fred.lists", "3", "+FLAGS", "\\Deleted")
    ms("expunge", "user.fred.lists")
    ms("cleanup", "--tombstone-age", "0")
    facts["lists_uidnext"] = 4
    # an expunge awaiting cleanup: a tombstone and its N.expunged file
    facts["exp"] = append("user.bovik", "gone", "\\Deleted", 60)
    facts["exp_sha"] = sha(message("gone"))
    ms("expunge", "user.bovik")
    # the metadata backup an admin would have
    ms("backup", st.backup)
    return facts


@without_leak_check
def snapshot(st):
    """The whole state of the store as the tools show it."""
    def js(*a, as_user=None):
        r = st.ms(*a, as_user=as_user, json_out=True)
        if r.rc != 0:
            raise AssertionError("snapshot: %r" % r)
        return r.json()

    state = {"list": {}, "mb": {}, "seen": {}, "lsub": {}, "quota": {}}
    for o in js("list"):
        state["list"][o["name"]] = sorted(a for a in o["attributes"] if a in ("\\Noselect",))
    roots = set()
    for name, attrs in state["list"].items():
        if "\\Noselect" in attrs:
            continue
        status = js("status", name)[0]
        info = {o["uid"]: o for o in js("info", name)}
        msgs = {}
        for uid, o in info.items():
            r = st.ms("fetch", name, str(uid))
            if r.rc != 0:
                raise AssertionError("snapshot: %r" % r)
            msgs[uid] = dict(o, sha=sha(r.out))
            if msgs[uid]["sha"] != o["guid"]:
                raise AssertionError("%s uid %d: fetched bytes do not match the GUID" % (name, uid))
        qr = st.ms("getquotaroot", name, json_out=True)
        root = qr.json()[0]["root"] if qr.rc == 0 and qr.out else None
        if root:
            roots.add(root)
        path = must(st.ms("path", name)).text.strip()
        hdr = {}
        try:
            with open(os.path.join(path, "store.header")) as f:
                for line in f:
                    k, _, v = line.rstrip("\n").partition(": ")
                    if k in ("uidnext", "highestmodseq"):
                        hdr[k] = int(v)
        except OSError:
            pass
        state["mb"][name] = {
            "hdr": hdr,
            "status": status, "msgs": msgs, "path": os.path.relpath(path, st.root),
            "acl": sorted((o["id"], o["rights"]) for o in js("getacl", name)),
            "annot": sorted((o["entry"], o["value"]) for o in js("getannotation", name)),
            "quotaroot": root,
        }
    for root in sorted(roots):
        state["quota"][root] = {o["resource"]: (o["limit"], o["usage"]) for o in js("getquota", root)}
    for user, name in SEEN_VIEWS:
        if name in state["mb"]:
            view = {}
            for o in js("info", name, as_user=user):
                view[state["mb"][name]["msgs"][o["uid"]]["sha"]] = sorted(o["flags"])
            state["seen"][(user, name)] = view
    for user in USERS:
        state["lsub"][user] = sorted(o["name"] for o in js("lsub", user))
    return state


def world():
    if Built.store is None:
        load_world()
    if Built.store is None:
        Built.tmp = tempfile.mkdtemp(prefix="repair-template-")
        st = Store(os.path.join(Built.tmp, "store"))
        os.makedirs(st.root)
        st.write_conf()
        st.init()
        Built.facts = build_world(st)
        Built.state = snapshot(st)
        Built.store = st
    return Built.store


# Building the rich store and recording its state costs as much as several
# tests (a minute under ASan on a busy machine), and each test class runs in
# its own process. So ctest builds it once per run, in the fixture test
# repair_world (`test_repair.py --save-world DIR`), and every class test loads
# it from $LIBSTORE_REPAIR_WORLD. A saved world is used only if it was built
# by the same programs and the same harness; otherwise world() builds its own.

def world_key():
    """What a saved world depends on: the programs and this file."""
    key = []
    for name, path in sorted(PROGS.items()):
        st = os.stat(path)
        key.append((name, os.path.realpath(path), st.st_size, st.st_mtime_ns))
    with open(os.path.abspath(__file__), "rb") as f:
        key.append(sha(f.read()))
    return key


def world_file(directory):
    return os.path.join(directory, "world.pickle")


def load_world():
    """Take the world saved in $LIBSTORE_REPAIR_WORLD, if it fits."""
    directory = os.environ.get("LIBSTORE_REPAIR_WORLD")
    if not directory:
        return
    try:
        with open(world_file(directory), "rb") as f:
            saved = pickle.load(f)
    except (OSError, EOFError, pickle.UnpicklingError):
        return
    if saved.get("key") != world_key():
        return
    Built.facts, Built.state = saved["facts"], saved["state"]
    Built.store = Store(os.path.join(directory, "store"))


def save_world(directory):
    """Build the world and save it in directory: the store and, last (so
    that a half-saved world is never loaded), its facts and state."""
    shutil.rmtree(directory, True)
    os.environ.pop("LIBSTORE_REPAIR_WORLD", None)
    built = world()
    os.makedirs(os.path.join(directory, "store"))
    built.clone(os.path.join(directory, "store"))
    tmp = world_file(directory) + ".tmp"
    with open(tmp, "wb") as f:
        pickle.dump({"key": world_key(), "facts": Built.facts, "state": Built.state}, f)
    os.rename(tmp, world_file(directory))
    tearDownModule()


def tearDownModule():
    if Built.tmp and not KEEP:
        shutil.rmtree(Built.tmp, True)


# --------------------------------------------------------------------------
# What a repair is allowed to change
# --------------------------------------------------------------------------

class Expect:
    """Differences from the recorded state that a test allows. Keys are
    (mailbox, uid) of the recorded state."""

    def __init__(self, lost=(), renumbered=(), flags_lost=(), modseq_changed=(), new_bytes=None,
                 extra=None, all_flags_lost=False, seen_lost=False, subs_lost=False, renamed=None,
                 gone=(), dates_lost=False, marks_from_header=False):
        self.lost = set(lost)                 # legitimately gone (their file was destroyed)
        self.renumbered = set(renumbered)     # may come back under a new UID
        self.flags_lost = set(flags_lost)     # flags may be reset
        self.modseq_changed = set(modseq_changed)
        self.new_bytes = dict(new_bytes or {})  # the file now holds other bytes: their digest
        self.extra = dict(extra or {})        # mailbox -> digests of messages that appear
        self.all_flags_lost = all_flags_lost  # -m without -B
        self.dates_lost = dates_lost
        self.seen_lost = seen_lost
        self.subs_lost = subs_lost
        self.renamed = dict(renamed or {})
        self.gone = set(gone)
        # -m: HIGHESTMODSEQ is only known to be at least store.header's mark
        # (TestEnvironment.test_m_never_lowers_highestmodseq asks for more)
        self.marks_from_header = marks_from_header


# --------------------------------------------------------------------------
# The base of every test
# --------------------------------------------------------------------------

class RepairTest(unittest.TestCase):
    maxDiff = None

    @classmethod
    def setUpClass(cls):
        for name, path in PROGS.items():
            if not path or not os.access(path, os.X_OK):
                raise unittest.SkipTest("set %s to the %s program" % (name.upper(), name))
        world()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="repair-%s-" % self._testMethodName)
        if KEEP:
            print("\n  store: %s" % self.tmp)
        else:
            self.addCleanup(shutil.rmtree, self.tmp, True)
        self.st = Built.store.clone(os.path.join(self.tmp))
        self.before = Built.state
        self.facts = Built.facts

    # Helpers ---------------------------------------------------------------

    def damage(self, *args, input=b"", rc=0):
        r = self.st.tool("damage", *args, input=input)
        self.assertEqual(r.rc, rc, "damage helper: %r" % r)
        return r

    def ms_ok(self, *args, **kw):
        r = self.st.ms(*args, **kw)
        self.assertEqual(r.rc, 0, r)
        return r

    def mbpath(self, mailbox):
        return os.path.join(self.st.root, self.before["mb"][mailbox]["path"])

    def msgfile(self, mailbox, uid, suffix=""):
        return os.path.join(self.mbpath(mailbox), "%d.%s" % (uid, suffix))

    def uid_of(self, mailbox, tag_sha):
        for uid, m in self.before["mb"][mailbox]["msgs"].items():
            if m["sha"] == tag_sha:
                return uid
        raise KeyError(tag_sha)

    def check(self):
        return self.st.ms("check")

    def assert_symptom(self, *patterns):
        """mailstore check shows the damage: exit 1 and a line matching each pattern."""
        r = self.check()
        self.assertEqual(r.rc, 1, "check should see the damage: %r" % r)
        for p in patterns:
            self.assertTrue(any(re.search(p, line) for line in r.lines), "no check line matches %r: %r" % (p, r))
        return r

    def assert_clean(self):
        r = self.check()
        self.assertEqual(r.rc, 0, "check after the repair: %r" % r)
        self.assertFalse([l for l in r.lines if l.startswith("error:")], r)
        self.assertNotIn("AddressSanitizer", r.err)
        return r

    def assert_lines(self, lines, *patterns, exact=True, optional=0):
        """Every pattern matches a line (but the last `optional` ones); with
        exact, every line matches a pattern."""
        for p in patterns[:len(patterns) - optional]:
            self.assertTrue(any(re.search(p, l) for l in lines), "no report line matches %r in %r" % (p, lines))
        if exact:
            # a repair that changes messages also brings the quota root's usage
            # and the GUID table in line: those lines may follow any repair
            allowed = patterns + (r"^\S+: (STORAGE|MESSAGE|MAILBOX) usage \d+ -> \d+",
                                  r"^GUID table: entry for mailbox [0-9a-f-]{36} uid \d+ names no live message, removed$")
            for l in lines:
                self.assertTrue(any(re.search(p, l) for p in allowed), "unexpected report line %r" % l)

    @staticmethod
    def normalize(lines):
        """Dry-run wording -> real wording ("would be added" -> "added")."""
        out = []
        for l in lines:
            l = re.sub(r"\bwould be ", "", l)
            l = re.sub(r"\bwould ", "", l)
            l = re.sub(r"^move ", "moved ", l)
            l = re.sub(r"data\.mdb\.damaged\.\d+", "data.mdb.damaged.TIME", l)
            out.append(l)
        return sorted(out)

    def repair(self, prog, *args, dry=True, second=None, same_lines=False):
        """Run prog ARGS: first with -n (no change; with same_lines="exact" the
        same lines as the real run: TestDryRun), then for real,
        then `second` (default: the same command without -m/-B) prints nothing.
        Returns the report lines of the real run."""
        dryflag = ["-n"]
        if dry:
            fp0 = self.st.fingerprint()
            d = self.st.tool(prog, *(dryflag + list(args)))
            self.assertEqual(d.rc, 0, "dry run: %r" % d)
            self.assertEqual(without_progress(d.err), "", "dry run stderr: %r" % d)
            fp1 = self.st.fingerprint()
            self.assert_same_fingerprint(fp0, fp1, "%s -n %s changed the store" % (prog, " ".join(args)))
        r = self.st.tool(prog, *args)
        self.assertEqual(r.rc, 0, r)
        self.assertEqual(without_progress(r.err), "", "a repair prints nothing on stderr but progress: %r" % r)
        for l in r.lines:
            self.assertRegex(l, r"^\S.*\S$|^\S$", "report line form")
        if dry and same_lines == "exact":
            self.assertEqual(self.normalize(d.lines), self.normalize(r.lines),
                             "the dry run should report what the real run does")
        if second is None:
            second = [a for a in args if a not in ("-m",)]
            if "-B" in second:
                i = second.index("-B")
                del second[i:i + 2]
        again = self.st.tool(prog, *second)
        self.assertEqual(again.rc, 0, again)
        self.assertEqual(again.lines, [], "a second run over the repaired store reports nothing: %r" % again)
        return r.lines

    def assert_same_fingerprint(self, a, b, msg):
        if a == b:
            return
        diff = sorted(set(a) ^ set(b)) + sorted(k for k in set(a) & set(b) if a[k] != b[k])
        self.fail("%s: %s" % (msg, diff[:20]))

    def snapshot(self):
        return snapshot(self.st)

    # The central assertion ---------------------------------------------------

    def assert_recovered(self, x=None, after=None):
        x = x or Expect()
        before = self.before
        after = after or self.snapshot()
        b_names = {n for n, a in before["list"].items() if "\\Noselect" not in a}
        a_names = {n for n, a in after["list"].items() if "\\Noselect" not in a}
        want = {x.renamed.get(n, n) for n in b_names - x.gone}
        self.assertEqual(a_names, want, "the mailbox list")
        for bname in sorted(b_names - x.gone):
            aname = x.renamed.get(bname, bname)
            B, A = before["mb"][bname], after["mb"][aname]
            self.assertEqual(A["status"]["uidvalidity"], B["status"]["uidvalidity"], aname)
            self.assertEqual(A["path"], B["path"], "%s: unique id and partition kept" % aname)
            self.assertEqual(A["acl"], B["acl"], "%s: ACL" % aname)
            self.assertEqual(A["annot"], B["annot"], "%s: annotations" % aname)
            self.assertGreaterEqual(A["status"]["uidnext"], B["status"]["uidnext"], "%s: UIDNEXT never goes down" % aname)
            if x.marks_from_header:
                self.assertGreaterEqual(A["status"]["highestmodseq"], B["hdr"].get("highestmodseq", 0),
                                        "%s: HIGHESTMODSEQ not below store.header's mark" % aname)
                self.assertGreaterEqual(A["status"]["uidnext"], B["hdr"].get("uidnext", 0),
                                        "%s: UIDNEXT not below store.header's mark" % aname)
            else:
                self.assertGreaterEqual(A["status"]["highestmodseq"], B["status"]["highestmodseq"],
                                        "%s: HIGHESTMODSEQ never goes down" % aname)
            by_sha = collections.defaultdict(list)
            for uid, m in sorted(A["msgs"].items()):
                by_sha[m["sha"]].append(uid)
            claimed = set()
            for uid, m in sorted(B["msgs"].items()):
                key = (bname, uid)
                if key in x.lost:
                    continue
                digest = x.new_bytes.get(key, m["sha"])
                if uid in A["msgs"] and A["msgs"][uid]["sha"] == digest:
                    auid = uid
                else:
                    self.assertIn(key, x.renumbered | x.lost,
                                  "%s uid %d (%s) is gone or changed: now %r" % (bname, uid, digest[:12],
                                                                                A["msgs"].get(uid)))
                    cands = [u for u in by_sha[digest] if u not in claimed and u not in B["msgs"]]
                    self.assertTrue(cands, "%s uid %d (%s) was not recovered under any UID" % (bname, uid, digest[:12]))
                    auid = cands[0]
                    self.assertGreaterEqual(auid, B["status"]["uidnext"], "a new UID is above the old UIDNEXT")
                claimed.add(auid)
                am = A["msgs"][auid]
                if not (x.all_flags_lost or key in x.flags_lost):
                    self.assertEqual(sorted(am["flags"]), sorted(m["flags"]), "%s uid %d: flags" % (aname, auid))
                if not x.dates_lost:
                    self.assertEqual(epoch(am["internaldate"]), epoch(m["internaldate"]),
                                     "%s uid %d: internal date" % (aname, auid))
                if auid == uid and not (x.all_flags_lost or key in x.flags_lost or key in x.modseq_changed
                                        or key in x.new_bytes):
                    self.assertEqual(am["modseq"], m["modseq"], "%s uid %d: MODSEQ of an intact record" % (aname, uid))
            extra = sorted(A["msgs"][u]["sha"] for u in A["msgs"] if u not in claimed)
            self.assertEqual(extra, sorted(x.extra.get(aname, [])), "%s: messages that were not there before" % aname)
            self.assertEqual(A["status"]["messages"], len(A["msgs"]), aname)
            # an expunged message never comes back
            self.assertNotIn(self.facts["exp_sha"], [m["sha"] for m in A["msgs"].values()])
        if not x.seen_lost:
            for key, view in before["seen"].items():
                user, name = key
                if name in x.gone or name in x.renamed:
                    continue
                aview = after["seen"].get((user, x.renamed.get(name, name)))
                self.assertIsNotNone(aview, key)
                uid_of = {m["sha"]: u for u, m in self.before["mb"][name]["msgs"].items()}
                for digest, flags in view.items():
                    k = (name, uid_of[digest])
                    if k in x.lost:
                        continue
                    got = sorted(aview.get(digest, []))
                    if x.all_flags_lost or k in x.flags_lost:
                        # the record's flags are gone; the user's private \Seen is not
                        got, flags = "\\Seen" in got, "\\Seen" in flags
                    self.assertEqual(got, flags, "%s's view of %s" % key)
        if not x.subs_lost:
            self.assertEqual(after["lsub"], before["lsub"], "subscriptions")
        for root, res in before["quota"].items():
            if x.renamed.get(root, root) in x.gone:
                continue
            self.assertIn(x.renamed.get(root, root), after["quota"], "quota root %s" % root)
            ares = after["quota"][x.renamed.get(root, root)]
            self.assertEqual({k: v[0] for k, v in ares.items()}, {k: v[0] for k, v in res.items()},
                             "quota limits of %s" % root)
        return after


# --------------------------------------------------------------------------
# Messages: records, files, caches, counters
# --------------------------------------------------------------------------


class TestMessages(RepairTest):
    def test_record_deleted(self):
        """An index record deleted: its file is a stray below UIDNEXT, adopted
        under a new UID (never its old one) with its bytes."""
        uid = self.facts["bovik"]["m4"]
        self.damage("rec-del", "user.bovik", uid)
        self.assert_symptom(r"user\.bovik: file %d\. has no record and is below UIDNEXT" % uid,
                            r"counters wrong")
        lines = self.repair("reconstruct", "user.bovik")
        self.assert_lines(lines, r"^user\.bovik: uid \d+: stray file %d\. adopted as uid \d+$" % uid,
                          r"^user\.bovik: uidnext \d+ -> \d+$")
        self.assertFalse(os.path.exists(self.msgfile("user.bovik", uid)), "the stray file was renamed")
        self.assert_recovered(Expect(renumbered={("user.bovik", uid)}, flags_lost={("user.bovik", uid)}))
        self.assert_clean()

    def test_record_deleted_flags_from_backup(self):
        """As above with -B: the adopted message gets its flags and keywords
        back from the metadata backup (its GUID matches)."""
        uid = self.facts["bovik"]["m1"]   # \Seen todo $Important
        self.damage("rec-del", "user.bovik", uid)
        self.damage("rec-del", "user.bovik.work", 1)
        self.assert_symptom(r"has no record and is below UIDNEXT")
        self.repair("reconstruct", "-B", self.st.backup)
        self.assert_recovered(Expect(renumbered={("user.bovik", uid), ("user.bovik.work", 1)},
                                     modseq_changed={("user.bovik", uid)}))
        self.assert_clean()

    def test_record_whose_file_is_gone(self):
        """A record whose file is gone is dropped; quota and counters follow."""
        uid = self.facts["bovik"]["m5"]
        os.unlink(self.msgfile("user.bovik", uid))
        self.assert_symptom(r"user\.bovik: uid %d: message file is missing" % uid)
        lines = self.repair("reconstruct", "user.bovik")
        self.assert_lines(lines, r"^user\.bovik: uid %d: file missing, message removed$" % uid,
                          r"^user\.bovik: counters: messages \d+ -> \d+")
        self.assert_recovered(Expect(lost={("user.bovik", uid)}))
        self.assert_clean()


class TestMessagesFiles(RepairTest):
    """Files whose bytes changed."""

    def test_file_truncated(self):
        """A truncated file: its content is no longer what clients may have
        cached under its UID, so the UID is expunged and what is left is
        adopted under a new one; the same message (same envelope) keeps its
        flags and internal date (docs/admin.md 5.2)."""
        uid = self.facts["bovik"]["m3"]
        path = self.msgfile("user.bovik", uid)
        data = read(path)
        mtime = os.stat(path).st_mtime
        with open(path, "r+b") as f:
            f.truncate(len(data) // 2)
        os.utime(path, (mtime, mtime))
        self.assert_symptom(r"user\.bovik: uid %d: file has %d bytes, record says %d" % (uid, len(data) // 2, len(data)))
        lines = self.repair("reconstruct", "user.bovik")
        self.assert_lines(lines, r"^user\.bovik: uid %d: file changed \(size %d -> %d\), adopted as uid \d+ with its "
                          r"flags; uid %d expunged$" % (uid, len(data), len(data) // 2, uid),
                          r"^user\.bovik: counters: ", r"^user\.bovik: uidnext \d+ -> \d+$")
        after = self.assert_recovered(Expect(renumbered={("user.bovik", uid)},
                                             new_bytes={("user.bovik", uid): sha(data[:len(data) // 2])}))
        self.assertNotIn(uid, after["mb"]["user.bovik"]["msgs"], "the old UID is expunged")
        self.assert_clean()

    def test_file_replaced_same_size(self):
        """Other content of the same size and mtime: invisible to sizes, found
        by -G; the old UID is expunged, the file is adopted under a new UID
        without the old message's flags (Cyrus reconstruct semantics)."""
        uid = self.facts["bovik"]["m4"]
        path = self.msgfile("user.bovik", uid)
        data = read(path)
        other = data.replace(b"message m4", b"message XX")
        self.assertEqual(len(other), len(data))
        st = os.stat(path)
        tmp = path + "tmp"
        with open(tmp, "wb") as f:
            f.write(other)
        os.utime(tmp, (st.st_mtime, st.st_mtime))
        os.rename(tmp, path)
        self.assertEqual(self.st.tool("reconstruct", "user.bovik").lines, [], "without -G sizes match")
        lines = self.repair("reconstruct", "-G", "user.bovik")
        self.assert_lines(lines, r"^user\.bovik: uid %d: file holds another message \(guid %s\.\.\. -> %s\.\.\.\), "
                          r"adopted as uid \d+ without flags; uid %d expunged$" % (uid, sha(data)[:16], sha(other)[:16], uid),
                          r"^user\.bovik: uidnext \d+ -> \d+$")
        after = self.assert_recovered(Expect(renumbered={("user.bovik", uid)}, flags_lost={("user.bovik", uid)},
                                             new_bytes={("user.bovik", uid): sha(other)}))
        self.assertNotIn(uid, after["mb"]["user.bovik"]["msgs"], "the old UID is expunged")
        new = [u for u, m in after["mb"]["user.bovik"]["msgs"].items() if m["guid"] == sha(other)]
        envelope = self.ms_ok("fetch", "user.bovik", str(new[0]), "--item", "envelope").text
        self.assertIn("message XX", envelope, "the cache record follows the new bytes")
        self.assert_clean()


class TestMessagesStray(RepairTest):
    """Files with no record."""

    def test_stray_file_new_uid(self):
        """A file an admin copied in at or above UIDNEXT keeps its UID."""
        un = self.before["mb"]["user.bovik"]["status"]["uidnext"]
        data = message("copied-in")
        path = self.msgfile("user.bovik", un + 2)
        with open(path, "wb") as f:
            f.write(data)
        t = epoch("10-Nov-2026 08:00:00 +0000")
        os.utime(path, (t, t))
        r = self.check()
        self.assertEqual(r.rc, 0, "an adoptable file is a notice: %r" % r)
        self.assertIn("notice: user.bovik: file %d. at or above UIDNEXT %d has no record (adopted by the next writer)"
                      % (un + 2, un), r.lines)
        lines = self.repair("reconstruct", "user.bovik")
        self.assert_lines(lines, r"^user\.bovik: uid %d: adopted file %d\.$" % (un + 2, un + 2),
                          r"^user\.bovik: counters: ", r"^user\.bovik: uidnext %d -> %d$" % (un, un + 3))
        after = self.assert_recovered(Expect(extra={"user.bovik": [sha(data)]}))
        m = after["mb"]["user.bovik"]["msgs"][un + 2]
        self.assertEqual(m["sha"], sha(data))
        self.assertEqual(epoch(m["internaldate"]), t, "the internal date is the file's mtime")
        self.assert_clean()

    def test_stray_file_old_uid(self):
        """A file below UIDNEXT with no record (a UID that cleanup already
        forgot) is adopted under a new UID and renamed: UIDs are never reused."""
        data = message("stray-old")
        path = self.msgfile("user.fred.lists", 3)   # expunged and cleaned up in the template
        with open(path, "wb") as f:
            f.write(data)
        self.assert_symptom(r"user\.fred\.lists: file 3\. has no record and is below UIDNEXT 4")
        lines = self.repair("reconstruct", "user.fred.lists")
        self.assert_lines(lines, r"^user\.fred\.lists: uid 4: stray file 3\. adopted as uid 4$",
                          r"^user\.fred\.lists: counters: ", r"^user\.fred\.lists: uidnext 4 -> 5$")
        self.assertFalse(os.path.exists(path))
        self.assertTrue(os.path.exists(self.msgfile("user.fred.lists", 4)))
        self.assert_recovered(Expect(extra={"user.fred.lists": [sha(data)]}))
        self.assert_clean()

    def test_stray_file_at_expunged_uid(self):
        """Other content under the UID of an expunged message (whose tombstone
        is still there): a message, to be adopted under a new UID, not
        renamed to .expunged and removed by cleanup."""
        uid = self.facts["exp"]
        data = message("stray-at-tombstone")
        with open(self.msgfile("user.bovik", uid), "wb") as f:
            f.write(data)
        self.assert_symptom(r"user\.bovik: uid %d: a file with other content than the expunged message has its UID" % uid)
        lines = self.repair("reconstruct", "user.bovik")
        self.assert_lines(lines, r"^user\.bovik: uid \d+: stray file %d\. adopted as uid \d+$" % uid, exact=False)
        self.ms_ok("cleanup")
        self.assert_recovered(Expect(extra={"user.bovik": [sha(data)]}))
        self.assert_clean()


class TestMessagesExpunged(RepairTest):
    """An expunged message's file never brings it back."""

    def test_expunged_file_with_live_name(self):
        """An expunged message's own file named N. again (a restore from a
        file backup): it stays expunged, its file is renamed for cleanup."""
        uid = self.facts["exp"]
        os.rename(self.msgfile("user.bovik", uid, "expunged"), self.msgfile("user.bovik", uid))
        r = self.check()
        self.assertIn("notice: user.bovik: uid %d: expunged message's file still has its live name "
                      "(reconstruct renames it)" % uid, r.lines)
        lines = self.repair("reconstruct", "user.bovik")
        self.assert_lines(lines, r"^user\.bovik: uid %d: expunged message's file renamed \(it stays expunged\)$" % uid)
        self.assertTrue(os.path.exists(self.msgfile("user.bovik", uid, "expunged")))
        self.assert_recovered()
        self.ms_ok("cleanup")
        self.assertFalse(os.path.exists(self.msgfile("user.bovik", uid, "expunged")))
        self.assertFalse(os.path.exists(self.msgfile("user.bovik", uid)))
        self.assert_recovered()
        self.assert_clean()

    def test_expunged_message_never_comes_back(self):
        """reconstruct -r/-f/-G over a store with an expunged message awaiting
        cleanup changes nothing; before cleanup and after."""
        self.assertEqual(self.check().rc, 0)
        for args in (["user.bovik"], ["-r", "user.bovik"], ["-f"], ["-G"], []):
            r = self.st.tool("reconstruct", *args)
            self.assertEqual((r.rc, r.lines, r.err), (0, [], ""), r)
        self.assert_recovered()


class TestMessagesState(RepairTest):
    """The index header: UIDNEXT, HIGHESTMODSEQ, counters."""

    def test_uidnext_too_low(self):
        un = self.before["mb"]["user.bovik"]["status"]["uidnext"]
        self.damage("state-set", "user.bovik", "uidnext", 2)
        self.assert_symptom(r"user\.bovik: UIDNEXT 2 is not above the highest UID %d" % (un - 1))
        lines = self.repair("reconstruct", "user.bovik")
        self.assert_lines(lines, r"^user\.bovik: uidnext 2 -> %d$" % un)
        self.assert_recovered()
        self.assert_clean()
        # the next message gets a fresh UID
        r = self.ms_ok("append", "user.bovik", input=message("after-repair"))
        self.assertEqual(int(r.text), un)

    def test_highestmodseq_too_low(self):
        hm = self.before["mb"]["user.bovik"]["status"]["highestmodseq"]
        self.damage("state-set", "user.bovik", "highestmodseq", 1)
        self.assert_symptom(r"user\.bovik: HIGHESTMODSEQ 1 is below a record's MODSEQ")
        lines = self.repair("reconstruct", "user.bovik")
        self.assert_lines(lines, r"^user\.bovik: highestmodseq 1 -> %d$" % hm)
        self.assert_recovered()
        self.assert_clean()

    def test_counters_wrong(self):
        s = self.before["mb"]["user.carol"]["status"]
        self.damage("state-set", "user.carol", "exists", 99)
        self.damage("state-set", "user.carol", "unseen", 0)
        self.damage("state-set", "user.carol", "size", 5)
        self.damage("state-set", "user.carol", "flagged", 7)
        self.assert_symptom(r"user\.carol: counters wrong: messages 99 \(actual %d\)" % s["messages"])
        lines = self.repair("reconstruct", "user.carol")
        self.assert_lines(lines, r"^user\.carol: counters: messages 99 -> %d, unseen 0 -> %d, size 5 -> %d$"
                          % (s["messages"], s["unseen"], s["size"]))
        after = self.assert_recovered()
        self.assertEqual(after["mb"]["user.carol"]["status"], s)
        self.assert_clean()


class TestMessagesCache(RepairTest):
    """Cache records."""

    def test_cache_record_corrupt(self):
        uid = self.facts["bovik"]["m2"]
        env0 = self.ms_ok("fetch", "user.bovik", str(uid), "--item", "bodystructure").out
        self.damage("cache-corrupt", "user.bovik", uid)
        self.assert_symptom(r"user\.bovik: uid %d: cache record is damaged" % uid)
        lines = self.repair("reconstruct", "user.bovik")
        self.assert_lines(lines, r"^user\.bovik: uid %d: cache record damaged, rebuilt$" % uid)
        self.assertEqual(self.ms_ok("fetch", "user.bovik", str(uid), "--item", "bodystructure").out, env0)
        self.assert_recovered()
        self.assert_clean()

    def test_cache_record_missing(self):
        uid = self.facts["bovik"]["m1"]
        self.damage("cache-del", "user.bovik", uid)
        self.assert_symptom(r"user\.bovik: uid %d: cache record is missing" % uid)
        lines = self.repair("reconstruct", "user.bovik")
        self.assert_lines(lines, r"^user\.bovik: uid %d: cache record missing, rebuilt$" % uid)
        self.assert_recovered()
        self.assert_clean()


class TestMessagesIndex(RepairTest):
    """Damaged index records, a lost directory."""

    def test_crc_mismatch(self):
        """A record failing its CRC is rebuilt from its file under its UID;
        without a backup its flags cannot be known."""
        uid = self.facts["bovik"]["m2"]
        self.damage("rec-corrupt", "user.bovik", uid)
        self.assert_symptom(r"user\.bovik: uid %d: index record is damaged \(size, version or CRC\)" % uid)
        lines = self.repair("reconstruct", "user.bovik")
        self.assert_lines(lines, r"^user\.bovik: uid %d: damaged index record rebuilt from the file$" % uid,
                          r"^user\.bovik: counters: ")
        self.assert_recovered(Expect(flags_lost={("user.bovik", uid)}))
        self.assert_clean()

    def test_crc_mismatch_flags_from_backup(self):
        uid = self.facts["bovik"]["m1"]
        self.damage("rec-corrupt", "user.bovik", uid)
        self.assert_symptom(r"index record is damaged")
        lines = self.repair("reconstruct", "-B", self.st.backup, "user.bovik")
        self.assert_lines(lines, r"^user\.bovik: uid %d: damaged index record rebuilt from the file$" % uid)
        self.assert_recovered(Expect(modseq_changed={("user.bovik", uid)}))
        self.assert_clean()

    def test_mailbox_directory_gone(self):
        """The whole directory is gone: reconstruct refuses to expunge its
        messages on its own (test_repair_identity); asked to, the mailbox
        stays, empty, with a new directory and store.header; its UIDs are not
        reused."""
        path = self.mbpath("user.bovik.Sent")
        shutil.rmtree(path)
        self.assert_symptom(r"user\.bovik\.Sent: mailbox directory \S+ is missing as a whole")
        lines = self.repair("reconstruct", "--expunge-missing-directory", "user.bovik.Sent")
        self.assert_lines(lines, r"^user\.bovik\.Sent: mailbox directory was missing, recreated$",
                          r"^user\.bovik\.Sent: uid 1: file missing, message removed$",
                          r"^user\.bovik\.Sent: counters: ", r"^user\.bovik\.Sent: store\.header missing, rewritten$")
        self.assertTrue(os.path.isfile(os.path.join(path, "store.header")))
        self.assert_recovered(Expect(lost={("user.bovik.Sent", 1)}))
        self.assert_clean()


class TestMessagesLinks(RepairTest):
    """Single-instance links and the GUID table."""

    def test_dedup_link_replaced_by_copy(self):
        """A single-instance file's link replaced by a copy (link count too
        low for the names sharing it): nothing is lost, the check stays
        clean, and a repair never makes it worse."""
        uid = self.facts["dlv"]["fred"]
        path = self.msgfile("user.fred", uid)
        st0 = os.stat(path)
        self.assertGreaterEqual(st0.st_nlink, 3)
        shutil.copy2(path, path + "tmp")
        os.rename(path + "tmp", path)
        self.assertEqual(os.stat(self.msgfile("user.bovik", self.facts["dlv"]["bovik"])).st_nlink, st0.st_nlink - 1)
        self.repair("reconstruct")
        self.assert_recovered()
        self.assert_clean()

    def test_dedup_link_lost(self):
        """One name of a single-instance file is gone, its bytes are still on
        disk under the other names (the GUID table knows them): the message
        is recovered, not dropped."""
        uid = self.facts["dlv"]["fred"]
        os.unlink(self.msgfile("user.fred", uid))
        self.assert_symptom(r"user\.fred: uid %d: message file is missing" % uid)
        lines = self.repair("reconstruct", "user.fred")
        self.assertTrue(lines)
        self.assert_recovered(Expect(renumbered={("user.fred", uid)}, flags_lost={("user.fred", uid)},
                                     modseq_changed={("user.fred", uid)}))
        self.assert_clean()

    def test_guid_entry_for_missing_file(self):
        """A GUID-table entry naming a record that does not exist: removed, so
        that no append links to a missing file."""
        uid = self.facts["bovik"]["m1"]
        self.damage("guid-add", "user.bovik", uid, 999)
        self.assert_symptom(r"GUID table: entry for mailbox [0-9a-f-]{36} uid 999 names no live record")
        lines = self.repair("reconstruct")
        self.assert_lines(lines, r"^user\.bovik: .*\b999\b.*|GUID table: .*999")
        self.assert_recovered()
        self.assert_clean()
        # an identical append (same bytes and date) links the real file
        m = self.before["mb"]["user.bovik"]["msgs"][uid]
        r = self.ms_ok("append", "user.bovik.work", "--date", m["internaldate"], input=message("m1"))
        self.assertEqual(self.ms_ok("fetch", "user.bovik.work", r.text.strip()).out, message("m1"))


# --------------------------------------------------------------------------
# The mailbox list: entries, directories, store.header
# --------------------------------------------------------------------------


class TestMailboxList(RepairTest):
    def test_directory_missing_from_list(self):
        """A mailbox directory on disk that the list lacks: -f adopts it from
        its store.header (name, unique id, UIDVALIDITY, ACL, annotations)
        with every message under its UID."""
        self.damage("mbox-forget", "user.bovik.work")
        r = self.st.ms("list")
        self.assertNotIn("user.bovik.work", r.lines)
        self.assertEqual([l for l in self.st.tool("reconstruct").lines if " usage " not in l], [],
                         "without -f the directory is not looked for (only the quota root is corrected)")
        lines = self.repair("reconstruct", "-f")
        self.assert_lines(lines, r"^user\.bovik\.work: mailbox directory [0-9a-f-]{36} added to the list$",
                          r"^user\.bovik\.work: uid [12]: adopted file [12]\.$", r"^user\.bovik\.work: counters: ",
                          r"^user\.bovik\.work: uidnext 1 -> 3$", r"^user\.bovik\.work: highestmodseq \d+ -> \d+$",
                          optional=1)
        # the quota root still counted the mailbox the list lost: quota -f
        self.repair("quota", "-f", second=["-f"])
        self.assert_recovered(Expect(flags_lost={("user.bovik.work", 1), ("user.bovik.work", 2)},
                                     modseq_changed={("user.bovik.work", 1), ("user.bovik.work", 2)}))
        self.assert_clean()

    def test_directory_missing_from_list_with_backup(self):
        self.damage("mbox-forget", "user.bovik.work")
        self.repair("reconstruct", "-f", "-B", self.st.backup)
        self.repair("quota", "-f", second=["-f"])
        self.assert_recovered(Expect(modseq_changed={("user.bovik.work", 1), ("user.bovik.work", 2)}))
        self.assert_clean()


class TestMailboxListHeader(RepairTest):
    """store.header and the mailbox-list entry itself."""

    def test_store_header_missing(self):
        hdr = os.path.join(self.mbpath("user.fred"), "store.header")
        text = read(hdr, "r")
        os.unlink(hdr)
        lines = self.repair("reconstruct", "user.fred")
        self.assert_lines(lines, r"^user\.fred: store\.header missing, rewritten$")
        new = read(hdr, "r")
        for key in ("name: user.fred", "uniqueid: ", "uidvalidity: ", "acl: ", "quota: "):
            self.assertIn(key, new)
        self.assertEqual([l for l in new.splitlines() if l.startswith(("name", "uniqueid", "uidvalidity", "acl"))],
                         [l for l in text.splitlines() if l.startswith(("name", "uniqueid", "uidvalidity", "acl"))])
        self.assert_recovered()
        self.assert_clean()

    def test_store_header_corrupt(self):
        hdr = os.path.join(self.mbpath("shared.news"), "store.header")
        with open(hdr, "wb") as f:
            f.write(os.urandom(300))
        lines = self.repair("reconstruct", "shared.news")
        self.assert_lines(lines, r"^shared\.news: store\.header damaged, rewritten$")
        self.assertIn("name: shared.news\n", read(hdr, "r"))
        self.assert_recovered()
        self.assert_clean()

    def test_mailbox_entry_corrupt(self):
        """A damaged mailbox-list entry: reconstruct names it and points to
        -m; -m -B rebuilds everything, flags included."""
        self.damage("mbox-corrupt", "user.fred.lists")
        self.assert_symptom(r"user\.fred\.lists: ")
        r = self.st.tool("reconstruct", "user.fred.lists")
        self.assertEqual(r.rc, 1, r)
        self.assertEqual(r.out, b"")
        self.assertIn("reconstruct -m", r.err)
        lines = self.repair("reconstruct", "-m", "-B", self.st.backup, dry=False)
        self.assert_lines(lines, r"^moved .*data\.mdb to ", exact=False)
        self.assert_recovered(Expect(modseq_changed=all_keys(self.before), marks_from_header=True))
        self.assert_clean()


# --------------------------------------------------------------------------
# The LMDB environment lost or damaged: -m (and -B)
# --------------------------------------------------------------------------

def all_keys(state):
    return {(n, u) for n, m in state["mb"].items() for u in m["msgs"]}


class EnvironmentTest(RepairTest):
    """What the TestEnvironment* classes share (it holds no tests itself)."""

    def data_mdb(self):
        return os.path.join(self.st.configdir, "data.mdb")

    def assert_moved_aside(self, digest):
        """The damaged environment is kept, byte for byte, somewhere in the store."""
        found = []
        for dirpath, _, files in os.walk(self.st.root):
            for fn in files:
                p = os.path.join(dirpath, fn)
                if os.path.isfile(p) and os.path.getsize(p) > 0 and p != self.data_mdb():
                    with open(p, "rb") as f:
                        if sha(f.read()) == digest:
                            found.append(p)
        self.assertTrue(found, "the old data.mdb was not kept")

    def m_expect(self, backup):
        every = all_keys(self.before)
        if backup:
            return Expect(modseq_changed=every, marks_from_header=True)
        return Expect(all_flags_lost=True, modseq_changed=every, seen_lost=True, subs_lost=True,
                      marks_from_header=True)

    def assert_m_state(self, after, backup):
        # UIDNEXT and HIGHESTMODSEQ never go below store.header's marks
        lists = after["mb"]["user.fred.lists"]["status"]
        self.assertGreaterEqual(lists["uidnext"], self.facts["lists_uidnext"], "UIDNEXT from the high-water mark")
        for name, m in self.before["mb"].items():
            self.assertGreaterEqual(after["mb"][name]["status"]["uidnext"], m["status"]["uidnext"])
        if not backup:
            self.assertEqual(after["lsub"], {u: [] for u in USERS})


class TestEnvironment(EnvironmentTest):
    def test_environment_deleted(self):
        os.unlink(self.data_mdb())
        os.unlink(os.path.join(self.st.configdir, "lock.mdb"))
        lines = self.repair("reconstruct", "-m")
        self.assert_lines(lines, r"^\S+: mailbox directory [0-9a-f-]{36} added to the list$", exact=False)
        for name in self.before["mb"]:
            self.assertTrue(any(l.startswith(name + ": mailbox directory ") for l in lines), name)
        after = self.assert_recovered(self.m_expect(False))
        self.assert_m_state(after, False)
        self.assert_clean()

    def test_environment_deleted_then_backup(self):
        """-m, then -B in a second run: flags, keywords, seen state and
        subscriptions come back."""
        os.unlink(self.data_mdb())
        self.repair("reconstruct", "-m")
        lines = self.repair("reconstruct", "-B", self.st.backup)
        self.assertTrue(lines, "-B restores something")
        after = self.assert_recovered(self.m_expect(True))
        self.assert_m_state(after, True)
        self.assert_clean()

    def test_environment_truncated(self):
        p = self.data_mdb()
        with open(p, "r+b") as f:
            f.truncate(os.path.getsize(p) // 2)
        digest = sha(read(p))
        # every tool refuses the truncated file with the repair named, and
        # none dies of SIGBUS reading a page past its end (the list alone
        # may sit in the surviving half: it did in one run in twenty)
        for args in (("list",), ("check",), ("status", "user.bovik")):
            r = self.st.ms(*args)
            self.assertEqual(r.rc, 1, r)
            self.assertIn("truncated", r.err, r)
            self.assertIn("reconstruct -m", r.err, r)
        lines = self.repair("reconstruct", "-m", "-B", self.st.backup)
        self.assert_lines(lines, r"^moved \S*data\.mdb to \S+$", exact=False)
        self.assert_moved_aside(digest)
        after = self.assert_recovered(self.m_expect(True))
        self.assert_m_state(after, True)
        self.assert_clean()


class TestEnvironmentGarbage(EnvironmentTest):
    def test_garbage_pages_never_kill_a_tool(self):
        """LMDB keeps no page checksums: garbage written over its pages can
        make it follow a wild offset. Whatever a tool then meets, it exits 0
        or 1 with a message, never by a signal; then -m recovers."""
        p = self.data_mdb()
        pristine = read(p)
        size = len(pristine)
        killed = []
        for seed in range(12):
            rnd = random.Random(seed)
            damaged = bytearray(pristine)
            for _ in range(rnd.randint(1, 4)):
                at = rnd.randrange(2 * 4096, size - 64)
                n = min(rnd.choice([8, 64, 512, 4096]), size - at)
                damaged[at:at + n] = rnd.randbytes(n)
            with open(p, "wb") as f:
                f.write(damaged)
            for args in (("list",), ("check",), ("status", "user.bovik"), ("fetch", "user.bovik", "1")):
                r = self.st.ms(*args)
                if lmdb_fault_under_sanitizer(r.err):
                    continue  # sanitizer builds leave the fault to ASan (no crash guard there)
                if r.rc not in (0, 1) or (r.rc == 1 and not r.err.strip()):
                    killed.append((seed, args, r.rc, r.err[-300:]))
        self.assertEqual(killed, [], "a tool died of a signal or failed silently")
        lines = self.repair("reconstruct", "-m", "-B", self.st.backup)
        self.assert_lines(lines, r"^moved \S*data\.mdb to \S+$", exact=False)
        after = self.assert_recovered(self.m_expect(True))
        self.assert_m_state(after, True)
        self.assert_clean()

    def test_environment_garbage_in_the_middle(self):
        p = self.data_mdb()
        size = os.path.getsize(p)
        with open(p, "r+b") as f:
            f.seek(size // 2 - (size // 2) % 4096)
            f.write(os.urandom(min(16384, size // 4)))
        digest = sha(read(p))
        lines = self.repair("reconstruct", "-m", "-B", self.st.backup)
        self.assert_lines(lines, r"^moved \S*data\.mdb to \S+$", exact=False)
        self.assert_moved_aside(digest)
        after = self.assert_recovered(self.m_expect(True))
        self.assert_m_state(after, True)
        self.assert_clean()

    def test_environment_overwritten_entirely(self):
        p = self.data_mdb()
        size = os.path.getsize(p)
        with open(p, "wb") as f:
            f.write(os.urandom(size))
        digest = sha(read(p))
        r = self.st.tool("reconstruct")
        self.assertEqual(r.rc, 1, r)
        self.assertIn("reconstruct -m", r.err)
        self.repair("reconstruct", "-m", "-B", self.st.backup)
        self.assert_moved_aside(digest)
        self.assert_recovered(self.m_expect(True))
        self.assert_clean()


class TestEnvironmentRebuild(EnvironmentTest):
    """-m over stores whose environment is gone or intact."""

    def test_m_never_lowers_highestmodseq(self):
        """After -m no mailbox's HIGHESTMODSEQ is below what clients saw
        before (RFC 7162: it never goes down; a CONDSTORE client would miss
        the flags that -m reset), even where store.header's mark is older."""
        os.unlink(self.data_mdb())
        self.repair("reconstruct", "-m", "-B", self.st.backup)
        after = self.snapshot()
        for name, m in self.before["mb"].items():
            self.assertGreaterEqual(after["mb"][name]["status"]["highestmodseq"], m["status"]["highestmodseq"], name)

    def test_m_twice_keeps_every_old_environment(self):
        """Two -m runs in a row (the same second): both old environments are kept."""
        digest = sha(read(self.data_mdb()))
        r1 = self.st.tool("reconstruct", "-m", "-q")
        self.assertEqual(r1.rc, 0, r1)
        digest2 = sha(read(self.data_mdb()))
        r2 = self.st.tool("reconstruct", "-m", "-q")
        self.assertEqual(r2.rc, 0, r2)
        self.assert_moved_aside(digest)
        self.assert_moved_aside(digest2)

    def test_m_on_a_healthy_store(self):
        """-m over an intact store loses nothing but what only LMDB holds."""
        digest = sha(read(self.data_mdb()))
        self.repair("reconstruct", "-m")
        self.assert_moved_aside(digest)
        after = self.assert_recovered(self.m_expect(False))
        self.assert_m_state(after, False)
        self.assert_clean()


# --------------------------------------------------------------------------
# Quota
# --------------------------------------------------------------------------


class TestQuota(RepairTest):
    def test_usage_wrong(self):
        self.damage("quota-set", "user.bovik", "STORAGE", 1)
        self.damage("quota-set", "user.bovik", "MESSAGE", 1000)
        self.assert_symptom(r"quota root user\.bovik: STORAGE usage is 1, the mailboxes hold \d+",
                            r"quota root user\.bovik: MESSAGE usage is 1000")
        lines = self.repair("quota", "-f", second=["-f"])
        usage = self.before["quota"]["user.bovik"]
        self.assert_lines(lines, r"^user\.bovik: STORAGE usage 1 -> %d KiB \(1 -> \d+ bytes\)$" % usage["STORAGE"][1],
                          r"^user\.bovik: MESSAGE usage 1000 -> %d$" % usage["MESSAGE"][1])
        self.assert_recovered()
        self.assert_clean()

    def test_usage_wrong_with_prefix(self):
        self.damage("quota-set", "user.fred", "STORAGE", 0)
        self.damage("quota-set", "shared.news", "MESSAGE", 77)
        lines = self.repair("quota", "-f", "user.fred", second=["-f", "user.fred"])
        self.assert_lines(lines, r"^user\.fred: STORAGE usage 0 -> \d+ KiB")
        self.assert_symptom(r"quota root shared\.news: MESSAGE usage is 77")
        lines = self.repair("quota", "-f", "shared", "user", second=["-f"])
        self.assert_lines(lines, r"^shared\.news: MESSAGE usage 77 -> 3$")
        self.assert_clean()

    def test_root_of_deleted_mailbox(self):
        self.damage("quota-add", "user.ghost")
        self.assert_symptom(r"quota root user\.ghost: no such mailbox")
        lines = self.repair("quota", "-f", second=["-f"])
        self.assert_lines(lines, r"^user\.ghost: quota root removed \(no such mailbox\)$")
        self.assert_recovered()
        self.assert_clean()


class TestQuotaRoots(RepairTest):
    """Damaged roots, the report, quota -f while others write."""

    def test_damaged_root_record(self):
        """A quota record failing its CRC: usage recomputed, and the limits,
        which store.header keeps, are not lost."""
        self.damage("quota-corrupt", "user.bovik")
        self.assert_symptom(r"quota root user\.bovik: record is damaged")
        lines = self.repair("quota", "-f", second=["-f"])
        self.assert_lines(lines, r"^user\.bovik: ")
        self.assert_recovered()
        self.assert_clean()

    def test_report(self):
        r = self.st.tool("quota")
        self.assertEqual(r.rc, 0, r)
        q = self.before["quota"]
        want = []
        for root in sorted(q):
            for res in ("STORAGE", "MESSAGE", "MAILBOX"):
                limit, usage = q[root][res]
                if limit is not None:
                    want.append("%s %s %d %d %d%%" % (root, res, limit, usage, usage * 100 // limit))
        self.assertEqual(r.lines, want)
        self.assertEqual(self.st.tool("quota", "user.b").lines, [l for l in want if l.startswith("user.bovik ")])
        self.assertEqual(self.st.tool("quota", "-q").lines, [])
        self.ms_ok("setquota", "user.carol", "MESSAGE=1")
        self.assertEqual(self.st.tool("quota", "-q").lines, ["user.carol MESSAGE 1 2 200%"])
        self.assertEqual(self.st.tool("quota", "nothing").lines, [])

    def test_fix_exact_while_others_write(self):
        """quota -f while 3 processes append and expunge: once they stop,
        usage is exact (check clean, a further quota -f reports nothing)."""
        self.damage("quota-set", "user.fred", "STORAGE", 3)
        self.damage("quota-set", "user.bovik", "MESSAGE", 0)
        stop = threading.Event()
        errors = []

        def writer(mailbox, tag):
            i = 0
            while not stop.is_set():
                i += 1
                r = self.st.ms("append", mailbox, "--flags", "\\Deleted" if i % 3 == 0 else "",
                               input=message("%s-%d" % (tag, i), body_lines=i % 30))
                if r.rc != 0:
                    errors.append(r)
                    return
                if i % 3 == 0:
                    r = self.st.ms("expunge", mailbox)
                    if r.rc != 0:
                        errors.append(r)
                        return

        threads = [threading.Thread(target=writer, args=a) for a in
                   (("user.fred", "w1"), ("user.fred.lists", "w2"), ("user.carol", "w3"))]
        for t in threads:
            t.start()
        try:
            fixes = []
            deadline = time.time() + 3
            while time.time() < deadline:
                r = self.st.tool("quota", "-f")
                self.assertEqual(r.rc, 0, r)
                fixes += r.lines
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertEqual(errors, [])
        # (the writers may charge their appends on top of the damaged 3 bytes
        # before the first quota -f runs: the line's "from" value varies)
        self.assertTrue(any(l.startswith("user.fred: STORAGE usage ") for l in fixes), fixes)
        self.assertTrue(any(l.startswith("user.bovik: MESSAGE usage 0 -> ") for l in fixes), fixes)
        # only the damage was fixed: the writers' own changes were always right
        self.assertEqual(len([l for l in fixes if l.startswith("user.fred: STORAGE")]), 1, fixes)
        r = self.st.tool("quota", "-f")
        self.assertEqual((r.rc, r.lines), (0, []), r)
        self.assert_clean()


# --------------------------------------------------------------------------
# Per-user state: seen, subscriptions
# --------------------------------------------------------------------------


class TestUserState(RepairTest):
    def seen_keys(self):
        return self.damage("dump", "seen").lines

    def test_seen_state_for_deleted_mailbox(self):
        before = self.seen_keys()
        uuid = self.damage("seen-orphan", "fred").text.strip()
        self.assertEqual(len(self.seen_keys()), len(before) + 1)
        lines = self.repair("reconstruct")
        self.assertTrue(any(uuid in l and "fred" in l for l in lines), lines)
        self.assertEqual(self.seen_keys(), before)
        self.assert_recovered()
        self.assert_clean()

    def test_seen_state_lost_restored_from_backup(self):
        """A user's private seen state of a mailbox lost: -B brings it back."""
        self.damage("seen-del", "shared.news", "fred")
        self.damage("seen-del", "user.bovik.work", "fred")
        self.assertEqual(self.st.ms("search", "shared.news", "SEEN", as_user="fred").lines, [])
        lines = self.repair("reconstruct", "-B", self.st.backup)
        self.assertTrue(lines, "-B reports what it restores")
        self.assert_recovered()
        self.assert_clean()

# --------------------------------------------------------------------------
# Crashes in the middle of an operation (the damage helper _exits right
# before or after a write commit)
# --------------------------------------------------------------------------

class CrashTest(RepairTest):
    """What the TestCrashes* classes share (it holds no tests itself)."""

    def crash(self, when, n, *op, input=b""):
        r = self.st.tool("damage", "crash", when, n, *op, input=input)
        self.assertEqual(r.rc, 99, "the crash did not happen: %r" % r)


class TestCrashes(CrashTest):
    def test_crash_during_rename_after_commit(self):
        """The rename committed, store.header still has the old name: the list
        is right, and reconstruct brings the header up to date (and says so),
        so that a later -m finds the new name."""
        self.crash("after", 1, "rename", "user.bovik.work", "user.bovik.projects")
        hdr = os.path.join(self.mbpath("user.bovik.work"), "store.header")
        self.assertIn("name: user.bovik.work\n", read(hdr, "r"), "the crash left the old name")
        lines = self.repair("reconstruct")
        self.assert_lines(lines, r"^user\.bovik\.projects: store\.header ")
        self.assertIn("name: user.bovik.projects\n", read(hdr, "r"))
        renamed = {"user.bovik.work": "user.bovik.projects"}
        self.assert_recovered(Expect(renamed=renamed, subs_lost=True))
        self.assert_clean()
        # and the list survives the loss of the environment
        os.unlink(os.path.join(self.st.configdir, "data.mdb"))
        self.repair("reconstruct", "-m", "-B", self.st.backup)
        names = self.st.ms("list").lines
        self.assertIn("user.bovik.projects", names)
        self.assertNotIn("user.bovik.work", names)

    def test_crash_during_rename_before_commit(self):
        self.crash("before", 1, "rename", "user.bovik.work", "user.bovik.projects")
        self.assertEqual(self.check().rc, 0)
        self.repair("reconstruct", "-f")
        self.assert_recovered()

    def test_crash_during_delete(self):
        """The delete committed, its directory was not removed yet: it must
        not come back (not with -f), and cleanup finishes the removal."""
        path = self.mbpath("user.bovik.Sent")
        self.crash("after", 1, "delete", "user.bovik.Sent")
        self.assertTrue(os.path.isdir(path), "the crash left the directory")
        lines = self.repair("reconstruct", "-f")
        self.assertEqual(lines, [])
        self.assertNotIn("user.bovik.Sent", self.st.ms("list").lines)
        self.ms_ok("cleanup")
        self.assertFalse(os.path.exists(path))
        self.assert_recovered(Expect(gone={"user.bovik.Sent"}))
        self.assert_clean()


class TestCrashesMessages(CrashTest):
    """Crashes in a delivery and in an expunge."""

    def test_crash_during_multi_recipient_delivery(self):
        """Files linked into three INBOXes, the commit not made: each recipient
        gets the message exactly once, under the UID its file has, still
        stored once."""
        data = message("crash-dlv", body_lines=9)
        nexts = {u: self.before["mb"]["user." + u]["status"]["uidnext"] for u in USERS}
        self.crash("before", 1, "deliver", *USERS, input=data)
        inodes = set()
        for u in USERS:
            p = self.msgfile("user." + u, nexts[u])
            self.assertTrue(os.path.exists(p), "the crash left the file of %s" % u)
            inodes.add(os.stat(p).st_ino)
        self.assertEqual(len(inodes), 1)
        r = self.check()
        self.assertEqual(r.rc, 0, r)
        lines = self.repair("reconstruct")
        for u in USERS:
            self.assertIn("user.%s: uid %d: adopted file %d." % (u, nexts[u], nexts[u]), lines)
        self.assert_recovered(Expect(extra={"user." + u: [sha(data)] for u in USERS}))
        self.assertEqual({os.stat(self.msgfile("user." + u, nexts[u])).st_ino for u in USERS}, inodes)
        self.assert_clean()
        # the single-instance table knows the adopted file: a copy links it
        self.ms_ok("copy", "user.bovik", str(nexts["bovik"]), "user.bovik.work")
        self.assert_clean()

    def test_crash_during_expunge_before_commit(self):
        """The files were renamed N.expunged, the expunge did not commit: the
        messages are live and stay so."""
        uid = self.facts["bovik"]["m4"]
        self.ms_ok("store", "user.bovik", str(uid), "+FLAGS", "\\Deleted")
        self.crash("before", 1, "expunge", "user.bovik")
        self.assertTrue(os.path.exists(self.msgfile("user.bovik", uid, "expunged")))
        r = self.check()
        self.assertIn("notice: user.bovik: uid %d: live message's file is named as expunged "
                      "(an interrupted expunge)" % uid, r.lines)
        lines = self.repair("reconstruct", "user.bovik")
        self.assert_lines(lines, r"^user\.bovik: uid %d: file renamed back from an interrupted expunge$" % uid)
        self.assert_recovered(Expect(flags_lost={("user.bovik", uid)}, modseq_changed={("user.bovik", uid)}))
        self.assert_clean()

    def test_crash_during_expunge_after_commit(self):
        uid = self.facts["bovik"]["m4"]
        self.ms_ok("store", "user.bovik", str(uid), "+FLAGS", "\\Deleted")
        self.crash("after", 1, "expunge", "user.bovik")
        self.assertEqual(self.st.tool("reconstruct", "-G").lines, [])
        os.unlink(os.path.join(self.st.configdir, "data.mdb"))
        self.repair("reconstruct", "-m", "-B", self.st.backup)
        names = self.snapshot()
        self.assertNotIn(uid, names["mb"]["user.bovik"]["msgs"], "an expunged message never comes back, not after -m")


# --------------------------------------------------------------------------
# -n reports exactly what the real run then does
# --------------------------------------------------------------------------


class DryRunTest(RepairTest):
    """What the TestDryRun* classes share (it holds no tests itself)."""

    def exact(self, *args):
        return self.repair("reconstruct", *args, same_lines="exact")


class TestDryRun(DryRunTest):
    def test_per_mailbox_damage(self):
        uid = self.facts["bovik"]["m3"]
        os.unlink(self.msgfile("user.bovik", uid))
        self.damage("cache-del", "user.bovik", self.facts["bovik"]["m1"])
        self.damage("state-set", "user.bovik", "uidnext", 3)
        self.damage("rec-del", "user.bovik", self.facts["bovik"]["m2"])
        self.assertTrue(self.exact("user.bovik"))

    def test_store_header_missing(self):
        os.unlink(os.path.join(self.mbpath("user.fred"), "store.header"))
        self.assertTrue(self.exact("user.fred"))

    def test_mailbox_directory_gone(self):
        shutil.rmtree(self.mbpath("user.bovik.Sent"))
        self.assertTrue(self.exact("--expunge-missing-directory", "user.bovik.Sent"))

    def test_interrupted_expunge(self):
        uid = self.facts["bovik"]["m4"]
        self.ms_ok("store", "user.bovik", str(uid), "+FLAGS", "\\Deleted")
        r = self.st.tool("damage", "crash", "before", 1, "expunge", "user.bovik")
        self.assertEqual(r.rc, 99, r)
        self.assertTrue(self.exact("user.bovik"))


class TestDryRunList(DryRunTest):
    # -f and -m build mailbox-list entries before they can say what they would
    # adopt into them: their dry runs report the decisions they can make
    # without building (which directories, the environment moved aside) and
    # change nothing; the per-message lines come only from the real run
    # (docs/admin.md, reconstruct(8)).
    def test_directory_missing_from_list(self):
        self.damage("mbox-forget", "user.bovik.work")
        fp0 = self.st.fingerprint()
        d = self.st.tool("reconstruct", "-n", "-f")
        self.assertEqual(d.rc, 0, d)
        self.assert_same_fingerprint(fp0, self.st.fingerprint(), "reconstruct -n -f changed the store")
        self.assertTrue(any(re.search(r"^user\.bovik\.work: mailbox directory [0-9a-f-]{36} would be added", l)
                            for l in d.lines), d.lines)
        self.repair("reconstruct", "-f", dry=False)

    def test_environment_deleted(self):
        os.unlink(os.path.join(self.st.configdir, "data.mdb"))
        d = self.st.tool("reconstruct", "-n", "-m")
        self.assertEqual((d.rc, d.lines), (0, []), "nothing to move aside, nothing changed")
        self.assertFalse(os.path.exists(os.path.join(self.st.configdir, "data.mdb")))
        self.repair("reconstruct", "-m", dry=False)

    def test_environment_damaged(self):
        p = os.path.join(self.st.configdir, "data.mdb")
        with open(p, "r+b") as f:
            f.truncate(os.path.getsize(p) // 2)
        digest = sha(read(p))
        d = self.st.tool("reconstruct", "-n", "-m", "-B", self.st.backup)
        self.assertEqual(d.rc, 0, d)
        self.assertTrue(any(re.search(r"^would move \S*data\.mdb to \S+$", l) for l in d.lines), d.lines)
        self.assertEqual(sha(read(p)), digest, "the dry run left the damaged environment alone")
        self.repair("reconstruct", "-m", "-B", self.st.backup, dry=False)


# --------------------------------------------------------------------------
# The tools themselves: help, usage, mbexamine, ctl_mboxlist
# --------------------------------------------------------------------------


class TestTools(RepairTest):
    def test_help_and_usage(self):
        for prog in ("reconstruct", "quota", "mbexamine", "ctl_mboxlist"):
            r = run(prog, ["--help"])
            self.assertEqual(r.rc, 0, r)
            for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS"):
                self.assertIn("\n" + section + "\n", "\n" + r.text, "%s --help lacks %s" % (prog, section))
            r = run(prog, ["-Z"])
            self.assertEqual((r.rc, r.out), (2, b""), r)
            self.assertTrue(r.err.startswith(prog + ": "), r)
        for args in (["-m", "user.bovik"], ["-B"], ["--bogus"]):
            r = self.st.tool("reconstruct", *args)
            self.assertEqual((r.rc, r.out), (2, b""), r)
        for args in ([], ["-d", "-u"], ["-d", "extra"]):
            r = self.st.tool("ctl_mboxlist", *args)
            self.assertEqual((r.rc, r.out), (2, b""), r)
        r = self.st.tool("mbexamine")
        self.assertEqual((r.rc, r.out), (2, b""), r)
        r = self.st.tool("reconstruct", "user.nobody")
        self.assertEqual((r.rc, r.out), (1, b""), r)
        self.assertIn("user.nobody", r.err)
        r = run("quota", ["-C", os.path.join(self.tmp, "missing.conf")])
        self.assertEqual(r.rc, 1, r)
        # $LIBSTORE_CONFIG
        env = dict(os.environ, LIBSTORE_CONFIG=self.st.conf)
        p = subprocess.run([PROGS["quota"]], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith(b"shared.news STORAGE "), p.stdout)

    def test_mbexamine(self):
        r = self.st.tool("mbexamine", "user.bovik")
        self.assertEqual(r.rc, 0, r)
        b = self.before["mb"]["user.bovik"]
        self.assertEqual(r.lines[0], "mailbox user.bovik")
        self.assertTrue(any(l.startswith("header uidnext=%d highestmodseq=%d exists=%d"
                                         % (b["status"]["uidnext"], b["status"]["highestmodseq"],
                                            b["status"]["messages"])) for l in r.lines), r)
        recs = [l for l in r.lines if l.startswith("record uid=")]
        self.assertEqual(len(recs), len(b["msgs"]) + 1, "every record, the tombstone included")
        self.assertTrue(any("EXPUNGED" in l for l in recs))
        for uid, m in b["msgs"].items():
            self.assertTrue(any(l.startswith("record uid=%d " % uid) and m["guid"] in l for l in recs))
        self.assertEqual(len([l for l in r.lines if l.startswith("  envelope (")]), len(b["msgs"]))
        uid = self.facts["bovik"]["m2"]
        one = self.st.tool("mbexamine", "-u", uid, "user.bovik")
        self.assertEqual([l for l in one.lines if l.startswith("record uid=")],
                         [l for l in recs if l.startswith("record uid=%d " % uid)])
        self.damage("cache-corrupt", "user.bovik", uid)
        r2 = self.st.tool("mbexamine", "-u", uid, "user.bovik")
        self.assertIn("  cache DAMAGED", "\n".join(r2.lines))
        r3 = self.st.tool("mbexamine", "user.nobody")
        self.assertEqual((r3.rc, r3.out), (1, b""), r3)

    def test_ctl_mboxlist_round_trip(self):
        d = self.st.tool("ctl_mboxlist", "-d")
        self.assertEqual(d.rc, 0, d)
        names = [n for n, a in self.before["list"].items() if "\\Noselect" not in a]
        self.assertEqual([l.split("\t")[0] for l in d.lines], sorted(names))
        for l in d.lines:
            self.assertEqual(len(l.split("\t")), 5, l)
        # loading a store's own dump changes nothing
        fp = self.st.fingerprint()
        u = self.st.tool("ctl_mboxlist", "-u", input=d.out)
        self.assertEqual((u.rc, u.lines), (0, []), u)
        self.assert_same_fingerprint(fp, self.st.fingerprint(), "loading the store's own dump")
        self.assertEqual(self.st.tool("ctl_mboxlist", "-d").out, d.out)
        # into an empty store: every entry added; dump identical
        empty = Store(os.path.join(self.tmp, "empty"))
        os.makedirs(empty.root)
        empty.write_conf()
        empty.init()  # a new store, with its own (empty) partitions
        dry = empty.tool("ctl_mboxlist", "-n", "-u", input=d.out)
        self.assertEqual(dry.rc, 0, dry)
        u = empty.tool("ctl_mboxlist", "-u", input=d.out)
        self.assertEqual(u.rc, 0, u)
        self.assertEqual(u.lines, ["%s: entry added" % n for n in sorted(names)])
        self.assertEqual(dry.lines, u.lines, "-n reports what -u does")
        self.assertEqual(empty.tool("ctl_mboxlist", "-d").out, d.out, "the round trip is exact")
        # a changed ACL is an update; -n changes nothing
        changed = d.out.replace(b"fred\\tlrs\\t", b"fred\\tlr\\t")
        self.assertNotEqual(changed, d.out)
        dry = self.st.tool("ctl_mboxlist", "-n", "-u", input=changed)
        self.assertEqual(dry.lines, ["shared.news: entry updated", "user.bovik.work: entry updated"])
        self.assertEqual(self.st.tool("ctl_mboxlist", "-d").out, d.out)
        self.assertEqual(self.st.tool("ctl_mboxlist", "-u", input=changed).lines, dry.lines)
        self.assertEqual(self.st.tool("ctl_mboxlist", "-u", input=d.out).lines, dry.lines)
        # a malformed line changes nothing
        bad = d.out + b"user.broken\tnot-a-uuid\n"
        r = self.st.tool("ctl_mboxlist", "-u", input=bad)
        self.assertEqual((r.rc, r.out), (1, b""), r)
        self.assertEqual(self.st.tool("ctl_mboxlist", "-d").out, d.out)

    def test_progress_on_a_long_run(self):
        """A run longer than a second tells so on stderr; stdout stays clean."""
        self.ms_ok("create", "shared.big")
        self.ms_ok("copy", "user.bovik", "1:*", "shared.big")
        for _ in range(4):
            self.ms_ok("copy", "shared.big", "1:*", "shared.big")
        argv = [PROGS["mbexamine"], "-C", self.st.conf, "shared.big"]
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env_without_config())
        time.sleep(1.6)   # mbexamine blocks on the full pipe meanwhile
        out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        err = err.decode()
        self.assertRegex(err, r"^mbexamine: working: \d+ s, \d+ lines so far\n")
        self.assertRegex(err, r"\nmbexamine: done after \d+\.\d s, \d+ lines\n$")
        self.assertTrue(out.startswith(b"mailbox shared.big\n"))
        self.assertEqual(len([l for l in out.splitlines() if l.startswith(b"record uid=")]), 96)

    def test_quiet(self):
        uid = self.facts["bovik"]["m1"]
        self.damage("cache-del", "user.bovik", uid)
        r = self.st.tool("reconstruct", "-q")
        self.assertEqual((r.rc, r.out, r.err), (0, b"", ""), r)
        self.assert_clean()
        self.damage("quota-set", "user.bovik", "STORAGE", 1)
        r = self.st.tool("quota", "-f", "-q")
        self.assertEqual((r.rc, r.out, r.err), (0, b"", ""), r)
        self.assert_clean()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--save-world"] and len(sys.argv) == 3:
        save_world(sys.argv[2])
    else:
        unittest.main()
