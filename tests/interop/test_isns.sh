#!/usr/bin/env bash
# iSNS discovery in mcsid against open-isns's isnsd on loopback: targets
# registered by isnsadm (one with two portal groups, one with a name made
# to forge terminal output, two of a real tgtd), found by the
# periodic run and by a rescan, recorded as config-type discovered with
# their portals; a static target of the same name left alone; a login to a
# discovered tgtd target; the server gone: a clear error naming it,
# nothing recorded or removed, mcsid still serving. Also the iscsictl verbs.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/targets.sh"
source "$here/../lib/assert.sh"
source "$here/../lib/mcsid.sh"
targets_init

bin="$MCSI_BUILD/supervisor/daemon"
command -v isnsd >/dev/null && command -v isnsadm >/dev/null ||
	need_target "isnsd/isnsadm are not installed (open-isns-server, open-isns-utils: scripts/setup.sh)"

MCSID_REQ_TIMEOUT=60000
mcsid_env

# --- isnsd on a free port, everything of its own under $TEST_TMP -------------------
ISD="$TEST_TMP/isns"
mkdir -p "$ISD/db"
ISNS_PORT=$(free_port)
cat >"$ISD/isnsd.conf" <<EOF
SourceName = iqn.2026-11.org.mcsi.test:isnsd
ServerAddress = 127.0.0.1:$ISNS_PORT
BindAddress = 127.0.0.1:$ISNS_PORT
Database = $ISD/db
PIDFile = $ISD/isnsd.pid
ControlSocket = $ISD/isnsctl
Security = 0
SLPRegister = 0
DefaultDiscoveryDomain = 1
RegistrationPeriod = 10m
ESIRetries = 0
EOF
setsid isnsd -f -4 -c "$ISD/isnsd.conf" >"$ISD/isnsd.log" 2>&1 &
ISNSD_PID=$!
disown "$ISNSD_PID"
_target_pids+=("$ISNSD_PID")
wait_port "$ISNS_PORT" ||
	need_target "isnsd does not start here: $(tail -3 "$ISD/isnsd.log" | tr '\n' ' ')"
# isnsadm as one registering client per entity (open-isns ties an entity
# to the source name that registered it).
adm() {
	local src=$1
	shift
	printf 'ServerAddress = 127.0.0.1:%s\nSecurity = 0\nSourceName = %s\nControlSocket = %s\n' \
		"$ISNS_PORT" "$src" "$ISD/isnsctl" >"$ISD/adm.$src.conf"
	isnsadm -c "$ISD/adm.$src.conf" "$@"
}
nodes() { adm iqn.2026-11.org.mcsi.test:lister --list nodes 2>/dev/null; }

A=iqn.2026-11.org.mcsi.test:isns-two-portals
EVIL=$'iqn.2026-11.org.mcsi.test:bad\e[31mred'
expect_ok "isnsadm registers a target with two portal groups" \
	adm iqn.2026-11.org.mcsi.test:reg-a --register entity=ent-a "target=$A" \
	portal=127.0.0.1:3999 pg,pgt=1 portal=127.0.0.2:3998 pg,pgt=2
expect_ok "isnsadm registers a target whose name holds an escape sequence" \
	adm iqn.2026-11.org.mcsi.test:reg-evil --register entity=ent-evil "target=$EVIL" \
	portal=127.0.0.1:3997
V6=iqn.2026-11.org.mcsi.test:isns-v6
UDP=iqn.2026-11.org.mcsi.test:isns-udp-only
expect_ok "isnsadm registers a target at an IPv6 portal" \
	adm iqn.2026-11.org.mcsi.test:reg-v6 --register entity=ent-v6 "target=$V6" \
	"portal=[::1]:3994" pg,pgt=7
expect_ok "isnsadm registers a target reachable over UDP only" \
	adm iqn.2026-11.org.mcsi.test:reg-udp --register entity=ent-udp "target=$UDP" \
	portal=127.0.0.1:3995/udp

# --- tgtd's targets, registered for it ---------------------------------------------
# tgtd has an iSNS client of its own (tgtadm --mode sys --name iSNS -v On),
# but with isnsd it spins on a closed SCN socket (recv_pdu read error,
# 100% CPU) and stops answering logins; so isnsadm registers its targets.
T1=iqn.2026-11.org.mcsi.test:isns-tgt1
T2=iqn.2026-11.org.mcsi.test:isns-tgt2
tgt_start
tgt_target 1 "$T1"
tgt_lun 1 1 rdwr 8M
tgt_target 2 "$T2"
tgt_lun 2 1 rdwr 8M
# One entity: a portal belongs to one; isnsd joins both nodes to it.
expect_ok "isnsadm registers tgtd's two targets at tgtd's portal" \
	adm iqn.2026-11.org.mcsi.test:reg-tgt --register entity=ent-tgt "target=$T1" \
	"target=$T2" "portal=127.0.0.1:$TGT_PORT"
OUT=$(nodes)
expect_match "isnsd lists the registered nodes" "$A"
expect_match "with tgtd's" "$T2"

# --- iscsictl: the iSNS servers in the configuration -------------------------------
expect_ok "add discovery-isns without a port" c add discovery-isns 192.0.2.1
grep -q "^isns-server = 192.0.2.1:3205$" "$MCSI_CONFIG" && pass "the port defaults to 3205" ||
	fail "default iSNS port ($(grep isns-server "$MCSI_CONFIG"))"
expect_fail "the same server twice is refused" "already" c add discovery-isns 192.0.2.1:3205
expect_fail "an interface is refused" "unknown text" c add discovery-isns "192.0.2.2 interface=lo"
expect_fail "an unbracketed IPv6 address is refused" "bracket" c add discovery-isns 2001:db8::1
expect_ok "remove discovery-isns with the default port" c remove discovery-isns 192.0.2.1
expect_fail "removing it again fails" "no iSNS server" c remove discovery-isns 192.0.2.1
expect_ok "add discovery-isns host:port" c add discovery-isns "127.0.0.1:$ISNS_PORT"
expect_ok "modify discovery-config -iSNS enable" c modify discovery-config -iSNS enable
expect_fail "-iSNS takes enable or disable" "expected" c modify discovery-config -iSNS perhaps
expect_ok "list discovery-config" c list discovery-config
expect_match "shows isns enabled" "isns +enable"
expect_match "lists the server" "127.0.0.1:$ISNS_PORT"
# A static target that iSNS also lists keeps its own portal.
expect_ok "a static target of the same name" c add target "$T2,127.0.0.9:3260"

# --- mcsid: the run at start, then a rescan ---------------------------------------------
start_mcsid --no-auto-login
expect_ok "mcsid serves" r "$RUN/mcsid.sock" '{"op":"status"}'
expect_match "status shows iSNS" '"isns":true,"isns-servers":1'
# The round at start.
for _ in $(seq 100); do
	grep -q "discovery done" "$LOG" && break
	sleep 0.1
done
if grep -q "iSNS is not built in" "$LOG"; then
	# A build without libisns (-DMCSI_ISNS=OFF or no libisns-dev): it
	# must say so for each server, and there is nothing more to test.
	if grep -q "127.0.0.1:$ISNS_PORT: iSNS discovery failed: iSNS is not built in" "$LOG"; then
		need_target "mcsid is built without iSNS (and says so)"
	fi
	fail "the not-built-in message names the server"
	finish
	exit 1
fi
expect_ok "rescan runs iSNS discovery" r "$RUN/mcsid.sock" '{"op":"rescan"}'
expect_match "the server answered" '"isns-ok":1,"isns-failed":0'
expect_match "four targets found" '"targets":4'

grep -qE "127.0.0.1:$ISNS_PORT: iSNS: 4 targets" "$LOG" &&
	pass "one log line for the server: iSNS: 4 targets" ||
	{ fail "log line iSNS: N targets"; tail -20 "$LOG"; }
grep -q "iSNS: 1 portal group(s) without a usable TCP portal skipped" "$LOG" &&
	grep -q "iSNS: 1 target(s) without a usable portal skipped" "$LOG" &&
	pass "the UDP-only target is skipped and logged" ||
	{ fail "UDP-only target"; grep -a "skipped" "$LOG"; }
grep -q "invalid name skipped, first \"iqn.2026-11.org.mcsi.test:bad\\\\x1b\[31mred\"" "$LOG" &&
	pass "the forged name is logged escaped" ||
	{ fail "forged name escaped in the log"; grep -a "invalid name" "$LOG"; }
if grep -q $'\e' "$LOG"; then fail "a raw escape byte reached the log"; else
	pass "no raw escape byte in the log"; fi

expect_ok "iscsictl --json list targets" c --json list targets
LIST=$OUT
rec() { grep -o "{[^{}]*\"name\":\"$1\"[^{}]*}" <<<"$LIST"; }
[[ $(rec "$A") == *'"config-type":"discovered"'* ]] &&
	pass "the isnsadm target is recorded as discovered" || fail "record of $A: $(rec "$A")"
[[ $(rec "$A") == *'"127.0.0.1:3999"'* && $(rec "$A") == *'"127.0.0.2:3998"'* ]] &&
	pass "with both portals of its portal groups" || fail "portals of $A: $(rec "$A")"
[[ $(rec "$T1") == *'"config-type":"discovered"'* &&
	$(rec "$T1") == *"\"127.0.0.1:$TGT_PORT\""* ]] &&
	pass "tgtd's target recorded as discovered with tgtd's portal" ||
	fail "record of $T1: $(rec "$T1")"
[[ $(rec "$V6") == *'"portals":["[::1]:3994"]'* ]] &&
	pass "the IPv6 portal is recorded in brackets" || fail "record of $V6: $(rec "$V6")"
[[ -z $(rec "$UDP") ]] && pass "no record for the UDP-only target" || fail "$UDP recorded"
[[ $(rec "$T2") == *'"config-type":"static"'* && $(rec "$T2") == *'"127.0.0.9:3260"'* &&
	$(rec "$T2") != *"$TGT_PORT"* ]] &&
	pass "the static target is left alone" || fail "record of $T2: $(rec "$T2")"
grep -c '^\[target' "$MCSI_CONFIG" | grep -qx 4 &&
	pass "nothing else recorded (no target for the forged name)" ||
	fail "targets in the file: $(grep '^\[target' "$MCSI_CONFIG")"

# --- a discovered target works ----------------------------------------------------------
expect_ok "login to the discovered tgtd target" c login "$T1"
expect_ok "list its LUNs" c list luns "$T1"
expect_match "LUN 1 of tgtd is there, 8 MiB" "capacity-bytes +8388608"
expect_ok "logout" c logout "$T1"

# --- portals that change at the server are brought up to date ---------------------------
expect_ok "isnsadm moves the target to another portal" \
	adm iqn.2026-11.org.mcsi.test:reg-a --register --replace entity=ent-a "target=$A" \
	portal=127.0.0.3:3996 pg,pgt=1
expect_ok "rescan" r "$RUN/mcsid.sock" '{"op":"rescan"}'
expect_match "one target changed" '"changed":1'
expect_ok "list targets" c --json list targets
LIST=$OUT
[[ $(rec "$A") == *'"127.0.0.3:3996"'* && $(rec "$A") != *'3999'* ]] &&
	pass "its recorded portals follow" || fail "portals of $A: $(rec "$A")"

# --- more targets than one answer can hold ------------------------------------------
# isnsd fails a DevAttrQry whose answer outgrows its message buffer; mcsid
# then walks the nodes with DevGetNext and asks for each one's portals.
many_ok=1
for b in 1 2 3 4; do
	args=()
	for i in $(seq 40); do args+=("target=iqn.2026-11.org.mcsi.test:many-$b-$i"); done
	adm "iqn.2026-11.org.mcsi.test:reg-many$b" --register "entity=ent-many$b" "${args[@]}" \
		"portal=127.0.$b.1:3260" >/dev/null 2>&1 || many_ok=0
done
((many_ok)) && pass "isnsadm registers 160 more targets" || fail "registering 160 targets"
expect_ok "rescan" r "$RUN/mcsid.sock" '{"op":"rescan"}'
expect_match "all 164 listed, 160 new" '"targets":164,"added":160,"changed":0'
grep -qE "127.0.0.1:$ISNS_PORT: iSNS: 164 targets" "$LOG" && pass "logged: iSNS: 164 targets" ||
	fail "log line with 164 targets"
expect_ok "list targets" c --json list targets
LIST=$OUT
[[ $(rec iqn.2026-11.org.mcsi.test:many-4-40) == *'"127.0.4.1:3260"'* ]] &&
	pass "the last one with its portal" || fail "many-4-40: $(rec iqn.2026-11.org.mcsi.test:many-4-40)"

# --- discovery domains apply to our node name --------------------------------------
ME=$(sed -n 's/^node-name = //p' "$MCSI_CONFIG")
expect_ok "a discovery domain with our initiator and one target" \
	adm iqn.2026-11.org.mcsi.test:admin --local --dd-register dd-name=mcsi-only \
	"member-name=$ME" "member-name=$T1"
# (--local talks to isnsd's control socket, named in its configuration.)
expect_ok "rescan" r "$RUN/mcsid.sock" '{"op":"rescan"}'
expect_match "only the target of our domain is listed" '"targets":1,"added":0,"changed":0'
grep -qE "127.0.0.1:$ISNS_PORT: iSNS: 1 targets" "$LOG" && pass "logged: iSNS: 1 targets" ||
	fail "log line after the domain"
expect_ok "list targets" c --json list targets
LIST=$OUT
[[ -n $(rec "$A") && -n $(rec "$T1") ]] &&
	pass "targets the server no longer lists to us stay recorded" || fail "targets removed"

# --- the server goes away ------------------------------------------------------------
BEFORE=$(c --json list targets)
kill "$ISNSD_PID"
for _ in $(seq 50); do kill -0 "$ISNSD_PID" 2>/dev/null || break; sleep 0.1; done
expect_fail "rescan with the server down fails" "no discovery portal or iSNS server answered" \
	r "$RUN/mcsid.sock" '{"op":"rescan"}'
grep -qE "127.0.0.1:$ISNS_PORT: iSNS discovery failed: no answer" "$LOG" &&
	pass "the log names the server and says why" ||
	{ fail "error line for the server"; tail -5 "$LOG"; }
[[ $(c --json list targets) == "$BEFORE" ]] &&
	pass "nothing recorded or removed while it is down" || fail "targets changed"
expect_ok "mcsid keeps serving" r "$RUN/mcsid.sock" '{"op":"status"}'
kill -0 "$MCSID_PID" 2>/dev/null && pass "mcsid still runs" || fail "mcsid exited"

kill "$MCSID_PID"
wait "$MCSID_PID" 2>/dev/null
finish
