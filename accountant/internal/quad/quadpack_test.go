package quad

import (
	"math"
	"testing"
)

func TestQAGS(t *testing.T) {
	cases := []struct {
		name string
		f    func(float64) float64
		a, b float64
		want float64
		tol  float64
	}{
		{"x² on [0, 1]", func(x float64) float64 { return x * x }, 0, 1, 1.0 / 3, 1e-15},
		{"sin on [0, π]", math.Sin, 0, math.Pi, 2, 1e-14},
		{"reversed bounds", func(x float64) float64 { return x }, 1, 0, -0.5, 1e-15},
		{"1/√x on [0, 1] (end-point singularity)", func(x float64) float64 { return 1 / math.Sqrt(x) }, 0, 1, 2, 1e-10},
		{"log x on [0, 1]", math.Log, 0, 1, -1, 1e-10},
		{"step at 0.3", func(x float64) float64 {
			if x < 0.3 {
				return 0
			}
			return 1
		}, 0, 1, 0.7, 1e-8},
	}
	w := NewWorkspace(50)
	for _, c := range cases {
		got := w.QAGS(c.f, c.a, c.b, 1.49e-8, 1.49e-8)
		if math.Abs(got-c.want) > c.tol {
			t.Errorf("%s: QAGS = %v, want %v (±%g)", c.name, got, c.want, c.tol)
		}
		// The workspace is cleared between integrals: a second call agrees.
		if again := w.QAGS(c.f, c.a, c.b, 1.49e-8, 1.49e-8); math.Float64bits(again) != math.Float64bits(got) {
			t.Errorf("%s: second call %v, first %v", c.name, again, got)
		}
	}
}
