package accountant

import (
	"math"
	"testing"
)

// prvTol is the absolute tolerance against Opacus. Most rows agree to
// 1e-7; the ε of n steps moves by n times any difference in the continuous
// mean of one step, which Opacus integrates with QUADPACK at tolerance
// 1.49e-8 and this port with tighter adaptive Gauss–Legendre, so long runs
// (10,000 steps) differ by up to a few 1e-6.
const prvTol = 5e-6

func TestPRVReference(t *testing.T) {
	worst := 0.0
	for _, r := range refRows(t, "prv.csv") {
		h := History{{NoiseMultiplier: num(t, r, "noise_multiplier"), SampleRate: num(t, r, "sample_rate"), Steps: inum(t, r, "steps")}}
		b, err := PRV{}.Bounds(h, num(t, r, "delta"))
		if err != nil {
			t.Errorf("%v: %v", h, err)
			continue
		}
		if b.DomainSize != inum(t, r, "domain_size") || relErr(b.Mesh, num(t, r, "mesh_dt")) > 1e-12 {
			t.Errorf("%v: domain %d, mesh %v; want %s, %s", h, b.DomainSize, b.Mesh, r["domain_size"], r["mesh_dt"])
		}
		for _, c := range []struct {
			got float64
			col string
		}{{b.Upper, "epsilon"}, {b.Estimate, "eps_estimate"}, {b.Lower, "eps_lower"}} {
			d := math.Abs(c.got - num(t, r, c.col))
			worst = math.Max(worst, d)
			if d > prvTol {
				t.Errorf("%v %s: got %v want %s (diff %.2g)", h, c.col, c.got, r[c.col], d)
			}
		}
	}
	t.Logf("worst absolute difference: %.3g", worst)
}
