package fft

import (
	"math"
	"math/bits"
	"math/cmplx"
	"math/rand/v2"
	"testing"
)

// naiveDFT is the O(n²) definition.
func naiveDFT(x []complex128, sign float64) []complex128 {
	n := len(x)
	out := make([]complex128, n)
	for k := range out {
		for j, v := range x {
			out[k] += v * cmplx.Exp(complex(0, sign*2*math.Pi*float64(j*k%n)/float64(n)))
		}
	}
	return out
}

func TestDFTMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 6, 17, 97, 2 * 101, 360, 1021} {
		x := make([]complex128, n)
		for i := range x {
			x[i] = complex(rng.NormFloat64(), rng.NormFloat64())
		}
		want := naiveDFT(x, -1)
		got := append([]complex128(nil), x...)
		d := newDFT(n)
		d.forward(got)
		for k := range got {
			if cmplx.Abs(got[k]-want[k]) > 1e-9*float64(n) {
				t.Fatalf("n=%d k=%d: got %v want %v", n, k, got[k], want[k])
			}
		}
		d.inverse(got)
		for k := range got {
			if cmplx.Abs(got[k]/complex(float64(n), 0)-x[k]) > 1e-12 {
				t.Fatalf("n=%d: inverse(forward(x)) ≠ n·x at %d", n, k)
			}
		}
	}
}

func TestRFFTAndConvolveSame(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{2, 8, 2 * 97, 2 * 389} {
		x := make([]float64, n)
		cx := make([]complex128, n)
		for i := range x {
			x[i] = rng.Float64()
			cx[i] = complex(x[i], 0)
		}
		want := naiveDFT(cx, -1)
		r := NewRFFT(n)
		c := make([]complex128, n/2+1)
		r.Forward(c, x)
		for k := range c {
			if cmplx.Abs(c[k]-want[k]) > 1e-10*float64(n) {
				t.Fatalf("RFFT n=%d k=%d: %v vs %v", n, k, c[k], want[k])
			}
		}
		back := make([]float64, n)
		r.Inverse(back, c)
		for i := range x {
			if math.Abs(back[i]-x[i]) > 1e-12 {
				t.Fatalf("irfft n=%d i=%d: %v vs %v", n, i, back[i], x[i])
			}
		}
		y := make([]float64, n)
		for i := range y {
			y[i] = rng.Float64()
		}
		got := ConvolveSame(x, y)
		k0 := (n - 1) / 2
		for j := range got {
			s := 0.0
			for i := range x {
				if l := k0 + j - i; l >= 0 && l < n {
					s += x[i] * y[l]
				}
			}
			if math.Abs(got[j]-s) > 1e-10*float64(n) {
				t.Fatalf("ConvolveSame n=%d j=%d: %v vs %v", n, j, got[j], s)
			}
		}
	}
}

func TestFFT2RoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{2, 4, 8, 32, 64, 1 << 13, 1 << 14} {
		x := make([]complex128, n)
		for i := range x {
			x[i] = complex(rng.NormFloat64(), rng.NormFloat64())
		}
		f := newFFT2(n)
		y := append([]complex128(nil), x...)
		f.forward(y)
		if n <= 64 {
			want := naiveDFT(x, -1)
			for k := range want {
				r := bits.Reverse(uint(k)) >> (bits.UintSize - bits.Len(uint(n-1)))
				if cmplx.Abs(y[r]-want[k]) > 1e-10*float64(n) {
					t.Fatalf("n=%d k=%d: %v vs %v", n, k, y[r], want[k])
				}
			}
		}
		f.inverse(y)
		for i := range x {
			if cmplx.Abs(y[i]/complex(float64(n), 0)-x[i]) > 1e-12 {
				t.Fatalf("n=%d: round trip off at %d", n, i)
			}
		}
	}
}

func TestFFT2Twiddles(t *testing.T) {
	for _, n := range []int{4, 8, 16, 1 << 12, 1 << 17} {
		for _, st := range newFFT2(n).stages {
			for k := 0; k < len(st.tw)/3; k++ {
				for m := 1; m <= 3; m++ {
					want := cmplx.Exp(complex(0, -2*math.Pi*float64(m*k)/float64(st.size)))
					if d := cmplx.Abs(st.tw[3*k+m-1] - want); d > 1e-15 {
						t.Fatalf("n=%d stage %d k=%d m=%d: %v want %v", n, st.size, k, m, st.tw[3*k+m-1], want)
					}
				}
			}
		}
	}
}

func TestRootTable(t *testing.T) {
	for _, n := range []int{2, 6, 1000, 776726, 1 << 20} {
		rt := NewRootTable(n)
		// Against the directly reduced root: the product of two costs ≤ 2 ulp.
		for r := 0; r < n; r += max(1, n/9973) {
			if d := cmplx.Abs(rt.At(r) - unitRoot(r, n)); d > 4.5e-16 {
				t.Fatalf("n=%d r=%d: table %v, root %v", n, r, rt.At(r), unitRoot(r, n))
			}
		}
		for _, r := range []int{0, 1, n / 3, n / 2, n - 1, 12345 % n, n / 7 * 5} {
			s, c := math.Sincos(2 * math.Pi * float64(r) / float64(n))
			if d := cmplx.Abs(rt.At(r) - complex(c, -s)); d > 1e-15 {
				t.Errorf("n=%d r=%d: off by %.3g", n, r, d)
			}
		}
	}
}

// TestLowDFT checks the chirp-z transform of a windowed real sequence
// against the definition, for windows at odd and even offsets, touching
// either end, and K up to just below n/4.
func TestLowDFT(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, c := range []struct{ n, lo, w, K int }{
		{2, 0, 1, 0}, {8, 3, 4, 1}, {64, 0, 64, 15}, {64, 60, 4, 15}, {1000, 501, 37, 3},
		{1000, 0, 999, 200}, {4098, 1234, 777, 1000}, {2 * 3733, 2000, 3000, 100}} {
		x := make([]float64, c.w)
		for i := range x {
			x[i] = rng.Float64()
		}
		got := make([]complex128, c.K+1)
		LowDFT(got, x, c.lo, c.n, NewRootTable(c.n))
		for k := range got {
			var want complex128
			for i, v := range x {
				l := c.lo + i
				s, co := math.Sincos(2 * math.Pi * float64(l*k%c.n) / float64(c.n))
				want += complex(v*co, -v*s)
			}
			if d := cmplx.Abs(got[k] - want); d > 1e-13*float64(c.w) {
				t.Fatalf("%+v k=%d: %v want %v (off %.3g)", c, k, got[k], want, d)
			}
		}
	}
}
