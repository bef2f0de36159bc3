#!/usr/bin/env bash
# Data integrity against istgt (RAM LUN; 256 KiB segments, 16 R2Ts, 1 MiB
# bursts, InitialR2T Yes, digests in the initiator's order): write then
# read back and compare every byte for sizes from 512 B to 16 MiB with
# digests off and on, over both transports, and a bounded mcsi-perf
# --verify run on each. istgt takes about a second per login.
source "$(dirname "$0")/../lib/interop.sh"
interop_init perf

istgt_start io 64M
url="iscsi://127.0.0.1:$ISTGT_PORT/$ISTGT_IQN/0"

SIZES=512,1k,4k,8k,12k,64k,128k,260k,1m,4m,16m
for tr in io_uring epoll; do
	for d in off on; do
		dig=()
		[[ $d == on ]] && dig=(-H -D)
		expect_ok "digests $d, $tr: write, read back, compare 512 B..16 MiB" \
			"$PERF" -T "$tr" "${dig[@]}" --roundtrip "$SIZES" "$url"
		expect_match "digests $d, $tr: 16 MiB round trip" "roundtrip 16m: 16777216 bytes ok"
		expect_ok "digests $d, $tr: mcsi-perf --verify, 64 KiB reads and writes" \
			"$PERF" -Q -T "$tr" "${dig[@]}" --verify -m rw -b 64k -q 8 -t 2 -s 16m "$url"
		expect_match "digests $d, $tr: no mismatch" "verify: no mismatch"
	done
done
expect_ok "4 KiB random verify at QD 32" \
	"$PERF" -Q --verify -m rw -b 4k -q 32 -t 3 -s 8m "$url"
expect_match "4 KiB: no mismatch" "verify: no mismatch"
finish
