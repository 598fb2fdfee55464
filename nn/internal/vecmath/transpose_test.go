package vecmath

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestTransposeAddBias compares TransposeAddBias and its Go form bit for
// bit with the scalar loop it replaces, on shapes with whole 4×4 blocks only, with
// remaining rows, remaining columns, both, and too few of either for a
// block, with signed zeros, infinities and NaN among the values.
func TestTransposeAddBias(t *testing.T) {
	special := []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.NaN(), 1e-310}
	r := rand.New(rand.NewPCG(11, 12))
	for _, s := range []struct{ m, n int }{
		{196, 16}, {25, 32}, {4, 4}, {8, 12}, {5, 7}, {13, 9}, {3, 8}, {8, 3}, {1, 1}, {0, 4}, {4, 0},
	} {
		a, bias := make([]float64, s.m*s.n), make([]float64, s.n)
		for i := range a {
			a[i] = r.NormFloat64()
			if r.IntN(8) == 0 {
				a[i] = special[r.IntN(len(special))]
			}
		}
		for j := range bias {
			bias[j] = r.NormFloat64()
			if r.IntN(4) == 0 {
				bias[j] = special[r.IntN(len(special))]
			}
		}
		for _, f := range []struct {
			name string
			f    func(y []float64)
		}{
			{"TransposeAddBias", func(y []float64) { TransposeAddBias(y, a, bias, s.m, s.n) }},
			{"transposeAddBiasGo", func(y []float64) { transposeAddBiasGo(y, a, bias, s.m, s.n, 0, 0) }},
		} {
			y := make([]float64, s.m*s.n+1)
			y[s.m*s.n] = 42
			f.f(y)
			for j := 0; j < s.n; j++ {
				for i := 0; i < s.m; i++ {
					want := a[i*s.n+j] + bias[j]
					if got := y[j*s.m+i]; math.Float64bits(got) != math.Float64bits(want) {
						t.Fatalf("%+v: %s: y[%d·m+%d] = %v, want %v", s, f.name, j, i, got, want)
					}
				}
			}
			if y[s.m*s.n] != 42 {
				t.Fatalf("%+v: %s wrote past m·n values", s, f.name)
			}
		}
	}
}

// TestTransposeAddBiasPanics checks that TransposeAddBias refuses slices too
// short for the shape.
func TestTransposeAddBiasPanics(t *testing.T) {
	y, a, b := make([]float64, 64), make([]float64, 64), make([]float64, 8)
	tests := []panicCase{
		{"short y", func() { TransposeAddBias(y[:63], a, b, 8, 8) }},
		{"short a", func() { TransposeAddBias(y, a[:63], b, 8, 8) }},
		{"short bias", func() { TransposeAddBias(y, a, b[:7], 8, 8) }},
		{"negative m", func() { TransposeAddBias(y, a, b, -1, 8) }},
	}
	checkPanics(t, tests)
}

// BenchmarkTransposeAddBias times TransposeAddBias and its Go form on the
// benchmark CNN's two convolution outputs (positions × channels) per op,
// and TransposeAddBias in float32 (f32).
func BenchmarkTransposeAddBias(b *testing.B) {
	for _, s := range []struct{ m, n int }{{196, 16}, {25, 32}} {
		a, bias, y := make([]float64, s.m*s.n), make([]float64, s.n), make([]float64, s.m*s.n)
		for i := range a {
			a[i] = float64(i)
		}
		b.Run(fmt.Sprintf("%dx%d", s.m, s.n), func(b *testing.B) {
			for b.Loop() {
				TransposeAddBias(y, a, bias, s.m, s.n)
			}
		})
		b.Run(fmt.Sprintf("%dx%d/go", s.m, s.n), func(b *testing.B) {
			for b.Loop() {
				transposeAddBiasGo(y, a, bias, s.m, s.n, 0, 0)
			}
		})
		a32, bias32, y32 := make([]float32, s.m*s.n), make([]float32, s.n), make([]float32, s.m*s.n)
		for i := range a32 {
			a32[i] = float32(i)
		}
		b.Run(fmt.Sprintf("%dx%d/f32", s.m, s.n), func(b *testing.B) {
			for b.Loop() {
				TransposeAddBias(y32, a32, bias32, s.m, s.n)
			}
		})
	}
}
