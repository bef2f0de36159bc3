#!/usr/bin/env bash
# ERL 0 session reinstatement (docs/design/recovery.md section 6): a verified
# mcsi-perf load (reads and writes, several sizes) keeps running, with zero
# I/O errors and zero mismatches, while
#   - a TCP proxy (tcpcut.py) between mcsi and tgt / istgt resets the
#     connection every few seconds;
#   - the project's test target (ERL 0) drops the session (async 3), closes
#     connections after N PDUs, or sends corrupt header/data digests;
# and when the target is gone for longer than the replacement timeout, I/O
# fails with a clear error, in bounded time. Prints the recovery time of
# every fault (median and worst), as the library measures it from the loss
# to the new login (MCSI_EV_SESSION_REINSTATED).
# ctest-cost: 150
source "$(dirname "$0")/../lib/interop.sh"
interop_init perf testtarget python3

PERIOD=${REC_PERIOD:-3}         # seconds between faults
SECS=${REC_SECS:-10}            # per mcsi-perf run
TIMES=()                        # ms, every reinstatement seen
FAULT=()

# verified NAME WANT_MIN URL PERF-ARGS...: one mcsi-perf --verify run while
# the command in FAULT (an array) runs every PERIOD seconds (none if FAULT
# is empty); no I/O error, no mismatch, at least WANT_MIN reinstatements,
# and every loss reinstated. WANT_MIN is 1: a fault that lands while the
# session is still waiting DefaultTime2Wait (2 s) after the previous one
# cuts nothing, so how many land depends on the machine's load; the count
# over the whole script is checked at the end.
verified() {
	local name=$1 want=$2 url=$3
	shift 3
	local out=$TEST_TMP/perf.out
	timeout $((SECS + 60)) "$PERF" --verify -Q -t "$SECS" -s 16m "$@" "$url" >"$out" 2>&1 &
	local pid=$! fpid= nf
	# Faults every PERIOD s up to 1 s before the run's end: a loss after
	# its last command (while it logs out) is never reinstated. With a
	# fast control client (ctl_line) the last cut of a 10 s run would
	# otherwise land at 9 s, right there.
	nf=$(awk -v s="$SECS" -v p="$PERIOD" 'BEGIN { n = 0; while ((n + 1) * p < s - 1) n++; print n }')
	if ((${#FAULT[@]})); then
		( for ((k = 0; k < nf; k++)); do
			sleep "$PERIOD" && kill -0 "$pid" 2>/dev/null || break
			echo "$(date +%T.%N) ${FAULT[*]}: $("${FAULT[@]}")"
		  done >>"$TEST_TMP/faults.log" 2>&1 ) &
		fpid=$!
	fi
	wait "$pid"
	local rc=$?
	[[ -n $fpid ]] && wait "$fpid" 2>/dev/null
	local lost re
	lost=$(grep -c '^event: session lost' "$out")
	re=$(grep -c '^event: session reinstated' "$out")
	mapfile -t t < <(awk '/^event: session reinstated after/ { print $5 }' "$out")
	TIMES+=("${t[@]}")
	no_rfc_violation "$name" "$out"
	if ((rc == 0)) && grep -q '^verify: no mismatch' "$out" && ((re >= want && re == lost)); then
		pass "$name: verified, $re reinstatements (${t[*]} ms)"
	else
		fail "$name: rc $rc, $lost lost, $re reinstated (want >= $want)"
		grep -v '^\[' "$out" | tail -15
		# The test target's side of it (--verbose: logins, logouts,
		# drops), for a failure seen only once.
		[[ -f $TEST_TMP/tt.log ]] && tail -25 "$TEST_TMP/tt.log" | sed 's/^/    tt: /'
	fi
}

IQN=iqn.2026-11.org.mcsi.test:rec

# ---- tgt through the proxy -------------------------------------------------
tgt_start
tgt_target 1 "$IQN-tgt"
tgt_lun 1 1 rdwr 64M
proxy_start "$TGT_PORT"
U="iscsi://127.0.0.1:$CUT_PORT/$IQN-tgt/1"
FAULT=(cutctl cut)
for bs in 4k 1m; do
	verified "tgt rw bs $bs, connection reset every ${PERIOD}s" 1 "$U" -m rw -b "$bs" -q 16
done
verified "tgt write bs 256k, epoll, connection reset every ${PERIOD}s" 1 "$U" \
	-m randwrite -b 256k -q 8 -T epoll
# With digests: the proxy flips one bit 300000 bytes into what the target
# sends on the next connection, then resets the current one; the flipped
# bit fails a header or data digest on the reinstated connection (ERL 0:
# the connection is dropped), and the session is reinstated once more.
tgt_target 2 "$IQN-tgt-digest"
tgt_lun 2 1 rdwr 64M
tgt_param 2 HeaderDigest CRC32C
tgt_param 2 DataDigest CRC32C
flipcut() { cutctl flip 300000 in >/dev/null && cutctl cut; }
FAULT=(flipcut)
# Longer than the others: the flip needs a cut, a reinstatement (2 s) and
# then its 300000 bytes on the new connection, also under ASan.
SECS=16 PERIOD=4 verified "tgt digests, a bit flipped on every new connection" 1 \
	"iscsi://127.0.0.1:$CUT_PORT/$IQN-tgt-digest/1" -m rw -b 64k -q 16 -H -D
grep -qE "closed: (header|data) digest mismatch" "$TEST_TMP/perf.out" &&
	pass "a flipped bit failed a digest and the session was reinstated after it" ||
	fail "no digest error seen: $(grep -c 'session lost' "$TEST_TMP/perf.out") losses"

# ---- istgt through the proxy -----------------------------------------------
if command -v istgt >/dev/null; then
	istgt_start rec 64M
	proxy_start "$ISTGT_PORT"
	U="iscsi://127.0.0.1:$CUT_PORT/$ISTGT_IQN/0"
	FAULT=(cutctl cut)
	verified "istgt rw bs 128k, connection reset every ${PERIOD}s" 1 "$U" -m rw -b 128k -q 16
else
	echo "# istgt not installed: skipped"
fi

# ---- the test target's own faults at ERL 0 ---------------------------------
if [[ -x $TTBIN ]]; then
	TT_IQN=$IQN-tt TT_LUNS="--lun 0:ram:64M:512" tt_start --erl 0 --max-connections 4 --verbose
	U=$TT_URL
	FAULT=(tt_ctl async 3)
	verified "testtarget: session drop (async 3) every ${PERIOD}s" 1 "$U" -m rw -b 16k -q 16
	FAULT=(tt_ctl corrupt hdigest data-in)
	verified "testtarget: header digest error (ERL 0) every ${PERIOD}s" 1 "$U" \
		-m rw -b 64k -q 16 -H -D
	tt_ctl clear >/dev/null
	FAULT=(tt_ctl corrupt ddigest data-in)
	verified "testtarget: data digest error (ERL 0) every ${PERIOD}s" 1 "$U" \
		-m rw -b 64k -q 16 -H -D
	tt_ctl clear >/dev/null
	tt_ctl drop pdus 30000 >/dev/null
	FAULT=()
	verified "testtarget: every connection closes after 30000 PDUs" 1 "$U" -m rw -b 4k -q 32
	tt_ctl clear >/dev/null
	# MC/S: after each reinstatement the second connection logs in again.
	# --debug: the library's every line, so that a failure (one hang of
	# the second reinstatement was seen under ASan) shows where it stood.
	FAULT=(tt_ctl async 3)
	verified "testtarget: MC/S (2 connections), session drop every ${PERIOD}s" 1 "$U" \
		-m rw -b 16k -q 16 -c 2 --debug
	n=$(grep -c '^event: connection 1 added' "$TEST_TMP/perf.out")
	re=$(grep -c '^event: session reinstated' "$TEST_TMP/perf.out")
	# Once at open and once per reinstatement; the last one may come after
	# the run's end.
	((n >= re && n <= re + 1 && re > 0)) &&
		pass "MC/S: connection 1 logged in again after each of $re reinstatements" ||
		fail "MC/S: connection 1 added $n times for $re reinstatements"
else
	echo "# no $TTBIN: test target cases skipped"
fi

# ---- the target gone past the replacement timeout --------------------------
proxy_start "$TGT_PORT"
U="iscsi://127.0.0.1:$CUT_PORT/$IQN-tgt/1"
out=$TEST_TMP/gone.out
( sleep 2; cutctl down >/dev/null; cutctl cut >/dev/null ) &
FAULT_PID=$!
t0=$(date +%s%N)
timeout 60 "$PERF" --verify -Q -t 30 -s 16m -m rw -b 64k -q 16 --replacement-timeout 4000 \
	"$U" >"$out" 2>&1
rc=$?
el=$((($(date +%s%N) - t0) / 1000000))
wait "$FAULT_PID"
if ((rc == 2)) && grep -q '^event: session failed (Connection timed out)' "$out" &&
	grep -q 'given up: not reinstated within the replacement timeout' "$out" &&
	grep -q "I/O errors, first Connection timed out" "$out" && ((el < 30000)); then
	pass "target gone: I/O failed with -ETIMEDOUT after the 4 s replacement timeout ($el ms in all)"
else
	fail "target gone: rc $rc after $el ms"
	tail -12 "$out"
fi
cutctl up >/dev/null

# replacement timeout 0: no reinstatement, the loss fails the I/O at once.
out=$TEST_TMP/zero.out
( sleep 2; cutctl cut >/dev/null ) &
FAULT_PID=$!
t0=$(date +%s%N)
timeout 60 "$PERF" --verify -Q -t 30 -s 16m -m rw -b 64k -q 16 --replacement-timeout 0 \
	"$U" >"$out" 2>&1
rc=$?
el=$((($(date +%s%N) - t0) / 1000000))
wait "$FAULT_PID"
if ((rc == 2)) && ! grep -qE '^event: session (lost|reinstated)' "$out" && ((el < 10000)); then
	first=$(grep -o 'first [A-Za-z ]*' "$out")
	pass "replacement timeout 0: the loss fails the I/O at once ($first)"
else
	fail "replacement timeout 0: rc $rc after $el ms"
	tail -8 "$out"
fi

# ---- recovery times -----------------------------------------------------
if ((${#TIMES[@]})); then
	mapfile -t sorted < <(printf '%s\n' "${TIMES[@]}" | sort -n)
	n=${#sorted[@]}
	echo "# recovery time over $n reinstatements: median ${sorted[n / 2]} ms," \
		"best ${sorted[0]} ms, worst ${sorted[n - 1]} ms"
fi
((${#TIMES[@]} >= 10)) && pass "${#TIMES[@]} reinstatements in all, each verified" ||
	fail "only ${#TIMES[@]} reinstatements in all"
finish
