#!/usr/bin/env bash
# mcsid against tgtd: auto-login with CHAP, iscsictl through the daemon,
# data written and read back through the session process (and found in
# the target's backing file), SIGKILL of mcsid while I/O goes on, adoption
# by a restarted mcsid, reconnection of a persistent target after its
# connection is cut, SendTargets discovery recorded in the configuration,
# refusal of unprivileged peers, clean logout and no process left behind.
# ctest-cost: 50
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/targets.sh"
source "$here/../lib/assert.sh"
source "$here/../lib/mcsid.sh"
targets_init

bin="$MCSI_BUILD/supervisor/daemon"
# Unprivileged peers must be able to reach the socket's directory for the
# refusal checks; the secrets file stays 0600.
chmod 0711 "$TEST_TMP"
mcsid_env
ctl=$ISCSICTL
req="$bin/mcsi-ctlreq"

IQN=iqn.2026-11.org.mcsi.test:mcsid-auto
IQN2=iqn.2026-11.org.mcsi.test:mcsid-manual
IQN3=iqn.2026-11.org.mcsi.test:mcsid-discovered
SECRET=mcsidChapSecret42
tgt_start ipv6
tgt_target 1 "$IQN"
tgt_lun 1 1 rdwr 16M
tgt_account 1 mcsiduser "$SECRET"
tgt_target 2 "$IQN2"
tgt_lun 2 1 rdwr 8M
tgtadm_ --op bind --mode account --tid 2 --user mcsiduser
tgt_target 3 "$IQN3"
tgt_lun 3 1 rdwr 8M
# tgt will not redirect to the initiator's own address: 127.0.0.1 -> [::1].
IQN4=iqn.2026-11.org.mcsi.test:mcsid-redirect
tgt_target 4 "$IQN4"
tgt_lun 4 1 rdwr 8M
tgtadm_ --op bind --mode account --tid 4 --user mcsiduser
tgt_param 4 RedirectAddress ::1
tgt_param 4 RedirectPort "$TGT_PORT"
tgt_param 4 RedirectReason Temporary
P="127.0.0.1:$TGT_PORT"
BACKING="/dev/shm/mcsi-tgt.$TGT_CTL.1.1"

c add target "$IQN,$P" >/dev/null
# No reinstatement by the library for this one (replacement timeout 0): a
# lost session is mcsid's to log in again. $IQN2 keeps the default.
c modify target-config "$IQN" -auto-login enable -persistent enable -ReplacementTimeout 0
c modify initiator-config -authentication CHAP -CHAP-name mcsiduser
printf '%s\n' "$SECRET" | c modify initiator-config -CHAP-secret
c add discovery-portal "$P" >/dev/null
c modify discovery-config -SendTargets enable

alive() { [[ -n $1 && -d /proc/$1 ]] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
gone() {
	for _ in $(seq 50); do
		alive "$1" || return 0
		sleep 0.1
	done
	return 1
}

# --- start, auto-login ----------------------------------------------------------
start_mcsid || { fail "mcsid starts"; finish; exit 1; }
pass "mcsid starts with a run directory under /tmp"
[[ $(stat -c %a "$RUN/mcsid.sock") == 600 ]] && pass "control socket is 0600" ||
	fail "control socket mode $(stat -c %a "$RUN/mcsid.sock")"
wait_state "$IQN" logged-in && pass "auto-login target logged in" ||
	{ fail "auto-login target logged in"; tail -20 "$LOG"; }
SPID=$(session_field "$IQN" pid)
SSOCK=$(session_field "$IQN" socket)
SEEN_PIDS+=("$SPID")
expect_ok "iscsictl list sessions" c list sessions
expect_match "the session is listed" "target +$IQN"
expect_match "as logged in" "state +logged-in"
expect_ok "iscsictl --json list sessions" c --json list sessions
expect_match "json names the session process" "\"pid\":$SPID"

# The data plane stands apart: its own session, no secret on its command
# line or in its environment, none in the log.
[[ $(ps -o sid= -p "$SPID" | tr -d ' ') == "$SPID" ]] &&
	pass "session process leads its own session" || fail "session process shares a session"
[[ $(ps -o ppid= -p "$SPID" | tr -d ' ') == "$MCSID_PID" ]] &&
	pass "session process was started by mcsid" || fail "session process parent"
if tr '\0' '\n' <"/proc/$SPID/cmdline" | grep -qF "$SECRET" ||
	tr '\0' '\n' <"/proc/$SPID/environ" | grep -qF "$SECRET"; then
	fail "CHAP secret in the session process's argv or environment"
else
	pass "CHAP secret not in argv or environment"
fi
[[ $(stat -c %a "$SSOCK") == 600 ]] && pass "session socket is 0600" ||
	fail "session socket mode $(stat -c %a "$SSOCK")"

# --- I/O through the session process --------------------------------------------
expect_ok "write through the session" \
	r "$SSOCK" '{"op":"io","lun":1,"lba":100,"blocks":64,"write":true,"seed":11}'
expect_match "write acknowledged" '"match":true'
head=$(dd if="$BACKING" bs=512 skip=100 count=1 2>/dev/null | head -c 40 | tr -d '\0')
[[ $head == "mcsi-check seed=11 lun=1 lba=100"* ]] &&
	pass "the data is in tgtd's backing file" || fail "backing file holds '$head'"
expect_ok "read back through the session" \
	r "$SSOCK" '{"op":"io","lun":1,"lba":100,"blocks":64,"seed":11}'
expect_match "read back matches" '"match":true'
OUT=$(r "$SSOCK" '{"op":"io","lun":1,"lba":100,"blocks":64,"seed":12}')
expect_match "a different pattern is told apart" '"match":false'

expect_ok "list luns through mcsid" c list luns "$IQN"
expect_match "LUN 1 of 16 MiB" "capacity-bytes +16777216"
expect_match "answered by the session process" "pid +$SPID"

# --- SIGKILL mcsid during I/O ---------------------------------------------------------
io_loop() {
	local ok=0 bad=0 i
	for i in $(seq 0 29); do
		local lba=$((1000 + i * 8))
		if r "$SSOCK" "{\"op\":\"io\",\"lun\":1,\"lba\":$lba,\"blocks\":8,\"write\":true,\"seed\":$i}" \
			>/dev/null 2>&1 &&
			r "$SSOCK" "{\"op\":\"io\",\"lun\":1,\"lba\":$lba,\"blocks\":8,\"seed\":$i}" 2>/dev/null |
			grep -q '"match":true'; then
			ok=$((ok + 1))
		else
			bad=$((bad + 1))
		fi
		sleep 0.05
	done
	echo "$ok $bad"
}
io_loop >"$TEST_TMP/io1" &
IO=$!
sleep 0.5
{ kill -9 "$MCSID_PID" && wait "$MCSID_PID"; } 2>/dev/null
MCSID_PID=
wait "$IO"
read -r ok bad <"$TEST_TMP/io1"
[[ $ok == 30 && $bad == 0 ]] && pass "I/O went on through SIGKILL of mcsid (30 verified)" ||
	fail "I/O during the kill: $ok ok, $bad failed"
alive "$SPID" && pass "session process survived mcsid" || fail "session process died with mcsid"
expect_ok "iscsictl works without mcsid" c list sessions
expect_match "and says mcsid is not running" "mcsid is not running"
expect_ok "data still readable with mcsid dead" \
	r "$SSOCK" '{"op":"io","lun":1,"lba":100,"blocks":64,"seed":11}'
expect_match "and intact" '"match":true'

# --- restart: adoption ----------------------------------------------------------------
start_mcsid || fail "mcsid restarts"
wait_state "$IQN" logged-in 5 && pass "restarted mcsid lists the session" ||
	fail "restarted mcsid lists the session"
[[ $(session_field "$IQN" pid) == "$SPID" ]] && pass "same session process" ||
	fail "session process $(session_field "$IQN" pid), expected $SPID"
[[ $(session_field "$IQN" adopted) == true ]] && pass "marked adopted" || fail "not adopted"
grep -q "adopted session process $SPID" "$LOG" && pass "adoption logged" ||
	fail "adoption not logged"
n=$(ls "$RUN/sessions/"*.json 2>/dev/null | wc -l)
[[ $n == 1 ]] && pass "auto-login did not start a second session" || fail "$n state files"

# --- a manual login through mcsid outlives iscsictl ----------------------------------------
expect_ok "login through mcsid" c login "$IQN2,$P"
expect_match "reports the session process" "pid +[0-9]+"
expect_match "with its LUN" "capacity-bytes +8388608"
S2PID=$(session_field "$IQN2" pid)
SEEN_PIDS+=("$S2PID")
wait_state "$IQN2" logged-in 2 && pass "session kept after iscsictl exited" ||
	fail "manual session not kept"
expect_fail "second login is refused" "already logged in" c login "$IQN2,$P"
expect_ok "login through mcsid follows a redirection" c login "$IQN4,$P"
grep -q "redirected temporarily to \[::1\]:$TGT_PORT" "$LOG" &&
	pass "the session process was redirected to [::1]" || fail "no redirection logged"
S4PID=$(session_field "$IQN4" pid)
SEEN_PIDS+=("$S4PID")
expect_ok "the redirected session serves I/O" \
	r "$(session_field "$IQN4" socket)" '{"op":"io","lun":1,"lba":0,"blocks":16,"write":true,"seed":4}'
expect_ok "logout of the redirected session" c logout "$IQN4"
gone "$S4PID" && pass "its process exited" || fail "$S4PID still running"

# relogged_in TRIES NAME: waits (TRIES x 0.1 s at most) until $IQN's session
# is logged in by a process other than $SPID; then passes NAME and makes
# that process SPID (socket SSOCK). Returns 1 when it did not come.
relogged_in() {
	local np=
	for _ in $(seq "$1"); do
		np=$(session_field "$IQN" pid)
		[[ -n $np && $np != "$SPID" && $(session_field "$IQN" state) == logged-in ]] && break
		np=
		sleep 0.1
	done
	[[ -n $np ]] || return 1
	pass "$2 (process $np)"
	SEEN_PIDS+=("$np")
	SPID=$np
	SSOCK=$(session_field "$IQN" socket)
}

# --- a persistent target's connection cut: mcsid logs in again --------------------------
sid=$(tgtadm -C "$TGT_CTL" --lld iscsi --op show --mode conn --tid 1 2>/dev/null |
	awk '/^Session:/ { print $2; exit }')
if [[ -n $sid ]] && tgtadm -C "$TGT_CTL" --lld iscsi --op delete --mode conn --tid 1 \
	--sid "$sid" --cid 0 >/dev/null 2>&1; then
	gone "$SPID" && pass "session process ends when its session is lost" ||
		fail "session process $SPID still there"
	relogged_in 200 "persistent target logged in again" || {
		fail "persistent target not back"
		tail -20 "$LOG"
	}
	grep -q "$IQN: session lost" "$LOG" && pass "loss logged" || fail "loss not logged"
	expect_ok "data survived the reconnection" \
		r "$SSOCK" '{"op":"io","lun":1,"lba":100,"blocks":64,"seed":11}'
	expect_match "intact" '"match":true'
	# A session process that dies: mcsid says how, and logs in again.
	killed=$SPID
	kill -KILL "$killed"
	relogged_in 40 "and logged in again" || {
		fail "not back after its process was killed"
		tail -12 "$LOG"
	}
	grep -q "$IQN: session lost (process $killed): the session process was killed by signal 9" \
		"$LOG" && pass "a killed session process is logged with its signal" ||
		{ fail "killed session process not logged with its signal"; grep "session lost" "$LOG"; }
	grep -q "detached the LUN filesystem of a session process that died" "$LOG" &&
		pass "its dead LUN filesystem was detached" || fail "dead LUN filesystem not detached"
else
	fail "could not cut the connection with tgtadm"
fi

# --- the same with the library's session reinstatement (default 120 s) -----------------
sid=$(tgtadm -C "$TGT_CTL" --lld iscsi --op show --mode conn --tid 2 2>/dev/null |
	awk '/^Session:/ { print $2; exit }')
if [[ -n $sid ]] && tgtadm -C "$TGT_CTL" --lld iscsi --op delete --mode conn --tid 2 \
	--sid "$sid" --cid 0 >/dev/null 2>&1; then
	for _ in $(seq 100); do
		grep -q "$IQN2.*session reinstated" "$LOG" && break
		sleep 0.1
	done
	grep -q "$IQN2.*session reinstated after" "$LOG" &&
		pass "the library reinstated $IQN2's session" || { fail "no reinstatement"; tail -8 "$LOG"; }
	[[ $(session_field "$IQN2" pid) == "$S2PID" ]] && alive "$S2PID" &&
		pass "in the same session process" || fail "session process of $IQN2 replaced"
	expect_ok "the reinstated session serves I/O" \
		r "$(session_field "$IQN2" socket)" '{"op":"io","lun":1,"lba":0,"blocks":16,"write":true,"seed":5}'
else
	fail "could not cut $IQN2's connection with tgtadm"
fi

# --- SendTargets discovery ----------------------------------------------------------------
expect_ok "rescan runs discovery" r "$RUN/mcsid.sock" '{"op":"rescan"}'
expect_match "four targets found" '"targets":4'
expect_ok "list targets" c list targets
expect_match "discovered target recorded" "$IQN3"
grep -A1 "\[target \"$IQN3\"\]" "$MCSI_CONFIG" | grep -q "config-type = discovered" &&
	pass "recorded as config-type discovered" || fail "config-type of $IQN3"
grep -A1 "\[target \"$IQN\"\]" "$MCSI_CONFIG" | grep -q "config-type = static" &&
	pass "static target left static" || fail "static target changed"

# --- unprivileged peers --------------------------------------------------------------
nob() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
expect_fail "nobody cannot open the 0600 socket" "permission denied" \
	nob "$req" "$RUN/mcsid.sock" '{"op":"status"}'
expect_fail "nobody cannot reach a session socket" "permission denied" \
	nob "$req" "$SSOCK" '{"op":"status"}'
# With the file permissions opened up, the credential check still refuses.
kill "$MCSID_PID"
wait "$MCSID_PID"
MCSID_PID=
start_mcsid --socket-mode 0666 || fail "mcsid restarts with --socket-mode 0666"
expect_fail "nobody is refused by SO_PEERCRED" "uid 65534 may not control mcsid" \
	nob "$req" "$RUN/mcsid.sock" '{"op":"list-sessions"}'
expect_fail "iscsictl as nobody is refused" "permission denied" \
	nob env MCSI_RUN_DIR="$RUN" "$ctl" list sessions
grep -q "refused a control connection from pid [0-9]* uid 65534" "$LOG" &&
	pass "refusal logged" || fail "refusal not logged"
wait_state "$IQN" logged-in 5 && pass "sessions adopted a second time" ||
	fail "second adoption"

# --- logout, and nothing left behind --------------------------------------------------
expect_ok "logout through mcsid" c logout "$IQN"
expect_match "logged out" "logged out of $IQN"
! alive "$SPID" && pass "session process of $IQN gone when its logout returned" ||
	fail "$SPID still running after its logout returned"
expect_ok "logout of the manual session" c logout "$IQN2"
! alive "$S2PID" && pass "session process of $IQN2 gone when its logout returned" ||
	fail "$S2PID still running after its logout returned"
# A logout's answer comes once the target is free again: a login right
# after it is taken (it was refused as "logging-out" before).
n=0
for _ in 1 2 3; do
	out=$(c login "$IQN2,$P" 2>&1 && c logout "$IQN2" 2>&1) || { echo "$out" | sed 's/^/    /'; break; }
	n=$((n + 1))
done
((n == 3)) && pass "login at once after logout, three times" ||
	fail "login right after logout failed (round $((n + 1)))"
sleep 2
[[ -z $(session_field "$IQN" state) ]] && pass "a logged-out persistent target stays out" ||
	fail "$IQN came back after logout"
expect_ok "list sessions after logout" c list sessions
expect_match "no sessions" "no sessions"
expect_fail "logout of a target without a session" "not logged in" c logout "$IQN"
kill "$MCSID_PID"
wait "$MCSID_PID"
rc=$?
MCSID_PID=
[[ $rc == 0 ]] && pass "mcsid stops cleanly on SIGTERM" || fail "mcsid exit status $rc"
left=0
for p in "${SEEN_PIDS[@]}"; do
	alive "$p" && left=$((left + 1))
done
[[ $left == 0 ]] && pass "no session process left" || fail "$left session processes left"
[[ -z $(ls -A "$RUN/sessions") ]] && pass "no state file or socket left" ||
	fail "left in sessions/: $(ls "$RUN/sessions")"
[[ ! -e $RUN/mcsid.sock ]] && pass "control socket removed" || fail "control socket left"
grep -qF "$SECRET" "$LOG" && fail "the CHAP secret appears in the log" ||
	pass "the CHAP secret never appears in the log"

finish
