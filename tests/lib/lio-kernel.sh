#!/usr/bin/env bash
# lio-kernel.sh KERNEL-PACKAGE LIO.SH-COMMAND...: run the shared LIO guest tool
# (../shared/tools/lio/lio.sh) with another Debian guest kernel than the one
# linux-image-amd64 points to, without changing the tool.
#
#   LIO_DIR=/tmp/mcsi-lio612 tests/lib/lio-kernel.sh linux-image-6.12-amd64 build
#
# lio.sh chooses its kernel with `apt-cache depends linux-image-amd64`. For
# the build only, an `apt-cache` first in PATH answers that one question with
# the given package (a metapackage such as linux-image-6.12-amd64 is resolved
# to the versioned image it depends on); every other apt-cache call goes to
# the real one. Commands other than build need no shim (the kernel is in
# $LIO_DIR once built) but are passed through for convenience.
#
# Why: LIO in Debian 12's 6.1 kernel crashes after an ERL 2 connection
# recovery under I/O (docs/design/recovery.md section 9); bookworm also
# carries 6.12 (bookworm-backports / security), whose LIO does not.
set -euo pipefail
(($# >= 2)) || { echo "usage: $0 KERNEL-PACKAGE build|start|stop|status|..." >&2; exit 2; }
kpkg=$1
shift
lio=${MCSI_SHARED:-$(cd "$(dirname "$0")/../../.." && pwd)/shared}/tools/lio/lio.sh
[[ -x $lio ]] || { echo "lio-kernel: no $lio" >&2; exit 1; }
[[ -n ${LIO_DIR:-} ]] || { echo "lio-kernel: set LIO_DIR (not the default guest's)" >&2; exit 2; }

real=$(command -v apt-cache)
# A metapackage (linux-image-6.12-amd64) depends on the versioned image.
img=$("$real" depends "$kpkg" | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
[[ -n $img ]] || img=$kpkg
"$real" show "$img" >/dev/null 2>&1 || { echo "lio-kernel: no package $img" >&2; exit 1; }

shim=$(mktemp -d)
trap 'rm -rf "$shim"' EXIT
cat >"$shim/apt-cache" <<EOF
#!/bin/sh
if [ "\$1" = depends ] && [ "\$2" = linux-image-amd64 ] && [ \$# -eq 2 ]; then
	printf 'linux-image-amd64\n  Depends: %s\n' '$img'
	exit 0
fi
exec '$real' "\$@"
EOF
chmod +x "$shim/apt-cache"
PATH=$shim:$PATH "$lio" "$@"
