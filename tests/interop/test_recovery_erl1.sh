#!/usr/bin/env bash
# ERL 1 (docs/design/recovery.md sections 7 and 7.1): a verified mcsi-perf
# load (reads and writes, several sizes, 2 connections (LIO: 1), HeaderDigest and
# DataDigest CRC32C, ErrorRecoveryLevel 1) runs while PDUs are damaged, and
# every fault is recovered within its connection (SNACK, recovery R2T,
# command retry): zero I/O errors, zero mismatches, no connection lost, no
# session reinstatement. Faults:
#   - the project's test target corrupts the header or data digest of the
#     Data-In, SCSI Responses or R2Ts it sends;
#   - a PDU-aware proxy (pduflip.py) flips a bit in the header or data of
#     PDUs in either direction (test target, then LIO's erl2 target);
# Prints the recovery time per fault (median and worst), as the library
# logs it ("recovered in"): from the fault's detection to the completion
# of the command it hit.
# ctest-cost: 90
source "$(dirname "$0")/../lib/interop.sh"
interop_init perf testtarget python3

SECS=${REC_SECS:-3}             # per mcsi-perf run
PERIOD=${REC_PERIOD:-0.6}       # seconds between faults
TIMES=()                        # ms, every recovery logged
TOTAL_FAULTS=0
TOTAL_DETECTED=0

# ---- the PDU-flipping proxy (pduflip_start, pxctl: tests/lib/targets.sh) ----
px_start() { pduflip_start "$1" --hd --dd; }
px_flipped() { pxctl stats | awk '{ print $2 }'; }

# verified NAME KIND URL PERF-ARGS...: one mcsi-perf --verify run at ERL 1
# with digests while "${FAULT[@]}" runs every PERIOD seconds (after 1 s: the
# span is filled first). KIND says how a fault shows on the initiator's
# side: "in" (a digest error it detects), "reject" (the target's Reject of
# our PDU), "target" (only the target sees it). Checks: exit 0, no
# mismatch, no connection lost or session reinstated, at least one fault
# injected and (in, reject) detected.
verified() {
	local name=$1 kind=$2 url=$3
	shift 3
	local out=$TEST_TMP/perf.out
	local before=${INJECTED_BEFORE:-0} t0=$SECONDS
	timeout $((SECS + 60)) "$PERF" --verify -t "$SECS" -s 8m --erl 1 -H -D "$@" "$url" \
		>"$out" 2>&1 &
	local pid=$!
	sleep 0.3
	while ((${#FAULT[@]})) && kill -0 "$pid" 2>/dev/null; do
		"${FAULT[@]}" >/dev/null 2>&1
		sleep "$PERIOD"
	done
	wait "$pid"
	local rc=$?
	no_rfc_violation "$name" "$out"
	local injected det lost
	injected=$("${INJECTED[@]}")
	injected=$((injected - before))
	case $kind in
	in) det=$(grep -cE 'ERL 1: (header digest error|data digest error)' "$out") ;;
	reject) det=$(grep -cE 'target rejected SCSI (Data-Out|Command) .*digest error' "$out") ;;
	*) det=$injected ;;
	esac
	lost=$(grep -cE '^event: (session lost|connection [0-9]+ failed)' "$out")
	mapfile -t t < <(sed -nE 's/.*ERL 1: .* recovered in ([0-9.]+) ms.*/\1/p' "$out")
	TIMES+=("${t[@]}")
	TOTAL_FAULTS=$((TOTAL_FAULTS + injected))
	TOTAL_DETECTED=$((TOTAL_DETECTED + det))
	if ((rc == 0)) && grep -q '^verify: no mismatch' "$out" && ((lost == 0)) &&
		((injected > 0 && det > 0)); then
		pass "$name: verified; $injected faults, $det seen, ${#t[@]} recoveries, nothing lost ($((SECONDS - t0)) s)"
	else
		fail "$name: rc $rc, $injected injected, $det seen, $lost connections lost"
		grep -vE '^\[|SNACK for' "$out" | tail -12
	fi
}

IQN=iqn.2026-11.org.mcsi.test:erl1

# ---- the test target's own faults -----------------------------------------------
TT_IQN=$IQN-tt
TT_LUNS="--lun 0:ram:64M:512" tt_start --erl 1 --max-connections 4
# Six one-shot rules, armed before the run, each firing at its own Nth
# matching PDU (spread over the run); injected = armed - still armed.
ARMED=0
tt_injected() { echo $((ARMED - $(tt_ctl list | grep -o 'kind' | wc -l))); }
INJECTED=(tt_injected)
FAULT=()
for f in "ddigest data-in:64k:1500" "hdigest data-in:1m:1000" "hdigest scsi-rsp:4k:4000" \
	"hdigest r2t:1m:400"; do
	IFS=: read -r rule bs step <<<"$f"
	tt_ctl clear >/dev/null
	ARMED=0
	for k in 1 2 3 4 5 6; do
		# shellcheck disable=SC2086 # a list of words
		tt_ctl corrupt $rule after $((k * step)) >/dev/null && ARMED=$((ARMED + 1))
	done
	INJECTED_BEFORE=0 verified "testtarget: $rule, bs $bs, 2 connections" in "$TT_URL" \
		-m rw -b "$bs" -s 32m -q 16 -c 2
done
tt_ctl clear >/dev/null

# ---- through the proxy: both directions -------------------------------------------
px_start "$TT_PORT"
U="iscsi://127.0.0.1:$PX_PORT/$TT_IQN/0"
INJECTED=(px_flipped)
for f in "in data data-in:64k:in" "in hdr data-in:16k:in" "out data data-out:1m:reject" \
	"out data scsi-cmd:4k:reject" "out hdr data-out nonfinal:1m:target"; do
	IFS=: read -r what bs kind <<<"$f"
	pxctl clear >/dev/null
	# shellcheck disable=SC2206 # a list of words
	FAULT=(pxctl flip $what)
	INJECTED_BEFORE=$(px_flipped) verified "testtarget via proxy: flip $what, bs $bs" \
		"$kind" "$U" -m rw -b "$bs" -s 16m -q 8 -c 2
done
pxctl clear >/dev/null

# ---- LIO's erl2 target through the proxy ------------------------------------------
if [[ ${MCSI_NO_LIO:-} == 1 && ${CI:-} != true ]]; then
	echo "# LIO skipped (MCSI_NO_LIO=1)"
else
	exec 9>/tmp/mcsi-lio.lock
	flock 9
	lio_start
	px_start "$LIO_PORT"
	U="iscsi://127.0.0.1:$PX_PORT/$LIO_IQN_BASE:erl2/0"
	SECS=${REC_LIO_SECS:-5}
	PERIOD=1
	# Software emulation: a few MB/s, so small spans (filled first). One
	# connection: LIO 6.1 crashed once (under ASan timing) in
	# iscsit_logout_post_handler -> iscsit_stop_session when a
	# 2-connection ERL 1 session logged out at the end of a run.
	cases=("in data data-in:64k:in:2m" "in hdr data-in:16k:in:2m")
	# A Data-Out data digest error is opt-in against LIO: LIO 6.1 answers
	# it with iscsit_reject_cmd() on the write itself, which drops a
	# reference on the command that it does not own, and then recovers the
	# same command with a recovery R2T. The command is freed one reference
	# early: mostly harmless, but one CI run in about ten hit a kernel BUG
	# in iscsit_release_cmd (mcsi had just refused a PDU whose StatSN was
	# far out of its window, most likely read from the freed command).
	# docs/design/recovery.md section 9.
	# The test target's row above covers mcsi's side of this recovery.
	[[ ${MCSI_LIO_DATAOUT_DIGEST:-} == 1 ]] && cases+=("out data data-out:256k:reject:4m")
	for f in "${cases[@]}"; do
		IFS=: read -r what bs kind span <<<"$f"
		pxctl clear >/dev/null
		# shellcheck disable=SC2206
		FAULT=(pxctl flip $what)
		INJECTED_BEFORE=$(px_flipped) verified "LIO via proxy: flip $what, bs $bs" \
			"$kind" "$U" -m rw -b "$bs" -s "$span" -q 8 -c 1
	done
	lio_check_alive >/dev/null && pass "LIO still healthy" || fail "LIO crashed"
	flock -u 9
fi

# ---- recovery times ---------------------------------------------------------------
echo "# $TOTAL_FAULTS faults injected, $TOTAL_DETECTED seen by the initiator"
if ((${#TIMES[@]})); then
	mapfile -t sorted < <(printf '%s\n' "${TIMES[@]}" | sort -g)
	n=${#sorted[@]}
	echo "# recovery time over $n recoveries: median ${sorted[n / 2]} ms," \
		"best ${sorted[0]} ms, worst ${sorted[n - 1]} ms"
fi
((${#TIMES[@]} >= 10)) && pass "${#TIMES[@]} recoveries in all, each verified" ||
	fail "only ${#TIMES[@]} recoveries in all"
finish
