#!/usr/bin/env bash
# Data integrity against Linux LIO (in its qemu guest, slow software
# emulation: small sizes and short runs): write then read back and compare
# every byte for sizes from 512 B to 1 MiB (and 8 MiB once: LIO's fileio
# backstore refuses larger commands, FD_MAX_BYTES) on the stock
# target (8 KiB segments) and on erl2 (InitialR2T=No, 256 KiB segments),
# digests off and on, both transports; a short mcsi-perf --verify run on
# each.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/targets.sh"
source "$here/../lib/assert.sh"
targets_init
[[ ${MCSI_NO_LIO:-} == 1 && ${CI:-} != true ]] && exit 77
lio_start

perf="$MCSI_BUILD/tools/perf/mcsi-perf"
[[ -x $perf ]] || { echo "no mcsi-perf in $MCSI_BUILD"; exit 1; }
url() { echo "iscsi://127.0.0.1:$LIO_PORT/$LIO_IQN_BASE:$1/0"; }

SIZES=512,4k,12k,64k,260k,1m
for tr in io_uring epoll; do
	for t in default erl2; do
		for d in off on; do
			dig=()
			[[ $d == on ]] && dig=(-H -D)
			expect_ok "$t, digests $d, $tr: write, read back, compare 512 B..1 MiB" \
				"$perf" -T "$tr" "${dig[@]}" --roundtrip "$SIZES" "$(url "$t")"
			expect_match "$t, digests $d, $tr: 1 MiB round trip" "roundtrip 1m: 1048576 bytes ok"
		done
		expect_ok "$t, $tr: mcsi-perf --verify, 16 KiB reads and writes" \
			"$perf" -Q -T "$tr" --verify -m rw -b 16k -q 8 -t 2 -s 4m "$(url "$t")"
		expect_match "$t, $tr: no mismatch" "verify: no mismatch"
	done
done
expect_ok "erl2, digests on: 8 MiB round trip" \
	"$perf" -H -D --roundtrip 8m "$(url erl2)"
expect_match "8 MiB compared" "roundtrip 8m: 8388608 bytes ok"
expect_ok "erl2, digests on: mcsi-perf --verify" \
	"$perf" -Q -H -D --verify -m rw -b 4k -q 16 -t 2 -s 2m "$(url erl2)"
expect_match "digests on: no mismatch" "verify: no mismatch"
finish
