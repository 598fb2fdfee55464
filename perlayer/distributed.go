package perlayer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"runtime"
	"strings"

	"github.com/dpmpi/dpmpi/internal/mutant"
	"github.com/dpmpi/dpmpi/optimizer"
)

// DefaultBucketBytes is the default bucket size of a
// DistributedPerLayerOptimizer: finished layers are gathered, in the order
// the backward pass produces them, until they hold at least this many bytes
// of float64 gradient, and the bucket is then reduced while the backward
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
	// It pays off when the reduction does not need the cores the backward
	// pass uses (a network that moves data by itself, or spare cores).
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
// algorithm was slower than the blocking one. ReduceInStep costs what a
// raw reduction of the gradient costs (BenchmarkCommunication), where
// SimpleDistributedPerLayerOptimizer adds a scaling pass. Choose
// ReduceConcurrently on nodes with spare cores or a network that moves
// data by itself, and measure.
//
// The communication goroutine is started at the first concurrent bucket
// and ends when the optimizer is garbage collected; the noise generator is
// used only by the calling goroutine.
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
type DistributedPerLayerOptimizer struct {
	e    *optimizer.Engine
	comm optimizer.Communicator

	bucketBytes   int
	passesPerStep int
	progress      Progress
	checked       bool // the ranks agreed on the schedule at a real step

	// Bucket layout: bucket b holds layers [blo[b], bhi[b]); buckets are
	// numbered in the order a reverse-order backward pass completes them.
	blo, bhi    []int
	layerBucket []int
	need        []int // layers still missing per bucket in this pass

	// Pass state.
	inPass    bool
	seen      []bool
	nSeen     int
	samples   int
	eager     bool // this step's final pass reduces eagerly
	fold      bool // this eager pass folds the scale into the clip weights
	clean     bool // Grads was zeroed by the last ZeroGrad
	lastOK    bool // the last Step returned (true, nil)
	scaled    scaledSource
	gen       optimizer.Generator
	secure    bool
	stepped   bool // Step ran since ZeroGrad
	running   bool // buckets were handed to the reducer in this pass
	eagerDone int  // real steps reduced eagerly

	red    *reducer
	finish func() error
	pend   error // error of a drained reduction, reported by the next Step
	fp     []float64
}

// NewDistributedPerLayerOptimizer returns a DistributedPerLayerOptimizer
// over the arena a, with one clipping threshold per arena layer in
// maxGradNorms (a count mismatch is an error naming both counts), updating
// a.Params with inner and reducing over comm. cfg carries the other
// parameters of Opacus's constructor: the noise multiplier σ, the per-rank
// expected batch size B_w, the loss reduction, the generator (used for
// every noise draw) and secure mode. The bucket size is DefaultBucketBytes,
// the passes per step 1 and the progress ReduceInStep. Every rank must call it with identical
// arguments; the first real step checks this.
func NewDistributedPerLayerOptimizer(a *optimizer.Arena, inner optimizer.Updater, maxGradNorms []float64, cfg optimizer.Config, comm optimizer.Communicator) (*DistributedPerLayerOptimizer, error) {
	if comm == nil {
		return nil, errors.New("perlayer: NewDistributedPerLayerOptimizer needs a communicator; use NewDPPerLayerOptimizer for a single process")
	}
	e, err := optimizer.NewEngine(a, inner, optimizer.PerLayerClipping(maxGradNorms), cfg, comm)
	if err != nil {
		return nil, err
	}
	n := len(a.Layers)
	o := &DistributedPerLayerOptimizer{
		e:             e,
		comm:          comm,
		passesPerStep: 1,
		seen:          make([]bool, n),
		layerBucket:   make([]int, n),
		fp:            make([]float64, schedFields*8),
		red: &reducer{
			comm:  comm,
			rank:  comm.Rank(),
			grads: a.Grads,
			queue: make(chan bucketJob, n+1),
			done:  make(chan error, 1),
		},
	}
	o.finish = o.finishEager
	cfg = e.Config()
	o.gen, o.secure = cfg.Generator, cfg.SecureMode
	o.layout(DefaultBucketBytes)
	return o, nil
}

// layout partitions the layers into buckets of at least bytes bytes, from
// the last layer backwards.
func (o *DistributedPerLayerOptimizer) layout(bytes int) {
	o.bucketBytes = bytes
	layers := o.e.Arena().Layers
	o.blo, o.bhi = o.blo[:0], o.bhi[:0]
	hi, size := len(layers), 0
	for l := len(layers) - 1; l >= 0; l-- {
		size += 8 * layers[l].Len
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
func (o *DistributedPerLayerOptimizer) BucketBytes() int { return o.bucketBytes }

// SetBucketBytes sets the bucket size: buckets gather finished layers until
// they hold at least n bytes of gradient (a layer larger than n is a bucket
// of its own; n = 1 reduces every layer separately). It must be called
// identically on every rank, between ZeroGrad and the next backward pass;
// the next real step is then a checked fallback step. It returns an error
// for n ≤ 0 or when called during a step.
func (o *DistributedPerLayerOptimizer) SetBucketBytes(n int) error {
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
func (o *DistributedPerLayerOptimizer) PassesPerStep() int { return o.passesPerStep }

// SetPassesPerStep declares that each logical step accumulates k backward
// passes (manual gradient accumulation): only the k-th pass since ZeroGrad
// reduces eagerly. A step with fewer passes than declared is still correct
// (it falls back to one reduction in Step); a pass beyond the k-th is an
// error. It must be called identically on every rank, between ZeroGrad and
// the next backward pass; the next real step is then a checked fallback
// step. It returns an error for k < 1 or when called during a step.
func (o *DistributedPerLayerOptimizer) SetPassesPerStep(k int) error {
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

func (o *DistributedPerLayerOptimizer) idle(what string) error {
	if o.inPass || o.e.AccumulatedIterations() > 0 || o.stepped {
		return fmt.Errorf("perlayer: %s called during step %d (after a backward pass and before ZeroGrad); call it right after ZeroGrad", what, o.e.Steps())
	}
	return nil
}

// Progress returns when the reductions of an eager pass run.
func (o *DistributedPerLayerOptimizer) Progress() Progress { return o.progress }

// SetProgress chooses when the reductions of an eager pass run (see
// Progress; the default is ReduceInStep). It must be called identically on
// every rank, between ZeroGrad and the next backward pass; the next real
// step is then a checked fallback step. It returns an error for an unknown
// value or when called during a step.
func (o *DistributedPerLayerOptimizer) SetProgress(p Progress) error {
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
func (o *DistributedPerLayerOptimizer) NumBuckets() int { return len(o.blo) }

// Bucket returns the arena layers [lo, hi) of bucket b. Buckets are
// numbered in the order a backward pass in reverse layer order completes
// them: bucket 0 holds the last layer. It panics if b is out of range.
func (o *DistributedPerLayerOptimizer) Bucket(b int) (lo, hi int) { return o.blo[b], o.bhi[b] }

// EagerSteps returns the number of real steps whose gradient was reduced
// during the backward pass (the others were reduced in Step).
func (o *DistributedPerLayerOptimizer) EagerSteps() int { return o.eagerDone }

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
func (o *DistributedPerLayerOptimizer) LayerReady(layer int, src optimizer.GradSource) error {
	layers := o.e.Arena().Layers
	if layer < 0 || layer >= len(layers) {
		return fmt.Errorf("perlayer: LayerReady: layer index %d out of range [0, %d)", layer, len(layers))
	}
	if !o.inPass {
		if o.eager && !o.stepped {
			return fmt.Errorf("perlayer: backward pass %d of step %d started after the eager pass that ended the step (%d passes per step); call Step and ZeroGrad first, or raise SetPassesPerStep", o.e.AccumulatedIterations()+1, o.e.Steps(), o.passesPerStep)
		}
		if err := o.e.StartPass(); err != nil {
			return err
		}
		o.inPass = true
		o.samples = src.Samples()
		o.eager = !o.e.PeekSkip() && o.e.AccumulatedIterations() == o.passesPerStep && o.checked && o.e.Steps() > 0
		s := o.e.ScaleFactor()
		o.fold = o.eager && o.clean && o.e.AccumulatedIterations() == 1 && s != 1
		o.scaled.s = s
		for b := range o.need {
			o.need[b] = o.bhi[b] - o.blo[b]
		}
	} else {
		if o.seen[layer] {
			return fmt.Errorf("perlayer: LayerReady: layer %d (%q) signalled twice in backward pass %d of step %d; signal each layer once per pass", layer, layers[layer].Name, o.e.AccumulatedIterations(), o.e.Steps())
		}
		if s := src.Samples(); s != o.samples {
			return fmt.Errorf("perlayer: LayerReady: layer %d (%q) has %d samples but the first layer of this backward pass had %d; all layers must come from one backward pass", layer, layers[layer].Name, s, o.samples)
		}
	}
	var clip optimizer.GradSource = src
	if o.fold {
		o.scaled.src = src
		clip = &o.scaled
	}
	err := o.e.ClipLayer(layer, clip)
	o.scaled.src = nil
	if err != nil {
		return err
	}
	o.seen[layer] = true
	o.nSeen++
	if o.eager {
		b := o.layerBucket[layer]
		o.need[b]--
		if o.need[b] == 0 {
			lo, hi := o.span(b)
			if !o.fold {
				o.e.NoiseAndScale(lo, hi)
			} else if o.e.Rank() == 0 && !mutant.NoNoise {
				// The clipped sum is already scaled by s; the noise
				// std is scaled likewise.
				optimizer.AddNoise(o.e.Arena().Grads[lo:hi], o.e.NoiseStd()*o.scaled.s, o.gen, o.secure)
			}
			if o.progress == ReduceConcurrently { // else Step reduces the whole buffer
				if !o.red.started {
					o.red.started = true
					go o.red.run()
					// The goroutine holds only the reducer; when o becomes
					// unreachable, closing the queue ends it.
					runtime.AddCleanup(o, func(q chan bucketJob) { close(q) }, o.red.queue)
				}
				o.running = true
				o.red.queue <- bucketJob{lo: lo, hi: hi, bucket: b, first: o.blo[b], last: o.bhi[b] - 1, step: o.e.Steps()}
			}
		}
	}
	if o.nSeen == len(layers) {
		o.inPass = false
		o.nSeen = 0
		clear(o.seen)
	}
	return nil
}

// span returns the range of Grads covered by bucket b.
func (o *DistributedPerLayerOptimizer) span(b int) (lo, hi int) {
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
type reducer struct {
	comm    optimizer.Communicator
	rank    int
	grads   []float64
	queue   chan bucketJob
	done    chan error
	started bool // owned by the optimizer's goroutine
}

func (r *reducer) run() {
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
func (o *DistributedPerLayerOptimizer) finishEager() error {
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
func (o *DistributedPerLayerOptimizer) waitAll() error {
	if !o.running {
		return nil
	}
	o.running = false
	o.red.queue <- bucketJob{end: true}
	return <-o.red.done
}

// AddBackward is LayerReady for every layer of one backward pass, in
// reverse layer order, for models that produce all layers at once. srcs
// holds one source per arena layer, in layer order.
func (o *DistributedPerLayerOptimizer) AddBackward(srcs []optimizer.GradSource) error {
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
func (o *DistributedPerLayerOptimizer) SignalSkip(skip bool) { o.e.SignalSkip(skip) }

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
func (o *DistributedPerLayerOptimizer) Step() (bool, error) {
	steps := o.e.Steps()
	o.lastOK = false
	if o.inPass {
		werr := o.waitAll()
		return false, errors.Join(fmt.Errorf("perlayer: Step %d called during a backward pass: %d of %d layers signalled; signal every layer with LayerReady before Step", steps, o.nSeen, len(o.seen)), werr)
	}
	if o.pend != nil {
		err := o.pend
		o.pend = nil
		return false, err
	}
	if o.eager {
		if o.stepped {
			return o.e.StepWith(o.finish) // the engine reports the reuse
		}
		o.stepped = true
		if o.e.PeekSkip() {
			werr := o.waitAll()
			return false, errors.Join(fmt.Errorf("perlayer: step %d: a skip signal reached the head of the queue after this step's eager reduction had started; call SignalSkip before the backward pass of the step it skips", steps), werr)
		}
		ok, err := o.e.StepWith(o.finish)
		if ok {
			o.eagerDone++
		}
		o.lastOK = ok && err == nil
		return ok, err
	}
	wasStepped := o.stepped
	o.stepped = true
	if !o.checked && !wasStepped && !o.e.PeekSkip() && o.e.AccumulatedIterations() > 0 {
		if err := o.agree(); err != nil {
			return false, err
		}
	}
	ok, err := o.e.Step()
	o.lastOK = ok && err == nil
	return ok, err
}

// ZeroGrad ends a step (see optimizer.Engine.ZeroGrad). It must be called
// after every Step, skipped or not, and after an error. Outstanding bucket
// reductions of an abandoned pass are waited for first; their error, if
// any, is returned by the next Step.
func (o *DistributedPerLayerOptimizer) ZeroGrad() {
	if err := o.waitAll(); err != nil && o.pend == nil {
		o.pend = err
	}
	o.inPass, o.eager, o.stepped = false, false, false
	o.nSeen = 0
	clear(o.seen)
	o.e.ZeroGrad()
	// After a real step the engine zeroes Grads; after a skipped or failed
	// one it may keep them.
	o.clean, o.lastOK = o.lastOK, false
}

// scaledSource is a GradSource whose weighted sum is multiplied by s: the
// scale 1/(B_w·k·W) folded into the clip factors, which saves a pass over
// the gradient when the pass starts from a zero buffer.
type scaledSource struct {
	src optimizer.GradSource
	s   float64
	w   []float64
}

func (g *scaledSource) Samples() int        { return g.src.Samples() }
func (g *scaledSource) Len() int            { return g.src.Len() }
func (g *scaledSource) Norms(dst []float64) { g.src.Norms(dst) }

func (g *scaledSource) AddWeighted(dst, w []float64) {
	if cap(g.w) < len(w) {
		g.w = make([]float64, len(w))
	}
	sw := g.w[:len(w)]
	for i, x := range w {
		sw[i] = g.s * x
	}
	g.src.AddWeighted(dst, sw)
}

// schedFields is the number of 64-bit values of the schedule fingerprint.
const schedFields = 4

// agree checks, with one small AllreduceSum, that every rank has the same
// bucket size, passes per step and bucket layout. Each 64-bit value is
// split into four 16-bit chunks sent as values and squares: the ranks agree
// on a chunk x iff Σx_r = W·x and Σx_r² = W·x², exactly in float64.
func (o *DistributedPerLayerOptimizer) agree() error {
	h := fnv.New64a()
	var buf [8]byte
	for b := range o.blo {
		binary.LittleEndian.PutUint64(buf[:], uint64(o.blo[b]))
		h.Write(buf[:])
		binary.LittleEndian.PutUint64(buf[:], uint64(o.bhi[b]))
		h.Write(buf[:])
	}
	fp := [schedFields]uint64{uint64(o.bucketBytes), uint64(o.passesPerStep), h.Sum64(), uint64(o.progress)}
	for i, v := range fp {
		for c := range 4 {
			x := float64((v >> (16 * c)) & 0xffff)
			o.fp[8*i+c], o.fp[8*i+4+c] = x, x*x
		}
	}
	if err := o.comm.AllreduceSum(o.fp); err != nil {
		return fmt.Errorf("perlayer: step %d on rank %d: sum-allreduce of the schedule check: %w", o.e.Steps(), o.e.Rank(), err)
	}
	w := float64(o.e.WorldSize())
	names := [schedFields]string{"bucket size", "passes per step", "bucket layout", "progress"}
	var differ []string
	for i, v := range fp {
		for c := range 4 {
			x := float64((v >> (16 * c)) & 0xffff)
			if o.fp[8*i+c] != w*x || o.fp[8*i+4+c] != w*x*x {
				differ = append(differ, names[i])
				break
			}
		}
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
func (o *DistributedPerLayerOptimizer) AccumulatedIterations() int {
	return o.e.AccumulatedIterations()
}

// Steps returns the number of real steps applied so far.
func (o *DistributedPerLayerOptimizer) Steps() int { return o.e.Steps() }

// SetStepHook installs the hook called once per real step with (σ, k),
// after the reduction and before the update (see optimizer.StepHook); nil
// removes it.
func (o *DistributedPerLayerOptimizer) SetStepHook(h optimizer.StepHook) { o.e.SetStepHook(h) }

// Arena returns the arena the optimizer clips into and updates.
func (o *DistributedPerLayerOptimizer) Arena() *optimizer.Arena { return o.e.Arena() }

// Updater returns the wrapped optimizer.
func (o *DistributedPerLayerOptimizer) Updater() optimizer.Updater { return o.e.Updater() }

// Config returns the validated configuration, with the generator used.
func (o *DistributedPerLayerOptimizer) Config() optimizer.Config { return o.e.Config() }

// Clipping returns the per-layer clipping thresholds.
func (o *DistributedPerLayerOptimizer) Clipping() optimizer.Clipping { return o.e.Clipping() }

// NoiseStd returns the noise std per coordinate of the clipped sum,
// σ·‖(C_1..C_L)‖₂.
func (o *DistributedPerLayerOptimizer) NoiseStd() float64 { return o.e.NoiseStd() }

// Rank returns this process's rank.
func (o *DistributedPerLayerOptimizer) Rank() int { return o.e.Rank() }

// WorldSize returns the number of ranks W.
func (o *DistributedPerLayerOptimizer) WorldSize() int { return o.e.WorldSize() }
