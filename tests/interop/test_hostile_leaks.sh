#!/usr/bin/env bash
# Leaks and limits (docs/hostile.md): 10,000 login/logout cycles, 1,000
# forced reconnections (the test target drops the connection on the first
# command; the application opens a new session) and a few session
# reinstatements (the same drop in one open session, which the library
# reinstates; each waits DefaultTime2Wait, 2 s: the Max of our offer and the
# target's) through the public API, in one process whose resident memory,
# open file descriptors and threads must stay bounded.
# ctest-cost: 70
source "$(dirname "$0")/../lib/interop.sh"
interop_init hostile
LEAK=$MCSI_BUILD/tests/hostile/mcsi-leak-cycles
[[ -x $LEAK ]] || { echo "missing $LEAK"; exit 1; }

tt_start
LOGINS=${HOSTILE_LOGINS:-10000}
RECONNECTS=${HOSTILE_RECONNECTS:-1000}
REINSTATEMENTS=${HOSTILE_REINSTATEMENTS:-15}
GROWTH=8192
# Under ASan+UBSan a login costs 20 times more and the allocator keeps
# freed memory in quarantine: fewer cycles and a looser RSS bound, while
# LeakSanitizer checks every allocation at exit.
if grep -q '^MCSI_SANITIZE:BOOL=ON' "$MCSI_BUILD/CMakeCache.txt" 2>/dev/null; then
	LOGINS=${HOSTILE_LOGINS:-2000}
	RECONNECTS=${HOSTILE_RECONNECTS:-500}
	REINSTATEMENTS=${HOSTILE_REINSTATEMENTS:-6}
	GROWTH=65536
fi
run 240 "$LEAK" --logins "$LOGINS" --reconnects "$RECONNECTS" \
	--reinstatements "$REINSTATEMENTS" --max-rss-growth "$GROWTH" --control "$TT_SOCK" "$TT_URL"
printf '%s\n' "$OUT" | sed 's/^/    /'
PEER=127.0.0.1:$TT_PORT
judge "$LOGINS logins, $RECONNECTS reconnects, $REINSTATEMENTS reinstatements: bounded RSS, fds, threads" \
	0 "^bounded$"
expect_match "every reconnect saw its connection lost" \
	"reconnects: $RECONNECTS forced \($RECONNECTS seen as lost\)"
expect_match "and was told why, naming the peer" \
	"last: $PEER: connection 0 .*the target closed the connection"
expect_match "every dropped read in an open session succeeded after one reinstatement" \
	"reinstatements: $REINSTATEMENTS drops, $REINSTATEMENTS reads succeeded, $REINSTATEMENTS reinstated"

# The test target is not ours to judge, but a leak of connections on our
# side would show there too: it must be back to no connection.
conns=$(ss -Htn state established "( sport = :$TT_PORT )" | wc -l)
((conns == 0)) && pass "no connection left open at the target" ||
	fail "$conns connections still open at the target"

finish
