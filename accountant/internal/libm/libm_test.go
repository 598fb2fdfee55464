package libm

import (
	"math"
	"testing"
)

// The ports are checked bit for bit against Python's math module on the
// reference machine by package special's TestSpecialVectors; these are the
// special values.
func TestEdgeCases(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	cases := []struct {
		name      string
		got, want float64
	}{
		{"exp(0)", Exp(0), 1},
		{"exp(-Inf)", Exp(-inf), 0},
		{"exp(Inf)", Exp(inf), inf},
		{"exp(1000)", Exp(1000), inf},
		{"exp(-1000)", Exp(-1000), 0},
		{"log(1)", Log(1), 0},
		{"log(0)", Log(0), -inf},
		{"log(Inf)", Log(inf), inf},
		{"log(-1)", Log(-1), nan},
		{"log(0.5)", Log(0.5), -math.Ln2},
		{"log(2)", Log(2), math.Ln2},
		{"log1p(-1)", Log1p(-1), -inf},
		{"log1p(-2)", Log1p(-2), nan},
		{"log1p(Inf)", Log1p(inf), inf},
		{"expm1(Inf)", Expm1(inf), inf},
		{"expm1(-Inf)", Expm1(-inf), -1},
		{"expm1(710)", Expm1(710), inf},
		{"pow(x, 0)", Pow(3, 0), 1},
		{"pow(0, 2)", Pow(0, 2), 0},
		{"pow(-2, 3)", Pow(-2, 3), -8},
		{"pow(-2, 0.5)", Pow(-2, 0.5), nan},
		{"pow(2, 0.5)", Pow(2, 0.5), math.Sqrt2},
		{"sin(3)", Sin(3), nan}, // outside the ported range
	}
	for _, c := range cases {
		if math.Float64bits(c.got) != math.Float64bits(c.want) && !(math.IsNaN(c.got) && math.IsNaN(c.want)) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}
