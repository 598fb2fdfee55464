#!/usr/bin/env bash
# Benchmarks, reported as ratios against baselines measured in the same run.
#
#   scripts/bench.sh [section...]     sections: mpi optimizer perlayer noise nn accountant opacus
#                                     (default: all but opacus)
#
# mpi: the binding's sum-Allreduce under 2 ranks against a raw C MPI_Allreduce
#      (scripts/allreduce_raw.c, built with mpicc) with the same sizes, loop and
#      iteration counts, and the chunk-size sweep behind mpi.DefaultChunkBytes.
# optimizer: clip-and-accumulate on a dense 256 × 500k block against copy() of
#      the same bytes in the same iterations; noise ns/coordinate, plain and
#      secure; wrapped-optimizer step ns/parameter.
# perlayer: under 2 ranks, Simple's and the hook-based optimizer's
#      communication against a raw AllreduceSum of the same bytes in the same
#      run, and the share of the reduction hidden behind a simulated backward.
# noise: rank-0 against sharded noise (perlayer BenchmarkNoiseMode) at 2, 3
#      and 4 ranks, Simple and the hook-based optimizer, on the MLP-sized
#      arena and a 10 M-parameter one: the whole step, rank 0's own work
#      and the other ranks' wait in the reduction. Above 2 ranks the ranks
#      share the 2 cores (--oversubscribe), so only W = 2 is one rank per
#      core here.
# nn:  training-step throughput (samples/s, 2 threads) of the MLP and CNN,
#      non-private and DP per-layer, in float64 and float32 (each float32 step
#      as a ratio to the float64 one of the same run); the comparison with
#      Opacus is the opacus section's, measured side by side.
# accountant: dpmpi's accountant benchmarks (RDP and PRV ε, RDP calibration,
#      a 100,000-point RDP curve; go test -bench with -cpu 1,2), then, with
#      the Opacus peer present (OPACUS_SH's opacus-bench/opacus14, Opacus
#      1.4), scripts/opacus_accountant.py times Opacus's accountants on
#      exactly the same cases in the same run (one thread, opacus.sh's tuned
#      environment, median of repeats adding up to 2 s after a warm-up). The
#      table gives Opacus/dpmpi time ratios against dpmpi on 1 and on 2 cores,
#      and a second one dpmpi's ε (from dpaccount) beside Opacus's for each
#      case, every point of the curve compared. Opacus has no curve function:
#      it gets dpmpi's incremental method through its public API (per-step
#      RDP once, get_privacy_spent per point). Without the peer the ratios
#      are skipped with a message (install: `opacus.sh setup`).
# opacus: dpmpi's training steps (MLP 784-512-256-10 and the tanh CNN, batch
#      256, 2 threads, non-private and the whole DP step: per-layer clipping,
#      σ = 1 noise, SGD), in float64 and in float32, side by side with Opacus
#      in the same run, in Opacus's strongest configuration (OPACUS_SH, default
#      ../shared/peers/opacus.sh: torch 1.13 with OpenMP OpenBLAS and
#      tcmalloc; Opacus 1.4 flat and per-layer hooks, Opacus 1.5 ghost
#      clipping; torch computes in float32, its default). dpmpi (both
#      precisions in one run) and Opacus alternate for BENCH_ROUNDS rounds
#      (default 3); the table gives medians, ranges and the ratio of medians
#      against torch (non-private) or each Opacus DP variant (DP), the fastest
#      one marked. A second table gives each dpmpi step's model FLOP/s as a
#      fraction of the 2-core DGEMM (float64) or SGEMM (float32) peak measured
#      in the same run. This section needs the peer installed (`opacus.sh
#      setup`); it is a benchmark, not a test.
# Multi-rank Go benchmarks need a fixed -test.benchtime=Nx so that every rank
# runs the same number of iterations.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1
out=${BENCH_OUT:-out/bench}
mkdir -p "$out"
sections=("$@")
[ ${#sections[@]} -gt 0 ] || sections=(mpi optimizer perlayer noise nn accountant)

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

bench_optimizer() {
	echo "== optimizer: clip-and-accumulate vs copy(), noise, wrapped optimizers (1 process, 2 threads)"
	go test -run '^$' -bench 'ClipAccumulate|Noise|Updater' -benchtime=5x -count=1 ./optimizer | grep -E '^Benchmark'
}

bench_perlayer() {
	echo "== perlayer: communication vs raw AllreduceSum, and overlap (2 ranks, same run)"
	go test -c -o "$out/perlayer.test" ./perlayer
	gobench "$out/perlayer.test" 'Communication|Overlap' 40 | grep -E '^Benchmark'
}

bench_noise() {
	echo "== noise: rank-0 vs sharded noise, step times by world size (same run)"
	go test -c -o "$out/perlayer.test" ./perlayer
	local w dir
	for w in 2 3 4; do
		dir=$(mktemp -d)
		DPMPI_MPITEST_CHILD=1 mpirun --allow-run-as-root --oversubscribe --bind-to none -np "$w" --output-filename "$dir" \
			"$out/perlayer.test" -test.run='^$' -test.bench='NoiseMode' -test.benchtime="${BENCH_NOISE_ITERS:-10}x" >/dev/null
		grep -E '^Benchmark' "$dir"/1/rank.0/stdout
		rm -rf "$dir"
	done
}

bench_nn() {
	echo "== nn: training step at batch 256, samples/s, float64 and float32 (against Opacus: the opacus section)"
	echo "-- pure Go (gonum BLAS)"
	nn_table
	echo "-- OpenBLAS (-tags openblas)"
	nn_table -tags openblas
}

# The nn package runs OpenBLAS single-threaded inside its own worker
# goroutines (it calls openblas_set_num_threads(1)), so OPENBLAS_NUM_THREADS
# does not matter; GOMAXPROCS sets the number of workers. Only the training
# step benchmarks (MLP, CNN) are run, not the kernel benchmarks; each float32
# step is printed with its speed-up over the float64 one of the same run.
nn_table() {
	GOMAXPROCS=2 go test "$@" -run '^$' -bench 'MLP|CNN' -benchtime=2s -count=1 ./nn | grep -E '^Benchmark' |
		awk '{name=$1; sub(/-[0-9]+$/, "", name); for(i=1;i<=NF;i++) if($i=="samples/s") sps[name]=$(i-1); order[++n]=name}
		END {for (k = 1; k <= n; k++) {name = order[k]; base = name; sub(/Float32$/, "", base)
			if (name != base && (base in sps)) printf "%-48s %10.0f samples/s  %5.2fx float64\n", name, sps[name], sps[name]/sps[base]
			else printf "%-48s %10.0f samples/s\n", name, sps[name]}}'
}

bench_accountant() {
	local peer=${OPACUS_SH:-../shared/peers/opacus.sh} go_rows="$out/accountant-go.txt"
	local bench
	bench=$(dirname "$peer")/opacus-bench
	echo "== accountant: dpmpi's benchmarks (go test -bench, -cpu 1,2), then Opacus 1.4's accountants on the same cases in the same run"
	go test -run '^$' -bench . -benchtime=2s -cpu 1,2 -count=1 ./accountant | grep -E '^Benchmark' | tee "$go_rows" |
		awk '{for(i=1;i<=NF;i++) if($i=="ns/op") printf "%-40s %10.3f ms\n", $1, $(i-1)/1e6}'
	if [ ! -d "$bench/opacus14" ]; then
		echo "bench.sh: Opacus peer not found ($bench/opacus14): the Opacus/dpmpi ratios are skipped." \
			"Install it with \`bash ../shared/peers/opacus.sh setup\` (the shared peers tree), or point OPACUS_SH at its opacus.sh."
		return 0
	fi
	accountant_peer "$bench" "$go_rows"
}

# accountant_peer BENCH GO_ROWS runs scripts/opacus_accountant.py on the
# Opacus 1.4 tree vendored under BENCH (PYTHONPATH and "tuned" environment
# as in opacus.sh: OpenMP OpenBLAS, tcmalloc preloaded; one thread) and
# prints the timing table against dpmpi's benchmark lines in GO_ROWS, then
# dpmpi's and Opacus's ε on each case. dpmpi's values come from dpaccount
# (the same accountant calls as the benchmarks); its 100,000-point curve is
# handed to the script, which compares every point.
accountant_peer() {
	local bench=$1 go_rows=$2 dpa="$out/dpaccount" vals="$out/accountant-dpmpi.txt" curve="$out/accountant-curve.csv"
	local rows="$out/accountant-opacus.txt"
	go build -o "$dpa" ./cmd/dpaccount
	jfield() { awk -v k="\"$1\":" '$1==k{v=$2; sub(/,$/,"",v); print v}'; } # jfield KEY < dpaccount --json
	local one=(--sample-rate 0.01 --noise-multiplier 1 --steps 10000 --delta 1e-5 --json)
	{
		echo "RDPEpsilon eps $("$dpa" epsilon "${one[@]}" | jfield epsilon)"
		echo "PRVEpsilon eps $("$dpa" epsilon --accountant prv "${one[@]}" | jfield epsilon)"
		echo "PRVEpsilonTwoSegments eps $("$dpa" epsilon --accountant prv --history 1.0:0.01:500,2.0:0.02:300 --delta 1e-5 --json | jfield epsilon)"
		"$dpa" sigma --target-epsilon 2 --delta 1e-5 --sample-rate 0.01 --steps 10000 --json > "$out/accountant-sigma.json"
		echo "CalibrateRDP eps $(jfield epsilon < "$out/accountant-sigma.json")"
		echo "CalibrateRDP sigma $(jfield noise_multiplier < "$out/accountant-sigma.json")"
		"$dpa" curve --sample-rate 0.01 --noise-multiplier 1 --steps 100000 --delta 1e-5 --every 1 --csv "$curve" > /dev/null
		echo "RDPCurve100k eps $(tail -1 "$curve" | cut -d, -f3)"
	} > "$vals"
	echo "-- Opacus (scripts/opacus_accountant.py, $bench/opacus14, 1 thread, median of repeats adding up to 2 s)"
	(
		# opacus.sh's tuned(): Opacus's strongest configuration here.
		export LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp
		export LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4
		export PYTHONPYCACHEPREFIX=${TMPDIR:-/tmp}/opacus-pycache
		PYTHONPATH=$bench/opacus14:$bench/stubs:$bench OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
			/usr/bin/python3 scripts/opacus_accountant.py --dpmpi-curve "$curve"
	) | tee "$rows"
	echo
	awk '
	FILENAME == ARGV[1] {
		n = $1; sub(/^Benchmark/, "", n); cpu = 1
		if (match(n, /-[0-9]+$/)) { cpu = substr(n, RSTART + 1); n = substr(n, 1, RSTART - 1) }
		for (i = 1; i <= NF; i++) if ($i == "ns/op") ms[n, cpu] = $(i-1) / 1e6
		next
	}
	FILENAME == ARGV[2] { if ($1 == "opacus-accountant") { names[++nn] = $2; for (i = 3; i < NF; i += 2) op[$2, $i] = $(i+1) } next }
	{ dp[$1, $2] = $3 }
	function agree(a, b) {
		if (a == "" || b == "") return "missing"
		if (a + 0 == b + 0) return "identical"
		return sprintf("differ by %.2g (relative %.2g)", a > b ? a - b : b - a, (a > b ? a - b : b - a) / (b < 0 ? -b : b))
	}
	function ratio(o, d) { return d > 0 ? sprintf("%.1fx", o / d) : "–" }
	END {
		desc["RDPEpsilon"] = "RDP ε, q 0.01 σ 1, 10,000 steps, δ 1e-5"
		desc["PRVEpsilon"] = "PRV ε, same history"
		desc["PRVEpsilonTwoSegments"] = "PRV ε, (σ 1, q 0.01, 500) + (σ 2, q 0.02, 300)"
		desc["CalibrateRDP"] = "RDP calibration, target ε 2, δ 1e-5, q 0.01, 10,000 steps"
		desc["RDPCurve100k"] = "RDP ε after each of 100,000 steps (Opacus: compute_rdp once, get_privacy_spent per point)"
		print "| operation | dpmpi ms, 1 core | dpmpi ms, 2 cores | Opacus 1.4 ms, 1 thread | Opacus/dpmpi, 1 core | Opacus/dpmpi, 2 cores |"
		print "|---|---:|---:|---:|---:|---:|"
		for (k = 1; k <= nn; k++) {
			n = names[k]
			if (!((n, 1) in ms) || !((n, 2) in ms)) { printf "| %s | missing | missing | %.3f | – | – |\n", n, op[n, "ms"]; bad = 1; continue }
			printf "| %s: %s | %.3f | %.3f | %.3f | **%s** | %s |\n", n, desc[n], ms[n, 1], ms[n, 2], op[n, "ms"], ratio(op[n, "ms"], ms[n, 1]), ratio(op[n, "ms"], ms[n, 2])
		}
		print ""
		print "| case | dpmpi ε | Opacus ε | agreement |"
		print "|---|---:|---:|---|"
		for (k = 1; k <= nn; k++) {
			n = names[k]
			printf "| %s | %s | %s | %s |\n", n, dp[n, "eps"], op[n, "eps"], agree(dp[n, "eps"], op[n, "eps"])
			if (n == "CalibrateRDP") printf "| CalibrateRDP σ | %s | %s | %s |\n", dp[n, "sigma"], op[n, "sigma"], agree(dp[n, "sigma"], op[n, "sigma"])
			if (n == "RDPCurve100k" && ((n, "curve_differ") in op))
				printf "| RDPCurve100k, every point | | | %d of %d points differ, by at most %.2g |\n", op[n, "curve_differ"], op[n, "curve_points"], op[n, "curve_max_abs_diff"]
		}
		if (bad) { print "bench.sh: dpmpi benchmark rows missing in " ARGV[1] > "/dev/stderr"; exit 1 }
	}' "$go_rows" "$rows" "$vals"
}

bench_opacus() {
	local peer=${OPACUS_SH:-../shared/peers/opacus.sh} rounds=${BENCH_ROUNDS:-3}
	[ -x "$peer" ] || [ -f "$peer" ] || { echo "bench.sh: Opacus peer script $peer not found; set OPACUS_SH" >&2; exit 1; }
	local rows="$out/opacus-rows.txt"
	echo "== opacus: training step, batch 256, 2 threads, dpmpi (-tags openblas, float64 and float32) and Opacus (float32) alternating, $rounds rounds"
	go test -c -tags openblas -o "$out/nn-openblas.test" ./nn
	: > "$rows"
	for r in $(seq "$rounds"); do
		GOMAXPROCS=2 "$out/nn-openblas.test" -test.run='^$' -test.benchtime=40x \
			-test.bench='^Benchmark(MLPNonPrivate|CNNNonPrivate|PerLayerOptimizerMLP|PerLayerOptimizerCNN)(Float32)?$' |
			awk '/^Benchmark/{for(i=1;i<=NF;i++) if($i=="samples/s") print "dpmpi", $1, $(i-1)}' | sed 's/-[0-9]* / /' >> "$rows"
		for m in mlp cnn; do
			for v in plain flat per_layer; do
				bash "$peer" step "$m" "$v" | tail -1 | awk '$1=="opacus"{print "opacus", $2"/"$3, $5}' >> "$rows"
			done
			bash "$peer" ghost "$m" | tail -1 | awk '$1=="opacus"{print "opacus", $2"/"$3, $5}' >> "$rows"
		done
		echo "   round $r done"
	done
	opacus_table "$rows"
	echo
	peak_table "$rows"
}

# medians_awk is the awk code shared by peak_table and opacus_table: it reads
# the lines "WHO NAME samples/s" of ROWS into vals[WHO " " NAME] and, through
# median(KEY), gives the median of a key's values and sets lo[KEY], hi[KEY].
medians_awk='
function median(key,   n, i, j, t, a) {
	n = split(vals[key], a, " ")
	for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j+1] = a[j]; a[j+1] = t }
	lo[key] = a[1]; hi[key] = a[n]
	return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2
}
function addrow() { key = $1 " " $2; vals[key] = (key in vals ? vals[key] " " : "") $3 }
'

# peak_table ROWS measures the machine's limits in the same run (internal/peak
# on OpenBLAS: 1024² DGEMM and SGEMM on 1 and 2 goroutines, copy bandwidth) and
# reports each dpmpi step's model FLOP/s as a fraction of the 2-core peak of
# its precision: DGEMM for the float64 steps, SGEMM for the float32 ones.
# Model FLOPs count the training arithmetic of the non-private step,
# 2 × (3 × forward multiply-adds − those of the first layer's input gradient,
# never computed): MLP 784-512-256-10: forward 535,040 MACs → 2,407,424 FLOPs
# per sample; CNN: conv1 200,704 + conv2 204,800 + linear 16,704 MACs →
# 2,131,840 FLOPs. The DP steps do more arithmetic than that (per-sample
# norms, clipping, noise), so their fraction is of useful work, as in MFU
# figures.
peak_table() {
	go test -c -tags openblas -o "$out/peak.test" ./internal/peak
	"$out/peak.test" -test.run='^$' -test.bench=. -test.benchtime=5x -test.count=3 > "$out/peak.txt"
	awk "$medians_awk"'
	FNR == NR {
		if ($1 ~ /^Benchmark/) for (i = 1; i <= NF; i++) if ($i == "GFLOP/s" || $i == "GB/s") {
			name = $1; sub(/-[0-9]+$/, "", name); if (!(name in best) || $(i-1) > best[name]) best[name] = $(i-1)
		}
		next
	}
	{ addrow() }
	END {
		d1 = best["BenchmarkGEMM/float64/threads=1"]; d2 = best["BenchmarkGEMM/float64/threads=2"]
		s1 = best["BenchmarkGEMM/float32/threads=1"]; s2 = best["BenchmarkGEMM/float32/threads=2"]
		if (d2 == "" || s2 == "") { print "bench.sh: no 2-core GEMM peak in peak.txt" > "/dev/stderr"; exit 1 }
		printf "machine limits (best of 3, OpenBLAS single-threaded per goroutine): DGEMM %.1f GFLOP/s on 1 core, %.1f on 2; SGEMM %.1f on 1, %.1f on 2; copy %.1f GB/s on 1 core, %.1f on 2\n", d1, d2, s1, s2, best["BenchmarkCopy/threads=1"], best["BenchmarkCopy/threads=2"]
		c2 = best["BenchmarkCopy/threads=2"]
		print "| dpmpi step | precision | median samples/s | model GFLOP/s | peak | of peak | min. traffic GB/s | of 2-core copy |"
		print "|---|---|---:|---:|---|---:|---:|---:|"
		split("MLPNonPrivate PerLayerOptimizerMLP CNNNonPrivate PerLayerOptimizerCNN", bs, " ")
		split("float64 float32", precs, " ")
		for (i = 1; i <= 4; i++) {
			for (p = 1; p <= 2; p++) {
				k = "dpmpi Benchmark" bs[i] (p == 2 ? "Float32" : "")
				if (!(k in vals)) { printf "| %s | %s | missing | | | | | |\n", bs[i], precs[p]; bad = 1; continue }
				m = median(k)
				f = bs[i] ~ /MLP/ ? 2407424 : 2131840
				pk = p == 1 ? d2 : s2
				# A lower bound of the memory traffic of a step: the batch of
				# 256 inputs of 784 values read once, and the P parameters
				# read in the forward pass, the gradient written, both read
				# by the update and the parameters written (4 passes).
				P = bs[i] ~ /MLP/ ? 535818 : 26010
				gb = (4 * P + 256 * 784) * (p == 1 ? 8 : 4) * m / 256 / 1e9
				printf "| %s | %s | %.0f | %.1f | 2-core %s %.1f GFLOP/s | %.1f%% | %.2f | %.1f%% |\n", bs[i], precs[p], m, m * f / 1e9, p == 1 ? "DGEMM" : "SGEMM", pk, 100 * m * f / 1e9 / pk, gb, 100 * gb / c2
			}
		}
		if (bad) { print "bench.sh: dpmpi rows missing in " FILENAME > "/dev/stderr"; exit 1 }
	}' "$out/peak.txt" "$1"
}

# opacus_table ROWS prints the side-by-side table from lines "WHO NAME
# samples/s": for each model, dpmpi's non-private step in float64 and float32
# against torch, then dpmpi's DP step in each precision against every Opacus
# DP variant measured, the fastest marked "(strongest)" and its ratio in bold.
opacus_table() {
	awk "$medians_awk"'
	function cell(key) {
		if (!(key in med)) return "missing"
		return sprintf("%.0f (%.0f–%.0f)", med[key], lo[key], hi[key])
	}
	function ratio(a, b) { return (a in med) && (b in med) && med[b] > 0 ? sprintf("%.2fx", med[a] / med[b]) : "–" }
	{ addrow() }
	END {
		for (k in vals) med[k] = median(k)
		split("mlp cnn", models, " ")
		split("MLP CNN", names, " ")
		split("float64 float32", precs, " ")
		split("flat per_layer ghost", vs, " ")
		split("Opacus 1.4 flat|Opacus 1.4 per-layer|Opacus 1.5 ghost", vname, "|")
		print "| step | precision | dpmpi samples/s | peer (float32) | peer samples/s | dpmpi / peer |"
		print "|---|---|---:|---|---:|---:|"
		for (i = 1; i <= 2; i++) {
			m = models[i]; M = names[i]
			tp = "opacus " m "/plain"
			for (p = 1; p <= 2; p++) {
				np = "dpmpi Benchmark" M "NonPrivate" (p == 2 ? "Float32" : "")
				if (!(np in med)) bad = 1
				printf "| %s | %s | %s | torch 1.13 | %s | **%s** |\n", p == 1 ? M " non-private" : "", precs[p], cell(np), cell(tp), ratio(np, tp)
			}
			for (p = 1; p <= 2; p++) if (!(("dpmpi BenchmarkPerLayerOptimizer" M (p == 2 ? "Float32" : "")) in med)) bad = 1
			best = ""
			for (j = 1; j <= 3; j++) { k = "opacus " m "/" vs[j]; if ((k in med) && (best == "" || med[k] > med[best])) best = k }
			if (best == "") { printf "| %s DP full step | | | no Opacus DP variant measured | | |\n", M; continue }
			for (p = 1; p <= 2; p++) {
				dp = "dpmpi BenchmarkPerLayerOptimizer" M (p == 2 ? "Float32" : "")
				first = 1
				for (j = 1; j <= 3; j++) {
					k = "opacus " m "/" vs[j]
					if (!(k in med)) continue
					lead = first ? sprintf("%s | %s | %s", p == 1 ? M " DP full step" : "", precs[p], cell(dp)) : " | | "
					r = ratio(dp, k); if (k == best) r = "**" r "**"
					printf "| %s | %s%s | %s | %s |\n", lead, vname[j], k == best ? " (strongest)" : "", cell(k), r
					first = 0
				}
			}
		}
		if (bad) { print "bench.sh: dpmpi rows missing in " FILENAME > "/dev/stderr"; exit 1 }
	}' "$1"
}

for s in "${sections[@]}"; do
	"bench_$s"
done
