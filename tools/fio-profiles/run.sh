#!/usr/bin/env bash
# Runs the fio profiles of this directory against one target and prints a
# summary table.
#
#   tools/fio-profiles/run.sh TARGET [PROFILE...]
#
# TARGET is a regular file (a LUN file of the FUSE mount, or a file on a
# mounted LUN), a block device (/dev/loopN), or an NBD URI
# (nbd://127.0.0.1:10809/lun0, nbd+unix:///lun0?socket=/run/mcsi/nbd.sock).
# PROFILE names a .fio file here without the suffix; default: all of them.
#
# Environment:
#   MCSI_FIO_SIZE     bytes of the target to use (default: 256M, or the
#                     target's size if smaller and known)
#   MCSI_FIO_RUNTIME  seconds per timed profile (default 10)
#   MCSI_FIO_ENGINE   engine for files and devices (default libaio)
#   MCSI_FIO_OUT      directory for fio's JSON output (default: a temp dir)
#   MCSI_FIO_ARGS     more fio options, applied to every profile
# Exits non-zero if any profile failed (fio error, or a verify mismatch).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
if (($# < 1)); then
	sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
fi
target=$1
shift
profiles=("$@")
if ((${#profiles[@]} == 0)); then
	profiles=(randread-4k randwrite-4k seqread-1m seqwrite-1m mix-70-30 verify)
fi

export MCSI_FIO_RUNTIME=${MCSI_FIO_RUNTIME:-10}
size=${MCSI_FIO_SIZE:-}
case $target in
nbd://* | nbd+unix://* | nbds://* | nbds+unix://*)
	kind=nbd
	tgt_args=(--ioengine=nbd "--uri=$target")
	;;
*)
	if [[ -b $target ]]; then
		kind=block
		dev_size=$(blockdev --getsize64 "$target")
	elif [[ -f $target ]]; then
		kind=file
		dev_size=$(stat -c %s "$target")
	else
		echo "run.sh: $target is not a file, a block device or an NBD URI" >&2
		exit 2
	fi
	tgt_args=("--ioengine=${MCSI_FIO_ENGINE:-libaio}" --direct=1 "--filename=$target")
	if [[ -z $size ]] && ((dev_size < 256 << 20)); then
		size=$dev_size
	fi
	;;
esac
export MCSI_FIO_SIZE=${size:-256M}

out=${MCSI_FIO_OUT:-}
if [[ -z $out ]]; then
	out=$(mktemp -d /tmp/mcsi-fio.XXXXXX)
fi
mkdir -p "$out"
read -r -a extra <<<"${MCSI_FIO_ARGS:-}"

failed=0
for p in "${profiles[@]}"; do
	job=$here/$p.fio
	if [[ ! -f $job ]]; then
		echo "run.sh: no profile $p" >&2
		failed=1
		continue
	fi
	if ! fio "${tgt_args[@]}" "${extra[@]}" --output-format=json \
		--output="$out/$p.json" "$job" >"$out/$p.log" 2>&1; then
		echo "run.sh: $p failed (see $out/$p.log)" >&2
		failed=1
	fi
done

python3 - "$out" "$kind" "$target" "${profiles[@]}" <<'EOF'
import json, os, sys

out, kind, target, profiles = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
print(f"target: {target} ({kind})")
hdr = ("profile", "read IOPS", "read MiB/s", "write IOPS", "write MiB/s",
       "p99 lat us", "errors")
rows = []
for p in profiles:
    path = os.path.join(out, p + ".json")
    try:
        with open(path) as f:
            text = f.read()
        # fio may print notices before the JSON document
        data = json.loads(text[text.index("{"):])
        j = data["jobs"][0]
    except (OSError, ValueError, KeyError, IndexError):
        rows.append((p, "-", "-", "-", "-", "-", "no result"))
        continue
    r, w = j["read"], j["write"]
    p99 = 0.0
    for side in (r, w):
        pct = side.get("clat_ns", {}).get("percentile", {})
        if side["io_bytes"] and "99.000000" in pct:
            p99 = max(p99, pct["99.000000"] / 1000.0)
    rows.append((p, f"{r['iops']:.0f}", f"{r['bw_bytes'] / 2**20:.1f}",
                 f"{w['iops']:.0f}", f"{w['bw_bytes'] / 2**20:.1f}",
                 f"{p99:.0f}", str(j["error"])))
widths = [max(len(str(x)) for x in col) for col in zip(hdr, *rows)]
for i, row in enumerate([hdr] + rows):
    print("  ".join(str(c).rjust(wd) if k else str(c).ljust(wd)
                    for k, (c, wd) in enumerate(zip(row, widths))))
    if i == 0:
        print("  ".join("-" * wd for wd in widths))
EOF
exit $failed
