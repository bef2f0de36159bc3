#!/usr/bin/env bash
# Hostile targets, full feature phase (docs/hostile.md, cases F1-F32): the
# fast path (mcsi_open() and the reactor) against tests/hostile/evil_target.py
# through tests/hostile/mcsi-hostile-client, while a second session in the
# same process verifies its data on the project's test target. Each case
# must end with a clear error naming the peer (or recover, where the RFC
# lets the initiator carry on), within its timeout, with no crash and no
# disturbance of the healthy session; one case runs a verified mcsi-perf
# on another target while the evil one is attacked.
# ctest-cost: 40
source "$(dirname "$0")/../lib/interop.sh"
interop_init hostile
PERF=$MCSI_BUILD/tools/perf/mcsi-perf
[[ -x $PERF ]] || { echo "missing $PERF"; exit 1; }

evil_start
tt_start
HEALTHY=(--healthy "$TT_URL" --hold 400)

# ffp ID SCENARIO OP PATTERN CHECKS... : the client runs OP (read, write,
# verify) against the scenario; exit 1 (an I/O failed) unless "recovered".
ffp() {
	local id=$1 scenario=$2 op=$3 pattern=$4
	shift 4
	local want=1
	[[ " $* " == *" recovered "* ]] && want=0
	evil "$scenario"
	run 30 "$CLIENT" --timeout 1000 --op "$op" "${HEALTHY[@]}" ${BLOCKS:+--blocks $BLOCKS} \
		"$EVIL_URL"
	judge "$id $scenario" "$want" "$pattern" healthy "$@"
}

# --- responses that do not belong to a task -----------------------------------------
ffp F1 wrong-itt read "Data-In for unknown ITT" closed
ffp F2 status-unknown-task read "SCSI Response for unknown ITT 0x7eadbeef" closed
ffp F3 reused-itt read "SCSI Response for unknown ITT" closed

# --- Data-In ------------------------------------------------------------------------------
ffp F4 datain-beyond read "Data-In beyond the expected length" closed
ffp F5 datasn-gap read "DataSN gap .*expected 1, got 2" closed
ffp F6 datasn-repeat read "DataSN gap .*expected 1, got 0" closed
ffp F7 overlong read "longer than our MaxRecvDataSegmentLength" closed
ffp F8 status-no-final read "S bit without F bit" closed
ffp F9 sense-overrun read "sense length runs past the data segment" closed

# --- framing ---------------------------------------------------------------------------------
ffp F10 bad-opcode read "opcode unknown" closed
ffp F11 truncated-bhs read "the target closed the connection" closed
ffp F12 close-mid-data read "the target closed the connection" closed
# A SCSI Response announcing 1020 bytes of AHS that never come: target PDUs
# have no AHS, so the header alone condemns it.
ffp F13 ahs-past-pdu read "AHS" closed
grep -q "timed out" <<<"$OUT" &&
	fail "F13 the AHS was awaited (command timeout) before the header was judged" ||
	pass "F13 refused on the header, not after a timeout"

# --- sequence numbers ------------------------------------------------------------------------
ffp F14 statsn-jump verify "^close: ok" recovered nopeer
ffp F15 window-shrink verify "^close: ok" recovered nopeer
# MaxCmdSN = ExpCmdSN - 1 for ever: the command cannot be sent and must time
# out with a message saying why.
ffp F16 window-closed read "CmdSN window"
grep -q "Connection timed out" <<<"$OUT" && pass "F16 the command timed out" ||
	fail "F16 no command timeout"

# --- R2T -----------------------------------------------------------------------------------------
ffp F17 r2t-beyond write "R2T beyond the command's length" closed
ffp F18 r2t-offset write "R2T beyond the command's length .*offset 4294963200" closed
ffp F19 r2t-too-many write "too many outstanding R2Ts" closed
ffp F20 r2t-unknown write "R2T for unknown ITT" closed
ffp F21 r2tsn-gap write "R2TSN gap" closed
# Solicits 16 MiB (less 1 KiB: within MaxBurstLength) and stops reading: our
# send blocks; the command times out and the connection is dropped.
BLOCKS=32766 ffp F22 stop-reading write "timed out|LUN RESET" closed

# --- NOP-In, Reject, Async ---------------------------------------------------------------------
ffp F23 nop-flood read "too many NOP-In pings left unanswered" closed
ffp F24 nop-flood-unsolicited verify "^close: ok" recovered nopeer
grep -q "nops_in 200000" <<<"$OUT" && pass "F24 all 200,000 NOP-Ins consumed" ||
	fail "F24 $(grep '^stats' <<<"$OUT")"
# A Reject of a command fails that command; the connection stays (RFC 7143
# 11.17.1) and logs out cleanly.
ffp F25 reject-all read "target rejected SCSI Command"
grep -q '^close: ok' <<<"$OUT" && pass "F25 the session logged out after the Rejects" ||
	fail "F25 $(grep '^close' <<<"$OUT")"
ffp F26 reject-no-header read "Reject: data segment shorter than a BHS" closed
ffp F27 async-bogus-event read "reserved event code" closed
ffp F28 async-logout-zero read "requests a logout within 0 s"
grep -q "^io 3: read error Transport endpoint is not connected" <<<"$OUT" &&
	pass "F28 logged out as asked: later commands fail with ENOTCONN" ||
	fail "F28 $(grep '^io 3' <<<"$OUT")"
# A drop naming a CID we do not have drops the connection it came on (we
# cannot tell which one the target means); ERL 0 reinstates the session.
ffp F29 async-drop-other-cid read "dropping the connection \(async event 2\)" recovered
ffp F30 async-sense-overrun verify "^close: ok" recovered nopeer
ffp F31 async-renegotiate verify "^close: ok" recovered nopeer

# --- F32: a verified load on another target while this one is attacked ----------------------
"$PERF" --verify -m rw -q 8 -t 6 -s 8m -Q "iscsi://127.0.0.1:$TT_PORT/$TT_IQN/1" \
	>"$TEST_TMP/perf.out" 2>&1 &
perf=$!
sleep 1
for s in datain-beyond close-mid-data wrong-itt r2t-beyond nop-flood overlong; do
	evil "$s"
	timeout 30 "$CLIENT" --timeout 1000 --op verify "$EVIL_URL" >/dev/null 2>&1
done
wait "$perf"
rc=$?
OUT=$(cat "$TEST_TMP/perf.out")
if ((rc == 0)) && grep -q "verify: no mismatch" <<<"$OUT"; then
	pass "F32 verified mcsi-perf on the test target was undisturbed by six attacks"
else
	fail "F32 mcsi-perf exit $rc"
	sed 's/^/    /' <<<"$OUT" | tail -5
fi
kill -0 "$TT_PID" 2>/dev/null && pass "test target still running" || fail "test target died"

finish
