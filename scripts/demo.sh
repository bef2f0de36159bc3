#!/usr/bin/env bash
# The main job, end to end: installs what is missing, builds, and, when no
# target is given, starts a loopback target (tgtd with a 256 MiB RAM LUN);
# then discovers it, logs in, lists its logical units and runs a few
# seconds of verified reads and writes on the first disk LUN.
#
#   scripts/demo.sh                                  loopback tgtd
#   scripts/demo.sh host[:port]                      discover, use the first target
#   scripts/demo.sh iscsi://host[:port]/<iqn>/<lun>  that target
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
export MCSI_SRC=$here MCSI_BUILD=${MCSI_BUILD:-$here/build}
"$here/scripts/setup.sh"

ctl="$MCSI_BUILD/tools/iscsictl/iscsictl"
# shellcheck source=../tests/lib/targets.sh
source "$here/tests/lib/targets.sh"
targets_init
export MCSI_CONFIG="$TEST_TMP/mcsi.conf"

target=${1:-}
if [[ -z $target ]]; then
	echo "demo: starting a loopback tgtd with a 256 MiB RAM LUN"
	tgt_start
	tgt_target 1 iqn.2026-11.org.mcsi.demo:disk1
	tgt_lun 1 1 rdwr 256M
	target="127.0.0.1:$TGT_PORT"
fi

say() { printf '\n$ %s\n' "$*"; "$@"; }

if [[ $target == iscsi://* ]]; then
	node=$target
else
	say "$ctl" discover "$target"
	iqn=$("$ctl" --json discover "$target" |
		sed -n 's/.*"name":"\([^"]*\)".*/\1/p' | head -1)
	[[ -n $iqn ]] || { echo "demo: $target offers no target" >&2; exit 1; }
	node="$iqn,$target"
fi
say "$ctl" probe "$node"
say "$ctl" login "$node"
say "$ctl" list luns "$node"

# Real I/O: a few seconds of verified random writes and reads (every block
# stamped with its LBA and a generation, every read checked).
if [[ $node == iscsi://* ]]; then
	url=$node
else
	lun=$("$ctl" --json list luns "$node" |
		grep -o '"lun":[0-9]*,"type":"disk"' | head -1 | grep -o '[0-9]*' || true)
	url="iscsi://$target/${node%%,*}/${lun:-0}"
fi
say "$MCSI_BUILD/tools/perf/mcsi-perf" --mode rw --bs 64k --qd 16 --time 5 \
	--span 64m --verify -Q "$url"
echo
echo "demo: done"
