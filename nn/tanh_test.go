package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// ulps returns the distance between a and b in units in the last place.
func ulps(a, b float64) int64 {
	ia, ib := int64(math.Float64bits(a)), int64(math.Float64bits(b))
	if ia < 0 {
		ia = math.MinInt64 - ia
	}
	if ib < 0 {
		ib = math.MinInt64 - ib
	}
	d := ia - ib
	if d < 0 {
		d = -d
	}
	return d
}

// TestTanh64 compares tanh64 with math.Tanh on special values, on a dense
// grid over [−25, 25] and on random values of every magnitude, and checks
// that tanhSlice gives tanh64's results bit for bit.
func TestTanh64(t *testing.T) {
	special := []struct{ x, want float64 }{
		{0, 0}, {math.Copysign(0, -1), math.Copysign(0, -1)},
		{math.Inf(1), 1}, {math.Inf(-1), -1},
		{5e-324, 5e-324}, {-1e-300, -1e-300},
		{20, 1}, {-20.5, -1}, {1e300, 1},
	}
	for _, s := range special {
		if got := tanh64(s.x); math.Float64bits(got) != math.Float64bits(s.want) {
			t.Errorf("tanh64(%g) = %g, want %g", s.x, got, s.want)
		}
	}
	if got := tanh64(math.NaN()); !math.IsNaN(got) {
		t.Errorf("tanh64(NaN) = %g, want NaN", got)
	}
	const maxULP = 4
	var worst int64
	xs := make([]float64, 0, 1<<16)
	ys := make([]float64, 1<<16)
	flush := func() {
		tanhSlice(ys, xs)
		for i, x := range xs {
			if math.Float64bits(ys[i]) != math.Float64bits(tanh64(x)) {
				t.Fatalf("tanhSlice and tanh64 differ at %v: %v, %v", x, ys[i], tanh64(x))
			}
		}
		xs = xs[:0]
	}
	check := func(x float64) {
		if xs = append(xs, x); len(xs) == cap(xs) {
			flush()
		}
		// math.Tanh is itself within about 1 ulp of tanh.
		if d := ulps(tanh64(x), math.Tanh(x)); d > worst {
			worst = d
			if d > maxULP {
				t.Fatalf("tanh64(%v) = %v, math.Tanh = %v: %d ulp apart", x, tanh64(x), math.Tanh(x), d)
			}
		}
	}
	for i := -2_500_000; i <= 2_500_000; i++ {
		check(float64(i) * 1e-5)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 1_000_000; i++ {
		check(math.Ldexp(r.Float64(), r.IntN(70)-60) * float64(1-2*r.IntN(2)))
	}
	xs = append(xs, math.NaN(), math.Inf(-1), 3) // a tail shorter than a block
	flush()
	t.Logf("largest difference from math.Tanh: %d ulp", worst)
}

func BenchmarkTanh(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, 4096)
	for i := range x {
		x[i] = 1.5 * r.NormFloat64()
	}
	y := make([]float64, len(x))
	b.Run("math", func(b *testing.B) {
		loopCPU(b, func() {
			for i, v := range x {
				y[i] = math.Tanh(v)
			}
		})
	})
	b.Run("slice", func(b *testing.B) {
		loopCPU(b, func() { tanhSlice(y, x) })
	})
	b.Run("tanh64", func(b *testing.B) {
		loopCPU(b, func() {
			for i, v := range x {
				y[i] = tanh64(v)
			}
		})
	})
}
