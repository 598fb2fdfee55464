package accountant

import (
	"fmt"
	"math"
)

// MaxNoiseMultiplier is the σ above which Calibrate gives up, as Opacus's
// MAX_SIGMA. Because the check follows the evaluation, the largest σ
// actually tried is 655,360 = 10·2¹⁶.
const MaxNoiseMultiplier = 1e6

// DefaultEpsilonTolerance is Opacus's default epsilon_tolerance.
const DefaultEpsilonTolerance = 0.01

// StepsForEpochs returns the number of steps of epochs epochs at sampling
// rate q, truncated as Opacus does: int(epochs / q). Float rounding matters:
// 90 epochs at q = 0.04 give 2250 steps.
func StepsForEpochs(epochs, q float64) (int, error) {
	if err := validateRate(q); err != nil {
		return 0, err
	}
	if q == 0 {
		return 0, fmt.Errorf("accountant: sample rate q is 0; epochs cannot be converted to steps")
	}
	if math.IsNaN(epochs) || epochs < 0 || math.IsInf(epochs, 0) {
		return 0, fmt.Errorf("accountant: epochs is %v; it must be finite and ≥ 0", epochs)
	}
	s := epochs / q
	if s > math.MaxInt64/2 {
		return 0, fmt.Errorf("accountant: %v epochs at q = %v is %v steps, too many", epochs, q, s)
	}
	return int(s), nil
}

// Calibration is the request of Calibrate: the target (ε, δ), the sampling
// rate and the number of steps.
type Calibration struct {
	TargetEpsilon float64
	Delta         float64
	SampleRate    float64
	Steps         int
	// Prior is what the same data have already spent before the steps being
	// calibrated (earlier training, a private statistic of the data); the
	// target then bounds ε of Prior followed by the steps. Empty: nothing.
	Prior History
	// Tolerance is how far below the target the returned σ's ε may be;
	// 0 means DefaultEpsilonTolerance.
	Tolerance float64
}

// Calibrate returns the noise multiplier that spends at most TargetEpsilon
// in Steps steps at rate SampleRate, as Opacus's get_noise_multiplier: σ is
// doubled from 20 until ε(σ) ≤ target, then bisected on [0, σ_high] until
// target − ε(σ_high) ≤ tolerance, and σ_high is returned. The probe sequence
// is Opacus's, so the same σ comes out (a dyadic fraction of 20). It also
// returns ε at that σ.
func Calibrate(m Mechanism, c Calibration) (sigma, eps float64, err error) {
	tol := c.Tolerance
	if tol == 0 {
		tol = DefaultEpsilonTolerance
	}
	switch {
	case math.IsNaN(c.TargetEpsilon) || c.TargetEpsilon <= 0 || math.IsInf(c.TargetEpsilon, 0):
		return 0, 0, fmt.Errorf("accountant: target ε is %v; it must be finite and > 0", c.TargetEpsilon)
	case math.IsNaN(tol) || tol < 0:
		return 0, 0, fmt.Errorf("accountant: ε tolerance is %v; it must be > 0", tol)
	case c.Steps <= 0:
		return 0, 0, fmt.Errorf("accountant: steps is %d; calibration needs at least one step", c.Steps)
	case c.SampleRate == 0:
		return 0, 0, fmt.Errorf("accountant: sample rate q is 0; no noise is needed when no data is sampled")
	}
	if err := validateRate(c.SampleRate); err != nil {
		return 0, 0, err
	}
	if err := validateDelta(c.Delta); err != nil {
		return 0, 0, err
	}
	if len(c.Prior) > 0 {
		if err := c.Prior.validate(); err != nil {
			return 0, 0, fmt.Errorf("accountant: calibration prior: %w", err)
		}
		spent, err := m.Epsilon(c.Prior, c.Delta)
		if err != nil {
			return 0, 0, fmt.Errorf("accountant: ε of the calibration prior %v: %w", c.Prior, err)
		}
		if spent >= c.TargetEpsilon {
			return 0, 0, fmt.Errorf("accountant: the prior %v already spends ε = %v ≥ the target %v at δ = %v (%s); raise the target or spend less before", c.Prior, spent, c.TargetEpsilon, c.Delta, m.Name())
		}
	}
	h := append(append(History(nil), c.Prior...), Entry{SampleRate: c.SampleRate, Steps: c.Steps})
	last := &h[len(h)-1]
	at := func(s float64) (float64, error) {
		last.NoiseMultiplier = s
		e, err := m.Epsilon(h, c.Delta)
		if err != nil {
			return 0, fmt.Errorf("calibrating σ (probe σ = %v): %w", s, err)
		}
		return e, nil
	}
	lo, hi := 0.0, 10.0
	epsHi := math.Inf(1)
	for epsHi > c.TargetEpsilon {
		hi *= 2
		if epsHi, err = at(hi); err != nil {
			return 0, 0, err
		}
		if hi > MaxNoiseMultiplier {
			return 0, 0, fmt.Errorf("accountant: no noise multiplier up to %v reaches ε = %v at δ = %v, q = %v, %d steps "+
				"(the %s accountant gives ε = %v at σ = %v); raise the target ε or δ, or lower q or the steps",
				MaxNoiseMultiplier, c.TargetEpsilon, c.Delta, c.SampleRate, c.Steps, m.Name(), epsHi, hi)
		}
	}
	for iter := 0; c.TargetEpsilon-epsHi > tol; iter++ {
		if iter == 200 {
			return 0, 0, fmt.Errorf("accountant: bisection for σ did not bring ε within %v of %v in 200 probes (ε(%v) = %v)", tol, c.TargetEpsilon, hi, epsHi)
		}
		s := (lo + hi) / 2
		e, err := at(s)
		if err != nil {
			return 0, 0, err
		}
		if e < c.TargetEpsilon {
			hi, epsHi = s, e
		} else {
			lo = s
		}
	}
	return hi, epsHi, nil
}
