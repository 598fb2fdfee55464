package optimizer_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dpmpi/dpmpi/optimizer"
)

// The float32 noise is the float64 mechanism's output rounded: for every
// generator kind, plain and secure, a float32 gradient g noised with a
// generator ends as float32(float64(g) + z), where z is what the same
// generator adds to a float64 buffer, bit for bit.
func TestNoiseFloat32IsRoundedFloat64(t *testing.T) {
	const n, std = 3*optimizer.NoiseBlock + 17, 0.7
	gens := []struct {
		name   string
		secure bool
		make   func() optimizer.Generator
	}{
		{"seeded", false, func() optimizer.Generator { return optimizer.NewSeededGenerator(3) }},
		{"seeded secure", true, func() optimizer.Generator { return optimizer.NewSeededGenerator(3) }},
		{"block", false, func() optimizer.Generator { return optimizer.NewBlockGenerator(3) }},
		{"block secure", true, func() optimizer.Generator { return optimizer.NewBlockGenerator(3) }},
	}
	r := rand.New(rand.NewPCG(1, 2))
	g32 := make([]float32, n)
	for i := range g32 {
		g32[i] = float32(r.NormFloat64())
	}
	for _, tt := range gens {
		t.Run(tt.name, func(t *testing.T) {
			want := make([]float64, n)
			for i, v := range g32 {
				want[i] = float64(v)
			}
			optimizer.AddNoise(want, std, tt.make(), tt.secure)
			got := append([]float32(nil), g32...)
			optimizer.AddNoise(got, std, tt.make(), tt.secure)
			for i := range got {
				if w := float32(want[i]); math.Float32bits(got[i]) != math.Float32bits(w) {
					t.Fatalf("element %d: float32 noise gives %v, want float32(%v) = %v", i, got[i], want[i], w)
				}
			}
		})
	}
}

// A float32 DenseSource's norms are the float64 norms of its rows (the
// squares are summed in float64), and its weighted sums and one-pass
// clipping agree with the float64 source on the same values within float32
// rounding: each output is a sum of b = 40 terms w_i·g_i, rounded once per
// term, so the error is at most about b·2⁻²⁴·Σ|w_i·g_i|; the test allows
// 64·2⁻²⁴ relative to Σ|terms|.
func TestDenseSourceFloat32(t *testing.T) {
	const b = 40
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 7, 4096 + 3, 70_000} { // 70 000·40 elements take the parallel path
		d32 := make([]float32, b*n)
		d64 := make([]float64, b*n)
		for i := range d32 {
			d32[i] = float32(r.NormFloat64() * float64(1+i%5))
			d64[i] = float64(d32[i])
		}
		s32, s64 := optimizer.NewDenseSource(b, n, d32), optimizer.NewDenseSource(b, n, d64)
		n32, n64 := make([]float64, b), make([]float64, b)
		s32.Norms(n32)
		s64.Norms(n64)
		for i := range n32 {
			if math.Abs(n32[i]-n64[i]) > 1e-13*n64[i] {
				t.Errorf("n=%d: norm %d = %v in float32, %v in float64", n, i, n32[i], n64[i])
			}
		}
		w := make([]float64, b)
		for i := range w {
			w[i] = r.Float64()
		}
		abs := make([]float64, n) // Σ_i |w_i·g_i| per coordinate
		for i := range b {
			for j := range n {
				abs[j] += math.Abs(w[i] * d64[i*n+j])
			}
		}
		check := func(what string, got []float32, want []float64) {
			t.Helper()
			for j := range got {
				if d := math.Abs(float64(got[j]) - want[j]); d > 64*0x1p-24*abs[j] {
					t.Fatalf("n=%d %s: element %d = %v in float32, %v in float64 (|terms| %v)", n, what, j, got[j], want[j], abs[j])
				}
			}
		}
		a32, a64 := make([]float32, n), make([]float64, n)
		s32.AddWeighted(a32, w)
		s64.AddWeighted(a64, w)
		check("AddWeighted", a32, a64)

		maxNorm := 3.3 * math.Sqrt(float64(n)) // about the median row norm
		c32, c64 := make([]float32, n), make([]float64, n)
		f32, f64 := make([]float64, b), make([]float64, b)
		s32.ClipAdd(c32, maxNorm, n32, f32)
		s64.ClipAdd(c64, maxNorm, n64, f64)
		clipped := 0
		for i := range f32 {
			if math.Abs(f32[i]-f64[i]) > 1e-13 {
				t.Errorf("n=%d: clip factor %d = %v in float32, %v in float64", n, i, f32[i], f64[i])
			}
			if f64[i] < 1 {
				clipped++
			}
		}
		if n > 1 && clipped == 0 {
			t.Errorf("n=%d: no sample clipped; the clipping check is vacuous", n)
		}
		clear(abs)
		for i := range b {
			for j := range n {
				abs[j] += math.Abs(f64[i] * d64[i*n+j])
			}
		}
		check("ClipAdd", c32, c64)
	}
}

// The float32 updaters follow the float64 ones on the same values: 50 steps
// of every updater kind end within 1e-5 (relative to the largest
// parameter) of the float64 run. Each step rounds the update's few
// operations to float32 (relative 2⁻²⁴ ≈ 6e-8 each) on parameters of
// order 1, and these errors do not grow through SGD or Adam, whose updates
// do not amplify parameter differences (no dependence of the gradient on
// the parameters here), so 50 steps stay under 50·4·6e-8 ≈ 1.2e-5 in the
// worst case and near √50·… in practice.
func TestUpdatersFloat32(t *testing.T) {
	type pair struct {
		u32 optimizer.Updater[float32]
		u64 optimizer.Updater[float64]
	}
	kinds := map[string]pair{
		"sgd":          {must(optimizer.NewSGD[float32](0.1, 0, 0, 0, false)), must(optimizer.NewSGD[float64](0.1, 0, 0, 0, false))},
		"sgd-momentum": {must(optimizer.NewSGD[float32](0.05, 0.9, 0.1, 1e-3, false)), must(optimizer.NewSGD[float64](0.05, 0.9, 0.1, 1e-3, false))},
		"nesterov":     {must(optimizer.NewSGD[float32](0.05, 0.9, 0, 1e-2, true)), must(optimizer.NewSGD[float64](0.05, 0.9, 0, 1e-2, true))},
		"adam":         {must(optimizer.NewAdam[float32](0.01, 0.9, 0.999, 1e-8, 1e-3)), must(optimizer.NewAdam[float64](0.01, 0.9, 0.999, 1e-8, 1e-3))},
		"adamw":        {must(optimizer.NewAdamW[float32](0.01, 0.9, 0.99, 1e-8, 1e-2)), must(optimizer.NewAdamW[float64](0.01, 0.9, 0.99, 1e-8, 1e-2))},
	}
	const n, steps = 1000, 50
	for name, k := range kinds {
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(8, 9))
			p32, p64 := make([]float32, n), make([]float64, n)
			for i := range p32 {
				p32[i] = float32(2*r.Float64() - 1)
				p64[i] = float64(p32[i])
			}
			init := append([]float64(nil), p64...)
			g32, g64 := make([]float32, n), make([]float64, n)
			for range steps {
				for i := range g32 {
					g32[i] = float32(r.NormFloat64())
					g64[i] = float64(g32[i])
				}
				k.u32.Update(p32, g32)
				k.u64.Update(p64, g64)
			}
			var d, moved float64
			for i := range p32 {
				d = max(d, math.Abs(float64(p32[i])-p64[i]))
				moved = max(moved, math.Abs(p64[i]-init[i]))
			}
			if d > 1e-5 {
				t.Errorf("float32 parameters differ from float64 by %g after %d steps", d, steps)
			}
			if moved < 0.1 {
				t.Errorf("the parameters moved by only %g; the test cannot tell updaters apart", moved)
			}
			// The state round-trips and restores into a float32 updater.
			st, err := k.u32.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			if err := k.u32.UnmarshalBinary(st); err != nil {
				t.Fatalf("restoring the float32 state: %v", err)
			}
			again, _ := k.u32.MarshalBinary()
			if string(again) != string(st) {
				t.Error("the float32 state does not round-trip")
			}
		})
	}
}
