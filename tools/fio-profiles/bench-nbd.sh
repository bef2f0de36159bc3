#!/usr/bin/env bash
# Compares the two NBD servers over the same RAM backend (kern/ram.c):
# mcsi-kern's own (kern/nbd.c) and nbdkit with nbdkit-mcsi-plugin.so, on a
# UNIX socket and on loopback TCP, plus the FUSE file, with the timed
# profiles of this directory. Besides IOPS it reports the server's CPU time
# per request (user + system of the serving process, from /proc), which
# stays meaningful on a machine shared with other work, where IOPS do not.
# The numbers in docs/design/kern.md come from this script.
#
#   tools/fio-profiles/bench-nbd.sh [BUILD_DIR]   (the FUSE file needs root)
# Environment: MCSI_FIO_RUNTIME (default 10), BENCH_REPS (default 3: the
# median of each column is printed), BENCH_PROFILES (default: the four of
# the issue: randread-4k randwrite-4k seqread-1m seqwrite-1m).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-${MCSI_BUILD:-$here/../../build}}
kern=$build/tools/mcsi-kern/mcsi-kern
plugin=$build/tools/mcsi-kern/nbdkit-mcsi-plugin.so
reps=${BENCH_REPS:-3}
read -r -a profiles <<<"${BENCH_PROFILES:-randread-4k randwrite-4k seqread-1m seqwrite-1m}"
export MCSI_FIO_RUNTIME=${MCSI_FIO_RUNTIME:-10} MCSI_FIO_SIZE=1G
# No ramp: the server's CPU time must cover exactly the requests counted.
export MCSI_FIO_ARGS="--ramp_time=0"

tmp=$(mktemp -d /tmp/mcsi-bench.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do
		while kill -0 "$p" 2>/dev/null; do sleep 0.1; done
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 30000))
		ss -Htln "sport = :$p" | grep -q . || { echo "$p"; return; }
	done
}

wait_for() {
	for _ in $(seq 100); do
		[[ -e $1 ]] && return 0
		sleep 0.1
	done
	echo "bench-nbd: $1 did not appear" >&2
	return 1
}

# CPU time (clock ticks, user + system) of a process so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

kport=$(free_port)
fsopt=()
[[ $(id -u) -eq 0 ]] && fsopt=(--fs "$tmp/fs")
"$kern" export --ram 1G "${fsopt[@]}" --nbd-unix "$tmp/k.sock" --nbd-tcp "$kport" \
	--pidfile "$tmp/k.pid" 2>"$tmp/k.log" &
kpid=$!
pids+=("$kpid")
wait_for "$tmp/k.pid"

nport=$(free_port)
# nbdkit: one listener kind per server, so two servers.
nbdkit -f -U "$tmp/n.sock" "$plugin" ram=1G 2>"$tmp/n.log" &
npid=$!
pids+=("$npid")
nbdkit -f -i 127.0.0.1 -p "$nport" "$plugin" ram=1G 2>"$tmp/n2.log" &
n2pid=$!
pids+=("$n2pid")
wait_for "$tmp/n.sock"
sleep 0.5

# name|server pid|target
targets=(
	"mcsi-nbd-unix|$kpid|nbd+unix:///lun0?socket=$tmp/k.sock"
	"nbdkit-unix|$npid|nbd+unix:///?socket=$tmp/n.sock"
	"mcsi-nbd-tcp|$kpid|nbd://127.0.0.1:$kport/lun0"
	"nbdkit-tcp|$n2pid|nbd://127.0.0.1:$nport/"
)
if ((${#fsopt[@]})); then
	targets+=("fuse-file|$kpid|$tmp/fs/lun0")
fi

# Fill the devices once so that reads touch real memory.
for t in "${targets[@]}"; do
	MCSI_FIO_OUT=$tmp/fill "$here/run.sh" "${t##*|}" seqwrite-1m >/dev/null 2>&1 || true
done

cat >"$tmp/parse.py" <<'EOF'
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

hz=$(getconf CLK_TCK)
printf '%-14s %-14s %10s %10s %14s\n' server profile IOPS MiB/s "server us/IO"
for p in "${profiles[@]}"; do
	for t in "${targets[@]}"; do
		name=${t%%|*}
		rest=${t#*|}
		spid=${rest%%|*}
		res=()
		cost=()
		for r in $(seq "$reps"); do
			c0=$(cpu_ticks "$spid")
			MCSI_FIO_OUT=$tmp/$name-$p-$r "$here/run.sh" "${t##*|}" "$p" \
				>/dev/null 2>&1 || true
			c1=$(cpu_ticks "$spid")
			line=$(python3 "$tmp/parse.py" "$tmp/$name-$p-$r/$p.json" \
				"$((c1 - c0))" "$hz")
			res+=("${line% *}")
			cost+=("${line##* }")
		done
		med=$(printf '%s\n' "${res[@]}" | median)
		medc=$(printf '%s\n' "${cost[@]}" | median)
		# shellcheck disable=SC2086
		printf '%-14s %-14s %10s %10s %14s\n' "$name" "$p" $med "$medc"
	done
done
