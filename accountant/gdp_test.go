package accountant

import (
	"math"
	"testing"
)

func TestGDPReference(t *testing.T) {
	for _, r := range refRows(t, "gdp.csv") {
		h := History{{NoiseMultiplier: num(t, r, "noise_multiplier"), SampleRate: num(t, r, "sample_rate"), Steps: inum(t, r, "steps")}}
		for _, c := range []struct {
			g   GDP
			col string
		}{{GDP{}, "epsilon_poisson"}, {GDP{Uniform: true}, "epsilon_uniform"}} {
			eps, err := c.g.Epsilon(h, num(t, r, "delta"))
			if err != nil {
				t.Errorf("%v %s: %v", h, c.col, err)
				continue
			}
			if want := num(t, r, c.col); math.Abs(eps-want) > 1e-9 {
				t.Errorf("%v %s: got %v want %v", h, c.col, eps, want)
			}
		}
	}
	for _, r := range refRows(t, "famous.csv") {
		h := History{{NoiseMultiplier: num(t, r, "noise_multiplier"), SampleRate: num(t, r, "sample_rate"), Steps: inum(t, r, "steps")}}
		eps, err := GDP{}.Epsilon(h, num(t, r, "delta"))
		if want := num(t, r, "gdp_epsilon_poisson"); err != nil || math.Abs(eps-want) > 1e-9 {
			t.Errorf("%s: got %v, %v want %v", r["name"], eps, err, want)
		}
	}
}

func TestGDPVectorsAndLimits(t *testing.T) {
	g := GDP{}
	if mu := g.Mu(1, 0.01, 1000); math.Abs(mu-0.4145216313365378) > 1e-15 {
		t.Errorf("μ Poisson = %v", mu)
	}
	if mu := (GDP{Uniform: true}).Mu(1, 0.01, 1000); math.Abs(mu-0.5407945346280163) > 1e-15 {
		t.Errorf("μ uniform = %v", mu)
	}
	eps, err := g.Epsilon(History{{1.5, 0.04, 2249}}, 1e-5)
	if err != nil || eps <= 6.59 || eps >= 6.6 {
		t.Errorf("Opacus test: %v %v", eps, err)
	}
	// Opacus raises for these (edge_cases.csv): ε > 500 and ε ≈ 0.
	for _, h := range []History{{{0.5, 1, 100000}}, {{1e6, 0.01, 1000}}, {{1, 1e-8, 1000}}} {
		if eps, err := g.Epsilon(h, 1e-5); err == nil {
			t.Errorf("%v: want an error, got %v", h, eps)
		}
	}
	if _, err := g.Epsilon(History{{1, 0.01, 10}, {2, 0.01, 10}}, 1e-5); err == nil {
		t.Error("two (σ, q) pairs accepted by gdp")
	}
}
