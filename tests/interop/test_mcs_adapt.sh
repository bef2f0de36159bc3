#!/usr/bin/env bash
# MC/S adaptive scheduling (docs/design/mcs.md section 5.1) on the data
# path: one session of four connections with the library's default policy
# ("adaptive": new commands go to the first k connections, k measured),
# against tgt and istgt. While the controller probes, k changes every
# 100 ms, so commands move between connection sets all the time: every
# byte is verified (--verify) and no command may fail. Against istgt,
# which serves each connection from its own thread, the controller must
# climb above one connection; against tgt (one thread for the session)
# the number it settles at depends on the machine's load and is only
# printed. The probes' verdicts come from --debug (library log level 7).
# ctest-cost: 40
source "$(dirname "$0")/../lib/interop.sh"
interop_init perf

# adaptive NAME URL ARGS...: one run with the adaptive policy; $OUT holds
# its output.
adaptive() {
	local name=$1 url=$2
	shift 2
	expect_ok "$name: exit 0" timeout 60 "$PERF" --debug --sched adaptive -c 4 --queues 2 \
		"$@" "$url"
	expect_no_match "$name: no I/O error" "I/O errors"
	expect_no_match "$name: no connection failed" "^event: connection [0-9]+ failed"
	expect_match "$name: the per-second line says how many connections are in use" \
		"connections in use [1-4] of 4$"
	expect_match "$name: the controller probed a neighbour" \
		"MC/S adaptive: [0-9] -> [0-9] connections (kept|not kept)"
	expect_match "$name: at least one connection is marked active at the end" \
		"^conn cid [0-9]+ queue [0-9]+ up.* active$"
	echo "    $name: in use per second: $(grep -o 'in use [0-9]' <<<"$OUT" | cut -c8 | tr '\n' ' ')"
}

# Highest "connections in use" of the run.
most_in_use() { grep -o 'connections in use [0-9]' <<<"$OUT" | cut -c20 | sort -n | tail -1; }

# ---- tgt: MaxConnections 4 -------------------------------------------------------
IQN=iqn.2026-11.org.mcsi.test:mcsadapt
tgt_start
tgt_target 1 "$IQN"
tgt_lun 1 1 rdwr 64M
tgt_param 1 MaxConnections 4
URL_TGT="iscsi://127.0.0.1:$TGT_PORT/$IQN/1"
adaptive "tgt: verified rw 16k QD32" "$URL_TGT" --verify -m rw -b 16k -q 32 -s 16m -t 5
expect_match "tgt: no mismatch while k moves" "^verify: no mismatch$"
adaptive "tgt: randread 4k QD32" "$URL_TGT" -m randread -b 4k -q 32 -s 64m -t 5
echo "    tgt: settled at most at $(most_in_use) connections (load-dependent)"

# ---- istgt: MaxConnections 4 -----------------------------------------------------
ISTGT_MAXCONN=4 istgt_start mcsadapt 64M
URL_ISTGT="iscsi://127.0.0.1:$ISTGT_PORT/$ISTGT_IQN/0"
adaptive "istgt: verified rw 16k QD32" "$URL_ISTGT" --verify -m rw -b 16k -q 32 -s 16m -t 5
expect_match "istgt: no mismatch while k moves" "^verify: no mismatch$"
adaptive "istgt: randread 4k QD32" "$URL_ISTGT" -m randread -b 4k -q 32 -s 16m -t 6
n=$(most_in_use)
((${n:-0} >= 2)) && pass "istgt: the controller uses more than one connection ($n)" ||
	fail "istgt: the controller never left one connection"

finish
