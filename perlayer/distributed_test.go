package perlayer

import (
	"errors"
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dpmpi/dpmpi/mpi"
	"github.com/dpmpi/dpmpi/mpi/mpitest"
	"github.com/dpmpi/dpmpi/optimizer"
	"github.com/dpmpi/dpmpi/optimizer/optimizertest"
	"github.com/dpmpi/dpmpi/simple"
)

// TestMain lets the multi-rank tests of this package re-execute the test
// binary under mpirun. It is the package's only TestMain.
func TestMain(m *testing.M) { mpitest.Main(m) }

var worlds = []int{1, 2, 3, 4}

// testLayers is a small model of five layers; with 8·20 = 160-byte buckets
// it is split into three buckets, so several reductions are in flight.
var testLayers = []optimizer.LayerSpec{
	{Name: "conv1", Shape: []int{3, 2, 5}, Len: 30},
	{Name: "conv1.b", Len: 7},
	{Name: "fc1", Shape: []int{5, 10}, Len: 50},
	{Name: "fc1.b", Len: 12},
	{Name: "fc2", Len: 25},
}

var testThresholds = []float64{0.8, 0.3, 1.5, 0.2, 1}

const testBucketBytes = 8 * 20

// stepper is the part of the three optimizers the scenarios drive.
type stepper = stepperOf[float64]

// stepperOf is the training-loop surface of the optimizers in precision F.
type stepperOf[F optimizer.Float] interface {
	AddBackward([]optimizer.GradSource[F]) error
	SignalSkip(bool)
	Step() (bool, error)
	ZeroGrad()
}

func newUpdater(t *testing.T, kind string) optimizer.Updater[float64] {
	t.Helper()
	return newUpdaterOf[float64](t, kind)
}

func newUpdaterOf[F optimizer.Float](t *testing.T, kind string) optimizer.Updater[F] {
	t.Helper()
	var u optimizer.Updater[F]
	var err error
	switch kind {
	case "sgd":
		u, err = optimizer.NewSGD[F](0.1, 0.9, 0, 0.01, false)
	case "adam":
		u, err = optimizer.NewAdam[F](0.01, 0.9, 0.999, 1e-8, 0)
	default:
		t.Fatalf("unknown updater %q", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// scenario is one schedule of logical steps. Each logical step has
// virtual physical steps (all but the last skipped), and each physical
// step accumulates passes backward passes of a global batch of n samples.
type scenario struct {
	name      string
	updater   string
	reduction optimizer.Reduction
	steps     int
	passes    int
	virtual   int
	n         int
	empty     int  // rank with an empty shard, or -1
	adaptive  bool // thresholds adapt to the median norm (noise-free)
}

// shard returns rank r's samples of a global batch of n: contiguous
// shards, or, when rank empty exists, none for that rank and the batch
// split over the others.
func (sc scenario) shard(w, r int) (lo, hi int) {
	if sc.empty < 0 || sc.empty >= w {
		return optimizertest.Shard(sc.n, w, r)
	}
	if r == sc.empty {
		return 0, 0
	}
	i := r
	if r > sc.empty {
		i--
	}
	return optimizertest.Shard(sc.n, w-1, i)
}

// run drives o through the scenario with rank r of w's shards (w = 1 and
// r = 0 for the whole batch) and returns the parameters after every
// logical step.
func (sc scenario) run(t *testing.T, p *optimizertest.Problem[float64], a *optimizer.Arena[float64], o stepper, w, r int) [][]float64 {
	t.Helper()
	return runScenario(t, sc, p, a, o, w, r)
}

// runScenario is scenario.run in precision F.
func runScenario[F optimizer.Float](t *testing.T, sc scenario, p *optimizertest.Problem[F], a *optimizer.Arena[F], o stepperOf[F], w, r int) [][]F {
	t.Helper()
	lo, hi := sc.shard(w, r)
	var out [][]F
	phys := 0
	for s := range sc.steps {
		for v := range sc.virtual {
			skip := v < sc.virtual-1
			o.SignalSkip(skip)
			for pass := range sc.passes {
				if err := o.AddBackward(p.Sources(phys, pass, sc.n, lo, hi)); err != nil {
					t.Fatalf("%s: step %d, pass %d: %v", sc.name, s, pass, err)
				}
			}
			stepped, err := o.Step()
			if err != nil {
				t.Fatalf("%s: step %d: %v", sc.name, s, err)
			}
			if stepped == skip {
				t.Fatalf("%s: step %d: Step reported stepped = %v with skip signal %v", sc.name, s, stepped, skip)
			}
			o.ZeroGrad()
			phys++
		}
		out = append(out, slices.Clone(a.Params))
	}
	return out
}

func (sc scenario) config(w int) optimizer.Config {
	b := 12.0 / float64(w)
	cfg := optimizer.Config{ExpectedBatchSize: b, LossReduction: sc.reduction, Generator: optimizer.NewSeededGenerator(1)}
	if sc.adaptive {
		cfg.Adaptive = &optimizer.QuantileClipping{TargetQuantile: 0.5, LearningRate: 0.3}
	}
	return cfg
}

// TestDistributedEquivalence compares, with σ = 0, the parameters after
// every logical step of DPPerLayerOptimizer on the whole batch (one
// process), SimpleDistributedPerLayerOptimizer and
// DistributedPerLayerOptimizer (both Progress modes) on shards at W = 1..4,
// and checks that every logical step after the first was reduced eagerly.
// With adaptive thresholds the thresholds, too, must agree.
func TestDistributedEquivalence(t *testing.T) {
	scenarios := []scenario{
		{name: "sgd", updater: "sgd", steps: 4, passes: 1, virtual: 1, n: 12, empty: -1},
		{name: "adam", updater: "adam", steps: 4, passes: 1, virtual: 1, n: 12, empty: -1},
		{name: "adam/sum", updater: "adam", reduction: optimizer.Sum, steps: 3, passes: 1, virtual: 1, n: 11, empty: -1},
		{name: "sgd/k=2", updater: "sgd", steps: 3, passes: 2, virtual: 1, n: 12, empty: -1},
		{name: "adam/k=2", updater: "adam", steps: 3, passes: 2, virtual: 1, n: 10, empty: -1},
		{name: "sgd/virtual=3", updater: "sgd", steps: 3, passes: 1, virtual: 3, n: 12, empty: -1},
		{name: "adam/virtual=2/k=2", updater: "adam", steps: 3, passes: 2, virtual: 2, n: 9, empty: -1},
		{name: "sgd/empty-rank", updater: "sgd", steps: 3, passes: 1, virtual: 1, n: 12, empty: 1},
		{name: "adam/empty-rank/k=2", updater: "adam", steps: 3, passes: 2, virtual: 1, n: 7, empty: 2},
		{name: "sgd/adaptive", updater: "sgd", steps: 4, passes: 1, virtual: 1, n: 12, empty: -1, adaptive: true},
		{name: "adam/virtual=2/k=2/adaptive", updater: "adam", steps: 3, passes: 2, virtual: 2, n: 9, empty: -1, adaptive: true},
		{name: "sgd/empty-rank/adaptive", updater: "sgd", steps: 4, passes: 1, virtual: 1, n: 12, empty: 1, adaptive: true},
	}
	mpitest.Run(t, worlds, func(t *testing.T, comm *mpi.Comm) {
		w, r := comm.Size(), comm.Rank()
		for _, sc := range scenarios {
			for _, prog := range []Progress{ReduceInStep, ReduceConcurrently} {
				p := &optimizertest.Problem[float64]{Layers: testLayers, Seed: 42}

				refArena := p.Arena()
				ref, err := NewDPPerLayerOptimizer(refArena, newUpdater(t, sc.updater), testThresholds, sc.config(1))
				if err != nil {
					t.Fatal(err)
				}
				want := sc.run(t, p, refArena, ref, 1, 0)

				simArena := p.Arena()
				sim, err := simple.New(simArena, newUpdater(t, sc.updater), testThresholds, sc.config(w), comm)
				if err != nil {
					t.Fatal(err)
				}
				gotSimple := sc.run(t, p, simArena, sim, w, r)

				arena := p.Arena()
				o := newHooks(t, sc, arena, sc.config(w), comm, testBucketBytes, prog)
				defer closeOptimizer(t, o)
				if o.NumBuckets() < 3 {
					t.Fatalf("%s: only %d buckets; the test needs several in flight", sc.name, o.NumBuckets())
				}
				got := sc.run(t, p, arena, o, w, r)

				for s := range want {
					if d := optimizertest.RelDiff(gotSimple[s], want[s]); d > 1e-12 {
						t.Errorf("%s W=%d rank %d: Simple after step %d differs from DPPerLayerOptimizer by %g relative", sc.name, w, r, s, d)
					}
					if d := optimizertest.RelDiff(got[s], want[s]); d > 1e-12 {
						t.Errorf("%s %v W=%d rank %d: Distributed after step %d differs from DPPerLayerOptimizer by %g relative", sc.name, prog, w, r, s, d)
					}
					if d := optimizertest.RelDiff(got[s], gotSimple[s]); d > 1e-12 {
						t.Errorf("%s %v W=%d rank %d: Distributed after step %d differs from Simple by %g relative", sc.name, prog, w, r, s, d)
					}
				}
				if sc.adaptive {
					th := ref.Clipping().Thresholds()
					if slices.Equal(th, testThresholds) {
						t.Errorf("%s: the adaptive thresholds did not move", sc.name)
					}
					for name, got := range map[string][]float64{"Simple": sim.Clipping().Thresholds(), "Distributed": o.Clipping().Thresholds()} {
						if d := optimizertest.RelDiff(got, th); d > 1e-12 {
							t.Errorf("%s %v W=%d rank %d: %s thresholds %v, DPPerLayerOptimizer's %v", sc.name, prog, w, r, name, got, th)
						}
					}
				}
				if o.Steps() != sc.steps || o.EagerSteps() != sc.steps-1 {
					t.Errorf("%s %v W=%d: %d real steps, %d reduced eagerly; want %d and %d (all but the checked first step)", sc.name, prog, w, o.Steps(), o.EagerSteps(), sc.steps, sc.steps-1)
				}
			}
		}
	})
}

// f32Tol bounds the relative difference between a float32 run of a
// scenario and the float64 DPPerLayerOptimizer on the same problem. Each
// parameter goes through at most 6 updates, each rounding to float32 a
// clipped sum of at most 12 terms, the sum over ranks, the scale, the
// momentum or moment buffers and the parameter, about 10 roundings of
// relative 2⁻²⁴ ≈ 6e-8 on values of order 1: 6·10·6e-8 ≈ 4e-6 in the worst
// case. A dropped rank, bucket or step differs by 1e-2 and more.
const f32Tol = 1e-5

// TestDistributedEquivalenceFloat32 is TestDistributedEquivalence for
// float32 parameters and gradients reduced as MPI_FLOAT: Simple and
// Distributed (both Progress modes) at W = 1..4 stay within f32Tol of the
// float64 single-process optimizer after every logical step, with the same
// bucket layout (the buckets hold as many values as in float64).
func TestDistributedEquivalenceFloat32(t *testing.T) {
	scenarios := []scenario{
		{name: "sgd", updater: "sgd", steps: 4, passes: 1, virtual: 1, n: 12, empty: -1},
		{name: "adam", updater: "adam", steps: 4, passes: 1, virtual: 1, n: 12, empty: -1},
		{name: "adam/virtual=2/k=2", updater: "adam", steps: 3, passes: 2, virtual: 2, n: 9, empty: -1},
		{name: "sgd/empty-rank", updater: "sgd", steps: 3, passes: 1, virtual: 1, n: 12, empty: 1},
	}
	mpitest.Run(t, worlds, func(t *testing.T, comm *mpi.Comm) {
		w, r := comm.Size(), comm.Rank()
		comm32 := mpi.For[float32](comm)
		for _, sc := range scenarios {
			p64 := &optimizertest.Problem[float64]{Layers: testLayers, Seed: 42}
			refArena := p64.Arena()
			ref, err := NewDPPerLayerOptimizer(refArena, newUpdater(t, sc.updater), testThresholds, sc.config(1))
			if err != nil {
				t.Fatal(err)
			}
			want := sc.run(t, p64, refArena, ref, 1, 0)

			p := &optimizertest.Problem[float32]{Layers: testLayers, Seed: 42}
			simArena := p.Arena()
			sim, err := simple.New(simArena, newUpdaterOf[float32](t, sc.updater), testThresholds, sc.config(w), comm32)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][][]float32{"Simple": runScenario(t, sc, p, simArena, sim, w, r)}
			for _, prog := range []Progress{ReduceInStep, ReduceConcurrently} {
				arena := p.Arena()
				o := newHooks(t, sc, arena, sc.config(w), comm32, testBucketBytes/2, prog)
				if o.NumBuckets() < 3 {
					t.Fatalf("%s: only %d buckets; the test needs several in flight", sc.name, o.NumBuckets())
				}
				got["Distributed "+prog.String()] = runScenario(t, sc, p, arena, o, w, r)
				if o.EagerSteps() != sc.steps-1 {
					t.Errorf("%s %v W=%d: %d steps reduced eagerly, want %d", sc.name, prog, w, o.EagerSteps(), sc.steps-1)
				}
				if err := o.Close(); err != nil {
					t.Fatal(err)
				}
			}
			for name, g := range got {
				for s := range want {
					g64 := make([]float64, len(g[s]))
					for i, v := range g[s] {
						g64[i] = float64(v)
					}
					if d := optimizertest.RelDiff(g64, want[s]); d > f32Tol {
						t.Errorf("%s W=%d rank %d: float32 %s after step %d differs from the float64 DPPerLayerOptimizer by %g relative, want ≤ %g", sc.name, w, r, name, s, d, f32Tol)
					}
				}
			}
		}
	})
}

// noiseCase is one noise measurement: zero gradients, so that the final
// gradient is the aggregated noise alone.
type noiseCase struct {
	name    string
	sigma   float64
	passes  int
	virtual int
	secure  bool
	// concurrent selects ReduceConcurrently.
	concurrent bool
	sharded    bool
}

// TestDistributedNoise checks that the aggregated noise per coordinate has
// std σ‖C‖₂/(B_w·k·W) at W = 1..4 (mean reduction), on the checked first
// step and on eager steps, with k = 2 and with a virtual step, and in
// secure mode, with rank-0 and with sharded noise (where each bucket's
// noise is drawn by the ranks owning its coordinates). With 200 000 coordinates the estimated std is within 0.5%
// of the truth with overwhelming probability; the 3% bound fails if every
// rank added noise (√W ≥ 1.41 times too large for W ≥ 2) or if noise were
// drawn at every physical or accumulated step (≥ 1.41 times). All ranks
// must hold the same gradient.
func TestDistributedNoise(t *testing.T) {
	layers := []optimizer.LayerSpec{{Name: "a", Len: 80_000}, {Name: "b", Len: 20_000}, {Name: "c", Len: 60_000}, {Name: "d", Len: 40_000}}
	cs := []float64{1, 0.5, 2, 0.25}
	sens := math.Sqrt(1 + 0.25 + 4 + 0.0625)
	cases := []noiseCase{
		{name: "k=1", sigma: 1.3, passes: 1, virtual: 1},
		{name: "k=2", sigma: 0.7, passes: 2, virtual: 1},
		{name: "virtual=2", sigma: 1, passes: 1, virtual: 2},
		{name: "secure", sigma: 1.1, passes: 1, virtual: 1, secure: true},
		{name: "k=1/concurrent", sigma: 1.3, passes: 1, virtual: 1, concurrent: true},
		{name: "k=2/concurrent", sigma: 0.7, passes: 2, virtual: 1, concurrent: true},
		{name: "sharded/k=2", sigma: 0.7, passes: 2, virtual: 1, sharded: true},
		{name: "sharded/virtual=2", sigma: 1, passes: 1, virtual: 2, sharded: true},
		{name: "sharded/secure", sigma: 1.1, passes: 1, virtual: 1, secure: true, sharded: true},
		{name: "sharded/concurrent", sigma: 1.3, passes: 1, virtual: 1, concurrent: true, sharded: true},
	}
	mpitest.Run(t, worlds, func(t *testing.T, comm *mpi.Comm) {
		w := comm.Size()
		const bw = 4.0
		for _, c := range cases {
			a, err := optimizer.NewArena[float64](layers...)
			if err != nil {
				t.Fatal(err)
			}
			cfg := optimizer.Config{NoiseMultiplier: c.sigma, ExpectedBatchSize: bw, SecureMode: c.secure}
			if !c.secure {
				cfg.Generator = optimizer.NewSeededGenerator(7)
			}
			if c.sharded {
				cfg.NoiseMode = optimizer.ShardedNoise
				if !c.secure {
					cfg.Generator = optimizer.NewBlockGenerator(7 + uint64(comm.Rank()))
				}
			}
			u, _ := optimizer.NewSGD[float64](1, 0, 0, 0, false)
			o, err := NewDistributedPerLayerOptimizer(a, u, cs, cfg, comm)
			if err != nil {
				t.Fatal(err)
			}
			defer closeOptimizer(t, o)
			if err := o.SetBucketBytes(8 * 50_000); err != nil {
				t.Fatal(err)
			}
			if c.concurrent {
				if err := o.SetProgress(ReduceConcurrently); err != nil {
					t.Fatal(err)
				}
			}
			if err := o.SetPassesPerStep(c.passes); err != nil {
				t.Fatal(err)
			}
			zero := make([]optimizer.GradSource[float64], len(layers))
			for l, s := range layers {
				// Two samples with zero gradients: clipping leaves zero.
				zero[l] = optimizer.NewDenseSource(2, s.Len, make([]float64, 2*s.Len))
			}
			want := c.sigma * sens / (bw * float64(c.passes) * float64(w))
			for step := range 2 { // the checked fallback step, then an eager one
				for v := range c.virtual {
					o.SignalSkip(v < c.virtual-1)
					for range c.passes {
						if err := o.AddBackward(zero); err != nil {
							t.Fatal(err)
						}
					}
					if _, err := o.Step(); err != nil {
						t.Fatal(err)
					}
					if v < c.virtual-1 {
						o.ZeroGrad()
					}
				}
				g := a.Grads
				var s2 float64
				for _, x := range g {
					s2 += x * x
				}
				std := math.Sqrt(s2 / float64(len(g)))
				if math.Abs(std/want-1) > 0.03 {
					t.Errorf("%s W=%d step %d (eager %v): noise std %g, want %g (ratio %.4f)", c.name, w, step, o.EagerSteps() > 0, std, want, std/want)
				}
				if rho, bound := optimizertest.MaxShardCorrelation(g, w), 5/math.Sqrt(float64(len(g)/4)); rho > bound {
					t.Errorf("%s W=%d step %d: neighbouring noise slices correlate (|ρ| = %.4f > %.4f)", c.name, w, step, rho, bound)
				}
				// Every rank must hold rank 0's gradient, bit for bit.
				mine := []float64{g[0], g[len(g)/2], g[len(g)-1]}
				root := slices.Clone(mine)
				if err := comm.Bcast(root, 0); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(mine, root) {
					t.Errorf("%s W=%d rank %d: gradient %v differs from rank 0's %v", c.name, w, comm.Rank(), mine, root)
				}
				o.ZeroGrad()
			}
			if o.EagerSteps() != 1 {
				t.Errorf("%s W=%d: %d eager steps, want 1", c.name, w, o.EagerSteps())
			}
		}
	})
}

// TestDistributedReproducible runs the same seeded, noisy training twice
// per world size and requires bit-identical parameters, and a different
// seed to give different ones.
func TestDistributedReproducible(t *testing.T) {
	mpitest.Run(t, []int{1, 2, 3}, func(t *testing.T, comm *mpi.Comm) {
		w, r := comm.Size(), comm.Rank()
		sc := scenario{name: "noisy", updater: "adam", steps: 3, passes: 2, virtual: 2, n: 12, empty: -1}
		train := func(seed uint64) []float64 {
			p := &optimizertest.Problem[float64]{Layers: testLayers, Seed: 3}
			a := p.Arena()
			cfg := sc.config(w)
			cfg.NoiseMultiplier = 0.9
			cfg.Generator = optimizer.NewSeededGenerator(seed)
			o := newHooks(t, sc, a, cfg, comm, testBucketBytes, ReduceConcurrently)
			defer closeOptimizer(t, o)
			res := sc.run(t, p, a, o, w, r)
			if o.EagerSteps() != sc.steps-1 {
				t.Fatalf("W=%d: %d eager steps, want %d", w, o.EagerSteps(), sc.steps-1)
			}
			return res[len(res)-1]
		}
		a, b, c := train(11), train(11), train(12)
		if !slices.Equal(a, b) {
			t.Errorf("W=%d rank %d: two runs with seed 11 differ (rel. %g)", w, r, optimizertest.RelDiff(a, b))
		}
		if slices.Equal(a, c) {
			t.Errorf("W=%d rank %d: seeds 11 and 12 give identical parameters", w, r)
		}
	})
}

// testProblem builds a DistributedPerLayerOptimizer over testLayers with
// per-rank options applied.
func newTestOptimizer(t *testing.T, comm optimizer.Communicator[float64], thresholds []float64, bucket, passes int, prog Progress) (*DistributedPerLayerOptimizer[float64], *optimizertest.Problem[float64]) {
	t.Helper()
	p := &optimizertest.Problem[float64]{Layers: testLayers, Seed: 5}
	o, err := NewDistributedPerLayerOptimizer(p.Arena(), newUpdater(t, "sgd"), thresholds, optimizer.Config{ExpectedBatchSize: 3, Generator: optimizer.NewSeededGenerator(1)}, comm)
	if err != nil {
		t.Fatal(err)
	}
	// The failure tests may leave a reduction error no Step reported;
	// TestDistributedClose checks what Close returns.
	t.Cleanup(func() { _ = o.Close() })
	if err := o.SetBucketBytes(bucket); err != nil {
		t.Fatal(err)
	}
	if err := o.SetPassesPerStep(passes); err != nil {
		t.Fatal(err)
	}
	if err := o.SetProgress(prog); err != nil {
		t.Fatal(err)
	}
	return o, p
}

// oneStep runs one logical step of one pass of the global batch of 6
// samples sharded over the ranks.
func oneStep(o *DistributedPerLayerOptimizer[float64], p *optimizertest.Problem[float64], step int) error {
	lo, hi := optimizertest.Shard(6, o.WorldSize(), o.Rank())
	if err := o.AddBackward(p.Sources(step, 0, 6, lo, hi)); err != nil {
		return err
	}
	_, err := o.Step()
	o.ZeroGrad()
	return err
}

// TestDistributedCollectiveFailures checks, under real mpirun, that a
// configuration that differs between ranks and a non-finite gradient on
// one rank give an error on every rank, naming the problem, and never a
// hang.
func TestDistributedCollectiveFailures(t *testing.T) {
	type tcase struct {
		name string
		// run returns the error of the step that must fail on every rank.
		run  func(t *testing.T, comm *mpi.Comm) error
		want string
	}
	cases := []tcase{
		{
			name: "bucket size differs",
			run: func(t *testing.T, comm *mpi.Comm) error {
				o, p := newTestOptimizer(t, comm, testThresholds, testBucketBytes*(1+comm.Rank()%2), 1, ReduceConcurrently)
				return oneStep(o, p, 0)
			},
			want: "disagree on the bucket size, bucket layout",
		},
		{
			name: "passes per step differ",
			run: func(t *testing.T, comm *mpi.Comm) error {
				o, p := newTestOptimizer(t, comm, testThresholds, testBucketBytes, 1+comm.Rank()%2, ReduceConcurrently)
				return oneStep(o, p, 0)
			},
			want: "disagree on the passes per step (",
		},
		{
			name: "progress differs",
			run: func(t *testing.T, comm *mpi.Comm) error {
				o, p := newTestOptimizer(t, comm, testThresholds, testBucketBytes, 1, Progress(comm.Rank()%2))
				return oneStep(o, p, 0)
			},
			want: "disagree on the progress (",
		},
		{
			name: "thresholds differ",
			run: func(t *testing.T, comm *mpi.Comm) error {
				th := slices.Clone(testThresholds)
				th[2] += float64(comm.Rank() % 2)
				o, p := newTestOptimizer(t, comm, th, testBucketBytes, 1, ReduceInStep)
				return oneStep(o, p, 0)
			},
			want: "disagree on the clipping thresholds",
		},
		{
			name: "non-finite gradient on the last rank, eager step",
			run: func(t *testing.T, comm *mpi.Comm) error {
				o, p := newTestOptimizer(t, comm, testThresholds, testBucketBytes, 1, ReduceConcurrently)
				if err := oneStep(o, p, 0); err != nil {
					t.Fatal(err)
				}
				lo, hi := optimizertest.Shard(6, comm.Size(), comm.Rank())
				srcs := p.Sources(1, 0, 6, lo, hi)
				if comm.Rank() == comm.Size()-1 {
					srcs[3].(*optimizer.DenseSource[float64]).Row(0)[1] = math.NaN()
				}
				before := slices.Clone(o.Arena().Params)
				if err := o.AddBackward(srcs); err != nil {
					t.Fatal(err)
				}
				_, err := o.Step()
				if o.EagerSteps() != 0 || !slices.Equal(before, o.Arena().Params) {
					t.Errorf("parameters changed or an eager step was counted after a non-finite gradient")
				}
				var nf *optimizer.NonFiniteError
				if !errors.As(err, &nf) || nf.Rank != comm.Size()-1 || nf.LayerIndex != 3 {
					t.Errorf("got %v, want a NonFiniteError for rank %d, layer 3", err, comm.Size()-1)
				}
				o.ZeroGrad()
				// The optimizer goes on after ZeroGrad.
				if err := oneStep(o, p, 2); err != nil {
					t.Errorf("step after the non-finite step: %v", err)
				}
				if o.EagerSteps() != 1 {
					t.Errorf("%d eager steps after recovery, want 1", o.EagerSteps())
				}
				return err
			},
			want: "non-finite",
		},
	}
	mpitest.Run(t, []int{2, 3}, func(t *testing.T, comm *mpi.Comm) {
		for _, c := range cases {
			err := c.run(t, comm)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s, rank %d of %d: got error %v, want one containing %q", c.name, comm.Rank(), comm.Size(), err, c.want)
			}
		}
	})
}

// soloComm is a one-rank communicator that reduces nothing.
type soloComm struct{ calls int }

func (c *soloComm) Rank() int                               { return 0 }
func (c *soloComm) Size() int                               { return 1 }
func (c *soloComm) AllreduceSum(buf []float64) error        { c.calls++; return nil }
func (c *soloComm) AllreduceSumFloat64(buf []float64) error { c.calls++; return nil }
func (c *soloComm) IallreduceSum(buf []float64) (func() error, error) {
	return func() error { return nil }, nil
}

// TestDistributedUsageErrors checks the errors of a wrong call sequence
// on one rank. Each case starts from a fresh optimizer that has completed
// one (checked) step, so that the next step is eager.
func TestDistributedUsageErrors(t *testing.T) {
	cases := []struct {
		name string
		run  func(o *DistributedPerLayerOptimizer[float64], srcs []optimizer.GradSource[float64]) error
		want string
	}{
		{"pass after the eager pass", func(o *DistributedPerLayerOptimizer[float64], srcs []optimizer.GradSource[float64]) error {
			if err := o.AddBackward(srcs); err != nil {
				return err
			}
			return o.AddBackward(srcs)
		}, "after the eager pass"},
		{"skip signalled after the eager pass started", func(o *DistributedPerLayerOptimizer[float64], srcs []optimizer.GradSource[float64]) error {
			if err := o.AddBackward(srcs); err != nil {
				return err
			}
			o.SignalSkip(true)
			_, err := o.Step()
			return err
		}, "skip signal reached the head"},
		{"Step during a pass", func(o *DistributedPerLayerOptimizer[float64], srcs []optimizer.GradSource[float64]) error {
			if err := o.LayerReady(4, srcs[4]); err != nil {
				return err
			}
			_, err := o.Step()
			return err
		}, "1 of 5 layers signalled"},
		{"layer signalled twice", func(o *DistributedPerLayerOptimizer[float64], srcs []optimizer.GradSource[float64]) error {
			if err := o.LayerReady(4, srcs[4]); err != nil {
				return err
			}
			return o.LayerReady(4, srcs[4])
		}, `layer 4 ("fc2") signalled twice`},
		{"sample counts differ", func(o *DistributedPerLayerOptimizer[float64], srcs []optimizer.GradSource[float64]) error {
			if err := o.LayerReady(4, srcs[4]); err != nil {
				return err
			}
			return o.LayerReady(3, optimizer.NewDenseSource(1, 12, make([]float64, 12)))
		}, "has 1 samples but the first layer"},
		{"wrong length", func(o *DistributedPerLayerOptimizer[float64], srcs []optimizer.GradSource[float64]) error {
			return o.LayerReady(2, srcs[1])
		}, "has length 7 but the layer has 50"},
		{"layer out of range", func(o *DistributedPerLayerOptimizer[float64], srcs []optimizer.GradSource[float64]) error {
			return o.LayerReady(5, srcs[1])
		}, "layer index 5 out of range [0, 5)"},
		{"wrong source count", func(o *DistributedPerLayerOptimizer[float64], srcs []optimizer.GradSource[float64]) error {
			return o.AddBackward(srcs[1:])
		}, "got 4 gradient sources for an arena of 5 layers"},
		{"pass after Step without ZeroGrad", func(o *DistributedPerLayerOptimizer[float64], srcs []optimizer.GradSource[float64]) error {
			if err := o.AddBackward(srcs); err != nil {
				return err
			}
			if _, err := o.Step(); err != nil {
				return err
			}
			return o.AddBackward(srcs)
		}, optimizer.ErrGradientReuse.Error()},
		{"Step twice", func(o *DistributedPerLayerOptimizer[float64], srcs []optimizer.GradSource[float64]) error {
			if err := o.AddBackward(srcs); err != nil {
				return err
			}
			if _, err := o.Step(); err != nil {
				return err
			}
			_, err := o.Step()
			return err
		}, optimizer.ErrGradientReuse.Error()},
		{"setter during a step", func(o *DistributedPerLayerOptimizer[float64], srcs []optimizer.GradSource[float64]) error {
			if err := o.AddBackward(srcs); err != nil {
				return err
			}
			return o.SetPassesPerStep(2)
		}, "SetPassesPerStep called during step 1"},
		{"bad bucket size", func(o *DistributedPerLayerOptimizer[float64], srcs []optimizer.GradSource[float64]) error {
			return o.SetBucketBytes(0)
		}, "bucket size 0 bytes"},
		{"bad passes per step", func(o *DistributedPerLayerOptimizer[float64], srcs []optimizer.GradSource[float64]) error {
			return o.SetPassesPerStep(0)
		}, "0 passes per step"},
		{"bad progress", func(o *DistributedPerLayerOptimizer[float64], srcs []optimizer.GradSource[float64]) error {
			return o.SetProgress(Progress(7))
		}, "unknown progress Progress(7)"},
	}
	for _, c := range cases {
		for _, prog := range []Progress{ReduceInStep, ReduceConcurrently} {
			t.Run(c.name+"/"+prog.String(), func(t *testing.T) {
				o, p := newTestOptimizer(t, &soloComm{}, testThresholds, testBucketBytes, 1, prog)
				if err := oneStep(o, p, 0); err != nil {
					t.Fatal(err)
				}
				err := c.run(o, p.Sources(1, 0, 4, 0, 4))
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("got %v, want an error containing %q", err, c.want)
				}
				// ZeroGrad recovers: the next step works and is eager.
				o.ZeroGrad()
				eager := o.EagerSteps()
				if err := oneStep(o, p, 2); err != nil {
					t.Fatalf("step after ZeroGrad: %v", err)
				}
				switch c.name {
				case "skip signalled after the eager pass started":
					// The late skip signal stays queued and skips this step.
					if o.EagerSteps() != eager || o.Steps() != 1 {
						t.Errorf("the late skip signal did not skip the next step")
					}
				default:
					if o.EagerSteps() != eager+1 {
						t.Errorf("the step after recovery was not eager")
					}
				}
			})
		}
	}
}

func TestDistributedConstructorErrors(t *testing.T) {
	p := &optimizertest.Problem[float64]{Layers: testLayers, Seed: 1}
	u := newUpdater(t, "sgd")
	cfg := optimizer.Config{ExpectedBatchSize: 2}
	cases := []struct {
		name string
		cs   []float64
		comm optimizer.Communicator[float64]
		cfg  optimizer.Config
		want string
	}{
		{"threshold count", []float64{1, 1}, &soloComm{}, cfg, "2 per-layer clipping thresholds for an arena of 5 layers"},
		{"no communicator", testThresholds, nil, cfg, "needs a communicator"},
		{"secure mode with a seeded generator", testThresholds, &soloComm{}, optimizer.Config{ExpectedBatchSize: 2, SecureMode: true, Generator: optimizer.NewSeededGenerator(1)}, "secure mode forbids a seeded generator"},
		{"negative threshold", []float64{1, 1, -1, 1, 1}, &soloComm{}, cfg, `layer 2 ("fc1") is -1`},
	}
	for _, c := range cases {
		_, err := NewDistributedPerLayerOptimizer(p.Arena(), u, c.cs, c.cfg, c.comm)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

// TestDistributedBuckets checks the bucket layout: contiguous, covering
// every layer once, from the last layer backwards, each (but the one with
// layer 0) holding at least the bucket size.
func TestDistributedBuckets(t *testing.T) {
	cases := []struct {
		bytes int
		want  [][2]int
	}{
		{1, [][2]int{{4, 5}, {3, 4}, {2, 3}, {1, 2}, {0, 1}}},
		{8 * 40, [][2]int{{2, 5}, {0, 2}}},
		{8 * 30, [][2]int{{3, 5}, {2, 3}, {0, 2}}},
		{8 * 12, [][2]int{{4, 5}, {3, 4}, {2, 3}, {0, 2}}},
		{DefaultBucketBytes, [][2]int{{0, 5}}},
	}
	for _, c := range cases {
		o, _ := newTestOptimizer(t, &soloComm{}, testThresholds, c.bytes, 1, ReduceInStep)
		var got [][2]int
		for b := range o.NumBuckets() {
			lo, hi := o.Bucket(b)
			got = append(got, [2]int{lo, hi})
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("bucket size %d: buckets %v, want %v", c.bytes, got, c.want)
		}
	}
}

// TestDistributedAllocs checks that a steady-state eager step (every
// LayerReady, Step, ZeroGrad) allocates nothing.
func TestDistributedAllocs(t *testing.T) {
	for _, prog := range []Progress{ReduceInStep, ReduceConcurrently} {
		distributedAllocs(t, prog)
	}
}

func distributedAllocs(t *testing.T, prog Progress) {
	o, p := newTestOptimizer(t, &soloComm{}, testThresholds, 8*12, 1, prog)
	srcs := p.Sources(0, 0, 4, 0, 4)
	step := func() {
		if err := o.AddBackward(srcs); err != nil {
			t.Fatal(err)
		}
		if _, err := o.Step(); err != nil {
			t.Fatal(err)
		}
		o.ZeroGrad()
	}
	step()
	step()
	eager := o.EagerSteps()
	if n := testing.AllocsPerRun(50, step); n != 0 {
		t.Errorf("%v: a steady-state step allocates %v times", prog, n)
	}
	if o.EagerSteps() != eager+51 {
		t.Errorf("%d eager steps during the measurement, want 51", o.EagerSteps()-eager)
	}
}

// newHooks returns the hook-based optimizer over a for scenario sc (its
// updater and passes per step) with configuration cfg, buckets of bucket
// bytes and progress mode prog; the caller closes it.
func newHooks[F optimizer.Float](t *testing.T, sc scenario, a *optimizer.Arena[F], cfg optimizer.Config, comm optimizer.Communicator[F], bucket int, prog Progress) *DistributedPerLayerOptimizer[F] {
	t.Helper()
	o, err := NewDistributedPerLayerOptimizer(a, newUpdaterOf[F](t, sc.updater), testThresholds, cfg, comm)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.SetBucketBytes(bucket); err != nil {
		t.Fatal(err)
	}
	if err := o.SetPassesPerStep(sc.passes); err != nil {
		t.Fatal(err)
	}
	if err := o.SetProgress(prog); err != nil {
		t.Fatal(err)
	}
	return o
}

// closeOptimizer closes o and reports an error from Close.
func closeOptimizer(t *testing.T, o *DistributedPerLayerOptimizer[float64]) {
	t.Helper()
	if err := o.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestDistributedClose checks Close: idempotent, every later call fails
// naming Close, the communication goroutine ends, and a bucket reduction
// error that no Step reported is returned.
// reducerGoroutines counts the running communication goroutines
// ((*reducer).run) of every optimizer in the process. Counting all
// goroutines instead would see others, such as dense sources' helpers that
// end when the garbage collector frees them, come and go.
func reducerGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "perlayer.(*reducer[")
		}
		buf = make([]byte, 2*len(buf))
	}
}

func TestDistributedClose(t *testing.T) {
	cases := []struct {
		name string
		prog Progress
		fail int // the failing AllreduceSum call, 0 for none
		// run drives o after its first two steps and returns what Close
		// returned.
		run  func(o *DistributedPerLayerOptimizer[float64], srcs []optimizer.GradSource[float64]) error
		want error
	}{
		{"in step", ReduceInStep, 0, func(o *DistributedPerLayerOptimizer[float64], srcs []optimizer.GradSource[float64]) error {
			return o.Close()
		}, nil},
		{"concurrent", ReduceConcurrently, 0, func(o *DistributedPerLayerOptimizer[float64], srcs []optimizer.GradSource[float64]) error {
			return o.Close()
		}, nil},
		// Calls 1–3 are the schedule check, status and gradient of the
		// checked first step, 4–8 the four buckets and the status of the
		// second; call 9 is the first bucket of the third step.
		{"unreported bucket error", ReduceConcurrently, 9, func(o *DistributedPerLayerOptimizer[float64], srcs []optimizer.GradSource[float64]) error {
			if err := o.AddBackward(srcs); err != nil {
				return err
			}
			o.ZeroGrad() // abandons the step: the error waits for Step or Close
			return o.Close()
		}, optimizertest.ErrInjected},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			base := reducerGoroutines()
			comm := &optimizertest.Faulty[float64]{Communicator: optimizertest.NewWorld[float64](1).Comm(0), FailCall: c.fail}
			o, p := newTestOptimizer(t, comm, testThresholds, 8*12, 1, c.prog)
			srcs := p.Sources(0, 0, 4, 0, 4)
			for s := range 2 {
				if err := oneStep(o, p, s); err != nil {
					t.Fatal(err)
				}
			}
			if c.prog == ReduceConcurrently && reducerGoroutines() <= base {
				t.Fatalf("no communication goroutine after an eager concurrent step (%d goroutines, %d before)", reducerGoroutines(), base)
			}
			if err := c.run(o, srcs); !errors.Is(err, c.want) {
				t.Fatalf("Close returned %v, want %v", err, c.want)
			}
			if err := o.Close(); err != nil {
				t.Errorf("second Close returned %v, want nil", err)
			}
			// The goroutine ends soon after Close; wait for it (the deadline
			// only bounds a failing test).
			for deadline := time.Now().Add(5 * time.Second); reducerGoroutines() > base && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			if n := reducerGoroutines(); n > base {
				t.Errorf("%d goroutines after Close, %d before the optimizer", n, base)
			}
			errs := map[string]error{"LayerReady": o.LayerReady(4, srcs[4]), "SetBucketBytes": o.SetBucketBytes(8)}
			_, errs["Step"] = o.Step()
			o.ZeroGrad()
			for what, err := range errs {
				if err == nil || !strings.Contains(err.Error(), what+" after Close") {
					t.Errorf("%s after Close: %v, want an error naming Close", what, err)
				}
			}
		})
	}
}

// countingSource counts the calls the engine makes on a dense source; with
// plain set it hides the source's ClipAdd.
type countingSource struct {
	*optimizer.DenseSource[float64]
	norms, clipAdds int
}

func (c *countingSource) Norms(dst []float64) { c.norms++; c.DenseSource.Norms(dst) }
func (c *countingSource) ClipAdd(dst []float64, maxNorm float64, norms, factors []float64) {
	c.clipAdds++
	c.DenseSource.ClipAdd(dst, maxNorm, norms, factors)
}

// plainSource is a GradSource without ClipAdd.
type plainSource struct{ optimizer.GradSource[float64] }

// TestFoldKeepsClipAdder checks that a folded pass (scale folded into the
// clip weights) clips a ClipAdder source with its one-pass ClipAdd and a
// plain source with Norms and AddWeighted, both giving the gradient of
// DPPerLayerOptimizer.
func TestFoldKeepsClipAdder(t *testing.T) {
	cases := []struct {
		name            string
		plain           bool
		norms, clipAdds int // calls per layer and folded step
	}{
		{"ClipAdder", false, 0, 1},
		{"plain GradSource", true, 1, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, p := newTestOptimizer(t, &soloComm{}, testThresholds, 8*12, 1, ReduceInStep)
			ref, err := NewDPPerLayerOptimizer(p.Arena(), newUpdater(t, "sgd"), testThresholds, optimizer.Config{ExpectedBatchSize: 3})
			if err != nil {
				t.Fatal(err)
			}
			for s := range 3 {
				dense := p.Sources(s, 0, 4, 0, 4)
				counts := make([]*countingSource, len(dense))
				srcs := make([]optimizer.GradSource[float64], len(dense))
				for l, d := range dense {
					counts[l] = &countingSource{DenseSource: d.(*optimizer.DenseSource[float64])}
					srcs[l] = counts[l]
					if c.plain {
						srcs[l] = plainSource{counts[l]}
					}
				}
				if err := o.AddBackward(srcs); err != nil {
					t.Fatal(err)
				}
				if err := ref.AddBackward(p.Sources(s, 0, 4, 0, 4)); err != nil {
					t.Fatal(err)
				}
				for _, opt := range []interface{ Step() (bool, error) }{o, ref} {
					if _, err := opt.Step(); err != nil {
						t.Fatal(err)
					}
				}
				if d := optimizertest.RelDiff(o.Arena().Grads, ref.Arena().Grads); d > 1e-12 {
					t.Errorf("step %d: gradient differs from DPPerLayerOptimizer by %g relative", s, d)
				}
				o.ZeroGrad()
				ref.ZeroGrad()
				if s == 0 { // the checked fallback step; the later ones fold
					continue
				}
				for l, cs := range counts {
					if cs.norms != c.norms || cs.clipAdds != c.clipAdds {
						t.Errorf("folded step, layer %d: %d Norms and %d ClipAdd calls, want %d and %d", l, cs.norms, cs.clipAdds, c.norms, c.clipAdds)
					}
				}
			}
		})
	}
}
