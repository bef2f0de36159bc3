#!/usr/bin/env bash
# MC/S logins against tgt, istgt and LIO with tools/mcs-probe (control
# path, MC/S phase 1): one session with N connections (non-leading logins,
# same ISID and TSIH, new CIDs), counted on the target's side (tgtadm,
# istgtcontrol; LIO by its refusal of the ninth), an INQUIRY on every
# connection in one CmdSN stream, our own MaxConnections bound, one more
# connection forced past it (tgt accepts it: it does not enforce the limit;
# istgt refuses with 0x0208, LIO with 0x0206), removal of one connection
# with Logout reason 1 while the session stays up, a connection added back,
# and a session logout that LIO survives.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/targets.sh"
source "$here/../lib/assert.sh"
targets_init

# The probe: built with the tree once tools/mcs-probe is in the top-level
# list of programs, built here from the layer libraries until then.
probe="$MCSI_BUILD/tools/mcs-probe/mcs-probe"
if [[ ! -x $probe ]]; then
	probe="$TEST_TMP/mcs-probe"
	libs=$(pkg-config --libs libisal libcrypto 2>/dev/null)
	pkg-config --exists liburing 2>/dev/null && libs+=" $(pkg-config --libs liburing)"
	# shellcheck disable=SC2086
	cc -std=c11 -D_GNU_SOURCE -O2 -I"$MCSI_SRC" -I"$MCSI_SRC/include" \
		"$MCSI_SRC/tools/mcs-probe/mcs_probe.c" "$MCSI_BUILD/libmcsi_mcs.a" \
		"$MCSI_BUILD/libmcsi_fastpath.a" "$MCSI_BUILD/libmcsi_proto.a" \
		$libs -lpthread -o "$probe" || { echo "cannot build mcs-probe"; exit 1; }
fi

# run_probe CHECK ARGS...: runs the probe interactively; at each "ready N"
# it calls CHECK N (the target's side), then lets the probe go on. The
# probe's output ends up in $OUT, its exit status in $PROBE_RC.
run_probe() {
	local check=$1 line
	shift
	local log="$TEST_TMP/probe.$RANDOM.out"
	coproc PROBE { "$probe" -i "$@" 2>&1; }
	local pid=$PROBE_PID in=${PROBE[0]} outfd=${PROBE[1]}
	while IFS= read -r -u "$in" line; do
		printf '%s\n' "$line" >>"$log"
		if [[ $line =~ ^ready\ ([0-9]+)$ ]]; then
			"$check" "${BASH_REMATCH[1]}"
			echo go >&"$outfd"
		fi
	done
	wait "$pid"
	PROBE_RC=$?
	OUT=$(cat "$log")
	printf '%s\n' "$OUT" | sed 's/^/    probe: /'
}

# common_checks N: what every run must show for a session of N.
common_checks() {
	local n=$1 last=$(($1 - 1)) cid
	[[ $PROBE_RC -eq 0 ]] && pass "probe succeeded" || fail "probe exit $PROBE_RC"
	expect_match "leading login negotiated MaxConnections $n" "^lead: cid 0 .*MaxConnections $n "
	expect_match "portals from SendTargets" "^portal: .* tpgt [0-9]+$"
	expect_match "session of $n connections" "^session: $n connections, limit $n$"
	for ((cid = 0; cid < n; cid++)); do
		expect_match "I/O on connection $cid" "^io: all: cid $cid inquiry ok$"
	done
	expect_match "one CmdSN stream across connections" "^cmdsn: $n$"
	expect_match "our bound refuses connection $((n + 1))" \
		"^limit: refused locally: the session already has MaxConnections connections$"
	expect_match "connection $last removed (Logout reason 1)" "^remove: cid $last logged out"
	expect_match "session up after the removal" "^io: after-remove: cid 0 inquiry ok$"
	expect_no_match "no I/O on the removed connection" "^io: after-remove: cid $last "
	expect_match "a connection added back at run time" "^readd: cid [0-9]+$"
	expect_match "I/O on the connection added back" "^io: after-readd: cid [0-9]+ inquiry ok$"
	expect_match "clean session logout" "^logout: session closed$"
}

# ---- tgt: MaxConnections 4, not enforced by the target -------------------
IQN=iqn.2026-11.org.mcsi.test:mcs
tgt_start
tgt_target 1 "$IQN"
tgt_lun 1 1 rdwr 16M
tgt_param 1 MaxConnections 4

tgt_conns() {
	tgtadm_ --op show --mode conn --tid 1
}
check_tgt() {
	local want=$1 shown
	shown=$(tgt_conns)
	local conns sessions
	conns=$(grep -c "Connection:" <<<"$shown")
	sessions=$(grep "^Session:" <<<"$shown" | sort -u | wc -l)
	[[ $conns -eq $want && $sessions -eq 1 ]] &&
		pass "tgt: one session with $want connections" ||
		{ fail "tgt: $sessions sessions, $conns connections, want 1 and $want"; echo "$shown"; }
}
run_probe check_tgt -x -n 4 -l 1 "127.0.0.1:$TGT_PORT" "$IQN"
common_checks 4
expect_match "tgt accepts a fifth connection (it does not enforce MaxConnections)" \
	"^extra: cid 4 accepted by the target"
expect_match "the forced fifth connection logged out" "^extra: cid 4 logged out: ok$"
sleep 0.5
[[ $(tgt_conns | grep -c "Connection:") -eq 0 ]] &&
	pass "tgt: no connection left after the session logout" ||
	fail "tgt: connections left after the session logout"

# ---- istgt: MaxConnections 4, enforced with 0x0208 ------------------------
ISTGT_MAXCONN=4 istgt_start mcs 16M
cat >"$TEST_TMP/istgtcontrol.conf" <<EOF
[Global]
  Timeout 30
  AuthMethod Auto
  Host 127.0.0.1
  Port $((ISTGT_PORT + 1))
EOF
check_istgt() {
	local want=$1 n=-1
	# istgt drops a logged-out connection from its list a moment later.
	for _ in $(seq 30); do
		n=$(istgtcontrol -c "$TEST_TMP/istgtcontrol.conf" -t "$ISTGT_IQN" info 2>&1 |
			grep "Login from iqn.2026-11.org.mcsi:mcs-probe" | grep -c "TSIH=1,")
		[[ $n -eq $want ]] && break
		sleep 0.1
	done
	[[ $n -eq $want ]] && pass "istgt: one session (TSIH 1) with $want connections" ||
		fail "istgt: $n connections in TSIH 1, want $want"
}
run_probe check_istgt -x -n 4 "127.0.0.1:$ISTGT_PORT" "$ISTGT_IQN"
common_checks 4
expect_match "istgt refuses a fifth connection with 0x0208" \
	"^extra: cid 4 refused by the target: cannot include the connection in the session \(status 0x0208"

# ---- LIO: erl2 target, MaxConnections 8, enforced with 0x0206 -------------
if [[ ${MCSI_NO_LIO:-} == 1 && ${CI:-} != true ]]; then
	echo "LIO skipped (MCSI_NO_LIO=1)"
else
	lio_start
	# LIO has no view of its sessions from the host: its refusal of the
	# ninth connection is the target's count of eight.
	check_lio() { :; }
	run_probe check_lio -x -n 8 -t 20000 "127.0.0.1:$LIO_PORT" "$LIO_IQN_BASE:erl2"
	common_checks 8
	expect_match "LIO refuses a ninth connection with 0x0206" \
		"^extra: cid 8 refused by the target: too many connections \(status 0x0206"
	lio_check_alive >/dev/null && pass "LIO still healthy" || fail "LIO crashed"
fi
finish
