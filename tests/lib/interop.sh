# shellcheck shell=bash
# The prologue of tests/interop/test_*.sh: strict mode, the helpers
# (tests/lib/targets.sh, assert.sh), a temp dir with the cleanup trap, and
# the checks for what the script needs. A script starts with
#
#   source "$(dirname "$0")/../lib/interop.sh"
#   interop_init [NEED...]
#
# and gets `here` (its own directory), MCSI_SRC, MCSI_BUILD, TEST_TMP. NEED:
#   perf         tools/perf/mcsi-perf → PERF (exit 1: not built)
#   testtarget   tools/testtarget/mcsi-testtarget → TTBIN (exit 1)
#   python3      skip (77), or fail in CI, when python3 is missing
#   hostile      tests/hostile/lib.sh and what it needs (hostile_need)

set -uo pipefail
# shellcheck disable=SC2034 # for the script that sources this file
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=targets.sh
source "$(dirname "${BASH_SOURCE[0]}")/targets.sh"
# shellcheck source=assert.sh
source "$(dirname "${BASH_SOURCE[0]}")/assert.sh"

interop_init() {
	targets_init
	local need
	for need in "$@"; do
		case $need in
		perf)
			PERF=$MCSI_BUILD/tools/perf/mcsi-perf
			[[ -x $PERF ]] || { echo "no mcsi-perf in $MCSI_BUILD"; exit 1; } ;;
		testtarget)
			TTBIN=$MCSI_BUILD/tools/testtarget/mcsi-testtarget
			[[ -x $TTBIN ]] || { echo "no mcsi-testtarget in $MCSI_BUILD"; exit 1; } ;;
		python3)
			command -v python3 >/dev/null || need_target "python3 is not installed" ;;
		hostile)
			# shellcheck source=../hostile/lib.sh
			source "$MCSI_SRC/tests/hostile/lib.sh"
			hostile_need ;;
		*)
			echo "interop_init: unknown need '$need'"
			exit 1 ;;
		esac
	done
}
