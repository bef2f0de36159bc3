#!/usr/bin/env bash
# mcsi-testtarget beyond libiscsi's reach: SHA and mutual CHAP, MC/S
# ordering and MaxConnections, connection and session reinstatement, ERL 1
# (SNACK, recovery R2T) and ERL 2 (logout reason 2, TASK REASSIGN),
# redirection, run-time LUN add/resize and every fault-injection command,
# driven by the hand-built initiator in ttclient.py. Exit 0 / 1 / 77.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin="${MCSI_BUILD:-}/tools/testtarget/mcsi-testtarget"
skip() {
	if [ "${CI:-}" = true ]; then echo "FAIL (CI, cannot skip): $*"; exit 1; fi
	echo "SKIP: $*"; exit 77
}
[ -x "$bin" ] || skip "no $bin (set MCSI_BUILD)"
command -v python3 >/dev/null || skip "python3 not installed"
timeout 600 python3 "$here/testtarget_erl.py" "$bin" || exit 1
# Once more over the io_uring transport.
TT_EXTRA_ARGS="--io uring" exec timeout 600 python3 "$here/testtarget_erl.py" "$bin"
