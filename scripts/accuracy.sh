#!/usr/bin/env bash
# Runs a named training recipe end to end on Fashion-MNIST at ε = 3 (RDP),
# δ = 1e-5, on 2 MPI ranks, and prints dptrain's summary. Its last line is
#
#   accuracy A% epsilon_rdp E epsilon_prv P seconds S
#
# with S the training wall time dptrain reports (data loading and feature
# extraction excluded).
#
#   scripts/accuracy.sh [NAME] [--seed S] [-- extra dptrain flags]
#   scripts/accuracy.sh --list
#
# Recipes (NAME; with no NAME, the best one, scatter-centred):
#   cnn             the README's end-to-end tanh CNN (per-layer clipping), 40 epochs
#   cnn-adaptive    the cnn recipe with adaptive per-layer thresholds (private quantile
#                   estimation, --target-quantile 0.5) instead of the hand-tuned equal split
#   cnn-split       the cnn recipe with the total ‖C‖₂ = 0.1 split by the layers' norms
#                   (--clipping adaptive-split) instead of equally
#   cnn-fast        the same CNN with GroupNorm (cnn-gn), total ‖C‖₂ = 0.5 split by the layers'
#                   norms (adaptive-split), 12 epochs, weights averaged (--ema 0.999): the
#                   ≤ 60 s recipe
#   mlp-csv         the built-in MLP trained from Fashion-MNIST written as CSV (bin/dpdata),
#                   with no constants of the data set: pixels scaled by the format's range
#                   (--normalize-std 255) and centred by their private mean (--center-norm 20)
#   scatter-linear  ScatterNet features (J = 2, L = 8; computed once by bin/dpfeatures into
#                   out/scatter, about 2–4 minutes, no privacy cost) + GroupNorm + linear,
#                   100 epochs at batch 8192, weights averaged (--ema 0.999)
#   scatter-sqrt    the same on the square roots of the coefficients (dpfeatures --power 0.5,
#                   computed once into out/scatter-sqrt)
#   scatter-centred scatter-sqrt with the features centred by their private mean
#                   (--center-norm 10: every sample's norm is below 10; --center-sigma 50,
#                   composed into ε before the steps)
#
# The recipes' measured results are in docs/dptrain.md. Environment: OUT (default
# out/accuracy), NP (default 2), FEATURES and SQRT_FEATURES (the feature directories of the
# scatter recipes), TAGS (build tags of dptrain, default openblas:
# OpenBLAS GEMMs, which scripts/setup.sh installs; TAGS= for the pure-Go build).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_pml=ob1

recipes=(cnn cnn-adaptive cnn-split cnn-fast mlp-csv scatter-linear scatter-sqrt scatter-centred)
name=scatter-centred
seed=1
extra=()
while [ $# -gt 0 ]; do
	case $1 in
	--list) printf '%s\n' "${recipes[@]}"; exit 0 ;;
	--seed) [ $# -ge 2 ] || { echo "accuracy.sh: --seed needs a value" >&2; exit 2; }; seed=$2; shift 2 ;;
	--seed=*) seed=${1#--seed=}; shift ;;
	--) shift; extra=("$@"); break ;;
	-*) echo "accuracy.sh: unknown flag $1 (use --seed S, --list, or -- before dptrain flags)" >&2; exit 2 ;;
	*)
		if ! printf '%s\n' "${recipes[@]}" | grep -qx -- "$1"; then
			echo "accuracy.sh: unknown recipe '$1'; recipes: ${recipes[*]}" >&2
			exit 2
		fi
		name=$1; shift ;;
	esac
done
[[ $seed =~ ^[0-9]+$ ]] || { echo "accuracy.sh: --seed '$seed' is not a non-negative integer" >&2; exit 2; }

out=${OUT:-out/accuracy}/$name-seed$seed
np=${NP:-2}
mkdir -p bin "$out"
go build -tags "${TAGS-openblas}" -o bin/ ./cmd/dptrain
go build -o bin/ ./cmd/dpdata ./cmd/dpfeatures

common=(--target-epsilon 3 --delta 1e-5 --accountant rdp --seed "$seed" --max-physical-batch 1024
	--progress none --plot none --checkpoint-every 0 --out "$out")
case $name in
cnn)
	args=(--model cnn --clipping per-layer --max-grad-norm 0.1 --optimizer sgd --lr 4 --momentum 0.9
		--batch-size 2048 --epochs 40) ;;
cnn-adaptive)
	args=(--model cnn --clipping adaptive-per-layer --target-quantile 0.5 --max-grad-norm 0.1 --optimizer sgd
		--lr 4 --momentum 0.9 --batch-size 2048 --epochs 40) ;;
cnn-split)
	args=(--model cnn --clipping adaptive-split --max-grad-norm 0.1 --optimizer sgd
		--lr 4 --momentum 0.9 --batch-size 2048 --epochs 40) ;;
cnn-fast)
	args=(--model cnn-gn --clipping adaptive-split --max-grad-norm 0.5 --optimizer sgd --lr 4 --momentum 0.9
		--batch-size 2048 --epochs 12 --ema 0.999) ;;
mlp-csv)
	csv=${OUT:-out/accuracy}/fmnist-csv
	[ -s "$csv/fashion-test.csv" ] || bin/dpdata csv --out "$csv"
	args=(--data-format csv --train-data "$csv/fashion-train.csv" --test-data "$csv/fashion-test.csv"
		--classes 10 --normalize-std 255 --center-norm 20 --model mlp --clipping per-layer
		--max-grad-norm 1 --lr 2 --momentum 0.9 --batch-size 2048 --epochs 20) ;;
scatter-linear | scatter-sqrt | scatter-centred)
	if [ "$name" = scatter-linear ]; then
		feat=${FEATURES:-out/scatter} power=1
	else
		feat=${SQRT_FEATURES:-out/scatter-sqrt} power=0.5
	fi
	[ -s "$feat/test_labels.npy" ] || bin/dpfeatures --power "$power" --out "$feat"
	args=(--data-format npy --train-data "$feat/train_features.npy,$feat/train_labels.npy"
		--test-data "$feat/test_features.npy,$feat/test_labels.npy" --classes 10
		--model scatter-linear --clipping flat --max-grad-norm 0.1 --lr 8 --momentum 0.9
		--batch-size 8192 --epochs 100 --ema 0.999)
	if [ "$name" = scatter-centred ]; then
		args+=(--center-norm 10 --center-sigma 50)
	fi ;;
esac

log=$out/dptrain.log
mpirun --allow-run-as-root --bind-to none -np "$np" bin/dptrain "${args[@]}" "${common[@]}" "${extra[@]}" | tee "$log"

# The summary lines dptrain prints (cmd/dptrain/report.go):
#   test accuracy   89.65% (test loss ...)
#   privacy         ε = 2.99 (RDP), 2.77 (PRV) at δ = ...
#   wall time       3m27.1s, ... samples/s
acc=$(sed -n 's/^test accuracy *\([0-9.]*\)%.*/\1/p' "$log" | tail -1)
rdp=$(sed -n 's/^privacy *ε = \([0-9.]*\) (RDP).*/\1/p' "$log" | tail -1)
prv=$(sed -n 's/^privacy *ε = [0-9.]* (RDP), \([0-9.]*\) (PRV).*/\1/p' "$log" | tail -1)
wall=$(sed -n 's/^wall time *\([^,]*\),.*/\1/p' "$log" | tail -1)
if [ -z "$acc" ] || [ -z "$rdp" ] || [ -z "$prv" ] || [ -z "$wall" ]; then
	echo "accuracy.sh: could not read the summary in $log" >&2
	exit 1
fi
# Go's Duration format: [Nh][Nm]N.NNNs (or ms for very short runs).
secs=$(awk -v d="$wall" 'BEGIN{s=0; while (match(d, /^[0-9.]+(h|ms|m|s)/)) {t=substr(d,1,RLENGTH); d=substr(d,RLENGTH+1);
	if (t ~ /ms$/) s+=t/1000; else if (t ~ /h$/) s+=t*3600; else if (t ~ /m$/) s+=t*60; else s+=t+0} printf "%.1f", s}')
echo "accuracy ${acc}% epsilon_rdp $rdp epsilon_prv $prv seconds $secs"
