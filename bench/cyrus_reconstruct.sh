#!/usr/bin/env bash
# bench/cyrus_reconstruct.sh - libstore's reconstruct against Cyrus IMAP 3.6's
# on the same messages (issue 4: "reconstruct >= 2x Cyrus 3.6's reconstruct on
# the same 10k messages with their index removed and a warm page cache").
#
# Not run by CI or ctest: it needs root, installs Debian's cyrus-imapd and
# sasl2-bin if they are missing, and takes a few minutes.
#
#   sudo bench/cyrus_reconstruct.sh [--n N] [--runs R] [--seed S]
#                                   [--src DIR] [--build DIR] [--workdir DIR] [--keep]
#
# What it does, in a fresh temporary directory (removed at exit unless --keep):
#  1. msgdump writes N generated messages (bench/msggen.c, seed 41 = the corpus
#     of mailbench's reconstruct_rebuild) as files 1.eml .. N.eml.
#  2. Cyrus: a private imapd.conf, cyrus.conf, configdirectory, partition and
#     sasldb (no system file or daemon is used or touched); `master` is started
#     on a free loopback port, Cyrus's own imapd creates user.bench and the N
#     files are APPENDed in order over IMAP (python3 imaplib, an admin user
#     authenticated against the private sasldb); master is stopped.
#  3. libstore: a store with the store.conf of mailbench; `mailstore create`
#     user.bench, `mailstore append` of the same N files in order.
#  4. R rounds; each times one run of each side, in alternating order:
#     Cyrus: remove the mailbox's cyrus.index and cyrus.cache (cyrus.header,
#     cyrus.annotations, the message files and mailboxes.db stay), sync, warm
#     the page cache (read every message file), time
#       su cyrus -s /bin/sh -c 'reconstruct -C CONF user.bench'
#     and check that it added N messages and that mbexamine shows N messages
#     and last UID N.
#     libstore: delete the LMDB environment (CONFIGDIR/data.mdb and lock.mdb:
#     the mailbox list, every index and cache record, the GUID table, quota,
#     ACLs - all metadata; store.header and the message files stay), sync, warm
#     the page cache, time `reconstruct -C CONF -m` and check that it adopted
#     N files under their own UIDs and `mailstore status` shows N messages,
#     UIDNEXT N+1.
#     Afterwards Cyrus's master is started again: IMAP SELECT must show N
#     EXISTS and FETCH of the last message's ENVELOPE must work.
#  5. Prints one JSON line on stdout (mailbench's keys: medians of the runs'
#     messages/s, ratio, samples; plus CPU seconds and load averages);
#     progress on stderr.
#
# Both tools' standard output goes to a file; each is timed from outside
# (bash `time`, wall clock) and includes process start-up (for Cyrus also su's,
# reported as su_cost_s). LIBSTORE_REV names the libstore revision in the JSON
# when --src is not a git work tree.
set -euo pipefail

N=10000
RUNS=3
SEED=41
KEEP=0
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
BUILD=/tmp/cyrcmp-build
WORKBASE=/var/tmp
CYRBIN=/usr/lib/cyrus/bin

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
    cat <<EOF
Options:
  --n N          messages (default $N)
  --runs R       timed runs of each side (default $RUNS); the median is reported
  --seed S       msgdump seed (default $SEED)
  --src DIR      libstore source tree to build (default $SRC)
  --build DIR    its Release build directory (default $BUILD)
  --workdir DIR  where the temporary directory is made (default $WORKBASE)
  --keep         keep the temporary directory
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
    --n) N=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --src) SRC=$(cd "$2" && pwd); shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --workdir) WORKBASE=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "cyrus_reconstruct.sh: unknown argument '$1' (--help)" >&2; exit 2 ;;
    esac
done
case "$N$RUNS" in *[!0-9]*) echo "cyrus_reconstruct.sh: --n and --runs take numbers" >&2; exit 2 ;; esac

say() { echo "cyrus_reconstruct: $*" >&2; }
die() { say "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (it installs packages and runs Cyrus as user cyrus)"
for t in python3 cmake cc; do command -v $t >/dev/null || die "$t is needed"; done

# ---------------------------------------------------------------- packages
if [ ! -x $CYRBIN/reconstruct ] || [ ! -x $CYRBIN/imapd ] || [ ! -x $CYRBIN/master ] ||
    ! command -v saslpasswd2 >/dev/null; then
    say "installing cyrus-imapd and sasl2-bin (apt-get)"
    # Keep the package's own init script from starting the system daemon: this
    # benchmark runs a private master only. A policy-rc.d already present is left alone.
    POLICY_MADE=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        POLICY_MADE=1
    fi
    inst() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q cyrus-imapd sasl2-bin >&2; }
    rc=0
    inst || { apt-get update -q >&2 && inst; } || rc=$?
    [ $POLICY_MADE = 1 ] && rm -f /usr/sbin/policy-rc.d
    [ $rc = 0 ] || die "apt-get install cyrus-imapd sasl2-bin failed"
fi
id cyrus >/dev/null 2>&1 || die "no user 'cyrus' (cyrus-common should have made it)"
CYRVER=$(dpkg-query -W -f='${Version}' cyrus-imapd 2>/dev/null || echo unknown)
say "cyrus-imapd $CYRVER"

# ---------------------------------------------------------------- build
say "building libstore (Release) from $SRC in $BUILD"
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DLIBSTORE_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j2 --target msgdump mailstore reconstruct >/dev/null
MSGDUMP=$BUILD/bench/msgdump
MAILSTORE=$BUILD/mailstore
RECONSTRUCT=$BUILD/reconstruct
LSREV=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo "${LIBSTORE_REV:-unknown}")
if [ -n "$(git -C "$SRC" status --porcelain --untracked-files=no -- libstore include tools 2>/dev/null)" ]; then
    LSREV="$LSREV+local-changes"
fi

# ---------------------------------------------------------------- work directory
mkdir -p "$WORKBASE"
W=$(mktemp -d "$WORKBASE/cyrcmp.XXXXXX")
chmod 755 "$W"
MASTERPID=""
stop_master() {
    local pid=$MASTERPID
    [ -n "$pid" ] || return 0
    MASTERPID=""
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    say "master $pid did not stop after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
    stop_master
    if [ $KEEP = 1 ]; then say "kept $W"; else rm -rf "$W"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
say "work directory $W"

MSGS=$W/msgs
"$MSGDUMP" --seed "$SEED" "$N" "$MSGS" >&2
chmod -R a+rX "$MSGS"

warm() { # read every file of the directories given, into the page cache
    find "$@" -type f -exec cat {} + >/dev/null
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
TIMEFORMAT='%3R %3U %3S'

# ---------------------------------------------------------------- Cyrus
C=$W/cyrus
mkdir -p "$C/config" "$C/spool" "$C/socket" "$C/run"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
CONF=$C/imapd.conf
cat > "$CONF" <<EOF
configdirectory: $C/config
partition-default: $C/spool
servername: localhost
admins: benchadmin
altnamespace: no
unixhierarchysep: no
virtdomains: off
conversations: no
sasl_pwcheck_method: auxprop
sasl_auxprop_plugin: sasldb
sasl_sasldb_path: $C/sasldb
sasl_mech_list: PLAIN
allowplaintext: yes
lmtpsocket: $C/socket/lmtp
idlesocket: $C/socket/idle
notifysocket: $C/socket/notify
syslog_prefix: cyrcmp
EOF
cat > "$C/cyrus.conf" <<EOF
START {
  recover cmd="ctl_cyrusdb -C $CONF -r"
}
SERVICES {
  imap cmd="imapd -C $CONF" listen="127.0.0.1:$PORT" prefork=0 maxchild=4
}
EVENTS {
}
EOF
PASS=bench-$$-$RANDOM
# the realm of a plain LOGIN is the servername
echo "$PASS" | saslpasswd2 -p -c -f "$C/sasldb" -u localhost benchadmin
chown -R cyrus:mail "$C"
chmod 750 "$C"
as_cyrus() { su cyrus -s /bin/sh -c "$*"; }

start_master() {
    "$CYRBIN/master" -C "$CONF" -M "$C/cyrus.conf" -p "$C/run/master.pid" -L "$C/master.log" -d
    for _ in $(seq 1 100); do
        if [ -s "$C/run/master.pid" ] && python3 - "$PORT" <<'EOF' 2>/dev/null; then
import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
EOF
            MASTERPID=$(cat "$C/run/master.pid")
            return 0
        fi
        sleep 0.1
    done
    die "Cyrus master did not come up on 127.0.0.1:$PORT (see $C/master.log)"
}

imap() { # python3 imaplib against the private server: imap fill|check
    python3 - "$1" "$PORT" "$PASS" "$N" "$MSGS" <<'EOF'
import imaplib, sys, time
what, port, pw, n, msgs = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
import socket
M = imaplib.IMAP4("127.0.0.1", port)
# imaplib writes a literal and its CRLF separately: without this, Nagle and
# the server's delayed ACK cost 40 ms per APPEND
M.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
M.login("benchadmin", pw)
def ok(res, what):
    if res[0] != "OK":
        sys.exit("cyrus_reconstruct: IMAP %s failed: %r" % (what, res))
    return res[1]
if what == "fill":
    ok(M.create("user.bench"), "CREATE user.bench")
    ok(M.setacl("user.bench", "benchadmin", "lrswipkxtecdan"), "SETACL")
    t0 = time.time()
    for i in range(1, n + 1):
        with open("%s/%d.eml" % (msgs, i), "rb") as f:
            ok(M.append("user.bench", None, None, f.read()), "APPEND %d" % i)
        if i % 1000 == 0 or i == n:
            print("cyrus_reconstruct: cyrus: appended %d/%d (%.0f/s)" % (i, n, i / (time.time() - t0)),
                  file=sys.stderr)
    st = ok(M.status("user.bench", "(MESSAGES UIDNEXT)"), "STATUS")[0].decode()
    print("cyrus_reconstruct: cyrus: STATUS %s" % st, file=sys.stderr)
    if "MESSAGES %d " % n not in st:
        sys.exit("cyrus_reconstruct: Cyrus holds other than %d messages: %s" % (n, st))
else:
    exists = int(ok(M.select("user.bench", readonly=True), "SELECT")[0])
    env = ok(M.fetch(str(n), "(UID ENVELOPE)"), "FETCH")[0]
    if isinstance(env, tuple):      # the envelope held a literal
        env = b"".join(env)
    print("cyrus_reconstruct: cyrus: after the rebuilds SELECT: %d EXISTS; FETCH %d: %s" %
          (exists, n, env[:120]), file=sys.stderr)
    if exists != n or b"ENVELOPE (" not in env:
        sys.exit("cyrus_reconstruct: Cyrus's rebuilt mailbox has %d messages, expected %d" % (exists, n))
    M.close()
M.logout()
EOF
}

say "cyrus: starting master on 127.0.0.1:$PORT, appending $N messages over IMAP"
start_master
imap fill
stop_master
CDIR=$(as_cyrus "$CYRBIN/mbpath -C $CONF user.bench")
[ -f "$CDIR/cyrus.header" ] || die "cyrus: no cyrus.header in $CDIR"
nfiles=$(find "$CDIR" -maxdepth 1 -name '[1-9]*.' | wc -l)
[ "$nfiles" = "$N" ] || die "cyrus: $CDIR holds $nfiles message files, expected $N"
say "cyrus: mailbox user.bench is $CDIR ($nfiles message files; $(ls "$CDIR" | grep -v '^[0-9]' | tr '\n' ' '))"
# su's own cost, included in every Cyrus timing below
SUCOST=$( { time as_cyrus true; } 2>&1 | cut -d' ' -f1)

# ---------------------------------------------------------------- libstore
L=$W/libstore
mkdir -p "$L/config" "$L/spool"
LCONF=$L/store.conf
printf '# written by cyrus_reconstruct.sh (as mailbench)\nconfigdirectory: %s\npartition-default: %s\ndefaultpartition: default\nsingleinstancestore: yes\nfsync: all\n' \
    "$L/config" "$L/spool" > "$LCONF"
"$MAILSTORE" -C "$LCONF" create user.bench
say "libstore: appending $N messages with mailstore append"
t0=$(date +%s.%N)
for i in $(seq 1 "$N"); do
    "$MAILSTORE" -C "$LCONF" append user.bench < "$MSGS/$i.eml" >/dev/null
    if [ $((i % 1000)) = 0 ]; then
        say "libstore: appended $i/$N ($(awk -v n=$i -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.0f", n / (b - a)}')/s)"
    fi
done
LDIR=$("$MAILSTORE" -C "$LCONF" path user.bench)
nfiles=$(find "$LDIR" -maxdepth 1 -name '[1-9]*.' | wc -l)
[ "$nfiles" = "$N" ] || die "libstore: $LDIR holds $nfiles message files, expected $N"
say "libstore: mailbox user.bench is $LDIR ($nfiles message files; $(ls "$LDIR" | grep -v '^[0-9]' | tr '\n' ' '))"
# "MESSAGES UIDNEXT" of user.bench
status_n() { "$MAILSTORE" -C "$LCONF" --json status user.bench |
    python3 -c 'import json,sys; s = json.load(sys.stdin); print(s["messages"], s["uidnext"])'; }
[ "$(status_n)" = "$N $((N + 1))" ] || die "libstore: status does not show $N messages, UIDNEXT $((N + 1)) after the appends"

# ---------------------------------------------------------------- timed runs
# One run of each side per round, the order alternating from round to round
# (as mailbench does), so that both sides see the same machine.
CYR_S=() CYR_CPU=() CYR_LOAD=() LS_S=() LS_CPU=() LS_LOAD=()
rate_of() { awk -v n="$N" -v t="$1" 'BEGIN {printf "%.1f", n / t}'; }
cpu_of() { awk -v u="$1" -v s="$2" 'BEGIN {printf "%.3f", u + s}'; }

cyrus_run() {
    local i=$1 wall user sys adds ex msgs last rate
    rm -f "$CDIR/cyrus.index" "$CDIR/cyrus.cache"
    sync
    warm "$CDIR" "$C/config"
    CYR_LOAD+=("$(loadavg)")
    { time as_cyrus "$CYRBIN/reconstruct -C $CONF user.bench" >"$W/cyrus-reconstruct.$i.out" 2>&1; } 2>"$W/cyrus.$i.time"
    read -r wall user sys < "$W/cyrus.$i.time"
    adds=$(grep -c 'found - adding' "$W/cyrus-reconstruct.$i.out" || true)
    ex=$(as_cyrus "$CYRBIN/mbexamine -C $CONF -s 1 user.bench")
    msgs=$(sed -n 's/.*Number of Messages: \([0-9]*\).*/\1/p' <<<"$ex")
    last=$(sed -n 's/.*Last UID: \([0-9]*\).*/\1/p' <<<"$ex")
    [ -f "$CDIR/cyrus.index" ] && [ "$msgs" = "$N" ] && [ "$last" = "$N" ] && [ "$adds" = "$N" ] ||
        die "cyrus run $i: index has '$msgs' messages, last UID '$last', reconstruct added '$adds' (expected $N; see $W/cyrus-reconstruct.$i.out)"
    rate=$(rate_of "$wall")
    CYR_S+=("$rate")
    CYR_CPU+=("$(cpu_of "$user" "$sys")")
    say "cyrus run $i: ${wall}s wall (user ${user}s, sys ${sys}s) = $rate msg/s; mbexamine: $msgs messages, last UID $last; load $(loadavg)"
}

libstore_run() {
    local i=$1 wall user sys got adds rate
    rm -f "$L/config/data.mdb" "$L/config/lock.mdb"
    sync
    warm "$LDIR"
    LS_LOAD+=("$(loadavg)")
    { time "$RECONSTRUCT" -C "$LCONF" -m >"$W/ls-reconstruct.$i.out" 2>"$W/ls-reconstruct.$i.err"; } 2>"$W/ls.$i.time"
    read -r wall user sys < "$W/ls.$i.time"
    got=$(status_n)
    adds=$(grep -c ': adopted file ' "$W/ls-reconstruct.$i.out" || true)
    # the files keep their UIDs, as on the Cyrus side
    [ "$got" = "$N $((N + 1))" ] && [ "$adds" = "$N" ] ||
        die "libstore run $i: after reconstruct -m status shows messages, UIDNEXT '$got', $adds files adopted (expected $N, $((N + 1)), $N; see $W/ls-reconstruct.$i.*)"
    rate=$(rate_of "$wall")
    LS_S+=("$rate")
    LS_CPU+=("$(cpu_of "$user" "$sys")")
    say "libstore run $i: ${wall}s wall (user ${user}s, sys ${sys}s) = $rate msg/s; status: messages, UIDNEXT $got; load $(loadavg)"
}

for i in $(seq 1 "$RUNS"); do
    if [ $((i % 2)) = 1 ]; then
        cyrus_run "$i"
        libstore_run "$i"
    else
        libstore_run "$i"
        cyrus_run "$i"
    fi
done

say "cyrus: restarting master to check the rebuilt mailbox over IMAP"
start_master
imap check
stop_master

# ---------------------------------------------------------------- result
join() { local IFS=,; echo "$*"; }
python3 - "$N" "$CYRVER" "$LSREV" "$SUCOST" "$SEED" \
    "$(join "${LS_S[@]}")" "$(join "${CYR_S[@]}")" "$(join "${LS_CPU[@]}")" "$(join "${CYR_CPU[@]}")" \
    "$(join "${LS_LOAD[@]}")" "$(join "${CYR_LOAD[@]}")" <<'EOF'
import json, statistics, sys
n, ver, rev, sucost, seed, ls, cy, lscpu, cycpu, lsload, cyload = sys.argv[1:]
nums = lambda v: [float(x) for x in v.split(",")]
ours, base = statistics.median(nums(ls)), statistics.median(nums(cy))
ratio = ours / base if base else 0.0
print(json.dumps({
    "workload": "reconstruct_vs_cyrus", "n": int(n), "unit": "messages",
    "ops_per_s": round(ours, 1),
    "baseline": "cyrus %s reconstruct" % ver.split("-")[0], "baseline_ops_per_s": round(base, 1),
    "ratio": round(ratio, 4), "target": "ratio>=2", "met": ratio >= 2,
    "samples": nums(ls), "baseline_samples": nums(cy),
    # user + sys seconds of each run (less sensitive to other load than wall time)
    "cpu_s": nums(lscpu), "baseline_cpu_s": nums(cycpu),
    "cpu_ratio": round(statistics.median(nums(cycpu)) / statistics.median(nums(lscpu)), 4),
    "ours_cmd": "reconstruct -m (LMDB environment deleted)",
    "baseline_cmd": "reconstruct user.bench (cyrus.index, cyrus.cache deleted)",
    "cyrus_package": ver, "libstore_rev": rev, "seed": int(seed), "su_cost_s": float(sucost),
    "loadavg_ours": lsload.split(","), "loadavg_baseline": cyload.split(","),
}))
EOF
