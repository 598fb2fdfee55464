// Package simple provides SimpleDistributedPerLayerOptimizer: per-layer
// clipping across MPI ranks, with the whole gradient reduced in one
// sum-Allreduce after the backward pass. Build it with New on every rank
// with identical arguments (cfg.ExpectedBatchSize is the per-rank B_w) and
// use it like any optimizer.Engine: per step, ZeroGrad, one AddBackward per
// backward pass with the model's per-layer gradient sources, then Step, on
// every rank, even one whose local batch is empty:
//
//	opt, err := simple.New(arena, sgd, thresholds, cfg, world)
//	...
//	opt.ZeroGrad()
//	err = model.Backward(dlogits, nil)
//	err = opt.AddBackward(model.Sources())
//	stepped, err := opt.Step()
//
// Each rank clips its own shard of the batch per layer (threshold C_l for
// layer l) and accumulates the clipped sum S_r in the arena's flat gradient
// buffer. At a real step, rank 0 alone adds N(0, (σ·‖C‖₂)²) noise per
// coordinate, every rank multiplies by 1/(B_w·k·W) under Mean reduction,
// and one AllreduceSum of the flat buffer leaves on every rank
//
//	G = (Σ_r S_r + Z)/(B_w·k·W)   (Mean),   G = Σ_r S_r + Z   (Sum),
//
// with B_w the per-rank expected batch size, k the accumulated backward
// passes and W the world size. With B_w = B/W this is the single-process
// per-layer result for the global batch (perlayer.DPPerLayerOptimizer), and
// perlayer.DistributedPerLayerOptimizer computes the same G.
//
// Virtual (skipped) steps communicate nothing; every real step performs the
// same two collectives on every rank (a small status reduction and the
// gradient reduction). The first real step checks that the ranks agree on
// the layer table, thresholds, σ, B_w and reduction.
//
// The optimizer is a thin type over optimizer.Engine, the same engine as
// perlayer.DPPerLayerOptimizer and optimizer.DistributedDPOptimizer.
package simple
