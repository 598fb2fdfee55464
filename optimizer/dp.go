package optimizer

import "errors"

// DPOptimizer is the single-process DP-SGD optimizer with flat clipping:
// each sample's gradient over all layers is clipped to norm C, the clipped
// sum gets N(0, (σC)²) noise per coordinate, and under Mean reduction it is
// divided by B·k before the wrapped Updater steps. All methods come from
// the embedded Engine.
type DPOptimizer[F Float] struct {
	*Engine[F]
}

// NewDPOptimizer returns a flat-clipping optimizer over the arena a with
// threshold maxGradNorm, updating a.Params with inner.
func NewDPOptimizer[F Float](a *Arena[F], inner Updater[F], maxGradNorm float64, cfg Config) (*DPOptimizer[F], error) {
	e, err := NewEngine(a, inner, FlatClipping(maxGradNorm), cfg, nil)
	if err != nil {
		return nil, err
	}
	return &DPOptimizer[F]{e}, nil
}

// DistributedDPOptimizer is DPOptimizer across the ranks of comm: each rank
// clips its own shard of the batch, rank 0 alone adds the noise, each rank
// scales by 1/(B_w·k·W) under Mean reduction (B_w the per-rank expected
// batch size), and one AllreduceSum over the whole gradient buffer gives
// every rank G = (Σ_r S_r + Z)/(B_w·k·W) (Mean) or Σ_r S_r + Z (Sum).
// Skipped steps communicate nothing. All methods come from the embedded
// Engine.
type DistributedDPOptimizer[F Float] struct {
	*Engine[F]
}

// NewDistributedDPOptimizer returns a distributed flat-clipping optimizer.
// Every rank must call it with identical arguments (the first step checks
// this); cfg.ExpectedBatchSize is the per-rank B_w.
func NewDistributedDPOptimizer[F Float](a *Arena[F], inner Updater[F], maxGradNorm float64, cfg Config, comm Communicator[F]) (*DistributedDPOptimizer[F], error) {
	if comm == nil {
		return nil, errors.New("optimizer: NewDistributedDPOptimizer needs a communicator; use NewDPOptimizer for a single process")
	}
	e, err := NewEngine(a, inner, FlatClipping(maxGradNorm), cfg, comm)
	if err != nil {
		return nil, err
	}
	return &DistributedDPOptimizer[F]{e}, nil
}
