#!/usr/bin/env bash
# Leaks of the recovery paths (docs/design/recovery.md 7.1, 8.1; like
# test_hostile_leaks.sh for logins and ERL 0): in one process,
# tests/hostile/leak_erl.c (mcsi-leak-erl) runs
#   - ERL 1: N digest faults of the test target (Data-In header, Data-In
#     data, SCSI Response header, a SCSI Command dropped as if damaged), each
#     before a verified 64 KiB write + read, all recovered in place;
#   - ERL 2: M connections closed by the test target under a command, each
#     recovered as a connection (CID reinstated, commands retried or
#     reassigned), two connections throughout;
# and checks that open fds and threads come back exactly, RSS stays within a
# bound, the task tables are empty, every connection is up and no recovery
# is pending. Each ERL 2 recovery waits DefaultTime2Wait (2 s).
# ctest-cost: 45
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/targets.sh"
source "$here/../lib/assert.sh"
source "$MCSI_SRC/tests/hostile/lib.sh"
targets_init
LEAK=$MCSI_BUILD/tests/hostile/mcsi-leak-erl
[[ -x $LEAK ]] || { echo "missing $LEAK"; exit 1; }
command -v python3 >/dev/null || need_target "python3 is not installed"

FAULTS=${LEAK_ERL_FAULTS:-120}
RECOVERIES=${LEAK_ERL_RECOVERIES:-12}
GROWTH=4096
# ASan+UBSan: slower, and freed memory waits in quarantine (LeakSanitizer
# checks every allocation at exit).
if grep -q '^MCSI_SANITIZE:BOOL=ON' "$MCSI_BUILD/CMakeCache.txt" 2>/dev/null; then
	FAULTS=${LEAK_ERL_FAULTS:-80}
	RECOVERIES=${LEAK_ERL_RECOVERIES:-8}
	GROWTH=65536
fi

TT_IQN=iqn.2026-11.org.mcsi.test:leakerl
TT_LUNS="--lun 0:ram:64M:512" tt_start --erl 2 --max-connections 4
PEER=127.0.0.1:$TT_PORT
run 240 "$LEAK" --digest-faults "$FAULTS" --conn-recoveries "$RECOVERIES" \
	--max-rss-growth "$GROWTH" --control "$TT_SOCK" "$TT_URL"
printf '%s\n' "$OUT" | sed 's/^/    /'
judge "$FAULTS ERL 1 faults, $RECOVERIES ERL 2 connection recoveries: bounded RSS, fds, threads, tasks" \
	0 "^bounded$" nopeer
expect_match "every ERL 1 fault fired and was recovered in place" \
	"erl1: $FAULTS digest faults \($FAULTS fired\) in [0-9.]+ s; 0 connections lost"
expect_match "every ERL 2 drop was recovered as a connection" \
	"erl2: $RECOVERIES connections dropped, $RECOVERIES lost, $RECOVERIES recovered, 0 session losses"
expect_match "the task tables are empty after each phase, connections up" \
	"erl2: 0 tasks in the tables, 2 connections \(2 up\), recovery none"

conns=$(ss -Htn state established "( sport = :$TT_PORT )" | wc -l)
((conns == 0)) && pass "no connection left open at the target" ||
	fail "$conns connections still open at the target"
finish
