package l2norm

import (
	"fmt"
	"math"
	"testing"

	"gonum.org/v1/gonum/floats"
)

func TestOf(t *testing.T) {
	big := math.MaxFloat64 / 2
	tests := []struct {
		name string
		v    []float64
		want float64
	}{
		{"empty", nil, 0},
		{"3-4-5", []float64{3, -4}, 5},
		{"one", []float64{-2}, 2},
		// v·v overflows; the scaled fallback gives the finite norm.
		{"overflowing squares", []float64{big, big}, big * math.Sqrt2},
		{"+Inf", []float64{1, math.Inf(1)}, math.Inf(1)},
		{"-Inf", []float64{math.Inf(-1), 1}, math.Inf(1)},
		{"NaN", []float64{1, math.NaN()}, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Of(tt.v)
			if math.IsNaN(tt.want) {
				if !math.IsNaN(got) {
					t.Errorf("Of(%v) = %v, want NaN", tt.v, got)
				}
				return
			}
			if math.Abs(got-tt.want) > 1e-15*tt.want {
				t.Errorf("Of(%v) = %v, want %v", tt.v, got, tt.want)
			}
		})
	}
}

// TestOf32 checks the float32 norms, whose squares are summed in float64:
// values whose float32 squares would overflow give the finite norm, and the
// norm of a random vector agrees with the float64 norm of its converted
// values to float64 rounding (the sums differ only in order and fusion).
func TestOf32(t *testing.T) {
	big := float32(math.MaxFloat32)
	rnd := make([]float32, 1001)
	rnd64 := make([]float64, len(rnd))
	for i := range rnd {
		rnd[i] = float32(math.Sin(float64(i))) * 3
		rnd64[i] = float64(rnd[i])
	}
	tests := []struct {
		name string
		v    []float32
		want float64
	}{
		{"empty", nil, 0},
		{"3-4-5", []float32{3, -4}, 5},
		{"float32 squares overflow", []float32{big, big}, float64(big) * math.Sqrt2},
		{"tiny", []float32{1e-30, 1e-30}, float64(float32(1e-30)) * math.Sqrt2},
		{"random", rnd, Of(rnd64)},
		{"+Inf", []float32{1, float32(math.Inf(1))}, math.Inf(1)},
		{"NaN", []float32{1, float32(math.NaN())}, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Of(tt.v)
			if math.IsNaN(tt.want) {
				if !math.IsNaN(got) {
					t.Errorf("Of(%v) = %v, want NaN", tt.v, got)
				}
				return
			}
			if math.Abs(got-tt.want) > 1e-14*tt.want {
				t.Errorf("Of(%v) = %v, want %v", tt.v, got, tt.want)
			}
		})
	}
}

// TestFromSumSquares checks that the fallback runs only on overflow: a
// finite sum is used as given, bit for bit.
func TestFromSumSquares(t *testing.T) {
	v := []float64{3, 4}
	tests := []struct {
		name string
		ss   float64
		want float64
	}{
		{"finite sum used as given", 16, 4},
		{"overflowed sum", math.Inf(1), 5},
		{"NaN sum", math.NaN(), math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FromSumSquares(v, tt.ss)
			if got != tt.want && !(math.IsNaN(got) && math.IsNaN(tt.want)) {
				t.Errorf("FromSumSquares(%v, %v) = %v, want %v", v, tt.ss, got, tt.want)
			}
		})
	}
}

func ExampleOf() {
	big := math.MaxFloat64 / 2
	// The sum of squares overflows, the norm does not.
	fmt.Println(Of([]float64{3, 4}), Of([]float64{big, big}) > big)
	// Output: 5 true
}

// BenchmarkNorm compares Of with gonum's floats.Norm, the fallback alone,
// on per-sample gradient lengths of the convolutions of nn's CNN.
func BenchmarkNorm(b *testing.B) {
	for _, n := range []int{1040, 8224} {
		v := make([]float64, n)
		for i := range v {
			v[i] = math.Sin(float64(i))
		}
		for _, f := range []struct {
			name string
			norm func([]float64) float64
		}{{"Of", Of[float64]}, {"floats.Norm", func(v []float64) float64 { return floats.Norm(v, 2) }}} {
			b.Run(fmt.Sprintf("n=%d/%s", n, f.name), func(b *testing.B) {
				var s float64
				for range b.N {
					s += f.norm(v)
				}
				if s == 0 {
					b.Fatal("zero norm")
				}
			})
		}
	}
}
