# shellcheck shell=bash
# Starting and stopping real iSCSI targets on loopback for interop tests and
# benchmarks. Source this file; every target is started on a free port,
# remembered by PID and stopped by PID by targets_cleanup (installed as an
# EXIT trap by targets_init).
#
#   targets_init                    temp dir, cleanup trap
#   tgt_start [ipv6]                tgtd on 127.0.0.1 (and [::1]) → TGT_PORT TGT_CTL
#   tgt_target TID IQN              new target bound to every initiator
#   tgt_lun TID LUN rdwr|null SIZE  LUN backed by a RAM file or tgt's null store
#   tgt_param TID KEY VALUE         tgtadm --op update -n KEY -v VALUE
#   tgt_account TID USER PASS [--outgoing]
#   istgt_start IQN-NAME SIZE [auth-line...]  → ISTGT_PORT ISTGT_IQN
#   lio_start                       LIO in its qemu guest → LIO_PORT
#   tt_start [ARGS]                 mcsi-testtarget serving TT_IQN, LUNs 0 and 1 of
#                                   64 MiB (TT_LUNS overrides), a control socket
#                                   → TT_PORT TT_SOCK TT_PID TT_URL (LUN 0)
#   tt_ctl COMMAND                  one control line to the last tt_start's target
#                                   (fault injection, docs/testtarget.md); prints
#                                   the answer
#   proxy_start PORT                tests/interop/tcpcut.py in front of
#                                   127.0.0.1:PORT → CUT_PORT CUT_SOCK
#   cutctl ARGS...                  one tcpcut control command (cut, flip, ...);
#                                   status 0 for an "ok"/"accepted" answer
#   cut_every PERIOD SECS STOP CMD  CMD to the proxy every PERIOD s while a
#                                   run of SECS s has more than STOP s left
#   pduflip_start PORT [--hd] [--dd]  tests/interop/pduflip.py in front of
#                                   127.0.0.1:PORT → PX_PORT PX_SOCK
#   pxctl ARGS...                   one pduflip control command (flip, stats, ...)
#   ctl_line SOCKET WORDS...        one line to a unix control socket (socat;
#                                   tt_ctl, cutctl and pxctl use it)
#   need_target MSG                 fail in CI (CI=true), skip (77) elsewhere

: "${MCSI_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${MCSI_BUILD:=$MCSI_SRC/build}"
MCSI_SHARED=${MCSI_SHARED:-$MCSI_SRC/../shared}

_target_pids=()
_target_cleanups=()

targets_init() {
	TEST_TMP=$(mktemp -d /tmp/mcsi-test.XXXXXX)
	trap targets_cleanup EXIT
	trap 'exit 130' INT TERM
}

targets_cleanup() {
	local rc=$?
	local f
	for f in "${_target_cleanups[@]}"; do
		eval "$f" >/dev/null 2>&1 || true
	done
	local p
	for p in "${_target_pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${_target_pids[@]}"; do
		for _ in $(seq 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -9 "$p" 2>/dev/null || true
	done
	[[ -n ${TEST_TMP:-} && -d $TEST_TMP ]] && rm -rf "$TEST_TMP"
	return $rc
}

# need_target MSG: a target we need is not available.
need_target() {
	echo "interop: $*" >&2
	if [[ ${CI:-} == true ]]; then
		exit 1
	fi
	exit 77
}

# free_port: prints a TCP port that nothing listens on (v4 or v6).
free_port() {
	local port
	for _ in $(seq 100); do
		port=$((20000 + RANDOM % 30000))
		if ! ss -Htln "sport = :$port" | grep -q .; then
			echo "$port"
			return 0
		fi
	done
	return 1
}

# wait_port PORT [HOST]: until something accepts on it (10 s).
wait_port() {
	local host=${2:-127.0.0.1}
	for _ in $(seq 100); do
		if (exec 3<>"/dev/tcp/$host/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# ---- tgt -------------------------------------------------------------------

tgt_start() {
	command -v tgtd >/dev/null || need_target "tgtd is not installed (scripts/setup.sh)"
	TGT_PORT=$(free_port)
	TGT_CTL=$((1000 + RANDOM % 8000))
	local portals="portal=127.0.0.1:$TGT_PORT"
	[[ ${1:-} == ipv6 ]] && portals+=",portal=[::1]:$TGT_PORT"
	setsid tgtd -f -C "$TGT_CTL" --iscsi "$portals" >"$TEST_TMP/tgtd.$TGT_CTL.log" 2>&1 &
	TGT_PID=$!
	disown "$TGT_PID"
	_target_pids+=("$TGT_PID")
	_target_cleanups+=("tgt_shutdown $TGT_CTL")
	for _ in $(seq 100); do
		tgtadm -C "$TGT_CTL" --op show --mode sys >/dev/null 2>&1 && break
		kill -0 "$TGT_PID" 2>/dev/null || need_target "tgtd exited: $(tail -3 "$TEST_TMP/tgtd.$TGT_CTL.log")"
		sleep 0.1
	done
	wait_port "$TGT_PORT" || need_target "tgtd does not listen on $TGT_PORT"
}

tgtadm_() { tgtadm -C "$TGT_CTL" --lld iscsi "$@"; }

# tgt_shutdown CTL: the orderly stop targets.md describes (offline, delete
# every target, delete the system); the PID is signalled afterwards.
tgt_shutdown() {
	local ctl=$1 tid
	tgtadm -C "$ctl" --op update --mode sys --name State -v offline
	for tid in $(tgtadm -C "$ctl" --lld iscsi --op show --mode target |
		sed -n 's/^Target \([0-9]*\):.*/\1/p'); do
		tgtadm -C "$ctl" --lld iscsi --op delete --mode target --tid "$tid" --force
	done
	tgtadm -C "$ctl" --op delete --mode system
}

tgt_target() {
	tgtadm_ --op new --mode target --tid "$1" -T "$2"
	tgtadm_ --op bind --mode target --tid "$1" -I ALL
}

tgt_lun() {
	local tid=$1 lun=$2 kind=$3 size=${4:-64M}
	if [[ $kind == null ]]; then
		tgtadm_ --op new --mode logicalunit --tid "$tid" --lun "$lun" -E null -b "null$tid.$lun"
	else
		local f="/dev/shm/mcsi-tgt.$TGT_CTL.$tid.$lun"
		truncate -s "$size" "$f"
		_target_cleanups+=("rm -f $f")
		tgtadm_ --op new --mode logicalunit --tid "$tid" --lun "$lun" -E rdwr -b "$f"
	fi
}

tgt_param() { tgtadm_ --op update --mode target --tid "$1" -n "$2" -v "$3"; }

tgt_account() {
	local tid=$1 user=$2 pass=$3
	tgtadm_ --op new --mode account --user "$user" --password "$pass"
	if [[ $tid == sys ]]; then
		tgtadm_ --op bind --mode account --user "$user" ${4:+"$4"}
	else
		tgtadm_ --op bind --mode account --tid "$tid" --user "$user" ${4:+"$4"}
	fi
}

# ---- istgt -----------------------------------------------------------------

# istgt_start NAME SIZE [AUTH] [MUTUAL]: one target NodeBase:NAME with LUN0
# of SIZE on a RAM file. AUTH is "user:secret", MUTUAL "muser:msecret".
istgt_start() {
	command -v istgt >/dev/null || need_target "istgt is not installed (scripts/setup.sh)"
	local name=$1 size=$2 auth=${3:-} mutual=${4:-}
	ISTGT_PORT=$(free_port)
	ISTGT_IQN="iqn.2026-11.org.mcsi.istgt:$name"
	local d="$TEST_TMP/istgt.$ISTGT_PORT"
	mkdir -p "$d"
	local img="/dev/shm/mcsi-istgt.$ISTGT_PORT.img"
	truncate -s "$size" "$img"
	_target_cleanups+=("rm -f $img")
	local method="Auto" group=""
	if [[ -n $auth ]]; then
		method="CHAP"
		[[ -n $mutual ]] && method="CHAP Mutual"
		group="AuthGroup AuthGroup1"
	fi
	{
		echo "[AuthGroup1]"
		if [[ -n $auth ]]; then
			local line="Auth \"${auth%%:*}\" \"${auth#*:}\""
			[[ -n $mutual ]] && line+=" \"${mutual%%:*}\" \"${mutual#*:}\""
			echo "  $line"
		fi
	} >"$d/auth.conf"
	cat >"$d/istgt.conf" <<-EOF
	[Global]
	  NodeBase "iqn.2026-11.org.mcsi.istgt"
	  PidFile $d/istgt.pid
	  AuthFile $d/auth.conf
	  MediaDirectory $d
	  Timeout 30
	  NopInInterval 20
	  DiscoveryAuthMethod Auto
	  MaxSessions 16
	  MaxConnections ${ISTGT_MAXCONN:-4}
	  MaxR2T 16
	  MaxOutstandingR2T 16
	  DefaultTime2Wait 2
	  DefaultTime2Retain 20
	  FirstBurstLength 262144
	  MaxBurstLength 1048576
	  MaxRecvDataSegmentLength 262144
	  InitialR2T Yes
	  ImmediateData Yes
	  DataPDUInOrder Yes
	  DataSequenceInOrder Yes
	  ErrorRecoveryLevel 0
	[UnitControl]
	  Portal UC1 127.0.0.1:$((ISTGT_PORT + 1))
	  Netmask 127.0.0.1
	[PortalGroup1]
	  Portal DA1 127.0.0.1:$ISTGT_PORT
	[InitiatorGroup1]
	  InitiatorName "ALL"
	  Netmask 127.0.0.0/8
	[LogicalUnit1]
	  TargetName $name
	  Mapping PortalGroup1 InitiatorGroup1
	  AuthMethod $method
	  $group
	  UseDigest Auto
	  UnitType Disk
	  QueueDepth 64
	  LUN0 Storage $img $size
	EOF
	setsid istgt -D -c "$d/istgt.conf" >"$d/istgt.log" 2>&1 &
	ISTGT_PID=$!
	disown "$ISTGT_PID"
	_target_pids+=("$ISTGT_PID")
	wait_port "$ISTGT_PORT" || need_target "istgt did not start: $(tail -3 "$d/istgt.log")"
}

# ---- LIO (Linux's kernel target in a qemu guest) -----------------------------

lio_start() {
	local lio="$MCSI_SHARED/tools/lio/lio.sh"
	[[ -x $lio ]] || need_target "LIO tool not found at $lio"
	export LIO_DIR=${LIO_DIR:-/tmp/mcsi-lio}
	export LIO_PORT=${LIO_PORT:-13260}
	if ! "$lio" status >/dev/null 2>&1; then
		# A guest kept from an earlier script (LIO_KEEP) may have
		# crashed there and still run: stop it before a fresh one.
		"$lio" stop >/dev/null 2>&1 || true
		"$lio" build >"$TEST_TMP/lio-build.log" 2>&1 ||
			need_target "LIO build failed: $(tail -3 "$TEST_TMP/lio-build.log")"
		"$lio" start >"$TEST_TMP/lio-start.log" 2>&1 ||
			need_target "LIO did not start: $(tail -3 "$TEST_TMP/lio-start.log")"
		[[ ${LIO_KEEP:-} == 1 ]] || _target_cleanups+=("$lio stop")
	fi
	LIO_IQN_BASE="iqn.2003-01.org.linux-iscsi.lio"
}

lio_check_alive() {
	"$MCSI_SHARED/tools/lio/lio.sh" status
}

# ---- the project's test target ----------------------------------------------

_tt_n=0
tt_start() {
	local bin=$MCSI_BUILD/tools/testtarget/mcsi-testtarget
	[[ -x $bin ]] || { echo "no $bin (set MCSI_BUILD)"; exit 1; }
	: "${TT_IQN:=iqn.2026-11.org.mcsi.test:tt}"
	_tt_n=$((_tt_n + 1))
	local pf=$TEST_TMP/tt.$_tt_n.port
	TT_SOCK=$TEST_TMP/tt.$_tt_n.ctl
	rm -f "$pf"
	# shellcheck disable=SC2086 # TT_LUNS is a list of options
	"$bin" --portal 127.0.0.1:0 --port-file "$pf" --target "$TT_IQN" \
		${TT_LUNS:---lun 0:ram:64M:512 --lun 1:ram:64M:512} --control "$TT_SOCK" "$@" \
		>>"$TEST_TMP/tt.log" 2>&1 &
	TT_PID=$!
	_target_pids+=("$TT_PID")
	for _ in $(seq 200); do
		[[ -s $pf && -S $TT_SOCK ]] && break
		sleep 0.05
	done
	[[ -s $pf ]] || { echo "mcsi-testtarget did not start"; tail -5 "$TEST_TMP/tt.log"; exit 1; }
	TT_PORT=$(awk '{ print $1; exit }' "$pf")
	TT_URL="iscsi://127.0.0.1:$TT_PORT/$TT_IQN/0"
}

tt_ctl() { ctl_line "$TT_SOCK" "$*"; }

# ctl_line SOCKET WORDS...: one command line to a unix control socket (the
# test target's, tcpcut.py's, pduflip.py's: each answers and closes);
# prints the answer, status 1 when the socket does not answer. Through
# socat: a python process per command took seconds to start on a loaded
# machine (2 cores, ASan) and made the fault timing of the recovery tests
# drift. -t: how long to wait for the answer after our half-close.
ctl_line() {
	local sock=$1 ans
	shift
	if [[ -n $_ctl_socat ]]; then
		ans=$(printf '%s\n' "$*" | socat -t 30 - "UNIX-CONNECT:$sock") || return 1
	else
		ans=$(python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
s.shutdown(socket.SHUT_WR)
print(b"".join(iter(lambda: s.recv(4096), b"")).decode().strip())' "$sock" "$*") || return 1
	fi
	printf '%s\n' "$ans"
}
_ctl_socat=$(command -v socat || true)

# ---- the test proxies: tcpcut.py (cuts connections, flips a byte) and ------
# ---- pduflip.py (flips a bit in chosen PDUs) ----------------------------------

# _proxy_run SCRIPT NAME ARGS...: tests/interop/SCRIPT serve ARGS with a
# control socket in TEST_TMP, once it listens → _PROXY_PORT _PROXY_SOCK.
_px=0
_proxy_run() {
	local script=$1 name=$2
	shift 2
	_px=$((_px + 1))
	_PROXY_SOCK=$TEST_TMP/$name.$_px.sock
	local out=$TEST_TMP/$name.$_px.out
	python3 "$MCSI_SRC/tests/interop/$script" serve "$@" --ctl "$_PROXY_SOCK" >"$out" 2>&1 &
	_target_pids+=($!)
	for _ in $(seq 100); do
		grep -q '^port' "$out" 2>/dev/null && [[ -S $_PROXY_SOCK ]] && break
		sleep 0.05
	done
	_PROXY_PORT=$(awk '/^port/ { print $2 }' "$out")
	[[ -n $_PROXY_PORT ]] || { echo "$script did not start: $(cat "$out")"; exit 1; }
}

proxy_start() {
	_proxy_run tcpcut.py cut --to "127.0.0.1:$1"
	CUT_PORT=$_PROXY_PORT CUT_SOCK=$_PROXY_SOCK
}
# Status 0 when tcpcut answered "ok..." or "accepted..." (as tcpcut.py ctl).
cutctl() {
	local ans
	ans=$(ctl_line "$CUT_SOCK" "$@") || return 1
	printf '%s\n' "$ans"
	[[ $ans == ok* || $ans == accepted* ]]
}

# cut_every PERIOD SECS STOP CMD: CMD (cut, cutone...) to the proxy every
# PERIOD seconds, from PERIOD on while fewer than SECS - STOP seconds have
# passed; a line "T CMD: answer" per cut. For the background of a run of
# SECS seconds (socat starts in a few ms; a python per cut took a second
# or more on a loaded machine).
cut_every() {
	local period=$1 secs=$2 stop=$3 cmd=$4 t0 us
	t0=${EPOCHREALTIME/./}
	sleep "$period"
	while us=$((${EPOCHREALTIME/./} - t0)); ((us < (secs - stop) * 1000000)); do
		printf '%d.%03d %s: %s\n' $((us / 1000000)) $((us / 1000 % 1000)) "$cmd" \
			"$(ctl_line "$CUT_SOCK" "$cmd")"
		sleep "$period"
	done
}

pduflip_start() {
	local port=$1
	shift
	_proxy_run pduflip.py px --to "127.0.0.1:$port" "$@"
	PX_PORT=$_PROXY_PORT PX_SOCK=$_PROXY_SOCK
}
pxctl() { ctl_line "$PX_SOCK" "$@"; }
