#!/bin/sh
# Installs the Debian packages mutau builds and tests with; does nothing when
# they are all present. Uses sudo when not run as root.
# clang and its runtime libraries (libFuzzer, the sanitizers) build `make fuzz`.
# python3-pandas is for the test that reads every CSV mutau writes as a
# notebook would. With --bench it also installs what the benchmarks compare
# against (PyTorch).
set -eu

PKGS="gcc make pkg-config libdnnl-dev libopenblas-openmp-dev libpng-dev libjpeg62-turbo-dev libstb-dev check \
zlib1g-dev libjansson-dev libplplot-dev plplot-driver-cairo dataset-fashion-mnist curl ca-certificates \
libopenmpi-dev openmpi-bin python3-pandas clang libclang-rt-14-dev"
if [ "${1:-}" = "--bench" ]; then
    PKGS="$PKGS python3-torch"
fi

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

SUDO=""
if [ "$(id -u)" != 0 ]; then
    SUDO="sudo"
fi
echo "installing:$missing"
$SUDO apt-get update -q
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
