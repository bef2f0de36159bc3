#!/usr/bin/env bash
# iscsictl's configuration verbs, without a target: what they write to the
# configuration and secrets files, what they print, and how they refuse
# bad input (exit 2 for usage errors, 1 for failures).
source "$(dirname "$0")/../lib/interop.sh"
interop_init

ctl="$MCSI_BUILD/tools/iscsictl/iscsictl"
export MCSI_CONFIG="$TEST_TMP/etc/mcsi.conf"
unset MCSI_SECRETS
mkdir -p "$TEST_TMP/etc"
c() { "$ctl" "$@"; }
status_of() { "$@" >/dev/null 2>&1; echo $?; }

IQN=iqn.2026-11.org.mcsi.test:disk1

# --- help -------------------------------------------------------------------------
expect_ok "--help" c --help
expect_match "help lists the verbs" "discover <portal>"
for v in discover probe login logout list add remove modify; do
	expect_ok "help $v" c help "$v"
	expect_match "help $v has a usage line" "usage: iscsictl"
done
[[ $(status_of c frobnicate) == 2 ]] && pass "unknown verb exits 2" || fail "unknown verb"
[[ $(status_of c --bogus list targets) == 2 ]] && pass "unknown option exits 2" ||
	fail "unknown option"

# --- first use generates the initiator name ---------------------------------------------
expect_ok "list initiator-config" c list initiator-config
expect_match "a node name was generated" "node-name +iqn\.2026-11\.org\.mcsi:"
grep -q "node-name" "$MCSI_CONFIG" && pass "node name persisted" || fail "node name not saved"
name=$(sed -n 's/^node-name *= *//p' "$MCSI_CONFIG" | tr -d '"')
expect_ok "list again" c list initiator-config
expect_match "the same node name" "node-name +$name"

# --- targets and portals ------------------------------------------------------------
expect_ok "add target" c add target "$IQN,192.0.2.10:3261"
expect_ok "add a second portal" c add target "$IQN,[2001:db8::7]"
expect_ok "list targets" c list targets
expect_match "target listed" "$IQN"
expect_match "IPv4 portal listed" "192.0.2.10:3261"
expect_match "IPv6 portal in brackets" "\[2001:db8::7\]:3260"
expect_ok "list targets --json" c --json list targets
expect_match "json names the target" "\"name\":\"$IQN\""
expect_match "json has both portals" '"portals":\["192.0.2.10:3261","\[2001:db8::7\]:3260"\]'
expect_fail "a target without a portal is refused" "portal" c add target "$IQN"
[[ $(status_of c add target "not-an-iqn,192.0.2.1") == 2 ]] &&
	pass "a bad iSCSI name is a usage error" || fail "bad name accepted"
expect_fail "a bad name says why" "iqn|name" c add target "not-an-iqn,192.0.2.1"

# --- target-config -----------------------------------------------------------------
expect_ok "modify target-config" c modify target-config "$IQN" -MaxConnections 4 \
	-ErrorRecoveryLevel 2 -HeaderDigest CRC32C,None -DataDigest None -auto-login enable
expect_ok "list target-config" c list target-config "$IQN"
expect_match "max-connections 4" "max-connections +4"
expect_match "error-recovery-level 2" "error-recovery-level +2"
expect_match "header digest preference" "header-digest +prefer-CRC32C"
expect_match "auto-login" "auto-login +yes"
expect_fail "ERL out of range refused" "error-recovery-level|range|0" \
	c modify target-config "$IQN" -ErrorRecoveryLevel 3
expect_fail "unknown option of target-config" "not an option" \
	c modify target-config "$IQN" -interval 60
expect_fail "modify an unknown target" "no target" \
	c modify target-config iqn.2026-11.org.mcsi.test:other -MaxConnections 2

# --- secrets --------------------------------------------------------------------------
[[ $(status_of c modify initiator-config -CHAP-secret topsecret12345) == 2 ]] &&
	pass "a secret on the command line is refused" || fail "argv secret accepted"
expect_ok "secret from stdin" bash -c "printf 'topsecret12345\n' | '$ctl' modify initiator-config -CHAP-secret"
secrets="$TEST_TMP/etc/secrets"
[[ -f $secrets && $(stat -c %a "$secrets") == 600 ]] && pass "secrets file beside the config, 0600" ||
	fail "secrets file missing or wrong mode"
grep -q topsecret12345 "$MCSI_CONFIG" && fail "secret leaked into the config" ||
	pass "secret not in the config"
expect_ok "list shows <specified>" c list initiator-config
expect_match "secret specified" "chap-secret +<specified>"
expect_no_match "secret not printed" "topsecret12345"
expect_ok "explicit insecure argument" c modify initiator-config -CHAP-secret \
	--insecure-secret-argument othersecret123
expect_match "warned about ps" "ps\(1\)"
chmod 644 "$secrets"
expect_fail "a readable secrets file is refused" "chmod 600" c list initiator-config
chmod 600 "$secrets"

# --- discovery-config -----------------------------------------------------------------
expect_ok "discovery portal" c add discovery-portal 192.0.2.20
expect_ok "discovery interval" c modify discovery-config -SendTargets enable -interval 60
expect_ok "list discovery-config" c --json list discovery-config
expect_match "interval 60" '"interval":"60"'
expect_match "portal listed" '192.0.2.20:3260'
expect_fail "interval below 30 refused" "interval|30" c modify discovery-config -interval 5
expect_ok "remove discovery portal" c remove discovery-portal 192.0.2.20
expect_ok "list discovery-config" c list discovery-config
expect_no_match "portal gone" "192.0.2.20"

# --- removal --------------------------------------------------------------------------
expect_ok "remove one portal" c remove target "$IQN,192.0.2.10:3261"
expect_ok "list targets" c list targets
expect_no_match "that portal is gone" "192.0.2.10"
expect_match "the other stays" "2001:db8::7"
expect_ok "remove the target" c remove target "$IQN"
expect_ok "list targets" c list targets
expect_no_match "target gone" "$IQN"

finish
