package optimizer_test

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/dpmpi/dpmpi/optimizer"
)

func TestDenseSource(t *testing.T) {
	// Sizes below and above the parallel threshold, with n not a multiple
	// of the column tile.
	for _, sz := range []struct{ b, n int }{{3, 5}, {1, 1}, {0, 4}, {7, 50_001}, {300, 1000}, {2, 300_000}, {7, 400_000}} {
		r := rand.New(rand.NewPCG(uint64(sz.b), uint64(sz.n)))
		data := make([]float64, sz.b*sz.n)
		for i := range data {
			data[i] = r.NormFloat64()
		}
		w := make([]float64, sz.b)
		for i := range w {
			w[i] = r.Float64()
		}
		s := optimizer.NewDenseSource(sz.b, sz.n, data)
		if s.Samples() != sz.b || s.Len() != sz.n {
			t.Fatalf("Samples, Len = %d, %d", s.Samples(), s.Len())
		}
		norms := make([]float64, sz.b)
		s.Norms(norms)
		for i := range sz.b {
			ss := 0.0
			for _, v := range data[i*sz.n : (i+1)*sz.n] {
				ss += v * v
			}
			if !closeTo(norms[i], math.Sqrt(ss), 1e-12) {
				t.Errorf("%dx%d: norm[%d] = %v, want %v", sz.b, sz.n, i, norms[i], math.Sqrt(ss))
			}
		}
		dst := make([]float64, sz.n)
		for j := range dst {
			dst[j] = float64(j)
		}
		s.AddWeighted(dst, w)
		for j := range sz.n {
			want := float64(j)
			for i := range sz.b {
				want += w[i] * data[i*sz.n+j]
			}
			if math.Abs(dst[j]-want) > 1e-12*(1+math.Abs(want)) {
				t.Fatalf("%dx%d: dst[%d] = %v, want %v", sz.b, sz.n, j, dst[j], want)
			}
		}

		// ClipAdd with a threshold that clips about half the rows.
		const c = 150.0
		clipNorms, factors := make([]float64, sz.b), make([]float64, sz.b)
		for j := range dst {
			dst[j] = 1
		}
		s.ClipAdd(dst, c, clipNorms, factors)
		for i := range sz.b {
			if clipNorms[i] != norms[i] {
				t.Errorf("%dx%d: ClipAdd norm[%d] = %v, Norms gave %v", sz.b, sz.n, i, clipNorms[i], norms[i])
			}
			if want := min(1, c/(norms[i]+1e-6)); factors[i] != want {
				t.Errorf("%dx%d: factor[%d] = %v, want %v", sz.b, sz.n, i, factors[i], want)
			}
		}
		for j := range sz.n {
			want := 1.0
			for i := range sz.b {
				want += min(1, c/(norms[i]+1e-6)) * data[i*sz.n+j]
			}
			if math.Abs(dst[j]-want) > 1e-12*(1+math.Abs(want)) {
				t.Fatalf("%dx%d: ClipAdd dst[%d] = %v, want %v", sz.b, sz.n, j, dst[j], want)
			}
		}
	}
}

func TestDenseSourceNonFinite(t *testing.T) {
	s := optimizer.NewDenseSource(3, 2, []float64{1, math.NaN(), math.Inf(-1), 0, 1e300, 1e300})
	norms := make([]float64, 3)
	s.Norms(norms)
	if !math.IsNaN(norms[0]) || !math.IsInf(norms[1], 1) {
		t.Errorf("norms of NaN and -Inf rows: %v, %v; want NaN, +Inf", norms[0], norms[1])
	}
	if want := math.Sqrt2 * 1e300; !closeTo(norms[2], want, 1e-15) {
		t.Errorf("norm of a row whose squares overflow: %v, want %v", norms[2], want)
	}
}

func TestDenseSourceAllocs(t *testing.T) {
	for _, sz := range []struct{ b, n int }{{4, 100}, {64, 20_000}} {
		data := make([]float64, sz.b*sz.n)
		s := optimizer.NewDenseSource(sz.b, sz.n, data)
		norms, w, dst := make([]float64, sz.b), make([]float64, sz.b), make([]float64, sz.n)
		if a := testing.AllocsPerRun(10, func() { s.Norms(norms); s.AddWeighted(dst, w); s.ClipAdd(dst, 1, norms, w) }); a != 0 {
			t.Errorf("%dx%d: %v allocations per call, want 0", sz.b, sz.n, a)
		}
	}
}

func TestDenseSourcePanics(t *testing.T) {
	for name, f := range map[string]func(){
		"bad data":     func() { optimizer.NewDenseSource(2, 3, make([]float64, 5)) },
		"zero n":       func() { optimizer.NewDenseSource[float64](0, 0, nil) },
		"norms length": func() { optimizer.NewDenseSource(2, 1, make([]float64, 2)).Norms(make([]float64, 3)) },
		"w length": func() {
			optimizer.NewDenseSource(2, 1, make([]float64, 2)).AddWeighted(make([]float64, 1), make([]float64, 1))
		},
		"dst length": func() {
			optimizer.NewDenseSource(2, 1, make([]float64, 2)).AddWeighted(make([]float64, 2), make([]float64, 2))
		},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

// Steady-state engine steps allocate nothing.
func TestEngineStepAllocs(t *testing.T) {
	a, err := optimizer.NewArena[float64](optimizer.LayerSpec{Name: "a", Len: 50}, optimizer.LayerSpec{Name: "b", Len: 30})
	if err != nil {
		t.Fatal(err)
	}
	adam, err := optimizer.NewAdam[float64](1e-3, 0.9, 0.999, 1e-8, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, clip := range []optimizer.Clipping{optimizer.FlatClipping(1), optimizer.PerLayerClipping([]float64{1, 2})} {
		cfg := optimizer.Config{NoiseMultiplier: 1, ExpectedBatchSize: 8, Generator: optimizer.NewSeededGenerator(1)}
		e, err := optimizer.NewEngine(a, adam, clip, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		srcs := []optimizer.GradSource[float64]{
			optimizer.NewDenseSource(8, 50, make([]float64, 400)),
			optimizer.NewDenseSource(8, 30, make([]float64, 240)),
		}
		one := func() {
			// A virtual step then a real one, as a batch splitter drives it.
			for _, skip := range []bool{true, false} {
				e.ZeroGrad()
				e.SignalSkip(skip)
				if err := e.AddBackward(srcs); err != nil {
					t.Fatal(err)
				}
				if _, err := e.Step(); err != nil {
					t.Fatal(err)
				}
			}
		}
		one()
		if n := testing.AllocsPerRun(20, one); n != 0 {
			t.Errorf("per-layer %v: %v allocations per step, want 0", clip.PerLayer(), n)
		}
	}
}

// The helper goroutines of a DenseSource end once the source is garbage
// collected.
func TestDenseSourceHelpersEnd(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs GOMAXPROCS ≥ 2 for the parallel path")
	}
	// Helpers of sources left by earlier tests end when those are
	// collected: collect them first, so that none ends during the count.
	base := settledGoroutines()
	func() {
		data := make([]float64, 4*100_000)
		srcs := make([]*optimizer.DenseSource[float64], 20)
		for i := range srcs {
			srcs[i] = optimizer.NewDenseSource(4, 100_000, data)
			srcs[i].Norms(make([]float64, 4))
		}
		if n := runtime.NumGoroutine(); n < base+len(srcs) {
			t.Fatalf("%d goroutines with 20 parallel sources alive, base %d: the parallel path was not taken", n, base)
		}
		runtime.KeepAlive(srcs)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		t.Errorf("%d goroutines remain after collecting the sources, want %d", n, base)
	}
}

// settledGoroutines collects garbage until the number of goroutines stops
// falling (for at most 5 s) and returns it.
func settledGoroutines() int {
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
		m := runtime.NumGoroutine()
		if m >= n {
			return m
		}
		n = m
	}
	return n
}
