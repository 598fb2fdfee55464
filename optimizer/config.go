package optimizer

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/dpmpi/dpmpi/internal/mutant"
)

// Reduction is the loss reduction the model's loss uses, which decides how
// the noisy clipped sum is scaled.
type Reduction string

const (
	// Mean divides the noisy clipped sum by the expected batch size times
	// the accumulated iterations (times the world size when distributed).
	// The empty Reduction means Mean.
	Mean Reduction = "mean"
	// Sum leaves the noisy clipped sum unscaled.
	Sum Reduction = "sum"
)

// NoiseMode decides which ranks draw the Gaussian noise of a distributed
// step. Either way every coordinate of the summed gradient receives exactly
// one draw of N(0, std²) per step, so the privacy guarantee is the same.
type NoiseMode string

const (
	// RankZeroNoise has rank 0 draw the noise for every coordinate, as
	// Opacus does; the other ranks add nothing. The empty NoiseMode means
	// RankZeroNoise. Rank 0's step grows by the cost of drawing P variates
	// (about 12 ns each sequentially), which the other ranks wait for in
	// the reduction.
	RankZeroNoise NoiseMode = "rank0"
	// ShardedNoise has rank r of W draw the noise for its 1/W slice of the
	// gradient buffer, coordinates [⌊r·P/W⌋, ⌊(r+1)·P/W⌋), so each rank
	// draws P/W variates. Every rank must then hold its own independent
	// Generator (for example NewBlockGenerator seeded per rank); the first
	// step checks that no two ranks draw the same stream. The noise is
	// reproducible from the ranks' seeds for a given W, but differs between
	// world sizes.
	ShardedNoise NoiseMode = "sharded"
)

// Config holds the settings every DP optimizer shares. Clipping thresholds
// are given separately (see Clipping), because their shape depends on the
// optimizer.
type Config struct {
	// NoiseMultiplier is σ: the noise std is σ times the clipping
	// sensitivity (C for flat clipping, ‖(C_1..C_L)‖₂ for per-layer
	// clipping). It must be finite and ≥ 0.
	NoiseMultiplier float64

	// ExpectedBatchSize is the public expected batch size B used to scale
	// the gradient under Mean reduction; in distributed mode it is the
	// per-rank value B_w (the global expected batch size divided by the
	// world size, possibly fractional). It must never be the realised batch
	// size, which is private. Required (finite, > 0) for Mean; ignored for
	// Sum, where it may be 0.
	ExpectedBatchSize float64

	// LossReduction is Mean (the default when empty) or Sum.
	LossReduction Reduction

	// Generator draws the Gaussian noise. Outside secure mode a nil
	// Generator is replaced by one keyed from the operating system's
	// entropy (not reproducible); pass NewSeededGenerator(seed) for
	// reproducible runs. In secure mode Generator must be nil (a
	// SecureGenerator is created) or a *SecureGenerator: a seeded generator
	// is rejected, as Opacus rejects a user generator in secure mode.
	Generator Generator

	// SecureMode draws noise from a cryptographically secure generator with
	// the four-draw construction (see AddNoise).
	SecureMode bool

	// NoiseMode is RankZeroNoise (the default when empty) or ShardedNoise.
	// A single process draws all the noise in either mode.
	NoiseMode NoiseMode

	// Adaptive, if not nil, adapts the clipping thresholds to a target
	// quantile of the per-sample norms after every real step (see
	// QuantileClipping); the thresholds given to the constructor are the
	// starting point. NoiseMultiplier is then the noise multiplier of the
	// gradient and the clipped counts together.
	Adaptive *QuantileClipping
}

// ErrGradientReuse is wrapped by the errors returned when per-sample or
// summed gradients would be used twice without ZeroGrad.
var ErrGradientReuse = errors.New("gradients reused without ZeroGrad")

// validate checks c and returns it with defaults filled in.
func (c Config) validate() (Config, error) {
	if c.LossReduction == "" {
		c.LossReduction = Mean
	}
	if c.NoiseMode == "" {
		c.NoiseMode = RankZeroNoise
	}
	if c.NoiseMode != RankZeroNoise && c.NoiseMode != ShardedNoise {
		return c, fmt.Errorf("optimizer: NoiseMode is %q; use %q (rank 0 draws all the noise, the default) or %q (each rank draws its slice)", c.NoiseMode, RankZeroNoise, ShardedNoise)
	}
	switch c.LossReduction {
	case Mean:
		if c.ExpectedBatchSize <= 0 || math.IsInf(c.ExpectedBatchSize, 0) || math.IsNaN(c.ExpectedBatchSize) {
			return c, fmt.Errorf("optimizer: ExpectedBatchSize is %v but loss reduction %q needs a finite expected batch size > 0 (the public constant q·N, per rank in distributed mode)", c.ExpectedBatchSize, Mean)
		}
	case Sum:
		if c.ExpectedBatchSize < 0 || math.IsInf(c.ExpectedBatchSize, 0) || math.IsNaN(c.ExpectedBatchSize) {
			return c, fmt.Errorf("optimizer: ExpectedBatchSize is %v; it must be finite and ≥ 0", c.ExpectedBatchSize)
		}
	default:
		return c, fmt.Errorf("optimizer: LossReduction is %q; it must be %q or %q", c.LossReduction, Mean, Sum)
	}
	if c.NoiseMultiplier < 0 || math.IsInf(c.NoiseMultiplier, 0) || math.IsNaN(c.NoiseMultiplier) {
		return c, fmt.Errorf("optimizer: NoiseMultiplier is %v; it must be finite and ≥ 0", c.NoiseMultiplier)
	}
	if c.SecureMode {
		switch c.Generator.(type) {
		case nil:
			g, err := NewSecureGenerator()
			if err != nil {
				return c, err
			}
			c.Generator = g
		case *SecureGenerator:
		default:
			return c, fmt.Errorf("optimizer: SecureMode is set but Generator is a %T; secure mode forbids a seeded generator: leave Generator nil or pass a *SecureGenerator from NewSecureGenerator", c.Generator)
		}
	} else if c.Generator == nil {
		g, err := NewSecureGenerator()
		if err != nil {
			return c, err
		}
		c.Generator = g
	}
	return c, nil
}

// Clipping gives the clipping thresholds of an optimizer: either one
// threshold for the whole model (FlatClipping) or one per arena layer
// (PerLayerClipping). The zero value is invalid.
type Clipping struct {
	thresholds []float64
	perLayer   bool
}

// FlatClipping clips each sample's gradient over all layers jointly to norm
// maxGradNorm. The noise std is σ·maxGradNorm.
func FlatClipping(maxGradNorm float64) Clipping {
	return Clipping{thresholds: []float64{maxGradNorm}}
}

// PerLayerClipping clips each sample's gradient of arena layer l to norm
// maxGradNorms[l], independently per layer. The total sensitivity is then
// ‖(C_1..C_L)‖₂, so the noise std is σ·‖(C_1..C_L)‖₂; it is computed in
// float64 (Opacus computes this norm in float32, which differs in the 8th
// digit: for [1,1,1] Opacus uses 1.7320507764816284 and dpmpi uses √3 =
// 1.7320508075688772). The slice is copied.
func PerLayerClipping(maxGradNorms []float64) Clipping {
	return Clipping{thresholds: append([]float64(nil), maxGradNorms...), perLayer: true}
}

// PerLayer reports whether c clips each layer on its own.
func (c Clipping) PerLayer() bool { return c.perLayer }

// Thresholds returns a copy of the clipping thresholds: one value for flat
// clipping, one per layer for per-layer clipping.
func (c Clipping) Thresholds() []float64 { return append([]float64(nil), c.thresholds...) }

// Sensitivity returns the L2 sensitivity of one sample's clipped
// contribution: C for flat clipping, ‖(C_1..C_L)‖₂ for per-layer clipping.
func (c Clipping) Sensitivity() float64 {
	if mutant.MaxThreshold {
		return slices.Max(c.thresholds)
	}
	if len(c.thresholds) == 1 {
		return c.thresholds[0]
	}
	s := 0.0
	for _, t := range c.thresholds {
		s += t * t
	}
	return math.Sqrt(s)
}

// validate checks c against an arena with the given layers.
func (c Clipping) validate(layers []Layer) error {
	if len(c.thresholds) == 0 {
		return errors.New("optimizer: no clipping thresholds; use FlatClipping(C) or PerLayerClipping(Cs)")
	}
	if c.perLayer && len(c.thresholds) != len(layers) {
		return fmt.Errorf("optimizer: %d per-layer clipping thresholds for an arena of %d layers; give one threshold per layer", len(c.thresholds), len(layers))
	}
	for i, t := range c.thresholds {
		if t <= 0 || math.IsInf(t, 0) || math.IsNaN(t) {
			if c.perLayer {
				return fmt.Errorf("optimizer: clipping threshold of layer %d (%q) is %v; it must be finite and > 0", i, layers[i].Name, t)
			}
			return fmt.Errorf("optimizer: max gradient norm is %v; it must be finite and > 0", t)
		}
	}
	return nil
}
