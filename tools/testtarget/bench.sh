#!/usr/bin/env bash
# Compares libiscsi's iscsi-perf against mcsi-testtarget (null LUN, --fast)
# and tgtd (null LUN): READ only, median of N runs of T seconds per row.
# Usage: bench.sh [path/to/mcsi-testtarget] (needs root for tgtd).
# Env: RUNS (3), SECS (6), TGT_CTL (control number, 9411), TGT_PORT (3271).
set -uo pipefail
bin=${1:-${MCSI_BUILD:-/tmp/build}/tools/testtarget/mcsi-testtarget}
runs=${RUNS:-3} secs=${SECS:-6} ctl=${TGT_CTL:-9411} tport=${TGT_PORT:-3271}
tmp=$(mktemp -d)
tt_pid= tgt_pid=
cleanup() {
	[ -n "$tt_pid" ] && kill -TERM "$tt_pid" 2>/dev/null && wait "$tt_pid" 2>/dev/null
	if [ -n "$tgt_pid" ]; then
		tgtadm -C "$ctl" --op delete --mode target --tid 1 --force >/dev/null 2>&1
		tgtadm -C "$ctl" --op delete --mode system >/dev/null 2>&1
		kill -TERM "$tgt_pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT

"$bin" --portal 127.0.0.1:0 --port-file "$tmp/port" --fast --lun 0:null:1G >/dev/null 2>&1 &
tt_pid=$!
for _ in $(seq 50); do [ -s "$tmp/port" ] && break; sleep 0.1; done
tt_url="iscsi://127.0.0.1:$(cut -d' ' -f1 "$tmp/port" | head -1)/iqn.2026-11.org.mcsi:testtarget/0"

setsid tgtd -f -C "$ctl" --iscsi "portal=127.0.0.1:$tport" >/dev/null 2>&1 &
tgt_pid=$!
for _ in $(seq 50); do tgtadm -C "$ctl" --op show --mode sys >/dev/null 2>&1 && break; sleep 0.1; done
tgtadm -C "$ctl" --lld iscsi --op new --mode target --tid 1 -T iqn.2026-11.org.mcsi:bench &&
tgtadm -C "$ctl" --lld iscsi --op bind --mode target --tid 1 -I ALL &&
tgtadm -C "$ctl" --lld iscsi --op new --mode logicalunit --tid 1 --lun 1 -E null -b nullb ||
	{ echo "tgtd setup failed"; exit 1; }
tgt_url="iscsi://127.0.0.1:$tport/iqn.2026-11.org.mcsi:bench/1"

# One iscsi-perf run: prints the average IOPS.
perf() {
	timeout $((secs + 15)) iscsi-perf -t "$secs" "$@" 2>&1 | tr '\r' '\n' |
		sed -n 's/.*iops average \([0-9]*\).*/\1/p' | tail -1
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%-22s %12s %12s\n' "workload" "testtarget" "tgtd"
while read -r name args; do
	a=$(for _ in $(seq "$runs"); do perf $args "$tt_url"; done | median)
	b=$(for _ in $(seq "$runs"); do perf $args "$tgt_url"; done | median)
	printf '%-22s %12s %12s\n' "$name" "$a" "$b"
done <<'ROWS'
4K-rand-QD1 -m 1 -b 8 -r
4K-rand-QD8 -m 8 -b 8 -r
4K-rand-QD32 -m 32 -b 8 -r
4K-rand-QD128 -m 128 -b 8 -r
128K-seq-QD8 -m 8 -b 256
1M-seq-QD4 -m 4 -b 2048
ROWS
