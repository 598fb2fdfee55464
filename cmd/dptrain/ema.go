package main

import "github.com/dpmpi/dpmpi/optimizer"

// average is an exponential moving average of the parameters (--ema; De et
// al. 2022), the weights that evaluation and the final weight files use. It
// is a function of the parameters after each step only, which are the same
// on every rank, so every rank keeps the same average without
// communicating, and it costs no privacy.
//
// After logical step t (counted from 1) it folds in the parameters p with
// decay d_t = min(decay, (1+t)/(w+t)), with w = 10 (--ema-warmup) the
// warm-up of TensorFlow's ExponentialMovingAverage: early steps, whose
// parameters are far from the later ones, are forgotten quickly. Without
// the decay bound, step s of T weighs about (s/T)^(w−1) in the average,
// so a run averages over about min(1/(1−decay), T/(w−1)) of its last steps.
//
// The average is kept in float64 whatever the parameters' precision F, so
// that a float32 run's small updates are not lost to rounding (with decay
// 0.999 each step adds 0.001 of the parameters' change).
type average[F optimizer.Float] struct {
	decay  float64
	warmup float64
	avg    []float64
	raw    []F // the training parameters while the average stands in for them
}

// newAverage starts an average of the parameters p with the given decay in
// (0, 1) and warm-up w > 1.
func newAverage[F optimizer.Float](decay, warmup float64, p []F) *average[F] {
	a := &average[F]{decay: decay, warmup: warmup, avg: make([]float64, len(p)), raw: make([]F, len(p))}
	for i, v := range p {
		a.avg[i] = float64(v)
	}
	return a
}

// update folds in the parameters p after logical step t ≥ 1:
// avg ← d·avg + (1−d)·p, each product rounded (never fused), so that every
// architecture computes the same average.
func (a *average[F]) update(p []F, t int) {
	if len(p) != len(a.avg) {
		panic("dptrain: average.update: parameter count changed")
	}
	d := min(a.decay, (1+float64(t))/(a.warmup+float64(t)))
	e := 1 - d
	for i, v := range p {
		a.avg[i] = float64(d*a.avg[i]) + float64(e*float64(v))
	}
}

// with runs f with the average (rounded to F) in place of the parameters
// p, which it restores afterwards. A nil average runs f on p as they are.
func (a *average[F]) with(p []F, f func() error) error {
	if a == nil {
		return f()
	}
	copy(a.raw, p)
	for i, v := range a.avg {
		p[i] = F(v)
	}
	defer copy(p, a.raw)
	return f()
}
