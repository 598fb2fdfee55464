package audit

import (
	"math"
	"strings"
	"testing"

	"github.com/dpmpi/dpmpi/optimizer/optimizertest"
)

func TestExperimentErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		x    Experiment
		want string
	}{
		{"optimizer", Experiment{Optimizer: "adam"}, `unknown optimizer "adam"`},
		{"sigma", Experiment{NoiseMultiplier: -1}, "noise multiplier -1"},
		{"sigma inf", Experiment{NoiseMultiplier: math.Inf(1)}, "noise multiplier +Inf"},
		{"rate", Experiment{SampleRate: 1.5}, "sample rate 1.5"},
		{"steps", Experiment{Steps: -2}, "steps -2"},
		{"canaries", Experiment{Canaries: 8}, "8 canaries"},
		{"passes and virtual", Experiment{Passes: 2, MaxPhysical: 10}, "cannot be combined"},
		{"norm", Experiment{MaxGradNorm: math.NaN()}, "max gradient norm NaN"},
		{"delta", Experiment{Delta: 1}, "δ = 1"},
		{"confidence", Experiment{Confidence: 2}, "confidence = 2"},
		{"profile", Experiment{ProfileDeltas: []float64{0.1, 0}}, "profile δ = 0"},
		{"one-run K", Experiment{Canaries: 100, OneRunK: []int{60}}, "guess count 60"},
	} {
		_, err := c.x.WithDefaults()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
		if _, err := Run(c.x, optimizertest.NewWorld[float64](1).Comm(0)); err == nil {
			t.Errorf("%s: Run accepted the experiment", c.name)
		}
	}
	if _, err := Run(Experiment{}, nil); err == nil {
		t.Error("Run without a communicator: no error")
	}
	x, err := Experiment{}.WithDefaults()
	if err != nil || x.Optimizer != Simple || x.NoiseMultiplier != 1 || x.SampleRate != 0.5 || x.Steps != 8 || x.Passes != 1 ||
		x.Layers != 4 || x.Canaries != 1<<15 || x.Runs != 4 || x.MaxGradNorm != 1 || x.CanaryNorm != 10 || x.Delta != 1e-5 ||
		x.Confidence != 0.95 || len(x.ProfileDeltas) != 7 || len(x.OneRunK) != 3 {
		t.Errorf("defaults %+v (%v)", x, err)
	}
}

func TestLogLR(t *testing.T) {
	naive := func(y, mu, q float64) float64 { return math.Log(1 - q + q*math.Exp(mu*y-mu*mu/2)) }
	for _, c := range []struct{ y, mu, q float64 }{
		{0, 1, 0.5}, {1, 1, 0.5}, {-3, 2, 0.1}, {5, 0.5, 0.9}, {2, 1, 1}, {-1, 1, 1}, {0.3, 3, 0.01},
	} {
		if got, want := logLR(c.y, c.mu, c.q), naive(c.y, c.mu, c.q); math.Abs(got-want) > 1e-12*max(1, math.Abs(want)) {
			t.Errorf("logLR(%v, %v, %v) = %v, want %v", c.y, c.mu, c.q, got, want)
		}
	}
	// Far in the tail the naive form overflows; the stable one is z + log q.
	if got, want := logLR(1000, 2, 0.5), 2*1000-2+math.Log(0.5); math.Abs(got-want) > 1e-9 {
		t.Errorf("logLR in the tail = %v, want %v", got, want)
	}
}

func TestDiracSource(t *testing.T) {
	d := diracSource{slots: []int{3, 0, 3}, v: -2, n: 5}
	norms := make([]float64, 3)
	d.Norms(norms)
	dst := make([]float64, 5)
	d.AddWeighted(dst, []float64{0.5, 1, 0.25})
	if norms[0] != 2 || norms[2] != 2 || dst[0] != -2 || dst[3] != -1.5 || dst[1] != 0 || d.Samples() != 3 || d.Len() != 5 {
		t.Errorf("norms %v, sum %v", norms, dst)
	}
}

// TestRunSingleProcess checks, in one process, that the three optimizers
// see the same canaries the same way: with the same seeds their scores,
// hence their bounds, agree (flat clipping splits the clipped canary over
// the layers and scales the noise to match), and the accountant records
// (σ, q) at every step, also with accumulated passes and virtual steps.
func TestRunSingleProcess(t *testing.T) {
	base := Experiment{Canaries: 2048, Runs: 2, Steps: 4, Seed: 9}
	var first *Result
	for _, c := range []struct {
		opt          Optimizer
		passes, phys int
	}{{Flat, 1, 0}, {Simple, 1, 0}, {Hooks, 1, 0}, {Simple, 2, 0}, {Hooks, 2, 0}, {Flat, 1, 64}, {Hooks, 1, 64}} {
		x := base
		x.Optimizer, x.Passes, x.MaxPhysical = c.opt, c.passes, c.phys
		r, err := Run(x, optimizertest.NewWorld[float64](1).Comm(0))
		if err != nil {
			t.Fatal(err)
		}
		if r.History.Steps() != x.Steps || len(r.History) != 1 || r.History[0].NoiseMultiplier != 1 || r.History[0].SampleRate != 0.5 {
			t.Errorf("%s k=%d max=%d: history %v", c.opt, c.passes, c.phys, r.History)
		}
		if r.In+r.Out != x.Canaries*x.Runs || !(r.Bound.Epsilon > 0) || r.Flagged {
			t.Errorf("%s k=%d max=%d: %d+%d trials, %v, flagged %v", c.opt, c.passes, c.phys, r.In, r.Out, r.Bound, r.Flagged)
		}
		if first == nil {
			first = r
		} else if math.Abs(r.Bound.Epsilon-first.Bound.Epsilon) > 1e-9 || r.OneRun.Correct != first.OneRun.Correct {
			t.Errorf("%s k=%d max=%d: %v and one-run %v differ from flat's %v and %v", c.opt, c.passes, c.phys, r.Bound, r.OneRun, first.Bound, first.OneRun)
		}
	}
}
