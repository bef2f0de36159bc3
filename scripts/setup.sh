#!/usr/bin/env bash
# Installs every Debian package mcsi needs (idempotent, non-interactive) and
# builds the tree into build/ (or $MCSI_BUILD). Safe to run again.
#
#   scripts/setup.sh            install what is missing, configure, build
#   scripts/setup.sh --no-build only the packages
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${MCSI_BUILD:-$here/build}

packages=(
	build-essential cmake pkg-config clang libclang-rt-14-dev llvm
	libisal-dev liburing-dev libjemalloc-dev libssl-dev
	libfuse3-dev fuse3 libblkid-dev nbdkit nbdkit-plugin-dev libcmocka-dev libbenchmark-dev
	fio tgt istgt libiscsi-bin tshark
	libisns-dev open-isns-utils open-isns-server  # iSNS discovery; isnsd for its test
	e2fsprogs util-linux iproute2 psmisc procps python3 socat
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
		missing+=("$p")
done
if ((${#missing[@]})); then
	echo "setup: installing ${missing[*]}"
	sudo=""
	[[ $(id -u) -eq 0 ]] || sudo=sudo
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -q
	$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

[[ ${1:-} == --no-build ]] && exit 0

cmake_args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
[[ ${CI:-} == true ]] && cmake_args+=(-DMCSI_WERROR=ON)
cmake -S "$here" -B "$build" "${cmake_args[@]}" >/dev/null
cmake --build "$build" -j "$(nproc)"
echo "setup: built into $build"
