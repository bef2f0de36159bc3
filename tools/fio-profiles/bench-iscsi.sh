#!/usr/bin/env bash
# mcsi against libiscsi on the same tgtd RAM LUN (issue 7's comparison):
# fio's nbd engine against mcsi-kern's NBD export (kern/nbd.c over
# kern/mcsi_bk.c) and against qemu-nbd serving the LUN through libiscsi
# (Debian qemu-utils + qemu-block-extra), both on UNIX sockets; then fio
# on a file of an ext4 filesystem mounted from mcsi's LUN file (loop
# device, direct I/O). Profiles: 4K random read/write QD32, 1M sequential
# read/write QD8 (the .fio files here). Prints IOPS, MiB/s and the CPU
# time per request of the initiator-side server process (mcsi-kern or
# qemu-nbd; user + system from /proc), which stays meaningful on a loaded
# machine where IOPS do not. Needs root (tgtd, FUSE, mount).
#
#   tools/fio-profiles/bench-iscsi.sh [BUILD_DIR]
# Environment: MCSI_FIO_RUNTIME (default 8), BENCH_REPS (default 1: the
# median is printed), BENCH_PROFILES, BENCH_SIZE (LUN size, default 1G).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
export MCSI_BUILD=${1:-${MCSI_BUILD:-$here/../../build}}
kern=$MCSI_BUILD/tools/mcsi-kern/mcsi-kern
reps=${BENCH_REPS:-1}
size=${BENCH_SIZE:-1G}
read -r -a profiles <<<"${BENCH_PROFILES:-randread-4k randwrite-4k seqread-1m seqwrite-1m}"
export MCSI_FIO_RUNTIME=${MCSI_FIO_RUNTIME:-8} MCSI_FIO_ARGS="--ramp_time=0"
command -v qemu-nbd >/dev/null || { echo "bench-iscsi: no qemu-nbd (apt install qemu-utils qemu-block-extra)" >&2; exit 77; }

# shellcheck source=../../tests/lib/targets.sh
source "$here/../../tests/lib/targets.sh"
targets_init
IQN=iqn.2026-11.org.mcsi.bench:ram
tgt_start
tgt_target 1 "$IQN"
tgt_lun 1 1 rdwr "$size"
url="iscsi://127.0.0.1:$TGT_PORT/$IQN/1"
T=$TEST_TMP
kpid= qpid=
stop() {
	grep -q " $T/mnt " /proc/mounts && "$kern" unmount "$T/mnt" >/dev/null 2>&1
	[[ -n $kpid ]] && kill "$kpid" 2>/dev/null && wait "$kpid" 2>/dev/null
	[[ -n $qpid ]] && kill "$qpid" 2>/dev/null && wait "$qpid" 2>/dev/null
	return 0
}
_target_cleanups=(stop "${_target_cleanups[@]}")

"$kern" export --url "$url" --fs "$T/fs" --nbd-unix "$T/k.sock" --pidfile "$T/k.pid" \
	2>"$T/k.log" &
kpid=$!
for _ in $(seq 100); do [[ -f $T/k.pid ]] && break; sleep 0.1; done
# A second session to the same LUN, through libiscsi.
qemu-nbd -f raw -k "$T/q.sock" -x lun0 --cache=none --aio=threads -e 4 -t "$url" \
	2>"$T/q.log" &
qpid=$!
for _ in $(seq 100); do [[ -S $T/q.sock ]] && break; sleep 0.1; done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
cat >"$T/parse.py" <<'EOF'
import json, sys
try:
    t = open(sys.argv[1]).read()
    j = json.loads(t[t.index("{"):])["jobs"][0]
    s = j["read"] if j["read"]["io_bytes"] else j["write"]
    ios = j["read"]["total_ios"] + j["write"]["total_ios"]
    us = int(sys.argv[2]) / int(sys.argv[3]) * 1e6 / ios if ios else 0
    print(f"{s['iops']:.0f} {s['bw_bytes'] / 2**20:.1f} {us:.1f}")
except Exception:
    print("0 0 0")
EOF
median() { sort -n | sed -n "$(((reps + 1) / 2))p"; }

# name|server pid|target|size
targets=(
	"mcsi-nbd|$kpid|nbd+unix:///lun0?socket=$T/k.sock|$size"
	"qemu-nbd-libiscsi|$qpid|nbd+unix:///lun0?socket=$T/q.sock|$size"
)
if [[ -c /dev/fuse ]] && "$kern" mount "$T/fs/lun0" "$T/mnt" --mkfs ext4 >/dev/null 2>&1; then
	# Written, not fallocated: reads of unwritten extents never reach the LUN.
	dd if=/dev/zero of="$T/mnt/bench" bs=1M count=512 oflag=direct status=none
	targets+=("mcsi-ext4-file|$kpid|$T/mnt/bench|512M")
fi

printf '%-18s %-13s %9s %9s %13s\n' initiator profile IOPS MiB/s "server us/IO"
for p in "${profiles[@]}"; do
	for t in "${targets[@]}"; do
		IFS='|' read -r name spid tgt tsize <<<"$t"
		res=() cost=()
		for r in $(seq "$reps"); do
			c0=$(cpu_ticks "$spid")
			MCSI_FIO_SIZE=$tsize MCSI_FIO_OUT=$T/$name-$p-$r "$here/run.sh" "$tgt" "$p" \
				>/dev/null 2>&1 || true
			c1=$(cpu_ticks "$spid")
			line=$(python3 "$T/parse.py" "$T/$name-$p-$r/$p.json" "$((c1 - c0))" "$hz")
			res+=("${line% *}")
			cost+=("${line##* }")
		done
		med=$(printf '%s\n' "${res[@]}" | median)
		medc=$(printf '%s\n' "${cost[@]}" | median)
		# shellcheck disable=SC2086
		printf '%-18s %-13s %9s %9s %13s\n' "$name" "$p" $med "$medc"
	done
done
