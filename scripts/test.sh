#!/usr/bin/env bash
# The project's test command: set-up, formatting, vet, every package's tests
# (multi-rank ones under real mpirun with 1-4 ranks), the race detector on the
# concurrent packages (MPI-facing, optimizer, nn, accountant), an MPICH build with its tests under
# mpirun.mpich, the nn tests on OpenBLAS (-tags openblas), the kernel
# packages' tests on their pure-Go twins (-tags purego), a 32-bit compile
# check, and the Slurm tests on a local single-node Slurm.
#
#   scripts/test.sh                 everything
#   DPMPI_NO_SLURM=1 scripts/test.sh   without bringing up Slurm (its tests then skip)
#   DPMPI_NO_NETNS=1 scripts/test.sh   without the network-namespace hosts
#
# The full log of each go test run is kept in out/test/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin:$HOME/go/bin
log=out/test
mkdir -p "$log"
start=$SECONDS

scripts/setup.sh --test
# The safetensors test loads dpmpi's weights into torch.nn with Debian's
# python3-torch, which setup --test installed: here its skip would hide it.
export DPMPI_REQUIRE_TORCH=1
if [ "${DPMPI_NO_SLURM:-0}" != 1 ] && [ -x scripts/slurm-up.sh ]; then
	scripts/slurm-up.sh
	export DPMPI_REQUIRE_SLURM=1
fi

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change these files; run gofmt -w on them:" >&2
	echo "$unformatted" >&2
	exit 1
fi

echo "== go vet"
go vet ./...
go vet -tags mpich ./mpi/...

# gotest NAME ARGS... runs go test -v, keeps the full log, and prints the
# package results, the multi-rank subtests (np=N) and any failure.
gotest() {
	local name=$1 t0=$SECONDS
	shift
	echo "== go test $*"
	if go test -v "$@" > "$log/$name.log" 2>&1; then
		echo "   ($((SECONDS - t0)) s)"
		grep -E '^(ok|FAIL|---|\s+--- (PASS|FAIL): \S+/(np=[0-9]+|singleton)\b)|mpitest: WARNING' "$log/$name.log" | grep -vE '^--- PASS' || true
	else
		grep -E '^(ok|FAIL|\s*--- FAIL|panic:)' "$log/$name.log" || true
		echo "go test $* failed; the last 150 lines of $log/$name.log:" >&2
		tail -n 150 "$log/$name.log" >&2
		exit 1
	fi
}

gotest all -count=1 ./...
# The privacy audit: the correct optimizers must not be flagged at W = 1..4,
# and each deliberate bug of internal/mutant (a build tag each) must be caught.
echo "== privacy audit (scripts/audit.sh)"
scripts/audit.sh
# The multi-host tests need network namespaces: root and iproute2 (which
# setup --test installs). Where they cannot be made the step says why; with
# DPMPI_REQUIRE_MULTIHOST=1 (CI) that is a failure instead.
if [ "${DPMPI_NO_NETNS:-0}" != 1 ] && [ "$(id -u)" = 0 ] && ip netns list >/dev/null 2>&1; then
	scripts/multihost-test.sh
elif [ "${DPMPI_REQUIRE_MULTIHOST:-0}" = 1 ]; then
	echo "the multi-host tests need root and iproute2 (ip netns), and DPMPI_REQUIRE_MULTIHOST=1 requires them" >&2
	exit 1
else
	echo "== skipping the multi-host tests: making network namespaces needs root and iproute2 (ip netns);" \
		"run scripts/multihost-test.sh as root"
fi
gotest race -count=1 -race $(go list ./mpi/... ./optimizer/... ./perlayer/... ./simple/... ./nn/... ./accountant/... 2>/dev/null)
gotest mpich -count=1 -tags mpich ./mpi/...
gotest openblas -count=1 -tags openblas ./nn/...
# The pure-Go twins of the assembly kernels (what machines without AVX2+FMA and
# other architectures run), on this machine: the purego tag leaves every .s
# file out of the build.
gotest purego -count=1 -tags purego ./nn/... ./internal/... ./data/...

# A 32-bit build, compiled (tests included) but not executed: whether a kernel
# runs 32-bit binaries is a property of the machine, not of the code.
# (internal/multihost drives MPI through cgo, so it is left out.)
echo "== GOARCH=386 build of nn, data, internal (compile only)"
bin386=$(mktemp -d)
pkgs386=$(go list ./nn/... ./data/... ./internal/... | grep -v /internal/multihost)
GOARCH=386 CGO_ENABLED=0 go vet $pkgs386
GOARCH=386 CGO_ENABLED=0 go test -c -o "$bin386/" $pkgs386
printf 'package main\nfunc main() {}\n' > "$bin386/probe.go"
if GOARCH=386 CGO_ENABLED=0 go build -o "$bin386/probe" "$bin386/probe.go" && ("$bin386/probe") 2>/dev/null; then
	GOARCH=386 CGO_ENABLED=0 gotest run386 -count=1 ./nn/... ./data/...
else
	echo "   skipping the 32-bit run: this machine's kernel cannot execute 32-bit binaries" \
		"(the purego run above tests the same fallbacks)"
fi
rm -rf "$bin386"

echo "== all tests passed in $((SECONDS - start)) s"
