#!/usr/bin/env bash
# Secrets and privileges (docs/hostile.md, cases S1-S12): CHAP secrets
# never in argv, the environment, logs or the configuration file, and in
# memory only where core dumps cannot reach them (MADV_DONTDUMP, checked by
# scanning /proc/PID/mem against /proc/PID/smaps), for mcsid, its session
# process and iscsictl in the middle of a login; the control socket refuses
# unprivileged peers; a session with mutual CHAP through mcsid.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/targets.sh"
source "$here/../lib/assert.sh"
source "$MCSI_SRC/tests/hostile/lib.sh"
source "$here/../lib/mcsid.sh"
targets_init
hostile_need
bin="$MCSI_BUILD/supervisor/daemon"
SCAN=(python3 "$HOSTILE_DIR/secret_scan.py")
ISECRET=HostileInitSecret42
TSECRET=HostileTargetSecret77
chmod 0711 "$TEST_TMP"
mcsid_env
c=("$ISCSICTL" --timeout 5000)

# scan NAME PID: every copy of either secret must be in MADV_DONTDUMP memory.
scan() {
	if ! [[ -d /proc/$2 ]]; then
		fail "$1: process $2 is gone"
		return
	fi
	local out rc
	out=$("${SCAN[@]}" "$2" "$ISECRET" "$TSECRET" 2>&1)
	rc=$?
	if ((rc == 0)); then
		pass "$1: $(tail -1 <<<"$out")"
	else
		fail "$1: secrets outside MADV_DONTDUMP memory, argv or environ"
		sed 's/^/    /' <<<"$out" | tail -12
	fi
}

# --- the configuration -----------------------------------------------------------------
tt_start --chap "iu:$ISECRET" --mutual "tu:$TSECRET"
PEER=127.0.0.1:$TT_PORT
"${c[@]}" add target "$TT_IQN,$PEER" >/dev/null
"${c[@]}" modify initiator-config -authentication CHAP -CHAP-name iu >/dev/null
printf '%s\n' "$ISECRET" | "${c[@]}" modify initiator-config -CHAP-secret >/dev/null
"${c[@]}" modify target-config "$TT_IQN" -authentication CHAP -CHAP-name tu >/dev/null
printf '%s\n' "$TSECRET" | "${c[@]}" modify target-config "$TT_IQN" -CHAP-secret >/dev/null
"${c[@]}" modify target-config "$TT_IQN" -auto-login enable -persistent enable >/dev/null
grep -qF -e "$ISECRET" -e "$TSECRET" "$MCSI_CONFIG" && fail "S1 a secret is in the configuration file" ||
	pass "S1 no secret in the configuration file"
[[ $(stat -c %a "$MCSI_SECRETS") == 600 ]] && pass "S1 the secrets file is 0600" ||
	fail "S1 secrets file mode $(stat -c %a "$MCSI_SECRETS")"
run 20 "${c[@]}" modify initiator-config -CHAP-secret "$ISECRET"
judge "S2 a secret on the command line is refused" 2 "takes no value on the command line" nopeer

# --- iscsictl in the middle of a login --------------------------------------------------------
evil_start --chap "iu:$ISECRET" --mutual "tu:$TSECRET"
evil slow-after-auth
"${c[@]}" add target "$EVIL_TARGET" >/dev/null
"${c[@]}" modify target-config "$EVIL_NAME" -authentication CHAP -CHAP-name tu >/dev/null
printf '%s\n' "$TSECRET" | "${c[@]}" modify target-config "$EVIL_NAME" -CHAP-secret >/dev/null
MCSI_LOG=debug "$ISCSICTL" --timeout 10000 -v login "$EVIL_TARGET" >"$TEST_TMP/ictl.out" 2>&1 &
ictl=$!
sleep 1.5
scan "S3 iscsictl during a mutual CHAP login" "$ictl"
wait "$ictl"
rc=$?
OUT=$(cat "$TEST_TMP/ictl.out")
((rc == 0)) && pass "S3 that login succeeded (mutual CHAP)" || fail "S3 login exit $rc"
grep -qF -e "$ISECRET" -e "$TSECRET" <<<"$OUT" && fail "S4 a secret in iscsictl's debug output" ||
	pass "S4 no secret in iscsictl's debug output ($(wc -l <<<"$OUT") lines)"
evil_stop

# --- mcsid and its session process ---------------------------------------------------------
SPID=
"${c[@]}" remove target "$EVIL_NAME" >/dev/null
if start_mcsid; then
	pass "S5 mcsid starts"
else
	fail "S5 mcsid starts"
	tail -5 "$LOG"
fi
for _ in $(seq 100); do
	SPID=$("$bin/mcsi-ctlreq" "$RUN/mcsid.sock" '{"op":"list-sessions"}' 2>/dev/null |
		grep -o '"state":"logged-in"[^}]*"pid":[0-9]*\|"pid":[0-9]*[^}]*"state":"logged-in"' |
		grep -o '"pid":[0-9]*' | cut -d: -f2 | head -1)
	[[ -n $SPID ]] && { SEEN_PIDS+=("$SPID"); break; }
	sleep 0.1
done
[[ -n $SPID ]] && pass "S5 the session logged in with mutual CHAP (process $SPID)" ||
	{ fail "S5 no session logged in"; tail -10 "$LOG"; }
scan "S6 mcsid" "$MCSID_PID"
[[ -n $SPID ]] && scan "S7 the session process" "$SPID"
dd=$(grep -c '^VmFlags:.* dd' "/proc/$MCSID_PID/smaps" 2>/dev/null)
((dd > 0)) && pass "S8 mcsid holds MADV_DONTDUMP memory ($dd mappings)" ||
	fail "S8 no MADV_DONTDUMP mapping in mcsid"
"${c[@]}" list sessions >"$TEST_TMP/ls.out" 2>&1
if grep -qF -e "$ISECRET" -e "$TSECRET" "$LOG" "$TEST_TMP/ls.out" "$TEST_TMP/tt.1.log" 2>/dev/null; then
	fail "S9 a secret in mcsid's log or iscsictl's listing"
else
	pass "S9 no secret in mcsid's log, its listing or the session's log"
fi

# --- the control socket and unprivileged peers ------------------------------------------------
nob=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
[[ $(stat -c %a "$RUN/mcsid.sock") == 600 ]] && pass "S10 control socket is 0600" ||
	fail "S10 control socket mode $(stat -c %a "$RUN/mcsid.sock")"
run 10 "${nob[@]}" "$bin/mcsi-ctlreq" "$RUN/mcsid.sock" '{"op":"list-sessions"}'
judge "S10 nobody cannot open the 0600 socket" 2 "permission denied" nopeer
kill "$MCSID_PID"
wait "$MCSID_PID" 2>/dev/null
start_mcsid --socket-mode 0666 || fail "S11 mcsid restarts with --socket-mode 0666"
run 10 "${nob[@]}" "$bin/mcsi-ctlreq" "$RUN/mcsid.sock" '{"op":"list-sessions"}'
judge "S11 nobody is refused by its credentials even on a 0666 socket" 1 \
	"uid 65534 may not control mcsid" nopeer
grep -qF -e "$ISECRET" -e "$TSECRET" <<<"$OUT" && fail "S11 the refusal leaks a secret" ||
	pass "S11 the refusal leaks nothing"
run 10 "${nob[@]}" env MCSI_RUN_DIR="$RUN" "$ISCSICTL" list sessions
judge "S12 iscsictl as nobody is refused" 1 "permission denied|may not" nopeer
"${c[@]}" logout "$TT_IQN" >/dev/null 2>&1
kill "$MCSID_PID" 2>/dev/null
wait "$MCSID_PID" 2>/dev/null
MCSID_PID=

finish
