// Package perlayer provides optimizers with per-layer clipping: each
// sample's gradient of arena layer l is clipped to its own threshold C_l,
// independently of the other layers.
//
// Because a sample's clipped contribution then has L2 norm at most
// ‖(C_1..C_L)‖₂ over the whole model, that is the sensitivity: the noise std
// per coordinate is σ·‖(C_1..C_L)‖₂, not σ·C_l. With eight layers of
// threshold 1 the std is σ·√8 ≈ 2.83σ. This is correct and the accountant
// is given the same σ. The norm is computed in float64, where Opacus uses
// float32.
//
// DPPerLayerOptimizer is the single-process optimizer. It is a thin type
// over optimizer.Engine, which carries the clipping, noise, scaling,
// virtual steps, reuse checks and step hook.
//
// DistributedPerLayerOptimizer is the distributed, hook-based optimizer: the
// model's backward pass calls its LayerReady method as soon as a layer's
// per-sample gradients exist, and the optimizer clips the layer, noises it on
// rank 0, scales it and groups finished layers into buckets whose
// sum-Allreduce can run while the backward pass goes on (SetProgress). It
// computes exactly what simple.SimpleDistributedPerLayerOptimizer computes
// at every world size; Opacus's class of the same name yields 2/W times that
// under DDP and ignores the optimizer's generator. On a node whose cores are
// all busy with the ranks' own computation, as on the project's 2-core test
// machines, overlapping does not pay (the shared-memory reduction needs the
// same cores), and the default schedule, ReduceInStep, reduces once in Step;
// see the type's documentation for the measurements.
package perlayer
