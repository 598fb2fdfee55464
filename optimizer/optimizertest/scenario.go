package optimizertest

import (
	"fmt"
	"math"

	"github.com/dpmpi/dpmpi/optimizer"
)

// Stepper is the training-loop surface of a DP optimizer. *optimizer.Engine
// and every optimizer embedding one satisfy it.
type Stepper[F optimizer.Float] interface {
	AddBackward(srcs []optimizer.GradSource[F]) error
	SignalSkip(skip bool)
	Step() (bool, error)
	ZeroGrad()
}

// Scenario is a deterministic training run for equivalence tests: the same
// global batches are split over w ranks, so a distributed run and a
// single-process run over the whole batch must end with the same
// parameters.
type Scenario[F optimizer.Float] struct {
	Problem Problem[F]
	// Batch is the global number of samples per backward pass.
	Batch int
	// Steps is the number of logical steps.
	Steps int
	// Passes is the number k of backward passes accumulated per physical
	// step (1 if 0).
	Passes int
	// Virtual is the number of physical steps per logical step; all but the
	// last are signalled as skipped (1 if 0).
	Virtual int
	// Shard gives rank r's samples [lo, hi) of a global batch of n samples
	// over w ranks; nil means Shard.
	Shard func(n, w, r int) (lo, hi int)
}

// Run drives opt as rank r of w through the scenario and returns the first
// error.
func (sc Scenario[F]) Run(opt Stepper[F], w, r int) error {
	passes, virtual := max(sc.Passes, 1), max(sc.Virtual, 1)
	shard := sc.Shard
	if shard == nil {
		shard = Shard
	}
	lo, hi := shard(sc.Batch, w, r)
	for s := range sc.Steps {
		for v := range virtual {
			opt.ZeroGrad()
			opt.SignalSkip(v < virtual-1)
			for p := range passes {
				if err := opt.AddBackward(sc.Problem.Sources(s, v*passes+p, sc.Batch, lo, hi)); err != nil {
					return fmt.Errorf("rank %d, step %d, physical %d, pass %d: %w", r, s, v, p, err)
				}
			}
			stepped, err := opt.Step()
			if err != nil {
				return fmt.Errorf("rank %d, step %d, physical %d: %w", r, s, v, err)
			}
			if stepped != (v == virtual-1) {
				return fmt.Errorf("rank %d, step %d, physical %d: stepped = %v", r, s, v, stepped)
			}
		}
	}
	return nil
}

// RelDiff returns ‖got − want‖∞ / ‖want‖∞ (or the absolute difference when
// want is zero). It panics if the lengths differ.
func RelDiff[F optimizer.Float](got, want []F) float64 {
	if len(got) != len(want) {
		panic("optimizertest: RelDiff: length mismatch")
	}
	d, m := 0.0, 0.0
	for i := range got {
		d = math.Max(d, math.Abs(float64(got[i])-float64(want[i])))
		m = math.Max(m, math.Abs(float64(want[i])))
	}
	if m == 0 || math.IsNaN(d) {
		return d
	}
	return d / m
}

// NamedScenario is a Scenario with a name for test output.
type NamedScenario[F optimizer.Float] struct {
	Name string
	Scenario[F]
}

// EquivalenceScenarios returns the standard equivalence scenarios over p,
// with a global batch of 12 samples: plain steps, k = 2 accumulated passes,
// virtual steps (three physical steps per logical step) and a run in which
// rank 1's shard is always empty (EmptyRankShard). Every rank must run them
// in the returned order.
func EquivalenceScenarios[F optimizer.Float](p Problem[F]) []NamedScenario[F] {
	return []NamedScenario[F]{
		{"plain", Scenario[F]{Problem: p, Batch: 12, Steps: 3}},
		{"k=2", Scenario[F]{Problem: p, Batch: 12, Steps: 3, Passes: 2}},
		{"virtual", Scenario[F]{Problem: p, Batch: 12, Steps: 2, Virtual: 3}},
		{"empty rank 1", Scenario[F]{Problem: p, Batch: 12, Steps: 3, Shard: EmptyRankShard}},
	}
}

// EmptyRankShard is a Shard function in which rank 1 has no samples: rank 0
// takes the first half of the batch (all of it at w = 2) and ranks 2..w−1
// split the rest.
func EmptyRankShard(n, w, r int) (lo, hi int) {
	switch {
	case w == 1:
		return 0, n
	case r == 1:
		return 0, 0
	case w == 2:
		return 0, n
	case r == 0:
		return 0, n / 2
	}
	lo, hi = Shard(n-n/2, w-2, r-2)
	return n/2 + lo, n/2 + hi
}

// MaxShardCorrelation returns the largest absolute Pearson correlation
// between the noise of neighbouring parts of g when g is split into w
// contiguous parts as Shard splits samples (part r against part r+1,
// element by element over the shorter length), and of each part with
// itself shifted by one coordinate. For independent standard normal noise
// every correlation over n pairs is about N(0, 1/n), so a bound of 5/√n
// holds with overwhelming probability, while ranks that drew the same
// stream give a correlation of 1.
func MaxShardCorrelation(g []float64, w int) float64 {
	corr := func(x, y []float64) float64 {
		n := min(len(x), len(y))
		var sx, sy, sxx, syy, sxy float64
		for i := range n {
			sx += x[i]
			sy += y[i]
			sxx += x[i] * x[i]
			syy += y[i] * y[i]
			sxy += x[i] * y[i]
		}
		f := float64(n)
		return (sxy - sx*sy/f) / math.Sqrt((sxx-sx*sx/f)*(syy-sy*sy/f))
	}
	var worst float64
	for r := range w {
		lo, hi := Shard(len(g), w, r)
		worst = max(worst, math.Abs(corr(g[lo:hi-1], g[lo+1:hi])))
		if r+1 < w {
			lo2, hi2 := Shard(len(g), w, r+1)
			worst = max(worst, math.Abs(corr(g[lo:hi], g[lo2:hi2])))
		}
	}
	return worst
}
