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
package perlayer
