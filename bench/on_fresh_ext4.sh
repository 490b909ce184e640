#!/usr/bin/env bash
# bench/on_fresh_ext4.sh - run mailbench on a freshly made ext4 file system.
#
#   sudo bench/on_fresh_ext4.sh [--journal] [--size 4G] MAILBENCH [mailbench options...]
#
# Why: on ext4 without a journal (the development VM's root file system),
# the inode allocator skips inodes freed in the last 1 to 6 minutes
# (recently_deleted() in fs/ext4/ialloc.c) and rescans them on every
# allocation. Right after a benchmark deleted its scratch files, creating a
# file can cost 100-600 us instead of 10, for libstore and for the plain-file
# baselines alike but not equally, and ratios of the write workloads swing
# by 2x. A new file system per run removes that history. It is a loop device
# with direct I/O on a sparse file in /tmp, so the disk underneath is the
# same; the loop driver adds its own CPU cost, so compare ratios measured
# this way with each other, not with runs on the root file system.
#
# Makes /var/tmp/mailbench-fresh.img (removed at exit) and mounts it on
# /var/tmp/mailbench-fresh; --dir is passed to mailbench. Needs root
# (losetup, mount). Without --journal the file system has no journal, like
# the VM's root; with it, mkfs.ext4's defaults (data=ordered).
set -euo pipefail

JOURNAL=0
SIZE=4G
while [ $# -gt 0 ]; do
    case "$1" in
        --journal) JOURNAL=1; shift ;;
        --size) SIZE=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
        *) break ;;
    esac
done
if [ $# -lt 1 ]; then
    echo "usage: $0 [--journal] [--size 4G] MAILBENCH [mailbench options...]" >&2
    exit 2
fi
BENCH=$1
shift

IMG=/var/tmp/mailbench-fresh.img
MNT=/var/tmp/mailbench-fresh
LOOP=
cleanup() {
    mountpoint -q "$MNT" && umount "$MNT"
    [ -n "$LOOP" ] && losetup -d "$LOOP" 2>/dev/null
    rm -f "$IMG"
}
trap cleanup EXIT

rm -f "$IMG"
truncate -s "$SIZE" "$IMG"
if [ "$JOURNAL" = 1 ]; then
    mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$IMG"
else
    mkfs.ext4 -q -F -O ^has_journal -E lazy_itable_init=0 "$IMG"
fi
LOOP=$(losetup --direct-io=on -f --show "$IMG")
mkdir -p "$MNT"
mount "$LOOP" "$MNT"
"$BENCH" --dir "$MNT" "$@"
