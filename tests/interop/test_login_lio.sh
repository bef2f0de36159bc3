#!/usr/bin/env bash
# Interop with Linux LIO (in its qemu guest): discovery, login, one-way and
# mutual CHAP (and failures), digests in the initiator's order, ERL 2 and
# MaxConnections 8 negotiated, LUN listing.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../lib/targets.sh"
source "$here/../lib/assert.sh"
targets_init
[[ ${MCSI_NO_LIO:-} == 1 && ${CI:-} != true ]] && exit 77
lio_start

ctl="$MCSI_BUILD/tools/iscsictl/iscsictl"
export MCSI_CONFIG="$TEST_TMP/mcsi.conf" MCSI_SECRETS="$TEST_TMP/secrets"
c() { "$ctl" --timeout 20000 "$@"; }
P="127.0.0.1:$LIO_PORT"
B=$LIO_IQN_BASE

expect_ok "discovery" c discover "$P"
for t in erl2 chap mchap default; do
	expect_match "discovery shows $t" "$B:$t"
done

c add target "$B:erl2,$P"
c modify target-config "$B:erl2" -MaxConnections 8 -ErrorRecoveryLevel 2 \
	-HeaderDigest CRC32C,None -DataDigest CRC32C,None
expect_ok "login to erl2 with digests preferred" c login "$B:erl2"
expect_match "ERL 2 negotiated" "ErrorRecoveryLevel +2"
expect_match "MaxConnections 8" "MaxConnections +8"
expect_match "header digest CRC32C" "HeaderDigest +CRC32C"
expect_match "data digest CRC32C" "DataDigest +CRC32C"
expect_match "LUN 0 of 256 MiB" "capacity-bytes +268435456"
expect_match "LIO vendor" "vendor +LIO-ORG"
c modify target-config "$B:erl2" -HeaderDigest None,CRC32C -DataDigest None
expect_ok "login without digests" c login "$B:erl2"
expect_match "header digest None" "HeaderDigest +None"

expect_ok "stock target" c login "$B:default,$P"
expect_match "stock ERL 0" "ErrorRecoveryLevel +0"

expect_fail "CHAP target without credentials" "auth" c login "$B:chap,$P"
expect_ok "one-way CHAP through a URL" c login "iscsi://benchuser%benchsecret12@$P/$B:chap/0"
expect_match "CHAP used" "authentication +CHAP"
expect_fail "wrong secret in the URL" "authentication failed" \
	c login "iscsi://benchuser%wrongsecret99@$P/$B:chap/0"

c modify initiator-config -authentication CHAP -CHAP-name benchuser
printf 'benchsecret12\n' | c modify initiator-config -CHAP-secret
c add target "$B:mchap,$P"
c modify target-config "$B:mchap" -authentication CHAP -CHAP-name benchtarget
printf 'benchtgtsecret1\n' | c modify target-config "$B:mchap" -CHAP-secret
expect_ok "mutual CHAP" c login "$B:mchap"
expect_match "mutual used" "authentication +CHAP \(mutual\)"
printf 'notthetarget12\n' | c modify target-config "$B:mchap" -CHAP-secret
expect_fail "target failing mutual CHAP refused" "mutual|target.*auth" c login "$B:mchap"

expect_ok "mutual CHAP through a URL (libiscsi's target_user/target_password)" \
	c login "iscsi://benchuser%benchsecret12@$P/$B:mchap/0?target_user=benchtarget&target_password=benchtgtsecret1"
expect_match "mutual used via URL" "authentication +CHAP \(mutual\)"
expect_fail "wrong target password in the URL refused" "mutual|target.*auth" \
	c login "iscsi://benchuser%benchsecret12@$P/$B:mchap/0?target_user=benchtarget&target_password=wrongwrong123"

lio_check_alive >/dev/null && pass "LIO still healthy" || fail "LIO crashed"
finish
