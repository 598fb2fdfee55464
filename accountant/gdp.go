package accountant

import (
	"errors"
	"fmt"
	"math"

	"github.com/dpmpi/dpmpi/accountant/internal/special"
)

// GDP is the Gaussian-DP accountant of Opacus (GaussianAccountant), based on
// the central limit theorem of Dong, Roth and Su / Bu et al. It is an
// approximation that can underestimate ε for small q; prefer PRV or RDP.
// It accepts only a history with a single (σ, q) pair.
type GDP struct {
	// Uniform selects the formula for uniform (fixed-size) sampling instead
	// of Poisson sampling (Opacus's poisson=False).
	Uniform bool
}

// Name returns "gdp".
func (GDP) Name() string { return "gdp" }

// Mu returns the GDP parameter μ of steps steps with noise multiplier sigma
// and sampling rate q:
//
//	Poisson: μ = √(e^{1/σ²} − 1)·√T·q
//	uniform: μ = √2·q·√T·√(e^{1/σ²}·Φ(1.5/σ) + 3·Φ(−0.5/σ) − 2)
func (g GDP) Mu(sigma, q float64, steps int) float64 {
	t := float64(steps)
	if g.Uniform {
		c := q * math.Sqrt(t)
		return math.Sqrt2 * c * math.Sqrt(math.Exp(math.Pow(sigma, -2))*special.NormCDF(1.5/sigma)+3*special.NormCDF(-0.5/sigma)-2)
	}
	return math.Sqrt(math.Exp(math.Pow(sigma, -2))-1) * math.Sqrt(t) * q
}

// gdpDelta is δ(ε) of μ-GDP: Φ(−ε/μ + μ/2) − e^ε·Φ(−ε/μ − μ/2).
func gdpDelta(eps, mu float64) float64 {
	return special.NormCDF(-eps/mu+mu/2) - math.Exp(eps)*special.NormCDF(-eps/mu-mu/2)
}

// gdpBracket is the interval on which Opacus looks for ε.
const gdpBracket = 500.0

// Epsilon returns ε for δ: the root of δ(ε; μ) = δ in [0, 500] by Brent's
// method, as Opacus. The history must hold one (σ, q) pair. When no root
// lies in the bracket (ε above 500, or ε indistinguishable from 0 for tiny
// μ) it returns an error stating μ, where Opacus raises.
func (g GDP) Epsilon(h History, delta float64) (float64, error) {
	if err := validateDelta(delta); err != nil {
		return 0, err
	}
	if err := h.validate(); err != nil {
		return 0, err
	}
	e := h[0]
	steps := 0
	for i, x := range h {
		if x.NoiseMultiplier != e.NoiseMultiplier || x.SampleRate != e.SampleRate {
			return 0, fmt.Errorf("accountant: gdp needs one (σ, q) for the whole history; entry %d has (σ=%v, q=%v) after (σ=%v, q=%v); use rdp or prv",
				i, x.NoiseMultiplier, x.SampleRate, e.NoiseMultiplier, e.SampleRate)
		}
		steps += x.Steps
	}
	if e.NoiseMultiplier == 0 {
		if e.SampleRate == 0 || steps == 0 {
			return 0, fmt.Errorf("accountant: gdp is undefined for σ = 0 with q = 0 or no steps; use rdp")
		}
		return math.Inf(1), nil
	}
	if e.SampleRate == 0 || steps == 0 {
		return 0, nil // μ = 0: the mechanism never touched the data
	}
	mu := g.Mu(e.NoiseMultiplier, e.SampleRate, steps)
	if math.IsNaN(mu) || math.IsInf(mu, 0) {
		return 0, fmt.Errorf("accountant: gdp μ is %v for σ=%v, q=%v, %d steps (e^{1/σ²} overflows); σ is too small for gdp, use rdp",
			mu, e.NoiseMultiplier, e.SampleRate, steps)
	}
	eps, err := special.Brentq(func(x float64) float64 { return gdpDelta(x, mu) - delta }, 0, gdpBracket)
	if errors.Is(err, special.ErrNoSignChange) {
		if gdpDelta(0, mu)-delta <= 0 {
			return 0, fmt.Errorf("accountant: gdp ε is indistinguishable from 0 (μ = %.3g; δ(0) = %.3g ≤ δ = %v), "+
				"below what Opacus's bracket [0, %v] resolves; use rdp or prv for an upper bound", mu, gdpDelta(0, mu), delta, gdpBracket)
		}
		return 0, fmt.Errorf("accountant: gdp ε exceeds %v (μ = %.3g, δ(%v) = %.3g > δ = %v), the bracket Opacus searches; use rdp or prv",
			gdpBracket, mu, gdpBracket, gdpDelta(gdpBracket, mu), delta)
	}
	if err != nil {
		return 0, fmt.Errorf("accountant: gdp (μ = %v, δ = %v): %v", mu, delta, err)
	}
	return eps, nil
}
