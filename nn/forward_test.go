package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestConvForwardDirect compares Conv2d's im2col forward pass with the
// definition of a zero-padded cross-correlation.
func TestConvForwardDirect(t *testing.T) {
	cases := []struct{ cin, cout, h, w, k, s, p int }{
		{1, 16, 28, 28, 8, 2, 3},
		{16, 4, 13, 13, 4, 2, 0},
		{3, 2, 5, 7, 3, 1, 1},
		{2, 3, 6, 5, 2, 3, 2},
		{1, 1, 3, 3, 5, 1, 2},
	}
	for _, tc := range cases {
		const n = 3
		s, err := NewSequential[float64]([]int{tc.cin, tc.h, tc.w}, NewConv2d[float64](tc.cin, tc.cout, tc.k, tc.s, tc.p))
		if err != nil {
			t.Fatal(err)
		}
		a, err := s.NewArena(4)
		if err != nil {
			t.Fatal(err)
		}
		c := s.Layers()[0].(*Conv2d[float64])
		r := rand.New(rand.NewPCG(1, 1))
		x := make([]float64, n*tc.cin*tc.h*tc.w)
		for i := range x {
			x[i] = r.NormFloat64()
		}
		out := s.Forward(x, n)
		ho := (tc.h+2*tc.p-tc.k)/tc.s + 1
		wo := (tc.w+2*tc.p-tc.k)/tc.s + 1
		if len(out) != n*tc.cout*ho*wo {
			t.Fatalf("%+v: %d outputs, want %d", tc, len(out), n*tc.cout*ho*wo)
		}
		W, b := c.Weight(), c.Bias()
		if len(W)+len(b) != len(a.Params) {
			t.Fatal("weight and bias do not cover the arena layer")
		}
		for i := 0; i < n; i++ {
			for o := 0; o < tc.cout; o++ {
				for oy := 0; oy < ho; oy++ {
					for ox := 0; ox < wo; ox++ {
						want := b[o]
						for ch := 0; ch < tc.cin; ch++ {
							for ky := 0; ky < tc.k; ky++ {
								for kx := 0; kx < tc.k; kx++ {
									y, xx := oy*tc.s-tc.p+ky, ox*tc.s-tc.p+kx
									if y < 0 || y >= tc.h || xx < 0 || xx >= tc.w {
										continue
									}
									want += W[((o*tc.cin+ch)*tc.k+ky)*tc.k+kx] * x[((i*tc.cin+ch)*tc.h+y)*tc.w+xx]
								}
							}
						}
						got := out[((i*tc.cout+o)*ho+oy)*wo+ox]
						if math.Abs(got-want) > 1e-12 {
							t.Fatalf("%+v: output (%d,%d,%d,%d) = %v, want %v", tc, i, o, oy, ox, got, want)
						}
					}
				}
			}
		}
	}
}

// TestPoolForwardDirect compares pooling with its definition.
func TestPoolForwardDirect(t *testing.T) {
	cases := []struct{ c, h, w, k, s int }{{2, 5, 6, 2, 1}, {3, 7, 7, 3, 2}, {1, 4, 4, 2, 2}}
	for _, tc := range cases {
		for _, isMax := range []bool{true, false} {
			var l Layer[float64] = NewAvgPool2d[float64](tc.k, tc.s)
			if isMax {
				l = NewMaxPool2d[float64](tc.k, tc.s)
			}
			if _, err := l.setup([]int{tc.c, tc.h, tc.w}); err != nil {
				t.Fatal(err)
			}
			ho, wo := (tc.h-tc.k)/tc.s+1, (tc.w-tc.k)/tc.s+1
			r := rand.New(rand.NewPCG(2, 2))
			const n = 2
			x := make([]float64, n*tc.c*tc.h*tc.w)
			for i := range x {
				x[i] = r.NormFloat64()
			}
			y := make([]float64, n*tc.c*ho*wo)
			l.forward(x, y, n)
			for i := 0; i < n*tc.c; i++ {
				for oy := 0; oy < ho; oy++ {
					for ox := 0; ox < wo; ox++ {
						want, sum := math.Inf(-1), 0.0
						for a := 0; a < tc.k; a++ {
							for b := 0; b < tc.k; b++ {
								v := x[(i*tc.h+oy*tc.s+a)*tc.w+ox*tc.s+b]
								want = math.Max(want, v)
								sum += v
							}
						}
						if !isMax {
							want = sum / float64(tc.k*tc.k)
						}
						if got := y[(i*ho+oy)*wo+ox]; math.Abs(got-want) > 1e-15 {
							t.Fatalf("%+v max=%v: output %d,%d,%d = %v, want %v", tc, isMax, i, oy, ox, got, want)
						}
					}
				}
			}
		}
	}
}

// TestLinearForwardDirect compares Linear with y = Wx + b.
func TestLinearForwardDirect(t *testing.T) {
	s, err := NewSequential[float64]([]int{3}, NewLinear[float64](3, 2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.NewArena(1); err != nil {
		t.Fatal(err)
	}
	l := s.Layers()[0].(*Linear[float64])
	copy(l.Weight(), []float64{1, 2, 3, -1, 0, 2})
	copy(l.Bias(), []float64{0.5, -0.5})
	out := s.Forward([]float64{1, 1, 1, 2, 0, -1}, 2)
	want := []float64{6.5, 0.5, -0.5, -4.5}
	for i := range want {
		if out[i] != want[i] {
			t.Fatalf("outputs %v, want %v", out, want)
		}
	}
}

// TestMaxPoolNaNAndTies checks that a NaN in a window is the window's
// maximum, and that with ties the gradient goes to the first maximum in
// row-major order, as in PyTorch.
func TestMaxPoolNaNAndTies(t *testing.T) {
	l := NewMaxPool2d[float64](2, 2)
	if _, err := l.setup([]int{1, 2, 4}); err != nil {
		t.Fatal(err)
	}
	x := []float64{1, 1, 0, math.NaN(), 1, 1, 5, 2}
	y := make([]float64, 2)
	l.forward(x, y, 1)
	if y[0] != 1 || !math.IsNaN(y[1]) {
		t.Fatalf("outputs %v, want [1 NaN]", y)
	}
	dx := make([]float64, 8)
	l.backward(x, y, []float64{3, 4}, dx, 1)
	want := []float64{3, 0, 0, 4, 0, 0, 0, 0}
	for i := range want {
		if dx[i] != want[i] {
			t.Fatalf("input gradient %v, want %v", dx, want)
		}
	}
}

// TestReLUNaN checks that ReLU passes a NaN on, as PyTorch does, rather
// than hiding it as a 0, maps −0, negatives and −Inf to +0, and that its
// gradient is 0 where the output is not positive (NaN included).
func TestReLUNaN(t *testing.T) {
	l := ReLU[float64]()
	x := []float64{math.NaN(), math.Copysign(0, -1), -2, math.Inf(-1), 3, math.Inf(1)}
	y := make([]float64, len(x))
	l.forward(x, y, 1)
	if !math.IsNaN(y[0]) {
		t.Errorf("ReLU(NaN) = %v, want NaN", y[0])
	}
	for i, want := range []float64{0, 0, 0, 3, math.Inf(1)} {
		if got := y[i+1]; got != want || math.Signbit(got) {
			t.Errorf("ReLU(%v) = %v, want %v", x[i+1], got, want)
		}
	}
	dx := make([]float64, len(x))
	l.backward(x, y, []float64{1, 1, 1, 1, 1, 1}, dx, 1)
	for i, want := range []float64{0, 0, 0, 0, 1, 1} {
		if dx[i] != want {
			t.Errorf("ReLU gradient at %v = %v, want %v", x[i], dx[i], want)
		}
	}
}
