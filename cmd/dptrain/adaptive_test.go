package main

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/floats"
)

// metricRecords returns the records of a metrics file.
func metricRecords(t *testing.T, path string) []metric {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []metric
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m metric
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, m)
	}
	return out
}

// thresholdRecords returns the thresholds of the metrics records that
// carry them.
func thresholdRecords(t *testing.T, path string) [][]float64 {
	t.Helper()
	var out [][]float64
	for _, m := range metricRecords(t, path) {
		if m.Thresholds != nil {
			out = append(out, m.Thresholds)
		}
	}
	return out
}

// An adaptive run on 2 ranks: every ledger record names the two mechanisms
// (gradient and counts) that combine into the accounted σ; the thresholds
// move from their start and are in the metrics and the checkpoint; a run
// stopped and resumed ends bit for bit where an uninterrupted one does,
// thresholds included; for both clipping kinds and both per-layer
// optimizers.
func TestAdaptiveRun(t *testing.T) {
	dir := t.TempDir()
	args := func(out, steps string, extra ...string) []string {
		return base(filepath.Join(dir, out), append([]string{"--train-limit", "512", "--test-limit", "32",
			"--batch-size", "128", "--steps", steps, "--sigma", "0.9", "--max-grad-norm", "0.05", "--lr", "0.3",
			"--momentum", "0.9", "--max-physical-batch", "40", "--checkpoint-every", "0", "--seed", "4", "--log-every", "2"}, extra...)...)
	}
	for _, kind := range [][]string{
		{"--clipping", "adaptive-per-layer", "--dist-optimizer", "simple"},
		{"--clipping", "adaptive-per-layer", "--dist-optimizer", "hooks"},
		{"--clipping", "adaptive-flat", "--target-quantile", "0.8", "--count-noise-std", "3"},
		{"--clipping", "adaptive-split"},
	} {
		name := strings.Join(kind[1:], "-")
		t.Run(name, func(t *testing.T) {
			mustRun(t, 2, args(name, "12", kind...)...)
			mustRun(t, 2, args(name+"-resumed", "7", kind...)...)
			mustRun(t, 2, args(name+"-resumed", "12", append(kind, "--resume")...)...)

			recs := readLedgerT(t, filepath.Join(dir, name, "checkpoints", "ledger.txt"))
			if len(recs) != 12 {
				t.Fatalf("%d ledger records, want 12", len(recs))
			}
			for _, r := range recs {
				if len(r.Parts) != 2 || r.Parts[0] <= r.NoiseMultiplier || r.Parts[1] <= r.Parts[0] {
					t.Fatalf("ledger record %+v: want parts [z_grad z_count] with σ < z_grad < z_count", r)
				}
				inv := 1/(r.Parts[0]*r.Parts[0]) + 1/(r.Parts[1]*r.Parts[1])
				if math.Abs(1/math.Sqrt(inv)/r.NoiseMultiplier-1) > 1e-12 {
					t.Fatalf("ledger record %+v: parts do not combine into σ", r)
				}
			}
			ths := thresholdRecords(t, filepath.Join(dir, name, "metrics.jsonl"))
			s, err := loadCheckpoint(filepath.Join(dir, name, "checkpoints"))
			if err != nil {
				t.Fatal(err)
			}
			if len(ths) == 0 || !slices.Equal(ths[len(ths)-1], s.Thresholds) {
				t.Fatalf("metrics thresholds %v; the checkpoint's %v: want the last record to match", ths, s.Thresholds)
			}
			if slices.Equal(s.Thresholds, s.ID.Thresholds) {
				t.Errorf("thresholds %v did not move from the start %v", s.Thresholds, s.ID.Thresholds)
			}
			if kind[1] == "adaptive-split" {
				if got, want := floats.Norm(s.Thresholds, 2), floats.Norm(s.ID.Thresholds, 2); math.Abs(got/want-1) > 1e-12 {
					t.Errorf("adaptive-split thresholds %v have total %v, want the starting %v", s.Thresholds, got, want)
				}
			}
			r, err := loadCheckpoint(filepath.Join(dir, name+"-resumed", "checkpoints"))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(r.Thresholds, s.Thresholds) {
				t.Errorf("resumed run's thresholds %v, the uninterrupted run's %v", r.Thresholds, s.Thresholds)
			}
			if d := maxDiff(r.Params, s.Params); d > 1e-12 {
				t.Errorf("resumed run's parameters differ from the uninterrupted run's by %g", d)
			}
		})
	}
}

// Adaptive flags are errors where they do not apply or are out of range.
func TestAdaptiveFlags(t *testing.T) {
	checkFlagErrors(t, []flagCase{
		{[]string{"--target-quantile", "0.7"}, "--target-quantile applies to adaptive clipping only"},
		{[]string{"--clipping", "flat", "--clip-lr", "0.1"}, "--clip-lr applies to adaptive clipping only"},
		{[]string{"--clipping", "adaptive-flat", "--target-quantile", "1"}, "--target-quantile must be in (0,1)"},
		{[]string{"--clipping", "adaptive-per-layer", "--clip-lr", "-1"}, "--clip-lr"},
		{[]string{"--clipping", "adaptive-per-layer", "--count-noise-std", "0.1"}, "raise CountNoiseStd"},
		{[]string{"--clipping", "adaptive"}, "--clipping \"adaptive\""},
	})
}
