package accountant

import (
	"math"
	"testing"
)

func TestDefaultOrders(t *testing.T) {
	o := DefaultOrders()
	if len(o) != 151 {
		t.Fatalf("len = %d, want 151", len(o))
	}
	for _, a := range o {
		if a == 11 {
			t.Fatal("order 11 must be absent, as in Opacus")
		}
	}
	if o[0] != 1.1 || o[9] != 2 || o[98] != 10.9 || o[99] != 12 || o[150] != 63 {
		t.Errorf("unexpected orders: %v %v %v %v %v", o[0], o[9], o[98], o[99], o[150])
	}
	o[0] = 99
	if DefaultOrders()[0] != 1.1 {
		t.Error("DefaultOrders returned shared storage")
	}
}

// rdpTol is the relative tolerance against Opacus at order alpha. The
// kernels reproduce Opacus's arithmetic with ports of the very glibc, scipy
// and Cephes routines it calls (libm.go, faddeeva.go, cephes.go), so the
// per-order values agree to the last bit and ε to an ulp or two; 1e-12
// leaves room for nothing else. With Go's math package instead, the
// fractional-order series (thousands of signed terms cancelling to a small
// sum) is off by up to 4e-11.
func rdpTol(alpha float64) float64 { return 1e-12 }

func TestRDPPerOrderReference(t *testing.T) {
	worst := 0.0
	for _, r := range refRows(t, "rdp_per_order.csv") {
		q, s, a := num(t, r, "sample_rate"), num(t, r, "noise_multiplier"), num(t, r, "alpha")
		want := num(t, r, "rdp_per_step")
		got := RDPPerStep(q, s, a)
		if want <= 1e-10 {
			// log A = (α−1)·R is a sum of O(1) terms cancelling to a tiny
			// value: both implementations are exact to ~1e-15 absolute.
			if math.Abs(got-want)*(a-1) > 1e-14 {
				t.Errorf("q=%v σ=%v α=%v: got %v want %v (small value)", q, s, a, got, want)
			}
			continue
		}
		e := relErr(got, want)
		worst = math.Max(worst, e)
		if e > rdpTol(a) {
			t.Errorf("q=%v σ=%v α=%v: got %v want %v (rel %.2g)", q, s, a, got, want, e)
		}
	}
	t.Logf("worst relative error above 1e-10: %.3g", worst)
}

func TestRDPEpsilonReference(t *testing.T) {
	worst := 0.0
	for _, r := range refRows(t, "rdp.csv") {
		h := History{{NoiseMultiplier: num(t, r, "noise_multiplier"), SampleRate: num(t, r, "sample_rate"), Steps: inum(t, r, "steps")}}
		eps, alpha, err := RDP{}.EpsilonAlpha(h, num(t, r, "delta"))
		if err != nil {
			t.Errorf("%v: %v", h, err)
			continue
		}
		want := num(t, r, "epsilon")
		e := relErr(eps, want)
		worst = math.Max(worst, e)
		if e > rdpTol(alpha) || alpha != num(t, r, "best_alpha") {
			t.Errorf("%v: got (%v, α=%v) want (%v, α=%v) rel %.2g", h, eps, alpha, want, r["best_alpha"], e)
		}
	}
	t.Logf("worst relative error: %.3g", worst)
}

func TestRDPFamousAndHetero(t *testing.T) {
	for _, r := range refRows(t, "famous.csv") {
		h := History{{NoiseMultiplier: num(t, r, "noise_multiplier"), SampleRate: num(t, r, "sample_rate"), Steps: inum(t, r, "steps")}}
		eps, alpha, err := RDP{}.EpsilonAlpha(h, num(t, r, "delta"))
		if err != nil {
			t.Fatal(err)
		}
		if e := relErr(eps, num(t, r, "rdp_epsilon")); e > rdpTol(alpha) || alpha != num(t, r, "rdp_best_alpha") {
			t.Errorf("%s: got %v α=%v want %s α=%s", r["name"], eps, alpha, r["rdp_epsilon"], r["rdp_best_alpha"])
		}
		// The classic conversion min_α R(α) − log δ/(α−1) reproduces the
		// published numbers; it checks the kernel against the literature.
		tot, _ := RDP{}.Total(h)
		classic := math.Inf(1)
		for k, a := range DefaultOrders() {
			classic = math.Min(classic, tot[k]-math.Log(num(t, r, "delta"))/(a-1))
		}
		if e := relErr(classic, num(t, r, "rdp_epsilon_classic_conversion")); e > rdpTol(0.5) {
			t.Errorf("%s classic conversion: got %v want %s", r["name"], classic, r["rdp_epsilon_classic_conversion"])
		}
	}
	for _, r := range refRows(t, "hetero.csv") {
		if r["accountant"] != "opacus_rdp" {
			continue
		}
		h, err := ParseHistory(r["history_sigma:q:steps"])
		if err != nil {
			t.Fatal(err)
		}
		eps, alpha, err := RDP{}.EpsilonAlpha(h, num(t, r, "delta"))
		if err != nil {
			t.Fatal(err)
		}
		if e := relErr(eps, num(t, r, "epsilon")); e > rdpTol(alpha) || (r["best_alpha"] != "" && alpha != num(t, r, "best_alpha")) {
			t.Errorf("%s %v: got %v α=%v want %s α=%s", r["case"], h, eps, alpha, r["epsilon"], r["best_alpha"])
		}
	}
}

func TestRDPOpacusVectors(t *testing.T) {
	// From Opacus's tests and docstring (opacus-semantics §5.5).
	h := History{{NoiseMultiplier: 1.5, SampleRate: 0.04, Steps: 2250}}
	if eps, _ := (RDP{}).Epsilon(h, 1e-5); math.Abs(eps-7.32911117143) > 1e-10 {
		t.Errorf("Opacus test vector: %v, want 7.32911117143", eps)
	}
	var orders []float64
	for a := 2; a <= 32; a++ {
		orders = append(orders, float64(a))
	}
	h = History{{NoiseMultiplier: 1.0, SampleRate: 1e-5, Steps: 10}, {NoiseMultiplier: 3.0, SampleRate: 1e-4, Steps: 4}}
	eps, alpha, err := RDP{Orders: orders}.EpsilonAlpha(h, 1e-5)
	if err != nil || math.Abs(eps-0.336) > 5e-4 || alpha != 23 {
		t.Errorf("docstring example: (%v, %v, %v), want (0.336, 23)", eps, alpha, err)
	}
}

func TestRDPEdgeCases(t *testing.T) {
	for _, r := range refRows(t, "edge_cases.csv") {
		if r["accountant"] != "opacus_rdp" || r["sample_rate"] == "" {
			continue
		}
		d := num(t, r, "delta")
		h := History{{NoiseMultiplier: num(t, r, "noise_multiplier"), SampleRate: num(t, r, "sample_rate"), Steps: inum(t, r, "steps")}}
		eps, alpha, err := RDP{}.EpsilonAlpha(h, d)
		if d <= 0 || d >= 1 {
			if err == nil {
				t.Errorf("%s: δ=%v accepted", r["case"], d)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", r["case"], err)
			continue
		}
		want := num(t, r, "epsilon")
		if !(eps == want || relErr(eps, want) <= 1e-12) || alpha != num(t, r, "best_alpha") {
			t.Errorf("%s: got (%v, %v) want (%v, %s)", r["case"], eps, alpha, want, r["best_alpha"])
		}
	}
}

func TestRDPBadInput(t *testing.T) {
	good := History{{NoiseMultiplier: 1, SampleRate: 0.01, Steps: 10}}
	cases := []struct {
		name  string
		h     History
		delta float64
	}{
		{"empty history", nil, 1e-5},
		{"δ = 0", good, 0},
		{"δ = 1", good, 1},
		{"δ NaN", good, math.NaN()},
		{"q > 1", History{{1, 1.5, 10}}, 1e-5},
		{"q < 0", History{{1, -0.1, 10}}, 1e-5},
		{"σ < 0", History{{-1, 0.1, 10}}, 1e-5},
		{"σ NaN", History{{math.NaN(), 0.1, 10}}, 1e-5},
		{"steps < 0", History{{1, 0.1, -1}}, 1e-5},
	}
	for _, c := range cases {
		for _, m := range []Mechanism{RDP{}, PRV{}, GDP{}} {
			if eps, err := m.Epsilon(c.h, c.delta); err == nil {
				t.Errorf("%s %s: no error (ε = %v)", m.Name(), c.name, eps)
			}
		}
	}
	if _, err := (RDP{Orders: []float64{0.5, 2}}).Epsilon(good, 1e-5); err == nil {
		t.Error("order 0.5 accepted")
	}
}
