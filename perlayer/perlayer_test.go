package perlayer_test

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/dpmpi/dpmpi/optimizer"
	"github.com/dpmpi/dpmpi/optimizer/optimizertest"
	"github.com/dpmpi/dpmpi/perlayer"
)

func arena(t *testing.T, lens ...int) *optimizer.Arena[float64] {
	t.Helper()
	specs := make([]optimizer.LayerSpec, len(lens))
	for i, n := range lens {
		specs[i] = optimizer.LayerSpec{Name: fmt.Sprintf("l%d", i), Len: n}
	}
	a, err := optimizer.NewArena[float64](specs...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func sgd(t *testing.T, lr float64) *optimizer.SGD[float64] {
	t.Helper()
	o, err := optimizer.NewSGD[float64](lr, 0, 0, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func TestPerLayerClipping(t *testing.T) {
	a := arena(t, 2, 1)
	cfg := optimizer.Config{ExpectedBatchSize: 2, Generator: optimizer.NewSeededGenerator(1)}
	o, err := perlayer.NewDPPerLayerOptimizer(a, sgd(t, 1), []float64{1, 0.5}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Sample 0: layer 0 has norm 5 (clipped to 1), layer 1 norm 2 (clipped
	// to 0.5). Sample 1: layer 0 norm 0.5 (kept), layer 1 norm 0.1 (kept).
	// Flat clipping would have used one factor per sample instead.
	s0 := optimizer.NewDenseSource(2, 2, []float64{3, 4, 0.3, -0.4})
	s1 := optimizer.NewDenseSource(2, 1, []float64{-2, 0.1})
	if err := o.AddBackward([]optimizer.GradSource[float64]{s0, s1}); err != nil {
		t.Fatal(err)
	}
	if ok, err := o.Step(); !ok || err != nil {
		t.Fatalf("Step = %v, %v", ok, err)
	}
	want := []float64{
		(3/(5+1e-6) + 0.3) / 2,
		(4/(5+1e-6) - 0.4) / 2,
		(-2*0.5/(2+1e-6) + 0.1) / 2,
	}
	for i, g := range a.Grads {
		if math.Abs(g-want[i]) > 1e-15 {
			t.Errorf("grad[%d] = %.17g, want %.17g", i, g, want[i])
		}
		if a.Params[i] != -g {
			t.Errorf("param[%d] = %v, want %v", i, a.Params[i], -g)
		}
	}
}

// Opacus privacy_engine_test: batch of one, per-layer C_p = 1: each layer's
// clipped sum has norm min(‖g_p‖, 1) to three places.
func TestPerLayerNormReference(t *testing.T) {
	a := arena(t, 3, 2, 1)
	cfg := optimizer.Config{LossReduction: optimizer.Sum, Generator: optimizer.NewSeededGenerator(1)}
	o, err := perlayer.NewDPPerLayerOptimizer(a, sgd(t, 0), []float64{1, 1, 1}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	rows := [][]float64{{2, -1, 2}, {0.3, 0.4}, {-7}}
	srcs := make([]optimizer.GradSource[float64], len(rows))
	for l, r := range rows {
		srcs[l] = optimizer.NewDenseSource(1, len(r), r)
	}
	if err := o.AddBackward(srcs); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Step(); err != nil {
		t.Fatal(err)
	}
	for l, want := range []float64{1, 0.5, 1} {
		g := a.Grad(l)
		n := 0.0
		for _, v := range g {
			n += v * v
		}
		if n = math.Sqrt(n); math.Abs(n-want) > 5e-4 {
			t.Errorf("layer %d: clipped norm %v, want %v", l, n, want)
		}
	}
}

func TestThresholdCount(t *testing.T) {
	cfg := optimizer.Config{ExpectedBatchSize: 1, Generator: optimizer.NewSeededGenerator(1)}
	for _, cs := range [][]float64{{1, 1}, {1, 1, 1, 1}, nil} {
		_, err := perlayer.NewDPPerLayerOptimizer(arena(t, 1, 2, 3), sgd(t, 1), cs, cfg)
		if cs == nil {
			if err == nil {
				t.Error("no thresholds: no error")
			}
			continue
		}
		want := fmt.Sprintf("%d per-layer clipping thresholds for an arena of 3 layers", len(cs))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%d thresholds: got %v, want an error containing %q", len(cs), err, want)
		}
	}
}

// The noise std per coordinate is σ·‖(C_1..C_L)‖₂ on every layer, not σ·C_l.
// With C = (1, 1, 1) and σ = 2 that is 2√3 ≈ 3.46; σ·C_l would give 2. The
// 1.5% bound is about 7 standard errors of the sample std at 100 000
// coordinates.
func TestPerLayerNoiseStd(t *testing.T) {
	const sigma, n = 2.0, 100_000
	for _, secure := range []bool{false, true} {
		cfg := optimizer.Config{NoiseMultiplier: sigma, LossReduction: optimizer.Sum, SecureMode: secure}
		if !secure {
			cfg.Generator = optimizer.NewSeededGenerator(3)
		}
		a := arena(t, n/2, n/4, n/4)
		o, err := perlayer.NewDPPerLayerOptimizer(a, sgd(t, 0), []float64{1, 1, 1}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := o.NoiseStd(), sigma*1.7320508075688772; got != want {
			t.Errorf("NoiseStd = %.17g, want σ√3 = %.17g (float64, not Opacus's float32)", got, want)
		}
		srcs := []optimizer.GradSource[float64]{
			optimizer.NewDenseSource[float64](0, n/2, nil), optimizer.NewDenseSource[float64](0, n/4, nil), optimizer.NewDenseSource[float64](0, n/4, nil),
		}
		if err := o.AddBackward(srcs); err != nil {
			t.Fatal(err)
		}
		if _, err := o.Step(); err != nil {
			t.Fatal(err)
		}
		want := sigma * math.Sqrt(3)
		for l := range 3 {
			g := a.Grad(l)
			ss := 0.0
			for _, v := range g {
				ss += v * v
			}
			s := math.Sqrt(ss / float64(len(g)))
			tol := 7 / math.Sqrt(2*float64(len(g)))
			if math.Abs(s/want-1) > tol {
				t.Errorf("secure %v, layer %d: noise std %v, want %v (ratio %v)", secure, l, s, want, s/want)
			}
		}
	}
}

// A logical batch split into virtual steps gives the same parameters as the
// whole batch in one step, noise included: the noise is drawn once per
// logical step, from the same seeded stream.
func TestVirtualStepsEqualFullBatch(t *testing.T) {
	p := optimizertest.Problem[float64]{Layers: []optimizer.LayerSpec{{Name: "w", Len: 6}, {Name: "b", Len: 3}}, Seed: 11}
	run := func(physical int) []float64 {
		a := p.Arena()
		adam, err := optimizer.NewAdam[float64](0.01, 0.9, 0.999, 1e-8, 0)
		if err != nil {
			t.Fatal(err)
		}
		cfg := optimizer.Config{NoiseMultiplier: 0.7, ExpectedBatchSize: 12, Generator: optimizer.NewSeededGenerator(5)}
		o, err := perlayer.NewDPPerLayerOptimizer(a, adam, []float64{0.5, 0.2}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		for s := range 3 {
			for v := range physical {
				o.ZeroGrad()
				o.SignalSkip(v < physical-1)
				lo, hi := optimizertest.Shard(12, physical, v)
				if err := o.AddBackward(p.Sources(s, 0, 12, lo, hi)); err != nil {
					t.Fatal(err)
				}
				if _, err := o.Step(); err != nil {
					t.Fatal(err)
				}
			}
		}
		if o.Steps() != 3 {
			t.Errorf("%d physical steps per logical step: %d real steps, want 3", physical, o.Steps())
		}
		return a.Params
	}
	full, virtual := run(1), run(3)
	if d := optimizertest.RelDiff(virtual, full); d > 1e-12 {
		t.Errorf("virtual steps differ from the full batch by %g (relative)", d)
	}
	if optimizertest.RelDiff(full, p.Arena().Params) < 1e-3 {
		t.Error("the parameters barely moved; the test cannot fail")
	}
}

func ExampleDPPerLayerOptimizer() {
	// Two layers with thresholds 1 and 0.5: the noise std is σ·‖(1, 0.5)‖₂.
	arena, err := optimizer.NewArena[float64](
		optimizer.LayerSpec{Name: "weight", Len: 2},
		optimizer.LayerSpec{Name: "bias", Len: 1},
	)
	if err != nil {
		panic(err)
	}
	sgd, err := optimizer.NewSGD[float64](0.1, 0, 0, 0, false)
	if err != nil {
		panic(err)
	}
	opt, err := perlayer.NewDPPerLayerOptimizer(arena, sgd, []float64{1, 0.5}, optimizer.Config{
		NoiseMultiplier:   0, // deterministic output; use σ > 0 to train privately
		ExpectedBatchSize: 1,
		Generator:         optimizer.NewSeededGenerator(1),
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("noise std for σ=1 would be %.4f\n", 1*math.Sqrt(1+0.25))

	// One sample: the weight gradient (norm 5) is clipped to 1, the bias
	// gradient (norm 2) to 0.5, each on its own.
	opt.ZeroGrad()
	err = opt.AddBackward([]optimizer.GradSource[float64]{
		optimizer.NewDenseSource(1, 2, []float64{3, 4}),
		optimizer.NewDenseSource(1, 1, []float64{2}),
	})
	if err != nil {
		panic(err)
	}
	if _, err := opt.Step(); err != nil {
		panic(err)
	}
	fmt.Printf("gradient: %.6f\n", arena.Grads)
	// Output:
	// noise std for σ=1 would be 1.1180
	// gradient: [0.600000 0.800000 0.500000]
}
