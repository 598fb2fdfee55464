package optimizer_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/dpmpi/dpmpi/optimizer"
	"github.com/dpmpi/dpmpi/optimizer/optimizertest"
)

var eqProblem = optimizertest.Problem[float64]{
	Layers: []optimizer.LayerSpec{
		{Name: "fc1", Shape: []int{3, 5}, Len: 15},
		{Name: "b1", Len: 5},
		{Name: "fc2", Len: 10},
	},
	Seed: 2024,
}

func newUpdater(kind string) optimizer.Updater[float64] { return newUpdaterOf[float64](kind) }

// newUpdaterOf returns the updater kind in precision F.
func newUpdaterOf[F optimizer.Float](kind string) optimizer.Updater[F] {
	switch kind {
	case "sgd-momentum":
		return must(optimizer.NewSGD[F](0.05, 0.9, 0, 1e-3, false))
	case "adam":
		return must(optimizer.NewAdam[F](0.01, 0.9, 0.999, 1e-8, 0))
	}
	panic("unknown updater " + kind)
}

// flatRun runs a scenario with flat clipping (C = 1, σ = 0) as rank r of w
// (comm nil: the single-process DPOptimizer) and returns the parameters.
func flatRun[F optimizer.Float](sc optimizertest.Scenario[F], kind string, comm optimizer.Communicator[F], w, r int) ([]F, error) {
	a := sc.Problem.Arena()
	cfg := optimizer.Config{ExpectedBatchSize: float64(sc.Batch) / float64(w), Generator: optimizer.NewSeededGenerator(1)}
	var opt optimizertest.Stepper[F]
	var err error
	if comm == nil {
		opt, err = optimizer.NewDPOptimizer(a, newUpdaterOf[F](kind), 1, cfg)
	} else {
		opt, err = optimizer.NewDistributedDPOptimizer(a, newUpdaterOf[F](kind), 1, cfg, comm)
	}
	if err != nil {
		return nil, err
	}
	return a.Params, sc.Run(opt, w, r)
}

// checkEquivalence compares rank r's distributed run with the
// single-process run over the whole batch.
func checkEquivalence(t *testing.T, comm optimizer.Communicator[float64], w, r int) {
	t.Helper()
	for _, e := range optimizertest.EquivalenceScenarios(eqProblem) {
		name, sc := e.Name, e.Scenario
		for _, kind := range []string{"sgd-momentum", "adam"} {
			want, err := flatRun(sc, kind, nil, 1, 0)
			if err != nil {
				t.Fatalf("%s/%s single process: %v", name, kind, err)
			}
			got, err := flatRun(sc, kind, comm, w, r)
			if err != nil {
				t.Fatalf("%s/%s W=%d: %v", name, kind, w, err)
			}
			if d := optimizertest.RelDiff(got, want); d > 1e-12 {
				t.Errorf("%s/%s W=%d rank %d: relative difference %g from the single-process optimizer", name, kind, w, r, d)
			}
			init := sc.Problem.Arena().Params
			if optimizertest.RelDiff(got, init) < 1e-3 {
				t.Errorf("%s/%s: the parameters barely moved; the test cannot tell optimizers apart", name, kind)
			}
		}
	}
}

// f32Tol bounds the relative difference (optimizertest.RelDiff) between a
// float32 run of an equivalence scenario, at any W, and the float64
// single-process run. Each coordinate goes through at most 6 updates; each
// update rounds a clipped sum of at most 12 terms, the sum over ranks, the
// scale, the moment buffers and the parameter to float32, every rounding a
// relative 2⁻²⁴ ≈ 6e-8 of values of order 1, so about 10 roundings an
// update stay under 6·10·6e-8 ≈ 4e-6; Adam's division by √v adds the
// relative error of v, of the same order. The float32 runs measure at
// most 7e-8 (the roundings are not all of one sign), so 1e-5 is the
// worst-case bound, not a fit; a run that drops a rank's contribution or
// a step differs by 1e-2 and more.
const f32Tol = 1e-5

// checkEquivalence32 is checkEquivalence for float32 gradients reduced
// through comm: the float32 distributed run is compared with the float64
// single-process run on the same problem within f32Tol.
func checkEquivalence32(t *testing.T, comm optimizer.Communicator[float32], w, r int) {
	t.Helper()
	p32 := optimizertest.Problem[float32]{Layers: eqProblem.Layers, Seed: eqProblem.Seed}
	scen64 := optimizertest.EquivalenceScenarios(eqProblem)
	for i, e := range optimizertest.EquivalenceScenarios(p32) {
		name, sc := e.Name, e.Scenario
		for _, kind := range []string{"sgd-momentum", "adam"} {
			want, err := flatRun(scen64[i].Scenario, kind, nil, 1, 0)
			if err != nil {
				t.Fatalf("%s/%s single process: %v", name, kind, err)
			}
			got, err := flatRun(sc, kind, comm, w, r)
			if err != nil {
				t.Fatalf("%s/%s W=%d float32: %v", name, kind, w, err)
			}
			got64 := make([]float64, len(got))
			for j, v := range got {
				got64[j] = float64(v)
			}
			if d := optimizertest.RelDiff(got64, want); d > f32Tol {
				t.Errorf("%s/%s W=%d rank %d: float32 relative difference %g from the float64 single-process optimizer, want ≤ %g", name, kind, w, r, d, f32Tol)
			}
		}
	}
}

func runWorld(t *testing.T, w int, f func(r int, c *optimizertest.Comm[float64]) error) {
	t.Helper()
	for r, err := range optimizertest.NewWorld[float64](w).Run(f) {
		if err != nil {
			t.Errorf("rank %d: %v", r, err)
		}
	}
}

func TestDistributedEquivalenceInMemory(t *testing.T) {
	for w := 1; w <= 4; w++ {
		runWorld(t, w, func(r int, c *optimizertest.Comm[float64]) error {
			checkEquivalence(t, c, w, r)
			return nil
		})
	}
}

// The float32 optimizers at W = 1..4 (in-memory float32 sums in rank
// order) stay within f32Tol of the float64 single-process optimizer.
func TestDistributedEquivalenceFloat32InMemory(t *testing.T) {
	for w := 1; w <= 4; w++ {
		for r, err := range optimizertest.NewWorld[float32](w).Run(func(r int, c *optimizertest.Comm[float32]) error {
			checkEquivalence32(t, c, w, r)
			return nil
		}) {
			if err != nil {
				t.Errorf("rank %d: %v", r, err)
			}
		}
	}
}

// The noise in the reduced gradient has the single-process std at every W:
// it is drawn once, on rank 0. Every rank drawing would multiply the std by
// √W, which the 1.5% bound rejects for W ≥ 2.
func TestDistributedNoiseStd(t *testing.T) {
	const sigma, c, bw, k = 2.0, 1.5, 8.0, 2
	for _, red := range []optimizer.Reduction{optimizer.Mean, optimizer.Sum} {
		for w := 1; w <= 4; w++ {
			grads := make([][]float64, w)
			runWorld(t, w, func(r int, comm *optimizertest.Comm[float64]) error {
				a := oneLayer(t, noiseN)
				cfg := optimizer.Config{NoiseMultiplier: sigma, ExpectedBatchSize: bw, LossReduction: red,
					Generator: optimizer.NewSeededGenerator(uint64(100 + r))} // a different stream per rank
				o, err := optimizer.NewDistributedDPOptimizer(a, mustSGD(t, 0), c, cfg, comm)
				if err != nil {
					return err
				}
				for range k {
					if err := o.AddBackward([]optimizer.GradSource[float64]{optimizer.NewDenseSource[float64](0, noiseN, nil)}); err != nil {
						return err
					}
				}
				_, err = o.Step()
				grads[r] = a.Grads
				return err
			})
			if t.Failed() {
				return
			}
			for r := 1; r < w; r++ {
				if optimizertest.RelDiff(grads[r], grads[0]) != 0 {
					t.Fatalf("%s W=%d: rank %d's gradient differs from rank 0's", red, w, r)
				}
			}
			want := sigma * c
			if red == optimizer.Mean {
				want /= bw * k * float64(w)
			}
			_, s := meanStd(grads[0])
			if math.Abs(s/want-1) > noiseTol {
				t.Errorf("%s W=%d: noise std %v, want %v (ratio %v)", red, w, s, want, s/want)
			}
		}
	}
}

func TestDistributedNonFinite(t *testing.T) {
	const w = 3
	runWorld(t, w, func(r int, comm *optimizertest.Comm[float64]) error {
		a := eqProblem.Arena()
		before := append([]float64(nil), a.Params...)
		cfg := optimizer.Config{ExpectedBatchSize: 4, Generator: optimizer.NewSeededGenerator(1)}
		o, err := optimizer.NewDistributedDPOptimizer(a, newUpdater("adam"), 1, cfg, comm)
		if err != nil {
			return err
		}
		hooked := false
		o.SetStepHook(func(float64, int) error { hooked = true; return nil })
		srcs := eqProblem.Sources(0, 0, 12, 4*r, 4*r+4)
		if r == 1 {
			srcs[2].(*optimizer.DenseSource[float64]).Row(3)[7] = math.Inf(1)
		}
		if err := o.AddBackward(srcs); err != nil {
			return err
		}
		_, err = o.Step()
		var nf *optimizer.NonFiniteError
		if !errors.As(err, &nf) {
			t.Errorf("rank %d: Step = %v, want a *NonFiniteError", r, err)
			return nil
		}
		if nf.Rank != 1 || nf.LayerIndex != 2 || nf.Layer != "fc2" || nf.Sample != 3 {
			t.Errorf("rank %d: error %+v, want rank 1, layer 2 (fc2), sample 3", r, *nf)
		}
		if !strings.Contains(err.Error(), "on rank 1") {
			t.Errorf("rank %d: error %q does not name rank 1", r, err)
		}
		if hooked || o.Steps() != 0 || optimizertest.RelDiff(a.Params, before) != 0 {
			t.Errorf("rank %d: hook %v, steps %d, params changed %v", r, hooked, o.Steps(), optimizertest.RelDiff(a.Params, before) != 0)
		}
		// The job goes on after ZeroGrad.
		o.ZeroGrad()
		if err := o.AddBackward(eqProblem.Sources(1, 0, 12, 4*r, 4*r+4)); err != nil {
			return err
		}
		_, err = o.Step()
		return err
	})
}

func TestDistributedMismatch(t *testing.T) {
	tests := []struct {
		field string
		spec  func(r int) ([]optimizer.LayerSpec, float64, optimizer.Config)
	}{
		{"noise multiplier", func(r int) ([]optimizer.LayerSpec, float64, optimizer.Config) {
			return eqProblem.Layers, 1, optimizer.Config{NoiseMultiplier: float64(r % 2), ExpectedBatchSize: 4}
		}},
		{"clipping thresholds", func(r int) ([]optimizer.LayerSpec, float64, optimizer.Config) {
			return eqProblem.Layers, 1 + float64(r)*1e-15, optimizer.Config{ExpectedBatchSize: 4}
		}},
		{"expected batch size", func(r int) ([]optimizer.LayerSpec, float64, optimizer.Config) {
			return eqProblem.Layers, 1, optimizer.Config{ExpectedBatchSize: 4 + float64(r)}
		}},
		{"loss reduction", func(r int) ([]optimizer.LayerSpec, float64, optimizer.Config) {
			red := optimizer.Mean
			if r == 2 {
				red = optimizer.Sum
			}
			return eqProblem.Layers, 1, optimizer.Config{ExpectedBatchSize: 4, LossReduction: red}
		}},
		{"layer sizes", func(r int) ([]optimizer.LayerSpec, float64, optimizer.Config) {
			l := append([]optimizer.LayerSpec(nil), eqProblem.Layers...)
			if r == 1 { // same total, different split
				l[1] = optimizer.LayerSpec{Name: "b1", Len: 4}
				l[2] = optimizer.LayerSpec{Name: "fc2", Len: 11}
			}
			return l, 1, optimizer.Config{ExpectedBatchSize: 4}
		}},
		{"layer count", func(r int) ([]optimizer.LayerSpec, float64, optimizer.Config) {
			l := eqProblem.Layers
			if r == 0 {
				l = l[:2]
			}
			return l, 1, optimizer.Config{ExpectedBatchSize: 4}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.field, func(t *testing.T) {
			runWorld(t, 3, func(r int, comm *optimizertest.Comm[float64]) error {
				layers, c, cfg := tt.spec(r)
				a, err := optimizer.NewArena[float64](layers...)
				if err != nil {
					return err
				}
				o, err := optimizer.NewDistributedDPOptimizer(a, mustSGD(t, 1), c, cfg, comm)
				if err != nil {
					return err
				}
				srcs := make([]optimizer.GradSource[float64], len(layers))
				for l, s := range layers {
					srcs[l] = optimizer.NewDenseSource(1, s.Len, make([]float64, s.Len))
				}
				if err := o.AddBackward(srcs); err != nil {
					return err
				}
				_, err = o.Step()
				if err == nil || !strings.Contains(err.Error(), "disagree on the "+tt.field) {
					t.Errorf("rank %d: Step = %v, want an error naming the %s", r, err, tt.field)
				}
				if o.Steps() != 0 {
					t.Errorf("rank %d: a step was recorded", r)
				}
				return nil
			})
		})
	}
}

func TestFaultInjection(t *testing.T) {
	tests := []struct {
		call int
		want string
	}{
		{1, "sum-allreduce of the step status"},
		{2, "sum-allreduce of the gradient buffer (30 values)"},
	}
	for _, tt := range tests {
		comm := &optimizertest.Faulty[float64]{Communicator: optimizertest.NewWorld[float64](1).Comm(0), FailCall: tt.call}
		a := eqProblem.Arena()
		before := append([]float64(nil), a.Params...)
		cfg := optimizer.Config{ExpectedBatchSize: 4, Generator: optimizer.NewSeededGenerator(1)}
		o, err := optimizer.NewDistributedDPOptimizer(a, newUpdater("sgd-momentum"), 1, cfg, comm)
		if err != nil {
			t.Fatal(err)
		}
		hooked := false
		o.SetStepHook(func(float64, int) error { hooked = true; return nil })
		if err := o.AddBackward(eqProblem.Sources(0, 0, 4, 0, 4)); err != nil {
			t.Fatal(err)
		}
		_, err = o.Step()
		if !errors.Is(err, optimizertest.ErrInjected) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "rank 0") {
			t.Errorf("fault on call %d: %v; want ErrInjected with %q and the rank", tt.call, err, tt.want)
		}
		if hooked || o.Steps() != 0 || optimizertest.RelDiff(a.Params, before) != 0 {
			t.Errorf("fault on call %d: hook %v, steps %d; want nothing recorded or updated", tt.call, hooked, o.Steps())
		}
	}
}

// Virtual steps communicate nothing; every real step performs the same two
// collectives on every rank, including one with an empty batch.
func TestCollectiveSequence(t *testing.T) {
	world := optimizertest.NewWorld[float64](2)
	calls := make([][]int, 2)
	for r, err := range world.Run(func(r int, comm *optimizertest.Comm[float64]) error {
		a := eqProblem.Arena()
		cfg := optimizer.Config{ExpectedBatchSize: 4, Generator: optimizer.NewSeededGenerator(1)}
		o, err := optimizer.NewDistributedDPOptimizer(a, mustSGD(t, 1), 1, cfg, comm)
		if err != nil {
			return err
		}
		lo, hi := 0, 6 // rank 1's batch is empty
		if r == 1 {
			lo = hi
		}
		for _, skip := range []bool{true, true, false, false} {
			o.ZeroGrad()
			o.SignalSkip(skip)
			if err := o.AddBackward(eqProblem.Sources(0, 0, 6, lo, hi)); err != nil {
				return err
			}
			if _, err := o.Step(); err != nil {
				return err
			}
			calls[r] = append(calls[r], world.Calls(r))
		}
		return nil
	}) {
		if err != nil {
			t.Fatalf("rank %d: %v", r, err)
		}
	}
	for r := range calls {
		if want := []int{0, 0, 2, 4}; optimizertest.RelDiff(toF(calls[r]), toF(want)) != 0 {
			t.Errorf("rank %d: collectives after each step %v, want %v", r, calls[r], want)
		}
	}
}

func toF(x []int) []float64 {
	f := make([]float64, len(x))
	for i, v := range x {
		f[i] = float64(v)
	}
	return f
}
