package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestShardedNoise runs dptrain with --noise sharded with the simple
// optimizer at 2 ranks and the hooks optimizer at 3: a seeded run reproduces bit for bit, differs
// from the rank-0 noise run, says who drew the noise, and resumes exactly
// (12 steps, then --resume to 24, equal to 24 steps straight), while
// resuming with another --noise is refused. The hooks optimizer resumes to
// rounding, not bit for bit: its first step after a resume is a checked
// step, which scales the clipped sum after summing instead of folding the
// scale into the clip weights as its eager steps do (1 ulp at W = 3, with
// rank-0 noise as well).
func TestShardedNoise(t *testing.T) {
	dir := t.TempDir()
	args := func(out, opt, noise string, steps string, extra ...string) []string {
		return base(filepath.Join(dir, out), append([]string{"--train-limit", "384", "--test-limit", "32", "--batch-size", "48",
			"--steps", steps, "--sigma", "1.2", "--max-grad-norm", "1", "--lr", "0.3", "--momentum", "0.9",
			"--max-physical-batch", "16", "--checkpoint-every", "6", "--seed", "5", "--dist-optimizer", opt, "--noise", noise}, extra...)...)
	}
	for _, run := range []struct {
		np  int
		opt string
	}{{2, "simple"}, {3, "hooks"}} {
		np, opt := run.np, run.opt
		{
			name := func(s string) string { return strings.Join([]string{opt, s, string(rune('0' + np))}, "-") }
			res := mustRun(t, np, args(name("a"), opt, "sharded", "24")...)
			if !strings.Contains(res.stdout, "drawn by every rank (sharded)") {
				t.Errorf("%s np=%d: the summary does not say the noise was sharded:\n%s", opt, np, res.stdout)
			}
			mustRun(t, np, args(name("b"), opt, "sharded", "24")...)
			mustRun(t, np, args(name("r"), opt, "rank0", "24")...)
			a := weights(t, filepath.Join(dir, name("a"), "weights.bin"))
			if d := maxDiff(a, weights(t, filepath.Join(dir, name("b"), "weights.bin"))); d != 0 {
				t.Errorf("%s np=%d: two seeded sharded runs differ by %g", opt, np, d)
			}
			if d := maxDiff(a, weights(t, filepath.Join(dir, name("r"), "weights.bin"))); d == 0 {
				t.Errorf("%s np=%d: sharded and rank-0 noise give identical weights", opt, np)
			}
			mustRun(t, np, args(name("c"), opt, "sharded", "12")...)
			bad := runJob(t, np, args(name("c"), opt, "rank0", "24", "--resume")...)
			if bad.code == 0 || !strings.Contains(bad.stderr+bad.stdout, "Noise: checkpoint sharded, now") {
				t.Errorf("%s np=%d: resuming a sharded run with --noise rank0: exit %d, want a refusal naming Noise\n%s%s", opt, np, bad.code, bad.stdout, bad.stderr)
			}
			mustRun(t, np, args(name("c"), opt, "sharded", "24", "--resume")...)
			tol := 0.0
			if opt == "hooks" {
				tol = 1e-13
			}
			if d := maxDiff(a, weights(t, filepath.Join(dir, name("c"), "weights.bin"))); d > tol {
				t.Errorf("%s np=%d: 12 steps and a resume to 24 differ from 24 straight by %g (> %g)", opt, np, d, tol)
			}
		}
	}
}
