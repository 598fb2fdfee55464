#!/usr/bin/env bash
# The privacy audit: the correct optimizers (flat, simple, hooks) under real
# mpirun at W = 1..4 must not be flagged, and each of the seven mutants of
# internal/mutant, built in with -tags dpmpi_mutant_NAME, must be caught at
# W = 2. Prints one line per experiment (claims, empirical bounds) and a
# CAUGHT/MISSED line per mutant; exits non-zero if the correct code is
# flagged or a mutant is missed.
#
#   scripts/audit.sh                 everything (about 1-2 minutes on 2 cores)
#   scripts/audit.sh halfsigma nonoise   the correct code and only these mutants
#
# Full logs go to out/audit/.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
log=out/audit
mkdir -p "$log"
start=$SECONDS
mutants=(nonoise halfsigma noiseoverw skipclip maxcl everyother konce)
if [ $# -gt 0 ]; then mutants=("$@"); fi

# results FILE prints the AUDIT-RESULT lines of a go test -v log without
# the launcher's rank prefixes.
results() { grep -o 'AUDIT-RESULT.*' "$1" | sed 's/^AUDIT-RESULT //' || true; }

status=0
echo "== correct code: TestAudit at W = 1..4"
if go test -count=1 -v -run '^TestAudit$' ./audit >"$log/correct.log" 2>&1; then
	results "$log/correct.log"
	echo "correct code: NOT FLAGGED ($(grep -c 'flagged=false' "$log/correct.log" || true) experiments)"
else
	results "$log/correct.log"
	grep -E -- '--- FAIL|flagged|lost its power' "$log/correct.log" | head -20 || true
	echo "correct code: FLAGGED or failed (see $log/correct.log)"
	status=1
fi

for m in "${mutants[@]}"; do
	t0=$SECONDS
	if go test -count=1 -v -tags "dpmpi_mutant_$m" -run '^TestMutant$' ./audit >"$log/$m.log" 2>&1; then
		verdict=CAUGHT
	else
		verdict=MISSED
		status=1
	fi
	results "$log/$m.log" | sed 's/^/  /'
	# The strongest evidence: the largest excess of a profile bound over the claim.
	best=$(results "$log/$m.log" | awk '{for(i=1;i<=NF;i++){split($i,kv,"=");v[kv[1]]=kv[2]} d=v["profile_lb"]-v["profile_claim"]; if(NR==1||d>bd){bd=d;b="opt=" v["opt"] " bound " v["profile_lb"] " > claim " v["profile_claim"] " at delta=" v["profile_delta"]}} END{print b}')
	if [ "$verdict" = MISSED ] && ! grep -q 'AUDIT-RESULT' "$log/$m.log"; then
		best="no result: see $log/$m.log"
		tail -5 "$log/$m.log"
	fi
	echo "mutant $m: $verdict ($best; $((SECONDS - t0))s)"
done
echo "audit: $((SECONDS - start))s"
exit $status
