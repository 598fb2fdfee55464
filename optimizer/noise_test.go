package optimizer_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dpmpi/dpmpi/optimizer"
)

// countingGen counts draws from an underlying generator.
type countingGen struct {
	g     optimizer.Generator
	draws int
}

func (c *countingGen) NormFloat64() float64 { c.draws++; return c.g.NormFloat64() }

func meanStd(x []float64) (mean, std float64) {
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	for _, v := range x {
		std += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(std / float64(len(x)-1))
}

// The sample std of n normal variates has relative standard error
// 1/√(2n) ≈ 0.0022 at n = 100 000; the 1.5% bound is about 7 standard
// errors, and a std off by √2 (noise added twice) or 2 (variance 4σ²) fails
// by a wide margin.
const (
	noiseN   = 100_000
	noiseTol = 0.015
)

// The noise has the configured std and zero mean in both precisions, in
// plain and secure mode, with the mean reduction's scale (over k virtual
// steps) applied in float64 before any rounding to float32. The float64
// engine draws from the seeded generator, the float32 one from the block
// generator whose draws it adds in parallel.
func TestNoiseStd(t *testing.T) {
	t.Run("float64", func(t *testing.T) {
		testNoiseStd[float64](t, func() optimizer.Generator { return optimizer.NewSeededGenerator(7) })
	})
	t.Run("float32", func(t *testing.T) {
		testNoiseStd[float32](t, func() optimizer.Generator { return optimizer.NewBlockGenerator(7) })
	})
}

func testNoiseStd[F optimizer.Float](t *testing.T, plain func() optimizer.Generator) {
	const sigma, c = 2.0, 1.5
	tests := []struct {
		name   string
		secure bool
		red    optimizer.Reduction
		b      float64
		k      int
		want   float64
	}{
		{"plain sum", false, optimizer.Sum, 0, 1, sigma * c},
		{"secure sum", true, optimizer.Sum, 0, 1, sigma * c},
		{"plain mean", false, optimizer.Mean, 8, 1, sigma * c / 8},
		{"plain mean k=2", false, optimizer.Mean, 8, 2, sigma * c / 16},
		{"secure mean k=3", true, optimizer.Mean, 8, 3, sigma * c / 24},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := optimizer.Config{NoiseMultiplier: sigma, ExpectedBatchSize: tt.b, LossReduction: tt.red, SecureMode: tt.secure}
			if !tt.secure {
				cfg.Generator = plain()
			}
			a := must(optimizer.NewArena[F](optimizer.LayerSpec{Name: "w", Len: noiseN}))
			e := must(optimizer.NewEngine(a, must(optimizer.NewSGD[F](1, 0, 0, 0, false)), optimizer.FlatClipping(c), cfg, nil))
			if got := e.NoiseStd(); got != sigma*c {
				t.Errorf("NoiseStd = %v, want %v", got, sigma*c)
			}
			zero := optimizer.NewDenseSource(1, noiseN, make([]F, noiseN))
			for range tt.k {
				if err := e.AddBackward([]optimizer.GradSource[F]{zero}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := e.Step(); err != nil {
				t.Fatal(err)
			}
			g := make([]float64, noiseN)
			for i, v := range a.Grads {
				g[i] = float64(v)
			}
			m, s := meanStd(g)
			if math.Abs(s/tt.want-1) > noiseTol {
				t.Errorf("noise std %v, want %v (ratio %v)", s, tt.want, s/tt.want)
			}
			if math.Abs(m) > 6*tt.want/math.Sqrt(noiseN) {
				t.Errorf("noise mean %v, want 0 within %v", m, 6*tt.want/math.Sqrt(noiseN))
			}
		})
	}
}

func TestSeededNoiseReproducible(t *testing.T) {
	run := func(seed uint64) []float64 {
		cfg := optimizer.Config{NoiseMultiplier: 0.5, LossReduction: optimizer.Sum, Generator: optimizer.NewSeededGenerator(seed)}
		e := newEngine(t, oneLayer(t, 1000), optimizer.FlatClipping(3), cfg)
		step(t, e, optimizer.NewDenseSource[float64](0, 1000, nil))
		return append([]float64(nil), e.Arena().Grads...)
	}
	a, b, c := run(42), run(42), run(43)
	// The documented stream: std · rand.New(rand.NewPCG(seed, 0x64706d70692d6e6f)).NormFloat64().
	ref := rand.New(rand.NewPCG(42, 0x64706d70692d6e6f))
	same := 0
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			t.Fatalf("same seed differs at %d: %v vs %v", i, a[i], b[i])
		}
		if want := 1.5 * ref.NormFloat64(); a[i] != want {
			t.Fatalf("noise[%d] = %v, want %v from the documented stream", i, a[i], want)
		}
		if a[i] == c[i] {
			same++
		}
	}
	if same > 0 {
		t.Errorf("seeds 42 and 43 agree on %d coordinates", same)
	}
}

func TestZeroSigmaDrawsNothing(t *testing.T) {
	g := &countingGen{g: optimizer.NewSeededGenerator(1)}
	cfg := optimizer.Config{LossReduction: optimizer.Sum, Generator: g}
	e := newEngine(t, oneLayer(t, 10), optimizer.FlatClipping(1), cfg)
	step(t, e, optimizer.NewDenseSource[float64](0, 10, nil))
	if g.draws != 0 {
		t.Errorf("σ = 0 drew %d variates", g.draws)
	}
	optimizer.AddNoise(make([]float64, 10), 0, g, true)
	if g.draws != 0 {
		t.Errorf("secure AddNoise with std 0 drew %d variates", g.draws)
	}
}

// The secure construction: one discarded draw per call, then each element
// gets std/2 times the sum of four fresh draws.
func TestSecureConstruction(t *testing.T) {
	const n, std = 5, 3.0
	g := &countingGen{g: optimizer.NewSeededGenerator(9)}
	dst := []float64{1, 2, 3, 4, 5}
	optimizer.AddNoise(dst, std, g, true)
	if g.draws != 1+4*n {
		t.Errorf("secure noise on %d elements drew %d variates, want %d", n, g.draws, 1+4*n)
	}
	ref := optimizer.NewSeededGenerator(9)
	ref.NormFloat64() // discarded
	for i := range n {
		s := ref.NormFloat64() + ref.NormFloat64()
		s += ref.NormFloat64()
		s += ref.NormFloat64()
		if want := float64(i+1) + std/2*s; dst[i] != want {
			t.Errorf("dst[%d] = %v, want %v", i, dst[i], want)
		}
	}
	g.draws = 0
	optimizer.AddNoise(dst, std, g, false)
	if g.draws != n {
		t.Errorf("plain noise on %d elements drew %d variates", n, g.draws)
	}
}

// Two secure generators are keyed independently from the OS.
func TestSecureGeneratorsDiffer(t *testing.T) {
	a, err := optimizer.NewSecureGenerator()
	if err != nil {
		t.Fatal(err)
	}
	b, err := optimizer.NewSecureGenerator()
	if err != nil {
		t.Fatal(err)
	}
	same := 0
	for range 100 {
		if a.NormFloat64() == b.NormFloat64() {
			same++
		}
	}
	if same > 0 {
		t.Errorf("two secure generators agree on %d of 100 draws", same)
	}
}
