package vecmath

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
// grid over [−25, 25] and on random values of every magnitude; checks that
// tanhGo, Tanh's Go twin, gives tanh64's results bit for bit; and checks
// Tanh, which uses vector instructions where it can, on the same values.
func TestTanh64(t *testing.T) {
	negZero := math.Copysign(0, -1)
	special := []struct{ x, want float64 }{
		{0, 0}, {negZero, negZero},
		{math.Inf(1), 1}, {math.Inf(-1), -1},
		{5e-324, 5e-324}, {-1e-300, -1e-300},
		{20, 1}, {-20.5, -1}, {1e300, 1},
	}
	xs := make([]float64, 0, 64)
	for len(xs) < 64 { // whole vector blocks of special values
		for _, s := range special {
			xs = append(xs, s.x)
		}
	}
	xs = append(xs[:64:64], math.NaN(), math.NaN(), math.NaN(), math.NaN(), 1, 2, 3, 4)
	for name, f := range map[string]func(y, x []float64){"tanhGo": tanhGo, "Tanh": Tanh[float64]} {
		ys := make([]float64, len(xs))
		f(ys, xs)
		for i, x := range xs[:64] {
			want := special[i%len(special)].want
			if math.Float64bits(ys[i]) != math.Float64bits(want) {
				t.Errorf("%s: tanh(%g) = %g, want %g", name, x, ys[i], want)
			}
		}
		for i := 64; i < 68; i++ {
			if !math.IsNaN(ys[i]) {
				t.Errorf("%s: tanh(NaN) = %g, want NaN", name, ys[i])
			}
		}
	}
	const maxULP = 4
	worst := map[string]int64{}
	buf := make([]float64, 0, 1<<16)
	ys, yv := make([]float64, 1<<16), make([]float64, 1<<16)
	flush := func() {
		tanhGo(ys, buf)
		Tanh(yv, buf)
		for i, x := range buf {
			want := math.Tanh(x) // itself within about 1 ulp of tanh
			if math.Float64bits(ys[i]) != math.Float64bits(tanh64(x)) {
				t.Fatalf("tanhGo and tanh64 differ at %v: %v, %v", x, ys[i], tanh64(x))
			}
			for name, got := range map[string]float64{"tanh64": ys[i], "Tanh": yv[i]} {
				if d := ulps(got, want); d > worst[name] {
					worst[name] = d
					if d > maxULP {
						t.Fatalf("%s(%v) = %v, math.Tanh = %v: %d ulp apart", name, x, got, want, d)
					}
				}
			}
		}
		buf = buf[:0]
	}
	check := func(x float64) {
		if buf = append(buf, x); len(buf) == cap(buf) {
			flush()
		}
	}
	for i := -2_500_000; i <= 2_500_000; i++ {
		check(float64(i) * 1e-5)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 1_000_000; i++ {
		check(math.Ldexp(r.Float64(), r.IntN(70)-60) * float64(1-2*r.IntN(2)))
	}
	buf = append(buf, 0.5, -0.25, 3) // a tail shorter than a block
	flush()
	t.Logf("largest differences from math.Tanh (ulp): %v; vector instructions used: %v", worst, useAVX2)
}

// BenchmarkTanh times math.Tanh, Tanh (vector instructions where it can),
// its Go twin tanhGo and tanh64 one value at a time on 4096 values, and
// Tanh and tanh32Go in float32 (f32, f32go).
func BenchmarkTanh(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, 4096)
	for i := range x {
		x[i] = 1.5 * r.NormFloat64()
	}
	y := make([]float64, len(x))
	b.Run("math", func(b *testing.B) {
		for b.Loop() {
			for i, v := range x {
				y[i] = math.Tanh(v)
			}
		}
	})
	b.Run("slice", func(b *testing.B) {
		for b.Loop() {
			Tanh(y, x)
		}
	})
	b.Run("scalar", func(b *testing.B) {
		for b.Loop() {
			tanhGo(y, x)
		}
	})
	b.Run("tanh64", func(b *testing.B) {
		for b.Loop() {
			for i, v := range x {
				y[i] = tanh64(v)
			}
		}
	})
	x32, y32 := make([]float32, len(x)), make([]float32, len(x))
	for i, v := range x {
		x32[i] = float32(v)
	}
	b.Run("f32", func(b *testing.B) {
		for b.Loop() {
			Tanh(y32, x32)
		}
	})
	b.Run("f32go", func(b *testing.B) {
		for b.Loop() {
			tanh32Go(y32, x32)
		}
	})
}

// BenchmarkTanhGrad times TanhGrad and its Go twin on 4096 values, in
// float64 and float32.
func BenchmarkTanhGrad(b *testing.B) {
	const n = 4096
	y, dy, dx := make([]float64, n), make([]float64, n), make([]float64, n)
	y32, dy32, dx32 := make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range y {
		y[i], dy[i] = math.Tanh(float64(i%11)-5), float64(i%7)-3
		y32[i], dy32[i] = float32(y[i]), float32(dy[i])
	}
	b.Run("f64", func(b *testing.B) {
		for b.Loop() {
			TanhGrad(dx, y, dy)
		}
	})
	b.Run("f64go", func(b *testing.B) {
		for b.Loop() {
			tanhGradGo(dx, y, dy)
		}
	})
	b.Run("f32", func(b *testing.B) {
		for b.Loop() {
			TanhGrad(dx32, y32, dy32)
		}
	})
	b.Run("f32go", func(b *testing.B) {
		for b.Loop() {
			tanhGradGo(dx32, y32, dy32)
		}
	})
}
