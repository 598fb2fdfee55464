package optimizer_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/dpmpi/dpmpi/optimizer"
	"github.com/dpmpi/dpmpi/optimizer/optimizertest"
)

// normRows returns a DenseSource of one-parameter rows with the given norms
// (alternating signs, so the clipped sum is not all one way).
func normRows(norms []float64) *optimizer.DenseSource[float64] {
	data := make([]float64, len(norms))
	for i, v := range norms {
		data[i] = v
		if i%2 == 1 {
			data[i] = -v
		}
	}
	return optimizer.NewDenseSource(len(norms), 1, data)
}

// normDist is a per-sample norm distribution with a known quantile
// function.
type normDist struct {
	name     string
	draw     func(*rand.Rand) float64
	quantile func(p float64) float64
	cdf      func(x float64) float64
}

var normDists = []normDist{
	{"uniform(0,4)", func(r *rand.Rand) float64 { return 4 * r.Float64() },
		func(p float64) float64 { return 4 * p }, func(x float64) float64 { return math.Min(1, x/4) }},
	{"exponential(mean 2)", func(r *rand.Rand) float64 { return 2 * r.ExpFloat64() },
		func(p float64) float64 { return -2 * math.Log(1-p) }, func(x float64) float64 { return 1 - math.Exp(-x/2) }},
	{"lognormal(0, 0.5)", func(r *rand.Rand) float64 { return math.Exp(0.5 * r.NormFloat64()) },
		func(p float64) float64 { return math.Exp(0.5 * math.Sqrt2 * math.Erfinv(2*p-1)) },
		func(x float64) float64 { return 0.5 * math.Erfc(-math.Log(x)/(0.5*math.Sqrt2)) }},
}

// The thresholds converge to the target quantile of each layer's norm
// distribution, from a start far below and far above, with the noise of a
// private run (σ = 1, σ_b = B/20): over the last 200 of 600 steps the
// fraction of norms under the mean threshold is within 0.03 of the target.
func TestAdaptiveConvergence(t *testing.T) {
	const b, steps, tail = 512, 600, 200
	for _, gamma := range []float64{0.5, 0.9} {
		for _, start := range []float64{0.05, 20} {
			a, err := optimizer.NewArena[float64](optimizer.LayerSpec{Name: "l0", Len: 1}, optimizer.LayerSpec{Name: "l1", Len: 1}, optimizer.LayerSpec{Name: "l2", Len: 1})
			if err != nil {
				t.Fatal(err)
			}
			cfg := optimizer.Config{NoiseMultiplier: 1, ExpectedBatchSize: b, Generator: optimizer.NewSeededGenerator(7),
				Adaptive: &optimizer.QuantileClipping{TargetQuantile: gamma, LearningRate: 0.2, CountNoiseStd: b / 20}}
			e := newEngine(t, a, optimizer.PerLayerClipping([]float64{start, start, start}), cfg)
			rng := rand.New(rand.NewPCG(1, 2))
			mean := make([]float64, len(normDists))
			for s := range steps {
				srcs := drawSources(rng, normDists, b)
				stepOnce(t, e, srcs)
				if s >= steps-tail {
					for l, c := range e.Clipping().Thresholds() {
						mean[l] += c / tail
					}
				}
			}
			for l, d := range normDists {
				if f := d.cdf(mean[l]); math.Abs(f-gamma) > 0.03 {
					t.Errorf("γ=%v from C=%v, layer %d (%s): mean threshold %.4g holds %.3f of the norms, want %.3f ± 0.03 (the quantile is %.4g)",
						gamma, start, l, d.name, mean[l], f, gamma, d.quantile(gamma))
				}
			}
		}
	}
}

// Flat clipping adapts its one threshold to the quantile of the norms over
// all layers: two layers of norms 3x and 4x give total norms 5x.
func TestAdaptiveFlat(t *testing.T) {
	const b = 400
	a := twoLayers(t)
	cfg := optimizer.Config{ExpectedBatchSize: b, Generator: optimizer.NewSeededGenerator(1),
		Adaptive: &optimizer.QuantileClipping{TargetQuantile: 0.5, LearningRate: 0.3}}
	e := newEngine(t, a, optimizer.FlatClipping(1), cfg)
	rng := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		x := make([]float64, b)
		for i := range x {
			x[i] = 4 * rng.Float64() // total norm 5x: uniform on (0, 20), median 10
		}
		l0, l1 := make([]float64, b), make([]float64, b)
		for i, v := range x {
			l0[i], l1[i] = 3*v, 4*v
		}
		stepOnce(t, e, []optimizer.GradSource[float64]{normRows(l0), normRows(l1)})
	}
	if c := e.Clipping().Thresholds()[0]; math.Abs(c/10-1) > 0.05 {
		t.Errorf("flat threshold %v after 300 noise-free steps, want the median total norm 10 ± 5%%", c)
	}
}

// The split of σ: z_count = 2σ_b/√L, σ⁻² = z_grad⁻² + z_count⁻², and the
// gradient noise std is z_grad times the current sensitivity.
func TestAdaptiveNoiseSplit(t *testing.T) {
	for _, tt := range []struct {
		sigma, sigmaB float64
		layers        int
	}{{1.1, 102.4, 4}, {0.6, 3, 1}, {2, 10, 9}} {
		specs := make([]optimizer.LayerSpec, tt.layers)
		th := make([]float64, tt.layers)
		for i := range specs {
			specs[i] = optimizer.LayerSpec{Name: fmt.Sprint("l", i), Len: 2}
			th[i] = 0.5 + float64(i)
		}
		a, err := optimizer.NewArena[float64](specs...)
		if err != nil {
			t.Fatal(err)
		}
		cfg := optimizer.Config{NoiseMultiplier: tt.sigma, ExpectedBatchSize: 8, Generator: optimizer.NewSeededGenerator(1),
			Adaptive: &optimizer.QuantileClipping{TargetQuantile: 0.5, LearningRate: 0.2, CountNoiseStd: tt.sigmaB}}
		e := newEngine(t, a, optimizer.PerLayerClipping(th), cfg)
		z := e.MechanismNoise()
		if len(z) != 2 {
			t.Fatalf("MechanismNoise() = %v, want [z_grad z_count]", z)
		}
		if want := 2 * tt.sigmaB / math.Sqrt(float64(tt.layers)); !closeTo(z[1], want, 1e-15) {
			t.Errorf("z_count = %v, want 2σ_b/√L = %v", z[1], want)
		}
		if got := 1 / math.Sqrt(1/(z[0]*z[0])+1/(z[1]*z[1])); !closeTo(got, tt.sigma, 1e-14) || z[0] <= tt.sigma {
			t.Errorf("z_grad = %v, z_count = %v combine to %v, want σ = %v (and z_grad > σ)", z[0], z[1], got, tt.sigma)
		}
		if want := z[0] * optimizer.PerLayerClipping(th).Sensitivity(); !closeTo(e.NoiseStd(), want, 1e-15) {
			t.Errorf("NoiseStd() = %v, want z_grad·‖C‖ = %v", e.NoiseStd(), want)
		}
	}
	fixed := newEngine(t, oneLayer(t, 1), optimizer.FlatClipping(1), optimizer.Config{NoiseMultiplier: 1, ExpectedBatchSize: 1, Generator: optimizer.NewSeededGenerator(1)})
	if z := fixed.MechanismNoise(); z != nil {
		t.Errorf("fixed thresholds: MechanismNoise() = %v, want nil", z)
	}
}

// stepper is the part of the optimizers the adaptive tests drive.
type stepper interface {
	AddBackward([]optimizer.GradSource[float64]) error
	Step() (bool, error)
	ZeroGrad()
}

// stepOnce runs one real step of e on one backward pass of srcs.
func stepOnce(t *testing.T, e stepper, srcs []optimizer.GradSource[float64]) {
	t.Helper()
	if err := e.AddBackward(srcs); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Step(); err != nil {
		t.Fatal(err)
	}
	e.ZeroGrad()
}

// stepEmpty runs one real step of e on an empty batch.
func stepEmpty(t *testing.T, e stepper) {
	t.Helper()
	stepOnce(t, e, []optimizer.GradSource[float64]{optimizer.NewDenseSource[float64](0, 1, nil)})
}

// drawSources returns one source per distribution, each of b samples whose
// norms are drawn from it.
func drawSources(rng *rand.Rand, dists []normDist, b int) []optimizer.GradSource[float64] {
	srcs := make([]optimizer.GradSource[float64], len(dists))
	for l, d := range dists {
		norms := make([]float64, b)
		for i := range norms {
			norms[i] = d.draw(rng)
		}
		srcs[l] = normRows(norms)
	}
	return srcs
}

// The counts' noise has std σ_b, drawn once per step (on rank 0 only in a
// distributed job): on empty batches with γ = ½, log(C_{t+1}/C_t) =
// −η·noise/(B_w·W). Every rank drawing would multiply the std by √W.
func TestAdaptiveCountNoise(t *testing.T) {
	const sigmaB, eta, bw, steps = 6.0, 0.01, 10.0, 20000
	for w := 1; w <= 3; w++ {
		logs := make([][]float64, w)
		runWorld(t, w, func(r int, comm *optimizertest.Comm[float64]) error {
			cfg := optimizer.Config{NoiseMultiplier: 1, ExpectedBatchSize: bw, Generator: optimizer.NewSeededGenerator(uint64(40 + r)),
				Adaptive: &optimizer.QuantileClipping{TargetQuantile: 0.5, LearningRate: eta, CountNoiseStd: sigmaB}}
			o, err := optimizer.NewDistributedDPOptimizer(oneLayer(t, 1), mustSGD(t, 0), 1, cfg, comm)
			if err != nil {
				return err
			}
			prev := 1.0
			for range steps {
				stepEmpty(t, o)
				c := o.Clipping().Thresholds()[0]
				logs[r] = append(logs[r], math.Log(c/prev)/(-eta)*bw*float64(w))
				prev = c
			}
			return nil
		})
		if t.Failed() {
			return
		}
		for r := 1; r < w; r++ {
			if !slices.Equal(logs[r], logs[0]) {
				t.Fatalf("W=%d: rank %d's thresholds differ from rank 0's", w, r)
			}
		}
		if _, s := meanStd(logs[0]); math.Abs(s/sigmaB-1) > 0.02 {
			t.Errorf("W=%d: count noise std %v, want σ_b = %v (ratio %v)", w, s, sigmaB, s/sigmaB)
		}
	}
}

// Without noise the thresholds are a function of the global batch only:
// the same at W = 1..4, with each rank clipping its shard, and bit for bit
// the same on every rank.
func TestAdaptiveWorldSizes(t *testing.T) {
	const n, steps = 48, 25
	rng := rand.New(rand.NewPCG(5, 6))
	batches := make([][2][]float64, steps)
	for s := range batches {
		for l := range 2 {
			batches[s][l] = make([]float64, n)
			for i := range n {
				batches[s][l][i] = normDists[l].draw(rng)
			}
		}
	}
	var ref []float64
	for w := 1; w <= 4; w++ {
		got := make([][]float64, w)
		runWorld(t, w, func(r int, comm *optimizertest.Comm[float64]) error {
			cfg := optimizer.Config{ExpectedBatchSize: float64(n) / float64(w), Generator: optimizer.NewSeededGenerator(1),
				Adaptive: &optimizer.QuantileClipping{TargetQuantile: 0.7, LearningRate: 0.5}}
			a, err := optimizer.NewArena[float64](optimizer.LayerSpec{Name: "a", Len: 1}, optimizer.LayerSpec{Name: "b", Len: 1})
			if err != nil {
				return err
			}
			e, err := optimizer.NewEngine(a, mustSGD(t, 0.1), optimizer.PerLayerClipping([]float64{1, 1}), cfg, comm)
			if err != nil {
				return err
			}
			lo, hi := optimizertest.Shard(n, w, r)
			for _, bt := range batches {
				if err := e.AddBackward([]optimizer.GradSource[float64]{normRows(bt[0][lo:hi]), normRows(bt[1][lo:hi])}); err != nil {
					return err
				}
				if _, err := e.Step(); err != nil {
					return err
				}
				e.ZeroGrad()
			}
			got[r] = e.Clipping().Thresholds()
			return nil
		})
		if t.Failed() {
			return
		}
		for r := 1; r < w; r++ {
			if !slices.Equal(got[r], got[0]) {
				t.Errorf("W=%d: rank %d's thresholds %v differ from rank 0's %v", w, r, got[r], got[0])
			}
		}
		if ref == nil {
			ref = got[0]
			if ref[0] == 1 || ref[1] == 1 {
				t.Fatalf("thresholds %v did not move", ref)
			}
		} else if d := optimizertest.RelDiff(got[0], ref); d > 1e-12 {
			t.Errorf("W=%d: thresholds %v, at W=1 %v (relative difference %g)", w, got[0], ref, d)
		}
	}
}

// A step that fails (a non-finite gradient) leaves the thresholds alone;
// SetThresholds replaces them and rescales the noise.
func TestAdaptiveFailedStepAndSet(t *testing.T) {
	cfg := optimizer.Config{NoiseMultiplier: 1, ExpectedBatchSize: 4, Generator: optimizer.NewSeededGenerator(1),
		Adaptive: &optimizer.QuantileClipping{TargetQuantile: 0.5, LearningRate: 0.2, CountNoiseStd: 2}}
	e := newEngine(t, twoLayers(t), optimizer.PerLayerClipping([]float64{1, 2}), cfg)
	if err := e.AddBackward([]optimizer.GradSource[float64]{normRows([]float64{1, math.NaN()}), normRows([]float64{1, 1})}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Step(); err == nil {
		t.Fatal("a NaN gradient did not fail the step")
	}
	e.ZeroGrad()
	if th := e.Clipping().Thresholds(); !slices.Equal(th, []float64{1, 2}) {
		t.Errorf("thresholds %v after a failed step, want [1 2] unchanged", th)
	}
	std := e.NoiseStd()
	if err := e.SetThresholds([]float64{2, 4}); err != nil {
		t.Fatal(err)
	}
	if !closeTo(e.NoiseStd(), 2*std, 1e-15) {
		t.Errorf("NoiseStd %v after doubling the thresholds, want %v", e.NoiseStd(), 2*std)
	}
	for _, bad := range [][]float64{{1}, {1, 0}, {1, math.Inf(1)}} {
		if err := e.SetThresholds(bad); err == nil {
			t.Errorf("SetThresholds(%v) accepted", bad)
		}
	}
}

// Invalid settings are errors that say what to change.
func TestAdaptiveConfigErrors(t *testing.T) {
	q := func(gamma, eta, sb float64) *optimizer.QuantileClipping {
		return &optimizer.QuantileClipping{TargetQuantile: gamma, LearningRate: eta, CountNoiseStd: sb}
	}
	for _, tt := range []struct {
		name string
		cfg  optimizer.Config
		want string
	}{
		{"quantile 0", optimizer.Config{ExpectedBatchSize: 1, Adaptive: q(0, 0.2, 1)}, "TargetQuantile"},
		{"quantile 1", optimizer.Config{ExpectedBatchSize: 1, Adaptive: q(1, 0.2, 1)}, "TargetQuantile"},
		{"no learning rate", optimizer.Config{ExpectedBatchSize: 1, Adaptive: q(0.5, 0, 1)}, "LearningRate"},
		{"negative count noise", optimizer.Config{ExpectedBatchSize: 1, Adaptive: q(0.5, 0.2, -1)}, "CountNoiseStd"},
		{"sum reduction", optimizer.Config{LossReduction: optimizer.Sum, Adaptive: q(0.5, 0.2, 1)}, "Mean"},
		{"count noise too small", optimizer.Config{NoiseMultiplier: 1, ExpectedBatchSize: 1, Adaptive: q(0.5, 0.2, 0.5)}, "raise CountNoiseStd"},
		{"no count noise", optimizer.Config{NoiseMultiplier: 1, ExpectedBatchSize: 1, Adaptive: q(0.5, 0.2, 0)}, "raise CountNoiseStd"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Generator = optimizer.NewSeededGenerator(1)
			_, err := optimizer.NewEngine(oneLayer(t, 1), mustSGD(t, 1), optimizer.FlatClipping(1), tt.cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewEngine: %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

// With KeepTotal the thresholds keep their starting L2 norm and settle where
// both layers clip the same fraction of their samples: for uniform(0,4)
// and exponential (mean 2) norms, at C_0 = 4p and C_1 = −2·ln(1−p) for the
// p with C_0² + C_1² = 0.5².
func TestAdaptiveKeepTotal(t *testing.T) {
	const b = 512
	a, err := optimizer.NewArena[float64](optimizer.LayerSpec{Name: "u", Len: 1}, optimizer.LayerSpec{Name: "e", Len: 1})
	if err != nil {
		t.Fatal(err)
	}
	cfg := optimizer.Config{NoiseMultiplier: 1, ExpectedBatchSize: b, Generator: optimizer.NewSeededGenerator(3),
		Adaptive: &optimizer.QuantileClipping{TargetQuantile: 0.5, LearningRate: 0.2, CountNoiseStd: b / 20, KeepTotal: true}}
	e := newEngine(t, a, optimizer.PerLayerClipping([]float64{0.3, 0.4}), cfg)
	std := e.NoiseStd()
	rng := rand.New(rand.NewPCG(9, 9))
	var mean [2]float64
	for s := range 600 {
		srcs := drawSources(rng, normDists[:2], b)
		stepOnce(t, e, srcs)
		th := e.Clipping().Thresholds()
		if n := math.Hypot(th[0], th[1]); math.Abs(n-0.5) > 1e-12 {
			t.Fatalf("step %d: thresholds %v have norm %v, want the starting 0.5", s, th, n)
		}
		if s >= 400 {
			mean[0] += th[0] / 200
			mean[1] += th[1] / 200
		}
	}
	lo, hi := 0.0, 0.5 // bisect for p
	for range 60 {
		p := (lo + hi) / 2
		if math.Hypot(normDists[0].quantile(p), normDists[1].quantile(p)) > 0.5 {
			hi = p
		} else {
			lo = p
		}
	}
	for l := range mean {
		if want := normDists[l].quantile(lo); math.Abs(mean[l]/want-1) > 0.05 {
			t.Errorf("layer %d: mean threshold %v, want %v (both layers at quantile %.4f) ± 5%%", l, mean[l], want, lo)
		}
	}
	if !closeTo(e.NoiseStd(), std, 1e-12) {
		t.Errorf("noise std moved from %v to %v", std, e.NoiseStd())
	}
	flat := cfg
	flat.Adaptive = &optimizer.QuantileClipping{TargetQuantile: 0.5, LearningRate: 0.2, CountNoiseStd: b / 20, KeepTotal: true}
	if _, err := optimizer.NewEngine(oneLayer(t, 1), mustSGD(t, 1), optimizer.FlatClipping(1), flat, nil); err == nil {
		t.Error("KeepTotal with flat clipping accepted")
	}
}
