# shellcheck shell=bash
# mcsid for interop tests: a private run directory, configuration and
# secrets under TEST_TMP; mcsid and the session processes the test saw are
# stopped by PID at exit. Source after targets.sh and call mcsid_env after
# targets_init.
#
#   mcsid_env                 checks the binaries; RUN, LOG, MCSI_CONFIG,
#                             MCSI_SECRETS, MCSI_RUN_DIR; installs the cleanup
#   c ARGS...                 iscsictl (5 s timeout)
#   r SOCKET JSON             one request straight to a socket, mcsid's or a
#                             session process's (MCSID_REQ_TIMEOUT ms, 20 s)
#   start_mcsid [ARGS]        mcsid --run-dir $RUN ARGS → MCSID_PID; returns 0
#                             once it answers, 1 (log tail printed) otherwise
#   SEEN_PIDS+=(PID)          a session process to stop at exit
#   session_field TARGET FIELD   a field of TARGET's record in list-sessions
#   wait_state TARGET STATE [SECONDS]   until that record's state is STATE

MCSID_DIR=$MCSI_BUILD/supervisor/daemon
ISCSICTL=$MCSI_BUILD/tools/iscsictl/iscsictl
MCSID_PID=
SEEN_PIDS=()

mcsid_env() {
	local p
	for p in "$MCSID_DIR/mcsid" "$MCSID_DIR/mcsi-sessiond" "$MCSID_DIR/mcsi-ctlreq" "$ISCSICTL"; do
		[[ -x $p ]] || { echo "missing $p (build first)"; exit 1; }
	done
	RUN=$TEST_TMP/run
	mkdir -m 0755 "$RUN"
	LOG=$TEST_TMP/mcsid.log
	export MCSI_CONFIG="$TEST_TMP/mcsi.conf" MCSI_SECRETS="$TEST_TMP/secrets"
	export MCSI_RUN_DIR="$RUN"
	_target_cleanups=(cleanup_mcsid "${_target_cleanups[@]}")
}

c() { "$ISCSICTL" --timeout 5000 "$@"; }
r() { "$MCSID_DIR/mcsi-ctlreq" --timeout "${MCSID_REQ_TIMEOUT:-20000}" "$@"; }

start_mcsid() {
	"$MCSID_DIR/mcsid" --run-dir "$RUN" "$@" >>"$LOG" 2>&1 &
	MCSID_PID=$!
	for _ in $(seq 100); do
		r "$RUN/mcsid.sock" '{"op":"status"}' >/dev/null 2>&1 && return 0
		kill -0 "$MCSID_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "mcsid did not start:"
	tail -20 "$LOG"
	return 1
}

# Everything the test started, by PID: mcsid and the session processes.
cleanup_mcsid() {
	[[ -n $MCSID_PID ]] && kill "$MCSID_PID" 2>/dev/null
	local p
	for p in "${SEEN_PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	sleep 0.5
	for p in "${SEEN_PIDS[@]}"; do
		kill -9 "$p" 2>/dev/null
	done
	[[ -f $LOG ]] && [[ ${KEEP_LOG:-} == 1 ]] && cp "$LOG" /tmp/mcsid-test.log
}

# Parsed as JSON: a record nests its connections (MC/S).
session_field() {
	r "$RUN/mcsid.sock" '{"op":"list-sessions"}' 2>/dev/null | python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
for s in d.get("sessions", []):
    if s.get("target") == sys.argv[1] and sys.argv[2] in s:
        v = s[sys.argv[2]]
        print(str(v).lower() if isinstance(v, bool) else v)
        break
' "$1" "$2"
}

wait_state() {
	for _ in $(seq $((${3:-15} * 10))); do
		[[ $(session_field "$1" state) == "$2" ]] && return 0
		sleep 0.1
	done
	return 1
}
