#!/usr/bin/env python3
"""Fidelity driver: compare our ENVELOPE / BODYSTRUCTURE / BODY with Dovecot's.

For every file of the corpus (recursively), the bytes are converted to CRLF
the way the store does on append (a bare LF becomes CRLF, nothing else
changes), put into a throwaway maildir, and Dovecot's imap binary is run
one-shot (PREAUTH, no daemon) with "SELECT INBOX" and
"FETCH 1:* (ENVELOPE BODYSTRUCTURE BODY BODY.PEEK[])". The same CRLF bytes
are given to mime_dump (our ls__mime_analyze). Messages are matched by their
content (BODY[]), so maildir ordering does not matter.

Exit status: 0 = no unexpected difference, 1 = differences (listed, and
written to --report), 77 = Dovecot's imap binary is not installed (skip).
"""
import argparse
import hashlib
import os
import pwd
import shutil
import subprocess
import sys
import tempfile

IMAP_CANDIDATES = ["/usr/lib/dovecot/imap", "/usr/libexec/dovecot/imap"]


def to_crlf(data: bytes) -> bytes:
    """A bare LF becomes CRLF; everything else is kept (as the store does)."""
    pieces = data.split(b"\n")
    out = bytearray()
    for chunk in pieces[:-1]:
        out += chunk
        out += b"\n" if chunk.endswith(b"\r") else b"\r\n"
    out += pieces[-1]
    return bytes(out)


def corpus_files(root):
    files = []
    for d, _, names in os.walk(root):
        for n in names:
            if n.startswith(".") or n.lower().endswith((".md", ".py")):
                continue  # documentation and the generator, not messages
            files.append(os.path.join(d, n))
    files.sort()
    return files


# ---- a small IMAP response reader: values are returned as raw byte spans ----

class Reader:
    def __init__(self, buf: bytes, pos: int = 0):
        self.b = buf
        self.p = pos

    def skip_sp(self):
        while self.p < len(self.b) and self.b[self.p] == 0x20:
            self.p += 1

    def value_span(self):
        """Skip one IMAP value at p; return (start, end)."""
        b = self.b
        start = self.p
        c = b[self.p:self.p + 1]
        if c == b"(":
            self.p += 1
            while True:
                self.skip_sp()
                if b[self.p:self.p + 1] == b")":
                    self.p += 1
                    return start, self.p
                self.value_span()
        if c == b'"':
            self.p += 1
            while b[self.p:self.p + 1] != b'"':
                if b[self.p:self.p + 1] == b"\\":
                    self.p += 1
                self.p += 1
            self.p += 1
            return start, self.p
        if c == b"{":
            close = b.index(b"}", self.p)
            n = int(b[self.p + 1:close].rstrip(b"+"))
            self.p = close + 3 + n  # "}\r\n" + n bytes
            return start, self.p
        # atom / NIL / number; "BODY[]" style names are handled by the caller
        while self.p < len(b) and b[self.p] not in b" ()\r\n":
            self.p += 1
        return start, self.p

    def literal_bytes(self, start, end):
        b = self.b
        if b[start:start + 1] == b"{":
            close = b.index(b"}", start)
            return b[close + 3:end]
        if b[start:start + 1] == b'"':
            return b[start + 1:end - 1].replace(b'\\"', b'"').replace(b"\\\\", b"\\")
        return b[start:end]


def parse_fetches(out: bytes):
    """Return a list of dicts {ITEM: raw bytes} for each '* N FETCH' line."""
    res = []
    pos = 0
    while True:
        i = out.find(b" FETCH (", pos)
        if i < 0:
            break
        r = Reader(out, i + len(b" FETCH ("))
        items = {}
        while True:
            r.skip_sp()
            if out[r.p:r.p + 1] == b")":
                r.p += 1
                break
            ns = r.p
            while out[r.p:r.p + 1] not in (b" ", b""):
                if out[r.p:r.p + 1] == b"[":
                    r.p = out.index(b"]", r.p)
                r.p += 1
            name = out[ns:r.p].decode("ascii", "replace").upper()
            r.skip_sp()
            s, e = r.value_span()
            items[name] = (out[s:e], r.literal_bytes(s, e) if name.startswith("BODY[") else None)
        res.append(items)
        pos = r.p
    return res


def parse_dump(out: bytes):
    res = []
    p = 0
    cur = {}
    while p < len(out):
        nl = out.index(b"\n", p)
        tag, n = out[p:nl].split(b" ")
        n = int(n)
        cur[tag.decode()] = out[nl + 1:nl + 1 + n]
        p = nl + 1 + n + 1
        if tag == b"BODY":
            res.append(cur)
            cur = {}
    return res


def run_dovecot(imap, msgs, workdir):
    maildir = os.path.join(workdir, "Maildir")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(maildir, sub))
    for i, m in enumerate(msgs):
        with open(os.path.join(maildir, "cur", "%d.M%dP1.fidelity:2," % (1000000 + i, i)), "wb") as f:
            f.write(m)
    conf = os.path.join(workdir, "dovecot.conf")
    with open(conf, "w") as f:
        f.write("base_dir = %s/run\nstate_dir = %s/state\nlog_path = %s/log\n"
                "mail_location = maildir:%s\nssl = no\n" % (workdir, workdir, workdir, maildir))
    uid, gid = os.getuid(), os.getgid()
    user = pwd.getpwuid(uid).pw_name if uid != 0 else "nobody"
    if uid == 0:
        # Dovecot refuses to access mail as root: run the session as nobody
        pw = pwd.getpwnam("nobody")
        uid, gid = pw.pw_uid, pw.pw_gid
        for d, dirs, files in os.walk(workdir):
            os.chown(d, uid, gid)
            for n in files:
                os.chown(os.path.join(d, n), uid, gid)
    env = {"USER": user, "HOME": workdir, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
    args = [imap, "-c", conf, "-o", "mail_uid=%d" % uid, "-o", "mail_gid=%d" % gid,
            "-o", "first_valid_uid=0", "-o", "first_valid_gid=0"]
    p = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env, cwd=workdir)
    # Dovecot drops a session whose input ends while output is pending, so
    # LOGOUT (and EOF) only go once the FETCH has completed.
    p.stdin.write(b"a SELECT INBOX\r\nb FETCH 1:* (ENVELOPE BODYSTRUCTURE BODY BODY.PEEK[])\r\n")
    p.stdin.flush()
    out = bytearray()
    done = (b"\r\nb OK ", b"\r\nb NO ", b"\r\nb BAD ")
    while True:
        chunk = os.read(p.stdout.fileno(), 1 << 16)
        if not chunk:
            break
        out += chunk
        tail = bytes(out[-(len(chunk) + 16):])
        if any(d in tail for d in done) and out.endswith(b"\r\n"):
            break
    p.stdin.write(b"c LOGOUT\r\n")
    p.stdin.flush()
    while True:
        chunk = os.read(p.stdout.fileno(), 1 << 16)
        if not chunk:
            break
        out += chunk
    p.stdin.close()
    err = p.stderr.read()
    p.wait(timeout=300)
    if b"\r\nb OK" not in out:
        sys.stderr.write("dovecot imap failed:\n%s\n%s\n" % (bytes(out[-2000:]).decode("utf-8", "replace"),
                                                           err.decode("utf-8", "replace")))
        sys.exit(1)
    return bytes(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dump", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--imap", default=None)
    ap.add_argument("--known", default=None)
    ap.add_argument("--report", default=None)
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    a = ap.parse_args()

    imap = a.imap or next((c for c in IMAP_CANDIDATES if os.access(c, os.X_OK)), None)
    if imap is None or not os.access(imap, os.X_OK):
        print("SKIP: Dovecot's imap binary not found (install dovecot-imapd)")
        return 77

    files = corpus_files(a.corpus)
    if not files:
        print("no corpus files under", a.corpus)
        return 1
    known = set()
    if a.known and os.path.exists(a.known):
        for line in open(a.known):
            line = line.strip()
            if line and not line.startswith("#"):
                known.add(line)

    msgs = []
    for f in files:
        with open(f, "rb") as fh:
            msgs.append(to_crlf(fh.read()))

    work = tempfile.mkdtemp(prefix="ls-fidelity-")
    os.chmod(work, 0o755)  # the Dovecot session may run as another user
    try:
        # ours
        crlf_dir = os.path.join(work, "crlf")
        os.makedirs(crlf_dir)
        paths = []
        for i, m in enumerate(msgs):
            pth = os.path.join(crlf_dir, "%06d.eml" % i)
            with open(pth, "wb") as fh:
                fh.write(m)
            paths.append(pth)
        ours = []
        for k in range(0, len(paths), 200):
            p = subprocess.run([a.dump] + paths[k:k + 200], stdout=subprocess.PIPE, timeout=300)
            if p.returncode != 0:
                print("mime_dump failed with status", p.returncode)
                return 1
            ours += parse_dump(p.stdout)
        # Dovecot's
        dv_out = run_dovecot(imap, msgs, os.path.join(work, "dovecot"))
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("kept", work)

    theirs = {}
    for items in parse_fetches(dv_out):
        body = items.get("BODY[]")
        if body is None:
            continue
        theirs[hashlib.sha256(body[1]).hexdigest()] = items

    same = 0
    diffs = []
    unexpected = 0
    for f, m, o in zip(files, msgs, ours):
        rel = os.path.relpath(f, a.corpus)
        t = theirs.get(hashlib.sha256(m).hexdigest())
        if t is None:
            # Dovecot sends NUL bytes of BODY[] as 0x80
            t = theirs.get(hashlib.sha256(m.replace(b"\0", b"\x80")).hexdigest())
        if t is None:
            diffs.append((rel, "MISSING", b"(not returned by dovecot)", b""))
            unexpected += 1
            continue
        bad = []
        for item in ("ENVELOPE", "BODYSTRUCTURE", "BODY"):
            if t[item][0] != o[item]:
                bad.append((rel, item, t[item][0], o[item]))
        if bad:
            diffs += bad
            if rel not in known:
                unexpected += 1
        else:
            same += 1

    lines = []
    for rel, item, dv, us in diffs:
        lines.append("=== %s %s%s\n--- dovecot\n%r\n--- ours\n%r\n" %
                     (rel, item, " (known)" if rel in known else "", dv, us))
    summary = "%d messages compared, %d identical, %d differ (%d unexpected)" % (
        len(files), same, len(files) - same, unexpected)
    if a.report:
        with open(a.report, "w") as fh:
            fh.write("".join(lines) + summary + "\n")
    if lines:
        sys.stdout.write("".join(lines[:40]))
    print(summary)
    return 1 if unexpected else 0


if __name__ == "__main__":
    sys.exit(main())
