#!/usr/bin/env bash
# MC/S on the data path (docs/design/mcs.md): one session of four
# connections through the public API (mcsi-perf --connections), against
# tgt (MaxConnections 4, not enforced by tgt: our bound is), istgt
# (MaxConnections 4, enforced) and LIO (MaxConnections 8, enforced). Each
# run verifies every byte it reads (--verify), must carry traffic on every
# connection (per-connection counters from mcsi_get_conn_stats()), removes
# one connection with Logout reason 1 while I/O runs, asks for one more
# connection than MaxConnections allows and goes on without it, and ends
# with a clean session logout. The target's own view is checked where it
# has one (tgtadm, istgtcontrol; LIO: it stays healthy). Also: a LUN
# RESET under reads over four connections (tgt, istgt: every command comes
# back once, nothing hangs), and through mcsid a login naming no portal
# over two configured portals (127.0.0.1 and [::1]) opening one
# connection on each.
# ctest-cost: 100
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/targets.sh"
source "$here/../lib/assert.sh"
targets_init

perf="$MCSI_BUILD/tools/perf/mcsi-perf"
[[ -x $perf ]] || { echo "no mcsi-perf in $MCSI_BUILD"; exit 1; }

# run_perf CHECK SECS ARGS...: mcsi-perf in the background; CHECK runs
# after SECS seconds (the target's view while all connections are up);
# the output ends up in $OUT and the exit status in $RC.
run_perf() {
	local check=$1 at=$2
	shift 2
	"$perf" "$@" >"$TEST_TMP/perf.out" 2>&1 &
	local pid=$!
	sleep "$at"
	$check
	wait "$pid"
	RC=$?
	OUT=$(cat "$TEST_TMP/perf.out")
}

# common N [keep]: what every run must show with N connections at the
# start; with "keep", no connection was removed.
common() {
	local n=$1 last=$(($1 - 1)) keep=${2:-}
	[[ $keep == keep ]] && last=$n
	[[ $RC -eq 0 ]] && pass "mcsi-perf exits 0" ||
		{ fail "mcsi-perf exit $RC"; tail -20 <<<"$OUT" | sed 's/^/    /'; }
	for ((cid = 1; cid < n; cid++)); do
		expect_match "connection $cid joined the session" "^event: connection $cid added$"
	done
	expect_match "verify: every byte read back as written" "^verify: no mismatch$"
	expect_no_match "no I/O error" "I/O errors"
	expect_no_match "no connection failed" "^event: connection [0-9]+ failed"
	for ((cid = 0; cid < last; cid++)); do
		expect_match "traffic on connection $cid (commands, bytes in and out)" \
			"^conn cid $cid queue [0-9]+ up( lead)? commands [1-9][0-9]* bytes_in [1-9][0-9]* bytes_out [1-9][0-9]* "
	done
	if [[ $keep != keep ]]; then
		expect_match "connection $last removed during I/O" "^remove: connection $last: ok$"
		expect_match "the removed connection logged out alone" \
			"^event: connection $last removed$"
		expect_no_match "the removed connection is gone from the session" "^conn cid $last "
	fi
	expect_match "one connection beyond MaxConnections is refused, the session goes on" \
		"^extra: refused \\((Too many users|Device or resource busy)\\)$"
}

ARGS=(-Q --verify -m rw -b 16k -q 32 -s 16m --add-extra)

# ---- tgt: MaxConnections 4 ---------------------------------------------------
IQN=iqn.2026-11.org.mcsi.test:mcsio
# Two portals (127.0.0.1 and [::1], one portal group) when the host has
# IPv6 loopback: a login that names no portal then uses both.
HAVE_V6=0
ip -6 addr show lo 2>/dev/null | grep -q "::1/128" && HAVE_V6=1
if ((HAVE_V6)); then tgt_start ipv6; else tgt_start; fi
tgt_target 1 "$IQN"
tgt_lun 1 1 rdwr 64M
tgt_param 1 MaxConnections 4
tgt_param 1 MaxRecvDataSegmentLength 262144
tgt_param 1 MaxBurstLength 1048576
tgt_param 1 FirstBurstLength 262144
tgt_param 1 InitialR2T No
tgt_conns() { tgtadm_ --op show --mode conn --tid 1; }
check_tgt() {
	local shown conns sessions
	shown=$(tgt_conns)
	conns=$(grep -c "Connection:" <<<"$shown")
	sessions=$(grep "^Session:" <<<"$shown" | sort -u | wc -l)
	[[ $conns -eq 4 && $sessions -eq 1 ]] &&
		pass "tgt: one session with 4 connections" ||
		{ fail "tgt: $sessions sessions, $conns connections, want 1 and 4"; echo "$shown"; }
}
run_perf check_tgt 2 "${ARGS[@]}" -c 4 --queues 2 -t 5 --remove-at 3 \
	"iscsi://127.0.0.1:$TGT_PORT/$IQN/1"
common 4
expect_match "tgt: our own bound refuses the fifth (tgt would accept it)" \
	"MaxConnections connections"
sleep 0.3
[[ $(tgt_conns | grep -c "Connection:") -eq 0 ]] &&
	pass "tgt: no connection left after the session logout" ||
	fail "tgt: connections left after the session logout"

# The other policies carry the same traffic.
for pol in round-robin failover-only; do
	expect_ok "tgt: $pol, 4 connections, verify" \
		"$perf" -Q --verify -m rw -b 4k -q 16 -s 8m -t 2 -c 4 --sched "$pol" \
		"iscsi://127.0.0.1:$TGT_PORT/$IQN/1"
	expect_match "tgt: $pol: no mismatch" "^verify: no mismatch$"
done
expect_match "failover-only: the standby connections carry nothing" \
	"^conn cid 3 queue [0-9]+ up commands 0 "

# LUN RESET under load with 4 connections (mcs/reactor_tmf.c): the
# commands it ends on every connection come back once (the run ends:
# mcsi-perf waits for every command), nothing fails, nothing hangs.
expect_ok "tgt: LUN RESET during reads over 4 connections" \
	timeout 60 "$perf" -Q -m randread -b 16k -q 32 -s 16m -t 4 -c 4 --queues 2 \
	--reset-at 2 "iscsi://127.0.0.1:$TGT_PORT/$IQN/1"
expect_match "tgt: the LUN RESET succeeded" "^reset: LUN RESET: ok$"
expect_match "tgt: every command accounted for" "^reset: [0-9]+ commands ended by the reset"
expect_no_match "tgt: no connection failed around the reset" "^event: connection [0-9]+ failed"

# ---- tgt through mcsid: max-connections 4 in the configuration -------------------
# iscsictl login with no portal uses the configured one; the session
# process opens four connections, and iscsictl list sessions shows them.
bin="$MCSI_BUILD/supervisor/daemon"
ctl="$MCSI_BUILD/tools/iscsictl/iscsictl"
if [[ -x $bin/mcsid && -x $bin/mcsi-sessiond && -x $ctl ]]; then
	RUN="$TEST_TMP/run"
	mkdir -m 0700 "$RUN"
	export MCSI_CONFIG="$TEST_TMP/mcsi.conf" MCSI_SECRETS="$TEST_TMP/secrets"
	export MCSI_RUN_DIR="$RUN"
	c() { "$ctl" --timeout 10000 "$@"; }
	c add target "$IQN,127.0.0.1:$TGT_PORT" >/dev/null
	c modify target-config "$IQN" -MaxConnections 4 >/dev/null
	"$bin/mcsid" --run-dir "$RUN" >"$TEST_TMP/mcsid.log" 2>&1 &
	MCSID_PID=$!
	_target_pids+=("$MCSID_PID")
	for _ in $(seq 100); do
		[[ -S $RUN/mcsid.sock ]] && break
		sleep 0.1
	done
	expect_ok "iscsictl login (no portal) through mcsid" c login "$IQN"
	sleep 1.5                        # the session process refreshes every second
	expect_ok "iscsictl --json list sessions" c --json list sessions
	n=$(grep -o '"cid":[0-9]*' <<<"$OUT" | sort -u | wc -l)
	[[ $n -eq 4 ]] && pass "list sessions shows 4 connections" ||
		{ fail "list sessions shows $n connections, want 4"; echo "$OUT" | head -5; }
	expect_match "each with its state and portal" \
		"\"state\":\"up\",\"lead\":false,\"portal\":\"127.0.0.1:$TGT_PORT\""
	expect_ok "iscsictl list sessions" c list sessions
	expect_match "the text listing has the connection rows" "cid +3"
	check_tgt
	expect_ok "iscsictl logout" c logout "$IQN"
	# Every portal of the target: with max-connections 1 and two
	# configured portals, a login that names no portal opens one
	# connection on each (the second through a non-leading login).
	if ((HAVE_V6)); then
		sleep 0.3
		c modify target-config "$IQN" -MaxConnections 1 >/dev/null
		expect_ok "add the target's second portal ([::1])" \
			c add target "$IQN,[::1]:$TGT_PORT"
		expect_ok "iscsictl login (no portal, 2 portals, max-connections 1)" c login "$IQN"
		sleep 1.5
		expect_ok "iscsictl --json list sessions" c --json list sessions
		n=$(grep -o '"cid":[0-9]*' <<<"$OUT" | sort -u | wc -l)
		[[ $n -eq 2 ]] && pass "one connection per configured portal (2)" ||
			{ fail "list sessions shows $n connections, want 2"; echo "$OUT" | head -5; }
		expect_match "a connection on 127.0.0.1" "\"portal\":\"127.0.0.1:$TGT_PORT\""
		expect_match "a connection on [::1]" "\"portal\":\"\\[::1\\]:$TGT_PORT\""
		[[ $(tgt_conns | grep -c "Connection:") -eq 2 ]] &&
			pass "tgt: one session with 2 connections" ||
			{ fail "tgt: want 2 connections"; tgt_conns; }
		expect_ok "iscsictl logout (two portals)" c logout "$IQN"
	else
		echo "no IPv6 loopback: the two-portal login is skipped"
	fi
	kill "$MCSID_PID" 2>/dev/null
	wait "$MCSID_PID" 2>/dev/null
	sleep 0.3
	[[ $(tgt_conns | grep -c "Connection:") -eq 0 ]] &&
		pass "tgt: no connection left after the logout through mcsid" ||
		fail "tgt: connections left after the logout through mcsid"
else
	echo "mcsid not built: its part skipped"
fi

# ---- istgt: MaxConnections 4 ---------------------------------------------------
ISTGT_MAXCONN=4 istgt_start mcsio 64M
cat >"$TEST_TMP/istgtcontrol.conf" <<EOF
[Global]
  Timeout 30
  AuthMethod Auto
  Host 127.0.0.1
  Port $((ISTGT_PORT + 1))
EOF
check_istgt() {
	local n
	n=$(istgtcontrol -c "$TEST_TMP/istgtcontrol.conf" -t "$ISTGT_IQN" info 2>&1 |
		grep -c "TSIH=1,")
	[[ $n -eq 4 ]] && pass "istgt: one session (TSIH 1) with 4 connections" ||
		fail "istgt: $n connections in TSIH 1, want 4"
}
# Removal during I/O: istgt 0.4 clears every queued command of the
# session when one connection's logout ends, so the session pauses and
# drains around it (docs/design/mcs.md section 8); nothing may be lost.
run_perf check_istgt 2 "${ARGS[@]}" -c 4 --queues 2 -t 5 --remove-at 3 \
	"iscsi://127.0.0.1:$ISTGT_PORT/$ISTGT_IQN/0"
before=$_failed
common 4
expect_no_match "istgt: no command timed out or was aborted" "timed out|abort"
# What istgt said about it, for a failure seen here only (its log goes
# with the test's directory).
((_failed > before)) &&
	grep -E "ERROR|WARN|Logout|exiting" "$TEST_TMP/istgt.$ISTGT_PORT/istgt.log" |
	tail -20 | sed 's/^/    istgt: /'
# istgt answers a LUN RESET by dropping the session's other connections
# (istgt_iscsi_drop_all_conns): the session is lost and reinstated, and
# the reads go on; nothing may hang or fail.
expect_ok "istgt: LUN RESET during reads over 4 connections (ends, exit 0)" \
	timeout 60 "$perf" -Q -m randread -b 16k -q 32 -s 16m -t 5 -c 4 --queues 2 \
	--reset-at 2 "iscsi://127.0.0.1:$ISTGT_PORT/$ISTGT_IQN/0"
expect_match "istgt: the run reports the reset" "^reset: [0-9]+ commands ended by the reset"

# ---- LIO: erl2 target, MaxConnections 8 -----------------------------------------
if [[ ${MCSI_NO_LIO:-} == 1 && ${CI:-} != true ]]; then
	echo "LIO skipped (MCSI_NO_LIO=1)"
	finish
	exit
fi
# One user of the shared guest at a time.
exec 9>/tmp/mcsi-lio.lock
flock 9
lio_start
check_lio() { :; }
# Software emulation: slow; a smaller span and fewer commands.
run_perf check_lio 2 -Q --verify -m rw -b 16k -q 16 -s 4m --add-extra -c 4 -t 6 \
	--remove-at 3 "iscsi://127.0.0.1:$LIO_PORT/$LIO_IQN_BASE:erl2/0"
common 4
# Eight, the most LIO negotiates; the ninth is refused by our bound.
expect_ok "LIO: 8 connections, verify" \
	"$perf" -Q --verify -m rw -b 4k -q 16 -s 4m -t 3 -c 8 --add-extra \
	"iscsi://127.0.0.1:$LIO_PORT/$LIO_IQN_BASE:erl2/0"
expect_match "LIO: the eighth connection joined" "^event: connection 7 added$"
expect_match "LIO: the ninth is refused, the session goes on" "^extra: refused"
expect_match "LIO: no mismatch" "^verify: no mismatch$"
sleep 0.5
lio_check_alive >/dev/null && pass "LIO still healthy after the session logouts" ||
	fail "LIO crashed"
flock -u 9
finish
