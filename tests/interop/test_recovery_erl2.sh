#!/usr/bin/env bash
# ERL 2 connection recovery (docs/design/recovery.md section 8): a verified
# mcsi-perf load (reads and writes, several sizes) over 2-3 connections keeps
# running, with zero I/O errors and zero mismatches, while a TCP proxy
# (tcpcut.py cutone) resets ONE connection of the session every few seconds.
# The others survive; the lost connection is cleaned up either by logging its
# CID in again on a new TCP connection (reinstatement, the default) or by a
# Logout with reason 2 from a survivor (--erl2-cleanup logout), and its
# commands are reassigned (TASK REASSIGN), retried or re-issued. Each run
# asserts that the recovery was a connection recovery (same TSIH at the
# target, TASK REASSIGN seen, no session reinstatement). Then the same cuts
# against LIO's erl2 target at ERL 1, the level LIO survives (its ERL 2
# crashes the guest kernel: opt-in, see the LIO part). Prints the recovery
# time of every fault (median and worst), as the library measures it
# (MCSI_EV_CONN_RECOVERED: from the loss to the commands moved on;
# MCSI_EV_SESSION_REINSTATED for LIO; DefaultTime2Wait, 2 s, is the floor).
# ctest-cost: 170
source "$(dirname "$0")/../lib/interop.sh"
interop_init perf python3

PERIOD=${REC_PERIOD:-3}         # seconds between faults (> Time2Wait + login)
SECS=${REC_SECS:-10}            # per mcsi-perf run
TIMES=()                        # ms, every connection recovery seen
REASSIGNED=0
FAULTS=0

# cut_run URL PERF-ARGS...: one mcsi-perf --verify run of SECS seconds, one
# connection cut every PERIOD seconds. Sets OUT (its output) and RC.
cut_run() {
	local url=$1
	shift
	OUT=$TEST_TMP/perf.$((++_run)).out
	timeout $((SECS + 60)) "$PERF" --verify -Q -t "$SECS" -s 16m "$@" "$url" >"$OUT" 2>&1 &
	local pid=$!
	cut_every "$PERIOD" "$SECS" 1 cutone >>"$TEST_TMP/faults.log" 2>&1 &
	local fpid=$!
	wait "$pid"
	RC=$?
	wait "$fpid" 2>/dev/null
	no_rfc_violation "run $_run ($*)" "$OUT"
}

# verified NAME URL PERF-ARGS...: cut_run; no I/O error, no mismatch, every
# cut connection recovered as a connection (no session loss).
verified() {
	local name=$1
	shift
	cut_run "$@"
	local rc=$RC failed rec lost re
	failed=$(grep -c '^event: connection [0-9]* failed' "$OUT")
	rec=$(grep -c '^event: connection [0-9]* recovered' "$OUT")
	lost=$(grep -c '^event: session lost' "$OUT")
	mapfile -t t < <(awk '/^event: connection [0-9]+ recovered after/ { print $6 }' "$OUT")
	re=$(awk '/^event: connection [0-9]+ recovered/ { n += $10 } END { print n + 0 }' "$OUT")
	TIMES+=("${t[@]}")
	REASSIGNED=$((REASSIGNED + re))
	FAULTS=$((FAULTS + failed))
	# A cut that lands after the run's last command (while the session
	# logs out) is not recovered: allow one.
	if ((rc == 0)) && grep -q '^verify: no mismatch' "$OUT" && ((rec >= 1 && lost == 0 &&
	    rec >= failed - 1)); then
		pass "$name: verified, $failed connections lost, $rec recovered" \
			"(${t[*]} ms), $re commands reassigned"
	else
		fail "$name: rc $rc, $failed connections lost, $rec recovered, $lost session losses"
		grep -v '^\[' "$OUT" | tail -15
		tail -4 "$TEST_TMP/faults.log"
	fi
}

IQN=iqn.2026-11.org.mcsi.test:erl2
_run=0

# ---- the project's test target, ERL 2 -------------------------------------------
if [[ -x $MCSI_BUILD/tools/testtarget/mcsi-testtarget ]]; then
	TT_IQN=$IQN TT_LUNS="--lun 0:ram:64M:512" tt_start --erl 2 --max-connections 4 -v
	proxy_start "$TT_PORT"
	# The test target declares no TargetPortalGroupTag, so every connection
	# goes through the proxy, and cutone cuts one of them.
	U="iscsi://127.0.0.1:$CUT_PORT/$IQN/0"
	mark=$(wc -l <"$TEST_TMP/tt.log")
	verified "testtarget: reinstatement, 2 connections, rw 4k" "$U" -m rw -b 4k -q 16 -c 2
	verified "testtarget: reinstatement, 3 connections, rw 64k" "$U" -m rw -b 64k -q 16 -c 3
	verified "testtarget: reinstatement, 2 connections, write 256k" "$U" \
		-m randwrite -b 256k -q 8 -c 2
	verified "testtarget: logout reason 2, 2 connections on one queue, rw 16k" "$U" \
		-m rw -b 16k -q 16 -c 2 --queues 1 --erl2-cleanup logout
	grep -q '^event: connection [0-9]* recovered after [0-9]* ms by logout' "$OUT" &&
		grep -q '^event: connection [0-9]* added' "$OUT" &&
		pass "logout: the CID was logged out by a survivor and a connection added in its place" ||
		fail "logout: no recovery by logout seen"
	verified "testtarget: logout reason 2, 3 connections, read 128k" "$U" \
		-m randread -b 128k -q 16 -c 3 --queues 1 --erl2-cleanup logout
	verified "testtarget: logout reason 1 (no reassignment), 2 connections, rw 64k" "$U" \
		-m rw -b 64k -q 16 -c 2 --queues 1 --erl2-cleanup close
	log=$(tail -n +"$((mark + 1))" "$TEST_TMP/tt.log")
	n=$(grep -c 'TMF 8 ref .*: function complete' <<<"$log")
	((n > 0)) && pass "the test target saw $n TASK REASSIGNs done" ||
		fail "no TASK REASSIGN reached the test target"
	grep -q 'logout reason 2 cid' <<<"$log" && pass "the test target saw Logout reason 2" ||
		fail "no Logout reason 2 reached the test target"
	# Same TSIH: every login of a run joined the session it started.
	tsihs=$(grep -o 'TSIH [0-9]*' <<<"$log" | sort -u | wc -l)
	((tsihs == _run)) && pass "one TSIH per run ($_run runs): connection recovery, not" \
		"session reinstatement" || fail "$tsihs TSIHs over $_run runs"
	((REASSIGNED > 0)) && pass "$REASSIGNED commands reassigned in all" ||
		fail "no command was reassigned"
	# The only connection: reinstating its CID is session continuation,
	# which the test target accepts within DefaultTime2Retain (retain.c;
	# test_recovery_erl2_cont.sh has more of it).
	out=$TEST_TMP/single.out
	( sleep 3; cutctl cutone >/dev/null ) &
	cpid=$!
	timeout 60 "$PERF" --verify -Q -t 8 -s 16m -m rw -b 16k -q 16 "$U" >"$out" 2>&1
	rc=$?
	wait "$cpid"
	if ((rc == 0)) && grep -q '^verify: no mismatch' "$out" &&
	    grep -q 'session continued after' "$out" &&
	    ! grep -q '^event: session reinstated' "$out"; then
		pass "one connection: session continued (same TSIH), verified"
	else
		fail "one connection: rc $rc"
		grep -v '^\[' "$out" | tail -8
	fi
else
	echo "# no mcsi-testtarget: test target cases skipped"
fi

# ---- LIO, target erl2, through the proxy ----------------------------------------
# LIO cannot do ERL 2 connection recovery under I/O: every kernel Debian 12
# offers (6.1.0-56, 6.12.117) crashes once a connection died with commands
# it had acknowledged (docs/design/recovery.md section 9: the dead
# connection's command counter is freed while those commands wait in
# connection recovery; their later release, whatever the initiator does,
# is a use-after-free). What LIO survives is ErrorRecoveryLevel 1: a dead
# connection ends the session there, and mcsi reinstates it. So by default
# the same fault (one connection cut every PERIOD s under a verified load,
# 2 connections, reads and writes) runs against LIO at ERL 1, which is the
# documented answer for LIO users. The ERL 2 runs are opt-in
# (MCSI_LIO_ERL2=1; they fail until LIO is fixed, and stop the crashed
# guest); MCSI_LIO_KERNEL=linux-image-6.12-amd64 runs them on a guest with
# that Debian kernel (tests/lib/lio-kernel.sh, its own LIO_DIR, same port).
STIMES=()                       # ms, every LIO session reinstatement seen

# lio_slirp_abort: the guest is gone because qemu itself aborted in its
# user-mode network (libslirp 4.7.0 asserts in soread() when a cut resets
# the host side while its buffer towards the guest is full: a host emulator
# defect, neither LIO's nor ours; seen once in ~20 LIO runs, under ASan).
lio_slirp_abort() {
	! "$MCSI_SHARED/tools/lio/lio.sh" status >/dev/null 2>&1 &&
		grep -q 'soread: Assertion' "$LIO_DIR/qemu.log" 2>/dev/null
}

# lio_erl1 NAME URL PERF-ARGS...: cut_run with the library's default
# options, which offer LIO ERL 1 (mcs/quirks.h: LIO crashes on ERL 2
# connection recovery): every cut ends the session at LIO; each is
# reinstated (no I/O error, no mismatch). Had ERL 2 been negotiated, a cut
# would be a connection recovery, not a session loss. Run once more on a
# fresh guest if qemu aborted (lio_slirp_abort).
lio_erl1() {
	local name=$1 try mark rc cuts lost re failed
	shift
	for try in 1 2; do
		mark=$( (wc -l <"$TEST_TMP/faults.log") 2>/dev/null || echo 0)
		cut_run "$@"
		rc=$RC
		cuts=$(tail -n +$((mark + 1)) "$TEST_TMP/faults.log" | grep -c 'cutone: ok 1')
		lost=$(grep -c '^event: session lost' "$OUT")
		failed=$(grep -c '^event: session failed' "$OUT")
		mapfile -t t < <(awk '/^event: session reinstated after/ { print $5 }' "$OUT")
		re=${#t[@]}
		# As in verified: a cut after the run's last command is not recovered.
		if ((rc == 0)) && grep -q '^verify: no mismatch' "$OUT" && ((re >= 1 &&
		    failed == 0 && re >= lost - 1)); then
			STIMES+=("${t[@]}")
			pass "$name: verified, $lost sessions lost, $re reinstated (${t[*]} ms)"
			break
		fi
		if ((try == 1)) && lio_slirp_abort; then
			echo "# $name: qemu aborted (libslirp soread assertion), not LIO:" \
				"fresh guest, run again"
			lio_start 9>&-
			continue
		fi
		fail "$name: rc $rc, $lost sessions lost, $re reinstated, $failed given up"
		grep -v '^\[' "$OUT" | tail -15
		tail -4 "$TEST_TMP/faults.log"
		break
	done
	((cuts > 0)) || fail "$name: no connection was cut"
}

# lio_part: the LIO runs, under the LIO lock.
lio_part() {
	exec 9>/tmp/mcsi-lio.lock
	flock 9
	if [[ -n ${MCSI_LIO_KERNEL:-} && ${MCSI_LIO_ERL2:-} == 1 ]]; then
		export LIO_DIR=/tmp/mcsi-lio-${MCSI_LIO_KERNEL#linux-image-}
		kl=$here/../lib/lio-kernel.sh
		if ! "$MCSI_SHARED/tools/lio/lio.sh" status >/dev/null 2>&1; then
			{ "$kl" "$MCSI_LIO_KERNEL" build && "$kl" "$MCSI_LIO_KERNEL" start 9>&-; } \
				>"$TEST_TMP/lio-kernel.log" 2>&1 ||
				need_target "LIO with $MCSI_LIO_KERNEL: $(tail -3 "$TEST_TMP/lio-kernel.log")"
			[[ ${LIO_KEEP:-} == 1 ]] ||
				_target_cleanups+=("LIO_DIR=$LIO_DIR $MCSI_SHARED/tools/lio/lio.sh stop")
		fi
	fi
	lio_start 9>&-                 # qemu must not inherit the lock
	proxy_start "$LIO_PORT"
	# LIO's discovery names its own portal: the leading connection goes
	# through the proxy, the others straight to LIO, so cutone cuts the
	# leading one; a reinstated session or CID comes back through the proxy.
	U="iscsi://127.0.0.1:$CUT_PORT/$LIO_IQN_BASE:erl2/0"
	lsecs=$SECS
	SECS=$((lsecs + 2))
	lio_erl1 "LIO, default options (ERL 1 by quirk): session reinstatement, rw 16k" "$U" -m rw -b 16k -q 8 -s 4m
	lio_erl1 "LIO, default options (ERL 1 by quirk): session reinstatement, write 64k" "$U" -m randwrite -b 64k -q 8 -s 4m
	if lio_check_alive >/dev/null; then
		pass "LIO healthy after the ERL 1 runs"
	else
		fail "LIO crashed during the ERL 1 runs: $(lio_check_alive | head -1)"
	fi
	if [[ ${MCSI_LIO_ERL2:-} != 1 ]]; then
		echo "# LIO ERL 2 skipped: it crashes the guest kernel (MCSI_LIO_ERL2=1 runs it)"
	else
		before=$REASSIGNED
		# A short replacement timeout: once the guest crashed, nothing comes back.
		verified "LIO ERL 2: reinstatement, 2 connections, rw 16k" "$U" \
			-m rw -b 16k -q 8 -s 4m -c 2 --replacement-timeout 5000 --no-quirks
		verified "LIO ERL 2: reinstatement, 2 connections, write 64k" "$U" \
			-m randwrite -b 64k -q 8 -s 4m -c 2 --replacement-timeout 5000 --no-quirks
		((REASSIGNED > before)) && pass "LIO: $((REASSIGNED - before)) commands reassigned" ||
			fail "LIO: no command was reassigned"
		sleep 0.5
		if lio_check_alive >/dev/null; then
			pass "LIO still healthy after ERL 2"
		else
			fail "LIO crashed after the ERL 2 recoveries (section 9); stopping it"
			"$MCSI_SHARED/tools/lio/lio.sh" stop >/dev/null 2>&1
		fi
	fi
	SECS=$lsecs
	flock -u 9
}

if [[ ${MCSI_NO_LIO:-} == 1 && ${CI:-} != true ]]; then
	echo "# LIO skipped (MCSI_NO_LIO=1)"
else
	lio_part
fi

# ---- recovery times ------------------------------------------------------------
if ((${#STIMES[@]})); then
	mapfile -t sorted < <(printf '%s\n' "${STIMES[@]}" | sort -n)
	n=${#sorted[@]}
	echo "# LIO ERL 1 session reinstatement time over $n reinstatements:" \
		"median ${sorted[n / 2]} ms, best ${sorted[0]} ms, worst ${sorted[n - 1]} ms"
fi
if ((${#TIMES[@]})); then
	mapfile -t sorted < <(printf '%s\n' "${TIMES[@]}" | sort -n)
	n=${#sorted[@]}
	echo "# connection recovery time over $n recoveries ($FAULTS connections lost):" \
		"median ${sorted[n / 2]} ms, best ${sorted[0]} ms, worst ${sorted[n - 1]} ms"
fi
finish
