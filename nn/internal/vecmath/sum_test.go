package vecmath

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// TestSum checks Sum bit for bit against sumGo, its documented order in Go,
// for every length up to 70 (every mixture of blocks of sixteen, of four and
// single values), and both against the exact sum within the error bound of
// a recursive sum of len(x) terms.
func TestSum(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for n := 0; n <= 70; n++ {
		for trial := 0; trial < 5; trial++ {
			x := make([]float64, n)
			var abs float64
			exact := new(big.Float).SetPrec(2000)
			for i := range x {
				x[i] = r.NormFloat64() * math.Pow(2, float64(r.IntN(30)-15))
				abs += math.Abs(x[i])
				exact.Add(exact, big.NewFloat(x[i]))
			}
			want, _ := exact.Float64()
			got, ref := Sum(x), sumGo(x)
			if math.Float64bits(got) != math.Float64bits(ref) {
				t.Fatalf("n=%d: Sum = %v, sumGo = %v", n, got, ref)
			}
			if bound := float64(n) * 0x1p-53 * abs; math.Abs(ref-want) > bound {
				t.Fatalf("n=%d: sumGo = %v, exact %v, bound %v", n, ref, want, bound)
			}
		}
	}
}

// TestSumSpecial checks infinities, NaN and signed zeros, at positions in
// the blocks of sixteen, of four and the single values.
func TestSumSpecial(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	tests := []struct {
		n, at int
		v     float64
		want  float64
	}{
		{25, 3, inf, inf},
		{25, 18, -inf, -inf},
		{25, 24, nan, nan},
		{7, 6, nan, nan},
		{40, 0, nan, nan},
	}
	for _, tt := range tests {
		x := make([]float64, tt.n)
		for i := range x {
			x[i] = 1
		}
		x[tt.at] = tt.v
		for _, f := range []func([]float64) float64{Sum[float64], sumGo[float64]} {
			got := f(x)
			if math.IsNaN(tt.want) != math.IsNaN(got) || !math.IsNaN(got) && got != tt.want {
				t.Errorf("%+v: %v, want %v", tt, got, tt.want)
			}
		}
	}
	negZero := math.Copysign(0, -1)
	for _, n := range []int{1, 5, 16, 25} {
		x := make([]float64, n)
		for i := range x {
			x[i] = negZero
		}
		// As a loop from var s float64: +0 + −0 = +0.
		if got := Sum(x); got != 0 || math.Signbit(got) {
			t.Errorf("sum of %d × −0 = %v, want +0", n, got)
		}
	}
}

// BenchmarkSum times Sum and sumGo, in float64 and float32, on the rows of the benchmark CNN's
// output errors (196 and 25 positions).
func BenchmarkSum(b *testing.B) {
	for _, n := range []int{196, 25} {
		x := make([]float64, n)
		for i := range x {
			x[i] = float64(i)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				Sum(x)
			}
		})
		b.Run(fmt.Sprint(n)+"/go", func(b *testing.B) {
			for b.Loop() {
				sumGo(x)
			}
		})
		x32 := make([]float32, n)
		for i := range x32 {
			x32[i] = float32(i)
		}
		b.Run(fmt.Sprint(n)+"/f32", func(b *testing.B) {
			for b.Loop() {
				Sum(x32)
			}
		})
		b.Run(fmt.Sprint(n)+"/f32go", func(b *testing.B) {
			for b.Loop() {
				sumGo(x32)
			}
		})
	}
}
