#!/usr/bin/env bash
# Interop with istgt: discovery, login without auth and with (mutual) CHAP,
# digests in the initiator's order of preference, LUN listing.
source "$(dirname "$0")/../lib/interop.sh"
interop_init

ctl="$MCSI_BUILD/tools/iscsictl/iscsictl"
export MCSI_CONFIG="$TEST_TMP/mcsi.conf" MCSI_SECRETS="$TEST_TMP/secrets"
c() { "$ctl" --timeout 8000 "$@"; }

istgt_start plain 32M
P1="127.0.0.1:$ISTGT_PORT" IQN1=$ISTGT_IQN
istgt_start chap 16M "iuser:isecret123456" "ituser:itsecret123456"
P2="127.0.0.1:$ISTGT_PORT" IQN2=$ISTGT_IQN

expect_ok "discovery" c discover "$P1"
expect_match "discovery shows the target" "$IQN1"

expect_ok "login without authentication" c login "$IQN1,$P1"
expect_match "istgt declares MRDSL 262144" "TargetMaxRecvDataSegmentLength +262144"
expect_match "LUN 0 of 32 MiB" "capacity-bytes +33554432"
expect_match "istgt vendor" "vendor +FreeBSD"

# istgt follows the initiator's order of preference.
c add target "$IQN1,$P1"
c modify target-config "$IQN1" -HeaderDigest CRC32C,None -DataDigest CRC32C,None
expect_ok "digests preferred on" c login "$IQN1"
expect_match "header digest CRC32C" "HeaderDigest +CRC32C"
expect_match "data digest CRC32C" "DataDigest +CRC32C"
expect_match "LUN read with digests" "capacity-bytes +33554432"
c modify target-config "$IQN1" -HeaderDigest None,CRC32C -DataDigest None,CRC32C
expect_ok "digests preferred off" c login "$IQN1"
expect_match "header digest None" "HeaderDigest +None"

# CHAP is mandatory (mutual) on the second target.
expect_fail "no credentials: refused" "auth" c login "$IQN2,$P2"
c modify initiator-config -authentication CHAP -CHAP-name iuser
printf 'isecret123456\n' | c modify initiator-config -CHAP-secret
c add target "$IQN2,$P2"
c modify target-config "$IQN2" -authentication CHAP -CHAP-name ituser
printf 'itsecret123456\n' | c modify target-config "$IQN2" -CHAP-secret
expect_ok "mutual CHAP login" c login "$IQN2"
expect_match "LUN of 16 MiB" "capacity-bytes +16777216"
printf 'itwrongsecret1\n' | c modify target-config "$IQN2" -CHAP-secret
expect_fail "target failing mutual CHAP refused" "mutual|target.*auth" c login "$IQN2"
printf 'itsecret123456\n' | c modify target-config "$IQN2" -CHAP-secret
printf 'iwrongsecret12\n' | c modify initiator-config -CHAP-secret
expect_fail "wrong initiator secret refused" "authentication failed" c login "$IQN2"

finish
