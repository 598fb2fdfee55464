package vecmath

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestIm2col compares Im2col with gatherGo position by position.
func TestIm2col(t *testing.T) {
	tests := []struct{ k, chans, h, w, s int }{
		{4, 16, 13, 13, 2}, {4, 3, 9, 7, 1}, {8, 1, 34, 34, 2}, {8, 2, 11, 10, 3},
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

// TestTanh checks Tanh against math.Tanh; nn's TestTanh64 covers it in
// depth.
func TestTanh(t *testing.T) {
	x := []float64{0, math.Copysign(0, -1), 1e-300, -0.3, 0.7, 2, -19, math.Inf(1), math.NaN()}
	y := make([]float64, len(x))
	n := Tanh(y, x)
	for i, v := range x[:n] {
		want := math.Tanh(v)
		if math.IsNaN(want) != math.IsNaN(y[i]) || !math.IsNaN(want) && math.Abs(y[i]-want) > 4e-16*math.Abs(want) || math.Signbit(y[i]) != math.Signbit(want) && !math.IsNaN(want) {
			t.Errorf("Tanh(%v) = %v, want %v", v, y[i], want)
		}
	}
}

func TestTanhGrad(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{0, 3, 4, 9, 64} {
		y, dy, dx := make([]float64, n), make([]float64, n), make([]float64, n)
		for i := range y {
			y[i], dy[i] = math.Tanh(r.NormFloat64()), r.NormFloat64()
		}
		m := TanhGrad(dx, y, dy)
		for i := 0; i < m; i++ {
			want := dy[i] * (1 - y[i]*y[i])
			if math.Abs(dx[i]-want) > 1e-15*(math.Abs(dy[i])+math.Abs(want)) {
				t.Fatalf("n=%d: dx[%d] = %v, want %v", n, i, dx[i], want)
			}
		}
	}
}
