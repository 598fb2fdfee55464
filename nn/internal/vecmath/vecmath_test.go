package vecmath

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestIm2col compares Im2col with gatherGo position by position.
func TestIm2col(t *testing.T) {
	tests := []struct{ k, chans, h, w, s int }{
		{4, 16, 13, 13, 2}, {4, 3, 9, 7, 1}, {8, 1, 34, 34, 2}, {8, 2, 11, 10, 3}, {3, 2, 9, 8, 2}, {2, 3, 7, 7, 1},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, tt := range tests {
		ho, wo := (tt.h-tt.k)/tt.s+1, (tt.w-tt.k)/tt.s+1
		hw := tt.h * tt.w
		xp := make([]float64, tt.chans*hw)
		for i := range xp {
			xp[i] = r.NormFloat64()
		}
		kk := tt.chans * tt.k * tt.k
		got := make([]float64, ho*wo*kk)
		Im2col(got, xp, tt.k, tt.chans, hw, tt.w, tt.s, ho, wo)
		want := make([]float64, len(got))
		for oh := 0; oh < ho; oh++ {
			for ow := 0; ow < wo; ow++ {
				p := oh*wo + ow
				gatherGo(want[p*kk:(p+1)*kk], xp[oh*tt.s*tt.w+ow*tt.s:], tt.k, tt.chans, tt.w, hw)
			}
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%+v: u[%d] = %v, want %v", tt, i, got[i], want[i])
			}
		}
	}
}

// TestCol2im compares Col2im and scatterGo bit for bit with a scalar loop
// over rows, channels, kernel rows and runs, in that order, on values of
// very different magnitudes (so that another order of the additions would
// round differently) added to an image that is not zero, with overlapping
// fields (s < k) and without.
func TestCol2im(t *testing.T) {
	tests := []struct{ k, chans, h, w, s int }{
		{4, 16, 13, 13, 2}, {4, 3, 9, 7, 1}, {4, 2, 8, 8, 4}, {8, 1, 34, 34, 2}, {8, 2, 11, 10, 3},
	}
	r := rand.New(rand.NewPCG(5, 6))
	for _, tt := range tests {
		ho, wo := (tt.h-tt.k)/tt.s+1, (tt.w-tt.k)/tt.s+1
		hw, kk := tt.h*tt.w, tt.chans*tt.k*tt.k
		u := make([]float64, ho*wo*kk)
		for i := range u {
			u[i] = r.NormFloat64() * math.Pow(2, float64(r.IntN(60)-30))
		}
		x0 := make([]float64, tt.chans*hw)
		for i := range x0 {
			x0[i] = r.NormFloat64()
		}
		want := append([]float64(nil), x0...)
		for p := 0; p < ho*wo; p++ {
			oh, ow := p/wo, p%wo
			for c := 0; c < tt.chans; c++ {
				for a := 0; a < tt.k; a++ {
					for b := 0; b < tt.k; b++ {
						want[c*hw+(oh*tt.s+a)*tt.w+ow*tt.s+b] += u[p*kk+(c*tt.k+a)*tt.k+b]
					}
				}
			}
		}
		got := append([]float64(nil), x0...)
		Col2im(got, u, tt.k, tt.chans, hw, tt.w, tt.s, ho, wo)
		goGot := append([]float64(nil), x0...)
		for p := 0; p < ho*wo; p++ {
			oh, ow := p/wo, p%wo
			scatterGo(goGot[oh*tt.s*tt.w+ow*tt.s:], u[p*kk:(p+1)*kk], tt.k, tt.chans, tt.w, hw)
		}
		for i := range want {
			if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
				t.Fatalf("%+v: Col2im: x[%d] = %v, want %v", tt, i, got[i], want[i])
			}
			if math.Float64bits(goGot[i]) != math.Float64bits(want[i]) {
				t.Fatalf("%+v: scatterGo: x[%d] = %v, want %v", tt, i, goGot[i], want[i])
			}
		}
	}
}

// TestCol2imPanics checks that Col2im refuses a kernel size without a
// kernel and slices too short for the shape.
func TestCol2imPanics(t *testing.T) {
	xp, u := make([]float64, 16*13*13), make([]float64, 25*16*16)
	tests := []panicCase{
		{"k = 0", func() { Col2im(xp, u, 0, 16, 169, 13, 2, 5, 5) }},
		{"short u", func() { Col2im(xp, u[:len(u)-1], 4, 16, 169, 13, 2, 5, 5) }},
		{"short xp", func() { Col2im(xp[:15*169+11*13+12-1], u, 4, 16, 169, 13, 2, 5, 5) }},
	}
	checkPanics(t, tests)
}

// BenchmarkCol2im times Col2im on one sample of the benchmark CNN's second
// convolution (16 channels of 13×13, k = 4, stride 2) per op.
func BenchmarkCol2im(b *testing.B) {
	xp, u := make([]float64, 16*13*13), make([]float64, 25*16*16)
	for i := range u {
		u[i] = float64(i%7) - 3
	}
	for b.Loop() {
		Col2im(xp, u, 4, 16, 169, 13, 2, 5, 5)
	}
}

// BenchmarkCol2im32 and BenchmarkIm2col32 time Col2im and Im2col in
// float32 on the sample of BenchmarkCol2im, and Im2col in float64 beside
// them (package nn times the float64 Im2col on its own buffers).
func BenchmarkCol2im32(b *testing.B) {
	xp, u := make([]float32, 16*13*13), make([]float32, 25*16*16)
	for i := range u {
		u[i] = float32(i%7) - 3
	}
	for b.Loop() {
		Col2im(xp, u, 4, 16, 169, 13, 2, 5, 5)
	}
}

func BenchmarkIm2col32(b *testing.B) {
	b.Run("f64", func(b *testing.B) {
		xp, u := make([]float64, 16*13*13), make([]float64, 25*16*16)
		for b.Loop() {
			Im2col(u, xp, 4, 16, 169, 13, 2, 5, 5)
		}
	})
	b.Run("f32", func(b *testing.B) {
		xp, u := make([]float32, 16*13*13), make([]float32, 25*16*16)
		for b.Loop() {
			Im2col(u, xp, 4, 16, 169, 13, 2, 5, 5)
		}
	})
	b.Run("f32go", func(b *testing.B) {
		xp, u := make([]float32, 16*13*13), make([]float32, 25*16*16)
		for b.Loop() {
			for r := 0; r < 25; r++ {
				oh, ow := r/5, r%5
				gatherGo(u[r*256:(r+1)*256], xp[oh*2*13+ow*2:], 4, 16, 13, 169)
			}
		}
	})
}

// panicCase is a call that must panic (a programmer error such as a short
// slice), with a name for the report.
type panicCase struct {
	name string
	f    func()
}

// checkPanics runs every case and reports those that return normally.
func checkPanics(t *testing.T, cases []panicCase) {
	t.Helper()
	for _, c := range cases {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", c.name)
				}
			}()
			c.f()
		}()
	}
}
