package accountant

import (
	"math"
	"testing"
)

func TestCalibrateReference(t *testing.T) {
	ran := 0
	for _, r := range refRows(t, "noise.csv") {
		if r["accountant"] == "prv" { // TestPRVCalibrateReference
			continue
		}
		m, err := NewMechanism(r["accountant"])
		if err != nil {
			t.Fatal(err)
		}
		c := Calibration{TargetEpsilon: num(t, r, "target_epsilon"), Delta: num(t, r, "delta"),
			SampleRate: num(t, r, "sample_rate"), Steps: inum(t, r, "steps"), Tolerance: num(t, r, "epsilon_tolerance")}
		sigma, eps, err := Calibrate(m, c)
		if err != nil {
			t.Errorf("%+v: %v", c, err)
			continue
		}
		ran++
		if want := num(t, r, "noise_multiplier"); sigma != want {
			t.Errorf("%s %+v: σ = %v, want %v", r["accountant"], c, sigma, want)
		}
		if eps > c.TargetEpsilon || c.TargetEpsilon-eps > c.Tolerance {
			t.Errorf("%s %+v: ε(σ) = %v not within tolerance below target", r["accountant"], c, eps)
		}
	}
	if ran == 0 {
		t.Fatal("no calibration case ran")
	}
}

func TestCalibrateOpacusVectorsAndErrors(t *testing.T) {
	steps, err := StepsForEpochs(90, 0.04)
	if err != nil || steps != 2250 {
		t.Fatalf("StepsForEpochs(90, 0.04) = %d, %v; want 2250 (int(90/0.04))", steps, err)
	}
	sigma, _, err := Calibrate(RDP{}, Calibration{TargetEpsilon: 8, Delta: 1e-5, SampleRate: 0.04, Steps: steps})
	if err != nil || sigma != 1.416015625 {
		t.Errorf("Opacus test: σ = %v, %v; want 1.416015625", sigma, err)
	}
	sigma, _, err = Calibrate(RDP{}, Calibration{TargetEpsilon: 8, Delta: 1e-5, SampleRate: 0.04, Steps: 2000})
	if err != nil || math.Abs(sigma-1.356201171875) != 0 {
		t.Errorf("Opacus steps=2000 test: σ = %v, %v", sigma, err)
	}
	bad := []Calibration{
		{TargetEpsilon: 0.05, Delta: 1e-5, SampleRate: 0.01, Steps: 100}, // below the RDP floor 0.1029
		{TargetEpsilon: -1, Delta: 1e-5, SampleRate: 0.01, Steps: 100},
		{TargetEpsilon: 1, Delta: 2, SampleRate: 0.01, Steps: 100},
		{TargetEpsilon: 1, Delta: 1e-5, SampleRate: 1.5, Steps: 100},
		{TargetEpsilon: 1, Delta: 1e-5, SampleRate: 0.01, Steps: 0},
	}
	for _, c := range bad {
		if s, _, err := Calibrate(RDP{}, c); err == nil {
			t.Errorf("%+v: no error (σ = %v)", c, s)
		}
	}
}

// With a prior, the calibrated σ spends what the prior leaves: ε of the prior
// followed by the steps at σ is within the tolerance below the target, the σ
// is never below the one without the prior (and above it for a prior that
// spends much: a full-data query at σ = 50 costs so little that the dyadic
// search may land on the same σ), and a prior that spends the target
// already, or an invalid one, is refused.
func TestCalibratePrior(t *testing.T) {
	base := Calibration{TargetEpsilon: 3, Delta: 1e-5, SampleRate: 0.1365, Steps: 700}
	for _, m := range []Mechanism{RDP{}, PRV{}} {
		t.Run(m.Name(), func(t *testing.T) {
			free, _, err := Calibrate(m, base)
			if err != nil {
				t.Fatal(err)
			}
			tests := []struct {
				name  string
				prior History
				above bool
			}{
				{"one full-data Gaussian query", History{{NoiseMultiplier: 50, SampleRate: 1, Steps: 1}}, false},
				{"an earlier run", History{{NoiseMultiplier: 8, SampleRate: 0.1365, Steps: 200}}, true},
			}
			for _, tt := range tests {
				c := base
				c.Prior = tt.prior
				sigma, eps, err := Calibrate(m, c)
				if err != nil {
					t.Fatalf("%s: %v", tt.name, err)
				}
				got, err := m.Epsilon(append(append(History(nil), tt.prior...), Entry{NoiseMultiplier: sigma, SampleRate: base.SampleRate, Steps: base.Steps}), base.Delta)
				if err != nil {
					t.Fatal(err)
				}
				if got != eps || eps > base.TargetEpsilon || base.TargetEpsilon-eps > DefaultEpsilonTolerance {
					t.Errorf("%s: ε(prior + %d steps at σ = %v) = %v (reported %v), want within %v below %v",
						tt.name, base.Steps, sigma, got, eps, DefaultEpsilonTolerance, base.TargetEpsilon)
				}
				if sigma < free || (tt.above && sigma == free) {
					t.Errorf("%s: σ = %v with the prior, %v without it", tt.name, sigma, free)
				}
			}
			for name, prior := range map[string]History{
				"spends the target": {{NoiseMultiplier: 0.5, SampleRate: 1, Steps: 10}},
				"invalid":           {{NoiseMultiplier: -1, SampleRate: 1, Steps: 1}},
			} {
				c := base
				c.Prior = prior
				if s, _, err := Calibrate(m, c); err == nil {
					t.Errorf("prior that %s: no error (σ = %v)", name, s)
				}
			}
		})
	}
}
