#!/usr/bin/env bash
# ERL 2 session continuation (RFC 7143 6.3.4, 7.1.4, 8.3 N5;
# docs/design/recovery.md section 8): a verified mcsi-perf load against the
# test target at ERL 2 while a TCP proxy (tcpcut.py) cuts EVERY connection
# of the session, several times: first a session of one connection
# (cutone), then one of two connections cut at once (cut). With no
# connection left the library logs the old CID in again with the
# session's ISID and TSIH within DefaultTime2Retain, and the test target
# (tools/testtarget/retain.c) continues the session: same TSIH, the CmdSN
# window goes on, and TASK REASSIGN takes the dead connection's commands
# over. Asserts: zero I/O errors, zero mismatches, every cut recovered by
# session continuation (the library's "session continued" line, no
# session loss or reinstatement), one TSIH per run at the target, TASK
# REASSIGNs done there, no RFC state machine violation. Prints the
# recovery times (median, worst), as the library measures them (from the
# loss to the commands moved on; DefaultTime2Wait, 2 s, is the floor).
# ctest-cost: 45
source "$(dirname "$0")/../lib/interop.sh"
interop_init perf testtarget python3

PERIOD=${REC_PERIOD:-4}         # seconds between cuts (> Time2Wait + login)
SECS=${REC_SECS:-15}            # per mcsi-perf run: 3 cuts
TIMES=()                        # ms, every continuation seen
IQN=iqn.2026-11.org.mcsi.test:erl2cont
_run=0

TT_IQN=$IQN TT_LUNS="--lun 0:ram:64M:512" tt_start --erl 2 --max-connections 4 -v
proxy_start "$TT_PORT"
U="iscsi://127.0.0.1:$CUT_PORT/$IQN/0"

# cont_run NAME CUT PERF-ARGS...: one mcsi-perf --verify run of SECS
# seconds; every PERIOD seconds the proxy runs CUT (cutone: the oldest
# connection; cut: all of them). Every cut must end in a continuation.
cont_run() {
	local name=$1 cut=$2
	shift 2
	local out=$TEST_TMP/perf.$((++_run)).out mark fmark
	mark=$(wc -l <"$TEST_TMP/tt.log")
	fmark=$( (wc -l <"$TEST_TMP/faults.log") 2>/dev/null || echo 0)
	timeout $((SECS + 60)) "$PERF" --verify -Q -t "$SECS" -s 16m "$@" "$U" >"$out" 2>&1 &
	local pid=$!
	cut_every "$PERIOD" "$SECS" 2 "$cut" >>"$TEST_TMP/faults.log" 2>&1 &
	local fpid=$!
	wait "$pid"
	local rc=$?
	wait "$fpid" 2>/dev/null
	no_rfc_violation "$name" "$out"
	local cuts failed cont lost reinst tlog tsihs reassigned
	cuts=$(tail -n +$((fmark + 1)) "$TEST_TMP/faults.log" | grep -c ": ok [1-9]")
	failed=$(grep -c '^event: connection [0-9]* failed' "$out")
	cont=$(grep -c 'session continued after [0-9]* ms' "$out")
	lost=$(grep -c '^event: session lost' "$out")
	reinst=$(grep -c '^event: session reinstated' "$out")
	mapfile -t t < <(grep -o 'session continued after [0-9]* ms' "$out" | awk '{ print $4 }')
	TIMES+=("${t[@]}")
	tlog=$(tail -n +"$((mark + 1))" "$TEST_TMP/tt.log")
	tsihs=$(grep -o 'TSIH [0-9]*' <<<"$tlog" | sort -u | wc -l)
	reassigned=$(grep -c 'TMF 8 ref .*: function complete' <<<"$tlog")
	local tcont
	tcont=$(grep -c 'session continued by CID' <<<"$tlog")
	# A cut that lands while the session logs out at the end of the run is
	# not recovered: allow one.
	if ((rc == 0)) && grep -q '^verify: no mismatch' "$out" && ((cont >= 2 &&
	    cont >= cuts - 1 && lost == 0 && reinst == 0 && tsihs == 1 && tcont >= cont)); then
		pass "$name: verified, 0 errors, $cuts cuts, $failed connections lost, $cont continuations" \
			"(${t[*]} ms), one TSIH, $reassigned TASK REASSIGNs at the target"
	else
		fail "$name: rc $rc, $cuts cuts, $failed connections lost, $cont continuations," \
			"$lost session losses, $reinst reinstatements, $tsihs TSIHs, target $tcont"
		grep -v '^\[' "$out" | tail -15
		tail -4 "$TEST_TMP/faults.log"
		grep -i 'retain\|continu\|refused' <<<"$tlog" | tail -6
	fi
}

cont_run "one connection, rw 16k, cut every ${PERIOD}s" cutone -m rw -b 16k -q 16
cont_run "two connections cut at once, rw 64k" cut -m rw -b 64k -q 16 -c 2

if ((${#TIMES[@]})); then
	mapfile -t sorted < <(printf '%s\n' "${TIMES[@]}" | sort -n)
	n=${#sorted[@]}
	echo "# session continuation time over $n continuations:" \
		"median ${sorted[n / 2]} ms, best ${sorted[0]} ms, worst ${sorted[n - 1]} ms"
fi
finish
