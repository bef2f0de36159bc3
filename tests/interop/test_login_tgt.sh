#!/usr/bin/env bash
# Interop with tgt (tgtd): discovery, login without and with CHAP (one-way,
# mutual, wrong secrets on either side), digests, redirection, IPv6, and
# LUN listing that matches what tgtd exports.
source "$(dirname "$0")/../lib/interop.sh"
interop_init

ctl="$MCSI_BUILD/tools/iscsictl/iscsictl"
[[ -x $ctl ]] || { echo "no iscsictl in $MCSI_BUILD"; exit 1; }
export MCSI_CONFIG="$TEST_TMP/mcsi.conf" MCSI_SECRETS="$TEST_TMP/secrets"
c() { "$ctl" --timeout 5000 "$@"; }

IQN=iqn.2026-11.org.mcsi.test:tgt-plain
IQN_CHAP=iqn.2026-11.org.mcsi.test:tgt-chap
IQN_MUTUAL=iqn.2026-11.org.mcsi.test:tgt-mutual
IQN_DIGEST=iqn.2026-11.org.mcsi.test:tgt-digest
IQN_REDIR=iqn.2026-11.org.mcsi.test:tgt-redirect

tgt_start ipv6
tgt_target 1 "$IQN"
tgt_lun 1 1 rdwr 48M
tgt_lun 1 2 rdwr 16M
tgt_target 2 "$IQN_CHAP"
tgt_lun 2 1 rdwr 8M
tgt_account 2 chapuser chapsecret1234
tgt_target 3 "$IQN_MUTUAL"
tgt_lun 3 1 rdwr 8M
tgt_account 3 muser msecret123456
tgt_account 3 mtarget mtargetsecret99 --outgoing
tgt_target 4 "$IQN_DIGEST"
tgt_lun 4 1 rdwr 8M
tgt_param 4 HeaderDigest CRC32C
tgt_param 4 DataDigest CRC32C
P="127.0.0.1:$TGT_PORT"

# --- discovery ----------------------------------------------------------------
expect_ok "discovery lists every target" c discover "$P"
for t in "$IQN" "$IQN_CHAP" "$IQN_MUTUAL" "$IQN_DIGEST"; do
	expect_match "discovery shows $t" "$t"
done
expect_match "discovery shows the portal and tag" "127.0.0.1:$TGT_PORT,1"
expect_ok "discovery --json" c --json discover "$P"
expect_match "json names a target" "\"name\":\"$IQN\""

# --- login, no authentication -------------------------------------------------
expect_ok "login without authentication" c login "$IQN,$P"
expect_match "authentication None" "authentication +None"
expect_match "tgt's undeclared MRDSL is 8192" "TargetMaxRecvDataSegmentLength +8192"
expect_match "LUN 1 present" "lun +1$"
expect_match "LUN 1 capacity 48 MiB" "capacity-bytes +50331648"
expect_match "LUN 2 capacity 16 MiB" "capacity-bytes +16777216"
expect_match "tgt's vendor id" "vendor +IET"

expect_ok "list luns --json" c --json list luns "$IQN,$P"
expect_match "json: LUN 1 of 48 MiB" '"lun":1,.*"capacity-bytes":50331648'
expect_ok "list luns of one LUN by URL" c list luns "iscsi://127.0.0.1:$TGT_PORT/$IQN/2"
expect_match "URL selects LUN 2" "capacity-bytes +16777216"
expect_no_match "URL lists only LUN 2" "capacity-bytes +50331648"

expect_fail "unknown target is refused clearly" "target not found" \
	c login "iqn.2026-11.org.mcsi.test:nope,$P"
expect_fail "nothing listening is a clear error" "refused" \
	c login "$IQN,127.0.0.1:$(free_port)"

# --- IPv6 -----------------------------------------------------------------------
expect_ok "login over IPv6 [::1]" c login "$IQN,[::1]:$TGT_PORT"
expect_match "IPv6 portal used" "portal +\[::1\]:$TGT_PORT"

# --- CHAP -------------------------------------------------------------------------
expect_fail "CHAP target without credentials fails" "authentication" \
	c login "$IQN_CHAP,$P"
c modify initiator-config -authentication CHAP -CHAP-name chapuser
printf 'chapsecret1234\n' | c modify initiator-config -CHAP-secret
expect_ok "one-way CHAP login" c login "$IQN_CHAP,$P"
expect_match "CHAP was used" "authentication +CHAP"
expect_ok "list initiator-config hides the secret" c list initiator-config
expect_match "secret shown as <specified>" "<specified>"
expect_no_match "secret never printed" "chapsecret1234"
[[ $(stat -c %a "$MCSI_SECRETS") == 600 ]] && pass "secrets file is 0600" ||
	fail "secrets file mode $(stat -c %a "$MCSI_SECRETS")"

printf 'wrongsecret999\n' | c modify initiator-config -CHAP-secret
expect_fail "wrong initiator secret: authentication failed" "authentication failed" \
	c login "$IQN_CHAP,$P"

# --- mutual CHAP --------------------------------------------------------------
c modify initiator-config -CHAP-name muser
printf 'msecret123456\n' | c modify initiator-config -CHAP-secret
c add target "$IQN_MUTUAL,$P"
c modify target-config "$IQN_MUTUAL" -authentication CHAP -CHAP-name mtarget
printf 'mtargetsecret99\n' | c modify target-config "$IQN_MUTUAL" -CHAP-secret
expect_ok "mutual CHAP login" c login "$IQN_MUTUAL"
expect_match "mutual CHAP used" "authentication +CHAP \(mutual\)"
printf 'notthetargets1\n' | c modify target-config "$IQN_MUTUAL" -CHAP-secret
expect_fail "target failing mutual CHAP is refused" "mutual|target.*auth" \
	c login "$IQN_MUTUAL"
c modify target-config "$IQN_MUTUAL" -authentication None
c modify initiator-config -authentication None

# --- digests: tgt decides by itself ---------------------------------------------
expect_ok "digests configured on the target" c login "$IQN_DIGEST,$P"
expect_match "header digest CRC32C" "HeaderDigest +CRC32C"
expect_match "data digest CRC32C" "DataDigest +CRC32C"
expect_match "LUN readable with digests" "capacity-bytes +8388608"
c add target "$IQN,$P"
c modify target-config "$IQN" -HeaderDigest None -DataDigest None
expect_ok "digests off" c login "$IQN"
expect_match "header digest None" "HeaderDigest +None"

# --- redirection ----------------------------------------------------------------
# tgt will not redirect to the initiator's own address, so the target
# on 127.0.0.1 points at [::1] (the same tgtd listens there).
tgt_target 5 "$IQN_REDIR"
tgt_lun 5 1 rdwr 8M
tgt_param 5 RedirectAddress ::1
tgt_param 5 RedirectPort "$TGT_PORT"
tgt_param 5 RedirectReason Temporary
expect_ok "temporary redirection followed" c login "$IQN_REDIR,$P"
expect_match "redirect counted" "redirects +[1-9]"
tgt_param 5 RedirectReason Permanent
expect_ok "permanent redirection followed" c login "$IQN_REDIR,$P"
expect_match "ended on the redirect portal" "portal +\[::1\]:$TGT_PORT"

# --- probe ------------------------------------------------------------------------
expect_ok "probe a target without auth" c probe "$IQN,$P"
expect_match "probe says None" "authentication +None"
expect_ok "probe a CHAP target" c probe "$IQN_CHAP,$P"
expect_match "probe says CHAP" "authentication +CHAP"

finish
