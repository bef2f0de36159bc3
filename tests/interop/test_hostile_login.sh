#!/usr/bin/env bash
# Hostile targets, login phase and discovery (docs/hostile.md, cases L1-L30):
# iscsictl against tests/hostile/evil_target.py. Each case must end with a
# clear error that names the peer and the reason, within its timeout, with
# no crash (no signal, no sanitizer report).
source "$(dirname "$0")/../lib/interop.sh"
interop_init hostile

export MCSI_CONFIG="$TEST_TMP/mcsi.conf" MCSI_SECRETS="$TEST_TMP/secrets"
c=("$ISCSICTL" --timeout 2000)
ISECRET=isecret12345
TSECRET=tsecret67890
# One target process for every case: the target name picks the scenario.
# It does CHAP when the initiator offers it, with these secrets.
evil_start --chap "iu:$ISECRET" --mutual "tu:$TSECRET"

# login_case ID SCENARIO PATTERN: iscsictl login must fail with PATTERN.
login_case() {
	evil "$2"
	run 20 "${c[@]}" login "$EVIL_TARGET"
	judge "$1 $2" 1 "$3"
}

# --- negotiation text ---------------------------------------------------------------
"${c[@]}" modify initiator-config -authentication None >/dev/null 2>&1
login_case L1 keys-never-offered "offered keys in its final login response"
login_case L2 out-of-range "MaxRecvDataSegmentLength outside 512-16777215"
login_case L3 duplicate-keys "key appears twice"
login_case L4 key-without-equals "without '='"
login_case L5 non-utf8-key "outside the RFC 7143 key alphabet"
login_case L6 huge-continue "login text exceeds our buffer"
login_case L7 huge-segment "longer than our MaxRecvDataSegmentLength"
login_case L8 login-wrong-itt "another ITT"
login_case L9 login-bad-opcode "non-login PDU"
login_case L10 login-close-mid-pdu "closed the connection"
login_case L11 login-silent "no answer from the target"
(( SECS <= 6 )) && pass "L11 the silent target is given up after the 2 s timeout" ||
	fail "L11 gave up only after ${SECS}s"

# A value that is not UTF-8 in a key we only store (TargetAlias): the login
# goes on, and the bytes never reach the terminal.
evil non-utf8
run 20 "${c[@]}" login "$EVIL_TARGET"
judge "L12 non-utf8 alias tolerated" 0 "portal +127.0.0.1"
LC_ALL=C grep -q $'[\x80-\xff]' <<<"$OUT" && fail "L12 raw non-UTF-8 bytes printed" ||
	pass "L12 no raw non-UTF-8 byte printed"

# --- redirection ----------------------------------------------------------------------
login_case L13 redirect-loop "too many redirections"
login_case L14 redirect-invalid "invalid IPv4 address"
login_case L15 redirect-no-address "redirect without a TargetAddress"
evil redirect-loop
run 20 "${c[@]}" probe "$EVIL_TARGET"
judge "L16 probe of an endless redirection" 1 "too many redirections"

# --- the same through the library, beside a healthy session ----------------------------
# mcsi_open() in mcsi-hostile-client logs in with the same login code as
# iscsictl; a second session in that process, against the project's test
# target, verifies its data all along: a hostile login must not disturb it.
tt_start
HEALTHY=(--healthy "$TT_URL" --hold 400)
lib_case() {
	evil "$2"
	run 30 "$CLIENT" --timeout 2000 --op open "${HEALTHY[@]}" "$EVIL_URL"
	judge "$1 $2 (library, healthy session beside it)" 2 "$3" healthy
}
lib_case L1 keys-never-offered "offered keys in its final login response"
lib_case L2 out-of-range "MaxRecvDataSegmentLength outside 512-16777215"
lib_case L3 duplicate-keys "key appears twice"
lib_case L4 key-without-equals "without '='"
lib_case L5 non-utf8-key "outside the RFC 7143 key alphabet"
lib_case L6 huge-continue "login text exceeds our buffer"
lib_case L7 huge-segment "longer than our MaxRecvDataSegmentLength"
lib_case L8 login-wrong-itt "another ITT"
lib_case L9 login-bad-opcode "non-login PDU"
lib_case L10 login-close-mid-pdu "closed the connection"
lib_case L13 redirect-loop "too many redirections"
lib_case L14 redirect-invalid "invalid IPv4 address"
lib_case L15 redirect-no-address "redirect without a TargetAddress"

# --- CHAP -------------------------------------------------------------------------------
"${c[@]}" modify initiator-config -authentication CHAP -CHAP-name iu >/dev/null
printf '%s\n' "$ISECRET" | "${c[@]}" modify initiator-config -CHAP-secret >/dev/null
login_case L17 chap-empty-challenge "malformed or empty CHAP_C" 
login_case L18 chap-huge-challenge "login text exceeds our buffer" 
login_case L19 chap-long-challenge "CHAP_C longer than 1024 bytes" 
login_case L20 chap-refused-none "target refused CHAP authentication" 

# Mutual CHAP: the target's credentials on the target record.
mutual_on() {
	"${c[@]}" add target "$EVIL_TARGET" >/dev/null 2>&1
	"${c[@]}" modify target-config "$EVIL_NAME" -authentication CHAP -CHAP-name tu >/dev/null
	printf '%s\n' "$TSECRET" | "${c[@]}" modify target-config "$EVIL_NAME" -CHAP-secret >/dev/null
}
mutual_case() {
	evil "$2"
	mutual_on
	run 20 "${c[@]}" login "$EVIL_TARGET"
	judge "$1 $2" 1 "$3"
	"${c[@]}" remove target "$EVIL_NAME" >/dev/null 2>&1
}
evil normal
mutual_on
run 20 "${c[@]}" login "$EVIL_TARGET"
judge "L21 control: mutual CHAP with the right secrets" 0 "authentication +CHAP \(mutual\)"
"${c[@]}" remove target "$EVIL_NAME" >/dev/null 2>&1
mutual_case L22 mutual-wrong "target failed mutual CHAP authentication"
mutual_case L23 mutual-skipped "target skipped mutual CHAP authentication"
mutual_case L24 chap-reflect "sent back a CHAP challenge of ours \(reflection\)"
grep -q "CHAP_R" "$TEST_TMP/evil.log" && fail "L24 the evil target logged an answer" || true

# Fails mutual CHAP, then offers None on the next login: refused both times,
# never downgraded.
evil mutual-then-none
mutual_on
run 20 "${c[@]}" login "$EVIL_TARGET"
judge "L25 target failing mutual CHAP" 1 "target failed mutual CHAP authentication"
run 20 "${c[@]}" login "$EVIL_TARGET"
judge "L25 ... then offering None is refused" 1 "target refused CHAP authentication"
expect_no_match "L25 never logged in without authentication" "authentication +None"
"${c[@]}" remove target "$EVIL_NAME" >/dev/null 2>&1
"${c[@]}" modify initiator-config -authentication None >/dev/null

# --- discovery and strings from the network --------------------------------------------
MAIN_PORT=$EVIL_PORT
evil_start --scenario ansi-names
run 20 "${c[@]}" discover "127.0.0.1:$EVIL_PORT"
judge "L26 SendTargets name with ANSI escapes skipped with a warning" 0 \
	'invalid name skipped, first "iqn.2026-11.org.mcsi.test:\\x1b\[31mred\\x1b\[0m\\x07\\x0d\\x0aFAKE-LINE"'
expect_match "L26 the other target is still listed" "iqn.2026-11.org.mcsi.test:ok"
grep -q $'\x1b' <<<"$OUT" && fail "L26 raw ESC reached the terminal" ||
	pass "L26 no raw ESC byte printed"
run 20 "${c[@]}" --json discover "127.0.0.1:$EVIL_PORT"
grep -q $'\x1b' <<<"$OUT" && fail "L26 raw ESC in --json output" || pass "L26 --json has no raw ESC"
evil ansi-names
run 20 "${c[@]}" login "$EVIL_TARGET"
judge "L27 alias and INQUIRY strings with escapes" 0 "portal +127.0.0.1"
if grep -q $'[\x1b\x07\x9b]' <<<"$OUT"; then
	fail "L27 raw control bytes from INQUIRY or the alias printed"
else
	pass "L27 INQUIRY vendor/product and serial printed without control bytes"
fi
# The same answer through mcsid's periodic discovery: its log says what
# was skipped, escaped, and holds no raw control byte.
MCSID_RUN="$TEST_TMP/run"
MCSID_LOG="$TEST_TMP/mcsid.log"
mkdir -p -m 0700 "$MCSID_RUN"
"${c[@]}" add discovery-portal "127.0.0.1:$EVIL_PORT" >/dev/null 2>&1
"${c[@]}" modify discovery-config -SendTargets enable >/dev/null 2>&1
"$MCSI_BUILD/supervisor/daemon/mcsid" --run-dir "$MCSID_RUN" >"$MCSID_LOG" 2>&1 &
MCSID_PID=$!
_target_pids+=("$MCSID_PID")
for _ in $(seq 100); do
	grep -q "invalid name skipped" "$MCSID_LOG" && break
	sleep 0.1
done
grep -qF 'target(s) with an invalid name skipped, first "iqn.2026-11.org.mcsi.test:\x1b[31mred' \
	"$MCSID_LOG" && pass "L26 mcsid logs the skipped name, escaped" ||
	fail "L26 mcsid's log: $(tail -5 "$MCSID_LOG")"
grep -q $'[\x1b\x07]' "$MCSID_LOG" && fail "L26 raw control bytes in mcsid's log" ||
	pass "L26 no raw control byte in mcsid's log"
kill "$MCSID_PID" 2>/dev/null
wait "$MCSID_PID" 2>/dev/null
"${c[@]}" remove discovery-portal "127.0.0.1:$EVIL_PORT" >/dev/null 2>&1
evil_stop
evil_start --scenario sendtargets-endless
run 20 "${c[@]}" discover "127.0.0.1:$EVIL_PORT"
judge "L28 SendTargets answer that never ends" 1 "longer than 1 MiB"
evil_stop
evil_start --scenario sendtargets-garbage
run 20 "${c[@]}" discover "127.0.0.1:$EVIL_PORT"
judge "L29 SendTargets answer that is not text" 1 "SendTargets answer is malformed"
evil_stop
EVIL_PORT=$MAIN_PORT

# --- the control path's SCSI commands (LUN scan) -----------------------------------------
scan_case() {
	evil "$2.on-12"
	run 20 "${c[@]}" list luns "$EVIL_TARGET"
	judge "$1 list luns: $2" 1 "$3"
}
scan_case L30 datain-beyond "Data-In beyond the expected length"
scan_case L31 wrong-itt "response for unknown task"
scan_case L32 datasn-gap "DataSN 2, expected 1"
scan_case L33 truncated-bhs "closed the connection"
scan_case L34 sense-overrun "sense length past the segment"
scan_case L35 bad-opcode "opcode unknown"

finish
