package audit

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/dpmpi/dpmpi/internal/seed"

	"github.com/dpmpi/dpmpi/accountant"
	"github.com/dpmpi/dpmpi/data"
	"github.com/dpmpi/dpmpi/optimizer"
	"github.com/dpmpi/dpmpi/perlayer"
	"github.com/dpmpi/dpmpi/simple"
)

// Optimizer names the distributed optimizer an Experiment trains with.
type Optimizer string

const (
	// Flat is optimizer.DistributedDPOptimizer: one threshold for the
	// whole model.
	Flat Optimizer = "flat"
	// Simple is simple.SimpleDistributedPerLayerOptimizer: per-layer
	// clipping, one reduction of the flat buffer.
	Simple Optimizer = "simple"
	// Hooks is perlayer.DistributedPerLayerOptimizer: per-layer clipping
	// in the backward-pass hook, bucketed reductions.
	Hooks Optimizer = "hooks"
)

// Optimizers lists the optimizers an Experiment can audit.
var Optimizers = []Optimizer{Flat, Simple, Hooks}

// Experiment describes a white-box audit of DP-SGD trained through dpmpi's
// real code path: a Poisson sampler (package data) draws each logical batch
// from a data set of canaries, a distributed optimizer clips (flat or per
// layer), noises on rank 0, scales and reduces, the step hook feeds an
// accountant (which supplies the claimed ε), and SGD with learning rate 1
// applies the update, which the adversary reads off the parameters.
//
// The model has Layers layers of Canaries parameters each. Canary j is a
// sample whose per-sample gradient is CanaryNorm at coordinate j of every
// layer and zero elsewhere: a "Dirac" canary, clipped to the threshold
// (per layer, or jointly for flat clipping). Each run includes each canary
// in the data set independently with probability ½; since every canary
// owns its coordinates, the m canaries of a run are m independent trials
// (given a correct implementation: independent noise per coordinate and
// per-sample clipping). The adversary knows everything but the inclusion:
// it scores canary j by the log-likelihood ratio, summed over the T steps,
// of its noisy update along the canary direction under "in" (a mixture:
// present with probability q) against "out".
//
// Zero fields take the defaults noted.
type Experiment struct {
	// Optimizer is Flat, Simple or Hooks (default Simple).
	Optimizer Optimizer
	// NoiseMultiplier is σ (default 1).
	NoiseMultiplier float64
	// SampleRate is the Poisson rate q of a logical batch (default 0.5).
	SampleRate float64
	// Steps is the number T of logical steps (default 8).
	Steps int
	// Passes is the number k of backward passes accumulated per logical
	// step (default 1): the logical batch is cut into k parts, each
	// passed to AddBackward before one Step; the step hook then reports
	// k and the accountant records (σ, (q/k)·k).
	Passes int
	// MaxPhysical, when positive, splits each logical batch into physical
	// batches of at most this many samples with data.Split (virtual
	// steps: skip signals for all but the last). It cannot be combined
	// with Passes > 1.
	MaxPhysical int
	// Layers is the number of layers L (default 4).
	Layers int
	// Canaries is the number m of canaries per run (default 1<<15).
	Canaries int
	// Runs is the number of independent runs (default 4).
	Runs int
	// MaxGradNorm is the clipping threshold: C_l of every layer for the
	// per-layer optimizers, C for Flat (default 1).
	MaxGradNorm float64
	// CanaryNorm is the canary's gradient per layer coordinate (default
	// 10·MaxGradNorm, so that it is always clipped).
	CanaryNorm float64
	// Delta is δ of the headline bound (default 1e-5).
	Delta float64
	// Confidence is the confidence of every bound (default 0.95).
	Confidence float64
	// ProfileDeltas are the δ at which the privacy profile is audited
	// (default Delta, 1e-3, 0.01, 0.05, 0.1, 0.2, 0.3).
	ProfileDeltas []float64
	// OneRunK are the guess counts per side of the one-run audit (default
	// m/64, m/16, m/4).
	OneRunK []int
	// Seed seeds the canary inclusion, the sampler and the noise.
	Seed uint64
	// NoiseMode decides which ranks draw the noise (default
	// optimizer.RankZeroNoise); every rank's generator is seeded from
	// (Seed, rank), as ShardedNoise needs.
	NoiseMode optimizer.NoiseMode
}

// WithDefaults returns x with its zero fields set to their defaults, or an
// error naming the first invalid field. Run calls it.
func (x Experiment) WithDefaults() (Experiment, error) {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	defi := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	if x.Optimizer == "" {
		x.Optimizer = Simple
	}
	def(&x.NoiseMultiplier, 1)
	def(&x.SampleRate, 0.5)
	defi(&x.Steps, 8)
	defi(&x.Passes, 1)
	defi(&x.Layers, 4)
	defi(&x.Canaries, 1<<15)
	defi(&x.Runs, 4)
	def(&x.MaxGradNorm, 1)
	def(&x.CanaryNorm, 10*x.MaxGradNorm)
	def(&x.Delta, 1e-5)
	def(&x.Confidence, 0.95)
	if x.ProfileDeltas == nil {
		x.ProfileDeltas = []float64{x.Delta, 1e-3, 0.01, 0.05, 0.1, 0.2, 0.3}
	}
	x.ProfileDeltas = slices.Clone(x.ProfileDeltas)
	slices.Sort(x.ProfileDeltas)
	x.ProfileDeltas = slices.Compact(x.ProfileDeltas)
	if x.OneRunK == nil {
		x.OneRunK = []int{max(1, x.Canaries/64), max(1, x.Canaries/16), max(1, x.Canaries/4)}
	}
	switch {
	case !slices.Contains(Optimizers, x.Optimizer):
		return x, fmt.Errorf("audit: unknown optimizer %q; use %q, %q or %q", x.Optimizer, Flat, Simple, Hooks)
	case !(x.NoiseMultiplier > 0) || math.IsInf(x.NoiseMultiplier, 0):
		return x, fmt.Errorf("audit: noise multiplier %v must be finite and > 0", x.NoiseMultiplier)
	case !(x.SampleRate > 0 && x.SampleRate <= 1):
		return x, fmt.Errorf("audit: sample rate %v must be in (0, 1]", x.SampleRate)
	case x.Steps < 1 || x.Passes < 1 || x.Layers < 1 || x.Runs < 1 || x.MaxPhysical < 0:
		return x, fmt.Errorf("audit: steps %d, passes %d, layers %d and runs %d must be ≥ 1 and max physical batch %d ≥ 0", x.Steps, x.Passes, x.Layers, x.Runs, x.MaxPhysical)
	case x.Canaries < 16:
		return x, fmt.Errorf("audit: %d canaries per run; need at least 16", x.Canaries)
	case x.Passes > 1 && x.MaxPhysical > 0:
		return x, errors.New("audit: accumulated passes (Passes > 1) and virtual steps (MaxPhysical > 0) cannot be combined; choose one")
	case !(x.MaxGradNorm > 0) || math.IsInf(x.MaxGradNorm, 0) || !(x.CanaryNorm > 0) || math.IsInf(x.CanaryNorm, 0):
		return x, fmt.Errorf("audit: max gradient norm %v and canary norm %v must be finite and > 0", x.MaxGradNorm, x.CanaryNorm)
	case !(x.Delta > 0 && x.Delta < 1) || !(x.Confidence > 0 && x.Confidence < 1):
		return x, fmt.Errorf("audit: δ = %v and confidence = %v must be in (0, 1)", x.Delta, x.Confidence)
	}
	for _, d := range x.ProfileDeltas {
		if !(d > 0 && d < 1) {
			return x, fmt.Errorf("audit: profile δ = %v must be in (0, 1)", d)
		}
	}
	for _, k := range x.OneRunK {
		if k < 1 || 2*k > x.Canaries {
			return x, fmt.Errorf("audit: one-run guess count %d must be in [1, %d]", k, x.Canaries/2)
		}
	}
	return x, nil
}

// ProfilePoint compares the claim with the empirical bound at one δ.
type ProfilePoint struct {
	// Delta is δ; ClaimedRDP and ClaimedPRV are the accountants' ε at δ
	// (PRV's upper bound, clamped at 0).
	Delta, ClaimedRDP, ClaimedPRV float64
	// Bound is the empirical bound at δ, at the Bonferroni-corrected
	// confidence 1 − (1−Confidence)/len(ProfileDeltas).
	Bound Bound
	// Exceeds reports Bound.Epsilon > min(ClaimedRDP, ClaimedPRV).
	Exceeds bool
}

// Result is the outcome of an experiment. The analysis fields are set on
// rank 0 only; on the other ranks Analysed is false.
type Result struct {
	// Experiment is the experiment run, with defaults filled in.
	Experiment Experiment
	// World is the number of ranks W.
	World int
	// Analysed is true on rank 0, which holds the analysis below.
	Analysed bool
	// History is what the accountant recorded in one run through the
	// optimizer's step hook.
	History accountant.History
	// ClaimedRDP and ClaimedPRV are the ε at Experiment.Delta claimed by
	// the RDP and PRV accountants for History (0 for an empty history).
	ClaimedRDP, ClaimedPRV float64
	// In and Out are the numbers of trials with and without the canary.
	In, Out int
	// Bound is the headline empirical bound at Experiment.Delta and
	// Experiment.Confidence.
	Bound Bound
	// Profile audits the privacy profile at every Experiment.ProfileDeltas.
	Profile []ProfilePoint
	// OneRun is the one-run bound from the first run alone.
	OneRun OneRunBound
	// Flagged reports that some profile point's bound exceeds the claim:
	// with probability at least Experiment.Confidence a correct
	// implementation is not flagged.
	Flagged bool
	// Train is the wall time of the training runs; Analyse that of the
	// analysis.
	Train, Analyse time.Duration
}

// Claimed returns the smaller of the two claims at Experiment.Delta.
func (r *Result) Claimed() float64 { return min(r.ClaimedRDP, r.ClaimedPRV) }

// Run runs the experiment on every rank of comm (every rank calls it with
// the same x) and analyses it on rank 0. It returns an error naming the
// run and step if the optimizer fails, and for an invalid experiment.
func Run(x Experiment, comm optimizer.Communicator[float64]) (*Result, error) {
	if comm == nil {
		return nil, errors.New("audit: Run needs a communicator (an MPI world, or optimizertest.NewWorld[float64](1).Comm(0) in one process)")
	}
	x, err := x.WithDefaults()
	if err != nil {
		return nil, err
	}
	res := &Result{Experiment: x, World: comm.Size(), Analysed: comm.Rank() == 0}
	start := time.Now()
	m := x.Canaries
	scores := make([]float64, 0, x.Runs*m)
	inAll := make([]bool, 0, x.Runs*m)
	for run := range x.Runs {
		sc, in, h, err := trainRun(x, comm, run)
		if err != nil {
			return nil, err
		}
		if run == 0 {
			res.History = h
		}
		scores, inAll = append(scores, sc...), append(inAll, in...)
	}
	res.Train = time.Since(start)
	if !res.Analysed {
		return res, nil
	}
	start = time.Now()
	if err := res.analyse(scores, inAll); err != nil {
		return nil, err
	}
	res.Analyse = time.Since(start)
	return res, nil
}

// analyse computes the claims and the bounds on rank 0.
func (r *Result) analyse(scores []float64, in []bool) error {
	x := r.Experiment
	var ins, outs []float64
	for i, s := range scores {
		if in[i] {
			ins = append(ins, s)
		} else {
			outs = append(outs, s)
		}
	}
	r.In, r.Out = len(ins), len(outs)
	claim := func(delta float64) (rdp, prv float64, err error) {
		if r.History.Steps() == 0 {
			return 0, 0, nil // nothing recorded: the accountant claims ε = 0
		}
		if rdp, err = (accountant.RDP{}).Epsilon(r.History, delta); err != nil {
			return 0, 0, fmt.Errorf("audit: RDP ε of %v at δ=%g: %w", r.History, delta, err)
		}
		if prv, err = (accountant.PRV{}).Epsilon(r.History, delta); err != nil {
			return 0, 0, fmt.Errorf("audit: PRV ε of %v at δ=%g: %w", r.History, delta, err)
		}
		return max(rdp, 0), max(prv, 0), nil
	}
	var err error
	if r.ClaimedRDP, r.ClaimedPRV, err = claim(x.Delta); err != nil {
		return err
	}
	if r.Bound, err = LowerBound(ins, outs, x.Delta, x.Confidence); err != nil {
		return err
	}
	conf := 1 - (1-x.Confidence)/float64(len(x.ProfileDeltas))
	for _, d := range x.ProfileDeltas {
		p := ProfilePoint{Delta: d}
		if p.ClaimedRDP, p.ClaimedPRV, err = claim(d); err != nil {
			return err
		}
		if p.Bound, err = LowerBound(ins, outs, d, conf); err != nil {
			return err
		}
		p.Exceeds = p.Bound.Epsilon > min(p.ClaimedRDP, p.ClaimedPRV)
		r.Flagged = r.Flagged || p.Exceeds
		r.Profile = append(r.Profile, p)
	}
	m := x.Canaries
	r.OneRun, err = OneRun(scores[:m], in[:m], x.OneRunK, x.Delta, x.Confidence)
	return err
}

// stepper is what a training run needs from the three optimizers.
type stepper interface {
	AddBackward([]optimizer.GradSource[float64]) error
	SignalSkip(bool)
	Step() (bool, error)
	ZeroGrad()
	SetStepHook(optimizer.StepHook)
}

// trainRun trains one run and returns every canary's score (on rank 0; nil
// elsewhere), the inclusion flags and the accountant's history.
func trainRun(x Experiment, comm optimizer.Communicator[float64], run int) ([]float64, []bool, accountant.History, error) {
	m, L, w, rank := x.Canaries, x.Layers, comm.Size(), comm.Rank()
	runSeed := seed.Combine(x.Seed, uint64(run))
	// Canary inclusion: the same on every rank.
	incl := make([]bool, m)
	var slots []int // dataset index → canary slot
	pick := rand.New(rand.NewPCG(runSeed, 0x696e636c))
	for j := range incl {
		if incl[j] = pick.Uint64()&1 == 1; incl[j] {
			slots = append(slots, j)
		}
	}
	specs := make([]optimizer.LayerSpec, L)
	for l := range specs {
		specs[l] = optimizer.LayerSpec{Name: fmt.Sprintf("layer%d", l), Len: m}
	}
	arena, err := optimizer.NewArena[float64](specs...)
	if err != nil {
		return nil, nil, nil, err
	}
	sgd, err := optimizer.NewSGD[float64](1, 0, 0, 0, false)
	if err != nil {
		return nil, nil, nil, err
	}
	k := x.Passes
	// B_w: a public constant, the expected batch per rank and pass for the
	// expected data-set size m/2 (never the realised one).
	bw := x.SampleRate * float64(m) / 2 / float64(w*k)
	cfg := optimizer.Config{NoiseMultiplier: x.NoiseMultiplier, ExpectedBatchSize: bw, NoiseMode: x.NoiseMode, Generator: optimizer.NewBlockGenerator(seed.Combine(runSeed, uint64(rank)+1))}
	cs := make([]float64, L)
	for l := range cs {
		cs[l] = x.MaxGradNorm
	}
	var opt stepper
	switch x.Optimizer {
	case Flat:
		opt, err = optimizer.NewDistributedDPOptimizer(arena, sgd, x.MaxGradNorm, cfg, comm)
	case Simple:
		opt, err = simple.New(arena, sgd, cs, cfg, comm)
	case Hooks:
		var o *perlayer.DistributedPerLayerOptimizer[float64]
		if o, err = perlayer.NewDistributedPerLayerOptimizer(arena, sgd, cs, cfg, comm); err == nil {
			err = o.SetPassesPerStep(k)
		}
		opt = o
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("audit: run %d: building the %s optimizer: %w", run, x.Optimizer, err)
	}
	acct := accountant.NewWith(accountant.RDP{})
	qPass := x.SampleRate / float64(k)
	opt.SetStepHook(func(sigma float64, passes int) error { return acct.Step(sigma, qPass*float64(passes)) })
	sampler, err := data.NewSampler(data.SamplerConfig{N: len(slots), Rate: x.SampleRate, Rank: rank, World: w, Seed: runSeed})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("audit: run %d: %w", run, err)
	}

	// The adversary's view: the canary's clipped contribution c (per
	// layer), the noise std s, the public scale, and μ = ‖c‖/s.
	c := make([]float64, L)
	if x.Optimizer == Flat {
		f := optimizer.ClipFactor(x.MaxGradNorm, x.CanaryNorm*math.Sqrt(float64(L)))
		for l := range c {
			c[l] = f * x.CanaryNorm
		}
	} else {
		for l := range c {
			c[l] = optimizer.ClipFactor(x.MaxGradNorm, x.CanaryNorm) * x.CanaryNorm
		}
	}
	cn := math.Sqrt(float64(L)) * c[0]
	sens := x.MaxGradNorm
	if x.Optimizer != Flat {
		sens *= math.Sqrt(float64(L))
	}
	s := x.NoiseMultiplier * sens
	mu := cn / s
	unscale := bw * float64(k*w) / s // update → clipped sum in units of the noise std
	var scores, prev []float64
	if rank == 0 {
		scores = make([]float64, m)
		prev = make([]float64, len(arena.Params))
	}

	srcs := make([]optimizer.GradSource[float64], L)
	dirac := make([]diracSource, L)
	for l := range dirac {
		dirac[l] = diracSource{v: x.CanaryNorm, n: m}
		srcs[l] = &dirac[l]
	}
	var batch, part []int
	backward := func(idx []int) error {
		part = part[:0]
		for _, i := range idx {
			part = append(part, slots[i])
		}
		for l := range dirac {
			dirac[l].slots = part
		}
		return opt.AddBackward(srcs)
	}
	for t := range x.Steps {
		batch = sampler.Next(batch)
		fail := func(err error) error {
			return fmt.Errorf("audit: run %d, step %d on rank %d (%s optimizer): %w", run, t, rank, x.Optimizer, err)
		}
		if x.MaxPhysical > 0 {
			for phys, skip := range data.Split(batch, x.MaxPhysical) {
				opt.SignalSkip(skip)
				if err := backward(phys); err != nil {
					return nil, nil, nil, fail(err)
				}
				if _, err := opt.Step(); err != nil {
					return nil, nil, nil, fail(err)
				}
				opt.ZeroGrad()
			}
		} else {
			for p := range k {
				if err := backward(batch[p*len(batch)/k : (p+1)*len(batch)/k]); err != nil {
					return nil, nil, nil, fail(err)
				}
			}
			if _, err := opt.Step(); err != nil {
				return nil, nil, nil, fail(err)
			}
			opt.ZeroGrad()
		}
		if rank != 0 {
			continue
		}
		// The update is prev − Params (SGD, learning rate 1); project each
		// canary's L coordinates on the direction of c.
		for j := range m {
			y := 0.0
			for l := range L {
				o := l*m + j
				y += c[l] * (prev[o] - arena.Params[o])
			}
			scores[j] += logLR(y*unscale/cn, mu, x.SampleRate)
		}
		copy(prev, arena.Params)
	}
	return scores, incl, acct.History(), nil
}

// logLR is the log-likelihood ratio of an observation y ~ N(0, 1) (out)
// against the mixture (1−q)·N(0, 1) + q·N(μ, 1) (in):
// log(1 − q + q·exp(μy − μ²/2)), computed without overflow.
func logLR(y, mu, q float64) float64 {
	z := mu*y - mu*mu/2
	switch {
	case q == 1:
		return z
	case z > 0:
		return z + math.Log(q+(1-q)*math.Exp(-z))
	}
	return math.Log1p(q * math.Expm1(z))
}

// diracSource is the per-sample gradient source of one layer for a batch
// of Dirac canaries: sample i's gradient is v at coordinate slots[i] and
// zero elsewhere.
type diracSource struct {
	slots []int
	v     float64
	n     int
}

func (d *diracSource) Samples() int { return len(d.slots) }
func (d *diracSource) Len() int     { return d.n }
func (d *diracSource) Norms(dst []float64) {
	if len(dst) != len(d.slots) {
		panic("audit: diracSource.Norms: len(dst) != Samples()")
	}
	for i := range dst {
		dst[i] = math.Abs(d.v)
	}
}
func (d *diracSource) AddWeighted(dst, w []float64) {
	if len(w) != len(d.slots) || len(dst) != d.n {
		panic("audit: diracSource.AddWeighted: len(w) != Samples() or len(dst) != Len()")
	}
	for i, j := range d.slots {
		dst[j] += w[i] * d.v
	}
}
