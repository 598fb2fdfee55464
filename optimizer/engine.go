package optimizer

import (
	"errors"
	"fmt"
	"math"

	"github.com/dpmpi/dpmpi/internal/mutant"
	"github.com/dpmpi/dpmpi/internal/prec"
)

// clipEps is added to a sample's norm in the clip factor, as in Opacus.
const clipEps = 1e-6

// ClipFactor returns the factor min(1, maxNorm/(norm+1e-6)) by which a
// sample's gradient of norm norm is multiplied when clipped to maxNorm. The
// 1e-6 is added to the norm (as in Opacus), so a gradient of norm exactly
// maxNorm is scaled by slightly less than 1 and a zero gradient by 1. A NaN
// norm gives NaN.
func ClipFactor(maxNorm, norm float64) float64 {
	return min(1, maxNorm/(norm+clipEps))
}

// StepHook is called once per real (not skipped) step, after noise, scaling
// and (in distributed mode) the reduction, and before the wrapped optimizer
// updates the parameters. It receives the noise multiplier σ and the number
// k of backward passes accumulated into the step; the accountant records
// (σ, q·k). If it returns an error, Step returns that error and the
// parameters are not updated.
type StepHook func(noiseMultiplier float64, accumulatedIterations int) error

// NonFiniteError reports a per-sample gradient holding NaN or ±Inf. It is
// returned by Step (on every rank in distributed mode); no update is
// applied and the step hook is not called.
type NonFiniteError struct {
	// Step is the number of real steps completed before the failing one.
	Step int
	// Rank is the rank whose batch held the bad gradient, or -1 for a
	// single-process optimizer.
	Rank int
	// Layer and LayerIndex identify the arena layer.
	Layer      string
	LayerIndex int
	// Sample is the index of the sample in its backward pass's batch.
	Sample int
}

// Error names the step, the sample, the rank (in distributed mode) and the
// layer, and says how to go on.
func (e *NonFiniteError) Error() string {
	where := ""
	if e.Rank >= 0 {
		where = fmt.Sprintf(" on rank %d", e.Rank)
	}
	return fmt.Sprintf("optimizer: step %d: sample %d%s has a non-finite (NaN or ±Inf) per-sample gradient in layer %d (%q); no update was applied and no step recorded; check the inputs and the learning rate, then call ZeroGrad", e.Step, e.Sample, where, e.LayerIndex, e.Layer)
}

// Engine is the state machine shared by every DP optimizer: clip and
// accumulate per-sample gradients into the arena's Grads buffer, add noise,
// scale, reduce across ranks, call the step hook and apply the wrapped
// Updater to the arena's Params.
//
// DPOptimizer, DistributedDPOptimizer and the per-layer optimizers of
// packages perlayer and simple are thin wrappers around an Engine. Its
// lower-level methods (StartPass, ClipLayer, PeekSkip, NoiseAndScale,
// NoiseScaled, StepWith) let an optimizer with its own schedule, such as
// one that reduces layers while the backward pass is still running, reuse
// the same clipping, noise, scaling, checks and hook.
//
// A typical loop is: ZeroGrad; AddBackward once per backward pass (k
// times); Step. An Engine is not safe for concurrent use.
type Engine[F Float] struct {
	arena *Arena[F]
	inner Updater[F]
	clip  Clipping
	cfg   Config
	comm  Communicator[F]
	rank  int
	size  int
	std   float64
	hook  StepHook

	skips       []bool // FIFO of skip signals: skips[skipHead:] are pending
	skipHead    int
	k           int  // backward passes since ZeroGrad
	consumed    bool // a Step (skipped or not) ran since ZeroGrad
	lastSkipped bool
	steps       int
	agreed      bool
	bad         *NonFiniteError

	norms, sq, factors []float64
	status             []float64
	adapt              *adaptState // nil: fixed thresholds

	// This rank draws the noise of Grads[noiseLo:noiseHi]: all of it on
	// rank 0 and none elsewhere under RankZeroNoise, its 1/W slice under
	// ShardedNoise.
	noiseLo, noiseHi int
	// probe is one variate drawn from the generator at construction under
	// ShardedNoise; the first step compares the ranks' probes to catch
	// ranks that share a stream.
	probe float64
	// noiseBuf is the float64 copy of the noised range for F = float32
	// (see AddNoise).
	noiseBuf []float64
}

// NewEngine returns an engine over the arena a, updating a.Params with
// inner. comm is nil for a single process; otherwise every rank builds its
// engine with identical arguments (checked at the first step) and the
// engine sums the gradient over comm. It returns an error if the
// configuration or the clipping thresholds are invalid.
func NewEngine[F Float](a *Arena[F], inner Updater[F], clip Clipping, cfg Config, comm Communicator[F]) (*Engine[F], error) {
	if a == nil || len(a.Layers) == 0 {
		return nil, errors.New("optimizer: the arena has no layers")
	}
	if inner == nil {
		return nil, errors.New("optimizer: no wrapped optimizer; pass an Updater such as NewSGD or NewAdam")
	}
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	if err := clip.validate(a.Layers); err != nil {
		return nil, err
	}
	e := &Engine[F]{arena: a, inner: inner, clip: clip, cfg: cfg, comm: comm, size: 1}
	e.clip.thresholds = clip.Thresholds()
	if cfg.Adaptive != nil {
		if e.adapt, err = newAdaptState(*cfg.Adaptive, len(e.clip.thresholds), cfg); err != nil {
			return nil, err
		}
		if cfg.Adaptive.KeepTotal && !clip.perLayer {
			return nil, errors.New("optimizer: adaptive clipping: KeepTotal adapts the split of per-layer thresholds; flat clipping has a single threshold to adapt (leave KeepTotal unset)")
		}
		e.adapt.total = clip.Sensitivity()
	}
	if comm != nil {
		e.rank, e.size = comm.Rank(), comm.Size()
		if e.size < 1 || e.rank < 0 || e.rank >= e.size {
			return nil, fmt.Errorf("optimizer: communicator reports rank %d of size %d", e.rank, e.size)
		}
		e.status = make([]float64, statusSlots*e.size+e.countSlots()+fingerprintSlots+e.probeSlots())
	}
	e.setStd()
	e.noiseLo, e.noiseHi = noiseShard(len(a.Params), e.rank, e.size, cfg.NoiseMode)
	if cfg.NoiseMode == ShardedNoise && e.size > 1 {
		e.probe = cfg.Generator.NormFloat64()
	}
	return e, nil
}

// setStd sets the gradient noise std from the noise multiplier of the
// gradient (σ, or z_grad with adaptive thresholds) and the current
// thresholds.
func (e *Engine[F]) setStd() {
	z := e.cfg.NoiseMultiplier
	if e.adapt != nil {
		z = e.adapt.zGrad
	}
	e.std = mutant.SigmaScale * z * e.clip.Sensitivity()
	if mutant.NoiseOverW {
		e.std /= float64(e.size)
	}
}

// countSlots is the number of status slots of the clipped counts: one per
// threshold with adaptive thresholds, none otherwise.
func (e *Engine[F]) countSlots() int {
	if e.adapt == nil {
		return 0
	}
	return len(e.clip.thresholds)
}

// Arena returns the arena the engine clips into and updates.
func (e *Engine[F]) Arena() *Arena[F] { return e.arena }

// Updater returns the wrapped optimizer.
func (e *Engine[F]) Updater() Updater[F] { return e.inner }

// Config returns the validated configuration (with defaults filled in and
// the generator actually used).
func (e *Engine[F]) Config() Config { return e.cfg }

// Clipping returns the clipping thresholds.
func (e *Engine[F]) Clipping() Clipping {
	return Clipping{thresholds: e.clip.Thresholds(), perLayer: e.clip.perLayer}
}

// NoiseStd returns the std of the noise added per coordinate to the clipped
// sum: σ·C (flat) or σ·‖(C_1..C_L)‖₂ (per layer), with the current
// thresholds and, under Config.Adaptive, z_grad in place of σ.
func (e *Engine[F]) NoiseStd() float64 { return e.std }

// Rank returns this process's rank (0 for a single process).
func (e *Engine[F]) Rank() int { return e.rank }

// WorldSize returns the number of ranks (1 for a single process).
func (e *Engine[F]) WorldSize() int { return e.size }

// SetStepHook installs h as the step hook, replacing any previous one; nil
// removes it.
func (e *Engine[F]) SetStepHook(h StepHook) { e.hook = h }

// Steps returns the number of real steps applied so far.
func (e *Engine[F]) Steps() int { return e.steps }

// AccumulatedIterations returns k, the number of backward passes since the
// last ZeroGrad.
func (e *Engine[F]) AccumulatedIterations() int { return e.k }

// SignalSkip appends a skip signal to the FIFO consumed one entry per Step:
// a Step that pops true is a virtual step, which keeps the accumulated sum
// (ZeroGrad then keeps it too), adds no noise, performs no communication,
// calls no hook and applies no update. Data loaders that split a logical
// batch into physical batches signal true for every physical batch but the
// last.
func (e *Engine[F]) SignalSkip(skip bool) { e.skips = append(e.skips, skip) }

// PeekSkip reports whether the next Step will be skipped, without consuming
// the signal.
func (e *Engine[F]) PeekSkip() bool { return e.skipHead < len(e.skips) && e.skips[e.skipHead] }

func (e *Engine[F]) popSkip() bool {
	if e.skipHead == len(e.skips) {
		return false
	}
	s := e.skips[e.skipHead]
	e.skipHead++
	if e.skipHead == len(e.skips) { // empty: reuse the storage
		e.skips, e.skipHead = e.skips[:0], 0
	}
	return s
}

// ZeroGrad ends a step: the per-sample gradients are released (k returns to
// 0) and, unless the last Step was skipped, the accumulated sum in the
// arena's Grads is zeroed. It must be called after every Step, skipped or
// not, before the next backward pass.
func (e *Engine[F]) ZeroGrad() {
	if !e.lastSkipped {
		clear(e.arena.Grads)
		e.bad = nil
		if e.adapt != nil {
			clear(e.adapt.counts)
		}
	}
	e.k = 0
	e.consumed = false
}

// StartPass begins a backward pass for optimizers that call ClipLayer
// themselves; AddBackward calls it. It increments k, and fails with an
// error wrapping ErrGradientReuse if a Step ran since the last ZeroGrad.
func (e *Engine[F]) StartPass() error {
	if e.consumed {
		return fmt.Errorf("optimizer: backward pass after step %d without ZeroGrad: the step consumed these gradients (%w); call ZeroGrad after every Step", e.steps, ErrGradientReuse)
	}
	e.k++
	return nil
}

// AddBackward clips the per-sample gradients of one backward pass and adds
// them to the arena's Grads. srcs holds one source per arena layer, in
// layer order, all with the same number of samples (possibly zero). It
// increments k.
//
// It returns an error for a wrong number of sources, a source whose length
// differs from its layer, differing sample counts, or gradient reuse (a
// Step ran since the last ZeroGrad). A non-finite per-sample gradient is
// not reported here but by the next real Step, on every rank, so that a
// distributed job never has some ranks waiting in a collective for a rank
// that gave up.
//
// Clipping here rather than at step time gives the same result as Opacus,
// because clip factors are per sample.
func (e *Engine[F]) AddBackward(srcs []GradSource[F]) error {
	layers := e.arena.Layers
	if len(srcs) != len(layers) {
		return fmt.Errorf("optimizer: AddBackward got %d gradient sources for an arena of %d layers; pass one per layer, in layer order", len(srcs), len(layers))
	}
	b := srcs[0].Samples()
	for l, s := range srcs {
		if s.Len() != layers[l].Len {
			return fmt.Errorf("optimizer: gradient source %d has length %d but layer %d (%q) has %d parameters", l, s.Len(), l, layers[l].Name, layers[l].Len)
		}
		if s.Samples() != b {
			return fmt.Errorf("optimizer: gradient source %d (layer %q) has %d samples but source 0 has %d; all layers must come from one backward pass", l, layers[l].Name, s.Samples(), b)
		}
	}
	if err := e.StartPass(); err != nil {
		return err
	}
	if e.bad != nil {
		return nil // the step will fail anyway
	}
	if e.clip.perLayer {
		for l, s := range srcs {
			if e.bad == nil {
				e.clipLayer(l, s, e.clip.thresholds[l])
			}
		}
		return nil
	}
	e.clipFlat(srcs)
	return nil
}

// ClipLayer clips the per-sample gradients of layer l to that layer's
// threshold and adds them to the layer's slice of the arena's Grads. It is
// for optimizers that clip layer by layer as the backward pass produces
// them; call StartPass once per pass first. It returns an error if the
// engine uses flat clipping or src's length differs from the layer's. A
// non-finite gradient is recorded and reported by the next real step.
func (e *Engine[F]) ClipLayer(l int, src GradSource[F]) error {
	if !e.clip.perLayer {
		return errors.New("optimizer: ClipLayer needs per-layer clipping; flat clipping must see every layer at once (use AddBackward)")
	}
	if l < 0 || l >= len(e.arena.Layers) {
		return fmt.Errorf("optimizer: ClipLayer: layer index %d out of range [0, %d)", l, len(e.arena.Layers))
	}
	if src.Len() != e.arena.Layers[l].Len {
		return fmt.Errorf("optimizer: gradient source for layer %d (%q) has length %d but the layer has %d parameters", l, e.arena.Layers[l].Name, src.Len(), e.arena.Layers[l].Len)
	}
	if e.bad == nil {
		e.clipLayer(l, src, e.clip.thresholds[l])
	}
	return nil
}

func (e *Engine[F]) scratch(b int) {
	if cap(e.norms) < b {
		e.norms = make([]float64, b)
		e.sq = make([]float64, b)
		e.factors = make([]float64, b)
	}
	e.norms, e.sq, e.factors = e.norms[:b], e.sq[:b], e.factors[:b]
}

// checkNorms records the first non-finite norm of layer l and reports
// whether all were finite.
func (e *Engine[F]) checkNorms(l int, norms []float64) bool {
	for i, v := range norms {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			rank := -1
			if e.comm != nil {
				rank = e.rank
			}
			e.bad = &NonFiniteError{Step: e.steps, Rank: rank, Layer: e.arena.Layers[l].Name, LayerIndex: l, Sample: i}
			return false
		}
	}
	return true
}

// clipLayer clips src to threshold c, which covers layer l alone, and adds
// it to the layer's gradient.
func (e *Engine[F]) clipLayer(l int, src GradSource[F], c float64) {
	if mutant.SkipClipLayer0 && l == 0 {
		c = math.Inf(1)
	}
	e.scratch(src.Samples())
	if ca, ok := src.(ClipAdder[F]); ok {
		// A non-finite gradient may reach Grads here; the step fails
		// and ZeroGrad clears it.
		ca.ClipAdd(e.arena.Grad(l), c, e.norms, e.factors)
		if e.checkNorms(l, e.norms) && e.adapt != nil {
			e.adapt.count(l, e.norms, c)
		}
		return
	}
	src.Norms(e.norms)
	if !e.checkNorms(l, e.norms) {
		return
	}
	if e.adapt != nil {
		e.adapt.count(l, e.norms, c)
	}
	for i, n := range e.norms {
		e.factors[i] = ClipFactor(c, n)
	}
	src.AddWeighted(e.arena.Grad(l), e.factors)
}

func (e *Engine[F]) clipFlat(srcs []GradSource[F]) {
	if len(srcs) == 1 {
		e.clipLayer(0, srcs[0], e.clip.thresholds[0])
		return
	}
	e.scratch(srcs[0].Samples())
	clear(e.sq)
	for l, s := range srcs {
		s.Norms(e.norms)
		if !e.checkNorms(l, e.norms) {
			return
		}
		for i, n := range e.norms {
			e.sq[i] += n * n
		}
	}
	c := e.clip.thresholds[0]
	for i, s := range e.sq {
		e.sq[i] = math.Sqrt(s) // the samples' norms over all layers
		e.factors[i] = ClipFactor(c, e.sq[i])
	}
	if e.adapt != nil {
		e.adapt.count(0, e.sq, c)
	}
	for l, s := range srcs {
		s.AddWeighted(e.arena.Grad(l), e.factors)
	}
}

// ScaleFactor returns the factor the noisy clipped sum is multiplied by
// before the sum over ranks: 1/(B·k·W) for Mean (B the per-rank expected
// batch size, k the current AccumulatedIterations, W the world size), 1 for
// Sum.
func (e *Engine[F]) ScaleFactor() float64 {
	if e.cfg.LossReduction == Sum {
		return 1
	}
	return 1 / (e.cfg.ExpectedBatchSize * float64(e.k) * float64(e.size))
}

// NoiseAndScale adds the noise of one step to Grads[lo:hi] (the part of it
// this rank draws under the configured NoiseMode: all of it on rank 0 and
// none elsewhere by default, always all of it for a single process), then
// multiplies Grads[lo:hi] by ScaleFactor. Step calls it on the whole
// buffer; an optimizer that reduces layers as they finish calls it once per
// range it reduces.
func (e *Engine[F]) NoiseAndScale(lo, hi int) {
	e.noise(lo, hi, e.std)
	if f := e.ScaleFactor(); f != 1 {
		prec.Scale(f, e.arena.Grads[lo:hi])
	}
}

// NoiseScaled adds the noise of one step to Grads[lo:hi] when the clipped
// sum there has already been multiplied by ScaleFactor (an optimizer that
// folds the scale into the clip weights): the std per coordinate is
// NoiseStd()·ScaleFactor(), drawn by the same ranks and from the same
// generator as in NoiseAndScale, and nothing is scaled.
func (e *Engine[F]) NoiseScaled(lo, hi int) {
	e.noise(lo, hi, e.std*e.ScaleFactor())
}

// noise is the engine's one noise rule: it adds N(0, std²) from the
// configured generator to each coordinate of Grads[lo:hi] that this rank
// draws (see noiseShard), so that over the ranks every coordinate receives
// exactly one draw.
func (e *Engine[F]) noise(lo, hi int, std float64) {
	lo, hi = max(lo, e.noiseLo), min(hi, e.noiseHi)
	if lo < hi && !mutant.NoNoise {
		addNoise(e.arena.Grads[lo:hi], std, e.cfg.Generator, e.cfg.SecureMode, &e.noiseBuf)
	}
}

// noiseShard returns the range [lo, hi) of the p gradient coordinates that
// rank r of w draws the noise for: all of them on rank 0 and none on the
// others under RankZeroNoise; [⌊r·p/w⌋, ⌊(r+1)·p/w⌋) under ShardedNoise, a
// partition of [0, p) whose parts differ in length by at most one.
func noiseShard(p, r, w int, mode NoiseMode) (lo, hi int) {
	if mode == ShardedNoise {
		return r * p / w, (r + 1) * p / w
	}
	if r == 0 {
		return 0, p
	}
	return 0, 0
}

// probeSlots is the number of status slots the first step uses for the
// ranks' generator probes: one per rank in distributed mode, whatever the
// noise mode, so that every rank reduces the same length even when the
// ranks disagree on the mode. Only ShardedNoise fills and reads them.
func (e *Engine[F]) probeSlots() int {
	if e.comm == nil {
		return 0
	}
	return e.size
}

// Step ends a physical step. It pops the skip FIFO: a skipped step returns
// (false, nil) and does nothing else. Otherwise it checks that no rank saw a
// non-finite gradient (and, at the first real step, that all ranks agree on
// the configuration), adds noise (see NoiseAndScale), scales, sums Grads over the
// ranks with one AllreduceSum, calls the step hook and applies the wrapped
// optimizer; it then returns (true, nil). In distributed mode a real step
// performs two collectives on every rank, even with an empty local batch:
// a small status AllreduceSum and the gradient AllreduceSum.
//
// Calling Step twice without ZeroGrad, or with no backward pass since
// ZeroGrad, is an error. After an error the parameters are unchanged, no
// step is recorded and Grads is unspecified; call ZeroGrad before going on.
// Every rank must call Step the same number of times.
func (e *Engine[F]) Step() (bool, error) {
	return e.step(e.finishFlat, true)
}

func (e *Engine[F]) finishFlat() error {
	e.NoiseAndScale(0, len(e.arena.Grads))
	if e.comm == nil {
		return nil
	}
	if err := e.comm.AllreduceSum(e.arena.Grads); err != nil {
		return fmt.Errorf("optimizer: step %d on rank %d: sum-allreduce of the gradient buffer (%d values): %w", e.steps, e.rank, len(e.arena.Grads), err)
	}
	return nil
}

// StepWith is Step for an optimizer that noises, scales and reduces the
// gradient itself, for example with non-blocking reductions started during
// the backward pass. On a real step it calls finish exactly once, first,
// and finish must leave in Grads the final gradient (noised on rank 0 with
// NoiseAndScale, scaled by ScaleFactor and summed over the ranks); then
// come the collective checks, the step hook and the update, as in Step. On
// a skipped step, or when the usage checks fail, finish is not called.
func (e *Engine[F]) StepWith(finish func() error) (bool, error) {
	return e.step(finish, false)
}

// step runs a step; checkFirst runs the collective checks before finish,
// so that a rank with a bad gradient or a mismatched configuration never
// enters the gradient reduction.
func (e *Engine[F]) step(finish func() error, checkFirst bool) (bool, error) {
	if e.consumed {
		return false, fmt.Errorf("optimizer: Step called twice without ZeroGrad after step %d (%w); call ZeroGrad after every Step", e.steps, ErrGradientReuse)
	}
	if e.k == 0 {
		return false, fmt.Errorf("optimizer: Step %d called with no backward pass since ZeroGrad; call AddBackward (even for an empty batch) before Step", e.steps)
	}
	e.consumed = true
	if e.popSkip() {
		e.lastSkipped = true
		return false, nil
	}
	e.lastSkipped = false
	if checkFirst {
		if err := e.collectiveCheck(); err != nil {
			return false, err
		}
	}
	if err := finish(); err != nil {
		return false, err
	}
	if !checkFirst {
		if err := e.collectiveCheck(); err != nil {
			return false, err
		}
	}
	if e.hook != nil && !(mutant.HookEveryOther && e.steps%2 == 1) {
		if err := e.hook(e.cfg.NoiseMultiplier, mutant.Passes(e.k)); err != nil {
			return false, fmt.Errorf("optimizer: step %d: step hook: %w", e.steps, err)
		}
	}
	e.inner.Update(e.arena.Params, e.arena.Grads)
	if e.adapt != nil {
		e.adapt.update(e.clip.thresholds, e.cfg.ExpectedBatchSize*float64(e.k)*float64(e.size))
		e.setStd()
	}
	e.steps++
	return true, nil
}
