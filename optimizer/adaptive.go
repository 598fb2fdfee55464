package optimizer

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/floats"
)

// QuantileClipping makes the clipping thresholds adaptive by private
// quantile estimation (Andrew, Thakkar, McMahan and Ramaswamy, 2021,
// "Differentially private learning with adaptive clipping"), for flat and
// per-layer clipping alike, at every world size.
//
// Each real step releases, besides the noisy gradient, one noisy count per
// threshold: the number of the step's samples whose gradient norm (of that
// layer, or over the whole model for flat clipping) is at most the
// threshold, centred as Σ_i (1[‖g_i‖ ≤ C] − ½) so that adding or removing a
// sample moves it by ½. Every rank counts its own samples; rank 0 alone
// adds N(0, CountNoiseStd²) to each count; the counts travel in the step's
// status reduction, which every real step performs anyway, so adaptivity
// adds no collective. With b̃ = (noisy count)/(B_w·k·W) + ½, the estimated
// fraction of unclipped samples, every rank then updates each threshold
// identically:
//
//	C ← C · exp(−LearningRate · (b̃ − TargetQuantile))
//
// after the step hook has recorded the step and the update has been
// applied, so a failed step changes no threshold.
//
// Privacy: the gradient and the counts are two Gaussian mechanisms on the
// same sampled batch. With L thresholds the counts' L2 sensitivity is √L/2,
// so their noise multiplier is z_count = 2·CountNoiseStd/√L, and the pair
// is exactly one Gaussian mechanism with noise multiplier σ where σ⁻² =
// z_grad⁻² + z_count⁻². Config.NoiseMultiplier is that σ, the one the
// accountant records; the engine noises the gradient with z_grad =
// (σ⁻² − z_count⁻²)^(−½), which is a little larger than σ
// (Engine.MechanismNoise returns both). Andrew et al. suggest
// CountNoiseStd = B/20 for an expected global batch of B samples, for which
// z_grad exceeds σ by a relative ≈ 50·σ²·L/B²: 5·10⁻⁵ for σ = 1, L = 4
// thresholds and B = 2048.
type QuantileClipping struct {
	// TargetQuantile γ in (0, 1) is the fraction of samples whose norm
	// should fall at or under the threshold (0.5: the median).
	TargetQuantile float64
	// LearningRate η > 0 is the step of the geometric update.
	LearningRate float64
	// CountNoiseStd σ_b ≥ 0 is the std of the noise added to each centred
	// count. It must be > 0 when NoiseMultiplier is, and large enough that
	// z_count > σ.
	CountNoiseStd float64
	// KeepTotal, with per-layer clipping, adapts only the split of the
	// thresholds: after each update they are rescaled so that their L2
	// norm, the sensitivity, stays that of the starting thresholds, and the
	// noise std stays fixed. The thresholds then settle where every layer
	// clips the same fraction of its samples (the updates of all layers
	// balance), that fraction being set by the total rather than by
	// TargetQuantile: the split of one hand-chosen total follows the
	// layers' norm distributions instead of being equal.
	KeepTotal bool
}

// adaptState is an engine's quantile-estimation state.
type adaptState struct {
	q             QuantileClipping
	total         float64 // the starting thresholds' L2 norm, kept with KeepTotal
	zGrad, zCount float64
	counts        []float64 // this rank's centred counts since the last zeroing ZeroGrad
	noisy         []float64 // the step's noisy counts summed over the ranks
}

// newAdaptState validates q for l thresholds under cfg and splits cfg's
// noise multiplier.
func newAdaptState(q QuantileClipping, l int, cfg Config) (*adaptState, error) {
	sigma := cfg.NoiseMultiplier
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case !(q.TargetQuantile > 0 && q.TargetQuantile < 1):
		return nil, fmt.Errorf("optimizer: adaptive clipping: TargetQuantile is %v; it must be in (0, 1), for example 0.5 for the median norm", q.TargetQuantile)
	case !(q.LearningRate > 0 && finite(q.LearningRate)):
		return nil, fmt.Errorf("optimizer: adaptive clipping: LearningRate is %v; it must be finite and > 0 (Andrew et al. use 0.2)", q.LearningRate)
	case !(q.CountNoiseStd >= 0 && finite(q.CountNoiseStd)):
		return nil, fmt.Errorf("optimizer: adaptive clipping: CountNoiseStd is %v; it must be finite and ≥ 0", q.CountNoiseStd)
	case cfg.LossReduction != Mean:
		return nil, errors.New("optimizer: adaptive clipping needs the Mean loss reduction: the clipped fraction is the noisy count over the expected batch size")
	}
	s := &adaptState{q: q, counts: make([]float64, l), noisy: make([]float64, l)}
	s.zCount = 2 * q.CountNoiseStd / math.Sqrt(float64(l))
	if sigma == 0 {
		return s, nil // no privacy: neither mechanism is noised for privacy
	}
	if !(s.zCount > sigma) {
		return nil, fmt.Errorf("optimizer: adaptive clipping: CountNoiseStd %v gives the %d clipped counts a noise multiplier 2σ_b/√L = %v, which must exceed the step's noise multiplier σ = %v (σ⁻² = z_grad⁻² + z_count⁻²); raise CountNoiseStd (Andrew et al. suggest the expected global batch size / 20)",
			q.CountNoiseStd, l, s.zCount, sigma)
	}
	s.zGrad = 1 / math.Sqrt(1/(sigma*sigma)-1/(s.zCount*s.zCount))
	return s, nil
}

// count adds the centred count of the norms at most c to threshold t's
// count.
func (s *adaptState) count(t int, norms []float64, c float64) {
	n := 0
	for _, v := range norms {
		if v <= c {
			n++
		}
	}
	s.counts[t] += float64(n) - 0.5*float64(len(norms))
}

// update moves the thresholds th by the noisy counts of a step whose
// expected sample count is expected.
func (s *adaptState) update(th []float64, expected float64) {
	for t := range th {
		frac := s.noisy[t]/expected + 0.5
		th[t] *= math.Exp(-s.q.LearningRate * (frac - s.q.TargetQuantile))
	}
	if s.q.KeepTotal {
		floats.Scale(s.total/floats.Norm(th, 2), th)
	}
}

// MechanismNoise returns the noise multipliers of the Gaussian mechanisms
// a real step releases, whose combination (Σ z⁻²)^(−½) is the configured
// NoiseMultiplier: nil with fixed thresholds (the gradient alone, with
// NoiseMultiplier); [z_grad, z_count] with QuantileClipping.
func (e *Engine[F]) MechanismNoise() []float64 {
	if e.adapt == nil {
		return nil
	}
	return []float64{e.adapt.zGrad, e.adapt.zCount}
}

// SetThresholds replaces the clipping thresholds, as when resuming an
// adaptive run from a checkpoint: one value for flat clipping, one per
// layer for per-layer clipping, each finite and > 0. Call it with the same
// values on every rank between ZeroGrad and the next backward pass; the
// first real step checks that the ranks agree.
func (e *Engine[F]) SetThresholds(th []float64) error {
	c := Clipping{thresholds: append([]float64(nil), th...), perLayer: e.clip.perLayer}
	if !c.perLayer && len(th) != 1 {
		return fmt.Errorf("optimizer: SetThresholds got %d thresholds for flat clipping; give one", len(th))
	}
	if err := c.validate(e.arena.Layers); err != nil {
		return err
	}
	if e.agreed && e.comm != nil && e.adapt == nil {
		return errors.New("optimizer: SetThresholds after the first step of a distributed optimizer with fixed thresholds: the ranks' agreement is checked at the first step only; build a new optimizer instead")
	}
	e.clip.thresholds = c.thresholds
	e.setStd()
	return nil
}
