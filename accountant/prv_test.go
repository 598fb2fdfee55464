package accountant

import (
	"math"
	"strings"
	"testing"
)

// prvTol is the absolute tolerance against Opacus's PRV ε (the issue's
// acceptance bound). ε after n steps moves by n times any difference in the
// one-step mean, so the port integrates it with QUADPACK's QAGS exactly as
// scipy does; a more accurate integral would differ from Opacus by 2.4e-6
// at q = 0.01, σ = 1, 10,000 steps.
const prvTol = 1e-6

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

// TestPRVEdgeReference checks every finite Opacus PRV value of
// edge_cases.csv that the port computes (not the rows where Opacus's
// answer is an artefact: inf, or warnings of overflow and invalid values).
func TestPRVEdgeReference(t *testing.T) {
	n := 0
	for _, r := range refRows(t, "edge_cases.csv") {
		if r["accountant"] != "opacus_prv" || r["epsilon"] == "" || r["sample_rate"] == "" ||
			strings.Contains(r["warnings"], "overflow") || strings.Contains(r["warnings"], "invalid value") {
			continue
		}
		h := History{{NoiseMultiplier: num(t, r, "noise_multiplier"), SampleRate: num(t, r, "sample_rate"), Steps: inum(t, r, "steps")}}
		eps, err := PRV{}.Epsilon(h, num(t, r, "delta"))
		if num(t, r, "delta") < 1e-10 {
			// Below float64 resolution on this domain: refused (see float64Eps).
			if err == nil || !strings.Contains(err.Error(), "rdp accountant gives") {
				t.Errorf("%s: want a precision error naming the RDP bound, got %v, %v", r["case"], eps, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", r["case"], err)
			continue
		}
		n++
		// ε near 500 carries ~1e-6 of float64 noise in e^t: scale the bound.
		if d := math.Abs(eps - num(t, r, "epsilon")); d > prvTol*math.Max(1, eps/100) {
			t.Errorf("%s: got %v want %s", r["case"], eps, r["epsilon"])
		}
	}
	if n < 5 {
		t.Fatalf("only %d edge rows checked", n)
	}
}

func TestPRVFamous(t *testing.T) {
	for _, r := range refRows(t, "famous.csv") {
		if r["prv_epsilon"] == "" {
			continue
		}
		h := History{{NoiseMultiplier: num(t, r, "noise_multiplier"), SampleRate: num(t, r, "sample_rate"), Steps: inum(t, r, "steps")}}
		b, err := PRV{}.Bounds(h, num(t, r, "delta"))
		if err != nil {
			t.Errorf("%s: %v", r["name"], err)
			continue
		}
		if d := math.Abs(b.Upper - num(t, r, "prv_epsilon")); d > prvTol {
			t.Errorf("%s: upper %v want %s", r["name"], b.Upper, r["prv_epsilon"])
		}
		if d := math.Abs(b.Estimate - num(t, r, "prv_eps_estimate")); d > prvTol {
			t.Errorf("%s: estimate %v want %s", r["name"], b.Estimate, r["prv_eps_estimate"])
		}
	}
}

// TestPRVCDFShortcut checks that the CDF's saturation shortcut returns what
// the formula gives beyond it, exactly.
func TestPRVCDFShortcut(t *testing.T) {
	for _, qs := range [][2]float64{{0.01, 1}, {0.004, 0.8}, {0.1, 2}, {1, 1}, {0.5, 5}, {1e-8, 1}} {
		c := newPRVCDF(qs[0], qs[1], -50, 50)
		full := *c
		full.tOne = math.Inf(1)
		if math.IsInf(c.tOne, 1) {
			t.Fatalf("q=%v σ=%v: no shortcut point", qs[0], qs[1])
		}
		for k := 0; k < 2000; k++ {
			x := c.tOne - 1 + float64(k)*0.01
			if a, b := c.raw(x), full.raw(x); a != b {
				t.Fatalf("q=%v σ=%v t=%v: shortcut %v, formula %v", qs[0], qs[1], x, a, b)
			}
		}
	}
}
