package vecmath

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// refMaxPool2 is 2×2 max pooling as PyTorch defines it, for inputs without
// NaN: the window is scanned in row-major order and a value replaces the
// running maximum only if it is larger.
func refMaxPool2(x []float64, c, h, w, s int) ([]float64, []int32) {
	ho, wo := (h-2)/s+1, (w-2)/s+1
	y := make([]float64, c*ho*wo)
	arg := make([]int32, c*ho*wo)
	o := 0
	for ch := 0; ch < c; ch++ {
		for oh := 0; oh < ho; oh++ {
			for ow := 0; ow < wo; ow++ {
				bi := ch*h*w + oh*s*w + ow*s
				for a := 0; a < 2; a++ {
					for b := 0; b < 2; b++ {
						if j := ch*h*w + (oh*s+a)*w + ow*s + b; x[j] > x[bi] {
							bi = j
						}
					}
				}
				y[o], arg[o] = x[bi], int32(bi)
				o++
			}
		}
	}
	return y, arg
}

// TestMaxPool2 compares MaxPool2 and its Go form with refMaxPool2 bit for
// bit on inputs full of ties (few distinct values, both zeros, both
// infinities), over shapes that take the vector kernel with and without an
// overlapping last group of four (wo = 4, 5, 7, 8, 13) and the Go path (wo <
// 4, stride 2), and checks that a NaN anywhere in the input is reported.
func TestMaxPool2(t *testing.T) {
	negZero := math.Copysign(0, -1)
	values := []float64{-1, negZero, 0, 0.5, 2, math.Inf(-1), math.Inf(1)}
	tests := []struct{ c, h, w, s int }{
		{1, 2, 5, 1}, {3, 5, 5, 1}, {2, 4, 6, 1}, {2, 3, 8, 1}, {1, 6, 9, 1},
		{16, 14, 14, 1}, {32, 5, 5, 1}, {2, 3, 2, 1}, {2, 4, 4, 1},
		{2, 8, 9, 2}, {3, 7, 14, 2}, {0, 3, 5, 1},
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, tt := range tests {
		ho, wo := (tt.h-2)/tt.s+1, (tt.w-2)/tt.s+1
		n, out := tt.c*tt.h*tt.w, tt.c*ho*wo
		for trial := 0; trial < 30; trial++ {
			name := fmt.Sprintf("c=%d h=%d w=%d s=%d trial %d", tt.c, tt.h, tt.w, tt.s, trial)
			x := make([]float64, n)
			for i := range x {
				x[i] = values[r.IntN(len(values))]
			}
			if trial%3 == 2 { // distinct values
				for i := range x {
					x[i] = r.NormFloat64()
				}
			}
			wantY, wantArg := refMaxPool2(x, tt.c, tt.h, tt.w, tt.s)
			for _, f := range []struct {
				name string
				pool func(y []float64, arg []int32, x []float64) bool
			}{
				{"MaxPool2", func(y []float64, arg []int32, x []float64) bool {
					return MaxPool2(y, arg, x, tt.c, tt.h, tt.w, tt.s)
				}},
				{"maxPool2Go", func(y []float64, arg []int32, x []float64) bool {
					return maxPool2Go(y, arg, x, tt.c, tt.h, tt.w, tt.s)
				}},
			} {
				y, arg := make([]float64, out), make([]int32, out)
				if !f.pool(y, arg, x) {
					t.Fatalf("%s: %s reported a NaN in %v", name, f.name, x)
				}
				for o := range wantY {
					if math.Float64bits(y[o]) != math.Float64bits(wantY[o]) || arg[o] != wantArg[o] {
						t.Fatalf("%s: %s: output %d is %v at %d, want %v at %d", name, f.name, o, y[o], arg[o], wantY[o], wantArg[o])
					}
				}
				if n == 0 {
					continue
				}
				xn := append([]float64(nil), x...)
				xn[r.IntN(n)] = math.Copysign(math.NaN(), float64(trial%2*2-1))
				if f.pool(y, arg, xn) {
					t.Fatalf("%s: %s did not report the NaN in %v", name, f.name, xn)
				}
			}
		}
	}
}

// TestMaxPool2NaNPosition puts a single NaN at every position of a sample
// in turn: each must be reported, the first and last column of a row and
// the last row of a channel included.
func TestMaxPool2NaNPosition(t *testing.T) {
	for _, tt := range []struct{ c, h, w int }{{2, 4, 14}, {2, 5, 5}, {1, 3, 10}} {
		x := make([]float64, tt.c*tt.h*tt.w)
		out := tt.c * (tt.h - 1) * (tt.w - 1)
		y, arg := make([]float64, out), make([]int32, out)
		for i := range x {
			x[i] = math.NaN()
			if MaxPool2(y, arg, x, tt.c, tt.h, tt.w, 1) {
				t.Errorf("%+v: NaN at %d not reported", tt, i)
			}
			x[i] = float64(i)
		}
		if !MaxPool2(y, arg, x, tt.c, tt.h, tt.w, 1) {
			t.Errorf("%+v: NaN reported in %v", tt, x)
		}
	}
}

// TestMaxPool2Panics checks that MaxPool2 refuses bad shapes and short
// slices rather than reading or writing out of bounds.
func TestMaxPool2Panics(t *testing.T) {
	x, y, arg := make([]float64, 2*14*14), make([]float64, 2*13*13), make([]int32, 2*13*13)
	tests := []panicCase{
		{"short x", func() { MaxPool2(y, arg, x[:len(x)-1], 2, 14, 14, 1) }},
		{"short y", func() { MaxPool2(y[:len(y)-1], arg, x, 2, 14, 14, 1) }},
		{"short arg", func() { MaxPool2(y, arg[:len(arg)-1], x, 2, 14, 14, 1) }},
		{"h < 2", func() { MaxPool2(y, arg, x, 2, 1, 14, 1) }},
		{"w < 2", func() { MaxPool2(y, arg, x, 2, 14, 1, 1) }},
		{"s = 0", func() { MaxPool2(y, arg, x, 2, 14, 14, 0) }},
		{"c < 0", func() { MaxPool2(y, arg, x, -1, 14, 14, 1) }},
	}
	checkPanics(t, tests)
}

func TestHasNaN(t *testing.T) {
	tests := []struct {
		x    []float64
		want bool
	}{
		{nil, false},
		{[]float64{math.Inf(1), math.Inf(-1), math.MaxFloat64, math.Copysign(0, -1)}, false},
		{[]float64{math.NaN()}, true},
		{[]float64{1, 2, math.Copysign(math.NaN(), -1)}, true},
		{[]float64{1, math.NaN(), 3}, true},
	}
	for _, tt := range tests {
		if got := hasNaN(tt.x); got != tt.want {
			t.Errorf("hasNaN(%v) = %v, want %v", tt.x, got, tt.want)
		}
	}
}

// BenchmarkMaxPool2 times MaxPool2 and its Go form on one sample of the
// benchmark CNN's two pooling layers per op, and MaxPool2 in float32 (f32).
func BenchmarkMaxPool2(b *testing.B) {
	for _, s := range []struct{ c, h, w int }{{16, 14, 14}, {32, 5, 5}} {
		r := rand.New(rand.NewPCG(1, 2))
		x := make([]float64, s.c*s.h*s.w)
		for i := range x {
			x[i] = math.Tanh(r.NormFloat64())
		}
		out := s.c * (s.h - 1) * (s.w - 1)
		y, arg := make([]float64, out), make([]int32, out)
		b.Run(fmt.Sprintf("%dx%dx%d", s.c, s.h, s.w), func(b *testing.B) {
			for b.Loop() {
				MaxPool2(y, arg, x, s.c, s.h, s.w, 1)
			}
		})
		b.Run(fmt.Sprintf("%dx%dx%d/go", s.c, s.h, s.w), func(b *testing.B) {
			for b.Loop() {
				maxPool2Go(y, arg, x, s.c, s.h, s.w, 1)
			}
		})
		x32, y32 := make([]float32, len(x)), make([]float32, len(y))
		for i, v := range x {
			x32[i] = float32(v)
		}
		b.Run(fmt.Sprintf("%dx%dx%d/f32", s.c, s.h, s.w), func(b *testing.B) {
			for b.Loop() {
				MaxPool2(y32, arg, x32, s.c, s.h, s.w, 1)
			}
		})
	}
}
