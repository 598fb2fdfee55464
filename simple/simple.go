package simple

import (
	"errors"

	"github.com/dpmpi/dpmpi/optimizer"
)

// SimpleDistributedPerLayerOptimizer is the distributed per-layer clipping
// optimizer described in the package documentation. All methods come from
// the embedded optimizer.Engine.
type SimpleDistributedPerLayerOptimizer[F optimizer.Float] struct {
	*optimizer.Engine[F]
}

// New returns a SimpleDistributedPerLayerOptimizer over the arena a with
// one threshold per arena layer in maxGradNorms, updating a.Params with
// inner and reducing over comm. cfg.ExpectedBatchSize is the per-rank B_w.
// Every rank must call New with identical arguments (the first step
// checks this); a threshold count that differs from the layer count is an
// error naming both counts.
func New[F optimizer.Float](a *optimizer.Arena[F], inner optimizer.Updater[F], maxGradNorms []float64, cfg optimizer.Config, comm optimizer.Communicator[F]) (*SimpleDistributedPerLayerOptimizer[F], error) {
	if comm == nil {
		return nil, errors.New("simple: New needs a communicator; use perlayer.NewDPPerLayerOptimizer for a single process")
	}
	e, err := optimizer.NewEngine(a, inner, optimizer.PerLayerClipping(maxGradNorms), cfg, comm)
	if err != nil {
		return nil, err
	}
	return &SimpleDistributedPerLayerOptimizer[F]{e}, nil
}
