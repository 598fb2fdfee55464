// Package optimizer is the differentially private core shared by every dpmpi
// optimizer: an Engine that clips per-sample gradients, adds Gaussian noise,
// scales, sums over the ranks and applies a wrapped update rule (SGD, Adam,
// AdamW) to a model whose parameters live in one flat Arena. To use it, place
// the model's layers in an Arena (NewArena, or nn.Sequential.NewArena), wrap
// an Updater in a DP optimizer (NewDPOptimizer, NewDistributedDPOptimizer, or
// the per-layer optimizers of packages perlayer and simple), and run every
// step as ZeroGrad, one AddBackward per backward pass with one GradSource per
// layer, then Step:
//
//	arena, _ := optimizer.NewArena[float32](optimizer.LayerSpec{Name: "fc", Len: n})
//	sgd, _ := optimizer.NewSGD[float32](0.1, 0.9, 0, 0, false)
//	opt, err := optimizer.NewDPOptimizer(arena, sgd, 1.0, optimizer.Config{
//		NoiseMultiplier:   1.1,
//		ExpectedBatchSize: 256, // the public q·N, never the realised batch size
//		Generator:         optimizer.NewBlockGenerator(seed),
//	})
//	opt.SetStepHook(func(sigma float64, k int) error { return acct.Step(sigma, q*float64(k)) })
//	for _, block := range batches { // block: b samples' gradients, n values each
//		opt.ZeroGrad()
//		src := optimizer.NewDenseSource(b, n, block) // block: a []float32
//		if err := opt.AddBackward([]optimizer.GradSource[float32]{src}); err != nil {
//			return err
//		}
//		if _, err := opt.Step(); err != nil { // clip sum → noise → scale → hook → update
//			return err
//		}
//	}
//
// # Precision
//
// Everything that holds parameters or gradients is generic in their element
// type F, float32 or float64 (Float): Arena[F], GradSource[F], Updater[F],
// Engine[F], Communicator[F] and the optimizers built on them. One code path
// serves both; the float64 instantiation computes exactly what the
// non-generic package did. Whatever F is, per-sample norms are accumulated
// and returned in float64 (a clip factor is a threshold decision), and the
// clip factors, the noise std, the scale 1/(B·k·W), the adaptive counts and
// the step status stay float64 (Communicator.AllreduceSumFloat64 reduces the
// status words). The noise is drawn and added in float64 and the sum rounded
// once (see AddNoise), so a float32 run releases a function of the float64
// mechanism's output and is exactly as private; drawing in float32 would
// expose the floating-point attacks on noise sampling. The ranks must agree
// on F: the first step's configuration check compares it and fails on every
// rank otherwise.
//
// The Arena holds all parameters in one buffer and all gradients in another,
// with a table of layers, so a layer is a sub-slice and one reduction covers
// the model. A GradSource supplies one layer's per-sample gradients for one
// backward pass: its norms and a weighted sum of them. It is the only thing
// the optimizer sees of a model; DenseSource implements it over a
// materialised B×n block, and package nn implements it for its layers,
// partly without forming per-sample gradients at all. A Communicator is what
// the distributed optimizers need from MPI; package mpi's world communicator
// satisfies it.
//
// # What is computed
//
// For one logical step with k accumulated backward passes, W ranks, per-rank
// expected batch size B_w, thresholds C_l and noise multiplier σ, every
// optimizer computes
//
//	G = (Σ_r Σ_i Σ_l c_{i,l} g_{i,l} + Z) / (B_w·k·W)   (mean reduction)
//	G =  Σ_r Σ_i Σ_l c_{i,l} g_{i,l} + Z                 (sum reduction)
//	c_{i,l} = min(1, C_l / (‖g_{i,l}‖₂ + 1e-6)),  Z ~ N(0, σ²‖C‖₂² I)
//
// Z is drawn on rank 0 (RankZeroNoise, the default) or, with ShardedNoise,
// by every rank for its 1/W slice of the coordinates; either way each
// coordinate receives exactly one draw.
//
// Flat clipping (FlatClipping) is the case of a single group holding every
// layer: the sample norm is taken over all layers and ‖C‖₂ = C. With
// per-layer clipping (PerLayerClipping) the sensitivity of one sample is
// ‖(C_1..C_L)‖₂, computed in float64 (Opacus uses float32 here). ClipFactor
// is the clip rule. B_w is a public constant, never the realised batch size.
// The step hook receives (σ, k); an accountant records (σ, q·k).
//
// # Steps, virtual steps and reuse
//
// The state machine follows Opacus. SignalSkip queues skip signals, one
// consumed per Step: a skipped (virtual) Step keeps the accumulated sum, adds
// no noise, communicates nothing, calls no hook and applies no update, and
// the ZeroGrad after it keeps the sum too, so a logical batch split into
// physical batches is noised once by the real step that ends it. ZeroGrad
// otherwise zeroes the sum and releases the per-sample state (k = 0); it must
// follow every Step. A Step or AddBackward after a Step without ZeroGrad is an
// error wrapping ErrGradientReuse. A non-finite per-sample gradient makes the
// next real Step fail with a *NonFiniteError naming the layer, the sample and
// (distributed) the rank, on every rank, without an update or a hook call.
//
// DPOptimizer and DistributedDPOptimizer (and perlayer.DPPerLayerOptimizer,
// simple.SimpleDistributedPerLayerOptimizer) are the Engine with a choice of
// clipping and communicator. StartPass, ClipLayer, PeekSkip, NoiseAndScale,
// NoiseScaled and StepWith expose the same pipeline in pieces for an
// optimizer that clips and reduces layers while the backward pass runs
// (perlayer's hook-based one).
//
// # Distributed steps
//
// A real distributed step performs two collectives on every rank, in the
// same order, even for a rank whose local batch is empty: first a small
// AllreduceSum of a status vector (three slots per rank: a non-finite flag,
// its layer and its sample; at the first step also a fingerprint of the
// configuration), then the AllreduceSum of the whole flat gradient buffer.
// The status comes first so that a bad gradient or a mismatched
// configuration (layer table, thresholds, σ, expected batch size, reduction)
// is reported on every rank before any rank enters the gradient reduction,
// whose length could itself differ between ranks. Virtual steps perform no
// collective. Package optimizertest provides an in-memory world of
// communicators, a fault-injecting wrapper and deterministic problems for
// testing distributed optimizers in one process.
//
// # Noise
//
// NewSeededGenerator(seed) gives a reproducible sequential stream (PCG from
// math/rand/v2). NewBlockGenerator(seed) is reproducible too but fills the
// noise in blocks of NoiseBlock coordinates on every core, with the same
// result for any number of goroutines; use it for large models, where
// drawing the noise on rank 0 is on every rank's critical path, and save its
// state in checkpoints (MarshalBinary). Secure mode (Config.SecureMode) uses
// a SecureGenerator (ChaCha8 keyed from crypto/rand, per-block keys drawn from
// it) and the four-draw construction of AddNoise; seeded generators are
// refused in secure mode. σ = 0 draws nothing.
//
// With Config.NoiseMode = ShardedNoise each rank draws only its slice, so
// every rank needs its own generator: NewBlockGenerator(seed ^ uint64(rank))
// or similar, or nil (keyed from the system's entropy). The first step
// refuses ranks that share a stream.
//
// # Implementation notes
//
// The configuration fingerprint is sent as 16-bit pieces together with their
// squares: all ranks agree on a piece x exactly when Σx = W·x and Σx² = W·x²
// on every rank, and these sums are exact in float64. A source that
// implements ClipAdder clips and accumulates in one pass over its memory
// (DenseSource does so in cache-sized row groups); the engine uses it when one
// threshold covers the source's layer alone. Element-wise loops (noise
// blocks, updaters) split their ranges over the cores with results that do
// not depend on the number of goroutines, and a steady-state step allocates
// nothing.
package optimizer
