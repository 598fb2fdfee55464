package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// f32Tol bounds the distance between float32 and float64 training in
// TestEquivalenceFloat32. The run moves each weight by at most
// lr·C·Σ_t Σ_{s≤t} μ^(t−s) = 0.5·0.5·(1 + 1.9 + 2.71 + 3.439) ≈ 2.26 over its
// 4 momentum steps; each float32 gradient carries a relative error of at
// most about K·u (K ≤ 512 terms per dot product in this CNN, u = 2⁻²⁴),
// so the weights differ by at most 2.26·512·2⁻²⁴ ≈ 6.9e-5, plus a few
// roundings of the weights themselves (2⁻²⁴·|w| each). Measured: 2.9e-8.
const f32Tol = 1e-4

// TestEquivalenceFloat32: with --precision float32, σ = 0 and q = 1, the
// final weights at 1, 2 and 4 ranks, with both distributed optimizers and
// virtual steps, are within f32Tol of the float64 run at 1 rank and of each
// other; they are float32 values (the run did compute in float32) and not
// the float64 run's.
func TestEquivalenceFloat32(t *testing.T) {
	dir := t.TempDir()
	args := func(out, opt, precision string) []string {
		return base(filepath.Join(dir, out), "--model", "cnn", "--train-limit", "96", "--test-limit", "32",
			"--sample-rate", "1", "--steps", "4", "--sigma", "0", "--max-grad-norm", "0.5",
			"--lr", "0.5", "--momentum", "0.9", "--max-physical-batch", "10", "--dist-optimizer", opt,
			"--checkpoint-every", "0", "--seed", "3", "--precision", precision)
	}
	mustRun(t, 1, args("ref", "simple", "float64")...)
	ref := weights(t, filepath.Join(dir, "ref", "weights.bin"))
	if d := maxDiff(ref, initWeights(t)); d < 1e-3 {
		t.Fatalf("training moved the weights by only %g", d)
	}
	var first []float64
	for _, opt := range []string{"simple", "hooks"} {
		for _, np := range []int{1, 2, 4} {
			out := fmt.Sprintf("%s-%d", opt, np)
			mustRun(t, np, args(out, opt, "float32")...)
			w := weights(t, filepath.Join(dir, out, "weights.bin"))
			for i, v := range w {
				if float64(float32(v)) != v {
					t.Fatalf("%s at %d ranks: weight %d = %v is not a float32 value", opt, np, i, v)
				}
			}
			d := maxDiff(ref, w)
			if d == 0 {
				t.Errorf("%s at %d ranks: float32 weights equal the float64 ones exactly: not computed in float32", opt, np)
			}
			if d > f32Tol {
				t.Errorf("%s at %d ranks: float32 weights differ from float64 by %g (> %g)", opt, np, d, f32Tol)
			}
			if first == nil {
				first = w
			} else if d := maxDiff(first, w); d > f32Tol {
				t.Errorf("%s at %d ranks: float32 weights differ from float32 simple at 1 rank by %g (> %g)", opt, np, d, f32Tol)
			}
			t.Logf("%s at %d ranks: float32 − float64: %.3g", opt, np, d)
		}
	}
}

// TestResumeFloat32: a float32 run interrupted at a checkpoint and resumed
// ends bit for bit where the uninterrupted run does (noise, sampling,
// momentum, 2 ranks), and its checkpoint refuses a resume in float64 with a
// message naming the flag to use; a float64 checkpoint refuses float32.
func TestResumeFloat32(t *testing.T) {
	dir := t.TempDir()
	args := func(out, steps, precision string, extra ...string) []string {
		return base(filepath.Join(dir, out), append([]string{"--train-limit", "256", "--test-limit", "32",
			"--batch-size", "64", "--steps", steps, "--sigma", "1", "--max-grad-norm", "1", "--lr", "0.3",
			"--momentum", "0.9", "--checkpoint-every", "0", "--seed", "5", "--precision", precision}, extra...)...)
	}
	mustRun(t, 2, args("straight", "8", "float32")...)
	mustRun(t, 2, args("resumed", "3", "float32")...)
	mustRun(t, 2, args("resumed", "8", "float32", "--resume")...)
	want := weights(t, filepath.Join(dir, "straight", "weights.bin"))
	if d := maxDiff(weights(t, filepath.Join(dir, "resumed", "weights.bin")), want); d != 0 {
		t.Errorf("resumed float32 run differs from the uninterrupted one by %g", d)
	}
	s, err := loadCheckpoint(filepath.Join(dir, "straight", "checkpoints"))
	if err != nil {
		t.Fatal(err)
	}
	if s.ID.Precision != "float32" {
		t.Errorf("checkpoint records precision %q, want float32", s.ID.Precision)
	}

	mustRun(t, 2, args("f64", "3", "float64")...)
	// Without --precision, a resumed run continues in the checkpoint's.
	for _, tt := range []struct{ out, ckpt string }{{"resumed", "float32"}, {"f64", "float64"}} {
		a := withoutPrecision(args(tt.out, "10", "float32", "--resume"))
		if r := mustRun(t, 2, a...); !strings.Contains(r.stdout, "in "+tt.ckpt+",") {
			t.Errorf("resume of a %s checkpoint without --precision: banner lacks \"in %s,\":\n%s", tt.ckpt, tt.ckpt, r.stdout)
		}
	}
	for _, tt := range []struct{ out, ckpt, now string }{
		{"resumed", "float32", "float64"},
		{"f64", "float64", "float32"},
	} {
		r := runJob(t, 2, args(tt.out, "12", tt.now, "--resume")...)
		msg := "resume with --precision " + tt.ckpt
		if r.code == 0 || !strings.Contains(r.stderr, msg) || !strings.Contains(r.stderr, "rank 0") {
			t.Errorf("resuming a %s checkpoint with --precision %s: exit %d, want a refusal on rank 0 saying %q:\n%s%s",
				tt.ckpt, tt.now, r.code, msg, r.stdout, r.stderr)
		}
	}
}

// withoutPrecision returns args without any --precision flag and its value
// (base gives one).
func withoutPrecision(args []string) []string {
	var out []string
	for ; len(args) > 0; args = args[1:] {
		if args[0] == "--precision" {
			args = args[1:] // and its value
			continue
		}
		out = append(out, args[0])
	}
	return out
}

// TestMixedPrecisionRanks: ranks started with different precisions stop at
// setup naming the field, and a resume where only some ranks give
// --precision neither hangs nor splits the job (the others take the
// checkpoint's precision).
func TestMixedPrecisionRanks(t *testing.T) {
	dir := t.TempDir()
	args := func(out string, extra ...string) []string {
		return base(filepath.Join(dir, out), append([]string{"--train-limit", "128", "--test-limit", "32",
			"--batch-size", "32", "--steps", "4", "--sigma", "1", "--checkpoint-every", "2"}, extra...)...)
	}
	r := mpmd(t, args("mixed", "--precision", "float32"), args("mixed", "--precision", "float64"))
	if r.code == 0 || !strings.Contains(r.stderr, "disagree on Precision") {
		t.Errorf("float32 and float64 ranks: exit %d, want a refusal naming Precision:\n%s%s", r.code, r.stdout, r.stderr)
	}

	mustRun(t, 2, args("ckpt", "--precision", "float32")...)
	more := []string{"--steps", "6", "--resume"}
	for _, tc := range []struct {
		name         string
		args0, args1 []string
	}{
		{"flag on rank 0 only", append(args("ckpt", "--precision", "float32"), more...), append(withoutPrecision(args("ckpt")), more...)},
		{"flag on rank 1 only", append(withoutPrecision(args("ckpt")), "--steps", "8", "--resume"), append(args("ckpt", "--precision", "float32"), "--steps", "8", "--resume")},
	} {
		if r := mpmd(t, tc.args0, tc.args1); r.code != 0 || !strings.Contains(r.stdout, "in float32,") {
			t.Errorf("%s: exit %d, want a float32 resume:\n%s%s", tc.name, r.code, r.stdout, r.stderr)
		}
	}
}
