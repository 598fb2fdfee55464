#!/usr/bin/env bash
# The project's test command: set-up, formatting, vet, every package's tests
# (multi-rank ones under real mpirun with 1-4 ranks), the race detector on the
# concurrent packages (MPI-facing, optimizer, nn, accountant), an MPICH build with its tests under
# mpirun.mpich, the nn tests on OpenBLAS (-tags openblas) and on a 32-bit
# build without the vector kernels (their pure-Go fallbacks), and the Slurm
# tests on a local single-node Slurm.
#
#   scripts/test.sh                 everything
#   DPMPI_NO_SLURM=1 scripts/test.sh   without bringing up Slurm (its tests then skip)
#
# The full log of each go test run is kept in out/test/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin:$HOME/go/bin
log=out/test
mkdir -p "$log"
start=$SECONDS

scripts/setup.sh
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
gotest race -count=1 -race $(go list ./mpi/... ./optimizer/... ./perlayer/... ./simple/... ./nn/... ./accountant/... 2>/dev/null)
gotest mpich -count=1 -tags mpich ./mpi/...
gotest openblas -count=1 -tags openblas ./nn/...
# The pure-Go fallbacks of nn's vector kernels (machines without AVX2, other
# architectures), on a 32-bit build that has none of the kernels.
GOARCH=386 CGO_ENABLED=0 gotest noasm -count=1 ./nn/... ./data/...

echo "== all tests passed in $((SECONDS - start)) s"
