# shellcheck shell=bash
# Helpers for the misbehaving-target catalogue (tests/interop/test_hostile_*.sh).
# Source after tests/lib/targets.sh and tests/lib/assert.sh, and call
# targets_init first.
#
#   evil_start [ARGS]            tests/hostile/evil_target.py → EVIL_PORT, EVIL_PID
#   evil NAME                    the target of scenario NAME (NAME.on-HH: on
#                                SCSI opcode 0xHH) → EVIL_TARGET (iqn,portal)
#                                and EVIL_URL (iscsi://.../0)
#   evil_stop                    stop it (by PID)
#   (tt_start and tt_ctl, the project's test target: tests/lib/targets.sh)
#   run LIMIT CMD...             CMD under `timeout LIMIT`: → OUT, RC, SECS
#   judge NAME RC PATTERN [closed|recovered|healthy]...
#                                one verdict line for the case just run
#
# judge's checks, all of which must hold for "ok": no hang (timeout's 124),
# no death by a signal (RC > 128, which is also how ASan/UBSan abort
# under check.sh's options), no sanitizer report in the output, the exit
# status RC, PATTERN (extended regex) in the output, the peer's address
# 127.0.0.1:PORT in the output, and for:
#   closed     mcsi had already closed the connection when the client
#              closed the session ("close: Transport endpoint is not
#              connected"), i.e. it did not carry on over a broken stream;
#   recovered  the commands after the fault succeeded and the session
#              logged out cleanly ("close: ok");
#   nopeer     no message is expected (a tolerated deviation), so none
#              has to name the peer;
#   healthy    the second session in the same process, against the
#              project's test target, verified its data throughout
#              ("healthy: verified N errors 0 mismatches 0", N > 0).

HOSTILE_DIR=$MCSI_SRC/tests/hostile
EVIL_IQN=iqn.2026-11.org.mcsi.test:evil
TT_IQN=iqn.2026-11.org.mcsi.test:healthy
CLIENT=$MCSI_BUILD/tests/hostile/mcsi-hostile-client
ISCSICTL=$MCSI_BUILD/tools/iscsictl/iscsictl
TTBIN=$MCSI_BUILD/tools/testtarget/mcsi-testtarget

hostile_need() {
	local p
	for p in "$CLIENT" "$ISCSICTL" "$TTBIN"; do
		[[ -x $p ]] || { echo "missing $p (build first)"; exit 1; }
	done
	command -v python3 >/dev/null || need_target "python3 is not installed"
}

evil_start() {
	local pf="$TEST_TMP/evil.port"
	rm -f "$pf"
	PYTHONDONTWRITEBYTECODE=1 python3 "$HOSTILE_DIR/evil_target.py" --port-file "$pf" \
		--log "$TEST_TMP/evil.log" "$@" >>"$TEST_TMP/evil.log" 2>&1 &
	EVIL_PID=$!
	_target_pids+=("$EVIL_PID")
	for _ in $(seq 200); do
		[[ -s $pf ]] && break
		kill -0 "$EVIL_PID" 2>/dev/null || break
		sleep 0.05
	done
	[[ -s $pf ]] || { echo "evil_target did not start"; tail -5 "$TEST_TMP/evil.log"; exit 1; }
	EVIL_PORT=$(<"$pf")
}

evil() {
	EVIL_NAME="$EVIL_IQN.$1"
	EVIL_URL="iscsi://127.0.0.1:$EVIL_PORT/$EVIL_NAME/0"
	EVIL_TARGET="$EVIL_NAME,127.0.0.1:$EVIL_PORT"
}

evil_stop() {
	[[ -n ${EVIL_PID:-} ]] || return 0
	kill "$EVIL_PID" 2>/dev/null
	wait "$EVIL_PID" 2>/dev/null
	EVIL_PID=
}

run() {
	local limit=$1
	shift
	local t0=$SECONDS
	OUT=$(timeout -k 5 "$limit" "$@" 2>&1)
	RC=$?
	SECS=$((SECONDS - t0))
}

judge() {
	local name=$1 want=$2 pattern=$3 peer=${PEER:-127.0.0.1:$EVIL_PORT}
	shift 3
	local why=
	if ((RC == 124 || RC == 137)); then
		why="hung: killed by timeout after ${SECS}s"
	elif ((RC > 128)); then
		why="died of signal $((RC - 128))"
	elif grep -qE 'Sanitizer|runtime error:' <<<"$OUT"; then
		why="sanitizer report"
	elif ((RC != want)); then
		why="exit status $RC, expected $want"
	elif ! grep -qiE -- "$pattern" <<<"$OUT"; then
		why="no '$pattern' in the output"
	elif [[ " $* " != *" nopeer "* ]] && ! grep -qF -- "$peer" <<<"$OUT"; then
		why="the message does not name the peer $peer"
	fi
	local k
	for k in "$@"; do
		[[ -n $why ]] && break
		case $k in
		closed)
			grep -q '^close: Transport endpoint is not connected' <<<"$OUT" ||
				why="the connection was not closed by mcsi" ;;
		recovered)
			grep -q '^close: ok' <<<"$OUT" && ! grep -q '^io [0-9]*: .*error' <<<"$OUT" ||
				why="the session did not carry on" ;;
		healthy)
			grep -qE '^healthy: verified [1-9][0-9]* errors 0 mismatches 0' <<<"$OUT" ||
				why="the healthy session was disturbed: $(grep '^healthy' <<<"$OUT")" ;;
		esac
	done
	if [[ -z $why ]]; then
		pass "$name (${SECS}s)"
	else
		fail "$name: $why"
		printf '%s\n' "$OUT" | sed 's/^/    /' | tail -15
	fi
}
