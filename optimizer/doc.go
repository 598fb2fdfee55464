// Package optimizer is the differentially private core shared by every dpmpi
// optimizer: the parameter arena, the per-sample gradient source that links
// models to clipping, clipping, Gaussian noise, loss-reduction scaling, the
// wrapped update rules (SGD, Adam, AdamW), and the flat DPOptimizer and
// DistributedDPOptimizer.
//
// # API in one paragraph
//
// An Arena holds the model's parameters and gradients in two flat buffers.
// An Engine, built by NewEngine from an arena, a wrapped Updater (NewSGD,
// NewAdam, NewAdamW), a Clipping (FlatClipping(C) or PerLayerClipping(Cs)),
// a Config (σ, per-rank expected batch size, Mean or Sum, Generator,
// SecureMode) and an optional Communicator, runs every optimizer. Per
// backward pass, AddBackward(srcs) takes one GradSource per layer (for
// instance a DenseSource), clips each sample and adds the clipped sum into
// arena.Grads (k = AccumulatedIterations counts the passes). SignalSkip
// queues virtual steps. Step() (stepped bool, err error) adds noise (rank 0
// only), scales, sums over the ranks with one AllreduceSum of the flat
// buffer, calls the StepHook with (σ, k) and applies the Updater to
// arena.Params; ZeroGrad must follow every Step. DPOptimizer and
// DistributedDPOptimizer (and perlayer.DPPerLayerOptimizer,
// simple.SimpleDistributedPerLayerOptimizer) only choose the clipping and
// the communicator. StartPass, ClipLayer, PeekSkip, NoiseAndScale and
// StepWith expose the same pipeline in pieces for an optimizer that clips
// and reduces layers while the backward pass runs. ClipFactor is the clip
// rule; a source may implement ClipAdder to clip and accumulate in one
// pass over its memory.
//
// # What is computed
//
// For one logical step with k accumulated backward passes, W ranks, per-rank
// expected batch size B_w, thresholds C_l and noise multiplier σ, every
// optimizer computes
//
//	G = (Σ_r Σ_i Σ_l c_{i,l} g_{i,l} + Z) / (B_w·k·W)   (mean reduction)
//	G =  Σ_r Σ_i Σ_l c_{i,l} g_{i,l} + Z                 (sum reduction)
//	c_{i,l} = min(1, C_l / (‖g_{i,l}‖₂ + 1e-6)),  Z ~ N(0, σ²‖C‖₂² I) drawn on rank 0
//
// Flat clipping is the case of a single group holding every layer: the
// sample norm is taken over all layers and ‖C‖₂ = C. With per-layer
// clipping the sensitivity of one sample is ‖(C_1..C_L)‖₂, computed in
// float64 (Opacus uses float32 here). B_w is a public constant, never the
// realised batch size.
//
// # Steps, virtual steps and reuse
//
// The state machine follows Opacus: ZeroGrad releases the per-sample
// gradients (k = 0) and zeroes the sum unless the last Step was skipped, so
// skipped (virtual) steps accumulate a logical batch that the next real step
// noises once. A Step or AddBackward after a Step without ZeroGrad is an
// error wrapping ErrGradientReuse. A non-finite per-sample gradient makes
// the next real Step fail with a *NonFiniteError naming the layer, the
// sample and (distributed) the rank, on every rank, without an update or a
// hook call. Distributed engines verify at their first real step that all
// ranks agree on the layer table, thresholds, σ, expected batch size and
// reduction.
//
// # Distributed steps
//
// A real distributed step performs two collectives on every rank, in the
// same order, even for a rank whose local batch is empty: first a small
// AllreduceSum of a status vector (three slots per rank: a non-finite flag,
// its layer and its sample; at the first step also a fingerprint of the
// configuration), then the AllreduceSum of the whole flat gradient buffer.
// The status comes first so that a bad gradient or a mismatched
// configuration is reported on every rank before any rank enters the
// gradient reduction, whose length could itself differ between ranks. The
// fingerprint sends each quantity as 16-bit pieces together with their
// squares: all ranks agree on a piece x exactly when Σx = W·x and Σx² = W·x²
// on every rank, and these sums are exact in float64. Virtual steps perform
// no collective.
//
// Package optimizertest provides an in-memory world of communicators, a
// fault-injecting wrapper and deterministic problems for testing
// distributed optimizers in one process.
//
// # Noise
//
// NewSeededGenerator(seed) gives a reproducible sequential stream (PCG from
// math/rand/v2, documented there). NewBlockGenerator(seed) is reproducible
// too but fills the noise in blocks of NoiseBlock coordinates on all
// GOMAXPROCS goroutines, with the same result for any number of them; it is
// the one to use for large models, where drawing the noise on rank 0 is on
// every rank's critical path. Secure mode uses a SecureGenerator (ChaCha8
// keyed from crypto/rand, per-block ChaCha8 keys drawn from it) and the
// four-draw construction of AddNoise; seeded generators are refused in
// secure mode. σ = 0 draws nothing.
package optimizer
