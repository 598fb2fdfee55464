package main

import (
	"fmt"
	"math"
	"time"

	"github.com/dpmpi/dpmpi/accountant"
	"github.com/dpmpi/dpmpi/data"
	"github.com/dpmpi/dpmpi/nn"
	"github.com/dpmpi/dpmpi/optimizer"
)

// dpOptimizer is what the training loop needs from the DP optimizers.
type dpOptimizer[F optimizer.Float] interface {
	SetStepHook(optimizer.StepHook)
	SignalSkip(bool)
	Step() (bool, error)
	ZeroGrad()
	Updater() optimizer.Updater[F]
	AddBackward([]optimizer.GradSource[F]) error
	Clipping() optimizer.Clipping
	MechanismNoise() []float64
	SetThresholds([]float64) error
}

// stopReason says why the loop ended.
type stopReason int

const (
	stopDone stopReason = iota
	stopSignal
	stopBudget
)

// loop runs the training steps. Every collective is entered by every rank in
// the same order; the per-step flag reduction (stepFlags) makes all ranks
// stop at the same step.
func (t *trainer[F]) loop() (stopReason, error) {
	var flagBuf [stepFlagSlots]float64
	var b batchBufs
	for {
		f, err := t.agreeStep(flagBuf[:])
		if err != nil {
			return 0, err
		}
		if err := t.logLoss(f); err != nil {
			return 0, err
		}
		switch {
		case f.stop:
			return stopSignal, nil
		case t.step >= t.plan.total:
			return stopDone, nil
		case f.budget:
			return stopBudget, nil
		}
		if err := t.trainStep(&b); err != nil {
			return 0, fmt.Errorf("step %d: %w", t.step+1, err)
		}
		t.step++
		if t.net.avg != nil {
			t.net.avg.update(t.net.arena.Params, t.step)
		}
		if err := t.afterStep(); err != nil {
			return 0, err
		}
	}
}

// agreeStep decides, with every rank, whether and how the next step runs:
// rank 0 fingerprints its state and asks the ledger (replay) and the budget
// guard; every rank adds its stop signal and loss tally.
func (t *trainer[F]) agreeStep(buf []float64) (stepFlags, error) {
	f := stepFlags{stop: t.stop.Load(), lossSum: t.tally.lossSum, lossN: t.tally.lossN}
	if t.rank == 0 && t.step < t.plan.total {
		st, err := t.stateNow()
		if err != nil {
			return f, err
		}
		t.next.state = st
		want, ok := t.priv.pending[t.step+1]
		if ok && !t.c.Secure && want == st {
			f.replay = true
		} else {
			f.budget = t.priv.overBudget()
		}
	}
	if err := f.agreeRound(t.comm, buf); err != nil {
		return f, fmt.Errorf("step %d: flag reduction: %w", t.step, err)
	}
	t.next.replay = f.replay
	return f, nil
}

// logLoss writes the progress line and metrics record of the mean training
// loss over all ranks since the last record, every --log-every steps and at
// the end, and restarts the tally.
func (t *trainer[F]) logLoss(f stepFlags) error {
	logStep := t.step > 0 && t.step%t.c.LogEvery == 0
	if (logStep || t.step > 0 && t.step == t.plan.total) && f.lossN > 0 && (t.rank == 0 || t.log.prog != nil) {
		l := f.lossSum / f.lossN
		eps := t.epsilon()
		t.log.prog.update(t.step, l, eps)
		if err := t.writeMetric(metric{Step: t.step, Epoch: t.epoch(), Loss: &l, Epsilon: eps, Sigma: t.priv.sigma, Thresholds: t.adaptiveThresholds()}); err != nil {
			return err
		}
	}
	if logStep {
		t.tally.lossSum, t.tally.lossN = 0, 0
	}
	return nil
}

// batchBufs hold one physical batch's inputs and labels.
type batchBufs struct {
	batch []int
	x     []float64
	y     []int
}

// trainStep runs one logical step: it draws the batch, splits it into
// physical batches of at most --max-physical-batch samples and runs them.
func (t *trainer[F]) trainStep(b *batchBufs) error {
	t.setLR()
	d := t.data.train.Dim()
	b.batch = t.rng.sampler.Next(b.batch)
	t.tally.samples += float64(len(b.batch))
	m := t.c.MaxPhysical
	if m == 0 {
		m = max(len(b.batch), 1)
	}
	if need := min(m, max(len(b.batch), 1)) * d; len(b.x) < need {
		b.x = make([]float64, need)
		b.y = make([]int, need/d)
	}
	for phys, skip := range data.Split(b.batch, m) {
		n := len(phys)
		t.data.train.Batch(phys, b.x[:n*d], b.y[:n])
		// Dropout masks keyed by (seed, step, dataset index): the same at
		// any number of ranks and physical batches, and after a resume.
		t.net.model.SetTraining(true)
		x, y, keys, rows := b.x[:n*d], b.y[:n], phys, n
		if t.aug != nil {
			x, y, keys = t.aug.expand(phys, x, y, t.step)
			rows = n * t.aug.k
		}
		t.net.model.SetDropoutKeys(t.c.Seed, uint64(t.step), keys)
		l, err := t.physStep(x, y, rows, skip)
		if err != nil {
			return err
		}
		if t.aug != nil {
			l /= float64(t.aug.k) // the loss of a sample is its copies' mean
		}
		t.tally.lossSum += l
		t.tally.lossN += float64(n)
	}
	return nil
}

// afterStep evaluates (every --eval-every epochs), checkpoints (every
// --checkpoint-every steps) and throttles (--throttle) after a step; the
// last step's evaluation and checkpoint are the caller's.
func (t *trainer[F]) afterStep() error {
	last := t.step >= t.plan.total
	if t.c.EvalEvery > 0 && t.step%(t.plan.spe*t.c.EvalEvery) == 0 && !last {
		acc, tl, err := t.evaluate()
		if err != nil {
			return err
		}
		if t.rank == 0 {
			eps := t.epsilon()
			t.log.prog.epoch(t.step/t.plan.spe, acc, eps)
			if err := t.writeMetric(metric{Step: t.step, Epoch: t.epoch(), Accuracy: &acc, TestLoss: &tl, Epsilon: eps, Sigma: t.priv.sigma}); err != nil {
				return err
			}
		}
	}
	if t.c.CheckpointEvery > 0 && t.step%t.c.CheckpointEvery == 0 && !last {
		if err := t.saveCheckpoint(); err != nil {
			return err
		}
	}
	if t.c.Throttle > 0 {
		time.Sleep(t.c.Throttle)
	}
	return nil
}

// epoch returns the epochs done, fractional.
func (t *trainer[F]) epoch() float64 { return float64(t.step) / float64(t.plan.spe) }

// setLR applies the learning-rate schedule for the step about to run (a
// function of the step index only, so a resumed run follows it exactly).
func (t *trainer[F]) setLR() {
	lr := t.c.LR
	if t.c.LRSchedule == "cosine" {
		lr *= 0.5 * (1 + math.Cos(math.Pi*float64(t.step)/float64(t.plan.total)))
	}
	t.net.opt.Updater().SetLearningRate(lr)
}

// physStep runs one physical batch of n samples: forward, loss, backward
// (clipping layer by layer as the backward pass produces them with the hooks
// optimizer, after it otherwise), then the optimizer step. The skip signal is
// given before the backward pass, as the hooks optimizer requires.
func (t *trainer[F]) physStep(x []float64, y []int, n int, skip bool) (float64, error) {
	_, loss, dl, err := t.forward(x, y, n)
	if err != nil {
		return 0, err
	}
	opt := t.net.opt
	opt.SignalSkip(skip)
	if err := t.net.model.Backward(dl, t.net.ready); err != nil {
		return 0, err
	}
	if t.net.ready == nil {
		if err := opt.AddBackward(t.net.model.Sources()); err != nil {
			return 0, err
		}
	}
	if _, err := opt.Step(); err != nil {
		return 0, err
	}
	opt.ZeroGrad()
	return loss, nil
}

// forward runs the model and the loss on a batch of n samples; it returns the
// logits, the summed loss and the loss gradient (valid until the next call).
func (t *trainer[F]) forward(x []float64, y []int, n int) ([]F, float64, []F, error) {
	k := t.data.classes
	logits := t.net.model.Forward(t.net.input(x), n)
	b := &t.net.bufs
	if cap(b.losses) < n {
		b.losses = make([]F, n)
		b.dlogits = make([]F, k*n)
	}
	losses, dl := b.losses[:n], b.dlogits[:k*n]
	if err := nn.SoftmaxCrossEntropy(logits, y, k, losses, dl); err != nil {
		return nil, 0, nil, err
	}
	s := 0.0
	for _, v := range losses {
		s += float64(v)
	}
	return logits, s, dl, nil
}

// input returns the batch x in the model's precision: x itself for a float64
// model, x rounded into a kept buffer for a float32 one (the one conversion
// of the data per physical batch).
func (n *learner[F]) input(x []float64) []F {
	if x, ok := any(x).([]F); ok {
		return x
	}
	if cap(n.bufs.x) < len(x) {
		n.bufs.x = make([]F, len(x))
	}
	in := n.bufs.x[:len(x)]
	for i, v := range x {
		in[i] = F(v)
	}
	return in
}

// hook is the optimizer's step hook: the write-ahead ledger entry (rank 0),
// then the accountant, before the update is applied.
func (t *trainer[F]) hook(sigma float64, k int) error {
	if t.next.replay {
		return nil // the ledger already holds this exact release
	}
	q := t.priv.q * float64(k)
	if t.priv.ledger != nil {
		rec := accountant.LedgerRecord{NoiseMultiplier: sigma, SampleRate: q, Step: t.step + 1, Parts: t.net.opt.MechanismNoise(), Tag: t.next.state}
		if err := t.priv.ledger.AppendRecord(rec); err != nil {
			return err
		}
	}
	return t.priv.acct.Step(sigma, q)
}

// evaluate computes test accuracy and mean loss of the evaluated weights:
// the moving average with --ema, the parameters otherwise. Collective.
func (t *trainer[F]) evaluate() (acc, loss float64, err error) {
	err = t.net.avg.with(t.net.arena.Params, func() error {
		acc, loss, err = t.evaluateParams()
		return err
	})
	return acc, loss, err
}

// evaluateParams computes test accuracy and mean loss of the parameters;
// each rank takes a strided part of the test set. Collective.
func (t *trainer[F]) evaluateParams() (acc, loss float64, err error) {
	const eb = 500
	test, k := t.data.test, t.data.classes
	t.net.model.SetTraining(false) // Dropout is the identity
	d := test.Dim()
	x := make([]float64, eb*d)
	y := make([]int, eb)
	idx := make([]int, 0, eb)
	var buf = []float64{0, 0, 0} // correct, seen, summed loss
	flush := func() error {
		n := len(idx)
		if n == 0 {
			return nil
		}
		test.Batch(idx, x[:n*d], y[:n])
		logits, s, _, err := t.forward(x[:n*d], y[:n], n)
		if err != nil {
			return err
		}
		for i := 0; i < n; i++ {
			best := 0
			for j := 1; j < k; j++ {
				if logits[i*k+j] > logits[i*k+best] {
					best = j
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
	for i := t.rank; i < test.Len(); i += t.world {
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
