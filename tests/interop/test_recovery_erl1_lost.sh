#!/usr/bin/env bash
# ERL 1, PDUs the TARGET finds damaged (docs/design/recovery.md 7.1): the
# test target discards chosen PDUs as if their header digest had failed
# (`discard OP`), without a word to the initiator.
#  - SCSI Commands: the command's CmdSN stays the target's ExpCmdSN and
#    every later command waits behind it. mcsi must find the hole (a ping
#    after half a second), send the same PDU again (ITT, CmdSN, immediate
#    and unsolicited data): one retry per discarded command.
#  - Data-Out (any, the final one of a sequence included): the target asks
#    again with a recovery R2T, at once for a gap or after its Data-Out
#    timeout (1 s, as LIO's DataOutTimeout) when the last PDU is lost; mcsi
#    answers it from the caller's buffer.
# Every run: zero I/O errors, zero mismatches (mcsi-perf --verify), no
# connection lost, no command timeout. Prints the time each lost command
# cost, from its send to its completion.
# ctest-cost: 55
source "$(dirname "$0")/../lib/interop.sh"
interop_init perf python3

SECS=${REC_SECS:-4}
TIMES=()
TOTAL=0

TT_IQN=iqn.2026-11.org.mcsi.test:erl1lost
TT_LUNS="--lun 0:ram:64M:512" tt_start --erl 1 --max-connections 4 -v

# tt_lines LINE...: control lines to the test target, one connection each
# (tt_ctl); prints the answers, one per line.
tt_lines() {
	local line
	for line; do
		tt_ctl "$line"
	done
}

# armed RULE STEP N: N one-shot rules, the k-th firing at the (k*STEP)th match.
armed() {
	local lines=(clear)
	for ((k = 1; k <= $3; k++)); do
		lines+=("$1 after $((k * $2))")
	done
	ARMED=$(tt_lines "${lines[@]}" | tail -n +2 | grep -c '^ok')
}
left() { tt_ctl list | grep -o 'kind' | wc -l; }

# run NAME PERF-ARGS...: one verified run with the rules armed before it.
run() {
	local name=$1 out=$TEST_TMP/perf.out t0=$SECONDS
	shift
	timeout $((SECS + 60)) "$PERF" --verify -t "$SECS" --erl 1 -H -D "$@" "$TT_URL" \
		>"$out" 2>&1
	local rc=$?
	no_rfc_violation "$name" "$out"
	local injected=$((ARMED - $(left)))
	local retried lost timeouts
	retried=$(grep -c "sent again (the target's ExpCmdSN stayed at it" "$out")
	lost=$(grep -cE '^event: (session lost|connection [0-9]+ failed)' "$out")
	timeouts=$(grep -c 'timed out' "$out")
	mapfile -t t < <(sed -nE 's/.*ERL 1: (command|read) ITT .* recovered in ([0-9.]+) ms.*/\2/p' "$out")
	TIMES+=("${t[@]}")
	TOTAL=$((TOTAL + injected))
	if ((rc == 0)) && grep -q '^verify: no mismatch' "$out" && ((lost == 0 && timeouts == 0)) &&
		((injected > 0 && retried == injected)); then
		pass "$name: verified; $injected commands discarded, $retried sent again, nothing lost ($((SECONDS - t0)) s)"
	else
		fail "$name: rc $rc, $injected discarded, $retried sent again, $lost connections lost, $timeouts timeouts"
		grep -vE '^\[|SNACK for' "$out" | tail -12
	fi
}

# Reads and writes of 4 KiB (immediate data) over 2 connections.
armed "discard scsi-cmd" 2500 4
run "rw 4k, 2 connections" -m rw -b 4k -s 16m -q 16 -c 2
# 64 KiB writes: immediate data and unsolicited Data-Out (InitialR2T=No)
# follow the lost command and are dropped with it; all resent.
armed "discard scsi-cmd" 600 4
run "write 64k, 1 connection" -m write -b 64k -s 16m -q 8 -c 1
# 1 MiB reads and writes: R2T-driven, the loss is the command alone.
armed "discard scsi-cmd" 80 3
run "rw 1m, 2 connections" -m rw -b 1m -s 32m -q 4 -c 2

# run_dout NAME PERF-ARGS...: Data-Out discarded; recovered by the target's
# recovery R2Ts (counted in its log).
run_dout() {
	local name=$1 out=$TEST_TMP/perf.out t0=$SECONDS
	shift
	local mark
	mark=$(grep -c 'Data-Out timeout' "$TEST_TMP/tt.log")
	timeout $((SECS + 60)) "$PERF" --verify -t "$SECS" --erl 1 -H -D "$@" "$TT_URL" \
		>"$out" 2>&1
	local rc=$?
	no_rfc_violation "$name" "$out"
	local injected=$((ARMED - $(left)))
	local lost timeouts dto
	lost=$(grep -cE '^event: (session lost|connection [0-9]+ failed)' "$out")
	timeouts=$(grep -c 'timed out' "$out")
	dto=$(($(grep -c 'Data-Out timeout' "$TEST_TMP/tt.log") - mark))
	DOUT=$((DOUT + injected))
	DTO=$((DTO + dto))
	if ((rc == 0)) && grep -q '^verify: no mismatch' "$out" && ((lost == 0 && timeouts == 0)) &&
		((injected > 0)); then
		pass "$name: verified; $injected Data-Out discarded, $dto Data-Out timeouts at the target, nothing lost ($((SECONDS - t0)) s)"
	else
		fail "$name: rc $rc, $injected discarded, $lost connections lost, $timeouts timeouts"
		grep -vE '^\[|SNACK for' "$out" | tail -12
	fi
}
DOUT=0
DTO=0
# Solicited: 1 MiB writes, R2Ts of MaxBurstLength; a lost PDU inside a
# sequence leaves a gap, a lost last one the timeout.
armed "discard data-out" 37 4
run_dout "write 1m, data-out discarded" -m write -b 1m -s 32m -q 4 -c 2
tt_ctl clear >/dev/null
# Unsolicited (InitialR2T=No): a target with 8 KiB segments and a 32 KiB
# first burst; 32 KiB writes are 8 KiB immediate data and three
# unsolicited Data-Out, the last one final.
TT_LUNS="--lun 0:ram:64M:512" tt_start --erl 1 --max-recv-dsl 8192 --first-burst 32768 -v
armed "discard data-out" 500 4
run_dout "write 32k, unsolicited data-out discarded" -m write -b 32k -s 16m -q 8 -c 1
tt_ctl clear >/dev/null

echo "# $DOUT Data-Out discarded at the target ($DTO Data-Out timeouts there)"
echo "# $TOTAL commands discarded at the target"
if ((${#TIMES[@]})); then
	mapfile -t sorted < <(printf '%s\n' "${TIMES[@]}" | sort -g)
	n=${#sorted[@]}
	echo "# cost of a lost command over $n: median ${sorted[n / 2]} ms," \
		"best ${sorted[0]} ms, worst ${sorted[n - 1]} ms (send to completion)"
fi
finish
