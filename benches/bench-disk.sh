#!/usr/bin/env bash
# A journaled ext4 for the benches' recordings: `DATA_DISK=$(benches/bench-disk.sh) benches/compare.sh`.
#
# Why: the build machine's own file system is ext4 *without a journal*. There, creating a
# file searches past every inode freed in the last minutes (`recently_deleted`), and the
# benches delete tens of thousands of WAVs: in the 600 and 800 calls/s profiles that
# search was a fifth of the switch's CPU. A production disk has a journal and no such
# search. This script makes one: a sparse image file (SIZE, default 16G; only what is
# written takes space) formatted as ext4 with its journal, loop-mounted at MNT. Root
# is needed (mount). Idempotent: a mounted image is reused. `benches/bench-disk.sh off`
# unmounts it (the image stays; delete it by hand).
#
# The loop device sits on a file of the host's file system, so an fsync goes through
# two file systems; figures taken on it are labelled with the disk they were taken on.
set -euo pipefail
cd "$(dirname "$0")/.."

IMG=${IMG:-$PWD/target/bench-disk/ext4-journal.img}
MNT=${MNT:-/mnt/madoguchi-bench}
SIZE=${SIZE:-16G}

if [ "${1:-}" = off ]; then
    if findmnt -n "$MNT" >/dev/null; then umount "$MNT"; fi
    exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "bench-disk.sh: mounting needs root" >&2; exit 1; }
if findmnt -n "$MNT" >/dev/null; then
    echo "$MNT"
    exit 0
fi
mkdir -p "$(dirname "$IMG")" "$MNT"
if [ ! -f "$IMG" ]; then
    truncate -s "$SIZE" "$IMG"
    mkfs.ext4 -q -F -O has_journal -L madoguchi-bench "$IMG" >&2
fi
# discard: deleted recordings free their space in the image file too.
mount -o loop,discard "$IMG" "$MNT"
chmod 0700 "$MNT"
echo "$MNT"
