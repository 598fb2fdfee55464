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
