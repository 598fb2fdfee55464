#!/usr/bin/env bash
# Installs what dpmpi needs on Debian 12 when it is missing; does nothing when
# everything is present (safe to run again). Needs root for apt-get.
#
#   Open MPI (default build) and MPICH (-tags mpich), pkg-config and gcc for
#   cgo, OpenBLAS for the optional -tags openblas build of nn, and the
#   Fashion-MNIST data set (/usr/share/datasets/fashion-mnist).
#
#   scripts/setup.sh          what building, training and benchmarking need
#   scripts/setup.sh --test   also what only the tests need: Debian's
#                             python3-torch and numpy, for the PyTorch
#                             round-trip of the safetensors weights, and
#                             iproute2 for the multi-host tests' namespaces
set -euo pipefail

packages=(gcc libc6-dev pkg-config libopenmpi-dev openmpi-bin libmpich-dev mpich libopenblas-dev dataset-fashion-mnist)
if [ "${1:-}" = --test ]; then
	packages+=(python3-torch python3-numpy iproute2)
fi

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ]; then
	echo "setup: Go is not installed: dpmpi needs Go 1.26 (expected at /usr/local/go/bin/go)" >&2
	exit 1
fi
echo "setup: ok ($(PATH=$PATH:/usr/local/go/bin go version | cut -d' ' -f3), $(mpirun --version 2>/dev/null | head -1), $(mpirun.mpich --version 2>/dev/null | grep -m1 Version | tr -s ' '))"
