#!/usr/bin/env bash
# Benchmarks, reported as ratios against baselines measured in the same run.
#
#   scripts/bench.sh [section...]     sections: mpi (default: all that exist)
#
# mpi: the binding's sum-Allreduce under 2 ranks against a raw C MPI_Allreduce
#      (scripts/allreduce_raw.c, built with mpicc) with the same sizes, loop and
#      iteration counts, and the chunk-size sweep behind mpi.DefaultChunkBytes.
# Multi-rank Go benchmarks need a fixed -test.benchtime=Nx so that every rank
# runs the same number of iterations.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1
out=${BENCH_OUT:-out/bench}
mkdir -p "$out"
sections=("$@")
[ ${#sections[@]} -gt 0 ] || sections=(mpi)

# mpirun2 runs a command on 2 ranks, one per core, as in the reference
# measurements (default binding: the Go side uses one goroutine per rank here).
mpirun2() { mpirun --allow-run-as-root -np 2 "$@"; }

# gobench BINARY REGEX N runs Go benchmarks on 2 ranks with a fixed iteration
# count and prints rank 0's output (per-rank files, so lines never interleave).
gobench() {
	local dir
	dir=$(mktemp -d)
	DPMPI_MPITEST_CHILD=1 mpirun2 --output-filename "$dir" "$1" -test.run='^$' -test.bench="$2" -test.benchtime="$3x" >/dev/null
	cat "$dir"/1/rank.0/stdout
	rm -rf "$dir"
}

bench_mpi() {
	echo "== mpi: sum-Allreduce, 2 ranks, Go binding vs raw C MPI_Allreduce (same run)"
	mpicc -O2 -o "$out/allreduce_raw" scripts/allreduce_raw.c
	go test -c -o "$out/mpi.test" ./mpi
	local small="8 1024 8192 65536 262144" large="1048576 4194304 16777216 67108864"
	local iters_small=20000 iters_large=100 reps=${BENCH_REPS:-3}
	# The machines are shared and noisy: alternate raw and binding runs reps
	# times and keep each one's best time per size.
	: > "$out/raw.txt"
	: > "$out/go.txt"
	for _ in $(seq "$reps"); do
		mpirun2 "$out/allreduce_raw" $iters_small $small >> "$out/raw.txt"
		gobench "$out/mpi.test" '^BenchmarkAllreduce$/bytes=(8|1024|8192|65536|262144)$' $iters_small >> "$out/go.txt"
		mpirun2 "$out/allreduce_raw" $iters_large $large >> "$out/raw.txt"
		gobench "$out/mpi.test" '^BenchmarkAllreduce$/bytes=(1048576|4194304|16777216|67108864)$' $iters_large >> "$out/go.txt"
	done
	echo
	echo "| bytes | raw C µs | raw GB/s | binding µs | binding GB/s | binding/raw time |"
	echo "|---:|---:|---:|---:|---:|---:|"
	for bytes in $small $large; do
		rawns=$(awk -v b="$bytes" '$1==b{print $2}' "$out/raw.txt" | sort -g | head -1)
		gons=$(grep -E "bytes=${bytes}(-[0-9]+)?[[:space:]]" "$out/go.txt" | awk '{for(i=1;i<=NF;i++) if($i=="ns/op") print $(i-1)}' | sort -g | head -1 || true)
		[ -n "$gons" ] || { echo "bench.sh: no Go result for $bytes bytes in $out/go.txt" >&2; exit 1; }
		awk -v b="$bytes" -v r="$rawns" -v g="$gons" 'BEGIN{printf "| %d | %.2f | %.2f | %.2f | %.2f | %.3f |\n", b, r/1e3, b/r, g/1e3, b/g, g/r}'
	done
	echo
	echo "== mpi: 64 MiB sum-Allreduce by chunk size (2 ranks)"
	gobench "$out/mpi.test" '^BenchmarkAllreduceChunk$' 30 | grep 'chunk=' |
		awk '{for(i=1;i<=NF;i++) if($i=="ns/op") t=$(i-1); split($1,a,"chunk="); split(a[2],c,/[- \t]/); printf "chunk %9d B: %8.2f ms  %6.2f GB/s\n", c[1], t/1e6, 67108864/t}'
}

for s in "${sections[@]}"; do
	"bench_$s"
done
