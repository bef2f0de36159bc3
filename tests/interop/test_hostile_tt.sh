#!/usr/bin/env bash
# Hostile targets through the project's test target (docs/hostile.md, cases
# T1-T19): mcsi-testtarget's fault injection (digest corruption at ERL 0,
# malformed PDUs, drops, Rejects, Async events, NOP-In, stalls, delays,
# login refusals) against the fast path and iscsictl, while a second test
# target serves a healthy, verified session in the same client process.
# ctest-cost: 65
source "$(dirname "$0")/../lib/interop.sh"
interop_init hostile

tt_start
HEALTHY=(--healthy "$TT_URL" --hold 400)
# The cases are written for ErrorRecoveryLevel 0 (a defect closes the
# connection, the session is reinstated); ERL 1 and 2 recovery of the same
# faults is tests/interop/test_recovery_erl1.sh's and _erl2.sh's.
tt_start --digest any --erl 0
URL="iscsi://127.0.0.1:$TT_PORT/$TT_IQN/0"
PEER=127.0.0.1:$TT_PORT
export MCSI_CONFIG="$TEST_TMP/mcsi.conf" MCSI_SECRETS="$TEST_TMP/secrets"

# fault ID "RULE" OP PATTERN CHECKS...: one rule, one client run, clear.
fault() {
	local id=$1 rule=$2 op=$3 pattern=$4
	shift 4
	local want=1
	[[ " $* " == *" recovered "* ]] && want=0
	local ans
	ans=$(tt_ctl "$rule")
	[[ $ans == ok* ]] || { fail "$id: the test target refused '$rule': $ans"; return; }
	run 30 "$CLIENT" --digest --timeout 1000 --op "$op" "${HEALTHY[@]}" "$URL"
	judge "$id $rule" "$want" "$pattern" healthy "$@"
	tt_ctl clear >/dev/null
}

# --- digests at ERL 0: the connection is dropped (RFC 7143 7.8), the session
# reinstated and the command issued again (docs/design/recovery.md 6.1) -----------
fault T1 "corrupt hdigest data-in" read "header digest" recovered
fault T2 "corrupt ddigest data-in" read "data digest" recovered

# --- malformed PDUs ---------------------------------------------------------------------------
fault T3 "malform wrong-itt data-in" read "for unknown ITT" closed
fault T4 "malform datasn-gap data-in" read "DataSN gap" closed
fault T5 "malform overlong data-in" read "longer than our MaxRecvDataSegmentLength" closed
fault T6 "malform bad-opcode scsi-rsp" verify "opcode unknown" closed
# A transport failure, not a defect the header shows: the session is reinstated.
fault T7 "malform truncate data-in" read "the target closed the connection" recovered
# A residual the data contradicts is reported, not acted upon: the data
# that arrived is the data that was asked for.
fault T8 "malform residual scsi-rsp" verify "^close: ok" recovered nopeer
fault T9 "malform statsn-gap scsi-rsp" verify "^close: ok" recovered nopeer

# --- drops -----------------------------------------------------------------------------------
fault T10 "drop bytes 20000" verify "the target closed the connection" recovered
fault T11 "drop rx 1 scsi-cmd" verify "the target closed the connection" recovered

# --- Reject, delay, NOP-In, stall --------------------------------------------------------
fault T12 "reject-cmd 4 scsi-cmd" read "target rejected SCSI Command"
fault T13 "delay 300 data-in" verify "^close: ok" recovered nopeer

# Events sent while a session is busy.
async_case() {
	local id=$1 cmd=$2 pattern=$3
	shift 3
	local want=1
	[[ " $* " == *" recovered "* ]] && want=0
	( sleep 1; tt_ctl "$cmd" >/dev/null ) &
	local sender=$!
	run 30 "$CLIENT" --digest --timeout 1000 --op verify --iterations 20 --pause 200 \
		"${HEALTHY[@]}" "$URL"
	wait "$sender"
	judge "$id $cmd" "$want" "$pattern" healthy "$@"
	tt_ctl clear >/dev/null
}
async_case T14 "async 3" "dropping the session" recovered
async_case T15 "nop-in" "^close: ok" recovered nopeer
grep -qE "nops_in [1-9]" <<<"$OUT" && pass "T15 the ping was seen and answered" ||
	fail "T15 $(grep '^stats' <<<"$OUT")"

# A stalled target: the command times out, the abort is not answered, the
# connection is dropped; nothing hangs.
fault T16 "stall" read "timed out" closed
tt_ctl unstall >/dev/null

# --- login refusals through iscsictl --------------------------------------------------------
c=("$ISCSICTL" --timeout 2000)
tt_ctl "login-refuse 3 1" >/dev/null
run 20 "${c[@]}" login "$TT_IQN,$PEER"
judge "T17 login refused: service unavailable" 1 "service unavailable"
tt_ctl "login-refuse 2 2" >/dev/null
run 20 "${c[@]}" login "$TT_IQN,$PEER"
judge "T18 login refused: authorization failure" 1 "authorization failure"
tt_ctl clear >/dev/null
run 20 "${c[@]}" login "$TT_IQN,$PEER"
judge "T19 the target is usable again after every fault" 0 "capacity-bytes +67108864" nopeer

finish
