package main

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio"
	"github.com/dpmpi/dpmpi/internal/seed"
	"gonum.org/v1/gonum/mat"
)

// image flips, then shifts with zero fill.
func TestAugmentImage(t *testing.T) {
	a := &augmenter{shape: [3]int{1, 2, 3}}
	src := []float64{1, 2, 3, 4, 5, 6} // rows [1 2 3], [4 5 6]
	for _, tt := range []struct {
		flip   bool
		dy, dx int
		want   []float64
	}{
		{false, 0, 0, []float64{1, 2, 3, 4, 5, 6}},
		{true, 0, 0, []float64{3, 2, 1, 6, 5, 4}},
		{false, 0, 1, []float64{2, 3, 0, 5, 6, 0}},
		{false, 1, -1, []float64{0, 4, 5, 0, 0, 0}},
		{true, -1, 1, []float64{0, 0, 0, 2, 1, 0}},
	} {
		dst := make([]float64, 6)
		a.image(dst, src, tt.flip, tt.dy, tt.dx)
		if !slices.Equal(dst, tt.want) {
			t.Errorf("flip %v shift (%d,%d): %v, want %v", tt.flip, tt.dy, tt.dx, dst, tt.want)
		}
	}
}

// The transforms drawn from keys flip half the copies and spread the
// shifts evenly over [−P, P]².
func TestAugmentDraw(t *testing.T) {
	const n, p = 90000, 2
	a := &augmenter{flip: true, crop: p, key: 5}
	flips := 0
	counts := map[[2]int]int{}
	for i := range n {
		f, dy, dx := a.draw(seed.Mix(uint64(i))) // keys as expand makes them: mixed
		if f {
			flips++
		}
		if dy < -p || dy > p || dx < -p || dx > p {
			t.Fatalf("shift (%d,%d) outside ±%d", dy, dx, p)
		}
		counts[[2]int{dy, dx}]++
	}
	if math.Abs(float64(flips)/n-0.5) > 0.01 {
		t.Errorf("%d of %d copies flipped, want about half", flips, n)
	}
	want := float64(n) / 25
	for s, c := range counts {
		if math.Abs(float64(c)/want-1) > 0.05 {
			t.Errorf("shift %v drawn %d times, want about %.0f", s, c, want)
		}
	}
	if len(counts) != 25 {
		t.Errorf("%d distinct shifts, want 25", len(counts))
	}
}

// writeView writes x (n rows of d features) as a float64 .npy file.
func writeView(t *testing.T, path string, n, d int, x []float64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := npyio.Write(f, mat.NewDense(n, d, x)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// Augmentation multiplicity end to end, on 2 ranks with noise: a view
// identical to the training features leaves the run as it is without
// augmentation (the mean of two equal gradients is the gradient; the loss
// of a sample is its copies' mean), also with --center-norm (the views are
// centred too), and a different view changes it.
func TestAugmentViews(t *testing.T) {
	dir := t.TempDir()
	_, trainNPY := exportSplit(t, dir, "train", 128)
	_, testNPY := exportSplit(t, dir, "t10k", 32)
	xPath, _, _ := strings.Cut(trainNPY, ",")
	raw, err := os.ReadFile(xPath)
	if err != nil {
		t.Fatal(err)
	}
	same := filepath.Join(dir, "same.npy")
	if err := os.WriteFile(same, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	other := make([]float64, 128*784)
	for i := range other {
		other[i] = float64(i%7) / 7
	}
	otherPath := filepath.Join(dir, "other.npy")
	writeView(t, otherPath, 128, 784, other)
	run := func(out string, extra ...string) []float64 {
		o := filepath.Join(dir, out)
		mustRun(t, 2, append([]string{"--out", o, "--progress", "none", "--plot", "none", "--model", "mlp", "--precision", "float64",
			"--data-format", "npy", "--train-data", trainNPY, "--test-data", testNPY, "--batch-size", "32", "--steps", "6",
			"--sigma", "1", "--max-grad-norm", "0.5", "--lr", "0.5", "--checkpoint-every", "0", "--seed", "3"}, extra...)...)
		return weights(t, filepath.Join(o, "weights.bin"))
	}
	plain := run("plain")
	if d := maxDiff(run("same", "--augment-views", same), plain); d > 1e-12 {
		t.Errorf("an identical view changed the weights by %g", d)
	}
	if d := maxDiff(run("other", "--augment-views", otherPath, "--multiplicity", "2"), plain); d < 1e-6 {
		t.Errorf("a different view changed the weights by only %g", d)
	}
	// --center-norm centres the views like the training samples, so an
	// identical view still changes nothing.
	center := []string{"--center-norm", "40", "--center-sigma", "1"}
	centred := run("centred", center...)
	if d := maxDiff(run("centred-same", append(center, "--augment-views", same)...), centred); d > 1e-12 {
		t.Errorf("with --center-norm, an identical view changed the weights by %g (is the view centred?)", d)
	}
	if d := maxDiff(centred, plain); d < 1e-6 {
		t.Errorf("--center-norm changed the weights by only %g", d)
	}
}

// Image augmentation with multiplicity is the same at 1 and 2 ranks (q = 1,
// σ = 0), with either per-layer optimizer, and after a resume: the copies
// are keyed by sample and step, not by rank or invocation.
func TestAugmentImages(t *testing.T) {
	dir := t.TempDir()
	args := func(out string, steps string, extra ...string) []string {
		return base(filepath.Join(dir, out), append([]string{"--model", "cnn", "--train-limit", "48", "--test-limit", "16",
			"--sample-rate", "1", "--steps", steps, "--sigma", "0", "--max-grad-norm", "0.5", "--lr", "0.5",
			"--max-physical-batch", "10", "--checkpoint-every", "0", "--seed", "2",
			"--multiplicity", "3", "--augment", "flip,crop=2"}, extra...)...)
	}
	mustRun(t, 1, args("one", "4")...)
	mustRun(t, 2, args("two", "4")...)
	mustRun(t, 2, args("hooks", "4", "--dist-optimizer", "hooks")...)
	mustRun(t, 2, args("resumed", "2")...)
	mustRun(t, 2, args("resumed", "4", "--resume")...)
	mustRun(t, 2, args("plain", "4", "--multiplicity", "1", "--augment", "")...)
	one := weights(t, filepath.Join(dir, "one", "weights.bin"))
	if d := maxDiff(weights(t, filepath.Join(dir, "two", "weights.bin")), one); d > 1e-9 {
		t.Errorf("2 ranks differ from 1 by %g", d)
	}
	if d := maxDiff(weights(t, filepath.Join(dir, "hooks", "weights.bin")), one); d > 1e-9 {
		t.Errorf("the hooks optimizer at 2 ranks differs from simple at 1 by %g", d)
	}
	if d := maxDiff(weights(t, filepath.Join(dir, "resumed", "weights.bin")), one); d > 1e-9 {
		t.Errorf("the resumed run differs from the uninterrupted one by %g", d)
	}
	if d := maxDiff(weights(t, filepath.Join(dir, "plain", "weights.bin")), one); d < 1e-6 {
		t.Errorf("augmentation changed the weights by only %g", d)
	}
}

// Augmentation flags are checked before anything runs.
func TestAugmentFlags(t *testing.T) {
	checkFlagErrors(t, []flagCase{
		{[]string{"--multiplicity", "2"}, "would average identical copies"},
		{[]string{"--augment", "rotate"}, "unknown augmentation"},
		{[]string{"--augment", "crop=0"}, "crop=P"},
		{[]string{"--augment", "flip"}, "needs [C, H, W]"}, // the mlp takes [784]
		{[]string{"--augment-views", "v.npy"}, "--augment-views needs --data-format npy"},
		{[]string{"--multiplicity", "-1"}, "--multiplicity must be ≥ 1"},
	})
}
