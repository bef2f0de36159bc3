#!/usr/bin/env bash
# compare.sh: libiscsi's iscsi-perf against mcsi-perf, same workload, same
# target, same run; and mcsi-perf with digests off and on.
#
# Starts a private tgtd on loopback with a null LUN (reads return nothing,
# the protocol alone) and a RAM LUN, then runs each workload with both
# initiators in turn (the order alternating between repetitions) and
# prints a Markdown table: IOPS, MiB/s, CPU time per I/O of each initiator
# process (user + system, from the shell's accounting of the child, login
# included) and the ratios mcsi / iscsi-perf. Each figure is the median of
# the repetitions.
#
# With -d (and by default), a second table runs mcsi-perf with CRC32C
# header and data digests off and on, against a tgt null LUN that requires
# digests and, when it is built, against mcsi-testtarget --fast (whose
# digests are ISA-L's, where tgt's own CRC is slow enough to be the
# bottleneck). libiscsi negotiates header digests only, so it has no row
# there.
#
#   tools/perf/compare.sh [-t SECONDS] [-r REPEATS] [-o FILE] [-q] [-d|-D] [WORKLOAD...]
#   tools/perf/compare.sh -c 1,2,4 [-P POLICIES] [-T TARGETS] [-t S] [-r R] [-o FILE] [WORKLOAD...]
#
# With -c LIST, the MC/S table instead: mcsi-perf alone with each number
# of connections in LIST (queues: as many as connections, at most the
# CPUs), more than one connection under each scheduling policy in
# POLICIES (default least-queue-depth,adaptive), against tgt's null LUN
# (MaxConnections 4) and an istgt RAM LUN (MaxConnections 4); workloads
# default to rand4k-qd32 and seq128k-qd8. Each repetition runs every
# configuration once, in a rotating order; the table gives medians, the
# mean number of connections in use in each run (mcsi-perf samples it
# once a second) and every run's IOPS.
#
#   -t  seconds per run (default 6)      -r  repetitions (default 3)
#   -o  also write the tables to FILE    -q  quick: -t 3 -r 1
#   -d  digest table (default with "all")  -D  no digest table
#   -c  MC/S: comma-separated connection counts
#   -P  MC/S: comma-separated scheduling policies for more than 1
#   -T  MC/S: comma-separated targets, tgt and/or istgt (default both)
#   WORKLOAD: name[@lun] with name one of rand4k-qd1 rand4k-qd8 rand4k-qd32
#   rand4k-qd128 seq128k-qd8 seq1m-qd4 and lun null (default) or ram;
#   "all" (the default) is every name on both.
#
# Needs root (tgtd), tgt, libiscsi-bin (iscsi-perf) and a build of mcsi
# (MCSI_BUILD, default build/). CPU time per I/O is the figure that
# separates initiators here: the target shares the machine's cores.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export MCSI_SRC=${MCSI_SRC:-$(cd "$here/../.." && pwd)}
: "${MCSI_BUILD:=$MCSI_SRC/build}"
source "$MCSI_SRC/tests/lib/targets.sh"

secs=6
reps=3
out=""
digests=""
conns=""
policies="least-queue-depth,adaptive"
mtargets="tgt,istgt"
while getopts "t:r:o:qdDc:P:T:h" opt; do
	case $opt in
	t) secs=$OPTARG ;;
	r) reps=$OPTARG ;;
	o) out=$OPTARG ;;
	q) secs=3; reps=1 ;;
	d) digests=1 ;;
	D) digests=0 ;;
	c) conns=$OPTARG ;;
	P) policies=$OPTARG ;;
	T) mtargets=$OPTARG ;;
	*) sed -n '2,45p' "$0" | sed 's/^# \{0,1\}//'; exit 1 ;;
	esac
done
shift $((OPTIND - 1))
workloads=("$@")
if [[ -n $conns && ${#workloads[@]} -eq 0 ]]; then
	workloads=(rand4k-qd32 seq128k-qd8)
	digests=0
elif [[ ${#workloads[@]} -eq 0 || ${workloads[0]} == all ]]; then
	workloads=()
	for lun in null ram; do
		for w in rand4k-qd1 rand4k-qd8 rand4k-qd32 rand4k-qd128 seq128k-qd8 seq1m-qd4; do
			workloads+=("$w@$lun")
		done
	done
	digests=${digests:-1}
fi
digests=${digests:-0}

perf_bin="$MCSI_BUILD/tools/perf/mcsi-perf"
[[ -x $perf_bin ]] || { echo "compare: no $perf_bin (set MCSI_BUILD)" >&2; exit 1; }
[[ -n $conns ]] || command -v iscsi-perf >/dev/null || { echo "compare: iscsi-perf not installed (libiscsi-bin)" >&2; exit 1; }

targets_init
tgt_start
IQN=iqn.2026-11.org.mcsi.compare
tgt_target 1 "$IQN:null"
tgt_lun 1 1 null
tgt_param 1 MaxConnections 4
tgt_target 2 "$IQN:ram"
tgt_lun 2 1 rdwr 1G
tgt_target 3 "$IQN:digest"
tgt_lun 3 1 null
tgt_param 3 HeaderDigest CRC32C
tgt_param 3 DataDigest CRC32C
declare -A url=(
	[null]="iscsi://127.0.0.1:$TGT_PORT/$IQN:null/1"
	[ram]="iscsi://127.0.0.1:$TGT_PORT/$IQN:ram/1"
	[digest]="iscsi://127.0.0.1:$TGT_PORT/$IQN:digest/1"
)
tt_bin="$MCSI_BUILD/tools/testtarget/mcsi-testtarget"
if [[ $digests == 1 && -x $tt_bin ]]; then
	TT_PORT=$(free_port)
	setsid "$tt_bin" --port "$TT_PORT" --target "$IQN:tt" --lun 0:null:1T \
		--fast --digest any >"$TEST_TMP/testtarget.log" 2>&1 &
	_target_pids+=("$!")
	if wait_port "$TT_PORT"; then
		url[tt]="iscsi://127.0.0.1:$TT_PORT/$IQN:tt/0"
	else
		echo "compare: mcsi-testtarget did not start, no row for it" >&2
	fi
fi
# Fault the RAM LUN in once, so that no run pays for first touches.
"$perf_bin" -Q -m write -b 1m -q 8 -t 2 -s 1G "${url[ram]}" >/dev/null 2>&1 || true

# Workload name -> "mode bs qd" (bs in bytes, 512-byte blocks for iscsi-perf).
spec() {
	case $1 in
	rand4k-qd1) echo "rand 4096 1" ;;
	rand4k-qd8) echo "rand 4096 8" ;;
	rand4k-qd32) echo "rand 4096 32" ;;
	rand4k-qd128) echo "rand 4096 128" ;;
	seq128k-qd8) echo "seq 131072 8" ;;
	seq1m-qd4) echo "seq 1048576 4" ;;
	*) return 1 ;;
	esac
}

# run_timed OUTFILE CMD...: runs CMD, leaves its output in OUTFILE and
# prints "user+system" CPU seconds of the child.
run_timed() {
	local f=$1 t
	shift
	t=$( { TIMEFORMAT='%3U %3S'; time "$@" >"$f" 2>&1; } 2>&1 )
	awk '{ printf "%.3f\n", $1 + $2 }' <<<"$t"
}

# One run of one initiator: prints "IOS CPU_SECONDS" or "0 0" on failure.
run_mcsi() {
	local mode=$1 bs=$2 qd=$3 lun=$4 f="$TEST_TMP/mcsi.out" m=randread extra=("${@:5}")
	[[ $mode == seq ]] && m=read
	local cpu
	cpu=$(run_timed "$f" "$perf_bin" -Q -m "$m" -b "$bs" -q "$qd" -t "$secs" \
		"${extra[@]}" "${url[$lun]}")
	local ios
	ios=$(sed -n 's/^ios \([0-9]*\) .*/\1/p' "$f")
	if [[ -z $ios ]]; then
		echo "compare: mcsi-perf failed: $(tail -2 "$f" | tr '\n' ' ')" >&2
		echo "0 0"
		return
	fi
	echo "$ios $cpu"
}

run_iscsi() {
	local mode=$1 bs=$2 qd=$3 lun=$4 f="$TEST_TMP/iscsi.out" r=()
	[[ $mode == rand ]] && r=(-r)
	local cpu
	cpu=$(run_timed "$f" iscsi-perf -m "$qd" -b $((bs / 512)) -t "$secs" "${r[@]}" "${url[$lun]}")
	local iops
	iops=$(grep -ao "iops average [0-9]*" "$f" | tail -1 | awk '{print $3}')
	if [[ -z $iops ]]; then
		echo "compare: iscsi-perf failed: $(tail -c 300 "$f" | tr '\n\r' '  ')" >&2
		echo "0 0"
		return
	fi
	echo "$((iops * secs)) $cpu"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)]; else print 0 }'; }

# one_run WHO MODE BS QD LUN [mcsi-perf options]: prints "IOPS CPU_US_PER_IO".
one_run() {
	local who=$1 ios cpu
	shift
	read -r ios cpu < <(run_"$who" "$@")
	awk -v n="$ios" -v t="$secs" -v c="$cpu" 'BEGIN {
		printf "%.0f %.2f\n", n / t, (n > 0 ? c * 1e6 / n : 0) }'
}

# ---- MC/S: 1, 2, 4 ... connections, mcsi-perf alone ------------------------
if [[ -n $conns ]]; then
	if [[ ,$mtargets, == *,istgt,* ]]; then
		ISTGT_MAXCONN=4 istgt_start compare 1G
		url[istgt]="iscsi://127.0.0.1:$ISTGT_PORT/$ISTGT_IQN/0"
		"$perf_bin" -Q -m write -b 1m -q 8 -t 2 -s 1G "${url[istgt]}" >/dev/null 2>&1 || true
	fi
	ncpu=$(nproc)
	mrows=()
	mluns=()
	[[ ,$mtargets, == *,tgt,* ]] && mluns+=(null)
	[[ ,$mtargets, == *,istgt,* ]] && mluns+=(istgt)
	((${#mluns[@]})) || { echo "compare: -T names tgt and/or istgt" >&2; exit 1; }
	for lun in "${mluns[@]}"; do
		for wl in "${workloads[@]}"; do
			name=${wl%@*}
			read -r mode bs qd < <(spec "$name") || { echo "compare: unknown workload '$name'" >&2; exit 1; }
			# Every configuration once per repetition, in an order that
			# rotates, so that the machine's load (builds, a qemu guest)
			# falls on all of them alike.
			cfgs=()
			for n in ${conns//,/ }; do
				if ((n == 1)); then cfgs+=("1:-")
				else for pol in ${policies//,/ }; do cfgs+=("$n:$pol"); done; fi
			done
			declare -A c_i=() c_c=() c_a=()
			for ((k = 0; k < reps; k++)); do
				for ((j = 0; j < ${#cfgs[@]}; j++)); do
					cfg=${cfgs[$(((j + k) % ${#cfgs[@]}))]}
					n=${cfg%%:*} pol=${cfg#*:}
					q=$((n < ncpu ? n : ncpu))
					popt=()
					[[ $pol != - ]] && popt=(--sched "$pol")
					read -r iops cpu_io < <(one_run mcsi "$mode" "$bs" "$qd" "$lun" -c "$n" \
						--queues "$q" "${popt[@]}")
					c_i[$cfg]+="$iops "; c_c[$cfg]+="$cpu_io "
					# Mean connections in use over the run.
					c_a[$cfg]+="$(sed -n 's/^in use .* mean \([0-9.]*\)$/\1/p' \
						"$TEST_TMP/mcsi.out" | grep . || echo 1) "
				done
			done
			for cfg in "${cfgs[@]}"; do
				n=${cfg%%:*} pol=${cfg#*:}
				q=$((n < ncpu ? n : ncpu))
				mi=$(printf '%s\n' ${c_i[$cfg]} | median)
				mc=$(printf '%s\n' ${c_c[$cfg]} | median)
				ma=$(echo ${c_a[$cfg]} | tr ' ' '/')
				label="tgt null"
				[[ $lun == istgt ]] && label="istgt RAM"
				row=$(awk -v l="$label" -v wl="$name" -v n="$n" -v q="$q" -v bs="$bs" \
					-v mi="$mi" -v mc="$mc" -v pol="$pol" -v ma="$ma" -v all="${c_i[$cfg]}" 'BEGIN {
					printf "| %s | %s | %s | %s | %s | %s | %.1f | %s | %s | %s |", l, wl, n,
						pol, q, mi, mi * bs / 1048576, mc, ma, all }')
				mrows+=("$row")
				echo "$row" >&2
			done
			unset c_i c_c c_a
		done
	done
	mtable=$(
		echo "| target | workload | connections | policy | queues | IOPS | MiB/s | CPU µs/IO | mean in use per run | IOPS of each run |"
		echo "|---|---|---:|---|---:|---:|---:|---:|---|---|"
		printf '%s\n' "${mrows[@]}"
	)
	echo
	echo "$mtable"
	echo
	echo "($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg);" \
		"$secs s per run, median of $reps)"
	[[ -n $out ]] && echo "$mtable" >"$out"
	exit 0
fi

rows=()
for wl in "${workloads[@]}"; do
	name=${wl%@*}
	lun=null
	[[ $wl == *@* ]] && lun=${wl#*@}
	[[ -n ${url[$lun]:-} ]] || { echo "compare: unknown LUN '$lun'" >&2; exit 1; }
	read -r mode bs qd < <(spec "$name") || { echo "compare: unknown workload '$name'" >&2; exit 1; }
	m_iops=() m_cpu=() i_iops=() i_cpu=()
	for ((k = 0; k < reps; k++)); do
		for who in $( ((k % 2)) && echo "iscsi mcsi" || echo "mcsi iscsi"); do
			read -r iops cpu_io < <(one_run "$who" "$mode" "$bs" "$qd" "$lun")
			if [[ $who == mcsi ]]; then m_iops+=("$iops"); m_cpu+=("$cpu_io")
			else i_iops+=("$iops"); i_cpu+=("$cpu_io"); fi
		done
	done
	mi=$(printf '%s\n' "${m_iops[@]}" | median)
	mc=$(printf '%s\n' "${m_cpu[@]}" | median)
	ii=$(printf '%s\n' "${i_iops[@]}" | median)
	ic=$(printf '%s\n' "${i_cpu[@]}" | median)
	row=$(awk -v lun="$lun" -v wl="$name" -v bs="$bs" -v mi="$mi" -v mc="$mc" \
		-v ii="$ii" -v ic="$ic" 'BEGIN {
		mib = bs / 1048576
		printf "| %s | %s | %s | %s | %s | %.1f | %.1f | %s | %s | %s |",
			lun, wl, ii, mi, (ii > 0 ? sprintf("%.2f", mi / ii) : "-"),
			ii * mib, mi * mib, ic, mc,
			(ic > 0 ? sprintf("%.2f", mc / ic) : "-")
	}')
	rows+=("$row")
	echo "$row" >&2
done

table=$(
	echo "| LUN | workload | iscsi-perf IOPS | mcsi IOPS | IOPS ratio | iscsi-perf MiB/s | mcsi MiB/s | iscsi-perf CPU µs/IO | mcsi CPU µs/IO | CPU ratio |"
	echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
	printf '%s\n' "${rows[@]}"
)

# Digests off and on, mcsi-perf only (same alternation and medians).
drows=()
if [[ $digests == 1 ]]; then
	for tgt in digest tt; do
		[[ -n ${url[$tgt]:-} ]] || continue
		for name in rand4k-qd32 seq128k-qd8; do
			read -r mode bs qd < <(spec "$name")
			off_i=() off_c=() on_i=() on_c=()
			for ((k = 0; k < reps; k++)); do
				for d in $( ((k % 2)) && echo "on off" || echo "off on"); do
					if [[ $d == on ]]; then
						read -r iops cpu_io < <(one_run mcsi "$mode" "$bs" "$qd" "$tgt" -H -D)
						on_i+=("$iops"); on_c+=("$cpu_io")
					else
						# tgt's digest target requires CRC32C: its "off"
						# is the plain null target of the same tgtd.
						lun=$tgt
						[[ $tgt == digest ]] && lun=null
						read -r iops cpu_io < <(one_run mcsi "$mode" "$bs" "$qd" "$lun")
						off_i+=("$iops"); off_c+=("$cpu_io")
					fi
				done
			done
			a=$(printf '%s\n' "${off_i[@]}" | median)
			b=$(printf '%s\n' "${on_i[@]}" | median)
			ac=$(printf '%s\n' "${off_c[@]}" | median)
			bc=$(printf '%s\n' "${on_c[@]}" | median)
			label="tgt null"
			[[ $tgt == tt ]] && label="mcsi-testtarget null"
			row=$(awk -v l="$label" -v wl="$name" -v a="$a" -v b="$b" -v ac="$ac" -v bc="$bc" 'BEGIN {
				printf "| %s | %s | %s | %s | %s | %s | %s |", l, wl, a, b,
					(a > 0 ? sprintf("%.2f", b / a) : "-"), ac, bc }')
			drows+=("$row")
			echo "$row" >&2
		done
	done
fi
dtable=""
if [[ ${#drows[@]} -gt 0 ]]; then
	dtable=$(
		echo "| target | workload | IOPS digests off | IOPS CRC32C header+data | ratio | CPU µs/IO off | CPU µs/IO on |"
		echo "|---|---|---:|---:|---:|---:|---:|"
		printf '%s\n' "${drows[@]}"
	)
fi

echo
echo "$table"
if [[ -n $dtable ]]; then
	echo
	echo "$dtable"
fi
echo
echo "($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg);" \
	"median of $reps x ${secs}s; ratios are mcsi / iscsi-perf, digests on / off)"
if [[ -n $out ]]; then
	{
		printf '%s\n' "$table"
		[[ -n $dtable ]] && printf '\n%s\n' "$dtable"
	} >"$out"
fi
