#!/usr/bin/env bash
# kern/ end to end over RAM LUNs (no iSCSI target needed): mcsi-kern
# exports two RAM LUNs, each through two multipath paths, as FUSE files and
# over NBD. Then: mount --mkfs ext4 through a direct-I/O loop device, write
# files, unmount, mount again (with --mkfs, which must not format over the
# filesystem), checksums match; fio's verify profile on the FUSE file and
# on the NBD export; punch hole → zeroes; resize; a multipath path killed
# during verified I/O with zero errors.
#
# Needs root, /dev/fuse, /dev/loop-control, mkfs.ext4 and fio with its nbd
# engine. Cleans up (umount, loop detach, exporter stopped by PID) on any
# exit.
set -uo pipefail

: "${MCSI_SRC:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${MCSI_BUILD:=$MCSI_SRC/build}"
# shellcheck source=../lib/assert.sh
source "$MCSI_SRC/tests/lib/assert.sh"
# shellcheck source=../lib/targets.sh
source "$MCSI_SRC/tests/lib/targets.sh"

KERN=$MCSI_BUILD/tools/mcsi-kern/mcsi-kern
PROFILES=$MCSI_SRC/tools/fio-profiles

# expect_false NAME CMD...: CMD exits non-zero (silently is fine).
expect_false() {
	local name=$1
	shift
	if "$@" >/dev/null 2>&1; then
		fail "$name (succeeded)"
	else
		pass "$name"
	fi
}

skip() {
	echo "test_kern_ram: skipped: $*" >&2
	exit 77
}
[[ $(id -u) -eq 0 ]] || skip "needs root"
[[ -x $KERN ]] || skip "$KERN not built (libfuse3 or libblkid missing?)"
[[ -c /dev/fuse && -c /dev/loop-control ]] || skip "no /dev/fuse or /dev/loop-control"
command -v mkfs.ext4 >/dev/null || skip "no mkfs.ext4"
command -v fio >/dev/null || skip "no fio"
fio --enghelp 2>/dev/null | grep -qw nbd || skip "fio has no nbd engine"

targets_init
T=$TEST_TMP
FS=$T/fs
MNT=$T/mnt
SOCK=$T/nbd.sock

# Undo in reverse order of doing; each step is harmless when there is
# nothing to undo. Runs before targets_cleanup kills the exporter.
kern_cleanup() {
	if mountpoint -q "$MNT" 2>/dev/null; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT"
	fi
	local dev
	for f in "$FS/lun0" "$FS/lun1"; do
		for dev in $(losetup -n -O NAME -j "$f" 2>/dev/null); do
			losetup -d "$dev" 2>/dev/null
		done
	done
}
_target_cleanups+=("kern_cleanup")

"$KERN" export --ram 256M --ram 64M --paths 2 --fs "$FS" --nbd-unix "$SOCK" \
	--pidfile "$T/pid" >"$T/export.log" 2>&1 &
KPID=$!
_target_pids+=("$KPID")
for _ in $(seq 100); do
	[[ -s $T/pid ]] && break
	kill -0 "$KPID" 2>/dev/null || break
	sleep 0.1
done
if [[ ! -s $T/pid ]]; then
	cat "$T/export.log" >&2
	fail "exporter started"
	finish
	exit 1
fi
pass "exporter started"

expect_ok "LUN files listed" ls "$FS"
expect_match "lun0 and lun1" "lun0.*lun1|lun0"$'\n'"lun1"
expect_ok "lun0 size" stat -c %s "$FS/lun0"
expect_match "lun0 is 256 MiB" "^268435456$"

# --- filesystem: create, write, unmount, mount again -----------------------
expect_ok "mount --mkfs ext4" "$KERN" mount "$FS/lun0" "$MNT" --mkfs ext4
expect_match "mkfs ran, loop has direct I/O" "ext4 block_size=512 direct_io=1 created=1"
dev=$(grep -o '^/dev/loop[0-9]*' <<<"$OUT")
expect_ok "loop backs onto the LUN file" losetup -n -O BACK-FILE "$dev"
expect_match "backing file" "$FS/lun0"
expect_ok "where is lun0" "$KERN" where "$FS/lun0"
expect_match "its loop device and mountpoint" "^$dev $MNT\$"

head -c $((24 << 20)) /dev/urandom >"$MNT/big"
mkdir -p "$MNT/src"
cp "$MCSI_SRC"/kern/*.[ch] "$MNT/src/"
(cd "$MNT" && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$T/sums"
expect_ok "files written" test -s "$T/sums"

expect_ok "unmount" "$KERN" unmount "$MNT"
expect_false "nothing mounted after unmount" mountpoint -q "$MNT"
expect_ok "no loop device left" losetup -n -j "$FS/lun0"
expect_no_match "no loop device left (list empty)" "loop"
expect_ok "where is lun0 now" "$KERN" where "$FS/lun0"
expect_match "nowhere" "^- -$"

expect_ok "mount again (--mkfs must not format)" "$KERN" mount "$FS/lun0" "$MNT" --mkfs ext4
expect_match "existing ext4 mounted, not created" "ext4 block_size=512 direct_io=1 created=0"
expect_ok "files intact (sha256)" bash -c "cd '$MNT' && sha256sum --quiet -c '$T/sums'"
expect_ok "fsck-clean after unmount" "$KERN" unmount "$MNT"
expect_ok "e2fsck finds no error" e2fsck -fn "$FS/lun0"

expect_fail "no filesystem and no --mkfs: refused" "no medium|medium" \
	"$KERN" mount "$FS/lun1" "$MNT"
expect_ok "swap signature written" mkswap "$FS/lun1"
expect_fail "mkfs over another signature refused" "wrong medium type" \
	"$KERN" mount "$FS/lun1" "$MNT" --mkfs ext4
expect_false "and nothing was mounted" mountpoint -q "$MNT"
expect_ok "signature wiped" dd if=/dev/zero of="$FS/lun1" bs=4096 count=1 conv=notrunc \
	oflag=direct status=none

# --- fio verify: FUSE file and NBD ----------------------------------------
export MCSI_FIO_SIZE=64M MCSI_FIO_OUT=$T/fio
expect_ok "fio verify on the FUSE file" "$PROFILES/run.sh" "$FS/lun1" verify
expect_match "verify table, no error" "verify .* 0$"
expect_ok "fio verify on the NBD export" \
	"$PROFILES/run.sh" "nbd+unix:///lun1?socket=$SOCK" verify
expect_match "verify table, no error" "verify .* 0$"

# --- punch hole → UNMAP, reads back zeroes --------------------------------
expect_ok "punch a hole" fallocate -p -o 1048576 -l 1048576 "$FS/lun1"
expect_ok "hole reads zeroes" bash -c \
	"cmp -n 1048576 <(dd if='$FS/lun1' bs=1M skip=1 count=1 iflag=direct 2>/dev/null) /dev/zero"
expect_fail "truncate refused" "invalid" truncate -s 1M "$FS/lun1"

# --- resize ----------------------------------------------------------------
kill -USR1 "$KPID"
sleep 0.5
expect_ok "lun1 size after resize" stat -c %s "$FS/lun1"
expect_match "lun1 grew to 128 MiB" "^134217728$"

# --- multipath: kill path 0 while fio verifies ------------------------------
MCSI_FIO_OUT=$T/fio-mp MCSI_FIO_ARGS=--loops=30 \
	"$PROFILES/run.sh" "$FS/lun1" verify >"$T/mp.out" 2>&1 &
FIO_PID=$!
# 30 loops take seconds: the path dies early in the run, with I/O in flight.
sleep 0.5
kill -USR2 "$KPID"
if wait "$FIO_PID"; then
	pass "fio verify with a path killed mid-I/O"
else
	fail "fio verify with a path killed mid-I/O"
	sed 's/^/    /' "$T/mp.out"
fi
OUT=$(cat "$T/mp.out")
expect_match "zero errors" "verify .* 0$"
OUT=$(cat "$T/export.log")
expect_match "the path failed over" "path 0 failed"

# --- stop: the FUSE mount goes with the exporter ----------------------------
kill "$KPID"
for _ in $(seq 50); do
	kill -0 "$KPID" 2>/dev/null || break
	sleep 0.1
done
expect_false "exporter gone" kill -0 "$KPID"
expect_false "FUSE mount gone" mountpoint -q "$FS"
finish
