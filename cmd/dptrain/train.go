package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dpmpi/dpmpi/accountant"
	"github.com/dpmpi/dpmpi/checkpoint"
	"github.com/dpmpi/dpmpi/data"
	"github.com/dpmpi/dpmpi/nn"
	"github.com/dpmpi/dpmpi/optimizer"
	"github.com/dpmpi/dpmpi/perlayer"
	"github.com/dpmpi/dpmpi/simple"
)

// comm is what the program needs from MPI; *mpi.Comm satisfies it.
type comm interface {
	optimizer.Communicator
	Bcast(buf []float64, root int) error
	BcastBytes(buf []byte, root int) error
}

// errOther is returned on ranks that are healthy when another rank failed in
// a phase where all ranks learn about failures (setup, resume).
var errOther = errors.New("another rank failed (see its message)")

// agree makes every rank learn whether any rank failed: it returns err on the
// failing ranks and errOther on the others. rank0Failed tells whether rank 0
// failed (rank 0 then speaks for everybody).
func agree(c comm, err error) (out error, rank0Failed bool, cerr error) {
	buf := []float64{0, 0}
	if err != nil {
		buf[1] = 1
		if c.Rank() == 0 {
			buf[0] = 1
		}
	}
	if cerr := c.AllreduceSum(buf); cerr != nil {
		return err, false, cerr
	}
	if buf[1] == 0 {
		return nil, false, nil
	}
	if err == nil {
		err = errOther
	}
	return err, buf[0] > 0, nil
}

// bcastBlob sends b from root to every rank and returns it everywhere.
func bcastBlob(c comm, b []byte, root int) ([]byte, error) {
	n := []float64{float64(len(b))}
	if err := c.Bcast(n, root); err != nil {
		return nil, err
	}
	if c.Rank() != root {
		b = make([]byte, int(n[0]))
	}
	if len(b) == 0 {
		return b, nil
	}
	if err := c.BcastBytes(b, root); err != nil {
		return nil, err
	}
	return b, nil
}

func buildModel(name string) (*nn.Sequential, error) {
	switch name {
	case "cnn":
		return nn.NewSequential([]int{1, 28, 28},
			nn.NewConv2d(1, 16, 8, 2, 3), nn.Tanh(), nn.NewMaxPool2d(2, 1),
			nn.NewConv2d(16, 32, 4, 2, 0), nn.Tanh(), nn.NewMaxPool2d(2, 1),
			nn.Flatten(), nn.NewLinear(32*4*4, 32), nn.Tanh(), nn.NewLinear(32, 10))
	case "mlp":
		return nn.NewSequential([]int{784}, nn.NewLinear(784, 128), nn.ReLU(), nn.NewLinear(128, 10))
	}
	return nil, fmt.Errorf("unknown model %q", name)
}

// limit keeps the first n images of d (n = 0: all).
func limit(d *data.Images, n int) *data.Images {
	if n == 0 || n >= d.N {
		return d
	}
	c := *d
	c.N = n
	c.Pixels = d.Pixels[:n*d.Rows*d.Cols]
	c.Labels = d.Labels[:n]
	return &c
}

// loadData reads the training and test splits with data.LoadIDXSplit, so
// that any 28×28, 10-class data set in Fashion-MNIST's file layout works (a
// small one for tests, for instance), and applies --train-limit/--test-limit.
func loadData(c *config) (train, test *data.Images, err error) {
	train, err = data.LoadIDXSplit(c.DataDir, true)
	if err == nil {
		test, err = data.LoadIDXSplit(c.DataDir, false)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("loading the data set: %w\n  or run scripts/setup.sh; --data-dir or $%s may point at a directory holding train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz (gzip or raw)", err, data.FashionMNISTEnv)
	}
	return limit(train, c.TrainLimit), limit(test, c.TestLimit), nil
}

// thresholds returns the per-layer (or single flat) clipping thresholds.
func thresholds(c *config, layers int) ([]float64, error) {
	if c.Clipping == "flat" {
		return []float64{c.MaxGradNorm}, nil
	}
	if c.MaxGradNorms != nil {
		if len(c.MaxGradNorms) != layers {
			return nil, fmt.Errorf("--max-grad-norms gives %d thresholds but --model %s has %d layers with parameters; give %d values or use --max-grad-norm C (C_l = C/sqrt(%d))", len(c.MaxGradNorms), c.Model, layers, layers, layers)
		}
		return append([]float64(nil), c.MaxGradNorms...), nil
	}
	t := make([]float64, layers)
	for i := range t {
		t[i] = c.MaxGradNorm / math.Sqrt(float64(layers))
	}
	return t, nil
}

// trainer holds one rank's training state.
type trainer struct {
	c      *config
	comm   comm
	rank   int
	world  int
	out    io.Writer // rank 0: stdout; others: quiet or a log file
	errOut io.Writer

	train, test *data.Images
	model       *nn.Sequential
	arena       *optimizer.Arena
	opt         dpOptimizer
	ready       func(int, optimizer.GradSource) error // nil: clip after the whole backward pass
	sampler     *data.Sampler
	noiseSrc    *optimizer.BlockGenerator
	acct        *accountant.Accountant
	ledger      *accountant.Ledger
	pending     map[int]string // ledger records beyond the checkpoint: step → fingerprint
	id          runIdentity

	q, sigma   float64
	spe, total int
	step       int
	maxTotal   int // budget guard: largest history length allowed (-1: no guard)
	replayNext bool
	nextState  string
	samples    float64
	lossSum    float64
	lossN      float64
	stopSignal *atomic.Bool
	metrics    *os.File
	prog       *progress
	start      time.Time
	lastAcc    float64
	lossBuf    []float64
	dlBuf      []float64
}

// setup builds everything up to the first step. All ranks return errors for
// the same deterministic reasons, so the caller can use agree.
func (t *trainer) setup() error {
	c := t.c
	var err error
	t.train, t.test, err = loadData(c)
	if err != nil {
		return err
	}
	t.model, err = buildModel(c.Model)
	if err != nil {
		return err
	}
	t.arena, err = t.model.NewArena(c.Seed)
	if err != nil {
		return err
	}
	th, err := thresholds(c, t.model.NumLayers())
	if err != nil {
		return err
	}
	n := t.train.N
	if c.SampleRate > 0 {
		t.q = c.SampleRate
	} else {
		if c.BatchSize > float64(n) {
			return fmt.Errorf("--batch-size %v exceeds the %d training images", c.BatchSize, n)
		}
		t.q = c.BatchSize / float64(n)
	}
	t.spe = data.StepsPerEpoch(t.q)
	if c.Steps > 0 {
		t.total = c.Steps
	} else {
		t.total = int(math.Round(c.Epochs * float64(t.spe)))
		if t.total < 1 {
			t.total = 1
		}
	}
	mech, err := accountant.NewMechanism(c.Accountant)
	if err != nil {
		return err
	}
	if c.TargetEpsilon > 0 {
		t.sigma, _, err = accountant.Calibrate(mech, accountant.Calibration{TargetEpsilon: c.TargetEpsilon, Delta: c.Delta, SampleRate: t.q, Steps: t.total})
		if err != nil {
			return fmt.Errorf("--target-epsilon %v: calibrating σ for %d steps at q=%.6g, δ=%g: %w", c.TargetEpsilon, t.total, t.q, c.Delta, err)
		}
	} else {
		t.sigma = c.Sigma
	}
	t.acct = accountant.NewWith(mech)

	// Per-rank expected batch size B_w = q·N/W (public), global rate q.
	bw := t.q * float64(n) / float64(t.world)
	cfg := optimizer.Config{NoiseMultiplier: t.sigma, ExpectedBatchSize: bw, SecureMode: c.Secure}
	if !c.Secure {
		t.noiseSrc = optimizer.NewBlockGenerator(c.Seed ^ (0x6e6f697365000000 + uint64(t.rank)))
		cfg.Generator = t.noiseSrc
	}
	var inner optimizer.Updater
	if c.Optimizer == "sgd" {
		inner, err = optimizer.NewSGD(c.LR, c.Momentum, 0, c.WeightDecay, false)
	} else {
		inner, err = optimizer.NewAdam(c.LR, 0.9, 0.999, 1e-8, c.WeightDecay)
	}
	if err != nil {
		return err
	}
	switch {
	case c.Clipping == "flat":
		o, err := optimizer.NewDistributedDPOptimizer(t.arena, inner, th[0], cfg, t.comm)
		if err != nil {
			return err
		}
		t.opt = o.Engine
	case c.DistOptimizer == "simple":
		o, err := simple.New(t.arena, inner, th, cfg, t.comm)
		if err != nil {
			return err
		}
		t.opt = o.Engine
	default:
		o, err := perlayer.NewDistributedPerLayerOptimizer(t.arena, inner, th, cfg, t.comm)
		if err != nil {
			return err
		}
		t.opt = o
		t.ready = o.LayerReady
	}
	t.opt.SetStepHook(t.hook)
	t.sampler, err = data.NewSampler(data.SamplerConfig{N: n, Rate: t.q, Rank: t.rank, World: t.world,
		Seed: c.Seed, Secure: c.Secure, Shuffle: true, ShuffleSeed: c.Seed})
	if err != nil {
		return err
	}
	t.id = runIdentity{Model: c.Model, Clipping: c.Clipping, Thresholds: th, Optimizer: c.Optimizer,
		LR: c.LR, LRSchedule: c.LRSchedule, Momentum: c.Momentum, WeightDecay: c.WeightDecay, World: t.world, TrainN: n,
		SampleRate: t.q, Sigma: t.sigma, TargetEpsilon: c.TargetEpsilon, Delta: c.Delta,
		Accountant: c.Accountant, Seed: c.Seed, Secure: c.Secure}
	return nil
}

// setLR applies the learning-rate schedule for the step about to run (a
// function of the step index only, so a resumed run follows it exactly).
func (t *trainer) setLR() {
	lr := t.c.LR
	if t.c.LRSchedule == "cosine" {
		lr *= 0.5 * (1 + math.Cos(math.Pi*float64(t.step)/float64(t.total)))
	}
	switch u := t.opt.Updater().(type) {
	case *optimizer.SGD:
		u.LR = lr
	case *optimizer.Adam:
		u.LR = lr
	}
}

// dpOptimizer is what the training loop needs from the DP optimizers.
type dpOptimizer interface {
	SetStepHook(optimizer.StepHook)
	SignalSkip(bool)
	Step() (bool, error)
	ZeroGrad()
	Updater() optimizer.Updater
	AddBackward([]optimizer.GradSource) error
}

// physStep runs one physical batch of n samples: forward, loss, backward
// (clipping layer by layer as the backward pass produces them with the hooks
// optimizer, after it otherwise), then the optimizer step. The skip signal is
// given before the backward pass, as the hooks optimizer requires.
func (t *trainer) physStep(x []float64, y []int, n int, skip bool) (float64, error) {
	_, loss, dl, err := t.forward(x, y, n)
	if err != nil {
		return 0, err
	}
	t.opt.SignalSkip(skip)
	if err := t.model.Backward(dl, t.ready); err != nil {
		return 0, err
	}
	if t.ready == nil {
		if err := t.opt.AddBackward(t.model.Sources()); err != nil {
			return 0, err
		}
	}
	if _, err := t.opt.Step(); err != nil {
		return 0, err
	}
	t.opt.ZeroGrad()
	return loss, nil
}

// forward runs the model and the loss on a batch of n samples; it returns the
// logits, the summed loss and the loss gradient (valid until the next call).
func (t *trainer) forward(x []float64, y []int, n int) ([]float64, float64, []float64, error) {
	logits := t.model.Forward(x, n)
	if cap(t.lossBuf) < n {
		t.lossBuf = make([]float64, n)
		t.dlBuf = make([]float64, 10*n)
	}
	losses, dl := t.lossBuf[:n], t.dlBuf[:10*n]
	if err := nn.SoftmaxCrossEntropy(logits, y, 10, losses, dl); err != nil {
		return nil, 0, nil, err
	}
	s := 0.0
	for _, v := range losses {
		s += v
	}
	return logits, s, dl, nil
}

// hook is the optimizer's step hook: the write-ahead ledger entry (rank 0),
// then the accountant, before the update is applied.
func (t *trainer) hook(sigma float64, k int) error {
	if t.replayNext {
		return nil // the ledger already holds this exact release
	}
	q := t.q * float64(k)
	if t.ledger != nil {
		if err := t.ledger.AppendRecord(accountant.LedgerRecord{NoiseMultiplier: sigma, SampleRate: q, Step: t.step + 1, Tag: t.nextState}); err != nil {
			return err
		}
	}
	return t.acct.Step(sigma, q)
}

// stateNow fingerprints rank 0's state before the next step.
func (t *trainer) stateNow() (string, error) {
	var noise []byte
	if t.noiseSrc != nil {
		b, err := t.noiseSrc.MarshalBinary()
		if err != nil {
			return "", err
		}
		noise = b
	}
	s, err := t.sampler.MarshalBinary()
	if err != nil {
		return "", err
	}
	return fingerprint(t.arena.Params, noise, s), nil
}

// epsFor returns ε of n steps of the run's (σ, q) with the given mechanism.
func epsFor(m accountant.Mechanism, sigma, q float64, n int, delta float64) (float64, error) {
	if n == 0 {
		return 0, nil
	}
	return m.Epsilon(accountant.History{{NoiseMultiplier: sigma, SampleRate: q, Steps: n}}, delta)
}

// planBudget sets maxTotal, the longest history the budget allows, searching
// up to the history length the run would reach.
func (t *trainer) planBudget() error {
	t.maxTotal = -1
	b := t.c.budget()
	if b == 0 {
		return nil
	}
	have := t.acct.History().Steps()
	want := have + (t.total - t.step)
	m := t.acct.Mechanism()
	ok := func(n int) (bool, error) {
		e, err := epsFor(m, t.sigma, t.q, n, t.c.Delta)
		return e <= b, err
	}
	if t.sigma == 0 {
		t.maxTotal = 0
	} else if fine, err := ok(want); err != nil {
		return err
	} else if fine {
		t.maxTotal = want
	} else {
		lo, hi := 0, want // ok(lo) or lo == 0; !ok(hi)
		for hi-lo > 1 {
			mid := (lo + hi) / 2
			f, err := ok(mid)
			if err != nil {
				return err
			}
			if f {
				lo = mid
			} else {
				hi = mid
			}
		}
		t.maxTotal = lo
	}
	if t.step < t.total && t.maxTotal <= have {
		spent, _ := epsFor(m, t.sigma, t.q, have, t.c.Delta)
		next, _ := epsFor(m, t.sigma, t.q, have+1, t.c.Delta)
		return fmt.Errorf("privacy budget ε=%v (δ=%g, %s) is already exhausted at step %d: %d recorded steps spend ε=%.4g and one more step would reach ε=%.4g (σ=%v, q=%.6g); raise the budget, raise --sigma, or stop here",
			b, t.c.Delta, t.c.Accountant, t.step, have, spent, next, t.sigma, t.q)
	}
	return nil
}

// resume restores the checkpoint and reconciles it with the ledger. Rank 0
// reads both files and broadcasts them; every rank restores its own part.
func (t *trainer) resume() error {
	var blob []byte
	var lerr error
	if t.rank == 0 {
		s, err := loadCheckpoint(t.c.CheckpointDir)
		if err == nil {
			if blob, err = s.encode(); err == nil {
				var recs []accountant.LedgerRecord
				if t.ledger, recs, _, err = openLedger(t.c.Ledger); err == nil {
					lb, _ := json.Marshal(recs)
					blob = append(blob, 0)
					blob = append(blob, lb...)
				}
			}
		}
		lerr = err
	}
	if err, _, cerr := agree(t.comm, lerr); cerr != nil || err != nil {
		if cerr != nil {
			return cerr
		}
		return err
	}
	blob, err := bcastBlob(t.comm, blob, 0)
	if err != nil {
		return err
	}
	// Split the checkpoint (gob) and the ledger entries (JSON after a 0 byte
	// that cannot end a gob stream's JSON part; we locate it from the end).
	i := strings.LastIndexByte(string(blob), 0)
	s, err := decodeState(blob[:i])
	if err != nil {
		return err
	}
	var entries []accountant.LedgerRecord
	if err := json.Unmarshal(blob[i+1:], &entries); err != nil {
		return err
	}
	if s.ID.LRSchedule == "" {
		s.ID.LRSchedule = "constant" // checkpoints written before --lr-schedule existed
	}
	if err := s.ID.mismatch(t.id); err != nil {
		return err
	}
	if len(s.Params) != len(t.arena.Params) || len(s.Ranks) != t.world {
		return fmt.Errorf("--resume: checkpoint has %d parameters and %d ranks, this run %d and %d", len(s.Params), len(s.Ranks), len(t.arena.Params), t.world)
	}
	// Ledger reconciliation: every step 1..s.Step must be in the ledger.
	seen := map[int]bool{}
	t.pending = map[int]string{}
	for i, e := range entries {
		if e.Step <= 0 {
			return fmt.Errorf("--resume: ledger %s record %d has no step number, so it was not written by dptrain; refusing to guess the privacy spent", t.c.Ledger, i+1)
		}
		if e.NoiseMultiplier != t.sigma || e.SampleRate != t.q {
			return fmt.Errorf("--resume: ledger %s entry for step %d has σ=%v q=%v, this run σ=%v q=%v", t.c.Ledger, e.Step, e.NoiseMultiplier, e.SampleRate, t.sigma, t.q)
		}
		if e.Step <= s.Step {
			seen[e.Step] = true
		} else {
			t.pending[e.Step] = e.Tag
		}
	}
	if len(seen) < s.Step {
		return fmt.Errorf("--resume: ledger %s records %d of the %d steps the checkpoint has taken; the privacy spent would be under-counted, refusing to continue", t.c.Ledger, len(seen), s.Step)
	}
	var ckAcct accountant.Accountant
	if err := ckAcct.UnmarshalJSON(s.Accountant); err != nil {
		return fmt.Errorf("--resume: checkpoint accountant state: %w", err)
	}
	if ckAcct.History().Steps() > len(entries) {
		return fmt.Errorf("--resume: checkpoint accountant holds %d steps but the ledger only %d; refusing to under-count", ckAcct.History().Steps(), len(entries))
	}
	// The accountant continues from the ledger: every entry counts.
	for _, e := range entries {
		if err := t.acct.Step(e.NoiseMultiplier, e.SampleRate); err != nil {
			return err
		}
	}
	copy(t.arena.Params, s.Params)
	if err := t.opt.Updater().UnmarshalBinary(s.Optim); err != nil {
		return fmt.Errorf("--resume: optimizer state: %w", err)
	}
	rs := s.Ranks[t.rank]
	if err := t.sampler.UnmarshalBinary(rs.Sampler); err != nil {
		return fmt.Errorf("--resume: sampler state of rank %d: %w", t.rank, err)
	}
	if t.noiseSrc != nil {
		if err := t.noiseSrc.UnmarshalBinary(rs.Noise); err != nil {
			return fmt.Errorf("--resume: noise generator state of rank %d: %w", t.rank, err)
		}
	}
	t.step = s.Step
	// The loss accumulators start afresh: the first record after a resume
	// covers the steps since the resume only.
	return nil
}

// saveCheckpoint gathers every rank's sampler and noise state on rank 0,
// which writes one checkpoint file atomically. Collective.
func (t *trainer) saveCheckpoint() error {
	sb, err := t.sampler.MarshalBinary()
	if err != nil {
		return err
	}
	var nb []byte
	if t.noiseSrc != nil {
		if nb, err = t.noiseSrc.MarshalBinary(); err != nil {
			return err
		}
	}
	mine, _ := json.Marshal(rankState{Sampler: sb, Noise: nb})
	ranks := make([]rankState, t.world)
	for r := 0; r < t.world; r++ {
		var b []byte
		if r == t.rank {
			b = mine
		}
		b, err := bcastBlob(t.comm, b, r)
		if err != nil {
			return err
		}
		if t.rank == 0 {
			if err := json.Unmarshal(b, &ranks[r]); err != nil {
				return err
			}
		}
	}
	if t.rank != 0 {
		return nil
	}
	ob, err := t.opt.Updater().MarshalBinary()
	if err != nil {
		return err
	}
	ab, err := t.acct.MarshalJSON()
	if err != nil {
		return err
	}
	s := &ckptState{ID: t.id, Step: t.step, Params: append([]float64(nil), t.arena.Params...), Optim: ob,
		Accountant: ab, Ranks: ranks}
	payload, err := s.encode()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(t.c.CheckpointDir, 0o755); err != nil {
		return fmt.Errorf("creating --checkpoint-dir: %w", err)
	}
	if err := checkpoint.Write(filepath.Join(t.c.CheckpointDir, ckptName), ckptKind, payload); err != nil {
		return fmt.Errorf("writing the checkpoint at step %d: %w", t.step, err)
	}
	return nil
}

// evaluate computes test accuracy and mean loss; each rank takes a strided
// part of the test set. Collective.
func (t *trainer) evaluate() (acc, loss float64, err error) {
	const eb = 500
	d := t.test.Dim()
	x := make([]float64, eb*d)
	y := make([]int, eb)
	idx := make([]int, 0, eb)
	var buf = []float64{0, 0, 0}
	flush := func() error {
		n := len(idx)
		if n == 0 {
			return nil
		}
		t.test.Batch(idx, x[:n*d], y[:n])
		logits, s, _, err := t.forward(x[:n*d], y[:n], n)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			best := 0
			for k := 1; k < 10; k++ {
				if logits[i*10+k] > logits[i*10+best] {
					best = k
				}
			}
			if best == y[i] {
				buf[0]++
			}
		}
		buf[1] += float64(n)
		buf[2] += s
		idx = idx[:0]
		return nil
	}
	for i := t.rank; i < t.test.N; i += t.world {
		idx = append(idx, i)
		if len(idx) == eb {
			if err := flush(); err != nil {
				return 0, 0, err
			}
		}
	}
	if err := flush(); err != nil {
		return 0, 0, err
	}
	if err := t.comm.AllreduceSum(buf); err != nil {
		return 0, 0, err
	}
	if buf[1] == 0 {
		return 0, 0, nil
	}
	return buf[0] / buf[1], buf[2] / buf[1], nil
}

type metric struct {
	Step     int      `json:"step"`
	Epoch    float64  `json:"epoch"`
	Loss     *float64 `json:"loss,omitempty"`
	Accuracy *float64 `json:"test_accuracy,omitempty"`
	TestLoss *float64 `json:"test_loss,omitempty"`
	Epsilon  float64  `json:"epsilon"`
	Sigma    float64  `json:"sigma"`
}

func (t *trainer) writeMetric(m metric) error {
	if t.metrics == nil {
		return nil
	}
	b, _ := json.Marshal(m)
	if _, err := t.metrics.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("writing --metrics %s: %w", t.c.Metrics, err)
	}
	return nil
}

func (t *trainer) epsilon() float64 {
	if t.acct.History().Steps() == 0 {
		return 0
	}
	e, err := t.acct.Epsilon(t.c.Delta)
	if err != nil {
		return math.NaN()
	}
	return e
}

// stopReason says why the loop ended.
type stopReason int

const (
	stopDone stopReason = iota
	stopSignal
	stopBudget
)

// loop runs the training steps. Every collective is entered by every rank in
// the same order; the per-step flag reduction makes all ranks stop at the same
// step.
func (t *trainer) loop() (stopReason, error) {
	d := t.train.Dim()
	maxPhys := t.c.MaxPhysical
	var batch []int
	var x []float64
	var y []int
	flags := make([]float64, 5)
	for {
		clear(flags)
		if t.stopSignal.Load() {
			flags[0] = 1
		}
		if t.rank == 0 && t.step < t.total {
			st, err := t.stateNow()
			if err != nil {
				return 0, err
			}
			t.nextState = st
			want, ok := t.pending[t.step+1]
			replay := ok && !t.c.Secure && want == st
			if replay {
				flags[2] = 1
			} else if t.maxTotal >= 0 && t.acct.History().Steps()+1 > t.maxTotal {
				flags[1] = 1
			}
		}
		flags[3], flags[4] = t.lossSum, t.lossN
		if err := t.comm.AllreduceSum(flags); err != nil {
			return 0, fmt.Errorf("step %d: flag reduction: %w", t.step, err)
		}
		t.replayNext = flags[2] > 0
		if t.step > 0 && (t.step%t.c.LogEvery == 0 || t.step == t.total) && flags[4] > 0 && (t.rank == 0 || t.prog != nil) {
			l := flags[3] / flags[4] // mean training loss over all ranks since the last record
			eps := t.epsilon()
			t.prog.update(t.step, l, eps)
			if err := t.writeMetric(metric{Step: t.step, Epoch: float64(t.step) / float64(t.spe), Loss: &l, Epsilon: eps, Sigma: t.sigma}); err != nil {
				return 0, err
			}
		}
		if t.step > 0 && (t.step%t.c.LogEvery == 0) {
			t.lossSum, t.lossN = 0, 0
		}
		switch {
		case flags[0] > 0:
			return stopSignal, nil
		case t.step >= t.total:
			return stopDone, nil
		case flags[1] > 0:
			return stopBudget, nil
		}

		t.setLR()
		batch = t.sampler.Next(batch)
		t.samples += float64(len(batch))
		m := maxPhys
		if m == 0 {
			m = max(len(batch), 1)
		}
		if need := min(m, max(len(batch), 1)) * d; len(x) < need {
			x = make([]float64, need)
			y = make([]int, need/d)
		}
		for phys, skip := range data.Split(batch, m) {
			n := len(phys)
			t.train.Batch(phys, x[:n*d], y[:n])
			l, err := t.physStep(x[:n*d], y[:n], n, skip)
			if err != nil {
				return 0, fmt.Errorf("step %d: %w", t.step+1, err)
			}
			t.lossSum += l
			t.lossN += float64(n)
		}
		t.step++
		if t.c.EvalEvery > 0 && t.step%(t.spe*t.c.EvalEvery) == 0 && t.step < t.total {
			acc, tl, err := t.evaluate()
			if err != nil {
				return 0, err
			}
			t.lastAcc = acc
			if t.rank == 0 {
				eps := t.epsilon()
				t.prog.epoch(t.step/t.spe, acc, eps)
				if err := t.writeMetric(metric{Step: t.step, Epoch: float64(t.step) / float64(t.spe), Accuracy: &acc, TestLoss: &tl, Epsilon: eps, Sigma: t.sigma}); err != nil {
					return 0, err
				}
			}
		}
		if t.c.CheckpointEvery > 0 && t.step%t.c.CheckpointEvery == 0 && t.step < t.total {
			if err := t.saveCheckpoint(); err != nil {
				return 0, err
			}
		}
		if t.c.Throttle > 0 {
			time.Sleep(t.c.Throttle)
		}
	}
}
