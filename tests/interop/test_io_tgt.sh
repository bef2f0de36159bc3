#!/usr/bin/env bash
# Data integrity against tgt (tgtd, RAM LUNs): write then read back and
# compare every byte for sizes from 512 B to 16 MiB, through uneven scatter
# lists, with digests off and on, over both transports; tgt's stock
# settings (8 KiB segments, one R2T at a time, InitialR2T) and its maxima
# (16 R2Ts, InitialR2T=No, 16 MiB bursts); then a bounded mcsi-perf
# --verify run of mixed random I/O on each.
source "$(dirname "$0")/../lib/interop.sh"
interop_init perf

IQN=iqn.2026-11.org.mcsi.test:io
tgt_start
tgt_target 1 "$IQN-stock"
tgt_lun 1 1 rdwr 64M
tgt_target 2 "$IQN-max"
tgt_lun 2 1 rdwr 64M
tgt_target 3 "$IQN-digest"
tgt_lun 3 1 rdwr 64M
for tid in 2 3; do
	tgt_param $tid MaxRecvDataSegmentLength 262144
	tgt_param $tid MaxBurstLength 16776192
	tgt_param $tid FirstBurstLength 16776192
	tgt_param $tid MaxOutstandingR2T 16
	tgt_param $tid InitialR2T No
	tgt_param $tid ImmediateData Yes
done
tgt_param 3 HeaderDigest CRC32C
tgt_param 3 DataDigest CRC32C
url() { echo "iscsi://127.0.0.1:$TGT_PORT/$IQN-$1/1"; }

SIZES=512,1k,4k,8k,12k,64k,128k,260k,1m,4m,16m
for tr in io_uring epoll; do
	for t in stock max digest; do
		dig=()
		[[ $t == digest ]] && dig=(-H -D)
		expect_ok "$t, $tr: write, read back, compare 512 B..16 MiB" \
			"$PERF" -T "$tr" "${dig[@]}" --roundtrip "$SIZES" "$(url "$t")"
		expect_match "$t, $tr: 16 MiB round trip" "roundtrip 16m: 16777216 bytes ok"
		expect_ok "$t, $tr: mcsi-perf --verify, mixed 64 KiB reads and writes" \
			"$PERF" -Q -T "$tr" "${dig[@]}" --verify -m rw -b 64k -q 8 -t 2 -s 16m "$(url "$t")"
		expect_match "$t, $tr: no mismatch" "verify: no mismatch"
	done
done
# Small blocks at depth, where receives batch many PDUs.
expect_ok "4 KiB random verify at QD 32" \
	"$PERF" -Q --verify -m rw -b 4k -q 32 -t 3 -s 8m "$(url max)"
expect_match "4 KiB: no mismatch" "verify: no mismatch"
# The same with read-ahead off: no data byte is copied.
expect_ok "verify without read-ahead" \
	"$PERF" -Q --readahead 0 --verify -m rw -b 16k -q 16 -t 2 -s 8m "$(url stock)"
expect_match "no read-ahead: no mismatch" "verify: no mismatch"
finish
