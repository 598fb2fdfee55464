package main

import (
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/dpmpi/dpmpi/accountant"
	"github.com/dpmpi/dpmpi/data"
)

// lastMetric returns the last record of a metrics file.
func lastMetric(t *testing.T, path string) metric {
	t.Helper()
	recs := metricRecords(t, path)
	if len(recs) == 0 {
		t.Fatalf("%s holds no record", path)
	}
	return recs[len(recs)-1]
}

// testLoss reads the test loss from dptrain's summary.
func testLoss(t *testing.T, stdout string) string {
	t.Helper()
	m := regexp.MustCompile(`test loss ([0-9.]+)`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no test loss in the summary:\n%s", stdout)
	}
	return m[1]
}

// TestCenterRun: --center-norm subtracts the features' mean from the
// training and the test samples, with its cost accounted before the steps.
//   - With a negligible --center-sigma, R above every sample's norm, σ = 0
//     and q = 1, a centred run at 1 and 2 ranks ends with the weights and the
//     test loss of a run given the exact mean as --normalize-mean.
//   - The ledger's first record is the mean (σ_c, q = 1, step 0), and the
//     ε reported is that of the mean followed by the steps.
//   - The budget guard counts the mean: it stops where the mean and the
//     steps reach the budget, earlier than the steps alone would, and a
//     budget the mean and one step exceed is refused before the mean is
//     released.
//   - --target-epsilon calibrates σ for the steps after the mean.
//   - A resumed run subtracts the checkpoint's mean without recording it
//     again and ends as the uninterrupted run; resuming with another
//     --center-sigma, or from a ledger without the mean, is refused.
func TestCenterRun(t *testing.T) {
	dir := t.TempDir()
	_, trainNPY := exportSplit(t, dir, "train", 96)
	_, testNPY := exportSplit(t, dir, "t10k", 32)
	x, y, _ := strings.Cut(trainNPY, ",")
	tab, err := data.ReadNPYFiles(x, y, data.NPYOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := tab.Dim()
	mean := make([]float64, d)
	for i := range tab.Len() {
		for j, v := range tab.Features[i*d : (i+1)*d] {
			mean[j] += v / float64(tab.Len())
		}
	}
	args := func(out string, extra ...string) []string {
		return append([]string{"--out", filepath.Join(dir, out), "--progress", "none", "--plot", "none", "--model", "mlp",
			"--precision", "float64", "--data-format", "npy", "--train-data", trainNPY, "--test-data", testNPY, "--classes", "10",
			"--max-grad-norm", "0.5", "--lr", "0.5", "--checkpoint-every", "0", "--seed", "3"}, extra...)
	}
	run := func(np int, out string, extra ...string) result {
		t.Helper()
		return mustRun(t, np, args(out, extra...)...)
	}
	exact := []string{"--sample-rate", "1", "--steps", "3", "--sigma", "0"}

	// Centring is subtracting the mean from both splits.
	ms := make([]string, d)
	for j, m := range mean {
		ms[j] = strconv.FormatFloat(m, 'g', -1, 64)
	}
	refOut := run(1, "ref", append(exact, "--normalize-mean", strings.Join(ms, ","))...)
	ref := weights(t, filepath.Join(dir, "ref", "weights.bin"))
	for _, np := range []int{1, 2} {
		name := "centred-" + strconv.Itoa(np)
		r := run(np, name, append(exact, "--center-norm", "40", "--center-sigma", "1e-12")...)
		if diff := maxDiff(weights(t, filepath.Join(dir, name, "weights.bin")), ref); diff > 1e-9 {
			t.Errorf("%d rank(s): the centred run's weights differ from the run given the mean by %g (> 1e-9)", np, diff)
		}
		if got, want := testLoss(t, r.stdout), testLoss(t, refOut.stdout); got != want {
			t.Errorf("%d rank(s): test loss %s, the run given the mean %s: the test split is not centred alike", np, got, want)
		}
	}
	if uncentred := run(1, "plain", exact...); testLoss(t, uncentred.stdout) == testLoss(t, refOut.stdout) {
		t.Fatal("centring does not change the test loss; the comparison above cannot fail")
	}

	// The ledger and ε.
	const sigmaC, sigma, q = 2.0, 1.0, 0.25
	noisyWith := func(sigmaC string, extra ...string) []string {
		return append([]string{"--sample-rate", "0.25", "--sigma", "1", "--center-norm", "40", "--center-sigma", sigmaC}, extra...)
	}
	noisy := noisyWith("2")
	run(2, "noisy", append(noisy, "--steps", "3")...)
	recs := readLedgerT(t, filepath.Join(dir, "noisy", "checkpoints", "ledger.txt"))
	if len(recs) != 4 || recs[0].Step != 0 || recs[0].Tag != centerTag || recs[0].NoiseMultiplier != sigmaC || recs[0].SampleRate != 1 {
		t.Fatalf("ledger %+v: want the mean (σ=%v, q=1, tag %s) and then 3 steps", recs, sigmaC, centerTag)
	}
	m := mustMech(t)
	prior := accountant.History{{NoiseMultiplier: sigmaC, SampleRate: 1, Steps: 1}}
	eps := func(h accountant.History) float64 {
		e, err := m.Epsilon(h, 1e-5)
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	steps := func(n int) accountant.History {
		return append(append(accountant.History(nil), prior...), accountant.Entry{NoiseMultiplier: sigma, SampleRate: q, Steps: n})
	}
	if got, want := lastMetric(t, filepath.Join(dir, "noisy", "metrics.jsonl")).Epsilon, eps(steps(3)); math.Abs(got/want-1) > 1e-12 {
		t.Errorf("reported ε = %v, want %v (the mean, then 3 steps)", got, want)
	}

	// The budget guard: ε(mean + 2 steps) ≤ budget < ε(mean + 3 steps), while
	// 3 steps alone stay below it.
	budget := (eps(steps(2)) + eps(steps(3))) / 2
	if alone := eps(accountant.History{{NoiseMultiplier: sigma, SampleRate: q, Steps: 3}}); alone >= budget {
		t.Fatalf("3 steps alone spend ε=%v ≥ the budget %v: the guard's test cannot fail", alone, budget)
	}
	g := run(2, "guard", append(noisy, "--steps", "6", "--max-epsilon", strconv.FormatFloat(budget, 'g', -1, 64))...)
	if !strings.Contains(g.stdout, "stopped after step 2 of 6") {
		t.Errorf("--max-epsilon %v: want the guard to stop after step 2:\n%s", budget, g.stdout)
	}

	// A budget that the mean and one step exceed is refused before the
	// mean is released: the ledger records nothing.
	tight := runJob(t, 2, args("tight", append(noisy, "--steps", "6", "--max-epsilon", strconv.FormatFloat(eps(steps(1))*0.99, 'g', -1, 64))...)...)
	if tight.code == 0 || !strings.Contains(tight.stderr, "already exhausted at step 0") {
		t.Errorf("a budget below the mean and one step: exit %d, want a refusal:\n%s", tight.code, tight.stderr)
	}
	if recs := readLedgerT(t, filepath.Join(dir, "tight", "checkpoints", "ledger.txt")); len(recs) != 0 {
		t.Errorf("the refused run's ledger holds %+v: the mean was released before the budget was checked", recs)
	}

	// Calibration for the steps after the mean.
	cal := []string{"--sample-rate", "0.25", "--steps", "3", "--target-epsilon", "8", "--delta", "1e-5"}
	run(2, "cal-plain", cal...)
	run(2, "cal-centred", append(cal, "--center-norm", "40", "--center-sigma", "2")...)
	plain, centred := lastMetric(t, filepath.Join(dir, "cal-plain", "metrics.jsonl")), lastMetric(t, filepath.Join(dir, "cal-centred", "metrics.jsonl"))
	if !(centred.Sigma > plain.Sigma) || centred.Epsilon > 8 || centred.Epsilon < 7.5 {
		t.Errorf("--target-epsilon 8 with the mean: σ=%v ε=%v; without: σ=%v; want a larger σ and ε just below 8", centred.Sigma, centred.Epsilon, plain.Sigma)
	}

	// Resume.
	run(2, "resumed", append(noisy, "--steps", "2")...)
	if s, err := loadCheckpoint(filepath.Join(dir, "resumed", "checkpoints")); err != nil || len(s.Center) != d {
		t.Fatalf("the checkpoint holds %d mean values (%v), want %d", len(s.Center), err, d)
	}
	run(2, "resumed", append(noisy, "--steps", "3", "--resume")...)
	if diff := maxDiff(weights(t, filepath.Join(dir, "resumed", "weights.bin")), weights(t, filepath.Join(dir, "noisy", "weights.bin"))); diff != 0 {
		t.Errorf("the resumed run's weights differ from the uninterrupted run's by %g", diff)
	}
	sameLedger(t, readLedgerT(t, filepath.Join(dir, "resumed", "checkpoints", "ledger.txt")), recs)
	other := runJob(t, 2, args("resumed", noisyWith("3", "--steps", "4", "--resume")...)...)
	if other.code == 0 || !strings.Contains(other.stderr, "Center") {
		t.Errorf("resume with another --center-sigma: exit %d, want a refusal naming Center:\n%s", other.code, other.stderr)
	}
	// A well-formed ledger that lacks the mean's record.
	lp := filepath.Join(dir, "resumed", "checkpoints", "ledger.txt")
	if err := os.Remove(lp); err != nil {
		t.Fatal(err)
	}
	l, err := accountant.CreateLedger(lp)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs[1:] {
		if err := l.AppendRecord(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	lost := runJob(t, 2, args("resumed", append(noisy, "--steps", "4", "--resume")...)...)
	if lost.code == 0 || !strings.Contains(lost.stderr, "does not record the mean") {
		t.Errorf("resume from a ledger without the mean: exit %d, want a refusal:\n%s", lost.code, lost.stderr)
	}
}

// TestCenterFlags: misused centring flags are clear errors.
func TestCenterFlags(t *testing.T) {
	checkFlagErrors(t, []flagCase{
		{[]string{"--center-norm", "5"}, "--center-norm applies to --data-format csv or npy"},
		{[]string{"--center-sigma", "3"}, "--center-sigma applies with --center-norm"},
		{[]string{"--center-norm", "-1"}, "--center-norm must be a positive norm bound"},
		{[]string{"--center-norm", "5", "--center-sigma", "0"}, "--center-sigma must be a positive noise multiplier"},
	})
}
