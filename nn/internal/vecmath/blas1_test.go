package vecmath

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSumSquares compares SumSquares with an ordered sum for every length
// up to 70 (vector body and scalar tail) and checks that NaN and ±Inf
// propagate.
func TestSumSquares(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for n := 0; n <= 70; n++ {
		x := make([]float64, n)
		var want, abs float64
		for i := range x {
			x[i] = r.NormFloat64() * 10
			want += x[i] * x[i]
			abs += x[i] * x[i]
		}
		got := SumSquares(x)
		if d := math.Abs(got - want); d > float64(n+1)*0x1p-52*abs {
			t.Errorf("n=%d: SumSquares = %v, want %v", n, got, want)
		}
		if n > 0 {
			x[n/2] = math.Inf(-1)
			if got := SumSquares(x); !math.IsInf(got, 1) {
				t.Errorf("n=%d with -Inf: SumSquares = %v, want +Inf", n, got)
			}
			x[n-1] = math.NaN()
			if got := SumSquares(x); !math.IsNaN(got) {
				t.Errorf("n=%d with NaN: SumSquares = %v, want NaN", n, got)
			}
		}
	}
}

// TestAddScaled compares AddScaled with dst[i] + alpha·x[i] for every length
// up to 40, checks that the elements past len(x) are left alone, and that
// a zero alpha times an infinity gives NaN, as in a plain product.
func TestAddScaled(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for n := 0; n <= 40; n++ {
		x, dst := make([]float64, n), make([]float64, n+3)
		for i := range x {
			x[i] = r.NormFloat64()
		}
		for i := range dst {
			dst[i] = r.NormFloat64()
		}
		want := append([]float64(nil), dst...)
		alpha := r.NormFloat64()
		for i := range x {
			want[i] += alpha * x[i]
		}
		AddScaled(dst, alpha, x)
		for i := range x {
			if d := math.Abs(dst[i] - want[i]); d > 2*0x1p-52*(math.Abs(want[i])+math.Abs(alpha*x[i])) {
				t.Fatalf("n=%d: dst[%d] = %v, want %v", n, i, dst[i], want[i])
			}
		}
		for i := n; i < len(dst); i++ {
			if dst[i] != want[i] {
				t.Fatalf("n=%d: dst[%d] past len(x) changed", n, i)
			}
		}
	}
	x := make([]float64, 9)
	x[0], x[8] = math.Inf(1), math.Inf(-1)
	dst := make([]float64, 9)
	AddScaled(dst, 0, x)
	if !math.IsNaN(dst[0]) || !math.IsNaN(dst[8]) || dst[1] != 0 {
		t.Errorf("AddScaled(0, ±Inf) = %v, want NaN at both ends", dst)
	}
}

// BenchmarkSumSquares and BenchmarkAddScaled time the per-sample norm and
// clipped accumulation of the benchmark CNN's conv2 gradient (8,224
// values), in float64, float32 (f32) and float32's Go twin (f32go).
func BenchmarkSumSquares(b *testing.B) {
	x := make([]float64, 8224)
	for i := range x {
		x[i] = float64(i%7) - 3
	}
	for i := 0; i < b.N; i++ {
		SumSquares(x)
	}
}

func BenchmarkSumSquares32(b *testing.B) {
	x := make([]float32, 8224)
	for i := range x {
		x[i] = float32(i%7) - 3
	}
	b.Run("f32", func(b *testing.B) {
		for b.Loop() {
			SumSquares(x)
		}
	})
	b.Run("f32go", func(b *testing.B) {
		for b.Loop() {
			sumSquares32Go(0, x)
		}
	})
}

func BenchmarkAddScaled(b *testing.B) {
	x, dst := make([]float64, 8224), make([]float64, 8224)
	for i := range x {
		x[i] = float64(i%7) - 3
	}
	for i := 0; i < b.N; i++ {
		AddScaled(dst, 0.5, x)
	}
}

func BenchmarkAddScaled32(b *testing.B) {
	x, dst := make([]float32, 8224), make([]float32, 8224)
	for i := range x {
		x[i] = float32(i%7) - 3
	}
	b.Run("f32", func(b *testing.B) {
		for b.Loop() {
			AddScaled(dst, 0.5, x)
		}
	})
	b.Run("f32go", func(b *testing.B) {
		for b.Loop() {
			addScaledGo(dst, 0.5, x)
		}
	})
}
