#!/usr/bin/env bash
# Measurements behind docs/scaling.md, and the scaling model's tables and plot.
#
#   scripts/scaling.sh [section...]   sections: allreduce compute overlap weak plot (default: all)
#
#   allreduce  mpi's BenchmarkAllreduce at 2 ranks on shared memory (one rank per core) and
#              across 2 hosts of scripts/netns-up.sh (one CPU each, link shaped to $SHAPE)
#   compute    internal/multihost's BenchmarkModelStep (one core): per-rank step without noise;
#              optimizer's BenchmarkNoise (one core): the noise's cost per coordinate
#   overlap    internal/multihost's BenchmarkOverlapModel at 2 ranks, across the hosts and on
#              shared memory: the hook-based optimizer's hidden share of the reduction
#   weak       dptrain weak scaling (batch 256 per rank, GOMAXPROCS=1 per rank) at $RANKS ranks
#              on this machine's shared memory (oversubscribed past its cores), and at 2 and
#              4 ranks across the 2 hosts; on a bigger machine: RANKS="1 2 4 8 16"
#   plot       go run ./scripts/scaling: the α–β fit, the predictions to 1,024 ranks, the
#              comparison with the measured points (out/scaling/tables.md, docs/scaling.png)
#
# Environment: SHAPE (default 10gbit), RANKS (default "1 2 4"), REPS (default 3: the runs
# alternate that many times; the model takes the best Allreduce and compute times and the
# median overlap and dptrain times), STEPS (default 30), CORES (default nproc: ranks beyond
# it share cores in the model's comparison with weak.txt).
# Results go to out/scaling/. Needs root for the namespaces; brings the hosts up and, unless
# they were up before, down again.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1
out=out/scaling
mkdir -p "$out"
shape=${SHAPE:-10gbit} ranks=${RANKS:-1 2 4} reps=${REPS:-3} steps=${STEPS:-30}
sections=("$@")
[ ${#sections[@]} -gt 0 ] || sections=(allreduce compute overlap weak plot)

# hosts_up [SHAPE] brings up (or reshapes) the 2 hosts, one CPU each.
hosts_up() {
	if [ ! -f /run/dpmpi-netns/created ]; then
		trap 'scripts/netns-down.sh' EXIT
	fi
	scripts/netns-up.sh --hosts 2 --cpus 0:1 --shape "${1:-$shape}" >&2
}

# across BINARY ARGS... runs a multi-rank Go benchmark binary with one rank on
# each of the 2 hosts and prints rank 0's output.
across() {
	local dir
	dir=$(mktemp -d)
	DPMPI_MPITEST_CHILD=1 scripts/netns-mpirun.sh -np 2 --map-by node --bind-to none --output-filename "$dir" "$@" >/dev/null 2>"$dir/err" ||
		{ cat "$dir/err" >&2; return 1; }
	cat "$dir"/1/rank.0/stdout
	rm -rf "$dir"
}

# local2 BINARY ARGS... runs it with 2 ranks on this machine's shared memory, one per core.
local2() {
	local dir
	dir=$(mktemp -d)
	DPMPI_MPITEST_CHILD=1 mpirun --allow-run-as-root -np 2 --bind-to core --output-filename "$dir" "$@" >/dev/null 2>"$dir/err" ||
		{ cat "$dir/err" >&2; return 1; }
	cat "$dir"/1/rank.0/stdout
	rm -rf "$dir"
}

section_allreduce() {
	echo "== allreduce: 2 ranks, shared memory and the $shape link ($reps alternating runs)"
	hosts_up
	go test -c -o "$out/mpi.test" ./mpi
	# 8 B to 4 MiB: the gradients of the CNN (0.2 MB) and the MLPs (0.8, 4.3 MB).
	local sizes='^BenchmarkAllreduce$/^bytes=(8|1024|8192|65536|262144|1048576|4194304)$'
	: > "$out/allreduce-shm.txt"
	: > "$out/allreduce-tcp.txt"
	for _ in $(seq "$reps"); do
		local2 "$out/mpi.test" -test.run='^$' -test.bench="$sizes" -test.benchtime=50x | grep '^Benchmark' >> "$out/allreduce-shm.txt"
		across "$out/mpi.test" -test.run='^$' -test.bench="$sizes" -test.benchtime=50x | grep '^Benchmark' >> "$out/allreduce-tcp.txt"
	done
	tail -n 7 "$out/allreduce-tcp.txt"
}

section_compute() {
	echo "== compute: one rank's DP step at batch 256 on one core; rank 0's noise per coordinate"
	GOMAXPROCS=1 go test -run '^$' -bench 'ModelStep/.*/sigma=0' -benchtime=20x -count="$reps" ./internal/multihost | grep '^Benchmark' | tee "$out/compute.txt"
	GOMAXPROCS=1 go test -run '^$' -bench 'Noise' -benchtime=20x -count="$reps" ./optimizer | grep '^Benchmark' | tee "$out/noise.txt"
}

section_overlap() {
	echo "== overlap: hook-based optimizer, 2 ranks, the $shape and 1gbit links and shared memory ($reps alternating runs)"
	go test -c -o "$out/multihost.test" ./internal/multihost
	# Batch 32: the compute is about as long as the reduction, where the
	# share can be read (at batch 256 the compute's noise swamps it).
	local sel='OverlapModel/model=(mlp|cnn)/batch=32/' s
	local shapes=("$shape")
	[ "$shape" = 1gbit ] || shapes+=(1gbit)
	: > "$out/overlap-shm.txt"
	for s in "${shapes[@]}"; do : > "$out/overlap-tcp-$s.txt"; done
	for _ in $(seq "$reps"); do
		for s in "${shapes[@]}"; do
			hosts_up "$s"
			GOMAXPROCS=1 across "$out/multihost.test" -test.run='^$' -test.bench="$sel" -test.benchtime=60x | grep '^Benchmark' >> "$out/overlap-tcp-$s.txt"
		done
		GOMAXPROCS=1 local2 "$out/multihost.test" -test.run='^$' -test.bench="$sel" -test.benchtime=60x | grep '^Benchmark' >> "$out/overlap-shm.txt"
	done
	hosts_up
	cp "$out/overlap-tcp-$shape.txt" "$out/overlap-tcp.txt"
	for f in "$out"/overlap-tcp-*.txt "$out/overlap-shm.txt"; do
		echo "-- $f (median hidden share over the runs)"
		awk '{for(i=1;i<=NF;i++) if($i=="hidden-%") print $1, $(i-1)}' "$f" | sort -k1,1 -k2,2g |
			awk '{n[$1]++; v[$1, n[$1]]=$2} END{for (k in n) print k, v[k, int((n[k]+1)/2)] "%"}' | sort
	done
}

# weak_run LAUNCH... W MODEL OPT prints the per-step milliseconds of one dptrain run.
weak_run() {
	local w=$1 model=$2 opt=$3
	shift 3
	local dir wall
	dir=$(mktemp -d)
	GOMAXPROCS=1 "$@" bin/dptrain --model "$model" --dist-optimizer "$opt" --batch-size $((256 * w)) \
		--steps "$steps" --sigma 1 --max-grad-norm 1 --max-physical-batch 1024 --checkpoint-every 0 \
		--eval-every 0 --test-limit 100 --plot none --progress none --out "$dir" > "$dir/log" 2>&1 ||
		{ cat "$dir/log" >&2; return 1; }
	wall=$(awk '/^wall time/{print $3}' "$dir/log" | tr -d ',')
	rm -rf "$dir"
	# wall is a Go duration: 1.234s or 950ms.
	awk -v w="$wall" -v s="$steps" 'BEGIN{ if (w ~ /ms$/) { sub(/ms$/, "", w); v = w } else if (w ~ /m/) { split(w, a, "m"); sub(/s$/, "", a[2]); v = (a[1]*60 + a[2])*1000 } else { sub(/s$/, "", w); v = w*1000 }; printf "%.2f\n", v/s }'
}

section_weak() {
	echo "== weak scaling: dptrain, batch 256 per rank, one core per rank, $steps steps, $reps alternating runs"
	go build -o bin/dptrain ./cmd/dptrain
	hosts_up
	: > "$out/weak.txt"
	echo "# transport model optimizer W step-ms (one line per run; the model takes medians)" >> "$out/weak.txt"
	local rep model opt w ms
	for rep in $(seq "$reps"); do
		for model in mlp cnn; do
			for opt in simple hooks; do
				for w in $ranks; do
					if [ "$w" = 1 ]; then
						ms=$(weak_run 1 "$model" "$opt" env)
						# The 1-rank point is the same process for both transports.
						echo "tcp $model $opt 1 $ms" >> "$out/weak.txt"
					else
						ms=$(weak_run "$w" "$model" "$opt" mpirun --allow-run-as-root --oversubscribe -x GOMAXPROCS -np "$w" --bind-to none)
					fi
					echo "shm $model $opt $w $ms" | tee -a "$out/weak.txt"
				done
				for w in 2 4; do
					ms=$(weak_run "$w" "$model" "$opt" scripts/netns-mpirun.sh -np "$w" --map-by node --bind-to none)
					echo "tcp $model $opt $w $ms" | tee -a "$out/weak.txt"
				done
			done
		done
		echo "-- run $rep of $reps done"
	done
}

section_plot() {
	echo "== plot: the scaling model"
	go run ./scripts/scaling -in "$out" -png docs/scaling.png -cores "${CORES:-$(nproc)}" | tee "$out/tables.md"
}

for s in "${sections[@]}"; do
	"section_$s"
done
