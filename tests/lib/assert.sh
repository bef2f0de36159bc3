# shellcheck shell=bash
# Assertions for interop scripts. Each check prints one line; the script
# ends with "N passed, N failed" and exits non-zero if anything failed.

_passed=0
_failed=0

pass() { _passed=$((_passed + 1)); echo "ok - $*"; }
fail() { _failed=$((_failed + 1)); echo "FAIL - $*"; }

# expect_ok NAME CMD...: CMD exits 0; its output is kept in $OUT.
expect_ok() {
	local name=$1
	shift
	if OUT=$("$@" 2>&1); then
		pass "$name"
	else
		fail "$name (exit $?)"
		printf '%s\n' "$OUT" | sed 's/^/    /' | tail -20
	fi
}

# expect_fail NAME PATTERN CMD...: CMD exits non-zero and says PATTERN.
expect_fail() {
	local name=$1 pattern=$2
	shift 2
	if OUT=$("$@" 2>&1); then
		fail "$name (succeeded, should have failed)"
		printf '%s\n' "$OUT" | sed 's/^/    /' | tail -10
	elif grep -qiE -- "$pattern" <<<"$OUT"; then
		pass "$name"
	else
		fail "$name (no '$pattern' in the message)"
		printf '%s\n' "$OUT" | sed 's/^/    /' | tail -10
	fi
}

# expect_match NAME PATTERN: the last $OUT matches the extended regex.
expect_match() {
	if grep -qE -- "$2" <<<"$OUT"; then
		pass "$1"
	else
		fail "$1 (no '$2')"
		printf '%s\n' "$OUT" | sed 's/^/    /' | tail -20
	fi
}

expect_no_match() {
	if grep -qE -- "$2" <<<"$OUT"; then
		fail "$1 (found '$2')"
	else
		pass "$1"
	fi
}

finish() {
	echo "$_passed passed, $_failed failed"
	[[ $_failed -eq 0 ]]
}

# no_rfc_violation NAME FILE: mcsi never logged an event that its RFC 7143
# connection or session state machine refuses (mcs/conn_sm.h,
# mcs/sess_sm.h): a defect of ours. Prints a FAIL line only when it did.
no_rfc_violation() {
	local line
	line=$(grep -m1 "is not allowed in state" "$2") && fail "$1: RFC state machine: $line"
	return 0
}
