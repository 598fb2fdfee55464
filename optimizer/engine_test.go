package optimizer_test

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/dpmpi/dpmpi/optimizer"
)

// dense returns a DenseSource whose rows are the given samples.
func dense(n int, rows ...[]float64) *optimizer.DenseSource[float64] {
	data := make([]float64, 0, len(rows)*n)
	for _, r := range rows {
		if len(r) != n {
			panic("dense: row length")
		}
		data = append(data, r...)
	}
	return optimizer.NewDenseSource(len(rows), n, data)
}

func oneLayer(t testing.TB, n int) *optimizer.Arena[float64] {
	t.Helper()
	a, err := optimizer.NewArena[float64](optimizer.LayerSpec{Name: "w", Len: n})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func twoLayers(t testing.TB) *optimizer.Arena[float64] {
	t.Helper()
	a, err := optimizer.NewArena[float64](optimizer.LayerSpec{Name: "a", Len: 1}, optimizer.LayerSpec{Name: "b", Len: 1})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// sumCfg is a noise-free configuration with sum reduction.
var sumCfg = optimizer.Config{LossReduction: optimizer.Sum, Generator: optimizer.NewSeededGenerator(1)}

func newEngine(t testing.TB, a *optimizer.Arena[float64], clip optimizer.Clipping, cfg optimizer.Config) *optimizer.Engine[float64] {
	t.Helper()
	e, err := optimizer.NewEngine(a, mustSGD(t, 1), clip, cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func closeTo(got, want, rel float64) bool {
	if got == want {
		return true
	}
	return math.Abs(got-want) <= rel*math.Max(math.Abs(want), 1e-300)
}

func checkSlice(t *testing.T, what string, got, want []float64, rel float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: length %d, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !closeTo(got[i], want[i], rel) {
			t.Errorf("%s[%d] = %.17g, want %.17g", what, i, got[i], want[i])
		}
	}
}

// step runs AddBackward then Step and fails the test on error.
func step(t *testing.T, e *optimizer.Engine[float64], srcs ...optimizer.GradSource[float64]) bool {
	t.Helper()
	if err := e.AddBackward(srcs); err != nil {
		t.Fatalf("AddBackward: %v", err)
	}
	ok, err := e.Step()
	if err != nil {
		t.Fatalf("Step: %v", err)
	}
	return ok
}

func TestClipFactor(t *testing.T) {
	tests := []struct {
		name    string
		c       float64
		samples [][]float64
		want    []float64
	}{
		{"above threshold", 1, [][]float64{{3, 4}}, []float64{3 / (5 + 1e-6), 4 / (5 + 1e-6)}},
		{"below threshold", 1, [][]float64{{0.3, 0.4}}, []float64{0.3, 0.4}},
		{"zero gradient", 1, [][]float64{{0, 0}}, []float64{0, 0}},
		// A norm equal to C is still scaled by C/(C+1e-6): the 1e-6 is
		// added to the norm, not used as a floor.
		{"norm equal to C", 5, [][]float64{{3, 4}}, []float64{3 * 5 / (5 + 1e-6), 4 * 5 / (5 + 1e-6)}},
		{"two samples", 1, [][]float64{{3, 4}, {0.6, 0.8}}, []float64{3/(5+1e-6) + 0.6/(1+1e-6), 4/(5+1e-6) + 0.8/(1+1e-6)}},
		{"negative entries", 2, [][]float64{{-6, 8}}, []float64{-6 * 2 / (10 + 1e-6), 8 * 2 / (10 + 1e-6)}},
		// A finite gradient whose squared norm overflows is clipped, not
		// reported as non-finite.
		{"huge finite", 1, [][]float64{{3e200, 4e200}}, []float64{3e200 / (5e200 + 1e-6), 4e200 / (5e200 + 1e-6)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, oneLayer(t, 2), optimizer.FlatClipping(tt.c), sumCfg)
			if !step(t, e, dense(2, tt.samples...)) {
				t.Fatal("Step skipped")
			}
			checkSlice(t, "grad", e.Arena().Grads, tt.want, 1e-15)
			// SGD with lr 1 from zero parameters: params = −grad.
			checkSlice(t, "params", e.Arena().Params, []float64{-tt.want[0], -tt.want[1]}, 1e-15)
		})
	}
}

// Opacus privacy_engine_test: batch of one, flat C = 0.5: the clipped sum
// has norm 0.5 to three places.
func TestClippedNormReference(t *testing.T) {
	e := newEngine(t, twoLayers(t), optimizer.FlatClipping(0.5), sumCfg)
	step(t, e, dense(1, []float64{2.5}), dense(1, []float64{-7}))
	g := e.Arena().Grads
	if n := math.Hypot(g[0], g[1]); math.Abs(n-0.5) > 5e-4 || n >= 0.5 {
		t.Errorf("clipped norm %v, want 0.5 to 3 places and below 0.5", n)
	}
}

func TestFlatVersusPerLayer(t *testing.T) {
	tests := []struct {
		name string
		clip optimizer.Clipping
		want []float64
	}{
		{"flat joint norm 5", optimizer.FlatClipping(1), []float64{3 / (5 + 1e-6), 4 / (5 + 1e-6)}},
		{"per-layer 1,1", optimizer.PerLayerClipping([]float64{1, 1}), []float64{3 / (3 + 1e-6), 4 / (4 + 1e-6)}},
		{"per-layer 10,1", optimizer.PerLayerClipping([]float64{10, 1}), []float64{3, 4 / (4 + 1e-6)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, twoLayers(t), tt.clip, sumCfg)
			step(t, e, dense(1, []float64{3}), dense(1, []float64{4}))
			checkSlice(t, "grad", e.Arena().Grads, tt.want, 1e-15)
		})
	}
}

func TestReduction(t *testing.T) {
	tests := []struct {
		name string
		red  optimizer.Reduction
		b    float64
		want []float64
	}{
		{"mean B=4", optimizer.Mean, 4, []float64{0.25, 0.5}},
		{"mean B=2.5", optimizer.Mean, 2.5, []float64{0.4, 0.8}},
		{"default is mean", "", 4, []float64{0.25, 0.5}},
		{"sum ignores B", optimizer.Sum, 4, []float64{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := optimizer.Config{LossReduction: tt.red, ExpectedBatchSize: tt.b, Generator: optimizer.NewSeededGenerator(1)}
			e := newEngine(t, oneLayer(t, 2), optimizer.FlatClipping(10), cfg)
			step(t, e, dense(2, []float64{1, 0}, []float64{0, 2}))
			checkSlice(t, "grad", e.Arena().Grads, tt.want, 1e-15)
		})
	}
}

func TestEmptyBatch(t *testing.T) {
	cfg := optimizer.Config{ExpectedBatchSize: 4, Generator: optimizer.NewSeededGenerator(1)}
	e := newEngine(t, oneLayer(t, 3), optimizer.FlatClipping(1), cfg)
	e.Arena().Params[1] = 7
	var hookK []int
	e.SetStepHook(func(_ float64, k int) error { hookK = append(hookK, k); return nil })
	if !step(t, e, optimizer.NewDenseSource[float64](0, 3, nil)) {
		t.Fatal("an empty batch must still take a step")
	}
	checkSlice(t, "params", e.Arena().Params, []float64{0, 7, 0}, 0)
	if len(hookK) != 1 || hookK[0] != 1 {
		t.Errorf("hook calls %v, want [1]", hookK)
	}

	// With noise, an empty batch still gets noise.
	cfg.NoiseMultiplier = 1
	e = newEngine(t, oneLayer(t, 3), optimizer.FlatClipping(1), cfg)
	step(t, e, optimizer.NewDenseSource[float64](0, 3, nil))
	for i, g := range e.Arena().Grads {
		if g == 0 {
			t.Errorf("grad[%d] = 0: no noise on an empty batch", i)
		}
	}
}

func TestAccumulation(t *testing.T) {
	passes := [][]float64{{3, 4}, {0.1, 0.2}, {0, -0.5}}
	clipped := [][]float64{{3 / (5 + 1e-6), 4 / (5 + 1e-6)}, {0.1, 0.2}, {0, -0.5}}
	for _, k := range []int{1, 2, 3} {
		t.Run(string(rune('0'+k)), func(t *testing.T) {
			cfg := optimizer.Config{ExpectedBatchSize: 2, Generator: optimizer.NewSeededGenerator(1)}
			e := newEngine(t, oneLayer(t, 2), optimizer.FlatClipping(1), cfg)
			var gotK int
			e.SetStepHook(func(_ float64, k int) error { gotK = k; return nil })
			want := []float64{0, 0}
			for p := range k {
				if err := e.AddBackward([]optimizer.GradSource[float64]{dense(2, passes[p])}); err != nil {
					t.Fatal(err)
				}
				want[0] += clipped[p][0] / float64(2*k)
				want[1] += clipped[p][1] / float64(2*k)
			}
			if got := e.AccumulatedIterations(); got != k {
				t.Errorf("AccumulatedIterations = %d, want %d", got, k)
			}
			if ok, err := e.Step(); !ok || err != nil {
				t.Fatalf("Step = %v, %v", ok, err)
			}
			if gotK != k {
				t.Errorf("hook got k = %d, want %d", gotK, k)
			}
			checkSlice(t, "grad", e.Arena().Grads, want, 1e-15)
			e.ZeroGrad()
			if e.AccumulatedIterations() != 0 {
				t.Errorf("AccumulatedIterations after ZeroGrad = %d", e.AccumulatedIterations())
			}
			checkSlice(t, "grad after ZeroGrad", e.Arena().Grads, []float64{0, 0}, 0)
		})
	}
}

func TestSkipSignals(t *testing.T) {
	cfg := optimizer.Config{ExpectedBatchSize: 4, Generator: optimizer.NewSeededGenerator(1)}
	e := newEngine(t, oneLayer(t, 2), optimizer.FlatClipping(1), cfg)
	var hookK []int
	e.SetStepHook(func(_ float64, k int) error { hookK = append(hookK, k); return nil })
	// A logical batch of three physical batches, signals queued ahead.
	e.SignalSkip(true)
	e.SignalSkip(true)
	e.SignalSkip(false)
	if !e.PeekSkip() {
		t.Error("PeekSkip = false, want true")
	}
	batches := [][]float64{{3, 4}, {0.5, 0}, {0, 0.25}}
	want := []float64{(3/(5+1e-6) + 0.5) / 4, (4/(5+1e-6) + 0.25) / 4}
	for i, b := range batches {
		stepped := step(t, e, dense(2, b))
		if stepped != (i == 2) {
			t.Fatalf("physical step %d: stepped = %v", i, stepped)
		}
		if i < 2 {
			checkSlice(t, "params during virtual steps", e.Arena().Params, []float64{0, 0}, 0)
			if len(hookK) != 0 {
				t.Fatalf("hook called on a skipped step")
			}
		}
		e.ZeroGrad()
		if i < 2 && e.Arena().Grads[0] == 0 {
			t.Fatal("ZeroGrad after a skipped step cleared the accumulated sum")
		}
	}
	// k is 1 at the real step: ZeroGrad released the earlier passes.
	if len(hookK) != 1 || hookK[0] != 1 {
		t.Errorf("hook calls %v, want [1]", hookK)
	}
	checkSlice(t, "params", e.Arena().Params, []float64{-want[0], -want[1]}, 1e-15)
	checkSlice(t, "grad after the real step's ZeroGrad", e.Arena().Grads, []float64{0, 0}, 0)
}

func TestGradientReuse(t *testing.T) {
	src := func() []optimizer.GradSource[float64] {
		return []optimizer.GradSource[float64]{dense(2, []float64{1, 1})}
	}
	tests := []struct {
		name  string
		run   func(e *optimizer.Engine[float64]) error
		reuse bool
		want  string
	}{
		{"step twice", func(e *optimizer.Engine[float64]) error {
			e.AddBackward(src())
			e.Step()
			_, err := e.Step()
			return err
		}, true, "Step called twice"},
		{"backward after step", func(e *optimizer.Engine[float64]) error {
			e.AddBackward(src())
			e.Step()
			return e.AddBackward(src())
		}, true, "backward pass after step 1"},
		{"backward after skipped step", func(e *optimizer.Engine[float64]) error {
			e.SignalSkip(true)
			e.AddBackward(src())
			e.Step()
			return e.AddBackward(src())
		}, true, "backward pass after step 0"},
		{"step without backward", func(e *optimizer.Engine[float64]) error {
			_, err := e.Step()
			return err
		}, false, "no backward pass since ZeroGrad"},
		{"wrong source count", func(e *optimizer.Engine[float64]) error {
			return e.AddBackward(append(src(), src()...))
		}, false, "2 gradient sources for an arena of 1 layers"},
		{"wrong source length", func(e *optimizer.Engine[float64]) error {
			return e.AddBackward([]optimizer.GradSource[float64]{dense(3, []float64{1, 1, 1})})
		}, false, "length 3 but layer 0 (\"w\") has 2"},
		{"flat ClipLayer", func(e *optimizer.Engine[float64]) error {
			return e.ClipLayer(0, dense(2, []float64{1, 1}))
		}, false, "needs per-layer clipping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEngine(t, oneLayer(t, 2), optimizer.FlatClipping(1), sumCfg)
			err := tt.run(e)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, optimizer.ErrGradientReuse) != tt.reuse {
				t.Errorf("errors.Is(err, ErrGradientReuse) = %v, want %v (%v)", !tt.reuse, tt.reuse, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
	// After ZeroGrad everything works again.
	e := newEngine(t, oneLayer(t, 2), optimizer.FlatClipping(1), sumCfg)
	step(t, e, src()...)
	e.ZeroGrad()
	step(t, e, src()...)
	if e.Steps() != 2 {
		t.Errorf("Steps = %d, want 2", e.Steps())
	}
}

func TestSampleCountMismatch(t *testing.T) {
	e := newEngine(t, twoLayers(t), optimizer.FlatClipping(1), sumCfg)
	err := e.AddBackward([]optimizer.GradSource[float64]{dense(1, []float64{1}), dense(1, []float64{1}, []float64{2})})
	if err == nil || !strings.Contains(err.Error(), `layer "b") has 2 samples but source 0 has 1`) {
		t.Errorf("got %v", err)
	}
}

func TestNonFinite(t *testing.T) {
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		for _, clip := range []optimizer.Clipping{optimizer.FlatClipping(1), optimizer.PerLayerClipping([]float64{1, 1})} {
			e := newEngine(t, twoLayers(t), clip, sumCfg)
			e.Arena().Params[0] = 5
			hooked := false
			e.SetStepHook(func(float64, int) error { hooked = true; return nil })
			a := dense(1, []float64{1}, []float64{2}, []float64{3})
			b := dense(1, []float64{1}, []float64{2}, []float64{bad})
			if err := e.AddBackward([]optimizer.GradSource[float64]{a, b}); err != nil {
				t.Fatalf("AddBackward reported %v; non-finite gradients are reported by Step", err)
			}
			ok, err := e.Step()
			var nf *optimizer.NonFiniteError
			if ok || !errors.As(err, &nf) {
				t.Fatalf("value %v, per-layer %v: Step = %v, %v; want a *NonFiniteError", bad, clip.PerLayer(), ok, err)
			}
			if nf.Layer != "b" || nf.LayerIndex != 1 || nf.Sample != 2 || nf.Rank != -1 || nf.Step != 0 {
				t.Errorf("error fields %+v, want layer b (1), sample 2, rank -1, step 0", *nf)
			}
			for _, s := range []string{`layer 1 ("b")`, "sample 2", "no update"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %q", err, s)
				}
			}
			if hooked || e.Steps() != 0 || e.Arena().Params[0] != 5 {
				t.Errorf("after a non-finite gradient: hook %v, steps %d, param %v; want no hook, no step, no update", hooked, e.Steps(), e.Arena().Params[0])
			}
			e.ZeroGrad()
			step(t, e, dense(1, []float64{0.5}), dense(1, []float64{0}))
			if e.Steps() != 1 || e.Arena().Params[0] != 4.5 {
				t.Errorf("after ZeroGrad the next step gave steps %d, param %v; want 1, 4.5", e.Steps(), e.Arena().Params[0])
			}
		}
	}
}

// A non-finite gradient in a virtual step fails the logical step's real
// Step.
func TestNonFiniteInSkippedStep(t *testing.T) {
	e := newEngine(t, oneLayer(t, 1), optimizer.FlatClipping(1), sumCfg)
	e.SignalSkip(true)
	if ok := step(t, e, dense(1, []float64{math.NaN()})); ok {
		t.Fatal("skipped step stepped")
	}
	e.ZeroGrad()
	e.AddBackward([]optimizer.GradSource[float64]{dense(1, []float64{1})})
	var nf *optimizer.NonFiniteError
	if _, err := e.Step(); !errors.As(err, &nf) || nf.Sample != 0 {
		t.Fatalf("real step after a NaN in a virtual step: %v", err)
	}
	if e.Arena().Params[0] != 0 {
		t.Error("parameters updated")
	}
}

func TestStepHookOrder(t *testing.T) {
	cfg := optimizer.Config{NoiseMultiplier: 0, ExpectedBatchSize: 2, Generator: optimizer.NewSeededGenerator(1)}
	e := newEngine(t, oneLayer(t, 1), optimizer.FlatClipping(10), cfg)
	e.Arena().Params[0] = 1
	e.SetStepHook(func(sigma float64, k int) error {
		// Scaled gradient present, parameters not yet updated.
		if g, p := e.Arena().Grads[0], e.Arena().Params[0]; g != 1.5 || p != 1 {
			t.Errorf("in hook: grad %v (want 3/2), param %v (want 1)", g, p)
		}
		return nil
	})
	step(t, e, dense(1, []float64{3}))
	if p := e.Arena().Params[0]; p != -0.5 {
		t.Errorf("param %v, want -0.5", p)
	}

	// A failing hook (say the ledger write) blocks the update.
	e.ZeroGrad()
	hookErr := errors.New("disk full")
	e.SetStepHook(func(float64, int) error { return hookErr })
	e.AddBackward([]optimizer.GradSource[float64]{dense(1, []float64{3})})
	if _, err := e.Step(); !errors.Is(err, hookErr) || !strings.Contains(err.Error(), "step hook") {
		t.Errorf("Step with failing hook: %v", err)
	}
	if p := e.Arena().Params[0]; p != -0.5 || e.Steps() != 1 {
		t.Errorf("after the failing hook: param %v, steps %d; want -0.5, 1", p, e.Steps())
	}
}
