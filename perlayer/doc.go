// Package perlayer provides optimizers with per-layer clipping: each
// sample's gradient of arena layer l is clipped to its own threshold C_l,
// independently of the other layers. DPPerLayerOptimizer is the
// single-process optimizer and is used like optimizer.DPOptimizer, with one
// threshold per layer. DistributedPerLayerOptimizer is the distributed,
// hook-based one: pass its LayerReady method as the ready callback of the
// model's backward pass, and it clips each layer as soon as the backward pass
// has produced it and noises and scales the gradient bucket by bucket while
// the backward pass goes on:
//
//	opt, err := perlayer.NewDistributedPerLayerOptimizer(arena, sgd, thresholds, cfg, world)
//	...
//	opt.ZeroGrad()
//	logits := model.Forward(x, n)
//	err = nn.SoftmaxCrossEntropy(logits, labels, classes, nil, dlogits)
//	err = model.Backward(dlogits, opt.LayerReady) // every rank, every layer, even with n = 0
//	stepped, err := opt.Step()                     // reduce, check, hook, update
//
// Both compute, at every world size W, the G of optimizer's package
// documentation, the same as simple.SimpleDistributedPerLayerOptimizer; at
// W = 1 the distributed optimizer equals DPPerLayerOptimizer. Opacus's class
// of the same name yields 2/W times that G under DDP and ignores the
// optimizer's generator.
//
// # Sensitivity
//
// Because a sample's clipped contribution has L2 norm at most ‖(C_1..C_L)‖₂
// over the whole model, that is the sensitivity: the noise std per
// coordinate is σ·‖(C_1..C_L)‖₂, not σ·C_l. With eight layers of threshold 1
// the std is σ·√8 ≈ 2.83σ. This is correct, and the accountant is given the
// same σ. The norm is computed in float64, where Opacus uses float32. To keep
// the noise of a flat-clipping run with threshold C, give every one of L
// layers C/√L.
//
// # The hook-based schedule
//
// DistributedPerLayerOptimizer groups finished layers into buckets
// (DefaultBucketBytes, formed from the last layer backwards). On the pass
// that ends a logical step, each completed bucket is noised on rank 0 and
// scaled at once; by default the whole gradient is then reduced with one
// sum-Allreduce in Step, which costs what a raw reduction of the buffer
// costs. Overlapping the reductions with the rest of the backward pass does
// not pay on a node whose cores are all busy with the ranks' own
// computation, as on the project's 2-core machines, because the
// shared-memory reduction needs the same cores; the type's documentation
// gives the schedules, the conditions for an eager pass and the
// measurements behind the default. Skip signals must be given before the
// backward pass of the step they skip.
//
// DPPerLayerOptimizer is a thin type over optimizer.Engine, which carries the
// clipping, noise, scaling, virtual steps, reuse checks and step hook;
// DistributedPerLayerOptimizer drives the same engine through the
// lower-level methods the engine exposes for optimizers with their own
// schedule.
package perlayer
