package perlayer

import "github.com/dpmpi/dpmpi/optimizer"

// DPPerLayerOptimizer is the single-process DP optimizer with per-layer
// clipping: per backward pass (AddBackward) each layer's per-sample
// gradients are clipped to that layer's threshold and summed; a real Step
// adds N(0, (σ·‖C‖₂)²) noise per coordinate, divides by B·k under Mean
// reduction, calls the step hook and applies the wrapped Updater. All
// methods come from the embedded optimizer.Engine.
type DPPerLayerOptimizer[F optimizer.Float] struct {
	*optimizer.Engine[F]
}

// NewDPPerLayerOptimizer returns a per-layer clipping optimizer over the
// arena a, with one threshold per arena layer in maxGradNorms (in layer
// order; a count mismatch is an error naming both counts), updating
// a.Params with inner.
func NewDPPerLayerOptimizer[F optimizer.Float](a *optimizer.Arena[F], inner optimizer.Updater[F], maxGradNorms []float64, cfg optimizer.Config) (*DPPerLayerOptimizer[F], error) {
	e, err := optimizer.NewEngine(a, inner, optimizer.PerLayerClipping(maxGradNorms), cfg, nil)
	if err != nil {
		return nil, err
	}
	return &DPPerLayerOptimizer[F]{e}, nil
}
