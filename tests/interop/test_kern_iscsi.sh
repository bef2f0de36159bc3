#!/usr/bin/env bash
# kern/ over real iSCSI sessions (root): mcsid and its session processes
# present LUNs as FUSE files; iscsictl mount/unmount/logout on top.
#   - tgtd: discover, login, `mount --mkfs ext4`, files written, unmount,
#     logout, login, mount again, checksums match, e2fsck clean; the same
#     on a LUN that already carries a filesystem (never formatted again);
#     list luns shows file, loop device and mountpoint
#   - fio verify on a LUN file of the session and on mcsi-kern's NBD export
#   - mcsi-testtarget: a LUN added at run time appears without re-login
#   - multipath: two portals of the test target, one connection dropped
#     during fio verify, zero errors
# ctest-cost: 50
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/targets.sh"
source "$here/../lib/assert.sh"
source "$here/../lib/mcsid.sh"        # session_field (c and r are ours, below)
targets_init

[[ $(id -u) == 0 ]] || need_target "needs root (FUSE, loop devices, mount)"
[[ -c /dev/fuse ]] || need_target "no /dev/fuse"
for t in mkfs.ext4 e2fsck fio sha256sum; do
	command -v $t >/dev/null || need_target "$t is not installed"
done
bin="$MCSI_BUILD/supervisor/daemon"
ctl="$MCSI_BUILD/tools/iscsictl/iscsictl"
kern="$MCSI_BUILD/tools/mcsi-kern/mcsi-kern"
tt="$MCSI_BUILD/tools/testtarget/mcsi-testtarget"
for p in "$bin/mcsid" "$bin/mcsi-sessiond" "$bin/mcsi-ctlreq" "$ctl" "$kern" "$tt"; do
	[[ -x $p ]] || { echo "missing $p (build first)"; exit 1; }
done
RUN="$TEST_TMP/run"
# fio leaves verify state files in the current directory.
cd "$TEST_TMP" || exit 1
# fio takes ':' in a file name as a separator.
fio_name() { printf '%s' "${1//:/\\:}"; }
mkdir -m 0755 "$RUN"
export MCSI_CONFIG="$TEST_TMP/mcsi.conf" MCSI_SECRETS="$TEST_TMP/secrets"
export MCSI_RUN_DIR="$RUN"
LOG="$TEST_TMP/mcsid.log"
c() { timeout 120 "$ctl" --timeout 5000 "$@"; }
r() { "$bin/mcsi-ctlreq" --timeout 20000 "$@"; }
# ok_match NAME PATTERN CMD...: CMD exits 0 and its output matches PATTERN.
ok_match() {
	local name=$1 pat=$2
	shift 2
	if OUT=$("$@" 2>&1) && grep -qE -- "$pat" <<<"$OUT"; then
		pass "$name"
	else
		fail "$name (no '$pat')"
		printf '%s\n' "$OUT" | sed 's/^/    /' | tail -15
	fi
}
# no_match NAME PATTERN CMD...: CMD's output does not match PATTERN.
no_match() {
	local name=$1 pat=$2
	shift 2
	OUT=$("$@" 2>&1)
	expect_no_match "$name" "$pat"
}

IQN=iqn.2026-11.org.mcsi.test:kern-fresh
IQN2=iqn.2026-11.org.mcsi.test:kern-existing
tgt_start
tgt_target 1 "$IQN"
tgt_lun 1 1 rdwr 128M
tgt_lun 1 2 rdwr 64M
tgt_target 2 "$IQN2"
# A filesystem made outside mcsi, before the target serves the LUN.
pre="/dev/shm/mcsi-tgt.$TGT_CTL.2.1"
truncate -s 96M "$pre"
mkfs.ext4 -q -F -L premade "$pre"
tgt_lun 2 1 rdwr 96M
P="127.0.0.1:$TGT_PORT"
MNT="$TEST_TMP/mnt"

MCSID_PID= KERN_PID= TT_PID=
AMNT="/mnt/mcsi/$IQN2/lun1"        # where auto-mount puts IQN2's LUN 1
cleanup_all() {
	local m
	grep -q " $AMNT " /proc/mounts && umount -l "$AMNT"
	for m in $(awk -v t="$TEST_TMP" 'index($2, t) == 1 { print $2 }' /proc/mounts | sort -r); do
		umount -l "$m"
	done
	[[ -n $KERN_PID ]] && kill "$KERN_PID"
	[[ -n $MCSID_PID ]] && kill "$MCSID_PID"
	local f p
	for f in "$RUN"/sessions/*.json; do
		[[ -f $f ]] || continue
		p=$(basename "$f" .json)
		[[ $(cat "/proc/$p/comm" 2>/dev/null) == mcsi-sessiond ]] && kill "$p"
	done
	[[ -n $TT_PID ]] && kill "$TT_PID"
	sleep 0.5
	[[ ${KEEP_LOG:-} == 1 ]] && cp "$LOG" /tmp/kern-iscsi-mcsid.log
}
_target_cleanups=(cleanup_all "${_target_cleanups[@]}")

"$bin/mcsid" --run-dir "$RUN" >>"$LOG" 2>&1 &
MCSID_PID=$!
for _ in $(seq 100); do
	r "$RUN/mcsid.sock" '{"op":"status"}' >/dev/null 2>&1 && break
	sleep 0.1
done

# --- fresh LUN: discover, login, mkfs, files, logout, login, files -------------
ok_match "discover lists the target" "$IQN" c discover "$P"
expect_ok "login through mcsid" c login "$IQN,$P"
lunfile="$RUN/luns/$IQN/lun1"
[[ -f $lunfile && $(stat -c %s "$lunfile") == $((128 << 20)) ]] &&
	pass "LUN 1 presented as $lunfile (128 MiB)" || fail "LUN file $lunfile"
expect_fail "mount without --mkfs refuses an empty LUN" "mkfs" c mount "$IQN,$P" 1 "$MNT"
ok_match "mount --mkfs ext4" "ext4, created" c mount "$IQN,$P" 1 "$MNT" --mkfs ext4
mkdir -p "$MNT/d"
for i in 1 2 3; do head -c $((i * 3 << 20)) /dev/urandom >"$MNT/d/f$i"; done
(cd "$MNT" && sha256sum d/f1 d/f2 d/f3) >"$TEST_TMP/sums"
ok_match "list luns shows file, loop device and mountpoint" "mount +$MNT" \
	c list luns "$IQN,$P"
ok_match "list luns shows the loop device" "loop +/dev/loop" c list luns "$IQN,$P"
expect_ok "unmount" c unmount "$MNT"
! grep -q " $MNT " /proc/mounts && pass "nothing mounted after unmount" ||
	fail "still mounted after unmount"
expect_ok "logout" c logout "$IQN,$P"
! grep -q "$RUN/luns/$IQN" /proc/mounts && pass "LUN filesystem gone after logout" ||
	fail "LUN filesystem left after logout"
# mount logs in by itself; no --mkfs: what is there is mounted.
ok_match "mount again (logs in)" "ext4, /dev/loop" c mount "$IQN,$P" 1 "$MNT"
(cd "$MNT" && sha256sum -c --quiet "$TEST_TMP/sums") && pass "files intact after re-login" ||
	fail "checksums after re-login"
# logout unmounts first: more data written just before, then checked again.
head -c 5M /dev/urandom >"$MNT/d/late"
(cd "$MNT" && sha256sum d/late) >>"$TEST_TMP/sums"
expect_ok "logout unmounts first" c logout "$IQN,$P"
! grep -q " $MNT " /proc/mounts && pass "logout unmounted" || fail "logout left the mount"
expect_ok "e2fsck clean (through a new session)" bash -c "
	'$ctl' login '$IQN,$P' >/dev/null && e2fsck -fn '$lunfile' >/dev/null 2>&1"
expect_ok "mount for the final check" c mount "$IQN,$P" 1 "$MNT"
(cd "$MNT" && sha256sum -c --quiet "$TEST_TMP/sums") && pass "files written before logout intact" ||
	fail "checksums after logout/unmount"
expect_ok "unmount by target and LUN" c unmount "$IQN,$P" 1

# --- fio verify on the session's LUN file --------------------------------------
export MCSI_FIO_SIZE=32M
expect_ok "fio verify on the LUN file" fio --output="$TEST_TMP/fio1" \
	--filename="$(fio_name "$RUN/luns/$IQN/lun2")" --ioengine=libaio --direct=1 \
	"$MCSI_SRC/tools/fio-profiles/verify.fio"
# The session process also exports its LUNs over NBD; list luns names the URI.
NBD_URI=$(c --json list luns "$IQN,$P" | grep -o 'nbd+unix:///lun2?socket=[^"]*')
[[ -n $NBD_URI && -S ${NBD_URI#*socket=} ]] && pass "list luns names the session's NBD export" ||
	fail "no NBD URI for LUN 2: $(c --json list luns "$IQN,$P")"
if [[ -n $NBD_URI ]] && fio --enghelp 2>/dev/null | grep -qw nbd; then
	expect_ok "fio verify on the session's NBD export" fio --output="$TEST_TMP/fio3" \
		--ioengine=nbd --uri="$NBD_URI" "$MCSI_SRC/tools/fio-profiles/verify.fio"
fi
expect_ok "logout" c logout "$IQN,$P"
[[ -n $NBD_URI && ! -e ${NBD_URI#*socket=} ]] && pass "NBD socket removed at logout" ||
	fail "NBD socket left after logout"

# --- a LUN that already has a filesystem -----------------------------------------
ok_match "mount an existing filesystem (no mkfs)" "ext4, /dev/loop" \
	c mount "$IQN2,$P" "$MNT"
[[ $(blkid -o value -s LABEL "$(awk -v m="$MNT" '$2 == m { print $1 }' /proc/mounts)") == premade ]] &&
	pass "it is the premade filesystem" || fail "label of the mounted filesystem"
head -c 4M /dev/urandom >"$MNT/x"
(cd "$MNT" && sha256sum x) >"$TEST_TMP/sums2"
spid=$(session_field "$IQN2" pid)
expect_ok "logout (unmounts)" c logout "$IQN2,$P"
# The logout answers once the session process has exited (it unmounts and
# detaches first): the mount below logs in at once.
[[ -n $spid && ! -d /proc/$spid ]] && pass "its session process ($spid) is gone" ||
	fail "session process '$spid' still there after the logout returned"
ok_match "mount --mkfs on it again does not format" "ext4, /dev/loop" \
	c mount "$IQN2,$P" "$MNT" --mkfs ext4
(cd "$MNT" && sha256sum -c --quiet "$TEST_TMP/sums2") && pass "existing filesystem's files intact" ||
	fail "checksums on the existing filesystem"
expect_ok "logout" c logout "$IQN2,$P"

# --- auto-mount: mcsid restarted logs IQN2 in and mounts its filesystem ---------
c add target "$IQN2,$P" >/dev/null 2>&1
expect_ok "target-config -auto-login -auto-mount" \
	c modify target-config "$IQN2" -auto-login enable -auto-mount enable
kill "$MCSID_PID" && wait "$MCSID_PID" 2>/dev/null
"$bin/mcsid" --run-dir "$RUN" >>"$LOG" 2>&1 &
MCSID_PID=$!
for _ in $(seq 300); do
	grep -q " $AMNT " /proc/mounts && break
	sleep 0.1
done
grep -q " $AMNT ext4 " /proc/mounts && pass "mcsid auto-mounted $AMNT at start" ||
	fail "no auto-mount: $(grep auto-mount "$LOG" | tail -3)"
(cd "$AMNT" 2>/dev/null && sha256sum -c --quiet "$TEST_TMP/sums2") &&
	pass "auto-mounted filesystem's files intact" || fail "checksums on the auto-mount"
ok_match "list luns shows the auto-mount" "mount +$AMNT" c list luns "$IQN2"
expect_ok "logout of the auto-mounted target" c logout "$IQN2,$P"
! grep -q " $AMNT " /proc/mounts && pass "logout unmounted the auto-mount" ||
	fail "auto-mount left after logout"
c modify target-config "$IQN2" -auto-login disable -auto-mount disable >/dev/null

# --- NBD export of a tgtd LUN (mcsi-kern) with fio verify ----------------------
if fio --enghelp 2>/dev/null | grep -qw nbd; then
	"$kern" export --url "iscsi://$P/$IQN/2" --nbd-unix "$TEST_TMP/nbd.sock" \
		--pidfile "$TEST_TMP/kern.pid" >"$TEST_TMP/kern.log" 2>&1 &
	KERN_PID=$!
	for _ in $(seq 100); do [[ -f $TEST_TMP/kern.pid ]] && break; sleep 0.1; done
	expect_ok "fio verify on the NBD export" fio --output="$TEST_TMP/fio2" --ioengine=nbd \
		--uri="nbd+unix:///lun0?socket=$TEST_TMP/nbd.sock" \
		"$MCSI_SRC/tools/fio-profiles/verify.fio"
	kill "$KERN_PID"; wait "$KERN_PID"; KERN_PID=
else
	fail "fio has no nbd engine (fio with libnbd)"
fi

# --- mcsi-testtarget: LUN added at run time; multipath -------------------------
TIQN=iqn.2026-11.org.mcsi:kern-tt
"$tt" --portal 127.0.0.1:0,1 --portal 127.0.0.1:0,2 --port-file "$TEST_TMP/ttports" \
	--target "$TIQN" --lun 0:ram:64M:512 --control "$TEST_TMP/tt.ctl" \
	>"$TEST_TMP/tt.log" 2>&1 &
TT_PID=$!
for _ in $(seq 100); do [[ -s $TEST_TMP/ttports && -S $TEST_TMP/tt.ctl ]] && break; sleep 0.1; done
mapfile -t TP < <(awk '{ print $2 }' "$TEST_TMP/ttports")
ttc() {
	python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
s.sendall((sys.argv[2] + "\n").encode()); print(s.makefile().readline().strip())' \
		"$TEST_TMP/tt.ctl" "$*"
}
expect_ok "login to the test target" c login "$TIQN,${TP[0]}"
[[ -f $RUN/luns/$TIQN/lun0 ]] && pass "test target LUN 0 presented" || fail "tt lun0"
ok_match "lun-add at run time" "^ok" ttc lun-add 0 1:ram:32M:4096
for _ in $(seq 150); do [[ -f $RUN/luns/$TIQN/lun1 ]] && break; sleep 0.1; done
[[ -f $RUN/luns/$TIQN/lun1 && $(stat -c %s "$RUN/luns/$TIQN/lun1") == $((32 << 20)) ]] &&
	pass "added LUN appears without re-login" || fail "added LUN did not appear"
ok_match "list luns shows the new LUN's file" "lun1" c list luns "$TIQN,${TP[0]}"
expect_ok "logout of the test target" c logout "$TIQN,${TP[0]}"

mkdir -p "$TEST_TMP/mp"
# Path 0 carries the I/O (failover); its connection is cut at its 501st
# command (the rule counts per connection, set before the logins), and
# every login after that is refused, so the session cannot come back on
# that path: the I/O must move to path 1 once the path's replacement
# timeout (5 s) has passed.
ok_match "fault: drop path 0 mid-run" "^ok" ttc drop rx 500 scsi-cmd
"$kern" export --url "iscsi://${TP[0]}/$TIQN/0" --url "iscsi://${TP[1]}/$TIQN/0" --replacement-timeout 5 \
	--fs "$TEST_TMP/mp" --pidfile "$TEST_TMP/kern.pid" >"$TEST_TMP/kern.log" 2>&1 &
KERN_PID=$!
rm -f "$TEST_TMP/kern.pid"
for _ in $(seq 100); do [[ -f $TEST_TMP/kern.pid ]] && break; sleep 0.1; done
ok_match "two URLs grouped as two paths of one LUN" "another path" cat "$TEST_TMP/kern.log"
[[ ! -e $TEST_TMP/mp/lun1 ]] && pass "presented once" || fail "multipath LUN presented twice"
ok_match "fault: refuse logins from now on" "^ok" ttc login-refuse 3 1 count 0
MCSI_FIO_SIZE=64M fio --output="$TEST_TMP/fio3" --filename="$TEST_TMP/mp/lun0" \
	--ioengine=libaio --direct=1 "$MCSI_SRC/tools/fio-profiles/verify.fio" &&
	grep -q "err= 0" "$TEST_TMP/fio3" && pass "fio verify through the path loss: zero errors" ||
	{ fail "fio verify through the path loss"; tail -20 "$TEST_TMP/fio3" "$TEST_TMP/kern.log"; }
ok_match "the target dropped path 0" "dropping connection: fault rule" cat "$TEST_TMP/tt.log"
ok_match "multipath failed over" "path 0 failed .*failing over" cat "$TEST_TMP/kern.log"
kill "$KERN_PID"; wait "$KERN_PID"; KERN_PID=

# --- nothing left ---------------------------------------------------------------
! grep -q "$TEST_TMP" /proc/mounts && pass "no mounts left" || fail "mounts left"
# A failure shows what mcsid and its session processes said.
if ((_failed)); then
	echo "# mcsid log, warnings and errors (last 80):"
	grep -v ': info: ' "$LOG" | tail -80 | sed 's/^/#   /'
fi
finish
