package main

import (
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// The average follows e_t = d_t·e_{t−1} + (1−d_t)·p_t with d_t =
// min(decay, (1+t)/(w+t)), starting from the initial parameters.
func TestAverageUpdate(t *testing.T) {
	tests := []struct {
		name          string
		decay, warmup float64
		steps         int
	}{
		{"warm-up throughout", 0.999, 10, 40}, // d_t = (1+t)/(10+t)
		{"decay from step 8", 0.5, 10, 20},    // warm-up to t = 8, then 0.5
		{"decay from step 80", 0.9, 10, 200},  // warm-up to t = 80, then 0.9
		{"uniform average", 0.9999, 2, 50},    // d_t = (1+t)/(2+t)
		{"warm-up 3.5", 0.99, 3.5, 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := []float64{1, -2, 0.5}
			a := newAverage(tt.decay, tt.warmup, p)
			want := append([]float64(nil), p...)
			for s := 1; s <= tt.steps; s++ {
				for i := range p {
					p[i] = math.Sin(float64(s*(i+1))) * 3 // parameters that move every step
				}
				a.update(p, s)
				d := math.Min(tt.decay, float64(1+s)/(tt.warmup+float64(s)))
				for i := range want {
					want[i] = d*want[i] + (1-d)*p[i]
				}
			}
			for i := range want {
				if math.Abs(a.avg[i]-want[i]) > 1e-12 {
					t.Errorf("average[%d] = %v after %d steps, want %v", i, a.avg[i], tt.steps, want[i])
				}
			}
		})
	}
}

// with puts the average in place of the parameters for f only, also when f
// fails; a nil average leaves them alone.
func TestAverageWith(t *testing.T) {
	p := []float64{1, 2}
	a := newAverage(0.9, 10, []float64{5, 6})
	boom := errors.New("boom")
	var seen []float64
	err := a.with(p, func() error { seen = append(seen, p...); return boom })
	if !errors.Is(err, boom) {
		t.Errorf("with returned %v, want f's error", err)
	}
	if seen[0] != 5 || seen[1] != 6 || p[0] != 1 || p[1] != 2 {
		t.Errorf("f saw %v (want the average [5 6]); parameters afterwards %v (want [1 2])", seen, p)
	}
	var none *average[float64]
	seen = seen[:0]
	if err := none.with(p, func() error { seen = append(seen, p...); return nil }); err != nil || seen[0] != 1 {
		t.Errorf("nil average: f saw %v, err %v; want the parameters [1 2]", seen, err)
	}
}

// With --ema, training itself is unchanged (the checkpoint's parameters are
// a run without --ema's final weights), the weight file holds the
// checkpoint's average, and an interrupted and resumed run ends with the
// same average as an uninterrupted one.
func TestEMARun(t *testing.T) {
	dir := t.TempDir()
	args := func(out string, steps string, extra ...string) []string {
		return base(filepath.Join(dir, out), append([]string{"--train-limit", "256", "--test-limit", "32",
			"--batch-size", "64", "--steps", steps, "--sigma", "1", "--max-grad-norm", "1", "--lr", "0.3",
			"--momentum", "0.9", "--checkpoint-every", "0", "--seed", "5"}, extra...)...)
	}
	mustRun(t, 2, args("plain", "12")...)
	mustRun(t, 2, args("ema", "12", "--ema", "0.9")...)
	mustRun(t, 2, args("resumed", "5", "--ema", "0.9")...)
	mustRun(t, 2, args("resumed", "12", "--ema", "0.9", "--resume")...)

	s, err := loadCheckpoint(filepath.Join(dir, "ema", "checkpoints"))
	if err != nil {
		t.Fatal(err)
	}
	plain := weights(t, filepath.Join(dir, "plain", "weights.bin"))
	if d := maxDiff(s.Params, plain); d != 0 {
		t.Errorf("--ema changed training: its parameters differ from the plain run's by %g", d)
	}
	avg := weights(t, filepath.Join(dir, "ema", "weights.bin"))
	if d := maxDiff(avg, s.Average); d != 0 {
		t.Errorf("weights.bin differs from the checkpoint's average by %g", d)
	}
	if d := maxDiff(avg, plain); d < 1e-6 {
		t.Errorf("the average is within %g of the final parameters: not an average", d)
	}
	if d := maxDiff(weights(t, filepath.Join(dir, "resumed", "weights.bin")), avg); d != 0 {
		t.Errorf("the resumed run's average differs from the uninterrupted run's by %g", d)
	}
	// Resuming with another --ema is refused, naming the setting.
	r := runJob(t, 2, args("resumed", "14", "--ema", "0.5", "--resume")...)
	if r.code == 0 || !strings.Contains(r.stdout+r.stderr, "EMA") {
		t.Errorf("resume with another --ema: exit %d, want a refusal naming EMA:\n%s%s", r.code, r.stdout, r.stderr)
	}
}
