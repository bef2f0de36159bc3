#!/usr/bin/env bash
# The main job, end to end: installs what is missing, builds, and, when no
# target is given, starts a loopback target (tgtd with a 256 MiB RAM LUN);
# then discovers it, logs in, lists its logical units, runs a few seconds
# of verified reads and writes on the first disk LUN, and (as root) starts
# mcsid, mounts that LUN as a filesystem (ext4, created on an empty LUN
# only), writes and reads back a file, and unmounts and logs out again.
#
#   scripts/demo.sh                                  loopback tgtd
#   scripts/demo.sh host[:port]                      discover, use the first target
#   scripts/demo.sh iscsi://host[:port]/<iqn>/<lun>  that target
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
export MCSI_SRC=$here MCSI_BUILD=${MCSI_BUILD:-$here/build}
"$here/scripts/setup.sh"

ctl="$MCSI_BUILD/tools/iscsictl/iscsictl"
# shellcheck source=../tests/lib/targets.sh
source "$here/tests/lib/targets.sh"
targets_init
export MCSI_CONFIG="$TEST_TMP/mcsi.conf"

target=${1:-}
if [[ -z $target ]]; then
	echo "demo: starting a loopback tgtd with a 256 MiB RAM LUN"
	tgt_start
	tgt_target 1 iqn.2026-11.org.mcsi.demo:disk1
	tgt_lun 1 1 rdwr 256M
	target="127.0.0.1:$TGT_PORT"
fi

say() { printf '\n$ %s\n' "$*"; "$@"; }

if [[ $target == iscsi://* ]]; then
	node=$target
else
	say "$ctl" discover "$target"
	iqn=$("$ctl" --json discover "$target" |
		sed -n 's/.*"name":"\([^"]*\)".*/\1/p' | head -1)
	[[ -n $iqn ]] || { echo "demo: $target offers no target" >&2; exit 1; }
	node="$iqn,$target"
fi
say "$ctl" probe "$node"
say "$ctl" login "$node"
say "$ctl" list luns "$node"

# Real I/O: a few seconds of verified random writes and reads (every block
# stamped with its LBA and a generation, every read checked).
if [[ $node == iscsi://* ]]; then
	url=$node
else
	lun=$("$ctl" --json list luns "$node" |
		grep -o '"lun":[0-9]*,"type":"disk"' | head -1 | grep -o '[0-9]*' || true)
	url="iscsi://$target/${node%%,*}/${lun:-0}"
fi
say "$MCSI_BUILD/tools/perf/mcsi-perf" --mode rw --bs 64k --qd 16 --time 5 \
	--span 64m --verify -Q "$url"

# The LUN as a filesystem: mcsid holds the session in its own process,
# which presents each disk LUN as a file; iscsictl mount puts a loop
# device (direct I/O) and the filesystem on top. Nothing stays behind.
if [[ $(id -u) != 0 || ! -c /dev/fuse ]]; then
	echo
	echo "demo: not root (or no /dev/fuse): skipping the mounted filesystem"
	echo "demo: done"
	exit 0
fi
run="$TEST_TMP/run"
mnt="$TEST_TMP/mnt"
mkdir -m 0755 "$run"
export MCSI_RUN_DIR=$run
mcsid_pid=
demo_cleanup() {
	grep -q " $mnt " /proc/mounts && "$ctl" unmount "$mnt" >/dev/null 2>&1
	[[ -n ${node:-} ]] && "$ctl" logout "$node" >/dev/null 2>&1
	[[ -n $mcsid_pid ]] && kill "$mcsid_pid" 2>/dev/null && wait "$mcsid_pid" 2>/dev/null
	return 0
}
_target_cleanups=(demo_cleanup "${_target_cleanups[@]}")
printf '\n$ mcsid --run-dir %s &\n' "$run"
"$MCSI_BUILD/supervisor/daemon/mcsid" --run-dir "$run" >"$TEST_TMP/mcsid.log" 2>&1 &
mcsid_pid=$!
for _ in $(seq 100); do [[ -S $run/mcsid.sock ]] && break; sleep 0.1; done
if [[ $node == iscsi://* ]]; then
	node=${node#iscsi://}
	fslun=${node##*/}
	node="$(cut -d/ -f2 <<<"$node"),$(cut -d/ -f1 <<<"$node")"
else
	fslun=${lun:-0}
fi
say "$ctl" mount "$node" "$fslun" "$mnt" --mkfs ext4
say "$ctl" list luns "$node"
head -c 16M /dev/urandom >"$TEST_TMP/demo.bin"
say cp "$TEST_TMP/demo.bin" "$mnt/demo.bin"
say sync "$mnt/demo.bin"
sum_in=$(sha256sum <"$TEST_TMP/demo.bin" | cut -d' ' -f1)
# Read back with O_DIRECT: from the LUN, not from the page cache.
sum_out=$(dd if="$mnt/demo.bin" bs=1M iflag=direct status=none | sha256sum | cut -d' ' -f1)
printf '\nwritten  %s\nread     %s\n' "$sum_in" "$sum_out"
[[ $sum_in == "$sum_out" ]] || { echo "demo: checksum mismatch" >&2; exit 1; }
say df -h "$mnt"
rm -f "$mnt/demo.bin"
say "$ctl" unmount "$mnt"
say "$ctl" logout "$node"
kill "$mcsid_pid" && wait "$mcsid_pid" 2>/dev/null || true
mcsid_pid=
echo
echo "demo: done (nothing left mounted or running)"
