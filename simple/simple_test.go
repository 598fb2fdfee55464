package simple_test

import (
	"math"
	"strings"
	"testing"

	"github.com/dpmpi/dpmpi/mpi"
	"github.com/dpmpi/dpmpi/mpi/mpitest"
	"github.com/dpmpi/dpmpi/optimizer"
	"github.com/dpmpi/dpmpi/optimizer/optimizertest"
	"github.com/dpmpi/dpmpi/perlayer"
	"github.com/dpmpi/dpmpi/simple"
)

func TestMain(m *testing.M) { mpitest.Main(m) }

var problem = optimizertest.Problem[float64]{
	Layers: []optimizer.LayerSpec{
		{Name: "conv", Shape: []int{2, 2, 3}, Len: 12},
		{Name: "fc", Len: 8},
		{Name: "bias", Len: 3},
	},
	Seed: 77,
}

// thresholds clip some samples of every layer and leave others alone.
var thresholds = []float64{1.2, 0.9, 0.4}

func newUpdater(kind string) optimizer.Updater[float64] {
	var u optimizer.Updater[float64]
	var err error
	switch kind {
	case "sgd-momentum":
		u, err = optimizer.NewSGD[float64](0.05, 0.9, 0, 1e-3, false)
	case "adam":
		u, err = optimizer.NewAdam[float64](0.01, 0.9, 0.999, 1e-8, 0)
	}
	if err != nil || u == nil {
		panic("bad updater " + kind)
	}
	return u
}

// run runs a scenario with per-layer clipping and σ = 0: comm nil is the
// single-process DPPerLayerOptimizer over the whole batch, otherwise the
// SimpleDistributedPerLayerOptimizer as rank r of w.
func run(t *testing.T, sc optimizertest.Scenario[float64], kind string, comm optimizer.Communicator[float64], w, r int) []float64 {
	t.Helper()
	a := sc.Problem.Arena()
	cfg := optimizer.Config{ExpectedBatchSize: float64(sc.Batch) / float64(w), Generator: optimizer.NewSeededGenerator(1)}
	var opt optimizertest.Stepper[float64]
	var err error
	if comm == nil {
		opt, err = perlayer.NewDPPerLayerOptimizer(a, newUpdater(kind), thresholds, cfg)
	} else {
		opt, err = simple.New(a, newUpdater(kind), thresholds, cfg, comm)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Run(opt, w, r); err != nil {
		t.Fatal(err)
	}
	return a.Params
}

// With σ = 0, Simple at W = 1..4 under real mpirun (one global batch split
// into shards) matches the single-process DPPerLayerOptimizer within 1e-12
// relative over several steps, with SGD-momentum and Adam, with k = 2
// accumulated passes, with virtual steps, and with rank 1's batch always
// empty (at W = 3 the other two ranks hold the samples).
func TestEquivalenceMPI(t *testing.T) {
	mpitest.Run(t, []int{1, 2, 3, 4}, func(t *testing.T, comm *mpi.Comm) {
		w, r := comm.Size(), comm.Rank()
		for _, ns := range optimizertest.EquivalenceScenarios(problem) {
			for _, kind := range []string{"sgd-momentum", "adam"} {
				want := run(t, ns.Scenario, kind, nil, 1, 0)
				got := run(t, ns.Scenario, kind, comm, w, r)
				if d := optimizertest.RelDiff(got, want); d > 1e-12 {
					t.Errorf("%s/%s W=%d rank %d: relative difference %g from DPPerLayerOptimizer", ns.Name, kind, w, r, d)
				}
				if optimizertest.RelDiff(got, problem.Arena().Params) < 1e-3 {
					t.Errorf("%s/%s: the parameters barely moved; the test cannot fail", ns.Name, kind)
				}
			}
		}
	})
}

// noisyStep runs one step with zero gradients (empty local batches), k = 2
// passes, σ = 1.5, B_w = 4 and the given generator, and returns the final
// gradient.
func noisyStep(t *testing.T, comm optimizer.Communicator[float64], n int, cfg optimizer.Config) []float64 {
	t.Helper()
	a, err := optimizer.NewArena[float64](optimizer.LayerSpec{Name: "a", Len: n / 2}, optimizer.LayerSpec{Name: "b", Len: n / 4}, optimizer.LayerSpec{Name: "c", Len: n / 4})
	if err != nil {
		t.Fatal(err)
	}
	sgd, err := optimizer.NewSGD[float64](0, 0, 0, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	cfg.NoiseMultiplier, cfg.ExpectedBatchSize = 1.5, 4
	o, err := simple.New(a, sgd, []float64{1, 2, 2}, cfg, comm)
	if err != nil {
		t.Fatal(err)
	}
	srcs := make([]optimizer.GradSource[float64], 3)
	for l, ly := range a.Layers {
		srcs[l] = optimizer.NewDenseSource[float64](0, ly.Len, nil)
	}
	for range 2 {
		if err := o.AddBackward(srcs); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := o.Step(); err != nil {
		t.Fatal(err)
	}
	return a.Grads
}

func rms(x []float64) float64 {
	s := 0.0
	for _, v := range x {
		s += v * v
	}
	return math.Sqrt(s / float64(len(x)))
}

const noiseN = 100_000

// checkNoise checks that g has per-coordinate std σ‖C‖₂/(B_w·k·W) =
// 1.5·3/(4·2·W) within 1.5% (about 7 standard errors at 100 000
// coordinates). Noise added on every rank would give √W times that.
func checkNoise(t *testing.T, g []float64, w int) {
	t.Helper()
	want := 1.5 * 3 / (4 * 2 * float64(w))
	if s := rms(g); math.Abs(s/want-1) > 0.015 {
		t.Errorf("W=%d: noise std %v, want σ‖C‖₂/(B_w·k·W) = %v (ratio %v)", w, s, want, s/want)
	}
}

// Under real mpirun at W = 1..4, with rank-0 and with sharded noise: the
// aggregated noise has std σ‖C‖₂/(B_w·k·W), every rank holds the same
// gradient, and a seeded run reproduces bit for bit.
func TestNoiseMPI(t *testing.T) {
	mpitest.Run(t, []int{1, 2, 3, 4}, func(t *testing.T, comm *mpi.Comm) {
		w, r := comm.Size(), comm.Rank()
		for _, mode := range []optimizer.NoiseMode{optimizer.RankZeroNoise, optimizer.ShardedNoise} {
			checkNoiseMode(t, comm, w, r, mode)
		}
	})
}

func checkNoiseMode(t *testing.T, comm *mpi.Comm, w, r int, mode optimizer.NoiseMode) {
	t.Helper()
	seeded := func() optimizer.Config {
		return optimizer.Config{Generator: optimizer.NewSeededGenerator(40 + uint64(r)), NoiseMode: mode}
	}
	g := noisyStep(t, comm, noiseN, seeded())
	checkNoise(t, g, w)
	if rho, bound := optimizertest.MaxShardCorrelation(g, w), 5/math.Sqrt(noiseN/4); rho > bound {
		t.Errorf("%s W=%d: neighbouring noise slices correlate (|ρ| = %.4f > %.4f)", mode, w, rho, bound)
	}
	again := noisyStep(t, comm, noiseN, seeded())
	if optimizertest.RelDiff(again, g) != 0 {
		t.Errorf("%s: two runs with the same seed and W differ", mode)
	}
	root := append([]float64(nil), g...)
	if err := comm.Bcast(root, 0); err != nil {
		t.Fatal(err)
	}
	if optimizertest.RelDiff(g, root) != 0 {
		t.Errorf("%s: rank %d's gradient differs from rank 0's", mode, r)
	}
}

// At the first step the ranks find that they disagree on the thresholds and
// all return an error; none hangs.
func TestMismatchMPI(t *testing.T) {
	mpitest.Run(t, []int{2, 3}, func(t *testing.T, comm *mpi.Comm) {
		w, r := comm.Size(), comm.Rank()
		cs := append([]float64(nil), thresholds...)
		if r == w-1 {
			cs[2] = 0.5
		}
		a := problem.Arena()
		sgd, _ := optimizer.NewSGD[float64](1, 0, 0, 0, false)
		o, err := simple.New(a, sgd, cs, optimizer.Config{ExpectedBatchSize: 2}, comm)
		if err != nil {
			t.Fatal(err)
		}
		if err := o.AddBackward(problem.Sources(0, 0, 2*w, 2*r, 2*r+2)); err != nil {
			t.Fatal(err)
		}
		if _, err := o.Step(); err == nil || !strings.Contains(err.Error(), "disagree on the clipping thresholds") {
			t.Errorf("rank %d: Step = %v, want a disagreement on the clipping thresholds", r, err)
		}
	})
}

type countingGen struct {
	g     optimizer.Generator
	draws int
}

func (c *countingGen) NormFloat64() float64 { c.draws++; return c.g.NormFloat64() }

// The generator each rank is given is the one used, and only rank 0 draws;
// secure mode gives the same std.
func TestGeneratorAndSecureMode(t *testing.T) {
	const w = 3
	gens := make([]*countingGen, w)
	grads := make([][]float64, w)
	world := optimizertest.NewWorld[float64](w)
	world.Run(func(r int, c *optimizertest.Comm[float64]) error {
		gens[r] = &countingGen{g: optimizer.NewSeededGenerator(uint64(r))}
		grads[r] = noisyStep(t, c, 1000, optimizer.Config{Generator: gens[r]})
		return nil
	})
	for r, g := range gens {
		if want := map[bool]int{true: 1000, false: 0}[r == 0]; g.draws != want {
			t.Errorf("rank %d drew %d variates, want %d", r, g.draws, want)
		}
	}
	world = optimizertest.NewWorld[float64](w)
	world.Run(func(r int, c *optimizertest.Comm[float64]) error {
		grads[r] = noisyStep(t, c, noiseN, optimizer.Config{SecureMode: true})
		return nil
	})
	checkNoise(t, grads[0], w)
	for r := 1; r < w; r++ {
		if optimizertest.RelDiff(grads[r], grads[0]) != 0 {
			t.Errorf("secure mode: rank %d's gradient differs from rank 0's", r)
		}
	}
}

func TestNewErrors(t *testing.T) {
	cfg := optimizer.Config{ExpectedBatchSize: 1, Generator: optimizer.NewSeededGenerator(1)}
	sgd, _ := optimizer.NewSGD[float64](1, 0, 0, 0, false)
	if _, err := simple.New(problem.Arena(), sgd, thresholds, cfg, nil); err == nil || !strings.Contains(err.Error(), "needs a communicator") {
		t.Errorf("nil communicator: %v", err)
	}
	comm := optimizertest.NewWorld[float64](1).Comm(0)
	if _, err := simple.New(problem.Arena(), sgd, []float64{1, 1}, cfg, comm); err == nil || !strings.Contains(err.Error(), "2 per-layer clipping thresholds for an arena of 3 layers") {
		t.Errorf("threshold count: %v", err)
	}
	cfg.SecureMode = true
	if _, err := simple.New(problem.Arena(), sgd, thresholds, cfg, comm); err == nil || !strings.Contains(err.Error(), "secure mode forbids a seeded generator") {
		t.Errorf("secure mode with a seed: %v", err)
	}
}
