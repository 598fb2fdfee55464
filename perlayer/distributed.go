package perlayer

import (
	"errors"
	"fmt"
	"hash/fnv"
	"runtime"
	"strings"

	"github.com/dpmpi/dpmpi/internal/fingerprint"
	"github.com/dpmpi/dpmpi/internal/prec"
	"github.com/dpmpi/dpmpi/optimizer"
)

// DefaultBucketBytes is the default bucket size of a
// DistributedPerLayerOptimizer: finished layers are gathered, in the order
// the backward pass produces them, until they hold at least this many bytes
// of gradient (4 or 8 bytes a value), and the bucket is then reduced while the backward
// pass goes on. It equals four of package mpi's default 1 MiB reduction
// chunks.
const DefaultBucketBytes = 4 << 20

// Progress says when the bucket reductions of an eager pass run.
type Progress int

const (
	// ReduceInStep (the default) noises and scales each bucket as it
	// finishes during the backward pass (folding the scale into the clip
	// weights when it can) and leaves one AllreduceSum of the whole
	// gradient, as fast as a raw reduction, for Step. Nothing overlaps, so
	// nothing competes with the backward pass for the CPU.
	ReduceInStep Progress = iota
	// ReduceConcurrently also reduces each finished bucket at once on a
	// communication goroutine, overlapping the rest of the backward pass.
	// It can pay off only when the reduction does not need the cores the
	// backward pass uses (spare cores, or a network that moves data by
	// itself), and for models whose first layer is a small share of the
	// gradient. It stays as the schedule to measure there: on every
	// transport measured so far it made the step slower. With 2 ranks on
	// shared memory (BenchmarkOverlap, 1 Mi parameters, 30 iterations) the
	// overlapped step took 8.0–8.1 ms against 7.3 ms for ReduceInStep
	// (hidden share −9% and +5% on the two ranks, −47% and −22% from the
	// minima); over TCP between network namespaces (internal/multihost's
	// BenchmarkOverlapModel, MLP, 2 ranks on one CPU each) the hidden
	// share was −55% at 10 Gb/s and −28% at 1 Gb/s. A rank that uses it
	// owns a goroutine until Close.
	ReduceConcurrently
)

// String returns the constant's name.
func (p Progress) String() string {
	switch p {
	case ReduceInStep:
		return "ReduceInStep"
	case ReduceConcurrently:
		return "ReduceConcurrently"
	}
	return fmt.Sprintf("Progress(%d)", int(p))
}

// DistributedPerLayerOptimizer is the distributed optimizer with per-layer
// clipping that processes each layer while the backward pass runs and can
// overlap the gradient reduction with it.
//
// The model's backward pass calls LayerReady(l, src) as soon as the
// per-sample gradients of arena layer l exist (its signature is that of the
// ready callback of nn.Sequential.Backward, so o.LayerReady can be passed
// directly). LayerReady clips layer l to its threshold C_l and adds the
// clipped sum into the layer's slice of the arena's Grads. On an eager pass
// (see below) the layers are also grouped into buckets: contiguous runs of
// arena layers, formed from the last layer backwards (the order in which a
// backward pass finishes them) until a bucket holds at least BucketBytes
// bytes. When every layer of a bucket has been clipped, rank 0 adds the
// noise N(0, (σ·‖C‖₂)²) to the bucket, every rank multiplies it by
// 1/(B_w·k·W) (Mean; 1 for Sum) and, with ReduceConcurrently, the bucket's
// sum-Allreduce starts while the backward pass continues. Step waits for
// every bucket (or, with ReduceInStep, reduces the whole buffer at once),
// then runs the collective checks, the step hook and the update of the
// wrapped optimizer. The result is the same G as SimpleDistributedPerLayerOptimizer and, at
// W = 1, DPPerLayerOptimizer:
//
//	G = (Σ_r S_r + Z)/(B_w·k·W)   (Mean),   G = Σ_r S_r + Z   (Sum).
//
// The noise comes from the configured generator (or the secure one), drawn
// bucket by bucket in the order the buckets finish: a seed reproduces a run
// bit for bit at the same W and bucket layout, but eager steps assign the
// draws to coordinates in another order than Simple does.
//
// # When the reduction is eager
//
// Noise must be drawn once per logical step and the scale must use the
// real number k of accumulated passes, so only the pass that ends a logical
// step can reduce eagerly. A pass is eager when, at its first LayerReady,
//   - the next Step is real (PeekSkip is false: skip signals must be given
//     before the backward pass, as Opacus's batch splitting does),
//   - the pass is the PassesPerStep-th since ZeroGrad (default 1; set it
//     with SetPassesPerStep when accumulating gradients by hand), and
//   - a real step has already succeeded since construction or the last
//     change of the bucket size or passes per step (the first step is the
//     one where the ranks check that they agree; see below).
//
// Every other pass only clips and accumulates, and its Step falls back to
// the engine's path: noise and scale of the whole buffer and one
// AllreduceSum, which is always correct. A backward pass that starts after
// an eager pass and before Step/ZeroGrad is an error, as is a SignalSkip(true)
// that reaches the head of the skip queue after an eager pass started.
//
// # Progress of the reduction
//
// Open MPI progresses a non-blocking collective only inside MPI calls, so
// overlap needs either MPI_Test calls during the backward pass or a thread
// that sits in MPI. SetProgress chooses between two schedules:
//
//   - ReduceConcurrently hands each finished bucket to a communication
//     goroutine, which runs the blocking AllreduceSum of the buckets in the
//     order they finished (the same order on every rank) while the
//     backward pass goes on. It needs nothing beyond
//     optimizer.Communicator, and it is the schedule that can overlap when
//     the reduction does not need the cores the backward pass computes on.
//   - ReduceInStep, the default, only noises and scales each bucket as it
//     finishes (folding the scale 1/(B_w·k·W) into the clip weights when
//     the pass starts from a zero buffer, which saves a pass over the
//     gradient) and leaves one AllreduceSum of the whole buffer to Step.
//
// The default follows BenchmarkOverlap (bench_test.go) on the project's
// 2-core machines with 2 ranks, where the shared-memory reduction is itself
// CPU work (copies and sums) that competes with the backward pass for each
// rank's one core: no schedule hid a measurable share of the reduction;
// the communication goroutine made the overlapped pass slower than
// backward and reduction one after the other (its busy-polling thread
// steals the core), MPI_Iallreduce polled with MPI_Test at every layer
// boundary progressed only at those few points and its non-blocking
// algorithm was slower than the blocking one. Over TCP links between
// network namespaces (10 and 1 Gb/s) the communication goroutine made the
// step slower too (see ReduceConcurrently for the figures). ReduceInStep
// costs what a raw reduction of the gradient costs
// (BenchmarkCommunication), where SimpleDistributedPerLayerOptimizer adds
// a scaling pass. Choose ReduceConcurrently only on nodes with spare cores
// or a network that moves data by itself, and measure.
//
// The communication goroutine is started at the first concurrent bucket
// and ends with Close (see there); the noise generator is used only by the
// calling goroutine.
//
// # Collectives and failures
//
// Every rank must make the same calls (LayerReady for every layer of every
// pass, SignalSkip, SetPassesPerStep, SetBucketBytes, Step, ZeroGrad) in the
// same order; a rank whose local batch is empty still calls LayerReady for
// every layer with a source of zero samples and so joins every reduction.
// Skipped steps communicate nothing. A real step performs, on every rank,
// the bucket reductions (an eager pass with ReduceConcurrently) or one
// gradient reduction (otherwise), then a small status reduction. The first real step, and the first after a
// setter changed the schedule, is a fallback step that first checks that
// the ranks agree on the bucket size, the passes per step, the bucket
// layout and the progress mode, then (in the engine) on the layer table,
// thresholds, σ, expected batch size and reduction; a mismatch is an error on every rank, before
// any gradient is reduced. A non-finite per-sample gradient makes Step fail
// on every rank with an *optimizer.NonFiniteError, never a hang.
//
// A DistributedPerLayerOptimizer is not safe for concurrent use.
type DistributedPerLayerOptimizer[F optimizer.Float] struct {
	e    *optimizer.Engine[F]
	comm optimizer.Communicator[F]

	bucketBytes   int
	passesPerStep int
	progress      Progress
	checked       bool // the ranks agreed on the schedule at a real step

	// Bucket layout: bucket b holds layers [blo[b], bhi[b]); buckets are
	// numbered in the order a reverse-order backward pass completes them.
	blo, bhi    []int
	layerBucket []int
	need        []int // layers still missing per bucket in this pass

	// Where the step is, and the layers of the current pass.
	state     passState
	seen      []bool
	nSeen     int
	samples   int
	scaled    scaledSource[F]
	eagerDone int // real steps reduced eagerly

	red     *reducer[F]
	cleanup runtime.Cleanup // the safety net that ends red's goroutine (see Close)
	finish  func() error
	pend    error // error of a drained reduction, reported by the next Step
	fp      []float64
}

// passState is where a DistributedPerLayerOptimizer is in its step. The
// optimizer moves from idleDirty or idleClean (after ZeroGrad) through one
// or more passes (clipping, between; the last one possibly eager or
// folding, then eagerDone) to stepped or applied (after Step), and back to
// an idle state with ZeroGrad; closed is final.
type passState int

const (
	// idleDirty: after ZeroGrad (or construction), before the first pass;
	// Grads may hold a sum kept by a skipped or failed step.
	idleDirty passState = iota
	// idleClean: after the ZeroGrad of an applied step, before the first
	// pass; Grads is zero, so an eager first pass may fold the scale.
	idleClean
	// clipping: in a backward pass that only clips and accumulates.
	clipping
	// between: between backward passes that only clip.
	between
	// eager: in the pass that ends the logical step, noising and scaling
	// each bucket as it completes.
	eager
	// folding: an eager pass that started from a zero buffer and folds the
	// scale 1/(B_w·k·W) into the clip weights.
	folding
	// eagerDone: the eager pass ended; Step finishes the reduction.
	eagerDone
	// stepped: Step ran and did not apply an update (skipped or failed).
	stepped
	// applied: Step returned (true, nil).
	applied
	// closed: Close ran; every later call fails.
	closed
)

// inPass reports whether a backward pass is under way.
func (s passState) inPass() bool { return s == clipping || s == eager || s == folding }

// idle reports whether the optimizer is between ZeroGrad and the first
// pass of a step.
func (s passState) idle() bool { return s == idleDirty || s == idleClean }

// NewDistributedPerLayerOptimizer returns a DistributedPerLayerOptimizer
// over the arena a, with one clipping threshold per arena layer in
// maxGradNorms (a count mismatch is an error naming both counts), updating
// a.Params with inner and reducing over comm. cfg carries the other
// parameters of Opacus's constructor: the noise multiplier σ, the per-rank
// expected batch size B_w, the loss reduction, the generator (used for
// every noise draw) and secure mode. The bucket size is DefaultBucketBytes,
// the passes per step 1 and the progress ReduceInStep. Every rank must call it with identical
// arguments; the first real step checks this.
func NewDistributedPerLayerOptimizer[F optimizer.Float](a *optimizer.Arena[F], inner optimizer.Updater[F], maxGradNorms []float64, cfg optimizer.Config, comm optimizer.Communicator[F]) (*DistributedPerLayerOptimizer[F], error) {
	if comm == nil {
		return nil, errors.New("perlayer: NewDistributedPerLayerOptimizer needs a communicator; use NewDPPerLayerOptimizer for a single process")
	}
	e, err := optimizer.NewEngine(a, inner, optimizer.PerLayerClipping(maxGradNorms), cfg, comm)
	if err != nil {
		return nil, err
	}
	n := len(a.Layers)
	o := &DistributedPerLayerOptimizer[F]{
		e:             e,
		comm:          comm,
		passesPerStep: 1,
		seen:          make([]bool, n),
		layerBucket:   make([]int, n),
		fp:            make([]float64, schedFields*fingerprint.Slots),
		red: &reducer[F]{
			comm:  comm,
			rank:  comm.Rank(),
			grads: a.Grads,
			queue: make(chan bucketJob, n+1),
			done:  make(chan error, 1),
		},
	}
	o.finish = o.finishEager
	o.layout(DefaultBucketBytes)
	return o, nil
}

// layout partitions the layers into buckets of at least bytes bytes, from
// the last layer backwards.
func (o *DistributedPerLayerOptimizer[F]) layout(bytes int) {
	o.bucketBytes = bytes
	layers := o.e.Arena().Layers
	o.blo, o.bhi = o.blo[:0], o.bhi[:0]
	hi, size := len(layers), 0
	for l := len(layers) - 1; l >= 0; l-- {
		size += prec.Size[F]() * layers[l].Len
		if size >= bytes || l == 0 {
			o.blo, o.bhi = append(o.blo, l), append(o.bhi, hi)
			hi, size = l, 0
		}
	}
	for b := range o.blo {
		for l := o.blo[b]; l < o.bhi[b]; l++ {
			o.layerBucket[l] = b
		}
	}
	o.need = make([]int, len(o.blo))
}

// BucketBytes returns the bucket size in bytes.
func (o *DistributedPerLayerOptimizer[F]) BucketBytes() int { return o.bucketBytes }

// SetBucketBytes sets the bucket size: buckets gather finished layers until
// they hold at least n bytes of gradient (a layer larger than n is a bucket
// of its own; n = 1 reduces every layer separately). It must be called
// identically on every rank, between ZeroGrad and the next backward pass;
// the next real step is then a checked fallback step. It returns an error
// for n ≤ 0 or when called during a step.
func (o *DistributedPerLayerOptimizer[F]) SetBucketBytes(n int) error {
	if n <= 0 {
		return fmt.Errorf("perlayer: bucket size %d bytes; it must be > 0 (default %d)", n, DefaultBucketBytes)
	}
	if err := o.idle("SetBucketBytes"); err != nil {
		return err
	}
	o.layout(n)
	o.checked = false
	return nil
}

// PassesPerStep returns the number of backward passes a logical step is
// declared to accumulate.
func (o *DistributedPerLayerOptimizer[F]) PassesPerStep() int { return o.passesPerStep }

// SetPassesPerStep declares that each logical step accumulates k backward
// passes (manual gradient accumulation): only the k-th pass since ZeroGrad
// reduces eagerly. A step with fewer passes than declared is still correct
// (it falls back to one reduction in Step); a pass beyond the k-th is an
// error. It must be called identically on every rank, between ZeroGrad and
// the next backward pass; the next real step is then a checked fallback
// step. It returns an error for k < 1 or when called during a step.
func (o *DistributedPerLayerOptimizer[F]) SetPassesPerStep(k int) error {
	if k < 1 {
		return fmt.Errorf("perlayer: %d passes per step; it must be ≥ 1", k)
	}
	if err := o.idle("SetPassesPerStep"); err != nil {
		return err
	}
	o.passesPerStep = k
	o.checked = false
	return nil
}

func (o *DistributedPerLayerOptimizer[F]) idle(what string) error {
	if o.state == closed {
		return o.closedErr(what)
	}
	if !o.state.idle() || o.e.AccumulatedIterations() > 0 {
		return fmt.Errorf("perlayer: %s called during step %d (after a backward pass and before ZeroGrad); call it right after ZeroGrad", what, o.e.Steps())
	}
	return nil
}

// Progress returns when the reductions of an eager pass run.
func (o *DistributedPerLayerOptimizer[F]) Progress() Progress { return o.progress }

// SetProgress chooses when the reductions of an eager pass run (see
// Progress; the default is ReduceInStep). It must be called identically on
// every rank, between ZeroGrad and the next backward pass; the next real
// step is then a checked fallback step. It returns an error for an unknown
// value or when called during a step.
func (o *DistributedPerLayerOptimizer[F]) SetProgress(p Progress) error {
	if p != ReduceInStep && p != ReduceConcurrently {
		return fmt.Errorf("perlayer: unknown progress %v; use ReduceInStep or ReduceConcurrently", p)
	}
	if err := o.idle("SetProgress"); err != nil {
		return err
	}
	o.progress = p
	o.checked = false
	return nil
}

// NumBuckets returns the number of buckets the layers are grouped into.
func (o *DistributedPerLayerOptimizer[F]) NumBuckets() int { return len(o.blo) }

// Bucket returns the arena layers [lo, hi) of bucket b. Buckets are
// numbered in the order a backward pass in reverse layer order completes
// them: bucket 0 holds the last layer. It panics if b is out of range.
func (o *DistributedPerLayerOptimizer[F]) Bucket(b int) (lo, hi int) { return o.blo[b], o.bhi[b] }

// EagerSteps returns the number of real steps whose gradient was reduced
// during the backward pass (the others were reduced in Step).
func (o *DistributedPerLayerOptimizer[F]) EagerSteps() int { return o.eagerDone }

// LayerReady is the backward-pass hook: call it once per arena layer and
// backward pass, as soon as the layer's per-sample gradients exist, with
// the layer's arena index and its gradient source (zero samples for an
// empty local batch). Its signature is that of nn.Sequential.Backward's
// ready callback. The first call of a pass starts the pass (it increments
// AccumulatedIterations); the pass ends when every layer was signalled.
// Layers may come in any order that is the same on every rank; reverse
// layer order lets the first buckets start soonest.
//
// It returns an error, naming the layer, for an index out of range, a
// layer signalled twice in one pass, a source whose length or sample count
// does not match, a pass after Step without ZeroGrad (wrapping
// optimizer.ErrGradientReuse) and a pass after an eager pass of the same
// step. A non-finite gradient is reported by Step on every rank.
func (o *DistributedPerLayerOptimizer[F]) LayerReady(layer int, src optimizer.GradSource[F]) error {
	layers := o.e.Arena().Layers
	if layer < 0 || layer >= len(layers) {
		return fmt.Errorf("perlayer: LayerReady: layer index %d out of range [0, %d)", layer, len(layers))
	}
	switch {
	case o.state == closed:
		return o.closedErr("LayerReady")
	case o.state == eagerDone:
		return fmt.Errorf("perlayer: backward pass %d of step %d started after the eager pass that ended the step (%d passes per step); call Step and ZeroGrad first, or raise SetPassesPerStep", o.e.AccumulatedIterations()+1, o.e.Steps(), o.passesPerStep)
	case !o.state.inPass():
		if err := o.e.StartPass(); err != nil {
			return err
		}
		o.samples = src.Samples()
		k := o.e.AccumulatedIterations()
		s := o.e.ScaleFactor()
		switch {
		case o.e.PeekSkip() || k != o.passesPerStep || !o.checked || o.e.Steps() == 0:
			o.state = clipping
		case o.state == idleClean && s != 1: // k = 1: the first pass since a zeroing ZeroGrad
			o.state = folding
		default:
			o.state = eager
		}
		o.scaled.s = s
		for b := range o.need {
			o.need[b] = o.bhi[b] - o.blo[b]
		}
	default:
		if o.seen[layer] {
			return fmt.Errorf("perlayer: LayerReady: layer %d (%q) signalled twice in backward pass %d of step %d; signal each layer once per pass", layer, layers[layer].Name, o.e.AccumulatedIterations(), o.e.Steps())
		}
		if s := src.Samples(); s != o.samples {
			return fmt.Errorf("perlayer: LayerReady: layer %d (%q) has %d samples but the first layer of this backward pass had %d; all layers must come from one backward pass", layer, layers[layer].Name, s, o.samples)
		}
	}
	var clip optimizer.GradSource[F] = src
	if o.state == folding {
		clip = o.scaled.wrap(src)
	}
	err := o.e.ClipLayer(layer, clip)
	o.scaled.release()
	if err != nil {
		return err
	}
	o.seen[layer] = true
	o.nSeen++
	if o.state != clipping {
		b := o.layerBucket[layer]
		o.need[b]--
		if o.need[b] == 0 {
			lo, hi := o.span(b)
			if o.state == folding {
				o.e.NoiseScaled(lo, hi) // the clipped sum is already scaled
			} else {
				o.e.NoiseAndScale(lo, hi)
			}
			if o.progress == ReduceConcurrently { // else Step reduces the whole buffer
				o.reduce(bucketJob{lo: lo, hi: hi, bucket: b, first: o.blo[b], last: o.bhi[b] - 1, step: o.e.Steps()})
			}
		}
	}
	if o.nSeen == len(layers) {
		if o.state == clipping {
			o.state = between
		} else {
			o.state = eagerDone
		}
		o.nSeen = 0
		clear(o.seen)
	}
	return nil
}

// reduce hands a bucket to the communication goroutine, starting it at the
// first bucket.
func (o *DistributedPerLayerOptimizer[F]) reduce(j bucketJob) {
	if !o.red.started {
		o.red.started = true
		go o.red.run()
		// The safety net of Close: the goroutine holds only the reducer,
		// so when o becomes unreachable, closing the queue ends it.
		o.cleanup = runtime.AddCleanup(o, func(q chan bucketJob) { close(q) }, o.red.queue)
	}
	o.red.pending = true
	o.red.queue <- j
}

// span returns the range of Grads covered by bucket b.
func (o *DistributedPerLayerOptimizer[F]) span(b int) (lo, hi int) {
	layers := o.e.Arena().Layers
	last := layers[o.bhi[b]-1]
	return layers[o.blo[b]].Offset, last.Offset + last.Len
}

// bucketJob is one bucket reduction for the communication goroutine, or,
// with end set, the request to report the pass's first error.
type bucketJob struct {
	lo, hi, bucket, first, last, step int
	end                               bool
}

// reducer is the communication goroutine's state. It runs the blocking
// AllreduceSum of the buckets in the order they are queued and, at each end
// marker, reports the first error since the previous one on done. It never
// refers to the optimizer, so that an unreachable optimizer can be
// collected (its cleanup closes queue, which ends the goroutine).
type reducer[F optimizer.Float] struct {
	comm  optimizer.Communicator[F]
	rank  int
	grads []F
	queue chan bucketJob
	done  chan error
	// Owned by the optimizer's goroutine: the goroutine runs, and buckets
	// were queued since the last end marker.
	started, pending bool
}

func (r *reducer[F]) run() {
	var first error
	for j := range r.queue {
		if j.end {
			r.done <- first
			first = nil
			continue
		}
		if err := r.comm.AllreduceSum(r.grads[j.lo:j.hi]); err != nil && first == nil {
			first = fmt.Errorf("perlayer: step %d on rank %d: sum-allreduce of bucket %d (layers %d..%d, %d values): %w", j.step, r.rank, j.bucket, j.first, j.last, j.hi-j.lo, err)
		}
	}
}

// finishEager completes the reduction of an eager pass for StepWith.
func (o *DistributedPerLayerOptimizer[F]) finishEager() error {
	if o.progress == ReduceConcurrently {
		return o.waitAll()
	}
	g := o.e.Arena().Grads
	if err := o.comm.AllreduceSum(g); err != nil {
		return fmt.Errorf("perlayer: step %d on rank %d: sum-allreduce of the gradient buffer (%d values): %w", o.e.Steps(), o.e.Rank(), len(g), err)
	}
	return nil
}

// waitAll waits until the communication goroutine has reduced every
// bucket handed to it in this pass and returns the first error.
func (o *DistributedPerLayerOptimizer[F]) waitAll() error {
	if !o.red.pending {
		return nil
	}
	o.red.pending = false
	o.red.queue <- bucketJob{end: true}
	return <-o.red.done
}

// AddBackward is LayerReady for every layer of one backward pass, in
// reverse layer order, for models that produce all layers at once. srcs
// holds one source per arena layer, in layer order.
func (o *DistributedPerLayerOptimizer[F]) AddBackward(srcs []optimizer.GradSource[F]) error {
	if n := len(o.e.Arena().Layers); len(srcs) != n {
		return fmt.Errorf("perlayer: AddBackward got %d gradient sources for an arena of %d layers; pass one per layer, in layer order", len(srcs), n)
	}
	for l := len(srcs) - 1; l >= 0; l-- {
		if err := o.LayerReady(l, srcs[l]); err != nil {
			return err
		}
	}
	return nil
}

// SignalSkip queues a skip signal for a coming Step (see
// optimizer.Engine.SignalSkip). A virtual step communicates nothing. Signal
// a skip before the backward pass of the step it skips: a pass is reduced
// eagerly when the queue's head is false as the pass starts.
func (o *DistributedPerLayerOptimizer[F]) SignalSkip(skip bool) { o.e.SignalSkip(skip) }

// Step ends a physical step, as optimizer.Engine.Step does: a skipped step
// returns (false, nil) and communicates nothing; a real step returns
// (true, nil) after the reduction, the collective checks, the step hook and
// the update. After an eager pass it waits for every bucket reduction;
// otherwise it noises, scales and reduces the whole buffer at once.
//
// It returns an error for a Step during a backward pass (some layers not
// yet signalled), a second Step without ZeroGrad, no pass since ZeroGrad,
// a skip signal that arrived after an eager pass started, a failed
// reduction, a configuration that differs between ranks (first step) and a
// non-finite gradient on any rank (*optimizer.NonFiniteError). After an
// error the parameters are unchanged and Grads is unspecified; call
// ZeroGrad before going on.
func (o *DistributedPerLayerOptimizer[F]) Step() (bool, error) {
	steps := o.e.Steps()
	switch {
	case o.state == closed:
		return false, o.closedErr("Step")
	case o.state.inPass():
		werr := o.waitAll()
		return false, errors.Join(fmt.Errorf("perlayer: Step %d called during a backward pass: %d of %d layers signalled; signal every layer with LayerReady before Step", steps, o.nSeen, len(o.seen)), werr)
	}
	if o.pend != nil {
		err := o.pend
		o.pend = nil
		return false, err
	}
	var ok bool
	var err error
	switch o.state {
	case stepped, applied:
		ok, err = o.e.Step() // the engine reports the reuse
	case eagerDone:
		if o.e.PeekSkip() {
			werr := o.waitAll()
			o.state = stepped
			return false, errors.Join(fmt.Errorf("perlayer: step %d: a skip signal reached the head of the queue after this step's eager reduction had started; call SignalSkip before the backward pass of the step it skips", steps), werr)
		}
		if ok, err = o.e.StepWith(o.finish); ok {
			o.eagerDone++
		}
	default: // idle or between passes: the engine's path
		if !o.checked && !o.e.PeekSkip() && o.e.AccumulatedIterations() > 0 {
			if err := o.agree(); err != nil {
				o.state = stepped
				return false, err
			}
		}
		ok, err = o.e.Step()
	}
	if ok && err == nil {
		o.state = applied
	} else {
		o.state = stepped
	}
	return ok, err
}

// ZeroGrad ends a step (see optimizer.Engine.ZeroGrad). It must be called
// after every Step, skipped or not, and after an error. Outstanding bucket
// reductions of an abandoned pass are waited for first; their error, if
// any, is returned by the next Step.
func (o *DistributedPerLayerOptimizer[F]) ZeroGrad() {
	if o.state == closed {
		return
	}
	if err := o.waitAll(); err != nil && o.pend == nil {
		o.pend = err
	}
	o.nSeen = 0
	clear(o.seen)
	o.e.ZeroGrad()
	// After an applied step the engine zeroes Grads; after a skipped or
	// failed one it may keep them.
	if o.state == applied {
		o.state = idleClean
	} else {
		o.state = idleDirty
	}
}

// Close ends the optimizer's communication goroutine, which
// ReduceConcurrently starts at the first bucket it reduces: it waits for
// the bucket reductions already handed to it and returns the error of any
// that no Step has reported. Call it, on every rank, when done with the
// optimizer (an outstanding reduction is a collective). Close is
// idempotent: later calls return nil. After Close, LayerReady, Step and the
// setters return an error and ZeroGrad does nothing; the arena and the
// wrapped optimizer stay usable. An optimizer that uses ReduceInStep owns no
// goroutine, and Close only ends its use.
//
// An optimizer dropped without Close does not leak its goroutine: a
// runtime cleanup ends it once the optimizer is garbage collected. That is
// a safety net, not the contract.
func (o *DistributedPerLayerOptimizer[F]) Close() error {
	if o.state == closed {
		return nil
	}
	o.state = closed
	err := o.waitAll()
	if err == nil {
		err = o.pend
	}
	o.pend = nil
	if o.red.started {
		o.cleanup.Stop()
		close(o.red.queue)
		o.red.started = false
	}
	return err
}

func (o *DistributedPerLayerOptimizer[F]) closedErr(what string) error {
	return fmt.Errorf("perlayer: %s after Close (step %d); build a new optimizer", what, o.e.Steps())
}

// scaledSource is a GradSource whose weighted sum is multiplied by s: the
// scale 1/(B_w·k·W) folded into the clip factors, which saves a pass over
// the gradient when the pass starts from a zero buffer.
type scaledSource[F optimizer.Float] struct {
	src optimizer.GradSource[F]
	s   float64
	w   []float64
	ca  scaledClipAdder[F]
}

// wrap returns src scaled by g.s: g itself or, when src implements
// optimizer.ClipAdder, g's ClipAdder twin, so that the engine keeps the
// source's one-pass clipping.
func (g *scaledSource[F]) wrap(src optimizer.GradSource[F]) optimizer.GradSource[F] {
	g.src = src
	if ca, ok := src.(optimizer.ClipAdder[F]); ok {
		g.ca.scaledSource, g.ca.clip = g, ca
		return &g.ca
	}
	return g
}

// release drops the wrapped source.
func (g *scaledSource[F]) release() { g.src, g.ca.clip = nil, nil }

func (g *scaledSource[F]) Samples() int        { return g.src.Samples() }
func (g *scaledSource[F]) Len() int            { return g.src.Len() }
func (g *scaledSource[F]) Norms(dst []float64) { g.src.Norms(dst) }

func (g *scaledSource[F]) AddWeighted(dst []F, w []float64) {
	if cap(g.w) < len(w) {
		g.w = make([]float64, len(w))
	}
	sw := g.w[:len(w)]
	for i, x := range w {
		sw[i] = g.s * x
	}
	g.src.AddWeighted(dst, sw)
}

// scaledClipAdder is scaledSource over a source that implements
// optimizer.ClipAdder. ClipAdd clips and accumulates with the source's own
// one pass, then multiplies the layer's gradient by s: a pass over the
// layer (n values) instead of a second pass over its per-sample block (B·n
// values). A folded pass starts from a zero buffer and signals every layer
// once, so dst holds only this source's sum.
type scaledClipAdder[F optimizer.Float] struct {
	*scaledSource[F]
	clip optimizer.ClipAdder[F]
}

func (g *scaledClipAdder[F]) ClipAdd(dst []F, maxNorm float64, norms, factors []float64) {
	g.clip.ClipAdd(dst, maxNorm, norms, factors)
	prec.Scale(g.s, dst)
}

// schedFields is the number of 64-bit values of the schedule fingerprint.
const schedFields = 4

var schedNames = [schedFields]string{"bucket size", "passes per step", "bucket layout", "progress"}

// agree checks, with one small AllreduceSum of internal/fingerprint's
// encoding, that every rank has the same bucket size, passes per step,
// bucket layout and progress.
func (o *DistributedPerLayerOptimizer[F]) agree() error {
	f := fnv.New64a()
	h := fingerprint.NewHasher(f)
	for b := range o.blo {
		h.Uint64(uint64(o.blo[b]))
		h.Uint64(uint64(o.bhi[b]))
	}
	fp := [schedFields]uint64{uint64(o.bucketBytes), uint64(o.passesPerStep), f.Sum64(), uint64(o.progress)}
	fingerprint.Put(o.fp, fp[:])
	if err := o.comm.AllreduceSumFloat64(o.fp); err != nil {
		return fmt.Errorf("perlayer: step %d on rank %d: sum-allreduce of the schedule check: %w", o.e.Steps(), o.e.Rank(), err)
	}
	var differ []string
	for _, i := range fingerprint.Differ(o.fp, fp[:], o.e.WorldSize()) {
		differ = append(differ, schedNames[i])
	}
	if len(differ) > 0 {
		return fmt.Errorf("perlayer: step %d on rank %d of %d: the ranks disagree on the %s (this rank: bucket size %d bytes, %d passes per step, %d buckets over %d layers, %v); call SetBucketBytes, SetPassesPerStep and SetProgress identically on every rank and build the same model",
			o.e.Steps(), o.e.Rank(), o.e.WorldSize(), strings.Join(differ, ", "), o.bucketBytes, o.passesPerStep, len(o.blo), len(o.seen), o.progress)
	}
	o.checked = true
	return nil
}

// ZeroGrad, Step and LayerReady keep the state above; the accessors below
// forward to the engine.

// AccumulatedIterations returns k, the number of backward passes since the
// last ZeroGrad (a pass counts from its first LayerReady).
func (o *DistributedPerLayerOptimizer[F]) AccumulatedIterations() int {
	return o.e.AccumulatedIterations()
}

// Steps returns the number of real steps applied so far.
func (o *DistributedPerLayerOptimizer[F]) Steps() int { return o.e.Steps() }

// SetStepHook installs the hook called once per real step with (σ, k),
// after the reduction and before the update (see optimizer.StepHook); nil
// removes it.
func (o *DistributedPerLayerOptimizer[F]) SetStepHook(h optimizer.StepHook) { o.e.SetStepHook(h) }

// Arena returns the arena the optimizer clips into and updates.
func (o *DistributedPerLayerOptimizer[F]) Arena() *optimizer.Arena[F] { return o.e.Arena() }

// Updater returns the wrapped optimizer.
func (o *DistributedPerLayerOptimizer[F]) Updater() optimizer.Updater[F] { return o.e.Updater() }

// Config returns the validated configuration, with the generator used.
func (o *DistributedPerLayerOptimizer[F]) Config() optimizer.Config { return o.e.Config() }

// Clipping returns the per-layer clipping thresholds.
func (o *DistributedPerLayerOptimizer[F]) Clipping() optimizer.Clipping { return o.e.Clipping() }

// NoiseStd returns the noise std per coordinate of the clipped sum,
// σ·‖(C_1..C_L)‖₂ (z_grad·‖(C_1..C_L)‖₂ with adaptive thresholds; see
// optimizer.QuantileClipping).
func (o *DistributedPerLayerOptimizer[F]) NoiseStd() float64 { return o.e.NoiseStd() }

// MechanismNoise returns the noise multipliers of the mechanisms a step
// releases (optimizer.Engine.MechanismNoise): nil with fixed thresholds,
// [z_grad, z_count] with adaptive ones.
func (o *DistributedPerLayerOptimizer[F]) MechanismNoise() []float64 { return o.e.MechanismNoise() }

// SetThresholds replaces the per-layer thresholds (optimizer.Engine.SetThresholds),
// as when resuming an adaptive run; call it right after ZeroGrad, with the
// same values on every rank.
func (o *DistributedPerLayerOptimizer[F]) SetThresholds(th []float64) error {
	if err := o.idle("SetThresholds"); err != nil {
		return err
	}
	return o.e.SetThresholds(th)
}

// Rank returns this process's rank.
func (o *DistributedPerLayerOptimizer[F]) Rank() int { return o.e.Rank() }

// WorldSize returns the number of ranks W.
func (o *DistributedPerLayerOptimizer[F]) WorldSize() int { return o.e.WorldSize() }
