package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestConvCol2im compares Conv2d.col2im with its definition, the rows of dU
// added one after the other into the zero-padded input gradient, bit for
// bit, for the kernel sizes with a vector kernel (4, 8) and one without,
// with and without padding and overlapping fields.
func TestConvCol2im(t *testing.T) {
	cases := []struct{ cin, h, w, k, s, p int }{
		{16, 13, 13, 4, 2, 0},
		{3, 9, 8, 4, 1, 2},
		{1, 28, 28, 8, 2, 3},
		{2, 12, 11, 8, 3, 0},
		{3, 7, 7, 3, 2, 1},
	}
	r := rand.New(rand.NewPCG(9, 9))
	for _, tc := range cases {
		c := NewConv2d[float64](tc.cin, 2, tc.k, tc.s, tc.p)
		if _, err := c.setup([]int{tc.cin, tc.h, tc.w}); err != nil {
			t.Fatal(err)
		}
		work := c.workers()
		du := make([]float64, c.l*c.kk)
		for i := range du {
			du[i] = r.NormFloat64() * math.Pow(2, float64(r.IntN(40)-20))
		}
		hp, wp := tc.h+2*tc.p, tc.w+2*tc.p
		padded := make([]float64, tc.cin*hp*wp)
		for pos := 0; pos < c.l; pos++ {
			oh, ow := pos/c.wo, pos%c.wo
			for ch := 0; ch < tc.cin; ch++ {
				for a := 0; a < tc.k; a++ {
					for b := 0; b < tc.k; b++ {
						padded[(ch*hp+oh*tc.s+a)*wp+ow*tc.s+b] += du[pos*c.kk+(ch*tc.k+a)*tc.k+b]
					}
				}
			}
		}
		dx := make([]float64, tc.cin*tc.h*tc.w)
		for i := range dx {
			dx[i] = math.NaN() // col2im must overwrite every value
		}
		c.col2im(du, dx, work[0].dpad)
		for ch := 0; ch < tc.cin; ch++ {
			for y := 0; y < tc.h; y++ {
				for x := 0; x < tc.w; x++ {
					got, want := dx[(ch*tc.h+y)*tc.w+x], padded[(ch*hp+y+tc.p)*wp+x+tc.p]
					if math.Float64bits(got) != math.Float64bits(want) {
						t.Fatalf("%+v: dx(%d,%d,%d) = %v, want %v", tc, ch, y, x, got, want)
					}
				}
			}
		}
	}
}
